//! The PostgreSQL backend (`--db postgres://...`): one database shared by several webhook
//! receivers and MCP servers, so they agree on every event, order, fulfillment, hook run,
//! spending tally and audit row.
//!
//! - A bounded `deadpool-postgres` pool over `tokio-postgres`; a connection the server
//!   dropped (a restart) is noticed on checkout and replaced, so the pool reconnects.
//! - TLS with rustls by the URL's `sslmode`: `require`, `verify-ca` and `verify-full` all
//!   verify the server's certificate and name (webpki roots, plus `sslrootcert=FILE`);
//!   `disable` is plain; without `sslmode`, a loopback host is plain and any other host
//!   tries TLS first (`prefer`).
//! - Timeouts: on connecting (`connect_timeout`), per statement on the server
//!   (`statement_timeout`; `idle_in_transaction_session_timeout` frees locks of a client
//!   that vanished), and per operation on the client, after which the connection is
//!   discarded, never reused mid-transaction.
//! - Every write is one transaction at READ COMMITTED; what must be serialized takes a
//!   transaction-scoped advisory lock: one per Checkout Session (so two receivers never
//!   both fulfill one order), one per spending tally, one for migrations. Events are
//!   inserted `ON CONFLICT DO NOTHING`, so the same event arriving at three receivers at
//!   once is recorded by exactly one. Hook runs are claimed with a conditional `UPDATE`
//!   (row lock) or `FOR UPDATE SKIP LOCKED`, under a lease with an expiry.
//! - Durability: the server's own `fsync`/`synchronous_commit` (on by default); a
//!   commit returns only once it is flushed, and the receiver answers only after that.

use std::{collections::BTreeMap, str::FromStr, sync::Arc, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::{Row, config::Host, config::SslMode};

use super::{
    AccountFilter, Claim, Options, PgUrl, SchemaStatus, StoreError,
    books::{self, AccountBooks, BookTxn},
    guard::{
        self, AUDIT_LIST_MAX, AuditEntry, AuditFilter, AuditId, AuditOutcome, AuditRecord, DAY,
        LimitRefusal, SpendId, SpendRequest,
    },
    migrations,
    orders::{Event, Fulfillment, Hook, Order, OrderStatus, Recorded, SessionEvent, transition},
};

/// Advisory-lock namespaces (the first key of `pg_advisory_xact_lock(int, int)`).
const LOCK_SESSION: i32 = 0x5354_0001;
const LOCK_SPEND: i32 = 0x5354_0002;
const LOCK_MIGRATE: i32 = 0x5354_0003;
const LOCK_BOOKS: i32 = 0x5354_0004;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        // A server error's message and code; otherwise the client's own words (connection
        // closed, timed out). Neither ever contains the password.
        match e.as_db_error() {
            Some(db) => StoreError::Postgres(format!(
                "{} ({}): {}",
                db.severity(),
                db.code().code(),
                db.message()
            )),
            None => StoreError::Postgres(e.to_string()),
        }
    }
}

/// The pool and its settings. Cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    inner: Arc<Inner>,
}

struct Inner {
    /// Bounded: at most `Options::pool_size` connections.
    pool: Pool,
    /// How long one operation may take on the client side before the connection is
    /// dropped and the operation fails.
    op_timeout: Duration,
    /// How long a claimed hook run is held (seconds).
    lease_secs: i64,
    /// The URL with its password masked, for messages.
    shown: String,
}

/// Runs `$body` with a pooled connection under the operation timeout; on timeout the
/// connection is taken out of the pool and closed (it may be mid-transaction).
macro_rules! op {
    ($self:ident, $client:ident => $body:expr) => {{
        #[allow(unused_mut)] // only transactions need it mutable
        let mut $client = $self.client().await?;
        let result = tokio::time::timeout($self.inner.op_timeout, async { $body }).await;
        match result {
            Ok(r) => r,
            Err(_) => {
                drop(deadpool_postgres::Object::take($client));
                Err(StoreError::Postgres(format!(
                    "the operation did not finish within {} s; the connection was closed",
                    $self.inner.op_timeout.as_secs()
                )))
            }
        }
    }};
}

