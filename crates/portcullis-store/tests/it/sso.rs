//! Identity providers, SSO links, pending logins and the assertion replay cache.

use chrono::Duration;
use portcullis_domain::*;
use portcullis_store::{conflict, PendingLogin, SecretCipher, Store, StoreError};

use crate::support::*;

fn pending(
    idp: &IdentityProvider,
    id: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> PendingLogin {
    PendingLogin {
        id: id.into(),
        idp: idp.id,
        browser_binding: "binding-hash".into(),
        nonce: Some("nonce".into()),
        pkce_verifier: Some("verifier".into()),
        return_to: Some("/a/acme/dashboard".into()),
        expires_at,
    }
}

fn with_sp_key(mut idp: IdentityProvider, key: SpKeyPair) -> IdentityProvider {
    if let IdpProtocol::Saml(s) = &mut idp.protocol {
        s.sign_authn_requests = true;
        s.sp_signing_key = Some(key);
    }
    idp
}

/// The SP private key is written only sealed, reads back through the cipher, and is
/// refused when it is found in clear; the certificate is stored as it is.
fn sp_private_keys_are_sealed_at_rest(db: TestDb) {
    let raw = |column: &str, idp: &IdentityProvider| {
        db.raw_texts(&format!(
            "SELECT {column} AS value FROM identity_providers WHERE id = '{}'",
            idp.id
        ))
        .remove(0)
    };
    let key = [7; 32];
    let sealed = db.store.clone().with_encryption_key(&key);
    let a = seed_account(&db.store, "acme");
    let idp = with_sp_key(saml_idp(&a), sp_key(1));

    // A store without an encryption key refuses to write the private key at all.
    assert!(matches!(
        db.store.insert_idp(&idp),
        Err(StoreError::NoEncryptionKey)
    ));
    assert_eq!(sealed.idp_by_id(idp.id).unwrap(), None);

    sealed.insert_idp(&idp).unwrap();
    assert_eq!(sealed.idp(a.id, idp.id).unwrap(), Some(idp.clone()));
    let stored = raw("sp_signing_key", &idp).unwrap();
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    assert!(!stored.contains("PRIVATE KEY"), "{stored}");
    assert!(!stored.contains("c2VjcmV0"), "{stored}");
    assert_eq!(
        SecretCipher::new(&key).open(&stored).unwrap(),
        sp_key(1).private_key_pem
    );
    assert!(!raw("settings", &idp).unwrap().contains("PRIVATE KEY"));
    assert_eq!(raw("sp_certificate", &idp), Some(sp_key(1).certificate));

    // Without the key, or with another, it does not open.
    assert!(matches!(
        db.store.idp(a.id, idp.id),
        Err(StoreError::Corrupt(_))
    ));
    let wrong = db.store.clone().with_encryption_key(&[8; 32]);
    assert!(matches!(wrong.list_idps(a.id), Err(StoreError::Corrupt(_))));

    // A new key (rotation) replaces the old one, sealed afresh.
    let rotated = with_sp_key(idp.clone(), sp_key(2));
    sealed.update_idp(&rotated).unwrap();
    assert_eq!(sealed.idp(a.id, idp.id).unwrap(), Some(rotated.clone()));
    let resealed = raw("sp_signing_key", &idp).unwrap();
    assert_ne!(resealed, stored);
    assert_eq!(
        SecretCipher::new(&key).open(&resealed).unwrap(),
        sp_key(2).private_key_pem
    );

    // A private key found in clear (written past the store) is refused, never used.
    let planted = db.raw_execute(&format!(
        "UPDATE identity_providers SET sp_signing_key = '{}' WHERE id = '{}'",
        sp_key(3).private_key_pem,
        idp.id
    ));
    assert_eq!(planted, 1);
    assert!(matches!(
        sealed.idp(a.id, idp.id),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn sp_private_keys_are_sealed_at_rest_sqlite() {
    sp_private_keys_are_sealed_at_rest(TestDb::sqlite());
}

#[test]
fn sp_private_keys_are_sealed_at_rest_postgres() {
    if let Some(db) = TestDb::postgres() {
        sp_private_keys_are_sealed_at_rest(db);
    }
}

backend_tests! {
    fn sign_authn_requests_round_trips(store: &Store) {
        let a = seed_account(store, "acme");
        let sealed = store.clone().with_encryption_key(&[7; 32]);
        let plain = saml_idp(&a);
        sealed.insert_idp(&plain).unwrap();
        let IdpProtocol::Saml(s) = &sealed.idp(a.id, plain.id).unwrap().unwrap().protocol else {
            panic!("not SAML");
        };
        assert!(!s.sign_authn_requests);
        assert_eq!(s.sp_signing_key, None);

        // Switched on with a key; then off again, keeping the key for the next time.
        let signing = with_sp_key(plain.clone(), sp_key(1));
        sealed.update_idp(&signing).unwrap();
        assert_eq!(sealed.idp(a.id, plain.id).unwrap(), Some(signing.clone()));
        let mut off = signing.clone();
        if let IdpProtocol::Saml(s) = &mut off.protocol {
            s.sign_authn_requests = false;
        }
        sealed.update_idp(&off).unwrap();
        assert_eq!(sealed.idp(a.id, plain.id).unwrap(), Some(off));
    }

    fn oidc_client_secrets_are_encrypted_at_rest(store: &Store) {
        let a = seed_account(store, "acme");
        let oidc = oidc_idp(&a);
        let sealed = store.clone().with_encryption_key(&[7; 32]);
        sealed.insert_idp(&oidc).unwrap();
        assert_eq!(sealed.idp(a.id, oidc.id).unwrap(), Some(oidc.clone()));
        // Without the key, or with another, the stored value does not open: it is not
        // stored in clear, and it is never handed out sealed as if it were the secret.
        assert!(matches!(store.idp(a.id, oidc.id), Err(StoreError::Corrupt(_))));
        let wrong = store.clone().with_encryption_key(&[8; 32]);
        assert!(matches!(wrong.list_idps(a.id), Err(StoreError::Corrupt(_))));
        // SAML settings hold no secret and read with or without a key.
        let saml = saml_idp(&a);
        sealed.insert_idp(&saml).unwrap();
        assert_eq!(store.idp(a.id, saml.id).unwrap(), Some(saml));
    }

    fn idps_round_trip(store: &Store) {
        let a = seed_account(store, "acme");
        let saml = saml_idp(&a);
        let mut oidc = oidc_idp(&a);
        store.insert_idp(&saml).unwrap();
        store.insert_idp(&oidc).unwrap();
        assert_eq!(store.idp(a.id, saml.id).unwrap(), Some(saml.clone()));
        assert_eq!(store.idp_by_id(oidc.id).unwrap(), Some(oidc.clone()));
        assert_eq!(store.list_idps(a.id).unwrap(), vec![saml.clone(), oidc.clone()]);

        oidc.enabled = true;
        oidc.description = "Microsoft".into();
        if let IdpProtocol::Oidc(settings) = &mut oidc.protocol {
            settings.scopes.clear();
        }
        store.update_idp(&oidc).unwrap();
        assert_eq!(store.idp(a.id, oidc.id).unwrap(), Some(oidc.clone()));
        let ghost = saml_idp(&a);
        assert!(matches!(store.update_idp(&ghost), Err(StoreError::NotFound)));

        let u = seed_user(store, &a, "alice@example.com");
        store.link_sso_subject(saml.id, "sub", u.id, t(1)).unwrap();
        store.insert_pending_login(&pending(&saml, "state", t(100))).unwrap();
        assert!(store.remember_assertion(saml.id, "_a1", t(100)).unwrap());
        assert!(store.delete_idp(a.id, saml.id).unwrap());
        assert_eq!(store.idp_by_id(saml.id).unwrap(), None);
        assert_eq!(store.sso_link(saml.id, "sub").unwrap(), None);
        assert_eq!(store.take_pending_login("state", t(1)).unwrap(), None);
        assert!(!store.delete_idp(a.id, saml.id).unwrap());
    }

    fn sso_links(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        let other_idp = oidc_idp(&a);
        store.insert_idp(&idp).unwrap();
        store.insert_idp(&other_idp).unwrap();
        let alice = seed_user(store, &a, "alice@example.com");
        let bob = seed_user(store, &a, "bob@example.com");

        assert_eq!(store.sso_link(idp.id, "alice-sub").unwrap(), None);
        store.link_sso_subject(idp.id, "alice-sub", alice.id, t(1)).unwrap();
        store.link_sso_subject(idp.id, "alice-sub", alice.id, t(2)).unwrap();
        assert_eq!(store.sso_link(idp.id, "alice-sub").unwrap(), Some(alice.id));
        assert_eq!(store.sso_subject_of(idp.id, alice.id).unwrap().as_deref(), Some("alice-sub"));
        assert_eq!(store.sso_subject_of(other_idp.id, alice.id).unwrap(), None);
        // Subjects are per IdP and case-exact.
        assert_eq!(store.sso_link(other_idp.id, "alice-sub").unwrap(), None);
        assert_eq!(store.sso_link(idp.id, "ALICE-SUB").unwrap(), None);

        let err = store.link_sso_subject(idp.id, "alice-sub", bob.id, t(3)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::SSO_LINK), "{err:?}");
        let err = store.link_sso_subject(idp.id, "second-sub", alice.id, t(3)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::SSO_LINK), "{err:?}");
        store.link_sso_subject(other_idp.id, "alice-sub", bob.id, t(3)).unwrap();
        assert_eq!(store.sso_link(other_idp.id, "alice-sub").unwrap(), Some(bob.id));
    }

    fn just_in_time_member_and_link_are_written_together(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        let alice = user(&a, "alice@example.com");
        store.insert_user_with_sso_link(&alice, idp.id, "alice-sub", t(1)).unwrap();
        assert_eq!(store.user(a.id, alice.id).unwrap(), Some(alice.clone()));
        assert_eq!(store.sso_link(idp.id, "alice-sub").unwrap(), Some(alice.id));

        // The subject is taken: neither the member nor the link is written.
        let bob = user(&a, "bob@example.com");
        let err = store.insert_user_with_sso_link(&bob, idp.id, "alice-sub", t(2)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::SSO_LINK), "{err:?}");
        assert_eq!(store.user(a.id, bob.id).unwrap(), None);
        // The email is taken: no link is written.
        let twin = user(&a, "ALICE@example.com");
        let err = store.insert_user_with_sso_link(&twin, idp.id, "twin-sub", t(2)).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert_eq!(store.sso_link(idp.id, "twin-sub").unwrap(), None);
    }

    fn pending_logins_are_single_use_and_expire(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        let p = pending(&idp, "state-1", t(600));
        store.insert_pending_login(&p).unwrap();
        let err = store.insert_pending_login(&p).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::PENDING_LOGIN), "{err:?}");

        assert_eq!(store.take_pending_login("state-1", t(10)).unwrap(), Some(p.clone()));
        assert_eq!(store.take_pending_login("state-1", t(10)).unwrap(), None);
        assert_eq!(store.take_pending_login("unknown", t(10)).unwrap(), None);

        let bare = PendingLogin { id: "saml-req".into(), nonce: None, pkce_verifier: None, return_to: None, ..p.clone() };
        store.insert_pending_login(&bare).unwrap();
        assert_eq!(store.take_pending_login("saml-req", t(10)).unwrap(), Some(bare));

        let old = pending(&idp, "state-2", t(600));
        store.insert_pending_login(&old).unwrap();
        assert_eq!(store.take_pending_login("state-2", t(600)).unwrap(), None);
        // An expired attempt is gone after the try, too.
        assert_eq!(store.take_pending_login("state-2", t(0)).unwrap(), None);
    }

    fn concurrent_takes_give_the_login_once(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        for round in 0..5 {
            let id = format!("state-{round}");
            store.insert_pending_login(&pending(&idp, &id, t(600))).unwrap();
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (store, barrier, id) = (store.clone(), barrier.clone(), id.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.take_pending_login(&id, t(1)).unwrap()
                    })
                })
                .collect();
            let got = handles.into_iter().filter_map(|h| h.join().unwrap()).count();
            assert_eq!(got, 1);
        }
    }

    fn assertion_replay_is_refused(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        let other = oidc_idp(&a);
        store.insert_idp(&idp).unwrap();
        store.insert_idp(&other).unwrap();
        assert!(store.remember_assertion(idp.id, "_assertion1", t(300)).unwrap());
        assert!(!store.remember_assertion(idp.id, "_assertion1", t(300)).unwrap());
        assert!(store.remember_assertion(idp.id, "_assertion2", t(300)).unwrap());
        assert!(store.remember_assertion(other.id, "_assertion1", t(300)).unwrap());
    }

    fn purge_removes_only_what_expired(store: &Store) {
        let a = seed_account(store, "acme");
        let idp = saml_idp(&a);
        store.insert_idp(&idp).unwrap();
        let u = seed_user(store, &a, "alice@example.com");
        store.insert_pending_login(&pending(&idp, "old", t(100))).unwrap();
        store.insert_pending_login(&pending(&idp, "new", t(300))).unwrap();
        assert!(store.remember_assertion(idp.id, "_old", t(100)).unwrap());
        assert!(store.remember_assertion(idp.id, "_new", t(300)).unwrap());
        let old_session = session(&u, t(100));
        let new_session = session(&u, t(300));
        store.insert_session(&old_session).unwrap();
        store.insert_session(&new_session).unwrap();

        store.purge_expired(t(200)).unwrap();
        assert_eq!(store.session(old_session.id).unwrap(), None);
        assert_eq!(store.session(new_session.id).unwrap(), Some(new_session));
        // The old id can be remembered again (it would be expired anyway); the new one
        // is still a replay.
        assert!(store.remember_assertion(idp.id, "_old", t(400)).unwrap());
        assert!(!store.remember_assertion(idp.id, "_new", t(400)).unwrap());
        assert_eq!(store.take_pending_login("old", t(0)).unwrap(), None);
        assert!(store.take_pending_login("new", t(200) - Duration::seconds(1)).unwrap().is_some());
    }
}
