//! The Stripe API index end to end: the checked-in index is what the generator makes
//! of its source, `stripe_api_search` and `stripe_api_details` through the real binary,
//! and the generic calls refused before sending when the index does not know them.

mod common;

use common::{Spawn, err, ok};
use serde_json::json;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

/// Where the generator's inputs live: `../shared/stripe-openapi` beside the repository.
fn spec_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/stripe-openapi")
}

#[test]
fn the_checked_in_api_index_matches_its_source() {
    let dir = spec_dir();
    let spec = dir.join("spec3-2024-04-10.json");
    if !spec.exists() {
        eprintln!(
            "skipped the_checked_in_api_index_matches_its_source: {} is absent (CI has it)",
            spec.display()
        );
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let out = match std::process::Command::new("python3")
        .arg(format!("{root}/scripts/gen-api-index.py"))
        .arg(&spec)
        .arg("--fixtures")
        .arg(dir.join("fixtures3.json"))
        .args(["-o", "-"])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped the_checked_in_api_index_matches_its_source: no python3 ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked_in = std::fs::read(format!("{root}/src/stripe/api_index.json")).unwrap();
    assert!(
        out.stdout == checked_in,
        "src/stripe/api_index.json is stale: regenerate it with\n  python3 scripts/gen-api-index.py {} --fixtures {}",
        spec.display(),
        dir.join("fixtures3.json").display()
    );
}

#[tokio::test]
async fn stripe_api_search_finds_the_operation_meant_first() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=search")
        .start()
        .await;
    for (query, want) in [
        (
            "refund an application fee",
            "POST /v1/application_fees/{id}/refunds",
        ),
        ("void invoice", "POST /v1/invoices/{invoice}/void"),
        (
            "create a billing meter event",
            "POST /v1/billing/meter_events",
        ),
        ("list payouts", "GET /v1/payouts"),
    ] {
        let out = ok(&server
            .call("stripe_api_search", json!({"query": query, "limit": 3}))
            .await);
        let first = &out["operations"][0];
        assert_eq!(
            format!(
                "{} {}",
                first["method"].as_str().unwrap(),
                first["path"].as_str().unwrap()
            ),
            want,
            "{query}: {out}"
        );
        assert!(!first["summary"].as_str().unwrap().is_empty());
        assert_eq!(out["operations"].as_array().unwrap().len(), 3);
        assert_eq!(out["index"], "Stripe OpenAPI 2024-04-10");
    }
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn stripe_api_details_of_checkout_sessions_fit_in_12_kb_and_show_price_data_fields() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=search")
        .start()
        .await;
    let result = server
        .call(
            "stripe_api_details",
            json!({"method": "POST", "path": "/v1/checkout/sessions"}),
        )
        .await;
    let out = ok(&result);
    let bytes = common::text(&result).len();
    assert!(bytes <= 12_000, "{bytes} B");
    assert_eq!(out["writes"], true);
    let lines: Vec<&str> = out["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let price_data = lines
        .iter()
        .find(|l| l.starts_with("line_items[].price_data ("))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    for field in [
        "currency",
        "product",
        "product_data",
        "recurring",
        "unit_amount",
    ] {
        assert!(
            price_data.contains(field)
                || lines
                    .iter()
                    .any(|l| l.starts_with(&format!("line_items[].price_data.{field} ("))),
            "{field}: {lines:#?}"
        );
    }
    // The deepest nesting is summarised, and the note says how to see it whole.
    assert!(out["note"].as_str().unwrap().contains("param"), "{out}");
    let one = ok(&server
        .call(
            "stripe_api_details",
            json!({"method": "POST", "path": "/v1/checkout/sessions/",
                   "param": "line_items[].price_data"}),
        )
        .await);
    assert!(
        one["params"].as_array().unwrap().iter().any(|l| l
            .as_str()
            .unwrap()
            .starts_with("line_items[].price_data.unit_amount (integer")),
        "{one}"
    );
    // A real path finds its template, with the id prefix of its parameter.
    let void = ok(&server
        .call(
            "stripe_api_details",
            json!({"method": "POST", "path": "/v1/invoices/in_123/void"}),
        )
        .await);
    assert_eq!(void["path"], "/v1/invoices/{invoice}/void");
    assert_eq!(void["path_ids"]["invoice"], "in_");
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_misspelled_param_or_an_unknown_path_is_refused_with_a_suggestion_and_nothing_is_sent() {
    // The catch-all fails the test if any of these reach "Stripe".
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=stripe_api_write,stripe_api_read")
        .start()
        .await;
    let cases = [
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/customers", "params": {"emial": "jane@example.com"}}),
            "did you mean email?",
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/checkout/sessions",
                   "params": {"mode": "payment", "line_items": [{"quantity": 1,
                              "price_data": {"currency": "usd", "unit_amout": 500}}]}}),
            "line_items[0][price_data][unit_amout]; did you mean unit_amount?",
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/invoice/in_1/void"}),
            "POST /v1/invoices/{invoice}/void",
        ),
        (
            "stripe_api_write",
            json!({"method": "DELETE", "path": "/v1/invoices/in_1/void"}),
            "takes POST",
        ),
        (
            "stripe_api_read",
            json!({"path": "/v1/payouts", "params": {"limt": 3}}),
            "did you mean limit?",
        ),
        (
            "stripe_api_read",
            json!({"path": "/v1/payout"}),
            "GET /v1/payouts",
        ),
    ];
    for (tool, args, says) in cases {
        let e = err(&server.call(tool, args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{args}: {e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{args}: {e}");
        assert!(e.get("http_status").is_none());
    }
    server.stop().await;
    assert!(stripe.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn allow_unknown_params_sends_newer_params_but_not_while_a_spending_limit_is_set() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "cus_1", "object": "customer"})),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let args = json!({"method": "POST", "path": "/v1/customers", "allow_unknown_params": true,
                      "params": {"email": "jane@example.com", "brand_new_field": "x"}});
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=stripe_api_write")
        .start()
        .await;
    ok(&server.call("stripe_api_write", args.clone()).await);
    server.stop().await;
    let sent = stripe.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(
        common::form_pairs(&sent[0].body).contains(&("brand_new_field".into(), "x".into())),
        "{:?}",
        String::from_utf8_lossy(&sent[0].body)
    );

    let db = common::temp_db("api-index-caps");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let capped = Spawn::new(&stripe.uri())
        .arg("--db")
        .arg(db.display().to_string())
        .arg("--limit")
        .arg("refund:usd:-:1000")
        .arg("--tools=stripe_api_write")
        .start()
        .await;
    let e = err(&capped.call("stripe_api_write", args).await);
    assert_eq!(e["kind"], "invalid_argument", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("spending limits"),
        "{e}"
    );
    capped.stop().await;
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1);
}

#[test]
fn the_api_index_tools_cost_under_1000_bytes_each() {
    let out = std::process::Command::new(common::bin())
        .args(["tools", "--tools=stripe_api_search,stripe_api_details"])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut seen = 0;
    for line in stdout.lines().filter(|l| l.starts_with("stripe_api_")) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let bytes: usize = cols[1].parse().unwrap();
        assert!(bytes <= 1000, "{line}");
        seen += 1;
    }
    assert_eq!(seen, 2, "{stdout}");
}
