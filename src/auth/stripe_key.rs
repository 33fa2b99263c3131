//! `--auth stripe-key`: the caller's bearer token is their own Stripe key (`sk_`/`rk_`),
//! as `mcp.stripe.com` accepts.
//!
//! The key is checked for shape here (Stripe decides whether it works) and is never logged
//! or written anywhere. It is held in memory, in a bounded cache indexed by its SHA-256,
//! for as long as its caller keeps calling (at most [`IDLE`] between calls), so that one
//! key keeps one Stripe connection pool and one memory of lost writes across the agent's
//! retries: a retry with the same idempotency key after a lost answer must be reported as
//! retryable, which a client built per request would forget.
//!
//! A key reads nothing from the store until Stripe has accepted it (one `GET /v1/account`,
//! kept with the held key for [`crate::store::scope::PROOF_TTL`]): its orders are then its
//! account's. New keys seen once have [`MAX_NEW_KEYS`] places of their own, so a flood of
//! fresh keys cannot evict the clients of callers in use.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::HeaderMap;

use super::{AuthError, Caller, RateLimiter, Tenant, bearer, sha256_hex};
use crate::{
    server::StripeMcp,
    store::{Accounts, ScopeSource, TenantScope},
    stripe::{ApiKey, Client, ClientConfig},
};

/// Most keys held at once. Beyond it, a new key takes the place of the least recently
/// used key Stripe has not accepted (a store read proves a key); only when every held key
/// is proven does the least recently used proven key that no request is using go.
pub const MAX_KEYS: usize = 1_000;
/// Most keys held that were seen once and never proven: a flood of new keys churns
/// these places only, never the clients of returning callers or of requests in flight.
pub const MAX_NEW_KEYS: usize = 256;
/// A key unused this long is forgotten (its client and lost-write memory dropped).
pub const IDLE: Duration = Duration::from_secs(15 * 60);

/// One held key.
struct Held {
    /// Its tenant (client, tools, limiter, boundary).
    tenant: Arc<Tenant>,
    /// Last authenticated.
    used: Instant,
    /// Requests authenticated with it: a key seen once and never proven is a newcomer,
    /// and newcomers only ever evict each other.
    uses: u32,
}

impl Held {
    fn proven(&self) -> bool {
        self.tenant.server.scope_source().is_proven()
    }

    /// A request holds its tenant right now.
    fn in_use(&self) -> bool {
        Arc::strong_count(&self.tenant) > 1
    }
}

/// The stripe-key authenticator.
pub struct StripeKeyAuth {
    /// Everything but the key: base URL, version, retries, timeout, connected account.
    base: ClientConfig,
    /// The tools and settings every caller gets, re-used with each caller's client.
    template: StripeMcp,
    /// Calls per second and burst for each key.
    rate: (f64, u32),
    /// SHA-256 of a key → its tenant.
    cache: Mutex<HashMap<String, Held>>,
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

    /// How many keys are held, and how many of them Stripe has accepted.
    pub fn held(&self) -> (usize, usize) {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        (cache.len(), cache.values().filter(|h| h.proven()).count())
    }

    /// The caller whose key is the bearer token. A key is checked for shape here; it
    /// reads nothing from the store until Stripe has accepted it ([`TenantScope`]).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let token = bearer(headers)?;
        let key = ApiKey::parse(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let digest = sha256_hex(token);
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(held) = cache.get_mut(&digest)
            && now.duration_since(held.used) < IDLE
        {
            held.used = now;
            held.uses = held.uses.saturating_add(1);
            return Ok(Caller {
                tenant: held.tenant.clone(),
                may_write: None,
                subject: None,
            });
        }
        let name = format!("stripe-key:{}:{}", key.mode(), &digest[..12]);
        let client = Client::new(ClientConfig {
            api_key: key,
            ..self.base.clone()
        })
        .map_err(|_| AuthError::Invalid("the key is not a valid header value".into()))?;
        // Its orders are its account's, once Stripe names it; it may act on any account
        // Stripe lets the key act on (Stripe is the boundary of a caller's own key).
        let boundary = TenantScope::new(name.clone(), Accounts::Only(Vec::new()), true, true, true);
        let tenant = Arc::new(Tenant {
            server: self.template.for_caller(
                client,
                ScopeSource::Tenant(Arc::new(boundary)),
                &name,
            ),
            name,
            limiter: RateLimiter::new(self.rate.0, self.rate.1),
        });
        make_room(&mut cache, now);
        cache.insert(
            digest,
            Held {
                tenant: tenant.clone(),
                used: now,
                uses: 1,
            },
        );
        Ok(Caller {
            tenant,
            may_write: None,
            subject: None,
        })
    }
}

/// Frees a place for one new key: expired keys first; then, if the new keys seen once
/// are at [`MAX_NEW_KEYS`], the oldest of them; then, at [`MAX_KEYS`], the least
/// recently used unproven key, and only if none is left the least recently used proven
/// key no request holds.
fn make_room(cache: &mut HashMap<String, Held>, now: Instant) {
    if cache.len() < MAX_NEW_KEYS.min(MAX_KEYS) {
        return;
    }
    cache.retain(|_, h| now.duration_since(h.used) < IDLE || h.in_use());
    let oldest = |cache: &HashMap<String, Held>, pick: &dyn Fn(&Held) -> bool| {
        cache
            .iter()
            .filter(|(_, h)| pick(h) && !h.in_use())
            .min_by_key(|(_, h)| h.used)
            .map(|(k, _)| k.clone())
    };
    let new_ones = cache
        .values()
        .filter(|h| h.uses <= 1 && !h.proven())
        .count();
    if new_ones >= MAX_NEW_KEYS
        && let Some(k) = oldest(cache, &|h| h.uses <= 1 && !h.proven())
    {
        cache.remove(&k);
        return;
    }
    if cache.len() >= MAX_KEYS
        && let Some(k) = oldest(cache, &|h| !h.proven()).or_else(|| oldest(cache, &|_| true))
    {
        cache.remove(&k);
    }
}
