//! `stripe-mcp check`: call Stripe once and report whether the key works.
//!
//! This subcommand does not serve MCP, so it may print to stdout.

use crate::{
    stripe::{Client, Mode},
    tools::{ErrorKind, ToolError, error::ErrorContext},
};

/// What `check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// The key's mode.
    pub mode: Mode,
    /// `acct_...` and display name, when `/v1/account` answered.
    pub account: Option<(String, Option<String>)>,
}

/// Calls `GET /v1/balance` (any key that works can read it), then `/v1/account`
/// for the account's name where the key may read it.
pub async fn run(client: &Client) -> Result<CheckReport, ToolError> {
    let cx = ErrorContext {
        mode: client.mode(),
        restricted_key: client.key_is_restricted(),
        idempotency_key: None,
        call: None,
    };
    // Only whether the key is accepted matters here, not the balance's shape.
    client
        .get::<serde_json::Value>("/v1/balance", &())
        .await
        .map_err(|e| ToolError::from_stripe(e, cx))?;
    let account = client
        .retrieve_account()
        .await
        .ok()
        .map(|a| (a.id, a.business_profile.and_then(|b| b.name)));
    Ok(CheckReport {
        mode: client.mode(),
        account,
    })
}

/// The lines `check` prints.
pub fn render(result: &Result<CheckReport, ToolError>) -> String {
    match result {
        Ok(r) => {
            let account = match &r.account {
                Some((id, Some(name))) => format!("{id} ({name})"),
                Some((id, None)) => id.clone(),
                None => "unknown (the key may not read /v1/account)".into(),
            };
            format!(
                "ok: the key works\nmode: {}{}\naccount: {account}",
                r.mode,
                if r.mode == Mode::Live {
                    " (real money)"
                } else {
                    ""
                }
            )
        }
        Err(e) => {
            let mut out = format!("failed: {}", e.message);
            if e.kind == ErrorKind::Authentication {
                out.push_str("\nthe key was refused by Stripe");
            }
            if let Some(h) = &e.hint {
                out.push_str(&format!("\nhint: {h}"));
            }
            if let Some(id) = &e.request_id {
                out.push_str(&format!("\nrequest id: {id}"));
            }
            out
        }
    }
}
