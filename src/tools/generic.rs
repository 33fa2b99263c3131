//! `stripe_api_read` and `stripe_api_write`: any `/v1/` endpoint, for what the
//! typed tools do not cover.
//!
//! The path is the security boundary: it is appended to the API base as is, so
//! it is checked to stay a plain `/v1/...` path (no host, no `..`, no query, no
//! percent-encoding) and the key is never sent anywhere else.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ToolError, api, idempotency_key};
use crate::{
    stripe::{api_index, planned::Plan},
    tools::StripeMcp,
};

/// The longest path accepted.
pub const PATH_MAX: usize = 512;
/// How deeply params may nest (`a[b][c][d]...`).
pub const PARAMS_MAX_DEPTH: usize = 6;
/// The most values params may hold in all.
pub const PARAMS_MAX_VALUES: usize = 1000;

/// Arguments of `stripe_api_read`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// A /v1/ path without a query, e.g. /v1/coupons/SUMMER25.
    pub path: String,
    /// Query params as JSON, e.g. {"limit": 3, "created": {"gte": 1700000000}}.
    pub params: Option<Map<String, Value>>,
    /// Send a path or params newer than this server's API index (checked otherwise).
    pub allow_unknown_params: Option<bool>,
}

/// The write methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WriteMethod {
    /// Create, update, or act on an object (e.g. /v1/invoices/in_123/void).
    Post,
    /// Delete an object (e.g. /v1/customers/cus_123). Takes no params.
    Delete,
}

/// Arguments of `stripe_api_write`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteArgs {
    /// POST or DELETE.
    pub method: WriteMethod,
    /// The API path, starting with /v1/ and without a query string, e.g. /v1/coupons or /v1/invoices/in_123/void.
    pub path: String,
    /// Form parameters as a JSON object (POST only), sent in Stripe's form style: {"name": "Jane", "metadata": {"order": "42"}, "items": [{"price": "price_1"}]}. Values are strings, integers, booleans, nested objects or arrays; amounts are integers in the smallest currency unit (4999 = $49.99); send "" to unset a field.
    pub params: Option<Map<String, Value>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
    /// Send a path or params newer than this server's API index (checked otherwise); refused while spending limits are set.
    pub allow_unknown_params: Option<bool>,
}

/// What `stripe_api_read` and `stripe_api_write` return.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiOutput {
    /// GET, POST or DELETE.
    pub method: String,
    /// The path that was called.
    pub path: String,
    /// The JSON body Stripe returned, whole. Amounts in it are integers in the currency's smallest unit.
    pub body: Value,
    /// For writes: the key the request was sent with; reuse it to retry safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// Checks an API path: `/v1/` then segments of `[A-Za-z0-9_.-]`, with no empty,
/// `.` or `..` segment. Anything else (a host, a query, `%`, `//`) is refused.
pub fn check_path(raw: &str) -> Result<String, ToolError> {
    let hint = "Send only the path of a Stripe API endpoint, starting with /v1/, e.g. /v1/customers/cus_123; put query parameters in params.";
    let refuse = |why: &str| Err(ToolError::invalid(format!("path {raw:?} {why}")).with_hint(hint));
    if raw.is_empty() {
        return refuse("is empty");
    }
    if raw.len() > PATH_MAX {
        return refuse(&format!("is longer than {PATH_MAX} characters"));
    }
    let Some(rest) = raw.strip_prefix("/v1/") else {
        return refuse("must start with /v1/");
    };
    if let Some(bad) = raw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '-')))
    {
        return refuse(&format!(
            "contains {bad:?}; only letters, digits, _ . - and / are allowed"
        ));
    }
    if raw.contains("..") {
        return refuse("must not contain ..");
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() || rest.split('/').any(|s| s.is_empty() || s == ".") {
        return refuse("must name an endpoint, with no empty or . segments");
    }
    Ok(format!("/v1/{rest}"))
}

/// True for keys holding a minor-unit amount: `amount`, `unit_amount`, `*_amount`, `amount_*`.
fn is_amount_key(key: &str) -> bool {
    key == "amount"
        || key.ends_with("_amount")
        || (key.starts_with("amount_") && !key.ends_with("_decimal"))
}

