//! What an Entra ID provisioning cycle costs this crate: parsing and evaluating its matching
//! filter, and applying its two most common PATCH requests.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use portcullis_scim::filter::Filter;
use portcullis_scim::patch::{apply, PatchLimits, PatchRequest};
use portcullis_scim::projection::project;
use portcullis_scim::resource::prepare;
use portcullis_scim::schema::ResourceSchema;
use serde_json::{json, Value};

const ENTRA_FILTER: &str =
    r#"userName eq "Test_User_ab6490ee-8a73-4d28-b4ee-ee3d3a1bc5d5@testuser.com""#;
const ENTRA_EMAIL_FILTER: &str =
    r#"emails[type eq "work"].value eq "Test_User_fd0ea19b@testuser.com""#;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "TEST_USER_AB6490EE-8a73-4d28-b4ee-ee3d3a1bc5d5@testuser.com",
        "active": true,
        "displayName": "Test User",
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984", "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

fn request(ops: Value) -> PatchRequest {
    serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    }))
    .unwrap()
}

fn filters(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let u = user();
    c.bench_function("filter/parse userName eq", |b| {
        b.iter(|| Filter::parse(black_box(ENTRA_FILTER)).unwrap())
    });
    c.bench_function("filter/parse emails[type eq].value eq", |b| {
        b.iter(|| Filter::parse(black_box(ENTRA_EMAIL_FILTER)).unwrap())
    });
    let f = Filter::parse(ENTRA_FILTER).unwrap();
    c.bench_function("filter/evaluate userName eq (case-insensitive hit)", |b| {
        b.iter(|| assert!(f.matches(black_box(&u), schema)))
    });
    let f = Filter::parse(ENTRA_EMAIL_FILTER).unwrap();
    c.bench_function("filter/evaluate emails[type eq].value eq", |b| {
        b.iter(|| assert!(f.matches(black_box(&u), schema)))
    });
}

fn patches(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let limits = PatchLimits::default();
    let u = user();
    let disable = request(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    c.bench_function("patch/Replace active \"False\"", |b| {
        b.iter(|| apply(black_box(&u), &disable, schema, &limits).unwrap())
    });
    let dotted = request(json!([{"op": "replace", "value": {
        "displayName": "New Name",
        "name.givenName": "New",
        "name.familyName": "Name",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42"
    }}]));
    c.bench_function("patch/path-less dotted-key replace", |b| {
        b.iter(|| apply(black_box(&u), &dotted, schema, &limits).unwrap())
    });
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x@y.z"}]});
    c.bench_function("patch/parse request body", |b| {
        b.iter(|| PatchRequest::from_json(black_box(&body)).unwrap())
    });
}

fn resources(c: &mut Criterion) {
    let schema = ResourceSchema::user();
    let u = user();
    c.bench_function("resource/prepare Entra create body", |b| {
        b.iter(|| prepare(black_box(&u), schema).unwrap())
    });
    c.bench_function("resource/project (no selection)", |b| {
        b.iter(|| project(black_box(&u), schema, &[], &[]))
    });
}

criterion_group!(benches, filters, patches, resources);
criterion_main!(benches);
