//! CLI flags and environment, validated once at start-up.

use std::{net::IpAddr, path::PathBuf};

use clap::{Args, Parser, Subcommand};

use serde::Deserialize;

use crate::stripe::client::{DEFAULT_API_BASE, DEFAULT_STRIPE_VERSION};

/// Command line of `stripe-mcp`, a drop-in for `npx -y @stripe/mcp --tools=all --api-key=...`.
#[derive(Debug, Parser)]
#[command(
    name = "stripe-mcp",
    version,
    about = "A Model Context Protocol server over stdio that gives an AI agent real, safe Stripe tools.",
    long_about = "A Model Context Protocol server over stdio that gives an AI agent real, safe Stripe tools.\n\n\
Run it from an MCP client (Claude Desktop, Cursor, ...) with the key in the client's `env` entry:\n  \
stripe-mcp --tools=all   (with STRIPE_SECRET_KEY=sk_test_... in the environment)\n\n\
Prefer STRIPE_SECRET_KEY to --api-key: a command line is readable by every local user (ps, /proc/PID/cmdline).\n\n\
stdout carries the protocol; logs go to stderr (RUST_LOG, default info,rmcp=warn). \
A .env file in the working directory is read if present, for STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET only \
(never where the key is sent, logging or anything else); it never overrides the real environment.\n\n\
HTTPS_PROXY/HTTP_PROXY are honoured for https API bases (a proxy then sees only an encrypted tunnel), never for a plain-http loopback base."
)]
pub struct Cli {
    /// What to do; without a subcommand the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Stripe secret key (sk_test_/sk_live_) or restricted key (rk_test_/rk_live_). Never a publishable pk_ key. Prefer the STRIPE_SECRET_KEY environment variable: a command line is visible to every local user in `ps`.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,

    /// Tools to offer: "all" (everything but stripe_api_write), or a comma-separated list of tool names, groups (core, checkout, customers, payments, refunds, balance, catalog, billing, disputes, search, orders, books) or @stripe/mcp permission names (customers.read, ...). `stripe-mcp tools` shows what a selection costs.
    #[arg(long, default_value = "all", global = true)]
    pub tools: String,

    /// Offer only read-only tools (get_, list_, search_, fetch_), whatever --tools says. The environment variable takes true or false (a Claude Desktop extension's boolean setting).
    #[arg(long, env = "STRIPE_MCP_READ_ONLY", global = true)]
    pub read_only: bool,

    /// Act on this connected account (Connect): sent as the Stripe-Account header on every request.
    #[arg(long, env = "STRIPE_ACCOUNT", global = true)]
    pub stripe_account: Option<String>,

    /// Connect platforms: every tool takes an optional stripe_account (acct_...) sent as Stripe-Account for that call only.
    #[arg(long, env = "STRIPE_MCP_CONNECT", global = true)]
    pub connect: bool,

    /// Base URL of the Stripe API (for proxies and tests). Plain http:// only for a loopback host.
    #[arg(long, env = "STRIPE_API_BASE", default_value = DEFAULT_API_BASE, global = true)]
    pub api_base: String,

    /// Stripe API version pinned on every request (Stripe-Version header).
    #[arg(long, env = "STRIPE_VERSION", default_value = DEFAULT_STRIPE_VERSION, global = true)]
    pub stripe_version: String,

    /// Retries after a failed attempt, only where Stripe says retrying is safe.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10), global = true)]
    pub max_retries: u32,

    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub timeout: u64,

    /// Overall deadline of one tool call in seconds, retries and backoff included; below common MCP clients' 60 s request timeout.
    #[arg(long, default_value_t = 45, value_parser = clap::value_parser!(u64).range(1..=3600), global = true, value_name = "SECONDS")]
    pub deadline: u64,

    /// Requests in flight to Stripe at once; further calls wait their turn.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=256), global = true, value_name = "N")]
    pub max_concurrency: u64,

