//! A database-neutral filter tree, built by the server from a parsed SCIM filter, and
//! its translation into diesel boxed expressions that run the same on both backends.
//!
//! Case-insensitive fields (userName, emails, displayName) compare lower-cased columns
//! with values lower-cased here, so both backends agree on non-ASCII letters too;
//! case-exact fields (id, externalId) compare as stored. `co`, `sw` and `ew` become
//! `LIKE` with the wildcards of the value escaped (SQLite runs with
//! `case_sensitive_like`, as PostgreSQL's `LIKE` is).
//!
//! What SCIM says of unassigned values (RFC 7644 §3.4.2.2) holds: an optional column that
//! is `NULL`, or empty (a member without a display name), matches no comparison but `ne`,
//! and no `pr`; so the result is never SQL `NULL` and `not (...)` means what SCIM says.
//!
//! Times compare as published: `meta.created` and `meta.lastModified` are shown to the
//! millisecond, so a comparison is with the stored time cut to the millisecond (rows
//! written before times were stored at that precision included), chronologically and at
//! the literal's own precision.
//!
//! A member's emails are rows of their own (`user_emails`): [`Filter::AnyEmail`] matches a
//! member when one of their emails matches its filter, as SCIM matches a multi-valued
//! attribute.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::expression::{is_aggregate, AppearsOnTable, BoxableExpression, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use portcullis_domain::email::identity_key;

use crate::connection::MultiBackend;
use crate::convert::escape_like;
use crate::schema::{groups, user_emails, users};
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
    /// Some email of the member matches (user filters only).
    AnyEmail(Box<Filter<EmailField>>),
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
    /// `displayName`: case-insensitive.
    DisplayName,
    /// `active`: `eq`/`ne` with a boolean.
    Active,
    /// `meta.created`.
    Created,
    /// `meta.lastModified`.
    LastModified,
}

/// The sub-attributes of one of a member's emails that [`Filter::AnyEmail`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailField {
    /// `value`: compared by its identity key, as userName is.
    Value,
    /// `type`: case-insensitive.
    Type,
    /// `primary`: `eq`/`ne` with a boolean.
    Primary,
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

/// `col op v` for a nullable text column, never `NULL`: a missing or empty value is
/// unassigned and matches only `ne`.
macro_rules! nullable_text_cmp {
    ($col:expr, $op:expr, $v:expr) => {{
        let inner = text_cmp!($col.assume_not_null(), $op, $v);
        let assigned = $col.is_not_null().and($col.assume_not_null().ne(""));
        let pred: Pred<_> = if $op == CompareOp::Ne {
            Box::new(diesel::dsl::not(assigned).or(inner))
        } else {
            Box::new(assigned.and(inner))
        };
        pred
    }};
}

/// `col op v` for a NOT NULL text column whose empty value means unassigned (a member's
/// display name): as [`nullable_text_cmp`].
macro_rules! optional_text_cmp {
    ($col:expr, $op:expr, $v:expr) => {{
        let inner = text_cmp!($col, $op, $v);
        let pred: Pred<_> = if $op == CompareOp::Ne {
            Box::new($col.eq("").or(inner))
        } else {
            Box::new($col.ne("").and(inner))
        };
        pred
    }};
}

/// `col pr` for a nullable text column: assigned and not empty.
macro_rules! nullable_present {
    ($col:expr) => {{
        let pred: Pred<_> = Box::new($col.is_not_null().and($col.assume_not_null().ne("")));
        pred
    }};
}

/// The bounds a comparison with a time published to the millisecond puts on the stored
/// time: the published value is the stored one cut to the millisecond, so `P op t` holds
/// exactly when the stored time lies in the range returned (`None`: no stored time).
enum TimeRange {
    /// `from <= stored < until`.
    Within(NaiveDateTime, NaiveDateTime),
    /// `stored < from || stored >= until`.
    Outside(NaiveDateTime, NaiveDateTime),
    /// `stored >= from`.
    From(NaiveDateTime),
    /// `stored < until`.
    Until(NaiveDateTime),
    /// Every stored time.
    All,
    /// No stored time.
    None,
}

fn time_range(op: CompareOp, t: DateTime<Utc>, name: &str) -> Result<TimeRange, StoreError> {
    let floor = t.trunc_subsecs(3);
    let next = floor + chrono::Duration::milliseconds(1);
    let aligned = floor == t;
    // The least published value not below `t`.
    let ceil = if aligned { floor } else { next };
    let (floor, next, ceil) = (floor.naive_utc(), next.naive_utc(), ceil.naive_utc());
    Ok(match op {
        CompareOp::Eq if aligned => TimeRange::Within(floor, next),
        CompareOp::Eq => TimeRange::None,
        CompareOp::Ne if aligned => TimeRange::Outside(floor, next),
        CompareOp::Ne => TimeRange::All,
        CompareOp::Gt => TimeRange::From(next),
        CompareOp::Ge => TimeRange::From(ceil),
        CompareOp::Lt => TimeRange::Until(ceil),
        CompareOp::Le => TimeRange::Until(next),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            return Err(invalid(&format!(
                "{name} supports eq, ne, gt, ge, lt and le"
            )))
        }
    })
}