/// Checks params: an object of strings, numbers, booleans, objects and arrays;
/// no null; integer amounts; keys without brackets.
pub fn check_params(params: &Map<String, Value>) -> Result<(), ToolError> {
    let mut count = 0;
    let currency = params.get("currency").and_then(Value::as_str);
    for (k, v) in params {
        check_value(k, k, v, currency, 1, &mut count)?;
    }
    Ok(())
}

fn check_key(path: &str, key: &str) -> Result<(), ToolError> {
    if key.is_empty() || key.len() > 200 {
        return Err(ToolError::invalid(format!(
            "params key {path:?} must be 1 to 200 characters"
        )));
    }
    if key.contains('[') || key.contains(']') || key.chars().any(char::is_control) {
        return Err(ToolError::invalid(format!(
            "params key {path:?} must not contain brackets or control characters"
        ))
        .with_hint("Nest objects instead of writing brackets: {\"metadata\": {\"order\": \"42\"}}, not {\"metadata[order]\": \"42\"}."));
    }
    Ok(())
}

fn check_value(
    path: &str,
    key: &str,
    v: &Value,
    currency: Option<&str>,
    depth: usize,
    count: &mut usize,
) -> Result<(), ToolError> {
    if depth > PARAMS_MAX_DEPTH {
        return Err(ToolError::invalid(format!(
            "params nest deeper than {PARAMS_MAX_DEPTH} levels at {path}"
        )));
    }
    match v {
        Value::Null => Err(ToolError::invalid(format!(
            "params {path} is null; Stripe's form encoding has no null"
        ))
        .with_hint("Leave the key out, or send \"\" to unset a field.")),
        Value::Number(n) if n.is_f64() && is_amount_key(key) => Err(ToolError::invalid(
            super::fractional_amount(&format!("params {path}"), n, currency),
        )
        .with_hint("Amounts are integers in the currency's smallest unit: 4999 means $49.99, 500 means ¥500, 1500 means 1.500 KWD.")),
        Value::Object(m) => {
            // An amount's currency is usually its sibling: {"amount": .., "currency": ..}.
            let currency = m.get("currency").and_then(Value::as_str).or(currency);
            for (k, v) in m {
                check_key(&format!("{path}[{k}]"), k)?;
                check_value(&format!("{path}[{k}]"), k, v, currency, depth + 1, count)?;
            }
            Ok(())
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                // An array element keeps its parent's key: amounts[0] is an amount too.
                check_value(&format!("{path}[{i}]"), key, v, currency, depth + 1, count)?;
            }
            Ok(())
        }
        _ => {
            *count += 1;
            if *count > PARAMS_MAX_VALUES {
                return Err(ToolError::invalid(format!(
                    "params hold more than {PARAMS_MAX_VALUES} values"
                )));
            }
            Ok(())
        }
    }
}

/// Checks a generic call against Stripe's API index, before the request is built: the
/// path must be an operation's (with this method) and every param one it takes, at any
/// depth the index knows; a refusal names the closest ones. `allow_unknown` lets a path
/// or params newer than the index through (the index lags Stripe); see
/// [`check_unknown_allowed`] for when a write may ask that.
pub fn check_against_index(
    method: &str,
    path: &str,
    params: &Map<String, Value>,
    allow_unknown: bool,
) -> Result<(), ToolError> {
    let op = match api::resolve(method, path) {
        Ok(op) => op,
        Err(_) if allow_unknown => return Ok(()),
        Err(e) => return Err(e),
    };
    match api_index::unknown_param(op, params) {
        Some(u) if !allow_unknown => {
            let mean = if u.did_you_mean.is_empty() {
                String::new()
            } else {
                format!("; did you mean {}?", u.did_you_mean.join(", "))
            };
            Err(ToolError::invalid(format!(
                "{} {} takes no parameter {}{mean}",
                op.method, op.path, u.at
            ))
            .with_hint(format!(
                "stripe_api_details lists what {} {} takes. If Stripe added it after this server's index ({}), call again with allow_unknown_params: true.",
                op.method,
                op.path,
                api_index::index().version
            )))
        }
        _ => Ok(()),
    }
}

