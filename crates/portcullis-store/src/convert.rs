//! Conversions between column values and domain values.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

use crate::StoreError;

/// A time as stored: UTC, truncated to microseconds (PostgreSQL's precision), so a value
/// reads back equal on both backends.
pub(crate) fn db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(6).naive_utc()
}

/// A time SCIM publishes (when a member or a group was made and last changed) as stored:
/// cut to the millisecond, the precision `meta.created` and `meta.lastModified` show, so
/// that what a client saw is what filters compare and sorts order (RFC 7644 §3.4.2.2).
pub(crate) fn scim_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.trunc_subsecs(3).naive_utc()
}

/// An optional time as stored.
pub(crate) fn db_time_opt(t: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    t.map(db_time)
}

/// A stored time back in UTC.
pub(crate) fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// An optional stored time back in UTC.
pub(crate) fn utc_opt(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(utc)
}

/// Parses a stored text value (an id, an enum) into its domain type.
pub(crate) fn parse<T>(text: &str, what: &str) -> Result<T, StoreError>
where
    T: FromStr,
{
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: {text:?}")))
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(escape_like("plain"), "plain");
    }
}
