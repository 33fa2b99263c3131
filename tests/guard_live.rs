//! Live mode is deliberate: a live key gets a read-only server unless live writes were
//! allowed (the flag, or a tenant's setting), and the server says so on stderr and in
//! its instructions, with the three ways forward. Per tenant: `confirm` and
//! `allow_live_writes` in the tenants file.

mod common;
mod http_common;

use std::path::PathBuf;

use serde_json::json;
use sha2::{Digest, Sha256};

/// A live-looking key no account has.
const LIVE_KEY: &str = "sk_live_STRIPEMCPLIVEKEY0123456789";
const TOKEN_A: &str = "smcp_guard_a_token_for_tests_only_00000000000000000000000000000000";
const TOKEN_B: &str = "smcp_guard_b_token_for_tests_only_00000000000000000000000000000000";

async fn tool_names(client: &rmcp::service::Peer<rmcp::RoleClient>) -> Vec<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

#[tokio::test]
async fn a_live_key_without_allow_live_writes_serves_read_only_and_says_how_to_go_on() {
    let stripe = common::mock_stripe().await;
    let server = common::Spawn::new(&stripe.uri())
        .key(LIVE_KEY)
        .start()
        .await;
    let names = tool_names(server.client.peer()).await;
    assert!(names.contains(&"get_balance".to_owned()), "{names:?}");
    for write in [
        "create_refund",
        "initiate_checkout",
        "cancel_subscription",
        "create_customer",
    ] {
        assert!(
            !names.contains(&write.to_owned()),
            "{write} offered: {names:?}"
        );
    }
    let instructions = server
        .client
        .peer_info()
        .and_then(|i| i.instructions.clone())
        .unwrap_or_default();
    for said in [
        "READ-ONLY",
        "restricted key",
        "--allow-live-writes",
        "stay read-only",
    ] {
        assert!(instructions.contains(said), "{said}: {instructions}");
    }
    let log = server.stop().await;
    assert!(
        log.contains("READ-ONLY") && log.contains("--allow-live-writes"),
        "{log}"
    );
    assert!(!log.contains(LIVE_KEY), "the key leaked into the log");
}

#[tokio::test]
async fn allow_live_writes_offers_the_write_tools_to_a_live_key() {
    let stripe = common::mock_stripe().await;
    let server = common::Spawn::new(&stripe.uri())
        .key(LIVE_KEY)
        .arg("--allow-live-writes")
        .start()
        .await;
    let names = tool_names(server.client.peer()).await;
    assert!(names.contains(&"create_refund".to_owned()), "{names:?}");
    let instructions = server
        .client
        .peer_info()
        .and_then(|i| i.instructions.clone())
        .unwrap_or_default();
    assert!(instructions.contains("REAL money") && !instructions.contains("READ-ONLY"));
    let log = server.stop().await;
    assert!(!log.contains("READ-ONLY"), "{log}");
}

#[tokio::test]
async fn over_http_a_callers_live_key_gets_read_only_tools_and_a_test_key_keeps_its_writes() {
    let stripe = common::mock_stripe().await;
    let server = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
    let live = http_common::connect(
        &server.url(),
        Some(LIVE_KEY),
        http_common::Generation::Sessions20251125,
    )
    .await;
    let names = tool_names(live.peer()).await;
    assert!(!names.contains(&"create_refund".to_owned()), "{names:?}");
    assert!(names.contains(&"get_balance".to_owned()));
    live.cancel().await.unwrap();
    let test = http_common::connect(
        &server.url(),
        Some(common::TEST_KEY),
        http_common::Generation::Stateless20260728,
    )
    .await;
    assert!(
        tool_names(test.peer())
            .await
            .contains(&"create_refund".to_owned())
    );
    test.cancel().await.unwrap();
}

fn tenants_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let sha = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            r#"[[tenant]]
name = "live-ops"
token_sha256 = "{}"
stripe_key_env = "LIVE_OPS_KEY"
allow_live_writes = true
confirm = "always"

[[tenant]]
name = "live-viewer"
token_sha256 = "{}"
stripe_key_env = "LIVE_OPS_KEY"
"#,
            sha(TOKEN_A),
            sha(TOKEN_B),
        ),
    )
    .unwrap();
    file
}

#[tokio::test]
async fn a_tenants_allow_live_writes_and_confirm_settings_hold_for_that_tenant_only() {
    let stripe = common::mock_stripe().await;
    let file = tenants_file("guard-tenants");
    let server = http_common::start(
        &stripe.uri(),
        &["--auth", "tokens", "--tenants", file.to_str().unwrap()],
        &[("LIVE_OPS_KEY", LIVE_KEY)],
    )
    .await;
    let ops = http_common::connect(
        &server.url(),
        Some(TOKEN_A),
        http_common::Generation::Sessions20251125,
    )
    .await;
    assert!(
        tool_names(ops.peer())
            .await
            .contains(&"create_refund".to_owned())
    );
    // confirm = "always", and this client cannot show a form: refused, nothing sent.
    let e = common::err(
        &http_common::call(
            &ops,
            "create_refund",
            json!({"charge": "ch_1", "amount": 100}),
        )
        .await,
    );
    assert_eq!(e["kind"], "confirmation_unavailable", "{e}");
    ops.cancel().await.unwrap();
    let viewer = http_common::connect(
        &server.url(),
        Some(TOKEN_B),
        http_common::Generation::Stateless20260728,
    )
    .await;
    let names = tool_names(viewer.peer()).await;
    assert!(!names.contains(&"create_refund".to_owned()), "{names:?}");
    viewer.cancel().await.unwrap();
    let log = server.wait_log("READ-ONLY").await;
    assert!(log.contains("READ-ONLY"), "{log}");
    assert!(
        stripe.received_requests().await.unwrap().is_empty(),
        "nothing reaches Stripe"
    );
}
