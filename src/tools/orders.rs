//! `get_order_status` and `list_orders`: the webhook ledger (`--db`), read by the agent.
//!
//! Only the ledger, written from Stripe's signed events, says an order was paid and
//! fulfilled. `get_order_status` shows Stripe's live session beside it; when Stripe cannot
//! be reached but the ledger knows the order, the ledger part is returned with the Stripe
//! failure as a structured `stripe_error` note; when the ledger does not know the order
//! either, the Stripe failure is the tool's error.

use rmcp::{
    Json,
    handler::server::wrapper::Parameters,
    schemars::{self, JsonSchema},
    tool, tool_router,
};
use serde::{Deserialize, Serialize};

use super::{ToolError, check_id};
use crate::{
    store::{Order, OrderStatus, Store, StoreError},
    stripe::{checkout::CheckoutSession, currency},
    tools::StripeMcp,
};

/// Most orders `list_orders` returns at once.
pub const LIST_ORDERS_MAX: i64 = 100;

/// Arguments of `get_order_status`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetOrderStatusArgs {
    /// The Checkout Session id (cs_...) that initiate_checkout returned as session_id.
    pub session_id: String,
}

/// Arguments of `list_orders`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListOrdersArgs {
    /// Only orders in this state: awaiting_payment (waiting for the bank), paid (fulfilled), payment_failed, or expired. All states when absent.
    pub status: Option<OrderStatus>,
    /// How many orders, most recently changed first: 1 to 100, default 10.
    pub limit: Option<i64>,
}

/// The one-word answer an agent can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A signed event confirmed the money and the fulfillment was recorded (and --on-paid, if any, succeeded).
    PaidAndFulfilled,
    /// Paid and recorded, but the receiver's --on-paid command has not succeeded yet.
    PaidFulfillmentPending,
    /// Checkout completed with a delayed method (ACH, SEPA): waiting for the bank.
    AwaitingPayment,
    /// The delayed payment failed; nothing was charged.
    PaymentFailed,
    /// The checkout expired unpaid.
    Expired,
    /// No event yet and Stripe says the payment page is still open.
    Open,
    /// Stripe says complete and paid, but no signed event has been recorded yet: the receiver may be down or behind. Do not fulfill on this.
    PaidNotYetRecorded,
    /// Neither the ledger nor Stripe could say.
    Unknown,
}

/// Stripe's live view of the session.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LiveSession {
    /// open, complete or expired.
    pub status: Option<String>,
    /// paid, unpaid or no_payment_required.
    pub payment_status: Option<String>,
    /// Total in the smallest currency unit.
    pub amount_total: Option<i64>,
    /// The total formatted for people, e.g. "$49.99".
    pub amount_total_display: Option<String>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// True when real money moves.
    pub livemode: bool,
}

/// What `get_order_status` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OrderStatusOutput {
    /// The Checkout Session asked about.
    pub session_id: String,
    /// The answer to act on, from the ledger first and Stripe's live state second.
    pub verdict: Verdict,
    /// The verdict in words, fit to tell the customer.
    pub summary: String,
    /// The ledger's order (from signed webhooks), or null when no event about it was recorded.
    pub ledger: Option<Order>,
    /// Stripe's live session, or null when Stripe could not be asked (see stripe_error).
    pub stripe: Option<LiveSession>,
    /// Why Stripe's live state is missing: the same structured error object failed calls carry.
    pub stripe_error: Option<serde_json::Value>,
}

/// What `list_orders` returns.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ListOrdersOutput {
    /// Orders, most recently changed first.
    pub orders: Vec<Order>,
    /// How many were returned.
    pub count: usize,
}

