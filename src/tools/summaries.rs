//! The books, computed in the server: `summarize_balance_transactions` (what came in
//! and went out, per currency), `summarize_subscriptions` (MRR and ARR) and
//! `list_overdue_invoices`, so that an agent answers "what did we take this month?"
//! without paging thousands of objects through its own context.
//!
//! Every figure is integer minor units; MRR is summed as exact fractions and rounded
//! once per currency. Each scan pages through Stripe up to a bound it states, sends
//! progress notifications when asked, and stops when the client cancels.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use rmcp::{
    Json, RoleServer,
    handler::server::wrapper::Parameters,
    model::{ProgressNotificationParam, ProgressToken},
    schemars::{self, JsonSchema},
    service::RequestContext,
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{Money, ToolError, check_id};
use crate::{
    store::books::{self, BookTxn},
    stripe::{
        List, currency,
        slices::{self, Listed, Progress, SliceError},
    },
    tools::StripeMcp,
};

/// The most balance transactions one summary reads (500 pages).
pub const MAX_TRANSACTIONS: u64 = 50_000;
/// The most subscriptions one summary reads.
pub const MAX_SUBSCRIPTIONS: u64 = 10_000;
/// The most open, past-due invoices one call reads before sorting them.
pub const MAX_OVERDUE_SCAN: u64 = 5_000;
/// The longest period one balance summary covers, in days.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// How to split a balance summary over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One entry per calendar day in the time zone.
    Day,
    /// One entry per ISO week (Monday to Sunday) in the time zone.
    Week,
}

/// Arguments of `summarize_balance_transactions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummarizeBalanceArgs {
    /// First day, YYYY-MM-DD, inclusive.
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD, inclusive. Default: today.
    pub to: Option<String>,
    /// Instead of from/to: today and the days before it.
    #[schemars(range(min = 1, max = 366))]
    pub last_days: Option<i64>,
    /// IANA zone the days are in, e.g. "Europe/Berlin". Default UTC.
    pub time_zone: Option<String>,
    /// Only this currency, e.g. "usd".
    pub currency: Option<String>,
    /// Also split the totals by day or week.
    pub group_by: Option<GroupBy>,
}

/// One category's total and how many transactions made it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Figure {
    /// The sum, signed as Stripe signs it (refunds and payouts are negative).
    pub total: Money,
    /// How many transactions.
    pub count: u64,
}

/// One currency's totals over a period.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CurrencyTotals {
    /// Lowercase ISO code.
    pub currency: String,
    /// Gross charges and payments.
    pub charges: Figure,
    /// Refunds (negative) and failed refunds returning funds.
    pub refunds: Figure,
    /// Disputes withdrawn and reinstated.
    pub disputes: Figure,
    /// Stripe fees paid: the fees on every transaction plus separate fee transactions; positive.
    pub fees: Figure,
    /// Everything else: adjustments, transfers, top-ups, reserves, ...
    pub adjustments: Figure,
    /// Payouts to the bank (negative) and their reversals.
    pub payouts: Figure,
    /// What the merchant kept: charges + refunds + disputes + adjustments - fees.
    pub net_before_payouts: Money,
    /// The balance's change: net_before_payouts + payouts, equal to the sum of every transaction's net.
    pub net: Money,
    /// Transactions in this currency.
    pub transactions: u64,
}

/// The totals of one day or week.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PeriodTotals {
    /// The day, or the Monday of the week, YYYY-MM-DD.
    pub start: String,
    /// Per currency.
    pub totals: Vec<CurrencyTotals>,
}

/// What `summarize_balance_transactions` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SummarizeBalanceOutput {
    /// Start of the period (inclusive), RFC 3339 in the time zone.
    pub from: String,
    /// End of the period (exclusive), RFC 3339 in the time zone.
    pub to: String,
    /// The IANA time zone the days are counted in.
    pub time_zone: String,
    /// Per currency, over the whole period.
    pub totals: Vec<CurrencyTotals>,
    /// Per day or week, oldest first, when group_by was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_period: Option<Vec<PeriodTotals>>,
    /// Every transaction in the period was read; this many were counted.
    pub transactions: u64,
    /// Transactions Stripe returned from outside the period, not counted: the server
    /// re-checks its own window whatever the upstream's filter did.
    pub dropped_outside_period: u64,
    /// The bound on transactions read; a longer period is refused, not cut short.
    pub max_transactions: u64,
    /// How the figures add up.
    pub note: String,
}

/// The fields of a balance transaction a summary needs: exactly what the store keeps.
type Txn = BookTxn;

/// Which total a transaction belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Charges,
    Refunds,
    Disputes,
    Fees,
    Adjustments,
    Payouts,
}

