//! Tests of the request validator in `tests/common/openapi.rs` against
//! Stripe's real OpenAPI description: it must accept requests Stripe accepts
//! and name the parameter in those it would reject.
//!
//! The spec is read from `STRIPE_OPENAPI_SPEC` (CI points it at
//! `../shared/stripe-openapi/spec3.json`); unset, each test says it skipped.

#[path = "common/openapi.rs"]
#[allow(dead_code)]
mod openapi;

use std::sync::OnceLock;

use openapi::Spec;

/// A checkout session as the tools create one: price_data line item,
/// metadata, an expiry and both URLs.
const CHECKOUT_BODY: &str = "mode=payment\
    &line_items[0][price_data][currency]=usd\
    &line_items[0][price_data][unit_amount]=4999\
    &line_items[0][price_data][product_data][name]=T-shirt\
    &line_items[0][quantity]=2\
    &success_url=https%3A%2F%2Fexample.com%2Fs\
    &cancel_url=https%3A%2F%2Fexample.com%2Fc\
    &metadata[product_id]=p1\
    &expires_at=1700000000";

/// The spec, parsed once for all tests; None (after saying so) when unset.
fn spec() -> Option<&'static Spec> {
    static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
    if std::env::var_os("STRIPE_OPENAPI_SPEC").is_none_or(|v| v.is_empty()) {
        return Spec::from_env().and(None);
    }
    SPEC.get_or_init(Spec::from_env).as_ref()
}

fn post(spec: &Spec, path: &str, body: &str) -> Vec<String> {
    spec.check_request("POST", path, "", body)
}

fn get(spec: &Spec, path: &str, query: &str) -> Vec<String> {
    spec.check_request("GET", path, query, "")
}

/// Asserts exactly one problem is reported and that it mentions `needle`.
fn assert_one_problem_mentioning(problems: &[String], needle: &str) {
    assert_eq!(
        problems.len(),
        1,
        "expected one problem mentioning {needle:?}, got {problems:#?}"
    );
    assert!(
        problems[0].contains(needle),
        "expected a problem mentioning {needle:?}, got {problems:#?}"
    );
}

