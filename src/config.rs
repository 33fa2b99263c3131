//! CLI flags and environment, validated once at start-up.

use std::{net::IpAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::{
    guard::{
        GuardSettings,
        confirm::{ConfirmMode, Seal},
    },
    server::{Settings, ToolSelection},
    store::DbTarget,
    stripe::{
        ApiKey, ClientConfig,
        client::{DEFAULT_API_BASE, DEFAULT_STRIPE_VERSION},
        retry::Backoff,
    },
    webhooks::signature::Secrets,
};

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

    /// A spending cap, KIND:CURRENCY:PER_CALL:DAILY in the currency's minor unit (`-` for none), e.g. refund:usd:5000:20000 (at most $50.00 a refund, $200.00 in any 24 hours). KIND is refund or take (payments confirmed, checkout sessions). Repeatable; needs --db (the tally is kept there). A capped kind refuses currencies it does not list.
    #[arg(long = "limit", global = true, value_name = "KIND:CUR:PER_CALL:DAILY")]
    pub limits: Vec<String>,

    /// A policy file (TOML) with spending caps: [limits.refund] usd = { per_call = 5000, daily = 20000 }. --limit flags override it per currency.
    #[arg(long, env = "STRIPE_MCP_POLICY", global = true, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Serve MCP over stdio (the default), or over streamable HTTP with --http ADDR.
    Serve(Box<crate::transport::ServeArgs>),
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
    Audit(crate::guard::audit::AuditArgs),
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

    /// Seconds a receiver holds a claimed --on-paid run (renewed while it runs); when its holder dies, another receiver on the same database takes it over after this.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub hook_lease: u64,
}

/// The validated configuration of `stripe-mcp webhooks`: no API key involved.
#[derive(Debug)]
pub struct WebhooksConfig {
    /// Where to listen (`host:port`; resolved when binding).
    pub listen: String,
    /// The route Stripe posts to.
    pub path: String,
    /// The store: a SQLite file or a PostgreSQL URL.
    pub db: DbTarget,
    /// The accepted signing secrets.
    pub secrets: Secrets,
    /// Signed timestamps further than this from now are refused.
    pub tolerance: Duration,
    /// `--on-paid`.
    pub on_paid: Option<String>,
    /// `--hook-lease`.
    pub hook_lease: Duration,
}

impl WebhooksConfig {
    /// Validates the webhook flags; the secret is refused unless it is `whsec_...`.
    pub fn from_cli(cli: &Cli, args: &WebhooksArgs) -> Result<WebhooksConfig, ConfigError> {
        let secrets = Secrets::parse(args.webhook_secret.as_deref().unwrap_or(""))
            .map_err(ConfigError::Invalid)?;
        if !args.path.starts_with('/') || args.path.contains(char::is_whitespace) {
            return Err(ConfigError::Invalid(format!(
                "--path must be a URL path like /webhook/stripe, got {:?}",
                args.path
            )));
        }
        if args.listen.trim().is_empty() || !args.listen.contains(':') {
            return Err(ConfigError::Invalid(format!(
                "--listen must be host:port like 127.0.0.1:8000, got {:?}",
                args.listen
            )));
        }
        let db = match db_target(cli)? {
            Some(t) => t,
            None => DbTarget::Sqlite(crate::store::default_path().ok_or_else(|| {
                ConfigError::Invalid(
                    "no --db given and neither XDG_DATA_HOME nor HOME is set: pass --db PATH"
                        .into(),
                )
            })?),
        };
        let on_paid = match args.on_paid.as_deref().map(str::trim) {
            None => None,
            Some("") => {
                return Err(ConfigError::Invalid(
                    "--on-paid is empty: give a command, or leave the flag out".into(),
                ));
            }
            Some(c) => Some(c.to_owned()),
        };
        Ok(WebhooksConfig {
            listen: args.listen.clone(),
            path: args.path.clone(),
            db,
            secrets,
            tolerance: Duration::from_secs(args.tolerance),
            on_paid,
            hook_lease: Duration::from_secs(args.hook_lease),
        })
    }
}

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// For [`crate::stripe::Client::new`].
    pub client: ClientConfig,
    /// Which tools to register.
    pub tools: ToolSelection,
    /// Only read-only tools.
    pub read_only: bool,
    /// What the tools read besides the client.
    pub settings: Settings,
    /// `--db`: the order store to open, which adds the order tools.
    pub db: Option<DbTarget>,
}

