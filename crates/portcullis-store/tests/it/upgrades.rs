//! Upgrades: a database written by an older schema, filled as that release filled it,
//! then migrated the rest of the way and read back unchanged.

use portcullis_domain::*;
use portcullis_store::{
    CompareOp, EmailField, Filter, FilterValue, ScimQuery, ScimUserRow, Store, UserField,
};

use crate::support::*;

mod active_admins;
mod member_changes;
mod old_rows;
pub(crate) use old_rows::*;

pub(crate) fn on_both(test: fn(&TestDb)) {
    test(&TestDb::sqlite_unmigrated());
    if let Some(db) = TestDb::postgres_unmigrated() {
        test(&db);
    }
}

/// The members of `account` with an email whose value is `email` (a SCIM filter).
fn by_email(store: &Store, account: &Account, email: &str) -> Vec<UserId> {
    let filter = Filter::AnyEmail(Box::new(Filter::eq(EmailField::Value, email)));
    let (rows, _) = store
        .list_scim_users(account.id, &ScimQuery::page(0, 10).filtered(filter))
        .unwrap();
    rows.iter().map(|r| r.user.id).collect()
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
    let a = seed_old_account(db, "acme");
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
    // What the release before wrote: the whole address Unicode lower-cased.
    let members: Vec<User> = addresses
        .iter()
        .map(|address| {
            let m = user(&a, address);
            insert_old_user(db, &m, &address.to_lowercase());
            m
        })
        .collect();
    let invitation =
        pending_invitation(&a, &members[0], "Nina@B\u{00DC}cher.example", Role::Member);
    // As the release before wrote it (its columns, its key).
    insert_old_invitation(db, &invitation, "nina@b\u{00FC}cher.example");
    // Under the old keys the Kelvin-sign address answered for kate@acme.com.
    assert_eq!(
        db.raw_texts(&format!(
            "SELECT email_lower AS value FROM users WHERE id = '{}'",
            members[1].id
        )),
        vec![Some("kate@acme.com".to_owned())]
    );

    store.migrate_until("00000000000011").unwrap();

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
    // Through migration 12 the emails keep the keys.
    store.migrate().unwrap();
    assert_eq!(
        by_email(store, &a, "anna@B\u{00DC}CHER.example"),
        vec![members[3].id]
    );
    assert_eq!(by_email(store, &a, "kate@acme.com"), vec![]);
}

#[test]
fn email_identity_keys_on_both_backends() {
    on_both(email_identity_keys);
}

/// Migration 9: API key scopes. Keys made before get both scopes and are marked as
/// legacy full-access keys; nothing else about them changes.
fn api_key_scopes(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000008").unwrap();
    let a = seed_old_account(db, "acme");
    let owner = seed_old_user(db, &a, "admin@acme.com");
    let key = ApiKey {
        last_used_at: Some(t(7)),
        ..api_key(&owner, "pcl_before_scopes")
    };
    // As the release before wrote it: no scope columns.
    db.raw_execute(&format!(
        "INSERT INTO api_keys (id, account_id, owner_id, description, prefix, secret_hash, \
         created_at, last_used_at, revoked_at) VALUES ('{}', '{}', '{}', '{}', '{}', '{}', \
         '{}', '{}', NULL)",
        key.id,
        a.id,
        owner.id,
        key.description,
        key.prefix,
        key.secret_hash.as_str(),
        stored_time(key.created_at),
        stored_time(t(7)),
    ));

    store.migrate().unwrap();

    let read = store.api_key_by_hash(&key.secret_hash).unwrap().unwrap();
    assert_eq!(
        read,
        ApiKey {
            scopes: Scopes::FULL,
            legacy_full_access: true,
            ..key.clone()
        }
    );
    // A key made now keeps the scopes it was given and is not a legacy key.
    let scoped = ApiKey {
        scopes: Scopes::only(Scope::Scim),
        ..api_key(&owner, "pcl_after_scopes")
    };
    store.insert_api_key(&scoped).unwrap();
    assert_eq!(
        store.api_key_by_hash(&scoped.secret_hash).unwrap(),
        Some(scoped)
    );
}

#[test]
fn api_key_scopes_on_both_backends() {
    on_both(api_key_scopes);
}

