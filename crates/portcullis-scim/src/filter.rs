//! Filters (RFC 7644 §3.4.2.2): the AST, its parser, printer, evaluator and a fold for
//! translating a filter into a storage layer's query language.
//!
//! ```
//! use portcullis_scim::filter::Filter;
//! use portcullis_scim::schema::ResourceSchema;
//! use serde_json::json;
//!
//! let filter = Filter::parse(r#"userName eq "Bjensen" and emails[type eq "work" and value co "@example.com"]"#)?;
//! let user = json!({
//!     "userName": "bjensen",
//!     "emails": [{"type": "work", "value": "bjensen@example.com"}],
//! });
//! // userName is caseExact=false in the User schema, so "Bjensen" matches "bjensen".
//! assert!(filter.matches(&user, ResourceSchema::user()));
//! // Printing gives a filter that parses back to the same AST.
//! assert_eq!(Filter::parse(&filter.to_string())?, filter);
//! # Ok::<(), portcullis_scim::ScimError>(())
//! ```

mod display;
mod eval;
mod parse;
mod visit;

pub use eval::matches;
pub(crate) use eval::matches_element;
pub use visit::{FilterFold, Lookup};

use serde_json::Number;

use crate::error::ScimError;
use crate::path::AttrPath;

/// A parsed filter.
///
/// `a or b or c` is left-associative: `Or(Or(a, b), c)`. The Entra form
/// `emails[type eq "work"].value eq "x"` parses to the equivalent
/// `emails[type eq "work" and value eq "x"]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `path op value`.
    Compare(AttrPath, CompareOp, CompValue),
    /// `path pr`.
    Present(AttrPath),
    /// `left and right`.
    And(Box<Filter>, Box<Filter>),
    /// `left or right`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (inner)`.
    Not(Box<Filter>),
    /// `attr[inner]`: some element of the multi-valued (or complex) `attr` matches `inner`,
    /// whose paths name sub-attributes of `attr`.
    ValuePath(AttrPath, Box<Filter>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Contains.
    Co,
    /// Starts with.
    Sw,
    /// Ends with.
    Ew,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl CompareOp {
    /// The operator's lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// The operator named `s`, case-insensitively.
    pub fn from_name(s: &str) -> Option<CompareOp> {
        const ALL: [CompareOp; 9] = [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
            CompareOp::Ew,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ];
        ALL.into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether it is an ordering operator (gt, ge, lt, le).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

/// A comparison literal. dateTime literals are strings; they are compared as instants when
/// the schema says the attribute is a dateTime.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(Number),
    /// A JSON string (or, leniently, an unquoted word).
    String(String),
}

impl CompValue {
    /// The literal as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CompValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The literal as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CompValue::Null => serde_json::Value::Null,
            CompValue::Bool(b) => serde_json::Value::Bool(*b),
            CompValue::Number(n) => serde_json::Value::Number(n.clone()),
            CompValue::String(s) => serde_json::Value::String(s.clone()),
        }
    }
}

/// Limits that protect a server from expensive filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// The longest filter accepted, in bytes.
    pub max_length: usize,
    /// The deepest nesting of parentheses, `not` and value paths.
    pub max_depth: usize,
    /// The most attribute expressions (comparisons and `pr`).
    pub max_clauses: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        FilterLimits {
            max_length: 4096,
            max_depth: 16,
            max_clauses: 64,
        }
    }
}

impl Filter {
    /// Parses a filter with the default [`FilterLimits`].
    ///
    /// Errors are `400 invalidFilter`, with the byte position and the reason in the detail.
    pub fn parse(input: &str) -> Result<Filter, ScimError> {
        Self::parse_with(input, &FilterLimits::default())
    }

    /// Parses a filter with the given limits.
    pub fn parse_with(input: &str, limits: &FilterLimits) -> Result<Filter, ScimError> {
        parse::parse(input, limits)
    }

    /// `left and right`.
    pub fn and(left: Filter, right: Filter) -> Filter {
        Filter::And(Box::new(left), Box::new(right))
    }

    /// `left or right`.
    pub fn or(left: Filter, right: Filter) -> Filter {
        Filter::Or(Box::new(left), Box::new(right))
    }

    /// `path op value`, with `path` parsed leniently (for building filters in code).
    pub fn compare(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
        Filter::Compare(path, op, value)
    }
}
