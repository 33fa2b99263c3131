//! The order ledger: embedded SQLite (WAL) holding every event id once, orders keyed by
//! Checkout Session id with their state machine, fulfillments, and pending `--on-paid` runs.
//!
//! One event is one `BEGIN IMMEDIATE` transaction: the event id, the order's move and, on
//! entering `paid`, the fulfillment (and its hook run) commit together or not at all. The
//! receiver answers Stripe only after the commit, so an acknowledged event is never lost.
//! The receiver and the MCP server may open the same file at once: WAL lets readers run
//! beside the writer, and `busy_timeout` makes a writer wait for the other's lock.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use rmcp::schemars::{self, JsonSchema};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

/// How long a write waits for the other process's lock before failing (then Stripe retries).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id          TEXT PRIMARY KEY,          -- evt_...: each one is recorded once
    type        TEXT NOT NULL,
    created     INTEGER NOT NULL,          -- Stripe's created, Unix seconds
    livemode    INTEGER NOT NULL,
    session_id  TEXT,                      -- the Checkout Session it concerns, if any
    outcome     TEXT NOT NULL,             -- what it did to the order, for people reading the table
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    session_id          TEXT PRIMARY KEY,  -- cs_...
    status              TEXT NOT NULL CHECK (status IN ('awaiting_payment', 'paid', 'payment_failed', 'expired')),
    amount_total        INTEGER,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,     -- JSON object of strings
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            INTEGER NOT NULL,
    last_event_id       TEXT NOT NULL,
    last_event_type     TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, updated_at);
CREATE TABLE IF NOT EXISTS fulfillments (
    session_id          TEXT PRIMARY KEY REFERENCES orders (session_id), -- once per order, by construction
    event_id            TEXT NOT NULL,
    amount_total        INTEGER,
    currency            TEXT,
    customer_email      TEXT,
    metadata            TEXT NOT NULL,
    product_id          TEXT,
    client_reference_id TEXT,
    payment_intent      TEXT,
    livemode            INTEGER NOT NULL,
    fulfilled_at        INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hooks (
    session_id  TEXT PRIMARY KEY REFERENCES fulfillments (session_id),
    state       TEXT NOT NULL CHECK (state IN ('pending', 'running', 'failed', 'done')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    updated_at  INTEGER NOT NULL,
    done_at     INTEGER
);
";

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Checkout completed with a delayed method (ACH, SEPA): waiting for the bank.
    AwaitingPayment,
    /// The money arrived: fulfilled. Never left once entered.
    Paid,
    /// The delayed payment failed; nothing was charged.
    PaymentFailed,
    /// The checkout expired unpaid.
    Expired,
}

impl OrderStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Expired => "expired",
        }
    }

    fn parse(raw: &str) -> Option<OrderStatus> {
        Some(match raw {
            "awaiting_payment" => OrderStatus::AwaitingPayment,
            "paid" => OrderStatus::Paid,
            "payment_failed" => OrderStatus::PaymentFailed,
            "expired" => OrderStatus::Expired,
            _ => return None,
        })
    }
}

/// What a Checkout Session event says about the payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// `checkout.session.completed` with a `payment_status` Stripe documents.
    Completed {
        /// `paid` (the money arrived with the completion) or `no_payment_required`
        /// (nothing was due); false for `unpaid` (a delayed method still on its way).
        paid: bool,
    },
    /// `checkout.session.async_payment_succeeded`: the delayed payment arrived.
    AsyncPaymentSucceeded,
    /// `checkout.session.async_payment_failed`.
    AsyncPaymentFailed,
    /// `checkout.session.expired`.
    Expired,
}

/// Why an event was recorded (so it is acknowledged once) but moved no order.
///
/// Every reason is a fixed phrase: none quotes a value from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not one of the four Checkout Session types the ledger acts on: the normal case for
    /// every other event an endpoint is subscribed to.
    OtherType,
    /// A Checkout Session event type whose `data.object` is not a `checkout.session`.
    NotASession,
    /// The `checkout.session` object has no string `id`.
    NoSessionId,
    /// `checkout.session.completed` whose `payment_status` is missing or none of
    /// `paid`, `no_payment_required`, `unpaid`.
    UnknownPaymentStatus,
    /// `checkout.session.async_payment_succeeded` whose `payment_status` is not `paid`.
    NotPaid,
}

impl Ignored {
    /// Words for the log and the events table.
    pub fn reason(self) -> &'static str {
        match self {
            Ignored::OtherType => "ignored: not a Checkout Session payment event",
            Ignored::NotASession => "ignored: data.object is not a checkout.session",
            Ignored::NoSessionId => "ignored: the checkout.session has no id",
            Ignored::UnknownPaymentStatus => {
                "ignored: payment_status is missing or not one Stripe documents"
            }
            Ignored::NotPaid => "ignored: async_payment_succeeded whose payment_status is not paid",
        }
    }

    /// A Checkout Session event that is not what Stripe sends: worth a warning.
    pub fn unexpected(self) -> bool {
        self != Ignored::OtherType
    }
}

