//! API keys: only the hash of each secret is stored.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::{Account, AccountId, ApiKey, ApiKeyId, Scopes, SecretHash, User};

use crate::account::AccountRow;
use crate::auth_cache::{Authenticated, KnownKey};
use crate::connection::{concrete, AnyConnection};
use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::schema::{accounts, api_auth_epochs, api_keys, users};
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
    scopes: String,
    legacy_full_access: bool,
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
            scopes: k.scopes.to_stored(),
            legacy_full_access: k.legacy_full_access,
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
            scopes: Scopes::from_stored(&self.scopes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            legacy_full_access: self.legacy_full_access,
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

    /// The key with this secret hash together with its owner and the account: what
    /// every API call needs to decide whether the key may be used. `None` for unknown
    /// keys, and for keys whose owner is gone or belongs to another account.
    ///
    /// Answers from memory when nothing that could change the answer was written since
    /// the last read (the account's [`Store::api_auth_epoch`] is unchanged: one
    /// primary-key lookup); otherwise from one query joining the three rows.
    pub fn api_key_for_auth(
        &self,
        hash: &SecretHash,
    ) -> Result<Option<(ApiKey, User, Account)>, StoreError> {
        self.read(|conn| {
            if let Some(cached) = self.auth_cache.get(hash.as_str()) {
                if epoch_of(conn, &cached.account.id.to_string())? == Some(cached.epoch) {
                    return Ok(Some((cached.key, cached.owner, cached.account)));
                }
                self.auth_cache.remove(hash.as_str());
            }
            // The epoch is read in the same statement as the rows, so it is never newer
            // than what they say.
            let row: Option<(ApiKeyRow, UserRow, AccountRow, Option<i64>)> =
                concrete!(conn, |c| {
                    api_keys::table
                        .inner_join(users::table.inner_join(accounts::table))
                        .left_join(
                            api_auth_epochs::table.on(api_auth_epochs::account_id.eq(accounts::id)),
                        )
                        .filter(api_keys::secret_hash.eq(hash.as_str()))
                        .filter(api_keys::account_id.eq(users::account_id))
                        .select((
                            ApiKeyRow::as_select(),
                            UserRow::as_select(),
                            AccountRow::as_select(),
                            api_auth_epochs::epoch.nullable(),
                        ))
                        .first(c)
                        .optional()
                })?;
            let Some((key, owner, account, epoch)) = row else {
                return Ok(None);
            };
            let (key, owner, account) = (
                key.into_domain()?,
                owner.into_domain()?,
                account.into_domain()?,
            );
            if let Some(epoch) = epoch {
                self.auth_cache.put(
                    hash.as_str(),
                    Authenticated {
                        epoch,
                        key: key.clone(),
                        owner: owner.clone(),
                        account: account.clone(),
                    },
                );
            }
            Ok(Some((key, owner, account)))
        })
    }

    /// The key, owner and account kept in memory for this secret hash, with the account's
    /// authentication epoch they were read at ([`Store::api_auth_epoch`]); no database
    /// read. Trustworthy only while the account's epoch still is that one: a read that
    /// relies on it must check the epoch in its own statement (as
    /// [`Store::scim_user_shown`] does), else use [`Store::api_key_for_auth`].
    pub fn cached_api_key(&self, hash: &SecretHash) -> Option<KnownKey<'_>> {
        self.auth_cache.get(hash.as_str()).map(|c| KnownKey {
            store: self,
            key: c.key,
            owner: c.owner,
            account: c.account,
            epoch: c.epoch,
        })
    }

    /// The account's authentication epoch: a number the database moves forward, in the
    /// same transaction, with every change that could alter an API-key authentication
    /// in the account (a key revoked or deleted, its owner changed or removed, the
    /// account's settings changed); recording a key's use does not move it. `None` for
    /// an account that never existed.
    pub fn api_auth_epoch(&self, account: AccountId) -> Result<Option<i64>, StoreError> {
        self.read(|conn| epoch_of(conn, &account.to_string()))
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
            self.auth_cache.touched(id, utc(db_time(now)));
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

/// The current epoch of an account (see [`Store::api_auth_epoch`]).
fn epoch_of(conn: &mut AnyConnection, account: &str) -> Result<Option<i64>, StoreError> {
    Ok(concrete!(conn, |c| {
        api_auth_epochs::table
            .find(account)
            .select(api_auth_epochs::epoch)
            .first::<i64>(c)
            .optional()
    })?)
}
