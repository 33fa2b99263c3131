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
    StreamableHttpServerConfig, StreamableHttpService,
    session::{SessionManager, local::LocalSessionManager},
};
use serde::Deserialize;
use url::Url;

use super::{
    ServeArgs,
    limits::{BoundArgs, Conn, Gate, Guarded, Hits, Kind, StallIo, Usage},
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
    /// What one caller may hold ([`super::limits`]).
    pub bounds: BoundArgs,
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
        // A browser page served from this same machine (the Inspector's UI) may call a
        // server bound to loopback; any other origin is still refused.
        let allowed_origins = if args.allowed_origin.is_empty() && loopback {
            ["http", "https"]
                .iter()
                .flat_map(|scheme| {
                    ["localhost", "127.0.0.1", "[::1]"].map(|host| format!("{scheme}://{host}:*"))
                })
                .collect()
        } else {
            args.allowed_origin.clone()
        };
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
            allowed_origins,
            trusted_proxies: args.trusted_proxy.clone(),
            max_body: args.max_body,
            body_timeout: Duration::from_secs(args.body_timeout),
            request_timeout: Duration::from_secs(args.request_timeout),
            idle_timeout: Duration::from_secs(args.idle_timeout),
            max_connections: args.max_connections as usize,
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
            bounds: args.bounds.clone(),
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
    /// rmcp's sessions, to close one we evict or whose tenant is revoked.
    session_manager: Arc<LocalSessionManager>,
    /// Session id → the tenant that opened it and when it was last used, so a session is
    /// only ever used by its tenant, and each tenant's sessions are counted.
    sessions: Mutex<HashMap<String, (String, Instant)>>,
    /// Connections: unauthenticated ones in a short line, authenticated ones in places.
    gate: Gate,
    /// Per tenant: requests in flight and open streams.
    usage: Arc<Usage>,
    /// Bounds hit, logged.
    hits: Arc<Hits>,
    /// `WWW-Authenticate` on a 401 (names the protected-resource metadata in OAuth mode).
    challenge: String,
    /// RFC 9728 metadata, served in OAuth mode.
    resource_metadata: Option<serde_json::Value>,
    /// `--db`, checked by `/readyz`.
    ledger: Option<Store>,
}

/// Serves on `listener` until `shutdown`; `reload` resolves on each SIGHUP.
///
/// Prints `stripe-mcp: listening on http://ADDR/PATH` on stderr once accepting.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: HttpConfig,
    auth: Auth,
    ledger: Option<Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut reload: impl FnMut() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + 'static,
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
    let bounds = config.bounds.clone();
    let mut session_manager = LocalSessionManager::default();
    session_manager.session_config.keep_alive =
        Some(Duration::from_secs(bounds.session_idle_timeout));
    let session_manager = Arc::new(session_manager);
    let factory_shared = shared.clone();
    let mcp = StreamableHttpService::new(
        move || Ok(Routed::new(factory_shared.clone())),
        session_manager.clone(),
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
        session_manager,
        sessions: Mutex::new(HashMap::new()),
        gate: Gate::new(config.max_connections, bounds.max_unauthenticated as usize),
        usage: Arc::new(Usage::default()),
        hits: Arc::new(Hits::default()),
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

    // SIGHUP is served by its own task, so a reload never waits for the listener.
    let reloader = {
        let app = app.clone();
        tokio::spawn(async move {
            loop {
                reload().await;
                reload_tenants(&app).await;
            }
        })
    };

    let trimmer = tokio::spawn(super::limits::give_back_memory(app.hits.clone()));
    let (close_tx, close_rx) = tokio::sync::watch::channel(false);
    let unauthenticated_for = Duration::from_secs(bounds.header_timeout);
    let write_timeout = Duration::from_secs(bounds.write_timeout);
    tokio::pin!(shutdown);
    loop {
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
        };
        // Every new connection is let in; if too many have not authenticated, the oldest
        // of those is closed, so idle sockets cannot keep a caller out.
        let (conn, pushed_out) = app.gate.admit();
        if pushed_out {
            app.hits.hit(
                "--max-unauthenticated",
                "closed the oldest connection that had not authenticated",
            );
        }
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut close = close_rx.clone();
        let idle = config.idle_timeout;
        let app = app.clone();
        tokio::spawn(async move {
            use hyper::service::Service as _;
            let svc = hyper_util::service::TowerToHyperService::new(router);
            let this = conn.clone();
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.extensions_mut().insert(this.clone());
                    svc.call(req)
                },
            );
            let io = StallIo::new(stream, write_timeout, app.hits.clone());
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(idle)
                .keep_alive(true)
                .serve_connection(TokioIo::new(io), service);
            tokio::pin!(served);
            let unauthenticated = async {
                tokio::time::sleep(unauthenticated_for).await;
                if conn.authenticated() {
                    std::future::pending::<()>().await;
                }
            };
            let (grace, why) = tokio::select! {
                _ = served.as_mut() => (None, ""),
                () = closing(&mut close) => (Some(Duration::from_secs(5)), ""),
                () = conn.evicted.cancelled() => (Some(Duration::from_secs(1)), ""),
                () = unauthenticated => (
                    Some(Duration::from_secs(1)),
                    "closed a connection that sent no authenticated request in time",
                ),
            };
            if let Some(grace) = grace {
                if !why.is_empty() {
                    app.hits.hit("--header-timeout", why);
                }
                served.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(grace, served).await;
            }
            app.gate.leave(&conn);
        });
    }
    reloader.abort();
    trimmer.abort();
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
    let places = app.gate.places.clone();
    if tokio::time::timeout(Duration::from_secs(2), places.acquire_many(all))
        .await
        .is_err()
    {
        cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), places.acquire_many(all)).await;
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

