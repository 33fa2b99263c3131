//! The MCP tools, one file per Stripe resource, and the argument checks they share.
//!
//! Every check runs before anything is sent, and every refusal says what to send instead.

pub mod account;
pub mod api;
pub mod audit;
pub mod balance;
pub mod charges;
pub mod checkout;
pub mod coupons;
pub mod customers;
pub mod disputes;
pub use crate::error;
pub mod generic;
pub mod invoices;
pub mod orders;
pub mod pagination;
pub mod payment_intents;
pub mod payment_links;
pub mod payouts;
pub mod prices;
pub mod products;
pub mod refunds;
pub mod resources;
pub mod search;
pub mod subscriptions;
pub mod summaries;
pub mod times;
pub mod toolset;
pub mod ui;

pub use toolset::StripeMcp;

use std::{borrow::Cow, collections::BTreeMap};

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;

use crate::stripe::{IdempotencyKey, Mode, currency};
pub use error::{ErrorKind, ToolError};

/// Arguments of a tool that takes none: anything given is refused, so a
/// mistaken call is not sent to Stripe as if it were understood.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Largest amount Stripe accepts in one charge (eight digits of minor units).
pub const MAX_AMOUNT: i64 = 99_999_999;

/// An amount argument: an integer in the currency's minor unit.
///
/// It is read as any JSON value so that `49.99` or `"4999"` gets this server's
/// own refusal (with the fix) instead of a bare decoding error; the schema the
/// model sees is still `integer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Amount(serde_json::Value);

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "MinorUnitAmount".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_AMOUNT
        })
    }
}

impl Amount {
    /// The amount in minor units, or a refusal naming `field` and, when known, the currency.
    pub fn minor_units(&self, field: &str, currency: Option<&str>) -> Result<i64, ToolError> {
        let unit = currency
            .map(currency::minor_unit_example)
            .unwrap_or_else(|| {
                "amounts are in the currency's smallest unit: 4999 means $49.99, 500 means ¥500"
                    .into()
            });
        let refuse = |what: String| Err(ToolError::invalid(what).with_hint(unit.clone()));
        match &self.0 {
            serde_json::Value::Number(n) => {
                if let Some(v) = n.as_i64() {
                    if v < 0 {
                        return refuse(format!("{field} must not be negative (got {v})"));
                    }
                    if v > MAX_AMOUNT {
                        return refuse(format!(
                            "{field} {v} is larger than Stripe's maximum of {MAX_AMOUNT} minor units; was it given in a smaller unit than intended?"
                        ));
                    }
                    Ok(v)
                } else if n.as_u64().is_some() {
                    refuse(format!(
                        "{field} {n} is larger than Stripe's maximum of {MAX_AMOUNT} minor units"
                    ))
                } else {
                    refuse(fractional_amount(field, n, currency))
                }
            }
            serde_json::Value::String(s) => refuse(format!(
                "{field} must be a JSON integer, not the string {s:?}"
            )),
            other => refuse(format!("{field} must be an integer, not {other}")),
        }
    }
}

/// The refusal of a fractional amount, with the integer to send in `currency`'s own
/// minor unit (1.5 KWD is 1500, 49.99 USD is 4999; a zero-decimal currency has no
/// fractions at all). Without a currency the fix is given for two decimals and named so.
pub fn fractional_amount(field: &str, n: &serde_json::Number, currency: Option<&str>) -> String {
    let f = n.as_f64().unwrap_or(0.0);
    let base = format!("{field} must be an integer number of minor units, not {n}");
    match currency.map(|c| (c.to_ascii_lowercase(), currency::decimals(c))) {
        Some((c, 0)) => format!(
            "{base}: {c} is zero-decimal, so amounts are whole units ({} for {}); there is no fraction of one",
            f.round() as i64,
            currency::display(f.round() as i64, &c)
        ),
        Some((c, d)) => {
            let units = (f * 10f64.powi(d as i32)).round() as i64;
            format!(
                "{base}: for {f} {} ({c} has {d} decimals) send {units}",
                c.to_ascii_uppercase()
            )
        }
        None => format!(
            "{base}: for {f} in a two-decimal currency such as usd send {}; in a zero-decimal one such as jpy send a whole number",
            (f * 100.0).round() as i64
        ),
    }
}

