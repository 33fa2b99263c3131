//! The billing tools (products, prices, payment links, subscriptions, invoices,
//! coupons) through the real binary against a mock Stripe with Stripe-shaped
//! bodies: the exact request each sends, what it returns, and refusals that
//! send nothing (the mock fails the test on any unexpected request).

mod common;

use common::{Spawn, err, fixture, form_pairs, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

/// Mounts one expected request answering with `body`.
async fn expect(stripe: &MockServer, m: &str, p: &str, body: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(stripe)
        .await;
}

/// The only request the mock received: its body as ordered pairs, and its query.
async fn only_request(stripe: &MockServer) -> (Vec<(String, String)>, String) {
    let requests = stripe.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "exactly one request");
    let r = &requests[0];
    (form_pairs(&r.body), r.url.query().unwrap_or("").to_owned())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn list_of(item: Value) -> Value {
    json!({"object": "list", "data": [item], "has_more": false, "url": "/v1/x"})
}

#[tokio::test]
async fn create_product_posts_name_description_and_metadata_and_returns_the_product() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/products"))
        .and(header("idempotency-key", "prod-mug-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("billing_product.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_product",
            json!({"name": "Mug", "description": "Blue mug", "metadata": {"sku": "m-1"}, "idempotency_key": "prod-mug-1"}),
        )
        .await);
    let p = fixture("billing_product.json");
    assert_eq!(out["product"]["id"], p["id"]);
    assert_eq!(out["product"]["name"], p["name"]);
    assert_eq!(out["product"]["active"], json!(true));
    assert_eq!(out["idempotency_key"], json!("prod-mug-1"));
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("name", "Mug"),
            ("description", "Blue mug"),
            ("metadata[sku]", "m-1")
        ])
    );
    let e = err(&server.call("create_product", json!({"name": "  "})).await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}

#[tokio::test]
async fn list_products_filters_by_active_and_refuses_a_price_cursor() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "GET",
        "/v1/products",
        list_of(fixture("billing_product.json")),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call("list_products", json!({"active": true, "limit": 5}))
        .await);
    assert_eq!(
        out["products"][0]["id"],
        fixture("billing_product.json")["id"]
    );
    assert_eq!(out["has_more"], json!(false));
    assert_eq!(out["next_starting_after"], Value::Null);
    let (_, query) = only_request(&stripe).await;
    assert_eq!(query, "active=true&limit=5");
    let e = err(&server
        .call("list_products", json!({"starting_after": "price_1"}))
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("wrong prefix"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn create_price_sends_a_recurring_price_and_shows_its_amount_as_money() {
    let stripe = common::mock_stripe().await;
    expect(&stripe, "POST", "/v1/prices", fixture("billing_price.json")).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_price",
            json!({"product": "prod_Oaxlh23kWPWslc", "unit_amount": 2000, "currency": "USD",
                   "recurring": {"interval": "month", "interval_count": 1}, "nickname": "Monthly",
                   "metadata": {"plan": "basic"}}),
        )
        .await);
    let price = &out["price"];
    assert_eq!(price["id"], fixture("billing_price.json")["id"]);
    assert_eq!(price["product"], json!("prod_Oaxlh23kWPWslc"));
    assert_eq!(
        price["unit_amount"],
        json!({"amount": 2000, "currency": "usd", "display": "$20.00"})
    );
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("product", "prod_Oaxlh23kWPWslc"),
            ("unit_amount", "2000"),
            ("currency", "usd"),
            ("recurring[interval]", "month"),
            ("recurring[interval_count]", "1"),
            ("nickname", "Monthly"),
            ("metadata[plan]", "basic"),
        ])
    );
    let e = err(&server
        .call(
            "create_price",
            json!({"product": "prod_1", "unit_amount": 20.00, "currency": "usd"}),
        )
        .await);
    assert!(e["message"].as_str().unwrap().contains("integer"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn list_prices_sends_product_active_and_type_filters() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "GET",
        "/v1/prices",
        list_of(fixture("billing_price.json")),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_prices",
            json!({"product": "prod_Oaxlh23kWPWslc", "active": true, "type": "recurring"}),
        )
        .await);
    assert_eq!(out["prices"][0]["unit_amount"]["display"], json!("$20.00"));
    assert_eq!(out["prices"][0]["type"], json!("recurring"));
    assert_eq!(out["prices"][0]["recurring"]["interval"], json!("month"));
    let (_, query) = only_request(&stripe).await;
    assert_eq!(
        query,
        "product=prod_Oaxlh23kWPWslc&active=true&type=recurring&limit=10"
    );
    let e = err(&server.call("list_prices", json!({"type": "monthly"})).await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}

