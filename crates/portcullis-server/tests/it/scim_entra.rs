//! What Microsoft Entra ID's provisioning service sends: Test Connection with a random
//! GUID, creates with enterprise URNs, `meta`, `roles`, nulls and the misspelled URN,
//! capitalised ops, `"False"` strings, dotted keys (with and without `aadOptscim062020`),
//! `emails[type eq "work"].value`, the manager, group membership, and DELETE.

use actix_web::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::app;
use crate::scim_support::{enc, envs, req, send};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn ops(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[actix_web::test]
async fn entra_user_lifecycle() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let b = env.backend;

        // Test Connection: a random GUID as the matching property → an empty ListResponse.
        let guid = uuid::Uuid::new_v4();
        for attr in ["userName", "externalId", "id"] {
            let f = enc(&format!(r#"{attr} eq "{guid}""#));
            let r = send(
                &app,
                req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{b} {attr}: {}", r.text);
            assert_eq!(r.body["totalResults"], 0);
            assert_eq!(r.body["Resources"], json!([]));
        }

        // Create, as in Microsoft's examples (old and new).
        let r = send(&app, req(Method::POST, "/Users", t, Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "externalId": "jyoung", "userName": "Test_User_ab6490ee@testuser.com", "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [], "addresses": null, "phoneNumbers": null, "title": null, "department": null, "manager": null,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"employeeNumber": "701984", "department": "4310"}
        }))).to_request()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        assert_eq!(
            r.body[ENT]["employeeNumber"], "701984",
            "the misspelled URN is understood"
        );
        assert!(r.body.get("title").is_none() && r.body.get("roles").is_none());
        let id = r.body["id"].as_str().unwrap().to_owned();

        // Queries Entra sends: unquoted externalId, work email, case-insensitive userName.
        for f in [
            "externalId eq jyoung".to_owned(),
            r#"emails[type eq "work"].value eq "test_user_fd0ea19b@testuser.com""#.to_owned(),
            r#"userName eq "TEST_USER_AB6490EE@testuser.com""#.to_owned(),
            format!(r#"id eq "{id}""#),
        ] {
            let r = send(
                &app,
                req(Method::GET, &format!("/Users?filter={}", enc(&f)), t, None).to_request(),
            )
            .await;
            assert_eq!(r.body["totalResults"], 1, "{b} {f}: {}", r.text);
            assert_eq!(r.body["Resources"][0]["id"], id.as_str());
        }

        // Default PATCH style: capitalised ops, paths, a string boolean.
        let r = send(&app, req(Method::PATCH, &format!("/Users/{id}"), t, Some(ops(json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new_work@testuser.com"},
            {"op": "Replace", "path": "name.familyName", "value": "Young"},
            {"op": "Replace", "path": "userName", "value": "jyoung@testuser.com"},
            {"op": "Replace", "path": "externalId", "value": "jyoung2"},
            {"op": "Replace", "path": format!("{ENT}:employeeNumber"), "value": "42"},
            {"op": "Add", "path": "nickName", "value": "Babs"},
        ])))).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["userName"], "jyoung@testuser.com");
        assert_eq!(r.body["name"]["familyName"], "Young");
        assert_eq!(r.body["nickName"], "Babs");
        assert_eq!(r.body[ENT]["employeeNumber"], "42");
        assert_eq!(r.body["emails"][0]["value"], "new_work@testuser.com");
        let f = enc(r#"emails[type eq "work"].value eq "new_work@testuser.com""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            r.body["totalResults"], 1,
            "the work-email index follows the PATCH"
        );

        // aadOptscim062020: one path-less replace with dotted keys, a real boolean.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{id}"),
                t,
                Some(ops(json!([
                    {"op": "replace", "value": {"displayName": "Jo Young", "name.givenName": "Jo",
                     "name.familyName": "Young-Smith", format!("{ENT}:employeeNumber"): "43"}}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["displayName"], "Jo Young");
        assert_eq!(r.body["name"]["givenName"], "Jo");
        assert_eq!(r.body["name"]["familyName"], "Young-Smith");
        assert_eq!(r.body[ENT]["employeeNumber"], "43");

        // Manager: set, change, clear.
        let admin = env.admin.id.to_string();
        let r = send(&app, req(Method::PATCH, &format!("/Users/{id}"), t, Some(ops(json!([
            {"op": "Add", "path": "manager", "value": [{"$ref": format!("https://x/Users/{admin}"), "value": admin}]}
        ])))).to_request()).await;
        assert_eq!(
            r.body[ENT]["manager"]["value"],
            admin.as_str(),
            "{b}: {}",
            r.text
        );
        let f = enc(&format!(
            r#"id eq "{id}" and {ENT}:manager.value eq "{admin}""#
        ));
        let r2 = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r2.body["totalResults"], 1, "the manager check: {}", r2.text);
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{id}"),
                t,
                Some(ops(json!([
                    {"op": "Replace", "path": "manager", "value": "someone-else"}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert_eq!(
            r.body[ENT]["manager"]["value"], "someone-else",
            "{}",
            r.text
        );
        assert!(
            r.body[ENT]["manager"].get("$ref").is_none(),
            "no stale $ref"
        );
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{id}"),
                t,
                Some(ops(json!([
                    {"op": "Replace", "path": "manager", "value": ""}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert!(r.body[ENT].get("manager").is_none(), "{}", r.text);

        // Null update: "" then null read back as absent.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{id}"),
                t,
                Some(ops(json!([
                    {"op": "Replace", "path": "nickName", "value": ""},
                    {"op": "Replace", "path": "displayName", "value": null}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert!(
            r.body.get("nickName").is_none() && r.body.get("displayName").is_none(),
            "{}",
            r.text
        );

        // Disable with a string boolean; still readable; filters still find it.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("/Users/{id}"),
                t,
                Some(ops(json!([
                    {"op": "Replace", "path": "active", "value": "False"}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["active"], false, "{}", r.text);
        let f = enc(r#"userName eq "jyoung@testuser.com""#);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users?filter={f}"), t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["Resources"][0]["active"], false);

        // DELETE: 204, then 404.
        let r = send(
            &app,
            req(Method::DELETE, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await;
        assert_eq!((r.status, r.text.as_str()), (StatusCode::NO_CONTENT, ""));
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await;
        r.assert_error(404, None);
        let r = send(
            &app,
            req(Method::DELETE, &format!("/Users/{id}"), t, None).to_request(),
        )
        .await;
        r.assert_error(404, None);
    }
}

#[actix_web::test]
async fn entra_groups() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let b = env.backend;
        let mut users = Vec::new();
        for n in 0..3 {
            let r = send(
                &app,
                req(
                    Method::POST,
                    "/Users",
                    t,
                    Some(json!({"userName": format!("u{n}@contoso.test")})),
                )
                .to_request(),
            )
            .await;
            users.push(r.body["id"].as_str().unwrap().to_owned());
        }
        let r = send(&app, req(Method::POST, "/Groups", t, Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName",
            "meta": {"resourceType": "Group"}}))).to_request()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{b}: {}", r.text);
        let gid = r.body["id"].as_str().unwrap().to_owned();
        assert!(r.header("etag").is_some());

        let f = enc(r#"displayName eq "Group1DisplayName""#);
        let r = send(
            &app,
            req(
                Method::GET,
                &format!("/Groups?excludedAttributes=members&filter={f}"),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["totalResults"], 1, "{}", r.text);
        let path = format!("/Groups/{gid}");
        let r = send(&app, req(Method::PATCH, &path, t, Some(ops(json!([
            {"op": "Add", "path": "members", "value": users.iter().map(|u| json!({"$ref": null, "value": u})).collect::<Vec<_>>()}
        ])))).to_request()).await;
        assert_eq!(r.status, StatusCode::OK, "{b}: {}", r.text);
        assert_eq!(r.body["members"].as_array().unwrap().len(), 3);

        // Remove with a value array removes only those.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &format!("{path}?excludedAttributes=members"),
                t,
                Some(ops(json!([
                    {"op": "Remove", "path": "members", "value": [{"value": users[0]}]}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.get("members").is_none(),
            "excludedAttributes=members is honoured"
        );
        let r = send(&app, req(Method::GET, &path, t, None).to_request()).await;
        let mut left: Vec<&str> = r.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap())
            .collect();
        // Oldest first, then by id: two members made in the same millisecond come in
        // the order of their (random) ids.
        left.sort_unstable();
        let mut kept = vec![users[1].as_str(), users[2].as_str()];
        kept.sort_unstable();
        assert_eq!(left, kept);
        // With aadOptscim062020.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &path,
                t,
                Some(ops(json!([
                    {"op": "remove", "path": format!("members[value eq \"{}\"]", users[1])},
                    {"op": "Replace", "path": "displayName", "value": "Renamed"}
                ]))),
            )
            .to_request(),
        )
        .await;
        assert_eq!(r.body["members"].as_array().unwrap().len(), 1);
        assert_eq!(r.body["displayName"], "Renamed");
        // Replace all.
        let r = send(&app, req(Method::PATCH, &path, t, Some(ops(json!([
            {"op": "replace", "path": "members", "value": [{"value": users[0]}, {"value": users[1]}]}
        ])))).to_request()).await;
        assert_eq!(r.body["members"].as_array().unwrap().len(), 2);

        let r = send(
            &app,
            req(
                Method::GET,
                &format!("{path}?excludedAttributes=members"),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        assert!(r.body.get("members").is_none());
        assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");

        let r = send(&app, req(Method::DELETE, &path, t, None).to_request()).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = send(
            &app,
            req(Method::GET, &format!("/Users/{}", users[0]), t, None).to_request(),
        )
        .await;
        assert!(
            r.body.get("groups").is_none(),
            "memberships go with the group: {}",
            r.text
        );
    }
}
