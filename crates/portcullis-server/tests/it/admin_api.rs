//! The admin JSON API: each resource, and the refusals — members cannot change settings,
//! another account's ids are 404, session writes need the CSRF header, the domain's rules
//! (enforcement, provisioning, last admin) answer 4xx saying why.

use crate::support::ops;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::Utc;
use portcullis_app::password;
use portcullis_domain::{Actor, Email, Role, User, UserId, UserKind, UserOrigin};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::admin_fixtures::{idp_key, saml_metadata, with_key};
use crate::support::{env, TestEnv};
use crate::{app, call};

/// An API key of the bootstrap admin.
pub fn admin_key(env: &TestEnv) -> String {
    let (_, secret) = ops::create_api_key(
        &env.state.store,
        &env.admin.account,
        &env.admin.admin,
        "tests",
        Actor::System,
        Utc::now(),
    )
    .unwrap();
    secret.expose().to_owned()
}

/// Adds a human with a password to the bootstrap account.
/// The admin's account's latest audit event.
fn last_audit(env: &TestEnv) -> portcullis_domain::AuditEvent {
    let mut log = env
        .state
        .store
        .list_audit(env.admin.account.id, 1, 0)
        .unwrap();
    log.pop().expect("an audit event")
}

pub fn add_person(env: &TestEnv, email: &str, role: Role, pw: &str) -> User {
    let now = Utc::now();
    let user = User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: env.admin.account.id,
        email: Email::parse(email).unwrap(),
        display_name: email.into(),
        kind: UserKind::Human,
        role,
        active: true,
        password_hash: Some(password::hash(pw).unwrap()),
        external_id: None,
        origin: UserOrigin::Invite,
        created_at: now,
        updated_at: now,
    };
    env.state.store.insert_user(&user).unwrap();
    user
}

/// A SAML IdP body from pasted metadata.
pub fn saml_body(description: &str) -> Value {
    json!({"description": description, "saml": {"metadata_xml": saml_metadata("https://idp.example.test/entity", &idp_key().cert_b64)}})
}

/// Signs in with a password over JSON; returns (cookie, csrf).
#[macro_export]
macro_rules! sign_in {
    ($app:expr, $email:expr, $pw:expr) => {{
        let resp = actix_web::test::call_service(
            &$app,
            actix_web::test::TestRequest::post()
                .uri("/api/v1/login")
                .set_json(serde_json::json!({"account": "default", "email": $email, "password": $pw}))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), actix_web::http::StatusCode::OK);
        let cookie = $crate::support::set_cookie(&resp, "portcullis_session").unwrap();
        let body: serde_json::Value = actix_web::test::read_body_json(resp).await;
        (cookie, body["csrf_token"].as_str().unwrap().to_owned())
    }};
}

pub fn session(req: TestRequest, cookie: &str) -> TestRequest {
    req.cookie(actix_web::cookie::Cookie::new(
        "portcullis_session",
        cookie.to_owned(),
    ))
    .peer_addr("198.51.100.4:4000".parse().unwrap())
}

#[actix_web::test]
async fn members_read_themselves_but_change_nothing() {
    let env = env();
    let app = app!(env);
    let member = add_person(
        &env,
        "m@acme.test",
        Role::Member,
        "a member's long passphrase",
    );
    let (cookie, csrf) = sign_in!(app, "m@acme.test", "a member's long passphrase");
    let own = format!("/api/v1/members/{}", member.id);
    let (status, body) = call!(app, session(TestRequest::get().uri(&own), &cookie));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "m@acme.test");
    let admin = format!("/api/v1/members/{}", env.admin.admin.id);
    let check = |status: StatusCode, body: &Value, what: &str| {
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("admins"),
            "{body}"
        );
    };
    let (s, b) = call!(app, session(TestRequest::get().uri(&admin), &cookie));
    check(s, &b, "read another member");
    let (s, b) = call!(
        app,
        session(TestRequest::get().uri("/api/v1/members"), &cookie)
    );
    check(s, &b, "list members");
    let (s, b) = call!(
        app,
        session(TestRequest::get().uri("/api/v1/audit"), &cookie)
    );
    check(s, &b, "audit");
    for (req, what) in [
        (
            TestRequest::patch()
                .uri("/api/v1/account")
                .set_json(json!({"name": "Mine"})),
            "account",
        ),
        (
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Okta")),
            "idp",
        ),
        (
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(json!({"description": "x"})),
            "key",
        ),
        (
            TestRequest::put()
                .uri("/api/v1/ip-restrictions")
                .set_json(json!({"ranges": []})),
            "ip",
        ),
        (
            TestRequest::post()
                .uri("/api/v1/bots")
                .set_json(json!({"name": "b"})),
            "bot",
        ),
        (
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "x@acme.test"})),
            "invite",
        ),
    ] {
        let (s, b) = call!(
            app,
            session(req, &cookie).insert_header(("X-CSRF-Token", csrf.clone()))
        );
        check(s, &b, what);
    }
    // Nothing was changed.
    let account = env
        .state
        .store
        .account(env.admin.account.id)
        .unwrap()
        .unwrap();
    assert_eq!(account.name, "Default");
}

