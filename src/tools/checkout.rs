//! `initiate_checkout`: a real Stripe Checkout Session and its payment URL;
//! `get_checkout_session`, `list_checkout_sessions`, `expire_checkout_session`.

use std::collections::BTreeMap;

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    Amount, Money, ToolError, check_email, check_id, check_metadata, check_text, check_url,
    idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey, Mode,
        checkout::{
            CheckoutMode, CheckoutSession, CreateCheckoutSession, LineItem, PriceData, ProductData,
        },
        currency,
    },
    tools::StripeMcp,
};

/// Arguments of `get_checkout_session`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCheckoutSessionArgs {
    /// The Checkout Session (cs_...), e.g. the session_id initiate_checkout returned.
    pub session: String,
}

/// Arguments of `expire_checkout_session`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpireCheckoutSessionArgs {
    /// The open Checkout Session (cs_...) whose payment link should stop working.
    pub session: String,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// A Checkout Session status to filter by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// Still payable.
    Open,
    /// Paid (or set up) by the customer.
    Complete,
    /// Expired unpaid.
    Expired,
}

/// Arguments of `list_checkout_sessions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCheckoutSessionsArgs {
    /// Only this customer's sessions (cus_...).
    pub customer: Option<String>,
    /// Only the session of this payment intent (pi_...).
    pub payment_intent: Option<String>,
    /// Only sessions in this state: "open", "complete" or "expired".
    pub status: Option<CheckoutStatus>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// A Checkout Session as `get_checkout_session`, `list_checkout_sessions` and `expire_checkout_session` return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckoutSessionOutput {
    /// cs_...
    pub id: String,
    /// open (still payable), complete or expired.
    pub status: Option<String>,
    /// paid, unpaid or no_payment_required. Fulfil only when paid (and, for certainty, on Stripe's checkout.session.completed webhook).
    pub payment_status: Option<String>,
    /// payment, subscription or setup.
    pub mode: String,
    /// The total after discounts and taxes.
    pub amount_total: Option<Money>,
    /// The customer (cus_...), if any.
    pub customer: Option<String>,
    /// The customer's email: what they entered on the page, else the one the session was created with.
    pub customer_email: Option<String>,
    /// The payment page, while the session is open.
    pub url: Option<String>,
    /// The payment intent (pi_...), in payment mode.
    pub payment_intent: Option<String>,
    /// The subscription (sub_...), in subscription mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// Your reference (order or cart id), if given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_reference_id: Option<String>,
    /// Key-value notes.
    pub metadata: BTreeMap<String, String>,
    /// When the payment page stops (or stopped) working (Unix seconds).
    pub expires_at: i64,
    /// Unix seconds.
    pub created: i64,
    /// True when real money moves.
    pub livemode: bool,
    /// Writes only: the key used; reuse it to retry safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl CheckoutSessionOutput {
    /// The compact view of a session.
    pub fn from_stripe(s: CheckoutSession, key: Option<&IdempotencyKey>) -> Self {
        CheckoutSessionOutput {
            amount_total: s
                .amount_total
                .zip(s.currency.as_deref())
                .map(|(a, c)| Money::new(a, c)),
            customer_email: s
                .customer_details
                .and_then(|d| d.email)
                .or(s.customer_email),
            id: s.id,
            status: s.status,
            payment_status: s.payment_status,
            mode: s.mode,
            customer: s.customer,
            url: s.url,
            payment_intent: s.payment_intent,
            subscription: s.subscription,
            client_reference_id: s.client_reference_id,
            metadata: s.metadata.unwrap_or_default(),
            expires_at: s.expires_at,
            created: s.created,
            livemode: s.livemode,
            idempotency_key: key.map(|k| k.as_str().to_owned()),
        }
    }
}

/// What `list_checkout_sessions` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListCheckoutSessionsOutput {
    /// Newest first.
    pub sessions: Vec<CheckoutSessionOutput>,
    /// True when more follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/checkout/sessions`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckoutSessionFilters {
    /// `cus_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// `pi_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    /// open, complete or expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CheckoutStatus>,
}

