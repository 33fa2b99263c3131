//! `list_customers`: find customers by email, page through them.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{ToolError, check_email, check_id};
use crate::{server::StripeMcp, stripe::customers::ListCustomers};

/// Arguments of `list_customers`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCustomersArgs {
    /// Only customers with exactly this email (case-sensitive).
    pub email: Option<String>,
    /// How many to return, 1 to 100. Default 10.
    pub limit: Option<i64>,
    /// Cursor for the next page: the next_starting_after of the previous call (a cus_ id).
    pub starting_after: Option<String>,
}

/// One customer in the list.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerSummary {
    /// cus_...
    pub id: String,
    /// Full name, if set.
    pub name: Option<String>,
    /// Email, if set.
    pub email: Option<String>,
    /// When the customer was created (Unix seconds).
    pub created: i64,
}

/// What `list_customers` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListCustomersOutput {
    /// Newest first.
    pub customers: Vec<CustomerSummary>,
    /// True when more customers follow this page.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Validates the arguments into Stripe's query.
pub fn build_query(args: ListCustomersArgs) -> Result<ListCustomers, ToolError> {
    let limit = match args.limit {
        None => 10,
        Some(l @ 1..=100) => l as u8,
        Some(l) => {
            return Err(
                ToolError::invalid(format!("limit must be between 1 and 100, got {l}"))
                    .with_hint("Page through more with starting_after = next_starting_after."),
            );
        }
    };
    Ok(ListCustomers {
        email: args.email.map(|e| check_email("email", &e)).transpose()?,
        limit: Some(limit),
        starting_after: args
            .starting_after
            .map(|s| check_id("starting_after", &s, &["cus_"]))
            .transpose()?,
    })
}

#[tool_router(router = customers_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List customers, newest first, optionally only those with an exact email. Returns id, name, email and created for each, and next_starting_after for the next page.
    #[tool(annotations(
        title = "List customers",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_customers(
        &self,
        Parameters(args): Parameters<ListCustomersArgs>,
    ) -> Result<Json<ListCustomersOutput>, ToolError> {
        let query = build_query(args)?;
        let page = self
            .client
            .list_customers(&query)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        let next_starting_after = page
            .has_more
            .then(|| page.data.last().map(|c| c.id.clone()))
            .flatten();
        Ok(Json(ListCustomersOutput {
            customers: page
                .data
                .into_iter()
                .map(|c| CustomerSummary {
                    id: c.id,
                    name: c.name,
                    email: c.email,
                    created: c.created,
                })
                .collect(),
            has_more: page.has_more,
            next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<ListCustomers, ToolError> {
        build_query(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn the_default_limit_is_ten() {
        assert_eq!(build(json!({})).unwrap().limit, Some(10));
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        assert!(build(json!({"limit": 0})).is_err());
        assert!(build(json!({"limit": 101})).is_err());
        assert!(build(json!({"limit": -3})).is_err());
        assert_eq!(build(json!({"limit": 100})).unwrap().limit, Some(100));
    }

    #[test]
    fn the_cursor_must_be_a_customer_id() {
        assert!(build(json!({"starting_after": "pi_1"})).is_err());
        assert!(build(json!({"starting_after": "cus_1"})).is_ok());
        assert!(build(json!({"email": "not an email"})).is_err());
    }
}