fn categorize(t: &Txn) -> Category {
    let source_is_dispute = t.source.as_deref().is_some_and(books::is_dispute);
    match t.reporting_category.as_deref() {
        Some("charge") => return Category::Charges,
        Some("refund" | "refund_failure") => return Category::Refunds,
        Some("dispute" | "dispute_reversal") => return Category::Disputes,
        Some("fee") => return Category::Fees,
        Some("payout" | "payout_reversal") => return Category::Payouts,
        Some(_) if !source_is_dispute => return Category::Adjustments,
        _ => {}
    }
    match t.kind.as_deref().unwrap_or("") {
        "charge" | "payment" => Category::Charges,
        "refund" | "payment_refund" | "refund_failure" | "payment_failure_refund" => {
            Category::Refunds
        }
        "issuing_dispute" => Category::Disputes,
        "adjustment" if source_is_dispute => Category::Disputes,
        "stripe_fee" | "stripe_fx_fee" | "tax_fee" => Category::Fees,
        "payout" | "payout_cancel" | "payout_failure" => Category::Payouts,
        _ => Category::Adjustments,
    }
}

/// Running sums of one currency, in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sums {
    charges: (i64, u64),
    refunds: (i64, u64),
    disputes: (i64, u64),
    /// Fee transactions' amounts (negative when paid) and their count.
    fee_transactions: (i64, u64),
    adjustments: (i64, u64),
    payouts: (i64, u64),
    /// The `fee` field over all transactions.
    fees_on_transactions: i64,
    net: i64,
    transactions: u64,
}

impl Sums {
    fn add(&mut self, t: &Txn) -> Result<(), ToolError> {
        let overflow =
            || ToolError::unexpected("a total overflowed 64 bits: Stripe sent implausible amounts");
        let slot = match categorize(t) {
            Category::Charges => &mut self.charges,
            Category::Refunds => &mut self.refunds,
            Category::Disputes => &mut self.disputes,
            Category::Fees => &mut self.fee_transactions,
            Category::Adjustments => &mut self.adjustments,
            Category::Payouts => &mut self.payouts,
        };
        slot.0 = slot.0.checked_add(t.amount).ok_or_else(overflow)?;
        slot.1 += 1;
        self.fees_on_transactions = self
            .fees_on_transactions
            .checked_add(t.fee)
            .ok_or_else(overflow)?;
        self.net = self.net.checked_add(t.net).ok_or_else(overflow)?;
        self.transactions += 1;
        Ok(())
    }

    fn output(&self, c: &str) -> CurrencyTotals {
        let fig = |(total, count): (i64, u64)| Figure {
            total: Money::new(total, c),
            count,
        };
        // Fees paid, positive: the fee on each transaction, plus fee transactions
        // (which Stripe books as negative amounts).
        let fees = self.fees_on_transactions - self.fee_transactions.0;
        CurrencyTotals {
            currency: c.to_owned(),
            charges: fig(self.charges),
            refunds: fig(self.refunds),
            disputes: fig(self.disputes),
            fees: fig((fees, self.fee_transactions.1)),
            adjustments: fig(self.adjustments),
            payouts: fig(self.payouts),
            net_before_payouts: Money::new(self.net - self.payouts.0, c),
            net: Money::new(self.net, c),
            transactions: self.transactions,
        }
    }
}

/// A checked balance-summary request.
#[derive(Debug, Clone, PartialEq)]
struct Period {
    /// Unix seconds, inclusive.
    start: i64,
    /// Unix seconds, exclusive.
    end: i64,
    tz: TimeZone,
    tz_name: String,
    currency: Option<String>,
    group_by: Option<GroupBy>,
}

fn parse_day(field: &str, raw: &str) -> Result<Date, ToolError> {
    raw.parse::<Date>().map_err(|_| {
        ToolError::invalid(format!("{field} {raw:?} is not a date like 2026-11-30"))
            .with_hint("Dates are YYYY-MM-DD, in time_zone (default UTC).")
    })
}

fn start_of(day: Date, tz: &TimeZone) -> Result<i64, ToolError> {
    day.to_zoned(tz.clone())
        .map(|z| z.timestamp().as_second())
        .map_err(|e| ToolError::invalid(format!("{day} cannot be placed in the time zone: {e}")))
}

/// Validates the arguments into a period of whole days in a time zone; `now` is a seam.
fn build_period(args: SummarizeBalanceArgs, now: Timestamp) -> Result<Period, ToolError> {
    let tz_name = args.time_zone.unwrap_or_else(|| "UTC".to_owned());
    let tz = TimeZone::get(&tz_name).map_err(|_| {
        ToolError::invalid(format!("time_zone {tz_name:?} is not an IANA time zone"))
            .with_hint("Use a name like UTC, Europe/Berlin or America/New_York.")
    })?;
    let today = now.to_zoned(tz.clone()).date();
    let (first, last) = match (args.last_days, args.from, args.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ToolError::invalid(
                "give either last_days or from/to, not both",
            ));
        }
        (Some(n), None, None) => {
            if !(1..=MAX_PERIOD_DAYS).contains(&n) {
                return Err(ToolError::invalid(format!(
                    "last_days must be between 1 and {MAX_PERIOD_DAYS}, got {n}"
                )));
            }
            let first = today
                .checked_sub((n - 1).days())
                .map_err(|e| ToolError::invalid(format!("last_days {n}: {e}")))?;
            (first, today)
        }
        (None, Some(from), to) => {
            let first = parse_day("from", &from)?;
            let last = match to {
                Some(to) => parse_day("to", &to)?,
                None => today,
            };
            (first, last)
        }
        (None, None, Some(_)) => {
            return Err(ToolError::invalid(
                "to needs from: give the period's first day too",
            ));
        }
        (None, None, None) => {
            return Err(ToolError::invalid(
                "no period: give from (and optionally to) as YYYY-MM-DD, or last_days",
            )
            .with_hint("For this month so far: from = the 1st of the month. For the last week: last_days = 7."));
        }
    };
    if first > last {
        return Err(ToolError::invalid(format!(
            "from {first} is after to {last}"
        )));
    }
    let days = first.until(last).map(|s| s.get_days()).unwrap_or(0) as i64 + 1;
    if days > MAX_PERIOD_DAYS {
        return Err(ToolError::invalid(format!(
            "the period is {days} days; one summary covers at most {MAX_PERIOD_DAYS}"
        ))
        .with_hint("Summarize one year or less at a time and add the figures."));
    }
    let next = last
        .checked_add(1.days())
        .map_err(|e| ToolError::invalid(format!("to {last}: {e}")))?;
    let currency = args
        .currency
        .map(|c| currency::parse_currency(&c).map_err(ToolError::invalid))
        .transpose()?;
    Ok(Period {
        start: start_of(first, &tz)?,
        end: start_of(next, &tz)?,
        tz,
        tz_name,
        currency,
        group_by: args.group_by,
    })
}

