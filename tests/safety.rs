//! The key never leaks, and nothing a client sends stops the server.
//!
//! These tests drive the binary with raw JSON-RPC lines so that everything it
//! writes to stdout and stderr can be searched for the key.

mod common;

use std::{process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

const KEY: &str = common::TEST_KEY;

fn raw_command(api_base: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("STRIPE_MCP_RETRY_BASE_MS", "5")
        // The most verbose logging there is: even then the key must not appear.
        .env("RUST_LOG", "trace")
        .env("APP_BASE_URL", "https://shop.example")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn call(id: u64, name: &str, args: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": args}}).to_string()
}

/// What one raw session wrote: stdout (every line JSON-RPC), the ids answered, stderr, the exit.
struct Session {
    out: String,
    ids: Vec<u64>,
    err: String,
    status: Option<std::process::ExitStatus>,
}

/// Spawns `cmd`, writes `lines`, reads stdout until `answers` replies came, closes
/// stdin and collects what the server logged.
async fn session(mut cmd: tokio::process::Command, lines: &[String], answers: usize) -> Session {
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    for l in lines {
        stdin.write_all(l.as_bytes()).await.unwrap();
        stdin.write_all(b"\n").await.unwrap();
    }
    let mut reader = BufReader::new(stdout).lines();
    let mut out = String::new();
    let mut ids = Vec::new();
    while ids.len() < answers {
        let line = tokio::time::timeout(Duration::from_secs(30), reader.next_line())
            .await
            .expect("every request gets an answer")
            .unwrap()
            .expect("server still running");
        let v: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        if let Some(id) = v.get("id").and_then(Value::as_u64) {
            ids.push(id);
        }
        out.push_str(&line);
        out.push('\n');
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .ok()
        .map(|s| s.unwrap());
    let err = stderr_task.await.unwrap();
    Session {
        out,
        ids,
        err,
        status,
    }
}

#[tokio::test]
async fn the_key_never_appears_in_stdout_stderr_or_any_result_even_when_stripe_echoes_it() {
    let stripe = common::mock_stripe().await;
    // A hostile or broken upstream that reflects the Authorization header into its messages.
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "type": "invalid_request_error",
            "message": format!("Invalid API Key provided: {KEY} (Bearer {KEY})")}})))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(500).set_body_string(format!("upstream saw {KEY}")))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "parameter_invalid", "param": "amount",
            "message": format!("key={KEY}")}})))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{not json"))
        .mount(&stripe)
        .await;

    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        call(2, "list_customers", json!({})),
        call(3, "get_balance", json!({})),
        call(4, "create_refund", json!({"payment_intent": "pi_1", "amount": 5})),
        call(5, "initiate_checkout", json!({"price": "price_1"})),
        call(6, "create_refund", json!({"payment_intent": "pi_1", "amount": 4.5})),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}).to_string(),
    ];
    let Session {
        out,
        mut ids,
        err,
        status,
    } = session(raw_command(&stripe.uri()), &lines, 7).await;
    let status = status.expect("the server exits when stdin closes");
    assert!(status.success(), "clean exit when stdin closes: {status}");

    ids.sort();
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6, 7]);
    assert!(!out.contains(KEY), "stdout leaked the key:\n{out}");
    assert!(!err.contains(KEY), "stderr leaked the key:\n{err}");
    assert!(
        !out.contains("STRIPEMCPTESTKEY"),
        "stdout leaked part of the key"
    );
    assert!(
        !err.contains("STRIPEMCPTESTKEY"),
        "stderr leaked part of the key"
    );
    assert!(
        out.contains("authentication"),
        "the 401 was reported: {out}"
    );
}

