//! The SQLite backend: one file in WAL mode, for one machine (the receiver and the MCP
//! servers on it may open the same file at once).
//!
//! Every write is one `BEGIN IMMEDIATE` transaction, which takes the file's write lock
//! first, so check-then-write (an event id, an order's move, a spending tally) is atomic
//! across connections and processes; `busy_timeout` makes a writer wait for another's lock.
//! `synchronous=FULL`: a commit is on disk before Stripe is answered, even across a power cut.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    AccountFilter, Claim, Options, SchemaStatus, StoreError,
    books::{self, AccountBooks, BookTxn},
    guard::{
        self, AUDIT_LIST_MAX, AuditEntry, AuditFilter, AuditId, AuditOutcome, AuditRecord, DAY,
        LimitRefusal, SpendId, SpendRequest,
    },
    migrations,
    orders::{Event, Fulfillment, Hook, Order, OrderStatus, Recorded, SessionEvent, transition},
};

/// How long a write waits for the other process's lock before failing (then Stripe retries).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection per process, shared by its threads. Cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database file, for messages.
    path: PathBuf,
    /// The connection; SQLite serializes writers anyway, and one connection keeps the
    /// file-descriptor count fixed.
    conn: Mutex<Connection>,
    /// How long a claimed hook run is held (seconds).
    lease_secs: i64,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn lease_secs(options: &Options) -> i64 {
    i64::try_from(options.hook_lease.as_secs())
        .unwrap_or(i64::MAX)
        .max(1)
}