/// Checks an object id: no spaces, and one of the expected prefixes.
pub fn check_id(field: &str, raw: &str, prefixes: &[&str]) -> Result<String, ToolError> {
    let what = prefixes.join("… or ");
    if raw.is_empty()
        || raw.len() > 255
        || !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(ToolError::invalid(format!(
            "{field} {raw:?} is not a Stripe id: expected {what}… (letters, digits and underscores)"
        )));
    }
    if !prefixes.iter().any(|p| raw.starts_with(p)) {
        return Err(ToolError::invalid(format!(
            "{field} {raw:?} has the wrong prefix: expected an id starting with {what}"
        ))
        .with_hint(
            "Stripe ids say what they are: cus_ customer, pi_ payment intent, ch_ charge, re_ refund, cs_ checkout session, price_ price, prod_ product.",
        ));
    }
    Ok(raw.to_owned())
}

/// Checks metadata against Stripe's limits: 50 keys, keys up to 40 characters
/// without square brackets, values up to 500 characters.
pub fn check_metadata(
    metadata: Option<BTreeMap<String, String>>,
    reserved: usize,
) -> Result<BTreeMap<String, String>, ToolError> {
    let metadata = metadata.unwrap_or_default();
    if metadata.len() + reserved > 50 {
        return Err(ToolError::invalid(format!(
            "metadata has {} keys{}; Stripe allows at most 50",
            metadata.len(),
            if reserved > 0 {
                format!(" plus {reserved} this tool adds")
            } else {
                String::new()
            }
        )));
    }
    for (k, v) in &metadata {
        if k.is_empty() || k.chars().count() > 40 {
            return Err(ToolError::invalid(format!(
                "metadata key {k:?} must be 1 to 40 characters"
            )));
        }
        if k.contains('[') || k.contains(']') {
            return Err(ToolError::invalid(format!(
                "metadata key {k:?} must not contain square brackets"
            )));
        }
        if v.chars().count() > 500 {
            return Err(ToolError::invalid(format!(
                "metadata value of {k:?} is {} characters; Stripe allows at most 500",
                v.chars().count()
            )));
        }
    }
    Ok(metadata)
}

/// The write's idempotency key: the caller's own, or one the client derives from the
/// request, so an identical call within ten minutes is a retry Stripe replays.
pub fn idempotency_key(raw: Option<&str>) -> Result<IdempotencyKey, ToolError> {
    match raw {
        Some(raw) => IdempotencyKey::from_user(raw).map_err(ToolError::invalid),
        None => Ok(IdempotencyKey::derived()),
    }
}

/// Checks a redirect URL: absolute, http(s), and https in live mode.
pub fn check_url(field: &str, raw: &str, mode: Mode) -> Result<String, ToolError> {
    let hint = "Send an absolute URL such as https://shop.example/success?session_id={CHECKOUT_SESSION_ID}";
    if raw.len() > 5000 {
        return Err(ToolError::invalid(format!(
            "{field} is longer than 5000 characters"
        )));
    }
    let parsed = url::Url::parse(raw).map_err(|_| {
        ToolError::invalid(format!("{field} {raw:?} is not an absolute URL")).with_hint(hint)
    })?;
    match parsed.scheme() {
        "https" => {}
        "http" if mode == Mode::Test => {}
        "http" => {
            return Err(ToolError::invalid(format!(
                "{field} must use https in live mode (got {raw:?})"
            )));
        }
        other => {
            return Err(ToolError::invalid(format!(
                "{field} must be an http(s) URL, not {other}:"
            ))
            .with_hint(hint));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ToolError::invalid(format!("{field} {raw:?} has no host")).with_hint(hint));
    }
    Ok(raw.to_owned())
}

