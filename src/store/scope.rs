//! Whose stored facts a read may see.
//!
//! Every read of caller-visible facts (orders, audit rows, the books' cached
//! transactions) takes a [`Scope`], so a read that forgets to name one does not compile.
//! Orders and cached books belong to the Stripe account they came from; audit rows and
//! limit tallies belong to the tenant that made the call.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::stripe::Client;

/// The scope of a store read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The operator at the machine (`stripe-mcp audit`, `db`, `books`, the webhook
    /// receiver): sees everything. Never handed to a remote caller.
    Operator,
    /// One caller of the MCP server: a tenant (stdio's single user is one too).
    Tenant {
        /// The tenant's name: the audit rows and limit tallies it sees are its own.
        tenant: String,
        /// The Stripe accounts whose orders and books it may read.
        accounts: Accounts,
    },
    /// A caller whose identity is not proven (a Stripe key Stripe has not accepted):
    /// reads nothing.
    Nobody,
}

/// The Stripe accounts a tenant may read and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// A platform tenant allowed every connected account (`connect_accounts = "*"`).
    Any,
    /// Exactly these account ids (`acct_...`).
    Only(Vec<String>),
}

impl Scope {
    /// Whether facts of this Stripe account are visible in this scope.
    pub fn sees_account(&self, account: &str) -> bool {
        match self {
            Scope::Operator => true,
            Scope::Tenant { accounts, .. } => match accounts {
                Accounts::Any => true,
                Accounts::Only(ids) => ids.iter().any(|id| id == account),
            },
            Scope::Nobody => false,
        }
    }

    /// Whether rows written by this tenant are visible in this scope.
    pub fn sees_tenant(&self, name: &str) -> bool {
        match self {
            Scope::Operator => true,
            Scope::Tenant { tenant, .. } => tenant == name,
            Scope::Nobody => false,
        }
    }
}

/// How a backend narrows an order read: every account, or exactly these (a JSON array
/// for SQLite's `json_each`, a `TEXT[]` for PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFilter(pub Option<Vec<String>>);

impl AccountFilter {
    /// The filter of a scope; `None` when the scope sees no order at all (nothing to ask
    /// the database).
    pub fn of(scope: &Scope) -> Option<AccountFilter> {
        match scope {
            Scope::Operator => Some(AccountFilter(None)),
            Scope::Tenant { accounts, .. } => match accounts {
                Accounts::Any => Some(AccountFilter(None)),
                Accounts::Only(ids) if ids.is_empty() => None,
                Accounts::Only(ids) => Some(AccountFilter(Some(ids.clone()))),
            },
            Scope::Nobody => None,
        }
    }

    /// The accounts as a JSON array (SQLite), or NULL for every account.
    pub fn json(&self) -> Option<String> {
        self.0
            .as_ref()
            .map(|ids| serde_json::Value::from(ids.clone()).to_string())
    }
}

/// The authenticated identity behind a remote call (OAuth `sub`), attached to the
/// request so an audit row can say who, not only which tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(pub String);

/// How long Stripe's word that a key belongs to an account is believed before it is
/// asked again (a key revoked at Stripe stops reading the store within this).
pub const PROOF_TTL: Duration = Duration::from_secs(10 * 60);

/// Who a server's caller is, for the store's reads and for Connect's boundary; turned
/// into a [`Scope`] for each read by [`ScopeSource::resolve`].
#[derive(Debug, Clone, Default)]
pub enum ScopeSource {
    /// The operator's own server (stdio, `--auth none` on loopback): every stored fact,
    /// any account.
    #[default]
    Operator,
    /// A remote caller: a tenant of the tenants file, an OAuth identity, or a caller's
    /// own Stripe key.
    Tenant(Arc<TenantScope>),
}

/// A remote caller's boundary: the accounts it reads and acts on.
#[derive(Debug)]
pub struct TenantScope {
    /// Its name: its audit rows and tally are its own.
    pub tenant: String,
    /// The accounts it may read and act on besides its key's own account: its pinned
    /// `stripe_account` and its `connect_accounts` (or every one, `"*"`).
    pub accounts: Accounts,
    /// Its key's own account counts too, once Stripe has said which it is (`GET
    /// /v1/account`): a tenant with no pinned account, a caller's own Stripe key.
    pub own_account: bool,
    /// Reads nothing until Stripe has accepted the key (`--auth stripe-key`: the key is
    /// all a caller showed, so only Stripe can say whose it is).
    pub proof_required: bool,
    /// Acts on any connected account Stripe lets the key act on (`--auth stripe-key`:
    /// the key is the caller's own, so Stripe is the boundary); reads stay scoped.
    pub act_anywhere: bool,
    /// The key's own account and when Stripe said so.
    proof: Mutex<Option<(String, Instant)>>,
}

