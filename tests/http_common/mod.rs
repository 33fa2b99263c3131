//! Helpers of the remote-server tests: the real binary as `serve --http`, rmcp's own
//! streamable-HTTP client for both protocol generations, raw HTTP for what a client
//! would never send.
#![allow(dead_code)]

use std::{
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam, ProtocolVersion},
    service::{NotificationContext, RunningService},
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// A running `stripe-mcp serve --http`.
pub struct Remote {
    /// The process.
    pub child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Everything it wrote to stderr so far.
    log: Arc<Mutex<String>>,
}

/// Starts `stripe-mcp serve --http 127.0.0.1:0` with these flags and environment,
/// talking to `api_base` as Stripe.
pub async fn start(api_base: &str, args: &[&str], env: &[(&str, &str)]) -> Remote {
    try_start(api_base, args, env)
        .await
        .unwrap_or_else(|log| panic!("server did not start:\n{log}"))
}

/// Like [`start`], but returns the server's stderr if it exits instead of listening.
pub async fn try_start(
    api_base: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Remote, String> {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_stripe-mcp"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_API_BASE", api_base)
        .env("STRIPE_MCP_RETRY_BASE_MS", "20")
        .env("RUST_LOG", "info,rmcp=warn")
        .arg("serve")
        .args(if args.contains(&"--http") {
            &[][..]
        } else {
            &["--http", "127.0.0.1:0"][..]
        })
        .args(args)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // `("RUST_LOG", "")`: no RUST_LOG at all, to test the default log level.
    if env.contains(&("RUST_LOG", "")) {
        cmd.env_remove("RUST_LOG");
    }
    let mut child = cmd.spawn().expect("spawn stripe-mcp");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sink = log.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut tx = Some(tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("stripe-mcp: listening on ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(rest.trim_end_matches("/mcp").to_owned());
            }
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    match tokio::time::timeout(Duration::from_secs(20), rx).await {
        Ok(Ok(base)) => Ok(Remote { child, base, log }),
        _ => {
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err(log.lock().unwrap().clone())
        }
    }
}

impl Remote {
    /// The MCP endpoint.
    pub fn url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (or 5 s pass) and returns the log.
    pub async fn wait_log(&self, needle: &str) -> String {
        for _ in 0..100 {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.log()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// A client handler that records progress notifications.
#[derive(Clone, Default)]
pub struct Recorder {
    /// Every `progress` value received, in order.
    pub progress: Arc<Mutex<Vec<f64>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params.progress);
    }
}

/// The two protocol generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// `initialize`, `Mcp-Session-Id`, SSE.
    Sessions20251125,
    /// `server/discover`, no session, everything in `_meta`.
    Stateless20260728,
}

/// rmcp's streamable-HTTP client, with this bearer token, speaking this generation.
pub async fn connect(
    url: &str,
    token: Option<&str>,
    generation: Generation,
) -> RunningService<RoleClient, Recorder> {
    try_connect(url, token, generation)
        .await
        .expect("MCP client connects")
}

/// Like [`connect`], returning the error.
pub async fn try_connect(
    url: &str,
    token: Option<&str>,
    generation: Generation,
) -> Result<RunningService<RoleClient, Recorder>, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
    if let Some(t) = token {
        config = config.auth_header(t.to_owned());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let started = match generation {
        Generation::Sessions20251125 => tokio::time::timeout(
            Duration::from_secs(20),
            Recorder::default().serve(transport),
        )
        .await
        .map_err(|_| "timed out".to_owned())?,
        Generation::Stateless20260728 => tokio::time::timeout(
            Duration::from_secs(20),
            Recorder::default().serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                },
            ),
        )
        .await
        .map_err(|_| "timed out".to_owned())?,
    };
    started.map_err(|e| e.to_string())
}

/// Calls a tool with JSON arguments.
pub async fn call(
    client: &RunningService<RoleClient, Recorder>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args)),
    )
    .await
    .expect("tool call timed out")
    .expect("tool call")
}

/// The `Accept` header MCP wants on a POST.
pub const ACCEPT: &str = "application/json, text/event-stream";

/// An initialize request body (2025-11-25).
pub fn initialize_body() -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}})
}

/// The JSON-RPC messages of a response: one JSON body, or the `data:` lines of an SSE body.
pub fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}
