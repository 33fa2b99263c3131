//! The backends every store test runs against: a fresh SQLite file always, and a fresh
//! PostgreSQL database when `STRIPE_MCP_TEST_PG` names a server (`scripts/test` starts a
//! throw-away one); without it the PostgreSQL half prints that it skipped and why.
#![allow(dead_code)]

use stripe_mcp::store::{DbTarget, Options, Store};

/// The admin URL of the test server, if any.
pub fn pg_admin_url() -> Option<String> {
    std::env::var("STRIPE_MCP_TEST_PG")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Says once per test that the PostgreSQL half is skipped.
pub fn skip_note(test: &str) {
    eprintln!(
        "{test}: PostgreSQL skipped: STRIPE_MCP_TEST_PG is not set (scripts/test sets it when PostgreSQL's server binaries are installed)"
    );
}

/// A new, empty database on the test server; its URL.
pub async fn fresh_pg_database(admin: &str, name: &str) -> String {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("connect to STRIPE_MCP_TEST_PG");
    tokio::spawn(conn);
    let db = format!(
        "t_{}_{}",
        name.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_lowercase(),
        uuid::Uuid::new_v4().simple()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create a test database");
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&format!("/{db}"));
    url.to_string()
}

/// A fresh SQLite file's target.
pub fn fresh_sqlite(name: &str) -> DbTarget {
    DbTarget::Sqlite(
        std::env::temp_dir()
            .join(format!("stripe-mcp-store-{name}-{}", uuid::Uuid::new_v4()))
            .join("orders.db"),
    )
}

/// One fresh target per backend available: SQLite, then PostgreSQL if configured.
pub async fn targets(name: &str) -> Vec<DbTarget> {
    let mut out = vec![fresh_sqlite(name)];
    match pg_admin_url() {
        Some(admin) => out.push(DbTarget::parse(&fresh_pg_database(&admin, name).await).unwrap()),
        None => skip_note(name),
    }
    out
}

/// Opens a target with a short hook lease (tests wait it out).
pub async fn open(target: &DbTarget, lease_secs: u64) -> Store {
    Store::open_with(
        target,
        Options {
            hook_lease: std::time::Duration::from_secs(lease_secs),
            ..Options::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("open {target:?}: {e}"))
}

/// Marks the database as migrated to `version` by a newer build.
pub async fn bump_schema(target: &DbTarget, version: i64) {
    match target {
        DbTarget::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        DbTarget::Postgres(url) => {
            let (client, conn) = tokio_postgres::connect(url.secret_url(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .execute(
                    "INSERT INTO stripe_mcp_schema (version, applied_at) VALUES ($1, 0)",
                    &[&(version as i32)],
                )
                .await
                .unwrap();
        }
    }
}
