//! A database-neutral filter tree, built by the server from a parsed SCIM filter, and
//! its translation into diesel boxed expressions that run the same on both backends.
//!
//! Case-insensitive fields (userName, emails, displayName) compare lower-cased columns
//! with values lower-cased here, so both backends agree on non-ASCII letters too;
//! case-exact fields (id, externalId) compare as stored. `co`, `sw` and `ew` become
//! `LIKE` with the wildcards of the value escaped (SQLite runs with
//! `case_sensitive_like`, as PostgreSQL's `LIKE` is). Comparisons on optional columns
//! are written as `col IS NOT NULL AND ...`, so the result is never SQL `NULL` and
//! `not (...)` means what SCIM says: a user without an externalId matches
//! `not (externalId eq "x")` and `externalId ne "x"`.

use chrono::{DateTime, Utc};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use portcullis_domain::email::identity_key;

use crate::connection::MultiBackend;
use crate::convert::{db_time, escape_like};
use crate::schema::{groups, users};
use crate::StoreError;

/// A SCIM comparison operator (RFC 7644 §3.4.2.2); `pr` is [`Filter::Present`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co`: contains (text fields only).
    Co,
    /// `sw`: starts with (text fields only).
    Sw,
    /// `ew`: ends with (text fields only).
    Ew,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

/// The value a field is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    /// For text fields (ids are text too).
    Str(String),
    /// For `active`.
    Bool(bool),
    /// For `meta.created` and `meta.lastModified`.
    Time(DateTime<Utc>),
}

/// A filter over the fields `F` of one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<F> {
    /// `field op value`.
    Compare(F, CompareOp, FilterValue),
    /// `field pr`: the field has a non-empty value.
    Present(F),
    /// Both.
    And(Box<Filter<F>>, Box<Filter<F>>),
    /// Either.
    Or(Box<Filter<F>>, Box<Filter<F>>),
    /// Not.
    Not(Box<Filter<F>>),
}

impl<F> Filter<F> {
    /// `field eq "text"`.
    pub fn eq(field: F, text: impl Into<String>) -> Self {
        Filter::Compare(field, CompareOp::Eq, FilterValue::Str(text.into()))
    }

    /// `self and other`.
    pub fn and(self, other: Filter<F>) -> Self {
        Filter::And(Box::new(self), Box::new(other))
    }

    /// `self or other`.
    pub fn or(self, other: Filter<F>) -> Self {
        Filter::Or(Box::new(self), Box::new(other))
    }

    /// `not (self)`.
    pub fn negate(self) -> Self {
        Filter::Not(Box::new(self))
    }
}

/// The user attributes filters and sorts can use, each answered from a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserField {
    /// `id`: case-exact.
    Id,
    /// `userName` (the email): case-insensitive.
    UserName,
    /// `externalId`: case-exact.
    ExternalId,
    /// `emails[type eq "work"].value`: case-insensitive.
    WorkEmail,
    /// `displayName`: case-insensitive.
    DisplayName,
    /// `active`: `eq`/`ne` with a boolean.
    Active,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// The group attributes filters and sorts can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupField {
    /// `id`: case-exact.
    Id,
    /// `displayName`: case-insensitive.
    DisplayName,
    /// `externalId`: case-exact.
    ExternalId,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// A user filter.
pub type UserFilter = Filter<UserField>;
/// A group filter.
pub type GroupFilter = Filter<GroupField>;

/// A boolean SQL expression over one table.
pub(crate) type Pred<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool>>;

fn invalid(what: &str) -> StoreError {
    StoreError::InvalidFilter(what.to_owned())
}

fn text(value: &FilterValue, field: &str) -> Result<String, StoreError> {
    match value {
        FilterValue::Str(s) => Ok(s.clone()),
        _ => Err(invalid(&format!("{field} compares with a string"))),
    }
}

fn time(value: &FilterValue, field: &str) -> Result<chrono::NaiveDateTime, StoreError> {
    match value {
        FilterValue::Time(t) => Ok(db_time(*t)),
        _ => Err(invalid(&format!("{field} compares with a dateTime"))),
    }
}

/// `col op v` for a NOT NULL text column.
macro_rules! text_cmp {
    ($col:expr, $op:expr, $v:expr) => {{
        let v: String = $v;
        let pred: Pred<_> = match $op {
            CompareOp::Eq => Box::new($col.eq(v)),
            CompareOp::Ne => Box::new($col.ne(v)),
            CompareOp::Co => Box::new($col.like(format!("%{}%", escape_like(&v))).escape('\\')),
            CompareOp::Sw => Box::new($col.like(format!("{}%", escape_like(&v))).escape('\\')),
            CompareOp::Ew => Box::new($col.like(format!("%{}", escape_like(&v))).escape('\\')),
            CompareOp::Gt => Box::new($col.gt(v)),
            CompareOp::Ge => Box::new($col.ge(v)),
            CompareOp::Lt => Box::new($col.lt(v)),
            CompareOp::Le => Box::new($col.le(v)),
        };
        pred
    }};
}

