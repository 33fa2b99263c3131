//! Subscriptions: `create_subscription`, `get_subscription`, `list_subscriptions`,
//! `update_subscription`, `cancel_subscription`.

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
    Money, ToolError, check_id, check_metadata, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        subscriptions::{
            CancelSubscription, CollectionMethod, CreateSubscription, PaymentBehavior,
            ProrationBehavior, Subscription, SubscriptionItemParams, UpdateItemParams,
            UpdateSubscription,
        },
    },
    tools::StripeMcp,
};

/// Stripe's limit on items in one subscription.
pub const MAX_SUBSCRIPTION_ITEMS: usize = 20;
/// Stripe's longest trial.
pub const MAX_TRIAL_DAYS: u32 = 730;

/// One item of a subscription as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionItemSummary {
    /// si_... (use it in update_subscription to change or remove this item).
    pub id: String,
    /// The price billed (price_...).
    pub price: Option<String>,
    /// The product (prod_...).
    pub product: Option<String>,
    /// Price of one unit per interval.
    pub unit_amount: Option<Money>,
    /// day, week, month or year.
    pub interval: Option<String>,
    /// Bills every this many intervals.
    pub interval_count: Option<u32>,
    /// How many units.
    pub quantity: Option<u64>,
}

/// A subscription as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionSummary {
    /// sub_...
    pub id: String,
    /// The customer (cus_...).
    pub customer: Option<String>,
    /// active, trialing, incomplete, incomplete_expired, past_due, unpaid, canceled or paused.
    pub status: Option<String>,
    /// Start of the current billing period (Unix seconds).
    pub current_period_start: Option<i64>,
    /// End of the current billing period (Unix seconds): the next renewal, or the end if cancel_at_period_end.
    pub current_period_end: Option<i64>,
    /// True when the subscription ends at current_period_end instead of renewing.
    pub cancel_at_period_end: bool,
    /// When it is scheduled to end (Unix seconds), if scheduled.
    pub cancel_at: Option<i64>,
    /// When it was canceled (Unix seconds), if canceled.
    pub canceled_at: Option<i64>,
    /// When the trial ends (Unix seconds), if on trial.
    pub trial_end: Option<i64>,
    /// charge_automatically or send_invoice.
    pub collection_method: Option<String>,
    /// The most recent invoice (in_...).
    pub latest_invoice: Option<String>,
    /// What is billed.
    pub items: Vec<SubscriptionItemSummary>,
}

impl From<Subscription> for SubscriptionSummary {
    fn from(s: Subscription) -> Self {
        let items = s.items.map(|l| l.data).unwrap_or_default();
        // Newer API versions carry the period on each item rather than on the subscription.
        let current_period_start = s
            .current_period_start
            .or_else(|| items.iter().find_map(|i| i.current_period_start));
        let current_period_end = s
            .current_period_end
            .or_else(|| items.iter().find_map(|i| i.current_period_end));
        SubscriptionSummary {
            id: s.id,
            customer: s.customer,
            status: s.status,
            current_period_start,
            current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            cancel_at: s.cancel_at,
            canceled_at: s.canceled_at,
            trial_end: s.trial_end,
            collection_method: s.collection_method,
            latest_invoice: s.latest_invoice,
            items: items
                .into_iter()
                .map(|i| {
                    let price = i.price.or_else(|| i.plan.map(|p| p.into_price()));
                    let (interval, interval_count) = price
                        .as_ref()
                        .and_then(|p| p.recurring.as_ref())
                        .map(|r| (Some(r.interval.clone()), r.interval_count))
                        .unwrap_or((None, None));
                    SubscriptionItemSummary {
                        id: i.id,
                        unit_amount: price
                            .as_ref()
                            .and_then(|p| p.unit_amount.map(|a| Money::new(a, &p.currency))),
                        product: price.as_ref().and_then(|p| p.product.clone()),
                        price: price.map(|p| p.id),
                        interval,
                        interval_count,
                        quantity: i.quantity,
                    }
                })
                .collect(),
        }
    }
}

/// A subscription and the key the write used.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SubscriptionWriteOutput {
    /// The subscription after the change.
    pub subscription: SubscriptionSummary,
    /// The key this write was made with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// One item of `create_subscription`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionItemArg {
    /// A recurring Price id (price_...); see list_prices with type "recurring".
    pub price: String,
    /// How many units, at least 1. Default 1.
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
}

