//! Reading a whole Stripe list fast: the `created` range is cut into time slices read
//! concurrently, each paged with its own cursor, all under the key's read
//! [`Budget`](super::budget::Budget).
//!
//! Slices are half-open (`created[gte]`, `created[lt]`), so an object belongs to exactly
//! one. Nothing is read twice: after a full page whose oldest object (`id`, created `c`)
//! is the cursor, everything of the slice newer than that object has been read, so the
//! slice continues as `[gte, c + 1)` after `id` (Stripe's cursor is a place in the list,
//! whatever the `created` bounds around it). When no more than half the pages that keep
//! the budget busy are in flight ([`in_flight_for`] the quickest page yet), the unread
//! `[gte, c)` is split instead: the slice continues over its newest part, and the rest
//! becomes new slices ([`cuts`]), sized by the density the page just showed. Objects are
//! kept once by id all the same. A page that fails in a way retrying can help (429, 5xx, a
//! lost connection) is asked again with the same cursor, so nothing is lost either. Every slice runs within the calling
//! task (so its task-locals hold), and dropping the read stops every slice at once.

use std::{collections::HashSet, future::Future};

use futures_util::{StreamExt, stream::FuturesUnordered};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use super::{Client, Error, List};

/// The most pages in flight at once for one read.
pub const PARALLEL: usize = 16;

/// Seconds one page is assumed to take: Stripe's list latency (about 250 ms, more for
/// a page of 100 expanded objects) and the client's own time, with room to spare.
const PAGE_SECONDS: f64 = 0.35;

/// Pages a read keeps in flight (and slices it starts with) for a budget of `rate`
/// requests per second: enough that the budget, not Stripe's latency, sets the pace
/// (test mode's 23.75/s: 9), and no more, since every slice ends on a partly filled
/// page that costs a request of the budget.
pub fn parallel(rate: f64) -> usize {
    ((rate * PAGE_SECONDS).ceil() as usize).clamp(4, PARALLEL)
}

/// Times one page is asked again after a retryable failure, on top of the client's own retries.
pub const PAGE_RETRIES: u32 = 6;

/// Objects per page: Stripe's maximum.
const PAGE: u32 = 100;

/// An object of a Stripe list read in slices.
pub trait Listed: DeserializeOwned {
    /// Its id: the cursor, and what it is kept once by.
    fn id(&self) -> &str;
    /// Its `created`, Unix seconds: which slice it is in.
    fn created(&self) -> i64;
}

/// Why a sliced read stopped.
#[derive(Debug)]
pub enum SliceError {
    /// Stripe refused a page in a way retrying does not help, or retries ran out.
    Stripe(Error),
    /// More than the bound: refused rather than cut short.
    TooMany(u64),
    /// The caller cancelled.
    Cancelled,
}

/// How far a read has come, for progress notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Objects read so far (each once).
    pub read: u64,
    /// Slices finished.
    pub slices_done: usize,
    /// Slices so far (splitting adds some).
    pub slices: usize,
}

/// One slice's place: its range and, once started, its cursor.
#[derive(Debug, Clone)]
struct Job {
    gte: i64,
    lt: i64,
    cursor: Option<String>,
    /// Failed attempts of this page so far.
    failures: u32,
}

#[derive(Serialize)]
struct Created {
    gte: i64,
    lt: i64,
}

#[derive(Serialize)]
struct Query<'a, F: Serialize> {
    #[serde(flatten)]
    filters: &'a F,
    created: Created,
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<&'a str>,
}

/// Splits `[start, end)` into `n` slices of equal time (fewer when it is shorter).
pub fn even(start: i64, end: i64, n: usize) -> Vec<(i64, i64)> {
    let width = end - start;
    if width <= 0 {
        return Vec::new();
    }
    let n = (n as i64).clamp(1, width);
    (0..n)
        .map(|i| (start + width * i / n, start + width * (i + 1) / n))
        .collect()
}

