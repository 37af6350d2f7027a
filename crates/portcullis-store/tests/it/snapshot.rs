//! Several reads as one read transaction: `Store::read_snapshot`.

use portcullis_domain::*;
use portcullis_store::{Store, StoreError};

use crate::support::*;

fn renamed(store: &Store, account: &Account, id: UserId, name: &str) {
    let mut member = store.user(account.id, id).unwrap().unwrap();
    member.display_name = name.into();
    store.update_user(&member).unwrap();
}

fn name_of(store: &Store, account: &Account, id: UserId) -> Result<String, StoreError> {
    Ok(store
        .user(account.id, id)?
        .ok_or(StoreError::NotFound)?
        .display_name)
}

backend_tests! {
    fn the_reads_of_a_snapshot_see_one_moment(store: &Store) {
        let a = seed_account(store, "acme");
        let mut member = user(&a, "ada@example.com");
        member.display_name = "Before".into();
        store.insert_user(&member).unwrap();

        let (first, second) = store
            .read_snapshot(|s| {
                let first = name_of(s, &a, member.id)?;
                // Another connection changes the member between the two reads.
                renamed(store, &a, member.id, "After");
                let second = name_of(s, &a, member.id)?;
                Ok::<_, StoreError>((first, second))
            })
            .unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("Before", "Before"));
        // Outside the snapshot, and in the next one, the change is there.
        assert_eq!(name_of(store, &a, member.id).unwrap(), "After");
        assert_eq!(store.read_snapshot(|s| name_of(s, &a, member.id)).unwrap(), "After");
    }

    fn a_failed_snapshot_is_ended_and_leaves_no_stale_connection_behind(store: &Store) {
        let a = seed_account(store, "acme");
        let member = user(&a, "ada@example.com");
        store.insert_user(&member).unwrap();

        let failed = store.read_snapshot(|s| {
            name_of(s, &a, member.id)?;
            Err::<(), _>(StoreError::NotFound)
        });
        assert!(matches!(failed, Err(StoreError::NotFound)), "{failed:?}");
        renamed(store, &a, member.id, "Renamed");
        // Were the failed snapshot's transaction left open on its connection, a later
        // snapshot taking that connection from the pool would still see the old name.
        for _ in 0..8 {
            assert_eq!(store.read_snapshot(|s| name_of(s, &a, member.id)).unwrap(), "Renamed");
        }
    }

    fn a_snapshot_inside_a_batch_reads_the_batch_s_own_writes(store: &Store) {
        let a = seed_account(store, "acme");
        let member = user(&a, "ada@example.com");
        let seen = store
            .write_batch(|batch| {
                batch.attempt(|s| {
                    s.insert_user(&member)?;
                    s.read_snapshot(|r| r.user(a.id, member.id))
                })
            })
            .unwrap()
            .unwrap();
        assert_eq!(seen, Some(member));
    }
}

/// SQLite's snapshots open and close their transactions with statements prepared once
/// per connection: on a single reader connection, snapshot after snapshot, committed
/// or failed, each one sees the latest write and none is left open.
#[test]
fn snapshots_one_after_another_on_one_sqlite_connection() {
    let db = TestDb::sqlite();
    let store = &db.store;
    let readers = store.readers(1).unwrap().unwrap();
    let a = seed_account(store, "acme");
    let member = user(&a, "ada@example.com");
    store.insert_user(&member).unwrap();
    for i in 0..12 {
        let name = format!("Name {i}");
        renamed(store, &a, member.id, &name);
        if i % 3 == 0 {
            let failed = readers.read_snapshot(|s| {
                name_of(s, &a, member.id)?;
                Err::<(), _>(StoreError::NotFound)
            });
            assert!(matches!(failed, Err(StoreError::NotFound)), "{failed:?}");
        }
        let seen = readers
            .read_snapshot(|s| {
                let first = name_of(s, &a, member.id)?;
                Ok::<_, StoreError>((first, name_of(s, &a, member.id)?))
            })
            .unwrap();
        assert_eq!(seen, (name.clone(), name), "snapshot {i}");
    }
}

backend_tests! {
    fn calls_on_one_connection_see_each_statement_s_own_moment(store: &Store) {
        let a = seed_account(store, "acme");
        let mut member = user(&a, "ada@example.com");
        member.display_name = "Before".into();
        store.insert_user(&member).unwrap();

        // No transaction: the second read sees what another connection committed after
        // the first.
        let (first, second) = store
            .on_one_connection(|s| {
                let first = name_of(s, &a, member.id)?;
                renamed(store, &a, member.id, "After");
                Ok::<_, StoreError>((first, name_of(s, &a, member.id)?))
            })
            .unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("Before", "After"));

        // A snapshot inside still reads one moment, and ends with its own transaction:
        // the statement after it sees the next change.
        let (in_snapshot, after) = store
            .on_one_connection(|s| {
                let in_snapshot = s.read_snapshot(|r| {
                    let first = name_of(r, &a, member.id)?;
                    renamed(store, &a, member.id, "Later");
                    Ok::<_, StoreError>((first, name_of(r, &a, member.id)?))
                })?;
                renamed(store, &a, member.id, "Last");
                Ok::<_, StoreError>((in_snapshot, name_of(s, &a, member.id)?))
            })
            .unwrap();
        assert_eq!(in_snapshot, ("After".to_owned(), "After".to_owned()));
        assert_eq!(after, "Last");

        // A failure is the caller's, and the connection goes back to the pool whole.
        let failed = store.on_one_connection(|s| {
            name_of(s, &a, member.id)?;
            Err::<(), _>(StoreError::NotFound)
        });
        assert!(matches!(failed, Err(StoreError::NotFound)), "{failed:?}");
        for _ in 0..8 {
            assert_eq!(store.on_one_connection(|s| name_of(s, &a, member.id)).unwrap(), "Last");
        }
    }
}
