//! API-key authentication: forged, revoked, deactivated-owner, member-owned, IP-restricted
//! and cross-tenant keys are refused.

use crate::support::ops;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpRequest, HttpResponse};
use chrono::Utc;
use portcullis_domain::{Actor, IpRestrictions, Role, UserKind};
use portcullis_server::api_auth;
use portcullis_server::error::ApiError;
use portcullis_server::state::AppState;

use crate::support::env;

/// A route that only authenticates and names the caller's account.
async fn whoami(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let caller = api_auth::authenticate(&state, &req).await?;
    Ok(HttpResponse::Ok().body(format!("{} {}", caller.account.slug, caller.owner.email)))
}

#[actix_web::test]
async fn keys_are_checked_against_owner_account_and_address() {
    let env = env();
    let store = &env.state.store;
    let now = Utc::now();
    let account = env.admin.account.clone();
    let admin = env.admin.admin.clone();
    let (_, admin_secret) =
        ops::create_api_key(store, &account, &admin, "ci", Actor::System, now).unwrap();
    let bot = ops::create_bot(store, &account, "scim", now).unwrap();
    let (bot_key, bot_secret) =
        ops::create_api_key(store, &account, &bot, "okta", Actor::System, now).unwrap();
    let other = ops::create_account(store, "other", "Other", "admin@other.test", now).unwrap();
    let (_, other_secret) =
        ops::create_api_key(store, &other.account, &other.admin, "x", Actor::System, now).unwrap();

    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(env.state.clone()))
            .route("/whoami", web::get().to(whoami)),
    )
    .await;
    let call = |auth: Option<String>| {
        let mut req = TestRequest::get()
            .uri("/whoami")
            .peer_addr("203.0.113.9:5000".parse().unwrap());
        if let Some(auth) = auth {
            req = req.insert_header(("Authorization", auth));
        }
        req.to_request()
    };
    let status = |resp: &actix_web::dev::ServiceResponse| resp.status();

    let resp = test::call_service(
        &app,
        call(Some(format!("Bearer {}", admin_secret.expose()))),
    )
    .await;
    assert_eq!(status(&resp), StatusCode::OK);
    assert_eq!(test::read_body(resp).await, "default admin@localhost");
    let resp = test::call_service(
        &app,
        call(Some(format!("Bearer {}", other_secret.expose()))),
    )
    .await;
    assert_eq!(
        test::read_body(resp).await,
        "other admin@other.test",
        "a key decides its own account"
    );

    for (auth, why) in [
        (None, "missing"),
        (Some("non-token".to_owned()), "malformed"),
        (
            Some("Bearer pcl_forgedforgedforgedforgedforgedforgedforged".to_owned()),
            "forged",
        ),
        (
            Some(format!("Basic {}", admin_secret.expose())),
            "wrong scheme",
        ),
    ] {
        let resp = test::call_service(&app, call(auth)).await;
        assert_eq!(status(&resp), StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(resp.headers().get("www-authenticate").unwrap(), "Bearer");
    }

    // The bot's key works until the bot is deactivated, and again after reactivation.
    let bot_call = || call(Some(format!("Bearer {}", bot_secret.expose())));
    assert_eq!(
        status(&test::call_service(&app, bot_call()).await),
        StatusCode::OK
    );
    store
        .set_user_active(account.id, bot.id, false, now)
        .unwrap();
    assert_eq!(
        status(&test::call_service(&app, bot_call()).await),
        StatusCode::UNAUTHORIZED
    );
    store
        .set_user_active(account.id, bot.id, true, now)
        .unwrap();
    assert_eq!(
        status(&test::call_service(&app, bot_call()).await),
        StatusCode::OK
    );

    // A revoked key never works again.
    store.revoke_api_key(account.id, bot_key.id, now).unwrap();
    assert_eq!(
        status(&test::call_service(&app, bot_call()).await),
        StatusCode::UNAUTHORIZED
    );

    // An admin demoted to member: their key stops working.
    let mut demoted = admin.clone();
    demoted.role = Role::Member;
    store.update_user(&demoted).unwrap();
    let admin_call = || call(Some(format!("Bearer {}", admin_secret.expose())));
    assert_eq!(
        status(&test::call_service(&app, admin_call()).await),
        StatusCode::UNAUTHORIZED
    );
    store.update_user(&admin).unwrap();
    assert_eq!(
        status(&test::call_service(&app, admin_call()).await),
        StatusCode::OK
    );

    // API IP restrictions: the caller at 203.0.113.9 is outside 198.51.100.0/24.
    let mut restricted = store.account(account.id).unwrap().unwrap();
    restricted.api_ip_restrictions = IpRestrictions::parse(&["198.51.100.0/24"]).unwrap();
    store.update_account(&restricted).unwrap();
    assert_eq!(
        status(&test::call_service(&app, admin_call()).await),
        StatusCode::FORBIDDEN
    );
    restricted.api_ip_restrictions = IpRestrictions::parse(&["203.0.113.0/24"]).unwrap();
    store.update_account(&restricted).unwrap();
    assert_eq!(
        status(&test::call_service(&app, admin_call()).await),
        StatusCode::OK
    );
    assert_eq!(bot.kind, UserKind::Bot);
}
