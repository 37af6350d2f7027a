//! Any JSON body as a create/replace body: it is prepared or refused with a 4xx SCIM error,
//! and a prepared body prepares again to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_scim::resource::prepare;
use portcullis_scim::schema::ResourceSchema;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    for schema in [ResourceSchema::user(), ResourceSchema::group()] {
        match prepare(&body, schema) {
            Ok(out) => assert_eq!(prepare(&out, schema).ok().as_ref(), Some(&out)),
            Err(e) => assert!((400..500).contains(&e.status)),
        }
    }
});
