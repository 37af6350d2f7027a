//! Users: human members and bot users of one account.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::query_dsl::methods::ExecuteDsl;
use portcullis_domain::{AccountId, AuditEvent, Email, User, UserId, UserKind};

use crate::connection::{concrete, AnyConnection};
use crate::convert::{escape_like, parse, scim_time, utc};
use crate::schema::{api_keys, group_members, sessions, sso_links, user_emails, users};
use crate::scim::emails;
use crate::scim::etags::{touch_groups_if_renamed, touch_groups_of};
use crate::stored_time::StoredTime;
use crate::{Store, StoreError};

/// The condition of the index of active admins, `users_active_admins_idx` (migration
/// 23), as its text: both databases plan a statement before its values are bound (SQLite
/// always, PostgreSQL in a generic plan), so they use a partial index only for a
/// statement whose text states its condition. [`Role::Admin`](portcullis_domain::Role) is
/// stored as `admin`. diesel keeps no prepared statement that holds SQL text, so the read
/// is prepared anew on each call: it runs only when an active admin stops being one,
/// which affords that (an expression of its own, as `FromBookmark` in
/// `scim/bookmarks.rs`, is the way for a statement on a hot path).
const ACTIVE_ADMIN: &str = "users.role = 'admin' AND users.active";

/// What [`Store::list_users`] returns: one page, in a stable order (creation time, then
/// id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserListQuery {
    /// Only humans or only bots; `None` for both.
    pub kind: Option<UserKind>,
    /// Case-insensitive text that the email or the display name must contain.
    pub search: Option<String>,
    /// Rows to skip.
    pub offset: i64,
    /// Most rows to return.
    pub limit: i64,
}

/// Inserted with `NULL` for a `None` (not `DEFAULT`, which is the same here: no optional
/// column has another default), so that the `INSERT` is one statement whose SQL diesel
/// does not write on each call.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub(crate) struct UserRow {
    pub(crate) id: String,
    pub(crate) account_id: String,
    pub(crate) email: String,
    pub(crate) email_lower: String,
    pub(crate) display_name: String,
    pub(crate) kind: String,
    pub(crate) role: String,
    pub(crate) active: bool,
    pub(crate) password_hash: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) origin: String,
    pub(crate) created_at: StoredTime,
    pub(crate) updated_at: StoredTime,
    pub(crate) display_name_lower: String,
    pub(crate) scim_json: Option<String>,
    pub(crate) version: i64,
    pub(crate) scim_view: Option<String>,
}

impl UserRow {
    pub(crate) fn from_domain(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            account_id: u.account.to_string(),
            email: u.email.as_str().to_owned(),
            email_lower: u.email.normalized().to_owned(),
            display_name: u.display_name.clone(),
            kind: u.kind.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            active: u.active,
            password_hash: u.password_hash.clone(),
            external_id: u.external_id.clone(),
            origin: u.origin.as_str().to_owned(),
            created_at: StoredTime(scim_time(u.created_at)),
            updated_at: StoredTime(scim_time(u.updated_at)),
            display_name_lower: u.display_name.to_lowercase(),
            scim_json: None,
            version: 1,
            scim_view: None,
        }
    }

    pub(crate) fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: parse(&self.id, "user id")?,
            account: parse(&self.account_id, "account id")?,
            email: Email::parse(&self.email).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            display_name: self.display_name,
            kind: parse(&self.kind, "user kind")?,
            role: parse(&self.role, "role")?,
            active: self.active,
            password_hash: self.password_hash,
            external_id: self.external_id,
            origin: parse(&self.origin, "user origin")?,
            created_at: utc(self.created_at.0),
            updated_at: utc(self.updated_at.0),
        })
    }

    /// Inserts the row, with a member's emails ([`emails`]); a taken email is
    /// `Conflict { what: "email" }`.
    pub(crate) fn insert(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        // On the concrete connection, skipping the multi-backend wrapper's own pass over
        // the statement and its binds (`concrete!`); with `NULL` for a `None` the `INSERT`
        // has a static id, and its prepared statement is found by type.
        let insert = diesel::insert_into(users::table).values(self);
        concrete!(conn, |c| insert.execute(c))?;
        if self.kind == UserKind::Human.as_str() {
            emails::insert(
                conn,
                &self.id,
                &self.account_id,
                &self.email,
                self.scim_json.as_deref(),
            )?;
        }
        Ok(())
    }
}

