//! The HTTP receiver: one route, the raw body (at most 1 MiB), verify, then one ledger
//! transaction on a blocking thread, then the answer. A 2xx means "committed".

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

use super::{
    ledger::{Ledger, parse_event},
    on_paid::{self, OnPaid},
    signature::{self, Secrets},
    unix_now,
};

/// Stripe's events are far smaller; anything bigger is not from Stripe.
pub const MAX_BODY: usize = 1024 * 1024;

/// What the handler needs.
#[derive(Debug)]
pub struct Receiver {
    /// The accepted signing secrets.
    pub secrets: Secrets,
    /// How far the signed timestamp may be from now.
    pub tolerance: Duration,
    /// Where events and orders are recorded.
    pub ledger: Ledger,
    /// `--on-paid`, when given.
    pub on_paid: Option<Arc<OnPaid>>,
}

/// The router: `POST {path}` only.
pub fn router(receiver: Arc<Receiver>, path: &str) -> Router {
    Router::new()
        .route(path, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
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

async fn receive(
    State(rx): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over {MAX_BODY} bytes"),
            );
        }
        Err(e) => return refuse(e.status(), "could not read the body".into()),
    };
    let header = match headers.get(signature::HEADER).map(|h| h.to_str()) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(_)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "malformed Stripe-Signature header: not ASCII".into(),
            );
        }
    };
    let now = unix_now();
    if let Err(e) = signature::verify(&body, header, &rx.secrets, rx.tolerance, now) {
        return refuse(StatusCode::BAD_REQUEST, e.to_string());
    }
    let event = match parse_event(&body) {
        Ok(e) => e,
        Err(reason) => return refuse(StatusCode::BAD_REQUEST, reason),
    };

    let ledger = rx.ledger.clone();
    let queue_hook = rx.on_paid.is_some();
    let id = event.id.clone();
    let kind = event.kind.clone();
    let recorded =
        tokio::task::spawn_blocking(move || ledger.record(&event, now, queue_hook)).await;
    let recorded = match recorded {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            // Not acknowledged: Stripe retries, and nothing was committed.
            tracing::error!(event_id = %id, error = %e, "webhook not recorded");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "not recorded; retry"}),
            );
        }
        Err(e) => {
            tracing::error!(event_id = %id, error = %e, "webhook recording task failed");
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "not recorded; retry"}),
            );
        }
    };
    tracing::info!(
        event_id = %id,
        r#type = %kind,
        session_id = recorded.session_id.as_deref(),
        duplicate = recorded.duplicate,
        outcome = %recorded.outcome,
        "webhook recorded"
    );
    if recorded.hook_queued
        && let (Some(hook), Some(session_id)) = (rx.on_paid.clone(), recorded.session_id.clone())
    {
        // After the commit, off the request: Stripe is answered at once.
        tokio::spawn(on_paid::run_queued(rx.ledger.clone(), hook, session_id));
    }
    answer(
        StatusCode::OK,
        json!({"received": true, "duplicate": recorded.duplicate}),
    )
}
