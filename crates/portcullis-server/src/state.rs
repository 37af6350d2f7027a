//! What every request handler shares.

use std::sync::Arc;

use portcullis_store::{Store, StoreError};

use crate::config::Config;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::session::SessionKeys;
use crate::throttle::LoginThrottle;
use crate::writer::Writer;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// On SQLite, a second handle on the same database for short reads made directly on
    /// the async workers: one connection per worker, so taking one never waits (a worker
    /// runs one synchronous read at a time). `None` on PostgreSQL, whose reads cross the
    /// network and go through [`AppState::db`].
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
        self.blocking(f).await
    }

    /// [`AppState::db`] for work that fails with a store error or with an [`AppError`]
    /// (SCIM operations map store errors to protocol errors themselves).
    pub async fn blocking<T, E, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        AppError: From<E>,
    {
        let store = self.store.clone();
        Ok(actix_web::web::block(move || f(&store)).await??)
    }

    /// Runs short reads — index lookups, not scans — where they cost least. On SQLite
    /// that is the calling worker itself (an embedded point read takes microseconds,
    /// less than handing it to another thread and back), and all of them run in one read
    /// transaction ([`Store::read_snapshot`]): SQLite then locks its wal-index once for
    /// them, not once per statement, and they see the database as of one moment.
    /// Elsewhere they go through [`AppState::db`] on one connection
    /// ([`Store::on_one_connection`]: the pool tests a PostgreSQL connection with a round
    /// trip each time it lends one), each statement on its own (a transaction would cost
    /// PostgreSQL two more round trips). Never use it for writes, which wait for SQLite's
    /// lock, nor for reads whose cost grows with the data.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        AppError: From<E>,
    {
        match &self.inline_reads {
            Some(store) => store.read_snapshot(|s| f(s).map_err(AppError::from)),
            None => {
                // `AppError: From<E>` in scope would make inference pick `E` here.
                self.blocking::<T, AppError, _>(move |store| {
                    store.on_one_connection(|s| f(s).map_err(AppError::from))
                })
                .await
            }
        }
    }

    /// [`AppState::read`] for a read of one statement, which is a snapshot by itself:
    /// without the transaction around it, which would only add a `BEGIN` and a `COMMIT`.
    pub async fn read_statement<T, E, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        AppError: From<E>,
    {
        match &self.inline_reads {
            Some(store) => Ok(f(store)?),
            None => self.blocking(f).await,
        }
    }

    /// Runs a write (a SCIM change with its audit event). On SQLite it queues for the
    /// writer thread, which commits whatever is waiting as one batch, each write in a
    /// savepoint of its own, and answers only after the commit. Elsewhere it is
    /// [`AppState::blocking`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(f).await,
            None => self.blocking(f).await,
        }
    }
}