impl SessionEvent {
    /// What an event means for its order, from its type, `data.object.object` and
    /// `data.object.payment_status`; anything not exactly as Stripe documents it is
    /// [`Ignored`], never paid.
    ///
    /// Only `completed` with `paid` or `no_payment_required` (a 100 % discount: nothing
    /// is owed, so the order is fulfilled) and `async_payment_succeeded` with `paid` mean
    /// money arrived, and only on a `checkout.session` object.
    pub fn from_type(
        kind: &str,
        object: Option<&str>,
        payment_status: Option<&str>,
    ) -> Result<SessionEvent, Ignored> {
        let event = match kind {
            "checkout.session.completed" => match payment_status {
                Some("paid" | "no_payment_required") => SessionEvent::Completed { paid: true },
                Some("unpaid") => SessionEvent::Completed { paid: false },
                _ => return Err(Ignored::UnknownPaymentStatus),
            },
            "checkout.session.async_payment_succeeded" => match payment_status {
                Some("paid") => SessionEvent::AsyncPaymentSucceeded,
                _ => return Err(Ignored::NotPaid),
            },
            "checkout.session.async_payment_failed" => SessionEvent::AsyncPaymentFailed,
            "checkout.session.expired" => SessionEvent::Expired,
            _ => return Err(Ignored::OtherType),
        };
        if object != Some("checkout.session") {
            return Err(Ignored::NotASession);
        }
        Ok(event)
    }

    /// Reads an event's type and `data.object` into the snapshot an order keeps and what
    /// the event means for it.
    pub fn classify(
        kind: &str,
        object: &serde_json::Value,
    ) -> Result<(SessionSnapshot, SessionEvent), Ignored> {
        let event = SessionEvent::from_type(
            kind,
            object["object"].as_str(),
            object["payment_status"].as_str(),
        )?;
        let snapshot = SessionSnapshot::from_object(object).ok_or(Ignored::NoSessionId)?;
        Ok((snapshot, event))
    }
}

/// The state machine: the order's new status, or `None` when the event changes nothing.
///
/// Stripe does not deliver in order, so this is a lattice rather than a sequence: a signal
/// that money arrived moves any unpaid order to `paid`, and `paid` is never left; a failure
/// or an expiry only moves an order that is not settled yet; a late `completed` (unpaid)
/// never undoes a failure or an expiry. Entering `paid` is what records the fulfillment.
pub fn transition(current: Option<OrderStatus>, event: SessionEvent) -> Option<OrderStatus> {
    use OrderStatus::*;
    let next = match (current, event) {
        (Some(Paid), _) => return None,
        (_, SessionEvent::Completed { paid: true } | SessionEvent::AsyncPaymentSucceeded) => Paid,
        (None, SessionEvent::Completed { paid: false }) => AwaitingPayment,
        (Some(_), SessionEvent::Completed { paid: false }) => return None,
        (None | Some(AwaitingPayment), SessionEvent::AsyncPaymentFailed) => PaymentFailed,
        (None | Some(AwaitingPayment), SessionEvent::Expired) => Expired,
        (Some(PaymentFailed | Expired), _) => return None,
    };
    (current != Some(next)).then_some(next)
}

/// A Stripe event, as much of it as the ledger reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `evt_...`
    pub id: String,
    /// `checkout.session.completed`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    /// True in live mode.
    #[serde(default)]
    pub livemode: bool,
    /// `data.object`: the object the event is about.
    pub data: EventData,
}

/// `data` of an event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    /// The object as it was when the event happened.
    pub object: serde_json::Value,
}

/// Reads a delivery's JSON as an event; the reason names no content.
///
/// serde_json's own messages quote the offending value (`invalid type: string "..."`),
/// so they are replaced by the kind of problem and where it is; only a missing field's
/// name, which comes from this schema and not from the body, is kept.
pub fn parse_event(body: &[u8]) -> Result<Event, String> {
    let event: Event = serde_json::from_slice(body).map_err(|e| describe_json_error(&e))?;
    if event.id.is_empty() || event.id.len() > 255 {
        return Err("not a Stripe event: bad id".into());
    }
    if event.kind.is_empty() {
        return Err("not a Stripe event: empty type".into());
    }
    Ok(event)
}

/// A serde_json error as a reason that quotes nothing from the input.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not valid JSON",
        Category::Eof => "ends early",
        Category::Data => {
            let msg = e.to_string();
            if let Some(field) = msg
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split_once('`'))
                .map(|(field, _)| field)
                .filter(|f| ["id", "type", "data", "object"].contains(f))
            {
                return format!("not a Stripe event: missing field {field}");
            }
            "has a field of the wrong type"
        }
    };
    format!(
        "not a Stripe event: the JSON {what} (line {}, column {})",
        e.line(),
        e.column()
    )
}

/// The Checkout Session fields an order keeps, from an event's `data.object`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionSnapshot {
    /// `cs_...`
    pub id: String,
    /// `paid`, `unpaid`, `no_payment_required`.
    pub payment_status: Option<String>,
    /// Minor units.
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// `customer_details.email`, else `customer_email`.
    pub customer_email: Option<String>,
    /// The session's metadata (`product_id` from `initiate_checkout` among it).
    pub metadata: BTreeMap<String, String>,
    /// The caller's own reference.
    pub client_reference_id: Option<String>,
    /// `pi_...`, when the session made one.
    pub payment_intent: Option<String>,
}

