//! The deliveries benchmark: signed `checkout.session.completed` events (each a new paid
//! session, so each is a full fulfillment transaction) posted to one or more running
//! `stripe-mcp webhooks` receivers, spread round robin, a fixed number in flight.
//! Prints deliveries per second and the acknowledgement latency (p50, p99).
//!
//! Run through `bash scripts/bench` (it starts the receivers on SQLite and PostgreSQL);
//! directly:
//!
//! ```sh
//! cargo run --release --example bench_deliveries -- --label sqlite --total 3000 \
//!     --concurrency 32 --secret whsec_... http://127.0.0.1:8000/webhook/stripe
//! ```

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

fn event(i: usize, run: &str) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::to_vec_pretty(&serde_json::json!({
        "id": format!("evt_bench_{run}_{i}"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": now,
        "livemode": false,
        "pending_webhooks": 1,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_bench_{run}_{i}"),
            "object": "checkout.session",
            "amount_total": 4999,
            "currency": "usd",
            "customer_details": {"email": "jane@example.com", "name": "Jane"},
            "metadata": {"product_id": "sku-tee"},
            "mode": "payment",
            "payment_intent": "pi_3Test",
            "payment_status": "paid",
            "status": "complete"
        }}
    }))
    .unwrap()
}

#[tokio::main]
async fn main() {
    let mut label = "receivers".to_string();
    let mut total = 2000usize;
    let mut concurrency = 32usize;
    let mut secret = std::env::var("STRIPE_WEBHOOK_SECRET").unwrap_or_default();
    let mut urls = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--label" => label = args.next().expect("--label NAME"),
            "--total" => total = args.next().and_then(|v| v.parse().ok()).expect("--total N"),
            "--concurrency" => {
                concurrency = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--concurrency N")
            }
            "--secret" => secret = args.next().expect("--secret whsec_..."),
            url => urls.push(url.to_owned()),
        }
    }
    assert!(!urls.is_empty(), "give at least one receiver URL");
    assert!(secret.starts_with("whsec_"), "give the receivers' --secret");
    let run = uuid::Uuid::new_v4().simple().to_string();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    // Warm-up: connections and the receivers' pools.
    for (i, url) in urls.iter().enumerate() {
        let body = event(i, &format!("{run}w"));
        let sig = stripe_mcp::webhooks::signature::sign(&body, &secret, unix_now());
        let r = http
            .post(url)
            .header("Stripe-Signature", sig)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "warm-up: {}", r.status());
    }
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let urls = Arc::new(urls);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, next, urls, secret, run) = (
                http.clone(),
                next.clone(),
                urls.clone(),
                secret.clone(),
                run.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = vec![];
                let mut failed = 0usize;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return (latencies, failed);
                    }
                    let body = event(i, &run);
                    let sig = stripe_mcp::webhooks::signature::sign(&body, &secret, unix_now());
                    let t = Instant::now();
                    let ok = http
                        .post(&urls[i % urls.len()])
                        .header("Stripe-Signature", sig)
                        .header("Content-Type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    latencies.push(t.elapsed());
                    failed += usize::from(!ok);
                }
            })
        })
        .collect();
    let mut latencies = vec![];
    let mut failed = 0;
    for w in workers {
        let (l, f) = w.await.unwrap();
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)].as_secs_f64()
            * 1000.0
    };
    println!(
        "deliveries {label}: {total} signed deliveries into {} receiver(s), {concurrency} in flight: {:.0}/s, ack p50 {:.1} ms, p99 {:.1} ms, {failed} not acknowledged",
        urls.len(),
        total as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
