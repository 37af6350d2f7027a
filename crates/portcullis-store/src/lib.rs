//! Portcullis persistence: diesel rows, repositories, the connection pool and the
//! embedded migrations, over SQLite (the default, compiled in) or PostgreSQL, chosen at
//! run time from the database URL.
//!
//! Everything is written once for both backends against the portable schema in
//! `schema.rs`; the few places where SQL differs (SQLite pragmas, the PostgreSQL
//! migration lock, how a write transaction begins) live in `connection.rs` and
//! `migrate.rs`. Uniqueness is enforced by unique indexes and surfaces as
//! [`StoreError::Conflict`]; writes that belong together run in one transaction.
//!
//! The API is synchronous: the server calls it from a blocking thread pool. This crate
//! depends on the domain crate only; it never depends on actix-web, the SSO or SCIM
//! crates, and it never reads the clock: every "now" is an argument.

mod account;
mod account_domain;
mod api_key;
mod audit;
mod auth_cache;
mod batch;
mod cached;
mod cipher;
mod connection;
mod convert;
mod error;
mod idp;
mod invitation;
mod json_in;
mod migrate;
mod operator;
mod role_rule;
mod schema;
mod scim;
mod secret;
mod session;
mod setup_link;
mod sign_in_attempt;
mod snapshot;
mod sso;
mod stored_time;
mod user;
mod webhook;

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection, R2D2Connection};

pub use audit::AuditFilter;
pub use auth_cache::KnownKey;
pub use batch::{Batch, Checkpoint};
pub use cipher::SecretCipher;
pub use connection::Backend;
pub use error::{conflict, StoreError};
pub use operator::{AccountCounts, OperatorLogEntry};
pub use scim::{
    CompareOp, EmailField, Filter, FilterValue, GroupField, GroupFilter, MemberChange, PageMember,
    ScimGroupRow, ScimQuery, ScimUserRow, ScimUserShown, ScimUserWithGroups, UserField, UserFilter,
};
pub use sign_in_attempt::AttemptFilter;
pub use sso::PendingLogin;
pub use user::UserListQuery;
pub use webhook::{Attempt, AttemptRecord, Delivery};

use connection::{AnyConnection, Manager, SqlitePragmas};

/// Connections a pool opens at most unless told otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// The repository over one database. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: Backend,
    cipher: Option<cipher::SecretCipher>,
    /// API-key authentications read through this handle (see `auth_cache.rs`).
    auth_cache: Arc<auth_cache::AuthCache>,
    /// Bookmarks into long member lists, for deep pages (see `scim/bookmarks.rs`).
    bookmarks: Arc<scim::bookmarks::Bookmarks>,
    /// The URL it was opened with, for [`Store::readers`].
    url: Arc<str>,
    /// Inside [`Store::write_batch`]: the one connection, in the batch's transaction,
    /// that every call through this handle uses.
    pinned: Option<Arc<Mutex<PooledConnection<Manager>>>>,
    /// Connections the pool is making now, on its own thread ([`Store::settle`]).
    connecting: Arc<AtomicUsize>,
}

/// A connection taken for one store call: from the pool, or the batch's own. It lives on
/// the stack for that call; boxing the pooled one would allocate on every call.
#[allow(clippy::large_enum_variant)]
enum Conn<'a> {
    Pooled(PooledConnection<Manager>),
    Pinned(MutexGuard<'a, PooledConnection<Manager>>),
}

impl Conn<'_> {
    /// The pooled connection with its state beside the database connection.
    pub(crate) fn pooled(&mut self) -> &mut connection::Pooled {
        match self {
            Conn::Pooled(c) => c,
            Conn::Pinned(c) => c,
        }
    }
}

impl Deref for Conn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Pooled(c) => &c.conn,
            Conn::Pinned(c) => &c.conn,
        }
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Pooled(c) => &mut c.conn,
            Conn::Pinned(c) => &mut c.conn,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("pool", &self.pool.state())
            .finish()
    }
}

