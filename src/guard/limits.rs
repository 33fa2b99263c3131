//! Spending limits: a per-call maximum and a rolling 24-hour total per currency, for
//! refunds and for money taken (payment intents confirmed, checkout sessions), set by
//! `--limit` flags, a `--policy` file, or a tenant's `[tenant.limits]`.
//!
//! This module is the policy (what the caps are, parsed and checked once at start-up).
//! The tally lives in the store (`crate::store`), reserved atomically before a write is
//! sent, so that concurrent calls and several processes share one total.

use std::{collections::BTreeMap, fmt};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    guard::classify::{Action, ActionKind},
    store::{SpendId, SpendRequest, Store},
    stripe::{Client, currency},
    tools::{ErrorKind, ToolError},
};

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpendKind {
    /// Money given back: `create_refund`, `POST /v1/refunds`.
    Refund,
    /// Money taken: a payment intent confirmed, a checkout session's amount.
    Take,
}

impl SpendKind {
    /// The name used in flags, files, the store and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendKind::Refund => "refund",
            SpendKind::Take => "take",
        }
    }

    fn parse(s: &str) -> Option<SpendKind> {
        match s {
            "refund" | "refunds" => Some(SpendKind::Refund),
            "take" | "taken" | "charge" | "charges" => Some(SpendKind::Take),
            _ => None,
        }
    }
}

impl fmt::Display for SpendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caps of one kind in one currency, in the currency's minor unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    /// The most one call may move.
    pub per_call: Option<i64>,
    /// The most all calls together may move in any 24 hours.
    pub daily: Option<i64>,
}

/// Every cap, by kind and lowercase currency. A kind with any currency listed refuses
/// the currencies it does not list: a cap on dollars must not leave euros unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Refund caps by currency (`[refund] usd = { per_call = 5000, daily = 20000 }`).
    #[serde(default)]
    pub refund: BTreeMap<String, Cap>,
    /// Money-taken caps by currency.
    #[serde(default)]
    pub take: BTreeMap<String, Cap>,
}

/// What the policy says about one intended movement of money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No cap applies to this kind at all.
    Unlimited,
    /// Caps apply: reserve against them in the store.
    Capped(Cap),
    /// This kind is capped, but not in this currency: refuse.
    CurrencyNotAllowed {
        /// The currencies that have caps.
        allowed: Vec<String>,
    },
}

impl Limits {
    /// True when no cap is set at all.
    pub fn is_empty(&self) -> bool {
        self.refund.is_empty() && self.take.is_empty()
    }

    fn of(&self, kind: SpendKind) -> &BTreeMap<String, Cap> {
        match kind {
            SpendKind::Refund => &self.refund,
            SpendKind::Take => &self.take,
        }
    }

    fn of_mut(&mut self, kind: SpendKind) -> &mut BTreeMap<String, Cap> {
        match kind {
            SpendKind::Refund => &mut self.refund,
            SpendKind::Take => &mut self.take,
        }
    }

    /// The caps for `kind` in `currency` (lowercase).
    pub fn verdict(&self, kind: SpendKind, currency: &str) -> Verdict {
        let caps = self.of(kind);
        if caps.is_empty() {
            return Verdict::Unlimited;
        }
        match caps.get(currency) {
            Some(cap) => Verdict::Capped(*cap),
            None => Verdict::CurrencyNotAllowed {
                allowed: caps.keys().cloned().collect(),
            },
        }
    }

