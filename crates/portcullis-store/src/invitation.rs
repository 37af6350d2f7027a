//! Invitations to join an account.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::query_dsl::methods::ExecuteDsl;
use portcullis_domain::{AccountId, Email, Invitation, InvitationId, SecretHash, User, UserId};

use crate::connection::concrete;
use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::error::conflict;
use crate::schema::invitations;
use crate::user::UserRow;
use crate::{Store, StoreError};

/// `invited_by` of an invitation an operator made (the column names a member otherwise).
const OPERATOR: &str = "operator";

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations, treat_none_as_default_value = false)]
struct InvitationRow {
    id: String,
    account_id: String,
    email: String,
    email_lower: String,
    role: String,
    invited_by: String,
    token_hash: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    accepted_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl InvitationRow {
    fn from_domain(i: &Invitation) -> Self {
        Self {
            id: i.id.to_string(),
            account_id: i.account.to_string(),
            email: i.email.as_str().to_owned(),
            email_lower: i.email.normalized().to_owned(),
            role: i.role.as_str().to_owned(),
            invited_by: i
                .invited_by
                .map_or_else(|| OPERATOR.to_owned(), |u| u.to_string()),
            token_hash: i.token_hash.as_str().to_owned(),
            created_at: db_time(i.created_at),
            expires_at: db_time(i.expires_at),
            accepted_at: db_time_opt(i.accepted_at),
            revoked_at: db_time_opt(i.revoked_at),
        }
    }

    fn into_domain(self) -> Result<Invitation, StoreError> {
        Ok(Invitation {
            id: parse(&self.id, "invitation id")?,
            account: parse(&self.account_id, "account id")?,
            email: Email::parse(&self.email).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            role: parse(&self.role, "role")?,
            invited_by: match self.invited_by.as_str() {
                OPERATOR => None,
                id => Some(parse(id, "user id")?),
            },
            token_hash: SecretHash::from_stored(self.token_hash),
            created_at: utc(self.created_at),
            expires_at: utc(self.expires_at),
            accepted_at: utc_opt(self.accepted_at),
            revoked_at: utc_opt(self.revoked_at),
        })
    }
}

impl Store {
    /// Stores a new invitation.
    pub fn insert_invitation(&self, i: &Invitation) -> Result<(), StoreError> {
        let row = InvitationRow::from_domain(i);
        self.write(|conn| {
            diesel::insert_into(invitations::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The invitation whose link secret has this hash, used or not (the caller checks
    /// [`Invitation::is_usable`]).
    pub fn invitation_by_token(&self, hash: &SecretHash) -> Result<Option<Invitation>, StoreError> {
        self.read(|conn| {
            invitations::table
                .filter(invitations::token_hash.eq(hash.as_str()))
                .select(InvitationRow::as_select())
                .first(conn)
                .optional()?
                .map(InvitationRow::into_domain)
                .transpose()
        })
    }

    /// Marks the invitation used and creates its member, in one transaction.
    /// `NotFound` when there is no such invitation for the new user's account;
    /// `Conflict { what: "invitation" }` when it was already used or has expired (of
    /// two concurrent acceptances exactly one succeeds); a taken email is
    /// `Conflict { what: "email" }` and leaves the invitation unused.
    pub fn accept_invitation(
        &self,
        id: InvitationId,
        new_user: &User,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (id, account, now) = (id.to_string(), new_user.account.to_string(), db_time(now));
        let row = UserRow::from_domain(new_user);
        self.write(|conn| {
            let scoped = || {
                invitations::table
                    .filter(invitations::id.eq(id.clone()))
                    .filter(invitations::account_id.eq(account.clone()))
            };
            let used = diesel::update(
                scoped()
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::revoked_at.is_null())
                    .filter(invitations::expires_at.gt(now)),
            )
            .set(invitations::accepted_at.eq(now))
            .execute(conn)?;
            if used == 0 {
                let exists = scoped().count().get_result::<i64>(conn)? > 0;
                return Err(if exists {
                    StoreError::Conflict {
                        what: conflict::INVITATION,
                    }
                } else {
                    StoreError::NotFound
                });
            }
            row.insert(conn)
        })
    }

    /// Revokes a pending invitation of the account: its link stops working. `false` when
    /// there is no such invitation, or it was already used or revoked.
    pub fn revoke_invitation(
        &self,
        account: AccountId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            Ok(diesel::update(
                invitations::table
                    .filter(invitations::id.eq(&id))
                    .filter(invitations::account_id.eq(&account))
                    .filter(invitations::accepted_at.is_null())
                    .filter(invitations::revoked_at.is_null()),
            )
            .set(invitations::revoked_at.eq(db_time(now)))
            .execute(conn)?
                > 0)
        })
    }

    /// Revokes every pending invitation `inviter` made in the account; returns how many.
    pub fn revoke_invitations_by(
        &self,
        account: AccountId,
        inviter: UserId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let (account, inviter) = (account.to_string(), inviter.to_string());
        self.write_part(|conn| {
            let update = crate::cached::update(
                invitations::table,
                invitations::revoked_at.eq(db_time(now)),
                invitations::invited_by
                    .eq(&inviter)
                    .and(invitations::account_id.eq(&account))
                    .and(invitations::accepted_at.is_null())
                    .and(invitations::revoked_at.is_null()),
            );
            Ok(concrete!(conn, |c| ExecuteDsl::execute(update, c))?)
        })
    }

    /// The account's invitations, oldest first.
    pub fn list_invitations(&self, account: AccountId) -> Result<Vec<Invitation>, StoreError> {
        self.read(|conn| {
            invitations::table
                .filter(invitations::account_id.eq(account.to_string()))
                .order((invitations::created_at.asc(), invitations::id.asc()))
                .select(InvitationRow::as_select())
                .load(conn)?
                .into_iter()
                .map(InvitationRow::into_domain)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserted by one statement diesel prepares once (`None` written as `NULL`).
    #[test]
    fn a_row_is_inserted_by_a_statement_prepared_once() {
        let at = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let row = InvitationRow {
            id: "i".into(),
            account_id: "a".into(),
            email: "ada@example.com".into(),
            email_lower: "ada@example.com".into(),
            role: "member".into(),
            invited_by: "u".into(),
            token_hash: "h".into(),
            created_at: at,
            expires_at: at,
            accepted_at: None,
            revoked_at: None,
        };
        let insert = diesel::insert_into(invitations::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }
}
