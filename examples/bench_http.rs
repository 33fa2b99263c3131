//! The remote benchmark: `stripe-mcp serve --http` under 10, 100 and 1,000 concurrent
//! clients of both protocol generations, its memory per idle session, and the same calls
//! against the Python FastMCP peer (`../shared/anchors/fastmcp_server.py`) over streamable
//! HTTP, in one run on one machine.
//!
//! Run it through `bash scripts/bench` (it builds, installs the peer's venv and sets the
//! variables below); directly:
//!
//! ```sh
//! cargo build --release --bin stripe-mcp --example bench_http
//! target/release/examples/bench_http [--seconds 5] [--sessions 1000]
//! ```
//!
//! - `BENCH_PEER_PYTHON`, `BENCH_PEER_SCRIPT`: the peer's Python (with `fastmcp` and
//!   `stripe`) and `fastmcp_server.py`; its rows are skipped, with the reason, without them;
//! - `BENCH_STRIPE_MCP`: another `stripe-mcp` binary to measure (default: the one built
//!   beside this program), e.g. an older build for a before/after comparison.
//!
//! Both servers talk to the same in-process Stripe-shaped responder
//! (`tests/common/faulty.rs` with no faults), so the figures are the servers' own overhead.
//! The load generator, the responder and the server share this machine's cores: every
//! figure is a lower bound of what the server alone could do. Each client is one task
//! that calls, waits for the answer, and calls again (`get_balance` and `list_customers`
//! in turn), over a shared keep-alive pool with one connection per client. Latency is
//! from sending the request to the last byte of its answer.
//! Our server runs with `--rate-limit` raised (its default, 20 calls/s per tenant, is a
//! guard for Stripe's account limit, not a figure to measure) and its access log on.

#[path = "../tests/common/faulty.rs"]
mod faulty;

use std::{
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

const KEY: &str = "sk_test_BENCHMARKKEY0000000000000000";
const ACCEPT: &str = "application/json, text/event-stream";

/// The two ways a client speaks to a streamable-HTTP server.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// `initialize`, then every call on its `Mcp-Session-Id`.
    Sessions,
    /// 2026-07-28: no session; every request carries the client's `_meta`.
    Stateless,
}

impl Generation {
    fn label(self) -> &'static str {
        match self {
            Generation::Sessions => "2025-11-25",
            Generation::Stateless => "2026-07-28",
        }
    }
}

/// A server under test: a child process serving MCP at `url`.
struct Target {
    url: String,
    child: tokio::process::Child,
}

impl Target {
    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}

/// `VmRSS` or `VmHWM` of a process, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The JSON-RPC messages of an answer: one JSON body or the `data:` lines of an SSE body.
fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    })
}

/// One client's connection state: its session, if its generation has one.
struct Session {
    http: reqwest::Client,
    url: String,
    generation: Generation,
    id: Option<String>,
}

