//! Refunds: `create_refund` (money back to the customer, exactly once), `get_refund`, `list_refunds`.

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
    Amount, Money, ToolError, check_id, check_metadata, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        refunds::{CreateRefund, Refund, RefundReason},
    },
    tools::StripeMcp,
};

/// Prefixes of refund ids: re_, and pyr_ for refunds of py_ payments.
pub const REFUND_PREFIXES: &[&str] = &["re_", "pyr_"];

/// Arguments of `get_refund`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetRefundArgs {
    /// The refund (re_...).
    pub refund: String,
}

/// Arguments of `list_refunds`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRefundsArgs {
    /// Only the refunds of this charge (ch_... or py_...). Give this or payment_intent, not both.
    pub charge: Option<String>,
    /// Only the refunds of this payment intent (pi_...). Give this or charge, not both.
    pub payment_intent: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// A refund as `get_refund` and `list_refunds` return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RefundSummary {
    /// re_...
    pub id: String,
    /// pending, succeeded, failed, canceled or requires_action.
    pub status: Option<String>,
    /// The refunded amount.
    pub amount: Money,
    /// The refunded PaymentIntent (pi_...), if any.
    pub payment_intent: Option<String>,
    /// The refunded Charge (ch_...), if any.
    pub charge: Option<String>,
    /// duplicate, fraudulent, requested_by_customer, or another reason Stripe set.
    pub reason: Option<String>,
    /// Why the refund failed, when status is failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Key-value notes.
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
}

impl From<Refund> for RefundSummary {
    fn from(r: Refund) -> Self {
        RefundSummary {
            amount: Money::new(r.amount, &r.currency),
            id: r.id,
            status: r.status,
            payment_intent: r.payment_intent,
            charge: r.charge,
            reason: r.reason,
            failure_reason: r.failure_reason,
            metadata: r.metadata.unwrap_or_default(),
            created: r.created,
        }
    }
}

/// What `list_refunds` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListRefundsOutput {
    /// Newest first.
    pub refunds: Vec<RefundSummary>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/refunds`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RefundFilters {
    /// `ch_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<String>,
    /// `pi_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
}

/// Validates `list_refunds`' arguments: the filters, the limit and the cursor.
pub fn build_list(
    args: ListRefundsArgs,
) -> Result<(RefundFilters, u32, Option<String>), ToolError> {
    if args.charge.is_some() && args.payment_intent.is_some() {
        return Err(ToolError::invalid(
            "give charge or payment_intent, not both: they name the same payment",
        ));
    }
    Ok((
        RefundFilters {
            charge: args
                .charge
                .map(|c| check_id("charge", &c, &["ch_", "py_"]))
                .transpose()?,
            payment_intent: args
                .payment_intent
                .map(|p| check_id("payment_intent", &p, &["pi_"]))
                .transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, REFUND_PREFIXES))
            .transpose()?,
    ))
}

/// Arguments of `create_refund`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundArgs {
    /// The payment to refund, as a PaymentIntent id (pi_...). Give this or charge, not both.
    pub payment_intent: Option<String>,
    /// The payment to refund, as a Charge id (ch_... or py_...). Give this or payment_intent, not both.
    pub charge: Option<String>,
    /// Partial refund in minor units (500 = $5.00); omit for all that is left.
    pub amount: Option<Amount>,
    /// Why: "duplicate", "fraudulent" or "requested_by_customer".
    pub reason: Option<RefundReason>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// What `create_refund` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RefundOutput {
    /// re_...
    pub id: String,
    /// pending, succeeded, failed, canceled or requires_action.
    pub status: Option<String>,
    /// The refunded amount.
    pub amount: Money,
    /// Lowercase ISO code.
    pub currency: String,
    /// The refunded PaymentIntent, if any.
    pub payment_intent: Option<String>,
    /// The refunded Charge, if any.
    pub charge: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// The key this refund was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Validates the arguments into Stripe's request. Nothing is sent.
