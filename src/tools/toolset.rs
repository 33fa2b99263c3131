//! The tool set: which tools a server offers (`--tools`, groups, `--read-only`, the
//! live lock), the state every tool reads ([`StripeMcp`]: the client and the settings),
//! and the compacted `tools/list` answers. It knows nothing of MCP sessions: the server
//! layer above ([`crate::server`]) implements the protocol on this type.

use std::sync::Arc;

use rmcp::{
    handler::server::router::tool::{ToolRoute, ToolRouter},
    model::Tool,
};
use url::Url;

use crate::{
    egress::Egress,
    guard::{GuardSettings, backpressure::Backpressure},
    store::{Scope, ScopeSource, Store},
    stripe::{self, Client, IdempotencyKey, Mode},
    tools::{
        ToolError,
        error::{CallSituation, ErrorContext},
    },
};

tokio::task_local! {
    /// The tool call being served: what its errors' hints are chosen by.
    pub static CALL_SITUATION: CallSituation;
}
/// Which tools to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSelection {
    /// Every tool except those that must be named explicitly ([`EXPLICIT_ONLY`]).
    All,
    /// Only these: tool names, `@stripe/mcp` permission names such as
    /// `customers.read`, or `all` plus explicit-only tools (validated at start-up).
    Named(Vec<String>),
}

/// Tools that `--tools=all` leaves out: they must be named to be offered.
pub const EXPLICIT_ONLY: &[&str] = &["stripe_api_write"];

/// Tools offered only when the server has a store (`--db`): the order ledger's and the
/// audit trail's.
pub const ORDER_TOOLS: &[&str] = &["get_order_status", "list_orders", "list_audit_log"];

/// Groups `--tools` takes besides tool names: one per area, `books` for the
/// summaries, and `core`, the few tools most sessions need (about 7 KB of context
/// instead of about 50 KB for all). A tool may be in several groups;
/// `stripe_api_write` is in none (it must be named).
pub const GROUPS: &[(&str, &[&str])] = &[
    (
        "core",
        &[
            "initiate_checkout",
            "list_customers",
            "create_refund",
            "get_balance",
            "get_checkout_session",
            "search_stripe_resources",
            "fetch_stripe_resource",
        ],
    ),
    (
        "checkout",
        &[
            "initiate_checkout",
            "get_checkout_session",
            "list_checkout_sessions",
            "expire_checkout_session",
            "create_payment_link",
        ],
    ),
    (
        "customers",
        &[
            "list_customers",
            "get_customer",
            "create_customer",
            "update_customer",
        ],
    ),
    (
        "payments",
        &[
            "create_payment_intent",
            "confirm_payment_intent",
            "get_payment_intent",
            "list_payment_intents",
            "cancel_payment_intent",
            "list_charges",
            "get_charge",
        ],
    ),
    ("refunds", &["create_refund", "get_refund", "list_refunds"]),
    (
        "balance",
        &[
            "get_balance",
            "list_balance_transactions",
            "list_payouts",
            "get_payout",
            "get_account_info",
        ],
    ),
    (
        "catalog",
        &[
            "create_product",
            "list_products",
            "create_price",
            "list_prices",
            "create_coupon",
            "list_coupons",
        ],
    ),
    (
        "billing",
        &[
            "create_subscription",
            "get_subscription",
            "list_subscriptions",
            "update_subscription",
            "cancel_subscription",
            "create_invoice",
            "create_invoice_item",
            "finalize_invoice",
            "list_invoices",
            "list_overdue_invoices",
        ],
    ),
    (
        "disputes",
        &["list_disputes", "get_dispute", "update_dispute"],
    ),
    (
        "search",
        &[
            "search_stripe_resources",
            "fetch_stripe_resource",
            "stripe_api_read",
            "stripe_api_search",
            "stripe_api_details",
        ],
    ),
    ("orders", ORDER_TOOLS),
    (
        "books",
        &[
            "summarize_balance_transactions",
            "summarize_subscriptions",
            "list_overdue_invoices",
        ],
    ),
];

