//! Upgrades: a database written by an older schema, filled as that release filled it,
//! then migrated the rest of the way and read back unchanged.

use portcullis_domain::*;
use portcullis_store::Store;

use crate::support::*;

fn on_both(test: fn(&TestDb)) {
    test(&TestDb::sqlite_unmigrated());
    if let Some(db) = TestDb::postgres_unmigrated() {
        test(&db);
    }
}

fn found(store: &Store, account: &Account, email: &str) -> Option<UserId> {
    store
        .user_by_email(account.id, &Email::parse(email).unwrap())
        .unwrap()
        .map(|u| u.id)
}

/// Migration 8: the email identity keys. Rows written under the old keys (the whole
/// address Unicode lower-cased) get the new ones; nothing else about them changes.
fn email_identity_keys(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000007").unwrap();
    let a = seed_account(store, "acme");
    let addresses = [
        "Kim@Acme.COM",
        // Stored under the old rule as "kate@acme.com": a look-alike of kate@acme.com.
        "\u{212A}ate@acme.com",
        "J\u{00DC}rgen@acme.com",
        "anna@B\u{00FC}cher.example",
        // The same domain twice, as Unicode and as punycode: two members before, two after.
        "bob@b\u{00FC}cher.example",
        "bob@xn--bcher-kva.example",
    ];
    let mut members: Vec<User> = Vec::new();
    for address in addresses {
        // The new keys of the two bobs are one: the first is stored under a stand-in
        // address, then given its own as the old release stored it.
        let mut m = user(&a, address);
        m.email = Email::parse(&format!("stand-in-{}@acme.com", members.len())).unwrap();
        store.insert_user(&m).unwrap();
        m.email = Email::parse(address).unwrap();
        db.raw_execute(&format!(
            "UPDATE users SET email = '{address}' WHERE id = '{}'",
            m.id
        ));
        members.push(m);
    }
    // What the release before wrote: the whole address Unicode lower-cased.
    for m in &members {
        let old = m.email.as_str().to_lowercase().replace('\'', "''");
        db.raw_execute(&format!(
            "UPDATE users SET email_lower = '{old}', work_email_lower = '{old}' WHERE id = '{}'",
            m.id
        ));
    }
    let invitation = Invitation {
        id: fresh::invitation(),
        account: a.id,
        email: Email::parse("Nina@B\u{00DC}cher.example").unwrap(),
        role: Role::Member,
        invited_by: members[0].id,
        token_hash: SecretHash::of("token"),
        created_at: t(10),
        expires_at: t(1000),
        accepted_at: None,
    };
    store.insert_invitation(&invitation).unwrap();
    db.raw_execute(&format!(
        "UPDATE invitations SET email_lower = 'nina@b\u{00FC}cher.example' WHERE id = '{}'",
        invitation.id
    ));
    // Under the old keys the Kelvin-sign address answered for kate@acme.com.
    assert_eq!(
        db.raw_texts(&format!(
            "SELECT email_lower AS value FROM users WHERE id = '{}'",
            members[1].id
        )),
        vec![Some("kate@acme.com".to_owned())]
    );

    store.migrate().unwrap();

    // Every member reads back exactly as written.
    for m in &members {
        assert_eq!(store.user(a.id, m.id).unwrap().as_ref(), Some(m));
    }
    assert_eq!(
        store.invitation_by_token(&SecretHash::of("token")).unwrap(),
        Some(invitation.clone())
    );
    // Each is found by its own address, and the look-alike no longer by the other's.
    assert_eq!(found(store, &a, "kim@acme.com"), Some(members[0].id));
    assert_eq!(found(store, &a, "kate@acme.com"), None);
    assert_eq!(
        found(store, &a, "\u{212A}ate@acme.com"),
        Some(members[1].id)
    );
    assert_eq!(
        found(store, &a, "j\u{00DC}rgen@ACME.com"),
        Some(members[2].id)
    );
    assert_eq!(found(store, &a, "j\u{00FC}rgen@acme.com"), None);
    assert_eq!(
        found(store, &a, "Anna@xn--bcher-kva.example"),
        Some(members[3].id)
    );
    assert_eq!(
        found(store, &a, "anna@B\u{00DC}CHER.example"),
        Some(members[3].id)
    );
    assert_eq!(
        found(store, &a, "bob@xn--bcher-kva.example"),
        Some(members[5].id)
    );
    // The work emails followed the keys they were copies of.
    let key_of = |id: UserId| {
        db.raw_texts(&format!(
            "SELECT work_email_lower AS value FROM users WHERE id = '{id}'"
        ))
    };
    assert_eq!(
        key_of(members[1].id),
        vec![Some("\u{212A}ate@acme.com".to_owned())]
    );
    assert_eq!(
        key_of(members[3].id),
        vec![Some("anna@xn--bcher-kva.example".to_owned())]
    );
    assert_eq!(
        db.raw_texts(&format!(
            "SELECT email_lower AS value FROM invitations WHERE id = '{}'",
            invitation.id
        )),
        vec![Some("nina@xn--bcher-kva.example".to_owned())]
    );
}

#[test]
fn email_identity_keys_on_both_backends() {
    on_both(email_identity_keys);
}
