//! Customers: `GET /v1/customers`.

use serde::{Deserialize, Serialize};

use super::{Client, Error, List};

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

impl Client {
    /// Lists customers, newest first.
    pub async fn list_customers(&self, params: &ListCustomers) -> Result<List<Customer>, Error> {
        self.get("/v1/customers", params).await
    }
}