/// Validates `list_checkout_sessions`' arguments: the filters, the limit and the cursor.
pub fn build_list(
    args: ListCheckoutSessionsArgs,
) -> Result<(CheckoutSessionFilters, u32, Option<String>), ToolError> {
    Ok((
        CheckoutSessionFilters {
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
            payment_intent: args
                .payment_intent
                .map(|p| check_id("payment_intent", &p, &["pi_"]))
                .transpose()?,
            status: args.status,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["cs_"]))
            .transpose()?,
    ))
}

/// Stripe's limit on line items in one session.
pub const MAX_LINE_ITEMS: usize = 100;

/// Arguments of `initiate_checkout`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InitiateCheckoutArgs {
    /// One inline item: the name on the payment page (with unit_amount, currency).
    pub product_name: Option<String>,
    /// One inline item: price of ONE unit in minor units (4999 = $49.99, 500 = ¥500).
    pub unit_amount: Option<Amount>,
    /// ISO code, e.g. "usd"; needed with inline pricing.
    pub currency: Option<String>,
    /// One item: units, default 1.
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
    /// One item: a Price id (price_...) instead of inline pricing.
    pub price: Option<String>,
    /// 1 to 100 items instead of the one-item fields.
    pub line_items: Option<Vec<LineItemArg>>,
    /// Default payment; subscription needs recurring prices.
    pub mode: Option<CheckoutMode>,
    /// Pre-fills the email (not with customer).
    pub customer_email: Option<String>,
    /// Customer to attach (cus_...; not with customer_email).
    pub customer: Option<String>,
    /// Your product id, kept in metadata for fulfillment.
    pub product_id: Option<String>,
    /// Your order or cart id (≤200 chars), echoed in webhooks.
    pub client_reference_id: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Link lifetime, default 1440.
    #[schemars(range(min = 30, max = 1440))]
    pub expires_in_minutes: Option<u32>,
    /// Where the payer lands (may hold {CHECKOUT_SESSION_ID}). Default {APP_BASE_URL}/success.
    pub success_url: Option<String>,
    /// Back link. Default {APP_BASE_URL}/cancel.
    pub cancel_url: Option<String>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// One line item of `initiate_checkout`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemArg {
    /// A Price id, or else product_name + unit_amount + currency.
    pub price: Option<String>,
    /// Name on the payment page.
    pub product_name: Option<String>,
    /// ONE unit in minor units (4999 = $49.99).
    pub unit_amount: Option<Amount>,
    /// ISO code, e.g. "usd".
    pub currency: Option<String>,
    /// Units, default 1.
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
}

/// What `initiate_checkout` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckoutOutput {
    /// The hosted payment page: give this link to the customer.
    pub checkout_url: Option<String>,
    /// The Checkout Session id (cs_...), for looking the payment up later.
    pub session_id: String,
    /// When the link stops working (Unix seconds).
    pub expires_at: i64,
    /// Total in the smallest currency unit.
    pub amount_total: Option<i64>,
    /// The total formatted for people, e.g. "$49.99".
    pub amount_total_display: Option<String>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// payment or subscription.
    pub mode: String,
    /// True when real money will move.
    pub livemode: bool,
    /// The key this session was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Environment the request builder needs.
#[derive(Debug, Clone)]
pub struct CheckoutContext<'a> {
    /// The key's mode (https is required for URLs in live mode).
    pub mode: Mode,
    /// `APP_BASE_URL`, for default redirect URLs.
    pub app_base_url: Option<&'a Url>,
    /// Unix seconds now, for `expires_at`.
    pub now: i64,
}

