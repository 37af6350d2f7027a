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
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                idp,
                Entry {
                    issuer: issuer.to_owned(),
                    info: info.clone(),
                    fetched_at: Instant::now(),
                },
            );
        }
        Ok(info)
    }

    fn fresh(&self, idp: IdpId, issuer: &str) -> Option<ProviderInfo> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&idp)
            .filter(|e| e.issuer == issuer && e.fetched_at.elapsed() < Self::TTL)
            .map(|e| e.info.clone())
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
