//! Group commit: `Store::write_batch` and `Batch::attempt`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use portcullis_domain::*;
use portcullis_store::{conflict, Store, StoreError, UserListQuery};

use crate::support::*;

fn people(store: &Store, account: &Account) -> i64 {
    let query = UserListQuery {
        limit: 100,
        ..Default::default()
    };
    store.list_users(account.id, &query).unwrap().1
}

backend_tests! {
    fn a_batch_keeps_the_writes_that_succeed_and_undoes_only_the_one_that_fails(store: &Store) {
        let a = seed_account(store, "acme");
        let (first, undone, third) = (
            user(&a, "first@example.com"),
            user(&a, "undone@example.com"),
            user(&a, "third@example.com"),
        );
        let mut taken = user(&a, "FIRST@example.com");
        taken.external_id = Some("dup".into());

        let results = store
            .write_batch(|batch| {
                let r1 = batch.attempt(|s| s.insert_user(&first));
                // Two writes in one attempt: the second fails, so the first is undone too.
                let r2 = batch.attempt(|s| {
                    s.insert_user(&undone)?;
                    s.insert_user(&taken)
                });
                // A later attempt sees the earlier ones of its batch.
                let r3 = batch.attempt(|s| {
                    assert!(s.user(a.id, first.id)?.is_some(), "the batch sees its own writes");
                    assert_eq!(s.user(a.id, undone.id)?, None, "an undone attempt is gone");
                    s.insert_user(&third)
                });
                // Nothing is visible outside the batch before it commits.
                assert_eq!(store.user(a.id, first.id).unwrap(), None);
                (r1, r2, r3)
            })
            .unwrap();
        assert!(results.0.is_ok(), "{:?}", results.0);
        assert!(
            matches!(results.1, Err(StoreError::Conflict { what: conflict::EMAIL })),
            "{:?}",
            results.1
        );
        assert!(results.2.is_ok(), "{:?}", results.2);

        assert_eq!(store.user(a.id, first.id).unwrap(), Some(first));
        assert_eq!(store.user(a.id, third.id).unwrap(), Some(third));
        assert_eq!(store.user(a.id, undone.id).unwrap(), None);
        assert_eq!(store.user(a.id, taken.id).unwrap(), None);
        // The member count, kept by triggers, followed the savepoints.
        assert_eq!(people(store, &a), 2);
    }

    fn a_batch_that_panics_keeps_nothing_and_the_store_goes_on(store: &Store) {
        let a = seed_account(store, "acme");
        let lost = user(&a, "lost@example.com");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            store.write_batch(|batch| {
                batch.attempt(|s| s.insert_user(&lost)).unwrap();
                panic!("a bug in a write");
            })
        }));
        assert!(outcome.is_err());
        assert_eq!(store.user(a.id, lost.id).unwrap(), None);
        assert_eq!(people(store, &a), 0);

        let kept = user(&a, "kept@example.com");
        store
            .write_batch(|batch| batch.attempt(|s| s.insert_user(&kept)))
            .unwrap()
            .unwrap();
        assert_eq!(store.user(a.id, kept.id).unwrap(), Some(kept));
    }
}

/// A batch's commit leaves the write-ahead log to `Store::checkpoint`: after more than
/// the 1,000 pages at which a plain commit checkpoints, the log still holds them all,
/// and one checkpoint copies every frame into the database file.
#[test]
fn batches_leave_checkpoints_to_checkpoint() {
    let db = TestDb::sqlite();
    let store = &db.store;
    let a = seed_account(store, "acme");
    store.checkpoint().unwrap();
    let mut users = 0;
    for _ in 0..40 {
        store
            .write_batch(|batch| {
                for _ in 0..100 {
                    users += 1;
                    let mut u = user(&a, &format!("person{users}@example.com"));
                    u.display_name = "x".repeat(200);
                    batch.attempt(|s| s.insert_user(&u)).unwrap();
                }
            })
            .unwrap();
    }
    let done = store.checkpoint().unwrap();
    assert!(
        done.log > 1000,
        "the batches' commits checkpointed: {done:?}"
    );
    assert_eq!(done.checkpointed, done.log, "{done:?}");
    assert_eq!(people(store, &a), i64::from(users));
}
