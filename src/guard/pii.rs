//! `--redact`: personal data masked in every tool output (never in requests), by
//! field name over the result's JSON, plus any email address in any string.
//!
//! - emails keep their first letter and domain: `j***@example.com`;
//! - a person's name keeps each word's first letter: `J*** D***`;
//! - phones keep their last two digits: `***67`;
//! - address lines, postal codes, cities and states become `***` (the country stays);
//! - card fingerprints and IP addresses become `***`.
//!
//! `name` is a person's name only where the object around it is a person's (it has an
//! email or phone, or sits under `billing_details`, `shipping`, `customer_details`, ...):
//! a product's or a coupon's name is not personal data and is kept.

use serde_json::{Map, Value};

/// What a masked value becomes when nothing of it is kept.
pub const MASK: &str = "***";

/// Keys whose value is an email address.
const EMAIL_KEYS: &[&str] = &["email", "receipt_email", "customer_email", "billing_email"];
/// Keys whose value is a phone number.
const PHONE_KEYS: &[&str] = &["phone", "customer_phone"];
/// Keys whose value is a person's name wherever they are.
const PERSON_NAME_KEYS: &[&str] = &["customer_name", "cardholder_name", "shipping_name"];
/// Keys whose value is wholly personal and keeps nothing.
const OPAQUE_KEYS: &[&str] = &[
    "fingerprint",
    "ip",
    "ip_address",
    "client_ip",
    "line1",
    "line2",
    "postal_code",
    "city",
    "state",
    "town",
    "address_line1",
    "address_line2",
    "address_city",
    "address_state",
    "address_zip",
    "tax_id",
];
/// Parents under which `name` is a person's name.
const PERSON_PARENTS: &[&str] = &[
    "billing_details",
    "shipping",
    "customer_details",
    "customer",
    "owner",
    "individual",
    "cardholder",
    "recipient",
    "verified_name",
];

/// Masks an email address: `jane@example.com` is `j***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let first: String = local.chars().take(1).collect();
            format!("{first}{MASK}@{domain}")
        }
        _ => MASK.into(),
    }
}

/// Masks a name: `Jane Doe` is `J*** D***`.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .map(|w| {
            let first: String = w.chars().take(1).collect();
            format!("{first}{MASK}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Masks a phone number, keeping its last two digits: `+1 555 0100` is `***00`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("{MASK}{tail}")
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-')
}

