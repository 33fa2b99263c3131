//! What an agent reads is true (issue 23): instructions generated from what the session
//! offers, hints chosen by the situation, errors that explain the server's own
//! parameters, idempotency said where it is used, summaries that re-check their window,
//! and times in RFC 3339 beside Unix seconds. All through a real MCP client against a
//! mock Stripe.

mod common;
mod http_common;

use std::collections::BTreeSet;

use common::{Spawn, err, ok};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path},
};

const LIVE_KEY: &str = "sk_live_STRIPEMCPLIVEKEY0123456789";

/// Words that name a tool: the verbs the server's tool names start with.
const TOOL_VERBS: &[&str] = &[
    "get_",
    "list_",
    "create_",
    "update_",
    "cancel_",
    "search_",
    "fetch_",
    "summarize_",
    "initiate_",
    "expire_",
    "confirm_",
    "finalize_",
    "stripe_api_",
];

/// Arguments and fields that start like a tool name.
const NOT_TOOLS: &[&str] = &["cancel_url", "cancel_at_period_end", "list_price"];

/// Every snake_case word of `text` that names (or looks like it names) a tool.
fn tool_words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !NOT_TOOLS.contains(w))
        .filter(|w| {
            TOOL_VERBS
                .iter()
                .any(|v| w.starts_with(v) && w.len() > v.len())
        })
        .map(str::to_owned)
        .collect()
}

async fn listed(client: &rmcp::service::ServerSink) -> BTreeSet<String> {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect()
}

/// Asserts that every tool the instructions mention is one the session lists.
fn assert_names_only_listed(what: &str, instructions: &str, tools: &BTreeSet<String>) {
    let named = tool_words(instructions);
    let stray: Vec<&String> = named.iter().filter(|w| !tools.contains(*w)).collect();
    assert!(
        stray.is_empty(),
        "{what}: the instructions name {stray:?}, which the session does not list ({tools:?}):\n{instructions}"
    );
}

async fn stdio_session(key: &str, args: &[&str]) -> (String, BTreeSet<String>) {
    let stripe = common::mock_stripe().await;
    let uri = stripe.uri();
    let mut spawn = Spawn::new(&uri).key(key);
    for a in args {
        spawn = spawn.arg(*a);
    }
    let server = spawn.start().await;
    let instructions = server
        .client
        .peer_info()
        .and_then(|i| i.instructions.clone())
        .unwrap_or_default();
    let tools = listed(server.client.peer()).await;
    server.stop().await;
    (instructions, tools)
}

#[tokio::test]
async fn the_instructions_name_only_tools_the_session_lists_for_every_group_read_only_and_live() {
    let groups = [
        "core",
        "checkout",
        "customers",
        "payments",
        "refunds",
        "balance",
        "catalog",
        "billing",
        "disputes",
        "search",
        "books",
    ];
    let mut sessions: Vec<(String, &str, Vec<String>)> = vec![
        ("all".into(), common::TEST_KEY, vec![]),
        (
            "--tools=all".into(),
            common::TEST_KEY,
            vec!["--tools=all".into()],
        ),
        (
            "--read-only".into(),
            common::TEST_KEY,
            vec!["--read-only".into()],
        ),
        ("live key".into(), LIVE_KEY, vec![]),
        (
            "stripe_api_write named".into(),
            common::TEST_KEY,
            vec!["--tools=all,stripe_api_write".into()],
        ),
    ];
    for g in groups {
        sessions.push((
            format!("--tools={g}"),
            common::TEST_KEY,
            vec![format!("--tools={g}")],
        ));
    }
    for (what, key, args) in &sessions {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (instructions, tools) = stdio_session(key, &args).await;
        assert_names_only_listed(what, &instructions, &tools);
        // No family of tools claimed by prefix ("create_/list_/get_ tools").
        assert!(!instructions.contains("_/"), "{what}: {instructions}");
        // It says how many tools there are, and what state the session is in.
        assert!(
            instructions.contains(&format!("offers {} tools", tools.len())),
            "{what}: {instructions}"
        );
        let writes = tools.iter().any(|t| {
            [
                "create_",
                "update_",
                "cancel_",
                "initiate_",
                "expire_",
                "confirm_",
                "finalize_",
            ]
            .iter()
            .any(|v| t.starts_with(v))
        });
        assert_eq!(
            instructions.contains("idempotency_key"),
            writes,
            "{what}: idempotency is said exactly when a write is offered: {instructions}"
        );
        if !writes {
            assert!(instructions.contains("READ-ONLY"), "{what}: {instructions}");
        }
    }
    // The findings: tools that do not exist, and stripe_api_write under --tools=all.
    let (instructions, _) = stdio_session(common::TEST_KEY, &["--tools=all"]).await;
    for absent in [
        "get_invoice",
        "get_product",
        "get_price",
        "update_product",
        "stripe_api_write",
    ] {
        assert!(!instructions.contains(absent), "{absent}: {instructions}");
    }
    let (instructions, _) = stdio_session(
        common::TEST_KEY,
        &["--tools=all,stripe_api_write", "--confirm=always"],
    )
    .await;
    assert!(
        instructions.contains("stripe_api_write are first shown"),
        "{instructions}"
    );
}

