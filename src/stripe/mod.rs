//! The thin typed Stripe REST client and the resources the tools use.

pub mod account;
pub mod api_index;
pub mod balance;
pub mod charges;
pub mod checkout;
pub mod client;
pub mod coupons;
pub mod currency;
pub mod customers;
pub mod disputes;
pub mod error;
pub mod invoices;
pub mod key;
pub mod payment_intents;
pub mod payment_links;
pub mod payouts;
pub mod prices;
pub mod products;
pub mod refunds;
pub mod retry;
pub mod search;
pub mod subscriptions;

pub use client::{Client, ClientConfig, IdempotencyKey};
pub use error::Error;
pub use key::{ApiKey, Mode};

use serde::{Deserialize, Deserializer};

/// Stripe's list envelope: one page of objects and whether more follow.
#[derive(Debug, Clone, Deserialize)]
pub struct List<T> {
    /// This page, newest first.
    pub data: Vec<T>,
    /// True when a request with `starting_after` = the last id would return more.
    #[serde(default)]
    pub has_more: bool,
}

/// Decodes a field Stripe sends as an id or, when expanded, as an object with
/// an `id` (`customer`, `charge`, `latest_charge`, `product`, ...) into the id.
pub fn id_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(id)) => Some(id),
        Some(serde_json::Value::Object(map)) => map
            .get("id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => None,
    })
}
