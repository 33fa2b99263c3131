//! The validated configuration: what `stripe-mcp`'s flags ([`crate::config::Cli`], plain
//! data) build into a Stripe client configuration, the server's settings and guard
//! settings, and the webhook receiver's configuration. It lives here, above the guard,
//! rather than in [`crate::config`], so the flags stay plain data at the bottom.

use std::{net::IpAddr, time::Duration};

use url::Url;

use crate::{
    config::{Cli, WebhooksArgs},
    guard::{GuardSettings, confirm::Seal},
    server::{Settings, ToolSelection},
    store::DbTarget,
    stripe::{ApiKey, ClientConfig, retry::Backoff},
    webhooks::signature::Secrets,
};

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
    /// `--account`: whose orders the endpoint's own events are.
    pub account: Option<String>,
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
        let account = args.account.clone().filter(|a| !a.is_empty());
        if let Some(a) = &account
            && !crate::tenants::is_account_id(a)
        {
            return Err(ConfigError::Invalid(format!(
                "--account must be an account id like acct_1Abc..., got {a:?}"
            )));
        }
        Ok(WebhooksConfig {
            account,
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
                read_rate: cli.read_rate,
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
                // Local: the operator's own server. Remote modes set each caller's own.
                scope: crate::store::ScopeSource::Operator,
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
    use crate::config::*;
    use crate::stripe::client::DEFAULT_STRIPE_VERSION;
    use clap::Parser;

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
