//! The store's one suite, run against every backend: SQLite always, PostgreSQL when
//! `STRIPE_MCP_TEST_PG` is set (each test on a database of its own). Same calls, same
//! expectations: the backends differ only in how they make them hold.

mod store_common;

use std::collections::BTreeSet;

use serde_json::json;
use store_common::{open, targets};
use stripe_mcp::store::{
    Accounts, AuditEntry, AuditFilter, AuditOutcome, Event, OrderStatus::*, Scope, SpendRequest,
    Store, orders::Ignored,
};

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

fn raw_event(id: &str, kind: &str, object: serde_json::Value) -> Event {
    serde_json::from_value(json!({"id": id, "type": kind, "data": {"object": object}})).unwrap()
}

#[tokio::test]
async fn an_event_is_recorded_once_and_a_paid_order_is_fulfilled_once() {
    for target in targets("once").await {
        let store = open(&target, 60).await;
        let e = session_event("evt_1", "checkout.session.completed", "cs_1", "paid");
        let first = store.record(e.clone(), 100, true).await.unwrap();
        assert!(
            first.entered_paid && first.hook_queued && !first.duplicate,
            "{target:?}"
        );
        assert_eq!(first.status, Some(Paid));
        let again = store.record(e, 101, true).await.unwrap();
        assert!(again.duplicate && !again.entered_paid);
        // The same session under another event id (Stripe's own duplicate) fulfills nothing more.
        let other = session_event("evt_2", "checkout.session.completed", "cs_1", "paid");
        let r = store.record(other, 102, true).await.unwrap();
        assert!(!r.duplicate && !r.entered_paid, "{r:?}");
        let order = store.order("cs_1").await.unwrap().unwrap();
        assert_eq!(order.status, Paid);
        let f = order.fulfillment.unwrap();
        assert_eq!(
            (f.event_id.as_str(), f.amount_total, f.fulfilled_at),
            ("evt_1", Some(4999), 100)
        );
        assert_eq!(f.product_id.as_deref(), Some("sku-tee"));
        assert_eq!(f.customer_email.as_deref(), Some("jane@example.com"));
        assert_eq!(store.event_count().await.unwrap(), 2);
        assert!(store.has_event("evt_2").await.unwrap());
        assert!(!store.has_event("evt_3").await.unwrap());
    }
}

