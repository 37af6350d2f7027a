//! The SCIM library's in-memory evaluator and the store's SQL agree: generated filters and
//! sorts over generated members give the same members in the same order whichever way
//! they run, on SQLite and PostgreSQL. Each filter is parsed as a client would send it;
//! those the translation answers exactly run through the store and through
//! `Filter::matches` and `sort::sort` over the members' resources.
//!
//! The members are ASCII in their addresses: `userName` and emails compare by the
//! identity rule of `docs/identity.md` in the store (IDNA domains, no Unicode case
//! folding), which the library's generic case-insensitive comparison does not know.
//! Display names carry non-ASCII letters, which both lower-case alike.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, SubsecRound, TimeZone, Utc};
use portcullis_app::scim::filter::{user_field, users as translate};
use portcullis_app::scim::mapping::{user_from_input, user_resource};
use portcullis_app::scim::Ctx;
use portcullis_domain::{AccountId, ApiKeyId, Email, Role, User, UserId};
use portcullis_scim::filter::Filter;
use portcullis_scim::path::AttrPath;
use portcullis_scim::query::SortOrder;
use portcullis_scim::schema::ResourceSchema;
use portcullis_scim::sort;
use portcullis_store::{ScimQuery, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRng, TestRunner};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::scim_support::postgres_database;
use crate::support::ops;

const BASE: &str = "https://portcullis.example/scim/v2";

/// The generated members and the values filters are built from.
struct Population {
    account: AccountId,
    /// Every member's resource, in the store's listing order.
    resources: Vec<Value>,
    /// Text literals: userNames and emails (in other cases too), display names, external
    /// ids, email types, fragments of each.
    texts: Vec<String>,
    /// Time literals: published times, a millisecond either side, and finer ones.
    times: Vec<String>,
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
}

/// A member's body, generated.
fn member(rng: &mut StdRng, i: usize) -> Value {
    let locals = ["kim", "Kim.Lee", "bob_x", "ann-marie", "zoe", "al"];
    let domains = ["acme.com", "Acme.COM", "example.org", "b.example"];
    let address = |rng: &mut StdRng, n: usize| {
        format!(
            "{}{n}@{}",
            locals.choose(rng).unwrap(),
            domains.choose(rng).unwrap()
        )
    };
    let mut body = json!({"userName": address(rng, i), "active": rng.gen_bool(0.7)});
    let names = [
        "",
        "Bob",
        "bob",
        "\u{00C4}ngel",
        "\u{00E9}va",
        "Zed Z",
        "a%b",
        "Al_1",
    ];
    if rng.gen_bool(0.8) {
        body["displayName"] = json!(names.choose(rng).unwrap());
    }
    let externals = ["", "ext-1", "EXT-1", "z9", "a"];
    if rng.gen_bool(0.6) {
        body["externalId"] = json!(externals.choose(rng).unwrap());
    }
    let count = rng.gen_range(0..=3);
    let primary_at = rng.gen_range(0..=3);
    let emails: Vec<Value> = (0..count)
        .map(|k| {
            let mut e = serde_json::Map::new();
            if rng.gen_bool(0.9) {
                e.insert("value".into(), json!(address(rng, i * 10 + k)));
            }
            let types = ["work", "Work", "home", "other"];
            if rng.gen_bool(0.8) {
                e.insert("type".into(), json!(types.choose(rng).unwrap()));
            }
            if k == primary_at {
                e.insert("primary".into(), json!(true));
            } else if rng.gen_bool(0.3) {
                e.insert("primary".into(), json!(false));
            }
            if rng.gen_bool(0.2) {
                e.insert("display".into(), json!("Shown"));
            }
            Value::Object(e)
        })
        .collect();
    if !emails.is_empty() {
        body["emails"] = Value::Array(emails);
    }
    body
}

