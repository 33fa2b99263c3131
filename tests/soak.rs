//! Resilience soak: thousands of tool calls on one session against a Stripe
//! stand-in that fails 5% of requests with 500, 2% with 429 (half of them with
//! `Stripe-Should-Retry: false`), drops 1% of connections mid-response and
//! answers 0.5% only after the client has timed out.
//!
//! It checks that no write is applied twice, that every call gets an answer
//! whose `retryable` matches the fault behind it, and that memory stays flat.
//! A third of the calls are writes (refunds and checkouts), each with its own
//! idempotency key; a write that fails with `retryable: true` is called again
//! with the same key, as the server tells an agent to.
//!
//! Two runs: with the server's own retries as shipped (`--max-retries 2`),
//! and without (`--max-retries 0`), so every fault reaches the agent.
//! Size from the environment: `SOAK_CALLS` (default 600) and
//! `SOAK_CALLS_NO_RETRY` (default 600), so the suite stays fast;
//! `SOAK_CONCURRENCY` (default 4); `SOAK_SEED` (default 42: the fault schedule
//! is a seeded function of each request's key and attempt number).
//! `scripts/bench` runs them with `SOAK_CALLS=10000`.

mod common;
#[path = "common/faulty.rs"]
mod faulty;
#[path = "common/rpc.rs"]
mod rpc;

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use faulty::{Fault, Faults, FaultyStripe};
use rpc::Rpc;
use serde_json::{Value, json};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The four tools in the mix; a third of the calls are writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Tool {
    Refund,
    Checkout,
    Balance,
    Customers,
}

impl Tool {
    fn of(i: u64) -> Tool {
        match i % 6 {
            0 => Tool::Refund,
            1 => Tool::Checkout,
            2 | 3 => Tool::Balance,
            _ => Tool::Customers,
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Tool::Refund | Tool::Checkout)
    }
}

/// How one logical call ended, after the agent's own retries of writes.
#[derive(Debug, Clone)]
enum End {
    /// A result; for writes, the object id returned.
    Ok(Option<String>),
    /// A structured error with `retryable: false` (the agent stops).
    Refused,
    /// Still `retryable: true` after the agent's last try.
    GaveUp,
}

#[derive(Debug, Default)]
struct Tally {
    /// Final outcome per write key.
    writes: HashMap<String, End>,
    /// Errors seen, by (kind, retryable).
    errors: HashMap<(String, bool), u64>,
    /// Tool calls made, agent retries included.
    calls: u64,
    /// Reads that ended in an error (answered, not retried).
    read_errors: u64,
    /// Problems found; the test fails if any.
    problems: Vec<String>,
}

/// What `retryable` must be for an error, from the fault marker the stand-in
/// put in Stripe's message, or from its kind for transport failures.
fn expected_retryable(err: &Value) -> Result<bool, String> {
    let kind = err["kind"].as_str().unwrap_or("");
    let message = err["message"].as_str().unwrap_or("");
    let want = if message.contains("injected 500") {
        ("stripe_unavailable", true)
    } else if message.contains("injected 429 no-retry") {
        ("rate_limited", false)
    } else if message.contains("injected 429 retry") {
        ("rate_limited", true)
    } else if kind == "network" {
        // A dropped connection or a timeout: the write may have been applied.
        ("network", true)
    } else {
        return Err(format!("an error no fault explains: {err}"));
    };
    if kind != want.0 {
        return Err(format!("kind {kind:?}, expected {:?}: {err}", want.0));
    }
    Ok(want.1)
}

fn args(tool: Tool, i: u64, key: &str) -> (&'static str, Value) {
    match tool {
        Tool::Refund => (
            "create_refund",
            json!({"payment_intent": format!("pi_soak{i}"), "amount": 100 + i % 900,
                   "reason": "requested_by_customer", "idempotency_key": key}),
        ),
        Tool::Checkout => (
            "initiate_checkout",
            json!({"product_name": "Soak mug", "unit_amount": 1500 + i % 100, "currency": "usd",
                   "quantity": 1 + i % 3, "metadata": {"order": format!("o{i}")}, "idempotency_key": key}),
        ),
        Tool::Balance => ("get_balance", json!({})),
        Tool::Customers => (
            "list_customers",
            json!({"email": format!("soak{i}@example.com"), "limit": 3}),
        ),
    }
}

