//! MCP Apps views (`io.modelcontextprotocol/ui`): what a client that declares the
//! extension is offered, that a client without it (or a server with `--no-ui`) sees
//! exactly what it saw before, and the three views rendered in headless Chromium from
//! real tool results (screenshots in `target/apps/`; `scripts/screenshots` copies them to
//! `docs/screenshots/`).

mod common;
mod http_common;
#[path = "common/rpc.rs"]
mod rpc;

use std::{path::Path, process::Stdio, time::Duration};

use common::{WEBHOOK_SECRET, deliver, fixture, session_event, start_receiver};
use rpc::Rpc;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const EXT: &str = "io.modelcontextprotocol/ui";
const MIME: &str = "text/html;profile=mcp-app";
const VIEWS: [&str; 3] = [
    "ui://stripe-mcp/books",
    "ui://stripe-mcp/checkout",
    "ui://stripe-mcp/order",
];

/// 2026-11-02 10:00 UTC, a Monday.
const NOV_2: i64 = 1_793_613_600;
const DAY: i64 = 86_400;

fn txn(n: usize, kind: &str, amount: i64, fee: i64, currency: &str, created: i64) -> Value {
    json!({"id": format!("txn_{n:04}"), "object": "balance_transaction", "amount": amount, "fee": fee,
           "net": amount - fee, "currency": currency, "type": kind, "reporting_category": kind,
           "status": "available", "created": created, "source": format!("ch_{n}")})
}

/// A week of books in a two-decimal, a zero-decimal and a three-decimal currency.
fn book() -> Vec<Value> {
    let mut v = Vec::new();
    for day in 0..7 {
        let at = NOV_2 + day * DAY;
        for k in 0..(2 + day as usize % 3) {
            v.push(txn(
                v.len(),
                "charge",
                4999 + 1000 * k as i64,
                175,
                "usd",
                at,
            ));
        }
        if day % 3 == 1 {
            v.push(txn(v.len(), "refund", -2500, 0, "usd", at));
        }
    }
    v.push(txn(v.len(), "payout", -30_000, 0, "usd", NOV_2 + 5 * DAY));
    v.push(txn(v.len(), "charge", 5000, 0, "jpy", NOV_2 + DAY));
    v.push(txn(v.len(), "charge", 1500, 45, "kwd", NOV_2 + 2 * DAY));
    v
}

/// Mock Stripe: the balance transactions, a checkout session to create and read, the
/// paid order's live session.
async fn mock() -> MockServer {
    let stripe = common::mock_stripe().await;
    // With --db the books are kept per account: the summary asks whose key this is.
    Mock::given(method("GET"))
        .and(path("/v1/account"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("account.json")))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": "/v1/balance_transactions", "data": book(), "has_more": false
        })))
        .mount(&stripe)
        .await;
    let plan = |id: &str, amount: i64, currency: &str, interval: &str| {
        json!({"id": id, "object": "price", "product": format!("prod_{id}"), "nickname": format!("{id} plan"),
               "unit_amount": amount, "currency": currency,
               "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"}})
    };
    let sub = |id: &str, status: &str, price: Value, quantity: u64| {
        json!({"id": id, "object": "subscription", "status": status, "customer": "cus_1", "discounts": [],
               "items": {"object": "list", "has_more": false,
                         "data": [{"id": format!("si_{id}"), "object": "subscription_item", "price": price, "quantity": quantity}]}})
    };
    let subs = vec![
        sub(
            "sub_1",
            "active",
            plan("price_pro", 2000, "usd", "month"),
            3,
        ),
        sub(
            "sub_2",
            "active",
            plan("price_year", 24_000, "usd", "year"),
            1,
        ),
        sub(
            "sub_3",
            "past_due",
            plan("price_pro", 2000, "usd", "month"),
            1,
        ),
        sub("sub_4", "active", plan("price_jp", 3000, "jpy", "month"), 1),
    ];
    Mock::given(method("GET"))
        .and(path("/v1/subscriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "url": "/v1/subscriptions", "data": subs, "has_more": false
        })))
        .mount(&stripe)
        .await;
    let mut open = fixture("checkout_session.json");
    open["id"] = json!("cs_test_apps");
    open["status"] = json!("open");
    open["amount_total"] = json!(5000);
    open["expires_at"] = json!(common::now() + 23 * 3600);
    open["url"] = json!(format!(
        "https://checkout.stripe.com/c/pay/cs_test_apps#{}",
        "fidkdWxOYHwnPyd1blpxYHZxWjA0T0pNaWJhYEtTbU1fQFRobW1qaWZPXTZ9PGpgMmZjaXxdfFxMNEA1"
            .repeat(3)
    ));
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(open.clone()))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_apps"))
        .respond_with(ResponseTemplate::new(200).set_body_json(open))
        .mount(&stripe)
        .await;
    let mut paid = fixture("checkout_session.json");
    paid["id"] = json!("cs_test_paid");
    paid["status"] = json!("complete");
    paid["payment_status"] = json!("paid");
    paid["url"] = Value::Null;
    Mock::given(method("GET"))
        .and(path("/v1/checkout/sessions/cs_test_paid"))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid))
        .mount(&stripe)
        .await;
    stripe
}

