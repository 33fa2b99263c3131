//! Invoices and invoice items: create, finalize, list.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan, subscriptions::CollectionMethod};

/// What a new invoice does with the customer's pending invoice items.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PendingItemsBehavior {
    /// Leave pending items for a later invoice (Stripe's default): the invoice starts empty.
    Exclude,
    /// Pull the customer's pending invoice items into this invoice.
    Include,
}

/// Body of `POST /v1/invoices`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateInvoice {
    /// `cus_...`
    pub customer: String,
    /// charge_automatically or send_invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_method: Option<CollectionMethod>,
    /// With send_invoice: days to pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_until_due: Option<u32>,
    /// Shown on the invoice (memo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Let Stripe finalize and collect automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_advance: Option<bool>,
    /// include or exclude pending items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_invoice_items_behavior: Option<PendingItemsBehavior>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Body of `POST /v1/invoiceitems`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateInvoiceItem {
    /// `cus_...`
    pub customer: String,
    /// Minor units (with currency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Lowercase ISO code (with amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `price_...` (instead of amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Units of price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// Shown on the invoice line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `in_...` draft invoice to add it to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<String>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Body of `POST /v1/invoices/{id}/finalize`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalizeInvoice {
    /// Let Stripe collect automatically after finalizing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_advance: Option<bool>,
}

/// The invoice fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Invoice {
    /// `in_...`
    pub id: String,
    /// draft, open, paid, uncollectible, void (kept as a string).
    #[serde(default)]
    pub status: Option<String>,
    /// `cus_...` (id or expanded object).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// The customer's email as it was when the invoice was finalized: whom to chase.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// Minor units due.
    #[serde(default)]
    pub amount_due: i64,
    /// Minor units paid.
    #[serde(default)]
    pub amount_paid: i64,
    /// Minor units still to pay.
    #[serde(default)]
    pub amount_remaining: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// Where the customer pays (after finalizing).
    #[serde(default)]
    pub hosted_invoice_url: Option<String>,
    /// Unix seconds, for send_invoice.
    #[serde(default)]
    pub due_date: Option<i64>,
    /// Set when finalized.
    #[serde(default)]
    pub number: Option<String>,
    /// charge_automatically or send_invoice.
    #[serde(default)]
    pub collection_method: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: Option<i64>,
}

/// The invoice item fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceItem {
    /// `ii_...`
    pub id: String,
    /// `cus_...`
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// Minor units (unit amount × quantity).
    #[serde(default)]
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// Shown on the invoice line.
    #[serde(default)]
    pub description: Option<String>,
    /// `in_...` once on an invoice; absent while pending.
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub invoice: Option<String>,
    /// Units.
    #[serde(default)]
    pub quantity: Option<u64>,
}

impl Client {
    /// Creates a draft invoice.
    pub fn create_invoice(
        &self,
        params: &CreateInvoice,
        key: &IdempotencyKey,
    ) -> Result<Plan<Invoice>, Error> {
        Plan::post("/v1/invoices", params, key.clone())
    }

    /// Creates an invoice item.
    pub fn create_invoice_item(
        &self,
        params: &CreateInvoiceItem,
        key: &IdempotencyKey,
    ) -> Result<Plan<InvoiceItem>, Error> {
        Plan::post("/v1/invoiceitems", params, key.clone())
    }

    /// Finalizes a draft invoice; `id` must be a checked `in_` id.
    pub fn finalize_invoice(
        &self,
        id: &str,
        params: &FinalizeInvoice,
        key: &IdempotencyKey,
    ) -> Result<Plan<Invoice>, Error> {
        Plan::post(format!("/v1/invoices/{id}/finalize"), params, key.clone())
    }
}
