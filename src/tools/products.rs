//! `create_product` and `list_products`: the catalog's products.

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
    ToolError, check_id, check_metadata, check_text, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        products::{CreateProduct, Product},
    },
    tools::StripeMcp,
};

/// Arguments of `create_product`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductArgs {
    /// The product's name as customers see it on checkout pages, invoices and receipts (1 to 5000 characters).
    pub name: String,
    /// Optional longer text shown to customers (at most 40000 characters).
    pub description: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// A product as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProductSummary {
    /// prod_...
    pub id: String,
    /// The name customers see.
    pub name: Option<String>,
    /// Longer text, if set.
    pub description: Option<String>,
    /// Whether it can be sold.
    pub active: Option<bool>,
    /// Its default price (price_...), if set.
    pub default_price: Option<String>,
    /// When it was created (Unix seconds).
    pub created: i64,
}

impl From<Product> for ProductSummary {
    fn from(p: Product) -> Self {
        ProductSummary {
            id: p.id,
            name: p.name,
            description: p.description,
            active: p.active,
            default_price: p.default_price,
            created: p.created,
        }
    }
}

/// What `create_product` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CreateProductOutput {
    /// The new product.
    pub product: ProductSummary,
    /// The key this product was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Validates `create_product`'s arguments. Nothing is sent.
pub fn build_request(
    args: CreateProductArgs,
) -> Result<(CreateProduct, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    Ok((
        CreateProduct {
            name: check_text("name", &args.name, 5000)?,
            description: args
                .description
                .map(|d| check_description(&d))
                .transpose()?,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Descriptions may span lines, so only length and emptiness are checked.
fn check_description(raw: &str) -> Result<String, ToolError> {
    if raw.trim().is_empty() {
        return Err(ToolError::invalid(
            "description must not be empty; omit it instead",
        ));
    }
    let n = raw.chars().count();
    if n > 40_000 {
        return Err(ToolError::invalid(format!(
            "description is {n} characters; at most 40000 are allowed"
        )));
    }
    Ok(raw.to_owned())
}

/// Arguments of `list_products`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListProductsArgs {
    /// true: only products that can be sold; false: only archived ones. Omit for both.
    pub active: Option<bool>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/products`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductFilters {
    /// Active or archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// What `list_products` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListProductsOutput {
    /// Newest first.
    pub products: Vec<ProductSummary>,
    /// True when more products follow.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Validates `list_products`' arguments: filters, limit and cursor.
pub fn build_query(
    args: ListProductsArgs,
) -> Result<(ProductFilters, u32, Option<String>), ToolError> {
    Ok((
        ProductFilters {
            active: args.active,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["prod_"]))
            .transpose()?,
    ))
}

#[tool_router(router = products_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a product in the catalog (name, optional description and metadata). A product has no price of its own: create one with create_price using the returned prod_ id.
    #[tool(annotations(
        title = "Create a product",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_product(
        &self,
        Parameters(args): Parameters<CreateProductArgs>,
    ) -> Result<Json<CreateProductOutput>, ToolError> {
        let (params, key) = build_request(args)?;
        let product = self
            .write(self.client.create_product(&params, &key), &key)
            .await?;
        Ok(Json(CreateProductOutput {
            product: product.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// List catalog products, newest first, optionally only active (sellable) or only archived ones. Returns id, name, description, active, default_price and created for each, and next_starting_after for the next page.
    #[tool(annotations(
        title = "List products",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_products(
        &self,
        Parameters(args): Parameters<ListProductsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListProductsOutput>, ToolError> {
        let (filters, limit, starting_after) = build_query(args)?;
        let page: Listed<Product> = pagination::list(
            self,
            "/v1/products",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListProductsOutput {
            products: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: serde_json::Value) -> Result<CreateProduct, ToolError> {
        build_request(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    #[test]
    fn a_product_needs_a_non_blank_name() {
        assert_eq!(create(json!({"name": "Mug"})).unwrap().name, "Mug");
        assert!(create(json!({"name": "  "})).is_err());
        assert!(create(json!({"name": "x".repeat(5001)})).is_err());
    }

    #[test]
    fn description_and_metadata_are_checked() {
        let p = create(
            json!({"name": "Mug", "description": "Blue\nceramic", "metadata": {"sku": "m-1"}}),
        )
        .unwrap();
        assert_eq!(p.description.as_deref(), Some("Blue\nceramic"));
        assert_eq!(p.metadata.get("sku").map(String::as_str), Some("m-1"));
        assert!(create(json!({"name": "Mug", "description": ""})).is_err());
        assert!(create(json!({"name": "Mug", "metadata": {"a[b]": "v"}})).is_err());
        assert!(create(json!({"name": "Mug", "idempotency_key": "has space"})).is_err());
    }

    #[test]
    fn the_list_cursor_must_be_a_product_id() {
        let q = |v| build_query(serde_json::from_value(v).unwrap());
        assert!(q(json!({"starting_after": "price_1"})).is_err());
        assert!(q(json!({"limit": 0})).is_err());
        let (f, limit, cursor) = q(json!({"active": true, "starting_after": "prod_1"})).unwrap();
        assert_eq!(
            (f.active, limit, cursor.as_deref()),
            (Some(true), 10, Some("prod_1"))
        );
    }
}
