//! What SCIM refuses: missing, forged, revoked and unusable keys (401), callers outside the
//! IP restrictions and accounts not provisioning over SCIM (403), other tenants' ids (404),
//! duplicates (409, also racing), stale versions (412), oversize bodies (413), bad filters,
//! bad userNames and unknown group members (400, nothing applied). The rate limit (429)
//! is in `scim_rate_limit.rs`.

use crate::support::ops;
use actix_web::http::{Method, StatusCode};
use chrono::Utc;
use portcullis_domain::{Actor, IpRestrictions};
use serde_json::json;

use crate::app;
use crate::scim_support::{bot_key, enc, envs, req, send};

/// Creates a group of the account's admin and a member over SCIM, and answers the reads
/// whose key is checked with the reads themselves (the member and group lookups, pages
/// and filters): each must refuse exactly what a write refuses. A SCIM member's lookups
/// are answered in one statement that relies on the key kept in memory once it was used
/// (`ReadCtx::read_current`); the admin's, who has no stored view, take the full check.
macro_rules! read_paths {
    ($app:expr, $env:expr) => {{
        let env = &$env;
        let admin = env.admin.id;
        let r = send(
            &$app,
            req(
                Method::POST,
                "/Users",
                &env.token,
                Some(json!({"userName": "reader@acme.test", "title": "Reader"})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let member = r.body["id"].as_str().unwrap().to_owned();
        let member_by_name = enc(r#"userName eq "reader@acme.test""#);
        let r = send(
            &$app,
            req(
                Method::POST,
                "/Groups",
                &env.token,
                Some(json!({"displayName": "Readers", "members": [{"value": admin.to_string()}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let gid = r.body["id"].as_str().unwrap().to_owned();
        let by_name = enc(&format!(r#"userName eq "{}""#, env.admin.email.as_str()));
        // The SCIM member's reads first: after a change, the first read of a key kept in
        // memory is the one that relies on it (and finding it stale, forgets it).
        vec![
            format!("/Users/{member}"),
            format!("/Users?filter={member_by_name}"),
            "/Users".to_owned(),
            format!("/Users/{admin}"),
            format!("/Users?filter={by_name}"),
            "/Groups".to_owned(),
            format!("/Groups/{gid}"),
        ]
    }};
}

/// Asserts the status (and for refusals the SCIM error) of a GET of every path.
macro_rules! assert_reads {
    ($app:expr, $paths:expr, $token:expr, $status:expr) => {
        for path in &$paths {
            let r = send(&$app, req(Method::GET, path, $token, None).to_request()).await;
            assert_eq!(r.status.as_u16(), $status, "{path}: {}", r.text);
            if $status != 200 {
                r.assert_error($status, None);
            }
        }
    };
}

#[actix_web::test]
async fn keys_are_refused_with_scim_errors() {
    for env in envs() {
        let app = app!(env);
        let store = &env.state.store;
        let now = Utc::now();
        let paths = read_paths!(app, env);
        // No key, a malformed header, a forged key.
        for path in &paths {
            let r = send(
                &app,
                actix_web::test::TestRequest::get()
                    .uri(&format!("/scim/v2{path}"))
                    .peer_addr("203.0.113.7:1".parse().unwrap())
                    .to_request(),
            )
            .await;
            r.assert_error(401, None);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{path}");
        }
        let forged = "pcl_forgedforgedforgedforgedforgedforged";
        assert_reads!(app, paths, forged, 401);
        // A bad query from a caller without a valid key is refused for the key, not the
        // query: the caller learns nothing before it is authenticated.
        for path in [
            "/Users?filter=(((",
            "/Users/x?attributes=a..b",
            "/Groups?sortOrder=sideways",
            "/Groups/x?count=abc",
        ] {
            let r = send(&app, req(Method::GET, path, forged, None).to_request()).await;
            r.assert_error(401, None);
            let r = send(&app, req(Method::GET, path, &env.token, None).to_request()).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        }

        // A revoked key, also after it was used (and its authentication kept in memory).
        let bot = ops::create_bot(store, &env.account, "revoked", now).unwrap();
        let (key, secret) =
            ops::create_api_key(store, &env.account, &bot, "r", Actor::System, now).unwrap();
        let (second, second_secret) =
            ops::create_api_key(store, &env.account, &bot, "r2", Actor::System, now).unwrap();
        assert_reads!(app, paths, secret.expose(), 200);
        assert_reads!(app, paths, second_secret.expose(), 200);
        store.revoke_api_key(env.account.id, key.id, now).unwrap();
        store
            .revoke_api_key(env.account.id, second.id, now)
            .unwrap();
        assert_reads!(app, paths, secret.expose(), 401);
        // While the second key is still kept in memory from before its revocation: a
        // lookup whose filter is bad beside its equality is refused for the key, not the
        // filter.
        let bad = format!(
            "/Users?filter={}",
            enc(r#"userName eq "reader@acme.test" and active gt true"#)
        );
        let r = send(
            &app,
            req(Method::GET, &bad, second_secret.expose(), None).to_request(),
        )
        .await;
        r.assert_error(401, None);
        let r = send(&app, req(Method::GET, &bad, &env.token, None).to_request()).await;
        r.assert_error(400, Some("invalidFilter"));

        // A key whose owner SCIM deactivates stops working at once, and works again after.
        // (Another admin stays, so the last-admin rule lets the first go.)
        let mut second = env.admin.clone();
        second.id = portcullis_domain::UserId::from_uuid(uuid::Uuid::new_v4());
        second.email = portcullis_domain::Email::parse("second-admin@acme.test").unwrap();
        store.insert_user(&second).unwrap();
        let (_, admin_secret) =
            ops::create_api_key(store, &env.account, &env.admin, "admin", Actor::System, now)
                .unwrap();
        assert_reads!(app, paths, admin_secret.expose(), 200);
        let admin = env.admin.id.to_string();
        let deactivate =
            json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{admin}"),
                &env.token,
                Some(deactivate),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["active"], false, "{}", r.text);
        assert_reads!(app, paths, admin_secret.expose(), 401);
        let activate = json!({"Operations": [{"op": "replace", "path": "active", "value": true}]});
        send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{admin}"),
                &env.token,
                Some(activate),
            )
            .to_request(),
        )
        .await;
        assert_reads!(app, paths, admin_secret.expose(), 200);
    }
}

#[actix_web::test]
async fn ip_restrictions_and_provisioning_mode() {
    for env in envs() {
        let app = app!(env);
        let store = &env.state.store;
        let paths = read_paths!(app, env);
        assert_reads!(app, paths, &env.token, 200);
        let mut restricted = env.account.clone();
        restricted.api_ip_restrictions = IpRestrictions::parse(&["10.0.0.0/8"]).unwrap();
        store.update_account(&restricted).unwrap();
        assert_reads!(app, paths, &env.token, 403);
        for path in &paths {
            let inside = req(Method::GET, path, &env.token, None)
                .peer_addr("10.1.2.3:5000".parse().unwrap());
            let r = send(&app, inside.to_request()).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        }

        // An account that invites its members does not answer SCIM.
        let invite =
            ops::create_account(store, "invites", "Invites", "a@invites.test", Utc::now()).unwrap();
        let token = bot_key(store, &invite.account, "okta");
        assert_reads!(app, paths, &token, 403);
        let r = send(&app, req(Method::GET, "/Users", &token, None).to_request()).await;
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains("Settings → User provisioning"), "{detail}");
    }
}

#[actix_web::test]
async fn other_tenants_ids_are_not_found() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "mine@acme.test"})),
            )
            .to_request(),
        )
        .await;
        let uid = r.body["id"].as_str().unwrap().to_owned();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "Mine", "members": [{"value": uid}]})),
            )
            .to_request(),
        )
        .await;
        let gid = r.body["id"].as_str().unwrap().to_owned();
        let o = env.other_token.as_str();
        let patch = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        for (method, path, body) in [
            (Method::GET, format!("/Users/{uid}"), None),
            (
                Method::PUT,
                format!("/Users/{uid}"),
                Some(json!({"userName": "stolen@other.test"})),
            ),
            (Method::PATCH, format!("/Users/{uid}"), Some(patch.clone())),
            (Method::DELETE, format!("/Users/{uid}"), None),
            (Method::GET, format!("/Groups/{gid}"), None),
            (
                Method::PATCH,
                format!("/Groups/{gid}"),
                Some(
                    json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}),
                ),
            ),
            (Method::DELETE, format!("/Groups/{gid}"), None),
        ] {
            let r = send(&app, req(method.clone(), &path, o, body).to_request()).await;
            r.assert_error(404, None);
        }
        let f = enc(r#"userName eq "mine@acme.test""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), o, None).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 0);
        let r = send(&app, req(Method::GET, "/Groups", o, None).to_request()).await;
        assert_eq!(r.body["totalResults"], 0);
        // Nor can the other account make our member part of its groups.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                o,
                Some(json!({"displayName": "Theirs", "members": [{"value": uid}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        // Everything of ours is intact.
        let r = send(
            &app,
            req(Method::GET, &format!("/Groups/{gid}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["members"][0]["value"], uid.as_str());
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{uid}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["active"], true);
    }
}

#[actix_web::test]
async fn duplicates_are_409_also_when_racing() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let body = json!({"userName": "race@acme.test"});
        let mk = || req(Method::POST, "/Users", t, Some(body.clone())).to_request();
        let (a, b, c, d) = tokio::join!(
            send(&app, mk()),
            send(&app, mk()),
            send(&app, mk()),
            send(&app, mk())
        );
        let statuses: Vec<u16> = [&a, &b, &c, &d].iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            3,
            "{statuses:?}"
        );
        for r in [&a, &b, &c, &d]
            .into_iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
        {
            r.assert_error(409, Some("uniqueness"));
        }
        // Case-insensitively, and the admin's address too.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "RACE@acme.test"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(409, Some("uniqueness"));
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "Ada@Acme.test"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(409, Some("uniqueness"));
        // Groups too.
        send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "Ops"})),
            )
            .to_request(),
        )
        .await;
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "OPS"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(409, Some("uniqueness"));
    }
}

