//! A tenant built from its tenants-file entry ([`crate::tenants::TenantEntry`], plain
//! data): its key read, its isolated client, server and rate limiter made.

use std::sync::Arc;

use super::{RateLimiter, Tenant};
use crate::{
    server::{Settings, StripeMcp, ToolSelection},
    store::{Accounts, ScopeSource, TenantScope},
    stripe::{ApiKey, Client, ClientConfig},
    tenants::{ConnectAccounts, TenantEntry, TenantsFile, is_account_id, sha256_hex},
};

/// What every tenant shares before its own settings apply.
#[derive(Debug, Clone)]
pub struct TenantDefaults {
    /// Base URL, version, retries, timeout (the key and account are the tenant's).
    pub client: ClientConfig,
    /// App base URL and the order ledger.
    pub settings: Settings,
    /// `--rate-limit`, `--rate-burst`.
    pub rate: (u32, u32),
}

impl TenantEntry {
    /// Reads this tenant's key and builds its isolated client and server.
    pub fn build(&self, defaults: &TenantDefaults) -> Result<Tenant, String> {
        let raw = match (&self.stripe_key_env, &self.stripe_key_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                format!(
                    "tenant {:?}: environment variable {var} is not set",
                    self.name
                )
            })?,
            (_, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "tenant {:?}: cannot read its key file {}: {e}",
                    self.name,
                    path.display()
                )
            })?,
            (None, None) => return Err(format!("tenant {:?}: no key source", self.name)),
        };
        let api_key = ApiKey::parse(raw.trim_end_matches(['\n', '\r']))
            .map_err(|e| format!("tenant {:?}: {e}", self.name))?;
        if let Some(account) = &self.stripe_account
            && !is_account_id(account)
        {
            return Err(format!(
                "tenant {:?}: stripe_account must look like acct_1Abc...",
                self.name
            ));
        }
        let client = Client::new(ClientConfig {
            api_key,
            stripe_account: self.stripe_account.clone(),
            ..defaults.client.clone()
        })
        .map_err(|e| format!("tenant {:?}: {e}", self.name))?
        // Tenants may share one Stripe account: their own idempotency keys never meet.
        .with_idempotency_scope(&idempotency_scope(&self.name));
        let selection = match &self.tools {
            None => ToolSelection::All,
            Some(names) if names.iter().map(String::as_str).eq(["all"]) => ToolSelection::All,
            Some(names) => ToolSelection::Named(names.clone()),
        };
        let mut settings = defaults.settings.clone();
        if let Some(confirm) = self.confirm {
            settings.guard.confirm = confirm;
        }
        if let Some(allow) = self.allow_live_writes {
            settings.guard.allow_live_writes = allow;
        }
        // The tenant's own tally and audit rows; its caps combine with the server's (the
        // stricter of each holds: a tenant's file never loosens the operator's caps).
        settings.guard.scope = self.name.clone();
        settings.scope = ScopeSource::Tenant(Arc::new(self.boundary()));
        if let Some(limits) = &self.limits {
            settings.guard.limits = settings.guard.limits.stricter(limits);
        }
        if !settings.guard.limits.is_empty() && settings.ledger.is_none() {
            return Err(format!(
                "tenant {:?}: spending limits need --db (the tally is kept there)",
                self.name
            ));
        }
        let server = StripeMcp::new(client, settings, &selection, self.read_only)
            .map_err(|e| format!("tenant {:?}: {e}", self.name))?;
        Ok(Tenant {
            name: self.name.clone(),
            server,
            limiter: RateLimiter::new(
                f64::from(self.rate_limit.unwrap_or(defaults.rate.0)),
                self.rate_burst.unwrap_or(defaults.rate.1),
            ),
        })
    }
}

impl TenantEntry {
    /// The accounts this tenant reads and acts on: its pinned `stripe_account` and its
    /// `connect_accounts` (`"*"`: every one); without a pinned account, also its key's
    /// own account (named by Stripe on the first read that needs it).
    pub fn boundary(&self) -> TenantScope {
        let accounts = match &self.connect_accounts {
            Some(ConnectAccounts::Every(_)) => Accounts::Any,
            Some(ConnectAccounts::Only(ids)) => {
                Accounts::Only(self.stripe_account.iter().chain(ids).cloned().collect())
            }
            None => Accounts::Only(self.stripe_account.iter().cloned().collect()),
        };
        TenantScope::new(
            self.name.clone(),
            accounts,
            self.stripe_account.is_none(),
            false,
            false,
        )
    }
}

/// The prefix of a tenant's own idempotency keys: `t` and 12 hex digits of a hash of its
/// name, short enough to leave a caller 242 of Stripe's 255 characters, and the same on
/// every replica and after every restart, so a retry through another server still replays.
pub fn idempotency_scope(tenant: &str) -> String {
    format!("t{}", &sha256_hex(tenant)[..12])
}

/// Every tenant of a file, built (keys read, clients made), in file order.
pub fn build_all(
    file: &TenantsFile,
    defaults: &TenantDefaults,
) -> Result<Vec<(TenantEntry, Arc<Tenant>)>, String> {
    file.tenant
        .iter()
        .map(|e| Ok((e.clone(), Arc::new(e.build(defaults)?))))
        .collect()
}
