//! How MCP reaches the server: stdio (in `main.rs`, one session per process) or
//! streamable HTTP ([`http`]: many callers, each authenticated, on their own tenant).
//!
//! - [`http`]: the listener, the axum app (`/mcp`, `/healthz`, `/readyz`, protected-resource
//!   metadata), access logs, graceful shutdown.
//! - [`limits`]: what one caller may hold (connections, sessions, streams, calls, unread answers).
//! - [`routed`]: the MCP handler that serves each request on its caller's tenant.

pub mod http;
pub mod limits;
pub mod routed;

pub use crate::config::{DEFAULT_HTTP_ADDR, ServeArgs};