/// The URL's `sslmode` and `sslrootcert`, which this module handles itself (tokio-postgres
/// knows neither `verify-ca` nor `verify-full`), and the rest of the URL for it to parse.
fn split_tls_params(raw: &str) -> Result<(String, Option<String>, Option<String>), String> {
    let mut url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    let mut sslmode = None;
    let mut rootcert = None;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" => {
                sslmode = Some(v.into_owned());
                None
            }
            "sslrootcert" => {
                rootcert = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok((url.to_string(), sslmode, rootcert))
}

fn is_loopback(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
}

fn rustls_config(rootcert: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = rootcert {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
        }
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

impl Postgres {
    /// Builds the pool, checks that the database answers, and migrates it (unless
    /// `options.migrate` is false).
    pub async fn open(url: &PgUrl, options: &Options) -> Result<Postgres, StoreError> {
        let shown = format!("{url:?}");
        let fail = |message: String| StoreError::Open {
            target: shown.clone(),
            message,
        };
        let (plain_url, sslmode, rootcert) = split_tls_params(url.secret_url()).map_err(fail)?;
        let mut config = tokio_postgres::Config::from_str(&plain_url)
            // The parser's message may quote the URL: say only where to look.
            .map_err(|_| fail("the URL's options do not parse (check the port, the database name and the query parameters)".into()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("stripe-mcp");
        }
        let timeouts = format!(
            "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
            options.statement_timeout.as_millis(),
            (options.statement_timeout * 3).as_millis()
        );
        let server_options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} {timeouts}"),
            _ => timeouts,
        };
        config.options(&server_options);
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let tls = match sslmode.as_deref() {
            Some("disable") => None,
            Some("require" | "verify-ca" | "verify-full") => Some(SslMode::Require),
            Some("prefer" | "allow") | None if is_loopback(&config) => None,
            Some("prefer" | "allow") | None => Some(SslMode::Prefer),
            Some(other) => {
                return Err(fail(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        };
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls {
            None => {
                config.ssl_mode(SslMode::Disable);
                Manager::from_config(config, tokio_postgres::NoTls, manager_config)
            }
            Some(mode) => {
                config.ssl_mode(mode);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
                    rustls_config(rootcert.as_deref()).map_err(fail)?,
                );
                Manager::from_config(config, tls, manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let pg = Postgres {
            inner: Arc::new(Inner {
                pool,
                op_timeout: options.statement_timeout + Duration::from_secs(2),
                lease_secs: i64::try_from(options.hook_lease.as_secs())
                    .unwrap_or(i64::MAX)
                    .max(1),
                shown: shown.clone(),
            }),
        };
        let reached = pg.ping().await;
        if let Err(e) = reached {
            return Err(fail(format!("cannot reach the database: {e}")));
        }
        if options.migrate {
            pg.migrate().await.map_err(|e| match e {
                e @ StoreError::TooNew { .. } => e,
                other => fail(format!("migration failed: {other}")),
            })?;
        }
        Ok(pg)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.inner.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::from(e),
            deadpool_postgres::PoolError::Timeout(_) => StoreError::Postgres(
                "no database connection within the connect timeout (the server may be down or restarting)".into(),
            ),
            other => StoreError::Postgres(other.to_string()),
        })
    }

    /// `SELECT 1`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        op!(self, c => {
            c.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        op!(self, c => {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATE]).await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS stripe_mcp_schema (
                    version    INTEGER PRIMARY KEY,
                    applied_at BIGINT NOT NULL
                )",
            )
            .await?;
            let found: i64 = tx
                .query_one("SELECT coalesce(max(version), 0)::BIGINT FROM stripe_mcp_schema", &[])
                .await?
                .try_get(0)?;
            if found > migrations::LATEST {
                return Err(StoreError::TooNew {
                    target: self.inner.shown.clone(),
                    found,
                    known: migrations::LATEST,
                });
            }
            let now = super::orders::unix_now();
            for (i, sql) in migrations::POSTGRES.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
                tx.batch_execute(sql).await?;
                let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
                tx.execute(
                    "INSERT INTO stripe_mcp_schema (version, applied_at) VALUES ($1, $2)",
                    &[&version, &now],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The recorded version beside the newest known.
    pub async fn schema(&self) -> Result<SchemaStatus, StoreError> {
        op!(self, c => {
            let exists: bool = c
                .query_one("SELECT to_regclass('stripe_mcp_schema') IS NOT NULL", &[])
                .await?
                .try_get(0)?;
            let found: i64 = if exists {
                c.query_one("SELECT coalesce(max(version), 0)::BIGINT FROM stripe_mcp_schema", &[])
                    .await?
                    .try_get(0)?
            } else {
                0
            };
            Ok(SchemaStatus { found, known: migrations::LATEST })
        })
    }

    /// Records one verified event in one transaction (see [`super::Store::record`]).
    pub async fn record(
        &self,
        event: &Event,
        now: i64,
        queue_hook: bool,
    ) -> Result<Recorded, StoreError> {
        let duplicate = || Recorded {
            duplicate: true,
            session_id: None,
            status: None,
            entered_paid: false,
            hook_queued: false,
            ignored: None,
            outcome: "duplicate: already recorded".into(),
        };
        op!(self, c => {
            let tx = c.transaction().await?;
            let known = tx
                .prepare_cached("SELECT 1 FROM events WHERE id = $1")
                .await?;
            if tx.query_opt(&known, &[&event.id]).await?.is_some() {
                return Ok(duplicate());
            }
            let mut recorded = Recorded {
                duplicate: false,
                session_id: None,
                status: None,
                entered_paid: false,
                hook_queued: false,
                ignored: None,
                outcome: String::new(),
            };
            match SessionEvent::classify(&event.kind, &event.data.object) {
                Err(why) => {
                    recorded.ignored = Some(why);
                    recorded.outcome = why.reason().into();
                }
                Ok((snap, session_event)) => {
                    // Serializes every delivery about this session, across processes,
                    // until this transaction ends.
                    tx.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        &[&LOCK_SESSION, &snap.id],
                    )
                    .await?;
                    let current = tx
                        .query_opt("SELECT status FROM orders WHERE session_id = $1", &[&snap.id])
                        .await?
                        .map(|r| r.try_get::<_, String>(0))
                        .transpose()?
                        .and_then(|s| OrderStatus::parse(&s));
                    let next = transition(current, session_event);
                    let metadata =
                        serde_json::to_string(&snap.metadata).unwrap_or_else(|_| "{}".into());
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
                            let upsert = tx.prepare_cached(
                                "INSERT INTO orders (session_id, status, amount_total, currency, customer_email, metadata,
                                                     client_reference_id, payment_intent, livemode, last_event_id,
                                                     last_event_type, created_at, updated_at, account)
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
                                 ON CONFLICT (session_id) DO UPDATE SET
                                     status = excluded.status,
                                     amount_total = coalesce(excluded.amount_total, orders.amount_total),
                                     currency = coalesce(excluded.currency, orders.currency),
                                     customer_email = coalesce(excluded.customer_email, orders.customer_email),
                                     metadata = excluded.metadata,
                                     client_reference_id = coalesce(excluded.client_reference_id, orders.client_reference_id),
                                     payment_intent = coalesce(excluded.payment_intent, orders.payment_intent),
                                     livemode = excluded.livemode,
                                     last_event_id = excluded.last_event_id,
                                     last_event_type = excluded.last_event_type,
                                     updated_at = excluded.updated_at,
                                     account = CASE WHEN orders.account = '' THEN excluded.account ELSE orders.account END",
                            ).await?;
                            tx.execute(
                                &upsert,
                                &[
                                    &snap.id,
                                    &next.as_str(),
                                    &snap.amount_total,
                                    &snap.currency,
                                    &snap.customer_email,
                                    &metadata,
                                    &snap.client_reference_id,
                                    &snap.payment_intent,
                                    &event.livemode,
                                    &event.id,
                                    &event.kind,
                                    &now,
                                    &event.account.as_deref().unwrap_or(""),
                                ],
                            )
                            .await?;
                            recorded.outcome = format!(
                                "{} -> {}",
                                current.map_or("new", OrderStatus::as_str),
                                next.as_str()
                            );
                            if next == OrderStatus::Paid {
                                // The primary key makes a second fulfillment impossible.
                                let fulfill = tx.prepare_cached(
                                    "INSERT INTO fulfillments (session_id, event_id, amount_total, currency, customer_email,
                                                               metadata, product_id, client_reference_id, payment_intent,
                                                               livemode, fulfilled_at)
                                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                                ).await?;
                                tx.execute(
                                    &fulfill,
                                    &[
                                        &snap.id,
                                        &event.id,
                                        &snap.amount_total,
                                        &snap.currency,
                                        &snap.customer_email,
                                        &metadata,
                                        &snap.metadata.get("product_id"),
                                        &snap.client_reference_id,
                                        &snap.payment_intent,
                                        &event.livemode,
                                        &now,
                                    ],
                                )
                                .await?;
                                recorded.entered_paid = true;
                                if queue_hook {
                                    tx.execute(
                                        "INSERT INTO hooks (session_id, state, updated_at) VALUES ($1, 'pending', $2)",
                                        &[&snap.id, &now],
                                    )
                                    .await?;
                                    recorded.hook_queued = true;
                                }
                            }
                        }
                    }
                }
            }
            let insert = tx.prepare_cached(
                "INSERT INTO events (id, type, created, livemode, session_id, outcome, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
            ).await?;
            let inserted = tx
                .execute(
                    &insert,
                    &[
                        &event.id,
                        &event.kind,
                        &event.created,
                        &event.livemode,
                        &recorded.session_id,
                        &recorded.outcome,
                        &now,
                    ],
                )
                .await?;
            if inserted == 0 {
                // Another process recorded this very event while this one ran: its
                // transaction is the one that counts; this one changes nothing.
                tx.rollback().await?;
                return Ok(duplicate());
            }
            tx.commit().await?;
            Ok(recorded)
        })
    }

    /// Whether an event id is recorded.
    pub async fn has_event(&self, id: &str) -> Result<bool, StoreError> {
        op!(self, c => Ok(c.query_opt("SELECT 1 FROM events WHERE id = $1", &[&id]).await?.is_some()))
    }

    /// How many events are recorded.
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        op!(self, c => Ok(c.query_one("SELECT count(*) FROM events", &[]).await?.try_get(0)?))
    }

    /// One order, with its fulfillment and hook run.
    pub async fn order(
        &self,
        session_id: &str,
        accounts: &AccountFilter,
    ) -> Result<Option<Order>, StoreError> {
        let accounts = &accounts.0;
        op!(self, c => {
            let row = c
                .query_opt(
                    &format!(
                        "{ORDER_SELECT} WHERE o.session_id = $1
                         AND ($2::TEXT[] IS NULL OR o.account = ANY($2))"
                    ),
                    &[&session_id, accounts],
                )
                .await?;
            row.as_ref().map(order_from_row).transpose()
        })
    }

    /// Orders, most recently moved first, optionally of one status.
    pub async fn orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
        accounts: &AccountFilter,
    ) -> Result<Vec<Order>, StoreError> {
        let status = status.map(OrderStatus::as_str);
        let limit = i64::from(limit);
        let accounts = &accounts.0;
        op!(self, c => {
            let rows = c
                .query(
                    &format!(
                        "{ORDER_SELECT} WHERE ($1::TEXT IS NULL OR o.status = $1)
                         AND ($3::TEXT[] IS NULL OR o.account = ANY($3))
                         ORDER BY o.updated_at DESC, o.session_id LIMIT $2"
                    ),
                    &[&status, &limit, accounts],
                )
                .await?;
            rows.iter().map(order_from_row).collect()
        })
    }

    /// Claims one session's run (see [`super::Store::claim_hook`]).
    pub async fn claim_hook(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<Claim>, StoreError> {
        let lease = self.inner.lease_secs;
        op!(self, c => {
            let tx = c.transaction().await?;
            let claim = claim_in(&tx, session_id, now, lease).await?;
            tx.commit().await?;
            Ok(claim)
        })
    }

    /// Claims the next due run nobody else is claiming (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_next_hook(
        &self,
        now: i64,
        before: i64,
    ) -> Result<Option<(String, Claim)>, StoreError> {
        let lease = self.inner.lease_secs;
        op!(self, c => {
            let tx = c.transaction().await?;
            let next = tx
                .query_opt(
                    "SELECT session_id FROM hooks
                     WHERE (state = 'pending' AND updated_at < $2)
                        OR (state = 'running' AND coalesce(lease_until, 0) <= $1)
                     ORDER BY updated_at, session_id LIMIT 1
                     FOR UPDATE SKIP LOCKED",
                    &[&now, &before],
                )
                .await?;
            let Some(row) = next else {
                return Ok(None);
            };
            let session_id: String = row.try_get(0)?;
            let claim = claim_in(&tx, &session_id, now, lease).await?;
            tx.commit().await?;
            Ok(claim.map(|c| (session_id, c)))
        })
    }

    /// Runs to retry at start-up.
    pub async fn hooks_due(&self, now: i64) -> Result<Vec<String>, StoreError> {
        op!(self, c => {
            let rows = c
                .query(
                    "SELECT session_id FROM hooks
                     WHERE state IN ('pending', 'failed') OR (state = 'running' AND coalesce(lease_until, 0) <= $1)
                     ORDER BY updated_at, session_id LIMIT 10000",
                    &[&now],
                )
                .await?;
            rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
        })
    }

    /// Extends a held lease.
    pub async fn renew_hook(
        &self,
        session_id: &str,
        token: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let until = now.saturating_add(self.inner.lease_secs);
        op!(self, c => {
            let n = c
                .execute(
                    "UPDATE hooks SET lease_until = $3
                     WHERE session_id = $1 AND state = 'running' AND lease_owner = $2",
                    &[&session_id, &token, &until],
                )
                .await?;
            Ok(n == 1)
        })
    }

    /// Records how a claimed run ended, if this holder still holds it.
    pub async fn finish_hook(
        &self,
        session_id: &str,
        token: &str,
        result: Result<(), String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        op!(self, c => {
            let n = match &result {
                Ok(()) => c.execute(
                    "UPDATE hooks SET state = 'done', done_at = $3, updated_at = $3, lease_owner = NULL, lease_until = NULL
                     WHERE session_id = $1 AND state = 'running' AND lease_owner = $2",
                    &[&session_id, &token, &now],
                ).await?,
                Err(error) => c.execute(
                    "UPDATE hooks SET state = 'failed', last_error = $3, updated_at = $4, lease_owner = NULL, lease_until = NULL
                     WHERE session_id = $1 AND state = 'running' AND lease_owner = $2",
                    &[&session_id, &token, error, &now],
                ).await?,
            };
            Ok(n == 1)
        })
    }

    /// Check-and-reserve under the tally's advisory lock.
    pub async fn reserve_spend(
        &self,
        request: &SpendRequest,
    ) -> Result<Result<SpendId, LimitRefusal>, StoreError> {
        let key = format!(
            "{}\u{1f}{}\u{1f}{}",
            request.scope, request.kind, request.currency
        );
        let since = request.now - DAY;
        op!(self, c => {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&LOCK_SPEND, &key])
                .await?;
            let rows = tx
                .query(
                    "SELECT at, amount FROM spend
                     WHERE scope = $1 AND kind = $2 AND currency = $3 AND state IN ('held', 'kept')
                       AND at > $4 AND at <= $5
                     ORDER BY at, id",
                    &[&request.scope, &request.kind, &request.currency, &since, &request.now],
                )
                .await?;
            let window = rows
                .iter()
                .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?)))
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
            if let Err(refusal) = guard::decide(request, &window) {
                return Ok(Err(refusal));
            }
            let id: i64 = tx
                .query_one(
                    "INSERT INTO spend (scope, kind, currency, amount, state, at)
                     VALUES ($1, $2, $3, $4, 'held', $5) RETURNING id",
                    &[&request.scope, &request.kind, &request.currency, &request.amount, &request.now],
                )
                .await?
                .try_get(0)?;
            tx.commit().await?;
            Ok(Ok(SpendId(id)))
        })
    }

    /// Moves a held reservation to kept or released.
    pub async fn settle_spend(&self, id: SpendId, state: &'static str) -> Result<(), StoreError> {
        op!(self, c => {
            c.execute(
                "UPDATE spend SET state = $2 WHERE id = $1 AND state = 'held'",
                &[&id.0, &state],
            )
            .await?;
            Ok(())
        })
    }

    /// Inserts an audit row (outcome unknown).
    pub async fn audit_begin(&self, e: &AuditEntry) -> Result<AuditId, StoreError> {
        op!(self, c => {
            let id: i64 = c
                .query_one(
                    "INSERT INTO audit (at, tenant, tool, method, path, amount, currency, object_id,
                                        idempotency_key, confirmation, limit_decision, account, caller)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                    &[
                        &e.at, &e.tenant, &e.tool, &e.method, &e.path, &e.amount, &e.currency,
                        &e.object_id, &e.idempotency_key, &e.confirmation, &e.limit_decision,
                        &e.account, &e.caller,
                    ],
                )
                .await?
                .try_get(0)?;
            Ok(AuditId(id))
        })
    }

    /// Sets an unfinished row's outcome.
    pub async fn audit_finish(&self, id: AuditId, o: &AuditOutcome) -> Result<(), StoreError> {
        let status = o.http_status.map(i32::from);
        op!(self, c => {
            c.execute(
                "UPDATE audit SET outcome = $2, http_status = $3, request_id = $4,
                                  object_id = coalesce($5, object_id), error = $6
                 WHERE id = $1 AND outcome = 'unknown'",
                &[&id.0, &o.outcome, &status, &o.request_id, &o.object_id, &o.error],
            )
            .await?;
            Ok(())
        })
    }

    /// Lists audit rows, newest first.
    pub async fn audit_list(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = i64::from(f.limit.min(AUDIT_LIST_MAX));
        op!(self, c => {
            let rows = c
                .query(
                    "SELECT id, at, tenant, tool, method, path, amount, currency, object_id, idempotency_key,
                            confirmation, limit_decision, outcome, http_status, request_id, error,
                            account, caller
                     FROM audit WHERE ($1::BIGINT IS NULL OR at >= $1) AND ($2::TEXT IS NULL OR tenant = $2)
                     ORDER BY at DESC, id DESC LIMIT $3",
                    &[&f.since, &f.tenant, &limit],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRecord {
                        id: AuditId(r.try_get(0)?),
                        entry: AuditEntry {
                            at: r.try_get(1)?,
                            tenant: r.try_get(2)?,
                            tool: r.try_get(3)?,
                            method: r.try_get(4)?,
                            path: r.try_get(5)?,
                            amount: r.try_get(6)?,
                            currency: r.try_get(7)?,
                            object_id: r.try_get(8)?,
                            idempotency_key: r.try_get(9)?,
                            confirmation: r.try_get(10)?,
                            limit_decision: r.try_get(11)?,
                            account: r.try_get(16)?,
                            caller: r.try_get(17)?,
                        },
                        outcome: r.try_get(12)?,
                        http_status: r
                            .try_get::<_, Option<i32>>(13)?
                            .and_then(|s| u16::try_from(s).ok()),
                        request_id: r.try_get(14)?,
                        error: r.try_get(15)?,
                    })
                })
                .collect()
        })
    }
}

