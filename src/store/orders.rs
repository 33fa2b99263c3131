//! The order ledger's pure parts, shared by both backends: Stripe's event as the ledger
//! reads it, the Checkout Session snapshot an order keeps, the order state machine, and the
//! records (orders, fulfillments, hook runs) the store hands back.

use std::{collections::BTreeMap, path::PathBuf};

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Checkout completed with a delayed method (ACH, SEPA): waiting for the bank.
    AwaitingPayment,
    /// The money arrived: fulfilled. Never left once entered.
    Paid,
    /// The delayed payment failed; nothing was charged.
    PaymentFailed,
    /// The checkout expired unpaid.
    Expired,
}

impl OrderStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Expired => "expired",
        }
    }

    /// The status a stored name stands for.
    pub fn parse(raw: &str) -> Option<OrderStatus> {
        Some(match raw {
            "awaiting_payment" => OrderStatus::AwaitingPayment,
            "paid" => OrderStatus::Paid,
            "payment_failed" => OrderStatus::PaymentFailed,
            "expired" => OrderStatus::Expired,
            _ => return None,
        })
    }
}

/// What a Checkout Session event says about the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// `checkout.session.completed` with a `payment_status` Stripe documents.
    Completed {
        /// `paid` (the money arrived with the completion) or `no_payment_required`
        /// (nothing was due); false for `unpaid` (a delayed method still on its way).
        paid: bool,
    },
    /// `checkout.session.async_payment_succeeded`: the delayed payment arrived.
    AsyncPaymentSucceeded,
    /// `checkout.session.async_payment_failed`.
    AsyncPaymentFailed,
    /// `checkout.session.expired`.
    Expired,
}

/// Why an event was recorded (so it is acknowledged once) but moved no order.
///
/// Every reason is a fixed phrase: none quotes a value from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not one of the four Checkout Session types the ledger acts on: the normal case for
    /// every other event an endpoint is subscribed to.
    OtherType,
    /// A Checkout Session event type whose `data.object` is not a `checkout.session`.
    NotASession,
    /// The `checkout.session` object has no string `id`.
    NoSessionId,
    /// `checkout.session.completed` whose `payment_status` is missing or none of
    /// `paid`, `no_payment_required`, `unpaid`.
    UnknownPaymentStatus,
    /// `checkout.session.async_payment_succeeded` whose `payment_status` is not `paid`.
    NotPaid,
}

impl Ignored {
    /// Words for the log and the events table.
    pub fn reason(self) -> &'static str {
        match self {
            Ignored::OtherType => "ignored: not a Checkout Session payment event",
            Ignored::NotASession => "ignored: data.object is not a checkout.session",
            Ignored::NoSessionId => "ignored: the checkout.session has no id",
            Ignored::UnknownPaymentStatus => {
                "ignored: payment_status is missing or not one Stripe documents"
            }
            Ignored::NotPaid => "ignored: async_payment_succeeded whose payment_status is not paid",
        }
    }

    /// A Checkout Session event that is not what Stripe sends: worth a warning.
    pub fn unexpected(self) -> bool {
        self != Ignored::OtherType
    }
}

impl SessionEvent {
    /// What an event means for its order, from its type, `data.object.object` and
    /// `data.object.payment_status`; anything not exactly as Stripe documents it is
    /// [`Ignored`], never paid.
    ///
    /// Only `completed` with `paid` or `no_payment_required` (a 100 % discount: nothing
    /// is owed, so the order is fulfilled) and `async_payment_succeeded` with `paid` mean
    /// money arrived, and only on a `checkout.session` object.
    pub fn from_type(
        kind: &str,
        object: Option<&str>,
        payment_status: Option<&str>,
    ) -> Result<SessionEvent, Ignored> {
        let event = match kind {
            "checkout.session.completed" => match payment_status {
                Some("paid" | "no_payment_required") => SessionEvent::Completed { paid: true },
                Some("unpaid") => SessionEvent::Completed { paid: false },
                _ => return Err(Ignored::UnknownPaymentStatus),
            },
            "checkout.session.async_payment_succeeded" => match payment_status {
                Some("paid") => SessionEvent::AsyncPaymentSucceeded,
                _ => return Err(Ignored::NotPaid),
            },
            "checkout.session.async_payment_failed" => SessionEvent::AsyncPaymentFailed,
            "checkout.session.expired" => SessionEvent::Expired,
            _ => return Err(Ignored::OtherType),
        };
        if object != Some("checkout.session") {
            return Err(Ignored::NotASession);
        }
        Ok(event)
    }

