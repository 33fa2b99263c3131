//! The benchmark: stripe-mcp against Stripe's last local MCP server
//! (`@stripe/mcp` 0.2.5), both driven as raw JSON-RPC over pipes, against the
//! same local Stripe stand-ins, in one run on one machine.
//!
//! Run it through `bash scripts/bench` (it builds, installs the official server
//! with npm, starts localstripe and sets the variables below); directly:
//!
//! ```sh
//! cargo run --release --example bench -- [--runs 20] [--calls 1000] [--latency-calls 300]
//! ```
//!
//! - `BENCH_OFFICIAL_JS`: path of `@stripe/mcp/dist/index.js` (the column is
//!   skipped, with the reason, when it or `node` is missing);
//! - `BENCH_PRELOAD`: `scripts/bench-preload.js`, which points the official
//!   server's Stripe SDK at the stand-in;
//! - `LOCALSTRIPE_URL`: a running localstripe (its rows are skipped without it);
//! - `BENCH_STRIPE_MCP`: another `stripe-mcp` binary to measure (default: the one
//!   built beside this program), e.g. an older build for a before/after comparison.
//!
//! Figures are medians over repeated runs; peak RSS is `VmHWM` from
//! `/proc/<pid>/status`. The pure-overhead figures use an in-process responder
//! (`tests/common/faulty.rs` with no faults) that answers Stripe-shaped JSON.

#[path = "../tests/common/faulty.rs"]
mod faulty;
#[path = "../tests/common/rpc.rs"]
mod rpc;

