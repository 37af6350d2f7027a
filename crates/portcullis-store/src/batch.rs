//! Group commit: several independent writes in one transaction, each in a savepoint of
//! its own.
//!
//! SQLite has one writer, and much of what a write costs is paid once per transaction
//! (taking the lock, writing the changed pages to the WAL, the wal-index, checkpoints).
//! A server that queues its writes can run whatever is waiting as one batch: each write
//! sees the ones before it, a failing write undoes only itself, and none is reported
//! done before the one commit that makes them all durable.

use std::cell::Cell;
use std::time::Duration;

use crate::connection::{begin, depth, end, AnyConnection, BUSY_TIMEOUT};
use crate::{Store, StoreError};

/// A write transaction open on one connection, in which [`Batch::attempt`] runs writes.
pub struct Batch<'a> {
    store: &'a Store,
    /// An attempt could not open or end its savepoint: the transaction is in an unknown
    /// state (SQLite may have rolled it back on its own), so no further attempt runs and
    /// the batch is undone.
    broken: Cell<bool>,
}

impl Store {
    /// Runs `f` in one write transaction on one connection and commits it. Every
    /// [`Batch::attempt`] inside is a savepoint: kept when its work succeeds, undone when
    /// it fails, without touching the others. When the transaction cannot be committed
    /// (or an attempt's savepoint cannot be ended) nothing of the batch is kept and the
    /// error is returned: a caller must report no write of the batch as done before this
    /// returns `Ok`.
    ///
    /// On SQLite a batch's commit does not checkpoint the write-ahead log (the commit of
    /// a plain transaction does once the log holds 1,000 pages): whoever runs batches runs
    /// [`Store::checkpoint`] beside them, on a thread of its own. The savepoints' journal
    /// is kept in memory (`temp_store`) while the connection runs batches, and set back
    /// before it is used for anything else.
    pub fn write_batch<R>(&self, f: impl FnOnce(&Batch<'_>) -> R) -> Result<R, StoreError> {
        let pinned = self.pin_for(true)?;
        begin(&mut *pinned.conn()?)?;
        let outer = pinned.conn()?.pooled().enter();
        let batch = Batch {
            store: &pinned,
            broken: Cell::new(false),
        };
        let value = f(&batch);
        let mut conn = pinned.conn()?;
        let failed = conn.pooled().leave(outer);
        // A batch ends with nothing open but its own transaction; anything else, a
        // broken attempt, or a write that failed outside any attempt, and the whole
        // batch is undone.
        if batch.broken.get() || failed || depth(&mut conn)? != 1 {
            let _ = end(&mut conn, false);
            return Err(StoreError::Batch(
                "a write of the batch could not end cleanly",
            ));
        }
        end(&mut conn, true)?;
        Ok(value)
    }
}

impl Store {
    /// Runs `f` with every call it makes through the store it is given in one write
    /// transaction on one connection, committed when `f` succeeds and rolled back when it
    /// fails: a use case that reads, decides and writes several rows is all or nothing,
    /// and (on SQLite, which takes the write lock up front) no other writer comes between
    /// its reads and its writes. Inside a transaction already (a batch, or another
    /// `transaction`), it is a savepoint of that one. When a write inside failed and `f`
    /// still succeeds, nothing is kept and the answer is [`StoreError::FailedWrite`].
    pub fn transaction<T, E>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let pinned = if self.pinned.is_some() {
            self.clone()
        } else {
            self.pin()?
        };
        begin(&mut *pinned.conn()?)?;
        let outer = pinned.conn()?.pooled().enter();
        let result = f(&pinned);
        // A write inside that failed (`Store::write_part`) may have left half its work:
        // the transaction is rolled back even when `f` went on to succeed.
        let failed = pinned.conn().map(|mut c| c.pooled().leave(outer));
        let keep = result.is_ok() && matches!(failed, Ok(false));
        // A connection whose transaction cannot be ended is broken, and the pool drops it.
        let ended = pinned.conn().and_then(|mut c| end(&mut c, keep));
        match (result, failed, ended) {
            (Err(e), _, _) => Err(e),
            (Ok(_), Err(e), _) | (Ok(_), _, Err(e)) => Err(e.into()),
            (Ok(_), Ok(true), Ok(())) => Err(StoreError::FailedWrite.into()),
            (Ok(value), Ok(false), Ok(())) => Ok(value),
        }
    }
}

impl Batch<'_> {
    /// Runs one write through a store handle that uses the batch's connection, in a
    /// savepoint: kept when `f` succeeds, undone when it fails. The store calls inside
    /// `f` run one after another (never one within another) and see every earlier
    /// attempt of the batch.
    pub fn attempt<T, E>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.broken.get() {
            return Err(
                StoreError::Batch("an earlier write of the batch could not end cleanly").into(),
            );
        }
        let outer = match self.store.conn().and_then(|mut c| {
            begin(&mut c)?;
            Ok(c.pooled().enter())
        }) {
            Ok(outer) => outer,
            Err(e) => {
                self.broken.set(true);
                return Err(e.into());
            }
        };
        let result = f(self.store);
        // As in `Store::transaction`: a write that failed inside undoes the attempt.
        let ended = self.store.conn().and_then(|mut c| {
            let failed = c.pooled().leave(outer);
            end(&mut c, result.is_ok() && !failed)?;
            Ok(failed)
        });
        match (result, ended) {
            (_, Err(e)) => {
                self.broken.set(true);
                Err(e.into())
            }
            (Ok(_), Ok(true)) => Err(StoreError::FailedWrite.into()),
            (result, Ok(_)) => result,
        }
    }
}

