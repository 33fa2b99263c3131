//! End to end: the real binary over stdio, driven by rmcp's MCP client, against
//! localstripe, a stateful fake Stripe. `scripts/test` starts it and sets
//! `LOCALSTRIPE_URL`; without it these tests say they skipped.
//!
//! Tests run in parallel against one localstripe, so each works on objects it
//! created itself (unique emails) instead of emptying the store.

mod common;

use common::{Spawn, err, ok};
use serde_json::json;

const KEY: &str = common::TEST_KEY;

#[tokio::test]
async fn list_customers_finds_customers_created_in_stripe_and_pages_through_them() {
    let Some(base) = common::localstripe("list_customers e2e") else {
        return;
    };
    let email = common::unique_email("jane");
    let mut ids = Vec::new();
    for name in ["Jane One", "Jane Two", "Jane Three"] {
        let c =
            common::localstripe_post(&base, "/v1/customers", &[("email", &email), ("name", name)])
                .await;
        ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let server = Spawn::new(&base).start().await;

    let all = ok(&server
        .call("list_customers", json!({"email": email, "limit": 10}))
        .await);
    let found: Vec<&str> = all["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(found.len(), 3, "{all}");
    for id in &ids {
        assert!(found.contains(&id.as_str()), "{id} not listed: {all}");
    }
    for c in all["customers"].as_array().unwrap() {
        assert_eq!(c["email"], json!(email));
        assert!(c["name"].as_str().unwrap().starts_with("Jane"));
        assert!(c["created"].as_i64().unwrap() > 0);
    }
    assert_eq!(all["has_more"], json!(false));

    // Page by two: the cursor from the first page leads to the rest, without repeats.
    let first = ok(&server
        .call("list_customers", json!({"email": email, "limit": 2}))
        .await);
    assert_eq!(first["customers"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], json!(true));
    let cursor = first["next_starting_after"].as_str().unwrap().to_owned();
    let second = ok(&server
        .call(
            "list_customers",
            json!({"email": email, "limit": 2, "starting_after": cursor}),
        )
        .await);
    let mut paged: Vec<String> = first["customers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["customers"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    paged.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(paged, want);
    server.stop().await;
}

#[tokio::test]
async fn create_refund_refunds_a_succeeded_payment_intent_in_part_and_then_in_full() {
    let Some(base) = common::localstripe("create_refund e2e") else {
        return;
    };
    let pi = common::localstripe_post(
        &base,
        "/v1/payment_intents",
        &[
            ("amount", "2000"),
            ("currency", "usd"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
        ],
    )
    .await;
    assert_eq!(pi["status"], "succeeded");
    let pi_id = pi["id"].as_str().unwrap();
    let server = Spawn::new(&base).start().await;

    let partial = ok(&server
        .call(
            "create_refund",
            json!({"payment_intent": pi_id, "amount": 500, "metadata": {"ticket": "T-1"}}),
        )
        .await);
    assert!(partial["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(partial["status"], "succeeded");
    assert_eq!(partial["amount"]["amount"], 500);
    assert_eq!(partial["amount"]["display"], "$5.00");
    assert_eq!(partial["currency"], "usd");
    assert_eq!(partial["payment_intent"], json!(pi_id));
    assert!(partial["charge"].as_str().unwrap().starts_with("ch_"));

    // The same refund by charge id, for the remainder.
    let charge = partial["charge"].as_str().unwrap();
    let rest = ok(&server
        .call("create_refund", json!({"charge": charge, "amount": 1500}))
        .await);
    assert_eq!(rest["amount"]["amount"], 1500);
    assert_eq!(rest["charge"], json!(charge));
    server.stop().await;
}

#[tokio::test]
async fn refunding_an_unknown_payment_intent_is_a_structured_not_found() {
    let Some(base) = common::localstripe("not_found e2e") else {
        return;
    };
    let server = Spawn::new(&base).start().await;
    let e = err(&server
        .call(
            "create_refund",
            json!({"payment_intent": "pi_doesnotexist000", "idempotency_key": "rf-missing"}),
        )
        .await);
    assert_eq!(e["kind"], "not_found");
    assert_eq!(e["retryable"], false);
    assert_eq!(e["http_status"], 404);
    assert_eq!(e["idempotency_key"], "rf-missing");
    assert!(e["hint"].as_str().unwrap().contains("test mode"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn a_key_stripe_refuses_is_a_structured_authentication_error() {
    let Some(base) = common::localstripe("authentication e2e") else {
        return;
    };
    // localstripe accepts any sk_ key and refuses others; a restricted key it does not know is refused.
    let server = Spawn::new(&base).key("rk_test_NOTAVALIDKEY").start().await;
    let e = err(&server.call("list_customers", json!({})).await);
    assert_eq!(e["kind"], "authentication");
    assert_eq!(e["http_status"], 401);
    assert_eq!(e["retryable"], false);
    assert!(e["hint"].as_str().unwrap().contains("API keys"));
    let log = server.stop().await;
    assert!(!log.contains("NOTAVALIDKEY"), "the key leaked into the log");
}

#[tokio::test]
async fn check_reports_a_working_key_and_its_mode() {
    let Some(base) = common::localstripe("check e2e") else {
        return;
    };
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", &base)
        .arg("check")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: the key works"), "{stdout}");
    assert!(stdout.contains("mode: test"), "{stdout}");

    let out = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", "rk_test_NOTAVALIDKEY")
        .env("STRIPE_API_BASE", &base)
        .arg("check")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(!stderr.contains("NOTAVALIDKEY"));
}
