//! What a remote caller may read and act on: orders only of the accounts it may act on
//! (tokens), nothing until Stripe has accepted its key (stripe-key), no connected account
//! outside its tenants-file entry (`--connect`), and a flood of new keys does not evict the
//! callers in use.

mod common;
mod http_common;

use std::path::{Path, PathBuf};

use http_common::{ACCEPT, Generation, call, connect, initialize_body, start};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stripe_mcp::store::{DbTarget, Event, Store};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const KEY_A: &str = "sk_test_SCOPEAKEY0123456789";
const KEY_B: &str = "rk_test_SCOPEBKEY0123456789";
const TOKEN_A: &str = "smcp_scope_a_token_for_tests_only_00000000000000000000000000000000";
const TOKEN_B: &str = "smcp_scope_b_token_for_tests_only_00000000000000000000000000000000";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stripe-mcp-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn paid(event: &str, session: &str, email: &str, account: Option<&str>) -> Event {
    let mut e: Value = json!({
        "id": event, "type": "checkout.session.completed", "created": 1_700_000_000,
        "livemode": false,
        "data": {"object": {
            "id": session, "object": "checkout.session", "payment_status": "paid",
            "amount_total": 4999, "currency": "usd",
            "customer_details": {"email": email}, "metadata": {}
        }}
    });
    if let Some(a) = account {
        e["account"] = json!(a);
    }
    serde_json::from_value(e).unwrap()
}

/// A ledger with one paid order of shop A (`acct_SHOPA`) and one of shop B (`acct_SHOPB`).
async fn two_shops_ledger(dir: &Path) -> PathBuf {
    let db = dir.join("orders.db");
    let store = Store::open(&DbTarget::Sqlite(db.clone())).await.unwrap();
    store
        .record(
            paid(
                "evt_a",
                "cs_test_shopa",
                "anna@a.example",
                Some("acct_SHOPA"),
            ),
            100,
            false,
        )
        .await
        .unwrap();
    store
        .record(
            paid(
                "evt_b",
                "cs_test_shopb",
                "bert@b.example",
                Some("acct_SHOPB"),
            ),
            101,
            false,
        )
        .await
        .unwrap();
    db
}

async fn key_refused(stripe: &MockServer, key: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "type": "invalid_request_error", "message": "Invalid API Key provided"}})))
        .mount(stripe)
        .await;
}

fn session_ids(listed: &Value) -> Vec<String> {
    listed["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["session_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn account_lookups(stripe: &MockServer, key: &str) -> usize {
    let bearer = format!("Bearer {key}");
    stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.url.path() == "/v1/account" && r.headers["authorization"].to_str().unwrap() == bearer
        })
        .count()
}

/// Tenant `a`: its key's own account (Stripe names it `acct_SHOPA`). Tenant `b`: pinned
/// to `acct_SHOPB`, may also act on `acct_SHOPD`.
fn tenants_file(dir: &Path) -> PathBuf {
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            r#"[[tenant]]
name = "a"
token_sha256 = "{}"
stripe_key_env = "SHOP_A_KEY"

[[tenant]]
name = "b"
token_sha256 = "{}"
stripe_key_env = "SHOP_B_KEY"
stripe_account = "acct_SHOPB"
connect_accounts = ["acct_SHOPD"]
"#,
            sha(TOKEN_A),
            sha(TOKEN_B)
        ),
    )
    .unwrap();
    file
}

