//! Issue 8's attacks through the real binary: a `.env` that re-points the key, a key
//! pasted into the wrong argument, a proxy on a plain-http base, an agent retrying a
//! write without a key, a client that cancels, an upstream answering 100 MB, a 15 MB
//! argument, and a client that never reads what the server writes.

mod common;
#[path = "common/rpc.rs"]
mod rpc;

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{Spawn, err, ok};
use rpc::{LONG, Rpc, is_error, result_text};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

/// A listener that must never be contacted; counts connections made to it.
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let n = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            let _ = sock
                .write_all(b"HTTP/1.1 500 trap\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    (format!("http://{addr}"), hits)
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("stripe-mcp-{tag}-{}", common::unique(tag)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary to completion with a clean environment; returns (exit code, stdout, stderr).
async fn run(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("the binary finished")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_dotenv_in_the_working_directory_cannot_re_point_the_key_or_turn_on_debug_logs() {
    let (trap_url, hits) = trap().await;
    let dir = temp_dir("dotenv");
    std::fs::write(
        dir.join(".env"),
        format!(
            "STRIPE_SECRET_KEY={}\nSTRIPE_API_BASE={trap_url}\nRUST_LOG=trace\nAPP_BASE_URL=https://evil.example\n",
            common::TEST_KEY
        ),
    )
    .unwrap();
    // No STRIPE_API_BASE in the real environment: only the .env names one.
    let (code, _out, stderr) = run(&["check", "--timeout=3", "--deadline=5"], &[], &dir).await;
    assert_ne!(code, 0, "api.stripe.com cannot be reached from here");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the .env re-pointed the key: {stderr}"
    );
    assert!(
        stderr.contains("ignored STRIPE_API_BASE, RUST_LOG, APP_BASE_URL from ./.env"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("TRACE") && !stderr.contains("DEBUG"),
        "{stderr}"
    );
    // The key itself still comes from the .env: the failure is reaching Stripe, not a missing key.
    assert!(!stderr.contains("no Stripe API key"), "{stderr}");
    assert!(!stderr.contains("STRIPEMCPTESTKEY"), "{stderr}");
}

#[tokio::test]
async fn a_key_pasted_into_the_wrong_argument_is_never_echoed() {
    let dir = std::env::temp_dir();
    let env = [("STRIPE_SECRET_KEY", common::TEST_KEY)];
    for args in [
        vec!["--tools=all", "sk_test_WRONGPLACE0123456789"],
        vec!["--timeout=sk_live_WRONGPLACE0123456789"],
        vec!["--max-retries", "rk_live_WRONGPLACE0123456789"],
        vec!["--tools=sk_live_WRONGPLACE0123456789"],
        vec!["check", "--deadline", "sk_test_WRONGPLACE0123456789"],
    ] {
        let (code, out, stderr) = run(&args, &env, &dir).await;
        assert_ne!(code, 0, "{args:?} was accepted");
        assert!(!stderr.is_empty(), "{args:?}: no error printed");
        assert!(
            !stderr.contains("WRONGPLACE") && !out.contains("WRONGPLACE"),
            "{args:?} echoed the key: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_plain_http_loopback_base_never_goes_through_a_proxy() {
    let (proxy, hits) = trap().await;
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let server = Spawn::new(&uri)
        .env("HTTP_PROXY", proxy.clone())
        .env("http_proxy", proxy.clone())
        .env("ALL_PROXY", proxy.clone())
        .start()
        .await;
    ok(&server.call("get_balance", json!({})).await);
    server.stop().await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the key went to the proxy in clear"
    );
}

#[tokio::test]
async fn an_agent_retrying_a_refund_without_a_key_gets_stripes_replay_not_a_second_refund() {
    let stripe = common::mock_stripe().await;
    let refund = common::fixture("refund.json");
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(refund.clone()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    // What Stripe answers to a request whose idempotency key it has seen.
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Idempotent-Replayed", "true")
                .set_body_json(refund),
        )
        .with_priority(2)
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let server = Spawn::new(&uri).start().await;
    let args = json!({"payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": 1000});
    let first = ok(&server.call("create_refund", args.clone()).await);
    // The MCP client gave up waiting; the agent calls again with the same arguments.
    let retry = ok(&server.call("create_refund", args.clone()).await);
    let other = ok(&server
        .call(
            "create_refund",
            json!({"payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "amount": 999}),
        )
        .await);
    server.stop().await;

    assert_eq!(first.get("replayed"), None, "{first}");
    assert_eq!(retry["replayed"], true, "{retry}");
    assert!(
        retry["replay_note"]
            .as_str()
            .unwrap()
            .contains("new idempotency_key")
    );
    assert_eq!(first["idempotency_key"], retry["idempotency_key"]);
    assert_ne!(first["idempotency_key"], other["idempotency_key"]);
    let keys: Vec<String> = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(
        keys[0], keys[1],
        "the retry must carry the first call's key"
    );
    assert_ne!(keys[0], keys[2]);
}

fn raw(api_base: &str, extra: &[&str], env: &[(&str, &str)]) -> Rpc {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("APP_BASE_URL", "https://shop.example")
        .env("RUST_LOG", "warn")
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Rpc::spawn(cmd).expect("spawn stripe-mcp")
}

#[tokio::test]
async fn a_cancelled_call_stops_retrying() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&stripe)
        .await;
    let rpc = raw(
        &stripe.uri(),
        &["--max-retries=5"],
        &[("STRIPE_MCP_RETRY_BASE_MS", "500")],
    );
    rpc.initialize().await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {
        "name": "create_refund", "arguments": {"payment_intent": "pi_1", "amount": 5}}});
    rpc.send_line(&call.to_string()).await.unwrap();
    for _ in 0..200 {
        if !stripe.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5, "reason": "the user gave up"}});
    rpc.send_line(&cancel.to_string()).await.unwrap();
    // Without the cancellation, retries would follow at about 0.5, 1.5 and 3.5 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1);
    // And the server still serves.
    let r = rpc.call_tool("get_balance", json!({"x": 1})).await.unwrap();
    assert!(is_error(&r));
}

