//! API keys: only the hash of each secret is stored.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{Account, AccountId, ApiKey, ApiKeyId, SecretHash, User};

use crate::account::AccountRow;
use crate::connection::concrete;
use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::schema::{accounts, api_keys, users};
use crate::user::UserRow;
use crate::{Store, StoreError};

/// [`Store::touch_api_key`] writes at most once per this many seconds per key, so that a
/// busy SCIM client does not turn every read into a write.
pub const TOUCH_GRANULARITY_SECS: i64 = 60;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
struct ApiKeyRow {
    id: String,
    account_id: String,
    owner_id: String,
    description: String,
    prefix: String,
    secret_hash: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

impl ApiKeyRow {
    fn from_domain(k: &ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            account_id: k.account.to_string(),
            owner_id: k.owner.to_string(),
            description: k.description.clone(),
            prefix: k.prefix.clone(),
            secret_hash: k.secret_hash.as_str().to_owned(),
            created_at: db_time(k.created_at),
            last_used_at: db_time_opt(k.last_used_at),
            revoked_at: db_time_opt(k.revoked_at),
        }
    }

    fn into_domain(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: parse(&self.id, "api key id")?,
            account: parse(&self.account_id, "account id")?,
            owner: parse(&self.owner_id, "user id")?,
            description: self.description,
            prefix: self.prefix,
            secret_hash: SecretHash::from_stored(self.secret_hash),
            created_at: utc(self.created_at),
            last_used_at: utc_opt(self.last_used_at),
            revoked_at: utc_opt(self.revoked_at),
        })
    }
}

impl Store {
    /// Stores a new API key. Its owner must exist (`NotFound` otherwise).
    pub fn insert_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let row = ApiKeyRow::from_domain(k);
        self.write(|conn| {
            diesel::insert_into(api_keys::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// The key whose secret has this hash, revoked or not (the domain's
    /// `may_use_api_key` decides). The lookup is by unique index.
    pub fn api_key_by_hash(&self, hash: &SecretHash) -> Result<Option<ApiKey>, StoreError> {
        self.read(|conn| {
            api_keys::table
                .filter(api_keys::secret_hash.eq(hash.as_str()))
                .select(ApiKeyRow::as_select())
                .first(conn)
                .optional()?
                .map(ApiKeyRow::into_domain)
                .transpose()
        })
    }

    /// The key with this secret hash together with its owner and the account, in one
    /// query: what every API call needs to decide whether the key may be used. `None`
    /// for unknown keys, and for keys whose owner is gone or belongs to another account.
    pub fn api_key_for_auth(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(ApiKey, User, Account)>, StoreError> {
        self.read(|conn| {
            let row: Option<(ApiKeyRow, UserRow, AccountRow)> = concrete!(conn, |c| {
                api_keys::table
                    .inner_join(users::table.inner_join(accounts::table))
                    .filter(api_keys::secret_hash.eq(hash.as_str()))
                    .filter(api_keys::account_id.eq(users::account_id))
                    .select((
                        ApiKeyRow::as_select(),
                        UserRow::as_select(),
                        AccountRow::as_select(),
                    ))
                    .first(c)
                    .optional()
            })?;
            row.map(|(key, owner, account)| {
                Ok((
                    key.into_domain()?,
                    owner.into_domain()?,
                    account.into_domain()?,
                ))
            })
            .transpose()
        })
    }

    /// Records that a key was used at `now`. Writes only when the stored time is older
    /// than [`TOUCH_GRANULARITY_SECS`]; callers holding the key they just loaded can
    /// skip the call altogether when its `last_used_at` is that recent.
    pub fn touch_api_key(&self, id: ApiKeyId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let stale_before = db_time(now - Duration::seconds(TOUCH_GRANULARITY_SECS));
        self.read(|conn| {
            diesel::update(
                api_keys::table.find(id.to_string()).filter(
                    api_keys::last_used_at
                        .is_null()
                        .or(api_keys::last_used_at.lt(stale_before)),
                ),
            )
            .set(api_keys::last_used_at.eq(db_time(now)))
            .execute(conn)?;
            Ok(())
        })
    }

    /// The account's keys, revoked ones included, oldest first.
    pub fn list_api_keys(&self, account: AccountId) -> Result<Vec<ApiKey>, StoreError> {
        self.read(|conn| {
            api_keys::table
                .filter(api_keys::account_id.eq(account.to_string()))
                .order((api_keys::created_at.asc(), api_keys::id.asc()))
                .select(ApiKeyRow::as_select())
                .load(conn)?
                .into_iter()
                .map(ApiKeyRow::into_domain)
                .collect()
        })
    }

    /// Revokes a key for good. `false` when the account has no such key; revoking a
    /// revoked key keeps its first revocation time and answers `true`.
    pub fn revoke_api_key(
        &self,
        account: AccountId,
        id: ApiKeyId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            let scoped = || {
                api_keys::table
                    .filter(api_keys::account_id.eq(account.clone()))
                    .filter(api_keys::id.eq(id.clone()))
            };
            diesel::update(scoped().filter(api_keys::revoked_at.is_null()))
                .set(api_keys::revoked_at.eq(db_time(now)))
                .execute(conn)?;
            Ok(scoped().count().get_result::<i64>(conn)? > 0)
        })
    }
}