#[actix_web::test]
async fn session_writes_need_the_csrf_header() {
    let env = env();
    let app = app!(env);
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let patch = || {
        TestRequest::patch()
            .uri("/api/v1/account")
            .set_json(json!({"name": "Acme"}))
    };
    let (s, b) = call!(app, session(patch(), &cookie));
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(b["message"].as_str().unwrap().contains("CSRF"), "{b}");
    let (s, _) = call!(
        app,
        session(patch(), &cookie).insert_header(("X-CSRF-Token", "forged"))
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Reads need no token.
    let (s, _) = call!(
        app,
        session(TestRequest::get().uri("/api/v1/account"), &cookie)
    );
    assert_eq!(s, StatusCode::OK);
    let (s, b) = call!(
        app,
        session(patch(), &cookie).insert_header(("X-CSRF-Token", csrf))
    );
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["name"], "Acme");
    // No credentials at all.
    let (s, _) = call!(app, TestRequest::get().uri("/api/v1/account"));
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn another_accounts_ids_are_not_found() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let store = &env.state.store;
    let now = Utc::now();
    let other = ops::create_account(store, "other", "Other", "boss@other.test", now).unwrap();
    let (other_key, other_secret) =
        ops::create_api_key(store, &other.account, &other.admin, "b", Actor::System, now).unwrap();
    let other_bot = ops::create_bot(store, &other.account, "their-bot", now).unwrap();
    let other_secret = other_secret.expose().to_owned();
    let (s, idp) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Theirs")),
            &other_secret
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{idp}");
    let idp_id = idp["id"].as_str().unwrap();
    let member = format!("/api/v1/members/{}", other.admin.id);
    let bot = format!("/api/v1/bots/{}", other_bot.id);
    let idp_path = format!("/api/v1/idps/{idp_id}");
    let key_path = format!("/api/v1/api-keys/{}", other_key.id);
    for req in [
        TestRequest::get().uri(&member),
        TestRequest::patch()
            .uri(&member)
            .set_json(json!({"role": "member"})),
        TestRequest::delete().uri(&member),
        TestRequest::delete().uri(&bot),
        TestRequest::get().uri(&idp_path),
        TestRequest::patch()
            .uri(&idp_path)
            .set_json(json!({"enabled": false})),
        TestRequest::delete().uri(&idp_path),
        TestRequest::post().uri(&format!("{idp_path}/refresh-metadata")),
        TestRequest::post().uri(&format!("{idp_path}/rotate-sp-encryption-key")),
        TestRequest::delete().uri(&key_path),
        TestRequest::get().uri("/api/v1/members/not-a-uuid"),
    ] {
        let (s, b) = call!(app, with_key(req, &key));
        assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    }
    // Nothing of theirs changed, and a key owned by another account's admin is refused.
    assert!(
        store
            .idp(other.account.id, idp_id.parse().unwrap())
            .unwrap()
            .unwrap()
            .enabled
    );
    assert!(store
        .user(other.account.id, other_bot.id)
        .unwrap()
        .is_some());
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(json!({"description": "x", "owner_id": other.admin.id.to_string()})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Lists only show the caller's own account.
    let (_, list) = call!(app, with_key(TestRequest::get().uri("/api/v1/idps"), &key));
    assert_eq!(list["idps"].as_array().unwrap().len(), 0);
}

#[actix_web::test]
async fn enforcement_and_provisioning_follow_the_domain() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let patch = |body: Value| {
        with_key(
            TestRequest::patch().uri("/api/v1/account").set_json(body),
            &key,
        )
    };
    let (s, b) = call!(app, patch(json!({"enforcement": "enforced"})));
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("identity provider"),
        "{b}"
    );
    for mode in ["scim", "just_in_time"] {
        let (s, b) = call!(app, patch(json!({"provisioning": mode})));
        assert_eq!(s, StatusCode::CONFLICT, "{b}");
        assert!(
            b["message"].as_str().unwrap().contains("identity provider"),
            "{b}"
        );
    }
    // A refused part leaves the other parts unwritten.
    let (s, _) = call!(app, patch(json!({"name": "Half", "provisioning": "scim"})));
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, account) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/account"), &key)
    );
    assert_eq!(account["name"], "Default");
    let (s, b) = call!(app, patch(json!({"enforcement": "sometimes"})));
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let (s, idp) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/idps")
                .set_json(saml_body("Okta")),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{idp}");
    let idp_path = format!("/api/v1/idps/{}", idp["id"].as_str().unwrap());
    let (s, b) = call!(app, patch(json!({"provisioning": "scim"})));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["provisioning"], "scim");
    assert!(b["scim_base_url"].as_str().unwrap().ends_with("/scim/v2"));

    // A password session cannot prove SSO works; an API key may enforce.
    let (cookie, csrf) = sign_in!(app, "admin@localhost", &env.admin.password);
    let (s, b) = call!(
        app,
        session(
            TestRequest::patch()
                .uri("/api/v1/account")
                .set_json(json!({"enforcement": "enforced"})),
            &cookie
        )
        .insert_header(("X-CSRF-Token", csrf))
    );
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("sign in through"),
        "{b}"
    );
    let (s, b) = call!(app, patch(json!({"enforcement": "enforced"})));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enforcement"], "enforced");

    // The last enabled IdP under enforcement can be neither disabled nor deleted.
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&idp_path)
                .set_json(json!({"enabled": false})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(b["message"].as_str().unwrap().contains("mixed mode"), "{b}");
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&idp_path), &key));
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call!(app, patch(json!({"enforcement": "mixed"})));
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&idp_path), &key));
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn ip_restrictions_are_validated() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let put = |ranges: Value| {
        with_key(
            TestRequest::put()
                .uri("/api/v1/ip-restrictions")
                .set_json(json!({"ranges": ranges})),
            &key,
        )
    };
    for bad in ["10.0.0.0/33", "example.com", "300.1.1.1", ""] {
        let (s, b) = call!(app, put(json!([bad])));
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {b}");
    }
    // A key may not lock itself out (the test client calls from 203.0.113.9).
    let (s, b) = call!(app, put(json!(["198.51.100.0/24"])));
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("203.0.113.9"),
        "{b}"
    );
    let (s, b) = call!(app, put(json!(["203.0.113.7/24", "2001:db8::/32"])));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["ranges"], json!(["203.0.113.0/24", "2001:db8::/32"]));
    // The restriction now applies to the key itself: outside the ranges it is refused.
    let (s, _) = call!(
        app,
        TestRequest::get()
            .uri("/api/v1/ip-restrictions")
            .insert_header(("Authorization", format!("Bearer {key}")))
            .peer_addr("198.51.100.1:1".parse().unwrap())
    );
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn api_keys_show_their_secret_once_and_revoke() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let (s, bot) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/bots")
                .set_json(json!({"name": "Okta SCIM"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{bot}");
    assert_eq!(bot["kind"], "bot");
    let (s, created) = call!(
        app,
        with_key(
            TestRequest::post().uri("/api/v1/api-keys").set_json(
                json!({"description": "Okta", "owner_id": bot["id"], "scopes": ["admin"]})
            ),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pcl_"));
    assert_eq!(created["key"]["owner"], "okta-scim@bot.invalid");
    let (_, list) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/api-keys"), &secret)
    );
    assert!(
        !list.to_string().contains(&secret),
        "a listed key shows its secret"
    );
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 2);
    assert!(list["api_keys"][1]["last_used_at"].is_string(), "{list}");
    // A member cannot own a key.
    let member = add_person(
        &env,
        "m@acme.test",
        Role::Member,
        "a member's long passphrase",
    );
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post().uri("/api/v1/api-keys").set_json(
                json!({"description": "m", "owner_id": member.id.to_string(), "scopes": ["admin"]})
            ),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/api-keys")
                .set_json(json!({"description": "  ", "scopes": ["scim"]})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Revoked keys stop working at once.
    let path = format!(
        "/api/v1/api-keys/{}",
        created["key"]["id"].as_str().unwrap()
    );
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&path), &key));
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/account"), &secret)
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Deleting the bot is the bots route's job, and removes it.
    let bot_path = format!("/api/v1/bots/{}", bot["id"].as_str().unwrap());
    let (s, _) = call!(
        app,
        with_key(
            TestRequest::delete().uri(&format!("/api/v1/bots/{}", member.id)),
            &key
        )
    );
    assert_eq!(s, StatusCode::NOT_FOUND, "a person is not a bot");
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&bot_path), &key));
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The deletion and its audit event were written together.
    let event = last_audit(&env);
    assert_eq!(event.action, "bot.deleted");
    assert_eq!(event.target.as_deref(), bot["id"].as_str());
}

