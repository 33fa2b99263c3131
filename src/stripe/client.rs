//! The thin Stripe REST client: one `reqwest::Client`, base URL, auth, form
//! encoding, retries with one idempotency key, and `Request-Id` capture.

use std::{
    fmt,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::{
    Method, StatusCode,
    header::{self, HeaderMap, HeaderValue},
};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use url::Url;

use super::{
    budget::{self, Budget},
    error::{Error, ErrorBody},
    key::{ApiKey, Mode},
    planned::{Approved, Method as WriteMethod, Planned},
    retry::{self, Backoff, Outcome},
};

/// The API version every request pins, unless `--stripe-version` says otherwise
/// (the version the current official SDKs pin).
pub const DEFAULT_STRIPE_VERSION: &str = "2026-10-28.endive";

/// Stripe's production API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// Most bytes read from one answer. Stripe's largest objects and pages of 100 are
/// far smaller; anything bigger is refused rather than held in memory.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// The default overall deadline of one call, retries and backoff included: below
/// the 60 s request timeout of common MCP clients, so the agent always hears back.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(45);

/// The default number of requests in flight to Stripe at once; more calls wait their turn.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

/// How long an identical write without an explicit key counts as a retry of the first.
pub const DERIVED_KEY_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Everything needed to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The secret or restricted key; sent only in the `Authorization` header.
    pub api_key: ApiKey,
    /// Where requests go: Stripe, a proxy, or a local stand-in in tests.
    pub api_base: Url,
    /// Sent as `Stripe-Version` so responses keep one shape whatever the account's default.
    pub stripe_version: String,
    /// Sent as `Stripe-Account` (Connect: act on a connected account).
    pub stripe_account: Option<String>,
    /// Retries after the first attempt, for retryable outcomes only.
    pub max_retries: u32,
    /// Per attempt, from sending to the last byte of the body.
    pub timeout: Duration,
    /// Per call, all attempts and backoff included ([`DEFAULT_DEADLINE`]).
    pub deadline: Duration,
    /// Requests in flight to Stripe at once ([`DEFAULT_MAX_CONCURRENCY`]).
    pub max_concurrency: usize,
    /// Backoff between retries; tests shorten it.
    pub backoff: Backoff,
    /// Read requests per second for this key (`--read-rate`); `None`: Stripe's documented
    /// limit for the key's mode ([`budget::default_rate`]). Shared by every client of the key.
    pub read_rate: Option<f64>,
}

/// An `Idempotency-Key`: chosen once per tool call and sent by every attempt.
///
/// Either the caller's own, or [`IdempotencyKey::derived`]: fixed by the client from
/// the request itself when it is first sent, so that an identical write within
/// [`DERIVED_KEY_WINDOW`] (an agent retrying after its MCP client gave up waiting)
/// carries the same key and Stripe replays the first answer instead of acting twice.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The key as sent; set at creation, or by the client for a derived key (shared by
    /// clones, so the tool that planned a write reports the key the guard fixed).
    value: Arc<OnceLock<String>>,
    /// True when the client derives the key from the request.
    derived: bool,
}

tokio::task_local! {
    /// Set by the server around one tool call: what the client saw that the
    /// result should say (a tool does not have to carry it through its output).
    pub static CALL_NOTES: Arc<CallNotes>;
    /// Set by the server around one tool call made with `stripe_account` (`--connect`):
    /// the connected account every request of that call acts on, sent as
    /// `Stripe-Account` instead of `--stripe-account`.
    pub static CALL_ACCOUNT: Option<String>;
}

/// The connected account of the current call, if the server set one.
fn call_account() -> Option<String> {
    CALL_ACCOUNT.try_with(Clone::clone).ok().flatten()
}

/// What the memory of derived keys and lost writes is keyed by: the same idempotency
/// key on two connected accounts is two different writes.
fn scoped(account: Option<&str>, key: &str) -> String {
    match account {
        Some(a) => format!("{a}\u{0}{key}"),
        None => key.to_owned(),
    }
}

/// What the client noticed during one tool call.
#[derive(Debug, Default)]
pub struct CallNotes {
    /// Stripe answered `Idempotent-Replayed: true` to a write of this call.
    replayed: AtomicBool,
}

