//! Input preparation, accessors, server attributes and projection.

use chrono::{TimeZone, Utc};
use portcullis_scim::path::AttrPath;
use portcullis_scim::projection::project;
use portcullis_scim::resource::{self, prepare, Meta};
use portcullis_scim::schema::{ResourceSchema, ENTERPRISE_USER, GROUP, MS_GROUP_EXTENSION, USER};
use portcullis_scim::ScimType;
use serde_json::{json, Value};

fn check(schema: &ResourceSchema, input: Value, expected: Value) {
    let got = prepare(&input, schema).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(got, expected, "{input}");
}

fn check_err(schema: &ResourceSchema, input: Value, scim_type: ScimType) {
    let e = prepare(&input, schema).unwrap_err();
    assert_eq!(e.scim_type, Some(scim_type), "{input}: {e}");
}

#[test]
fn okta_create_and_put() {
    let users = ResourceSchema::user();
    // Okta's create: a placeholder password and empty groups.
    check(
        users,
        json!({
            "schemas": [USER], "userName": "a@atko.com",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"primary": true, "value": "a@atko.com", "type": "work"}],
            "displayName": "A B", "locale": "en-US", "externalId": "00u1",
            "groups": [], "password": "placeholder", "active": true
        }),
        json!({
            "schemas": [USER], "userName": "a@atko.com",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"primary": true, "value": "a@atko.com", "type": "work"}],
            "displayName": "A B", "locale": "en-US", "externalId": "00u1", "active": true
        }),
    );
    // Okta's PUT echoes id, meta, groups and emails[].display.
    check(
        users,
        json!({
            "schemas": [USER], "id": "42", "userName": "a@atko.com",
            "meta": {"resourceType": "User", "version": "W/\"1\""},
            "groups": [{"value": "g1", "display": "G"}],
            "emails": [{"value": "a@atko.com", "display": "a@atko.com"}], "active": false
        }),
        json!({
            "schemas": [USER], "userName": "a@atko.com",
            "emails": [{"value": "a@atko.com", "display": "a@atko.com"}], "active": false
        }),
    );
    assert_eq!(resource::password(&json!({"password": "p"})), Some("p"));
}

#[test]
fn entra_create() {
    let users = ResourceSchema::user();
    check(
        users,
        json!({
            "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
            "externalId": "0a21f0f2", "userName": "Test_User_ab6490ee@testuser.com", "active": "True",
            "emails": [{"primary": "true", "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "roles": [],
            "addresses": null, "phoneNumbers": null, "title": null,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": null, "manager": null, "employeeNumber": "7"}
        }),
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "externalId": "0a21f0f2", "userName": "Test_User_ab6490ee@testuser.com", "active": true,
            "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            ENTERPRISE_USER: {"employeeNumber": "7"}
        }),
    );
    // URN-qualified keys, odd casing and unknown attributes.
    check(
        users,
        json!({
            "USERNAME": "x", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter": "c1",
            "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "n", "favouriteColour": "blue",
            "urn:example:unknown:1.0:Thing": {"a": 1}
        }),
        json!({
            "schemas": [USER, ENTERPRISE_USER], "userName": "x", "nickName": "n",
            ENTERPRISE_USER: {"costCenter": "c1"}
        }),
    );
}

#[test]
fn groups() {
    let groups = ResourceSchema::group();
    check(
        groups,
        json!({"schemas": [GROUP, MS_GROUP_EXTENSION], "externalId": "e", "displayName": "G",
                         "meta": {"resourceType": "Group"}}),
        json!({"schemas": [GROUP], "externalId": "e", "displayName": "G"}),
    );
    check(
        groups,
        json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "u1", "display": "x"}, {"value": "u1"}]}),
        json!({"schemas": [GROUP], "displayName": "G", "members": [{"value": "u1", "display": "x"}]}),
    );
    check(
        groups,
        json!({"displayName": "G", "members": []}),
        json!({"schemas": [GROUP], "displayName": "G"}),
    );
    check_err(groups, json!({"members": []}), ScimType::InvalidValue);
}

#[test]
fn refusals() {
    let users = ResourceSchema::user();
    check_err(
        users,
        json!({"name": {"givenName": "x"}}),
        ScimType::InvalidValue,
    );
    check_err(users, json!({"userName": ""}), ScimType::InvalidValue);
    check_err(users, json!({"userName": null}), ScimType::InvalidValue);
    check_err(
        users,
        json!({"userName": "x", "active": "maybe"}),
        ScimType::InvalidValue,
    );
    check_err(
        users,
        json!({"userName": "x", "name": "not-an-object"}),
        ScimType::InvalidValue,
    );
    check_err(
        users,
        json!({"userName": "x", "emails": [[1]]}),
        ScimType::InvalidValue,
    );
    check_err(users, json!([1]), ScimType::InvalidSyntax);
    // RFC 7643 §2.4: at most one primary per multi-valued attribute.
    for attr in ["emails", "phoneNumbers", "addresses"] {
        check_err(
            users,
            json!({"userName": "x", attr: [
                {"value": "a", "primary": true},
                {"value": "b", "primary": "true"},
            ]}),
            ScimType::InvalidValue,
        );
    }
    check(
        users,
        json!({"userName": "x", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}]}),
        json!({"schemas": [USER], "userName": "x", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": false}]}),
    );
}