/// `col op t` for a NOT NULL timestamp column, as published ([`time_range`]).
macro_rules! time_cmp {
    ($col:expr, $op:expr, $value:expr, $name:expr) => {{
        let FilterValue::Time(t) = $value else {
            return Err(invalid(&format!("{} compares with a dateTime", $name)));
        };
        let pred: Pred<_> = match time_range($op, *t, $name)? {
            TimeRange::Within(from, until) => Box::new($col.ge(from).and($col.lt(until))),
            TimeRange::Outside(from, until) => Box::new($col.lt(from).or($col.ge(until))),
            TimeRange::From(from) => Box::new($col.ge(from)),
            TimeRange::Until(until) => Box::new($col.lt(until)),
            TimeRange::All => Box::new($col.is_not_null()),
            TimeRange::None => Box::new($col.is_null()),
        };
        pred
    }};
}

/// `users.id IN (SELECT user_id FROM user_emails WHERE account_id = … AND pred)`: the
/// member has an email matching `pred`. Written out here because diesel's multi-backend
/// boxed queries cannot be subqueries; `pred` is written as diesel writes it.
struct AnyEmailOf {
    account: String,
    pred: Pred<user_emails::table>,
}

impl Expression for AnyEmailOf {
    type SqlType = Bool;
}

impl AppearsOnTable<users::table> for AnyEmailOf {}

impl SelectableExpression<users::table> for AnyEmailOf {}

impl ValidGrouping<()> for AnyEmailOf {
    type IsAggregate = is_aggregate::No;
}

impl QueryId for AnyEmailOf {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<MultiBackend> for AnyEmailOf {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(
            "\"users\".\"id\" IN (SELECT \"user_emails\".\"user_id\" FROM \"user_emails\" \
             WHERE \"user_emails\".\"account_id\" = ",
        );
        out.push_bind_param::<Text, _>(&self.account)?;
        out.push_sql(" AND (");
        self.pred.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

/// Translates the filter of one of a member's emails.
fn email_pred(filter: &Filter<EmailField>) -> Result<Pred<user_emails::table>, StoreError> {
    use user_emails as e;
    Ok(match filter {
        Filter::And(a, b) => Box::new(email_pred(a)?.and(email_pred(b)?)),
        Filter::Or(a, b) => Box::new(email_pred(a)?.or(email_pred(b)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(email_pred(a)?)),
        Filter::AnyEmail(_) => return Err(invalid("emails are not nested")),
        Filter::Present(EmailField::Value) => nullable_present!(e::value_key),
        Filter::Present(EmailField::Type) => nullable_present!(e::type_lower),
        Filter::Present(EmailField::Primary) => Box::new(e::is_primary.is_not_null()),
        Filter::Compare(EmailField::Value, op, value) => {
            nullable_text_cmp!(
                e::value_key,
                *op,
                identity_key(&text(value, "emails.value")?)
            )
        }
        Filter::Compare(EmailField::Type, op, value) => nullable_text_cmp!(
            e::type_lower,
            *op,
            text(value, "emails.type")?.to_lowercase()
        ),
        Filter::Compare(EmailField::Primary, op, value) => {
            let FilterValue::Bool(b) = value else {
                return Err(invalid("emails.primary compares with true or false"));
            };
            let assigned = e::is_primary.is_not_null();
            match op {
                CompareOp::Eq => Box::new(assigned.and(e::is_primary.assume_not_null().eq(*b))),
                CompareOp::Ne => Box::new(
                    e::is_primary
                        .is_null()
                        .or(e::is_primary.assume_not_null().ne(*b)),
                ),
                _ => return Err(invalid("emails.primary supports eq and ne")),
            }
        }
    })
}

/// Translates a user filter over the members of `account` (the account the emails of
/// [`Filter::AnyEmail`] are looked up in). Account scoping and the exclusion of bots are
/// added by the caller.
pub(crate) fn user_pred(
    filter: &UserFilter,
    account: &str,
) -> Result<Pred<users::table>, StoreError> {
    use UserField as F;
    Ok(match filter {
        Filter::And(a, b) => Box::new(user_pred(a, account)?.and(user_pred(b, account)?)),
        Filter::Or(a, b) => Box::new(user_pred(a, account)?.or(user_pred(b, account)?)),
        Filter::Not(a) => Box::new(diesel::dsl::not(user_pred(a, account)?)),
        Filter::AnyEmail(inner) => Box::new(AnyEmailOf {
            account: account.to_owned(),
            pred: email_pred(inner)?,
        }),
        Filter::Present(field) => match field {
            F::Id | F::UserName | F::Active | F::Created | F::LastModified => {
                Box::new(users::id.is_not_null())
            }
            F::ExternalId => nullable_present!(users::external_id),
            F::DisplayName => Box::new(users::display_name.ne("")),
        },
        Filter::Compare(field, op, value) => match field {
            F::Id => text_cmp!(users::id, *op, text(value, "id")?),
            F::UserName => text_cmp!(
                users::email_lower,
                *op,
                identity_key(&text(value, "userName")?)
            ),
            F::DisplayName => optional_text_cmp!(
                users::display_name_lower,
                *op,
                text(value, "displayName")?.to_lowercase()
            ),
            F::ExternalId => {
                nullable_text_cmp!(users::external_id, *op, text(value, "externalId")?)
            }
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
            F::Created => time_cmp!(users::created_at, *op, value, "meta.created"),
            F::LastModified => time_cmp!(users::updated_at, *op, value, "meta.lastModified"),
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
        Filter::AnyEmail(_) => return Err(invalid("groups have no emails")),
        Filter::Present(field) => match field {
            F::Id | F::DisplayName | F::Created | F::LastModified => {
                Box::new(groups::id.is_not_null())
            }
            F::ExternalId => nullable_present!(groups::external_id),
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
            F::Created => time_cmp!(groups::created_at, *op, value, "meta.created"),
            F::LastModified => time_cmp!(groups::updated_at, *op, value, "meta.lastModified"),
        },
    })
}