#[actix_web::test]
async fn bad_input_changes_nothing() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "not an email"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"displayName": "no userName"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let bad_json = req(Method::POST, "/Users", t, None)
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload("{\"userName\": ");
        send(&app, bad_json.to_request())
            .await
            .assert_error(400, Some("invalidSyntax"));
        let f = enc(r#"userName eq "unterminated"#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidFilter"));
        let big = "x".repeat(1_100_000);
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "big@acme.test", "nickName": big})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(413, None);

        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "keep@acme.test", "displayName": "Keep"})),
            )
            .to_request(),
        )
        .await;
        let uid = r.body["id"].as_str().unwrap().to_owned();
        // A PATCH whose second operation fails applies nothing.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{uid}"),
                t,
                Some(json!({"Operations": [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "nosuchattribute.x", "value": 1}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidPath"));
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{uid}"),
                t,
                Some(json!({"Operations": [
            {"op": "replace", "path": "userName", "value": "broken"}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{uid}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            (r.body["displayName"].as_str(), r.body["userName"].as_str()),
            (Some("Keep"), Some("keep@acme.test"))
        );

        // Unknown group members: 400 and nothing applied, on create and on PATCH.
        let ghost = uuid::Uuid::new_v4().to_string();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "G", "members": [{"value": uid}, {"value": ghost}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(&app, req(Method::GET, "/Groups", t, None).to_request()).await;
        assert_eq!(r.body["totalResults"], 0, "the group was not created");
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "G", "members": [{"value": uid}]})),
            )
            .to_request(),
        )
        .await;
        let gid = r.body["id"].as_str().unwrap().to_owned();
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                t,
                Some(json!({"Operations": [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": "not-a-uuid"}]}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                t,
                Some(json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": ghost}]}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(Method::GET, &format!("/Groups/{gid}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["displayName"], "G");
        assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
        // Bots are never members either.
        let bot = ops::create_bot(&env.state.store, &env.account, "robot", Utc::now()).unwrap();
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                t,
                Some(json!({"Operations": [
            {"op": "add", "path": "members", "value": [{"value": bot.id.to_string()}]}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{}", bot.id), t, None).to_request(),
        )
        .await;
        r.assert_error(404, None);
    }
}

#[actix_web::test]
async fn etags_and_preconditions() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "etag@acme.test"})),
            )
            .to_request(),
        )
        .await;
        let uid = r.body["id"].as_str().unwrap().to_owned();
        let v1 = r.header("etag").unwrap().to_owned();
        assert_eq!(r.body["meta"]["version"], v1.as_str());
        let path = format!("/Users/{uid}");
        let r = send(
            &app,
            req(Method::GET, &path, t, None)
                .insert_header(("If-None-Match", v1.clone()))
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED);
        let patch =
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "One"}]});
        let r = send(
            &app,
            req(Method::PATCH, &path, t, Some(patch.clone()))
                .insert_header(("If-Match", v1.clone()))
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let v2 = r.header("etag").unwrap().to_owned();
        assert_ne!(v1, v2);
        let r = send(
            &app,
            req(Method::PATCH, &path, t, Some(patch))
                .insert_header(("If-Match", v1.clone()))
                .to_request(),
        )
        .await;
        r.assert_error(412, None);
        let r = send(
            &app,
            req(
                Method::PUT,
                &path,
                t,
                Some(json!({"userName": "etag@acme.test"})),
            )
            .insert_header(("If-Match", v1.clone()))
            .to_request(),
        )
        .await;
        r.assert_error(412, None);
        let r = send(
            &app,
            req(Method::DELETE, &path, t, None)
                .insert_header(("If-Match", v1))
                .to_request(),
        )
        .await;
        r.assert_error(412, None);
        let r = send(
            &app,
            req(Method::GET, &path, t, None)
                .insert_header(("If-None-Match", "W/\"999\""))
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = send(
            &app,
            req(Method::DELETE, &path, t, None)
                .insert_header(("If-Match", v2))
                .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
}