#[test]
fn accessors() {
    let u = json!({"id": "1", "userName": "u", "externalId": "e", "displayName": "D", "active": "False",
                   "emails": [{"value": "h@x", "type": "home", "primary": true}, {"value": "w@x", "type": "work"}],
                   ENTERPRISE_USER: {"manager": {"value": "m"}}});
    assert_eq!(resource::id(&u), Some("1"));
    assert_eq!(resource::user_name(&u), Some("u"));
    assert_eq!(resource::external_id(&u), Some("e"));
    assert_eq!(resource::display_name(&u), Some("D"));
    assert_eq!(resource::active(&u), Some(false));
    assert_eq!(resource::work_email(&u), Some("w@x"));
    assert_eq!(resource::emails(&u).len(), 2);
    assert!(resource::emails(&u)[0].primary);
    assert_eq!(resource::manager_id(&u), Some("m"));
    let g = json!({"members": [{"value": "u1", "display": "A"}, {"display": "no value"}]});
    let m = resource::members(&g);
    assert_eq!((m.len(), m[0].value, m[0].display), (1, "u1", Some("A")));
}

#[test]
fn server_attributes_and_replace_checks() {
    let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    let meta = Meta::new(
        ResourceSchema::user(),
        "https://h/scim/v2/",
        "42",
        t,
        t,
        "7",
    );
    let u = resource::with_server_attributes(
        json!({"userName": "u", "id": "client"}),
        "42",
        &meta,
        Some(vec![]),
    );
    assert_eq!(u["id"], "42");
    assert_eq!(
        u["meta"],
        json!({"resourceType": "User", "created": "2024-05-01T12:00:00.000Z",
        "lastModified": "2024-05-01T12:00:00.000Z", "location": "https://h/scim/v2/Users/42", "version": "W/\"7\""})
    );
    // Serialised directly, meta is the same object.
    assert_eq!(serde_json::to_value(&meta).unwrap(), u["meta"]);
    let mut stripped = u.clone();
    resource::strip_server_attributes(&mut stripped);
    assert_eq!(stripped, json!({"userName": "u"}));

    let groups = ResourceSchema::group();
    let old = json!({"displayName": "G"});
    assert!(resource::check_replace(&old, &json!({"displayName": "H"}), groups).is_ok());
}

fn user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE_USER], "id": "1", "userName": "u", "password": "secret",
        "name": {"givenName": "G", "familyName": "F"}, "active": true,
        "emails": [{"value": "w@x", "type": "work"}],
        "meta": {"resourceType": "User"},
        ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "M"}},
        "extra": 1
    })
}

fn check_project(attributes: &str, excluded: &str, expected: Value) {
    let paths = |s: &str| -> Vec<AttrPath> {
        s.split(',')
            .filter(|p| !p.is_empty())
            .map(|p| AttrPath::parse(p).unwrap())
            .collect()
    };
    let got = project(
        &user(),
        ResourceSchema::user(),
        &paths(attributes),
        &paths(excluded),
    );
    assert_eq!(got, expected, "attributes={attributes} excluded={excluded}");
}

#[test]
fn projection() {
    let s = json!([USER, ENTERPRISE_USER]);
    let mut all = user();
    all.as_object_mut().unwrap().remove("password");
    check_project("", "", all);
    check_project(
        "userName",
        "",
        json!({"schemas": s, "id": "1", "userName": "u"}),
    );
    check_project(
        "USERNAME,name.familyName",
        "",
        json!({"schemas": s, "id": "1", "userName": "u", "name": {"familyName": "F"}}),
    );
    check_project(
        "emails.value",
        "",
        json!({"schemas": s, "id": "1", "emails": [{"value": "w@x"}]}),
    );
    check_project("password,id", "", json!({"schemas": s, "id": "1"}));
    check_project(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "",
        json!({"schemas": s, "id": "1", ENTERPRISE_USER: {"manager": {"value": "m", "displayName": "M"}}}),
    );
    check_project(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "",
        json!({"schemas": s, "id": "1", ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "M"}}}),
    );
    check_project(
        "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName",
        "",
        json!({"schemas": s, "id": "1", "name": {"givenName": "G"}}),
    );
    check_project("", "emails,meta,extra,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,name.givenName,id",
        json!({"schemas": s, "id": "1", "userName": "u", "name": {"familyName": "F"}, "active": true}));
    check_project(
        "",
        "name.givenName,name.familyName",
        json!({"schemas": s, "id": "1", "userName": "u", "active": true,
        "emails": [{"value": "w@x", "type": "work"}], "meta": {"resourceType": "User"},
        ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m", "displayName": "M"}}, "extra": 1}),
    );
    // Entra ID's group read.
    let g = json!({"schemas": [GROUP], "id": "g", "displayName": "G", "members": [{"value": "u"}]});
    let excluded = [AttrPath::parse("members").unwrap()];
    assert_eq!(
        project(&g, ResourceSchema::group(), &[], &excluded),
        json!({"schemas": [GROUP], "id": "g", "displayName": "G"})
    );
}
