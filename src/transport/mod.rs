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

use std::path::PathBuf;

use clap::Args;

use crate::auth::AuthMode;

/// The default address of `serve --http` without a value.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8787";

/// Flags of `stripe-mcp serve`. Without `--http` the server speaks stdio and ignores the rest.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
pub struct ServeArgs {
    /// Serve MCP over streamable HTTP on ADDR instead of stdio (default 127.0.0.1:8787). Port 0 picks a free port, printed on stderr. Plain HTTP: put TLS in a reverse proxy.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_HTTP_ADDR)]
    pub http: Option<String>,

    /// The URL path of the MCP endpoint.
    #[arg(long = "mcp-path", default_value = "/mcp", value_name = "PATH")]
    pub mcp_path: String,

    /// Who may call: none (the server's own key; loopback only), stripe-key (the bearer token is the caller's Stripe key), tokens (--tenants FILE), oauth (--issuer, --audience).
    #[arg(long, value_enum, default_value_t = AuthMode::None)]
    pub auth: AuthMode,

    /// `--auth tokens`: the tenants file (TOML) that `stripe-mcp tenants add` writes.
    #[arg(long, env = "STRIPE_MCP_TENANTS", value_name = "FILE")]
    pub tenants: Option<PathBuf>,

    /// `--auth oauth`: the authorization server's issuer URL (the `iss` tokens must carry).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// `--auth oauth`: the audience tokens must be for: this server's canonical URL (RFC 8707). Defaults to --public-url plus the MCP path.
    #[arg(long, value_name = "URL")]
    pub audience: Option<String>,

    /// `--auth oauth`: where the issuer publishes its signing keys. Default: the jwks_uri of the issuer's OpenID or OAuth metadata.
    #[arg(long, value_name = "URL")]
    pub jwks_url: Option<String>,

    /// `--auth oauth`: seconds after which the issuer's keys are fetched again, so a key it withdraws stops working.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400), value_name = "SECONDS")]
    pub jwks_refresh: u64,

    /// `--auth oauth`: the claim that names the tenant (sub, or a claim such as a group; an array claim picks its first value that is a tenant).
    #[arg(long, default_value = "sub", value_name = "CLAIM")]
    pub tenant_claim: String,

    /// `--auth oauth`: the scope read-only tools need.
    #[arg(long, default_value = "stripe:read", value_name = "SCOPE")]
    pub read_scope: String,

    /// `--auth oauth`: the scope every other tool needs.
    #[arg(long, default_value = "stripe:write", value_name = "SCOPE")]
    pub write_scope: String,

    /// The URL clients use to reach this server, as a reverse proxy publishes it (https://mcp.example.com). Its host is allowed, and OAuth metadata names it.
    #[arg(long, env = "STRIPE_MCP_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Host header values to accept besides loopback names and the public URL's host (DNS-rebinding protection). Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "HOST")]
    pub allowed_host: Vec<String>,

    /// Browser origins allowed to call (scheme://host:port, or :* for any port). A request with any other Origin header is refused. Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_origin: Vec<String>,

    /// Addresses of reverse proxies whose X-Forwarded-For is believed (for logs). Others' X-Forwarded-* headers are ignored. Comma-separated IPs.
    #[arg(long, value_delimiter = ',', value_name = "IP")]
    pub trusted_proxy: Vec<std::net::IpAddr>,

    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,

    /// Seconds a tool call may take before it is answered with a retryable error.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub request_timeout: u64,

    /// Seconds a connection may take to send a request's headers, and may stay idle between requests.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub idle_timeout: u64,

    /// Seconds a request body may take to arrive.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), value_name = "SECONDS")]
    pub body_timeout: u64,

    /// Most authenticated connections open at once; one more is answered 503 with Retry-After.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000), value_name = "N")]
    pub max_connections: u32,

    /// On SIGTERM: seconds to let in-flight tool calls finish before closing.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(0..=3600), value_name = "SECONDS")]
    pub shutdown_grace: u64,

    /// Tool calls per second per tenant (a token bucket; a tenants-file entry can set its own).
    #[arg(long, default_value_t = crate::auth::rate::DEFAULT_PER_SECOND, value_parser = clap::value_parser!(u32).range(1..), value_name = "N")]
    pub rate_limit: u32,

    /// Tool calls a tenant may start at once after a quiet spell.
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub rate_burst: u32,

    /// What one caller may hold: connections, sessions, streams, calls in flight.
    #[command(flatten)]
    pub bounds: limits::BoundArgs,
}
