//! `--auth oauth --issuer URL --audience URL`: an OAuth 2.1 resource server, as the MCP
//! authorization spec asks.
//!
//! An access token is a JWT signed by the issuer: its signature is checked against the
//! issuer's JWKS (fetched at start-up, cached, fetched again for an unknown `kid`, at most
//! every [`REFETCH_EVERY`]), and its `iss`, `aud` (this server's canonical URL, RFC 8707),
//! `exp` and `nbf` are checked. Its scopes (`scope`, space-separated, or `scp`, a list)
//! decide what it may call: the read scope for read-only tools, the write scope for the
//! rest. A claim (`sub` by default, or a group claim) names the tenant in the tenants file
//! (its `name` or one of its `subjects`), so the company's identity provider decides who
//! gets which Stripe key and tools. Only asymmetric algorithms are accepted.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use axum::http::HeaderMap;
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{AlgorithmParameters, Jwk},
};
use url::Url;

use super::{AuthError, Caller, Tenant, bearer};
use crate::{
    tenants::{self, TenantDefaults},
    transport::{ServeArgs, http::HttpConfig},
};

/// An unknown `kid` fetches the JWKS again at most this often, so forged tokens with
/// random key ids cannot make this server hammer the identity provider.
pub const REFETCH_EVERY: Duration = Duration::from_secs(5);
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The issuer's keys by `kid`, and when they were fetched.
struct Keys {
    by_kid: HashMap<String, (DecodingKey, Vec<Algorithm>)>,
    fetched: Option<Instant>,
    /// `--jwks-refresh`: keys are fetched again after this long even when every `kid` is
    /// known, so a key the issuer withdraws stops working within it.
    max_age: Duration,
}

/// The OAuth authenticator.
pub struct OauthAuth {
    /// The `iss` every token must carry.
    issuer: String,
    /// The `aud` every token must include: this server's canonical URL.
    audience: String,
    /// Where the issuer's signing keys are.
    jwks_url: Url,
    /// For the JWKS.
    http: reqwest::Client,
    /// The cached keys.
    keys: tokio::sync::RwLock<Keys>,
    /// Serialises fetches.
    fetching: tokio::sync::Mutex<()>,
    /// The claim naming the tenant.
    tenant_claim: String,
    /// Scope for read-only tools.
    read_scope: String,
    /// Scope for every other tool.
    write_scope: String,
    /// The tenants file, re-read on SIGHUP.
    path: PathBuf,
    /// What tenants are built from.
    defaults: TenantDefaults,
    /// Claim value → tenant.
    tenants: RwLock<Arc<HashMap<String, Arc<Tenant>>>>,
}

