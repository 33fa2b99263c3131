//! Disputes: `GET /v1/disputes`, `GET /v1/disputes/{id}`, `POST /v1/disputes/{id}`.

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// The text and file evidence of a dispute (`evidence[...]` of `POST /v1/disputes/{id}`).
///
/// Every field is optional; only the fields given are sent, and Stripe keeps
/// the others as they were. Unknown keys are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeEvidence {
    /// Logs showing the customer used the digital product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_activity_log: Option<String>,
    /// Billing address given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<String>,
    /// Cancellation policy (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_policy: Option<String>,
    /// How the cancellation policy was shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_policy_disclosure: Option<String>,
    /// Why the subscription was not cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_rebuttal: Option<String>,
    /// Customer communication (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_communication: Option<String>,
    /// Customer's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email_address: Option<String>,
    /// Customer's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Customer's IP at purchase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_purchase_ip: Option<String>,
    /// Customer's signature (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_signature: Option<String>,
    /// Proof the other payment differs (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_charge_documentation: Option<String>,
    /// Why it is not a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_charge_explanation: Option<String>,
    /// The other charge (ch_/py_).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_charge_id: Option<String>,
    /// What was sold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_description: Option<String>,
    /// Receipt (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Refund policy (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_policy: Option<String>,
    /// How the refund policy was shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_policy_disclosure: Option<String>,
    /// Why no refund is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_refusal_explanation: Option<String>,
    /// Service date, e.g. 2024-05-01.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_date: Option<String>,
    /// Proof of service (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
    /// Shipping address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<String>,
    /// Carrier(s), comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_carrier: Option<String>,
    /// Ship date, e.g. 2024-05-01.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_date: Option<String>,
    /// Proof of shipping (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_documentation: Option<String>,
    /// Tracking number(s), comma-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_tracking_number: Option<String>,
    /// Other evidence (file_ id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncategorized_file: Option<String>,
    /// Other evidence as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncategorized_text: Option<String>,
}

/// How an evidence field is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// Free text of at most this many characters.
    Text(usize),
    /// An email address.
    Email,
    /// An uploaded file's id (`file_...`).
    File,
    /// A charge id (`ch_...` or `py_...`).
    Charge,
}

impl DisputeEvidence {
    /// Every field: its name, how it is checked, and a mutable handle on its value.
    pub fn fields_mut(&mut self) -> [(&'static str, EvidenceKind, &mut Option<String>); 27] {
        use EvidenceKind::*;
        const LONG: usize = 20_000;
        const SHORT: usize = 5_000;
        [
            (
                "access_activity_log",
                Text(LONG),
                &mut self.access_activity_log,
            ),
            ("billing_address", Text(SHORT), &mut self.billing_address),
            ("cancellation_policy", File, &mut self.cancellation_policy),
            (
                "cancellation_policy_disclosure",
                Text(LONG),
                &mut self.cancellation_policy_disclosure,
            ),
            (
                "cancellation_rebuttal",
                Text(LONG),
                &mut self.cancellation_rebuttal,
            ),
            (
                "customer_communication",
                File,
                &mut self.customer_communication,
            ),
            (
                "customer_email_address",
                Email,
                &mut self.customer_email_address,
            ),
            ("customer_name", Text(SHORT), &mut self.customer_name),
            (
                "customer_purchase_ip",
                Text(SHORT),
                &mut self.customer_purchase_ip,
            ),
            ("customer_signature", File, &mut self.customer_signature),
            (
                "duplicate_charge_documentation",
                File,
                &mut self.duplicate_charge_documentation,
            ),
            (
                "duplicate_charge_explanation",
                Text(LONG),
                &mut self.duplicate_charge_explanation,
            ),
            ("duplicate_charge_id", Charge, &mut self.duplicate_charge_id),
            (
                "product_description",
                Text(LONG),
                &mut self.product_description,
            ),
            ("receipt", File, &mut self.receipt),
            ("refund_policy", File, &mut self.refund_policy),
            (
                "refund_policy_disclosure",
                Text(LONG),
                &mut self.refund_policy_disclosure,
            ),
            (
                "refund_refusal_explanation",
                Text(LONG),
                &mut self.refund_refusal_explanation,
            ),
            ("service_date", Text(SHORT), &mut self.service_date),
            (
                "service_documentation",
                File,
                &mut self.service_documentation,
            ),
            ("shipping_address", Text(SHORT), &mut self.shipping_address),
            ("shipping_carrier", Text(SHORT), &mut self.shipping_carrier),
            ("shipping_date", Text(SHORT), &mut self.shipping_date),
            (
                "shipping_documentation",
                File,
                &mut self.shipping_documentation,
            ),
            (
                "shipping_tracking_number",
                Text(SHORT),
                &mut self.shipping_tracking_number,
            ),
            ("uncategorized_file", File, &mut self.uncategorized_file),
            (
                "uncategorized_text",
                Text(LONG),
                &mut self.uncategorized_text,
            ),
        ]
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == DisputeEvidence::default()
    }
}

/// Body of `POST /v1/disputes/{id}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateDispute {
    /// The evidence fields to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<DisputeEvidence>,
    /// Always sent: Stripe's default is `true` (submit to the bank at once),
    /// so leaving it out would submit evidence the caller only meant to stage.
    pub submit: bool,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Filters of `GET /v1/disputes` (paging is added by the caller).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DisputeFilters {
    /// Only disputes of this charge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge: Option<String>,
    /// Only disputes of this payment intent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
}

/// `evidence_details` of a dispute.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EvidenceDetails {
    /// Unix seconds by which evidence must be submitted.
    #[serde(default)]
    pub due_by: Option<i64>,
    /// Whether evidence has been saved.
    #[serde(default)]
    pub has_evidence: Option<bool>,
    /// Whether the deadline has passed.
    #[serde(default)]
    pub past_due: Option<bool>,
    /// How many times evidence was submitted.
    #[serde(default)]
    pub submission_count: Option<i64>,
}

