//! `list_audit_log`: the audit trail of this server's writes (`--db`), read by the agent,
//! so it can answer "what did you do today?" from the record rather than from memory.
//! A tenant sees only its own rows.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::{
    store::{Accounts, AuditFilter, AuditRecord, Scope},
    stripe::currency,
    tools::StripeMcp,
};

/// Most rows one call returns.
pub const LIST_AUDIT_MAX: u32 = 200;

/// Arguments of `list_audit_log`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAuditLogArgs {
    /// Only writes from the last this many hours: 1 to 720, default 24.
    #[schemars(range(min = 1, max = 720))]
    pub since_hours: Option<u32>,
    /// How many rows, newest first: 1 to 200, default 50.
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
}

/// One write attempt as recorded.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AuditRow {
    /// Unix seconds when the call started.
    pub at: i64,
    /// The tool called.
    pub tool: String,
    /// Stripe method and path, e.g. "POST /v1/refunds".
    pub request: String,
    /// Amount in the currency's smallest unit, when the write moves money.
    pub amount: Option<i64>,
    /// Lowercase ISO code of amount.
    pub currency: Option<String>,
    /// The amount formatted for people, e.g. "$25.00".
    pub amount_display: Option<String>,
    /// The object acted on or made.
    pub object_id: Option<String>,
    /// The idempotency key the caller gave.
    pub idempotency_key: Option<String>,
    /// accepted (a person approved), not_asked, not_required, off, or declined.
    pub confirmation: String,
    /// within, exceeded, no_limit, not_money or not_checked.
    pub limit_decision: String,
    /// succeeded, failed, refused (stopped before sending), or unknown (no answer: it may have been applied).
    pub outcome: String,
    /// Stripe's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Stripe's Request-Id, when it answered.
    pub request_id: Option<String>,
    /// The error kind, when it failed.
    pub error: Option<String>,
}

/// What `list_audit_log` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListAuditLogOutput {
    /// Write attempts, newest first.
    pub rows: Vec<AuditRow>,
    /// How many were returned.
    pub count: usize,
}

fn row(r: AuditRecord) -> AuditRow {
    let e = r.entry;
    AuditRow {
        at: e.at,
        tool: e.tool,
        request: format!("{} {}", e.method, e.path),
        amount_display: e
            .amount
            .zip(e.currency.as_deref())
            .map(|(a, c)| currency::display(a, c)),
        amount: e.amount,
        currency: e.currency,
        object_id: e.object_id,
        idempotency_key: e.idempotency_key,
        confirmation: e.confirmation,
        limit_decision: e.limit_decision,
        outcome: r.outcome,
        http_status: r.http_status,
        request_id: r.request_id,
        error: r.error,
    }
}

#[tool_router(router = audit_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List this server's own write attempts from its audit trail, newest first: tool, Stripe request, amount, object, confirmation, limit decision and outcome (unknown = no answer arrived, it may have been applied). Reads only the local store; nothing is sent to Stripe.
    #[tool(annotations(
        title = "List audit log",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_audit_log(
        &self,
        Parameters(args): Parameters<ListAuditLogArgs>,
    ) -> Result<Json<ListAuditLogOutput>, ToolError> {
        let hours = args.since_hours.unwrap_or(24);
        if !(1..=720).contains(&hours) {
            return Err(ToolError::invalid(format!(
                "since_hours must be between 1 and 720, got {hours}"
            )));
        }
        let limit = args.limit.unwrap_or(50);
        if !(1..=LIST_AUDIT_MAX).contains(&limit) {
            return Err(ToolError::invalid(format!(
                "limit must be between 1 and {LIST_AUDIT_MAX}, got {limit}"
            )));
        }
        let store = self.settings.ledger.clone().ok_or_else(|| {
            ToolError::invalid("this server keeps no audit trail")
                .with_hint("Start the server with --db PATH|URL to record every write.")
        })?;
        let filter = AuditFilter {
            since: Some(crate::guard::audit::now() - i64::from(hours) * 3600),
            tenant: None,
            limit,
        };
        // Audit rows belong to the tenant that made the call: this caller reads its own,
        // and a Stripe key Stripe has not accepted reads none.
        let unproven =
            self.scope_source().requires_proof() && self.read_scope().await == Scope::Nobody;
        let scope = if unproven {
            Scope::Nobody
        } else {
            Scope::Tenant {
                tenant: self.settings.guard.scope.clone(),
                accounts: Accounts::Only(Vec::new()),
            }
        };
        let rows = store
            .audit_list(&scope, filter)
            .await
            .map_err(|e| ToolError {
                retryable: true,
                ..ToolError::unexpected(format!("the audit trail could not be read: {e}"))
            })?;
        let rows: Vec<AuditRow> = rows.into_iter().map(row).collect();
        Ok(Json(ListAuditLogOutput {
            count: rows.len(),
            rows,
        }))
    }
}
