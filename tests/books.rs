//! The books at scale: sliced, concurrent reads give exact totals whatever the slicing,
//! when a page fails and is asked again, and when the stand-in Stripe throttles with
//! 429s; with `--db` the copy kept in the store gives the same figures to the cent, and a
//! newer transaction appears in the next warm call (SQLite; PostgreSQL when
//! `STRIPE_MCP_TEST_PG` is set). A tenant's scope never reads another account's copy.

mod common;
mod http_common;
#[path = "common/stand_in.rs"]
mod stand_in;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use stripe_mcp::{
    store::{Accounts, DbTarget, Scope, Store, books::BookTxn},
    stripe::{
        ApiKey, Client, ClientConfig,
        client::{DEFAULT_DEADLINE, DEFAULT_MAX_CONCURRENCY, DEFAULT_STRIPE_VERSION},
        retry::Backoff,
        slices,
    },
};

/// 2026-11-01 00:00 UTC and 2026-12-01 00:00 UTC.
const NOV: (i64, i64) = (1_793_491_200, 1_796_083_200);

fn txn(n: usize, amount: i64, fee: i64, currency: &str, created: i64) -> Value {
    json!({"id": format!("txn_{n:06}"), "object": "balance_transaction", "amount": amount, "fee": fee,
           "net": amount - fee, "currency": currency, "type": "charge", "reporting_category": "charge",
           "status": if n.is_multiple_of(2) { "available" } else { "pending" }, "created": created, "source": format!("ch_{n}")})
}

/// Transactions on every edge of every even slicing up to 64 slices (and a second before
/// it), 250 in one single second (more than a page), and 2,000 spread over the month.
fn edgy_month() -> Vec<Value> {
    let mut v = Vec::new();
    let mut n = 0;
    let mut push = |amount: i64, currency: &str, created: i64| {
        v.push(txn(n, amount, (amount / 30).max(0), currency, created));
        n += 1;
    };
    for parts in [2usize, 3, 7, 16, 64] {
        for (s, _) in slices::even(NOV.0, NOV.1, parts) {
            push(1_001, "usd", s);
            push(2_003, "usd", s - 1);
        }
    }
    push(999, "eur", NOV.1 - 1);
    for i in 0..250 {
        push(100 + i, "usd", NOV.0 + 86_400 * 10);
    }
    for i in 0..2_000i64 {
        push(
            if i % 9 == 0 { -500 } else { 1_234 + i },
            if i % 5 == 0 { "eur" } else { "usd" },
            NOV.0 + 1 + i * 1_296,
        );
    }
    v.retain(|t| (NOV.0..NOV.1).contains(&t["created"].as_i64().unwrap()));
    v
}

/// Count and net per currency, worked out from the set itself.
fn expected(set: &[Value], start: i64, end: i64) -> BTreeMap<String, (u64, i64)> {
    let mut m: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for t in set {
        let c = t["created"].as_i64().unwrap();
        if (start..end).contains(&c) {
            let e = m
                .entry(t["currency"].as_str().unwrap().to_owned())
                .or_default();
            e.0 += 1;
            e.1 += t["net"].as_i64().unwrap();
        }
    }
    m
}

fn tally(txns: &[BookTxn]) -> BTreeMap<String, (u64, i64)> {
    let mut m: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for t in txns {
        let e = m.entry(t.currency.clone()).or_default();
        e.0 += 1;
        e.1 += t.net;
    }
    m
}

/// A client with a key of its own: the read budget is per key, shared by every client of
/// it in the process, so each test's budget is its own.
fn client(base: &str, max_retries: u32, read_rate: f64) -> Client {
    let key = format!("sk_test_books{}", uuid::Uuid::new_v4().simple());
    Client::new(ClientConfig {
        api_key: ApiKey::parse(&key).unwrap(),
        api_base: url::Url::parse(base).unwrap(),
        stripe_version: DEFAULT_STRIPE_VERSION.into(),
        stripe_account: None,
        max_retries,
        timeout: Duration::from_secs(10),
        deadline: DEFAULT_DEADLINE,
        max_concurrency: DEFAULT_MAX_CONCURRENCY,
        backoff: Backoff {
            base: Duration::from_millis(5),
            ..Backoff::default()
        },
        read_rate: Some(read_rate),
    })
    .unwrap()
}

