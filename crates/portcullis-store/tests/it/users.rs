//! Users, sessions and API keys.

use std::sync::{Arc, Barrier};

use portcullis_domain::*;
use portcullis_store::{conflict, Backend, Store, StoreError, UserListQuery};

use crate::support::*;

backend_tests! {
    fn user_round_trip_and_update(store: &Store) {
        let a = seed_account(store, "acme");
        let mut u = user(&a, "Alice@Example.com");
        u.external_id = Some("00u1".into());
        store.insert_user(&u).unwrap();
        assert_eq!(store.user(a.id, u.id).unwrap(), Some(u.clone()));
        let found = store.user_by_email(a.id, &Email::parse("alice@EXAMPLE.com").unwrap()).unwrap().unwrap();
        assert_eq!(found.email.as_str(), "Alice@Example.com");

        u.email = Email::parse("alice.smith@example.com").unwrap();
        u.display_name = "Alice Smith".into();
        u.role = Role::Admin;
        u.password_hash = None;
        u.external_id = None;
        u.updated_at = t(50);
        store.update_user(&u).unwrap();
        assert_eq!(store.user(a.id, u.id).unwrap(), Some(u.clone()));
        assert_eq!(store.user_by_email(a.id, &Email::parse("alice@example.com").unwrap()).unwrap(), None);

        // A member's times are kept to the millisecond, the precision SCIM publishes.
        u.updated_at = t_micros(60);
        store.update_user(&u).unwrap();
        assert_eq!(store.user(a.id, u.id).unwrap().unwrap().updated_at, t(60));

        let other = seed_account(store, "other");
        let mut foreign = u.clone();
        foreign.account = other.id;
        assert!(matches!(store.update_user(&foreign), Err(StoreError::NotFound)));
    }

    fn email_is_unique_per_account_case_insensitively(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        seed_user(store, &a, "bob@example.com");
        let err = store.insert_user(&user(&a, "BOB@Example.COM")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::EMAIL), "{err:?}");
        // The same address in another account is another person.
        seed_user(store, &b, "Bob@Example.com");
        // Renaming onto a taken address is refused too.
        let mut carol = seed_user(store, &a, "carol@example.com");
        carol.email = Email::parse("bob@EXAMPLE.com").unwrap();
        let err = store.update_user(&carol).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::EMAIL), "{err:?}");
    }

    // Addresses that Unicode case mapping or normalisation would turn into another
    // member's are other members: stored side by side, each found only by itself.
    fn look_alike_emails_are_distinct_members(store: &Store) {
        let a = seed_account(store, "acme");
        let kim = seed_user(store, &a, "kim@acme.com");
        for look_alike in ["\u{212A}im@acme.com", "\u{FF4B}im@acme.com", "k\u{0130}m@acme.com"] {
            let other = seed_user(store, &a, look_alike);
            assert_ne!(other.id, kim.id);
            let by = |e: &str| store.user_by_email(a.id, &Email::parse(e).unwrap()).unwrap().map(|u| u.id);
            assert_eq!(by(look_alike), Some(other.id), "{look_alike:?}");
            assert_eq!(by("KIM@acme.com"), Some(kim.id));
        }
        // One domain in Unicode and in punycode is one address.
        seed_user(store, &a, "anna@b\u{00FC}cher.example");
        let err = store.insert_user(&user(&a, "Anna@XN--BCHER-KVA.example")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::EMAIL), "{err:?}");
    }

    fn another_accounts_rows_are_invisible(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let u = seed_user(store, &a, "alice@example.com");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        let key = api_key(&u, "secret");
        store.insert_api_key(&key).unwrap();

        assert_eq!(store.user(b.id, u.id).unwrap(), None);
        assert_eq!(store.user_by_email(b.id, &u.email).unwrap(), None);
        assert_eq!(store.idp(b.id, idp.id).unwrap(), None);
        assert!(!store.set_user_active(b.id, u.id, false, t(9)).unwrap());
        assert!(!store.delete_user(b.id, u.id, t(9), None).unwrap());
        assert!(!store.revoke_api_key(b.id, key.id, t(9)).unwrap());
        assert!(!store.delete_idp(b.id, idp.id).unwrap());
        assert_eq!(store.revoke_user_sessions(b.id, u.id, t(9)).unwrap(), 0);
        assert!(store.list_api_keys(b.id).unwrap().is_empty());
        assert!(store.list_idps(b.id).unwrap().is_empty());
        assert_eq!(store.list_users(b.id, &UserListQuery { limit: 10, ..Default::default() }).unwrap().1, 0);
        // Nothing was changed by the foreign calls.
        assert_eq!(store.user(a.id, u.id).unwrap(), Some(u));
        assert_eq!(store.api_key_by_hash(&key.secret_hash).unwrap(), Some(key));
    }

    fn api_key_for_auth_brings_owner_and_account_of_the_same_account(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let u = seed_user(store, &a, "alice@example.com");
        let key = api_key(&u, "secret");
        store.insert_api_key(&key).unwrap();
        let (k, owner, account) = store.api_key_for_auth(&key.secret_hash).unwrap().unwrap();
        assert_eq!((k, owner.id, account.id), (key.clone(), u.id, a.id));
        assert_eq!(store.api_key_for_auth(&SecretHash::of("unknown")).unwrap(), None);
        // A key row naming another account than its owner's is never used: the join
        // insists that owner and key live in one account.
        let mut forged = api_key(&u, "forged");
        forged.account = b.id;
        store.insert_api_key(&forged).unwrap();
        assert_eq!(store.api_key_for_auth(&forged.secret_hash).unwrap(), None);
        // Revoked keys are returned as stored (the domain refuses them); keys of deleted
        // owners disappear with them.
        assert!(store.revoke_api_key(a.id, key.id, t(9)).unwrap());
        let (k, _, _) = store.api_key_for_auth(&key.secret_hash).unwrap().unwrap();
        assert_eq!(k.revoked_at, Some(t(9)));
        assert!(store.delete_user(a.id, u.id, t(10), None).unwrap());
        assert_eq!(store.api_key_for_auth(&key.secret_hash).unwrap(), None);
    }

    fn deactivation_revokes_sessions(store: &Store) {
        let a = seed_account(store, "acme");
        let u = seed_user(store, &a, "alice@example.com");
        let other = seed_user(store, &a, "bob@example.com");
        let s1 = session(&u, t(3600));
        let s2 = session(&u, t(3600));
        let kept = session(&other, t(3600));
        for s in [&s1, &s2, &kept] {
            store.insert_session(s).unwrap();
        }
        assert_eq!(store.session(s1.id).unwrap(), Some(s1.clone()));

        assert!(store.set_user_active(a.id, u.id, false, t(100)).unwrap());
        let stored = store.user(a.id, u.id).unwrap().unwrap();
        assert!(!stored.active);
        assert_eq!(stored.updated_at, t(100));
        for s in [&s1, &s2] {
            assert_eq!(store.session(s.id).unwrap().unwrap().revoked_at, Some(t(100)));
        }
        assert!(store.session(kept.id).unwrap().unwrap().is_live(t(101)));

        // Reactivation does not bring sessions back.
        assert!(store.set_user_active(a.id, u.id, true, t(200)).unwrap());
        assert!(store.user(a.id, u.id).unwrap().unwrap().active);
        assert!(!store.session(s1.id).unwrap().unwrap().is_live(t(201)));
    }

    fn logout_and_revoke_all(store: &Store) {
        let a = seed_account(store, "acme");
        let u = seed_user(store, &a, "alice@example.com");
        // Session times keep their microseconds.
        let mut sso = session(&u, t_micros(3600));
        sso.method = AuthMethod::Sso(fresh::idp());
        sso.created_at = t_micros(5);
        let pw = session(&u, t(3600));
        store.insert_session(&sso).unwrap();
        store.insert_session(&pw).unwrap();
        assert_eq!(store.session(sso.id).unwrap(), Some(sso.clone()));

        store.revoke_session(pw.id, t_micros(10)).unwrap();
        store.revoke_session(pw.id, t(20)).unwrap();
        store.revoke_session(fresh::session(), t(20)).unwrap();
        assert_eq!(store.session(pw.id).unwrap().unwrap().revoked_at, Some(t_micros(10)));
        assert_eq!(store.revoke_user_sessions(a.id, u.id, t(30)).unwrap(), 1);
        assert_eq!(store.session(sso.id).unwrap().unwrap().revoked_at, Some(t(30)));
        assert_eq!(store.session(fresh::session()).unwrap(), None);
        // A session needs its user.
        let ghost = user(&a, "ghost@example.com");
        assert!(matches!(store.insert_session(&session(&ghost, t(99))), Err(StoreError::NotFound)));
    }

    fn delete_removes_keys_sessions_and_links(store: &Store) {
        let a = seed_account(store, "acme");
        let u = seed_user(store, &a, "alice@example.com");
        let keep = seed_user(store, &a, "bob@example.com");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        let s = session(&u, t(3600));
        store.insert_session(&s).unwrap();
        let key = api_key(&u, "alice-key");
        store.insert_api_key(&key).unwrap();
        let kept_key = api_key(&keep, "bob-key");
        store.insert_api_key(&kept_key).unwrap();
        store.link_sso_subject(idp.id, "alice-sub", u.id, t(1)).unwrap();

        assert!(store.delete_user(a.id, u.id, t(2), None).unwrap());
        assert_eq!(store.user(a.id, u.id).unwrap(), None);
        assert_eq!(store.session(s.id).unwrap(), None);
        assert_eq!(store.api_key_by_hash(&key.secret_hash).unwrap(), None);
        assert_eq!(store.sso_link(idp.id, "alice-sub").unwrap(), None);
        assert_eq!(store.list_api_keys(a.id).unwrap(), vec![kept_key]);
        assert!(!store.delete_user(a.id, u.id, t(3), None).unwrap());
        // The address is free again.
        seed_user(store, &a, "ALICE@example.com");
    }

    fn concurrent_inserts_of_one_email_give_exactly_one(store: &Store) {
        let a = seed_account(store, "acme");
        for round in 0..5 {
            let email = format!("race{round}@example.com");
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let (store, barrier) = (store.clone(), barrier.clone());
                    let u = user(&a, &if i == 0 { email.clone() } else { email.to_uppercase() });
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.insert_user(&u)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            let ok = results.iter().filter(|r| r.is_ok()).count();
            assert_eq!(ok, 1, "{results:?}");
            assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict { what }) if *what == conflict::EMAIL)), "{results:?}");
        }
    }

    fn list_users_pages_stably_with_exact_totals(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        seed_user(store, &b, "elsewhere@example.com");
        let mut made = Vec::new();
        for i in 0..7 {
            let mut u = user(&a, &format!("user{i}@example.com"));
            // Several share a creation time: the id breaks the tie.
            u.created_at = t(i / 3);
            if i == 5 {
                u.kind = UserKind::Bot;
                u.email = Email::parse("scim-bot@bots.invalid").unwrap();
                u.display_name = "SCIM bot".into();
            }
            store.insert_user(&u).unwrap();
            made.push(u);
        }
        made.sort_by_key(|u| (u.created_at, u.id.to_string()));

        let page = |offset, limit| {
            store.list_users(a.id, &UserListQuery { offset, limit, ..Default::default() }).unwrap()
        };
        let mut seen = Vec::new();
        for offset in [0, 3, 6] {
            let (users, total) = page(offset, 3);
            assert_eq!(total, 7);
            seen.extend(users);
        }
        assert_eq!(seen, made);
        assert_eq!(page(10, 3), (vec![], 7));

        let humans = store
            .list_users(a.id, &UserListQuery { kind: Some(UserKind::Human), limit: 100, ..Default::default() })
            .unwrap();
        assert_eq!(humans.1, 6);
        let bots = store
            .list_users(a.id, &UserListQuery { kind: Some(UserKind::Bot), limit: 100, ..Default::default() })
            .unwrap();
        assert_eq!(bots.0.iter().map(|u| u.display_name.as_str()).collect::<Vec<_>>(), ["SCIM bot"]);

        let search = |text: &str| {
            store
                .list_users(a.id, &UserListQuery { search: Some(text.into()), limit: 100, ..Default::default() })
                .unwrap()
                .1
        };
        assert_eq!(search("USER3"), 1);
        assert_eq!(search("scim"), 1);
        assert_eq!(search("example.com"), 6);
        // Wildcards are literal.
        assert_eq!(search("%"), 0);
        assert_eq!(search("user_"), 0);
    }

    fn api_keys(store: &Store) {
        let a = seed_account(store, "acme");
        let u = seed_user(store, &a, "admin@example.com");
        let k1 = api_key(&u, "one");
        let mut k2 = api_key(&u, "two");
        k2.created_at = t(7);
        store.insert_api_key(&k1).unwrap();
        store.insert_api_key(&k2).unwrap();
        let err = store.insert_api_key(&api_key(&u, "one")).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::API_KEY), "{err:?}");
        assert_eq!(store.api_key_by_hash(&SecretHash::of("one")).unwrap(), Some(k1.clone()));
        assert_eq!(store.list_api_keys(a.id).unwrap(), vec![k1.clone(), k2.clone()]);

        store.touch_api_key(k1.id, t(100)).unwrap();
        assert_eq!(store.api_key_by_hash(&k1.secret_hash).unwrap().unwrap().last_used_at, Some(t(100)));
        // Within the granularity nothing is written; after it, the time moves.
        store.touch_api_key(k1.id, t(130)).unwrap();
        assert_eq!(store.api_key_by_hash(&k1.secret_hash).unwrap().unwrap().last_used_at, Some(t(100)));
        store.touch_api_key(k1.id, t(200)).unwrap();
        assert_eq!(store.api_key_by_hash(&k1.secret_hash).unwrap().unwrap().last_used_at, Some(t(200)));

        assert!(store.revoke_api_key(a.id, k1.id, t(300)).unwrap());
        assert!(store.revoke_api_key(a.id, k1.id, t(400)).unwrap());
        assert_eq!(store.api_key_by_hash(&k1.secret_hash).unwrap().unwrap().revoked_at, Some(t(300)));
        assert!(!store.revoke_api_key(a.id, fresh::api_key(), t(300)).unwrap());
    }
}

