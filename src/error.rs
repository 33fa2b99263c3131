//! The structured tool error every failure becomes: one JSON object a model can act on.

use rmcp::model::{ContentBlock, IntoContents};
use serde::Serialize;

use crate::stripe::{self, IdempotencyKey, Mode, error::ErrorType};

/// The small fixed vocabulary of failure kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The arguments were refused before anything was sent, or Stripe refused them.
    InvalidArgument,
    /// The key is wrong, revoked, or of the wrong type.
    Authentication,
    /// The key is valid but may not do this (restricted key, Connect).
    Permission,
    /// The card or bank refused the payment.
    CardDeclined,
    /// No such object in this mode/account.
    NotFound,
    /// Too many requests.
    RateLimited,
    /// The idempotency key was used before with different parameters.
    IdempotencyConflict,
    /// Stripe itself failed (5xx) or reported a conflicting concurrent request.
    StripeUnavailable,
    /// No complete answer arrived: connection failure, reset, or timeout.
    Network,
    /// Stripe answered something this server could not read.
    UnexpectedResponse,
    /// The person asked to confirm the write said no (or closed the form); nothing was sent.
    DeclinedByUser,
    /// Nobody answered the confirmation in time; nothing was sent.
    ConfirmationTimeout,
    /// The write needs a person's confirmation and this client cannot ask one; nothing was sent.
    ConfirmationUnavailable,
    /// A spending limit (per call or rolling 24 hours) refuses this amount; nothing was sent.
    LimitExceeded,
}

/// Stripe's own error fields, kept verbatim.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StripeDetails {
    /// `type`: card_error, invalid_request_error, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `code`: resource_missing, amount_too_small, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `decline_code`: insufficient_funds, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// `param`: the argument at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// `doc_url`: Stripe's page about the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_url: Option<String>,
}

/// A failed tool call, rendered as `{"error": {...}}` in an `isError` result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ToolError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, in words (Stripe's message when Stripe refused).
    pub message: String,
    /// Whether the same call may succeed if tried again later.
    pub retryable: bool,
    /// The HTTP status Stripe answered, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Stripe's `Request-Id`, for the Dashboard's request log and support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The key the write was sent with; retry with the same key to stay exactly-once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Stripe's own error fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe: Option<Box<StripeDetails>>,
    /// The fix, where it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// For `limit_exceeded`: which limit, its maximum, what is used, when room frees up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Box<serde_json::Value>>,
}

/// Most bytes of a message or hint an error carries; the rest is cut, saying how much.
pub const MAX_MESSAGE: usize = 1024;

/// What the mapping needs to know besides the error itself.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext<'a> {
    /// The key's mode, for test/live mismatch hints.
    pub mode: Mode,
    /// Restricted keys get a permission hint on 403.
    pub restricted_key: bool,
    /// The write's key, echoed back. Present exactly when the call writes: a read's
    /// hint never says it "may have been applied".
    pub idempotency_key: Option<&'a IdempotencyKey>,
    /// The call that failed, when known: its hint can then name what the agent gave
    /// (an id or none, which arguments) and which tool to use instead.
    pub call: Option<&'a CallSituation>,
}

/// What a hint needs to know about the call that failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallSituation {
    /// The tool's name.
    pub tool: String,
    /// The names of the arguments the agent passed.
    pub args: Vec<String>,
    /// The Stripe ids (cus_..., pi_...) among the argument values.
    pub ids: Vec<String>,
}

