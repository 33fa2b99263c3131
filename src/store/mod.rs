//! The store: the one interface the rest of the code uses for what must survive a restart
//! and be shared between processes: Stripe events (once by id), orders (by Checkout Session
//! id) with their fulfillments and `--on-paid` runs, spending reservations and the audit
//! trail.
//!
//! Two backends sit behind [`Store`], with the same semantics and the same test suite
//! (`tests/store_suite.rs`): embedded SQLite ([`sqlite`], the default: one machine) and
//! PostgreSQL ([`postgres`], `--db postgres://...`: several receivers and servers on one
//! database). [`DbTarget::parse`] decides which from `--db`. Each backend applies its
//! [`migrations`] at open, inside a transaction, and refuses a schema newer than it knows.

pub mod cli;
pub mod guard;
pub mod migrations;
pub mod orders;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod scope;
pub mod sqlite;

pub use scope::{Accounts, Scope};

use std::{path::PathBuf, sync::Arc, time::Duration};

pub use guard::{
    AuditEntry, AuditFilter, AuditId, AuditOutcome, AuditRecord, LimitRefusal, SpendId,
    SpendRequest,
};
pub use orders::{Event, Fulfillment, Hook, Order, OrderStatus, Recorded, parse_event};

/// Where the store lives, from `--db` / `STRIPE_MCP_DB`.
#[derive(Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A file path, or a `sqlite:` URL's path: the embedded ledger.
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(PgUrl),
}

/// A PostgreSQL URL, kept whole for connecting and shown only with its password masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// The URL as given, password included: only the connector reads it.
    url: String,
    /// The same URL with the password replaced by `***`: what logs and errors print.
    shown: String,
    /// The password, so the binary can register it with the redaction of everything it
    /// prints.
    password: Option<String>,
}

impl PgUrl {
    /// The URL to connect with (password included: never print it).
    pub fn secret_url(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl DbTarget {
    /// `postgres://` / `postgresql://` is PostgreSQL; `sqlite:PATH` (or `sqlite://PATH`) and
    /// anything else is a SQLite file path. A PostgreSQL URL that does not parse is refused
    /// with a message that does not quote it (it may hold a password).
    pub fn parse(raw: &str) -> Result<DbTarget, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("--db is empty: give a file path or a postgres:// URL".into());
        }
        let lower = raw.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            let mut url = url::Url::parse(raw).map_err(|e| {
                format!("--db: not a valid postgres:// URL ({e}); the form is postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require")
            })?;
            let password = url.password().map(percent_decode).filter(|p| !p.is_empty());
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            return Ok(DbTarget::Postgres(PgUrl {
                url: raw.to_owned(),
                shown: url.to_string(),
                password,
            }));
        }
        if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            return Err(
                "--db: a PostgreSQL URL starts with postgres:// (postgres://USER@HOST/DATABASE)"
                    .into(),
            );
        }
        let path = if lower.starts_with("sqlite://") {
            &raw["sqlite://".len()..]
        } else if lower.starts_with("sqlite:") {
            &raw["sqlite:".len()..]
        } else {
            raw
        };
        if path.is_empty() {
            return Err(
                "--db sqlite: needs a path, e.g. sqlite:/var/lib/stripe-mcp/orders.db".into(),
            );
        }
        Ok(DbTarget::Sqlite(PathBuf::from(path)))
    }

    /// What to print: the file path, or the URL with its password masked.
    pub fn shown(&self) -> String {
        match self {
            DbTarget::Sqlite(p) => p.display().to_string(),
            DbTarget::Postgres(u) => u.shown.clone(),
        }
    }

    /// The PostgreSQL password, for registering with the redaction of output.
    pub fn password(&self) -> Option<&str> {
        match self {
            DbTarget::Sqlite(_) => None,
            DbTarget::Postgres(u) => u.password.as_deref(),
        }
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match self {
            DbTarget::Sqlite(_) => "sqlite",
            DbTarget::Postgres(_) => "postgres",
        }
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How the store is opened: bounds and the lease of `--on-paid` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a claimed `--on-paid` run is held before another process may take it
    /// over (its holder renews it while the command runs, so only a dead holder loses it).
    pub hook_lease: Duration,
    /// PostgreSQL: connections at most in the pool (a receiver's concurrent transactions).
    pub pool_size: usize,
    /// PostgreSQL: how long to wait for a connection to be made (and for a free one).
    pub connect_timeout: Duration,
    /// How long one statement (PostgreSQL, server side) or one operation (client side)
    /// may take before it fails: a delivery then answers 5xx and Stripe retries.
    pub statement_timeout: Duration,
    /// Apply missing migrations at open (`false`: `db status` only reads the version).
    pub migrate: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            hook_lease: Duration::from_secs(60),
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            migrate: true,
        }
    }
}

