//! Charges: `GET /v1/charges` and `GET /v1/charges/{id}`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Client, Error};

/// How the card network and Radar judged the charge.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Outcome {
    /// `authorized`, `manual_review`, `issuer_declined`, `blocked`, `invalid`, or a newer value.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// A message for the merchant.
    #[serde(default)]
    pub seller_message: Option<String>,
    /// Why, e.g. `insufficient_funds`, `highest_risk_level`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `normal`, `elevated`, `highest`, ...
    #[serde(default)]
    pub risk_level: Option<String>,
}

/// The charge fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Charge {
    /// `ch_...` or `py_...`
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// Minor units refunded so far.
    #[serde(default)]
    pub amount_refunded: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `succeeded`, `pending`, `failed`, or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// True when the charge succeeded (or was authorized).
    #[serde(default)]
    pub paid: bool,
    /// True when fully refunded.
    #[serde(default)]
    pub refunded: bool,
    /// True once captured.
    #[serde(default)]
    pub captured: Option<bool>,
    /// The payment intent (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub payment_intent: Option<String>,
    /// The customer (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// e.g. `card_declined`.
    #[serde(default)]
    pub failure_code: Option<String>,
    /// Stripe's explanation of the failure.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// Network and Radar judgement.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The customer's receipt page.
    #[serde(default)]
    pub receipt_url: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Key-value notes.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
    /// How it was paid: the method's type and, for a card, its brand and last 4.
    #[serde(default)]
    pub payment_method_details: Option<PaymentMethodDetails>,
}

/// `payment_method_details`: the type, and the card's own details when it is a card.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentMethodDetails {
    /// card, sepa_debit, us_bank_account, ...
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Present for card payments.
    #[serde(default)]
    pub card: Option<CardDetails>,
}

/// The card a charge was paid with (never the full number).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CardDetails {
    /// visa, mastercard, amex, ...
    #[serde(default)]
    pub brand: Option<String>,
    /// The last four digits.
    #[serde(default)]
    pub last4: Option<String>,
}

impl Client {
    /// Retrieves a charge. `id` must be checked by the caller.
    pub async fn retrieve_charge(&self, id: &str) -> Result<Charge, Error> {
        self.get(&format!("/v1/charges/{id}"), &()).await
    }
}
