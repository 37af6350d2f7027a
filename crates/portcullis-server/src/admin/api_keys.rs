//! `/api/v1/api-keys`: create (the secret is shown once), list, revoke.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::api_keys;
use portcullis_domain::{ApiKey, Scopes};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::parse_id;
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(revoke_route);
}

/// An API key as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyJson {
    /// Stable id.
    pub id: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// What it is for.
    pub description: String,
    /// The owner's id (an admin or a bot).
    pub owner_id: String,
    /// The owner's email or bot name.
    pub owner: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The APIs it may call: `scim` (the SCIM API) and/or `admin` (the admin API).
    pub scopes: Vec<String>,
    /// Made before keys had scopes and given both: replace it with a scoped key.
    pub legacy_full_access: bool,
}

impl ApiKeyJson {
    /// The view of a key with its owner's name.
    pub fn of(k: &ApiKey, owner: &str) -> Self {
        Self {
            id: k.id.to_string(),
            prefix: k.prefix.clone(),
            description: k.description.clone(),
            owner_id: k.owner.to_string(),
            owner: owner.to_owned(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            scopes: k
                .scopes
                .list()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            legacy_full_access: k.legacy_full_access,
        }
    }
}

/// A freshly created key, with the secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    pub key: ApiKeyJson,
    /// The secret to send as `Authorization: Bearer <secret>`; it cannot be shown again.
    pub secret: String,
}

/// The keys of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// The keys, oldest first, revoked ones included.
    pub api_keys: Vec<ApiKeyJson>,
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What it is for, such as `Okta SCIM`.
    pub description: String,
    /// The owner: an admin or a bot of the account. Defaults to the caller.
    pub owner_id: Option<String>,
    /// The APIs it may call: `["scim"]` for an IdP, `["admin"]` for automation, or both.
    /// Required.
    pub scopes: Option<Vec<String>>,
}

/// Lists the account's API keys (never their secrets).
#[utoipa::path(operation_id = "listApiKeys", tag = "api keys", responses((status = 200, body = ApiKeyList)), security(("api_key" = [])))]
#[get("/api/v1/api-keys")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let keys = state
        .read(move |store| api_keys::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(ApiKeyList {
        api_keys: keys
            .iter()
            .map(|k| ApiKeyJson::of(&k.key, &k.owner))
            .collect(),
    }))
}

/// Creates an API key; the answer holds the secret, which is never shown again.
#[utoipa::path(operation_id = "createApiKey", tag = "api keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 400, description = "no scopes, or the owner may not own keys")),
    security(("api_key" = [])))]
#[post("/api/v1/api-keys")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewApiKey>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let owner = match body.owner_id.as_deref() {
        Some(text) => Some(text.parse().map_err(|_| {
            AppError::BadRequest("the owner is not a member or bot of this account".into())
        })?),
        None => None,
    };
    let scopes = match body.scopes.as_deref() {
        None | Some([]) => {
            return Err(AppError::BadRequest(
                "scopes is required: [\"scim\"] for an identity provider, [\"admin\"] for the admin API, or both".into(),
            )
            .into())
        }
        Some(names) => Scopes::parse(names)
            .map_err(|e| AppError::BadRequest(format!("scopes: {e}")))?,
    };
    let (key, owner, secret) = state
        .write(move |store| {
            api_keys::create(
                store,
                &caller.0,
                &body.description,
                owner,
                scopes,
                Utc::now(),
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key: ApiKeyJson::of(&key, owner.email.as_str()),
        secret: secret.expose().to_owned(),
    }))
}

/// Revokes an API key for good.
#[utoipa::path(operation_id = "revokeApiKey", tag = "api keys", params(("id" = String, Path, description = "key id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/api-keys/{id}")]
async fn revoke_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| api_keys::revoke(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
