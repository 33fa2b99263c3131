//! `search_stripe_resources` (Stripe's Search API over seven resources) and
//! `fetch_stripe_resource` (any object by id, its endpoint picked from the id's prefix).

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Money, ToolError, check_id, check_text};
use crate::{
    stripe::search::{ID_PREFIXES, SearchQuery, SearchResource, segment_for_id},
    tools::StripeMcp,
};

/// The longest search query accepted.
pub const QUERY_MAX_CHARS: usize = 1000;
/// Stripe's largest search page.
pub const SEARCH_LIMIT_MAX: i64 = 100;

/// Arguments of `search_stripe_resources`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What to search: customers, charges, payment_intents, subscriptions, invoices, products or prices.
    pub resource: SearchResource,
    /// Stripe search syntax (≤1000 chars): field:'v' exact, field~'v' substring, field>N, AND or OR (not both), -field:'v', metadata['k']:'v'.
    pub query: String,
    /// How many matches to return, 1 to 100. Default 10.
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// Cursor for the next page: the next_page of the previous call with the same query.
    pub page: Option<String>,
}

/// One match: its id and a few fields a person acts on; absent fields are left out.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct SearchMatch {
    /// The object's id (cus_..., ch_..., pi_..., sub_..., in_..., prod_..., price_...).
    pub id: String,
    /// Stripe's object type: customer, charge, payment_intent, subscription, invoice, product or price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// The object's status, where it has one (succeeded, active, paid, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The amount: a charge's or payment intent's amount, an invoice's amount_due, a price's unit_amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    /// Email (customers; receipt_email of payments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Name (customers, products).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description, where set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The customer (cus_...), for payments, subscriptions and invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The product (prod_...), for prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Whether the product or price can be used for new purchases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// When the object was created (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
}

/// What `search_stripe_resources` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// The resource searched.
    pub resource: SearchResource,
    /// The matches. Get any one in full with fetch_stripe_resource.
    pub matches: Vec<SearchMatch>,
    /// True when more matches follow.
    pub has_more: bool,
    /// Pass as page (with the same query) for the next matches; present when has_more.
    pub next_page: Option<String>,
}

/// Arguments of `fetch_stripe_resource`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// Any id; its prefix picks the endpoint.
    pub id: String,
}

/// What `fetch_stripe_resource` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FetchOutput {
    /// The object's id.
    pub id: String,
    /// Stripe's object type (customer, payment_intent, ...).
    pub object: Option<String>,
    /// The endpoint that was read, e.g. /v1/customers/cus_123.
    pub path: String,
    /// The whole object as Stripe returned it. Amounts in it are integers in the currency's smallest unit (4999 = $49.99).
    pub resource: Value,
}

/// Validates `search_stripe_resources` arguments into the resource and Stripe's query.
pub fn build_search(args: SearchArgs) -> Result<(SearchResource, SearchQuery), ToolError> {
    let query = check_text("query", &args.query, QUERY_MAX_CHARS).map_err(|e| {
        e.with_hint("Send a query in Stripe's search language, e.g. email:'jane@example.com' or status:'succeeded' AND amount>1000.")
    })?;
    if !query.contains(':') && !query.contains('~') && !query.contains('>') && !query.contains('<')
    {
        return Err(ToolError::invalid(format!(
            "query {query:?} names no field: Stripe's search needs field:'value' clauses"
        ))
        .with_hint(
            "For example email:'jane@example.com', name~'jane', or status:'succeeded' AND amount>1000.",
        ));
    }
    let limit = match args.limit {
        None => 10,
        Some(l) if (1..=SEARCH_LIMIT_MAX).contains(&l) => l as u32,
        Some(l) => {
            return Err(ToolError::invalid(format!(
                "limit must be between 1 and {SEARCH_LIMIT_MAX}, got {l}"
            ))
            .with_hint("Get more with page = next_page."));
        }
    };
    let page = match args.page {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5000 && p.chars().all(|c| c.is_ascii_graphic()) => {
            Some(p)
        }
        Some(_) => {
            return Err(ToolError::invalid(
                "page must be the next_page value of a previous search, unchanged",
            ));
        }
    };
    Ok((args.resource, SearchQuery { query, limit, page }))
}

/// An id from a field that may be an id or an expanded object.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn str_of(o: &Value, key: &str) -> Option<String> {
    o.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The compact summary of one search match.
pub fn summarize(o: &Value) -> SearchMatch {
    let currency = o.get("currency").and_then(Value::as_str);
    let amount = ["amount", "amount_due", "unit_amount"]
        .iter()
        .find_map(|k| o.get(*k).and_then(Value::as_i64))
        .zip(currency)
        .map(|(a, c)| Money::new(a, c));
    SearchMatch {
        id: str_of(o, "id").unwrap_or_default(),
        object: str_of(o, "object"),
        status: str_of(o, "status"),
        amount,
        email: str_of(o, "email").or_else(|| str_of(o, "receipt_email")),
        name: str_of(o, "name"),
        description: str_of(o, "description"),
        customer: id_of(o.get("customer")),
        product: id_of(o.get("product")),
        active: o.get("active").and_then(Value::as_bool),
        created: o.get("created").and_then(Value::as_i64),
    }
}