    /// Reads an event's type and `data.object` into the snapshot an order keeps and what
    /// the event means for it.
    pub fn classify(
        kind: &str,
        object: &serde_json::Value,
    ) -> Result<(SessionSnapshot, SessionEvent), Ignored> {
        let event = SessionEvent::from_type(
            kind,
            object["object"].as_str(),
            object["payment_status"].as_str(),
        )?;
        let snapshot = SessionSnapshot::from_object(object).ok_or(Ignored::NoSessionId)?;
        Ok((snapshot, event))
    }
}

/// The state machine: the order's new status, or `None` when the event changes nothing.
///
/// Stripe does not deliver in order, so this is a lattice rather than a sequence: a signal
/// that money arrived moves any unpaid order to `paid`, and `paid` is never left; a failure
/// or an expiry only moves an order that is not settled yet; a late `completed` (unpaid)
/// never undoes a failure or an expiry. Entering `paid` is what records the fulfillment.
pub fn transition(current: Option<OrderStatus>, event: SessionEvent) -> Option<OrderStatus> {
    use OrderStatus::*;
    let next = match (current, event) {
        (Some(Paid), _) => return None,
        (_, SessionEvent::Completed { paid: true } | SessionEvent::AsyncPaymentSucceeded) => Paid,
        (None, SessionEvent::Completed { paid: false }) => AwaitingPayment,
        (Some(_), SessionEvent::Completed { paid: false }) => return None,
        (None | Some(AwaitingPayment), SessionEvent::AsyncPaymentFailed) => PaymentFailed,
        (None | Some(AwaitingPayment), SessionEvent::Expired) => Expired,
        (Some(PaymentFailed | Expired), _) => return None,
    };
    (current != Some(next)).then_some(next)
}

/// A Stripe event, as much of it as the ledger reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `evt_...`
    pub id: String,
    /// `checkout.session.completed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
    /// Connect: the connected account the event happened on (`acct_...`); absent for the
    /// platform's own events, which the receiver fills in with its `--account`.
    #[serde(default)]
    pub account: Option<String>,
    /// `data.object`: the object the event is about.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    /// The object as it was when the event happened.
    pub object: serde_json::Value,
}

/// Reads a delivery's JSON as an event; the reason names no content.
///
/// serde_json's own messages quote the offending value (`invalid type: string "..."`),
/// so they are replaced by the kind of problem and where it is; only a missing field's
/// name, which comes from this schema and not from the body, is kept.
pub fn parse_event(body: &[u8]) -> Result<Event, String> {
    let event: Event = serde_json::from_slice(body).map_err(|e| describe_json_error(&e))?;
    if event.id.is_empty() || event.id.len() > 255 {
        return Err("not a Stripe event: bad id".into());
    }
    if event.kind.is_empty() {
        return Err("not a Stripe event: empty type".into());
    }
    Ok(event)
}

