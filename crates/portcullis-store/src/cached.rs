//! Prepared-statement caching for the hot `UPDATE`s. diesel never caches an `UPDATE`
//! (an `AsChangeset` with optional fields could make many statements), so SQLite would
//! compile the statement — and the triggers of its table — again on every call, and
//! PostgreSQL would parse and plan it again. An `UPDATE` whose `SET` list is a fixed tuple
//! is always the same SQL: [`update`] builds it as a statement of its own type, which both
//! backends prepare once per connection and find again by that type. Run it on the
//! concrete connection (`connection::concrete!`).
//!
//! diesel's own `UPDATE` marks itself as not to be cached while it writes its SQL, and a
//! wrapper that only says otherwise is not enough: on PostgreSQL the connection asks the
//! question of a reference to the statement, whose answer walks the SQL and finds the
//! mark (the server's log showed those statements sent unnamed). So [`Update`] writes its
//! SQL itself, from the same table, assignments and filter.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// `UPDATE table SET values WHERE filter`, with one SQL text for its type. Only for
/// statements whose SQL cannot vary: a fixed tuple of `SET` assignments (never optional,
/// skipped fields) and a filter without `IN` lists. `V` is the tuple of assignments as
/// written, which names the statement's type ([`QueryId`]); `C` is its changeset, which
/// writes the SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Update<T, V, C, W> {
    table: T,
    values: C,
    filter: W,
    assignments: PhantomData<V>,
}

/// The [`QueryId`] of an [`Update`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateId<T, V, W>(PhantomData<(T, V, W)>);

/// The `UPDATE` of `table` that sets `values` on the rows `filter` selects.
pub(crate) fn update<T, V, W>(table: T, values: V, filter: W) -> Update<T, V, V::Changeset, W>
where
    V: AsChangeset<Target = T>,
{
    Update {
        table,
        values: values.as_changeset(),
        filter,
        assignments: PhantomData,
    }
}

impl<T: QueryId, V: QueryId, C, W: QueryId> QueryId for Update<T, V, C, W> {
    type QueryId = UpdateId<T::QueryId, V::QueryId, W::QueryId>;
    const HAS_STATIC_QUERY_ID: bool =
        T::HAS_STATIC_QUERY_ID && V::HAS_STATIC_QUERY_ID && W::HAS_STATIC_QUERY_ID;
}

impl<DB, T, V, C, W> QueryFragment<DB> for Update<T, V, C, W>
where
    DB: Backend,
    T: QueryFragment<DB>,
    C: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.table.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.values.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}
