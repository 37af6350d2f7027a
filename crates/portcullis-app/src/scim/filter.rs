//! SCIM filters → the store's database-neutral filter tree, through the SCIM crate's
//! [`FilterFold`].
//!
//! The attributes IdPs filter on (`userName`, `externalId`, `id`, `displayName`, `active`,
//! `meta.created`, `meta.lastModified`, and every email's `value`, `type` and `primary`,
//! as in `emails[type eq "work"].value`) are columns, so such filters run in the
//! database, through indexes, with exact totals. Any other filter still works: the
//! translatable part of a conjunction becomes a database *pre-filter* (a superset of the
//! answer), and the whole filter is then evaluated by
//! [`portcullis_scim::filter::Filter::matches`] on at most [`FALLBACK_LIMIT`] candidates
//! (`tooMany` beyond that, asking for a narrower filter). Translation is never trusted
//! for more than it can express: [`Translated::exact`] is false whenever anything was left
//! to the evaluator. Both ways give the same answers (a property test runs generated
//! filters through both).

use chrono::DateTime;
use portcullis_scim::filter::{CompValue, CompareOp as ScimOp, Filter as ScimFilter, FilterFold};
use portcullis_scim::path::AttrPath;
use portcullis_scim::schema::{GROUP, USER};
use portcullis_store::{CompareOp, EmailField, Filter, FilterValue, GroupField, UserField};

/// The most members or groups a filter that cannot run in the database is evaluated on.
pub const FALLBACK_LIMIT: i64 = 10_000;

/// How a field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Bool,
    Time,
}

/// The result of a translation: a database filter that selects a superset of the answer
/// (or `None`: every row), and whether it selects exactly the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated<F> {
    /// The database pre-filter.
    pub filter: Option<Filter<F>>,
    /// Whether the pre-filter is the whole filter.
    pub exact: bool,
}

impl<F> Translated<F> {
    fn none() -> Self {
        Translated {
            filter: None,
            exact: false,
        }
    }
    fn exact(f: Filter<F>) -> Self {
        Translated {
            filter: Some(f),
            exact: true,
        }
    }
}

/// A path without its core-schema URN (`urn:…:core:2.0:User:userName` is `userName`).
fn unqualified(path: &AttrPath, core: &str) -> Option<(String, Option<String>)> {
    match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(core) => None,
        _ => Some((
            path.name.to_ascii_lowercase(),
            path.sub.as_ref().map(|s| s.to_ascii_lowercase()),
        )),
    }
}

/// The user column a path names.
pub fn user_field(path: &AttrPath) -> Option<UserField> {
    let (name, sub) = unqualified(path, USER)?;
    Some(match (name.as_str(), sub.as_deref()) {
        ("id", None) => UserField::Id,
        ("username", None) => UserField::UserName,
        ("externalid", None) => UserField::ExternalId,
        ("displayname", None) => UserField::DisplayName,
        ("active", None) => UserField::Active,
        ("meta", Some("created")) => UserField::Created,
        ("meta", Some("lastmodified")) => UserField::LastModified,
        _ => return None,
    })
}

fn user_kind(f: UserField) -> Kind {
    match f {
        UserField::Active => Kind::Bool,
        UserField::Created | UserField::LastModified => Kind::Time,
        _ => Kind::Text,
    }
}

/// The group column a path names.
pub fn group_field(path: &AttrPath) -> Option<GroupField> {
    let (name, sub) = unqualified(path, GROUP)?;
    Some(match (name.as_str(), sub.as_deref()) {
        ("id", None) => GroupField::Id,
        ("displayname", None) => GroupField::DisplayName,
        ("externalid", None) => GroupField::ExternalId,
        ("meta", Some("created")) => GroupField::Created,
        ("meta", Some("lastmodified")) => GroupField::LastModified,
        _ => return None,
    })
}

fn group_kind(f: GroupField) -> Kind {
    match f {
        GroupField::Created | GroupField::LastModified => Kind::Time,
        _ => Kind::Text,
    }
}

fn op(op: ScimOp) -> CompareOp {
    match op {
        ScimOp::Eq => CompareOp::Eq,
        ScimOp::Ne => CompareOp::Ne,
        ScimOp::Co => CompareOp::Co,
        ScimOp::Sw => CompareOp::Sw,
        ScimOp::Ew => CompareOp::Ew,
        ScimOp::Gt => CompareOp::Gt,
        ScimOp::Ge => CompareOp::Ge,
        ScimOp::Lt => CompareOp::Lt,
        ScimOp::Le => CompareOp::Le,
    }
}

