//! `stripe-mcp serve --http ADDR`: MCP over streamable HTTP for many callers.
//!
//! rmcp's [`StreamableHttpService`] speaks the protocol (2025-11-25 sessions with SSE, and
//! 2026-07-28 stateless requests, which it serves without any session state, so any replica
//! can answer them) and checks `Host` and `Origin`. Around it this module adds what a public
//! listener needs: authentication ([`crate::auth`]) before anything reaches MCP, a body cap
//! and body deadline, sessions bound to the tenant that opened them, header and idle
//! timeouts and a connection cap (our own accept loop: `axum::serve` has neither), graceful
//! shutdown, `/healthz` and `/readyz`, and one access-log line per request on stderr with
//! the method, tool, tenant, status and duration: never a key, a token or an argument.

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    process::ExitCode,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use http_body::Frame;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde::Deserialize;
use url::Url;

use super::{
    ServeArgs,
    routed::{Routed, Shared},
};
use crate::{
    auth::{
        Auth, AuthError, AuthMode, Caller, RateLimiter, Tenant, stripe_key::StripeKeyAuth,
        tenant::TenantDefaults, tokens::TokensAuth,
    },
    config::Cli,
    server::{StripeMcp, setup::Config},
    store::Store,
    stripe::Client,
};

/// Stands in for the server's own key in modes where every tenant brings its own; never
/// sent anywhere (each tenant's client is built with its own key).
const NO_SERVER_KEY: &str = "sk_test_unused_in_remote_mode";

/// The validated listener settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `host:port` to bind.
    pub listen: String,
    /// The MCP endpoint's path.
    pub path: String,
    /// The URL clients use, as published by a reverse proxy.
    pub public_url: Option<Url>,
    /// Accepted `Host` values (rmcp checks them).
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values; any other present Origin is refused.
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest request body.
    pub max_body: usize,
    /// How long a body may take to arrive.
    pub body_timeout: Duration,
    /// How long a tool call may run.
    pub request_timeout: Duration,
    /// How long a connection may take to send headers, or stay idle between requests.
    pub idle_timeout: Duration,
    /// Most connections at once.
    pub max_connections: usize,
    /// How long SIGTERM waits for in-flight tool calls.
    pub shutdown_grace: Duration,
}

