//! `list_customers`: find customers by email, page through them.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use rmcp::{RoleServer, service::RequestContext};

use super::{
    ToolError, check_email, check_id,
    pagination::{self, Listed},
};
use crate::{server::StripeMcp, stripe::customers::Customer};

/// Arguments of `list_customers`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCustomersArgs {
    /// Only customers with exactly this email (case-sensitive).
    pub email: Option<String>,
    /// How many to return, 1 to 1000. Default 10.
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

/// Stripe's filters for `GET /v1/customers` (paging is added by [`pagination::list`]).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerFilters {
    /// Exact, case-sensitive email match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Validates the arguments: the filters, the limit and the cursor.
pub fn build_query(
    args: ListCustomersArgs,
) -> Result<(CustomerFilters, u32, Option<String>), ToolError> {
    Ok((
        CustomerFilters {
            email: args.email.map(|e| check_email("email", &e)).transpose()?,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["cus_"]))
            .transpose()?,
    ))
}

#[tool_router(router = customers_router, vis = "pub(crate)")]
impl StripeMcp {
    /// List customers, newest first, optionally only those with an exact email. Returns id, name, email and created for each, and next_starting_after for the next page. A limit above 100 (up to 1000) fetches several pages.
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
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListCustomersOutput>, ToolError> {
        let (filters, limit, starting_after) = build_query(args)?;
        let page: Listed<Customer> = pagination::list(
            self,
            "/v1/customers",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListCustomersOutput {
            customers: page
                .items
                .into_iter()
                .map(|c| CustomerSummary {
                    id: c.id,
                    name: c.name,
                    email: c.email,
                    created: c.created,
                })
                .collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: serde_json::Value) -> Result<(CustomerFilters, u32, Option<String>), ToolError> {
        build_query(serde_json::from_value(v).unwrap())
    }

    #[test]
    fn the_default_limit_is_ten() {
        assert_eq!(build(json!({})).unwrap().1, 10);
    }

    #[test]
    fn limits_outside_one_to_a_thousand_are_refused() {
        assert!(build(json!({"limit": 0})).is_err());
        assert!(build(json!({"limit": 1001})).is_err());
        assert!(build(json!({"limit": -3})).is_err());
        assert_eq!(build(json!({"limit": 1000})).unwrap().1, 1000);
    }

    #[test]
    fn the_cursor_must_be_a_customer_id_and_the_email_an_email() {
        assert!(build(json!({"starting_after": "pi_1"})).is_err());
        assert!(build(json!({"starting_after": "cus_1"})).is_ok());
        assert!(build(json!({"email": "not an email"})).is_err());
    }
}
