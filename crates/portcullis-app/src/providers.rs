//! An in-memory cache of what OpenID Connect discovery found, per IdP, so a login does
//! not fetch the discovery document and the JWKS twice.
//!
//! Entries expire after [`ProviderCache::TTL`] (signing keys rotate) and are keyed by the
//! IdP and its configured issuer, so changing an IdP's issuer is never answered from the
//! old entry. Each replica has its own cache; nothing in it is a secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portcullis_domain::IdpId;
use portcullis_sso::oidc::{self, HttpPolicy, ProviderInfo};
use portcullis_sso::SsoError;

/// Discovered providers, per IdP.
#[derive(Default)]
pub struct ProviderCache {
    entries: Mutex<HashMap<IdpId, Entry>>,
    /// When each IdP's keys were last fetched because a token named a key they lacked.
    key_refreshes: Mutex<HashMap<IdpId, Instant>>,
}

struct Entry {
    issuer: String,
    info: ProviderInfo,
    fetched_at: Instant,
}

impl ProviderCache {
    /// How long a discovery result is used before it is fetched again.
    pub const TTL: Duration = Duration::from_secs(15 * 60);

    /// The provider of `idp` at `issuer`, discovered now unless a fresh entry exists.
    pub async fn get(
        &self,
        idp: IdpId,
        issuer: &str,
        policy: &HttpPolicy,
    ) -> Result<ProviderInfo, SsoError> {
        if let Some(info) = self.fresh(idp, issuer) {
            return Ok(info);
        }
        let info = oidc::discover(issuer, policy).await?;
        self.remember(idp, issuer, &info);
        Ok(info)
    }

    fn fresh(&self, idp: IdpId, issuer: &str) -> Option<ProviderInfo> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&idp)
            .filter(|e| e.issuer == issuer && e.fetched_at.elapsed() < Self::TTL)
            .map(|e| e.info.clone())
    }

    fn remember(&self, idp: IdpId, issuer: &str, info: &ProviderInfo) {
        if let Ok(mut entries) = self.entries.lock() {
            let entry = Entry {
                issuer: issuer.to_owned(),
                info: info.clone(),
                fetched_at: Instant::now(),
            };
            entries.insert(idp, entry);
        }
    }

    /// Least time between two fetches of an IdP's keys prompted by an unknown key, so that
    /// a flood of tokens naming made-up keys does not become a flood of fetches.
    pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(60);

    /// The provider of `idp` discovered again now, because a token was signed with a key
    /// its cached keys lack (a rotation, OIDC Core §10.1.1); `None` when its keys were
    /// fetched so within [`Self::KEY_REFRESH_INTERVAL`], or the fetch failed.
    pub async fn refresh_keys(
        &self,
        idp: IdpId,
        issuer: &str,
        policy: &HttpPolicy,
    ) -> Option<ProviderInfo> {
        {
            let mut last = self.key_refreshes.lock().ok()?;
            let now = Instant::now();
            if last
                .get(&idp)
                .is_some_and(|at| now.duration_since(*at) < Self::KEY_REFRESH_INTERVAL)
            {
                return None;
            }
            last.insert(idp, now);
        }
        let info = oidc::discover(issuer, policy).await.ok()?;
        self.remember(idp, issuer, &info);
        Some(info)
    }

    /// Forgets `idp` (its settings changed, or its keys rotated).
    pub fn invalidate(&self, idp: IdpId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&idp);
        }
    }
}

impl std::fmt::Debug for ProviderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("ProviderCache")
            .field("entries", &n)
            .finish()
    }
}
