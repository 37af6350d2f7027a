//! SQLite's plans for the statements that find a few of an account's members: by a key a
//! lookup compares, by a list of ids, or as its active admins (the last-admin rule). Each
//! must look its key, ids or admins up and never walk the account's members. SQLite has
//! no statistics here (they are never gathered), and its guesses without them prefer the
//! account's own index (`account_id`, or `account_id` and `kind`) to the key's: at
//! 100,000 members such a walk took some 15–50 ms where the lookup takes a fraction of
//! one. ([`crate::json_in::Unindexed`] is how the lookups and lists avoid it; the admins
//! have an index of their own, `users_active_admins_idx`.)

use std::sync::{Arc, Mutex};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis_domain::UserId;

use super::etags::touch_members;
use super::filter::{EmailField, Filter, UserField};
use super::groups::check_members;
use super::shown::{lookup_shown, whole_rows};
use super::users::{groups_of, lookup};
use super::ScimQuery;
use crate::connection::AnyConnection;
use crate::user::active_admins;

/// The SQL of every statement a connection runs, without its binds.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            let sql = sql.split(" -- binds").next().unwrap_or_default().to_owned();
            self.0.lock().unwrap().push(sql);
        }
    }
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// Whether a step of a plan walks all of an account's members or groups. The index of
/// active admins holds no one else, so going through an account's admins in it is no
/// walk.
fn walks_the_account(step: &str) -> bool {
    if step.contains("USING INDEX users_active_admins_idx ") {
        return false;
    }
    let on_members = [
        "SCAN users",
        "SCAN groups",
        "SEARCH users ",
        "SEARCH groups ",
    ]
    .iter()
    .any(|table| step.starts_with(table));
    on_members
        && (step.starts_with("SCAN")
            || step.ends_with("(account_id=?)")
            || step.ends_with("(account_id=? AND kind=?)"))
}

/// Runs `run` on a freshly migrated SQLite database and returns each statement it ran
/// with the steps of SQLite's plan for it that walk an account (none, when all is well).
fn account_walks(run: impl FnOnce(&mut AnyConnection)) -> Vec<(String, Vec<String>)> {
    let mut conn = AnyConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
    crate::migrate::run(&mut conn, None).unwrap();
    let recorder = Recorder::default();
    if let AnyConnection::Sqlite(c) = &mut conn {
        c.set_instrumentation(recorder.clone());
    }
    run(&mut conn);
    let statements = recorder.0.lock().unwrap().clone();
    assert!(!statements.is_empty(), "nothing ran");
    let AnyConnection::Sqlite(c) = &mut conn else {
        unreachable!("opened on SQLite")
    };
    statements
        .into_iter()
        .map(|sql| {
            // Parameters left unbound are NULL, which does not change the plan.
            let steps: Vec<PlanStep> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                .load(c)
                .unwrap();
            let walks = steps
                .into_iter()
                .map(|s| s.detail)
                .filter(|d| walks_the_account(d))
                .collect();
            (sql, walks)
        })
        .collect()
}

/// Fails, showing the statement and the steps, when any statement walks an account.
fn assert_no_walks(found: Vec<(String, Vec<String>)>) {
    for (sql, walks) in found {
        assert!(walks.is_empty(), "{sql}\nwalks the account: {walks:?}");
    }
}

/// Every filter a lookup answers ([`super::users::lookup_of`]).
fn lookups() -> Vec<ScimQuery<UserField>> {
    let email = |value: &str| Filter::eq(EmailField::Value, value);
    [
        Filter::eq(UserField::UserName, "ada@example.com"),
        Filter::eq(UserField::Id, "0192a6a8-0000-7000-8000-000000000000"),
        Filter::eq(UserField::ExternalId, "ext-1"),
        Filter::AnyEmail(Box::new(email("ada@example.com"))),
        Filter::AnyEmail(Box::new(
            Filter::eq(EmailField::Type, "work").and(email("ada@example.com")),
        )),
    ]
    .into_iter()
    .map(|f| ScimQuery::page(0, 2).filtered(f))
    .collect()
}

#[test]
fn lookups_look_their_key_up() {
    for q in lookups() {
        assert_no_walks(account_walks(|conn| {
            assert!(lookup(conn, "account", &q).unwrap().is_some());
        }));
        assert_no_walks(account_walks(|conn| {
            assert!(lookup_shown(conn, "account", &q, 1).unwrap().is_some());
        }));
    }
}

#[test]
fn lists_of_members_look_their_ids_up() {
    let ids = vec![
        "0192a6a8-0000-7000-8000-000000000001".to_owned(),
        "0192a6a8-0000-7000-8000-000000000002".to_owned(),
    ];
    let users: Vec<UserId> = ids.iter().map(|id| id.parse().unwrap()).collect();
    let now = chrono::DateTime::UNIX_EPOCH.naive_utc();
    assert_no_walks(account_walks(|conn| {
        // Neither is a member: the check fails, after its statement.
        assert!(check_members(conn, "account", &users).is_err());
    }));
    assert_no_walks(account_walks(|conn| {
        touch_members(conn, "account", &ids, now).unwrap();
    }));
    assert_no_walks(account_walks(|conn| {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        whole_rows(conn, "account", &ids).unwrap();
    }));
    assert_no_walks(account_walks(|conn| {
        groups_of(conn, "account", &ids).unwrap();
    }));
}

#[test]
fn the_last_admin_rule_reads_only_admins() {
    assert_no_walks(account_walks(|conn| {
        assert!(active_admins(conn, "account", 2).unwrap().is_empty());
    }));
}