/// SIGHUP: re-reads the tenants file; a tenant no longer in it loses its sessions and
/// streams at once (its token already fails from the next request).
async fn reload_tenants(app: &App) {
    let reloaded = match &app.auth {
        Auth::Tokens(t) => t.reload(),
        #[cfg(feature = "oauth")]
        Auth::Oauth(o) => o.reload(),
        _ => {
            tracing::info!("SIGHUP: nothing to reload in this auth mode");
            return;
        }
    };
    match reloaded {
        Ok(n) => tracing::info!(tenants = n, "tenants file reloaded on SIGHUP"),
        Err(e) => {
            tracing::error!(error = %e, "tenants file NOT reloaded on SIGHUP; the previous tenants stay in force");
            return;
        }
    }
    let Some(names) = app.auth.tenant_names() else {
        return;
    };
    let keep = |tenant: &str| names.contains(tenant);
    let streams_of = app.usage.end_except(keep);
    let sessions: Vec<String> = {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let gone: Vec<String> = sessions
            .iter()
            .filter(|(_, (owner, _))| !keep(owner))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            sessions.remove(id);
        }
        gone
    };
    for id in &sessions {
        let _ = app.session_manager.close_session(&id.as_str().into()).await;
    }
    if !streams_of.is_empty() || !sessions.is_empty() {
        tracing::info!(
            tenants = ?streams_of,
            sessions = sessions.len(),
            "revoked tenants: their open answers, streams and sessions are ended"
        );
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

/// `/mcp`: authenticate (before reading anything more), take a place for the connection
/// and a share of the tenant's calls or streams, read the body (capped, with a deadline),
/// bind sessions to their tenant, hand over to rmcp, and log the request when its answer ends.
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
    let busy = |status: StatusCode, text: &'static str, close: bool| -> Response {
        let mut r = plain(status, text);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        if close {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        r
    };

    if app.shared.is_stopping() {
        return finish(
            log,
            busy(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n", true),
        );
    }

    // Who is calling, from the headers alone: a stranger's body is never read.
    let caller: Caller = match app.auth.authenticate(&parts.headers).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(reason = %e, "request refused");
            let mut r = refuse(&app, &e);
            if parts.method == Method::POST {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return finish(log, r);
        }
    };
    log.tenant = caller.tenant.name.clone();
    let tenant_name = caller.tenant.name.clone();

    // The connection has authenticated: it leaves the short line and takes a place.
    if let Some(conn) = parts.extensions.get::<Arc<Conn>>()
        && !app.gate.promote(conn)
    {
        app.hits.hit(
            "--max-connections",
            "refused a connection: every place is taken",
        );
        return finish(
            log,
            busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many connections; retry\n",
                true,
            ),
        );
    }

    // The tenant's share: requests in flight, or open GET streams.
    let bounds = &app.config.bounds;
    let share = match parts.method {
        Method::POST => Some((
            Kind::Call,
            bounds.max_calls_per_tenant,
            "--max-calls-per-tenant",
        )),
        Method::GET => Some((
            Kind::Stream,
            bounds.max_streams_per_tenant,
            "--max-streams-per-tenant",
        )),
        _ => None,
    };
    let held = match share {
        None => None,
        Some((kind, cap, flag)) => match app.usage.enter(&tenant_name, kind, cap) {
            Some(h) => Some((h, kind)),
            None => {
                app.hits
                    .hit(flag, "refused a tenant's request over its share");
                return finish(
                    log,
                    busy(
                        StatusCode::TOO_MANY_REQUESTS,
                        if kind == Kind::Call {
                            "too many requests in flight for this caller; retry\n"
                        } else {
                            "too many open streams for this caller\n"
                        },
                        false,
                    ),
                );
            }
        },
    };

    // The body (bounded in size and time), so the log and scope check know the call.
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

    // A session belongs to the tenant that opened it; every session rmcp opens passes
    // here, so one not known here (closed, expired, another tenant's) is not found.
    let session = parts
        .headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = &session {
        let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match sessions.get_mut(id) {
            Some((owner, used)) if *owner == tenant_name => *used = Instant::now(),
            Some(_) => {
                drop(sessions);
                tracing::warn!(tenant = %tenant_name, "refused a session opened by another tenant");
                return finish(log, plain(StatusCode::NOT_FOUND, "session not found\n"));
            }
            None => {
                return finish(log, plain(StatusCode::NOT_FOUND, "session not found\n"));
            }
        }
    } else if parts.method == Method::POST && peek.method.as_deref() == Some("initialize") {
        let admitted = admit_session(&app, &tenant_name);
        for id in admitted.as_ref().unwrap_or_else(|gone| gone) {
            let _ = app.session_manager.close_session(&id.as_str().into()).await;
        }
        match admitted {
            Ok(_) => {}
            Err(_) => {
                return finish(
                    log,
                    busy(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "too many sessions; retry later\n",
                        false,
                    ),
                );
            }
        }
    }

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
                    sessions.insert(new.to_owned(), (tenant_name, Instant::now()));
                }
            }
            _ => {}
        }
    }
    let response = match held {
        Some((held, kind)) => {
            let idle = (kind == Kind::Stream)
                .then(|| Duration::from_secs(app.config.bounds.stream_idle_timeout));
            let (rparts, body) = response.into_parts();
            Response::from_parts(
                rparts,
                Body::new(Guarded::new(body, held, idle, app.hits.clone())),
            )
        }
        None => response,
    };
    finish(log, response)
}

