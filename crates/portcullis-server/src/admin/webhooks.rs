//! `/api/v1/webhooks`: where the account's events are sent, test pings, and each
//! webhook's delivery log with "send again". Admin scope only.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::webhooks::{self, NewWebhook, WebhookChange};
use portcullis_domain::Webhook;
use portcullis_store::Delivery;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::parse_id;
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(get_route)
        .service(update_route)
        .service(delete_route)
        .service(test_route)
        .service(deliveries_route)
        .service(resend_route);
}

/// A webhook (its secret is shown once, when it is made).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookJson {
    /// Its id.
    pub id: String,
    /// The receiver.
    pub url: String,
    /// The event types it receives, or `["*"]`.
    pub events: Vec<String>,
    /// What it is for.
    pub description: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that made the webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookJson {
    fn of(w: &Webhook, with_secret: bool) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            created_at: w.created_at,
            secret: with_secret.then(|| w.secret.expose().to_owned()),
        }
    }
}

/// The account's webhooks.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub webhooks: Vec<WebhookJson>,
}

/// A webhook to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookJson {
    /// A public `https://` URL.
    pub url: String,
    /// Event types (see `docs/webhooks.md`), or `["*"]` for all.
    pub events: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

/// A change to a webhook; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    /// A new receiver.
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// A new description.
    pub description: Option<String>,
}

/// One event on its way to the webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryJson {
    /// Its id (the `webhook-id` header).
    pub id: String,
    /// The event type.
    pub event: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// The last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status.
    pub response_status: Option<i32>,
    /// What went wrong last.
    pub error: Option<String>,
    /// When the next attempt is due (pending only).
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptJson>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptJson {
    /// When.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub response_status: Option<i32>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

impl DeliveryJson {
    fn of(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            event: d.event_type.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            created_at: d.created_at,
            last_attempt_at: d.last_attempt_at,
            response_status: d.last_status,
            error: d.last_error.clone(),
            next_retry_at: (d.status == portcullis_domain::DeliveryStatus::Pending)
                .then_some(d.next_attempt_at),
            attempt_log: d
                .attempt_log
                .iter()
                .map(|a| AttemptJson {
                    at: a.at,
                    response_status: a.status,
                    error: a.error.clone(),
                })
                .collect(),
        }
    }
}

/// A webhook's deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first (the last 100).
    pub deliveries: Vec<DeliveryJson>,
}

/// Lists the account's webhooks.
#[utoipa::path(operation_id = "listWebhooks", tag = "webhooks", responses((status = 200, body = WebhookList)), security(("api_key" = [])))]
#[get("/api/v1/webhooks")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let all = state
        .read(move |store| webhooks::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: all.iter().map(|w| WebhookJson::of(w, false)).collect(),
    }))
}

/// Makes a webhook; the answer shows its signing secret, once.
#[utoipa::path(operation_id = "createWebhook", tag = "webhooks", request_body = NewWebhookJson,
    responses((status = 201, body = WebhookJson),
               (status = 400, description = "a malformed URL, one pointing at a private or link-local address, or an unknown event type")),
    security(("api_key" = [])))]
#[post("/api/v1/webhooks")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewWebhookJson>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewWebhook {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    let hook =
        webhooks::create(&**state, &state.webhook_guard(), &caller.0, new, Utc::now()).await?;
    Ok(HttpResponse::Created().json(WebhookJson::of(&hook, true)))
}

/// One webhook.
#[utoipa::path(operation_id = "getWebhook", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, body = WebhookJson), (status = 404)), security(("api_key" = [])))]
#[get("/api/v1/webhooks/{id}")]
async fn get_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let hook = state
        .read(move |store| webhooks::get(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookJson::of(&hook, false)))
}

/// Changes a webhook's URL, events or description.
#[utoipa::path(operation_id = "updateWebhook", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    request_body = WebhookUpdate,
    responses((status = 200, body = WebhookJson), (status = 400), (status = 404)), security(("api_key" = [])))]
#[patch("/api/v1/webhooks/{id}")]
async fn update_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
    body: web::Json<WebhookUpdate>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let body = body.into_inner();
    let change = WebhookChange {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    let hook = webhooks::update(
        &**state,
        &state.webhook_guard(),
        &caller.0,
        id,
        change,
        Utc::now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(WebhookJson::of(&hook, false)))
}

/// Removes a webhook and its deliveries.
#[utoipa::path(operation_id = "deleteWebhook", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/webhooks/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| webhooks::delete(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a `ping` event to the webhook (queued; see its deliveries).
#[utoipa::path(operation_id = "testWebhook", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 202, body = DeliveryJson), (status = 404)), security(("api_key" = [])))]
#[post("/api/v1/webhooks/{id}/test")]
async fn test_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let delivery = state
        .write(move |store| webhooks::ping(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryJson::of(&delivery)))
}

/// The webhook's delivery log.
#[utoipa::path(operation_id = "listWebhookDeliveries", tag = "webhooks", params(("id" = String, Path, description = "webhook id")),
    responses((status = 200, body = DeliveryList), (status = 404)), security(("api_key" = [])))]
#[get("/api/v1/webhooks/{id}/deliveries")]
async fn deliveries_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let all = state
        .read(move |store| webhooks::deliveries(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        deliveries: all.iter().map(DeliveryJson::of).collect(),
    }))
}

/// Sends a delivery again, now, with a fresh day of retries.
#[utoipa::path(operation_id = "resendWebhookDelivery", tag = "webhooks",
    params(("id" = String, Path, description = "webhook id"), ("delivery" = String, Path, description = "delivery id")),
    responses((status = 202), (status = 404)), security(("api_key" = [])))]
#[post("/api/v1/webhooks/{id}/deliveries/{delivery}/resend")]
async fn resend_route(
    state: web::Data<AppState>,
    caller: Manager,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let (id, delivery) = (parse_id(&id)?, parse_id(&delivery)?);
    state
        .write(move |store| webhooks::resend(store, &caller.0, id, delivery, Utc::now()))
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
