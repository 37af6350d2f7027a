//! A resource type and the joined view of its schemas used to resolve attribute paths.

use std::sync::OnceLock;

use super::attribute::{AttrType, Attribute, Mutability, Returned, Uniqueness};
use super::builtin::{enterprise_user_schema, group_schema, user_schema};
use super::{same_urn, Schema};
use crate::path::AttrPath;

/// One extension of a resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether every resource must carry it.
    pub required: bool,
}

/// A resource type (RFC 7643 §6), e.g. `User` at `/Users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// The id, e.g. `User`.
    pub id: String,
    /// The name, e.g. `User`.
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// A human-readable description.
    pub description: String,
    /// The core schema URN.
    pub schema: String,
    /// The extensions.
    pub schema_extensions: Vec<SchemaExtension>,
}

/// A resource type together with its core schema, its extension schemas and the common
/// attributes (`id`, `externalId`, `meta`) of RFC 7643 §3.1: everything needed to resolve an
/// attribute path, so it is what the filter evaluator, PATCH, projection and input preparation
/// take.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    /// The resource type.
    pub resource_type: ResourceType,
    /// The core schema.
    pub core: Schema,
    /// The extension schemas, in the resource type's order.
    pub extensions: Vec<Schema>,
    /// `id`, `externalId` and `meta`.
    pub common: Vec<Attribute>,
}

/// An attribute path resolved against a [`ResourceSchema`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved<'a> {
    /// The extension the attribute lives in; `None` for the core schema and common attributes.
    pub extension: Option<&'a Schema>,
    /// The top-level attribute.
    pub attr: &'a Attribute,
    /// The sub-attribute, when the path names one.
    pub sub: Option<&'a Attribute>,
}

impl Resolved<'_> {
    /// The attribute the path ends at: the sub-attribute if there is one.
    pub fn target(&self) -> &Attribute {
        self.sub.unwrap_or(self.attr)
    }
}

fn common_attributes() -> Vec<Attribute> {
    let ro = |a: Attribute| a.mutability(Mutability::ReadOnly);
    vec![
        ro(Attribute::string("id"))
            .case_exact()
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        Attribute::string("externalId").case_exact(),
        ro(Attribute::complex(
            "meta",
            vec![
                ro(Attribute::string("resourceType")).case_exact(),
                ro(Attribute::new("created", AttrType::DateTime)),
                ro(Attribute::new("lastModified", AttrType::DateTime)),
                ro(Attribute::reference("location", &["uri"])),
                ro(Attribute::string("version")).case_exact(),
            ],
        )),
    ]
}

impl ResourceSchema {
    /// Joins a resource type with its schemas.
    pub fn new(resource_type: ResourceType, core: Schema, extensions: Vec<Schema>) -> Self {
        ResourceSchema {
            resource_type,
            core,
            extensions,
            common: common_attributes(),
        }
    }

    /// The built-in `User` resource type with the Enterprise User extension.
    pub fn user() -> &'static ResourceSchema {
        static USER: OnceLock<ResourceSchema> = OnceLock::new();
        USER.get_or_init(|| {
            let ext = enterprise_user_schema();
            ResourceSchema::new(
                ResourceType {
                    id: "User".into(),
                    name: "User".into(),
                    endpoint: "/Users".into(),
                    description: "User Account".into(),
                    schema: super::USER.into(),
                    schema_extensions: vec![SchemaExtension {
                        schema: ext.id.clone(),
                        required: false,
                    }],
                },
                user_schema(),
                vec![ext],
            )
        })
    }

    /// The built-in `Group` resource type.
    pub fn group() -> &'static ResourceSchema {
        static GROUP: OnceLock<ResourceSchema> = OnceLock::new();
        GROUP.get_or_init(|| {
            ResourceSchema::new(
                ResourceType {
                    id: "Group".into(),
                    name: "Group".into(),
                    endpoint: "/Groups".into(),
                    description: "Group".into(),
                    schema: super::GROUP.into(),
                    schema_extensions: Vec::new(),
                },
                group_schema(),
                Vec::new(),
            )
        })
    }

    /// An extension schema by URN (see [`same_urn`] for the comparison).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions.iter().find(|s| same_urn(&s.id, urn))
    }

    /// Whether `urn` is the core schema's URN.
    pub fn is_core(&self, urn: &str) -> bool {
        same_urn(&self.core.id, urn)
    }

    /// A top-level attribute of the core schema or the common attributes.
    pub fn core_attribute(&self, name: &str) -> Option<&Attribute> {
        self.core.attribute(name).or_else(|| {
            self.common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
        })
    }

    /// If the path names a whole extension (`urn:…:enterprise:2.0:User`), that extension.
    pub fn whole_extension(&self, path: &AttrPath) -> Option<&Schema> {
        match (&path.urn, &path.sub) {
            (Some(urn), None) => self.extension(&format!("{urn}:{}", path.name)),
            _ => None,
        }
    }

    /// Resolves an attribute path. Unqualified names are looked up in the core schema and the
    /// common attributes first and then, leniently, in the extensions.
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (extension, attr) = match &path.urn {
            Some(urn) if self.is_core(urn) => (None, self.core_attribute(&path.name)?),
            Some(urn) => {
                let ext = self.extension(urn)?;
                (Some(ext), ext.attribute(&path.name)?)
            }
            None => match self.core_attribute(&path.name) {
                Some(a) => (None, a),
                None => self
                    .extensions
                    .iter()
                    .find_map(|e| e.attribute(&path.name).map(|a| (Some(e), a)))?,
            },
        };
        let sub = match &path.sub {
            Some(sub) => Some(attr.sub_attribute(sub)?),
            None => None,
        };
        Some(Resolved {
            extension,
            attr,
            sub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, expected: Option<(&str, Option<&str>)>) {
        let schema = ResourceSchema::user();
        let parsed = AttrPath::parse(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let got = schema
            .resolve(&parsed)
            .map(|r| (r.attr.name.as_str(), r.sub.map(|s| s.name.as_str())));
        assert_eq!(got, expected, "{path}");
    }

    #[test]
    fn resolves_paths() {
        check("userName", Some(("userName", None)));
        check("USERNAME", Some(("userName", None)));
        check("name.givenName", Some(("name", Some("givenName"))));
        check("emails.value", Some(("emails", Some("value"))));
        check("meta.lastModified", Some(("meta", Some("lastModified"))));
        check("id", Some(("id", None)));
        check(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
            Some(("name", Some("familyName"))),
        );
        check(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            Some(("manager", Some("value"))),
        );
        check("employeeNumber", Some(("employeeNumber", None)));
        check("nope", None);
        check("name.nope", None);
        check("urn:example:other:1.0:Thing:userName", None);
    }
}