/// The session signing key (and any server secret) is stored sealed; one an older
/// release stored in clear reads back unchanged and is sealed in place.
fn server_secrets_are_sealed(db: &TestDb) {
    db.store.migrate().unwrap();
    let keyed = db.store.clone().with_encryption_key(&[7; 32]);
    let raw = |name: &str| {
        db.raw_texts(&format!(
            "SELECT value AS value FROM server_secrets WHERE name = '{name}'"
        ))
    };
    assert_eq!(
        keyed
            .get_or_create_secret("session_key", "fresh-secret".into())
            .unwrap(),
        "fresh-secret"
    );
    let stored = raw("session_key")[0].clone().unwrap();
    assert!(
        stored.starts_with("enc:v1:") && !stored.contains("fresh-secret"),
        "{stored}"
    );
    // Another replica with the same key reads the same value; a second `fresh` loses.
    let replica = db.store.clone().with_encryption_key(&[7; 32]);
    assert_eq!(
        replica
            .get_or_create_secret("session_key", "other".into())
            .unwrap(),
        "fresh-secret"
    );
    // Without the key the sealed value is refused, never returned raw.
    assert!(db
        .store
        .get_or_create_secret("session_key", "x".into())
        .is_err());

    // As an older release left it: in clear.
    db.raw_execute(
        "INSERT INTO server_secrets (name, value) VALUES ('legacy', 'plain-old-secret')",
    );
    assert_eq!(
        keyed.get_or_create_secret("legacy", "new".into()).unwrap(),
        "plain-old-secret"
    );
    let resealed = raw("legacy")[0].clone().unwrap();
    assert!(
        resealed.starts_with("enc:v1:") && !resealed.contains("plain-old-secret"),
        "{resealed}"
    );
    assert_eq!(
        keyed.get_or_create_secret("legacy", "new".into()).unwrap(),
        "plain-old-secret"
    );
}

#[test]
fn server_secrets_are_sealed_on_both_backends() {
    on_both(server_secrets_are_sealed);
}

/// Migration 10: sessions stored by the hash of their id. A session stored before (by
/// its id) is found by the same id after, unchanged, and its row no longer holds the id.
fn session_id_hashes(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000009").unwrap();
    let a = seed_old_account(db, "acme");
    let user = seed_old_user(db, &a, "admin@acme.com");
    let idp = saml_idp(&a);
    insert_old_idp(db, &idp);
    let live = Session {
        method: AuthMethod::Sso(idp.id),
        ..session(&user, t(3600))
    };
    let ended = Session {
        revoked_at: Some(t(60)),
        ..session(&user, t(3600))
    };
    for (s, method, idp_id, revoked) in [
        (&live, "sso", format!("'{}'", idp.id), "NULL".to_owned()),
        (
            &ended,
            "password",
            "NULL".to_owned(),
            format!("'{}'", stored_time(t(60))),
        ),
    ] {
        // As the release before wrote it: the id itself.
        db.raw_execute(&format!(
            "INSERT INTO sessions (id, account_id, user_id, method, idp_id, created_at, expires_at, revoked_at) \
             VALUES ('{}', '{}', '{}', '{method}', {idp_id}, '{}', '{}', {revoked})",
            s.id, a.id, user.id, stored_time(s.created_at), stored_time(s.expires_at)
        ));
    }

    store.migrate().unwrap();

    assert_eq!(store.session(live.id).unwrap(), Some(live.clone()));
    assert_eq!(store.session(ended.id).unwrap(), Some(ended.clone()));
    let ids = db.raw_texts("SELECT id AS value FROM sessions");
    assert_eq!(ids.len(), 2);
    for id in ids.into_iter().flatten() {
        assert!(
            id != live.id.to_string() && id != ended.id.to_string(),
            "{id}"
        );
        assert_eq!(id.len(), 64, "{id}");
    }
    // Sessions made now are found the same way.
    let fresh = session(&user, t(7200));
    store.insert_session(&fresh).unwrap();
    assert_eq!(store.session(fresh.id).unwrap(), Some(fresh));
}

#[test]
fn session_id_hashes_on_both_backends() {
    on_both(session_id_hashes);
}