/// What a checkpoint found ([`Store::checkpoint`], [`Store::restart_log`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, diesel::QueryableByName)]
pub struct Checkpoint {
    /// 1 when the checkpoint could not do all it was asked (another checkpoint was
    /// running, or a `RESTART` gave up waiting for the writer or a reader), 0 otherwise.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub busy: i32,
    /// Frames in the write-ahead log.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub log: i32,
    /// Frames of it now in the database file.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub checkpointed: i32,
}

impl Store {
    /// SQLite: copies what the write-ahead log holds into the database file as far as the
    /// readers allow, without waiting for them (`PRAGMA wal_checkpoint(PASSIVE)`), and
    /// syncs it; the log then starts over once every reader has moved on. Nothing on
    /// PostgreSQL. Durability does not depend on it: a committed transaction is in the
    /// log already.
    pub fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        use diesel::RunQueryDsl;
        match &mut *self.conn()? {
            AnyConnection::Sqlite(c) => {
                Ok(diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)")
                    .get_result::<Checkpoint>(c)?)
            }
            AnyConnection::Postgresql(_) => Ok(Checkpoint::default()),
        }
    }

    /// SQLite: copies the whole write-ahead log into the database file and waits, at
    /// most `wait`, until no reader still reads from the log
    /// (`PRAGMA wal_checkpoint(RESTART)`), so that the next write starts the log over
    /// from its beginning instead of appending to it. It holds the write lock as long:
    /// the writer runs it between its batches. `busy` in the answer when another
    /// checkpoint was running (SQLite then does not wait), or a reader outlasted `wait`.
    /// Nothing on PostgreSQL.
    pub fn restart_log(&self, wait: Duration) -> Result<Checkpoint, StoreError> {
        use diesel::connection::SimpleConnection;
        use diesel::RunQueryDsl;
        match &mut *self.conn()? {
            AnyConnection::Sqlite(c) => {
                c.batch_execute(&format!("PRAGMA busy_timeout = {};", wait.as_millis()))?;
                let restarted =
                    diesel::sql_query("PRAGMA wal_checkpoint(RESTART)").get_result::<Checkpoint>(c);
                c.batch_execute(BUSY_TIMEOUT)?;
                Ok(restarted?)
            }
            AnyConnection::Postgresql(_) => Ok(Checkpoint::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::*;

    #[derive(diesel::QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        temp_store: i32,
    }

    fn temp_store(store: &Store) -> i32 {
        store
            .read(|conn| {
                Ok(diesel::sql_query("PRAGMA temp_store")
                    .get_result::<TempStore>(sqlite(conn))?
                    .temp_store)
            })
            .unwrap()
    }

    #[derive(diesel::QueryableByName)]
    struct BusyTimeout {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        timeout: i32,
    }

    fn sqlite(conn: &mut AnyConnection) -> &mut diesel::SqliteConnection {
        match conn {
            AnyConnection::Sqlite(c) => c,
            AnyConnection::Postgresql(_) => unreachable!("a SQLite store"),
        }
    }

    /// A restart of the log gives up after `wait` while a reader is still in the log (the
    /// writes it holds up wait no longer), the connection then waits for locks as long as
    /// before, and once the reader is gone the restart succeeds.
    #[test]
    fn a_restart_waits_for_readers_only_as_long_as_asked() {
        let path = std::env::temp_dir().join(format!("restart-{}.db", uuid::Uuid::new_v4()));
        let url = path.display().to_string();
        let store = Store::connect_with_pool_size(&url, 1).unwrap();
        store.migrate().unwrap();
        // Something in the log that the reader below reads from it.
        store
            .write(|conn| {
                diesel::sql_query("CREATE TABLE probe (x INTEGER)").execute(sqlite(conn))?;
                Ok(())
            })
            .unwrap();
        let other = Store::connect_with_pool_size(&url, 1).unwrap();
        let (inside, entered) = std::sync::mpsc::channel();
        let (leave, left) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            other
                .read_snapshot(|s| {
                    s.read(|conn| {
                        diesel::sql_query("SELECT x FROM probe").execute(sqlite(conn))?;
                        Ok(())
                    })?;
                    inside.send(()).unwrap();
                    left.recv().unwrap();
                    Ok::<_, StoreError>(())
                })
                .unwrap();
        });
        entered.recv().unwrap();
        let started = std::time::Instant::now();
        let restart = store.restart_log(Duration::from_millis(50)).unwrap();
        assert_eq!(restart.busy, 1, "{restart:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        let timeout = store
            .read(|conn| {
                Ok(diesel::sql_query("PRAGMA busy_timeout")
                    .get_result::<BusyTimeout>(sqlite(conn))?
                    .timeout)
            })
            .unwrap();
        assert_eq!(timeout, 5000);
        leave.send(()).unwrap();
        reader.join().unwrap();
        let restart = store.restart_log(Duration::from_millis(50)).unwrap();
        assert_eq!(restart.busy, 0, "{restart:?}");
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// The savepoints' journal is in memory during batches (2: `MEMORY`), and the same
    /// connection (the pool's only one) is back to the default (0) for anything else,
    /// where sorts may be larger than memory should hold.
    #[test]
    fn only_batches_keep_temporary_data_in_memory() {
        let path = std::env::temp_dir().join(format!("batch-{}.db", uuid::Uuid::new_v4()));
        let store = Store::connect_with_pool_size(&path.display().to_string(), 1).unwrap();
        store.migrate().unwrap();
        assert_eq!(temp_store(&store), 0);
        let during = store
            .write_batch(|batch| batch.attempt(|s| Ok::<_, StoreError>(temp_store(s))))
            .unwrap()
            .unwrap();
        assert_eq!(during, 2);
        assert_eq!(temp_store(&store), 0);
        assert_eq!(
            store
                .on_one_connection(|s| Ok::<_, StoreError>(temp_store(s)))
                .unwrap(),
            0
        );
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