impl HttpConfig {
    /// Validates `serve --http` flags; refuses a non-loopback address without an auth mode.
    pub fn from_args(args: &ServeArgs) -> Result<HttpConfig, String> {
        let listen = args
            .http
            .clone()
            .unwrap_or_else(|| super::DEFAULT_HTTP_ADDR.to_owned());
        let Some((host, port)) = listen.rsplit_once(':') else {
            return Err(format!(
                "--http must be host:port like 127.0.0.1:8787, got {listen:?}"
            ));
        };
        if port.parse::<u16>().is_err() {
            return Err(format!("--http {listen:?}: the port is not a number"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !loopback && args.auth == AuthMode::None {
            return Err(format!(
                "refusing to serve {listen} without authentication: anyone who can reach it would use this server's Stripe key. Choose --auth stripe-key, --auth tokens --tenants FILE or --auth oauth, or listen on 127.0.0.1"
            ));
        }
        if !args.mcp_path.starts_with('/')
            || args.mcp_path.len() < 2
            || args.mcp_path.contains(char::is_whitespace)
            || ["/healthz", "/readyz"].contains(&args.mcp_path.as_str())
            || args.mcp_path.starts_with("/.well-known")
        {
            return Err(format!(
                "--mcp-path must be a URL path like /mcp, got {:?}",
                args.mcp_path
            ));
        }
        let public_url = match args.public_url.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let url = Url::parse(raw).map_err(|_| {
                    format!("--public-url {raw:?} is not a URL like https://mcp.example.com")
                })?;
                if !matches!(url.scheme(), "https" | "http")
                    || url.host_str().is_none()
                    || url.query().is_some()
                    || url.fragment().is_some()
                {
                    return Err(format!(
                        "--public-url must be an http(s) URL without query or fragment, got {raw:?}"
                    ));
                }
                Some(url)
            }
        };
        let mut allowed_hosts: Vec<String> =
            vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if let Some(host) = public_url.as_ref().and_then(|u| u.host_str()) {
            allowed_hosts.push(host.trim_start_matches('[').trim_end_matches(']').into());
        }
        allowed_hosts.extend(args.allowed_host.iter().map(|h| h.trim().to_owned()));
        if !loopback && !host.is_empty() && host != "0.0.0.0" && host != "::" {
            allowed_hosts.push(host.to_owned());
        }
        for origin in &args.allowed_origin {
            if Url::parse(origin.trim_end_matches(":*")).is_err() && origin != "null" {
                return Err(format!(
                    "--allowed-origin {origin:?} must be scheme://host[:port] (or :* for any port)"
                ));
            }
        }
        if args.max_body < 1024 {
            return Err("--max-body must be at least 1024 bytes".into());
        }
        Ok(HttpConfig {
            listen,
            path: args.mcp_path.clone(),
            public_url,
            allowed_hosts,
            allowed_origins: args.allowed_origin.clone(),
            trusted_proxies: args.trusted_proxy.clone(),
            max_body: args.max_body,
            body_timeout: Duration::from_secs(args.body_timeout),
            request_timeout: Duration::from_secs(args.request_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_connections: args.max_connections as usize,
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
        })
    }

    /// The URL of the MCP endpoint as clients see it.
    pub fn resource_url(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => format!("{}{}", u.as_str().trim_end_matches('/'), self.path),
            None => format!("http://{bound}{}", self.path),
        }
    }
}

/// The entry point of `serve --http`: validates, builds the authenticator, binds, serves
/// until `shutdown` (SIGTERM/SIGINT). Exit code 2 for a configuration problem.
pub async fn main(
    cli: Cli,
    args: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> ExitCode {
    match prepare(cli, &args).await {
        Ok((config, auth, ledger)) => {
            let listener = match tokio::net::TcpListener::bind(&config.listen).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("stripe-mcp: cannot listen on {}: {e}", config.listen);
                    return ExitCode::from(2);
                }
            };
            let reload = reload_signal();
            match serve(listener, config, auth, ledger, shutdown, reload).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "HTTP server failed");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("stripe-mcp: {e}");
            ExitCode::from(2)
        }
    }
}

/// Validates the flags and builds the authenticator and its tenants.
async fn prepare(
    mut cli: Cli,
    args: &ServeArgs,
) -> Result<(HttpConfig, Auth, Option<Store>), String> {
    let http = HttpConfig::from_args(args)?;
    // `--auth none`, and `--auth oauth` without `--tenants` (one tenant on the server's
    // own key), use the server's key; every other mode's callers bring their own.
    let own_key =
        args.auth == AuthMode::None || (args.auth == AuthMode::Oauth && args.tenants.is_none());
    if !own_key {
        if cli.api_key.take().is_some() {
            tracing::info!(
                auth = args.auth.as_str(),
                "STRIPE_SECRET_KEY / --api-key is ignored: every caller brings their own key"
            );
        }
        cli.api_key = Some(NO_SERVER_KEY.to_owned());
    }
    let mut config = Config::from_cli(&cli).map_err(|e| e.to_string())?;
    if let Some(target) = config.db.clone() {
        config.settings.ledger = Some(Store::open(&target).await.map_err(|e| e.to_string())?);
    }
    let ledger = config.settings.ledger.clone();
    let rate = (args.rate_limit, args.rate_burst);
    let auth = match args.auth {
        AuthMode::None => {
            let client = Client::new(config.client).map_err(|e| e.to_string())?;
            let server = StripeMcp::new(client, config.settings, &config.tools, config.read_only)?;
            Auth::None(Arc::new(Tenant {
                name: "server-key".into(),
                server,
                limiter: RateLimiter::new(f64::from(rate.0), rate.1),
            }))
        }
        AuthMode::StripeKey => {
            let placeholder = Client::new(config.client.clone()).map_err(|e| e.to_string())?;
            let template = StripeMcp::new(
                placeholder,
                config.settings,
                &config.tools,
                config.read_only,
            )?;
            Auth::StripeKey(StripeKeyAuth::new(
                config.client,
                template,
                (f64::from(rate.0), rate.1),
            ))
        }
        AuthMode::Tokens => {
            let path = args.tenants.clone().ok_or_else(|| {
                "--auth tokens needs --tenants FILE (create it with `stripe-mcp tenants add NAME --file FILE --key-env VAR`)".to_owned()
            })?;
            let defaults = TenantDefaults {
                client: config.client,
                settings: config.settings,
                rate,
            };
            Auth::Tokens(TokensAuth::load(path, defaults)?)
        }
        AuthMode::Oauth => oauth_auth(args, &http, config, rate).await?,
    };
    Ok((http, auth, ledger))
}