/// The day or Monday a transaction's time falls on, in the time zone.
fn bucket(created: i64, tz: &TimeZone, group_by: GroupBy) -> String {
    let day = Timestamp::from_second(created)
        .map(|t| t.to_zoned(tz.clone()).date())
        .unwrap_or_default();
    let day = match group_by {
        GroupBy::Day => day,
        GroupBy::Week => day
            .checked_sub(i64::from(day.weekday().to_monday_zero_offset()).days())
            .unwrap_or(day),
    };
    day.to_string()
}

/// Sums transactions into totals per currency and, with `group_by`, per day or week.
#[derive(Debug, Default)]
struct Books {
    totals: BTreeMap<String, Sums>,
    periods: BTreeMap<String, BTreeMap<String, Sums>>,
    /// Transactions outside the period, not counted.
    dropped: u64,
}

impl Books {
    fn add(&mut self, t: &Txn, period: &Period) -> Result<(), ToolError> {
        if !(period.start..period.end).contains(&t.created) {
            self.dropped += 1;
            return Ok(());
        }
        self.totals.entry(t.currency.clone()).or_default().add(t)?;
        if let Some(g) = period.group_by {
            self.periods
                .entry(bucket(t.created, &period.tz, g))
                .or_default()
                .entry(t.currency.clone())
                .or_default()
                .add(t)?;
        }
        Ok(())
    }

    fn output(self, period: &Period, transactions: u64) -> SummarizeBalanceOutput {
        let rfc = |s: i64| {
            Timestamp::from_second(s)
                .map(|t| {
                    t.to_zoned(period.tz.clone())
                        .strftime("%Y-%m-%dT%H:%M:%S%:z")
                        .to_string()
                })
                .unwrap_or_default()
        };
        let per_currency = |m: BTreeMap<String, Sums>| {
            m.into_iter().map(|(c, s)| s.output(&c)).collect::<Vec<_>>()
        };
        SummarizeBalanceOutput {
            from: rfc(period.start),
            to: rfc(period.end),
            time_zone: period.tz_name.clone(),
            by_period: period.group_by.map(|_| {
                self.periods
                    .into_iter()
                    .map(|(start, m)| PeriodTotals {
                        start,
                        totals: per_currency(m),
                    })
                    .collect()
            }),
            totals: per_currency(self.totals),
            transactions: transactions.saturating_sub(self.dropped),
            dropped_outside_period: self.dropped,
            max_transactions: MAX_TRANSACTIONS,
            note: {
                let mut note = "Minor units, signed as Stripe books them. net_before_payouts = charges + refunds + disputes + adjustments - fees; net = net_before_payouts + payouts = the sum of every transaction's net.".to_owned();
                if self.dropped > 0 {
                    note.push_str(&format!(
                        " {} transaction(s) Stripe returned were outside the period and are not counted.",
                        self.dropped
                    ));
                }
                note
            },
        }
    }
}

/// Filters of `GET /v1/balance_transactions` besides the slice's `created`.
#[derive(Debug, Serialize)]
struct TxnQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
}

/// `due_date[lt]`.
#[derive(Debug, Serialize)]
struct Before {
    lt: i64,
}

impl Listed for SubForMrr {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

impl Listed for crate::stripe::invoices::Invoice {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created.unwrap_or(0)
    }
}

/// The first `n` slices of a subscription or invoice scan (all of them, by `created`):
/// the last four years in even slices, the oldest of them reaching back to the start
/// (slices that meet many objects split as they are read).
fn all_time(now: i64, n: usize) -> Vec<(i64, i64)> {
    let mut ranges = slices::even(now - 4 * 365 * 86_400, now + 1, n);
    if let Some(first) = ranges.first_mut() {
        first.0 = 0;
    }
    ranges
}

