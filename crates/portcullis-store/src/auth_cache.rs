//! What API-key authentication read, kept in memory between calls and trusted only while
//! the account's epoch is unchanged.
//!
//! Triggers (migration 6) move an account's epoch forward in the same transaction as any
//! change that could alter an authentication: a key revoked or deleted, its owner changed
//! or removed, the account changed. An entry remembers the epoch it was read with; a use
//! reads the current epoch (one primary-key lookup instead of a three-table join and the
//! decoding of three rows) and drops the entry when the two differ. The epoch lives in
//! the database, so a change made by another replica or by the command line is seen on
//! the very next call, exactly as without the cache.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use portcullis_domain::{Account, AccountId, ApiKey, ApiKeyId, User, UserId};

use crate::scim::{ScimQuery, ScimUserShown, UserField};
use crate::{Store, StoreError};

/// A key as it was read before and kept in memory ([`Store::cached_api_key`]), with the
/// account's authentication epoch of that read. What was read may be stale: the reads
/// offered here answer only while that epoch is still current, which each checks in its
/// own statement, so a read relying on the key cannot forget to. When one answers
/// `None` (a moved epoch among other reasons), the caller checks the key in full.
pub struct KnownKey<'a> {
    pub(crate) store: &'a Store,
    /// The key.
    pub key: ApiKey,
    /// Its owner.
    pub owner: User,
    /// Its account.
    pub account: Account,
    pub(crate) epoch: i64,
}

impl KnownKey<'_> {
    /// [`Store::scim_user`]'s member as [`ScimUserShown`], while the epoch holds.
    pub fn scim_user_shown(
        &self,
        account: AccountId,
        id: UserId,
    ) -> Result<Option<ScimUserShown>, StoreError> {
        self.store.scim_user_shown(account, id, self.epoch)
    }

    /// A lookup of a few members as [`ScimUserShown`], while the epoch holds.
    pub fn lookup_scim_users_shown(
        &self,
        account: AccountId,
        q: &ScimQuery<UserField>,
    ) -> Result<Option<Vec<ScimUserShown>>, StoreError> {
        self.store.lookup_scim_users_shown(account, q, self.epoch)
    }
}

/// Entries kept at most; a full cache starts again empty (keys in use are few, and a
/// miss costs one query).
const CAPACITY: usize = 4096;

/// A key, its owner and its account as read together, with the epoch of the account at
/// that read.
#[derive(Clone)]
pub(crate) struct Authenticated {
    pub(crate) epoch: i64,
    pub(crate) key: ApiKey,
    pub(crate) owner: User,
    pub(crate) account: Account,
}

/// Entries by secret hash (the key's own identity: a cache hit needs the secret).
#[derive(Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<String, Authenticated>>,
}

impl AuthCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Authenticated>> {
        // No code runs under the lock that could panic half-way through a change.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The entry for this secret hash, to be checked against the current epoch.
    pub(crate) fn get(&self, hash: &str) -> Option<Authenticated> {
        self.entries().get(hash).cloned()
    }

    /// Keeps what was just read with the epoch read in the same statement.
    pub(crate) fn put(&self, hash: &str, entry: Authenticated) {
        let mut entries = self.entries();
        if entries.len() >= CAPACITY && !entries.contains_key(hash) {
            entries.clear();
        }
        entries.insert(hash.to_owned(), entry);
    }

    /// Forgets an entry whose epoch has moved on.
    pub(crate) fn remove(&self, hash: &str) {
        self.entries().remove(hash);
    }

    /// Records a use written to the database (which moves no epoch), so the next call
    /// does not see the old time and write again.
    pub(crate) fn touched(&self, id: ApiKeyId, at: DateTime<Utc>) {
        for entry in self.entries().values_mut() {
            if entry.key.id == id {
                entry.key.last_used_at = Some(at);
            }
        }
    }
}
