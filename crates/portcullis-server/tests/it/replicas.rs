//! Two `portcullis` processes on one PostgreSQL database behave as one service: nothing
//! that must be shared lives in a replica's memory. Runs when `PORTCULLIS_TEST_POSTGRES_URL`
//! is set (CI sets it), in a schema of its own.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::ops;
use base64::Engine as _;
use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use portcullis_domain::{Actor, IdentityProvider, IdpId, IdpProtocol, ProvisioningMode};
use portcullis_sso::saml::SpConfig;
use portcullis_store::Store;
use serde_json::{json, Value};

use crate::sso_support::saml_fixture::{self, idp_key};
use crate::sso_support::{authn_request_id, Browser};

const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(url: &str, port: u16, public: &str, key: &str) -> Replica {
    let child = Command::new(BIN)
        .arg("serve")
        .env("PORTCULLIS_DATABASE_URL", url)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_PUBLIC_URL", public)
        .env("PORTCULLIS_ENCRYPTION_KEY", key)
        .env("PORTCULLIS_SCIM_RATE_LIMIT", "0")
        .env("PORTCULLIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(client: &reqwest::Client, replica: &Replica) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", replica.base)).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} did not become ready",
            replica.base
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fresh_schema(admin_url: &str) -> (String, String) {
    let schema = format!("rep_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::establish(admin_url).unwrap();
    diesel::sql_query(format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .unwrap();
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    (
        schema.clone(),
        format!("{admin_url}{sep}options=-csearch_path%3D{schema}"),
    )
}

fn scim_user(email: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email, "displayName": "Replica Person", "active": true,
        "name": {"givenName": "Replica", "familyName": "Person"},
        "emails": [{"value": email, "type": "work", "primary": true}]
    })
}

