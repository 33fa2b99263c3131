//! Stripe webhook signatures, verified exactly as Stripe signs: pure functions, no I/O.
//!
//! Stripe sends `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` where each
//! `v1` is HMAC-SHA256, keyed with the whole `whsec_...` secret, of `"{t}.{raw body}"`.
//! Several `v1` entries appear while Stripe rolls an endpoint's secret; any one may match.

use std::{fmt, time::Duration};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's own default: an event signed more than five minutes away from now is refused.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The header Stripe signs with.
pub const HEADER: &str = "stripe-signature";

/// The longest `Stripe-Signature` accepted, in bytes. Stripe's is about 150 (`t`, one
/// `v1`, sometimes a second `v1` and a `v0`); a longer one is refused before any hashing.
pub const MAX_HEADER_LEN: usize = 4096;

/// The most `v1` entries accepted. Stripe sends one per active secret (two while a
/// secret is rolled); more is an attempt to make the receiver compare many candidates.
pub const MAX_V1: usize = 8;

/// One endpoint signing secret (`whsec_...`). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(whsec_***)")
    }
}

impl Secret {
    /// Accepts only `whsec_...` values: anything else is a key pasted into the wrong place.
    pub fn parse(raw: &str) -> Result<Secret, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("a webhook signing secret is empty".into());
        }
        if !raw.starts_with("whsec_") || raw.len() <= "whsec_".len() {
            // Say what it looks like without echoing it.
            let looks_like = if raw.starts_with("sk_") || raw.starts_with("rk_") {
                " (it looks like an API key)"
            } else if raw.starts_with("pk_") {
                " (it looks like a publishable key)"
            } else {
                ""
            };
            return Err(format!(
                "STRIPE_WEBHOOK_SECRET must be a webhook signing secret starting with whsec_{looks_like}: \
                 copy it from `stripe listen` or Dashboard → Developers → Webhooks → your endpoint → Signing secret"
            ));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("a webhook signing secret contains spaces or control characters".into());
        }
        Ok(Secret(raw.to_owned()))
    }

    /// The HMAC state after `prefix` and `payload`: the one pass over the body.
    fn signed(&self, prefix: &[u8], payload: &[u8]) -> HmacSha256 {
        #[cfg(test)]
        tests::BODY_PASSES.with(|n| n.set(n.get() + 1));
        let mut mac =
            HmacSha256::new_from_slice(self.0.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(prefix);
        mac.update(payload);
        mac
    }
}

/// The secrets an endpoint accepts: during a rotation, the old and the new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets(Vec<Secret>);

impl Secrets {
    /// Parses a comma-separated list (`STRIPE_WEBHOOK_SECRET=whsec_new,whsec_old`).
    pub fn parse(raw: &str) -> Result<Secrets, String> {
        let secrets = raw
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(Secret::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(
                "STRIPE_WEBHOOK_SECRET is not set: give the endpoint's signing secret (whsec_...), \
                 several comma-separated while rotating"
                    .into(),
            );
        }
        Ok(Secrets(secrets))
    }

    /// How many secrets are accepted.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed list; here for completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a delivery was refused. The messages name no secret and no body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header at all: not from Stripe, or stripped by a proxy.
    #[error("missing Stripe-Signature header")]
    MissingHeader,
    /// The header is not `t=...,v1=...`.
    #[error("malformed Stripe-Signature header: {0}")]
    Malformed(&'static str),
    /// No `v1` signature matches any configured secret.
    #[error("no v1 signature matches the configured secret(s)")]
    NoMatch,
    /// The signature is right but the timestamp is too far from now (a replay, or a wrong clock).
    #[error("timestamp is {age_secs} s from now, outside the tolerance of {tolerance_secs} s")]
    OutsideTolerance {
        /// now − t, in seconds (negative: from the future).
        age_secs: i64,
        /// The configured tolerance.
        tolerance_secs: u64,
    },
}

/// The parts of a `Stripe-Signature` header this server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// `t`: when Stripe signed, Unix seconds.
    pub timestamp: i64,
    /// Every `v1` value, decoded; values that are not 32 bytes of hex are dropped.
    pub v1: Vec<Vec<u8>>,
}