/// What one listed tool costs a session's context, in bytes of compact JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCost {
    /// The tool's name.
    pub name: String,
    /// What a model reads: `{"name", "description", "inputSchema"}`.
    pub model: usize,
    /// The output schema, which clients use to check results (most do not show it to
    /// the model), counted apart.
    pub output_schema: usize,
}

impl ToolCost {
    /// Measures a tool as `tools/list` reports it.
    pub fn of(tool: &Tool) -> ToolCost {
        let model = serde_json::json!({
            "name": tool.name,
            "description": tool.description,
            "inputSchema": *tool.input_schema,
        });
        ToolCost {
            name: tool.name.to_string(),
            model: model.to_string().len(),
            output_schema: tool.output_schema.as_ref().map_or(0, |s| {
                serde_json::Value::Object((**s).clone()).to_string().len()
            }),
        }
    }
}

/// The argument every tool takes with `--connect`.
pub const STRIPE_ACCOUNT_ARG: &str = "stripe_account";

/// `@stripe/mcp` 0.2.5's permission names and the tools each one stands for here,
/// so an existing config can switch by changing only the command.
pub const PERMISSIONS: &[(&str, &[&str])] = &[
    ("coupons.create", &["create_coupon"]),
    ("coupons.read", &["list_coupons"]),
    ("customers.create", &["create_customer"]),
    ("customers.read", &["list_customers", "get_customer"]),
    ("products.create", &["create_product"]),
    ("products.read", &["list_products"]),
    ("prices.create", &["create_price"]),
    ("prices.read", &["list_prices"]),
    ("paymentLinks.create", &["create_payment_link"]),
    ("invoices.create", &["create_invoice"]),
    ("invoices.read", &["list_invoices"]),
    ("invoices.update", &["finalize_invoice"]),
    ("invoiceItems.create", &["create_invoice_item"]),
    ("balance.read", &["get_balance"]),
    ("refunds.create", &["create_refund"]),
    (
        "paymentIntents.read",
        &["list_payment_intents", "get_payment_intent"],
    ),
    (
        "subscriptions.read",
        &["list_subscriptions", "get_subscription"],
    ),
    (
        "subscriptions.update",
        &["update_subscription", "cancel_subscription"],
    ),
    ("disputes.read", &["list_disputes", "get_dispute"]),
    ("disputes.update", &["update_dispute"]),
    // The official server's documentation search has no counterpart here.
    ("documentation.read", &[]),
];

/// Settings the tools read besides the client.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `APP_BASE_URL`: default success and cancel URLs for checkouts.
    pub app_base_url: Option<Url>,
    /// `--db`: the webhook receiver's order ledger; present, it adds the order tools.
    pub ledger: Option<Store>,
    /// `--confirm`, `--allow-live-writes`, `--redact`: the guardrails around writes.
    pub guard: GuardSettings,
    /// `--connect`: every tool takes `stripe_account` (a platform acting on its
    /// connected accounts); off, no schema grows by it.
    pub connect: bool,
    /// Whose stored facts the caller reads, and which accounts it may act on with
    /// `stripe_account`: the operator locally, a tenant's boundary remotely.
    pub scope: ScopeSource,
    /// `--no-ui`: never offer the MCP Apps views ([`crate::tools::ui`]), even to a client that
    /// declares the extension.
    pub no_ui: bool,
}

/// The stripe-mcp server. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct StripeMcp {
    /// The one Stripe client (one connection pool).
    pub(crate) client: Client,
    /// Read-only settings shared by all calls.
    pub(crate) settings: Arc<Settings>,
    /// The registered tools, after `--tools` filtering.
    pub(crate) tool_router: ToolRouter<StripeMcp>,
    /// What `tools/list` answers: the registered tools with compacted schemas,
    /// computed once because every session pays for it in model context.
    pub(crate) listed: Arc<[Tool]>,
    /// Bounds in-flight calls of a stdio session ([`StripeMcp::with_backpressure`]).
    pub(crate) backpressure: Option<Arc<Backpressure>>,
    /// True when a live key without `--allow-live-writes` took the write tools away:
    /// the instructions say so, with the ways forward.
    pub(crate) live_locked: bool,
}

