//! `create_price` and `list_prices`: what a product costs, once or on a schedule.

use std::collections::BTreeMap;

use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{
    Amount, Money, ToolError, check_id, check_metadata, check_text, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey, currency,
        prices::{CreatePrice, Interval, Price, RecurringParams},
    },
    tools::StripeMcp,
};

/// The billing period of a recurring price.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurringArg {
    /// "day", "week", "month" or "year".
    pub interval: Interval,
    /// Every n intervals (default 1; 3 months = quarterly), at most three years.
    #[schemars(range(min = 1, max = 1095))]
    pub interval_count: Option<u32>,
}

/// Arguments of `create_price`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePriceArgs {
    /// The product this price is for (prod_...); create it first with create_product.
    pub product: String,
    /// ONE unit in minor units (1999 = $19.99, 500 = ¥500; 0 = free).
    pub unit_amount: Amount,
    /// Three-letter lowercase ISO currency code, e.g. "usd", "eur", "jpy".
    pub currency: String,
    /// For subscriptions, e.g. {"interval": "month"}; omit for one-time.
    pub recurring: Option<RecurringArg>,
    /// Internal name for the price, not shown to customers (at most 5000 characters).
    pub nickname: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// A price's billing period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecurringSummary {
    /// day, week, month or year.
    pub interval: String,
    /// Bills every this many intervals.
    pub interval_count: Option<u32>,
}

/// A price as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PriceSummary {
    /// price_...
    pub id: String,
    /// The product (prod_...).
    pub product: Option<String>,
    /// Whether it can be used for new purchases.
    pub active: Option<bool>,
    /// Price of one unit; absent for tiered or customer-chosen prices.
    pub unit_amount: Option<Money>,
    /// Lowercase ISO code.
    pub currency: String,
    /// one_time or recurring.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The billing period, for a recurring price.
    pub recurring: Option<RecurringSummary>,
    /// Internal name.
    pub nickname: Option<String>,
}

impl From<Price> for PriceSummary {
    fn from(p: Price) -> Self {
        PriceSummary {
            unit_amount: p.unit_amount.map(|a| Money::new(a, &p.currency)),
            id: p.id,
            product: p.product,
            active: p.active,
            currency: p.currency,
            kind: p.kind,
            recurring: p.recurring.map(|r| RecurringSummary {
                interval: r.interval,
                interval_count: r.interval_count,
            }),
            nickname: p.nickname,
        }
    }
}

/// What `create_price` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreatePriceOutput {
    /// The new price.
    pub price: PriceSummary,
    /// The key this price was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Stripe's longest billing period: three years.
fn max_interval_count(interval: Interval) -> u32 {
    match interval {
        Interval::Day => 1095,
        Interval::Week => 156,
        Interval::Month => 36,
        Interval::Year => 3,
    }
}

