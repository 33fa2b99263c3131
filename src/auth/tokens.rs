//! `--auth tokens --tenants FILE`: a bearer token issued by `stripe-mcp tenants add`.
//!
//! Only the token's SHA-256 is stored; a presented token is hashed and compared with every
//! tenant's hash in constant time (all of them, whatever matched), so neither timing nor
//! the file reveals a token. The file is re-read on SIGHUP ([`TokensAuth::reload`]): the
//! new tenants serve the next request, while calls already running keep the tenant they
//! started with (each holds its own `Arc`), so nothing in flight is dropped.

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
};

use axum::http::HeaderMap;

use super::{AuthError, Caller, Tenant, bearer, constant_time_eq, sha256_hex};
use crate::tenants::{self, TenantDefaults};

/// The loaded tenants: token hash → tenant.
struct Loaded {
    /// Hex SHA-256 of each tenant's token, beside its tenant.
    by_hash: Vec<(String, Arc<Tenant>)>,
}

/// The tokens authenticator.
pub struct TokensAuth {
    /// The tenants file, re-read on reload.
    path: PathBuf,
    /// What each tenant is built from besides its own entry.
    defaults: TenantDefaults,
    /// The tenants in force; replaced whole on reload.
    loaded: RwLock<Arc<Loaded>>,
}

impl TokensAuth {
    /// Reads the file and builds every tenant; any problem refuses to start.
    pub fn load(path: PathBuf, defaults: TenantDefaults) -> Result<Self, String> {
        let loaded = Self::read(&path, &defaults)?;
        Ok(TokensAuth {
            path,
            defaults,
            loaded: RwLock::new(Arc::new(loaded)),
        })
    }

    fn read(path: &std::path::Path, defaults: &TenantDefaults) -> Result<Loaded, String> {
        let file = tenants::parse_file(path)?;
        let built = tenants::build_all(&file, defaults)?;
        let mut by_hash = Vec::new();
        for (entry, tenant) in built {
            match entry.token_sha256 {
                Some(hash) => by_hash.push((hash.to_ascii_lowercase(), tenant)),
                None => tracing::warn!(
                    tenant = %entry.name,
                    "tenant has no token_sha256 and cannot log in with --auth tokens"
                ),
            }
        }
        if by_hash.is_empty() {
            return Err(format!(
                "{}: no tenant with a token: add one with `stripe-mcp tenants add NAME --file {} --key-env VAR`",
                path.display(),
                path.display()
            ));
        }
        Ok(Loaded { by_hash })
    }

    /// Re-reads the file. On any error the tenants in force stay, and the error is returned.
    pub fn reload(&self) -> Result<usize, String> {
        let loaded = Self::read(&self.path, &self.defaults)?;
        let n = loaded.by_hash.len();
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        Ok(n)
    }

    /// The names of the tenants that can log in.
    pub fn tenant_names(&self) -> std::collections::HashSet<String> {
        self.current()
            .by_hash
            .iter()
            .map(|(_, t)| t.name.clone())
            .collect()
    }

    /// How many tenants can log in.
    pub fn len(&self) -> usize {
        self.current().by_hash.len()
    }

    /// True when no tenant can log in (never, once loaded).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The tenant whose token is the bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let token = bearer(headers)?;
        let presented = sha256_hex(token);
        let loaded = self.current();
        let mut found = None;
        for (hash, tenant) in &loaded.by_hash {
            // No early exit: every hash is compared whatever matched before.
            if constant_time_eq(hash.as_bytes(), presented.as_bytes()) && found.is_none() {
                found = Some(tenant.clone());
            }
        }
        found
            .map(|tenant| Caller {
                tenant,
                may_write: None,
            })
            .ok_or_else(|| AuthError::Invalid("unknown token".into()))
    }
}
