//! stripe-mcp: a Model Context Protocol server over stdio that gives an AI agent
//! real, safe Stripe tools.
//!
//! # Layout
//!
//! - [`config`]: CLI flags and environment, validated once at start-up.
//! - [`server`]: the MCP server: tool registry, identity, instructions, call entry.
//! - [`stripe`]: the thin typed Stripe REST client (auth, form encoding, retries,
//!   idempotency, errors) and the resources the tools use;
//!   [`stripe::api_index`]: every API operation, from Stripe's OpenAPI description
//!   (`stripe_api_search`, `stripe_api_details`, the generic calls' checks).
//! - [`tools`]: one file per Stripe resource with its MCP tools, the argument
//!   checks they share, list paging, and the structured tool error every
//!   failure becomes.
//! - [`egress`]: the one exit for content: every result, resource, prompt, error and
//!   confirmation question has its secrets scrubbed ([`egress::scrub`]) and, with
//!   `--redact`, its personal data masked ([`egress::pii`]).
//! - [`guard`]: what runs around every call: back-pressure on in-flight work; the guardrails:
//!   - [`guard::classify`]: what a write does (refund, take, cancel, ...), pure, shared by
//!     confirmation, limits and audit.
//!   - [`guard::confirm`]: a person confirms money movements (elicitation, or an
//!     `input_required` round with a sealed `requestState` for 2026-07-28 clients).
//!   - [`guard::limits`]: spending caps (`--limit`, `--policy`, per tenant) and the
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
//! - [`tenants`]: the tenants file and `stripe-mcp tenants add`.
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
pub mod guard;
pub mod server;
pub mod store;
pub mod stripe;
pub mod tenants;
pub mod tools;
pub mod transport;
pub mod webhooks;

pub use server::StripeMcp;
