//! Invitations can be revoked: by an admin (API and dashboard), and with the member who
//! made them when that member is deactivated or deleted, on every path. A revoked link
//! answers 410 with a page saying so.

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use chrono::Utc;
use portcullis_app::Caller;
use portcullis_domain::{Email, Scopes, UserId};
use serde_json::json;

use crate::admin_fixtures::with_key;
use crate::scim_support::{envs, req, send, ScimEnv};
use crate::{app, call};

/// A second admin of the account, with an admin key of their own.
fn second_admin(env: &ScimEnv) -> (UserId, String) {
    let mut second = env.admin.clone();
    second.id = UserId::from_uuid(uuid::Uuid::new_v4());
    second.email = Email::parse("second-admin@acme.test").unwrap();
    env.state.store.insert_user(&second).unwrap();
    let operator = Caller::operator(env.account.clone());
    let (_, _, secret) = portcullis_app::api_keys::create(
        &env.state.store,
        &operator,
        "second",
        Some(second.id),
        Scopes::only(portcullis_domain::Scope::Admin),
        Utc::now(),
    )
    .unwrap();
    (second.id, secret.expose().to_owned())
}

/// An admin-scoped key of the account's first admin.
fn admin_key(env: &ScimEnv) -> String {
    let operator = Caller::operator(env.account.clone());
    let (_, _, secret) = portcullis_app::api_keys::create(
        &env.state.store,
        &operator,
        "first",
        Some(env.admin.id),
        Scopes::only(portcullis_domain::Scope::Admin),
        Utc::now(),
    )
    .unwrap();
    secret.expose().to_owned()
}

/// Invites `email` with `key`; the invitation's id and its link's token.
macro_rules! invite {
    ($app:expr, $key:expr, $email:expr) => {{
        let (status, body) = call!(
            $app,
            with_key(
                TestRequest::post()
                    .uri("/api/v1/invitations")
                    .set_json(json!({"email": $email, "role": "member"})),
                $key
            )
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let token = body["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        (body["invitation"]["id"].as_str().unwrap().to_owned(), token)
    }};
}

/// The status and page of an invitation link.
macro_rules! link {
    ($app:expr, $token:expr) => {{
        let resp = test::call_service(
            &$app,
            TestRequest::get()
                .uri(&format!("/invite/{}", $token))
                .to_request(),
        )
        .await;
        let status = resp.status();
        let body = String::from_utf8_lossy(&test::read_body(resp).await).into_owned();
        (status, body)
    }};
}

#[actix_web::test]
async fn admins_revoke_invitations_and_revoked_links_are_gone() {
    for env in envs() {
        let app = app!(env);
        let (_, key) = second_admin(&env);
        let (id, token) = invite!(app, &key, "new@acme.test");
        assert_eq!(link!(app, &token).0, StatusCode::OK);
        let revoke = || {
            with_key(
                TestRequest::delete().uri(&format!("/api/v1/invitations/{id}")),
                &key,
            )
        };
        let (status, _) = call!(app, revoke());
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, page) = link!(app, &token);
        assert_eq!(status, StatusCode::GONE, "{page}");
        assert!(
            page.contains("revoked") && page.starts_with("<!DOCTYPE html>"),
            "{page}"
        );
        // Revoked once: again, or another account's id, is not found.
        let (status, _) = call!(app, revoke());
        assert_eq!(status, StatusCode::NOT_FOUND);
        let other = crate::support::ops::create_account(
            &env.state.store,
            "elsewhere",
            "E",
            "e@elsewhere.test",
            Utc::now(),
        )
        .unwrap();
        let (other_key, _) = {
            let operator = Caller::operator(other.account.clone());
            let (k, _, s) = portcullis_app::api_keys::create(
                &env.state.store,
                &operator,
                "k",
                Some(other.admin.id),
                Scopes::FULL,
                Utc::now(),
            )
            .unwrap();
            (s.expose().to_owned(), k)
        };
        let (_, foreign) = invite!(app, &other_key, "x@elsewhere.test");
        let foreign_id = env
            .state
            .store
            .invitation_by_token(&portcullis_domain::SecretHash::of(&foreign))
            .unwrap()
            .unwrap()
            .id;
        let (status, _) = call!(
            app,
            with_key(
                TestRequest::delete().uri(&format!("/api/v1/invitations/{foreign_id}")),
                &key
            )
        );
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(link!(app, &foreign).0, StatusCode::OK);
        let audit = env.state.store.list_audit(env.account.id, 50, 0).unwrap();
        assert!(audit.iter().any(|e| e.action == "invitation.revoked"));
    }
}

#[actix_web::test]
async fn a_members_invitations_go_with_them() {
    for env in envs() {
        let app = app!(env);
        // Deactivated through the admin API.
        let (second, key) = second_admin(&env);
        let (_, token) = invite!(app, &key, "one@acme.test");
        let (status, body) = call!(
            app,
            with_key(
                TestRequest::patch()
                    .uri(&format!("/api/v1/members/{second}"))
                    .set_json(json!({"active": false})),
                &admin_key(&env)
            )
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(link!(app, &token).0, StatusCode::GONE);
        // Reactivated, they invite again; SCIM deactivates them: the new link goes too.
        env.state
            .store
            .set_user_active(env.account.id, second, true, Utc::now())
            .unwrap();
        let (_, token) = invite!(app, &key, "two@acme.test");
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{second}"),
                &env.token,
                Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(link!(app, &token).0, StatusCode::GONE);
        // Deleted: the same.
        env.state
            .store
            .set_user_active(env.account.id, second, true, Utc::now())
            .unwrap();
        let (_, token) = invite!(app, &key, "three@acme.test");
        let r = send(
            &app,
            req(
                Method::DELETE,
                &format!("/Users/{second}"),
                &env.token,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        assert_eq!(link!(app, &token).0, StatusCode::GONE);
    }
}