impl Sqlite {
    /// Opens (creating if needed) the database, in WAL mode, and migrates it (unless
    /// `options.migrate` is false).
    pub fn open(path: &Path, options: &Options) -> Result<Sqlite, StoreError> {
        let fail = |message: String| StoreError::Open {
            target: path.display().to_string(),
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
        if options.migrate {
            match migrate(&mut conn) {
                Ok(()) => {}
                Err(Migrate::TooNew(found)) => {
                    return Err(StoreError::TooNew {
                        target: path.display().to_string(),
                        found,
                        known: migrations::LATEST,
                    });
                }
                Err(Migrate::Sql(e)) => return Err(fail(e.to_string())),
            }
        }
        Ok(Sqlite {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                conn: Mutex::new(conn),
                lease_secs: lease_secs(options),
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

    /// The recorded version beside the newest known.
    pub fn schema(&self) -> Result<SchemaStatus, StoreError> {
        let found: i64 = self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(SchemaStatus {
            found,
            known: migrations::LATEST,
        })
    }

    /// Records one verified event in one `BEGIN IMMEDIATE` transaction (see
    /// [`super::Store::record`]).
    ///
    /// A known event id changes nothing. A Checkout Session event moves its order by
    /// [`transition`]; entering `paid` records the fulfillment and, with `queue_hook`, a
    /// pending `--on-paid` run, in the same transaction.
    pub fn record(
        &self,
        event: &Event,
        now: i64,
        queue_hook: bool,
    ) -> Result<Recorded, StoreError> {
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
                                             last_event_type, created_at, updated_at, account)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)
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
                             updated_at = excluded.updated_at,
                             account = CASE WHEN orders.account = '' THEN excluded.account ELSE orders.account END",
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
                            event.account.as_deref().unwrap_or(""),
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

    /// `SELECT 1`.
    pub fn ping(&self) -> Result<(), StoreError> {
        Ok(self.conn().query_row("SELECT 1", [], |_| Ok(()))?)
    }

    /// Whether an event id is recorded.
    pub fn has_event(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM events WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// How many events are recorded.
    pub fn event_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
    }

    /// One order, with its fulfillment and hook run.
    pub fn order(
        &self,
        session_id: &str,
        accounts: &AccountFilter,
    ) -> Result<Option<Order>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ORDER_SELECT} WHERE o.session_id = ?1
             AND (?2 IS NULL OR o.account IN (SELECT value FROM json_each(?2)))"
        ))?;
        Ok(stmt
            .query_row(params![session_id, accounts.json()], order_from_row)
            .optional()?)
    }

    /// Orders, most recently moved first, optionally of one status.
    pub fn orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
        accounts: &AccountFilter,
    ) -> Result<Vec<Order>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{ORDER_SELECT} WHERE (?1 IS NULL OR o.status = ?1)
             AND (?3 IS NULL OR o.account IN (SELECT value FROM json_each(?3)))
             ORDER BY o.updated_at DESC, o.session_id LIMIT ?2"
        ))?;
        let rows = stmt.query_map(
            params![status.map(OrderStatus::as_str), limit, accounts.json()],
            order_from_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Claims one session's run (see [`super::Store::claim_hook`]).
    pub fn claim_hook(&self, session_id: &str, now: i64) -> Result<Option<Claim>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claim = claim_in(&tx, session_id, now, self.inner.lease_secs)?;
        tx.commit()?;
        Ok(claim)
    }

    /// Claims the next due run (see [`super::Store::claim_next_hook`]).
    pub fn claim_next_hook(
        &self,
        now: i64,
        before: i64,
    ) -> Result<Option<(String, Claim)>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next: Option<String> = tx
            .query_row(
                "SELECT session_id FROM hooks
                 WHERE (state = 'pending' AND updated_at < ?2)
                    OR (state = 'running' AND coalesce(lease_until, 0) <= ?1)
                 ORDER BY updated_at, session_id LIMIT 1",
                params![now, before],
                |r| r.get(0),
            )
            .optional()?;
        let Some(session_id) = next else {
            return Ok(None);
        };
        let claim = claim_in(&tx, &session_id, now, self.inner.lease_secs)?;
        tx.commit()?;
        Ok(claim.map(|c| (session_id, c)))
    }

    /// Runs to retry at start-up (see [`super::Store::hooks_due`]).
    pub fn hooks_due(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT session_id FROM hooks
             WHERE state IN ('pending', 'failed') OR (state = 'running' AND coalesce(lease_until, 0) <= ?1)
             ORDER BY updated_at, session_id LIMIT 10000",
        )?;
        let rows = stmt.query_map([now], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Extends a held lease.
    pub fn renew_hook(&self, session_id: &str, token: &str, now: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE hooks SET lease_until = ?3 + ?4
             WHERE session_id = ?1 AND state = 'running' AND lease_owner = ?2",
            params![session_id, token, now, self.inner.lease_secs],
        )?;
        Ok(n == 1)
    }

    /// Records how a claimed run ended, if this holder still holds it.
    pub fn finish_hook(
        &self,
        session_id: &str,
        token: &str,
        result: Result<(), String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.conn();
        let n = match result {
            Ok(()) => conn.execute(
                "UPDATE hooks SET state = 'done', done_at = ?3, updated_at = ?3, lease_owner = NULL, lease_until = NULL
                 WHERE session_id = ?1 AND state = 'running' AND lease_owner = ?2",
                params![session_id, token, now],
            )?,
            Err(error) => conn.execute(
                "UPDATE hooks SET state = 'failed', last_error = ?3, updated_at = ?4, lease_owner = NULL, lease_until = NULL
                 WHERE session_id = ?1 AND state = 'running' AND lease_owner = ?2",
                params![session_id, token, error, now],
            )?,
        };
        Ok(n == 1)
    }

    /// Check-and-reserve under the file's write lock (`BEGIN IMMEDIATE`).
    pub fn reserve_spend(
        &self,
        request: &SpendRequest,
    ) -> Result<Result<SpendId, LimitRefusal>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let window = {
            let mut stmt = tx.prepare_cached(
                "SELECT at, amount FROM spend
                 WHERE scope = ?1 AND kind = ?2 AND currency = ?3 AND state IN ('held', 'kept')
                   AND at > ?4 - ?5 AND at <= ?4
                 ORDER BY at, id",
            )?;
            let rows = stmt.query_map(
                params![
                    request.scope,
                    request.kind,
                    request.currency,
                    request.now,
                    DAY
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        if let Err(refusal) = guard::decide(request, &window) {
            return Ok(Err(refusal));
        }
        tx.execute(
            "INSERT INTO spend (scope, kind, currency, amount, state, at) VALUES (?1, ?2, ?3, ?4, 'held', ?5)",
            params![request.scope, request.kind, request.currency, request.amount, request.now],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Ok(SpendId(id)))
    }

    /// Moves a held reservation to kept or released (once: a settled one stays settled).
    pub fn settle_spend(&self, id: SpendId, state: &'static str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE spend SET state = ?2 WHERE id = ?1 AND state = 'held'",
            params![id.0, state],
        )?;
        Ok(())
    }

    /// Inserts an audit row (outcome unknown).
    pub fn audit_begin(&self, e: &AuditEntry) -> Result<AuditId, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit (at, tenant, tool, method, path, amount, currency, object_id,
                                idempotency_key, confirmation, limit_decision, account, caller)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                e.at,
                e.tenant,
                e.tool,
                e.method,
                e.path,
                e.amount,
                e.currency,
                e.object_id,
                e.idempotency_key,
                e.confirmation,
                e.limit_decision,
                e.account,
                e.caller
            ],
        )?;
        Ok(AuditId(conn.last_insert_rowid()))
    }

    /// Sets an unfinished row's outcome.
    pub fn audit_finish(&self, id: AuditId, o: &AuditOutcome) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE audit SET outcome = ?2, http_status = ?3, request_id = ?4,
                              object_id = coalesce(?5, object_id), error = ?6
             WHERE id = ?1 AND outcome = 'unknown'",
            params![
                id.0,
                o.outcome,
                o.http_status,
                o.request_id,
                o.object_id,
                o.error
            ],
        )?;
        Ok(())
    }

    /// Lists audit rows, newest first.
    pub fn audit_list(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at, tenant, tool, method, path, amount, currency, object_id, idempotency_key,
                    confirmation, limit_decision, outcome, http_status, request_id, error,
                    account, caller
             FROM audit WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR tenant = ?2)
             ORDER BY at DESC, id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![f.since, f.tenant, f.limit.min(AUDIT_LIST_MAX)],
            |r| {
                Ok(AuditRecord {
                    id: AuditId(r.get(0)?),
                    entry: AuditEntry {
                        at: r.get(1)?,
                        tenant: r.get(2)?,
                        tool: r.get(3)?,
                        method: r.get(4)?,
                        path: r.get(5)?,
                        amount: r.get(6)?,
                        currency: r.get(7)?,
                        object_id: r.get(8)?,
                        idempotency_key: r.get(9)?,
                        confirmation: r.get(10)?,
                        limit_decision: r.get(11)?,
                        account: r.get(16)?,
                        caller: r.get(17)?,
                    },
                    outcome: r.get(12)?,
                    http_status: r.get(13)?,
                    request_id: r.get(14)?,
                    error: r.get(15)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

impl Sqlite {
    /// The ranges of `account` read in full, oldest first.
    pub fn books_ranges(&self, account: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        let conn = self.conn();
        ranges_in(&conn, account)
    }

    /// Keeps transactions (once by id) and adds the ranges, in one transaction.
    pub fn books_put(
        &self,
        account: &str,
        txns: &[BookTxn],
        read: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO books_txns (account, id, amount, fee, net, currency, type,
                                         reporting_category, source, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (account, id) DO NOTHING",
            )?;
            for t in txns {
                insert.execute(params![
                    account,
                    t.id,
                    t.amount,
                    t.fee,
                    t.net,
                    t.currency,
                    t.kind,
                    t.reporting_category,
                    t.source,
                    t.created
                ])?;
            }
        }
        let mut ranges = ranges_in(&tx, account)?;
        for r in read {
            ranges = books::merge(&ranges, *r);
        }
        tx.execute(
            "DELETE FROM books_ranges WHERE account = ?1",
            params![account],
        )?;
        for (s, e) in ranges {
            tx.execute(
                "INSERT INTO books_ranges (account, start_at, end_at) VALUES (?1, ?2, ?3)",
                params![account, s, e],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The kept transactions of `account` created in `[start, end)`.
    pub fn books_read(
        &self,
        account: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<BookTxn>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, amount, fee, net, currency, type, reporting_category, source, created
             FROM books_txns WHERE account = ?1 AND created >= ?2 AND created < ?3",
        )?;
        let rows = stmt.query_map(params![account, start, end], |r| {
            Ok(BookTxn {
                id: r.get(0)?,
                amount: r.get(1)?,
                fee: r.get(2)?,
                net: r.get(3)?,
                currency: r.get(4)?,
                kind: r.get(5)?,
                reporting_category: r.get(6)?,
                source: r.get(7)?,
                created: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every account's count of kept transactions and ranges read.
    pub fn books_status(&self) -> Result<Vec<AccountBooks>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT a.account, (SELECT count(*) FROM books_txns t WHERE t.account = a.account)
             FROM (SELECT account FROM books_ranges UNION SELECT account FROM books_txns) a
             ORDER BY a.account",
        )?;
        let accounts = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        accounts
            .into_iter()
            .map(|(account, n)| {
                Ok(AccountBooks {
                    ranges: ranges_in(&conn, &account)?,
                    transactions: n as u64,
                    account,
                })
            })
            .collect()
    }
}

fn ranges_in(conn: &Connection, account: &str) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT start_at, end_at FROM books_ranges WHERE account = ?1 ORDER BY start_at",
    )?;
    let rows = stmt.query_map(params![account], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Inside a write transaction: takes the run if it is claimable, returning the
/// fulfillment and a new lease token.
fn claim_in(
    tx: &rusqlite::Transaction<'_>,
    session_id: &str,
    now: i64,
    lease_secs: i64,
) -> Result<Option<Claim>, StoreError> {
    let token = uuid::Uuid::new_v4().to_string();
    let claimed = tx.execute(
        "UPDATE hooks SET state = 'running', attempts = attempts + 1, updated_at = ?2,
                lease_owner = ?3, lease_until = ?2 + ?4,
                last_error = CASE WHEN state = 'running' THEN 'lease expired: its holder stopped' ELSE last_error END
         WHERE session_id = ?1
           AND (state IN ('pending', 'failed') OR (state = 'running' AND coalesce(lease_until, 0) <= ?2))",
        params![session_id, now, token, lease_secs],
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
        .optional()?
        .flatten();
    Ok(fulfillment.map(|fulfillment| Claim { fulfillment, token }))
}

enum Migrate {
    TooNew(i64),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Migrate {
    fn from(e: rusqlite::Error) -> Migrate {
        Migrate::Sql(e)
    }
}

/// Applies the missing migrations in one `BEGIN IMMEDIATE` transaction.
fn migrate(conn: &mut Connection) -> Result<(), Migrate> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > migrations::LATEST {
        return Err(Migrate::TooNew(version));
    }
    for sql in &migrations::SQLITE[usize::try_from(version).unwrap_or(0)..] {
        tx.execute_batch(sql)?;
    }
    if version < migrations::LATEST {
        tx.pragma_update(None, "user_version", migrations::LATEST)?;
    }
    tx.commit()?;
    Ok(())
}

const FULFILLMENT_SELECT: &str = "SELECT f.session_id, f.event_id, f.amount_total, f.currency,
    f.customer_email, f.metadata, f.product_id, f.client_reference_id, f.payment_intent, f.livemode,
    f.fulfilled_at FROM fulfillments f";

const ORDER_SELECT: &str = "SELECT o.session_id, o.status, o.amount_total, o.currency,
    o.customer_email, o.metadata, o.client_reference_id, o.payment_intent, o.livemode,
    o.last_event_id, o.last_event_type, o.created_at, o.updated_at,
    f.session_id, f.event_id, f.amount_total, f.currency, f.customer_email, f.metadata,
    f.product_id, f.client_reference_id, f.payment_intent, f.livemode, f.fulfilled_at,
    h.state, h.attempts, h.last_error, h.done_at, o.account
    FROM orders o
    LEFT JOIN fulfillments f ON f.session_id = o.session_id
    LEFT JOIN hooks h ON h.session_id = o.session_id";

pub(super) fn metadata_from(raw: Option<String>) -> BTreeMap<String, String> {
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
        account: Some(r.get::<_, String>(28)?).filter(|a| !a.is_empty()),
    })
}
