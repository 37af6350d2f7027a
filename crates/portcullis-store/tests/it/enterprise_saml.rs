//! Migration 19: SP encryption keys sealed at rest, the SAML settings of encryption and
//! single logout, sessions found by their SAML NameID; plus the upgrade from release 18.

use chrono::Duration;
use portcullis_domain::*;
use portcullis_store::{Store, StoreError};

use crate::support::*;
use crate::upgrades::*;

fn encrypting(mut idp: IdentityProvider, keys: SpEncryptionKeys) -> IdentityProvider {
    if let IdpProtocol::Saml(s) = &mut idp.protocol {
        s.encrypted_assertions = AssertionEncryption::Require;
        s.sp_encryption_keys = Some(keys);
        s.slo_url = Some("https://acme.okta.com/app/slo/saml".into());
        s.sp_signing_key = Some(sp_key(9));
    }
    idp
}

fn saml_session(store: &Store, user: &User, idp: IdpId, name_id: &str, index: &str) -> Session {
    let session = Session::start(
        SessionId::from_uuid(uuid::Uuid::new_v4()),
        user,
        AuthMethod::Sso(idp),
        t(1),
        Duration::hours(1),
    );
    let hint = LogoutHint::Saml {
        name_id: name_id.into(),
        format: None,
        session_index: Some(index.into()),
    };
    store
        .insert_session_with_hint(&session, Some(&hint))
        .unwrap();
    session
}

fn live(store: &Store, s: &Session) -> bool {
    store.session(s.id).unwrap().unwrap().is_live(t(2))
}

