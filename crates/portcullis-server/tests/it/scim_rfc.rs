//! SCIM as the RFCs have it past what Okta and Entra ID test: dates compared as published,
//! multi-valued attributes matched by any value, unassigned values, PATCH without
//! operations, ETags that follow what the representation shows, one primary, and
//! discovery documents that are never filtered. Each on both backends.

use std::collections::BTreeSet;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{enc, envs, req, send, Resp};

/// Sends a request that must create something; returns what it created.
async fn created<S, R, B>(app: &S, request: R) -> Value
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let r = send(app, request).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

/// `POST /Users` with `body`.
fn new_user(token: &str, body: Value) -> TestRequest {
    req(Method::POST, "/Users", token, Some(body))
}

/// The ids of the resources a listing answered, in order.
fn ids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| u["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn id(resource: &Value) -> String {
    resource["id"].as_str().unwrap().to_owned()
}

/// RFC 7644 §3.4.2.2: dateTime attributes compare chronologically with the value the
/// server published (to the millisecond), whatever the filter's shape; a delta sync
/// asking for what changed after the last value it saw does not get that member again.
#[actix_web::test]
async fn dates_compare_as_published() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let kim = created(
            &app,
            new_user(t, json!({"userName": "kim@dates.example"})).to_request(),
        )
        .await;
        let (created, modified) = (
            kim["meta"]["created"].as_str().unwrap(),
            kim["meta"]["lastModified"].as_str().unwrap(),
        );
        let g = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "Dated"})),
            )
            .to_request(),
        )
        .await;
        let group_modified = g.body["meta"]["lastModified"].as_str().unwrap().to_owned();
        let find = |path: &'static str, filter: String| {
            let app = &app;
            async move {
                ids(&send(
                    app,
                    req(
                        Method::GET,
                        &format!("{path}?filter={}", enc(&filter)),
                        t,
                        None,
                    )
                    .to_request(),
                )
                .await)
            }
        };
        let me = vec![id(&kim)];
        let mine = |f: &str| format!("({f}) and userName eq \"kim@dates.example\"");
        for (filter, expected) in [
            (format!("meta.created eq \"{created}\""), &me),
            (format!("meta.created le \"{created}\""), &me),
            (format!("meta.created ge \"{created}\""), &me),
            (format!("meta.created gt \"{created}\""), &vec![]),
            (format!("meta.created lt \"{created}\""), &vec![]),
            (format!("meta.created ne \"{created}\""), &vec![]),
            (format!("meta.lastModified gt \"{modified}\""), &vec![]),
            (format!("meta.lastModified eq \"{modified}\""), &me),
        ] {
            assert_eq!(
                &find("/Users", mine(&filter)).await,
                expected,
                "{filter} ({})",
                env.backend
            );
        }
        // The same comparison in another shape: or-ed with a clause that is false.
        let or = format!("meta.created eq \"{created}\" or userName eq \"nobody@dates.example\"");
        assert_eq!(find("/Users", or).await, me, "{}", env.backend);
        // A delta sync of groups.
        let since = format!("meta.lastModified gt \"{group_modified}\"");
        assert_eq!(find("/Groups", since).await, Vec::<String>::new());
        let at = format!("meta.lastModified eq \"{group_modified}\"");
        assert_eq!(find("/Groups", at).await, vec![id(&g.body)]);
    }
}

