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

/// The twin's name of a time field.
fn twin(field: &str) -> String {
    format!("{field}_utc")
}

/// `secs` as RFC 3339 in UTC, or `None` outside the representable range.
pub fn rfc3339(secs: i64) -> Option<String> {
    jiff::Timestamp::from_second(secs)
        .ok()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Adds the `<field>_utc` twin beside every integer time field, at any depth.
/// Returns true when anything was added.
pub fn add_twins(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut added = false;
            let twins: Vec<(String, String)> = TIME_FIELDS
                .iter()
                .filter_map(|f| {
                    let secs = map.get(*f)?.as_i64()?;
                    let name = twin(f);
                    (!map.contains_key(&name)).then(|| Some((name, rfc3339(secs)?)))?
                })
                .collect();
            for (name, time) in twins {
                map.insert(name, Value::String(time));
                added = true;
            }
            for (key, v) in map.iter_mut() {
                // Metadata is the caller's own text: never rewritten.
                if key != "metadata" {
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
