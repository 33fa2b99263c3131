//! `serve --http` bounded per caller, not just in total: a stranger's body is never read,
//! idle sockets cannot keep a caller out, one tenant's sessions, streams and calls in
//! flight are capped, an idle stream and an unread answer are let go, a revoked tenant's
//! streams end on SIGHUP whatever the listener is doing, and prompt arguments are never
//! echoed or logged. Raw HTTP where the case is about HTTP; rmcp's client otherwise.

mod common;
mod http_common;

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use http_common::{ACCEPT, Generation, call, connect, initialize_body, start};
use rmcp::model::GetPromptRequestParams;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const OTHER_KEY: &str = "rk_test_OTHERCALLERKEY0123456789";

async fn stripe_with_balance(delay: Duration) -> MockServer {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
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

fn addr(server: &http_common::Remote) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Opens a 2025-11-25 session with `key` (initialize, then initialized): its id.
async fn open_session(http: &reqwest::Client, server: &http_common::Remote, key: &str) -> String {
    let opened = http
        .post(server.url())
        .bearer_auth(key)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let id = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = opened.text().await;
    assert_eq!(initialized(http, server, key, &id).await, 202);
    id
}

/// Posts `notifications/initialized` on a session: 202 while the session lives.
async fn initialized(
    http: &reqwest::Client,
    server: &http_common::Remote,
    key: &str,
    session: &str,
) -> u16 {
    http.post(server.url())
        .bearer_auth(key)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .body(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Opens the GET notification stream of a session.
async fn open_stream(
    http: &reqwest::Client,
    server: &http_common::Remote,
    key: &str,
    session: &str,
) -> reqwest::Response {
    http.get(server.url())
        .bearer_auth(key)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap()
}

/// Reads a streaming body until it ends; how long that took, or `None` after `limit`.
async fn ends_within(mut r: reqwest::Response, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        match tokio::time::timeout_at((started + limit).into(), r.chunk()).await {
            Err(_) => return None,
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None) | Err(_)) => return Some(started.elapsed()),
        }
    }
}

/// Reads from `stream` until the server closes it; how long that took, or `None`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// The server's resident memory, from /proc (Linux), in MiB.
fn rss_mib(server: &http_common::Remote) -> Option<f64> {
    let pid = server.child.id()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// A POST without `Authorization` that announces a large body is refused from its
/// headers: the server answers 401 at once instead of waiting for (and buffering) the body.
#[tokio::test]
async fn a_strangers_body_is_never_read() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &[]).await;
    let mut s = TcpStream::connect(addr(&server)).await.unwrap();
    s.write_all(
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Accept: application/json, text/event-stream\r\nContent-Length: 900000\r\n\r\n{\"jsonrpc\":",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let got = tokio::time::timeout(Duration::from_secs(3), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(got.is_ok(), "no answer before the body arrived");
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
}

/// A flood of idle sockets (no bytes, no auth) fills only the short line of
/// unauthenticated connections: a real caller still gets in at once, and a silent
/// socket is closed after `--header-timeout` although `--idle-timeout` is longer.
#[tokio::test]
async fn idle_sockets_cannot_keep_a_caller_out() {
    let stripe = stripe_with_balance(Duration::ZERO).await;
    let server = stripe_key_server(
        &stripe,
        &[
            "--max-connections",
            "8",
            "--max-unauthenticated",
            "4",
            "--header-timeout",
            "1",
            "--idle-timeout",
            "30",
        ],
    )
    .await;
    let mut silent = TcpStream::connect(addr(&server)).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(5))
        .await
        .expect("a silent connection is closed after --header-timeout");
    assert!(took >= Duration::from_millis(800), "{took:?}");

    let mut idle = Vec::new();
    for _ in 0..40 {
        idle.push(TcpStream::connect(addr(&server)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let client = connect(
        &server.url(),
        Some(common::TEST_KEY),
        Generation::Stateless20260728,
    )
    .await;
    common::ok(&call(&client, "get_balance", json!({})).await);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "a caller waited {took:?} behind idle sockets"
    );
    client.cancel().await.unwrap();
    let log = server.wait_log("--max-unauthenticated").await;
    assert!(log.contains("bound reached"), "{log}");
}

/// One tenant's sessions are capped: opening one more closes its least recently used
/// (never another tenant's), so a flood of sessions costs only the flooder.
#[tokio::test]
async fn a_tenants_sessions_are_capped_by_closing_its_least_recently_used() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &["--max-sessions-per-tenant", "3"]).await;
    let http = reqwest::Client::new();
    let other = open_session(&http, &server, OTHER_KEY).await;
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(open_session(&http, &server, common::TEST_KEY).await);
    }
    assert_eq!(
        initialized(&http, &server, common::TEST_KEY, &mine[0]).await,
        404
    );
    assert_eq!(
        initialized(&http, &server, common::TEST_KEY, &mine[1]).await,
        404
    );
    for live in &mine[2..] {
        assert_eq!(
            initialized(&http, &server, common::TEST_KEY, live).await,
            202
        );
    }
    assert_eq!(
        initialized(&http, &server, OTHER_KEY, &other).await,
        202,
        "another tenant's session is untouched"
    );
    let log = server.wait_log("--max-sessions-per-tenant").await;
    assert!(log.contains("bound reached"), "{log}");
}

