//! Stripe's error object, parsed in full, and the client's error enum.

use serde::Deserialize;

/// Stripe's `error.type`. Stripe may add types, so unknown ones are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorType {
    /// Something went wrong on Stripe's end.
    ApiError,
    /// The card could not be charged (declines, wrong CVC, expired card, ...).
    CardError,
    /// An `Idempotency-Key` was reused with different parameters.
    IdempotencyError,
    /// The request had invalid parameters, or the object does not exist.
    InvalidRequestError,
    /// A type this version of the server does not know yet.
    Unknown(String),
}

impl ErrorType {
    /// The wire name, as Stripe spells it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorType::ApiError => "api_error",
            ErrorType::CardError => "card_error",
            ErrorType::IdempotencyError => "idempotency_error",
            ErrorType::InvalidRequestError => "invalid_request_error",
            ErrorType::Unknown(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for ErrorType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "api_error" => ErrorType::ApiError,
            "card_error" => ErrorType::CardError,
            "idempotency_error" => ErrorType::IdempotencyError,
            "invalid_request_error" => ErrorType::InvalidRequestError,
            _ => ErrorType::Unknown(s),
        })
    }
}

/// The `error` object of a Stripe error response body.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiError {
    /// Broad category; decides most of the mapping to a tool error.
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Human-readable message from Stripe; safe to show (Stripe masks keys in it).
    #[serde(default)]
    pub message: Option<String>,
    /// Machine code such as `resource_missing` or `amount_too_small`.
    #[serde(default)]
    pub code: Option<String>,
    /// For card errors, the issuer's reason (`insufficient_funds`, ...).
    #[serde(default)]
    pub decline_code: Option<String>,
    /// The request parameter at fault, when there is one.
    #[serde(default)]
    pub param: Option<String>,
    /// Link to Stripe's page about this error code.
    #[serde(default)]
    pub doc_url: Option<String>,
}

/// The whole error body: `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ApiError,
}

/// Everything that can go wrong when the client talks to Stripe.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Stripe answered with a non-2xx status.
    #[error("Stripe answered HTTP {status}: {}", .error.as_ref().and_then(|e| e.message.as_deref()).unwrap_or("(no parseable error body)"))]
    Api {
        /// The HTTP status, kept even when the body does not parse.
        status: u16,
        /// Stripe's `Request-Id` header, for support tickets and the Dashboard's logs.
        request_id: Option<String>,
        /// The parsed error object, when the body was Stripe's error shape.
        error: Option<Box<ApiError>>,
        /// Stripe's `Stripe-Should-Retry` header, when present.
        should_retry: Option<bool>,
    },
    /// The request never got a complete answer (connect failure, reset, timeout).
    #[error("could not reach Stripe: {message}")]
    Network {
        /// What failed, without the URL's query or any header.
        message: String,
        /// True when the per-request timeout ran out.
        timeout: bool,
    },
    /// Stripe answered 2xx but the body was not what we expected.
    #[error("unexpected response from Stripe (HTTP {status}): {message}")]
    Decode {
        /// The HTTP status of the response.
        status: u16,
        /// Stripe's `Request-Id` header.
        request_id: Option<String>,
        /// The decoder's complaint.
        message: String,
    },
    /// Our own request could not be encoded (a bug, or an unencodable argument).
    #[error("could not encode the request: {0}")]
    Encode(String),
    /// The API base answered with a redirect. Stripe's API never redirects, so it was
    /// not followed: nothing was sent to the `Location`.
    #[error("the API base answered HTTP {status} redirecting to {}; not followed", .location.as_deref().unwrap_or("nowhere"))]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The origin (scheme, host, port) the redirect pointed to; never its path or query.
        location: Option<String>,
        /// The `Request-Id` header, if any.
        request_id: Option<String>,
    },
    /// The answer was larger than the client reads ([`crate::stripe::client::MAX_RESPONSE_BYTES`]).
    #[error("the answer (HTTP {status}) is larger than {limit} bytes; not read")]
    TooLarge {
        /// The HTTP status of the response.
        status: u16,
        /// The `Request-Id` header, if any.
        request_id: Option<String>,
        /// The limit that was exceeded.
        limit: usize,
    },
}

/// At most `max` bytes of `text`, cut at a character boundary, saying how much was left out.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [{} more bytes not shown]",
        &text[..end],
        text.len() - end
    )
}

impl Error {
    /// The `Request-Id` of the response that produced this error, if any.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. }
            | Error::Decode { request_id, .. }
            | Error::Redirect { request_id, .. }
            | Error::TooLarge { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of the response that produced this error, if any.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. }
            | Error::Decode { status, .. }
            | Error::Redirect { status, .. }
            | Error::TooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_error_body_parses_every_field() {
        let body = r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds.","param":"","doc_url":"https://stripe.com/docs/error-codes/card-declined","charge":"ch_1"}}"#;
        let e: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(e.error.kind, ErrorType::CardError);
        assert_eq!(e.error.code.as_deref(), Some("card_declined"));
        assert_eq!(e.error.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(e.error.param.as_deref(), Some(""));
    }

    #[test]
    fn an_unknown_error_type_is_kept_not_rejected() {
        let e: ErrorBody =
            serde_json::from_str(r#"{"error":{"type":"brand_new_error","message":"x"}}"#).unwrap();
        assert_eq!(e.error.kind, ErrorType::Unknown("brand_new_error".into()));
        assert_eq!(e.error.kind.as_str(), "brand_new_error");
    }
}
