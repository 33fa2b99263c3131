//! Disputes, search, fetch and the generic API tools end to end: the real
//! binary over stdio against a mock Stripe with Stripe-shaped bodies.

mod common;

use common::{Spawn, err, fixture, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string, header, method, path, query_param, query_param_is_missing},
};

async fn mount(stripe: &MockServer, m: &str, p: &str, body: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(stripe)
        .await;
}

fn query_pairs(r: &wiremock::Request) -> Vec<(String, String)> {
    r.url.query_pairs().into_owned().collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test]
async fn list_disputes_filters_by_payment_intent_and_returns_compact_disputes_with_money() {
    let stripe = common::mock_stripe().await;
    mount(&stripe, "GET", "/v1/disputes", fixture("dispute_list.json")).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_disputes",
            json!({"payment_intent": "pi_fixture1", "limit": 5}),
        )
        .await);
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        query_pairs(&reqs[0]),
        pairs(&[("payment_intent", "pi_fixture1"), ("limit", "5")])
    );
    let disputes = out["disputes"].as_array().unwrap();
    assert_eq!(disputes.len(), 2);
    assert_eq!(disputes[0]["evidence_due_by_utc"], "2023-11-24T22:13:20Z");
    assert_eq!(
        without_utc(&disputes[0]),
        json!({
            "id": "dp_fixture1", "status": "needs_response", "reason": "product_not_received",
            "amount": {"amount": 4999, "currency": "usd", "display": "$49.99"},
            "charge": "ch_fixture1", "payment_intent": "pi_fixture1",
            "evidence_due_by": 1700864000, "has_evidence": false, "past_due": false,
            "submission_count": 0, "evidence_provided": [], "is_charge_refundable": true,
            "created": 1700000000
        })
    );
    // An expanded charge still comes back as its id; jpy has no decimals.
    assert_eq!(disputes[1]["charge"], "py_fixture2");
    assert_eq!(disputes[1]["amount"]["display"], "¥500");
    assert_eq!(out["has_more"], true);
    assert_eq!(out["next_starting_after"], "du_fixture2");
    server.stop().await;
}

#[tokio::test]
async fn list_disputes_sends_the_charge_filter_and_cursor() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/disputes"))
        .and(query_param("charge", "ch_fixture1"))
        .and(query_param("starting_after", "dp_prev"))
        .and(query_param("limit", "10"))
        .and(query_param_is_missing("payment_intent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"object": "list", "url": "/v1/disputes", "has_more": false, "data": []}),
        ))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "list_disputes",
            json!({"charge": "ch_fixture1", "starting_after": "dp_prev"}),
        )
        .await);
    assert_eq!(
        out,
        json!({"disputes": [], "has_more": false, "next_starting_after": null})
    );
    server.stop().await;
}

#[tokio::test]
async fn get_dispute_returns_the_deadline_and_the_disputed_payment() {
    let stripe = common::mock_stripe().await;
    mount(
        &stripe,
        "GET",
        "/v1/disputes/dp_fixture1",
        fixture("dispute.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call("get_dispute", json!({"dispute": "dp_fixture1"}))
        .await);
    assert_eq!(out["id"], "dp_fixture1");
    assert_eq!(out["amount"]["display"], "$49.99");
    assert_eq!(out["charge"], "ch_fixture1");
    assert_eq!(out["payment_intent"], "pi_fixture1");
    assert_eq!(out["evidence_due_by"], 1700864000);
    assert_eq!(out["has_evidence"], false);
    assert_eq!(out["is_charge_refundable"], true);
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(reqs[0].url.query(), None);
    server.stop().await;
}

#[tokio::test]
async fn a_missing_dispute_is_a_not_found_error() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/disputes/dp_gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"type": "invalid_request_error", "code": "resource_missing",
                             "param": "dispute", "message": "No such dispute: 'dp_gone'"}}),
        ))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call("get_dispute", json!({"dispute": "dp_gone"}))
        .await);
    assert_eq!(e["kind"], "not_found");
    assert_eq!(e["http_status"], 404);
    server.stop().await;
}

