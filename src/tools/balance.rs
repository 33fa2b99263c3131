//! `get_balance`: what the account holds, available and pending, per currency.

use rmcp::{
    Json,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::Serialize;

use super::{Money, ToolError};
use crate::server::StripeMcp;

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
    /// Get the account's balance: funds available for payout now and funds still pending, per currency, with amounts in the smallest currency unit and formatted for people.
    #[tool(annotations(
        title = "Get balance",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_balance(&self) -> Result<Json<BalanceOutput>, ToolError> {
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
}
