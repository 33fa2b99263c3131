//! Invoices: `create_invoice`, `create_invoice_item`, `finalize_invoice`, `list_invoices`.

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
        invoices::{
            CreateInvoice, CreateInvoiceItem, FinalizeInvoice, Invoice, InvoiceItem,
            PendingItemsBehavior,
        },
        subscriptions::CollectionMethod,
    },
    tools::StripeMcp,
};

/// An invoice as the tools show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvoiceSummary {
    /// in_...
    pub id: String,
    /// draft, open, paid, uncollectible or void.
    pub status: Option<String>,
    /// The customer (cus_...).
    pub customer: Option<String>,
    /// What the customer owes in total.
    pub amount_due: Money,
    /// What has been paid.
    pub amount_paid: Money,
    /// What is still to pay.
    pub amount_remaining: Money,
    /// The page where the customer views and pays the invoice (once finalized).
    pub hosted_invoice_url: Option<String>,
    /// When payment is due (Unix seconds), for send_invoice invoices.
    pub due_date: Option<i64>,
    /// The invoice number, assigned when finalized.
    pub number: Option<String>,
    /// charge_automatically or send_invoice.
    pub collection_method: Option<String>,
    /// When it was created (Unix seconds).
    pub created: Option<i64>,
}

impl From<Invoice> for InvoiceSummary {
    fn from(i: Invoice) -> Self {
        InvoiceSummary {
            amount_due: Money::new(i.amount_due, &i.currency),
            amount_paid: Money::new(i.amount_paid, &i.currency),
            amount_remaining: Money::new(i.amount_remaining, &i.currency),
            id: i.id,
            status: i.status,
            customer: i.customer,
            hosted_invoice_url: i.hosted_invoice_url,
            due_date: i.due_date,
            number: i.number,
            collection_method: i.collection_method,
            created: i.created,
        }
    }
}

/// An invoice and the key the write used.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvoiceWriteOutput {
    /// The invoice after the call.
    pub invoice: InvoiceSummary,
    /// The key this write was made with; reuse it to retry safely.
    pub idempotency_key: String,
}

/// Arguments of `create_invoice`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceArgs {
    /// The customer to invoice (cus_...).
    pub customer: String,
    /// Default charge_automatically; send_invoice emails it (needs days_until_due).
    pub collection_method: Option<CollectionMethod>,
    /// With send_invoice only: days the customer has to pay (1 to 365).
    #[schemars(range(min = 1, max = 365))]
    pub days_until_due: Option<u32>,
    /// Memo shown on the invoice (at most 1500 characters).
    pub description: Option<String>,
    /// true: Stripe finalizes and collects it in about an hour; false: draft until finalize_invoice.
    pub auto_advance: Option<bool>,
    /// include: take the customer's pending items; exclude (default): start empty.
    pub pending_invoice_items_behavior: Option<PendingItemsBehavior>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Validates `create_invoice`'s arguments. Nothing is sent.
