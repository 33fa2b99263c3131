//! MCP resources and prompts: the account, the balance and any object by id as
//! resources a client can attach, and short prompt templates for the merchant's
//! common workflows (refund a customer's last payment, month-end summary, chase
//! overdue invoices, sell a product by checkout link).
//!
//! A resource read goes through the same tool code as `get_account_info`,
//! `get_balance` and `fetch_stripe_resource`, so it is checked, bounded and mapped the
//! same way; a failure is a JSON-RPC error whose `data` is the structured tool error.
//! Resources and prompts obey the same tool list as tools (`--tools`, a tenant's
//! `tools`, `--read-only`): a resource is listed and served only where a tool that reads
//! the same object is offered ([`READERS`]), a prompt only where every tool it names is
//! (`PROMPTS`). What they return leaves through [`crate::egress`] like any result.

use jiff::{ToSpan, civil::Date};
use rmcp::{
    ErrorData,
    handler::server::wrapper::Parameters,
    model::{
        CallToolResponse, ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage,
        ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
    },
};
use serde::Serialize;

use super::{NoArgs, ToolError, search::FetchArgs};
use crate::{stripe::currency, tools::StripeMcp};

/// The account the key acts for.
pub const ACCOUNT_URI: &str = "stripe://account";
/// The balance, available and pending.
pub const BALANCE_URI: &str = "stripe://balance";
/// Any object by id; the id's prefix picks the endpoint, as in `fetch_stripe_resource`.
pub const OBJECT_TEMPLATE: &str = "stripe://objects/{id}";
/// What [`OBJECT_TEMPLATE`] expands to before the id.
pub const OBJECT_PREFIX: &str = "stripe://objects/";

/// Which tools are offered to this caller (the server's or the tenant's list).
pub type Offered<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// Tools that read any object by id, whole.
const READ_ANY: &[&str] = &["fetch_stripe_resource", "stripe_api_read"];

/// The tools that read objects served from each API path segment (as
/// [`crate::stripe::search::segment_for_id`] names it), besides `READ_ANY`; and the
/// fixed resources by URI. A resource is served only where one of them is offered.
pub const READERS: &[(&str, &[&str])] = &[
    (ACCOUNT_URI, &["get_account_info"]),
    (BALANCE_URI, &["get_balance"]),
    ("customers", &["get_customer", "list_customers"]),
    ("charges", &["get_charge", "list_charges"]),
    (
        "payment_intents",
        &["get_payment_intent", "list_payment_intents"],
    ),
    ("refunds", &["get_refund", "list_refunds"]),
    (
        "checkout/sessions",
        &["get_checkout_session", "list_checkout_sessions"],
    ),
    ("invoices", &["list_invoices", "list_overdue_invoices"]),
    ("subscriptions", &["get_subscription", "list_subscriptions"]),
    ("products", &["list_products"]),
    ("prices", &["list_prices"]),
    ("payouts", &["get_payout", "list_payouts"]),
    (
        "balance_transactions",
        &[
            "list_balance_transactions",
            "summarize_balance_transactions",
        ],
    ),
    ("disputes", &["get_dispute", "list_disputes"]),
];

/// True when a tool that reads what `key` (a fixed resource's URI or an object's path
/// segment) serves is offered.
fn readable(key: &str, offered: Offered<'_>) -> bool {
    READ_ANY.iter().any(|t| offered(t))
        || READERS
            .iter()
            .find(|(k, _)| *k == key)
            .is_some_and(|(_, tools)| tools.iter().any(|t| offered(t)))
}

/// True when object `id` may be read as a resource by this caller.
fn object_readable(id: &str, offered: Offered<'_>) -> bool {
    crate::stripe::search::segment_for_id(id).is_some_and(|seg| readable(seg, offered))
}

/// The fixed resources this caller may read.
pub fn resources(offered: Offered<'_>) -> Vec<Resource> {
    [
        Resource::new(ACCOUNT_URI, "account")
            .with_title("Stripe account")
            .with_description("The account this server acts for: id, business name, country, default currency, whether it can take payments and payouts, and the key's mode.")
            .with_mime_type("application/json"),
        Resource::new(BALANCE_URI, "balance")
            .with_title("Stripe balance")
            .with_description("Funds available for payout and pending, per currency.")
            .with_mime_type("application/json"),
    ]
    .into_iter()
    .filter(|r| readable(&r.uri, offered))
    .collect()
}

