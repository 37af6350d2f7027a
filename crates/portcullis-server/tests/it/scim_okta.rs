//! What Okta sends: the SCIM 2.0 SPEC test (steps 1–12, with its headers), the CRUD test,
//! and the production provisioning client (users and pushed groups).

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{enc, envs, okta, req, send, BASE, PUBLIC_URL};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn nonempty(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Null => false,
        Value::Bool(_) | Value::Number(_) => true,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[actix_web::test]
async fn okta_spec_test_steps_1_to_12() {
    for env in envs() {
        let app = app!(env);
        let auth = format!("Bearer {}", env.token);
        let b = env.backend;

        // 1. The first page of one user: the bootstrap admin, with a synthesised name and email.
        let r = send(
            &app,
            okta(Method::GET, "/Users?count=1&startIndex=1", &auth).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/scim+json"));
        assert_eq!(r.body["schemas"][0], LIST);
        for k in ["itemsPerPage", "startIndex", "totalResults"] {
            assert!(r.body[k].is_u64(), "{b}: {k} in {}", r.text);
        }
        assert_eq!(r.body["itemsPerPage"], 1);
        let first = &r.body["Resources"][0];
        for v in [
            &first["id"],
            &first["name"]["familyName"],
            &first["name"]["givenName"],
            &first["userName"],
            &first["active"],
            &first["emails"][0]["value"],
        ] {
            assert!(nonempty(v), "{b}: {first}");
        }
        assert_eq!(first["userName"], "ada@acme.test");
        assert_eq!(first["name"]["givenName"], "Ada");
        assert_eq!(first["name"]["familyName"], "Lovelace");
        let isv_id = first["id"].as_str().unwrap().to_owned();

        // 2. That user by id.
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users/{isv_id}"), &auth).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["id"], isv_id.as_str());
        assert!(nonempty(&r.body["emails"][0]["value"]) && nonempty(&r.body["name"]["familyName"]));
        assert!(r.header("etag").unwrap().starts_with("W/\""));

        // 3. A user that does not exist, by filter (Runscope encodes the query).
        let filter = enc(r#"userName eq "abcdefgh@atko.com""#);
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users?filter={filter}"), &auth).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["schemas"][0], LIST);
        assert_eq!(r.body["totalResults"], 0);

        // 4. An id that does not exist.
        let r = send(
            &app,
            okta(Method::GET, "/Users/010101001010101011001010101011", &auth).to_request(),
        )
        .await;
        r.assert_error(404, None);

        // 5. The random user is not there yet.
        let random = "Runscope123Abcdefgh456@atko.com";
        let filter = enc(&format!(r#"userName eq "{random}""#));
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users?filter={filter}"), &auth).to_request(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["totalResults"].clone()),
            (StatusCode::OK, json!(0))
        );

        // 6. Create it (POST with application/json, as the suite does).
        let body = json!({"schemas": [USER], "userName": random,
            "name": {"givenName": "Abcdefgh", "familyName": "Runscope"},
            "emails": [{"primary": true, "value": random, "type": "work"}],
            "displayName": "Abcdefgh Runscope", "active": true});
        let post = || {
            okta(Method::POST, "/Users", &auth)
                .insert_header(("Content-Type", "application/json"))
                .insert_header(("Accept", "application/scim+json; charset=utf-8"))
                .set_payload(body.to_string())
                .to_request()
        };
        let r = send(&app, post()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        assert_eq!(r.body["active"], true);
        assert_eq!(r.body["name"]["familyName"], "Runscope");
        assert_eq!(r.body["name"]["givenName"], "Abcdefgh");
        assert_eq!(r.body["userName"], random);
        assert!(r.body["schemas"].as_array().unwrap().contains(&json!(USER)));
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.header("location"), r.body["meta"]["location"].as_str());
        assert_eq!(
            r.header("location").unwrap(),
            format!("{PUBLIC_URL}{BASE}/Users/{id}")
        );
        assert_eq!(r.body["emails"][0]["value"], random);

        // 7. Read back.
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users/{id}"), &auth).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["userName"], random);
        assert_eq!(r.body["name"]["familyName"], "Runscope");

        // 8. The same POST again: 409.
        let r = send(&app, post()).await;
        r.assert_error(409, Some("uniqueness"));

        // 9. userName matches case-insensitively.
        let filter = enc(&format!(r#"userName eq "{}""#, random.to_uppercase()));
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users?filter={filter}"), &auth).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["totalResults"], 1);
        assert_eq!(r.body["Resources"][0]["id"], id.as_str());

        // 10. Groups (optional test): a ListResponse with an array.
        let r = send(&app, okta(Method::GET, "/Groups", &auth).to_request()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body["totalResults"], 0);
        assert!(r.body["Resources"].is_array());

        // 11. A bad Authorization header: 401 with the Error schema.
        let r = send(
            &app,
            okta(Method::GET, &format!("/Users?filter={filter}"), "non-token").to_request(),
        )
        .await;
        r.assert_error(401, None);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));

        // 12. Another unknown id.
        let r = send(
            &app,
            okta(Method::GET, "/Users/00919288221112222", &auth).to_request(),
        )
        .await;
        r.assert_error(404, None);
    }
}

#[actix_web::test]
async fn okta_crud_test_deactivation_keeps_the_user_readable() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(&app, req(Method::POST, "/Users", t, Some(json!({
            "schemas": [USER], "userName": "crud@atko.com",
            "name": {"givenName": "Crud", "familyName": "Test"},
            "emails": [{"primary": true, "value": "crud@atko.com", "type": "work"}], "active": true})))
            .to_request()).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let filter = enc(r#"userName eq "crud@atko.com""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={filter}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            r.body["Resources"][0]["emails"][0]["value"],
            "crud@atko.com"
        );
        assert_eq!(r.body["Resources"][0]["name"]["givenName"], "Crud");

        // Okta's PATCH (OIN apps): path-less replace with an object value.
        let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]});
        let r = send(
            &app,
            req(Method::PATCH, &format!("/Users/{id}"), t, Some(deactivate)).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["active"], false);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["active"].clone()),
            (StatusCode::OK, json!(false))
        );
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={filter}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            r.body["Resources"][0]["active"], false,
            "filters still find them"
        );

        let activate = json!({"Operations": [{"op": "replace", "value": {"active": true}}]});
        let r = send(
            &app,
            req(Method::PATCH, &format!("/Users/{id}"), t, Some(activate)).to_request(),
        )
        .await;
        assert_eq!(r.body["active"], true);
    }
}

