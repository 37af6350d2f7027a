//! What every request handler shares.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use portcullis_app::providers::ProviderCache;
use portcullis_app::rate_limit::RateLimiter;
use portcullis_app::Exec;
use portcullis_sso::oidc::HttpPolicy;
use portcullis_store::Store;
use tracing::Instrument as _;

use crate::config::Config;
use crate::error::{blocking_failed, AppError};
use crate::metrics::Metrics;
use crate::session::SessionKeys;
use crate::throttle::LoginThrottle;
use crate::writer::Writer;

/// Shared application state, cheap to clone. Its store entry points ([`AppState::read`],
/// [`AppState::write`], and the short reads) each run in a `debug` span named for them
/// (`store.read`, `store.write`, `store.lookup`), which a trace shows under its request.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// On SQLite, a second handle on the same database for short reads made directly on
    /// the async workers: one connection per worker, so taking one never waits (a worker
    /// runs one synchronous read at a time). `None` on PostgreSQL, whose reads cross the
    /// network and go through [`AppState::read`].
    pub inline_reads: Option<Store>,
    /// On SQLite, the thread that runs SCIM writes in group-committed batches
    /// ([`AppState::write`]). `None` on PostgreSQL, which takes concurrent writers.
    pub writer: Option<Writer>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Keys for session cookies and CSRF tokens.
    pub keys: Arc<SessionKeys>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Password-login throttling.
    pub throttle: Arc<LoginThrottle>,
    /// OpenID providers discovered for SSO logins.
    pub sso_providers: Arc<ProviderCache>,
    /// The SCIM rate limit's token buckets: one for the process, whichever worker
    /// answers.
    pub scim_limiter: Arc<RateLimiter>,
    /// The resolver that verifies domains.
    pub dns: crate::dns::Dns,
    /// Sends webhook deliveries.
    pub webhooks: crate::webhook_sender::Sender,
}

impl AppState {
    /// Runs reads on actix's blocking thread pool, so diesel never blocks the async
    /// workers, all on one pooled connection ([`Store::on_one_connection`]).
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.blocking(move |store| store.on_one_connection(f))
            .instrument(tracing::debug_span!("store.read"))
            .await
    }

    /// Runs a write: a use case that changes something. On SQLite it queues for the
    /// writer thread, which commits whatever is waiting as one batch, each write in a
    /// savepoint of its own, and answers only after the commit. On PostgreSQL it runs on
    /// the blocking pool, all on one pooled connection ([`Store::on_one_connection`]): a
    /// use case makes several store calls, and each check-out costs a lock on the pool
    /// (and a round trip to test a connection that sat idle).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let span = tracing::debug_span!("store.write");
        match &self.writer {
            Some(writer) => writer.write(f).instrument(span).await,
            None => {
                self.blocking(move |store| store.on_one_connection(f))
                    .instrument(span)
                    .await
            }
        }
    }

    /// Runs short reads — index lookups, not scans — where they cost least: on SQLite
    /// the calling worker itself (an embedded point read takes microseconds, less than
    /// handing it to another thread and back), all in one read transaction
    /// ([`Store::read_snapshot`]), which locks SQLite's wal-index once for them rather
    /// than once per statement; elsewhere [`AppState::read`]. For the SCIM routes' hot
    /// reads (`scim::auth`) and the reading step of a member's PUT or PATCH
    /// ([`Exec::read_then_write`]), never for writes or for reads whose cost grows with
    /// the data.
    pub(crate) async fn lookup<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.inline_reads {
            Some(store) => tracing::debug_span!("store.lookup").in_scope(|| store.read_snapshot(f)),
            None => self.read(f).await,
        }
    }

    /// [`AppState::lookup`] for a read of one statement, which is a snapshot by itself:
    /// without the transaction around it, which would only add a `BEGIN` and a `COMMIT`.
    pub(crate) async fn lookup_statement<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let span = tracing::debug_span!("store.lookup");
        match &self.inline_reads {
            Some(store) => span.in_scope(|| f(store)),
            None => self.blocking(f).instrument(span).await,
        }
    }

    /// Runs `f` on actix's blocking thread pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store.clone();
        actix_web::web::block(move || f(&store))
            .await
            .map_err(blocking_failed)?
    }

    /// The HTTP policy for talking to IdPs under this server's configuration.
    pub fn http_policy(&self) -> HttpPolicy {
        HttpPolicy {
            allow_private_addresses: self.config.sso_allow_private_addresses,
        }
    }

    /// Where webhooks may point (`PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES`).
    pub fn webhook_guard(&self) -> crate::webhook_sender::Guard {
        crate::webhook_sender::Guard {
            allow_private: self.config.sso_allow_private_addresses,
        }
    }

    /// A point in time for a use case: now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl Exec for AppState {
    fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        AppState::read(self, f)
    }

    fn write<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        AppState::write(self, f)
    }

    async fn read_then_write<R, T, F, G>(&self, read: F, write: G) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<R, AppError> + Send + 'static,
        G: FnOnce(&Store, R) -> Result<T, AppError> + Send + 'static,
        R: Send + 'static,
        T: Send + 'static,
    {
        if self.writer.is_none() {
            return AppState::write(self, move |store| write(store, read(store)?)).await;
        }
        // The read is a short one (index lookups and the work on what they found), and
        // the writer thread, SQLite's one, is left only the write.
        let read = self.lookup(read).await?;
        AppState::write(self, move |store| write(store, read)).await
    }

    async fn compute<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        actix_web::web::block(f).await.map_err(blocking_failed)?
    }
}