/// A ledger with one paid order, recorded by the real receiver from a signed event.
async fn ledger(tag: &str) -> std::path::PathBuf {
    let db = common::temp_db(tag);
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let body = session_event(
        "evt_apps_1",
        "checkout.session.completed",
        "cs_test_paid",
        "paid",
    );
    let http = reqwest::Client::new();
    assert_eq!(deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await.0, 200);
    rx.kill().await;
    db
}

fn spawn(api_base: &str, db: &Path, extra: &[&str]) -> Rpc {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("APP_BASE_URL", "https://shop.example")
        .arg("--db")
        .arg(db)
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null());
    Rpc::spawn(cmd).expect("spawn stripe-mcp")
}

/// `initialize`, declaring the extension when `ui`.
async fn initialize(rpc: &Rpc, ui: bool) {
    let mut params = rpc::initialize_params();
    if ui {
        params["capabilities"]["extensions"] = json!({EXT: {"mimeTypes": [MIME]}});
    }
    rpc.request("initialize", params, rpc::LONG).await.unwrap();
    rpc.notify("notifications/initialized").await.unwrap();
}

/// The calls every view draws, with their arguments.
fn calls() -> Vec<(&'static str, Value)> {
    vec![
        (
            "summarize_balance_transactions",
            json!({"from": "2026-11-02", "to": "2026-11-08", "group_by": "day"}),
        ),
        ("summarize_subscriptions", json!({})),
        (
            "initiate_checkout",
            json!({"product_name": "Organic cotton tee", "unit_amount": 2500, "currency": "usd",
                   "quantity": 2, "idempotency_key": "apps-test-checkout-1"}),
        ),
        ("get_checkout_session", json!({"session": "cs_test_apps"})),
        ("get_order_status", json!({"session_id": "cs_test_paid"})),
        ("list_orders", json!({})),
    ]
}

/// Everything one session saw, as replies and their sizes on the wire.
#[derive(Debug, PartialEq)]
struct Seen {
    tools: (Value, usize),
    resources: (Value, usize),
    results: Vec<(Value, usize)>,
}

async fn session(stripe: &MockServer, db: &Path, extra: &[&str], ui: bool) -> Seen {
    let rpc = spawn(&stripe.uri(), db, extra);
    initialize(&rpc, ui).await;
    let long = rpc::LONG;
    let (tools, t) = rpc
        .request_sized("tools/list", json!({}), long)
        .await
        .unwrap();
    let (resources, r) = rpc
        .request_sized("resources/list", json!({}), long)
        .await
        .unwrap();
    let mut results = Vec::new();
    for (name, args) in calls() {
        let (mut reply, n) = rpc
            .request_sized("tools/call", json!({"name": name, "arguments": args}), long)
            .await
            .unwrap();
        reply["id"] = Value::Null;
        results.push((reply, n));
    }
    rpc.close(Duration::from_secs(5)).await;
    let strip = |mut v: Value| {
        v["id"] = Value::Null;
        v
    };
    Seen {
        tools: (strip(tools), t),
        resources: (strip(resources), r),
        results,
    }
}

