//! `--on-paid COMMAND`: run once per order entering `paid`, the order as JSON on stdin.
//!
//! The run is queued in the ledger in the same transaction that records the fulfillment,
//! started after the commit, and marked done only when the command exits 0. A failure is
//! recorded and retried when the receiver next starts. The one window left is a crash
//! after the command succeeded and before `done` was written: then it runs again on the
//! next start, so the command should treat the session id as its idempotency key.

use std::{process::Stdio, sync::Arc, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    ledger::{Fulfillment, Ledger},
    unix_now,
};

/// How long one run may take before it is killed and recorded as failed.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// How much of the command's stderr is kept with a failure.
const STDERR_KEPT: usize = 2000;

/// The configured command.
#[derive(Debug, Clone)]
pub struct OnPaid {
    /// Run with `sh -c`, so it may carry arguments and redirections.
    command: String,
    /// Killed after this long.
    timeout: Duration,
}

impl OnPaid {
    /// A command run through `sh -c`.
    pub fn new(command: impl Into<String>) -> OnPaid {
        OnPaid {
            command: command.into(),
            timeout: HOOK_TIMEOUT,
        }
    }

    /// The JSON the command reads on stdin: the fulfillment, with `"status": "paid"`.
    pub fn input(fulfillment: &Fulfillment) -> Vec<u8> {
        let mut v = serde_json::to_value(fulfillment).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("status".into(), "paid".into());
        }
        let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Runs the command once; `Err` says how it failed (exit status and the end of stderr).
    pub async fn run(&self, fulfillment: &Fulfillment) -> Result<(), String> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("STRIPE_CHECKOUT_SESSION_ID", &fulfillment.session_id)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("could not start the command: {e}"))?;
        let input = OnPaid::input(fulfillment);
        let mut stdin = child.stdin.take();
        let mut stderr = child.stderr.take();
        let work = async {
            if let Some(stdin) = stdin.as_mut() {
                // A command that does not read its input is not an error.
                let _ = stdin.write_all(&input).await;
            }
            drop(stdin);
            let mut err = Vec::new();
            if let Some(stderr) = stderr.as_mut() {
                let _ = stderr.read_to_end(&mut err).await;
            }
            (child.wait().await, err)
        };
        let (status, err) = match tokio::time::timeout(self.timeout, work).await {
            Ok((Ok(status), err)) => (status, err),
            Ok((Err(e), _)) => return Err(format!("could not wait for the command: {e}")),
            Err(_) => {
                return Err(format!(
                    "timed out after {} s and was killed",
                    self.timeout.as_secs()
                ));
            }
        };
        if status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&err);
        let err = err.trim();
        let tail: String = {
            let n = err.chars().count();
            err.chars().skip(n.saturating_sub(STDERR_KEPT)).collect()
        };
        Err(if tail.is_empty() {
            format!("{status}")
        } else {
            format!("{status}: {tail}")
        })
    }
}

/// Claims, runs and settles one queued hook run. Does nothing if another caller holds it.
pub async fn run_queued(ledger: Ledger, hook: Arc<OnPaid>, session_id: String) {
    let claim = {
        let (ledger, id) = (ledger.clone(), session_id.clone());
        tokio::task::spawn_blocking(move || ledger.claim_hook(&id, unix_now())).await
    };
    let fulfillment = match claim {
        Ok(Ok(Some(f))) => f,
        Ok(Ok(None)) => return,
        Ok(Err(e)) => {
            tracing::error!(session_id, error = %e, "on-paid: could not claim the run; retried at next start");
            return;
        }
        Err(e) => {
            tracing::error!(session_id, error = %e, "on-paid: claim task failed");
            return;
        }
    };
    let result = hook.run(&fulfillment).await;
    match &result {
        Ok(()) => tracing::info!(session_id, "on-paid command succeeded"),
        // The detail (stderr) is kept in the ledger, not logged: it may name the customer.
        Err(_) => tracing::warn!(
            session_id,
            "on-paid command failed; recorded, and retried at the receiver's next start"
        ),
    }
    let settle = {
        let id = session_id.clone();
        tokio::task::spawn_blocking(move || ledger.finish_hook(&id, result, unix_now())).await
    };
    if !matches!(settle, Ok(Ok(()))) {
        tracing::error!(
            session_id,
            "on-paid: could not record the outcome; it will run again at next start"
        );
    }
}

/// At start-up: runs every queued, failed or interrupted hook, one after another.
pub async fn retry_pending(ledger: Ledger, hook: Arc<OnPaid>) {
    let pending = {
        let ledger = ledger.clone();
        tokio::task::spawn_blocking(move || ledger.hooks_to_retry(unix_now())).await
    };
    let ids = match pending {
        Ok(Ok(ids)) => ids,
        _ => {
            tracing::error!("on-paid: could not list the runs to retry");
            return;
        }
    };
    if !ids.is_empty() {
        tracing::info!(count = ids.len(), "on-paid: retrying unfinished runs");
    }
    for id in ids {
        run_queued(ledger.clone(), hook.clone(), id).await;
    }
}