/// Revokes the live sessions of a user; returns how many.
pub(crate) fn revoke_sessions_of(
    conn: &mut AnyConnection,
    account: &str,
    user: &str,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    let update = crate::cached::update(
        sessions::table,
        sessions::revoked_at.eq(now),
        sessions::account_id
            .eq(account)
            .and(sessions::user_id.eq(user))
            .and(sessions::revoked_at.is_null()),
    );
    Ok(concrete!(conn, |c| ExecuteDsl::execute(update, c))?)
}

/// Deletes a user and everything that hangs off it; the groups they were in change (their
/// members do) at `now`. The foreign keys cascade too; the explicit deletes keep this true
/// on a database opened without `foreign_keys = ON`.
pub(crate) fn delete_user_rows(
    conn: &mut AnyConnection,
    account: &str,
    user: &str,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let exists = users::table
        .filter(users::account_id.eq(account))
        .filter(users::id.eq(user))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        return Ok(false);
    }
    touch_groups_of(conn, user, now)?;
    diesel::delete(group_members::table.filter(group_members::user_id.eq(user))).execute(conn)?;
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user))).execute(conn)?;
    diesel::delete(sso_links::table.filter(sso_links::user_id.eq(user))).execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user))).execute(conn)?;
    diesel::delete(api_keys::table.filter(api_keys::owner_id.eq(user))).execute(conn)?;
    diesel::delete(users::table.find(user)).execute(conn)?;
    Ok(true)
}

