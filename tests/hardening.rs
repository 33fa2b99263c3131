//! Input hardening: hostile or mistaken arguments and malformed JSON-RPC lines.
//!
//! Every argument case must come back as a structured `invalid_argument` error
//! whose message names the problem; nothing may reach Stripe (a catch-all mock
//! that expects zero requests); and the server must still answer `tools/list`
//! at the end. New tools add rows to [`cases`].

mod common;
#[path = "common/rpc.rs"]
mod rpc;

use std::{collections::BTreeMap, process::Stdio, time::Duration};

use rpc::Rpc;
use serde_json::{Value, json};

/// One hostile input: tool, arguments, and a piece of the message it must get.
struct Case {
    tool: &'static str,
    args: Value,
    needle: &'static str,
}

fn case(tool: &'static str, args: Value, needle: &'static str) -> Case {
    Case { tool, args, needle }
}

fn metadata(n: usize) -> Value {
    let m: BTreeMap<String, String> = (0..n).map(|i| (format!("k{i}"), "v".into())).collect();
    json!(m)
}

fn line_items(n: usize) -> Value {
    json!(
        (0..n)
            .map(|i| json!({"product_name": format!("item {i}"), "unit_amount": 100, "currency": "usd"}))
            .collect::<Vec<_>>()
    )
}

