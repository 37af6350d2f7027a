//! Accepting invitations: the password path, the SSO path's hand-off and hook, and
//! expired, reused, unknown and foreign links refused with a clear page.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::{Duration, Utc};
use portcullis_app::AppError;
use portcullis_domain::{Email, User};
use portcullis_domain::{Role, SecretHash};

/// Who an IdP verified, as the tests spell it.
struct SsoInvitee<'a> {
    idp: portcullis_domain::IdpId,
    subject: &'a str,
    email: &'a str,
    display_name: &'a str,
}

/// `portcullis_app::invitations::accept_via_sso` for an IdP that asserted `who.email`.
fn accept_via_sso(
    store: &portcullis_store::Store,
    hash: &SecretHash,
    who: &SsoInvitee<'_>,
    ip: Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<User, AppError> {
    let email = Email::parse(who.email)?;
    let who = portcullis_app::invitations::SsoInvitee {
        idp: who.idp,
        subject: Some(who.subject),
        email: &email,
        display_name: who.display_name,
    };
    portcullis_app::invitations::accept_via_sso(store, hash, &who, ip, now)
}
use serde_json::json;

use crate::admin_api::{admin_key, saml_body};
use crate::admin_fixtures::with_key;
use crate::support::{env, set_cookie};
use crate::{app, call};

macro_rules! page {
    ($app:expr, $req:expr) => {{
        let resp = test::call_service(&$app, $req.to_request()).await;
        let status = resp.status();
        let cookie = set_cookie(&resp, "portcullis_invite_csrf");
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
        (status, cookie, body)
    }};
}

fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

#[actix_web::test]
async fn password_path_is_single_use() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let (_, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "new@acme.test", "role": "admin"})),
            &key
        )
    );
    let token = token_of(b["url"].as_str().unwrap());
    let uri = format!("/invite/{token}");
    let (s, cookie, body) = page!(app, TestRequest::get().uri(&uri));
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("new@acme.test") && body.contains("Choose a password"),
        "{body}"
    );
    let cookie = cookie.unwrap();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let post = |csrf: &str, pw: &str, confirm: &str| {
        TestRequest::post()
            .uri(&uri)
            .cookie(actix_web::cookie::Cookie::new(
                "portcullis_invite_csrf",
                cookie.clone(),
            ))
            .set_form([
                ("csrf", csrf),
                ("display_name", "New Person"),
                ("password", pw),
                ("confirm", confirm),
            ])
    };
    let (s, _, body) = page!(
        app,
        post(
            "forged",
            "a long enough passphrase",
            "a long enough passphrase"
        )
    );
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _, body) = page!(app, post(&csrf, "short", "short"));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("at least 12"), "{body}");
    let (s, _, body) = page!(
        app,
        post(&csrf, "a long enough passphrase", "another passphrase!")
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("differ"), "{body}");
    let resp = test::call_service(
        &app,
        post(
            &csrf,
            "a long enough passphrase",
            "a long enough passphrase",
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let email = portcullis_domain::Email::parse("new@acme.test").unwrap();
    let user = env
        .state
        .store
        .user_by_email(env.admin.account.id, &email)
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);
    assert_eq!(user.origin, portcullis_domain::UserOrigin::Invite);
    // The new member can sign in with the password.
    let (s, _) = call!(app, TestRequest::post().uri("/api/v1/login").set_json(json!({"account": "default", "email": "new@acme.test", "password": "a long enough passphrase"})));
    assert_eq!(s, StatusCode::OK);
    // Reused.
    let (s, _, body) = page!(app, TestRequest::get().uri(&uri));
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("already used"), "{body}");
    let (s, _, _) = page!(
        app,
        post(
            &csrf,
            "a long enough passphrase",
            "a long enough passphrase"
        )
    );
    assert_eq!(s, StatusCode::CONFLICT);
    // Unknown.
    let (s, _, body) = page!(app, TestRequest::get().uri("/invite/not-a-real-token"));
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("not valid"), "{body}");
}

#[actix_web::test]
async fn expired_links_are_refused() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let (_, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "late@acme.test"})),
            &key
        )
    );
    let token = token_of(b["url"].as_str().unwrap());
    // Accept it "eight days later" through the hook, which takes the time as an argument.
    let store = &env.state.store;
    let err = accept_via_sso(
        store,
        &SecretHash::of(&token),
        &SsoInvitee {
            idp: portcullis_domain::IdpId::from_uuid(uuid::Uuid::new_v4()),
            subject: "s",
            email: "late@acme.test",
            display_name: "Late",
        },
        None,
        Utc::now() + Duration::days(8),
    )
    .unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
}

#[actix_web::test]
async fn accounts_with_an_idp_require_sso_with_the_invited_email() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let (_, idp) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Okta")),
            &key
        )
    );
    let idp_id: portcullis_domain::IdpId = idp["id"].as_str().unwrap().parse().unwrap();
    let (_, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "sso@acme.test"})),
            &key
        )
    );
    let token = token_of(b["url"].as_str().unwrap());
    let hash = SecretHash::of(&token);
    let (s, _, body) = page!(app, TestRequest::get().uri(&format!("/invite/{token}")));
    assert_eq!(s, StatusCode::OK);
    assert!(
        !body.contains("type=\"password\""),
        "no password for SSO accounts"
    );
    let start = format!(
        "/a/default/sso/{idp_id}/start?return_to=/invite/complete/{}",
        hash.as_str()
    );
    assert!(body.contains(&start), "{body}");
    assert!(
        !body.contains(&format!("return_to=/invite/{token}")),
        "the token itself never travels"
    );

    // The password path is refused even when posted by hand.
    let (s, _, _) = page!(
        app,
        TestRequest::post()
            .uri(&format!("/invite/{token}"))
            .cookie(actix_web::cookie::Cookie::new(
                "portcullis_invite_csrf",
                "c"
            ))
            .set_form([
                ("csrf", "c"),
                ("password", "a long enough passphrase"),
                ("confirm", "a long enough passphrase")
            ])
    );
    assert_eq!(s, StatusCode::FORBIDDEN);

    let store = &env.state.store;
    let now = Utc::now();
    let who = |idp, email| SsoInvitee {
        idp,
        subject: "okta|42",
        email,
        display_name: "S",
    };
    // Another email, and an IdP of another account, are refused.
    let err = accept_via_sso(store, &hash, &who(idp_id, "other@acme.test"), None, now).unwrap_err();
    assert!(err.to_string().contains("is for sso@acme.test"), "{err}");
    let other =
        crate::support::ops::create_account(store, "other", "Other", "o@other.test", now).unwrap();
    let (_, other_secret) = crate::support::ops::create_api_key(
        store,
        &other.account,
        &other.admin,
        "k",
        portcullis_domain::Actor::System,
        now,
    )
    .unwrap();
    let (_, foreign) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Theirs")),
            other_secret.expose()
        )
    );
    let foreign_id = foreign["id"].as_str().unwrap().parse().unwrap();
    let err =
        accept_via_sso(store, &hash, &who(foreign_id, "sso@acme.test"), None, now).unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
    // The right identity joins, once, linked to its subject.
    let user = accept_via_sso(store, &hash, &who(idp_id, "SSO@acme.test"), None, now).unwrap();
    assert!(user.password_hash.is_none());
    assert_eq!(store.sso_link(idp_id, "okta|42").unwrap(), Some(user.id));
    let err = accept_via_sso(store, &hash, &who(idp_id, "sso@acme.test"), None, now).unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
}
