//! `list_disputes`, `get_dispute`, `update_dispute`: chargebacks and the evidence that answers them.

use std::collections::BTreeMap;

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{
    Money, ToolError, check_email, check_id, check_metadata, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        disputes::{Dispute, DisputeEvidence, DisputeFilters, EvidenceKind, UpdateDispute},
    },
    tools::StripeMcp,
};

/// Dispute id prefixes: `dp_` (card) and `du_` (other payment methods).
const DISPUTE_PREFIXES: &[&str] = &["dp_", "du_"];

/// Arguments of `list_disputes`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDisputesArgs {
    /// Only disputes of this charge (ch_... or py_...).
    pub charge: Option<String>,
    /// Only disputes of this payment intent (pi_...).
    pub payment_intent: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Arguments of `get_dispute`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetDisputeArgs {
    /// The dispute's id (dp_... or du_...).
    pub dispute: String,
}

/// Arguments of `update_dispute`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDisputeArgs {
    /// The dispute's id (dp_... or du_...).
    pub dispute: String,
    /// Evidence to save; only fields given change. Texts up to 20,000 characters; file fields take an uploaded file id (file_...).
    pub evidence: Option<DisputeEvidence>,
    /// true submits to the bank now: final, no more evidence. Default false: staged, still editable.
    pub submit: Option<bool>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// A dispute as the tools return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DisputeOutput {
    /// dp_... or du_...
    pub id: String,
    /// warning_needs_response, warning_under_review, warning_closed, needs_response, under_review, won or lost (or a newer value).
    pub status: Option<String>,
    /// The customer's bank's reason: fraudulent, product_not_received, duplicate, subscription_canceled, general, ...
    pub reason: Option<String>,
    /// The disputed amount.
    pub amount: Money,
    /// The disputed charge.
    pub charge: Option<String>,
    /// The disputed payment intent, if any.
    pub payment_intent: Option<String>,
    /// Deadline for submitting evidence (Unix seconds).
    pub evidence_due_by: Option<i64>,
    /// Whether any evidence has been saved.
    pub has_evidence: Option<bool>,
    /// Whether the deadline has passed.
    pub past_due: Option<bool>,
    /// How many times evidence was submitted.
    pub submission_count: Option<i64>,
    /// The evidence fields that have a value (names only; fetch_stripe_resource with the dispute id shows their texts).
    pub evidence_provided: Vec<String>,
    /// Whether the disputed charge can still be refunded.
    pub is_charge_refundable: Option<bool>,
    /// When the dispute was opened (Unix seconds).
    pub created: Option<i64>,
}

impl From<Dispute> for DisputeOutput {
    fn from(d: Dispute) -> Self {
        let details = d.evidence_details.unwrap_or_default();
        DisputeOutput {
            amount: Money::new(d.amount, &d.currency),
            evidence_provided: d
                .evidence
                .iter()
                .filter(|(_, v)| match v {
                    serde_json::Value::Null => false,
                    serde_json::Value::String(s) => !s.is_empty(),
                    _ => true,
                })
                .map(|(k, _)| k.clone())
                .collect(),
            id: d.id,
            status: d.status,
            reason: d.reason,
            charge: d.charge,
            payment_intent: d.payment_intent,
            evidence_due_by: details.due_by,
            has_evidence: details.has_evidence,
            past_due: details.past_due,
            submission_count: details.submission_count,
            is_charge_refundable: d.is_charge_refundable,
            created: d.created,
        }
    }
}

/// What `list_disputes` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListDisputesOutput {
    /// Newest first.
    pub disputes: Vec<DisputeOutput>,
    /// True when more disputes follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// What `update_dispute` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UpdateDisputeOutput {
    /// The dispute after the update.
    #[serde(flatten)]
    pub dispute: DisputeOutput,
    /// Whether this call submitted the evidence to the bank.
    pub submitted: bool,
    /// The key this update was sent with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Validates `list_disputes` arguments: the filters, the limit and the cursor.
pub fn build_query(
    args: ListDisputesArgs,
) -> Result<(DisputeFilters, u32, Option<String>), ToolError> {
    Ok((
        DisputeFilters {
            charge: args
                .charge
                .map(|c| check_id("charge", &c, &["ch_", "py_"]))
                .transpose()?,
            payment_intent: args
                .payment_intent
                .map(|p| check_id("payment_intent", &p, &["pi_"]))
                .transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, DISPUTE_PREFIXES))
            .transpose()?,
    ))
}