/// A serde_json error as a reason that quotes nothing from the input.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not valid JSON",
        Category::Eof => "ends early",
        Category::Data => {
            let msg = e.to_string();
            if let Some(field) = msg
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split_once('`'))
                .map(|(field, _)| field)
                .filter(|f| ["id", "type", "data", "object"].contains(f))
            {
                return format!("not a Stripe event: missing field {field}");
            }
            "has a field of the wrong type"
        }
    };
    format!(
        "not a Stripe event: the JSON {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// The Checkout Session fields an order keeps, from an event's `data.object`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionSnapshot {
    /// `cs_...`
    pub id: String,
    /// `paid`, `unpaid`, `no_payment_required`.
    pub payment_status: Option<String>,
    /// Minor units.
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// `customer_details.email`, else `customer_email`.
    pub customer_email: Option<String>,
    /// The session's metadata (`product_id` from `initiate_checkout` among it).
    pub metadata: BTreeMap<String, String>,
    /// The caller's own reference.
    pub client_reference_id: Option<String>,
    /// `pi_...`, when the session made one.
    pub payment_intent: Option<String>,
}

impl SessionSnapshot {
    /// Reads a `checkout.session` object; `None` without a string `id`.
    pub fn from_object(object: &serde_json::Value) -> Option<SessionSnapshot> {
        let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let id = s(&object["id"]).filter(|id| !id.is_empty())?;
        let metadata = object["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(SessionSnapshot {
            id,
            payment_status: s(&object["payment_status"]),
            amount_total: object["amount_total"].as_i64(),
            currency: s(&object["currency"]),
            customer_email: s(&object["customer_details"]["email"])
                .or_else(|| s(&object["customer_email"])),
            metadata,
            client_reference_id: s(&object["client_reference_id"]),
            // A string id, or the object when expanded.
            payment_intent: s(&object["payment_intent"])
                .or_else(|| s(&object["payment_intent"]["id"])),
        })
    }
}

/// What recording one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The event id was already there: nothing changed.
    pub duplicate: bool,
    /// The session it concerns, for a Checkout Session event.
    pub session_id: Option<String>,
    /// The order's status after the event, for a Checkout Session event.
    pub status: Option<OrderStatus>,
    /// This event moved the order into `paid` (and recorded the fulfillment).
    pub entered_paid: bool,
    /// A hook run was queued with the fulfillment.
    pub hook_queued: bool,
    /// Why the event moved no order, when it was recorded and ignored.
    pub ignored: Option<Ignored>,
    /// Words for the log and the events table.
    pub outcome: String,
}

/// A paid order's fulfillment, recorded once: also what `--on-paid` reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Fulfillment {
    /// The Checkout Session (cs_...): use it as the idempotency key of whatever you ship.
    pub session_id: String,
    /// The event that moved the order to paid.
    pub event_id: String,
    /// Amount paid, integer minor units (4999 = $49.99).
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// The customer's email as entered on the payment page.
    pub customer_email: Option<String>,
    /// The session's metadata.
    pub metadata: BTreeMap<String, String>,
    /// metadata.product_id, as initiate_checkout stores it.
    pub product_id: Option<String>,
    /// The caller's own reference, if the checkout had one.
    pub client_reference_id: Option<String>,
    /// pi_..., when the session made one (for refunds).
    pub payment_intent: Option<String>,
    /// True for real money.
    pub livemode: bool,
    /// When the order entered paid (Unix seconds, receiver's clock).
    pub fulfilled_at: i64,
}

/// The `--on-paid` run of one fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Hook {
    /// pending (not run yet), running, failed (retried on the receiver's next start), done.
    pub state: String,
    /// How many times it was started.
    pub attempts: i64,
    /// The last failure: exit status and the end of its stderr.
    pub last_error: Option<String>,
    /// When it succeeded (Unix seconds).
    pub done_at: Option<i64>,
}

