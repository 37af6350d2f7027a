//! Role rules: a SCIM group named by a rule makes its members admins at once and its
//! removal demotes them; claim rules decide at each SSO sign-in; the last admin is kept
//! (and the refusal audited); every change names its rule; rules are the account's own.

use actix_web::http::{Method, StatusCode};
use chrono::Utc;
use portcullis_app::role_rules::{self, NewRule};
use portcullis_app::Caller;
use portcullis_domain::{Email, ProvisioningMode, Role, RoleSource, UserId};
use serde_json::{json, Value};

use crate::app;
use crate::domains::{api, status};
use crate::scim_support::{envs, req, send, ScimEnv};
use crate::sso_support::*;

fn role_of(env: &ScimEnv, id: &str) -> Role {
    let id: UserId = id.parse().unwrap();
    env.state
        .store
        .user(env.account.id, id)
        .unwrap()
        .unwrap()
        .role
}

/// The audit events with `action` about `target`, newest first.
fn audits(env: &ScimEnv, action: &str, target: &str) -> Vec<Value> {
    env.state
        .store
        .list_audit(env.account.id, 500, 0)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action && e.target.as_deref() == Some(target))
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

#[actix_web::test]
async fn scim_groups_named_by_a_rule_promote_and_demote_at_once() {
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        let rule = |body: Value| api(Method::POST, "/api/v1/role-rules", t, Some(body));

        let r = send(
            &app,
            rule(json!({"source": "scim_group", "value": "Portcullis Admins", "role": "admin"}))
                .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let rule_id = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(r.body["source"], "scim_group");
        assert_eq!(r.body["role"], "admin");
        for (bad, expected) in [
            (
                json!({"source": "scim_group", "value": "portcullis admins", "role": "member"}),
                StatusCode::CREATED,
            ),
            (
                json!({"source": "scim_group", "value": "Portcullis Admins", "role": "member"}),
                StatusCode::CONFLICT,
            ),
            (
                json!({"source": "scim_group", "claim": "groups", "value": "X", "role": "admin"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"source": "sso_claim", "value": " ", "role": "admin"}),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({"source": "ldap", "value": "X", "role": "admin"}),
                StatusCode::BAD_REQUEST,
            ),
        ] {
            let r = send(&app, rule(bad.clone()).to_request()).await;
            assert_eq!(r.status, expected, "{bad}: {}", r.text);
            if r.status == StatusCode::CREATED {
                // Same name in another letter case: a rule of its own, removed again.
                let id = r.body["id"].as_str().unwrap();
                let path = format!("/api/v1/role-rules/{id}");
                let r = send(&app, api(Method::DELETE, &path, t, None).to_request()).await;
                status(&r, StatusCode::NO_CONTENT);
            }
        }
        // Another account neither sees nor removes the rule.
        let other = env.other_token.as_str();
        let r = send(
            &app,
            api(Method::GET, "/api/v1/role-rules", other, None).to_request(),
        )
        .await;
        assert_eq!(r.body["rules"], json!([]));
        let path = format!("/api/v1/role-rules/{rule_id}");
        let r = send(&app, api(Method::DELETE, &path, other, None).to_request()).await;
        status(&r, StatusCode::NOT_FOUND);
        let r = send(
            &app,
            api(Method::GET, "/api/v1/role-rules", t, None).to_request(),
        )
        .await;
        assert_eq!(r.body["rules"].as_array().unwrap().len(), 1, "{}", r.text);

        // Bob, provisioned over SCIM, is a member.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": "bob@acme.test", "active": true}),
                ),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let bob = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(role_of(&env, &bob), Role::Member);

        // A group no rule names changes nothing.
        let group = |name: &str, members: &[&str]| {
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": name,
                   "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>()})
        };
        let r = send(
            &app,
            req(Method::POST, "/Groups", t, Some(group("Staff", &[&bob]))).to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        assert_eq!(role_of(&env, &bob), Role::Member);

        // The rule's group (ASCII letter case aside) makes Bob an admin at once.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(group("portcullis ADMINS", &[&bob])),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let admins = r.body["id"].as_str().unwrap().to_owned();
        assert_eq!(role_of(&env, &bob), Role::Admin);
        let changed = &audits(&env, "member.role.changed", &bob)[0];
        assert_eq!(changed["to"], "admin");
        assert_eq!(changed["rule"]["id"], rule_id.as_str());
        assert_eq!(changed["cause"]["scim_group"], admins.as_str());

        // Removed from it: a member again, citing the rule.
        let members_op = |op: &str, value: Value| {
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                   "Operations": [{"op": op, "path": "members", "value": value}]})
        };
        let gpath = format!("/Groups/{admins}");
        let r = send(
            &app,
            req(
                Method::PATCH,
                &gpath,
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "remove",
                                            "path": format!("members[value eq \"{bob}\"]")}]}),
                ),
            )
            .to_request(),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.text);
        assert_eq!(role_of(&env, &bob), Role::Member);
        let demoted = &audits(&env, "member.role.changed", &bob)[0];
        assert_eq!(
            (demoted["from"].clone(), demoted["to"].clone()),
            (json!("admin"), json!("member"))
        );
        assert_eq!(demoted["rule"]["id"], rule_id.as_str());

        // Added back, then the group renamed away from the rule, then deleted.
        let r = send(
            &app,
            req(
                Method::PATCH,
                &gpath,
                t,
                Some(members_op("add", json!([{"value": bob}]))),
            )
            .to_request(),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.text);
        assert_eq!(role_of(&env, &bob), Role::Admin);
        let r = send(
            &app,
            req(
                Method::PUT,
                &gpath,
                t,
                Some(group("Former Admins", &[&bob])),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::OK);
        assert_eq!(
            role_of(&env, &bob),
            Role::Member,
            "renamed away from the rule"
        );
        let r = send(
            &app,
            req(
                Method::PUT,
                &gpath,
                t,
                Some(group("Portcullis Admins", &[&bob])),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::OK);
        assert_eq!(
            role_of(&env, &bob),
            Role::Admin,
            "renamed to the rule's group"
        );
        let r = send(&app, req(Method::DELETE, &gpath, t, None).to_request()).await;
        status(&r, StatusCode::NO_CONTENT);
        assert_eq!(role_of(&env, &bob), Role::Member, "the group is gone");

        // The last admin is kept: Ada, alone in the group, leaves it and stays admin.
        let ada = env.admin.id.to_string();
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(group("Portcullis Admins", &[&ada])),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let gpath = format!("/Groups/{}", r.body["id"].as_str().unwrap());
        let r = send(
            &app,
            req(
                Method::PATCH,
                &gpath,
                t,
                Some(members_op("replace", json!([]))),
            )
            .to_request(),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.text);
        assert_eq!(role_of(&env, &ada), Role::Admin);
        let kept = &audits(&env, "member.role.kept", &ada)[0];
        assert_eq!(kept["reason"], "last_admin");
        assert_eq!(kept["rule"]["id"], rule_id.as_str());

        // Once the rule is gone, group changes leave roles alone.
        let r = send(&app, api(Method::DELETE, &path, t, None).to_request()).await;
        status(&r, StatusCode::NO_CONTENT);
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(group("Portcullis Admins 2", &[&bob])),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let r = send(
            &app,
            req(
                Method::PATCH,
                &gpath,
                t,
                Some(members_op("add", json!([{"value": bob}]))),
            )
            .to_request(),
        )
        .await;
        assert!(r.status.is_success(), "{}", r.text);
        assert_eq!(role_of(&env, &bob), Role::Member);
    }
}

