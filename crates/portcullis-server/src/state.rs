//! What every request handler shares.

use std::sync::Arc;

use portcullis_store::{Store, StoreError};

use crate::config::Config;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::session::SessionKeys;
use crate::throttle::LoginThrottle;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The configuration.
    pub config: Arc<Config>,
    /// Keys for session cookies and CSRF tokens.
    pub keys: Arc<SessionKeys>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Password-login throttling.
    pub throttle: Arc<LoginThrottle>,
    /// OpenID providers discovered for SSO logins.
    pub sso_providers: Arc<crate::sso::provider_cache::ProviderCache>,
}

impl AppState {
    /// Runs a blocking store call on actix's blocking thread pool, so diesel never blocks
    /// the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        Ok(actix_web::web::block(move || f(&store)).await??)
    }
}