/// A write may skip the index's checks (`allow_unknown_params`) only while no spending
/// limit is set (`capped` false): a call the index cannot vouch for could move money in
/// a way the limits do not see.
pub fn check_unknown_allowed(allow_unknown: Option<bool>, capped: bool) -> Result<(), ToolError> {
    if allow_unknown == Some(true) && capped {
        return Err(ToolError::invalid(
            "allow_unknown_params is refused while spending limits are set: a write the API index does not know could move money the limits cannot see; nothing was sent",
        )
        .with_hint("Call without allow_unknown_params, with the params stripe_api_details lists; or have the operator lift the limits."));
    }
    Ok(())
}

/// Validates `stripe_api_read` arguments into the path and params. Nothing is sent.
pub fn build_read(args: ReadArgs) -> Result<(String, Map<String, Value>), ToolError> {
    let path = check_path(&args.path)?;
    let params = args.params.unwrap_or_default();
    for k in params.keys() {
        check_key(k, k)?;
    }
    check_params(&params)?;
    check_against_index(
        "GET",
        &path,
        &params,
        args.allow_unknown_params == Some(true),
    )?;
    Ok((path, params))
}

/// Validates `stripe_api_write` arguments. Nothing is sent.
pub fn build_write(
    args: WriteArgs,
) -> Result<
    (
        WriteMethod,
        String,
        Map<String, Value>,
        crate::stripe::IdempotencyKey,
    ),
    ToolError,
> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let path = check_path(&args.path)?;
    let params = args.params.unwrap_or_default();
    for k in params.keys() {
        check_key(k, k)?;
    }
    check_params(&params)?;
    if args.method == WriteMethod::Delete && !params.is_empty() {
        return Err(ToolError::invalid(
            "DELETE takes no params here; send only the path of the object to delete",
        ));
    }
    let method = match args.method {
        WriteMethod::Post => "POST",
        WriteMethod::Delete => "DELETE",
    };
    check_against_index(
        method,
        &path,
        &params,
        args.allow_unknown_params == Some(true),
    )?;
    Ok((args.method, path, params, key))
}

