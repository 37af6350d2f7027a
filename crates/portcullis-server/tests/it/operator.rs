//! The operator API, on both backends: absent without a token, refused with a wrong one;
//! accounts created with an invited first admin, listed, searched and shown; suspension
//! refusing every sign-in, SCIM call and API key until resumed; and deletion leaving no
//! row of the account in any table.

use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use chrono::Utc;
use portcullis_domain::{AccountSlug, Webhook, WebhookId, WebhookSecret};
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{bot_key, enable_scim, envs_with, req, send, Resp, ScimEnv};

pub const TOKEN: &str = "operator-token-for-the-tests-0123456789";

fn operator_envs() -> Vec<ScimEnv> {
    envs_with(&[("PORTCULLIS_OPERATOR_TOKEN", TOKEN.to_owned())])
}

/// A request to the operator API with `token`.
fn op(method: Method, path: &str, token: &str, body: Option<Value>) -> TestRequest {
    let r = TestRequest::default()
        .method(method)
        .uri(&format!("/api/v1/operator/accounts{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")));
    match body {
        Some(b) => r.set_json(b),
        None => r,
    }
}

/// An admin API request with an API key.
fn admin(method: Method, path: &str, key: &str, body: Option<Value>) -> TestRequest {
    let r = TestRequest::default()
        .method(method)
        .uri(path)
        .peer_addr("203.0.113.7:40000".parse().unwrap())
        .insert_header(("Authorization", format!("Bearer {key}")));
    match body {
        Some(b) => r.set_json(b),
        None => r,
    }
}

