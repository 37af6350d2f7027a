//! The migrations, embedded in the binary, one folder per backend with the same names,
//! and the few data steps that SQL cannot do, each run right after its migration in the
//! same transaction.

use diesel::backend::Backend;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use portcullis_domain::email::identity_key;

use crate::connection::AnyConnection;
use crate::schema::{invitations, sessions, users};
use crate::scim::emails;
use crate::scim::users::HUMAN;
use crate::session;
use crate::StoreError;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The PostgreSQL advisory lock held while migrating ("portcull" in ASCII), so that
/// replicas starting together apply migrations one at a time: the first applies them,
/// the others wait and then find nothing left to do.
const PG_MIGRATION_LOCK: i64 = 0x706f_7274_6375_6c6c;

/// The migration after which [`rekey_emails`] runs.
const EMAIL_IDENTITY_KEYS: &str = "00000000000008";

/// The migration after which [`hash_session_ids`] runs.
const SESSION_ID_HASHES: &str = "00000000000010";

/// The migration after which [`fill_user_emails`] runs.
const USER_EMAILS: &str = "00000000000012";

/// Applies every pending migration of the connection's backend up to and including
/// `until` (a version such as `"00000000000007"`; `None` for all), with their data steps,
/// in one transaction: a second process waits for it, then finds nothing left to do.
pub(crate) fn run(conn: &mut AnyConnection, until: Option<&str>) -> Result<(), StoreError> {
    match conn {
        // One write transaction around the whole run; diesel runs each migration in a
        // savepoint inside it.
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(c) => {
            diesel::sql_query("SELECT pg_advisory_lock($1)")
                .bind::<BigInt, _>(PG_MIGRATION_LOCK)
                .execute(c)?;
            if let Err(err) = AnsiTransactionManager::begin_transaction(c) {
                unlock(c)?;
                return Err(err.into());
            }
        }
    }
    let outcome = apply(conn, until);
    let ended = match (&outcome, &mut *conn) {
        (Ok(()), AnyConnection::Sqlite(c)) => AnsiTransactionManager::commit_transaction(c),
        (Ok(()), AnyConnection::Postgresql(c)) => AnsiTransactionManager::commit_transaction(c),
        (Err(_), AnyConnection::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(c),
        (Err(_), AnyConnection::Postgresql(c)) => AnsiTransactionManager::rollback_transaction(c),
    };
    if let AnyConnection::Postgresql(c) = conn {
        unlock(c)?;
    }
    outcome?;
    Ok(ended?)
}

fn unlock(c: &mut diesel::PgConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(PG_MIGRATION_LOCK)
        .execute(c)?;
    Ok(())
}

/// The pending migrations up to `until`, each followed by its data step (a step sees the
/// schema its migration left, as later ones may change it).
fn apply(conn: &mut AnyConnection, until: Option<&str>) -> Result<(), StoreError> {
    loop {
        let applied = match conn {
            AnyConnection::Sqlite(c) => run_next(c, SQLITE, until)?,
            AnyConnection::Postgresql(c) => run_next(c, POSTGRES, until)?,
        };
        match applied.as_deref() {
            None => return Ok(()),
            Some(EMAIL_IDENTITY_KEYS) => rekey_emails(conn)?,
            Some(SESSION_ID_HASHES) => hash_session_ids(conn)?,
            Some(USER_EMAILS) => fill_user_emails(conn)?,
            Some(_) => {}
        }
    }
}

/// Runs the next pending SQL migration of `source` if it is not after `until`; returns
/// its version, or `None` when there is none to run.
fn run_next<DB, C>(
    c: &mut C,
    source: EmbeddedMigrations,
    until: Option<&str>,
) -> Result<Option<String>, StoreError>
where
    DB: Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: MigrationSource<DB>,
{
    let pending = c
        .pending_migrations(source)
        .map_err(StoreError::Migration)?;
    let Some(migration) = pending.into_iter().next() else {
        return Ok(None);
    };
    let version = migration.name().version().to_string();
    if until.is_some_and(|until| version.as_str() > until) {
        return Ok(None);
    }
    c.run_migration(&migration).map_err(StoreError::Migration)?;
    Ok(Some(version))
}

/// Gives every stored address its identity key ([`identity_key`]) where the SQL of
/// migration 8 could not: addresses whose domain needs IDNA. A member's work email that
/// was their email follows it. A key another member of the account already holds (the
/// same domain stored once in Unicode and once in its `xn--` form) is left as it was, so
/// the two stay distinct members and nothing is merged.
fn rekey_emails(conn: &mut AnyConnection) -> Result<(), StoreError> {
    // The work email column of that schema is gone from today's (migration 12), so it is
    // read and written in SQL of its own.
    #[derive(QueryableByName)]
    struct Member {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        account_id: String,
        #[diesel(sql_type = Text)]
        email: String,
        #[diesel(sql_type = Text)]
        email_lower: String,
        #[diesel(sql_type = Nullable<Text>)]
        work_email_lower: Option<String>,
    }
    let members: Vec<Member> =
        diesel::sql_query("SELECT id, account_id, email, email_lower, work_email_lower FROM users")
            .load(conn)?;
    for m in members {
        let (id, account, email, key, work) = (
            m.id,
            m.account_id,
            m.email,
            m.email_lower,
            m.work_email_lower,
        );
        let new_key = identity_key(&email);
        if new_key == key {
            continue;
        }
        let taken = users::table
            .filter(users::account_id.eq(&account))
            .filter(users::email_lower.eq(&new_key))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if taken {
            continue;
        }
        let work = if work.as_deref() == Some(key.as_str()) {
            Some(new_key.clone())
        } else {
            work
        };
        diesel::sql_query("UPDATE users SET email_lower = $1, work_email_lower = $2 WHERE id = $3")
            .bind::<Text, _>(&new_key)
            .bind::<Nullable<Text>, _>(work)
            .bind::<Text, _>(&id)
            .execute(conn)?;
    }
    let invited: Vec<(String, String, String)> = invitations::table
        .select((
            invitations::id,
            invitations::email,
            invitations::email_lower,
        ))
        .load(conn)?;
    for (id, email, key) in invited {
        let new_key = identity_key(&email);
        if new_key != key {
            diesel::update(invitations::table.filter(invitations::id.eq(&id)))
                .set(invitations::email_lower.eq(new_key))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Replaces the id of every stored session with its hash ([`session::stored_id`]), as
/// sessions are stored from migration 10 on.
fn hash_session_ids(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let ids: Vec<String> = sessions::table.select(sessions::id).load(conn)?;
    for id in ids {
        diesel::update(sessions::table.find(&id))
            .set(sessions::id.eq(session::stored_id(&id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Gives every member their rows of `user_emails` ([`emails`]): from the `emails` of the
/// SCIM JSON they were stored with, or their email for members SCIM never described.
fn fill_user_emails(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let members: Vec<(String, String, String, Option<String>)> = users::table
        .filter(users::kind.eq(HUMAN))
        .select((users::id, users::account_id, users::email, users::scim_json))
        .load(conn)?;
    for (id, account, email, json) in members {
        emails::insert(conn, &id, &account, &email, json.as_deref())?;
    }
    Ok(())
}
