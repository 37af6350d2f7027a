//! [`InJsonArray`]: `column IN (…)` over any number of values, as one SQLite statement
//! that is prepared once per connection.
//!
//! diesel writes `eq_any` on SQLite as `IN (?, ?, …)`, one placeholder per value, and so
//! never keeps its prepared statement: each call has SQLite parse and plan it anew (for
//! the groups of a page of 100 members, a seventh of the page's time). This expression
//! binds the values as one JSON array and reads them back with SQLite's `json_each`; its
//! SQL is the same for any number of values, and its type alone identifies it, so diesel
//! keeps its statement. PostgreSQL needs none of this: diesel writes `eq_any` there as
//! `= ANY($1)`, one array.

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
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

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for InJsonArray<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.values)?;
        out.push_sql("))");
        Ok(())
    }
}
