//! Migration 23: the index of each account's active admins.

use portcullis_domain::*;
use portcullis_store::{Store, UserListQuery};

use crate::support::*;

use super::on_both;

fn admins(store: &Store, account: &Account, limit: i64) -> Vec<UserId> {
    let admins = store.active_admins(account.id, limit).unwrap();
    admins.iter().map(|u| u.id).collect()
}

/// The active admins a database held read the same after the index is made (only the
/// active human admins, oldest first), the members are read back unchanged, and the
/// admins then follow every change: a member made admin, an admin demoted, one
/// deactivated and one reactivated.
fn active_admins(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000022").unwrap();
    let a = seed_account(store, "acme");
    let other = seed_account(store, "other");
    // Each joins a second after the one before.
    let joined = std::cell::Cell::new(10);
    let add = |account: &Account, email: &str, role: Role, kind: UserKind, active: bool| {
        joined.set(joined.get() + 1);
        let created = t(joined.get());
        let u = User {
            role,
            kind,
            active,
            created_at: created,
            updated_at: created,
            ..user(account, email)
        };
        store.insert_user(&u).unwrap();
        u
    };
    let founder = add(&a, "founder@acme.test", Role::Admin, UserKind::Human, true);
    let early = add(&a, "early@acme.test", Role::Admin, UserKind::Human, true);
    let member = add(&a, "member@acme.test", Role::Member, UserKind::Human, true);
    add(&a, "bot@acme.test", Role::Admin, UserKind::Bot, true);
    let inactive = add(&a, "gone@acme.test", Role::Admin, UserKind::Human, false);
    let late = add(&a, "late@acme.test", Role::Admin, UserKind::Human, true);
    let elsewhere = add(
        &other,
        "admin@other.test",
        Role::Admin,
        UserKind::Human,
        true,
    );
    let all = UserListQuery {
        limit: 100,
        ..Default::default()
    };
    let everyone = |account: &Account| store.list_users(account.id, &all).unwrap();
    let before = (admins(store, &a, 10), everyone(&a), everyone(&other));
    assert_eq!(before.0, [founder.id, early.id, late.id]);

    store.migrate().unwrap();

    assert_eq!(
        (admins(store, &a, 10), everyone(&a), everyone(&other)),
        before
    );
    assert_eq!(admins(store, &a, 2), [founder.id, early.id]);
    assert_eq!(admins(store, &other, 10), [elsewhere.id]);

    let demoted = User {
        role: Role::Member,
        updated_at: t(100),
        ..founder
    };
    store.update_user(&demoted).unwrap();
    let promoted = User {
        role: Role::Admin,
        updated_at: t(100),
        ..member.clone()
    };
    store.update_user(&promoted).unwrap();
    assert_eq!(admins(store, &a, 10), [early.id, member.id, late.id]);
    assert!(store
        .set_user_active(a.id, early.id, false, t(101))
        .unwrap());
    assert!(store
        .set_user_active(a.id, inactive.id, true, t(101))
        .unwrap());
    assert_eq!(admins(store, &a, 10), [member.id, inactive.id, late.id]);
    assert_eq!(admins(store, &other, 10), [elsewhere.id]);
}

#[test]
fn active_admins_on_both_backends() {
    on_both(active_admins);
}
