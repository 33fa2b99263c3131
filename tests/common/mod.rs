//! Shared test helpers: the real binary over stdio, mock Stripe, fixtures.
#![allow(dead_code)]

pub mod openapi;

use std::{process::Stdio, time::Duration};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// A key no real account has, recognisable in any output it leaks into.
pub const TEST_KEY: &str = "sk_test_STRIPEMCPTESTKEY0123456789";

/// The built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_stripe-mcp")
}

/// A running server, its MCP client, and its stderr being collected.
pub struct Server {
    /// The MCP client session.
    pub client: RunningService<RoleClient, ()>,
    /// Everything the server wrote to stderr, once it exits.
    stderr: tokio::task::JoinHandle<String>,
}

/// Options for [`spawn`].
pub struct Spawn<'a> {
    pub api_base: &'a str,
    pub key: &'a str,
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
}

impl<'a> Spawn<'a> {
    pub fn new(api_base: &'a str) -> Self {
        Spawn {
            api_base,
            key: TEST_KEY,
            args: vec![],
            env: vec![],
        }
    }

    pub fn key(mut self, key: &'a str) -> Self {
        self.key = key;
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }

    /// Spawns the binary with a clean environment and connects an MCP client.
    pub async fn start(self) -> Server {
        let cmd = tokio::process::Command::new(bin()).configure(|cmd| {
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("STRIPE_SECRET_KEY", self.key)
                .env("STRIPE_API_BASE", self.api_base)
                .env("STRIPE_MCP_RETRY_BASE_MS", "20")
                .env("RUST_LOG", "debug")
                .env("APP_BASE_URL", "https://shop.example")
                .args(&self.args);
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            // A .env in the test's working directory must not leak in.
            cmd.current_dir(std::env::temp_dir());
        });
        let (transport, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stripe-mcp");
        let mut stderr = stderr.expect("stderr piped");
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s).await;
            s
        });
        let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
            .await
            .expect("initialize timed out")
            .expect("initialize");
        Server { client, stderr }
    }
}

impl Server {
    /// Calls a tool with JSON arguments.
    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
        tokio::time::timeout(Duration::from_secs(60), self.client.call_tool(params))
            .await
            .expect("tool call timed out")
            .expect("tool call")
    }

    /// Closes the session (stdin) and returns everything the server logged.
    pub async fn stop(self) -> String {
        let _ = self.client.cancel().await;
        tokio::time::timeout(Duration::from_secs(10), self.stderr)
            .await
            .expect("server did not exit after stdin closed")
            .unwrap()
    }
}

/// The structured success output of a tool call; panics with the error otherwise.
pub fn ok(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    result
        .structured_content
        .clone()
        .expect("structuredContent present")
}

/// The `error` object of a failed tool call; panics if the call succeeded.
pub fn err(result: &CallToolResult) -> Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "tool succeeded: {}",
        text(result)
    );
    assert!(
        result.structured_content.is_none(),
        "an error must not be in structuredContent"
    );
    let v: Value = serde_json::from_str(&text(result)).expect("error text is one JSON object");
    v.get("error").cloned().expect("{\"error\": ...}")
}

/// The text content of a result.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let s = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&s).unwrap()
}

/// The localstripe URL the test script started, or None (after saying the test is skipped).
pub fn localstripe(test: &str) -> Option<String> {
    match std::env::var("LOCALSTRIPE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped {test}: LOCALSTRIPE_URL is not set (scripts/test starts localstripe and sets it)"
            );
            None
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into ordered pairs.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// `GET /v1/account` on `stripe` for requests made with `key` names the account `id`
/// (each key its own account, as Stripe answers).
pub async fn account_for(stripe: &wiremock::MockServer, key: &str, id: &str) {
    use wiremock::{
        Mock, ResponseTemplate,
        matchers::{header, method, path},
    };
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": id, "object": "account"})),
        )
        .mount(stripe)
        .await;
}

/// A mock Stripe that fails the test, on drop, if any request matched no other mock.
pub async fn mock_stripe() -> wiremock::MockServer {
    use wiremock::{Mock, ResponseTemplate, matchers::any};
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(418).set_body_json(serde_json::json!({"error": {
                "type": "invalid_request_error",
                "message": format!("unexpected request: {} {}", req.method, req.url.path()),
            }}))
        })
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: no unexpected request reaches Stripe")
        .mount(&server)
        .await;
    server
}

/// The signing secret the webhook tests use, recognisable in any output it leaks into.
pub const WEBHOOK_SECRET: &str = "whsec_STRIPEMCPTESTWEBHOOKSECRET";

