//! Deep pages of an account's member list, read from bookmarks (`scim/bookmarks.rs`):
//! exactly the members `OFFSET` reads, and never from a bookmark that a member added or
//! removed since has moved; and pages of it read only as far as an answer shows them
//! (`scim/shown.rs`).

use portcullis_domain::*;
use portcullis_store::{
    PageMember, ScimQuery, ScimUserRow, ScimUserShown, Store, StoreError, UserField,
};

use crate::scim::group_of;
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

/// Adds `n` SCIM members (each with a stored view) created at `first` seconds on, seven
/// to a second, in one transaction.
fn add_scim_members(store: &Store, account: &Account, n: i64, first: i64) -> Vec<User> {
    store
        .transaction(|store| {
            (0..n)
                .map(|i| {
                    store.insert_scim_user(
                        &scim_row(account, &format!("s{first}-{i}@acme.com"), first + i / 7),
                        None,
                    )
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .unwrap()
}

/// A page of members as shown, and the total.
type ShownPage = (Vec<PageMember>, i64);

/// The page of `q` as [`Store::scim_users_page_shown`] reads it, and as the whole rows of
/// [`Store::list_scim_users`] with [`Store::groups_of_users`] show it.
fn shown_both_ways(
    store: &Store,
    account: &Account,
    q: &ScimQuery<UserField>,
) -> (Option<ShownPage>, ShownPage) {
    let shown = store.scim_users_page_shown(account.id, q).unwrap();
    let (rows, total) = store.list_scim_users(account.id, q).unwrap();
    let ids: Vec<UserId> = rows.iter().map(|r| r.user.id).collect();
    let mut groups = store.groups_of_users(account.id, &ids).unwrap();
    let whole = rows
        .iter()
        .map(|r: &ScimUserRow| {
            let theirs = groups.remove(&r.user.id).unwrap_or_default();
            let Some(view) = r.scim_view.clone() else {
                return PageMember::Whole(Box::new(r.clone()), theirs);
            };
            PageMember::Shown(ScimUserShown {
                id: r.user.id,
                user_name: r.user.email.as_str().to_owned(),
                display_name: r.user.display_name.clone(),
                active: r.user.active,
                external_id: r.user.external_id.clone(),
                view,
                version: r.version,
                created_at: r.user.created_at,
                updated_at: r.user.updated_at,
                groups: theirs,
            })
        })
        .collect();
    (shown, (whole, total))
}

backend_tests! {
    fn pages_shown_from_columns_and_views_are_the_pages_of_whole_rows(store: &Store) {
        let a = seed_account(store, "acme");
        let members = add_scim_members(store, &a, MEMBERS, 1);
        let other = seed_account(store, "other");
        add_scim_members(store, &other, 30, 1);
        // Two groups: members in both, in one or in none.
        let ours = group_of(&a, "Ours");
        let theirs = group_of(&a, "Also ours");
        store.insert_scim_group(&ours, &[members[0].id, members[1_001].id], None).unwrap();
        store.insert_scim_group(&theirs, &[members[0].id], None).unwrap();
        let offsets = [0, 50, 1_000, 1_001, 2_300, 2_345, 90_000, 0];
        for offset in offsets {
            let q = ScimQuery::page(offset, 100);
            let (shown, whole) = shown_both_ways(store, &a, &q);
            assert_eq!(shown, Some(whole), "the page at {offset}");
        }
        // The groups are there (the comparison above would also hold without them).
        let (first, total) = store.scim_users_page_shown(a.id, &ScimQuery::page(0, 100)).unwrap().unwrap();
        let shown_groups = |page: &[PageMember], id: UserId| {
            page.iter().find_map(|m| match m {
                PageMember::Shown(shown) if shown.id == id => Some(shown.groups.clone()),
                _ => None,
            })
        };
        let groups_of = |id: UserId| shown_groups(&first, id);
        let both = vec![(theirs.id, "Also ours".to_owned()), (ours.id, "Ours".to_owned())];
        assert_eq!(groups_of(members[0].id), Some(both));
        assert_eq!((groups_of(members[1].id), total), (Some(vec![]), MEMBERS));
        let (deep, _) = store.scim_users_page_shown(a.id, &ScimQuery::page(1_000, 100)).unwrap().unwrap();
        assert_eq!(shown_groups(&deep, members[1_001].id), Some(vec![(ours.id, "Ours".to_owned())]));
        // A member without a stored view (here one SCIM never described, created last, in
        // a group) comes as their whole row, with their groups; the others as before.
        let mut plain = user(&a, "plain@acme.com");
        (plain.created_at, plain.updated_at) = (t(100_000), t(100_000));
        store.insert_user(&plain).unwrap();
        store.insert_scim_group(&group_of(&a, "Plain"), &[plain.id], None).unwrap();
        for offset in [2_300, 1_000] {
            let (shown, whole) = shown_both_ways(store, &a, &ScimQuery::page(offset, 100));
            assert_eq!(shown, Some(whole), "the page at {offset}");
        }
        let (last, _) = store.scim_users_page_shown(a.id, &ScimQuery::page(2_300, 100)).unwrap().unwrap();
        match last.last() {
            Some(PageMember::Whole(row, groups)) => {
                assert_eq!((row.user.id, row.scim_view.as_deref(), groups.len()), (plain.id, None, 1));
            }
            other => panic!("the member without a view came as {other:?}"),
        }
        // Filtered or sorted lists are not the whole list.
        let filtered = ScimQuery::page(0, 10).filtered(portcullis_store::Filter::Compare(
            UserField::UserName,
            portcullis_store::CompareOp::Eq,
            portcullis_store::FilterValue::Str("s1-0@acme.com".into()),
        ));
        assert_eq!(store.scim_users_page_shown(a.id, &filtered).unwrap(), None);
        let sorted = ScimQuery { sort: Some((UserField::UserName, true)), ..ScimQuery::page(0, 10) };
        assert_eq!(store.scim_users_page_shown(a.id, &sorted).unwrap(), None);
    }


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
