//! `/api/v1/api-keys`: create (the secret is shown once), list, revoke.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_domain::policy;
use portcullis_domain::{ApiKey, ApiKeyId, ApiKeySecret, User, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, Manager};
use super::members::parse_id;
use crate::error::{ApiError, AppError};
use crate::ops;
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
}

/// The account's keys with their owners' names.
pub async fn list_keys(state: &AppState, caller: &Caller) -> Result<Vec<ApiKeyJson>, AppError> {
    caller.require_manager()?;
    let account = caller.account.id;
    state
        .db(move |store| {
            let keys = store.list_api_keys(account)?;
            let mut out = Vec::with_capacity(keys.len());
            for k in &keys {
                let owner = store
                    .user(account, k.owner)?
                    .map_or_else(|| "(deleted)".to_owned(), |u| u.email.to_string());
                out.push(ApiKeyJson::of(k, &owner));
            }
            Ok(out)
        })
        .await
}

/// Creates a key for an admin or bot of the caller's account.
pub async fn create_key(
    state: &AppState,
    caller: &Caller,
    description: &str,
    owner: Option<UserId>,
) -> Result<(ApiKey, User, ApiKeySecret), AppError> {
    caller.require_manager()?;
    let description = description.trim().to_owned();
    if description.is_empty() || description.chars().count() > 255 {
        return Err(AppError::BadRequest(
            "an API key needs a description of 1 to 255 characters".into(),
        ));
    }
    let (account, actor, ip) = (caller.account.id, caller.actor(), caller.ip_text());
    let owner_id = owner.unwrap_or(caller.user.id);
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = ApiKeySecret::from_random(bytes);
    let (prefix, hash) = (secret.display_prefix(), secret.hash());
    let (key, owner) = state
        .db(move |store| {
            let now = Utc::now();
            let Some(owner) = store.user(account, owner_id)? else {
                return Ok(Err(AppError::BadRequest(
                    "the owner is not a member or bot of this account".into(),
                )));
            };
            if let Err(e) = policy::may_own_api_key(&owner) {
                return Ok(Err(AppError::BadRequest(e.to_string())));
            }
            let key = ApiKey {
                id: ApiKeyId::from_uuid(Uuid::new_v4()),
                account,
                owner: owner.id,
                description,
                prefix,
                secret_hash: hash,
                created_at: now,
                last_used_at: None,
                revoked_at: None,
            };
            store.insert_api_key(&key)?;
            let detail = serde_json::json!({ "owner": owner.email.as_str(), "description": key.description, "prefix": key.prefix }).to_string();
            if let Err(e) = ops::audit_detail(store, account, actor, "api_key.created", Some(key.id.to_string()), ip, detail, now) {
                return Ok(Err(e));
            }
            Ok(Ok((key, owner)))
        })
        .await??;
    Ok((key, owner, secret))
}

/// Revokes a key of the caller's account.
pub async fn revoke_key(state: &AppState, caller: &Caller, id: ApiKeyId) -> Result<(), AppError> {
    caller.require_manager()?;
    let (account, actor, ip) = (caller.account.id, caller.actor(), caller.ip_text());
    state
        .db(move |store| {
            let now = Utc::now();
            if !store.revoke_api_key(account, id, now)? {
                return Ok(Err(AppError::NotFound));
            }
            Ok(ops::audit_detail(
                store,
                account,
                actor,
                "api_key.revoked",
                Some(id.to_string()),
                ip,
                "{}".into(),
                now,
            ))
        })
        .await?
}

/// Lists the account's API keys (never their secrets).
#[utoipa::path(operation_id = "listApiKeys", tag = "api keys", responses((status = 200, body = ApiKeyList)), security(("api_key" = [])))]
#[get("/api/v1/api-keys")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let api_keys = list_keys(&state, &caller.0).await?;
    Ok(HttpResponse::Ok().json(ApiKeyList { api_keys }))
}

/// Creates an API key; the answer holds the secret, which is never shown again.
#[utoipa::path(operation_id = "createApiKey", tag = "api keys", request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 400, description = "the owner may not own keys")),
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
    let (key, owner, secret) = create_key(&state, &caller.0, &body.description, owner).await?;
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
    revoke_key(&state, &caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
