//! Who is calling a remote server, and the [`Tenant`] (Stripe client, tools, limits) it yields.
//!
//! One mode is chosen at start-up ([`AuthMode`]); each turns a request's headers into a
//! [`Caller`] or a refusal that says why without repeating the credential:
//!
//! - [`stripe_key`]: the bearer token *is* the caller's Stripe key.
//! - [`tokens`]: a bearer token from the tenants file ([`crate::tenants`]), stored only as a hash.
//! - [`oauth`] (feature `oauth`): a JWT access token from the company's identity provider.
//!
//! Tools never see any of this: they run on the tenant's own [`StripeMcp`].

pub mod rate;
pub mod stripe_key;
pub mod tokens;

#[cfg(feature = "oauth")]
pub mod oauth;

use std::{fmt, sync::Arc};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::server::StripeMcp;

pub use rate::RateLimiter;

/// The auth modes of `serve --http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AuthMode {
    /// No authentication: every caller uses the server's own key. Loopback addresses only.
    #[default]
    None,
    /// The bearer token is the caller's own Stripe secret or restricted key.
    StripeKey,
    /// Bearer tokens issued with `stripe-mcp tenants add`, one tenant each (`--tenants FILE`).
    Tokens,
    /// OAuth 2.1 JWT access tokens checked against the issuer's JWKS (`--issuer`, `--audience`).
    Oauth,
}

impl AuthMode {
    /// The name used on the command line and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::StripeKey => "stripe-key",
            AuthMode::Tokens => "tokens",
            AuthMode::Oauth => "oauth",
        }
    }
}

/// One isolated caller: its own Stripe client (key, account, lost-write memory), its own
/// tool list, its own rate limit. Nothing in it is shared with another tenant.
pub struct Tenant {
    /// Shown in access logs: the tenants-file name, the OAuth claim, or a fingerprint of
    /// the caller's key (never the key itself).
    pub name: String,
    /// The MCP server over this tenant's client, with this tenant's tool selection.
    pub server: StripeMcp,
    /// Tool calls per second this tenant may make.
    pub limiter: RateLimiter,
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenant")
            .field("name", &self.name)
            .field("tools", &self.server.tools().len())
            .finish_non_exhaustive()
    }
}

/// What the HTTP layer attaches to a request once it is authenticated; the MCP handler
/// reads it from the request's `http::request::Parts`.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant whose client and tools serve this request.
    pub tenant: Arc<Tenant>,
    /// OAuth only: may this token call tools that write? (`None`: the mode has no scopes.)
    pub may_write: Option<bool>,
}

/// Why a request was refused. Messages never contain the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header: 401, and the client should go and get a token.
    Missing,
    /// A token was sent but is not valid (shape, unknown, expired, wrong audience...): 401.
    Invalid(String),
    /// A valid token whose identity may not use this server (no tenant for it): 403.
    Forbidden(String),
    /// Valid token without the scope this call needs: 403 `insufficient_scope`.
    InsufficientScope {
        /// The scope that would allow it.
        scope: String,
    },
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => f.write_str("missing bearer token"),
            AuthError::Invalid(why) => write!(f, "invalid token: {why}"),
            AuthError::Forbidden(why) => write!(f, "forbidden: {why}"),
            AuthError::InsufficientScope { scope } => {
                write!(f, "this call needs the {scope} scope")
            }
        }
    }
}

/// The authenticator chosen at start-up.
pub enum Auth {
    /// `--auth none`: one tenant, the server's own key, for every caller.
    None(Arc<Tenant>),
    /// `--auth stripe-key`.
    StripeKey(stripe_key::StripeKeyAuth),
    /// `--auth tokens`.
    Tokens(tokens::TokensAuth),
    /// `--auth oauth`.
    #[cfg(feature = "oauth")]
    Oauth(Box<oauth::OauthAuth>),
}

impl Auth {
    /// The mode, for logs.
    pub fn mode(&self) -> AuthMode {
        match self {
            Auth::None(_) => AuthMode::None,
            Auth::StripeKey(_) => AuthMode::StripeKey,
            Auth::Tokens(_) => AuthMode::Tokens,
            #[cfg(feature = "oauth")]
            Auth::Oauth(_) => AuthMode::Oauth,
        }
    }

    /// The names of the tenants that can log in now, in modes with a tenants file.
    pub fn tenant_names(&self) -> Option<std::collections::HashSet<String>> {
        match self {
            Auth::None(_) | Auth::StripeKey(_) => None,
            Auth::Tokens(a) => Some(a.tenant_names()),
            #[cfg(feature = "oauth")]
            Auth::Oauth(a) => Some(a.tenant_names()),
        }
    }

    /// The caller a request's headers prove, or why not.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        match self {
            Auth::None(tenant) => Ok(Caller {
                tenant: tenant.clone(),
                may_write: None,
            }),
            Auth::StripeKey(a) => a.authenticate(headers),
            Auth::Tokens(a) => a.authenticate(headers),
            #[cfg(feature = "oauth")]
            Auth::Oauth(a) => a.authenticate(headers).await,
        }
    }
}

/// The token of an `Authorization: Bearer ...` header, if there is exactly one.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::Missing);
    };
    if values.next().is_some() {
        return Err(AuthError::Invalid(
            "more than one Authorization header".into(),
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::Invalid("the Authorization header is not text".into()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError::Invalid("expected Authorization: Bearer <token>".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Invalid(
            "expected Authorization: Bearer <token>".into(),
        ));
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// SHA-256 of a secret, hex: how tokens are stored and how cached keys are indexed.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equality that takes the same time wherever the first difference is, so a
/// timing side channel cannot reveal how much of a token hash matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Keep the optimiser from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_bearer_token_is_read_from_one_header_only() {
        assert_eq!(bearer(&headers(&["Bearer abc"])), Ok("abc"));
        assert_eq!(bearer(&headers(&["bearer  abc "])), Ok("abc"));
        assert_eq!(bearer(&headers(&[])), Err(AuthError::Missing));
        assert_eq!(bearer(&headers(&["Bearer "])), Err(AuthError::Missing));
        assert!(matches!(
            bearer(&headers(&["Basic abc"])),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            bearer(&headers(&["Bearer a", "Bearer b"])),
            Err(AuthError::Invalid(_))
        ));
    }

    #[test]
    fn refusals_never_repeat_the_token() {
        let e = bearer(&headers(&["Token sk_test_secret"])).unwrap_err();
        assert!(!e.to_string().contains("sk_test_secret"));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