#[tokio::test]
async fn create_payment_link_posts_line_items_and_returns_the_url() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/payment_links",
        fixture("billing_payment_link.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_payment_link",
            json!({"line_items": [{"price": "price_1", "quantity": 2}, {"price": "price_2"}], "metadata": {"campaign": "spring"}}),
        )
        .await);
    assert_eq!(out["url"], json!("https://buy.stripe.com/test_fixture"));
    assert_eq!(out["id"], fixture("billing_payment_link.json")["id"]);
    assert!(
        out["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("stripe-mcp-")
    );
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("line_items[0][price]", "price_1"),
            ("line_items[0][quantity]", "2"),
            ("line_items[1][price]", "price_2"),
            ("line_items[1][quantity]", "1"),
            ("metadata[campaign]", "spring"),
        ])
    );
    let items: Vec<Value> = (0..21).map(|_| json!({"price": "price_1"})).collect();
    let e = err(&server
        .call("create_payment_link", json!({"line_items": items}))
        .await);
    assert!(e["message"].as_str().unwrap().contains("1 to 20"), "{e}");
    server.stop().await;
}

fn assert_fixture_subscription(sub: &Value) {
    let f = fixture("billing_subscription.json");
    assert_eq!(sub["id"], f["id"]);
    assert_eq!(sub["customer"], f["customer"]);
    assert_eq!(sub["status"], json!("active"));
    assert_eq!(sub["current_period_start"], json!(1_700_000_000));
    assert_eq!(sub["current_period_end"], json!(1_702_592_000));
    assert_eq!(sub["cancel_at_period_end"], json!(false));
    let item = &sub["items"][0];
    assert_eq!(item["id"], json!("si_OayUGOTQ3S6pqQ"));
    assert_eq!(item["price"], json!("price_1NnlpZGPxmnHQRkJuWjM7eRV"));
    assert_eq!(item["product"], json!("prod_Oaxlh23kWPWslc"));
    assert_eq!(
        item["unit_amount"],
        json!({"amount": 2000, "currency": "usd", "display": "$20.00"})
    );
    assert_eq!(item["interval"], json!("month"));
    assert_eq!(item["quantity"], json!(1));
}

#[tokio::test]
async fn create_subscription_posts_items_and_billing_options_and_returns_items_with_amounts() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/subscriptions",
        fixture("billing_subscription.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_subscription",
            json!({"customer": "cus_Oaxlz8kB0PJWGa", "items": [{"price": "price_1NnlpZGPxmnHQRkJuWjM7eRV"}],
                   "trial_period_days": 14, "payment_behavior": "default_incomplete",
                   "metadata": {"order": "o-1"}, "idempotency_key": "sub-o-1"}),
        )
        .await);
    assert_fixture_subscription(&out["subscription"]);
    assert_eq!(out["idempotency_key"], json!("sub-o-1"));
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("customer", "cus_Oaxlz8kB0PJWGa"),
            ("items[0][price]", "price_1NnlpZGPxmnHQRkJuWjM7eRV"),
            ("items[0][quantity]", "1"),
            ("trial_period_days", "14"),
            ("payment_behavior", "default_incomplete"),
            ("metadata[order]", "o-1"),
        ])
    );
    let e = err(&server
        .call(
            "create_subscription",
            json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice"}),
        )
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("days_until_due"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn get_subscription_reads_one_subscription_with_an_expanded_customer() {
    let stripe = common::mock_stripe().await;
    let mut sub = fixture("billing_subscription.json");
    sub["customer"] = json!({"id": "cus_Oaxlz8kB0PJWGa", "object": "customer"});
    let id = sub["id"].as_str().unwrap().to_owned();
    expect(&stripe, "GET", &format!("/v1/subscriptions/{id}"), sub).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call("get_subscription", json!({"subscription": id}))
        .await);
    assert_fixture_subscription(&out);
    let (_, query) = only_request(&stripe).await;
    assert_eq!(query, "");
    let e = err(&server
        .call(
            "get_subscription",
            json!({"subscription": "sub_../v1/balance"}),
        )
        .await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}

#[tokio::test]
async fn list_subscriptions_filters_by_customer_price_and_status_all() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "GET",
        "/v1/subscriptions",
        list_of(fixture("billing_subscription.json")),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_subscriptions",
            json!({"customer": "cus_1", "price": "price_1", "status": "all", "limit": 3}),
        )
        .await);
    assert_fixture_subscription(&out["subscriptions"][0]);
    let (_, query) = only_request(&stripe).await;
    assert_eq!(query, "customer=cus_1&price=price_1&status=all&limit=3");
    let e = err(&server
        .call("list_subscriptions", json!({"status": "live"}))
        .await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}

