//! The connection pool: on PostgreSQL a connection idle for a while is tested before it
//! is lent again, and a dead one replaced; one in use a moment ago is lent untested.

use std::time::Duration;

use crate::support::*;

/// The server ends every connection of the store (as a restart of PostgreSQL would);
/// after they sat idle past the pool's bypass window, the next call still succeeds, on a
/// new connection: without the test on check-out it would get a dead one and fail.
#[test]
fn a_connection_idle_for_a_while_is_tested_and_a_dead_one_replaced() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let a = seed_account(&db.store, "acme");
    let ended = db.raw_texts(
        "SELECT CAST(pg_terminate_backend(pid) AS TEXT) AS value FROM pg_stat_activity \
         WHERE application_name = current_setting('application_name') \
         AND pid <> pg_backend_pid()",
    );
    assert!(!ended.is_empty(), "the store holds no connection to end");
    assert!(ended.iter().all(|e| e.as_deref() == Some("true")));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        db.store.account_by_slug(&a.slug).unwrap().map(|x| x.id),
        Some(a.id)
    );
}