/// One tenant's open GET streams are capped (429 with Retry-After), and a stream that
/// carries nothing but keep-alives is closed after `--stream-idle-timeout`.
#[tokio::test]
async fn a_tenants_streams_are_capped_and_an_idle_stream_is_closed() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(
        &stripe,
        &[
            "--max-streams-per-tenant",
            "2",
            "--stream-idle-timeout",
            "4",
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..2 {
        let s = open_session(&http, &server, common::TEST_KEY).await;
        let opened = Instant::now();
        let r = open_stream(&http, &server, common::TEST_KEY, &s).await;
        assert_eq!(r.status(), 200);
        streams.push((opened, r));
    }
    let third = open_session(&http, &server, common::TEST_KEY).await;
    let refused = open_stream(&http, &server, common::TEST_KEY, &third).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // Another tenant is not counted against this one.
    let theirs = open_session(&http, &server, OTHER_KEY).await;
    let r = open_stream(&http, &server, OTHER_KEY, &theirs).await;
    assert_eq!(r.status(), 200);
    drop(r);
    // Idle streams end on their own, and their places come back.
    for (opened, s) in streams {
        ends_within(s, Duration::from_secs(10))
            .await
            .expect("an idle stream is closed");
        let took = opened.elapsed();
        assert!(took >= Duration::from_millis(3500), "{took:?}");
    }
    let again = open_stream(&http, &server, common::TEST_KEY, &third).await;
    assert_eq!(again.status(), 200);
}

/// One tenant's requests in flight are capped (429 with Retry-After); another tenant's
/// call meanwhile is answered.
#[tokio::test]
async fn a_tenants_calls_in_flight_are_capped() {
    let stripe = stripe_with_balance(Duration::from_millis(1500)).await;
    let server = stripe_key_server(&stripe, &["--max-calls-per-tenant", "2"]).await;
    let http = reqwest::Client::new();
    let session = open_session(&http, &server, common::TEST_KEY).await;
    let post = |id: u64| {
        http.post(server.url())
            .bearer_auth(common::TEST_KEY)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(
                json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "get_balance", "arguments": {}}})
                .to_string(),
            )
            .send()
    };
    let (a, b) = (post(10).await.unwrap(), post(11).await.unwrap());
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let c = post(12).await.unwrap();
    assert_eq!(c.status(), 429);
    assert!(c.headers().contains_key("retry-after"));
    let other = connect(
        &server.url(),
        Some(OTHER_KEY),
        Generation::Stateless20260728,
    )
    .await;
    common::ok(&call(&other, "get_balance", json!({})).await);
    other.cancel().await.unwrap();
    // The two answers arrive, and the share comes back.
    let _ = (a.text().await, b.text().await);
    let d = post(13).await.unwrap();
    assert_eq!(d.status(), 200);
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

const TOKEN_A: &str = "smcp_bounds_a_token_for_tests_only_000000000000000000000000000000";
const TOKEN_B: &str = "smcp_bounds_b_token_for_tests_only_000000000000000000000000000000";

fn tenants(dir: &std::path::Path, names: &[(&str, &str)]) -> PathBuf {
    let file = dir.join("tenants.toml");
    let mut text = String::new();
    for (name, token) in names {
        text.push_str(&format!(
            "[[tenant]]\nname = \"{name}\"\ntoken_sha256 = \"{}\"\nstripe_key_env = \"TENANT_KEY\"\n\n",
            sha(token)
        ));
    }
    std::fs::write(&file, text).unwrap();
    file
}

