//! Currencies: validation of ISO codes and display of minor-unit amounts.
//!
//! Stripe amounts are integers in the currency's minor unit: cents for `usd`,
//! whole yen for the zero-decimal `jpy`, thousandths for three-decimal `kwd`.

/// The currencies Stripe settles or presents (lowercase ISO 4217).
const SUPPORTED: &[&str] = &[
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bgn", "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf",
    "chf", "clp", "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb",
    "eur", "fjd", "fkp", "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg",
    "huf", "idr", "ils", "inr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw",
    "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk",
    "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr",
    "nzd", "omr", "pab", "pen", "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub",
    "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sos", "srd", "std", "szl", "thb",
    "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd", "uyu", "uzs", "vnd",
    "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
];

/// Currencies whose amounts have no minor unit (Stripe's list).
const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies with three decimal places.
const THREE_DECIMAL: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// Words a model might send instead of a code, and the code meant.
const WORDS: &[(&str, &str)] = &[
    ("dollar", "usd"),
    ("dollars", "usd"),
    ("$", "usd"),
    ("euro", "eur"),
    ("euros", "eur"),
    ("€", "eur"),
    ("pound", "gbp"),
    ("pounds", "gbp"),
    ("£", "gbp"),
    ("yen", "jpy"),
    ("¥", "jpy"),
];

/// Checks a currency argument and returns Stripe's lowercase code.
///
/// Upper case is accepted (`USD` becomes `usd`); anything else that is not
/// exactly a supported three-letter code is refused with what to send instead.
pub fn parse_currency(raw: &str) -> Result<String, String> {
    if raw.trim() != raw {
        return Err(format!(
            "currency {raw:?} has spaces around it: send the three-letter ISO code alone, like \"usd\""
        ));
    }
    let lower = raw.to_lowercase();
    if let Some((_, code)) = WORDS.iter().find(|(w, _)| *w == lower) {
        return Err(format!(
            "currency {raw:?} is not an ISO 4217 code: send \"{code}\""
        ));
    }
    if lower.len() != 3 || !lower.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(format!(
            "currency {raw:?} is not a three-letter ISO 4217 code: send a lowercase code like \"usd\", \"eur\" or \"jpy\""
        ));
    }
    if !SUPPORTED.contains(&lower.as_str()) {
        return Err(format!(
            "currency {raw:?} is not one Stripe supports: send a lowercase ISO 4217 code like \"usd\", \"eur\" or \"jpy\""
        ));
    }
    Ok(lower)
}

/// Number of decimal places of the currency's minor unit (0, 2 or 3).
pub fn decimals(currency: &str) -> u32 {
    let c = currency.to_ascii_lowercase();
    if ZERO_DECIMAL.contains(&c.as_str()) {
        0
    } else if THREE_DECIMAL.contains(&c.as_str()) {
        3
    } else {
        2
    }
}

/// What one major unit is called in a hint ("cents" or "the whole amount").
pub fn minor_unit_example(currency: &str) -> String {
    match decimals(currency) {
        0 => {
            format!("{currency} is zero-decimal: send the whole amount (500 means 500 {currency})")
        }
        3 => format!("{currency} has three decimals: 1500 means 1.500 {currency}"),
        _ => format!("{currency} amounts are in cents: 4999 means 49.99 {currency}"),
    }
}

/// Formats a minor-unit amount for people: `4999 usd` is `$49.99`, `500 jpy` is `¥500`,
/// `1500 kwd` is `1.500 KWD`.
pub fn display(amount: i64, currency: &str) -> String {
    let c = currency.to_ascii_lowercase();
    let places = decimals(&c);
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    let scale = 10u64.pow(places);
    let whole = group_thousands(abs / scale);
    let number = if places == 0 {
        whole
    } else {
        format!("{whole}.{:0width$}", abs % scale, width = places as usize)
    };
    let symbol = match c.as_str() {
        "usd" => Some("$"),
        "eur" => Some("€"),
        "gbp" => Some("£"),
        "jpy" => Some("¥"),
        "inr" => Some("₹"),
        "krw" => Some("₩"),
        _ => None,
    };
    match symbol {
        Some(s) => format!("{sign}{s}{number}"),
        None => format!("{sign}{number} {}", c.to_uppercase()),
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_accepted_and_lowercased() {
        assert_eq!(parse_currency("usd").unwrap(), "usd");
        assert_eq!(parse_currency("USD").unwrap(), "usd");
        assert_eq!(parse_currency("jpy").unwrap(), "jpy");
    }

    #[test]
    fn near_misses_are_refused_with_what_to_send() {
        assert!(parse_currency("usd ").unwrap_err().contains("spaces"));
        assert!(parse_currency("dollars").unwrap_err().contains("\"usd\""));
        assert!(parse_currency("us").unwrap_err().contains("three-letter"));
        assert!(
            parse_currency("xyz")
                .unwrap_err()
                .contains("not one Stripe supports")
        );
        assert!(parse_currency("").is_err());
        assert!(parse_currency("ü$d").is_err());
    }

    #[test]
    fn amounts_display_with_the_currency_decimals() {
        assert_eq!(display(4999, "usd"), "$49.99");
        assert_eq!(display(500, "jpy"), "¥500");
        assert_eq!(display(1500, "kwd"), "1.500 KWD");
        assert_eq!(display(5, "eur"), "€0.05");
        assert_eq!(display(-250, "gbp"), "-£2.50");
        assert_eq!(display(123456789, "usd"), "$1,234,567.89");
        assert_eq!(display(1000, "chf"), "10.00 CHF");
        assert_eq!(display(0, "usd"), "$0.00");
        assert_eq!(display(i64::MIN, "usd"), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn zero_and_three_decimal_currencies_are_known() {
        assert_eq!(decimals("jpy"), 0);
        assert_eq!(decimals("KRW"), 0);
        assert_eq!(decimals("bhd"), 3);
        assert_eq!(decimals("usd"), 2);
    }
}
