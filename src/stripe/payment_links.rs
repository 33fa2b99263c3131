//! Payment links: `POST /v1/payment_links`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// One line of `POST /v1/payment_links`.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentLinkLineItem {
    /// `price_...`
    pub price: String,
    /// At least 1.
    pub quantity: u64,
}

/// Body of `POST /v1/payment_links`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePaymentLink {
    /// 1 to 20 items.
    pub line_items: Vec<PaymentLinkLineItem>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The payment link fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentLink {
    /// `plink_...`
    pub id: String,
    /// The shareable URL.
    pub url: String,
    /// Whether the link can be used.
    #[serde(default)]
    pub active: Option<bool>,
}

impl Client {
    /// Creates a payment link.
    pub fn create_payment_link(
        &self,
        params: &CreatePaymentLink,
        key: &IdempotencyKey,
    ) -> Result<Plan<PaymentLink>, Error> {
        Plan::post("/v1/payment_links", params, key.clone())
    }
}