#[derive(serde::Serialize)]
struct NoFilters {}

async fn read_all(
    client: &Client,
    ranges: Vec<(i64, i64)>,
) -> Result<Vec<BookTxn>, slices::SliceError> {
    slices::read(
        client,
        "/v1/balance_transactions",
        &NoFilters {},
        ranges,
        50_000,
        None,
        |_| async {},
    )
    .await
}

/// A mock Stripe whose `/v1/balance_transactions` is the stand-in over `set`, behaving so.
async fn stripe_listing(
    set: &[Value],
    behaviour: stand_in::Behaviour,
) -> (wiremock::MockServer, Arc<stand_in::Seen>) {
    let stripe = common::mock_stripe().await;
    let seen = stand_in::mount(
        &stripe,
        "/v1/balance_transactions",
        Arc::new(Mutex::new(set.to_vec())),
        behaviour,
    )
    .await;
    (stripe, seen)
}

#[tokio::test]
async fn totals_are_exact_whatever_the_slicing_and_edges_count_once() {
    let set = edgy_month();
    let (stripe, _) = stripe_listing(&set, Default::default()).await;
    let c = client(&stripe.uri(), 2, 100_000.0);
    let want = expected(&set, NOV.0, NOV.1);
    assert_eq!(want.values().map(|v| v.0).sum::<u64>(), set.len() as u64);
    for parts in [1usize, 2, 3, 7, 16, 64, 500] {
        let got = read_all(&c, slices::even(NOV.0, NOV.1, parts))
            .await
            .unwrap();
        assert_eq!(tally(&got), want, "{parts} slices");
        let mut ids: Vec<&str> = got.iter().map(|t| t.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), got.len(), "{parts} slices: an id twice");
    }
}

/// Objects the stand-in sent in all its pages.
fn objects_sent(seen: &stand_in::Seen) -> usize {
    seen.pages.lock().unwrap().iter().map(|p| p.returned).sum()
}

