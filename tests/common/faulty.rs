//! A Stripe stand-in on loopback that injects faults and keeps the books.
//!
//! It speaks just enough HTTP/1.1 (keep-alive, Content-Length) to serve the
//! four core tools' endpoints with Stripe-shaped bodies from `tests/fixtures/`,
//! and, per request, from a seeded hash of (request identity, attempt number),
//! answers 500, answers 429 (half of them with `Stripe-Should-Retry: false`),
//! drops the connection mid-response, or answers after a delay longer than the
//! client's timeout. Every answer to a fault carries a marker (`injected ...`)
//! in Stripe's error message, so a test can check what the tool made of it.
//!
//! Writes follow Stripe's idempotency model: the first request with a key that
//! gets past the 500/429 faults is applied and its response stored before any
//! drop or delay; every later request with that key replays the stored
//! response (a different body under the same key is a 400 `idempotency_error`,
//! as Stripe answers). It counts requests per key and objects created per key,
//! which is what "no write is applied twice" is checked against.
//!
//! With [`Faults::none`] it is the benchmark's minimal in-process responder.
//! Include it with `#[path = "common/faulty.rs"] mod faulty;`.
#![allow(dead_code)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// How often each fault happens, per request.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Seeds the fault schedule: the same seed gives the same faults.
    pub seed: u64,
    /// Answer 500 (nothing applied).
    pub p500: f64,
    /// Answer 429 (nothing applied); half of them say `Stripe-Should-Retry: false`.
    pub p429: f64,
    /// Apply the request, send the headers and half the body, close the connection.
    pub p_drop: f64,
    /// Apply the request and answer only after `delay`.
    pub p_delay: f64,
    /// Longer than the client's timeout.
    pub delay: Duration,
}

impl Faults {
    /// The mix: 5% 500, 2% 429, 1% dropped mid-response, 0.5% delayed.
    pub fn soak(seed: u64) -> Faults {
        Faults {
            seed,
            p500: 0.05,
            p429: 0.02,
            p_drop: 0.01,
            p_delay: 0.005,
            delay: Duration::from_millis(1500),
        }
    }

    /// No faults: a plain fast responder.
    pub fn none() -> Faults {
        Faults {
            seed: 0,
            p500: 0.0,
            p429: 0.0,
            p_drop: 0.0,
            p_delay: 0.0,
            delay: Duration::ZERO,
        }
    }
}

/// What one request was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A normal answer.
    None,
    /// 500, retryable.
    ServerError,
    /// 429 without `Stripe-Should-Retry` (retryable).
    RateLimited,
    /// 429 with `Stripe-Should-Retry: false`.
    RateLimitedNoRetry,
    /// Headers and half the body, then the connection closes.
    Dropped,
    /// The full answer, after the delay.
    Delayed,
}

/// The books one write key keeps.
#[derive(Debug, Clone, Default)]
pub struct KeyRecord {
    /// Every request that carried this key, faulted or not.
    pub requests: u32,
    /// Objects this key created: must never exceed 1.
    pub created: u32,
    /// Requests answered from the stored response.
    pub replays: u32,
    /// The body of the request that created the object.
    pub body: Option<String>,
    /// The id of the object created.
    pub object_id: Option<String>,
    /// The stored response (status, body) replayed for the same key.
    pub response: Option<(u16, String)>,
}

/// Totals, for the report.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests received, by fault given.
    pub by_fault: HashMap<Fault, u64>,
    /// Requests by `METHOD path`.
    pub by_endpoint: HashMap<String, u64>,
    /// Writes that reused a key with a different body (must stay 0).
    pub key_reused_with_other_params: u64,
    /// Requests to anything but the four endpoints.
    pub unexpected: Vec<String>,
}

#[derive(Default)]
struct Books {
    keys: HashMap<String, KeyRecord>,
    attempts: HashMap<String, u32>,
    stats: Stats,
}

struct State {
    faults: Faults,
    books: Mutex<Books>,
    next_object: AtomicU64,
    next_request: AtomicU64,
}