/// The reader handle a server gives its async workers for point reads: it sees every
/// committed change on the next read (a key whose owner was just deactivated is seen as
/// such, so the key is refused at once), and it never writes.
#[test]
fn sqlite_readers_see_every_commit_and_refuse_writes() {
    let db = TestDb::sqlite();
    let readers = db
        .store
        .readers(2)
        .unwrap()
        .expect("SQLite has a reader handle");
    let a = seed_account(&db.store, "acme");
    let mut owner = seed_user(&db.store, &a, "admin@example.com");
    let key = api_key(&owner, "pcl_reader_test");
    db.store.insert_api_key(&key).unwrap();
    let (_, seen, _) = readers.api_key_for_auth(&key.secret_hash).unwrap().unwrap();
    assert!(seen.active);

    // The writer records a use; the readers' next answer carries it (the two handles
    // share one cache of authentications, so the use is not written again and again).
    db.store.touch_api_key(key.id, t(700)).unwrap();
    let (seen_key, _, _) = readers.api_key_for_auth(&key.secret_hash).unwrap().unwrap();
    assert_eq!(seen_key.last_used_at, Some(t(700)));

    owner.active = false;
    owner.updated_at = t(9);
    db.store.update_user(&owner).unwrap();
    let (_, seen, _) = readers.api_key_for_auth(&key.secret_hash).unwrap().unwrap();
    assert!(!seen.active, "the reader must see the deactivation at once");

    let newcomer = user(&a, "new@example.com");
    let err = readers.insert_user(&newcomer).unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert_eq!(db.store.user(a.id, newcomer.id).unwrap(), None);
}

