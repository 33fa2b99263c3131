//! Refunds: `POST /v1/refunds`.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// Why a refund is made; Stripe's three values.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    /// The customer was charged twice for the same thing.
    Duplicate,
    /// The payment was fraudulent (also tells Stripe Radar).
    Fraudulent,
    /// The customer asked for it.
    RequestedByCustomer,
}

/// Body of `POST /v1/refunds`. Exactly one of `payment_intent` and `charge`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateRefund {
    /// `pi_...` to refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// `ch_...` to refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<String>,
    /// Minor units; absent means the whole remaining amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<RefundReason>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The refund fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    /// `re_...`
    pub id: String,
    /// `pending`, `succeeded`, `failed`, `canceled`, `requires_action`, or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// Minor units refunded.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// The refunded payment intent, if any (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub payment_intent: Option<String>,
    /// The refunded charge, if any (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub charge: Option<String>,
    /// The reason given, if any.
    #[serde(default)]
    pub reason: Option<String>,
    /// Why the refund failed, when `status` is `failed`.
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// Key-value notes.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

impl Client {
    /// Creates a refund. Money leaves the account.
    pub fn create_refund(
        &self,
        params: &CreateRefund,
        key: &IdempotencyKey,
    ) -> Result<Plan<Refund>, Error> {
        Plan::post("/v1/refunds", params, key.clone())
    }

    /// Retrieves a refund. `id` must be checked by the caller.
    pub async fn retrieve_refund(&self, id: &str) -> Result<Refund, Error> {
        self.get(&format!("/v1/refunds/{id}"), &()).await
    }
}