impl SessionSnapshot {
    /// Reads a `checkout.session` object; `None` without a string `id`.
    pub fn from_object(object: &serde_json::Value) -> Option<SessionSnapshot> {
        let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let id = s(&object["id"]).filter(|id| !id.is_empty())?;
        let metadata = object["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(SessionSnapshot {
            id,
            payment_status: s(&object["payment_status"]),
            amount_total: object["amount_total"].as_i64(),
            currency: s(&object["currency"]),
            customer_email: s(&object["customer_details"]["email"])
                .or_else(|| s(&object["customer_email"])),
            metadata,
            client_reference_id: s(&object["client_reference_id"]),
            // A string id, or the object when expanded.
            payment_intent: s(&object["payment_intent"])
                .or_else(|| s(&object["payment_intent"]["id"])),
        })
    }
}

/// What recording one event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The event id was already there: nothing changed.
    pub duplicate: bool,
    /// The session it concerns, for a Checkout Session event.
    pub session_id: Option<String>,
    /// The order's status after the event, for a Checkout Session event.
    pub status: Option<OrderStatus>,
    /// This event moved the order into `paid` (and recorded the fulfillment).
    pub entered_paid: bool,
    /// A hook run was queued with the fulfillment.
    pub hook_queued: bool,
    /// Why the event moved no order, when it was recorded and ignored.
    pub ignored: Option<Ignored>,
    /// Words for the log and the events table.
    pub outcome: String,
}

/// A paid order's fulfillment, recorded once: also what `--on-paid` reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Fulfillment {
    /// The Checkout Session (cs_...): use it as the idempotency key of whatever you ship.
    pub session_id: String,
    /// The event that moved the order to paid.
    pub event_id: String,
    /// Amount paid, integer minor units (4999 = $49.99).
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// The customer's email as entered on the payment page.
    pub customer_email: Option<String>,
    /// The session's metadata.
    pub metadata: BTreeMap<String, String>,
    /// metadata.product_id, as initiate_checkout stores it.
    pub product_id: Option<String>,
    /// The caller's own reference, if the checkout had one.
    pub client_reference_id: Option<String>,
    /// pi_..., when the session made one (for refunds).
    pub payment_intent: Option<String>,
    /// True for real money.
    pub livemode: bool,
    /// When the order entered paid (Unix seconds, receiver's clock).
    pub fulfilled_at: i64,
}

/// The `--on-paid` run of one fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Hook {
    /// pending (not run yet), running, failed (retried on the receiver's next start), done.
    pub state: String,
    /// How many times it was started.
    pub attempts: i64,
    /// The last failure: exit status and the end of its stderr.
    pub last_error: Option<String>,
    /// When it succeeded (Unix seconds).
    pub done_at: Option<i64>,
}

/// One order as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Order {
    /// The Checkout Session id (cs_...).
    pub session_id: String,
    /// awaiting_payment, paid, payment_failed or expired.
    pub status: OrderStatus,
    /// Total, integer minor units.
    pub amount_total: Option<i64>,
    /// Lowercase ISO code.
    pub currency: Option<String>,
    /// The customer's email.
    pub customer_email: Option<String>,
    /// The session's metadata (product_id among it).
    pub metadata: BTreeMap<String, String>,
    /// The caller's own reference.
    pub client_reference_id: Option<String>,
    /// pi_..., when known.
    pub payment_intent: Option<String>,
    /// True for real money.
    pub livemode: bool,
    /// The event that last moved the order.
    pub last_event_id: String,
    /// Its type, e.g. checkout.session.completed.
    pub last_event_type: String,
    /// First seen (Unix seconds).
    pub created_at: i64,
    /// Last moved (Unix seconds).
    pub updated_at: i64,
    /// Present once paid: what was recorded, exactly once.
    pub fulfillment: Option<Fulfillment>,
    /// Present when the receiver runs --on-paid and the order is paid.
    pub hook: Option<Hook>,
}

