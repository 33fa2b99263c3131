//! Tools over Stripe's account (filled in by the full-tool-surface work).

use rmcp::tool_router;

use crate::server::StripeMcp;

#[tool_router(router = account_router, vis = "pub(crate)", allow_empty)]
impl StripeMcp {}
