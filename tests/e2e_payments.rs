//! The payments tools end to end: the real binary over stdio against
//! localstripe (`LOCALSTRIPE_URL`; unset, each test says it skipped).
//!
//! Tests run in parallel against one localstripe, so each works on objects it
//! created itself. localstripe rejects parameters it does not model
//! (`automatic_payment_methods`, `receipt_email`, list filters on payment
//! intents, payouts and balance transactions) and has no `/v1/account` or
//! checkout sessions: those are covered against the mock in `tools_payments.rs`.

mod common;

use common::{Spawn, err, ok};
use serde_json::{Value, json};

fn ids<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn create_get_and_update_customer_round_trip() {
    let Some(base) = common::localstripe("customers e2e") else {
        return;
    };
    let server = Spawn::new(&base).start().await;
    let email = common::unique_email("ada");
    let created = ok(&server
        .call(
            "create_customer",
            json!({"email": email, "name": "Ada Lovelace", "description": "first", "metadata": {"crm": "7"},
                   "idempotency_key": format!("cust-{email}")}),
        )
        .await);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cus_"));
    assert_eq!(created["email"], json!(email));
    assert_eq!(created["idempotency_key"], json!(format!("cust-{email}")));

    let got = ok(&server.call("get_customer", json!({"customer": id})).await);
    assert_eq!(got["name"], "Ada Lovelace");
    assert_eq!(got["description"], "first");
    assert_eq!(got["metadata"], json!({"crm": "7"}));
    assert_eq!(got["deleted"], false);

    let updated = ok(&server
        .call(
            "update_customer",
            json!({"customer": id, "name": "Ada King", "phone": "+15555550100", "metadata": {"tier": "gold"}}),
        )
        .await);
    assert_eq!(updated["name"], "Ada King");
    assert_eq!(updated["phone"], "+15555550100");
    assert_eq!(updated["email"], json!(email), "untouched fields stay");
    let got = ok(&server.call("get_customer", json!({"customer": id})).await);
    assert_eq!(got["name"], "Ada King");
    assert_eq!(got["metadata"], json!({"crm": "7", "tier": "gold"}));

    let e = err(&server
        .call("get_customer", json!({"customer": "cus_doesnotexist"}))
        .await);
    assert_eq!(e["kind"], "not_found");
    server.stop().await;
}

#[tokio::test]
async fn a_payment_is_created_confirmed_listed_charged_refunded_and_booked() {
    let Some(base) = common::localstripe("payment intents e2e") else {
        return;
    };
    let server = Spawn::new(&base).start().await;
    let customer = ok(&server
        .call(
            "create_customer",
            json!({"email": common::unique_email("payer")}),
        )
        .await);
    let cus = customer["id"].as_str().unwrap().to_owned();

    // Create without confirming (localstripe models payment_method_types, not automatic payment methods).
    let pi = ok(&server
        .call(
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "customer": cus, "payment_method": "pm_card_visa",
                   "payment_method_types": ["card"], "metadata": {"order": "e2e"}}),
        )
        .await);
    let pi_id = pi["id"].as_str().unwrap().to_owned();
    assert_eq!(pi["status"], "requires_confirmation");
    assert_eq!(
        pi["amount"],
        json!({"amount": 2000, "currency": "usd", "display": "$20.00"})
    );
    assert_eq!(pi["amount_received"]["amount"], 0);
    assert!(!pi.to_string().contains("secret"), "{pi}");

    let confirmed = ok(&server
        .call("confirm_payment_intent", json!({"payment_intent": pi_id}))
        .await);
    assert_eq!(confirmed["status"], "succeeded");
    let charge = confirmed["latest_charge"].as_str().unwrap().to_owned();
    assert!(
        charge.starts_with("ch_"),
        "expanded latest_charge decoded: {confirmed}"
    );
    assert!(confirmed.get("action_required").is_none());

    let got = ok(&server
        .call("get_payment_intent", json!({"payment_intent": pi_id}))
        .await);
    assert_eq!(got["status"], "succeeded");
    assert_eq!(got["customer"], json!(cus));
    assert_eq!(got["latest_charge"], json!(charge));
    assert_eq!(got["metadata"], json!({"order": "e2e"}));

    let listed = ok(&server
        .call("list_payment_intents", json!({"limit": 1000}))
        .await);
    assert!(
        ids(&listed, "payment_intents").contains(&pi_id.as_str()),
        "{pi_id} not listed"
    );

    // Charges: by customer, and one by id.
    let charges = ok(&server.call("list_charges", json!({"customer": cus})).await);
    assert_eq!(ids(&charges, "charges"), vec![charge.as_str()]);
    let ch = ok(&server.call("get_charge", json!({"charge": charge})).await);
    assert_eq!(ch["status"], "succeeded");
    assert_eq!(ch["paid"], true);
    assert_eq!(ch["amount"]["amount"], 2000);
    assert_eq!(ch["payment_intent"], json!(pi_id));
    assert_eq!(ch["customer"], json!(cus));

    // Refunds made elsewhere show up by payment intent, by charge and by id.
    let refund = common::localstripe_post(
        &base,
        "/v1/refunds",
        &[("payment_intent", &pi_id), ("amount", "500")],
    )
    .await;
    let re_id = refund["id"].as_str().unwrap().to_owned();
    let by_pi = ok(&server
        .call("list_refunds", json!({"payment_intent": pi_id}))
        .await);
    assert_eq!(ids(&by_pi, "refunds"), vec![re_id.as_str()]);
    let by_charge = ok(&server.call("list_refunds", json!({"charge": charge})).await);
    assert_eq!(ids(&by_charge, "refunds"), vec![re_id.as_str()]);
    let re = ok(&server.call("get_refund", json!({"refund": re_id})).await);
    assert_eq!(re["amount"]["display"], "$5.00");
    assert_eq!(re["charge"], json!(charge));
    assert_eq!(re["status"], "succeeded");
    let ch = ok(&server.call("get_charge", json!({"charge": charge})).await);
    assert_eq!(ch["amount_refunded"]["amount"], 500);
    assert_eq!(ch["refunded"], false);

    // The charge and the refund are in the balance history, with fee and net.
    let txns = ok(&server
        .call("list_balance_transactions", json!({"limit": 1000}))
        .await);
    let all = txns["balance_transactions"].as_array().unwrap();
    let of = |source: &str| {
        all.iter()
            .find(|t| t["source"] == json!(source))
            .unwrap_or_else(|| panic!("no balance transaction for {source}"))
            .clone()
    };
    let t = of(&charge);
    assert_eq!(t["type"], "charge");
    assert_eq!(t["amount"]["amount"], 2000);
    assert_eq!(
        t["net"]["amount"],
        2000 - t["fee"]["amount"].as_i64().unwrap()
    );
    assert!(t["net"]["display"].is_string());
    let t = of(&re_id);
    assert_eq!(t["type"], "refund");
    assert_eq!(t["amount"]["amount"], -500);
    server.stop().await;
}

