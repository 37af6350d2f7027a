//! Discovery documents and Bulk.

use portcullis_scim::bulk::{self, BulkLimits, BulkOperation, BulkOutcome, BulkRequest};
use portcullis_scim::discovery::{self, AuthenticationScheme, BulkConfig, ServiceProviderConfig};
use portcullis_scim::schema::{ResourceSchema, ENTERPRISE_USER, GROUP, USER};
use portcullis_scim::ScimError;
use serde_json::{json, Value};

const BASE: &str = "https://h/scim/v2/";

fn types() -> [&'static ResourceSchema; 2] {
    [ResourceSchema::user(), ResourceSchema::group()]
}

#[test]
fn service_provider_config() {
    let config = ServiceProviderConfig {
        bulk: Some(BulkConfig {
            max_operations: 100,
            max_payload_size: 1_048_576,
        }),
        filter_max_results: Some(200),
        etag: true,
        authentication_schemes: vec![AuthenticationScheme::bearer_token()],
        ..ServiceProviderConfig::default()
    };
    let doc = discovery::service_provider_config(&config, BASE);
    assert_eq!(
        doc["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(doc["patch"], json!({"supported": true}));
    assert_eq!(
        doc["bulk"],
        json!({"supported": true, "maxOperations": 100, "maxPayloadSize": 1_048_576})
    );
    assert_eq!(doc["filter"], json!({"supported": true, "maxResults": 200}));
    assert_eq!(doc["changePassword"], json!({"supported": false}));
    assert_eq!(doc["sort"], json!({"supported": false}));
    assert_eq!(doc["etag"], json!({"supported": true}));
    assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        doc["meta"]["location"],
        "https://h/scim/v2/ServiceProviderConfig"
    );
}

/// Every attribute name of a schema document, flattened the way Entra ID's
/// Schema_Discoverability_Test looks for them (`name.givenName`).
fn flattened(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for a in doc["attributes"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        out.push(name.to_owned());
        for s in a["subAttributes"].as_array().into_iter().flatten() {
            out.push(format!("{name}.{}", s["name"].as_str().unwrap()));
        }
    }
    out
}

#[test]
fn schemas() {
    let list = discovery::schemas(&types(), BASE);
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let ids: Vec<&str> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, ENTERPRISE_USER, GROUP]);
    let user = discovery::find_schema(&types(), USER, BASE).unwrap();
    assert_eq!(
        user["meta"]["location"],
        format!("https://h/scim/v2/Schemas/{USER}")
    );
    let names = flattened(&user);
    for expected in [
        "userName",
        "name.givenName",
        "name.familyName",
        "emails.value",
        "emails.type",
        "active",
        "addresses.streetAddress",
        "phoneNumbers.type",
        "x509Certificates.value",
        "groups.$ref",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}");
    }
    let user_name = &user["attributes"][0];
    assert_eq!(
        user_name,
        &json!({"name": "userName", "type": "string", "multiValued": false,
        "description": "Unique identifier for the user, compared case-insensitively.", "required": true,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server"})
    );
    // No nulls anywhere (Entra ID): absent values are left out.
    assert!(!list.to_string().contains("null"));
    let ext = discovery::find_schema(&types(), ENTERPRISE_USER, BASE).unwrap();
    assert!(flattened(&ext).contains(&"manager.value".to_owned()));
    let group = discovery::find_schema(&types(), GROUP, BASE).unwrap();
    assert!(flattened(&group).contains(&"members.value".to_owned()));
    assert_eq!(discovery::find_schema(&types(), "urn:nope", BASE), None);
}

#[test]
fn resource_types() {
    let list = discovery::resource_types(&types(), BASE);
    assert_eq!(list["totalResults"], 2);
    let user = discovery::find_resource_type(&types(), "user", BASE).unwrap();
    assert_eq!(
        user,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "description": "User Account",
            "schema": USER, "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": "https://h/scim/v2/ResourceTypes/User"}
        })
    );
    let group = discovery::find_resource_type(&types(), "Group", BASE).unwrap();
    assert_eq!(group.get("schemaExtensions"), None);
    assert_eq!(discovery::find_resource_type(&types(), "Nope", BASE), None);
}

fn bulk_request(ops: Value, fail_on_errors: Option<usize>) -> BulkRequest {
    serde_json::from_value(json!({"schemas": [bulk::BULK_REQUEST_SCHEMA], "failOnErrors": fail_on_errors, "Operations": ops})).unwrap()
}

/// A fake store: creates get ids `id-N`; paths containing "fail" fail.
fn executor() -> impl FnMut(&BulkOperation) -> Result<BulkOutcome, ScimError> {
    let mut n = 0;
    move |op: &BulkOperation| {
        if op.path.contains("fail") {
            return Err(ScimError::invalid_value("bad"));
        }
        n += 1;
        Ok(BulkOutcome::created(
            format!("https://h/scim/v2{}/id-{n}", op.path),
            "v1",
        ))
    }
}

#[test]
fn bulk_resolves_references_in_order() {
    let mut seen = Vec::new();
    let mut inner = executor();
    let request = bulk_request(
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "a"}},
            {"method": "post", "path": "/Groups", "bulkId": "g", "data": {"members": [{"value": "bulkId:a"}]}},
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"Operations": []}},
            {"method": "POST", "path": "/Groups", "data": {"members": [{"value": "bulkId:later"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "later", "data": {}},
            {"method": "GET", "path": "/Users"}
        ]),
        None,
    );
    let response = bulk::run(
        &request,
        &BulkLimits::default(),
        &mut |op: &BulkOperation| {
            seen.push((op.path.clone(), op.data.clone()));
            inner(op)
        },
    )
    .unwrap();
    assert_eq!(seen[1].1, Some(json!({"members": [{"value": "id-1"}]})));
    assert_eq!(seen[2].0, "/Groups/id-2");
    let statuses: Vec<&str> = response
        .operations
        .iter()
        .map(|o| o.status.as_str())
        .collect();
    // A forward reference is not resolved (operations run in order); GET is not a bulk method.
    assert_eq!(statuses, ["201", "201", "201", "409", "201", "400"]);
    assert_eq!(
        response.operations[3].response.as_ref().unwrap()["scimType"],
        "invalidValue"
    );
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json["Operations"][0],
        json!({"method": "POST", "bulkId": "a", "version": "v1",
        "location": "https://h/scim/v2/Users/id-1", "status": "201"})
    );
}

#[test]
fn bulk_fail_on_errors_and_limits() {
    let ops = json!([
        {"method": "POST", "path": "/fail", "data": {}},
        {"method": "POST", "path": "/Users", "data": {}},
        {"method": "POST", "path": "/fail", "data": {}},
        {"method": "POST", "path": "/Users", "data": {}}
    ]);
    let count = |f: Option<usize>| {
        bulk::run(
            &bulk_request(ops.clone(), f),
            &BulkLimits::default(),
            &mut executor(),
        )
        .unwrap()
        .operations
        .len()
    };
    assert_eq!(count(None), 4);
    assert_eq!(count(Some(1)), 1);
    assert_eq!(count(Some(2)), 3);
    let limits = BulkLimits {
        max_operations: 3,
        max_payload_size: 10,
    };
    assert_eq!(
        bulk::run(&bulk_request(ops, None), &limits, &mut executor())
            .unwrap_err()
            .status,
        413
    );
    assert_eq!(
        bulk::check_payload_size(11, &limits).unwrap_err().status,
        413
    );
    assert!(bulk::check_payload_size(10, &limits).is_ok());
}