/// A store failure. A delivery that meets one is answered 500 (nothing was committed) and
/// Stripe retries it; a tool returns it as a retryable error. Never holds a password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, reached or prepared.
    #[error("store {target}: {message}")]
    Open {
        /// The file, or the URL with its password masked.
        target: String,
        /// What failed.
        message: String,
    },
    /// The database was migrated by a newer stripe-mcp.
    #[error(
        "store {target}: the database has schema version {found}, newer than this build knows ({known}): upgrade stripe-mcp (every process on this database must run a build that knows version {found})"
    )]
    TooNew {
        /// The file, or the masked URL.
        target: String,
        /// The version recorded in the database.
        found: i64,
        /// The newest version this build has.
        known: i64,
    },
    /// A SQLite statement failed (locked past the busy timeout, disk full, ...).
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL statement failed, or the connection was lost or timed out.
    #[error("store: {0}")]
    Postgres(String),
    /// The blocking task running a SQLite call panicked or was cancelled.
    #[error("store: the database task failed: {0}")]
    Task(String),
}

/// The schema of a database as `db status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// The version recorded in the database (0: empty).
    pub found: i64,
    /// The newest version this build knows.
    pub known: i64,
}

impl SchemaStatus {
    /// One line for operators.
    pub fn describe(&self) -> String {
        use std::cmp::Ordering::*;
        match self.found.cmp(&self.known) {
            Equal => format!("schema version {} (up to date)", self.found),
            Less => format!(
                "schema version {} of {}: {} migration(s) pending (`stripe-mcp db migrate`, or any start applies them)",
                self.found,
                self.known,
                self.known - self.found
            ),
            Greater => format!(
                "schema version {}, newer than this build knows ({}): upgrade stripe-mcp",
                self.found, self.known
            ),
        }
    }
}

/// A claimed `--on-paid` run: the fulfillment to hand the command and the lease token
/// that renewing and finishing it must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// What the command reads on stdin.
    pub fulfillment: Fulfillment,
    /// Names this holder: a run taken over after its lease expired has a new token, and
    /// the old holder's renewals and finish then change nothing.
    pub token: String,
}