/// Validates `create_price`'s arguments. Nothing is sent.
pub fn build_request(args: CreatePriceArgs) -> Result<(CreatePrice, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let product = check_id("product", &args.product, &["prod_"])?;
    let currency = currency::parse_currency(&args.currency)
        .map_err(|m| ToolError::invalid(format!("currency: {m}")))?;
    let unit_amount = args
        .unit_amount
        .minor_units("unit_amount", Some(&currency))?;
    let recurring = match args.recurring {
        None => None,
        Some(r) => {
            if let Some(n) = r.interval_count {
                let max = max_interval_count(r.interval);
                if n == 0 || n > max {
                    return Err(ToolError::invalid(format!(
                        "recurring.interval_count must be between 1 and {max} for this interval (at most three years), got {n}"
                    )));
                }
            }
            Some(RecurringParams {
                interval: r.interval,
                interval_count: r.interval_count,
            })
        }
    };
    Ok((
        CreatePrice {
            product,
            unit_amount,
            currency,
            recurring,
            nickname: args
                .nickname
                .map(|n| check_text("nickname", &n, 5000))
                .transpose()?,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// one_time or recurring.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceType {
    /// Charged once.
    OneTime,
    /// Charged every billing period (subscriptions).
    Recurring,
}

/// Arguments of `list_prices`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPricesArgs {
    /// Only prices of this product (prod_...).
    pub product: Option<String>,
    /// true: only prices usable for new purchases; false: only archived ones. Omit for both.
    pub active: Option<bool>,
    /// "one_time" or "recurring". Omit for both.
    #[serde(rename = "type")]
    pub kind: Option<PriceType>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/prices`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PriceFilters {
    /// prod_...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Active or archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// one_time or recurring.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<PriceType>,
}

/// What `list_prices` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListPricesOutput {
    /// Newest first.
    pub prices: Vec<PriceSummary>,
    /// True when more prices follow.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Validates `list_prices`' arguments: filters, limit and cursor.
pub fn build_query(args: ListPricesArgs) -> Result<(PriceFilters, u32, Option<String>), ToolError> {
    Ok((
        PriceFilters {
            product: args
                .product
                .map(|p| check_id("product", &p, &["prod_"]))
                .transpose()?,
            active: args.active,
            kind: args.kind,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["price_", "plan_"]))
            .transpose()?,
    ))
}

#[tool_router(router = prices_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a one-time or recurring price for a product. Amounts never change later: make a new price.
    #[tool(annotations(
        title = "Create a price",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_price(
        &self,
        Parameters(args): Parameters<CreatePriceArgs>,
    ) -> Result<Json<CreatePriceOutput>, ToolError> {
        let (params, key) = build_request(args)?;
        let price = self
            .write(self.client.create_price(&params, &key), &key)
            .await?;
        Ok(Json(CreatePriceOutput {
            price: price.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// List prices, newest first, by product, active or type: id, product, amount, type, interval, nickname.
    #[tool(annotations(
        title = "List prices",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_prices(
        &self,
        Parameters(args): Parameters<ListPricesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListPricesOutput>, ToolError> {
        let (filters, limit, starting_after) = build_query(args)?;
        let page: Listed<Price> = pagination::list(
            self,
            "/v1/prices",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListPricesOutput {
            prices: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: serde_json::Value) -> Result<CreatePrice, ToolError> {
        build_request(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    #[test]
    fn a_price_without_recurring_is_one_time() {
        let p =
            create(json!({"product": "prod_1", "unit_amount": 1999, "currency": "USD"})).unwrap();
        assert_eq!((p.unit_amount, p.currency.as_str()), (1999, "usd"));
        assert!(p.recurring.is_none());
    }

    #[test]
    fn a_recurring_price_checks_its_interval_count() {
        let p = create(
            json!({"product": "prod_1", "unit_amount": 900, "currency": "eur",
            "recurring": {"interval": "month", "interval_count": 3}}),
        )
        .unwrap();
        let r = p.recurring.unwrap();
        assert_eq!((r.interval, r.interval_count), (Interval::Month, Some(3)));
        for bad in [
            json!({"interval": "month", "interval_count": 0}),
            json!({"interval": "month", "interval_count": 37}),
            json!({"interval": "year", "interval_count": 4}),
        ] {
            assert!(
                create(json!({"product": "prod_1", "unit_amount": 900, "currency": "eur", "recurring": bad}))
                    .unwrap_err()
                    .message
                    .contains("interval_count")
            );
        }
        assert!(
            serde_json::from_value::<CreatePriceArgs>(
                json!({"product": "prod_1", "unit_amount": 1,
                "currency": "eur", "recurring": {"interval": "fortnight"}})
            )
            .is_err()
        );
    }

    #[test]
    fn bad_products_amounts_and_currencies_are_refused() {
        assert!(
            create(json!({"product": "price_1", "unit_amount": 1, "currency": "usd"}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
        assert!(
            create(json!({"product": "prod_1", "unit_amount": 19.99, "currency": "usd"}))
                .unwrap_err()
                .message
                .contains("send 1999")
        );
        assert!(
            create(json!({"product": "prod_1", "unit_amount": 1, "currency": "dollars"})).is_err()
        );
        assert!(
            create(
                json!({"product": "prod_1", "unit_amount": 1, "currency": "usd", "nickname": " "})
            )
            .is_err()
        );
    }

    #[test]
    fn list_filters_are_checked() {
        let q = |v| build_query(serde_json::from_value(v).unwrap());
        let (f, _, c) = q(json!({"product": "prod_1", "active": true, "type": "recurring", "starting_after": "price_9"})).unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&f).unwrap(),
            "product=prod_1&active=true&type=recurring"
        );
        assert_eq!(c.as_deref(), Some("price_9"));
        assert!(q(json!({"product": "cus_1"})).is_err());
        assert!(q(json!({"starting_after": "prod_1"})).is_err());
    }
}
