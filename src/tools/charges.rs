//! Charges: `list_charges`, `get_charge`.

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
    Money, ToolError, check_id,
    pagination::{self, Listed},
};
use crate::{stripe::charges::Charge, tools::StripeMcp};

/// Prefixes of charge ids: cards and most methods (ch_), some others (py_).
pub const CHARGE_PREFIXES: &[&str] = &["ch_", "py_"];

/// Arguments of `get_charge`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetChargeArgs {
    /// The charge (ch_... or py_...), e.g. a payment intent's latest_charge.
    pub charge: String,
}

/// Arguments of `list_charges`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChargesArgs {
    /// Only this customer's charges (cus_...).
    pub customer: Option<String>,
    /// Only the charges of this payment intent (pi_...): its attempts, failed ones included.
    pub payment_intent: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// A charge as the tools return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChargeOutput {
    /// ch_... or py_...
    pub id: String,
    /// succeeded, pending or failed.
    pub status: Option<String>,
    /// The charged amount.
    pub amount: Money,
    /// How much of it was refunded so far.
    pub amount_refunded: Money,
    /// True when the charge succeeded.
    pub paid: bool,
    /// True when fully refunded.
    pub refunded: bool,
    /// The payment intent (pi_...) it belongs to.
    pub payment_intent: Option<String>,
    /// The customer (cus_...).
    pub customer: Option<String>,
    /// Why it failed, e.g. "card_declined".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// Stripe's explanation of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// The network's and Radar's verdict: authorized, manual_review, issuer_declined, blocked or invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_type: Option<String>,
    /// A message for the merchant explaining the outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_message: Option<String>,
    /// The customer's receipt page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_url: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Key-value notes.
    pub metadata: BTreeMap<String, String>,
    /// Unix seconds.
    pub created: i64,
    /// True when real money moved.
    pub livemode: bool,
    /// The payment method's type: card, sepa_debit, us_bank_account, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    /// For a card: visa, mastercard, amex, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_brand: Option<String>,
    /// For a card: its last four digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_last4: Option<String>,
}

impl From<Charge> for ChargeOutput {
    fn from(c: Charge) -> Self {
        let outcome = c.outcome.unwrap_or_default();
        let method = c.payment_method_details.unwrap_or_default();
        let card = method.card.unwrap_or_default();
        ChargeOutput {
            amount: Money::new(c.amount, &c.currency),
            amount_refunded: Money::new(c.amount_refunded, &c.currency),
            id: c.id,
            status: c.status,
            paid: c.paid,
            refunded: c.refunded,
            payment_intent: c.payment_intent,
            customer: c.customer,
            failure_code: c.failure_code,
            failure_message: c.failure_message,
            outcome_type: outcome.kind,
            seller_message: outcome.seller_message,
            receipt_url: c.receipt_url,
            description: c.description,
            metadata: c.metadata.unwrap_or_default(),
            created: c.created,
            livemode: c.livemode,
            payment_method_type: method.kind,
            card_brand: card.brand,
            card_last4: card.last4,
        }
    }
}

/// What `list_charges` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListChargesOutput {
    /// Newest first.
    pub charges: Vec<ChargeOutput>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/charges`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChargeFilters {
    /// `cus_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// `pi_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
}

/// Validates `list_charges`' arguments: the filters, the limit and the cursor.
pub fn build_list(
    args: ListChargesArgs,
) -> Result<(ChargeFilters, u32, Option<String>), ToolError> {
    Ok((
        ChargeFilters {
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
            payment_intent: args
                .payment_intent
                .map(|p| check_id("payment_intent", &p, &["pi_"]))
                .transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, CHARGE_PREFIXES))
            .transpose()?,
    ))
}

#[tool_router(router = charges_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List charges (payment attempts), newest first, optionally only a customer's (cus_...) or a payment intent's (pi_...). Each has status, amount, amount refunded, failure reason and receipt URL; next_starting_after pages on.
    #[tool(annotations(
        title = "List charges",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_charges(
        &self,
        Parameters(args): Parameters<ListChargesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListChargesOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<Charge> = pagination::list(
            self,
            "/v1/charges",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListChargesOutput {
            charges: page.items.into_iter().map(ChargeOutput::from).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Get one charge (ch_... or py_...): status, paid, amount and amount refunded, payment intent, customer, why it failed (failure code and message, outcome type, seller message) and the receipt URL.
    #[tool(annotations(
        title = "Get a charge",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_charge(
        &self,
        Parameters(args): Parameters<GetChargeArgs>,
    ) -> Result<Json<ChargeOutput>, ToolError> {
        let id = check_id("charge", &args.charge, CHARGE_PREFIXES)?;
        let charge = self
            .client
            .retrieve_charge(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(charge.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<(ChargeFilters, u32, Option<String>), ToolError> {
        build_list(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn list_filters_and_cursor_are_checked() {
        assert!(build(json!({"customer": "pi_1"})).is_err());
        assert!(build(json!({"payment_intent": "ch_1"})).is_err());
        assert!(build(json!({"starting_after": "pi_1"})).is_err());
        assert!(build(json!({"limit": 1001})).is_err());
        let (f, l, s) =
            build(json!({"customer": "cus_1", "payment_intent": "pi_1", "starting_after": "py_1"}))
                .unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&f).unwrap(),
            "customer=cus_1&payment_intent=pi_1"
        );
        assert_eq!((l, s.as_deref()), (10, Some("py_1")));
    }

    #[test]
    fn a_charge_shows_its_outcome_and_decodes_an_expanded_customer() {
        let c: Charge = serde_json::from_value(json!({
            "id": "ch_1", "amount": 2000, "amount_refunded": 500, "currency": "usd", "status": "succeeded",
            "paid": true, "refunded": false, "customer": {"id": "cus_1", "object": "customer"},
            "outcome": {"type": "authorized", "seller_message": "Payment complete."}
        }))
        .unwrap();
        let out = ChargeOutput::from(c);
        assert_eq!(out.customer.as_deref(), Some("cus_1"));
        assert_eq!(out.amount_refunded.display, "$5.00");
        assert_eq!(out.outcome_type.as_deref(), Some("authorized"));
        assert_eq!(out.seller_message.as_deref(), Some("Payment complete."));
    }
}
