//! `--redact`: personal data masked in everything that leaves the process (never in
//! requests to Stripe), in two passes over a JSON value.
//!
//! The first pass masks by field:
//! - emails keep their first letter and domain: `j***@example.com`;
//! - a person's name keeps each word's first letter: `J*** D***` (`customer_name`,
//!   `cardholder_name`, `account_holder_name`, `first_name`, `last_name`, ..., and `name`
//!   where the object around it is a person's: a customer, a card or bank account, a
//!   legacy source, or anything under `billing_details`, `shipping`, `shipping_details`,
//!   `customer_details`, `owner`, `individual`, ...; a product's or a coupon's name is kept);
//! - phones keep their last two digits: `***67` (`phone`, `*_phone`, `*_phone_number`);
//! - address lines, postal codes, cities and states, address strings (dispute evidence's
//!   `billing_address`), IP addresses (`ip`, `*_ip`, `*ip_address`), card fingerprints,
//!   tax ids (`tax_ids[].value`), dates of birth (`dob`) and national id numbers become
//!   `***` (the country stays);
//! - inside `metadata`, a value whose key says what it is (`...name...`, `...phone...`,
//!   `...email...`, `...address...`, `dob`, `birth`) is masked as that.
//!
//! The second pass masks inside every string (descriptions, memos, metadata, error
//! messages): email addresses, phone numbers written as phone numbers (a leading `+`,
//! or digits grouped by spaces, dashes, dots or brackets: 7 to 15 digits; dates and
//! decimals are left alone), IPv4 addresses, and any value the first pass masked in the
//! same answer (so "Call Jane Doe" in a description is masked when the answer names
//! Jane Doe anywhere in a personal field). Error text also has its quoted values masked
//! as names ('Jane Doe' becomes 'J*** D***'), except ids, parameter names and numbers.
//!
//! What it cannot see: a name that appears only inside free text and nowhere in a
//! personal field of the same answer, and a phone number written as one unbroken run
//! of digits without a `+`.

use serde_json::{Map, Value};

/// What a masked value becomes when nothing of it is kept.
pub const MASK: &str = "***";

/// Keys whose value is an email address.
const EMAIL_KEYS: &[&str] = &["email", "receipt_email", "customer_email", "billing_email"];
/// Keys whose value is a phone number.
const PHONE_KEYS: &[&str] = &["phone", "customer_phone"];
/// Keys whose value is a person's name wherever they are.
const PERSON_NAME_KEYS: &[&str] = &[
    "customer_name",
    "cardholder_name",
    "shipping_name",
    "billing_name",
    "account_holder_name",
    "payer_name",
    "first_name",
    "last_name",
    "maiden_name",
    "full_name",
    "first_name_kana",
    "first_name_kanji",
    "last_name_kana",
    "last_name_kanji",
    "full_name_aliases",
    "verified_name",
    "verified_first_name",
    "verified_last_name",
];
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
    "dob",
    "date_of_birth",
    "id_number",
    "personal_id_number",
    "ssn_last_4",
];
/// Parents under which `name` is a person's name.
const PERSON_PARENTS: &[&str] = &[
    "billing_details",
    "shipping",
    "shipping_details",
    "customer_details",
    "customer",
    "owner",
    "individual",
    "representative",
    "cardholder",
    "recipient",
    "verified_name",
    "verified_outputs",
    "source",
    "default_source",
    "bank_account",
    "card",
];
/// Object types whose `name` is a person's.
const PERSON_OBJECTS: &[&str] = &[
    "customer",
    "card",
    "bank_account",
    "source",
    "person",
    "issuing.cardholder",
];
/// Parents whose elements' `value` is a tax id.
const TAX_ID_PARENTS: &[&str] = &["tax_ids", "customer_tax_ids"];

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

/// What one run of digits and separators inside text is.
fn classify_number(run: &str) -> Option<String> {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    let groups: Vec<&str> = run
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    let separators: String = run
        .chars()
        .filter(|c| !c.is_ascii_digit() && *c != ' ')
        .collect();
    // An IPv4 address.
    if groups.len() == 4
        && run.chars().all(|c| c.is_ascii_digit() || c == '.')
        && groups.iter().all(|g| g.len() <= 3)
    {
        return Some(MASK.to_owned());
    }
    if !(7..=15).contains(&digits) {
        return None;
    }
    let plus = run.starts_with('+');
    let grouped = groups.len() > 1;
    if !plus && !grouped {
        // One unbroken run of digits: an order number or a timestamp as often as a phone.
        return None;
    }
    if !plus {
        // A date (2026-12-06, 06.12.2026, 12/06/2026) or a decimal number (1234567.89).
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let date = groups.len() == 3
            && (lens == [4, 2, 2] || (lens[0] <= 2 && lens[1] <= 2 && lens[2] == 4));
        let decimal = separators == "." && groups.len() == 2;
        if date || decimal {
            return None;
        }
    }
    Some(mask_phone(run))
}