/// Arguments of `create_subscription`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscriptionArgs {
    /// The customer to bill (cus_...).
    pub customer: String,
    /// What to bill: 1 to 20 items, each {"price": "price_...", "quantity": n}, with recurring prices.
    pub items: Vec<SubscriptionItemArg>,
    /// Free trial length in days (1 to 730): nothing is charged until it ends.
    #[schemars(range(min = 1, max = 730))]
    pub trial_period_days: Option<u32>,
    /// Default charge_automatically; send_invoice emails invoices (needs days_until_due).
    pub collection_method: Option<CollectionMethod>,
    /// With send_invoice only: days the customer has to pay each invoice (1 to 365).
    #[schemars(range(min = 1, max = 365))]
    pub days_until_due: Option<u32>,
    /// default_incomplete: start incomplete with a first invoice to pay (no payment method on file); error_if_incomplete: fail if the first payment fails. Default allow_incomplete.
    pub payment_behavior: Option<PaymentBehavior>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

fn check_days_until_due(
    method: Option<CollectionMethod>,
    days: Option<u32>,
) -> Result<Option<u32>, ToolError> {
    match (method, days) {
        (Some(CollectionMethod::SendInvoice), None) => Err(ToolError::invalid(
            "collection_method send_invoice needs days_until_due: how many days the customer has to pay (e.g. 30)",
        )),
        (Some(CollectionMethod::SendInvoice), Some(d)) if !(1..=365).contains(&d) => Err(
            ToolError::invalid(format!("days_until_due must be between 1 and 365, got {d}")),
        ),
        (Some(CollectionMethod::SendInvoice), Some(d)) => Ok(Some(d)),
        (_, Some(_)) => Err(ToolError::invalid(
            "days_until_due only applies with collection_method \"send_invoice\"",
        )),
        (_, None) => Ok(None),
    }
}

