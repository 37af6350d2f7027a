//! Test databases and fixtures.

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use portcullis_domain::*;
use portcullis_store::{Backend, ScimUserRow, Store};
use uuid::Uuid;

/// Declares each test once and runs its body on every backend:
/// `fn name(store: &Store) { ... }` becomes `name::sqlite` and `name::postgres`.
macro_rules! backend_tests {
    ($( fn $name:ident($store:ident : &Store) $body:block )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn run($store: &Store) $body

                #[test]
                fn sqlite() {
                    let db = $crate::support::TestDb::sqlite();
                    run(&db.store);
                }

                #[test]
                fn postgres() {
                    if let Some(db) = $crate::support::TestDb::postgres() {
                        run(&db.store);
                    }
                }
            }
        )*
    };
}

pub const PG_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// A migrated store on a database of its own, removed on drop.
pub struct TestDb {
    pub store: Store,
    #[allow(dead_code)]
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres { admin_url: String, schema: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let db = Self::sqlite_unmigrated();
        db.store.migrate().unwrap();
        db
    }

    /// `None` (the test is skipped) unless `PORTCULLIS_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<TestDb> {
        let db = Self::postgres_unmigrated()?;
        db.store.migrate().unwrap();
        Some(db)
    }

    pub fn sqlite_unmigrated() -> TestDb {
        let path = std::env::temp_dir().join(format!("portcullis-store-{}.db", Uuid::new_v4()));
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect_with_pool_size(&url, 4).unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        TestDb {
            store,
            url,
            cleanup: Cleanup::Sqlite(path),
        }
    }

    pub fn postgres_unmigrated() -> Option<TestDb> {
        let admin_url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let schema = format!("t_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .unwrap();
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        // Named after the schema, so a test can find its own connections in
        // `pg_stat_activity`.
        let url = format!(
            "{admin_url}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
        );
        let store = Store::connect_with_pool_size(&url, 4).unwrap();
        assert_eq!(store.backend(), Backend::Postgres);
        Some(TestDb {
            store,
            url,
            cleanup: Cleanup::Postgres { admin_url, schema },
        })
    }
}

/// One row of [`TestDb::raw_texts`].
#[derive(diesel::QueryableByName)]
struct RawText {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

impl TestDb {
    /// Runs `sql`, which selects one nullable text column named `value`, on a connection
    /// of its own past the store: to see what is really stored.
    #[allow(dead_code)]
    pub fn raw_texts(&self, sql: &str) -> Vec<Option<String>> {
        let rows: Vec<RawText> = match &self.cleanup {
            Cleanup::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                diesel::sql_query(sql).load(&mut conn).unwrap()
            }
            Cleanup::Postgres { .. } => {
                let mut conn = PgConnection::establish(&self.url).unwrap();
                diesel::sql_query(sql).load(&mut conn).unwrap()
            }
        };
        rows.into_iter().map(|r| r.value).collect()
    }

    /// Runs a statement past the store (to plant what the store itself never writes).
    #[allow(dead_code)]
    pub fn raw_execute(&self, sql: &str) -> usize {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap()
            }
            Cleanup::Postgres { .. } => {
                let mut conn = PgConnection::establish(&self.url).unwrap();
                diesel::sql_query(sql).execute(&mut conn).unwrap()
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, schema } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
                        .execute(&mut admin);
                }
            }
        }
    }
}

/// A fixed instant plus `secs` seconds, with a fraction to the millisecond (members and
/// groups are stored to the millisecond, the precision SCIM publishes; sub-millisecond
/// round trips of other times are checked with [`t_micros`]).
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
        + Duration::seconds(secs)
        + Duration::milliseconds(123)
}

/// [`t`] with a fraction to the microsecond, the precision most times are stored at.
pub fn t_micros(secs: i64) -> DateTime<Utc> {
    t(secs) + Duration::microseconds(456)
}

macro_rules! new_id {
    ($($name:ident: $ty:ident),*) => {$(
        #[allow(dead_code)]
        pub fn $name() -> portcullis_domain::$ty {
            portcullis_domain::$ty::from_uuid(Uuid::new_v4())
        }
    )*};
}

/// Fresh random ids.
pub mod fresh {
    use uuid::Uuid;
    new_id!(
        account: AccountId,
        user: UserId,
        idp: IdpId,
        api_key: ApiKeyId,
        session: SessionId,
        invitation: InvitationId,
        audit: AuditEventId,
        group: GroupId
    );
}

