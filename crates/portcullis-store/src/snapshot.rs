//! Several reads as one read transaction.
//!
//! Outside a transaction every statement is a transaction of its own. On SQLite in WAL
//! mode each one then takes and drops a read lock on the wal-index (a process-wide mutex
//! and an `fcntl` lock), which costs more than the index lookup it protects and makes
//! the server's threads queue on that mutex. A request that reads a member and their
//! groups pays it once when both reads run in one transaction, and sees the two rows as
//! of one moment.

use std::sync::{Arc, Mutex};

use crate::connection::{begin_read, depth, end_read};
use crate::{Store, StoreError};

impl Store {
    /// Runs `f` with every read it makes through the store it is given in one read
    /// transaction on one connection: one snapshot of the database (SQLite's deferred
    /// transaction; PostgreSQL's `REPEATABLE READ READ ONLY`). Use it for short reads;
    /// while it runs, the connection is not returned to the pool. Inside a transaction
    /// already (a batch), `f` simply runs in it; on a connection pinned without one
    /// ([`Store::on_one_connection`]), the snapshot opens there.
    pub fn read_snapshot<T, E>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let pinned = if self.pinned.is_some() {
            if depth(&mut *self.conn()?)? > 0 {
                return f(self);
            }
            // A connection pinned without a transaction (`on_one_connection`).
            self.clone()
        } else {
            self.pin()?
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

    /// Runs `f` with every call it makes through the store it is given on one pooled
    /// connection, outside any transaction (each statement sees the database as of its
    /// own start). For a few short reads on PostgreSQL: each check-out costs a lock on
    /// the pool (and a round trip to test a connection that sat idle), and a transaction
    /// would cost two more round trips. Inside
    /// a snapshot or a batch, `f` simply runs on its connection.
    pub fn on_one_connection<T, E>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.pinned.is_some() {
            return f(self);
        }
        f(&self.pin()?)
    }

    /// This store with one connection taken from the pool for all of its calls; the
    /// connection goes back when the last clone is dropped.
    pub(crate) fn pin(&self) -> Result<Store, StoreError> {
        self.pin_for(false)
    }

    /// [`Store::pin`], with the connection readied for batches when `for_batches`.
    pub(crate) fn pin_for(&self, for_batches: bool) -> Result<Store, StoreError> {
        Ok(Store {
            pinned: Some(Arc::new(Mutex::new(self.take(for_batches)?))),
            ..self.clone()
        })
    }
}