#[tokio::test]
async fn a_burst_at_the_newest_edge_is_read_once_and_in_few_requests() {
    // The next day's edge: 1,600 transactions in the last 25 seconds (64 in each second,
    // more than half a page), after a quiet five minutes.
    let end = NOV.1;
    let mut set: Vec<Value> = (0..1_600)
        .map(|i| {
            txn(
                i,
                500 + i as i64,
                15,
                "usd",
                end - 25 + (i as i64 * 25 / 1_600),
            )
        })
        .collect();
    set.extend((0..5).map(|i| txn(10_000 + i, 700, 20, "usd", end - 300 + 50 * i as i64)));
    let (stripe, seen) = stripe_listing(
        &set,
        stand_in::Behaviour {
            latency: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .await;
    let c = client(&stripe.uri(), 2, 1_000.0);
    let got = read_all(&c, vec![(end - 300, end)]).await.unwrap();
    assert_eq!(tally(&got), expected(&set, end - 300, end));
    // Nothing is asked for twice: every object was sent once.
    assert_eq!(objects_sent(&seen), set.len(), "an object was read twice");
    // 17 pages of objects; the search for where they are costs a few more.
    let requests = seen.requests.load(Ordering::SeqCst);
    assert!(requests <= 30, "{requests} requests for 17 pages");
}

#[tokio::test]
async fn a_list_read_at_the_budgets_pace_costs_little_more_than_its_pages() {
    // 3,000 subscriptions' worth over three years, read as `summarize_subscriptions` reads
    // them (even slices of the last four years, two of them empty) at 20 ms a page and
    // Stripe's test-mode 25 requests a second: the budget sets the pace, so slices are
    // not split and every request but a slice's last is full.
    let now = NOV.1;
    let set: Vec<Value> = (0..3_000)
        .map(|i| {
            txn(
                i,
                100,
                3,
                "usd",
                now - 60 - (i as i64 * 3 * 365 * 86_400 / 3_000),
            )
        })
        .collect();
    let (stripe, seen) = stripe_listing(
        &set,
        stand_in::Behaviour {
            latency: Duration::from_millis(20),
            ..Default::default()
        },
    )
    .await;
    let c = client(&stripe.uri(), 2, 25.0);
    let ranges = slices::even(now - 4 * 365 * 86_400, now, slices::parallel(25.0));
    let got = read_all(&c, ranges).await.unwrap();
    assert_eq!(tally(&got), expected(&set, 0, now));
    assert_eq!(objects_sent(&seen), set.len(), "an object was read twice");
    let requests = seen.requests.load(Ordering::SeqCst);
    assert!(requests <= 38, "{requests} requests for 30 pages");
}

#[tokio::test]
async fn a_page_that_fails_is_asked_again_and_nothing_is_lost() {
    let set = edgy_month();
    let (stripe, seen) = stripe_listing(
        &set,
        stand_in::Behaviour {
            fail: vec![0, 3, 7, 20, 21, 22],
            ..Default::default()
        },
    )
    .await;
    // No retries in the client: the slice itself asks for the page again.
    let c = client(&stripe.uri(), 0, 100_000.0);
    let got = read_all(&c, slices::even(NOV.0, NOV.1, 16)).await.unwrap();
    assert_eq!(seen.failed.load(Ordering::SeqCst), 6);
    assert_eq!(tally(&got), expected(&set, NOV.0, NOV.1));
}

#[tokio::test]
async fn a_stand_in_that_enforces_a_rate_limit_throttles_but_the_total_is_still_exact() {
    let set = edgy_month();
    let (stripe, seen) = stripe_listing(
        &set,
        stand_in::Behaviour {
            latency: Duration::from_millis(20),
            rate_limit: Some(25),
            fail: vec![],
        },
    )
    .await;
    // The budget believes in 200/s: the stand-in's 25/s answers with 429s, which slow the
    // readers down instead of failing the read.
    let c = client(&stripe.uri(), 2, 200.0);
    let got = read_all(&c, slices::even(NOV.0, NOV.1, 16)).await.unwrap();
    assert!(
        seen.throttled.load(Ordering::SeqCst) > 0,
        "the stand-in never throttled"
    );
    assert_eq!(tally(&got), expected(&set, NOV.0, NOV.1));
}

#[tokio::test]
async fn the_budget_keeps_parallel_reads_under_the_stand_ins_limit() {
    let set = edgy_month();
    let (stripe, seen) = stripe_listing(
        &set,
        stand_in::Behaviour {
            latency: Duration::from_millis(50),
            rate_limit: Some(30),
            fail: vec![],
        },
    )
    .await;
    let c = client(&stripe.uri(), 2, 20.0);
    let got = read_all(&c, slices::even(NOV.0, NOV.1, 16)).await.unwrap();
    assert_eq!(seen.throttled.load(Ordering::SeqCst), 0);
    assert_eq!(tally(&got), expected(&set, NOV.0, NOV.1));
}

fn summary_totals(out: &Value) -> BTreeMap<String, (u64, i64)> {
    out["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["currency"].as_str().unwrap().to_owned(),
                (
                    t["transactions"].as_u64().unwrap(),
                    t["net"]["amount"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// A recent month: `n` transactions spread over the last 30 days, up to an hour ago.
fn recent(n: usize, now: i64) -> Vec<Value> {
    (0..n)
        .map(|i| {
            txn(
                i,
                500 + i as i64,
                15,
                if i.is_multiple_of(4) { "eur" } else { "usd" },
                now - 3_600 - (i as i64 * 2_500_000 / n as i64),
            )
        })
        .collect()
}

async fn warm_equals_cold(db: String, account: &str) {
    let now = common::now();
    let objects = Arc::new(Mutex::new(recent(1_200, now)));
    let stripe = common::mock_stripe().await;
    stand_in::account(&stripe, account).await;
    let seen = stand_in::mount(
        &stripe,
        "/v1/balance_transactions",
        objects.clone(),
        Default::default(),
    )
    .await;
    let server = common::Spawn::new(&stripe.uri())
        .arg("--db")
        .arg(db.clone())
        .start()
        .await;
    let args = json!({"last_days": 30, "group_by": "week"});
    let cold = common::ok(
        &server
            .call("summarize_balance_transactions", args.clone())
            .await,
    );
    let cold_pages = seen.requests.load(Ordering::SeqCst);
    assert!(cold_pages >= 12, "{cold_pages}");
    let all = objects.lock().unwrap().clone();
    assert_eq!(
        summary_totals(&cold),
        expected(&all, now - 40 * 86_400, now + 1)
    );

    let warm = common::ok(
        &server
            .call("summarize_balance_transactions", args.clone())
            .await,
    );
    let warm_pages = seen.requests.load(Ordering::SeqCst) - cold_pages;
    assert_eq!(warm["totals"], cold["totals"], "warm equals cold");
    assert_eq!(warm["by_period"], cold["by_period"]);
    assert!(
        warm_pages <= slices::PARALLEL,
        "warm read {warm_pages} pages"
    );

    // A transaction a moment ago: the newest edge is read again, so it is there.
    objects
        .lock()
        .unwrap()
        .push(txn(999_999, 4_242, 42, "usd", common::now() - 2));
    let newer = common::ok(&server.call("summarize_balance_transactions", args).await);
    let (before, after) = (summary_totals(&cold)["usd"], summary_totals(&newer)["usd"]);
    assert_eq!(after, (before.0 + 1, before.1 + 4_200));
    server.stop().await;

    // A fresh process on the same store: warm too, and the copy is the account's.
    let store = Store::open(&DbTarget::parse(&db).unwrap()).await.unwrap();
    let mine = Scope::Tenant {
        tenant: "a".into(),
        accounts: Accounts::Only(vec![account.into()]),
    };
    let other = Scope::Tenant {
        tenant: "b".into(),
        accounts: Accounts::Only(vec!["acct_someone_else".into()]),
    };
    let kept = store.books_read(&mine, account, 0, i64::MAX).await.unwrap();
    assert_eq!(kept.len(), 1_201);
    assert!(kept.iter().all(|t| !t.id.is_empty()));
    assert!(
        store
            .books_read(&other, account, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.books_status(&other).await.unwrap().is_empty());
    let status = store.books_status(&mine).await.unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].transactions, 1_201);
}

#[tokio::test]
async fn warm_equals_cold_to_the_cent_and_a_newer_transaction_appears_on_sqlite() {
    let db = common::temp_db("books");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    warm_equals_cold(db.display().to_string(), "acct_books_sqlite").await;
}

#[tokio::test]
async fn warm_equals_cold_to_the_cent_and_a_newer_transaction_appears_on_postgres() {
    let Ok(url) = std::env::var("STRIPE_MCP_TEST_PG") else {
        eprintln!("skipped: STRIPE_MCP_TEST_PG is not set");
        return;
    };
    let account = format!("acct_books_{}", uuid::Uuid::new_v4().simple());
    warm_equals_cold(url, &account).await;
}

#[tokio::test]
async fn books_sync_fills_the_store_ahead_and_books_status_shows_it() {
    let now = common::now();
    let objects = Arc::new(Mutex::new(recent(450, now)));
    let stripe = common::mock_stripe().await;
    stand_in::account(&stripe, "acct_books_cli").await;
    let seen = stand_in::mount(
        &stripe,
        "/v1/balance_transactions",
        objects.clone(),
        Default::default(),
    )
    .await;
    let db = common::temp_db("books-cli");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(common::bin());
        cmd.env_clear()
            .env("STRIPE_SECRET_KEY", common::TEST_KEY)
            .env("STRIPE_API_BASE", stripe.uri())
            .arg("--db")
            .arg(&db)
            .args(args);
        async move { cmd.output().await.unwrap() }
    };
    let since = jiff::Timestamp::from_second(now - 40 * 86_400)
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    let out = run(&["books", "sync", "--since", &since]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("acct_books_cli: 450 transactions read"),
        "{stdout}"
    );
    let out = run(&["books", "status"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("acct_books_cli: 450 transactions"),
        "{stdout}"
    );
    assert!(stdout.contains("read in full"), "{stdout}");

    // The summary then reads only the newest edge from Stripe.
    let before = seen.requests.load(Ordering::SeqCst);
    let server = common::Spawn::new(&stripe.uri())
        .arg("--db")
        .arg(db.display().to_string())
        .start()
        .await;
    let out = common::ok(
        &server
            .call("summarize_balance_transactions", json!({"last_days": 30}))
            .await,
    );
    let all = objects.lock().unwrap().clone();
    assert_eq!(
        summary_totals(&out),
        expected(&all, now - 40 * 86_400, now + 1)
    );
    let pages = seen.requests.load(Ordering::SeqCst) - before;
    assert!(pages <= slices::PARALLEL, "{pages} pages after a sync");
    server.stop().await;
}

#[tokio::test]
async fn each_caller_reads_and_fills_only_the_copy_its_boundary_sees_on_sqlite() {
    let db = common::temp_db("books-scope");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    each_caller_reads_and_fills_only_its_copy(db.display().to_string(), "").await;
}

#[tokio::test]
async fn each_caller_reads_and_fills_only_the_copy_its_boundary_sees_on_postgres() {
    let Ok(url) = std::env::var("STRIPE_MCP_TEST_PG") else {
        eprintln!("skipped: STRIPE_MCP_TEST_PG is not set");
        return;
    };
    each_caller_reads_and_fills_only_its_copy(url, &uuid::Uuid::new_v4().simple().to_string())
        .await;
}

/// Two callers with their own keys on one store (`--auth stripe-key --connect`): each
/// reads and fills the copy of its own account only, and a connected account outside
/// their boundaries is never kept. `tag` makes the accounts this run's own.
async fn each_caller_reads_and_fills_only_its_copy(db: String, tag: &str) {
    use http_common::{Generation, call, connect, start};
    const KEY_ONE: &str = "sk_test_BOOKSSCOPEONE0123456789";
    const KEY_TWO: &str = "sk_test_BOOKSSCOPETWO0123456789";
    let (acct_one, acct_two) = (
        format!("acct_books_one{tag}"),
        format!("acct_books_two{tag}"),
    );
    let now = common::now();
    let objects = Arc::new(Mutex::new(recent(450, now)));
    let stripe = common::mock_stripe().await;
    common::account_for(&stripe, KEY_ONE, &acct_one).await;
    common::account_for(&stripe, KEY_TWO, &acct_two).await;
    let seen = stand_in::mount(
        &stripe,
        "/v1/balance_transactions",
        objects.clone(),
        Default::default(),
    )
    .await;
    // Each caller brings its own key; it reads from the store only its key's account,
    // and acts on any connected account Stripe lets it.
    let server = start(
        &stripe.uri(),
        &["--auth", "stripe-key", "--connect", "--db", &db],
        &[],
    )
    .await;
    let one = connect(&server.url(), Some(KEY_ONE), Generation::Sessions20251125).await;
    let two = connect(&server.url(), Some(KEY_TWO), Generation::Sessions20251125).await;
    let want = expected(&objects.lock().unwrap(), now - 40 * 86_400, now + 1);
    let summarize = |who: &'static str, args: Value| {
        let seen = seen.clone();
        let client = if who == "one" { &one } else { &two };
        async move {
            let before = seen.requests.load(Ordering::SeqCst);
            let out = common::ok(&call(client, "summarize_balance_transactions", args).await);
            (out, seen.requests.load(Ordering::SeqCst) - before)
        }
    };
    let mine = json!({"last_days": 30});
    // One fills its account's copy; two's account has none yet, whatever one holds.
    let (out, cold) = summarize("one", mine.clone()).await;
    assert_eq!(summary_totals(&out), want);
    assert!(cold >= 5, "one's cold read: {cold} requests");
    let (out, other) = summarize("two", mine.clone()).await;
    assert_eq!(summary_totals(&out), want);
    assert!(other >= 5, "two read one's copy: {other} requests");
    let (out, warm) = summarize("one", mine.clone()).await;
    assert_eq!(summary_totals(&out), want);
    assert!(warm <= 1, "one's warm read: {warm} requests");

    // A connected account outside both callers' boundaries: read from Stripe each time,
    // never kept, so neither can read what the other's call fetched.
    let connected = format!("acct_books_connected{tag}");
    let theirs = json!({"last_days": 30, "stripe_account": connected});
    for who in ["one", "two"] {
        let (out, requests) = summarize(who, theirs.clone()).await;
        assert_eq!(summary_totals(&out), want);
        assert!(
            requests >= 5,
            "{who} read a copy outside its boundary: {requests} requests"
        );
    }
    one.cancel().await.unwrap();
    two.cancel().await.unwrap();

    let store = Store::open(&DbTarget::parse(&db).unwrap()).await.unwrap();
    let held: Vec<(String, u64)> = store
        .books_status(&Scope::Operator)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.account.ends_with(tag))
        .map(|a| (a.account, a.transactions))
        .collect();
    assert_eq!(held, [(acct_one, 450), (acct_two, 450)]);
}
