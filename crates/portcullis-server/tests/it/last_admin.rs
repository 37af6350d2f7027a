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
