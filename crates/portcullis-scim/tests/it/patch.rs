//! PATCH: every operation, path form and IdP quirk, table-driven.

use portcullis_scim::patch::{apply, PatchLimits, PatchRequest};
use portcullis_scim::schema::{ResourceSchema, ENTERPRISE_USER, GROUP, USER};
use portcullis_scim::ScimType;
use serde_json::{json, Value};

fn user() -> Value {
    json!({
        "schemas": [USER],
        "id": "u1",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
        "meta": {"resourceType": "User"}
    })
}

fn group() -> Value {
    json!({
        "schemas": [GROUP],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [{"value": "u1", "display": "Babs"}, {"value": "u2"}, {"value": "u3"}]
    })
}

fn run(resource: &Value, ops: Value) -> Result<Value, portcullis_scim::ScimError> {
    let schema = if resource["schemas"][0] == GROUP {
        ResourceSchema::group()
    } else {
        ResourceSchema::user()
    };
    let request: PatchRequest = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    }))
    .expect("a PatchOp body");
    apply(resource, &request, schema, &PatchLimits::default())
}

/// Applies `ops` and checks the attributes in `expected` (a JSON object of top-level
/// attribute values; `null` means absent).
fn check(resource: Value, ops: Value, expected: Value) {
    let out = run(&resource, ops.clone()).unwrap_or_else(|e| panic!("{ops}: {e}"));
    for (k, v) in expected.as_object().expect("object") {
        let got = out.get(k).cloned().unwrap_or(Value::Null);
        assert_eq!(&got, v, "{k} after {ops}\nfull: {out}");
    }
}

fn check_err(resource: Value, ops: Value, scim_type: ScimType) {
    let e = run(&resource, ops.clone()).expect_err(&ops.to_string());
    assert_eq!(e.scim_type, Some(scim_type), "{ops}: {e}");
    assert_eq!(e.status, 400);
}

#[test]
fn add() {
    check(
        user(),
        json!([{"op": "add", "path": "nickName", "value": "Babs"}]),
        json!({"nickName": "Babs"}),
    );
    check(
        user(),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
        json!({"nickName": "Babs"}),
    );
    check(
        user(),
        json!([{"op": "ADD", "path": "name.middleName", "value": "J"}]),
        json!({"name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "b@home.org", "type": "home"}]}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                          {"value": "b@home.org", "type": "home"}]}),
    );
    // A new primary demotes the old one.
    check(
        user(),
        json!([{"op": "add", "path": "emails", "value": {"value": "b@home.org", "primary": "True"}}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": false},
                          {"value": "b@home.org", "primary": true}]}),
    );
    // Adding an element that is already there changes nothing.
    check(
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "name", "value": {"familyName": "Smith"}}]),
        json!({"name": {"givenName": "Barbara", "familyName": "Smith"}}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "roles", "value": []}]),
        json!({"roles": null}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "Guide"}]),
        json!({"title": "Guide"}),
    );
}