/// A ledger failure: the delivery is answered 500 and Stripe retries it.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The file could not be opened or prepared.
    #[error("order ledger {path}: {message}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A statement failed (locked past the busy timeout, disk full, ...).
    #[error("order ledger: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The ledger: one connection per process, shared by its threads. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Ledger {
    /// Opens (creating if needed) the database, in WAL mode, with the schema.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let fail = |message: String| LedgerError::Open {
            path: path.to_owned(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(|e| fail(e.to_string()))?;
        // The busy timeout first: switching to WAL and creating tables take locks too.
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| fail(e.to_string()))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| fail(e.to_string()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail(format!(
                "could not switch to WAL mode (got {mode}); is it on a network file system?"
            )));
        }
        // FULL: a commit is on disk before Stripe is answered, even across a power cut.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| fail(e.to_string()))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| fail(e.to_string()))?;
        let mut conn = conn;
        migrate(&mut conn).map_err(|e| fail(e.to_string()))?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                conn: Mutex::new(conn),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no open transaction (it rolls back on
        // drop), so the connection is still usable.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one verified event in one transaction. Blocking: call from `spawn_blocking`.
    ///
    /// A known event id changes nothing. A Checkout Session event moves its order by
    /// [`transition`]; entering `paid` records the fulfillment and, with `queue_hook`, a
    /// pending `--on-paid` run, in the same transaction.
    pub fn record(
        &self,
        event: &Event,
        now: i64,
        queue_hook: bool,
    ) -> Result<Recorded, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let known: bool = tx
            .query_row(
                "SELECT 1 FROM events WHERE id = ?1",
                [&event.id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if known {
            return Ok(Recorded {
                duplicate: true,
                session_id: None,
                status: None,
                entered_paid: false,
                hook_queued: false,
                ignored: None,
                outcome: "duplicate: already recorded".into(),
            });
        }

        let session_event = SessionEvent::classify(&event.kind, &event.data.object);
        let mut recorded = Recorded {
            duplicate: false,
            session_id: None,
            status: None,
            entered_paid: false,
            hook_queued: false,
            ignored: None,
            outcome: String::new(),
        };

        if let Err(why) = session_event {
            recorded.ignored = Some(why);
            recorded.outcome = why.reason().into();
        }
        if let Ok((snap, session_event)) = session_event {
            let current: Option<OrderStatus> = tx
                .query_row(
                    "SELECT status FROM orders WHERE session_id = ?1",
                    [&snap.id],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .and_then(|s| OrderStatus::parse(&s));
            let next = transition(current, session_event);
            let metadata = serde_json::to_string(&snap.metadata).unwrap_or_else(|_| "{}".into());
            recorded.session_id = Some(snap.id.clone());
            recorded.status = next.or(current);
            match next {
                None => {
                    recorded.outcome = format!(
                        "unchanged: order stays {}",
                        current.map_or("absent", OrderStatus::as_str)
                    );
                }
                Some(next) => {
                    tx.execute(
                        "INSERT INTO orders (session_id, status, amount_total, currency, customer_email, metadata,
                                             client_reference_id, payment_intent, livemode, last_event_id,
                                             last_event_type, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
                         ON CONFLICT (session_id) DO UPDATE SET
                             status = excluded.status,
                             amount_total = coalesce(excluded.amount_total, amount_total),
                             currency = coalesce(excluded.currency, currency),
                             customer_email = coalesce(excluded.customer_email, customer_email),
                             metadata = excluded.metadata,
                             client_reference_id = coalesce(excluded.client_reference_id, client_reference_id),
                             payment_intent = coalesce(excluded.payment_intent, payment_intent),
                             livemode = excluded.livemode,
                             last_event_id = excluded.last_event_id,
                             last_event_type = excluded.last_event_type,
                             updated_at = excluded.updated_at",
                        params![
                            snap.id,
                            next.as_str(),
                            snap.amount_total,
                            snap.currency,
                            snap.customer_email,
                            metadata,
                            snap.client_reference_id,
                            snap.payment_intent,
                            event.livemode,
                            event.id,
                            event.kind,
                            now,
                        ],
                    )?;
                    recorded.outcome = format!(
                        "{} -> {}",
                        current.map_or("new", OrderStatus::as_str),
                        next.as_str()
                    );
                    if next == OrderStatus::Paid {
                        // The primary key makes a second fulfillment impossible, whatever happens above.
                        tx.execute(
                            "INSERT INTO fulfillments (session_id, event_id, amount_total, currency, customer_email,
                                                       metadata, product_id, client_reference_id, payment_intent,
                                                       livemode, fulfilled_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            params![
                                snap.id,
                                event.id,
                                snap.amount_total,
                                snap.currency,
                                snap.customer_email,
                                metadata,
                                snap.metadata.get("product_id"),
                                snap.client_reference_id,
                                snap.payment_intent,
                                event.livemode,
                                now,
                            ],
                        )?;
                        recorded.entered_paid = true;
                        if queue_hook {
                            tx.execute(
                                "INSERT INTO hooks (session_id, state, updated_at) VALUES (?1, 'pending', ?2)",
                                params![snap.id, now],
                            )?;
                            recorded.hook_queued = true;
                        }
                    }
                }
            }
        }

        tx.execute(
            "INSERT INTO events (id, type, created, livemode, session_id, outcome, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                event.id,
                event.kind,
                event.created,
                event.livemode,
                recorded.session_id,
                recorded.outcome,
                now,
            ],
        )?;
        tx.commit()?;
        Ok(recorded)
    }

    /// Whether an event id is recorded.
    pub fn has_event(&self, id: &str) -> Result<bool, LedgerError> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM events WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// How many events are recorded.
    pub fn event_count(&self) -> Result<i64, LedgerError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }

    /// One order, with its fulfillment and hook run.
    pub fn order(&self, session_id: &str) -> Result<Option<Order>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{ORDER_SELECT} WHERE o.session_id = ?1"))?;
        Ok(stmt.query_row([session_id], order_from_row).optional()?)
    }

    /// Orders, most recently moved first, optionally of one status.
    pub fn orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
    ) -> Result<Vec<Order>, LedgerError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ORDER_SELECT} WHERE (?1 IS NULL OR o.status = ?1)
             ORDER BY o.updated_at DESC, o.session_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(
            params![status.map(OrderStatus::as_str), limit],
            order_from_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Hook runs to retry at start-up: failed ones, pending ones, and ones a crash
    /// interrupted while running (they may have run: the hook must be idempotent).
    pub fn hooks_to_retry(&self, now: i64) -> Result<Vec<String>, LedgerError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE hooks SET state = 'pending', updated_at = ?1,
                    last_error = coalesce(last_error, 'interrupted while running')
             WHERE state = 'running'",
            [now],
        )?;
        let mut stmt = conn.prepare(
            "SELECT session_id FROM hooks WHERE state IN ('pending', 'failed') ORDER BY updated_at",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Takes a hook run for this process: `Some(fulfillment)` only for the one caller that
    /// moved it from pending or failed to running.
    pub fn claim_hook(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<Fulfillment>, LedgerError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = tx.execute(
            "UPDATE hooks SET state = 'running', attempts = attempts + 1, updated_at = ?2
             WHERE session_id = ?1 AND state IN ('pending', 'failed')",
            params![session_id, now],
        )?;
        if claimed == 0 {
            return Ok(None);
        }
        let fulfillment = tx
            .query_row(
                &format!("{FULFILLMENT_SELECT} WHERE f.session_id = ?1"),
                [session_id],
                |r| fulfillment_from_row(r, 0),
            )
            .optional()?;
        tx.commit()?;
        Ok(fulfillment.flatten())
    }

    /// Records how a claimed hook run ended: done for good, or failed (retried at the next start).
    pub fn finish_hook(
        &self,
        session_id: &str,
        result: Result<(), String>,
        now: i64,
    ) -> Result<(), LedgerError> {
        let conn = self.conn();
        match result {
            Ok(()) => conn.execute(
                "UPDATE hooks SET state = 'done', done_at = ?2, updated_at = ?2 WHERE session_id = ?1",
                params![session_id, now],
            )?,
            Err(error) => conn.execute(
                "UPDATE hooks SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE session_id = ?1",
                params![session_id, error, now],
            )?,
        };
        Ok(())
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {version}, newer than this build's {SCHEMA_VERSION}: upgrade stripe-mcp"
        )));
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(SCHEMA)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