/// `col op v` for a nullable text column, never `NULL`: a missing value matches only
/// `ne`.
macro_rules! nullable_text_cmp {
    ($col:expr, $op:expr, $v:expr) => {{
        let inner = text_cmp!($col.assume_not_null(), $op, $v);
        let pred: Pred<_> = if $op == CompareOp::Ne {
            Box::new($col.is_null().or(inner))
        } else {
            Box::new($col.is_not_null().and(inner))
        };
        pred
    }};
}

/// `col op t` for a NOT NULL timestamp column.
macro_rules! time_cmp {
    ($col:expr, $op:expr, $t:expr, $name:expr) => {{
        let t = $t;
        let pred: Pred<_> = match $op {
            CompareOp::Eq => Box::new($col.eq(t)),
            CompareOp::Ne => Box::new($col.ne(t)),
            CompareOp::Gt => Box::new($col.gt(t)),
            CompareOp::Ge => Box::new($col.ge(t)),
            CompareOp::Lt => Box::new($col.lt(t)),
            CompareOp::Le => Box::new($col.le(t)),
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                return Err(invalid(&format!(
                    "{} supports eq, ne, gt, ge, lt and le",
                    $name
                )))
            }
        };
        pred
    }};
}

/// Translates a user filter. Account scoping and the exclusion of bots are added by
/// the caller.
pub(crate) fn user_pred(filter: &UserFilter) -> Result<Pred<users::table>, StoreError> {
    use UserField as F;
    Ok(match filter {
        Filter::And(a, b) => Box::new(user_pred(a)?.and(user_pred(b)?)),
        Filter::Or(a, b) => Box::new(user_pred(a)?.or(user_pred(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(user_pred(a)?)),
        Filter::Present(field) => match field {
            F::Id | F::UserName | F::Active | F::Created | F::LastModified => {
                Box::new(users::id.is_not_null())
            }
            F::ExternalId => Box::new(
                users::external_id
                    .is_not_null()
                    .and(users::external_id.assume_not_null().ne("")),
            ),
            F::WorkEmail => Box::new(
                users::work_email_lower
                    .is_not_null()
                    .and(users::work_email_lower.assume_not_null().ne("")),
            ),
            F::DisplayName => Box::new(users::display_name.ne("")),
        },
        Filter::Compare(field, op, value) => match field {
            F::Id => text_cmp!(users::id, *op, text(value, "id")?),
            F::UserName => text_cmp!(
                users::email_lower,
                *op,
                identity_key(&text(value, "userName")?)
            ),
            F::DisplayName => text_cmp!(
                users::display_name_lower,
                *op,
                text(value, "displayName")?.to_lowercase()
            ),
            F::ExternalId => {
                nullable_text_cmp!(users::external_id, *op, text(value, "externalId")?)
            }
            F::WorkEmail => nullable_text_cmp!(
                users::work_email_lower,
                *op,
                identity_key(&text(value, "emails")?)
            ),
            F::Active => {
                let FilterValue::Bool(b) = value else {
                    return Err(invalid("active compares with true or false"));
                };
                match op {
                    CompareOp::Eq => Box::new(users::active.eq(*b)),
                    CompareOp::Ne => Box::new(users::active.ne(*b)),
                    _ => return Err(invalid("active supports eq and ne")),
                }
            }
            F::Created => time_cmp!(
                users::created_at,
                *op,
                time(value, "meta.created")?,
                "meta.created"
            ),
            F::LastModified => time_cmp!(
                users::updated_at,
                *op,
                time(value, "meta.lastModified")?,
                "meta.lastModified"
            ),
        },
    })
}

/// Translates a group filter. Account scoping is added by the caller.
pub(crate) fn group_pred(filter: &GroupFilter) -> Result<Pred<groups::table>, StoreError> {
    use GroupField as F;
    Ok(match filter {
        Filter::And(a, b) => Box::new(group_pred(a)?.and(group_pred(b)?)),
        Filter::Or(a, b) => Box::new(group_pred(a)?.or(group_pred(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(group_pred(a)?)),
        Filter::Present(field) => match field {
            F::Id | F::DisplayName | F::Created | F::LastModified => {
                Box::new(groups::id.is_not_null())
            }
            F::ExternalId => Box::new(
                groups::external_id
                    .is_not_null()
                    .and(groups::external_id.assume_not_null().ne("")),
            ),
        },
        Filter::Compare(field, op, value) => match field {
            F::Id => text_cmp!(groups::id, *op, text(value, "id")?),
            F::DisplayName => text_cmp!(
                groups::display_name_lower,
                *op,
                text(value, "displayName")?.to_lowercase()
            ),
            F::ExternalId => {
                nullable_text_cmp!(groups::external_id, *op, text(value, "externalId")?)
            }
            F::Created => time_cmp!(
                groups::created_at,
                *op,
                time(value, "meta.created")?,
                "meta.created"
            ),
            F::LastModified => time_cmp!(
                groups::updated_at,
                *op,
                time(value, "meta.lastModified")?,
                "meta.lastModified"
            ),
        },
    })
}