/// The resource templates this caller may read: the object template when a tool reads
/// any kind of object.
pub fn templates(offered: Offered<'_>) -> Vec<ResourceTemplate> {
    let any = READ_ANY.iter().any(|t| offered(t))
        || READERS
            .iter()
            .filter(|(k, _)| !k.contains("://"))
            .any(|(_, tools)| tools.iter().any(|t| offered(t)));
    if !any {
        return Vec::new();
    }
    vec![
        ResourceTemplate::new(OBJECT_TEMPLATE, "object")
            .with_title("Stripe object by id")
            .with_description("Any Stripe object, whole, by its id (cus_, pi_, ch_, re_, cs_, in_, sub_, prod_, price_, po_, txn_, dp_, ...).")
            .with_mime_type("application/json"),
    ]
}

/// The resource a tool result can link to for an object id, if the id is one
/// `stripe://objects/{id}` can read for this caller.
pub fn object_uri(id: &str, offered: Offered<'_>) -> Option<String> {
    super::search::fetch_path(id)
        .ok()
        .filter(|_| object_readable(id, offered))
        .map(|_| format!("{OBJECT_PREFIX}{id}"))
}

/// Adds a `resource_link` to `stripe://objects/{id}` to a successful result that
/// names one object (a top-level `id`, or `session_id` for a checkout), so a client
/// that attaches resources can open it; only where this caller may read it. Lists and
/// failures are left as they are.
pub fn link_object(response: CallToolResponse, offered: Offered<'_>) -> CallToolResponse {
    let CallToolResponse::Complete(mut result) = response else {
        return response;
    };
    if result.is_error != Some(true)
        && let Some(serde_json::Value::Object(out)) = &result.structured_content
        && let Some(id) = ["id", "session_id"]
            .iter()
            .find_map(|k| out.get(*k).and_then(|v| v.as_str()))
        && let Some(uri) = object_uri(id, offered)
    {
        result.content.push(ContentBlock::resource_link(
            Resource::new(uri, id.to_owned()).with_mime_type("application/json"),
        ));
    }
    CallToolResponse::Complete(result)
}

/// A tool failure as the JSON-RPC error of a resource read: not-found stays
/// not-found, the rest is an internal error; `data` carries the structured error.
fn read_error(e: ToolError) -> ErrorData {
    let data = serde_json::from_str(&e.to_json()).ok();
    match e.kind {
        super::ErrorKind::NotFound => ErrorData::resource_not_found(e.message, data),
        super::ErrorKind::InvalidArgument => ErrorData::invalid_params(e.message, data),
        _ => ErrorData::internal_error(e.message, data),
    }
}

fn json_contents(uri: &str, value: &impl Serialize) -> Result<ReadResourceResult, ErrorData> {
    let encode =
        |e: serde_json::Error| ErrorData::internal_error(format!("could not encode: {e}"), None);
    // The same object as its tool gives: times with their RFC 3339 twins.
    let mut value = serde_json::to_value(value).map_err(encode)?;
    super::times::add_twins(&mut value);
    let text = serde_json::to_string_pretty(&value).map_err(encode)?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::text(text, uri).with_mime_type("application/json"),
    ]))
}

/// The answer for a resource this caller may not read, or that does not exist: the
/// same, so a narrow tool list does not tell what a wider one would serve.
fn no_resource(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("no resource {uri:?}: see resources/list and resources/templates/list"),
        None,
    )
}

