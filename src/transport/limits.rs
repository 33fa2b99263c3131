//! What one caller may hold of a shared `serve --http`, so that no caller (and no
//! unauthenticated stranger) can take the server from the others.
//!
//! - [`Gate`]: connections. One that has not yet sent an authenticated request is
//!   *unauthenticated*: it has `--header-timeout` to do so, and at most
//!   `--max-unauthenticated` of them are open (a new one closes the oldest, so a flood of
//!   idle sockets never keeps a real caller out). Once authenticated, a connection takes
//!   one of `--max-connections` places.
//! - [`Usage`]: per tenant, requests in flight (`--max-calls-per-tenant`) and open GET
//!   streams (`--max-streams-per-tenant`); each is held by a response body until it ends or
//!   is dropped. A revoked tenant's bodies end at once ([`Usage::end_except`]).
//! - [`Guarded`]: the response body that holds a [`Held`], ends on revocation, and ends a
//!   GET stream that carried nothing but keep-alives for `--stream-idle-timeout`.
//! - [`StallIo`]: a connection whose client stops reading for `--write-timeout` while an
//!   answer waits is closed, and the answer's memory returned.
//! - [`Hits`]: a bound that is hit says so in a log line (at most one per bound per 10 s).
//!
//! Sessions (`--max-sessions-per-tenant`, `--max-sessions`) are counted in
//! [`super::http`], which binds each session to its tenant.

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::body::{Body, Bytes};
use clap::Args;
use http_body::Frame;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Sleep,
};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// The per-caller bounds of `serve --http`; each is a flag with a default.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub struct BoundArgs {
    /// Seconds a new connection has to send an authenticated request; one that has not is closed.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub header_timeout: u64,

    /// Connections open without an authenticated request yet; one more closes the oldest of them.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_unauthenticated: u32,

    /// Sessions (protocol 2025-11-25) one tenant may hold; opening one more closes its least recently used.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_sessions_per_tenant: u32,

    /// Sessions in all; past this, a new session is refused with 503 and Retry-After.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000), value_name = "N")]
    pub max_sessions: u32,

    /// Seconds a session may go unused before it is closed.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub session_idle_timeout: u64,

    /// Open GET (SSE) streams per tenant; one more is refused with 429 and Retry-After.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_streams_per_tenant: u32,

    /// Requests one tenant may have in flight (POST, until its answer is delivered); one more is refused with 429 and Retry-After.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_calls_per_tenant: u32,

    /// Seconds a GET stream may carry nothing but keep-alives before it is closed (the client may reopen it).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub stream_idle_timeout: u64,

    /// Seconds a client may leave an answer unread (its socket full) before the connection is closed and the answer dropped.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub write_timeout: u64,
}

/// A bound hit: named in one log line per bound per 10 s, with how often since the last.
#[derive(Default)]
pub struct Hits {
    /// Per bound's flag: when it was last logged, and the hits since.
    seen: Mutex<HashMap<&'static str, (Option<Instant>, u64)>>,
    /// Every hit so far: [`give_back_memory`] trims after any.
    total: AtomicU64,
}

impl Hits {
    /// Hits so far, all bounds together.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Records that the bound of `flag` refused or closed something.
    pub fn hit(&self, flag: &'static str, what: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (last, count) = seen.entry(flag).or_insert((None, 0));
        *count += 1;
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            tracing::warn!(bound = flag, hits = *count, "bound reached: {what}");
            *last = Some(Instant::now());
            *count = 0;
        }
    }
}

