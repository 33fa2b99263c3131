//! Every request the tools can send, captured from the mock and checked against
//! Stripe's OpenAPI description: only parameters that exist, of the right type
//! and enum, with the required ones present.
//!
//! The spec is read from `STRIPE_OPENAPI_SPEC` (CI points it at
//! `../shared/stripe-openapi/spec3.json`); unset, the test says it skipped.

mod common;

use common::{Spawn, fixture, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

/// Argument sets that together exercise every parameter each tool can send.
fn calls() -> Vec<(&'static str, Value)> {
    let many: Vec<Value> = (0..3)
        .map(|i| json!({"product_name": format!("Item {i}"), "unit_amount": 100 + i, "currency": "eur", "quantity": i + 1}))
        .collect();
    vec![
        (
            "initiate_checkout",
            json!({"product_name": "Tee", "unit_amount": 4999, "currency": "usd"}),
        ),
        (
            "initiate_checkout",
            json!({
            "line_items": many, "customer_email": "jane@example.com", "client_reference_id": "order-7",
            "metadata": {"cart": "c1", "channel": "agent"}, "product_id": "sku-1", "expires_in_minutes": 45,
            "success_url": "https://shop.example/ok?s={CHECKOUT_SESSION_ID}", "cancel_url": "https://shop.example/back",
            "idempotency_key": "order-7"}),
        ),
        (
            "initiate_checkout",
            json!({"mode": "subscription", "line_items": [{"price": "price_123", "quantity": 2}], "customer": "cus_123"}),
        ),
        (
            "initiate_checkout",
            json!({"price": "price_9", "quantity": 3, "mode": "payment"}),
        ),
        ("list_customers", json!({})),
        (
            "list_customers",
            json!({"email": "jane@example.com", "limit": 100, "starting_after": "cus_123"}),
        ),
        ("create_refund", json!({"payment_intent": "pi_123"})),
        (
            "create_refund",
            json!({"charge": "ch_123", "amount": 250, "reason": "duplicate", "metadata": {"ticket": "T-1"}}),
        ),
        (
            "create_refund",
            json!({"payment_intent": "pi_123", "reason": "fraudulent"}),
        ),
        (
            "create_refund",
            json!({"payment_intent": "pi_123", "reason": "requested_by_customer"}),
        ),
        ("get_balance", json!({})),
    ]
}

#[tokio::test]
async fn every_request_the_tools_send_matches_stripes_openapi_description() {
    let Some(spec) = common::openapi::Spec::from_env() else {
        return;
    };
    let stripe = common::mock_stripe().await;
    for (m, p, f) in [
        ("POST", "/v1/checkout/sessions", "checkout_session.json"),
        ("GET", "/v1/customers", "customer_list.json"),
        ("POST", "/v1/refunds", "refund.json"),
        ("GET", "/v1/balance", "balance.json"),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture(f)))
            .mount(&stripe)
            .await;
    }
    let server = Spawn::new(&stripe.uri()).start().await;
    let calls = calls();
    for (tool, args) in &calls {
        ok(&server.call(tool, args.clone()).await);
    }
    server.stop().await;

    let requests = stripe.received_requests().await.unwrap();
    assert_eq!(requests.len(), calls.len(), "one request per call");
    common::assert_requests_match_spec(&spec, &requests, |_, _, _| false);
}