/// Both encryption key pairs are written only sealed, in one value, and read back.
fn encryption_keys_are_sealed_at_rest(db: TestDb) {
    let sealed = db.store.clone().with_encryption_key(&[7; 32]);
    let a = seed_account(&db.store, "acme");
    let keys = SpEncryptionKeys {
        current: sp_key(1),
        previous: Some((sp_key(2), t(50))),
    };
    let idp = encrypting(saml_idp(&a), keys);
    assert!(matches!(
        db.store.insert_idp(&idp),
        Err(StoreError::NoEncryptionKey)
    ));
    sealed.insert_idp(&idp).unwrap();
    assert_eq!(sealed.idp(a.id, idp.id).unwrap(), Some(idp.clone()));
    let stored = db
        .raw_texts(&format!(
            "SELECT sp_encryption_keys AS value FROM identity_providers WHERE id = '{}'",
            idp.id
        ))
        .remove(0)
        .unwrap();
    assert!(stored.starts_with("enc:v1:"), "{stored}");
    assert!(!stored.contains("PRIVATE KEY"), "{stored}");
    assert!(!stored.contains("MIIC-sp"), "{stored}");
    // Another encryption key cannot read it.
    let other = db.store.clone().with_encryption_key(&[8; 32]);
    assert!(matches!(
        other.idp(a.id, idp.id),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn encryption_keys_are_sealed_at_rest_sqlite() {
    encryption_keys_are_sealed_at_rest(TestDb::sqlite());
}

#[test]
fn encryption_keys_are_sealed_at_rest_postgres() {
    if let Some(db) = TestDb::postgres() {
        encryption_keys_are_sealed_at_rest(db);
    }
}

backend_tests! {
    fn an_idp_logout_ends_the_sessions_of_its_name_id_only(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "beta");
        let kim = seed_user(store, &a, "kim@acme.com");
        let lee = seed_user(store, &a, "lee@acme.com");
        let bee = seed_user(store, &b, "kim@acme.com");
        let (okta, other) = (fresh::idp(), fresh::idp());
        let kim1 = saml_session(store, &kim, okta, "kim@acme.com", "_s1");
        let kim2 = saml_session(store, &kim, okta, "kim@acme.com", "_s2");
        let lee1 = saml_session(store, &lee, okta, "lee@acme.com", "_s1");
        // The same NameID through another IdP (another account's): untouched.
        let bee1 = saml_session(store, &bee, other, "kim@acme.com", "_s1");

        // A SessionIndex ends only that session.
        let ended = store.revoke_saml_sessions(okta, "kim@acme.com", &["_s2".into()], t(2)).unwrap();
        assert_eq!(ended, vec![(a.id, kim.id)]);
        assert!(live(store, &kim1) && !live(store, &kim2) && live(store, &lee1) && live(store, &bee1));
        // An unknown SessionIndex ends nothing.
        assert!(store.revoke_saml_sessions(okta, "kim@acme.com", &["_s9".into()], t(2)).unwrap().is_empty());
        // Without one, every live session of the NameID at that IdP.
        let ended = store.revoke_saml_sessions(okta, "kim@acme.com", &[], t(2)).unwrap();
        assert_eq!(ended, vec![(a.id, kim.id)]);
        assert!(!live(store, &kim1) && live(store, &lee1) && live(store, &bee1));
        // Ended sessions are not ended twice; a NameID differing in case is another one.
        assert!(store.revoke_saml_sessions(okta, "kim@acme.com", &[], t(3)).unwrap().is_empty());
        assert!(store.revoke_saml_sessions(okta, "LEE@acme.com", &[], t(3)).unwrap().is_empty());
        assert!(live(store, &lee1));
    }
}

/// A database written by release 18 (a SAML IdP with its settings JSON of then, an OIDC
/// IdP, sessions with and without a logout hint) is migrated and read back unchanged:
/// encryption off, no SLO URL, no encryption keys; the old SAML session is not found by
/// NameID (it has no subject), while new ones are.
fn enterprise_saml(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000018").unwrap();
    let a = seed_old_account(db, "acme");
    let admin = user(&a, "admin@acme.com");
    store.insert_user(&admin).unwrap();
    let idp = saml_idp(&a);
    insert_old_idp(db, &idp);
    let oidc = oidc_idp(&a);
    insert_old_idp(db, &oidc);
    let session = Session::start(
        SessionId::from_uuid(uuid::Uuid::new_v4()),
        &admin,
        AuthMethod::Sso(idp.id),
        t(1),
        Duration::hours(1),
    );
    db.raw_execute(&format!(
        "INSERT INTO sessions (id, account_id, user_id, method, idp_id, created_at, expires_at, \
         logout_hint) VALUES ('{}', '{}', '{}', 'sso', '{}', '{}', '{}', '{}')",
        portcullis_domain::SecretHash::of(&session.id.to_string()).as_str(),
        a.id,
        admin.id,
        idp.id,
        stored_time(session.created_at),
        stored_time(session.expires_at),
        r#"{"saml":{"name_id":"admin@acme.com","format":null,"session_index":"_s1"}}"#,
    ));

    store.migrate().unwrap();

    assert_eq!(store.idp(a.id, idp.id).unwrap(), Some(idp.clone()));
    assert_eq!(store.idp(a.id, oidc.id).unwrap(), Some(oidc.clone()));
    assert_eq!(store.session(session.id).unwrap(), Some(session.clone()));
    assert_eq!(
        store.session_logout_hint(session.id).unwrap(),
        Some(LogoutHint::Saml {
            name_id: "admin@acme.com".into(),
            format: None,
            session_index: Some("_s1".into()),
        })
    );
    assert!(store
        .revoke_saml_sessions(idp.id, "admin@acme.com", &[], t(2))
        .unwrap()
        .is_empty());

    // The new settings and columns work on the migrated database.
    let sealed = store.clone().with_encryption_key(&[7; 32]);
    let keys = SpEncryptionKeys {
        current: sp_key(1),
        previous: None,
    };
    let encrypting = encrypting(idp.clone(), keys);
    sealed.update_idp(&encrypting).unwrap();
    assert_eq!(sealed.idp(a.id, idp.id).unwrap(), Some(encrypting));
    let fresh = saml_session(store, &admin, idp.id, "admin@acme.com", "_s2");
    assert_eq!(
        store
            .revoke_saml_sessions(idp.id, "admin@acme.com", &[], t(2))
            .unwrap(),
        vec![(a.id, admin.id)]
    );
    assert!(!live(store, &fresh));
}

#[test]
fn enterprise_saml_on_both_backends() {
    on_both(enterprise_saml);
}