    /// Read requests per second to Stripe for this key, shared by every tool call (parallel summaries stay under it; 429s slow it down). Default: 95% of Stripe's documented read limit (25 for a test key, 100 for a live key).
    #[arg(long, env = "STRIPE_MCP_READ_RATE", global = true, value_name = "PER_SECOND", value_parser = parse_read_rate)]
    pub read_rate: Option<f64>,

    /// Your site's base URL: checkout success/cancel URLs default to {APP_BASE_URL}/success and /cancel.
    #[arg(long, env = "APP_BASE_URL", global = true)]
    pub app_base_url: Option<String>,

    /// First retry delay in milliseconds (doubles each retry). For tests.
    #[arg(
        long,
        env = "STRIPE_MCP_RETRY_BASE_MS",
        default_value_t = 500,
        hide = true,
        global = true
    )]
    pub retry_base_ms: u64,

    /// The order store the webhook receiver writes: a SQLite file path (or sqlite:PATH), or a PostgreSQL URL postgres://USER:PASSWORD@HOST/DB?sslmode=require shared by several receivers and servers. Given to the MCP server, it adds get_order_status and list_orders. `webhooks` defaults to $XDG_DATA_HOME/stripe-mcp/orders.db (~/.local/share/stripe-mcp/orders.db). Prefer the environment variable for a URL with a password.
    #[arg(
        long,
        env = "STRIPE_MCP_DB",
        hide_env_values = true,
        global = true,
        value_name = "PATH|URL"
    )]
    pub db: Option<String>,

    /// Guardrails (see docs/guardrails.md): when a person confirms refunds, payments taken, cancellations, irreversible changes and stripe_api_write through an MCP form before anything is sent. auto: when the client can show one; always: refuse (confirmation_unavailable) when it cannot; never.
    #[arg(long, value_enum, env = "STRIPE_MCP_CONFIRM", default_value_t = ConfirmMode::Auto, global = true)]
    pub confirm: ConfirmMode,

    /// Seconds a person has to answer a confirmation; then the call fails with confirmation_timeout and nothing is sent.
    #[arg(long, env = "STRIPE_MCP_CONFIRM_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=3600), global = true, value_name = "SECONDS")]
    pub confirm_timeout: u64,

    /// The key (32+ characters) that seals 2026-07-28 confirmations, so that every replica behind one URL accepts an answer another one asked for. Default: random per process. Set it in the environment, not on the command line.
    #[arg(
        long,
        env = "STRIPE_MCP_CONFIRM_SECRET",
        hide_env_values = true,
        global = true,
        value_name = "SECRET"
    )]
    pub confirm_secret: Option<String>,

    /// With a live key (sk_live_/rk_live_), offer the write tools; without this flag a live key gets a read-only server.
    #[arg(long, env = "STRIPE_MCP_ALLOW_LIVE_WRITES", global = true)]
    pub allow_live_writes: bool,

    /// Mask personal data (emails, names, phones, addresses, card fingerprints) in every tool output; requests are unchanged.
    #[arg(long, env = "STRIPE_MCP_REDACT", global = true)]
    pub redact: bool,

    /// Never offer the MCP Apps views (charts, checkout QR code, order timeline) to clients that declare the io.modelcontextprotocol/ui extension; tools and results are then exactly those of a client without it.
    #[arg(long, env = "STRIPE_MCP_NO_UI", global = true)]
    pub no_ui: bool,

    /// A spending cap, KIND:CURRENCY:PER_CALL:DAILY in the currency's minor unit (`-` for none), e.g. refund:usd:5000:20000 (at most $50.00 a refund, $200.00 in any 24 hours). KIND is refund, take (payments confirmed, invoices charged, checkout sessions, payment links, subscription items) or payout (payouts, transfers); see docs/guardrails.md. Repeatable; needs --db (the tally is kept there). A capped kind refuses currencies it does not list.
    #[arg(long = "limit", global = true, value_name = "KIND:CUR:PER_CALL:DAILY")]
    pub limits: Vec<String>,

    /// A policy file (TOML) with spending caps: [limits.refund] usd = { per_call = 5000, daily = 20000 }. --limit flags override it per currency.
    #[arg(long, env = "STRIPE_MCP_POLICY", global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// `--read-rate`: a positive number of requests per second, at most 10,000.
