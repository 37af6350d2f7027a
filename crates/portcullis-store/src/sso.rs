//! SSO state shared by every replica: links from an IdP's subject to a member, pending
//! logins (OIDC state / SAML request ids) and the SAML assertion replay cache.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{IdpId, UserId};

use crate::convert::{db_time, parse, utc};
use crate::error::conflict;
use crate::schema::{assertion_replay, pending_logins, sessions, sso_links};
use crate::{Store, StoreError};

/// A login attempt that went to an IdP and has not come back yet. Single use: taking
/// it deletes it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// The OIDC `state` or the SAML AuthnRequest id (at least 128 random bits).
    pub id: String,
    /// The IdP the attempt went to; the answer must come back through the same one.
    pub idp: IdpId,
    /// Hash of the browser-binding cookie: the answer must come from the same browser.
    pub browser_binding: String,
    /// The OIDC nonce.
    pub nonce: Option<String>,
    /// The OIDC PKCE code verifier.
    pub pkce_verifier: Option<String>,
    /// A path on this server to return to after login.
    pub return_to: Option<String>,
    /// When the attempt stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Leaves out the nonce and the PKCE verifier (which redeem the code) and the binding.
impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("id", &self.id)
            .field("idp", &self.idp)
            .field("browser_binding", &"<redacted>")
            .field("nonce", &self.nonce.as_ref().map(|_| "<redacted>"))
            .field(
                "pkce_verifier",
                &self.pkce_verifier.as_ref().map(|_| "<redacted>"),
            )
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = pending_logins, treat_none_as_default_value = false)]
struct PendingRow {
    id: String,
    idp_id: String,
    browser_binding: String,
    nonce: Option<String>,
    pkce_verifier: Option<String>,
    return_to: Option<String>,
    expires_at: NaiveDateTime,
}

impl PendingRow {
    fn from_domain(p: &PendingLogin) -> Self {
        Self {
            id: p.id.clone(),
            idp_id: p.idp.to_string(),
            browser_binding: p.browser_binding.clone(),
            nonce: p.nonce.clone(),
            pkce_verifier: p.pkce_verifier.clone(),
            return_to: p.return_to.clone(),
            expires_at: db_time(p.expires_at),
        }
    }

    fn into_domain(self) -> Result<PendingLogin, StoreError> {
        Ok(PendingLogin {
            id: self.id,
            idp: parse(&self.idp_id, "IdP id")?,
            browser_binding: self.browser_binding,
            nonce: self.nonce,
            pkce_verifier: self.pkce_verifier,
            return_to: self.return_to,
            expires_at: utc(self.expires_at),
        })
    }
}

impl Store {
    /// The member linked to `subject` at this IdP.
    pub fn sso_link(&self, idp: IdpId, subject: &str) -> Result<Option<UserId>, StoreError> {
        self.read(|conn| {
            sso_links::table
                .find((idp.to_string(), subject))
                .select(sso_links::user_id)
                .first::<String>(conn)
                .optional()?
                .map(|id| parse(&id, "user id"))
                .transpose()
        })
    }

