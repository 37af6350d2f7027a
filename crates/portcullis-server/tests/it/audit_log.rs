//! The audit log people can read: names and emails instead of ids, one sentence per
//! event, filters by actor, action and time, paging, and CSV export; another account's
//! events never show.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::admin_api::admin_key;
use crate::admin_fixtures::with_key;
use crate::app;
use crate::support::env;

/// GET with an API key: status, content type, body.
macro_rules! get {
    ($app:expr, $key:expr, $uri:expr) => {{
        let (status, _, ctype, body) =
            crate::fetch!($app, with_key(TestRequest::get().uri($uri), $key));
        (status, ctype, body)
    }};
}

#[actix_web::test]
async fn events_read_as_sentences_with_names_and_can_be_filtered_and_exported() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let store = &env.state.store;
    let account = env.admin.account.id;
    // An IdP, then provisioning switched to SCIM by the admin.
    let idp = portcullis_domain::IdentityProvider {
        id: portcullis_domain::IdpId::from_uuid(uuid::Uuid::new_v4()),
        account,
        description: "Okta".into(),
        enabled: true,
        protocol: portcullis_domain::IdpProtocol::Oidc(portcullis_domain::OidcSettings {
            issuer: "https://idp.example.com".into(),
            client_id: "portcullis".into(),
            client_secret: "s3cret".into(),
            scopes: vec![],
            trust_unverified_email: true,
        }),
        created_at: Utc::now(),
    };
    store.insert_idp(&idp).unwrap();
    let admin = portcullis_app::Caller::operator(store.account(account).unwrap().unwrap());
    let admin = portcullis_app::Caller {
        via: portcullis_app::Via::Session {
            user: env.admin.admin.clone(),
            session: portcullis_domain::SessionId::from_uuid(uuid::Uuid::new_v4()),
            method: portcullis_domain::AuthMethod::Password,
        },
        ..admin
    };
    let change = portcullis_app::accounts::AccountChange {
        provisioning: Some(portcullis_domain::ProvisioningMode::Scim),
        ..Default::default()
    };
    portcullis_app::accounts::update(store, &admin, change, Utc::now()).unwrap();

    let (s, _, body) = get!(
        app,
        &key,
        "/api/v1/audit?action=account.provisioning.changed"
    );
    assert_eq!(s, StatusCode::OK, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(
        events[0]["sentence"],
        "admin@localhost switched provisioning to SCIM"
    );
    assert_eq!(events[0]["actor_name"], "admin@localhost");

    // A family of actions, an actor by email, a time range.
    let (_, _, body) = get!(app, &key, "/api/v1/audit?action=account.");
    let all: Value = serde_json::from_str(&body).unwrap();
    assert!(all["events"].as_array().unwrap().len() >= 2, "{body}");
    assert!(all["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("account.")));
    let (_, _, body) = get!(app, &key, "/api/v1/audit?actor=admin@localhost");
    let mine: Value = serde_json::from_str(&body).unwrap();
    assert!(
        mine["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_name"] == "admin@localhost"),
        "{body}"
    );
    let future = (Utc::now() + Duration::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let (_, _, body) = get!(app, &key, &format!("/api/v1/audit?since={future}"));
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["events"],
        serde_json::json!([])
    );
    let (_, _, body) = get!(app, &key, "/api/v1/audit?limit=1&offset=1");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (s, _, _) = get!(app, &key, "/api/v1/audit?actor=nobody@localhost");
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = get!(app, &key, "/api/v1/audit?format=xml");
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // CSV, parsed back.
    let (s, ctype, body) = get!(
        app,
        &key,
        "/api/v1/audit?format=csv&action=account.provisioning.changed"
    );
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let mut rows = csv::Reader::from_reader(body.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let sentence = headers.iter().position(|h| h == "sentence").unwrap();
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        &records[0][sentence],
        "admin@localhost switched provisioning to SCIM"
    );

    // Another account's admin sees none of it.
    let other =
        crate::support::ops::create_account(store, "other", "Other", "o@other.test", Utc::now())
            .unwrap();
    let (_, other_key) = crate::support::ops::create_api_key(
        store,
        &other.account,
        &other.admin,
        "other",
        portcullis_domain::Actor::System,
        Utc::now(),
    )
    .unwrap();
    let (_, _, body) = get!(
        app,
        other_key.expose(),
        "/api/v1/audit?action=account.provisioning.changed"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["events"],
        serde_json::json!([])
    );
}