/// Migration 11: invitations can be revoked. One stored before reads back unrevoked and
/// unchanged, and can then be revoked.
fn invitation_revocation(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000010").unwrap();
    let a = seed_old_account(db, "acme");
    let admin = seed_old_user(db, &a, "admin@acme.com");
    let invitation = pending_invitation(&a, &admin, "New@Acme.com", Role::Admin);
    insert_old_invitation(db, &invitation, "new@acme.com");

    store.migrate().unwrap();

    assert_eq!(
        store.invitation_by_token(&SecretHash::of("token")).unwrap(),
        Some(invitation.clone())
    );
    assert!(store.revoke_invitation(a.id, invitation.id, t(20)).unwrap());
    let revoked = store
        .invitation_by_token(&SecretHash::of("token"))
        .unwrap()
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(t(20)));
    assert!(!revoked.is_usable(t(30)));
}

#[test]
fn invitation_revocation_on_both_backends() {
    on_both(invitation_revocation);
}

/// Migration 12: every email of a member in rows of their own. Members stored before —
/// one SCIM never described, one with two emails, one with none — read back unchanged,
/// and email filters find them by any of their addresses (and only them).
fn user_emails(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000011").unwrap();
    let a = seed_old_account(db, "acme");
    let plain = seed_old_user(db, &a, "Plain@Acme.com");
    let mut two = user(&a, "kim@acme.com");
    two.origin = UserOrigin::Scim;
    insert_old_user(db, &two, "kim@acme.com");
    let mut none = user(&a, "lee@acme.com");
    none.origin = UserOrigin::Scim;
    insert_old_user(db, &none, "lee@acme.com");
    let two_json = r#"{"userName":"kim@acme.com","emails":[{"value":"Kim@Acme.com","type":"work","primary":true},{"value":"kim@home.example","type":"home"}]}"#;
    let none_json = r#"{"userName":"lee@acme.com"}"#;
    for (m, json) in [(&two, two_json), (&none, none_json)] {
        db.raw_execute(&format!(
            "UPDATE users SET scim_json = '{json}', version = 3 WHERE id = '{}'",
            m.id
        ));
    }

    store.migrate().unwrap();

    let row = |m: &User, json: Option<&str>, version| ScimUserRow {
        user: m.clone(),
        scim_json: json.map(str::to_owned),
        scim_view: None,
        version,
    };
    assert_eq!(
        store.scim_user(a.id, plain.id).unwrap(),
        Some(row(&plain, None, 1))
    );
    assert_eq!(
        store.scim_user(a.id, two.id).unwrap(),
        Some(row(&two, Some(two_json), 3))
    );
    assert_eq!(
        store.scim_user(a.id, none.id).unwrap(),
        Some(row(&none, Some(none_json), 3))
    );
    assert_eq!(by_email(store, &a, "plain@acme.com"), vec![plain.id]);
    assert_eq!(by_email(store, &a, "KIM@acme.com"), vec![two.id]);
    assert_eq!(by_email(store, &a, "kim@home.example"), vec![two.id]);
    assert_eq!(by_email(store, &a, "lee@acme.com"), vec![]);
    let home = Filter::AnyEmail(Box::new(
        Filter::eq(EmailField::Type, "home").and(Filter::eq(EmailField::Value, "kim@home.example")),
    ));
    let (rows, _) = store
        .list_scim_users(a.id, &ScimQuery::page(0, 10).filtered(home))
        .unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn user_emails_on_both_backends() {
    on_both(user_emails);
}

/// Members stored before times were kept to the millisecond (to the microsecond) compare
/// as SCIM published them: their time cut to the millisecond.
fn times_stored_finer_compare_as_published(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000011").unwrap();
    let a = seed_old_account(db, "acme");
    let mut kim = user(&a, "kim@acme.com");
    kim.created_at = t_micros(10);
    insert_old_user(db, &kim, "kim@acme.com");
    store.migrate().unwrap();

    let created = |op: CompareOp, at| {
        let filter = Filter::Compare(UserField::Created, op, FilterValue::Time(at));
        let (rows, _) = store
            .list_scim_users(a.id, &ScimQuery::page(0, 10).filtered(filter))
            .unwrap();
        rows.len()
    };
    // Published as t(10): equal to it, not after it.
    use CompareOp::*;
    for (op, at, expected) in [
        (Eq, t(10), 1),
        (Ne, t(10), 0),
        (Le, t(10), 1),
        (Ge, t(10), 1),
        (Gt, t(10), 0),
        (Lt, t(10), 0),
        (Eq, t_micros(10), 0),
        (Ne, t_micros(10), 1),
        (Lt, t_micros(10), 1),
        (Ge, t_micros(10), 0),
        (Gt, t(10) - chrono::Duration::microseconds(1), 1),
        (Le, t(10) - chrono::Duration::microseconds(1), 0),
    ] {
        assert_eq!(created(op, at), expected, "{op:?} {at}");
    }
}

#[test]
fn times_stored_finer_compare_as_published_on_both_backends() {
    on_both(times_stored_finer_compare_as_published);
}

/// Migration 13: the email domains accounts claim. An account, its member and its IdP
/// stored before read back unchanged, and the account can then claim and verify a domain.
fn account_domains(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000012").unwrap();
    let a = seed_old_account(db, "acme");
    let kim = seed_user(store, &a, "kim@acme.com");
    let idp = saml_idp(&a);
    insert_old_idp(db, &idp);

    store.migrate().unwrap();

    assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
    assert_eq!(store.user(a.id, kim.id).unwrap(), Some(kim));
    assert_eq!(store.idp(a.id, idp.id).unwrap(), Some(idp.clone()));
    let mut claim = AccountDomain::new(
        DomainId::from_uuid(uuid::Uuid::new_v4()),
        a.id,
        EmailDomain::parse("acme.com").unwrap(),
        "token".into(),
        t(1),
    );
    store.insert_domain(&claim).unwrap();
    claim.checked(&[claim.challenge_value()], t(2));
    claim.idp = Some(idp.id);
    store.save_domain(&claim).unwrap();
    assert_eq!(store.verified_domain(&claim.domain).unwrap(), Some(claim));
}

#[test]
fn account_domains_on_both_backends() {
    on_both(account_domains);
}

/// Migration 14: the domain rule of accounts and role rules. An account stored before
/// reads back unchanged, provisioning any domain; it can then hold role rules, one per
/// source, claim and value.
fn role_rules(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000013").unwrap();
    let a = seed_old_account(db, "acme");
    let kim = seed_user(store, &a, "kim@acme.com");

    store.migrate().unwrap();

    let read = store.account(a.id).unwrap().unwrap();
    assert_eq!(read, a);
    assert!(!read.provision_only_verified_domains);
    assert_eq!(store.user(a.id, kim.id).unwrap(), Some(kim));
    let mut strict = read.clone();
    strict.provision_only_verified_domains = true;
    store.update_account(&strict).unwrap();
    assert_eq!(store.account(a.id).unwrap(), Some(strict));

    let rule = |claim: Option<&str>| {
        RoleRule::new(
            RoleRuleId::from_uuid(uuid::Uuid::new_v4()),
            a.id,
            RoleSource::SsoClaim,
            claim,
            "Admins",
            Role::Admin,
            t(3),
        )
        .unwrap()
    };
    let (standard, named) = (rule(None), rule(Some("memberOf")));
    store.insert_role_rule(&standard).unwrap();
    store.insert_role_rule(&named).unwrap();
    assert!(matches!(
        store.insert_role_rule(&rule(None)),
        Err(portcullis_store::StoreError::Conflict { what })
            if what == portcullis_store::conflict::ROLE_RULE
    ));
    let mut rules = store.role_rules(a.id).unwrap();
    rules.sort_by_key(|r| r.claim.clone());
    assert_eq!(rules, vec![standard.clone(), named]);
    assert!(store.delete_role_rule(a.id, standard.id).unwrap());
    assert!(!store.delete_role_rule(a.id, standard.id).unwrap());
}

#[test]
fn role_rules_on_both_backends() {
    on_both(role_rules);
}

/// Migration 15: webhooks and their deliveries. An account and its member stored before
/// read back unchanged; the account can then hold a webhook, whose secret is stored
/// sealed, and queue a delivery.
fn webhooks(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000014").unwrap();
    let a = seed_old_account(db, "acme");
    let kim = seed_user(store, &a, "kim@acme.com");

    store.migrate().unwrap();

    assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
    assert_eq!(store.user(a.id, kim.id).unwrap(), Some(kim));
    let hook = Webhook {
        id: WebhookId::from_uuid(uuid::Uuid::new_v4()),
        account: a.id,
        url: "https://hooks.example.com/portcullis".into(),
        events: vec!["*".into()],
        description: "HR".into(),
        secret: WebhookSecret::from_bytes([9; 32]),
        created_at: t(5),
    };
    store.insert_webhook(&hook).unwrap();
    assert_eq!(store.webhooks(a.id).unwrap(), vec![hook.clone()]);
    let delivery = portcullis_store::Delivery::new(&hook, "ping", "{}".into(), t(6));
    store
        .insert_deliveries(std::slice::from_ref(&delivery))
        .unwrap();
    assert_eq!(store.deliveries(a.id, hook.id, 10).unwrap(), vec![delivery]);
}

#[test]
fn webhooks_on_both_backends() {
    on_both(webhooks);
}

/// Migration 16: the sign-in debugger's traces. An account stored before reads back
/// unchanged and can then keep traces, which are purged after their time.
fn sign_in_attempts(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000015").unwrap();
    let a = seed_old_account(db, "acme");
    store.migrate().unwrap();
    assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
    let attempt = portcullis_domain::sign_in_attempt::SignInAttempt {
        id: uuid::Uuid::new_v4(),
        account: a.id,
        idp: IdpId::from_uuid(uuid::Uuid::new_v4()),
        protocol: "saml".into(),
        succeeded: false,
        reason: "saml_wrong_audience".into(),
        email: Some("kim@acme.com".into()),
        steps: portcullis_domain::sign_in_attempt::trace(
            "saml",
            "saml_wrong_audience",
            &Default::default(),
        ),
        response: Some("<Response/>".into()),
        at: t(7),
    };
    store.insert_sign_in_attempt(&attempt).unwrap();
    assert_eq!(
        store.sign_in_attempt(a.id, attempt.id).unwrap(),
        Some(attempt.clone())
    );
    store.purge_sign_in_attempts(t(8)).unwrap();
    assert_eq!(store.sign_in_attempt(a.id, attempt.id).unwrap(), None);
}

#[test]
fn sign_in_attempts_on_both_backends() {
    on_both(sign_in_attempts);
}

/// Migration 17: each delivery's attempt log. A delivery stored before, with one failed
/// attempt, reads back unchanged with an empty log; the next attempt starts it.
fn webhook_attempt_log(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000016").unwrap();
    let a = seed_old_account(db, "acme");
    let hook = Webhook {
        id: WebhookId::from_uuid(uuid::Uuid::new_v4()),
        account: a.id,
        url: "https://hooks.example.com/portcullis".into(),
        events: vec!["*".into()],
        description: String::new(),
        secret: WebhookSecret::from_bytes([4; 32]),
        created_at: t(5),
    };
    store.insert_webhook(&hook).unwrap();
    let mut old =
        portcullis_store::Delivery::new(&hook, "ping", "{\"type\":\"ping\"}".into(), t(6));
    old.attempts = 1;
    old.last_attempt_at = Some(t(7));
    old.last_status = Some(500);
    old.last_error = Some("the receiver answered 500".into());
    old.next_attempt_at = t(17);
    db.raw_execute(&format!(
        "INSERT INTO webhook_deliveries (id, webhook_id, account_id, event_type, payload, status, \
         attempts, due_since, next_attempt_at, claimed_until, last_attempt_at, last_status, \
         last_error, created_at) VALUES ('{}', '{}', '{}', 'ping', '{}', 'pending', 1, '{}', '{}', \
         NULL, '{}', 500, 'the receiver answered 500', '{}')",
        old.id,
        hook.id,
        a.id,
        old.payload,
        stored_time(t(6)),
        stored_time(t(17)),
        stored_time(t(7)),
        stored_time(t(6)),
    ));

    store.migrate().unwrap();

    assert_eq!(
        store.deliveries(a.id, hook.id, 10).unwrap(),
        vec![old.clone()]
    );
    store
        .record_attempt(
            old.id,
            &portcullis_store::Attempt::Delivered { status: 204 },
            t(20),
        )
        .unwrap();
    let log = &store.deliveries(a.id, hook.id, 10).unwrap()[0].attempt_log;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].at, log[0].status), (t(20), Some(204)));
}

