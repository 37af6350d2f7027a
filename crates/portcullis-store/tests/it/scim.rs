//! SCIM users: attributes and versions, filters for every field and operator, paging.

use std::sync::{Arc, Barrier};

use chrono::{DateTime, Utc};
use portcullis_domain::*;
use portcullis_store::{
    conflict, CompareOp, EmailField, Filter, FilterValue, ScimGroupRow, ScimQuery, ScimUserRow,
    ScimUserShown, Store, StoreError, UserField, UserFilter,
};

use crate::support::*;

/// A group of the account named `name` (members are added when it is inserted).
pub(crate) fn group_of(account: &Account, name: &str) -> ScimGroupRow {
    ScimGroupRow {
        id: fresh::group(),
        account: account.id,
        display_name: name.into(),
        external_id: None,
        scim_json: None,
        version: 1,
        created_at: t(1),
        updated_at: t(1),
    }
}

/// Three members with distinct attributes, a bot and a user of another account.
struct Fixture {
    account: Account,
    alice: ScimUserRow,
    bob: ScimUserRow,
    carol: ScimUserRow,
}

fn fixture(store: &Store) -> Fixture {
    let a = seed_account(store, "acme");
    let mut alice = scim_row(&a, "Alice@Example.com", 10);
    alice.user.display_name = "Alice Ångström".into();
    alice.user.external_id = Some("EXT-1".into());
    alice.scim_json = Some(
        r#"{"userName": "Alice@Example.com", "emails": [
            {"value": "alice.work@Example.com", "type": "work", "primary": true}]}"#
            .into(),
    );
    let mut bob = scim_row(&a, "bob@example.org", 20);
    bob.user.display_name = "Bob Builder".into();
    bob.user.external_id = Some("ext-2".into());
    bob.user.active = false;
    bob.user.updated_at = t(25);
    let mut carol = scim_row(&a, "carol_x@example.com", 30);
    carol.user.display_name = "Carol 100%".into();
    carol.scim_json = Some(
        r#"{"userName": "carol_x@example.com", "emails": [
            {"value": "carol@work.test", "type": "work"},
            {"value": "carol@home.test", "type": "home"}]}"#
            .into(),
    );
    for row in [&alice, &bob, &carol] {
        store.insert_scim_user(row, None).unwrap();
    }
    let mut bot = user(&a, "alice-bot@bots.invalid");
    bot.kind = UserKind::Bot;
    bot.display_name = "Alice bot".into();
    store.insert_user(&bot).unwrap();
    let other = seed_account(store, "other");
    let mut twin = scim_row(&other, "Alice@Example.com", 10);
    twin.user.external_id = Some("EXT-1".into());
    store.insert_scim_user(&twin, None).unwrap();
    Fixture {
        account: a,
        alice,
        bob,
        carol,
    }
}

/// Some email of the member matches `f`.
fn email(f: Filter<EmailField>) -> UserFilter {
    Filter::AnyEmail(Box::new(f))
}

fn cmp(field: UserField, op: CompareOp, value: &str) -> UserFilter {
    Filter::Compare(field, op, FilterValue::Str(value.into()))
}

fn at(field: UserField, op: CompareOp, time: DateTime<Utc>) -> UserFilter {
    Filter::Compare(field, op, FilterValue::Time(time))
}

fn active(op: CompareOp, b: bool) -> UserFilter {
    Filter::Compare(UserField::Active, op, FilterValue::Bool(b))
}

/// The first letters of the display names matching, in listing order.
fn matching(store: &Store, f: &Fixture, filter: UserFilter) -> String {
    let q = ScimQuery::page(0, 100).filtered(filter);
    let (rows, total) = store.list_scim_users(f.account.id, &q).unwrap();
    assert_eq!(total, rows.len() as i64);
    rows.iter()
        .map(|r| {
            r.user
                .display_name
                .chars()
                .next()
                .unwrap()
                .to_ascii_lowercase()
        })
        .collect()
}

