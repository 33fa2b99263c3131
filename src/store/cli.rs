//! `stripe-mcp db status` and `stripe-mcp db migrate`: the schema of the `--db` store, for
//! operators who migrate before rolling out a new build (every start migrates anyway).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{DbTarget, Store, StoreError};

/// Flags of `stripe-mcp db`.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct DbArgs {
    /// What to do with the --db store's schema.
    #[command(subcommand)]
    pub action: DbAction,
}

/// `db` actions.
#[derive(Debug, Clone, Copy, Subcommand, PartialEq, Eq)]
pub enum DbAction {
    /// Print the schema version of the --db store and what this build knows; exit 0 when up to date, 1 when migrations are pending or the database is newer.
    Status,
    /// Apply the missing migrations (in one transaction) and print the version reached.
    Migrate,
}

/// Runs a `db` action on `target`; prints its report on stdout (a CLI, not MCP) and
/// failures on stderr. Exit 2 when the store cannot be opened.
pub async fn run(target: Option<DbTarget>, args: &DbArgs) -> ExitCode {
    let Some(target) = target else {
        eprintln!("stripe-mcp db: give the store with --db PATH|URL or STRIPE_MCP_DB");
        return ExitCode::from(2);
    };
    let result: Result<super::SchemaStatus, StoreError> = match args.action {
        DbAction::Status => Store::schema_status(&target).await,
        DbAction::Migrate => match Store::open(&target).await {
            Ok(store) => store.schema().await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(status) => {
            // `db` does not serve MCP: like any CLI, its report goes to stdout.
            println!(
                "{} {}: {}",
                target.backend(),
                target.shown(),
                status.describe()
            );
            if status.found == status.known {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("stripe-mcp db: {e}");
            ExitCode::from(2)
        }
    }
}
