//! The books kept in the store (`--db`): a copy of each Stripe account's balance
//! transactions, and the time ranges already read in full, so a summary fetches from Stripe
//! only what is missing or newer.
//!
//! What is kept never changes once Stripe creates it: amount, fee, net, currency, type,
//! reporting category, created (and a dispute's source id, which decides the dispute
//! total). A transaction's `status` (pending, then available) and `available_on` do
//! change, and are therefore not kept: no figure of the summary depends on them.
//!
//! The newest edge is re-read: a range read at time `now` is recorded as complete only up
//! to `now - OVERLAP`, so the next summary asks Stripe again for everything from there on
//! (a transaction Stripe lists a moment after its `created` is not missed) and keeps each
//! transaction once by id. Everything is filed under the Stripe account it came from and
//! read only within a [`Scope`] that sees that account.

use serde::Deserialize;

use super::Scope;
use crate::stripe::{
    Client,
    slices::{self, Listed, Progress, SliceError},
};

/// How far back from the time of a read a range is re-read by the next one, seconds.
pub const OVERLAP: i64 = 300;

/// The oldest time `books sync` reads from without `--since`: the last 90 days.
pub const DEFAULT_SYNC_DAYS: i64 = 90;

/// One balance transaction as kept: only the fields that never change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BookTxn {
    /// `txn_...`: the paging cursor, and what it is kept once by.
    pub id: String,
    /// Gross, signed minor units.
    pub amount: i64,
    /// Stripe's fee on it, minor units.
    #[serde(default)]
    pub fee: i64,
    /// amount - fee, minor units.
    #[serde(default)]
    pub net: i64,
    /// Lowercase ISO code.
    pub currency: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// charge, refund, payout, adjustment, stripe_fee, ...
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Stripe's bookkeeping category (charge, refund, dispute, fee, payout, ...).
    #[serde(default)]
    pub reporting_category: Option<String>,
    /// The source's id, kept only when it is a dispute (`du_`, `dp_`): all the
    /// categorisation needs, and no customer-linked id is kept.
    #[serde(default, deserialize_with = "dispute_source")]
    pub source: Option<String>,
}

fn dispute_source<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(crate::stripe::id_or_object(d)?.filter(|s| is_dispute(s)))
}

/// A dispute's id (`du_`, `dp_`).
pub fn is_dispute(id: &str) -> bool {
    id.starts_with("du_") || id.starts_with("dp_")
}

impl Listed for BookTxn {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

/// What the store holds of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBooks {
    /// `acct_...`
    pub account: String,
    /// Transactions kept.
    pub transactions: u64,
    /// The ranges read in full, `[start, end)` Unix seconds, oldest first.
    pub ranges: Vec<(i64, i64)>,
}