fn parse_read_rate(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 10_000.0 => Ok(r),
        _ => Err(format!(
            "{raw:?} is not a rate: give requests per second, e.g. 25 (test mode) or 100 (live)"
        )),
    }
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Serve MCP over stdio (the default), or over streamable HTTP with --http ADDR.
    Serve(Box<ServeArgs>),
    /// Manage the tenants file of a remote server (`serve --http --auth tokens`).
    Tenants(crate::tenants::TenantsArgs),
    /// Call Stripe once and report whether the key works, its mode and the account.
    Check,
    /// Print the tools --tools and --read-only select, with the bytes each costs a session's context in tools/list, and the total. Needs no key.
    Tools,
    /// Receive Stripe's signed webhooks over HTTP and fulfill paid checkouts exactly once, into the --db ledger. Needs STRIPE_WEBHOOK_SECRET, not the API key.
    Webhooks(WebhooksArgs),
    /// The --db store's schema: `db status` shows its version, `db migrate` applies what is missing.
    Db(crate::store::cli::DbArgs),
    /// Print the audit trail of writes kept in the --db store (every write attempt, its confirmation, limit decision and outcome).
    Audit(AuditArgs),
    /// The copy of the balance transactions kept in the --db store: `books sync [--since DAY]` fills it ahead of time (for a cron job), `books status` shows what is held.
    Books(crate::store::books_cli::BooksArgs),
}

/// Flags of `stripe-mcp webhooks`.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct WebhooksArgs {
    /// Address to listen on (plain HTTP: put TLS in front of it for a public endpoint). Port 0 picks a free port, printed on stderr.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    pub listen: String,

    /// The URL path Stripe posts to.
    #[arg(long, default_value = "/webhook/stripe")]
    pub path: String,

    /// Endpoint signing secret(s), whsec_...; several comma-separated while rotating (any one may match). Prefer the environment variable to the flag.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// Seconds a signed timestamp may be away from now, either way (Stripe's default: 300).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub tolerance: u64,

    /// Command run (via sh -c) once per order entering paid, the order as JSON on stdin. A failure is recorded and retried at the next start.
    #[arg(long, value_name = "COMMAND")]
    pub on_paid: Option<String>,

    /// The Stripe account (acct_...) this endpoint belongs to: recorded on the orders of its own events, so remote tenants acting on that account read them. Connect events record the connected account they name.
    #[arg(long, env = "STRIPE_MCP_ACCOUNT", value_name = "ACCT")]
    pub account: Option<String>,

    /// Seconds a receiver holds a claimed --on-paid run (renewed while it runs); when its holder dies, another receiver on the same database takes it over after this.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub hook_lease: u64,
}

/// Tool calls per second a tenant may make by default (`--rate-limit`).
pub const DEFAULT_RATE_PER_SECOND: u32 = 20;

/// The auth modes of `serve --http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// No authentication: every caller uses the server's own key. Loopback addresses only.
    #[default]
    None,
    /// The bearer token is the caller's own Stripe secret or restricted key.
    StripeKey,
    /// Bearer tokens issued with `stripe-mcp tenants add`, one tenant each (`--tenants FILE`).
    Tokens,
    /// OAuth 2.1 JWT access tokens checked against the issuer's JWKS (`--issuer`, `--audience`).
    Oauth,
}

impl AuthMode {
    /// The name used on the command line and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::StripeKey => "stripe-key",
            AuthMode::Tokens => "tokens",
            AuthMode::Oauth => "oauth",
        }
    }
}

