//! Spending limits and the audit trail, through the real binary over stdio with rmcp's
//! client, on every store backend available (SQLite always, PostgreSQL when
//! `STRIPE_MCP_TEST_PG` is set): 50 concurrent refunds against a cap that allows 10 send
//! exactly 10; the tally survives a restart; a definite failure gives its room back, an
//! unanswered write keeps it; the generic write counts too; every attempt is on record.

mod common;
mod http_common;
mod store_common;

use std::time::Duration;

use serde_json::{Value, json};
use stripe_mcp::store::DbTarget;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

/// The charge every refund names (tests/fixtures/charge.json: $20.00, $5.00 refunded).
const CHARGE: &str = "ch_3PaymentsFixture";

fn db_arg(target: &DbTarget) -> String {
    match target {
        DbTarget::Sqlite(p) => {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            p.display().to_string()
        }
        DbTarget::Postgres(u) => u.secret_url().to_owned(),
    }
}

/// The charge the limits look up (its currency, what is left to refund).
async fn mount_charge(stripe: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/v1/charges/{CHARGE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("charge.json")))
        .mount(stripe)
        .await;
}

/// A mock Stripe with the charge to look up and refunds that take `delay` to answer.
async fn stripe(delay: Duration) -> MockServer {
    let stripe = common::mock_stripe().await;
    mount_charge(&stripe).await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(delay)
                .set_body_json(common::fixture("refund.json")),
        )
        .mount(&stripe)
        .await;
    stripe
}

async fn refunds_sent(stripe: &MockServer) -> usize {
    stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/v1/refunds")
        .count()
}

async fn server(stripe: &MockServer, db: &str, extra: &[&str]) -> common::Server {
    let mut spawn = common::Spawn::new(Box::leak(stripe.uri().into_boxed_str()))
        .arg("--db")
        .arg(db);
    for a in extra {
        spawn = spawn.arg(*a);
    }
    spawn.start().await
}

/// `stripe-mcp audit --db DB --json`: the trail, one object per line.
fn audit_rows(db: &str) -> Vec<Value> {
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["audit", "--db", db, "--json", "--rows", "1000"])
        .output()
        .expect("run stripe-mcp audit");
    assert!(
        out.status.success(),
        "audit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn count(rows: &[Value], outcome: &str) -> usize {
    rows.iter().filter(|r| r["outcome"] == outcome).count()
}

#[tokio::test]
async fn fifty_concurrent_refunds_against_a_cap_of_ten_send_exactly_ten_and_the_tally_survives_a_restart()
 {
    for target in store_common::targets("limits50").await {
        let db = db_arg(&target);
        // Slow answers, so that the 50 calls overlap while their reservations are held.
        let stripe = stripe(Duration::from_millis(100)).await;
        let s = server(&stripe, &db, &["--limit", "refund:usd:-:1000"]).await;
        let client = std::sync::Arc::new(s);
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..50 {
            let client = client.clone();
            calls.spawn(async move {
                client
                    .call(
                        "create_refund",
                        json!({"charge": CHARGE, "amount": 100, "idempotency_key": format!("r-{i}")}),
                    )
                    .await
            });
        }
        let (mut ok, mut refused) = (0, 0);
        while let Some(r) = calls.join_next().await {
            let r = r.unwrap();
            if r.is_error == Some(true) {
                let e = common::err(&r);
                assert_eq!(e["kind"], "limit_exceeded", "{e}");
                assert_eq!(e["limit"]["limit"], "daily", "{e}");
                assert_eq!(e["limit"]["max"], 1000, "{e}");
                assert_eq!(e["retryable"], true, "room frees up after 24 hours: {e}");
                refused += 1;
            } else {
                ok += 1;
            }
        }
        assert_eq!((ok, refused), (10, 40), "{target:?}");
        assert_eq!(refunds_sent(&stripe).await, 10, "{target:?}");
        let Ok(s) = std::sync::Arc::try_unwrap(client) else {
            panic!("calls still hold the client")
        };
        let log = s.stop().await;
        assert!(!log.contains(common::TEST_KEY));

        // A new process on the same store: the day's tally is still spent.
        let s = server(&stripe, &db, &["--limit", "refund:usd:-:1000"]).await;
        let e = common::err(
            &s.call(
                "create_refund",
                json!({"charge": CHARGE, "amount": 100, "idempotency_key": "after-restart"}),
            )
            .await,
        );
        assert_eq!(e["kind"], "limit_exceeded", "{e}");
        assert_eq!(e["limit"]["used"], 1000, "{e}");
        s.stop().await;
        assert_eq!(refunds_sent(&stripe).await, 10);

        // Every attempt is on record: 10 sent and succeeded, 41 refused before sending.
        let rows = audit_rows(&db);
        assert_eq!(rows.len(), 51, "{target:?}");
        assert_eq!(count(&rows, "succeeded"), 10);
        assert_eq!(count(&rows, "refused"), 41);
        let sent = rows.iter().find(|r| r["outcome"] == "succeeded").unwrap();
        assert_eq!(sent["tool"], "create_refund");
        assert_eq!(sent["path"], "/v1/refunds");
        assert_eq!(sent["amount"], 100);
        assert_eq!(sent["currency"], "usd");
        assert_eq!(sent["limit_decision"], "within");
        assert!(sent["idempotency_key"].as_str().unwrap().starts_with("r-"));
        assert!(
            rows.iter()
                .all(|r| !r.to_string().contains(common::TEST_KEY))
        );
    }
}

