//! Every request the dispute, search, fetch and generic tools can send,
//! captured from the mock and checked against Stripe's OpenAPI description.
//!
//! The spec is read from `STRIPE_OPENAPI_SPEC`; unset, the test says it skipped.

mod common;

use common::{Spawn, fixture, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, path_regex},
};

/// Every evidence field, with a value of the right kind.
fn all_evidence() -> Value {
    json!({
        "access_activity_log": "2024-05-01 10:00 login from 203.0.113.7\n2024-05-01 10:05 download",
        "billing_address": "1 Main St, Springfield",
        "cancellation_policy": "file_cancel",
        "cancellation_policy_disclosure": "Shown at checkout",
        "cancellation_rebuttal": "The customer never asked to cancel",
        "customer_communication": "file_comm",
        "customer_email_address": "jane@example.com",
        "customer_name": "Jane Doe",
        "customer_purchase_ip": "203.0.113.7",
        "customer_signature": "file_sig",
        "duplicate_charge_documentation": "file_dup",
        "duplicate_charge_explanation": "Two different orders",
        "duplicate_charge_id": "ch_other",
        "product_description": "A blue T-shirt",
        "receipt": "file_receipt",
        "refund_policy": "file_refund",
        "refund_policy_disclosure": "Shown at checkout",
        "refund_refusal_explanation": "Outside the 30-day window",
        "service_date": "2024-05-01",
        "service_documentation": "file_service",
        "shipping_address": "1 Main St, Springfield",
        "shipping_carrier": "UPS",
        "shipping_date": "2024-05-02",
        "shipping_documentation": "file_ship",
        "shipping_tracking_number": "1Z999AA10123456784",
        "uncategorized_file": "file_other",
        "uncategorized_text": "Anything else"
    })
}

/// Argument sets that together exercise every parameter each tool can send.
fn calls() -> Vec<(&'static str, Value)> {
    let mut calls = vec![
        ("list_disputes", json!({})),
        (
            "list_disputes",
            json!({"charge": "ch_1", "payment_intent": "pi_1", "limit": 100, "starting_after": "dp_0"}),
        ),
        ("list_disputes", json!({"charge": "py_1"})),
        ("get_dispute", json!({"dispute": "dp_1"})),
        ("get_dispute", json!({"dispute": "du_1"})),
        (
            "update_dispute",
            json!({"dispute": "dp_1", "evidence": all_evidence(), "metadata": {"case": "C-7"},
                   "idempotency_key": "d-1"}),
        ),
        ("update_dispute", json!({"dispute": "du_1", "submit": true})),
        (
            "update_dispute",
            json!({"dispute": "dp_1", "evidence": {"uncategorized_text": "x"}, "submit": false}),
        ),
        (
            "stripe_api_read",
            json!({"path": "/v1/customers", "params": {"limit": 3, "email": "jane@example.com",
                   "created": {"gte": 1700000000, "lt": 1800000000}, "expand": ["data.default_source"]}}),
        ),
        ("stripe_api_read", json!({"path": "/v1/coupons/SUMMER25"})),
        (
            "stripe_api_read",
            json!({"path": "/v1/events", "params": {"type": "charge.refunded", "delivery_success": false}}),
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/coupons",
                   "params": {"id": "SUMMER25", "percent_off": 25.5, "duration": "repeating",
                              "duration_in_months": 3, "metadata": {"campaign": "summer"}}}),
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/payment_intents",
                   "params": {"amount": 4999, "currency": "usd", "payment_method_types": ["card"],
                              "automatic_payment_methods": {"enabled": false}}}),
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/invoices/in_1/void"}),
        ),
        (
            "stripe_api_write",
            json!({"method": "DELETE", "path": "/v1/customers/cus_1"}),
        ),
    ];
    for resource in [
        "customers",
        "charges",
        "payment_intents",
        "subscriptions",
        "invoices",
        "products",
        "prices",
    ] {
        calls.push((
            "search_stripe_resources",
            json!({"resource": resource, "query": "metadata['order_id']:'6735'"}),
        ));
    }
    calls.push((
        "search_stripe_resources",
        json!({"resource": "charges", "query": "status:'succeeded' AND amount>1000", "limit": 100, "page": "WzE3MDBd"}),
    ));
    // One fetch per known id prefix: each picks a path the spec must have.
    for (prefix, _) in stripe_mcp::stripe::search::ID_PREFIXES {
        calls.push((
            "fetch_stripe_resource",
            json!({"id": format!("{prefix}123")}),
        ));
    }
    calls
}

#[tokio::test]
async fn every_request_the_platform_tools_send_matches_stripes_openapi_description() {
    let Some(spec) = common::openapi::Spec::from_env() else {
        return;
    };
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/disputes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("dispute_list.json")))
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(path_regex(r"^/v1/disputes/[A-Za-z0-9_]+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("dispute.json")))
        .with_priority(2)
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v1/[a-z_]+/search$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("search_charges.json")))
        .with_priority(2)
        .mount(&stripe)
        .await;
    Mock::given(path_regex(r"^/v1/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "x_123", "object": "thing"})),
        )
        .with_priority(10)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri())
        .arg(
            "--tools=list_disputes,get_dispute,update_dispute,search_stripe_resources,\
             fetch_stripe_resource,stripe_api_read,stripe_api_write",
        )
        .start()
        .await;
    let calls = calls();
    for (tool, args) in &calls {
        ok(&server.call(tool, args.clone()).await);
    }
    server.stop().await;

    let requests = stripe.received_requests().await.unwrap();
    assert_eq!(requests.len(), calls.len(), "one request per call");
    common::assert_requests_match_spec(&spec, &requests, |_, _, _| false);
}
