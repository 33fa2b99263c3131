//! Payment intents: create, confirm, retrieve, list and cancel (`/v1/payment_intents`).

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// Why a payment intent is canceled; Stripe's four values.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    /// The customer went away without paying.
    Abandoned,
    /// A second intent for the same purchase.
    Duplicate,
    /// The payment looks fraudulent.
    Fraudulent,
    /// The customer asked for it.
    RequestedByCustomer,
}

/// `automatic_payment_methods[allow_redirects]`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllowRedirects {
    /// Redirect-based methods allowed: confirming needs a `return_url`.
    Always,
    /// Only methods that never redirect: confirming needs no `return_url`.
    Never,
}

/// `automatic_payment_methods` of a create request.
#[derive(Debug, Clone, Serialize)]
pub struct AutomaticPaymentMethods {
    /// Always true when sent.
    pub enabled: bool,
    /// Whether redirect-based methods may be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_redirects: Option<AllowRedirects>,
}

/// Body of `POST /v1/payment_intents`.
#[derive(Debug, Clone, Serialize)]
pub struct CreatePaymentIntent {
    /// Minor units.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `cus_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Shown in the Dashboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where Stripe emails the receipt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_email: Option<String>,
    /// `pm_...` to charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// Confirm immediately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<bool>,
    /// Where to send the customer back after a redirect (only with `confirm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The Dashboard's payment methods (absent when `payment_method_types` is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic_payment_methods: Option<AutomaticPaymentMethods>,
    /// An explicit list of payment method types, e.g. `card`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payment_method_types: Vec<String>,
    /// Key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Body of `POST /v1/payment_intents/{id}/confirm`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfirmPaymentIntent {
    /// `pm_...` to charge, replacing the intent's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// Where to send the customer back after a redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// Body of `POST /v1/payment_intents/{id}/cancel`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CancelPaymentIntent {
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<CancellationReason>,
}

/// The last failed payment attempt.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LastPaymentError {
    /// e.g. `card_declined`.
    #[serde(default)]
    pub code: Option<String>,
    /// e.g. `insufficient_funds`.
    #[serde(default)]
    pub decline_code: Option<String>,
    /// Stripe's message.
    #[serde(default)]
    pub message: Option<String>,
    /// e.g. `card_error`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `next_action.redirect_to_url`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RedirectToUrl {
    /// Where the customer must go (e.g. the bank's 3D Secure page).
    #[serde(default)]
    pub url: Option<String>,
    /// Where they come back to.
    #[serde(default)]
    pub return_url: Option<String>,
}

/// What the customer must do before the payment can go on.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NextAction {
    /// `redirect_to_url`, `use_stripe_sdk`, `display_bank_transfer_instructions`, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Present when `type` is `redirect_to_url`.
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

/// The payment intent fields the tools show (never `client_secret`).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    /// `pi_...`
    pub id: String,
    /// `requires_payment_method`, `requires_confirmation`, `requires_action`,
    /// `processing`, `requires_capture`, `canceled`, `succeeded`, or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// Minor units.
    pub amount: i64,
    /// Minor units received so far.
    #[serde(default)]
    pub amount_received: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `cus_...` (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub customer: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The latest charge attempt (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub latest_charge: Option<String>,
    /// The payment method (id or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub payment_method: Option<String>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_payment_error: Option<LastPaymentError>,
    /// What the customer must do next.
    #[serde(default)]
    pub next_action: Option<NextAction>,
    /// Where the receipt goes.
    #[serde(default)]
    pub receipt_email: Option<String>,
    /// Why it was canceled.
    #[serde(default)]
    pub cancellation_reason: Option<String>,
    /// Key-value notes.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
}

impl Client {
    /// Creates a payment intent (and confirms it when asked).
    pub fn create_payment_intent(
        &self,
        params: &CreatePaymentIntent,
        key: &IdempotencyKey,
    ) -> Result<Plan<PaymentIntent>, Error> {
        Plan::post("/v1/payment_intents", params, key.clone())
    }

    /// Confirms a payment intent. `id` must be checked by the caller.
    pub fn confirm_payment_intent(
        &self,
        id: &str,
        params: &ConfirmPaymentIntent,
        key: &IdempotencyKey,
    ) -> Result<Plan<PaymentIntent>, Error> {
        Plan::post(
            format!("/v1/payment_intents/{id}/confirm"),
            params,
            key.clone(),
        )
    }

    /// Retrieves a payment intent. `id` must be checked by the caller.
    pub async fn retrieve_payment_intent(&self, id: &str) -> Result<PaymentIntent, Error> {
        self.get(&format!("/v1/payment_intents/{id}"), &()).await
    }

    /// Cancels a payment intent. `id` must be checked by the caller.
    pub fn cancel_payment_intent(
        &self,
        id: &str,
        params: &CancelPaymentIntent,
        key: &IdempotencyKey,
    ) -> Result<Plan<PaymentIntent>, Error> {
        Plan::post(
            format!("/v1/payment_intents/{id}/cancel"),
            params,
            key.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;

    #[test]
    fn ids_and_expanded_objects_both_decode_to_the_id() {
        let pi: PaymentIntent = serde_json::from_value(serde_json::json!({
            "id": "pi_1", "amount": 100, "currency": "usd",
            "latest_charge": {"id": "ch_1", "object": "charge"},
            "customer": "cus_1", "payment_method": null
        }))
        .unwrap();
        assert_eq!(pi.latest_charge.as_deref(), Some("ch_1"));
        assert_eq!(pi.customer.as_deref(), Some("cus_1"));
        assert_eq!(pi.payment_method, None);
    }

    #[test]
    fn a_confirming_create_encodes_allow_redirects_never() {
        let p = CreatePaymentIntent {
            amount: 2000,
            currency: "usd".into(),
            customer: None,
            description: None,
            receipt_email: None,
            payment_method: Some("pm_card_visa".into()),
            confirm: Some(true),
            return_url: None,
            automatic_payment_methods: Some(AutomaticPaymentMethods {
                enabled: true,
                allow_redirects: Some(AllowRedirects::Never),
            }),
            payment_method_types: vec![],
            metadata: BTreeMap::new(),
        };
        assert_eq!(
            encode_form(&p).unwrap(),
            "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true\
             &automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never"
        );
    }
}