/// Makes call `i` like an agent would: writes are retried with the same key
/// while the answer says `retryable: true` (at most 8 tries).
async fn one_call(rpc: &Rpc, i: u64, seed: u64, tally: &Mutex<Tally>) {
    let tool = Tool::of(i);
    let key = format!("soak-{seed}-{i}");
    let (name, arguments) = args(tool, i, &key);
    let tries = if tool.is_write() { 8 } else { 1 };
    let mut end = End::GaveUp;
    for _ in 0..tries {
        let result = rpc.call_tool(name, arguments.clone()).await;
        let mut t = tally.lock().unwrap();
        t.calls += 1;
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                t.problems
                    .push(format!("call {i} ({name}) got no answer: {e}"));
                return;
            }
        };
        if !rpc::is_error(&result) {
            let s = &result["structuredContent"];
            let id = match tool {
                Tool::Refund => s["id"].as_str().map(str::to_owned),
                Tool::Checkout => s["session_id"].as_str().map(str::to_owned),
                _ => None,
            };
            if tool.is_write() && s["idempotency_key"] != json!(key) {
                t.problems
                    .push(format!("call {i}: the result does not echo the key: {s}"));
            }
            end = End::Ok(id);
            break;
        }
        let Some(err) = rpc::tool_error(&result) else {
            t.problems.push(format!(
                "call {i} ({name}): an unstructured error: {result}"
            ));
            return;
        };
        let retryable = err["retryable"].as_bool().unwrap_or(false);
        *t.errors
            .entry((err["kind"].as_str().unwrap_or("?").to_owned(), retryable))
            .or_default() += 1;
        match expected_retryable(&err) {
            Ok(want) if want == retryable => {}
            Ok(want) => t.problems.push(format!(
                "call {i} ({name}): retryable is {retryable}, should be {want}: {err}"
            )),
            Err(e) => t.problems.push(format!("call {i} ({name}): {e}")),
        }
        if tool.is_write() && err["idempotency_key"] != json!(key) {
            t.problems
                .push(format!("call {i}: the error does not echo the key: {err}"));
        }
        if !tool.is_write() {
            t.read_errors += 1;
            end = End::Refused;
            break;
        }
        if !retryable {
            end = End::Refused;
            break;
        }
    }
    if tool.is_write() {
        tally.lock().unwrap().writes.insert(key, end);
    }
}

