//! The run-time choice of backend, the connection pool and the few places where SQL
//! differs between SQLite and PostgreSQL (pragmas, the migration lock, write
//! transactions).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{
    AnsiTransactionManager, SimpleConnection, TransactionDepthChange, TransactionManager,
    TransactionManagerStatus,
};
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::StoreError;

/// One connection to whichever database the URL named.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// PostgreSQL, for `postgres://` and `postgresql://` URLs.
    Postgresql(PgConnection),
    /// SQLite, for everything else (a path or `sqlite://path`).
    Sqlite(SqliteConnection),
}

/// Runs `$body` with `$c` bound to the concrete connection inside an [`AnyConnection`]
/// (the body is written once and compiled for each backend).
///
/// diesel's multi-backend wrapper writes a query's whole SQL text out on every
/// execution, to hand it to the inner connection, even when the statement is already
/// prepared. On the concrete connection a typed (not boxed) query finds its prepared
/// statement by its type alone. The reads every API call makes (the key lookup, one
/// member and their groups) go this way; building their SQL was a seventh of the CPU of
/// a SCIM read.
macro_rules! concrete {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::connection::AnyConnection::Sqlite($c) => $body,
            $crate::connection::AnyConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use concrete;

/// Which database a [`crate::Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Reads the backend from a database URL and returns it with the string to connect
    /// with: `postgres://` and `postgresql://` URLs are PostgreSQL and kept whole;
    /// anything else is a SQLite path, with an optional `sqlite://` (or `sqlite:`)
    /// prefix removed.
    pub fn from_url(url: &str) -> (Backend, &str) {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url)
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            (Backend::Sqlite, path)
        } else if let Some(path) = url.strip_prefix("sqlite:") {
            (Backend::Sqlite, path)
        } else {
            (Backend::Sqlite, url)
        }
    }
}

/// A pooled connection, when it was last given back to the pool, and whether a write
/// failed inside its open transaction.
pub(crate) struct Pooled {
    pub(crate) conn: AnyConnection,
    returned: Instant,
    /// A write that ran as a part of the open transaction, without a savepoint of its own
    /// (`Store::write_part`), failed: what it did may be half there, so the innermost
    /// transaction or savepoint open (a `Store::transaction`, a batch or one of its
    /// attempts) must end rolled back. Each of those takes it on entry and puts the outer
    /// value back on exit ([`Pooled::enter`], [`Pooled::leave`]).
    failed: bool,
    /// SQLite: [`BATCH_PRAGMAS`] are set ([`Pooled::use_for_batches`]).
    for_batches: bool,
}

/// Set on a SQLite connection before it runs a batch (`Store::write_batch`). The batch's
/// commit does not checkpoint: the server's checkpoint thread does. Each attempt of a
/// batch is a savepoint, and SQLite first copies every page an attempt changes into a
/// statement journal, which it writes to a temporary file once it holds 64 KiB: batches
/// of SCIM writes spent a sixth of the writer thread's time in those writes. With
/// `temp_store` in memory the journal is a copy of the pages the batch changed, dropped
/// at its commit. The batch's connection (the writer's, under load) also gets a 1 MiB
/// page cache, for the upper pages of the indexes every write changes: with the main
/// pool's 256 KiB ([`OTHER_USE_PRAGMAS`]) a SCIM create cost the server 12 % more CPU
/// time (`docs/benchmarks.md`).
const BATCH_PRAGMAS: &str =
    "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -1024;";

/// Set on every connection of the main pool when it opens, and again before anything but
/// a batch runs on a connection that ran batches: pages and scans may sort more rows than
/// memory should hold, and spill them to temporary files; and they touch each row once,
/// so a page cache of 256 KiB serves them: with the readers' 1 MiB ([`READER_CACHE_KIB`])
/// the SCIM benchmark's peak memory was about 3 MiB lower than with 1 MiB and 2 MiB, and
/// a page's CPU time within a few per cent (`docs/benchmarks.md`).
const OTHER_USE_PRAGMAS: &str = "PRAGMA temp_store = DEFAULT; PRAGMA cache_size = -256;";

