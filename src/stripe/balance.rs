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

/// One movement of funds in the balance (`GET /v1/balance_transactions`).
#[derive(Debug, Clone, Deserialize)]
pub struct BalanceTransaction {
    /// `txn_...`
    pub id: String,
    /// Gross minor units (negative for money leaving).
    pub amount: i64,
    /// Stripe's fees, minor units.
    #[serde(default)]
    pub fee: i64,
    /// `amount - fee`, minor units.
    #[serde(default)]
    pub net: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `charge`, `refund`, `payout`, `stripe_fee`, ... or a newer value.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `available` or `pending`.
    #[serde(default)]
    pub status: Option<String>,
    /// When the funds become available (Unix seconds).
    #[serde(default)]
    pub available_on: Option<i64>,
    /// What caused it: `ch_...`, `re_...`, `po_...` (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub source: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}
