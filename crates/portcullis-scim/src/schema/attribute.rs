//! One attribute definition and its characteristics (RFC 7643 §2.2, §7).

use serde::Serialize;

/// An attribute's data type (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime`, compared as an instant.
    DateTime,
    /// Base64-encoded binary data.
    Binary,
    /// A URI naming another resource.
    Reference,
    /// An object of sub-attributes.
    Complex,
}

/// When an attribute may be changed (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only.
    ReadOnly,
    /// Freely changed.
    ReadWrite,
    /// Set once, at creation or while unassigned.
    Immutable,
    /// Written, never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always, whatever the request asks.
    Always,
    /// Never.
    Never,
    /// Unless excluded.
    Default,
    /// Only when asked for by `attributes`.
    Request,
}

/// How unique a value is (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No constraint.
    None,
    /// Unique within the service provider (for Portcullis: within the account).
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// The attribute name, e.g. `userName`.
    pub name: String,
    /// The data type.
    #[serde(rename = "type")]
    pub ty: AttrType,
    /// Whether the value is an array.
    pub multi_valued: bool,
    /// A human-readable description.
    pub description: String,
    /// Whether a resource must carry it.
    pub required: bool,
    /// Whether string comparison respects case.
    pub case_exact: bool,
    /// When it may be changed.
    pub mutability: Mutability,
    /// When it is returned.
    pub returned: Returned,
    /// How unique its value is.
    pub uniqueness: Uniqueness,
    /// Suggested values (e.g. `work`, `home` for `emails.type`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// For references, the resource types they may point at.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For complex attributes, the sub-attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued, optional, read-write attribute of the given type.
    pub fn new(name: &str, ty: AttrType) -> Self {
        Attribute {
            name: name.to_owned(),
            ty,
            multi_valued: false,
            description: String::new(),
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            canonical_values: Vec::new(),
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: &str) -> Self {
        Self::new(name, AttrType::String)
    }
    /// A boolean attribute.
    pub fn boolean(name: &str) -> Self {
        Self::new(name, AttrType::Boolean)
    }
    /// A dateTime attribute.
    pub fn date_time(name: &str) -> Self {
        Self::new(name, AttrType::DateTime)
    }
    /// A reference attribute pointing at the given resource types (`external`, `uri`, `User`...).
    pub fn reference(name: &str, types: &[&str]) -> Self {
        let mut a = Self::new(name, AttrType::Reference);
        a.reference_types = types.iter().map(|t| (*t).to_owned()).collect();
        a.case_exact = true;
        a
    }
    /// A complex attribute with the given sub-attributes.
    pub fn complex(name: &str, subs: Vec<Attribute>) -> Self {
        let mut a = Self::new(name, AttrType::Complex);
        a.sub_attributes = subs;
        a
    }

    /// Marks it multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Marks it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Marks string comparison case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets the mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Sets when it is returned.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Sets the uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Sets the canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    /// Sets the description.
    pub fn describe(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }

    /// A sub-attribute by name, compared case-insensitively.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether clients may not write it (readOnly).
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }

    /// Whether this multi-valued complex attribute identifies its elements by `value` (it has a
    /// `$ref` beside `value`, as `members`, `groups` and `manager` do), so that two elements with
    /// the same `value` are the same element.
    pub fn keyed_by_value(&self) -> bool {
        self.sub_attribute("value").is_some() && self.sub_attribute("$ref").is_some()
    }
}
