//! The payments tools (checkout sessions, customers, payment intents, charges,
//! refunds, balance transactions, payouts, account) through the real binary
//! over stdio, against a mock Stripe with Stripe-shaped bodies: the exact
//! request each sends, the output it returns, and refusals that send nothing.

mod common;

use common::{Spawn, err, fixture, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

/// Answers `METHOD path` with a fixture, once.
async fn answer(stripe: &MockServer, m: &str, p: &str, body: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(stripe)
        .await;
}

/// The one request the mock received: method, path, query, body.
async fn only_request(stripe: &MockServer) -> (String, String, String, String) {
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "exactly one request");
    let r = &reqs[0];
    (
        r.method.to_string(),
        r.url.path().to_owned(),
        r.url.query().unwrap_or("").to_owned(),
        String::from_utf8(r.body.clone()).unwrap(),
    )
}

/// Runs one tool call against a fresh mock answering `m p` with `body`;
/// returns the output and the request.
async fn call(
    tool: &str,
    args: Value,
    m: &str,
    p: &str,
    body: Value,
) -> (Value, (String, String, String, String)) {
    let stripe = common::mock_stripe().await;
    answer(&stripe, m, p, body).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server.call(tool, args).await);
    server.stop().await;
    let req = only_request(&stripe).await;
    (out, req)
}

fn get(p: &str, q: &str) -> (String, String, String, String) {
    ("GET".into(), p.into(), q.into(), String::new())
}

fn post(p: &str, body: &str) -> (String, String, String, String) {
    ("POST".into(), p.into(), String::new(), body.into())
}

#[tokio::test]
async fn get_checkout_session_says_whether_it_is_paid_and_who_paid() {
    let (out, req) = call(
        "get_checkout_session",
        json!({"session": "cs_test_complete"}),
        "GET",
        "/v1/checkout/sessions/cs_test_complete",
        fixture("checkout_session_complete.json"),
    )
    .await;
    assert_eq!(req, get("/v1/checkout/sessions/cs_test_complete", ""));
    assert_eq!(out["id"], "cs_test_complete");
    assert_eq!(out["status"], "complete");
    assert_eq!(out["payment_status"], "paid");
    assert_eq!(
        out["amount_total"],
        json!({"amount": 4999, "currency": "usd", "display": "$49.99"})
    );
    assert_eq!(out["customer"], "cus_Oaxlz8kB0PJWGa");
    assert_eq!(out["customer_email"], "jane@example.com");
    assert_eq!(out["url"], Value::Null);
    assert_eq!(out["payment_intent"], "pi_3PaymentsFixture");
    assert_eq!(out["metadata"], json!({"order_id": "1001"}));
    assert_eq!(out["expires_at"], 1700086400);
    assert!(out.get("idempotency_key").is_none());
}

#[tokio::test]
async fn list_checkout_sessions_sends_its_filters_and_pages_on() {
    let (out, req) = call(
        "list_checkout_sessions",
        json!({"customer": "cus_1", "payment_intent": "pi_1", "status": "expired", "limit": 2, "starting_after": "cs_test_0"}),
        "GET",
        "/v1/checkout/sessions",
        fixture("checkout_session_list.json"),
    )
    .await;
    assert_eq!(
        req,
        get(
            "/v1/checkout/sessions",
            "customer=cus_1&payment_intent=pi_1&status=expired&limit=2&starting_after=cs_test_0"
        )
    );
    let sessions = out["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1]["status"], "expired");
    assert_eq!(sessions[1]["customer_email"], "sam@example.com");
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_starting_after"], "cs_test_expired");
}

#[tokio::test]
async fn expire_checkout_session_posts_to_expire_with_the_key() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions/cs_test_open/expire"))
        .and(header("idempotency-key", "exp-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("checkout_session_expired.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "expire_checkout_session",
            json!({"session": "cs_test_open", "idempotency_key": "exp-1"}),
        )
        .await);
    server.stop().await;
    assert_eq!(
        only_request(&stripe).await,
        post("/v1/checkout/sessions/cs_test_open/expire", "")
    );
    assert_eq!(out["status"], "expired");
    assert_eq!(out["idempotency_key"], "exp-1");
}