pub fn account(slug: &str) -> Account {
    Account {
        id: fresh::account(),
        slug: AccountSlug::parse(slug).unwrap(),
        name: format!("The {slug} account"),
        enforcement: EnforcementPolicy::Mixed,
        provisioning: ProvisioningMode::Invite,
        api_ip_restrictions: IpRestrictions::none(),
        provision_only_verified_domains: false,
        created_at: t(0),
        suspended_at: None,
    }
}

/// Creates an account and returns it.
pub fn seed_account(store: &Store, slug: &str) -> Account {
    let a = account(slug);
    store.create_account(&a, None).unwrap();
    a
}

pub fn user(account: &Account, email: &str) -> User {
    User {
        id: fresh::user(),
        account: account.id,
        email: Email::parse(email).unwrap(),
        display_name: format!("Name of {email}"),
        kind: UserKind::Human,
        role: Role::Member,
        active: true,
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        external_id: None,
        origin: UserOrigin::Invite,
        created_at: t(1),
        updated_at: t(1),
    }
}

/// Inserts a user and returns it.
pub fn seed_user(store: &Store, account: &Account, email: &str) -> User {
    let u = user(account, email);
    store.insert_user(&u).unwrap();
    u
}

pub fn saml_idp(account: &Account) -> IdentityProvider {
    IdentityProvider {
        id: fresh::idp(),
        account: account.id,
        description: "Okta".into(),
        enabled: true,
        protocol: IdpProtocol::Saml(SamlSettings {
            idp_entity_id: "http://www.okta.com/exk1".into(),
            sso_url: "https://acme.okta.com/app/sso/saml".into(),
            signing_certificates: vec!["MIIC-one".into(), "MIIC-two".into()],
            idp_initiated: true,
            metadata_url: Some("https://acme.okta.com/metadata".into()),
            metadata_xml: None,
            email_attribute: Some("email".into()),
            name_attribute: None,
            sign_authn_requests: false,
            sp_signing_key: None,
            encrypted_assertions: portcullis_domain::AssertionEncryption::Off,
            sp_encryption_keys: None,
            slo_url: None,
        }),
        created_at: t(2),
    }
}

/// A stand-in SP key pair (the store neither parses nor checks it).
pub fn sp_key(n: u8) -> SpKeyPair {
    SpKeyPair {
        private_key_pem: format!(
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC{n:02}c2VjcmV0\n-----END PRIVATE KEY-----\n"
        ),
        certificate: format!("MIIC-sp-certificate-{n}"),
    }
}

pub fn oidc_idp(account: &Account) -> IdentityProvider {
    IdentityProvider {
        id: fresh::idp(),
        account: account.id,
        description: "Entra ID".into(),
        enabled: false,
        protocol: IdpProtocol::Oidc(OidcSettings {
            issuer: "https://login.microsoftonline.com/tenant/v2.0".into(),
            client_id: "client".into(),
            client_secret: "s3cret".into(),
            scopes: vec!["email".into(), "profile".into()],
            trust_unverified_email: true,
        }),
        created_at: t(3),
    }
}

pub fn session(user: &User, expires_at: DateTime<Utc>) -> Session {
    Session {
        id: fresh::session(),
        account: user.account,
        user: user.id,
        method: AuthMethod::Password,
        created_at: t(5),
        expires_at,
        revoked_at: None,
    }
}

pub fn api_key(owner: &User, secret: &str) -> ApiKey {
    ApiKey {
        id: fresh::api_key(),
        account: owner.account,
        owner: owner.id,
        description: "SCIM from Okta".into(),
        prefix: "pcl_abcdefgh".into(),
        secret_hash: SecretHash::of(secret),
        created_at: t(6),
        last_used_at: None,
        revoked_at: None,
        scopes: Scopes::FULL,
        legacy_full_access: false,
    }
}

/// An audit event by the system in `account`, for the store calls that write one with a
/// change.
pub fn audit_event(account: &Account, action: &str) -> AuditEvent {
    AuditEvent {
        id: fresh::audit(),
        account: account.id,
        actor: Actor::System,
        action: action.into(),
        target: None,
        ip: None,
        detail: "{}".into(),
        at: t(50),
    }
}

/// A member made by SCIM, created at `created` (seconds), with their SCIM JSON.
pub fn scim_row(account: &Account, email: &str, created: i64) -> ScimUserRow {
    let mut u = user(account, email);
    u.origin = UserOrigin::Scim;
    u.password_hash = None;
    u.created_at = t(created);
    u.updated_at = t(created);
    ScimUserRow {
        user: u,
        scim_json: Some(format!("{{\"userName\":\"{email}\"}}")),
        scim_view: Some(format!("{{\"title\":\"{email}\"}}")),
        version: 1,
    }
}