const FULFILLMENT_SELECT: &str = "SELECT f.session_id, f.event_id, f.amount_total, f.currency,
    f.customer_email, f.metadata, f.product_id, f.client_reference_id, f.payment_intent, f.livemode,
    f.fulfilled_at FROM fulfillments f";

const ORDER_SELECT: &str = "SELECT o.session_id, o.status, o.amount_total, o.currency,
    o.customer_email, o.metadata, o.client_reference_id, o.payment_intent, o.livemode,
    o.last_event_id, o.last_event_type, o.created_at, o.updated_at,
    f.session_id, f.event_id, f.amount_total, f.currency, f.customer_email, f.metadata,
    f.product_id, f.client_reference_id, f.payment_intent, f.livemode, f.fulfilled_at,
    h.state, h.attempts, h.last_error, h.done_at
    FROM orders o
    LEFT JOIN fulfillments f ON f.session_id = o.session_id
    LEFT JOIN hooks h ON h.session_id = o.session_id";

fn metadata_from(raw: Option<String>) -> BTreeMap<String, String> {
    raw.and_then(|m| serde_json::from_str(&m).ok())
        .unwrap_or_default()
}

fn fulfillment_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Fulfillment>> {
    let Some(session_id) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Fulfillment {
        session_id,
        event_id: r.get(at + 1)?,
        amount_total: r.get(at + 2)?,
        currency: r.get(at + 3)?,
        customer_email: r.get(at + 4)?,
        metadata: metadata_from(r.get(at + 5)?),
        product_id: r.get(at + 6)?,
        client_reference_id: r.get(at + 7)?,
        payment_intent: r.get(at + 8)?,
        livemode: r.get(at + 9)?,
        fulfilled_at: r.get(at + 10)?,
    }))
}

fn order_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    let status: String = r.get(1)?;
    let status = OrderStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Text,
            format!("unknown order status {status:?}").into(),
        )
    })?;
    let hook = match r.get::<_, Option<String>>(24)? {
        None => None,
        Some(state) => Some(Hook {
            state,
            attempts: r.get(25)?,
            last_error: r.get(26)?,
            done_at: r.get(27)?,
        }),
    };
    Ok(Order {
        session_id: r.get(0)?,
        status,
        amount_total: r.get(2)?,
        currency: r.get(3)?,
        customer_email: r.get(4)?,
        metadata: metadata_from(r.get(5)?),
        client_reference_id: r.get(6)?,
        payment_intent: r.get(7)?,
        livemode: r.get(8)?,
        last_event_id: r.get(9)?,
        last_event_type: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        fulfillment: fulfillment_from_row(r, 13)?,
        hook,
    })
}