#[test]
fn replace() {
    check(
        user(),
        json!([{"op": "replace", "path": "userName", "value": "new@example.com"}]),
        json!({"userName": "new@example.com"}),
    );
    check(
        user(),
        json!([{"op": "Replace", "path": "name.familyName", "value": "Smith"}]),
        json!({"name": {"givenName": "Barbara", "familyName": "Smith"}}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails", "value": [{"value": "x@y.z"}]}]),
        json!({"emails": [{"value": "x@y.z"}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
        json!({"name": {"givenName": "Babs", "familyName": "Jensen"}}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails.type", "value": "home"}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "home", "primary": true}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "USERNAME", "value": "x"}]),
        json!({"userName": "x"}),
    );
}

#[test]
fn remove() {
    check(
        user(),
        json!([{"op": "remove", "path": "name.givenName"}]),
        json!({"name": {"familyName": "Jensen"}}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "name"}]),
        json!({"name": null}),
    );
    check(
        user(),
        json!([{"op": "Remove", "path": "emails"}]),
        json!({"emails": null}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        json!({"emails": null}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work"}]}),
    );
    // Removing what is not there succeeds.
    check(
        user(),
        json!([{"op": "remove", "path": "nickName"}]),
        json!({"nickName": null}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "bjensen@example.com"}]}]),
        json!({"emails": null}),
    );
    check(
        user(),
        json!([{"op": "remove", "path": "emails", "value": [{"value": "other@example.com"}]}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}),
    );
}

#[test]
fn value_filter_paths() {
    check(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
        json!({"emails": [{"value": "new@example.com", "type": "work", "primary": true}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails[TYPE EQ \"WORK\"].value", "value": "n@e.com"}]),
        json!({"emails": [{"value": "n@e.com", "type": "work", "primary": true}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails[value ew \"example.com\"]", "value": {"display": "Work"}}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true, "display": "Work"}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value", "value": "u@e.com"}]),
        json!({"emails": [{"value": "u@e.com", "type": "work", "primary": true}]}),
    );
    // Deviation: no match creates the element (Entra ID relies on it).
    check(
        user(),
        json!([{"op": "Replace", "path": "emails[type eq \"home\"].value", "value": "b@home.org"}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                          {"type": "home", "value": "b@home.org"}]}),
    );
    check(
        json!({"schemas": [USER], "userName": "x"}),
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@e.com"}]),
        json!({"emails": [{"type": "work", "value": "w@e.com"}]}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "555"}]),
        json!({"phoneNumbers": [{"type": "mobile", "primary": true, "value": "555"}]}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
        json!({"emails": [{"value": "bjensen@example.com", "type": "work", "primary": false},
                          {"type": "home", "primary": true}]}),
    );
    // Clearing through a filter.
    check(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": ""}]),
        json!({"emails": [{"type": "work", "primary": true}]}),
    );
    // A filter that does not describe an element cannot create one.
    check_err(
        user(),
        json!([{"op": "replace", "path": "emails[type co \"h\"].value", "value": "x"}]),
        ScimType::NoTarget,
    );
}

#[test]
fn pathless() {
    // Okta's deactivation.
    check(
        user(),
        json!([{"op": "replace", "value": {"active": false}}]),
        json!({"active": false}),
    );
    // Entra ID with aadOptscim062020: dotted keys and URN-qualified keys.
    check(
        user(),
        json!([{"op": "replace", "value": {
            "displayName": "Babs J",
            "name.givenName": "Babs",
            "name.familyName": "J",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"}}]),
        json!({"displayName": "Babs J", "name": {"givenName": "Babs", "familyName": "J"},
               ENTERPRISE_USER: {"employeeNumber": "42"}, "schemas": [USER, ENTERPRISE_USER]}),
    );
    check(
        user(),
        json!([{"op": "add", "value": {ENTERPRISE_USER: {"department": "Tours", "manager": {"value": "m1"}}}}]),
        json!({ENTERPRISE_USER: {"department": "Tours", "manager": {"value": "m1"}}}),
    );
    check(
        user(),
        json!([{"op": "add", "path": ENTERPRISE_USER, "value": {"department": "Tours"}}]),
        json!({ENTERPRISE_USER: {"department": "Tours"}}),
    );
    check(
        user(),
        json!([{"op": "replace", "value": {"emails": [{"value": "z@z.z", "type": "work"}], "nickName": "B"}}]),
        json!({"emails": [{"value": "z@z.z", "type": "work"}], "nickName": "B"}),
    );
    check(
        user(),
        json!([{"op": "replace", "value": {"schemas": [USER], "title": "T"}}]),
        json!({"title": "T"}),
    );
    check_err(
        user(),
        json!([{"op": "replace", "value": "x"}]),
        ScimType::InvalidValue,
    );
    check_err(
        user(),
        json!([{"op": "replace", "value": {"nope": 1}}]),
        ScimType::InvalidPath,
    );
}

#[test]
fn string_booleans_and_clearing() {
    // Entra ID's disable, default mode.
    check(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
        json!({"active": false}),
    );
    check(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "true"}]),
        json!({"active": true}),
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "active", "value": "nope"}]),
        ScimType::InvalidValue,
    );
    // SCIM_Null_Update_Test: "" then null clear.
    check(
        user(),
        json!([{"op": "replace", "path": "name.givenName", "value": ""}]),
        json!({"name": {"familyName": "Jensen"}}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "name.givenName", "value": null}]),
        json!({"name": {"familyName": "Jensen"}}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "emails", "value": null}]),
        json!({"emails": null}),
    );
    check(
        user(),
        json!([{"op": "replace", "value": {"name.givenName": "", "name.familyName": null}}]),
        json!({"name": null}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": ""}}]),
        json!({"name": {"familyName": "Jensen"}}),
    );
}