impl OauthAuth {
    /// Validates the OAuth flags, loads the tenants, finds and fetches the JWKS.
    pub async fn from_args(
        args: &ServeArgs,
        http_config: &HttpConfig,
        defaults: TenantDefaults,
    ) -> Result<Self, String> {
        let issuer = args
            .issuer
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or("--auth oauth needs --issuer URL (the authorization server's issuer)")?;
        let issuer_url =
            Url::parse(&issuer).map_err(|_| format!("--issuer {issuer:?} is not a URL"))?;
        check_fetchable(&issuer_url, "--issuer")?;
        let audience = match (&args.audience, &http_config.public_url) {
            (Some(a), _) if !a.is_empty() => a.clone(),
            (_, Some(public)) => format!(
                "{}{}",
                public.as_str().trim_end_matches('/'),
                http_config.path
            ),
            _ => {
                return Err("--auth oauth needs --audience URL or --public-url URL: tokens must be issued for this server's canonical URL (RFC 8707)".into());
            }
        };
        let path = args.tenants.clone().ok_or(
            "--auth oauth needs --tenants FILE: the tenants the token's claim can name (their Stripe keys and tools)",
        )?;
        if args.read_scope.is_empty() || args.write_scope.is_empty() {
            return Err("--read-scope and --write-scope must not be empty".into());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        let jwks_url = match &args.jwks_url {
            Some(u) => Url::parse(u).map_err(|_| format!("--jwks-url {u:?} is not a URL"))?,
            None => discover_jwks(&http, &issuer_url).await?,
        };
        check_fetchable(&jwks_url, "the JWKS URL")?;
        let auth = OauthAuth {
            issuer,
            audience,
            jwks_url,
            http,
            keys: tokio::sync::RwLock::new(Keys {
                by_kid: HashMap::new(),
                fetched: None,
                max_age: Duration::from_secs(args.jwks_refresh),
            }),
            fetching: tokio::sync::Mutex::new(()),
            tenant_claim: args.tenant_claim.clone(),
            read_scope: args.read_scope.clone(),
            write_scope: args.write_scope.clone(),
            tenants: RwLock::new(Arc::new(HashMap::new())),
            path,
            defaults,
        };
        auth.reload()?;
        // Keys now, so a wrong URL shows at start-up; an identity provider that is down
        // for a moment is retried on the first token.
        if let Err(e) = auth.fetch_keys().await {
            tracing::warn!(error = %e, "could not fetch the issuer's signing keys yet");
        }
        tracing::info!(issuer = %auth.issuer, audience = %auth.audience, jwks = %auth.jwks_url, claim = %auth.tenant_claim, "OAuth resource server");
        Ok(auth)
    }

    /// Re-reads the tenants file; on error the tenants in force stay.
    pub fn reload(&self) -> Result<usize, String> {
        let file = tenants::parse_file(&self.path)?;
        let built = tenants::build_all(&file, &self.defaults)?;
        let mut map = HashMap::new();
        for (entry, tenant) in built {
            for value in std::iter::once(entry.name.clone()).chain(entry.subjects.clone()) {
                if map.insert(value.clone(), tenant.clone()).is_some() {
                    return Err(format!(
                        "claim value {value:?} names two tenants in {}",
                        self.path.display()
                    ));
                }
            }
        }
        let n = file.tenant.len();
        *self.tenants.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(map);
        Ok(n)
    }

    /// The names of the tenants in force.
    pub fn tenant_names(&self) -> std::collections::HashSet<String> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|t| t.name.clone())
            .collect()
    }

    /// The write scope's name.
    pub fn write_scope(&self) -> &str {
        &self.write_scope
    }

    /// RFC 9728 protected-resource metadata.
    pub fn metadata(&self, _resource_url: &str) -> serde_json::Value {
        serde_json::json!({
            "resource": self.audience,
            "authorization_servers": [self.issuer],
            "scopes_supported": [self.read_scope, self.write_scope],
            "bearer_methods_supported": ["header"],
            "resource_name": "stripe-mcp",
        })
    }

    async fn fetch_keys(&self) -> Result<(), String> {
        let _one = self.fetching.lock().await;
        self.fetch_keys_locked().await
    }

    /// Fetches the keys; the caller holds `fetching`.
    async fn fetch_keys_locked(&self) -> Result<(), String> {
        let response = self
            .http
            .get(self.jwks_url.clone())
            .send()
            .await
            .map_err(|e| format!("JWKS fetch failed: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("JWKS answered HTTP {}", response.status()));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("JWKS is not JSON: {e}"))?;
        let mut by_kid = HashMap::new();
        for raw in body["keys"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            // One key this crate cannot use (an encryption key, a new type) skips that key only.
            let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
                continue;
            };
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            if let Some(entry) = usable(&jwk) {
                by_kid.insert(kid, entry);
            }
        }
        let mut keys = self.keys.write().await;
        keys.by_kid = by_kid;
        keys.fetched = Some(Instant::now());
        Ok(())
    }

    async fn key(&self, kid: &str) -> Option<(DecodingKey, Vec<Algorithm>)> {
        let seen = {
            let keys = self.keys.read().await;
            let fresh = keys.fetched.is_some_and(|t| t.elapsed() < keys.max_age);
            if fresh {
                if let Some(k) = keys.by_kid.get(kid) {
                    return Some(k.clone());
                }
                // An unknown kid refetches at most every REFETCH_EVERY.
                if keys.fetched.is_some_and(|t| t.elapsed() < REFETCH_EVERY) {
                    return None;
                }
            }
            keys.fetched
        };
        // Keys past `--jwks-refresh` are never used: fetch them again (one fetch for
        // all the callers waiting here), or refuse.
        let _one = self.fetching.lock().await;
        {
            let keys = self.keys.read().await;
            if keys.fetched != seen {
                return keys.by_kid.get(kid).cloned();
            }
        }
        if let Err(e) = self.fetch_keys_locked().await {
            tracing::warn!(error = %e, "could not refresh the issuer's signing keys");
            return None;
        }
        self.keys.read().await.by_kid.get(kid).cloned()
    }

    /// The caller an access token proves.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        let token = bearer(headers)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("not a JWT".into()))?;
        if names_critical_extensions(token) {
            return Err(AuthError::Invalid(
                "the token names a critical header extension (crit) this server does not understand".into(),
            ));
        }
        let kid = header
            .kid
            .ok_or_else(|| AuthError::Invalid("the token names no signing key (kid)".into()))?;
        let (key, algorithms) = self.key(&kid).await.ok_or_else(|| {
            AuthError::Invalid("signed with a key the issuer does not publish".into())
        })?;
        if !algorithms.contains(&header.alg) {
            return Err(AuthError::Invalid(
                "the token's algorithm does not match its key".into(),
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                AuthError::Invalid(
                    match e.kind() {
                        K::ExpiredSignature => "the token has expired",
                        K::ImmatureSignature => "the token is not valid yet (nbf)",
                        K::InvalidAudience => "the token is for another audience",
                        K::InvalidIssuer => "the token is from another issuer",
                        K::InvalidSignature => "bad signature",
                        K::MissingRequiredClaim(_) => "the token lacks exp, iss or aud",
                        _ => "the token could not be verified",
                    }
                    .into(),
                )
            })?
            .claims;
        let scopes = scopes(&claims);
        let may_write = scopes.iter().any(|s| *s == self.write_scope);
        if !may_write && !scopes.iter().any(|s| *s == self.read_scope) {
            return Err(AuthError::InsufficientScope {
                scope: self.read_scope.clone(),
            });
        }
        let tenants = self
            .tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let values: Vec<&str> = match &claims[&self.tenant_claim] {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
            _ => vec![],
        };
        let tenant = values
            .iter()
            .find_map(|v| tenants.get(*v))
            .cloned()
            .ok_or_else(|| {
                AuthError::Forbidden(format!(
                    "no tenant is configured for this identity's {} claim",
                    self.tenant_claim
                ))
            })?;
        Ok(Caller {
            tenant,
            may_write: Some(may_write),
        })
    }
}