impl Pooled {
    /// Starts a transaction or savepoint's watch for failed writes; returns the
    /// enclosing one's state, for [`Pooled::leave`].
    pub(crate) fn enter(&mut self) -> bool {
        std::mem::take(&mut self.failed)
    }

    /// Ends the watch [`Pooled::enter`] started, putting `outer` back: `true` when a
    /// write inside failed, and the transaction or savepoint must be rolled back.
    pub(crate) fn leave(&mut self, outer: bool) -> bool {
        std::mem::replace(&mut self.failed, outer)
    }

    /// Records that a write inside the open transaction failed.
    pub(crate) fn mark_failed(&mut self) {
        self.failed = true;
    }

    /// Readies the connection for a batch: [`BATCH_PRAGMAS`] on SQLite, unless the last
    /// use was a batch too (the writer's connection, under load, every time).
    pub(crate) fn use_for_batches(&mut self) -> Result<(), StoreError> {
        if let (AnyConnection::Sqlite(c), false) = (&mut self.conn, self.for_batches) {
            c.batch_execute(BATCH_PRAGMAS)?;
            self.for_batches = true;
        }
        Ok(())
    }

    /// Readies the connection for anything but a batch: [`OTHER_USE_PRAGMAS`] when it ran
    /// batches last.
    pub(crate) fn use_for_others(&mut self) -> Result<(), StoreError> {
        if let (AnyConnection::Sqlite(c), true) = (&mut self.conn, self.for_batches) {
            c.batch_execute(OTHER_USE_PRAGMAS)?;
            self.for_batches = false;
        }
        Ok(())
    }
}

/// How recently a PostgreSQL connection must have been in use for the pool to lend it
/// again without testing it with a round trip first (HikariCP's `aliveBypassWindowMs`,
/// with its default). A connection that answered a moment ago is all but sure to answer
/// now; under load every connection is that recent, and the test was one statement in
/// four of a SCIM read. One that sat idle longer (the server may have restarted since)
/// is tested as before, and dropped when it does not answer.
const ALIVE_BYPASS: Duration = Duration::from_millis(500);

/// Opens connections of the backend chosen from the URL.
///
/// diesel's own `ConnectionManager<MultiConnection>` tries each backend in turn, so a
/// PostgreSQL URL whose server is down would silently become a SQLite file named like
/// the URL. This manager never guesses.
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) backend: Backend,
    pub(crate) target: String,
    /// Connections being made now ([`crate::Store::settle`]); the pool makes them on a
    /// thread of its own.
    pub(crate) connecting: Arc<AtomicUsize>,
}

/// One connection being made, counted in [`Manager::connecting`] until it is dropped.
struct Connecting<'a>(&'a AtomicUsize);

impl<'a> Connecting<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Connecting(count)
    }
}

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let _counted = Connecting::start(&self.connecting);
        let conn = match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target)
                .map(AnyConnection::Postgresql)
                .map_err(r2d2::Error::ConnectionError)?,
            Backend::Sqlite => SqliteConnection::establish(&self.target)
                .map(AnyConnection::Sqlite)
                .map_err(r2d2::Error::ConnectionError)?,
        };
        Ok(Pooled {
            conn,
            returned: Instant::now(),
            failed: false,
            for_batches: false,
        })
    }

    /// `SELECT 1`, unless the connection was given back less than [`ALIVE_BYPASS`] ago.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        if pooled.returned.elapsed() < ALIVE_BYPASS {
            return Ok(());
        }
        pooled.conn.ping().map_err(r2d2::Error::QueryError)
    }

    /// Called as the connection goes back to the pool, which is when its use ends.
    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.returned = Instant::now();
        std::thread::panicking() || pooled.conn.is_broken()
    }
}

/// Sets the SQLite pragmas on every connection the pool opens: they are per connection,
/// not per database (except `journal_mode`, which sticks but is cheap to repeat).
#[derive(Debug)]
pub(crate) struct SqlitePragmas {
    /// Also `query_only` and a larger page cache: the connections of
    /// [`crate::Store::readers`].
    pub(crate) reader: bool,
}

