//! The secret API key: validated once, never printed.

use std::fmt;

/// Which of Stripe's two separate worlds a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sk_test_` / `rk_test_`: fake money, test cards, separate data.
    Test,
    /// `sk_live_` / `rk_live_`: real money.
    Live,
}

impl Mode {
    /// `"test"` or `"live"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Stripe secret (`sk_`) or restricted (`rk_`) key.
///
/// Neither `Debug` nor `Display` shows it; the only way out is
/// `ApiKey::expose`, used once to build the `Authorization` header.
#[derive(Clone)]
pub struct ApiKey {
    /// The key itself; private so it cannot be formatted by accident.
    secret: String,
    /// Derived from the prefix at parse time.
    mode: Mode,
    /// `rk_` keys can lack permissions, which changes the hint on a 403.
    restricted: bool,
}

/// Why a key was refused at start-up. The messages never repeat the key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Nothing given.
    #[error(
        "no Stripe API key: pass --api-key=sk_test_... or set STRIPE_SECRET_KEY (Dashboard → Developers → API keys → Secret key)"
    )]
    Missing,
    /// Whitespace inside or around the key: almost always a copy-paste slip.
    #[error(
        "the Stripe API key contains spaces or line breaks: copy the whole secret key again without extra characters"
    )]
    Whitespace,
    /// A publishable key, which can only be used in browsers.
    #[error(
        "that is a publishable key (pk_...), which cannot call the API from a server: use the secret key (sk_test_... or sk_live_...) or a restricted key (rk_...) from Dashboard → Developers → API keys"
    )]
    Publishable,
    /// Anything else.
    #[error(
        "that does not look like a Stripe secret key: expected sk_test_..., sk_live_..., rk_test_... or rk_live_... (Dashboard → Developers → API keys)"
    )]
    Malformed,
}

impl ApiKey {
    /// Validates a key's shape (not whether Stripe accepts it: `stripe-mcp check` does that).
    pub fn parse(raw: &str) -> Result<ApiKey, KeyError> {
        if raw.is_empty() {
            return Err(KeyError::Missing);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(KeyError::Whitespace);
        }
        if raw.starts_with("pk_") {
            return Err(KeyError::Publishable);
        }
        let (restricted, rest) = if let Some(rest) = raw.strip_prefix("sk_") {
            (false, rest)
        } else if let Some(rest) = raw.strip_prefix("rk_") {
            (true, rest)
        } else {
            return Err(KeyError::Malformed);
        };
        let mode = if rest.starts_with("test_") {
            Mode::Test
        } else if rest.starts_with("live_") {
            Mode::Live
        } else {
            return Err(KeyError::Malformed);
        };
        if rest.len() <= 5 || !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(KeyError::Malformed);
        }
        Ok(ApiKey {
            secret: raw.to_owned(),
            mode,
            restricted,
        })
    }

    /// Test or live.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// True for `rk_` keys.
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }

    /// The secret itself. Only for the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.restricted { "rk" } else { "sk" };
        write!(f, "ApiKey({kind}_{}_<redacted>)", self.mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_and_restricted_keys_of_both_modes_are_accepted() {
        let k = ApiKey::parse("sk_test_51abcDEF").unwrap();
        assert_eq!((k.mode(), k.is_restricted()), (Mode::Test, false));
        let k = ApiKey::parse("sk_live_51abcDEF").unwrap();
        assert_eq!((k.mode(), k.is_restricted()), (Mode::Live, false));
        let k = ApiKey::parse("rk_test_51abcDEF").unwrap();
        assert_eq!((k.mode(), k.is_restricted()), (Mode::Test, true));
        let k = ApiKey::parse("rk_live_51abcDEF").unwrap();
        assert_eq!((k.mode(), k.is_restricted()), (Mode::Live, true));
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        assert_eq!(ApiKey::parse("").unwrap_err(), KeyError::Missing);
        assert_eq!(
            ApiKey::parse("sk_test_abc ").unwrap_err(),
            KeyError::Whitespace
        );
        assert_eq!(
            ApiKey::parse("sk_test_a\nb").unwrap_err(),
            KeyError::Whitespace
        );
        assert_eq!(
            ApiKey::parse("pk_test_abc").unwrap_err(),
            KeyError::Publishable
        );
        assert_eq!(ApiKey::parse("sk_abc").unwrap_err(), KeyError::Malformed);
        assert_eq!(ApiKey::parse("sk_test_").unwrap_err(), KeyError::Malformed);
        assert_eq!(ApiKey::parse("whsec_abc").unwrap_err(), KeyError::Malformed);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let k = ApiKey::parse("sk_test_SUPERSECRET123").unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains("SUPERSECRET"), "{shown}");
        assert_eq!(shown, "ApiKey(sk_test_<redacted>)");
    }

    #[test]
    fn error_messages_never_repeat_the_key() {
        for raw in ["pk_test_SECRETISH", "sk_test_SECRET ISH", "xx_SECRETISH"] {
            let msg = ApiKey::parse(raw).unwrap_err().to_string();
            assert!(!msg.contains("SECRETISH"), "{msg}");
        }
    }
}