#[tokio::test]
async fn a_per_call_cap_an_unlisted_currency_and_a_full_refund_are_held_before_sending() {
    let target = store_common::fresh_sqlite("percall");
    let db = db_arg(&target);
    let stripe = stripe(Duration::ZERO).await;
    let s = server(
        &stripe,
        &db,
        &["--limit", "refund:usd:1000:-", "--limit", "take:eur:5000:-"],
    )
    .await;
    let e = common::err(
        &s.call("create_refund", json!({"charge": CHARGE, "amount": 1200}))
            .await,
    );
    assert_eq!(e["kind"], "limit_exceeded", "{e}");
    assert_eq!(e["limit"]["limit"], "per_call");
    assert_eq!(e["retryable"], false);
    assert!(e["message"].as_str().unwrap().contains("$12.00"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("$10.00"), "{e}");
    assert!(
        e["hint"].as_str().unwrap().contains("Do not split"),
        "never suggest getting around the cap: {e}"
    );
    // A full refund is what remains of the charge ($15.00), looked up first: over the cap.
    let e = common::err(&s.call("create_refund", json!({"charge": CHARGE})).await);
    assert_eq!(e["limit"]["requested"], 1500, "{e}");
    // Take is capped in eur only: a usd payment is refused, not left unbounded.
    let e = common::err(
        &s.call(
            "create_payment_intent",
            json!({"amount": 100, "currency": "usd", "payment_method": "pm_card_visa", "confirm": true}),
        )
        .await,
    );
    assert_eq!(e["kind"], "limit_exceeded", "{e}");
    assert_eq!(e["limit"]["limit"], "currency");
    s.stop().await;
    let writes = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(writes, 0, "nothing over a limit reaches Stripe");
}

#[tokio::test]
async fn a_definite_failure_gives_its_room_back_and_an_unanswered_refund_keeps_it() {
    let target = store_common::fresh_sqlite("settle");
    let db = db_arg(&target);
    let stripe = common::mock_stripe().await;
    mount_charge(&stripe).await;
    // First refund: Stripe refuses it outright (nothing applied).
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "charge_already_refunded",
            "message": "Charge ch_3PaymentsFixture has already been refunded."}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    // Second: no answer within the client's timeout (it may have been applied).
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(common::fixture("refund.json")),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .with_priority(3)
        .mount(&stripe)
        .await;
    let s = server(
        &stripe,
        &db,
        &[
            "--limit",
            "refund:usd:-:1000",
            "--timeout",
            "1",
            "--max-retries",
            "0",
        ],
    )
    .await;
    let refund = |amount: i64, key: &str| json!({"charge": CHARGE, "amount": amount, "idempotency_key": key});
    let e = common::err(&s.call("create_refund", refund(800, "a")).await);
    assert_eq!(e["stripe"]["code"], "charge_already_refunded", "{e}");
    // Released: 800 fits again.
    let e = common::err(&s.call("create_refund", refund(800, "b")).await);
    assert_eq!(e["kind"], "network", "{e}");
    // Kept: the unanswered 800 still counts, so 300 more would pass 1000.
    let e = common::err(&s.call("create_refund", refund(300, "c")).await);
    assert_eq!(e["kind"], "limit_exceeded", "{e}");
    assert_eq!(e["limit"]["used"], 800, "{e}");
    common::ok(&s.call("create_refund", refund(200, "d")).await);

    // The agent reads the same record: newest first.
    let log = common::ok(&s.call("list_audit_log", json!({})).await);
    let outcomes: Vec<&str> = log["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["succeeded", "refused", "unknown", "failed"],
        "{log}"
    );
    assert_eq!(log["rows"][3]["error"], "invalid_argument", "{log}");
    assert_eq!(log["rows"][2]["amount_display"], "$8.00", "{log}");
    s.stop().await;

    // The table for people names the same rows, without the key.
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .args(["audit", "--db", &db])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("POST /v1/refunds"), "{table}");
    assert!(table.contains("unknown"), "{table}");
    assert!(!table.contains(common::TEST_KEY));
}