#[tokio::test]
async fn get_customer_returns_the_customer_and_a_missing_one_is_not_found() {
    let (out, req) = call(
        "get_customer",
        json!({"customer": "cus_Oaxlz8kB0PJWGa"}),
        "GET",
        "/v1/customers/cus_Oaxlz8kB0PJWGa",
        fixture("customer.json"),
    )
    .await;
    assert_eq!(req, get("/v1/customers/cus_Oaxlz8kB0PJWGa", ""));
    assert_eq!(out["email"], "jane@example.com");
    assert_eq!(out["name"], "Jane Doe");
    assert_eq!(out["deleted"], false);

    let (out, _) = call(
        "get_customer",
        json!({"customer": "cus_Deleted123"}),
        "GET",
        "/v1/customers/cus_Deleted123",
        fixture("customer_deleted.json"),
    )
    .await;
    assert_eq!(out["deleted"], true);

    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers/cus_missing"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(fixture("error_resource_missing.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call("get_customer", json!({"customer": "cus_missing"}))
        .await);
    assert_eq!(e["kind"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn create_customer_sends_exactly_the_fields_given() {
    let (out, req) = call(
        "create_customer",
        json!({"email": "jane@example.com", "name": "Jane Doe", "phone": "+15555550100",
               "description": "VIP", "metadata": {"crm_id": "42"}, "idempotency_key": "cust-42"}),
        "POST",
        "/v1/customers",
        fixture("customer_updated.json"),
    )
    .await;
    assert_eq!(
        req,
        post(
            "/v1/customers",
            "email=jane%40example.com&name=Jane+Doe&phone=%2B15555550100&description=VIP&metadata[crm_id]=42"
        )
    );
    assert_eq!(out["id"], "cus_Oaxlz8kB0PJWGa");
    assert_eq!(out["metadata"], json!({"crm_id": "42"}));
    assert_eq!(out["idempotency_key"], "cust-42");
}

#[tokio::test]
async fn update_customer_posts_only_the_changed_fields() {
    let (out, req) = call(
        "update_customer",
        json!({"customer": "cus_Oaxlz8kB0PJWGa", "name": "Jane Q. Doe", "metadata": {"old": ""}}),
        "POST",
        "/v1/customers/cus_Oaxlz8kB0PJWGa",
        fixture("customer_updated.json"),
    )
    .await;
    assert_eq!(
        req,
        post(
            "/v1/customers/cus_Oaxlz8kB0PJWGa",
            "name=Jane+Q.+Doe&metadata[old]="
        )
    );
    assert_eq!(out["name"], "Jane Q. Doe");
    assert!(
        out["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("stripe-mcp-")
    );
}

#[tokio::test]
async fn create_payment_intent_confirming_server_side_turns_redirects_off_and_hides_the_secret() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .and(header("idempotency-key", "pay-1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("payment_intent.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let result = server
        .call(
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "customer": "cus_Oaxlz8kB0PJWGa", "description": "Order 1001",
                   "receipt_email": "jane@example.com", "metadata": {"order_id": "1001"},
                   "payment_method": "pm_card_visa", "confirm": true, "idempotency_key": "pay-1001"}),
        )
        .await;
    let out = ok(&result);
    server.stop().await;
    assert_eq!(
        only_request(&stripe).await,
        post(
            "/v1/payment_intents",
            "amount=2000&currency=usd&customer=cus_Oaxlz8kB0PJWGa&description=Order+1001\
             &receipt_email=jane%40example.com&payment_method=pm_card_visa&confirm=true\
             &automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never\
             &metadata[order_id]=1001"
        )
    );
    assert_eq!(out["id"], "pi_3PaymentsFixture");
    assert_eq!(out["status"], "succeeded");
    assert_eq!(
        out["amount"],
        json!({"amount": 2000, "currency": "usd", "display": "$20.00"})
    );
    assert_eq!(out["amount_received"]["amount"], 2000);
    assert_eq!(out["latest_charge"], "ch_3PaymentsFixture");
    assert_eq!(out["customer"], "cus_Oaxlz8kB0PJWGa");
    assert_eq!(out["idempotency_key"], "pay-1001");
    assert!(out.get("last_payment_error").is_none());
    assert!(out.get("action_required").is_none());
    let everything = format!("{result:?}");
    assert!(!everything.contains("DONOTLEAK"), "client_secret leaked");
}

#[tokio::test]
async fn create_payment_intent_with_explicit_types_sends_no_automatic_payment_methods() {
    let (_, req) = call(
        "create_payment_intent",
        json!({"amount": 500, "currency": "eur", "payment_method_types": ["card", "sepa_debit"]}),
        "POST",
        "/v1/payment_intents",
        fixture("payment_intent.json"),
    )
    .await;
    assert_eq!(
        req,
        post(
            "/v1/payment_intents",
            "amount=500&currency=eur&payment_method_types[0]=card&payment_method_types[1]=sepa_debit"
        )
    );
}

#[tokio::test]
async fn confirm_payment_intent_that_needs_3d_secure_says_so_with_the_redirect_url() {
    let (out, req) = call(
        "confirm_payment_intent",
        json!({"payment_intent": "pi_3PaymentsAction", "payment_method": "pm_card_threeDSecure2Required",
               "return_url": "https://shop.example/return"}),
        "POST",
        "/v1/payment_intents/pi_3PaymentsAction/confirm",
        fixture("payment_intent_requires_action.json"),
    )
    .await;
    assert_eq!(
        req,
        post(
            "/v1/payment_intents/pi_3PaymentsAction/confirm",
            "payment_method=pm_card_threeDSecure2Required&return_url=https%3A%2F%2Fshop.example%2Freturn"
        )
    );
    assert_eq!(out["status"], "requires_action");
    assert_eq!(out["next_action"]["type"], "redirect_to_url");
    assert!(
        out["next_action"]["redirect_url"]
            .as_str()
            .unwrap()
            .starts_with("https://hooks.stripe.com/3d_secure_2/")
    );
    let says = out["action_required"].as_str().unwrap();
    assert!(says.contains("3D Secure"), "{says}");
    assert!(says.contains("NOT complete"), "{says}");
    assert!(!out.to_string().contains("DONOTLEAK"));
}

#[tokio::test]
async fn confirm_payment_intent_that_needs_a_return_url_gets_a_hint_to_send_one() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents/pi_1/confirm"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error",
            "message": "A `return_url` must be specified because this Payment Intent is configured to automatically accept the payment methods enabled in the Dashboard, some of which may require a full page redirect to succeed."
        }})))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call("confirm_payment_intent", json!({"payment_intent": "pi_1"}))
        .await);
    server.stop().await;
    assert_eq!(e["kind"], "invalid_argument");
    assert!(e["hint"].as_str().unwrap().contains("return_url"));
    assert!(e["idempotency_key"].is_string());
    assert_eq!(
        only_request(&stripe).await,
        post("/v1/payment_intents/pi_1/confirm", "")
    );
}