/// A valid inline checkout, with `extra` merged in (or removed where `null`).
fn checkout(extra: Value) -> Value {
    let mut base =
        json!({"product_name": "Mug", "unit_amount": 1500, "currency": "usd", "quantity": 1});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn refund(extra: Value) -> Value {
    let mut base = json!({"payment_intent": "pi_123"});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

fn cases() -> Vec<Case> {
    let long = |n: usize| "x".repeat(n);
    vec![
        // --- create_refund: amounts ---
        case(
            "create_refund",
            refund(json!({"amount": 4.5})),
            "integer number of minor units",
        ),
        case(
            "create_refund",
            refund(json!({"amount": 1000.0})),
            "integer number of minor units",
        ),
        case(
            "create_refund",
            refund(json!({"amount": -500})),
            "must not be negative",
        ),
        case(
            "create_refund",
            refund(json!({"amount": 1_000_000_000_000i64})),
            "maximum",
        ),
        case(
            "create_refund",
            refund(json!({"amount": u64::MAX})),
            "maximum",
        ),
        case(
            "create_refund",
            refund(json!({"amount": 1e300})),
            "integer number of minor units",
        ),
        case(
            "create_refund",
            refund(json!({"amount": "500"})),
            "not the string",
        ),
        case(
            "create_refund",
            refund(json!({"amount": "5.00"})),
            "not the string",
        ),
        case(
            "create_refund",
            refund(json!({"amount": true})),
            "must be an integer",
        ),
        case(
            "create_refund",
            refund(json!({"amount": [500]})),
            "must be an integer",
        ),
        case(
            "create_refund",
            refund(json!({"amount": {"value": 500}})),
            "must be an integer",
        ),
        case("create_refund", refund(json!({"amount": 0})), "at least 1"),
        // --- create_refund: ids ---
        case(
            "create_refund",
            refund(json!({"payment_intent": "ch_123"})),
            "wrong prefix",
        ),
        case("create_refund", json!({"charge": "pi_123"}), "wrong prefix"),
        case(
            "create_refund",
            json!({"charge": "cus_123"}),
            "wrong prefix",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": "pi_1 OR 1=1"})),
            "not a Stripe id",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": "pi_../../v1/balance"})),
            "not a Stripe id",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": ""})),
            "not a Stripe id",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": format!("pi_{}", long(300))})),
            "not a Stripe id",
        ),
        // Cyrillic і in "pі_": looks right, is not.
        case(
            "create_refund",
            refund(json!({"payment_intent": "p\u{456}_123"})),
            "not a Stripe id",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": "pi_123\u{200b}"})),
            "not a Stripe id",
        ),
        case(
            "create_refund",
            refund(json!({"payment_intent": 123})),
            "invalid type",
        ),
        case(
            "create_refund",
            refund(json!({"charge": "ch_1"})),
            "not both",
        ),
        case("create_refund", json!({}), "which payment"),
        case("create_refund", json!({"amount": 500}), "which payment"),
        // --- create_refund: the rest ---
        case(
            "create_refund",
            refund(json!({"reason": "because"})),
            "unknown variant",
        ),
        case(
            "create_refund",
            refund(json!({"reason": "DUPLICATE"})),
            "unknown variant",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": metadata(51)})),
            "at most 50",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": {long(41): "v"}})),
            "1 to 40 characters",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": {"": "v"}})),
            "1 to 40 characters",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": {"k": long(501)}})),
            "at most 500",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": {"a[b]": "v"}})),
            "square brackets",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": {"k": 1}})),
            "invalid type",
        ),
        case(
            "create_refund",
            refund(json!({"metadata": ["k", "v"]})),
            "invalid type",
        ),
        case(
            "create_refund",
            refund(json!({"idempotency_key": "has space"})),
            "printable ASCII",
        ),
        case(
            "create_refund",
            refund(json!({"idempotency_key": "clé-🔑"})),
            "printable ASCII",
        ),
        case(
            "create_refund",
            refund(json!({"idempotency_key": long(256)})),
            "1 to 255",
        ),
        case(
            "create_refund",
            refund(json!({"idempotency_key": ""})),
            "1 to 255",
        ),
        case(
            "create_refund",
            refund(json!({"amout": 500})),
            "unknown field",
        ),
        case(
            "create_refund",
            refund(json!({"paymentIntent": "pi_1"})),
            "unknown field",
        ),
        // --- initiate_checkout: amounts and currencies ---
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": 49.99})),
            "send 4999",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": -1})),
            "must not be negative",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": 100_000_000})),
            "maximum",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": "4999"})),
            "not the string",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": "$49.99"})),
            "not the string",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": "dollars"})),
            "not an ISO 4217 code",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": "usd "})),
            "spaces around it",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": "xyz"})),
            "not one Stripe supports",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": ""})),
            "three-letter",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": "ＵＳＤ"})),
            "three-letter",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": "us"})),
            "three-letter",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"currency": null})),
            "currency is required",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"unit_amount": null})),
            "unit_amount is required",
        ),
        // --- initiate_checkout: line items ---
        case(
            "initiate_checkout",
            json!({"line_items": line_items(101)}),
            "at most 100",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": []}),
            "at least one item",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": [{}]}),
            "needs either price",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": [{"price": "price_1", "product_name": "x", "unit_amount": 1, "currency": "usd"}]}),
            "choose one",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": [
                {"product_name": "a", "unit_amount": 100, "currency": "usd"},
                {"product_name": "b", "unit_amount": 100, "currency": "eur"}]}),
            "one currency",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": [{"price": "price_1", "name": "x"}]}),
            "unknown field",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": [{"price": "prod_1"}]}),
            "wrong prefix",
        ),
        case(
            "initiate_checkout",
            json!({"line_items": "price_1"}),
            "invalid type",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"line_items": line_items(1)})),
            "not both",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"quantity": 0})),
            "at least 1",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"quantity": -1})),
            "invalid value",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"quantity": 1.5})),
            "invalid type",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"quantity": 5_000_000_000u64})),
            "invalid value",
        ),
        case(
            "initiate_checkout",
            json!({"price": "prod_123"}),
            "wrong prefix",
        ),
        case(
            "initiate_checkout",
            json!({"success_url": "https://shop.example/ok"}),
            "nothing to sell",
        ),
        // --- initiate_checkout: text, ids, URLs ---
        case(
            "initiate_checkout",
            checkout(json!({"product_name": long(251)})),
            "at most 250",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"product_name": "é".repeat(251)})),
            "at most 250",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"product_name": "   "})),
            "must not be empty",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"product_name": "a\u{0}b"})),
            "control characters",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"product_name": "bell\u{7}"})),
            "control characters",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"product_name": long(1 << 20)})),
            "at most 250",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"client_reference_id": long(201)})),
            "at most 200",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"customer_email": "not-an-email"})),
            "not an email",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"customer_email": "a@b@c.com"})),
            "not an email",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"customer_email": "jane@example.com\r\nBcc: x@y.z"})),
            "not an email",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"customer": "pi_123"})),
            "wrong prefix",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"customer": "cus_1", "customer_email": "a@b.co"})),
            "not both",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "shop.example/success"})),
            "not an absolute URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "javascript:alert(1)"})),
            "http(s) URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "JavaScript:alert(1)"})),
            "http(s) URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "data:text/html,<script>1</script>"})),
            "http(s) URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "ftp://shop.example/"})),
            "http(s) URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": "https://"})),
            "not an absolute URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"cancel_url": "/cancel"})),
            "not an absolute URL",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"success_url": format!("https://shop.example/{}", long(5001))})),
            "longer than 5000",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"expires_in_minutes": 10})),
            "between 30 and 1440",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"expires_in_minutes": 100_000})),
            "between 30 and 1440",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"metadata": metadata(51)})),
            "at most 50",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"metadata": metadata(50), "product_id": "sku-1"})),
            "plus 1 this tool adds",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"metadata": {"product_id": "a"}, "product_id": "b"})),
            "given both",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"mode": "setup"})),
            "unknown variant",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"mode": "subscription"})),
            "recurring price",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"amount": 1500})),
            "unknown field",
        ),
        case(
            "initiate_checkout",
            checkout(json!({"idempotency_key": "tab\there"})),
            "printable ASCII",
        ),
        // --- list_customers ---
        case("list_customers", json!({"limit": 0}), "between 1 and 1000"),
        case(
            "list_customers",
            json!({"limit": 1001}),
            "between 1 and 1000",
        ),
        case("list_customers", json!({"limit": -1}), "between 1 and 1000"),
        case(
            "list_customers",
            json!({"limit": i64::MAX}),
            "between 1 and 1000",
        ),
        case("list_customers", json!({"limit": 2.5}), "invalid type"),
        case("list_customers", json!({"limit": "10"}), "invalid type"),
        case("list_customers", json!({"email": "jane"}), "not an email"),
        case(
            "list_customers",
            json!({"email": "jane@example.com\nX-Evil: 1"}),
            "not an email",
        ),
        case(
            "list_customers",
            json!({"email": format!("{}@example.com", long(600))}),
            "not an email",
        ),
        case(
            "list_customers",
            json!({"starting_after": "pi_1"}),
            "wrong prefix",
        ),
        case(
            "list_customers",
            json!({"starting_after": "cus_1&limit=100"}),
            "not a Stripe id",
        ),
        case(
            "list_customers",
            json!({"query": "email:'a@b.co'"}),
            "unknown field",
        ),
    ]
}