#[actix_web::test]
async fn members_are_listed_changed_and_the_last_admin_stays() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    for n in 0..5 {
        add_person(
            &env,
            &format!("p{n}@acme.test"),
            Role::Member,
            "a member's long passphrase",
        );
    }
    let (_, page) = call!(
        app,
        with_key(
            TestRequest::get().uri("/api/v1/members?limit=2&offset=1"),
            &key
        )
    );
    assert_eq!(page["total"], 6);
    assert_eq!(page["members"].as_array().unwrap().len(), 2);
    assert_eq!(page["members"][0]["email"], "p0@acme.test");
    let (_, found) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/members?search=P3"), &key)
    );
    assert_eq!(found["total"], 1);
    let p3 = found["members"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/members/{p3}");
    let admin_path = format!("/api/v1/members/{}", env.admin.admin.id);
    let patch =
        |path: &str, body: Value| with_key(TestRequest::patch().uri(path).set_json(body), &key);

    let (s, b) = call!(app, patch(&admin_path, json!({"role": "member"})));
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("last active admin"),
        "{b}"
    );
    let (s, _) = call!(app, patch(&admin_path, json!({"active": false})));
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&admin_path), &key));
    assert_eq!(s, StatusCode::CONFLICT);

    let (s, b) = call!(app, patch(&path, json!({"role": "admin"})));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["role"], "admin");
    let (s, b) = call!(app, patch(&path, json!({"active": false})));
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["active"], false);
    let stored = env
        .state
        .store
        .user(env.admin.account.id, p3.parse().unwrap())
        .unwrap()
        .unwrap();
    assert!(!stored.active && stored.role == Role::Admin);
    let (_, b) = call!(app, patch(&path, json!({"active": true})));
    assert_eq!(b["active"], true);
    // Now there are two admins: the first may step down.
    let (s, _) = call!(app, patch(&admin_path, json!({"role": "member"})));
    assert_eq!(s, StatusCode::OK);
    // The first admin's key stops working: its owner is no longer an admin.
    let (s, _) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/account"), &key)
    );
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let p3_user = env
        .state
        .store
        .user(env.admin.account.id, p3.parse().unwrap())
        .unwrap()
        .unwrap();
    let (_, p3_key) = ops::create_api_key(
        &env.state.store,
        &env.admin.account,
        &p3_user,
        "p3",
        Actor::System,
        Utc::now(),
    )
    .unwrap();
    let p3_key = p3_key.expose().to_owned();
    let (s, _) = call!(app, with_key(TestRequest::delete().uri(&path), &p3_key));
    assert_eq!(s, StatusCode::CONFLICT, "p3 is now the last admin");
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::patch()
                .uri(&path)
                .set_json(json!({"role": "owner"})),
            &p3_key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    // Deleting a member writes the deletion and its audit event together.
    let (_, found) = call!(
        app,
        with_key(
            TestRequest::get().uri("/api/v1/members?search=p0@"),
            &p3_key
        )
    );
    let p0 = found["members"][0]["id"].as_str().unwrap().to_owned();
    let (s, _) = call!(
        app,
        with_key(
            TestRequest::delete().uri(&format!("/api/v1/members/{p0}")),
            &p3_key
        )
    );
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        env.state
            .store
            .user(env.admin.account.id, p0.parse().unwrap())
            .unwrap(),
        None
    );
    let event = last_audit(&env);
    assert_eq!(event.action, "member.deleted");
    assert_eq!(event.target.as_deref(), Some(p0.as_str()));
}