#[test]
fn manager() {
    let m = |v: Value| json!({ENTERPRISE_USER: v});
    // Entra ID: an array of one object with $ref.
    check(
        user(),
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "http://x/Users/m1", "value": "m1"}]}]),
        m(json!({"manager": {"$ref": "http://x/Users/m1", "value": "m1"}})),
    );
    check(
        user(),
        json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m2"}]),
        m(json!({"manager": {"value": "m2"}})),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": {"value": "m3"}}]),
        m(json!({"manager": {"value": "m3"}})),
    );
    // A new manager replaces the old $ref rather than merging with it.
    let with_manager = run(
        &user(),
        json!([{"op": "add", "path": "manager", "value": {"value": "m1", "$ref": "r1"}}]),
    )
    .unwrap();
    check(
        with_manager.clone(),
        json!([{"op": "replace", "path": "manager", "value": {"value": "m2"}}]),
        m(json!({"manager": {"value": "m2"}})),
    );
    // "Replace with empty" clears, and the empty extension disappears with it.
    check(
        with_manager.clone(),
        json!([{"op": "Replace", "path": "manager", "value": ""}]),
        json!({ENTERPRISE_USER: null, "schemas": [USER]}),
    );
    check(
        with_manager.clone(),
        json!([{"op": "replace", "path": "manager", "value": null}]),
        json!({ENTERPRISE_USER: null}),
    );
    check(
        with_manager.clone(),
        json!([{"op": "replace", "path": "manager", "value": {"value": ""}}]),
        json!({ENTERPRISE_USER: null}),
    );
    check(
        with_manager,
        json!([{"op": "remove", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]),
        json!({ENTERPRISE_USER: null}),
    );
    check(
        user(),
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "value": "m9"}]),
        m(json!({"manager": {"value": "m9"}})),
    );
}

#[test]
fn group_membership() {
    let members = |ids: &[&str]| json!({"members": ids.iter().map(|i| json!({"value": i})).collect::<Vec<_>>()});
    // Entra ID default mode: remove with a value array removes only those members.
    check(
        group(),
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u2"}]}]),
        json!({"members": [{"value": "u1", "display": "Babs"}, {"value": "u3"}]}),
    );
    check(
        group(),
        json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}, {"value": "u3"}]}]),
        members(&["u2"]),
    );
    // Entra ID flag mode and Okta: a value filter.
    check(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
        json!({"members": [{"value": "u1", "display": "Babs"}, {"value": "u3"}]}),
    );
    check(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
        json!({"members": [{"value": "u1", "display": "Babs"}, {"value": "u2"}, {"value": "u3"}]}),
    );
    check(
        group(),
        json!([{"op": "remove", "path": "members"}]),
        json!({"members": null}),
    );
    // Entra ID's add carries "$ref": null; adding a member twice keeps one.
    check(
        group(),
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u4"}, {"value": "u1"}]}]),
        json!({"members": [{"value": "u1", "display": "Babs"}, {"value": "u2"}, {"value": "u3"}, {"value": "u4"}]}),
    );
    // Okta: remove one, add one, in a single request.
    check(
        group(),
        json!([{"op": "remove", "path": "members[value eq \"u1\"]"},
                          {"op": "add", "path": "members", "value": [{"value": "u9", "display": "x@y.z"}]}]),
        json!({"members": [{"value": "u2"}, {"value": "u3"}, {"value": "u9", "display": "x@y.z"}]}),
    );
    check(
        group(),
        json!([{"op": "replace", "path": "members", "value": [{"value": "u7"}]}]),
        members(&["u7"]),
    );
    check(
        group(),
        json!([{"op": "replace", "path": "members", "value": []}]),
        json!({"members": null}),
    );
    check_err(
        group(),
        json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
        ScimType::InvalidValue,
    );
    // Okta's rename repeats the group's own id.
    check(
        group(),
        json!([{"op": "replace", "value": {"id": "g1", "displayName": "Guides"}}]),
        json!({"displayName": "Guides", "id": "g1"}),
    );
    check(
        group(),
        json!([{"op": "Replace", "path": "displayName", "value": "New"}]),
        json!({"displayName": "New"}),
    );
}