#[cfg(feature = "oauth")]
async fn oauth_auth(
    args: &ServeArgs,
    http: &HttpConfig,
    config: Config,
    rate: (u32, u32),
) -> Result<Auth, String> {
    let public_resource = http
        .public_url
        .as_ref()
        .map(|u| format!("{}{}", u.as_str().trim_end_matches('/'), http.path));
    // Without --tenants: one tenant, "oauth", on the server's own key; its orders are
    // its key's own account's (and --stripe-account's), it acts where Stripe lets the key.
    let own = match args.tenants {
        Some(_) => None,
        None => {
            let client = Client::new(config.client.clone()).map_err(|e| e.to_string())?;
            let accounts = crate::store::Accounts::Only(
                config.client.stripe_account.iter().cloned().collect(),
            );
            let boundary = crate::store::TenantScope::new(
                "oauth".into(),
                accounts,
                config.client.stripe_account.is_none(),
                false,
                true,
            );
            let template = StripeMcp::new(
                client.clone(),
                config.settings.clone(),
                &config.tools,
                config.read_only,
            )?;
            Some(Arc::new(Tenant {
                name: "oauth".into(),
                server: template.for_caller(
                    client,
                    crate::store::ScopeSource::Tenant(Arc::new(boundary)),
                    "oauth",
                ),
                limiter: RateLimiter::new(f64::from(rate.0), rate.1),
            }))
        }
    };
    crate::auth::oauth::OauthAuth::from_args(
        args,
        public_resource,
        TenantDefaults {
            client: config.client,
            settings: config.settings,
            rate,
        },
        own,
    )
    .await
    .map(|o| Auth::Oauth(Box::new(o)))
}

#[cfg(not(feature = "oauth"))]
async fn oauth_auth(
    _args: &ServeArgs,
    _http: &HttpConfig,
    _config: Config,
    _rate: (u32, u32),
) -> Result<Auth, String> {
    Err("--auth oauth needs a build with the `oauth` feature: cargo install stripe-mcp --features oauth".into())
}

/// Resolves on each SIGHUP (never elsewhere).
fn reload_signal() -> impl FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let hup = signal(SignalKind::hangup())
            .ok()
            .map(|s| Arc::new(tokio::sync::Mutex::new(s)));
        move || {
            let hup = hup.clone();
            Box::pin(async move {
                match hup {
                    Some(h) => {
                        h.lock().await.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            })
        }
    }
    #[cfg(not(unix))]
    {
        || Box::pin(std::future::pending::<()>())
    }
}