use std::{
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use rpc::Rpc;
use serde_json::{Value, json};

const KEY: &str = "sk_test_BENCHMARKKEY0000000000000000";

/// Which server a column is.
#[derive(Clone)]
struct Server {
    /// Column title.
    name: &'static str,
    /// Program and arguments.
    program: String,
    args: Vec<String>,
    /// Tool names for the balance and the customer list.
    balance_tool: &'static str,
    customers_tool: &'static str,
    /// Environment that points it at a stand-in (`{base}` is replaced).
    base_env: &'static str,
}

impl Server {
    fn command(&self, base: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("STRIPE_SECRET_KEY", KEY)
            .env(self.base_env, base)
            .env("RUST_LOG", "warn")
            // The stand-ins have no rate limit: without this, our per-key read budget
            // (Stripe's documented 25 reads/s in test mode) would pace the loop, and what
            // is measured here is the server's own overhead. Others ignore it.
            .env("STRIPE_MCP_READ_RATE", "10000")
            .current_dir(std::env::temp_dir())
            .stderr(Stdio::null());
        cmd
    }

    fn spawn(&self, base: &str) -> Rpc {
        Rpc::spawn(self.command(base)).expect("spawn server")
    }
}

/// One server's figures; `None` where not measured.
#[derive(Default, Clone)]
struct Figures {
    init_ms: Option<f64>,
    list_ms: Option<f64>,
    rss_kib: Option<u64>,
    rss_idle_kib: Option<u64>,
    tools: Option<usize>,
    list_bytes: Option<usize>,
    /// (stand-in, tool) -> (median MCP µs, median direct µs, errors)
    latency: Vec<(String, String, f64, f64, usize)>,
    /// Per latency row: the server's CPU time per call, µs (all its threads), when known.
    cpu_us: Vec<Option<f64>>,
    /// (stand-in) -> (concurrent calls/s, sequential calls/s)
    throughput: Vec<(String, f64, f64)>,
    note: Vec<String>,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn cold_start(server: &Server, base: &str, runs: usize, f: &mut Figures) {
    let (mut init, mut list) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t0 = Instant::now();
        let rpc = server.spawn(base);
        if rpc.initialize().await.is_err() {
            f.note.push("initialize failed".into());
            return;
        }
        init.push(t0.elapsed().as_secs_f64() * 1e3);
        let (reply, bytes) = rpc
            .request_sized("tools/list", json!({}), rpc::LONG)
            .await
            .expect("tools/list");
        list.push(t0.elapsed().as_secs_f64() * 1e3);
        let tools = reply["result"]["tools"].as_array().map_or(0, Vec::len);
        f.tools = Some(tools);
        f.list_bytes = Some(bytes);
        rpc.close(Duration::from_secs(5)).await;
    }
    f.init_ms = Some(median(&mut init));
    f.list_ms = Some(median(&mut list));
}

/// Calls a tool and says whether it answered without an error. The official
/// server reports Stripe failures as a normal result reading "Failed to ...".
async fn call_ok(rpc: &Rpc, tool: &str, args: &Value) -> bool {
    match rpc.call_tool(tool, args.clone()).await {
        Ok(r) => !rpc::is_error(&r) && !rpc::result_text(&r).starts_with("Failed to"),
        Err(_) => false,
    }
}

async fn rss_session(server: &Server, base: &str, calls: usize, f: &mut Figures) {
    let rpc = server.spawn(base);
    rpc.initialize().await.expect("initialize");
    let _ = rpc.request("tools/list", json!({}), rpc::LONG).await;
    f.rss_idle_kib = rpc.peak_rss_kib();
    let customers = json!({"limit": 3});
    let mut errors = 0;
    for i in 0..calls {
        let ok = if i % 2 == 0 {
            call_ok(&rpc, server.balance_tool, &json!({})).await
        } else {
            call_ok(&rpc, server.customers_tool, &customers).await
        };
        errors += usize::from(!ok);
    }
    f.rss_kib = rpc.peak_rss_kib();
    if errors > 0 {
        f.note.push(format!(
            "{errors} of {calls} calls in the RSS session were errors"
        ));
    }
    rpc.close(Duration::from_secs(5)).await;
}

/// CPU time the process `pid` has used so far, all threads, in ns (Linux's
/// `/proc/<pid>/task/*/schedstat`); `None` elsewhere. Unlike a latency, it does not grow
/// when other programs compete for the cores.
fn cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Median time of `n` direct requests to the stand-in (keep-alive, same headers).
async fn direct(http: &reqwest::Client, url: &str, n: usize) -> f64 {
    let mut t = Vec::with_capacity(n);
    for i in 0..n + 20 {
        let t0 = Instant::now();
        let r = http
            .get(url)
            .bearer_auth(KEY)
            .header("Stripe-Version", "2026-10-28.endive")
            .send()
            .await
            .expect("direct request");
        let _ = r.bytes().await.expect("direct body");
        if i >= 20 {
            t.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    median(&mut t)
}

async fn latency(
    server: &Server,
    stand_in: &str,
    base: &str,
    n: usize,
    http: &reqwest::Client,
    f: &mut Figures,
) {
    let rpc = server.spawn(base);
    rpc.initialize().await.expect("initialize");
    for (tool, args, path) in [
        (server.balance_tool, json!({}), "/v1/balance"),
        (
            server.customers_tool,
            json!({"limit": 3}),
            "/v1/customers?limit=3",
        ),
    ] {
        // Warm-up: connection pool, JIT, allocator.
        for _ in 0..20 {
            call_ok(&rpc, tool, &args).await;
        }
        let mut t = Vec::with_capacity(n);
        let mut errors = 0;
        let cpu0 = cpu_ns(rpc.pid());
        for _ in 0..n {
            let t0 = Instant::now();
            let ok = call_ok(&rpc, tool, &args).await;
            t.push(t0.elapsed().as_secs_f64() * 1e6);
            errors += usize::from(!ok);
        }
        let cpu = cpu0
            .zip(cpu_ns(rpc.pid()))
            .map(|(a, b)| b.saturating_sub(a) as f64 / 1e3 / n as f64);
        f.cpu_us.push(cpu);
        let mcp = median(&mut t);
        let direct = direct(http, &format!("{base}{path}"), n).await;
        f.latency
            .push((stand_in.to_owned(), tool.to_owned(), mcp, direct, errors));
    }
    rpc.close(Duration::from_secs(5)).await;
}

async fn throughput(server: &Server, stand_in: &str, base: &str, rounds: usize, f: &mut Figures) {
    let rpc = Arc::new(server.spawn(base));
    rpc.initialize().await.expect("initialize");
    let args = json!({"limit": 3});
    for _ in 0..20 {
        call_ok(&rpc, server.customers_tool, &args).await;
    }
    let (mut conc, mut seq) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t0 = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..64 {
            let (rpc, tool, args) = (
                rpc.clone(),
                if i % 2 == 0 {
                    server.balance_tool
                } else {
                    server.customers_tool
                },
                if i % 2 == 0 { json!({}) } else { args.clone() },
            );
            set.spawn(async move { call_ok(&rpc, tool, &args).await });
        }
        while set.join_next().await.is_some() {}
        conc.push(64.0 / t0.elapsed().as_secs_f64());
        let t0 = Instant::now();
        for i in 0..64 {
            if i % 2 == 0 {
                call_ok(&rpc, server.balance_tool, &json!({})).await;
            } else {
                call_ok(&rpc, server.customers_tool, &args).await;
            }
        }
        seq.push(64.0 / t0.elapsed().as_secs_f64());
    }
    f.throughput
        .push((stand_in.to_owned(), median(&mut conc), median(&mut seq)));
    if let Ok(rpc) = Arc::try_unwrap(rpc) {
        rpc.close(Duration::from_secs(5)).await;
    }
}

fn official() -> Result<Server, String> {
    let js = std::env::var("BENCH_OFFICIAL_JS").map_err(|_| {
        "BENCH_OFFICIAL_JS is not set (scripts/bench installs @stripe/mcp@0.2.5 with npm and sets it)"
            .to_owned()
    })?;
    if !PathBuf::from(&js).exists() {
        return Err(format!("{js} does not exist"));
    }
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map_err(|_| "node is not installed".to_owned())?;
    let version = String::from_utf8_lossy(&node.stdout).trim().to_owned();
    let preload = std::env::var("BENCH_PRELOAD").unwrap_or_default();
    let mut args = Vec::new();
    if !preload.is_empty() {
        args.extend(["-r".to_owned(), preload]);
    }
    args.extend([js, "--tools=all".to_owned(), format!("--api-key={KEY}")]);
    eprintln!("bench: official server on node {version}");
    Ok(Server {
        name: "@stripe/mcp 0.2.5",
        program: "node".into(),
        args,
        balance_tool: "retrieve_balance",
        customers_tool: "list_customers",
        base_env: "STRIPE_BENCH_BASE",
    })
}

fn ours() -> Server {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/examples/bench -> target/<profile>/stripe-mcp
    let bin = match std::env::var_os("BENCH_STRIPE_MCP") {
        // Absolute: the server is started in the temporary directory.
        Some(bin) => std::fs::canonicalize(&bin).unwrap_or_else(|_| PathBuf::from(bin)),
        None => exe
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("stripe-mcp"))
            .expect("target dir"),
    };
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build --release)",
        bin.display()
    );
    Server {
        name: "stripe-mcp",
        program: bin.to_string_lossy().into_owned(),
        args: vec!["--tools=all".into()],
        balance_tool: "get_balance",
        customers_tool: "list_customers",
        base_env: "STRIPE_API_BASE",
    }
}