impl TenantScope {
    /// A caller's boundary, with no proof yet.
    pub fn new(
        tenant: String,
        accounts: Accounts,
        own_account: bool,
        proof_required: bool,
        act_anywhere: bool,
    ) -> TenantScope {
        TenantScope {
            tenant,
            accounts,
            own_account,
            proof_required,
            act_anywhere,
            proof: Mutex::new(None),
        }
    }

    /// The key's own account, as Stripe said within [`PROOF_TTL`], if it did.
    pub fn proven(&self) -> Option<String> {
        let proof = self.proof.lock().unwrap_or_else(|e| e.into_inner());
        proof
            .as_ref()
            .filter(|(_, at)| at.elapsed() < PROOF_TTL)
            .map(|(account, _)| account.clone())
    }

    /// Asks Stripe whose key this is (one `GET /v1/account`) unless it said so within
    /// [`PROOF_TTL`]; `None` when Stripe refused the key or could not be asked.
    pub async fn prove(&self, client: &Client) -> Option<String> {
        if let Some(account) = self.proven() {
            return Some(account);
        }
        match client.retrieve_account().await {
            Ok(account) => {
                *self.proof.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((account.id.clone(), Instant::now()));
                Some(account.id)
            }
            Err(e) => {
                tracing::info!(tenant = %self.tenant, error = %e, "Stripe did not confirm the caller's key: it reads nothing from the store");
                None
            }
        }
    }
}

impl ScopeSource {
    /// Whether a call may act on this account (`stripe_account`, `--connect`).
    pub fn may_act_on(&self, account: &str) -> bool {
        match self {
            ScopeSource::Operator => true,
            ScopeSource::Tenant(t) => {
                t.act_anywhere
                    || match &t.accounts {
                        Accounts::Any => true,
                        Accounts::Only(ids) => ids.iter().any(|id| id == account),
                    }
            }
        }
    }

    /// Whether this caller reads nothing until Stripe has accepted its key.
    pub fn requires_proof(&self) -> bool {
        matches!(self, ScopeSource::Tenant(t) if t.proof_required)
    }

    /// Whether Stripe has accepted this caller's key (always, for the operator).
    pub fn is_proven(&self) -> bool {
        match self {
            ScopeSource::Operator => true,
            ScopeSource::Tenant(t) => t.proven().is_some(),
        }
    }

    /// The scope of a read now: the operator's, or the tenant's accounts with its key's
    /// own account once Stripe has named it; [`Scope::Nobody`] for a key Stripe has not
    /// accepted where that is required.
    pub async fn resolve(&self, client: &Client) -> Scope {
        let t = match self {
            ScopeSource::Operator => return Scope::Operator,
            ScopeSource::Tenant(t) => t,
        };
        let mut accounts = t.accounts.clone();
        if t.own_account || t.proof_required {
            match t.prove(client).await {
                Some(own) => {
                    if let Accounts::Only(ids) = &mut accounts
                        && t.own_account
                        && !ids.contains(&own)
                    {
                        ids.push(own);
                    }
                }
                None if t.proof_required => return Scope::Nobody,
                None => {}
            }
        }
        Scope::Tenant {
            tenant: t.tenant.clone(),
            accounts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_sees_only_its_accounts_and_rows() {
        let s = Scope::Tenant {
            tenant: "shop-a".into(),
            accounts: Accounts::Only(vec!["acct_A".into()]),
        };
        assert!(s.sees_account("acct_A"));
        assert!(!s.sees_account("acct_B"));
        assert!(s.sees_tenant("shop-a"));
        assert!(!s.sees_tenant("shop-b"));
        assert!(!Scope::Nobody.sees_account("acct_A"));
        assert!(!Scope::Nobody.sees_tenant("shop-a"));
        assert!(Scope::Operator.sees_account("acct_B"));
    }
}