#[tokio::test]
async fn a_list_never_returns_more_items_than_its_limit() {
    let stripe = common::mock_stripe().await;
    let mut page = common::fixture("customer_list.json");
    let one = page["data"][0].clone();
    page["data"] = Value::Array(
        (0..50)
            .map(|i| {
                let mut c = one.clone();
                c["id"] = json!(format!("cus_{i:04}"));
                c
            })
            .collect(),
    );
    page["has_more"] = json!(false);
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page))
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let server = Spawn::new(&uri).start().await;
    let out = ok(&server.call("list_customers", json!({"limit": 10})).await);
    server.stop().await;
    assert_eq!(out["customers"].as_array().unwrap().len(), 10, "{out}");
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_starting_after"], "cus_0009");
}

#[tokio::test]
async fn a_100_mb_answer_is_refused_with_a_structured_error_and_bounded_memory() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"object\":\"list\",\"data\":[";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let item =
                    "{\"id\":\"cus_x\",\"object\":\"customer\",\"email\":\"a@b.c\"},".repeat(1000);
                let mut sent = 0;
                while sent < 100 * 1024 * 1024 {
                    if sock.write_all(item.as_bytes()).await.is_err() {
                        return;
                    }
                    sent += item.len();
                }
                let _ = sock.write_all(b"{}],\"has_more\":false}").await;
            });
        }
    });
    let rpc = raw(&base, &[], &[]);
    rpc.initialize().await.unwrap();
    let r = rpc
        .call_tool("list_customers", json!({"limit": 10}))
        .await
        .unwrap();
    let error: Value = serde_json::from_str(result_text(&r)).unwrap();
    assert_eq!(error["error"]["kind"], "unexpected_response", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
    let peak_mib = rpc.peak_rss_kib().unwrap() / 1024;
    eprintln!("peak RSS against a 100 MB answer: {peak_mib} MiB");
    assert!(peak_mib < 64, "peak RSS {peak_mib} MiB");
}

#[tokio::test]
async fn a_15_mb_argument_gets_a_short_error() {
    let stripe = common::mock_stripe().await;
    let rpc = raw(&stripe.uri(), &[], &[]);
    rpc.initialize().await.unwrap();
    let huge = "x".repeat(15 * 1024 * 1024);
    let r = rpc
        .call_tool("create_refund", json!({"charge": huge}))
        .await
        .unwrap();
    assert!(is_error(&r));
    let text = result_text(&r);
    assert!(text.len() < 4096, "the error is {} bytes", text.len());
    assert!(text.contains("more bytes not shown"), "{text}");
    // An argument that does not match the schema at all is capped too.
    let r = rpc
        .call_tool("create_refund", json!({"amount": huge}))
        .await
        .unwrap();
    assert!(
        result_text(&r).len() < 4096,
        "{} bytes",
        result_text(&r).len()
    );
}

#[tokio::test]
async fn a_client_that_never_reads_stdout_cannot_grow_the_server_without_bound() {
    let stripe = common::mock_stripe().await;
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", stripe.uri())
        .env("RUST_LOG", "error")
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    const N: u64 = 1000;
    let mut lines = String::new();
    lines.push_str(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": rpc::initialize_params()}).to_string());
    lines.push('\n');
    lines.push_str(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    lines.push('\n');
    for id in 1..=N {
        lines.push_str(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}).to_string());
        lines.push('\n');
    }
    // Each answer is over 100 KB; 1,000 of them unread would hold 100 MB and more.
    let writer = tokio::spawn(async move {
        stdin.write_all(lines.as_bytes()).await.unwrap();
        stdin
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    let peak_mib = rpc::peak_rss_kib(pid).unwrap() / 1024;
    eprintln!("peak RSS with {N} unread tools/list answers pending: {peak_mib} MiB");
    assert!(
        peak_mib < 64,
        "peak RSS {peak_mib} MiB while the client read nothing"
    );

    // Once the client reads again, every request is answered.
    let reader = tokio::spawn(async move {
        let mut all = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut answers = 0u64;
        while answers <= N {
            let n = stdout.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            answers += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let all = tokio::time::timeout(LONG, reader).await.unwrap().unwrap();
    let stdin = writer.await.unwrap();
    drop(stdin);
    let mut ids: Vec<u64> = String::from_utf8(all)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("only JSON-RPC on stdout"))
        .filter(|v| v.get("result").is_some())
        .filter_map(|v| v["id"].as_u64())
        .collect();
    ids.sort();
    assert_eq!(ids, (0..=N).collect::<Vec<_>>());
    let _ = child.kill().await;
}

#[tokio::test]
async fn a_replayed_error_is_not_marked_replayed_and_errors_stay_structured() {
    // The replay note belongs on successes only; an error keeps its own shape.
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(402)
                .insert_header("Idempotent-Replayed", "true")
                .set_body_json(common::fixture("error_card_declined.json")),
        )
        .mount(&stripe)
        .await;
    let uri = stripe.uri();
    let server = Spawn::new(&uri).start().await;
    let e = err(&server
        .call("create_refund", json!({"payment_intent": "pi_1"}))
        .await);
    server.stop().await;
    assert_eq!(e["kind"], "card_declined");
    assert!(e.get("replayed").is_none());
}