#[tokio::test]
async fn get_payment_intent_shows_why_the_last_attempt_failed() {
    let (out, req) = call(
        "get_payment_intent",
        json!({"payment_intent": "pi_3PaymentsDeclined"}),
        "GET",
        "/v1/payment_intents/pi_3PaymentsDeclined",
        fixture("payment_intent_declined.json"),
    )
    .await;
    assert_eq!(req, get("/v1/payment_intents/pi_3PaymentsDeclined", ""));
    assert_eq!(out["status"], "requires_payment_method");
    assert_eq!(
        out["latest_charge"], "ch_3PaymentsDeclined",
        "expanded charge decoded to its id"
    );
    assert_eq!(
        out["last_payment_error"],
        json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}),
        "the compact error keeps Stripe's type (card_error, not an api_error to retry)"
    );
    assert_eq!(out["amount_received"]["display"], "$0.00");
    assert!(!out.to_string().contains("DONOTLEAK"));
}

#[tokio::test]
async fn list_payment_intents_filters_by_customer() {
    let (out, req) = call(
        "list_payment_intents",
        json!({"customer": "cus_Oaxlz8kB0PJWGa", "limit": 2}),
        "GET",
        "/v1/payment_intents",
        fixture("payment_intent_list.json"),
    )
    .await;
    assert_eq!(
        req,
        get("/v1/payment_intents", "customer=cus_Oaxlz8kB0PJWGa&limit=2")
    );
    let pis = out["payment_intents"].as_array().unwrap();
    assert_eq!(pis.len(), 2);
    assert_eq!(pis[0]["status"], "succeeded");
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_starting_after"], "pi_3PaymentsDeclined");
    assert!(!out.to_string().contains("DONOTLEAK"));
}

