//! SCIM groups and their members.

use portcullis_domain::*;
use portcullis_store::{
    conflict, CompareOp, Filter, FilterValue, GroupField, MemberChange, ScimGroupRow, ScimQuery,
    Store, StoreError,
};

use crate::support::*;

fn group(account: &Account, name: &str, created: i64) -> ScimGroupRow {
    ScimGroupRow {
        id: fresh::group(),
        account: account.id,
        display_name: name.into(),
        external_id: None,
        scim_json: Some("{}".into()),
        version: 1,
        created_at: t(created),
        updated_at: t(created),
    }
}

fn member_ids(store: &Store, g: &ScimGroupRow) -> Vec<UserId> {
    let mut ids: Vec<UserId> = store
        .members_of_group(g.account, g.id)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<UserId>) -> Vec<UserId> {
    ids.sort();
    ids
}

backend_tests! {
    fn groups_with_members(store: &Store) {
        let a = seed_account(store, "acme");
        let alice = seed_user(store, &a, "alice@example.com");
        let bob = seed_user(store, &a, "bob@example.com");
        let mut eng = group(&a, "Engineering", 1);
        eng.external_id = Some("okta-eng".into());
        store.insert_scim_group(&eng, &[alice.id, bob.id, alice.id], None).unwrap();
        assert_eq!(store.scim_group(a.id, eng.id).unwrap(), Some(eng.clone()));
        assert_eq!(member_ids(store, &eng), sorted(vec![alice.id, bob.id]));
        let members = store.members_of_group(a.id, eng.id).unwrap();
        assert!(members.contains(&(alice.id, alice.display_name.clone())), "{members:?}");
        assert_eq!(store.groups_of_user(a.id, alice.id).unwrap(), vec![(eng.id, "Engineering".to_owned())]);

        let err = store.insert_scim_group(&group(&a, "ENGINEERING", 2), &[], None).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::GROUP_NAME), "{err:?}");
        // Names are per account.
        let b = seed_account(store, "other");
        store.insert_scim_group(&group(&b, "Engineering", 2), &[], None).unwrap();
        assert_eq!(store.scim_group(b.id, eng.id).unwrap(), None);
        assert!(store.members_of_group(b.id, eng.id).unwrap().is_empty());

        // Deleting a user ends their memberships.
        assert!(store.delete_user(a.id, bob.id, t(5), None).unwrap());
        assert_eq!(member_ids(store, &eng), vec![alice.id]);

        assert!(!store.delete_scim_group(b.id, eng.id, t(60), None).unwrap());
        assert!(store.delete_scim_group(a.id, eng.id, t(60), None).unwrap());
        assert_eq!(store.scim_group(a.id, eng.id).unwrap(), None);
        assert!(store.groups_of_user(a.id, alice.id).unwrap().is_empty());
    }

    fn a_member_is_read_with_their_groups_at_once(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let alice = seed_user(store, &a, "alice@example.com");
        let bob = seed_user(store, &a, "bob@example.com");
        // Alice is in two groups, ordered by name (case-insensitively), not by creation.
        let ops = group(&a, "operations", 1);
        let eng = group(&a, "Engineering", 2);
        store.insert_scim_group(&ops, &[alice.id], None).unwrap();
        store.insert_scim_group(&eng, &[alice.id], None).unwrap();
        let (row, groups) = store.scim_user_with_groups(a.id, alice.id).unwrap().unwrap();
        assert_eq!(row, store.scim_user(a.id, alice.id).unwrap().unwrap());
        assert_eq!(groups, store.groups_of_user(a.id, alice.id).unwrap());
        assert_eq!(groups, vec![(eng.id, "Engineering".to_owned()), (ops.id, "operations".to_owned())]);
        // Bob is in none.
        let (row, groups) = store.scim_user_with_groups(a.id, bob.id).unwrap().unwrap();
        assert_eq!(row.user.id, bob.id);
        assert!(groups.is_empty());
        // Another account's member, a bot and an unknown id are not found.
        assert!(store.scim_user_with_groups(b.id, alice.id).unwrap().is_none());
        let mut bot = user(&a, "bot@bots.invalid");
        bot.kind = UserKind::Bot;
        store.insert_user(&bot).unwrap();
        assert!(store.scim_user_with_groups(a.id, bot.id).unwrap().is_none());
        assert!(store.scim_user_with_groups(a.id, fresh::user()).unwrap().is_none());
    }

    fn unknown_or_foreign_members_apply_nothing(store: &Store) {
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        let alice = seed_user(store, &a, "alice@example.com");
        let bob = seed_user(store, &a, "bob@example.com");
        let foreign = seed_user(store, &b, "mallory@example.com");
        let mut bot = user(&a, "bot@bots.invalid");
        bot.kind = UserKind::Bot;
        store.insert_user(&bot).unwrap();

        let g = group(&a, "Team", 1);
        let err = store.insert_scim_group(&g, &[alice.id, foreign.id], None).unwrap_err();
        assert!(matches!(err, StoreError::UnknownMember(id) if id == foreign.id), "{err:?}");
        assert_eq!(store.scim_group(a.id, g.id).unwrap(), None);

        store.insert_scim_group(&g, &[alice.id], None).unwrap();
        for stranger in [foreign.id, bot.id, fresh::user()] {
            let err = store
                .patch_group_members(a.id, g.id, &[bob.id, stranger], &[alice.id], Some(1), t(2))
                .unwrap_err();
            assert!(matches!(err, StoreError::UnknownMember(id) if id == stranger), "{err:?}");
            assert_eq!(member_ids(store, &g), vec![alice.id]);
            assert_eq!(store.scim_group(a.id, g.id).unwrap().unwrap().version, 1);
        }
        let mut renamed = g.clone();
        renamed.display_name = "Renamed".into();
        let err = store.replace_scim_group(&renamed, MemberChange::Set(&[foreign.id]), None, None).unwrap_err();
        assert!(matches!(err, StoreError::UnknownMember(_)), "{err:?}");
        assert_eq!(store.scim_group(a.id, g.id).unwrap(), Some(g.clone()));
        assert_eq!(member_ids(store, &g), vec![alice.id]);
    }

    fn member_patches_and_versions(store: &Store) {
        let a = seed_account(store, "acme");
        let alice = seed_user(store, &a, "alice@example.com");
        let bob = seed_user(store, &a, "bob@example.com");
        let carol = seed_user(store, &a, "carol@example.com");
        let g = group(&a, "Team", 1);
        store.insert_scim_group(&g, &[alice.id], None).unwrap();

        assert_eq!(store.patch_group_members(a.id, g.id, &[bob.id, alice.id], &[], Some(1), t(2)).unwrap(), 2);
        assert_eq!(member_ids(store, &g), sorted(vec![alice.id, bob.id]));
        // Removing a non-member (or an unknown id) is not an error.
        assert_eq!(store.patch_group_members(a.id, g.id, &[], &[alice.id, fresh::user()], None, t(3)).unwrap(), 3);
        assert_eq!(member_ids(store, &g), vec![bob.id]);
        let stored = store.scim_group(a.id, g.id).unwrap().unwrap();
        assert_eq!((stored.version, stored.updated_at), (3, t(3)));
        assert!(matches!(
            store.patch_group_members(a.id, g.id, &[carol.id], &[], Some(2), t(4)),
            Err(StoreError::PreconditionFailed)
        ));
        assert!(matches!(
            store.patch_group_members(a.id, fresh::group(), &[carol.id], &[], None, t(4)),
            Err(StoreError::NotFound)
        ));

        let mut next = stored.clone();
        next.display_name = "Platform".into();
        next.external_id = Some("x-1".into());
        next.updated_at = t(5);
        assert_eq!(store.replace_scim_group(&next, MemberChange::Set(&[carol.id, alice.id]), Some(3), None).unwrap(), 4);
        assert_eq!(store.scim_group(a.id, g.id).unwrap(), Some(ScimGroupRow { version: 4, ..next.clone() }));
        assert_eq!(member_ids(store, &g), sorted(vec![alice.id, carol.id]));
        assert_eq!(store.replace_scim_group(&next, MemberChange::Keep, None, None).unwrap(), 5);
        assert_eq!(member_ids(store, &g), sorted(vec![alice.id, carol.id]));
        assert_eq!(
            store.replace_scim_group(&next, MemberChange::Edit { add: &[bob.id], remove: &[carol.id] }, Some(5), None).unwrap(),
            6
        );
        assert_eq!(member_ids(store, &g), sorted(vec![alice.id, bob.id]));
        assert!(matches!(store.replace_scim_group(&next, MemberChange::Keep, Some(5), None), Err(StoreError::PreconditionFailed)));

        let taken = group(&a, "taken", 9);
        store.insert_scim_group(&taken, &[], None).unwrap();
        let mut clash = next.clone();
        clash.display_name = "TAKEN".into();
        let err = store.replace_scim_group(&clash, MemberChange::Keep, None, None).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what } if what == conflict::GROUP_NAME), "{err:?}");

        let by_group = store.members_of_groups(a.id, &[g.id, taken.id]).unwrap();
        assert_eq!(by_group.len(), 1);
        let by_user = store.groups_of_users(a.id, &[alice.id, carol.id]).unwrap();
        assert_eq!(by_user.get(&alice.id).map(Vec::len), Some(1));
        assert_eq!(by_user.get(&carol.id), None);
        // Asked about one member, the answer has the same shape.
        let alone = store.groups_of_users(a.id, &[alice.id]).unwrap();
        assert_eq!(alone.get(&alice.id), by_user.get(&alice.id));
        assert_eq!(alone.len(), 1);
        assert!(store.groups_of_users(a.id, &[carol.id]).unwrap().is_empty());
    }

    // The groups of many members in one statement, however many they are (more than the
    // 500 ids one `IN (...)` list used to take): each member's groups by display name,
    // none for a member in none, and only the account's own, whoever is asked about.
    fn groups_of_many_members_at_once(store: &Store) {
        let a = seed_account(store, "acme");
        let members: Vec<UserId> =
            (0..601).map(|i| seed_user(store, &a, &format!("m{i}@acme.test")).id).collect();
        let beta = group(&a, "beta", 1);
        let evens: Vec<UserId> = members.iter().step_by(2).copied().collect();
        store.insert_scim_group(&beta, &evens, None).unwrap();
        let alpha = group(&a, "Alpha", 2);
        store.insert_scim_group(&alpha, &[members[0], members[1], members[600]], None).unwrap();
        let other = seed_account(store, "other");
        let stranger = seed_user(store, &other, "s@other.test");
        let theirs = group(&other, "Aardvark", 3);
        store.insert_scim_group(&theirs, &[stranger.id], None).unwrap();

        let mut asked = members.clone();
        asked.push(stranger.id);
        asked.push(fresh::user());
        let found = store.groups_of_users(a.id, &asked).unwrap();
        let name = |g: &ScimGroupRow| (g.id, g.display_name.clone());
        for (i, id) in members.iter().enumerate() {
            let mut expected = Vec::new();
            if [0, 1, 600].contains(&i) {
                expected.push(name(&alpha));
            }
            if i % 2 == 0 {
                expected.push(name(&beta));
            }
            assert_eq!(found.get(id).cloned().unwrap_or_default(), expected, "member {i}");
        }
        assert_eq!(found.len(), 301 + 1, "{found:?}");
        assert_eq!(store.groups_of_users(other.id, &asked).unwrap().get(&stranger.id), Some(&vec![name(&theirs)]));
        assert!(store.groups_of_users(a.id, &[]).unwrap().is_empty());
    }

    fn group_filters_and_paging(store: &Store) {
        use CompareOp::*;
        let a = seed_account(store, "acme");
        let b = seed_account(store, "other");
        store.insert_scim_group(&group(&b, "Admins", 0), &[], None).unwrap();
        let mut made = Vec::new();
        for (i, name) in ["Admins", "Sales", "Sales EMEA", "Support_1", "Ops"].iter().enumerate() {
            let mut g = group(&a, name, i as i64);
            g.external_id = (i % 2 == 0).then(|| format!("EXT-{i}"));
            store.insert_scim_group(&g, &[], None).unwrap();
            made.push(g);
        }
        let names = |filter: Option<portcullis_store::GroupFilter>| {
            let q = ScimQuery { filter, ..ScimQuery::page(0, 100) };
            let (rows, total) = store.list_scim_groups(a.id, &q).unwrap();
            assert_eq!(total, rows.len() as i64);
            rows.into_iter().map(|g| g.display_name).collect::<Vec<_>>().join(",")
        };
        let cmp = |field, op, v: &str| Filter::Compare(field, op, FilterValue::Str(v.into()));
        assert_eq!(names(None), "Admins,Sales,Sales EMEA,Support_1,Ops");
        assert_eq!(names(Some(Filter::eq(GroupField::DisplayName, "sales"))), "Sales");
        assert_eq!(names(Some(cmp(GroupField::DisplayName, Sw, "SALES"))), "Sales,Sales EMEA");
        assert_eq!(names(Some(cmp(GroupField::DisplayName, Co, "t_"))), "Support_1");
        assert_eq!(names(Some(Filter::eq(GroupField::ExternalId, "EXT-2"))), "Sales EMEA");
        assert_eq!(names(Some(Filter::eq(GroupField::ExternalId, "ext-2"))), "");
        assert_eq!(names(Some(Filter::Present(GroupField::ExternalId))), "Admins,Sales EMEA,Ops");
        assert_eq!(names(Some(cmp(GroupField::ExternalId, Ne, "EXT-0"))), "Sales,Sales EMEA,Support_1,Ops");
        assert_eq!(names(Some(Filter::eq(GroupField::Id, made[3].id.to_string()))), "Support_1");
        assert_eq!(
            names(Some(Filter::Compare(GroupField::Created, Ge, FilterValue::Time(t(1))))),
            "Sales,Sales EMEA,Support_1,Ops"
        );
        assert!(matches!(
            store.list_scim_groups(a.id, &ScimQuery::page(0, 1).filtered(Filter::Compare(GroupField::DisplayName, Eq, FilterValue::Bool(true)))),
            Err(StoreError::InvalidFilter(_))
        ));

        let sorted_names = |field, ascending| {
            let q = ScimQuery { sort: Some((field, ascending)), ..ScimQuery::page(1, 3) };
            let (rows, total) = store.list_scim_groups(a.id, &q).unwrap();
            assert_eq!(total, 5);
            rows.into_iter().map(|g| g.display_name).collect::<Vec<_>>().join(",")
        };
        assert_eq!(sorted_names(GroupField::DisplayName, true), "Ops,Sales,Sales EMEA");
        assert_eq!(sorted_names(GroupField::DisplayName, false), "Sales EMEA,Sales,Ops");
        assert_eq!(sorted_names(GroupField::ExternalId, true), "Sales EMEA,Ops,Sales");
    }
}

