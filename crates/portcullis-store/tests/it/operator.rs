//! The operator's account operations: listing and searching accounts, suspension (which
//! ends sessions), deleting every row an account owns, the log that outlives it, and
//! setup links; plus migration 18's upgrade.

use portcullis_domain::*;
use portcullis_store::{OperatorLogEntry, Store, StoreError};

use crate::support::*;
use crate::upgrades::*;

fn entry(account: &Account, action: &str, at: i64) -> OperatorLogEntry {
    OperatorLogEntry {
        id: uuid::Uuid::new_v4(),
        at: t(at),
        action: action.into(),
        account: account.id,
        account_slug: account.slug.as_str().into(),
        detail: serde_json::json!({"by": "test"}),
    }
}

fn link(account: &Account, token: &str) -> SetupLink {
    SetupLink {
        id: SetupLinkId::from_uuid(uuid::Uuid::new_v4()),
        account: account.id,
        token_hash: SecretHash::of(token),
        sections: vec![SetupSection::Sso, SetupSection::Domains],
        idp: IdpId::from_uuid(uuid::Uuid::new_v4()),
        created_by: None,
        created_at: t(1),
        expires_at: t(100),
        revoked_at: None,
    }
}

backend_tests! {
    fn accounts_are_listed_in_pages_and_searched(store: &Store) {
        for slug in ["acme", "beta", "gamma-labs", "delta"] {
            seed_account(store, slug);
        }
        let slugs = |v: Vec<Account>| v.into_iter().map(|a| a.slug.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(slugs(store.list_accounts(None, None, 2).unwrap()), ["acme", "beta"]);
        let after = AccountSlug::parse("beta").unwrap();
        assert_eq!(slugs(store.list_accounts(None, Some(&after), 10).unwrap()), ["delta", "gamma-labs"]);
        // Slug or name, any letter case; LIKE's wildcards are taken literally.
        assert_eq!(slugs(store.list_accounts(Some("LABS"), None, 10).unwrap()), ["gamma-labs"]);
        assert_eq!(slugs(store.list_accounts(Some("THE DELTA"), None, 10).unwrap()), ["delta"]);
        assert!(store.list_accounts(Some("%"), None, 10).unwrap().is_empty());
    }

    fn suspension_ends_sessions_and_moves_the_epoch(store: &Store) {
        let a = seed_account(store, "acme");
        let u = user(&a, "kim@acme.com");
        store.insert_user(&u).unwrap();
        let session = Session::start(
            SessionId::from_uuid(uuid::Uuid::new_v4()), &u, AuthMethod::Password, t(1), chrono::Duration::hours(1));
        store.insert_session(&session).unwrap();
        let epoch = store.api_auth_epoch(a.id).unwrap();

        store.set_account_suspended(a.id, Some(t(2))).unwrap();
        assert_eq!(store.account(a.id).unwrap().unwrap().suspended_at, Some(t(2)));
        assert_eq!(store.session(session.id).unwrap().unwrap().revoked_at, Some(t(2)));
        assert_ne!(store.api_auth_epoch(a.id).unwrap(), epoch);

        store.set_account_suspended(a.id, None).unwrap();
        assert_eq!(store.account(a.id).unwrap().unwrap().suspended_at, None);
        let missing = AccountId::from_uuid(uuid::Uuid::new_v4());
        assert!(matches!(store.set_account_suspended(missing, None), Err(StoreError::NotFound)));
    }

    fn deleting_an_account_leaves_none_of_its_rows(store: &Store) {
        let kept = seed_account(store, "kept");
        store.insert_user(&user(&kept, "kim@kept.com")).unwrap();
        let before = store.table_row_counts().unwrap();
        let gone = seed_account(store, "gone");
        let u = user(&gone, "lee@gone.com");
        store.insert_user(&u).unwrap();
        store.insert_idp(&saml_idp(&gone)).unwrap();
        store.insert_setup_link(&link(&gone, "s")).unwrap();
        assert_ne!(store.table_row_counts().unwrap(), before);

        store.transaction(|store| {
            store.delete_account(gone.id)?;
            store.record_operator_log(&entry(&gone, "account.deleted", 3))
        }).unwrap();
        let mut after = store.table_row_counts().unwrap();
        assert_eq!(after.remove("operator_log"), Some(before["operator_log"] + 1));
        let mut before = before;
        before.remove("operator_log");
        assert_eq!(after, before);
        assert_eq!(store.account(gone.id).unwrap(), None);
        assert_eq!(store.operator_log(10).unwrap()[0].account_slug, "gone");
        assert!(matches!(store.delete_account(gone.id), Err(StoreError::NotFound)));
    }

    fn setup_links_round_trip_and_revoke_once(store: &Store) {
        let (a, b) = (seed_account(store, "acme"), seed_account(store, "rival"));
        let mine = link(&a, "secret");
        store.insert_setup_link(&mine).unwrap();
        assert_eq!(store.setup_link_by_token(&SecretHash::of("secret")).unwrap(), Some(mine.clone()));
        assert_eq!(store.list_setup_links(a.id).unwrap(), vec![mine.clone()]);
        assert!(store.list_setup_links(b.id).unwrap().is_empty());
        // Another account cannot revoke it.
        assert!(!store.revoke_setup_link(b.id, mine.id, t(5)).unwrap());
        assert!(store.revoke_setup_link(a.id, mine.id, t(5)).unwrap());
        assert!(!store.revoke_setup_link(a.id, mine.id, t(6)).unwrap());
        let revoked = store.setup_link_by_token(&SecretHash::of("secret")).unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(t(5)));
    }
}