/// Validates `create_subscription`'s arguments. Nothing is sent.
pub fn build_create(
    args: CreateSubscriptionArgs,
) -> Result<(CreateSubscription, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let customer = check_id("customer", &args.customer, &["cus_"])?;
    let n = args.items.len();
    if n == 0 || n > MAX_SUBSCRIPTION_ITEMS {
        return Err(ToolError::invalid(format!(
            "items has {n} entries; a subscription takes 1 to {MAX_SUBSCRIPTION_ITEMS}"
        )));
    }
    let mut items = Vec::with_capacity(n);
    for (i, item) in args.items.into_iter().enumerate() {
        let quantity = item.quantity.unwrap_or(1);
        if quantity == 0 {
            return Err(ToolError::invalid(format!(
                "items[{i}].quantity must be at least 1"
            )));
        }
        items.push(SubscriptionItemParams {
            price: check_id(
                &format!("items[{i}].price"),
                &item.price,
                &["price_", "plan_"],
            )?,
            quantity: u64::from(quantity),
        });
    }
    if let Some(d) = args.trial_period_days
        && !(1..=MAX_TRIAL_DAYS).contains(&d)
    {
        return Err(ToolError::invalid(format!(
            "trial_period_days must be between 1 and {MAX_TRIAL_DAYS}, got {d}"
        )));
    }
    let days_until_due = check_days_until_due(args.collection_method, args.days_until_due)?;
    if args.payment_behavior.is_some()
        && args.collection_method == Some(CollectionMethod::SendInvoice)
    {
        return Err(ToolError::invalid(
            "payment_behavior only applies with collection_method \"charge_automatically\"",
        ));
    }
    Ok((
        CreateSubscription {
            customer,
            items,
            trial_period_days: args.trial_period_days,
            collection_method: args.collection_method,
            days_until_due,
            payment_behavior: args.payment_behavior,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Arguments of `get_subscription`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSubscriptionArgs {
    /// The subscription id (sub_...).
    pub subscription: String,
}

/// Subscription statuses to list by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatusFilter {
    /// Paying and current.
    Active,
    /// Every status, canceled included.
    All,
    /// Canceled ones.
    Canceled,
    /// Canceled or expired incomplete ones.
    Ended,
    /// First payment not completed.
    Incomplete,
    /// First payment never completed; terminal.
    IncompleteExpired,
    /// A renewal payment failed; Stripe is retrying.
    PastDue,
    /// Paused (trial ended without a payment method).
    Paused,
    /// On a free trial.
    Trialing,
    /// Retries exhausted; invoices stay unpaid.
    Unpaid,
}

/// Arguments of `list_subscriptions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSubscriptionsArgs {
    /// Only this customer's subscriptions (cus_...).
    pub customer: Option<String>,
    /// Only subscriptions billing this price (price_...).
    pub price: Option<String>,
    /// Only this status; "all" includes canceled ones. Omit for every status except canceled.
    pub status: Option<SubscriptionStatusFilter>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/subscriptions`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubscriptionFilters {
    /// cus_...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// price_...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// A status or all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<SubscriptionStatusFilter>,
}

/// What `list_subscriptions` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListSubscriptionsOutput {
    /// Newest first.
    pub subscriptions: Vec<SubscriptionSummary>,
    /// True when more subscriptions follow.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Validates `list_subscriptions`' arguments: filters, limit and cursor.
pub fn build_list(
    args: ListSubscriptionsArgs,
) -> Result<(SubscriptionFilters, u32, Option<String>), ToolError> {
    Ok((
        SubscriptionFilters {
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
            price: args
                .price
                .map(|p| check_id("price", &p, &["price_", "plan_"]))
                .transpose()?,
            status: args.status,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["sub_"]))
            .transpose()?,
    ))
}

/// One item change of `update_subscription`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateItemArg {
    /// An existing item (si_..., from get_subscription) to change or remove. Omit to add a new item.
    pub id: Option<String>,
    /// With id: the new price; without: the price to add.
    pub price: Option<String>,
    /// The item's new quantity (at least 1). When adding, default 1.
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
    /// true (with id only) removes the item from the subscription.
    pub deleted: Option<bool>,
}

/// Arguments of `update_subscription`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscriptionArgs {
    /// The subscription to change (sub_...).
    pub subscription: String,
    /// Item changes: id + price replaces, id + quantity changes, price alone adds, id + deleted removes.
    pub items: Option<Vec<UpdateItemArg>>,
    /// true: end the subscription at the end of the current period (no more renewals); false: undo that.
    pub cancel_at_period_end: Option<bool>,
    /// Mid-period changes: create_prorations (default, next invoice), always_invoice (now) or none.
    pub proration_behavior: Option<ProrationBehavior>,
    /// Metadata to merge; "" removes a key.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Validates `update_subscription`'s arguments. Nothing is sent.
pub fn build_update(
    args: UpdateSubscriptionArgs,
) -> Result<(String, UpdateSubscription, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let id = check_id("subscription", &args.subscription, &["sub_"])?;
    let raw_items = args.items.unwrap_or_default();
    if raw_items.len() > MAX_SUBSCRIPTION_ITEMS {
        return Err(ToolError::invalid(format!(
            "items has {} entries; at most {MAX_SUBSCRIPTION_ITEMS}",
            raw_items.len()
        )));
    }
    let mut items = Vec::with_capacity(raw_items.len());
    for (i, item) in raw_items.into_iter().enumerate() {
        let at = |f: &str| format!("items[{i}].{f}");
        let id = item
            .id
            .map(|s| check_id(&at("id"), &s, &["si_"]))
            .transpose()?;
        let price = item
            .price
            .map(|p| check_id(&at("price"), &p, &["price_", "plan_"]))
            .transpose()?;
        if item.quantity == Some(0) {
            return Err(ToolError::invalid(format!(
                "{} must be at least 1; to remove the item send {{\"id\": \"si_...\", \"deleted\": true}}",
                at("quantity")
            )));
        }
        let quantity = item.quantity.map(u64::from);
        let deleted = item.deleted == Some(true);
        let params = match (id, deleted) {
            (None, true) => {
                return Err(ToolError::invalid(format!(
                    "items[{i}] removes an item but has no id: send the item's si_ id (see get_subscription)"
                )));
            }
            (Some(id), true) => {
                if price.is_some() || quantity.is_some() {
                    return Err(ToolError::invalid(format!(
                        "items[{i}] removes the item: do not send price or quantity with deleted"
                    )));
                }
                UpdateItemParams {
                    id: Some(id),
                    deleted: Some(true),
                    ..Default::default()
                }
            }
            (Some(id), false) => {
                if price.is_none() && quantity.is_none() {
                    return Err(ToolError::invalid(format!(
                        "items[{i}] names item {id} but changes nothing: send price, quantity or deleted"
                    )));
                }
                UpdateItemParams {
                    id: Some(id),
                    price,
                    quantity,
                    deleted: None,
                }
            }
            (None, false) => {
                let Some(price) = price else {
                    return Err(ToolError::invalid(format!(
                        "items[{i}] needs an id (si_..., to change an item) or a price (price_..., to add one)"
                    )));
                };
                UpdateItemParams {
                    id: None,
                    price: Some(price),
                    quantity: Some(quantity.unwrap_or(1)),
                    deleted: None,
                }
            }
        };
        items.push(params);
    }
    let params = UpdateSubscription {
        items,
        cancel_at_period_end: args.cancel_at_period_end,
        proration_behavior: args.proration_behavior,
        metadata: check_metadata(args.metadata, 0)?,
    };
    if params.items.is_empty()
        && params.cancel_at_period_end.is_none()
        && params.metadata.is_empty()
    {
        return Err(ToolError::invalid(
            "nothing to change: send items, cancel_at_period_end or metadata",
        ));
    }
    Ok((id, params, key))
}

/// Arguments of `cancel_subscription`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelSubscriptionArgs {
    /// The subscription to cancel (sub_...).
    pub subscription: String,
    /// true: end at the period's end (undo with update_subscription). Default: now.
    pub at_period_end: Option<bool>,
    /// Immediate cancellation only: invoice now for pending usage and prorations.
    pub invoice_now: Option<bool>,
    /// Immediate cancellation only: credit the customer for the unused time of the period.
    pub prorate: Option<bool>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// How `cancel_subscription` will cancel.
#[derive(Debug, Clone)]
pub enum Cancellation {
    /// `DELETE /v1/subscriptions/{id}`: ends now.
    Now(CancelSubscription),
    /// `POST /v1/subscriptions/{id}` with `cancel_at_period_end=true`.
    AtPeriodEnd(UpdateSubscription),
}

/// What `cancel_subscription` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CancelSubscriptionOutput {
    /// "immediately" (status is now canceled) or "at_period_end" (it runs until current_period_end, then ends).
    pub canceled: String,
    /// The subscription after the call.
    pub subscription: SubscriptionSummary,
    /// The key this cancellation was made with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Validates `cancel_subscription`'s arguments. Nothing is sent.
pub fn build_cancel(
    args: CancelSubscriptionArgs,
) -> Result<(String, Cancellation, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let id = check_id("subscription", &args.subscription, &["sub_"])?;
    let how = if args.at_period_end == Some(true) {
        if args.invoice_now.is_some() || args.prorate.is_some() {
            return Err(ToolError::invalid(
                "invoice_now and prorate apply only to immediate cancellation; omit them with at_period_end",
            ));
        }
        Cancellation::AtPeriodEnd(UpdateSubscription {
            cancel_at_period_end: Some(true),
            ..Default::default()
        })
    } else {
        Cancellation::Now(CancelSubscription {
            invoice_now: args.invoice_now,
            prorate: args.prorate,
        })
    };
    Ok((id, how, key))
}

#[tool_router(router = subscriptions_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Subscribe a customer (cus_) to recurring prices, optionally with a trial or emailed invoices. Charging automatically needs a default payment method, else payment_behavior default_incomplete. Returns status, period, items.
    #[tool(annotations(
        title = "Create a subscription",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_subscription(
        &self,
        Parameters(args): Parameters<CreateSubscriptionArgs>,
    ) -> Result<Json<SubscriptionWriteOutput>, ToolError> {
        let (params, key) = build_create(args)?;
        let sub = self
            .write(self.client.create_subscription(&params, &key), &key)
            .await?;
        Ok(Json(SubscriptionWriteOutput {
            subscription: sub.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// Get a subscription (sub_): customer, status, period, cancel_at_period_end, items (si_ id, price, amount, interval, quantity).
    #[tool(annotations(
        title = "Get a subscription",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_subscription(
        &self,
        Parameters(args): Parameters<GetSubscriptionArgs>,
    ) -> Result<Json<SubscriptionSummary>, ToolError> {
        let id = check_id("subscription", &args.subscription, &["sub_"])?;
        let sub = self
            .client
            .get_subscription(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(sub.into()))
    }

    /// List subscriptions, newest first, by customer, price or status (default leaves out canceled; "all" includes them).
    #[tool(annotations(
        title = "List subscriptions",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_subscriptions(
        &self,
        Parameters(args): Parameters<ListSubscriptionsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListSubscriptionsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<Subscription> = pagination::list(
            self,
            "/v1/subscriptions",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListSubscriptionsOutput {
            subscriptions: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }

    /// Change a subscription (sub_): item prices and quantities (si_ ids from get_subscription), add or remove items, cancel_at_period_end, metadata.
    #[tool(annotations(
        title = "Update a subscription",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn update_subscription(
        &self,
        Parameters(args): Parameters<UpdateSubscriptionArgs>,
    ) -> Result<Json<SubscriptionWriteOutput>, ToolError> {
        let (id, params, key) = build_update(args)?;
        let sub = self
            .write(self.client.update_subscription(&id, &params, &key), &key)
            .await?;
        Ok(Json(SubscriptionWriteOutput {
            subscription: sub.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// Cancel a subscription (sub_): now, for good, or with at_period_end at the end of the paid period. Confirm with the user first.
    #[tool(annotations(
        title = "Cancel a subscription",
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn cancel_subscription(
        &self,
        Parameters(args): Parameters<CancelSubscriptionArgs>,
    ) -> Result<Json<CancelSubscriptionOutput>, ToolError> {
        let (id, how, key) = build_cancel(args)?;
        let (canceled, sub) = match how {
            Cancellation::Now(params) => (
                "immediately",
                self.write(self.client.cancel_subscription(&id, &params, &key), &key)
                    .await?,
            ),
            Cancellation::AtPeriodEnd(params) => (
                "at_period_end",
                self.write(self.client.update_subscription(&id, &params, &key), &key)
                    .await?,
            ),
        };
        Ok(Json(CancelSubscriptionOutput {
            canceled: canceled.to_owned(),
            subscription: sub.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;
    use serde_json::json;

    fn create(v: serde_json::Value) -> Result<CreateSubscription, ToolError> {
        build_create(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    fn update(v: serde_json::Value) -> Result<UpdateSubscription, ToolError> {
        build_update(serde_json::from_value(v).unwrap()).map(|(_, p, _)| p)
    }

    #[test]
    fn a_subscription_needs_a_customer_and_one_to_twenty_recurring_items() {
        let p = create(json!({"customer": "cus_1", "items": [{"price": "price_1"}, {"price": "price_2", "quantity": 2}]})).unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "customer=cus_1&items[0][price]=price_1&items[0][quantity]=1&items[1][price]=price_2&items[1][quantity]=2"
        );
        assert!(create(json!({"customer": "cus_1", "items": []})).is_err());
        let many: Vec<_> = (0..21).map(|_| json!({"price": "price_1"})).collect();
        assert!(create(json!({"customer": "cus_1", "items": many})).is_err());
        assert!(
            create(json!({"customer": "pi_1", "items": [{"price": "price_1"}]}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "prod_1"}]})).is_err());
        assert!(
            create(json!({"customer": "cus_1", "items": [{"price": "price_1", "quantity": 0}]}))
                .is_err()
        );
    }

    #[test]
    fn send_invoice_needs_days_until_due_and_only_it_takes_them() {
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice"})).unwrap_err().message.contains("days_until_due"));
        assert!(
            create(
                json!({"customer": "cus_1", "items": [{"price": "price_1"}], "days_until_due": 30})
            )
            .is_err()
        );
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice", "days_until_due": 0})).is_err());
        let p = create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice", "days_until_due": 30})).unwrap();
        assert_eq!(p.days_until_due, Some(30));
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "collection_method": "send_invoice", "days_until_due": 30, "payment_behavior": "default_incomplete"})).is_err());
    }

    #[test]
    fn trials_are_one_to_730_days() {
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "trial_period_days": 0})).is_err());
        assert!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "trial_period_days": 731})).is_err());
        assert_eq!(create(json!({"customer": "cus_1", "items": [{"price": "price_1"}], "trial_period_days": 14})).unwrap().trial_period_days, Some(14));
    }

    #[test]
    fn item_changes_replace_add_and_remove() {
        let p = update(json!({"subscription": "sub_1", "items": [
            {"id": "si_1", "price": "price_2"},
            {"id": "si_2", "quantity": 5},
            {"price": "price_3"},
            {"id": "si_3", "deleted": true}
        ], "proration_behavior": "none"}))
        .unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "items[0][id]=si_1&items[0][price]=price_2&items[1][id]=si_2&items[1][quantity]=5&items[2][price]=price_3&items[2][quantity]=1&items[3][id]=si_3&items[3][deleted]=true&proration_behavior=none"
        );
    }

    #[test]
    fn item_changes_that_make_no_sense_are_refused() {
        for bad in [
            json!({"deleted": true}),
            json!({"id": "si_1"}),
            json!({"id": "si_1", "deleted": true, "quantity": 2}),
            json!({"quantity": 2}),
            json!({"id": "si_1", "quantity": 0}),
            json!({"id": "sub_1", "quantity": 1}),
        ] {
            assert!(
                update(json!({"subscription": "sub_1", "items": [bad]})).is_err(),
                "{bad}"
            );
        }
        assert!(
            update(json!({"subscription": "sub_1"}))
                .unwrap_err()
                .message
                .contains("nothing to change")
        );
        assert!(update(json!({"subscription": "cus_1", "cancel_at_period_end": true})).is_err());
    }

    #[test]
    fn cancelling_at_period_end_is_an_update_and_now_is_a_delete() {
        let c = |v| build_cancel(serde_json::from_value(v).unwrap()).map(|(_, c, _)| c);
        match c(json!({"subscription": "sub_1", "at_period_end": true})).unwrap() {
            Cancellation::AtPeriodEnd(u) => {
                assert_eq!(encode_form(&u).unwrap(), "cancel_at_period_end=true")
            }
            other => panic!("{other:?}"),
        }
        match c(json!({"subscription": "sub_1", "prorate": true, "invoice_now": false})).unwrap() {
            Cancellation::Now(d) => {
                assert_eq!(encode_form(&d).unwrap(), "invoice_now=false&prorate=true")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            c(json!({"subscription": "sub_1", "at_period_end": true, "prorate": true})).is_err()
        );
        assert!(c(json!({"subscription": "si_1"})).is_err());
    }

    #[test]
    fn list_filters_include_status_all() {
        let (f, _, c) = build_list(serde_json::from_value(json!({"customer": "cus_1", "price": "price_1", "status": "all", "starting_after": "sub_9"})).unwrap()).unwrap();
        assert_eq!(
            encode_form(&f).unwrap(),
            "customer=cus_1&price=price_1&status=all"
        );
        assert_eq!(c.as_deref(), Some("sub_9"));
        assert!(
            build_list(serde_json::from_value(json!({"starting_after": "cus_1"})).unwrap())
                .is_err()
        );
    }

    #[test]
    fn the_summary_reads_items_prices_and_the_period_from_either_place() {
        let sub: Subscription = serde_json::from_value(json!({
            "id": "sub_1", "customer": {"id": "cus_1", "object": "customer"}, "status": "active",
            "cancel_at_period_end": false, "latest_invoice": "in_1",
            "items": {"object": "list", "data": [{"id": "si_1", "quantity": 2,
                "current_period_start": 100, "current_period_end": 200,
                "price": {"id": "price_1", "product": "prod_1", "unit_amount": 1500, "currency": "usd",
                          "type": "recurring", "recurring": {"interval": "month", "interval_count": 1}}}]}
        }))
        .unwrap();
        let s = SubscriptionSummary::from(sub);
        assert_eq!(s.customer.as_deref(), Some("cus_1"));
        assert_eq!(
            (s.current_period_start, s.current_period_end),
            (Some(100), Some(200))
        );
        let item = &s.items[0];
        assert_eq!(item.price.as_deref(), Some("price_1"));
        assert_eq!(item.product.as_deref(), Some("prod_1"));
        assert_eq!(item.unit_amount.as_ref().unwrap().display, "$15.00");
        assert_eq!(item.interval.as_deref(), Some("month"));
        assert_eq!(item.quantity, Some(2));
    }
}