/// Where to cut the unread `[gte, c)` of a slice whose last full page spanned `span`
/// seconds, into at most `parts`, and no more than the pages it holds by that page's
/// density (the first, newest, is the one the slice continues over): the
/// boundaries from `c` down to `gte`, newest first. By the page's density `[gte, c)`
/// holds about `(c - gte) / span` pages. When that is a few pages a part, the parts are
/// even; when it is many, the density is a guess far from the page, so the parts grow
/// from one page's width by doubling (a burst near the newest edge is found in a few
/// rounds, and a quiet stretch costs one request).
pub fn cuts(gte: i64, c: i64, span: i64, parts: usize) -> Vec<i64> {
    let width = c - gte;
    let span = span.max(1);
    let parts = parts.max(1);
    let pages = width as f64 / span as f64;
    let parts = parts.min(pages.ceil() as usize).max(1);
    if pages <= 2.0 * parts as f64 {
        // Whole pages a part: 4.5 pages in 4 parts would cost 8 requests, in 3 parts 6.
        let per_part = (pages / parts as f64).ceil().max(1.0);
        let parts = ((pages / per_part).ceil() as usize).clamp(1, parts);
        let mut b: Vec<i64> = even(gte, c, parts).iter().rev().map(|&(_, e)| e).collect();
        b.push(gte);
        b.dedup();
        return b;
    }
    let exp = i32::try_from(parts).unwrap_or(i32::MAX).min(60);
    let first = (pages / (2f64.powi(exp) - 1.0)).max(1.0) * span as f64;
    let mut b = vec![c];
    let mut size = first;
    let mut at = c as f64;
    for _ in 1..parts {
        at -= size;
        size *= 2.0;
        let cut = at.floor() as i64;
        if cut <= gte {
            break;
        }
        b.push(cut);
    }
    b.push(gte);
    b
}

/// Pages to keep in flight for a budget of `rate` requests per second when a page takes
/// `latency` seconds on the wire: what keeps the budget busy (Little's law: rate x
/// latency, to the nearest page), at least two and at most [`PARALLEL`]. Well below that
/// the budget waits for pages in flight, so a slice with more than a page left is split;
/// near or above it, the budget sets the pace and a split would only add partly filled
/// pages.
pub fn in_flight_for(rate: f64, latency: f64) -> usize {
    ((rate * latency).round() as usize).clamp(2, PARALLEL)
}

/// True when asking for the same page again may succeed.
fn retryable(e: &Error) -> bool {
    match e {
        Error::Network { .. } => true,
        Error::Api {
            should_retry: Some(explicit),
            ..
        } => *explicit,
        _ => matches!(e.http_status(), Some(409 | 429 | 500 | 502 | 503 | 504)),
    }
}