/// A complete IdP-initiated SAML sign-in for `email` carrying `groups`.
async fn sign_in(
    live: &Live,
    idp: &portcullis_domain::IdentityProvider,
    email: &str,
    groups: &[&str],
) -> (Browser, Answer) {
    let browser = Browser::new();
    let mut response = saml_response(live, idp, None, email);
    for g in groups {
        response.attributes.push(("groups".into(), (*g).into()));
    }
    let answer = browser
        .post_form(&live.acs(idp), &[("SAMLResponse", response.b64().as_str())])
        .await;
    (browser, answer)
}

fn role_by_email(live: &Live, email: &str) -> Option<Role> {
    live.state
        .store
        .user_by_email(live.admin.account.id, &Email::parse(email).unwrap())
        .unwrap()
        .map(|u| u.role)
}

#[actix_web::test]
async fn sso_claims_decide_the_role_at_each_sign_in() {
    for live in Live::on_both().await {
        let idp = live.saml_idp(saml_fixture::idp_key(), true);
        live.set_provisioning(ProvisioningMode::JustInTime);
        let operator = Caller::operator(live.account());
        let rule = role_rules::create(
            &live.state.store,
            &operator,
            NewRule {
                source: RoleSource::SsoClaim,
                claim: None,
                value: "Portcullis Admins".into(),
                role: Role::Admin,
            },
            Utc::now(),
        )
        .unwrap();

        // Created just in time with the claim: an admin from the first sign-in.
        let (browser, answer) =
            sign_in(&live, &idp, "jo@acme.test", &["Staff", "Portcullis Admins"]).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(
            browser.me(&live.base).await.as_deref(),
            Some("jo@acme.test")
        );
        assert_eq!(role_by_email(&live, "jo@acme.test"), Some(Role::Admin));
        let changed = live.last_audit("member.role.changed").unwrap();
        assert_eq!(changed["rule"]["id"], rule.id.to_string());
        assert_eq!(changed["cause"]["sso"], idp.id.to_string());

        // Without it (letter case counts in claim values): a member again.
        let (_, answer) = sign_in(&live, &idp, "jo@acme.test", &["portcullis admins"]).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(role_by_email(&live, "jo@acme.test"), Some(Role::Member));

        // The only admin signing in without the claim stays admin, and it is audited.
        let ada = live.admin.admin.email.to_string();
        let (_, answer) = sign_in(&live, &idp, &ada, &[]).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(role_by_email(&live, &ada), Some(Role::Admin));
        let kept = live.last_audit("member.role.kept").unwrap();
        assert_eq!(kept["reason"], "last_admin");

        // A rule reading a named attribute reads only that one.
        role_rules::delete(&live.state.store, &operator, rule.id, Utc::now()).unwrap();
        role_rules::create(
            &live.state.store,
            &operator,
            NewRule {
                source: RoleSource::SsoClaim,
                claim: Some("department".into()),
                value: "IT".into(),
                role: Role::Admin,
            },
            Utc::now(),
        )
        .unwrap();
        let (_, answer) = sign_in(&live, &idp, "jo@acme.test", &["IT"]).await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(role_by_email(&live, "jo@acme.test"), Some(Role::Member));
        let browser = Browser::new();
        let mut response = saml_response(&live, &idp, None, "jo@acme.test");
        response.attributes.push(("department".into(), "IT".into()));
        let answer = browser
            .post_form(
                &live.acs(&idp),
                &[("SAMLResponse", response.b64().as_str())],
            )
            .await;
        assert_eq!(answer.status, 303, "{answer:?}");
        assert_eq!(role_by_email(&live, "jo@acme.test"), Some(Role::Admin));
    }
}
