//! [`InJsonArray`]: `column IN (…)` over any number of values, as one SQLite statement
//! that is prepared once per connection.
//!
//! diesel writes `eq_any` on SQLite as `IN (?, ?, …)`, one placeholder per value, and so
//! never keeps its prepared statement: each call has SQLite parse and plan it anew (for
//! the groups of a page of 100 members, a seventh of the page's time). This expression
//! binds the values as one JSON array and reads them back with SQLite's `json_each`; its
//! SQL is the same for any number of values, and its type alone identifies it, so diesel
//! keeps its statement. PostgreSQL needs none of this: diesel writes `eq_any` there as
//! `= ANY($1)`, one array. [`one_of!`] writes each database's form.
//!
//! [`Unindexed`] keeps SQLite's planner on the list. Without statistics (SQLite's are
//! never gathered here) it takes `account_id = ?` on an index for a few rows and prefers
//! it to looking up the listed ids: a statement on a few of an account's members then
//! walked all the account's entries of `users_account_kind_created_idx`, some 15 ms at
//! 100,000 members, where the ids' lookups take a fraction of a millisecond.

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use crate::StoreError;

/// `column IN (SELECT value FROM json_each(?))`, the placeholder bound to the values as
/// a JSON array of strings.
#[derive(Debug, Clone, QueryId)]
pub(crate) struct InJsonArray<C> {
    column: C,
    values: String,
}

impl<C> InJsonArray<C> {
    /// `column` is one of `values`.
    pub(crate) fn new<S: AsRef<str>>(column: C, values: &[S]) -> Result<Self, StoreError> {
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        let values = serde_json::to_string(&values)
            .map_err(|e| StoreError::Corrupt(format!("values as JSON: {e}")))?;
        Ok(Self { column, values })
    }
}

impl<C: Expression> Expression for InJsonArray<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for InJsonArray<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for InJsonArray<C> where C: SelectableExpression<QS> {}

impl<C> ValidGrouping<()> for InJsonArray<C>
where
    C: ValidGrouping<(), IsAggregate = is_aggregate::No>,
{
    type IsAggregate = is_aggregate::No;
}

/// Runs `$body` on `$conn`'s own connection, bound to `$c`, with `$filter` bound to
/// "`$column` is one of `$values`" (a slice of strings) in the form each database keeps
/// prepared: [`InJsonArray`] on SQLite, `eq_any` (`= ANY($1)`) on PostgreSQL. Either way
/// the values are one bound parameter, however many there are. Its `?` needs a function
/// that returns [`StoreError`].
macro_rules! one_of {
    ($conn:expr, $column:expr, $values:expr, |$c:ident, $filter:ident| $body:expr) => {
        match $conn {
            $crate::connection::AnyConnection::Sqlite($c) => {
                let $filter = $crate::json_in::InJsonArray::new($column, $values)?;
                $body
            }
            $crate::connection::AnyConnection::Postgresql($c) => {
                let $filter = diesel::ExpressionMethods::eq_any($column, $values);
                $body
            }
        }
    };
}
pub(crate) use one_of;

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InJsonArray<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}

/// A column that a condition or an order may not use an index for: on SQLite the column
/// with the unary `+` before it (SQLite's documented way to disqualify a term from
/// using an index), on PostgreSQL the column. The `+` drops only the column's affinity,
/// which changes neither an order nor a comparison with a value bound as the column's
/// own type, as every use here is. For the terms beside a [`one_of!`] list or a lookup's
/// key (the account a member belongs to, their kind, the list order), so that the list
/// or the key drives the statement.
#[derive(Debug, Clone, Copy, QueryId)]
pub(crate) struct Unindexed<C>(pub(crate) C);

impl<C: Expression> Expression for Unindexed<C> {
    type SqlType = C::SqlType;
}

impl<C, QS> AppearsOnTable<QS> for Unindexed<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for Unindexed<C> where C: SelectableExpression<QS> {}

impl<C> ValidGrouping<()> for Unindexed<C>
where
    C: ValidGrouping<(), IsAggregate = is_aggregate::No>,
{
    type IsAggregate = is_aggregate::No;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Unindexed<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("+");
        self.0.walk_ast(out)
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for Unindexed<C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::schema::users;

    #[test]
    fn unindexed_is_the_column_itself_on_postgresql() {
        let query = users::table
            .filter(Unindexed(users::account_id).eq("a"))
            .select(users::id);
        let pg = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(pg.contains(r#"WHERE ("users"."account_id" = $1)"#), "{pg}");
        let sqlite = diesel::debug_query::<Sqlite, _>(&query).to_string();
        assert!(
            sqlite.contains(r#"WHERE (+`users`.`account_id` = ?)"#),
            "{sqlite}"
        );
    }
}
