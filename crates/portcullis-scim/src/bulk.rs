//! Bulk requests (RFC 7644 §3.7): the message types and [`run`], which executes operations in
//! order through a caller-supplied executor, resolving `bulkId:` references to the ids of
//! resources created earlier in the same request and stopping after `failOnErrors` errors.
//!
//! ```
//! use portcullis_scim::bulk::{run, BulkLimits, BulkOperation, BulkOutcome, BulkRequest};
//! use serde_json::json;
//!
//! let request: BulkRequest = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
//!     "Operations": [
//!         {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"userName": "a"}},
//!         {"method": "POST", "path": "/Groups", "bulkId": "g",
//!          "data": {"displayName": "G", "members": [{"value": "bulkId:u"}]}}
//!     ]
//! }))?;
//! let mut created = 0;
//! let response = run(&request, &BulkLimits::default(), &mut |op: &BulkOperation| {
//!     created += 1;
//!     if op.path == "/Groups" {
//!         assert_eq!(op.data.as_ref().unwrap()["members"][0]["value"], "id-1");
//!     }
//!     Ok(BulkOutcome::created(format!("https://h/scim/v2{}/id-{created}", op.path), "1"))
//! })?;
//! assert_eq!(response.operations[1].status, "201");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ScimError;

/// The URN of the BulkRequest message.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The URN of the BulkResponse message.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// A Bulk request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    /// `[BULK_REQUEST_SCHEMA]`; not checked on input.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Stop after this many errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_errors: Option<usize>,
    /// The operations, run in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperation>,
}

/// One Bulk operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// `POST`, `PUT`, `PATCH` or `DELETE` (any case).
    pub method: String,
    /// The client's name for a created resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The ETag the client expects (`If-Match`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource path relative to the base URL, e.g. `/Users` or `/Users/42`.
    pub path: String,
    /// The body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A Bulk response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// `[BULK_RESPONSE_SCHEMA]`.
    pub schemas: Vec<String>,
    /// One result per operation run.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResponse>,
}

/// The result of one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The method, as sent.
    pub method: String,
    /// The bulkId, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's version after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The response body (an Error message on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// What the executor reports for a successful operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOutcome {
    /// The HTTP status (201 for a create, 200 for an update, 204 for a delete).
    pub status: u16,
    /// The resource's URL; its last segment is the id `bulkId:` references resolve to.
    pub location: Option<String>,
    /// The resource's version.
    pub version: Option<String>,
    /// A body to include, if any.
    pub response: Option<Value>,
}

impl BulkOutcome {
    /// A 201 for a created resource.
    pub fn created(location: String, version: &str) -> Self {
        BulkOutcome {
            status: 201,
            location: Some(location),
            version: Some(version.to_owned()),
            response: None,
        }
    }
}

/// Runs one operation, with `bulkId:` references already resolved.
pub trait BulkExecutor {
    /// Executes `op`.
    fn execute(&mut self, op: &BulkOperation) -> Result<BulkOutcome, ScimError>;
}

impl<F: FnMut(&BulkOperation) -> Result<BulkOutcome, ScimError>> BulkExecutor for F {
    fn execute(&mut self, op: &BulkOperation) -> Result<BulkOutcome, ScimError> {
        self(op)
    }
}

/// Bulk limits (also advertised in the ServiceProviderConfig).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// The most operations per request.
    pub max_operations: usize,
    /// The largest request body, in bytes.
    pub max_payload_size: usize,
}

impl Default for BulkLimits {
    fn default() -> Self {
        BulkLimits {
            max_operations: 100,
            max_payload_size: 1 << 20,
        }
    }
}

/// `413` when a Bulk body of `len` bytes is over the limit.
pub fn check_payload_size(len: usize, limits: &BulkLimits) -> Result<(), ScimError> {
    if len > limits.max_payload_size {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request is {len} bytes; maxPayloadSize is {}",
            limits.max_payload_size
        )));
    }
    Ok(())
}

/// Replaces `bulkId:x` (whole strings in `data`, segments of `path`) with the created ids.
fn resolve(op: &BulkOperation, ids: &HashMap<String, String>) -> Result<BulkOperation, ScimError> {
    fn id_for<'a>(s: &str, ids: &'a HashMap<String, String>) -> Result<&'a str, ScimError> {
        ids.get(s).map(String::as_str).ok_or_else(|| {
            ScimError::new(
                409,
                Some(crate::ScimType::InvalidValue),
                format!("`bulkId:{s}` does not name a resource created earlier in this request"),
            )
        })
    }
    fn walk(v: &mut Value, ids: &HashMap<String, String>) -> Result<(), ScimError> {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix("bulkId:") {
                    *s = id_for(id, ids)?.to_owned();
                }
            }
            Value::Array(items) => items.iter_mut().try_for_each(|i| walk(i, ids))?,
            Value::Object(m) => m.values_mut().try_for_each(|i| walk(i, ids))?,
            _ => {}
        }
        Ok(())
    }
    let mut out = op.clone();
    out.path = op
        .path
        .split('/')
        .map(|seg| match seg.strip_prefix("bulkId:") {
            Some(id) => id_for(id, ids).map(str::to_owned),
            None => Ok(seg.to_owned()),
        })
        .collect::<Result<Vec<_>, _>>()?
        .join("/");
    if let Some(data) = &mut out.data {
        walk(data, ids)?;
    }
    Ok(out)
}

/// Runs a Bulk request. Returns `413` up front when it has more operations than allowed;
/// otherwise every operation's result, stopping once `failOnErrors` operations have failed.
pub fn run(
    request: &BulkRequest,
    limits: &BulkLimits,
    executor: &mut impl BulkExecutor,
) -> Result<BulkResponse, ScimError> {
    if request.operations.len() > limits.max_operations {
        return Err(ScimError::payload_too_large(format!(
            "the bulk request has {} operations; maxOperations is {}",
            request.operations.len(),
            limits.max_operations
        )));
    }
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut results = Vec::new();
    let mut errors = 0;
    for op in &request.operations {
        let method_ok = ["POST", "PUT", "PATCH", "DELETE"]
            .iter()
            .any(|m| m.eq_ignore_ascii_case(&op.method));
        let outcome = if method_ok {
            resolve(op, &ids).and_then(|resolved| executor.execute(&resolved))
        } else {
            Err(ScimError::invalid_value(format!(
                "unknown bulk method `{}`",
                op.method
            )))
        };
        let result = match outcome {
            Ok(o) => {
                if let (Some(bulk_id), Some(loc)) = (&op.bulk_id, &o.location) {
                    if let Some(id) = loc.trim_end_matches('/').rsplit('/').next() {
                        ids.insert(bulk_id.clone(), id.to_owned());
                    }
                }
                BulkOperationResponse {
                    method: op.method.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: o.version,
                    location: o.location,
                    status: o.status.to_string(),
                    response: o.response,
                }
            }
            Err(e) => {
                errors += 1;
                BulkOperationResponse {
                    method: op.method.clone(),
                    bulk_id: op.bulk_id.clone(),
                    version: None,
                    location: None,
                    status: e.status.to_string(),
                    response: Some(e.to_json()),
                }
            }
        };
        results.push(result);
        if request.fail_on_errors.is_some_and(|n| errors >= n.max(1)) {
            break;
        }
    }
    Ok(BulkResponse {
        schemas: vec![BULK_RESPONSE_SCHEMA.to_owned()],
        operations: results,
    })
}
