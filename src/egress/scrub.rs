//! One redaction that every outgoing text passes: tool results (text and
//! `structuredContent`), errors, log lines and `check`'s report.
//!
//! Two nets, because an upstream may echo a key in any field of any answer:
//! - by shape: anything that looks like a Stripe secret (`sk_test_…`, `sk_live_…`,
//!   `rk_test_…`, `rk_live_…`) or a webhook signing secret (`whsec_…`), whoever's it is;
//! - by value: the secrets this process was given ([`register`]), including the part
//!   after the prefix, so a key echoed without its prefix is caught too.

use std::{
    borrow::Cow,
    io::{self, Write},
    sync::RwLock,
};

/// Prefixes of secrets that never leave the process, whoever they belong to.
const SECRET_PREFIXES: &[&str] = &["sk_test_", "sk_live_", "rk_test_", "rk_live_", "whsec_"];

/// What a redacted secret becomes (after its prefix, which is kept: it says what kind of secret it was).
pub const MASK: &str = "[redacted]";

/// Exact secrets registered at start-up (the API key, webhook secrets).
static REGISTERED: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret to be masked wherever it appears, and also its part after a
/// known prefix when that part is long enough not to match ordinary text.
pub fn register(secret: &str) {
    let mut list = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    let mut add = |s: &str| {
        if s.len() >= 8 && !list.iter().any(|k| k == s) {
            list.push(s.to_owned());
        }
    };
    add(secret);
    if let Some(prefix) = SECRET_PREFIXES.iter().find(|p| secret.starts_with(**p)) {
        add(&secret[prefix.len()..]);
    }
    // Longest first, so a whole key is masked before its tail is looked for.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

fn is_secret_char(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// True when `text` holds one of [`SECRET_PREFIXES`]. Each of them ends in `_`, so only
/// the places of that byte are looked at (found with `memchr`): one pass, however many
/// prefixes, and most strings (names, amounts, field names) have none.
fn has_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find('_') {
        let end = from + i + 1;
        if SECRET_PREFIXES
            .iter()
            .any(|p| bytes[..end].ends_with(p.as_bytes()))
        {
            return true;
        }
        from = end;
    }
    false
}

/// `text` with every secret masked; borrowed when there was nothing to mask.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    {
        let list = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
        for secret in list.iter() {
            // Most strings of an answer are shorter than any secret: no search needed.
            if out.len() >= secret.len() && out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
    }
    if !has_prefix(&out) {
        return out;
    }
    let bytes = out.as_bytes();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let hit = SECRET_PREFIXES
            .iter()
            .find(|p| bytes[i..].starts_with(p.as_bytes()));
        match hit {
            Some(p) => {
                let start = i + p.len();
                let mut end = start;
                while end < bytes.len() && is_secret_char(bytes[end]) {
                    end += 1;
                }
                if end > start && !out[start..end].starts_with(MASK) {
                    result.push_str(&out[copied..start]);
                    result.push_str(MASK);
                    copied = end;
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    if copied == 0 {
        return out;
    }
    result.push_str(&out[copied..]);
    Cow::Owned(result)
}

/// Masks secrets in every string (and object key) of a JSON value, in place.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(r) = redact(s) {
                *s = r;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            if map.keys().any(|k| matches!(redact(k), Cow::Owned(_))) {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(redact(&k).into_owned(), v);
                }
            }
            map.values_mut().for_each(redact_json);
        }
        _ => {}
    }
}

/// The log writer: stderr, with every line redacted. tracing's formatter hands
/// each event over in one `write`, so a secret is never split across two calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().lock().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingStderr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shaped_values_are_masked_wherever_they_are() {
        for (input, want) in [
            ("Bearer sk_test_51Habc123", "Bearer sk_test_[redacted]"),
            (
                "a=rk_live_ZZZ9,b=whsec_abc",
                "a=rk_live_[redacted],b=whsec_[redacted]",
            ),
            (
                "sk_live_x1 and sk_live_y2",
                "sk_live_[redacted] and sk_live_[redacted]",
            ),
            (
                "use sk_test_... or sk_live_...",
                "use sk_test_... or sk_live_...",
            ),
            ("nothing here", "nothing here"),
            ("ünïcode sk_test_ab€", "ünïcode sk_test_[redacted]€"),
            (
                "a_b_c whsec_x1 __sk_live_9",
                "a_b_c whsec_[redacted] __sk_live_[redacted]",
            ),
            ("ends with sk_test_", "ends with sk_test_"),
        ] {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn registered_secrets_are_masked_even_without_their_prefix() {
        register("sk_test_REGISTEREDsecret42");
        assert_eq!(
            redact("echo: REGISTEREDsecret42!"),
            format!("echo: {MASK}!")
        );
        assert!(!redact("x sk_test_REGISTEREDsecret42 y").contains("REGISTERED"));
    }

    #[test]
    fn json_strings_and_keys_are_masked() {
        let mut v = serde_json::json!({
            "code": "sk_test_abc", "nested": [{"sk_live_key": "rk_test_q"}], "n": 1
        });
        redact_json(&mut v);
        let s = v.to_string();
        assert!(
            !s.contains("abc") && !s.contains("_key") && !s.contains("_q"),
            "{s}"
        );
        assert_eq!(v["n"], 1);
    }
}
