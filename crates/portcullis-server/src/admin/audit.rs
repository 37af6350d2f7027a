//! `GET /api/v1/audit`: the account's audit log, newest first, paged.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_domain::{Actor, AuditEvent};
use serde::Serialize;
use utoipa::ToSchema;

use portcullis_app::audit;

use super::auth::Manager;
use super::Paging;
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the route.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route);
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventJson {
    /// Stable id.
    pub id: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who: `user:<id>`, `api_key:<id>`, `system` or `anonymous`.
    pub actor: String,
    /// What, such as `api_key.created`.
    pub action: String,
    /// What was acted on.
    pub target: Option<String>,
    /// The client address.
    pub ip: Option<String>,
    /// Extra detail.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The audit actor as text.
pub fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::User(id) => format!("user:{id}"),
        Actor::ApiKey(id) => format!("api_key:{id}"),
        Actor::System => "system".into(),
        Actor::Anonymous => "anonymous".into(),
    }
}

impl AuditEventJson {
    /// The view of an event.
    pub fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id.to_string(),
            at: e.at,
            actor: actor_text(&e.actor),
            action: e.action.clone(),
            target: e.target.clone(),
            ip: e.ip.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// One page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<AuditEventJson>,
}

/// The audit log, newest first.
#[utoipa::path(operation_id = "listAuditEvents", tag = "audit", params(Paging), responses((status = 200, body = AuditPage)), security(("api_key" = [])))]
#[get("/api/v1/audit")]
async fn list_route(
    state: web::Data<AppState>,
    caller: Manager,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (offset, limit) = paging.clamp();
    let events = state
        .read(move |store| audit::list(store, &caller.0, offset, limit))
        .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        events: events.iter().map(AuditEventJson::of).collect(),
    }))
}
