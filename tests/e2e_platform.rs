//! `fetch_stripe_resource` and `stripe_api_read` end to end against localstripe
//! (which serves neither disputes nor search: those are tested against the mock).
//! `scripts/test` starts localstripe and sets `LOCALSTRIPE_URL`; without it these
//! tests say they skipped. Each test works on objects it created itself.

mod common;

use common::{Spawn, err, ok};
use serde_json::json;

#[tokio::test]
async fn fetch_stripe_resource_returns_a_customer_and_a_payment_intent_created_in_stripe() {
    let Some(base) = common::localstripe("fetch_stripe_resource e2e") else {
        return;
    };
    let email = common::unique_email("fetch");
    let customer = common::localstripe_post(
        &base,
        "/v1/customers",
        &[("email", &email), ("name", "Fetch Me")],
    )
    .await;
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    let intent = common::localstripe_post(
        &base,
        "/v1/payment_intents",
        &[
            ("amount", "2500"),
            ("currency", "usd"),
            ("customer", &customer_id),
        ],
    )
    .await;
    let intent_id = intent["id"].as_str().unwrap().to_owned();
    let server = Spawn::new(&base).start().await;

    let out = ok(&server
        .call("fetch_stripe_resource", json!({"id": customer_id}))
        .await);
    assert_eq!(out["id"], json!(customer_id));
    assert_eq!(out["object"], "customer");
    assert_eq!(out["path"], json!(format!("/v1/customers/{customer_id}")));
    assert_eq!(out["resource"]["email"], json!(email));
    assert_eq!(out["resource"]["name"], "Fetch Me");

    let out = ok(&server
        .call("fetch_stripe_resource", json!({"id": intent_id}))
        .await);
    assert_eq!(out["id"], json!(intent_id));
    assert_eq!(out["object"], "payment_intent");
    assert_eq!(out["resource"]["amount"], 2500);
    assert_eq!(out["resource"]["currency"], "usd");
    assert_eq!(out["resource"]["customer"], json!(customer_id));

    let e = err(&server
        .call("fetch_stripe_resource", json!({"id": "cus_doesnotexist0"}))
        .await);
    assert_eq!(e["kind"], "not_found", "{e}");
    assert_eq!(e["http_status"], 404);
    server.stop().await;
}

#[tokio::test]
async fn stripe_api_read_gets_objects_and_filtered_lists_from_stripe() {
    let Some(base) = common::localstripe("stripe_api_read e2e") else {
        return;
    };
    let email = common::unique_email("read");
    let mut ids = Vec::new();
    for name in ["Read One", "Read Two"] {
        let c =
            common::localstripe_post(&base, "/v1/customers", &[("email", &email), ("name", name)])
                .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let server = Spawn::new(&base).start().await;

    let out = ok(&server
        .call(
            "stripe_api_read",
            json!({"path": "/v1/customers", "params": {"email": email, "limit": 10}}),
        )
        .await);
    assert_eq!(out["method"], "GET");
    assert_eq!(out["path"], "/v1/customers");
    assert_eq!(out["body"]["object"], "list");
    let mut listed: Vec<String> = out["body"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want, "{out}");

    let out = ok(&server
        .call(
            "stripe_api_read",
            json!({"path": format!("/v1/customers/{}", ids[0])}),
        )
        .await);
    assert_eq!(out["body"]["id"], json!(ids[0]));
    assert_eq!(out["body"]["name"], "Read One");

    let e = err(&server
        .call(
            "stripe_api_read",
            json!({"path": "/v1/customers/cus_doesnotexist0"}),
        )
        .await);
    assert_eq!(e["kind"], "not_found", "{e}");
    server.stop().await;
}