/// What the request handlers share.
struct App {
    /// The configuration.
    config: HttpConfig,
    /// Who is calling.
    auth: Auth,
    /// Deadline, in-flight calls, stopping flag.
    shared: Arc<Shared>,
    /// rmcp's protocol service.
    mcp: StreamableHttpService<Routed, LocalSessionManager>,
    /// Session id → the tenant that opened it, so a session is only ever used by its tenant.
    sessions: Mutex<HashMap<String, (String, Instant)>>,
    /// `WWW-Authenticate` on a 401 (names the protected-resource metadata in OAuth mode).
    challenge: String,
    /// RFC 9728 metadata, served in OAuth mode.
    resource_metadata: Option<serde_json::Value>,
    /// `--db`, checked by `/readyz`.
    ledger: Option<Store>,
}

/// Sessions idle longer than rmcp keeps them are forgotten here too.
const SESSION_IDLE: Duration = Duration::from_secs(10 * 60);

/// Serves on `listener` until `shutdown`; `reload` resolves on each SIGHUP.
///
/// Prints `stripe-mcp: listening on http://ADDR/PATH` on stderr once accepting.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: HttpConfig,
    auth: Auth,
    ledger: Option<Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut reload: impl FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send,
) -> std::io::Result<()> {
    let bound = listener.local_addr()?;
    let shared = Arc::new(Shared::new(config.request_timeout));
    let mut mcp_config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(config.allowed_hosts.clone())
        .with_max_request_body_bytes(config.max_body)
        // A stateless (2026-07-28) answer with nothing to stream before it is plain JSON:
        // no SSE framing to write or parse; progress and server requests still stream.
        .with_json_response(true);
    mcp_config = if config.allowed_origins.is_empty() {
        mcp_config.enforce_origin_validation()
    } else {
        mcp_config.with_allowed_origins(config.allowed_origins.clone())
    };
    let cancel = mcp_config.cancellation_token.clone();
    let session_manager = LocalSessionManager::default();
    let factory_shared = shared.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(Routed::new(factory_shared.clone())),
        Arc::new(session_manager),
        mcp_config,
    );
    let resource = config.resource_url(bound);
    let metadata_url = protected_resource_metadata_url(&resource);
    let (challenge, resource_metadata) = match &auth {
        #[cfg(feature = "oauth")]
        Auth::Oauth(o) => (
            format!("Bearer resource_metadata=\"{metadata_url}\""),
            Some(o.metadata(&resource)),
        ),
        _ => {
            let _ = &metadata_url;
            ("Bearer realm=\"stripe-mcp\"".to_owned(), None)
        }
    };
    let mode = auth.mode();
    let app = Arc::new(App {
        config: config.clone(),
        auth,
        shared: shared.clone(),
        mcp,
        sessions: Mutex::new(HashMap::new()),
        challenge,
        resource_metadata,
        ledger,
    });
    let mut router = Router::new()
        .route(&config.path, any(mcp_endpoint))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if app.resource_metadata.is_some() {
        router = router
            .route("/.well-known/oauth-protected-resource", get(metadata))
            .route(
                &format!("/.well-known/oauth-protected-resource{}", config.path),
                get(metadata),
            );
    }
    let router = router.with_state(app.clone());

    tracing::info!(
        auth = mode.as_str(),
        max_connections = config.max_connections,
        "MCP over streamable HTTP at {resource}"
    );
    eprintln!("stripe-mcp: listening on http://{bound}{}", config.path);

    let connections = Arc::new(tokio::sync::Semaphore::new(config.max_connections));
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => p.expect("never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
            () = reload() => {
                reload_tenants(&app);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut close = close_rx.clone();
        let idle = config.idle_timeout;
        tokio::spawn(async move {
            use hyper::service::Service as _;
            let svc = hyper_util::service::TowerToHyperService::new(router);
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    svc.call(req)
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(idle)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = closing(&mut close) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
            drop(permit);
        });
    }
    drop(listener);

    // Graceful: stop taking calls, let running ones finish (bounded), then close.
    shared.stop();
    let running = shared.in_flight();
    tracing::info!(
        in_flight = running,
        grace_secs = config.shutdown_grace.as_secs(),
        "shutting down: no new connections or calls"
    );
    if tokio::time::timeout(config.shutdown_grace, shared.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            in_flight = shared.in_flight(),
            "shutdown grace over with calls still running; closing them"
        );
    }
    // Close connections gracefully first, so answers already produced are delivered;
    // then end the sessions, whose notification streams would otherwise never close.
    let _ = close_tx.send(true);
    let all = config.max_connections as u32;
    if tokio::time::timeout(Duration::from_secs(2), connections.acquire_many(all))
        .await
        .is_err()
    {
        cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), connections.acquire_many(all)).await;
    }
    cancel.cancel();
    tracing::info!("HTTP server stopped");
    Ok(())
}