/// The dispute fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Dispute {
    /// `dp_...` or `du_...`
    pub id: String,
    /// Minor units disputed.
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// `warning_needs_response`, `needs_response`, `under_review`, `won`, `lost`, ... or a newer value.
    #[serde(default)]
    pub status: Option<String>,
    /// `fraudulent`, `product_not_received`, `general`, ... or a newer value.
    #[serde(default)]
    pub reason: Option<String>,
    /// The disputed charge (id, or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub charge: Option<String>,
    /// The disputed payment intent (id, or expanded).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub payment_intent: Option<String>,
    /// Deadline and submission state.
    #[serde(default)]
    pub evidence_details: Option<EvidenceDetails>,
    /// The evidence saved so far, field by field (values may be ids or expanded files).
    #[serde(default)]
    pub evidence: BTreeMap<String, serde_json::Value>,
    /// Whether the charge can still be refunded.
    #[serde(default)]
    pub is_charge_refundable: Option<bool>,
    /// Unix seconds.
    #[serde(default)]
    pub created: Option<i64>,
}

impl Client {
    /// Retrieves one dispute. `id` must be a checked `dp_`/`du_` id.
    pub async fn get_dispute(&self, id: &str) -> Result<Dispute, Error> {
        self.get(&format!("/v1/disputes/{id}"), &()).await
    }

    /// Updates (and, with `submit`, submits) a dispute's evidence. `id` must be a checked id.
    pub fn update_dispute(
        &self,
        id: &str,
        params: &UpdateDispute,
        key: &IdempotencyKey,
    ) -> Result<Plan<Dispute>, Error> {
        Plan::post(format!("/v1/disputes/{id}"), params, key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;

    #[test]
    fn submit_is_always_sent_and_evidence_is_nested() {
        let body = encode_form(&UpdateDispute {
            evidence: Some(DisputeEvidence {
                customer_name: Some("Jane Doe".into()),
                ..Default::default()
            }),
            submit: false,
            metadata: BTreeMap::new(),
        })
        .unwrap();
        assert_eq!(body, "evidence[customer_name]=Jane+Doe&submit=false");
        assert_eq!(
            encode_form(&UpdateDispute::default()).unwrap(),
            "submit=false"
        );
    }

    #[test]
    fn charge_and_payment_intent_decode_as_ids_or_expanded_objects() {
        let d: Dispute = serde_json::from_value(serde_json::json!({
            "id": "dp_1", "amount": 1000, "currency": "usd",
            "charge": {"id": "ch_1", "object": "charge"},
            "payment_intent": "pi_1",
            "evidence": {"customer_name": null}
        }))
        .unwrap();
        assert_eq!(d.charge.as_deref(), Some("ch_1"));
        assert_eq!(d.payment_intent.as_deref(), Some("pi_1"));
        let d: Dispute = serde_json::from_value(serde_json::json!({
            "id": "dp_1", "amount": 1000, "currency": "usd", "charge": null
        }))
        .unwrap();
        assert_eq!(d.charge, None);
    }

    #[test]
    fn every_evidence_field_is_listed_once() {
        let mut e = DisputeEvidence::default();
        let names: Vec<&str> = e.fields_mut().iter().map(|(n, _, _)| *n).collect();
        let schema = serde_json::to_value(schemars::schema_for!(DisputeEvidence)).unwrap();
        let mut props: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        props.sort_unstable();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, props);
    }
}
