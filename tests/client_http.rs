//! The Stripe client at the HTTP level, against a mock that fails loudly on
//! anything unexpected: headers, exact bodies, retries, idempotency, failures.

mod common;

use std::time::Duration;

use serde_json::json;
use stripe_mcp::stripe::{
    ApiKey, Client, ClientConfig, Error, IdempotencyKey,
    client::DEFAULT_STRIPE_VERSION,
    planned::Approved,
    refunds::{CreateRefund, Refund, RefundReason},
    retry::Backoff,
};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_string, header, header_exists, method, path},
};

fn client(base: &str, account: Option<&str>) -> Client {
    client_with(base, account, 2, Duration::from_secs(5))
}

fn client_with(base: &str, account: Option<&str>, max_retries: u32, timeout: Duration) -> Client {
    Client::new(ClientConfig {
        api_key: ApiKey::parse(common::TEST_KEY).unwrap(),
        api_base: url::Url::parse(base).unwrap(),
        stripe_version: DEFAULT_STRIPE_VERSION.into(),
        stripe_account: account.map(Into::into),
        max_retries,
        timeout,
        deadline: stripe_mcp::stripe::client::DEFAULT_DEADLINE,
        max_concurrency: stripe_mcp::stripe::client::DEFAULT_MAX_CONCURRENCY,
        backoff: Backoff {
            base: Duration::from_millis(5),
            ..Backoff::default()
        },
        // These tests are about retries and bounds, not the read budget.
        read_rate: Some(100_000.0),
    })
    .unwrap()
}

fn refund_params() -> CreateRefund {
    CreateRefund {
        payment_intent: Some("pi_123".into()),
        amount: Some(500),
        reason: Some(RefundReason::RequestedByCustomer),
        ..CreateRefund::default()
    }
}

#[tokio::test]
async fn a_get_carries_auth_version_user_agent_and_account_but_no_idempotency_key() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .and(header(
            "authorization",
            format!("Bearer {}", common::TEST_KEY).as_str(),
        ))
        .and(header("stripe-version", DEFAULT_STRIPE_VERSION))
        .and(header("stripe-account", "acct_123"))
        .and(header(
            "user-agent",
            concat!("stripe-mcp/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("balance.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let balance = client(&stripe.uri(), Some("acct_123"))
        .retrieve_balance()
        .await
        .unwrap();
    assert!(!balance.available.is_empty());
    let reqs = stripe.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("idempotency-key").is_none());
}

#[tokio::test]
async fn a_refund_posts_the_exact_form_body_with_an_idempotency_key() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("idempotency-key", "order-42-refund"))
        .and(body_string(
            "payment_intent=pi_123&amount=500&reason=requested_by_customer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .expect(1)
        .mount(&stripe)
        .await;
    let key = IdempotencyKey::from_user("order-42-refund").unwrap();
    let refund = send_refund(&client(&stripe.uri(), None), &refund_params(), &key)
        .await
        .unwrap();
    assert!(refund.id.starts_with("re_"));
}

#[tokio::test]
async fn a_500_then_200_refund_sends_the_same_idempotency_key_twice_and_returns_one_refund() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"type": "api_error", "message": "boom"}})),
        )
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .expect(1)
        .with_priority(2)
        .mount(&stripe)
        .await;
    let key = IdempotencyKey::generate();
    let refund = send_refund(&client(&stripe.uri(), None), &refund_params(), &key)
        .await
        .unwrap();
    assert!(refund.id.starts_with("re_"));
    let keys: Vec<_> = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys, vec![key.as_str().to_owned(), key.as_str().to_owned()]);
}