/// Resolves once the server says to close connections.
async fn closing(close: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = *close.borrow_and_update();
        if now || close.changed().await.is_err() {
            return;
        }
    }
}

fn reload_tenants(app: &App) {
    match &app.auth {
        Auth::Tokens(t) => match t.reload() {
            Ok(n) => tracing::info!(tenants = n, "tenants file reloaded on SIGHUP"),
            Err(e) => {
                tracing::error!(error = %e, "tenants file NOT reloaded on SIGHUP; the previous tenants stay in force")
            }
        },
        #[cfg(feature = "oauth")]
        Auth::Oauth(o) => match o.reload() {
            Ok(n) => tracing::info!(tenants = n, "tenants file reloaded on SIGHUP"),
            Err(e) => {
                tracing::error!(error = %e, "tenants file NOT reloaded on SIGHUP; the previous tenants stay in force")
            }
        },
        _ => tracing::info!("SIGHUP: nothing to reload in this auth mode"),
    }
}

/// RFC 9728: the metadata of `https://host/mcp` is at `https://host/.well-known/oauth-protected-resource/mcp`.
pub fn protected_resource_metadata_url(resource: &str) -> String {
    match Url::parse(resource) {
        Ok(u) => {
            let path = u.path().trim_end_matches('/');
            let mut base = u.clone();
            base.set_path("");
            format!(
                "{}/.well-known/oauth-protected-resource{}",
                base.as_str().trim_end_matches('/'),
                path
            )
        }
        Err(_) => resource.to_owned(),
    }
}

