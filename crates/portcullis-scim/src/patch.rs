//! PATCH (RFC 7644 §3.5.2): the request types and [`apply`], which applies a whole request
//! to a resource all-or-nothing.
//!
//! ```
//! use portcullis_scim::patch::{apply, PatchLimits, PatchRequest};
//! use portcullis_scim::schema::ResourceSchema;
//! use serde_json::json;
//!
//! let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!                   "id": "1", "userName": "bjensen", "active": true});
//! // What Entra ID sends to disable a user: a capitalised op and a string boolean.
//! let request: PatchRequest = serde_json::from_value(json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [
//!         {"op": "Replace", "path": "active", "value": "False"},
//!         {"op": "replace", "value": {"name.givenName": "Barbara"}}
//!     ]
//! }))?;
//! let updated = apply(&user, &request, ResourceSchema::user(), &PatchLimits::default())?;
//! assert_eq!(updated["active"], json!(false));
//! assert_eq!(updated["name"], json!({"givenName": "Barbara"}));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Deviations from the RFC, each because Okta or Entra ID rely on it:
//! - `op` is matched case-insensitively (`Replace`, `Add`, `Remove`).
//! - A `replace` or `add` through a value-filter path that matches nothing creates the element
//!   from the filter's equalities instead of failing with `noTarget`:
//!   `emails[type eq "work"].value` on a user without a work email adds
//!   `{"type": "work", "value": …}`. Filters that are not conjunctions of `eq` still fail
//!   with `noTarget`.
//! - A `remove` through a value filter that matches nothing succeeds without change, so a
//!   retried member removal is harmless.
//! - Writing a read-only attribute with the value it already has is accepted (Okta's group
//!   rename repeats the group's `id`).
//! - `""` and `null` clear an attribute.
//! - `remove` on a multi-valued attribute with a `value` array removes only the listed
//!   elements (Entra ID's member removal).

mod apply;
mod target;

pub use apply::apply;
pub use target::PatchPath;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::filter::FilterLimits;

/// The URN of the PatchOp message.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A PATCH request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchRequest {
    /// `[PATCH_OP_SCHEMA]`; not checked on input.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The operations, applied in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<PatchOperation>,
}

impl PatchRequest {
    /// A request of the given operations.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchRequest {
            schemas: vec![PATCH_OP_SCHEMA.to_owned()],
            operations,
        }
    }

    /// Parses a request body; malformed bodies are `400 invalidSyntax`.
    pub fn from_json(body: &Value) -> Result<Self, crate::ScimError> {
        serde_json::from_value(body.clone())
            .map_err(|e| crate::ScimError::invalid_syntax(format!("not a PatchOp request: {e}")))
    }
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove`.
    pub op: PatchOp,
    /// The target; absent for path-less add and replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value; absent for most removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// A PATCH operation kind, deserialised case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    /// `add`.
    Add,
    /// `replace`.
    Replace,
    /// `remove`.
    Remove,
}

impl<'de> Deserialize<'de> for PatchOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "add" => Ok(PatchOp::Add),
            "replace" => Ok(PatchOp::Replace),
            "remove" => Ok(PatchOp::Remove),
            _ => Err(serde::de::Error::custom(format!(
                "unknown PATCH op `{s}`; expected add, replace or remove"
            ))),
        }
    }
}

/// Limits on PATCH requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchLimits {
    /// The most operations in one request.
    pub max_operations: usize,
    /// Limits on value filters in paths.
    pub filter: FilterLimits,
}

impl Default for PatchLimits {
    fn default() -> Self {
        PatchLimits {
            max_operations: 1000,
            filter: FilterLimits::default(),
        }
    }
}