#[tool_router(router = generic_router, vis = "pub(crate)")]
impl StripeMcp {
    /// GET any /v1/ endpoint the other tools do not cover (e.g. /v1/events) and return Stripe's JSON whole.
    #[tool(annotations(
        title = "Read any Stripe endpoint",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn stripe_api_read(
        &self,
        Parameters(args): Parameters<ReadArgs>,
    ) -> Result<Json<ApiOutput>, ToolError> {
        let (path, params) = build_read(args)?;
        let body: Value = self
            .client
            .get(&path, &params)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(ApiOutput {
            method: "GET".into(),
            path,
            body,
            idempotency_key: None,
        }))
    }

    /// Call any Stripe API write endpoint: POST (create, update, or act, e.g. /v1/invoices/in_123/void) or DELETE a /v1/... path. This can change or delete anything the key may touch, move money, and cannot be undone: use a specific tool when one fits, and confirm the call with the user first. Only offered when named explicitly in --tools (not by --tools=all). Amounts are integers in the smallest currency unit.
    #[tool(annotations(
        title = "Write to any Stripe endpoint",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn stripe_api_write(
        &self,
        Parameters(args): Parameters<WriteArgs>,
    ) -> Result<Json<ApiOutput>, ToolError> {
        check_unknown_allowed(
            args.allow_unknown_params,
            !self.settings.guard.limits.is_empty(),
        )?;
        let (method, path, params, key) = build_write(args)?;
        // The same planned request a typed tool makes: the guard decides on it alike.
        let plan = match method {
            WriteMethod::Post => Plan::<Value>::post(path.clone(), &params, key.clone()),
            WriteMethod::Delete => Ok(Plan::delete(path.clone(), key.clone())),
        };
        let body: Value = self.write(plan, &key).await?;
        Ok(Json(ApiOutput {
            method: match method {
                WriteMethod::Post => "POST",
                WriteMethod::Delete => "DELETE",
            }
            .into(),
            path,
            body,
            idempotency_key: Some(key.as_str().to_owned()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;
    use serde_json::json;

    #[test]
    fn plain_v1_paths_are_accepted() {
        for ok in [
            "/v1/customers",
            "/v1/customers/cus_123",
            "/v1/customers/cus_123/",
            "/v1/invoices/in_1/void",
            "/v1/checkout/sessions/cs_test_a1/line_items",
            "/v1/coupons/SUMMER-25.off",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        assert_eq!(check_path("/v1/customers/").unwrap(), "/v1/customers");
    }

    #[test]
    fn hostile_paths_are_refused() {
        for bad in [
            "",
            "/v1/../admin",
            "/v1/customers/../../x",
            "/v1/..",
            "/v1/.",
            "/v1/./customers",
            "/v1/",
            "/v1",
            "v1/customers",
            "https://evil.example/v1/x",
            "//evil.example/v1/x",
            "//evil",
            "/v1//customers",
            "/v1/customers?x=1",
            "/v1/customers#x",
            "/v1/customers%2F..",
            "/v1/%2e%2e/admin",
            "/v2/x",
            "/V1/customers",
            "/v1/cus tomers",
            "/v1/customers\n",
            "/v1/customers\\..\\x",
            "/v1/customers@evil.example",
            "/v1/custömers",
            &format!("/v1/{}", "a".repeat(600)),
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn params_refuse_null_float_amounts_and_bracket_keys() {
        let p = |v: Value| check_params(v.as_object().unwrap());
        assert!(p(json!({"name": "x", "percent_off": 12.5, "metadata": {"a": "b"}})).is_ok());
        assert!(
            p(json!({"description": null}))
                .unwrap_err()
                .hint
                .unwrap()
                .contains("\"\"")
        );
        let e = p(json!({"amount": 49.99})).unwrap_err();
        assert!(e.message.contains("send 4999"), "{}", e.message);
        assert!(p(json!({"line_items": [{"price_data": {"unit_amount": 10.5}}]})).is_err());
        assert!(p(json!({"amount_off": 5.0})).is_err());
        assert!(p(json!({"application_fee_amount": 1.5})).is_err());
        assert!(p(json!({"unit_amount_decimal": "10.5"})).is_ok());
        assert!(p(json!({"unit_amount_decimal": 10.5})).is_ok());
        assert!(p(json!({"metadata": {"a[b]": "c"}})).is_err());
        assert!(p(json!({"metadata": {"": "c"}})).is_err());
        assert!(p(json!({"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}})).is_err());
        let many: Vec<i64> = (0..1001).collect();
        assert!(p(json!({"x": many})).is_err());
    }

    #[test]
    fn a_fractional_amount_in_the_generic_write_is_fixed_with_its_currencys_exponent() {
        let p = |v: Value| check_params(v.as_object().unwrap()).unwrap_err().message;
        let kwd = p(json!({"amount": 1.5, "currency": "kwd"}));
        assert!(kwd.contains("send 1500"), "{kwd}");
        let jpy = p(json!({"amount": 49.99, "currency": "jpy"}));
        assert!(
            !jpy.contains("4999") && jpy.contains("zero-decimal"),
            "{jpy}"
        );
        let nested =
            p(json!({"line_items": [{"price_data": {"currency": "kwd", "unit_amount": 2.25}}]}));
        assert!(nested.contains("send 2250"), "{nested}");
    }

    #[test]
    fn params_are_encoded_in_stripes_nested_form_style() {
        let params = json!({"limit": 3, "expand": ["data.customer"], "created": {"gte": 1700000000},
                            "active": true, "metadata": {"order id": "4 2"}});
        let q = encode_form(params.as_object().unwrap()).unwrap();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let want: Vec<(String, String)> = [
            ("active", "true"),
            ("created[gte]", "1700000000"),
            ("expand[0]", "data.customer"),
            ("limit", "3"),
            ("metadata[order id]", "4 2"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(pairs, want, "{q}");
    }

    #[test]
    fn delete_takes_no_params_and_methods_are_uppercase() {
        let w = |v| build_write(serde_json::from_value(v).unwrap());
        assert!(w(json!({"method": "DELETE", "path": "/v1/customers/cus_1"})).is_ok());
        assert!(
            w(json!({"method": "DELETE", "path": "/v1/customers/cus_1", "params": {"a": "b"}}))
                .is_err()
        );
        assert!(w(json!({"method": "POST", "path": "/v1/../x"})).is_err());
        assert!(
            serde_json::from_value::<WriteArgs>(json!({"method": "GET", "path": "/v1/x"})).is_err()
        );
        assert!(
            serde_json::from_value::<WriteArgs>(json!({"method": "post", "path": "/v1/x"}))
                .is_err()
        );
    }
}