/// The store value for a literal, when the column can answer the comparison exactly.
fn value(kind: Kind, o: ScimOp, v: &CompValue) -> Option<FilterValue> {
    match (kind, v) {
        (Kind::Text, CompValue::String(s)) => Some(FilterValue::Str(s.clone())),
        (Kind::Bool, CompValue::Bool(b)) if matches!(o, ScimOp::Eq | ScimOp::Ne) => {
            Some(FilterValue::Bool(*b))
        }
        (Kind::Time, CompValue::String(s))
            if !matches!(o, ScimOp::Co | ScimOp::Sw | ScimOp::Ew) =>
        {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| FilterValue::Time(t.to_utc()))
        }
        _ => None,
    }
}

/// `left and right`: both pre-filters (or the one there is); exact when both are.
fn and<F>(l: Translated<F>, r: Translated<F>) -> Translated<F> {
    let exact = l.exact && r.exact;
    let filter = match (l.filter, r.filter) {
        (Some(a), Some(b)) => Some(a.and(b)),
        (Some(a), None) | (None, Some(a)) => Some(a),
        (None, None) => None,
    };
    Translated { filter, exact }
}

/// `left or right`: a pre-filter only when both sides have one.
fn or<F>(l: Translated<F>, r: Translated<F>) -> Translated<F> {
    match (l.filter, r.filter) {
        (Some(a), Some(b)) => Translated {
            filter: Some(a.or(b)),
            exact: l.exact && r.exact,
        },
        // One side could match anything: no pre-filter narrows the union.
        _ => Translated::none(),
    }
}

/// `not (inner)`: only an exact translation can be negated.
fn not<F>(inner: Translated<F>) -> Translated<F> {
    match inner.filter {
        Some(f) if inner.exact => Translated::exact(f.negate()),
        _ => Translated::none(),
    }
}

/// The sub-attribute of an email a name gives, with how it compares.
fn email_field(name: &str) -> Option<(EmailField, Kind)> {
    Some(match name.to_ascii_lowercase().as_str() {
        "value" => (EmailField::Value, Kind::Text),
        "type" => (EmailField::Type, Kind::Text),
        "primary" => (EmailField::Primary, Kind::Bool),
        _ => return None,
    })
}

/// Whether a path is the core `emails` attribute (its sub-attribute aside).
fn is_emails(path: &AttrPath) -> bool {
    path.name.eq_ignore_ascii_case("emails")
        && path
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(USER))
}

/// A fold translating the filter inside `emails[…]`: paths are an email's sub-attributes,
/// compared within one email.
struct EmailFold;

impl FilterFold for EmailFold {
    type Out = Translated<EmailField>;

    fn compare(&mut self, path: &AttrPath, o: ScimOp, v: &CompValue) -> Self::Out {
        let field = (path.urn.is_none() && path.sub.is_none())
            .then(|| email_field(&path.name))
            .flatten();
        match field.and_then(|(f, kind)| Some((f, value(kind, o, v)?))) {
            Some((f, v)) => Translated::exact(Filter::Compare(f, op(o), v)),
            None => Translated::none(),
        }
    }

    fn present(&mut self, path: &AttrPath) -> Self::Out {
        match (path.urn.is_none() && path.sub.is_none())
            .then(|| email_field(&path.name))
            .flatten()
        {
            Some((f, _)) => Translated::exact(Filter::Present(f)),
            None => Translated::none(),
        }
    }

    fn and(&mut self, l: Self::Out, r: Self::Out) -> Self::Out {
        and(l, r)
    }

    fn or(&mut self, l: Self::Out, r: Self::Out) -> Self::Out {
        or(l, r)
    }

    fn not(&mut self, inner: Self::Out) -> Self::Out {
        not(inner)
    }

    fn value_path(&mut self, _: &AttrPath, _: &ScimFilter) -> Self::Out {
        Translated::none()
    }
}

/// Some email matches `inner` (a pre-filter as exact as `inner` is).
fn any_email<F>(inner: Translated<EmailField>) -> Translated<F> {
    Translated {
        filter: inner.filter.map(|f| Filter::AnyEmail(Box::new(f))),
        exact: inner.exact,
    }
}

/// A fold translating one resource type's filters.
struct Fold<F> {
    field: fn(&AttrPath) -> Option<F>,
    kind: fn(F) -> Kind,
    /// Whether the resources have `emails` (users).
    emails: bool,
}

impl<F: Copy> Fold<F> {
    /// The email sub-attribute `emails[.sub]` names (`value` when none is named, as a
    /// complex attribute compares through its value), for users.
    fn email_path(&self, path: &AttrPath) -> Option<(EmailField, Kind)> {
        if !self.emails || !is_emails(path) {
            return None;
        }
        email_field(path.sub.as_deref().unwrap_or("value"))
    }
}

impl<F: Copy> FilterFold for Fold<F> {
    type Out = Translated<F>;

