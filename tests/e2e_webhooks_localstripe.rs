//! Real signed webhooks from localstripe (a fake Stripe that signs like Stripe) reach the
//! receiver, verify, and are recorded by event id. localstripe has no Checkout Sessions,
//! so its customer and payment intent events are recorded as "ignored", which is enough
//! to prove the signatures and the wire format. Needs LOCALSTRIPE_URL (scripts/test).

mod common;

use std::time::Duration;

use common::{WEBHOOK_SECRET, start_receiver, temp_db};
use serde_json::Value;
use stripe_mcp::store::{DbTarget, Store};

/// The id of the event of `kind` whose object is `object_id`, once localstripe lists it.
async fn event_for(http: &reqwest::Client, base: &str, kind: &str, object_id: &str) -> String {
    for _ in 0..50 {
        let list: Value = http
            .get(format!("{base}/v1/events"))
            .query(&[("type", kind), ("limit", "100")])
            .bearer_auth("sk_test_x")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(e) = list["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["data"]["object"]["id"] == object_id)
        {
            return e["id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("localstripe never listed a {kind} event for {object_id}");
}

async fn wait_recorded(ledger: &Store, id: &str) {
    // localstripe waits a second before it sends.
    for _ in 0..150 {
        if ledger.has_event(id).await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{id} was never recorded");
}

#[tokio::test]
async fn localstripes_signed_events_verify_and_are_recorded_by_id() {
    let Some(base) =
        common::localstripe("localstripes_signed_events_verify_and_are_recorded_by_id")
    else {
        return;
    };
    let db = temp_db("localstripe");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let http = reqwest::Client::new();

    // Register the receiver; the id is unique so parallel runs do not replace each other.
    let hook_id = format!("stripe_mcp_{}", uuid::Uuid::new_v4().simple());
    let r = http
        .post(format!("{base}/_config/webhooks/{hook_id}"))
        .form(&[("url", rx.url.as_str()), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "registering: {}", r.status());

    let customer: Value = http
        .post(format!("{base}/v1/customers"))
        .bearer_auth("sk_test_x")
        .form(&[("email", "webhooks@example.com")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let customer_id = customer["id"].as_str().unwrap();
    let intent: Value = http
        .post(format!("{base}/v1/payment_intents"))
        .bearer_auth("sk_test_x")
        .form(&[
            ("amount", "4999"),
            ("currency", "usd"),
            ("customer", customer_id),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let intent_id = intent["id"].as_str().unwrap();
    assert_eq!(intent["status"], "succeeded", "{intent}");

    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    let created = event_for(&http, &base, "customer.created", customer_id).await;
    let succeeded = event_for(&http, &base, "payment_intent.succeeded", intent_id).await;
    wait_recorded(&ledger, &created).await;
    wait_recorded(&ledger, &succeeded).await;

    let log = rx.kill().await;
    assert!(log.contains(&created), "{log}");
    assert!(
        !log.contains("webhook refused"),
        "a localstripe delivery failed verification:\n{log}"
    );
}
