//! Metrics, request ids and login throttling as an operator and an attacker see them.

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use serde_json::json;

use crate::app;
use crate::support::env;

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern() {
    let env = env();
    let app = app!(env);
    for _ in 0..3 {
        test::call_service(
            &app,
            TestRequest::get().uri("/a/default/login").to_request(),
        )
        .await;
    }
    test::call_service(&app, TestRequest::get().uri("/a/nosuch/login").to_request()).await;
    // A route inside a scope, and a path no route matches (one series for all of them).
    let scim = "/scim/v2/Users/0b5c4d9e-1f2a-4b3c-8d7e-6f5a4b3c2d1e";
    test::call_service(&app, TestRequest::get().uri(scim).to_request()).await;
    for path in ["/no/such/page", "/another/one"] {
        test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
    }
    let resp = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.contains(
            r#"portcullis_http_requests_total{route="/a/{slug}/login",method="GET",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"portcullis_http_requests_total{route="/a/{slug}/login",method="GET",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"portcullis_http_requests_total{route="/scim/v2/Users/{id}",method="GET",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"portcullis_http_requests_total{route="unmatched",method="GET",status="404"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains("portcullis_db_pool_connections "), "{text}");
}

#[actix_web::test]
async fn every_answer_carries_a_request_id() {
    let env = env();
    let app = app!(env);
    let resp = test::call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("x-request-id", "trace-42"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.headers().get("x-request-id").unwrap(), "trace-42");
    let resp = test::call_service(
        &app,
        TestRequest::get()
            .uri("/healthz")
            .insert_header(("x-request-id", "bad id; drop table"))
            .to_request(),
    )
    .await;
    assert_ne!(
        resp.headers().get("x-request-id").unwrap(),
        "bad id; drop table"
    );
}

#[actix_web::test]
async fn password_guessing_is_throttled() {
    let env = env();
    let app = app!(env);
    let guess = |password: &str| {
        TestRequest::post()
            .uri("/api/v1/login")
            .peer_addr("203.0.113.7:4000".parse().unwrap())
            .set_json(
                json!({"account": "default", "email": "admin@localhost", "password": password}),
            )
            .to_request()
    };
    for n in 0..10 {
        let resp = test::call_service(&app, guess(&format!("guess number {n}"))).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let resp = test::call_service(&app, guess("guess number 11")).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get("retry-after").is_some());
    // Even the right password waits: the limit is on attempts, not on failures.
    let resp = test::call_service(&app, guess(&env.admin.password)).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = test::read_body_json(resp).await;
    assert!(
        body["message"].as_str().unwrap().contains("try again"),
        "{body}"
    );
}

#[test]
fn housekeeping_deletes_expired_sessions_only() {
    use portcullis_domain::AuthMethod;
    let env = env();
    let store = &env.state.store;
    let now = chrono::Utc::now();
    let user = &env.admin.admin;
    let old = crate::support::new_session(
        user,
        AuthMethod::Password,
        now - chrono::Duration::hours(3),
        60,
    );
    let live = crate::support::new_session(user, AuthMethod::Password, now, 60);
    store.insert_session(&old).unwrap();
    store.insert_session(&live).unwrap();
    portcullis_app::housekeeping::purge_once(store, now, 0).unwrap();
    assert_eq!(store.session(old.id).unwrap(), None);
    assert_eq!(store.session(live.id).unwrap().map(|s| s.id), Some(live.id));
}

/// Audit events older than the retention setting go; 0 keeps everything.
#[test]
fn housekeeping_keeps_audit_events_for_the_retention_days() {
    let env = env();
    let store = &env.state.store;
    let now = chrono::Utc::now();
    let event = |days_ago: i64| {
        portcullis_app::audit::event(
            env.admin.account.id,
            portcullis_domain::Actor::System,
            "account.name.changed",
            None,
            None,
            serde_json::json!({"name": format!("{days_ago} days ago")}),
            now - chrono::Duration::days(days_ago),
        )
    };
    let (old, recent) = (event(400), event(10));
    store.record_audit(&old).unwrap();
    store.record_audit(&recent).unwrap();
    let ids = || -> Vec<_> {
        store
            .list_audit(env.admin.account.id, 1000, 0)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect()
    };
    portcullis_app::housekeeping::purge_once(store, now, 0).unwrap();
    assert!(ids().contains(&old.id), "0 keeps everything");
    portcullis_app::housekeeping::purge_once(store, now, 365).unwrap();
    assert!(!ids().contains(&old.id));
    assert!(ids().contains(&recent.id));
}

/// `PORTCULLIS_METRICS_BIND` keeps `/metrics` off the public listener: the public app
/// answers 404 there, the metrics app answers with the figures.
#[actix_web::test]
async fn metrics_can_have_a_listener_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("metrics.db");
    let config = portcullis_server::config::Config::load(|name| match name {
        "PORTCULLIS_DATABASE_URL" => Some(db.to_str().unwrap().to_owned()),
        "PORTCULLIS_METRICS_BIND" => Some("127.0.0.1:9464".to_owned()),
        _ => None,
    })
    .unwrap();
    assert_eq!(config.metrics_bind.as_deref(), Some("127.0.0.1:9464"));
    let state = portcullis_server::prepare(config).unwrap();
    let public = test::init_service(
        actix_web::App::new().configure(portcullis_server::configure(state.clone())),
    )
    .await;
    let resp = test::call_service(
        &public,
        test::TestRequest::get().uri("/metrics").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let resp = test::call_service(
        &public,
        test::TestRequest::get().uri("/healthz").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let private = test::init_service(
        actix_web::App::new().configure(portcullis_server::configure_metrics(state.clone())),
    )
    .await;
    let resp = test::call_service(
        &private,
        test::TestRequest::get().uri("/metrics").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body = test::read_body(resp).await;
    assert!(
        String::from_utf8_lossy(&body).contains("# TYPE"),
        "{body:?}"
    );
    let resp = test::call_service(
        &private,
        test::TestRequest::get().uri("/api/v1/members").to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}