/// Every 10 s after a bound was hit (an unread answer dropped, sessions closed), hands
/// the freed memory back to the system: glibc's allocator otherwise keeps the pages of a
/// burst of large answers long after they are gone.
pub async fn give_back_memory(hits: Arc<Hits>) {
    let mut seen = hits.total();
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let now = hits.total();
        if now != seen {
            seen = now;
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only returns free pages to the system; it touches no
            // memory in use.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    }
}

/// One accepted connection, as the [`Gate`] sees it.
pub struct Conn {
    /// Which connection (for removal from the waiting line).
    id: u64,
    /// One of `--max-connections` places, once it has authenticated.
    place: Mutex<Option<OwnedSemaphorePermit>>,
    /// Cancelled when a newer unauthenticated connection pushes this one out.
    pub evicted: CancellationToken,
}

impl Conn {
    /// True once a request on it has authenticated.
    pub fn authenticated(&self) -> bool {
        self.place
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }
}

/// Admission of connections: a small line of unauthenticated ones, and the places of
/// authenticated ones.
pub struct Gate {
    /// `--max-connections` places for authenticated connections.
    pub places: Arc<Semaphore>,
    /// Unauthenticated connections, oldest first.
    waiting: Mutex<VecDeque<Arc<Conn>>>,
    /// `--max-unauthenticated`.
    max_waiting: usize,
    /// Numbers connections.
    next: AtomicU64,
}

impl Gate {
    /// `places` authenticated connections, `max_waiting` unauthenticated ones.
    pub fn new(places: usize, max_waiting: usize) -> Self {
        Gate {
            places: Arc::new(Semaphore::new(places)),
            waiting: Mutex::new(VecDeque::new()),
            max_waiting: max_waiting.max(1),
            next: AtomicU64::new(0),
        }
    }

    /// A new connection joins the unauthenticated line; past the line's length, the
    /// oldest one in it is told to close. Returns the connection and whether one was pushed out.
    pub fn admit(&self) -> (Arc<Conn>, bool) {
        let conn = Arc::new(Conn {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            place: Mutex::new(None),
            evicted: CancellationToken::new(),
        });
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.push_back(conn.clone());
        let mut pushed_out = false;
        while waiting.len() > self.max_waiting {
            if let Some(old) = waiting.pop_front() {
                old.evicted.cancel();
                pushed_out = true;
            }
        }
        (conn, pushed_out)
    }

    /// The connection has authenticated: it takes a place, or `false` when all are taken.
    pub fn promote(&self, conn: &Conn) -> bool {
        let mut place = conn.place.lock().unwrap_or_else(|e| e.into_inner());
        if place.is_some() {
            return true;
        }
        match self.places.clone().try_acquire_owned() {
            Ok(permit) => {
                *place = Some(permit);
                drop(place);
                self.leave_line(conn);
                true
            }
            Err(_) => false,
        }
    }

    /// The connection closed: out of the line, and its place (if any) freed when dropped.
    pub fn leave(&self, conn: &Conn) {
        self.leave_line(conn);
        conn.place.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn leave_line(&self, conn: &Conn) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = waiting.iter().position(|c| c.id == conn.id) {
            waiting.remove(i);
        }
    }
}

/// What a request holds of its tenant's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A POST, until its answer is delivered.
    Call,
    /// A GET stream.
    Stream,
}

/// One tenant's requests in flight and open streams.
struct Count {
    calls: u32,
    streams: u32,
    /// Cancelled when the tenant is revoked: its bodies end.
    ended: CancellationToken,
    /// Which entry this is (a revoked tenant that comes back gets a new one).
    epoch: u64,
}

/// Per tenant: what it holds now.
#[derive(Default)]
pub struct Usage {
    by_tenant: Mutex<HashMap<String, Count>>,
    /// Numbers entries.
    next: AtomicU64,
}

impl Usage {
    /// Takes one `kind` for `tenant` if it holds fewer than `cap`; `None` when it is full.
    pub fn enter(self: &Arc<Self>, tenant: &str, kind: Kind, cap: u32) -> Option<Held> {
        let mut map = self.by_tenant.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(tenant.to_owned()).or_insert_with(|| Count {
            calls: 0,
            streams: 0,
            ended: CancellationToken::new(),
            epoch: self.next.fetch_add(1, Ordering::Relaxed),
        });
        let slot = match kind {
            Kind::Call => &mut count.calls,
            Kind::Stream => &mut count.streams,
        };
        if *slot >= cap {
            if count.calls == 0 && count.streams == 0 {
                map.remove(tenant);
            }
            return None;
        }
        *slot += 1;
        Some(Held {
            usage: self.clone(),
            tenant: tenant.to_owned(),
            kind,
            ended: count.ended.clone(),
            epoch: count.epoch,
        })
    }

