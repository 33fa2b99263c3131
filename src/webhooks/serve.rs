//! The HTTP/1 accept loop in front of the receiver's router: a cap on open connections,
//! and a deadline on every phase a client could otherwise stretch forever.
//!
//! `axum::serve` has neither (no timer, so no header timeout; no connection limit), and the
//! receiver faces the internet. The phases and what bounds each:
//!
//! - waiting for a request head, on a new connection or between keep-alive requests, and
//!   reading it: [`HEADER_READ_TIMEOUT`] (hyper's `header_read_timeout`, whose timer starts
//!   as soon as hyper waits for a head, so it is also the idle timeout);
//! - reading the body: [`super::receiver::BODY_READ_TIMEOUT`], in the handler;
//! - the whole connection: [`MAX_CONNECTION_AGE`], then a graceful close, then a hard one
//!   [`SHUTDOWN_GRACE`] later (a client that pipelines requests and never reads answers);
//! - how much a head may buffer: [`MAX_HEAD`];
//! - how many at once: [`MAX_CONNECTIONS`], lowered to what the file limit allows; at the
//!   cap the loop stops accepting, and new connections wait in the kernel's backlog until
//!   a deadline above frees a slot.

use std::{future::Future, sync::Arc, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};

/// A client gets this long to start and finish sending a request head: from connecting, and
/// again after each answer (so it is the keep-alive idle timeout too). Stripe sends its head
/// in one packet; 10 s leaves room for a slow link and none for a trickle.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection is asked to close after this long, however busy; Stripe opens new ones.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(120);

/// How long a closing connection (age, or shutdown) may finish its request before it is dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Open connections served at once. Stripe opens a handful per endpoint; the rest of the
/// headroom is for clients that connect and stall, until their deadline drops them.
pub const MAX_CONNECTIONS: usize = 2048;

/// hyper's read buffer per connection, which bounds a request head (its default is about
/// 400 KiB, so 2048 half-sent heads could pin 800 MiB). Stripe's head is about 1 KiB; a
/// larger one is answered 431 by hyper before the handler runs.
pub const MAX_HEAD: usize = 16 * 1024;

/// File descriptors kept out of the connection budget: the store (SQLite: database, WAL,
/// shm; PostgreSQL: a pool of at most 16 connections),
/// stdio, the listener, `--on-paid` pipes, the runtime's own.
const RESERVED_FDS: u64 = 128;

/// Raises this process's soft open-file limit towards its hard limit, as far as
/// [`MAX_CONNECTIONS`] needs, and returns how many connections the result allows.
///
/// The soft limit is often 1024 while the hard one is far higher; without raising it, a
/// thousand stalled clients exhaust descriptors and `accept` fails for everyone (Go's
/// runtime raises it the same way at start-up).
pub fn connection_limit() -> usize {
    let want = MAX_CONNECTIONS as u64 + RESERVED_FDS;
    let soft = raise_nofile(want);
    let allowed = soft.saturating_sub(RESERVED_FDS).max(1);
    MAX_CONNECTIONS.min(usize::try_from(allowed).unwrap_or(usize::MAX))
}

/// Sets the soft `RLIMIT_NOFILE` to `min(want, hard)` if it is lower; returns the soft limit now.
#[cfg(unix)]
// rlim_t is u64 on Linux and macOS but i64 on some BSDs: the casts are for those.
#[allow(clippy::unnecessary_cast)]
fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        let target = (want as libc::rlim_t).min(lim.rlim_max);
        if lim.rlim_cur < target {
            let raised = libc::rlimit {
                rlim_cur: target,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = target;
            }
        }
    }
    lim.rlim_cur as u64
}

#[cfg(not(unix))]
fn raise_nofile(want: u64) -> u64 {
    want
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish for up to
/// [`SHUTDOWN_GRACE`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    tokio::pin!(shutdown);
    let mut warned_full = false;
    loop {
        // A slot before the accept: at the cap, connections wait in the backlog, not in memory.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        if slots.available_permits() == 0 && !warned_full {
            warned_full = true;
            tracing::warn!(
                max_connections,
                "webhook receiver at its connection cap: new connections wait"
            );
        } else if slots.available_permits() > max_connections / 2 {
            warned_full = false;
        }
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE, ECONNABORTED...: not fatal; pause so a full table can drain.
                    tracing::warn!(error = %e, "webhook receiver could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let mut closing = closing_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::pin!(conn);
            let age = tokio::time::sleep(MAX_CONNECTION_AGE);
            tokio::pin!(age);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = &mut age => {}
                _ = closing.wait_for(|c| *c) => {}
            }
            // Finish the request in flight, if any, then close; drop it if that takes too long.
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Every connection holds a slot: having them all back means every connection ended.
    let all = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpStream,
    };

    #[tokio::test]
    async fn at_the_cap_a_new_connection_waits_until_a_slot_frees_and_shutdown_ends_the_rest() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, 2, async {
            let _ = stopped.await;
        }));
        let first = TcpStream::connect(addr).await.unwrap();
        let _second = TcpStream::connect(addr).await.unwrap();
        // The kernel completes the handshake; the receiver must not serve it yet.
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let early =
            tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut answer)).await;
        assert!(
            early.is_err(),
            "served a third connection past a cap of two"
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut answer))
            .await
            .expect("the freed slot was not given to the waiting connection")
            .unwrap();
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        // Shutdown closes the idle connection still open and returns.
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("shutdown waited on an idle connection")
            .unwrap();
    }
}