#[tokio::test]
async fn the_instructions_state_the_limits_and_confirmation_in_force() {
    let db = common::temp_db("reads-limits");
    let (instructions, tools) = stdio_session(
        common::TEST_KEY,
        &[
            "--db",
            db.to_str().unwrap(),
            "--limit",
            "refund:usd:5000:20000",
            "--confirm=never",
        ],
    )
    .await;
    assert_names_only_listed("--db --limit", &instructions, &tools);
    assert!(
        instructions.contains("refund usd 5000 per call, 20000 per 24 h"),
        "{instructions}"
    );
    assert!(
        !instructions.contains("first shown to the person"),
        "{instructions}"
    );
    assert!(instructions.contains("get_order_status"), "{instructions}");
}

#[tokio::test]
async fn a_tenants_allowlist_gets_instructions_naming_only_its_tools() {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-reads-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = "smcp_reads_tenant_token_for_tests_only_00000000000000000000000000000";
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    let file = dir.join("tenants.toml");
    std::fs::write(
        &file,
        format!(
            "[[tenant]]\nname = \"support\"\ntoken_sha256 = \"{sha}\"\nstripe_key_env = \"SUPPORT_KEY\"\ntools = [\"get_balance\", \"list_customers\", \"create_refund\"]\n"
        ),
    )
    .unwrap();
    let stripe = common::mock_stripe().await;
    let server = http_common::start(
        &stripe.uri(),
        &["--auth", "tokens", "--tenants", file.to_str().unwrap()],
        &[("SUPPORT_KEY", common::TEST_KEY)],
    )
    .await;
    let client = http_common::connect(
        &server.url(),
        Some(token),
        http_common::Generation::Sessions20251125,
    )
    .await;
    let instructions = client
        .peer_info()
        .and_then(|i| i.instructions.clone())
        .unwrap_or_default();
    let tools = listed(client.peer()).await;
    assert_eq!(tools.len(), 3, "{tools:?}");
    assert_names_only_listed("tenant allowlist", &instructions, &tools);
    assert!(instructions.contains("offers 3 tools"), "{instructions}");
    assert!(instructions.contains("create_refund"), "{instructions}");
    client.cancel().await.unwrap();
}

// ---- Hints chosen by the situation ----

/// Every tool this server can offer, orders and audit included.
fn all_tools() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = stripe_mcp::StripeMcp::tool_names().into_iter().collect();
    names.extend(
        stripe_mcp::server::ORDER_TOOLS
            .iter()
            .map(|t| t.to_string()),
    );
    names
}

fn api_error(status: u16, body: Option<Value>) -> stripe_mcp::stripe::Error {
    stripe_mcp::stripe::Error::Api {
        status,
        request_id: Some("req_1".into()),
        error: body.map(|b| Box::new(serde_json::from_value(b).unwrap())),
        should_retry: None,
    }
}

