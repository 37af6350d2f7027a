//! The audit log's queries: filters by actor, action (or family) and time, the
//! once-only check of warnings, and the retention purge; accounts apart.

use chrono::Duration;
use portcullis_domain::*;
use portcullis_store::{AuditFilter, Store};

use crate::support::*;

fn event(
    account: &Account,
    actor: Actor,
    action: &str,
    target: Option<&str>,
    at: i64,
) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::from_uuid(uuid::Uuid::new_v4()),
        account: account.id,
        actor,
        action: action.into(),
        target: target.map(str::to_owned),
        ip: None,
        detail: "{}".into(),
        at: t(at),
    }
}

backend_tests! {
    fn filters_warnings_and_retention(store: &Store) {
        let (a, b) = (seed_account(store, "acme"), seed_account(store, "rival"));
        let kim = seed_user(store, &a, "kim@acme.com");
        let events = [
            event(&a, Actor::User(kim.id), "member.deleted", Some("x"), 10),
            event(&a, Actor::System, "member_x.deleted", None, 20),
            event(&a, Actor::System, "idp.certificate_expiring", Some("idp-1"), 30),
            event(&b, Actor::System, "member.deleted", None, 40),
        ];
        for e in &events {
            store.record_audit(e).unwrap();
        }
        let ids = |filter: AuditFilter| -> Vec<AuditEventId> {
            store.search_audit(a.id, &filter, 100, 0).unwrap().iter().map(|e| e.id).collect()
        };
        // A family by its prefix; `_` is no wildcard.
        assert_eq!(ids(AuditFilter { action_prefix: Some("member.".into()), ..Default::default() }), vec![events[0].id]);
        assert_eq!(ids(AuditFilter { action_prefix: Some("member.deleted".into()), ..Default::default() }), vec![events[0].id]);
        assert_eq!(
            ids(AuditFilter { actor: Some(("user".into(), Some(kim.id.to_string()))), ..Default::default() }),
            vec![events[0].id]
        );
        assert_eq!(
            ids(AuditFilter { actor: Some(("system".into(), None)), ..Default::default() }),
            vec![events[2].id, events[1].id]
        );
        assert_eq!(
            ids(AuditFilter { since: Some(t(15)), until: Some(t(30)), ..Default::default() }),
            vec![events[1].id]
        );
        assert!(store.has_audit(a.id, "idp.certificate_expiring", "idp-1", t(30)).unwrap());
        assert!(!store.has_audit(a.id, "idp.certificate_expiring", "idp-1", t(31)).unwrap());
        assert!(!store.has_audit(b.id, "idp.certificate_expiring", "idp-1", t(0)).unwrap());
        assert_eq!(store.purge_audit(t(0) + Duration::seconds(25)).unwrap(), 2);
        assert_eq!(ids(AuditFilter::default()), vec![events[2].id]);
    }
}
