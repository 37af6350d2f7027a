//! The email domains accounts claim ([`AccountDomain`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{AccountDomain, AccountId, DomainId, EmailDomain};

use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::schema::account_domains;
use crate::{Store, StoreError};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = account_domains)]
struct DomainRow {
    id: String,
    account_id: String,
    domain: String,
    token: String,
    verified_at: Option<NaiveDateTime>,
    checked_at: Option<NaiveDateTime>,
    missing_since: Option<NaiveDateTime>,
    sso_required: bool,
    idp_id: Option<String>,
    created_at: NaiveDateTime,
}

impl DomainRow {
    fn from_domain(d: &AccountDomain) -> Self {
        Self {
            id: d.id.to_string(),
            account_id: d.account.to_string(),
            domain: d.domain.as_str().to_owned(),
            token: d.token.clone(),
            verified_at: db_time_opt(d.verified_at),
            checked_at: db_time_opt(d.checked_at),
            missing_since: db_time_opt(d.missing_since),
            sso_required: d.sso_required,
            idp_id: d.idp.map(|i| i.to_string()),
            created_at: db_time(d.created_at),
        }
    }

    fn into_domain(self) -> Result<AccountDomain, StoreError> {
        Ok(AccountDomain {
            id: parse(&self.id, "domain id")?,
            account: parse(&self.account_id, "account id")?,
            domain: EmailDomain::parse(&self.domain)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            token: self.token,
            verified_at: utc_opt(self.verified_at),
            checked_at: utc_opt(self.checked_at),
            missing_since: utc_opt(self.missing_since),
            sso_required: self.sso_required,
            idp: self.idp_id.map(|i| parse(&i, "idp id")).transpose()?,
            created_at: utc(self.created_at),
        })
    }
}

fn all(rows: Vec<DomainRow>) -> Result<Vec<AccountDomain>, StoreError> {
    rows.into_iter().map(DomainRow::into_domain).collect()
}

impl Store {
    /// Stores a new claim. A domain the account already claims is
    /// `Conflict { what: "domain" }`; one verified (by another account) is
    /// `Conflict { what: "verified domain" }`.
    pub fn insert_domain(&self, domain: &AccountDomain) -> Result<(), StoreError> {
        let row = DomainRow::from_domain(domain);
        self.write(|conn| {
            diesel::insert_into(account_domains::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The account's claims, by domain name.
    pub fn domains(&self, account: AccountId) -> Result<Vec<AccountDomain>, StoreError> {
        let account = account.to_string();
        self.read(|conn| {
            all(account_domains::table
                .filter(account_domains::account_id.eq(&account))
                .order(account_domains::domain.asc())
                .select(DomainRow::as_select())
                .load(conn)?)
        })
    }

    /// One of the account's claims.
    pub fn domain(
        &self,
        account: AccountId,
        id: DomainId,
    ) -> Result<Option<AccountDomain>, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.read(|conn| {
            account_domains::table
                .filter(account_domains::account_id.eq(&account))
                .filter(account_domains::id.eq(&id))
                .select(DomainRow::as_select())
                .first(conn)
                .optional()?
                .map(DomainRow::into_domain)
                .transpose()
        })
    }

    /// The claim that has verified `domain`, in whichever account.
    pub fn verified_domain(
        &self,
        domain: &EmailDomain,
    ) -> Result<Option<AccountDomain>, StoreError> {
        let domain = domain.as_str().to_owned();
        self.read(|conn| {
            account_domains::table
                .filter(account_domains::domain.eq(&domain))
                .filter(account_domains::verified_at.is_not_null())
                .select(DomainRow::as_select())
                .first(conn)
                .optional()?
                .map(DomainRow::into_domain)
                .transpose()
        })
    }

    /// Saves what can change of a claim: its verification, checks, policy and IdP.
    /// Verifying a domain another account has verified is
    /// `Conflict { what: "verified domain" }`; `NotFound` when the claim is gone.
    pub fn save_domain(&self, domain: &AccountDomain) -> Result<(), StoreError> {
        let row = DomainRow::from_domain(domain);
        self.write(|conn| {
            let n = diesel::update(
                account_domains::table
                    .filter(account_domains::account_id.eq(&row.account_id))
                    .filter(account_domains::id.eq(&row.id)),
            )
            .set((
                account_domains::verified_at.eq(row.verified_at),
                account_domains::checked_at.eq(row.checked_at),
                account_domains::missing_since.eq(row.missing_since),
                account_domains::sso_required.eq(row.sso_required),
                account_domains::idp_id.eq(&row.idp_id),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    /// Removes a claim; `false` when the account has no such claim.
    pub fn delete_domain(&self, account: AccountId, id: DomainId) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            let n = diesel::delete(
                account_domains::table
                    .filter(account_domains::account_id.eq(&account))
                    .filter(account_domains::id.eq(&id)),
            )
            .execute(conn)?;
            Ok(n > 0)
        })
    }

    /// Up to `limit` verified claims, of every account, last checked before `before` (or
    /// never): those a periodic re-check looks at, the longest unchecked first.
    pub fn domains_to_recheck(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AccountDomain>, StoreError> {
        let before = db_time(before);
        self.read(|conn| {
            all(account_domains::table
                .filter(account_domains::verified_at.is_not_null())
                .filter(
                    account_domains::checked_at
                        .is_null()
                        .or(account_domains::checked_at.lt(before)),
                )
                .order((
                    account_domains::checked_at.is_null().desc(),
                    account_domains::checked_at.asc(),
                    account_domains::id.asc(),
                ))
                .limit(limit.max(0))
                .select(DomainRow::as_select())
                .load(conn)?)
        })
    }
}
