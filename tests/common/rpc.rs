//! A raw JSON-RPC driver over a child process's stdin/stdout: many requests in
//! flight on one session, replies matched by id, raw lines for hostile input,
//! and the process's peak RSS. Used by the soak and hardening tests and by the
//! benchmark (`examples/bench.rs`), so both servers are driven byte-identically.
//!
//! Not `tests/common/mod.rs` (the lead's): include it with
//! `#[path = "common/rpc.rs"] mod rpc;`.
#![allow(dead_code)]

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin},
    sync::oneshot,
};

/// The MCP protocol revision both servers speak.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// Waiters by request id; each gets the reply and its size on the wire.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<(Value, usize)>>>>;

/// One running server process and its session.
pub struct Rpc {
    /// The process; killed on drop.
    child: Child,
    /// Its pid, for `/proc/<pid>/status`.
    pid: u32,
    /// Requests go here, one JSON object per line.
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    /// Replies are routed to whoever waits for their id.
    pending: Pending,
    /// Ids start at 1000 so raw lines in tests can use small ids freely.
    next_id: AtomicU64,
    /// Lines that matched no pending id (notifications, replies to raw lines).
    unmatched: Arc<Mutex<Vec<Value>>>,
    /// Lines on stdout that were not JSON at all (must stay empty).
    not_json: Arc<Mutex<Vec<String>>>,
    /// Ends when stdout closes.
    reader: tokio::task::JoinHandle<()>,
}

impl Rpc {
    /// Spawns `cmd` with piped stdin/stdout (stderr as the command says) and
    /// starts routing its replies. Nothing is sent yet.
    pub fn spawn(mut cmd: tokio::process::Command) -> std::io::Result<Rpc> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout piped");
        let pending: Pending = Arc::default();
        let unmatched: Arc<Mutex<Vec<Value>>> = Arc::default();
        let not_json: Arc<Mutex<Vec<String>>> = Arc::default();
        let reader = {
            let (pending, unmatched, not_json) =
                (pending.clone(), unmatched.clone(), not_json.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::with_capacity(1 << 16, stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(v) = serde_json::from_str::<Value>(&line) else {
                        not_json.lock().unwrap().push(line);
                        continue;
                    };
                    let waiter = v
                        .get("id")
                        .and_then(Value::as_u64)
                        .and_then(|id| pending.lock().unwrap().remove(&id));
                    match waiter {
                        Some(tx) => {
                            let _ = tx.send((v, line.len() + 1));
                        }
                        None => unmatched.lock().unwrap().push(v),
                    }
                }
                // stdout closed: wake every waiter with nothing.
                pending.lock().unwrap().clear();
            })
        };
        Ok(Rpc {
            child,
            pid,
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(1000),
            unmatched,
            not_json,
            reader,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Writes one line (a newline is added).
    pub async fn send_line(&self, line: &str) -> std::io::Result<()> {
        let mut guard = self.stdin.lock().await;
        let stdin = guard
            .as_mut()
            .ok_or_else(|| std::io::Error::other("stdin closed"))?;
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        stdin.write_all(&buf).await?;
        stdin.flush().await
    }

    /// Sends a request and waits for its reply (the whole JSON-RPC object).
    /// Errors if the server closes stdout first or `timeout` passes.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.request_sized(method, params, timeout)
            .await
            .map(|(v, _)| v)
    }

    /// Like [`Rpc::request`], with the reply's size in bytes as sent (newline included).
    pub async fn request_sized(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<(Value, usize), String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_line(&line.to_string())
            .await
            .map_err(|e| format!("{method}: write failed: {e}"))?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(format!("{method} (id {id}): the server closed stdout")),
            Err(_) => {
                self.pending.lock().unwrap().remove(&id);
                Err(format!("{method} (id {id}): no reply within {timeout:?}"))
            }
        }
    }

    /// Sends a notification (no reply).
    pub async fn notify(&self, method: &str) -> std::io::Result<()> {
        self.send_line(&json!({"jsonrpc": "2.0", "method": method}).to_string())
            .await
    }

    /// `initialize` then `notifications/initialized`; returns the initialize reply.
    pub async fn initialize(&self) -> Result<Value, String> {
        let reply = self
            .request("initialize", initialize_params(), LONG)
            .await?;
        self.notify("notifications/initialized")
            .await
            .map_err(|e| e.to_string())?;
        Ok(reply)
    }

    /// `tools/call`; returns the `result` object (or the JSON-RPC error as `Err`).
    pub async fn call_tool(&self, name: &str, args: Value) -> Result<Value, String> {
        let reply = self
            .request("tools/call", json!({"name": name, "arguments": args}), LONG)
            .await?;
        match reply.get("result") {
            Some(r) => Ok(r.clone()),
            None => Err(format!("JSON-RPC error for {name}: {reply}")),
        }
    }

    /// Replies and notifications that matched no request sent through [`Rpc::request`].
    pub fn take_unmatched(&self) -> Vec<Value> {
        std::mem::take(&mut *self.unmatched.lock().unwrap())
    }

    /// Lines on stdout that were not JSON (a stdio server must print none).
    pub fn not_json(&self) -> Vec<String> {
        self.not_json.lock().unwrap().clone()
    }

    /// Peak resident set size so far, in KiB (`VmHWM`), while the process runs.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.pid)
    }

    /// Current resident set size, in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid, "VmRSS:")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Closes stdin (ending the session) and waits for the exit; kills after `grace`.
    pub async fn close(mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        self.stdin.lock().await.take();
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(s)) => Some(s),
            _ => {
                let _ = self.child.kill().await;
                None
            }
        };
        self.reader.abort();
        status
    }
}

/// A generous per-request timeout: the soak's slowest call waits out several
/// client timeouts and backoffs.
pub const LONG: Duration = Duration::from_secs(60);

/// The `initialize` params both servers accept.
pub fn initialize_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "stripe-mcp-bench", "version": "1"}
    })
}

/// `VmHWM` of a process, in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The text of a tool result's first content block.
pub fn result_text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or("")
}

/// True when a tool result is an error result.
pub fn is_error(result: &Value) -> bool {
    result["isError"].as_bool() == Some(true)
}

/// The `error` object of a failed tool result (our structured format), if it is one.
pub fn tool_error(result: &Value) -> Option<Value> {
    if !is_error(result) {
        return None;
    }
    serde_json::from_str::<Value>(result_text(result))
        .ok()?
        .get("error")
        .cloned()
}