#[tokio::test]
async fn a_429_with_stripe_should_retry_false_is_not_retried() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("stripe-should-retry", "false")
                .insert_header("request-id", "req_rate")
                .set_body_json(common::fixture("error_rate_limit.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let err = send_refund(
        &client(&stripe.uri(), None),
        &refund_params(),
        &IdempotencyKey::generate(),
    )
    .await
    .unwrap_err();
    match err {
        Error::Api {
            status,
            request_id,
            should_retry,
            ..
        } => {
            assert_eq!(
                (status, request_id.as_deref(), should_retry),
                (429, Some("req_rate"), Some(false))
            );
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_plain_429_is_retried_up_to_the_budget() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(429).set_body_json(common::fixture("error_rate_limit.json")),
        )
        .expect(3)
        .mount(&stripe)
        .await;
    let err = client(&stripe.uri(), None)
        .retrieve_balance()
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(429));
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for status in [400u16, 401, 402, 403, 404] {
        let stripe = common::mock_stripe().await;
        Mock::given(method("POST"))
            .and(path("/v1/refunds"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(common::fixture("error_resource_missing.json")),
            )
            .expect(1)
            .mount(&stripe)
            .await;
        let err = send_refund(
            &client(&stripe.uri(), None),
            &refund_params(),
            &IdempotencyKey::generate(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.http_status(), Some(status));
    }
}

#[tokio::test]
async fn an_error_body_that_does_not_parse_keeps_its_status_and_request_id() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("request-id", "req_gateway")
                .set_body_string("<html>Bad Gateway</html>"),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let err = client_with(&stripe.uri(), None, 0, Duration::from_secs(5))
        .retrieve_balance()
        .await
        .unwrap_err();
    match err {
        Error::Api {
            status,
            request_id,
            error,
            ..
        } => {
            assert_eq!(status, 502);
            assert_eq!(request_id.as_deref(), Some("req_gateway"));
            assert!(error.is_none());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_success_body_that_does_not_parse_is_a_decode_error_with_the_request_id() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("request-id", "req_odd")
                .set_body_string("not json"),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let err = client(&stripe.uri(), None)
        .retrieve_balance()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
    assert_eq!(err.request_id(), Some("req_odd"));
}

#[tokio::test]
async fn a_dropped_connection_is_a_network_error_after_the_retries() {
    // A server that accepts and closes every connection without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut sock, &mut buf).await;
            drop(sock);
        }
    });
    let err = send_refund(
        &client(&format!("http://{addr}"), None),
        &refund_params(),
        &IdempotencyKey::generate(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Network { timeout: false, .. }),
        "{err:?}"
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_network_error() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(common::fixture("balance.json")),
        )
        .mount(&stripe)
        .await;
    let err = client_with(&stripe.uri(), None, 0, Duration::from_millis(300))
        .retrieve_balance()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Network { timeout: true, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_list_query_is_form_encoded_in_the_url() {
    let stripe = common::mock_stripe().await;
    Mock::given(method("GET"))
        .and(path("/v1/customers"))
        .and(header_exists("authorization"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(common::fixture("customer_list.json")),
        )
        .expect(1)
        .mount(&stripe)
        .await;
    let q = stripe_mcp::stripe::customers::ListCustomers {
        email: Some("a+b@example.com".into()),
        limit: Some(3),
        starting_after: Some("cus_9".into()),
    };
    let list = client(&stripe.uri(), None)
        .list_customers(&q)
        .await
        .unwrap();
    assert_eq!(list.data.len(), 2);
    let reqs = stripe.received_requests().await.unwrap();
    assert_eq!(
        reqs[0].url.query(),
        Some("email=a%2Bb%40example.com&limit=3&starting_after=cus_9")
    );
}

/// A stand-in that drops the first connection after reading the request (the
/// answer is lost) and answers every later one with `then` (a raw HTTP response).
async fn drop_first_then(then: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for n in 0.. {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 8192];
            let _ = sock.read(&mut buf).await;
            if n > 0 {
                let _ = sock.write_all(then.as_bytes()).await;
            }
        }
    });
    format!("http://{addr}")
}

const TOO_MANY_DO_NOT_RETRY: &str = "HTTP/1.1 429 Too Many Requests\r\nstripe-should-retry: false\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[tokio::test]
async fn a_write_whose_answer_was_lost_stays_retryable_even_if_the_retry_is_told_not_to_retry() {
    // First attempt: the write may have been applied, its answer is lost. Second:
    // 429 with Stripe-Should-Retry: false, which alone would mean "do not retry".
    let base = drop_first_then(TOO_MANY_DO_NOT_RETRY).await;
    let err = send_refund(
        &client(&base, None),
        &refund_params(),
        &IdempotencyKey::generate(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Network { .. }),
        "the lost answer is reported: {err:?}"
    );

    // A read has nothing to lose: the 429 is reported as it is.
    let base = drop_first_then(TOO_MANY_DO_NOT_RETRY).await;
    let err = client(&base, None).retrieve_balance().await.unwrap_err();
    assert_eq!(err.http_status(), Some(429), "{err:?}");
}

#[tokio::test]
async fn a_lost_write_is_remembered_across_calls_with_the_same_key() {
    // No retries inside a call: the agent's own retry (same key) is the second attempt.
    let base = drop_first_then(TOO_MANY_DO_NOT_RETRY).await;
    let client = client_with(&base, None, 0, Duration::from_secs(5));
    let key = IdempotencyKey::generate();
    let first = send_refund(&client, &refund_params(), &key)
        .await
        .unwrap_err();
    assert!(matches!(first, Error::Network { .. }), "{first:?}");
    let second = send_refund(&client, &refund_params(), &key)
        .await
        .unwrap_err();
    assert!(
        matches!(second, Error::Network { .. }),
        "still possibly applied: {second:?}"
    );
    // A different key has no such history: the 429 is reported as it is.
    let other = send_refund(&client, &refund_params(), &IdempotencyKey::generate())
        .await
        .unwrap_err();
    assert_eq!(other.http_status(), Some(429), "{other:?}");
}

/// Sends a refund the way the server's tools do after the guard approved it.
async fn send_refund(
    c: &Client,
    params: &CreateRefund,
    key: &IdempotencyKey,
) -> Result<Refund, Error> {
    let plan = c.create_refund(params, key).expect("plan");
    c.send(&Approved::unguarded_for_tests(plan.planned)).await
}
