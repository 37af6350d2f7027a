//! Webhooks: deliveries signed the Standard Webhooks way (verified here exactly as
//! `docs/webhooks.md` says), retried after a receiver error, emitted only by changes that
//! commit, refused for private and link-local receivers, and delivered once each when
//! two replicas share a PostgreSQL database.

use actix_web::http::{Method, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use portcullis_server::webhook_sender::deliver_due;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::app;
use crate::domains::{api, status};
use crate::scim_support::{envs, envs_with, req, send, ScimEnv};
use crate::webhook_support::{Received, Receiver};

/// Verifies a delivery as `docs/webhooks.md` tells receivers to: HMAC-SHA256 keyed with
/// the base64-decoded part of the secret after `whsec_`, over `{id}.{timestamp}.{body}`,
/// base64, compared with each `v1,` signature of the header.
fn verify(secret: &str, got: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.id, got.timestamp, got.body).as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    got.signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

fn allow_private() -> Vec<ScimEnv> {
    envs_with(&[("PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES", "true".into())])
}

async fn deliver(env: &ScimEnv, at: chrono::DateTime<Utc>) -> usize {
    deliver_due(&env.state, &env.state.webhooks, at)
        .await
        .unwrap()
}

#[actix_web::test]
async fn deliveries_are_signed_retried_and_logged() {
    for env in allow_private() {
        let receiver = Receiver::start().await;
        let app = app!(env);
        let t = env.token.as_str();
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/webhooks",
                t,
                Some(
                    json!({"url": receiver.url, "events": ["member.created", "member.deactivated"],
                            "description": "provisioning"}),
                ),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let secret = r.body["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
        let hook = r.body["id"].as_str().unwrap().to_owned();
        let r = send(
            &app,
            api(Method::GET, &format!("/api/v1/webhooks/{hook}"), t, None).to_request(),
        )
        .await;
        assert!(r.body.get("secret").is_none(), "shown once: {}", r.text);

        // A member created over SCIM: the receiver fails once, then takes it.
        receiver.answer(&[500]);
        let r = send(
            &app,
            req(
                Method::POST,
                "/Users",
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": "bob@acme.test"}),
                ),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let bob = r.body["id"].as_str().unwrap().to_owned();
        // A group is not subscribed to.
        let r = send(
            &app,
            req(
                Method::POST,
                "/Groups",
                t,
                Some(
                    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                            "displayName": "Staff"}),
                ),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let now = Utc::now();
        assert_eq!(deliver(&env, now).await, 1);
        assert_eq!(receiver.received().len(), 1);
        let log_path = format!("/api/v1/webhooks/{hook}/deliveries");
        let log = send(&app, api(Method::GET, &log_path, t, None).to_request()).await;
        let entry = &log.body["deliveries"][0];
        assert_eq!(entry["event"], "member.created");
        assert_eq!(entry["status"], "pending");
        assert_eq!(entry["response_status"], 500);
        let last: chrono::DateTime<Utc> =
            entry["last_attempt_at"].as_str().unwrap().parse().unwrap();
        let next: chrono::DateTime<Utc> = entry["next_retry_at"].as_str().unwrap().parse().unwrap();
        assert!(
            next - last <= Duration::seconds(30),
            "first retry within 30 s"
        );
        assert_eq!(deliver(&env, now).await, 0, "not due yet");
        assert_eq!(deliver(&env, now + Duration::seconds(31)).await, 1);
        let got = receiver.received();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, got[1].id, "the same message again");
        assert!(verify(&secret, &got[1]));
        let mut forged = got[1].clone();
        forged.body = forged.body.replace("bob@", "eve@");
        assert!(!verify(&secret, &forged));
        let body: Value = serde_json::from_str(&got[1].body).unwrap();
        assert_eq!(body["type"], "member.created");
        assert!(body["timestamp"].as_str().is_some());
        let member = send(
            &app,
            api(Method::GET, &format!("/api/v1/members/{bob}"), t, None).to_request(),
        )
        .await;
        assert_eq!(
            body["data"], member.body,
            "the member as the admin API shows it"
        );
        let log = send(&app, api(Method::GET, &log_path, t, None).to_request()).await;
        assert_eq!(log.body["deliveries"][0]["status"], "delivered");
        assert_eq!(log.body["deliveries"][0]["attempts"], 2);
        let tries = log.body["deliveries"][0]["attempt_log"].as_array().unwrap();
        assert_eq!(
            tries
                .iter()
                .map(|a| a["response_status"].clone())
                .collect::<Vec<_>>(),
            vec![json!(500), json!(200)],
            "every attempt with its time and answer"
        );

        // A receiver that keeps failing: retried for a day, then failed; sent again on
        // request.
        receiver.answer(&[503; 40]);
        let r = send(
            &app,
            api(
                Method::POST,
                &format!("/api/v1/webhooks/{hook}/test"),
                t,
                None,
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::ACCEPTED);
        let ping = r.body["id"].as_str().unwrap().to_owned();
        let hook_id: portcullis_domain::WebhookId = hook.parse().unwrap();
        let mut at = Utc::now();
        let mut rounds = 0;
        loop {
            assert_eq!(deliver(&env, at).await, 1);
            rounds += 1;
            let pending = env
                .state
                .store
                .deliveries(env.account.id, hook_id, 1)
                .unwrap();
            if pending[0].status != portcullis_domain::DeliveryStatus::Pending {
                break;
            }
            at = pending[0].next_attempt_at;
        }
        assert!(
            at - Utc::now() > Duration::hours(12),
            "retried for most of a day"
        );
        assert!(rounds >= 5, "{rounds} attempts");
        let log = send(&app, api(Method::GET, &log_path, t, None).to_request()).await;
        let entry = &log.body["deliveries"][0];
        assert_eq!(
            (entry["id"].as_str(), entry["status"].as_str()),
            (Some(ping.as_str()), Some("failed"))
        );
        assert_eq!(entry["event"], "ping");
        receiver.clear_answers();
        let resend = format!("/api/v1/webhooks/{hook}/deliveries/{ping}/resend");
        let r = send(
            &app,
            api(Method::POST, &resend, env.other_token.as_str(), None).to_request(),
        )
        .await;
        status(&r, StatusCode::NOT_FOUND);
        let r = send(&app, api(Method::POST, &resend, t, None).to_request()).await;
        status(&r, StatusCode::ACCEPTED);
        assert_eq!(deliver(&env, Utc::now()).await, 1);
        let log = send(&app, api(Method::GET, &log_path, t, None).to_request()).await;
        assert_eq!(log.body["deliveries"][0]["status"], "delivered");
        let pinged: Value =
            serde_json::from_str(&receiver.received().last().unwrap().body).unwrap();
        assert_eq!(pinged["data"]["webhook_id"], hook.as_str());

        // Another account sees none of it.
        let other = env.other_token.as_str();
        for path in [format!("/api/v1/webhooks/{hook}"), log_path.clone()] {
            let r = send(&app, api(Method::GET, &path, other, None).to_request()).await;
            status(&r, StatusCode::NOT_FOUND);
        }
        let r = send(
            &app,
            api(Method::GET, "/api/v1/webhooks", other, None).to_request(),
        )
        .await;
        assert_eq!(r.body["webhooks"], json!([]));
    }
}

/// A change that rolls back emits nothing: the deliveries are written in its transaction.
/// A SCIM PUT or PATCH emits the member as written, without reading them again: its
/// data is what the admin API shows after the change, for an update, a deactivation and
/// a reactivation alike.
#[actix_web::test]
async fn a_scim_change_emits_the_member_as_stored() {
    for env in allow_private() {
        let receiver = Receiver::start().await;
        let app = app!(env);
        let t = env.token.as_str();
        let events = ["member.updated", "member.deactivated", "member.reactivated"];
        let r = send(
            &app,
            api(
                Method::POST,
                "/api/v1/webhooks",
                t,
                Some(json!({"url": receiver.url, "events": events})),
            )
            .to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let body = json!({"userName": "carol@acme.test", "displayName": "Carol"});
        let r = send(
            &app,
            req(Method::POST, "/Users", t, Some(body)).to_request(),
        )
        .await;
        status(&r, StatusCode::CREATED);
        let carol = r.body["id"].as_str().unwrap().to_owned();
        let path = format!("/Users/{carol}");
        let changes = [
            (
                Method::PATCH,
                json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Carol B"}]}),
            ),
            (
                Method::PATCH,
                json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
            (
                Method::PUT,
                json!({"userName": "carol@acme.test", "displayName": "Carol C", "active": true}),
            ),
        ];
        for ((method, change), kind) in changes.into_iter().zip(events) {
            let r = send(&app, req(method, &path, t, Some(change)).to_request()).await;
            status(&r, StatusCode::OK);
            assert_eq!(deliver(&env, Utc::now()).await, 1, "{kind}");
            let got = receiver.received();
            let event: Value = serde_json::from_str(&got.last().unwrap().body).unwrap();
            assert_eq!(event["type"], kind);
            let member = send(
                &app,
                api(Method::GET, &format!("/api/v1/members/{carol}"), t, None).to_request(),
            )
            .await;
            assert_eq!(
                event["data"], member.body,
                "{kind}: the member as the admin API shows it"
            );
        }
    }
}

#[actix_web::test]
async fn a_rolled_back_change_emits_nothing() {
    for env in allow_private() {
        let receiver = Receiver::start().await;
        let store = &env.state.store;
        let operator = portcullis_app::Caller::operator(env.account.clone());
        let new = portcullis_app::webhooks::NewWebhook {
            url: receiver.url.clone(),
            events: vec!["*".into()],
            description: String::new(),
        };
        let hook = portcullis_app::webhooks::create(
            &env.state,
            &env.state.webhook_guard(),
            &operator,
            new,
            Utc::now(),
        )
        .await
        .unwrap();
        let data = json!({"id": "x"});
        let failed: Result<(), portcullis_app::AppError> = store.transaction(|store| {
            portcullis_app::webhooks::emit(
                store,
                env.account.id,
                "member.updated",
                &data,
                Utc::now(),
            )?;
            Err(portcullis_app::AppError::Conflict("rolled back".into()))
        });
        assert!(failed.is_err());
        assert!(store
            .deliveries(env.account.id, hook.id, 10)
            .unwrap()
            .is_empty());
        store
            .transaction(|store| {
                portcullis_app::webhooks::emit(
                    store,
                    env.account.id,
                    "member.updated",
                    &data,
                    Utc::now(),
                )
            })
            .unwrap();
        assert_eq!(
            store.deliveries(env.account.id, hook.id, 10).unwrap().len(),
            1
        );
    }
}

/// Receivers on private addresses are refused when saved unless the operator allows them;
/// link-local ones always; and a receiver that became private is refused when sent to.
#[actix_web::test]
async fn private_and_link_local_receivers_are_refused() {
    let receiver = Receiver::start().await;
    for env in envs() {
        let app = app!(env);
        let t = env.token.as_str();
        for url in [
            receiver.url.as_str(),
            "http://10.0.0.7/hook",
            "https://127.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[fe80::1]/hook",
            "https://localhost/hook",
            "ftp://example.com/hook",
        ] {
            let r = send(
                &app,
                api(
                    Method::POST,
                    "/api/v1/webhooks",
                    t,
                    Some(json!({"url": url, "events": ["*"]})),
                )
                .to_request(),
            )
            .await;
            status(&r, StatusCode::BAD_REQUEST);
        }
        // Stored as if it had been public when saved: the attempt is refused too.
        let hook = portcullis_domain::Webhook {
            id: portcullis_domain::WebhookId::from_uuid(uuid::Uuid::new_v4()),
            account: env.account.id,
            url: receiver.url.clone(),
            events: vec!["*".into()],
            description: String::new(),
            secret: portcullis_domain::WebhookSecret::from_bytes([1; 32]),
            created_at: Utc::now(),
        };
        env.state.store.insert_webhook(&hook).unwrap();
        let operator = portcullis_app::Caller::operator(env.account.clone());
        portcullis_app::webhooks::ping(&env.state.store, &operator, hook.id, Utc::now()).unwrap();
        assert_eq!(deliver(&env, Utc::now()).await, 1);
        let log = env
            .state
            .store
            .deliveries(env.account.id, hook.id, 10)
            .unwrap();
        assert!(
            log[0]
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("not a public address"),
            "{log:?}"
        );
    }
    assert!(receiver.received().is_empty());
    for env in allow_private() {
        let app = app!(env);
        for url in [
            "https://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/hook",
        ] {
            let r = send(
                &app,
                api(
                    Method::POST,
                    "/api/v1/webhooks",
                    &env.token,
                    Some(json!({"url": url, "events": ["*"]})),
                )
                .to_request(),
            )
            .await;
            status(&r, StatusCode::BAD_REQUEST);
            assert!(r.text.contains("link-local"), "{}", r.text);
        }
    }
}

/// Two replicas on one PostgreSQL database deliver each event once.
#[actix_web::test]
async fn two_replicas_deliver_each_event_once() {
    let Some((url, _guard)) = crate::scim_support::postgres_database() else {
        eprintln!(
            "note: PORTCULLIS_TEST_POSTGRES_URL is not set; the two-replica test did not run"
        );
        return;
    };
    let replica = || {
        let config = portcullis_server::config::Config::load(|name| match name {
            "PORTCULLIS_DATABASE_URL" => Some(url.clone()),
            "PORTCULLIS_PUBLIC_URL" => Some("https://portcullis.test".into()),
            "PORTCULLIS_ENCRYPTION_KEY" => Some(crate::scim_support::test_encryption_key().into()),
            "PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        portcullis_server::prepare(config).unwrap()
    };
    let (a, b) = (replica(), replica());
    let receiver = Receiver::start().await;
    let created =
        crate::support::ops::create_account(&a.store, "acme", "Acme", "ada@acme.test", Utc::now())
            .unwrap();
    let operator = portcullis_app::Caller::operator(created.account.clone());
    let new = portcullis_app::webhooks::NewWebhook {
        url: receiver.url.clone(),
        events: vec!["*".into()],
        description: String::new(),
    };
    portcullis_app::webhooks::create(&a, &a.webhook_guard(), &operator, new, Utc::now())
        .await
        .unwrap();
    let events = 30;
    for i in 0..events {
        a.store
            .transaction(|store| {
                portcullis_app::webhooks::emit(
                    store,
                    created.account.id,
                    "member.updated",
                    &json!({"n": i}),
                    Utc::now(),
                )
            })
            .unwrap();
    }
    let now = Utc::now();
    loop {
        let (x, y) = futures_like_join(
            deliver_due(&a, &a.webhooks, now),
            deliver_due(&b, &b.webhooks, now),
        )
        .await;
        if x.unwrap() + y.unwrap() == 0 {
            break;
        }
    }
    let got = receiver.received();
    let mut ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), events, "each event once");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), events);
    let order: Vec<i64> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(order, (0..events as i64).collect::<Vec<_>>(), "in order");
}

/// Runs two futures at once on this thread.
async fn futures_like_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
