//! Dashboard sessions, shared by every replica so that logout and deactivation end them
//! everywhere at once.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{
    AccountId, AuthMethod, EmailDomain, IdpId, LogoutHint, SecretHash, Session, SessionId, UserId,
};
use serde_json::{json, Value};

use crate::cipher;
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

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
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

/// What the `logout_subject` column holds for a SAML session: the SHA-256 of its IdP and
/// NameID, so an IdP's LogoutRequest finds the sessions it names.
fn logout_subject(idp: IdpId, name_id: &str) -> String {
    SecretHash::of(&format!("{idp}\n{name_id}"))
        .as_str()
        .to_owned()
}

/// A logout hint as the `logout_hint` column keeps it (before sealing).
fn hint_json(hint: &LogoutHint) -> String {
    match hint {
        LogoutHint::Oidc { id_token } => json!({ "oidc": { "id_token": id_token } }),
        LogoutHint::Saml {
            name_id,
            format,
            session_index,
        } => json!({ "saml": {
            "name_id": name_id, "format": format, "session_index": session_index } }),
    }
    .to_string()
}

fn hint_from_json(text: &str) -> Result<LogoutHint, StoreError> {
    let corrupt = || StoreError::Corrupt("session logout hint".into());
    let v: Value = serde_json::from_str(text).map_err(|_| corrupt())?;
    let text_of = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(o) = v.get("oidc") {
        return Ok(LogoutHint::Oidc {
            id_token: text_of(&o["id_token"]).ok_or_else(corrupt)?,
        });
    }
    let s = v.get("saml").ok_or_else(corrupt)?;
    Ok(LogoutHint::Saml {
        name_id: text_of(&s["name_id"]).ok_or_else(corrupt)?,
        format: text_of(&s["format"]),
        session_index: text_of(&s["session_index"]),
    })
}

impl Store {
    /// Stores a new session. Its user must exist (`NotFound` otherwise).
    pub fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.insert_session_with_hint(s, None)
    }

    /// Stores a new session with what signing out at its IdP needs (sealed with the
    /// encryption key when there is one).
    pub fn insert_session_with_hint(
        &self,
        s: &Session,
        hint: Option<&LogoutHint>,
    ) -> Result<(), StoreError> {
        let row = SessionRow::from_domain(s);
        let subject = match (s.method, hint) {
            (AuthMethod::Sso(idp), Some(LogoutHint::Saml { name_id, .. })) => {
                Some(logout_subject(idp, name_id))
            }
            _ => None,
        };
        let hint = hint
            .map(|h| cipher::seal(self.cipher.as_ref(), &hint_json(h)))
            .transpose()?;
        self.write(|conn| {
            match &hint {
                Some(hint) => diesel::insert_into(sessions::table)
                    .values((
                        &row,
                        sessions::logout_hint.eq(hint),
                        sessions::logout_subject.eq(&subject),
                    ))
                    .execute(conn)?,
                None => diesel::insert_into(sessions::table)
                    .values(&row)
                    .execute(conn)?,
            };
            Ok(())
        })
    }

    /// What signing out of session `id` at its IdP needs, when it was kept.
    pub fn session_logout_hint(&self, id: SessionId) -> Result<Option<LogoutHint>, StoreError> {
        let stored: Option<Option<String>> = self.read(|conn| {
            Ok(sessions::table
                .find(stored_id(&id.to_string()))
                .select(sessions::logout_hint)
                .first(conn)
                .optional()?)
        })?;
        stored
            .flatten()
            .map(|sealed| hint_from_json(&cipher::open(self.cipher.as_ref(), &sealed)?))
            .transpose()
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

    /// Ends the live sessions that signed in through `idp` with the SAML NameID `name_id`
    /// and, when `session_indexes` is not empty, one of those SessionIndex values (an
    /// IdP's LogoutRequest); returns the sessions it ended.
    pub fn revoke_saml_sessions(
        &self,
        idp: IdpId,
        name_id: &str,
        session_indexes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<(AccountId, UserId)>, StoreError> {
        let (subject, idp) = (logout_subject(idp, name_id), idp.to_string());
        self.write(|conn| {
            let live: Vec<(String, String, String, Option<String>)> = sessions::table
                .filter(sessions::logout_subject.eq(&subject))
                .filter(sessions::idp_id.eq(&idp))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(db_time(now)))
                .select((
                    sessions::id,
                    sessions::account_id,
                    sessions::user_id,
                    sessions::logout_hint,
                ))
                .load(conn)?;
            let mut ended = Vec::new();
            for (id, account, user, hint) in live {
                if !session_indexes.is_empty() {
                    let index = match hint {
                        Some(sealed) => {
                            match hint_from_json(&cipher::open(self.cipher.as_ref(), &sealed)?)? {
                                LogoutHint::Saml { session_index, .. } => session_index,
                                LogoutHint::Oidc { .. } => None,
                            }
                        }
                        None => None,
                    };
                    if !index.is_some_and(|i| session_indexes.contains(&i)) {
                        continue;
                    }
                }
                diesel::update(sessions::table.find(&id))
                    .set(sessions::revoked_at.eq(db_time(now)))
                    .execute(conn)?;
                ended.push((parse(&account, "account id")?, parse(&user, "user id")?));
            }
            Ok(ended)
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
        let row = SessionRow {
            id: "s".into(),
            account_id: "a".into(),
            user_id: "u".into(),
            method: "saml".into(),
            idp_id: None,
            created_at: at,
            expires_at: at,
            revoked_at: None,
        };
        let insert = diesel::insert_into(sessions::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }
}
