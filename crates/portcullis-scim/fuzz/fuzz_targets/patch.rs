//! Any JSON body as a PATCH request against a fixed user and group: it applies or fails with
//! a 4xx SCIM error, and an applied patch keeps the resource well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_scim::patch::{apply, PatchLimits, PatchRequest};
use portcullis_scim::schema::ResourceSchema;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(request) = PatchRequest::from_json(&body) else { return };
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "u",
                      "emails": [{"value": "a@b", "type": "work", "primary": true}]});
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g", "displayName": "G",
                       "members": [{"value": "1"}]});
    for (resource, schema) in [(user, ResourceSchema::user()), (group, ResourceSchema::group())] {
        match apply(&resource, &request, schema, &PatchLimits::default()) {
            Ok(out) => {
                assert_eq!(out["id"], resource["id"]);
                assert!(out["schemas"].is_array());
            }
            Err(e) => assert!((400..500).contains(&e.status)),
        }
    }
});