/// Masks every email address inside free text (a description, an error message).
pub fn mask_emails_in(text: &str) -> Option<String> {
    if !text.contains('@') {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut changed = false;
    while i < chars.len() {
        if chars[i] == '@' {
            let mut start = out.len();
            let mut local_len = 0;
            for c in out.chars().rev() {
                if !is_local_char(c) {
                    break;
                }
                start -= c.len_utf8();
                local_len += 1;
            }
            let mut end = i + 1;
            while end < chars.len() && is_domain_char(chars[end]) {
                end += 1;
            }
            let domain: String = chars[i + 1..end].iter().collect();
            let domain = domain.trim_end_matches('.');
            if local_len > 0 && domain.contains('.') {
                let local = out[start..].to_owned();
                out.truncate(start);
                out.push_str(&mask_email(&format!("{local}@{domain}")));
                i += 1 + domain.chars().count();
                changed = true;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    changed.then_some(out)
}

/// Masks personal data in a JSON value, in place.
pub fn mask_json(value: &mut Value) {
    walk(value, None);
}

fn is_person(map: &Map<String, Value>, parent: Option<&str>) -> bool {
    parent.is_some_and(|p| PERSON_PARENTS.contains(&p))
        || map.get("object").and_then(Value::as_str) == Some("customer")
        || map
            .keys()
            .any(|k| EMAIL_KEYS.contains(&k.as_str()) || k == "phone")
}

fn walk(value: &mut Value, parent: Option<&str>) {
    match value {
        Value::String(s) => {
            if let Some(m) = mask_emails_in(s) {
                *s = m;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, parent)),
        Value::Object(map) => {
            let person = is_person(map, parent);
            for (k, v) in map.iter_mut() {
                let key = k.as_str();
                if let Value::String(s) = v {
                    let masked = if EMAIL_KEYS.contains(&key) {
                        Some(mask_email(s))
                    } else if PHONE_KEYS.contains(&key) {
                        Some(mask_phone(s))
                    } else if PERSON_NAME_KEYS.contains(&key) || (key == "name" && person) {
                        Some(mask_name(s))
                    } else if OPAQUE_KEYS.contains(&key) {
                        Some(MASK.to_owned())
                    } else {
                        None
                    };
                    if let Some(m) = masked {
                        *s = m;
                        continue;
                    }
                }
                walk(v, Some(key));
            }
        }
        _ => {}
    }
}

/// Masks a tool's text output: JSON is masked by field and re-serialised; other text
/// has its email addresses masked.
pub fn mask_text(text: &str) -> Option<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v @ (Value::Object(_) | Value::Array(_))) => {
            let before = v.clone();
            mask_json(&mut v);
            (v != before).then(|| v.to_string())
        }
        _ => mask_emails_in(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails_names_and_phones_keep_only_a_hint() {
        assert_eq!(mask_email("jane@example.com"), "j***@example.com");
        assert_eq!(mask_email("nobody"), "***");
        assert_eq!(mask_name("Jane  van Doe"), "J*** v*** D***");
        assert_eq!(mask_phone("+1 (555) 010-0167"), "***67");
    }

    #[test]
    fn emails_inside_text_are_masked() {
        assert_eq!(
            mask_emails_in("Refund for jane.doe+shop@mail.example.com, ok.").as_deref(),
            Some("Refund for j***@mail.example.com, ok.")
        );
        assert_eq!(mask_emails_in("no email @ here"), None);
        assert_eq!(mask_emails_in("price@2x"), None);
    }

    #[test]
    fn a_customer_is_masked_and_a_product_name_is_kept() {
        let mut v = json!({
            "customers": [{"id": "cus_1", "email": "jane@example.com", "name": "Jane Doe",
                           "phone": "+15550100167", "description": "VIP, writes from j@x.example"}],
            "product": {"id": "prod_1", "name": "T-shirt"},
            "charge": {"billing_details": {"name": "Jane Doe", "email": null,
                        "address": {"line1": "1 Main St", "postal_code": "94107", "city": "SF", "country": "US"}},
                       "payment_method_details": {"card": {"fingerprint": "Xt5EWLLDS7FJjR1c", "last4": "4242"}}},
            "customer_details": {"name": "Jane Doe"},
            "shipping": {"name": "J D", "phone": "555"},
            "acceptance": {"ip_address": "203.0.113.7"}
        });
        mask_json(&mut v);
        let c = &v["customers"][0];
        assert_eq!(c["email"], "j***@example.com");
        assert_eq!(c["name"], "J*** D***");
        assert_eq!(c["phone"], "***67");
        assert_eq!(c["description"], "VIP, writes from j***@x.example");
        assert_eq!(c["id"], "cus_1");
        assert_eq!(v["product"]["name"], "T-shirt");
        let b = &v["charge"]["billing_details"];
        assert_eq!(b["name"], "J*** D***");
        assert_eq!(b["address"]["line1"], "***");
        assert_eq!(b["address"]["postal_code"], "***");
        assert_eq!(b["address"]["city"], "***");
        assert_eq!(b["address"]["country"], "US");
        let card = &v["charge"]["payment_method_details"]["card"];
        assert_eq!(card["fingerprint"], "***");
        assert_eq!(card["last4"], "4242");
        assert_eq!(v["customer_details"]["name"], "J*** D***");
        assert_eq!(v["shipping"]["phone"], "***55");
        assert_eq!(v["acceptance"]["ip_address"], "***");
    }

    #[test]
    fn text_output_is_masked_as_json_or_as_text() {
        let t = mask_text(r#"{"email":"jane@example.com","n":1}"#).unwrap();
        assert!(t.contains("j***@example.com") && !t.contains("jane"), "{t}");
        assert_eq!(mask_text(r#"{"n":1}"#), None);
        assert_eq!(
            mask_text("mail jane@example.com").as_deref(),
            Some("mail j***@example.com")
        );
    }
}
