//! Protocol behaviour: discovery documents (truthful, read-only), unknown routes, `/Me`,
//! searching with POST, sorting and paging, projections, Bulk, and the audit log.

use actix_web::http::{Method, StatusCode};
use portcullis_domain::Actor;
use portcullis_store::ScimUserRow;
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{enc, envs, req, send};

#[actix_web::test]
async fn discovery_is_truthful_and_read_only() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            req(Method::GET, "/ServiceProviderConfig", t, None).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/scim+json"));
        let c = &r.body;
        assert_eq!(c["patch"]["supported"], true);
        assert_eq!(c["bulk"]["supported"], true);
        assert_eq!(c["bulk"]["maxOperations"], 100);
        assert_eq!(c["bulk"]["maxPayloadSize"], 1 << 20);
        assert_eq!(c["filter"]["maxResults"], 200);
        assert_eq!(c["sort"]["supported"], true);
        assert_eq!(c["etag"]["supported"], true);
        assert_eq!(c["changePassword"]["supported"], false);
        assert_eq!(c["authenticationSchemes"][0]["type"], "oauthbearertoken");

        let r = send(&app, req(Method::GET, "/Schemas", t, None).to_request()).await;
        assert_eq!(r.body["totalResults"], 3);
        let ids: Vec<&str> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"urn:ietf:params:scim:schemas:core:2.0:Group"),
            "{ids:?}"
        );
        let r = send(
            &app,
            req(
                Method::GET,
                "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
        let r = send(
            &app,
            req(Method::GET, "/ResourceTypes", t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 2);
        let r = send(
            &app,
            req(Method::GET, "/ResourceTypes/Group", t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["endpoint"], "/Groups");
        send(
            &app,
            req(Method::GET, "/ResourceTypes/Nope", t, None).to_request(),
        )
        .await
        .assert_error(404, None);
        send(
            &app,
            req(Method::GET, "/Schemas/urn:nope", t, None).to_request(),
        )
        .await
        .assert_error(404, None);

        for (method, path) in [
            (Method::POST, "/Schemas"),
            (Method::PUT, "/ServiceProviderConfig"),
            (Method::DELETE, "/ResourceTypes/User"),
            (Method::PATCH, "/Schemas/x"),
        ] {
            let r = send(&app, req(method, path, t, Some(json!({}))).to_request()).await;
            r.assert_error(405, None);
        }
        send(&app, req(Method::GET, "/Nope", t, None).to_request())
            .await
            .assert_error(404, None);
        send(&app, req(Method::GET, "/Users/a/b", t, None).to_request())
            .await
            .assert_error(404, None);
        send(&app, req(Method::GET, "/Me", t, None).to_request())
            .await
            .assert_error(501, None);
        send(
            &app,
            req(Method::PUT, "/Users", t, Some(json!({}))).to_request(),
        )
        .await
        .assert_error(405, None);
    }
}

fn names(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[actix_web::test]
async fn search_sort_page_and_project() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let b = env.backend;
        let mut ids = Vec::new();
        for i in 0..11 {
            let r = send(&app, req(Method::POST, "/Users", t, Some(json!({
                "userName": format!("user{i:02}@acme.test"), "displayName": format!("User {:02}", 11 - i),
                "name": {"givenName": format!("G{i}"), "familyName": if i % 2 == 0 { "Even" } else { "Odd" }},
                "title": if i < 3 { "Boss" } else { "Staff" }}))).to_request()).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            ids.push(r.body["id"].as_str().unwrap().to_owned());
        }
        // Entra's pagination test: 12 members (the admin too), pages of 5.
        let mut seen = Vec::new();
        for page in 0..3 {
            let r = send(
                &app,
                req(
                    Method::GET,
                    &format!("/Users?startIndex={}&count=5", page * 5 + 1),
                    t,
                    None,
                )
                .to_request(),
            )
            .await;
            assert_eq!(r.body["startIndex"], page * 5 + 1);
            assert_eq!(r.body["totalResults"], 12);
            seen.extend(names(&r.body));
        }
        assert_eq!(seen.len(), 12);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 12, "pages neither overlap nor skip");

        // Sorting in the database and in memory.
        let r = send(&app, req(Method::GET, "/Users?sortBy=displayName&sortOrder=descending&count=2&filter=userName%20sw%20%22user%22", t, None).to_request()).await;
        assert_eq!(
            names(&r.body),
            ["user00@acme.test", "user01@acme.test"].map(String::from),
            "{b}"
        );
        let r = send(
            &app,
            req(
                Method::GET,
                &format!(
                    "/Users?sortBy=name.givenName&count=3&filter={}",
                    enc(r#"name.familyName eq "Even""#)
                ),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 6, "{b}: {}", r.text);
        assert_eq!(
            names(&r.body),
            ["user00@acme.test", "user10@acme.test", "user02@acme.test"].map(String::from)
        );

        // Filters that mix database and in-memory parts, with exact totals.
        let f =
            enc(r#"title eq "Boss" and (userName ew "1@acme.test" or userName ew "2@acme.test")"#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            names(&r.body),
            ["user01@acme.test", "user02@acme.test"].map(String::from),
            "{b}: {}",
            r.text
        );
        let f = enc(r#"not (title eq "Staff") and userName sw "user""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 3);

        // POST .search with projection.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users/.search",
                t,
                Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"user03@acme.test\"", "attributes": ["userName"]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let u = &r.body["Resources"][0];
        assert_eq!(u["userName"], "user03@acme.test");
        assert!(
            u.get("id").is_some() && u.get("name").is_none() && u.get("title").is_none(),
            "{u}"
        );
        let r = send(
            &app,
            req(
                Method::GET,
                &format!("/Users/{}?excludedAttributes=name,emails", ids[0]),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert!(r.body.get("name").is_none() && r.body.get("userName").is_some());

        // Root search covers users and groups.
        send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "user group"})),
            )
            .to_request(),
        )
        .await;
        let r = send(
            &app,
            req(Method::POST, "/.search", t, Some(json!({"count": 200}))).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 13, "{}", r.text);
        let r = send(
            &app,
            req(
                Method::POST,
                "/.search",
                t,
                Some(json!({"filter": "displayName sw \"user g\""})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 1, "{}", r.text);
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users/.search",
                t,
                Some(json!({"filter": "userName eq"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidFilter"));
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups/.search",
                t,
                Some(json!({"sortOrder": "sideways"})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
    }
}

#[actix_web::test]
async fn bulk_runs_in_order_and_stops_on_errors() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(&app, req(Method::POST, "/Bulk", t, Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "failOnErrors": 1,
            "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "u1", "data": {"userName": "bulk1@acme.test"}},
                {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": {"displayName": "Bulk", "members": [{"value": "bulkId:u1"}]}},
                {"method": "PATCH", "path": "/Users/bulkId:u1", "data": {"Operations": [{"op": "replace", "path": "active", "value": false}]}},
                {"method": "POST", "path": "/Users", "data": {"userName": "bulk1@acme.test"}},
                {"method": "POST", "path": "/Users", "data": {"userName": "never@acme.test"}}
            ]}))).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let ops = r.body["Operations"].as_array().unwrap();
        let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["201", "201", "200", "409"], "{}", r.text);
        assert_eq!(ops[3]["response"]["scimType"], "uniqueness");
        let f = enc(r#"userName eq "never@acme.test""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 0, "failOnErrors stopped the run");
        let f = enc(r#"userName eq "bulk1@acme.test""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["Resources"][0]["active"], false);
        assert_eq!(r.body["Resources"][0]["groups"][0]["display"], "Bulk");
        let too_many: Vec<Value> = (0..101)
            .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
            .collect();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Bulk",
                t,
                Some(json!({"Operations": too_many})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(413, None);
    }
}

#[actix_web::test]
async fn every_change_is_audited_with_the_key() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "audit@acme.test"})),
            )
            .to_request(),
        )
        .await;
        let uid = r.body["id"].as_str().unwrap().to_owned();
        let path = format!("/Users/{uid}");
        send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(
                    json!({"Operations": [{"op": "replace", "path": "displayName", "value": "A"}]}),
                ),
            )
            .to_request(),
        )
        .await;
        send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
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
                Some(json!({"displayName": "Aud"})),
            )
            .to_request(),
        )
        .await;
        let gid = r.body["id"].as_str().unwrap().to_owned();
        send(
            &app,
            req(Method::DELETE, &format!("/Groups/{gid}"), t, None).to_request(),
        )
        .await;
        send(&app, req(Method::DELETE, &path, t, None).to_request()).await;
        let log = env.state.store.list_audit(env.account.id, 50, 0).unwrap();
        let scim: Vec<&str> = log
            .iter()
            .rev()
            .filter(|e| e.action.starts_with("scim."))
            .map(|e| e.action.as_str())
            .collect();
        assert_eq!(
            scim,
            [
                "scim.user.created",
                "scim.user.updated",
                "scim.user.deactivated",
                "scim.group.created",
                "scim.group.deleted",
                "scim.user.deleted"
            ]
        );
        for e in log.iter().filter(|e| e.action.starts_with("scim.")) {
            assert!(matches!(e.actor, Actor::ApiKey(_)), "{e:?}");
            assert!(e.ip.is_some());
        }
        let updated = log
            .iter()
            .find(|e| e.action == "scim.user.updated")
            .unwrap();
        assert!(updated.detail.contains("displayName"), "{}", updated.detail);
    }
}