/// The running stand-in.
pub struct FaultyStripe {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultyStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultyStripe {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start(faults: Faults) -> FaultyStripe {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            faults,
            books: Mutex::default(),
            next_object: AtomicU64::new(1),
            next_request: AtomicU64::new(1),
        });
        let task = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(stream, state.clone()));
                }
            })
        };
        FaultyStripe { addr, state, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A copy of the books of every write key.
    pub fn keys(&self) -> HashMap<String, KeyRecord> {
        self.state.books.lock().unwrap().keys.clone()
    }

    /// A copy of the totals.
    pub fn stats(&self) -> Stats {
        self.state.books.lock().unwrap().stats.clone()
    }

    /// Objects created, over all keys.
    pub fn objects_created(&self) -> u64 {
        self.state
            .books
            .lock()
            .unwrap()
            .keys
            .values()
            .map(|k| u64::from(k.created))
            .sum()
    }

    /// Requests received in all.
    pub fn requests(&self) -> u64 {
        self.state.next_request.load(Ordering::Relaxed) - 1
    }
}

/// SplitMix64: a good 64-bit mix for a seeded, order-free schedule.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fault for the `attempt`-th request (0-based) with this identity.
pub fn fault_for(faults: &Faults, identity: &str, attempt: u32) -> Fault {
    let h = mix(faults.seed ^ mix(fnv1a(identity) ^ u64::from(attempt)));
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    let mut edge = faults.p500;
    if u < edge {
        return Fault::ServerError;
    }
    edge += faults.p429;
    if u < edge {
        return if h & 1 == 0 {
            Fault::RateLimited
        } else {
            Fault::RateLimitedNoRetry
        };
    }
    edge += faults.p_drop;
    if u < edge {
        return Fault::Dropped;
    }
    edge += faults.p_delay;
    if u < edge {
        return Fault::Delayed;
    }
    Fault::None
}

/// One parsed request.
struct Request {
    method: String,
    target: String,
    idempotency_key: Option<String>,
    body: String,
}

async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Some(r) => r,
            None => return,
        };
        let keep_open = handle(&mut stream, &state, req).await;
        if !keep_open {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let mut content_length = 0usize;
    let mut idempotency_key = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("idempotency-key") {
            idempotency_key = Some(value.to_owned());
        }
    }
    let body_start = head_end + 4;
    while buf.len() < body_start + content_length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[body_start..body_start + content_length]).into_owned();
    buf.drain(..body_start + content_length);
    Some(Request {
        method,
        target,
        idempotency_key,
        body,
    })
}

/// Answers one request; false when the connection must close.
async fn handle(stream: &mut TcpStream, state: &State, req: Request) -> bool {
    let request_no = state.next_request.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("req_fault{request_no}");
    let path = req.target.split('?').next().unwrap_or("").to_owned();
    let endpoint = format!("{} {path}", req.method);
    let identity = match &req.idempotency_key {
        Some(k) => format!("key:{k}"),
        None => format!("{} {}", req.method, req.target),
    };
    let (fault, answer) = {
        let mut books = state.books.lock().unwrap();
        *books.stats.by_endpoint.entry(endpoint.clone()).or_default() += 1;
        let attempt = {
            let a = books.attempts.entry(identity.clone()).or_default();
            *a += 1;
            *a - 1
        };
        let fault = fault_for(&state.faults, &identity, attempt);
        *books.stats.by_fault.entry(fault).or_default() += 1;
        if let Some(k) = &req.idempotency_key {
            books.keys.entry(k.clone()).or_default().requests += 1;
        }
        let answer = match fault {
            Fault::ServerError => Answer::error(500, "api_error", "injected 500", None),
            Fault::RateLimited => {
                Answer::error(429, "rate_limit_error", "injected 429 retry", None)
            }
            Fault::RateLimitedNoRetry => Answer::error(
                429,
                "rate_limit_error",
                "injected 429 no-retry",
                Some(false),
            ),
            Fault::None | Fault::Dropped | Fault::Delayed => {
                respond(state, &mut books, &endpoint, &req)
            }
        };
        (fault, answer)
    };
    let body = answer.body.as_bytes();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nRequest-Id: {request_id}\r\n",
        answer.status,
        reason(answer.status),
        body.len()
    );
    if let Some(r) = answer.should_retry {
        head.push_str(&format!("Stripe-Should-Retry: {r}\r\n"));
    }
    if fault == Fault::Dropped {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    match fault {
        Fault::Dropped => {
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body[..body.len() / 2]).await;
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
            false
        }
        Fault::Delayed => {
            tokio::time::sleep(state.faults.delay).await;
            let mut out = head.into_bytes();
            out.extend_from_slice(body);
            stream.write_all(&out).await.is_ok()
        }
        _ => {
            let mut out = head.into_bytes();
            out.extend_from_slice(body);
            stream.write_all(&out).await.is_ok()
        }
    }
}

