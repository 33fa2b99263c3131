//! Stripe payment intents: typed params and objects (filled in by the full-tool-surface work).