#[actix_web::test]
async fn invitations_and_the_audit_log() {
    let env = env();
    let app = app!(env);
    let key = admin_key(&env);
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "new@acme.test", "role": "admin"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let url = b["url"].as_str().unwrap();
    assert!(url.contains("/invite/"), "{url}");
    assert_eq!(b["invitation"]["role"], "admin");
    let (s, b) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "admin@localhost"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let (s, _) = call!(
        app,
        with_key(
            TestRequest::post()
                .uri("/api/v1/invitations")
                .set_json(json!({"email": "not an email"})),
            &key
        )
    );
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, list) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/invitations"), &key)
    );
    assert_eq!(list["invitations"].as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(url.rsplit('/').next().unwrap()),
        "the link is shown once"
    );

    call!(
        app,
        with_key(
            TestRequest::patch()
                .uri("/api/v1/account")
                .set_json(json!({"name": "Acme"})),
            &key
        )
    );
    let (s, log) = call!(
        app,
        with_key(TestRequest::get().uri("/api/v1/audit?limit=5"), &key)
    );
    assert_eq!(s, StatusCode::OK);
    let events = log["events"].as_array().unwrap();
    assert_eq!(events[0]["action"], "account.name.changed", "{log}");
    assert_eq!(events[0]["ip"], "203.0.113.9");
    assert!(events[0]["actor"].as_str().unwrap().starts_with("api_key:"));
    assert!(events
        .iter()
        .any(|e| e["action"] == "invitation.created" && e["detail"]["email"] == "new@acme.test"));
}