async fn healthz() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.shared.is_stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    if let Some(ledger) = app.ledger.clone() {
        let reachable = ledger.ping().await.is_ok();
        if !reachable {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "order ledger unreachable\n",
            )
                .into_response();
        }
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metadata(State(app): State<Arc<App>>) -> Response {
    match &app.resource_metadata {
        Some(m) => json_response(StatusCode::OK, m),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The parts of a JSON-RPC message the access log and the scope check need; the
/// arguments are skipped unread.
#[derive(Deserialize, Default)]
struct Peek {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    params: Option<PeekParams>,
}

#[derive(Deserialize, Default)]
struct PeekParams {
    #[serde(default)]
    name: Option<String>,
}

/// A name safe to print: MCP method and tool names are short identifiers; anything else
/// (a newline to forge a log line, a megabyte of text) is logged as `?`.
fn loggable(s: Option<&str>) -> &str {
    match s {
        Some(s)
            if !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.')) =>
        {
            s
        }
        Some(_) => "?",
        None => "-",
    }
}

/// One access-log line, written when the response body ends (so an SSE answer is
/// logged with its full duration), or when it is dropped unfinished.
struct AccessLog {
    http_method: Method,
    rpc_method: String,
    tool: String,
    tenant: String,
    status: u16,
    client: IpAddr,
    started: Instant,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        tracing::info!(
            target: "stripe_mcp::access",
            method = %self.http_method,
            rpc = %self.rpc_method,
            tool = %self.tool,
            tenant = %self.tenant,
            status = self.status,
            duration_ms = %format_args!("{:.2}", self.started.elapsed().as_secs_f64() * 1000.0),
            client = %self.client,
            "request"
        );
    }
}

/// A response body that logs its request when it ends.
struct LoggedBody {
    inner: Body,
    log: Option<AccessLog>,
}

impl http_body::Body for LoggedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.log.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The caller's address: the peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address its `X-Forwarded-For` names.
fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

fn refuse(app: &App, error: &AuthError) -> Response {
    let (status, challenge) = match error {
        AuthError::Missing => (StatusCode::UNAUTHORIZED, app.challenge.clone()),
        AuthError::Invalid(why) => (
            StatusCode::UNAUTHORIZED,
            format!(
                "{}, error=\"invalid_token\", error_description=\"{}\"",
                app.challenge,
                why.chars()
                    .map(|c| match c {
                        '"' | '\\' => '\'',
                        c if c.is_ascii_graphic() || c == ' ' => c,
                        _ => '-',
                    })
                    .collect::<String>()
            ),
        ),
        AuthError::Forbidden(_) => (StatusCode::FORBIDDEN, app.challenge.clone()),
        AuthError::InsufficientScope { scope } => (
            StatusCode::FORBIDDEN,
            format!(
                "{}, error=\"insufficient_scope\", scope=\"{scope}\"",
                app.challenge
            ),
        ),
    };
    let mut response = json_response(
        status,
        &serde_json::json!({"error": match error {
            AuthError::Missing => "unauthorized",
            AuthError::Invalid(_) => "invalid_token",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::InsufficientScope { .. } => "insufficient_scope",
        }, "error_description": error.to_string()}),
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

const SESSION_HEADER: &str = "mcp-session-id";

/// `/mcp`: authenticate, read the body (capped, with a deadline), bind sessions to their
/// tenant, hand over to rmcp, and log the request when its answer ends.
async fn mcp_endpoint(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let client = client_addr(peer.ip(), &parts.headers, &app.config.trusted_proxies);
    let mut log = AccessLog {
        http_method: parts.method.clone(),
        rpc_method: "-".into(),
        tool: "-".into(),
        tenant: "-".into(),
        status: 0,
        client,
        started,
    };
    let finish = |mut log: AccessLog, response: Response| -> Response {
        log.status = response.status().as_u16();
        let (rparts, body) = response.into_parts();
        Response::from_parts(
            rparts,
            Body::new(LoggedBody {
                inner: body,
                log: Some(log),
            }),
        )
    };

    if app.shared.is_stopping() {
        let mut r = plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return finish(log, r);
    }

    // The body first (bounded in size and time), so the log and scope check know the call.
    let bytes = if parts.method == Method::POST {
        if let Some(len) = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            && len > app.config.max_body
        {
            return finish(
                log,
                plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
            );
        }
        match tokio::time::timeout(
            app.config.body_timeout,
            Limited::new(body, app.config.max_body).collect(),
        )
        .await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
                return finish(
                    log,
                    plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n"),
                );
            }
            Ok(Err(_)) => {
                return finish(
                    log,
                    plain(StatusCode::BAD_REQUEST, "could not read the body\n"),
                );
            }
            Err(_) => {
                return finish(
                    log,
                    plain(StatusCode::REQUEST_TIMEOUT, "request body too slow\n"),
                );
            }
        }
    } else {
        Bytes::new()
    };
    let peek: Peek = serde_json::from_slice(&bytes).unwrap_or_default();
    let tool_name = peek.params.as_ref().and_then(|p| p.name.clone());
    log.rpc_method = loggable(peek.method.as_deref()).to_owned();
    if peek.method.as_deref() == Some("tools/call") {
        log.tool = loggable(tool_name.as_deref()).to_owned();
    }

    let caller: Caller = match app.auth.authenticate(&parts.headers).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(reason = %e, "request refused");
            return finish(log, refuse(&app, &e));
        }
    };
    log.tenant = caller.tenant.name.clone();

    // OAuth: a write tool needs the write scope.
    if caller.may_write == Some(false)
        && peek.method.as_deref() == Some("tools/call")
        && let Some(name) = tool_name.as_deref()
        && let Some(tool) = rmcp::ServerHandler::get_tool(&caller.tenant.server, name)
        && !tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false)
    {
        let scope = app.auth.write_scope().unwrap_or("write").to_owned();
        return finish(log, refuse(&app, &AuthError::InsufficientScope { scope }));
    }

    // A session belongs to the tenant that opened it.
    let session = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = &session {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(id) {
            Some((owner, used)) if *owner == caller.tenant.name => *used = Instant::now(),
            Some(_) => {
                drop(sessions);
                tracing::warn!(tenant = %caller.tenant.name, "refused a session opened by another tenant");
                return finish(log, plain(StatusCode::NOT_FOUND, "session not found\n"));
            }
            // Unknown here: rmcp answers (404 for a session it does not have).
            None => {}
        }
    }

    let tenant_name = caller.tenant.name.clone();
    if let Some(subject) = &caller.subject {
        parts
            .extensions
            .insert(crate::store::Subject(subject.clone()));
    }
    parts.extensions.insert(caller);
    let is_delete = parts.method == Method::DELETE;
    let request = axum::http::Request::from_parts(parts, Full::new(bytes));
    let response = app.mcp.handle(request).await.map(Body::new);

    if response.status().is_success() {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match (&session, response.headers().get(SESSION_HEADER)) {
            (Some(id), _) if is_delete => {
                sessions.remove(id);
            }
            (None, Some(new)) => {
                if let Ok(new) = new.to_str() {
                    if sessions.len() >= 10_000 {
                        sessions.retain(|_, (_, used)| used.elapsed() < SESSION_IDLE);
                    }
                    sessions.insert(new.to_owned(), (tenant_name, Instant::now()));
                }
            }
            _ => {}
        }
    }
    finish(log, response)
}

