//! The tenants file of a remote server (`--auth tokens`, and the tenants `--auth oauth`
//! picks by claim): who they are, how their token is checked, where their Stripe key is,
//! what they may do. `stripe-mcp tenants add` writes it.
//!
//! ```toml
//! [[tenant]]
//! name = "support"                       # shown in logs
//! token_sha256 = "9f86d0...."            # only the hash; the token was printed once
//! stripe_key_env = "SUPPORT_STRIPE_KEY"  # or stripe_key_file = "/run/secrets/support"
//! tools = ["list_customers", "create_refund"]  # default: all
//! read_only = false
//! stripe_account = "acct_1Abc"           # Connect: act on this account
//! rate_limit = 10                        # tool calls per second (default --rate-limit)
//! rate_burst = 20
//! subjects = ["okta-group-support"]      # --auth oauth: claim values that pick this tenant
//! confirm = "always"                     # a person confirms money movements (auto|always|never)
//! allow_live_writes = true               # a live key gets write tools (default: read-only)
//! [tenant.limits.refund]                 # this tenant's caps, in minor units (needs --db)
//! usd = { per_call = 5000, daily = 20000 }
//! ```
//!
//! A Stripe key never goes in this file: it comes from the environment or a file of its
//! own, read when the tenants file is (at start-up and on SIGHUP).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use clap::{Args, Subcommand};
use serde::Deserialize;

use sha2::{Digest, Sha256};

/// The file: a list of `[[tenant]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantsFile {
    /// Every tenant; names are unique.
    #[serde(default)]
    pub tenant: Vec<TenantEntry>,
}

/// One tenant as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantEntry {
    /// Unique, shown in logs: letters, digits, `-`, `_`, `.`.
    pub name: String,
    /// Hex SHA-256 of the tenant's bearer token (`--auth tokens`).
    pub token_sha256: Option<String>,
    /// The environment variable holding this tenant's Stripe key.
    pub stripe_key_env: Option<String>,
    /// A file holding this tenant's Stripe key (trailing newline ignored).
    pub stripe_key_file: Option<PathBuf>,
    /// Tool names or `@stripe/mcp` permission names; `["all"]` or absent: every default tool.
    pub tools: Option<Vec<String>>,
    /// Only read-only tools.
    #[serde(default)]
    pub read_only: bool,
    /// Connect: the account this tenant acts on (`Stripe-Account`).
    pub stripe_account: Option<String>,
    /// Connect (`--connect`): the other accounts this tenant may name in `stripe_account`
    /// and read the orders of, or `"*"` for a platform tenant (every connected account).
    /// Absent: only its pinned `stripe_account` (or, without one, its key's own account).
    pub connect_accounts: Option<ConnectAccounts>,
    /// Tool calls per second.
    pub rate_limit: Option<u32>,
    /// Tool calls at once after a quiet spell.
    pub rate_burst: Option<u32>,
    /// `--auth oauth`: values of the tenant claim that pick this tenant (its name always does).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// `--confirm` for this tenant: auto, always or never (default: the server's).
    pub confirm: Option<crate::config::ConfirmMode>,
    /// `--allow-live-writes` for this tenant: a live key gets write tools only with it.
    pub allow_live_writes: Option<bool>,
    /// This tenant's spending caps (`[tenant.limits.refund] usd = { per_call = 5000 }`),
    /// instead of the server's `--limit`s; its tally is its own.
    #[serde(default)]
    pub limits: Option<crate::policy::Limits>,
}

/// `connect_accounts`: a list of `acct_...` ids, or `"*"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConnectAccounts {
    /// `"*"`: every account (a platform tenant).
    Every(String),
    /// Exactly these.
    Only(Vec<String>),
}

/// Whether a string looks like a Stripe account id (`acct_` and letters or digits).
pub fn is_account_id(account: &str) -> bool {
    account.starts_with("acct_")
        && account.len() > 5
        && account
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads and parses the file (no key is read here).
pub fn parse_file(path: &Path) -> Result<TenantsFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the tenants file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("tenants file {}: {e}", path.display()))
}