#[tokio::test]
async fn delayed_payments_wait_then_pay_and_expiry_after_paid_changes_nothing() {
    for target in targets("delayed").await {
        let store = open(&target, 60).await;
        let r = store
            .record(
                session_event("evt_a", "checkout.session.completed", "cs_2", "unpaid"),
                1,
                false,
            )
            .await
            .unwrap();
        assert_eq!(r.status, Some(AwaitingPayment));
        assert!(
            store
                .order("cs_2")
                .await
                .unwrap()
                .unwrap()
                .fulfillment
                .is_none()
        );
        let r = store
            .record(
                session_event(
                    "evt_b",
                    "checkout.session.async_payment_succeeded",
                    "cs_2",
                    "paid",
                ),
                2,
                false,
            )
            .await
            .unwrap();
        assert!(r.entered_paid && !r.hook_queued);
        let r = store
            .record(
                session_event("evt_c", "checkout.session.expired", "cs_2", "unpaid"),
                3,
                false,
            )
            .await
            .unwrap();
        assert_eq!(r.status, Some(Paid));
        assert!(r.outcome.contains("unchanged"));
        let order = store.order("cs_2").await.unwrap().unwrap();
        assert_eq!(
            (order.status, order.last_event_id.as_str()),
            (Paid, "evt_b")
        );
        assert!(order.hook.is_none());
        assert_eq!(store.orders(Some(Paid), 10).await.unwrap().len(), 1);
        assert_eq!(store.orders(Some(Expired), 10).await.unwrap().len(), 0);
        assert_eq!(store.orders(None, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn odd_and_other_events_are_recorded_once_and_never_fulfilled() {
    for target in targets("odd").await {
        let store = open(&target, 60).await;
        let cases = [
            (
                "checkout.session.completed",
                json!({"id": "cs_odd", "object": "checkout.session", "payment_status": "PAID_LATER"}),
                Some(Ignored::UnknownPaymentStatus),
            ),
            (
                "checkout.session.completed",
                json!({"id": "ch_1", "object": "charge", "payment_status": "paid"}),
                Some(Ignored::NotASession),
            ),
            (
                "checkout.session.completed",
                json!({"object": "checkout.session", "payment_status": "paid"}),
                Some(Ignored::NoSessionId),
            ),
            (
                "customer.created",
                json!({"id": "cus_1"}),
                Some(Ignored::OtherType),
            ),
        ];
        for (i, (kind, object, why)) in cases.into_iter().enumerate() {
            let e = raw_event(&format!("evt_odd_{i}"), kind, object);
            let r = store.record(e.clone(), 1, true).await.unwrap();
            assert_eq!(r.ignored, why, "{i}: {r:?}");
            assert!(!r.entered_paid && !r.hook_queued && r.session_id.is_none());
            assert!(!r.outcome.contains("PAID_LATER"));
            assert!(store.record(e, 2, true).await.unwrap().duplicate);
        }
        assert!(store.orders(None, 10).await.unwrap().is_empty());
        assert_eq!(store.event_count().await.unwrap(), 4);
    }
}

async fn paid(store: &Store, session: &str) {
    let e = session_event(
        &format!("evt_{session}"),
        "checkout.session.completed",
        session,
        "paid",
    );
    assert!(store.record(e, 1, true).await.unwrap().hook_queued);
}

#[tokio::test]
async fn a_hook_is_claimed_by_one_caller_and_retried_after_failure() {
    for target in targets("hooks").await {
        let store = open(&target, 60).await;
        paid(&store, "cs_h").await;
        let claim = store.claim_hook("cs_h", 2).await.unwrap().unwrap();
        assert_eq!(claim.fulfillment.session_id, "cs_h");
        assert!(
            store.claim_hook("cs_h", 2).await.unwrap().is_none(),
            "claimed twice"
        );
        assert!(store.renew_hook("cs_h", &claim.token, 3).await.unwrap());
        assert!(!store.renew_hook("cs_h", "not-the-holder", 3).await.unwrap());
        assert!(
            !store
                .finish_hook("cs_h", "not-the-holder", Ok(()), 3)
                .await
                .unwrap(),
            "a stranger finished it"
        );
        assert!(
            store
                .finish_hook("cs_h", &claim.token, Err("exit status 1".into()), 3)
                .await
                .unwrap()
        );
        assert_eq!(store.hooks_due(4).await.unwrap(), vec!["cs_h".to_string()]);
        let again = store.claim_hook("cs_h", 5).await.unwrap().unwrap();
        assert_ne!(again.token, claim.token);
        assert!(
            store
                .finish_hook("cs_h", &again.token, Ok(()), 6)
                .await
                .unwrap()
        );
        assert!(store.hooks_due(7).await.unwrap().is_empty());
        assert!(store.claim_hook("cs_h", 8).await.unwrap().is_none());
        let hook = store.order("cs_h").await.unwrap().unwrap().hook.unwrap();
        assert_eq!((hook.state.as_str(), hook.attempts), ("done", 2));
        assert_eq!(hook.last_error.as_deref(), Some("exit status 1"));
    }
}

#[tokio::test]
async fn a_run_whose_holder_died_is_taken_over_after_its_lease_expires() {
    for target in targets("lease").await {
        let store = open(&target, 30).await;
        paid(&store, "cs_l").await;
        paid(&store, "cs_fresh").await;
        let dead = store.claim_hook("cs_l", 100).await.unwrap().unwrap();
        // The holder dies. Before the lease ends nobody may take it, nor the fresh pending run.
        assert!(store.claim_next_hook(129, 0).await.unwrap().is_none());
        assert!(store.claim_hook("cs_l", 129).await.unwrap().is_none());
        // At expiry a survivor takes it over, with a new token; the dead one's finish is void.
        let (id, taken) = store.claim_next_hook(130, 0).await.unwrap().unwrap();
        assert_eq!(id, "cs_l");
        assert_ne!(taken.token, dead.token);
        assert!(
            !store
                .finish_hook("cs_l", &dead.token, Ok(()), 131)
                .await
                .unwrap()
        );
        assert!(
            store
                .finish_hook("cs_l", &taken.token, Ok(()), 131)
                .await
                .unwrap()
        );
        // A pending run nobody claimed for a lease is swept too.
        let (id, _) = store.claim_next_hook(200, 170).await.unwrap().unwrap();
        assert_eq!(id, "cs_fresh");
        assert!(store.claim_next_hook(200, 170).await.unwrap().is_none());
        let hook = store.order("cs_l").await.unwrap().unwrap().hook.unwrap();
        assert_eq!((hook.state.as_str(), hook.attempts), ("done", 2));
    }
}

#[tokio::test]
async fn concurrent_sweepers_never_claim_one_run_twice() {
    for target in targets("sweep").await {
        let store = open(&target, 60).await;
        for i in 0..20 {
            paid(&store, &format!("cs_s{i}")).await;
        }
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut got = vec![];
                    while let Some((id, _)) = store.claim_next_hook(10, 5).await.unwrap() {
                        got.push(id);
                    }
                    got
                })
            })
            .collect();
        let mut all = vec![];
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let unique: BTreeSet<_> = all.iter().cloned().collect();
        assert_eq!((all.len(), unique.len()), (20, 20), "{target:?}");
    }
}