impl StripeMcp {
    /// Reads one of [`resources`] or an expansion of [`templates`], where this caller
    /// may (`offered`). The caller passes the answer through [`crate::egress`].
    pub(crate) async fn read_stripe_resource(
        &self,
        uri: &str,
        offered: Offered<'_>,
    ) -> Result<ReadResourceResult, ErrorData> {
        match uri {
            ACCOUNT_URI | BALANCE_URI if !readable(uri, offered) => Err(no_resource(uri)),
            ACCOUNT_URI => {
                let out = self
                    .get_account_info(Parameters(NoArgs {}))
                    .await
                    .map_err(read_error)?;
                json_contents(uri, &out.0)
            }
            BALANCE_URI => {
                let out = self
                    .get_balance(Parameters(NoArgs {}))
                    .await
                    .map_err(read_error)?;
                json_contents(uri, &out.0)
            }
            _ => match uri.strip_prefix(OBJECT_PREFIX) {
                Some(id)
                    if super::search::fetch_path(id).is_ok() && !object_readable(id, offered) =>
                {
                    Err(no_resource(uri))
                }
                Some(id) => {
                    let out = self
                        .fetch_stripe_resource(Parameters(FetchArgs { id: id.to_owned() }))
                        .await
                        .map_err(read_error)?;
                    json_contents(uri, &out.0.resource)
                }
                None => Err(no_resource(uri)),
            },
        }
    }
}

/// One prompt: its name, what it is for, and its arguments (name, description, required).
type PromptSpec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, bool)],
);

const PROMPTS: &[PromptSpec] = &[
    (
        "refund_last_payment",
        "Refund a customer's most recent payment: look it up, confirm with the user, then refund.",
        &[
            ("customer_email", "The customer's email address.", true),
            (
                "reason",
                "duplicate, fraudulent or requested_by_customer (optional).",
                false,
            ),
        ],
    ),
    (
        "month_end_summary",
        "Close a month: balance totals, MRR and overdue invoices.",
        &[
            ("month", "The month, YYYY-MM.", true),
            (
                "time_zone",
                "IANA time zone, e.g. Europe/Berlin (default UTC).",
                false,
            ),
        ],
    ),
    (
        "chase_overdue_invoices",
        "List overdue invoices and draft a reminder for each; nothing is sent.",
        &[(
            "customer_email",
            "Only this customer's invoices (optional).",
            false,
        )],
    ),
    (
        "sell_by_checkout_link",
        "Sell a product with a Stripe-hosted checkout link.",
        &[
            (
                "product_name",
                "What is sold, as the customer sees it.",
                true,
            ),
            (
                "unit_amount",
                "Price of one unit in the currency's smallest unit (4999 = $49.99).",
                true,
            ),
            ("currency", "Lowercase ISO code, e.g. usd.", true),
            ("quantity", "Units (default 1).", false),
        ],
    ),
];

/// The tools each prompt's text tells the model to call: a prompt is listed and served
/// only where all of them are offered (a read-only server has no refund prompt).
pub const PROMPT_TOOLS: &[(&str, &[&str])] = &[
    (
        "refund_last_payment",
        &["list_customers", "list_payment_intents", "create_refund"],
    ),
    (
        "month_end_summary",
        &[
            "summarize_balance_transactions",
            "summarize_subscriptions",
            "list_overdue_invoices",
        ],
    ),
    (
        "chase_overdue_invoices",
        &["list_customers", "list_overdue_invoices"],
    ),
    (
        "sell_by_checkout_link",
        &["initiate_checkout", "get_checkout_session"],
    ),
];

/// True when every tool prompt `name` names is offered.
fn prompt_offered(name: &str, offered: Offered<'_>) -> bool {
    PROMPT_TOOLS
        .iter()
        .find(|(n, _)| *n == name)
        .is_some_and(|(_, tools)| tools.iter().all(|t| offered(t)))
}

/// The prompts this caller may use, as `prompts/list` reports them.
pub fn prompts(offered: Offered<'_>) -> Vec<Prompt> {
    PROMPTS
        .iter()
        .filter(|(name, ..)| prompt_offered(name, offered))
        .map(|(name, description, args)| {
            Prompt::new(
                *name,
                Some(*description),
                Some(
                    args.iter()
                        .map(|(n, d, required)| {
                            PromptArgument::new(*n)
                                .with_description(*d)
                                .with_required(*required)
                        })
                        .collect(),
                ),
            )
        })
        .collect()
}

