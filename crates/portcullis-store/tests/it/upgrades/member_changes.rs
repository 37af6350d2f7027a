//! Migration 22: each member-count slot also counts the changes to the account's members.

use crate::bookmarks::{add_members, pages_match};
use crate::support::*;

use super::on_both;

/// The counts a database was written with are kept (slot, members), their changes start
/// at 0, and from then on every member added or removed counts one change, while the
/// member count stays exact and deep pages read from bookmarks stay exact.
fn member_changes(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000021").unwrap();
    let a = seed_account(store, "acme");
    let members = add_members(store, &a, 1_234, 1);
    let other = seed_account(store, "other");
    add_members(store, &other, 3, 1);
    let slots = |account: &portcullis_domain::Account| {
        db.raw_texts(&format!(
            "SELECT CAST(slot AS TEXT) || ':' || CAST(members AS TEXT) AS value \
             FROM account_member_counts WHERE account_id = '{}' ORDER BY slot",
            account.id
        ))
    };
    let before = (slots(&a), slots(&other));

    store.migrate().unwrap();

    assert_eq!((slots(&a), slots(&other)), before);
    let changes = |account: &portcullis_domain::Account| {
        db.raw_texts(&format!(
            "SELECT CAST(SUM(changes) AS TEXT) AS value FROM account_member_counts \
             WHERE account_id = '{}'",
            account.id
        ))
    };
    assert_eq!(changes(&a), vec![Some("0".to_owned())]);
    assert_eq!(store.account_counts(a.id).unwrap().members, 1_234);
    pages_match(store, &a, &[1_000, 1_200]);

    assert!(store.delete_user(a.id, members[2].id, t(9), None).unwrap());
    add_members(store, &a, 2, 0);
    assert_eq!(changes(&a), vec![Some("3".to_owned())]);
    assert_eq!(changes(&other), vec![Some("0".to_owned())]);
    assert_eq!(store.account_counts(a.id).unwrap().members, 1_235);
    pages_match(store, &a, &[1_000, 1_200]);
}

#[test]
fn member_changes_on_both_backends() {
    on_both(member_changes);
}
