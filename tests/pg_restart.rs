//! PostgreSQL restarted in the middle of a burst into two receivers: deliveries during
//! the outage answer 5xx (Stripe retries them), none answers 2xx without its commit, the
//! pools reconnect by themselves, and everything redelivered afterwards is recorded once.
//!
//! Its own test binary, because it restarts the shared test server: the other PostgreSQL
//! tests run in other binaries, which cargo runs one after another. Needs
//! `STRIPE_MCP_TEST_PG_CTL` and `STRIPE_MCP_TEST_PG_DATA` (scripts/test sets them).

mod common;
mod store_common;

use std::{collections::BTreeSet, path::PathBuf, time::Duration};
use stripe_mcp::store::Scope;

use common::{WEBHOOK_SECRET, deliver, session_event, start_receiver};
use stripe_mcp::store::{DbTarget, OrderStatus, Store};

fn restart_server(pg_ctl: &str, data: &str) {
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--", pg_ctl]);
        c
    } else {
        std::process::Command::new(pg_ctl)
    };
    let status = cmd
        .args(["-D", data, "-m", "fast", "-w", "-t", "60", "restart"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run pg_ctl restart");
    assert!(status.success(), "pg_ctl restart failed");
}

#[tokio::test]
async fn a_postgres_restart_mid_burst_answers_5xx_meanwhile_and_redeliveries_are_recorded_once() {
    let (Some(admin), Ok(pg_ctl), Ok(data)) = (
        store_common::pg_admin_url(),
        std::env::var("STRIPE_MCP_TEST_PG_CTL"),
        std::env::var("STRIPE_MCP_TEST_PG_DATA"),
    ) else {
        eprintln!(
            "postgres restart test skipped: needs STRIPE_MCP_TEST_PG, STRIPE_MCP_TEST_PG_CTL and STRIPE_MCP_TEST_PG_DATA (scripts/test sets them when it starts PostgreSQL)"
        );
        return;
    };
    let url = store_common::fresh_pg_database(&admin, "restart").await;
    let db = PathBuf::from(&url);
    let rx = [
        start_receiver(&db, WEBHOOK_SECRET, &[]).await,
        start_receiver(&db, WEBHOOK_SECRET, &[]).await,
    ];
    let urls: Vec<String> = rx.iter().map(|r| r.url.clone()).collect();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    const TOTAL: usize = 150;
    let body = |i: usize| {
        session_event(
            &format!("evt_r{i}"),
            "checkout.session.completed",
            &format!("cs_r{i}"),
            "paid",
        )
    };

    // The burst: one delivery every 15 ms, the restart about a third of the way in.
    let burst = {
        let (http, urls) = (http.clone(), urls.clone());
        tokio::spawn(async move {
            let mut answers = vec![];
            let sends: Vec<_> = (0..TOTAL)
                .map(|i| {
                    let (http, url) = (http.clone(), urls[i % 2].clone());
                    let b = body(i);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
                        (i, deliver(&http, &url, &b, WEBHOOK_SECRET).await)
                    })
                })
                .collect();
            for s in sends {
                answers.push(s.await.unwrap());
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(15 * TOTAL as u64 / 3)).await;
    tokio::task::spawn_blocking(move || restart_server(&pg_ctl, &data))
        .await
        .unwrap();
    let answers = burst.await.unwrap();

    let mut acked = BTreeSet::new();
    let mut refused = vec![];
    for (i, (status, answer)) in &answers {
        match status {
            200 => {
                acked.insert(*i);
            }
            500..=599 => {
                assert!(answer.contains("not recorded; retry"), "{answer}");
                refused.push(*i);
            }
            other => panic!("delivery {i}: unexpected {other}: {answer}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "no delivery met the outage: the restart was not exercised"
    );
    // None answered 2xx without its commit.
    let store = Store::open(&DbTarget::parse(&url).unwrap()).await.unwrap();
    for i in &acked {
        assert!(
            store.has_event(&format!("evt_r{i}")).await.unwrap(),
            "evt_r{i} was acknowledged during the restart but is not recorded"
        );
    }
    // Stripe redelivers what was refused (to either receiver), and also resends a few
    // acknowledged ones: each is recorded once.
    for i in refused.iter().chain(acked.iter().take(10)) {
        let mut delivered = false;
        for attempt in 0..20 {
            let (status, _) =
                deliver(&http, &urls[(i + attempt) % 2], &body(*i), WEBHOOK_SECRET).await;
            if status == 200 {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(delivered, "evt_r{i} was never accepted after the restart");
    }
    assert_eq!(store.event_count().await.unwrap(), TOTAL as i64);
    let paid = store
        .orders(&Scope::Operator, Some(OrderStatus::Paid), 1000)
        .await
        .unwrap();
    assert_eq!(paid.len(), TOTAL);
    for o in &paid {
        let f = o.fulfillment.as_ref().unwrap();
        assert_eq!(f.event_id, format!("evt_{}", &o.session_id[3..]));
    }
    eprintln!(
        "restart test: {} of {TOTAL} answered 5xx during the restart, all recorded once after redelivery",
        refused.len()
    );
    let mut logs = String::new();
    for r in rx {
        logs.push_str(&r.kill().await);
    }
    assert!(logs.contains("webhook not recorded"), "{logs}");
}
