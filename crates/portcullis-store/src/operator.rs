//! What the operator does to whole accounts: finding them, suspending and resuming
//! them, deleting every row they own, and the operator log that outlives them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis_domain::{Account, AccountId, AccountSlug};

use crate::account::AccountRow;
use crate::connection::AnyConnection;
use crate::convert::{db_time, escape_like, parse, utc};
use crate::schema::{accounts, api_auth_epochs, identity_providers, operator_log, sessions};
use crate::{Store, StoreError};

diesel::define_sql_function!(
    /// SQL `lower()`, the same on both backends for ASCII letters.
    fn lower(x: Text) -> Text
);

/// One thing an operator did, kept after the account is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorLogEntry {
    /// Stable id.
    pub id: uuid::Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// What (`account.created`, `account.suspended`, `account.resumed`,
    /// `account.deleted`).
    pub action: String,
    /// The account it was done to.
    pub account: AccountId,
    /// Its slug at that time.
    pub account_slug: String,
    /// More about it, as JSON.
    pub detail: serde_json::Value,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = operator_log)]
struct LogRow {
    id: String,
    at: NaiveDateTime,
    action: String,
    account_id: String,
    account_slug: String,
    detail: String,
}

impl LogRow {
    fn into_domain(self) -> Result<OperatorLogEntry, StoreError> {
        Ok(OperatorLogEntry {
            id: parse(&self.id, "operator log id")?,
            at: utc(self.at),
            action: self.action,
            account: parse(&self.account_id, "account id")?,
            account_slug: self.account_slug,
            detail: serde_json::from_str(&self.detail)
                .map_err(|e| StoreError::Corrupt(format!("operator log detail: {e}")))?,
        })
    }
}

/// How many members and IdPs an account has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountCounts {
    /// People (bots not counted).
    pub members: i64,
    /// Identity providers, enabled or not.
    pub idps: i64,
}

impl Store {
    /// Accounts in slug order after `after` (a slug), at most `limit`, whose slug or name
    /// contains `search` (ASCII letter case ignored).
    pub fn list_accounts(
        &self,
        search: Option<&str>,
        after: Option<&AccountSlug>,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        let pattern = search.map(|s| format!("%{}%", escape_like(&s.to_ascii_lowercase())));
        let after = after.map(|s| s.as_str().to_owned());
        self.read(|conn| {
            let mut query = accounts::table
                .select(AccountRow::as_select())
                .order(accounts::slug)
                .limit(limit)
                .into_boxed();
            if let Some(after) = after {
                query = query.filter(accounts::slug.gt(after));
            }
            if let Some(pattern) = pattern {
                query = query.filter(
                    lower(accounts::slug)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(accounts::name).like(pattern).escape('\\')),
                );
            }
            query
                .load::<AccountRow>(conn)?
                .into_iter()
                .map(AccountRow::into_domain)
                .collect()
        })
    }

    /// How many members and IdPs the account has.
    pub fn account_counts(&self, account: AccountId) -> Result<AccountCounts, StoreError> {
        let id = account.to_string();
        self.read(|conn| {
            let members = crate::account::member_count(conn, &id)?;
            let idps = identity_providers::table
                .filter(identity_providers::account_id.eq(&id))
                .count()
                .get_result(conn)?;
            Ok(AccountCounts { members, idps })
        })
    }

    /// Suspends the account at `at`, or resumes it (`None`), ending every live session
    /// of its members when suspending. Moves the account's API authentication epoch (a
    /// trigger on `accounts`), so no replica keeps accepting its keys from memory.
    /// `NotFound` when it does not exist.
    pub fn set_account_suspended(
        &self,
        account: AccountId,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let id = account.to_string();
        self.write(|conn| {
            let n = diesel::update(accounts::table.find(&id))
                .set(accounts::suspended_at.eq(at.map(db_time)))
                .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(at) = at {
                diesel::update(
                    sessions::table
                        .filter(sessions::account_id.eq(&id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(db_time(at)))
                .execute(conn)?;
            }
            Ok(())
        })
    }

    /// Deletes the account and every row it owns, in every table: the foreign keys
    /// cascade from `accounts` to what hangs off it, and the trigger-kept authentication
    /// epoch (which has no foreign key) goes last, after the triggers the cascade fired.
    /// Run it inside [`Store::transaction`] to make it one with the operator log entry.
    /// `NotFound` when it does not exist.
    pub fn delete_account(&self, account: AccountId) -> Result<(), StoreError> {
        let id = account.to_string();
        self.write(|conn| {
            let n = diesel::delete(accounts::table.find(&id)).execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            diesel::delete(api_auth_epochs::table.find(&id)).execute(conn)?;
            Ok(())
        })
    }

    /// Adds an entry to the operator log.
    pub fn record_operator_log(&self, entry: &OperatorLogEntry) -> Result<(), StoreError> {
        let row = LogRow {
            id: entry.id.to_string(),
            at: db_time(entry.at),
            action: entry.action.clone(),
            account_id: entry.account.to_string(),
            account_slug: entry.account_slug.clone(),
            detail: entry.detail.to_string(),
        };
        self.write(|conn| {
            diesel::insert_into(operator_log::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The operator log, newest first, at most `limit` entries.
    pub fn operator_log(&self, limit: i64) -> Result<Vec<OperatorLogEntry>, StoreError> {
        self.read(|conn| {
            operator_log::table
                .select(LogRow::as_select())
                .order((operator_log::at.desc(), operator_log::id.desc()))
                .limit(limit)
                .load::<LogRow>(conn)?
                .into_iter()
                .map(LogRow::into_domain)
                .collect()
        })
    }
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RowCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl Store {
    /// How many rows each table of the database holds, by table name (diesel's own
    /// migration table left out): a size overview for operators, and how tests show that
    /// a deleted account left nothing behind.
    pub fn table_row_counts(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        self.read(|conn| {
            let names = match conn {
                AnyConnection::Sqlite(c) => diesel::sql_query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite%' AND name <> '__diesel_schema_migrations'",
                )
                .load::<TableName>(c)?,
                AnyConnection::Postgresql(c) => diesel::sql_query(
                    "SELECT table_name AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND table_name <> '__diesel_schema_migrations'",
                )
                .load::<TableName>(c)?,
            };
            names
                .into_iter()
                .map(|t| {
                    // The names come from the catalog, not from a caller.
                    let count = format!("SELECT COUNT(*) AS n FROM \"{}\"", t.name);
                    let n = match conn {
                        AnyConnection::Sqlite(c) => {
                            diesel::sql_query(count).get_result::<RowCount>(c)?
                        }
                        AnyConnection::Postgresql(c) => {
                            diesel::sql_query(count).get_result::<RowCount>(c)?
                        }
                    };
                    Ok((t.name, n.n))
                })
                .collect()
        })
    }
}