#[actix_web::test]
async fn bodies_must_be_json_by_content_type() {
    let env = crate::scim_support::sqlite_env_with_rate("0");
    let app = app!(env);
    let t = env.token.as_str();
    let with_type = |content_type: &str, email: &str| {
        req(Method::POST, "/Users", t, None)
            .insert_header(("Content-Type", content_type.to_owned()))
            .set_payload(json!({ "userName": email }).to_string())
            .to_request()
    };
    // Both JSON media types are accepted, with or without a charset.
    for (i, ct) in [
        "application/scim+json",
        "application/scim+json; charset=utf-8",
        "application/json",
        "Application/JSON;charset=UTF-8",
    ]
    .into_iter()
    .enumerate()
    {
        let r = send(&app, with_type(ct, &format!("ct{i}@acme.test"))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct}: {}", r.text);
    }
    // Anything else is refused with 415 in the SCIM error format, and nothing is created.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = send(&app, with_type(ct, "refused@acme.test")).await;
        r.assert_error(415, None);
    }
    let r = send(
        &app,
        req(
            Method::GET,
            &format!("/Users?filter={}", enc("userName eq \"refused@acme.test\"")),
            t,
            None,
        )
        .to_request(),
    )
    .await;
    assert_eq!(r.body["totalResults"], 0, "{}", r.text);
}

