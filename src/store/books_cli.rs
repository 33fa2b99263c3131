//! `stripe-mcp books sync [--since DAY]` (fill the copy of the balance transactions ahead
//! of time, for a cron job) and `stripe-mcp books status` (what the `--db` store holds).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use jiff::{Timestamp, civil::Date, tz::TimeZone};

use super::{
    Scope, Store,
    books::{self, SyncError},
};
use crate::stripe::{Client, slices::SliceError};

/// Flags of `stripe-mcp books`.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct BooksArgs {
    /// What to do with the copy of the balance transactions in the --db store.
    #[command(subcommand)]
    pub action: BooksAction,
}

/// `books` actions.
#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum BooksAction {
    /// Read the account's balance transactions missing from the --db store (and the newest minutes again), so summaries answer from the store. Needs the key.
    Sync {
        /// First day to hold, YYYY-MM-DD (UTC). Default: 90 days ago.
        #[arg(long, value_name = "YYYY-MM-DD")]
        since: Option<String>,
    },
    /// Print, per Stripe account, how many transactions the --db store holds and the ranges read in full.
    Status,
}

fn day(secs: i64) -> String {
    Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// `books status`: the report (for stdout: a CLI, not MCP), or why the store could not
/// give it.
pub async fn status(store: &Store) -> Result<String, String> {
    let accounts = store
        .books_status(&Scope::Operator)
        .await
        .map_err(|e| e.to_string())?;
    if accounts.is_empty() {
        return Ok(
            "no books kept yet: `stripe-mcp books sync`, or any summary with --db, fills them\n"
                .to_owned(),
        );
    }
    let mut report = String::new();
    for a in accounts {
        report.push_str(&format!("{}: {} transactions\n", a.account, a.transactions));
        for (s, e) in a.ranges {
            report.push_str(&format!("  read in full: {} to {}\n", day(s), day(e)));
        }
    }
    Ok(report)
}

/// `books sync`: reads what is missing from `since` (default [`books::DEFAULT_SYNC_DAYS`]
/// ago) to now. Exit 1 when Stripe refuses, 2 when the store fails.
pub async fn sync(store: &Store, client: &Client, since: Option<&str>) -> ExitCode {
    let now = Timestamp::now().as_second();
    let start = match since {
        None => now - books::DEFAULT_SYNC_DAYS * 86_400,
        Some(raw) => match raw
            .parse::<Date>()
            .ok()
            .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        {
            Some(z) => z.timestamp().as_second(),
            None => {
                eprintln!("stripe-mcp books sync: --since {raw:?} is not a day like 2026-11-01");
                return ExitCode::from(2);
            }
        },
    };
    let account = match client.account_id().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stripe-mcp books sync: {}", client.redact(&e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    let result = books::sync(
        store,
        &Scope::Operator,
        client,
        &account,
        start,
        now + 1,
        now,
        u64::MAX,
        None,
        |p| async move {
            tracing::debug!(read = p.read, slices_done = p.slices_done, "books sync");
        },
    )
    .await;
    match result {
        Ok(s) => {
            println!(
                "{account}: {} transactions read from Stripe over {} range(s) since {}",
                s.fetched,
                s.ranges,
                day(start)
            );
            ExitCode::SUCCESS
        }
        Err(SyncError::Read(SliceError::Stripe(e))) => {
            eprintln!("stripe-mcp books sync: {}", client.redact(&e.to_string()));
            ExitCode::FAILURE
        }
        Err(SyncError::Read(e)) => {
            eprintln!("stripe-mcp books sync: {e:?}");
            ExitCode::FAILURE
        }
        Err(SyncError::Store(e)) => {
            eprintln!("stripe-mcp books sync: {e}");
            ExitCode::from(2)
        }
    }
}