backend_tests! {
    fn scim_users_round_trip_and_exclude_bots(store: &Store) {
        let f = fixture(store);
        assert_eq!(store.scim_user(f.account.id, f.alice.user.id).unwrap(), Some(f.alice.clone()));
        assert_eq!(store.scim_user(f.account.id, f.bob.user.id).unwrap(), Some(f.bob.clone()));
        assert_eq!(store.scim_user(f.account.id, f.carol.user.id).unwrap(), Some(f.carol.clone()));
        // Members created outside SCIM are listed, with their email as their one work
        // email.
        let plain = seed_user(store, &f.account, "Plain@Example.com");
        let row = store.scim_user(f.account.id, plain.id).unwrap().unwrap();
        assert_eq!((row.scim_json, row.scim_view, row.version), (None, None, 1));
        let work = email(Filter::eq(EmailField::Type, "work").and(Filter::eq(EmailField::Value, "plain@EXAMPLE.com")));
        let (found, _) = store.list_scim_users(f.account.id, &ScimQuery::page(0, 10).filtered(work)).unwrap();
        assert_eq!(found.iter().map(|r| r.user.id).collect::<Vec<_>>(), vec![plain.id]);
        // Bots are never SCIM resources.
        let bots = store.list_users(f.account.id, &portcullis_store::UserListQuery { kind: Some(UserKind::Bot), limit: 10, ..Default::default() }).unwrap().0;
        assert_eq!(store.scim_user(f.account.id, bots[0].id).unwrap(), None);
        let (_, total) = store.list_scim_users(f.account.id, &ScimQuery::page(0, 100)).unwrap();
        assert_eq!(total, 4);
        // Another account's id is unknown here.
        let other = seed_account(store, "third");
        assert_eq!(store.scim_user(other.id, f.alice.user.id).unwrap(), None);
    }

    fn members_are_shown_from_their_columns_and_view(store: &Store) {
        let f = fixture(store);
        let alice = &f.alice;
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        let shown = store.scim_user_shown(f.account.id, alice.user.id, epoch).unwrap().unwrap();
        assert_eq!(
            shown,
            ScimUserShown {
                id: alice.user.id,
                user_name: alice.user.email.as_str().to_owned(),
                display_name: alice.user.display_name.clone(),
                active: alice.user.active,
                external_id: alice.user.external_id.clone(),
                view: alice.scim_view.clone().unwrap(),
                version: alice.version,
                created_at: alice.user.created_at,
                updated_at: alice.user.updated_at,
                groups: vec![],
            }
        );
        // With their groups, by display name, whichever way they are read.
        let group = |name: &str| group_of(&f.account, name);
        let (zeta, alpha, other) = (group("Zeta"), group("alpha"), group("Bob only"));
        store.insert_scim_group(&zeta, &[alice.user.id], None).unwrap();
        store.insert_scim_group(&alpha, &[alice.user.id, f.bob.user.id], None).unwrap();
        store.insert_scim_group(&other, &[f.bob.user.id], None).unwrap();
        let expected = vec![(alpha.id, "alpha".to_owned()), (zeta.id, "Zeta".to_owned())];
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        let shown = store.scim_user_shown(f.account.id, alice.user.id, epoch).unwrap().unwrap();
        assert_eq!(shown.groups, expected);
        assert_eq!(shown.view, alice.scim_view.clone().unwrap());
        let by_name = ScimQuery::page(0, 10).filtered(cmp(UserField::UserName, CompareOp::Eq, "alice@example.com"));
        let found = store.lookup_scim_users_shown(f.account.id, &by_name, epoch).unwrap().unwrap();
        assert_eq!(found[0].groups, expected);
        // A change shows at once.
        let mut next = alice.clone();
        next.user.active = false;
        next.scim_view = Some("{\"title\":\"v2\"}".into());
        let stored = store.scim_user(f.account.id, alice.user.id).unwrap().unwrap();
        store.replace_scim_user(&next, &stored, None).unwrap();
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        let shown = store.scim_user_shown(f.account.id, alice.user.id, epoch).unwrap().unwrap();
        // Joining two groups changed her twice (her `groups` did), this once more.
        assert_eq!((shown.active, shown.view.as_str(), shown.version), (false, "{\"title\":\"v2\"}", 4));
        // Members without a view, bots, other accounts' members and unknown ids: none.
        let plain = seed_user(store, &f.account, "Plain@Example.com");
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        assert_eq!(store.scim_user_shown(f.account.id, plain.id, epoch).unwrap(), None);
        let bots = store.list_users(f.account.id, &portcullis_store::UserListQuery { kind: Some(UserKind::Bot), limit: 10, ..Default::default() }).unwrap().0;
        assert_eq!(store.scim_user_shown(f.account.id, bots[0].id, epoch).unwrap(), None);
        let other = seed_account(store, "third");
        let other_epoch = store.api_auth_epoch(other.id).unwrap().unwrap();
        assert_eq!(store.scim_user_shown(other.id, alice.user.id, other_epoch).unwrap(), None);
        assert_eq!(store.scim_user_shown(f.account.id, UserId::from_uuid(uuid::Uuid::new_v4()), epoch).unwrap(), None);
        // Only at the account's current epoch: a key read before a change that moved it
        // (here the account's settings) reads nothing, and neither does any other number.
        assert!(store.scim_user_shown(f.account.id, alice.user.id, epoch).unwrap().is_some());
        let mut account = f.account.clone();
        account.name = "Renamed".into();
        store.update_account(&account).unwrap();
        assert_ne!(store.api_auth_epoch(f.account.id).unwrap(), Some(epoch));
        assert_eq!(store.scim_user_shown(f.account.id, alice.user.id, epoch).unwrap(), None);
        assert_eq!(store.scim_user_shown(f.account.id, alice.user.id, epoch + 1000).unwrap(), None);
    }

    fn views_missing_from_older_rows_are_filled_once(store: &Store) {
        let f = fixture(store);
        // Rows as stored before the view existed.
        let mut old = Vec::new();
        for (i, orig) in [&f.alice, &f.bob, &f.carol].into_iter().enumerate() {
            let mut row = orig.clone();
            row.scim_view = None;
            let version = store.replace_scim_user(&row, orig, None).unwrap();
            old.push((row.user.id, row.scim_json.clone().unwrap(), version));
            assert_eq!(version, 2, "{i}");
        }
        old.sort_by_key(|(id, _, _)| id.to_string());
        // The other account's twin has its view; members SCIM never described have no
        // `scim_json` and nothing to fill.
        seed_user(store, &f.account, "plain@example.com");
        assert_eq!(store.scim_users_without_view(None, 10).unwrap(), old);
        // Paged by id.
        let first = store.scim_users_without_view(None, 2).unwrap();
        assert_eq!(first, old[..2]);
        assert_eq!(store.scim_users_without_view(Some(first[1].0), 2).unwrap(), old[2..]);
        // Filled only at the version read: a write since has written its own view.
        let (id, _, version) = old[0].clone();
        let fill = |version: i64, title: &str| {
            store.fill_scim_views(&[(id, version, format!("{{\"title\":\"{title}\"}}"))]).unwrap()
        };
        assert_eq!(fill(version + 1, "stale"), 0);
        assert_eq!(fill(version, "filled"), 1);
        assert_eq!(fill(version, "again"), 0);
        let row = store.scim_user(f.account.id, id).unwrap().unwrap();
        assert_eq!((row.scim_view.as_deref(), row.version), (Some("{\"title\":\"filled\"}"), version));
        assert_eq!(store.scim_users_without_view(None, 10).unwrap(), old[1..]);
    }

    fn lookups_are_shown_from_columns_and_views_when_complete(store: &Store) {
        let f = fixture(store);
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        let ids = |q: &ScimQuery<UserField>| {
            store
                .lookup_scim_users_shown(f.account.id, q, epoch)
                .unwrap()
                .map(|found| found.iter().map(|m| m.id).collect::<Vec<_>>())
        };
        let first = |filter| ScimQuery::page(0, 10).filtered(filter);
        let alice = Some(vec![f.alice.user.id]);
        // Each lookup an IdP makes, in this account only (the other account has a twin).
        assert_eq!(ids(&first(cmp(UserField::UserName, CompareOp::Eq, "ALICE@example.com"))), alice);
        assert_eq!(ids(&first(cmp(UserField::ExternalId, CompareOp::Eq, "EXT-1"))), alice);
        assert_eq!(ids(&first(cmp(UserField::Id, CompareOp::Eq, &f.alice.user.id.to_string()))), alice);
        assert_eq!(ids(&first(email(Filter::eq(EmailField::Value, "Alice.Work@example.com")))), alice);
        // Finding nobody is left to the caller, who alone can tell it from a moved epoch.
        assert_eq!(ids(&first(cmp(UserField::UserName, CompareOp::Eq, "nobody@example.com"))), None);
        assert_eq!(
            store.lookup_scim_users_shown(f.account.id, &first(cmp(UserField::ExternalId, CompareOp::Eq, "EXT-1")), epoch + 1).unwrap(),
            None
        );
        let shown = store
            .lookup_scim_users_shown(f.account.id, &first(cmp(UserField::UserName, CompareOp::Eq, "bob@example.org")), epoch)
            .unwrap()
            .unwrap();
        assert_eq!((shown[0].active, shown[0].view.as_str()), (false, f.bob.scim_view.as_deref().unwrap()));
        // Not lookups: other filters, later pages, sorted queries.
        assert_eq!(ids(&first(cmp(UserField::UserName, CompareOp::Co, "alice"))), None);
        assert_eq!(ids(&ScimQuery::page(1, 10).filtered(cmp(UserField::ExternalId, CompareOp::Eq, "EXT-1"))), None);
        let mut sorted = first(cmp(UserField::ExternalId, CompareOp::Eq, "EXT-1"));
        sorted.sort = Some((UserField::UserName, true));
        assert_eq!(ids(&sorted), None);
        // A full page may not hold every match: its length would not be the total.
        assert_eq!(ids(&ScimQuery::page(0, 1).filtered(cmp(UserField::ExternalId, CompareOp::Eq, "EXT-1"))), None);
        // Several members in creation order, each with their own groups (a row per member
        // and group in the statement), however the database returns them.
        let mut later = scim_row(&f.account, "later@example.com", 50);
        later.user.external_id = Some("shared".into());
        let mut earlier = scim_row(&f.account, "earlier@example.com", 40);
        earlier.user.external_id = Some("shared".into());
        store.insert_scim_user(&later, None).unwrap();
        store.insert_scim_user(&earlier, None).unwrap();
        let group = |name: &str| group_of(&f.account, name);
        let (g1, g2) = (group("B"), group("a"));
        store.insert_scim_group(&g1, &[later.user.id, earlier.user.id], None).unwrap();
        store.insert_scim_group(&g2, &[later.user.id], None).unwrap();
        let shared = ScimQuery::page(0, 10).filtered(cmp(UserField::ExternalId, CompareOp::Eq, "shared"));
        let epoch = store.api_auth_epoch(f.account.id).unwrap().unwrap();
        let found = store.lookup_scim_users_shown(f.account.id, &shared, epoch).unwrap().unwrap();
        let got: Vec<_> = found.iter().map(|m| (m.id, m.groups.iter().map(|g| g.1.as_str()).collect::<Vec<_>>())).collect();
        assert_eq!(got, vec![(earlier.user.id, vec!["B"]), (later.user.id, vec!["a", "B"])]);
        // Three rows (a member in two groups takes two) fill a page of three: not complete.
        let three = ScimQuery::page(0, 3).filtered(cmp(UserField::ExternalId, CompareOp::Eq, "shared"));
        assert_eq!(store.lookup_scim_users_shown(f.account.id, &three, epoch).unwrap(), None);
        // A member without a view is answered from the whole row.
        let plain = seed_user(store, &f.account, "Plain@Example.com");
        assert_eq!(ids(&first(cmp(UserField::UserName, CompareOp::Eq, plain.email.as_str()))), None);
    }

    fn replace_is_optimistic_and_deactivation_ends_sessions(store: &Store) {
        let f = fixture(store);
        let s = session(&f.alice.user, t(9999));
        store.insert_session(&s).unwrap();

        let mut next = f.alice.clone();
        next.user.display_name = "Alice Smith".into();
        next.user.active = false;
        next.user.updated_at = t(100);
        next.scim_json = Some("{\"v\":2}".into());
        // The view is written with the attributes it shows.
        next.scim_view = Some("{\"title\":\"v2\"}".into());
        assert_eq!(store.replace_scim_user(&next, &f.alice, None).unwrap(), 2);
        let stored = store.scim_user(f.account.id, next.user.id).unwrap().unwrap();
        assert_eq!(stored, ScimUserRow { version: 2, ..next.clone() });
        assert_eq!(store.session(s.id).unwrap().unwrap().revoked_at, Some(t(100)));

        // A stale version changes nothing.
        let mut stale = next.clone();
        stale.user.display_name = "Lost update".into();
        assert!(matches!(store.replace_scim_user(&stale, &f.alice, None), Err(StoreError::PreconditionFailed)));
        assert_eq!(store.scim_user(f.account.id, next.user.id).unwrap().unwrap().user.display_name, "Alice Smith");
        // From the current version it happens.
        let current = ScimUserRow { version: 2, ..next.clone() };
        assert_eq!(store.replace_scim_user(&stale, &current, None).unwrap(), 3);
        // Other changes bump the version too.
        assert!(store.set_user_active(f.account.id, next.user.id, true, t(101)).unwrap());
        assert_eq!(store.scim_user(f.account.id, next.user.id).unwrap().unwrap().version, 4);

        let mut taken = next.clone();
        taken.user.email = Email::parse("BOB@example.org").unwrap();
        let now = store.scim_user(f.account.id, next.user.id).unwrap().unwrap();
        let err = store.replace_scim_user(&taken, &now, None).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::EMAIL), "{err:?}");

        let ghost = scim_row(&f.account, "ghost@example.com", 1);
        assert!(matches!(store.replace_scim_user(&ghost, &ghost, None), Err(StoreError::NotFound)));
        let mut foreign = next.clone();
        foreign.user.account = seed_account(store, "x").id;
        assert!(matches!(store.replace_scim_user(&foreign, &now, None), Err(StoreError::NotFound)));
    }

    fn an_insert_gives_back_the_member_as_a_read_does(store: &Store) {
        let a = seed_account(store, "acme");
        let mut row = scim_row(&a, "Nanos@Example.com", 1);
        row.user.created_at = t(1) + chrono::Duration::nanoseconds(123_456_789);
        row.user.updated_at = row.user.created_at;
        let stored = store.insert_scim_user(&row, None).unwrap();
        assert_eq!(Some(stored.clone()), store.user(a.id, row.user.id).unwrap());
        assert_ne!(stored.created_at, row.user.created_at, "kept to the store's precision");
    }

    fn a_replace_finds_the_member_by_every_key_after_it(store: &Store) {
        let f = fixture(store);
        let finds = |field: UserField, value: &str| -> Vec<UserId> {
            let q = ScimQuery::page(0, 10).filtered(Filter::Compare(field, CompareOp::Eq, FilterValue::Str(value.into())));
            let (rows, _) = store.list_scim_users(f.account.id, &q).unwrap();
            rows.into_iter().map(|r| r.user.id).collect()
        };
        let alice = f.alice.user.id;
        let replace = |change: &dyn Fn(&mut ScimUserRow)| {
            let now = store.scim_user(f.account.id, alice).unwrap().unwrap();
            let mut next = now.clone();
            change(&mut next);
            next.user.updated_at = t(100 + now.version);
            next.scim_json = Some(format!("{{\"v\":{}}}", now.version + 1));
            let version = store.replace_scim_user(&next, &now, None).unwrap();
            let stored = store.scim_user(f.account.id, alice).unwrap().unwrap();
            assert_eq!(stored, ScimUserRow { version, ..next });
        };
        // Only `active` (and the stored JSON) changes: the keys are kept.
        replace(&|next| next.user.active = false);
        assert_eq!(finds(UserField::UserName, "alice@example.com"), [alice]);
        assert_eq!(finds(UserField::ExternalId, "EXT-1"), [alice]);
        assert_eq!(finds(UserField::DisplayName, "Alice Ångström"), [alice]);
        // Each key changed on its own is found by its new value only.
        replace(&|next| next.user.display_name = "Alice Smith".into());
        assert_eq!(finds(UserField::DisplayName, "Alice Smith"), [alice]);
        assert!(finds(UserField::DisplayName, "Alice Ångström").is_empty());
        replace(&|next| next.user.external_id = Some("EXT-9".into()));
        assert_eq!(finds(UserField::ExternalId, "EXT-9"), [alice]);
        assert!(finds(UserField::ExternalId, "EXT-1").is_empty());
        replace(&|next| next.user.email = Email::parse("alice.smith@example.com").unwrap());
        assert_eq!(finds(UserField::UserName, "alice.smith@example.com"), [alice]);
        assert!(finds(UserField::UserName, "alice@example.com").is_empty());
        // The old userName is free again; the new one is taken.
        let mut other = scim_row(&f.account, "alice@example.com", 40);
        store.insert_scim_user(&other, None).unwrap();
        other.user.id = fresh::user();
        other.user.email = Email::parse("Alice.Smith@example.com").unwrap();
        assert!(matches!(store.insert_scim_user(&other, None), Err(StoreError::Conflict { .. })));
    }

    fn filters_on_every_field_and_operator(store: &Store) {
        use CompareOp::*;
        use UserField::*;
        let f = fixture(store);
        let check = |filter: UserFilter, expected: &str| {
            assert_eq!(matching(store, &f, filter.clone()), expected, "{filter:?}");
        };
        check(Filter::eq(Id, f.alice.user.id.to_string()), "a");
        check(cmp(Id, Ne, &f.alice.user.id.to_string()), "bc");
        check(Filter::Present(Id), "abc");

        check(cmp(UserName, Eq, "ALICE@example.COM"), "a");
        check(cmp(UserName, Ne, "alice@example.com"), "bc");
        check(cmp(UserName, Co, "EXAMPLE"), "abc");
        check(cmp(UserName, Sw, "Bob"), "b");
        check(cmp(UserName, Ew, ".ORG"), "b");
        check(cmp(UserName, Co, "_x"), "c");
        check(cmp(UserName, Co, "%"), "");
        check(cmp(UserName, Gt, "bob@example.org"), "c");
        check(cmp(UserName, Ge, "bob@example.org"), "bc");
        check(cmp(UserName, Lt, "b"), "a");
        check(cmp(UserName, Le, "alice@example.com"), "a");
        check(Filter::Present(UserName), "abc");

        check(cmp(ExternalId, Eq, "EXT-1"), "a");
        check(cmp(ExternalId, Eq, "ext-1"), "");
        check(cmp(ExternalId, Co, "xt"), "b");
        check(cmp(ExternalId, Sw, "EXT"), "a");
        check(cmp(ExternalId, Ew, "-2"), "b");
        check(cmp(ExternalId, Gt, "EXT-1"), "b");
        check(cmp(ExternalId, Ne, "EXT-1"), "bc");
        check(cmp(ExternalId, Eq, "EXT-1").negate(), "bc");
        check(Filter::Present(ExternalId), "ab");
        check(Filter::Present(ExternalId).negate(), "c");

        // Emails: a member matches when one of their emails does.
        let value = |op, v: &str| Filter::Compare(EmailField::Value, op, FilterValue::Str(v.into()));
        let kind = |v: &str| Filter::eq(EmailField::Type, v);
        let primary = |op, b| Filter::Compare(EmailField::Primary, op, FilterValue::Bool(b));
        check(email(value(Eq, "ALICE.WORK@example.com")), "a");
        check(email(value(Ew, "@WORK.test")), "c");
        check(email(value(Eq, "carol@home.test")), "c");
        check(email(kind("HOME").and(value(Eq, "carol@home.test"))), "c");
        check(email(kind("work").and(value(Eq, "carol@home.test"))), "");
        check(email(value(Eq, "carol@work.test")).negate(), "ab");
        check(email(Filter::Present(EmailField::Value)), "ac");
        check(email(Filter::Present(EmailField::Primary)), "a");
        check(email(primary(Eq, true)), "a");
        check(email(primary(Ne, true)), "c");

        check(cmp(DisplayName, Eq, "alice ÅNGSTRÖM"), "a");
        check(cmp(DisplayName, Co, "100%"), "c");
        check(cmp(DisplayName, Co, "0%"), "c");
        check(cmp(DisplayName, Sw, "b"), "b");
        check(cmp(DisplayName, Lt, "bob"), "a");
        check(Filter::Present(DisplayName), "abc");

        check(active(Eq, true), "ac");
        check(active(Ne, true), "b");
        check(active(Eq, false), "b");
        check(Filter::Present(Active), "abc");

        check(at(Created, Gt, t(10)), "bc");
        check(at(Created, Ge, t(10)), "abc");
        check(at(Created, Lt, t(30)), "ab");
        check(at(Created, Le, t(20)), "ab");
        check(at(Created, Eq, t(20)), "b");
        check(at(Created, Ne, t(20)), "ac");
        check(at(LastModified, Gt, t(20)), "bc");
        check(at(LastModified, Eq, t(25)), "b");

        check(cmp(UserName, Sw, "a").or(cmp(UserName, Sw, "c")).and(active(Eq, true)), "ac");
        check(active(Eq, true).negate(), "b");
        check(cmp(UserName, Sw, "a").or(cmp(ExternalId, Eq, "ext-2")).negate(), "c");

        for bad in [
            active(Gt, true),
            cmp(Active, Eq, "true"),
            Filter::Compare(UserName, Eq, FilterValue::Bool(true)),
            cmp(Created, Eq, "2025-01-01T00:00:00Z"),
            at(Created, Co, t(1)),
            cmp(UserName, Eq, "x").and(active(Le, false)),
        ] {
            let q = ScimQuery::page(0, 10).filtered(bad.clone());
            assert!(matches!(store.list_scim_users(f.account.id, &q), Err(StoreError::InvalidFilter(_))), "{bad:?}");
        }
    }

    fn scim_paging_is_stable_with_exact_totals(store: &Store) {
        let a = seed_account(store, "acme");
        let mut all = Vec::new();
        for i in 0..23 {
            // Creation times collide in threes: the id breaks ties.
            let mut row = scim_row(&a, &format!("user{:02}@example.com", (i * 7) % 23), i / 3);
            row.user.external_id = (i % 4 != 0).then(|| format!("ext-{:02}", i % 5));
            store.insert_scim_user(&row, None).unwrap();
            all.push(row);
        }
        let collect = |q: ScimQuery<UserField>| {
            let mut seen = Vec::new();
            let mut offset = 0;
            loop {
                let page = ScimQuery { offset, limit: 5, ..q.clone() };
                let (rows, total) = store.list_scim_users(a.id, &page).unwrap();
                assert_eq!(total, 23);
                if rows.is_empty() {
                    break;
                }
                offset += rows.len() as i64;
                seen.extend(rows.into_iter().map(|r| r.user.id));
            }
            seen
        };
        let ids = |rows: &[ScimUserRow]| rows.iter().map(|r| r.user.id).collect::<Vec<_>>();

        let mut by_default = all.clone();
        by_default.sort_by_key(|r| (r.user.created_at, r.user.id.to_string()));
        assert_eq!(collect(ScimQuery::page(0, 5)), ids(&by_default));

        let mut by_name = all.clone();
        by_name.sort_by_key(|r| r.user.email.normalized().to_owned());
        assert_eq!(collect(ScimQuery { sort: Some((UserField::UserName, true)), ..ScimQuery::page(0, 5) }), ids(&by_name));
        by_name.reverse();
        assert_eq!(collect(ScimQuery { sort: Some((UserField::UserName, false)), ..ScimQuery::page(0, 5) }), ids(&by_name));

        // Missing externalIds last when ascending; ties by creation time, then id.
        let mut by_ext = all.clone();
        by_ext.sort_by_key(|r| (r.user.external_id.is_none(), r.user.external_id.clone(), r.user.created_at, r.user.id.to_string()));
        assert_eq!(collect(ScimQuery { sort: Some((UserField::ExternalId, true)), ..ScimQuery::page(0, 5) }), ids(&by_ext));

        // The total counts the filter, not the page.
        let q = ScimQuery { limit: 2, ..ScimQuery::page(0, 2) }.filtered(Filter::Present(UserField::ExternalId));
        let (rows, total) = store.list_scim_users(a.id, &q).unwrap();
        assert_eq!((rows.len(), total), (2, 17));
        // A first page that is not full is counted by its length, a full one (or a later
        // one) in the database: every size around the boundary gives the same total.
        for limit in [1, 16, 17, 18, 100] {
            let q = ScimQuery::page(0, limit).filtered(Filter::Present(UserField::ExternalId));
            let (rows, total) = store.list_scim_users(a.id, &q).unwrap();
            assert_eq!((rows.len(), total), (limit.min(17) as usize, 17), "limit {limit}");
            let q = ScimQuery::page(15, limit).filtered(Filter::Present(UserField::ExternalId));
            let (rows, total) = store.list_scim_users(a.id, &q).unwrap();
            assert_eq!((rows.len(), total), (limit.min(2) as usize, 17), "offset 15, limit {limit}");
        }
        let q = ScimQuery::page(0, 10).filtered(Filter::eq(UserField::UserName, "USER05@example.com"));
        let (rows, total) = store.list_scim_users(a.id, &q).unwrap();
        assert_eq!((rows.len(), total), (1, 1));
        let q = ScimQuery::page(0, 10).filtered(Filter::eq(UserField::UserName, "nobody@example.com"));
        assert_eq!(store.list_scim_users(a.id, &q).unwrap().1, 0);
        let (rows, total) = store.list_scim_users(a.id, &ScimQuery::page(100, 10)).unwrap();
        assert_eq!((rows.len(), total), (0, 23));
        let (rows, total) = store.list_scim_users(a.id, &ScimQuery::page(0, 0)).unwrap();
        assert_eq!((rows.len(), total), (0, 23));
    }

    fn concurrent_scim_creates_of_one_username_give_exactly_one(store: &Store) {
        let a = seed_account(store, "acme");
        for round in 0..5 {
            let barrier = Arc::new(Barrier::new(2));
            let handles: Vec<_> = ["", "x"]
                .into_iter()
                .map(|suffix| {
                    let mut row = scim_row(&a, &format!("Race{round}@Example.com"), 1);
                    row.user.display_name.push_str(suffix);
                    let (store, barrier) = (store.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        store.insert_scim_user(&row, None)
                    })
                })
                .collect();
            let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
            assert!(results.iter().any(|r| matches!(r, Err(StoreError::Conflict { what }) if *what == conflict::EMAIL)));
            let q = ScimQuery::page(0, 10).filtered(Filter::eq(UserField::UserName, format!("race{round}@example.com")));
            assert_eq!(store.list_scim_users(a.id, &q).unwrap().1, 1);
        }
    }
}