#[tokio::test]
async fn concurrent_deliveries_of_one_session_fulfill_once_across_connections() {
    for target in targets("shared").await {
        // Two handles: two connections (SQLite) or two pools (PostgreSQL), as two processes.
        let a = open(&target, 60).await;
        let b = open(&target, 60).await;
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let s = if i % 2 == 0 { a.clone() } else { b.clone() };
                // Half the same event id, half Stripe's own duplicates under other ids.
                let id = if i < 8 {
                    "evt_same".to_string()
                } else {
                    format!("evt_other_{i}")
                };
                tokio::spawn(async move {
                    let e = session_event(&id, "checkout.session.completed", "cs_s", "paid");
                    s.record(e, i, true).await.unwrap()
                })
            })
            .collect();
        let mut entered = 0;
        let mut fresh_same = 0;
        for t in tasks {
            let r = t.await.unwrap();
            entered += usize::from(r.entered_paid);
            fresh_same += usize::from(!r.duplicate);
        }
        assert_eq!(entered, 1, "{target:?}");
        // evt_same once, plus the 8 other ids.
        assert_eq!(fresh_same, 9);
        assert_eq!(b.event_count().await.unwrap(), 9);
        assert_eq!(a.orders(Some(Paid), 10).await.unwrap().len(), 1);
    }
}

fn spend(amount: i64, now: i64) -> SpendRequest {
    SpendRequest {
        scope: "shop".into(),
        kind: "refund".into(),
        currency: "usd".into(),
        amount,
        per_call_max: Some(500),
        daily_max: Some(1000),
        now,
    }
}

#[tokio::test]
async fn fifty_concurrent_reservations_of_100_against_1000_grant_exactly_ten_and_survive_a_reopen()
{
    for target in targets("spend").await {
        let store = open(&target, 60).await;
        let now = 1_700_000_000;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.reserve_spend(spend(100, now)).await.unwrap() })
            })
            .collect();
        let mut granted = vec![];
        let mut refused = vec![];
        for t in tasks {
            match t.await.unwrap() {
                Ok(id) => granted.push(id),
                Err(r) => refused.push(r),
            }
        }
        assert_eq!((granted.len(), refused.len()), (10, 40), "{target:?}");
        let r = &refused[0];
        assert_eq!(
            (r.limit, r.max, r.used, r.frees_at),
            ("daily", 1000, 1000, Some(now + 86_400))
        );
        drop(store);
        // Another process (or a restart) sees the same tally.
        let store = open(&target, 60).await;
        assert!(
            store
                .reserve_spend(spend(100, now + 1))
                .await
                .unwrap()
                .is_err()
        );
        // A definite failure frees its share; a kept one keeps counting.
        store.release_spend(granted[0]).await.unwrap();
        store.keep_spend(granted[1]).await.unwrap();
        store.release_spend(granted[1]).await.unwrap(); // settled once: stays kept
        let id = store
            .reserve_spend(spend(100, now + 2))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store
                .reserve_spend(spend(100, now + 3))
                .await
                .unwrap()
                .is_err()
        );
        store.keep_spend(id).await.unwrap();
        // Per call, and other scopes and currencies have tallies of their own.
        let big = store
            .reserve_spend(spend(501, now + 4))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!((big.limit, big.max, big.frees_at), ("per_call", 500, None));
        let mut other = spend(100, now + 5);
        other.currency = "eur".into();
        assert!(store.reserve_spend(other.clone()).await.unwrap().is_ok());
        other.scope = "other-tenant".into();
        other.currency = "usd".into();
        assert!(store.reserve_spend(other).await.unwrap().is_ok());
        // A day later the window has moved on.
        assert!(
            store
                .reserve_spend(spend(500, now + 86_400 + 3))
                .await
                .unwrap()
                .is_ok()
        );
    }
}

fn entry(at: i64, tenant: &str) -> AuditEntry {
    AuditEntry {
        at,
        tenant: tenant.into(),
        tool: "create_refund".into(),
        method: "POST".into(),
        path: "/v1/refunds".into(),
        amount: Some(4999),
        currency: Some("usd".into()),
        object_id: Some("pi_1".into()),
        idempotency_key: Some("k-1".into()),
        confirmation: "elicited".into(),
        limit_decision: "within".into(),
    }
}

