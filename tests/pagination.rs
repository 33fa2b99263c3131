//! Lists above Stripe's page size: fetched page by page with the cursor, with
//! progress notifications when the client asks for them, and stopped when the
//! client cancels.

mod common;
#[path = "common/rpc.rs"]
mod rpc;

use std::{process::Stdio, time::Duration};

use rpc::Rpc;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{method, path},
};

/// A mock `GET /v1/customers` over `total` customers that honours `limit` and `starting_after`.
async fn customers(total: usize, delay: Duration) -> MockServer {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .respond_with(move |req: &Request| {
            let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let limit: usize = get("limit").unwrap().parse().unwrap();
            assert!((1..=100).contains(&limit), "Stripe pages are at most 100: {limit}");
            let start = get("starting_after")
                .map(|id| id.trim_start_matches("cus_").parse::<usize>().unwrap() + 1)
                .unwrap_or(0);
            let end = (start + limit).min(total);
            let data: Vec<Value> = (start..end)
                .map(|i| json!({"id": format!("cus_{i:04}"), "object": "customer", "created": 1_700_000_000 + i, "email": null, "name": null}))
                .collect();
            ResponseTemplate::new(200)
                .set_delay(delay)
                .set_body_json(json!({"object": "list", "data": data, "has_more": end < total, "url": "/v1/customers"}))
        })
        .mount(&stripe)
        .await;
    stripe
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

fn page_limits(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "limit")
                .map(|(_, v)| v.into_owned())
                .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn a_limit_above_100_pages_with_the_cursor_and_reports_progress() {
    let stripe = customers(250, Duration::ZERO).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let reply = rpc
        .request(
            "tools/call",
            json!({"name": "list_customers", "arguments": {"limit": 250}, "_meta": {"progressToken": "p-250"}}),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let out = &reply["result"]["structuredContent"];
    let ids: Vec<&str> = out["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 250);
    assert_eq!((ids[0], ids[249]), ("cus_0000", "cus_0249"));
    assert_eq!(out["has_more"], false);
    assert!(out["next_starting_after"].is_null());
    assert_eq!(
        page_limits(&stripe.received_requests().await.unwrap()),
        ["100", "100", "50"]
    );

    let progress: Vec<f64> = rpc
        .take_unmatched()
        .iter()
        .filter(|m| {
            m["method"] == "notifications/progress" && m["params"]["progressToken"] == "p-250"
        })
        .map(|m| m["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, [100.0, 200.0, 250.0]);
}

#[tokio::test]
async fn a_partial_last_page_leaves_a_cursor_that_continues_where_it_stopped() {
    let stripe = customers(250, Duration::ZERO).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let first = rpc
        .call_tool("list_customers", json!({"limit": 120}))
        .await
        .unwrap();
    let out = &first["structuredContent"];
    assert_eq!(out["customers"].as_array().unwrap().len(), 120);
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_starting_after"], "cus_0119");
    let next = rpc
        .call_tool(
            "list_customers",
            json!({"limit": 1000, "starting_after": "cus_0119"}),
        )
        .await
        .unwrap();
    let out = &next["structuredContent"];
    assert_eq!(out["customers"][0]["id"], "cus_0120");
    assert_eq!(out["customers"].as_array().unwrap().len(), 130);
    assert_eq!(out["has_more"], false);
    // No progress notifications were asked for, so none were sent.
    assert!(
        rpc.take_unmatched()
            .iter()
            .all(|m| m["method"] != "notifications/progress")
    );
}

#[tokio::test]
async fn a_cancelled_list_stops_fetching_pages() {
    // 1,000 customers at 300 ms a page: the whole list would take ten pages and 3 s.
    let stripe = customers(1000, Duration::from_millis(300)).await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.unwrap();
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "list_customers", "arguments": {"limit": 1000}}});
    rpc.send_line(&call.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "the user changed their mind"}});
    rpc.send_line(&cancel.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pages = stripe.received_requests().await.unwrap().len();
    assert!(pages <= 3, "{pages} pages fetched after the cancel");
    // Still serving.
    rpc.call_tool("list_customers", json!({"limit": 1}))
        .await
        .unwrap();
}