#[test]
fn errors() {
    check_err(user(), json!([{"op": "remove"}]), ScimType::NoTarget);
    check_err(
        user(),
        json!([{"op": "replace", "path": "nope", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "name.nope", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].nope", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "emails[type zz \"work\"]", "value": 1}]),
        ScimType::InvalidFilter,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "userName[value eq \"x\"]", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "", "value": 1}]),
        ScimType::InvalidPath,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "id", "value": "other"}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "remove", "path": "id"}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "replace", "value": {"id": "other"}}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "manager.displayName", "value": "x"}]),
        ScimType::Mutability,
    );
    check_err(
        group(),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u5"}]),
        ScimType::Mutability,
    );
    check_err(
        user(),
        json!([{"op": "remove", "path": "userName"}]),
        ScimType::InvalidValue,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "userName", "value": ""}]),
        ScimType::InvalidValue,
    );
    check_err(
        group(),
        json!([{"op": "replace", "path": "displayName", "value": null}]),
        ScimType::InvalidValue,
    );
    check_err(
        user(),
        json!([{"op": "replace", "path": "name", "value": 3}]),
        ScimType::InvalidValue,
    );
    check_err(
        user(),
        json!([{"op": "replace", "value": null}]),
        ScimType::InvalidValue,
    );
    // Idempotent writes of read-only values are fine.
    check(
        user(),
        json!([{"op": "replace", "path": "id", "value": "u1"}]),
        json!({"id": "u1"}),
    );
}

#[test]
fn all_or_nothing() {
    let before = user();
    let e = run(
        &before,
        json!([
            {"op": "replace", "path": "userName", "value": "changed"},
            {"op": "replace", "path": "id", "value": "nope"}
        ]),
    )
    .unwrap_err();
    assert!(e.detail.starts_with("operation 2:"), "{}", e.detail);
    assert_eq!(before, user());
}

#[test]
fn op_names_and_limits() {
    let bad: Result<PatchRequest, _> =
        serde_json::from_value(json!({"Operations": [{"op": "merge", "path": "x"}]}));
    assert!(bad.is_err());
    let lower: PatchRequest =
        serde_json::from_value(json!({"operations": [{"op": "REPLACE", "path": "x", "value": 1}]}))
            .unwrap();
    assert_eq!(lower.operations.len(), 1);
    let ops: Vec<Value> = (0..3)
        .map(|_| json!({"op": "add", "path": "title", "value": "x"}))
        .collect();
    let request: PatchRequest = serde_json::from_value(json!({"Operations": ops})).unwrap();
    let limits = PatchLimits {
        max_operations: 2,
        ..PatchLimits::default()
    };
    let e = apply(&user(), &request, ResourceSchema::user(), &limits).unwrap_err();
    assert_eq!(e.status, 413);
    assert!(PatchRequest::from_json(&json!({"Operations": 3})).is_err());
}

/// RFC 7644 §3.5.2: a PATCH carries one or more operations.
#[test]
fn a_request_without_operations_is_refused() {
    check_err(user(), json!([]), ScimType::InvalidValue);
}

/// RFC 7643 §2.4: at most one primary. A new primary through a path or a value filter
/// takes over (the RFC lets the server clear the old one); a request that itself marks
/// two, or leaves two behind, is refused; a change elsewhere is not refused for two
/// primaries stored before the rule.
#[test]
fn at_most_one_primary() {
    let second = json!({"value": "babs@example.org", "type": "home", "primary": true});
    check(
        user(),
        json!([{"op": "add", "path": "emails", "value": [second.clone()]}]),
        json!({"emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            second.clone(),
        ]}),
    );
    check(
        user(),
        json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": second.clone()}]),
        json!({"emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": false},
            {"type": "home", "value": "babs@example.org", "primary": true},
        ]}),
    );
    for ops in [
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "a@example.org", "primary": true},
            {"value": "b@example.org", "primary": "True"},
        ]}]),
        json!([{"op": "replace", "path": "emails", "value": [
            {"value": "a@example.org", "primary": true},
            {"value": "b@example.org", "primary": true},
        ]}]),
        json!([{"op": "replace", "value": {"phoneNumbers": [
            {"value": "+1 555", "primary": true},
            {"value": "+1 556", "primary": true},
        ]}}]),
        json!([
            {"op": "add", "path": "emails", "value": [{"value": "a@example.org", "type": "home"}]},
            {"op": "replace", "path": "emails.primary", "value": true},
        ]),
    ] {
        check_err(user(), ops, ScimType::InvalidValue);
    }
    let mut legacy = user();
    legacy["emails"] = json!([
        {"value": "a@example.org", "primary": true},
        {"value": "b@example.org", "primary": true},
    ]);
    check(
        legacy.clone(),
        json!([{"op": "replace", "path": "active", "value": false}]),
        json!({"active": false, "emails": legacy["emails"].clone()}),
    );
}