/// Validates the arguments and builds Stripe's request. Nothing is sent.
pub fn build_request(
    args: InitiateCheckoutArgs,
    cx: &CheckoutContext<'_>,
) -> Result<(CreateCheckoutSession, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let mode = args.mode.unwrap_or(CheckoutMode::Payment);

    let single = args.product_name.is_some()
        || args.unit_amount.is_some()
        || args.currency.is_some()
        || args.quantity.is_some()
        || args.price.is_some();
    // Refusals name the fields the caller sent: `unit_amount` for the one-item form,
    // `line_items[2].unit_amount` for a list.
    let one_item_form = args.line_items.is_none();
    let items: Vec<LineItemArg> = match (args.line_items, single) {
        (Some(_), true) => {
            return Err(ToolError::invalid(
                "give either line_items or the single-item fields (product_name, unit_amount, currency, quantity, price), not both",
            ));
        }
        (Some(items), false) => items,
        (None, true) => vec![LineItemArg {
            price: args.price,
            product_name: args.product_name,
            unit_amount: args.unit_amount,
            currency: args.currency,
            quantity: args.quantity,
        }],
        (None, false) => {
            return Err(ToolError::invalid(
                "nothing to sell: give product_name + unit_amount + currency (inline pricing), a price id, or line_items",
            ));
        }
    };
    if items.is_empty() {
        return Err(ToolError::invalid("line_items must have at least one item"));
    }
    if items.len() > MAX_LINE_ITEMS {
        return Err(ToolError::invalid(format!(
            "line_items has {} items; a Checkout Session takes at most {MAX_LINE_ITEMS}",
            items.len()
        )));
    }
    let mut line_items = Vec::with_capacity(items.len());
    let mut session_currency: Option<String> = None;
    for (i, item) in items.into_iter().enumerate() {
        let at = |f: &str| {
            if one_item_form {
                f.to_owned()
            } else {
                format!("line_items[{i}].{f}")
            }
        };
        let item_name = if one_item_form {
            "the item".to_owned()
        } else {
            format!("line_items[{i}]")
        };
        let quantity = u64::from(item.quantity.unwrap_or(1));
        if quantity == 0 {
            return Err(ToolError::invalid(format!(
                "{} must be at least 1",
                at("quantity")
            )));
        }
        let inline =
            item.product_name.is_some() || item.unit_amount.is_some() || item.currency.is_some();
        let line = match (item.price, inline) {
            (Some(_), true) => {
                return Err(ToolError::invalid(format!(
                    "{item_name} gives both price and inline pricing (product_name/unit_amount/currency): choose one"
                )));
            }
            (Some(price), false) => LineItem {
                price: Some(check_id(&at("price"), &price, &["price_"])?),
                price_data: None,
                quantity,
            },
            (None, true) => {
                if mode == CheckoutMode::Subscription {
                    return Err(ToolError::invalid(
                        "subscription mode needs recurring price ids (price_...) in line_items, not inline pricing",
                    )
                    .with_hint("Create a recurring price with create_price (recurring), or find one with list_prices, then pass its id as price."));
                }
                let name = item.product_name.ok_or_else(|| {
                    ToolError::invalid(format!(
                        "{} is required with inline pricing",
                        at("product_name")
                    ))
                })?;
                let name = check_text(&at("product_name"), &name, 250)?;
                let currency_raw = item.currency.ok_or_else(|| {
                    ToolError::invalid(format!(
                        "{} is required with inline pricing: a lowercase ISO code such as \"usd\"",
                        at("currency")
                    ))
                })?;
                let currency = currency::parse_currency(&currency_raw)
                    .map_err(|m| ToolError::invalid(format!("{}: {m}", at("currency"))))?;
                let unit_amount = item
                    .unit_amount
                    .ok_or_else(|| {
                        ToolError::invalid(format!(
                            "{} is required with inline pricing: the price of one unit in the smallest currency unit",
                            at("unit_amount")
                        ))
                    })?
                    .minor_units(&at("unit_amount"), Some(&currency))?;
                match &session_currency {
                    Some(c) if *c != currency => {
                        return Err(ToolError::invalid(format!(
                            "all line items must use one currency: {} is {currency} but an earlier item is {c}",
                            at("currency")
                        )));
                    }
                    _ => session_currency = Some(currency.clone()),
                }
                LineItem {
                    price: None,
                    price_data: Some(PriceData {
                        currency,
                        unit_amount,
                        product_data: ProductData { name },
                    }),
                    quantity,
                }
            }
            (None, false) => {
                return Err(ToolError::invalid(format!(
                    "{item_name} needs either price (price_...) or product_name + unit_amount + currency"
                )));
            }
        };
        line_items.push(line);
    }

    let customer_email = args
        .customer_email
        .map(|e| check_email("customer_email", &e))
        .transpose()?;
    let customer = args
        .customer
        .map(|c| check_id("customer", &c, &["cus_"]))
        .transpose()?;
    if customer_email.is_some() && customer.is_some() {
        return Err(ToolError::invalid(
            "give customer_email or customer, not both (Stripe uses the customer's own email)",
        ));
    }
    let client_reference_id = args
        .client_reference_id
        .map(|r| check_text("client_reference_id", &r, 200))
        .transpose()?;

    let product_id = args
        .product_id
        .map(|p| check_text("product_id", &p, 500))
        .transpose()?;
    let mut metadata = check_metadata(args.metadata, usize::from(product_id.is_some()))?;
    if let Some(p) = product_id {
        if metadata.contains_key("product_id") {
            return Err(ToolError::invalid(
                "product_id is given both as an argument and in metadata: give it once",
            ));
        }
        metadata.insert("product_id".into(), p);
    }

    let expires_at = match args.expires_in_minutes {
        None => None,
        Some(m) if (30..=1440).contains(&m) => {
            // Stripe counts from when it receives the request: keep a minute's margin
            // inside its 30-minute-to-24-hour window so the bounds are never refused.
            let secs = i64::from(m) * 60;
            Some(cx.now + secs.clamp(31 * 60, 1439 * 60))
        }
        Some(m) => {
            return Err(ToolError::invalid(format!(
                "expires_in_minutes must be between 30 and 1440 (24 hours), got {m}"
            )));
        }
    };

    let base = cx
        .app_base_url
        .map(|b| b.as_str().trim_end_matches('/').to_owned());
    let success_url = match (args.success_url, &base) {
        (Some(u), _) => check_url("success_url", &u, cx.mode)?,
        (None, Some(b)) => format!("{b}/success?session_id={{CHECKOUT_SESSION_ID}}"),
        (None, None) => {
            return Err(ToolError::invalid(
                "success_url is required: pass an absolute URL, or start the server with APP_BASE_URL set (then {APP_BASE_URL}/success?session_id={CHECKOUT_SESSION_ID} is used)",
            ));
        }
    };
    let cancel_url = match (args.cancel_url, &base) {
        (Some(u), _) => Some(check_url("cancel_url", &u, cx.mode)?),
        (None, Some(b)) => Some(format!("{b}/cancel")),
        (None, None) => None,
    };
    if let Some(b) = &base {
        check_url("APP_BASE_URL", b, cx.mode)?;
    }

    Ok((
        CreateCheckoutSession {
            mode,
            line_items,
            success_url,
            cancel_url,
            customer_email,
            customer,
            client_reference_id,
            expires_at,
            metadata,
        },
        key,
    ))
}

