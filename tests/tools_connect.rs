//! `--connect`: every tool takes `stripe_account`, sent as `Stripe-Account` for that
//! call only, with idempotency per account; without the flag no schema grows.

mod common;

use common::{Spawn, err, fixture, ok};
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

async fn schemas_with(args: &[&str]) -> Vec<serde_json::Value> {
    let stripe = common::mock_stripe().await;
    let uri = stripe.uri();
    let mut spawn = Spawn::new(&uri);
    for a in args {
        spawn = spawn.arg(*a);
    }
    let server = spawn.start().await;
    let tools = server.client.list_all_tools().await.unwrap();
    server.stop().await;
    tools
        .into_iter()
        .map(|t| serde_json::Value::Object((*t.input_schema).clone()))
        .collect()
}

#[tokio::test]
async fn with_connect_every_tool_takes_stripe_account_and_without_it_none_does() {
    let plain = schemas_with(&[]).await;
    assert!(
        plain
            .iter()
            .all(|s| s["properties"].get("stripe_account").is_none())
    );
    let connect = schemas_with(&["--connect"]).await;
    assert_eq!(connect.len(), plain.len());
    for s in &connect {
        let arg = &s["properties"]["stripe_account"];
        assert_eq!(arg["type"], "string", "{s}");
        assert!(arg["description"].as_str().unwrap().contains("acct_"));
    }
}

#[tokio::test]
async fn stripe_account_is_sent_for_that_call_only_and_idempotency_is_per_account() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("customer.json")))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).arg("--connect").start().await;
    let args = |acct: Option<&str>| {
        let mut a = json!({"email": "jane@example.com"});
        if let Some(acct) = acct {
            a["stripe_account"] = json!(acct);
        }
        a
    };
    ok(&server.call("create_customer", args(Some("acct_A1"))).await);
    ok(&server.call("create_customer", args(Some("acct_B2"))).await);
    ok(&server.call("create_customer", args(None)).await);
    ok(&server.call("create_customer", args(Some("acct_A1"))).await);
    server.stop().await;
    let reqs = stripe.received_requests().await.unwrap();
    let header = |i: usize, h: &str| {
        reqs[i]
            .headers
            .get_all(h)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(header(0, "stripe-account"), ["acct_A1"]);
    assert_eq!(header(1, "stripe-account"), ["acct_B2"]);
    assert!(
        header(2, "stripe-account").is_empty(),
        "the platform itself"
    );
    // The account is not a form field.
    assert!(!String::from_utf8_lossy(&reqs[0].body).contains("stripe_account"));
    let key = |i: usize| header(i, "idempotency-key")[0].clone();
    assert_ne!(
        key(0),
        key(1),
        "the same write on two accounts is two writes"
    );
    assert_ne!(key(0), key(2));
    assert_eq!(key(0), key(3), "a retry on the same account reuses its key");
}

#[tokio::test]
async fn a_bad_stripe_account_is_refused_and_without_connect_it_is_an_unknown_argument() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).arg("--connect").start().await;
    for bad in [json!("cus_123"), json!("acct_1 2"), json!(42)] {
        let e = err(&server
            .call("get_balance", json!({"stripe_account": bad}))
            .await);
        assert_eq!(e["kind"], "invalid_argument", "{bad}");
    }
    server.stop().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call("get_balance", json!({"stripe_account": "acct_1"}))
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("unknown field"),
        "{e}"
    );
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}
