//! Schema definitions as data (RFC 7643 §2, §7): attributes and their characteristics, the
//! built-in User, Enterprise User and Group schemas, and [`ResourceSchema`], which joins a
//! resource type's core schema with its extensions and resolves attribute paths against them.

mod attribute;
mod builtin;
mod resource;

pub use attribute::{AttrType, Attribute, Mutability, Returned, Uniqueness};
pub use builtin::{
    enterprise_user_schema, group_schema, user_schema, ENTERPRISE_USER, GROUP, MS_GROUP_EXTENSION,
    USER,
};
pub use resource::{Resolved, ResourceSchema, ResourceType, SchemaExtension};

use serde::Serialize;

/// The URN of the schema that describes schemas.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// One schema (RFC 7643 §7): an id (a URN), a name and its attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// A human-readable name, e.g. `User`.
    pub name: String,
    /// A human-readable description.
    pub description: String,
    /// The top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A top-level attribute by name, compared case-insensitively.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// Whether two schema URNs name the same schema.
///
/// The comparison ignores case and every character that is not a letter or digit, so Entra
/// ID's misspelled `urn:ietf:params:scim:schemas:extension:enterprise:2.0User` (a missing
/// colon) names the Enterprise User extension. This is a documented leniency.
pub fn same_urn(a: &str, b: &str) -> bool {
    fn norm(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|b| b.to_ascii_lowercase())
    }
    norm(a).eq(norm(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_comparison_tolerates_entra_typo() {
        assert!(same_urn(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
            ENTERPRISE_USER
        ));
        assert!(same_urn("URN:IETF:params:scim:schemas:core:2.0:user", USER));
        assert!(!same_urn(USER, GROUP));
    }
}
