//! The one place every write passes: a tool hands its planned request to [`pass`], which
//! decides what it does from the request itself ([`super::effects`]: method and path,
//! never the tool's name), asks a person when policy says so, reserves its amount
//! against the limits, writes its audit row, and only then makes the [`Approved`]
//! request the client can send. [`Passage::settle`] completes the row and the
//! reservation with what Stripe answered.
//!
//! The call's MCP context (to ask a person, and the 2026-07-28 `requestState` and
//! answers echoed back) rides with the call in [`CALL`], set by the server's call entry.

use std::sync::{Arc, Mutex};

use rmcp::{
    RoleServer,
    model::{
        ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationSchema, InputRequest,
        InputRequiredResult, InputResponses, RequestStateError,
    },
    service::{RequestContext, ServiceError},
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    GuardSettings,
    confirm::{self, ConfirmForm, ConfirmMode, Gate, INPUT_KEY, Refusal},
    effects::{self, Decision, Kind},
    limits::{self, Hold, SpendKind},
    question,
};
use crate::{
    error::{ErrorContext, ErrorKind, ToolError},
    store::{AuditEntry, AuditId, AuditOutcome, Store},
    stripe::{self, Approved, Client, Planned},
};

/// What the server's call entry tells the guard about one tool call.
pub struct CallFrame {
    /// The MCP request: to ask the person (elicitation) and read the protocol version.
    pub context: RequestContext<RoleServer>,
    /// The 2026-07-28 `requestState` echoed back, if any.
    pub request_state: Option<String>,
    /// The 2026-07-28 answers echoed back, if any.
    pub input_responses: Option<InputResponses>,
    /// Who is calling (an OAuth subject or a key fingerprint), where known.
    pub caller: Option<String>,
    /// Set when the guard answers with an `input_required` round instead.
    pub asked: Mutex<Option<InputRequiredResult>>,
    /// True once this call's sealed confirmation has approved a request: it approves one.
    pub state_used: Mutex<bool>,
    /// Time spent waiting for a person (done, and since when for one in progress): a
    /// call's deadline does not count it.
    pub waiting: Mutex<(std::time::Duration, Option<std::time::Instant>)>,
}

impl CallFrame {
    /// A frame for one call.
    pub fn new(
        context: RequestContext<RoleServer>,
        request_state: Option<String>,
        input_responses: Option<InputResponses>,
        caller: Option<String>,
    ) -> CallFrame {
        CallFrame {
            context,
            request_state,
            input_responses,
            caller,
            asked: Mutex::default(),
            state_used: Mutex::default(),
            waiting: Mutex::default(),
        }
    }

    /// How long this call has waited for a person so far.
    pub fn waited(&self) -> std::time::Duration {
        let w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        w.0 + w.1.map(|since| since.elapsed()).unwrap_or_default()
    }

    fn wait(&self, on: bool) {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match (on, w.1.take()) {
            (true, _) => w.1 = Some(std::time::Instant::now()),
            (false, Some(since)) => w.0 += since.elapsed(),
            (false, None) => {}
        }
    }
}

tokio::task_local! {
    /// The current tool call, set by the server around it.
    pub static CALL: Arc<CallFrame>;
}

/// The error a tool returns when the guard asked the person through an `input_required`
/// round: the server answers with [`CallFrame::asked`] instead.
pub const ASKED: &str = "a person's confirmation was asked (input_required)";

/// A write let through: the approved request, its reservation and its audit row.
pub struct Passage {
    /// The request to send.
    pub approved: Approved,
    /// What the limits hold for it.
    hold: Hold,
    /// Its audit row.
    audit: Option<AuditId>,
    /// The store both live in.
    store: Option<Store>,
    /// What the guards decided it does.
    pub decision: Decision,
}

fn stripe_error(client: &Client, err: stripe::Error) -> ToolError {
    ToolError::from_stripe(
        err,
        ErrorContext {
            mode: client.mode(),
            restricted_key: client.key_is_restricted(),
            idempotency_key: None,
            call: None,
        },
    )
}

