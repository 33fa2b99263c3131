//! Listing: one page as Stripe gives it, or up to 1,000 objects fetched page by
//! page with progress notifications, stopping when the client cancels.

use rmcp::{
    RoleServer,
    model::{ProgressNotificationParam, ProgressToken},
    service::RequestContext,
};
use serde::{Serialize, de::DeserializeOwned};

use super::ToolError;
use crate::{stripe::List, tools::StripeMcp};

/// Stripe's largest page.
pub const STRIPE_PAGE_MAX: u32 = 100;
/// The most objects one list call returns.
pub const LIST_MAX: u32 = 1000;
/// The default `limit` of list tools.
pub const LIST_DEFAULT: u32 = 10;

/// A list result: the objects, and how to continue.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    /// The objects, in Stripe's order (newest first for most resources).
    pub items: Vec<T>,
    /// True when more objects follow the last one.
    pub has_more: bool,
    /// The id to pass as `starting_after` for the next call, when `has_more`.
    pub next_starting_after: Option<String>,
}

/// Validates a list tool's `limit` (1 to 1000, default 10).
pub fn check_limit(limit: Option<i64>) -> Result<u32, ToolError> {
    match limit {
        None => Ok(LIST_DEFAULT),
        Some(l) if (1..=i64::from(LIST_MAX)).contains(&l) => Ok(l as u32),
        Some(l) => Err(ToolError::invalid(format!(
            "limit must be between 1 and {LIST_MAX}, got {l}"
        ))
        .with_hint("Page through more with starting_after = next_starting_after.")),
    }
}

#[derive(Serialize)]
struct PageQuery<'a, F: Serialize> {
    #[serde(flatten)]
    filters: &'a F,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

/// Fetches up to `limit` objects from `path`, following Stripe's cursor across
/// pages of at most 100. Sends a progress notification after each page when the
/// client gave a progress token, and stops early (returning what it has, with
/// a cursor) when the client cancels the request.
pub async fn list<T: DeserializeOwned, F: Serialize>(
    server: &StripeMcp,
    path: &str,
    filters: &F,
    limit: u32,
    starting_after: Option<String>,
    context: Option<&RequestContext<RoleServer>>,
) -> Result<Listed<T>, ToolError> {
    let progress: Option<ProgressToken> = context.and_then(|c| c.meta.get_progress_token());
    let mut items = Vec::new();
    let mut cursor = starting_after;
    let mut has_more;
    loop {
        let want = (limit - items.len() as u32).min(STRIPE_PAGE_MAX);
        let query = PageQuery {
            filters,
            limit: want,
            starting_after: cursor.as_deref(),
        };
        let page: List<serde_json::Value> = server
            .client
            .get(path, &query)
            .await
            .map_err(|e| server.stripe_error(e, None))?;
        has_more = page.has_more;
        let mut data = page.data;
        // Never more than asked for, whatever the upstream sent: the rest stays
        // behind the cursor.
        if data.len() > want as usize {
            data.truncate(want as usize);
            has_more = true;
        }
        let got = data.len();
        for value in data {
            if let Some(id) = value.get("id").and_then(|v| v.as_str()) {
                cursor = Some(id.to_owned());
            }
            let item = serde_json::from_value(value).map_err(|e| {
                ToolError::unexpected(format!("an object in Stripe's list could not be read: {e}"))
            })?;
            items.push(item);
        }
        if let (Some(token), Some(cx)) = (&progress, context) {
            let _ = cx
                .peer
                .notify_progress(
                    ProgressNotificationParam::new(token.clone(), items.len() as f64)
                        .with_total(f64::from(limit))
                        .with_message(format!("fetched {} of up to {limit}", items.len())),
                )
                .await;
        }
        let cancelled = context.is_some_and(|c| c.ct.is_cancelled());
        // A short page ends the call even when Stripe says more exist: the caller
        // gets the cursor, and a stand-in that ignores the cursor cannot loop us.
        if !has_more || got < want as usize || items.len() as u32 >= limit || cancelled {
            break;
        }
    }
    Ok(Listed {
        next_starting_after: if has_more { cursor } else { None },
        has_more,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_go_from_one_to_a_thousand() {
        assert_eq!(check_limit(None).unwrap(), 10);
        assert_eq!(check_limit(Some(1)).unwrap(), 1);
        assert_eq!(check_limit(Some(1000)).unwrap(), 1000);
        assert!(check_limit(Some(0)).is_err());
        assert!(check_limit(Some(1001)).is_err());
        assert!(check_limit(Some(-1)).is_err());
    }

    #[test]
    fn page_queries_flatten_filters_and_add_the_cursor() {
        #[derive(Serialize)]
        struct F {
            customer: &'static str,
        }
        let q = PageQuery {
            filters: &F { customer: "cus_1" },
            limit: 100,
            starting_after: Some("pi_9"),
        };
        assert_eq!(
            crate::stripe::client::encode_form(&q).unwrap(),
            "customer=cus_1&limit=100&starting_after=pi_9"
        );
        let q = PageQuery {
            filters: &(),
            limit: 5,
            starting_after: None,
        };
        assert_eq!(crate::stripe::client::encode_form(&q).unwrap(), "limit=5");
    }
}
