//! Shared test helpers: the real binary over stdio, mock Stripe, fixtures.
#![allow(dead_code)]

pub mod openapi;

use std::{process::Stdio, time::Duration};

use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult},
    service::RunningService,
    transport::{ConfigureCommandExt, TokioChildProcess},
};
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// A key no real account has, recognisable in any output it leaks into.
pub const TEST_KEY: &str = "sk_test_STRIPEMCPTESTKEY0123456789";

/// The built binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_stripe-mcp")
}

/// A running server, its MCP client, and its stderr being collected.
pub struct Server {
    /// The MCP client session.
    pub client: RunningService<RoleClient, ()>,
    /// Everything the server wrote to stderr, once it exits.
    stderr: tokio::task::JoinHandle<String>,
}

/// Options for [`spawn`].
pub struct Spawn<'a> {
    pub api_base: &'a str,
    pub key: &'a str,
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
}

impl<'a> Spawn<'a> {
    pub fn new(api_base: &'a str) -> Self {
        Spawn {
            api_base,
            key: TEST_KEY,
            args: vec![],
            env: vec![],
        }
    }

    pub fn key(mut self, key: &'a str) -> Self {
        self.key = key;
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.env.push((k, v.into()));
        self
    }

    /// Spawns the binary with a clean environment and connects an MCP client.
    pub async fn start(self) -> Server {
        let cmd = tokio::process::Command::new(bin()).configure(|cmd| {
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("STRIPE_SECRET_KEY", self.key)
                .env("STRIPE_API_BASE", self.api_base)
                .env("STRIPE_MCP_RETRY_BASE_MS", "20")
                .env("RUST_LOG", "debug")
                .env("APP_BASE_URL", "https://shop.example")
                .args(&self.args);
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            // A .env in the test's working directory must not leak in.
            cmd.current_dir(std::env::temp_dir());
        });
        let (transport, stderr) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stripe-mcp");
        let mut stderr = stderr.expect("stderr piped");
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s).await;
            s
        });
        let client = tokio::time::timeout(Duration::from_secs(20), ().serve(transport))
            .await
            .expect("initialize timed out")
            .expect("initialize");
        Server { client, stderr }
    }
}

impl Server {
    /// Calls a tool with JSON arguments.
    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
        tokio::time::timeout(Duration::from_secs(60), self.client.call_tool(params))
            .await
            .expect("tool call timed out")
            .expect("tool call")
    }

    /// Closes the session (stdin) and returns everything the server logged.
    pub async fn stop(self) -> String {
        let _ = self.client.cancel().await;
        tokio::time::timeout(Duration::from_secs(10), self.stderr)
            .await
            .expect("server did not exit after stdin closed")
            .unwrap()
    }
}

/// The structured success output of a tool call; panics with the error otherwise.
pub fn ok(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {}", text(result));
    result
        .structured_content
        .clone()
        .expect("structuredContent present")
}

/// The `error` object of a failed tool call; panics if the call succeeded.
pub fn err(result: &CallToolResult) -> Value {
    assert_eq!(
        result.is_error,
        Some(true),
        "tool succeeded: {}",
        text(result)
    );
    assert!(
        result.structured_content.is_none(),
        "an error must not be in structuredContent"
    );
    let v: Value = serde_json::from_str(&text(result)).expect("error text is one JSON object");
    v.get("error").cloned().expect("{\"error\": ...}")
}

/// The text content of a result.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fixture from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let s = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&s).unwrap()
}

/// The localstripe URL the test script started, or None (after saying the test is skipped).
pub fn localstripe(test: &str) -> Option<String> {
    match std::env::var("LOCALSTRIPE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipped {test}: LOCALSTRIPE_URL is not set (scripts/test starts localstripe and sets it)"
            );
            None
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body into ordered pairs.
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// A mock Stripe that fails the test, on drop, if any request matched no other mock.
pub async fn mock_stripe() -> wiremock::MockServer {
    use wiremock::{Mock, ResponseTemplate, matchers::any};
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(|req: &wiremock::Request| {
            ResponseTemplate::new(418).set_body_json(serde_json::json!({"error": {
                "type": "invalid_request_error",
                "message": format!("unexpected request: {} {}", req.method, req.url.path()),
            }}))
        })
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: no unexpected request reaches Stripe")
        .mount(&server)
        .await;
    server
}