impl CallSituation {
    /// The situation of a call to `tool` with `args`.
    pub fn of(tool: &str, args: &serde_json::Map<String, serde_json::Value>) -> Self {
        CallSituation {
            tool: tool.to_owned(),
            args: args.keys().cloned().collect(),
            ids: args
                .values()
                .filter_map(serde_json::Value::as_str)
                .filter(|v| looks_like_id(v))
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// True for `prefix_rest` with a lowercase prefix and an alphanumeric rest: a Stripe id.
fn looks_like_id(v: &str) -> bool {
    let Some((prefix, rest)) = v.split_once('_') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.len() <= 8
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() >= 2
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The list tool that finds objects of an id's prefix.
pub const FIND_BY_PREFIX: &[(&str, &str)] = &[
    ("cus_", "list_customers"),
    ("pi_", "list_payment_intents"),
    ("ch_", "list_charges"),
    ("py_", "list_charges"),
    ("re_", "list_refunds"),
    ("cs_", "list_checkout_sessions"),
    ("in_", "list_invoices"),
    ("sub_", "list_subscriptions"),
    ("prod_", "list_products"),
    ("price_", "list_prices"),
    ("po_", "list_payouts"),
    ("dp_", "list_disputes"),
    ("du_", "list_disputes"),
    ("txn_", "list_balance_transactions"),
];

/// Parameters this server adds to a tool's request on its own: `(tool, Stripe parameter,
/// the argument that, when the agent passes it, means the server did not add it ("" for
/// none), what to do instead)`. When Stripe refuses one of these, the hint says the
/// server sent it and how to avoid it.
pub const ADDED_PARAMS: &[(&str, &str, &str, &str)] = &[
    (
        "create_payment_intent",
        "automatic_payment_methods",
        "payment_method_types",
        "pass payment_method_types (e.g. [\"card\"]) and it is sent instead",
    ),
    (
        "summarize_balance_transactions",
        "created",
        "",
        "use list_balance_transactions, which sends no date filter, and add up its pages",
    ),
    (
        "summarize_subscriptions",
        "expand",
        "",
        "use list_subscriptions, which expands nothing",
    ),
    (
        "list_overdue_invoices",
        "due_date",
        "",
        "use list_invoices (status open) and compare due dates yourself",
    ),
    (
        "initiate_checkout",
        "success_url",
        "success_url",
        "pass success_url (an absolute https:// URL)",
    ),
    (
        "initiate_checkout",
        "cancel_url",
        "cancel_url",
        "pass cancel_url (an absolute https:// URL)",
    ),
    ("initiate_checkout", "mode", "mode", "pass mode"),
];

/// The hint for a refusal of a parameter the server added to this call, if it was one.
fn added_param_hint(call: &CallSituation, param: &str, message: &str) -> Option<String> {
    let words: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    ADDED_PARAMS
        .iter()
        .filter(|(tool, ..)| *tool == call.tool)
        .filter(|(_, _, unless, _)| unless.is_empty() || !call.args.iter().any(|a| a == unless))
        .find(|(_, added, ..)| {
            param == *added
                || param.starts_with(&format!("{added}["))
                || words.contains(added)
        })
        .map(|(_, added, _, instead)| {
            format!(
                "Stripe refused {added}, which this server added to the request (you did not pass it): {instead}."
            )
        })
}

impl ToolError {
    /// Bad input, refused before anything was sent.
    pub fn invalid(message: impl Into<String>) -> Self {
        ToolError {
            kind: ErrorKind::InvalidArgument,
            message: message.into(),
            retryable: false,
            http_status: None,
            request_id: None,
            idempotency_key: None,
            stripe: None,
            hint: None,
            limit: None,
        }
    }

    /// Stripe answered something this server could not read.
    pub fn unexpected(message: impl Into<String>) -> Self {
        ToolError {
            kind: ErrorKind::UnexpectedResponse,
            ..ToolError::invalid(message)
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Maps a client error to a tool error, and logs it once (without the key
    /// or customer data: Stripe's message can name an email, so it is not logged).
    pub fn from_stripe(err: stripe::Error, cx: ErrorContext<'_>) -> Self {
        let tool_error = map(err, cx);
        tracing::warn!(
            kind = ?tool_error.kind,
            http_status = tool_error.http_status,
            request_id = tool_error.request_id.as_deref(),
            code = tool_error.stripe.as_ref().and_then(|s| s.code.as_deref()),
            retryable = tool_error.retryable,
            "Stripe call failed"
        );
        tool_error
    }

    /// The JSON text placed in the result's content.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: &'a ToolError,
        }
        // An error quotes what it refuses; a 15 MB argument must not come back as a 15 MB error.
        let capped;
        let error = if self.message.len() > MAX_MESSAGE
            || self.hint.as_ref().is_some_and(|h| h.len() > MAX_MESSAGE)
        {
            capped = ToolError {
                message: stripe::error::cap(&self.message, MAX_MESSAGE),
                hint: self
                    .hint
                    .as_deref()
                    .map(|h| stripe::error::cap(h, MAX_MESSAGE)),
                ..self.clone()
            };
            &capped
        } else {
            self
        };
        serde_json::to_string(&Envelope { error })
            .unwrap_or_else(|_| r#"{"error":{"kind":"unexpected_response","message":"could not render the error","retryable":false}}"#.into())
    }
}

impl IntoContents for ToolError {
    fn into_contents(self) -> Vec<ContentBlock> {
        vec![ContentBlock::text(self.to_json())]
    }
}

fn map(err: stripe::Error, cx: ErrorContext<'_>) -> ToolError {
    use stripe::retry::{Outcome, is_retryable};
    let idempotency_key = cx.idempotency_key.map(|k| k.as_str().to_owned());
    match err {
        stripe::Error::Api {
            status,
            request_id,
            error,
            should_retry,
        } => {
            let retryable = is_retryable(Outcome::Status {
                status,
                should_retry,
            });
            let kind = classify(status, error.as_deref());
            let message = error
                .as_ref()
                .and_then(|e| e.message.clone())
                .unwrap_or_else(|| format!("Stripe answered HTTP {status} without an error body"));
            let hint = hint(kind, status, error.as_deref(), &message, cx);
            let stripe = error.map(|e| {
                Box::new(StripeDetails {
                    kind: Some(e.kind.as_str().to_owned()),
                    code: e.code,
                    decline_code: e.decline_code,
                    param: e.param.filter(|p| !p.is_empty()),
                    doc_url: e.doc_url,
                })
            });
            ToolError {
                kind,
                message,
                retryable,
                http_status: Some(status),
                request_id,
                idempotency_key,
                stripe,
                hint,
                limit: None,
            }
        }
        stripe::Error::Network { message, timeout } => ToolError {
            kind: ErrorKind::Network,
            message: format!("no complete answer from Stripe: {message}"),
            retryable: true,
            http_status: None,
            request_id: None,
            hint: Some(if idempotency_key.is_some() {
                "The write may or may not have been applied. Call the tool again with the same idempotency_key: Stripe will apply it at most once and return the original result.".to_owned()
            } else if timeout {
                "Stripe did not answer in time; try again, or start the server with a longer --timeout or --deadline.".to_owned()
            } else {
                "Check the network connection to Stripe (and --api-base if you set one), then try again.".to_owned()
            }),
            idempotency_key,
            stripe: None,
            limit: None,
        },
        stripe::Error::Decode {
            status,
            request_id,
            message,
        } => ToolError {
            kind: ErrorKind::UnexpectedResponse,
            message: format!("Stripe's answer could not be read: {message}"),
            retryable: false,
            http_status: Some(status),
            request_id,
            idempotency_key,
            stripe: None,
            limit: None,
            hint: Some(if cx.idempotency_key.is_some() {
                "The write reached Stripe and may have been applied: call the tool again with the same idempotency_key, and Stripe returns the original result instead of writing twice.".to_owned()
            } else {
                "A read changes nothing in Stripe: try again; if it persists, check --api-base (STRIPE_API_BASE) points at Stripe's API.".to_owned()
            }),
        },
        stripe::Error::Encode(message) => ToolError {
            idempotency_key,
            ..ToolError::invalid(format!("the request could not be encoded: {message}"))
        },
        stripe::Error::Redirect {
            status,
            location,
            request_id,
        } => ToolError {
            kind: ErrorKind::UnexpectedResponse,
            message: format!(
                "the API base answered HTTP {status}, a redirect to {}; it was not followed and nothing was sent there",
                location.as_deref().unwrap_or("no location")
            ),
            retryable: false,
            http_status: Some(status),
            request_id,
            idempotency_key,
            stripe: None,
            limit: None,
            hint: Some("Stripe's API never redirects: --api-base (STRIPE_API_BASE) points at something that is not Stripe's API. Start the server with the default https://api.stripe.com or a proxy that forwards without redirecting.".to_owned()),
        },
        stripe::Error::TooLarge {
            status,
            request_id,
            limit,
        } => ToolError {
            kind: ErrorKind::UnexpectedResponse,
            message: format!("the answer (HTTP {status}) is larger than {limit} bytes and was not read"),
            retryable: false,
            http_status: Some(status),
            request_id,
            hint: Some(if idempotency_key.is_some() {
                "No real Stripe answer is this large. The write may have been applied: check --api-base, then call again with the same idempotency_key, which Stripe applies at most once.".to_owned()
            } else {
                "No real Stripe answer is this large: check --api-base, or ask for fewer items with a smaller limit.".to_owned()
            }),
            idempotency_key,
            stripe: None,
            limit: None,
        },
    }
}

/// The kind of a Stripe error response, from its status and body.
pub fn classify(status: u16, error: Option<&stripe::error::ApiError>) -> ErrorKind {
    let ty = error.map(|e| &e.kind);
    let code = error.and_then(|e| e.code.as_deref());
    if matches!(ty, Some(ErrorType::IdempotencyError)) {
        return ErrorKind::IdempotencyConflict;
    }
    if matches!(ty, Some(ErrorType::CardError)) {
        return ErrorKind::CardDeclined;
    }
    if code == Some("resource_missing") {
        return ErrorKind::NotFound;
    }
    if code == Some("rate_limit") {
        return ErrorKind::RateLimited;
    }
    match status {
        400 => ErrorKind::InvalidArgument,
        401 => ErrorKind::Authentication,
        402 => ErrorKind::CardDeclined,
        403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        409 => ErrorKind::StripeUnavailable,
        s if s >= 500 => ErrorKind::StripeUnavailable,
        _ if matches!(ty, Some(ErrorType::ApiError)) => ErrorKind::StripeUnavailable,
        _ => ErrorKind::InvalidArgument,
    }
}

fn hint(
    kind: ErrorKind,
    status: u16,
    error: Option<&stripe::error::ApiError>,
    message: &str,
    cx: ErrorContext<'_>,
) -> Option<String> {
    let mode = cx.mode;
    let other = match mode {
        Mode::Test => Mode::Live,
        Mode::Live => Mode::Test,
    };
    let code = error.and_then(|e| e.code.as_deref()).unwrap_or("");
    let param = error.and_then(|e| e.param.as_deref()).unwrap_or("");
    let write = cx.idempotency_key.is_some();
    if kind == ErrorKind::InvalidArgument
        && let Some(hint) = cx.call.and_then(|c| added_param_hint(c, param, message))
    {
        return Some(hint);
    }
    Some(match kind {
        ErrorKind::Authentication => {
            "Stripe refused the API key. Use a secret key (sk_test_... or sk_live_...) or a restricted key (rk_...) from Dashboard → Developers → API keys, copied whole without spaces; a publishable key (pk_...) cannot be used, and a rolled or deleted key stops working. Restart the server with the new key.".to_owned()
        }
        ErrorKind::Permission if cx.restricted_key => {
            "This restricted key (rk_...) lacks the permission for this call. Grant it in Dashboard → Developers → API keys (edit the restricted key), or use a secret key.".to_owned()
        }
        ErrorKind::Permission => {
            "The key may not do this on this account (for example acting on a connected account without Connect access). Check --stripe-account and the key's account.".to_owned()
        }
        ErrorKind::NotFound => {
            // Stripe's answer to a path it has no endpoint for (no code, no id involved).
            if message.starts_with("Unrecognized request URL") {
                "Stripe has no endpoint at this path: check the path and method against the API reference (https://docs.stripe.com/api), e.g. /v1/customers or /v1/customers/cus_123; resource names are plural snake_case.".to_owned()
            } else if message.contains("exists in") && message.contains("mode") {
                format!(
                    "Test/live mismatch: this server's key is a {mode}-mode key and the id belongs to {other} mode. Ids from test mode do not exist in live mode and vice versa: use the {other}-mode key, or an id created in {mode} mode."
                )
            } else if let Some(call) = cx.call.filter(|c| c.ids.is_empty()) {
                not_found_without_id(&call.tool)
            } else {
                let id = cx
                    .call
                    .and_then(|c| c.ids.iter().find(|id| message.contains(id.as_str())).or(c.ids.first()))
                    .map(String::as_str)
                    .unwrap_or("");
                let find = FIND_BY_PREFIX
                    .iter()
                    .find(|(p, _)| id.starts_with(p))
                    .map(|(_, tool)| format!(" {tool} finds the right one."))
                    .unwrap_or_default();
                format!(
                    "No such object in {mode} mode on this account. Check the id and its prefix (cus_ customer, pi_ payment intent, ch_ charge, re_ refund, cs_ checkout session); ids from test mode do not exist in live mode and vice versa.{find}"
                )
            }
        }
        ErrorKind::CardDeclined => decline_hint(error.and_then(|e| e.decline_code.as_deref()).unwrap_or(code)),
        ErrorKind::RateLimited => {
            "Too many requests to Stripe. Wait a few seconds and try again, and fetch fewer pages at once.".to_owned()
        }
        ErrorKind::IdempotencyConflict if !write => {
            "Stripe reported a conflict of idempotency keys, though a read sends none: try again once; if it repeats, check --api-base.".to_owned()
        }
        ErrorKind::IdempotencyConflict => {
            "This idempotency_key was already used with different parameters. If this is a new operation, call again with a new idempotency_key (or none to get a fresh one); to repeat the earlier call, send exactly its parameters.".to_owned()
        }
        ErrorKind::StripeUnavailable if status == 409 && write => {
            "Another request was changing the same object at the same moment. Try again in a moment with the same idempotency_key.".to_owned()
        }
        ErrorKind::StripeUnavailable if status == 409 => {
            "Another request was changing the same object at the same moment. Try again in a moment.".to_owned()
        }
        ErrorKind::StripeUnavailable if write => {
            "Stripe had a problem on its side; the write may or may not have been applied. Call again with the same idempotency_key: Stripe applies it at most once. See status.stripe.com if it persists.".to_owned()
        }
        ErrorKind::StripeUnavailable => {
            "Stripe had a problem on its side; this read changed nothing. Try again shortly; see status.stripe.com if it persists.".to_owned()
        }
        ErrorKind::InvalidArgument if param.contains("amount") || code.starts_with("amount_") => {
            "Amounts are integers in the currency's smallest unit: 4999 means $49.99 (cents) and 25 means $0.25; zero-decimal currencies like jpy take the whole amount (500 means ¥500). Stripe's minimum charge is about 50 cents in most currencies.".to_owned()
        }
        ErrorKind::InvalidArgument if code == "url_invalid" || param.ends_with("_url") => {
            "Send an absolute https:// URL (live mode requires https).".to_owned()
        }
        ErrorKind::InvalidArgument if param.contains("currency") => {
            "Send a lowercase three-letter ISO currency code such as usd, eur or jpy, supported by this account.".to_owned()
        }
        ErrorKind::InvalidArgument if code == "charge_already_refunded" => {
            "This payment was already fully refunded; list its refunds instead of refunding again.".to_owned()
        }
        _ => return None,
    })
}

/// The hint for a 404 on a call that gave no id: the id is not what is wrong.
fn not_found_without_id(tool: &str) -> String {
    if tool == "search_stripe_resources" {
        "No id was given, so no id is wrong: Stripe has no search for this resource on this account (search is not offered in every region). Use the list tools' filters instead, e.g. list_customers by email, list_charges or list_payment_intents by customer.".to_owned()
    } else {
        "No id was given, so no id is wrong: Stripe has nothing at this path for this account. Check the resource and the filters.".to_owned()
    }
}

/// What a decline code means for the customer, and what to tell them.
pub fn decline_hint(decline_code: &str) -> String {
    match decline_code {
        "insufficient_funds" => "The card has insufficient funds: ask the customer to use a different card or payment method.",
        "expired_card" => "The card has expired: ask the customer to use a different card.",
        "incorrect_cvc" | "invalid_cvc" => "The card's security code (CVC) is wrong: ask the customer to re-enter it.",
        "incorrect_number" | "invalid_number" => "The card number is wrong: ask the customer to re-enter it.",
        "lost_card" | "stolen_card" | "pickup_card" | "fraudulent" => {
            "The card was declined for security reasons: do not retry it; ask the customer for a different payment method (do not tell them the specific reason)."
        }
        "do_not_honor" | "generic_decline" | "card_declined" => {
            "The bank declined without giving a reason: the customer should contact their bank or use a different card."
        }
        "card_velocity_exceeded" | "withdrawal_count_limit_exceeded" => {
            "The card's limit was reached: the customer should contact their bank or use a different card."
        }
        "authentication_required" => {
            "The bank requires authentication (3D Secure): send the customer through Checkout or confirm the payment with them present."
        }
        "processing_error" => "An error occurred processing the card: try again shortly; if it persists, use a different card.",
        "try_again_later" => "The bank asked to try again later.",
        _ => "The payment was declined: ask the customer to use a different payment method or contact their bank.",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stripe::error::ApiError;

    fn api(ty: ErrorType, code: Option<&str>) -> ApiError {
        ApiError {
            kind: ty,
            message: Some("m".into()),
            code: code.map(Into::into),
            decline_code: None,
            param: None,
            doc_url: None,
        }
    }

    fn cx() -> ErrorContext<'static> {
        ErrorContext {
            mode: Mode::Test,
            restricted_key: false,
            idempotency_key: None,
            call: None,
        }
    }

    #[test]
    fn statuses_and_types_map_to_kinds() {
        use ErrorType::*;
        let table: &[(u16, Option<stripe::error::ApiError>, ErrorKind)] = &[
            (
                400,
                Some(api(InvalidRequestError, Some("parameter_invalid_integer"))),
                ErrorKind::InvalidArgument,
            ),
            (400, None, ErrorKind::InvalidArgument),
            (
                401,
                Some(api(InvalidRequestError, None)),
                ErrorKind::Authentication,
            ),
            (401, None, ErrorKind::Authentication),
            (
                402,
                Some(api(CardError, Some("card_declined"))),
                ErrorKind::CardDeclined,
            ),
            (402, None, ErrorKind::CardDeclined),
            (
                403,
                Some(api(InvalidRequestError, None)),
                ErrorKind::Permission,
            ),
            (
                404,
                Some(api(InvalidRequestError, Some("resource_missing"))),
                ErrorKind::NotFound,
            ),
            (
                400,
                Some(api(InvalidRequestError, Some("resource_missing"))),
                ErrorKind::NotFound,
            ),
            (404, None, ErrorKind::NotFound),
            (
                409,
                Some(api(IdempotencyError, None)),
                ErrorKind::IdempotencyConflict,
            ),
            (
                400,
                Some(api(IdempotencyError, None)),
                ErrorKind::IdempotencyConflict,
            ),
            (
                409,
                Some(api(InvalidRequestError, Some("lock_timeout"))),
                ErrorKind::StripeUnavailable,
            ),
            (
                429,
                Some(api(InvalidRequestError, Some("rate_limit"))),
                ErrorKind::RateLimited,
            ),
            (429, None, ErrorKind::RateLimited),
            (500, Some(api(ApiError, None)), ErrorKind::StripeUnavailable),
            (502, None, ErrorKind::StripeUnavailable),
            (503, None, ErrorKind::StripeUnavailable),
            (
                418,
                Some(api(Unknown("x".into()), None)),
                ErrorKind::InvalidArgument,
            ),
        ];
        for (status, error, want) in table {
            assert_eq!(
                classify(*status, error.as_ref()),
                *want,
                "{status} {error:?}"
            );
        }
    }

    #[test]
    fn a_stripe_error_keeps_every_field_and_the_request_id() {
        let err = stripe::Error::Api {
            status: 402,
            request_id: Some("req_123".into()),
            error: Some(Box::new(ApiError {
                kind: ErrorType::CardError,
                message: Some("Your card has insufficient funds.".into()),
                code: Some("card_declined".into()),
                decline_code: Some("insufficient_funds".into()),
                param: Some("".into()),
                doc_url: Some("https://stripe.com/docs/error-codes/card-declined".into()),
            })),
            should_retry: Some(false),
        };
        let key = IdempotencyKey::from_user("order-1").unwrap();
        let e = map(
            err,
            ErrorContext {
                idempotency_key: Some(&key),
                ..cx()
            },
        );
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {
                "kind": "card_declined",
                "message": "Your card has insufficient funds.",
                "retryable": false,
                "http_status": 402,
                "request_id": "req_123",
                "idempotency_key": "order-1",
                "stripe": {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined"
                },
                "hint": "The card has insufficient funds: ask the customer to use a different card or payment method."
            }})
        );
    }

    #[test]
    fn an_unparseable_error_body_keeps_its_status() {
        let e = map(
            stripe::Error::Api {
                status: 502,
                request_id: None,
                error: None,
                should_retry: None,
            },
            cx(),
        );
        assert_eq!(e.kind, ErrorKind::StripeUnavailable);
        assert_eq!(e.http_status, Some(502));
        assert!(e.retryable);
        assert!(e.message.contains("502"));
    }

    #[test]
    fn stripe_should_retry_false_makes_a_429_not_retryable() {
        let e = map(
            stripe::Error::Api {
                status: 429,
                request_id: None,
                error: None,
                should_retry: Some(false),
            },
            cx(),
        );
        assert_eq!((e.kind, e.retryable), (ErrorKind::RateLimited, false));
    }

    #[test]
    fn a_test_live_mismatch_gets_an_explicit_hint() {
        let mut error = api(ErrorType::InvalidRequestError, Some("resource_missing"));
        error.message = Some("No such customer: 'cus_1'; a similar object exists in live mode, but a test mode key was used to make this request.".into());
        let e = map(
            stripe::Error::Api {
                status: 404,
                request_id: None,
                error: Some(Box::new(error)),
                should_retry: None,
            },
            cx(),
        );
        let hint = e.hint.unwrap();
        assert!(hint.contains("Test/live mismatch"), "{hint}");
        assert!(hint.contains("test-mode key"), "{hint}");
    }

    #[test]
    fn an_unrecognised_url_gets_a_hint_about_the_path_not_about_a_missing_id() {
        let mut error = api(ErrorType::InvalidRequestError, None);
        error.message = Some("Unrecognized request URL (GET: /v1/not_a_thing). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.".into());
        let e = map(
            stripe::Error::Api {
                status: 404,
                request_id: None,
                error: Some(Box::new(error)),
                should_retry: None,
            },
            cx(),
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        let hint = e.hint.unwrap();
        assert!(hint.contains("API reference"), "{hint}");
        assert!(!hint.contains("Check the id"), "{hint}");
    }

    #[test]
    fn an_amount_error_hints_at_minor_units() {
        let mut error = api(ErrorType::InvalidRequestError, Some("amount_too_small"));
        error.param = Some("amount".into());
        let e = map(
            stripe::Error::Api {
                status: 400,
                request_id: None,
                error: Some(Box::new(error)),
                should_retry: None,
            },
            cx(),
        );
        assert!(e.hint.unwrap().contains("4999 means $49.99"));
    }

    #[test]
    fn a_network_failure_on_a_write_says_to_retry_with_the_same_key() {
        let key = IdempotencyKey::from_user("k1").unwrap();
        let e = map(
            stripe::Error::Network {
                message: "reset".into(),
                timeout: false,
            },
            ErrorContext {
                idempotency_key: Some(&key),
                ..cx()
            },
        );
        assert_eq!((e.kind, e.retryable), (ErrorKind::Network, true));
        assert_eq!(e.idempotency_key.as_deref(), Some("k1"));
        assert!(e.hint.unwrap().contains("same idempotency_key"));
    }

    #[test]
    fn authentication_and_restricted_permission_hints_name_the_key_types() {
        let e = map(
            stripe::Error::Api {
                status: 401,
                request_id: None,
                error: None,
                should_retry: None,
            },
            cx(),
        );
        assert!(e.hint.unwrap().contains("pk_"));
        let e = map(
            stripe::Error::Api {
                status: 403,
                request_id: None,
                error: None,
                should_retry: None,
            },
            ErrorContext {
                restricted_key: true,
                ..cx()
            },
        );
        assert!(e.hint.unwrap().contains("restricted key"));
    }

    #[test]
    fn each_parameter_the_server_adds_is_explained_when_stripe_refuses_it_and_only_then() {
        for (tool, added, unless, instead) in ADDED_PARAMS {
            let refusal = |param: &str| {
                let mut e = api(ErrorType::InvalidRequestError, Some("parameter_unknown"));
                e.param = Some(param.into());
                e.message = Some(format!("Received unknown parameter: {param}"));
                stripe::Error::Api {
                    status: 400,
                    request_id: None,
                    error: Some(Box::new(e)),
                    should_retry: None,
                }
            };
            let hint_for = |args: serde_json::Value, param: &str| {
                let call = CallSituation::of(tool, args.as_object().unwrap());
                map(
                    refusal(param),
                    ErrorContext {
                        call: Some(&call),
                        ..cx()
                    },
                )
                .hint
                .unwrap_or_default()
            };
            let hint = hint_for(serde_json::json!({}), added);
            assert!(
                hint.contains("this server added") && hint.contains(instead),
                "{tool} {added}: {hint}"
            );
            let nested = hint_for(serde_json::json!({}), &format!("{added}[enabled]"));
            assert!(
                nested.contains("this server added"),
                "{tool} {added}: {nested}"
            );
            if !unless.is_empty() {
                let passed = hint_for(serde_json::json!({ *unless: "x" }), added);
                assert!(
                    !passed.contains("this server added"),
                    "{tool} {added}: {passed}"
                );
            }
            // Another tool's refusal of the same name is not the server's doing.
            let other = CallSituation::of("stripe_api_read", &serde_json::Map::new());
            let e = map(
                refusal(added),
                ErrorContext {
                    call: Some(&other),
                    ..cx()
                },
            );
            assert!(!e.hint.unwrap_or_default().contains("this server added"));
        }
    }
}