/// What stderr and the instructions say when a live key made the server read-only.
pub const LIVE_LOCKED: &str = "The key is a LIVE-mode key and live writes were not allowed, so this server is READ-ONLY: only the tools that read are offered. Three ways forward: (1) use a restricted key (rk_live_...) with only the permissions you want the agent to have, and start with --allow-live-writes; (2) start with --allow-live-writes (STRIPE_MCP_ALLOW_LIVE_WRITES=true, or allow_live_writes = true for a tenant) to offer the write tools with this key; (3) stay read-only.";

/// True for a tool whose annotations say it only reads.
pub(crate) fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

/// True when `client`'s key is live and live writes were not allowed.
fn locks_live(client: &Client, guard: &GuardSettings) -> bool {
    client.mode() == Mode::Live && !guard.allow_live_writes
}

impl StripeMcp {
    /// Builds the server with the selected tools (only the read-only ones when
    /// `read_only`); an unknown name is an error that lists the valid ones.
    pub fn new(
        client: Client,
        settings: Settings,
        selection: &ToolSelection,
        read_only: bool,
    ) -> Result<Self, String> {
        let live_locked = !read_only && locks_live(&client, &settings.guard);
        let tool_router = Self::registry(
            selection,
            read_only || live_locked,
            settings.ledger.is_some(),
        )?;
        Ok(StripeMcp {
            client,
            listed: listing(&tool_router, settings.connect).into(),
            settings: Arc::new(settings),
            tool_router,
            backpressure: None,
            live_locked,
        }
        .warn_if_live_locked())
    }

    /// The tools a server started with these flags lists, as `tools/list` reports
    /// them, without a key or a client: for `stripe-mcp tools`.
    pub fn listed_tools(
        selection: &ToolSelection,
        read_only: bool,
        has_ledger: bool,
        connect: bool,
    ) -> Result<Vec<Tool>, String> {
        Ok(listing(
            &Self::registry(selection, read_only, has_ledger)?,
            connect,
        ))
    }

    /// The router of the selected tools.
    fn registry(
        selection: &ToolSelection,
        read_only: bool,
        has_ledger: bool,
    ) -> Result<ToolRouter<StripeMcp>, String> {
        let mut tool_router = Self::core_routes();
        // The order tools read the ledger, so they exist only when there is one.
        if has_ledger {
            tool_router += Self::ledger_routes();
        }
        let mut known: Vec<String> = tool_router
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        known.sort();
        let wanted = Self::resolve(selection, &known)?;
        for tool in tool_router.list_all() {
            if !wanted.iter().any(|w| *w == tool.name) || (read_only && !is_read_only(&tool)) {
                tool_router.remove_route(&tool.name);
            }
        }
        Ok(tool_router)
    }

    /// Says on stderr that a live key made this server read-only, and how to go on.
    fn warn_if_live_locked(self) -> Self {
        if self.live_locked {
            tracing::warn!("{}", LIVE_LOCKED);
        }
        self
    }

    /// The write tools taken away: a live key arrived without `--allow-live-writes`.
    fn lock_live(mut self) -> Self {
        for tool in self.tool_router.list_all() {
            if !is_read_only(&tool) {
                self.tool_router.remove_route(&tool.name);
            }
        }
        self.listed = listing(&self.tool_router, self.settings.connect).into();
        self.live_locked = true;
        self.warn_if_live_locked()
    }

    /// Bounds in-flight work with `gate`, which also watches the session's output
    /// (see [`crate::guard::backpressure`]).
    pub fn with_backpressure(mut self, gate: Arc<Backpressure>) -> Self {
        self.backpressure = Some(gate);
        self
    }

