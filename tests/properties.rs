//! Property tests (proptest) for argument decoding and form encoding: the
//! fuzzing this toolchain allows (stable Rust, no cargo-fuzz).
//!
//! - Arbitrary JSON argument objects, biased towards each tool's own field
//!   names, never panic the decoders or validators; whatever they accept
//!   encodes to a form body.
//! - Amounts: only integers from 0 to the maximum are accepted, whatever the JSON.
//! - What the validators let through survives form encoding: names, emails,
//!   URLs and metadata come back unchanged from `url::form_urlencoded`.
//!
//! Cases per property: `PROPTEST_CASES` (default 256 here; `scripts/bench`
//! runs many more).

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use stripe_mcp::{
    stripe::{
        Mode,
        checkout::{CheckoutMode, CreateCheckoutSession, LineItem, PriceData, ProductData},
        client::encode_form,
        refunds::CreateRefund,
    },
    tools::{
        Amount, MAX_AMOUNT, check_metadata,
        checkout::{self, CheckoutContext, InitiateCheckoutArgs},
        customers::{self, ListCustomersArgs},
        refunds::{self, CreateRefundArgs},
    },
};
use url::Url;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Keep the tree clean: a failure prints its minimal input instead.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Strings that stress validators: ASCII, unicode edge cases, ids, URLs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,12}",
        "[a-z_]{0,6}_[A-Za-z0-9]{0,10}",
        Just(String::new()),
        Just("pi_123".to_owned()),
        Just("ch_123".to_owned()),
        Just("cus_1".to_owned()),
        Just("price_1".to_owned()),
        Just("usd".to_owned()),
        Just("USD".to_owned()),
        Just("jane@example.com".to_owned()),
        Just("https://shop.example/ok?x={CHECKOUT_SESSION_ID}".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("\u{0}\u{202e}\u{feff}\u{200b}é🔑".to_owned()),
        "\\PC{0,300}",
    ]
}

/// Any JSON value, numbers at the edges included.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        (0i64..=MAX_AMOUNT + 2).prop_map(|n| json!(n)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value for one argument: usually one a model might plausibly send for it
/// (valid or a near miss), sometimes anything at all.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let pick = |xs: &'static [&'static str]| prop::sample::select(xs).prop_map(|s| json!(s));
    let plausible: BoxedStrategy<Value> = match field {
        "unit_amount" | "amount" => prop_oneof![
            (0i64..=MAX_AMOUNT + 2).prop_map(|n| json!(n)),
            (0.0f64..100.0).prop_map(|f| json!(f)),
            (0i64..10_000).prop_map(|n| json!(n.to_string())),
        ]
        .boxed(),
        "currency" => pick(&[
            "usd", "USD", "jpy", "eur", "kwd", "usd ", "xyz", "dollars", "",
        ])
        .boxed(),
        "quantity" => (0u32..5).prop_map(|n| json!(n)).boxed(),
        "price" => pick(&["price_1", "price_ABC9", "prod_1", "price_"]).boxed(),
        "mode" => pick(&["payment", "payment", "subscription", "setup"]).boxed(),
        "customer_email" | "email" => {
            pick(&["jane@example.com", "a+b@x.io", "jane", "@x.io"]).boxed()
        }
        "customer" | "starting_after" => pick(&["cus_1", "cus_A9", "pi_1", "cus_1 "]).boxed(),
        "payment_intent" => pick(&["pi_1", "pi_3MtwBw", "ch_1", ""]).boxed(),
        "charge" => pick(&["ch_1", "py_1", "pi_1"]).boxed(),
        "reason" => pick(&["duplicate", "fraudulent", "requested_by_customer", "other"]).boxed(),
        "expires_in_minutes" => (0u32..2000).prop_map(|n| json!(n)).boxed(),
        "limit" => (-2i64..1100).prop_map(|n| json!(n)).boxed(),
        "success_url" | "cancel_url" => pick(&[
            "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}",
            "http://localhost:3000/ok",
            "shop.example/ok",
            "javascript:alert(1)",
        ])
        .boxed(),
        "idempotency_key" => "[ -~]{0,24}".prop_map(|s| json!(s)).boxed(),
        "metadata" => prop::collection::btree_map(text(), text(), 0..4)
            .prop_map(|m| json!(m))
            .boxed(),
        "line_items" => prop::collection::vec(line_item(), 0..4)
            .prop_map(Value::Array)
            .boxed(),
        _ => text().prop_map(Value::String).boxed(),
    };
    prop_oneof![4 => plausible, 1 => value()].boxed()
}

