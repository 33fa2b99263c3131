//! Payouts: `GET /v1/payouts` and `GET /v1/payouts/{id}`.

use serde::Deserialize;

use super::{Client, Error};

/// The payout fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Payout {
    /// `po_...`
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `pending`, `in_transit`, `paid`, `failed`, `canceled`, or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// When the money is expected in the bank (Unix seconds).
    #[serde(default)]
    pub arrival_date: Option<i64>,
    /// `standard` or `instant`.
    #[serde(default)]
    pub method: Option<String>,
    /// The bank account or card (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub destination: Option<String>,
    /// e.g. `account_closed`.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Stripe's explanation of the failure.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// True for Stripe's scheduled payouts.
    #[serde(default)]
    pub automatic: Option<bool>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

impl Client {
    /// Retrieves a payout. `id` must be checked by the caller.
    pub async fn retrieve_payout(&self, id: &str) -> Result<Payout, Error> {
        self.get(&format!("/v1/payouts/{id}"), &()).await
    }
}
