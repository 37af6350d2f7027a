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

    /// Runs CPU-heavy work (key generation) where it blocks no async thread.
    fn compute<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static;
}