#[tokio::test]
async fn update_dispute_stages_evidence_without_submitting_it() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/disputes/dp_fixture1"))
        .and(header("idempotency-key", "dispute-dp_fixture1-1"))
        .and(body_string(
            "evidence[customer_name]=Jane+Doe\
             &evidence[product_description]=A+blue+T-shirt%2C+size+M\
             &evidence[shipping_tracking_number]=1Z999AA10123456784\
             &submit=false&metadata[case]=C-7",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("dispute_submitted.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "update_dispute",
            json!({"dispute": "dp_fixture1",
                   "evidence": {"customer_name": "Jane Doe", "product_description": "A blue T-shirt, size M",
                                "shipping_tracking_number": "1Z999AA10123456784"},
                   "metadata": {"case": "C-7"}, "idempotency_key": "dispute-dp_fixture1-1"}),
        )
        .await);
    assert_eq!(out["id"], "dp_fixture1");
    assert_eq!(out["submitted"], false);
    assert_eq!(out["idempotency_key"], "dispute-dp_fixture1-1");
    assert_eq!(out["has_evidence"], true);
    assert_eq!(
        out["evidence_provided"],
        json!([
            "customer_name",
            "product_description",
            "shipping_tracking_number"
        ])
    );
    assert_eq!(out["amount"]["amount"], 4999);
    server.stop().await;
}

#[tokio::test]
async fn update_dispute_with_submit_true_submits_and_says_so() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/disputes/du_fixture2"))
        .and(body_string("submit=true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("dispute_submitted.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "update_dispute",
            json!({"dispute": "du_fixture2", "submit": true}),
        )
        .await);
    assert_eq!(out["submitted"], true);
    assert_eq!(out["status"], "under_review");
    assert!(
        out["idempotency_key"]
            .as_str()
            .unwrap()
            .starts_with("stripe-mcp-")
    );
    let reqs = stripe.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("idempotency-key").is_some());
    server.stop().await;
}

#[tokio::test]
async fn update_dispute_is_announced_as_destructive_and_says_submit_cannot_be_undone() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let tools = server.client.list_all_tools().await.unwrap();
    let tool = tools.iter().find(|t| t.name == "update_dispute").unwrap();
    let a = tool.annotations.as_ref().unwrap();
    assert_eq!(a.destructive_hint, Some(true));
    assert_eq!(a.read_only_hint, Some(false));
    assert!(
        tool.description
            .as_deref()
            .unwrap()
            .contains("CANNOT be undone")
    );
    for name in [
        "list_disputes",
        "get_dispute",
        "search_stripe_resources",
        "fetch_stripe_resource",
        "stripe_api_read",
    ] {
        let t = tools.iter().find(|t| t.name == name).unwrap();
        let a = t.annotations.as_ref().unwrap();
        assert_eq!(
            (a.read_only_hint, a.destructive_hint, a.idempotent_hint),
            (Some(true), Some(false), Some(true)),
            "{name}"
        );
    }
    assert!(
        !tools.iter().any(|t| t.name == "stripe_api_write"),
        "stripe_api_write must be named explicitly"
    );
    server.stop().await;
}

#[tokio::test]
async fn search_stripe_resources_sends_the_query_and_returns_compact_matches_and_the_cursor() {
    let stripe = common::mock_stripe().await;
    mount(
        &stripe,
        "GET",
        "/v1/customers/search",
        fixture("search_customers.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "search_stripe_resources",
            json!({"resource": "customers", "query": "email:'jane@example.com'", "limit": 20, "page": "WzE2OTk5OTAwMDBd"}),
        )
        .await);
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        query_pairs(&reqs[0]),
        pairs(&[
            ("query", "email:'jane@example.com'"),
            ("limit", "20"),
            ("page", "WzE2OTk5OTAwMDBd")
        ])
    );
    assert_eq!(
        without_utc(&out),
        json!({
            "resource": "customers",
            "matches": [{"id": "cus_search1", "object": "customer", "email": "jane@example.com",
                         "name": "Jane Doe", "created": 1700000000}],
            "has_more": true,
            "next_page": "WzE3MDAwMDAwMDBd"
        })
    );
    server.stop().await;
}

#[tokio::test]
async fn a_charge_search_gives_amounts_as_money_and_the_customer_id() {
    let stripe = common::mock_stripe().await;
    mount(
        &stripe,
        "GET",
        "/v1/charges/search",
        fixture("search_charges.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "search_stripe_resources",
            json!({"resource": "charges", "query": "status:'succeeded' AND amount>1000"}),
        )
        .await);
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        query_pairs(&reqs[0]),
        pairs(&[
            ("query", "status:'succeeded' AND amount>1000"),
            ("limit", "10")
        ])
    );
    let m = &out["matches"][0];
    assert_eq!(m["id"], "ch_search1");
    assert_eq!(
        m["amount"],
        json!({"amount": 4999, "currency": "usd", "display": "$49.99"})
    );
    assert_eq!(m["status"], "succeeded");
    assert_eq!(m["customer"], "cus_search1");
    assert_eq!(m["description"], "Order 42");
    assert_eq!(out["has_more"], false);
    assert_eq!(out["next_page"], Value::Null);
    server.stop().await;
}

