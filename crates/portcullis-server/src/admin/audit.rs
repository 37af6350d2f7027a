//! `GET /api/v1/audit`: the account's audit log, newest first, paged and filtered, each
//! event with the names it is about and its sentence; as JSON, or CSV for export.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::audit_text::{self, AuditQuery, ReadableEvent};
use portcullis_domain::Actor;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Manager;
use crate::error::{ApiError, AppError};
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
    /// Who, by name (a member's email, an API key's description).
    pub actor_name: String,
    /// What, by name, when it can be found.
    pub target_name: Option<String>,
    /// The event in one sentence.
    pub sentence: String,
}

/// The audit actor as text.
pub fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::User(id) => format!("user:{id}"),
        Actor::ApiKey(id) => format!("api_key:{id}"),
        Actor::System => "system".into(),
        Actor::Anonymous => "anonymous".into(),
        Actor::SetupLink(id) => format!("setup_link:{id}"),
    }
}

impl AuditEventJson {
    /// The view of an event.
    pub fn of(r: &ReadableEvent) -> Self {
        let e = &r.event;
        Self {
            actor_name: r.actor_name.clone(),
            target_name: r.target_name.clone(),
            sentence: r.sentence.clone(),
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

/// Which events, and in which format.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Who: a member's email, or `system`, `anonymous`, `user:<id>`, `api_key:<id>`.
    pub actor: Option<String>,
    /// An action (`member.deleted`), or a family of them ending with a dot (`member.`).
    pub action: Option<String>,
    /// From this time on (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    /// Most rows (default 50, at most 1000).
    pub limit: Option<i64>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The events as CSV: one row per event, with a header.
pub fn csv(events: &[ReadableEvent]) -> Result<String, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::Internal(format!("writing CSV: {e}"));
    out.write_record([
        "at",
        "actor",
        "actor_name",
        "action",
        "target",
        "target_name",
        "ip",
        "sentence",
        "detail",
    ])
    .map_err(fail)?;
    for r in events {
        let e = &r.event;
        out.write_record([
            e.at.to_rfc3339().as_str(),
            &actor_text(&e.actor),
            &r.actor_name,
            &e.action,
            e.target.as_deref().unwrap_or(""),
            r.target_name.as_deref().unwrap_or(""),
            e.ip.as_deref().unwrap_or(""),
            &r.sentence,
            &e.detail,
        ])
        .map_err(fail)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.to_string()))
}

/// The audit log, newest first: filtered by actor, action and time, paged; JSON or CSV.
#[utoipa::path(operation_id = "listAuditEvents", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage, description = "JSON, or text/csv with format=csv"),
               (status = 400, description = "an unknown format, or an actor that is no member")),
    security(("api_key" = [])))]
#[get("/api/v1/audit")]
async fn list_route(
    state: web::Data<AppState>,
    caller: Manager,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let csv_wanted = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(
                AppError::BadRequest(format!("format: {other:?} is not json or csv")).into(),
            )
        }
    };
    let offset = params.offset.unwrap_or(0).max(0);
    let limit = params.limit.unwrap_or(50).clamp(1, audit_text::MAX_PAGE);
    let query = AuditQuery {
        actor: params.actor,
        action: params.action,
        since: params.since,
        until: params.until,
    };
    let events = state
        .read(move |store| audit_text::search(store, &caller.0, &query, offset, limit))
        .await?;
    if csv_wanted {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\""))
            .body(csv(&events)?));
    }
    Ok(HttpResponse::Ok().json(AuditPage {
        events: events.iter().map(AuditEventJson::of).collect(),
    }))
}