impl Auth {
    /// The write scope's name, in OAuth mode.
    fn write_scope(&self) -> Option<&str> {
        match self {
            #[cfg(feature = "oauth")]
            Auth::Oauth(o) => Some(o.write_scope()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> ServeArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: ServeArgs,
        }
        let mut v = vec!["t"];
        v.extend_from_slice(extra);
        T::try_parse_from(v).unwrap().a
    }

    #[test]
    fn no_auth_is_refused_off_loopback() {
        assert!(HttpConfig::from_args(&args(&["--http", "127.0.0.1:0"])).is_ok());
        assert!(HttpConfig::from_args(&args(&["--http", "localhost:8787"])).is_ok());
        assert!(HttpConfig::from_args(&args(&["--http", "[::1]:8787"])).is_ok());
        let e = HttpConfig::from_args(&args(&["--http", "0.0.0.0:8787"])).unwrap_err();
        assert!(e.contains("without authentication"), "{e}");
        assert!(
            HttpConfig::from_args(&args(&["--http", "0.0.0.0:8787", "--auth", "stripe-key"]))
                .is_ok()
        );
    }

    #[test]
    fn the_default_address_is_loopback_8787() {
        let c = HttpConfig::from_args(&args(&["--http"])).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8787");
        assert_eq!(c.path, "/mcp");
    }

    #[test]
    fn the_public_url_host_is_allowed_and_names_the_resource() {
        let c = HttpConfig::from_args(&args(&[
            "--http",
            "127.0.0.1:0",
            "--public-url",
            "https://mcp.example.com",
        ]))
        .unwrap();
        assert!(c.allowed_hosts.contains(&"mcp.example.com".to_owned()));
        let bound: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(c.resource_url(bound), "https://mcp.example.com/mcp");
        assert_eq!(
            protected_resource_metadata_url("https://mcp.example.com/mcp"),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.9"),
        );
        assert_eq!(client_addr(proxy, &h, &[]), proxy);
        assert_eq!(
            client_addr(proxy, &h, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn only_identifiers_are_logged_as_names() {
        assert_eq!(loggable(Some("tools/call")), "tools/call");
        assert_eq!(loggable(Some("create_refund")), "create_refund");
        assert_eq!(loggable(Some("x\ny=1")), "?");
        assert_eq!(loggable(None), "-");
    }
}