#[tokio::test]
async fn a_refund_through_the_generic_write_counts_against_the_same_limit() {
    let target = store_common::fresh_sqlite("generic");
    let db = db_arg(&target);
    let stripe = stripe(Duration::ZERO).await;
    let s = server(
        &stripe,
        &db,
        &[
            "--limit",
            "refund:usd:-:1000",
            "--tools",
            "all,stripe_api_write",
        ],
    )
    .await;
    common::ok(
        &s.call(
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/refunds",
                   "params": {"charge": CHARGE, "amount": 600}}),
        )
        .await,
    );
    let e = common::err(
        &s.call("create_refund", json!({"charge": CHARGE, "amount": 600}))
            .await,
    );
    assert_eq!(e["kind"], "limit_exceeded", "{e}");
    assert_eq!(e["limit"]["used"], 600, "{e}");
    s.stop().await;
    assert_eq!(refunds_sent(&stripe).await, 1);
}

#[tokio::test]
async fn limits_without_a_store_refuse_to_start() {
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .args(["--limit", "refund:usd:-:1000"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("need --db"), "{err}");
}

/// Two tenants of one remote server, on one Stripe key and one store: tenant `capped` has
/// its own `[tenant.limits]`, tenant `free` has none. Neither's spending counts against the
/// other, and each one's audit rows carry its own name.
#[tokio::test]
async fn each_tenant_has_its_own_limits_tally_and_audit_rows() {
    use sha2::{Digest, Sha256};
    let token_capped = "smcp_capped_token_for_tests_only_00000000000000000000000000000000";
    let token_free = "smcp_free_token_for_tests_only_0000000000000000000000000000000000";
    let dir =
        std::env::temp_dir().join(format!("stripe-mcp-tenant-limits-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    let sha = |t: &str| hex::encode(Sha256::digest(t.as_bytes()));
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"capped\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"SHARED_KEY\"\n[tenant.limits.refund]\nusd = {{ daily = 1000 }}\n\n[[tenant]]\nname = \"free\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"SHARED_KEY\"\n",
            sha(token_capped),
            sha(token_free)
        ),
    )
    .unwrap();
    let db = dir.join("orders.db");
    let stripe = stripe(Duration::ZERO).await;
    let server = http_common::start(
        &stripe.uri(),
        &[
            "--auth",
            "tokens",
            "--tenants",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &[("SHARED_KEY", common::TEST_KEY)],
    )
    .await;
    let capped = http_common::connect(
        &server.url(),
        Some(token_capped),
        http_common::Generation::Sessions20251125,
    )
    .await;
    let free = http_common::connect(
        &server.url(),
        Some(token_free),
        http_common::Generation::Stateless20260728,
    )
    .await;
    let refund = |amount: i64| json!({"charge": CHARGE, "amount": amount});
    common::ok(&http_common::call(&capped, "create_refund", refund(900)).await);
    // The free tenant's refunds never count against the capped one's day.
    common::ok(&http_common::call(&free, "create_refund", refund(900)).await);
    common::ok(&http_common::call(&free, "create_refund", refund(900)).await);
    let e = common::err(&http_common::call(&capped, "create_refund", refund(200)).await);
    assert_eq!(e["kind"], "limit_exceeded", "{e}");
    assert_eq!(
        e["limit"]["used"], 900,
        "only capped's own refund counts: {e}"
    );
    // Each tenant's list_audit_log shows its own rows only.
    let mine = common::ok(&http_common::call(&capped, "list_audit_log", json!({})).await);
    assert_eq!(mine["count"], 2, "{mine}");
    let theirs = common::ok(&http_common::call(&free, "list_audit_log", json!({})).await);
    assert_eq!(theirs["count"], 2, "{theirs}");
    assert!(
        theirs["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "succeeded" && r["limit_decision"] == "no_limit"),
        "{theirs}"
    );
    capped.cancel().await.unwrap();
    free.cancel().await.unwrap();
    let rows = audit_rows(db.to_str().unwrap());
    let tenants: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["tenant"].as_str().unwrap()).collect();
    assert_eq!(tenants.into_iter().collect::<Vec<_>>(), ["capped", "free"]);
    assert_eq!(refunds_sent(&stripe).await, 3);
}

/// `--auth stripe-key`: every caller brings their own key, and reads only the audit rows
/// of its own writes, never another caller's.
#[tokio::test]
async fn under_stripe_key_auth_each_caller_reads_only_its_own_audit_rows() {
    let other_key = "sk_test_ANOTHERCALLERKEY987654321";
    let dir = std::env::temp_dir().join(format!("stripe-mcp-key-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("orders.db");
    let stripe = stripe(Duration::ZERO).await;
    let server = http_common::start(
        &stripe.uri(),
        &["--auth", "stripe-key", "--db", db.to_str().unwrap()],
        &[],
    )
    .await;
    let mine = http_common::connect(
        &server.url(),
        Some(common::TEST_KEY),
        http_common::Generation::Sessions20251125,
    )
    .await;
    let theirs = http_common::connect(
        &server.url(),
        Some(other_key),
        http_common::Generation::Stateless20260728,
    )
    .await;
    let refund = |amount: i64| json!({"charge": CHARGE, "amount": amount});
    common::ok(&http_common::call(&mine, "create_refund", refund(100)).await);
    common::ok(&http_common::call(&theirs, "create_refund", refund(200)).await);
    common::ok(&http_common::call(&theirs, "create_refund", refund(300)).await);
    let my_log = common::ok(&http_common::call(&mine, "list_audit_log", json!({})).await);
    assert_eq!(my_log["count"], 1, "{my_log}");
    assert_eq!(my_log["rows"][0]["amount"], 100, "{my_log}");
    let their_log = common::ok(&http_common::call(&theirs, "list_audit_log", json!({})).await);
    assert_eq!(their_log["count"], 2, "{their_log}");
    mine.cancel().await.unwrap();
    theirs.cancel().await.unwrap();
    let rows = audit_rows(db.to_str().unwrap());
    let tenants: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["tenant"].as_str().unwrap()).collect();
    assert_eq!(tenants.len(), 2, "one name per key: {tenants:?}");
    assert!(
        tenants.iter().all(|t| t.starts_with("stripe-key:test:")),
        "{tenants:?}"
    );
    let table = rows.iter().map(Value::to_string).collect::<String>();
    assert!(!table.contains(other_key) && !table.contains(common::TEST_KEY));
}
