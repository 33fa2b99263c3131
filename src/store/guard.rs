//! What the guardrails keep in the store: spending reservations (the per-call and rolling
//! 24-hour limits) and the audit trail of writes. The types and the limit arithmetic live
//! here, shared by both backends; each backend makes the check-and-reserve atomic.

use serde::Serialize;

/// The rolling window of the daily limit, in seconds.
pub const DAY: i64 = 86_400;

/// Most audit rows one [`AuditFilter`] returns.
pub const AUDIT_LIST_MAX: u32 = 1000;

/// One amount to reserve against the limits before a money-moving call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRequest {
    /// The tenant's name, "" for a local (stdio) server: tenants never share a tally.
    pub scope: String,
    /// What kind of spending: "refund" or "take".
    pub kind: String,
    /// Lowercase ISO code: limits are per currency, never converted.
    pub currency: String,
    /// Integer minor units (4999 = $49.99).
    pub amount: i64,
    /// Largest amount one call may move, if limited.
    pub per_call_max: Option<i64>,
    /// Largest total over the last 24 hours, if limited.
    pub daily_max: Option<i64>,
    /// Unix seconds: the reservation's time, and the end of the window it is checked in.
    pub now: i64,
}

/// A granted reservation, to release (definite failure) or keep (success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SpendId(pub i64);

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitRefusal {
    /// "per_call" or "daily".
    pub limit: &'static str,
    /// The limit that refused it, minor units.
    pub max: i64,
    /// What already counts in the window (held and kept), minor units.
    pub used: i64,
    /// Unix seconds when enough of the window ages out for this amount to fit; `None` for
    /// `per_call`, and for an amount larger than the daily limit itself.
    pub frees_at: Option<i64>,
}

/// The decision, from what counts in the window (`(at, amount)`, oldest first).
///
/// Pure: both backends call it inside the transaction that holds the tally's lock.
pub fn decide(request: &SpendRequest, window: &[(i64, i64)]) -> Result<(), LimitRefusal> {
    let used: i64 = window.iter().map(|(_, a)| a).sum();
    if let Some(max) = request.per_call_max
        && request.amount > max
    {
        return Err(LimitRefusal {
            limit: "per_call",
            max,
            used,
            frees_at: None,
        });
    }
    if let Some(max) = request.daily_max
        && used.saturating_add(request.amount) > max
    {
        let mut remaining = used;
        let mut frees_at = None;
        if request.amount <= max {
            for (at, amount) in window {
                remaining -= amount;
                if remaining + request.amount <= max {
                    frees_at = Some(at + DAY);
                    break;
                }
            }
        }
        return Err(LimitRefusal {
            limit: "daily",
            max,
            used,
            frees_at,
        });
    }
    Ok(())
}

/// One write as the audit trail records it before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Unix seconds when the call started.
    pub at: i64,
    /// The tenant's name, "" for a local server.
    pub tenant: String,
    /// The MCP tool called.
    pub tool: String,
    /// HTTP method sent to Stripe.
    pub method: String,
    /// Stripe API path, e.g. /v1/refunds.
    pub path: String,
    /// Minor units moved, when the call moves money.
    pub amount: Option<i64>,
    /// Lowercase ISO code of `amount`.
    pub currency: Option<String>,
    /// The object acted on, when known before the call.
    pub object_id: Option<String>,
    /// The Idempotency-Key sent (retries reuse it).
    pub idempotency_key: Option<String>,
    /// How the call was confirmed (e.g. "elicited", "not_required").
    pub confirmation: String,
    /// What the limits said (e.g. "within", "no_limit").
    pub limit_decision: String,
}

/// Longest id, path, tenant or tool name an audit row keeps, in bytes (Stripe's ids
/// and idempotency keys are at most 255).
pub const AUDIT_TEXT_MAX: usize = 255;
/// Longest error text an audit row keeps, in bytes.
pub const AUDIT_ERROR_MAX: usize = 1024;

/// Cuts `s` to at most `max` bytes at a character boundary, marking the cut with `…`.
fn bound(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
}

