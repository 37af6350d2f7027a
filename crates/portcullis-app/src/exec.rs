//! How the use cases that must reach the network first ([`crate::idps`]) run their store
//! and CPU work: the server decides (its blocking pool, its SQLite writer queue), this
//! crate only asks.

use std::future::Future;

use portcullis_store::Store;

use crate::AppError;

/// Runs store work and CPU-heavy work off the async threads.
pub trait Exec {
    /// Runs short reads.
    fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static;

    /// Runs a write (a use case that changes something, in its own transaction).
    fn write<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce(&Store) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static;

    /// Runs a change made in two steps: `read` reads and works the change out, `write`
    /// writes it if what `read` saw still holds (a version it checks), else fails with
    /// what tells the caller to start again. Where writes queue for one writer, `read`
    /// runs first, off that writer, which then only writes; elsewhere both run on one
    /// connection.
    fn read_then_write<R, T, F, G>(
        &self,
        read: F,
        write: G,
    ) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce(&Store) -> Result<R, AppError> + Send + 'static,
        G: FnOnce(&Store, R) -> Result<T, AppError> + Send + 'static,
        R: Send + 'static,
        T: Send + 'static;

    /// Runs CPU-heavy work (key generation) where it blocks no async thread.
    fn compute<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static;
}
