//! What a tool call would do to the account, decided from its name and arguments alone
//! (pure: nothing is sent): the [`Action`] that confirmation asks a person about, and
//! that limits and the audit trail read too, so all three agree on what a call is.
//!
//! The generic write is read by its method and path, so `POST /v1/refunds` through
//! `stripe_api_write` is the same refund as `create_refund`; a generic write this module
//! does not recognise is [`ActionKind::OtherWrite`], which needs confirmation.

use serde_json::{Map, Value};

/// What kind of effect a write has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Money goes back to a customer (a refund).
    Refund,
    /// Money is taken from a customer: a payment confirmed or captured, an invoice paid,
    /// a subscription that may charge a saved card.
    Take,
    /// Money leaves the Stripe balance: a payout, a transfer.
    Payout,
    /// Something in progress is stopped for good: a payment intent or subscription
    /// canceled, a checkout session expired.
    Cancel,
    /// A change that cannot be undone: an invoice finalized or voided, dispute
    /// evidence submitted, an object deleted.
    Irreversible,
    /// A typed tool's ordinary, reversible write (a customer created, a product renamed).
    Write,
    /// A generic write (`stripe_api_write`) whose effect is not known here.
    OtherWrite,
}

impl ActionKind {
    /// True for the kinds a person confirms: everything but an ordinary typed write.
    pub fn needs_confirmation(self) -> bool {
        !matches!(self, ActionKind::Write)
    }

    /// The name used in errors, logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Refund => "refund",
            ActionKind::Take => "take",
            ActionKind::Payout => "payout",
            ActionKind::Cancel => "cancel",
            ActionKind::Irreversible => "irreversible",
            ActionKind::Write => "write",
            ActionKind::OtherWrite => "other_write",
        }
    }
}

/// One write, as far as its arguments tell. Amounts are integers in the currency's
/// minor unit, as Stripe takes them; absent where the arguments do not say (a full
/// refund, a confirm of an existing payment intent): the confirmation looks those up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// What the write does.
    pub kind: ActionKind,
    /// The tool called.
    pub tool: String,
    /// The HTTP method the write is sent with (`POST` or `DELETE`).
    pub method: &'static str,
    /// The Stripe path, with the object id in it where there is one (`/v1/refunds`,
    /// `/v1/payment_intents/pi_1/confirm`), so limits and the audit name the endpoint.
    pub path: String,
    /// The amount given in the arguments, in minor units.
    pub amount: Option<i64>,
    /// The currency given in the arguments (lowercase as given).
    pub currency: Option<String>,
    /// The object acted on or paid from (`pi_`, `ch_`, `sub_`, `in_`, `cs_`, `dp_`, `cus_`).
    pub object_id: Option<String>,
    /// The caller's idempotency key, when given (a derived key is made later).
    pub idempotency_key: Option<String>,
}

impl Action {
    /// True when a person should confirm this action before it is sent.
    pub fn needs_confirmation(&self) -> bool {
        self.kind.needs_confirmation()
    }
}

