//! The thin Stripe REST client: one `reqwest::Client`, base URL, auth, form
//! encoding, retries with one idempotency key, and `Request-Id` capture.

use std::{fmt, sync::Arc, time::Duration};

use reqwest::{
    Method, StatusCode,
    header::{self, HeaderMap, HeaderValue},
};
use serde::{Serialize, de::DeserializeOwned};
use url::Url;

use super::{
    error::{Error, ErrorBody},
    key::{ApiKey, Mode},
    retry::{self, Backoff, Outcome},
};

/// The API version every request pins, unless `--stripe-version` says otherwise
/// (the version the current official SDKs pin).
pub const DEFAULT_STRIPE_VERSION: &str = "2026-10-28.endive";

/// Stripe's production API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

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
    /// Backoff between retries; tests shorten it.
    pub backoff: Backoff,
}

/// An `Idempotency-Key`: chosen once per tool call and sent by every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random key (UUID v4).
    pub fn generate() -> Self {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
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
        Ok(IdempotencyKey(raw.to_owned()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
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
        let http = reqwest::Client::builder()
            .user_agent(concat!("stripe-mcp/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Encode(format!("could not build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: config.api_base.as_str().trim_end_matches('/').to_owned(),
                headers,
                key: config.api_key,
                max_retries: config.max_retries,
                backoff: config.backoff,
                lost_writes: Default::default(),
            }),
        })
    }

    /// Test or live, from the key.
    pub fn mode(&self) -> Mode {
        self.inner.key.mode()
    }

    /// True when the key is a restricted (`rk_`) key.
    pub fn key_is_restricted(&self) -> bool {
        self.inner.key.is_restricted()
    }

    /// Replaces the key, or its secret part, wherever it appears in `text`.
    pub fn redact(&self, text: &str) -> String {
        let secret = self.inner.key.expose();
        let tail = &secret[secret.len().min(8)..];
        let mut out = text.replace(secret, "[redacted key]");
        if tail.len() >= 8 {
            out = out.replace(tail, "[redacted]");
        }
        out
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

    /// `POST {path}` with a form body and an `Idempotency-Key` reused by every retry.
    ///
    /// `path` must come from this crate or be checked by the caller: it is not escaped.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        form: &impl Serialize,
        idempotency_key: &IdempotencyKey,
    ) -> Result<T, Error> {
        let body = encode_form(form)?;
        self.execute(Method::POST, path, body, Some(idempotency_key))
            .await
    }

    /// `DELETE {path}` with an `Idempotency-Key` reused by every retry.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &IdempotencyKey,
    ) -> Result<T, Error> {
        self.execute(Method::DELETE, path, String::new(), Some(idempotency_key))
            .await
    }

    /// Sends one logical request, retrying where [`retry::next_delay`] allows.
    async fn execute<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        payload: String,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<T, Error> {
        let mut attempt = 0u32;
        // A write whose answer was lost may have been applied. If a later attempt
        // then fails without Stripe having looked at the key (429, 409, 5xx), that
        // later error must not be what the caller sees: it would say "do not retry"
        // about a write that may have happened. The lost answer is reported instead,
        // which tells the caller to retry with the same key.
        let mut lost_write: Option<Error> = idempotency_key
            .filter(|k| self.lost_writes().contains(k.as_str()))
            .map(|_| Error::Network {
                message: "an earlier call with this idempotency key got no complete answer, so it may have been applied".into(),
                timeout: false,
            });
        loop {
            let (outcome, retry_after, result) =
                self.attempt(&method, path, &payload, idempotency_key).await;
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
            if let Some(key) = idempotency_key {
                match &result {
                    Err(Error::Network { .. }) => self.lost_writes().insert(key.as_str()),
                    // Stripe answered for this key: what it says now is the truth.
                    Ok(_)
                    | Err(Error::Api {
                        status: 400..=404, ..
                    }) => self.lost_writes().remove(key.as_str()),
                    _ => {}
                }
            }
            match (result, delay) {
                (Ok(bytes), _) => return decode(bytes),
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

    /// One HTTP exchange. Returns the outcome for the retry decision (None for
    /// success), the `Retry-After`, and the body or error.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        payload: &str,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> (Option<Outcome>, Option<Duration>, Result<Success, Error>) {
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
        req = req.headers(self.inner.headers.clone());
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key.as_str());
        }
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Some(Outcome::Network), None, Err(network_error(&e))),
        };
        let status = response.status();
        let headers = response.headers();
        let request_id = header_str(headers, "request-id").map(str::to_owned);
        let should_retry = header_str(headers, "stripe-should-retry").and_then(|v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        });
        let retry_after = header_str(headers, "retry-after").and_then(retry::parse_retry_after);
        tracing::debug!(%method, path, status = status.as_u16(), request_id = request_id.as_deref(), "Stripe response");
        let body = match response.bytes().await {
            Ok(b) => b,
            // The connection dropped mid-body: the request may or may not have been applied,
            // which is exactly what the idempotency key is for.
            Err(e) => return (Some(Outcome::Network), None, Err(network_error(&e))),
        };
        if status.is_success() {
            return (
                None,
                None,
                Ok(Success {
                    status,
                    request_id,
                    body,
                }),
            );
        }
        let outcome = Outcome::Status {
            status: status.as_u16(),
            should_retry,
        };
        let error = serde_json::from_slice::<ErrorBody>(&body).ok().map(|b| {
            let mut e = b.error;
            // Stripe masks keys in its messages; a proxy or stand-in might not.
            e.message = e.message.map(|m| self.redact(&m));
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
}

/// A 2xx response, kept raw until decoded.
struct Success {
    /// For a decode error's report.
    status: StatusCode,
    /// For a decode error's report.
    request_id: Option<String>,
    /// The JSON body.
    body: bytes::Bytes,
}

fn decode<T: DeserializeOwned>(ok: Success) -> Result<T, Error> {
    serde_json::from_slice(&ok.body).map_err(|e| Error::Decode {
        status: ok.status.as_u16(),
        request_id: ok.request_id,
        message: e.to_string(),
    })
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
            backoff: Backoff::default(),
        })
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("DONOTPRINT"), "{shown}");
    }
}
