//! Prices: `POST /v1/prices`, `GET /v1/prices`.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// How often a recurring price bills.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    /// Daily.
    Day,
    /// Weekly.
    Week,
    /// Monthly.
    Month,
    /// Yearly.
    Year,
}

/// `recurring` of `POST /v1/prices`.
#[derive(Debug, Clone, Serialize)]
pub struct RecurringParams {
    /// day, week, month or year.
    pub interval: Interval,
    /// Bill every this many intervals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_count: Option<u32>,
}

/// Body of `POST /v1/prices`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePrice {
    /// `prod_...` the price belongs to.
    pub product: String,
    /// Minor units per unit.
    pub unit_amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// Absent for a one-time price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring: Option<RecurringParams>,
    /// Internal name, not shown to customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// A price's billing period as Stripe returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Recurring {
    /// day, week, month, year (or a newer value).
    pub interval: String,
    /// Bills every this many intervals.
    #[serde(default)]
    pub interval_count: Option<u32>,
}

/// The price fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    /// `price_...`
    pub id: String,
    /// `prod_...` (id or expanded object).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub product: Option<String>,
    /// Whether it can be used for new purchases.
    #[serde(default)]
    pub active: Option<bool>,
    /// Minor units per unit; absent for tiered or custom-amount prices.
    #[serde(default)]
    pub unit_amount: Option<i64>,
    /// Lowercase ISO code.
    pub currency: String,
    /// one_time or recurring.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The billing period of a recurring price.
    #[serde(default)]
    pub recurring: Option<Recurring>,
    /// Internal name.
    #[serde(default)]
    pub nickname: Option<String>,
}

impl Client {
    /// Creates a price.
    pub fn create_price(
        &self,
        params: &CreatePrice,
        key: &IdempotencyKey,
    ) -> Result<Plan<Price>, Error> {
        Plan::post("/v1/prices", params, key.clone())
    }
}
