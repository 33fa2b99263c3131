//! Coupons: `POST /v1/coupons`, `GET /v1/coupons`.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// How long a coupon's discount lasts once applied.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CouponDuration {
    /// One invoice (or one payment).
    Once,
    /// duration_in_months months of invoices.
    Repeating,
    /// Every invoice.
    Forever,
}

/// Body of `POST /v1/coupons`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateCoupon {
    /// Your own id (the code), or absent for a generated one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Percent off, 0 < x ≤ 100 (with amount_off absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_off: Option<f64>,
    /// Minor units off (with currency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_off: Option<i64>,
    /// Currency of amount_off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// once, repeating or forever.
    pub duration: CouponDuration,
    /// With repeating.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_in_months: Option<u32>,
    /// Shown to customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Total redemptions allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_redemptions: Option<u32>,
    /// Last redemption time (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redeem_by: Option<i64>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The coupon fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Coupon {
    /// The coupon's code-like id.
    pub id: String,
    /// Shown to customers.
    #[serde(default)]
    pub name: Option<String>,
    /// Percent off.
    #[serde(default)]
    pub percent_off: Option<f64>,
    /// Minor units off.
    #[serde(default)]
    pub amount_off: Option<i64>,
    /// Currency of amount_off.
    #[serde(default)]
    pub currency: Option<String>,
    /// once, repeating, forever.
    #[serde(default)]
    pub duration: Option<String>,
    /// With repeating.
    #[serde(default)]
    pub duration_in_months: Option<u32>,
    /// Total redemptions allowed.
    #[serde(default)]
    pub max_redemptions: Option<u64>,
    /// Redemptions so far.
    #[serde(default)]
    pub times_redeemed: Option<u64>,
    /// Last redemption time.
    #[serde(default)]
    pub redeem_by: Option<i64>,
    /// Whether it can still be applied.
    #[serde(default)]
    pub valid: Option<bool>,
}

impl Client {
    /// Creates a coupon.
    pub fn create_coupon(
        &self,
        params: &CreateCoupon,
        key: &IdempotencyKey,
    ) -> Result<Plan<Coupon>, Error> {
        Plan::post("/v1/coupons", params, key.clone())
    }
}
