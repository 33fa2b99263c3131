//! `serve --http`: the same tools over streamable HTTP, for both protocol generations,
//! with `--auth stripe-key` (the bearer token is the caller's Stripe key), and the
//! listener's safety: refusals, Host/Origin, body cap, deadline, sessions bound to their
//! caller, health, graceful SIGTERM, and access logs that never show a key.

mod common;
mod http_common;

use std::time::Duration;

use http_common::{ACCEPT, Generation, call, connect, initialize_body, messages, start};
use rmcp::model::{CallToolRequestParams, ClientRequest, Request as McpRequest};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{header, method, path},
};

const OTHER_KEY: &str = "rk_test_OTHERCALLERKEY0123456789";

async fn stripe_with_balance(key: &str, delay: Duration) -> MockServer {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(delay)
                .set_body_json(common::fixture("balance.json")),
        )
        .mount(&stripe)
        .await;
    stripe
}

async fn stripe_key_server(stripe: &MockServer, extra: &[&str]) -> http_common::Remote {
    let mut args = vec!["--auth", "stripe-key"];
    args.extend_from_slice(extra);
    start(&stripe.uri(), &args, &[]).await
}

#[tokio::test]
async fn a_2025_11_25_client_lists_and_calls_tools_with_its_own_stripe_key() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::ZERO).await;
    let server = stripe_key_server(&stripe, &[]).await;
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Sessions20251125,
    )
    .await;
    let info = client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().unwrap().name, "stripe-mcp");
    assert!(
        info.instructions
            .as_deref()
            .unwrap()
            .contains("TEST-mode key")
    );
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.len() > 40, "{} tools", tools.len());
    let result = call(&client, "get_balance", json!({})).await;
    let out = common::ok(&result);
    assert!(out.get("available").is_some(), "{out}");
    client.cancel().await.unwrap();
    let log = server.wait_log("tool=get_balance").await;
    assert!(
        log.contains("rpc=tools/call tool=get_balance tenant=stripe-key:test:"),
        "{log}"
    );
    assert!(
        !log.contains(common::TEST_KEY),
        "the key leaked into the log"
    );
}

#[tokio::test]
async fn a_2026_07_28_client_works_without_a_session() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::ZERO).await;
    let server = stripe_key_server(&stripe, &[]).await;
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Stateless20260728,
    )
    .await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "get_balance"));
    let result = call(&client, "get_balance", json!({})).await;
    common::ok(&result);
    client.cancel().await.unwrap();
    let log = server.wait_log("tool=get_balance").await;
    assert!(log.contains("rpc=server/discover"), "{log}");
}

/// A 2026-07-28 request carries everything it needs, so any replica answers it: the
/// discover goes to one process and the call to another, with no session between them.
#[tokio::test]
async fn a_stateless_request_is_answered_by_any_replica() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::ZERO).await;
    let a = stripe_key_server(&stripe, &[]).await;
    let b = stripe_key_server(&stripe, &[]).await;
    let http = reqwest::Client::new();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    });
    let post = |url: String, body: Value| {
        let http = http.clone();
        async move {
            let mut r = http.post(url);
            // SEP-2243: the method (and tool) ride in headers too, for proxies that route on them.
            r = r.header("mcp-method", body["method"].as_str().unwrap());
            if let Some(name) = body["params"]["name"].as_str() {
                r = r.header("mcp-name", name);
            }
            let r = r
                .bearer_auth(common::TEST_KEY)
                .header("accept", ACCEPT)
                .header("content-type", "application/json")
                .header("mcp-protocol-version", "2026-07-28")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert!(
                r.headers().get("mcp-session-id").is_none(),
                "no session in 2026-07-28"
            );
            let status = r.status();
            (status, messages(&r.text().await.unwrap()))
        }
    };
    let (status, discover) = post(
        a.url(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}),
    )
    .await;
    assert_eq!(status, 200, "{discover:?}");
    assert!(
        discover[0]["result"]["supportedVersions"]
            .to_string()
            .contains("2026-07-28"),
        "{discover:?}"
    );
    let (status, answer) = post(
        b.url(),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "get_balance", "arguments": {}, "_meta": meta}}),
    )
    .await;
    assert_eq!(status, 200, "{answer:?}");
    let result = answer.iter().find(|m| m["id"] == 2).expect("the answer");
    assert_ne!(result["result"]["isError"], true, "{result}");
    assert!(result["result"]["structuredContent"]["available"].is_array());
}

