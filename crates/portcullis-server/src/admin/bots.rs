//! `/api/v1/bots`: bot (service) users, which own API keys that outlive any person.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use portcullis_domain::{Role, User, UserId, UserKind, UserOrigin};
use portcullis_store::UserListQuery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, Manager};
use super::members::{parse_id, MemberJson};
use crate::error::{ApiError, AppError};
use crate::ops;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(delete_route);
}

/// A new bot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBot {
    /// Its name, such as `okta-scim`.
    pub name: String,
}

/// The bots of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotList {
    /// The bots, oldest first.
    pub bots: Vec<MemberJson>,
}

/// The account's bots.
pub async fn list_bots(state: &AppState, caller: &Caller) -> Result<Vec<User>, AppError> {
    caller.require_manager()?;
    let id = caller.account.id;
    let (bots, _) = state
        .db(move |store| {
            store.list_users(
                id,
                &UserListQuery {
                    kind: Some(UserKind::Bot),
                    search: None,
                    offset: 0,
                    limit: 1000,
                },
            )
        })
        .await?;
    Ok(bots)
}

/// Creates a bot user.
pub async fn create_bot(state: &AppState, caller: &Caller, name: &str) -> Result<User, AppError> {
    caller.require_manager()?;
    let display_name = name.trim().to_owned();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        return Err(AppError::BadRequest(
            "a bot needs a name of 1 to 100 characters".into(),
        ));
    }
    let now = Utc::now();
    let bot = User {
        id: UserId::from_uuid(Uuid::new_v4()),
        account: caller.account.id,
        email: ops::bot_email(&display_name)?,
        display_name,
        kind: UserKind::Bot,
        role: Role::Member,
        active: true,
        password_hash: None,
        external_id: None,
        origin: UserOrigin::Bootstrap,
        created_at: now,
        updated_at: now,
    };
    let (account, actor, ip) = (caller.account.id, caller.actor(), caller.ip_text());
    let saved = bot.clone();
    state
        .db(move |store| {
            store.insert_user(&saved)?;
            Ok(ops::audit_detail(
                store,
                account,
                actor,
                "bot.created",
                Some(saved.id.to_string()),
                ip,
                serde_json::json!({ "name": saved.display_name }).to_string(),
                now,
            ))
        })
        .await??;
    Ok(bot)
}

/// Deletes a bot and its API keys.
pub async fn delete_bot(state: &AppState, caller: &Caller, id: UserId) -> Result<(), AppError> {
    caller.require_manager()?;
    let (account, actor, ip) = (caller.account.id, caller.actor(), caller.ip_text());
    state
        .db(move |store| {
            let now = Utc::now();
            match store.user(account, id)? {
                Some(u) if u.kind == UserKind::Bot => {}
                _ => return Ok(Err(AppError::NotFound)),
            }
            let event = ops::audit_event(
                account,
                actor,
                "bot.deleted",
                Some(id.to_string()),
                ip,
                "{}".into(),
                now,
            );
            store.delete_user(account, id, now, Some(&event))?;
            Ok(Ok(()))
        })
        .await?
}

/// Lists the account's bots.
#[utoipa::path(operation_id = "listBots", tag = "bots", responses((status = 200, body = BotList)), security(("api_key" = [])))]
#[get("/api/v1/bots")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let bots = list_bots(&state, &caller.0).await?;
    Ok(HttpResponse::Ok().json(BotList {
        bots: bots.iter().map(MemberJson::of).collect(),
    }))
}

/// Creates a bot user.
#[utoipa::path(operation_id = "createBot", tag = "bots", request_body = NewBot,
    responses((status = 201, body = MemberJson), (status = 409, description = "the name is taken")),
    security(("api_key" = [])))]
#[post("/api/v1/bots")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewBot>,
) -> Result<HttpResponse, ApiError> {
    let bot = create_bot(&state, &caller.0, &body.name).await?;
    Ok(HttpResponse::Created().json(MemberJson::of(&bot)))
}

/// Deletes a bot with its API keys.
#[utoipa::path(operation_id = "deleteBot", tag = "bots", params(("id" = String, Path, description = "bot id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/bots/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    delete_bot(&state, &caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
