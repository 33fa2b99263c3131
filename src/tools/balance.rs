//! `get_balance`: what the account holds, available and pending, per currency;
//! `list_balance_transactions`: every movement of funds, with fees.

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{
    Money, NoArgs, ToolError, check_id,
    pagination::{self, Listed},
};
use crate::{stripe::balance::BalanceTransaction, tools::StripeMcp};

/// A balance transaction type, Stripe's values (API 2023-08-16).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BalanceTransactionType {
    /// `adjustment`
    Adjustment,
    /// `advance`
    Advance,
    /// `advance_funding`
    AdvanceFunding,
    /// `anticipation_repayment`
    AnticipationRepayment,
    /// `application_fee`
    ApplicationFee,
    /// `application_fee_refund`
    ApplicationFeeRefund,
    /// `charge`
    Charge,
    /// `connect_collection_transfer`
    ConnectCollectionTransfer,
    /// `contribution`
    Contribution,
    /// `issuing_authorization_hold`
    IssuingAuthorizationHold,
    /// `issuing_authorization_release`
    IssuingAuthorizationRelease,
    /// `issuing_dispute`
    IssuingDispute,
    /// `issuing_transaction`
    IssuingTransaction,
    /// `obligation_inbound`
    ObligationInbound,
    /// `obligation_outbound`
    ObligationOutbound,
    /// `obligation_payout`
    ObligationPayout,
    /// `obligation_payout_failure`
    ObligationPayoutFailure,
    /// `obligation_reversal_inbound`
    ObligationReversalInbound,
    /// `obligation_reversal_outbound`
    ObligationReversalOutbound,
    /// `payment`
    Payment,
    /// `payment_failure_refund`
    PaymentFailureRefund,
    /// `payment_refund`
    PaymentRefund,
    /// `payment_reversal`
    PaymentReversal,
    /// `payout`
    Payout,
    /// `payout_cancel`
    PayoutCancel,
    /// `payout_failure`
    PayoutFailure,
    /// `refund`
    Refund,
    /// `refund_failure`
    RefundFailure,
    /// `reserve_transaction`
    ReserveTransaction,
    /// `reserved_funds`
    ReservedFunds,
    /// `stripe_fee`
    StripeFee,
    /// `stripe_fx_fee`
    StripeFxFee,
    /// `tax_fee`
    TaxFee,
    /// `topup`
    Topup,
    /// `topup_reversal`
    TopupReversal,
    /// `transfer`
    Transfer,
    /// `transfer_cancel`
    TransferCancel,
    /// `transfer_failure`
    TransferFailure,
    /// `transfer_refund`
    TransferRefund,
}

/// Arguments of `list_balance_transactions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBalanceTransactionsArgs {
    /// Only this type, e.g. "charge", "refund", "payout", "stripe_fee", "adjustment".
    #[serde(rename = "type")]
    pub kind: Option<BalanceTransactionType>,
    /// Only the transactions paid out in this payout (po_...): what a bank deposit is made of.
    pub payout: Option<String>,
    /// Only those caused by this object (ch_, re_, po_, tr_, du_, ...).
    pub source: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// One movement of funds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BalanceTransactionOutput {
    /// txn_...
    pub id: String,
    /// charge, refund, payout, stripe_fee, adjustment, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// available or pending.
    pub status: Option<String>,
    /// Gross amount (negative when money leaves the balance).
    pub amount: Money,
    /// Stripe's fees.
    pub fee: Money,
    /// amount minus fee: what the balance changed by.
    pub net: Money,
    /// When the funds become (or became) available (Unix seconds).
    pub available_on: Option<i64>,
    /// What caused it: ch_..., re_..., po_..., ...
    pub source: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Unix seconds.
    pub created: i64,
}

impl From<BalanceTransaction> for BalanceTransactionOutput {
    fn from(t: BalanceTransaction) -> Self {
        BalanceTransactionOutput {
            amount: Money::new(t.amount, &t.currency),
            fee: Money::new(t.fee, &t.currency),
            net: Money::new(t.net, &t.currency),
            id: t.id,
            kind: t.kind,
            status: t.status,
            available_on: t.available_on,
            source: t.source,
            description: t.description,
            created: t.created,
        }
    }
}

