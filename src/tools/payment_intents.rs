//! Tools over Stripe's payment intents (filled in by the full-tool-surface work).

use rmcp::tool_router;

use crate::server::StripeMcp;

#[tool_router(router = payment_intents_router, vis = "pub(crate)", allow_empty)]
impl StripeMcp {}
