//! The webhook receiver under attack: the real binary's `webhooks` subcommand against a
//! signature-header flood, a thousand slow clients, oversized bodies and odd signed events.

mod common;

use std::time::{Duration, Instant};
use stripe_mcp::store::Scope;

use common::{
    WEBHOOK_SECRET, cpu_time, deliver, peak_rss_kib, post_raw, raise_fd_limit, session_event,
    start_receiver, temp_db,
};
use serde_json::{Value, json};
use stripe_mcp::{
    store::{DbTarget, OrderStatus, Store},
    webhooks::signature,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// What the issue's attacker put in a signed body, to be found in no answer and no log.
const CUSTOMER_DATA: &str = "CUSTOMER jane@example.com card 4242";

/// A session event padded to exactly `size` bytes (still valid JSON).
fn padded_event(size: usize) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(&session_event(
        "evt_big",
        "checkout.session.completed",
        "cs_test_big",
        "paid",
    ))
    .unwrap();
    event["padding"] = json!("");
    let base = serde_json::to_vec(&event).unwrap().len();
    event["padding"] = json!("x".repeat(size - base));
    let body = serde_json::to_vec(&event).unwrap();
    assert_eq!(body.len(), size);
    body
}

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_5000_entry_v1_flood_on_a_1_mib_body_is_refused_without_hashing_it() {
    let db = temp_db("flood");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let pid = rx.child.id().unwrap();
    let http = reqwest::Client::new();
    let body = padded_event(1024 * 1024);
    let now = common::now();
    let wrong = signature::v1(&body, "whsec_attacker", now);
    let flood = |n: usize| {
        let mut h = format!("t={now}");
        for _ in 0..n {
            h.push_str(&format!(",v1={wrong}"));
        }
        h
    };

    // Under the head limit but over the header's own: refused before the body is read.
    let (status, answer) = post_raw(&http, &rx.url, &body, Some(&flood(100))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("longer than 4096 bytes"), "{answer}");

    // Short enough, but more entries than Stripe ever sends: refused the same way.
    let (status, answer) = post_raw(&http, &rx.url, &body, Some(&flood(9))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("more than 8 v1 signatures"), "{answer}");

    // Three requests of 5,000 entries each (340 KB): the issue's attack, 3.8 s of CPU apiece
    // before. The head is over the receiver's 16 KiB head limit: hyper answers 431 (or
    // closes while the body is still being sent) before the handler runs.
    let before = cpu_time(pid);
    let started = Instant::now();
    for _ in 0..3 {
        let sent = http
            .post(&rx.url)
            .header("Stripe-Signature", flood(5_000))
            .body(body.clone())
            .send()
            .await;
        if let Ok(resp) = sent {
            assert_eq!(resp.status().as_u16(), 431);
        }
    }
    let flood_cpu = cpu_time(pid) - before;
    eprintln!(
        "3 x 5,000-entry v1 flood on a 1 MiB body: receiver CPU {flood_cpu:?}, wall {:?}",
        started.elapsed()
    );

    // The most the receiver accepts (8 entries, 1 MiB) costs one HMAC over the body.
    let before = cpu_time(pid);
    let (status, answer) = post_raw(&http, &rx.url, &body, Some(&flood(8))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("no v1 signature matches"), "{answer}");
    eprintln!(
        "8 wrong v1 entries on a 1 MiB body: receiver CPU {:?}",
        cpu_time(pid) - before
    );

    // A 1 MiB body that is a real event still goes through (on the blocking pool).
    let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
    assert_eq!(status, 200, "{answer}");

    assert!(
        flood_cpu < Duration::from_secs(1),
        "the flood cost {flood_cpu:?} of CPU: the body was hashed per v1 entry"
    );
    rx.kill().await;
}