#[tokio::test]
async fn callers_without_a_valid_stripe_key_get_401_and_no_key_is_ever_logged() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &[]).await;
    let http = reqwest::Client::new();
    let send = |token: Option<&'static str>| {
        let mut r = http
            .post(server.url())
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(initialize_body().to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let missing = send(None).await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"stripe-mcp\""
    );
    for bad in [
        "pk_test_PUBLISHABLEKEY123",
        "sk_test_with space",
        "not-a-key",
    ] {
        let r = send(Some(bad)).await;
        let Ok(r) = r else { continue }; // a space is not a valid header for reqwest
        assert_eq!(r.status(), 401, "{bad}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("invalid_token"), "{challenge}");
        let body = r.text().await.unwrap();
        assert!(!body.contains(bad) && !challenge.contains(bad), "{body}");
    }
    let log = server.wait_log("status=401").await;
    assert!(!log.contains("PUBLISHABLEKEY"), "{log}");
    assert!(!log.contains("not-a-key"), "{log}");
    // Nothing reached Stripe (the catch-all expects no request).
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused_and_bodies_are_capped() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(
        &stripe,
        &[
            "--max-body",
            "4096",
            "--allowed-origin",
            "http://localhost:6274",
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let post = |body: String| {
        http.post(server.url())
            .bearer_auth(common::TEST_KEY)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(body)
    };
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1.
    let r = post(initialize_body().to_string())
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(initialize_body().to_string())
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(initialize_body().to_string())
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "an allowed origin is served");
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_balance", "arguments": {"x": "a".repeat(10_000)}}});
    let r = post(big.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn no_auth_is_refused_on_a_non_loopback_address() {
    let err = http_common::try_start(
        "http://127.0.0.1:9",
        &["--http", "0.0.0.0:0"],
        &[("STRIPE_SECRET_KEY", common::TEST_KEY)],
    )
    .await
    .err()
    .expect("must not start");
    assert!(err.contains("without authentication"), "{err}");
}

#[tokio::test]
async fn no_auth_on_loopback_serves_the_servers_own_key_and_health_endpoints_answer() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::ZERO).await;
    let server = start(
        &stripe.uri(),
        &[],
        &[("STRIPE_SECRET_KEY", common::TEST_KEY)],
    )
    .await;
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let client = connect(&server.url(), None, Generation::Sessions20251125).await;
    common::ok(&call(&client, "get_balance", json!({})).await);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_session_opened_with_one_key_cannot_be_used_with_another() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &[]).await;
    let http = reqwest::Client::new();
    let opened = http
        .post(server.url())
        .bearer_auth(common::TEST_KEY)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = opened.text().await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}});
    let hijack = http
        .post(server.url())
        .bearer_auth(OTHER_KEY)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .body(list.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(hijack.status(), 404);
    let stream = http
        .get(server.url())
        .bearer_auth(OTHER_KEY)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 404, "nor its notification stream");
}