/// Reads every object of a list created in `ranges`, in concurrent time slices under the
/// key's read budget ([`slices::read`]), refusing more than `max` objects (with
/// `too_many`'s message). Progress goes to the client when it asked; a cancelled request
/// stops every slice.
async fn scan<T: Listed, F: Serialize>(
    server: &StripeMcp,
    path: &str,
    filters: &F,
    ranges: Vec<(i64, i64)>,
    max: u64,
    context: &RequestContext<RoleServer>,
    too_many: &str,
) -> Result<Vec<T>, ToolError> {
    let progress = progress_of(context, max);
    slices::read(
        &server.client,
        path,
        filters,
        ranges,
        max,
        Some(&context.ct),
        progress,
    )
    .await
    .map_err(|e| slice_error(server, e, too_many))
}

/// What is sent as progress after every page: how many were read, and how many slices are done.
fn progress_of<'a>(
    context: &'a RequestContext<RoleServer>,
    max: u64,
) -> impl FnMut(Progress) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> + 'a
{
    let token: Option<ProgressToken> = context.meta.get_progress_token();
    move |p: Progress| {
        let token = token.clone();
        Box::pin(async move {
            if let Some(token) = token {
                let _ = context
                    .peer
                    .notify_progress(
                        ProgressNotificationParam::new(token, p.read as f64).with_message(format!(
                            "read {} so far (at most {max}); {} of {} time slices done",
                            p.read, p.slices_done, p.slices
                        )),
                    )
                    .await;
            }
        })
    }
}

fn slice_error(server: &StripeMcp, e: SliceError, too_many: &str) -> ToolError {
    match e {
        SliceError::Stripe(e) => server.stripe_error(e, None),
        SliceError::TooMany(max) => {
            ToolError::invalid(format!("more than {max} objects: {too_many}"))
        }
        SliceError::Cancelled => {
            ToolError::invalid("cancelled by the client; nothing was summarized")
        }
    }
}

impl StripeMcp {
    /// The balance transactions of a period: from the store where it holds them (`--db`),
    /// fetching from Stripe only what is missing or newer; without a store, all from Stripe.
    async fn period_transactions(
        &self,
        period: &Period,
        context: &RequestContext<RoleServer>,
    ) -> Result<Vec<Txn>, ToolError> {
        const TOO_MANY: &str = "summarize a shorter period and add the figures";
        let from_stripe = || async move {
            scan(
                self,
                "/v1/balance_transactions",
                &TxnQuery {
                    currency: period.currency.as_deref(),
                },
                slices::even(
                    period.start,
                    period.end,
                    slices::parallel(self.client.read_budget().rate()),
                ),
                MAX_TRANSACTIONS,
                context,
                TOO_MANY,
            )
            .await
        };
        let Some(store) = self.settings.ledger.clone() else {
            return from_stripe().await;
        };
        let account = self
            .client
            .account_id()
            .await
            .map_err(|e| self.stripe_error(e, None))?;
        // The copy is read and filled within the caller's boundary, like its orders: an
        // account outside it is summarised from Stripe alone, and its copy left alone.
        let scope = self.read_scope().await;
        if !scope.sees_account(&account) {
            return from_stripe().await;
        }
        let store_failed = |e: crate::store::StoreError| {
            tracing::warn!(error = %e, "books store failed");
            ToolError {
                retryable: true,
                ..ToolError::unexpected(format!("the books store could not be used: {e}"))
            }
        };
        books::sync(
            &store,
            &scope,
            &self.client,
            &account,
            period.start,
            period.end,
            Timestamp::now().as_second(),
            MAX_TRANSACTIONS,
            Some(&context.ct),
            progress_of(context, MAX_TRANSACTIONS),
        )
        .await
        .map_err(|e| match e {
            books::SyncError::Read(e) => slice_error(self, e, TOO_MANY),
            books::SyncError::Store(e) => store_failed(e),
        })?;
        let mut txns = store
            .books_read(&scope, &account, period.start, period.end)
            .await
            .map_err(store_failed)?;
        if let Some(c) = &period.currency {
            txns.retain(|t| &t.currency == c);
        }
        if txns.len() as u64 > MAX_TRANSACTIONS {
            return Err(ToolError::invalid(format!(
                "more than {MAX_TRANSACTIONS} objects: {TOO_MANY}"
            )));
        }
        Ok(txns)
    }
}

/// Arguments of `summarize_subscriptions`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SummarizeSubscriptionsArgs {
    /// Count trialing subscriptions in MRR too. Default false.
    pub include_trialing: Option<bool>,
    /// Only this currency, e.g. "usd".
    pub currency: Option<String>,
    /// How many top plans to list, default 5.
    #[schemars(range(min = 1, max = 50))]
    pub top: Option<u32>,
}

/// One currency's recurring revenue.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecurringRevenue {
    /// Lowercase ISO code.
    pub currency: String,
    /// Monthly recurring revenue after counted discounts.
    pub mrr: Money,
    /// 12 x MRR (from the exact sum, rounded once).
    pub arr: Money,
    /// Subscriptions counted in it.
    pub subscriptions: u64,
}

/// One price's share of MRR.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanRevenue {
    /// `price_...`
    pub price: String,
    /// The price's nickname, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// `prod_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// MRR from this price before subscription discounts.
    pub mrr: Money,
    /// Subscriptions with an item on it.
    pub subscriptions: u64,
    /// Units across them.
    pub quantity: u64,
}