/// Checks one evidence text: not blank, at most `max` characters, no control
/// characters other than line breaks and tabs (statements have paragraphs).
fn check_evidence_text(field: &str, raw: &str, max: usize) -> Result<(), ToolError> {
    if raw.trim().is_empty() {
        return Err(ToolError::invalid(format!(
            "evidence.{field} must not be empty; leave it out to keep what is saved"
        )));
    }
    let n = raw.chars().count();
    if n > max {
        return Err(ToolError::invalid(format!(
            "evidence.{field} is {n} characters; Stripe allows at most {max}"
        )));
    }
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ToolError::invalid(format!(
            "evidence.{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// Validates every evidence field by its kind.
pub fn check_evidence(mut evidence: DisputeEvidence) -> Result<DisputeEvidence, ToolError> {
    for (name, kind, value) in evidence.fields_mut() {
        let Some(raw) = value.as_deref() else {
            continue;
        };
        let field = format!("evidence.{name}");
        match kind {
            EvidenceKind::Text(max) => check_evidence_text(name, raw, max)?,
            EvidenceKind::Email => {
                check_email(&field, raw)?;
            }
            EvidenceKind::File => {
                check_id(&field, raw, &["file_"]).map_err(|e| {
                    e.with_hint("File evidence is an uploaded file's id (file_...): upload the document in the Dashboard or with POST https://files.stripe.com/v1/files (purpose dispute_evidence) first.")
                })?;
            }
            EvidenceKind::Charge => {
                check_id(&field, raw, &["ch_", "py_"])?;
            }
        }
    }
    Ok(evidence)
}

/// Validates `update_dispute` arguments into the dispute id, Stripe's request and the key.
pub fn build_update(
    args: UpdateDisputeArgs,
) -> Result<(String, UpdateDispute, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let id = check_id("dispute", &args.dispute, DISPUTE_PREFIXES)?;
    let evidence = args.evidence.map(check_evidence).transpose()?;
    let evidence = evidence.filter(|e| !e.is_empty());
    let metadata = check_metadata(args.metadata, 0)?;
    let submit = args.submit.unwrap_or(false);
    if evidence.is_none() && metadata.is_empty() && !submit {
        return Err(ToolError::invalid(
            "nothing to update: give evidence fields, metadata, or submit: true",
        )
        .with_hint("For example evidence: {\"product_description\": \"...\", \"customer_email_address\": \"jane@example.com\"}."));
    }
    Ok((
        id,
        UpdateDispute {
            evidence,
            submit,
            metadata,
        },
        key,
    ))
}

#[tool_router(router = disputes_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List disputes (chargebacks), newest first, optionally only those of one charge or payment intent. Each has its status, reason, amount, the disputed charge and payment intent, the evidence deadline (evidence_due_by, Unix seconds) and which evidence is saved.
    #[tool(annotations(
        title = "List disputes",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_disputes(
        &self,
        Parameters(args): Parameters<ListDisputesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListDisputesOutput>, ToolError> {
        let (filters, limit, starting_after) = build_query(args)?;
        let page: Listed<Dispute> = pagination::list(
            self,
            "/v1/disputes",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListDisputesOutput {
            disputes: page.items.into_iter().map(DisputeOutput::from).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Get one dispute (dp_... or du_...): status, reason, amount, the disputed charge and payment intent, the evidence deadline (evidence_due_by, Unix seconds), which evidence fields are saved, and whether the charge is still refundable.
    #[tool(annotations(
        title = "Get a dispute",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_dispute(
        &self,
        Parameters(args): Parameters<GetDisputeArgs>,
    ) -> Result<Json<DisputeOutput>, ToolError> {
        let id = check_id("dispute", &args.dispute, DISPUTE_PREFIXES)?;
        let dispute = self
            .client
            .get_dispute(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(dispute.into()))
    }

    /// Save evidence on a dispute, staged (editable) by default. submit: true sends it to the bank and CANNOT be undone: only once the user confirms it is complete. Returns the dispute.
    #[tool(annotations(
        title = "Update or submit dispute evidence",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn update_dispute(
        &self,
        Parameters(args): Parameters<UpdateDisputeArgs>,
    ) -> Result<Json<UpdateDisputeOutput>, ToolError> {
        let (id, params, key) = build_update(args)?;
        let dispute = self
            .write(self.client.update_dispute(&id, &params, &key), &key)
            .await?;
        Ok(Json(UpdateDisputeOutput {
            dispute: dispute.into(),
            submitted: params.submit,
            idempotency_key: key.as_str().to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(v: serde_json::Value) -> Result<(String, UpdateDispute), ToolError> {
        build_update(serde_json::from_value(v).unwrap()).map(|(id, u, _)| (id, u))
    }

    #[test]
    fn list_filters_and_cursor_are_checked_by_prefix() {
        let q = |v| build_query(serde_json::from_value(v).unwrap());
        let (f, limit, after) =
            q(json!({"charge": "ch_1", "payment_intent": "pi_1", "starting_after": "du_9"}))
                .unwrap();
        assert_eq!(f.charge.as_deref(), Some("ch_1"));
        assert_eq!(f.payment_intent.as_deref(), Some("pi_1"));
        assert_eq!((limit, after.as_deref()), (10, Some("du_9")));
        assert!(q(json!({"charge": "pi_1"})).is_err());
        assert!(q(json!({"payment_intent": "ch_1"})).is_err());
        assert!(q(json!({"starting_after": "ch_1"})).is_err());
        assert!(q(json!({"limit": 0})).is_err());
    }

    #[test]
    fn evidence_is_staged_unless_submit_is_true() {
        let (id, u) =
            update(json!({"dispute": "dp_1", "evidence": {"customer_name": "Jane"}})).unwrap();
        assert_eq!(id, "dp_1");
        assert!(!u.submit);
        let (_, u) = update(json!({"dispute": "du_1", "submit": true})).unwrap();
        assert!(u.submit);
        assert!(u.evidence.is_none());
    }

    #[test]
    fn an_update_with_nothing_to_change_is_refused() {
        let e = update(json!({"dispute": "dp_1"})).unwrap_err();
        assert!(e.message.contains("nothing to update"), "{}", e.message);
        assert!(update(json!({"dispute": "dp_1", "evidence": {}})).is_err());
        assert!(update(json!({"dispute": "dp_1", "submit": false})).is_err());
        assert!(update(json!({"dispute": "dp_1", "metadata": {"case": "7"}})).is_ok());
    }

    #[test]
    fn the_dispute_id_and_evidence_fields_are_checked() {
        let ev = |e| update(json!({"dispute": "dp_1", "evidence": e}));
        assert!(
            update(json!({"dispute": "ch_1", "submit": true}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
        assert!(ev(json!({"customer_email_address": "not-an-email"})).is_err());
        assert!(ev(json!({"receipt": "https://x.example/r.pdf"})).is_err());
        assert!(ev(json!({"receipt": "file_123"})).is_ok());
        assert!(ev(json!({"duplicate_charge_id": "pi_1"})).is_err());
        assert!(ev(json!({"duplicate_charge_id": "ch_1"})).is_ok());
        assert!(ev(json!({"uncategorized_text": "   "})).is_err());
        assert!(ev(json!({"uncategorized_text": "x".repeat(20_001)})).is_err());
        assert!(ev(json!({"uncategorized_text": "x".repeat(20_000)})).is_ok());
        assert!(ev(json!({"customer_name": "x".repeat(5_001)})).is_err());
        assert!(ev(json!({"uncategorized_text": "line one\nline two"})).is_ok());
        assert!(ev(json!({"uncategorized_text": "a\u{0}b"})).is_err());
    }

    #[test]
    fn unknown_evidence_keys_are_refused_when_decoding() {
        let r: Result<UpdateDisputeArgs, _> = serde_json::from_value(
            json!({"dispute": "dp_1", "evidence": {"favourite_color": "red"}}),
        );
        assert!(r.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn the_output_lists_saved_evidence_and_the_deadline() {
        let d: Dispute = serde_json::from_value(json!({
            "id": "dp_1", "amount": 1000, "currency": "usd", "status": "needs_response",
            "charge": "ch_1", "payment_intent": null,
            "evidence": {"customer_name": "Jane", "receipt": null, "uncategorized_text": ""},
            "evidence_details": {"due_by": 1695772799, "has_evidence": true, "past_due": false, "submission_count": 0},
            "is_charge_refundable": true
        }))
        .unwrap();
        let out = DisputeOutput::from(d);
        assert_eq!(out.evidence_provided, vec!["customer_name".to_owned()]);
        assert_eq!(out.evidence_due_by, Some(1695772799));
        assert_eq!(out.amount.display, "$10.00");
    }
}
