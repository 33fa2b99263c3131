//! A Stripe list endpoint for the books tests and benchmarks: honours `created[gte]`,
//! `created[lt]`, `currency`, `limit` and `starting_after` over a set of objects ordered as
//! Stripe orders them (newest first), answers each page after a set latency, and enforces
//! a rate limit with Stripe-shaped 429s (`rate_limit`, `Stripe-Should-Retry: true`).
//! It can also fail chosen requests with a 500, to show that a page asked again loses nothing.

#![allow(dead_code)]

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

/// How the stand-in behaves.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Every answered page waits this long (Stripe's list latency is about 250 ms).
    pub latency: Duration,
    /// At most this many requests in any one second; more get a 429.
    pub rate_limit: Option<usize>,
    /// These request numbers (0-based, in arrival order) fail with a 500.
    pub fail: Vec<usize>,
}

/// What the stand-in saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests received (429s and 500s included).
    pub requests: AtomicUsize,
    /// Requests refused with 429.
    pub throttled: AtomicUsize,
    /// Requests failed with 500 on purpose.
    pub failed: AtomicUsize,
    /// Arrival times in the last second, for the rate limit.
    window: Mutex<VecDeque<Instant>>,
    /// Every answered page: when it arrived, its `created` range, whether it had a cursor,
    /// and how many objects it returned (for finding where requests go).
    pub pages: Mutex<Vec<PageSeen>>,
    /// How many objects there were when they were last sorted.
    sorted: AtomicUsize,
}

/// One answered page (see [`Seen::pages`]).
#[derive(Debug, Clone)]
pub struct PageSeen {
    /// When the request arrived.
    pub at: Instant,
    /// `created[gte]`, `created[lt]`.
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    /// Whether `starting_after` was sent.
    pub cursor: bool,
    /// Objects returned.
    pub returned: usize,
}

/// The objects behind the endpoint; tests may add to it between calls.
pub type Objects = Arc<Mutex<Vec<Value>>>;

/// Newest first, ties by id descending: Stripe's list order.
fn sort(objects: &mut [Value]) {
    objects.sort_by(|a, b| {
        (b["created"].as_i64(), b["id"].as_str()).cmp(&(a["created"].as_i64(), a["id"].as_str()))
    });
}

/// Mounts `GET path` over `objects`.
pub async fn mount(
    stripe: &MockServer,
    p: &str,
    objects: Objects,
    behaviour: Behaviour,
) -> Arc<Seen> {
    let seen = Arc::new(Seen::default());
    let url = p.to_owned();
    let s = seen.clone();
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(move |req: &Request| {
            let n = s.requests.fetch_add(1, Ordering::SeqCst);
            if let Some(limit) = behaviour.rate_limit {
                let now = Instant::now();
                let mut w = s.window.lock().unwrap();
                while w.front().is_some_and(|t| now - *t >= Duration::from_secs(1)) {
                    w.pop_front();
                }
                if w.len() >= limit {
                    s.throttled.fetch_add(1, Ordering::SeqCst);
                    return ResponseTemplate::new(429)
                        .insert_header("Stripe-Should-Retry", "true")
                        .insert_header("Request-Id", format!("req_throttled_{n}"))
                        .set_body_json(json!({"error": {
                            "type": "invalid_request_error", "code": "rate_limit",
                            "message": "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                            "doc_url": "https://stripe.com/docs/error-codes/rate-limit"}}));
                }
                w.push_back(now);
            }
            if behaviour.fail.contains(&n) {
                s.failed.fetch_add(1, Ordering::SeqCst);
                return ResponseTemplate::new(500)
                    .set_body_json(json!({"error": {"type": "api_error", "message": "An unknown error occurred"}}));
            }
            let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let num = |k: &str| get(k).map(|v| v.parse::<i64>().unwrap());
            let limit: usize = get("limit").map_or(10, |l| l.parse().unwrap());
            assert!((1..=100).contains(&limit));
            let (gte, lt) = (num("created[gte]"), num("created[lt]"));
            let currency = get("currency");
            // Sorted in place when objects were added since the last page (tests only
            // add), and filtered by reference: a page of a set of 50,000 is a bisection,
            // not a pass over it, so the stand-in's own time stays out of the figures.
            let mut all = objects.lock().unwrap();
            if s.sorted.swap(all.len(), Ordering::SeqCst) != all.len() {
                sort(&mut all);
            }
            let created = |o: &Value| o["created"].as_i64().unwrap_or(0);
            // Newest first: the objects within [gte, lt) are one run, found by bisection.
            let lo = lt.map_or(0, |l| all.partition_point(|o| created(o) >= l));
            let hi = gte.map_or(all.len(), |g| all.partition_point(|o| created(o) >= g));
            let matching: Vec<&Value> = all[lo..hi.max(lo)]
                .iter()
                .filter(|o| currency.as_deref().is_none_or(|cur| o["currency"] == cur))
                .collect();
            let start = match get("starting_after") {
                Some(id) => match matching.iter().position(|o| o["id"] == id.as_str()) {
                    Some(i) => i + 1,
                    None => {
                        return ResponseTemplate::new(400).set_body_json(json!({"error": {
                            "type": "invalid_request_error", "param": "starting_after",
                            "message": format!("No such object: '{id}'")}}));
                    }
                },
                None => 0,
            };
            let end = (start + limit).min(matching.len());
            let page: Vec<Value> = matching[start..end].iter().map(|v| (*v).clone()).collect();
            let has_more = end < matching.len();
            drop(all);
            s.pages.lock().unwrap().push(PageSeen {
                at: Instant::now(),
                gte,
                lt,
                cursor: get("starting_after").is_some(),
                returned: page.len(),
            });
            ResponseTemplate::new(200)
                .set_delay(behaviour.latency)
                .set_body_json(json!({
                    "object": "list", "url": url, "data": page, "has_more": has_more
                }))
        })
        .mount(stripe)
        .await;
    seen
}

/// `GET /v1/account`: the account the key belongs to, answered at once.
pub async fn account(stripe: &MockServer, id: &str) {
    account_after(stripe, id, Duration::ZERO).await
}

/// `GET /v1/account`, answered after `latency` (Stripe's is about a page's).
pub async fn account_after(stripe: &MockServer, id: &str, latency: Duration) {
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(latency)
                .set_body_json(json!({
            "id": id, "object": "account", "charges_enabled": true, "payouts_enabled": true,
            "country": "US", "default_currency": "usd"})),
        )
        .mount(stripe)
        .await;
}