/// What binds a sealed confirmation: the exact request (method, path, params, account),
/// the caller's own idempotency key if any, and the tenant.
fn digest(planned: &Planned, tenant: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [
        tenant,
        planned.method.as_str(),
        &planned.path,
        planned.account.as_deref().unwrap_or("-"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(Value::Object(planned.params.clone()).to_string().as_bytes());
    h.update([0]);
    if !planned.idempotency_key.is_derived() {
        h.update(planned.idempotency_key.as_str().as_bytes());
    }
    h.finalize().to_vec()
}

/// The audit trail's confirmation word for a refusal.
fn refusal_word(r: &Refusal) -> &'static str {
    match r {
        Refusal::Declined { .. } => "declined",
        Refusal::Timeout(_) => "timeout",
        Refusal::Unavailable(_) => "unavailable",
        Refusal::BadState(_) | Refusal::BadId(_) | Refusal::Lookup(_) => "declined",
    }
}

/// Decides on `planned` and, when it may go, approves it. A refusal is the tool's error
/// (nothing sent); an `input_required` round is [`ASKED`] with the round in [`CALL`].
pub async fn pass(
    client: &Client,
    guard: &GuardSettings,
    store: Option<&Store>,
    planned: Planned,
) -> Result<Passage, ToolError> {
    let frame = CALL.try_with(Clone::clone).ok();
    let caller = frame.as_ref().and_then(|f| f.caller.clone());
    let first = effects::classify(&planned);
    let spend = spend_kind(first.kind);
    // Facts are looked up for a question only when one will be asked now.
    let asks = guard.confirm != ConfirmMode::Never
        && first.kind.needs_confirmation()
        && frame.as_deref().is_some_and(|f| {
            confirm::can_ask(&f.context)
                && !(confirm::stateless(&f.context) && f.request_state.is_some())
        });
    let capped = match spend {
        Some(k) => guard.limits.caps(k),
        None => first.kind == Kind::Unknown && !guard.limits.is_empty(),
    };
    let record = Record {
        guard,
        store,
        planned: &planned,
        caller: caller.clone(),
    };
    if first.kind == Kind::Unknown && !guard.limits.is_empty() {
        let error = ToolError {
            kind: ErrorKind::LimitExceeded,
            hint: Some("This server has spending caps, so it refuses writes to Stripe paths it does not know (their effect cannot be counted). Use a typed tool, or ask the operator.".into()),
            ..ToolError::invalid(format!(
                "{} {} is not a Stripe operation this server knows, and spending limits are set; nothing was sent to Stripe",
                planned.method.as_str(),
                planned.path
            ))
        };
        record
            .stopped(&first, "not_needed", "exceeded", &error)
            .await;
        return Err(error);
    }
    let decision = match effects::decide(client, &planned, asks || capped).await {
        Ok(d) => d,
        Err(e) => return Err(stripe_error(client, e)),
    };
    // A person confirms.
    let (planned, confirmation) =
        match confirm_step(client, guard, frame.as_deref(), &decision, planned).await {
            Ok(v) => v,
            Err((refusal, planned)) => {
                let word = refusal_word(&refusal);
                let error = refusal_error(client, refusal, &decision, &planned);
                if error.message != ASKED {
                    Record {
                        guard,
                        store,
                        planned: &planned,
                        caller,
                    }
                    .stopped(&decision, word, "not_checked", &error)
                    .await;
                }
                return Err(error);
            }
        };
    let record = Record {
        guard,
        store,
        planned: &planned,
        caller,
    };
    // The limits reserve.
    let hold = match spend {
        Some(kind) if capped => {
            match limits::reserve(
                &guard.limits,
                store,
                &guard.scope,
                kind,
                decision.amount.zip(decision.currency.clone()),
                &planned.path,
            )
            .await
            {
                Ok(hold) => hold,
                Err(mut error) => {
                    if !planned.idempotency_key.is_derived() {
                        error.idempotency_key = Some(planned.idempotency_key.as_str().to_owned());
                    }
                    let decided = if error.kind == ErrorKind::LimitExceeded {
                        "exceeded"
                    } else {
                        "not_checked"
                    };
                    record
                        .stopped(&decision, confirmation, decided, &error)
                        .await;
                    return Err(error);
                }
            }
        }
        Some(_) => Hold::Nothing("no_limit"),
        None => Hold::Nothing("not_money"),
    };
    // The key that will be sent is fixed now, so the row names it.
    let sent_key = client.fix_key(&planned);
    let audit = match store {
        None => None,
        Some(store) => {
            let entry = record.entry(&decision, confirmation, hold.decision(), Some(sent_key));
            match store.audit_begin(entry).await {
                Ok(id) => Some(id),
                Err(e) => {
                    limits::settle(Some(store), &hold, true).await;
                    return Err(ToolError {
                        kind: ErrorKind::StripeUnavailable,
                        retryable: true,
                        hint: Some("The store that keeps the audit trail is unreachable; try again in a moment.".into()),
                        ..ToolError::invalid(format!(
                            "the audit trail could not record this write ({e}); nothing was sent to Stripe"
                        ))
                    });
                }
            }
        }
    };
    tracing::info!(
        kind = decision.kind.as_str(),
        method = planned.method.as_str(),
        path = %planned.path,
        confirmation,
        limit = hold.decision(),
        "write approved"
    );
    Ok(Passage {
        approved: Approved::by_guard(planned),
        hold,
        audit,
        store: store.cloned(),
        decision,
    })
}

impl Passage {
    /// After sending: keep the reservation unless Stripe definitely refused, and
    /// complete the audit row with the outcome.
    pub async fn settle(self, result: Result<&Value, &ToolError>) {
        let outcome = match result {
            Ok(body) => AuditOutcome {
                outcome: "succeeded".into(),
                http_status: Some(200),
                request_id: None,
                object_id: body.get("id").and_then(Value::as_str).map(str::to_owned),
                error: None,
            },
            Err(mapped) => {
                let kind = serde_json::to_value(mapped.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".into());
                let definite = super::audit::definite_failure(&kind);
                AuditOutcome {
                    outcome: if definite { "failed" } else { "unknown" }.into(),
                    http_status: mapped.http_status,
                    request_id: mapped.request_id.clone(),
                    object_id: None,
                    error: Some(kind),
                }
            }
        };
        let failed = outcome.outcome == "failed";
        let store = self.store.as_ref();
        limits::settle(store, &self.hold, failed).await;
        if let (Some(store), Some(id)) = (store, self.audit)
            && let Err(e) = store.audit_finish(id, outcome).await
        {
            tracing::warn!(error = %e, "could not complete an audit row; it stays \"unknown\"");
        }
    }
}

/// The spending kind a write counts against.
pub fn spend_kind(kind: Kind) -> Option<SpendKind> {
    match kind {
        Kind::Refund => Some(SpendKind::Refund),
        Kind::Take => Some(SpendKind::Take),
        Kind::Payout => Some(SpendKind::Payout),
        _ => None,
    }
}

/// What an audit row needs besides the decision.
struct Record<'a> {
    guard: &'a GuardSettings,
    store: Option<&'a Store>,
    planned: &'a Planned,
    caller: Option<String>,
}

impl Record<'_> {
    fn entry(
        &self,
        d: &Decision,
        confirmation: &str,
        limit: &str,
        key: Option<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: super::audit::now(),
            tenant: self.guard.scope.clone(),
            tool: CALL_TOOL.try_with(Clone::clone).unwrap_or_default(),
            method: self.planned.method.as_str().to_owned(),
            path: self.planned.path.clone(),
            amount: d.amount,
            currency: d.currency.clone(),
            object_id: d.object_id.clone(),
            idempotency_key: key,
            confirmation: confirmation.to_owned(),
            limit_decision: limit.to_owned(),
            account: self.planned.account.clone(),
            caller: self.caller.clone(),
        }
    }

    /// Records a write stopped before sending (declined, timed out, over a limit).
    async fn stopped(&self, d: &Decision, confirmation: &str, limit: &str, error: &ToolError) {
        let Some(store) = self.store else {
            return;
        };
        let given = (!self.planned.idempotency_key.is_derived())
            .then(|| self.planned.idempotency_key.as_str().to_owned());
        let entry = self.entry(d, confirmation, limit, given);
        let outcome = AuditOutcome {
            outcome: "refused".into(),
            http_status: None,
            request_id: None,
            object_id: None,
            error: serde_json::to_value(error.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
        };
        let recorded = match store.audit_begin(entry).await {
            Ok(id) => store.audit_finish(id, outcome).await,
            Err(e) => Err(e),
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record a refused write in the audit trail");
        }
    }
}