async fn seed_localstripe(http: &reqwest::Client, base: &str) {
    for i in 0..3 {
        let _ = http
            .post(format!("{base}/v1/customers"))
            .bearer_auth(KEY)
            .form(&[
                ("email", format!("bench{i}@example.com")),
                ("name", format!("Bench {i}")),
            ])
            .send()
            .await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = arg("--runs", 20);
    let calls = arg("--calls", 1000);
    let lat_n = arg("--latency-calls", 300);
    let rounds = arg("--rounds", 5);
    let responder = faulty::FaultyStripe::start(faulty::Faults::none()).await;
    let responder_base = responder.uri();
    let localstripe = std::env::var("LOCALSTRIPE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let http = reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    if let Some(ls) = &localstripe {
        seed_localstripe(&http, ls).await;
    }

    let mut servers = vec![ours()];
    let mut skipped = None;
    match official() {
        Ok(s) => servers.push(s),
        Err(why) => {
            eprintln!("bench: skipping @stripe/mcp 0.2.5: {why}");
            skipped = Some(why);
        }
    }

    let mut results: Vec<(Server, Figures)> = Vec::new();
    for server in &servers {
        eprintln!("bench: {} ...", server.name);
        let mut f = Figures::default();
        cold_start(server, &responder_base, runs, &mut f).await;
        rss_session(server, &responder_base, calls, &mut f).await;
        latency(server, "responder", &responder_base, lat_n, &http, &mut f).await;
        throughput(server, "responder", &responder_base, rounds, &mut f).await;
        if let Some(ls) = &localstripe {
            latency(server, "localstripe", ls, lat_n / 3, &http, &mut f).await;
            throughput(server, "localstripe", ls, rounds, &mut f).await;
        }
        results.push((server.clone(), f));
    }
    print_table(
        &results,
        runs,
        calls,
        lat_n,
        rounds,
        localstripe.is_some(),
        skipped.as_deref(),
    );
}

fn fmt_ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} ms"))
}