#[tokio::test]
async fn update_subscription_changes_items_and_proration() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/subscriptions/sub_1",
        fixture("billing_subscription.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "update_subscription",
            json!({"subscription": "sub_1", "items": [{"id": "si_1", "price": "price_2", "quantity": 3}],
                   "proration_behavior": "always_invoice", "cancel_at_period_end": false,
                   "metadata": {"tier": "pro"}}),
        )
        .await);
    assert_fixture_subscription(&out["subscription"]);
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("items[0][id]", "si_1"),
            ("items[0][price]", "price_2"),
            ("items[0][quantity]", "3"),
            ("cancel_at_period_end", "false"),
            ("proration_behavior", "always_invoice"),
            ("metadata[tier]", "pro"),
        ])
    );
    let e = err(&server
        .call("update_subscription", json!({"subscription": "sub_1"}))
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("nothing to change"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn cancel_subscription_deletes_now_with_prorate_in_the_query() {
    let stripe = common::mock_stripe().await;
    let mut sub = fixture("billing_subscription.json");
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(1_700_000_500);
    Mock::given(method("DELETE"))
        .and(path("/v1/subscriptions/sub_1"))
        .and(header("idempotency-key", "cancel-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(sub))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "cancel_subscription",
            json!({"subscription": "sub_1", "prorate": true, "invoice_now": true, "idempotency_key": "cancel-1"}),
        )
        .await);
    assert_eq!(out["canceled"], json!("immediately"));
    assert_eq!(out["subscription"]["status"], json!("canceled"));
    assert_eq!(out["subscription"]["canceled_at"], json!(1_700_000_500));
    assert_eq!(out["idempotency_key"], json!("cancel-1"));
    let (body, query) = only_request(&stripe).await;
    assert!(body.is_empty());
    assert_eq!(query, "invoice_now=true&prorate=true");
    let e = err(&server
        .call(
            "cancel_subscription",
            json!({"subscription": "sub_1", "at_period_end": true, "prorate": true}),
        )
        .await);
    assert!(e["message"].as_str().unwrap().contains("immediate"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn cancel_subscription_at_period_end_is_an_update_that_keeps_it_running() {
    let stripe = common::mock_stripe().await;
    let mut sub = fixture("billing_subscription.json");
    sub["cancel_at_period_end"] = json!(true);
    expect(&stripe, "POST", "/v1/subscriptions/sub_1", sub).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "cancel_subscription",
            json!({"subscription": "sub_1", "at_period_end": true}),
        )
        .await);
    assert_eq!(out["canceled"], json!("at_period_end"));
    assert_eq!(out["subscription"]["status"], json!("active"));
    assert_eq!(out["subscription"]["cancel_at_period_end"], json!(true));
    let (body, _) = only_request(&stripe).await;
    assert_eq!(body, pairs(&[("cancel_at_period_end", "true")]));
    server.stop().await;
}

fn assert_fixture_invoice(inv: &Value) {
    let f = fixture("billing_invoice.json");
    assert_eq!(inv["id"], f["id"]);
    assert_eq!(inv["customer"], f["customer"]);
    assert_eq!(
        inv["amount_due"],
        json!({"amount": 2500, "currency": "usd", "display": "$25.00"})
    );
    assert_eq!(inv["amount_paid"]["amount"], json!(0));
    assert_eq!(inv["amount_remaining"]["display"], json!("$25.00"));
}

#[tokio::test]
async fn create_invoice_posts_a_send_invoice_draft() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/invoices",
        fixture("billing_invoice.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_invoice",
            json!({"customer": "cus_Oaxlz8kB0PJWGa", "collection_method": "send_invoice", "days_until_due": 30,
                   "description": "Consulting, March", "auto_advance": false,
                   "pending_invoice_items_behavior": "include", "metadata": {"job": "j-9"}}),
        )
        .await);
    assert_fixture_invoice(&out["invoice"]);
    assert_eq!(out["invoice"]["status"], json!("draft"));
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("customer", "cus_Oaxlz8kB0PJWGa"),
            ("collection_method", "send_invoice"),
            ("days_until_due", "30"),
            ("description", "Consulting, March"),
            ("auto_advance", "false"),
            ("pending_invoice_items_behavior", "include"),
            ("metadata[job]", "j-9"),
        ])
    );
    let e = err(&server
        .call(
            "create_invoice",
            json!({"customer": "cus_1", "days_until_due": 30}),
        )
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("send_invoice"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn create_invoice_item_posts_an_amount_on_a_draft_invoice() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/invoiceitems",
        fixture("billing_invoice_item.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_invoice_item",
            json!({"customer": "cus_Oaxlz8kB0PJWGa", "amount": 1000, "currency": "usd",
                   "description": "Setup fee", "invoice": "in_1NnmX4GPxmnHQRkJyyhHiHYa", "metadata": {"k": "v"}}),
        )
        .await);
    let f = fixture("billing_invoice_item.json");
    assert_eq!(out["id"], f["id"]);
    assert_eq!(
        out["amount"],
        json!({"amount": f["amount"], "currency": "usd", "display": "$10.00"})
    );
    assert_eq!(out["customer"], f["customer"]);
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("customer", "cus_Oaxlz8kB0PJWGa"),
            ("amount", "1000"),
            ("currency", "usd"),
            ("description", "Setup fee"),
            ("invoice", "in_1NnmX4GPxmnHQRkJyyhHiHYa"),
            ("metadata[k]", "v"),
        ])
    );
    let e = err(&server
        .call(
            "create_invoice_item",
            json!({"customer": "cus_1", "amount": 1000, "currency": "usd", "price": "price_1"}),
        )
        .await);
    assert!(e["message"].as_str().unwrap().contains("not both"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn finalize_invoice_posts_to_finalize_and_returns_the_hosted_url() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/invoices/in_1NnmX4GPxmnHQRkJyyhHiHYa/finalize",
        fixture("billing_invoice_open.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "finalize_invoice",
            json!({"invoice": "in_1NnmX4GPxmnHQRkJyyhHiHYa", "auto_advance": true}),
        )
        .await);
    let inv = &out["invoice"];
    assert_fixture_invoice(inv);
    assert_eq!(inv["status"], json!("open"));
    assert_eq!(inv["number"], json!("ABC-0001"));
    assert_eq!(
        inv["hosted_invoice_url"],
        json!("https://invoice.stripe.com/i/test_fixture")
    );
    let (body, _) = only_request(&stripe).await;
    assert_eq!(body, pairs(&[("auto_advance", "true")]));
    let e = err(&server
        .call("finalize_invoice", json!({"invoice": "ii_1"}))
        .await);
    assert!(
        e["message"].as_str().unwrap().contains("wrong prefix"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn list_invoices_filters_by_customer_subscription_and_status() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "GET",
        "/v1/invoices",
        list_of(fixture("billing_invoice.json")),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_invoices",
            json!({"customer": "cus_1", "subscription": "sub_1", "status": "draft", "starting_after": "in_0"}),
        )
        .await);
    assert_fixture_invoice(&out["invoices"][0]);
    assert_eq!(out["invoices"][0]["due_date"], json!(1_234_567_890));
    let (_, query) = only_request(&stripe).await;
    assert_eq!(
        query,
        "customer=cus_1&subscription=sub_1&status=draft&limit=10&starting_after=in_0"
    );
    let e = err(&server.call("list_invoices", json!({"limit": 1001})).await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}

#[tokio::test]
async fn create_coupon_posts_a_repeating_percentage_coupon() {
    let stripe = common::mock_stripe().await;
    expect(
        &stripe,
        "POST",
        "/v1/coupons",
        fixture("billing_coupon.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "create_coupon",
            json!({"percent_off": 25.5, "duration": "repeating", "duration_in_months": 3,
                   "name": "25.5% off", "max_redemptions": 100, "redeem_by": 4_000_000_000i64,
                   "metadata": {"campaign": "spring"}}),
        )
        .await);
    let c = &out["coupon"];
    assert_eq!(c["id"], json!("Z4OV52SU"));
    assert_eq!(c["percent_off"], json!(25.5));
    assert_eq!(c["amount_off"], Value::Null);
    assert_eq!(c["duration"], json!("repeating"));
    assert_eq!(c["valid"], json!(true));
    let (body, _) = only_request(&stripe).await;
    assert_eq!(
        body,
        pairs(&[
            ("percent_off", "25.5"),
            ("duration", "repeating"),
            ("duration_in_months", "3"),
            ("name", "25.5% off"),
            ("max_redemptions", "100"),
            ("redeem_by", "4000000000"),
            ("metadata[campaign]", "spring"),
        ])
    );
    let e = err(&server
        .call(
            "create_coupon",
            json!({"amount_off": 500, "duration": "once"}),
        )
        .await);
    assert!(e["message"].as_str().unwrap().contains("currency"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn list_coupons_shows_amount_off_as_money() {
    let stripe = common::mock_stripe().await;
    let mut coupon = fixture("billing_coupon.json");
    coupon["percent_off"] = Value::Null;
    coupon["amount_off"] = json!(500);
    coupon["currency"] = json!("jpy");
    expect(&stripe, "GET", "/v1/coupons", list_of(coupon)).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_coupons",
            json!({"limit": 2, "starting_after": "SUMMER-25"}),
        )
        .await);
    let c = &out["coupons"][0];
    assert_eq!(c["amount_off"]["amount"], json!(500));
    assert_eq!(c["amount_off"]["currency"], json!("jpy"));
    assert!(!c["amount_off"]["display"].as_str().unwrap().contains('.'));
    let (_, query) = only_request(&stripe).await;
    assert_eq!(query, "limit=2&starting_after=SUMMER-25");
    let e = err(&server
        .call("list_coupons", json!({"starting_after": "a b"}))
        .await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    server.stop().await;
}
