//! Checkout Sessions: `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// `mode` of a Checkout Session.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutMode {
    /// A one-time payment.
    Payment,
    /// A recurring subscription (needs recurring price ids).
    Subscription,
}

/// Body of `POST /v1/checkout/sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateCheckoutSession {
    /// Payment or subscription.
    pub mode: CheckoutMode,
    /// What the customer buys, at most 100.
    pub line_items: Vec<LineItem>,
    /// Where Stripe sends the customer after paying.
    pub success_url: String,
    /// Where the Back link goes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_url: Option<String>,
    /// Pre-fills the email field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// An existing `cus_...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Your own reference (an order id), echoed in webhooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    /// Unix seconds, 30 minutes to 24 hours from now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// Key-value notes stored on the session.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// One line of a Checkout Session: an existing price, or inline price data.
#[derive(Debug, Clone, Serialize)]
pub struct LineItem {
    /// An existing `price_...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Inline pricing: Stripe makes a one-off price for this session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_data: Option<PriceData>,
    /// How many.
    pub quantity: u64,
}

/// Inline price of a line item.
#[derive(Debug, Clone, Serialize)]
pub struct PriceData {
    /// Lowercase ISO code.
    pub currency: String,
    /// Integer minor units per unit.
    pub unit_amount: i64,
    /// The product shown on the page.
    pub product_data: ProductData,
}

/// Inline product of a line item.
#[derive(Debug, Clone, Serialize)]
pub struct ProductData {
    /// Shown to the customer.
    pub name: String,
}

/// The session fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    /// `cs_...`
    pub id: String,
    /// The hosted payment page; absent once the session is complete or expired.
    #[serde(default)]
    pub url: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: i64,
    /// Total in minor units, after discounts and taxes.
    #[serde(default)]
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    #[serde(default)]
    pub currency: Option<String>,
    /// `payment`, `subscription`, `setup`, or a newer value.
    pub mode: String,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
    /// `open`, `complete`, `expired`, or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// `paid`, `unpaid`, `no_payment_required`, or a newer value.
    #[serde(default)]
    pub payment_status: Option<String>,
    /// The customer (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// The email given when the session was created.
    #[serde(default)]
    pub customer_email: Option<String>,
    /// What the customer entered on the page.
    #[serde(default)]
    pub customer_details: Option<CustomerDetails>,
    /// The payment intent (id or expanded), in payment mode.
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub payment_intent: Option<String>,
    /// The subscription (id or expanded), in subscription mode.
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub subscription: Option<String>,
    /// Your reference, if given.
    #[serde(default)]
    pub client_reference_id: Option<String>,
    /// Key-value notes.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

/// `customer_details` of a session.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomerDetails {
    /// The email the customer entered.
    #[serde(default)]
    pub email: Option<String>,
    /// The name the customer entered.
    #[serde(default)]
    pub name: Option<String>,
}

/// Body of `POST /v1/checkout/sessions/{id}/expire` (nothing to send).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExpireCheckoutSession {}

impl Client {
    /// Retrieves a Checkout Session. `id` must be checked by the caller.
    pub async fn retrieve_checkout_session(&self, id: &str) -> Result<CheckoutSession, Error> {
        self.get(&format!("/v1/checkout/sessions/{id}"), &()).await
    }

    /// Expires an open Checkout Session so it can no longer be paid. `id` must be checked by the caller.
    pub fn expire_checkout_session(
        &self,
        id: &str,
        key: &IdempotencyKey,
    ) -> Result<Plan<CheckoutSession>, Error> {
        Plan::post(
            format!("/v1/checkout/sessions/{id}/expire"),
            &ExpireCheckoutSession {},
            key.clone(),
        )
    }

    /// Creates a Checkout Session and returns its hosted page URL.
    pub fn create_checkout_session(
        &self,
        params: &CreateCheckoutSession,
        key: &IdempotencyKey,
    ) -> Result<Plan<CheckoutSession>, Error> {
        Plan::post("/v1/checkout/sessions", params, key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;

    #[test]
    fn a_multi_line_item_session_encodes_to_stripe_nested_form_bytes() {
        // Brackets stay literal, as Stripe's own SDKs send them; values are percent-encoded.
        let params = CreateCheckoutSession {
            mode: CheckoutMode::Payment,
            line_items: vec![
                LineItem {
                    price: None,
                    price_data: Some(PriceData {
                        currency: "usd".into(),
                        unit_amount: 4999,
                        product_data: ProductData {
                            name: "T-shirt & cap".into(),
                        },
                    }),
                    quantity: 2,
                },
                LineItem {
                    price: Some("price_123".into()),
                    price_data: None,
                    quantity: 1,
                },
            ],
            success_url: "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}".into(),
            cancel_url: Some("https://shop.example/cancel".into()),
            customer_email: Some("a+b@example.com".into()),
            customer: None,
            client_reference_id: None,
            expires_at: Some(1_700_000_000),
            metadata: BTreeMap::from([("order_id".into(), "42".into())]),
        };
        let body = encode_form(&params).unwrap();
        assert_eq!(
            body,
            "mode=payment\
             &line_items[0][price_data][currency]=usd\
             &line_items[0][price_data][unit_amount]=4999\
             &line_items[0][price_data][product_data][name]=T-shirt+%26+cap\
             &line_items[0][quantity]=2\
             &line_items[1][price]=price_123\
             &line_items[1][quantity]=1\
             &success_url=https%3A%2F%2Fshop.example%2Fsuccess%3Fsession_id%3D%7BCHECKOUT_SESSION_ID%7D\
             &cancel_url=https%3A%2F%2Fshop.example%2Fcancel\
             &customer_email=a%2Bb%40example.com\
             &expires_at=1700000000\
             &metadata[order_id]=42"
        );
    }
}
