//! Bookmarks into an account's members in SCIM's list order (creation, then id), so that
//! a page deep into a large account starts from a member near it instead of stepping
//! over every member before it (`OFFSET`): the page at position 90,000 of an account
//! starts from the member kept for position 90,000, where `OFFSET 90000` walks 90,000
//! index entries on every request. An IdP importing an account pages through all of it,
//! so without bookmarks an import's work grows with the square of the account's size.
//!
//! A bookmark is the id of the member at a position that is a multiple of [`EVERY`].
//! Bookmarks hold while the account's members stay the same, which the count of changes
//! kept beside its member count tells ([`member_count_and_changes`], migration 22): that
//! count never goes down, so two equal readings mean nobody was added or removed in
//! between. Each account's bookmarks are kept with the count they were read at, found
//! (or extended, one step of [`EVERY`] members at a time) and used between two readings
//! of it. When the two readings differ, [`page`] answers nothing and its caller reads the
//! page with `OFFSET`, as before; the bookmarks read in between are dropped.

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::backend::Backend;
use diesel::expression::{is_aggregate, ValidGrouping};
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};

use super::users::{in_list_order, members_of, LoadMembers};
use crate::account::member_count_and_changes;
use crate::connection::{AnyConnection, MultiBackend};
use crate::schema::users;
use crate::StoreError;

/// How many members apart two bookmarks are: a page starts at most this many members
/// after its bookmark.
pub(crate) const EVERY: i64 = 1000;

/// How many accounts' bookmarks are kept; past it they are all dropped and read again as
/// pages ask for them.
const ACCOUNTS: usize = 1024;

/// Every account's bookmarks, shared by a store's handles (the SQLite readers included).
#[derive(Debug, Default)]
pub(crate) struct Bookmarks {
    accounts: Mutex<HashMap<String, Marks>>,
}

/// One account's bookmarks: `ids[i]` is the member at position `(i + 1) * EVERY`
/// (0-based) when the account's count of changes was `changes`.
#[derive(Debug, Clone)]
struct Marks {
    changes: i64,
    ids: Vec<String>,
}

impl Bookmarks {
    /// The bookmarks of `account` read when its count of changes was `changes`; none
    /// when they were read at another count.
    fn get(&self, account: &str, changes: i64) -> Vec<String> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        match accounts.get(account) {
            Some(marks) if marks.changes == changes => marks.ids.clone(),
            _ => Vec::new(),
        }
    }

    /// Keeps `ids` as the bookmarks of `account` at `changes`, unless those kept are of
    /// the same count and as many or more.
    fn keep(&self, account: &str, changes: i64, ids: Vec<String>) {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(kept) = accounts.get(account) {
            if kept.changes == changes && kept.ids.len() >= ids.len() {
                return;
            }
        } else if accounts.len() >= ACCOUNTS {
            accounts.clear();
        }
        accounts.insert(account.to_owned(), Marks { changes, ids });
    }
}

/// The members of `account` from the one whose id is `from` on (all of them for `None`),
/// in list order.
fn members_from(account: &str, from: Option<&str>) -> users::BoxedQuery<'static, MultiBackend> {
    let query = members_of(account);
    let query = match from {
        Some(id) => query.filter(FromBookmark { id: id.to_owned() }),
        None => query,
    };
    in_list_order(query)
}

/// The members from the bookmarked one (whose id is `id`) on in list order: a row-value
/// comparison over the last two columns of the list's index
/// (`users_account_kind_created_idx`), which both databases answer as a range of it. The
/// bookmarked member's time is read in the database, so it compares as stored.
///
/// Written as an expression of its own, not as SQL text (`diesel::dsl::sql`), because
/// diesel never keeps a statement holding SQL text: each deep page had the database
/// parse and plan its statement anew. This one's SQL is the same for every bookmark.
#[derive(Debug, Clone, QueryId)]
struct FromBookmark {
    id: String,
}

impl Expression for FromBookmark {
    type SqlType = Bool;
}

impl AppearsOnTable<users::table> for FromBookmark {}

impl SelectableExpression<users::table> for FromBookmark {}

impl ValidGrouping<()> for FromBookmark {
    type IsAggregate = is_aggregate::No;
}

impl<DB> QueryFragment<DB> for FromBookmark
where
    DB: Backend + HasSqlType<Text>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "(users.created_at, users.id) >= \
             ((SELECT bookmarked.created_at FROM users AS bookmarked \
             WHERE bookmarked.id = ",
        );
        out.push_bind_param::<Text, _>(&self.id)?;
        out.push_sql("), ");
        out.push_bind_param::<Text, _>(&self.id)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The page of `limit` members at `offset` (0-based) in `account`'s list, read from the
/// bookmark before it (as `load` selects them), with the account's member count; `None`
/// when a member was added or removed while it was read (the caller reads it with
/// `OFFSET`).
pub(super) fn page<R>(
    conn: &mut AnyConnection,
    bookmarks: &Bookmarks,
    account: &str,
    offset: i64,
    limit: i64,
    load: LoadMembers<R>,
) -> Result<Option<(Vec<R>, i64)>, StoreError> {
    let (total, changes) = member_count_and_changes(conn, account)?;
    let wanted = usize::try_from(offset.max(0) / EVERY).unwrap_or(usize::MAX);
    let mut ids = bookmarks.get(account, changes);
    while ids.len() < wanted {
        let next = members_from(account, ids.last().map(String::as_str))
            .offset(EVERY)
            .select(users::id)
            .first::<String>(conn)
            .optional()?;
        match next {
            Some(id) => ids.push(id),
            // The account ends before the page starts.
            None => break,
        }
    }
    let rows = if ids.len() < wanted {
        Vec::new()
    } else {
        // The bookmark at the page's position or before it: the `wanted`th (none, the
        // start of the list, for a page before the first bookmark).
        let from = wanted.checked_sub(1).and_then(|i| ids.get(i));
        let from = from.map(String::as_str);
        let query = members_from(account, from)
            .offset(offset - EVERY * i64::try_from(wanted).unwrap_or(i64::MAX))
            .limit(limit.max(0));
        load(query, conn)?
    };
    let (_, after) = member_count_and_changes(conn, account)?;
    if after != changes {
        return Ok(None);
    }
    bookmarks.keep(account, changes, ids);
    Ok(Some((rows, total)))
}
