//! A person confirms a money movement before it is sent: MCP elicitation (a form
//! whose message states the action in checkable words, looked up from Stripe first),
//! over a session (a server-to-client request with a deadline) or, for 2026-07-28
//! clients, as an `input_required` round whose sealed `requestState` carries nothing
//! but a digest of the call and an expiry, so any replica can check the answer.
//!
//! The guard wraps the call at the server's call entry: the tool body never knows.
//! Nothing is written before a person accepts; a lookup (GET) may be sent to make
//! the question checkable.

use std::time::Duration;

use rmcp::{
    RoleServer,
    model::{
        ElicitResult, ElicitationAction, InputRequiredResult, ProtocolVersion, RequestStateCodec,
        RequestStateError, SealOptions,
    },
    schemars::{self, JsonSchema},
    service::RequestContext,
};
use serde::Deserialize;

use crate::stripe;

pub use crate::config::ConfirmMode;

/// How long a person has to answer, unless `--confirm-timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The key of the one input request of an `input_required` round.
pub const INPUT_KEY: &str = "confirm";

/// Seals and opens `requestState`. The key is random per process unless the
/// operator gives one (replicas behind one URL must share it).
#[derive(Clone)]
pub struct Seal {
    /// HMAC-SHA256 over the payload, the call's digest and the expiry.
    codec: std::sync::Arc<RequestStateCodec>,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal([key hidden])")
    }
}

impl Default for Seal {
    fn default() -> Self {
        let mut key = Vec::with_capacity(32);
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Seal::with_key(&key).expect("32 random bytes make a valid key")
    }
}

impl Seal {
    /// A seal over this key (at least 32 bytes).
    pub fn with_key(key: &[u8]) -> Result<Seal, String> {
        RequestStateCodec::try_new(key.to_vec())
            .map(|c| Seal {
                codec: std::sync::Arc::new(c),
            })
            .map_err(|e| e.to_string())
    }

    /// Seals `payload`, bound to `digest` (the request it approves), valid for `ttl`.
    pub fn seal(&self, payload: &[u8], digest: &[u8], ttl: Duration) -> String {
        self.codec.seal_with(
            payload,
            &SealOptions::new().associated_data(digest).ttl(ttl),
        )
    }

    /// Opens a state sealed for `digest`, giving its payload back.
    pub fn open(&self, state: &str, digest: &[u8]) -> Result<Vec<u8>, RequestStateError> {
        self.codec.open_with(state, digest)
    }
}

/// The form a person answers: one checkbox, so an "accept" is a deliberate tick.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConfirmForm {
    /// Tick to let this happen now.
    pub confirm: bool,
}

/// Why a call was stopped before anything was written.
#[derive(Debug)]
pub enum Refusal {
    /// The person declined (`dismissed`: closed the form without choosing).
    Declined {
        /// True for `cancel`, false for `decline` or an unticked accept.
        dismissed: bool,
    },
    /// Nobody answered within the bound.
    Timeout(Duration),
    /// This client cannot be asked, and `--confirm always` says it must be.
    Unavailable(String),
    /// The echoed `requestState` is not one this server sealed for this call.
    BadState(String),
    /// An id the lookup would put in a path is malformed (the tool refuses it too).
    BadId(String),
    /// The lookup that makes the question checkable failed.
    Lookup(stripe::Error),
}

/// What the guard decided.
#[derive(Debug)]
pub enum Gate {
    /// Send the call as it is (its idempotency key unchanged).
    Proceed,
    /// Stop here and answer this refusal; nothing was written.
    Refuse(Refusal),
    /// Ask the person through an `input_required` round (2026-07-28).
    Ask(Box<InputRequiredResult>),
}

/// True when the request comes from a 2026-07-28 client: no server-to-client requests.
pub fn stateless(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28)
}

/// True when the client declared form elicitation (an empty capability means form).
pub fn can_ask(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// Accept with the box ticked proceeds; anything else is a no.
pub fn decide(answer: &ElicitResult) -> Gate {
    match answer.action {
        ElicitationAction::Accept => {
            let ticked = answer
                .content
                .as_ref()
                .and_then(|c| serde_json::from_value::<ConfirmForm>(c.clone()).ok())
                .is_some_and(|f| f.confirm);
            if ticked {
                Gate::Proceed
            } else {
                Gate::Refuse(Refusal::Declined { dismissed: false })
            }
        }
        ElicitationAction::Decline => Gate::Refuse(Refusal::Declined { dismissed: false }),
        _ => Gate::Refuse(Refusal::Declined { dismissed: true }),
    }
}

/// "2 Dec 2026" for Unix seconds (UTC).
pub fn date(unix: i64) -> String {
    // Howard Hinnant's days-to-civil.
    let z = unix.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{day} {} {year}", NAMES[(month - 1) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_day_month_year_in_utc() {
        assert_eq!(date(0), "1 Jan 1970");
        assert_eq!(date(1_796_169_600), "2 Dec 2026");
        assert_eq!(date(951_782_400), "29 Feb 2000");
        assert_eq!(date(-86_400), "31 Dec 1969");
    }

    #[test]
    fn only_a_ticked_accept_proceeds() {
        let answer = |action, content: Option<serde_json::Value>| match content {
            Some(c) => ElicitResult::new(action).with_content(c),
            None => ElicitResult::new(action),
        };
        assert!(matches!(
            decide(&answer(
                ElicitationAction::Accept,
                Some(serde_json::json!({"confirm": true}))
            )),
            Gate::Proceed
        ));
        for (a, c, dismissed) in [
            (
                ElicitationAction::Accept,
                Some(serde_json::json!({"confirm": false})),
                false,
            ),
            (ElicitationAction::Accept, None, false),
            (ElicitationAction::Decline, None, false),
            (ElicitationAction::Cancel, None, true),
        ] {
            match decide(&answer(a, c)) {
                Gate::Refuse(Refusal::Declined { dismissed: d }) => assert_eq!(d, dismissed),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_sealed_state_opens_only_for_the_same_digest_and_gives_its_payload_back() {
        let seal = Seal::default();
        let state = seal.seal(b"sealed:k1", b"request-1", Duration::from_secs(60));
        assert_eq!(seal.open(&state, b"request-1").unwrap(), b"sealed:k1");
        assert!(seal.open(&state, b"request-2").is_err());
        assert!(
            Seal::default().open(&state, b"request-1").is_err(),
            "another key does not open it"
        );
    }

    #[test]
    fn the_seal_never_prints_its_key() {
        assert_eq!(format!("{:?}", Seal::default()), "Seal([key hidden])");
    }
}
