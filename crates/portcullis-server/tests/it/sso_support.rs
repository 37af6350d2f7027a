//! A live server on a loopback port with IdPs stored directly, and a "browser" (reqwest
//! with its own cookie jar, redirects followed by hand) for the SSO tests.

#![allow(dead_code)]

pub mod idp_process;
// The SSO crate's own test helpers (signing with xmlsec, the mock OP), shared rather
// than copied, so both crates test against the same fixtures.
#[path = "../../../portcullis-sso/tests/it/oidc_mock.rs"]
pub mod oidc_mock;
#[path = "../../../portcullis-sso/tests/it/saml_fixture.rs"]
pub mod saml_fixture;
#[path = "../../../portcullis-sso/tests/it/saml_logout_fixture.rs"]
pub mod saml_logout_fixture;

use std::io::Read as _;
use std::net::TcpListener;
use std::sync::Arc;

use crate::support::ops;
use base64::Engine as _;
use chrono::Utc;
use portcullis_app::accounts::CreatedAccount;
use portcullis_domain::{
    Account, AuthMethod, IdentityProvider, IdpId, IdpProtocol, OidcSettings, ProvisioningMode,
    SamlSettings,
};
use portcullis_server::config::Config;
use portcullis_server::state::AppState;
use reqwest::cookie::CookieStore as _;
use tempfile::TempDir;

use saml_fixture::{idp_key, Key, IDP_ENTITY};

/// A server listening on `base`, over a fresh SQLite database (or PostgreSQL schema).
pub struct Live {
    pub state: AppState,
    pub base: String,
    pub admin: CreatedAccount,
    _dir: TempDir,
    _database: Option<crate::scim_support::Guard>,
}