/// One line item: a price id or inline pricing, each field maybe missing.
fn line_item() -> impl Strategy<Value = Value> {
    const FIELDS: &[&str] = &[
        "price",
        "product_name",
        "unit_amount",
        "currency",
        "quantity",
    ];
    FIELDS
        .iter()
        .map(|f| prop::option::weighted(0.5, field_value(f)).prop_map(move |v| (f.to_string(), v)))
        .collect::<Vec<_>>()
        .prop_map(|kv| Value::Object(kv.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()))
}

/// An argument object: a random subset of the tool's fields with plausible
/// or arbitrary values, and now and then a field it does not have.
fn args_for(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let known = fields
        .iter()
        .map(|f| prop::option::weighted(0.45, field_value(f)).prop_map(move |v| (f.to_string(), v)))
        .collect::<Vec<_>>();
    let unknown = prop::option::weighted(0.05, ("[a-z_]{1,12}", value()));
    (known, unknown).prop_map(|(kv, extra)| {
        let mut m: Map<String, Value> = kv.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        if let Some((k, v)) = extra {
            m.insert(k, v);
        }
        Value::Object(m)
    })
}

/// A valid inline or price-id checkout with one argument replaced by a
/// plausible or arbitrary value: most of these pass, so the accepted path is
/// exercised as much as the refusals.
fn near_valid_checkout() -> impl Strategy<Value = Value> {
    let base = prop_oneof![
        (
            "[A-Za-z][A-Za-z0-9 ]{0,30}",
            0i64..=MAX_AMOUNT,
            prop::sample::select(&["usd", "eur", "jpy", "kwd", "USD"][..]),
            1u32..10,
        )
            .prop_map(|(name, amount, currency, quantity)| json!({
                "product_name": name, "unit_amount": amount, "currency": currency, "quantity": quantity,
                "success_url": "https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}"})),
        Just(json!({"price": "price_1", "success_url": "https://shop.example/ok"})),
    ];
    let field = prop::sample::select(CHECKOUT_FIELDS);
    (base, field)
        .prop_flat_map(|(base, field)| (Just(base), Just(field), field_value(field)))
        .prop_map(|(mut base, field, v)| {
            if field != "line_items" {
                base[field] = v;
            }
            base
        })
}

const CHECKOUT_FIELDS: &[&str] = &[
    "product_name",
    "unit_amount",
    "currency",
    "quantity",
    "price",
    "line_items",
    "mode",
    "customer_email",
    "customer",
    "product_id",
    "client_reference_id",
    "metadata",
    "expires_in_minutes",
    "success_url",
    "cancel_url",
    "idempotency_key",
];
const REFUND_FIELDS: &[&str] = &[
    "payment_intent",
    "charge",
    "amount",
    "reason",
    "metadata",
    "idempotency_key",
];
const CUSTOMER_FIELDS: &[&str] = &["email", "limit", "starting_after"];

