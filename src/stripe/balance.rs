//! `GET /v1/balance`: funds available now and pending, per currency.

use serde::Deserialize;

use super::{Client, Error};

/// One currency's amount in a balance.
#[derive(Debug, Clone, Deserialize)]
pub struct Funds {
    /// Integer minor units (cents; whole units for zero-decimal currencies).
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
}

/// The account balance.
#[derive(Debug, Clone, Deserialize)]
pub struct Balance {
    /// Funds that can be paid out now.
    #[serde(default)]
    pub available: Vec<Funds>,
    /// Funds not yet available (settling charges).
    #[serde(default)]
    pub pending: Vec<Funds>,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
}

impl Client {
    /// Retrieves the balance of the account (or of the `Stripe-Account`).
    pub async fn retrieve_balance(&self) -> Result<Balance, Error> {
        self.get("/v1/balance", &()).await
    }
}
