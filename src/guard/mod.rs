//! What runs around a call rather than inside a tool: the back-pressure that bounds
//! in-flight work, and the guardrails of writes: what a call does ([`classify`]), a
//! person's confirmation ([`confirm`]), spending limits ([`limits`]) and the audit
//! trail ([`audit`]). What leaves the process passes [`crate::egress`].

pub mod audit;
pub mod backpressure;
pub mod classify;
pub mod confirm;
pub mod limits;

use std::time::Duration;

use confirm::{ConfirmMode, Seal};

/// The guardrail settings of one server (or one tenant of a remote server).
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// `--confirm`: when a person is asked before a money movement.
    pub confirm: ConfirmMode,
    /// `--confirm-timeout`: how long a person has to answer.
    pub confirm_timeout: Duration,
    /// `--allow-live-writes`: a live key gets write tools only with this.
    pub allow_live_writes: bool,
    /// `--redact`: mask personal data in every tool output.
    pub redact: bool,
    /// Seals the `requestState` of 2026-07-28 confirmations.
    pub seal: Seal,
    /// `--limit`, `--policy` (or the tenant's `[tenant.limits]`): spending caps.
    pub limits: limits::Limits,
    /// Whose tally and audit rows these are: the tenant's name, "" for a local server.
    pub scope: String,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            confirm: ConfirmMode::Auto,
            confirm_timeout: confirm::DEFAULT_TIMEOUT,
            allow_live_writes: false,
            redact: false,
            seal: Seal::default(),
            limits: limits::Limits::default(),
            scope: String::new(),
        }
    }
}