/// PostgreSQL reads cross the network: no reader handle, the server's blocking pool reads.
#[test]
fn postgres_has_no_reader_handle() {
    if let Some(db) = TestDb::postgres() {
        assert!(db.store.readers(2).unwrap().is_none());
    }
}

backend_tests! {
    fn api_auth_epoch_moves_with_every_change_that_could_alter_an_authentication(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let epoch = || store.api_auth_epoch(a.id).unwrap().expect("every account has an epoch");
        let b_epoch = store.api_auth_epoch(b.id).unwrap();
        assert_eq!(store.api_auth_epoch(fresh::account()).unwrap(), None);

        let mut owner = seed_user(store, &a, "admin@example.com");
        let mut member = seed_user(store, &a, "member@example.com");
        let key = api_key(&owner, "pcl_epoch");
        let before = epoch();
        store.insert_api_key(&key).unwrap();
        assert_eq!(epoch(), before, "a new key changes no cached answer");

        // What SCIM does all day to members who own no key, and recording a key's use,
        // leave the epoch alone (else the cache would never hit).
        member.display_name = "Renamed".into();
        store.update_user(&member).unwrap();
        assert!(store.set_user_active(a.id, member.id, false, t(20)).unwrap());
        assert!(store.delete_user(a.id, member.id, t(21), None).unwrap());
        store.touch_api_key(key.id, t(500)).unwrap();
        assert_eq!(epoch(), before);

        let mut last = before;
        let mut moved = |what: &str| {
            let now = epoch();
            assert!(now > last, "{what} must move the epoch ({last} -> {now})");
            last = now;
        };
        owner.display_name = "Admin Renamed".into();
        store.update_user(&owner).unwrap();
        moved("changing the key's owner");
        assert!(store.set_user_active(a.id, owner.id, false, t(30)).unwrap());
        moved("deactivating the key's owner");
        let mut changed = a.clone();
        changed.api_ip_restrictions = IpRestrictions::parse(&["203.0.113.0/24"]).unwrap();
        store.update_account(&changed).unwrap();
        moved("changing the account's IP restrictions");
        assert!(store.revoke_api_key(a.id, key.id, t(31)).unwrap());
        moved("revoking the key");
        let second = api_key(&owner, "pcl_epoch_2");
        store.insert_api_key(&second).unwrap();
        assert!(store.delete_user(a.id, owner.id, t(32), None).unwrap());
        moved("deleting the key's owner");
        assert_eq!(store.api_auth_epoch(b.id).unwrap(), b_epoch, "another account's epoch");
    }
}