    /// Checks what a file or flags gave: lowercase three-letter currencies, positive
    /// amounts, at least one cap per entry.
    pub fn validate(&self) -> Result<(), String> {
        for kind in [SpendKind::Refund, SpendKind::Take] {
            for (currency, cap) in self.of(kind) {
                if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(format!(
                        "limits.{kind}.{currency}: a currency is three lowercase letters (usd, eur, jpy)"
                    ));
                }
                if cap.per_call.is_none() && cap.daily.is_none() {
                    return Err(format!(
                        "limits.{kind}.{currency}: set per_call, daily or both"
                    ));
                }
                for (name, v) in [("per_call", cap.per_call), ("daily", cap.daily)] {
                    if let Some(v) = v
                        && v < 0
                    {
                        return Err(format!(
                            "limits.{kind}.{currency}.{name} must be 0 or more (in the currency's minor unit)"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds one `--limit KIND:CURRENCY:PER_CALL:DAILY` flag (`-` for no cap), e.g.
    /// `refund:usd:5000:20000` (at most $50.00 a refund and $200.00 a day).
    pub fn add_flag(&mut self, flag: &str) -> Result<(), String> {
        let usage = "--limit takes KIND:CURRENCY:PER_CALL:DAILY in the currency's minor unit, `-` for none, e.g. refund:usd:5000:20000 or take:jpy:-:100000";
        let parts: Vec<&str> = flag.split(':').collect();
        let [kind, currency, per_call, daily] = parts[..] else {
            return Err(format!("{usage} (got {} parts)", parts.len()));
        };
        let kind = SpendKind::parse(kind)
            .ok_or_else(|| format!("{usage}: KIND is refund or take, not {kind:?}"))?;
        let amount = |s: &str| -> Result<Option<i64>, String> {
            if s == "-" || s.is_empty() {
                return Ok(None);
            }
            s.replace('_', "")
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("{usage}: {s:?} is not a whole number of minor units"))
        };
        let cap = Cap {
            per_call: amount(per_call)?,
            daily: amount(daily)?,
        };
        let mut next = self.clone();
        next.of_mut(kind).insert(currency.to_ascii_lowercase(), cap);
        next.validate()?;
        *self = next;
        Ok(())
    }
}

/// The `--policy` file: what the guardrails do beyond the flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Caps, as `[limits.refund] usd = { per_call = 5000, daily = 20000 }`.
    #[serde(default)]
    pub limits: Limits,
}

impl PolicyFile {
    /// Reads and checks a policy file.
    pub fn read(path: &std::path::Path) -> Result<PolicyFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the policy file {}: {e}", path.display()))?;
        let file: PolicyFile = toml::from_str(&text)
            .map_err(|e| format!("policy file {}: {}", path.display(), e.message()))?;
        file.limits
            .validate()
            .map_err(|e| format!("policy file {}: {e}", path.display()))?;
        Ok(file)
    }
}

/// What the limits did for one call, to settle after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Nothing reserved; the word is the audit trail's limit decision
    /// (`not_money`, `no_limit`).
    Nothing(&'static str),
    /// Reserved in the store: keep on success or an unknown outcome, release on a
    /// definite failure.
    Reserved {
        /// The reservation.
        id: SpendId,
        /// What was reserved, in minor units.
        amount: i64,
        /// Its currency.
        currency: String,
    },
}

impl Hold {
    /// The audit trail's word for this decision.
    pub fn decision(&self) -> &'static str {
        match self {
            Hold::Nothing(word) => word,
            Hold::Reserved { .. } => "within",
        }
    }

    /// The amount and currency held, for the audit trail.
    pub fn money(&self) -> Option<(i64, &str)> {
        match self {
            Hold::Reserved {
                amount, currency, ..
            } => Some((*amount, currency)),
            Hold::Nothing(_) => None,
        }
    }
}

/// The spending kind a write counts against, if any.
pub fn kind_of(action: &Action) -> Option<SpendKind> {
    match action.kind {
        ActionKind::Refund => Some(SpendKind::Refund),
        ActionKind::Take => Some(SpendKind::Take),
        // A checkout session asks for money the customer then pays: it counts as taken
        // when it is created, since the server never sees the payment itself.
        ActionKind::Write if action.tool == "initiate_checkout" => Some(SpendKind::Take),
        _ => None,
    }
}

/// Reserves this call's amount against the limits, atomically in the store, before
/// anything is sent. An amount the arguments do not give is looked up from Stripe (the
/// charge being refunded, the payment intent being confirmed, the checkout's prices);
/// one that cannot be known is refused while its kind is capped. A refusal is a
/// `limit_exceeded` tool error naming the limit, what is used and when room frees up.
pub async fn reserve(
    limits: &Limits,
    store: Option<&Store>,
    scope: &str,
    client: &Client,
    action: &Action,
    args: &Map<String, Value>,
) -> Result<Hold, ToolError> {
    let Some(kind) = kind_of(action) else {
        return Ok(Hold::Nothing("not_money"));
    };
    if limits.of(kind).is_empty() {
        return Ok(Hold::Nothing("no_limit"));
    }
    let (amount, currency) = match resolve(client, action, args).await? {
        Some(m) => m,
        None => {
            return Err(ToolError {
                kind: ErrorKind::LimitExceeded,
                hint: Some(format!(
                    "This server caps {kind} amounts, and this call does not say how much it moves. Use the dedicated tool with an explicit amount and currency (for example create_refund with amount, create_payment_intent with amount and currency)."
                )),
                ..ToolError::invalid(format!(
                    "the amount this {} would move cannot be known before sending it, and {kind} limits are set; nothing was sent to Stripe",
                    action.tool
                ))
            });
        }
    };
    let currency = currency.to_ascii_lowercase();
    let cap = match limits.verdict(kind, &currency) {
        Verdict::Unlimited => return Ok(Hold::Nothing("no_limit")),
        Verdict::Capped(cap) => cap,
        Verdict::CurrencyNotAllowed { allowed } => {
            return Err(ToolError {
                kind: ErrorKind::LimitExceeded,
                hint: Some(
                    "Only the server's operator can add a limit for this currency (--limit, the policy file, or the tenant's limits).".into(),
                ),
                limit: Some(Box::new(json!({
                    "kind": kind.as_str(), "limit": "currency", "currency": currency,
                    "allowed_currencies": allowed,
                }))),
                ..ToolError::invalid(format!(
                    "{kind} limits are set for {} only, so a {kind} in {} is not allowed; nothing was sent to Stripe",
                    allowed.join(", "),
                    currency.to_ascii_uppercase()
                ))
            });
        }
    };
    let Some(store) = store else {
        return Err(ToolError::unexpected(
            "spending limits are set but no store holds their tally (--db); nothing was sent to Stripe",
        ));
    };
    let request = SpendRequest {
        scope: scope.to_owned(),
        kind: kind.as_str().to_owned(),
        currency: currency.clone(),
        amount,
        per_call_max: cap.per_call,
        daily_max: cap.daily,
        now: crate::guard::audit::now(),
    };
    match store.reserve_spend(request).await {
        Ok(Ok(id)) => Ok(Hold::Reserved {
            id,
            amount,
            currency,
        }),
        Ok(Err(refusal)) => {
            let money = |a: i64| currency::display(a, &currency);
            let (message, hint) = if refusal.limit == "per_call" {
                (
                    format!(
                        "this {kind} of {} is over the per-call limit of {}; nothing was sent to Stripe",
                        money(amount),
                        money(refusal.max)
                    ),
                    "Tell the person asking: this server's operator set the limit, and only they can change it. Do not split the amount into smaller calls.".to_owned(),
                )
            } else {
                let frees = match refusal.frees_at {
                    Some(at) => format!(
                        " Room for this amount frees up at {} UTC, when earlier ones leave the 24-hour window.",
                        crate::guard::audit::utc_time(at)
                    ),
                    None => " This amount is larger than the whole daily limit.".into(),
                };
                (
                    format!(
                        "this {kind} of {} would pass the 24-hour limit of {} ({} already used); nothing was sent to Stripe",
                        money(amount),
                        money(refusal.max),
                        money(refusal.used)
                    ),
                    format!(
                        "Tell the person asking; only this server's operator can change the limit.{frees}"
                    ),
                )
            };
            Err(ToolError {
                kind: ErrorKind::LimitExceeded,
                retryable: refusal.frees_at.is_some(),
                hint: Some(hint),
                limit: Some(Box::new(json!({
                    "kind": kind.as_str(),
                    "limit": refusal.limit,
                    "currency": currency,
                    "requested": amount,
                    "max": refusal.max,
                    "used": refusal.used,
                    "frees_at": refusal.frees_at,
                }))),
                ..ToolError::invalid(message)
            })
        }
        Err(e) => Err(ToolError {
            kind: ErrorKind::StripeUnavailable,
            retryable: true,
            hint: Some(
                "The store that holds the spending tally is unreachable; try again in a moment."
                    .into(),
            ),
            ..ToolError::invalid(format!(
                "the spending limits could not be checked ({e}); nothing was sent to Stripe"
            ))
        }),
    }
}

/// After the call: keep the reservation on success or an unknown outcome (it may have
/// been applied), release it on a definite failure.
pub async fn settle(store: Option<&Store>, hold: &Hold, definite_failure: bool) {
    let (Some(store), Hold::Reserved { id, .. }) = (store, hold) else {
        return;
    };
    let result = if definite_failure {
        store.release_spend(*id).await
    } else {
        store.keep_spend(*id).await
    };
    if let Err(e) = result {
        // A reservation left held keeps counting: the safe side of a lost update.
        tracing::warn!(error = %e, "could not settle a spending reservation; it keeps counting");
    }
}

/// The amount and currency a money-moving call would move: from its arguments, or
/// looked up from Stripe. `None` when it cannot be known beforehand.
async fn resolve(
    client: &Client,
    action: &Action,
    args: &Map<String, Value>,
) -> Result<Option<(i64, String)>, ToolError> {
    let fail = |e| {
        ToolError::from_stripe(
            e,
            crate::tools::error::ErrorContext {
                mode: client.mode(),
                restricted_key: client.key_is_restricted(),
                idempotency_key: None,
                call: None,
            },
        )
    };
    let get = |path: String| async move { client.get::<Value>(&path, &()).await.map_err(fail) };
    let id = action.object_id.as_deref().unwrap_or_default();
    let safe =
        |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if let (Some(a), Some(c)) = (action.amount, action.currency.as_deref()) {
        return Ok(Some((a, c.to_owned())));
    }
    if action.tool == "initiate_checkout" {
        return checkout_total(client, args).await.map_err(fail);
    }
    match action.kind {
        ActionKind::Refund if safe(id) => {
            let charge = if id.starts_with("pi_") {
                let pi = get(format!("/v1/payment_intents/{id}")).await?;
                match pi.get("latest_charge").and_then(Value::as_str) {
                    Some(ch) if safe(ch) => get(format!("/v1/charges/{ch}")).await?,
                    _ => pi,
                }
            } else if id.starts_with("ch_") || id.starts_with("py_") {
                get(format!("/v1/charges/{id}")).await?
            } else {
                return Ok(None);
            };
            let Some(cur) = charge.get("currency").and_then(Value::as_str) else {
                return Ok(None);
            };
            let paid = charge
                .get("amount_received")
                .or_else(|| charge.get("amount"))
                .and_then(Value::as_i64);
            let refunded = charge
                .get("amount_refunded")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            Ok(action
                .amount
                .or(paid.map(|p| p - refunded))
                .map(|a| (a, cur.to_owned())))
        }
        ActionKind::Take if safe(id) && id.starts_with("pi_") => {
            let pi = get(format!("/v1/payment_intents/{id}")).await?;
            let cur = pi.get("currency").and_then(Value::as_str);
            let amount = action
                .amount
                .or_else(|| pi.get("amount").and_then(Value::as_i64));
            Ok(amount.zip(cur).map(|(a, c)| (a, c.to_owned())))
        }
        _ => Ok(None),
    }
}

/// The total a checkout session asks for: every line's unit amount times its quantity,
/// prices looked up where a line names one. One currency only (Stripe requires it).
async fn checkout_total(
    client: &Client,
    args: &Map<String, Value>,
) -> Result<Option<(i64, String)>, crate::stripe::Error> {
    let line = |v: &Map<String, Value>| {
        (
            v.get("price").and_then(Value::as_str).map(str::to_owned),
            v.get("unit_amount").and_then(Value::as_i64),
            v.get("currency").and_then(Value::as_str).map(str::to_owned),
            v.get("quantity").and_then(Value::as_i64).unwrap_or(1),
        )
    };
    let lines: Vec<_> = match args.get("line_items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .filter_map(Value::as_object)
            .map(line)
            .collect(),
        None => vec![line(args)],
    };
    let mut total = 0i64;
    let mut cur: Option<String> = None;
    for (price, unit, currency, quantity) in lines {
        let (unit, currency) = match (price, unit, currency) {
            (_, Some(u), Some(c)) => (u, c),
            (Some(p), _, _) if p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                let price: Value = client.get(&format!("/v1/prices/{p}"), &()).await?;
                match (
                    price.get("unit_amount").and_then(Value::as_i64),
                    price.get("currency").and_then(Value::as_str),
                ) {
                    (Some(u), Some(c)) => (u, c.to_owned()),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let currency = currency.to_ascii_lowercase();
        if cur.as_ref().is_some_and(|c| *c != currency) {
            return Ok(None);
        }
        cur = Some(currency);
        total = total.saturating_add(unit.saturating_mul(quantity));
    }
    Ok(cur.map(|c| (total, c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_sets_both_caps_and_a_dash_leaves_one_open() {
        let mut l = Limits::default();
        l.add_flag("refund:USD:5000:20000").unwrap();
        l.add_flag("take:jpy:-:100_000").unwrap();
        assert_eq!(
            l.verdict(SpendKind::Refund, "usd"),
            Verdict::Capped(Cap {
                per_call: Some(5000),
                daily: Some(20000)
            })
        );
        assert_eq!(
            l.verdict(SpendKind::Take, "jpy"),
            Verdict::Capped(Cap {
                per_call: None,
                daily: Some(100_000)
            })
        );
    }

    #[test]
    fn a_capped_kind_refuses_currencies_it_does_not_list_and_others_stay_unlimited() {
        let mut l = Limits::default();
        l.add_flag("refund:usd:5000:-").unwrap();
        assert_eq!(
            l.verdict(SpendKind::Refund, "eur"),
            Verdict::CurrencyNotAllowed {
                allowed: vec!["usd".into()]
            }
        );
        assert_eq!(l.verdict(SpendKind::Take, "eur"), Verdict::Unlimited);
    }

    #[test]
    fn malformed_flags_and_files_are_refused_with_the_reason() {
        let mut l = Limits::default();
        assert!(
            l.add_flag("refund:usd:5000")
                .unwrap_err()
                .contains("KIND:CURRENCY")
        );
        assert!(
            l.add_flag("tip:usd:1:2")
                .unwrap_err()
                .contains("refund or take")
        );
        assert!(
            l.add_flag("refund:usd:50.00:-")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(
            l.add_flag("refund:dollars:1:-")
                .unwrap_err()
                .contains("three lowercase")
        );
        assert!(
            l.add_flag("refund:usd:-:-")
                .unwrap_err()
                .contains("per_call, daily")
        );
        assert!(
            l.add_flag("refund:usd:-5:-")
                .unwrap_err()
                .contains("0 or more")
        );
        let file: Result<PolicyFile, _> =
            toml::from_str("[limits.refund]\nusd = { per_cal = 1 }\n");
        assert!(file.is_err());
        let file: PolicyFile =
            toml::from_str("[limits.refund]\nusd = { per_call = 5000, daily = 20000 }\n").unwrap();
        assert_eq!(file.limits.refund["usd"].daily, Some(20000));
    }
}
