//! Several `stripe-mcp webhooks` processes on one PostgreSQL, as behind a load balancer:
//! the same event at all three at once, a random spread of 300 deliveries with duplicates,
//! a receiver killed with SIGKILL mid-burst, and the MCP server reading the orders while
//! the receivers write them. Real processes, real signed HTTP, a real server
//! (`STRIPE_MCP_TEST_PG`, started by scripts/test); skipped with the reason without it.

mod common;
mod store_common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use stripe_mcp::store::Scope;

use common::{Receiver, Spawn, WEBHOOK_SECRET, deliver, ok, session_event, start_receiver};
use serde_json::json;
use stripe_mcp::store::{DbTarget, OrderStatus, Store};

/// A fresh database on the test server, or `None` after saying why the test is skipped.
async fn database(test: &str) -> Option<(PathBuf, Store)> {
    let Some(admin) = store_common::pg_admin_url() else {
        store_common::skip_note(test);
        return None;
    };
    let url = store_common::fresh_pg_database(&admin, test).await;
    let store = Store::open(&DbTarget::parse(&url).unwrap()).await.unwrap();
    Some((PathBuf::from(url), store))
}

/// An `--on-paid` command appending the session id, one line per run (O_APPEND: lines
/// from several processes never interleave), after `delay` seconds.
fn hook_appending(out: &Path, delay: &str) -> String {
    format!(
        "sleep {delay}; printf '%s\\n' \"$STRIPE_CHECKOUT_SESSION_ID\" >> '{}'",
        out.display()
    )
}

fn runs(out: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(out).unwrap_or_default().lines() {
        *counts.entry(line.to_owned()).or_default() += 1;
    }
    counts
}

