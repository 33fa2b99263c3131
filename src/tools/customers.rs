//! Customers: `list_customers` (find by email, page through), `get_customer`,
//! `create_customer`, `update_customer`.

use std::collections::BTreeMap;

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use rmcp::{RoleServer, service::RequestContext};

use super::{
    ToolError, check_email, check_id, check_metadata, check_text, idempotency_key,
    pagination::{self, Listed},
};
use crate::{
    stripe::{
        IdempotencyKey,
        customers::{Customer, CustomerParams},
    },
    tools::StripeMcp,
};

/// Arguments of `get_customer`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCustomerArgs {
    /// The customer (cus_...).
    pub customer: String,
}

/// Arguments of `create_customer`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerArgs {
    /// Email address, e.g. "jane@example.com" (receipts and invoices go there).
    pub email: Option<String>,
    /// Full name or business name, at most 256 characters.
    pub name: Option<String>,
    /// Phone number, at most 20 characters, e.g. "+15555550100".
    pub phone: Option<String>,
    /// Free-text note for your team, at most 5000 characters.
    pub description: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Arguments of `update_customer`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerArgs {
    /// The customer to change (cus_...).
    pub customer: String,
    /// New email address.
    pub email: Option<String>,
    /// New full name or business name, at most 256 characters.
    pub name: Option<String>,
    /// New phone number, at most 20 characters.
    pub phone: Option<String>,
    /// New free-text note, at most 5000 characters.
    pub description: Option<String>,
    /// Keys to add or change; a key with the value "" is removed. Other keys stay as they are.
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// A customer as `get_customer`, `create_customer` and `update_customer` return it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CustomerOutput {
    /// cus_...
    pub id: String,
    /// Full name, if set.
    pub name: Option<String>,
    /// Email, if set.
    pub email: Option<String>,
    /// Phone, if set.
    pub phone: Option<String>,
    /// Free-text note, if set.
    pub description: Option<String>,
    /// Key-value notes.
    pub metadata: BTreeMap<String, String>,
    /// When the customer was created (Unix seconds; 0 for a deleted customer).
    pub created: i64,
    /// True when the customer was deleted: only the id remains.
    pub deleted: bool,
    /// True in live mode.
    pub livemode: bool,
    /// Writes only: the key used; reuse it to retry safely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

impl CustomerOutput {
    /// The compact view of a customer.
    pub fn from_stripe(c: Customer, key: Option<&IdempotencyKey>) -> Self {
        CustomerOutput {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            description: c.description,
            metadata: c.metadata.unwrap_or_default(),
            created: c.created,
            deleted: c.deleted,
            livemode: c.livemode,
            idempotency_key: key.map(|k| k.as_str().to_owned()),
        }
    }
}

/// Validates the fields shared by create and update.
fn customer_params(
    email: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    description: Option<String>,
    metadata: Option<BTreeMap<String, String>>,
) -> Result<CustomerParams, ToolError> {
    Ok(CustomerParams {
        email: email.map(|e| check_email("email", &e)).transpose()?,
        name: name.map(|n| check_text("name", &n, 256)).transpose()?,
        phone: phone.map(|p| check_text("phone", &p, 20)).transpose()?,
        description: description
            .map(|d| check_text("description", &d, 5000))
            .transpose()?,
        metadata: check_metadata(metadata, 0)?,
    })
}

/// Validates `create_customer`'s arguments. Nothing is sent.
pub fn build_create(
    args: CreateCustomerArgs,
) -> Result<(CustomerParams, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let params = customer_params(
        args.email,
        args.name,
        args.phone,
        args.description,
        args.metadata,
    )?;
    Ok((params, key))
}

/// Validates `update_customer`'s arguments: the id and at least one field. Nothing is sent.
pub fn build_update(
    args: UpdateCustomerArgs,
) -> Result<(String, CustomerParams, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let id = check_id("customer", &args.customer, &["cus_"])?;
    if args.email.is_none()
        && args.name.is_none()
        && args.phone.is_none()
        && args.description.is_none()
        && args.metadata.as_ref().is_none_or(BTreeMap::is_empty)
    {
        return Err(ToolError::invalid(
            "nothing to change: give at least one of email, name, phone, description or metadata",
        ));
    }
    let params = customer_params(
        args.email,
        args.name,
        args.phone,
        args.description,
        args.metadata,
    )?;
    Ok((id, params, key))
}

/// Arguments of `list_customers`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCustomersArgs {
    /// Only customers with exactly this email (case-sensitive).
    pub email: Option<String>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
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
    /// List customers, newest first, optionally by exact email: id, name, email, created.
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

    /// Get one customer (cus_...): name, email, phone, description, metadata, and whether it was deleted.
    #[tool(annotations(
        title = "Get a customer",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_customer(
        &self,
        Parameters(args): Parameters<GetCustomerArgs>,
    ) -> Result<Json<CustomerOutput>, ToolError> {
        let id = check_id("customer", &args.customer, &["cus_"])?;
        let customer = self
            .client
            .retrieve_customer(&id)
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        Ok(Json(CustomerOutput::from_stripe(customer, None)))
    }

    /// Create a customer. Check list_customers by email first: Stripe allows duplicates.
    #[tool(annotations(
        title = "Create a customer",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_customer(
        &self,
        Parameters(args): Parameters<CreateCustomerArgs>,
    ) -> Result<Json<CustomerOutput>, ToolError> {
        let (params, key) = build_create(args)?;
        let customer = self
            .write(self.client.create_customer(&params, &key), &key)
            .await?;
        Ok(Json(CustomerOutput::from_stripe(customer, Some(&key))))
    }

    /// Update a customer (cus_...): only the fields given change; metadata merges.
    #[tool(annotations(
        title = "Update a customer",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn update_customer(
        &self,
        Parameters(args): Parameters<UpdateCustomerArgs>,
    ) -> Result<Json<CustomerOutput>, ToolError> {
        let (id, params, key) = build_update(args)?;
        let customer = self
            .write(self.client.update_customer(&id, &params, &key), &key)
            .await?;
        Ok(Json(CustomerOutput::from_stripe(customer, Some(&key))))
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
    fn create_sends_only_the_fields_given() {
        let (p, _) = build_create(
            serde_json::from_value(
                json!({"email": "jane@example.com", "name": "Jane", "metadata": {"uid": "7"}}),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            crate::stripe::client::encode_form(&p).unwrap(),
            "email=jane%40example.com&name=Jane&metadata[uid]=7"
        );
        let c = |v| build_create(serde_json::from_value(v).unwrap());
        assert!(c(json!({"email": "jane"})).is_err());
        assert!(c(json!({"phone": "1".repeat(21)})).is_err());
        assert!(c(json!({"name": ""})).is_err());
        assert!(c(json!({"idempotency_key": "has space"})).is_err());
    }

    #[test]
    fn update_needs_a_customer_id_and_something_to_change() {
        let u = |v| build_update(serde_json::from_value(v).unwrap());
        assert!(
            u(json!({"customer": "cus_1"}))
                .unwrap_err()
                .message
                .contains("nothing to change")
        );
        assert!(u(json!({"customer": "cus_1", "metadata": {}})).is_err());
        assert!(u(json!({"customer": "pi_1", "name": "x"})).is_err());
        let (id, p, _) = u(json!({"customer": "cus_1", "metadata": {"old": ""}})).unwrap();
        assert_eq!(id, "cus_1");
        assert_eq!(
            crate::stripe::client::encode_form(&p).unwrap(),
            "metadata[old]="
        );
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