fn spawn(api_base: &str) -> Rpc {
    let mut cmd = tokio::process::Command::new(common::bin());
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .env("STRIPE_API_BASE", api_base)
        .env("APP_BASE_URL", "https://shop.example")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stderr(Stdio::null());
    Rpc::spawn(cmd).expect("spawn stripe-mcp")
}

#[tokio::test]
async fn every_hostile_argument_is_refused_with_a_clear_error_and_nothing_reaches_stripe() {
    let stripe = common::mock_stripe().await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.expect("initialize");
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let result = match rpc.call_tool(c.tool, c.args.clone()).await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("#{n} {}: no tool result: {e}", c.tool));
                continue;
            }
        };
        let Some(err) = rpc::tool_error(&result) else {
            failures.push(format!(
                "#{n} {} {}: not a structured error: {}",
                c.tool,
                short(&c.args),
                short(&result)
            ));
            continue;
        };
        let message = err["message"].as_str().unwrap_or("");
        if err["kind"] != "invalid_argument"
            || err["retryable"] != false
            || !message.contains(c.needle)
        {
            failures.push(format!(
                "#{n} {} {}: expected invalid_argument with {:?}, got {}",
                c.tool,
                short(&c.args),
                c.needle,
                short(&err)
            ));
        }
    }
    // Still serving, and still answering a normal call.
    let list = rpc
        .request("tools/list", json!({}), Duration::from_secs(10))
        .await
        .expect("tools/list after the hostile inputs");
    assert!(list["result"]["tools"].is_array());
    assert!(rpc.not_json().is_empty(), "stdout carried non-JSON lines");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(
        rpc.close(Duration::from_secs(10))
            .await
            .is_some_and(|s| s.success())
    );
    // Dropping `stripe` verifies the catch-all mock saw no request.
}

/// What a malformed line must get back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reply {
    /// Nothing (the line is not JSON).
    Silent,
    /// A JSON-RPC error without an id.
    NoId,
    /// A JSON-RPC error to this id.
    Id(i64),
}

