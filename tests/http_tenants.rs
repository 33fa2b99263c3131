//! `serve --http --auth tokens --tenants FILE`: two tenants on one process, each with its
//! own token, Stripe key, connected account, tool list, rate limit and memory of lost
//! writes; `stripe-mcp tenants add`; reload on SIGHUP without dropping a running call.

mod common;
mod http_common;

use std::{path::PathBuf, time::Duration};

use http_common::{Generation, call, connect, initialize_body, start, try_connect};
use rmcp::model::CallToolRequestParams;
use serde_json::json;
use sha2::{Digest, Sha256};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const KEY_A: &str = "sk_test_TENANTAKEY0123456789";
const KEY_B: &str = "rk_test_TENANTBKEY0123456789";
const TOKEN_A: &str = "smcp_tenant_a_token_for_tests_only_0000000000000000000000000000000";
const TOKEN_B: &str = "smcp_tenant_b_token_for_tests_only_0000000000000000000000000000000";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// What the server prefixes to a tenant's own idempotency keys: `t` + 12 hex digits of
/// the name's SHA-256 (computed here independently of the server's code).
fn scope(tenant: &str) -> String {
    format!("t{}", &sha(tenant)[..12])
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("stripe-mcp-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Tenant `a`: every tool, 1 call/s with a burst of 2. Tenant `b`: three tools, a
/// connected account, its key from a file.
fn tenants_file(dir: &std::path::Path) -> PathBuf {
    let key_file = dir.join("b.key");
    std::fs::write(&key_file, format!("{KEY_B}\n")).unwrap();
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            r#"# test tenants
[[tenant]]
name = "a"
token_sha256 = "{}"
stripe_key_env = "TENANT_A_KEY"
rate_limit = 1
rate_burst = 2

[[tenant]]
name = "b"
token_sha256 = "{}"
stripe_key_file = "{}"
tools = ["get_balance", "list_customers", "create_refund"]
stripe_account = "acct_TENANTB"
"#,
            sha(TOKEN_A),
            sha(TOKEN_B),
            key_file.display()
        ),
    )
    .unwrap();
    file
}

async fn balance_for(stripe: &MockServer, key: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .mount(stripe)
        .await;
}