/// SIGHUP reloads the tenants file even while a tenant holds every connection place,
/// and a tenant removed from it loses its open streams at once, and its token.
#[tokio::test]
async fn a_revoked_tenant_loses_its_streams_at_once_even_holding_every_place() {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-bounds-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = tenants(&dir, &[("a", TOKEN_A), ("b", TOKEN_B)]);
    let stripe = stripe_with_balance(Duration::ZERO).await;
    let server = start(
        &stripe.uri(),
        &[
            "--auth",
            "tokens",
            "--tenants",
            file.to_str().unwrap(),
            "--max-connections",
            "2",
        ],
        &[("TENANT_KEY", common::TEST_KEY)],
    )
    .await;
    // Tenant a holds both places with two streams, each on its own connection.
    let mut held = Vec::new();
    for _ in 0..2 {
        let http = reqwest::Client::new();
        let s = open_session(&http, &server, TOKEN_A).await;
        let r = open_stream(&http, &server, TOKEN_A, &s).await;
        assert_eq!(r.status(), 200);
        held.push((http, r));
    }
    tenants(&dir, &[("b", TOKEN_B)]);
    server.signal("HUP");
    let log = server.wait_log("tenants file reloaded").await;
    assert!(log.contains("tenants file reloaded"), "{log}");
    for (_http, r) in held {
        ends_within(r, Duration::from_secs(3))
            .await
            .expect("a revoked tenant's stream ends at once");
    }
    let refused = reqwest::Client::new()
        .post(server.url())
        .bearer_auth(TOKEN_A)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let b = connect(&server.url(), Some(TOKEN_B), Generation::Sessions20251125).await;
    common::ok(&call(&b, "get_balance", json!({})).await);
    b.cancel().await.unwrap();
}

/// Bound to loopback with no --allowed-origin, a page served from this machine (the
/// Inspector's UI) may call; any other origin is still refused. DELETE of a session the
/// server does not have is 404.
#[tokio::test]
async fn loopback_origins_are_served_on_loopback_and_unknown_sessions_are_not_found() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &[]).await;
    let http = reqwest::Client::new();
    let init = |origin: &'static str| {
        http.post(server.url())
            .bearer_auth(common::TEST_KEY)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .header("origin", origin)
            .body(initialize_body().to_string())
            .send()
    };
    assert_eq!(init("http://localhost:6274").await.unwrap().status(), 200);
    assert_eq!(init("http://127.0.0.1:3000").await.unwrap().status(), 200);
    assert_eq!(init("https://evil.example").await.unwrap().status(), 403);
    assert_eq!(
        init("http://localhost.evil.example")
            .await
            .unwrap()
            .status(),
        403
    );
    let gone = http
        .delete(server.url())
        .bearer_auth(common::TEST_KEY)
        .header("mcp-session-id", "no-such-session")
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

/// A prompt argument that fails validation is neither echoed in the error nor logged,
/// at the default log level.
#[tokio::test]
async fn prompt_arguments_are_never_echoed_or_logged() {
    const PASTED: &str = "sk_live_PASTEDBYMISTAKE0123456789";
    let stripe = common::mock_stripe().await;
    let server = start(
        &stripe.uri(),
        &[],
        &[("STRIPE_SECRET_KEY", common::TEST_KEY), ("RUST_LOG", "")],
    )
    .await;
    let client = connect(&server.url(), None, Generation::Sessions20251125).await;
    let attempts: [(&str, Value); 4] = [
        ("refund_last_payment", json!({"customer_email": PASTED})),
        (
            "refund_last_payment",
            json!({"customer_email": "a@b.co", "reason": PASTED}),
        ),
        ("month_end_summary", json!({"month": PASTED})),
        (
            "month_end_summary",
            json!({"month": "2026-11", PASTED: "x"}),
        ),
    ];
    for (name, args) in attempts {
        let Value::Object(args) = args else {
            unreachable!()
        };
        let err = client
            .get_prompt(GetPromptRequestParams::new(name).with_arguments(args))
            .await
            .expect_err("invalid arguments are refused");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("PASTEDBYMISTAKE"), "{text}");
    }
    client.cancel().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    assert!(!log.contains("PASTEDBYMISTAKE"), "{log}");
}

