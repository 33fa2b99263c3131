//! The books tools through the real binary over stdio against the mock Stripe: sets
//! built here with totals known by hand, so every figure is checked to the cent; the
//! paging, the progress notifications, the bound and cancellation.

mod common;
#[path = "common/rpc.rs"]
mod rpc;
#[path = "common/stand_in.rs"]
mod stand_in;

use std::{process::Stdio, sync::Arc, time::Duration};

use rpc::Rpc;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

/// The stand-in list endpoint over `objects` (honours `created`, `limit`, `starting_after`).
async fn list_of(stripe: &MockServer, p: &str, objects: Vec<Value>, delay: Duration) {
    stand_in::mount(
        stripe,
        p,
        Arc::new(std::sync::Mutex::new(objects)),
        stand_in::Behaviour {
            latency: delay,
            ..Default::default()
        },
    )
    .await;
}

fn spawn(api_base: &str) -> Rpc {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", api_base)
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null());
    Rpc::spawn(cmd).expect("spawn stripe-mcp")
}

fn txn(
    n: usize,
    kind: &str,
    category: &str,
    amount: i64,
    fee: i64,
    currency: &str,
    created: i64,
) -> Value {
    json!({"id": format!("txn_{n:04}"), "object": "balance_transaction", "amount": amount, "fee": fee,
           "net": amount - fee, "currency": currency, "type": kind, "reporting_category": category,
           "status": "available", "created": created, "source": if category.starts_with("dispute") { json!("du_1") } else { json!(format!("ch_{n}")) }})
}

/// 2026-11-02 10:00 UTC and 2026-11-03 10:00 UTC.
const NOV_2: i64 = 1_793_613_600;
const NOV_3: i64 = NOV_2 + 86_400;

/// The built set: 251 transactions, totals worked out by hand in the test below.
fn book() -> Vec<Value> {
    let mut v = Vec::new();
    let mut n = 0;
    let mut push = |kind: &str, cat: &str, amount: i64, fee: i64, cur: &str, created: i64| {
        v.push(txn(n, kind, cat, amount, fee, cur, created));
        n += 1;
    };
    for i in 0..230 {
        // 115 charges of $10.00 (fee $0.59) on each of two days.
        push(
            "charge",
            "charge",
            1000,
            59,
            "usd",
            if i < 115 { NOV_2 } else { NOV_3 },
        );
    }
    for _ in 0..10 {
        push("refund", "refund", -500, 0, "usd", NOV_3);
    }
    push("adjustment", "dispute", -2000, 1500, "usd", NOV_3);
    push("adjustment", "dispute_reversal", 2000, 0, "usd", NOV_3);
    push("stripe_fee", "fee", -300, 0, "usd", NOV_2);
    push("stripe_fee", "fee", -300, 0, "usd", NOV_3);
    push("payout", "payout", -150_000, 0, "usd", NOV_3);
    push("adjustment", "other_adjustment", 123, 0, "usd", NOV_2);
    for _ in 0..5 {
        push("charge", "charge", 2000, 100, "eur", NOV_2);
    }
    v
}

fn money(v: &Value) -> i64 {
    v["amount"].as_i64().unwrap()
}