impl Postgres {
    /// The ranges of `account` read in full, oldest first.
    pub async fn books_ranges(&self, account: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        op!(self, c => {
            let rows = c
                .query(
                    "SELECT start_at, end_at FROM books_ranges WHERE account = $1 ORDER BY start_at",
                    &[&account],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect()
        })
    }

    /// Keeps transactions (once by id, in batches of arrays) and adds the ranges, in one
    /// transaction holding the account's books lock.
    pub async fn books_put(
        &self,
        account: &str,
        txns: &[BookTxn],
        read: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        op!(self, c => {
            let tx = c.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&LOCK_BOOKS, &account])
                .await?;
            for chunk in txns.chunks(5_000) {
                let col = |f: fn(&BookTxn) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
                let ids: Vec<&str> = chunk.iter().map(|t| t.id.as_str()).collect();
                let currencies: Vec<&str> = chunk.iter().map(|t| t.currency.as_str()).collect();
                let kinds: Vec<Option<&str>> = chunk.iter().map(|t| t.kind.as_deref()).collect();
                let cats: Vec<Option<&str>> =
                    chunk.iter().map(|t| t.reporting_category.as_deref()).collect();
                let sources: Vec<Option<&str>> = chunk.iter().map(|t| t.source.as_deref()).collect();
                tx.execute(
                    "INSERT INTO books_txns (account, id, amount, fee, net, currency, type,
                                             reporting_category, source, created)
                     SELECT $1, * FROM UNNEST($2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::BIGINT[],
                                              $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::BIGINT[])
                     ON CONFLICT (account, id) DO NOTHING",
                    &[
                        &account,
                        &ids,
                        &col(|t| t.amount),
                        &col(|t| t.fee),
                        &col(|t| t.net),
                        &currencies,
                        &kinds,
                        &cats,
                        &sources,
                        &col(|t| t.created),
                    ],
                )
                .await?;
            }
            let rows = tx
                .query(
                    "SELECT start_at, end_at FROM books_ranges WHERE account = $1 ORDER BY start_at",
                    &[&account],
                )
                .await?;
            let mut ranges = rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<Vec<(i64, i64)>, tokio_postgres::Error>>()?;
            for r in read {
                ranges = books::merge(&ranges, *r);
            }
            tx.execute("DELETE FROM books_ranges WHERE account = $1", &[&account])
                .await?;
            for (s, e) in ranges {
                tx.execute(
                    "INSERT INTO books_ranges (account, start_at, end_at) VALUES ($1, $2, $3)",
                    &[&account, &s, &e],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The kept transactions of `account` created in `[start, end)`.
    pub async fn books_read(
        &self,
        account: &str,
        start: i64,
        end: i64,
    ) -> Result<Vec<BookTxn>, StoreError> {
        op!(self, c => {
            let rows = c
                .query(
                    "SELECT id, amount, fee, net, currency, type, reporting_category, source, created
                     FROM books_txns WHERE account = $1 AND created >= $2 AND created < $3",
                    &[&account, &start, &end],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(BookTxn {
                        id: r.try_get(0)?,
                        amount: r.try_get(1)?,
                        fee: r.try_get(2)?,
                        net: r.try_get(3)?,
                        currency: r.try_get(4)?,
                        kind: r.try_get(5)?,
                        reporting_category: r.try_get(6)?,
                        source: r.try_get(7)?,
                        created: r.try_get(8)?,
                    })
                })
                .collect()
        })
    }

    /// Every account's count of kept transactions and ranges read.
    pub async fn books_status(&self) -> Result<Vec<AccountBooks>, StoreError> {
        let accounts: Vec<(String, i64)> = op!(self, c => {
            let rows = c
                .query(
                    "SELECT a.account, (SELECT count(*) FROM books_txns t WHERE t.account = a.account)
                     FROM (SELECT account FROM books_ranges UNION SELECT account FROM books_txns) a
                     ORDER BY a.account",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(StoreError::from)
        })?;
        let mut out = Vec::new();
        for (account, n) in accounts {
            out.push(AccountBooks {
                ranges: self.books_ranges(&account).await?,
                transactions: n as u64,
                account,
            });
        }
        Ok(out)
    }
}

/// Inside a transaction: takes the run if it is claimable (the row lock makes a
/// concurrent claimer wait, then see it running and claim nothing).
async fn claim_in(
    tx: &deadpool_postgres::Transaction<'_>,
    session_id: &str,
    now: i64,
    lease_secs: i64,
) -> Result<Option<Claim>, StoreError> {
    let token = uuid::Uuid::new_v4().to_string();
    let until = now.saturating_add(lease_secs);
    let claimed = tx
        .execute(
            "UPDATE hooks SET state = 'running', attempts = attempts + 1, updated_at = $2,
                    lease_owner = $3, lease_until = $4,
                    last_error = CASE WHEN state = 'running' THEN 'lease expired: its holder stopped' ELSE last_error END
             WHERE session_id = $1
               AND (state IN ('pending', 'failed') OR (state = 'running' AND coalesce(lease_until, 0) <= $2))",
            &[&session_id, &now, &token, &until],
        )
        .await?;
    if claimed == 0 {
        return Ok(None);
    }
    let row = tx
        .query_opt(
            &format!("{FULFILLMENT_SELECT} WHERE f.session_id = $1"),
            &[&session_id],
        )
        .await?;
    let fulfillment = match row {
        Some(r) => fulfillment_from_row(&r, 0)?,
        None => None,
    };
    Ok(fulfillment.map(|fulfillment| Claim { fulfillment, token }))
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

fn metadata_from(raw: Option<String>) -> BTreeMap<String, String> {
    raw.and_then(|m| serde_json::from_str(&m).ok())
        .unwrap_or_default()
}

fn fulfillment_from_row(r: &Row, at: usize) -> Result<Option<Fulfillment>, StoreError> {
    let Some(session_id) = r.try_get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(Fulfillment {
        session_id,
        event_id: r.try_get(at + 1)?,
        amount_total: r.try_get(at + 2)?,
        currency: r.try_get(at + 3)?,
        customer_email: r.try_get(at + 4)?,
        metadata: metadata_from(r.try_get(at + 5)?),
        product_id: r.try_get(at + 6)?,
        client_reference_id: r.try_get(at + 7)?,
        payment_intent: r.try_get(at + 8)?,
        livemode: r.try_get(at + 9)?,
        fulfilled_at: r.try_get(at + 10)?,
    }))
}

fn order_from_row(r: &Row) -> Result<Order, StoreError> {
    let status: String = r.try_get(1)?;
    let status = OrderStatus::parse(&status)
        .ok_or_else(|| StoreError::Postgres(format!("unknown order status {status:?}")))?;
    let hook = match r.try_get::<_, Option<String>>(24)? {
        None => None,
        Some(state) => Some(Hook {
            state,
            attempts: r.try_get(25)?,
            last_error: r.try_get(26)?,
            done_at: r.try_get(27)?,
        }),
    };
    Ok(Order {
        session_id: r.try_get(0)?,
        status,
        amount_total: r.try_get(2)?,
        currency: r.try_get(3)?,
        customer_email: r.try_get(4)?,
        metadata: metadata_from(r.try_get(5)?),
        client_reference_id: r.try_get(6)?,
        payment_intent: r.try_get(7)?,
        livemode: r.try_get(8)?,
        last_event_id: r.try_get(9)?,
        last_event_type: r.try_get(10)?,
        created_at: r.try_get(11)?,
        updated_at: r.try_get(12)?,
        fulfillment: fulfillment_from_row(r, 13)?,
        hook,
        account: Some(r.try_get::<_, String>(28)?).filter(|a| !a.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url_and_loopback_is_recognised() {
        let (rest, mode, root) = split_tls_params(
            "postgres://u:p@db.example:5432/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(
            rest,
            "postgres://u:p@db.example:5432/shop?application_name=x"
        );
        let (rest, mode, _) = split_tls_params("postgres://127.0.0.1/x").unwrap();
        assert_eq!((rest.as_str(), mode), ("postgres://127.0.0.1/x", None));
        let loop_cfg = tokio_postgres::Config::from_str("postgres://127.0.0.1:5/x").unwrap();
        assert!(is_loopback(&loop_cfg));
        let remote = tokio_postgres::Config::from_str("postgres://db.example/x").unwrap();
        assert!(!is_loopback(&remote));
        assert!(rustls_config(None).is_ok());
    }
}