/// The page cache of each reader connection, in KiB (SQLite's default is 2,000). Readers
/// are few (one per server worker) and serve every point read, so a cache of their own
/// keeps the upper index pages of a large account in memory; the rows a point read needs
/// are scattered, so more buys nothing: at 100,000 members 16 MiB gave the same GET rate
/// as 4 MiB with 25 MiB more peak memory, 4 MiB the same as 2 MiB with about 4 MiB more,
/// and 2 MiB the same as 1 MiB with about 1.5 MiB more (`docs/benchmarks.md`).
const READER_CACHE_KIB: u32 = 1024;

/// How long a SQLite statement waits for a lock another connection holds. Set on every
/// connection before [`SQLITE_PRAGMAS`] (switching to WAL needs a lock another connection
/// may hold), and again after anything that lowers it (`Store::restart_log`).
pub(crate) const BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000;";

/// `case_sensitive_like` makes `LIKE` compare bytes as PostgreSQL does, so case-exact
/// SCIM filters (`externalId co "x"`) mean the same on both backends; case-insensitive
/// ones compare lower-cased columns with lower-cased values.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA case_sensitive_like = ON;";

impl CustomizeConnection<Pooled, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        match &mut pooled.conn {
            AnyConnection::Sqlite(c) => {
                c.batch_execute(BUSY_TIMEOUT)
                    .and_then(|()| c.batch_execute(SQLITE_PRAGMAS))
                    .map_err(r2d2::Error::QueryError)?;
                if self.reader {
                    let pragmas =
                        format!("PRAGMA query_only = ON; PRAGMA cache_size = -{READER_CACHE_KIB};");
                    c.batch_execute(&pragmas)
                } else {
                    c.batch_execute(OTHER_USE_PRAGMAS)
                }
                .map_err(r2d2::Error::QueryError)?;
                Ok(())
            }
            AnyConnection::Postgresql(_) => Ok(()),
        }
    }
}

/// Runs `f` in one transaction that is ready to write; inside a transaction already
/// open (a [`crate::Store::write_batch`]), in a savepoint of it, so that a failing `f`
/// leaves the rest of the transaction as it was.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: it takes the write lock up
/// front (waiting up to the busy timeout), so a transaction that reads before it writes
/// can never fail half-way with `SQLITE_BUSY` when another connection wrote meanwhile.
/// PostgreSQL uses a plain `BEGIN` (read committed); our writes rely on unique indexes
/// and conditional `UPDATE`s, not on snapshot reads.
pub(crate) fn write_tx<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    begin(conn)?;
    match f(conn) {
        Ok(value) => {
            end(conn, true)?;
            Ok(value)
        }
        Err(err) => {
            // The caller's error says what went wrong; a failed rollback marks the
            // connection broken and the pool drops it.
            let _ = end(conn, false);
            Err(err)
        }
    }
}

/// Opens a write transaction, or a savepoint when one is open already (diesel names and
/// counts savepoints). On SQLite the savepoints a batch's writes open (one for each
/// write, one for its use case's transaction inside) are prepared statements of their
/// own, kept by the connection, where diesel would parse them anew every time.
pub(crate) fn begin(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let open = depth(conn)?;
    match conn {
        AnyConnection::Sqlite(c) => {
            let increase = TransactionDepthChange::IncreaseDepth;
            match open {
                0 => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
                // Savepoints: SQLite would reject a nested BEGIN.
                1 => run_control(c, sqlite_control::Savepoint1, increase)?,
                2 => run_control(c, sqlite_control::Savepoint2, increase)?,
                _ => AnsiTransactionManager::begin_transaction(c)?,
            }
        }
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    Ok(())
}

/// Opens a read transaction on a connection outside any: deferred on SQLite (it takes
/// the read lock at its first statement, and no write lock unless something writes),
/// `REPEATABLE READ READ ONLY` on PostgreSQL, so that its statements see one snapshot
/// there too.
pub(crate) fn begin_read(conn: &mut AnyConnection) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            if AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()?
                .is_some()
            {
                return Err(diesel::result::Error::AlreadyInTransaction.into());
            }
            run_control(
                c,
                sqlite_control::BeginDeferred,
                TransactionDepthChange::IncreaseDepth,
            )?;
        }
        AnyConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction_sql(
            c,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        )?,
    }
    Ok(())
}

