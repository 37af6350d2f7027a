//! Migrations, accounts, server secrets, invitations and the audit log.

use portcullis_domain::*;
use portcullis_store::{conflict, Backend, Store, StoreError};

use crate::support::*;

backend_tests! {
    fn migrations_apply_twice(store: &Store) {
        store.migrate().unwrap();
        store.migrate().unwrap();
        store.ping().unwrap();
        assert_eq!(store.count_accounts().unwrap(), 0);
    }

    fn account_round_trip_and_update(store: &Store) {
        let mut a = account("acme");
        a.api_ip_restrictions = IpRestrictions::parse(&["203.0.113.0/24", "2001:db8::/32"]).unwrap();
        store.create_account(&a, None).unwrap();
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.account_by_slug(&a.slug).unwrap(), Some(a.clone()));
        assert_eq!(store.account_by_slug(&AccountSlug::parse("nope").unwrap()).unwrap(), None);
        assert_eq!(store.count_accounts().unwrap(), 1);

        a.name = "Acme Corporation".into();
        a.enforcement = EnforcementPolicy::Enforced;
        a.provisioning = ProvisioningMode::Scim;
        a.api_ip_restrictions = IpRestrictions::none();
        store.update_account(&a).unwrap();
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));

        let ghost = account("ghost");
        assert!(matches!(store.update_account(&ghost), Err(StoreError::NotFound)));
    }

    fn account_slug_is_unique(store: &Store) {
        seed_account(store, "acme");
        let err = store.create_account(&account("acme"), None).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::SLUG), "{err:?}");
        assert_eq!(store.count_accounts().unwrap(), 1);
    }

    fn create_account_is_all_or_nothing(store: &Store) {
        let first = seed_account(store, "first");
        let taken = seed_user(store, &first, "admin@example.com");

        let second = account("second");
        // An admin whose id is taken makes the insert fail after the account row was
        // written: nothing of the account may remain.
        let mut admin = user(&second, "admin@example.com");
        admin.id = taken.id;
        let err = store.create_account(&second, Some(&admin)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::ID), "{err:?}");
        assert_eq!(store.account(second.id).unwrap(), None);
        assert_eq!(store.count_accounts().unwrap(), 1);

        let admin = user(&second, "admin@example.com");
        store.create_account(&second, Some(&admin)).unwrap();
        assert_eq!(store.user(second.id, admin.id).unwrap(), Some(admin));
    }

    fn secrets_are_created_once(store: &Store) {
        let first = store.get_or_create_secret("session-key", "one".into()).unwrap();
        let second = store.get_or_create_secret("session-key", "two".into()).unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
        assert_eq!(store.get_or_create_secret("other", "three".into()).unwrap(), "three");
    }

    fn invitations_are_single_use(store: &Store) {
        let a = seed_account(store, "acme");
        let admin = seed_user(store, &a, "admin@example.com");
        let inv = Invitation {
            id: fresh::invitation(),
            account: a.id,
            email: Email::parse("New@Example.com").unwrap(),
            role: Role::Member,
            invited_by: Some(admin.id),
            token_hash: SecretHash::of("token"),
            created_at: t(10),
            expires_at: t(1000),
            accepted_at: None,
            revoked_at: None,
        };
        store.insert_invitation(&inv).unwrap();
        assert_eq!(store.invitation_by_token(&SecretHash::of("token")).unwrap(), Some(inv.clone()));
        assert_eq!(store.invitation_by_token(&SecretHash::of("other")).unwrap(), None);
        assert_eq!(store.list_invitations(a.id).unwrap(), vec![inv.clone()]);

        // A taken email refuses the acceptance and leaves the invitation usable.
        let clash = user(&a, "ADMIN@example.com");
        let err = store.accept_invitation(inv.id, &clash, t(20)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::EMAIL), "{err:?}");
        assert_eq!(store.invitation_by_token(&inv.token_hash).unwrap().unwrap().accepted_at, None);

        let newcomer = user(&a, "new@example.com");
        store.accept_invitation(inv.id, &newcomer, t(30)).unwrap();
        assert_eq!(store.user(a.id, newcomer.id).unwrap(), Some(newcomer));
        assert_eq!(store.invitation_by_token(&inv.token_hash).unwrap().unwrap().accepted_at, Some(t(30)));

        let again = user(&a, "new2@example.com");
        let err = store.accept_invitation(inv.id, &again, t(40)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::INVITATION), "{err:?}");
        assert_eq!(store.user(a.id, again.id).unwrap(), None);

        // Another account cannot use it, and expired invitations refuse.
        let other = seed_account(store, "other");
        assert!(matches!(
            store.accept_invitation(inv.id, &user(&other, "x@example.com"), t(40)),
            Err(StoreError::NotFound)
        ));
        let expired = Invitation { id: fresh::invitation(), token_hash: SecretHash::of("t2"), expires_at: t(15), ..inv };
        store.insert_invitation(&expired).unwrap();
        assert!(matches!(
            store.accept_invitation(expired.id, &user(&a, "late@example.com"), t(16)),
            Err(StoreError::Conflict { .. })
        ));
    }

    fn audit_log_is_newest_first(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let event = |account: &Account, at: i64, actor: Actor| AuditEvent {
            id: fresh::audit(),
            account: account.id,
            actor,
            action: format!("test.at.{at}"),
            target: Some("target".into()),
            ip: Some("203.0.113.9".into()),
            detail: "{\"k\":1}".into(),
            at: t(at),
        };
        let events = [
            event(&a, 1, Actor::System),
            event(&a, 3, Actor::User(fresh::user())),
            event(&a, 2, Actor::ApiKey(fresh::api_key())),
            event(&a, 4, Actor::Anonymous),
            event(&b, 5, Actor::System),
        ];
        for e in &events {
            store.record_audit(e).unwrap();
        }
        let listed = store.list_audit(a.id, 10, 0).unwrap();
        let actions: Vec<&str> = listed.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["test.at.4", "test.at.3", "test.at.2", "test.at.1"]);
        assert_eq!(listed[1], events[1]);
        assert_eq!(store.list_audit(a.id, 2, 1).unwrap(), vec![events[1].clone(), events[2].clone()]);
    }
}