pub fn build_invoice(
    args: CreateInvoiceArgs,
) -> Result<(CreateInvoice, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let days_until_due = match (args.collection_method, args.days_until_due) {
        (Some(CollectionMethod::SendInvoice), None) => {
            return Err(ToolError::invalid(
                "collection_method send_invoice needs days_until_due: how many days the customer has to pay (e.g. 30)",
            ));
        }
        (Some(CollectionMethod::SendInvoice), Some(d)) if !(1..=365).contains(&d) => {
            return Err(ToolError::invalid(format!(
                "days_until_due must be between 1 and 365, got {d}"
            )));
        }
        (Some(CollectionMethod::SendInvoice), d) => d,
        (_, Some(_)) => {
            return Err(ToolError::invalid(
                "days_until_due only applies with collection_method \"send_invoice\"",
            ));
        }
        (_, None) => None,
    };
    Ok((
        CreateInvoice {
            customer: check_id("customer", &args.customer, &["cus_"])?,
            collection_method: args.collection_method,
            days_until_due,
            description: args
                .description
                .map(|d| check_text("description", &d, 1500))
                .transpose()?,
            auto_advance: args.auto_advance,
            pending_invoice_items_behavior: args.pending_invoice_items_behavior,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Arguments of `create_invoice_item`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceItemArgs {
    /// The customer (cus_...) the item is billed to.
    pub customer: String,
    /// Total in minor units (2500 = $25.00), with currency; or price.
    pub amount: Option<Amount>,
    /// Three-letter lowercase ISO currency code, e.g. "usd"; required with amount.
    pub currency: Option<String>,
    /// An existing one-time Price id (price_...) instead of amount + currency.
    pub price: Option<String>,
    /// With price only: how many units (at least 1, default 1).
    #[schemars(range(min = 1))]
    pub quantity: Option<u32>,
    /// Text of the invoice line (at most 5000 characters), e.g. "Setup fee".
    pub description: Option<String>,
    /// A draft invoice (in_...); omit to leave it pending for the next one.
    pub invoice: Option<String>,
    /// Key-value notes (≤50 keys; keys ≤40, values ≤500 chars).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// What `create_invoice_item` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct InvoiceItemOutput {
    /// ii_...
    pub id: String,
    /// The customer (cus_...).
    pub customer: Option<String>,
    /// The item's total.
    pub amount: Money,
    /// Text of the invoice line.
    pub description: Option<String>,
    /// The invoice it is on (in_...), or absent while pending for the next invoice.
    pub invoice: Option<String>,
    /// Units.
    pub quantity: Option<u64>,
    /// The key this item was created with; reuse it to retry safely.
    pub idempotency_key: String,
}

impl InvoiceItemOutput {
    fn new(i: InvoiceItem, key: &IdempotencyKey) -> Self {
        InvoiceItemOutput {
            amount: Money::new(i.amount, &i.currency),
            id: i.id,
            customer: i.customer,
            description: i.description,
            invoice: i.invoice,
            quantity: i.quantity,
            idempotency_key: key.as_str().to_owned(),
        }
    }
}

/// Validates `create_invoice_item`'s arguments. Nothing is sent.
pub fn build_invoice_item(
    args: CreateInvoiceItemArgs,
) -> Result<(CreateInvoiceItem, IdempotencyKey), ToolError> {
    let key = idempotency_key(args.idempotency_key.as_deref())?;
    let customer = check_id("customer", &args.customer, &["cus_"])?;
    let (amount, currency, price, quantity) = match (args.amount, args.currency, args.price) {
        (Some(amount), Some(c), None) => {
            if args.quantity.is_some() {
                return Err(ToolError::invalid(
                    "quantity applies only with price; with amount, send the line's total as amount",
                ));
            }
            let c = currency::parse_currency(&c)
                .map_err(|m| ToolError::invalid(format!("currency: {m}")))?;
            let a = amount.minor_units("amount", Some(&c))?;
            (Some(a), Some(c), None, None)
        }
        (Some(_), None, None) => {
            return Err(ToolError::invalid(
                "amount needs currency: a lowercase ISO code such as \"usd\"",
            ));
        }
        (None, Some(_), None) => {
            return Err(ToolError::invalid(
                "currency was given without amount: send amount (smallest currency unit) too, or a price",
            ));
        }
        (None, None, Some(p)) => {
            let quantity = args.quantity.unwrap_or(1);
            if quantity == 0 {
                return Err(ToolError::invalid("quantity must be at least 1"));
            }
            (
                None,
                None,
                Some(check_id("price", &p, &["price_"])?),
                args.quantity.map(u64::from),
            )
        }
        (_, _, Some(_)) => {
            return Err(ToolError::invalid(
                "give amount + currency or price, not both: the price already has an amount and currency",
            ));
        }
        (None, None, None) => {
            return Err(ToolError::invalid(
                "say what to bill: amount (smallest currency unit) + currency, or an existing price (price_...)",
            ));
        }
    };
    Ok((
        CreateInvoiceItem {
            customer,
            amount,
            currency,
            price,
            quantity,
            description: args
                .description
                .map(|d| check_text("description", &d, 5000))
                .transpose()?,
            invoice: args
                .invoice
                .map(|i| check_id("invoice", &i, &["in_"]))
                .transpose()?,
            metadata: check_metadata(args.metadata, 0)?,
        },
        key,
    ))
}

/// Arguments of `finalize_invoice`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FinalizeInvoiceArgs {
    /// The draft invoice to finalize (in_...).
    pub invoice: String,
    /// true: Stripe then charges or emails it; false: it stays open.
    pub auto_advance: Option<bool>,
    /// Safe-retry key (e.g. your order id). Within 24 h (10 min for the default, derived from the arguments) an identical call is a replay, not a new write; a new key makes a new write.
    pub idempotency_key: Option<String>,
}

/// Invoice statuses to list by.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Not finalized yet; editable.
    Draft,
    /// Finalized and awaiting payment.
    Open,
    /// Paid.
    Paid,
    /// Marked as unlikely to be paid.
    Uncollectible,
    /// Canceled.
    Void,
}

/// Arguments of `list_invoices`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInvoicesArgs {
    /// Only this customer's invoices (cus_...).
    pub customer: Option<String>,
    /// Only this subscription's invoices (sub_...).
    pub subscription: Option<String>,
    /// Only this status: draft, open, paid, uncollectible or void.
    pub status: Option<InvoiceStatus>,
    /// How many, default 10 (over 100: fetched page by page).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<i64>,
    /// The previous call's next_starting_after.
    pub starting_after: Option<String>,
}

/// Stripe's filters for `GET /v1/invoices`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvoiceFilters {
    /// cus_...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// sub_...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// A status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<InvoiceStatus>,
}

