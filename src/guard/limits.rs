//! Spending limits at the wire: the policy ([`crate::policy`]: what the caps are) applied
//! to one planned write. The tally lives in the store (`crate::store`), reserved atomically
//! before a write is sent, so that concurrent calls and several processes share one total.

use serde_json::json;

pub use crate::policy::{Cap, Limits, PolicyFile, SpendKind, Verdict};
use crate::{
    error::{ErrorKind, ToolError},
    store::{SpendId, SpendRequest, Store},
    stripe::currency,
};

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

/// Reserves a write's amount (decided by [`crate::guard::effects::decide`], looked up
/// where the request does not carry it) against the limits of `kind`, atomically in
/// the store, before anything is sent. An amount that cannot be known is refused while
/// its kind is capped. A refusal is a `limit_exceeded` tool error naming the limit,
/// what is used and when room frees up.
pub async fn reserve(
    limits: &Limits,
    store: Option<&Store>,
    scope: &str,
    kind: SpendKind,
    money: Option<(i64, String)>,
    what: &str,
) -> Result<Hold, ToolError> {
    if limits.of(kind).is_empty() {
        return Ok(Hold::Nothing("no_limit"));
    }
    let (amount, currency) = match money {
        Some(m) => m,
        None => {
            return Err(ToolError {
                kind: ErrorKind::LimitExceeded,
                hint: Some(format!(
                    "This server caps {kind} amounts, and what this write moves cannot be known before sending it. Use the dedicated tool with an explicit amount and currency (for example create_refund with amount, create_payment_intent with amount and currency)."
                )),
                ..ToolError::invalid(format!(
                    "the amount this write to {what} would move cannot be known before sending it, and {kind} limits are set; nothing was sent to Stripe"
                ))
            });
        }
    };
    if amount == 0 {
        return Ok(Hold::Nothing("within"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenants_caps_combine_with_the_servers_and_the_stricter_holds() {
        let mut server = Limits::default();
        server.add_flag("refund:usd:1000:5000").unwrap();
        server.add_flag("take:usd:-:100000").unwrap();
        let mut tenant = Limits::default();
        tenant.add_flag("take:usd:20000:-").unwrap();
        tenant.add_flag("take:eur:500:-").unwrap();
        tenant.add_flag("payout:usd:100:-").unwrap();
        let both = server.stricter(&tenant);
        assert_eq!(
            both.verdict(SpendKind::Refund, "usd"),
            Verdict::Capped(Cap {
                per_call: Some(1000),
                daily: Some(5000)
            }),
            "the server's refund cap survives a tenant that caps only take"
        );
        assert_eq!(
            both.verdict(SpendKind::Take, "usd"),
            Verdict::Capped(Cap {
                per_call: Some(20000),
                daily: Some(100000)
            })
        );
        assert_eq!(
            both.verdict(SpendKind::Take, "eur"),
            Verdict::Capped(Cap {
                per_call: Some(0),
                daily: Some(0)
            }),
            "the server allows take in usd only"
        );
        assert_eq!(both, tenant.stricter(&server));
    }

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
                .contains("refund, take or payout")
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