/// What `summarize_subscriptions` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SummarizeSubscriptionsOutput {
    /// Per currency.
    pub revenue: Vec<RecurringRevenue>,
    /// Subscriptions by status (all but canceled ones).
    pub by_status: BTreeMap<String, u64>,
    /// The prices bringing the most MRR, highest first.
    pub top_plans: Vec<PlanRevenue>,
    /// What the figures leave out, and how many items or discounts that was.
    pub not_counted: Vec<String>,
    /// Subscriptions read.
    pub subscriptions_read: u64,
    /// The bound on subscriptions read; more is refused.
    pub max_subscriptions: u64,
}

/// The subscription fields MRR needs.
#[derive(Debug, Clone, Deserialize)]
struct SubForMrr {
    id: String,
    /// Unix seconds: which time slice it is read in.
    #[serde(default)]
    created: i64,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    items: Option<List<ItemForMrr>>,
    /// Expanded discounts (objects), or ids when not expanded.
    #[serde(default)]
    discounts: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct ItemForMrr {
    #[serde(default)]
    quantity: Option<u64>,
    #[serde(default)]
    price: Option<PriceForMrr>,
}

#[derive(Debug, Clone, Deserialize)]
struct PriceForMrr {
    id: String,
    #[serde(default, deserialize_with = "crate::stripe::id_or_object")]
    product: Option<String>,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    unit_amount: Option<i64>,
    currency: String,
    #[serde(default)]
    recurring: Option<RecurringForMrr>,
}

#[derive(Debug, Clone, Deserialize)]
struct RecurringForMrr {
    interval: String,
    #[serde(default)]
    interval_count: Option<u32>,
    #[serde(default)]
    usage_type: Option<String>,
}

/// An exact non-negative fraction of minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frac {
    num: i128,
    den: i128,
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd(b, a % b)
    }
}

impl Frac {
    const ZERO: Frac = Frac { num: 0, den: 1 };

    fn new(num: i128, den: i128) -> Frac {
        let g = gcd(num, den);
        Frac {
            num: num / g,
            den: den / g,
        }
    }

    fn checked_add(self, o: Frac) -> Option<Frac> {
        let num = self
            .num
            .checked_mul(o.den)?
            .checked_add(o.num.checked_mul(self.den)?)?;
        Some(Frac::new(num, self.den.checked_mul(o.den)?))
    }

    /// The same value to a billionth of a minor unit: only when exact sums would
    /// overflow 128 bits (billing periods of unusual, coprime lengths), never visible
    /// after the final rounding.
    fn coarse(self) -> Frac {
        const SCALE: i128 = 1_000_000_000;
        let whole = self.num.div_euclid(self.den);
        let rest = self.num.rem_euclid(self.den);
        let part = match rest.checked_mul(SCALE) {
            Some(r) => r / self.den,
            None => rest / (self.den / SCALE),
        };
        Frac::new(whole.saturating_mul(SCALE).saturating_add(part), SCALE)
    }

    fn add(self, o: Frac) -> Frac {
        self.checked_add(o)
            .or_else(|| self.coarse().checked_add(o.coarse()))
            .unwrap_or(self)
    }

    fn mul(self, num: i128, den: i128) -> Frac {
        match (self.num.checked_mul(num), self.den.checked_mul(den)) {
            (Some(n), Some(d)) => Frac::new(n, d),
            _ => {
                let c = self.coarse();
                Frac::new(c.num.saturating_mul(num), c.den.saturating_mul(den))
            }
        }
    }

    /// Rounded half up to whole minor units.
    fn round(self) -> i64 {
        ((2 * self.num + self.den).div_euclid(2 * self.den)) as i64
    }
}

/// How many billing periods of `count` x `interval` fall in a month, as a fraction
/// (numerator, denominator): a month holds 1 monthly, 1/12 yearly, 52/12 weekly and
/// 365/12 daily periods.
fn per_month(interval: &str, count: u32) -> Option<(i128, i128)> {
    let c = i128::from(count.max(1));
    match interval {
        "month" => Some((1, c)),
        "year" => Some((1, 12 * c)),
        "week" => Some((52, 12 * c)),
        "day" => Some((365, 12 * c)),
        _ => None,
    }
}

/// A discount's coupon, expanded where Stripe puts it (`coupon` in older API versions,
/// `source.coupon` in newer ones).
fn coupon_of(discount: &serde_json::Value) -> Option<&serde_json::Value> {
    discount
        .get("coupon")
        .filter(|c| c.is_object())
        .or_else(|| {
            discount
                .get("source")?
                .get("coupon")
                .filter(|c| c.is_object())
        })
}

/// MRR of the whole book, plus what was left out.
#[derive(Debug, Default)]
struct Mrr {
    per_currency: BTreeMap<String, (Frac, u64)>,
    plans: BTreeMap<String, (PriceForMrr, Frac, u64, u64)>,
    by_status: BTreeMap<String, u64>,
    metered: u64,
    no_unit_amount: u64,
    mixed_currency: u64,
    once_discounts: u64,
    unexpanded_discounts: u64,
    amount_discounts_other_currency: u64,
    more_items: u64,
    not_in_mrr_status: u64,
}