#[actix_web::test]
async fn okta_production_client_users_and_groups() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let b = env.backend;
        // Existence check.
        let r = send(
            &app,
            req(
                Method::GET,
                "/Users?filter=userName%20eq%20%22x%40y.test%22&startIndex=1&count=100",
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["totalResults"].clone()),
            (StatusCode::OK, json!(0))
        );
        // Create with the placeholder password, locale, externalId and groups: [].
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(json!({
            "schemas": [USER], "userName": "x@y.test",
            "name": {"givenName": "Xavier", "familyName": "Young"},
            "emails": [{"primary": true, "value": "x@y.test", "type": "work"}],
            "displayName": "Xavier Young", "locale": "en-US", "externalId": "00u1okta",
            "groups": [], "password": "tmp-Placeholder-1!", "active": true})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        assert!(r.body.get("password").is_none(), "write-only");
        assert_eq!(r.body["externalId"], "00u1okta");
        assert_eq!(r.body["locale"], "en-US");
        let id = r.body["id"].as_str().unwrap().to_owned();
        let member = env
            .state
            .store
            .user(env.account.id, id.parse().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            member.password_hash, None,
            "the placeholder password is ignored"
        );
        assert_eq!(member.origin, portcullis_domain::UserOrigin::Scim);
        assert_eq!(member.role, portcullis_domain::Role::Member);

        // Update: GET, then PUT the whole object back (id, meta, groups, emails[].display).
        let mut full = send(
            &app,
            req(Method::GET, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await
        .body;
        full["name"]["givenName"] = json!("Xena");
        full["emails"][0]["display"] = json!("x@y.test");
        full["groups"] = json!([]);
        let r = send(
            &app,
            req(Method::PUT, &format!("/Users/{id}"), t, Some(full.clone())).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["name"]["givenName"], "Xena");
        assert_eq!(r.body["meta"]["created"], full["meta"]["created"]);
        // AIW apps deactivate with PUT too.
        full["active"] = json!(false);
        let r = send(
            &app,
            req(Method::PUT, &format!("/Users/{id}"), t, Some(full)).to_request(),
        )
        .await;
        assert_eq!(r.body["active"], false);

        // Import paging: same order whatever the page size.
        let all = send(
            &app,
            req(Method::GET, "/Users?startIndex=1&count=100", t, None).to_request(),
        )
        .await
        .body;
        let ids: Vec<Value> = all["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone())
            .collect();
        assert_eq!(all["totalResults"], 2, "the admin and x@y; never the bots");
        let p2 = send(
            &app,
            req(Method::GET, "/Users?startIndex=2&count=1", t, None).to_request(),
        )
        .await
        .body;
        assert_eq!(p2["Resources"][0]["id"], ids[1]);
        assert_eq!(p2["startIndex"], 2);

        // Push groups: create, existence check, rename with id in the value, membership.
        let r = send(&app, req(Method::POST, "/Groups", t, Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "members": []}))).to_request()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        let gid = r.body["id"].as_str().unwrap().to_owned();
        let filter = enc(r#"displayName eq "engineering""#);
        let r = send(
            &app,
            req(
                Method::GET,
                &format!("/Groups?filter={filter}&startIndex=1&count=100"),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["Resources"][0]["id"], gid.as_str());
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                t,
                Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Eng"}}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(
            (r.status, r.body["displayName"].clone()),
            (StatusCode::OK, json!("Eng")),
            "{}",
            r.text
        );
        let admin = env.admin.id.to_string();
        let r = send(&app, req(Method::PATCH, &format!("/Groups/{gid}"), t, Some(json!({
            "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{admin}\"]")},
                {"op": "add", "path": "members", "value": [{"value": id, "display": "x@y.test"}, {"value": admin}]}]}))).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            r.body["groups"][0]["value"],
            gid.as_str(),
            "groups reflect memberships"
        );
        assert_eq!(r.body["groups"][0]["display"], "Eng");
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Groups/{gid}"),
                t,
                Some(json!({
            "Operations": [{"op": "replace", "path": "members", "value": [{"value": admin}]}]})),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["members"][0]["value"], admin.as_str());
        let r = send(
            &app,
            req(Method::DELETE, &format!("/Groups/{gid}"), t, None).to_request(),
        )
        .await;
        assert_eq!((r.status, r.text.as_str()), (StatusCode::NO_CONTENT, ""));
        let r = send(
            &app,
            req(Method::GET, &format!("/Groups/{gid}"), t, None).to_request(),
        )
        .await;
        r.assert_error(404, None);
    }
}