/// Masks phone numbers and IPv4 addresses inside free text.
pub fn mask_phones_in(text: &str) -> Option<String> {
    if text.bytes().filter(u8::is_ascii_digit).count() < 4 {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_ok = i == 0 || {
            let p = chars[i - 1];
            !(p.is_alphanumeric() || matches!(p, '_' | '/' | '.' | '-' | '=' | '@' | '+' | '*'))
        };
        if prev_ok && (c.is_ascii_digit() || c == '+' || c == '(') {
            let mut end = i + 1;
            while end < chars.len()
                && (chars[end].is_ascii_digit()
                    || matches!(chars[end], ' ' | '-' | '.' | '(' | ')'))
            {
                end += 1;
            }
            // End on a digit (a closing bracket after digits is kept outside).
            while end > i && !chars[end - 1].is_ascii_digit() {
                end -= 1;
            }
            let next_ok = end >= chars.len()
                || !(chars[end].is_alphanumeric() || matches!(chars[end], '_' | '@'));
            if end > i && next_ok {
                let run: String = chars[i..end].iter().collect();
                if let Some(masked) = classify_number(&run) {
                    out.push_str(&masked);
                    changed = true;
                    i = end;
                    continue;
                }
                // Not a phone: copy the whole run, so a later start inside it cannot match.
                out.push_str(&run);
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    changed.then_some(out)
}

/// True for a quoted value an error may name without it being personal: an id
/// (`cus_123`), a parameter (`billing_details[name]`), a number, a lowercase word.
fn is_technical(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v.contains(MASK)
        || v.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '[' | ']' | '.' | '-')
        })
        || (v.contains('_')
            && !v.contains(' ')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        || v.parse::<f64>().is_ok()
}

/// Masks quoted values inside an error message as names: `'Jane Doe'` is `'J*** D***'`.
pub fn mask_quoted_in(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let q = chars[i];
        let opens = matches!(q, '\'' | '"') && (i == 0 || !chars[i - 1].is_alphanumeric());
        if opens && let Some(len) = chars[i + 1..].iter().take(200).position(|c| *c == q) {
            let close = i + 1 + len;
            let closes = close + 1 >= chars.len() || !chars[close + 1].is_alphanumeric();
            if closes {
                let inner: String = chars[i + 1..close].iter().collect();
                out.push(q);
                if is_technical(&inner) {
                    out.push_str(&inner);
                } else {
                    out.push_str(&mask_name(&inner));
                    changed = true;
                }
                out.push(q);
                i = close + 1;
                continue;
            }
        }
        out.push(q);
        i += 1;
    }
    changed.then_some(out)
}

/// What a field's value is, by its key and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Email,
    Phone,
    Name,
    Opaque,
}

impl Field {
    fn mask(self, s: &str) -> String {
        match self {
            Field::Email if s.contains('@') => mask_email(s),
            Field::Email | Field::Opaque => MASK.to_owned(),
            Field::Phone => mask_phone(s),
            Field::Name => mask_name(s),
        }
    }
}

/// Where a field sits: what the walk knows about the object around it.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    /// The key of the object (or array) this field is in.
    parent: Option<&'a str>,
    /// The object around it is a person's (its `name` is a name).
    person: bool,
    /// Inside `metadata`: keys are the merchant's own.
    metadata: bool,
    /// The object around it is a tax id (its `value` is the number).
    tax_id: bool,
}

fn is_person(map: &Map<String, Value>, parent: Option<&str>) -> bool {
    parent.is_some_and(|p| PERSON_PARENTS.contains(&p))
        || map
            .get("object")
            .and_then(Value::as_str)
            .is_some_and(|o| PERSON_OBJECTS.contains(&o))
        || map
            .keys()
            .any(|k| EMAIL_KEYS.contains(&k.as_str()) || k == "phone")
}