tokio::task_local! {
    /// The MCP tool being called, for the audit trail's `tool` column.
    pub static CALL_TOOL: String;
}

/// Runs the confirmation: `Ok` with the request to send (its key bound by a sealed
/// confirmation) and the audit word, or the refusal.
async fn confirm_step(
    client: &Client,
    guard: &GuardSettings,
    frame: Option<&CallFrame>,
    d: &Decision,
    planned: Planned,
) -> Result<(Planned, &'static str), (Refusal, Planned)> {
    let _ = client;
    if guard.confirm == ConfirmMode::Never || !d.kind.needs_confirmation() {
        return Ok((planned, "not_needed"));
    }
    let Some(frame) = frame else {
        // No MCP call around this write (a library caller): nobody can be asked.
        return match guard.confirm {
            ConfirmMode::Always => Err((
                Refusal::Unavailable("no MCP client is there to ask".into()),
                planned,
            )),
            _ => Ok((planned, "unavailable")),
        };
    };
    let context = &frame.context;
    let stateless = confirm::stateless(context);
    let digest = digest(&planned, &guard.scope);
    if stateless && let Some(state) = &frame.request_state {
        {
            let mut used = frame.state_used.lock().unwrap_or_else(|e| e.into_inner());
            if *used {
                return Err((
                    Refusal::BadState("one confirmation approves one request".into()),
                    planned,
                ));
            }
            *used = true;
        }
        return match guard.seal.open(state, &digest) {
            Err(RequestStateError::Expired) => {
                Err((Refusal::Timeout(guard.confirm_timeout), planned))
            }
            Err(e) => Err((Refusal::BadState(e.to_string()), planned)),
            Ok(payload) => {
                let answer = frame
                    .input_responses
                    .as_ref()
                    .and_then(|r| r.get(INPUT_KEY))
                    .map(|v| serde_json::from_value::<ElicitResult>(v.clone()));
                let gate = match answer {
                    Some(Ok(answer)) => confirm::decide(&answer),
                    Some(Err(e)) => Gate::Refuse(Refusal::BadState(format!(
                        "the answer to the confirmation is not an elicitation result: {e}"
                    ))),
                    None => Gate::Refuse(Refusal::BadState(
                        "requestState came back without an answer to the confirmation".into(),
                    )),
                };
                match gate {
                    Gate::Refuse(r) => Err((r, planned)),
                    _ => {
                        // The key sealed with the question: replaying this state can
                        // only replay the write Stripe already has.
                        let key = String::from_utf8(payload).unwrap_or_default();
                        if let Some(k) = key.strip_prefix("sealed:").filter(|k| !k.is_empty())
                            && !planned.idempotency_key.seal(k.to_owned())
                        {
                            return Err((
                                Refusal::BadState(
                                    "the request's idempotency key was already fixed".into(),
                                ),
                                planned,
                            ));
                        }
                        Ok((planned, "confirmed"))
                    }
                }
            }
        };
    }
    if !confirm::can_ask(context) {
        return match guard.confirm {
            ConfirmMode::Always => Err((
                Refusal::Unavailable(
                    "this MCP client did not declare the elicitation (form) capability, so nobody can be asked".into(),
                ),
                planned,
            )),
            _ => Ok((planned, "unavailable")),
        };
    }
    // The question leaves through the one exit, like every answer.
    let message = crate::egress::Egress::new(guard.redact).question(&question::ask(&planned, d));
    let schema = match ElicitationSchema::from_type::<ConfirmForm>() {
        Ok(s) => s,
        Err(e) => {
            return Err((Refusal::Unavailable(format!("the form: {e}")), planned));
        }
    };
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    };
    if stateless {
        // The key this request will be sent with is sealed into the state.
        let payload = if planned.idempotency_key.is_derived() {
            format!("sealed:stripe-mcp-{}", uuid::Uuid::new_v4())
        } else {
            "given".to_owned()
        };
        let state = guard
            .seal
            .seal(payload.as_bytes(), &digest, guard.confirm_timeout);
        let requests = [(
            INPUT_KEY.to_owned(),
            InputRequest::Elicitation(ElicitRequest::new(params)),
        )]
        .into_iter()
        .collect();
        *frame.asked.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(InputRequiredResult::new(Some(requests), Some(state)));
        return Err((Refusal::BadState(ASKED.into()), planned));
    }
    frame.wait(true);
    let answer = context
        .peer
        .create_elicitation_with_timeout(params, Some(guard.confirm_timeout))
        .await;
    frame.wait(false);
    match answer {
        Ok(answer) => match confirm::decide(&answer) {
            Gate::Refuse(r) => Err((r, planned)),
            _ => Ok((planned, "confirmed")),
        },
        Err(ServiceError::Timeout { .. }) => {
            Err((Refusal::Timeout(guard.confirm_timeout), planned))
        }
        Err(e) => Err((
            Refusal::Unavailable(format!("the client did not answer the confirmation: {e}")),
            planned,
        )),
    }
}