    fn compare(&mut self, path: &AttrPath, o: ScimOp, v: &CompValue) -> Self::Out {
        if let Some((field, kind)) = self.email_path(path) {
            // A multi-valued attribute matches when some value does; `ne` is the
            // negation of `eq` (no email equals the literal).
            return match (value(kind, o, v), o) {
                (Some(v), ScimOp::Ne) => not(any_email(Translated::exact(Filter::Compare(
                    field,
                    CompareOp::Eq,
                    v,
                )))),
                (Some(v), _) => any_email(Translated::exact(Filter::Compare(field, op(o), v))),
                (None, _) => Translated::none(),
            };
        }
        let Some(field) = (self.field)(path) else {
            return Translated::none();
        };
        match value((self.kind)(field), o, v) {
            Some(v) => Translated::exact(Filter::Compare(field, op(o), v)),
            None => Translated::none(),
        }
    }

    fn present(&mut self, path: &AttrPath) -> Self::Out {
        if path.sub.is_some() {
            if let Some((field, _)) = self.email_path(path) {
                return any_email(Translated::exact(Filter::Present(field)));
            }
        }
        match (self.field)(path) {
            Some(field) => Translated::exact(Filter::Present(field)),
            None => Translated::none(),
        }
    }

    fn and(&mut self, l: Self::Out, r: Self::Out) -> Self::Out {
        and(l, r)
    }

    fn or(&mut self, l: Self::Out, r: Self::Out) -> Self::Out {
        or(l, r)
    }

    fn not(&mut self, inner: Self::Out) -> Self::Out {
        not(inner)
    }

    fn value_path(&mut self, attr: &AttrPath, inner: &ScimFilter) -> Self::Out {
        // `emails[type eq "work" and value eq "x"]` (also written
        // `emails[type eq "work"].value eq "x"`): some one email matches it all.
        if self.emails && is_emails(attr) && attr.sub.is_none() {
            return any_email(inner.fold(&mut EmailFold));
        }
        Translated::none()
    }
}

/// Translates a user filter.
pub fn users(filter: &ScimFilter) -> Translated<UserField> {
    filter.fold(&mut Fold {
        field: user_field,
        kind: user_kind,
        emails: true,
    })
}

/// Translates a group filter.
pub fn groups(filter: &ScimFilter) -> Translated<GroupField> {
    filter.fold(&mut Fold {
        field: group_field,
        kind: group_kind,
        emails: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(filter: &str, expected: Option<Filter<UserField>>, exact: bool) {
        let t = users(&ScimFilter::parse(filter).unwrap());
        assert_eq!(t.filter, expected, "{filter}");
        assert_eq!(t.exact, exact, "{filter}");
    }

    #[test]
    fn translations() {
        use UserField as U;
        check(
            r#"userName eq "A@b.c""#,
            Some(Filter::eq(U::UserName, "A@b.c")),
            true,
        );
        check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#,
            Some(Filter::eq(U::UserName, "a")),
            true,
        );
        check(
            r#"externalId eq "x" and active eq true"#,
            Some(Filter::eq(U::ExternalId, "x").and(Filter::Compare(
                U::Active,
                CompareOp::Eq,
                FilterValue::Bool(true),
            ))),
            true,
        );
        let email = |f: Filter<EmailField>| Filter::AnyEmail(Box::new(f));
        let work = Filter::eq(EmailField::Type, "work");
        check(
            r#"emails[type eq "work"].value eq "a@b.c""#,
            Some(email(
                work.clone().and(Filter::eq(EmailField::Value, "a@b.c")),
            )),
            true,
        );
        check(
            r#"emails.value eq "a@b.c""#,
            Some(email(Filter::eq(EmailField::Value, "a@b.c"))),
            true,
        );
        check(
            r#"emails co "@b.c""#,
            Some(email(Filter::Compare(
                EmailField::Value,
                CompareOp::Co,
                FilterValue::Str("@b.c".into()),
            ))),
            true,
        );
        check(
            r#"emails.type ne "work""#,
            Some(email(work.clone()).negate()),
            true,
        );
        check(
            r#"emails[not (primary eq true)]"#,
            Some(email(
                Filter::Compare(EmailField::Primary, CompareOp::Eq, FilterValue::Bool(true))
                    .negate(),
            )),
            true,
        );
        check(r#"emails[display eq "x"]"#, None, false);
        check(
            r#"emails[type eq "work" and display eq "x"]"#,
            Some(email(work)),
            false,
        );
        check(
            r#"id eq "1" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "2""#,
            Some(Filter::eq(U::Id, "1")),
            false,
        );
        check(r#"name.givenName eq "x" or userName eq "y""#, None, false);
        check(
            r#"not (userName sw "a")"#,
            Some(
                Filter::Compare(U::UserName, CompareOp::Sw, FilterValue::Str("a".into())).negate(),
            ),
            true,
        );
        check(r#"not (name.familyName eq "a")"#, None, false);
        check(r#"active eq "yes""#, None, false);
        check(
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            Some(Filter::Compare(
                U::LastModified,
                CompareOp::Gt,
                FilterValue::Time("2011-05-13T04:42:34Z".parse().unwrap()),
            )),
            true,
        );
    }
}