impl Mrr {
    fn add(&mut self, sub: SubForMrr, include_trialing: bool, only: Option<&str>) {
        let status = sub.status.clone().unwrap_or_else(|| "unknown".into());
        *self.by_status.entry(status.clone()).or_default() += 1;
        let counted = status == "active" || (include_trialing && status == "trialing");
        if !counted {
            self.not_in_mrr_status += 1;
            return;
        }
        let Some(items) = sub.items else { return };
        if items.has_more {
            self.more_items += 1;
        }
        // The subscription's MRR in its currency before discounts, and the share of
        // a month one invoice covers (for fixed-amount discounts).
        let mut total = Frac::ZERO;
        let mut currency: Option<String> = None;
        // Invoices a month, as a fraction: a fixed-amount discount comes off each one.
        let mut invoices_per_month: Option<(i128, i128)> = None;
        for item in items.data {
            let Some(price) = item.price else { continue };
            let Some(rec) = &price.recurring else {
                continue;
            };
            if rec.usage_type.as_deref() == Some("metered") {
                self.metered += 1;
                continue;
            }
            let Some(unit) = price.unit_amount else {
                self.no_unit_amount += 1;
                continue;
            };
            let Some((n, d)) = per_month(&rec.interval, rec.interval_count.unwrap_or(1)) else {
                self.no_unit_amount += 1;
                continue;
            };
            match &currency {
                Some(c) if *c != price.currency => {
                    self.mixed_currency += 1;
                    continue;
                }
                _ => currency = Some(price.currency.clone()),
            }
            let qty = item.quantity.unwrap_or(1);
            let monthly = Frac::new(i128::from(unit) * i128::from(qty) * n, d);
            total = total.add(monthly);
            invoices_per_month = Some((n, d));
            let plan = self
                .plans
                .entry(price.id.clone())
                .or_insert_with(|| (price.clone(), Frac::ZERO, 0, 0));
            plan.1 = plan.1.add(monthly);
            plan.2 += 1;
            plan.3 += qty;
        }
        let Some(currency) = currency else { return };
        if only.is_some_and(|c| c != currency) {
            return;
        }
        for discount in &sub.discounts {
            let Some(coupon) = coupon_of(discount) else {
                self.unexpanded_discounts += 1;
                continue;
            };
            if coupon.get("duration").and_then(|d| d.as_str()) == Some("once") {
                self.once_discounts += 1;
                continue;
            }
            if let Some(p) = coupon.get("percent_off").and_then(|p| p.as_f64()) {
                // Stripe's percentages have at most two decimals: basis points are exact.
                let bp = (p * 100.0).round().clamp(0.0, 10_000.0) as i128;
                total = total.mul(10_000 - bp, 10_000);
            } else if let Some(a) = coupon.get("amount_off").and_then(|a| a.as_i64()) {
                let same = coupon.get("currency").and_then(|c| c.as_str()) == Some(&currency);
                match invoices_per_month {
                    Some((n, d)) if same => {
                        let off = Frac::new(i128::from(a) * n, d);
                        let left = total.add(Frac::new(-off.num, off.den));
                        total = if left.num < 0 { Frac::ZERO } else { left };
                    }
                    _ => self.amount_discounts_other_currency += 1,
                }
            }
        }
        let entry = self.per_currency.entry(currency).or_insert((Frac::ZERO, 0));
        entry.0 = entry.0.add(total);
        entry.1 += 1;
    }

    fn output(self, top: usize, read: u64, only: Option<&str>) -> SummarizeSubscriptionsOutput {
        let mut plans: Vec<PlanRevenue> = self
            .plans
            .into_values()
            .filter(|(p, ..)| only.is_none_or(|c| c == p.currency))
            .map(|(p, mrr, subs, qty)| PlanRevenue {
                mrr: Money::new(mrr.round(), &p.currency),
                price: p.id,
                nickname: p.nickname,
                product: p.product,
                subscriptions: subs,
                quantity: qty,
            })
            .collect();
        plans.sort_by(|a, b| b.mrr.amount.cmp(&a.mrr.amount).then(a.price.cmp(&b.price)));
        plans.truncate(top);
        let mut not_counted = vec![
            "canceled subscriptions (not listed by Stripe by default), taxes, one-time invoice items, and usage not yet billed".to_owned(),
        ];
        let mut note = |n: u64, what: &str| {
            if n > 0 {
                not_counted.push(format!("{n} {what}"));
            }
        };
        note(
            self.not_in_mrr_status,
            "subscriptions not active (or trialing when asked): counted by status only",
        );
        note(self.metered, "metered items (billed on usage)");
        note(
            self.no_unit_amount,
            "items whose price has no unit_amount (tiered or custom)",
        );
        note(
            self.mixed_currency,
            "items in a second currency on one subscription",
        );
        note(
            self.once_discounts,
            "discounts lasting once (one invoice only)",
        );
        note(self.unexpanded_discounts, "discounts Stripe did not expand");
        note(
            self.amount_discounts_other_currency,
            "fixed-amount discounts in another currency or on mixed intervals",
        );
        note(
            self.more_items,
            "subscriptions with more items than Stripe embedded (the rest not counted)",
        );
        SummarizeSubscriptionsOutput {
            revenue: self
                .per_currency
                .into_iter()
                .map(|(c, (mrr, subs))| RecurringRevenue {
                    mrr: Money::new(mrr.round(), &c),
                    arr: Money::new(mrr.mul(12, 1).round(), &c),
                    currency: c,
                    subscriptions: subs,
                })
                .collect(),
            by_status: self.by_status,
            top_plans: plans,
            not_counted,
            subscriptions_read: read,
            max_subscriptions: MAX_SUBSCRIPTIONS,
        }
    }
}