/// Every error kind and shape the mapping knows, as the client would report them.
fn every_failure() -> Vec<(String, stripe_mcp::stripe::Error)> {
    let mut out = Vec::new();
    let bodies: Vec<(&str, Value)> = vec![
        (
            "missing id",
            json!({"type": "invalid_request_error", "code": "resource_missing", "message": "No such customer: 'cus_1'", "param": "id"}),
        ),
        (
            "no url",
            json!({"type": "invalid_request_error", "message": "Unrecognized request URL (GET: /v1/nope)."}),
        ),
        (
            "mismatch",
            json!({"type": "invalid_request_error", "code": "resource_missing", "message": "No such customer: 'cus_1'; a similar object exists in live mode, but a test mode key was used to make this request."}),
        ),
        (
            "amount",
            json!({"type": "invalid_request_error", "code": "amount_too_small", "param": "amount", "message": "Amount must be at least 50 cents"}),
        ),
        (
            "url",
            json!({"type": "invalid_request_error", "code": "url_invalid", "param": "success_url", "message": "Not a valid URL"}),
        ),
        (
            "currency",
            json!({"type": "invalid_request_error", "param": "currency", "message": "Invalid currency: xyz"}),
        ),
        (
            "refunded",
            json!({"type": "invalid_request_error", "code": "charge_already_refunded", "message": "Charge ch_1 has already been refunded."}),
        ),
        (
            "idem",
            json!({"type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the same parameters"}),
        ),
        (
            "decline",
            json!({"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}),
        ),
        (
            "apm",
            json!({"type": "invalid_request_error", "param": "automatic_payment_methods", "message": "Received unknown parameter: automatic_payment_methods"}),
        ),
        (
            "created",
            json!({"type": "invalid_request_error", "message": "Unexpected created"}),
        ),
        (
            "expand",
            json!({"type": "invalid_request_error", "param": "expand[0]", "message": "This property cannot be expanded (data.discounts)."}),
        ),
        (
            "due",
            json!({"type": "invalid_request_error", "param": "due_date", "message": "Received unknown parameter: due_date"}),
        ),
        (
            "mode",
            json!({"type": "invalid_request_error", "param": "mode", "message": "Invalid mode"}),
        ),
        (
            "cancel",
            json!({"type": "invalid_request_error", "param": "cancel_url", "message": "Not a valid URL"}),
        ),
        (
            "api",
            json!({"type": "api_error", "message": "An unknown error occurred"}),
        ),
        (
            "lock",
            json!({"type": "invalid_request_error", "code": "lock_timeout", "message": "This object cannot be accessed right now"}),
        ),
        (
            "rate",
            json!({"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests"}),
        ),
    ];
    for status in [400, 401, 402, 403, 404, 409, 429, 500, 502] {
        out.push((format!("{status} no body"), api_error(status, None)));
        for (what, body) in &bodies {
            out.push((
                format!("{status} {what}"),
                api_error(status, Some(body.clone())),
            ));
        }
    }
    for timeout in [false, true] {
        out.push((
            format!("network timeout={timeout}"),
            stripe_mcp::stripe::Error::Network {
                message: "reset".into(),
                timeout,
            },
        ));
    }
    out.push((
        "decode".into(),
        stripe_mcp::stripe::Error::Decode {
            status: 200,
            request_id: None,
            message: "expected value".into(),
        },
    ));
    out.push((
        "too large".into(),
        stripe_mcp::stripe::Error::TooLarge {
            status: 200,
            request_id: None,
            limit: 1,
        },
    ));
    out.push((
        "redirect".into(),
        stripe_mcp::stripe::Error::Redirect {
            status: 302,
            location: None,
            request_id: None,
        },
    ));
    out
}

#[test]
fn every_hint_names_only_tools_that_exist_and_fits_the_call() {
    use stripe_mcp::tools::{
        ToolError,
        error::{CallSituation, ErrorContext},
    };
    let tools = all_tools();
    let key = stripe_mcp::stripe::IdempotencyKey::from_user("k1").unwrap();
    let mut checked = 0;
    for tool in &tools {
        for (given, args) in [
            (
                "no id",
                json!({"limit": 3, "query": "email:'a@b.c'", "amount": 500}),
            ),
            (
                "an id",
                json!({"customer": "cus_1", "payment_intent": "pi_1"}),
            ),
            (
                "passed the added params",
                json!({"payment_method_types": ["card"], "success_url": "https://a.b/", "cancel_url": "https://a.b/", "mode": "payment"}),
            ),
        ] {
            let situation = CallSituation::of(tool, args.as_object().unwrap());
            for write in [false, true] {
                for (what, failure) in every_failure() {
                    let e = ToolError::from_stripe(
                        failure,
                        ErrorContext {
                            mode: stripe_mcp::stripe::Mode::Test,
                            restricted_key: false,
                            idempotency_key: write.then_some(&key),
                            call: Some(&situation),
                        },
                    );
                    let Some(hint) = e.hint else { continue };
                    checked += 1;
                    let at = format!("{tool} ({given}, write={write}) {what}: {hint}");
                    for word in tool_words(&hint) {
                        assert!(
                            tools.contains(&word),
                            "names {word}, which is no tool: {at}"
                        );
                    }
                    if !write {
                        for said in [
                            "may have been applied",
                            "may or may not have been applied",
                            "idempotency_key",
                        ] {
                            assert!(!hint.contains(said), "a read is told {said:?}: {at}");
                        }
                    }
                    if given == "no id" {
                        assert!(!hint.contains("Check the id"), "no id was given: {at}");
                    }
                    if let Some(rest) = hint.strip_prefix("Stripe refused ") {
                        let added = rest.split(',').next().unwrap();
                        assert!(
                            !args.as_object().unwrap().contains_key(added),
                            "the agent passed {added} itself: {at}"
                        );
                    }
                    assert!(!hint.contains("request id"), "{at}");
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn every_fixed_hint_in_the_sources_names_only_tools_that_exist() {
    let tools = all_tools();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut files = vec![];
    let mut dirs = vec![std::path::PathBuf::from(src)];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    let mut hints = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices("with_hint(") {
            // The hint's literal: from the call to its closing parenthesis's line.
            let literal: String = text[at..].lines().take(3).collect::<Vec<_>>().join(" ");
            hints += 1;
            for word in tool_words(&literal) {
                assert!(
                    tools.contains(&word),
                    "{}: a hint names {word}, which is no tool: {literal}",
                    file.display()
                );
            }
            assert!(
                !literal.contains("the Dashboard") || literal.contains("upload"),
                "{}: a hint sends the agent to the Dashboard where a tool does it: {literal}",
                file.display()
            );
        }
    }
    assert!(hints > 10, "{hints}");
}

#[tokio::test]
async fn a_failed_read_is_never_told_it_may_have_been_applied() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"error": {"type": "api_error", "message": "An unknown error occurred"}}),
        ))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server.call("get_balance", json!({})).await);
    let hint = e["hint"].as_str().unwrap();
    for said in [
        "may have been applied",
        "idempotency_key",
        "request id",
        "Dashboard",
    ] {
        assert!(!hint.contains(said), "{said}: {e}");
    }
    assert!(hint.contains("changed nothing"), "{e}");
    server.stop().await;
}