/// Parses and checks the text of a tenants file.
pub fn parse(text: &str) -> Result<TenantsFile, String> {
    // toml's Display quotes the offending line, which could be a Stripe key pasted where
    // it does not belong: say what and where, never the text.
    let file: TenantsFile = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => format!("line {line}: {}", e.message()),
            None => e.message().to_owned(),
        }
    })?;
    let mut seen = std::collections::HashSet::new();
    for t in &file.tenant {
        check_name(&t.name)?;
        if !seen.insert(t.name.as_str()) {
            return Err(format!("tenant {:?} appears twice", t.name));
        }
        if let Some(hash) = &t.token_sha256
            && (hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(format!(
                "tenant {:?}: token_sha256 must be 64 hex digits (written by `stripe-mcp tenants add`)",
                t.name
            ));
        }
        match (&t.stripe_key_env, &t.stripe_key_file) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(format!(
                    "tenant {:?}: give exactly one of stripe_key_env or stripe_key_file (the key itself never goes in this file)",
                    t.name
                ));
            }
        }
        if let Some(limits) = &t.limits {
            limits
                .validate()
                .map_err(|e| format!("tenant {:?}: {e}", t.name))?;
        }
        match &t.connect_accounts {
            Some(ConnectAccounts::Every(s)) if s != "*" => {
                return Err(format!(
                    "tenant {:?}: connect_accounts is a list of acct_... ids, or \"*\" for every account",
                    t.name
                ));
            }
            Some(ConnectAccounts::Only(ids)) => {
                if let Some(bad) = ids.iter().find(|id| !is_account_id(id)) {
                    return Err(format!(
                        "tenant {:?}: connect_accounts entry {bad:?} must look like acct_1Abc...",
                        t.name
                    ));
                }
            }
            _ => {}
        }
        if t.rate_limit == Some(0) {
            return Err(format!(
                "tenant {:?}: rate_limit must be at least 1",
                t.name
            ));
        }
    }
    Ok(file)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "tenant name {name:?} must be 1 to 64 letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(())
}

/// `stripe-mcp tenants ...`.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct TenantsArgs {
    /// What to do with the tenants file.
    #[command(subcommand)]
    pub command: TenantsCommand,
}

/// Subcommands of `stripe-mcp tenants`.
#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
pub enum TenantsCommand {
    /// Add a tenant: prints its new bearer token once (stdout) and writes only its hash.
    Add(AddArgs),
}

/// `stripe-mcp tenants add`.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
pub struct AddArgs {
    /// The tenant's name (letters, digits, '-', '_', '.').
    pub name: String,
    /// The tenants file (created if missing, with owner-only permissions).
    #[arg(long = "file", env = "STRIPE_MCP_TENANTS", value_name = "FILE")]
    pub file: PathBuf,
    /// The environment variable the server reads this tenant's Stripe key from.
    #[arg(long, value_name = "VAR", conflicts_with = "key_file")]
    pub key_env: Option<String>,
    /// A file the server reads this tenant's Stripe key from.
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Comma-separated tool names or @stripe/mcp permission names (default: all).
    #[arg(long = "allow", value_delimiter = ',', value_name = "TOOLS")]
    pub allow: Vec<String>,
    /// Only read-only tools.
    #[arg(long = "tenant-read-only")]
    pub read_only: bool,
    /// Connect: the account this tenant acts on.
    #[arg(long = "account", value_name = "ACCT")]
    pub account: Option<String>,
}

/// Runs `stripe-mcp tenants ...`: the token goes to stdout (once), the rest to stderr.
pub fn run(args: &TenantsArgs) -> std::process::ExitCode {
    match &args.command {
        TenantsCommand::Add(add_args) => match add(add_args) {
            Ok(token) => {
                eprintln!(
                    "stripe-mcp: tenant {:?} added to {} (only its token's hash is stored). Its bearer token, shown this once:",
                    add_args.name,
                    add_args.file.display()
                );
                // `tenants add` does not serve MCP: like any CLI, its one result goes to
                // stdout, so a script can capture the token apart from the messages.
                println!("{token}");
                eprintln!(
                    "Give it to the tenant's MCP client as `Authorization: Bearer <token>`. Send SIGHUP to a running server to load the new tenant."
                );
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("stripe-mcp tenants add: {e}");
                std::process::ExitCode::from(2)
            }
        },
    }
}

/// A fresh bearer token: `smcp_` and 256 bits from the OS generator (two UUID v4s).
pub fn new_token() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    format!(
        "smcp_{}{}",
        hex::encode(a.as_bytes()),
        hex::encode(b.as_bytes())
    )
}