/// Malformed JSON-RPC lines, and the reply each must get.
///
/// The server keeps serving after every one of them. What rmcp 3.11 answers,
/// as seen: a line that is not JSON at all is dropped without a reply (JSON-RPC
/// 2.0 asks for `-32700` to id null: a gap, noted in the README); JSON that is
/// not a request gets `-32600 Invalid request` without an `id`, and so does a
/// request whose `params` is not an object (its id is lost); a `tools/call`
/// whose params do not parse gets `-32601` with the message `tools/call`, to
/// the right id; an unknown tool name gets `-32602 tool not found`.
fn bad_lines() -> Vec<(&'static str, String, Reply)> {
    vec![
        ("not JSON", "this is not json".into(), Reply::Silent),
        ("truncated", r#"{"jsonrpc": "2.0", "id": 3, "method": "tools/li"#.into(), Reply::Silent),
        ("empty array", "[]".into(), Reply::NoId),
        ("empty object", "{}".into(), Reply::NoId),
        ("a bare number", "42".into(), Reply::NoId),
        ("control bytes", "\u{feff}\u{0}\u{7f}".into(), Reply::Silent),
        ("a batch", r#"[{"jsonrpc":"2.0","id":4,"method":"ping"}]"#.into(), Reply::NoId),
        ("a null id", r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#.into(), Reply::NoId),
        (
            "deeply nested",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            Reply::Silent,
        ),
        (
            "params as an array",
            r#"{"jsonrpc":"2.0","id":17,"method":"tools/call","params":["get_balance"]}"#.into(),
            Reply::NoId,
        ),
        (
            "unknown method",
            r#"{"jsonrpc":"2.0","id":11,"method":"no/such/method"}"#.into(),
            Reply::Id(11),
        ),
        (
            "tools/call without params",
            r#"{"jsonrpc":"2.0","id":12,"method":"tools/call"}"#.into(),
            Reply::Id(12),
        ),
        (
            "tools/call without a name",
            r#"{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"arguments":{}}}"#.into(),
            Reply::Id(13),
        ),
        (
            "unknown tool",
            r#"{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"drop_all_customers","arguments":{}}}"#.into(),
            Reply::Id(14),
        ),
        (
            "arguments as an array",
            r#"{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"create_refund","arguments":["pi_1"]}}"#.into(),
            Reply::Id(15),
        ),
        (
            "arguments as a string",
            r#"{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"list_customers","arguments":"limit=5"}}"#.into(),
            Reply::Id(16),
        ),
        (
            "name as a number",
            r#"{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":7}}"#.into(),
            Reply::Id(18),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_rpc_lines_get_errors_and_do_not_stop_the_server() {
    let stripe = common::mock_stripe().await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.expect("initialize");
    let lines = bad_lines();
    for (_, line, _) in &lines {
        rpc.send_line(line).await.expect("write");
    }
    // The server keeps serving: a normal request after all of them is answered.
    let list = rpc
        .request("tools/list", json!({}), Duration::from_secs(10))
        .await
        .expect("tools/list after the malformed lines");
    assert!(list["result"]["tools"].is_array());

    // Replies may arrive out of order: collect one per answered line.
    let mut replies: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let expected = lines.iter().filter(|l| l.2 != Reply::Silent).count();
    while replies.len() < expected && tokio::time::Instant::now() < deadline {
        replies.extend(rpc.take_unmatched());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    replies.extend(rpc.take_unmatched());

    let mut failures = Vec::new();
    for r in &replies {
        let code = r["error"]["code"].as_i64().unwrap_or(0);
        let message = r["error"]["message"].as_str().unwrap_or("");
        if !matches!(code, -32700 | -32600 | -32601 | -32602) || message.is_empty() {
            failures.push(format!("not a JSON-RPC error with a message: {r}"));
        }
    }
    for (what, _, reply) in &lines {
        if let Reply::Id(id) = reply
            && !replies.iter().any(|r| r["id"] == json!(id))
        {
            failures.push(format!("{what} (id {id}): no error reply to its id"));
        }
    }
    let without_id = replies.iter().filter(|r| r["id"].is_null()).count();
    let want_without_id = lines.iter().filter(|l| l.2 == Reply::NoId).count();
    let want_replies = lines.iter().filter(|l| l.2 != Reply::Silent).count();
    if without_id != want_without_id || replies.len() != want_replies {
        failures.push(format!(
            "{} replies ({without_id} without an id), expected {want_replies} ({want_without_id} without an id): {replies:?}",
            replies.len(),
        ));
    }
    assert!(rpc.not_json().is_empty(), "stdout carried non-JSON lines");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        rpc.close(Duration::from_secs(10))
            .await
            .is_some_and(|s| s.success())
    );
}

/// A tool without parameters refuses arguments it was given instead of
/// calling Stripe as if it had understood them.
#[tokio::test]
async fn get_balance_refuses_unknown_arguments() {
    let stripe = common::mock_stripe().await;
    let rpc = spawn(&stripe.uri());
    rpc.initialize().await.expect("initialize");
    let result = rpc
        .call_tool("get_balance", json!({"currency": "usd"}))
        .await
        .unwrap();
    let err = rpc::tool_error(&result).expect("an error");
    assert_eq!(err["kind"], "invalid_argument", "{err}");
    assert!(err["message"].as_str().unwrap().contains("unknown field"));
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…({} bytes)", &s[..cut], s.len())
    } else {
        s
    }
}