struct Answer {
    status: u16,
    body: String,
    should_retry: Option<bool>,
}

impl Answer {
    fn ok(body: String) -> Answer {
        Answer {
            status: 200,
            body,
            should_retry: None,
        }
    }

    fn error(status: u16, kind: &str, message: &str, should_retry: Option<bool>) -> Answer {
        Answer {
            status,
            body: json!({"error": {"type": kind, "message": message}}).to_string(),
            should_retry,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    }
}

fn fixture(raw: &str) -> Value {
    serde_json::from_str(raw).expect("fixture is JSON")
}

/// The normal answer: reads from fixtures, writes applied at most once per key.
fn respond(state: &State, books: &mut Books, endpoint: &str, req: &Request) -> Answer {
    match endpoint {
        "GET /v1/balance" => Answer::ok(include_str!("../fixtures/balance.json").to_owned()),
        "GET /v1/customers" => {
            Answer::ok(include_str!("../fixtures/customer_list.json").to_owned())
        }
        "POST /v1/refunds" | "POST /v1/checkout/sessions" => {
            let Some(key) = req.idempotency_key.clone() else {
                return Answer::error(
                    400,
                    "invalid_request_error",
                    "a write without an Idempotency-Key",
                    None,
                );
            };
            let Books { keys, stats, .. } = books;
            let record = keys.entry(key).or_default();
            if let Some((status, body)) = &record.response {
                if record.body.as_deref() != Some(req.body.as_str()) {
                    stats.key_reused_with_other_params += 1;
                    return Answer::error(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        None,
                    );
                }
                record.replays += 1;
                return Answer {
                    status: *status,
                    body: body.clone(),
                    should_retry: None,
                };
            }
            let n = state.next_object.fetch_add(1, Ordering::Relaxed);
            let form: HashMap<String, String> = url::form_urlencoded::parse(req.body.as_bytes())
                .into_owned()
                .collect();
            let object = if endpoint == "POST /v1/refunds" {
                let mut v = fixture(include_str!("../fixtures/refund.json"));
                let id = format!("re_soak{n}");
                v["id"] = json!(id);
                if let Some(a) = form.get("amount").and_then(|a| a.parse::<i64>().ok()) {
                    v["amount"] = json!(a);
                }
                v["payment_intent"] = json!(form.get("payment_intent"));
                v["charge"] = json!(form.get("charge"));
                v
            } else {
                let mut v = fixture(include_str!("../fixtures/checkout_session.json"));
                let id = format!("cs_test_soak{n}");
                v["url"] = json!(format!("https://checkout.stripe.com/c/pay/{id}"));
                v["id"] = json!(id);
                v
            };
            let body = object.to_string();
            record.created += 1;
            record.object_id = object["id"].as_str().map(str::to_owned);
            record.body = Some(req.body.clone());
            record.response = Some((200, body.clone()));
            Answer::ok(body)
        }
        _ => {
            books
                .stats
                .unexpected
                .push(format!("{} {}", req.method, req.target));
            Answer::error(404, "invalid_request_error", "unexpected request", None)
        }
    }
}
