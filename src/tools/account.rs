//! `get_account_info`: which Stripe account the key acts for, and in which mode.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::Serialize;

use super::{NoArgs, ToolError};
use crate::{stripe::Mode, tools::StripeMcp};

/// What `get_account_info` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountOutput {
    /// acct_...
    pub id: String,
    /// The business name customers see, if set.
    pub business_name: Option<String>,
    /// Two-letter country code.
    pub country: Option<String>,
    /// The currency payouts settle in by default (lowercase ISO code).
    pub default_currency: Option<String>,
    /// Whether the account can take payments.
    pub charges_enabled: Option<bool>,
    /// Whether the account can be paid out to its bank.
    pub payouts_enabled: Option<bool>,
    /// "test" (no real money moves) or "live" (real money), from this server's API key.
    pub mode: String,
}

#[tool_router(router = account_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Get the Stripe account this server acts for: id, business name, country, default currency, whether it can take payments and receive payouts, and the mode of the API key ("test": no real money; "live": real money).
    #[tool(annotations(
        title = "Get account info",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_account_info(
        &self,
        Parameters(_): Parameters<NoArgs>,
    ) -> Result<Json<AccountOutput>, ToolError> {
        let account = self
            .client
            .retrieve_account()
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(AccountOutput {
            id: account.id,
            business_name: account.business_profile.and_then(|b| b.name),
            country: account.country,
            default_currency: account.default_currency,
            charges_enabled: account.charges_enabled,
            payouts_enabled: account.payouts_enabled,
            mode: match self.client.mode() {
                Mode::Test => "test",
                Mode::Live => "live",
            }
            .to_owned(),
        }))
    }
}
