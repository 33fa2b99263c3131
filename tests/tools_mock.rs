//! The four tools end to end: the real binary over stdio, driven by rmcp's MCP
//! client, against a mock Stripe with Stripe-shaped bodies.

mod common;

use common::{Spawn, err, fixture, form_pairs, ok};
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{header, method, path},
};

#[tokio::test]
async fn initiate_checkout_creates_a_session_and_returns_its_payment_url() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("idempotency-key", "order-1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("checkout_session.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "initiate_checkout",
            json!({"product_name": "T-shirt", "unit_amount": 4999, "currency": "usd", "quantity": 1,
                   "product_id": "sku-tee", "customer_email": "jane@example.com", "idempotency_key": "order-1001"}),
        )
        .await);
    let session = fixture("checkout_session.json");
    assert_eq!(out["checkout_url"], session["url"]);
    assert_eq!(out["session_id"], session["id"]);
    assert_eq!(out["amount_total"], json!(4999));
    assert_eq!(out["amount_total_display"], json!("$49.99"));
    assert_eq!(out["mode"], json!("payment"));
    assert_eq!(out["livemode"], json!(false));
    assert_eq!(out["idempotency_key"], json!("order-1001"));

    let req = &stripe.received_requests().await.unwrap()[0];
    let pairs = form_pairs(&req.body);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("mode"), Some("payment"));
    assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("4999"));
    assert_eq!(get("line_items[0][price_data][currency]"), Some("usd"));
    assert_eq!(
        get("line_items[0][price_data][product_data][name]"),
        Some("T-shirt")
    );
    assert_eq!(get("line_items[0][quantity]"), Some("1"));
    assert_eq!(
        get("success_url"),
        Some("https://shop.example/success?session_id={CHECKOUT_SESSION_ID}")
    );
    assert_eq!(get("cancel_url"), Some("https://shop.example/cancel"));
    assert_eq!(get("customer_email"), Some("jane@example.com"));
    assert_eq!(get("metadata[product_id]"), Some("sku-tee"));
    server.stop().await;
}

#[tokio::test]
async fn get_balance_returns_available_and_pending_per_currency_with_display_strings() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("balance.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server.call("get_balance", json!({})).await);
    let balance = fixture("balance.json");
    let available = out["available"].as_array().unwrap();
    assert_eq!(
        available.len(),
        balance["available"].as_array().unwrap().len()
    );
    for (got, want) in available
        .iter()
        .zip(balance["available"].as_array().unwrap())
    {
        assert_eq!(got["amount"], want["amount"]);
        assert_eq!(got["currency"], want["currency"]);
        assert!(got["display"].is_string());
    }
    let jpy = available
        .iter()
        .find(|m| m["currency"] == "jpy")
        .expect("a jpy entry in the fixture");
    assert!(
        !jpy["display"].as_str().unwrap().contains('.'),
        "jpy is zero-decimal: {jpy}"
    );
    assert_eq!(
        out["pending"].as_array().unwrap().len(),
        balance["pending"].as_array().unwrap().len()
    );
    assert_eq!(out["livemode"], balance["livemode"]);
    server.stop().await;
}

