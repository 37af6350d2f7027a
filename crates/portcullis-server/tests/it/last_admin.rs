//! One last-admin rule on every path (`portcullis_app::members::keep_an_admin`): no
//! change may leave an account without an active human admin.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::app;
use crate::scim_support::{envs, req, send};

#[actix_web::test]
async fn scim_cannot_deactivate_or_delete_the_last_admin() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let admin = format!("/Users/{}", env.admin.id);
        let deactivate = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}]
        });
        let r = send(
            &app,
            req(Method::PATCH, &admin, t, Some(deactivate.clone())).to_request(),
        )
        .await;
        r.assert_error(409, None);
        assert!(
            r.body["detail"]
                .as_str()
                .unwrap()
                .contains("last active admin"),
            "{}",
            r.text
        );
        let put = json!({"userName": env.admin.email.as_str(), "active": false});
        let r = send(&app, req(Method::PUT, &admin, t, Some(put)).to_request()).await;
        r.assert_error(409, None);
        let r = send(&app, req(Method::DELETE, &admin, t, None).to_request()).await;
        r.assert_error(409, None);
        // Nothing changed: the admin is still there and active.
        let r = send(&app, req(Method::GET, &admin, t, None).to_request()).await;
        assert_eq!(r.body["active"], true, "{}", r.text);
        let stored = env
            .state
            .store
            .user(env.account.id, env.admin.id)
            .unwrap()
            .unwrap();
        assert!(stored.active);

        // With a second active admin, the first may go: the rule is about the last one.
        let mut second = env.admin.clone();
        second.id = portcullis_domain::UserId::from_uuid(uuid::Uuid::new_v4());
        second.email = portcullis_domain::Email::parse("second-admin@acme.test").unwrap();
        env.state.store.insert_user(&second).unwrap();
        let r = send(
            &app,
            req(Method::PATCH, &admin, t, Some(deactivate)).to_request(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["active"], false);
        // The second is now the last: deleting them is refused.
        let r = send(
            &app,
            req(Method::DELETE, &format!("/Users/{}", second.id), t, None).to_request(),
        )
        .await;
        r.assert_error(409, None);
    }
}

/// Two admins demoted at the same moment, each in its own transaction on its own
/// connection: the account holds one of them, whichever order the database picks (on
/// PostgreSQL the account's row is locked by the first; on SQLite the write lock is).
#[test]
fn concurrent_demotions_of_the_last_two_admins_leave_one() {
    use std::sync::{Arc, Barrier};

    use chrono::Utc;
    use portcullis_app::members::{self, MemberChange};
    use portcullis_app::{AppError, Caller};
    use portcullis_domain::{Email, Role, UserId};

    let mut stores = vec![crate::scim_support::sqlite_env_with_rate("0")];
    stores.extend(crate::scim_support::postgres_env());
    for env in stores {
        let store = env.state.store.clone();
        for round in 0..20 {
            let now = Utc::now();
            let created = portcullis_app::accounts::create(
                &store,
                &format!("race-{round}"),
                "Race",
                &format!("first@race{round}.test"),
                now,
            )
            .unwrap();
            let mut second = created.admin.clone();
            second.id = UserId::from_uuid(uuid::Uuid::new_v4());
            second.email = Email::parse(&format!("second@race{round}.test")).unwrap();
            store.insert_user(&second).unwrap();
            let operator = Caller::operator(created.account.clone());
            let barrier = Arc::new(Barrier::new(2));
            let demote = |id: UserId| {
                let (store, operator, barrier) = (store.clone(), operator.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let change = MemberChange {
                        role: Some(Role::Member),
                        active: None,
                    };
                    members::update(&store, &operator, id, change, Utc::now())
                })
            };
            let (a, b) = (demote(created.admin.id), demote(second.id));
            let results = [a.join().unwrap(), b.join().unwrap()];
            let passed = results.iter().filter(|r| r.is_ok()).count();
            let refused = results
                .iter()
                .filter(|r| matches!(r, Err(AppError::Conflict(_))))
                .count();
            assert_eq!((passed, refused), (1, 1), "round {round}: {results:?}");
            assert_eq!(
                store.active_admins(created.account.id, 10).unwrap().len(),
                1
            );
        }
    }
}
