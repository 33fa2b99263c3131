//! A person confirms a money movement before it is sent: MCP elicitation (a form
//! whose message states the action in checkable words, looked up from Stripe first),
//! over a session (a server-to-client request with a deadline) or, for 2026-07-28
//! clients, as an `input_required` round whose sealed `requestState` carries nothing
//! but a digest of the call and an expiry, so any replica can check the answer.
//!
//! The guard wraps the call at the server's call entry: the tool body never knows.
//! Nothing is written before a person accepts; a lookup (GET) may be sent to make
//! the question checkable.

use std::time::Duration;

use rmcp::{
    RoleServer,
    model::{
        CallToolRequestParams, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
        ElicitationSchema, InputRequest, InputRequiredResult, ProtocolVersion, RequestStateCodec,
        RequestStateError, SealOptions,
    },
    schemars::{self, JsonSchema},
    service::{RequestContext, ServiceError},
};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::classify::{Action, ActionKind};
use crate::{
    egress::Egress,
    stripe::{self, Client, currency},
};

/// `--confirm`: when a person is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmMode {
    /// Ask when the client can show a form (declared the elicitation capability);
    /// otherwise proceed as without confirmation.
    #[default]
    Auto,
    /// Always ask; a client that cannot be asked gets `confirmation_unavailable`.
    Always,
    /// Never ask (an unattended agent, or a client that confirms on its own).
    Never,
}

/// How long a person has to answer, unless `--confirm-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The key of the one input request of an `input_required` round.
pub const INPUT_KEY: &str = "confirm";

/// Seals and opens `requestState`. The key is random per process unless the
/// operator gives one (replicas behind one URL must share it).
#[derive(Clone)]
pub struct Seal {
    /// HMAC-SHA256 over the payload, the call's digest and the expiry.
    codec: std::sync::Arc<RequestStateCodec>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal([key hidden])")
    }
}

impl Default for Seal {
    fn default() -> Self {
        let mut key = Vec::with_capacity(32);
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Seal::with_key(&key).expect("32 random bytes make a valid key")
    }
}

impl Seal {
    /// A seal over this key (at least 32 bytes).
    pub fn with_key(key: &[u8]) -> Result<Seal, String> {
        RequestStateCodec::try_new(key.to_vec())
            .map(|c| Seal {
                codec: std::sync::Arc::new(c),
            })
            .map_err(|e| e.to_string())
    }
}

/// The form a person answers: one checkbox, so an "accept" is a deliberate tick.
#[derive(Debug, Deserialize, JsonSchema)]
struct ConfirmForm {
    /// Tick to let this happen now.
    confirm: bool,
}

/// Why a call was stopped before anything was written.
#[derive(Debug)]
pub enum Refusal {
    /// The person declined (`dismissed`: closed the form without choosing).
    Declined {
        /// True for `cancel`, false for `decline` or an unticked accept.
        dismissed: bool,
    },
    /// Nobody answered within the bound.
    Timeout(Duration),
    /// This client cannot be asked, and `--confirm always` says it must be.
    Unavailable(String),
    /// The echoed `requestState` is not one this server sealed for this call.
    BadState(String),
    /// An id the lookup would put in a path is malformed (the tool refuses it too).
    BadId(String),
    /// The lookup that makes the question checkable failed.
    Lookup(stripe::Error),
}

/// What the guard decided.
#[derive(Debug)]
pub enum Gate {
    /// Send the call as it is (its idempotency key unchanged).
    Proceed,
    /// Stop here and answer this refusal; nothing was written.
    Refuse(Refusal),
    /// Ask the person through an `input_required` round (2026-07-28).
    Ask(Box<InputRequiredResult>),
}

/// What the guard needs besides the call.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// `--confirm` (or the tenant's).
    pub mode: ConfirmMode,
    /// How long a person has to answer.
    pub timeout: Duration,
    /// Seals `requestState` for 2026-07-28 clients.
    pub seal: &'a Seal,
    /// The one exit the question passes (secrets, and personal data with `--redact`).
    pub egress: Egress,
}

