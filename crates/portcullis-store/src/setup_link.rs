//! Setup links for a customer's IT admin ([`SetupLink`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{AccountId, SecretHash, SetupLink, SetupLinkId, SetupSection};

use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::schema::setup_links;
use crate::{Store, StoreError};

/// `created_by` of a link an operator made (the column names a member otherwise).
const OPERATOR: &str = "operator";

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = setup_links)]
struct SetupLinkRow {
    id: String,
    account_id: String,
    token_hash: String,
    /// Comma-separated section names.
    sections: String,
    idp_id: String,
    created_by: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

impl SetupLinkRow {
    fn from_domain(l: &SetupLink) -> Self {
        let sections: Vec<&str> = l.sections.iter().map(|s| s.as_str()).collect();
        Self {
            id: l.id.to_string(),
            account_id: l.account.to_string(),
            token_hash: l.token_hash.as_str().to_owned(),
            sections: sections.join(","),
            idp_id: l.idp.to_string(),
            created_by: l
                .created_by
                .map_or_else(|| OPERATOR.to_owned(), |u| u.to_string()),
            created_at: db_time(l.created_at),
            expires_at: db_time(l.expires_at),
            revoked_at: db_time_opt(l.revoked_at),
        }
    }

    fn into_domain(self) -> Result<SetupLink, StoreError> {
        let sections = self
            .sections
            .split(',')
            .map(|s| SetupSection::parse(s).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_, _>>()?;
        Ok(SetupLink {
            id: parse(&self.id, "setup link id")?,
            account: parse(&self.account_id, "account id")?,
            token_hash: SecretHash::from_stored(self.token_hash),
            sections,
            idp: parse(&self.idp_id, "idp id")?,
            created_by: match self.created_by.as_str() {
                OPERATOR => None,
                id => Some(parse(id, "user id")?),
            },
            created_at: utc(self.created_at),
            expires_at: utc(self.expires_at),
            revoked_at: utc_opt(self.revoked_at),
        })
    }
}

impl Store {
    /// Stores a new setup link.
    pub fn insert_setup_link(&self, link: &SetupLink) -> Result<(), StoreError> {
        let row = SetupLinkRow::from_domain(link);
        self.write(|conn| {
            diesel::insert_into(setup_links::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The link whose secret has this hash, usable or not (the caller checks
    /// [`SetupLink::is_usable`]).
    pub fn setup_link_by_token(&self, hash: &SecretHash) -> Result<Option<SetupLink>, StoreError> {
        self.read(|conn| {
            setup_links::table
                .filter(setup_links::token_hash.eq(hash.as_str()))
                .select(SetupLinkRow::as_select())
                .first(conn)
                .optional()?
                .map(SetupLinkRow::into_domain)
                .transpose()
        })
    }

    /// The account's links, newest first.
    pub fn list_setup_links(&self, account: AccountId) -> Result<Vec<SetupLink>, StoreError> {
        self.read(|conn| {
            setup_links::table
                .filter(setup_links::account_id.eq(account.to_string()))
                .select(SetupLinkRow::as_select())
                .order((setup_links::created_at.desc(), setup_links::id.desc()))
                .load::<SetupLinkRow>(conn)?
                .into_iter()
                .map(SetupLinkRow::into_domain)
                .collect()
        })
    }

    /// Revokes a live link of the account; `false` when there is none (unknown, another
    /// account's, or revoked already).
    pub fn revoke_setup_link(
        &self,
        account: AccountId,
        id: SetupLinkId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(|conn| {
            let n = diesel::update(
                setup_links::table
                    .find(id.to_string())
                    .filter(setup_links::account_id.eq(account.to_string()))
                    .filter(setup_links::revoked_at.is_null()),
            )
            .set(setup_links::revoked_at.eq(db_time(now)))
            .execute(conn)?;
            Ok(n > 0)
        })
    }
}
