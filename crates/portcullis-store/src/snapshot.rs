//! Several reads as one read transaction.
//!
//! Outside a transaction every statement is a transaction of its own. On SQLite in WAL
//! mode each one then takes and drops a read lock on the wal-index (a process-wide mutex
//! and an `fcntl` lock), which costs more than the index lookup it protects and makes
//! the server's threads queue on that mutex. A request that reads a member and their
//! groups pays it once when both reads run in one transaction, and sees the two rows as
//! of one moment.

use std::sync::{Arc, Mutex};

use crate::connection::{begin_read, end_read};
use crate::{Store, StoreError};

impl Store {
    /// Runs `f` with every read it makes through the store it is given in one read
    /// transaction on one connection: one snapshot of the database (SQLite's deferred
    /// transaction; PostgreSQL's `REPEATABLE READ READ ONLY`). Use it for short reads;
    /// while it runs, the connection is not returned to the pool. Inside a transaction
    /// already (a batch), `f` simply runs in it.
    pub fn read_snapshot<T, E>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.pinned.is_some() {
            return f(self);
        }
        let pinned = Store {
            pinned: Some(Arc::new(Mutex::new(
                self.pool.get().map_err(StoreError::from)?,
            ))),
            ..self.clone()
        };
        begin_read(&mut *pinned.conn()?)?;
        let result = f(&pinned);
        // Reads change nothing: committing and rolling back release the snapshot alike,
        // but after a failed statement only a rollback is sure to be accepted. A
        // connection whose transaction cannot be ended is broken, and the pool drops it.
        let ended = pinned
            .conn()
            .and_then(|mut c| end_read(&mut c, result.is_ok()));
        match (result, ended) {
            (Ok(value), Ok(())) => Ok(value),
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), _) => Err(e),
        }
    }
}
