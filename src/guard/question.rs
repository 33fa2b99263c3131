//! The question a person is asked before a write: the server's words only. Amounts,
//! currencies, the connected account and the request line come from the planned
//! request and the facts looked up for it ([`super::effects::Decision`]); any text that
//! came from Stripe or from the agent is quoted, stripped of control characters and
//! newlines, and bounded. The fields that say how much and to whom (amounts, currency,
//! quantity, recipient ids) are listed first and never cut.

use serde_json::{Map, Value};

use super::effects::{Decision, Kind};
use crate::stripe::{currency, planned::Planned};

/// How long a quoted text may be.
pub const QUOTE_MAX: usize = 60;
/// How long a key value (an amount, a quantity, an id) may be: Stripe's longest id.
pub const KEY_VALUE_MAX: usize = 255;
/// How many characters of ordinary parameters are listed before the rest are counted.
pub const OTHERS_MAX: usize = 400;

/// Text from outside (Stripe, the agent), made safe to show: control and format
/// characters (newlines, escapes, bidi overrides) become spaces, runs of spaces one,
/// double quotes single, and at most `max` characters, marked when cut.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut space = false;
    let mut count = 0;
    for c in text.chars() {
        let c = if c.is_control() || is_format(c) {
            ' '
        } else {
            c
        };
        let c = if c == '"' { '\'' } else { c };
        if c == ' ' {
            if space {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if count == max {
            out.push('…');
            return out.trim().to_owned();
        }
        out.push(c);
        count += 1;
    }
    out.trim().to_owned()
}

/// Unicode format characters that reorder or hide text (bidi overrides, zero-width).
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

/// Quoted outside text.
pub fn quote(text: &str) -> String {
    format!("\"{}\"", clean(text, QUOTE_MAX))
}

/// True for a parameter that says how much, how many, or to whom: never cut, listed first.
fn is_key_param(last: &str) -> bool {
    last == "amount"
        || last.ends_with("_amount")
        || last.starts_with("amount_")
        || matches!(
            last,
            "currency"
                | "quantity"
                | "destination"
                | "customer"
                | "account"
                | "on_behalf_of"
                | "price"
                | "payment_intent"
                | "charge"
                | "invoice"
                | "confirm"
                | "auto_advance"
                | "cancel_at_period_end"
                | "cancel_at"
                | "submit"
                | "method"
                | "transfer_group"
                | "unit_amount"
                | "percent_off"
        )
}

/// Flattens params into Stripe's form names (`line_items[0][quantity]`), in order.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String, String)>) {
    if let Value::Object(m) = v {
        for (k, v) in m {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}[{k}]")
            };
            flatten_named(&name, k, v, out);
        }
    }
}

fn flatten_named(name: &str, last: &str, v: &Value, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Object(_) => flatten(name, v, out),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten_named(&format!("{name}[{i}]"), last, item, out);
            }
        }
        Value::String(s) => out.push((clean(name, 120), last.to_owned(), s.clone())),
        other => out.push((clean(name, 120), last.to_owned(), other.to_string())),
    }
}

/// The params, for the question: amounts, currencies, quantities and recipients first
/// and whole; other values quoted, cut at [`QUOTE_MAX`], and counted past [`OTHERS_MAX`].
pub fn params_line(params: &Map<String, Value>) -> String {
    let mut all = Vec::new();
    flatten("", &Value::Object(params.clone()), &mut all);
    let (keys, others): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|(_, last, _)| is_key_param(last));
    let mut parts: Vec<String> = keys
        .into_iter()
        .map(|(name, _, v)| format!("{name}={}", clean(&v, KEY_VALUE_MAX)))
        .collect();
    let mut used = 0;
    let mut left = 0;
    for (name, _, v) in others {
        let part = format!("{name}={}", quote(&v));
        if used + part.len() > OTHERS_MAX {
            left += 1;
            continue;
        }
        used += part.len();
        parts.push(part);
    }
    if left > 0 {
        parts.push(format!("and {left} more parameter(s) not shown"));
    }
    parts.join(", ")
}

fn money(amount: i64, cur: Option<&str>) -> String {
    match cur {
        Some(c) => currency::display(amount, c),
        None => format!("{amount} (smallest currency unit, currency not known)"),
    }
}

