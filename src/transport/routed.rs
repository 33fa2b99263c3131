//! The MCP handler of the HTTP transport: each request is served by its caller's
//! tenant ([`crate::auth::Caller`], attached by the HTTP layer), under the tenant's
//! rate limit and the server's per-request deadline. The tenant's [`crate::StripeMcp`] does
//! the work and never learns which transport or auth mode brought the request.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::http::request::Parts;
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, DiscoverResult,
        GetPromptRequestParams, GetPromptResponse, Implementation, InitializeRequestParams,
        InitializeResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult,
        ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse,
        ServerCapabilities, ServerConfig,
    },
    service::RequestContext,
};
use tokio::sync::Notify;

use crate::{
    auth::{Caller, Tenant},
    server::DeadlinePassed,
    tools::{ToolError, error::ErrorKind},
};

/// What every session's handler shares: the deadline and the in-flight count that a
/// graceful shutdown waits on.
#[derive(Debug)]
pub struct Shared {
    /// A tool call still running after this is answered with a retryable error.
    pub request_timeout: Duration,
    /// Tool calls running now.
    in_flight: AtomicUsize,
    /// Signalled whenever a call ends, so shutdown can wait for zero.
    ended: Notify,
    /// Set on SIGTERM: new calls are refused with a retryable error.
    stopping: AtomicBool,
}

impl Shared {
    /// No calls yet.
    pub fn new(request_timeout: Duration) -> Self {
        Shared {
            request_timeout,
            in_flight: AtomicUsize::new(0),
            ended: Notify::new(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Refuse new calls from now on.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// True after [`Shared::stop`].
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Tool calls running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Resolves when no tool call is running.
    pub async fn drained(&self) {
        loop {
            let ended = self.ended.notified();
            if self.in_flight() == 0 {
                return;
            }
            ended.await;
        }
    }
}

/// Counts one call as in flight until dropped (also when the call is cancelled).
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn start(shared: &'a Shared) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

/// One per session (2025-11-25) or per request (2026-07-28): cheap, it holds only `Shared`.
#[derive(Debug, Clone)]
pub struct Routed {
    /// Deadline, in-flight count, stopping flag.
    shared: Arc<Shared>,
}

impl Routed {
    /// A handler over the shared state.
    pub fn new(shared: Arc<Shared>) -> Self {
        Routed { shared }
    }
}

/// The caller the HTTP layer authenticated for this request.
fn caller(context: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
    context
        .extensions
        .get::<Parts>()
        .and_then(|parts| parts.extensions.get::<Caller>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("request reached MCP without a caller", None))
}

/// The transport's own refusal of a call, through the tenant's one exit like every answer.
fn tool_error(tenant: &Tenant, error: ToolError) -> CallToolResponse {
    let refused = CallToolResult::error(vec![ContentBlock::text(error.to_json())]);
    tenant.server.egress().tool_result(refused.into())
}

impl ServerHandler for Routed {
    fn get_info(&self) -> ServerConfig {
        // Only for rmcp's own capability checks: initialize and discover answer with
        // the caller's tenant, whose instructions name its key's mode.
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(
            Implementation::new("stripe-mcp", env!("CARGO_PKG_VERSION")).with_title("Stripe"),
        )
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.initialize(request, context).await
    }

    async fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<DiscoverResult, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.discover(context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.list_tools(request, context).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.list_resources(request, context).await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let caller = caller(&context)?;
        caller
            .tenant
            .server
            .list_resource_templates(request, context)
            .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = caller(&context)?;
        // A read calls Stripe like a tool does: the tenant's rate limit applies.
        if caller.tenant.limiter.try_acquire().is_err() {
            return Err(caller.tenant.server.egress().error(ErrorData::internal_error(
                "this connector's rate limit was reached; nothing was sent to Stripe: retry shortly",
                None,
            )));
        }
        caller.tenant.server.read_resource(request, context).await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.list_prompts(request, context).await
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let caller = caller(&context)?;
        caller.tenant.server.get_prompt(request, context).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller(&context)?;
        let tenant = &caller.tenant;
        if self.shared.is_stopping() {
            let mut e = ToolError::invalid(
                "the server is shutting down; nothing was sent to Stripe",
            )
            .with_hint(
                "Call again in a few seconds (another replica or the restarted server answers).",
            );
            e.kind = ErrorKind::StripeUnavailable;
            e.retryable = true;
            return Ok(tool_error(tenant, e));
        }
        if let Err(wait) = tenant.limiter.try_acquire() {
            tracing::warn!(tenant = %tenant.name, tool = %request.name, "tenant rate limit reached");
            let mut e = ToolError::invalid(format!(
                "this connector's limit of {} tool calls per second was reached; nothing was sent to Stripe",
                tenant.limiter.per_second()
            ))
            .with_hint(format!(
                "Wait {} ms, then call again.",
                wait.as_millis().max(1)
            ));
            e.kind = ErrorKind::RateLimited;
            e.retryable = true;
            return Ok(tool_error(tenant, e));
        }
        let _in_flight = InFlight::start(&self.shared);
        let name = request.name.clone();
        // The deadline starts after any confirmation: a person's time to answer is
        // bounded by --confirm-timeout, not taken from the call's own time.
        match tenant
            .server
            .call_tool_within(request, context, Some(self.shared.request_timeout))
            .await
        {
            Ok(response) => response,
            Err(DeadlinePassed) => {
                tracing::warn!(tenant = %tenant.name, tool = %name, "tool call passed the request deadline");
                let mut e = ToolError::invalid(format!(
                    "the call took longer than this server's deadline of {} s and was abandoned; a write may or may not have happened",
                    self.shared.request_timeout.as_secs()
                ))
                .with_hint("Call again with the same idempotency_key: a write that happened is not repeated.");
                e.kind = ErrorKind::Network;
                e.retryable = true;
                Ok(tool_error(tenant, e))
            }
        }
    }
}