/// The store handle: cheap to clone, shared by every task of the process.
#[derive(Clone)]
pub struct Store {
    /// Which database, and its connection(s).
    backend: Backend,
    /// The target as printed (password masked).
    shown: Arc<str>,
    /// [`Options::hook_lease`]: the renewal and take-over timers of `--on-paid` use it.
    lease: Duration,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::Sqlite),
    #[cfg(feature = "postgres")]
    Postgres(postgres::Postgres),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("db", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Runs a blocking SQLite call on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// Calls the same method on whichever backend: on the blocking pool for SQLite, awaited
/// for PostgreSQL.
macro_rules! on_backend {
    ($self:ident, $db:ident => $call:expr) => {
        match &$self.backend {
            Backend::Sqlite($db) => {
                let $db = $db.clone();
                blocking(move || $call).await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres($db) => $call.await,
        }
    };
}

#[cfg(not(feature = "postgres"))]
fn no_postgres(target: &DbTarget) -> StoreError {
    StoreError::Open {
        target: target.shown(),
        message: "this build has no PostgreSQL support (built without the `postgres` feature)"
            .into(),
    }
}

impl Store {
    /// Opens the store with default [`Options`], applying missing migrations.
    pub async fn open(target: &DbTarget) -> Result<Store, StoreError> {
        Store::open_with(target, Options::default()).await
    }

    /// Opens the store: creates the SQLite file or connects the PostgreSQL pool, then
    /// applies missing migrations in one transaction (refusing a newer schema).
    pub async fn open_with(target: &DbTarget, options: Options) -> Result<Store, StoreError> {
        let lease = options.hook_lease.max(Duration::from_secs(1));
        let backend = match target {
            DbTarget::Sqlite(path) => {
                let path = path.clone();
                Backend::Sqlite(blocking(move || sqlite::Sqlite::open(&path, &options)).await?)
            }
            #[cfg(feature = "postgres")]
            DbTarget::Postgres(url) => {
                Backend::Postgres(postgres::Postgres::open(url, &options).await?)
            }
            #[cfg(not(feature = "postgres"))]
            DbTarget::Postgres(_) => return Err(no_postgres(target)),
        };
        Ok(Store {
            backend,
            shown: target.shown().into(),
            lease,
        })
    }

    /// The schema version of a database, without migrating it.
    pub async fn schema_status(target: &DbTarget) -> Result<SchemaStatus, StoreError> {
        let options = Options {
            migrate: false,
            ..Options::default()
        };
        Store::open_with(target, options).await?.schema().await
    }

    /// The file, or the URL with its password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// "sqlite" or "postgres".
    pub fn backend(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The recorded schema version beside the newest this build knows.
    pub async fn schema(&self) -> Result<SchemaStatus, StoreError> {
        on_backend!(self, db => db.schema())
    }

    /// Records one verified event, atomically: the event id, the order's move and, on
    /// entering `paid`, the fulfillment (and with `queue_hook` its pending `--on-paid`
    /// run) commit together or not at all, durably before this returns.
    ///
    /// Once: a known event id changes nothing (`duplicate`), whichever process saw it
    /// first; concurrent deliveries of one session are serialized, so one fulfillment per
    /// order and `paid` never left hold across processes.
    pub async fn record(
        &self,
        event: Event,
        now: i64,
        queue_hook: bool,
    ) -> Result<Recorded, StoreError> {
        on_backend!(self, db => db.record(&event, now, queue_hook))
    }

    /// Whether the database answers (`SELECT 1`): the readiness probe of `serve --http`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, db => db.ping())
    }

    /// Whether an event id is recorded.
    pub async fn has_event(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        on_backend!(self, db => db.has_event(&id))
    }

    /// How many events are recorded (also the readiness probe of `serve --http`).
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        on_backend!(self, db => db.event_count())
    }

    /// One order, with its fulfillment and hook run.
    pub async fn order(&self, session_id: &str) -> Result<Option<Order>, StoreError> {
        let id = session_id.to_owned();
        on_backend!(self, db => db.order(&id))
    }

    /// Orders, most recently moved first, optionally of one status.
    pub async fn orders(
        &self,
        status: Option<OrderStatus>,
        limit: u32,
    ) -> Result<Vec<Order>, StoreError> {
        on_backend!(self, db => db.orders(status, limit))
    }

    /// Takes one session's `--on-paid` run for this process, atomically: `Some` for exactly
    /// one caller across processes, when the run is pending, failed, or running under a
    /// lease that expired (its holder died). The lease lasts [`Options::hook_lease`].
    pub async fn claim_hook(
        &self,
        session_id: &str,
        now: i64,
    ) -> Result<Option<Claim>, StoreError> {
        let id = session_id.to_owned();
        on_backend!(self, db => db.claim_hook(&id, now))
    }

    /// Takes the next due run (oldest first) that no other process holds, atomically: a
    /// running one whose lease expired (its holder died), or a pending one last touched
    /// before `before` (so a live receiver's fresh run is left to it). PostgreSQL skips
    /// rows another transaction is claiming (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_next_hook(
        &self,
        now: i64,
        before: i64,
    ) -> Result<Option<(String, Claim)>, StoreError> {
        on_backend!(self, db => db.claim_next_hook(now, before))
    }

    /// The runs to retry at a receiver's start (at most 10 000, oldest first): pending,
    /// failed, and running under an expired lease. Each is then claimed by id, so only one
    /// process runs it.
    pub async fn hooks_due(&self, now: i64) -> Result<Vec<String>, StoreError> {
        on_backend!(self, db => db.hooks_due(now))
    }

    /// How long a claimed run is held before another process may take it over.
    pub fn hook_lease(&self) -> Duration {
        self.lease
    }

    /// Extends a held lease to `now + hook_lease`; false when the lease was lost (taken over).
    pub async fn renew_hook(
        &self,
        session_id: &str,
        token: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token) = (session_id.to_owned(), token.to_owned());
        on_backend!(self, db => db.renew_hook(&id, &token, now))
    }

    /// Records how a claimed run ended (done for good, or failed: retried at the next
    /// start). Only the current holder's finish counts; false when the lease was lost.
    pub async fn finish_hook(
        &self,
        session_id: &str,
        token: &str,
        result: Result<(), String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (id, token) = (session_id.to_owned(), token.to_owned());
        on_backend!(self, db => db.finish_hook(&id, &token, result.clone(), now))
    }

    /// Reserves an amount against the spending limits, atomically across processes: in
    /// one transaction that holds the (scope, kind, currency) lock, the reservations still
    /// counting (held or kept) within `(now - 86400, now]` plus `amount` must fit
    /// `daily_max`, and `amount` must fit `per_call_max`. Granted, the reservation is
    /// durable (it counts after a restart) and held until [`Store::release_spend`] or
    /// [`Store::keep_spend`]; a held one (outcome unknown) keeps counting.
    pub async fn reserve_spend(
        &self,
        request: SpendRequest,
    ) -> Result<Result<SpendId, LimitRefusal>, StoreError> {
        on_backend!(self, db => db.reserve_spend(&request))
    }

    /// The reserved call definitely failed: the reservation no longer counts.
    pub async fn release_spend(&self, id: SpendId) -> Result<(), StoreError> {
        on_backend!(self, db => db.settle_spend(id, "released"))
    }

    /// The reserved call succeeded: the reservation counts for its 24 hours.
    pub async fn keep_spend(&self, id: SpendId) -> Result<(), StoreError> {
        on_backend!(self, db => db.settle_spend(id, "kept"))
    }

    /// Writes an audit row durably before the call it describes is sent, with outcome
    /// "unknown" until [`Store::audit_finish`]: a crash in between leaves "unknown", never
    /// nothing.
    ///
    /// Every text value is bounded in size first ([`AuditEntry::bounded`]): a row records
    /// what was attempted, not whatever size of argument came with it.
    pub async fn audit_begin(&self, entry: AuditEntry) -> Result<AuditId, StoreError> {
        let entry = entry.bounded();
        on_backend!(self, db => db.audit_begin(&entry))
    }

    /// Records the outcome of an audited call (once: a second finish changes nothing).
    /// Its text values are bounded like the entry's.
    pub async fn audit_finish(&self, id: AuditId, outcome: AuditOutcome) -> Result<(), StoreError> {
        let outcome = outcome.bounded();
        on_backend!(self, db => db.audit_finish(id, &outcome))
    }

    /// Audit rows visible in `scope`, newest first, at most `limit` (capped at 1000): the
    /// operator sees every tenant's (narrowed by `filter.tenant`), a tenant only its own,
    /// an unproven caller none.
    pub async fn audit_list(
        &self,
        scope: &Scope,
        mut filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        match scope {
            Scope::Operator => {}
            Scope::Tenant { tenant, .. } => {
                if filter.tenant.as_ref().is_some_and(|t| t != tenant) {
                    return Ok(Vec::new());
                }
                filter.tenant = Some(tenant.clone());
            }
            Scope::Nobody => return Ok(Vec::new()),
        }
        on_backend!(self, db => db.audit_list(&filter))
    }
}

