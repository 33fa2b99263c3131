//! `stripe-mcp webhooks`: receives Stripe's signed events and fulfills each paid
//! Checkout Session exactly once, in an embedded SQLite ledger the MCP server can read.
//!
//! A delivery is verified on its raw bytes ([`signature`]) and recorded in one
//! transaction ([`ledger`]).

pub mod ledger;
pub mod signature;

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
