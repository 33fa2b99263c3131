//! The `stripe-mcp` binary: parse the CLI, log to stderr, build the client, serve stdio.

use std::process::ExitCode;

use clap::Parser;
use rmcp::ServiceExt;
use stripe_mcp::{
    StripeMcp, check,
    config::{self, Cli, Command},
    egress::scrub::{self as redact, RedactingStderr},
    guard::backpressure::{Backpressure, GatedReader, GatedWriter},
    server::ToolCost,
    server::setup::{self, Config, WebhooksConfig},
    store::{
        Store,
        books_cli::{BooksAction, BooksArgs},
    },
    stripe::Client,
    webhooks,
};
use tracing_subscriber::EnvFilter;

/// The log filter without `RUST_LOG`. rmcp's service logs a handler's error at WARN with
/// its message, and a peer's rejected request with what it sent: both can carry a
/// caller's arguments, so that module logs errors only.
const DEFAULT_LOG: &str = "info,rmcp=warn,rmcp::service=error";

/// Prints a start-up failure on stderr, with anything shaped like a secret masked.
macro_rules! fail {
    ($($arg:tt)*) => {
        eprintln!("{}", redact::redact(&format!($($arg)*)))
    };
}

/// The `--db` store of `books`: the exit code when none is given or it cannot be opened.
async fn books_store(cli: &Cli) -> Result<Store, ExitCode> {
    match setup::db_target(cli) {
        Ok(Some(target)) => Store::open(&target).await.map_err(|e| {
            fail!("stripe-mcp books: {e}");
            ExitCode::from(2)
        }),
        Ok(None) => {
            fail!(
                "stripe-mcp books: give --db PATH|URL (or STRIPE_MCP_DB): the store the books are kept in"
            );
            Err(ExitCode::from(2))
        }
        Err(e) => {
            fail!("stripe-mcp books: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    // Before any thread exists, so changing the environment is sound.
    apply_dotenv();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            // clap quotes the offending value: a key pasted in the wrong place
            // (`--timeout=sk_live_...`, a stray positional) must not be echoed.
            eprint!("{}", redact::redact(&e.render().to_string()));
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    if let Some(key) = cli.api_key.as_deref().filter(|k| !k.trim().is_empty()) {
        redact::register(key.trim());
    }
    tracing_subscriber::fmt()
        .with_writer(RedactingStderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            fail!("stripe-mcp: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli));
    // Where stdio are not both pipes (Node-based clients give sockets; macOS, Windows)
    // rmcp reads stdin with a blocking read that only the client closing stdin ends.
    // Once the session is over (a signal, say), do not wait for that read.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

/// Applies the working directory's `.env`, restricted to [`config::DOTENV_ALLOWED`]:
/// a folder the client starts us in may supply the key, never re-point it.
fn apply_dotenv() {
    let found = config::read_dotenv(std::path::Path::new(".env"), |name| {
        std::env::var_os(name).is_some()
    });
    for (name, value) in &found.set {
        // SAFETY: called first thing in `main`, before any other thread is started.
        unsafe { std::env::set_var(name, value) };
    }
    if !found.refused.is_empty() {
        eprintln!(
            "stripe-mcp: ignored {} from ./.env: a .env may only set {} (set the others in the real environment or as flags)",
            found.refused.join(", "),
            config::DOTENV_ALLOWED.join(" and ")
        );
    }
}

async fn run(cli: Cli) -> ExitCode {
    // The receiver needs only its signing secret, never the API key.
    if let Some(Command::Webhooks(args)) = &cli.command {
        return match WebhooksConfig::from_cli(&cli, args) {
            Ok(c) => webhooks::run(c, shutdown_signal()).await,
            Err(e) => {
                fail!("stripe-mcp webhooks: {e}");
                ExitCode::from(2)
            }
        };
    }

    // The store's schema: no key involved.
    if let Some(Command::Db(args)) = &cli.command {
        return match setup::db_target(&cli) {
            Ok(target) => stripe_mcp::store::cli::run(target, args).await,
            Err(e) => {
                fail!("stripe-mcp db: {e}");
                ExitCode::from(2)
            }
        };
    }
    // The audit trail: read from the store, no key involved.
    if let Some(Command::Audit(args)) = &cli.command {
        let target = match setup::db_target(&cli) {
            Ok(Some(t)) => t,
            Ok(None) => {
                fail!(
                    "stripe-mcp audit: give --db PATH|URL (or STRIPE_MCP_DB): the store the server records writes in"
                );
                return ExitCode::from(2);
            }
            Err(e) => {
                fail!("stripe-mcp audit: {e}");
                return ExitCode::from(2);
            }
        };
        return match stripe_mcp::guard::audit::run(args, &target).await {
            // The trail is this command's output (it is not an MCP server).
            Ok(text) => config::print_report(&text),
            Err(e) => {
                fail!("stripe-mcp audit: {e}");
                ExitCode::from(1)
            }
        };
    }
    // What the books hold: read from the store, no key involved.
    if let Some(Command::Books(BooksArgs {
        action: BooksAction::Status,
    })) = &cli.command
    {
        let store = match books_store(&cli).await {
            Ok(s) => s,
            Err(code) => return code,
        };
        return match stripe_mcp::store::books_cli::status(&store).await {
            Ok(report) => config::print_report(&report),
            Err(e) => {
                fail!("stripe-mcp books: {e}");
                ExitCode::from(2)
            }
        };
    }
    // Listing what a selection costs needs no key.
    if let Some(Command::Tools) = &cli.command {
        return print_tools(&cli);
    }

    // Remote MCP and the tenants file: every tenant brings its own key.
    if let Some(Command::Tenants(args)) = &cli.command {
        return stripe_mcp::tenants::run(args);
    }
    if let Some(Command::Serve(args)) = &cli.command
        && args.http.is_some()
    {
        let args = args.clone();
        return stripe_mcp::transport::http::main(cli, *args, shutdown_signal()).await;
    }

    let mut config = match Config::from_cli(&cli) {
        Ok(c) => c,
        Err(e) => {
            fail!("stripe-mcp: {e}");
            return ExitCode::from(2);
        }
    };
    let mode = config.client.api_key.mode();
    let client = match Client::new(config.client) {
        Ok(c) => c,
        Err(e) => {
            fail!("stripe-mcp: {e}");
            return ExitCode::from(2);
        }
    };

    match cli.command.unwrap_or(Command::Serve(Default::default())) {
        Command::Check => {
            let result = check::run(&client).await;
            let text = check::render(&result);
            if result.is_ok() {
                // `check` does not serve MCP: like any CLI, its report goes to stdout.
                config::print_report(&format!("{}\n", redact::redact(&text)))
            } else {
                eprintln!("{}", redact::redact(&text));
                ExitCode::FAILURE
            }
        }
        Command::Books(BooksArgs {
            action: BooksAction::Sync { since },
        }) => {
            let Some(target) = config.db.clone() else {
                fail!(
                    "stripe-mcp books: give --db PATH|URL (or STRIPE_MCP_DB): the store the books are kept in"
                );
                return ExitCode::from(2);
            };
            let store = match Store::open(&target).await {
                Ok(s) => s,
                Err(e) => {
                    fail!("stripe-mcp books: {e}");
                    return ExitCode::from(2);
                }
            };
            stripe_mcp::store::books_cli::sync(&store, &client, since.as_deref()).await
        }
        Command::Webhooks(_)
        | Command::Books(_)
        | Command::Tenants(_)
        | Command::Db(_)
        | Command::Audit(_)
        | Command::Tools => {
            unreachable!("handled above")
        }
        Command::Serve(_) => {
            if let Some(target) = config.db.clone() {
                match Store::open(&target).await {
                    Ok(store) => {
                        tracing::info!(db = %store.shown(), backend = store.backend(), "order store opened: get_order_status and list_orders are offered");
                        config.settings.ledger = Some(store);
                    }
                    Err(e) => {
                        fail!("stripe-mcp: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            let server =
                match StripeMcp::new(client, config.settings, &config.tools, config.read_only) {
                    Ok(s) => s,
                    Err(e) => {
                        fail!("stripe-mcp: {e}");
                        return ExitCode::from(2);
                    }
                };
            // Installed before the "serving" line, so a signal sent after it is always handled.
            let shutdown = shutdown_signal();
            tracing::info!(
                mode = %mode,
                tools = server.tools().len(),
                version = env!("CARGO_PKG_VERSION"),
                "stripe-mcp serving MCP on stdio ({} mode key)",
                mode
            );
            serve(server, shutdown).await
        }
    }
}

/// `stripe-mcp tools`: each selected tool with what it costs in `tools/list`, on stdout
/// (this command does not serve MCP).
fn print_tools(cli: &Cli) -> ExitCode {
    let listed = setup::parse_tools(&cli.tools)
        .map_err(|e| e.to_string())
        .and_then(|selection| {
            StripeMcp::listed_tools(&selection, cli.read_only, cli.db.is_some(), cli.connect)
        });
    let tools = match listed {
        Ok(t) => t,
        Err(e) => {
            fail!("stripe-mcp tools: {e}");
            return ExitCode::from(2);
        }
    };
    let costs: Vec<ToolCost> = tools.iter().map(ToolCost::of).collect();
    let width = costs.iter().map(|c| c.name.len()).max().unwrap_or(4);
    // `tools` does not serve MCP: like any CLI, its report goes to stdout.
    let mut report = format!(
        "{:width$}  {:>6}  {:>13}\n",
        "tool", "model", "output_schema"
    );
    for c in &costs {
        report.push_str(&format!(
            "{:width$}  {:>6}  {:>13}\n",
            c.name, c.model, c.output_schema
        ));
    }
    let model: usize = costs.iter().map(|c| c.model).sum();
    let output: usize = costs.iter().map(|c| c.output_schema).sum();
    report.push_str(&format!(
        "total: {} tools, {model} B a model reads (name, description, input schema; {} B per tool on average), {output} B of output schemas\n",
        costs.len(),
        model.checked_div(costs.len()).unwrap_or(0)
    ));
    config::print_report(&report)
}

/// Serves one MCP session on stdio until the client closes it or `shutdown` fires.
/// The signal handlers behind `shutdown` exist before the handshake, so a
/// SIGTERM at any moment ends the process cleanly instead of killing it.
async fn serve(server: StripeMcp, shutdown: impl std::future::Future<Output = ()>) -> ExitCode {
    tokio::pin!(shutdown);
    // A client that stops reading our answers stops our reading of its requests.
    let gate = Backpressure::new();
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let transport = (
        GatedReader::new(stdin, gate.clone()),
        GatedWriter::new(stdout, gate.clone()),
    );
    let server = server.with_backpressure(gate);
    let service = tokio::select! {
        started = server.serve(transport) => match started {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "MCP session failed to start");
                return ExitCode::FAILURE;
            }
        },
        () = &mut shutdown => {
            tracing::info!("shutting down on signal before a session started");
            return ExitCode::SUCCESS;
        }
    };
    let cancel = service.cancellation_token();
    let waiting = service.waiting();
    tokio::pin!(waiting);
    let ended = tokio::select! {
        ended = &mut waiting => ended,
        () = &mut shutdown => {
            tracing::info!("shutting down on signal");
            cancel.cancel();
            waiting.await
        }
    };
    match ended {
        Ok(reason) => {
            tracing::info!(?reason, "MCP session ended");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "MCP session ended with an error");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are registered when this is
/// called, not when it is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            match (term, int) {
                (Some(mut term), Some(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