/// Room for one more session of `tenant`: forgets sessions unused past
/// `--session-idle-timeout`; at the tenant's cap, its least recently used session is
/// closed. Returns the sessions to close in rmcp, as `Err` when the server holds
/// `--max-sessions` and refuses the new one.
///
/// Why evict rather than refuse at the tenant's cap: only the tenant's own sessions are
/// ever closed, so a flood hurts no one else, and a client that leaks sessions (never
/// sends DELETE) keeps working instead of being locked out for the idle timeout.
fn admit_session(app: &App, tenant: &str) -> Result<Vec<String>, Vec<String>> {
    let bounds = &app.config.bounds;
    let idle = Duration::from_secs(bounds.session_idle_timeout);
    let mut sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let mut closing: Vec<String> = sessions
        .iter()
        .filter(|(_, (_, used))| used.elapsed() >= idle)
        .map(|(id, _)| id.clone())
        .collect();
    for id in &closing {
        sessions.remove(id);
    }
    // Counted first, collected only at the cap: a list of every session of the tenant
    // for each new one cost time and memory in the number of sessions, and the freed
    // lists left holes in the heap that the sessions' own memory did not fill.
    let held = sessions
        .values()
        .filter(|(owner, _)| owner == tenant)
        .count();
    if held >= bounds.max_sessions_per_tenant as usize {
        let mut mine: Vec<(&String, Instant)> = sessions
            .iter()
            .filter(|(_, (owner, _))| owner == tenant)
            .map(|(id, (_, used))| (id, *used))
            .collect();
        mine.sort_by_key(|(_, used)| *used);
        let over = mine.len() + 1 - bounds.max_sessions_per_tenant as usize;
        let oldest: Vec<String> = mine
            .iter()
            .take(over)
            .map(|(id, _)| (*id).clone())
            .collect();
        for id in &oldest {
            sessions.remove(id);
        }
        app.hits.hit(
            "--max-sessions-per-tenant",
            "closed a tenant's least recently used session",
        );
        closing.extend(oldest);
    } else if sessions.len() >= bounds.max_sessions as usize {
        app.hits.hit(
            "--max-sessions",
            "refused a new session: the server is full",
        );
        return Err(closing);
    }
    Ok(closing)
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