/// Migration 18: an account, its member, an invitation and a session stored before read
/// back unchanged (not suspended; the invitation still names its member; no logout
/// hint), and the account can then be suspended, given a setup link and logged for, and
/// a session keep its logout hint.
fn operator_surface(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000017").unwrap();
    let a = seed_old_account(db, "acme");
    // Members and invitations are stored as release 17 stored them (their tables do not
    // change).
    let admin = user(&a, "admin@acme.com");
    store.insert_user(&admin).unwrap();
    let invitation = pending_invitation(&a, &admin, "new@acme.com", Role::Member);
    store.insert_invitation(&invitation).unwrap();
    let session = Session::start(
        SessionId::from_uuid(uuid::Uuid::new_v4()),
        &admin,
        AuthMethod::Password,
        t(1),
        chrono::Duration::hours(1),
    );
    store.insert_session(&session).unwrap();

    store.migrate().unwrap();

    assert_eq!(store.session(session.id).unwrap(), Some(session.clone()));
    assert_eq!(store.session_logout_hint(session.id).unwrap(), None);
    let hint = LogoutHint::Saml {
        name_id: "admin@acme.com".into(),
        format: None,
        session_index: Some("_s1".into()),
    };
    let sso = Session::start(
        SessionId::from_uuid(uuid::Uuid::new_v4()),
        &admin,
        AuthMethod::Sso(IdpId::from_uuid(uuid::Uuid::new_v4())),
        t(2),
        chrono::Duration::hours(1),
    );
    store.insert_session_with_hint(&sso, Some(&hint)).unwrap();
    assert_eq!(store.session_logout_hint(sso.id).unwrap(), Some(hint));

    assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
    assert_eq!(store.user(a.id, admin.id).unwrap(), Some(admin.clone()));
    assert_eq!(
        store.invitation_by_token(&SecretHash::of("token")).unwrap(),
        Some(invitation.clone())
    );
    store.set_account_suspended(a.id, Some(t(9))).unwrap();
    assert!(store.account(a.id).unwrap().unwrap().is_suspended());
    store.insert_setup_link(&link(&a, "s")).unwrap();
    store
        .record_operator_log(&entry(&a, "account.suspended", 9))
        .unwrap();
    assert_eq!(store.operator_log(5).unwrap().len(), 1);
}

#[test]
fn operator_surface_on_both_backends() {
    on_both(operator_surface);
}