fn str_arg(args: &Map<String, Value>, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn int_arg(args: &Map<String, Value>, key: &str) -> Option<i64> {
    args.get(key).and_then(Value::as_i64)
}

/// A boolean argument, also in the form-style spelling a generic write may use ("true").
fn bool_arg(args: &Map<String, Value>, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Classifies a call to `tool` with `args`. `writes` says whether the tool is a write
/// (its annotations say it is not read-only); a read is `None`.
pub fn classify(tool: &str, args: &Map<String, Value>, writes: bool) -> Option<Action> {
    if !writes {
        return None;
    }
    let id = |key: &str| str_arg(args, key);
    let action = |kind, path: String, object_id: Option<String>| Action {
        kind,
        tool: tool.to_owned(),
        method: "POST",
        path,
        amount: None,
        currency: None,
        object_id,
        idempotency_key: str_arg(args, "idempotency_key"),
    };
    let seg = |v: &Option<String>| v.clone().unwrap_or_else(|| "{id}".into());
    Some(match tool {
        "create_refund" => Action {
            amount: int_arg(args, "amount"),
            ..action(
                ActionKind::Refund,
                "/v1/refunds".into(),
                id("payment_intent").or_else(|| id("charge")),
            )
        },
        "create_payment_intent" => Action {
            amount: int_arg(args, "amount"),
            currency: str_arg(args, "currency"),
            ..action(
                if bool_arg(args, "confirm") {
                    ActionKind::Take
                } else {
                    ActionKind::Write
                },
                "/v1/payment_intents".into(),
                id("customer"),
            )
        },
        "confirm_payment_intent" => {
            let pi = id("payment_intent");
            action(
                ActionKind::Take,
                format!("/v1/payment_intents/{}/confirm", seg(&pi)),
                pi,
            )
        }
        "cancel_payment_intent" => {
            let pi = id("payment_intent");
            action(
                ActionKind::Cancel,
                format!("/v1/payment_intents/{}/cancel", seg(&pi)),
                pi,
            )
        }
        "cancel_subscription" => {
            let sub = id("subscription");
            // At period end the subscription stays active until then and can be
            // resumed: still confirmed, because it ends what a customer pays for.
            Action {
                method: if bool_arg(args, "at_period_end") {
                    "POST"
                } else {
                    "DELETE"
                },
                ..action(
                    ActionKind::Cancel,
                    format!("/v1/subscriptions/{}", seg(&sub)),
                    sub,
                )
            }
        }
        "expire_checkout_session" => {
            let cs = id("session");
            action(
                ActionKind::Cancel,
                format!("/v1/checkout/sessions/{}/expire", seg(&cs)),
                cs,
            )
        }
        "finalize_invoice" => {
            let inv = id("invoice");
            action(
                ActionKind::Irreversible,
                format!("/v1/invoices/{}/finalize", seg(&inv)),
                inv,
            )
        }
        "update_dispute" => {
            let dp = id("dispute");
            action(
                if bool_arg(args, "submit") {
                    ActionKind::Irreversible
                } else {
                    ActionKind::Write
                },
                format!("/v1/disputes/{}", seg(&dp)),
                dp,
            )
        }
        // A new subscription charges the customer's saved card at once unless it
        // is invoiced by email or starts with a trial.
        "create_subscription" => action(
            if str_arg(args, "collection_method").as_deref() == Some("send_invoice") {
                ActionKind::Write
            } else {
                ActionKind::Take
            },
            "/v1/subscriptions".into(),
            id("customer"),
        ),
        // New items change what the customer pays, and proration may charge now.
        "update_subscription" => {
            let sub = id("subscription");
            action(
                if args.get("items").is_some_and(|v| !v.is_null()) {
                    ActionKind::Take
                } else {
                    ActionKind::Write
                },
                format!("/v1/subscriptions/{}", seg(&sub)),
                sub,
            )
        }
        "stripe_api_write" => {
            let method = match str_arg(args, "method").as_deref() {
                Some("DELETE") => "DELETE",
                _ => "POST",
            };
            let path = str_arg(args, "path").unwrap_or_default();
            let empty = Map::new();
            let params = args
                .get("params")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let (kind, object_id) = classify_generic(method, &path, params);
            Action {
                kind,
                tool: tool.to_owned(),
                method,
                amount: generic_amount(kind, &path, params),
                currency: str_arg(params, "currency"),
                object_id,
                path,
                idempotency_key: str_arg(args, "idempotency_key"),
            }
        }
        _ => action(ActionKind::Write, String::new(), None),
    })
}

/// The amount a generic write names for its kind: `amount`, or what a capture takes.
fn generic_amount(kind: ActionKind, path: &str, params: &Map<String, Value>) -> Option<i64> {
    match kind {
        ActionKind::Take if path.ends_with("/capture") => {
            int_arg(params, "amount_to_capture").or_else(|| int_arg(params, "amount"))
        }
        ActionKind::Refund | ActionKind::Take | ActionKind::Payout => int_arg(params, "amount"),
        _ => None,
    }
}

/// Reads a generic write's method and path (and the params that change its effect).
/// The path is taken as given; `stripe_api_write` refuses a malformed one later.
pub fn classify_generic(
    method: &str,
    path: &str,
    params: &Map<String, Value>,
) -> (ActionKind, Option<String>) {
    let trimmed = path.trim_end_matches('/');
    let Some(rest) = trimmed.strip_prefix("/v1/") else {
        return (ActionKind::OtherWrite, None);
    };
    let segs: Vec<&str> = rest.split('/').collect();
    let some = |s: &str| Some(s.to_owned());
    if method == "DELETE" {
        return match segs.as_slice() {
            ["subscriptions", id] => (ActionKind::Cancel, some(id)),
            [_, id, ..] => (ActionKind::Irreversible, some(id)),
            _ => (ActionKind::OtherWrite, None),
        };
    }
    let paid_from = || {
        str_arg(params, "payment_intent")
            .or_else(|| str_arg(params, "charge"))
            .or_else(|| str_arg(params, "customer"))
    };
    match segs.as_slice() {
        ["refunds"] => (ActionKind::Refund, paid_from()),
        ["charges", id, "refund" | "refunds"] => (ActionKind::Refund, some(id)),
        ["payment_intents"] if bool_arg(params, "confirm") => (ActionKind::Take, paid_from()),
        [
            "payment_intents",
            id,
            "confirm" | "capture" | "increment_authorization",
        ] => (ActionKind::Take, some(id)),
        ["charges"] => (ActionKind::Take, paid_from()),
        ["charges", id, "capture"] => (ActionKind::Take, some(id)),
        ["invoices", id, "pay"] => (ActionKind::Take, some(id)),
        ["subscriptions"] => (ActionKind::Take, paid_from()),
        ["payouts"] | ["transfers"] | ["topups"] => (ActionKind::Payout, None),
        ["payment_intents", id, "cancel"]
        | ["setup_intents", id, "cancel"]
        | ["subscriptions", id, "cancel"]
        | ["checkout", "sessions", id, "expire"] => (ActionKind::Cancel, some(id)),
        ["invoices", id, "finalize" | "void" | "mark_uncollectible"]
        | ["disputes", id, "close"]
        | ["payouts", id, "cancel" | "reverse"]
        | ["quotes", id, "finalize" | "accept"] => (ActionKind::Irreversible, some(id)),
        ["disputes", id] if bool_arg(params, "submit") => (ActionKind::Irreversible, some(id)),
        [_, id, ..] => (ActionKind::OtherWrite, some(id)),
        _ => (ActionKind::OtherWrite, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn kind(tool: &str, v: Value) -> ActionKind {
        classify(tool, &args(v), true).unwrap().kind
    }

    #[test]
    fn a_read_is_no_action() {
        assert_eq!(classify("get_balance", &Map::new(), false), None);
        assert_eq!(
            classify(
                "stripe_api_read",
                &args(json!({"path": "/v1/refunds"})),
                false
            ),
            None
        );
    }

    #[test]
    fn the_typed_money_tools_are_classified_with_their_amount_and_object() {
        let a = classify(
            "create_refund",
            &args(json!({"charge": "ch_1", "amount": 2500, "idempotency_key": "r-1"})),
            true,
        )
        .unwrap();
        assert_eq!(a.kind, ActionKind::Refund);
        assert_eq!(a.amount, Some(2500));
        assert_eq!(a.object_id.as_deref(), Some("ch_1"));
        assert_eq!(a.path, "/v1/refunds");
        assert_eq!(a.idempotency_key.as_deref(), Some("r-1"));
        assert!(a.needs_confirmation());

        let a = classify(
            "confirm_payment_intent",
            &args(json!({"payment_intent": "pi_9"})),
            true,
        )
        .unwrap();
        assert_eq!(
            (a.kind, a.path.as_str()),
            (ActionKind::Take, "/v1/payment_intents/pi_9/confirm")
        );
        for (tool, v, want) in [
            (
                "cancel_payment_intent",
                json!({"payment_intent": "pi_1"}),
                ActionKind::Cancel,
            ),
            (
                "cancel_subscription",
                json!({"subscription": "sub_1"}),
                ActionKind::Cancel,
            ),
            (
                "expire_checkout_session",
                json!({"session": "cs_1"}),
                ActionKind::Cancel,
            ),
            (
                "finalize_invoice",
                json!({"invoice": "in_1"}),
                ActionKind::Irreversible,
            ),
            (
                "update_dispute",
                json!({"dispute": "dp_1", "submit": true}),
                ActionKind::Irreversible,
            ),
            (
                "update_dispute",
                json!({"dispute": "dp_1"}),
                ActionKind::Write,
            ),
            (
                "create_subscription",
                json!({"customer": "cus_1"}),
                ActionKind::Take,
            ),
            (
                "create_subscription",
                json!({"customer": "cus_1", "collection_method": "send_invoice"}),
                ActionKind::Write,
            ),
            (
                "update_subscription",
                json!({"subscription": "sub_1", "items": [{"price": "price_1"}]}),
                ActionKind::Take,
            ),
            (
                "update_subscription",
                json!({"subscription": "sub_1", "metadata": {"a": "b"}}),
                ActionKind::Write,
            ),
            (
                "create_customer",
                json!({"email": "a@b.example"}),
                ActionKind::Write,
            ),
        ] {
            assert_eq!(kind(tool, v.clone()), want, "{tool} {v}");
        }
    }

    #[test]
    fn a_payment_intent_is_taking_money_only_when_created_confirmed() {
        let a = classify(
            "create_payment_intent",
            &args(json!({"amount": 500, "currency": "jpy", "confirm": true, "customer": "cus_1"})),
            true,
        )
        .unwrap();
        assert_eq!(a.kind, ActionKind::Take);
        assert_eq!((a.amount, a.currency.as_deref()), (Some(500), Some("jpy")));
        assert_eq!(
            kind(
                "create_payment_intent",
                json!({"amount": 500, "currency": "usd"})
            ),
            ActionKind::Write
        );
    }

    #[test]
    fn the_generic_write_is_recognised_as_the_same_action() {
        let generic = |method: &str, path: &str, params: Value| {
            classify(
                "stripe_api_write",
                &args(json!({"method": method, "path": path, "params": params})),
                true,
            )
            .unwrap()
        };
        let a = generic(
            "POST",
            "/v1/refunds",
            json!({"payment_intent": "pi_1", "amount": 700}),
        );
        assert_eq!(
            (a.kind, a.amount, a.object_id.as_deref()),
            (ActionKind::Refund, Some(700), Some("pi_1"))
        );
        let a = generic("POST", "/v1/payment_intents/pi_2/confirm", json!({}));
        assert_eq!(
            (a.kind, a.object_id.as_deref()),
            (ActionKind::Take, Some("pi_2"))
        );
        let a = generic(
            "POST",
            "/v1/payment_intents/pi_2/capture",
            json!({"amount_to_capture": 300}),
        );
        assert_eq!((a.kind, a.amount), (ActionKind::Take, Some(300)));
        for (method, path, params, want) in [
            (
                "POST",
                "/v1/payment_intents",
                json!({"confirm": "true", "amount": 1}),
                ActionKind::Take,
            ),
            (
                "POST",
                "/v1/payment_intents",
                json!({"amount": 1}),
                ActionKind::OtherWrite,
            ),
            (
                "POST",
                "/v1/charges/ch_1/refund",
                json!({}),
                ActionKind::Refund,
            ),
            ("POST", "/v1/invoices/in_1/pay", json!({}), ActionKind::Take),
            (
                "POST",
                "/v1/invoices/in_1/void",
                json!({}),
                ActionKind::Irreversible,
            ),
            (
                "POST",
                "/v1/payouts",
                json!({"amount": 5}),
                ActionKind::Payout,
            ),
            (
                "POST",
                "/v1/transfers",
                json!({"amount": 5}),
                ActionKind::Payout,
            ),
            (
                "POST",
                "/v1/checkout/sessions/cs_1/expire",
                json!({}),
                ActionKind::Cancel,
            ),
            (
                "POST",
                "/v1/payment_intents/pi_1/cancel",
                json!({}),
                ActionKind::Cancel,
            ),
            (
                "DELETE",
                "/v1/subscriptions/sub_1",
                json!({}),
                ActionKind::Cancel,
            ),
            (
                "DELETE",
                "/v1/customers/cus_1",
                json!({}),
                ActionKind::Irreversible,
            ),
            (
                "POST",
                "/v1/disputes/dp_1",
                json!({"submit": true}),
                ActionKind::Irreversible,
            ),
            (
                "POST",
                "/v1/disputes/dp_1/close",
                json!({}),
                ActionKind::Irreversible,
            ),
            (
                "POST",
                "/v1/customers",
                json!({"name": "x"}),
                ActionKind::OtherWrite,
            ),
            (
                "POST",
                "/v1/payment_links/plink_1",
                json!({"active": false}),
                ActionKind::OtherWrite,
            ),
            ("POST", "not a path", json!({}), ActionKind::OtherWrite),
        ] {
            let a = generic(method, path, params.clone());
            assert_eq!(a.kind, want, "{method} {path} {params}");
            assert!(
                a.needs_confirmation(),
                "every generic write is confirmed: {path}"
            );
        }
    }
}
