//! Every request the billing tools can send, captured from the mock and checked
//! against Stripe's OpenAPI description: only parameters that exist, of the
//! right type and enum, with the required ones present.
//!
//! The spec is read from `STRIPE_OPENAPI_SPEC`; unset, the test says it skipped.

mod common;

use common::{Spawn, fixture, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path, path_regex},
};

/// Argument sets that together exercise every parameter each tool can send.
fn calls() -> Vec<(&'static str, Value)> {
    vec![
        ("create_product", json!({"name": "Mug"})),
        (
            "create_product",
            json!({"name": "Mug", "description": "Blue", "metadata": {"sku": "m-1"}, "idempotency_key": "p-1"}),
        ),
        ("list_products", json!({})),
        (
            "list_products",
            json!({"active": false, "limit": 100, "starting_after": "prod_1"}),
        ),
        (
            "create_price",
            json!({"product": "prod_1", "unit_amount": 500, "currency": "usd"}),
        ),
        (
            "create_price",
            json!({"product": "prod_1", "unit_amount": 500, "currency": "eur", "nickname": "Quarterly",
                   "recurring": {"interval": "month", "interval_count": 3}, "metadata": {"k": "v"}}),
        ),
        (
            "create_price",
            json!({"product": "prod_1", "unit_amount": 0, "currency": "jpy", "recurring": {"interval": "year"}}),
        ),
        ("list_prices", json!({})),
        (
            "list_prices",
            json!({"product": "prod_1", "active": true, "type": "one_time", "limit": 20, "starting_after": "price_1"}),
        ),
        ("list_prices", json!({"type": "recurring"})),
        (
            "create_payment_link",
            json!({"line_items": [{"price": "price_1"}, {"price": "price_2", "quantity": 4}], "metadata": {"k": "v"}}),
        ),
        (
            "create_subscription",
            json!({"customer": "cus_1", "items": [{"price": "price_1", "quantity": 2}, {"price": "price_2"}],
                   "trial_period_days": 7, "collection_method": "charge_automatically",
                   "payment_behavior": "default_incomplete", "metadata": {"k": "v"}}),
        ),
        (
            "create_subscription",
            json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice", "days_until_due": 30}),
        ),
        (
            "create_subscription",
            json!({"customer": "cus_1", "items": [{"price": "price_1"}], "payment_behavior": "error_if_incomplete"}),
        ),
        ("get_subscription", json!({"subscription": "sub_1"})),
        ("list_subscriptions", json!({})),
        (
            "list_subscriptions",
            json!({"customer": "cus_1", "price": "price_1", "status": "all", "limit": 50, "starting_after": "sub_0"}),
        ),
        ("list_subscriptions", json!({"status": "past_due"})),
        (
            "update_subscription",
            json!({"subscription": "sub_1", "items": [
                {"id": "si_1", "price": "price_2"}, {"id": "si_2", "quantity": 3},
                {"price": "price_3", "quantity": 2}, {"id": "si_3", "deleted": true}],
                "cancel_at_period_end": false, "proration_behavior": "create_prorations", "metadata": {"k": "v"}}),
        ),
        (
            "update_subscription",
            json!({"subscription": "sub_1", "cancel_at_period_end": true, "proration_behavior": "none"}),
        ),
        (
            "cancel_subscription",
            json!({"subscription": "sub_1", "invoice_now": true, "prorate": false}),
        ),
        ("cancel_subscription", json!({"subscription": "sub_1"})),
        (
            "cancel_subscription",
            json!({"subscription": "sub_1", "at_period_end": true}),
        ),
        ("create_invoice", json!({"customer": "cus_1"})),
        (
            "create_invoice",
            json!({"customer": "cus_1", "collection_method": "send_invoice", "days_until_due": 30, "description": "March",
                   "auto_advance": false, "pending_invoice_items_behavior": "include", "metadata": {"k": "v"}}),
        ),
        (
            "create_invoice",
            json!({"customer": "cus_1", "collection_method": "charge_automatically", "pending_invoice_items_behavior": "exclude"}),
        ),
        (
            "create_invoice_item",
            json!({"customer": "cus_1", "amount": 2500, "currency": "usd", "description": "Setup", "invoice": "in_1", "metadata": {"k": "v"}}),
        ),
        (
            "create_invoice_item",
            json!({"customer": "cus_1", "price": "price_1", "quantity": 3}),
        ),
        ("finalize_invoice", json!({"invoice": "in_1"})),
        (
            "finalize_invoice",
            json!({"invoice": "in_1", "auto_advance": false}),
        ),
        ("list_invoices", json!({})),
        (
            "list_invoices",
            json!({"customer": "cus_1", "subscription": "sub_1", "status": "open", "limit": 5, "starting_after": "in_0"}),
        ),
        (
            "create_coupon",
            json!({"percent_off": 12.5, "duration": "repeating", "duration_in_months": 6, "id": "SPRING-12",
                   "name": "Spring", "max_redemptions": 10, "redeem_by": 4_000_000_000i64, "metadata": {"k": "v"}}),
        ),
        (
            "create_coupon",
            json!({"amount_off": 500, "currency": "usd", "duration": "once"}),
        ),
        (
            "create_coupon",
            json!({"percent_off": 100, "duration": "forever"}),
        ),
        ("list_coupons", json!({})),
        (
            "list_coupons",
            json!({"limit": 30, "starting_after": "SPRING-12"}),
        ),
    ]
}

fn list_of(item: Value) -> Value {
    json!({"object": "list", "data": [item], "has_more": false, "url": "/v1/x"})
}

#[tokio::test]
async fn every_request_the_billing_tools_send_matches_stripes_openapi_description() {
    let Some(spec) = common::openapi::Spec::from_env() else {
        return;
    };
    let stripe = common::mock_stripe().await;
    let product = fixture("billing_product.json");
    let price = fixture("billing_price.json");
    let sub = fixture("billing_subscription.json");
    let invoice = fixture("billing_invoice.json");
    let coupon = fixture("billing_coupon.json");
    for (m, p, body) in [
        ("POST", "/v1/products", product.clone()),
        ("GET", "/v1/products", list_of(product)),
        ("POST", "/v1/prices", price.clone()),
        ("GET", "/v1/prices", list_of(price)),
        (
            "POST",
            "/v1/payment_links",
            fixture("billing_payment_link.json"),
        ),
        ("POST", "/v1/subscriptions", sub.clone()),
        ("GET", "/v1/subscriptions", list_of(sub.clone())),
        ("POST", "/v1/invoices", invoice.clone()),
        ("GET", "/v1/invoices", list_of(invoice.clone())),
        (
            "POST",
            "/v1/invoiceitems",
            fixture("billing_invoice_item.json"),
        ),
        ("POST", "/v1/coupons", coupon.clone()),
        ("GET", "/v1/coupons", list_of(coupon)),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&stripe)
            .await;
    }
    for m in ["GET", "POST", "DELETE"] {
        Mock::given(method(m))
            .and(path_regex(r"^/v1/subscriptions/sub_\w+$"))
            .respond_with(ResponseTemplate::new(200).set_body_json(sub.clone()))
            .mount(&stripe)
            .await;
    }
    Mock::given(method("POST"))
        .and(path_regex(r"^/v1/invoices/in_\w+/finalize$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(invoice))
        .mount(&stripe)
        .await;
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