/// Validates a fetch id and picks its endpoint. Nothing is sent.
pub fn fetch_path(raw: &str) -> Result<String, ToolError> {
    let known: Vec<&str> = ID_PREFIXES.iter().map(|(p, _)| *p).collect();
    let id = check_id("id", raw, &known).map_err(|e| {
        e.with_hint(format!(
            "Known prefixes: {}. Objects with free-form ids (coupons, plans) or other kinds: use stripe_api_read with their path, e.g. /v1/coupons/SUMMER25.",
            known.join(", ")
        ))
    })?;
    let segment = segment_for_id(&id)
        .ok_or_else(|| ToolError::invalid(format!("id {id:?} has an unknown prefix")))?;
    Ok(format!("/v1/{segment}/{id}"))
}

#[tool_router(router = search_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Search one resource with Stripe's query language, e.g. email:'jane@example.com' or status:'succeeded' AND amount>1000. Returns ids with a short summary. New objects take up to a minute to appear.
    #[tool(annotations(
        title = "Search Stripe",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn search_stripe_resources(
        &self,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<Json<SearchOutput>, ToolError> {
        let (resource, query) = build_search(args)?;
        let result = self
            .client
            .search(resource, &query)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(SearchOutput {
            resource,
            matches: result.data.iter().map(summarize).collect(),
            next_page: if result.has_more {
                result.next_page
            } else {
                None
            },
            has_more: result.has_more,
        }))
    }

    /// Fetch any object by id (cus_, pi_, ch_, re_, cs_, in_, sub_, prod_, price_, po_, txn_, dp_, evt_, ...) and return it whole. Coupons: stripe_api_read.
    #[tool(annotations(
        title = "Fetch a Stripe object by id",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn fetch_stripe_resource(
        &self,
        Parameters(args): Parameters<FetchArgs>,
    ) -> Result<Json<FetchOutput>, ToolError> {
        let path = fetch_path(&args.id)?;
        let resource: Value = self
            .client
            .get(&path, &())
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        if !resource.is_object() {
            return Err(ToolError::unexpected(
                "Stripe answered with something other than an object",
            ));
        }
        Ok(Json(FetchOutput {
            id: str_of(&resource, "id").unwrap_or(args.id),
            object: str_of(&resource, "object"),
            path,
            resource,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search(v: Value) -> Result<(SearchResource, SearchQuery), ToolError> {
        build_search(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn a_search_needs_a_query_with_a_field_and_a_limit_up_to_a_hundred() {
        let (r, q) =
            search(json!({"resource": "customers", "query": "email:'jane@example.com'"})).unwrap();
        assert_eq!(r, SearchResource::Customers);
        assert_eq!((q.limit, q.page), (10, None));
        assert!(search(json!({"resource": "charges", "query": ""})).is_err());
        assert!(search(json!({"resource": "charges", "query": "   "})).is_err());
        assert!(search(json!({"resource": "charges", "query": "jane"})).is_err());
        assert!(
            search(json!({"resource": "charges", "query": "amount>1000", "limit": 100})).is_ok()
        );
        assert!(
            search(json!({"resource": "charges", "query": "amount>1000", "limit": 101})).is_err()
        );
        assert!(
            search(json!({"resource": "charges", "query": "amount>1000", "limit": 0})).is_err()
        );
        let long = format!("name:'{}'", "x".repeat(1000));
        assert!(search(json!({"resource": "products", "query": long})).is_err());
        assert!(
            search(json!({"resource": "products", "query": "name:'a'", "page": "a b"})).is_err()
        );
        assert!(search(json!({"resource": "products", "query": "name:'a'", "page": ""})).is_err());
        assert!(
            serde_json::from_value::<SearchArgs>(json!({"resource": "coupons", "query": "x:1"}))
                .is_err()
        );
    }

    #[test]
    fn matches_are_summarized_with_money_and_ids_of_expanded_fields() {
        let m = summarize(&json!({
            "id": "pi_1", "object": "payment_intent", "amount": 4999, "currency": "usd",
            "status": "succeeded", "customer": {"id": "cus_1", "object": "customer"},
            "created": 1700000000, "description": ""
        }));
        assert_eq!(m.amount.unwrap().display, "$49.99");
        assert_eq!(m.customer.as_deref(), Some("cus_1"));
        assert_eq!(m.description, None);
        let m = summarize(
            &json!({"id": "price_1", "object": "price", "unit_amount": 500,
            "currency": "jpy", "product": "prod_1", "active": true}),
        );
        assert_eq!(m.amount.unwrap().amount, 500);
        assert_eq!(m.product.as_deref(), Some("prod_1"));
        let m = summarize(&json!({"id": "cus_1", "object": "customer", "email": "j@example.com"}));
        assert!(m.amount.is_none());
        assert_eq!(m.email.as_deref(), Some("j@example.com"));
    }

    #[test]
    fn fetch_picks_the_endpoint_from_the_prefix_and_refuses_the_rest() {
        assert_eq!(fetch_path("cus_123").unwrap(), "/v1/customers/cus_123");
        assert_eq!(
            fetch_path("cs_test_a1").unwrap(),
            "/v1/checkout/sessions/cs_test_a1"
        );
        assert_eq!(
            fetch_path("sub_sched_1").unwrap(),
            "/v1/subscription_schedules/sub_sched_1"
        );
        let e = fetch_path("SUMMER25").unwrap_err();
        assert!(e.message.contains("wrong prefix"), "{}", e.message);
        assert!(e.hint.unwrap().contains("cus_, "));
        assert!(fetch_path("cus_1/../../v1/balance").is_err());
        assert!(fetch_path("cus_1?expand=x").is_err());
        assert!(fetch_path("").is_err());
    }
}