    /// The subject a member is linked to at this IdP.
    pub fn sso_subject_of(&self, idp: IdpId, user: UserId) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(sso_links::table
                .filter(sso_links::idp_id.eq(idp.to_string()))
                .filter(sso_links::user_id.eq(user.to_string()))
                .select(sso_links::subject)
                .first(conn)
                .optional()?)
        })
    }

    /// Links an IdP subject to a member (first SSO login). Linking the same pair again
    /// is fine; a subject linked to someone else, or a member linked to another subject
    /// of this IdP, is `Conflict { what: "sso link" }`.
    pub fn link_sso_subject(
        &self,
        idp: IdpId,
        subject: &str,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (idp, user) = (idp.to_string(), user.to_string());
        self.write(|conn| {
            let linked: Option<String> = sso_links::table
                .find((&idp, subject))
                .select(sso_links::user_id)
                .first(conn)
                .optional()?;
            match linked {
                Some(existing) if existing == user => Ok(()),
                Some(_) => Err(StoreError::Conflict {
                    what: conflict::SSO_LINK,
                }),
                None => {
                    diesel::insert_into(sso_links::table)
                        .values((
                            sso_links::idp_id.eq(&idp),
                            sso_links::subject.eq(subject),
                            sso_links::user_id.eq(&user),
                            sso_links::created_at.eq(db_time(now)),
                        ))
                        .execute(conn)?;
                    Ok(())
                }
            }
        })
    }

    /// Creates a member just in time and links them to `subject` at `idp`, in one
    /// transaction: either both exist afterwards or neither. A taken email is
    /// `Conflict { what: "email" }`, a subject already linked `Conflict { what: "sso link" }`.
    pub fn insert_user_with_sso_link(
        &self,
        user: &portcullis_domain::User,
        idp: IdpId,
        subject: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = crate::user::UserRow::from_domain(user);
        self.write(|conn| {
            row.insert(conn)?;
            diesel::insert_into(sso_links::table)
                .values((
                    sso_links::idp_id.eq(idp.to_string()),
                    sso_links::subject.eq(subject),
                    sso_links::user_id.eq(user.id.to_string()),
                    sso_links::created_at.eq(db_time(now)),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    /// Stores a login attempt. A reused id is `Conflict { what: "pending login" }`.
    pub fn insert_pending_login(&self, p: &PendingLogin) -> Result<(), StoreError> {
        let row = PendingRow::from_domain(p);
        self.write(|conn| {
            diesel::insert_into(pending_logins::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The login attempt `id` while it has not expired, without taking it.
    pub fn pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>, StoreError> {
        self.read(|conn| {
            let row = pending_logins::table
                .find(id)
                .select(pending_logins::all_columns)
                .first::<PendingRow>(conn)
                .optional()?;
            match row {
                Some(row) if utc(row.expires_at) > now => Ok(Some(row.into_domain()?)),
                _ => Ok(None),
            }
        })
    }

    /// Takes a login attempt: deletes it and returns it, in one statement, so that of
    /// two concurrent takes (on any replicas) at most one gets it. An expired attempt is
    /// deleted too and answers `None`.
    pub fn take_pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>, StoreError> {
        self.read(|conn| {
            let row = diesel::delete(pending_logins::table.find(id))
                // Whole columns, not `as_returning()`: diesel's multi-backend RETURNING
                // needs an expression every backend can render.
                .returning(pending_logins::all_columns)
                .get_result::<PendingRow>(conn)
                .optional()?;
            match row {
                Some(row) if utc(row.expires_at) > now => Ok(Some(row.into_domain()?)),
                _ => Ok(None),
            }
        })
    }

    /// Remembers a SAML assertion id until `expires_at`. `true` the first time, `false`
    /// when it was seen before at this IdP (a replay) — on any replica: the primary key
    /// decides.
    pub fn remember_assertion(
        &self,
        idp: IdpId,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // In a transaction (or a savepoint of the caller's) of its own: on PostgreSQL a
        // unique violation aborts the transaction it happens in, and only this one is
        // rolled back.
        let inserted = self.write(|conn| {
            diesel::insert_into(assertion_replay::table)
                .values((
                    assertion_replay::idp_id.eq(idp.to_string()),
                    assertion_replay::assertion_id.eq(assertion_id),
                    assertion_replay::expires_at.eq(db_time(expires_at)),
                ))
                .execute(conn)?;
            Ok(())
        });
        match inserted {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict { .. }) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Deletes what has expired by `now`: pending logins, replay entries (their
    /// assertions are no longer valid anyway) and sessions.
    pub fn purge_expired(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let now = db_time(now);
        self.write(|conn| {
            diesel::delete(pending_logins::table.filter(pending_logins::expires_at.le(now)))
                .execute(conn)?;
            diesel::delete(assertion_replay::table.filter(assertion_replay::expires_at.le(now)))
                .execute(conn)?;
            diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
            Ok(())
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
        let row = PendingRow {
            id: "i".into(),
            idp_id: "p".into(),
            browser_binding: "b".into(),
            nonce: None,
            pkce_verifier: None,
            return_to: None,
            expires_at: at,
        };
        let insert = diesel::insert_into(pending_logins::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }
}