fn spawn_server(api_base: &str, max_retries: u32) -> Rpc {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("STRIPE_MCP_RETRY_BASE_MS", "5")
        .env("APP_BASE_URL", "https://shop.example")
        .env("RUST_LOG", "error")
        .args(["--timeout", "1", "--max-retries", &max_retries.to_string()])
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null());
    Rpc::spawn(cmd).expect("spawn stripe-mcp")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_calls_under_injected_faults_apply_no_write_twice_and_all_get_an_answer() {
    // The server's own retries as shipped (2): most faults are absorbed inside
    // one tool call, with one idempotency key across its attempts.
    soak(env_num("SOAK_CALLS", 600), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_server_retries_every_fault_reaches_the_agent_with_the_right_retryable() {
    // --max-retries 0: every 500, 429, drop and timeout comes back to the
    // agent, which retries writes with the same key; a write whose answer was
    // dropped after it was applied must then come back as the same object.
    soak(env_num("SOAK_CALLS_NO_RETRY", 600), 0).await;
}

async fn soak(calls: u64, max_retries: u32) {
    let concurrency = env_num("SOAK_CONCURRENCY", 4).max(1);
    let seed = env_num("SOAK_SEED", 42);
    // The issue compares 10,000 calls with 1,000: keep that 1:10 at any size.
    let checkpoint = (calls / 10).clamp(1, 1000);
    let stripe = FaultyStripe::start(Faults::soak(seed)).await;
    let rpc = Arc::new(spawn_server(&stripe.uri(), max_retries));
    rpc.initialize().await.expect("initialize");

    let started = Instant::now();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let rss_at_checkpoint = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (rpc, tally, next, done, rss) = (
            rpc.clone(),
            tally.clone(),
            next.clone(),
            done.clone(),
            rss_at_checkpoint.clone(),
        );
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls {
                    break;
                }
                one_call(&rpc, i, seed, &tally).await;
                if done.fetch_add(1, Ordering::Relaxed) as u64 + 1 == checkpoint {
                    rss.store(rpc.peak_rss_kib().unwrap_or(0), Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(r) = workers.join_next().await {
        r.expect("worker");
    }
    let elapsed = started.elapsed();
    let rss_end = rpc.peak_rss_kib().unwrap_or(0);
    let rss_checkpoint = rss_at_checkpoint.load(Ordering::Relaxed);

    // Still serving: tools/list and a call answer after everything.
    let list = rpc
        .request("tools/list", json!({}), Duration::from_secs(10))
        .await
        .expect("tools/list after the soak");
    assert!(
        list["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let last = rpc
        .call_tool("list_customers", json!({"limit": 1}))
        .await
        .expect("a call after the soak");
    assert!(last["content"].is_array(), "{last}");
    assert!(rpc.not_json().is_empty(), "stdout carried non-JSON lines");

    let tally = Arc::try_unwrap(tally).unwrap().into_inner().unwrap();
    let keys = stripe.keys();
    let stats = stripe.stats();
    let mut problems = tally.problems.clone();

    // No write applied twice; every success is the one object its key created.
    let mut succeeded = 0u64;
    let mut refused_but_applied = Vec::new();
    let mut gave_up = 0u64;
    for (key, end) in &tally.writes {
        let record = keys.get(key).cloned().unwrap_or_default();
        if record.created > 1 {
            problems.push(format!("key {key} created {} objects", record.created));
        }
        match end {
            End::Ok(id) => {
                succeeded += 1;
                if record.created != 1 || record.object_id != *id {
                    problems.push(format!(
                        "key {key}: the tool returned {id:?} but the stand-in created {:?} ({} objects)",
                        record.object_id, record.created
                    ));
                }
            }
            // A write refused as not retryable after an earlier attempt of it was
            // applied (its answer dropped or late): the agent would retry with a new
            // key and pay twice. The client reports the lost answer instead.
            End::Refused if record.created == 1 => refused_but_applied.push(key.clone()),
            End::Refused => {}
            End::GaveUp => gave_up += 1,
        }
    }
    if !refused_but_applied.is_empty() {
        problems.push(format!(
            "writes refused as not retryable although an earlier attempt was applied: {refused_but_applied:?}"
        ));
    }
    let created = stripe.objects_created();
    let writes_total = tally.writes.len() as u64;
    if stats.key_reused_with_other_params != 0 {
        problems.push(format!(
            "{} retries changed the parameters under one key",
            stats.key_reused_with_other_params
        ));
    }
    if !stats.unexpected.is_empty() {
        problems.push(format!("unexpected requests: {:?}", stats.unexpected));
    }
    if gave_up != 0 {
        problems.push(format!("{gave_up} writes still retryable after 8 tries"));
    }
    if created != succeeded + refused_but_applied.len() as u64 {
        problems.push(format!(
            "{created} objects created for {succeeded} keys that succeeded (+{} refused after being applied)",
            refused_but_applied.len()
        ));
    }
    let rss_ratio = rss_end as f64 / rss_checkpoint.max(1) as f64;
    if rss_checkpoint > 0 && rss_ratio > 1.2 {
        problems.push(format!(
            "peak RSS grew from {rss_checkpoint} KiB after {checkpoint} calls to {rss_end} KiB after {calls} (more than 20%)"
        ));
    }

    let count = |f: Fault| stats.by_fault.get(&f).copied().unwrap_or(0);
    let mut errors: Vec<_> = tally.errors.iter().collect();
    errors.sort();
    eprintln!(
        "soak: {calls} logical calls ({} tool calls with agent retries of writes) in {:.1} s at concurrency {concurrency}, seed {seed}, --max-retries {max_retries}\n\
         soak: stand-in saw {} requests: {} ok, {} x 500, {} x 429 (retry), {} x 429 (Stripe-Should-Retry: false), {} dropped mid-response, {} delayed past the timeout\n\
         soak: writes: {writes_total} keys, {succeeded} succeeded, {created} objects created, max objects per key {}, {} replays of a stored response; reads answered with an error: {}\n\
         soak: refused as not retryable after an earlier attempt was applied: {}{}\n\
         soak: errors by (kind, retryable): {errors:?}\n\
         soak: peak RSS {rss_checkpoint} KiB after {checkpoint} calls, {rss_end} KiB after {calls} (x{rss_ratio:.3})",
        tally.calls,
        elapsed.as_secs_f64(),
        stripe.requests(),
        count(Fault::None),
        count(Fault::ServerError),
        count(Fault::RateLimited),
        count(Fault::RateLimitedNoRetry),
        count(Fault::Dropped),
        count(Fault::Delayed),
        keys.values().map(|k| k.created).max().unwrap_or(0),
        keys.values().map(|k| u64::from(k.replays)).sum::<u64>(),
        tally.read_errors,
        refused_but_applied.len(),
        if refused_but_applied.is_empty() {
            String::new()
        } else {
            format!(" {refused_but_applied:?}")
        },
    );
    let status = Arc::try_unwrap(rpc)
        .ok()
        .expect("workers are done")
        .close(Duration::from_secs(10))
        .await;
    assert!(
        status.is_some_and(|s| s.success()),
        "clean exit when stdin closes"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(count(Fault::ServerError) > 0 && count(Fault::None) > 0);
}