/// The acceptance test: one caller floods the server with idle sockets, sessions, GET
/// streams and large answers it never reads; a second caller's `get_balance` is still
/// answered within 100 ms, and the server's memory stays under 200 MiB.
#[tokio::test]
async fn one_callers_flood_does_not_slow_another_caller_or_grow_memory_without_bound() {
    let stripe = stripe_with_balance(Duration::ZERO).await;
    // A ~2 MiB object, asked for and never read.
    let big = json!({"id": "cus_BIG", "object": "customer",
        "metadata": {"blob": "x".repeat(450)}, "description": "y".repeat(6 * 1024 * 1024)});
    Mock::given(method("GET"))
        .and(path("/v1/customers/cus_BIG"))
        .respond_with(ResponseTemplate::new(200).set_body_json(big))
        .mount(&stripe)
        .await;
    let server = stripe_key_server(&stripe, &["--write-timeout", "5"]).await;
    let before = rss_mib(&server);
    let target = addr(&server);

    // 300 idle sockets.
    let mut idle = Vec::new();
    for _ in 0..300 {
        if let Ok(s) = TcpStream::connect(&target).await {
            idle.push(s);
        }
    }
    // 200 sessions and 30 GET streams from one key.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for _ in 0..200 {
        let r = http
            .post(server.url())
            .bearer_auth(common::TEST_KEY)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        if let Some(id) = r.headers().get("mcp-session-id") {
            sessions.push(id.to_str().unwrap().to_owned());
        }
        let _ = r.text().await;
    }
    let mut streams = Vec::new();
    for s in sessions.iter().rev().take(30) {
        let _ = initialized(&http, &server, common::TEST_KEY, s).await;
        let r = open_stream(&http, &server, common::TEST_KEY, s).await;
        streams.push(r);
    }
    // 40 connections ask for the big object and never read the answer.
    let reader = open_session(&http, &server, common::TEST_KEY).await;
    let read = json!({"jsonrpc": "2.0", "id": 5, "method": "resources/read",
        "params": {"uri": "stripe://objects/cus_BIG"}})
    .to_string();
    let mut unread = Vec::new();
    for _ in 0..40 {
        let mut s = TcpStream::connect(&target).await.unwrap();
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nAccept: {ACCEPT}\r\n\
             MCP-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: {reader}\r\n\
             Content-Length: {}\r\n\r\n{read}",
            common::TEST_KEY,
            read.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        unread.push(s);
    }
    // Let the 40 answers be fetched and built (slow in a debug build): from then on
    // they wait, unread, in the server.
    let settle = Instant::now() + Duration::from_secs(45);
    let mut last = 0.0;
    while Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let fetched = stripe
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/v1/customers/cus_BIG")
            .count();
        let now = rss_mib(&server).unwrap_or(0.0);
        if fetched >= 40 && (now - last).abs() < 2.0 {
            break;
        }
        last = now;
    }

    // The other caller, meanwhile.
    let other = connect(
        &server.url(),
        Some(OTHER_KEY),
        Generation::Stateless20260728,
    )
    .await;
    common::ok(&call(&other, "get_balance", json!({})).await);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        common::ok(&call(&other, "get_balance", json!({})).await);
        slowest = slowest.max(started.elapsed());
    }
    let during = rss_mib(&server);
    eprintln!("RSS MiB: before {before:?}, during the flood {during:?}");
    assert!(
        slowest < Duration::from_millis(100),
        "the other caller waited {slowest:?}"
    );
    if let Some(during) = during {
        assert!(during < 400.0, "RSS {during:.0} MiB during the flood");
    }
    // Unread answers are let go after --write-timeout, and their memory returned.
    server.wait_log("--write-timeout").await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = rss_mib(&server);
    eprintln!("RSS MiB after the unread answers were dropped: {after:?}");
    if let (Some(before), Some(after)) = (before, after) {
        assert!(after < before + 100.0, "RSS stayed at {after:.0} MiB");
    }
    let log = server.log();
    for bound in [
        "--max-sessions-per-tenant",
        "--max-streams-per-tenant",
        "--max-unauthenticated",
        "--write-timeout",
    ] {
        assert!(log.contains(bound), "no log line for {bound}:\n{log}");
    }
    other.cancel().await.unwrap();
    drop((idle, streams, unread));
}

/// Past `--max-sessions` in all, a new session is refused with 503 and Retry-After:
/// closing another tenant's session to make room would let one tenant end another's.
#[tokio::test]
async fn past_the_total_session_cap_a_new_session_is_refused_not_stolen() {
    let stripe = common::mock_stripe().await;
    let server = stripe_key_server(&stripe, &["--max-sessions", "2"]).await;
    let http = reqwest::Client::new();
    let a = open_session(&http, &server, common::TEST_KEY).await;
    let b = open_session(&http, &server, common::TEST_KEY).await;
    let refused = http
        .post(server.url())
        .bearer_auth(OTHER_KEY)
        .header("accept", ACCEPT)
        .header("content-type", "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    for s in [&a, &b] {
        assert_eq!(initialized(&http, &server, common::TEST_KEY, s).await, 202);
    }
}