#[tokio::test]
async fn a_call_past_the_request_deadline_is_a_retryable_error() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::from_secs(4)).await;
    let server = stripe_key_server(&stripe, &["--request-timeout", "1"]).await;
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Sessions20251125,
    )
    .await;
    let started = std::time::Instant::now();
    let result = call(&client, "get_balance", json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let e = common::err(&result);
    assert_eq!(e["kind"], "network", "{e}");
    assert_eq!(e["retryable"], true);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn progress_notifications_arrive_over_sse_and_a_cancel_stops_the_list() {
    let stripe = common::mock_stripe().await;
    let pages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pages.clone();
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(move |req: &wiremock::Request| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let start = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "starting_after")
                .map(|(_, v)| v.trim_start_matches("cus_").parse::<usize>().unwrap() + 1)
                .unwrap_or(0);
            let data: Vec<Value> = (start..start + 100)
                .map(|i| json!({"id": format!("cus_{i:04}"), "object": "customer", "created": 1_700_000_000 + i}))
                .collect();
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(200))
                .set_body_json(json!({"object": "list", "data": data, "has_more": true, "url": "/v1/customers"}))
        })
        .mount(&stripe)
        .await;
    let server = stripe_key_server(&stripe, &[]).await;
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Sessions20251125,
    )
    .await;
    let mut args = serde_json::Map::new();
    args.insert("limit".into(), json!(300));
    let request = ClientRequest::CallToolRequest(McpRequest::new(
        CallToolRequestParams::new("list_customers").with_arguments(args.clone()),
    ));
    let handle = client
        .send_cancellable_request(request, Default::default())
        .await
        .unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(20), handle.await_response())
        .await
        .unwrap()
        .unwrap();
    let progress = client.service().progress.lock().unwrap().clone();
    assert_eq!(progress, [100.0, 200.0, 300.0]);

    // 1,000 at 200 ms a page would take 2 s; cancel after the first page or two.
    args.insert("limit".into(), json!(1000));
    let before = pages.load(std::sync::atomic::Ordering::SeqCst);
    let request = ClientRequest::CallToolRequest(McpRequest::new(
        CallToolRequestParams::new("list_customers").with_arguments(args),
    ));
    let handle = client
        .send_cancellable_request(request, Default::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    handle.cancel(Some("changed my mind".into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fetched = pages.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(fetched <= 3, "{fetched} pages fetched after the cancel");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn sigterm_lets_the_running_call_finish_and_refuses_new_ones() {
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::from_millis(1500)).await;
    let mut server = stripe_key_server(&stripe, &["--shutdown-grace", "10"]).await;
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Sessions20251125,
    )
    .await;
    let running = tokio::spawn(async move {
        let r = call(&client, "get_balance", json!({})).await;
        (client, r)
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The listener is closed: a new caller cannot connect.
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", server.base))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "still accepting after SIGTERM");
    let (_client, result) = running.await.unwrap();
    common::ok(&result);
    let status = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("exits after the call")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let log = server.wait_log("HTTP server stopped").await;
    assert!(log.contains("in_flight=1"), "{log}");
}

/// Reads from `stream` until the server closes it (0 bytes or an error), and says how
/// long that took; gives up after `limit`.
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// A slow or silent client cannot hold a connection: one that stops half-way through its
/// headers and one that never sends anything are both closed (after `--header-timeout`
/// at the latest: neither has authenticated), and a flood of idle sockets cannot keep
/// a caller out: past `--max-unauthenticated`, a new connection closes the oldest idle one.
#[tokio::test]
async fn slow_and_idle_connections_are_closed_and_the_connection_cap_holds() {
    use tokio::{io::AsyncWriteExt, net::TcpStream};
    let stripe = stripe_with_balance(common::TEST_KEY, Duration::ZERO).await;
    let server = start(
        &stripe.uri(),
        &[
            "--idle-timeout",
            "1",
            "--header-timeout",
            "1",
            "--max-connections",
            "2",
            "--max-unauthenticated",
            "2",
        ],
        &[("STRIPE_SECRET_KEY", common::TEST_KEY)],
    )
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();

    // Half a request head, then silence: closed after about a second, not left open.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let took = closed_within(&mut slow, Duration::from_secs(10))
        .await
        .expect("a stalled request head must be cut off");
    assert!(
        took >= Duration::from_millis(500),
        "closed too early: {took:?}"
    );
    closed_within(&mut silent, Duration::from_secs(10))
        .await
        .expect("a connection that never sends a request must be closed");

    // Two idle sockets fill the line of unauthenticated connections: a third client
    // pushes the oldest out and is served at once.
    let mut held_a = TcpStream::connect(&addr).await.unwrap();
    let _held_b = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(900))
        .build()
        .unwrap();
    let client = connect(&server.url(), None, Generation::Stateless20260728).await;
    common::ok(&call(&client, "get_balance", json!({})).await);
    client.cancel().await.unwrap();
    let r = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    closed_within(&mut held_a, Duration::from_millis(500))
        .await
        .expect("the oldest idle socket was pushed out");
}