#[tokio::test]
async fn a_declined_card_is_a_402_card_declined_error() {
    let Some(base) = common::localstripe("decline e2e") else {
        return;
    };
    let server = Spawn::new(&base).start().await;
    let e = err(&server
        .call(
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "payment_method": "pm_card_chargeCustomerFail",
                   "payment_method_types": ["card"], "confirm": true, "idempotency_key": format!("dec-{}", uuid::Uuid::new_v4())}),
        )
        .await);
    assert_eq!(e["kind"], "card_declined");
    assert_eq!(e["http_status"], 402);
    assert_eq!(e["retryable"], false);
    assert!(e["idempotency_key"].as_str().unwrap().starts_with("dec-"));
    assert!(e["hint"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn an_unconfirmed_payment_intent_can_be_canceled() {
    let Some(base) = common::localstripe("cancel e2e") else {
        return;
    };
    let server = Spawn::new(&base).start().await;
    let pi = ok(&server
        .call(
            "create_payment_intent",
            json!({"amount": 700, "currency": "eur", "payment_method_types": ["card"]}),
        )
        .await);
    assert_eq!(pi["status"], "requires_payment_method");
    let pi_id = pi["id"].as_str().unwrap();
    // localstripe refuses cancellation_reason: cancel without one.
    let canceled = ok(&server
        .call("cancel_payment_intent", json!({"payment_intent": pi_id}))
        .await);
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["idempotency_key"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn payouts_created_in_stripe_are_listed_and_fetched() {
    let Some(base) = common::localstripe("payouts e2e") else {
        return;
    };
    let po = common::localstripe_post(
        &base,
        "/v1/payouts",
        &[
            ("amount", "1234"),
            ("currency", "eur"),
            ("status", "failed"),
        ],
    )
    .await;
    let po_id = po["id"].as_str().unwrap().to_owned();
    let server = Spawn::new(&base).start().await;
    let listed = ok(&server.call("list_payouts", json!({"limit": 1000})).await);
    assert!(ids(&listed, "payouts").contains(&po_id.as_str()));
    assert!(listed["has_more"].is_boolean());
    let got = ok(&server.call("get_payout", json!({"payout": po_id})).await);
    assert_eq!(
        got["amount"],
        json!({"amount": 1234, "currency": "eur", "display": "€12.34"})
    );
    assert_eq!(got["status"], "failed");
    assert_eq!(got["failure_code"], "could_not_process");
    assert!(got["destination"].as_str().unwrap().starts_with("ba_"));
    assert!(got["arrival_date"].as_i64().unwrap() > 0);
    assert_eq!(got["method"], "standard");
    server.stop().await;
}