#[tokio::test]
async fn a_refund_retried_after_a_500_is_one_refund_with_the_key_echoed() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"type": "api_error", "message": "try again"}})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("refund.json")))
        .expect(1)
        .with_priority(2)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_refund",
            json!({"payment_intent": "pi_123", "amount": 500}),
        )
        .await);
    let key = out["idempotency_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("stripe-mcp-"), "a derived key: {key}");
    assert_eq!(out["amount"]["amount"], json!(500));
    assert_eq!(out["amount"]["display"], json!("$5.00"));
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(
            r.headers.get("idempotency-key").unwrap().to_str().unwrap(),
            key
        );
        assert_eq!(
            std::str::from_utf8(&r.body).unwrap(),
            "payment_intent=pi_123&amount=500"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_declined_card_is_a_structured_card_declined_error_with_stripes_fields() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(402)
                .insert_header("request-id", "req_decline")
                .set_body_json(fixture("error_card_declined.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call(
            "create_refund",
            json!({"charge": "ch_123", "idempotency_key": "rf-9"}),
        )
        .await);
    assert_eq!(e["kind"], "card_declined");
    assert_eq!(e["retryable"], false);
    assert_eq!(e["http_status"], 402);
    assert_eq!(e["request_id"], "req_decline");
    assert_eq!(e["idempotency_key"], "rf-9");
    assert_eq!(e["stripe"]["type"], "card_error");
    assert_eq!(e["stripe"]["decline_code"], "insufficient_funds");
    assert!(e["hint"].as_str().unwrap().contains("different card"));
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_before_any_request_is_sent() {
    // The catch-all fails the test if any of these reach "Stripe".
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let many: Vec<_> = (0..101).map(|_| json!({"price": "price_1"})).collect();
    let cases = [
        (
            "initiate_checkout",
            json!({"product_name": "Tee", "unit_amount": 49.99, "currency": "usd"}),
            "4999",
        ),
        (
            "initiate_checkout",
            json!({"product_name": "Tee", "unit_amount": -1, "currency": "usd"}),
            "negative",
        ),
        (
            "initiate_checkout",
            json!({"product_name": "Tee", "unit_amount": 100, "currency": "usd "}),
            "spaces",
        ),
        (
            "initiate_checkout",
            json!({"product_name": "Tee", "unit_amount": 100, "currency": "dollars"}),
            "\"usd\"",
        ),
        (
            "initiate_checkout",
            json!({"line_items": many}),
            "at most 100",
        ),
        (
            "initiate_checkout",
            json!({"price": "price_1", "success_url": "/thanks"}),
            "absolute URL",
        ),
        (
            "create_refund",
            json!({"payment_intent": "ch_1"}),
            "wrong prefix",
        ),
        (
            "create_refund",
            json!({"payment_intent": "pi_1", "charge": "ch_1"}),
            "not both",
        ),
        (
            "create_refund",
            json!({"payment_intent": "pi_1", "amount": "500"}),
            "string",
        ),
        (
            "create_refund",
            json!({"payment_intent": "pi_1", "reason": "because"}),
            "unknown variant",
        ),
        (
            "list_customers",
            json!({"limit": 5000}),
            "between 1 and 1000",
        ),
        ("list_customers", json!({"emali": "x@y.z"}), "unknown field"),
    ];
    for (tool, args, needle) in cases {
        let e = err(&server.call(tool, args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{tool} {args}");
        assert_eq!(e["retryable"], false);
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{tool} {args}: {msg}");
    }
    assert!(stripe.received_requests().await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_refused_key_is_an_authentication_error_that_says_which_key_to_use() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(fixture("error_invalid_api_key.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server.call("list_customers", json!({})).await);
    assert_eq!(e["kind"], "authentication");
    assert_eq!(e["retryable"], false);
    assert!(e["hint"].as_str().unwrap().contains("sk_test_"));
    server.stop().await;
}

#[tokio::test]
async fn list_customers_pages_with_a_cursor() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("customer_list.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_customers",
            json!({"email": "jane@example.com", "limit": 2}),
        )
        .await);
    let list = fixture("customer_list.json");
    assert_eq!(out["customers"].as_array().unwrap().len(), 2);
    assert_eq!(out["customers"][0]["id"], list["data"][0]["id"]);
    assert_eq!(out["has_more"], json!(true));
    assert_eq!(out["next_starting_after"], list["data"][1]["id"]);
    let req = &stripe.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), Some("email=jane%40example.com&limit=2"));
    server.stop().await;
}

#[tokio::test]
async fn the_server_introduces_itself_and_states_the_key_mode() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let info = server.client.peer_info().expect("initialize result");
    let id = info.server_info.clone().expect("serverInfo");
    assert_eq!(id.name, "stripe-mcp");
    assert_eq!(id.version, env!("CARGO_PKG_VERSION"));
    let instructions = info.instructions.clone().unwrap_or_default();
    assert!(instructions.contains("TEST-mode key"), "{instructions}");
    let log = server.stop().await;
    assert!(
        log.contains("test mode"),
        "start-up log states the mode: {log}"
    );
}