impl Session {
    async fn post(&self, body: &Value) -> Result<Vec<Value>, String> {
        let mut r = self
            .http
            .post(&self.url)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(id) = &self.id {
            r = r.header("mcp-session-id", id);
        }
        if self.generation == Generation::Stateless {
            r = r
                .header("mcp-protocol-version", "2026-07-28")
                .header("mcp-method", body["method"].as_str().unwrap_or_default());
            if let Some(name) = body["params"]["name"].as_str() {
                r = r.header("mcp-name", name);
            }
        } else if self.id.is_some() {
            r = r.header("mcp-protocol-version", "2025-11-25");
        }
        let r = r.send().await.map_err(|e| format!("send: {e}"))?;
        let status = r.status();
        let text = r.text().await.map_err(|e| format!("read: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "HTTP {status}: {}",
                text.chars().take(200).collect::<String>()
            ));
        }
        Ok(messages(&text))
    }

    /// Opens the session (2025-11-25) or does nothing (2026-07-28).
    async fn open(
        http: reqwest::Client,
        url: String,
        generation: Generation,
    ) -> Result<Session, String> {
        let mut s = Session {
            http,
            url,
            generation,
            id: None,
        };
        if generation == Generation::Stateless {
            return Ok(s);
        }
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}});
        let r = s
            .http
            .post(&s.url)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .body(init.to_string())
            .send()
            .await
            .map_err(|e| format!("initialize: {e}"))?;
        let id = r
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| format!("initialize answered {} without a session", r.status()))?;
        let _ = r.text().await;
        s.id = Some(id);
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = s
            .http
            .post(&s.url)
            .header("accept", ACCEPT)
            .header("content-type", "application/json")
            .header("mcp-session-id", s.id.as_deref().unwrap_or_default())
            .header("mcp-protocol-version", "2025-11-25")
            .body(done.to_string())
            .send()
            .await
            .map_err(|e| format!("initialized: {e}"))?;
        let _ = r.text().await;
        Ok(s)
    }

    /// One tool call; Ok when it answered without `isError`.
    async fn call(&self, n: u64, tool: &str, args: Value) -> Result<(), String> {
        let mut params = json!({"name": tool, "arguments": args});
        if self.generation == Generation::Stateless {
            params["_meta"] = meta();
        }
        let body = json!({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params});
        let answer = self.post(&body).await?;
        let result = answer
            .iter()
            .find(|m| m["id"] == n)
            .ok_or_else(|| "no answer in the response".to_owned())?;
        if result["result"]["isError"] == true || result.get("error").is_some() {
            return Err(format!(
                "tool error: {}",
                result.to_string().chars().take(200).collect::<String>()
            ));
        }
        // The peer reports Stripe failures as a normal result reading {"error": ...}.
        if result["result"]["structuredContent"]["error"].is_string() {
            return Err("peer error result".into());
        }
        Ok(())
    }
}

/// One level's figures.
struct Level {
    clients: usize,
    calls: u64,
    errors: u64,
    first_error: Option<String>,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn http_pool(clients: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(clients + 16)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .expect("reqwest client")
}

/// `clients` concurrent clients calling for `seconds` (after one second of warm-up).
async fn level(url: &str, generation: Generation, clients: usize, seconds: u64) -> Level {
    let http = http_pool(clients);
    let mut sessions = Vec::with_capacity(clients);
    let mut open = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, url) = (http.clone(), url.to_owned());
        open.spawn(async move { Session::open(http, url, generation).await });
    }
    let mut errors = 0u64;
    let mut first_error = None;
    while let Some(s) = open.join_next().await {
        match s.expect("task") {
            Ok(s) => sessions.push(Arc::new(s)),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    let warmed = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in sessions.iter().enumerate() {
        let (s, measuring, stop, counted, warmed) = (
            s.clone(),
            measuring.clone(),
            stop.clone(),
            counted.clone(),
            warmed.clone(),
        );
        set.spawn(async move {
            let mut lat = Vec::new();
            let mut first_call = true;
            let (mut errs, mut first) = (0u64, None);
            let mut n = (i as u64) << 32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let (tool, args) = if n.is_multiple_of(2) {
                    ("get_balance", json!({}))
                } else {
                    ("list_customers", json!({"limit": 3}))
                };
                let t0 = Instant::now();
                let r = s.call(n, tool, args).await;
                if first_call {
                    first_call = false;
                    warmed.fetch_add(1, Ordering::Relaxed);
                }
                if measuring.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    match r {
                        Ok(()) => {
                            lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                            counted.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errs += 1;
                            first.get_or_insert(e);
                        }
                    }
                }
            }
            (lat, errs, first)
        });
    }
    // Warm-up: one second, and until every client has had its first answer, so a slow
    // server is measured in its steady state rather than while its first answers queue.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let warm_deadline = Instant::now() + Duration::from_secs(120);
    while warmed.load(Ordering::Relaxed) < sessions.len() as u64 && Instant::now() < warm_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = warmed.load(Ordering::Relaxed);
    if ready < sessions.len() as u64 {
        eprintln!(
            "bench_http: only {ready} of {} clients had an answer within 120 s; measuring anyway",
            sessions.len()
        );
    }
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    // A server slower than one answer per client in the window gets a longer one (up to a
    // minute), so its rate is measured rather than reported as zero.
    while counted.load(Ordering::Relaxed) < sessions.len() as u64
        && t0.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let elapsed = t0.elapsed().as_secs_f64();
    let calls = counted.load(Ordering::Relaxed);
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        let (lat, errs, first) = r.expect("task");
        all.extend(lat);
        errors += errs;
        if first_error.is_none() {
            first_error = first;
        }
    }
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    for s in &sessions {
        if let Some(id) = &s.id {
            let _ = s
                .http
                .delete(&s.url)
                .header("mcp-session-id", id)
                .send()
                .await;
        }
    }
    Level {
        clients,
        calls,
        errors,
        first_error,
        per_second: calls as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

/// Waits for a stderr line containing `needle` and returns it; the rest of stderr is drained.
async fn line_with(child: &mut tokio::process::Child, needle: &'static str) -> Option<String> {
    let stderr = child.stderr.take()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(needle)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(line);
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .ok()?
        .ok()
}

async fn start_ours(api_base: &str) -> Target {
    let exe = std::env::current_exe().expect("current exe");
    // `BENCH_STRIPE_MCP` measures another build (an older one, for a before/after).
    let bin = match std::env::var_os("BENCH_STRIPE_MCP") {
        Some(bin) => std::fs::canonicalize(&bin).unwrap_or_else(|_| std::path::PathBuf::from(bin)),
        None => exe
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("stripe-mcp"))
            .expect("target dir"),
    };
    assert!(
        bin.exists(),
        "{} not found: cargo build --release first",
        bin.display()
    );
    let mut child = tokio::process::Command::new(bin)
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--rate-limit",
            "1000000",
            "--rate-burst",
            "1000000",
            "--max-connections",
            "4096",
            // One tenant (the server's own key) plays every client here.
            "--max-sessions-per-tenant",
            "100000",
            "--max-calls-per-tenant",
            "100000",
            "--max-unauthenticated",
            "4096",
        ])
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("RUST_LOG", "info,rmcp=warn")
        // The responder has no rate limit; the per-key read budget (Stripe's 25 reads/s in
        // test mode) would otherwise cap every client of this one key together.
        .env("STRIPE_MCP_READ_RATE", "10000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn stripe-mcp");
    let line = line_with(&mut child, "listening on ")
        .await
        .expect("stripe-mcp serve --http did not start");
    let url = line
        .split("listening on ")
        .nth(1)
        .expect("address")
        .trim()
        .to_owned();
    Target { url, child }
}