/// The structured error of a write the confirmation stopped; nothing was written.
fn refusal_error(client: &Client, refusal: Refusal, d: &Decision, planned: &Planned) -> ToolError {
    let what = d.kind.as_str();
    let mut error = match refusal {
        Refusal::Declined { dismissed } => ToolError {
            kind: ErrorKind::DeclinedByUser,
            hint: Some("The person asked did not approve this; do not retry it unless they ask you to. Ask them what they want instead.".into()),
            ..ToolError::invalid(if dismissed {
                format!("the person asked to confirm this {what} closed the form without approving it; nothing was sent to Stripe")
            } else {
                format!("the person asked to confirm this {what} declined it; nothing was sent to Stripe")
            })
        },
        Refusal::Timeout(bound) => ToolError {
            kind: ErrorKind::ConfirmationTimeout,
            retryable: true,
            hint: Some("Tell the person a confirmation is waiting for them, then call again with the same arguments (and idempotency_key) when they are ready.".into()),
            ..ToolError::invalid(format!(
                "nobody confirmed this {what} within {} s; nothing was sent to Stripe",
                bound.as_secs()
            ))
        },
        Refusal::Unavailable(why) => ToolError {
            kind: ErrorKind::ConfirmationUnavailable,
            hint: Some("This server asks a person before moving money (--confirm always). Use an MCP client that supports elicitation (forms), or have the operator restart the server with --confirm auto (ask when the client can) or --confirm never.".into()),
            ..ToolError::invalid(format!(
                "this {what} needs a person's confirmation and {why}; nothing was sent to Stripe"
            ))
        },
        Refusal::BadState(why) if why == ASKED => ToolError::invalid(ASKED),
        Refusal::BadState(why) => ToolError::invalid(format!(
            "the confirmation could not be checked ({why}); nothing was sent to Stripe"
        ))
        .with_hint("Call the tool again without requestState or inputResponses: the server asks again."),
        Refusal::BadId(why) => ToolError::invalid(why),
        Refusal::Lookup(err) => stripe_error(client, err),
    };
    if !planned.idempotency_key.is_derived() {
        error.idempotency_key = Some(planned.idempotency_key.as_str().to_owned());
    }
    error
}
