//! Housekeeping: what has expired — pending SSO logins, assertion-replay entries (their
//! assertions can no longer be accepted anyway) and sessions — is deleted on a schedule,
//! so that the tables hold only what can still matter. Every replica runs it; the deletes
//! are idempotent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_store::{Store, StoreError};

/// How often expired rows are deleted.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Deletes every row that expired by `now`.
pub fn purge_once(store: &Store, now: DateTime<Utc>) -> Result<(), StoreError> {
    store.purge_expired(now)
}

/// Purges now and then every `every`, forever (run it on a thread of its own).
pub fn purge_loop(store: Store, every: Duration) {
    loop {
        if let Err(e) = purge_once(&store, Utc::now()) {
            tracing::warn!(error = %e, "deleting expired logins and sessions failed");
        }
        std::thread::sleep(every);
    }
}