    /// The same tools and settings over another client: one caller's Stripe key in
    /// a remote server (`serve --http --auth stripe-key`), without rebuilding the registry.
    /// `tenant` names the caller: its audit rows and limit tallies are its own.
    pub fn with_client(&self, client: Client, tenant: &str) -> StripeMcp {
        let lock = !self.live_locked && locks_live(&client, &self.settings.guard);
        let mut settings = (*self.settings).clone();
        settings.guard.scope = tenant.to_owned();
        let server = StripeMcp {
            client,
            settings: Arc::new(settings),
            ..self.clone()
        };
        if lock { server.lock_live() } else { server }
    }

    /// This server for one remote caller: its own client, its boundary ([`ScopeSource`])
    /// and the name its tally and audit rows go under.
    pub fn for_caller(&self, client: Client, scope: ScopeSource, name: &str) -> StripeMcp {
        let mut settings = (*self.settings).clone();
        settings.scope = scope;
        StripeMcp {
            settings: Arc::new(settings),
            ..self.clone()
        }
        .with_client(client, name)
    }

    /// The scope of a store read by this server's caller now (a caller's own Stripe key
    /// is proven with one `GET /v1/account`, cached).
    pub async fn read_scope(&self) -> Scope {
        self.settings.scope.resolve(&self.client).await
    }

    /// The caller's boundary.
    pub fn scope_source(&self) -> &ScopeSource {
        &self.settings.scope
    }

