//! SCIM test environments: an account provisioning over SCIM (an IdP, provisioning mode
//! SCIM, a bot's API key) and a second such account, on SQLite and — when
//! `PORTCULLIS_TEST_POSTGRES_URL` is set — on a fresh PostgreSQL schema.

use crate::support::ops;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis_domain::{
    Account, Actor, IdentityProvider, IdpId, IdpProtocol, OidcSettings, ProvisioningMode, User,
};
use portcullis_server::config::Config;
use portcullis_server::state::AppState;
use portcullis_store::Store;
use serde_json::Value;
use uuid::Uuid;

/// Where a test database lives, removed on drop.
pub enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, schema } = self {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE")).execute(&mut admin);
            }
        }
    }
}

/// One account ready for SCIM (and a second one, for cross-tenant checks).
pub struct ScimEnv {
    pub state: AppState,
    pub backend: &'static str,
    pub account: Account,
    pub admin: User,
    pub token: String,
    pub other_token: String,
    _guard: Guard,
}

pub const PUBLIC_URL: &str = "https://portcullis.test";
pub const BASE: &str = "/scim/v2";
/// 32 bytes, base64: OIDC client secrets are sealed at rest (required on PostgreSQL).
const TEST_ENCRYPTION_KEY: &str = "c2NpbS10ZXN0LWtleS0zMi1ieXRlcy1sb25nLi4uLi4=";

/// Switches SCIM on for an account: an OIDC IdP, then provisioning mode SCIM.
pub fn enable_scim(store: &Store, account: &Account) -> Account {
    let idp = IdentityProvider {
        id: IdpId::from_uuid(Uuid::new_v4()),
        account: account.id,
        description: "Okta".into(),
        enabled: true,
        protocol: IdpProtocol::Oidc(OidcSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "portcullis".into(),
            client_secret: "s3cret".into(),
            scopes: vec![],
            trust_unverified_email: true,
        }),
        created_at: Utc::now(),
    };
    store.insert_idp(&idp).unwrap();
    let mut account = account.clone();
    account.provisioning = ProvisioningMode::Scim;
    store.update_account(&account).unwrap();
    account
}

/// A bot's API key for an account.
pub fn bot_key(store: &Store, account: &Account, name: &str) -> String {
    let bot = ops::create_bot(store, account, name, Utc::now()).unwrap();
    let (_, secret) =
        ops::create_api_key(store, account, &bot, name, Actor::System, Utc::now()).unwrap();
    secret.expose().to_owned()
}

fn build(url: String, guard: Guard, backend: &'static str, rate: &str) -> ScimEnv {
    build_with(url, guard, backend, rate, &[])
}

/// [`build`] with more configuration variables.
fn build_with(
    url: String,
    guard: Guard,
    backend: &'static str,
    rate: &str,
    extra: &[(&str, String)],
) -> ScimEnv {
    let rate = rate.to_owned();
    let config = Config::load(|name| match name {
        "PORTCULLIS_DATABASE_URL" => Some(url.clone()),
        "PORTCULLIS_PUBLIC_URL" => Some(PUBLIC_URL.to_owned()),
        "PORTCULLIS_SCIM_RATE_LIMIT" => Some(rate.clone()),
        "PORTCULLIS_ENCRYPTION_KEY" => Some(TEST_ENCRYPTION_KEY.to_owned()),
        other => extra
            .iter()
            .find(|(n, _)| *n == other)
            .map(|(_, v)| v.clone()),
    })
    .unwrap();
    let state = portcullis_server::prepare(config).unwrap();
    let store = &state.store;
    let now = Utc::now();
    let created = ops::create_account(store, "acme", "Acme", "ada@acme.test", now).unwrap();
    let mut admin = created.admin.clone();
    admin.display_name = "Ada Lovelace".into();
    store.update_user(&admin).unwrap();
    let account = enable_scim(store, &created.account);
    let token = bot_key(store, &account, "okta");
    let other = ops::create_account(store, "other", "Other", "admin@other.test", now).unwrap();
    let other_account = enable_scim(store, &other.account);
    let other_token = bot_key(store, &other_account, "entra");
    ScimEnv {
        state,
        backend,
        account,
        admin,
        token,
        other_token,
        _guard: guard,
    }
}

/// A SQLite environment with the given SCIM rate limit (requests per second; "0": off).
pub fn sqlite_env_with_rate(rate: &str) -> ScimEnv {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scim.db");
    build(
        db.to_str().unwrap().to_owned(),
        Guard::Sqlite(dir),
        "sqlite",
        rate,
    )
}

/// A fresh PostgreSQL schema's URL and what drops it, when the test database is
/// configured.
pub fn postgres_database() -> Option<(String, Guard)> {
    let admin_url = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let schema = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .unwrap();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
    Some((url, Guard::Postgres { admin_url, schema }))
}

/// The encryption key of the test servers (required on PostgreSQL).
pub fn test_encryption_key() -> &'static str {
    TEST_ENCRYPTION_KEY
}

/// A PostgreSQL environment on a fresh schema, when the test database is configured.
pub fn postgres_env() -> Option<ScimEnv> {
    let (url, guard) = postgres_database()?;
    Some(build(url, guard, "postgres", "0"))
}

/// [`envs`] with more configuration variables.
pub fn envs_with(extra: &[(&str, String)]) -> Vec<ScimEnv> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scim.db");
    let sqlite = build_with(
        db.to_str().unwrap().to_owned(),
        Guard::Sqlite(dir),
        "sqlite",
        "0",
        extra,
    );
    let mut out = vec![sqlite];
    if let Some((url, guard)) = postgres_database() {
        out.push(build_with(url, guard, "postgres", "0", extra));
    }
    out
}

/// SQLite always, PostgreSQL when configured (a note is printed otherwise).
pub fn envs() -> Vec<ScimEnv> {
    let mut out = vec![sqlite_env_with_rate("0")];
    match postgres_env() {
        Some(env) => out.push(env),
        None => eprintln!(
            "note: PORTCULLIS_TEST_POSTGRES_URL is not set; SCIM tests ran on SQLite only"
        ),
    }
    out
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status (as a string) and scimType.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status.to_string(), "{}", self.text);
        assert_eq!(self.body["scimType"].as_str(), scim_type, "{}", self.text);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            self.text
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/scim+json")),
            "{:?}",
            self.headers
        );
    }
}

/// Sends a request and reads the whole response.
pub async fn send<S, R, B>(app: &S, req: R) -> Resp
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let resp = actix_web::test::call_service(app, req).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = actix_web::test::read_body(resp).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// A request as Okta's SPEC test sends it (its GET headers, from a fixed address).
pub fn okta(method: actix_web::http::Method, path: &str, auth: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("{BASE}{path}"))
        .peer_addr("203.0.113.7:40000".parse().unwrap())
        .insert_header(("Accept", "application/scim+json"))
        .insert_header(("Accept-Charset", "utf-8"))
        .insert_header(("Content-Type", "application/scim+json; charset=utf-8"))
        .insert_header(("User-Agent", "OKTA SCIM Integration"))
        .insert_header(("Authorization", auth.to_owned()))
}

/// A JSON request with a bearer key.
pub fn req(
    method: actix_web::http::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> TestRequest {
    let mut r = TestRequest::default()
        .method(method)
        .uri(&format!("{BASE}{path}"))
        .peer_addr("203.0.113.7:40000".parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {token}")));
    if let Some(body) = body {
        r = r
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload(body.to_string());
    }
    r
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