#[actix_web::test]
async fn the_openapi_document_is_served_valid_and_kept_in_docs() {
    let env = env();
    let app = app!(env);
    let (s, served) = call!(app, TestRequest::get().uri("/api/v1/openapi.json"));
    assert_eq!(s, StatusCode::OK);
    let text = portcullis_server::admin::openapi::document_json();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(served, doc);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/account",
        "/api/v1/idps/{id}",
        "/api/v1/api-keys",
        "/api/v1/audit",
        "/api/v1/ip-restrictions",
        "/api/v1/invitations",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is missing");
    }
    // No schema may describe the OIDC client secret as something answers carry.
    assert!(!doc["components"]["schemas"]["OidcJson"]["properties"]
        .to_string()
        .contains("\"client_secret\""));
    let kept = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var_os("PORTCULLIS_BLESS").is_some() {
        std::fs::write(kept, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(kept).unwrap_or_default();
    assert!(on_disk == text, "docs/openapi.json is stale: run `PORTCULLIS_BLESS=1 cargo test -p portcullis-server openapi` and commit it");
    // Validate with the reference validator (installed by `cargo xtask setup`).
    match std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator", kept])
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("No module named") => {
            eprintln!("note: openapi-spec-validator is not installed; skipped (cargo xtask setup installs it)");
        }
        Ok(out) => panic!(
            "docs/openapi.json is not a valid OpenAPI document:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => eprintln!("note: python3 is missing ({e}); OpenAPI validation skipped"),
    }
}