backend_tests! {
    fn group_changes_and_their_audit_events_are_written_together(store: &Store) {
        let a = seed_account(store, "audited-groups");
        let event = |action: &str| audit_event(&a, action);
        let actions = || -> Vec<String> {
            let mut all: Vec<String> =
                store.list_audit(a.id, 100, 0).unwrap().into_iter().map(|e| e.action).collect();
            all.sort();
            all
        };
        let alice = seed_user(store, &a, "alice@example.com");
        let g = group(&a, "Engineering", 10);
        // An unknown member refuses the create and records nothing.
        let stranger = fresh::user();
        assert!(store.insert_scim_group(&g, &[stranger], Some(&event("refused"))).is_err());
        assert!(actions().is_empty());
        store.insert_scim_group(&g, &[alice.id], Some(&event("created"))).unwrap();

        let mut renamed = g.clone();
        renamed.display_name = "Platform".into();
        assert!(matches!(
            store.replace_scim_group(&renamed, MemberChange::Set(&[]), Some(9), Some(&event("stale"))),
            Err(StoreError::PreconditionFailed)
        ));
        // A failing audit insert (a taken event id) undoes the change it came with.
        let mut reused = event("reused id");
        reused.id = store.list_audit(a.id, 1, 0).unwrap()[0].id;
        assert!(store.replace_scim_group(&renamed, MemberChange::Set(&[]), Some(1), Some(&reused)).is_err());
        assert_eq!(store.scim_group(a.id, g.id).unwrap().unwrap().display_name, "Engineering");
        assert_eq!(member_ids(store, &g), vec![alice.id]);
        assert_eq!(actions(), ["created"]);

        assert_eq!(
            store.replace_scim_group(&renamed, MemberChange::Set(&[]), Some(1), Some(&event("updated"))).unwrap(),
            2
        );
        let other = seed_account(store, "audited-groups-other");
        assert!(!store.delete_scim_group(other.id, g.id, t(60), Some(&event("foreign"))).unwrap());
        assert!(store.delete_scim_group(a.id, g.id, t(60), Some(&event("deleted"))).unwrap());
        assert_eq!(actions(), ["created", "deleted", "updated"]);
    }
}