/// True when the request comes from a 2026-07-28 client: no server-to-client requests.
pub fn stateless(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// True when the client declared form elicitation (an empty capability means form).
pub fn can_ask(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// What binds a sealed state to one call: the tool and its exact arguments.
fn call_digest(request: &CallToolRequestParams) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(request.name.as_bytes());
    h.update([0]);
    let args = Value::Object(request.arguments.clone().unwrap_or_default());
    h.update(args.to_string().as_bytes());
    h.finalize().to_vec()
}

/// Decides whether `action` may be sent now, asking the person when policy says so.
pub async fn gate(
    client: &Client,
    policy: Policy<'_>,
    action: &Action,
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Gate {
    if policy.mode == ConfirmMode::Never || !action.needs_confirmation() {
        return Gate::Proceed;
    }
    let stateless = stateless(context);
    if stateless && let Some(state) = &request.request_state {
        let digest = call_digest(request);
        return match policy.seal.codec.open_with(state, &digest) {
            Err(RequestStateError::Expired) => Gate::Refuse(Refusal::Timeout(policy.timeout)),
            Err(e) => Gate::Refuse(Refusal::BadState(e.to_string())),
            Ok(_) => match request
                .input_responses
                .as_ref()
                .and_then(|r| r.get(INPUT_KEY))
                .map(|v| serde_json::from_value::<ElicitResult>(v.clone()))
            {
                Some(Ok(answer)) => decide(&answer),
                Some(Err(e)) => Gate::Refuse(Refusal::BadState(format!(
                    "the answer to the confirmation is not an elicitation result: {e}"
                ))),
                None => Gate::Refuse(Refusal::BadState(
                    "requestState came back without an answer to the confirmation".into(),
                )),
            },
        };
    }
    if !can_ask(context) {
        return match policy.mode {
            ConfirmMode::Always => Gate::Refuse(Refusal::Unavailable(
                "this MCP client did not declare the elicitation (form) capability, so nobody can be asked".into(),
            )),
            _ => Gate::Proceed,
        };
    }
    let empty = Map::new();
    let args = request.arguments.as_ref().unwrap_or(&empty);
    let message = match describe(client, action, args).await {
        Ok(m) => policy.egress.question(&m),
        Err(r) => return Gate::Refuse(r),
    };
    let schema = match ElicitationSchema::from_type::<ConfirmForm>() {
        Ok(s) => s,
        Err(e) => return Gate::Refuse(Refusal::Unavailable(format!("the form: {e}"))),
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    };
    if stateless {
        let digest = call_digest(request);
        let state = policy.seal.codec.seal_with(
            b"confirm",
            &SealOptions::new()
                .associated_data(&digest)
                .ttl(policy.timeout),
        );
        let requests = [(
            INPUT_KEY.to_owned(),
            InputRequest::Elicitation(ElicitRequest::new(params)),
        )]
        .into_iter()
        .collect();
        return Gate::Ask(Box::new(InputRequiredResult::new(
            Some(requests),
            Some(state),
        )));
    }
    match context
        .peer
        .create_elicitation_with_timeout(params, Some(policy.timeout))
        .await
    {
        Ok(answer) => decide(&answer),
        Err(ServiceError::Timeout { .. }) => Gate::Refuse(Refusal::Timeout(policy.timeout)),
        Err(e) => Gate::Refuse(Refusal::Unavailable(format!(
            "the client did not answer the confirmation: {e}"
        ))),
    }
}

/// Accept with the box ticked proceeds; anything else is a no.
fn decide(answer: &ElicitResult) -> Gate {
    match answer.action {
        ElicitationAction::Accept => {
            let ticked = answer
                .content
                .as_ref()
                .and_then(|c| serde_json::from_value::<ConfirmForm>(c.clone()).ok())
                .is_some_and(|f| f.confirm);
            if ticked {
                Gate::Proceed
            } else {
                Gate::Refuse(Refusal::Declined { dismissed: false })
            }
        }
        ElicitationAction::Decline => Gate::Refuse(Refusal::Declined { dismissed: false }),
        _ => Gate::Refuse(Refusal::Declined { dismissed: true }),
    }
}

/// An id that may go into a lookup path: the expected prefix, then letters, digits, `_`.
fn checked_id<'a>(id: &'a str, prefixes: &[&str]) -> Result<&'a str, Refusal> {
    let ok = id.len() <= 255
        && prefixes
            .iter()
            .any(|p| id.starts_with(p) && id.len() > p.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(id)
    } else {
        Err(Refusal::BadId(format!(
            "{id:?} is not a Stripe id starting with {}",
            prefixes.join(" or ")
        )))
    }
}