/// What `list_invoices` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListInvoicesOutput {
    /// Newest first.
    pub invoices: Vec<InvoiceSummary>,
    /// True when more invoices follow.
    pub has_more: bool,
    /// Pass as starting_after to get the next page (present when has_more).
    pub next_starting_after: Option<String>,
}

/// Validates `list_invoices`' arguments: filters, limit and cursor.
pub fn build_list(
    args: ListInvoicesArgs,
) -> Result<(InvoiceFilters, u32, Option<String>), ToolError> {
    Ok((
        InvoiceFilters {
            customer: args
                .customer
                .map(|c| check_id("customer", &c, &["cus_"]))
                .transpose()?,
            subscription: args
                .subscription
                .map(|s| check_id("subscription", &s, &["sub_"]))
                .transpose()?,
            status: args.status,
        },
        pagination::check_limit(args.limit)?,
        args.starting_after
            .map(|s| check_id("starting_after", &s, &["in_"]))
            .transpose()?,
    ))
}

#[tool_router(router = invoices_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Create a draft invoice for a customer (cus_); add lines with create_invoice_item, then finalize_invoice for a payable hosted_invoice_url.
    #[tool(annotations(
        title = "Create an invoice",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_invoice(
        &self,
        Parameters(args): Parameters<CreateInvoiceArgs>,
    ) -> Result<Json<InvoiceWriteOutput>, ToolError> {
        let (params, key) = build_invoice(args)?;
        let invoice = self
            .write(self.client.create_invoice(&params, &key), &key)
            .await?;
        Ok(Json(InvoiceWriteOutput {
            invoice: invoice.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// Add a line (amount + currency, or price) to a draft invoice, or pending for the customer's next.
    #[tool(annotations(
        title = "Add an invoice item",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn create_invoice_item(
        &self,
        Parameters(args): Parameters<CreateInvoiceItemArgs>,
    ) -> Result<Json<InvoiceItemOutput>, ToolError> {
        let (params, key) = build_invoice_item(args)?;
        let item = self
            .write(self.client.create_invoice_item(&params, &key), &key)
            .await?;
        Ok(Json(InvoiceItemOutput::new(item, &key)))
    }

    /// Finalize a draft invoice (in_): it gets a number and a hosted_invoice_url to pay; no more edits.
    #[tool(annotations(
        title = "Finalize an invoice",
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn finalize_invoice(
        &self,
        Parameters(args): Parameters<FinalizeInvoiceArgs>,
    ) -> Result<Json<InvoiceWriteOutput>, ToolError> {
        let key = idempotency_key(args.idempotency_key.as_deref())?;
        let id = check_id("invoice", &args.invoice, &["in_"])?;
        let params = FinalizeInvoice {
            auto_advance: args.auto_advance,
        };
        let invoice = self
            .write(self.client.finalize_invoice(&id, &params, &key), &key)
            .await?;
        Ok(Json(InvoiceWriteOutput {
            invoice: invoice.into(),
            idempotency_key: key.as_str().to_owned(),
        }))
    }

    /// List invoices, newest first, by customer, subscription or status: amounts due/paid/remaining, URL, due_date, number.
    #[tool(annotations(
        title = "List invoices",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_invoices(
        &self,
        Parameters(args): Parameters<ListInvoicesArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListInvoicesOutput>, ToolError> {
        let (filters, limit, starting_after) = build_list(args)?;
        let page: Listed<Invoice> = pagination::list(
            self,
            "/v1/invoices",
            &filters,
            limit,
            starting_after,
            Some(&context),
        )
        .await?;
        Ok(Json(ListInvoicesOutput {
            invoices: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
            next_starting_after: page.next_starting_after,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;
    use serde_json::json;

    fn invoice(v: serde_json::Value) -> Result<CreateInvoice, ToolError> {
        build_invoice(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    fn item(v: serde_json::Value) -> Result<CreateInvoiceItem, ToolError> {
        build_invoice_item(serde_json::from_value(v).unwrap()).map(|(p, _)| p)
    }

    #[test]
    fn an_invoice_sends_every_given_field() {
        let p = invoice(json!({"customer": "cus_1", "collection_method": "send_invoice", "days_until_due": 14,
            "description": "March", "auto_advance": false, "pending_invoice_items_behavior": "include",
            "metadata": {"order": "7"}}))
        .unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "customer=cus_1&collection_method=send_invoice&days_until_due=14&description=March&auto_advance=false&pending_invoice_items_behavior=include&metadata[order]=7"
        );
    }

    #[test]
    fn invoice_refusals() {
        assert!(invoice(json!({"customer": "sub_1"})).is_err());
        assert!(
            invoice(json!({"customer": "cus_1", "collection_method": "send_invoice"})).is_err()
        );
        assert!(invoice(json!({"customer": "cus_1", "days_until_due": 3})).is_err());
        assert!(invoice(json!({"customer": "cus_1", "description": ""})).is_err());
        assert!(serde_json::from_value::<CreateInvoiceArgs>(json!({"customer": "cus_1", "pending_invoice_items_behavior": "include_and_require"})).is_err());
    }

    #[test]
    fn an_item_is_an_amount_with_currency_or_a_price() {
        let p = item(json!({"customer": "cus_1", "amount": 2500, "currency": "USD", "description": "Setup", "invoice": "in_1"})).unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "customer=cus_1&amount=2500&currency=usd&description=Setup&invoice=in_1"
        );
        let p = item(json!({"customer": "cus_1", "price": "price_1", "quantity": 2})).unwrap();
        assert_eq!(
            encode_form(&p).unwrap(),
            "customer=cus_1&price=price_1&quantity=2"
        );
        for bad in [
            json!({"customer": "cus_1"}),
            json!({"customer": "cus_1", "amount": 100}),
            json!({"customer": "cus_1", "currency": "usd"}),
            json!({"customer": "cus_1", "amount": 100, "currency": "usd", "price": "price_1"}),
            json!({"customer": "cus_1", "amount": 100, "currency": "usd", "quantity": 2}),
            json!({"customer": "cus_1", "amount": 25.5, "currency": "usd"}),
            json!({"customer": "cus_1", "price": "price_1", "quantity": 0}),
            json!({"customer": "cus_1", "price": "price_1", "invoice": "ii_1"}),
        ] {
            assert!(item(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_filters_are_checked() {
        let q = |v| build_list(serde_json::from_value(v).unwrap());
        let (f, _, c) = q(json!({"customer": "cus_1", "subscription": "sub_1", "status": "open", "starting_after": "in_9"})).unwrap();
        assert_eq!(
            encode_form(&f).unwrap(),
            "customer=cus_1&subscription=sub_1&status=open"
        );
        assert_eq!(c.as_deref(), Some("in_9"));
        assert!(q(json!({"subscription": "si_1"})).is_err());
    }
}
