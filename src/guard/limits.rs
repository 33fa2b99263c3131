//! Spending limits: a per-call maximum and a rolling 24-hour total per currency, for
//! refunds and for money taken (payment intents confirmed, checkout sessions), set by
//! `--limit` flags, a `--policy` file, or a tenant's `[tenant.limits]`.
//!
//! This module is the policy (what the caps are, parsed and checked once at start-up).
//! The tally lives in the store (`crate::store`), reserved atomically before a write is
//! sent, so that concurrent calls and several processes share one total.

use std::{collections::BTreeMap, fmt};

use serde::Deserialize;

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