/// Appends the tenant to the file (keeping what is there, comments included) and returns
/// its token, which is written nowhere.
pub fn add(args: &AddArgs) -> Result<String, String> {
    check_name(&args.name)?;
    let existing = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", args.file.display())),
    };
    let parsed = parse(&existing).map_err(|e| format!("{}: {e}", args.file.display()))?;
    if parsed.tenant.iter().any(|t| t.name == args.name) {
        return Err(format!(
            "tenant {:?} already exists in {}",
            args.name,
            args.file.display()
        ));
    }
    let key_source = match (&args.key_env, &args.key_file) {
        (Some(var), None) => format!("stripe_key_env = {}", toml_str(var)),
        (None, Some(path)) => format!(
            "stripe_key_file = {}",
            toml_str(&path.display().to_string())
        ),
        _ => return Err("give --key-env VAR or --key-file PATH: where the server reads this tenant's Stripe key (never the key itself)".into()),
    };
    let token = new_token();
    let mut block = format!(
        "\n[[tenant]]\nname = {}\ntoken_sha256 = \"{}\"\n{key_source}\n",
        toml_str(&args.name),
        sha256_hex(&token)
    );
    if !args.allow.is_empty() {
        let list: Vec<String> = args.allow.iter().map(|t| toml_str(t)).collect();
        block.push_str(&format!("tools = [{}]\n", list.join(", ")));
    }
    if args.read_only {
        block.push_str("read_only = true\n");
    }
    if let Some(account) = &args.account {
        block.push_str(&format!("stripe_account = {}\n", toml_str(account)));
    }
    // What we are about to write must parse, with the rest of the file.
    parse(&format!("{existing}{block}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&args.file)
        .map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
    f.write_all(block.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", args.file.display()))?;
    Ok(token)
}

/// SHA-256 of a secret, hex: how tokens are stored and how cached keys are indexed.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A TOML basic string: JSON's escapes (`\"`, `\\`, `\n`, `\u00XX`) are all valid in one.
fn toml_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_needs_exactly_one_key_source_and_no_key() {
        let ok = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A_KEY\"\n";
        assert_eq!(parse(ok).unwrap().tenant.len(), 1);
        let both = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\nstripe_key_file = \"/x\"\n";
        assert!(parse(both).is_err());
        let key = "[[tenant]]\nname = \"a\"\nstripe_key = \"sk_test_1\"\n";
        let e = parse(key).unwrap_err();
        assert!(e.contains("stripe_key") && e.contains("line 3"), "{e}");
        assert!(
            !e.contains("sk_test_1"),
            "the error must not quote the key: {e}"
        );
    }

    #[test]
    fn duplicate_names_bad_hashes_and_malformed_limits_are_refused() {
        let dup = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\n[[tenant]]\nname = \"a\"\nstripe_key_env = \"B\"\n";
        assert!(parse(dup).unwrap_err().contains("twice"));
        let hash = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\ntoken_sha256 = \"abc\"\n";
        assert!(parse(hash).is_err());
        let limits = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\n[tenant.limits]\nmax_refund = 5000\n";
        assert!(parse(limits).is_err());
        let dollars = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\n[tenant.limits.refund]\nUSD = { per_call = 5000 }\n";
        assert!(parse(dollars).unwrap_err().contains("three lowercase"));
        let ok = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\n[tenant.limits.refund]\nusd = { per_call = 5000, daily = 20000 }\n";
        assert_eq!(
            parse(ok).unwrap().tenant[0].limits.as_ref().unwrap().refund["usd"].per_call,
            Some(5000)
        );
        assert!(parse("[[tenant]]\nname = \"a b\"\nstripe_key_env = \"A\"\n").is_err());
    }

    #[test]
    fn a_tenant_may_set_its_confirmation_and_live_writes() {
        let t = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\nconfirm = \"always\"\nallow_live_writes = true\n";
        let parsed = parse(t).unwrap();
        assert_eq!(
            parsed.tenant[0].confirm,
            Some(crate::config::ConfirmMode::Always)
        );
        assert_eq!(parsed.tenant[0].allow_live_writes, Some(true));
        let bad = "[[tenant]]\nname = \"a\"\nstripe_key_env = \"A\"\nconfirm = \"sometimes\"\n";
        assert!(parse(bad).is_err());
    }

    #[test]
    fn add_writes_the_hash_and_never_the_token() {
        let dir = std::env::temp_dir().join(format!("stripe-mcp-tenants-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tenants.toml");
        let args = AddArgs {
            name: "support".into(),
            file: file.clone(),
            key_env: Some("SUPPORT_KEY".into()),
            key_file: None,
            allow: vec!["list_customers".into(), "create_refund".into()],
            read_only: false,
            account: None,
        };
        let token = add(&args).unwrap();
        assert!(token.starts_with("smcp_") && token.len() == 69);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&token));
        assert!(text.contains(&sha256_hex(&token)));
        let parsed = parse(&text).unwrap();
        assert_eq!(
            parsed.tenant[0].tools.as_deref(),
            Some(&["list_customers".to_owned(), "create_refund".to_owned()][..])
        );
        assert!(add(&args).unwrap_err().contains("already exists"));
        let second = add(&AddArgs {
            name: "ops".into(),
            ..args
        })
        .unwrap();
        assert_ne!(second, token);
        assert_eq!(parse_file(&file).unwrap().tenant.len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "tenants file must be owner-only");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