    /// The tool names a selection stands for.
    fn resolve(selection: &ToolSelection, known: &[String]) -> Result<Vec<String>, String> {
        let names = match selection {
            ToolSelection::All => {
                return Ok(known
                    .iter()
                    .filter(|n| !EXPLICIT_ONLY.contains(&n.as_str()))
                    .cloned()
                    .collect());
            }
            ToolSelection::Named(names) => names,
        };
        let mut wanted = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            if name == "all" {
                wanted.extend(Self::resolve(&ToolSelection::All, known)?);
            } else if known.contains(name) {
                wanted.push(name.clone());
            } else if ORDER_TOOLS.contains(&name.as_str()) {
                return Err(format!(
                    "{name} reads the --db store (the order ledger the webhook receiver writes, and the audit trail of writes): start the server with --db PATH|URL (the same store `stripe-mcp webhooks --db` writes)"
                ));
            } else if let Some((_, tools)) = GROUPS.iter().find(|(g, _)| g == name) {
                if *name == "orders" && !known.iter().any(|k| ORDER_TOOLS.contains(&k.as_str())) {
                    return Err("the orders group reads the webhook receiver's order ledger: start the server with --db PATH (the same file `stripe-mcp webhooks --db PATH` writes)".to_owned());
                }
                wanted.extend(
                    tools
                        .iter()
                        .filter(|t| known.iter().any(|k| k == *t))
                        .map(|t| t.to_string()),
                );
            } else if let Some((_, tools)) = PERMISSIONS.iter().find(|(p, _)| p == name) {
                wanted.extend(
                    tools
                        .iter()
                        .filter(|t| known.iter().any(|k| k == *t))
                        .map(|t| t.to_string()),
                );
            } else {
                unknown.push(name.as_str());
            }
        }
        if !unknown.is_empty() {
            return Err(format!(
                "unknown tool name(s) in --tools: {}; valid names: all, {}; groups: {}; or @stripe/mcp permission names: {}",
                unknown.join(", "),
                known.join(", "),
                GROUPS
                    .iter()
                    .map(|(g, _)| *g)
                    .collect::<Vec<_>>()
                    .join(", "),
                PERMISSIONS
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(wanted)
    }

    /// Every tool as its own `#[tool]` attributes and argument types define it, schemas
    /// generated by schemars: what [`StripeMcp::live_catalogue`] compacts, and what the
    /// embedded catalogue is checked against.
    fn defined_router() -> ToolRouter<StripeMcp> {
        Self::checkout_router()
            + Self::customers_router()
            + Self::refunds_router()
            + Self::balance_router()
            + Self::payment_intents_router()
            + Self::charges_router()
            + Self::payouts_router()
            + Self::account_router()
            + Self::products_router()
            + Self::prices_router()
            + Self::payment_links_router()
            + Self::subscriptions_router()
            + Self::invoices_router()
            + Self::coupons_router()
            + Self::disputes_router()
            + Self::search_router()
            + Self::summaries_router()
            + Self::generic_router()
            + Self::api_router()
            + Self::orders_router()
            + Self::audit_router()
    }

    /// Every tool's `tools/list` entry computed from its own definition: schemas generated
    /// and compacted (`compact_tool`). This is what `src/tools/catalogue.json` holds; a
    /// test fails when the two differ (`UPDATE_GOLDEN=1 cargo test --lib catalogue` rewrites
    /// the file). Generating the schemas costs most of a cold start, so the server does it
    /// only here, never on its own start-up path.
    pub fn live_catalogue() -> Vec<Tool> {
        Self::defined_router()
            .list_all()
            .into_iter()
            .map(compact_tool)
            .collect()
    }

    /// The tools every server may offer, each routed to its method with its entry from
    /// the embedded catalogue (no schema is generated at start-up).
    fn core_routes() -> ToolRouter<StripeMcp> {
        catalogue_routes!(
            get_account_info,
            stripe_api_search,
            stripe_api_details,
            get_balance,
            list_balance_transactions,
            list_charges,
            get_charge,
            initiate_checkout,
            get_checkout_session,
            list_checkout_sessions,
            expire_checkout_session,
            create_coupon,
            list_coupons,
            list_customers,
            get_customer,
            create_customer,
            update_customer,
            list_disputes,
            get_dispute,
            update_dispute,
            stripe_api_read,
            stripe_api_write,
            create_invoice,
            create_invoice_item,
            finalize_invoice,
            list_invoices,
            create_payment_intent,
            confirm_payment_intent,
            get_payment_intent,
            list_payment_intents,
            cancel_payment_intent,
            create_payment_link,
            list_payouts,
            get_payout,
            create_price,
            list_prices,
            create_product,
            list_products,
            create_refund,
            get_refund,
            list_refunds,
            search_stripe_resources,
            fetch_stripe_resource,
            create_subscription,
            get_subscription,
            list_subscriptions,
            update_subscription,
            cancel_subscription,
            summarize_balance_transactions,
            summarize_subscriptions,
            list_overdue_invoices,
        )
    }

    /// The tools over the `--db` store, offered only with one.
    fn ledger_routes() -> ToolRouter<StripeMcp> {
        catalogue_routes!(get_order_status, list_orders, list_audit_log,)
    }

    /// Every tool name this server knows, sorted.
    pub fn tool_names() -> Vec<String> {
        let mut names: Vec<String> = (Self::core_routes() + Self::ledger_routes())
            .list_all()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        names
    }

    /// The registered tools, as `tools/list` reports them.
    pub fn tools(&self) -> Vec<Tool> {
        self.listed.to_vec()
    }

    /// True when this server (or tenant) offers `tool`: resources and prompts follow
    /// the same list.
    pub(crate) fn offers(&self, tool: &str) -> bool {
        self.tool_router.has_route(tool)
    }

    /// The one exit every answer of this server passes.
    pub fn egress(&self) -> Egress {
        Egress::new(self.settings.guard.redact)
    }

    /// Maps a client error for a tool result, with this server's mode and key type.
    pub(crate) fn stripe_error(
        &self,
        err: stripe::Error,
        key: Option<&IdempotencyKey>,
    ) -> ToolError {
        let call = CALL_SITUATION.try_with(Clone::clone).ok();
        ToolError::from_stripe(
            err,
            ErrorContext {
                mode: self.client.mode(),
                restricted_key: self.client.key_is_restricted(),
                idempotency_key: key,
                call: call.as_ref(),
            },
        )
    }
}

/// What `tools/list` answers for `router`: its catalogue entries, sorted by name, with
/// `stripe_account` added under `--connect`.
fn listing(router: &ToolRouter<StripeMcp>, connect: bool) -> Vec<Tool> {
    router
        .list_all()
        .into_iter()
        .map(|t| with_account_arg(t, connect))
        .collect()
}

/// With `--connect`, every tool takes `stripe_account`; without, the entry is unchanged.
fn with_account_arg(mut tool: Tool, connect: bool) -> Tool {
    if connect {
        let mut input = (*tool.input_schema).clone();
        let props = input
            .entry("properties")
            .or_insert_with(|| serde_json::json!({}));
        if let serde_json::Value::Object(props) = props {
            props.insert(
                STRIPE_ACCOUNT_ARG.into(),
                serde_json::json!({
                    "type": "string",
                    "description": "Connected account (acct_...) to act on, for this call only."
                }),
            );
        }
        tool.input_schema = Arc::new(input);
    }
    tool
}

/// The `tools/list` entry of every tool, generated from the tools' own definitions by
/// [`StripeMcp::live_catalogue`] and checked against them by a test: read once per
/// process, so start-up neither generates nor compacts a schema.
const CATALOGUE_JSON: &str = include_str!("catalogue.json");

/// The embedded catalogue, by tool name.
fn catalogue() -> &'static std::collections::HashMap<String, Tool> {
    static CATALOGUE: std::sync::OnceLock<std::collections::HashMap<String, Tool>> =
        std::sync::OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let tools: Vec<Tool> = serde_json::from_str(CATALOGUE_JSON)
            .expect("src/tools/catalogue.json is generated by the test `catalogue` and parses");
        tools.into_iter().map(|t| (t.name.to_string(), t)).collect()
    })
}