#[tokio::test]
async fn a_client_without_the_extension_sees_exactly_what_it_saw_before() {
    let stripe = mock().await;
    let db = ledger("apps-plain").await;
    let plain = session(&stripe, &db, &[], false).await;
    let with_ui = session(&stripe, &db, &[], true).await;
    let no_ui = session(&stripe, &db, &["--no-ui"], true).await;

    // --no-ui: byte for byte what a client without the extension gets.
    assert_eq!(no_ui, plain);
    // Same results (text and structuredContent) with the extension.
    assert_eq!(with_ui.results, plain.results);
    for (reply, _) in &plain.results {
        assert!(reply["result"]["structuredContent"].is_object(), "{reply}");
        assert_ne!(reply["result"]["isError"], true, "{reply}");
    }

    // The tools differ by the _meta entry alone, and only on the tools with a view.
    let before = plain.tools.0["result"]["tools"].as_array().unwrap();
    let after = with_ui.tools.0["result"]["tools"].as_array().unwrap();
    assert_eq!(before.len(), after.len());
    let mut grew = 0;
    for (b, a) in before.iter().zip(after) {
        let name = b["name"].as_str().unwrap();
        let mut a = a.clone();
        let meta = a.as_object_mut().unwrap().remove("_meta");
        assert_eq!(&a, b, "{name}: only _meta may differ");
        match name {
            "summarize_balance_transactions" | "summarize_subscriptions" => {
                assert_eq!(meta, Some(json!({"ui": {"resourceUri": VIEWS[0]}})))
            }
            "initiate_checkout" | "get_checkout_session" => {
                assert_eq!(meta, Some(json!({"ui": {"resourceUri": VIEWS[1]}})))
            }
            "get_order_status" | "list_orders" => {
                assert_eq!(meta, Some(json!({"ui": {"resourceUri": VIEWS[2]}})))
            }
            _ => assert_eq!(meta, None, "{name}"),
        }
        if let Some(meta) = meta {
            grew += format!(",\"_meta\":{meta}").len();
        }
    }
    // The list grows by exactly the _meta entries.
    assert_eq!(with_ui.tools.1, plain.tools.1 + grew);

    // The views are listed as MCP Apps resources only with the extension.
    let uris = |s: &Seen| -> Vec<String> {
        s.resources.0["result"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uri"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(uris(&plain).iter().all(|u| !u.starts_with("ui://")));
    let listed = with_ui.resources.0["result"]["resources"]
        .as_array()
        .unwrap();
    for view in VIEWS {
        let r = listed.iter().find(|r| r["uri"] == view).expect(view);
        assert_eq!(r["mimeType"], MIME);
    }
}

async fn read(rpc: &Rpc, uri: &str) -> Value {
    rpc.request("resources/read", json!({"uri": uri}), rpc::LONG)
        .await
        .unwrap()
}

#[tokio::test]
async fn views_are_served_only_with_the_extension_and_follow_the_tool_allowlist() {
    let stripe = mock().await;
    let db = common::temp_db("apps-allow");

    let rpc = spawn(&stripe.uri(), &db, &["--tools", "core"]);
    initialize(&rpc, true).await;
    let got = read(&rpc, VIEWS[1]).await;
    let content = &got["result"]["contents"][0];
    assert_eq!(content["mimeType"], MIME);
    assert_eq!(content["uri"], VIEWS[1]);
    let html = content["text"].as_str().unwrap();
    assert!(html.starts_with("<!doctype html>") && html.len() <= 100 * 1024);
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // The core group has no summary nor order tools: their views are not offered.
    for uri in [VIEWS[0], VIEWS[2]] {
        assert!(read(&rpc, uri).await["error"].is_object(), "{uri}");
    }
    let listed = rpc
        .request("resources/list", json!({}), rpc::LONG)
        .await
        .unwrap();
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .filter(|u| u.starts_with("ui://"))
        .collect();
    assert_eq!(uris, [VIEWS[1]]);
    rpc.close(Duration::from_secs(5)).await;

    // Without the extension, or with --no-ui, no view can be read.
    for (extra, ui) in [(&[][..], false), (&["--no-ui"][..], true)] {
        let rpc = spawn(&stripe.uri(), &db, extra);
        initialize(&rpc, ui).await;
        assert!(read(&rpc, VIEWS[1]).await["error"].is_object());
        rpc.close(Duration::from_secs(5)).await;
    }
}

/// Why the browser test cannot run here, if it cannot.
fn browser_missing(host_dir: &Path) -> Option<String> {
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node is not installed".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium, or set CHROMIUM)"
        ));
    }
    if !host_dir.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "the test host's packages are not installed (npm ci --prefix {})",
            host_dir.display()
        ));
    }
    None
}