/// Writes that arrive together are committed together on SQLite (one transaction, each
/// write in a savepoint of its own): each is answered as it would be alone, a refused one
/// leaves nothing behind (not even its audit event), and every answered one is stored.
#[actix_web::test]
async fn writes_arriving_together_are_each_answered_and_stored_as_alone() {
    for env in envs() {
        let app = std::rc::Rc::new(app!(env));
        let before = env
            .state
            .store
            .list_audit(env.account.id, 500, 0)
            .unwrap()
            .len();
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let (app, token) = (app.clone(), env.token.clone());
                let user_name = match i % 4 {
                    2 => "same@acme.test".to_owned(),
                    3 => format!("not an email {i}"),
                    _ => format!("p{i}@acme.test"),
                };
                actix_web::rt::spawn(async move {
                    let body = json!({"userName": user_name});
                    let r = send(
                        &*app,
                        req(Method::POST, "/Users", &token, Some(body)).to_request(),
                    );
                    (user_name, r.await)
                })
            })
            .collect();
        let mut created = Vec::new();
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for task in tasks {
            let (user_name, r) = task.await.unwrap();
            *statuses.entry(r.status.as_u16()).or_default() += 1;
            match r.status.as_u16() {
                201 => {
                    assert_eq!(r.body["userName"], user_name.as_str());
                    created.push(r.body["id"].as_str().unwrap().to_owned());
                }
                409 => r.assert_error(409, Some("uniqueness")),
                400 => r.assert_error(400, Some("invalidValue")),
                other => panic!("unexpected {other}: {}", r.text),
            }
        }
        // 12 distinct people, one of the 6 "same@" creates; 5 duplicates; 6 invalid.
        assert_eq!(
            statuses,
            [(201, 13), (400, 6), (409, 5)].into(),
            "{}",
            env.backend
        );
        for id in &created {
            let r = send(
                &*app,
                req(Method::GET, &format!("/Users/{id}"), &env.token, None).to_request(),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        }
        let log = env.state.store.list_audit(env.account.id, 500, 0).unwrap();
        let creations = log[..log.len() - before]
            .iter()
            .filter(|e| e.action == "scim.user.created")
            .count();
        assert_eq!(
            creations, 13,
            "one audit event per stored create, none for refusals"
        );
    }
}

#[actix_web::test]
async fn members_stored_before_their_view_read_the_same_and_get_one() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "older@acme.test", "name": {"givenName": "Old", "familyName": "Er"},
            "emails": [{"value": "older@acme.test", "type": "work", "primary": true}],
            "title": "Archivist", "password": "never-shown",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Records"}});
        let r = send(
            &app,
            req(Method::POST, "/Users", t, Some(body)).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let store = &env.state.store;
        let uid = id.parse().unwrap();
        // As a row stored before migration 7: the same member without a view.
        let stored = store.scim_user(env.account.id, uid).unwrap().unwrap();
        assert!(stored.scim_view.is_some());
        let row = ScimUserRow {
            scim_view: None,
            ..stored.clone()
        };
        store.replace_scim_user(&row, &stored, None).unwrap();
        let path = format!("/Users/{id}");
        let get = || async { send(&app, req(Method::GET, &path, t, None).to_request()).await };
        let filter = format!("/Users?filter={}", enc(r#"userName eq "older@acme.test""#));
        let list = || async { send(&app, req(Method::GET, &filter, t, None).to_request()).await };
        let (before, listed_before) = (get().await, list().await);
        assert_eq!(before.status, StatusCode::OK, "{}", before.text);
        assert_eq!(before.body["title"], "Archivist");
        assert!(before.body.get("password").is_none());
        assert_eq!(listed_before.body["Resources"][0], before.body);

        let written = portcullis_app::housekeeping::fill_scim_views(store).unwrap();
        assert!(written >= 1, "{written}");
        let row = store.scim_user(env.account.id, uid).unwrap().unwrap();
        assert!(row.scim_view.is_some());
        // Nothing changed for the member: the same answer, the same version.
        let (after, listed_after) = (get().await, list().await);
        assert_eq!(after.body, before.body);
        assert_eq!(after.header("etag"), before.header("etag"));
        assert_eq!(listed_after.body, listed_before.body);
        // A second pass finds nothing left to write.
        assert_eq!(
            portcullis_app::housekeeping::fill_scim_views(store).unwrap(),
            0
        );
    }
}