/// The default SQLite path: `$XDG_DATA_HOME/stripe-mcp/orders.db`, else
/// `~/.local/share/stripe-mcp/orders.db`; `None` when neither variable is set.
pub fn default_path() -> Option<PathBuf> {
    orders::default_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_targets_are_told_apart_and_a_password_is_never_shown() {
        let t = DbTarget::parse("postgres://shop:s3cr%40t@db.internal:5432/orders?sslmode=require")
            .unwrap();
        assert_eq!(t.backend(), "postgres");
        assert_eq!(
            t.shown(),
            "postgres://shop:***@db.internal:5432/orders?sslmode=require"
        );
        assert_eq!(t.password(), Some("s3cr@t"));
        assert!(!format!("{t:?}").contains("s3cr"));
        let t = DbTarget::parse("postgresql://localhost/x").unwrap();
        assert_eq!((t.backend(), t.password()), ("postgres", None));
        assert_eq!(
            DbTarget::parse("sqlite:/tmp/o.db").unwrap(),
            DbTarget::Sqlite("/tmp/o.db".into())
        );
        assert_eq!(
            DbTarget::parse("sqlite:///tmp/o.db").unwrap(),
            DbTarget::Sqlite("/tmp/o.db".into())
        );
        assert_eq!(
            DbTarget::parse("orders.db").unwrap(),
            DbTarget::Sqlite("orders.db".into())
        );
        assert!(DbTarget::parse("postgres:oops").is_err());
        let e = DbTarget::parse("postgres://u:pw@[bad/x").unwrap_err();
        assert!(!e.contains("pw"), "{e}");
        assert!(DbTarget::parse("  ").is_err());
    }

    #[test]
    fn schema_status_says_what_to_do() {
        let s = |found, known| SchemaStatus { found, known }.describe();
        assert!(s(2, 2).contains("up to date"));
        assert!(s(1, 2).contains("1 migration(s) pending"));
        assert!(s(3, 2).contains("upgrade stripe-mcp"));
    }
}
