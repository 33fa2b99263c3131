//! The spending policy: a per-call maximum and a rolling 24-hour total per currency,
//! for refunds, money taken and payouts, set by `--limit` flags, a `--policy` file, or a
//! tenant's `[tenant.limits]`. Plain data, parsed and checked once at start-up; the guard
//! ([`crate::guard::limits`]) reserves against it in the store.

use std::{collections::BTreeMap, fmt};

use serde::Deserialize;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpendKind {
    /// Money given back: `create_refund`, `POST /v1/refunds`.
    Refund,
    /// Money taken: a payment intent confirmed, a checkout session's amount.
    Take,
    /// Money sent out of the balance: payouts, transfers, top-up reversals.
    Payout,
}

impl SpendKind {
    /// The name used in flags, files, the store and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendKind::Refund => "refund",
            SpendKind::Take => "take",
            SpendKind::Payout => "payout",
        }
    }

    fn parse(s: &str) -> Option<SpendKind> {
        match s {
            "refund" | "refunds" => Some(SpendKind::Refund),
            "take" | "taken" | "charge" | "charges" => Some(SpendKind::Take),
            "payout" | "payouts" | "transfer" | "transfers" => Some(SpendKind::Payout),
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
    /// Payout and transfer caps by currency.
    #[serde(default)]
    pub payout: BTreeMap<String, Cap>,
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
        self.refund.is_empty() && self.take.is_empty() && self.payout.is_empty()
    }

    /// Every kind, in a fixed order.
    pub const KINDS: [SpendKind; 3] = [SpendKind::Refund, SpendKind::Take, SpendKind::Payout];

    /// The caps of one kind, by currency.
    pub fn of(&self, kind: SpendKind) -> &BTreeMap<String, Cap> {
        match kind {
            SpendKind::Refund => &self.refund,
            SpendKind::Take => &self.take,
            SpendKind::Payout => &self.payout,
        }
    }

    fn of_mut(&mut self, kind: SpendKind) -> &mut BTreeMap<String, Cap> {
        match kind {
            SpendKind::Refund => &mut self.refund,
            SpendKind::Take => &mut self.take,
            SpendKind::Payout => &mut self.payout,
        }
    }

    /// True when `kind` has any cap.
    pub fn caps(&self, kind: SpendKind) -> bool {
        !self.of(kind).is_empty()
    }

    /// These caps combined with `other`'s: for each kind, the stricter holds. A currency
    /// capped on one side only is refused where the other side lists currencies of that
    /// kind (it allows only those), and keeps its cap where the other side has none.
    pub fn stricter(&self, other: &Limits) -> Limits {
        fn min(a: Option<i64>, b: Option<i64>) -> Option<i64> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        let mut out = Limits::default();
        for kind in Self::KINDS {
            let (a, b) = (self.of(kind), other.of(kind));
            let merged = out.of_mut(kind);
            for currency in a.keys().chain(b.keys()) {
                let cap = match (a.get(currency), b.get(currency)) {
                    (Some(x), Some(y)) => Cap {
                        per_call: min(x.per_call, y.per_call),
                        daily: min(x.daily, y.daily),
                    },
                    (Some(x), None) if b.is_empty() => *x,
                    (None, Some(y)) if a.is_empty() => *y,
                    // The other side allows only its own currencies: none of this one.
                    _ => Cap {
                        per_call: Some(0),
                        daily: Some(0),
                    },
                };
                merged.insert(currency.clone(), cap);
            }
        }
        out
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
        for kind in Self::KINDS {
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
            .ok_or_else(|| format!("{usage}: KIND is refund, take or payout, not {kind:?}"))?;
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
