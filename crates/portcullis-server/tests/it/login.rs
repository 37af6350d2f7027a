//! Password login through the JSON endpoint and the HTML form, sessions and logout.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::Utc;
use portcullis_domain::EnforcementPolicy;
use serde_json::{json, Value};

use crate::app;
use crate::support::{env, set_cookie};

const SESSION: &str = "portcullis_session";

fn login_body(password: &str) -> Value {
    json!({"account": "default", "email": "admin@localhost", "password": password})
}

#[actix_web::test]
async fn json_login_me_and_logout() {
    let env = env();
    let app = app!(env);

    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/login")
            .set_json(login_body(&env.admin.password))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = set_cookie(&resp, SESSION).expect("session cookie");
    let set_cookie_header = resp
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie_header.contains("HttpOnly"),
        "{set_cookie_header}"
    );
    assert!(
        set_cookie_header.contains("SameSite=Lax"),
        "{set_cookie_header}"
    );
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["user"]["email"], "admin@localhost");
    assert_eq!(body["user"]["role"], "admin");
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    let me = |cookie: String| {
        TestRequest::get()
            .uri("/api/v1/me")
            .cookie(actix_web::cookie::Cookie::new(SESSION, cookie))
            .to_request()
    };
    let resp = test::call_service(&app, me(cookie.clone())).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["email"], "admin@localhost");
    assert_eq!(body["account"], "default");

    // Logout without the CSRF token is refused and the session survives.
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/logout")
            .cookie(actix_web::cookie::Cookie::new(SESSION, cookie.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        test::call_service(&app, me(cookie.clone())).await.status(),
        StatusCode::OK
    );

    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/logout")
            .cookie(actix_web::cookie::Cookie::new(SESSION, cookie.clone()))
            .insert_header(("X-CSRF-Token", csrf))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    // The old cookie is still validly signed, but its session row is revoked.
    assert_eq!(
        test::call_service(&app, me(cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer() {
    let env = env();
    let app = app!(env);
    let mut answers = Vec::new();
    for body in [
        login_body("wrong password!"),
        json!({"account": "default", "email": "nobody@localhost", "password": "wrong password!"}),
        json!({"account": "default", "email": "not an email", "password": "x"}),
        json!({"account": "nosuchaccount", "email": "admin@localhost", "password": env.admin.password}),
    ] {
        let resp = test::call_service(
            &app,
            TestRequest::post()
                .uri("/api/v1/login")
                .set_json(body)
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(&resp, SESSION).is_none());
        let body: Value = test::read_body_json(resp).await;
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["error"], "unauthorized");
}

#[actix_web::test]
async fn bad_json_gets_a_json_error() {
    let env = env();
    let app = app!(env);
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/login")
            .insert_header(("content-type", "application/json"))
            .set_payload("{not json")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"], "bad_request");
}

#[actix_web::test]
async fn forged_and_foreign_cookies_are_refused() {
    let env = env();
    let app = app!(env);
    // A session cookie signed with another key.
    let other =
        portcullis_server::session::SessionKeys::new("an entirely different key of 32+ chars");
    let user = env.admin.admin.clone();
    let session = crate::support::new_session(
        &user,
        portcullis_domain::AuthMethod::Password,
        Utc::now(),
        60,
    );
    env.state.store.insert_session(&session).unwrap();
    let forged = other.sign(&session).unwrap();
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/me")
            .cookie(actix_web::cookie::Cookie::new(SESSION, forged))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // The genuine signature for the same row works, which shows the refusal above was the key.
    let genuine = env.state.keys.sign(&session).unwrap();
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/me")
            .cookie(actix_web::cookie::Cookie::new(SESSION, genuine.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The same session does not open another account's dashboard.
    ops_create_other_account(&env);
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/a/other/")
            .cookie(actix_web::cookie::Cookie::new(SESSION, genuine))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers().get("location").unwrap(), "/a/other/login");
}

fn ops_create_other_account(env: &crate::support::TestEnv) {
    crate::support::ops::create_account(
        &env.state.store,
        "other",
        "Other",
        "admin@other.test",
        Utc::now(),
    )
    .unwrap();
}

#[actix_web::test]
async fn deactivation_ends_sessions_at_once() {
    let env = env();
    let app = app!(env);
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/login")
            .set_json(login_body(&env.admin.password))
            .to_request(),
    )
    .await;
    let cookie = set_cookie(&resp, SESSION).unwrap();
    let admin = &env.admin.admin;
    assert!(env
        .state
        .store
        .set_user_active(admin.account, admin.id, false, Utc::now())
        .unwrap());
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/me")
            .cookie(actix_web::cookie::Cookie::new(SESSION, cookie))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // And the deactivated admin cannot sign in again, even with the right password.
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/login")
            .set_json(login_body(&env.admin.password))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn enforced_sso_refuses_passwords_and_hides_the_form() {
    let env = env();
    let app = app!(env);
    let mut account = env.admin.account.clone();
    account.enforcement = EnforcementPolicy::Enforced;
    env.state.store.update_account(&account).unwrap();
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/api/v1/login")
            .set_json(login_body(&env.admin.password))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = test::read_body_json(resp).await;
    assert!(
        body["message"].as_str().unwrap().contains("single sign-on"),
        "{body}"
    );
    let resp = test::call_service(
        &app,
        TestRequest::get().uri("/a/default/login").to_request(),
    )
    .await;
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(!page.contains("type=\"password\""));
    assert!(page.contains("requires single sign-on"));
}

/// Extracts the hidden CSRF field of the login form.
fn form_csrf(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

#[actix_web::test]
async fn browser_form_login_and_logout() {
    let env = env();
    let app = app!(env);
    let resp = test::call_service(
        &app,
        TestRequest::get().uri("/a/default/login").to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let csrf_cookie = set_cookie(&resp, "portcullis_csrf").unwrap();
    let csp = resp
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        resp.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    let csrf = form_csrf(&page);
    assert_eq!(csrf, csrf_cookie);

    let form = |csrf: &str, password: &str| {
        vec![
            ("email".to_owned(), "admin@localhost".to_owned()),
            ("password".to_owned(), password.to_owned()),
            ("csrf".to_owned(), csrf.to_owned()),
        ]
    };
    // A cross-site post carries no CSRF cookie: refused, no session.
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/a/default/login")
            .set_form(form(&csrf, &env.admin.password))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&resp, SESSION).is_none());

    // A wrong password re-renders the form with a message.
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/a/default/login")
            .cookie(actix_web::cookie::Cookie::new(
                "portcullis_csrf",
                csrf.clone(),
            ))
            .set_form(form(&csrf, "not the password"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(page.contains("wrong email or password"));

    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/a/default/login")
            .cookie(actix_web::cookie::Cookie::new(
                "portcullis_csrf",
                csrf.clone(),
            ))
            .set_form(form(&csrf, &env.admin.password))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers().get("location").unwrap(), "/a/default/");
    let session = set_cookie(&resp, SESSION).unwrap();

    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/a/default/")
            .cookie(actix_web::cookie::Cookie::new(SESSION, session.clone()))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(page.contains("admin@localhost"));
    let logout_csrf = form_csrf(&page);

    // Sign-out with a wrong token does nothing.
    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/a/default/logout")
            .cookie(actix_web::cookie::Cookie::new(SESSION, session.clone()))
            .set_form(vec![("csrf", "forged")])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = test::call_service(
        &app,
        TestRequest::post()
            .uri("/a/default/logout")
            .cookie(actix_web::cookie::Cookie::new(SESSION, session.clone()))
            .set_form(vec![("csrf", logout_csrf)])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/a/default/")
            .cookie(actix_web::cookie::Cookie::new(SESSION, session))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "the session ended");
}

#[actix_web::test]
async fn probes_and_unknown_paths() {
    let env = env();
    let app = app!(env);
    assert_eq!(
        test::call_service(&app, TestRequest::get().uri("/healthz").to_request())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        test::call_service(&app, TestRequest::get().uri("/readyz").to_request())
            .await
            .status(),
        StatusCode::OK
    );
    let resp = test::call_service(&app, TestRequest::get().uri("/no/such/page").to_request()).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let page = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(page.contains("<h1>Not Found</h1>"));
    assert_eq!(
        test::call_service(&app, TestRequest::get().uri("/a/nosuch/login").to_request())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}
