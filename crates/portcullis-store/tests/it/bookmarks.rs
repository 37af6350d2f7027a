//! Deep pages of an account's member list, read from bookmarks (`scim/bookmarks.rs`):
//! exactly the members `OFFSET` reads, and never from a bookmark that a member added or
//! removed since has moved.

use portcullis_domain::*;
use portcullis_store::{ScimQuery, Store, StoreError};

use crate::support::*;

/// More members than two bookmarks apart (1,000), several created at each second, so
/// that bookmarks fall among members of the same time.
const MEMBERS: i64 = 2_345;

/// Adds `n` members created at `first` seconds on, seven to a second, in one transaction.
pub(crate) fn add_members(store: &Store, account: &Account, n: i64, first: i64) -> Vec<User> {
    store
        .transaction(|store| {
            (0..n)
                .map(|i| {
                    let mut u = user(account, &format!("m{first}-{i}@acme.com"));
                    u.created_at = t(first + i / 7);
                    u.updated_at = u.created_at;
                    store.insert_user(&u)?;
                    Ok(u)
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .unwrap()
}

/// The page of `count` members at `offset` (0-based), and the total.
fn page(store: &Store, account: &Account, offset: i64, count: i64) -> (Vec<UserId>, i64) {
    let (rows, total) = store
        .list_scim_users(account.id, &ScimQuery::page(offset, count))
        .unwrap();
    (rows.iter().map(|r| r.user.id).collect(), total)
}

/// Every member in list order, read from the start (where no bookmark is used).
fn everyone(store: &Store, account: &Account) -> Vec<UserId> {
    page(store, account, 0, 100_000).0
}

/// Every page at `offsets` is the slice of [`everyone`] at it.
pub(crate) fn pages_match(store: &Store, account: &Account, offsets: &[i64]) {
    let all = everyone(store, account);
    for &offset in offsets {
        let start = usize::try_from(offset).unwrap().min(all.len());
        let end = (start + 100).min(all.len());
        assert_eq!(
            page(store, account, offset, 100),
            (all[start..end].to_vec(), i64::try_from(all.len()).unwrap()),
            "the page at {offset}"
        );
    }
}

backend_tests! {
    fn deep_pages_are_the_members_offset_reads(store: &Store) {
        let a = seed_account(store, "acme");
        add_members(store, &a, MEMBERS, 1);
        let other = seed_account(store, "other");
        add_members(store, &other, 30, 1);
        // Deepest first (every bookmark read at once), then again from those kept, then
        // pages at, just after and just before each bookmark, the last member, past the
        // end and far past it.
        let offsets = [2_300, 2_300, 1_000, 1_001, 1_999, 2_000, 2_344, 2_345, 3_000, 90_000];
        pages_match(store, &a, &offsets);
        pages_match(store, &a, &offsets);
        pages_match(store, &other, &[1_000]);
    }

    fn a_member_added_or_removed_moves_the_pages_after_it(store: &Store) {
        let a = seed_account(store, "acme");
        let members = add_members(store, &a, MEMBERS, 10);
        let offsets = [1_000, 1_500, 2_000, 2_200];
        pages_match(store, &a, &offsets);
        // Removed before the first bookmark and between two: every bookmark after them
        // now stands one or two places later than it was read.
        assert!(store.delete_user(a.id, members[3].id, t(9), None).unwrap());
        pages_match(store, &a, &offsets);
        assert!(store.delete_user(a.id, members[1_500].id, t(9), None).unwrap());
        pages_match(store, &a, &offsets);
        // Added before every member (created earlier), and after all of them.
        add_members(store, &a, 3, 1);
        pages_match(store, &a, &offsets);
        add_members(store, &a, 5, 100_000);
        pages_match(store, &a, &[1_000, 2_300, 2_340]);
    }

    fn pages_read_on_one_connection_as_the_server_reads_them(store: &Store) {
        // The server reads a page on one pinned connection, outside a transaction.
        let a = seed_account(store, "acme");
        let members = add_members(store, &a, MEMBERS, 10);
        let on_one = |offsets: &[i64]| {
            store
                .on_one_connection(|store| {
                    pages_match(store, &a, offsets);
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        };
        on_one(&[2_000, 1_000]);
        assert!(store.delete_user(a.id, members[0].id, t(9), None).unwrap());
        on_one(&[1_000, 2_000]);
    }

    fn pages_read_in_a_transaction_that_is_undone_leave_no_bookmarks(store: &Store) {
        let a = seed_account(store, "acme");
        let members = add_members(store, &a, MEMBERS, 10);
        // Inside a transaction, the first member removed and a deep page read: the
        // account's count of changes is one more than before, and its members are not
        // what anyone will see, because the transaction is undone.
        let undone = store.transaction(|store| {
            assert!(store.delete_user(a.id, members[0].id, t(9), None)?);
            let (ids, _) = store.list_scim_users(a.id, &ScimQuery::page(1_000, 100))?;
            assert_eq!(ids.len(), 100);
            Err::<(), _>(StoreError::NotFound)
        });
        assert!(matches!(undone, Err(StoreError::NotFound)));
        // A member added at the end takes the count of changes to the same number.
        add_members(store, &a, 1, 100_000);
        pages_match(store, &a, &[1_000, 2_000]);
    }
}