impl AuditEntry {
    /// The entry with every text value bounded ([`AUDIT_TEXT_MAX`]): a megabyte id is
    /// stored as its first 255 bytes.
    pub fn bounded(mut self) -> Self {
        for s in [
            &mut self.tenant,
            &mut self.tool,
            &mut self.method,
            &mut self.path,
            &mut self.confirmation,
            &mut self.limit_decision,
        ] {
            bound(s, AUDIT_TEXT_MAX);
        }
        for s in [
            self.currency.as_mut(),
            self.object_id.as_mut(),
            self.idempotency_key.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            bound(s, AUDIT_TEXT_MAX);
        }
        self
    }
}

impl AuditOutcome {
    /// The outcome with every text value bounded ([`AUDIT_TEXT_MAX`], errors [`AUDIT_ERROR_MAX`]).
    pub fn bounded(mut self) -> Self {
        bound(&mut self.outcome, AUDIT_TEXT_MAX);
        for s in [self.request_id.as_mut(), self.object_id.as_mut()]
            .into_iter()
            .flatten()
        {
            bound(s, AUDIT_TEXT_MAX);
        }
        if let Some(e) = self.error.as_mut() {
            bound(e, AUDIT_ERROR_MAX);
        }
        self
    }
}

/// An audit row's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditId(pub i64);

/// How an audited call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditOutcome {
    /// "succeeded", "failed", "declined", ...
    pub outcome: String,
    /// Stripe's HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// Stripe's Request-Id, when a response arrived.
    pub request_id: Option<String>,
    /// The object made or changed (re_..., pi_...), filling in one unknown at the start.
    pub object_id: Option<String>,
    /// What went wrong, without secrets.
    pub error: Option<String>,
}

/// Which audit rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only rows at or after this (Unix seconds).
    pub since: Option<i64>,
    /// Only this tenant's rows.
    pub tenant: Option<String>,
    /// At most this many (capped at [`AUDIT_LIST_MAX`]).
    pub limit: u32,
}

/// An audit row: the entry, and its outcome ("unknown" while the call has not finished,
/// or when the process died during it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// The row's id.
    pub id: AuditId,
    /// What was about to be sent.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// How it ended.
    pub outcome: String,
    /// Stripe's HTTP status.
    pub http_status: Option<u16>,
    /// Stripe's Request-Id.
    pub request_id: Option<String>,
    /// What went wrong.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount: i64, per_call: Option<i64>, daily: Option<i64>) -> SpendRequest {
        SpendRequest {
            scope: String::new(),
            kind: "refund".into(),
            currency: "usd".into(),
            amount,
            per_call_max: per_call,
            daily_max: daily,
            now: 1_000_000,
        }
    }

    #[test]
    fn the_limit_arithmetic_table() {
        let window = [(100, 300), (200, 300), (300, 300)];
        assert_eq!(decide(&req(100, None, Some(1000)), &window), Ok(()));
        assert_eq!(decide(&req(100, None, None), &window), Ok(()));
        assert_eq!(
            decide(&req(500, Some(400), Some(10_000)), &window),
            Err(LimitRefusal {
                limit: "per_call",
                max: 400,
                used: 900,
                frees_at: None
            })
        );
        // 900 used + 200 > 1000: the oldest 300 ageing out makes room.
        assert_eq!(
            decide(&req(200, None, Some(1000)), &window),
            Err(LimitRefusal {
                limit: "daily",
                max: 1000,
                used: 900,
                frees_at: Some(100 + DAY)
            })
        );
        // 700 needs the two oldest gone.
        assert_eq!(
            decide(&req(700, None, Some(1000)), &window)
                .unwrap_err()
                .frees_at,
            Some(200 + DAY)
        );
        // Larger than the limit itself: never fits.
        assert_eq!(
            decide(&req(1001, None, Some(1000)), &[])
                .unwrap_err()
                .frees_at,
            None
        );
        // Exactly the limit fits.
        assert_eq!(decide(&req(100, Some(100), Some(1000)), &window), Ok(()));
    }
}