#[tokio::test]
async fn the_balance_summary_totals_a_known_set_exactly_over_every_page() {
    let stripe = common::mock_stripe().await;
    list_of(&stripe, "/v1/balance_transactions", book(), Duration::ZERO).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let reply = rpc
        .request(
            "tools/call",
            json!({"name": "summarize_balance_transactions",
                   "arguments": {"from": "2026-11-01", "to": "2026-11-30", "group_by": "day"},
                   "_meta": {"progressToken": "books"}}),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let out = &reply["result"]["structuredContent"];
    assert_eq!(out["transactions"], 251, "{reply}");
    assert_eq!(out["max_transactions"], 50_000);
    assert_eq!(out["from"], "2026-11-01T00:00:00+00:00");
    assert_eq!(out["to"], "2026-12-01T00:00:00+00:00");
    let totals = out["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 2);
    let (eur, usd) = (&totals[0], &totals[1]);
    assert_eq!(usd["currency"], "usd");
    let fig = |t: &Value, k: &str| (money(&t[k]["total"]), t[k]["count"].as_u64().unwrap());
    assert_eq!(fig(usd, "charges"), (230_000, 230));
    assert_eq!(fig(usd, "refunds"), (-5_000, 10));
    assert_eq!(fig(usd, "disputes"), (0, 2));
    // 230 x 59 on the charges + 1500 on the dispute + two $3.00 fee transactions.
    assert_eq!(fig(usd, "fees"), (15_670, 2));
    assert_eq!(fig(usd, "adjustments"), (123, 1));
    assert_eq!(fig(usd, "payouts"), (-150_000, 1));
    assert_eq!(money(&usd["net_before_payouts"]), 209_453);
    assert_eq!(money(&usd["net"]), 59_453);
    assert_eq!(usd["net"]["display"], "$594.53");
    assert_eq!(usd["transactions"], 246);
    // The net is the sum of the transactions' nets, whatever the categories.
    let sum: i64 = book()
        .iter()
        .filter(|t| t["currency"] == "usd")
        .map(|t| t["net"].as_i64().unwrap())
        .sum();
    assert_eq!(money(&usd["net"]), sum);
    assert_eq!(fig(eur, "charges"), (10_000, 5));
    assert_eq!(fig(eur, "fees"), (500, 0));
    assert_eq!(money(&eur["net"]), 9_500);

    let days = out["by_period"].as_array().unwrap();
    assert_eq!(
        days.iter()
            .map(|d| d["start"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["2026-11-02", "2026-11-03"]
    );
    let day2_usd = days[0]["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "usd")
        .unwrap();
    assert_eq!(fig(day2_usd, "charges"), (115_000, 115));
    assert_eq!(fig(day2_usd, "fees"), (115 * 59 + 300, 1));

    // Time slices of the period, read concurrently: every request stays within the
    // period, asks for full pages, and the slices start at its first second and end at its end.
    let reqs = stripe.received_requests().await.unwrap();
    let q = |r: &Request| -> Vec<(String, String)> { r.url.query_pairs().into_owned().collect() };
    let get = |pairs: &[(String, String)], k: &str| {
        pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    let (start, end) = (1_793_491_200i64, 1_796_083_200i64);
    let mut gtes = Vec::new();
    let mut lts = Vec::new();
    for r in &reqs {
        let pairs = q(r);
        let gte: i64 = get(&pairs, "created[gte]").unwrap().parse().unwrap();
        let lt: i64 = get(&pairs, "created[lt]").unwrap().parse().unwrap();
        assert!(start <= gte && gte < lt && lt <= end, "{pairs:?}");
        assert_eq!(get(&pairs, "limit").as_deref(), Some("100"));
        gtes.push(gte);
        lts.push(lt);
    }
    assert!(gtes.contains(&start) && lts.contains(&end));
    // At least the slices the read starts with: as many as the test-mode budget can keep
    // busy at Stripe's latency.
    let first_slices = stripe_mcp::stripe::slices::parallel(
        stripe_mcp::stripe::budget::default_rate(stripe_mcp::stripe::key::Mode::Test),
    );
    assert!(first_slices >= 8, "{first_slices}");
    assert!(reqs.len() >= first_slices, "{} requests", reqs.len());

    let progress: Vec<f64> = rpc
        .take_unmatched()
        .iter()
        .filter(|m| {
            m["method"] == "notifications/progress" && m["params"]["progressToken"] == "books"
        })
        .map(|m| m["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&251.0), "{progress:?}");
}

#[tokio::test]
async fn the_balance_summary_counts_days_in_the_callers_time_zone_and_filters_a_currency() {
    let stripe = common::mock_stripe().await;
    // 2026-11-03 01:00 UTC is still 2 November in New York.
    let late = vec![txn(0, "charge", "charge", 700, 0, "usd", NOV_3 - 9 * 3600)];
    list_of(&stripe, "/v1/balance_transactions", late, Duration::ZERO).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let out = rpc
        .call_tool(
            "summarize_balance_transactions",
            json!({"from": "2026-11-02", "to": "2026-11-02", "time_zone": "America/New_York",
                   "currency": "USD", "group_by": "week"}),
        )
        .await
        .unwrap()["structuredContent"]
        .clone();
    assert_eq!(out["from"], "2026-11-02T00:00:00-05:00");
    assert_eq!(out["to"], "2026-11-03T00:00:00-05:00");
    assert_eq!(out["by_period"][0]["start"], "2026-11-02", "the Monday");
    let reqs = stripe.received_requests().await.unwrap();
    let sent: Vec<Vec<(String, String)>> = reqs
        .iter()
        .map(|r| r.url.query_pairs().into_owned().collect())
        .collect();
    assert!(
        sent.iter()
            .all(|pairs| pairs.contains(&("currency".into(), "usd".into()))),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|pairs| pairs.contains(&("created[gte]".into(), (1_793_595_600i64).to_string()))),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_bad_period_is_refused_before_anything_is_sent() {
    let stripe = common::mock_stripe().await;
    let server = common::Spawn::new(&stripe.uri()).start().await;
    for (args, says) in [
        (json!({}), "no period"),
        (json!({"from": "2026-02-30"}), "not a date"),
        (
            json!({"last_days": 7, "time_zone": "Nowhere/Special"}),
            "IANA",
        ),
        (
            json!({"from": "2024-01-01", "to": "2026-01-01"}),
            "at most 366",
        ),
    ] {
        let e = common::err(
            &server
                .call("summarize_balance_transactions", args.clone())
                .await,
        );
        assert_eq!(e["kind"], "invalid_argument", "{args}");
        assert!(e["message"].as_str().unwrap().contains(says), "{args}: {e}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_summary_over_the_bound_is_refused_not_cut_short() {
    // More than 50,000 transactions: the 501st page would be read. The stand-in
    // answers every page with 100 new ids, so the bound is what stops it.
    let stripe = common::mock_stripe().await;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .respond_with(move |req: &Request| {
            let gte: i64 = req
                .url
                .query_pairs()
                .find(|(k, _)| k == "created[gte]")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap();
            let first = next.fetch_add(100, std::sync::atomic::Ordering::SeqCst);
            let data: Vec<Value> = (first..first + 100)
                .map(|i| txn(i, "charge", "charge", 100, 0, "usd", gte))
                .collect();
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "data": data, "has_more": true}))
        })
        .mount(&stripe)
        .await;
    // 501 pages: the read budget is not what this test is about.
    let server = common::Spawn::new(&stripe.uri())
        .arg("--read-rate")
        .arg("2000")
        .start()
        .await;
    let e = common::err(
        &server
            .call("summarize_balance_transactions", json!({"last_days": 30}))
            .await,
    );
    assert!(
        e["message"].as_str().unwrap().contains("more than 50000"),
        "{e}"
    );
    assert!(
        e["message"].as_str().unwrap().contains("shorter period"),
        "{e}"
    );
    // 501 pages, and at most the pages already in flight when the bound was passed.
    let pages = stripe.received_requests().await.unwrap().len();
    assert!((501..=501 + 20).contains(&pages), "{pages}");
    server.stop().await;
}

#[tokio::test]
async fn a_cancelled_summary_stops_reading_pages() {
    let yesterday = common::now() - 86_400;
    let many: Vec<Value> = (0..2000)
        .map(|i| txn(i, "charge", "charge", 100, 0, "usd", yesterday))
        .collect();
    let stripe = common::mock_stripe().await;
    list_of(
        &stripe,
        "/v1/balance_transactions",
        many,
        Duration::from_millis(300),
    )
    .await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "summarize_balance_transactions", "arguments": {"last_days": 30}}});
    rpc.send_line(&call.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "enough"}});
    rpc.send_line(&cancel.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let at_cancel = stripe.received_requests().await.unwrap().len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pages = stripe.received_requests().await.unwrap().len();
    // 2000 in one slice would take 20 pages of 300 ms: every slice stopped.
    assert!(
        pages <= at_cancel + 1,
        "{at_cancel} pages at the cancel, {pages} after"
    );
    // Still serving (a refusal, so nothing more reaches the stand-in).
    let refused = rpc
        .call_tool("summarize_balance_transactions", json!({}))
        .await
        .unwrap();
    assert!(rpc::is_error(&refused));
}

fn price(id: &str, amount: Option<i64>, currency: &str, interval: &str, count: u32) -> Value {
    json!({"id": id, "object": "price", "product": format!("prod_{id}"), "nickname": format!("{id} plan"),
           "unit_amount": amount, "currency": currency,
           "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"}})
}

fn sub(id: &str, status: &str, items: Vec<(Value, u64)>, discounts: Vec<Value>) -> Value {
    let data: Vec<Value> = items
        .into_iter()
        .enumerate()
        .map(|(i, (p, q))| json!({"id": format!("si_{id}_{i}"), "object": "subscription_item", "price": p, "quantity": q}))
        .collect();
    json!({"id": id, "object": "subscription", "status": status, "customer": "cus_1",
           "items": {"object": "list", "data": data, "has_more": false}, "discounts": discounts})
}

#[tokio::test]
async fn mrr_of_a_built_book_is_known_by_hand() {
    let monthly = price("price_m", Some(2000), "usd", "month", 1);
    let yearly = price("price_y", Some(24_000), "usd", "year", 1);
    let quarterly = price("price_q", Some(9000), "usd", "month", 3);
    let weekly = price("price_w", Some(500), "usd", "week", 1);
    let euro = price("price_e", Some(1000), "eur", "month", 1);
    let mut metered = price("price_meter", Some(1), "usd", "month", 1);
    metered["recurring"]["usage_type"] = json!("metered");
    let tiered = price("price_tier", None, "usd", "month", 1);
    let pct = json!({"id": "di_1", "object": "discount", "source": {"type": "coupon",
        "coupon": {"id": "HALF", "percent_off": 50.0, "duration": "forever"}}});
    let off = json!({"id": "di_2", "object": "discount", "coupon": {"id": "FIVE", "amount_off": 500,
        "currency": "usd", "duration": "repeating"}});
    let once = json!({"id": "di_3", "object": "discount", "source": {"type": "coupon",
        "coupon": {"id": "FIRST", "percent_off": 100.0, "duration": "once"}}});
    let subs = vec![
        // $20.00 x 3 seats = 6000 a month.
        sub("sub_1", "active", vec![(monthly.clone(), 3)], vec![]),
        // $240 a year = 2000 a month, half off forever = 1000.
        sub("sub_2", "active", vec![(yearly, 1)], vec![pct]),
        // $90 a quarter = 3000 a month, less $5 each invoice (a quarter) = 3000 - 500/3.
        sub("sub_3", "active", vec![(quarterly, 1)], vec![off]),
        // $5 a week = 500 x 52 / 12 a month; a once-only discount is not counted.
        sub(
            "sub_4",
            "active",
            vec![(weekly, 2), (metered, 1), (tiered, 1)],
            vec![once],
        ),
        // Trialing: counted only when asked.
        sub("sub_5", "trialing", vec![(monthly.clone(), 1)], vec![]),
        sub("sub_6", "past_due", vec![(monthly, 1)], vec![]),
        sub("sub_7", "active", vec![(euro, 2)], vec![]),
    ];
    let stripe = common::mock_stripe().await;
    list_of(&stripe, "/v1/subscriptions", subs, Duration::ZERO).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let out = rpc
        .call_tool("summarize_subscriptions", json!({"top": 3}))
        .await
        .unwrap()["structuredContent"]
        .clone();
    let revenue = out["revenue"].as_array().unwrap();
    let (eur, usd) = (&revenue[0], &revenue[1]);
    // 6000 + 1000 + (3000 - 166.67) + 2 x 500 x 52/12 = 6000 + 1000 + 2833.33 + 4333.33
    // = 14166.67 -> 14167; ARR = 12 x 14166.666.. = 170000 exactly.
    assert_eq!(money(&usd["mrr"]), 14_167, "{out}");
    assert_eq!(money(&usd["arr"]), 170_000);
    assert_eq!(usd["mrr"]["display"], "$141.67");
    assert_eq!(usd["subscriptions"], 4);
    assert_eq!((money(&eur["mrr"]), money(&eur["arr"])), (2000, 24_000));
    assert_eq!(
        out["by_status"],
        json!({"active": 5, "past_due": 1, "trialing": 1})
    );
    let top: Vec<(&str, i64)> = out["top_plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["price"].as_str().unwrap(), money(&p["mrr"])))
        .collect();
    // price_m: 6000 (sub_1 only; trialing and past_due not counted).
    assert_eq!(
        top,
        [("price_m", 6000), ("price_w", 4333), ("price_q", 3000)]
    );
    let not_counted = out["not_counted"].to_string();
    for says in [
        "1 metered",
        "1 items whose price has no unit_amount",
        "1 discounts lasting once",
        "2 subscriptions not active",
    ] {
        assert!(not_counted.contains(says), "{says}: {not_counted}");
    }
    let query: Vec<(String, String)> = stripe.received_requests().await.unwrap()[0]
        .url
        .query_pairs()
        .into_owned()
        .collect();
    assert!(
        query.contains(&("expand[0]".into(), "data.discounts".into())),
        "{query:?}"
    );
    assert!(
        !query.iter().any(|(k, _)| k == "status"),
        "the default list: every status but canceled"
    );

    let with_trials = rpc
        .call_tool(
            "summarize_subscriptions",
            json!({"include_trialing": true, "currency": "usd"}),
        )
        .await
        .unwrap()["structuredContent"]
        .clone();
    assert_eq!(with_trials["revenue"].as_array().unwrap().len(), 1);
    assert_eq!(money(&with_trials["revenue"][0]["mrr"]), 14_167 + 2000);
}

#[tokio::test]
async fn overdue_invoices_come_oldest_first_with_the_amount_left_and_the_email() {
    let now = common::now();
    let invoice = |id: &str, days_ago: i64, remaining: i64, email: &str| {
        json!({"id": id, "object": "invoice", "status": "open", "customer": "cus_1", "customer_email": email,
               "amount_due": remaining + 100, "amount_paid": 100, "amount_remaining": remaining, "currency": "usd",
               "due_date": now - days_ago * 86_400, "number": format!("N-{id}"),
               "hosted_invoice_url": format!("https://invoice.stripe.com/i/{id}"), "collection_method": "send_invoice"})
    };
    let invoices = vec![
        invoice("in_new", 2, 1500, "a@example.com"),
        invoice("in_old", 40, 9900, "b@example.com"),
        invoice("in_mid", 10, 2500, "c@example.com"),
    ];
    let stripe = common::mock_stripe().await;
    list_of(&stripe, "/v1/invoices", invoices, Duration::ZERO).await;
    let server = common::Spawn::new(&stripe.uri()).start().await;
    let out = common::ok(
        &server
            .call(
                "list_overdue_invoices",
                json!({"limit": 2, "customer": "cus_1"}),
            )
            .await,
    );
    let ids: Vec<&str> = out["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["in_old", "in_mid"]);
    assert_eq!(out["invoices"][0]["customer_email"], "b@example.com");
    assert_eq!(
        out["invoices"][0]["amount_remaining"],
        json!({"amount": 9900, "currency": "usd", "display": "$99.00"})
    );
    assert_eq!(out["invoices"][0]["days_overdue"], 40);
    assert_eq!(out["overdue_count"], 3);
    assert_eq!(
        out["total_remaining"],
        json!([{"amount": 13_900, "currency": "usd", "display": "$139.00"}])
    );
    let req = &stripe.received_requests().await.unwrap()[0];
    let pairs: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
    assert!(pairs.contains(&("status".into(), "open".into())));
    assert!(pairs.contains(&("customer".into(), "cus_1".into())));
    let lt: i64 = pairs
        .iter()
        .find(|(k, _)| k == "due_date[lt]")
        .unwrap()
        .1
        .parse()
        .unwrap();
    assert!((lt - now).abs() < 60, "due_date[lt] is now");
    server.stop().await;
}

#[tokio::test]
async fn every_request_the_books_tools_send_matches_stripes_openapi_description() {
    let Some(spec) = common::openapi::Spec::from_env() else {
        eprintln!("skipped: STRIPE_OPENAPI_SPEC is not set (scripts/test sets it)");
        return;
    };
    let stripe = common::mock_stripe().await;
    list_of(&stripe, "/v1/balance_transactions", book(), Duration::ZERO).await;
    list_of(&stripe, "/v1/subscriptions", vec![], Duration::ZERO).await;
    list_of(&stripe, "/v1/invoices", vec![], Duration::ZERO).await;
    let server = common::Spawn::new(&stripe.uri()).start().await;
    for (tool, args) in [
        (
            "summarize_balance_transactions",
            json!({"from": "2026-11-01", "currency": "usd", "group_by": "week"}),
        ),
        ("summarize_subscriptions", json!({"include_trialing": true})),
        ("list_overdue_invoices", json!({"customer": "cus_1"})),
    ] {
        common::ok(&server.call(tool, args).await);
    }
    server.stop().await;
    let requests = stripe.received_requests().await.unwrap();
    // The lists are read in time slices in parallel (tests/books.rs covers the slicing):
    // each of the three lists was read, and every request matches the spec.
    for list in [
        "/v1/balance_transactions",
        "/v1/subscriptions",
        "/v1/invoices",
    ] {
        assert!(
            requests.iter().any(|r| r.url.path() == list),
            "{list} was not read"
        );
    }
    common::assert_requests_match_spec(&spec, &requests, |_, _, _| false);
}