/// Reads every object of `path` (with `filters`) created within the `ranges`, each once,
/// at most `max` of them. `progress` is awaited after every page; `cancel` stops every
/// slice.
pub async fn read<T, F, P, Fut>(
    client: &Client,
    path: &str,
    filters: &F,
    ranges: Vec<(i64, i64)>,
    max: u64,
    cancel: Option<&CancellationToken>,
    mut progress: P,
) -> Result<Vec<T>, SliceError>
where
    T: Listed,
    F: Serialize,
    P: FnMut(Progress) -> Fut,
    Fut: Future<Output = ()>,
{
    let fetch = |job: Job| async move {
        let query = Query {
            filters,
            created: Created {
                gte: job.gte,
                lt: job.lt,
            },
            limit: PAGE,
            starting_after: job.cursor.as_deref(),
        };
        let sent = tokio::time::Instant::now();
        let page = client.get::<List<T>>(path, &query).await;
        (job, page, sent.elapsed().as_secs_f64())
    };
    let budget = client.read_budget();
    // The quickest round trip of a full page so far: about a page's time on the wire, since
    // a wait for the budget only adds to a round trip (and the first requests of a read
    // leave without one). A split is only ever decided after a full page.
    let mut latency = f64::INFINITY;
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<T> = Vec::new();
    let mut in_flight = FuturesUnordered::new();
    let mut slices = 0usize;
    let mut done = 0usize;
    for (gte, lt) in ranges {
        slices += 1;
        in_flight.push(fetch(Job {
            gte,
            lt,
            cursor: None,
            failures: 0,
        }));
    }
    let never = CancellationToken::new();
    let cancel = cancel.unwrap_or(&never);
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(SliceError::Cancelled),
            next = in_flight.next() => next,
        };
        let Some((job, page, round_trip)) = next else {
            return Ok(out);
        };
        let page = match page {
            Ok(page) => page,
            Err(e) if retryable(&e) && job.failures < PAGE_RETRIES => {
                tracing::info!(
                    path,
                    status = e.http_status(),
                    failures = job.failures + 1,
                    "asking for a page again"
                );
                in_flight.push(fetch(Job {
                    failures: job.failures + 1,
                    ..job
                }));
                continue;
            }
            Err(e) => return Err(SliceError::Stripe(e)),
        };
        if page.data.len() >= PAGE as usize {
            latency = latency.min(round_trip);
        }
        let got = page.data.len();
        let newest = page.data.first().map(|o| o.created());
        let oldest = page.data.last().map(|o| (o.id().to_owned(), o.created()));
        for object in page.data {
            if seen.insert(object.id().to_owned()) {
                out.push(object);
            }
        }
        if out.len() as u64 > max {
            return Err(SliceError::TooMany(max));
        }
        // A short or empty page ends the slice even if Stripe says more exist, so a
        // stand-in that ignores the cursor cannot loop us.
        match oldest {
            Some((id, c)) if page.has_more && got >= PAGE as usize => {
                // Everything of the slice newer than `id` is read: what is left is the
                // rest of second `c` and [gte, c).
                let span = newest.unwrap_or(c) - c;
                // Split only when the budget is about to wait for pages: no more than half
                // of what keeps it busy in flight (a slice or two still going while the
                // rest ended). Above that the others keep it busy, and every part would end
                // on a partly filled page. Then up to as many as a read starts with: each
                // part's run of pages is shorter, and the parts wait for the budget, not
                // for Stripe.
                let rate = budget.current_rate();
                let room = if in_flight.len() <= in_flight_for(rate, latency) / 2 {
                    parallel(rate).saturating_sub(in_flight.len())
                } else {
                    0
                };
                let b = if c > job.gte && room >= 2 {
                    cuts(job.gte, c, span, room)
                } else {
                    vec![c, job.gte]
                };
                // The slice goes on after `id` over the newest part (and second c) ...
                in_flight.push(fetch(Job {
                    gte: b[1],
                    lt: (c + 1).min(job.lt),
                    cursor: Some(id),
                    failures: 0,
                }));
                // ... and the older parts are new slices.
                for w in b[1..].windows(2) {
                    slices += 1;
                    in_flight.push(fetch(Job {
                        gte: w[1],
                        lt: w[0],
                        cursor: None,
                        failures: 0,
                    }));
                }
            }
            _ => done += 1,
        }
        progress(Progress {
            read: out.len() as u64,
            slices_done: done,
            slices,
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_kept_in_flight_are_what_keeps_the_budget_busy() {
        // Test mode, 250 ms a page: 23.75 x 0.25 = 5.9 on the wire.
        assert_eq!(in_flight_for(23.75, 0.25), 6);
        assert_eq!(in_flight_for(23.75, 0.26), 6);
        // Pages that come back quickly need few in flight, but never fewer than two.
        assert_eq!(in_flight_for(25.0, 0.02), 2);
        // Live mode: 95/s at 250 ms would be 25; bounded.
        assert_eq!(in_flight_for(95.0, 0.25), PARALLEL);
        // Before any page is back the latency is unknown (infinite): the most.
        assert_eq!(in_flight_for(23.75, f64::INFINITY), PARALLEL);
    }

    #[test]
    fn even_slices_cover_the_range_once() {
        let s = even(100, 200, 3);
        assert_eq!(s, [(100, 133), (133, 166), (166, 200)]);
        assert_eq!(even(0, 2, 16), [(0, 1), (1, 2)]);
        assert!(even(5, 5, 4).is_empty());
    }

    #[test]
    fn a_slice_is_cut_evenly_when_the_page_says_a_few_pages_are_left() {
        // 300 s unread at 100 s a page: three parts of a page each.
        assert_eq!(cuts(0, 300, 100, 3), [300, 200, 100, 0]);
        // One part: the slice simply goes on.
        assert_eq!(cuts(0, 300, 100, 1), [300, 0]);
        // Fewer seconds than parts.
        assert_eq!(cuts(10, 12, 1, 8), [12, 11, 10]);
    }

    #[test]
    fn a_slice_is_cut_by_doubling_when_the_page_says_many_are_left() {
        // 1,000 s unread at 2 s a page: 2, 4, 8, 16 ... s from the edge, the rest last.
        let b = cuts(0, 1_000, 2, 9);
        assert_eq!(b, [1_000, 998, 994, 986, 970, 938, 874, 746, 490, 0]);
        // Far more than doubling reaches: the first part grows so the parts cover it all.
        let b = cuts(0, 1_000_000, 1, 4);
        assert_eq!(b, [1_000_000, 933_333, 800_000, 533_333, 0]);
    }
}
