//! The HTTP receiver: one route, the raw body (at most 1 MiB, read against a deadline),
//! verify and parse on a blocking thread, then one store transaction, then the answer.
//! A 2xx means "committed".

use std::{pin::Pin, sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, Bytes, HttpBody},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{
    on_paid::{self, OnPaid},
    signature::{self, Secrets},
    unix_now,
};
use crate::store::{Event, Store, parse_event};

/// Stripe's events are far smaller; anything bigger is not from Stripe.
pub const MAX_BODY: usize = 1024 * 1024;

/// From the end of the request head, the whole body must arrive within this. Stripe's
/// events are a few KiB and arrive at once; a client that stalls loses its slot.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Bodies up to this size (Content-Length) are read without a reservation: a Checkout
/// Session event is a few KiB, so stalled large bodies never delay it. Together with the
/// connection cap this bounds small bodies to 2048 × 16 KiB = 32 MiB.
pub const SMALL_BODY: usize = 16 * 1024;

/// KiB of larger bodies (or bodies of unknown length, counted as [`MAX_BODY`]) that may be
/// held at once, from the first byte read until the event is recorded: 32 MiB, so stalled
/// or queued 1 MiB bodies cannot grow memory past it.
pub const LARGE_BODY_BUDGET_KIB: usize = 32 * 1024;

/// Bodies up to this size are verified on the async worker: one HMAC over 64 KiB is tens
/// of microseconds. Larger ones go to the blocking pool.
const INLINE_VERIFY: usize = 64 * 1024;

/// What the handler needs.
#[derive(Debug)]
pub struct Receiver {
    /// The accepted signing secrets.
    pub secrets: Secrets,
    /// How far the signed timestamp may be from now.
    pub tolerance: Duration,
    /// Where events and orders are recorded (SQLite or PostgreSQL).
    pub store: Store,
    /// `--on-paid`, when given.
    pub on_paid: Option<Arc<OnPaid>>,
    /// [`LARGE_BODY_BUDGET_KIB`] permits: what buffering a body over [`SMALL_BODY`] reserves.
    pub large_bodies: Semaphore,
    /// `--account`: the Stripe account this endpoint belongs to, recorded on orders of
    /// events that name none (the platform's own); a Connect event's `account` wins.
    pub account: Option<String>,
}

impl Receiver {
    /// A receiver with the body budget at its default.
    pub fn new(
        secrets: Secrets,
        tolerance: Duration,
        store: Store,
        on_paid: Option<Arc<OnPaid>>,
    ) -> Receiver {
        Receiver {
            secrets,
            tolerance,
            store,
            on_paid,
            large_bodies: Semaphore::new(LARGE_BODY_BUDGET_KIB),
            account: None,
        }
    }

    /// Records orders of events without an `account` as this account's.
    pub fn with_account(mut self, account: Option<String>) -> Receiver {
        self.account = account;
        self
    }
}

/// The router: `POST {path}` only.
pub fn router(receiver: Arc<Receiver>, path: &str) -> Router {
    Router::new()
        .route(path, post(receive))
        .with_state(receiver)
}

/// A small JSON answer (axum's `json` feature is not needed for this much).
fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn refuse(status: StatusCode, reason: String) -> Response {
    // The reason names no secret and no body content; the log line is the same.
    tracing::warn!(status = status.as_u16(), %reason, "webhook refused");
    answer(status, json!({"error": reason}))
}

/// A refusal sent before the body was read: the connection cannot be reused.
fn refuse_and_close(status: StatusCode, reason: String) -> Response {
    let mut response = refuse(status, reason);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// An id or type for the log only if it looks like one Stripe makes; never free text.
fn loggable(value: &str) -> &str {
    let plain = !value.is_empty()
        && value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    if plain { value } else { "(unusual)" }
}

/// Reads the body within [`BODY_READ_TIMEOUT`], at most [`MAX_BODY`] bytes, reserving room
/// in the large-body budget first when it may be big; the reservation is returned with the
/// bytes, for the caller to hold as long as it holds them.
async fn read_body<'a>(
    rx: &'a Receiver,
    mut body: Body,
    declared: Option<usize>,
) -> Result<(Bytes, Option<SemaphorePermit<'a>>), Response> {
    let expected = declared.unwrap_or(MAX_BODY);
    let read = async {
        let reservation = if expected > SMALL_BODY {
            let kib = u32::try_from(expected.div_ceil(1024)).unwrap_or(u32::MAX);
            Some(rx.large_bodies.acquire_many(kib).await.map_err(|_| None)?)
        } else {
            None
        };
        let mut buf = Vec::with_capacity(expected.min(SMALL_BODY));
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let frame = frame.map_err(|_| None)?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > MAX_BODY {
                    return Err(Some(()));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok((Bytes::from(buf), reservation))
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(read)) => Ok(read),
        Ok(Err(Some(()))) => Err(refuse_and_close(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body over {MAX_BODY} bytes"),
        )),
        Ok(Err(None)) => Err(refuse_and_close(
            StatusCode::BAD_REQUEST,
            "could not read the body".into(),
        )),
        Err(_) => Err(refuse_and_close(
            StatusCode::REQUEST_TIMEOUT,
            format!("body not received within {} s", BODY_READ_TIMEOUT.as_secs()),
        )),
    }
}

