//! Payment intents: `create_payment_intent`, `confirm_payment_intent`,
//! `get_payment_intent`, `list_payment_intents`, `cancel_payment_intent`.
//!
//! Outputs never carry `client_secret`: whoever holds it can confirm the payment.

use std::collections::BTreeMap;

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{
    Amount, ErrorKind, Money, ToolError, check_email, check_id, check_metadata, check_text,
    check_url, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey, Mode,
        currency::parse_currency,
        payment_intents::{
            AllowRedirects, AutomaticPaymentMethods, CancelPaymentIntent, CancellationReason,
            ConfirmPaymentIntent, CreatePaymentIntent, PaymentIntent,
        },
    },
    tools::StripeMcp,
};

/// Prefixes of payment method ids a payment intent accepts.
pub const PAYMENT_METHOD_PREFIXES: &[&str] = &["pm_", "card_", "src_", "ba_"];

/// Arguments of `create_payment_intent`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentIntentArgs {
    /// Minor units: 4999 = $49.99, 500 = ¥500.
    pub amount: Amount,
    /// Three-letter lowercase ISO currency code, e.g. "usd", "eur", "jpy".
    pub currency: String,
    /// An existing customer (cus_...) the payment belongs to.
    pub customer: Option<String>,
    /// Free text shown in the Dashboard (at most 1000 characters).
    pub description: Option<String>,
    /// Email Stripe sends the receipt to once the payment succeeds.
    pub receipt_email: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// The payment method to charge (pm_...; in test mode e.g. "pm_card_visa"). Required with confirm.
    pub payment_method: Option<String>,
    /// true charges payment_method now. Default false: only prepares it.
    pub confirm: Option<bool>,
    /// With confirm: where the customer returns after 3D Secure or a bank page. Without it, redirecting methods are off.
    pub return_url: Option<String>,
    /// Allow redirecting payment methods. Default never when confirming without return_url, else always.
    pub allow_redirects: Option<AllowRedirects>,
    /// Only these method types, e.g. ["card"] (not with allow_redirects). Default: the Dashboard's.
    pub payment_method_types: Option<Vec<String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Arguments of `confirm_payment_intent`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPaymentIntentArgs {
    /// The payment intent to confirm (pi_...).
    pub payment_intent: String,
    /// The payment method to charge (pm_...), if the intent has none yet or to replace it.
    pub payment_method: Option<String>,
    /// Where the customer returns after a redirect; needed if redirects are allowed.
    pub return_url: Option<String>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Arguments of `get_payment_intent`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPaymentIntentArgs {
    /// The payment intent (pi_...).
    pub payment_intent: String,
}

/// Arguments of `list_payment_intents`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPaymentIntentsArgs {
    /// Only this customer's payment intents (cus_...).
    pub customer: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Arguments of `cancel_payment_intent`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPaymentIntentArgs {
    /// The payment intent (pi_...), not yet succeeded.
    pub payment_intent: String,
    /// Why: "abandoned", "duplicate", "fraudulent" or "requested_by_customer".
    pub cancellation_reason: Option<CancellationReason>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Why the last payment attempt failed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PaymentErrorSummary {
    /// Stripe's error type, e.g. "card_error" (the customer's card) or "api_error"
    /// (Stripe's side): what tells whether another attempt can help.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// e.g. "card_declined".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The bank's reason, e.g. "insufficient_funds".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
    /// Stripe's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the customer must do before the payment can go on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NextActionSummary {
    /// Stripe's next_action type: "redirect_to_url", "use_stripe_sdk", ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Where to send the customer (redirect_to_url only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// A payment intent as the tools return it (never its client_secret).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PaymentIntentOutput {
    /// pi_...
    pub id: String,
    /// requires_payment_method, requires_confirmation, requires_action, processing, requires_capture, canceled or succeeded. Only "succeeded" means the money was collected.
    pub status: Option<String>,
    /// The amount to collect.
    pub amount: Money,
    /// The amount collected so far.
    pub amount_received: Money,
    /// The customer (cus_...), if any.
    pub customer: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The latest charge attempt (ch_...), for get_charge and refunds.
    pub latest_charge: Option<String>,
    /// The payment method (pm_...).
    pub payment_method: Option<String>,
    /// Why the last attempt failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_payment_error: Option<PaymentErrorSummary>,
    /// What the customer must do next, when status is requires_action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextActionSummary>,
    /// Present when the payment waits for the customer (3D Secure or similar): what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_required: Option<String>,
    /// Where the receipt goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_email: Option<String>,
    /// Why it was canceled, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
    /// Key-value notes.
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
    /// True when real money moves.
    pub livemode: bool,
    /// Writes only: the key used; reuse it to retry safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// What `list_payment_intents` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListPaymentIntentsOutput {
    /// Newest first.
    pub payment_intents: Vec<PaymentIntentOutput>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/payment_intents`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PaymentIntentFilters {
    /// `cus_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}

impl PaymentIntentOutput {
    /// The compact view of a payment intent.
    pub fn from_stripe(pi: PaymentIntent, key: Option<&IdempotencyKey>) -> Self {
        let next_action = pi.next_action.and_then(|n| {
            n.kind.map(|kind| NextActionSummary {
                redirect_url: n.redirect_to_url.and_then(|r| r.url),
                kind,
            })
        });
        let action_required = (pi.status.as_deref() == Some("requires_action")).then(|| {
            match next_action.as_ref() {
                Some(NextActionSummary { redirect_url: Some(_), .. }) => {
                    "Customer action needed: the bank requires 3D Secure authentication (or another customer step). The payment is NOT complete: send the customer to next_action.redirect_url; Stripe brings them back to the return_url and the status then changes.".to_owned()
                }
                other => format!(
                    "Customer action needed: the bank requires 3D Secure authentication (or another customer step, next_action type {}). The payment is NOT complete and cannot be finished server-side: the customer must complete it in your app with Stripe.js, or take the payment with initiate_checkout instead.",
                    other.map_or("unknown", |n| n.kind.as_str())
                ),
            }
        });
        PaymentIntentOutput {
            amount: Money::new(pi.amount, &pi.currency),
            amount_received: Money::new(pi.amount_received, &pi.currency),
            last_payment_error: pi.last_payment_error.map(|e| PaymentErrorSummary {
                kind: e.kind,
                code: e.code,
                decline_code: e.decline_code,
                message: e.message,
            }),
            id: pi.id,
            status: pi.status,
            customer: pi.customer,
            description: pi.description,
            latest_charge: pi.latest_charge,
            payment_method: pi.payment_method,
            next_action,
            action_required,
            receipt_email: pi.receipt_email,
            cancellation_reason: pi.cancellation_reason,
            metadata: pi.metadata.unwrap_or_default(),
            created: pi.created,
            livemode: pi.livemode,
            idempotency_key: key.map(|k| k.as_str().to_owned()),
        }
    }
}

fn check_payment_method(raw: &str) -> Result<String, ToolError> {
    check_id("payment_method", raw, PAYMENT_METHOD_PREFIXES)
}

/// Validates `create_payment_intent`'s arguments into Stripe's request. Nothing is sent.
pub fn build_create(
    args: CreatePaymentIntentArgs,
    mode: Mode,
) -> Result<(CreatePaymentIntent, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let currency = parse_currency(&args.currency).map_err(ToolError::invalid)?;
    let amount = args.amount.minor_units("amount", Some(&currency))?;
    if amount == 0 {
        return Err(ToolError::invalid(
            "amount must be at least 1 in the smallest currency unit (and Stripe's minimum charge is about 50 cents)",
        ));
    }
    let confirm = args.confirm.unwrap_or(false);
    let payment_method = args
        .payment_method
        .as_deref()
        .map(check_payment_method)
        .transpose()?;
    if confirm && payment_method.is_none() {
        return Err(ToolError::invalid(
            "confirm needs payment_method: say which payment method (pm_...) to charge",
        )
        .with_hint("Without a saved payment method, use initiate_checkout to get a payment page for the customer."));
    }
    let return_url = match args.return_url {
        Some(_) if !confirm => {
            return Err(ToolError::invalid(
                "return_url is only accepted with confirm: true (pass it to confirm_payment_intent instead)",
            ));
        }
        Some(u) => Some(check_url("return_url", &u, mode)?),
        None => None,
    };
    let payment_method_types = match args.payment_method_types {
        None => vec![],
        Some(types) => {
            if args.allow_redirects.is_some() {
                return Err(ToolError::invalid(
                    "give payment_method_types or allow_redirects, not both: allow_redirects applies to the Dashboard's automatic payment methods",
                ));
            }
            if types.is_empty() || types.len() > 50 {
                return Err(ToolError::invalid(
                    "payment_method_types needs 1 to 50 entries, e.g. [\"card\"]; omit it to use the Dashboard's payment methods",
                ));
            }
            for t in &types {
                if t.is_empty()
                    || t.len() > 40
                    || !t
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    return Err(ToolError::invalid(format!(
                        "payment_method_types entry {t:?} is not a payment method type like \"card\", \"sepa_debit\" or \"us_bank_account\""
                    )));
                }
            }
            types
        }
    };
    let automatic_payment_methods = if payment_method_types.is_empty() {
        let allow_redirects = match args.allow_redirects {
            Some(AllowRedirects::Always) if confirm && return_url.is_none() => {
                return Err(ToolError::invalid(
                    "allow_redirects \"always\" with confirm needs return_url: Stripe must know where the customer comes back to after a redirect",
                ));
            }
            Some(a) => Some(a),
            None if confirm && return_url.is_none() => Some(AllowRedirects::Never),
            None => None,
        };
        Some(AutomaticPaymentMethods {
            enabled: true,
            allow_redirects,
        })
    } else {
        None
    };
    Ok((
        CreatePaymentIntent {
            amount,
            currency,
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
            description: args
                .description
                .map(|d| check_text("description", &d, 1000))
                .transpose()?,
            receipt_email: args
                .receipt_email
                .map(|e| check_email("receipt_email", &e))
                .transpose()?,
            payment_method,
            confirm: confirm.then_some(true),
            return_url,
            automatic_payment_methods,
            payment_method_types,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Validates `confirm_payment_intent`'s arguments. Nothing is sent.
pub fn build_confirm(
    args: ConfirmPaymentIntentArgs,
    mode: Mode,
) -> Result<(String, ConfirmPaymentIntent, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let id = check_id("payment_intent", &args.payment_intent, &["pi_"])?;
    Ok((
        id,
        ConfirmPaymentIntent {
            payment_method: args
                .payment_method
                .as_deref()
                .map(check_payment_method)
                .transpose()?,
            return_url: args
                .return_url
                .map(|u| check_url("return_url", &u, mode))
                .transpose()?,
        },
        key,
    ))
}

/// Validates `list_payment_intents`' arguments: the filters, the limit and the cursor.
pub fn build_list(
    args: ListPaymentIntentsArgs,
) -> Result<(PaymentIntentFilters, u32, Option<String>), ToolError> {
    Ok((
        PaymentIntentFilters {
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["pi_"]))
            .transpose()?,
    ))
}

#[tool_router(router = payment_intents_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a PaymentIntent; with payment_method and confirm: true, charge it now. Returns status (succeeded = paid, requires_action = customer must authenticate); a decline is a card_declined error. Customers without a saved method: use initiate_checkout.
    #[tool(annotations(
        title = "Create a payment",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_payment_intent(
        &self,
        Parameters(args): Parameters<CreatePaymentIntentArgs>,
    ) -> Result<Json<PaymentIntentOutput>, ToolError> {
        let (params, key) = build_create(args, self.client.mode())?;
        let pi = self
            .write(self.client.create_payment_intent(&params, &key), &key)
            .await?;
        Ok(Json(PaymentIntentOutput::from_stripe(pi, Some(&key))))
    }

    /// Confirm a PaymentIntent (pi_...): attempt the payment. Returns status: succeeded = paid, processing = later, requires_action = customer must authenticate (see next_action). A decline is a card_declined error.
    #[tool(annotations(
        title = "Confirm a payment",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn confirm_payment_intent(
        &self,
        Parameters(args): Parameters<ConfirmPaymentIntentArgs>,
    ) -> Result<Json<PaymentIntentOutput>, ToolError> {
        let (id, params, key) = build_confirm(args, self.client.mode())?;
        let without_return_url = params.return_url.is_none();
        let pi = self
            .write(self.client.confirm_payment_intent(&id, &params, &key), &key)
            .await
            .map_err(|mut e| {
                if without_return_url
                    && e.kind == ErrorKind::InvalidArgument
                    && e.message.contains("return_url")
                {
                    e.hint = Some("This payment intent allows redirect-based payment methods, so Stripe needs a return_url to confirm it: call again with return_url (where the customer comes back after authenticating), or create payment intents with allow_redirects \"never\".".to_owned());
                }
                e
            })?;
        Ok(Json(PaymentIntentOutput::from_stripe(pi, Some(&key))))
    }

    /// Get a PaymentIntent (pi_...): status, amounts, customer, latest charge, last error, next action.
    #[tool(annotations(
        title = "Get a payment",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_payment_intent(
        &self,
        Parameters(args): Parameters<GetPaymentIntentArgs>,
    ) -> Result<Json<PaymentIntentOutput>, ToolError> {
        let id = check_id("payment_intent", &args.payment_intent, &["pi_"])?;
        let pi = self
            .client
            .retrieve_payment_intent(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(PaymentIntentOutput::from_stripe(pi, None)))
    }

    /// List PaymentIntents, newest first, optionally one customer's: status, amounts, latest charge.
    #[tool(annotations(
        title = "List payments",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_payment_intents(
        &self,
        Parameters(args): Parameters<ListPaymentIntentsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListPaymentIntentsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<PaymentIntent> = pagination::list(
            self,
            "/v1/payment_intents",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListPaymentIntentsOutput {
            payment_intents: page
                .items
                .into_iter()
                .map(|pi| PaymentIntentOutput::from_stripe(pi, None))
                .collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Cancel an unpaid PaymentIntent (pi_...): it can never be paid; a hold is released. Cannot be undone. Paid ones: create_refund.
    #[tool(annotations(
        title = "Cancel a payment",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn cancel_payment_intent(
        &self,
        Parameters(args): Parameters<CancelPaymentIntentArgs>,
    ) -> Result<Json<PaymentIntentOutput>, ToolError> {
        let key = idempotency_key(args.idempotency_key.as_deref())?;
        let id = check_id("payment_intent", &args.payment_intent, &["pi_"])?;
        let params = CancelPaymentIntent {
            cancellation_reason: args.cancellation_reason,
        };
        let pi = self
            .write(self.client.cancel_payment_intent(&id, &params, &key), &key)
            .await?;
        Ok(Json(PaymentIntentOutput::from_stripe(pi, Some(&key))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;
    use serde_json::json;

    fn create(v: serde_json::Value) -> Result<CreatePaymentIntent, ToolError> {
        build_create(serde_json::from_value(v).unwrap(), Mode::Test).map(|(p, _)| p)
    }

    fn refused(v: serde_json::Value) -> String {
        create(v).unwrap_err().message
    }

    #[test]
    fn an_unconfirmed_intent_uses_the_dashboards_payment_methods() {
        let p = create(json!({"amount": 2000, "currency": "USD"})).unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "amount=2000&currency=usd&automatic_payment_methods[enabled]=true"
        );
    }

    #[test]
    fn confirming_without_return_url_turns_redirects_off() {
        let p = create(json!({"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": true})).unwrap();
        let a = p.automatic_payment_methods.unwrap();
        assert_eq!(a.allow_redirects, Some(AllowRedirects::Never));
        let p = create(json!({"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": true,
                              "return_url": "https://shop.example/back"}))
        .unwrap();
        assert_eq!(p.automatic_payment_methods.unwrap().allow_redirects, None);
        assert_eq!(p.return_url.as_deref(), Some("https://shop.example/back"));
    }

    #[test]
    fn explicit_payment_method_types_replace_automatic_payment_methods() {
        let p = create(json!({"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": true,
                              "payment_method_types": ["card"]}))
        .unwrap();
        assert!(p.automatic_payment_methods.is_none());
        assert_eq!(
            encode_form(&p).unwrap(),
            "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true&payment_method_types[0]=card"
        );
    }

    #[test]
    fn bad_create_arguments_are_refused() {
        assert!(refused(json!({"amount": 20.5, "currency": "usd"})).contains("integer"));
        assert!(refused(json!({"amount": 0, "currency": "usd"})).contains("at least 1"));
        assert!(refused(json!({"amount": 100, "currency": "dollars"})).contains("usd"));
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "confirm": true}))
                .contains("payment_method")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "return_url": "https://a.example/"}))
                .contains("confirm")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method": "pm_1", "confirm": true, "return_url": "/back"}))
                .contains("absolute")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method": "pm_1", "confirm": true, "allow_redirects": "always"}))
                .contains("return_url")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method_types": ["card"], "allow_redirects": "never"}))
                .contains("not both")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method_types": []}))
                .contains("1 to 50")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method_types": ["Card!"]}))
                .contains("type")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "payment_method": "ch_1"}))
                .contains("wrong prefix")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "customer": "pi_1"}))
                .contains("wrong prefix")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "receipt_email": "nope"}))
                .contains("email")
        );
        assert!(
            refused(json!({"amount": 100, "currency": "usd", "description": " "}))
                .contains("empty")
        );
    }

    #[test]
    fn confirm_checks_the_id_and_the_url() {
        let c = |v| build_confirm(serde_json::from_value(v).unwrap(), Mode::Live);
        assert!(c(json!({"payment_intent": "ch_1"})).is_err());
        assert!(c(json!({"payment_intent": "pi_1", "return_url": "http://a.example/"})).is_err());
        let (id, p, _) = c(json!({"payment_intent": "pi_1", "payment_method": "pm_card_visa", "return_url": "https://a.example/"})).unwrap();
        assert_eq!(id, "pi_1");
        assert_eq!(
            encode_form(&p).unwrap(),
            "payment_method=pm_card_visa&return_url=https%3A%2F%2Fa.example%2F"
        );
    }

    #[test]
    fn list_filters_and_cursor_are_checked() {
        let l = |v| build_list(serde_json::from_value(v).unwrap());
        assert!(l(json!({"customer": "ch_1"})).is_err());
        assert!(l(json!({"starting_after": "cus_1"})).is_err());
        assert!(l(json!({"limit": 0})).is_err());
        let (f, limit, after) =
            l(json!({"customer": "cus_1", "limit": 5, "starting_after": "pi_9"})).unwrap();
        assert_eq!(
            (f.customer.as_deref(), limit, after.as_deref()),
            (Some("cus_1"), 5, Some("pi_9"))
        );
    }

    #[test]
    fn requires_action_says_so_and_gives_the_redirect_url() {
        let pi: PaymentIntent = serde_json::from_value(json!({
            "id": "pi_1", "amount": 2000, "currency": "usd", "status": "requires_action",
            "client_secret": "pi_1_secret_x",
            "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds", "return_url": "https://a.example"}}
        }))
        .unwrap();
        let out = PaymentIntentOutput::from_stripe(pi, None);
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(
            v["next_action"],
            json!({"type": "redirect_to_url", "redirect_url": "https://hooks.stripe.com/3ds"})
        );
        assert!(v["action_required"].as_str().unwrap().contains("3D Secure"));
        assert!(!v.to_string().contains("secret"), "{v}");
        let pi: PaymentIntent = serde_json::from_value(json!({
            "id": "pi_1", "amount": 2000, "currency": "usd", "status": "requires_action",
            "next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
        }))
        .unwrap();
        let v = serde_json::to_value(PaymentIntentOutput::from_stripe(pi, None)).unwrap();
        assert_eq!(v["next_action"], json!({"type": "use_stripe_sdk"}));
        assert!(
            v["action_required"]
                .as_str()
                .unwrap()
                .contains("use_stripe_sdk")
        );
    }
}