#[tokio::test]
async fn each_tenant_on_one_db_reads_only_the_orders_of_its_own_account() {
    let dir = temp_dir("scope-tokens");
    let db = two_shops_ledger(&dir).await;
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    common::account_for(&stripe, KEY_A, "acct_SHOPA").await;
    // b's Stripe cannot find shop A's session: the ledger must not answer for it either.
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_shopa"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing",
            "message": "No such checkout.session: 'cs_test_shopa'"}})))
        .mount(&stripe)
        .await;
    let server = start(
        &stripe.uri(),
        &[
            "--auth",
            "tokens",
            "--tenants",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &[("SHOP_A_KEY", KEY_A), ("SHOP_B_KEY", KEY_B)],
    )
    .await;
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Stateless20260728).await;

    let listed_a = common::ok(&call(&a, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed_a), ["cs_test_shopa"]);
    let listed_b = common::ok(&call(&b, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed_b), ["cs_test_shopb"]);
    assert!(!listed_b.to_string().contains("anna@a.example"));

    let other = call(
        &b,
        "get_order_status",
        json!({"session_id": "cs_test_shopa"}),
    )
    .await;
    let text = serde_json::to_string(&other).unwrap();
    assert!(
        !text.contains("anna@a.example") && !text.contains("evt_a"),
        "b read shop A's ledger row: {text}"
    );
    // a's key was proven once for both reads.
    assert_eq!(account_lookups(&stripe, KEY_A).await, 1);
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
async fn a_tenant_acts_only_on_the_connected_accounts_its_entry_lists() {
    let dir = temp_dir("scope-connect");
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    for account in ["acct_SHOPB", "acct_SHOPD"] {
        Mock::given(method("GET"))
            .and(path("/v1/balance"))
            .and(header("stripe-account", account))
            .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
            .mount(&stripe)
            .await;
    }
    let server = start(
        &stripe.uri(),
        &[
            "--auth",
            "tokens",
            "--tenants",
            file.to_str().unwrap(),
            "--connect",
            "--confirm",
            "never",
        ],
        &[("SHOP_A_KEY", KEY_A), ("SHOP_B_KEY", KEY_B)],
    )
    .await;
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Sessions20251125).await;
    // Its pinned account and the one its entry lists are allowed.
    common::ok(&call(&b, "get_balance", json!({"stripe_account": "acct_SHOPB"})).await);
    common::ok(&call(&b, "get_balance", json!({"stripe_account": "acct_SHOPD"})).await);
    // Another account is refused before anything is sent.
    let refused = common::err(
        &call(
            &b,
            "create_refund",
            json!({"payment_intent": "pi_1", "stripe_account": "acct_OTHER"}),
        )
        .await,
    );
    assert_eq!(refused["kind"], "permission", "{refused}");
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let refused =
        common::err(&call(&a, "get_balance", json!({"stripe_account": "acct_SHOPB"})).await);
    assert_eq!(refused["kind"], "permission", "{refused}");
    for r in stripe.received_requests().await.unwrap() {
        let account = r
            .headers
            .get("stripe-account")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(
            matches!(account.as_deref(), Some("acct_SHOPB" | "acct_SHOPD")),
            "sent {} {} with Stripe-Account {account:?}",
            r.method,
            r.url.path()
        );
        assert_ne!(r.url.path(), "/v1/refunds");
    }
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

#[tokio::test]
async fn a_stripe_key_reads_nothing_until_stripe_accepts_it_and_then_only_its_account() {
    let dir = temp_dir("scope-key");
    let db = two_shops_ledger(&dir).await;
    let stripe = common::mock_stripe().await;
    key_refused(&stripe, "sk_test_x").await;
    common::account_for(&stripe, KEY_A, "acct_SHOPA").await;
    let server = start(
        &stripe.uri(),
        &["--auth", "stripe-key", "--db", db.to_str().unwrap()],
        &[],
    )
    .await;
    let fake = connect(
        &server.url(),
        Some("sk_test_x"),
        Generation::Sessions20251125,
    )
    .await;
    let listed = common::ok(&call(&fake, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed), Vec::<String>::new(), "{listed}");
    let audit = common::ok(&call(&fake, "list_audit_log", json!({})).await);
    assert_eq!(audit["count"], 0, "{audit}");
    let real = connect(&server.url(), Some(KEY_A), Generation::Sessions20251125).await;
    let listed = common::ok(&call(&real, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed), ["cs_test_shopa"]);
    fake.cancel().await.unwrap();
    real.cancel().await.unwrap();
}

#[tokio::test]
async fn a_flood_of_new_keys_does_not_evict_a_caller_in_use() {
    let dir = temp_dir("scope-flood");
    let db = two_shops_ledger(&dir).await;
    let stripe = common::mock_stripe().await;
    common::account_for(&stripe, KEY_A, "acct_SHOPA").await;
    let server = start(
        &stripe.uri(),
        &["--auth", "stripe-key", "--db", db.to_str().unwrap()],
        &[],
    )
    .await;
    let real = connect(&server.url(), Some(KEY_A), Generation::Sessions20251125).await;
    let listed = common::ok(&call(&real, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed), ["cs_test_shopa"]);
    let before = account_lookups(&stripe, KEY_A).await;
    assert!((1..=2).contains(&before), "{before}");

    let http = reqwest::Client::new();
    for i in 0..1_100 {
        let r = http
            .post(server.url())
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .bearer_auth(format!("sk_test_flood{i:06}"))
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    // The caller's client, and with it Stripe's word on its key, is still held.
    let listed = common::ok(&call(&real, "list_orders", json!({})).await);
    assert_eq!(session_ids(&listed), ["cs_test_shopa"]);
    assert_eq!(account_lookups(&stripe, KEY_A).await, before);
    real.cancel().await.unwrap();
}