#[tokio::test]
async fn two_replicas_on_one_postgres_database() {
    let Some(admin_url) = std::env::var("PORTCULLIS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipped: set PORTCULLIS_TEST_POSTGRES_URL to run the two-replica test");
        return;
    };
    let (schema, url) = fresh_schema(&admin_url);
    let key = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
    let (port_a, port_b) = (free_port(), free_port());
    // Both replicas sit behind one public URL, as behind a load balancer.
    let public = format!("http://127.0.0.1:{port_a}");

    // Both start at once on an empty schema: one migrates, the other waits.
    let a = spawn(&url, port_a, &public, &key);
    let b = spawn(&url, port_b, &public, &key);
    // No pooled connections: an idle keep-alive connection closed by the server between
    // two steps would fail a POST that was never sent.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    wait_ready(&http, &a).await;
    wait_ready(&http, &b).await;

    // An account with a SAML IdP (IdP-initiated allowed), SCIM provisioning and a bot key.
    let store = Store::connect(&url)
        .unwrap()
        .with_encryption_key(&[5u8; 32]);
    let now = Utc::now();
    let created = ops::create_account(&store, "rep", "Replicas", "admin@rep.test", now).unwrap();
    let idp = IdentityProvider {
        id: IdpId::from_uuid(uuid::Uuid::new_v4()),
        account: created.account.id,
        description: "Fixture IdP".into(),
        enabled: true,
        protocol: IdpProtocol::Saml(crate::sso_support::saml_settings(idp_key(), true)),
        created_at: now,
    };
    store.insert_idp(&idp).unwrap();
    let mut account = created.account.clone();
    account.provisioning = ProvisioningMode::Scim;
    store.update_account(&account).unwrap();
    let bot = ops::create_bot(&store, &account, "scim", now).unwrap();
    let (_, secret) =
        ops::create_api_key(&store, &account, &bot, "scim", Actor::System, now).unwrap();
    let bearer = format!("Bearer {}", secret.expose());

    // 1. A member created through SCIM on A is read on B.
    let resp = http
        .post(format!("{}/scim/v2/Users", a.base))
        .header("Authorization", &bearer)
        .json(&scim_user("pat@rep.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pat: Value = resp.json().await.unwrap();
    let pat_id = pat["id"].as_str().unwrap().to_owned();
    let resp = http
        .get(format!("{}/scim/v2/Users/{pat_id}", b.base))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["userName"],
        "pat@rep.test"
    );

    // 2. Concurrent creates of one userName on both replicas: exactly one member.
    for round in 0..5 {
        let email = format!("race{round}@rep.test");
        let create = |base: String| {
            let (http, bearer, body) = (http.clone(), bearer.clone(), scim_user(&email));
            async move {
                http.post(format!("{base}/scim/v2/Users"))
                    .header("Authorization", bearer)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (x, y) = tokio::join!(create(a.base.clone()), create(b.base.clone()));
        let mut statuses = [x, y];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
    }

    // 3. A SAML login started on A completes on B.
    let browser = Browser::new();
    let start = browser
        .get(&format!("{}/a/rep/sso/{}/start", a.base, idp.id))
        .await;
    assert_eq!(start.status, 303, "{start:?}");
    let request_id = authn_request_id(start.location.as_deref().unwrap());
    let sp = SpConfig::for_idp(&public, idp.id);
    let mut params = saml_fixture::Params::valid(&sp, saml_fixture::wall_clock());
    params.in_response_to = Some(request_id.clone());
    params.sc_in_response_to = Some(request_id);
    params.name_id = "pat@rep.test".into();
    params.attributes = vec![("email".into(), "pat@rep.test".into())];
    params.assertion_id = format!("_a{}", uuid::Uuid::new_v4().simple());
    params.key = idp_key();
    let acs = |base: &str| format!("{base}/sso/saml/{}/acs", idp.id);
    let answer = browser
        .post_form(
            &acs(&b.base),
            &[("SAMLResponse", &params.b64()), ("RelayState", "x")],
        )
        .await;
    assert_eq!(answer.status, 303, "{answer:?}");
    assert_eq!(browser.me(&b.base).await.as_deref(), Some("pat@rep.test"));
    assert_eq!(
        browser.me(&a.base).await.as_deref(),
        Some("pat@rep.test"),
        "the session is valid on A too"
    );

    // 4. An assertion consumed on one replica is refused as a replay on the other.
    let mut unsolicited = saml_fixture::Params::unsolicited(&sp, saml_fixture::wall_clock());
    unsolicited.name_id = "pat@rep.test".into();
    unsolicited.attributes = vec![("email".into(), "pat@rep.test".into())];
    unsolicited.assertion_id = format!("_a{}", uuid::Uuid::new_v4().simple());
    unsolicited.key = idp_key();
    let response = unsolicited.b64();
    let first = Browser::new()
        .post_form(
            &acs(&a.base),
            &[("SAMLResponse", &response), ("RelayState", "x")],
        )
        .await;
    assert_eq!(first.status, 303, "{first:?}");
    let replay = Browser::new()
        .post_form(
            &acs(&b.base),
            &[("SAMLResponse", &response), ("RelayState", "x")],
        )
        .await;
    assert_eq!(replay.status, 401, "{replay:?}");
    assert!(replay.body.contains("assertion_replayed"), "{replay:?}");
    let audit = store.list_audit(account.id, 50, 0).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "login.failed" && e.detail.contains("replay")),
        "the refusal is audited as a replay"
    );

    // 5. Deactivation on one replica ends the session on the other at once.
    let resp = http
        .patch(format!("{}/scim/v2/Users/{pat_id}", a.base))
        .header("Authorization", &bearer)
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        browser.me(&b.base).await,
        None,
        "deactivated on A, signed out on B"
    );

    // 6. Logout on one replica ends the session on the other.
    let admin = reqwest::Client::builder()
        .cookie_store(true)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let login: Value = admin
        .post(format!("{}/api/v1/login", a.base))
        .json(&json!({"account": "rep", "email": "admin@rep.test", "password": created.password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = |base: String| {
        let admin = admin.clone();
        async move {
            admin
                .get(format!("{base}/api/v1/me"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(b.base.clone()).await, 200);
    let out = admin
        .post(format!("{}/api/v1/logout", b.base))
        .header("X-CSRF-Token", login["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        me(a.base.clone()).await,
        401,
        "logged out on B, signed out on A"
    );

    drop((a, b));
    let mut conn = PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .unwrap();
}
