//! `--auth stripe-key`: the caller's bearer token is their own Stripe key (`sk_`/`rk_`),
//! as `mcp.stripe.com` accepts.
//!
//! The key is checked for shape only (Stripe decides whether it works) and is never logged
//! or written anywhere. It is held in memory, in a bounded cache indexed by its SHA-256,
//! for as long as its caller keeps calling (at most [`IDLE`] between calls), so that one
//! key keeps one Stripe connection pool and one memory of lost writes across the agent's
//! retries: a retry with the same idempotency key after a lost answer must be reported as
//! retryable, which a client built per request would forget.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::HeaderMap;

use super::{AuthError, Caller, RateLimiter, Tenant, bearer, sha256_hex};
use crate::{
    server::StripeMcp,
    stripe::{ApiKey, Client, ClientConfig},
};

/// Most keys held at once; the least recently used go first beyond it.
pub const MAX_KEYS: usize = 1_000;
/// A key unused this long is forgotten (its client and lost-write memory dropped).
pub const IDLE: Duration = Duration::from_secs(15 * 60);

/// The stripe-key authenticator.
pub struct StripeKeyAuth {
    /// Everything but the key: base URL, version, retries, timeout, connected account.
    base: ClientConfig,
    /// The tools and settings every caller gets, re-used with each caller's client.
    template: StripeMcp,
    /// Calls per second and burst for each key.
    rate: (f64, u32),
    /// SHA-256 of a key → its tenant and when it was last used.
    cache: Mutex<HashMap<String, (Arc<Tenant>, Instant)>>,
}

impl StripeKeyAuth {
    /// `base.api_key` is ignored: every caller brings their own.
    pub fn new(base: ClientConfig, template: StripeMcp, rate: (f64, u32)) -> Self {
        StripeKeyAuth {
            base,
            template,
            rate,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The caller whose key is the bearer token.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let token = bearer(headers)?;
        let key = ApiKey::parse(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let digest = sha256_hex(token);
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((tenant, used)) = cache.get_mut(&digest)
            && now.duration_since(*used) < IDLE
        {
            *used = now;
            return Ok(Caller {
                tenant: tenant.clone(),
                may_write: None,
            });
        }
        let name = format!("stripe-key:{}:{}", key.mode(), &digest[..12]);
        let client = Client::new(ClientConfig {
            api_key: key,
            ..self.base.clone()
        })
        .map_err(|_| AuthError::Invalid("the key is not a valid header value".into()))?;
        let tenant = Arc::new(Tenant {
            server: self.template.with_client(client, &name),
            name,
            limiter: RateLimiter::new(self.rate.0, self.rate.1),
        });
        if cache.len() >= MAX_KEYS {
            cache.retain(|_, (_, used)| now.duration_since(*used) < IDLE);
            if cache.len() >= MAX_KEYS
                && let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(digest, (tenant.clone(), now));
        Ok(Caller {
            tenant,
            may_write: None,
        })
    }
}
