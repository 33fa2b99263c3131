//! The webhook receiver as it runs: the real binary's `webhooks` subcommand on a free
//! port, real signed HTTP deliveries, and the SQLite ledger read back afterwards.

mod common;

use std::{collections::BTreeSet, path::Path, sync::Arc, time::Duration};
use stripe_mcp::store::Scope;

use common::{WEBHOOK_SECRET, deliver, post_raw, session_event, start_receiver, temp_db};
use stripe_mcp::{
    store::{DbTarget, OrderStatus, Store},
    webhooks::signature,
};

/// An `--on-paid` command that appends each order it is given, one JSON line, to `out`.
fn append_to(out: &Path) -> String {
    format!("cat >> '{}'", out.display())
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Waits until `path` has at least `n` lines (the hook runs after the answer).
async fn wait_for_lines(path: &Path, n: usize) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let got = lines(path);
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never had {n} line(s)", path.display());
}

#[tokio::test]
async fn a_signed_paid_checkout_is_fulfilled_once_and_a_duplicate_delivery_changes_nothing() {
    let db = temp_db("dup");
    let out = db.with_file_name("fulfilled.jsonl");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &["--on-paid", &append_to(&out)]).await;
    assert!(
        rx.log().contains(&db.display().to_string()),
        "db path printed at start"
    );
    let http = reqwest::Client::new();
    let body = session_event(
        "evt_dup_1",
        "checkout.session.completed",
        "cs_test_dup",
        "paid",
    );

    let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains(r#""duplicate":false"#), "{answer}");
    let hooked = wait_for_lines(&out, 1).await;
    assert_eq!(hooked[0]["session_id"], "cs_test_dup");
    assert_eq!(hooked[0]["status"], "paid");
    assert_eq!(hooked[0]["product_id"], "sku-tee");
    assert_eq!(hooked[0]["amount_total"], 4999);
    assert_eq!(hooked[0]["customer_email"], "jane@example.com");

    // Stripe redelivers the very same bytes: acknowledged, nothing changes.
    let (status, answer) = deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await;
    assert_eq!(status, 200);
    assert!(answer.contains(r#""duplicate":true"#), "{answer}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lines(&out).len(), 1, "the hook ran twice");

    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    let order = ledger
        .order(&Scope::Operator, "cs_test_dup")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.status, OrderStatus::Paid);
    let f = order.fulfillment.unwrap();
    assert_eq!(
        (f.event_id.as_str(), f.product_id.as_deref()),
        ("evt_dup_1", Some("sku-tee"))
    );
    assert_eq!(order.hook.unwrap().state, "done");
    assert_eq!(ledger.event_count().await.unwrap(), 1);
    let log = rx.kill().await;
    assert!(!log.contains(WEBHOOK_SECRET), "the secret reached the log");
}

#[tokio::test]
async fn twenty_concurrent_deliveries_of_one_event_fulfill_once() {
    let db = temp_db("concurrent");
    let out = db.with_file_name("fulfilled.jsonl");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &["--on-paid", &append_to(&out)]).await;
    let http = reqwest::Client::new();
    let body = Arc::new(session_event(
        "evt_conc_1",
        "checkout.session.completed",
        "cs_test_conc",
        "paid",
    ));
    let sends: Vec<_> = (0..20)
        .map(|_| {
            let (http, url, body) = (http.clone(), rx.url.clone(), body.clone());
            tokio::spawn(async move { deliver(&http, &url, &body, WEBHOOK_SECRET).await })
        })
        .collect();
    let mut fresh = 0;
    for s in sends {
        let (status, answer) = s.await.unwrap();
        assert_eq!(status, 200, "{answer}");
        fresh += usize::from(answer.contains(r#""duplicate":false"#));
    }
    assert_eq!(fresh, 1, "exactly one delivery is the first");
    wait_for_lines(&out, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lines(&out).len(), 1, "fulfilled more than once");
    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    assert_eq!(ledger.event_count().await.unwrap(), 1);
    assert_eq!(
        ledger
            .orders(&Scope::Operator, Some(OrderStatus::Paid), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    rx.kill().await;
}

#[tokio::test]
async fn expired_after_paid_leaves_it_paid_and_a_delayed_payment_waits_then_pays() {
    let db = temp_db("order");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let http = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        let (http, url) = (http.clone(), rx.url.clone());
        async move {
            let (status, answer) = deliver(&http, &url, &body, WEBHOOK_SECRET).await;
            assert_eq!(status, 200, "{answer}");
        }
    };
    send(session_event(
        "evt_o1",
        "checkout.session.completed",
        "cs_test_a",
        "paid",
    ))
    .await;
    send(session_event(
        "evt_o2",
        "checkout.session.expired",
        "cs_test_a",
        "unpaid",
    ))
    .await;

    send(session_event(
        "evt_o3",
        "checkout.session.completed",
        "cs_test_b",
        "unpaid",
    ))
    .await;
    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    let b = ledger
        .order(&Scope::Operator, "cs_test_b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.status, OrderStatus::AwaitingPayment);
    assert!(b.fulfillment.is_none());
    send(session_event(
        "evt_o4",
        "checkout.session.async_payment_succeeded",
        "cs_test_b",
        "paid",
    ))
    .await;
    send(session_event(
        "evt_o5",
        "checkout.session.async_payment_failed",
        "cs_test_c",
        "unpaid",
    ))
    .await;

    let a = ledger
        .order(&Scope::Operator, "cs_test_a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, OrderStatus::Paid);
    assert_eq!(a.last_event_id, "evt_o1");
    let b = ledger
        .order(&Scope::Operator, "cs_test_b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.status, OrderStatus::Paid);
    assert_eq!(b.fulfillment.unwrap().event_id, "evt_o4");
    let c = ledger
        .order(&Scope::Operator, "cs_test_c")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.status, OrderStatus::PaymentFailed);
    assert_eq!(ledger.event_count().await.unwrap(), 5);
    rx.kill().await;
}

#[tokio::test]
async fn unverifiable_deliveries_get_a_4xx_with_a_reason_and_nothing_is_recorded() {
    let db = temp_db("refused");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let http = reqwest::Client::new();
    let body = session_event(
        "evt_bad",
        "checkout.session.completed",
        "cs_test_bad",
        "paid",
    );
    let now = common::now();
    let good = signature::sign(&body, WEBHOOK_SECRET, now);

    // (what, body, Stripe-Signature, status, reason in the answer)
    type Case = (&'static str, Vec<u8>, Option<String>, u16, &'static str);
    let cases: Vec<Case> = vec![
        (
            "missing header",
            body.clone(),
            None,
            400,
            "missing Stripe-Signature",
        ),
        (
            "malformed header",
            body.clone(),
            Some("v1=abc".into()),
            400,
            "malformed",
        ),
        (
            "wrong secret",
            body.clone(),
            Some(signature::sign(&body, "whsec_someone_else", now)),
            400,
            "no v1 signature matches",
        ),
        (
            "tampered body",
            String::from_utf8(body.clone())
                .unwrap()
                .replace("4999", "1")
                .into_bytes(),
            Some(good.clone()),
            400,
            "no v1 signature matches",
        ),
        (
            "too old",
            body.clone(),
            Some(signature::sign(&body, WEBHOOK_SECRET, now - 301)),
            400,
            "outside the tolerance",
        ),
        (
            "from the future",
            body.clone(),
            Some(signature::sign(&body, WEBHOOK_SECRET, now + 400)),
            400,
            "outside the tolerance",
        ),
        (
            "signed but not JSON",
            b"not json at all".to_vec(),
            Some(signature::sign(b"not json at all", WEBHOOK_SECRET, now)),
            400,
            "not a Stripe event",
        ),
        (
            "signed JSON that is no event",
            br#"{"hello":"world"}"#.to_vec(),
            Some(signature::sign(
                br#"{"hello":"world"}"#,
                WEBHOOK_SECRET,
                now,
            )),
            400,
            "not a Stripe event",
        ),
    ];
    for (name, body, sig, want, reason) in cases {
        let (status, answer) = post_raw(&http, &rx.url, &body, sig.as_deref()).await;
        assert_eq!(status, want, "{name}: {answer}");
        assert!(answer.contains(reason), "{name}: {answer}");
    }
    // Over 1 MiB, even if signed.
    let big = vec![b' '; 1024 * 1024 + 1];
    let sig = signature::sign(&big, WEBHOOK_SECRET, now);
    let (status, answer) = post_raw(&http, &rx.url, &big, Some(&sig)).await;
    assert_eq!(status, 413, "{answer}");

    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    assert_eq!(
        ledger.event_count().await.unwrap(),
        0,
        "a refused delivery was recorded"
    );
    let log = rx.kill().await;
    assert!(log.contains("webhook refused"), "{log}");
    assert!(!log.contains(WEBHOOK_SECRET), "the secret reached the log");
    assert!(
        !log.contains("jane@example.com"),
        "the body reached the log"
    );
}

#[tokio::test]
async fn rotated_secrets_both_verify() {
    let db = temp_db("rotate");
    let rx = start_receiver(&db, "whsec_new_one,whsec_old_one", &[]).await;
    let http = reqwest::Client::new();
    let a = session_event("evt_r1", "checkout.session.completed", "cs_test_r1", "paid");
    let b = session_event("evt_r2", "checkout.session.completed", "cs_test_r2", "paid");
    assert_eq!(deliver(&http, &rx.url, &a, "whsec_old_one").await.0, 200);
    assert_eq!(deliver(&http, &rx.url, &b, "whsec_new_one").await.0, 200);
    assert_eq!(
        Store::open(&DbTarget::Sqlite(db.to_path_buf()))
            .await
            .unwrap()
            .event_count()
            .await
            .unwrap(),
        2
    );
    rx.kill().await;
}

#[tokio::test]
async fn a_kill_between_receiving_and_committing_loses_nothing_that_was_acknowledged() {
    const TOTAL: usize = 300;
    const KILL_AFTER: usize = 25;
    let db = temp_db("kill");
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let http = reqwest::Client::new();
    let bodies: Vec<(String, Arc<Vec<u8>>)> = (0..TOTAL)
        .map(|i| {
            let id = format!("evt_kill_{i:03}");
            let body = session_event(
                &id,
                "checkout.session.completed",
                &format!("cs_test_kill_{i:03}"),
                "paid",
            );
            (id, Arc::new(body))
        })
        .collect();
    let (acks_tx, mut acks_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sends: Vec<_> = bodies
        .iter()
        .map(|(id, body)| {
            let (http, url, body, id, acks) = (
                http.clone(),
                rx.url.clone(),
                body.clone(),
                id.clone(),
                acks_tx.clone(),
            );
            tokio::spawn(async move {
                let sig = signature::sign(&body, WEBHOOK_SECRET, common::now());
                let sent = http
                    .post(&url)
                    .header("Stripe-Signature", sig)
                    .body(body.to_vec())
                    .send()
                    .await;
                if let Ok(r) = sent
                    && r.status().as_u16() == 200
                {
                    let _ = acks.send(id);
                }
            })
        })
        .collect();
    drop(acks_tx);

    // SIGKILL the receiver right after it has acknowledged a few, with the rest in flight.
    let mut acked = BTreeSet::new();
    while acked.len() < KILL_AFTER {
        acked.insert(acks_rx.recv().await.expect("acks stopped early"));
    }
    let mut child = rx.child;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    for s in sends {
        s.await.unwrap();
    }
    // Anything acknowledged before the kill landed counts too.
    while let Ok(id) = acks_rx.try_recv() {
        acked.insert(id);
    }
    assert!(
        acked.len() < TOTAL,
        "every delivery finished before the kill; the test proved nothing"
    );

    // Restart on the same database: every acknowledged event is there.
    let rx = start_receiver(&db, WEBHOOK_SECRET, &[]).await;
    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    for id in &acked {
        assert!(
            ledger.has_event(id).await.unwrap(),
            "{id} was acknowledged but lost"
        );
    }
    // Stripe retries what was not acknowledged: after that, everything is there, once.
    for (_, body) in &bodies {
        let (status, answer) = deliver(&http, &rx.url, body, WEBHOOK_SECRET).await;
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(ledger.event_count().await.unwrap(), TOTAL as i64);
    assert_eq!(
        ledger
            .orders(&Scope::Operator, Some(OrderStatus::Paid), 1000)
            .await
            .unwrap()
            .len(),
        TOTAL
    );
    eprintln!(
        "kill test: {} of {TOTAL} acknowledged before SIGKILL, all present after restart",
        acked.len()
    );
    rx.kill().await;
}

#[tokio::test]
async fn a_failed_on_paid_command_is_retried_at_the_next_start_and_never_rerun_after_success() {
    let db = temp_db("hookretry");
    let dir = db.parent().unwrap().to_owned();
    let out = dir.join("fulfilled.jsonl");
    let flag = dir.join("fail-no-more");
    // Fails until the flag file exists; then records the order.
    let hook = format!(
        "test -e '{flag}' || {{ echo 'warehouse offline' >&2; exit 3; }}; cat >> '{out}'",
        flag = flag.display(),
        out = out.display()
    );
    let rx = start_receiver(&db, WEBHOOK_SECRET, &["--on-paid", &hook]).await;
    let http = reqwest::Client::new();
    let body = session_event(
        "evt_h1",
        "checkout.session.completed",
        "cs_test_hook",
        "paid",
    );
    assert_eq!(deliver(&http, &rx.url, &body, WEBHOOK_SECRET).await.0, 200);
    let ledger = Store::open(&DbTarget::Sqlite(db.to_path_buf()))
        .await
        .unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        let hook = ledger
            .order(&Scope::Operator, "cs_test_hook")
            .await
            .unwrap()
            .unwrap()
            .hook
            .unwrap();
        state = hook.state.clone();
        if state == "failed" {
            let err = hook.last_error.unwrap();
            assert!(
                err.contains("warehouse offline") && err.contains('3'),
                "{err}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "failed");
    let log = rx.kill().await;
    assert!(log.contains("on-paid command failed"), "{log}");
    assert!(!out.exists());

    // The warehouse is back; the next start retries it.
    std::fs::write(&flag, "").unwrap();
    let rx = start_receiver(&db, WEBHOOK_SECRET, &["--on-paid", &hook]).await;
    let got = wait_for_lines(&out, 1).await;
    assert_eq!(got[0]["session_id"], "cs_test_hook");
    for _ in 0..100 {
        if ledger
            .order(&Scope::Operator, "cs_test_hook")
            .await
            .unwrap()
            .unwrap()
            .hook
            .unwrap()
            .state
            == "done"
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hook_state = ledger
        .order(&Scope::Operator, "cs_test_hook")
        .await
        .unwrap()
        .unwrap()
        .hook
        .unwrap();
    assert_eq!(
        (hook_state.state.as_str(), hook_state.attempts),
        ("done", 2)
    );
    rx.kill().await;

    // And a third start does not run it again.
    let rx = start_receiver(&db, WEBHOOK_SECRET, &["--on-paid", &hook]).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(lines(&out).len(), 1, "ran again after it succeeded");
    rx.kill().await;
}

#[tokio::test]
async fn a_secret_without_the_whsec_prefix_is_refused_at_start_up_and_no_api_key_is_needed() {
    let db = temp_db("badsecret");
    let out = tokio::process::Command::new(common::bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STRIPE_WEBHOOK_SECRET", "sk_test_NOTAWEBHOOKSECRET")
        .args(["webhooks", "--listen=127.0.0.1:0", "--db"])
        .arg(&db)
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("whsec_"), "{stderr}");
    assert!(!stderr.contains("NOTAWEBHOOKSECRET"), "{stderr}");
    assert!(
        !stderr.contains("STRIPE_SECRET_KEY"),
        "asked for the API key: {stderr}"
    );

    let out = tokio::process::Command::new(common::bin())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["webhooks", "--listen=127.0.0.1:0", "--db"])
        .arg(&db)
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("STRIPE_WEBHOOK_SECRET"));
}