impl CallNotes {
    /// True when a write of this call got a replayed answer.
    pub fn replayed(&self) -> bool {
        self.replayed.load(Ordering::Relaxed)
    }
}

impl PartialEq for IdempotencyKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for IdempotencyKey {}

impl IdempotencyKey {
    fn fixed(value: String) -> Self {
        IdempotencyKey {
            value: Arc::new(OnceLock::from(value)),
            derived: false,
        }
    }

    /// A fresh random key (UUID v4).
    pub fn generate() -> Self {
        Self::fixed(uuid::Uuid::new_v4().to_string())
    }

    /// A key the client derives from the method, path and body when the request is
    /// first sent: the same write within [`DERIVED_KEY_WINDOW`] gets the same key.
    pub fn derived() -> Self {
        IdempotencyKey {
            value: Arc::new(OnceLock::new()),
            derived: true,
        }
    }

    /// Fixes a derived key to the one a person's confirmation sealed in its
    /// `requestState`, so a replayed confirmation can only replay. False when the key is
    /// the caller's own or already fixed.
    pub fn seal(&self, value: String) -> bool {
        self.derived && self.value.set(value).is_ok()
    }

    /// A caller's own key, such as an order id. Stripe allows up to 255 characters.
    pub fn from_user(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > 255 {
            return Err("idempotency_key must be 1 to 255 characters".into());
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(
                "idempotency_key may only contain printable ASCII without spaces (for example an order id like order-1234)"
                    .into(),
            );
        }
        Ok(Self::fixed(raw.to_owned()))
    }

    /// The key as sent. A derived key that was never sent gets a random value here.
    pub fn as_str(&self) -> &str {
        self.value.get_or_init(|| uuid::Uuid::new_v4().to_string())
    }

    /// True when the key was derived from the request rather than given.
    pub fn is_derived(&self) -> bool {
        self.derived
    }
}

/// A cheap-to-clone handle on one connection pool and one configuration.
#[derive(Clone)]
pub struct Client {
    /// Shared so clones reuse the same pool (keep-alive) and settings.
    inner: Arc<Inner>,
}

struct Inner {
    /// One pool for the process: TLS handshakes are paid once.
    http: reqwest::Client,
    /// Base URL without a trailing slash; paths start with `/v1/`.
    base: String,
    /// Headers sent on every request (auth marked sensitive).
    headers: HeaderMap,
    /// Kept for mode and restricted-key hints; the secret itself lives in `headers`.
    key: ApiKey,
    /// See [`ClientConfig::max_retries`].
    max_retries: u32,
    /// See [`ClientConfig::backoff`].
    backoff: Backoff,
    /// Idempotency keys of writes whose answer was lost (they may have been
    /// applied), remembered across tool calls until one of their attempts gets
    /// a real answer, so a later "do not retry" is never the last word on them.
    lost_writes: std::sync::Mutex<LostWrites>,
    /// Keys derived for writes sent without one, by request fingerprint.
    derived_keys: std::sync::Mutex<DerivedKeys>,
    /// See [`ClientConfig::deadline`].
    deadline: Duration,
    /// `key:` and the first 12 hex digits of the key's SHA-256: who wrote, in the audit trail.
    fingerprint: String,
    /// Bounds the requests in flight ([`ClientConfig::max_concurrency`]).
    permits: tokio::sync::Semaphore,
    /// Prefixed to every caller-given idempotency key when several tenants may share one
    /// Stripe account ([`Client::with_idempotency_scope`]).
    idempotency_scope: Option<String>,
    /// The read budget of this key, shared with every other client of the same key.
    budget: Arc<Budget>,
    /// The id of the account the key belongs to (`GET /v1/account`, asked once): what the
    /// books kept in the store are filed under.
    account_id: tokio::sync::OnceCell<String>,
}

/// Derived idempotency keys, each valid for [`DERIVED_KEY_WINDOW`] from its first use.
#[derive(Default)]
struct DerivedKeys(std::collections::HashMap<[u8; 32], (String, Instant)>);

impl DerivedKeys {
    /// Most fingerprints remembered; expired ones go first, then the oldest.
    const MAX: usize = 10_000;

