//! Group commit (`Store::write_batch`, `Batch::attempt`) and what a failed write inside a
//! transaction leaves (`Store::transaction`).

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

    // The SCIM writes run inside their use case's transaction without a savepoint of
    // their own. One that fails may have done part of its work, so a caller that went
    // on as if nothing happened would commit that part: the transaction is rolled back
    // instead, and the caller gets `FailedWrite`.
    fn a_failed_write_undoes_its_transaction_even_when_the_caller_goes_on(store: &Store) {
        let a = seed_account(store, "acme");
        let kept = scim_row(&a, "kept@example.com", 1);
        let first = scim_row(&a, "first@example.com", 1);
        let taken = scim_row(&a, "KEPT@example.com", 1);
        store.insert_scim_user(&kept, None).unwrap();

        let outcome: Result<(), StoreError> = store.transaction(|s| {
            s.insert_scim_user(&first, None)?;
            let failed = s.insert_scim_user(&taken, None);
            assert!(
                matches!(failed, Err(StoreError::Conflict { what: conflict::EMAIL })),
                "{failed:?}"
            );
            Ok(())
        });
        assert!(matches!(outcome, Err(StoreError::FailedWrite)), "{outcome:?}");
        assert_eq!(store.user(a.id, first.user.id).unwrap(), None);
        assert_eq!(store.user(a.id, taken.user.id).unwrap(), None);
        assert_eq!(people(store, &a), 1);

        // The error passed on, as every use case does: the caller's own error, and
        // nothing kept.
        let outcome: Result<User, StoreError> = store.transaction(|s| {
            s.insert_scim_user(&first, None)?;
            s.insert_scim_user(&taken, None)
        });
        assert!(
            matches!(outcome, Err(StoreError::Conflict { what: conflict::EMAIL })),
            "{outcome:?}"
        );
        assert_eq!(store.user(a.id, first.user.id).unwrap(), None);

        // A failure inside a nested transaction undoes that one alone: the outer one
        // goes on (a PATCH retried after `PreconditionFailed` does so) and is kept.
        store
            .transaction(|s| {
                s.insert_scim_user(&first, None)?;
                let inner: Result<User, StoreError> =
                    s.transaction(|s| s.insert_scim_user(&taken, None));
                assert!(matches!(inner, Err(StoreError::Conflict { .. })), "{inner:?}");
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert!(store.user(a.id, first.user.id).unwrap().is_some());
        assert_eq!(people(store, &a), 2);
    }

    // The same in a batch: the attempt whose failed write was swallowed is undone, the
    // others are kept.
    fn a_failed_write_undoes_its_attempt_even_when_the_caller_goes_on(store: &Store) {
        let a = seed_account(store, "acme");
        let (one, two, three) = (
            scim_row(&a, "one@example.com", 1),
            scim_row(&a, "two@example.com", 1),
            scim_row(&a, "three@example.com", 1),
        );
        let taken = scim_row(&a, "ONE@example.com", 1);
        let results = store
            .write_batch(|batch| {
                let r1 = batch.attempt(|s| s.insert_scim_user(&one, None));
                let r2 = batch.attempt(|s| {
                    s.insert_scim_user(&two, None)?;
                    let _ = s.insert_scim_user(&taken, None);
                    Ok::<_, StoreError>(())
                });
                let r3 = batch.attempt(|s| s.insert_scim_user(&three, None));
                (r1, r2, r3)
            })
            .unwrap();
        assert!(results.0.is_ok(), "{:?}", results.0);
        assert!(matches!(results.1, Err(StoreError::FailedWrite)), "{:?}", results.1);
        assert!(results.2.is_ok(), "{:?}", results.2);
        assert!(store.user(a.id, one.user.id).unwrap().is_some());
        assert_eq!(store.user(a.id, two.user.id).unwrap(), None);
        assert!(store.user(a.id, three.user.id).unwrap().is_some());
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
