//! Dashboard sessions, shared by every replica so that logout and deactivation end them
//! everywhere at once.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{
    AccountId, AuthMethod, EmailDomain, IdpId, SecretHash, Session, SessionId, UserId,
};

use crate::convert::{db_time, db_time_opt, escape_like, parse, utc, utc_opt};
use crate::schema::{sessions, users};
use crate::user::revoke_sessions_of;
use crate::{Store, StoreError};

const PASSWORD: &str = "password";
const SSO: &str = "sso";

/// What the `id` column holds for a session: the SHA-256 of its id, never the id itself,
/// so that a copy of the database cannot be replayed as session cookies (the cookie
/// carries the id, signed).
pub(crate) fn stored_id(id: &str) -> String {
    SecretHash::of(id).as_str().to_owned()
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: String,
    account_id: String,
    user_id: String,
    method: String,
    idp_id: Option<String>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

impl SessionRow {
    fn from_domain(s: &Session) -> Self {
        let (method, idp_id) = match s.method {
            AuthMethod::Password => (PASSWORD, None),
            AuthMethod::Sso(idp) => (SSO, Some(idp.to_string())),
        };
        Self {
            id: stored_id(&s.id.to_string()),
            account_id: s.account.to_string(),
            user_id: s.user.to_string(),
            method: method.to_owned(),
            idp_id,
            created_at: db_time(s.created_at),
            expires_at: db_time(s.expires_at),
            revoked_at: db_time_opt(s.revoked_at),
        }
    }

    /// The session of this row, whose id (only its hash is stored) is `id`.
    fn into_domain(self, id: SessionId) -> Result<Session, StoreError> {
        let method = match (self.method.as_str(), self.idp_id.as_deref()) {
            (PASSWORD, _) => AuthMethod::Password,
            (SSO, Some(idp)) => AuthMethod::Sso(parse(idp, "session IdP id")?),
            (other, _) => return Err(StoreError::Corrupt(format!("session method {other:?}"))),
        };
        Ok(Session {
            id,
            account: parse(&self.account_id, "account id")?,
            user: parse(&self.user_id, "user id")?,
            method,
            created_at: utc(self.created_at),
            expires_at: utc(self.expires_at),
            revoked_at: utc_opt(self.revoked_at),
        })
    }
}

impl Store {
    /// Stores a new session. Its user must exist (`NotFound` otherwise).
    pub fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let row = SessionRow::from_domain(s);
        self.write(|conn| {
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The session with this id, live or not: the caller checks
    /// [`Session::is_live`].
    pub fn session(&self, id: SessionId) -> Result<Option<Session>, StoreError> {
        self.read(|conn| {
            sessions::table
                .find(stored_id(&id.to_string()))
                .select(SessionRow::as_select())
                .first(conn)
                .optional()?
                .map(|row: SessionRow| row.into_domain(id))
                .transpose()
        })
    }

    /// Ends a session (logout). Ending an unknown or already ended session is not an
    /// error; an ended session keeps its first end time.
    pub fn revoke_session(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(|conn| {
            diesel::update(
                sessions::table
                    .find(stored_id(&id.to_string()))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(db_time(now)))
            .execute(conn)?;
            Ok(())
        })
    }

    /// Ends every live session of a user; returns how many were live.
    pub fn revoke_user_sessions(
        &self,
        account: AccountId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let (account, user) = (account.to_string(), user.to_string());
        self.write(|conn| revoke_sessions_of(conn, &account, &user, db_time(now)))
    }

    /// Ends every live password session of an account (it switched to SSO enforced);
    /// returns how many were live.
    pub fn revoke_password_sessions(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let account = account.to_string();
        self.write(|conn| {
            Ok(diesel::update(
                sessions::table
                    .filter(sessions::account_id.eq(&account))
                    .filter(sessions::method.eq(PASSWORD))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(db_time(now)))
            .execute(conn)?)
        })
    }

    /// Ends every live password session of the account's members whose email is on
    /// `domain` (it now requires SSO); returns how many were live.
    pub fn revoke_password_sessions_on(
        &self,
        account: AccountId,
        domain: &EmailDomain,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let account = account.to_string();
        let pattern = format!("%@{}", escape_like(domain.as_str()));
        self.write(|conn| {
            let on_domain = users::table
                .filter(users::account_id.eq(&account))
                .filter(users::email_lower.like(&pattern).escape('\\'))
                .select(users::id);
            Ok(diesel::update(
                sessions::table
                    .filter(sessions::account_id.eq(&account))
                    .filter(sessions::method.eq(PASSWORD))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::user_id.eq_any(on_domain)),
            )
            .set(sessions::revoked_at.eq(db_time(now)))
            .execute(conn)?)
        })
    }

    /// Ends every live session that signed in through `idp` (it was disabled or
    /// deleted); returns how many were live.
    pub fn revoke_idp_sessions(&self, idp: IdpId, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let idp = idp.to_string();
        self.write(|conn| {
            Ok(diesel::update(
                sessions::table
                    .filter(sessions::idp_id.eq(&idp))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(db_time(now)))
            .execute(conn)?)
        })
    }
}
