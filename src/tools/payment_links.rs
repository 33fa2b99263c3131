//! `create_payment_link`: a reusable, shareable payment page for existing prices.

use std::collections::BTreeMap;

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{ToolError, check_id, check_metadata, idempotency_key};
use crate::{
    stripe::{
        IdempotencyKey,
        payment_links::{CreatePaymentLink, PaymentLinkLineItem},
    },
    tools::StripeMcp,
};

/// Stripe's limit on line items in one payment link.
pub const MAX_LINK_ITEMS: usize = 20;

/// One line of a payment link.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkItemArg {
    /// An existing Price id (price_...); create one with create_price.
    pub price: String,
    /// How many units, at least 1. Default 1.
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
}

/// Arguments of `create_payment_link`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentLinkArgs {
    /// What the link sells: 1 to 20 items, each {"price": "price_...", "quantity": n}.
    pub line_items: Vec<LinkItemArg>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// What `create_payment_link` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PaymentLinkOutput {
    /// The link to share with customers; it can be paid many times.
    pub url: String,
    /// plink_...
    pub id: String,
    /// Whether the link accepts payments.
    pub active: Option<bool>,
    /// The key this link was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Validates `create_payment_link`'s arguments. Nothing is sent.
pub fn build_request(
    args: CreatePaymentLinkArgs,
) -> Result<(CreatePaymentLink, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let n = args.line_items.len();
    if n == 0 || n > MAX_LINK_ITEMS {
        return Err(ToolError::invalid(format!(
            "line_items has {n} items; a payment link takes 1 to {MAX_LINK_ITEMS}"
        )));
    }
    let mut line_items = Vec::with_capacity(n);
    for (i, item) in args.line_items.into_iter().enumerate() {
        let quantity = item.quantity.unwrap_or(1);
        if quantity == 0 {
            return Err(ToolError::invalid(format!(
                "line_items[{i}].quantity must be at least 1"
            )));
        }
        line_items.push(PaymentLinkLineItem {
            price: check_id(&format!("line_items[{i}].price"), &item.price, &["price_"])?,
            quantity: u64::from(quantity),
        });
    }
    Ok((
        CreatePaymentLink {
            line_items,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

#[tool_router(router = payment_links_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a reusable Payment Link for prices and return its url; it never expires and can be paid many times.
    #[tool(annotations(
        title = "Create a payment link",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_payment_link(
        &self,
        Parameters(args): Parameters<CreatePaymentLinkArgs>,
    ) -> Result<Json<PaymentLinkOutput>, ToolError> {
        let (params, key) = build_request(args)?;
        let link = self
            .write(self.client.create_payment_link(&params, &key), &key)
            .await?;
        Ok(Json(PaymentLinkOutput {
            url: link.url,
            id: link.id,
            active: link.active,
            idempotency_key: key.as_str().to_owned(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<CreatePaymentLink, ToolError> {
        build_request(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    #[test]
    fn items_default_to_one_unit_and_need_price_ids() {
        let p = build(
            json!({"line_items": [{"price": "price_1"}, {"price": "price_2", "quantity": 3}]}),
        )
        .unwrap();
        assert_eq!(p.line_items[0].quantity, 1);
        assert_eq!(p.line_items[1].quantity, 3);
        assert!(
            build(json!({"line_items": [{"price": "prod_1"}]}))
                .unwrap_err()
                .message
                .contains("wrong prefix")
        );
        assert!(build(json!({"line_items": [{"price": "price_1", "quantity": 0}]})).is_err());
    }

    #[test]
    fn one_to_twenty_items_are_accepted() {
        assert!(build(json!({"line_items": []})).is_err());
        let items: Vec<_> = (0..20).map(|_| json!({"price": "price_1"})).collect();
        assert_eq!(
            build(json!({"line_items": items}))
                .unwrap()
                .line_items
                .len(),
            20
        );
        let items: Vec<_> = (0..21).map(|_| json!({"price": "price_1"})).collect();
        assert!(
            build(json!({"line_items": items}))
                .unwrap_err()
                .message
                .contains("1 to 20")
        );
    }
}
