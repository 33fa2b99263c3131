//! Reading a whole Stripe list fast: the `created` range is cut into time slices read
//! concurrently, each paged with its own cursor, all under the key's read
//! [`Budget`](super::budget::Budget).
//!
//! Slices are half-open (`created[gte]`, `created[lt]`), so an object belongs to exactly
//! one. A slice that still has pages to read while fewer than [`PARALLEL`] are in flight
//! is split instead of continued: its page's oldest time `c` leaves `[gte, c)` still
//! unread (new slices, as many as there is room for) and `[c, c + 1)` partly read (one
//! more, re-read whole); objects
//! are kept once by id, so re-reading an edge never counts twice. A page that fails in a
//! way retrying can help (429, 5xx, a lost connection) is asked again with the same
//! cursor, so nothing is lost either. Every slice runs within the calling task (so its
//! task-locals hold), and dropping the read stops every slice at once.

use std::{collections::HashSet, future::Future};

use futures_util::{StreamExt, stream::FuturesUnordered};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use super::{Client, Error, List};

/// Pages in flight at once for one read (the budget holds them to Stripe's rate; at
/// Stripe's ~250 ms per page, 25 requests/s needs about 7).
pub const PARALLEL: usize = 16;

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
        let page = client.get::<List<T>>(path, &query).await;
        (job, page)
    };
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
        let Some((job, page)) = next else {
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
        let got = page.data.len();
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
                let splittable = c > job.gte && c < job.lt;
                let room = PARALLEL.saturating_sub(in_flight.len() + 1);
                if splittable && room >= 2 {
                    // The unread part [gte, c) in as many slices as there is room for (at
                    // most 8), and the partly read second c whole again.
                    done += 1;
                    let mut parts = even(job.gte, c, room.min(8) - 1);
                    parts.push((c, c + 1));
                    for (gte, lt) in parts {
                        slices += 1;
                        in_flight.push(fetch(Job {
                            gte,
                            lt,
                            cursor: None,
                            failures: 0,
                        }));
                    }
                } else {
                    in_flight.push(fetch(Job {
                        cursor: Some(id),
                        failures: 0,
                        ..job
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
    fn even_slices_cover_the_range_once() {
        let s = even(100, 200, 3);
        assert_eq!(s, [(100, 133), (133, 166), (166, 200)]);
        assert_eq!(even(0, 2, 16), [(0, 1), (1, 2)]);
        assert!(even(5, 5, 4).is_empty());
    }
}
