//! Whose stored facts a read may see.
//!
//! Every read of caller-visible facts (orders, audit rows, the books' cached
//! transactions) takes a [`Scope`], so a read that forgets to name one does not compile.
//! Orders and cached books belong to the Stripe account they came from; audit rows and
//! limit tallies belong to the tenant that made the call.

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
