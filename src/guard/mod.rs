//! What runs around a call rather than inside a tool: redaction of secrets from
//! everything that leaves the process, and the back-pressure that bounds in-flight work.

pub mod backpressure;
pub mod limits;
pub mod redact;