impl Live {
    /// A server over a fresh SQLite database.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db").to_str().unwrap().to_owned();
        Self::start_on(db, None, dir, &[]).await
    }

    /// A server over SQLite, and one over a fresh PostgreSQL schema when the test
    /// database is configured.
    pub async fn on_both() -> Vec<Self> {
        Self::on_both_with(&[]).await
    }

    /// [`Live::on_both`] with more configuration variables.
    pub async fn on_both_with(extra: &[(&str, String)]) -> Vec<Self> {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("test.db").to_str().unwrap().to_owned();
        let mut lives = vec![Self::start_on(db, None, dir, extra).await];
        if let Some((url, guard)) = crate::scim_support::postgres_database() {
            let dir = tempfile::tempdir().unwrap();
            lives.push(Self::start_on(url, Some(guard), dir, extra).await);
        }
        lives
    }

    async fn start_on(
        database_url: String,
        database: Option<crate::scim_support::Guard>,
        dir: TempDir,
        extra: &[(&str, String)],
    ) -> Self {
        let db = database_url;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config::load(|name| match name {
            "PORTCULLIS_DATABASE_URL" => Some(db.clone()),
            "PORTCULLIS_PUBLIC_URL" => Some(base.clone()),
            "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES" => Some("true".to_owned()),
            "PORTCULLIS_ENCRYPTION_KEY" => {
                Some(crate::scim_support::test_encryption_key().to_owned())
            }
            other => extra
                .iter()
                .find(|(n, _)| *n == other)
                .map(|(_, v)| v.clone()),
        })
        .unwrap();
        let state = portcullis_server::prepare(config).unwrap();
        let admin = ops::bootstrap_if_empty(&state.store, Utc::now())
            .unwrap()
            .unwrap();
        let app_state = state.clone();
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(portcullis_server::security_headers())
                .configure(portcullis_server::configure(app_state.clone()))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self {
            state,
            base,
            admin,
            _dir: dir,
            _database: database,
        }
    }

    pub fn account(&self) -> Account {
        self.state
            .store
            .account(self.admin.account.id)
            .unwrap()
            .unwrap()
    }

    pub fn set_provisioning(&self, mode: ProvisioningMode) {
        let mut account = self.account();
        account.provisioning = mode;
        self.state.store.update_account(&account).unwrap();
    }

    /// Stores a SAML IdP trusting `key` in the bootstrap account.
    pub fn saml_idp(&self, key: &Key, idp_initiated: bool) -> IdentityProvider {
        self.saml_idp_with(saml_settings(key, idp_initiated))
    }

    pub fn saml_idp_with(&self, settings: SamlSettings) -> IdentityProvider {
        self.insert_idp(
            self.admin.account.id,
            "Test SAML",
            IdpProtocol::Saml(settings),
        )
    }

    /// Stores an OIDC IdP at `issuer` in the bootstrap account.
    pub fn oidc_idp(&self, issuer: &str, client_id: &str, client_secret: &str) -> IdentityProvider {
        self.insert_idp(
            self.admin.account.id,
            "Test OIDC",
            IdpProtocol::Oidc(OidcSettings {
                issuer: issuer.into(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                scopes: vec![],
                trust_unverified_email: true,
            }),
        )
    }

    pub fn insert_idp(
        &self,
        account: portcullis_domain::AccountId,
        description: &str,
        protocol: IdpProtocol,
    ) -> IdentityProvider {
        let idp = IdentityProvider {
            id: IdpId::from_uuid(uuid::Uuid::new_v4()),
            account,
            description: description.into(),
            enabled: true,
            protocol,
            created_at: Utc::now(),
        };
        self.state.store.insert_idp(&idp).unwrap();
        idp
    }

    pub fn sp(&self, idp: &IdentityProvider) -> portcullis_sso::saml::SpConfig {
        portcullis_sso::saml::SpConfig::for_idp(&self.base, idp.id)
    }

    pub fn acs(&self, idp: &IdentityProvider) -> String {
        format!("{}/sso/saml/{}/acs", self.base, idp.id)
    }

    pub fn start_url(&self, idp: &IdentityProvider) -> String {
        format!("{}/a/default/sso/{}/start", self.base, idp.id)
    }

    /// The newest audit event with `action`, as (target, detail JSON).
    pub fn last_audit(&self, action: &str) -> Option<serde_json::Value> {
        self.state
            .store
            .list_audit(self.admin.account.id, 100, 0)
            .unwrap()
            .into_iter()
            .find(|e| e.action == action)
            .map(|e| serde_json::from_str(&e.detail).unwrap())
    }

    /// The reason code of the newest `login.failed` event.
    pub fn last_failure(&self) -> String {
        self.last_audit("login.failed")
            .map(|d| d["reason"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// How the browser's session was authenticated (`None`: no live session).
    pub fn session_method(&self, browser: &Browser) -> Option<AuthMethod> {
        let token = browser.cookie(&self.base, "portcullis_session")?;
        let id = self.state.keys.verify(&token)?;
        let session = self.state.store.session(id).unwrap()?;
        session.is_live(Utc::now()).then_some(session.method)
    }
}

/// An answer as a browser sees it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A browser: its own cookie jar, no automatic redirects.
pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            // Idle connections are dropped well before the server's 5 s keep-alive ends
            // them, so a request never races the server closing its connection (seen
            // as `IncompleteMessage` on a loaded machine after a slow test step).
            .pool_idle_timeout(std::time::Duration::from_secs(1))
            .build()
            .unwrap();
        Self { client, jar }
    }

    pub fn cookie(&self, base: &str, name: &str) -> Option<String> {
        let header = self.jar.cookies(&base.parse().unwrap())?;
        header.to_str().unwrap().split("; ").find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    }

    pub async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.text().await.unwrap();
        Answer {
            status,
            location,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Answer {
        Self::answer(self.client.get(url).send().await.unwrap()).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Answer {
        Self::answer(self.client.post(url).form(form).send().await.unwrap()).await
    }

    /// Whom `/api/v1/me` says is signed in.
    pub async fn me(&self, base: &str) -> Option<String> {
        let response = self
            .client
            .get(format!("{base}/api/v1/me"))
            .send()
            .await
            .unwrap();
        if !response.status().is_success() {
            return None;
        }
        let body: serde_json::Value = response.json().await.unwrap();
        Some(body["email"].as_str().unwrap().to_owned())
    }
}

/// The query parameters of a redirect URL.
pub fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The `ID` of the AuthnRequest in a HTTP-Redirect binding URL.
pub fn authn_request_id(redirect: &str) -> String {
    let q = query(redirect);
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(&q["SAMLRequest"])
        .unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..start + xml[start..].find('"').unwrap()].to_owned()
}

/// Starts an SP-initiated SAML login in `browser`; returns the request id.
pub async fn start_saml(live: &Live, browser: &Browser, idp: &IdentityProvider) -> String {
    let answer = browser.get(&live.start_url(idp)).await;
    assert_eq!(answer.status, 303, "{answer:?}");
    let location = answer.location.unwrap();
    assert!(location.starts_with("https://idp.example.test/saml/sso?"));
    authn_request_id(&location)
}

/// A response signed by the fixture IdP answering `request_id` for `email`.
pub fn saml_response(
    live: &Live,
    idp: &IdentityProvider,
    request_id: Option<&str>,
    email: &str,
) -> saml_fixture::Params {
    saml_response_at(&live.base, idp, request_id, email)
}

/// [`saml_response`] for a server at `base` (one not started as a [`Live`]).
pub fn saml_response_at(
    base: &str,
    idp: &IdentityProvider,
    request_id: Option<&str>,
    email: &str,
) -> saml_fixture::Params {
    let sp = portcullis_sso::saml::SpConfig::for_idp(base, idp.id);
    let now = saml_fixture::wall_clock();
    let mut p = match request_id {
        Some(id) => {
            let mut p = saml_fixture::Params::valid(&sp, now);
            p.in_response_to = Some(id.into());
            p.sc_in_response_to = Some(id.into());
            p
        }
        None => saml_fixture::Params::unsolicited(&sp, now),
    };
    p.name_id = email.into();
    p.attributes = vec![("email".into(), email.into())];
    p.assertion_id = format!("_a{}", uuid::Uuid::new_v4().simple());
    p.response_id = format!("_r{}", uuid::Uuid::new_v4().simple());
    p.key = idp_key();
    p
}

/// The settings of a SAML IdP trusting `key` (no signing, encryption or single logout).
pub fn saml_settings(key: &Key, idp_initiated: bool) -> SamlSettings {
    SamlSettings {
        idp_entity_id: IDP_ENTITY.into(),
        sso_url: "https://idp.example.test/saml/sso".into(),
        signing_certificates: vec![key.cert_b64.clone()],
        idp_initiated,
        metadata_url: None,
        metadata_xml: None,
        email_attribute: None,
        name_attribute: None,
        sign_authn_requests: false,
        sp_signing_key: None,
        encrypted_assertions: portcullis_domain::AssertionEncryption::Off,
        sp_encryption_keys: None,
        slo_url: None,
    }
}