#[actix_web::test]
async fn the_api_does_not_exist_without_a_token_and_refuses_a_wrong_one() {
    for env in envs_with(&[]) {
        let app = app!(env);
        let r = send(&app, op(Method::GET, "", TOKEN, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", env.backend);
    }
    for env in operator_envs() {
        let app = app!(env);
        for token in ["wrong", &TOKEN[..TOKEN.len() - 1], env.token.as_str()] {
            let r = send(&app, op(Method::GET, "", token, None).to_request()).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{token}: {}", r.text);
            let r = send(
                &app,
                op(Method::POST, "/acme/suspend", token, None).to_request(),
            )
            .await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let r = send(
            &app,
            TestRequest::get()
                .uri("/api/v1/operator/accounts")
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        // Nothing was suspended by the refused calls.
        let acme = env.state.store.account(env.account.id).unwrap().unwrap();
        assert!(!acme.is_suspended());
    }
}

#[actix_web::test]
async fn accounts_are_created_with_an_invited_admin_listed_searched_and_shown() {
    for env in operator_envs() {
        let app = app!(env);
        let r = send(
            &app,
            op(
                Method::POST,
                "",
                TOKEN,
                Some(json!({"slug": "globex", "name": "Globex Corp", "admin_email": "hank@globex.test"})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.body["account"]["slug"], "globex");
        assert_eq!(r.body["account"]["members"], 0);
        assert_eq!(r.body["account"]["suspended"], false);
        let url = r.body["invitation_url"].as_str().unwrap();
        let path = url.strip_prefix(crate::scim_support::PUBLIC_URL).unwrap();
        assert!(!r.text.contains("password"), "{}", r.text);
        // The link opens the invitation of the first admin, as an admin.
        let page = send(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("hank@globex.test"), "{}", page.text);
        let globex = env
            .state
            .store
            .account_by_slug(&AccountSlug::parse("globex").unwrap())
            .unwrap()
            .unwrap();
        let invitations = env.state.store.list_invitations(globex.id).unwrap();
        assert_eq!(invitations.len(), 1);
        assert_eq!(invitations[0].role, portcullis_domain::Role::Admin);
        assert_eq!(invitations[0].invited_by, None);

        // Refusals: a taken slug, a bad slug, a bad email; none leaves an account.
        for (body, status) in [
            (
                json!({"slug": "globex", "name": "Again", "admin_email": "a@b.test"}),
                StatusCode::CONFLICT,
            ),
            (
                json!({"slug": "Not A Slug", "name": "X", "admin_email": "a@b.test"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"slug": "initech", "name": "Initech", "admin_email": "not an email"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"slug": "initech", "name": " ", "admin_email": "a@b.test"}),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let r = send(
                &app,
                op(Method::POST, "", TOKEN, Some(body.clone())).to_request(),
            )
            .await;
            assert_eq!(r.status, status, "{body}: {}", r.text);
            assert!(r.body["message"].as_str().is_some(), "{}", r.text);
        }
        assert!(env
            .state
            .store
            .account_by_slug(&AccountSlug::parse("initech").unwrap())
            .unwrap()
            .is_none());

        // Paging: 50 a page in slug order, then the rest.
        for i in 0..50 {
            env.state
                .store
                .create_account(
                    &portcullis_app::accounts::new_account(&format!("z-{i:02}"), "Zed", Utc::now())
                        .unwrap(),
                    None,
                )
                .unwrap();
        }
        let first = send(&app, op(Method::GET, "", TOKEN, None).to_request()).await;
        assert_eq!(first.status, StatusCode::OK);
        let slugs = |r: &Resp| -> Vec<String> {
            r.body["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["slug"].as_str().unwrap().to_owned())
                .collect()
        };
        let page1 = slugs(&first);
        assert_eq!(page1.len(), 50);
        assert_eq!(&page1[..3], ["acme", "globex", "other"]);
        let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
        let second = send(
            &app,
            op(Method::GET, &format!("?cursor={cursor}"), TOKEN, None).to_request(),
        )
        .await;
        assert_eq!(slugs(&second), ["z-47", "z-48", "z-49"]);
        assert_eq!(second.body["next_cursor"], Value::Null);

        // Search by name, letter case aside.
        let found = send(
            &app,
            op(Method::GET, "?search=GLOBEX%20corp", TOKEN, None).to_request(),
        )
        .await;
        assert_eq!(slugs(&found), ["globex"]);

        // One account with its counts.
        let acme = send(&app, op(Method::GET, "/acme", TOKEN, None).to_request()).await;
        assert_eq!(acme.status, StatusCode::OK);
        assert_eq!(acme.body["members"], 1);
        assert_eq!(acme.body["idps"], 1);
        assert_eq!(acme.body["provisioning"], "scim");
        let missing = send(&app, op(Method::GET, "/nope", TOKEN, None).to_request()).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
    }
}

/// Signs `email` in with `password` through the JSON endpoint.
fn login(account: &str, email: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri("/api/v1/login")
        .peer_addr("203.0.113.7:40000".parse().unwrap())
        .set_json(json!({"account": account, "email": email, "password": password}))
}

#[actix_web::test]
async fn a_suspended_account_refuses_every_sign_in_scim_call_and_key_until_resumed() {
    for env in operator_envs() {
        let app = app!(env);
        let store = &env.state.store;
        // Ada gets a password and an admin key.
        let mut ada = env.admin.clone();
        ada.password_hash =
            Some(portcullis_app::password::hash("a long enough passphrase").unwrap());
        store.update_user(&ada).unwrap();
        let (_, secret) = crate::support::ops::create_api_key(
            store,
            &env.account,
            &ada,
            "ops",
            portcullis_domain::Actor::System,
            Utc::now(),
        )
        .unwrap();
        let key = secret.expose().to_owned();
        let signed_in = send(
            &app,
            login("acme", "ada@acme.test", "a long enough passphrase").to_request(),
        )
        .await;
        assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
        let cookie = signed_in
            .headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("portcullis_session="))
            .map(|c| c.split(';').next().unwrap().to_owned())
            .unwrap();
        let me = || {
            TestRequest::get()
                .uri("/api/v1/me")
                .cookie(actix_web::cookie::Cookie::new(
                    "portcullis_session",
                    cookie.clone(),
                ))
                .to_request()
        };
        // Warm the key cache, so the suspension must get past it.
        let r = send(
            &app,
            req(Method::GET, "/Users", &env.token, None).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);

        let r = send(
            &app,
            op(Method::POST, "/acme/suspend", TOKEN, None).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["suspended"], true);

        let scim = send(
            &app,
            req(Method::GET, "/Users", &env.token, None).to_request(),
        )
        .await;
        assert_eq!(scim.status, StatusCode::FORBIDDEN, "{}", scim.text);
        assert_eq!(scim.body["detail"], "account suspended", "{}", scim.text);
        assert_eq!(
            scim.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let api = send(
            &app,
            admin(Method::GET, "/api/v1/account", &key, None).to_request(),
        )
        .await;
        assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.text);
        assert_eq!(api.body["message"], "account suspended");
        let password = send(
            &app,
            login("acme", "ada@acme.test", "a long enough passphrase").to_request(),
        )
        .await;
        assert_eq!(password.status, StatusCode::FORBIDDEN, "{}", password.text);
        assert!(
            password.text.contains("account suspended"),
            "{}",
            password.text
        );
        // A wrong password is not told apart from a right one by the suspension.
        let wrong = send(
            &app,
            login("acme", "ada@acme.test", "not the passphrase").to_request(),
        )
        .await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.text);
        assert_eq!(send(&app, me()).await.status, StatusCode::UNAUTHORIZED);
        let idp = store.list_idps(env.account.id).unwrap().remove(0);
        let sso = send(
            &app,
            TestRequest::get()
                .uri(&format!("/a/acme/sso/{}/start", idp.id))
                .to_request(),
        )
        .await;
        assert_eq!(sso.status, StatusCode::FORBIDDEN, "{}", sso.text);
        assert!(sso.text.contains("account suspended"), "{}", sso.text);
        // Another account is untouched.
        let other = send(
            &app,
            req(Method::GET, "/Users", &env.other_token, None).to_request(),
        )
        .await;
        assert_eq!(other.status, StatusCode::OK);

        let r = send(
            &app,
            op(Method::POST, "/acme/resume", TOKEN, None).to_request(),
        )
        .await;
        assert_eq!(r.body["suspended"], false, "{}", r.text);
        let scim = send(
            &app,
            req(Method::GET, "/Users", &env.token, None).to_request(),
        )
        .await;
        assert_eq!(scim.status, StatusCode::OK);
        let api = send(
            &app,
            admin(Method::GET, "/api/v1/account", &key, None).to_request(),
        )
        .await;
        assert_eq!(api.status, StatusCode::OK);
        let password = send(
            &app,
            login("acme", "ada@acme.test", "a long enough passphrase").to_request(),
        )
        .await;
        assert_eq!(password.status, StatusCode::OK);
        // The session the suspension ended stays ended.
        assert_eq!(send(&app, me()).await.status, StatusCode::UNAUTHORIZED);
        let log = store.operator_log(10).unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(&actions[..2], ["account.resumed", "account.suspended"]);
    }
}

#[actix_web::test]
async fn deleting_an_account_removes_every_row_it_owns_in_every_table() {
    for env in operator_envs() {
        let app = app!(env);
        let store = &env.state.store;
        let before = store.table_row_counts().unwrap();
        let r = send(
            &app,
            op(
                Method::POST,
                "",
                TOKEN,
                Some(json!({"slug": "gone", "name": "Gone", "admin_email": "boss@gone.test"})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let gone = store
            .account_by_slug(&AccountSlug::parse("gone").unwrap())
            .unwrap()
            .unwrap();
        // Fill it through SCIM and the admin API: members with emails, a group, a key,
        // an IdP, a webhook with deliveries, a role rule, a domain, audit events.
        let gone = enable_scim(store, &gone);
        let token = bot_key(store, &gone, "okta");
        store
            .insert_webhook(&Webhook {
                id: WebhookId::from_uuid(uuid::Uuid::new_v4()),
                account: gone.id,
                url: "https://hooks.example.com/gone".into(),
                events: vec!["*".into()],
                description: String::new(),
                secret: WebhookSecret::from_bytes([7; 32]),
                created_at: Utc::now(),
            })
            .unwrap();
        let mut ids = Vec::new();
        for name in ["kim", "lee"] {
            let r = send(
                &app,
                req(
                    Method::POST,
                    "/Users",
                    &token,
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("{name}@gone.test"),
                        "emails": [{"value": format!("{name}@gone.test"), "primary": true}],
                    })),
                )
                .to_request(),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                &token,
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Admins",
                    "members": ids.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
                })),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        for (path, body) in [
            (
                "/api/v1/role-rules",
                json!({"source": "scim_group", "value": "Admins", "role": "admin"}),
            ),
            ("/api/v1/domains", json!({"domain": "gone.test"})),
        ] {
            let r = send(
                &app,
                admin(Method::POST, path, &token, Some(body)).to_request(),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{path}: {}", r.text);
        }
        let filled = store.table_row_counts().unwrap();
        for table in [
            "accounts",
            "users",
            "user_emails",
            "groups",
            "group_members",
            "api_keys",
            "identity_providers",
            "webhooks",
            "webhook_deliveries",
            "role_rules",
            "account_domains",
            "audit_events",
            "invitations",
            "api_auth_epochs",
            "account_member_counts",
        ] {
            assert!(
                filled[table] > before[table],
                "{table} holds none of the account's rows"
            );
        }

        let r = send(&app, op(Method::DELETE, "/gone", TOKEN, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let mut after = store.table_row_counts().unwrap();
        let mut before = before;
        // Two operator log lines (created, deleted) are all that is left.
        assert_eq!(
            after.remove("operator_log"),
            Some(before.remove("operator_log").unwrap() + 2)
        );
        assert_eq!(
            after, before,
            "rows of the deleted account remain on {}",
            env.backend
        );
        let log = store.operator_log(1).unwrap();
        assert_eq!(
            (log[0].action.as_str(), log[0].account_slug.as_str()),
            ("account.deleted", "gone")
        );
        // Its key is gone with it; deleting again is 404.
        let r = send(&app, req(Method::GET, "/Users", &token, None).to_request()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = send(&app, op(Method::DELETE, "/gone", TOKEN, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}