/// Query of the subscription scan: every status but canceled, discounts expanded.
#[derive(Debug, Serialize)]
struct SubQuery {
    expand: [&'static str; 2],
}

/// Arguments of `list_overdue_invoices`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOverdueArgs {
    /// Only this customer's (cus_...).
    pub customer: Option<String>,
    /// How many to return, oldest due first; default 20.
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<i64>,
}

/// One overdue invoice.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OverdueInvoice {
    /// `in_...`
    pub id: String,
    /// The invoice number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// `cus_...`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// Where to chase: the email on the invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// Still to pay.
    pub amount_remaining: Money,
    /// When it was due (Unix seconds).
    pub due_date: i64,
    /// Whole days since then.
    pub days_overdue: i64,
    /// The page the customer pays at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosted_invoice_url: Option<String>,
}

/// What `list_overdue_invoices` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListOverdueOutput {
    /// Oldest due first.
    pub invoices: Vec<OverdueInvoice>,
    /// All overdue invoices found (may exceed the list).
    pub overdue_count: u64,
    /// Their amount remaining per currency.
    pub total_remaining: Vec<Money>,
    /// The bound on open past-due invoices read; more is refused.
    pub max_scanned: u64,
}

/// Invoice filters: open, past due.
#[derive(Debug, Serialize)]
struct OverdueQuery<'a> {
    status: &'static str,
    due_date: Before,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<&'a str>,
}