/// Two handles on one database stand for two replicas (or a replica and the command
/// line): each keeps its own cache of authentications. Every change the other makes —
/// through the store or in plain SQL — is seen on the very next call.
fn cached_authentication_follows_changes_made_elsewhere(db: &TestDb) {
    let replica = Store::connect_with_pool_size(&db.url, 2).unwrap();
    let a = seed_account(&db.store, "acme");
    let mut owner = seed_user(&db.store, &a, "admin@example.com");
    owner.role = Role::Admin;
    db.store.update_user(&owner).unwrap();
    let key = api_key(&owner, "pcl_replica");
    db.store.insert_api_key(&key).unwrap();
    let auth = || replica.api_key_for_auth(&key.secret_hash).unwrap();

    let (k, o, acc) = auth().unwrap();
    assert_eq!(
        (k.id, o.id, acc.id, o.active),
        (key.id, owner.id, a.id, true)
    );
    assert_eq!(auth().unwrap().1, o, "a second read answers the same");

    // A use recorded by the replica is not a change: the next answer carries it.
    replica.touch_api_key(key.id, t(600)).unwrap();
    assert_eq!(auth().unwrap().0.last_used_at, Some(t(600)));

    assert!(db
        .store
        .set_user_active(a.id, owner.id, false, t(40))
        .unwrap());
    assert!(!auth().unwrap().1.active, "deactivation seen at once");
    assert!(db
        .store
        .set_user_active(a.id, owner.id, true, t(41))
        .unwrap());
    assert!(auth().unwrap().1.active, "reactivation seen at once");

    owner.role = Role::Member;
    db.store.update_user(&owner).unwrap();
    assert_eq!(
        auth().unwrap().1.role,
        Role::Member,
        "demotion seen at once"
    );

    let mut restricted = a.clone();
    restricted.api_ip_restrictions = IpRestrictions::parse(&["198.51.100.0/24"]).unwrap();
    db.store.update_account(&restricted).unwrap();
    assert_eq!(
        auth().unwrap().2.api_ip_restrictions,
        restricted.api_ip_restrictions
    );

    // Written past the store altogether, as an operator might.
    let id = owner.id.to_string();
    let falsy = if db.store.backend() == Backend::Postgres {
        "false"
    } else {
        "0"
    };
    assert_eq!(
        db.raw_execute(&format!(
            "UPDATE users SET active = {falsy} WHERE id = '{id}'"
        )),
        1
    );
    assert!(
        !auth().unwrap().1.active,
        "a change in plain SQL seen at once"
    );

    assert!(db.store.revoke_api_key(a.id, key.id, t(42)).unwrap());
    assert_eq!(
        auth().unwrap().0.revoked_at,
        Some(t(42)),
        "revocation seen at once"
    );

    assert!(db.store.delete_user(a.id, owner.id, t(43), None).unwrap());
    assert_eq!(auth(), None, "the deleted owner's key is gone at once");
}