#[tokio::test]
async fn a_body_declared_over_1_mib_is_refused_before_it_is_sent() {
    let db = temp_db("declared");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let mut conn = TcpStream::connect(host_port(&rx.url)).await.unwrap();
    let head = format!(
        "POST /webhook/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Stripe-Signature: t={},v1={}\r\nContent-Length: {}\r\n\r\n",
        common::now(),
        "0".repeat(64),
        2 * 1024 * 1024
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    // Not one byte of the body is sent: the answer must not wait for it.
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answer))
        .await
        .expect("the receiver waited for a body it was always going to refuse")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body over 1048576 bytes"), "{answer}");
    assert_eq!(
        Store::open(&DbTarget::Sqlite(db.to_path_buf()))
            .await
            .unwrap()
            .event_count()
            .await
            .unwrap(),
        0
    );
    rx.kill().await;
}

/// How a slow client misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slow {
    /// Connects and sends nothing.
    Idle,
    /// Sends a request head one byte a second, never finishing it.
    Trickle,
    /// Sends a complete head for a 1 MiB body, 64 KiB of it, then stalls.
    StalledBody,
    /// Sends one valid request, reads the answer, then keeps the connection open.
    IdleKeepAlive,
}

/// Runs one slow client; returns how long after connecting the receiver closed on it, and
/// what it answered (if anything).
async fn slow_client(
    mut conn: TcpStream,
    connected: Instant,
    kind: Slow,
    valid: Option<Vec<u8>>,
) -> (Duration, String) {
    let (mut read, mut write) = conn.split();
    let reader = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        (
            connected.elapsed(),
            String::from_utf8_lossy(&got).into_owned(),
        )
    };
    let writer = async {
        match kind {
            Slow::Idle => {}
            Slow::Trickle => {
                let head = b"POST /webhook/stripe HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                if write.write_all(head).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if write.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            }
            Slow::StalledBody => {
                let head = format!(
                    "POST /webhook/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                     Stripe-Signature: t={},v1={}\r\nContent-Length: {}\r\n\r\n",
                    common::now(),
                    "0".repeat(64),
                    1024 * 1024
                );
                let _ = write.write_all(head.as_bytes()).await;
                let _ = write.write_all(&vec![b' '; 64 * 1024]).await;
            }
            Slow::IdleKeepAlive => {
                let body = valid.unwrap();
                let sig = signature::sign(&body, WEBHOOK_SECRET, common::now());
                let head = format!(
                    "POST /webhook/stripe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                     Stripe-Signature: {sig}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = write.write_all(head.as_bytes()).await;
                let _ = write.write_all(&body).await;
            }
        }
        // Keep the connection open; the reader ends the test for this client.
        std::future::pending::<()>().await
    };
    tokio::select! {
        r = reader => r,
        () = writer => unreachable!(),
    }
}

/// Connects `n` slow clients of every kind (the first one an idle keep-alive) to `addr`.
async fn connect_slow_clients(
    addr: &str,
    n: usize,
) -> Vec<(Slow, tokio::task::JoinHandle<(Duration, String)>)> {
    let kinds = [Slow::Idle, Slow::Trickle, Slow::StalledBody];
    let mut clients = Vec::new();
    for i in 0..n {
        let kind = if i == 0 {
            Slow::IdleKeepAlive
        } else {
            kinds[i % kinds.len()]
        };
        let valid = (kind == Slow::IdleKeepAlive).then(|| {
            session_event(
                "evt_keepalive",
                "checkout.session.completed",
                "cs_test_keepalive",
                "paid",
            )
        });
        // One at a time, pausing every 50, so the burst never overflows the listen backlog
        // (an idle client whose handshake the kernel dropped would never be accepted at all).
        let conn = TcpStream::connect(addr).await.expect("connect");
        let connected = Instant::now();
        clients.push((
            kind,
            tokio::spawn(slow_client(conn, connected, kind, valid)),
        ));
        if i % 50 == 49 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Let every slow client send what it sends.
    tokio::time::sleep(Duration::from_secs(2)).await;
    clients
}

/// Five valid deliveries, one after another; each must be answered 200 within 8 s.
async fn time_valid_deliveries(url: &str, tag: &str) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for i in 0..5 {
        let body = session_event(
            &format!("evt_{tag}_{i}"),
            "checkout.session.completed",
            &format!("cs_test_{tag}_{i}"),
            "paid",
        );
        let started = Instant::now();
        let (status, answer) = tokio::time::timeout(
            Duration::from_secs(8),
            deliver(&http, url, &body, WEBHOOK_SECRET),
        )
        .await
        .expect("a valid delivery waited behind the slow clients");
        latencies.push(started.elapsed());
        assert_eq!(status, 200, "{answer}");
    }
    latencies
}

/// How many slow clients this process can hold `want` of (each costs a descriptor here).
fn slow_clients_allowed(want: usize) -> usize {
    let limit = raise_fd_limit();
    let n = want.min(limit.saturating_sub(200) as usize);
    if n < want {
        eprintln!("open-file limit {limit}: {n} slow clients instead of {want}");
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_delivery_is_served_promptly_while_1000_slow_clients_wait_and_each_is_cut_off() {
    // A thousand sockets here and a thousand in the receiver (it inherits this limit).
    let slow = slow_clients_allowed(1000);
    let db = temp_db("slow");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let pid = rx.child.id().unwrap();
    let clients = connect_slow_clients(&host_port(&rx.url), slow).await;
    let open = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    eprintln!("receiver has {open} open file descriptors with {slow} slow clients");
    let latencies = time_valid_deliveries(&rx.url, "prompt").await;
    eprintln!("valid deliveries with {slow} slow clients connected: {latencies:?}");

    // Every slow client is cut off by a deadline (10 s for heads and idling, 10 s for a
    // body), not left holding its socket and buffer.
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut worst = [Duration::ZERO; 4];
    let mut never = [0usize; 4];
    for (kind, client) in clients {
        let k = kind as usize;
        let Ok(done) = tokio::time::timeout_at(deadline.into(), client).await else {
            never[k] += 1;
            continue;
        };
        let (closed_after, answer) = done.unwrap();
        worst[k] = worst[k].max(closed_after);
        match kind {
            Slow::StalledBody => assert!(answer.starts_with("HTTP/1.1 408"), "{answer}"),
            Slow::IdleKeepAlive => assert!(answer.starts_with("HTTP/1.1 200"), "{answer}"),
            Slow::Idle | Slow::Trickle => {}
        }
        assert!(
            closed_after >= Duration::from_secs(9),
            "a {kind:?} client was cut off after only {closed_after:?}"
        );
    }
    assert_eq!(
        never, [0; 4],
        "clients never disconnected (idle, trickling head, stalled body, idle keep-alive)"
    );
    eprintln!(
        "slowest disconnects: idle {:?}, trickling head {:?}, stalled body {:?}, idle keep-alive {:?}; receiver peak RSS {} KiB",
        worst[0],
        worst[1],
        worst[2],
        worst[3],
        peak_rss_kib(pid)
    );
    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    assert_eq!(
        ledger
            .orders(&Scope::Operator, Some(OrderStatus::Paid), 100)
            .await
            .unwrap()
            .len(),
        6
    );
    let log = rx.kill().await;
    assert!(!log.contains(WEBHOOK_SECRET), "the secret reached the log");
}

/// A signed Checkout Session event with `data.object` replaced by `object`.
fn signed_event_with(event_id: &str, kind: &str, object: Value) -> Vec<u8> {
    let mut event: Value =
        serde_json::from_slice(&session_event(event_id, kind, "cs_x", "paid")).unwrap();
    event["data"]["object"] = object;
    serde_json::to_vec(&event).unwrap()
}

#[tokio::test]
async fn odd_signed_events_are_acknowledged_once_and_never_fulfilled_and_their_values_are_never_quoted()
 {
    let db = temp_db("odd");
    let out = db.with_file_name("fulfilled.jsonl");
    let rx = start_receiver(
        &db,
        WEBHOOK_SECRET,
        &["--on-paid", &format!("cat >> '{}'", out.display())],
    )
    .await;
    let http = reqwest::Client::new();
    let session = |status: Option<&str>| {
        let mut o = json!({
            "id": "cs_test_odd", "object": "checkout.session", "amount_total": 4999,
            "currency": "usd", "customer_details": {"email": "jane@example.com"},
            "metadata": {"product_id": "sku-tee"}, "mode": "payment", "status": "complete"
        });
        if let Some(s) = status {
            o["payment_status"] = json!(s);
        }
        o
    };
    let completed = "checkout.session.completed";
    let cases = [
        ("evt_odd_none", completed, session(None)),
        ("evt_odd_later", completed, session(Some("PAID_LATER"))),
        ("evt_odd_quote", completed, session(Some(CUSTOMER_DATA))),
        (
            "evt_odd_charge",
            completed,
            json!({"id": "ch_3Test", "object": "charge", "paid": true, "payment_status": "paid",
                   "status": "succeeded", "amount": 4999}),
        ),
        (
            "evt_odd_async_charge",
            "checkout.session.async_payment_succeeded",
            json!({"id": "ch_3Test", "object": "charge", "payment_status": "paid"}),
        ),
    ];
    for (id, kind, object) in &cases {
        let body = signed_event_with(id, kind, object.clone());
        let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
        assert_eq!(status, 200, "{id}: {answer}");
        assert!(answer.contains(r#""duplicate":false"#), "{id}: {answer}");
        // Recorded: the redelivery is a duplicate, acknowledged, still not fulfilled.
        let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
        assert_eq!(status, 200, "{id}: {answer}");
        assert!(answer.contains(r#""duplicate":true"#), "{id}: {answer}");
    }

    // Signed, but a value of the wrong type: refused without quoting it.
    let mut bad: Value = serde_json::from_slice(&session_event(
        "evt_bad_type",
        completed,
        "cs_test_odd",
        "paid",
    ))
    .unwrap();
    bad["created"] = json!(CUSTOMER_DATA);
    let bad = serde_json::to_vec(&bad).unwrap();
    let (status, answer) = deliver(&http, &rx.url, &bad, WEBHOOK_SECRET).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("not a Stripe event"), "{answer}");
    assert!(
        !answer.contains("CUSTOMER"),
        "the refusal quotes the body: {answer}"
    );

    // A real paid checkout still pays, once.
    let body = session_event("evt_odd_real", completed, "cs_test_odd_real", "paid");
    let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
    assert_eq!(status, 200, "{answer}");

    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    let orders = ledger.orders(&Scope::Operator, None, 10).await.unwrap();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].session_id, "cs_test_odd_real");
    assert!(
        ledger
            .order(&Scope::Operator, "cs_test_odd")
            .await
            .unwrap()
            .is_none()
    );
    for (id, _, _) in &cases {
        assert!(ledger.has_event(id).await.unwrap(), "{id} was not recorded");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fulfilled = std::fs::read_to_string(&out).unwrap_or_default();
    assert_eq!(fulfilled.lines().count(), 1, "{fulfilled}");
    assert!(fulfilled.contains("cs_test_odd_real"));

    let log = rx.kill().await;
    assert_eq!(
        log.matches("webhook ignored: not fulfilled").count(),
        cases.len(),
        "{log}"
    );
    for word in ["CUSTOMER", "4242", "PAID_LATER", "jane@example.com"] {
        assert!(
            !log.contains(word),
            "the log quotes the body ({word}):\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_1024_file_soft_limit_1100_slow_clients_do_not_lock_out_a_valid_delivery() {
    // Before, the receiver ran out of descriptors: accept failed and deliveries timed out.
    let slow = slow_clients_allowed(1100);
    let db = temp_db("nofile");
    let rx = common::start_receiver_with_soft_nofile(&db, WEBHOOK_SECRET, 1024).await;
    let clients = connect_slow_clients(&host_port(&rx.url), slow).await;
    let latencies = time_valid_deliveries(&rx.url, "nofile").await;
    eprintln!(
        "valid deliveries with {slow} slow clients, receiver started at ulimit -Sn 1024: {latencies:?}"
    );
    for (_, c) in clients {
        c.abort();
    }
    rx.kill().await;
}