#[tool_router(router = summaries_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Totals of the balance over a period, per currency: charges, refunds, disputes, fees, adjustments, payouts, net, with counts; optionally per day or week. Reads every transaction (up to 50,000), exactly. Use for "what did we take this month?".
    #[tool(annotations(
        title = "Summarize balance transactions",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn summarize_balance_transactions(
        &self,
        Parameters(args): Parameters<SummarizeBalanceArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<SummarizeBalanceOutput>, ToolError> {
        let period = build_period(args, Timestamp::now())?;
        let txns = self.period_transactions(&period, &context).await?;
        let mut books = Books::default();
        for t in &txns {
            books.add(t, &period)?;
        }
        let read = txns.len() as u64;
        Ok(Json(books.output(&period, read)))
    }

    /// MRR and ARR per currency from active subscriptions (optionally trialing), each item normalised to a month by interval, count and quantity, less discounts; counts by status, top plans, and what is not counted.
    #[tool(annotations(
        title = "Summarize subscriptions",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn summarize_subscriptions(
        &self,
        Parameters(args): Parameters<SummarizeSubscriptionsArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<SummarizeSubscriptionsOutput>, ToolError> {
        let only = args
            .currency
            .map(|c| currency::parse_currency(&c).map_err(ToolError::invalid))
            .transpose()?;
        let top = match args.top {
            None => 5,
            Some(t) if (1..=50).contains(&t) => t as usize,
            Some(t) => {
                return Err(ToolError::invalid(format!(
                    "top must be between 1 and 50, got {t}"
                )));
            }
        };
        let include_trialing = args.include_trialing.unwrap_or(false);
        let subs: Vec<SubForMrr> = scan(
            self,
            "/v1/subscriptions",
            &SubQuery {
                expand: ["data.discounts", "data.discounts.source.coupon"],
            },
            all_time(
                Timestamp::now().as_second(),
                slices::parallel(self.client.read_budget().rate()),
            ),
            MAX_SUBSCRIPTIONS,
            &context,
            "this account has too many subscriptions to summarize in one call",
        )
        .await?;
        let read = subs.len() as u64;
        let mut mrr = Mrr::default();
        for s in subs {
            mrr.add(s, include_trialing, only.as_deref());
        }
        Ok(Json(mrr.output(top, read, only.as_deref())))
    }

    /// Open invoices past their due date, oldest due first, with amount remaining, the customer's email, days overdue and the payment page; plus the total per currency.
    #[tool(annotations(
        title = "List overdue invoices",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn list_overdue_invoices(
        &self,
        Parameters(args): Parameters<ListOverdueArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ListOverdueOutput>, ToolError> {
        let (customer, limit) = build_overdue(args)?;
        let now = Timestamp::now().as_second();
        let query = OverdueQuery {
            status: "open",
            due_date: Before { lt: now },
            customer: customer.as_deref(),
        };
        let mut found: Vec<crate::stripe::invoices::Invoice> = scan(
            self,
            "/v1/invoices",
            &query,
            all_time(now, slices::parallel(self.client.read_budget().rate())),
            MAX_OVERDUE_SCAN,
            &context,
            "filter by customer to chase fewer at once",
        )
        .await?;
        found.retain(|i| i.due_date.is_some_and(|d| d < now) && i.amount_remaining > 0);
        Ok(Json(overdue_output(found, limit, now)))
    }
}

fn build_overdue(args: ListOverdueArgs) -> Result<(Option<String>, usize), ToolError> {
    let customer = args
        .customer
        .map(|c| check_id("customer", &c, &["cus_"]))
        .transpose()?;
    let limit = match args.limit {
        None => 20,
        Some(l) if (1..=100).contains(&l) => l as usize,
        Some(l) => {
            return Err(ToolError::invalid(format!(
                "limit must be between 1 and 100, got {l}"
            )));
        }
    };
    Ok((customer, limit))
}

fn overdue_output(
    mut found: Vec<crate::stripe::invoices::Invoice>,
    limit: usize,
    now: i64,
) -> ListOverdueOutput {
    found.sort_by_key(|i| (i.due_date.unwrap_or(0), i.id.clone()));
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for i in &found {
        *totals.entry(i.currency.clone()).or_default() += i.amount_remaining;
    }
    let overdue_count = found.len() as u64;
    found.truncate(limit);
    ListOverdueOutput {
        invoices: found
            .into_iter()
            .map(|i| {
                let due = i.due_date.unwrap_or(0);
                OverdueInvoice {
                    amount_remaining: Money::new(i.amount_remaining, &i.currency),
                    id: i.id,
                    number: i.number,
                    customer: i.customer,
                    customer_email: i.customer_email,
                    due_date: due,
                    days_overdue: (now - due) / 86_400,
                    hosted_invoice_url: i.hosted_invoice_url,
                }
            })
            .collect(),
        overdue_count,
        total_remaining: totals.into_iter().map(|(c, a)| Money::new(a, &c)).collect(),
        max_scanned: MAX_OVERDUE_SCAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn period(v: serde_json::Value, now: &str) -> Result<Period, ToolError> {
        build_period(serde_json::from_value(v).unwrap(), now.parse().unwrap())
    }

    #[test]
    fn a_period_is_whole_days_in_the_callers_time_zone() {
        let p = period(
            json!({"from": "2026-11-01", "to": "2026-11-30", "time_zone": "Europe/Berlin"}),
            "2026-12-02T12:00:00Z",
        )
        .unwrap();
        // Midnight in Berlin is 23:00 UTC the day before (CET, +01:00).
        assert_eq!(
            p.start,
            "2026-10-31T23:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
        assert_eq!(
            p.end,
            "2026-11-30T23:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
        let last = period(json!({"last_days": 7}), "2026-12-02T12:00:00Z").unwrap();
        assert_eq!(
            last.start,
            "2026-11-26T00:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
        assert_eq!(
            last.end,
            "2026-12-03T00:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .as_second()
        );
    }

    #[test]
    fn bad_periods_are_refused_before_anything_is_sent() {
        let now = "2026-12-02T12:00:00Z";
        for bad in [
            json!({}),
            json!({"to": "2026-11-30"}),
            json!({"from": "2026-11-31"}),
            json!({"from": "2026-12-01", "to": "2026-11-01"}),
            json!({"from": "2025-01-01", "to": "2026-11-01"}),
            json!({"last_days": 0}),
            json!({"last_days": 400}),
            json!({"last_days": 3, "from": "2026-11-01"}),
            json!({"from": "2026-11-01", "time_zone": "Mars/Olympus"}),
            json!({"from": "2026-11-01", "currency": "dollars"}),
        ] {
            assert!(period(bad.clone(), now).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn weeks_start_on_monday_in_the_time_zone() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // Monday 2026-11-30 01:00 UTC is Sunday evening in New York.
        let t = "2026-11-30T01:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_second();
        assert_eq!(bucket(t, &tz, GroupBy::Day), "2026-11-29");
        assert_eq!(bucket(t, &tz, GroupBy::Week), "2026-11-23");
    }

    #[test]
    fn fractions_are_exact_and_rounded_once() {
        // Three weekly $10 items: 3 x 1000 x 52/12 = 13000 exactly.
        let mut f = Frac::ZERO;
        for _ in 0..3 {
            f = f.add(Frac::new(1000 * 52, 12));
        }
        assert_eq!(f.round(), 13_000);
        // $1/day is 365/12 = 30.4166.. dollars a month: 3041.67 cents -> 3042.
        assert_eq!(Frac::new(100 * 365, 12).round(), 3042);
        assert_eq!(Frac::new(1, 2).round(), 1);
    }

    #[test]
    fn sums_of_coprime_billing_periods_do_not_overflow() {
        // 1/(12 c) for every day count up to three years: the exact denominator would
        // be far past 128 bits; the sum falls back to a billionth of a minor unit.
        let mut f = Frac::ZERO;
        let mut want = 0.0;
        for c in 1..=1095i128 {
            f = f.add(Frac::new(100_000 * 365, 12 * c));
            want += 100_000.0 * 365.0 / (12.0 * c as f64);
        }
        assert!(
            (f.round() as f64 - want).abs() < 2.0,
            "{} vs {want}",
            f.round()
        );
    }
}