/// The default address of `serve --http` without a value.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8787";

/// Flags of `stripe-mcp serve`. Without `--http` the server speaks stdio and ignores the rest.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub struct ServeArgs {
    /// Serve MCP over streamable HTTP on ADDR instead of stdio (default 127.0.0.1:8787). Port 0 picks a free port, printed on stderr. Plain HTTP: put TLS in a reverse proxy.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_HTTP_ADDR)]
    pub http: Option<String>,

    /// The URL path of the MCP endpoint.
    #[arg(long = "mcp-path", default_value = "/mcp", value_name = "PATH")]
    pub mcp_path: String,

    /// Who may call: none (the server's own key; loopback only), stripe-key (the bearer token is the caller's Stripe key), tokens (--tenants FILE), oauth (--issuer, --audience).
    #[arg(long, value_enum, default_value_t = AuthMode::None)]
    pub auth: AuthMode,

    /// `--auth tokens`: the tenants file (TOML) that `stripe-mcp tenants add` writes.
    #[arg(long, env = "STRIPE_MCP_TENANTS", value_name = "FILE")]
    pub tenants: Option<PathBuf>,

    /// `--auth oauth`: the authorization server's issuer URL (the `iss` tokens must carry).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// `--auth oauth`: the audience tokens must be for: this server's canonical URL (RFC 8707). Defaults to --public-url plus the MCP path.
    #[arg(long, value_name = "URL")]
    pub audience: Option<String>,

    /// `--auth oauth`: where the issuer publishes its signing keys. Default: the jwks_uri of the issuer's OpenID or OAuth metadata.
    #[arg(long, value_name = "URL")]
    pub jwks_url: Option<String>,

    /// `--auth oauth`: seconds after which the issuer's keys are fetched again, so a key it withdraws stops working.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub jwks_refresh: u64,

    /// `--auth oauth`: the claim that names the tenant (sub, or a claim such as a group; an array claim picks its first value that is a tenant).
    #[arg(long, default_value = "sub", value_name = "CLAIM")]
    pub tenant_claim: String,

    /// `--auth oauth`: the scope read-only tools need.
    #[arg(long, default_value = "stripe:read", value_name = "SCOPE")]
    pub read_scope: String,

    /// `--auth oauth`: the scope every other tool needs.
    #[arg(long, default_value = "stripe:write", value_name = "SCOPE")]
    pub write_scope: String,

    /// The URL clients use to reach this server, as a reverse proxy publishes it (`https://mcp.example.com`). Its host is allowed, and OAuth metadata names it.
    #[arg(long, env = "STRIPE_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Host header values to accept besides loopback names and the public URL's host (DNS-rebinding protection). Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "HOST")]
    pub allowed_host: Vec<String>,

    /// Browser origins allowed to call (scheme://host:port, or :* for any port). A request with any other Origin header is refused. Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_origin: Vec<String>,

    /// Addresses of reverse proxies whose X-Forwarded-For is believed (for logs). Others' X-Forwarded-* headers are ignored. Comma-separated IPs.
    #[arg(long, value_delimiter = ',', value_name = "IP")]
    pub trusted_proxy: Vec<IpAddr>,

    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,

    /// Seconds a tool call may take before it is answered with a retryable error.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub request_timeout: u64,

    /// Seconds a connection may take to send a request's headers, and may stay idle between requests.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub idle_timeout: u64,

    /// Seconds a request body may take to arrive.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub body_timeout: u64,

    /// Most authenticated connections open at once; one more is answered 503 with Retry-After.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_connections: u32,

    /// On SIGTERM: seconds to let in-flight tool calls finish before closing.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600), value_name = "SECONDS")]
    pub shutdown_grace: u64,

    /// Tool calls per second per tenant (a token bucket; a tenants-file entry can set its own).
    #[arg(long, default_value_t = DEFAULT_RATE_PER_SECOND, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub rate_limit: u32,

    /// Tool calls a tenant may start at once after a quiet spell.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub rate_burst: u32,

    /// What one caller may hold: connections, sessions, streams, calls in flight.
    #[command(flatten)]
    pub bounds: BoundArgs,
}