/// The messages of prompt `name` with `arguments` filled in; a missing required
/// argument or a malformed one is refused (invalid params).
///
/// A refusal names the argument and what it should look like, never what was sent: a
/// pasted key or token must not come back in the error (nor reach a log that prints it).
/// Every message is also scrubbed of the values sent, whatever built it.
pub fn get_prompt(
    name: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    offered: Offered<'_>,
) -> Result<GetPromptResult, ErrorData> {
    fill_prompt(name, arguments, offered).map_err(|mut e| {
        let sent = arguments
            .into_iter()
            .flat_map(|a| a.iter())
            .flat_map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                [k.clone(), v]
            })
            .chain(std::iter::once(name.to_owned()));
        for secret in sent {
            let secret = secret.trim();
            if secret.len() < 4 || PROMPTS.iter().any(|p| p.0 == secret) {
                continue;
            }
            for form in [
                secret.to_owned(),
                format!("{secret:?}").trim_matches('"').to_owned(),
            ] {
                if !form.is_empty() && e.message.contains(form.as_str()) {
                    e.message = e.message.replace(form.as_str(), "…").into();
                }
            }
        }
        e.data = None;
        e
    })
}

fn fill_prompt(
    name: &str,
    arguments: Option<&serde_json::Map<String, serde_json::Value>>,
    offered: Offered<'_>,
) -> Result<GetPromptResult, ErrorData> {
    let found = PROMPTS
        .iter()
        .find(|(n, ..)| *n == name && prompt_offered(n, offered));
    let Some((_, description, specs)) = found else {
        return Err(ErrorData::invalid_params(
            format!(
                "no such prompt; prompts: {}",
                prompts(offered)
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None,
        ));
    };
    let arg = |key: &str| -> Option<String> {
        arguments
            .and_then(|a| a.get(key))
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.trim().to_owned()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    for (key, _, required) in specs.iter() {
        if *required && arg(key).is_none() {
            return Err(ErrorData::invalid_params(
                format!("prompt {name} needs the argument {key}"),
                None,
            ));
        }
    }
    if arguments
        .into_iter()
        .flat_map(|a| a.keys())
        .any(|k| !specs.iter().any(|(n, ..)| n == k))
    {
        return Err(ErrorData::invalid_params(
            format!(
                "prompt {name} has an argument it does not take; its arguments: {}",
                specs.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
            ),
            None,
        ));
    }
    let bad = |m: String| ErrorData::invalid_params(m, None);
    let text = match name {
        "refund_last_payment" => {
            let email =
                super::check_email("customer_email", &arg("customer_email").unwrap_or_default())
                    .map_err(|_| {
                        bad("customer_email is not an email address like jane@example.com".into())
                    })?;
            let reason = match arg("reason").as_deref() {
                None => String::new(),
                Some(r @ ("duplicate" | "fraudulent" | "requested_by_customer")) => {
                    format!(", reason \"{r}\"")
                }
                Some(_) => {
                    return Err(bad(
                        "reason must be duplicate, fraudulent or requested_by_customer".into(),
                    ));
                }
            };
            format!(
                "Refund the most recent successful payment of the customer {email}.\n\
                 1. list_customers with email {email}. If there is none, or more than one, stop and ask me which.\n\
                 2. list_payment_intents for that customer (limit 10) and take the newest with status \"succeeded\". If there is none, say so and stop.\n\
                 3. Show me its amount (display), date and id, and ask me to confirm the refund. Do nothing until I say yes.\n\
                 4. After I confirm: create_refund with that payment_intent{reason} and idempotency_key \"refund-<the pi_ id>\", so a retry never refunds twice.\n\
                 5. Report the refund's id, amount and status. A refund cannot be undone."
            )
        }
        "month_end_summary" => {
            let month = arg("month").unwrap_or_default();
            let first: Date = format!("{month}-01")
                .parse()
                .map_err(|_| bad("month must be YYYY-MM, e.g. 2026-11".into()))?;
            let last = first
                .checked_add(1.month())
                .and_then(|d| d.checked_sub(1.day()))
                .map_err(|_| bad("month must be YYYY-MM, e.g. 2026-11".into()))?;
            let tz = arg("time_zone").unwrap_or_else(|| "UTC".to_owned());
            if jiff::tz::TimeZone::get(&tz).is_err() {
                return Err(bad(
                    "time_zone must be an IANA time zone such as Europe/Paris".into(),
                ));
            }
            format!(
                "Prepare the month-end summary for {month} (time zone {tz}).\n\
                 1. summarize_balance_transactions with from {first}, to {last}, time_zone {tz}, group_by \"week\".\n\
                 2. summarize_subscriptions for MRR and ARR.\n\
                 3. list_overdue_invoices.\n\
                 Report per currency: gross charges, refunds, disputes, Stripe fees, adjustments, net before payouts, payouts and net, with the weekly trend; then MRR and ARR with what is not counted; then overdue invoices (count, total, the oldest three). Use the display strings; do not recompute figures the tools gave."
            )
        }
        "chase_overdue_invoices" => {
            let who = match arg("customer_email") {
                None => "all customers".to_owned(),
                Some(e) => super::check_email("customer_email", &e).map_err(|_| {
                    bad("customer_email is not an email address like jane@example.com".into())
                })?,
            };
            let find = if who == "all customers" {
                "1. list_overdue_invoices.".to_owned()
            } else {
                format!(
                    "1. list_customers with email {who}, then list_overdue_invoices with that customer id."
                )
            };
            format!(
                "Chase the overdue invoices of {who}.\n\
                 {find}\n\
                 2. For each invoice, oldest first, draft a short, polite reminder to its customer_email: the invoice number, the amount remaining (display), how many days overdue, and its hosted_invoice_url to pay.\n\
                 3. Show me the drafts. Do not send anything or change any invoice: this server sends no email."
            )
        }
        "sell_by_checkout_link" => {
            let product = super::check_text(
                "product_name",
                &arg("product_name").unwrap_or_default(),
                250,
            )
            .map_err(|e| bad(e.message))?;
            let c = currency::parse_currency(&arg("currency").unwrap_or_default()).map_err(bad)?;
            let raw = arg("unit_amount").unwrap_or_default();
            let amount: i64 = raw
                .parse()
                .ok()
                .filter(|a| (0..=super::MAX_AMOUNT).contains(a))
                .ok_or_else(|| {
                    bad(format!(
                        "unit_amount must be a whole number of minor units: {}",
                        currency::minor_unit_example(&c)
                    ))
                })?;
            let quantity: u32 = match arg("quantity") {
                None => 1,
                Some(q) => q
                    .parse()
                    .ok()
                    .filter(|q| *q >= 1)
                    .ok_or_else(|| bad("quantity must be a whole number, at least 1".into()))?,
            };
            let display = currency::display(amount, &c);
            format!(
                "Sell {quantity} x \"{product}\" at {display} each through a Stripe-hosted checkout page.\n\
                 1. Confirm with me: {quantity} x {product} at {display} ({amount} {c} in minor units).\n\
                 2. initiate_checkout with product_name \"{product}\", unit_amount {amount}, currency {c}, quantity {quantity}.\n\
                 3. Give me the checkout_url to send to the customer. The payment is confirmed only later, by Stripe: check with get_checkout_session (payment_status \"paid\"), never because the customer says so."
            )
        }
        _ => unreachable!("every prompt in PROMPTS has a text"),
    };
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(*description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all(_: &str) -> bool {
        true
    }

    fn text(name: &str, args: serde_json::Value) -> Result<String, ErrorData> {
        get_prompt(name, args.as_object(), &all).map(|r| match &r.messages[0].content {
            rmcp::model::ContentBlock::Text(t) => t.text.clone(),
            _ => panic!("not text"),
        })
    }

    #[test]
    fn every_listed_prompt_renders_with_its_required_arguments() {
        for p in prompts(&all) {
            let args: serde_json::Map<_, _> = p
                .arguments
                .unwrap_or_default()
                .iter()
                .filter(|a| a.required == Some(true))
                .map(|a| {
                    let v = match a.name.as_str() {
                        "customer_email" => "jane@example.com",
                        "month" => "2026-02",
                        "unit_amount" => "4999",
                        "currency" => "usd",
                        _ => "T-shirt",
                    };
                    (a.name.clone(), json!(v))
                })
                .collect();
            assert!(get_prompt(&p.name, Some(&args), &all).is_ok(), "{}", p.name);
        }
    }

    #[test]
    fn the_month_end_prompt_names_the_months_first_and_last_day() {
        let t = text(
            "month_end_summary",
            json!({"month": "2028-02", "time_zone": "Asia/Tokyo"}),
        )
        .unwrap();
        assert!(t.contains("from 2028-02-01, to 2028-02-29"), "{t}");
        assert!(text("month_end_summary", json!({"month": "2026-13"})).is_err());
        assert!(text("month_end_summary", json!({})).is_err());
    }

    #[test]
    fn prompt_arguments_are_checked_like_tool_arguments() {
        let t = text(
            "sell_by_checkout_link",
            json!({"product_name": "Mug", "unit_amount": "1500", "currency": "kwd"}),
        )
        .unwrap();
        assert!(t.contains("1.500 KWD"), "{t}");
        assert!(
            text(
                "sell_by_checkout_link",
                json!({"product_name": "Mug", "unit_amount": "15.00", "currency": "usd"})
            )
            .is_err()
        );
        assert!(
            text(
                "refund_last_payment",
                json!({"customer_email": "not an email"})
            )
            .is_err()
        );
        assert!(
            text(
                "refund_last_payment",
                json!({"customer_email": "a@b.co", "reason": "because"})
            )
            .is_err()
        );
        assert!(
            text(
                "refund_last_payment",
                json!({"customer_email": "a@b.co", "extra": "x"})
            )
            .is_err()
        );
        assert!(get_prompt("nope", None, &all).is_err());
    }

    #[test]
    fn a_result_naming_one_object_links_to_it_and_a_list_does_not() {
        let one =
            rmcp::model::CallToolResult::structured(json!({"id": "cus_123", "email": "a@b.co"}));
        let CallToolResponse::Complete(linked) = link_object(one.into(), &all) else {
            panic!()
        };
        let links: Vec<_> = linked
            .content
            .iter()
            .filter_map(|c| match c {
                ContentBlock::ResourceLink(r) => Some(r.uri.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(links, ["stripe://objects/cus_123"]);
        let list = rmcp::model::CallToolResult::structured(json!({"customers": [{"id": "cus_1"}]}));
        let CallToolResponse::Complete(list) = link_object(list.into(), &all) else {
            panic!()
        };
        assert_eq!(list.content.len(), 1);
    }

    #[test]
    fn object_links_exist_only_for_ids_the_template_can_read() {
        assert_eq!(
            object_uri("cus_123", &all).as_deref(),
            Some("stripe://objects/cus_123")
        );
        assert_eq!(object_uri("nothing", &all), None);
        let only_customers = |t: &str| t == "get_customer";
        assert!(object_uri("cus_123", &only_customers).is_some());
        assert_eq!(object_uri("ch_123", &only_customers), None);
    }

    #[test]
    fn each_prompt_names_exactly_the_tools_it_is_offered_with() {
        let every_tool = crate::tools::StripeMcp::tool_names();
        for p in prompts(&all) {
            let args: serde_json::Map<_, _> = p
                .arguments
                .unwrap_or_default()
                .iter()
                .map(|a| {
                    let v = match a.name.as_str() {
                        "customer_email" => "jane@example.com",
                        "month" => "2026-02",
                        "unit_amount" | "quantity" => "2",
                        "currency" => "usd",
                        "reason" => "duplicate",
                        "time_zone" => "UTC",
                        _ => "T-shirt",
                    };
                    (a.name.clone(), json!(v))
                })
                .collect();
            let t = text(&p.name, serde_json::Value::Object(args)).unwrap();
            let (_, needs) = PROMPT_TOOLS.iter().find(|(n, _)| *n == p.name).unwrap();
            for tool in &every_tool {
                let named = t
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == tool);
                assert_eq!(named, needs.contains(&tool.as_str()), "{}: {tool}", p.name);
            }
        }
    }
}
