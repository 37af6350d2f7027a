//! The discovery documents (RFC 7644 §4): `/ServiceProviderConfig`, `/Schemas`,
//! `/Schemas/{id}`, `/ResourceTypes` and `/ResourceTypes/{id}`. Each takes the base URL
//! (e.g. `https://host/scim/v2`) to fill `meta.location`.
//!
//! ```
//! use portcullis_scim::discovery::{self, AuthenticationScheme, ServiceProviderConfig};
//! use portcullis_scim::schema::ResourceSchema;
//!
//! let config = ServiceProviderConfig {
//!     authentication_schemes: vec![AuthenticationScheme::bearer_token()],
//!     ..ServiceProviderConfig::default()
//! };
//! let doc = discovery::service_provider_config(&config, "https://h/scim/v2");
//! assert_eq!(doc["patch"]["supported"], true);
//! let types = [ResourceSchema::user(), ResourceSchema::group()];
//! let schemas = discovery::schemas(&types, "https://h/scim/v2");
//! assert_eq!(schemas["totalResults"], 3); // User, EnterpriseUser, Group
//! ```

use serde_json::{json, Value};

use crate::list::ListResponse;
use crate::schema::{same_urn, ResourceSchema, Schema, SCHEMA_SCHEMA};

/// The URN of the ServiceProviderConfig schema.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// The URN of the ResourceType schema.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// What the service provider supports; the caller fills it truthfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceProviderConfig {
    /// A help URL.
    pub documentation_uri: Option<String>,
    /// PATCH support.
    pub patch: bool,
    /// Bulk support and its limits.
    pub bulk: Option<BulkConfig>,
    /// Filter support: `Some(maxResults)`.
    pub filter_max_results: Option<usize>,
    /// Password changes.
    pub change_password: bool,
    /// Sorting.
    pub sort: bool,
    /// ETags.
    pub etag: bool,
    /// RFC 9865 cursor paging: `Some(cursorTimeout in seconds)`.
    pub cursor_timeout: Option<u64>,
    /// The accepted authentication schemes.
    pub authentication_schemes: Vec<AuthenticationScheme>,
}

impl Default for ServiceProviderConfig {
    fn default() -> Self {
        ServiceProviderConfig {
            documentation_uri: None,
            patch: true,
            bulk: None,
            filter_max_results: Some(200),
            change_password: false,
            sort: false,
            etag: false,
            cursor_timeout: None,
            authentication_schemes: Vec::new(),
        }
    }
}

/// Bulk limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkConfig {
    /// The most operations per request.
    pub max_operations: usize,
    /// The largest request body, in bytes.
    pub max_payload_size: usize,
}

/// One authentication scheme (RFC 7643 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationScheme {
    /// `oauthbearertoken`, `httpbasic`, …
    pub kind: String,
    /// A name.
    pub name: String,
    /// A description.
    pub description: String,
    /// The specification's URL.
    pub spec_uri: Option<String>,
    /// A help URL.
    pub documentation_uri: Option<String>,
    /// Whether it is the preferred scheme.
    pub primary: bool,
}

