//! Times as RFC 3339 beside the Unix seconds Stripe gives: every output field that
//! holds a time (`created`, `due_date`, ...) gets a `<field>_utc` twin such as
//! `"2026-12-06T17:40:00Z"`, so an agent reads a date without converting it.
//!
//! UTC, because the account's time zone is not known without another request; the
//! summaries, which take a `time_zone`, give their own times in it.

use serde_json::Value;

/// The fields of the tools' outputs that hold Unix seconds.
pub const TIME_FIELDS: &[&str] = &[
    "created",
    "expires_at",
    "due_date",
    "arrival_date",
    "available_on",
    "current_period_start",
    "current_period_end",
    "evidence_due_by",
    "redeem_by",
    "canceled_at",
    "cancel_at",
    "ended_at",
    "trial_start",
    "trial_end",
    "start_date",
    "period_start",
    "period_end",
];

/// The twins' names, in the order of [`TIME_FIELDS`]: `<field>_utc`.
const TWINS: &[&str] = &[
    "created_utc",
    "expires_at_utc",
    "due_date_utc",
    "arrival_date_utc",
    "available_on_utc",
    "current_period_start_utc",
    "current_period_end_utc",
    "evidence_due_by_utc",
    "redeem_by_utc",
    "canceled_at_utc",
    "cancel_at_utc",
    "ended_at_utc",
    "trial_start_utc",
    "trial_end_utc",
    "start_date_utc",
    "period_start_utc",
    "period_end_utc",
];

/// The twin's name of a time field.
fn twin(field: &str) -> String {
    format!("{field}_utc")
}

/// The twin's name when `key` is a time field.
fn twin_of(key: &str) -> Option<&'static str> {
    TIME_FIELDS.iter().position(|f| *f == key).map(|i| TWINS[i])
}

/// `secs` as RFC 3339 in UTC, or `None` outside the representable range.
pub fn rfc3339(secs: i64) -> Option<String> {
    let t = jiff::Timestamp::from_second(secs).ok()?;
    let d = jiff::tz::Offset::UTC.to_datetime(t);
    let year = d.year();
    if !(0..=9999).contains(&year) {
        return Some(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    // Written by hand: this runs for every time field of every answer, and the
    // formatting machinery costs more than the date itself.
    let mut out = [0u8; 20];
    let mut put = |at: usize, n: i32, width: usize| {
        let mut n = n;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, i32::from(year), 4);
    put(5, i32::from(d.month()), 2);
    put(8, i32::from(d.day()), 2);
    put(11, i32::from(d.hour()), 2);
    put(14, i32::from(d.minute()), 2);
    put(17, i32::from(d.second()), 2);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        out[at] = c;
    }
    String::from_utf8(out.to_vec()).ok()
}

/// Adds the `<field>_utc` twin beside every integer time field, at any depth.
/// Returns true when anything was added.
pub fn add_twins(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            // The map's own keys are looked up in the short list of time fields, not
            // each time field in the map: most objects hold few keys and few times.
            let mut twins: Vec<(&'static str, String)> = Vec::new();
            for (key, v) in map.iter() {
                if let Some(name) = twin_of(key)
                    && let Some(secs) = v.as_i64()
                    && !map.contains_key(name)
                    && let Some(time) = rfc3339(secs)
                {
                    twins.push((name, time));
                }
            }
            let mut added = !twins.is_empty();
            for (name, time) in twins {
                map.insert(name.to_owned(), Value::String(time));
            }
            for (key, v) in map.iter_mut() {
                // Metadata is the caller's own text: never rewritten.
                if key != "metadata" && (v.is_object() || v.is_array()) {
                    added |= add_twins(v);
                }
            }
            added
        }
        Value::Array(items) => items.iter_mut().fold(false, |a, v| add_twins(v) | a),
        _ => false,
    }
}

/// Declares the twins in an output schema: beside every time field that is an
/// integer, a `<field>_utc` string (nullable when the field is).
pub fn add_schema_twins(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                let twins: Vec<(String, Value)> = TIME_FIELDS
                    .iter()
                    .filter_map(|f| {
                        let ty = props.get(*f)?.get("type")?;
                        let (integer, nullable) = match ty {
                            Value::String(t) => (t == "integer", false),
                            Value::Array(ts) => (
                                ts.iter().any(|t| t == "integer"),
                                ts.iter().any(|t| t == "null"),
                            ),
                            _ => (false, false),
                        };
                        integer.then(|| {
                            let ty = if nullable {
                                serde_json::json!(["string", "null"])
                            } else {
                                serde_json::json!("string")
                            };
                            (twin(f), serde_json::json!({ "type": ty }))
                        })
                    })
                    .collect();
                for (name, s) in twins {
                    props.entry(name).or_insert(s);
                }
            }
            for v in map.values_mut() {
                add_schema_twins(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_schema_twins),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_time_field_at_any_depth_gets_its_utc_twin_and_nothing_else_changes() {
        let mut v = json!({"charges": [{"id": "ch_1", "created": 1_765_042_800, "amount": 500,
            "metadata": {"created": 5}}], "due_date": null, "expires_at": 0});
        assert!(add_twins(&mut v));
        assert_eq!(v["charges"][0]["created_utc"], "2025-12-06T17:40:00Z");
        assert_eq!(v["expires_at_utc"], "1970-01-01T00:00:00Z");
        assert!(v.get("due_date_utc").is_none());
        assert!(v["charges"][0].get("amount_utc").is_none());
        assert!(v["charges"][0]["metadata"].get("created_utc").is_none());
    }

    #[test]
    fn twin_names_follow_the_time_fields_and_times_match_the_rfc3339_format() {
        assert_eq!(TIME_FIELDS.len(), TWINS.len());
        for (f, t) in TIME_FIELDS.iter().zip(TWINS) {
            assert_eq!(twin(f), *t);
        }
        for secs in [
            0,
            1,
            59,
            951_782_400, // 2000-02-29
            1_765_042_800,
            4_102_444_799,   // 2099-12-31T23:59:59
            253_402_000_000, // 9999-12-27
            -1,
            -62_135_596_800, // 0001-01-01
        ] {
            let want = jiff::Timestamp::from_second(secs)
                .unwrap()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(rfc3339(secs).as_deref(), Some(want.as_str()), "{secs}");
        }
        assert_eq!(rfc3339(i64::MAX), None);
    }

    #[test]
    fn the_schema_declares_a_twin_beside_each_integer_time_field() {
        let mut s = json!({"type": "object", "properties": {"created": {"type": "integer"},
            "due_date": {"type": ["integer", "null"]}, "id": {"type": "string"}},
            "$defs": {"X": {"properties": {"arrival_date": {"type": "integer"}}}}});
        add_schema_twins(&mut s);
        assert_eq!(s["properties"]["created_utc"], json!({"type": "string"}));
        assert_eq!(
            s["properties"]["due_date_utc"],
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            s["$defs"]["X"]["properties"]["arrival_date_utc"],
            json!({"type": "string"})
        );
        assert!(s["properties"].get("id_utc").is_none());
    }
}