backend_tests! {
    fn unfiltered_totals_follow_every_change_of_membership(store: &Store) {
        // The unfiltered total comes from the count the triggers keep; a filter that
        // matches everyone counts the rows. The two must agree after every change.
        let everyone = || Filter::Present(UserField::UserName);
        let totals = |account: &Account| {
            let (_, kept) = store.list_scim_users(account.id, &ScimQuery::page(0, 1)).unwrap();
            let (_, counted) =
                store.list_scim_users(account.id, &ScimQuery::page(0, 1).filtered(everyone())).unwrap();
            assert_eq!(kept, counted, "kept count and real count of {}", account.slug);
            kept
        };
        let a = seed_account(store, "counted-a");
        let b = seed_account(store, "counted-b");
        let (base_a, base_b) = (totals(&a), totals(&b));

        let people: Vec<User> = (0..3).map(|i| seed_user(store, &a, &format!("p{i}@a.test"))).collect();
        seed_user(store, &b, "p@b.test");
        let mut bot = user(&a, "bot@a.test");
        bot.kind = UserKind::Bot;
        store.insert_user(&bot).unwrap();
        assert_eq!((totals(&a), totals(&b)), (base_a + 3, base_b + 1));

        // A refused insert (the same email again) changes nothing.
        let mut twin = user(&a, "P0@a.test");
        twin.id = fresh::user();
        assert!(store.insert_user(&twin).is_err());
        assert_eq!(totals(&a), base_a + 3);

        // Deleting a person counts; deleting a bot does not; another account is untouched.
        assert!(store.delete_user(a.id, people[1].id, t(5), None).unwrap());
        assert!(store.delete_user(a.id, bot.id, t(5), None).unwrap());
        assert_eq!((totals(&a), totals(&b)), (base_a + 2, base_b + 1));
        // Deleting in the wrong account deletes nothing and counts nothing.
        assert!(!store.delete_user(b.id, people[0].id, t(5), None).unwrap());
        assert_eq!((totals(&a), totals(&b)), (base_a + 2, base_b + 1));
    }
}