#[tokio::test]
async fn cancel_payment_intent_sends_the_reason() {
    let (out, req) = call(
        "cancel_payment_intent",
        json!({"payment_intent": "pi_3PaymentsCanceled", "cancellation_reason": "abandoned", "idempotency_key": "cancel-1"}),
        "POST",
        "/v1/payment_intents/pi_3PaymentsCanceled/cancel",
        fixture("payment_intent_canceled.json"),
    )
    .await;
    assert_eq!(
        req,
        post(
            "/v1/payment_intents/pi_3PaymentsCanceled/cancel",
            "cancellation_reason=abandoned"
        )
    );
    assert_eq!(out["status"], "canceled");
    assert_eq!(out["cancellation_reason"], "abandoned");
    assert_eq!(out["idempotency_key"], "cancel-1");
}

#[tokio::test]
async fn list_charges_filters_and_decodes_expanded_customers() {
    let (out, req) = call(
        "list_charges",
        json!({"customer": "cus_Oaxlz8kB0PJWGa", "payment_intent": "pi_3PaymentsFixture", "starting_after": "ch_0"}),
        "GET",
        "/v1/charges",
        fixture("charge_list.json"),
    )
    .await;
    assert_eq!(
        req,
        get(
            "/v1/charges",
            "customer=cus_Oaxlz8kB0PJWGa&payment_intent=pi_3PaymentsFixture&limit=10&starting_after=ch_0"
        )
    );
    let charges = out["charges"].as_array().unwrap();
    assert_eq!(charges.len(), 2);
    assert_eq!(charges[1]["customer"], "cus_Oaxlz8kB0PJWGa");
    assert_eq!(charges[1]["failure_code"], "card_declined");
    assert_eq!(charges[1]["outcome_type"], "issuer_declined");
    assert_eq!(out["has_more"], false);
    assert_eq!(out["next_starting_after"], Value::Null);
}

#[tokio::test]
async fn get_charge_shows_amounts_outcome_and_receipt() {
    let (out, req) = call(
        "get_charge",
        json!({"charge": "ch_3PaymentsFixture"}),
        "GET",
        "/v1/charges/ch_3PaymentsFixture",
        fixture("charge.json"),
    )
    .await;
    assert_eq!(req, get("/v1/charges/ch_3PaymentsFixture", ""));
    assert_eq!(out["amount"]["display"], "$20.00");
    assert_eq!(
        out["amount_refunded"],
        json!({"amount": 500, "currency": "usd", "display": "$5.00"})
    );
    assert_eq!(out["status"], "succeeded");
    assert_eq!(out["paid"], true);
    assert_eq!(out["refunded"], false);
    assert_eq!(out["payment_intent"], "pi_3PaymentsFixture");
    assert_eq!(out["outcome_type"], "authorized");
    assert_eq!(out["seller_message"], "Payment complete.");
    assert_eq!(
        out["receipt_url"],
        "https://pay.stripe.com/receipts/payment/fixture"
    );
}