/// One tool's catalogue entry. A tool missing from the catalogue is a build that did
/// not regenerate it; the test `catalogue` fails on it before any release.
fn entry(name: &str) -> Tool {
    catalogue().get(name).cloned().unwrap_or_else(|| {
        panic!("{name} is not in src/tools/catalogue.json: run UPDATE_GOLDEN=1 cargo test --lib catalogue")
    })
}

/// A router of the named tool methods, each with its catalogue entry.
macro_rules! catalogue_routes {
    ($($name:ident),* $(,)?) => {
        ToolRouter::new()
            $(.with_route(ToolRoute::new(entry(stringify!($name)), StripeMcp::$name)))*
    };
}
use catalogue_routes;

/// Removes what costs context without telling a model anything: `$schema`,
/// `title` and `format` everywhere, and descriptions inside output schemas (the
/// tool's description and the input schema's field descriptions stay).
fn compact_tool(mut tool: Tool) -> Tool {
    fn strip(value: &mut serde_json::Value, drop_descriptions: bool) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|k, v| match k.as_str() {
                    "$schema" | "title" => !v.is_string(),
                    "format" => !v.is_string(),
                    "description" => !(drop_descriptions && v.is_string()),
                    _ => true,
                });
                for v in map.values_mut() {
                    strip(v, drop_descriptions);
                }
            }
            serde_json::Value::Array(items) => {
                for v in items {
                    strip(v, drop_descriptions);
                }
            }
            _ => {}
        }
    }
    let mut input = serde_json::Value::Object((*tool.input_schema).clone());
    strip(&mut input, false);
    if let serde_json::Value::Object(map) = &mut input {
        let defs = match map.remove("$defs") {
            Some(serde_json::Value::Object(defs)) => defs,
            _ => serde_json::Map::new(),
        };
        for v in map.values_mut() {
            simplify_input(v, &defs, 0);
        }
    }
    if let serde_json::Value::Object(map) = input {
        tool.input_schema = Arc::new(map);
    }
    let writes = !is_read_only(&tool);
    if let Some(output) = &tool.output_schema {
        let mut output = serde_json::Value::Object((**output).clone());
        strip(&mut output, true);
        crate::tools::times::add_schema_twins(&mut output);
        // A write's result may say that Stripe replayed an earlier answer (the server's `finish`).
        if writes && let Some(serde_json::Value::Object(props)) = output.get_mut("properties") {
            props.insert("replayed".into(), serde_json::json!({"type": "boolean"}));
            props.insert("replay_note".into(), serde_json::json!({"type": "string"}));
        }
        if let serde_json::Value::Object(map) = output {
            tool.output_schema = Some(Arc::new(map));
        }
    }
    tool
}

