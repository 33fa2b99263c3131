//! Payouts: `list_payouts`, `get_payout` (money sent from the Stripe balance to the bank).

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
use crate::{stripe::payouts::Payout, tools::StripeMcp};

/// A payout status to filter by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PayoutStatus {
    /// Not yet submitted to the bank.
    Pending,
    /// Submitted, on its way.
    InTransit,
    /// Arrived.
    Paid,
    /// The bank refused it; the money went back to the balance.
    Failed,
    /// Canceled before it was sent.
    Canceled,
}

/// Arguments of `get_payout`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPayoutArgs {
    /// The payout (po_...).
    pub payout: String,
}

/// Arguments of `list_payouts`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPayoutsArgs {
    /// Only payouts in this state: "pending", "in_transit", "paid", "failed" or "canceled".
    pub status: Option<PayoutStatus>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// A payout as the tools return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PayoutOutput {
    /// po_...
    pub id: String,
    /// The amount sent.
    pub amount: Money,
    /// pending, in_transit, paid, failed or canceled.
    pub status: Option<String>,
    /// When the money is expected in (or arrived at) the bank (Unix seconds).
    pub arrival_date: Option<i64>,
    /// standard or instant.
    pub method: Option<String>,
    /// The bank account (ba_...) or card (card_...) it goes to.
    pub destination: Option<String>,
    /// Why it failed, e.g. "account_closed".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// The bank's or Stripe's explanation of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// True for Stripe's scheduled payouts, false for manual ones.
    pub automatic: Option<bool>,
    /// Free text.
    pub description: Option<String>,
    /// Unix seconds.
    pub created: i64,
}

impl From<Payout> for PayoutOutput {
    fn from(p: Payout) -> Self {
        PayoutOutput {
            amount: Money::new(p.amount, &p.currency),
            id: p.id,
            status: p.status,
            arrival_date: p.arrival_date,
            method: p.method,
            destination: p.destination,
            failure_code: p.failure_code,
            failure_message: p.failure_message,
            automatic: p.automatic,
            description: p.description,
            created: p.created,
        }
    }
}

/// What `list_payouts` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListPayoutsOutput {
    /// Newest first.
    pub payouts: Vec<PayoutOutput>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/payouts`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PayoutFilters {
    /// The status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PayoutStatus>,
}

/// Validates `list_payouts`' arguments: the filter, the limit and the cursor.
pub fn build_list(
    args: ListPayoutsArgs,
) -> Result<(PayoutFilters, u32, Option<String>), ToolError> {
    Ok((
        PayoutFilters {
            status: args.status,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["po_"]))
            .transpose()?,
    ))
}

#[tool_router(router = payouts_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List payouts (transfers from the Stripe balance to the bank), newest first, optionally only those with one status. Each has amount, status, expected arrival date, method, destination and failure reason; next_starting_after pages on.
    #[tool(annotations(
        title = "List payouts",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_payouts(
        &self,
        Parameters(args): Parameters<ListPayoutsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListPayoutsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<Payout> = pagination::list(
            self,
            "/v1/payouts",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListPayoutsOutput {
            payouts: page.items.into_iter().map(PayoutOutput::from).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Get one payout (po_...): amount, status, expected arrival date, method, destination bank account, and why it failed if it did. Use list_balance_transactions with payout to see what it contains.
    #[tool(annotations(
        title = "Get a payout",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_payout(
        &self,
        Parameters(args): Parameters<GetPayoutArgs>,
    ) -> Result<Json<PayoutOutput>, ToolError> {
        let id = check_id("payout", &args.payout, &["po_"])?;
        let payout = self
            .client
            .retrieve_payout(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(payout.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<(PayoutFilters, u32, Option<String>), ToolError> {
        build_list(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn the_status_filter_encodes_in_snake_case_and_the_cursor_is_a_payout() {
        let (f, _, s) = build(json!({"status": "in_transit", "starting_after": "po_1"})).unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&f).unwrap(),
            "status=in_transit"
        );
        assert_eq!(s.as_deref(), Some("po_1"));
        assert!(build(json!({"starting_after": "ch_1"})).is_err());
        assert!(build(json!({"limit": 0})).is_err());
        assert!(serde_json::from_value::<ListPayoutsArgs>(json!({"status": "done"})).is_err());
    }
}