pub fn build_request(args: CreateRefundArgs) -> Result<(CreateRefund, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let (payment_intent, charge) = match (args.payment_intent, args.charge) {
        (Some(pi), None) => (Some(check_id("payment_intent", &pi, &["pi_"])?), None),
        (None, Some(ch)) => (None, Some(check_id("charge", &ch, &["ch_", "py_"])?)),
        (Some(_), Some(_)) => {
            return Err(ToolError::invalid(
                "give payment_intent or charge, not both: they name the same payment",
            ));
        }
        (None, None) => {
            return Err(ToolError::invalid(
                "say which payment to refund: payment_intent (pi_...) or charge (ch_...)",
            )
            .with_hint("Find the payment first: list_charges or list_payment_intents (filter by customer; list_customers finds the customer by email) give its ch_ or pi_ id."));
        }
    };
    let amount = match args.amount {
        None => None,
        Some(a) => {
            let v = a.minor_units("amount", None)?;
            if v == 0 {
                return Err(ToolError::invalid(
                    "amount must be at least 1 (smallest currency unit); omit it to refund the whole payment",
                ));
            }
            Some(v)
        }
    };
    Ok((
        CreateRefund {
            payment_intent,
            charge,
            amount,
            reason: args.reason,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

#[tool_router(router = refunds_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Refund a payment (payment_intent or charge), in full or in part: money goes back to the customer and cannot be undone.
    #[tool(annotations(
        title = "Refund a payment",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_refund(
        &self,
        Parameters(args): Parameters<CreateRefundArgs>,
    ) -> Result<Json<RefundOutput>, ToolError> {
        let (params, key) = build_request(args)?;
        let refund = self
            .write(self.client.create_refund(&params, &key), &key)
            .await?;
        Ok(Json(RefundOutput {
            amount: Money::new(refund.amount, &refund.currency),
            id: refund.id,
            status: refund.status,
            currency: refund.currency,
            payment_intent: refund.payment_intent,
            charge: refund.charge,
            reason: refund.reason,
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// Get a refund (re_...): status, amount, payment, reason, failure.
    #[tool(annotations(
        title = "Get a refund",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_refund(
        &self,
        Parameters(args): Parameters<GetRefundArgs>,
    ) -> Result<Json<RefundSummary>, ToolError> {
        let id = check_id("refund", &args.refund, REFUND_PREFIXES)?;
        let refund = self
            .client
            .retrieve_refund(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(refund.into()))
    }

    /// List refunds, newest first, optionally of one charge or payment intent.
    #[tool(annotations(
        title = "List refunds",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_refunds(
        &self,
        Parameters(args): Parameters<ListRefundsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListRefundsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<Refund> = pagination::list(
            self,
            "/v1/refunds",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListRefundsOutput {
            refunds: page.items.into_iter().map(RefundSummary::from).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<CreateRefund, ToolError> {
        build_request(serde_json::from_value(v).unwrap()).map(|(r, _)| r)
    }

    #[test]
    fn exactly_one_payment_must_be_named() {
        assert!(
            build(json!({}))
                .unwrap_err()
                .message
                .contains("which payment")
        );
        assert!(
            build(json!({"payment_intent": "pi_1", "charge": "ch_1"}))
                .unwrap_err()
                .message
                .contains("not both")
        );
        assert_eq!(
            build(json!({"payment_intent": "pi_1"}))
                .unwrap()
                .payment_intent
                .as_deref(),
            Some("pi_1")
        );
        assert_eq!(
            build(json!({"charge": "ch_1"})).unwrap().charge.as_deref(),
            Some("ch_1")
        );
    }

    #[test]
    fn the_id_prefix_is_checked() {
        assert!(
            build(json!({"payment_intent": "ch_1"}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
        assert!(
            build(json!({"charge": "pi_1"}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
    }

    #[test]
    fn list_refunds_takes_one_payment_filter_and_checks_ids() {
        let l = |v| build_list(serde_json::from_value(v).unwrap());
        assert!(
            l(json!({"charge": "ch_1", "payment_intent": "pi_1"}))
                .unwrap_err()
                .message
                .contains("not both")
        );
        assert!(l(json!({"charge": "pi_1"})).is_err());
        assert!(l(json!({"payment_intent": "ch_1"})).is_err());
        assert!(l(json!({"starting_after": "ch_1"})).is_err());
        let (f, limit, after) =
            l(json!({"payment_intent": "pi_1", "limit": 3, "starting_after": "re_1"})).unwrap();
        assert_eq!(f.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!((limit, after.as_deref()), (3, Some("re_1")));
    }

    #[test]
    fn partial_amounts_must_be_positive_integers() {
        assert_eq!(
            build(json!({"payment_intent": "pi_1", "amount": 500}))
                .unwrap()
                .amount,
            Some(500)
        );
        assert!(build(json!({"payment_intent": "pi_1", "amount": 0})).is_err());
        assert!(build(json!({"payment_intent": "pi_1", "amount": 5.0})).is_err());
        assert!(build(json!({"payment_intent": "pi_1", "amount": -500})).is_err());
    }
}