fn fmt_mib(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| format!("{:.1} MiB", v as f64 / 1024.0))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
            if a <= b {
                format!("1/{:.1}", b / a)
            } else {
                format!("{:.1}x", a / b)
            }
        }
        _ => "-".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn print_table(
    results: &[(Server, Figures)],
    runs: usize,
    calls: usize,
    lat_n: usize,
    rounds: usize,
    localstripe: bool,
    skipped: Option<&str>,
) {
    let ours = &results[0].1;
    let theirs = results.get(1).map(|r| &r.1);
    let t = |get: &dyn Fn(&Figures) -> String| -> String { theirs.map_or("skipped".into(), get) };
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut row = |what: String, a: String, b: String, r: String, target: &str| {
        rows.push([what, a, b, r, target.to_owned()]);
    };
    row(
        format!("cold start: spawn → `initialize` reply (median of {runs})"),
        fmt_ms(ours.init_ms),
        t(&|f| fmt_ms(f.init_ms)),
        ratio(ours.init_ms, theirs.and_then(|f| f.init_ms)),
        "",
    );
    let cold_ratio = theirs
        .and_then(|f| f.list_ms)
        .zip(ours.list_ms)
        .map(|(b, a)| b / a);
    row(
        format!("cold start: spawn → `tools/list` reply (median of {runs})"),
        fmt_ms(ours.list_ms),
        t(&|f| fmt_ms(f.list_ms)),
        ratio(ours.list_ms, theirs.and_then(|f| f.list_ms)),
        &match cold_ratio {
            Some(r) => format!("≤ 1/20: {}", if r >= 20.0 { "met" } else { "NOT met" }),
            None => "≤ 1/20".into(),
        },
    );
    let rss = |f: &Figures| f.rss_kib.map(|v| v as f64);
    let rss_ratio = theirs.and_then(rss).zip(rss(ours)).map(|(b, a)| b / a);
    row(
        format!("peak RSS (VmHWM) over {calls} tool calls"),
        fmt_mib(ours.rss_kib),
        t(&|f| fmt_mib(f.rss_kib)),
        ratio(rss(ours), theirs.and_then(rss)),
        &match rss_ratio {
            Some(r) => format!("≤ 1/5: {}", if r >= 5.0 { "met" } else { "NOT met" }),
            None => "≤ 1/5".into(),
        },
    );
    row(
        "peak RSS after initialize + tools/list (idle)".into(),
        fmt_mib(ours.rss_idle_kib),
        t(&|f| fmt_mib(f.rss_idle_kib)),
        ratio(
            ours.rss_idle_kib.map(|v| v as f64),
            theirs.and_then(|f| f.rss_idle_kib.map(|v| v as f64)),
        ),
        "",
    );
    let bytes = |f: &Figures| {
        f.list_bytes
            .zip(f.tools)
            .map(|(b, n)| format!("{b} B, {n} tools"))
            .unwrap_or("-".into())
    };
    row(
        "`tools/list` reply size".into(),
        bytes(ours),
        t(&|f| bytes(f)),
        ratio(
            ours.list_bytes.map(|v| v as f64),
            theirs.and_then(|f| f.list_bytes.map(|v| v as f64)),
        ),
        "",
    );
    let per_tool = |f: &Figures| {
        f.list_bytes
            .zip(f.tools)
            .filter(|(_, n)| *n > 0)
            .map(|(b, n)| b as f64 / n as f64)
    };
    row(
        "`tools/list` bytes per tool".into(),
        per_tool(ours).map_or("-".into(), |v| format!("{v:.0} B")),
        t(&|f| per_tool(f).map_or("-".into(), |v| format!("{v:.0} B"))),
        ratio(per_tool(ours), theirs.and_then(per_tool)),
        "",
    );
    for (i, (stand_in, _tool, _, direct, _)) in ours.latency.iter().enumerate() {
        let label = if i % 2 == 0 {
            "balance"
        } else {
            "list_customers"
        };
        let lat = |f: &Figures| f.latency.get(i).map(|l| l.2);
        let over = |f: &Figures| f.latency.get(i).map(|l| l.2 - l.3);
        let errs = |f: &Figures| {
            f.latency
                .get(i)
                .filter(|l| l.4 > 0)
                .map(|l| format!(" ({} errors)", l.4))
                .unwrap_or_default()
        };
        row(
            format!(
                "{label} via MCP, {stand_in} (median of {})",
                if stand_in == "responder" {
                    lat_n
                } else {
                    lat_n / 3
                }
            ),
            lat(ours).map_or("-".into(), |v| format!("{v:.0} µs{}", errs(ours))),
            t(&|f| lat(f).map_or("-".into(), |v| format!("{v:.0} µs{}", errs(f)))),
            ratio(lat(ours), theirs.and_then(lat)),
            "",
        );
        row(
            format!("  direct HTTP to {stand_in}"),
            format!("{direct:.0} µs"),
            t(&|f| {
                f.latency
                    .get(i)
                    .map_or("-".into(), |l| format!("{:.0} µs", l.3))
            }),
            "".into(),
            "",
        );
        let o = over(ours);
        row(
            format!("  MCP overhead per call ({label}, {stand_in})"),
            o.map_or("-".into(), |v| format!("{v:.0} µs")),
            t(&|f| over(f).map_or("-".into(), |v| format!("{v:.0} µs"))),
            ratio(
                o.filter(|v| *v > 0.0),
                theirs.and_then(over).filter(|v| *v > 0.0),
            ),
            &match o {
                Some(v) => format!("< 1 ms: {}", if v < 1000.0 { "met" } else { "NOT met" }),
                None => "< 1 ms".into(),
            },
        );
        let cpu = |f: &Figures| f.cpu_us.get(i).copied().flatten();
        row(
            format!("  server CPU per call, all threads ({label}, {stand_in})"),
            cpu(ours).map_or("-".into(), |v| format!("{v:.0} µs")),
            t(&|f| cpu(f).map_or("-".into(), |v| format!("{v:.0} µs"))),
            ratio(cpu(ours), theirs.and_then(cpu)),
            "",
        );
    }
    for (i, (stand_in, _, _)) in ours.throughput.iter().enumerate() {
        let c = |f: &Figures| f.throughput.get(i).map(|x| x.1);
        let s = |f: &Figures| f.throughput.get(i).map(|x| x.2);
        let fmt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}/s"));
        row(
            format!("64 concurrent calls on one session, {stand_in} (median of {rounds})"),
            fmt(c(ours)),
            t(&|f| fmt(c(f))),
            c(ours)
                .zip(theirs.and_then(c))
                .map_or("-".into(), |(a, b)| format!("{:.1}x the calls/s", a / b)),
            "",
        );
        row(
            format!("  the same 64 one at a time, {stand_in}"),
            fmt(s(ours)),
            t(&|f| fmt(s(f))),
            "".into(),
            "",
        );
    }
    let head = [
        "figure".to_owned(),
        results[0].0.name.to_owned(),
        results
            .get(1)
            .map_or("@stripe/mcp 0.2.5".to_owned(), |r| r.0.name.to_owned()),
        "ours : theirs".to_owned(),
        "target".to_owned(),
    ];
    println!("\n| {} |", head.join(" | "));
    println!("|{}", "---|".repeat(5));
    for r in &rows {
        println!("| {} |", r.join(" | "));
    }
    println!();
    println!(
        "Machine: {} cores; stand-ins on loopback. \"responder\" is the in-process Stripe-shaped responder (pure overhead); balance is `get_balance` here and `retrieve_balance` there.",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if localstripe {
        println!(
            "localstripe's GET /v1/balance is not Stripe's shape (objects, not lists): stripe-mcp answers it with an `unexpected_response` error after the full round trip, counted as errors above."
        );
    } else {
        println!("localstripe rows skipped: LOCALSTRIPE_URL is not set.");
    }
    if let Some(why) = skipped {
        println!("@stripe/mcp 0.2.5 column skipped: {why}");
    }
    for (s, f) in results {
        for n in &f.note {
            println!("{}: {n}", s.name);
        }
    }
}
