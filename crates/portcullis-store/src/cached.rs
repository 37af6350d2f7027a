//! Prepared-statement caching for the hot `UPDATE`s. diesel never caches an `UPDATE`
//! (an `AsChangeset` with optional fields could make many statements), so SQLite would
//! compile the statement — and the triggers of its table — again on every call. A
//! statement whose `SET` list is a fixed tuple is always the same SQL: [`Cached`] says so.
//! Run it on the concrete connection (`connection::concrete!`). On PostgreSQL diesel
//! still sends these `UPDATE`s as unnamed statements (its statement log shows so), so
//! there the wrapper saves nothing yet.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::QueryResult;

/// A statement that always has the same SQL for its type, cached by its type like a
/// `SELECT`. Only for statements whose SQL cannot vary: an `UPDATE` with a fixed tuple of
/// `SET` assignments, never one with optional (skipped) fields or an `IN` list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cached<Q>(pub(crate) Q);

impl<Q: QueryId> QueryId for Cached<Q> {
    type QueryId = Cached<Q::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<DB: Backend, Q: QueryFragment<DB>> QueryFragment<DB> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}