/// Adds `new` to sorted, disjoint ranges, joining those that touch.
pub fn merge(ranges: &[(i64, i64)], new: (i64, i64)) -> Vec<(i64, i64)> {
    let mut all: Vec<(i64, i64)> = ranges.to_vec();
    if new.0 < new.1 {
        all.push(new);
    }
    all.sort();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(all.len());
    for (s, e) in all {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The parts of `[start, end)` not inside the sorted, disjoint `ranges`.
pub fn missing(ranges: &[(i64, i64)], start: i64, end: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = start;
    for &(s, e) in ranges {
        if e <= at || s >= end {
            continue;
        }
        if s > at {
            out.push((at, s.min(end)));
        }
        at = at.max(e);
        if at >= end {
            break;
        }
    }
    if at < end {
        out.push((at, end));
    }
    out
}

/// Cuts the missing ranges into about `n` slices in all, in proportion to their length,
/// and no more than one per hour of each: a few minutes at the newest edge is one request
/// (a slice that turns out busy is split as it is read).
fn slices_of(missing: &[(i64, i64)], n: usize) -> Vec<(i64, i64)> {
    let total: i64 = missing.iter().map(|(s, e)| e - s).sum();
    missing
        .iter()
        .flat_map(|&(s, e)| {
            let share = ((e - s) as f64 / total.max(1) as f64 * n as f64).ceil() as usize;
            let hours = usize::try_from((e - s) / 3_600).unwrap_or(usize::MAX);
            slices::even(s, e, share.min(hours).max(1))
        })
        .collect()
}

/// What [`sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// Transactions read from Stripe (the rest came from the store).
    pub fetched: u64,
    /// Ranges asked of Stripe.
    pub ranges: usize,
}

/// Why [`sync`] failed.
#[derive(Debug)]
pub enum SyncError {
    /// Reading Stripe failed (or was cancelled, or passed the bound).
    Read(SliceError),
    /// The store failed.
    Store(super::StoreError),
}

/// Brings the copy of `account`'s transactions up to date over `[start, end)`: reads from
/// Stripe only what no earlier read covered (as `scope`, the caller's, sees it), plus the
/// newest [`OVERLAP`], at most `max` transactions; keeps them, and records the range as
/// read up to `now - OVERLAP`. `client` must act on `account`, and `scope` must see it
/// (a scope that does not sees nothing held, so everything would be read again).
#[allow(clippy::too_many_arguments)]
pub async fn sync<P, Fut>(
    store: &super::Store,
    scope: &Scope,
    client: &Client,
    account: &str,
    start: i64,
    end: i64,
    now: i64,
    max: u64,
    cancel: Option<&tokio_util::sync::CancellationToken>,
    progress: P,
) -> Result<Synced, SyncError>
where
    P: FnMut(Progress) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let held = store
        .books_ranges(scope, account)
        .await
        .map_err(SyncError::Store)?;
    // Nothing is created after now: the future part of a period is not asked for.
    let end = end.min(now + 1);
    let want = missing(&held, start, end);
    if want.is_empty() {
        return Ok(Synced {
            fetched: 0,
            ranges: 0,
        });
    }
    #[derive(serde::Serialize)]
    struct All {}
    let txns: Vec<BookTxn> = slices::read(
        client,
        "/v1/balance_transactions",
        &All {},
        slices_of(&want, slices::parallel(client.read_budget().rate())),
        max,
        cancel,
        progress,
    )
    .await
    .map_err(SyncError::Read)?;
    let complete_until = now - OVERLAP;
    let read: Vec<(i64, i64)> = want
        .iter()
        .map(|&(s, e)| (s, e.min(complete_until)))
        .filter(|(s, e)| s < e)
        .collect();
    let fetched = txns.len() as u64;
    store
        .books_put(account, txns, read)
        .await
        .map_err(SyncError::Store)?;
    Ok(Synced {
        fetched,
        ranges: want.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge_and_leave_the_gaps_missing() {
        let r = merge(&[], (10, 20));
        let r = merge(&r, (30, 40));
        assert_eq!(r, [(10, 20), (30, 40)]);
        assert_eq!(missing(&r, 0, 50), [(0, 10), (20, 30), (40, 50)]);
        assert_eq!(missing(&r, 12, 18), Vec::<(i64, i64)>::new());
        assert_eq!(missing(&r, 15, 35), [(20, 30)]);
        let r = merge(&r, (20, 30));
        assert_eq!(r, [(10, 40)]);
        assert_eq!(merge(&r, (5, 5)), [(10, 40)]);
        assert_eq!(missing(&[], 3, 7), [(3, 7)]);
    }

    #[test]
    fn missing_ranges_are_sliced_in_proportion() {
        let s = slices_of(&[(0, 100_000), (200_000, 200_010)], 10);
        assert_eq!(s.iter().filter(|(a, _)| *a < 100_000).count(), 10);
        assert_eq!(s.iter().filter(|(a, _)| *a >= 200_000).count(), 1);
        assert_eq!(slices_of(&[(0, 300)], 16), [(0, 300)]);
    }

    #[test]
    fn only_a_dispute_source_is_kept() {
        let t: BookTxn = serde_json::from_value(serde_json::json!({
            "id": "txn_1", "amount": 100, "currency": "usd", "source": "ch_1"
        }))
        .unwrap();
        assert_eq!(t.source, None);
        let t: BookTxn = serde_json::from_value(serde_json::json!({
            "id": "txn_2", "amount": -100, "currency": "usd", "source": {"id": "du_1"}
        }))
        .unwrap();
        assert_eq!(t.source.as_deref(), Some("du_1"));
    }
}
