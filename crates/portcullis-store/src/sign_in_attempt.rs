//! The sign-in debugger's traces ([`SignInAttempt`]), kept 7 days.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::sign_in_attempt::{SignInAttempt, Step};
use portcullis_domain::{AccountId, IdpId};
use serde_json::{json, Value};

use crate::convert::{db_time, parse, utc};
use crate::schema::sign_in_attempts;
use crate::{Store, StoreError};

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s row is (no optional column has
/// another default), so that diesel keeps the `INSERT`'s prepared statement.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sign_in_attempts, treat_none_as_default_value = false)]
struct AttemptRow {
    id: String,
    account_id: String,
    idp_id: String,
    protocol: String,
    succeeded: bool,
    reason: String,
    email: Option<String>,
    /// JSON array of `{"name", "outcome", "detail"}`.
    steps: String,
    response: Option<String>,
    at: NaiveDateTime,
}

impl AttemptRow {
    fn from_domain(a: &SignInAttempt) -> Self {
        let steps: Vec<Value> = a
            .steps
            .iter()
            .map(|s| json!({"name": s.name, "outcome": s.outcome.as_str(), "detail": s.detail}))
            .collect();
        Self {
            id: a.id.to_string(),
            account_id: a.account.to_string(),
            idp_id: a.idp.to_string(),
            protocol: a.protocol.clone(),
            succeeded: a.succeeded,
            reason: a.reason.clone(),
            email: a.email.clone(),
            steps: Value::Array(steps).to_string(),
            response: a.response.clone(),
            at: db_time(a.at),
        }
    }

    fn into_domain(self) -> Result<SignInAttempt, StoreError> {
        let corrupt = |e: String| StoreError::Corrupt(format!("sign-in attempt steps: {e}"));
        let raw: Vec<Value> =
            serde_json::from_str(&self.steps).map_err(|e| corrupt(e.to_string()))?;
        let steps = raw
            .iter()
            .map(|s| {
                let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                Ok(Step {
                    name: text("name"),
                    outcome: text("outcome")
                        .parse()
                        .map_err(|e: portcullis_domain::DomainError| corrupt(e.to_string()))?,
                    detail: text("detail"),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(SignInAttempt {
            id: uuid::Uuid::parse_str(&self.id).map_err(|e| corrupt(e.to_string()))?,
            account: parse(&self.account_id, "account id")?,
            idp: parse(&self.idp_id, "idp id")?,
            protocol: self.protocol,
            succeeded: self.succeeded,
            reason: self.reason,
            email: self.email,
            steps,
            response: self.response,
            at: utc(self.at),
        })
    }
}

/// Which attempts [`Store::sign_in_attempts`] returns; `None` lets all through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptFilter {
    /// Through this IdP.
    pub idp: Option<IdpId>,
    /// Succeeded (`true`) or failed.
    pub succeeded: Option<bool>,
    /// For this email (as the IdP sent it, letter case aside).
    pub email: Option<String>,
    /// From this time on.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
}

impl Store {
    /// Keeps a trace.
    pub fn insert_sign_in_attempt(&self, attempt: &SignInAttempt) -> Result<(), StoreError> {
        let row = AttemptRow::from_domain(attempt);
        self.write(|conn| {
            diesel::insert_into(sign_in_attempts::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// A page of the account's traces, newest first.
    pub fn sign_in_attempts(
        &self,
        account: AccountId,
        filter: &AttemptFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<SignInAttempt>, StoreError> {
        self.read(|conn| {
            let mut query = sign_in_attempts::table
                .filter(sign_in_attempts::account_id.eq(account.to_string()))
                .into_boxed();
            if let Some(idp) = filter.idp {
                query = query.filter(sign_in_attempts::idp_id.eq(idp.to_string()));
            }
            if let Some(succeeded) = filter.succeeded {
                query = query.filter(sign_in_attempts::succeeded.eq(succeeded));
            }
            if let Some(since) = filter.since {
                query = query.filter(sign_in_attempts::at.ge(db_time(since)));
            }
            if let Some(until) = filter.until {
                query = query.filter(sign_in_attempts::at.lt(db_time(until)));
            }
            let rows: Vec<AttemptRow> = query
                .order((sign_in_attempts::at.desc(), sign_in_attempts::id.desc()))
                .select(AttemptRow::as_select())
                .load(conn)?;
            let wanted = filter.email.as_deref().map(str::to_ascii_lowercase);
            rows.into_iter()
                .filter(|r| {
                    wanted.as_deref().is_none_or(|w| {
                        r.email
                            .as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(w))
                    })
                })
                .skip(usize::try_from(offset.max(0)).unwrap_or(0))
                .take(usize::try_from(limit.max(0)).unwrap_or(0))
                .map(AttemptRow::into_domain)
                .collect()
        })
    }

    /// One of the account's traces.
    pub fn sign_in_attempt(
        &self,
        account: AccountId,
        id: uuid::Uuid,
    ) -> Result<Option<SignInAttempt>, StoreError> {
        self.read(|conn| {
            sign_in_attempts::table
                .filter(sign_in_attempts::account_id.eq(account.to_string()))
                .filter(sign_in_attempts::id.eq(id.to_string()))
                .select(AttemptRow::as_select())
                .first(conn)
                .optional()?
                .map(AttemptRow::into_domain)
                .transpose()
        })
    }

    /// Deletes traces older than `before`.
    pub fn purge_sign_in_attempts(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        let before = db_time(before);
        self.write(|conn| {
            diesel::delete(sign_in_attempts::table.filter(sign_in_attempts::at.lt(before)))
                .execute(conn)?;
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
        let row = AttemptRow {
            id: "i".into(),
            account_id: "a".into(),
            idp_id: "p".into(),
            protocol: "saml".into(),
            succeeded: true,
            reason: String::new(),
            email: None,
            steps: "[]".into(),
            response: None,
            at,
        };
        let insert = diesel::insert_into(sign_in_attempts::table).values(&row);
        assert!(crate::connection::prepared_once(&insert));
    }
}