/// The field a key names, if its value is personal.
fn field(key: &str, value: &Value, place: Place<'_>) -> Option<Field> {
    if place.metadata {
        let k = key.to_ascii_lowercase();
        return if k.contains("email") {
            Some(Field::Email)
        } else if k.contains("phone") || k.contains("mobile") || k == "tel" {
            Some(Field::Phone)
        } else if k.contains("address")
            || k.contains("street")
            || k.contains("postal")
            || k.contains("zip")
            || k.contains("birth")
            || k == "dob"
            || k == "ip"
        {
            Some(Field::Opaque)
        } else if k.contains("name") {
            Some(Field::Name)
        } else {
            None
        };
    }
    if EMAIL_KEYS.contains(&key)
        || (key.contains("email") && value.as_str().is_some_and(|s| s.contains('@')))
    {
        Some(Field::Email)
    } else if PHONE_KEYS.contains(&key) || key.ends_with("_phone") || key.ends_with("phone_number")
    {
        Some(Field::Phone)
    } else if PERSON_NAME_KEYS.contains(&key) || (key == "name" && place.person) {
        Some(Field::Name)
    } else if OPAQUE_KEYS.contains(&key)
        || key.ends_with("_ip")
        || key.ends_with("ip_address")
        || (key.ends_with("_address") && value.is_string())
        || (key == "value"
            && (place.tax_id || place.parent.is_some_and(|p| TAX_ID_PARENTS.contains(&p))))
    {
        Some(Field::Opaque)
    } else {
        None
    }
}

/// Values the first pass masked, to be found again inside free text.
#[derive(Debug, Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, original: &str, masked: &str) {
        let original = original.trim();
        // Short values ("Jo", "CA") would match inside ordinary words.
        if original.chars().count() >= 4 && !self.0.iter().any(|(o, _)| o == original) {
            self.0.push((original.to_owned(), masked.to_owned()));
        }
    }
}

/// Masks personal data in a JSON value, in place; true when anything changed.
pub fn mask_json(value: &mut Value) -> bool {
    mask_json_as(value, false)
}

/// [`mask_json`] for an error: quoted values in its text are masked as names too.
pub fn mask_error_json(value: &mut Value) -> bool {
    mask_json_as(value, true)
}

fn mask_json_as(value: &mut Value, error: bool) -> bool {
    let mut seen = Seen::default();
    let place = Place {
        parent: None,
        person: false,
        metadata: false,
        tax_id: false,
    };
    let by_field = fields(value, place, &mut seen);
    // Longest first, so a full name is replaced before a part of it.
    seen.0.sort_by_key(|(o, _)| std::cmp::Reverse(o.len()));
    let in_text = texts(value, &seen, error);
    by_field || in_text
}

/// The first pass: masks by field, remembering what it masked.
fn fields(value: &mut Value, place: Place<'_>, seen: &mut Seen) -> bool {
    match value {
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= fields(v, place, seen);
            }
            changed
        }
        Value::Object(map) => {
            let person = is_person(map, place.parent);
            let tax_id = map.get("object").and_then(Value::as_str) == Some("tax_id");
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                let key = k.as_str();
                let here = Place {
                    parent: place.parent,
                    person,
                    metadata: place.metadata,
                    tax_id,
                };
                if let Some(f) = field(key, v, here) {
                    changed |= mask_field(v, f, seen);
                    continue;
                }
                let below = Place {
                    parent: Some(key),
                    person: false,
                    metadata: key == "metadata",
                    tax_id: false,
                };
                changed |= fields(v, below, seen);
            }
            changed
        }
        _ => false,
    }
}

/// Masks a personal field's value: a string, a list of strings, or (a date of birth,
/// an address) an object, which becomes `***` whole.
fn mask_field(value: &mut Value, field: Field, seen: &mut Seen) -> bool {
    match value {
        Value::String(s) if !s.is_empty() => {
            let masked = field.mask(s);
            seen.add(s, &masked);
            *s = masked;
            true
        }
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= mask_field(v, field, seen);
            }
            changed
        }
        Value::Object(map) if !map.is_empty() && field == Field::Opaque => {
            *value = Value::String(MASK.to_owned());
            true
        }
        Value::Number(_) if field == Field::Opaque => {
            *value = Value::String(MASK.to_owned());
            true
        }
        _ => false,
    }
}

/// Masks personal data inside one string of free text.
pub fn mask_free_text(text: &str) -> Option<String> {
    mask_text_with(text, &Seen::default(), false)
}

fn mask_text_with(text: &str, seen: &Seen, error: bool) -> Option<String> {
    let mut out: Option<String> = None;
    for (original, masked) in &seen.0 {
        let current = out.as_deref().unwrap_or(text);
        if current.contains(original.as_str()) {
            out = Some(current.replace(original.as_str(), masked));
        }
    }
    let steps: [fn(&str) -> Option<String>; 2] = [mask_emails_in, mask_phones_in];
    for step in steps {
        if let Some(m) = step(out.as_deref().unwrap_or(text)) {
            out = Some(m);
        }
    }
    if error && let Some(m) = mask_quoted_in(out.as_deref().unwrap_or(text)) {
        out = Some(m);
    }
    out
}

