//! Bounds on in-flight work for a session: at most [`MAX_IN_FLIGHT`] requests handled
//! at once, at most [`MAX_QUEUED`] waiting for a turn (beyond that a call is refused at
//! once, retryable), and no new input read while the client is not reading our output.
//!
//! Without the last rule a client that never reads stdout makes every answer wait in
//! memory: the server grew to 3 GB in 10 s. With it, a stalled client costs at most
//! [`MAX_IN_FLIGHT`] answers, whatever it sends.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Waker},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
};

/// Requests handled at once (each may hold one answer until the client reads it).
pub const MAX_IN_FLIGHT: usize = 64;

/// Requests waiting for a turn before new ones are refused as overloaded.
pub const MAX_QUEUED: usize = 1024;

/// The shared state of one session's gate.
#[derive(Debug)]
pub struct Backpressure {
    /// One permit per request being handled.
    permits: Arc<Semaphore>,
    /// Requests waiting for a permit.
    queued: AtomicUsize,
    /// True while the last write to the client could not complete.
    writer_blocked: AtomicBool,
    /// The reader parked while the writer is blocked.
    reader: Mutex<Option<Waker>>,
    /// Woken when the writer makes progress again.
    writable: Notify,
}

/// Held while a request is handled; dropping it lets the next one in.
#[derive(Debug)]
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

/// Too much is already waiting: the caller should retry a little later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl Backpressure {
    /// A gate with the default bounds.
    pub fn new() -> Arc<Self> {
        Arc::new(Backpressure {
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            queued: AtomicUsize::new(0),
            writer_blocked: AtomicBool::new(false),
            reader: Mutex::new(None),
            writable: Notify::new(),
        })
    }

    /// Waits for a turn, or refuses at once when [`MAX_QUEUED`] are already waiting.
    pub async fn enter(&self) -> Result<Turn, Overloaded> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(Turn { _permit: p });
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Overloaded);
        }
        let permit = self.permits.clone().acquire_owned().await;
        self.queued.fetch_sub(1, Ordering::AcqRel);
        // The semaphore is never closed.
        permit.map(|p| Turn { _permit: p }).map_err(|_| Overloaded)
    }

    /// Returns once the client is reading our output again (at once if it is).
    /// A handler calls this before handing its answer over, so answers queue here,
    /// bounded by [`MAX_IN_FLIGHT`], and not in the transport without bound.
    pub async fn writable(&self) {
        loop {
            let notified = self.writable.notified();
            if !self.writer_blocked.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn set_writer_blocked(&self, blocked: bool) {
        let was = self.writer_blocked.swap(blocked, Ordering::AcqRel);
        if was && !blocked {
            self.writable.notify_waiters();
            if let Some(w) = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take() {
                w.wake();
            }
        }
    }
}

/// The client's input, not read while the client is not reading our output.
#[derive(Debug)]
pub struct GatedReader<R> {
    inner: R,
    gate: Arc<Backpressure>,
}

impl<R> GatedReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, gate: Arc<Backpressure>) -> Self {
        GatedReader { inner, gate }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for GatedReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.gate.writer_blocked.load(Ordering::Acquire) {
            *self.gate.reader.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            // Checked again after parking, so a wake-up in between is not lost.
            if self.gate.writer_blocked.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

/// Our output, which tells the gate whether the client keeps up with it.
#[derive(Debug)]
pub struct GatedWriter<W> {
    inner: W,
    gate: Arc<Backpressure>,
}

impl<W> GatedWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, gate: Arc<Backpressure>) -> Self {
        GatedWriter { inner, gate }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for GatedWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.gate.set_writer_blocked(r.is_pending());
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.gate.set_writer_blocked(r.is_pending());
        r
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn beyond_the_queue_a_turn_is_refused_not_awaited() {
        let gate = Backpressure::new();
        let mut turns = Vec::new();
        for _ in 0..MAX_IN_FLIGHT {
            turns.push(gate.enter().await.unwrap());
        }
        let mut waiting = Vec::new();
        for _ in 0..MAX_QUEUED {
            let g = gate.clone();
            waiting.push(tokio::spawn(async move { g.enter().await.map(|_| ()) }));
        }
        tokio::task::yield_now().await;
        while gate.queued.load(Ordering::Acquire) < MAX_QUEUED {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter().await.unwrap_err(), Overloaded);
        drop(turns);
        for w in waiting {
            assert!(w.await.unwrap().is_ok());
        }
    }

    #[tokio::test]
    async fn a_blocked_writer_parks_handlers_until_it_drains() {
        let gate = Backpressure::new();
        gate.set_writer_blocked(true);
        let g = gate.clone();
        let waiter = tokio::spawn(async move { g.writable().await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        gate.set_writer_blocked(false);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