impl Store {
    /// Opens a pool on `url` (see [`Backend::from_url`]) with [`DEFAULT_POOL_SIZE`]
    /// connections. Does not migrate: call [`Store::migrate`].
    pub fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with_pool_size(url, DEFAULT_POOL_SIZE)
    }

    /// Opens a pool of at most `max` connections on `url`. One connection is opened at
    /// once, so a wrong URL or an unreachable server is reported here.
    ///
    /// A SQLite file is created when missing (its folder must exist). `:memory:` is not
    /// supported: each pooled connection would see its own empty database.
    pub fn connect_with_pool_size(url: &str, max: u32) -> Result<Store, StoreError> {
        Self::open(url, max, false)
    }

    /// A second handle on this store's SQLite database for short reads: `connections`
    /// connections that refuse to write (`query_only`, so a write sent here by mistake
    /// fails instead of racing the writers) and keep a larger page cache. A server gives
    /// each of its async workers one, so point reads run on the worker without waiting
    /// for a connection or a thread. The handle shares this store's encryption key, its
    /// cache of API-key authentications and its bookmarks into member lists. `None` for
    /// PostgreSQL, whose reads cross the network and belong on a blocking thread.
    pub fn readers(&self, connections: u32) -> Result<Option<Store>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let mut readers = Self::open(&self.url, connections, true)?;
        readers.cipher = self.cipher.clone();
        readers.auth_cache = Arc::clone(&self.auth_cache);
        readers.bookmarks = Arc::clone(&self.bookmarks);
        Ok(Some(readers))
    }

    fn open(url: &str, max: u32, reader: bool) -> Result<Store, StoreError> {
        let (backend, target) = Backend::from_url(url);
        let connecting = Arc::new(AtomicUsize::new(0));
        let manager = Manager {
            backend,
            target: target.to_owned(),
            connecting: Arc::clone(&connecting),
        };
        let mut builder = Pool::builder()
            .max_size(max.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            // An embedded SQLite connection does not go stale, so the pool does not run
            // `SELECT 1` on every check-out (which SQLite would prepare afresh each time).
            // PostgreSQL connections are tested when they sat idle for a while
            // (`connection::ALIVE_BYPASS`): the server may have restarted.
            builder = builder
                .connection_customizer(Box::new(SqlitePragmas { reader }))
                .test_on_check_out(false);
        }
        let pool = builder.build(manager)?;
        Ok(Store {
            pool,
            backend,
            cipher: None,
            auth_cache: Arc::default(),
            bookmarks: Arc::default(),
            url: url.into(),
            pinned: None,
            connecting,
        })
    }

    /// Seals the secrets Portcullis must read back (OIDC client secrets, SP private keys)
    /// with `key` from now on; values written before stay readable. SP private keys are
    /// never written without it.
    pub fn with_encryption_key(mut self, key: &[u8; 32]) -> Self {
        self.cipher = Some(cipher::SecretCipher::new(key));
        self
    }

    /// Applies the embedded migrations that have not run yet. Idempotent; on PostgreSQL
    /// it holds an advisory lock so replicas starting together migrate one at a time.
    pub fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(&mut *self.conn()?, None)
    }

    /// Applies the pending migrations up to and including `version` (its number, such as
    /// `"00000000000007"`) and stops there: the schema an older release wrote, which the
    /// upgrade tests fill before they migrate the rest of the way.
    pub fn migrate_until(&self, version: &str) -> Result<(), StoreError> {
        migrate::run(&mut *self.conn()?, Some(version))
    }

    /// The backend the URL chose.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that a connection can be had and answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        Ok(self.conn()?.ping()?)
    }

    /// Waits, for at most five seconds, until the pool is making no connection. The pool
    /// makes them on a thread of its own, also after a call that took its last idle
    /// one; a process that exits while one is being made races the C libraries'
    /// teardown at exit (seen: a SIGSEGV in `r2d2-worker-0` as a short command exited
    /// after its work on PostgreSQL). Short-lived programs call it before they exit.
    /// It sees a connection from the moment the pool's thread starts making it (the
    /// connect, milliseconds with TLS), not while the job only waits for that thread.
    pub fn settle(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.connecting.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Connections the pool holds and how many of them are idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    fn conn(&self) -> Result<Conn<'_>, StoreError> {
        match &self.pinned {
            // One call at a time: a second one while the first holds the connection is
            // a bug in the store (a call nested in another), reported, never a deadlock.
            Some(pinned) => pinned
                .try_lock()
                .map(Conn::Pinned)
                .map_err(|_| StoreError::Batch("a store call nested in another one")),
            None => Ok(Conn::Pooled(self.take(false)?)),
        }
    }

    /// A connection from the pool, readied for batches ([`Store::write_batch`]) or for
    /// everything else.
    fn take(&self, for_batches: bool) -> Result<PooledConnection<Manager>, StoreError> {
        let mut conn = self.pool.get()?;
        if for_batches {
            conn.use_for_batches()?;
        } else {
            conn.use_for_others()?;
        }
        Ok(conn)
    }

    /// Runs reads on one pooled connection, outside any transaction.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&mut *self.conn()?)
    }

    /// Runs `f` as one write transaction: all of it is applied, or nothing. Inside a
    /// transaction already, in a savepoint of it: a failure undoes `f`'s work alone, and
    /// the caller may go on (as [`Store::remember_assertion`] does after a conflict).
    fn write<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        connection::write_tx(&mut *self.conn()?, f)
    }

    /// [`Store::write`] for hot writes whose callers run them inside a
    /// [`Store::transaction`] and never go on after they fail (the SCIM routes' writes,
    /// the webhook sender's record of its attempts): inside a
    /// transaction it adds no savepoint (two round trips on PostgreSQL) and runs `f` as a
    /// part of it. When `f` fails, what it did may be half there, so the connection
    /// records it, and the transaction or savepoint the caller opened is rolled back
    /// whatever the caller does next. Outside any transaction, it is [`Store::write`].
    fn write_part<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        if connection::depth(&mut conn)? == 0 {
            return connection::write_tx(&mut conn, f);
        }
        let result = f(&mut conn);
        if result.is_err() {
            conn.pooled().mark_failed();
        }
        result
    }
}
