//! `--on-paid COMMAND`: run once per order entering `paid`, the order as JSON on stdin.
//!
//! The run is queued in the store in the same transaction that records the fulfillment,
//! claimed after the commit by exactly one process (a lease in the store, renewed while
//! the command runs), and marked done only when the command exits 0. A failure is
//! recorded and retried when a receiver next starts. A receiver that dies holding a run
//! loses it when the lease expires: every receiver sweeps for expired leases (and for
//! runs queued by a receiver that died before claiming them) and takes them over. The one
//! window left is a crash after the command succeeded and before `done` was written: then
//! it runs again, so the command should treat the session id as its idempotency key.

use std::{process::Stdio, sync::Arc, time::Duration};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::unix_now;
use crate::store::{Claim, Fulfillment, Store};

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
pub async fn run_queued(store: Store, hook: Arc<OnPaid>, session_id: String) {
    match store.claim_hook(&session_id, unix_now()).await {
        Ok(Some(claim)) => run_claimed(&store, &hook, &session_id, claim).await,
        Ok(None) => {}
        Err(e) => {
            tracing::error!(session_id, error = %e, "on-paid: could not claim the run; a receiver takes it over later");
        }
    }
}

/// Runs a claimed run, renewing its lease every third of it, and records the outcome.
async fn run_claimed(store: &Store, hook: &OnPaid, session_id: &str, claim: Claim) {
    let Claim { fulfillment, token } = claim;
    let renew_every = (store.hook_lease() / 3).max(Duration::from_millis(300));
    let renew = async {
        loop {
            tokio::time::sleep(renew_every).await;
            match store.renew_hook(session_id, &token, unix_now()).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    session_id,
                    "on-paid: the lease was taken over while the command ran; it may run twice"
                ),
                Err(e) => {
                    tracing::warn!(session_id, error = %e, "on-paid: could not renew the lease")
                }
            }
        }
    };
    let result = tokio::select! {
        result = hook.run(&fulfillment) => result,
        () = renew => unreachable!("the renewal loop never ends"),
    };
    match &result {
        Ok(()) => tracing::info!(session_id, "on-paid command succeeded"),
        // The detail (stderr) is kept in the store, not logged: it may name the customer.
        Err(_) => tracing::warn!(
            session_id,
            "on-paid command failed; recorded, and retried at a receiver's next start"
        ),
    }
    match store
        .finish_hook(session_id, &token, result, unix_now())
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            session_id,
            "on-paid: the lease was taken over before the outcome was recorded"
        ),
        Err(e) => tracing::error!(
            session_id,
            error = %e,
            "on-paid: could not record the outcome; it runs again when the lease expires"
        ),
    }
}

/// Claims and runs due runs one after another until none is left; returns how many ran.
async fn drain(store: &Store, hook: &OnPaid, before: i64) -> usize {
    let mut ran = 0;
    loop {
        match store.claim_next_hook(unix_now(), before).await {
            Ok(Some((session_id, claim))) => {
                ran += 1;
                run_claimed(store, hook, &session_id, claim).await;
            }
            Ok(None) => return ran,
            Err(e) => {
                tracing::error!(error = %e, "on-paid: could not look for runs to take over");
                return ran;
            }
        }
    }
}

/// At start-up: runs every queued, failed or abandoned run, one after another; then keeps
/// sweeping (every half lease) for runs whose holder died: expired leases, and runs queued
/// more than a lease ago that nobody claimed. Runs until the process ends.
pub async fn retry_pending(store: Store, hook: Arc<OnPaid>) {
    match store.hooks_due(unix_now()).await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "on-paid: retrying unfinished runs");
            }
            for id in ids {
                run_queued(store.clone(), hook.clone(), id).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "on-paid: could not list the runs to retry"),
    }
    let lease = store.hook_lease();
    let lease_secs = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval((lease / 2).max(Duration::from_millis(500)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ran = drain(&store, &hook, unix_now().saturating_sub(lease_secs)).await;
        if ran > 0 {
            tracing::info!(count = ran, "on-paid: took over runs whose holder stopped");
        }
    }
}