/// Ends the read transaction [`begin_read`] opened: committed when `keep`, rolled back
/// otherwise (after a failed statement only a rollback is sure to be accepted).
pub(crate) fn end_read(conn: &mut AnyConnection, keep: bool) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            let decrease = TransactionDepthChange::DecreaseDepth;
            if keep {
                run_control(c, sqlite_control::Commit, decrease)
            } else {
                run_control(c, sqlite_control::Rollback, decrease)
            }
        }
        AnyConnection::Postgresql(_) => end(conn, keep),
    }
}

/// The statements that open and close SQLite read transactions and writes' savepoints,
/// each its own type so that diesel prepares it once per connection and keeps it (its
/// transaction manager sends `BEGIN`, `COMMIT` and `SAVEPOINT` through `sqlite3_exec`,
/// which parses and prepares them afresh on every call).
mod sqlite_control {
    use diesel::query_builder::{AstPass, QueryFragment, QueryId};
    use diesel::sqlite::Sqlite;
    use diesel::{QueryResult, RunQueryDsl, SqliteConnection};

    macro_rules! control {
        ($name:ident, $sql:literal) => {
            #[doc = concat!("`", $sql, "`.")]
            #[derive(Debug, Clone, Copy, QueryId)]
            pub(super) struct $name;

            impl QueryFragment<Sqlite> for $name {
                fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
                    out.push_sql($sql);
                    Ok(())
                }
            }

            impl RunQueryDsl<SqliteConnection> for $name {}
        };
    }

    control!(BeginDeferred, "BEGIN DEFERRED");
    control!(Commit, "COMMIT");
    control!(Rollback, "ROLLBACK");
    // diesel's names for the savepoints at depths 1 and 2, so that its own transaction
    // manager can still roll them back and open or release deeper ones.
    control!(Savepoint1, "SAVEPOINT diesel_savepoint_1");
    control!(Savepoint2, "SAVEPOINT diesel_savepoint_2");
    control!(Release1, "RELEASE SAVEPOINT diesel_savepoint_1");
    control!(Release2, "RELEASE SAVEPOINT diesel_savepoint_2");
}

/// Runs a prepared transaction-control statement and keeps diesel's count of open
/// transactions in step, as its transaction manager would. When the statement fails the
/// connection's state is unknown: it is marked broken, and the pool drops it.
fn run_control<Q>(
    c: &mut SqliteConnection,
    statement: Q,
    change: TransactionDepthChange,
) -> Result<(), StoreError>
where
    Q: diesel::RunQueryDsl<SqliteConnection>
        + diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
        + diesel::query_builder::QueryId,
{
    let status = match diesel::RunQueryDsl::execute(statement, c) {
        Ok(_) => match AnsiTransactionManager::transaction_manager_status_mut(c) {
            TransactionManagerStatus::Valid(valid) => valid.change_transaction_depth(change),
            TransactionManagerStatus::InError => {
                Err(diesel::result::Error::BrokenTransactionManager)
            }
        },
        Err(e) => Err(e),
    };
    if status.is_err() {
        AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error();
    }
    Ok(status?)
}

/// Ends the innermost transaction or savepoint `begin` opened: kept when `keep`, undone
/// otherwise. On SQLite the savepoints `begin` prepared are released by statements
/// prepared as well; everything else goes through diesel's transaction manager.
pub(crate) fn end(conn: &mut AnyConnection, keep: bool) -> Result<(), StoreError> {
    type Manager = <AnyConnection as Connection>::TransactionManager;
    let open = depth(conn)?;
    if let (true, AnyConnection::Sqlite(c)) = (keep, &mut *conn) {
        let decrease = TransactionDepthChange::DecreaseDepth;
        match open {
            2 => return run_control(c, sqlite_control::Release1, decrease),
            3 => return run_control(c, sqlite_control::Release2, decrease),
            _ => {}
        }
    }
    if keep {
        Manager::commit_transaction(conn)?;
    } else {
        Manager::rollback_transaction(conn)?;
    }
    Ok(())
}

