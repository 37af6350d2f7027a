//! The migrations, embedded in the binary, one folder per backend with the same names.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::sql_types::BigInt;
use diesel::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::AnyConnection;
use crate::StoreError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The PostgreSQL advisory lock held while migrating ("portcull" in ASCII), so that
/// replicas starting together apply migrations one at a time: the first applies them,
/// the others wait and then find nothing left to do.
const PG_MIGRATION_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// Applies every pending migration of the connection's backend.
pub(crate) fn run(conn: &mut AnyConnection) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            // One write transaction around the whole run: a second process waits for
            // the write lock, then sees the migrations applied. (diesel runs each
            // migration in a savepoint inside it.)
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            match c.run_pending_migrations(SQLITE) {
                Ok(_) => Ok(AnsiTransactionManager::commit_transaction(c)?),
                Err(err) => {
                    let _ = AnsiTransactionManager::rollback_transaction(c);
                    Err(StoreError::Migration(err))
                }
            }
        }
        AnyConnection::Postgresql(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(PG_MIGRATION_LOCK)
                .execute(c)?;
            let applied = c
                .run_pending_migrations(POSTGRES)
                .map(drop)
                .map_err(StoreError::Migration);
            let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<BigInt, _>(PG_MIGRATION_LOCK)
                .execute(c);
            applied?;
            unlocked?;
            Ok(())
        }
    }
}