/// The second pass: masks inside every string.
fn texts(value: &mut Value, seen: &Seen, error: bool) -> bool {
    match value {
        Value::String(s) => match mask_text_with(s, seen, error) {
            Some(m) => {
                *s = m;
                true
            }
            None => false,
        },
        Value::Array(items) => {
            let mut changed = false;
            for v in items {
                changed |= texts(v, seen, error);
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for v in map.values_mut() {
                changed |= texts(v, seen, error);
            }
            changed
        }
        _ => false,
    }
}

/// Masks a text that may be JSON: JSON is masked by field and re-serialised (only when
/// something changed); other text is masked as free text. `error`: quoted values too.
pub fn mask_text(text: &str, error: bool) -> Option<String> {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut v) = serde_json::from_str::<Value>(text)
    {
        return mask_json_as(&mut v, error).then(|| v.to_string());
    }
    mask_text_with(text, &Seen::default(), error)
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
    fn phones_and_ips_inside_text_are_masked_and_dates_ids_and_amounts_are_not() {
        for (text, want) in [
            ("call +1 555 010 0167 now", Some("call ***67 now")),
            ("call (555) 010-0167.", Some("call ***67.")),
            ("tel 030-1234-5678", Some("tel ***78")),
            ("from 203.0.113.7 today", Some("from *** today")),
            ("on 2026-12-06 at 14:05", None),
            ("on 06.12.2026", None),
            ("order 12345678", None),
            ("total 1234567.89", None),
            ("id ch_3Pa1234567 ok", None),
            ("$1,234,567.00", None),
            ("https://example.com/i/555-010-0167", None),
        ] {
            assert_eq!(mask_phones_in(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn quoted_values_in_errors_are_masked_but_ids_and_parameters_are_not() {
        assert_eq!(
            mask_quoted_in(
                "No such customer: 'cus_123'; name 'Jane Doe' for billing_details[name]"
            )
            .as_deref(),
            Some("No such customer: 'cus_123'; name 'J*** D***' for billing_details[name]")
        );
        assert_eq!(mask_quoted_in("the customer's card isn't valid"), None);
        assert_eq!(mask_quoted_in("reason \"duplicate\""), None);
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
        assert!(mask_json(&mut v));
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
    fn legacy_sources_tax_ids_persons_evidence_and_metadata_are_masked() {
        let mut v = json!({
            "source": {"object": "card", "name": "Jane Doe", "address_line1": "1 Main St", "last4": "4242"},
            "sources": {"object": "list", "data": [{"object": "card", "name": "Jane Doe"}]},
            "shipping_details": {"name": "Jane Doe", "address": {"country": "US"}},
            "bank": {"account_holder_name": "Jane Doe", "bank_name": "STRIPE TEST BANK"},
            "customer_details": {"tax_ids": [{"type": "eu_vat", "value": "DE123456789"}]},
            "person": {"object": "person", "first_name": "Jane", "last_name": "Doe",
                       "dob": {"day": 1, "month": 2, "year": 1990}, "full_name_aliases": ["Janey D"]},
            "evidence": {"customer_purchase_ip": "203.0.113.7", "billing_address": "1 Main St, SF",
                         "customer_email_address": "jane@example.com", "customer_name": "Jane Doe",
                         "uncategorized_text": "Jane Doe called from +1 555 010 0167"},
            "metadata": {"contact_name": "Jane Doe", "contact_phone": "5550100167", "order_id": "12345678"},
            "description": "Gift for Jane Doe, call 555-010-0167",
            "product": {"object": "product", "name": "T-shirt"}
        });
        mask_json(&mut v);
        let s = v.to_string();
        for leak in [
            "Jane", "Doe", "1 Main", "DE123", "1990", "203.0", "jane@", "010-0167", "010 0167",
            "0100167",
        ] {
            assert!(!s.contains(leak), "{leak} left: {s}");
        }
        assert_eq!(v["source"]["name"], "J*** D***");
        assert_eq!(v["source"]["last4"], "4242");
        assert_eq!(v["bank"]["bank_name"], "STRIPE TEST BANK");
        assert_eq!(v["person"]["dob"], "***");
        assert_eq!(v["metadata"]["order_id"], "12345678");
        assert_eq!(v["metadata"]["contact_phone"], "***67");
        assert_eq!(v["description"], "Gift for J*** D***, call ***67");
        assert_eq!(v["product"]["name"], "T-shirt");
    }

    #[test]
    fn text_output_is_masked_as_json_or_as_text() {
        let t = mask_text(r#"{"email":"jane@example.com","n":1}"#, false).unwrap();
        assert!(t.contains("j***@example.com") && !t.contains("jane"), "{t}");
        assert_eq!(mask_text(r#"{"n":1}"#, false), None);
        assert_eq!(
            mask_text("mail jane@example.com", false).as_deref(),
            Some("mail j***@example.com")
        );
    }
}