#[test]
fn webhook_attempt_log_on_both_backends() {
    on_both(webhook_attempt_log);
}

/// Migration 20: the member count in slots. The count written before is kept whole (in
/// slot 0); members added and removed afterwards on several connections (several slots
/// on PostgreSQL) keep it exact, and deleting the account takes its
/// slots with it.
fn member_count_slots(db: &TestDb) {
    let store = &db.store;
    store.migrate_until("00000000000019").unwrap();
    let a = seed_account(store, "acme");
    let before: Vec<User> = (0..5)
        .map(|i| seed_user(store, &a, &format!("before{i}@acme.com")))
        .collect();
    let other = seed_account(store, "other");
    seed_user(store, &other, "someone@other.com");

    store.migrate().unwrap();

    assert_eq!(
        db.raw_texts(&format!(
            "SELECT CAST(slot AS TEXT) || ':' || CAST(members AS TEXT) AS value \
             FROM account_member_counts WHERE account_id = '{}'",
            a.id
        )),
        vec![Some("0:5".to_owned())]
    );
    assert_eq!(store.account_counts(a.id).unwrap().members, 5);
    // Four more handles on the database, each with connections of its own (on
    // PostgreSQL other backends, so other slots).
    for handle in 0..4 {
        let other_handle = Store::connect(&db.url).unwrap();
        for i in 0..6 {
            other_handle
                .insert_user(&user(&a, &format!("h{handle}-{i}@acme.com")))
                .unwrap();
        }
    }
    let slots = db
        .raw_texts(&format!(
            "SELECT CAST(slot AS TEXT) AS value FROM account_member_counts \
             WHERE account_id = '{}'",
            a.id
        ))
        .len();
    match store.backend() {
        // Slot 0 holds the count from before, and the four handles' connections add to
        // the slots of their backend pids: all four in slot 0 is a chance of one in 64
        // to the fourth, so one row means the trigger does not use the slots.
        portcullis_store::Backend::Postgres => assert!(slots > 1, "{slots} slot(s)"),
        portcullis_store::Backend::Sqlite => assert_eq!(slots, 1),
    }
    for u in &before[..2] {
        assert!(store.delete_user(a.id, u.id, t(9), None).unwrap());
    }
    assert_eq!(store.account_counts(a.id).unwrap().members, 5 + 24 - 2);
    assert_eq!(store.account_counts(other.id).unwrap().members, 1);
    let (_, total) = store
        .list_scim_users(a.id, &portcullis_store::ScimQuery::page(1, 2))
        .unwrap();
    assert_eq!(total, 27);

    store.delete_account(a.id).unwrap();
    assert_eq!(
        db.raw_texts(&format!(
            "SELECT account_id AS value FROM account_member_counts WHERE account_id = '{}'",
            a.id
        )),
        Vec::<Option<String>>::new()
    );
    assert_eq!(store.account_counts(other.id).unwrap().members, 1);
}

#[test]
fn member_count_slots_on_both_backends() {
    on_both(member_count_slots);
}

/// Migration 21: the index of each webhook's queue of deliveries, in place of the one on
/// when deliveries are due. Deliveries stored before (one waiting for a retry, two behind
/// it, one to another webhook) read back unchanged, and are claimed as they were: the
/// other webhook's at once, the waiting one and those behind it when the retry is due.
fn webhook_delivery_queues(db: &TestDb) {
    use crate::deliveries::{claim, delivered, stalled, Stalled};
    let store = &db.store;
    store.migrate_until("00000000000020").unwrap();
    let Stalled {
        account: a,
        failing,
        working,
        head,
        behind,
        other,
    } = stalled(store, 2);
    let stored = |hook: &Webhook| store.deliveries(a.id, hook.id, 10).unwrap();
    let before = (stored(&failing), stored(&working));

    store.migrate().unwrap();

    assert_eq!((stored(&failing), stored(&working)), before);
    assert_eq!(claim(store, 20, 64), vec![other]);
    delivered(store, other, 21);
    assert_eq!(claim(store, 1000, 64), vec![head, behind[0], behind[1]]);
}

#[test]
fn webhook_delivery_queues_on_both_backends() {
    on_both(webhook_delivery_queues);
}
