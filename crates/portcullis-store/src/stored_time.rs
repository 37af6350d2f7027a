//! [`StoredTime`]: a `Timestamp` column read and written the way diesel does, with
//! chrono's format items written out once instead of read from a format string for each
//! value.
//!
//! On SQLite diesel stores a `NaiveDateTime` as text in the format `%F %T%.f`, and on
//! every value it writes or reads it has chrono read that format string again
//! (`NaiveDateTime::format`, `NaiveDateTime::parse_from_str`): on a page of 100 members,
//! with two times each, that was about a fifteenth of the server's time. The rows read
//! and written on every SCIM request (a member's, an audit event's) keep their times in
//! this type; on PostgreSQL, whose times travel as binary, it is diesel's own conversion.

use chrono::format::{self, Fixed, Item, Numeric, Pad, Parsed};
use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

use crate::connection::MultiBackend;

/// `%F %T%.f`, the format diesel writes a `Timestamp` in on SQLite and the first it tries
/// on reading one, as chrono's items (a test holds them equal to that format string's).
const SQLITE_FORMAT: &[Item<'static>] = &[
    Item::Numeric(Numeric::Year, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Month, Pad::Zero),
    Item::Literal("-"),
    Item::Numeric(Numeric::Day, Pad::Zero),
    Item::Space(" "),
    Item::Numeric(Numeric::Hour, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Minute, Pad::Zero),
    Item::Literal(":"),
    Item::Numeric(Numeric::Second, Pad::Zero),
    Item::Fixed(Fixed::Nanosecond),
];

/// A time as a `Timestamp` column holds it (UTC, without an offset); see the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub(crate) struct StoredTime(pub(crate) NaiveDateTime);

/// What `#[diesel(deserialize_as = StoredTime)]` turns a read time into.
impl From<StoredTime> for NaiveDateTime {
    fn from(t: StoredTime) -> Self {
        t.0
    }
}

/// `text` read as `%F %T%.f`, exactly as `NaiveDateTime::parse_from_str` reads it.
fn parse_sqlite(text: &str) -> Option<NaiveDateTime> {
    let mut parsed = Parsed::new();
    format::parse(&mut parsed, text, SQLITE_FORMAT.iter()).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite(value.read_text()) {
            return Ok(Self(t));
        }
        // Every other form diesel accepts (without seconds, with an offset, a Julian day).
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Self)
    }
}

impl ToSql<Timestamp, Sqlite> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.format_with_items(SQLITE_FORMAT.iter()).to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<Timestamp, Pg> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

impl ToSql<Timestamp, MultiBackend> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Timestamp, self));
        Ok(IsNull::No)
    }
}

#[cfg(test)]
mod tests {
    use chrono::format::StrftimeItems;
    use chrono::{DateTime, Duration};

    use super::*;

    #[test]
    fn the_items_are_diesels_sqlite_format() {
        let from_string = StrftimeItems::new("%F %T%.f").parse();
        assert_eq!(from_string.as_deref(), Ok(SQLITE_FORMAT));
    }

    #[test]
    fn written_and_read_as_diesel_writes_and_reads_them() {
        let base = DateTime::from_timestamp(1_765_000_000, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default();
        for nanos in [0, 1_000_000, 123_000_000, 123_456_000, 123_456_789] {
            let t = base + Duration::nanoseconds(nanos);
            let diesel = t.format("%F %T%.f").to_string();
            assert_eq!(
                t.format_with_items(SQLITE_FORMAT.iter()).to_string(),
                diesel
            );
            assert_eq!(parse_sqlite(&diesel), Some(t));
        }
        for (text, expected) in [
            ("2026-12-07 08:09:10", Some((8, 9, 10, 0))),
            ("2026-12-07 08:09:10.5", Some((8, 9, 10, 500_000_000))),
            ("2026-12-07T08:09:10", None),
            ("2026-12-07 08:09", None),
            ("2026-12-07 08:09:10+02:00", None),
            ("", None),
        ] {
            let parsed = parse_sqlite(text);
            assert_eq!(parsed, NaiveDateTime::parse_from_str(text, "%F %T%.f").ok());
            let expected = expected.and_then(|(h, m, s, n)| {
                chrono::NaiveDate::from_ymd_opt(2026, 12, 7)?.and_hms_nano_opt(h, m, s, n)
            });
            assert_eq!(parsed, expected, "{text:?}");
        }
    }
}
