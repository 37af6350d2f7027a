//! API keys carry scopes: `scim` keys call only `/scim/v2`, `admin` keys only `/api/v1`.
//! A key used outside its scopes is refused (403, in the protocol's own error format) and
//! the refusal is audited with the key and the route; nothing is changed.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use chrono::Utc;
use portcullis_app::{api_keys, Caller};
use portcullis_domain::{Scope, Scopes};
use serde_json::{json, Value};

use crate::admin_fixtures::with_key;
use crate::scim_support::{envs, req, send, ScimEnv};
use crate::{app, call};

/// A key of the account's admin with `scopes`.
fn key(env: &ScimEnv, scopes: Scopes) -> String {
    let operator = Caller::operator(env.account.clone());
    let (_, _, secret) = api_keys::create(
        &env.state.store,
        &operator,
        "scoped",
        Some(env.admin.id),
        scopes,
        Utc::now(),
    )
    .unwrap();
    secret.expose().to_owned()
}

fn refusals(env: &ScimEnv) -> Vec<Value> {
    env.state
        .store
        .list_audit(env.account.id, 200, 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "api_key.refused")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

#[actix_web::test]
async fn a_scim_key_cannot_touch_the_admin_api() {
    for env in envs() {
        let app = app!(env);
        let scim = key(&env, Scopes::only(Scope::Scim));
        let store = &env.state.store;
        let (keys_before, members_before) = (
            store.list_api_keys(env.account.id).unwrap().len(),
            store.user(env.account.id, env.admin.id).unwrap(),
        );
        let member = env.admin.id.to_string();
        let attempts: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, "/api/v1/members".into(), None),
            (Method::GET, "/api/v1/account".into(), None),
            (
                Method::POST,
                "/api/v1/api-keys".into(),
                Some(json!({"description": "mine", "scopes": ["admin"]})),
            ),
            (
                Method::POST,
                "/api/v1/bots".into(),
                Some(json!({"name": "mine"})),
            ),
            (
                Method::POST,
                "/api/v1/invitations".into(),
                Some(json!({"email": "x@acme.test", "role": "admin"})),
            ),
            (
                Method::POST,
                "/api/v1/idps".into(),
                Some(json!({"description": "evil", "oidc": {"issuer": "https://evil.example"}})),
            ),
            (
                Method::POST,
                format!(
                    "/api/v1/idps/{}/rotate-sp-encryption-key",
                    uuid::Uuid::new_v4()
                ),
                None,
            ),
            (
                Method::PATCH,
                format!("/api/v1/members/{member}"),
                Some(json!({"role": "member"})),
            ),
            (
                Method::PATCH,
                "/api/v1/account".into(),
                Some(json!({"enforcement": "enforced"})),
            ),
            (
                Method::PUT,
                "/api/v1/ip-restrictions".into(),
                Some(json!({"ranges": ["10.0.0.0/8"]})),
            ),
        ];
        for (method, path, body) in attempts {
            let mut r = TestRequest::default().method(method.clone()).uri(&path);
            if let Some(body) = body {
                r = r.set_json(body);
            }
            let (status, body) = call!(app, with_key(r, &scim));
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
            assert_eq!(body["error"], "forbidden", "{body}");
            assert!(
                body["message"].as_str().unwrap().contains("admin scope"),
                "{body}"
            );
        }
        // Nothing was made or changed, and each refusal is in the audit log.
        assert_eq!(
            store.list_api_keys(env.account.id).unwrap().len(),
            keys_before
        );
        assert_eq!(
            store.user(env.account.id, env.admin.id).unwrap(),
            members_before
        );
        let refused = refusals(&env);
        assert_eq!(refused.len(), 10, "{refused:?}");
        assert!(
            refused
                .iter()
                .any(|d| d["route"] == "PATCH /api/v1/account"),
            "{refused:?}"
        );
        assert!(refused
            .iter()
            .all(|d| d["needs"] == "admin" && d["scopes"] == "scim"));
        // The same key provisions over SCIM.
        let r = send(&app, req(Method::GET, "/Users", &scim, None).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

#[actix_web::test]
async fn an_admin_key_cannot_call_scim() {
    for env in envs() {
        let app = app!(env);
        let admin = key(&env, Scopes::only(Scope::Admin));
        let r = send(&app, req(Method::GET, "/Users", &admin, None).to_request()).await;
        r.assert_error(403, None);
        assert!(
            r.body["detail"].as_str().unwrap().contains("scim scope"),
            "{}",
            r.text
        );
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                &admin,
                Some(json!({"userName": "new@acme.test"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(403, None);
        let id = env.admin.id;
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{id}"), &admin, None).to_request(),
        )
        .await;
        r.assert_error(403, None);
        assert!(env
            .state
            .store
            .user_by_email(
                env.account.id,
                &portcullis_domain::Email::parse("new@acme.test").unwrap()
            )
            .unwrap()
            .is_none());
        let refused = refusals(&env);
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(
            refused.iter().any(|d| d["route"] == "POST /scim/v2/Users"),
            "{refused:?}"
        );
        // It manages the account.
        let (status, _) = call!(
            app,
            with_key(TestRequest::get().uri("/api/v1/members"), &admin)
        );
        assert_eq!(status, StatusCode::OK);
    }
}

#[actix_web::test]
async fn keys_are_made_with_scopes_and_old_keys_keep_full_access() {
    for env in envs() {
        let app = app!(env);
        let admin = key(&env, Scopes::only(Scope::Admin));
        let make = |body: Value| {
            with_key(
                TestRequest::post().uri("/api/v1/api-keys").set_json(body),
                &admin,
            )
        };
        for body in [
            json!({"description": "none"}),
            json!({"description": "empty", "scopes": []}),
            json!({"description": "unknown", "scopes": ["root"]}),
        ] {
            let (status, answer) = call!(app, make(body.clone()));
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
            assert!(
                answer["message"].as_str().unwrap().contains("scopes"),
                "{answer}"
            );
        }
        let (status, made) = call!(
            app,
            make(json!({"description": "Okta", "scopes": ["scim"]}))
        );
        assert_eq!(status, StatusCode::CREATED, "{made}");
        assert_eq!(made["key"]["scopes"], json!(["scim"]));
        assert_eq!(made["key"]["legacy_full_access"], false);
        let (_, both) = call!(
            app,
            make(json!({"description": "both", "scopes": ["admin", "scim"]}))
        );
        assert_eq!(both["key"]["scopes"], json!(["scim", "admin"]));

        // A key from before scopes (as migration 9 leaves it) works on both APIs and is
        // listed as one to replace.
        let legacy = key(&env, Scopes::FULL);
        let stored = env
            .state
            .store
            .api_key_by_hash(&portcullis_domain::SecretHash::of(&legacy))
            .unwrap()
            .unwrap();
        env.state
            .store
            .revoke_api_key(env.account.id, stored.id, Utc::now())
            .unwrap();
        let mut old = stored.clone();
        old.id = portcullis_domain::ApiKeyId::from_uuid(uuid::Uuid::new_v4());
        old.secret_hash = portcullis_domain::SecretHash::of("pcl_legacy_key_from_before_scopes_xx");
        old.revoked_at = None;
        old.legacy_full_access = true;
        env.state.store.insert_api_key(&old).unwrap();
        let legacy = "pcl_legacy_key_from_before_scopes_xx";
        let r = send(&app, req(Method::GET, "/Users", legacy, None).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let (status, list) = call!(
            app,
            with_key(TestRequest::get().uri("/api/v1/api-keys"), legacy)
        );
        assert_eq!(status, StatusCode::OK, "{list}");
        let listed = list["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == old.id.to_string())
            .unwrap()
            .clone();
        assert_eq!(
            (
                listed["legacy_full_access"].clone(),
                listed["scopes"].clone()
            ),
            (json!(true), json!(["scim", "admin"]))
        );
    }
}