    /// The key for this fingerprint: the one in use if still within the window, else a new one.
    fn key_for(&mut self, fingerprint: [u8; 32]) -> String {
        if let Some((key, at)) = self.0.get(&fingerprint)
            && at.elapsed() < DERIVED_KEY_WINDOW
        {
            return key.clone();
        }
        if self.0.len() >= Self::MAX {
            self.0
                .retain(|_, (_, at)| at.elapsed() < DERIVED_KEY_WINDOW);
            if self.0.len() >= Self::MAX
                && let Some(oldest) = self
                    .0
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| *k)
            {
                self.0.remove(&oldest);
            }
        }
        let key = format!("stripe-mcp-{}", uuid::Uuid::new_v4());
        self.0.insert(fingerprint, (key.clone(), Instant::now()));
        key
    }

    /// Forgets the key of a write Stripe definitely refused, so an identical call
    /// later (after the customer fixed their card, say) is a new attempt, not a replay.
    fn forget(&mut self, key: &str) {
        self.0.retain(|_, (k, _)| k != key);
    }
}

/// A bounded set of idempotency keys, forgotten after Stripe's 24 hours.
#[derive(Default)]
struct LostWrites(std::collections::HashMap<String, std::time::Instant>);

impl LostWrites {
    /// Most keys remembered; the oldest go first beyond it.
    const MAX: usize = 10_000;
    /// Stripe keeps an idempotency key for 24 hours.
    const TTL: Duration = Duration::from_secs(24 * 3600);

