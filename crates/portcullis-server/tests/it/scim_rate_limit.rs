//! The SCIM rate limit: 429 with `Retry-After` past a key's bucket, one bucket per key for
//! the whole process (not per worker), and a Bulk request paying a token per operation,
//! refused whole before anything is applied.

use actix_web::http::{Method, StatusCode};
use serde_json::json;

use crate::app;
use crate::scim_support::{bot_key, req, send, sqlite_env_with_rate};

#[actix_web::test]
async fn rate_limit_answers_429_with_retry_after() {
    let env = sqlite_env_with_rate("5");
    let app = app!(env);
    let r = send(
        &app,
        req(
            Method::POST,
            "/Users",
            &env.token,
            Some(json!({"userName": "counted@acme.test"})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let member = r.body["id"].as_str().unwrap().to_owned();
    // Discovery checks its key on its own, a member read in its read transaction, a SCIM
    // member's read in one statement relying on the key in memory; the admin's read tries
    // that first and then takes the full check, counted once. All draw on the key's one
    // bucket.
    let paths = [
        "/ServiceProviderConfig".to_owned(),
        format!("/Users/{}", env.admin.id),
        format!("/Users/{member}"),
    ];
    let mut statuses = Vec::new();
    // The create drew one token of the burst.
    for i in 0..17 {
        let path = &paths[i % 3];
        let r = send(&app, req(Method::GET, path, &env.token, None).to_request()).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            r.assert_error(429, None);
            assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
        }
        statuses.push(r.status.as_u16());
    }
    assert_eq!(
        &statuses[..9],
        &[200; 9],
        "a burst of twice the rate passes: {statuses:?}"
    );
    for (start, path) in paths.iter().enumerate() {
        assert!(
            statuses[9..]
                .iter()
                .skip(start)
                .step_by(3)
                .any(|s| *s == 429),
            "{path}: {statuses:?}"
        );
    }
    // Another key of the same account has its own bucket.
    let second = bot_key(&env.state.store, &env.account, "second");
    let r = send(
        &app,
        req(Method::GET, "/ServiceProviderConfig", &second, None).to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// The rate limit is the process's, not each worker's: two apps built from one state (as
/// actix builds one per worker) draw on one bucket per key.
#[actix_web::test]
async fn the_rate_limit_is_shared_by_every_worker() {
    let env = sqlite_env_with_rate("2");
    let (first, second) = (app!(env), app!(env));
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = req(Method::GET, "/ServiceProviderConfig", &env.token, None).to_request();
        let r = if i % 2 == 0 {
            send(&first, r).await
        } else {
            send(&second, r).await
        };
        statuses.push(r.status.as_u16());
    }
    // A burst of twice the rate in all, whichever worker answers.
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        4,
        "{statuses:?}"
    );
}

/// A Bulk request takes a token per operation, and is refused whole, before anything is
/// applied, when the key lacks them.
#[actix_web::test]
async fn bulk_takes_a_token_per_operation() {
    let env = sqlite_env_with_rate("2");
    let app = app!(env);
    let ops: Vec<_> = (0..10)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                        "data": {"userName": format!("bulk{i}@acme.test")}})
        })
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                      "Operations": ops});
    let r = send(
        &app,
        req(Method::POST, "/Bulk", &env.token, Some(body)).to_request(),
    )
    .await;
    r.assert_error(429, None);
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    for i in 0..10 {
        let email = portcullis_domain::Email::parse(&format!("bulk{i}@acme.test")).unwrap();
        assert!(env
            .state
            .store
            .user_by_email(env.account.id, &email)
            .unwrap()
            .is_none());
    }
    // Two operations fit in what the refused request left.
    let ops: Vec<_> = (0..2)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("v{i}"),
                        "data": {"userName": format!("small{i}@acme.test")}})
        })
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                      "Operations": ops});
    let r = send(
        &app,
        req(Method::POST, "/Bulk", &env.token, Some(body)).to_request(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