#[tokio::test]
async fn fetch_stripe_resource_picks_the_endpoint_from_the_prefix_and_returns_the_whole_object() {
    let stripe = common::mock_stripe().await;
    let customer = fixture("customer.json");
    let id = customer["id"].as_str().unwrap().to_owned();
    mount(
        &stripe,
        "GET",
        &format!("/v1/customers/{id}"),
        customer.clone(),
    )
    .await;
    mount(
        &stripe,
        "GET",
        "/v1/disputes/dp_fixture1",
        fixture("dispute.json"),
    )
    .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call("fetch_stripe_resource", json!({"id": id}))
        .await);
    assert_eq!(out["id"], json!(id));
    assert_eq!(out["object"], "customer");
    assert_eq!(out["path"], json!(format!("/v1/customers/{id}")));
    assert_eq!(out["resource"]["created_utc"], "2023-11-14T22:13:20Z");
    assert_eq!(without_utc(&out["resource"]), customer);
    let out = ok(&server
        .call("fetch_stripe_resource", json!({"id": "dp_fixture1"}))
        .await);
    assert_eq!(out["object"], "dispute");
    assert_eq!(out["resource"]["evidence_details"]["due_by"], 1700864000);
    server.stop().await;
}

#[tokio::test]
async fn stripe_api_read_gets_any_v1_path_with_nested_params() {
    let stripe = common::mock_stripe().await;
    let coupon = json!({"id": "SUMMER25", "object": "coupon", "percent_off": 25.0, "valid": true});
    mount(&stripe, "GET", "/v1/coupons/SUMMER25", coupon.clone()).await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "stripe_api_read",
            // Params the API index does not list for this path need allow_unknown_params.
            json!({"path": "/v1/coupons/SUMMER25", "allow_unknown_params": true,
                   "params": {"expand": ["applies_to"], "created": {"gte": 1700000000}, "x": true}}),
        )
        .await);
    assert_eq!(
        out,
        json!({"method": "GET", "path": "/v1/coupons/SUMMER25", "body": coupon})
    );
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        query_pairs(&reqs[0]),
        pairs(&[
            ("created[gte]", "1700000000"),
            ("expand[0]", "applies_to"),
            ("x", "true")
        ])
    );
    server.stop().await;
}

#[tokio::test]
async fn stripe_api_write_posts_and_deletes_with_an_idempotency_key_when_named_explicitly() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/coupons"))
        .and(header("idempotency-key", "coupon-summer"))
        .and(body_string(
            "duration=once&id=SUMMER25&metadata[campaign]=summer&percent_off=25",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "SUMMER25", "object": "coupon", "percent_off": 25})),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/customers/cus_1"))
        .and(body_string(""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "cus_1", "object": "customer", "deleted": true})),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=stripe_api_write,stripe_api_read")
        .start()
        .await;
    let out = ok(&server
        .call(
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/coupons", "idempotency_key": "coupon-summer",
                   "params": {"id": "SUMMER25", "percent_off": 25, "duration": "once",
                              "metadata": {"campaign": "summer"}}}),
        )
        .await);
    assert_eq!(out["method"], "POST");
    assert_eq!(out["body"]["id"], "SUMMER25");
    assert_eq!(out["idempotency_key"], "coupon-summer");
    let out = ok(&server
        .call(
            "stripe_api_write",
            json!({"method": "DELETE", "path": "/v1/customers/cus_1"}),
        )
        .await);
    assert_eq!(out["body"]["deleted"], true);
    let key = out["idempotency_key"].as_str().unwrap();
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        reqs[1]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        key
    );
    let tools = server.client.list_all_tools().await.unwrap();
    let write = tools.iter().find(|t| t.name == "stripe_api_write").unwrap();
    let a = write.annotations.as_ref().unwrap();
    assert_eq!(
        (a.read_only_hint, a.destructive_hint),
        (Some(false), Some(true))
    );
    assert!(
        write
            .description
            .as_deref()
            .unwrap()
            .contains("named explicitly")
    );
    server.stop().await;
}