async fn wait_for_runs(out: &Path, sessions: usize, within: Duration) -> BTreeMap<String, usize> {
    let end = tokio::time::Instant::now() + within;
    loop {
        let got = runs(out);
        if got.len() >= sessions || tokio::time::Instant::now() > end {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn out_file(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-{test}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("runs.txt")
}

async fn three(db: &Path, extra: &[&str]) -> Vec<Receiver> {
    let mut rx = vec![];
    for _ in 0..3 {
        rx.push(start_receiver(db, WEBHOOK_SECRET, extra).await);
    }
    rx
}

/// A small deterministic generator (xorshift), seeded per test and printed, so a failing
/// spread can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test]
async fn the_same_event_delivered_to_three_receivers_at_once_is_recorded_and_fulfilled_once() {
    let Some((db, store)) = database("same3").await else {
        return;
    };
    let out = out_file("same3");
    let hook = hook_appending(&out, "0");
    let rx = three(&db, &["--on-paid", &hook]).await;
    let http = reqwest::Client::new();
    for i in 0..20 {
        let body = Arc::new(session_event(
            &format!("evt_same_{i}"),
            "checkout.session.completed",
            &format!("cs_same_{i}"),
            "paid",
        ));
        let sends: Vec<_> = rx
            .iter()
            .map(|r| {
                let (http, url, body) = (http.clone(), r.url.clone(), body.clone());
                tokio::spawn(async move { deliver(&http, &url, &body, WEBHOOK_SECRET).await })
            })
            .collect();
        let mut first = 0;
        for s in sends {
            let (status, answer) = s.await.unwrap();
            assert_eq!(status, 200, "{answer}");
            first += usize::from(answer.contains(r#""duplicate":false"#));
        }
        assert_eq!(first, 1, "event {i}: not exactly one receiver recorded it");
    }
    let got = wait_for_runs(&out, 20, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = runs(&out);
    assert_eq!(got, got_after, "runs kept coming");
    assert_eq!(got.len(), 20);
    assert!(got.values().all(|&n| n == 1), "a hook ran twice: {got:?}");
    assert_eq!(store.event_count().await.unwrap(), 20);
    assert_eq!(
        store
            .orders(&Scope::Operator, Some(OrderStatus::Paid), 100)
            .await
            .unwrap()
            .len(),
        20
    );
    for r in rx {
        let log = r.kill().await;
        assert!(!log.contains(WEBHOOK_SECRET));
    }
}

#[tokio::test]
async fn three_hundred_events_for_a_hundred_sessions_spread_at_random_fulfill_each_exactly_once() {
    let Some((db, store)) = database("spread").await else {
        return;
    };
    let out = out_file("spread");
    let hook = hook_appending(&out, "0");
    let rx = three(&db, &["--on-paid", &hook]).await;
    let urls: Vec<String> = rx.iter().map(|r| r.url.clone()).collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("spread seed {seed}");
    let mut rng = Rng(seed);
    // Per session: the paid completion, its exact redelivery, and one more event under
    // its own id (Stripe's async success, an expiry, or a second completion).
    let mut deliveries: Vec<(String, Vec<u8>)> = vec![];
    for s in 0..100 {
        let session = format!("cs_spread_{s}");
        let paid = session_event(
            &format!("evt_spread_{s}_a"),
            "checkout.session.completed",
            &session,
            "paid",
        );
        deliveries.push((format!("evt_spread_{s}_a"), paid.clone()));
        deliveries.push((format!("evt_spread_{s}_a"), paid));
        let (kind, status) = [
            ("checkout.session.async_payment_succeeded", "paid"),
            ("checkout.session.expired", "unpaid"),
            ("checkout.session.completed", "paid"),
        ][rng.next(3)];
        deliveries.push((
            format!("evt_spread_{s}_b"),
            session_event(&format!("evt_spread_{s}_b"), kind, &session, status),
        ));
    }
    for i in (1..deliveries.len()).rev() {
        deliveries.swap(i, rng.next(i + 1));
    }
    let http = reqwest::Client::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(24));
    let sends: Vec<_> = deliveries
        .into_iter()
        .map(|(id, body)| {
            let url = urls[rng.next(3)].clone();
            let (http, gate) = (http.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await.unwrap();
                let (status, answer) = deliver(&http, &url, &body, WEBHOOK_SECRET).await;
                (id, status, answer)
            })
        })
        .collect();
    let mut first_by_event: BTreeMap<String, usize> = BTreeMap::new();
    for s in sends {
        let (id, status, answer) = s.await.unwrap();
        assert_eq!(status, 200, "{id}: {answer}");
        *first_by_event.entry(id).or_default() +=
            usize::from(answer.contains(r#""duplicate":false"#));
    }
    assert_eq!(first_by_event.len(), 200);
    assert!(
        first_by_event.values().all(|&n| n == 1),
        "an event was recorded by more than one delivery"
    );
    let got = wait_for_runs(&out, 100, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(runs(&out), got, "runs kept coming");
    assert_eq!(got.len(), 100, "not every session's hook ran");
    assert!(got.values().all(|&n| n == 1), "a hook ran twice");
    assert_eq!(store.event_count().await.unwrap(), 200);
    let paid = store
        .orders(&Scope::Operator, Some(OrderStatus::Paid), 1000)
        .await
        .unwrap();
    assert_eq!(paid.len(), 100);
    for order in &paid {
        let f = order.fulfillment.as_ref().unwrap();
        assert!(f.event_id.starts_with("evt_spread_"));
        let hook = order.hook.as_ref().unwrap();
        assert_eq!(
            (hook.state.as_str(), hook.attempts),
            ("done", 1),
            "{order:?}"
        );
    }
    for r in rx {
        r.kill().await;
    }
}

#[tokio::test]
async fn a_receiver_killed_mid_burst_loses_no_acknowledged_event_and_its_hook_runs_are_taken_over()
{
    let Some((db, store)) = database("kill9").await else {
        return;
    };
    let out = out_file("kill9");
    // Each run takes a second, so the victim holds claimed runs when it dies.
    let hook = hook_appending(&out, "1");
    let mut rx = three(&db, &["--on-paid", &hook, "--hook-lease", "2"]).await;
    let urls: Vec<String> = rx.iter().map(|r| r.url.clone()).collect();
    let http = reqwest::Client::new();
    const TOTAL: usize = 120;
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sends: Vec<_> = (0..TOTAL)
        .map(|i| {
            let (http, urls, acked) = (http.clone(), urls.clone(), acked_tx.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                let id = format!("evt_k{i}");
                let body = session_event(
                    &id,
                    "checkout.session.completed",
                    &format!("cs_k{i}"),
                    "paid",
                );
                // Round robin; a dead receiver's failure is retried at the next one, as
                // Stripe retries whichever instance the load balancer picks.
                for attempt in 0..6 {
                    let url = &urls[(i + attempt) % 3];
                    let sig =
                        stripe_mcp::webhooks::signature::sign(&body, WEBHOOK_SECRET, common::now());
                    let sent = http
                        .post(url)
                        .header("Stripe-Signature", sig)
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await;
                    if let Ok(r) = sent
                        && r.status().is_success()
                    {
                        acked.send(id).unwrap();
                        return true;
                    }
                }
                false
            })
        })
        .collect();
    drop(acked_tx);
    // Kill receiver 0 once about a third has been acknowledged.
    let mut acked = BTreeSet::new();
    while acked.len() < TOTAL / 3 {
        acked.insert(acked_rx.recv().await.unwrap());
    }
    let victim = rx.remove(0);
    let victim_log = victim.kill().await;
    for s in sends {
        assert!(s.await.unwrap(), "a delivery was never acknowledged");
    }
    while let Some(id) = acked_rx.recv().await {
        acked.insert(id);
    }
    assert_eq!(acked.len(), TOTAL);
    for id in &acked {
        assert!(
            store.has_event(id).await.unwrap(),
            "{id} was acknowledged but is not recorded"
        );
    }
    assert_eq!(store.event_count().await.unwrap(), TOTAL as i64);
    // Every hook runs: the victim's claimed and queued runs are taken over after the
    // 2 s lease by a survivor's sweep.
    let got = wait_for_runs(&out, TOTAL, Duration::from_secs(90)).await;
    assert_eq!(
        got.len(),
        TOTAL,
        "hook runs were not taken over; victim log:\n{victim_log}"
    );
    let mut done = 0;
    for _ in 0..100 {
        done = store
            .orders(&Scope::Operator, Some(OrderStatus::Paid), 1000)
            .await
            .unwrap()
            .iter()
            .filter(|o| o.hook.as_ref().is_some_and(|h| h.state == "done"))
            .count();
        if done == TOTAL {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done, TOTAL, "not every run was settled");
    // A run twice only where its first holder died holding it (the documented crash
    // window): then the store counts a second attempt.
    let orders = store
        .orders(&Scope::Operator, Some(OrderStatus::Paid), 1000)
        .await
        .unwrap();
    let mut taken_over = 0;
    for o in &orders {
        let hook = o.hook.as_ref().unwrap();
        let ran = got.get(&o.session_id).copied().unwrap_or(0);
        if hook.attempts == 1 {
            assert_eq!(ran, 1, "{} ran {ran} times in one attempt", o.session_id);
        } else {
            taken_over += 1;
            assert!(ran >= 1 && ran as i64 <= hook.attempts, "{o:?} ran {ran}");
        }
    }
    // The victim died holding runs (each takes a second): the take-over was exercised.
    assert!(
        taken_over >= 1,
        "the killed receiver held no run: nothing was taken over"
    );
    eprintln!(
        "kill -9 test: {taken_over} run(s) taken over from the killed receiver, all {TOTAL} events recorded"
    );
    for r in rx {
        r.kill().await;
    }
}

#[tokio::test]
async fn the_mcp_server_reads_the_shared_database_while_receivers_write_it() {
    let Some((db, _store)) = database("mcpread").await else {
        return;
    };
    let rx = three(&db, &[]).await;
    let stripe = common::mock_stripe().await;
    let mut live = common::fixture("checkout_session.json");
    live["id"] = json!("cs_m0");
    live["status"] = json!("complete");
    live["payment_status"] = json!("paid");
    live["url"] = serde_json::Value::Null;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/v1/checkout/sessions/cs_m0"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(live))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri())
        .arg("--db")
        .arg(db.display().to_string())
        .start()
        .await;
    let http = reqwest::Client::new();
    let urls: Vec<String> = rx.iter().map(|r| r.url.clone()).collect();
    let writer = tokio::spawn(async move {
        for i in 0..60 {
            let body = session_event(
                &format!("evt_m{i}"),
                "checkout.session.completed",
                &format!("cs_m{i}"),
                if i % 2 == 0 { "paid" } else { "unpaid" },
            );
            let (status, answer) = deliver(&http, &urls[i % 3], &body, WEBHOOK_SECRET).await;
            assert_eq!(status, 200, "{answer}");
        }
    });
    // Reads while the writes go on: the count only grows.
    let mut last = 0;
    while !writer.is_finished() {
        let listed = ok(&server.call("list_orders", json!({"limit": 100})).await);
        let n = listed["count"].as_u64().unwrap();
        assert!(n >= last, "the order count went back from {last} to {n}");
        last = n;
    }
    writer.await.unwrap();
    let paid = ok(&server
        .call("list_orders", json!({"status": "paid", "limit": 100}))
        .await);
    assert_eq!(paid["count"], 30);
    let waiting = ok(&server
        .call(
            "list_orders",
            json!({"status": "awaiting_payment", "limit": 100}),
        )
        .await);
    assert_eq!(waiting["count"], 30);
    let status = ok(&server
        .call("get_order_status", json!({"session_id": "cs_m0"}))
        .await);
    assert_eq!(status["verdict"], "paid_and_fulfilled");
    assert_eq!(status["ledger"]["fulfillment"]["event_id"], "evt_m0");
    let log = server.stop().await;
    assert!(log.contains("order store opened"), "{log}");
    for r in rx {
        r.kill().await;
    }
}