/// What `list_balance_transactions` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListBalanceTransactionsOutput {
    /// Newest first.
    pub balance_transactions: Vec<BalanceTransactionOutput>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/balance_transactions`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BalanceTransactionFilters {
    /// The type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<BalanceTransactionType>,
    /// `po_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payout: Option<String>,
    /// Any object id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Checks an id of any kind: a prefix, an underscore, then letters and digits.
fn check_any_id(field: &str, raw: &str) -> Result<String, ToolError> {
    let prefix_ok = raw
        .split_once('_')
        .is_some_and(|(p, rest)| !p.is_empty() && !rest.is_empty());
    if !prefix_ok {
        return Err(ToolError::invalid(format!(
            "{field} {raw:?} is not a Stripe id like ch_..., re_... or po_..."
        )));
    }
    check_id(field, raw, &[""])
}

/// Validates `list_balance_transactions`' arguments: the filters, the limit and the cursor.
pub fn build_list(
    args: ListBalanceTransactionsArgs,
) -> Result<(BalanceTransactionFilters, u32, Option<String>), ToolError> {
    Ok((
        BalanceTransactionFilters {
            kind: args.kind,
            payout: args
                .payout
                .map(|p| check_id("payout", &p, &["po_"]))
                .transpose()?,
            source: args
                .source
                .map(|s| check_any_id("source", &s))
                .transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["txn_"]))
            .transpose()?,
    ))
}

/// What `get_balance` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BalanceOutput {
    /// Funds that can be paid out now, one entry per currency.
    pub available: Vec<Money>,
    /// Funds not yet available (recent charges settling), one entry per currency.
    pub pending: Vec<Money>,
    /// True for the live-mode balance.
    pub livemode: bool,
}

#[tool_router(router = balance_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Get the balance: available and pending funds per currency.
    #[tool(annotations(
        title = "Get balance",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_balance(
        &self,
        Parameters(_): Parameters<NoArgs>,
    ) -> Result<Json<BalanceOutput>, ToolError> {
        let balance = self
            .client
            .retrieve_balance()
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        let money = |v: Vec<crate::stripe::balance::Funds>| {
            v.into_iter()
                .map(|f| Money::new(f.amount, &f.currency))
                .collect()
        };
        Ok(Json(BalanceOutput {
            available: money(balance.available),
            pending: money(balance.pending),
            livemode: balance.livemode,
        }))
    }

    /// List balance transactions (every movement of funds), newest first, by type, payout or source: amount, fee, net, status, available_on. For totals use summarize_balance_transactions.
    #[tool(annotations(
        title = "List balance transactions",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_balance_transactions(
        &self,
        Parameters(args): Parameters<ListBalanceTransactionsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListBalanceTransactionsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<BalanceTransaction> = pagination::list(
            self,
            "/v1/balance_transactions",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListBalanceTransactionsOutput {
            balance_transactions: page
                .items
                .into_iter()
                .map(BalanceTransactionOutput::from)
                .collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(
        v: serde_json::Value,
    ) -> Result<(BalanceTransactionFilters, u32, Option<String>), ToolError> {
        build_list(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn filters_encode_as_stripes_query() {
        let (f, l, s) = build(json!({"type": "stripe_fee", "payout": "po_1", "source": "ch_1", "limit": 50, "starting_after": "txn_1"})).unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&f).unwrap(),
            "type=stripe_fee&payout=po_1&source=ch_1"
        );
        assert_eq!((l, s.as_deref()), (50, Some("txn_1")));
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(build(json!({"payout": "ch_1"})).is_err());
        assert!(build(json!({"source": "nounderscore"})).is_err());
        assert!(build(json!({"source": "ch_1 2"})).is_err());
        assert!(build(json!({"starting_after": "ch_1"})).is_err());
        assert!(
            serde_json::from_value::<ListBalanceTransactionsArgs>(json!({"type": "fees"})).is_err()
        );
    }
}