backend_tests! {
    fn scim_changes_and_their_audit_events_are_written_together(store: &Store) {
        let a = seed_account(store, "audited");
        let event = |action: &str| audit_event(&a, action);
        let actions = || -> Vec<String> {
            store.list_audit(a.id, 100, 0).unwrap().into_iter().map(|e| e.action).collect()
        };
        let row = scim_row(&a, "audited@example.com", 10);
        store.insert_scim_user(&row, Some(&event("created"))).unwrap();
        assert_eq!(actions(), ["created"]);

        // A refused change records nothing, and a failing audit insert (an event id that
        // is already taken) undoes the change it came with.
        let mut twin = scim_row(&a, "AUDITED@example.com", 11);
        twin.user.id = fresh::user();
        assert!(store.insert_scim_user(&twin, Some(&event("twin"))).is_err());
        let mut next = row.clone();
        next.user.display_name = "Renamed".into();
        assert!(matches!(
            store.replace_scim_user(&next, &ScimUserRow { version: 7, ..row.clone() }, Some(&event("stale"))),
            Err(StoreError::PreconditionFailed)
        ));
        let mut reused = event("reused id");
        reused.id = store.list_audit(a.id, 1, 0).unwrap()[0].id;
        assert!(store.replace_scim_user(&next, &row, Some(&reused)).is_err());
        assert_eq!(store.scim_user(a.id, row.user.id).unwrap().unwrap(), row);
        let other = seed_account(store, "audited-other");
        assert!(!store.delete_user(other.id, row.user.id, t(50), Some(&event("foreign"))).unwrap());
        assert_eq!(actions(), ["created"]);

        assert_eq!(store.replace_scim_user(&next, &row, Some(&event("updated"))).unwrap(), 2);
        assert!(store.delete_user(a.id, row.user.id, t(50), Some(&event("deleted"))).unwrap());
        let mut all = actions();
        all.sort();
        assert_eq!(all, ["created", "deleted", "updated"]);
        assert_eq!(store.scim_user(a.id, row.user.id).unwrap(), None);
    }
}

