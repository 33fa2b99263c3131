//! A person confirms money movements: rmcp's own client answers the server's form with
//! accept, decline, cancel, or not at all, over stdio (the real binary) and over HTTP
//! (2025-11-25 sessions and 2026-07-28 `input_required` rounds). Nothing reaches
//! Stripe's write endpoints unless a person accepted, and an accepted write is sent
//! once, with its idempotency key unchanged.

mod common;
mod http_common;

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData, RoleClient, ServiceExt,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig,
        ElicitRequestParams, ElicitResult, ElicitationAction, Implementation, ProtocolVersion,
    },
    service::{RequestContext, RunningService},
    transport::{
        ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess,
        streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

/// The charge the refunds name (tests/fixtures/charge.json).
const CHARGE: &str = "ch_3PaymentsFixture";
/// The caller's idempotency key, which must reach Stripe unchanged.
const IDEM: &str = "refund-order-42";
/// What the form must say: amount, charge, who paid, when, what was refunded before.
const QUESTION: &str = "Refund $10.00 of charge ch_3PaymentsFixture (jane@example.com, paid $20.00 on 2 Dec 2026, $5.00 already refunded).";

/// How the person answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// Accept with the box ticked.
    Accept,
    /// Accept without ticking the box.
    Untick,
    /// Decline.
    Decline,
    /// Close the form.
    Cancel,
    /// Never answer.
    Silent,
    /// Accept, after this long.
    Late(Duration),
}

/// An MCP client with the elicitation capability and a person behind it.
#[derive(Clone)]
struct Person {
    /// The answer this person gives to every form.
    answer: Answer,
    /// Every form message shown, in order.
    asked: Arc<Mutex<Vec<String>>>,
}

impl Person {
    fn new(answer: Answer) -> Self {
        Person {
            answer,
            asked: Arc::default(),
        }
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl ClientHandler for Person {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::builder().enable_elicitation().build(),
            Implementation::new("a-person", "1"),
        )
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        let accept =
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}));
        Ok(match self.answer {
            Answer::Accept => accept,
            Answer::Untick => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": false}))
            }
            Answer::Decline => ElicitResult::new(ElicitationAction::Decline),
            Answer::Cancel => ElicitResult::new(ElicitationAction::Cancel),
            Answer::Silent => std::future::pending().await,
            Answer::Late(after) => {
                tokio::time::sleep(after).await;
                accept
            }
        })
    }
}

