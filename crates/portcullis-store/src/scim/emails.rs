//! A member's emails as rows of `user_emails`, one per element of their SCIM `emails`, so
//! that a filter matches when any of them does ([`super::Filter::AnyEmail`]).
//!
//! The rows are written with the member, from what they were stored with: the `emails` of
//! their `scim_json` (as `portcullis_scim::resource::prepare` left it: attribute names in
//! the schema's spelling, booleans as booleans), or, for a member SCIM never described,
//! their email as their one primary work email — what SCIM shows for them.

use diesel::prelude::*;
use portcullis_domain::email::identity_key;
use serde_json::Value;

use crate::connection::{concrete, AnyConnection};
use crate::schema::user_emails;
use crate::StoreError;

/// One element of a member's `emails`, its unassigned sub-attributes `None`.
///
/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = user_emails, treat_none_as_default_value = false)]
struct EmailRow {
    user_id: String,
    position: i32,
    account_id: String,
    /// The address by its identity key, as userName is compared.
    value_key: Option<String>,
    type_lower: Option<String>,
    is_primary: Option<bool>,
}

/// `object[name]`, the name compared ignoring ASCII case (as SCIM names are).
fn field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn assigned_text(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `true`/`false`, also as the strings Entra ID sends.
fn boolean(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The rows of a member: from the `emails` of `scim_json` when they have one, else
/// `email` as their primary work email.
fn rows_of(user: &str, account: &str, email: &str, scim_json: Option<&str>) -> Vec<EmailRow> {
    let row = |position: usize, value: Option<&str>, kind: Option<&str>, primary| EmailRow {
        user_id: user.to_owned(),
        position: i32::try_from(position).unwrap_or(i32::MAX),
        account_id: account.to_owned(),
        value_key: value.map(identity_key),
        type_lower: kind.map(str::to_lowercase),
        is_primary: primary,
    };
    let Some(json) = scim_json else {
        return vec![row(0, Some(email), Some("work"), Some(true))];
    };
    let described: Option<Value> = serde_json::from_str(json).ok();
    let emails = described
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|m| field(m, "emails"));
    let items = match emails {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(Value::as_object)
        .enumerate()
        .map(|(i, e)| {
            row(
                i,
                assigned_text(field(e, "value")),
                assigned_text(field(e, "type")),
                boolean(field(e, "primary")),
            )
        })
        .collect()
}

/// Writes a member's rows in place of those they had, when they differ (most changes to
/// a member leave their emails as they were, and a read costs less than two writes).
pub(crate) fn replace(
    conn: &mut AnyConnection,
    user: &str,
    account: &str,
    email: &str,
    scim_json: Option<&str>,
) -> Result<(), StoreError> {
    let wanted = rows_of(user, account, email, scim_json);
    let stored: Vec<EmailRow> = user_emails::table
        .filter(user_emails::user_id.eq(user))
        .order(user_emails::position.asc())
        .select(EmailRow::as_select())
        .load(conn)?;
    let same = stored == wanted;
    if same {
        return Ok(());
    }
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user))).execute(conn)?;
    write(conn, wanted)
}

/// Writes a member's rows for `now` (their email and SCIM JSON) in place of those for
/// `before`, when they differ.
pub(crate) fn update(
    conn: &mut AnyConnection,
    user: &str,
    account: &str,
    before: (&str, Option<&str>),
    now: (&str, Option<&str>),
) -> Result<(), StoreError> {
    if before == now {
        return Ok(());
    }
    let wanted = rows_of(user, account, now.0, now.1);
    if rows_of(user, account, before.0, before.1) == wanted {
        return Ok(());
    }
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user))).execute(conn)?;
    write(conn, wanted)
}

/// Writes the rows of a member who has none yet.
pub(crate) fn insert(
    conn: &mut AnyConnection,
    user: &str,
    account: &str,
    email: &str,
    scim_json: Option<&str>,
) -> Result<(), StoreError> {
    write(conn, rows_of(user, account, email, scim_json))
}

fn write(conn: &mut AnyConnection, rows: Vec<EmailRow>) -> Result<(), StoreError> {
    // One statement per row: diesel's multi-backend connection has no batch insert.
    for row in rows {
        // On the concrete connection, as `UserRow::insert`.
        let insert = diesel::insert_into(user_emails::table).values(&row);
        concrete!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserted by one statement diesel prepares once (`None` written as `NULL`).
    #[test]
    fn a_row_is_inserted_by_a_statement_prepared_once() {
        let row = EmailRow {
            user_id: "u".into(),
            position: 0,
            account_id: "a".into(),
            value_key: None,
            type_lower: None,
            is_primary: None,
        };
        let insert = diesel::insert_into(user_emails::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }

    fn rows(
        email: &str,
        json: Option<&str>,
    ) -> Vec<(Option<String>, Option<String>, Option<bool>)> {
        rows_of("u", "a", email, json)
            .into_iter()
            .map(|r| (r.value_key, r.type_lower, r.is_primary))
            .collect()
    }

    #[test]
    fn every_element_with_its_unassigned_parts_left_out() {
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(
            rows("Kim@Acme.com", None),
            vec![(s("kim@acme.com"), s("work"), Some(true))]
        );
        assert_eq!(
            rows(
                "kim@acme.com",
                Some(
                    r#"{"userName": "kim@acme.com", "Emails": [
                        {"value": "Kim@Acme.com", "type": "Work", "primary": true},
                        {"VALUE": "k@Home.example", "primary": "False"},
                        {"type": "other", "value": ""},
                        "not an object"]}"#
                )
            ),
            vec![
                (s("kim@acme.com"), s("work"), Some(true)),
                (s("k@home.example"), None, Some(false)),
                (None, s("other"), None),
            ]
        );
        assert_eq!(rows("kim@acme.com", Some(r#"{"userName": "x"}"#)), vec![]);
        assert_eq!(rows("kim@acme.com", Some("not json")), vec![]);
    }
}