#[tokio::test]
async fn a_404_without_an_id_is_not_told_to_check_the_id_and_one_with_an_id_is_told_where_to_find_it()
 {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers/search"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing",
            "message": "Search is not available for this account."}})))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/customers/cus_gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "type": "invalid_request_error", "code": "resource_missing", "param": "id",
            "message": "No such customer: 'cus_gone'"}})))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call(
            "search_stripe_resources",
            json!({"resource": "customers", "query": "email:'a@b.c'"}),
        )
        .await);
    let hint = e["hint"].as_str().unwrap();
    assert!(!hint.contains("Check the id"), "{e}");
    assert!(hint.contains("list_customers"), "{e}");
    let e = err(&server
        .call("fetch_stripe_resource", json!({"id": "cus_gone"}))
        .await);
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("Check the id") && hint.contains("list_customers"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refund_without_a_target_points_at_the_tools_that_find_the_payment() {
    let stripe = common::mock_stripe().await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server.call("create_refund", json!({"amount": 500})).await);
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("list_charges") && hint.contains("list_payment_intents"),
        "{e}"
    );
    assert!(!hint.contains("Dashboard"), "{e}");
    server.stop().await;
}

// ---- The server explains its own parameters ----

#[tokio::test]
async fn a_refused_parameter_the_server_added_is_explained_with_the_argument_that_avoids_it() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "param": "automatic_payment_methods",
            "message": "Received unknown parameter: automatic_payment_methods"}})))
        .mount(&stripe)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "message": "Unexpected created"}})))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call(
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd"}),
        )
        .await);
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("this server added") && hint.contains("payment_method_types"),
        "{e}"
    );
    // Stripe's own words stay.
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("automatic_payment_methods"),
        "{e}"
    );
    let e = err(&server
        .call("summarize_balance_transactions", json!({"last_days": 7}))
        .await);
    let hint = e["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains("this server added") && hint.contains("list_balance_transactions"),
        "{e}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refused_parameter_the_agent_passed_is_not_blamed_on_the_server() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/payment_intents"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "type": "invalid_request_error", "param": "payment_method_types[0]",
            "message": "The payment method type \"klarna\" is invalid."}})))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let e = err(&server
        .call(
            "create_payment_intent",
            json!({"amount": 2000, "currency": "usd", "payment_method_types": ["klarna"]}),
        )
        .await);
    assert!(!e.to_string().contains("this server added"), "{e}");
    server.stop().await;
}

// ---- Summaries re-check their window ----

