//! Subscriptions: create, retrieve, list, update and cancel.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{
    Client, Error, IdempotencyKey, List,
    client::encode_form,
    planned::Plan as Planned,
    prices::{Price, Recurring},
};

/// How a subscription's invoices are paid.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// Stripe charges the customer's default payment method.
    ChargeAutomatically,
    /// Stripe emails an invoice for the customer to pay within days_until_due.
    SendInvoice,
}

/// How the first invoice's payment is handled when creating a subscription.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentBehavior {
    /// Stripe's default: try to pay; if that fails the subscription is `incomplete`.
    AllowIncomplete,
    /// Create it `incomplete` with an unpaid first invoice whose payment the customer completes (e.g. on a payment page); use when no payment method is on file.
    DefaultIncomplete,
    /// Fail the call (HTTP 402) if the first invoice cannot be paid.
    ErrorIfIncomplete,
}

/// How changes are prorated.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProrationBehavior {
    /// Stripe's default: add proration items to the next invoice.
    CreateProrations,
    /// Prorate and invoice immediately.
    AlwaysInvoice,
    /// No proration.
    None,
}

/// One item of `POST /v1/subscriptions`.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionItemParams {
    /// A recurring `price_...`.
    pub price: String,
    /// At least 1.
    pub quantity: u64,
}

/// Body of `POST /v1/subscriptions`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSubscription {
    /// `cus_...`
    pub customer: String,
    /// 1 to 20 items.
    pub items: Vec<SubscriptionItemParams>,
    /// Free trial length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_period_days: Option<u32>,
    /// charge_automatically or send_invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_method: Option<CollectionMethod>,
    /// With send_invoice: days to pay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_until_due: Option<u32>,
    /// First-invoice payment handling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_behavior: Option<PaymentBehavior>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// One item of `POST /v1/subscriptions/{id}`: change, add or remove.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateItemParams {
    /// `si_...` of an existing item (absent to add one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// New or added `price_...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// New quantity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u64>,
    /// True removes the item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// Body of `POST /v1/subscriptions/{id}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateSubscription {
    /// Items to change, add or remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<UpdateItemParams>,
    /// Cancel (true) or keep (false) at the end of the period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_at_period_end: Option<bool>,
    /// How to prorate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proration_behavior: Option<ProrationBehavior>,
    /// Keys to set (merged into the existing metadata).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Parameters of `DELETE /v1/subscriptions/{id}` (sent in the query string).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CancelSubscription {
    /// Invoice pending usage and prorations now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_now: Option<bool>,
    /// Credit the unused time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prorate: Option<bool>,
}

/// A legacy plan, as localstripe and old subscriptions carry it beside (or instead of) the price.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    /// `plan_...` or `price_...`.
    pub id: String,
    /// `prod_...`
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub product: Option<String>,
    /// Minor units per unit.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Lowercase ISO code.
    pub currency: String,
    /// day, week, month or year.
    #[serde(default)]
    pub interval: Option<String>,
    /// Bills every this many intervals.
    #[serde(default)]
    pub interval_count: Option<u32>,
}

impl Plan {
    /// The plan seen as a recurring price.
    pub fn into_price(self) -> Price {
        Price {
            recurring: self.interval.map(|interval| Recurring {
                interval,
                interval_count: self.interval_count,
            }),
            id: self.id,
            product: self.product,
            active: None,
            unit_amount: self.amount,
            currency: self.currency,
            kind: Some("recurring".into()),
            nickname: None,
        }
    }
}

/// One item of a subscription.
#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionItem {
    /// `si_...`
    pub id: String,
    /// The price billed.
    #[serde(default)]
    pub price: Option<Price>,
    /// The legacy plan, when there is no price.
    #[serde(default)]
    pub plan: Option<Plan>,
    /// How many units.
    #[serde(default)]
    pub quantity: Option<u64>,
    /// Period start (newer API versions carry it here).
    #[serde(default)]
    pub current_period_start: Option<i64>,
    /// Period end (newer API versions carry it here).
    #[serde(default)]
    pub current_period_end: Option<i64>,
}

/// The subscription fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    /// `sub_...`
    pub id: String,
    /// `cus_...` (id or expanded object).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// active, trialing, incomplete, past_due, canceled, ... (kept as a string).
    #[serde(default)]
    pub status: Option<String>,
    /// Period start (older API versions carry it here).
    #[serde(default)]
    pub current_period_start: Option<i64>,
    /// Period end (older API versions carry it here).
    #[serde(default)]
    pub current_period_end: Option<i64>,
    /// True when it ends at the period end.
    #[serde(default)]
    pub cancel_at_period_end: bool,
    /// When it is scheduled to end.
    #[serde(default)]
    pub cancel_at: Option<i64>,
    /// When it was canceled.
    #[serde(default)]
    pub canceled_at: Option<i64>,
    /// When the trial ends.
    #[serde(default)]
    pub trial_end: Option<i64>,
    /// charge_automatically or send_invoice.
    #[serde(default)]
    pub collection_method: Option<String>,
    /// `in_...` (id or expanded object).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub latest_invoice: Option<String>,
    /// The items (Stripe includes them without expand).
    #[serde(default)]
    pub items: Option<List<SubscriptionItem>>,
}

impl Client {
    /// Creates a subscription.
    pub fn create_subscription(
        &self,
        params: &CreateSubscription,
        key: &IdempotencyKey,
    ) -> Result<Planned<Subscription>, Error> {
        Planned::post("/v1/subscriptions", params, key.clone())
    }

    /// Retrieves a subscription; `id` must be a checked `sub_` id.
    pub async fn get_subscription(&self, id: &str) -> Result<Subscription, Error> {
        self.get(&format!("/v1/subscriptions/{id}"), &()).await
    }

    /// Updates a subscription; `id` must be a checked `sub_` id.
    pub fn update_subscription(
        &self,
        id: &str,
        params: &UpdateSubscription,
        key: &IdempotencyKey,
    ) -> Result<Planned<Subscription>, Error> {
        Planned::post(format!("/v1/subscriptions/{id}"), params, key.clone())
    }

    /// Cancels a subscription now; `id` must be a checked `sub_` id.
    pub fn cancel_subscription(
        &self,
        id: &str,
        params: &CancelSubscription,
        key: &IdempotencyKey,
    ) -> Result<Planned<Subscription>, Error> {
        let query = encode_form(params)?;
        let path = if query.is_empty() {
            format!("/v1/subscriptions/{id}")
        } else {
            format!("/v1/subscriptions/{id}?{query}")
        };
        Ok(Planned::delete(path, key.clone()))
    }
}