fn money(amount: i64, currency: &str) -> String {
    currency::display(amount, currency)
}

/// "2 Dec 2026" for Unix seconds (UTC).
pub fn date(unix: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{day} {} {year}", NAMES[(month - 1) as usize])
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for k in path {
        cur = cur.get(k)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

fn n(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Who paid a charge, in words a person recognises: the billing or receipt email.
fn payer(charge: &Value) -> Option<String> {
    s(charge, &["billing_details", "email"])
        .or_else(|| s(charge, &["receipt_email"]))
        .or_else(|| s(charge, &["billing_details", "name"]))
        .map(str::to_owned)
}

/// The question for `action`, in the words a person checks. Refunds, payment intents,
/// subscriptions being canceled and invoices being finalized are looked up first
/// (amount, who, when); the rest is told from the arguments.
pub async fn describe(
    client: &Client,
    action: &Action,
    args: &Map<String, Value>,
) -> Result<String, Refusal> {
    let id = action.object_id.as_deref();
    let given = |amount: Option<i64>| match (amount, action.currency.as_deref()) {
        (Some(a), Some(c)) => Some(money(a, c)),
        (Some(a), None) => Some(format!("{a} (smallest currency unit)")),
        _ => None,
    };
    let text = match (action.kind, action.tool.as_str()) {
        (ActionKind::Refund, _) if id.is_some() => {
            let id = id.unwrap_or_default();
            let (charge, what) = if id.starts_with("pi_") {
                let pi: Value = client
                    .get(
                        &format!("/v1/payment_intents/{}", checked_id(id, &["pi_"])?),
                        &(),
                    )
                    .await
                    .map_err(Refusal::Lookup)?;
                let charge = match s(&pi, &["latest_charge"]) {
                    Some(ch) => Some(
                        client
                            .get::<Value>(
                                &format!("/v1/charges/{}", checked_id(ch, &["ch_", "py_"])?),
                                &(),
                            )
                            .await
                            .map_err(Refusal::Lookup)?,
                    ),
                    None => None,
                };
                (charge.unwrap_or(pi), format!("payment {id}"))
            } else {
                let ch: Value = client
                    .get(
                        &format!("/v1/charges/{}", checked_id(id, &["ch_", "py_"])?),
                        &(),
                    )
                    .await
                    .map_err(Refusal::Lookup)?;
                (ch, format!("charge {id}"))
            };
            let cur = s(&charge, &["currency"]).unwrap_or("usd");
            let paid = n(&charge, "amount").unwrap_or(0);
            let refunded = n(&charge, "amount_refunded").unwrap_or(0);
            let amount = match action.amount {
                Some(a) => money(a, cur),
                None => format!(
                    "{} (everything not yet refunded)",
                    money(paid - refunded, cur)
                ),
            };
            let mut facts = Vec::new();
            if let Some(p) = payer(&charge) {
                facts.push(p);
            }
            if let Some(created) = n(&charge, "created") {
                facts.push(format!("paid {} on {}", money(paid, cur), date(created)));
            }
            if refunded > 0 {
                facts.push(format!("{} already refunded", money(refunded, cur)));
            }
            format!("Refund {amount} of {what} ({}).", facts.join(", "))
        }
        (
            ActionKind::Take | ActionKind::Cancel,
            "confirm_payment_intent" | "cancel_payment_intent",
        )
        | (ActionKind::Take | ActionKind::Cancel, "stripe_api_write")
            if id.is_some_and(|i| i.starts_with("pi_")) =>
        {
            let id = id.unwrap_or_default();
            let pi: Value = client
                .get(
                    &format!("/v1/payment_intents/{}", checked_id(id, &["pi_"])?),
                    &(),
                )
                .await
                .map_err(Refusal::Lookup)?;
            let cur = s(&pi, &["currency"]).unwrap_or("usd");
            let amount = money(action.amount.or(n(&pi, "amount")).unwrap_or(0), cur);
            let who = s(&pi, &["receipt_email"])
                .or_else(|| s(&pi, &["customer"]))
                .map(|w| format!(" from {w}"))
                .unwrap_or_default();
            let since = n(&pi, "created")
                .map(|c| format!(", created {}", date(c)))
                .unwrap_or_default();
            if action.kind == ActionKind::Take {
                format!("Charge {amount}{who} now: confirm payment intent {id}{since}.")
            } else {
                format!(
                    "Cancel payment intent {id} for {amount}{who}{since}: it can no longer be paid."
                )
            }
        }
        (ActionKind::Take, "create_payment_intent") => format!(
            "Charge {} now{}: a payment intent created and confirmed at once.",
            given(action.amount).unwrap_or_else(|| "an amount".into()),
            id.map(|c| format!(" to customer {c}")).unwrap_or_default()
        ),
        (ActionKind::Cancel, "cancel_subscription") if id.is_some() => {
            let id = id.unwrap_or_default();
            let sub: Value = client
                .get(
                    &format!("/v1/subscriptions/{}", checked_id(id, &["sub_"])?),
                    &(),
                )
                .await
                .map_err(Refusal::Lookup)?;
            let item = sub.pointer("/items/data/0").cloned().unwrap_or(Value::Null);
            let price = match (
                item.pointer("/price/unit_amount").and_then(Value::as_i64),
                item.pointer("/price/currency").and_then(Value::as_str),
            ) {
                (Some(a), Some(c)) => {
                    let qty = n(&item, "quantity").unwrap_or(1).max(1);
                    let every = s(&item, &["price", "recurring", "interval"])
                        .map(|i| format!(" a {i}"))
                        .unwrap_or_default();
                    format!(", {}{every}", money(a * qty, c))
                }
                _ => String::new(),
            };
            let customer = s(&sub, &["customer"]).unwrap_or("?");
            let status = s(&sub, &["status"]).unwrap_or("unknown");
            let when = if action.method == "POST" {
                n(&sub, "current_period_end")
                    .or_else(|| n(&item, "current_period_end"))
                    .map(|end| format!(" at the end of its current period ({})", date(end)))
                    .unwrap_or_else(|| " at the end of its current period".into())
            } else {
                " now: the customer stops being billed and loses access".into()
            };
            format!("Cancel subscription {id} of customer {customer} ({status}{price}){when}.")
        }
        (ActionKind::Cancel, "expire_checkout_session") => format!(
            "Expire checkout session {}: the customer can no longer pay through it.",
            id.unwrap_or("?")
        ),
        (ActionKind::Irreversible, "finalize_invoice") if id.is_some() => {
            let id = id.unwrap_or_default();
            let inv: Value = client
                .get(&format!("/v1/invoices/{}", checked_id(id, &["in_"])?), &())
                .await
                .map_err(Refusal::Lookup)?;
            let cur = s(&inv, &["currency"]).unwrap_or("usd");
            let amount = money(n(&inv, "amount_due").unwrap_or(0), cur);
            let who = s(&inv, &["customer_email"])
                .or_else(|| s(&inv, &["customer"]))
                .unwrap_or("?");
            let collect = if s(&inv, &["collection_method"]) == Some("send_invoice") {
                "Stripe then emails it for payment"
            } else {
                "with automatic collection Stripe then charges the customer"
            };
            format!(
                "Finalize invoice {id} for {amount} to {who}: it can no longer be edited, and {collect}."
            )
        }
        (ActionKind::Irreversible, "update_dispute") => format!(
            "Submit the evidence of dispute {} to the bank now: it cannot be changed afterwards.",
            id.unwrap_or("?")
        ),
        (ActionKind::Take, "create_subscription") => format!(
            "Start a subscription for customer {}: Stripe may charge the customer's saved payment method at once.",
            id.unwrap_or("?")
        ),
        (ActionKind::Take, "update_subscription") => format!(
            "Change the items of subscription {}: what the customer pays changes, and proration may charge them now.",
            id.unwrap_or("?")
        ),
        _ => {
            let what = match action.kind {
                ActionKind::Refund => "a refund",
                ActionKind::Take => "a payment",
                ActionKind::Payout => "money leaving the Stripe balance",
                ActionKind::Cancel => "a cancellation",
                ActionKind::Irreversible => "a change that cannot be undone",
                _ => "a write",
            };
            let amount = given(action.amount)
                .map(|a| format!(" of {a}"))
                .unwrap_or_default();
            let params = args
                .get("params")
                .and_then(Value::as_object)
                .map(params_line)
                .filter(|p| !p.is_empty())
                .map(|p| format!(" Parameters: {p}."))
                .unwrap_or_default();
            format!(
                "Send {} {} to Stripe: {what}{amount}.{params}",
                action.method, action.path
            )
        }
    };
    Ok(text)
}

/// A generic write's params, short, for the question (values cut at 80 characters).
fn params_line(params: &Map<String, Value>) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if out.len() > 400 {
            out.push_str(", ...");
            break;
        }
        let v = match v {
            Value::String(s) => s.chars().take(80).collect(),
            other => other.to_string().chars().take(80).collect::<String>(),
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&format!("{k}={v}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_day_month_year_in_utc() {
        assert_eq!(date(0), "1 Jan 1970");
        assert_eq!(date(1_796_169_600), "2 Dec 2026");
        assert_eq!(date(951_782_400), "29 Feb 2000");
        assert_eq!(date(-86_400), "31 Dec 1969");
    }

    #[test]
    fn only_a_ticked_accept_proceeds() {
        let answer = |action, content: Option<Value>| match content {
            Some(c) => ElicitResult::new(action).with_content(c),
            None => ElicitResult::new(action),
        };
        assert!(matches!(
            decide(&answer(
                ElicitationAction::Accept,
                Some(serde_json::json!({"confirm": true}))
            )),
            Gate::Proceed
        ));
        for (a, c, dismissed) in [
            (
                ElicitationAction::Accept,
                Some(serde_json::json!({"confirm": false})),
                false,
            ),
            (ElicitationAction::Accept, None, false),
            (ElicitationAction::Decline, None, false),
            (ElicitationAction::Cancel, None, true),
        ] {
            match decide(&answer(a, c)) {
                Gate::Refuse(Refusal::Declined { dismissed: d }) => assert_eq!(d, dismissed),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_lookup_id_must_be_a_plain_stripe_id() {
        assert!(checked_id("ch_123", &["ch_"]).is_ok());
        assert!(checked_id("ch_", &["ch_"]).is_err());
        assert!(checked_id("ch_1/../../v1/balance", &["ch_"]).is_err());
        assert!(checked_id("pi_1", &["ch_", "py_"]).is_err());
    }

    #[test]
    fn a_sealed_state_opens_only_for_the_same_call() {
        let seal = Seal::default();
        let call = |amount: i64| {
            CallToolRequestParams::new("create_refund").with_arguments(
                serde_json::json!({"charge": "ch_1", "amount": amount})
                    .as_object()
                    .unwrap()
                    .clone(),
            )
        };
        let state = seal.codec.seal_with(
            b"confirm",
            &SealOptions::new().associated_data(&call_digest(&call(100))),
        );
        assert!(
            seal.codec
                .open_with(&state, &call_digest(&call(100)))
                .is_ok()
        );
        assert!(
            seal.codec
                .open_with(&state, &call_digest(&call(101)))
                .is_err()
        );
        assert!(
            Seal::default()
                .codec
                .open_with(&state, &call_digest(&call(100)))
                .is_err(),
            "another key does not open it"
        );
    }

    #[test]
    fn the_seal_never_prints_its_key() {
        assert_eq!(format!("{:?}", Seal::default()), "Seal([key hidden])");
    }
}