#[tokio::test]
async fn hostile_paths_are_refused_by_both_generic_tools_and_nothing_is_sent() {
    // The catch-all fails the test if any of these reach "Stripe".
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=stripe_api_write,stripe_api_read")
        .start()
        .await;
    let hostile = [
        "/v1/../admin",
        "https://evil.example/v1/x",
        "/v1/customers?x=1",
        "/v1/customers%2F..",
        "//evil",
        "/v2/x",
        "/v1/cus tomers",
        "",
        "/v1/customers/../../v2/x",
        "/v1//customers",
        "//evil.example/v1/customers",
        "/v1/customers#frag",
        "/v1/customers\\..\\..",
        "/v1/%2e%2e/admin",
        "/v1/customers/cus_1\r\nHost: evil.example",
        "v1/customers",
        "/v1/",
        "/v1/./balance",
    ];
    for p in hostile {
        let e = err(&server.call("stripe_api_read", json!({"path": p})).await);
        assert_eq!(e["kind"], "invalid_argument", "read {p:?}: {e}");
        assert!(e["hint"].as_str().unwrap().contains("/v1/"), "{e}");
        for m in ["POST", "DELETE"] {
            let e = err(&server
                .call("stripe_api_write", json!({"method": m, "path": p}))
                .await);
            assert_eq!(e["kind"], "invalid_argument", "{m} {p:?}: {e}");
            assert!(e.get("http_status").is_none());
        }
    }
    assert!(stripe.received_requests().await.unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn bad_input_to_every_platform_tool_is_refused_before_any_request_is_sent() {
    // The catch-all fails the test if any of these reach "Stripe".
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).arg("--tools=all").start().await;
    let explicit = Spawn::new(&stripe.uri())
        .arg("--tools=stripe_api_write")
        .start()
        .await;
    let cases = [
        ("list_disputes", json!({"charge": "pi_1"}), "wrong prefix"),
        (
            "list_disputes",
            json!({"limit": 1001}),
            "between 1 and 1000",
        ),
        ("get_dispute", json!({"dispute": "ch_1"}), "wrong prefix"),
        (
            "get_dispute",
            json!({"dispute": "dp_1/../../v1/balance"}),
            "not a Stripe id",
        ),
        (
            "update_dispute",
            json!({"dispute": "dp_1"}),
            "nothing to update",
        ),
        (
            "update_dispute",
            json!({"dispute": "dp_1", "evidence": {"favourite_color": "red"}}),
            "unknown field",
        ),
        (
            "update_dispute",
            json!({"dispute": "dp_1", "evidence": {"customer_email_address": "jane"}}),
            "not an email",
        ),
        (
            "update_dispute",
            json!({"dispute": "dp_1", "evidence": {"receipt": "https://x.example/r.pdf"}}),
            "file_",
        ),
        (
            "search_stripe_resources",
            json!({"resource": "customers", "query": ""}),
            "must not be empty",
        ),
        (
            "search_stripe_resources",
            json!({"resource": "customers", "query": "email:'a@b.co'", "limit": 101}),
            "between 1 and 100",
        ),
        (
            "search_stripe_resources",
            json!({"resource": "coupons", "query": "name:'x'"}),
            "unknown variant",
        ),
        (
            "search_stripe_resources",
            json!({"resource": "customers", "query": format!("name:'{}'", "x".repeat(1000))}),
            "at most 1000",
        ),
        (
            "fetch_stripe_resource",
            json!({"id": "SUMMER25"}),
            "wrong prefix",
        ),
        (
            "fetch_stripe_resource",
            json!({"id": "cus_1?expand[]=x"}),
            "not a Stripe id",
        ),
        (
            "fetch_stripe_resource",
            json!({"id": "cus_1/../../v1/balance"}),
            "not a Stripe id",
        ),
        (
            "stripe_api_read",
            json!({"path": "/v1/customers", "params": {"email": null}}),
            "null",
        ),
        (
            "stripe_api_read",
            json!({"path": "/v1/customers", "params": {"metadata[a]": "b"}}),
            "brackets",
        ),
    ];
    for (tool, args, want) in cases {
        let e = err(&server.call(tool, args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{tool} {args}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(want), "{tool} {args}: {message}");
    }
    let e = err(&server
        .call("fetch_stripe_resource", json!({"id": "SUMMER25"}))
        .await);
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("cus_") && hint.contains("stripe_api_read"),
        "{hint}"
    );

    let write_cases = [
        (
            json!({"method": "POST", "path": "/v1/payment_intents", "params": {"amount": 49.99, "currency": "usd"}}),
            "send 4999",
        ),
        (
            json!({"method": "POST", "path": "/v1/prices", "params": {"unit_amount": 10.5}}),
            "minor units",
        ),
        (
            json!({"method": "DELETE", "path": "/v1/customers/cus_1", "params": {"x": "y"}}),
            "no params",
        ),
        (
            json!({"method": "GET", "path": "/v1/customers"}),
            "unknown variant",
        ),
    ];
    for (args, want) in write_cases {
        let e = err(&explicit.call("stripe_api_write", args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{args}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains(want), "{args}: {message}");
    }
    assert!(stripe.received_requests().await.unwrap().is_empty());
    server.stop().await;
    explicit.stop().await;
}

/// `v` without the RFC 3339 twins (`*_utc`) the server adds beside every Unix time
/// (tests/agent_reads.rs covers them), to compare with Stripe's own shape.
fn without_utc(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.ends_with("_utc"))
                .map(|(k, v)| (k.clone(), without_utc(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_utc).collect()),
        other => other.clone(),
    }
}