/// Parses `t=...,v1=...`; other schemes (`v0`, from Stripe's test tooling) are ignored.
///
/// A header over [`MAX_HEADER_LEN`] bytes or with more than [`MAX_V1`] `v1` entries is
/// refused here, before the body is looked at.
pub fn parse_header(raw: &str) -> Result<SignatureHeader, SignatureError> {
    if raw.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed("longer than 4096 bytes"));
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut v1_seen = 0;
    for item in raw.split(',') {
        let Some((k, v)) = item.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" => {
                let t = v
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed("t is not a Unix timestamp"))?;
                timestamp = Some(t);
            }
            "v1" => {
                if v1_seen == MAX_V1 {
                    return Err(SignatureError::Malformed("more than 8 v1 signatures"));
                }
                v1_seen += 1;
                if let Ok(bytes) = hex::decode(v)
                    && bytes.len() == 32
                {
                    v1.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t= timestamp"))?;
    if v1_seen == 0 {
        return Err(SignatureError::Malformed("no v1= signature"));
    }
    Ok(SignatureHeader { timestamp, v1 })
}

/// Verifies a delivery on its raw bytes and returns the signed timestamp.
///
/// The signature is checked first (in constant time, against every secret and every
/// `v1`), then the timestamp, in both directions: an authentic event older than
/// `tolerance` may be a replay, and one from further in the future means a wrong clock.
///
/// Cost: one HMAC over the body per secret, however many `v1` entries the header has
/// (at most [`MAX_V1`]); each entry then costs one constant-time compare. The caller
/// bounds the body and, for a large one, calls this off the async workers.
pub fn verify(
    payload: &[u8],
    header: Option<&str>,
    secrets: &Secrets,
    tolerance: Duration,
    now: i64,
) -> Result<i64, SignatureError> {
    let header = parse_header(header.ok_or(SignatureError::MissingHeader)?)?;
    let t = header.timestamp;
    let mut matched = false;
    if !header.v1.is_empty() {
        let signed_prefix = format!("{t}.");
        for secret in &secrets.0 {
            // The body is hashed once per secret; the finished state is cloned per
            // candidate, which costs one outer block, not another pass over the body.
            let mac = secret.signed(signed_prefix.as_bytes(), payload);
            for sig in &header.v1 {
                // verify_slice compares in constant time; keep going so timing says nothing.
                matched |= mac.clone().verify_slice(sig).is_ok();
            }
        }
    }
    if !matched {
        return Err(SignatureError::NoMatch);
    }
    let age = now.saturating_sub(t);
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance {
            age_secs: age,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(t)
}

/// Signs a payload as Stripe does: the `Stripe-Signature` value for `t` (tests, local tools).
pub fn sign(payload: &[u8], secret: &str, t: i64) -> String {
    format!("t={t},v1={}", v1(payload, secret, t))
}

/// The hex `v1` signature of a payload.
pub fn v1(payload: &[u8], secret: &str, t: i64) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// How many passes over a body [`Secret::signed`] made on this thread.
        pub(super) static BODY_PASSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn passes() -> usize {
        BODY_PASSES.with(|n| n.replace(0))
    }

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event"}"#;
    const T: i64 = 1_700_000_000;

    fn secrets(raw: &str) -> Secrets {
        Secrets::parse(raw).unwrap()
    }

    fn check(
        header: Option<&str>,
        body: &[u8],
        secrets_raw: &str,
        now: i64,
    ) -> Result<i64, SignatureError> {
        verify(body, header, &secrets(secrets_raw), DEFAULT_TOLERANCE, now)
    }

    #[test]
    fn the_signature_is_byte_for_byte_what_stripe_and_localstripe_compute() {
        // From Python: hmac.new(b"whsec_test_secret", b"1700000000." + BODY, sha256).hexdigest()
        assert_eq!(
            v1(BODY, SECRET, T),
            "0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"
        );
    }

    #[test]
    fn a_valid_signature_verifies_and_returns_its_timestamp() {
        let h = sign(BODY, SECRET, T);
        assert_eq!(check(Some(&h), BODY, SECRET, T), Ok(T));
        assert_eq!(check(Some(&h), BODY, SECRET, T + 299), Ok(T));
    }

    #[test]
    fn a_wrong_secret_does_not_match() {
        let h = sign(BODY, "whsec_other", T);
        assert_eq!(
            check(Some(&h), BODY, SECRET, T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_tampered_body_does_not_match() {
        let h = sign(BODY, SECRET, T);
        let tampered = br#"{"id":"evt_2","object":"event"}"#;
        assert_eq!(
            check(Some(&h), tampered, SECRET, T),
            Err(SignatureError::NoMatch)
        );
        // Re-serialised JSON (a space added) is a different byte string: mistake 1 in the guide.
        let reformatted = br#"{"id": "evt_1","object":"event"}"#;
        assert_eq!(
            check(Some(&h), reformatted, SECRET, T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_tampered_timestamp_does_not_match() {
        let sig = v1(BODY, SECRET, T);
        let h = format!("t={},v1={sig}", T + 1);
        assert_eq!(
            check(Some(&h), BODY, SECRET, T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn timestamps_too_old_or_too_far_in_the_future_are_refused() {
        let h = sign(BODY, SECRET, T);
        assert_eq!(
            check(Some(&h), BODY, SECRET, T + 301),
            Err(SignatureError::OutsideTolerance {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            check(Some(&h), BODY, SECRET, T - 301),
            Err(SignatureError::OutsideTolerance {
                age_secs: -301,
                tolerance_secs: 300
            })
        );
        assert_eq!(check(Some(&h), BODY, SECRET, T - 300), Ok(T));
        // The tolerance is configurable.
        assert_eq!(
            verify(
                BODY,
                Some(&h),
                &secrets(SECRET),
                Duration::from_secs(10),
                T + 11
            ),
            Err(SignatureError::OutsideTolerance {
                age_secs: 11,
                tolerance_secs: 10
            })
        );
    }

    #[test]
    fn two_v1_entries_of_which_one_matches_verify() {
        let good = v1(BODY, SECRET, T);
        let bad = v1(BODY, "whsec_old", T);
        for h in [
            format!("t={T},v1={bad},v1={good}"),
            format!("t={T},v1={good},v1={bad}"),
            format!("t={T},v0=abc,v1=nothex,v1={good}"),
        ] {
            assert_eq!(check(Some(&h), BODY, SECRET, T), Ok(T), "{h}");
        }
        let h = format!("t={T},v1={bad},v1={bad}");
        assert_eq!(
            check(Some(&h), BODY, SECRET, T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn any_one_of_rotated_secrets_may_match() {
        let old_signed = sign(BODY, "whsec_old", T);
        let new_signed = sign(BODY, "whsec_new", T);
        for h in [&old_signed, &new_signed] {
            assert_eq!(check(Some(h), BODY, "whsec_new,whsec_old", T), Ok(T));
            assert_eq!(check(Some(h), BODY, " whsec_old , whsec_new ", T), Ok(T));
        }
        assert_eq!(
            check(Some(&old_signed), BODY, "whsec_new", T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused() {
        assert_eq!(
            check(None, BODY, SECRET, T),
            Err(SignatureError::MissingHeader)
        );
        for (h, why) in [
            ("", "no t= timestamp"),
            ("garbage", "no t= timestamp"),
            ("v1=00", "no t= timestamp"),
            ("t=abc,v1=00", "t is not a Unix timestamp"),
            ("t=1700000000", "no v1= signature"),
            ("t=1700000000,v0=abcd", "no v1= signature"),
        ] {
            assert_eq!(
                check(Some(h), BODY, SECRET, T),
                Err(SignatureError::Malformed(why)),
                "{h:?}"
            );
        }
        // A v1 that is not 32 bytes of hex is simply no match.
        assert_eq!(
            check(Some("t=1700000000,v1=zz"), BODY, SECRET, T),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn secrets_must_be_whsec_and_never_print() {
        assert!(Secrets::parse("whsec_a,whsec_b").unwrap().len() == 2);
        for bad in [
            "",
            " , ",
            "sk_test_123",
            "pk_test_1",
            "secret",
            "whsec_",
            "whsec_a b",
        ] {
            assert!(Secrets::parse(bad).is_err(), "{bad:?}");
        }
        let e = Secrets::parse("sk_test_DONOTPRINT").unwrap_err();
        assert!(!e.contains("DONOTPRINT") && e.contains("API key"), "{e}");
        let s = secrets("whsec_DONOTPRINT");
        assert!(!format!("{s:?}").contains("DONOTPRINT"));
    }

    #[test]
    fn many_v1_entries_cost_one_pass_over_the_body_per_secret() {
        let body = vec![b'x'; 1024 * 1024];
        let good = v1(&body, SECRET, T);
        let bad = v1(&body, "whsec_old", T);
        let mut h = format!("t={T}");
        for _ in 0..7 {
            h.push_str(&format!(",v1={bad}"));
        }
        h.push_str(&format!(",v1={good}"));
        passes();
        assert_eq!(check(Some(&h), &body, SECRET, T), Ok(T));
        assert_eq!(passes(), 1, "one HMAC over the body, not one per v1 entry");
        assert_eq!(
            check(Some(&h), &body, "whsec_new,whsec_other", T),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(passes(), 2, "one pass per secret");
        // No decodable v1 at all: nothing to compare, so the body is not hashed.
        assert_eq!(
            check(Some("t=1700000000,v1=zz"), &body, SECRET, T),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(passes(), 0);
    }

    #[test]
    fn a_flood_of_v1_entries_or_a_huge_header_is_refused_before_any_hashing() {
        let sig = v1(BODY, "whsec_other", T);
        let header = |n: usize| {
            let mut h = format!("t={T}");
            for _ in 0..n {
                h.push_str(&format!(",v1={sig}"));
            }
            h
        };
        passes();
        assert_eq!(
            check(Some(&header(MAX_V1 + 1)), BODY, SECRET, T),
            Err(SignatureError::Malformed("more than 8 v1 signatures"))
        );
        // 5,000 entries (340 KB): refused on length before they are even counted.
        assert_eq!(
            check(Some(&header(5_000)), BODY, SECRET, T),
            Err(SignatureError::Malformed("longer than 4096 bytes"))
        );
        let padded = format!(
            "{},v0={}",
            sign(BODY, SECRET, T),
            "0".repeat(MAX_HEADER_LEN)
        );
        assert_eq!(
            check(Some(&padded), BODY, SECRET, T),
            Err(SignatureError::Malformed("longer than 4096 bytes"))
        );
        assert_eq!(passes(), 0, "a refused header cost a pass over the body");
        // The limits still leave room for what Stripe sends, and then some.
        let mut eight = header(MAX_V1 - 1);
        eight.push_str(&format!(",v1={}", v1(BODY, SECRET, T)));
        assert_eq!(check(Some(&eight), BODY, SECRET, T), Ok(T));
    }
}
