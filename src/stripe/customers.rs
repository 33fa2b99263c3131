//! Customers: `GET /v1/customers`, `GET/POST /v1/customers/{id}`, `POST /v1/customers`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Client, Error, IdempotencyKey, List, planned::Plan};

/// The customer fields the tools show.
#[derive(Debug, Clone, Deserialize)]
pub struct Customer {
    /// `cus_...`
    pub id: String,
    /// Full name, if set.
    #[serde(default)]
    pub name: Option<String>,
    /// Email, if set.
    #[serde(default)]
    pub email: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// Phone, if set.
    #[serde(default)]
    pub phone: Option<String>,
    /// Free text, if set.
    #[serde(default)]
    pub description: Option<String>,
    /// Key-value notes.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// True when the customer was deleted (Stripe then sends only id and this flag).
    #[serde(default)]
    pub deleted: bool,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
}

/// Query of `GET /v1/customers`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListCustomers {
    /// Exact, case-sensitive email match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// 1 to 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u8>,
    /// Cursor: the last id of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_after: Option<String>,
}

/// Body of `POST /v1/customers` and `POST /v1/customers/{id}`: only the fields given are sent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerParams {
    /// Email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Key-value notes (on update: merged; an empty value removes a key).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl Client {
    /// Lists customers, newest first.
    pub async fn list_customers(&self, params: &ListCustomers) -> Result<List<Customer>, Error> {
        self.get("/v1/customers", params).await
    }

    /// Retrieves a customer. `id` must be checked by the caller.
    pub async fn retrieve_customer(&self, id: &str) -> Result<Customer, Error> {
        self.get(&format!("/v1/customers/{id}"), &()).await
    }

    /// Creates a customer.
    pub fn create_customer(
        &self,
        params: &CustomerParams,
        key: &IdempotencyKey,
    ) -> Result<Plan<Customer>, Error> {
        Plan::post("/v1/customers", params, key.clone())
    }

    /// Updates a customer's given fields. `id` must be checked by the caller.
    pub fn update_customer(
        &self,
        id: &str,
        params: &CustomerParams,
        key: &IdempotencyKey,
    ) -> Result<Plan<Customer>, Error> {
        Plan::post(format!("/v1/customers/{id}"), params, key.clone())
    }
}
