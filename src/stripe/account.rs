//! `GET /v1/account`: who the key belongs to.

use serde::Deserialize;

use super::{Client, Error};

/// The account fields `check` and the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// `acct_...`
    pub id: String,
    /// Public business details.
    #[serde(default)]
    pub business_profile: Option<BusinessProfile>,
    /// Two-letter country code.
    #[serde(default)]
    pub country: Option<String>,
    /// The currency payouts settle in by default.
    #[serde(default)]
    pub default_currency: Option<String>,
    /// Whether the account can take payments.
    #[serde(default)]
    pub charges_enabled: Option<bool>,
    /// Whether the account can be paid out.
    #[serde(default)]
    pub payouts_enabled: Option<bool>,
}

/// Part of [`Account`].
#[derive(Debug, Clone, Deserialize)]
pub struct BusinessProfile {
    /// The name customers see.
    #[serde(default)]
    pub name: Option<String>,
}

impl Client {
    /// Retrieves the account the key (or `Stripe-Account`) acts for.
    pub async fn retrieve_account(&self) -> Result<Account, Error> {
        self.get("/v1/account", &()).await
    }
}