/// The question for a planned request, as decided.
pub fn ask(planned: &Planned, d: &Decision) -> String {
    let amount = d.amount.map(|a| money(a, d.currency.as_deref()));
    let object = d
        .object_id
        .as_deref()
        .map(|o| format!(" {}{}", noun(o), clean(o, KEY_VALUE_MAX)))
        .unwrap_or_default();
    let head = match d.kind {
        Kind::Refund => format!(
            "Refund {} of{object}",
            amount.unwrap_or_else(|| "an amount not known beforehand".into())
        ),
        Kind::Take => format!(
            "Take a payment of {} through {}{}",
            amount.unwrap_or_else(|| "an amount not known beforehand".into()),
            what_takes(planned),
            d.object_id
                .as_deref()
                .map(|o| format!(" ({}{})", noun(o), clean(o, KEY_VALUE_MAX)))
                .unwrap_or_default()
        ),
        Kind::Payout => format!(
            "Send {} out of the Stripe balance{}",
            amount.unwrap_or_else(|| "an amount not known beforehand".into()),
            d.object_id
                .as_deref()
                .map(|o| format!(" to {}", clean(o, KEY_VALUE_MAX)))
                .unwrap_or_default()
        ),
        Kind::Cancel => format!("Cancel{object}: this stops it for good"),
        Kind::Irreversible => format!("Make a change that cannot be undone{object}"),
        Kind::Ordinary => format!("Write{object}"),
        Kind::Unknown => "Send a write this server does not know the effect of".to_owned(),
    };
    let mut facts = Vec::new();
    if let Some(who) = &d.who {
        facts.push(format!("payer {}", quote(who)));
    }
    facts.extend(d.facts.iter().cloned());
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    };
    let account = match &planned.account {
        Some(a) => format!(" On connected account {}.", clean(a, KEY_VALUE_MAX)),
        None => " On this server's own Stripe account.".to_owned(),
    };
    let params = params_line(&planned.params);
    let params = if params.is_empty() {
        String::new()
    } else {
        format!(" with {params}")
    };
    format!(
        "{head}{facts}.{account} Request: {} {}{params}.",
        planned.method.as_str(),
        clean(&planned.path, 512)
    )
}

/// What an id names, from its prefix ("charge ", "invoice ", ...), or nothing.
fn noun(id: &str) -> &'static str {
    let prefix = id.split('_').next().unwrap_or_default();
    match prefix {
        "ch" | "py" => "charge ",
        "pi" => "payment intent ",
        "in" => "invoice ",
        "sub" => "subscription ",
        "cs" => "checkout session ",
        "cus" => "customer ",
        "acct" => "account ",
        "po" => "payout ",
        "tr" => "transfer ",
        "fee" => "application fee ",
        "dp" | "du" => "dispute ",
        "cn" => "credit note ",
        "plink" => "payment link ",
        "seti" => "setup intent ",
        "qt" => "quote ",
        _ => "",
    }
}

/// What a take is, from its path.
fn what_takes(planned: &Planned) -> &'static str {
    let p = planned.path.as_str();
    if p.starts_with("/v1/invoices") || p.starts_with("/v1/invoiceitems") {
        "an invoice Stripe charges"
    } else if p.starts_with("/v1/checkout") {
        "a checkout session"
    } else if p.starts_with("/v1/payment_links") {
        "a payment link"
    } else if p.contains("subscription") || p.starts_with("/v1/quotes") {
        "a subscription"
    } else if p.starts_with("/v1/payment_intents") {
        "a payment intent"
    } else if p.starts_with("/v1/charges") {
        "a charge"
    } else {
        "a Stripe request"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outside_text_cannot_add_a_line_or_hide_an_amount() {
        assert_eq!(
            clean("Jane\nRefund $1.00 (safe)\r\u{202E}x", 60),
            "Jane Refund $1.00 (safe) x"
        );
        assert!(clean(&"a".repeat(500), 60).chars().count() <= 61);
        let long = "x".repeat(200);
        let line = params_line(
            json!({"description": long, "line_items": [{"price": "price_1", "quantity": 100000}], "metadata": {"note": "a\nb"}})
                .as_object()
                .unwrap(),
        );
        assert!(
            line.starts_with("line_items[0][price]=price_1, line_items[0][quantity]=100000"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("metadata[note]=\"a b\""), "{line}");
    }
}