impl AuthenticationScheme {
    /// A bearer token in the `Authorization` header (RFC 6750).
    pub fn bearer_token() -> Self {
        AuthenticationScheme {
            kind: "oauthbearertoken".into(),
            name: "OAuth Bearer Token".into(),
            description: "An API key sent as `Authorization: Bearer <key>`.".into(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".into()),
            documentation_uri: None,
            primary: true,
        }
    }
}

fn base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

/// The `/ServiceProviderConfig` document.
pub fn service_provider_config(config: &ServiceProviderConfig, base_url: &str) -> Value {
    let bulk = config.bulk.map_or_else(
        || json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0}),
        |b| json!({"supported": true, "maxOperations": b.max_operations, "maxPayloadSize": b.max_payload_size}),
    );
    let schemes: Vec<Value> = config
        .authentication_schemes
        .iter()
        .map(|s| {
            let mut v = json!({"type": s.kind, "name": s.name, "description": s.description, "primary": s.primary});
            if let Some(u) = &s.spec_uri {
                v["specUri"] = json!(u);
            }
            if let Some(u) = &s.documentation_uri {
                v["documentationUri"] = json!(u);
            }
            v
        })
        .collect();
    let mut doc = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": config.patch},
        "bulk": bulk,
        "filter": {"supported": config.filter_max_results.is_some(),
                   "maxResults": config.filter_max_results.unwrap_or(0)},
        "changePassword": {"supported": config.change_password},
        "sort": {"supported": config.sort},
        "etag": {"supported": config.etag},
        "authenticationSchemes": schemes,
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": format!("{}/ServiceProviderConfig", base(base_url))},
    });
    if let Some(u) = &config.documentation_uri {
        doc["documentationUri"] = json!(u);
    }
    if let Some(timeout) = config.cursor_timeout {
        doc["pagination"] = json!({"cursor": true, "index": true, "cursorTimeout": timeout});
    }
    doc
}

/// The `/Schemas/{id}` document of one schema.
pub fn schema(schema: &Schema, base_url: &str) -> Value {
    let mut doc = serde_json::to_value(schema).unwrap_or(Value::Null);
    doc["schemas"] = json!([SCHEMA_SCHEMA]);
    doc["meta"] = json!({"resourceType": "Schema",
                         "location": format!("{}/Schemas/{}", base(base_url), schema.id)});
    doc
}

/// Every schema of the given resource types, once each, in order.
pub fn all_schemas<'a>(types: &[&'a ResourceSchema]) -> Vec<&'a Schema> {
    let mut out: Vec<&Schema> = Vec::new();
    for t in types {
        for s in std::iter::once(&t.core).chain(&t.extensions) {
            if !out.iter().any(|o| o.id == s.id) {
                out.push(s);
            }
        }
    }
    out
}

/// The `/Schemas` ListResponse.
pub fn schemas(types: &[&ResourceSchema], base_url: &str) -> Value {
    let docs: Vec<Value> = all_schemas(types)
        .iter()
        .map(|s| schema(s, base_url))
        .collect();
    let n = docs.len();
    ListResponse::new(docs, n, 1).to_json()
}

/// The `/Schemas/{id}` document, or `None` for an unknown id.
pub fn find_schema(types: &[&ResourceSchema], id: &str, base_url: &str) -> Option<Value> {
    all_schemas(types)
        .into_iter()
        .find(|s| same_urn(&s.id, id))
        .map(|s| schema(s, base_url))
}

/// The `/ResourceTypes/{id}` document of one resource type.
pub fn resource_type(t: &ResourceSchema, base_url: &str) -> Value {
    let rt = &t.resource_type;
    let extensions: Vec<Value> = rt
        .schema_extensions
        .iter()
        .map(|e| json!({"schema": e.schema, "required": e.required}))
        .collect();
    let mut doc = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": rt.id,
        "name": rt.name,
        "endpoint": rt.endpoint,
        "description": rt.description,
        "schema": rt.schema,
        "meta": {"resourceType": "ResourceType",
                 "location": format!("{}/ResourceTypes/{}", base(base_url), rt.id)},
    });
    if !extensions.is_empty() {
        doc["schemaExtensions"] = Value::Array(extensions);
    }
    doc
}

/// The `/ResourceTypes` ListResponse.
pub fn resource_types(types: &[&ResourceSchema], base_url: &str) -> Value {
    let docs: Vec<Value> = types.iter().map(|t| resource_type(t, base_url)).collect();
    let n = docs.len();
    ListResponse::new(docs, n, 1).to_json()
}

/// The `/ResourceTypes/{id}` document, or `None` for an unknown id.
pub fn find_resource_type(types: &[&ResourceSchema], id: &str, base_url: &str) -> Option<Value> {
    types
        .iter()
        .find(|t| t.resource_type.id.eq_ignore_ascii_case(id))
        .map(|t| resource_type(t, base_url))
}
