//! Issue 8's attacks on the Stripe client, reproduced against hostile stand-ins:
//! redirects that would carry the key elsewhere, bodies that never end, upstreams
//! that hang, and floods of concurrent calls.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use stripe_mcp::stripe::{
    ApiKey, Client, ClientConfig, Error, IdempotencyKey,
    client::{
        DEFAULT_DEADLINE, DEFAULT_MAX_CONCURRENCY, DEFAULT_STRIPE_VERSION, MAX_RESPONSE_BYTES,
    },
    planned::Approved,
    refunds::{CreateRefund, Refund},
    retry::Backoff,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{any, method, path},
};

struct Opts {
    max_retries: u32,
    timeout: Duration,
    deadline: Duration,
    max_concurrency: usize,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            max_retries: 2,
            timeout: Duration::from_secs(30),
            deadline: DEFAULT_DEADLINE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
        }
    }
}

fn client(base: &str, o: Opts) -> Client {
    Client::new(ClientConfig {
        api_key: ApiKey::parse(common::TEST_KEY).unwrap(),
        api_base: url::Url::parse(base).unwrap(),
        stripe_version: DEFAULT_STRIPE_VERSION.into(),
        stripe_account: None,
        max_retries: o.max_retries,
        timeout: o.timeout,
        deadline: o.deadline,
        max_concurrency: o.max_concurrency,
        backoff: Backoff {
            base: Duration::from_millis(50),
            ..Backoff::default()
        },
        // These tests are about retries and bounds, not the read budget.
        read_rate: Some(100_000.0),
    })
    .unwrap()
}

fn refund() -> CreateRefund {
    CreateRefund {
        payment_intent: Some("pi_123".into()),
        amount: Some(500),
        ..CreateRefund::default()
    }
}

/// A second origin that must never be contacted: any request to it fails the test.
async fn elsewhere() -> MockServer {
    let b = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/v1/again"))
        .expect(0)
        .named("the redirect target: nothing may reach it")
        .mount(&b)
        .await;
    b
}

#[tokio::test]
async fn a_redirect_is_never_followed_and_nothing_reaches_its_target() {
    let b = elsewhere().await;
    let a = MockServer::start().await;
    for (status, p) in [(307u16, "/v1/refunds"), (302, "/v1/balance")] {
        Mock::given(path(p))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/v1/steal?x=1", b.uri())),
            )
            .expect(1)
            .mount(&a)
            .await;
    }
    let c = client(&a.uri(), Opts::default());

    let err = send_refund(&c, &refund(), &IdempotencyKey::generate())
        .await
        .unwrap_err();
    let Error::Redirect {
        status, location, ..
    } = &err
    else {
        panic!("not a redirect error: {err:?}")
    };
    assert_eq!(*status, 307);
    // The origin only: the Location's path and query may carry data.
    assert_eq!(location.as_deref(), Some(b.uri().as_str()));

    let err = c
        .get::<serde_json::Value>("/v1/balance", &())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Redirect { status: 302, .. }),
        "{err:?}"
    );
    // Neither the key nor the refund's body went to the second origin, and no retry either.
    assert!(b.received_requests().await.unwrap().is_empty());
    a.verify().await;
}

/// Serves one endless (or huge) 200 body per connection to whoever asks.
async fn endless_body(total: Option<usize>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = match total {
                    Some(n) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n"
                    ),
                    None => "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".into(),
                };
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0;
                while total.is_none_or(|n| sent < n) {
                    if sock.write_all(&chunk).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    (base, task)
}

#[tokio::test]
async fn an_endless_or_oversized_answer_is_cut_off_at_the_cap_not_read_whole() {
    for total in [None, Some(100 * 1024 * 1024)] {
        let (base, task) = endless_body(total).await;
        let c = client(&base, Opts::default());
        let started = Instant::now();
        let err = c
            .get::<serde_json::Value>("/v1/customers", &())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { status: 200, limit, .. } if limit == MAX_RESPONSE_BYTES),
            "{total:?}: {err:?}"
        );
        // Refused as soon as the cap is passed (or at once from Content-Length), not at the timeout.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        task.abort();
    }
}

/// Accepts connections and never answers; counts them.
async fn hanging() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let n = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            held.push(sock);
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn a_hanging_upstream_is_given_up_on_at_the_call_deadline_retries_included() {
    let (base, accepted) = hanging().await;
    // Per attempt 30 s and two retries would be 90 s and more; the call's deadline is 2 s.
    let c = client(
        &base,
        Opts {
            deadline: Duration::from_secs(2),
            ..Opts::default()
        },
    );
    let started = Instant::now();
    let err = send_refund(&c, &refund(), &IdempotencyKey::generate())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, Error::Network { timeout: true, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("deadline"), "{err}");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_that_cannot_finish_before_the_deadline_is_not_started() {
    let stripe = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/balance"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "5"))
        .mount(&stripe)
        .await;
    let c = client(
        &stripe.uri(),
        Opts {
            deadline: Duration::from_secs(2),
            max_retries: 5,
            ..Opts::default()
        },
    );
    let started = Instant::now();
    let err = c
        .get::<serde_json::Value>("/v1/balance", &())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 503, .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stripe.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_calls_beyond_the_cap_wait_instead_of_opening_sockets() {
    // Each answer takes 100 ms; counts how many requests are open at once.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let open = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    {
        let (open, peak, connections) = (open.clone(), peak.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let (open, peak) = (open.clone(), peak.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        open.fetch_sub(1, Ordering::SeqCst);
                        let body = "{}";
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if sock.write_all(resp.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    }
    let c = client(
        &base,
        Opts {
            max_concurrency: 8,
            ..Opts::default()
        },
    );
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get::<serde_json::Value>("/v1/balance", &()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert!(
        peak.load(Ordering::SeqCst) <= 8,
        "peak {}",
        peak.load(Ordering::SeqCst)
    );
    assert!(
        connections.load(Ordering::SeqCst) <= 8,
        "{} sockets opened",
        connections.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn a_derived_key_is_the_same_for_the_same_write_and_differs_for_another() {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .mount(&stripe)
        .await;
    let c = client(&stripe.uri(), Opts::default());
    let first = IdempotencyKey::derived();
    let again = IdempotencyKey::derived();
    let other = IdempotencyKey::derived();
    send_refund(&c, &refund(), &first).await.unwrap();
    send_refund(&c, &refund(), &again).await.unwrap();
    let mut different = refund();
    different.amount = Some(501);
    send_refund(&c, &different, &other).await.unwrap();
    assert_eq!(first.as_str(), again.as_str());
    assert_ne!(first.as_str(), other.as_str());
    let sent: Vec<String> = stripe
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, [first.as_str(), first.as_str(), other.as_str()]);
}

#[tokio::test]
async fn after_a_definite_refusal_the_same_write_gets_a_fresh_derived_key() {
    let stripe = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(
            ResponseTemplate::new(402).set_body_json(common::fixture("error_card_declined.json")),
        )
        .up_to_n_times(1)
        .mount(&stripe)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/refunds"))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::fixture("refund.json")))
        .mount(&stripe)
        .await;
    let c = client(&stripe.uri(), Opts::default());
    let (a, b) = (IdempotencyKey::derived(), IdempotencyKey::derived());
    assert!(send_refund(&c, &refund(), &a).await.is_err());
    send_refund(&c, &refund(), &b).await.unwrap();
    assert_ne!(
        a.as_str(),
        b.as_str(),
        "a declined write must be retryable for real"
    );
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
