//! `stripe-mcp webhooks`: receives Stripe's signed events and fulfills each paid
//! Checkout Session exactly once, in the store ([`crate::store`]: embedded SQLite, or one
//! PostgreSQL shared by several receivers) the MCP server reads.
//!
//! A delivery is verified on its raw bytes ([`signature`]), recorded in one transaction
//! ([`crate::store::Store::record`]) and only then acknowledged ([`receiver`]); an order
//! entering `paid` may run the `--on-paid` command once ([`on_paid`]). [`serve`] bounds
//! connections and reads.

pub mod on_paid;
pub mod receiver;
pub mod serve;
pub mod signature;

use std::{future::Future, process::ExitCode, sync::Arc};

use crate::server::setup::WebhooksConfig;

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Opens the store, binds, retries unfinished `--on-paid` runs, and serves until `shutdown`.
///
/// Prints the database (path, or URL with the password masked) and `listening on ADDR` on stderr (port 0 picks a free port).
pub async fn run(
    config: WebhooksConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> ExitCode {
    let options = crate::store::Options {
        hook_lease: config.hook_lease,
        ..crate::store::Options::default()
    };
    let store = match crate::store::Store::open_with(&config.db, options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stripe-mcp webhooks: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "stripe-mcp webhooks: order store ({}) at {}",
        store.backend(),
        store.shown()
    );
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "stripe-mcp webhooks: cannot listen on {}: {e}",
                config.listen
            );
            return ExitCode::from(2);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stripe-mcp webhooks: {e}");
            return ExitCode::FAILURE;
        }
    };
    let on_paid = config.on_paid.map(|c| Arc::new(on_paid::OnPaid::new(c)));
    if let Some(hook) = &on_paid {
        tokio::spawn(on_paid::retry_pending(store.clone(), hook.clone()));
    }
    let receiver = Arc::new(
        receiver::Receiver::new(config.secrets, config.tolerance, store, on_paid)
            .with_account(config.account),
    );
    let max_connections = serve::connection_limit();
    tracing::info!(
        secrets = receiver.secrets.len(),
        tolerance_secs = receiver.tolerance.as_secs(),
        on_paid = receiver.on_paid.is_some(),
        max_connections,
        "webhook receiver starting"
    );
    eprintln!(
        "stripe-mcp webhooks: listening on {addr} (POST {})",
        config.path
    );
    let app = receiver::router(receiver, &config.path);
    serve::serve(listener, app, max_connections, shutdown).await;
    tracing::info!("webhook receiver stopped");
    ExitCode::SUCCESS
}
