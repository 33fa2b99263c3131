//! The billing tools end to end against localstripe, for what it serves:
//! products, coupons, invoice items and invoices, and subscriptions (which
//! localstripe bills from legacy plans, so the subscription is created directly
//! and read, updated and canceled through the tools). Prices, payment links and
//! invoice finalization answer 404 there and are tested against the mock only.
//!
//! `LOCALSTRIPE_URL` names the running localstripe; without it these tests skip.
//! Tests share one localstripe, so each works on objects it created itself.

mod common;

use common::{Spawn, err, ok};
use serde_json::{Value, json};

async fn new_customer(base: &str) -> String {
    let email = format!("{}@example.com", common::unique("billing"));
    common::localstripe_post(base, "/v1/customers", &[("email", &email)]).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_product_created_by_the_tool_is_in_stripe_and_listed_as_active() {
    let Some(base) = common::localstripe("create_product e2e") else {
        return;
    };
    let name = common::unique("Mug");
    let server = Spawn::new(&base).start().await;
    let out = ok(&server
        .call(
            "create_product",
            json!({"name": name, "description": "Blue mug", "metadata": {"sku": "m-1"}}),
        )
        .await);
    let id = out["product"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("prod_"), "{out}");
    let stored = common::localstripe_get(&base, &format!("/v1/products/{id}")).await;
    assert_eq!(stored["name"], json!(name));
    assert_eq!(stored["description"], json!("Blue mug"));
    assert_eq!(stored["metadata"]["sku"], json!("m-1"));

    let active = ok(&server
        .call("list_products", json!({"active": true, "limit": 1000}))
        .await);
    assert!(ids(&active["products"]).contains(&id), "{active}");
    let archived = ok(&server
        .call("list_products", json!({"active": false, "limit": 1000}))
        .await);
    assert!(!ids(&archived["products"]).contains(&id));
    server.stop().await;
}

#[tokio::test]
async fn coupons_created_by_the_tool_are_listed_with_their_discount() {
    let Some(base) = common::localstripe("create_coupon e2e") else {
        return;
    };
    let pct = common::unique("PCT");
    let amt = common::unique("AMT");
    let server = Spawn::new(&base).start().await;
    let out = ok(&server
        .call(
            "create_coupon",
            json!({"id": pct, "percent_off": 12.5, "duration": "repeating", "duration_in_months": 3}),
        )
        .await);
    assert_eq!(out["coupon"]["id"], json!(pct));
    assert_eq!(out["coupon"]["percent_off"], json!(12.5));
    assert_eq!(out["coupon"]["duration"], json!("repeating"));
    assert_eq!(out["coupon"]["duration_in_months"], json!(3));
    assert_eq!(out["coupon"]["valid"], json!(true));
    let out = ok(&server
        .call(
            "create_coupon",
            json!({"id": amt, "amount_off": 500, "currency": "usd", "duration": "once"}),
        )
        .await);
    assert_eq!(
        out["coupon"]["amount_off"],
        json!({"amount": 500, "currency": "usd", "display": "$5.00"})
    );

    let listed = ok(&server.call("list_coupons", json!({"limit": 1000})).await);
    let coupons = listed["coupons"].as_array().unwrap();
    let find = |id: &str| coupons.iter().find(|c| c["id"] == json!(id)).cloned();
    assert_eq!(find(&pct).expect("listed")["percent_off"], json!(12.5));
    assert_eq!(
        find(&amt).expect("listed")["amount_off"]["display"],
        json!("$5.00")
    );

    // A refusal sends nothing: the coupon does not exist afterwards.
    let bad = common::unique("BAD");
    let e = err(&server
        .call(
            "create_coupon",
            json!({"id": bad, "percent_off": 150, "duration": "once"}),
        )
        .await);
    assert_eq!(e["kind"], json!("invalid_argument"));
    let listed = ok(&server.call("list_coupons", json!({"limit": 1000})).await);
    assert!(!ids(&listed["coupons"]).contains(&bad));
    server.stop().await;
}

#[tokio::test]
async fn an_invoice_item_lands_on_the_customers_new_invoice_and_the_invoice_is_listed() {
    let Some(base) = common::localstripe("invoices e2e") else {
        return;
    };
    // localstripe only invoices customers with a subscription (its next period is billed too).
    let (customer, _, _, _) = subscribed_customer(&base, 1).await;
    let server = Spawn::new(&base).start().await;
    let item = ok(&server
        .call(
            "create_invoice_item",
            json!({"customer": customer, "amount": 1250, "currency": "usd", "description": "Setup fee"}),
        )
        .await);
    assert!(item["id"].as_str().unwrap().starts_with("ii_"));
    assert_eq!(item["customer"], json!(customer));
    assert_eq!(item["amount"]["display"], json!("$12.50"));
    assert_eq!(item["invoice"], Value::Null, "pending until invoiced");

    // localstripe knows none of the other optional invoice settings, so only these are sent.
    let out = ok(&server
        .call(
            "create_invoice",
            json!({"customer": customer, "description": "March", "metadata": {"job": "j-1"},
                   "pending_invoice_items_behavior": "include"}),
        )
        .await);
    let inv = &out["invoice"];
    let id = inv["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("in_"));
    assert_eq!(inv["customer"], json!(customer));
    assert_eq!(
        inv["amount_due"],
        json!({"amount": 1500 + 1250, "currency": "usd", "display": "$27.50"})
    );
    assert_eq!(inv["amount_paid"]["amount"], json!(0));
    let stored = common::localstripe_get(&base, &format!("/v1/invoices/{id}")).await;
    assert_eq!(inv["amount_due"]["amount"], stored["amount_due"]);
    assert_eq!(inv["status"], stored["status"]);
    assert_eq!(stored["description"], json!("March"));

    let listed = ok(&server
        .call("list_invoices", json!({"customer": customer}))
        .await);
    assert_eq!(ids(&listed["invoices"]), vec![id]);
    // (localstripe has no status filter on invoices: that one is tested against the mock.)
    server.stop().await;
}

/// A new customer on a new monthly $15.00 plan (trial, so nothing is charged):
/// (customer, product, plan, subscription object).
async fn subscribed_customer(base: &str, quantity: u32) -> (String, String, String, Value) {
    let customer = new_customer(base).await;
    let product = common::localstripe_post(
        base,
        "/v1/products",
        &[("name", &common::unique("Pro"))],
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plan = format!("plan_{}", uuid::Uuid::new_v4().simple());
    common::localstripe_post(
        base,
        "/v1/plans",
        &[
            ("id", &plan),
            ("product", &product),
            ("amount", "1500"),
            ("currency", "usd"),
            ("interval", "month"),
        ],
    )
    .await;
    // localstripe bills plans, not prices, so the subscription is made directly.
    let sub = common::localstripe_post(
        base,
        "/v1/subscriptions",
        &[
            ("customer", &customer),
            ("items[0][plan]", &plan),
            ("items[0][quantity]", &quantity.to_string()),
            ("trial_period_days", "7"),
        ],
    )
    .await;
    (customer, product, plan, sub)
}

#[tokio::test]
async fn a_subscription_is_read_listed_scheduled_to_end_and_canceled_through_the_tools() {
    let Some(base) = common::localstripe("subscriptions e2e") else {
        return;
    };
    let (customer, product, plan_id, sub) = subscribed_customer(&base, 2).await;
    let id = sub["id"].as_str().unwrap().to_owned();
    let server = Spawn::new(&base).start().await;

    let got = ok(&server
        .call("get_subscription", json!({"subscription": id}))
        .await);
    assert_eq!(got["customer"], json!(customer));
    assert_eq!(got["status"], sub["status"]);
    assert_eq!(got["current_period_start"], sub["current_period_start"]);
    assert_eq!(got["current_period_end"], sub["current_period_end"]);
    assert_eq!(got["cancel_at_period_end"], json!(false));
    let item = &got["items"][0];
    assert_eq!(item["price"], json!(plan_id));
    assert_eq!(item["product"], json!(product));
    assert_eq!(
        item["unit_amount"],
        json!({"amount": 1500, "currency": "usd", "display": "$15.00"})
    );
    assert_eq!(item["interval"], json!("month"));
    assert_eq!(item["quantity"], json!(2));

    let listed = ok(&server
        .call("list_subscriptions", json!({"customer": customer}))
        .await);
    assert_eq!(ids(&listed["subscriptions"]), vec![id.clone()]);

    let later = ok(&server
        .call(
            "cancel_subscription",
            json!({"subscription": id, "at_period_end": true}),
        )
        .await);
    assert_eq!(later["canceled"], json!("at_period_end"));
    assert_eq!(later["subscription"]["cancel_at_period_end"], json!(true));
    assert_ne!(later["subscription"]["status"], json!("canceled"));

    let undo = ok(&server
        .call(
            "update_subscription",
            json!({"subscription": id, "cancel_at_period_end": false}),
        )
        .await);
    assert_eq!(undo["subscription"]["cancel_at_period_end"], json!(false));

    let now = ok(&server
        .call("cancel_subscription", json!({"subscription": id}))
        .await);
    assert_eq!(now["canceled"], json!("immediately"));
    assert_eq!(now["subscription"]["status"], json!("canceled"));
    let stored = common::localstripe_get(&base, &format!("/v1/subscriptions/{id}")).await;
    assert_eq!(stored["status"], json!("canceled"));

    // Canceled subscriptions are left out by default and found with status "all".
    let default = ok(&server
        .call("list_subscriptions", json!({"customer": customer}))
        .await);
    assert!(ids(&default["subscriptions"]).is_empty(), "{default}");
    let all = ok(&server
        .call(
            "list_subscriptions",
            json!({"customer": customer, "status": "all"}),
        )
        .await);
    assert_eq!(ids(&all["subscriptions"]), vec![id]);

    let e = err(&server
        .call(
            "get_subscription",
            json!({"subscription": "sub_doesnotexist"}),
        )
        .await);
    assert_eq!(e["kind"], json!("not_found"));
    server.stop().await;
}