#[tool_router(router = checkout_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Take a payment: create a Checkout Session and return checkout_url, Stripe's payment page for the customer. One item inline (product_name, unit_amount, currency) or by price, or line_items. Payment is confirmed later by webhook, not by this call.
    #[tool(annotations(
        title = "Create a checkout payment link",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn initiate_checkout(
        &self,
        Parameters(args): Parameters<InitiateCheckoutArgs>,
    ) -> Result<Json<CheckoutOutput>, ToolError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let cx = CheckoutContext {
            mode: self.client.mode(),
            app_base_url: self.settings.app_base_url.as_ref(),
            now,
        };
        let (params, key) = build_request(args, &cx)?;
        let session = self
            .write(self.client.create_checkout_session(&params, &key), &key)
            .await?;
        Ok(Json(CheckoutOutput {
            checkout_url: session.url,
            amount_total_display: session
                .amount_total
                .zip(session.currency.as_deref())
                .map(|(a, c)| currency::display(a, c)),
            session_id: session.id,
            expires_at: session.expires_at,
            amount_total: session.amount_total,
            currency: session.currency,
            mode: session.mode,
            livemode: session.livemode,
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// Get a Checkout Session (cs_...): status, payment_status ("paid" = collected), total, customer, URL while open, payment intent, metadata.
    #[tool(annotations(
        title = "Get a checkout session",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_checkout_session(
        &self,
        Parameters(args): Parameters<GetCheckoutSessionArgs>,
    ) -> Result<Json<CheckoutSessionOutput>, ToolError> {
        let id = check_id("session", &args.session, &["cs_"])?;
        let session = self
            .client
            .retrieve_checkout_session(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(CheckoutSessionOutput::from_stripe(session, None)))
    }

    /// List Checkout Sessions, newest first, by customer, payment intent or status: status, payment status, total, email, URL while open.
    #[tool(annotations(
        title = "List checkout sessions",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_checkout_sessions(
        &self,
        Parameters(args): Parameters<ListCheckoutSessionsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListCheckoutSessionsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<CheckoutSession> = pagination::list(
            self,
            "/v1/checkout/sessions",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListCheckoutSessionsOutput {
            sessions: page
                .items
                .into_iter()
                .map(|s| CheckoutSessionOutput::from_stripe(s, None))
                .collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Expire an open Checkout Session (cs_...) now: its link stops working. Cannot be undone.
    #[tool(annotations(
        title = "Expire a checkout session",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn expire_checkout_session(
        &self,
        Parameters(args): Parameters<ExpireCheckoutSessionArgs>,
    ) -> Result<Json<CheckoutSessionOutput>, ToolError> {
        let key = idempotency_key(args.idempotency_key.as_deref())?;
        let id = check_id("session", &args.session, &["cs_"])?;
        let session = self
            .write(self.client.expire_checkout_session(&id, &key), &key)
            .await?;
        Ok(Json(CheckoutSessionOutput::from_stripe(
            session,
            Some(&key),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: serde_json::Value) -> InitiateCheckoutArgs {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> Url {
        Url::parse("https://shop.example").unwrap()
    }

    fn build(v: serde_json::Value) -> Result<CreateCheckoutSession, ToolError> {
        let b = base();
        let cx = CheckoutContext {
            mode: Mode::Test,
            app_base_url: Some(&b),
            now: 1_700_000_000,
        };
        build_request(args(v), &cx).map(|(p, _)| p)
    }

    fn refused(v: serde_json::Value) -> String {
        build(v).unwrap_err().message
    }

    #[test]
    fn inline_pricing_builds_one_line_item_with_default_urls() {
        let p = build(json!({"product_name": "Mug", "unit_amount": 1500, "currency": "USD", "quantity": 2, "product_id": "sku-1"})).unwrap();
        assert_eq!(p.mode, CheckoutMode::Payment);
        let item = &p.line_items[0];
        assert_eq!(item.quantity, 2);
        let pd = item.price_data.as_ref().unwrap();
        assert_eq!((pd.unit_amount, pd.currency.as_str()), (1500, "usd"));
        assert_eq!(
            p.success_url,
            "https://shop.example/success?session_id={CHECKOUT_SESSION_ID}"
        );
        assert_eq!(p.cancel_url.as_deref(), Some("https://shop.example/cancel"));
        assert_eq!(
            p.metadata.get("product_id").map(String::as_str),
            Some("sku-1")
        );
    }

    #[test]
    fn expiry_is_sent_as_an_absolute_time_inside_stripes_window() {
        let p = build(json!({"price": "price_1", "expires_in_minutes": 60})).unwrap();
        assert_eq!(p.expires_at, Some(1_700_000_000 + 3600));
        let p = build(json!({"price": "price_1", "expires_in_minutes": 30})).unwrap();
        assert_eq!(p.expires_at, Some(1_700_000_000 + 31 * 60));
        let p = build(json!({"price": "price_1", "expires_in_minutes": 1440})).unwrap();
        assert_eq!(p.expires_at, Some(1_700_000_000 + 1439 * 60));
        assert!(
            refused(json!({"price": "price_1", "expires_in_minutes": 29}))
                .contains("between 30 and 1440")
        );
        assert!(
            refused(json!({"price": "price_1", "expires_in_minutes": 1441}))
                .contains("between 30 and 1440")
        );
    }

    #[test]
    fn bad_input_is_refused_before_sending() {
        assert!(
            refused(json!({"product_name": "Mug", "unit_amount": 15.5, "currency": "usd"}))
                .contains("integer")
        );
        assert!(
            refused(json!({"product_name": "Mug", "unit_amount": -1, "currency": "usd"}))
                .contains("negative")
        );
        assert!(
            refused(json!({"product_name": "Mug", "unit_amount": 100, "currency": "usd "}))
                .contains("spaces")
        );
        assert!(
            refused(json!({"product_name": "Mug", "unit_amount": 100, "currency": "dollars"}))
                .contains("\"usd\"")
        );
        assert!(refused(json!({"product_name": "Mug", "unit_amount": 100})).contains("currency"));
        assert!(refused(json!({"unit_amount": 100, "currency": "usd"})).contains("product_name"));
        assert!(refused(json!({})).contains("nothing to sell"));
        assert!(refused(json!({"price": "prod_1"})).contains("wrong prefix"));
        assert!(refused(json!({"price": "price_1", "quantity": 0})).contains("at least 1"));
        assert!(
            refused(json!({"price": "price_1", "success_url": "shop.example/ok"}))
                .contains("absolute")
        );
        assert!(
            refused(json!({"price": "price_1", "customer": "cus_1", "customer_email": "a@b.co"}))
                .contains("not both")
        );
        assert!(
            refused(json!({"price": "price_1", "line_items": [{"price": "price_2"}]}))
                .contains("not both")
        );
        assert!(
            refused(json!({"line_items": [{"price": "price_2", "product_name": "x"}]}))
                .contains("choose one")
        );
        assert!(
            refused(json!({"line_items": [
            {"product_name": "a", "unit_amount": 1, "currency": "usd"},
            {"product_name": "b", "unit_amount": 1, "currency": "eur"}]}))
            .contains("one currency")
        );
        assert!(refused(json!({"mode": "subscription", "product_name": "a", "unit_amount": 1, "currency": "usd"})).contains("recurring"));
    }

    #[test]
    fn refusals_of_the_one_item_form_name_the_fields_that_were_sent() {
        let amount =
            refused(json!({"product_name": "Tee", "unit_amount": 49.99, "currency": "usd"}));
        assert!(amount.starts_with("unit_amount "), "{amount}");
        assert!(!amount.contains("line_items"), "{amount}");
        let quantity = refused(json!({"price": "price_1", "quantity": 0}));
        assert!(quantity.starts_with("quantity "), "{quantity}");
        let missing = refused(json!({"product_name": "Tee", "unit_amount": 500}));
        assert!(missing.starts_with("currency "), "{missing}");
        // With a list, the item's position is named.
        let listed = refused(
            json!({"line_items": [{"price": "price_1"}, {"price": "price_2", "quantity": 0}]}),
        );
        assert!(listed.starts_with("line_items[1].quantity "), "{listed}");
    }

    #[test]
    fn a_hundred_line_items_pass_and_the_hundred_and_first_is_refused() {
        let items: Vec<_> = (0..100).map(|_| json!({"price": "price_1"})).collect();
        assert_eq!(
            build(json!({"line_items": items}))
                .unwrap()
                .line_items
                .len(),
            100
        );
        let items: Vec<_> = (0..101).map(|_| json!({"price": "price_1"})).collect();
        assert!(refused(json!({"line_items": items})).contains("at most 100"));
    }

    #[test]
    fn without_a_base_url_a_success_url_is_required_and_never_localhost() {
        let cx = CheckoutContext {
            mode: Mode::Test,
            app_base_url: None,
            now: 0,
        };
        let e = build_request(args(json!({"price": "price_1"})), &cx).unwrap_err();
        assert!(e.message.contains("success_url is required"));
        let (p, _) = build_request(
            args(json!({"price": "price_1", "success_url": "https://a.example/ok"})),
            &cx,
        )
        .unwrap();
        assert_eq!(p.cancel_url, None);
    }

    #[test]
    fn live_mode_requires_https() {
        let cx = CheckoutContext {
            mode: Mode::Live,
            app_base_url: None,
            now: 0,
        };
        let e = build_request(
            args(json!({"price": "price_1", "success_url": "http://a.example/ok"})),
            &cx,
        )
        .unwrap_err();
        assert!(e.message.contains("https"));
        let http_base = Url::parse("http://shop.example").unwrap();
        let cx = CheckoutContext {
            mode: Mode::Live,
            app_base_url: Some(&http_base),
            now: 0,
        };
        assert!(build_request(args(json!({"price": "price_1"})), &cx).is_err());
    }

    #[test]
    fn list_checkout_sessions_checks_its_filters() {
        let l = |v| build_list(serde_json::from_value(v).unwrap());
        let (f, limit, after) = l(json!({"customer": "cus_1", "payment_intent": "pi_1", "status": "complete", "limit": 20, "starting_after": "cs_test_1"})).unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&f).unwrap(),
            "customer=cus_1&payment_intent=pi_1&status=complete"
        );
        assert_eq!((limit, after.as_deref()), (20, Some("cs_test_1")));
        assert!(l(json!({"customer": "cs_1"})).is_err());
        assert!(l(json!({"payment_intent": "cus_1"})).is_err());
        assert!(l(json!({"starting_after": "pi_1"})).is_err());
        assert!(
            serde_json::from_value::<ListCheckoutSessionsArgs>(json!({"status": "paid"})).is_err()
        );
    }

    #[test]
    fn the_customer_email_comes_from_the_page_or_the_session() {
        let s: CheckoutSession = serde_json::from_value(json!({
            "id": "cs_1", "mode": "payment", "amount_total": 4999, "currency": "usd",
            "customer_email": "given@example.com", "customer_details": {"email": "typed@example.com"},
            "customer": {"id": "cus_1", "object": "customer"}
        }))
        .unwrap();
        let out = CheckoutSessionOutput::from_stripe(s, None);
        assert_eq!(out.customer_email.as_deref(), Some("typed@example.com"));
        assert_eq!(out.customer.as_deref(), Some("cus_1"));
        assert_eq!(out.amount_total.unwrap().display, "$49.99");
        let s: CheckoutSession = serde_json::from_value(json!({
            "id": "cs_1", "mode": "payment", "customer_email": "given@example.com", "customer_details": null
        }))
        .unwrap();
        let out = CheckoutSessionOutput::from_stripe(s, None);
        assert_eq!(out.customer_email.as_deref(), Some("given@example.com"));
        assert!(out.amount_total.is_none());
    }

    #[test]
    fn a_given_idempotency_key_is_used_and_a_missing_one_is_generated() {
        let b = base();
        let cx = CheckoutContext {
            mode: Mode::Test,
            app_base_url: Some(&b),
            now: 0,
        };
        let (_, k) = build_request(
            args(json!({"price": "price_1", "idempotency_key": "order-77"})),
            &cx,
        )
        .unwrap();
        assert_eq!(k.as_str(), "order-77");
        let (_, k) = build_request(args(json!({"price": "price_1"})), &cx).unwrap();
        assert_eq!(k.as_str().len(), 36);
    }
}
