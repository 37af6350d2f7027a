//! Housekeeping: what has expired — pending SSO logins, assertion-replay entries (their
//! assertions can no longer be accepted anyway), sessions, and audit events past the
//! retention setting — is deleted on a schedule,
//! so that the tables hold only what can still matter. Every replica runs it; the deletes
//! are idempotent. Once at start, members stored before `scim_view` existed get theirs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use portcullis_store::{Store, StoreError};

use crate::scim::mapping;

/// Members read and filled per transaction by [`fill_scim_views`].
const FILL_BATCH: i64 = 500;

/// How often expired rows are deleted.
pub const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// Deletes every row that expired by `now`, and audit events older than
/// `audit_retention_days` (none when it is 0).
pub fn purge_once(
    store: &Store,
    now: DateTime<Utc>,
    audit_retention_days: u32,
) -> Result<(), StoreError> {
    store.purge_expired(now)?;
    store.purge_sign_in_attempts(now - portcullis_domain::sign_in_attempt::KEEP)?;
    if audit_retention_days > 0 {
        store.purge_audit(now - chrono::Duration::days(i64::from(audit_retention_days)))?;
    }
    Ok(())
}

/// Purges now and then every `every`, forever (run it on a thread of its own).
pub fn purge_loop(store: Store, every: Duration, audit_retention_days: u32) {
    loop {
        if let Err(e) = purge_once(&store, Utc::now(), audit_retention_days) {
            tracing::warn!(error = %e, "deleting expired logins and sessions failed");
        }
        std::thread::sleep(every);
    }
}

/// Writes the `scim_view` of every member who has `scim_json` but no view (rows stored
/// before the view existed), so that their reads copy it instead of rendering `scim_json`
/// each time; texts [`mapping::user_view`] declines keep none. One pass in id order, a
/// batch per transaction; a member written meanwhile keeps the view that write gave.
/// Returns how many views were written. Idempotent: every replica may run it.
pub fn fill_scim_views(store: &Store) -> Result<usize, StoreError> {
    let mut after = None;
    let mut written = 0;
    loop {
        let members = store.scim_users_without_view(after, FILL_BATCH)?;
        let Some((last, _, _)) = members.last() else {
            return Ok(written);
        };
        after = Some(*last);
        let views: Vec<_> = members
            .iter()
            .filter_map(|(id, json, version)| {
                mapping::user_view(json).map(|view| (*id, *version, view))
            })
            .collect();
        written += store.fill_scim_views(&views)?;
    }
}