#[tokio::test]
async fn a_summary_does_not_count_a_transaction_from_outside_its_window_and_says_so() {
    let stripe = common::mock_stripe().await;
    let now = common::now();
    let txn = |id: &str, amount: i64, created: i64| {
        json!({"id": id, "object": "balance_transaction", "amount": amount, "fee": 0, "net": amount,
               "currency": "usd", "type": "charge", "reporting_category": "charge",
               "status": "available", "created": created, "source": "ch_1"})
    };
    // The upstream ignores the date filter and returns a transaction from 2009.
    Mock::given(method("GET"))
        .and(path("/v1/balance_transactions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "has_more": false,
            "data": [txn("txn_now", 1000, now - 3600), txn("txn_2009", 99_999, 1_250_000_000)]})))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server
        .call(
            "summarize_balance_transactions",
            json!({"last_days": 7, "group_by": "day"}),
        )
        .await);
    assert_eq!(out["transactions"], 1, "{out}");
    assert_eq!(out["dropped_outside_period"], 1, "{out}");
    assert_eq!(
        out["totals"][0]["charges"]["total"]["amount"], 1000,
        "{out}"
    );
    let days: Vec<&str> = out["by_period"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["start"].as_str().unwrap())
        .collect();
    assert!(days.iter().all(|d| !d.starts_with("2009")), "{days:?}");
    assert!(
        out["note"].as_str().unwrap().contains("outside the period"),
        "{out}"
    );
    server.stop().await;
}

// ---- Idempotency said where it is used ----

#[tokio::test]
async fn every_write_tools_key_and_a_replayed_write_say_a_replay_is_not_a_new_write() {
    let stripe = common::mock_stripe().await;
    let refund = common::fixture("refund.json");
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Idempotent-Replayed", "true")
                .set_body_json(refund),
        )
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri())
        .arg("--tools=all,stripe_api_write")
        .arg("--confirm=never")
        .start()
        .await;
    let tools = server.client.peer().list_all_tools().await.unwrap();
    let mut writes = 0;
    for tool in &tools {
        let Some(key) = tool
            .input_schema
            .get("properties")
            .and_then(|p| p.get("idempotency_key"))
        else {
            continue;
        };
        writes += 1;
        let said = key["description"].as_str().unwrap_or_default();
        assert!(
            said.contains("identical call is a replay")
                && said.contains("a new key makes a new write"),
            "{}: {said}",
            tool.name
        );
    }
    assert!(writes >= 20, "{writes}");
    let out = ok(&server
        .call(
            "create_refund",
            json!({"payment_intent": "pi_3MtwBwLkdIwHu7ix28a3tqPa"}),
        )
        .await);
    assert_eq!(out["replayed"], true, "{out}");
    let note = out["replay_note"].as_str().unwrap();
    assert!(
        note.contains("identical call") && note.contains("new idempotency_key makes a new write"),
        "{note}"
    );
    server.stop().await;
}

// ---- Times as RFC 3339; the payment method of a charge ----

#[tokio::test]
async fn list_and_get_outputs_carry_rfc3339_times_and_charges_their_card() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/charges"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("charge_list.json")))
        .mount(&stripe)
        .await;
    let server = Spawn::new(&stripe.uri()).start().await;
    let out = ok(&server.call("list_charges", json!({"limit": 2})).await);
    let charge = &out["charges"][0];
    let secs = charge["created"].as_i64().unwrap();
    let utc = charge["created_utc"].as_str().unwrap();
    let parsed: jiff::Timestamp = utc.parse().unwrap();
    assert_eq!(parsed.as_second(), secs, "{charge}");
    assert!(utc.ends_with('Z'), "{utc}");
    assert_eq!(charge["payment_method_type"], "card", "{charge}");
    assert!(
        charge["card_brand"].is_string() && charge["card_last4"].is_string(),
        "{charge}"
    );
    // The text the model reads says the same as structuredContent.
    let text: Value = serde_json::from_str(&common::text(
        &server.call("list_charges", json!({"limit": 2})).await,
    ))
    .unwrap();
    assert_eq!(text["charges"][0]["created_utc"], utc);
    // And the output schema declares the twin.
    let tools = server.client.peer().list_all_tools().await.unwrap();
    let list = tools.iter().find(|t| t.name == "list_charges").unwrap();
    let schema = serde_json::to_string(list.output_schema.as_ref().unwrap()).unwrap();
    assert!(
        schema.contains("created_utc") && schema.contains("card_last4"),
        "{schema}"
    );
    server.stop().await;
}