/// How many transactions and savepoints are open on the connection (0 outside any).
pub(crate) fn depth(conn: &mut AnyConnection) -> Result<u32, StoreError> {
    let depth = match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        AnyConnection::Postgresql(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
    };
    Ok(depth.map_or(0, std::num::NonZeroU32::get))
}

/// Whether diesel keeps `query`'s prepared statement on both databases, rather than have
/// the database parse and plan it anew on every call (for tests of the rows it inserts).
#[cfg(test)]
pub(crate) fn prepared_once<Q>(query: &Q) -> bool
where
    Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>
        + diesel::query_builder::QueryFragment<diesel::pg::Pg>,
{
    query
        .is_safe_to_cache_prepared(&diesel::sqlite::Sqlite)
        .unwrap()
        && query.is_safe_to_cache_prepared(&diesel::pg::Pg).unwrap()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use diesel::RunQueryDsl;

    use super::*;

    /// The statements SQLite prepared for diesel's cache, and the savepoint statements
    /// it was sent, one way or the other.
    #[derive(Default, Clone)]
    struct Recorder(Arc<Mutex<(Vec<String>, usize)>>);

    impl Instrumentation for Recorder {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            let mut seen = self.0.lock().unwrap();
            match event {
                InstrumentationEvent::CacheQuery { sql, .. } => seen.0.push(sql.to_owned()),
                InstrumentationEvent::StartQuery { query, .. }
                    if query.to_string().contains("SAVEPOINT") =>
                {
                    seen.1 += 1
                }
                _ => {}
            }
        }
    }

    /// A batch's writes each open and release two savepoints (the write's, and its use
    /// case's transaction inside); SQLite prepares each of the four statements once, and
    /// what the savepoints keep and undo is as before: an undone inner savepoint leaves
    /// the outer one's row, a released one keeps its row in the transaction.
    #[test]
    fn savepoints_are_prepared_once_and_keep_what_they_kept() {
        let mut conn = AnyConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        let AnyConnection::Sqlite(c) = &mut conn else {
            unreachable!("opened on SQLite")
        };
        diesel::sql_query("CREATE TABLE t (x INTEGER)")
            .execute(c)
            .unwrap();
        let recorder = Recorder::default();
        c.set_instrumentation(recorder.clone());
        let insert = |conn: &mut AnyConnection, x: i32| {
            let AnyConnection::Sqlite(c) = conn else {
                unreachable!("opened on SQLite")
            };
            diesel::sql_query(format!("INSERT INTO t VALUES ({x})"))
                .execute(c)
                .unwrap();
        };
        begin(&mut conn).unwrap();
        for x in 0..3 {
            begin(&mut conn).unwrap();
            insert(&mut conn, x);
            begin(&mut conn).unwrap();
            insert(&mut conn, 10 + x);
            // The inner savepoint of the second write is undone, the rest kept.
            end(&mut conn, x != 1).unwrap();
            end(&mut conn, true).unwrap();
        }
        assert_eq!(depth(&mut conn).unwrap(), 1);
        end(&mut conn, true).unwrap();
        assert_eq!(depth(&mut conn).unwrap(), 0);

        let (prepared, sent) = recorder.0.lock().unwrap().clone();
        let mut savepoints: Vec<_> = prepared
            .into_iter()
            .filter(|sql| sql.contains("SAVEPOINT"))
            .collect();
        savepoints.sort();
        assert_eq!(
            savepoints,
            [
                "RELEASE SAVEPOINT diesel_savepoint_1",
                "RELEASE SAVEPOINT diesel_savepoint_2",
                "SAVEPOINT diesel_savepoint_1",
                "SAVEPOINT diesel_savepoint_2",
            ]
        );
        // Six savepoints, five released and one rolled back (by diesel, not prepared).
        assert_eq!(sent, 12);

        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            x: i32,
        }
        let AnyConnection::Sqlite(c) = &mut conn else {
            unreachable!("opened on SQLite")
        };
        let rows: Vec<i32> = diesel::sql_query("SELECT x FROM t ORDER BY x")
            .load::<Row>(c)
            .unwrap()
            .into_iter()
            .map(|r| r.x)
            .collect();
        assert_eq!(rows, [0, 1, 2, 10, 12]);
    }
}
