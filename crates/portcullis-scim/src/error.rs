//! SCIM errors (RFC 7644 §3.12): an HTTP status, an optional `scimType` and a detail.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The URN of the SCIM error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` values of RFC 7644 §3.12, table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax is invalid or the filter uses an unsupported construct.
    InvalidFilter,
    /// The filter or request would yield more results than the server allows.
    TooMany,
    /// A value would break a uniqueness constraint.
    Uniqueness,
    /// The request tries to change a readOnly or immutable attribute.
    Mutability,
    /// The request body is not a valid SCIM message.
    InvalidSyntax,
    /// A PATCH path is malformed or names an unknown attribute.
    InvalidPath,
    /// The PATCH target does not exist and the operation needs one.
    NoTarget,
    /// A value is of the wrong type, missing where required, or otherwise unacceptable.
    InvalidValue,
    /// The requested protocol version is not supported.
    InvalidVers,
    /// The request carries sensitive data in the URL.
    Sensitive,
}

impl ScimType {
    /// The wire name, e.g. `invalidFilter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

/// Every error this crate returns: what a SCIM server answers with.
///
/// The HTTP status is chosen here, in one place, together with the `scimType`; a server maps
/// this value to its response without further decisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}{}: {detail}", scim_type.map(|t| format!(" {}", t.as_str())).unwrap_or_default())]
pub struct ScimError {
    /// The HTTP status code.
    pub status: u16,
    /// The SCIM error type, when one applies.
    pub scim_type: Option<ScimType>,
    /// A human-readable explanation.
    pub detail: String,
}

impl ScimError {
    /// An error with any status and type.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidFilter, detail)
    }
    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::TooMany, detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::Mutability, detail)
    }
    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidSyntax, detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidPath, detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::NoTarget, detail)
    }
    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidValue, detail)
    }
    /// 400 `invalidVers`.
    pub fn invalid_vers(detail: impl Into<String>) -> Self {
        Self::bad(ScimType::InvalidVers, detail)
    }
    /// 403 `sensitive`.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        Self::new(403, Some(ScimType::Sensitive), detail)
    }
    /// 404 without a type.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }
    /// 413 without a type, for bodies or bulk requests over the limits.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(413, None, detail)
    }

    /// The error message body, `status` rendered as a string as RFC 7644 §3.12 requires.
    pub fn to_body(&self) -> ErrorResponse {
        ErrorResponse {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            status: self.status.to_string(),
            scim_type: self.scim_type,
            detail: Some(self.detail.clone()),
        }
    }

    /// The error message body as JSON.
    pub fn to_json(&self) -> Value {
        // Serialising a struct of strings cannot fail.
        serde_json::to_value(self.to_body()).unwrap_or(Value::Null)
    }
}

/// The `urn:ietf:params:scim:api:messages:2.0:Error` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// Always `[ERROR_SCHEMA]`.
    pub schemas: Vec<String>,
    /// The HTTP status as a string.
    pub status: String,
    /// The SCIM error type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// A human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_status_as_string() {
        let e = ScimError::invalid_filter("at position 3: expected an operator");
        assert_eq!(
            e.to_json(),
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "scimType": "invalidFilter",
                   "detail": "at position 3: expected an operator"})
        );
        let e = ScimError::not_found("no such user");
        assert_eq!(
            e.to_json(),
            json!({"schemas": [ERROR_SCHEMA], "status": "404", "detail": "no such user"})
        );
        assert_eq!(e.to_string(), "404: no such user");
        assert_eq!(ScimError::uniqueness("x").to_string(), "409 uniqueness: x");
    }
}