/// The verdict from the ledger's order and Stripe's live session.
pub fn verdict(order: Option<&Order>, live: Option<&LiveSession>) -> Verdict {
    if let Some(order) = order {
        return match order.status {
            OrderStatus::Paid if order.hook.as_ref().is_some_and(|h| h.state != "done") => {
                Verdict::PaidFulfillmentPending
            }
            OrderStatus::Paid => Verdict::PaidAndFulfilled,
            OrderStatus::AwaitingPayment => Verdict::AwaitingPayment,
            OrderStatus::PaymentFailed => Verdict::PaymentFailed,
            OrderStatus::Expired => Verdict::Expired,
        };
    }
    let Some(live) = live else {
        return Verdict::Unknown;
    };
    match (live.status.as_deref(), live.payment_status.as_deref()) {
        (Some("expired"), _) => Verdict::Expired,
        (Some("open"), _) => Verdict::Open,
        (Some("complete"), Some("paid" | "no_payment_required")) => Verdict::PaidNotYetRecorded,
        (Some("complete"), _) => Verdict::AwaitingPayment,
        _ => Verdict::Unknown,
    }
}

/// The verdict in words.
pub fn summary(v: Verdict, order: Option<&Order>) -> String {
    let amount = order
        .and_then(|o| o.amount_total.zip(o.currency.as_deref()))
        .map(|(a, c)| format!(" ({})", currency::display(a, c)))
        .unwrap_or_default();
    match v {
        Verdict::PaidAndFulfilled => format!("Paid and fulfilled{amount}."),
        Verdict::PaidFulfillmentPending => format!(
            "Paid{amount}; the fulfillment step has not finished yet (it is retried automatically)."
        ),
        Verdict::AwaitingPayment => format!(
            "Checkout completed{amount}; still waiting for the bank to confirm the payment (delayed methods such as ACH or SEPA take days)."
        ),
        Verdict::PaymentFailed => {
            "The bank payment failed; the customer was not charged and can pay again with a new checkout.".into()
        }
        Verdict::Expired => "The checkout expired without payment.".into(),
        Verdict::Open => "Not paid yet: the payment page is still open.".into(),
        Verdict::PaidNotYetRecorded => {
            "Stripe reports the session paid, but no signed webhook has been recorded yet; do not fulfill from this. Check that the webhook receiver is running.".into()
        }
        Verdict::Unknown => "No record of this checkout in the ledger, and Stripe's state is unknown.".into(),
    }
}

impl StripeMcp {
    fn ledger(&self) -> Result<Store, ToolError> {
        self.settings.ledger.clone().ok_or_else(|| {
            ToolError::invalid("this server has no order ledger").with_hint(
                "Start the server with --db PATH|URL, the store `stripe-mcp webhooks` writes.",
            )
        })
    }
}

/// A store read's failure as a retryable tool error.
fn read_failed(e: StoreError) -> ToolError {
    tracing::warn!(error = %e, "order store read failed");
    ToolError {
        retryable: true,
        ..ToolError::unexpected(format!("the order store could not be read: {e}"))
    }
    .with_hint("The store may be busy or briefly unreachable (a write holding the lock, a database restart); try again shortly.")
}

#[tool_router(router = orders_router, vis = "pub(crate)")]
impl StripeMcp {
    /// Tell whether a checkout was paid and fulfilled: the order ledger (recorded from Stripe's signed webhooks; the only proof money arrived) beside Stripe's live session status and payment_status. Use it to tell a customer "paid and fulfilled" or "still waiting for the bank". verdict is the one-word answer.
    #[tool(annotations(
        title = "Get order status",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    pub async fn get_order_status(
        &self,
        Parameters(args): Parameters<GetOrderStatusArgs>,
    ) -> Result<Json<OrderStatusOutput>, ToolError> {
        let session_id = check_id("session_id", args.session_id.trim(), &["cs_"])?;
        let id = session_id.clone();
        let ledger = self.ledger()?;
        let scope = self.read_scope().await;
        let order = ledger.order(&scope, &id).await.map_err(read_failed)?;
        let (stripe, stripe_error) = match self.client.retrieve_checkout_session(&session_id).await
        {
            Ok(s) => (Some(live(s)), None),
            Err(e) => {
                let e = self.stripe_error(e, None);
                if order.is_none() {
                    return Err(e);
                }
                (None, Some(serde_json::to_value(&e).unwrap_or_default()))
            }
        };
        let v = verdict(order.as_ref(), stripe.as_ref());
        Ok(Json(OrderStatusOutput {
            summary: summary(v, order.as_ref()),
            session_id,
            verdict: v,
            ledger: order,
            stripe,
            stripe_error,
        }))
    }