/// RFC 7515 §4.1.11: a `crit` header lists extensions the recipient must understand;
/// this server understands none, so any `crit` (even a malformed one) refuses the token.
fn names_critical_extensions(token: &str) -> bool {
    use base64::Engine as _;
    let Some(first) = token.split('.').next() else {
        return false;
    };
    let Ok(raw) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(first.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&raw).is_ok_and(|h| h.get("crit").is_some())
}

/// The token's scopes: `scope` (a space-separated string, RFC 9068) or `scp` (a list).
fn scopes(claims: &serde_json::Value) -> Vec<&str> {
    let mut out = Vec::new();
    if let Some(s) = claims["scope"].as_str() {
        out.extend(s.split_whitespace());
    }
    match &claims["scp"] {
        serde_json::Value::Array(items) => out.extend(items.iter().filter_map(|v| v.as_str())),
        serde_json::Value::String(s) => out.extend(s.split_whitespace()),
        _ => {}
    }
    out
}

/// The key and the asymmetric algorithms it may verify. Symmetric (`oct`) keys are never
/// used: a public JWKS holding one would let anyone sign.
fn usable(jwk: &Jwk) -> Option<(DecodingKey, Vec<Algorithm>)> {
    let family: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(_) => vec![Algorithm::ES256, Algorithm::ES384],
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        AlgorithmParameters::OctetKey(_) => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(ka) => {
            let alg = ka.to_string().parse::<Algorithm>().ok()?;
            family.contains(&alg).then(|| vec![alg])?
        }
        None => family,
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((key, algorithms))
}

/// https anywhere; plain http only to a loopback host (local identity providers and tests).
fn check_fetchable(url: &Url, what: &str) -> Result<(), String> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "{what} must be https (plain http only to a loopback host), got {url}"
        )),
    }
}

/// The `jwks_uri` of the issuer's OpenID configuration, or its OAuth server metadata (RFC 8414).
async fn discover_jwks(http: &reqwest::Client, issuer: &Url) -> Result<Url, String> {
    let base = issuer.as_str().trim_end_matches('/');
    let mut tried = Vec::new();
    for well_known in [
        format!("{base}/.well-known/openid-configuration"),
        format!("{base}/.well-known/oauth-authorization-server"),
    ] {
        let found = async {
            let r = http.get(&well_known).send().await.ok()?;
            if !r.status().is_success() {
                return None;
            }
            let v: serde_json::Value = r.json().await.ok()?;
            Url::parse(v["jwks_uri"].as_str()?).ok()
        }
        .await;
        match found {
            Some(u) => return Ok(u),
            None => tried.push(well_known),
        }
    }
    Err(format!(
        "no jwks_uri found at {}: pass --jwks-url",
        tried.join(" or ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let c = serde_json::json!({"scope": "stripe:read openid", "scp": ["stripe:write"]});
        assert_eq!(scopes(&c), ["stripe:read", "openid", "stripe:write"]);
        assert!(scopes(&serde_json::json!({})).is_empty());
    }

    #[test]
    fn symmetric_keys_in_a_jwks_are_never_used() {
        let oct: Jwk =
            serde_json::from_value(serde_json::json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"}))
                .unwrap();
        assert!(usable(&oct).is_none());
    }

    #[test]
    fn keys_are_fetched_over_https_or_from_loopback_only() {
        assert!(check_fetchable(&Url::parse("https://idp.example/jwks").unwrap(), "x").is_ok());
        assert!(check_fetchable(&Url::parse("http://127.0.0.1:1/jwks").unwrap(), "x").is_ok());
        assert!(check_fetchable(&Url::parse("http://idp.example/jwks").unwrap(), "x").is_err());
    }
}