#[tokio::test]
async fn audit_rows_start_unknown_finish_once_and_list_newest_first() {
    for target in targets("audit").await {
        let store = open(&target, 60).await;
        let a = store.audit_begin(entry(10, "shop")).await.unwrap();
        let b = store.audit_begin(entry(20, "shop")).await.unwrap();
        let c = store.audit_begin(entry(30, "other")).await.unwrap();
        let done = AuditOutcome {
            outcome: "succeeded".into(),
            http_status: Some(200),
            request_id: Some("req_1".into()),
            object_id: Some("re_1".into()),
            error: None,
        };
        store.audit_finish(a, done.clone()).await.unwrap();
        // A second finish changes nothing.
        let late = AuditOutcome {
            outcome: "failed".into(),
            ..done.clone()
        };
        store.audit_finish(a, late).await.unwrap();
        drop(store);
        let store = open(&target, 60).await;
        let all = store
            .audit_list(
                &Scope::Operator,
                AuditFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, b, a]);
        assert_eq!(all[1].outcome, "unknown");
        assert_eq!(
            (
                all[2].outcome.as_str(),
                all[2].http_status,
                all[2].entry.object_id.as_deref()
            ),
            ("succeeded", Some(200), Some("re_1"))
        );
        assert_eq!(all[2].entry.amount, Some(4999));
        let shop = store
            .audit_list(
                &Scope::Operator,
                AuditFilter {
                    tenant: Some("shop".into()),
                    since: Some(15),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(shop.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b]);
        let one = store
            .audit_list(
                &Scope::Operator,
                AuditFilter {
                    limit: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(one.len(), 1);
    }
}

#[tokio::test]
async fn each_tenant_reads_only_its_own_audit_rows_and_a_stored_value_is_bounded() {
    for target in targets("audit-scope").await {
        let store = open(&target, 60).await;
        let huge = "x".repeat(1 << 20);
        let mine = store
            .audit_begin(AuditEntry {
                object_id: Some(huge.clone()),
                path: format!("/v1/customers/{huge}"),
                idempotency_key: Some(huge.clone()),
                ..entry(10, "stripe-key:test:aaaaaaaaaaaa")
            })
            .await
            .unwrap();
        store
            .audit_finish(
                mine,
                AuditOutcome {
                    outcome: "failed".into(),
                    http_status: Some(400),
                    request_id: Some(huge.clone()),
                    object_id: None,
                    error: Some(huge.clone()),
                },
            )
            .await
            .unwrap();
        store
            .audit_begin(entry(20, "stripe-key:test:bbbbbbbbbbbb"))
            .await
            .unwrap();
        let filter = || AuditFilter {
            limit: 10,
            ..Default::default()
        };
        let tenant = |name: &str| Scope::Tenant {
            tenant: name.into(),
            accounts: Accounts::Any,
        };
        let a = store
            .audit_list(&tenant("stripe-key:test:aaaaaaaaaaaa"), filter())
            .await
            .unwrap();
        assert_eq!(a.len(), 1, "{target:?}");
        assert_eq!(a[0].id, mine);
        // Asking for another tenant's rows by name gives nothing.
        let other = store
            .audit_list(
                &tenant("stripe-key:test:aaaaaaaaaaaa"),
                AuditFilter {
                    tenant: Some("stripe-key:test:bbbbbbbbbbbb".into()),
                    ..filter()
                },
            )
            .await
            .unwrap();
        assert!(other.is_empty(), "{other:?}");
        assert!(
            store
                .audit_list(&Scope::Nobody, filter())
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .audit_list(&Scope::Operator, filter())
                .await
                .unwrap()
                .len(),
            2
        );
        let row = &a[0];
        for stored in [
            row.entry.object_id.as_deref().unwrap(),
            row.entry.path.as_str(),
            row.entry.idempotency_key.as_deref().unwrap(),
            row.request_id.as_deref().unwrap(),
        ] {
            assert!(stored.len() <= 255, "{} bytes stored", stored.len());
        }
        assert!(row.error.as_deref().unwrap().len() <= 1024);
    }
}

#[tokio::test]
async fn a_schema_newer_than_the_build_is_refused_with_the_message_that_says_so() {
    for target in targets("schema").await {
        let store = open(&target, 60).await;
        let status = store.schema().await.unwrap();
        assert_eq!(status.found, status.known);
        assert_eq!(
            Store::schema_status(&target).await.unwrap().describe(),
            format!("schema version {} (up to date)", status.known)
        );
        drop(store);
        store_common::bump_schema(&target, status.known + 1).await;
        let e = Store::open(&target).await.unwrap_err().to_string();
        assert!(
            e.contains("newer than this build knows") && e.contains("upgrade stripe-mcp"),
            "{e}"
        );
    }
}