#[test]
fn backend_is_chosen_from_the_url() {
    for (url, backend, target) in [
        ("postgres://u@h/db", Backend::Postgres, "postgres://u@h/db"),
        (
            "postgresql://u@h/db",
            Backend::Postgres,
            "postgresql://u@h/db",
        ),
        ("sqlite:///var/lib/p.db", Backend::Sqlite, "/var/lib/p.db"),
        ("sqlite://./p.db", Backend::Sqlite, "./p.db"),
        ("./portcullis.db", Backend::Sqlite, "./portcullis.db"),
        ("/tmp/x.db", Backend::Sqlite, "/tmp/x.db"),
    ] {
        assert_eq!(Backend::from_url(url), (backend, target), "{url}");
    }
}

#[test]
fn an_unreachable_postgres_is_an_error_not_a_sqlite_file() {
    let err = Store::connect_with_pool_size("postgres://nobody@127.0.0.1:1/none", 1).unwrap_err();
    assert!(matches!(err, StoreError::Pool(_)), "{err:?}");
    assert!(!std::path::Path::new("postgres:").exists());
}

/// Replicas starting together: each opens its own pool and migrates at once; all
/// succeed and the schema is there once.
fn concurrent_migrations(db: TestDb) {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let store = Store::connect_with_pool_size(&url, 1).unwrap();
                barrier.wait();
                store.migrate()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    seed_account(&db.store, "acme");
    assert_eq!(db.store.count_accounts().unwrap(), 1);
}

#[test]
fn concurrent_migrations_sqlite() {
    concurrent_migrations(TestDb::sqlite_unmigrated());
}

#[test]
fn concurrent_migrations_postgres() {
    if let Some(db) = TestDb::postgres_unmigrated() {
        concurrent_migrations(db);
    }
}