/// The default database path: `$XDG_DATA_HOME/stripe-mcp/orders.db`, else
/// `~/.local/share/stripe-mcp/orders.db`; `None` when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = from("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from("HOME").map(|h| h.join(".local").join("share")))?;
    Some(base.join("stripe-mcp").join("orders.db"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;
    use serde_json::json;

    #[test]
    fn the_state_machine_table() {
        let completed_paid = SessionEvent::Completed { paid: true };
        let completed_unpaid = SessionEvent::Completed { paid: false };
        let ok = SessionEvent::AsyncPaymentSucceeded;
        let failed = SessionEvent::AsyncPaymentFailed;
        let expired = SessionEvent::Expired;
        #[rustfmt::skip]
        let table: &[(Option<OrderStatus>, SessionEvent, Option<OrderStatus>)] = &[
            // A new order.
            (None, completed_paid, Some(Paid)),
            (None, completed_unpaid, Some(AwaitingPayment)),
            (None, ok, Some(Paid)),                    // async success delivered before completed
            (None, failed, Some(PaymentFailed)),
            (None, expired, Some(Expired)),
            // Waiting for the bank.
            (Some(AwaitingPayment), completed_paid, Some(Paid)),
            (Some(AwaitingPayment), completed_unpaid, None), // a redelivery under another id
            (Some(AwaitingPayment), ok, Some(Paid)),
            (Some(AwaitingPayment), failed, Some(PaymentFailed)),
            (Some(AwaitingPayment), expired, Some(Expired)),
            // Paid is never left.
            (Some(Paid), completed_paid, None),
            (Some(Paid), completed_unpaid, None),
            (Some(Paid), ok, None),
            (Some(Paid), failed, None),
            (Some(Paid), expired, None),
            // Money arriving wins over an earlier failure or expiry; nothing else moves them.
            (Some(PaymentFailed), completed_paid, Some(Paid)),
            (Some(PaymentFailed), ok, Some(Paid)),
            (Some(PaymentFailed), completed_unpaid, None),
            (Some(PaymentFailed), failed, None),
            (Some(PaymentFailed), expired, None),
            (Some(Expired), completed_paid, Some(Paid)),
            (Some(Expired), ok, Some(Paid)),
            (Some(Expired), completed_unpaid, None),
            (Some(Expired), failed, None),
            (Some(Expired), expired, None),
        ];
        for (current, event, want) in table {
            assert_eq!(
                transition(*current, *event),
                *want,
                "{current:?} + {event:?}"
            );
        }
    }

    #[test]
    fn only_documented_payment_statuses_on_a_checkout_session_mean_anything() {
        let cs = Some("checkout.session");
        let completed = "checkout.session.completed";
        let succeeded = "checkout.session.async_payment_succeeded";
        // (type, data.object.object, payment_status, meaning)
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Result<SessionEvent, Ignored>,
        );
        #[rustfmt::skip]
        let table: &[Case] = &[
            (completed, cs, Some("paid"), Ok(SessionEvent::Completed { paid: true })),
            (completed, cs, Some("no_payment_required"), Ok(SessionEvent::Completed { paid: true })),
            (completed, cs, Some("unpaid"), Ok(SessionEvent::Completed { paid: false })),
            // Fail closed: what Stripe does not send is never paid.
            (completed, cs, None, Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some("PAID_LATER"), Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some("Paid"), Err(Ignored::UnknownPaymentStatus)),
            (completed, cs, Some(""), Err(Ignored::UnknownPaymentStatus)),
            (completed, Some("charge"), Some("paid"), Err(Ignored::NotASession)),
            (completed, None, Some("paid"), Err(Ignored::NotASession)),
            (succeeded, cs, Some("paid"), Ok(SessionEvent::AsyncPaymentSucceeded)),
            (succeeded, cs, None, Err(Ignored::NotPaid)),
            (succeeded, cs, Some("unpaid"), Err(Ignored::NotPaid)),
            (succeeded, Some("charge"), Some("paid"), Err(Ignored::NotASession)),
            ("checkout.session.async_payment_failed", cs, Some("unpaid"), Ok(SessionEvent::AsyncPaymentFailed)),
            ("checkout.session.async_payment_failed", Some("charge"), None, Err(Ignored::NotASession)),
            ("checkout.session.expired", cs, None, Ok(SessionEvent::Expired)),
            ("checkout.session.expired", Some("payment_intent"), None, Err(Ignored::NotASession)),
            ("charge.succeeded", Some("charge"), Some("paid"), Err(Ignored::OtherType)),
            ("customer.created", None, None, Err(Ignored::OtherType)),
        ];
        for (kind, object, status, want) in table {
            assert_eq!(
                SessionEvent::from_type(kind, *object, *status),
                *want,
                "{kind} {object:?} {status:?}"
            );
        }
        assert!(!Ignored::OtherType.unexpected() && Ignored::NotASession.unexpected());
    }

    fn raw_event(kind: &str, object: serde_json::Value) -> Event {
        serde_json::from_value(json!({"id": "evt_odd", "type": kind, "data": {"object": object}}))
            .unwrap()
    }

    #[test]
    fn odd_signed_events_are_recorded_once_and_never_fulfilled() {
        let ledger = Ledger::open(&temp_db("odd")).unwrap();
        let session = |status: Option<&str>| {
            let mut o = json!({"id": "cs_odd", "object": "checkout.session", "amount_total": 4999,
                               "customer_details": {"email": "jane@example.com"}});
            if let Some(s) = status {
                o["payment_status"] = json!(s);
            }
            o
        };
        for (i, (kind, object, why)) in [
            (
                "checkout.session.completed",
                session(None),
                Ignored::UnknownPaymentStatus,
            ),
            (
                "checkout.session.completed",
                session(Some("PAID_LATER")),
                Ignored::UnknownPaymentStatus,
            ),
            (
                "checkout.session.completed",
                json!({"id": "ch_1", "object": "charge", "payment_status": "paid", "paid": true}),
                Ignored::NotASession,
            ),
            (
                "checkout.session.async_payment_succeeded",
                json!({"id": "ch_1", "object": "charge", "payment_status": "paid"}),
                Ignored::NotASession,
            ),
            (
                "checkout.session.completed",
                json!({"object": "checkout.session", "payment_status": "paid"}),
                Ignored::NoSessionId,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let mut e = raw_event(kind, object);
            e.id = format!("evt_odd_{i}");
            let r = ledger.record(&e, 1, true).unwrap();
            assert_eq!(r.ignored, Some(why), "{i}: {r:?}");
            assert!(
                !r.entered_paid && !r.hook_queued && r.session_id.is_none(),
                "{r:?}"
            );
            assert_eq!(r.outcome, why.reason());
            assert!(!r.outcome.contains("PAID_LATER") && !r.outcome.contains("jane"));
            // Recorded, so a redelivery is a duplicate and acknowledged once.
            assert!(ledger.record(&e, 2, true).unwrap().duplicate);
        }
        assert!(
            ledger.orders(None, 10).unwrap().is_empty(),
            "an odd event made an order"
        );
        assert_eq!(ledger.event_count().unwrap(), 5);
    }

    #[test]
    fn a_refused_body_is_described_without_quoting_it() {
        let secret_ish = "CUSTOMER jane@example.com card 4242";
        for body in [
            format!(
                r#"{{"id":"evt_1","type":"x","created":"{secret_ish}","data":{{"object":{{}}}}}}"#
            ),
            format!(r#"{{"id":"evt_1","type":["{secret_ish}"],"data":{{"object":{{}}}}}}"#),
            format!(
                r#"{{"id":"evt_1","type":"x","livemode":"{secret_ish}","data":{{"object":{{}}}}}}"#
            ),
            format!(r#"{{"id":"evt_1","type":"x","data":{{"object":{{}}}},"x":{secret_ish}}}"#),
            format!(r#"{{"id":"evt_1","type":"x","data":"{secret_ish}"}}"#),
            format!(r#"{{"id":{{"{secret_ish}":1}},"type":"x","data":{{"object":{{}}}}}}"#),
            r#"{"id":"evt_1","type":"x","data":{"object":{}}"#.to_string(),
            format!("\"{secret_ish}\""),
            secret_ish.to_string(),
        ] {
            let e = parse_event(body.as_bytes()).unwrap_err();
            assert!(e.starts_with("not a Stripe event: "), "{e}");
            for word in ["CUSTOMER", "jane", "4242"] {
                assert!(!e.contains(word), "{e} quotes the body");
            }
        }
        let e = parse_event(br#"{"type":"x","data":{"object":{}}}"#).unwrap_err();
        assert_eq!(e, "not a Stripe event: missing field id");
    }

    fn temp_db(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stripe-mcp-ledger-{name}-{}", uuid::Uuid::new_v4()));
        dir.join("orders.db")
    }

    fn session_event(id: &str, kind: &str, session: &str, payment_status: &str) -> Event {
        serde_json::from_value(json!({
            "id": id, "type": kind, "created": 1_700_000_000, "livemode": false,
            "data": {"object": {
                "id": session, "object": "checkout.session", "payment_status": payment_status,
                "amount_total": 4999, "currency": "usd",
                "customer_details": {"email": "jane@example.com"},
                "metadata": {"product_id": "sku-tee"}, "payment_intent": "pi_1"
            }}
        }))
        .unwrap()
    }

    #[test]
    fn an_event_is_recorded_once_and_a_paid_order_is_fulfilled_once() {
        let ledger = Ledger::open(&temp_db("once")).unwrap();
        let e = session_event("evt_1", "checkout.session.completed", "cs_1", "paid");
        let first = ledger.record(&e, 100, true).unwrap();
        assert!(first.entered_paid && first.hook_queued && !first.duplicate);
        assert_eq!(first.status, Some(Paid));
        let again = ledger.record(&e, 101, true).unwrap();
        assert!(again.duplicate && !again.entered_paid);
        // The same session under another event id (Stripe's own duplicate) fulfills nothing more.
        let other = session_event("evt_2", "checkout.session.completed", "cs_1", "paid");
        let r = ledger.record(&other, 102, true).unwrap();
        assert!(!r.duplicate && !r.entered_paid, "{r:?}");
        let order = ledger.order("cs_1").unwrap().unwrap();
        assert_eq!(order.status, Paid);
        let f = order.fulfillment.unwrap();
        assert_eq!(
            (f.event_id.as_str(), f.amount_total, f.fulfilled_at),
            ("evt_1", Some(4999), 100)
        );
        assert_eq!(f.product_id.as_deref(), Some("sku-tee"));
        assert_eq!(f.customer_email.as_deref(), Some("jane@example.com"));
        assert_eq!(ledger.event_count().unwrap(), 2);
    }

    #[test]
    fn delayed_payments_wait_then_pay_and_expiry_after_paid_changes_nothing() {
        let ledger = Ledger::open(&temp_db("delayed")).unwrap();
        let r = ledger
            .record(
                &session_event("evt_a", "checkout.session.completed", "cs_2", "unpaid"),
                1,
                false,
            )
            .unwrap();
        assert_eq!(r.status, Some(AwaitingPayment));
        assert!(ledger.order("cs_2").unwrap().unwrap().fulfillment.is_none());
        let r = ledger
            .record(
                &session_event(
                    "evt_b",
                    "checkout.session.async_payment_succeeded",
                    "cs_2",
                    "paid",
                ),
                2,
                false,
            )
            .unwrap();
        assert!(r.entered_paid && !r.hook_queued);
        let r = ledger
            .record(
                &session_event("evt_c", "checkout.session.expired", "cs_2", "unpaid"),
                3,
                false,
            )
            .unwrap();
        assert_eq!(r.status, Some(Paid));
        assert!(r.outcome.contains("unchanged"));
        let order = ledger.order("cs_2").unwrap().unwrap();
        assert_eq!(
            (order.status, order.last_event_id.as_str()),
            (Paid, "evt_b")
        );
        assert_eq!(ledger.orders(Some(Paid), 10).unwrap().len(), 1);
        assert_eq!(ledger.orders(Some(Expired), 10).unwrap().len(), 0);
    }

    #[test]
    fn other_events_are_recorded_and_ignored() {
        let ledger = Ledger::open(&temp_db("other")).unwrap();
        let e: Event = serde_json::from_value(json!({
            "id": "evt_x", "type": "customer.created", "data": {"object": {"id": "cus_1"}}
        }))
        .unwrap();
        let r = ledger.record(&e, 1, true).unwrap();
        assert!(r.session_id.is_none() && r.outcome.starts_with("ignored"));
        assert_eq!(r.ignored, Some(Ignored::OtherType));
        assert!(ledger.has_event("evt_x").unwrap());
        assert!(ledger.orders(None, 10).unwrap().is_empty());
    }

    #[test]
    fn a_hook_is_claimed_by_one_caller_and_retried_after_failure() {
        let ledger = Ledger::open(&temp_db("hooks")).unwrap();
        ledger
            .record(
                &session_event("evt_1", "checkout.session.completed", "cs_h", "paid"),
                1,
                true,
            )
            .unwrap();
        let f = ledger.claim_hook("cs_h", 2).unwrap().unwrap();
        assert_eq!(f.session_id, "cs_h");
        assert!(
            ledger.claim_hook("cs_h", 2).unwrap().is_none(),
            "claimed twice"
        );
        ledger
            .finish_hook("cs_h", Err("exit status 1".into()), 3)
            .unwrap();
        assert_eq!(ledger.hooks_to_retry(4).unwrap(), vec!["cs_h".to_string()]);
        assert!(ledger.claim_hook("cs_h", 5).unwrap().is_some());
        ledger.finish_hook("cs_h", Ok(()), 6).unwrap();
        assert!(ledger.hooks_to_retry(7).unwrap().is_empty());
        assert!(ledger.claim_hook("cs_h", 8).unwrap().is_none());
        let hook = ledger.order("cs_h").unwrap().unwrap().hook.unwrap();
        assert_eq!((hook.state.as_str(), hook.attempts), ("done", 2));
    }

    #[test]
    fn a_crash_while_running_is_retried() {
        let ledger = Ledger::open(&temp_db("crash")).unwrap();
        ledger
            .record(
                &session_event("evt_1", "checkout.session.completed", "cs_c", "paid"),
                1,
                true,
            )
            .unwrap();
        assert!(ledger.claim_hook("cs_c", 2).unwrap().is_some());
        // The process dies here; on the next start:
        assert_eq!(ledger.hooks_to_retry(3).unwrap(), vec!["cs_c".to_string()]);
    }

    #[test]
    fn two_connections_on_one_file_record_concurrently_without_losing_or_doubling() {
        let path = temp_db("shared");
        let a = Ledger::open(&path).unwrap();
        let b = Ledger::open(&path).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let l = if i % 2 == 0 { a.clone() } else { b.clone() };
                std::thread::spawn(move || {
                    let e = session_event("evt_same", "checkout.session.completed", "cs_s", "paid");
                    let r = l.record(&e, i, true).unwrap();
                    (r.entered_paid, i)
                })
            })
            .collect();
        let paid: usize = threads
            .into_iter()
            .map(|t| usize::from(t.join().unwrap().0))
            .sum();
        assert_eq!(paid, 1);
        assert_eq!(b.event_count().unwrap(), 1);
    }

    #[test]
    fn session_snapshots_read_what_fulfillment_needs() {
        let s = SessionSnapshot::from_object(&json!({
            "id": "cs_1", "customer_email": "a@b.co", "metadata": {"n": 1, "product_id": "p"},
            "payment_intent": {"id": "pi_9"}
        }))
        .unwrap();
        assert_eq!(s.customer_email.as_deref(), Some("a@b.co"));
        assert_eq!(s.metadata.get("n").map(String::as_str), Some("1"));
        assert_eq!(s.payment_intent.as_deref(), Some("pi_9"));
        assert!(SessionSnapshot::from_object(&json!({"object": "checkout.session"})).is_none());
    }
}