#[tokio::test]
async fn garbage_lines_on_stdin_do_not_stop_the_server() {
    let stripe = common::mock_stripe().await;
    let mut child = raw_command(&stripe.uri()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    // Trace logging is verbose: keep the stderr pipe drained so the server never blocks on it.
    let mut stderr = child.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = stderr.read_to_end(&mut sink).await;
    });
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let garbage = [
        "this is not json",
        "{\"jsonrpc\": \"2.0\", \"id\": ",
        "[]",
        "{}",
        "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"no/such/method\"}",
        "\u{feff}\u{0}\u{7f}",
    ];
    let mut input = format!(
        "{init}\n{}\n",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    );
    for g in garbage {
        input.push_str(g);
        input.push('\n');
    }
    input.push_str(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string());
    input.push('\n');
    stdin.write_all(input.as_bytes()).await.unwrap();
    let mut got_list = false;
    while !got_list {
        let line = tokio::time::timeout(Duration::from_secs(20), reader.next_line())
            .await
            .expect("the server keeps answering")
            .unwrap()
            .expect("the server is still running");
        let v: Value = serde_json::from_str(&line).unwrap();
        got_list = v["id"] == 2 && v["result"]["tools"].is_array();
    }
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn start_up_refusals_never_repeat_the_key() {
    let cases: &[&[&str]] = &[
        &["--api-base=http://10.1.2.3"],
        &["--stripe-account=cus_nope"],
        &["--tools=no_such_tool"],
        &["--app-base-url=not a url"],
    ];
    for args in cases {
        let out = std::process::Command::new(common::bin())
            .env_clear()
            .env("STRIPE_SECRET_KEY", KEY)
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("STRIPEMCPTESTKEY"), "{args:?}: {all}");
        assert!(all.contains("stripe-mcp:"), "{args:?}: {all}");
    }
    let help = std::process::Command::new(common::bin())
        .env("STRIPE_SECRET_KEY", KEY)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(!String::from_utf8_lossy(&help.stdout).contains("STRIPEMCPTESTKEY"));
}

#[tokio::test]
async fn a_publishable_or_spaced_key_is_refused_at_start_up_with_the_fix() {
    for (key, needle) in [
        ("pk_test_abc123", "publishable"),
        ("sk_test_abc 123", "spaces"),
        ("", "STRIPE_SECRET_KEY"),
    ] {
        let out = std::process::Command::new(common::bin())
            .env_clear()
            .env("STRIPE_SECRET_KEY", key)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{key:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{key:?}: {err}");
        assert!(out.stdout.is_empty(), "nothing on stdout");
    }
}

#[tokio::test]
async fn unknown_tool_names_in_tools_are_listed_with_the_valid_ones() {
    let out = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_SECRET_KEY", KEY)
        .arg("--tools=get_balance,refund_everything")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("refund_everything"), "{err}");
    assert!(
        err.contains("create_refund") && err.contains("initiate_checkout"),
        "{err}"
    );
}

#[tokio::test]
async fn echoes_of_the_key_in_any_field_header_or_success_body_are_masked() {
    let stripe = common::mock_stripe().await;
    let echo = json!({"error": {
        "type": "card_error", "message": "declined",
        "code": format!("code_{KEY}"), "decline_code": KEY, "param": format!("Bearer {KEY}"),
        "doc_url": format!("https://x.example/{KEY}")}});
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(402)
                .insert_header("Request-Id", format!("req_{KEY}"))
                .set_body_json(echo),
        )
        .mount(&stripe)
        .await;
    let mut customer = common::fixture("customer.json");
    customer["name"] = json!(format!("Bearer {KEY}"));
    customer["metadata"] = json!({ KEY: KEY });
    Mock::given(method("GET"))
        .and(path("/v1/customers/cus_echo"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Request-Id", format!("req_{KEY}"))
                .set_body_json(customer),
        )
        .mount(&stripe)
        .await;
    // A value that fails to decode: serde's complaint quotes it.
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "balance", "livemode": false, "available": KEY, "pending": KEY})))
        .mount(&stripe)
        .await;

    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}).to_string(),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
        call(2, "create_refund", json!({"payment_intent": "pi_1", "amount": 5})),
        call(3, "get_customer", json!({"customer": "cus_echo"})),
        call(4, "fetch_stripe_resource", json!({"id": "cus_echo"})),
        call(5, "get_balance", json!({})),
    ];
    let mut cmd = raw_command(&stripe.uri());
    // The default level: the WARN line of a failed call must not carry it either.
    cmd.env("RUST_LOG", "info");
    let Session { out, err, .. } = session(cmd, &lines, 5).await;
    for (what, text) in [("stdout", &out), ("stderr", &err)] {
        assert!(
            !text.contains("STRIPEMCPTESTKEY"),
            "{what} leaked the key:\n{text}"
        );
    }
    // The answers are still there, masked, not dropped.
    assert!(out.contains("card_declined"), "{out}");
    assert!(out.contains("Bearer [redacted]"), "{out}");
}

#[tokio::test]
async fn check_never_prints_an_echoed_key() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("Request-Id", format!("req_{KEY}"))
                .set_body_json(json!({"error": {"type": "invalid_request_error",
                    "code": KEY, "message": format!("bad key {KEY}")}})),
        )
        .mount(&stripe)
        .await;
    let out = raw_command(&stripe.uri())
        .env("RUST_LOG", "info")
        .arg("check")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success());
    assert!(e.contains("failed:"), "{e}");
    assert!(
        !o.contains("STRIPEMCPTESTKEY") && !e.contains("STRIPEMCPTESTKEY"),
        "{o}\n{e}"
    );
}