/// The texts the rendered view shows under `data-testid = id`.
fn shown<'a>(report: &'a Value, case: &str, id: &str) -> Vec<&'a str> {
    report[case]["texts"][id]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: nothing shown as {id}: {}", report[case]["texts"]))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_views_render_real_results_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let host_dir = root.join("tests/apps");
    if let Some(why) = browser_missing(&host_dir) {
        eprintln!("SKIPPED the_views_render_real_results_in_headless_chromium: {why}");
        return;
    }
    let stripe = mock().await;
    let db = ledger("apps-browser").await;
    let rpc = spawn(&stripe.uri(), &db, &[]);
    initialize(&rpc, true).await;

    // The views' HTML, as a host gets it, and the tools each one is linked from.
    let tools = rpc
        .request("tools/list", json!({}), rpc::LONG)
        .await
        .unwrap();
    let tools = tools["result"]["tools"].as_array().unwrap().clone();
    let view_of = |name: &str| -> String {
        let tool = tools.iter().find(|t| t["name"] == name).unwrap();
        tool["_meta"]["ui"]["resourceUri"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let read_only: Vec<&str> = tools
        .iter()
        .filter(|t| t["annotations"]["readOnlyHint"] == true)
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut cases = Vec::new();
    let mut results = std::collections::HashMap::new();
    for (name, args) in calls() {
        let result = rpc.call_tool(name, args.clone()).await.unwrap();
        assert_ne!(result["isError"], true, "{name}: {result}");
        let uri = view_of(name);
        let html = rpc
            .request("resources/read", json!({"uri": uri}), rpc::LONG)
            .await
            .unwrap()["result"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .to_owned();
        let case = name.replace('_', "-");
        cases.push(
            json!({"name": case, "theme": "light", "html": html, "input": args, "result": result}),
        );
        if name == "summarize_balance_transactions" {
            cases.push(
                json!({"name": "summarize-balance-transactions-dark", "theme": "dark",
                               "html": html, "input": args, "result": result}),
            );
        }
        results.insert(case, result["structuredContent"].clone());
    }
    rpc.close(Duration::from_secs(5)).await;

    let out = root.join("target/apps");
    std::fs::create_dir_all(&out).unwrap();
    let cases_file = out.join("cases.json");
    std::fs::write(&cases_file, serde_json::to_vec(&cases).unwrap()).unwrap();
    let run = tokio::process::Command::new("node")
        .arg(host_dir.join("host.mjs"))
        .arg(&cases_file)
        .arg(&out)
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("run node");
    assert!(run.status.success(), "the test host failed");
    let report: Value = serde_json::from_slice(&run.stdout).expect("the host's report");

    for (case, r) in report.as_object().unwrap() {
        assert_eq!(r["problems"], json!([]), "{case}: errors in the page");
        assert_eq!(
            r["requests"],
            json!([]),
            "{case}: the view reached the network"
        );
        for call in r["toolCalls"].as_array().unwrap() {
            let name = call["name"].as_str().unwrap();
            assert!(read_only.contains(&name), "{case}: the view called {name}");
        }
        assert!(Path::new(r["screenshot"].as_str().unwrap()).exists());
    }

    // Books: every figure is the result's, in each currency's own format.
    let books = &results["summarize-balance-transactions"];
    for t in books["totals"].as_array().unwrap() {
        let c = t["currency"].as_str().unwrap();
        for k in ["charges", "refunds", "fees", "payouts"] {
            let want = t[k]["total"]["display"].as_str().unwrap();
            assert_eq!(
                shown(
                    &report,
                    "summarize-balance-transactions",
                    &format!("{c}-{k}")
                ),
                [want]
            );
        }
        let net = t["net"]["display"].as_str().unwrap();
        assert_eq!(
            shown(
                &report,
                "summarize-balance-transactions",
                &format!("{c}-net")
            ),
            [net]
        );
    }
    assert_eq!(
        shown(&report, "summarize-balance-transactions", "jpy-charges"),
        ["¥5,000"]
    );
    assert_eq!(
        shown(&report, "summarize-balance-transactions", "kwd-charges"),
        ["1.500 KWD"]
    );
    let days = report["summarize-balance-transactions"]["chartGroups"]
        .as_array()
        .unwrap();
    assert_eq!(days.len(), 7, "one bar group per day");
    let first = &books["by_period"][0];
    let usd = first["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "usd")
        .unwrap();
    let gross = usd["charges"]["total"]["display"].as_str().unwrap();
    assert!(
        days[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("2026-11-02: gross {gross}")),
        "{days:?}"
    );
    // The chart's text alternative has the same figure; arrow keys move along the days.
    assert_eq!(
        shown(
            &report,
            "summarize-balance-transactions",
            "row-2026-11-02-gross"
        ),
        [gross]
    );
    assert!(
        report["summarize-balance-transactions"]["focused"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-03")
    );

    // Subscriptions, in the same view: MRR and ARR per currency, the top plans.
    let mrr = &results["summarize-subscriptions"];
    for r in mrr["revenue"].as_array().unwrap() {
        let c = r["currency"].as_str().unwrap();
        for k in ["mrr", "arr"] {
            let want = r[k]["display"].as_str().unwrap();
            assert_eq!(
                shown(&report, "summarize-subscriptions", &format!("{c}-{k}")),
                [want]
            );
        }
    }
    assert_eq!(
        shown(&report, "summarize-subscriptions", "usd-mrr"),
        ["$80.00"],
        "3 x $20 + $240 a year; past_due is not counted"
    );
    assert_eq!(
        shown(&report, "summarize-subscriptions", "jpy-mrr"),
        ["¥3,000"]
    );

    // Checkout: what is sold, the total, the link as a button and as a QR code, the status.
    for case in ["initiate-checkout", "get-checkout-session"] {
        let got = &results[case];
        let url = got["checkout_url"]
            .as_str()
            .or(got["url"].as_str())
            .unwrap();
        let total = got["amount_total_display"]
            .as_str()
            .or(got["amount_total"]["display"].as_str())
            .unwrap();
        assert_eq!(shown(&report, case, "total"), [total], "{case}");
        assert_eq!(
            shown(&report, case, "status"),
            if case == "initiate-checkout" {
                ["open"]
            } else {
                ["open · unpaid"]
            }
        );
        assert_eq!(report[case]["links"], json!([url]), "{case}");
        assert_eq!(
            report[case]["qr"], url,
            "{case}: the QR code must decode to the link"
        );
        assert_eq!(
            report[case]["openLinks"],
            json!([url]),
            "{case}: the button opens the link through the host"
        );
        assert!(
            shown(&report, case, "expires")[0].starts_with("Expires "),
            "{case}"
        );
    }
    assert_eq!(
        shown(&report, "initiate-checkout", "items"),
        ["2 × Organic cotton tee at $25.00"]
    );
    assert_eq!(shown(&report, "initiate-checkout", "total"), ["$50.00"]);

    // Order: the verdict and the ledger's timeline.
    let order = &results["get-order-status"];
    assert_eq!(
        shown(&report, "get-order-status", "summary"),
        [order["summary"].as_str().unwrap()]
    );
    assert_eq!(
        shown(&report, "get-order-status", "verdict"),
        ["Paid and fulfilled"]
    );
    assert_eq!(shown(&report, "get-order-status", "amount"), ["$49.99"]);
    let timeline = shown(&report, "get-order-status", "timeline")[0];
    for step in [
        "Checkout completed",
        "Paid",
        "$49.99",
        "evt_apps_1",
        "Fulfillment recorded",
    ] {
        assert!(timeline.contains(step), "{step} missing from {timeline}");
    }
    assert_eq!(shown(&report, "list-orders", "status"), ["Paid"]);
    // The list's row opens the same timeline (its button was pressed).
    let opened = report["list-orders"]["after"]["timeline"][0]
        .as_str()
        .unwrap_or_default();
    assert!(opened.contains("Fulfillment recorded"), "{opened}");
    eprintln!("screenshots in {}", out.display());
}

#[tokio::test]
async fn the_views_data_passes_the_same_redaction_as_the_text() {
    let stripe = mock().await;
    let db = ledger("apps-redact").await;
    let rpc = spawn(&stripe.uri(), &db, &["--redact"]);
    initialize(&rpc, true).await;
    let result = rpc
        .call_tool("get_order_status", json!({"session_id": "cs_test_paid"}))
        .await
        .unwrap();
    rpc.close(Duration::from_secs(5)).await;
    let data = result["structuredContent"].to_string();
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(!data.contains("jane@example.com"), "{data}");
    assert!(!text.contains("jane@example.com"), "{text}");
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        parsed, result["structuredContent"],
        "the view draws what the text says"
    );
}

/// A streamable-HTTP client of either protocol generation, declaring the extension or not.
async fn http_client(
    url: &str,
    ui: bool,
    generation: http_common::Generation,
) -> rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig> {
    use rmcp::transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    };
    use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt, model::ProtocolVersion};
    let caps = if ui {
        json!({"extensions": {EXT: {"mimeTypes": [MIME]}}})
    } else {
        json!({})
    };
    let config: rmcp::model::ClientConfig = serde_json::from_value(json!({
        "protocolVersion": "2025-11-25", "capabilities": caps,
        "clientInfo": {"name": "apps-test", "version": "1"}
    }))
    .unwrap();
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned())
            .auth_header(common::TEST_KEY.to_owned()),
    );
    let started = match generation {
        http_common::Generation::Sessions20251125 => config.serve(transport).await,
        http_common::Generation::Stateless20260728 => {
            config
                .serve_with_lifecycle(
                    transport,
                    ClientLifecycleMode::Discover {
                        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                    },
                )
                .await
        }
    };
    started.expect("MCP client connects")
}