/// Rewrites an input schema into the shortest form that says the same to a model:
/// `$ref`s inlined (the definition's own description dropped: the field's says it),
/// `anyOf [X, null]` and `type [X, "null"]` become X (an optional field is one that
/// is not `required`), and a `oneOf` of `const`s becomes an `enum`. What the server
/// accepts is unchanged: serde still reads `null` as absent. Only for input schemas:
/// an output schema must keep saying which fields may be null.
fn simplify_input(
    value: &mut serde_json::Value,
    defs: &serde_json::Map<String, serde_json::Value>,
    depth: usize,
) {
    use serde_json::Value;
    // The types are not recursive; the bound only keeps a mistake from looping.
    if depth > 16 {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(alts)) = map.get("anyOf") {
                let kept: Vec<&Value> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .collect();
                if kept.len() == 1
                    && let Value::Object(alt) = kept[0].clone()
                {
                    map.remove("anyOf");
                    for (k, v) in alt {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            if let Some(Value::String(r)) = map.get("$ref")
                && let Some(Value::Object(def)) =
                    r.strip_prefix("#/$defs/").and_then(|n| defs.get(n))
            {
                let def = def.clone();
                map.remove("$ref");
                for (k, v) in def {
                    if k != "description" {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            if let Some(Value::Array(alts)) = map.get("oneOf")
                && !alts.is_empty()
                && alts
                    .iter()
                    .all(|a| a.get("const").is_some_and(Value::is_string))
            {
                let values: Vec<Value> = alts.iter().map(|a| a["const"].clone()).collect();
                map.remove("oneOf");
                map.insert("type".into(), "string".into());
                map.insert("enum".into(), Value::Array(values));
            }
            if let Some(Value::Array(types)) = map.get("type")
                && types.len() == 2
                && let Some(i) = types.iter().position(|t| t == "null")
            {
                let other = types[1 - i].clone();
                map.insert("type".into(), other);
            }
            for v in map.values_mut() {
                simplify_input(v, defs, depth + 1);
            }
        }
        Value::Array(items) => {
            for v in items {
                simplify_input(v, defs, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod catalogue_tests {
    use super::*;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tools/catalogue.json");

    /// The embedded catalogue is exactly what the tools' own definitions generate, and the
    /// routes the server builds name every defined tool (and no other).
    #[test]
    fn catalogue_matches_the_tools_own_definitions() {
        let live = StripeMcp::live_catalogue();
        // One tool per line: small to embed, and a diff names the tools that changed.
        let lines: Vec<String> = live
            .iter()
            .map(|t| serde_json::to_string(t).unwrap())
            .collect();
        let text = format!("[\n{}\n]\n", lines.join(",\n"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(PATH, &text).unwrap();
        }
        let embedded: serde_json::Value = serde_json::from_str(CATALOGUE_JSON).unwrap();
        let generated: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(
            embedded == generated,
            "src/tools/catalogue.json differs from the tools' definitions: run UPDATE_GOLDEN=1 cargo test --lib catalogue and review the diff"
        );
        let routed: Vec<String> = StripeMcp::tool_names();
        let mut defined: Vec<String> = live.iter().map(|t| t.name.to_string()).collect();
        defined.sort();
        assert_eq!(
            routed, defined,
            "core_routes/ledger_routes must name every tool"
        );
        let routes = StripeMcp::core_routes() + StripeMcp::ledger_routes();
        for tool in &live {
            assert_eq!(
                routes
                    .get(&tool.name)
                    .map(|r| serde_json::to_value(r).unwrap()),
                Some(serde_json::to_value(tool).unwrap()),
                "{}",
                tool.name
            );
        }
    }
}