#[test]
fn cached_authentication_follows_changes_made_elsewhere_sqlite() {
    cached_authentication_follows_changes_made_elsewhere(&TestDb::sqlite());
}

#[test]
fn cached_authentication_follows_changes_made_elsewhere_postgres() {
    if let Some(db) = TestDb::postgres() {
        cached_authentication_follows_changes_made_elsewhere(&db);
    }
}

/// On SQLite, a member's times are text. The store writes them as diesel does
/// (`%F %T%.f`); a time stored in any other form diesel reads (by hand, by SQLite's own
/// `datetime()`, by another tool) reads the same, as a member and as SCIM shows one.
#[test]
fn sqlite_member_times_read_in_every_form_diesel_reads() {
    use chrono::{Duration, TimeZone, Utc};
    use portcullis_store::ScimQuery;

    let db = TestDb::sqlite();
    let store = &db.store;
    let a = seed_account(store, "acme");
    let row = scim_row(&a, "kim@acme.com", 10);
    store.insert_scim_user(&row, None).unwrap();
    let id = row.user.id;
    let stored = db.raw_texts(&format!(
        "SELECT created_at AS value FROM users WHERE id = '{id}'"
    ));
    assert_eq!(
        stored,
        vec![Some(
            row.user
                .created_at
                .naive_utc()
                .format("%F %T%.f")
                .to_string()
        )]
    );
    assert_eq!(
        store.user(a.id, id).unwrap().unwrap().created_at,
        row.user.created_at
    );

    let at = |h, m, s, ms| {
        Utc.with_ymd_and_hms(2026, 12, 7, h, m, s).unwrap() + Duration::milliseconds(ms)
    };
    for (text, expected) in [
        ("2026-12-07 08:09:10.25", at(8, 9, 10, 250)),
        ("2026-12-07 08:09:10", at(8, 9, 10, 0)),
        ("2026-12-07 08:09", at(8, 9, 0, 0)),
        ("2026-12-07T08:09:10.250", at(8, 9, 10, 250)),
        ("2026-12-07 08:09:10+00:00", at(8, 9, 10, 0)),
        ("2026-12-07T08:09:10Z", at(8, 9, 10, 0)),
    ] {
        db.raw_execute(&format!(
            "UPDATE users SET created_at = '{text}', updated_at = '{text}' WHERE id = '{id}'"
        ));
        let user = store.user(a.id, id).unwrap().unwrap();
        assert_eq!(
            (user.created_at, user.updated_at),
            (expected, expected),
            "{text}"
        );
        let epoch = store.api_auth_epoch(a.id).unwrap().unwrap();
        let shown = store.scim_user_shown(a.id, id, epoch).unwrap().unwrap();
        assert_eq!(
            (shown.created_at, shown.updated_at),
            (expected, expected),
            "{text}"
        );
        let page = store
            .scim_users_page_shown(a.id, &ScimQuery::page(0, 10))
            .unwrap()
            .unwrap();
        let shown_on_page = page.0.iter().find(|m| m.id() == id).cloned();
        assert!(
            matches!(&shown_on_page, Some(portcullis_store::PageMember::Shown(m)) if m.created_at == expected),
            "{text}: {shown_on_page:?}"
        );
    }
}