/// A mock Stripe with the charge to look up and the refund endpoint.
async fn stripe() -> MockServer {
    let stripe = common::mock_stripe().await;
    let mut charge = common::fixture("charge.json");
    charge["billing_details"]["email"] = json!("jane@example.com");
    charge["created"] = json!(1_796_169_600);
    Mock::given(method("GET"))
        .and(path(format!("/v1/charges/{CHARGE}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(charge))
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .mount(&stripe)
        .await;
    stripe
}

/// The writes Stripe received, as (path, Idempotency-Key).
async fn writes(stripe: &MockServer) -> Vec<(String, Option<String>)> {
    stripe
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| {
            (
                r.url.path().to_owned(),
                r.headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            )
        })
        .collect()
}

fn refund_args() -> Value {
    json!({"charge": CHARGE, "amount": 1000, "idempotency_key": IDEM})
}

fn params(tool: &str, args: Value) -> CallToolRequestParams {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    CallToolRequestParams::new(tool.to_owned()).with_arguments(args)
}

/// The real binary over stdio, with `person` as its MCP client.
async fn stdio(
    stripe: &MockServer,
    person: Person,
    args: &[&str],
) -> (
    RunningService<RoleClient, Person>,
    tokio::task::JoinHandle<String>,
) {
    let base = stripe.uri();
    let cmd = tokio::process::Command::new(common::bin()).configure(|cmd| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("STRIPE_SECRET_KEY", common::TEST_KEY)
            .env("STRIPE_API_BASE", &base)
            .env("STRIPE_MCP_RETRY_BASE_MS", "20")
            .env("RUST_LOG", "info")
            .args(args)
            .current_dir(std::env::temp_dir());
    });
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stripe-mcp");
    let mut stderr = stderr.expect("stderr piped");
    let log = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let client = tokio::time::timeout(Duration::from_secs(20), person.serve(transport))
        .await
        .expect("initialize timed out")
        .expect("initialize");
    (client, log)
}

async fn call(
    client: &RunningService<RoleClient, Person>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    tokio::time::timeout(
        Duration::from_secs(60),
        client.call_tool(params(tool, args)),
    )
    .await
    .expect("tool call timed out")
    .expect("tool call")
}

#[tokio::test]
async fn over_stdio_an_accepted_refund_is_sent_once_with_its_idempotency_key_after_a_checkable_question()
 {
    let stripe = stripe().await;
    let person = Person::new(Answer::Accept);
    let (client, _log) = stdio(&stripe, person.clone(), &[]).await;
    let out = common::ok(&call(&client, "create_refund", refund_args()).await);
    assert_eq!(out["idempotency_key"], IDEM, "{out}");
    assert_eq!(person.asked(), [QUESTION]);
    assert_eq!(
        writes(&stripe).await,
        [("/v1/refunds".to_owned(), Some(IDEM.to_owned()))]
    );
    client.cancel().await.unwrap();
}

/// The question leaves through the same exit as every answer: with `--redact` the
/// payer's email is masked there too.
#[tokio::test]
async fn with_redact_the_question_masks_personal_data_like_every_answer() {
    let stripe = stripe().await;
    let person = Person::new(Answer::Accept);
    let (client, _log) = stdio(&stripe, person.clone(), &["--redact"]).await;
    common::ok(&call(&client, "create_refund", refund_args()).await);
    let asked = person.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(
        !asked[0].contains("jane@") && asked[0].contains("j***@example.com"),
        "{}",
        asked[0]
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn over_stdio_a_declined_or_unticked_refund_is_declined_by_user_and_nothing_is_sent() {
    for answer in [Answer::Decline, Answer::Untick] {
        let stripe = stripe().await;
        let person = Person::new(answer);
        let (client, _log) = stdio(&stripe, person.clone(), &[]).await;
        let e = common::err(&call(&client, "create_refund", refund_args()).await);
        assert_eq!(e["kind"], "declined_by_user", "{answer:?}: {e}");
        assert_eq!(e["retryable"], false);
        assert!(
            e["message"].as_str().unwrap().contains("nothing was sent"),
            "{e}"
        );
        assert_eq!(person.asked().len(), 1);
        assert!(
            writes(&stripe).await.is_empty(),
            "{answer:?}: a write reached Stripe"
        );
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn over_stdio_a_closed_form_is_declined_by_user_and_nothing_is_sent() {
    let stripe = stripe().await;
    let (client, _log) = stdio(&stripe, Person::new(Answer::Cancel), &[]).await;
    let e = common::err(&call(&client, "create_refund", refund_args()).await);
    assert_eq!(e["kind"], "declined_by_user", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("closed the form"),
        "{e}"
    );
    assert!(writes(&stripe).await.is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn over_stdio_nobody_answering_within_the_bound_is_a_confirmation_timeout_and_nothing_is_sent()
 {
    let stripe = stripe().await;
    let person = Person::new(Answer::Silent);
    let (client, _log) = stdio(&stripe, person.clone(), &["--confirm-timeout", "5"]).await;
    let started = Instant::now();
    let e = common::err(&call(&client, "create_refund", refund_args()).await);
    let waited = started.elapsed();
    assert_eq!(e["kind"], "confirmation_timeout", "{e}");
    assert_eq!(e["retryable"], true);
    assert_eq!(
        e["idempotency_key"], IDEM,
        "the retry hint needs the key: {e}"
    );
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(15),
        "{waited:?}"
    );
    assert_eq!(person.asked().len(), 1);
    assert!(writes(&stripe).await.is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn confirm_always_refuses_a_client_that_cannot_be_asked_and_says_how_to_enable_it() {
    let stripe = stripe().await;
    let server = common::Spawn::new(&stripe.uri())
        .arg("--confirm=always")
        .start()
        .await;
    let e = common::err(&server.call("create_refund", refund_args()).await);
    assert_eq!(e["kind"], "confirmation_unavailable", "{e}");
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("elicitation") && hint.contains("--confirm auto"),
        "{hint}"
    );
    assert!(writes(&stripe).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn confirm_auto_lets_a_client_that_cannot_be_asked_write_as_before() {
    let stripe = stripe().await;
    let server = common::Spawn::new(&stripe.uri()).start().await;
    common::ok(&server.call("create_refund", refund_args()).await);
    assert_eq!(writes(&stripe).await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn confirm_never_sends_without_asking_and_ordinary_writes_are_never_asked() {
    let stripe = stripe().await;
    let person = Person::new(Answer::Decline);
    let (client, _log) = stdio(&stripe, person.clone(), &["--confirm", "never"]).await;
    common::ok(&call(&client, "create_refund", refund_args()).await);
    assert!(person.asked().is_empty());
    assert_eq!(writes(&stripe).await.len(), 1);
    client.cancel().await.unwrap();

    // With the default (auto), creating a customer is an ordinary write: not asked.
    Mock::given(method("POST"))
        .and(path("/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("customer.json")))
        .mount(&stripe)
        .await;
    let person = Person::new(Answer::Decline);
    let (client, _log) = stdio(&stripe, person.clone(), &[]).await;
    common::ok(
        &call(
            &client,
            "create_customer",
            json!({"email": "jane@example.com"}),
        )
        .await,
    );
    assert!(person.asked().is_empty(), "{:?}", person.asked());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_refund_through_the_generic_write_is_asked_as_the_same_refund_and_declined_sends_nothing()
{
    let stripe = stripe().await;
    let person = Person::new(Answer::Decline);
    let (client, _log) = stdio(
        &stripe,
        person.clone(),
        &["--tools", "all,stripe_api_write"],
    )
    .await;
    let e = common::err(
        &call(
            &client,
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/refunds",
                   "params": {"charge": CHARGE, "amount": 1000}, "idempotency_key": IDEM}),
        )
        .await,
    );
    assert_eq!(e["kind"], "declined_by_user", "{e}");
    assert_eq!(person.asked(), [QUESTION]);
    // A write this server cannot classify is asked too, naming what would be sent.
    let e = common::err(
        &call(
            &client,
            "stripe_api_write",
            json!({"method": "POST", "path": "/v1/coupons", "params": {"percent_off": 100, "duration": "forever"}}),
        )
        .await,
    );
    assert_eq!(e["kind"], "declined_by_user", "{e}");
    let asked = person.asked();
    assert!(
        asked[1].contains("POST /v1/coupons") && asked[1].contains("percent_off=100"),
        "{asked:?}"
    );
    assert!(writes(&stripe).await.is_empty());
    client.cancel().await.unwrap();
}

/// rmcp's streamable-HTTP client with `person` behind it, speaking this generation.
async fn http_client(
    url: &str,
    person: Person,
    generation: http_common::Generation,
) -> RunningService<RoleClient, Person> {
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.to_owned())
            .auth_header(common::TEST_KEY.to_owned()),
    );
    let started = match generation {
        http_common::Generation::Sessions20251125 => person.serve(transport).await,
        http_common::Generation::Stateless20260728 => {
            person
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
async fn over_http_both_protocol_generations_send_an_accepted_refund_once_and_a_declined_one_never()
{
    use http_common::Generation::*;
    for generation in [Sessions20251125, Stateless20260728] {
        let stripe = stripe().await;
        let server = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
        let person = Person::new(Answer::Decline);
        let client = http_client(&server.url(), person.clone(), generation).await;
        let e = common::err(&call(&client, "create_refund", refund_args()).await);
        assert_eq!(e["kind"], "declined_by_user", "{generation:?}: {e}");
        assert_eq!(person.asked(), [QUESTION], "{generation:?}");
        assert!(writes(&stripe).await.is_empty(), "{generation:?}");
        client.cancel().await.unwrap();

        let person = Person::new(Answer::Accept);
        let client = http_client(&server.url(), person.clone(), generation).await;
        let out = common::ok(&call(&client, "create_refund", refund_args()).await);
        assert_eq!(out["idempotency_key"], IDEM);
        assert_eq!(person.asked(), [QUESTION], "{generation:?}");
        assert_eq!(
            writes(&stripe).await,
            [("/v1/refunds".to_owned(), Some(IDEM.to_owned()))],
            "{generation:?}"
        );
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn over_http_a_closed_form_or_an_answer_after_the_bound_sends_nothing() {
    use http_common::Generation::*;
    for generation in [Sessions20251125, Stateless20260728] {
        let stripe = stripe().await;
        let server = http_common::start(
            &stripe.uri(),
            &["--auth", "stripe-key", "--confirm-timeout", "5"],
            &[],
        )
        .await;
        let client = http_client(&server.url(), Person::new(Answer::Cancel), generation).await;
        let e = common::err(&call(&client, "create_refund", refund_args()).await);
        assert_eq!(e["kind"], "declined_by_user", "{generation:?}: {e}");
        client.cancel().await.unwrap();

        // 2025-11-25: the server stops waiting; 2026-07-28: the sealed state expired.
        let late = Person::new(Answer::Late(Duration::from_secs(7)));
        let client = http_client(&server.url(), late.clone(), generation).await;
        let e = common::err(&call(&client, "create_refund", refund_args()).await);
        assert_eq!(e["kind"], "confirmation_timeout", "{generation:?}: {e}");
        assert_eq!(late.asked().len(), 1);
        assert!(writes(&stripe).await.is_empty(), "{generation:?}");
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn a_2026_07_28_accept_that_the_server_did_not_ask_for_or_for_other_arguments_sends_nothing()
{
    let stripe = stripe().await;
    let server = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
    let person = Person::new(Answer::Accept);
    let client = http_client(
        &server.url(),
        person.clone(),
        http_common::Generation::Stateless20260728,
    )
    .await;
    let accept = serde_json::to_value(
        ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true})),
    )
    .unwrap();
    let responses = || {
        [("confirm".to_owned(), accept.clone())]
            .into_iter()
            .collect()
    };

    // An accept with a made-up state.
    let mut forged = params("create_refund", refund_args()).with_input_responses(responses());
    forged.request_state = Some("rs2.forged.state".into());
    let CallToolResponse::Complete(result) = client.call_tool_once(forged).await.unwrap() else {
        panic!("a forged state must not be asked again")
    };
    assert_eq!(common::err(&result)["kind"], "invalid_argument");

    // The server's own state, for 10.00, replayed with an amount of 19.99.
    let CallToolResponse::InputRequired(asked) = client
        .call_tool_once(params("create_refund", refund_args()))
        .await
        .unwrap()
    else {
        panic!("the refund must be asked first")
    };
    let mut swapped = params(
        "create_refund",
        json!({"charge": CHARGE, "amount": 1999, "idempotency_key": IDEM}),
    )
    .with_input_responses(responses());
    swapped.request_state = asked.request_state.clone();
    let CallToolResponse::Complete(result) = client.call_tool_once(swapped).await.unwrap() else {
        panic!("other arguments must not be asked again with the old state")
    };
    let e = common::err(&result);
    assert_eq!(e["kind"], "invalid_argument", "{e}");
    assert!(writes(&stripe).await.is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn over_http_a_person_taking_longer_than_the_request_timeout_to_accept_still_gets_the_refund()
{
    let stripe = stripe().await;
    let server = http_common::start(
        &stripe.uri(),
        &["--auth", "stripe-key", "--request-timeout", "1"],
        &[],
    )
    .await;
    let person = Person::new(Answer::Late(Duration::from_secs(2)));
    let client = http_client(
        &server.url(),
        person,
        http_common::Generation::Sessions20251125,
    )
    .await;
    let out = common::ok(&call(&client, "create_refund", refund_args()).await);
    assert_eq!(out["idempotency_key"], IDEM);
    assert_eq!(writes(&stripe).await.len(), 1);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_2026_07_28_confirmation_asked_by_one_replica_is_accepted_by_another_sharing_the_secret()
{
    let stripe = stripe().await;
    let secret = (
        "STRIPE_MCP_CONFIRM_SECRET",
        "replicas-share-this-secret-of-32-chars+",
    );
    let a = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[secret]).await;
    let b = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[secret]).await;
    let lone = http_common::start(&stripe.uri(), &["--auth", "stripe-key"], &[]).await;
    let stateless = http_common::Generation::Stateless20260728;
    let person = Person::new(Answer::Accept);
    let on_a = http_client(&a.url(), person.clone(), stateless).await;
    let CallToolResponse::InputRequired(asked) = on_a
        .call_tool_once(params("create_refund", refund_args()))
        .await
        .unwrap()
    else {
        panic!("replica a must ask first")
    };
    let accept = serde_json::to_value(
        ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true})),
    )
    .unwrap();
    let answered = || {
        let mut p = params("create_refund", refund_args()).with_input_responses(
            [("confirm".to_owned(), accept.clone())]
                .into_iter()
                .collect(),
        );
        p.request_state = asked.request_state.clone();
        p
    };
    // A replica with its own random key cannot check the answer: nothing is sent.
    let on_lone = http_client(&lone.url(), person.clone(), stateless).await;
    let CallToolResponse::Complete(result) = on_lone.call_tool_once(answered()).await.unwrap()
    else {
        panic!("a foreign state is refused, not asked again")
    };
    assert_eq!(common::err(&result)["kind"], "invalid_argument");
    assert!(writes(&stripe).await.is_empty());
    // The replica with the same secret accepts it and sends the refund once.
    let on_b = http_client(&b.url(), person, stateless).await;
    let CallToolResponse::Complete(result) = on_b.call_tool_once(answered()).await.unwrap() else {
        panic!("replica b must accept the answer")
    };
    assert_eq!(common::ok(&result)["idempotency_key"], IDEM);
    assert_eq!(
        writes(&stripe).await,
        [("/v1/refunds".to_owned(), Some(IDEM.to_owned()))]
    );
    for c in [on_a, on_lone, on_b] {
        c.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn a_call_the_tool_refuses_anyway_is_refused_without_asking_anyone() {
    let stripe = stripe().await;
    let person = Person::new(Answer::Accept);
    let (client, _log) = stdio(
        &stripe,
        person.clone(),
        &["--tools", "all,stripe_api_write"],
    )
    .await;
    for (tool, args) in [
        // A float amount: asking "refund everything not yet refunded" would mislead.
        ("create_refund", json!({"charge": CHARGE, "amount": 49.99})),
        (
            "create_refund",
            json!({"charge": "pi_wrongprefix", "amount": 100}),
        ),
        (
            "cancel_payment_intent",
            json!({"payment_intent": "pi_1/../../v1/balance"}),
        ),
        (
            "stripe_api_write",
            json!({"method": "POST", "path": "https://evil.example/v1/refunds"}),
        ),
    ] {
        let e = common::err(&call(&client, tool, args.clone()).await);
        assert_eq!(e["kind"], "invalid_argument", "{tool} {args}: {e}");
    }
    assert!(person.asked().is_empty(), "{:?}", person.asked());
    assert!(stripe.received_requests().await.unwrap().is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn payments_cancellations_and_finalizations_are_asked_with_what_stripe_says_about_them() {
    let stripe = stripe().await;
    for (p, fixture) in [
        (
            "/v1/payment_intents/pi_3PaymentsFixture",
            "payment_intent.json",
        ),
        (
            "/v1/subscriptions/sub_1NnmX4GPxmnHQRkJrhGrFloA",
            "billing_subscription.json",
        ),
        (
            "/v1/invoices/in_1NnmX4GPxmnHQRkJyyhHiHYa",
            "billing_invoice.json",
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture(fixture)))
            .mount(&stripe)
            .await;
    }
    let person = Person::new(Answer::Decline);
    let (client, _log) = stdio(&stripe, person.clone(), &[]).await;
    for (tool, args) in [
        (
            "confirm_payment_intent",
            json!({"payment_intent": "pi_3PaymentsFixture", "payment_method": "pm_card_visa"}),
        ),
        (
            "cancel_payment_intent",
            json!({"payment_intent": "pi_3PaymentsFixture"}),
        ),
        (
            "cancel_subscription",
            json!({"subscription": "sub_1NnmX4GPxmnHQRkJrhGrFloA"}),
        ),
        (
            "finalize_invoice",
            json!({"invoice": "in_1NnmX4GPxmnHQRkJyyhHiHYa"}),
        ),
        (
            "create_payment_intent",
            json!({"amount": 500, "currency": "jpy", "confirm": true, "payment_method": "pm_card_visa", "customer": "cus_1"}),
        ),
    ] {
        let e = common::err(&call(&client, tool, args.clone()).await);
        assert_eq!(e["kind"], "declined_by_user", "{tool}: {e}");
    }
    assert_eq!(
        person.asked(),
        [
            "Charge $20.00 from jane@example.com now: confirm payment intent pi_3PaymentsFixture, created 14 Nov 2023.",
            "Cancel payment intent pi_3PaymentsFixture for $20.00 from jane@example.com, created 14 Nov 2023: it can no longer be paid.",
            "Cancel subscription sub_1NnmX4GPxmnHQRkJrhGrFloA of customer cus_Oaxlz8kB0PJWGa (active, $20.00 a month) now: the customer stops being billed and loses access.",
            "Finalize invoice in_1NnmX4GPxmnHQRkJyyhHiHYa for $25.00 to cus_Oaxlz8kB0PJWGa: it can no longer be edited, and with automatic collection Stripe then charges the customer.",
            "Charge ¥500 now to customer cus_1: a payment intent created and confirmed at once.",
        ]
    );
    assert!(writes(&stripe).await.is_empty());
    client.cancel().await.unwrap();
}