impl Store {
    /// Adds a user. An email already used in the account (compared case-insensitively)
    /// is `Conflict { what: "email" }`; the same email in another account is fine.
    pub fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let row = UserRow::from_domain(user);
        self.write(|conn| row.insert(conn))
    }

    /// The user with this id in this account; another account's user is `None`.
    pub fn user(&self, account: AccountId, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            users::table
                .filter(users::account_id.eq(account.to_string()))
                .filter(users::id.eq(id.to_string()))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .map(UserRow::into_domain)
                .transpose()
        })
    }

    /// The user with this email (compared case-insensitively) in this account.
    pub fn user_by_email(
        &self,
        account: AccountId,
        email: &Email,
    ) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            users::table
                .filter(users::account_id.eq(account.to_string()))
                .filter(users::email_lower.eq(email.normalized()))
                .select(UserRow::as_select())
                .first(conn)
                .optional()?
                .map(UserRow::into_domain)
                .transpose()
        })
    }

    /// Saves a user's email, display name, role, active flag, password hash, external
    /// id and update time (id, account, kind, origin and creation time never change).
    /// `NotFound` when the user is not in that account; a taken email is a `Conflict`.
    ///
    /// Deactivating through here does not end sessions: use [`Store::set_user_active`].
    pub fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let row = UserRow::from_domain(user);
        self.write(|conn| {
            touch_groups_if_renamed(conn, &row.id, &row.display_name, row.updated_at.0)?;
            let n = diesel::update(
                users::table
                    .filter(users::account_id.eq(&row.account_id))
                    .filter(users::id.eq(&row.id)),
            )
            .set((
                users::email.eq(&row.email),
                users::email_lower.eq(&row.email_lower),
                users::display_name.eq(&row.display_name),
                users::role.eq(&row.role),
                users::active.eq(row.active),
                users::password_hash.eq(&row.password_hash),
                users::external_id.eq(&row.external_id),
                users::updated_at.eq(row.updated_at),
                users::display_name_lower.eq(&row.display_name_lower),
                users::version.eq(users::version + 1),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            // Members SCIM never described keep their email as their one email.
            let described: bool = users::table
                .find(&row.id)
                .select(users::scim_json.is_not_null())
                .first(conn)?;
            if !described && row.kind == UserKind::Human.as_str() {
                emails::replace(conn, &row.id, &row.account_id, &row.email, None)?;
            }
            Ok(())
        })
    }

    /// Activates or deactivates a user. Deactivation revokes the user's live sessions in
    /// the same transaction (their API keys stop working through the domain's
    /// `may_use_api_key`, and work again on reactivation). `false` when there is no
    /// such user in the account.
    pub fn set_user_active(
        &self,
        account: AccountId,
        id: UserId,
        active: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, id, now) = (account.to_string(), id.to_string(), scim_time(now));
        self.write(|conn| {
            let n = diesel::update(
                users::table
                    .filter(users::account_id.eq(&account))
                    .filter(users::id.eq(&id)),
            )
            .set((
                users::active.eq(active),
                users::updated_at.eq(now),
                users::version.eq(users::version + 1),
            ))
            .execute(conn)?;
            if n == 0 {
                return Ok(false);
            }
            if !active {
                revoke_sessions_of(conn, &account, &id, now)?;
            }
            Ok(true)
        })
    }

    /// Deletes a user with their group memberships, sessions, API keys and SSO links,
    /// in one transaction. `false` when there is no such user in the account (and
    /// nothing is audited).
    ///
    /// The groups they were in change at `now` (their ETags move: their members did).
    ///
    /// `audit`, when given, is written in the same transaction, so the change and its
    /// audit event are stored together or not at all.
    pub fn delete_user(
        &self,
        account: AccountId,
        id: UserId,
        now: DateTime<Utc>,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        let (account, id, now) = (account.to_string(), id.to_string(), scim_time(now));
        self.write(|conn| {
            let deleted = delete_user_rows(conn, &account, &id, now)?;
            if deleted {
                crate::audit::insert_audit(conn, audit)?;
            }
            Ok(deleted)
        })
    }

    /// The account's active human admins, at most `limit`, oldest first (for the
    /// last-admin rule and for whom to ask).
    pub fn active_admins(&self, account: AccountId, limit: i64) -> Result<Vec<User>, StoreError> {
        let account = account.to_string();
        self.read(|conn| active_admins(conn, &account, limit))
    }

    /// One page of an account's users and the total number matching, ordered by
    /// creation time then id so that pages never overlap or skip.
    pub fn list_users(
        &self,
        account: AccountId,
        q: &UserListQuery,
    ) -> Result<(Vec<User>, i64), StoreError> {
        let account = account.to_string();
        let query = || {
            let mut query = users::table
                .filter(users::account_id.eq(account.clone()))
                .into_boxed();
            if let Some(kind) = q.kind {
                query = query.filter(users::kind.eq(kind.as_str()));
            }
            if let Some(search) = q.search.as_deref().filter(|s| !s.trim().is_empty()) {
                let pattern = format!("%{}%", escape_like(&search.trim().to_lowercase()));
                query = query.filter(
                    users::email_lower
                        .like(pattern.clone())
                        .escape('\\')
                        .or(users::display_name_lower.like(pattern).escape('\\')),
                );
            }
            query
        };
        self.read(|conn| {
            let total = query().count().get_result::<i64>(conn)?;
            let rows = query()
                .order((users::created_at.asc(), users::id.asc()))
                .offset(q.offset.max(0))
                .limit(q.limit.max(0))
                .select(UserRow::as_select())
                .load(conn)?;
            let users = rows
                .into_iter()
                .map(UserRow::into_domain)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((users, total))
        })
    }
}

/// [`Store::active_admins`], read from the index of active admins (migration 23): it
/// reads those admins alone, however many members the account has.
pub(crate) fn active_admins(
    conn: &mut AnyConnection,
    account: &str,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    users::table
        .filter(users::account_id.eq(account))
        .filter(users::kind.eq(UserKind::Human.as_str()))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(ACTIVE_ADMIN))
        .order((users::created_at.asc(), users::id.asc()))
        .limit(limit.max(0))
        .select(UserRow::as_select())
        .load(conn)?
        .into_iter()
        .map(UserRow::into_domain)
        .collect()
}
