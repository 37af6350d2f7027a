//! Claiming webhook deliveries (`Store::claim_deliveries`): each webhook's deliveries go
//! oldest first and never past one that waits, and a failing receiver holds back only its
//! own.

use chrono::Duration;
use portcullis_domain::*;
use portcullis_store::{Attempt, Delivery, Store};

use crate::support::*;

pub(crate) const LEASE: i64 = 60;

pub(crate) fn hook(store: &Store, account: &Account, n: u8) -> Webhook {
    let hook = Webhook {
        id: WebhookId::from_uuid(uuid::Uuid::new_v4()),
        account: account.id,
        url: format!("https://hooks{n}.example.com/portcullis"),
        events: vec!["*".into()],
        description: String::new(),
        secret: WebhookSecret::from_bytes([n; 32]),
        created_at: t(1),
    };
    store.insert_webhook(&hook).unwrap();
    hook
}

/// Queues `n` deliveries to `hook` at `at`, each newer than the one before.
pub(crate) fn queue(store: &Store, hook: &Webhook, n: usize, at: i64) -> Vec<DeliveryId> {
    let deliveries: Vec<Delivery> = (0..n)
        .map(|i| Delivery::new(hook, "ping", format!("{{\"n\":{i}}}"), t(at)))
        .collect();
    store.insert_deliveries(&deliveries).unwrap();
    deliveries.iter().map(|d| d.id).collect()
}

pub(crate) fn claim(store: &Store, at: i64, limit: i64) -> Vec<DeliveryId> {
    store
        .claim_deliveries(t(at), Duration::seconds(LEASE), limit)
        .unwrap()
        .iter()
        .map(|(d, _)| d.id)
        .collect()
}

pub(crate) fn delivered(store: &Store, id: DeliveryId, at: i64) {
    store
        .record_attempt(id, &Attempt::Delivered { status: 204 }, t(at))
        .unwrap();
}

/// Two webhooks of one account: the first one's receiver failed its first delivery
/// (`head`, tried again at 1000), with `behind` more queued after it; then one delivery
/// (`other`) queued to the second.
pub(crate) struct Stalled {
    pub account: Account,
    pub failing: Webhook,
    pub working: Webhook,
    pub head: DeliveryId,
    pub behind: Vec<DeliveryId>,
    pub other: DeliveryId,
}

pub(crate) fn stalled(store: &Store, behind: usize) -> Stalled {
    let account = seed_account(store, "acme");
    let (failing, working) = (hook(store, &account, 1), hook(store, &account, 2));
    let head = queue(store, &failing, 1, 5)[0];
    assert_eq!(claim(store, 10, 64), vec![head]);
    let failed = Attempt::Failed {
        status: Some(500),
        error: "the receiver answered 500".into(),
        retry_at: Some(t(1000)),
    };
    store.record_attempt(head, &failed, t(11)).unwrap();
    let behind = queue(store, &failing, behind, 12);
    let other = queue(store, &working, 1, 13)[0];
    Stalled {
        account,
        failing,
        working,
        head,
        behind,
        other,
    }
}

backend_tests! {
    fn an_event_goes_to_the_account_s_webhooks_that_subscribe_to_it(store: &Store) {
        let a = seed_account(store, "acme");
        let other = seed_account(store, "other");
        let subscribed = |account: &Account, n: u8, events: &[&str]| {
            let mut hook = hook(store, account, n);
            hook.events = events.iter().map(|e| (*e).to_owned()).collect();
            store.update_webhook(&hook).unwrap();
            hook.id
        };
        let all = subscribed(&a, 1, &["*"]);
        let created = subscribed(&a, 2, &["member.deleted", "member.created"]);
        subscribed(&a, 3, &["member.deleted"]);
        subscribed(&other, 4, &["*"]);
        let mut got = store.subscribed_webhooks(a.id, "member.created").unwrap();
        got.sort();
        let mut expected = vec![all, created];
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(store.subscribed_webhooks(a.id, "domain.verified").unwrap(), vec![all]);
    }

    fn each_webhook_is_claimed_oldest_first_and_never_past_one_that_waits(store: &Store) {
        let a = seed_account(store, "acme");
        let (first, second) = (hook(store, &a, 1), hook(store, &a, 2));
        let a0 = queue(store, &first, 1, 5)[0];
        let b0 = queue(store, &second, 1, 5)[0];
        let a1 = queue(store, &first, 1, 5)[0];
        let b1 = queue(store, &second, 1, 5)[0];
        let a2 = queue(store, &first, 1, 5)[0];

        // Oldest first over both webhooks.
        assert_eq!(claim(store, 10, 3), vec![a0, b0, a1]);
        // Each webhook's oldest is held by that claim: nothing may pass it.
        assert_eq!(claim(store, 11, 64), vec![]);
        delivered(store, a0, 12);
        delivered(store, b0, 12);
        // The second webhook's next is free; the first one's next (a1) is still held.
        assert_eq!(claim(store, 13, 64), vec![b1]);
        // Once the lease on a1 ends, it goes again, then the one after it.
        assert_eq!(claim(store, 10 + LEASE + 1, 64), vec![a1, a2]);
    }

    fn a_failing_receiver_holds_back_only_its_own_deliveries(store: &Store) {
        // More events behind the failing receiver's retry than a round claims several
        // times over, then one for the working receiver.
        let Stalled { head, behind, other, .. } = stalled(store, 300);

        assert_eq!(claim(store, 20, 64), vec![other]);
        delivered(store, other, 21);
        assert_eq!(claim(store, 22, 64), vec![]);
        // When the retry is due, the failing receiver's deliveries go, in order.
        let mut expected = vec![head];
        expected.extend_from_slice(&behind[..63]);
        assert_eq!(claim(store, 1000, 64), expected);
    }
}

/// PostgreSQL: a delivery in the middle of a queue locked by another transaction (as
/// another replica's claim, scanning the queue, holds it for a moment) never lets a claim
/// take the deliveries behind it without it. The claim takes the run from the head whole,
/// once the other transaction has let go; skipping the locked row would send the ones
/// after it first.
#[test]
fn a_claim_never_skips_a_delivery_another_transaction_holds() {
    use diesel::prelude::*;
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let store = &db.store;
    let a = seed_account(store, "acme");
    let hook = hook(store, &a, 1);
    let ids = queue(store, &hook, 6, 5);
    let (url, middle) = (db.url.clone(), ids[3].to_string());
    let (locked, wait) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        conn.transaction(|c| {
            diesel::sql_query(format!(
                "SELECT id FROM webhook_deliveries WHERE id = '{middle}' FOR UPDATE"
            ))
            .execute(c)?;
            locked.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    });
    wait.recv().unwrap();
    assert_eq!(claim(store, 10, 64), ids);
    holder.join().unwrap();
}