/// Checks an email address loosely: one `@`, something on both sides, no spaces.
pub fn check_email(field: &str, raw: &str) -> Result<String, ToolError> {
    let ok = raw.len() <= 512
        && !raw.chars().any(char::is_whitespace)
        && raw.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ToolError::invalid(format!(
            "{field} {raw:?} is not an email address like jane@example.com"
        )))
    }
}

/// Checks a free-text argument's length (in characters) and that it is not blank.
pub fn check_text(field: &str, raw: &str, max_chars: usize) -> Result<String, ToolError> {
    if raw.trim().is_empty() {
        return Err(ToolError::invalid(format!("{field} must not be empty")));
    }
    let n = raw.chars().count();
    if n > max_chars {
        return Err(ToolError::invalid(format!(
            "{field} is {n} characters; at most {max_chars} are allowed"
        )));
    }
    if raw.chars().any(|c| c.is_control()) {
        return Err(ToolError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(raw.to_owned())
}

/// A money amount as a tool returns it: the integer Stripe uses, and a string for people.
#[derive(Debug, Clone, serde::Serialize, JsonSchema)]
pub struct Money {
    /// Integer minor units (cents; whole units for zero-decimal currencies).
    pub amount: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// Formatted for the currency's decimals, e.g. "$49.99" or "¥500".
    pub display: String,
}

impl Money {
    /// Builds the display string from the amount and currency.
    pub fn new(amount: i64, currency: &str) -> Money {
        Money {
            amount,
            currency: currency.to_owned(),
            display: currency::display(amount, currency),
        }
    }
}

impl StripeMcp {
    /// Sends one planned write the only way there is: through the guard
    /// ([`crate::guard::gate::pass`]: what it does is read from the request itself,
    /// a person confirms, the limits reserve, the audit trail records), then the approved
    /// request, then the outcome settles the reservation and completes the audit row.
    pub(crate) async fn write<T: serde::de::DeserializeOwned>(
        &self,
        plan: Result<crate::stripe::planned::Plan<T>, crate::stripe::Error>,
        key: &IdempotencyKey,
    ) -> Result<T, ToolError> {
        let plan = plan.map_err(|e| self.stripe_error(e, Some(key)))?;
        let passage = crate::guard::gate::pass(
            &self.client,
            &self.settings.guard,
            self.settings.ledger.as_ref(),
            plan.planned,
        )
        .await?;
        let result: Result<serde_json::Value, ToolError> = self
            .client
            .send(&passage.approved)
            .await
            .map_err(|e| self.stripe_error(e, Some(key)));
        passage.settle(result.as_ref()).await;
        let body = result?;
        serde_json::from_value(body).map_err(|e| {
            self.stripe_error(
                crate::stripe::Error::Decode {
                    status: 200,
                    request_id: None,
                    message: format!("the answer did not have the expected shape: {e}"),
                },
                Some(key),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn amount(v: serde_json::Value) -> Result<i64, ToolError> {
        Amount(v).minor_units("unit_amount", Some("usd"))
    }

    #[test]
    fn integer_amounts_are_accepted() {
        assert_eq!(amount(json!(4999)).unwrap(), 4999);
        assert_eq!(amount(json!(0)).unwrap(), 0);
        assert_eq!(amount(json!(MAX_AMOUNT)).unwrap(), MAX_AMOUNT);
    }

    #[test]
    fn floats_negatives_strings_and_huge_amounts_are_refused_with_the_fix() {
        let e = amount(json!(49.99)).unwrap_err();
        assert!(e.message.contains("send 4999"), "{}", e.message);
        assert!(e.hint.unwrap().contains("cents"));
        assert!(amount(json!(-5)).unwrap_err().message.contains("negative"));
        assert!(
            amount(json!("4999"))
                .unwrap_err()
                .message
                .contains("string")
        );
        assert!(
            amount(json!(MAX_AMOUNT + 1))
                .unwrap_err()
                .message
                .contains("maximum")
        );
        assert!(
            amount(json!(u64::MAX))
                .unwrap_err()
                .message
                .contains("maximum")
        );
        assert!(amount(json!(null)).is_err());
        assert!(amount(json!(4999.0)).is_err());
    }

    #[test]
    fn a_fractional_amount_is_fixed_with_the_currencys_own_exponent() {
        let fix = |v: serde_json::Value, c: &str| {
            Amount(v)
                .minor_units("amount", Some(c))
                .unwrap_err()
                .message
        };
        let kwd = fix(json!(1.5), "kwd");
        assert!(kwd.contains("send 1500"), "{kwd}");
        assert!(!kwd.ends_with("send 150"), "{kwd}");
        let jpy = fix(json!(49.99), "jpy");
        assert!(!jpy.contains("4999"), "{jpy}");
        assert!(jpy.contains("zero-decimal"), "{jpy}");
        assert!(fix(json!(49.99), "usd").contains("send 4999"));
        let unknown = Amount(json!(1.5)).minor_units("amount", None).unwrap_err();
        assert!(
            unknown.message.contains("two-decimal"),
            "{}",
            unknown.message
        );
    }

    #[test]
    fn ids_must_have_the_right_prefix() {
        assert!(check_id("payment_intent", "pi_123", &["pi_"]).is_ok());
        let e = check_id("payment_intent", "ch_123", &["pi_"]).unwrap_err();
        assert!(e.message.contains("wrong prefix"));
        assert!(check_id("charge", "ch_1 ", &["ch_", "py_"]).is_err());
        assert!(check_id("charge", "", &["ch_"]).is_err());
        assert!(check_id("customer", "cus_../../v1/balance", &["cus_"]).is_err());
    }

    #[test]
    fn metadata_limits_are_stripes() {
        let many: BTreeMap<_, _> = (0..51)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(check_metadata(Some(many), 0).is_err());
        let fifty: BTreeMap<_, _> = (0..50)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(check_metadata(Some(fifty.clone()), 0).is_ok());
        assert!(check_metadata(Some(fifty), 1).is_err());
        assert!(check_metadata(Some(BTreeMap::from([("k".repeat(41), "v".into())])), 0).is_err());
        assert!(check_metadata(Some(BTreeMap::from([("k".into(), "v".repeat(501))])), 0).is_err());
        assert!(check_metadata(Some(BTreeMap::from([("a[b]".into(), "v".into())])), 0).is_err());
        assert!(check_metadata(Some(BTreeMap::from([("é".repeat(40), "v".into())])), 0).is_ok());
    }

    #[test]
    fn urls_must_be_absolute_http_and_https_in_live_mode() {
        assert!(
            check_url(
                "success_url",
                "https://a.example/s?session_id={CHECKOUT_SESSION_ID}",
                Mode::Live
            )
            .is_ok()
        );
        assert!(check_url("success_url", "http://a.example/s", Mode::Test).is_ok());
        assert!(check_url("success_url", "http://a.example/s", Mode::Live).is_err());
        assert!(check_url("success_url", "/success", Mode::Test).is_err());
        assert!(check_url("success_url", "a.example/success", Mode::Test).is_err());
        assert!(check_url("success_url", "javascript:alert(1)", Mode::Test).is_err());
        assert!(check_url("success_url", "ftp://a.example/", Mode::Test).is_err());
    }

    #[test]
    fn emails_and_text_are_checked() {
        assert!(check_email("email", "jane@example.com").is_ok());
        assert!(check_email("email", "jane@").is_err());
        assert!(check_email("email", "jane doe@example.com").is_err());
        assert!(check_text("product_name", "T-shirt", 250).is_ok());
        assert!(check_text("product_name", "  ", 250).is_err());
        assert!(check_text("product_name", &"x".repeat(251), 250).is_err());
        assert!(check_text("product_name", "a\u{0}b", 250).is_err());
    }
}
