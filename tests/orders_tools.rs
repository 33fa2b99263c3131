//! The order tools end to end: the webhook receiver and the MCP server running at once
//! on one database, a signed event delivered to the one and read through the other.

mod common;

use common::{Spawn, WEBHOOK_SECRET, deliver, err, fixture, ok, session_event, start_receiver};
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

fn live_session(id: &str, status: &str, payment_status: &str) -> serde_json::Value {
    let mut s = fixture("checkout_session.json");
    s["id"] = json!(id);
    s["status"] = json!(status);
    s["payment_status"] = json!(payment_status);
    s["url"] = serde_json::Value::Null;
    s
}

#[tokio::test]
async fn get_order_status_shows_the_ledger_beside_stripes_live_session() {
    let db = common::temp_db("tools");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_paid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(live_session(
            "cs_test_paid",
            "complete",
            "paid",
        )))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_open"))
        .respond_with(ResponseTemplate::new(200).set_body_json(live_session(
            "cs_test_open",
            "open",
            "unpaid",
        )))
        .expect(1)
        .mount(&stripe)
        .await;
    // Both processes hold the database open while the event arrives.
    let server = Spawn::new(&stripe.uri())
        .arg("--db")
        .arg(db.display().to_string())
        .start()
        .await;
    let http = reqwest::Client::new();
    let body = session_event(
        "evt_tool_1",
        "checkout.session.completed",
        "cs_test_paid",
        "paid",
    );
    assert_eq!(deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await.0, 200);

    let out = ok(&server
        .call("get_order_status", json!({"session_id": "cs_test_paid"}))
        .await);
    assert_eq!(out["verdict"], "paid_and_fulfilled");
    assert_eq!(out["summary"], "Paid and fulfilled ($49.99).");
    assert_eq!(out["ledger"]["status"], "paid");
    assert_eq!(out["ledger"]["fulfillment"]["product_id"], "sku-tee");
    assert_eq!(out["ledger"]["fulfillment"]["event_id"], "evt_tool_1");
    assert_eq!(out["stripe"]["status"], "complete");
    assert_eq!(out["stripe"]["payment_status"], "paid");
    assert!(out["stripe_error"].is_null());

    // No event yet: Stripe's live state alone, and it says open.
    let out = ok(&server
        .call("get_order_status", json!({"session_id": "cs_test_open"}))
        .await);
    assert_eq!(out["verdict"], "open");
    assert!(out["ledger"].is_null());

    let listed = ok(&server.call("list_orders", json!({"status": "paid"})).await);
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["orders"][0]["session_id"], "cs_test_paid");
    let none = ok(&server
        .call("list_orders", json!({"status": "expired", "limit": 5}))
        .await);
    assert_eq!(none["count"], 0);
    let e = err(&server.call("list_orders", json!({"limit": 101})).await);
    assert_eq!(e["kind"], "invalid_argument");
    let e = err(&server
        .call("get_order_status", json!({"session_id": "pi_123"}))
        .await);
    assert_eq!(e["kind"], "invalid_argument");

    server.stop().await;
    rx.kill().await;
}

#[tokio::test]
async fn a_stripe_failure_still_returns_the_ledger_with_a_structured_note() {
    let db = common::temp_db("tools-fail");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let stripe = common::mock_stripe().await;
    let invalid_key = fixture("error_invalid_api_key.json");
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_wait"))
        .respond_with(ResponseTemplate::new(401).set_body_json(invalid_key.clone()))
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_unknown"))
        .respond_with(ResponseTemplate::new(401).set_body_json(invalid_key))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri())
        .arg(format!("--db={}", db.display()))
        .start()
        .await;
    let http = reqwest::Client::new();
    let body = session_event(
        "evt_wait",
        "checkout.session.completed",
        "cs_test_wait",
        "unpaid",
    );
    assert_eq!(deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await.0, 200);

    let out = ok(&server
        .call("get_order_status", json!({"session_id": "cs_test_wait"}))
        .await);
    assert_eq!(out["verdict"], "awaiting_payment");
    assert!(
        out["summary"]
            .as_str()
            .unwrap()
            .contains("waiting for the bank")
    );
    assert!(out["stripe"].is_null());
    assert_eq!(out["stripe_error"]["kind"], "authentication");

    // Nothing in the ledger and Stripe failing: the failure is the answer.
    let e = err(&server
        .call("get_order_status", json!({"session_id": "cs_test_unknown"}))
        .await);
    assert_eq!(e["kind"], "authentication");
    server.stop().await;
    rx.kill().await;
}

#[tokio::test]
async fn without_db_the_order_tools_are_not_offered() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let names: Vec<String> = server
        .client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n == "get_order_status" || n == "list_orders")
    );
    server.stop().await;

    let out = tokio::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .arg("--tools=get_order_status")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--db"));
}

#[tokio::test]
async fn with_db_both_order_tools_are_read_only() {
    let db = common::temp_db("tools-list");
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg(format!("--db={}", db.display()))
        .arg("--read-only")
        .start()
        .await;
    let tools = server.client.list_all_tools().await.unwrap();
    for name in ["get_order_status", "list_orders", "list_audit_log"] {
        let t = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let a = t.annotations.as_ref().unwrap();
        assert_eq!(a.read_only_hint, Some(true), "{name}");
        assert_eq!(a.destructive_hint, Some(false), "{name}");
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/tools.md")).unwrap();
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "docs/tools.md has no row for {name}"
        );
    }
    server.stop().await;
}
