//! Rows as the older releases wrote them, straight into the older schema, for the
//! upgrade tests.

use portcullis_domain::*;

use crate::support::*;

/// Stores a member as the releases before migration 12 wrote them (their work email a
/// column of `users`, no `user_emails`), under the lookup key `email_key` that release
/// computed (also their work email's).
pub(crate) fn insert_old_user(db: &TestDb, user: &User, email_key: &str) {
    let quote = |s: &str| s.replace('\'', "''");
    db.raw_execute(&format!(
        "INSERT INTO users (id, account_id, email, email_lower, display_name, kind, role, \
         active, password_hash, external_id, origin, created_at, updated_at, \
         display_name_lower, work_email_lower) VALUES ('{}', '{}', '{}', '{key}', '{}', '{}', \
         '{}', {}, {}, NULL, '{}', '{}', '{}', '{}', '{key}')",
        user.id,
        user.account,
        quote(user.email.as_str()),
        quote(&user.display_name),
        user.kind.as_str(),
        user.role.as_str(),
        if user.active { "TRUE" } else { "FALSE" },
        user.password_hash
            .as_deref()
            .map_or("NULL".to_owned(), |h| format!("'{}'", quote(h))),
        user.origin.as_str(),
        stored_time(user.created_at),
        stored_time(user.updated_at),
        quote(&user.display_name.to_lowercase()),
        key = quote(email_key),
    ));
}

/// A member stored as before migration 12 ([`insert_old_user`]), their key their email
/// lower-cased.
pub(crate) fn seed_old_user(db: &TestDb, account: &Account, email: &str) -> User {
    let u = user(account, email);
    insert_old_user(db, &u, &email.to_lowercase());
    u
}

/// Stores an account as the releases before migration 14 wrote it (no domain rule).
pub(crate) fn seed_old_account(db: &TestDb, slug: &str) -> Account {
    let a = account(slug);
    db.raw_execute(&format!(
        "INSERT INTO accounts (id, slug, name, enforcement, provisioning, api_ip_restrictions, \
         created_at) VALUES ('{}', '{}', '{}', '{}', '{}', '[]', '{}')",
        a.id,
        a.slug.as_str(),
        a.name.replace('\'', "''"),
        a.enforcement.as_str(),
        a.provisioning.as_str(),
        stored_time(a.created_at),
    ));
    a
}

/// Stores an IdP (without SP keys) as the releases before migration 19 wrote it: no
/// encryption keys column, settings JSON without encryption and single logout.
pub(crate) fn insert_old_idp(db: &TestDb, idp: &IdentityProvider) {
    let (protocol, settings) = match &idp.protocol {
        IdpProtocol::Saml(s) => (
            "saml",
            serde_json::json!({
                "idp_entity_id": s.idp_entity_id,
                "sso_url": s.sso_url,
                "signing_certificates": s.signing_certificates,
                "idp_initiated": s.idp_initiated,
                "metadata_url": s.metadata_url,
                "metadata_xml": s.metadata_xml,
                "email_attribute": s.email_attribute,
                "name_attribute": s.name_attribute,
                "sign_authn_requests": s.sign_authn_requests,
            }),
        ),
        IdpProtocol::Oidc(o) => (
            "oidc",
            serde_json::json!({
                "issuer": o.issuer,
                "client_id": o.client_id,
                "client_secret": o.client_secret,
                "scopes": o.scopes,
                "trust_unverified_email": o.trust_unverified_email,
            }),
        ),
    };
    let enabled = match (db.store.backend(), idp.enabled) {
        (portcullis_store::Backend::Sqlite, on) => u8::from(on).to_string(),
        (_, on) => on.to_string(),
    };
    db.raw_execute(&format!(
        "INSERT INTO identity_providers (id, account_id, description, enabled, protocol, \
         settings, created_at) VALUES ('{}', '{}', '{}', {enabled}, '{protocol}', '{}', '{}')",
        idp.id,
        idp.account,
        idp.description.replace('\'', "''"),
        settings.to_string().replace('\'', "''"),
        stored_time(idp.created_at),
    ));
}

/// A time as the older releases wrote it into a text column.
pub(crate) fn stored_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// A pending invitation with the token "token".
pub(crate) fn pending_invitation(
    account: &Account,
    by: &User,
    email: &str,
    role: Role,
) -> Invitation {
    Invitation {
        id: fresh::invitation(),
        account: account.id,
        email: Email::parse(email).unwrap(),
        role,
        invited_by: Some(by.id),
        token_hash: SecretHash::of("token"),
        created_at: t(10),
        expires_at: t(1000),
        accepted_at: None,
        revoked_at: None,
    }
}

/// Stores an invitation as the releases before migration 11 wrote it (no revocation
/// column), under the lookup key `email_key` that release computed.
pub(crate) fn insert_old_invitation(db: &TestDb, invitation: &Invitation, email_key: &str) {
    db.raw_execute(&format!(
        "INSERT INTO invitations (id, account_id, email, email_lower, role, invited_by, token_hash, \
         created_at, expires_at, accepted_at) VALUES ('{}', '{}', '{}', '{email_key}', '{}', '{}', \
         '{}', '{}', '{}', NULL)",
        invitation.id,
        invitation.account,
        invitation.email.as_str(),
        invitation.role.as_str(),
        invitation.invited_by.unwrap(),
        invitation.token_hash.as_str(),
        stored_time(invitation.created_at),
        stored_time(invitation.expires_at),
    ));
}
