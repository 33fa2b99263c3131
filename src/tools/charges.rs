//! Tools over Stripe's charges (filled in by the full-tool-surface work).

use rmcp::tool_router;

use crate::server::StripeMcp;

#[tool_router(router = charges_router, vis = "pub(crate)", allow_empty)]
impl StripeMcp {}