/// The per-caller bounds of `serve --http`; each is a flag with a default.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub struct BoundArgs {
    /// Seconds a new connection has to send an authenticated request; one that has not is closed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub header_timeout: u64,

    /// Connections open without an authenticated request yet; one more closes the oldest of them.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_unauthenticated: u32,

    /// Sessions (protocol 2025-11-25) one tenant may hold; opening one more closes its least recently used.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_sessions_per_tenant: u32,

    /// Sessions in all; past this, a new session is refused with 503 and Retry-After.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000), value_name = "N")]
    pub max_sessions: u32,

    /// Seconds a session may go unused before it is closed.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub session_idle_timeout: u64,

    /// Open GET (SSE) streams per tenant; one more is refused with 429 and Retry-After.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_streams_per_tenant: u32,

    /// Requests one tenant may have in flight (POST, until its answer is delivered); one more is refused with 429 and Retry-After.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_calls_per_tenant: u32,

    /// Seconds a GET stream may carry nothing but keep-alives before it is closed (the client may reopen it).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub stream_idle_timeout: u64,

    /// Seconds a client may leave an answer unread (its socket full) before the connection is closed and the answer dropped.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub write_timeout: u64,
}

/// `--confirm`: when a person is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ConfirmMode {
    /// Ask when the client can show a form (declared the elicitation capability);
    /// otherwise proceed as without confirmation.
    #[default]
    Auto,
    /// Always ask; a client that cannot be asked gets `confirmation_unavailable`.
    Always,
    /// Never ask (an unattended agent, or a client that confirms on its own).
    Never,
}

/// `stripe-mcp audit`: print the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct AuditArgs {
    /// Only rows since this: a duration back from now (30m, 24h, 7d) or Unix seconds.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only this tenant's rows (`local` for the stdio server's).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// At most this many rows, newest first.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000), value_name = "N")]
    pub rows: u32,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// What a `.env` in the working directory may set: the secrets it exists for. Never
/// where the key is sent (`STRIPE_API_BASE`), logging (`RUST_LOG`), the ledger, the
/// account or the checkout URLs: an MCP client may start the server inside any
/// project folder, and that folder must not be able to re-point the key.
pub const DOTENV_ALLOWED: &[&str] = &["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"];

/// What [`read_dotenv`] did: the variables set, and those refused (names only).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Dotenv {
    /// Allowed variables the environment did not already have.
    pub set: Vec<(String, String)>,
    /// Variables the file tried to set that a `.env` may not set.
    pub refused: Vec<String>,
}

/// Reads `.env`-style `text`: only [`DOTENV_ALLOWED`] names, and only those `present`
/// says the environment lacks. Nothing is changed here; the caller applies `set`.
pub fn read_dotenv(path: &std::path::Path, present: impl Fn(&str) -> bool) -> Dotenv {
    let mut out = Dotenv::default();
    let Ok(iter) = dotenvy::from_path_iter(path) else {
        return out;
    };
    for item in iter {
        let Ok((name, value)) = item else { continue };
        if !DOTENV_ALLOWED.contains(&name.as_str()) {
            out.refused.push(name);
        } else if !present(&name) {
            out.set.push((name, value));
        }
    }
    out
}

/// Writes a command's report to stdout (the commands that do not serve MCP: `tools`,
/// `books status`, `check`, ...). A reader that stops early (`stripe-mcp tools | head`) has
/// what it wanted: a closed pipe ends the report quietly with success instead of a panic.
/// Any other failure to write is the command's failure.
pub fn print_report(text: &str) -> std::process::ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stripe-mcp: could not write the report to stdout: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