async fn tokens_server(
    stripe: &MockServer,
    file: &std::path::Path,
    extra: &[&str],
) -> http_common::Remote {
    let mut args = vec!["--auth", "tokens", "--tenants", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    start(&stripe.uri(), &args, &[("TENANT_A_KEY", KEY_A)]).await
}

#[tokio::test]
async fn tenants_add_prints_a_fresh_token_once_and_stores_only_its_hash() {
    let dir = temp_dir("add");
    let file = dir.join("tenants.toml");
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .args(["tenants", "add", "support", "--file"])
        .arg(&file)
        .args([
            "--key-env",
            "SUPPORT_KEY",
            "--allow",
            "list_customers,create_refund",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("smcp_") && token.len() > 60, "{token}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&token), "the token itself is never written");
    assert!(text.contains(&sha(&token)));
    assert!(text.contains("stripe_key_env = \"SUPPORT_KEY\""));
    // The token works, and gets that tenant's two tools only.
    let stripe = common::mock_stripe().await;
    let server = start(
        &stripe.uri(),
        &["--auth", "tokens", "--tenants", file.to_str().unwrap()],
        &[("SUPPORT_KEY", KEY_A)],
    )
    .await;
    let client = connect(&server.url(), Some(&token), Generation::Sessions20251125).await;
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["create_refund", "list_customers"]);
    client.cancel().await.unwrap();
    assert!(!server.log().contains(&token));
    let again = std::process::Command::new(common::bin())
        .env_clear()
        .args(["tenants", "add", "support", "--file"])
        .arg(&file)
        .args(["--key-env", "X"])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a name is added once");
}

#[tokio::test]
async fn two_tenants_on_one_process_use_only_their_own_key_account_and_tools() {
    let dir = temp_dir("iso");
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    balance_for(&stripe, KEY_A).await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {KEY_B}").as_str()))
        .and(header("stripe-account", "acct_TENANTB"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .mount(&stripe)
        .await;
    let server = tokens_server(&stripe, &file, &[]).await;
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Stateless20260728).await;

    common::ok(&call(&a, "get_balance", json!({})).await);
    common::ok(&call(&b, "get_balance", json!({})).await);
    for r in stripe.received_requests().await.unwrap() {
        let auth = r.headers["authorization"].to_str().unwrap().to_owned();
        let account = r
            .headers
            .get("stripe-account")
            .map(|v| v.to_str().unwrap().to_owned());
        match auth.as_str() {
            a if a.ends_with(KEY_A) => assert_eq!(account, None, "a has no connected account"),
            b if b.ends_with(KEY_B) => assert_eq!(account.as_deref(), Some("acct_TENANTB")),
            other => panic!("unexpected key {other}"),
        }
    }

    let a_tools = a.list_all_tools().await.unwrap();
    assert!(a_tools.len() > 40);
    let mut b_tools: Vec<String> = b
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    b_tools.sort();
    assert_eq!(b_tools, ["create_refund", "get_balance", "list_customers"]);
    // A tool outside b's selection is unknown to b (a protocol error, nothing sent).
    let before = stripe.received_requests().await.unwrap().len();
    let unknown = b
        .call_tool(
            CallToolRequestParams::new("create_customer").with_arguments(
                json!({"email": "x@example.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
    assert_eq!(stripe.received_requests().await.unwrap().len(), before);

    // A wrong token is refused before MCP.
    let wrong = try_connect(
        &server.url(),
        Some("smcp_wrong"),
        Generation::Sessions20251125,
    )
    .await;
    assert!(wrong.is_err());
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
    let log = server.wait_log("tenant=b").await;
    assert!(
        log.contains("tenant=a") && log.contains("tenant=b"),
        "{log}"
    );
    for secret in [KEY_A, KEY_B, TOKEN_A, TOKEN_B] {
        assert!(!log.contains(secret), "a secret leaked into the log");
    }
}

#[tokio::test]
async fn one_tenants_rate_limit_does_not_slow_the_other() {
    let dir = temp_dir("rate");
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    balance_for(&stripe, KEY_A).await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {KEY_B}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .mount(&stripe)
        .await;
    let server = tokens_server(&stripe, &file, &[]).await;
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Sessions20251125).await;
    // a's bucket holds 2.
    common::ok(&call(&a, "get_balance", json!({})).await);
    common::ok(&call(&a, "get_balance", json!({})).await);
    let limited = common::err(&call(&a, "get_balance", json!({})).await);
    assert_eq!(limited["kind"], "rate_limited", "{limited}");
    assert_eq!(limited["retryable"], true);
    // b, at the same moment, is not affected.
    for _ in 0..5 {
        common::ok(&call(&b, "get_balance", json!({})).await);
    }
    // a's bucket refills at its own rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    common::ok(&call(&a, "get_balance", json!({})).await);
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

/// Each tenant's client remembers its own lost writes: a's refund whose answer was lost
/// makes a later refusal for that key "retry with the same key" for a, while b, sending
/// the same idempotency key with its own Stripe key, is told Stripe's answer as it is.
#[tokio::test]
async fn lost_write_memory_and_idempotency_keys_are_per_tenant() {
    let dir = temp_dir("lost");
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    let refused = ResponseTemplate::new(429)
        .insert_header("stripe-should-retry", "false")
        .set_body_json(json!({"error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}}));
    // a's first attempt: applied, but its answer comes after the client's 1 s timeout.
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("authorization", format!("Bearer {KEY_A}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(common::fixture("refund.json")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(refused)
        .with_priority(2)
        .mount(&stripe)
        .await;
    let server = tokens_server(&stripe, &file, &["--timeout", "1", "--max-retries", "0"]).await;
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Sessions20251125).await;
    let refund = json!({"payment_intent": "pi_123", "amount": 500, "idempotency_key": "order-42"});
    let lost = common::err(&call(&a, "create_refund", refund.clone()).await);
    assert_eq!(lost["kind"], "network", "{lost}");
    assert_eq!(lost["retryable"], true);
    // b uses the same idempotency key: Stripe's refusal is b's plain answer.
    let b_answer = common::err(&call(&b, "create_refund", refund.clone()).await);
    assert_eq!(b_answer["kind"], "rate_limited", "{b_answer}");
    assert_eq!(b_answer["retryable"], false);
    // a's retry with its key meets the same refusal, but a's client knows its answer was lost.
    let a_retry = common::err(&call(&a, "create_refund", refund).await);
    assert_eq!(a_retry["kind"], "network", "{a_retry}");
    assert_eq!(a_retry["retryable"], true);
    let requests = stripe.received_requests().await.unwrap();
    let keys: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r.headers["authorization"].to_str().unwrap().to_owned(),
                r.headers["idempotency-key"].to_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (
                format!("Bearer {KEY_A}"),
                format!("{}-order-42", scope("a"))
            ),
            (
                format!("Bearer {KEY_B}"),
                format!("{}-order-42", scope("b"))
            ),
            (
                format!("Bearer {KEY_A}"),
                format!("{}-order-42", scope("a"))
            ),
        ]
    );
    a.cancel().await.unwrap();
    b.cancel().await.unwrap();
}

/// Two tenants on one Stripe account (one key) choose the same idempotency key for
/// different refunds: Stripe sees two different keys, so neither replays the other's
/// write, and each tenant's retry carries its own key again.
#[tokio::test]
async fn tenants_sharing_one_stripe_account_never_share_an_idempotency_key() {
    let dir = temp_dir("shared-account");
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"support-eu\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"TENANT_A_KEY\"\n\n[[tenant]]\nname = \"support-us\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"TENANT_A_KEY\"\n",
            sha(TOKEN_A),
            sha(TOKEN_B)
        ),
    )
    .unwrap();
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .mount(&stripe)
        .await;
    let server = tokens_server(&stripe, &file, &[]).await;
    let eu = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let us = connect(&server.url(), Some(TOKEN_B), Generation::Stateless20260728).await;
    for (client, amount) in [(&eu, 500), (&us, 900), (&eu, 500)] {
        let refund =
            json!({"payment_intent": "pi_123", "amount": amount, "idempotency_key": "order-7"});
        let result = call(client, "create_refund", refund).await;
        assert_ne!(result.is_error, Some(true), "{result:?}");
    }
    let keys: Vec<String> = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    let (eu_key, us_key) = (
        format!("{}-order-7", scope("support-eu")),
        format!("{}-order-7", scope("support-us")),
    );
    assert_ne!(eu_key, us_key);
    assert_eq!(keys, [eu_key.clone(), us_key, eu_key]);
    eu.cancel().await.unwrap();
    us.cancel().await.unwrap();
}

#[tokio::test]
async fn sighup_reloads_the_tenants_file_without_dropping_a_running_call() {
    let dir = temp_dir("hup");
    let file = tenants_file(&dir);
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(1500))
                .set_body_json(common::fixture("balance.json")),
        )
        .mount(&stripe)
        .await;
    let server = tokens_server(&stripe, &file, &[]).await;
    let a = connect(&server.url(), Some(TOKEN_A), Generation::Sessions20251125).await;
    let running = tokio::spawn(async move {
        let r = call(&a, "get_balance", json!({})).await;
        (a, r)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Add tenant c with the helper, and break nothing else.
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .args(["tenants", "add", "c", "--file"])
        .arg(&file)
        .args(["--key-env", "TENANT_A_KEY", "--allow", "get_balance"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token_c = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        try_connect(&server.url(), Some(&token_c), Generation::Sessions20251125)
            .await
            .is_err(),
        "c is unknown before the reload"
    );
    server.signal("HUP");
    server.wait_log("tenants file reloaded").await;
    let c = connect(&server.url(), Some(&token_c), Generation::Sessions20251125).await;
    assert_eq!(c.list_all_tools().await.unwrap().len(), 1);
    let (_a, result) = running.await.unwrap();
    common::ok(&result);

    // A broken file on reload keeps the tenants in force.
    std::fs::write(
        &file,
        "[[tenant]]\nname = \"x\"\nstripe_key = \"sk_test_inline\"\n",
    )
    .unwrap();
    server.signal("HUP");
    let log = server.wait_log("NOT reloaded").await;
    assert!(log.contains("NOT reloaded"), "{log}");
    assert!(!log.contains("sk_test_inline"));
    common::ok(&call(&c, "get_balance", json!({})).await);
    c.cancel().await.unwrap();
}

#[tokio::test]
async fn a_missing_tenant_key_refuses_to_start_without_printing_any_key() {
    let dir = temp_dir("nokey");
    let file = tenants_file(&dir);
    let err = http_common::try_start(
        "http://127.0.0.1:9",
        &["--auth", "tokens", "--tenants", file.to_str().unwrap()],
        &[],
    )
    .await
    .err()
    .expect("must not start");
    assert!(err.contains("TENANT_A_KEY is not set"), "{err}");
    let _ = initialize_body();
}