    /// Ends every body of the tenants `keep` says no to (revoked on reload); returns their names.
    pub fn end_except(&self, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let mut map = self.by_tenant.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = map.keys().filter(|t| !keep(t)).cloned().collect();
        for tenant in &gone {
            if let Some(count) = map.remove(tenant) {
                count.ended.cancel();
            }
        }
        gone
    }
}

/// One unit of a tenant's share, given back when dropped.
pub struct Held {
    usage: Arc<Usage>,
    tenant: String,
    kind: Kind,
    /// Cancelled if the tenant is revoked.
    ended: CancellationToken,
    /// The entry it was taken from.
    epoch: u64,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut map = self
            .usage
            .by_tenant
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = map.get_mut(&self.tenant) {
            // A revoked tenant's entry may already be a new one: only its own counts.
            if count.epoch != self.epoch {
                return;
            }
            let slot = match self.kind {
                Kind::Call => &mut count.calls,
                Kind::Stream => &mut count.streams,
            };
            *slot = slot.saturating_sub(1);
            if count.calls == 0 && count.streams == 0 {
                map.remove(&self.tenant);
            }
        }
    }
}

/// A response body that gives its [`Held`] back when it ends or is dropped, ends at once
/// when its tenant is revoked, and (for a GET stream) ends after `idle` with nothing but
/// keep-alives.
pub struct Guarded {
    inner: Body,
    /// The share this answer holds.
    held: Option<Held>,
    /// Resolves when the tenant is revoked.
    revoked: Pin<Box<WaitForCancellationFutureOwned>>,
    /// A GET stream's idle bound and its timer.
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    /// Told when a stream is ended for idleness.
    hits: Arc<Hits>,
}

impl Guarded {
    /// Wraps `inner`; `idle` for GET streams only.
    pub fn new(inner: Body, held: Held, idle: Option<Duration>, hits: Arc<Hits>) -> Self {
        let revoked = Box::pin(held.ended.clone().cancelled_owned());
        Guarded {
            inner,
            held: Some(held),
            revoked,
            idle: idle.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            hits,
        }
    }
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.held.is_none() {
            return Poll::Ready(None);
        }
        if this.revoked.as_mut().poll(cx).is_ready() {
            this.held.take();
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some((d, sleep)) = &mut this.idle
                    && frame.data_ref().is_some_and(|b| !b.starts_with(b":"))
                {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *d);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                if other.is_none() {
                    this.held.take();
                }
                Poll::Ready(other)
            }
            Poll::Pending => {
                if let Some((_, sleep)) = &mut this.idle
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    this.hits
                        .hit("--stream-idle-timeout", "closed an idle GET stream");
                    this.held.take();
                    return Poll::Ready(None);
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.held.is_none() || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes may stay blocked (the client not reading) for at most
/// `limit`; then it fails, hyper closes the connection, and the answer is dropped.
pub struct StallIo<T> {
    inner: T,
    limit: Duration,
    /// Running while a write is blocked.
    stalled: Option<Pin<Box<Sleep>>>,
    /// Told when a connection is closed for it.
    hits: Arc<Hits>,
}

impl<T> StallIo<T> {
    /// Wraps a connection.
    pub fn new(inner: T, limit: Duration, hits: Arc<Hits>) -> Self {
        StallIo {
            inner,
            limit,
            stalled: None,
            hits,
        }
    }

    fn blocked<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.hits.hit(
                "--write-timeout",
                "closed a connection whose client stopped reading",
            );
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            )));
        }
        Poll::Pending
    }

    fn progressed<R>(
        &mut self,
        r: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match r {
            Poll::Pending => self.blocked(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.progressed(r, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.progressed(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.progressed(r, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