/// Fills a store's account with members and gathers the literals.
fn populate(store: &Store) -> Population {
    let created =
        ops::create_account(store, "agree", "Agree", "admin@agree.example", base_time()).unwrap();
    let account = created.account.id;
    let mut rng = StdRng::seed_from_u64(26);
    for i in 0..48 {
        // Times to the microsecond, some in one millisecond, some equal.
        let offset = Duration::microseconds(rng.gen_range(0..40) * 250 + i64::from(i % 3 == 0));
        let ctx = Ctx {
            account,
            key: ApiKeyId::from_uuid(uuid::Uuid::new_v4()),
            ip: "203.0.113.7".parse().unwrap(),
            base: BASE.into(),
            provision_only_verified_domains: false,
            now: base_time() + Duration::seconds(1) + offset,
        };
        let row = user_from_input(&member(&mut rng, i), None, &ctx).unwrap();
        store.insert_scim_user(&row, None).unwrap();
    }
    // A member SCIM never described (the account's first admin is another).
    let plain = User::just_in_time(
        UserId::from_uuid(uuid::Uuid::new_v4()),
        account,
        Email::parse("Plain@Acme.com").unwrap(),
        String::new(),
        Role::Member,
        base_time() + Duration::milliseconds(1500),
    );
    store.insert_user(&plain).unwrap();

    let (rows, _) = store
        .list_scim_users(account, &ScimQuery::page(0, 1000))
        .unwrap();
    let ids: Vec<_> = rows.iter().map(|r| r.user.id).collect();
    let groups = store.groups_of_users(account, &ids).unwrap();
    let resources: Vec<Value> = rows
        .iter()
        .map(|r| user_resource(r, groups.get(&r.user.id).map_or(&[], Vec::as_slice), BASE))
        .collect();

    let mut texts = BTreeSet::new();
    let mut times = BTreeSet::new();
    for r in &resources {
        let mut add = |v: &Value| {
            if let Some(s) = v.as_str() {
                texts.insert(s.to_owned());
                texts.insert(s.to_uppercase());
                let chars: Vec<char> = s.chars().collect();
                if chars.len() > 2 {
                    texts.insert(chars[..2].iter().collect());
                    texts.insert(chars[chars.len() - 3..].iter().collect());
                }
            }
        };
        add(&r["userName"]);
        add(&r["displayName"]);
        add(&r["externalId"]);
        for e in r["emails"].as_array().into_iter().flatten() {
            add(&e["value"]);
            add(&e["type"]);
        }
        for key in ["created", "lastModified"] {
            let published = r["meta"][key].as_str().unwrap();
            let t = DateTime::parse_from_rfc3339(published).unwrap().to_utc();
            for shifted in [
                t,
                t + Duration::milliseconds(1),
                t - Duration::milliseconds(1),
            ] {
                times.insert(shifted.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            }
            let finer = t.trunc_subsecs(3) + Duration::microseconds(400);
            times.insert(finer.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            times.insert(published.replace('Z', "+01:00"));
        }
    }
    texts.extend([
        "".to_owned(),
        "zzzz".to_owned(),
        "a".to_owned(),
        "%".to_owned(),
    ]);
    Population {
        account,
        resources,
        texts: texts.into_iter().collect(),
        times: times.into_iter().collect(),
    }
}

/// A quoted SCIM string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// One comparison or presence test, as text.
fn leaf(p: &Population) -> BoxedStrategy<String> {
    let ops = prop::sample::select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);
    let text_paths = prop::sample::select(vec![
        "userName",
        "displayName",
        "externalId",
        "id",
        "emails",
        "emails.value",
        "emails.type",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "name.familyName",
    ]);
    let texts = prop::sample::select(p.texts.clone());
    let mut ids: Vec<String> = p
        .resources
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.push("0".into());
    let ids = prop::sample::select(ids);
    let times = prop::sample::select(p.times.clone());
    let time_paths = prop::sample::select(vec!["meta.created", "meta.lastModified"]);
    let bool_paths = prop::sample::select(vec!["active", "emails.primary"]);
    let present = prop::sample::select(vec![
        "userName",
        "displayName",
        "externalId",
        "emails",
        "emails.value",
        "emails.type",
        "emails.primary",
        "emails.display",
        "meta.created",
    ]);
    let element = {
        let sub = prop::sample::select(vec!["value", "type", "display"]);
        let ops = ops.clone();
        let texts = texts.clone();
        let simple = prop_oneof![
            (sub, ops, texts).prop_map(|(s, o, v)| format!("{s} {o} {}", quoted(&v))),
            any::<bool>().prop_map(|b| format!("primary eq {b}")),
            prop::sample::select(vec!["value pr", "type pr", "primary pr"]).prop_map(String::from),
        ];
        simple.prop_recursive(2, 6, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    };
    prop_oneof![
        4 => (text_paths, ops.clone(), texts.clone())
            .prop_map(|(a, o, v)| format!("{a} {o} {}", quoted(&v))),
        1 => (ops.clone(), ids).prop_map(|(o, v)| format!("id {o} {}", quoted(&v))),
        2 => (time_paths, ops, times).prop_map(|(a, o, v)| format!("{a} {o} {}", quoted(&v))),
        1 => (bool_paths, prop::sample::select(vec!["eq", "ne"]), any::<bool>())
            .prop_map(|(a, o, b)| format!("{a} {o} {b}")),
        1 => present.prop_map(|a| format!("{a} pr")),
        2 => element.prop_map(|e| format!("emails[{e}]")),
        1 => (prop::sample::select(vec!["work", "home", "WORK"]), texts)
            .prop_map(|(t, v)| format!("emails[type eq \"{t}\"].value eq {}", quoted(&v))),
    ]
    .boxed()
}

/// A filter of up to three levels of `and`, `or` and `not`.
fn filter(p: &Population) -> BoxedStrategy<String> {
    leaf(p)
        .prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
        .boxed()
}

/// An optional sort.
fn sorting() -> impl Strategy<Value = Option<(&'static str, SortOrder)>> {
    let by = prop::sample::select(vec![
        "userName",
        "displayName",
        "externalId",
        "id",
        "active",
        "meta.created",
        "meta.lastModified",
    ]);
    let order = prop_oneof![Just(SortOrder::Ascending), Just(SortOrder::Descending)];
    prop::option::weighted(0.5, (by, order))
}

/// What the evaluator answers: the members matching, sorted as asked.
fn in_memory(p: &Population, f: &Filter, sort_by: Option<(&AttrPath, SortOrder)>) -> Vec<String> {
    let schema = ResourceSchema::user();
    let mut matching: Vec<Value> = p
        .resources
        .iter()
        .filter(|r| f.matches(r, schema))
        .cloned()
        .collect();
    if let Some((by, order)) = sort_by {
        sort::sort(&mut matching, by, order, schema);
    }
    matching
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs generated queries on one store; returns how many ran in the database.
fn agree(store: &Store, backend: &str) -> u32 {
    let p = populate(store);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 600,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let exact_count = std::cell::Cell::new(0u32);
    let outcome = runner.run(&(filter(&p), sorting()), |(text, sort_by)| {
        let f = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        if f.validate(ResourceSchema::user()).is_err() {
            return Ok(());
        }
        let translated = translate(&f);
        let sort_path = sort_by.map(|(by, order)| (AttrPath::parse(by).unwrap(), order));
        let sort = match &sort_path {
            None => Some(None),
            Some((path, order)) => {
                user_field(path).map(|field| Some((field, *order == SortOrder::Ascending)))
            }
        };
        let (true, Some(sort)) = (translated.exact, sort) else {
            return Ok(());
        };
        exact_count.set(exact_count.get() + 1);
        let query = ScimQuery {
            filter: translated.filter,
            sort,
            offset: 0,
            limit: 1000,
        };
        let (rows, total) = store
            .list_scim_users(p.account, &query)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let db: Vec<String> = rows.iter().map(|r| r.user.id.to_string()).collect();
        let memory = in_memory(&p, &f, sort_path.as_ref().map(|(a, o)| (a, *o)));
        prop_assert_eq!(
            &db,
            &memory,
            "{} sorted by {:?} on {}",
            text,
            sort_by,
            backend
        );
        prop_assert_eq!(usize::try_from(total).unwrap(), memory.len());
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{backend}: {e}");
    }
    exact_count.get()
}

#[test]
fn the_store_and_the_evaluator_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::connect(dir.path().join("agree.db").to_str().unwrap()).unwrap();
    sqlite.migrate().unwrap();
    let ran = agree(&sqlite, "sqlite");
    // Most generated filters must run in the database, or the comparison says little.
    assert!(ran > 300, "only {ran} of 600 filters ran in the database");
    match postgres_database() {
        Some((url, guard)) => {
            let pg = Store::connect(&url).unwrap();
            pg.migrate().unwrap();
            assert!(agree(&pg, "postgres") > 300);
            drop(guard);
        }
        None => eprintln!("note: PORTCULLIS_TEST_POSTGRES_URL is not set; SQLite only"),
    }
}
