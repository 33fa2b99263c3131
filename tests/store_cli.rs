//! `--db` and `stripe-mcp db` through the real binary: `db status` / `db migrate` on both
//! backends, a PostgreSQL URL never taken as a file path, its password never printed.

mod common;
mod store_common;

use std::process::Output;

fn run(args: &[&str], cwd: &std::path::Path) -> Output {
    std::process::Command::new(common::bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_WEBHOOK_SECRET", common::WEBHOOK_SECRET)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stripe-mcp-dbcli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn status_then_migrate(db: &str, cwd: &std::path::Path) {
    let o = run(&["db", "status", "--db", db], cwd);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    let latest = stripe_mcp::store::migrations::LATEST;
    assert!(
        out.contains(&format!(
            "schema version 0 of {latest}: {latest} migration(s) pending"
        )),
        "{out}{err}"
    );
    let o = run(&["db", "migrate", "--db", db], cwd);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("schema version {latest} (up to date)")),
        "{out}"
    );
    let o = run(&["db", "status", "--db", db], cwd);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("up to date"));
}

#[test]
fn db_status_reports_pending_migrations_and_db_migrate_applies_them_on_sqlite() {
    let dir = scratch();
    let db = dir.join("orders.db");
    status_then_migrate(&format!("sqlite:{}", db.display()), &dir);
}

#[tokio::test]
async fn db_status_reports_pending_migrations_and_db_migrate_applies_them_on_postgres() {
    let Some(admin) = store_common::pg_admin_url() else {
        store_common::skip_note("db_cli_postgres");
        return;
    };
    let url = store_common::fresh_pg_database(&admin, "dbcli").await;
    let dir = scratch();
    tokio::task::spawn_blocking(move || status_then_migrate(&url, &dir))
        .await
        .unwrap();
}

#[test]
fn a_postgres_url_is_never_a_file_path_and_its_password_is_never_printed() {
    let dir = scratch();
    let password = "Sup3rSecretDbPassw0rd";
    // Nothing listens on port 1: the receiver cannot reach it and says so.
    let url = format!("postgres://shop:{password}@127.0.0.1:1/orders");
    let o = run(&["webhooks", "--listen", "127.0.0.1:0", "--db", &url], &dir);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains("postgres://shop:***@127.0.0.1:1/orders"),
        "{err}"
    );
    assert!(err.contains("cannot reach the database"), "{err}");
    assert!(!err.contains(password) && !out.contains(password), "{err}");
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "something was created in the working directory"
    );
    // The same through the environment, for db status and the stdio server.
    let o = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_MCP_DB", &url)
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .args(["db", "status"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(!err.contains(password) && !out.contains(password), "{err}");
    assert!(err.contains("***"), "{err}");
    let o = std::process::Command::new(common::bin())
        .env_clear()
        .env("STRIPE_MCP_DB", &url)
        .env("STRIPE_SECRET_KEY", common::TEST_KEY)
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains(password) && !out.contains(password), "{err}");
    // A URL that looks like PostgreSQL but is not one is refused, not made a file.
    let o = run(&["webhooks", "--db", "postgres:orders"], &dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("postgres://"));
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none());
}
