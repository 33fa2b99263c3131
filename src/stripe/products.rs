//! Products: `POST /v1/products`, `GET /v1/products`; and the id-or-object
//! decoder the billing resources share.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, planned::Plan};

/// Body of `POST /v1/products`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateProduct {
    /// Shown to customers.
    pub name: String,
    /// Longer text shown to customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Your key-value notes.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The product fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// `prod_...`
    pub id: String,
    /// Shown to customers.
    #[serde(default)]
    pub name: Option<String>,
    /// Longer text, if set.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it can be sold.
    #[serde(default)]
    pub active: Option<bool>,
    /// The default price, if set (id or expanded object).
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    pub default_price: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
}

impl Client {
    /// Creates a product.
    pub fn create_product(
        &self,
        params: &CreateProduct,
        key: &IdempotencyKey,
    ) -> Result<Plan<Product>, Error> {
        Plan::post("/v1/products", params, key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expandable_field_decodes_from_an_id_or_an_object() {
        let p: Product = serde_json::from_value(serde_json::json!({
            "id": "prod_1", "default_price": {"id": "price_1", "object": "price"}
        }))
        .unwrap();
        assert_eq!(p.default_price.as_deref(), Some("price_1"));
        let p: Product =
            serde_json::from_value(serde_json::json!({"id": "prod_1", "default_price": "price_2"}))
                .unwrap();
        assert_eq!(p.default_price.as_deref(), Some("price_2"));
        let p: Product =
            serde_json::from_value(serde_json::json!({"id": "prod_1", "default_price": null}))
                .unwrap();
        assert_eq!(p.default_price, None);
    }
}