/// Why the configuration was refused. Messages never contain the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The key is missing or not a secret key.
    #[error("{0}")]
    Key(#[from] crate::stripe::key::KeyError),
    /// Any other flag.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Validates the flags.
    pub fn from_cli(cli: &Cli) -> Result<Config, ConfigError> {
        let api_key = ApiKey::parse(cli.api_key.as_deref().unwrap_or(""))?;
        let api_base = parse_api_base(&cli.api_base)?;
        if let Some(account) = &cli.stripe_account
            && (!account.starts_with("acct_")
                || account.len() <= 5
                || !account
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(ConfigError::Invalid(format!(
                "--stripe-account must be a connected account id like acct_1Abc..., got {account:?}"
            )));
        }
        if cli.stripe_version.is_empty()
            || !cli
                .stripe_version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(ConfigError::Invalid(
                "--stripe-version must look like 2026-10-28.endive".into(),
            ));
        }
        let app_base_url = match cli.app_base_url.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw).map_err(|_| {
                    ConfigError::Invalid(format!(
                        "APP_BASE_URL {raw:?} is not an absolute URL like https://shop.example"
                    ))
                })?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ConfigError::Invalid(format!(
                        "APP_BASE_URL must be an http(s) URL, got {raw:?}"
                    )));
                }
                Some(url)
            }
        };
        let tools = parse_tools(&cli.tools)?;
        let seal = match cli.confirm_secret.as_deref().filter(|s| !s.is_empty()) {
            None => Seal::default(),
            Some(secret) => {
                crate::egress::scrub::register(secret);
                Seal::with_key(secret.as_bytes()).map_err(|_| {
                    ConfigError::Invalid(
                        "STRIPE_MCP_CONFIRM_SECRET must be at least 32 characters".into(),
                    )
                })?
            }
        };
        let mut limits = match &cli.policy {
            Some(path) => {
                crate::guard::limits::PolicyFile::read(path)
                    .map_err(ConfigError::Invalid)?
                    .limits
            }
            None => Default::default(),
        };
        for flag in &cli.limits {
            limits.add_flag(flag).map_err(ConfigError::Invalid)?;
        }
        let db = db_target(cli)?;
        if !limits.is_empty() && db.is_none() {
            return Err(ConfigError::Invalid(
                "spending limits need --db (or STRIPE_MCP_DB): the tally is kept there, so it holds across restarts and processes".into(),
            ));
        }
        Ok(Config {
            client: ClientConfig {
                api_key,
                api_base,
                stripe_version: cli.stripe_version.clone(),
                stripe_account: cli.stripe_account.clone(),
                max_retries: cli.max_retries,
                timeout: Duration::from_secs(cli.timeout),
                deadline: Duration::from_secs(cli.deadline),
                max_concurrency: cli.max_concurrency as usize,
                backoff: Backoff {
                    base: Duration::from_millis(cli.retry_base_ms),
                    ..Backoff::default()
                },
            },
            tools,
            read_only: cli.read_only,
            settings: Settings {
                app_base_url,
                ledger: None,
                guard: GuardSettings {
                    confirm: cli.confirm,
                    confirm_timeout: Duration::from_secs(cli.confirm_timeout),
                    allow_live_writes: cli.allow_live_writes,
                    redact: cli.redact,
                    seal,
                    limits,
                    scope: String::new(),
                },
                connect: cli.connect,
                no_ui: cli.no_ui,
            },
            db,
        })
    }
}