backend_tests! {
    fn lookups_answer_exactly_as_the_general_path(store: &Store) {
        use UserField::*;
        let f = fixture(store);
        // Two more members sharing an externalId and a work email, so a lookup has
        // several rows to order and to cut at the limit.
        for (email, created) in [("dan@example.com", 40), ("erin@example.com", 50)] {
            let mut row = scim_row(&f.account, email, created);
            row.user.external_id = Some("shared".into());
            row.scim_json = Some(format!(
                r#"{{"userName": "{email}", "emails": [{{"value": "Team@Example.com", "type": "work"}}]}}"#
            ));
            store.insert_scim_user(&row, None).unwrap();
        }
        let ids = |rows: &[ScimUserRow]| rows.iter().map(|r| r.user.id).collect::<Vec<_>>();
        for filter in [
            cmp(UserName, CompareOp::Eq, "ALICE@example.com"),
            cmp(UserName, CompareOp::Eq, "nobody@example.com"),
            cmp(Id, CompareOp::Eq, &f.bob.user.id.to_string()),
            cmp(Id, CompareOp::Eq, "not-an-id"),
            cmp(ExternalId, CompareOp::Eq, "shared"),
            cmp(ExternalId, CompareOp::Eq, "EXT-1"),
            email(Filter::eq(EmailField::Value, "team@example.com")),
            email(Filter::eq(EmailField::Value, "carol@home.test")),
            email(Filter::eq(EmailField::Type, "work").and(Filter::eq(EmailField::Value, "carol@WORK.test"))),
            email(Filter::eq(EmailField::Value, "carol@HOME.test").and(Filter::eq(EmailField::Type, "WORK"))),
            email(Filter::eq(EmailField::Type, "work").and(Filter::eq(EmailField::Value, "team@example.com"))),
        ] {
            // `and id pr` changes no answer but takes the general (boxed) path.
            let general = filter.clone().and(Filter::Present(Id));
            for limit in [1, 2, 100] {
                let fast = store.list_scim_users(f.account.id, &ScimQuery::page(0, limit).filtered(filter.clone())).unwrap();
                let slow = store.list_scim_users(f.account.id, &ScimQuery::page(0, limit).filtered(general.clone())).unwrap();
                assert_eq!((ids(&fast.0), fast.1), (ids(&slow.0), slow.1), "{filter:?} limit {limit}");
            }
        }
        let (rows, total) = store
            .list_scim_users(f.account.id, &ScimQuery::page(0, 1).filtered(cmp(ExternalId, CompareOp::Eq, "shared")))
            .unwrap();
        assert_eq!((rows.len(), total), (1, 2), "the first of two, and the exact total");
        assert_eq!(rows[0].user.email.as_str(), "dan@example.com", "creation order");
    }
}
