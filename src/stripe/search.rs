//! Search and fetch: `GET /v1/<resource>/search` (Stripe's Search API) and
//! `GET /v1/<resource>/{id}` for an id of any known kind.

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::{Client, Error};

/// The resources Stripe's Search API covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchResource {
    /// Customers (cus_...): fields such as email, name, phone, metadata, created.
    Customers,
    /// Charges (ch_...): amount, currency, status, customer, payment_method_details.card.last4, refunded, disputed, metadata, created.
    Charges,
    /// Payment intents (pi_...): amount, currency, status, customer, metadata, created.
    PaymentIntents,
    /// Subscriptions (sub_...): status, metadata, created.
    Subscriptions,
    /// Invoices (in_...): customer, status, total, number, currency, subscription, metadata, created.
    Invoices,
    /// Products (prod_...): name, active, description, shippable, url, metadata, created.
    Products,
    /// Prices (price_...): product, active, currency, type, lookup_key, metadata, created.
    Prices,
}

impl SearchResource {
    /// The resource's path segment, as in `/v1/<segment>/search`.
    pub fn segment(self) -> &'static str {
        match self {
            SearchResource::Customers => "customers",
            SearchResource::Charges => "charges",
            SearchResource::PaymentIntents => "payment_intents",
            SearchResource::Subscriptions => "subscriptions",
            SearchResource::Invoices => "invoices",
            SearchResource::Products => "products",
            SearchResource::Prices => "prices",
        }
    }

    /// `/v1/<segment>/search`.
    pub fn path(self) -> String {
        format!("/v1/{}/search", self.segment())
    }
}

/// Query of `GET /v1/<resource>/search`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchQuery {
    /// Stripe's search query language.
    pub query: String,
    /// 1 to 100.
    pub limit: u32,
    /// The `next_page` cursor of the previous result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

/// Stripe's search envelope. The objects are kept as JSON: each resource has
/// its own shape, and the summary reads only a few common fields.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResult {
    /// The matches, most relevant first.
    #[serde(default)]
    pub data: Vec<serde_json::Value>,
    /// True when more matches follow.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor for the next page, when `has_more`.
    #[serde(default)]
    pub next_page: Option<String>,
}

/// Which endpoint serves an id: `(prefix, path segment under /v1/)`. A longer
/// prefix comes before any shorter prefix it starts with (`sub_sched_` before
/// `sub_`, `pyr_` before `py_`).
pub const ID_PREFIXES: &[(&str, &str)] = &[
    ("acct_", "accounts"),
    ("ch_", "charges"),
    ("cn_", "credit_notes"),
    ("cs_", "checkout/sessions"),
    ("cus_", "customers"),
    ("dp_", "disputes"),
    ("du_", "disputes"),
    ("evt_", "events"),
    ("fee_", "application_fees"),
    ("file_", "files"),
    ("ii_", "invoiceitems"),
    ("in_", "invoices"),
    ("link_", "file_links"),
    ("mandate_", "mandates"),
    ("pi_", "payment_intents"),
    ("plink_", "payment_links"),
    ("pm_", "payment_methods"),
    ("po_", "payouts"),
    ("price_", "prices"),
    ("prod_", "products"),
    ("promo_", "promotion_codes"),
    ("prv_", "reviews"),
    ("pyr_", "refunds"),
    ("py_", "charges"),
    ("qt_", "quotes"),
    ("re_", "refunds"),
    ("seti_", "setup_intents"),
    ("shr_", "shipping_rates"),
    ("si_", "subscription_items"),
    ("sub_sched_", "subscription_schedules"),
    ("sub_", "subscriptions"),
    ("tr_", "transfers"),
    ("tu_", "topups"),
    ("txn_", "balance_transactions"),
    ("txr_", "tax_rates"),
    ("we_", "webhook_endpoints"),
];

/// The path segment that serves `id`, from its prefix.
pub fn segment_for_id(id: &str) -> Option<&'static str> {
    ID_PREFIXES
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map(|(_, segment)| *segment)
}

impl Client {
    /// Searches one resource.
    pub async fn search(
        &self,
        resource: SearchResource,
        query: &SearchQuery,
    ) -> Result<SearchResult, Error> {
        self.get(&resource.path(), query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stripe::client::encode_form;

    #[test]
    fn no_prefix_is_shadowed_by_an_earlier_shorter_one() {
        for (i, (later, _)) in ID_PREFIXES.iter().enumerate() {
            for (earlier, _) in &ID_PREFIXES[..i] {
                assert!(
                    !later.starts_with(earlier),
                    "{later} is never reached: {earlier} comes first"
                );
            }
        }
    }

    #[test]
    fn ids_map_to_their_endpoints() {
        assert_eq!(segment_for_id("cus_1"), Some("customers"));
        assert_eq!(
            segment_for_id("sub_sched_1"),
            Some("subscription_schedules")
        );
        assert_eq!(segment_for_id("sub_1"), Some("subscriptions"));
        assert_eq!(segment_for_id("pyr_1"), Some("refunds"));
        assert_eq!(segment_for_id("py_1"), Some("charges"));
        assert_eq!(segment_for_id("cs_test_a1"), Some("checkout/sessions"));
        assert_eq!(segment_for_id("du_1"), Some("disputes"));
        assert_eq!(segment_for_id("SUMMER25"), None);
    }

    #[test]
    fn search_queries_encode_the_query_and_cursor() {
        let q = SearchQuery {
            query: "email:'jane@example.com'".into(),
            limit: 5,
            page: Some("abc".into()),
        };
        assert_eq!(
            encode_form(&q).unwrap(),
            "query=email%3A%27jane%40example.com%27&limit=5&page=abc"
        );
        assert_eq!(
            SearchResource::PaymentIntents.path(),
            "/v1/payment_intents/search"
        );
    }
}
