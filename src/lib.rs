//! stripe-mcp: a Model Context Protocol server over stdio that gives an AI agent
//! real, safe Stripe tools.
//!
//! # Layout
//!
//! - [`config`]: CLI flags and environment, validated once at start-up.
//! - [`server`]: the MCP server: tool registry, identity, instructions, call entry.
//! - [`stripe`]: the thin typed Stripe REST client (auth, form encoding, retries,
//!   idempotency, errors) and the resources the tools use.
//! - [`tools`]: one file per Stripe resource with its MCP tools, and the
//!   structured tool error every failure becomes.
//! - [`check`]: `stripe-mcp check`, the "test the connection" command.

pub mod check;
pub mod config;
pub mod server;
pub mod stripe;
pub mod tools;

pub use server::StripeMcp;