#[test]
fn a_valid_checkout_session_create_body_passes() {
    let Some(spec) = spec() else { return };
    let problems = post(spec, "/v1/checkout/sessions", CHECKOUT_BODY);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn percent_encoded_brackets_and_plus_spaces_decode_like_stripe_reads_them() {
    let Some(spec) = spec() else { return };
    let body = CHECKOUT_BODY.replace(
        "line_items[0][price_data][product_data][name]=T-shirt",
        "line_items%5B0%5D%5Bprice_data%5D%5Bproduct_data%5D%5Bname%5D=Blue+T-shirt",
    ) + "&expand[]=line_items&expand[]=customer";
    let problems = post(spec, "/v1/checkout/sessions", &body);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn an_unknown_parameter_fails() {
    let Some(spec) = spec() else { return };
    let problems = post(
        spec,
        "/v1/checkout/sessions",
        &format!("{CHECKOUT_BODY}&bogus_param=1"),
    );
    assert_one_problem_mentioning(&problems, "bogus_param: unknown parameter");
}

#[test]
fn an_unknown_nested_parameter_fails_with_its_full_path() {
    let Some(spec) = spec() else { return };
    let problems = post(
        spec,
        "/v1/checkout/sessions",
        &format!("{CHECKOUT_BODY}&line_items[0][price_data][colour]=red"),
    );
    assert_one_problem_mentioning(
        &problems,
        "line_items[0][price_data][colour]: unknown parameter",
    );
}

#[test]
fn a_non_integer_unit_amount_fails() {
    let Some(spec) = spec() else { return };
    let body = CHECKOUT_BODY.replace("unit_amount]=4999", "unit_amount]=49.99");
    let problems = post(spec, "/v1/checkout/sessions", &body);
    assert_eq!(
        problems,
        vec![
            r#"line_items[0][price_data][unit_amount]: expected integer, got "49.99""#.to_string()
        ]
    );
}

#[test]
fn a_value_outside_the_enum_fails() {
    let Some(spec) = spec() else { return };
    let body = CHECKOUT_BODY.replace("mode=payment", "mode=bogus");
    let problems = post(spec, "/v1/checkout/sessions", &body);
    assert_one_problem_mentioning(&problems, r#"mode: "bogus" is not one of"#);
}

#[test]
fn a_missing_required_parameter_fails() {
    let Some(spec) = spec() else { return };
    // POST /v1/prices requires `currency` in this spec version.
    let problems = post(spec, "/v1/prices", "unit_amount=500&product=prod_1");
    assert_one_problem_mentioning(&problems, "currency: required parameter is missing");
    // A required nested parameter of an object that is present is checked too.
    let problems = post(
        spec,
        "/v1/checkout/sessions",
        "success_url=https%3A%2F%2Fexample.com&line_items[0][price_data][currency]=usd&line_items[0][price_data][unit_amount]=1&line_items[0][price_data][product_data][description]=x",
    );
    assert_one_problem_mentioning(
        &problems,
        "line_items[0][price_data][product_data][name]: required parameter is missing",
    );
}

#[test]
fn a_required_parameter_is_missing_from_an_empty_body() {
    let Some(spec) = spec() else { return };
    let problems = post(spec, "/v1/prices", "");
    assert_one_problem_mentioning(&problems, "currency: required parameter is missing");
}

#[test]
fn a_string_longer_than_max_length_fails() {
    let Some(spec) = spec() else { return };
    let long = "x".repeat(5001);
    let problems = post(
        spec,
        "/v1/checkout/sessions",
        &format!("{CHECKOUT_BODY}&client_reference_id={long}"),
    );
    assert_one_problem_mentioning(
        &problems,
        "client_reference_id: 5001 characters, longer than maxLength",
    );
}

#[test]
fn array_indices_with_a_gap_fail() {
    let Some(spec) = spec() else { return };
    let body = CHECKOUT_BODY.replace("line_items[0]", "line_items[1]");
    let problems = post(spec, "/v1/checkout/sessions", &body);
    assert_one_problem_mentioning(&problems, "line_items: array indices must run 0, 1, 2");
}

#[test]
fn listing_customers_by_email_with_limit_and_cursor_passes() {
    let Some(spec) = spec() else { return };
    let problems = get(
        spec,
        "/v1/customers",
        "email=a%40b.com&limit=10&starting_after=cus_1",
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_deep_object_query_parameter_passes_and_is_type_checked() {
    let Some(spec) = spec() else { return };
    let problems = get(
        spec,
        "/v1/customers",
        "created[gte]=1700000000&expand[0]=data.test_clock",
    );
    assert!(problems.is_empty(), "{problems:#?}");
    let problems = get(spec, "/v1/customers", "created[gte]=yesterday");
    assert_one_problem_mentioning(
        &problems,
        r#"created[gte]: expected integer, got "yesterday""#,
    );
}

#[test]
fn a_non_integer_limit_fails() {
    let Some(spec) = spec() else { return };
    let problems = get(spec, "/v1/customers", "email=a%40b.com&limit=abc");
    assert_eq!(
        problems,
        vec![r#"limit: expected integer, got "abc""#.to_string()]
    );
}

#[test]
fn a_refund_with_amount_reason_and_metadata_passes() {
    let Some(spec) = spec() else { return };
    let problems = post(
        spec,
        "/v1/refunds",
        "payment_intent=pi_1&amount=500&reason=requested_by_customer&metadata[k]=v",
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_refund_with_an_unknown_reason_fails() {
    let Some(spec) = spec() else { return };
    let problems = post(spec, "/v1/refunds", "payment_intent=pi_1&reason=because");
    assert_one_problem_mentioning(&problems, r#"reason: "because" is not one of"#);
}

#[test]
fn metadata_may_be_unset_with_an_empty_string_but_not_set_to_a_plain_value() {
    let Some(spec) = spec() else { return };
    assert!(post(spec, "/v1/refunds", "payment_intent=pi_1&metadata=").is_empty());
    let problems = post(spec, "/v1/refunds", "payment_intent=pi_1&metadata=oops");
    assert_one_problem_mentioning(&problems, "metadata: expected an object or");
}

#[test]
fn a_parameter_given_twice_fails() {
    let Some(spec) = spec() else { return };
    let problems = post(spec, "/v1/refunds", "payment_intent=pi_1&amount=1&amount=2");
    assert_one_problem_mentioning(&problems, "amount: given more than once");
}

#[test]
fn retrieving_the_balance_with_no_query_passes() {
    let Some(spec) = spec() else { return };
    let problems = get(spec, "/v1/balance", "");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn a_templated_path_matches_a_concrete_id_and_literal_paths_win() {
    let Some(spec) = spec() else { return };
    assert!(get(spec, "/v1/customers/cus_123", "expand[]=default_source").is_empty());
    // `/v1/customers/search` is its own operation, which requires `query`.
    let problems = get(spec, "/v1/customers/search", "");
    assert_one_problem_mentioning(&problems, "query: required parameter is missing");
    assert!(
        get(
            spec,
            "/v1/customers/search",
            "query=email%3A%27a%40b.com%27"
        )
        .is_empty()
    );
}

#[test]
fn an_unknown_path_fails() {
    let Some(spec) = spec() else { return };
    let problems = get(spec, "/v1/no_such_thing", "");
    assert_one_problem_mentioning(&problems, "no such path");
}

#[test]
fn a_method_the_path_does_not_take_fails() {
    let Some(spec) = spec() else { return };
    let problems = spec.check_request("DELETE", "/v1/balance", "", "");
    assert_one_problem_mentioning(&problems, "no DELETE operation");
}

#[test]
fn a_body_on_a_get_request_fails() {
    let Some(spec) = spec() else { return };
    let problems = spec.check_request("GET", "/v1/balance", "", "expand[]=x");
    assert_one_problem_mentioning(&problems, "has a request body");
}

#[test]
fn malformed_encoding_fails() {
    let Some(spec) = spec() else { return };
    let problems = post(spec, "/v1/refunds", "payment_intent=pi_%zz");
    assert_one_problem_mentioning(&problems, "malformed percent-encoding");
    let problems = post(spec, "/v1/refunds", "metadata[k=v");
    assert_one_problem_mentioning(&problems, "malformed parameter name");
}

#[test]
fn post_parameters_in_the_query_string_fail() {
    let Some(spec) = spec() else { return };
    let problems = spec.check_request("POST", "/v1/refunds", "payment_intent=pi_1", "");
    assert_one_problem_mentioning(&problems, "POST parameters go in the form body");
}