#[tokio::test]
async fn get_refund_and_list_refunds_name_the_charge_and_payment_intent() {
    let (out, req) = call(
        "get_refund",
        json!({"refund": "re_3PaymentsFixture"}),
        "GET",
        "/v1/refunds/re_3PaymentsFixture",
        fixture("refund_get.json"),
    )
    .await;
    assert_eq!(req, get("/v1/refunds/re_3PaymentsFixture", ""));
    assert_eq!(out["amount"]["display"], "$5.00");
    assert_eq!(out["charge"], "ch_3PaymentsFixture");
    assert_eq!(out["payment_intent"], "pi_3PaymentsFixture");
    assert_eq!(out["reason"], "requested_by_customer");

    let (out, req) = call(
        "list_refunds",
        json!({"payment_intent": "pi_3PaymentsFixture", "limit": 5}),
        "GET",
        "/v1/refunds",
        fixture("refund_list.json"),
    )
    .await;
    assert_eq!(
        req,
        get("/v1/refunds", "payment_intent=pi_3PaymentsFixture&limit=5")
    );
    let refunds = out["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 2);
    assert_eq!(
        refunds[0]["charge"], "ch_3PaymentsFixture",
        "expanded charge decoded"
    );
    assert_eq!(out["has_more"], false);
}

#[tokio::test]
async fn list_balance_transactions_shows_amount_fee_and_net_as_money() {
    let (out, req) = call(
        "list_balance_transactions",
        json!({"type": "charge", "payout": "po_1", "source": "ch_1", "limit": 2}),
        "GET",
        "/v1/balance_transactions",
        fixture("balance_transaction_list.json"),
    )
    .await;
    assert_eq!(
        req,
        get(
            "/v1/balance_transactions",
            "type=charge&payout=po_1&source=ch_1&limit=2"
        )
    );
    let txns = out["balance_transactions"].as_array().unwrap();
    assert_eq!(txns[0]["amount"]["display"], "$20.00");
    assert_eq!(
        txns[0]["fee"],
        json!({"amount": 88, "currency": "usd", "display": "$0.88"})
    );
    assert_eq!(txns[0]["net"]["amount"], 1912);
    assert_eq!(txns[0]["type"], "charge");
    assert_eq!(txns[0]["status"], "available");
    assert_eq!(txns[0]["available_on"], 1700172800);
    assert_eq!(txns[0]["source"], "ch_3PaymentsFixture");
    assert_eq!(
        txns[1]["source"], "po_3PaymentsFixture",
        "expanded source decoded"
    );
    assert_eq!(txns[1]["net"]["amount"], -10000);
    assert_eq!(out["next_starting_after"], "txn_3PaymentsPayout");
}

#[tokio::test]
async fn list_payouts_and_get_payout_show_status_arrival_and_failure() {
    let (out, req) = call(
        "list_payouts",
        json!({"status": "failed"}),
        "GET",
        "/v1/payouts",
        fixture("payout_list.json"),
    )
    .await;
    assert_eq!(req, get("/v1/payouts", "status=failed&limit=10"));
    let payouts = out["payouts"].as_array().unwrap();
    assert_eq!(payouts[1]["failure_code"], "account_closed");
    assert_eq!(payouts[1]["destination"], "ba_3PaymentsFixture");

    let (out, req) = call(
        "get_payout",
        json!({"payout": "po_3PaymentsFixture"}),
        "GET",
        "/v1/payouts/po_3PaymentsFixture",
        fixture("payout.json"),
    )
    .await;
    assert_eq!(req, get("/v1/payouts/po_3PaymentsFixture", ""));
    assert_eq!(
        out["amount"],
        json!({"amount": 10000, "currency": "usd", "display": "$100.00"})
    );
    assert_eq!(out["status"], "in_transit");
    assert_eq!(out["arrival_date"], 1700200000);
    assert_eq!(out["method"], "standard");
    assert_eq!(out["destination"], "ba_3PaymentsFixture");
    assert!(out.get("failure_code").is_none());
}

#[tokio::test]
async fn get_account_info_reports_the_account_and_the_keys_mode() {
    let (out, req) = call(
        "get_account_info",
        json!({}),
        "GET",
        "/v1/account",
        fixture("account.json"),
    )
    .await;
    assert_eq!(req, get("/v1/account", ""));
    assert_eq!(
        out,
        json!({"id": "acct_1PaymentsFixture", "business_name": "Rocket Rides", "country": "US",
               "default_currency": "usd", "charges_enabled": true, "payouts_enabled": true, "mode": "test"})
    );
}

#[tokio::test]
async fn bad_input_to_every_payments_tool_is_refused_before_anything_is_sent() {
    // The catch-all fails the test if any of these reach "Stripe".
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let cases = [
        (
            "get_checkout_session",
            json!({"session": "pi_1"}),
            "wrong prefix",
        ),
        (
            "list_checkout_sessions",
            json!({"status": "paid"}),
            "unknown variant",
        ),
        ("list_checkout_sessions", json!({"limit": 1001}), "limit"),
        (
            "expire_checkout_session",
            json!({"session": "cs_1/../x"}),
            "not a Stripe id",
        ),
        ("get_customer", json!({"customer": "ch_1"}), "wrong prefix"),
        ("create_customer", json!({"email": "not-an-email"}), "email"),
        ("create_customer", json!({"nickname": "J"}), "unknown field"),
        (
            "update_customer",
            json!({"customer": "cus_1"}),
            "nothing to change",
        ),
        (
            "create_payment_intent",
            json!({"amount": 20.0, "currency": "usd"}),
            "integer",
        ),
        (
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "confirm": true}),
            "payment_method",
        ),
        (
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "return_url": "https://shop.example/r"}),
            "confirm",
        ),
        (
            "confirm_payment_intent",
            json!({"payment_intent": "ch_1"}),
            "wrong prefix",
        ),
        (
            "confirm_payment_intent",
            json!({"payment_intent": "pi_1", "return_url": "/back"}),
            "absolute",
        ),
        (
            "get_payment_intent",
            json!({"payment_intent": "cus_1"}),
            "wrong prefix",
        ),
        (
            "list_payment_intents",
            json!({"customer": "pi_1"}),
            "wrong prefix",
        ),
        (
            "cancel_payment_intent",
            json!({"payment_intent": "pi_1", "cancellation_reason": "changed_mind"}),
            "unknown variant",
        ),
        (
            "list_charges",
            json!({"payment_intent": "ch_1"}),
            "wrong prefix",
        ),
        ("get_charge", json!({"charge": "pi_1"}), "wrong prefix"),
        ("get_refund", json!({"refund": "ch_1"}), "wrong prefix"),
        (
            "list_refunds",
            json!({"charge": "ch_1", "payment_intent": "pi_1"}),
            "not both",
        ),
        (
            "list_balance_transactions",
            json!({"type": "fees"}),
            "unknown variant",
        ),
        (
            "list_balance_transactions",
            json!({"payout": "ch_1"}),
            "wrong prefix",
        ),
        ("list_payouts", json!({"status": "sent"}), "unknown variant"),
        ("get_payout", json!({"payout": "tr_1"}), "wrong prefix"),
        ("get_account_info", json!({"account": "acct_1"}), ""),
    ];
    for (tool, args, want) in cases {
        let e = err(&server.call(tool, args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{tool} {args}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(want),
            "{tool} {args}: {e}"
        );
    }
    server.stop().await;
}
