//! stripe-mcp: a Model Context Protocol server over stdio that gives an AI agent
//! real, safe Stripe tools.
//!
//! # Layout
//!
//! - [`config`]: CLI flags and environment as plain data (imports nothing above the store).
//! - [`server`]: the MCP server on the tool set: identity, instructions, resources,
//!   prompts, call entry;
//!   [`server::setup`]: the flags validated once at start-up into client, server and
//!   guard settings.
//! - [`stripe`]: the thin typed Stripe REST client (auth, form encoding, retries,
//!   idempotency, errors) and the resources the tools use;
//!   [`stripe::api_index`]: every API operation, from Stripe's OpenAPI description
//!   (`stripe_api_search`, `stripe_api_details`, the generic calls' checks);
//!   [`stripe::budget`], the per-key read budget, and [`stripe::slices`], whole lists read
//!   in concurrent time slices.
//! - [`tools`]: one file per Stripe resource with its MCP tools, the argument
//!   checks they share, list paging; [`tools::toolset`]: [`StripeMcp`] (the client and
//!   settings every tool reads), `--tools` groups, the registry, the compacted `tools/list`.
//! - [`error`]: the structured tool error every failure becomes.
//! - [`policy`]: the spending caps as plain data (`--limit`, `--policy`, `[tenant.limits]`).
//! - [`egress`]: the one exit for content: every result, resource, prompt, error and
//!   confirmation question has its secrets scrubbed ([`egress::scrub`]) and, with
//!   `--redact`, its personal data masked ([`egress::pii`]).
//! - [`guard`]: what runs around every call: back-pressure on in-flight work; the guardrails:
//!   - [`guard::effects`]: one table of what each Stripe write operation does (refund,
//!     take, payout, cancel, ...), keyed by method and path, with the look-ups that fill in
//!     what a request does not carry; [`guard::gate`]: the one gate every planned write
//!     passes (confirm, limits, audit) to become the only thing the client sends.
//!   - [`guard::confirm`]: a person confirms money movements (elicitation, or an
//!     `input_required` round with a sealed `requestState` for 2026-07-28 clients).
//!   - [`guard::limits`]: the spending caps applied to a planned write, and the
//!     reservation made in the store before a money-moving write is sent.
//!   - [`guard::audit`]: the audit trail's rows (written before sending, completed
//!     after) and `stripe-mcp audit`.
//! - [`check`]: `stripe-mcp check`, the "test the connection" command.
//! - [`store`]: the one store interface (`--db`): events once, orders and their state
//!   machine, fulfillments, leased `--on-paid` runs, spending reservations, the audit trail:
//!   - [`store::orders`]: the pure parts: event parsing, the state machine, the records.
//!   - [`store::sqlite`]: the embedded backend (one file, WAL, `synchronous=FULL`).
//!   - `store::postgres`: the shared backend (`--db postgres://...`, feature `postgres`):
//!     a bounded pool, TLS by `sslmode`, timeouts, leases with `FOR UPDATE SKIP LOCKED`.
//!   - [`store::migrations`]: numbered schema versions of both, applied at open.
//!   - [`store::guard`]: spending-limit arithmetic and audit records.
//!   - [`store::cli`]: `stripe-mcp db status` / `db migrate`.
//!   - [`store::books`]: the copy of each account's balance transactions and the ranges
//!     read, so a summary fetches only what is missing or newer; [`store::books_cli`]:
//!     `stripe-mcp books sync` / `books status`.
//! - [`webhooks`]: `stripe-mcp webhooks`, the receiver of Stripe's signed events that
//!   fulfills paid checkouts exactly once:
//!   - [`webhooks::signature`]: `Stripe-Signature` verification on the raw bytes (pure).
//!   - [`webhooks::receiver`]: the axum route: bounded body read, verify, record in one
//!     store transaction, answer (2xx only after the commit).
//!   - [`webhooks::serve`]: the accept loop: connection cap, header, idle and
//!     connection-age deadlines.
//!   - [`webhooks::on_paid`]: runs `--on-paid` after the commit under a lease; retries
//!     at start-up and takes over runs whose holder died.
//! - [`transport`]: how MCP arrives besides stdio: [`transport::http`], `serve --http`
//!   (streamable HTTP in axum: `/mcp`, health, protected-resource metadata, access logs,
//!   graceful shutdown), and [`transport::routed`], the handler that serves each request
//!   on its caller's tenant.
//! - [`auth`]: who is calling a remote server (their own Stripe key, a tenant token, an
//!   OAuth JWT) and the isolated [`auth::Tenant`] (client, tools, rate limit) it yields.
//! - [`tenants`]: the tenants file (plain data) and `stripe-mcp tenants add`;
//!   [`auth::tenant`] builds a tenant from its entry.
//! - [`tools::orders`]: `get_order_status` and `list_orders` over the same store (`--db`);
//!   [`tools::audit`]: `list_audit_log` over its audit trail.
//! - [`tools::summaries`]: the books computed in the server: balance totals per
//!   currency over a period in a time zone, MRR/ARR, overdue invoices.
//! - [`tools::resources`]: MCP resources (`stripe://account`, `stripe://balance`,
//!   `stripe://objects/{id}`) and the workflow prompts.
//! - [`tools::ui`]: MCP Apps views (`ui://stripe-mcp/books`, `checkout`, `order`:
//!   self-contained HTML in `src/tools/ui/`), linked from their tools' `_meta` only for
//!   clients that declare `io.modelcontextprotocol/ui` (off with `--no-ui`).

pub mod auth;
pub mod check;
pub mod config;
pub mod egress;
pub mod error;
pub mod guard;
pub mod policy;
pub mod server;
pub mod store;
pub mod stripe;
pub mod tenants;
pub mod tools;
pub mod transport;
pub mod webhooks;

pub use tools::StripeMcp;