    fn insert(&mut self, key: &str) {
        if self.0.len() >= Self::MAX {
            self.0.retain(|_, at| at.elapsed() < Self::TTL);
            if self.0.len() >= Self::MAX
                && let Some(oldest) = self
                    .0
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(k, _)| k.clone())
            {
                self.0.remove(&oldest);
            }
        }
        self.0.insert(key.to_owned(), std::time::Instant::now());
    }

    fn contains(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|at| at.elapsed() < Self::TTL)
    }

    fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base)
            .field("key", &self.inner.key)
            .field("max_retries", &self.inner.max_retries)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client. Fails only if a header value is not valid HTTP.
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        let mut headers = HeaderMap::new();
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose()))
            .map_err(|_| Error::Encode("the API key is not a valid header value".into()))?;
        auth.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, auth);
        headers.insert(
            "Stripe-Version",
            HeaderValue::from_str(&config.stripe_version)
                .map_err(|_| Error::Encode("invalid --stripe-version".into()))?,
        );
        if let Some(account) = &config.stripe_account {
            headers.insert(
                "Stripe-Account",
                HeaderValue::from_str(account)
                    .map_err(|_| Error::Encode("invalid --stripe-account".into()))?,
            );
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("stripe-mcp/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            // Stripe's API never redirects. Following one would send the key and a
            // write's body to wherever the Location points, and report its answer as Stripe's.
            .redirect(reqwest::redirect::Policy::none());
        if config.api_base.scheme() != "https" {
            // Over plain http (loopback only) an HTTP proxy would read the key in clear;
            // over https a proxy sees only an encrypted tunnel.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| Error::Encode(format!("could not build the HTTP client: {e}")))?;
        let fingerprint = format!(
            "key:{}",
            &hex::encode(Sha256::digest(config.api_key.expose().as_bytes()))[..12]
        );
        let budget = Budget::for_key(
            Sha256::digest(config.api_key.expose().as_bytes()).into(),
            config
                .read_rate
                .unwrap_or_else(|| budget::default_rate(config.api_key.mode())),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: config.api_base.as_str().trim_end_matches('/').to_owned(),
                headers,
                key: config.api_key,
                max_retries: config.max_retries,
                backoff: config.backoff,
                lost_writes: Default::default(),
                derived_keys: Default::default(),
                deadline: config.deadline,
                fingerprint,
                permits: tokio::sync::Semaphore::new(config.max_concurrency.max(1)),
                idempotency_scope: None,
                budget,
                account_id: tokio::sync::OnceCell::new(),
            }),
        })
    }

    /// Sends every caller-given idempotency key as `<scope>-<key>` (or `<scope>-<sha256 of
    /// key>` when that would pass Stripe's 255 characters), so two tenants on one Stripe
    /// account can never replay or collide with each other's writes by choosing the same
    /// key. Derived keys are random per client and stay as they are. Call it on a client
    /// fresh from [`Client::new`], before any clone.
    pub fn with_idempotency_scope(mut self, scope: &str) -> Client {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => inner.idempotency_scope = Some(scope.to_owned()),
            None => unreachable!("with_idempotency_scope is called before the client is cloned"),
        }
        self
    }

    /// The `Idempotency-Key` header value for `key`: scoped for a tenant's own keys.
    fn sent_key<'a>(&self, key: &'a IdempotencyKey) -> std::borrow::Cow<'a, str> {
        match &self.inner.idempotency_scope {
            Some(scope) if !key.is_derived() => {
                let joined = format!("{scope}-{}", key.as_str());
                if joined.len() <= 255 {
                    joined.into()
                } else {
                    let digest = Sha256::digest(key.as_str().as_bytes());
                    format!("{scope}-{}", hex::encode(digest)).into()
                }
            }
            _ => key.as_str().into(),
        }
    }

    /// A fingerprint of the key (`key:` and 12 hex digits of its SHA-256), never the key.
    pub fn key_fingerprint(&self) -> String {
        self.inner.fingerprint.clone()
    }

    /// The read budget of this key (shared by every client of the key in this process).
    pub fn read_budget(&self) -> &Arc<Budget> {
        &self.inner.budget
    }

    /// The account the current call acts on: the connected account of a `--connect` call
    /// (or `--stripe-account`), else the key's own account, asked of Stripe once
    /// (`GET /v1/account`) and remembered.
    pub async fn account_id(&self) -> Result<String, Error> {
        if let Some(a) = call_account() {
            return Ok(a);
        }
        if let Some(a) = self
            .inner
            .headers
            .get("Stripe-Account")
            .and_then(|v| v.to_str().ok())
        {
            return Ok(a.to_owned());
        }
        #[derive(serde::Deserialize)]
        struct Account {
            id: String,
        }
        self.inner
            .account_id
            .get_or_try_init(|| async {
                let a: Account = self.get("/v1/account", &()).await?;
                Ok(a.id)
            })
            .await
            .cloned()
    }

    /// Test or live, from the key.
    pub fn mode(&self) -> Mode {
        self.inner.key.mode()
    }

    /// True when the key is a restricted (`rk_`) key.
    pub fn key_is_restricted(&self) -> bool {
        self.inner.key.is_restricted()
    }

    /// Replaces the key, or its secret part, wherever it appears in `text`. (Every
    /// outgoing text also passes the server's shape-based redaction; this one is
    /// here so that nothing this client hands up carries its own key at all.)
    pub fn redact(&self, text: &str) -> String {
        let secret = self.inner.key.expose();
        let tail = &secret[secret.len().min(8)..];
        let mut out = text.replace(secret, "[redacted]");
        if tail.len() >= 8 {
            out = out.replace(tail, "[redacted]");
        }
        out
    }

    fn redact_opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.redact(&t))
    }

    /// `GET {path}?{query}`; `query` is form-encoded like a body.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &impl Serialize,
    ) -> Result<T, Error> {
        let query = encode_form(query)?;
        self.execute(Method::GET, path, query, None).await
    }

    /// Sends an approved write: its method, path and params, on its account, with its
    /// idempotency key (retries reuse it). The only way this client writes: `post` and
    /// `delete` are private, and only the guard makes an [`Approved`].
    pub async fn send<T: DeserializeOwned>(&self, approved: &Approved) -> Result<T, Error> {
        let p = approved.planned();
        let call = async {
            let method = match p.method {
                WriteMethod::Post => Method::POST,
                WriteMethod::Delete => Method::DELETE,
            };
            self.execute(
                method,
                &p.path,
                p.body().to_owned(),
                Some(&p.idempotency_key),
            )
            .await
        };
        CALL_ACCOUNT.scope(p.account.clone(), call).await
    }

    /// Fixes a planned write's derived idempotency key now, as its first attempt would
    /// (the same request within [`DERIVED_KEY_WINDOW`] gets the same key), and returns
    /// the `Idempotency-Key` header value it will be sent with: what the audit records.
    pub fn fix_key(&self, planned: &Planned) -> String {
        let key = &planned.idempotency_key;
        if key.derived && key.value.get().is_none() {
            let method = match planned.method {
                WriteMethod::Post => Method::POST,
                WriteMethod::Delete => Method::DELETE,
            };
            let fingerprint = fingerprint(
                &method,
                &planned.path,
                planned.body(),
                planned.account.as_deref(),
            );
            let value = self.derived_keys().key_for(fingerprint);
            let _ = key.value.set(value);
        }
        self.sent_key(key).into_owned()
    }

    /// Sends one logical request, retrying where [`retry::next_delay`] allows, within
    /// the call's overall deadline.
    async fn execute<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        payload: String,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<T, Error> {
        let account = call_account();
        if let Some(key) = idempotency_key
            && key.derived
            && key.value.get().is_none()
        {
            let fingerprint = fingerprint(&method, path, &payload, account.as_deref());
            let value = self.derived_keys().key_for(fingerprint);
            let _ = key.value.set(value);
        }
        let deadline = Instant::now() + self.inner.deadline;
        let mut attempt = 0u32;
        // A write whose answer was lost may have been applied. If a later attempt
        // then fails without Stripe having looked at the key (429, 409, 5xx), that
        // later error must not be what the caller sees: it would say "do not retry"
        // about a write that may have happened. The lost answer is reported instead,
        // which tells the caller to retry with the same key.
        let memory_key = idempotency_key.map(|k| scoped(account.as_deref(), k.as_str()));
        let mut lost_write: Option<Error> = memory_key
            .as_deref()
            .filter(|k| self.lost_writes().contains(k))
            .map(|_| Error::Network {
                message: "an earlier call with this idempotency key got no complete answer, so it may have been applied".into(),
                timeout: false,
            });
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let (outcome, retry_after, result) = match tokio::time::timeout(
                remaining,
                self.attempt(&method, path, &payload, idempotency_key, account.as_deref()),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => (
                    None,
                    None,
                    Err(Error::Network {
                        message: format!(
                            "no complete answer within this call's {} s deadline (retries included)",
                            self.inner.deadline.as_secs()
                        ),
                        timeout: true,
                    }),
                ),
            };
            let delay = outcome.and_then(|o| {
                retry::next_delay(
                    o,
                    attempt,
                    self.inner.max_retries,
                    retry_after,
                    &self.inner.backoff,
                    retry::jitter(),
                )
            });
            // No retry that could not finish before the deadline.
            let delay = delay.filter(|d| Instant::now() + *d < deadline);
            if let (Some(key), Some(memory_key)) = (idempotency_key, memory_key.as_deref()) {
                match &result {
                    Err(Error::Network { .. }) => self.lost_writes().insert(memory_key),
                    // Stripe answered for this key: what it says now is the truth.
                    Ok(_) => self.lost_writes().remove(memory_key),
                    Err(Error::Api {
                        status: 400..=404, ..
                    }) => {
                        self.lost_writes().remove(memory_key);
                        if key.derived {
                            self.derived_keys().forget(key.as_str());
                        }
                    }
                    _ => {}
                }
            }
            match (result, delay) {
                (Ok(ok), _) => {
                    if ok.replayed && idempotency_key.is_some() {
                        let _ = CALL_NOTES.try_with(|n| n.replayed.store(true, Ordering::Relaxed));
                    }
                    return self.decode(ok);
                }
                (Err(e), Some(delay)) => {
                    if let (Some(_), Error::Network { message, timeout }) = (idempotency_key, &e) {
                        lost_write = Some(Error::Network {
                            message: message.clone(),
                            timeout: *timeout,
                        });
                    }
                    tracing::info!(
                        %method, path, attempt = attempt + 1, delay_ms = delay.as_millis() as u64,
                        status = e.http_status(), request_id = e.request_id(),
                        "retrying Stripe request"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                (Err(e), None) => {
                    return Err(match (lost_write, &e) {
                        (Some(lost), Error::Api { status, .. })
                            if matches!(status, 409 | 429) || *status >= 500 =>
                        {
                            lost
                        }
                        _ => e,
                    });
                }
            }
        }
    }

    fn lost_writes(&self) -> std::sync::MutexGuard<'_, LostWrites> {
        // The set holds no invariant a panic could break: a poisoned lock is fine to reuse.
        self.inner
            .lost_writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn derived_keys(&self) -> std::sync::MutexGuard<'_, DerivedKeys> {
        self.inner
            .derived_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// One HTTP exchange. Returns the outcome for the retry decision (None for
    /// success), the `Retry-After`, and the body or error.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        payload: &str,
        idempotency_key: Option<&IdempotencyKey>,
        account: Option<&str>,
    ) -> (Option<Outcome>, Option<Duration>, Result<Success, Error>) {
        // Reads share the key's budget, so parallel reads stay under Stripe's rate limit.
        let read = *method == Method::GET;
        if read {
            self.inner.budget.acquire().await;
        }
        // Bounded sockets and memory however many calls arrive at once: the rest wait here.
        let Ok(_permit) = self.inner.permits.acquire().await else {
            unreachable!("the semaphore is never closed")
        };
        let mut url = format!("{}{}", self.inner.base, path);
        let mut req = if *method == Method::GET || *method == Method::DELETE {
            if !payload.is_empty() {
                url.push('?');
                url.push_str(payload);
            }
            self.inner.http.request(method.clone(), url)
        } else {
            self.inner
                .http
                .request(method.clone(), url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(payload.to_owned())
        };
        let mut headers = self.inner.headers.clone();
        if let Some(account) = account {
            // Checked by the server (acct_ and id characters), so always a valid value.
            if let Ok(v) = HeaderValue::from_str(account) {
                headers.insert("Stripe-Account", v);
            }
        }
        req = req.headers(headers);
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", self.sent_key(key).as_ref());
        }
        let mut response = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Some(Outcome::Network), None, Err(network_error(&e))),
        };
        let status = response.status();
        let headers = response.headers();
        let request_id = self.redact_opt(header_str(headers, "request-id").map(str::to_owned));
        let should_retry = header_str(headers, "stripe-should-retry").and_then(|v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        });
        let retry_after = header_str(headers, "retry-after").and_then(retry::parse_retry_after);
        let replayed = header_str(headers, "idempotent-replayed") == Some("true");
        tracing::debug!(%method, path, status = status.as_u16(), request_id = request_id.as_deref(), "Stripe response");
        if status.is_redirection() {
            // Nothing further is sent: not to the Location, not as a retry.
            let location = header_str(headers, header::LOCATION.as_str())
                .map(|l| origin_of(&self.inner.base, l));
            return (
                None,
                None,
                Err(Error::Redirect {
                    status: status.as_u16(),
                    location,
                    request_id,
                }),
            );
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return (None, None, Err(self.too_large(status, request_id)));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return (None, None, Err(self.too_large(status, request_id)));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                // The connection dropped mid-body: the request may or may not have been applied,
                // which is exactly what the idempotency key is for.
                Err(e) => return (Some(Outcome::Network), None, Err(network_error(&e))),
            }
        }
        let body = bytes::Bytes::from(body);
        if read && status == StatusCode::TOO_MANY_REQUESTS {
            self.inner.budget.throttled(retry_after);
        }
        if status.is_success() {
            if read {
                self.inner.budget.succeeded();
            }
            return (
                None,
                None,
                Ok(Success {
                    status,
                    request_id,
                    body,
                    replayed,
                }),
            );
        }
        let outcome = Outcome::Status {
            status: status.as_u16(),
            should_retry,
        };
        let error = serde_json::from_slice::<ErrorBody>(&body).ok().map(|b| {
            let mut e = b.error;
            // Stripe masks keys in its answers; a proxy or stand-in might not, in any field.
            e.message = self.redact_opt(e.message);
            e.code = self.redact_opt(e.code);
            e.decline_code = self.redact_opt(e.decline_code);
            e.param = self.redact_opt(e.param);
            e.doc_url = self.redact_opt(e.doc_url);
            Box::new(e)
        });
        (
            Some(outcome),
            retry_after,
            Err(Error::Api {
                status: status.as_u16(),
                request_id,
                error,
                should_retry,
            }),
        )
    }

    fn too_large(&self, status: StatusCode, request_id: Option<String>) -> Error {
        Error::TooLarge {
            status: status.as_u16(),
            request_id,
            limit: MAX_RESPONSE_BYTES,
        }
    }

    fn decode<T: DeserializeOwned>(&self, ok: Success) -> Result<T, Error> {
        serde_json::from_slice(&ok.body).map_err(|e| Error::Decode {
            status: ok.status.as_u16(),
            request_id: ok.request_id,
            // serde quotes the value it could not read: that value may be anything.
            message: crate::stripe::error::cap(&self.redact(&e.to_string()), 300),
        })
    }
}