    /// List orders from the ledger the webhook receiver writes (one per Checkout Session), most recently changed first, optionally only those awaiting_payment, paid, payment_failed or expired. Reads only the local ledger; nothing is sent to Stripe.
    #[tool(annotations(
        title = "List orders",
        read_only_hint = true,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    pub async fn list_orders(
        &self,
        Parameters(args): Parameters<ListOrdersArgs>,
    ) -> Result<Json<ListOrdersOutput>, ToolError> {
        let limit = match args.limit {
            None => 10,
            Some(l) if (1..=LIST_ORDERS_MAX).contains(&l) => l as u32,
            Some(l) => {
                return Err(ToolError::invalid(format!(
                    "limit must be between 1 and {LIST_ORDERS_MAX}, got {l}"
                )));
            }
        };
        let status = args.status;
        let ledger = self.ledger()?;
        let scope = self.read_scope().await;
        let orders = ledger
            .orders(&scope, status, limit)
            .await
            .map_err(read_failed)?;
        Ok(Json(ListOrdersOutput {
            count: orders.len(),
            orders,
        }))
    }
}

fn live(s: CheckoutSession) -> LiveSession {
    LiveSession {
        amount_total_display: s
            .amount_total
            .zip(s.currency.as_deref())
            .map(|(a, c)| currency::display(a, c)),
        status: s.status,
        payment_status: s.payment_status,
        amount_total: s.amount_total,
        currency: s.currency,
        livemode: s.livemode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Hook;

    fn order(status: OrderStatus, hook: Option<&str>) -> Order {
        Order {
            session_id: "cs_1".into(),
            status,
            amount_total: Some(4999),
            currency: Some("usd".into()),
            customer_email: None,
            metadata: Default::default(),
            client_reference_id: None,
            payment_intent: None,
            livemode: false,
            last_event_id: "evt_1".into(),
            last_event_type: "checkout.session.completed".into(),
            created_at: 1,
            updated_at: 1,
            fulfillment: None,
            hook: hook.map(|state| Hook {
                state: state.into(),
                attempts: 1,
                last_error: None,
                done_at: None,
            }),
            account: None,
        }
    }

    fn live(status: &str, payment_status: &str) -> LiveSession {
        LiveSession {
            status: Some(status.into()),
            payment_status: Some(payment_status.into()),
            amount_total: None,
            amount_total_display: None,
            currency: None,
            livemode: false,
        }
    }

    #[test]
    fn the_ledger_decides_and_stripe_only_fills_in_what_it_lacks() {
        use OrderStatus::*;
        let paid_live = live("complete", "paid");
        assert_eq!(
            verdict(Some(&order(Paid, None)), Some(&paid_live)),
            Verdict::PaidAndFulfilled
        );
        assert_eq!(
            verdict(Some(&order(Paid, Some("done"))), None),
            Verdict::PaidAndFulfilled
        );
        assert_eq!(
            verdict(Some(&order(Paid, Some("failed"))), None),
            Verdict::PaidFulfillmentPending
        );
        assert_eq!(
            verdict(Some(&order(AwaitingPayment, None)), Some(&paid_live)),
            Verdict::AwaitingPayment
        );
        assert_eq!(verdict(None, Some(&paid_live)), Verdict::PaidNotYetRecorded);
        assert_eq!(verdict(None, Some(&live("open", "unpaid"))), Verdict::Open);
        assert_eq!(
            verdict(None, Some(&live("complete", "unpaid"))),
            Verdict::AwaitingPayment
        );
        assert_eq!(
            verdict(None, Some(&live("expired", "unpaid"))),
            Verdict::Expired
        );
        assert_eq!(verdict(None, None), Verdict::Unknown);
        assert_eq!(
            summary(Verdict::PaidAndFulfilled, Some(&order(Paid, None))),
            "Paid and fulfilled ($49.99)."
        );
    }
}