/// Form pairs of an encoded body.
fn pairs(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn checkout_arguments_never_panic_and_what_is_accepted_encodes(
        v in prop_oneof![args_for(CHECKOUT_FIELDS), near_valid_checkout()],
        live in any::<bool>(),
        with_base in any::<bool>(),
    ) {
        let base = Url::parse("https://shop.example").unwrap();
        let cx = CheckoutContext {
            mode: if live { Mode::Live } else { Mode::Test },
            app_base_url: with_base.then_some(&base),
            now: 1_700_000_000,
        };
        if let Ok(args) = serde_json::from_value::<InitiateCheckoutArgs>(v)
            && let Ok((params, key)) = checkout::build_request(args, &cx)
        {
            let body = encode_form(&params).expect("accepted arguments encode");
            prop_assert!(!body.is_empty());
            prop_assert!(!params.line_items.is_empty() && params.line_items.len() <= 100);
            prop_assert!(!key.as_str().is_empty());
            for item in &params.line_items {
                prop_assert!(item.quantity >= 1);
                if let Some(pd) = &item.price_data {
                    prop_assert!((0..=MAX_AMOUNT).contains(&pd.unit_amount));
                }
            }
        }
    }

    #[test]
    fn refund_arguments_never_panic_and_what_is_accepted_encodes(v in args_for(REFUND_FIELDS)) {
        if let Ok(args) = serde_json::from_value::<CreateRefundArgs>(v)
            && let Ok((params, _)) = refunds::build_request(args)
        {
            let body = pairs(&encode_form(&params).expect("accepted arguments encode"));
            prop_assert!(body.contains_key("payment_intent") != body.contains_key("charge"));
            if let Some(a) = params.amount {
                prop_assert!((1..=MAX_AMOUNT).contains(&a));
                prop_assert_eq!(body.get("amount"), Some(&a.to_string()));
            }
        }
    }

    #[test]
    fn list_customers_arguments_never_panic(v in args_for(CUSTOMER_FIELDS)) {
        if let Ok(args) = serde_json::from_value::<ListCustomersArgs>(v)
            && let Ok((filters, limit, cursor)) = customers::build_query(args)
        {
            prop_assert!((1..=1000).contains(&limit));
            prop_assert!(cursor.is_none_or(|c| c.starts_with("cus_")));
            let body = pairs(&encode_form(&filters).expect("filters encode"));
            prop_assert_eq!(body.get("email"), filters.email.as_ref());
        }
    }

    #[test]
    fn only_whole_amounts_from_zero_to_the_maximum_are_accepted(v in value()) {
        let amount: Amount = serde_json::from_value(v.clone()).unwrap();
        let got = amount.minor_units("amount", Some("usd"));
        let whole = v.as_i64().filter(|n| (0..=MAX_AMOUNT).contains(n));
        match (got, whole) {
            (Ok(a), Some(w)) => prop_assert_eq!(a, w),
            (Err(e), None) => prop_assert!(e.message.contains("amount")),
            (got, _) => prop_assert!(false, "{v} gave {got:?}"),
        }
    }

    #[test]
    fn accepted_metadata_and_names_survive_form_encoding(
        metadata in prop::collection::btree_map("\\PC{1,40}", "\\PC{0,60}", 0..8),
        name in "\\PC{1,60}",
        email_local in "[A-Za-z0-9.+_%-]{1,20}",
        reference in "\\PC{1,40}",
    ) {
        let Ok(metadata) = check_metadata(Some(metadata), 0) else {
            return Ok(());
        };
        let email = format!("{email_local}@example.com");
        let params = CreateCheckoutSession {
            mode: CheckoutMode::Payment,
            line_items: vec![LineItem {
                price: None,
                price_data: Some(PriceData {
                    currency: "usd".into(),
                    unit_amount: 4999,
                    product_data: ProductData { name: name.clone() },
                }),
                quantity: 2,
            }],
            success_url: "https://shop.example/s?session_id={CHECKOUT_SESSION_ID}&a=b c".into(),
            cancel_url: None,
            customer_email: Some(email.clone()),
            customer: None,
            client_reference_id: Some(reference.clone()),
            expires_at: None,
            metadata: metadata.clone(),
        };
        let body = pairs(&encode_form(&params).unwrap());
        prop_assert_eq!(body.get("line_items[0][price_data][product_data][name]"), Some(&name));
        prop_assert_eq!(body.get("line_items[0][price_data][unit_amount]").map(String::as_str), Some("4999"));
        prop_assert_eq!(body.get("customer_email"), Some(&email));
        prop_assert_eq!(body.get("client_reference_id"), Some(&reference));
        prop_assert_eq!(body.get("success_url"), Some(&params.success_url));
        for (k, v) in &metadata {
            prop_assert_eq!(body.get(&format!("metadata[{k}]")), Some(v), "metadata key {:?}", k);
        }
        // Nothing else: every pair is one the params account for.
        prop_assert_eq!(body.len(), 8 + metadata.len());

        let refund = CreateRefund { payment_intent: Some("pi_1".into()), metadata: metadata.clone(), ..Default::default() };
        let body = pairs(&encode_form(&refund).unwrap());
        for (k, v) in &metadata {
            prop_assert_eq!(body.get(&format!("metadata[{k}]")), Some(v), "metadata key {:?}", k);
        }
    }
}