/// One order as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Order {
    /// The Checkout Session id (cs_...).
    pub session_id: String,
    /// awaiting_payment, paid, payment_failed or expired.
    pub status: OrderStatus,
    /// Total, integer minor units.
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// The customer's email.
    pub customer_email: Option<String>,
    /// The session's metadata (product_id among it).
    pub metadata: BTreeMap<String, String>,
    /// The caller's own reference.
    pub client_reference_id: Option<String>,
    /// pi_..., when known.
    pub payment_intent: Option<String>,
    /// True for real money.
    pub livemode: bool,
    /// The event that last moved the order.
    pub last_event_id: String,
    /// Its type, e.g. checkout.session.completed.
    pub last_event_type: String,
    /// First seen (Unix seconds).
    pub created_at: i64,
    /// Last moved (Unix seconds).
    pub updated_at: i64,
    /// Present once paid: what was recorded, exactly once.
    pub fulfillment: Option<Fulfillment>,
    /// Present when the receiver runs --on-paid and the order is paid.
    pub hook: Option<Hook>,
    /// The Stripe account the order belongs to (acct_...), null when the receiver did not know it.
    pub account: Option<String>,
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The default database path: `$XDG_DATA_HOME/stripe-mcp/orders.db`, else
/// `~/.local/share/stripe-mcp/orders.db`; `None` when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = from("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from("HOME").map(|h| h.join(".local").join("share")))?;
    Some(base.join("stripe-mcp").join("orders.db"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;
    use serde_json::json;

    #[test]
    fn the_state_machine_table() {
        let completed_paid = SessionEvent::Completed { paid: true };
        let completed_unpaid = SessionEvent::Completed { paid: false };
        let ok = SessionEvent::AsyncPaymentSucceeded;
        let failed = SessionEvent::AsyncPaymentFailed;
        let expired = SessionEvent::Expired;
        #[rustfmt::skip]
        let table: &[(Option<OrderStatus>, SessionEvent, Option<OrderStatus>)] = &[
            // A new order.
            (None, completed_paid, Some(Paid)),
            (None, completed_unpaid, Some(AwaitingPayment)),
            (None, ok, Some(Paid)),                    // async success delivered before completed
            (None, failed, Some(PaymentFailed)),
            (None, expired, Some(Expired)),
            // Waiting for the bank.
            (Some(AwaitingPayment), completed_paid, Some(Paid)),
            (Some(AwaitingPayment), completed_unpaid, None), // a redelivery under another id
            (Some(AwaitingPayment), ok, Some(Paid)),
            (Some(AwaitingPayment), failed, Some(PaymentFailed)),
            (Some(AwaitingPayment), expired, Some(Expired)),
            // Paid is never left.
            (Some(Paid), completed_paid, None),
            (Some(Paid), completed_unpaid, None),
            (Some(Paid), ok, None),
            (Some(Paid), failed, None),
            (Some(Paid), expired, None),
            // Money arriving wins over an earlier failure or expiry; nothing else moves them.
            (Some(PaymentFailed), completed_paid, Some(Paid)),
            (Some(PaymentFailed), ok, Some(Paid)),
            (Some(PaymentFailed), completed_unpaid, None),
            (Some(PaymentFailed), failed, None),
            (Some(PaymentFailed), expired, None),
            (Some(Expired), completed_paid, Some(Paid)),
            (Some(Expired), ok, Some(Paid)),
            (Some(Expired), completed_unpaid, None),
            (Some(Expired), failed, None),
            (Some(Expired), expired, None),
        ];
        for (current, event, want) in table {
            assert_eq!(
                transition(*current, *event),
                *want,
                "{current:?} + {event:?}"
            );
        }
    }

    #[test]
    fn only_documented_payment_statuses_on_a_checkout_session_mean_anything() {
        let cs = Some("checkout.session");
        let completed = "checkout.session.completed";
        let succeeded = "checkout.session.async_payment_succeeded";
        // (type, data.object.object, payment_status, meaning)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Result<SessionEvent, Ignored>,
        );
        #[rustfmt::skip]
        let table: &[Case] = &[
            (completed, cs, Some("paid"), Ok(SessionEvent::Completed { paid: true })),
            (completed, cs, Some("no_payment_required"), Ok(SessionEvent::Completed { paid: true })),
            (completed, cs, Some("unpaid"), Ok(SessionEvent::Completed { paid: false })),
            // Fail closed: what Stripe does not send is never paid.
            (completed, cs, None, Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some("PAID_LATER"), Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some("Paid"), Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some(""), Err(Ignored::UnknownPaymentStatus)),
            (completed, Some("charge"), Some("paid"), Err(Ignored::NotASession)),
            (completed, None, Some("paid"), Err(Ignored::NotASession)),
            (succeeded, cs, Some("paid"), Ok(SessionEvent::AsyncPaymentSucceeded)),
            (succeeded, cs, None, Err(Ignored::NotPaid)),
            (succeeded, cs, Some("unpaid"), Err(Ignored::NotPaid)),
            (succeeded, Some("charge"), Some("paid"), Err(Ignored::NotASession)),
            ("checkout.session.async_payment_failed", cs, Some("unpaid"), Ok(SessionEvent::AsyncPaymentFailed)),
            ("checkout.session.async_payment_failed", Some("charge"), None, Err(Ignored::NotASession)),
            ("checkout.session.expired", cs, None, Ok(SessionEvent::Expired)),
            ("checkout.session.expired", Some("payment_intent"), None, Err(Ignored::NotASession)),
            ("charge.succeeded", Some("charge"), Some("paid"), Err(Ignored::OtherType)),
            ("customer.created", None, None, Err(Ignored::OtherType)),
        ];
        for (kind, object, status, want) in table {
            assert_eq!(
                SessionEvent::from_type(kind, *object, *status),
                *want,
                "{kind} {object:?} {status:?}"
            );
        }
        assert!(!Ignored::OtherType.unexpected() && Ignored::NotASession.unexpected());
    }

    #[test]
    fn a_refused_body_is_described_without_quoting_it() {
        let secret_ish = "CUSTOMER jane@example.com card 4242";
        for body in [
            format!(
                r#"{{"id":"evt_1","type":"x","created":"{secret_ish}","data":{{"object":{{}}}}}}"#
            ),
            format!(r#"{{"id":"evt_1","type":["{secret_ish}"],"data":{{"object":{{}}}}}}"#),
            format!(
                r#"{{"id":"evt_1","type":"x","livemode":"{secret_ish}","data":{{"object":{{}}}}}}"#
            ),
            format!(r#"{{"id":"evt_1","type":"x","data":{{"object":{{}}}},"x":{secret_ish}}}"#),
            format!(r#"{{"id":"evt_1","type":"x","data":"{secret_ish}"}}"#),
            format!(r#"{{"id":{{"{secret_ish}":1}},"type":"x","data":{{"object":{{}}}}}}"#),
            r#"{"id":"evt_1","type":"x","data":{"object":{}}"#.to_string(),
            format!("\"{secret_ish}\""),
            secret_ish.to_string(),
        ] {
            let e = parse_event(body.as_bytes()).unwrap_err();
            assert!(e.starts_with("not a Stripe event: "), "{e}");
            for word in ["CUSTOMER", "jane", "4242"] {
                assert!(!e.contains(word), "{e} quotes the body");
            }
        }
        let e = parse_event(br#"{"type":"x","data":{"object":{}}}"#).unwrap_err();
        assert_eq!(e, "not a Stripe event: missing field id");
    }

    #[test]
    fn session_snapshots_read_what_fulfillment_needs() {
        let s = SessionSnapshot::from_object(&json!({
            "id": "cs_1", "customer_email": "a@b.co", "metadata": {"n": 1, "product_id": "p"},
            "payment_intent": {"id": "pi_9"}
        }))
        .unwrap();
        assert_eq!(s.customer_email.as_deref(), Some("a@b.co"));
        assert_eq!(s.metadata.get("n").map(String::as_str), Some("1"));
        assert_eq!(s.payment_intent.as_deref(), Some("pi_9"));
        assert!(SessionSnapshot::from_object(&json!({"object": "checkout.session"})).is_none());
    }
}
