//! `/api/v1/bots`: bot (service) users, which own API keys that outlive any person.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use portcullis_app::bots;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::{parse_id, MemberJson};
use crate::error::ApiError;
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

/// Lists the account's bots.
#[utoipa::path(operation_id = "listBots", tag = "bots", responses((status = 200, body = BotList)), security(("api_key" = [])))]
#[get("/api/v1/bots")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let bots = state
        .read(move |store| bots::list(store, &caller.0))
        .await?;
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
    let name = body.into_inner().name;
    let bot = state
        .write(move |store| bots::create(store, &caller.0, &name, Utc::now()))
        .await?;
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
    let id = parse_id(&id)?;
    state
        .write(move |store| bots::delete(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