async fn start_peer(api_base: &str) -> Result<Target, String> {
    let python = std::env::var("BENCH_PEER_PYTHON").map_err(
        |_| "BENCH_PEER_PYTHON is not set (scripts/bench makes a venv with fastmcp and stripe)",
    )?;
    let script = std::env::var("BENCH_PEER_SCRIPT").map_err(|_| "BENCH_PEER_SCRIPT is not set")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut child = tokio::process::Command::new(python)
        .arg(script)
        .env("STRIPE_SECRET_KEY", KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("MCP_TRANSPORT", "http")
        .env("MCP_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn the peer: {e}"))?;
    // uvicorn says so on stderr once it listens.
    line_with(&mut child, "Uvicorn running")
        .await
        .ok_or("the peer did not start within 60 s")?;
    Ok(Target {
        url: format!("http://127.0.0.1:{port}/mcp/"),
        child,
    })
}

/// Opens `n` sessions and leaves them idle: (RSS before, RSS after, peak), in KiB.
async fn idle_sessions(target: &Target, n: usize) -> Result<(u64, u64, u64), String> {
    let pid = target.pid();
    let http = http_pool(64);
    // Warm the server first, so one-time allocations are not counted against sessions.
    let warm = Session::open(http.clone(), target.url.clone(), Generation::Sessions).await?;
    warm.call(1, "get_balance", json!({})).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = status_kib(pid, "VmRSS:");
    let mut open = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(50) {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..50.min(n - chunk * 50) {
            let (http, url) = (http.clone(), target.url.clone());
            set.spawn(async move { Session::open(http, url, Generation::Sessions).await });
        }
        while let Some(s) = set.join_next().await {
            open.push(s.expect("task")?);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    for s in &open {
        if let Some(id) = &s.id {
            let _ = s
                .http
                .delete(&s.url)
                .header("mcp-session-id", id)
                .send()
                .await;
        }
    }
    Ok((before, after, peak))
}

fn print_levels(name: &str, generation: Generation, levels: &[Level]) {
    for l in levels {
        println!(
            "| {name} | {} | {} | {:.0} | {:.2} | {:.2} | {} of {} |",
            generation.label(),
            l.clients,
            l.per_second,
            l.p50_ms,
            l.p99_ms,
            l.errors,
            l.calls + l.errors
        );
        if let Some(e) = &l.first_error {
            eprintln!(
                "bench_http: {name} {} x{}: first error: {e}",
                generation.label(),
                l.clients
            );
        }
    }
}

#[tokio::main]
async fn main() {
    let seconds = arg("--seconds", 5);
    let sessions = arg("--sessions", 1000) as usize;
    let responder = faulty::FaultyStripe::start(faulty::Faults::none()).await;
    let base = responder.uri();
    let counts = [10usize, 100, 1000];
    // `--only peer` or `--only ours` runs one side (for a quick look; the table wants both).
    let only = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .unwrap_or_default();

    let ours = start_ours(&base).await;
    let mut ours_levels = Vec::new();
    let generations = if only == "peer" {
        vec![]
    } else {
        vec![Generation::Sessions, Generation::Stateless]
    };
    for generation in generations {
        let mut levels = Vec::new();
        for &c in &counts {
            eprintln!(
                "bench_http: stripe-mcp {} with {c} clients",
                generation.label()
            );
            levels.push(level(&ours.url, generation, c, seconds).await);
        }
        ours_levels.push((generation, levels));
    }
    drop(ours);
    // Memory per idle session on a fresh process, so the load levels' buffers are not counted.
    let fresh = start_ours(&base).await;
    let ours_mem = idle_sessions(&fresh, sessions).await;
    drop(fresh);

    let peer = if only == "ours" {
        Err("left out (--only ours)".to_owned())
    } else {
        start_peer(&base).await
    };
    let (peer_levels, peer_mem) = match &peer {
        Ok(p) => {
            let mut levels = Vec::new();
            for &c in &counts {
                eprintln!("bench_http: FastMCP peer 2025-11-25 with {c} clients");
                levels.push(level(&p.url, Generation::Sessions, c, seconds).await);
            }
            let fresh = start_peer(&base).await;
            let mem = match &fresh {
                Ok(f) => idle_sessions(f, sessions).await,
                Err(e) => Err(e.clone()),
            };
            (Some(levels), Some(mem))
        }
        Err(e) => {
            eprintln!("bench_http: the FastMCP peer is skipped: {e}");
            (None, None)
        }
    };

    println!();
    println!(
        "### Remote (streamable HTTP), {seconds} s per level after a warm-up (1 s and every client answered once)"
    );
    println!();
    println!("| server | protocol | clients | calls/s | p50 ms | p99 ms | errors |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (generation, levels) in &ours_levels {
        print_levels("stripe-mcp", *generation, levels);
    }
    if let Some(levels) = &peer_levels {
        print_levels("FastMCP peer", Generation::Sessions, levels);
    }
    println!();
    let mem_row = |name: &str, m: &Option<Result<(u64, u64, u64), String>>| match m {
        Some(Ok((before, after, peak))) => println!(
            "| {name} | {sessions} | {:.1} MiB | {:.1} MiB | {:.1} KiB | {:.1} MiB |",
            *before as f64 / 1024.0,
            *after as f64 / 1024.0,
            after.saturating_sub(*before) as f64 / sessions as f64,
            *peak as f64 / 1024.0
        ),
        Some(Err(e)) => println!("| {name} | {sessions} | failed: {e} | | | |"),
        None => {}
    };
    println!(
        "| server (fresh process) | idle sessions | RSS before | RSS with sessions | per session | peak RSS |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    mem_row("stripe-mcp", &Some(ours_mem));
    mem_row("FastMCP peer", &peer_mem);
    if let Some(levels) = &peer_levels {
        println!();
        println!("| clients (2025-11-25) | stripe-mcp / peer calls/s |");
        println!("|---:|---:|");
        let sessions_levels = ours_levels.first().map(|l| &l.1[..]).unwrap_or_default();
        for (o, p) in sessions_levels.iter().zip(levels) {
            if p.calls == 0 {
                println!(
                    "| {} | the peer answered no call in the window |",
                    o.clients
                );
            } else {
                println!("| {} | {:.1}x |", o.clients, o.per_second / p.per_second);
            }
        }
    }
    println!();
    println!(
        "Machine: {} cores shared by the load generator, the responder and the server.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