/// `--db` / `STRIPE_MCP_DB` as a store target (`None` when absent or empty); a PostgreSQL
/// password is registered with the redaction of everything the process prints.
pub fn db_target(cli: &Cli) -> Result<Option<DbTarget>, ConfigError> {
    let Some(raw) = cli.db.as_deref().filter(|d| !d.trim().is_empty()) else {
        return Ok(None);
    };
    let target = DbTarget::parse(raw).map_err(ConfigError::Invalid)?;
    if let Some(password) = target.password() {
        crate::egress::scrub::register(password);
    }
    Ok(Some(target))
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

/// `all` or a comma list; names are checked against the registry when the server is built.
pub fn parse_tools(raw: &str) -> Result<ToolSelection, ConfigError> {
    let names: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err(ConfigError::Invalid(
            "--tools is empty: use all, or a comma-separated list of tool names".into(),
        ));
    }
    if names == ["all"] {
        return Ok(ToolSelection::All);
    }
    Ok(ToolSelection::Named(names))
}

/// https anywhere; plain http only to a loopback host, so the key never crosses a network in clear.
fn parse_api_base(raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|_| {
        ConfigError::Invalid(format!(
            "--api-base {raw:?} is not a URL like https://api.stripe.com"
        ))
    })?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ConfigError::Invalid(
            "--api-base must not contain credentials, a query or a fragment".into(),
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::Invalid(format!(
            "--api-base {raw:?} uses plain http to a non-loopback host, which would send the API key in clear: use https"
        ))),
        other => Err(ConfigError::Invalid(format!(
            "--api-base must be https (or http to a loopback host), not {other}"
        ))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut v = vec!["stripe-mcp"];
        v.extend_from_slice(args);
        Cli::try_parse_from(v).unwrap()
    }

    #[test]
    fn a_secret_key_flag_gives_a_valid_config_with_defaults() {
        let c = Config::from_cli(&cli(&["--api-key=sk_test_abc123"])).unwrap();
        assert_eq!(c.client.api_base.as_str(), "https://api.stripe.com/");
        assert_eq!(c.client.stripe_version, DEFAULT_STRIPE_VERSION);
        assert_eq!(c.client.max_retries, 2);
        assert_eq!(c.client.timeout, Duration::from_secs(30));
        assert_eq!(c.client.deadline, Duration::from_secs(45));
        assert_eq!(c.client.max_concurrency, 16);
        assert_eq!(c.tools, ToolSelection::All);
    }

    #[test]
    fn publishable_and_missing_keys_are_refused() {
        let e = Config::from_cli(&cli(&["--api-key=pk_test_abc"])).unwrap_err();
        assert!(e.to_string().contains("publishable"));
        let mut c = cli(&[]);
        c.api_key = None;
        assert!(
            Config::from_cli(&c)
                .unwrap_err()
                .to_string()
                .contains("STRIPE_SECRET_KEY")
        );
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8420",
            "http://localhost:1",
            "http://[::1]:9",
            "https://proxy.example/stripe",
        ] {
            assert!(parse_api_base(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://api.stripe.com",
            "http://10.0.0.1",
            "ftp://x",
            "not a url",
            "https://u:p@x.example",
        ] {
            assert!(parse_api_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_connected_account_prefix_is_checked() {
        assert!(
            Config::from_cli(&cli(&["--api-key=sk_test_a1", "--stripe-account=acct_123"])).is_ok()
        );
        assert!(
            Config::from_cli(&cli(&["--api-key=sk_test_a1", "--stripe-account=cus_123"])).is_err()
        );
    }

    #[test]
    fn tools_accept_all_or_a_list() {
        assert_eq!(parse_tools("all").unwrap(), ToolSelection::All);
        assert_eq!(
            parse_tools("get_balance, list_customers").unwrap(),
            ToolSelection::Named(vec!["get_balance".into(), "list_customers".into()])
        );
        assert!(parse_tools(" , ").is_err());
    }

    #[test]
    fn the_webhooks_subcommand_needs_a_whsec_secret_and_no_api_key() {
        let parse = |args: &[&str]| {
            let c = cli(args);
            let Some(Command::Webhooks(w)) = &c.command else {
                panic!("not webhooks")
            };
            WebhooksConfig::from_cli(&c, w)
        };
        let c = parse(&[
            "webhooks",
            "--webhook-secret=whsec_a,whsec_b",
            "--db=/tmp/x.db",
        ])
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:8000");
        assert_eq!(c.path, "/webhook/stripe");
        assert_eq!(c.tolerance, Duration::from_secs(300));
        assert_eq!(c.secrets.len(), 2);
        assert_eq!(c.db, DbTarget::Sqlite("/tmp/x.db".into()));
        let e = parse(&["webhooks", "--webhook-secret=sk_test_1", "--db=/tmp/x.db"]).unwrap_err();
        assert!(e.to_string().contains("whsec_"), "{e}");
        assert!(!e.to_string().contains("sk_test_1"));
        assert!(parse(&["webhooks", "--webhook-secret=whsec_a", "--path=webhook"]).is_err());
        assert!(
            parse(&[
                "webhooks",
                "--webhook-secret=whsec_a",
                "--db=/tmp/x.db",
                "--on-paid= "
            ])
            .is_err()
        );
    }

    #[test]
    fn a_dotenv_sets_only_the_secrets_and_never_the_api_base_or_logging() {
        let dir = std::env::temp_dir().join(format!("stripe-mcp-dotenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".env");
        std::fs::write(
            &path,
            "STRIPE_SECRET_KEY=sk_test_fromfile\nSTRIPE_API_BASE=http://127.0.0.1:9\nRUST_LOG=rmcp=debug\nSTRIPE_MCP_DB=/tmp/x\nAPP_BASE_URL=https://evil.example\nSTRIPE_WEBHOOK_SECRET=whsec_x\n",
        )
        .unwrap();
        let got = read_dotenv(&path, |name| name == "STRIPE_WEBHOOK_SECRET");
        assert_eq!(
            got.set,
            vec![(
                "STRIPE_SECRET_KEY".to_owned(),
                "sk_test_fromfile".to_owned()
            )]
        );
        assert_eq!(
            got.refused,
            [
                "STRIPE_API_BASE",
                "RUST_LOG",
                "STRIPE_MCP_DB",
                "APP_BASE_URL"
            ]
        );
        assert_eq!(
            read_dotenv(&dir.join("missing"), |_| false),
            Dotenv::default()
        );
    }

    #[test]
    fn guardrail_flags_reach_the_settings_and_a_short_confirm_secret_is_refused() {
        let c = Config::from_cli(&cli(&[
            "--api-key=sk_test_a1",
            "--confirm=always",
            "--confirm-timeout=30",
            "--allow-live-writes",
            "--redact",
        ]))
        .unwrap();
        let g = &c.settings.guard;
        assert_eq!(g.confirm, ConfirmMode::Always);
        assert_eq!(g.confirm_timeout, Duration::from_secs(30));
        assert!(g.allow_live_writes && g.redact);
        let d = Config::from_cli(&cli(&["--api-key=sk_test_a1"])).unwrap();
        assert_eq!(d.settings.guard.confirm, ConfirmMode::Auto);
        assert!(!d.settings.guard.allow_live_writes && !d.settings.guard.redact);
        let e = Config::from_cli(&cli(&["--api-key=sk_test_a1", "--confirm-secret=short"]))
            .unwrap_err();
        assert!(e.to_string().contains("32"), "{e}");
        assert!(!e.to_string().contains("short"));
        assert!(Cli::try_parse_from(["stripe-mcp", "--confirm-timeout=1"]).is_err());
    }

    #[test]
    fn the_check_subcommand_parses() {
        assert_eq!(
            cli(&["check", "--api-key=sk_test_a1"]).command,
            Some(Command::Check)
        );
        assert_eq!(
            cli(&["tools", "--tools=core"]).command,
            Some(Command::Tools)
        );
    }
}
