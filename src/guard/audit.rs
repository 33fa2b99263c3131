//! The audit trail of writes: every write attempt is written to the store before it is
//! sent (outcome `unknown`) and completed after, so a crash in between leaves a visible
//! "outcome unknown" row. A row names the tool, Stripe method and path, amount, object,
//! idempotency key, request id, confirmation and limit decision, never the key and never
//! personal data (no emails, names or free text from the arguments).
//!
//! Also `stripe-mcp audit`, which prints the trail.

use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::model::{CallToolResponse, ContentBlock};
use serde_json::Value;

use crate::store::{AuditFilter, AuditOutcome, AuditRecord, DbTarget, Scope, Store};

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `2 Dec 2026 14:05`: a Unix time in UTC, for people.
pub fn utc_time(unix: i64) -> String {
    format!(
        "{} {:02}:{:02}",
        crate::guard::confirm::date(unix),
        unix.rem_euclid(86_400) / 3600,
        unix.rem_euclid(3600) / 60
    )
}

/// How a tool result ended, as the audit trail records it: `succeeded`, `failed`
/// (a definite refusal: nothing was applied), or `unknown` (no complete answer: it may
/// have been applied), with Stripe's status, request id, the object made and the error
/// kind. Reads only the structured fields, never free text.
pub fn outcome(response: &CallToolResponse) -> AuditOutcome {
    let CallToolResponse::Complete(result) = response else {
        return unknown("the call did not complete");
    };
    let body: Option<Value> = result.structured_content.clone().or_else(|| {
        result.content.iter().find_map(|c| match c {
            ContentBlock::Text(t) => serde_json::from_str(&t.text).ok(),
            _ => None,
        })
    });
    if result.is_error == Some(true) {
        let error = body.as_ref().and_then(|b| b.get("error"));
        let field = |k: &str| error.and_then(|e| e.get(k));
        let kind = field("kind").and_then(Value::as_str).unwrap_or("unknown");
        let unknown = !definite_failure(kind);
        AuditOutcome {
            outcome: if unknown { "unknown" } else { "failed" }.into(),
            http_status: field("http_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            request_id: field("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            object_id: None,
            error: Some(kind.to_owned()),
        }
    } else {
        let id = body
            .as_ref()
            .and_then(|b| b.get("id").or_else(|| b.get("session_id")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        AuditOutcome {
            outcome: "succeeded".into(),
            http_status: Some(200),
            request_id: body
                .as_ref()
                .and_then(|b| b.get("request_id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            object_id: id,
            error: None,
        }
    }
}

/// An outcome nobody knows: the write may or may not have been applied.
pub fn unknown(why: &str) -> AuditOutcome {
    AuditOutcome {
        outcome: "unknown".into(),
        http_status: None,
        request_id: None,
        object_id: None,
        error: Some(why.to_owned()),
    }
}

/// True for an error kind that means Stripe did not apply the write (or it was never
/// sent). `network`, `stripe_unavailable` and `unexpected_response` may hide a write that
/// was applied, so they are not.
pub fn definite_failure(kind: &str) -> bool {
    !matches!(
        kind,
        "network" | "stripe_unavailable" | "unexpected_response" | "unknown"
    )
}

pub use crate::config::AuditArgs;

/// Parses `--since`: `90s`, `30m`, `24h`, `7d`, or Unix seconds.
pub fn parse_since(raw: &str, now: i64) -> Result<i64, String> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(
        raw.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: i64 = digits.parse().map_err(|_| {
        format!("--since {raw:?}: give a duration such as 30m, 24h, 7d, or Unix seconds")
    })?;
    let secs = match unit {
        "" => return Ok(n),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--since {raw:?}: the unit is s, m, h or d")),
    };
    Ok(now - secs)
}

/// The tenant name the stdio server records ("" in the store), shown as `local`.
fn shown_tenant(t: &str) -> &str {
    if t.is_empty() { "local" } else { t }
}

/// Runs `stripe-mcp audit` against `target`; returns what to print.
pub async fn run(args: &AuditArgs, target: &DbTarget) -> Result<String, String> {
    let store = Store::open(target).await.map_err(|e| e.to_string())?;
    let filter = AuditFilter {
        since: args
            .since
            .as_deref()
            .map(|s| parse_since(s, now()))
            .transpose()?,
        tenant: args
            .tenant
            .as_deref()
            .map(|t| if t == "local" { "" } else { t }.to_owned()),
        limit: args.rows,
    };
    // The operator at the machine reads every tenant's rows.
    let rows = store
        .audit_list(&Scope::Operator, filter)
        .await
        .map_err(|e| e.to_string())?;
    Ok(render(&rows, args.json))
}

/// Widest cell of the table, in characters: longer values are cut with `…`.
const CELL_MAX: usize = 64;

/// One value as a table cell: control characters (newlines, ANSI escapes, bidi
/// overrides) written as escapes, so a value can neither start a fake row nor drive the
/// terminal; cut at `CELL_MAX` characters.
pub fn cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(CELL_MAX * 2));
    for (n, c) in value.chars().enumerate() {
        if n == CELL_MAX {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}') =>
            {
                out.push_str(&c.escape_unicode().to_string())
            }
            c => out.push(c),
        }
    }
    out
}

/// A table (or JSON lines) of audit rows.
pub fn render(rows: &[AuditRecord], json: bool) -> String {
    let mut out = String::new();
    if json {
        for r in rows {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        return out;
    }
    if rows.is_empty() {
        return "no audit rows\n".into();
    }
    out.push_str(&format!(
        "{:<20} {:<10} {:<24} {:<40} {:>12} {:<24} {:<12} {:<10} {:<10}\n",
        "time (UTC)",
        "tenant",
        "tool",
        "method path",
        "amount",
        "object",
        "confirmed",
        "limit",
        "outcome"
    ));
    for r in rows {
        let e = &r.entry;
        let amount = match (e.amount, e.currency.as_deref()) {
            (Some(a), Some(c)) => crate::stripe::currency::display(a, c),
            (Some(a), None) => a.to_string(),
            _ => "-".into(),
        };
        let outcome = match (&r.error, r.outcome.as_str()) {
            (Some(err), o) => format!("{o} ({err})"),
            (None, o) => o.to_owned(),
        };
        // Every value from the store is a cell: none reaches the terminal raw.
        out.push_str(&format!(
            "{:<20} {:<10} {:<24} {:<40} {:>12} {:<24} {:<12} {:<10} {}\n",
            utc_time(e.at),
            cell(shown_tenant(&e.tenant)),
            cell(&e.tool),
            cell(&format!("{} {}", e.method, e.path)),
            cell(&amount),
            cell(e.object_id.as_deref().unwrap_or("-")),
            cell(&e.confirmation),
            cell(&e.limit_decision),
            cell(&outcome)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditEntry;

    #[test]
    fn since_takes_durations_back_from_now_or_unix_seconds() {
        assert_eq!(parse_since("30m", 10_000).unwrap(), 10_000 - 1800);
        assert_eq!(
            parse_since("7d", 1_000_000).unwrap(),
            1_000_000 - 7 * 86_400
        );
        assert_eq!(parse_since("1700000000", 5).unwrap(), 1_700_000_000);
        assert!(parse_since("yesterday", 5).is_err());
        assert!(parse_since("3w", 5).is_err());
    }

    fn record(path: &str, object_id: &str, error: Option<&str>) -> AuditRecord {
        AuditRecord {
            id: crate::store::AuditId(1),
            entry: AuditEntry {
                at: 1_765_000_000,
                tenant: String::new(),
                tool: "stripe_api_write".into(),
                method: "POST".into(),
                path: path.into(),
                amount: None,
                currency: Some("usd".into()),
                object_id: Some(object_id.into()),
                idempotency_key: None,
                confirmation: "confirmed".into(),
                limit_decision: "not_money".into(),
                account: None,
                caller: None,
            },
            outcome: "failed".into(),
            http_status: Some(400),
            request_id: None,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn the_table_escapes_control_characters_so_a_value_cannot_print_a_fake_row() {
        let fake = "\n2 Dec 2026 14:05    local      create_refund            POST /v1/refunds    $1.00 (safe)";
        let rows = [record(
            &format!("/v1/customers{fake}"),
            "cus_1\u{1b}[2J\u{1b}[31mred\u{202e}",
            Some("bad\r\nrow"),
        )];
        let table = render(&rows, false);
        assert_eq!(table.lines().count(), 2, "a header and one row: {table}");
        assert!(
            !table.contains('\u{1b}') && !table.contains('\u{202e}'),
            "{table:?}"
        );
        assert!(
            table.contains("\\n2 Dec") && table.contains("\\u{1b}[2J"),
            "{table}"
        );
        let long = "x".repeat(1 << 20);
        let table = render(&[record(&long, &long, None)], false);
        assert!(table.len() < 1000, "{}", table.len());
    }

    #[test]
    fn only_answers_that_cannot_hide_an_applied_write_are_definite_failures() {
        for k in [
            "card_declined",
            "invalid_argument",
            "declined_by_user",
            "limit_exceeded",
        ] {
            assert!(definite_failure(k), "{k}");
        }
        for k in ["network", "stripe_unavailable", "unexpected_response"] {
            assert!(!definite_failure(k), "{k}");
        }
    }
}