/// What identifies a write for its derived idempotency key: method, path and exact body.
fn fingerprint(method: &Method, path: &str, payload: &str, account: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    if let Some(account) = account {
        h.update(account.as_bytes());
        h.update([1]);
    }
    h.update(method.as_str().as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(payload.as_bytes());
    h.finalize().into()
}

/// The scheme, host and port a `Location` points to (never its path or query, which
/// may carry data), resolved against the API base when it is relative.
fn origin_of(base: &str, location: &str) -> String {
    match Url::parse(base).and_then(|b| b.join(location)) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => "an unparseable location".into(),
    }
}

/// A 2xx response, kept raw until decoded.
struct Success {
    /// For a decode error's report.
    status: StatusCode,
    /// For a decode error's report.
    request_id: Option<String>,
    /// The JSON body.
    body: bytes::Bytes,
    /// Stripe's `Idempotent-Replayed: true`: the answer of an earlier request with this key.
    replayed: bool,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Describes a transport failure without the URL (whose query may hold customer data).
fn network_error(e: &reqwest::Error) -> Error {
    let timeout = e.is_timeout();
    let what = if timeout {
        "the request timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection dropped while reading the response"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut cause = None;
    while let Some(s) = source {
        cause = Some(s.to_string());
        source = s.source();
    }
    let message = match cause {
        Some(c) => format!("{what} ({c})"),
        None => what.to_owned(),
    };
    Error::Network { message, timeout }
}

/// Encodes parameters the way Stripe reads them: nested objects and arrays as
/// `line_items[0][price_data][unit_amount]=4999`, `metadata[order_id]=42`.
pub fn encode_form(params: &impl Serialize) -> Result<String, Error> {
    serde_qs::to_string(params).map_err(|e| Error::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_of_a_write_is_per_connected_account() {
        let a = scoped(Some("acct_A"), "order-1");
        assert_ne!(a, scoped(Some("acct_B"), "order-1"));
        assert_ne!(a, scoped(None, "order-1"));
        assert_eq!(scoped(None, "order-1"), "order-1");
        let m = Method::POST;
        assert_ne!(
            fingerprint(&m, "/v1/refunds", "charge=ch_1", Some("acct_A")),
            fingerprint(&m, "/v1/refunds", "charge=ch_1", None)
        );
    }

    #[test]
    fn user_idempotency_keys_are_checked() {
        assert!(IdempotencyKey::from_user("order-1234").is_ok());
        assert!(IdempotencyKey::from_user("").is_err());
        assert!(IdempotencyKey::from_user("has space").is_err());
        assert!(IdempotencyKey::from_user(&"x".repeat(256)).is_err());
        assert!(IdempotencyKey::from_user(&"x".repeat(255)).is_ok());
    }

    #[test]
    fn generated_idempotency_keys_differ() {
        assert_ne!(IdempotencyKey::generate(), IdempotencyKey::generate());
    }

    #[test]
    fn client_debug_never_shows_the_key() {
        let client = Client::new(ClientConfig {
            api_key: ApiKey::parse("sk_test_DONOTPRINT").unwrap(),
            api_base: Url::parse("http://127.0.0.1:1").unwrap(),
            stripe_version: DEFAULT_STRIPE_VERSION.into(),
            stripe_account: None,
            max_retries: 0,
            timeout: Duration::from_secs(1),
            deadline: DEFAULT_DEADLINE,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            backoff: Backoff::default(),
            read_rate: None,
        })
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("DONOTPRINT"), "{shown}");
    }
}