#[tokio::test]
async fn a_remote_server_offers_the_views_to_http_clients_that_declare_the_extension() {
    use http_common::Generation::{Sessions20251125, Stateless20260728};
    let stripe = mock().await;
    let server = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
    for generation in [Sessions20251125, Stateless20260728] {
        for ui in [false, true] {
            let client = http_client(&server.url(), ui, generation).await;
            let tools = client.list_all_tools().await.unwrap();
            let linked = tools
                .iter()
                .find(|t| t.name == "initiate_checkout")
                .unwrap()
                .meta
                .as_ref()
                .and_then(|m| m.0.get("ui").cloned());
            let resources = client.list_all_resources().await.unwrap();
            let views = resources
                .iter()
                .filter(|r| r.uri.starts_with("ui://"))
                .count();
            if ui {
                assert_eq!(
                    linked,
                    Some(json!({"resourceUri": VIEWS[1]})),
                    "{generation:?}"
                );
                assert_eq!(
                    views, 2,
                    "{generation:?}: books and checkout (no --db, no order tools)"
                );
                let read = client
                    .read_resource(rmcp::model::ReadResourceRequestParams::new(VIEWS[1]))
                    .await
                    .unwrap();
                let json = serde_json::to_value(&read).unwrap();
                assert_eq!(json["contents"][0]["mimeType"], MIME, "{generation:?}");
            } else {
                assert_eq!(linked, None, "{generation:?}");
                assert_eq!(views, 0, "{generation:?}");
            }
            let _ = client.cancel().await;
        }
    }
}