/// A running `stripe-mcp webhooks` process.
pub struct Receiver {
    /// The process, for killing it.
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT/webhook/stripe`.
    pub url: String,
    /// Everything it wrote to stderr so far.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

/// Starts the receiver on a free port with this database and secret(s), plus extra flags.
pub async fn start_receiver(db: &std::path::Path, secret: &str, extra: &[&str]) -> Receiver {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_WEBHOOK_SECRET", secret)
        .env("RUST_LOG", "debug")
        .arg("webhooks")
        .arg("--listen=127.0.0.1:0")
        .arg("--db")
        .arg(db)
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("spawn stripe-mcp webhooks");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let addr = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("receiver exited before listening:\n{}", log.lock().unwrap());
    })
    .await
    .expect("receiver did not start listening");
    // Keep draining stderr so the child never blocks on a full pipe.
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    Receiver {
        child,
        url: format!("http://{addr}/webhook/stripe"),
        log,
    }
}

impl Receiver {
    /// Its stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops it (SIGKILL) and waits for it.
    pub async fn kill(mut self) -> String {
        let _ = self.child.kill().await;
        self.log()
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A Checkout Session event body as Stripe sends it (pretty-printed, like the real thing).
pub fn session_event(
    event_id: &str,
    kind: &str,
    session_id: &str,
    payment_status: &str,
) -> Vec<u8> {
    let status = match kind {
        "checkout.session.expired" => "expired",
        _ => "complete",
    };
    serde_json::to_vec_pretty(&serde_json::json!({
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": now(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": {
            "id": session_id,
            "object": "checkout.session",
            "amount_total": 4999,
            "currency": "usd",
            "customer_details": {"email": "jane@example.com", "name": "Jane"},
            "metadata": {"product_id": "sku-tee"},
            "mode": "payment",
            "payment_intent": "pi_3Test",
            "payment_status": payment_status,
            "status": status
        }}
    }))
    .unwrap()
}

/// Posts a body signed now with `secret`; returns the status and the answer.
pub async fn deliver(
    http: &reqwest::Client,
    url: &str,
    body: &[u8],
    secret: &str,
) -> (u16, String) {
    let sig = stripe_mcp::webhooks::signature::sign(body, secret, now());
    post_raw(http, url, body, Some(&sig)).await
}

/// Posts a body with the given Stripe-Signature header (or none).
pub async fn post_raw(
    http: &reqwest::Client,
    url: &str,
    body: &[u8],
    signature: Option<&str>,
) -> (u16, String) {
    let mut req = http
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_vec());
    if let Some(sig) = signature {
        req = req.header("Stripe-Signature", sig);
    }
    let resp = req.send().await.expect("delivery");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// A fresh database path in a fresh directory.
pub fn temp_db(name: &str) -> std::path::PathBuf {
    std::env::temp_dir()
        .join(format!("stripe-mcp-{name}-{}", uuid::Uuid::new_v4()))
        .join("orders.db")
}

/// Calls localstripe directly with the test key, as the merchant's other systems
/// would; panics unless it answers 2xx.
pub async fn localstripe_post(base: &str, path: &str, form: &[(&str, &str)]) -> Value {
    localstripe_call(
        reqwest::Client::new()
            .post(format!("{base}{path}"))
            .form(form),
        path,
    )
    .await
}

/// `GET` counterpart of [`localstripe_post`].
pub async fn localstripe_get(base: &str, path: &str) -> Value {
    localstripe_call(reqwest::Client::new().get(format!("{base}{path}")), path).await
}

async fn localstripe_call(request: reqwest::RequestBuilder, path: &str) -> Value {
    let resp = request.bearer_auth(TEST_KEY).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// Checks every request the mock received against Stripe's OpenAPI description,
/// skipping problems `ignore(method, path, problem)` accepts (a parameter newer
/// than the spec), and fails with all of them at once.
pub fn assert_requests_match_spec(
    spec: &openapi::Spec,
    requests: &[wiremock::Request],
    ignore: impl Fn(&str, &str, &str) -> bool,
) {
    let mut problems = Vec::new();
    for r in requests {
        let body = std::str::from_utf8(&r.body).unwrap();
        let query = r.url.query().unwrap_or("");
        for p in spec.check_request(r.method.as_str(), r.url.path(), query, body) {
            if !ignore(r.method.as_str(), r.url.path(), &p) {
                problems.push(format!(
                    "{} {}: {p}\n    query: {query:?}\n    body: {body}",
                    r.method,
                    r.url.path()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "requests that do not match the spec:\n{}",
        problems.join("\n")
    );
}

/// `tag` made unique per call, so tests sharing one localstripe never collide.
pub fn unique(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// A unique email address for objects a test creates.
pub fn unique_email(tag: &str) -> String {
    format!("{}@example.com", unique(tag))
}

/// Raises this process's soft open-file limit to its hard limit (children inherit it) and
/// returns the soft limit now: tests that open a thousand sockets size themselves to it.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur as u64
}

/// CPU time (user + system) a process has used so far, from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// A process's peak resident memory (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc/PID/status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// [`start_receiver`] with the receiver's soft open-file limit set to `soft` before it
/// starts (the hard limit is left alone), as under a default `ulimit -n 1024`.
pub async fn start_receiver_with_soft_nofile(
    db: &std::path::Path,
    secret: &str,
    soft: u64,
) -> Receiver {
    use tokio::io::AsyncBufReadExt;
    let mut cmd = tokio::process::Command::new(bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_WEBHOOK_SECRET", secret)
        .env("RUST_LOG", "debug")
        .arg("webhooks")
        .arg("--listen=127.0.0.1:0")
        .arg("--db")
        .arg(db)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    // SAFETY: between fork and exec only getrlimit/setrlimit run: async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur = (soft as libc::rlim_t).min(lim.rlim_max);
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn stripe-mcp webhooks");
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let addr = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            if let Some(rest) = line.split("listening on ").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("receiver exited before listening:\n{}", log.lock().unwrap());
    })
    .await
    .expect("receiver did not start listening");
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    Receiver {
        child,
        url: format!("http://{addr}/webhook/stripe"),
        log,
    }
}