/// RFC 7644 §3.4.2.2: a multi-valued attribute matches when any of its values does, also
/// through a value filter, and in Entra ID's `emails[type eq "work"].value eq` form.
#[actix_web::test]
async fn any_email_matches() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let kim = created(
            &app,
            new_user(
                t,
                json!({"userName": "kim@multi.example", "emails": [
                {"value": "kim@multi.example", "type": "work", "primary": true},
                {"value": "Kim.Second@Multi.example", "type": "work"},
                {"value": "kim@home.example", "type": "home"}]}),
            )
            .to_request(),
        )
        .await;
        let find = |filter: &str| {
            let app = &app;
            let filter = filter.to_owned();
            async move {
                ids(&send(
                    app,
                    req(
                        Method::GET,
                        &format!("/Users?filter={}", enc(&filter)),
                        t,
                        None,
                    )
                    .to_request(),
                )
                .await)
            }
        };
        let me = vec![id(&kim)];
        for filter in [
            r#"emails[type eq "work" and value eq "kim.second@multi.example"]"#,
            r#"emails[type eq "work"].value eq "KIM.SECOND@multi.example""#,
            r#"emails.value eq "kim.second@multi.example""#,
            r#"emails[type eq "home" and value eq "kim@home.example"]"#,
            r#"emails co "home.example""#,
            r#"emails[type eq "work" and not (primary eq true)]"#,
        ] {
            assert_eq!(find(filter).await, me, "{filter} ({})", env.backend);
        }
        for filter in [
            r#"emails[type eq "home" and value eq "kim.second@multi.example"]"#,
            r#"emails[type eq "work"].value eq "kim@home.example""#,
            r#"emails.value ne "kim.second@multi.example" and userName eq "kim@multi.example""#,
        ] {
            assert_eq!(
                find(filter).await,
                Vec::<String>::new(),
                "{filter} ({})",
                env.backend
            );
        }
        // When the emails change, the filters follow.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{}", id(&kim)),
                t,
                Some(json!({"Operations": [{"op": "remove",
                    "path": "emails[value eq \"Kim.Second@Multi.example\"]"}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            find(r#"emails.value eq "kim.second@multi.example""#).await,
            Vec::<String>::new()
        );
        assert_eq!(find(r#"emails.value eq "kim@home.example""#).await, me);
    }
}

/// RFC 7644 §3.4.2.2 and §3.4.2.3: an unassigned attribute matches no comparison but
/// `ne`, and is not present; it sorts last ascending and first descending.
#[actix_web::test]
async fn unassigned_values_match_nothing_and_sort_last() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let mut made = Vec::new();
        for body in [
            json!({"userName": "anon@unassigned.example"}),
            json!({"userName": "blank@unassigned.example", "displayName": ""}),
            json!({"userName": "bob@unassigned.example", "displayName": "Bob"}),
            json!({"userName": "zed@unassigned.example", "displayName": "Zed"}),
        ] {
            made.push(id(&created(&app, new_user(t, body).to_request()).await));
        }
        let get = |query: String| {
            let app = &app;
            async move { ids(&send(app, req(Method::GET, &query, t, None).to_request()).await) }
        };
        // Members made within one millisecond have one creation time, so the order
        // among equals (their ids) is not the order they were made in: compare sets.
        let set = |ids: Vec<String>| ids.into_iter().collect::<BTreeSet<String>>();
        let of = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let ours = r#"userName ew "@unassigned.example""#;
        let find = |f: &str| format!("/Users?filter={}", enc(&format!("({f}) and {ours}")));
        let [anon, blank, bob, zed] = [0, 1, 2, 3].map(|i| made[i].as_str());
        for (filter, expected) in [
            (r#"displayName lt "zzzz""#, of(&[bob, zed])),
            (r#"displayName ge """#, of(&[bob, zed])),
            (r#"displayName ne "Bob""#, of(&[anon, blank, zed])),
            ("not (displayName pr)", of(&[anon, blank])),
            ("displayName pr", of(&[bob, zed])),
            (r#"externalId lt "z""#, of(&[])),
        ] {
            assert_eq!(
                set(get(find(filter)).await),
                expected,
                "{filter} ({})",
                env.backend
            );
        }
        let sorted = |order: &str| {
            format!(
                "/Users?filter={}&sortBy=displayName&sortOrder={order}",
                enc(ours)
            )
        };
        let up = get(sorted("ascending")).await;
        assert_eq!(up[..2], [bob, zed], "{}", env.backend);
        assert_eq!(set(up[2..].to_vec()), of(&[anon, blank]), "{}", env.backend);
        let down = get(sorted("descending")).await;
        assert_eq!(
            set(down[..2].to_vec()),
            of(&[anon, blank]),
            "{}",
            env.backend
        );
        assert_eq!(down[2..], [zed, bob], "{}", env.backend);
    }
}

/// RFC 7644 §3.5.2: a PATCH needs one or more operations; without, 400 and nothing
/// changes (not even the version).
#[actix_web::test]
async fn a_patch_without_operations_changes_nothing() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let kim = created(
            &app,
            new_user(t, json!({"userName": "kim@patch.example"})).to_request(),
        )
        .await;
        let path = format!("/Users/{}", id(&kim));
        let r = send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": []}),
                ),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let now = send(&app, req(Method::GET, &path, t, None).to_request()).await;
        assert_eq!(now.body["meta"]["version"], kim["meta"]["version"]);
    }
}

/// `GET path` with `If-None-Match: etag`.
fn if_none_match(token: &str, path: &str, etag: &str) -> TestRequest {
    req(Method::GET, path, token, None).insert_header(("If-None-Match", etag.to_owned()))
}

/// RFC 7643 §3.1, RFC 9110 §13.1.2: a member's ETag moves when their `groups` change
/// (joining, leaving, a group renamed or deleted), and a group's when the display
/// values of its `members` do (a member renamed or deleted): `If-None-Match` with the
/// old tag answers the new body, never 304.
#[actix_web::test]
async fn etags_follow_what_the_representation_shows() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let kim = created(
            &app,
            new_user(
                t,
                json!({"userName": "kim@etag.example", "displayName": "Kim"}),
            )
            .to_request(),
        )
        .await;
        let lee = created(
            &app,
            new_user(t, json!({"userName": "lee@etag.example"})).to_request(),
        )
        .await;
        let kim_path = format!("/Users/{}", id(&kim));
        let etag = |r: &Resp| r.header("etag").unwrap().to_owned();
        let mut kim_tag =
            etag(&send(&app, req(Method::GET, &kim_path, t, None).to_request()).await);

        // Kim joins a group: her representation shows it.
        let g = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(json!({"displayName": "Ops", "members": [{"value": id(&kim)}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(g.status, StatusCode::CREATED, "{}", g.text);
        let group_path = format!("/Groups/{}", id(&g.body));
        let mut group_tag: String;
        let changed = |r: Resp, old: &mut String, what: &str| -> Value {
            assert_eq!(
                r.status,
                StatusCode::OK,
                "{what} ({}): {}",
                env.backend,
                r.text
            );
            assert_ne!(&etag(&r), old, "{what}");
            assert_eq!(r.body["meta"]["version"].as_str(), Some(etag(&r).as_str()));
            *old = etag(&r);
            r.body
        };
        let body = changed(
            send(&app, if_none_match(t, &kim_path, &kim_tag).to_request()).await,
            &mut kim_tag,
            "joined",
        );
        assert_eq!(body["groups"][0]["display"], "Ops");
        // Unchanged: 304.
        let same = send(&app, if_none_match(t, &kim_path, &kim_tag).to_request()).await;
        assert_eq!(same.status, StatusCode::NOT_MODIFIED);

        // The group is renamed.
        let rename =
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Ops 2"}]});
        let r = send(
            &app,
            req(Method::PATCH, &group_path, t, Some(rename)).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        group_tag = etag(&r);
        let body = changed(
            send(&app, if_none_match(t, &kim_path, &kim_tag).to_request()).await,
            &mut kim_tag,
            "group renamed",
        );
        assert_eq!(body["groups"][0]["display"], "Ops 2");

        // Kim is renamed: the group shows her new name.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &kim_path,
                t,
                Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Kimberly"}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        kim_tag = etag(&r);
        let body = changed(
            send(&app, if_none_match(t, &group_path, &group_tag).to_request()).await,
            &mut group_tag,
            "member renamed",
        );
        assert_eq!(body["members"][0]["display"], "Kimberly");

        // Lee joins and Kim leaves, in one PATCH of the group.
        let lee_path = format!("/Users/{}", id(&lee));
        let mut lee_tag =
            etag(&send(&app, req(Method::GET, &lee_path, t, None).to_request()).await);
        let r = send(
            &app,
            req(
                Method::PATCH,
                &group_path,
                t,
                Some(json!({"Operations": [
                    {"op": "add", "path": "members", "value": [{"value": id(&lee)}]},
                    {"op": "remove", "path": format!("members[value eq \"{}\"]", id(&kim))}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        group_tag = etag(&r);
        let body = changed(
            send(&app, if_none_match(t, &kim_path, &kim_tag).to_request()).await,
            &mut kim_tag,
            "left",
        );
        assert!(body.get("groups").is_none_or(|g| g == &json!([])), "{body}");
        changed(
            send(&app, if_none_match(t, &lee_path, &lee_tag).to_request()).await,
            &mut lee_tag,
            "joined by PATCH",
        );

        // Lee is deleted: the group no longer shows her.
        let r = send(&app, req(Method::DELETE, &lee_path, t, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        changed(
            send(&app, if_none_match(t, &group_path, &group_tag).to_request()).await,
            &mut group_tag,
            "member deleted",
        );

        // The group is deleted: Kim, back in it, no longer shows it.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &group_path,
                t,
                Some(json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": id(&kim)}]}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        kim_tag = etag(&send(&app, req(Method::GET, &kim_path, t, None).to_request()).await);
        let r = send(&app, req(Method::DELETE, &group_path, t, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let body = changed(
            send(&app, if_none_match(t, &kim_path, &kim_tag).to_request()).await,
            &mut kim_tag,
            "group deleted",
        );
        assert!(body.get("groups").is_none_or(|g| g == &json!([])), "{body}");
    }
}

/// RFC 7643 §2.4: at most one primary value. Two are refused on create and replace with
/// nothing stored; a PATCH adding a new primary takes it over from the old one.
#[actix_web::test]
async fn at_most_one_primary() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let two = json!([
            {"value": "kim@primary.example", "type": "work", "primary": true},
            {"value": "kim@home.example", "type": "home", "primary": true}]);
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({"userName": "kim@primary.example", "emails": two})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let found = send(
            &app,
            req(
                Method::GET,
                &format!(
                    "/Users?filter={}",
                    enc(r#"userName eq "kim@primary.example""#)
                ),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(found.body["totalResults"], 0, "{}", found.text);

        let kim = created(
            &app,
            new_user(
                t,
                json!({"userName": "kim@primary.example", "emails": [
                {"value": "kim@primary.example", "type": "work", "primary": true}]}),
            )
            .to_request(),
        )
        .await;
        let path = format!("/Users/{}", id(&kim));
        let r = send(
            &app,
            req(
                Method::PUT,
                &path,
                t,
                Some(json!({"userName": "kim@primary.example", "emails": two})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let r = send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(json!({"Operations": [{"op": "add", "path": "emails", "value": two}]})),
            )
            .to_request(),
        )
        .await;
        r.assert_error(400, Some("invalidValue"));
        let now = send(&app, req(Method::GET, &path, t, None).to_request()).await;
        assert_eq!(now.body["emails"], kim["emails"]);
        assert_eq!(now.body["meta"]["version"], kim["meta"]["version"]);

        let r = send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(json!({"Operations": [{"op": "add", "path": "emails",
                    "value": [{"value": "kim@home.example", "type": "home", "primary": true}]}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let primaries: Vec<&Value> = r.body["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == json!(true))
            .collect();
        assert_eq!(primaries.len(), 1, "{}", r.text);
        assert_eq!(primaries[0]["value"], "kim@home.example");
    }
}

/// RFC 7644 §4: the discovery endpoints answer a `filter` with 403, so that no client
/// believes it was applied.
#[actix_web::test]
async fn discovery_refuses_filters() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let filter = enc(r#"id eq "urn:ietf:params:scim:schemas:core:2.0:User""#);
        for path in [
            "/ServiceProviderConfig",
            "/Schemas",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            "/ResourceTypes",
            "/ResourceTypes/User",
        ] {
            let r = send(
                &app,
                req(Method::GET, &format!("{path}?filter={filter}"), t, None).to_request(),
            )
            .await;
            r.assert_error(403, None);
            let r = send(&app, req(Method::GET, path, t, None).to_request()).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
        }
        // Without a key, the key is what is refused.
        let r = send(
            &app,
            req(
                Method::GET,
                &format!("/Schemas?filter={filter}"),
                "nope",
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}