/// Reads and drops the rest of a refused request's body (within [`BODY_READ_TIMEOUT`], never
/// buffering it), so the client reads the refusal instead of a reset connection; if it does
/// not arrive in time, the connection is closed.
async fn discard_body(mut body: Body, refusal: Response) -> Response {
    let drain = async {
        let mut seen = 0;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame.map_err(|_| ())?.into_data() {
                seen += data.len();
                if seen > MAX_BODY {
                    return Err(());
                }
            }
        }
        Ok::<(), ()>(())
    };
    match tokio::time::timeout(BODY_READ_TIMEOUT, drain).await {
        Ok(Ok(())) => refusal,
        _ => {
            let mut refusal = refusal;
            refusal
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            refusal
        }
    }
}

/// Verifies and parses a delivery: pure CPU, bounded by [`MAX_BODY`] and the header limits.
fn check(
    body: &[u8],
    header: Option<&str>,
    secrets: &Secrets,
    tolerance: Duration,
    now: i64,
) -> Result<Event, String> {
    signature::verify(body, header, secrets, tolerance, now).map_err(|e| e.to_string())?;
    parse_event(body)
}

async fn receive(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Body) -> Response {
    // Everything that can be refused without the body is refused before reading it.
    let declared = match headers
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()))
    {
        None => None,
        Some(Some(n)) if n > MAX_BODY as u64 => {
            return refuse_and_close(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over {MAX_BODY} bytes"),
            );
        }
        Some(Some(n)) => Some(n as usize),
        Some(None) => {
            return refuse_and_close(StatusCode::BAD_REQUEST, "malformed Content-Length".into());
        }
    };
    let header = match headers.get(signature::HEADER).map(|h| h.to_str()) {
        None => None,
        Some(Ok(h)) => Some(h.to_owned()),
        Some(Err(_)) => {
            let refusal = refuse(
                StatusCode::BAD_REQUEST,
                "malformed Stripe-Signature header: not ASCII".into(),
            );
            return discard_body(body, refusal).await;
        }
    };
    // A missing, oversized or flooded header is refused without buffering or hashing anything.
    if let Err(e) = signature::parse_header(header.as_deref().unwrap_or_default()) {
        let e = if header.is_none() {
            signature::SignatureError::MissingHeader
        } else {
            e
        };
        return discard_body(body, refuse(StatusCode::BAD_REQUEST, e.to_string())).await;
    }
    // The reservation is held until the answer: a queue of large bodies waiting for the
    // blocking pool or the ledger counts against the budget too.
    let (body, _reservation) = match read_body(&rx, body, declared).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let now = unix_now();
    let checked = if body.len() <= INLINE_VERIFY {
        check(&body, header.as_deref(), &rx.secrets, rx.tolerance, now)
    } else {
        // One HMAC over up to 1 MiB per secret, and a parse of it: milliseconds of CPU
        // that would otherwise stall every connection sharing this worker.
        let rx = rx.clone();
        let verified = tokio::task::spawn_blocking(move || {
            check(&body, header.as_deref(), &rx.secrets, rx.tolerance, now)
        })
        .await;
        match verified {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook verification task failed");
                return answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "not recorded; retry"}),
                );
            }
        }
    };
    let mut event = match checked {
        Ok(e) => e,
        Err(reason) => return refuse(StatusCode::BAD_REQUEST, reason),
    };
    // Whose order it is: the connected account the event names, else this endpoint's own.
    if event.account.is_none() {
        event.account = rx.account.clone();
    }

    let queue_hook = rx.on_paid.is_some();
    let id = event.id.clone();
    let kind = event.kind.clone();
    // One transaction; a lost connection, a timeout or a failed commit is an error here,
    // and then nothing was committed: 500, and Stripe retries.
    let recorded = match rx.store.record(event, now, queue_hook).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(event_id = loggable(&id), error = %e, "webhook not recorded");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "not recorded; retry"}),
            );
        }
    };
    if let Some(why) = recorded.ignored.filter(|w| w.unexpected()) {
        // Acknowledged (so Stripe stops), recorded (so once), fulfilled never.
        tracing::warn!(
            event_id = loggable(&id),
            r#type = loggable(&kind),
            reason = why.reason(),
            "webhook ignored: not fulfilled"
        );
    }
    tracing::info!(
        event_id = loggable(&id),
        r#type = loggable(&kind),
        session_id = recorded.session_id.as_deref().map(loggable),
        duplicate = recorded.duplicate,
        outcome = %recorded.outcome,
        "webhook recorded"
    );
    if recorded.hook_queued
        && let (Some(hook), Some(session_id)) = (rx.on_paid.clone(), recorded.session_id.clone())
    {
        // After the commit, off the request: Stripe is answered at once.
        tokio::spawn(on_paid::run_queued(rx.store.clone(), hook, session_id));
    }
    answer(
        StatusCode::OK,
        json!({"received": true, "duplicate": recorded.duplicate}),
    )
}
