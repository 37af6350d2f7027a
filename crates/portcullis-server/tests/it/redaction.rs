//! Every `Debug` of a type that holds a password hash, a key or a client secret leaves it
//! out: each is printed here with a known secret inside, which must not appear.

use chrono::Utc;
use portcullis_domain::*;
use uuid::Uuid;

#[track_caller]
fn hides(value: &impl std::fmt::Debug, secrets: &[&str]) {
    let shown = format!("{value:?} {value:#?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{secret:?} shown in {shown}");
    }
}

#[test]
fn debug_never_prints_a_secret() {
    let now = Utc::now();
    let account = AccountId::from_uuid(Uuid::new_v4());
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$SECRETHASHVALUE";
    let user = User {
        password_hash: Some(hash.into()),
        ..User::bootstrap_admin(
            UserId::from_uuid(Uuid::new_v4()),
            account,
            Email::parse("a@acme.test").unwrap(),
            hash.into(),
            now,
        )
    };
    hides(&user, &[hash, "SECRETHASHVALUE"]);

    let secret = ApiKeySecret::from_random([7; 32]);
    let key_hash = secret.hash();
    let digest = key_hash.as_str().to_owned();
    hides(&secret, &[secret.expose()]);
    hides(&key_hash, &[&digest]);
    let key = ApiKey {
        id: ApiKeyId::from_uuid(Uuid::new_v4()),
        account,
        owner: user.id,
        description: "k".into(),
        prefix: secret.display_prefix(),
        secret_hash: key_hash.clone(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        scopes: Scopes::FULL,
        legacy_full_access: false,
    };
    hides(&key, &[&digest, secret.expose()]);
    let invitation = Invitation {
        id: InvitationId::from_uuid(Uuid::new_v4()),
        account,
        email: Email::parse("b@acme.test").unwrap(),
        role: Role::Member,
        invited_by: Some(user.id),
        token_hash: SecretHash::of("the-invitation-token"),
        created_at: now,
        expires_at: now,
        accepted_at: None,
        revoked_at: None,
    };
    hides(
        &invitation,
        &[SecretHash::of("the-invitation-token").as_str()],
    );

    let oidc = OidcSettings {
        issuer: "https://idp.example".into(),
        client_id: "client".into(),
        client_secret: "the-client-secret".into(),
        scopes: vec![],
        trust_unverified_email: false,
    };
    hides(&oidc, &["the-client-secret"]);
    let idp = IdentityProvider {
        id: IdpId::from_uuid(Uuid::new_v4()),
        account,
        description: "Okta".into(),
        enabled: true,
        protocol: IdpProtocol::Oidc(oidc),
        created_at: now,
    };
    hides(&idp, &["the-client-secret"]);
    let sp_key = SpKeyPair {
        private_key_pem: "-----BEGIN PRIVATE KEY-----\nTHEPRIVATEKEY\n-----END PRIVATE KEY-----"
            .into(),
        certificate: "MIIC".into(),
    };
    hides(&sp_key, &["THEPRIVATEKEY"]);

    let pending = portcullis_store::PendingLogin {
        id: "state".into(),
        idp: idp.id,
        browser_binding: "the-binding-hash".into(),
        nonce: Some("the-nonce".into()),
        pkce_verifier: Some("the-pkce-verifier".into()),
        return_to: None,
        expires_at: now,
    };
    hides(
        &pending,
        &["the-binding-hash", "the-nonce", "the-pkce-verifier"],
    );

    let created = portcullis_app::accounts::CreatedAccount {
        account: Account {
            id: account,
            slug: AccountSlug::parse("acme").unwrap(),
            name: "Acme".into(),
            enforcement: EnforcementPolicy::Mixed,
            provisioning: ProvisioningMode::Invite,
            api_ip_restrictions: IpRestrictions::none(),
            provision_only_verified_domains: false,
            created_at: now,
            suspended_at: None,
        },
        admin: user.clone(),
        password: "the-one-time-password".into(),
    };
    hides(&created, &["the-one-time-password", hash]);

    let credentials = portcullis_app::auth::Credentials::new(
        "pcl_the-bearer-token",
        "192.0.2.1".parse().unwrap(),
    );
    hides(
        &credentials,
        &[
            "pcl_the-bearer-token",
            SecretHash::of("pcl_the-bearer-token").as_str(),
        ],
    );

    let config = portcullis_server::config::Config::load(|name| match name {
        "PORTCULLIS_SESSION_KEY" => Some("the-session-key-of-at-least-32-chars".into()),
        "PORTCULLIS_ENCRYPTION_KEY" => Some("the-encryption-key".into()),
        "PORTCULLIS_SMTP_URL" => Some("smtps://user:the-smtp-password@mail.example".into()),
        "PORTCULLIS_DATABASE_URL" => Some("postgres://app:the-db-password@db/portcullis".into()),
        "PORTCULLIS_OPERATOR_TOKEN" => Some("the-operator-token-of-at-least-32-chars".into()),
        _ => None,
    })
    .unwrap();
    hides(
        &config,
        &[
            "the-session-key",
            "the-encryption-key",
            "the-smtp-password",
            "the-db-password",
            "the-operator-token",
        ],
    );
    hides(&portcullis_store::SecretCipher::new(&[9; 32]), &["9, 9"]);
}
