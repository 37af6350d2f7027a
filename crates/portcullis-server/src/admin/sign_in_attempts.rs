//! `GET /api/v1/sign-in-attempts`: the sign-in debugger, every SSO attempt of the last 7
//! days with its steps, newest first; `GET /api/v1/sign-in-attempts/{id}` adds the IdP's
//! answer with its signature values and certificates blanked out.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::sign_in_attempts;
use portcullis_domain::sign_in_attempt::SignInAttempt;
use portcullis_store::AttemptFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Manager;
use super::members::parse_id;
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route).service(get_route);
}

/// One step.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepJson {
    /// `request`, `response`, `signature`, `issuer`, `destination`, `conditions`,
    /// `audience`, `in_response_to`, `identity`, `replay`, `decision` (SAML); `request`,
    /// `callback`, `token`, `id_token`, `identity`, `decision` (OpenID Connect).
    pub name: String,
    /// `ok`, `failed` or `skipped`.
    pub outcome: String,
    /// What it checked: expected and received values, the refusal.
    pub detail: String,
}

/// One attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptJson {
    /// Its id.
    pub id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The IdP.
    pub idp_id: String,
    /// `saml` or `oidc`.
    pub protocol: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// `ok`, or the refusal's reason code (as in the audit log).
    pub reason: String,
    /// The email the IdP vouched for, once known.
    pub email: Option<String>,
    /// The step that failed, if one did.
    pub failed_step: Option<String>,
    /// Every step.
    pub steps: Vec<StepJson>,
    /// The IdP's answer, redacted (only in the single-attempt answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl AttemptJson {
    /// The view of an attempt, with its response when `with_response`.
    pub fn of(a: &SignInAttempt, with_response: bool) -> Self {
        Self {
            id: a.id.to_string(),
            at: a.at,
            idp_id: a.idp.to_string(),
            protocol: a.protocol.clone(),
            outcome: if a.succeeded { "succeeded" } else { "failed" }.into(),
            reason: a.reason.clone(),
            email: a.email.clone(),
            failed_step: a
                .steps
                .iter()
                .find(|s| s.outcome == portcullis_domain::sign_in_attempt::StepOutcome::Failed)
                .map(|s| s.name.clone()),
            steps: a
                .steps
                .iter()
                .map(|s| StepJson {
                    name: s.name.clone(),
                    outcome: s.outcome.as_str().into(),
                    detail: s.detail.clone(),
                })
                .collect(),
            response: if with_response {
                a.response.clone()
            } else {
                None
            },
        }
    }
}

/// A page of attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    /// Newest first.
    pub attempts: Vec<AttemptJson>,
}

/// Filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptParams {
    /// Through this IdP (id).
    pub idp: Option<String>,
    /// `succeeded` or `failed`.
    pub outcome: Option<String>,
    /// For this email.
    pub email: Option<String>,
    /// From this time on (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    /// Most rows (default 50, at most 200).
    pub limit: Option<i64>,
}

impl AttemptParams {
    /// The store's filter (400 for an unknown outcome or a malformed IdP id).
    pub fn filter(&self) -> Result<AttemptFilter, AppError> {
        Ok(AttemptFilter {
            idp: match self.idp.as_deref().map(str::trim).filter(|i| !i.is_empty()) {
                Some(text) => Some(
                    parse_id(text)
                        .map_err(|_| AppError::BadRequest(format!("idp: {text:?} is not an id")))?,
                ),
                None => None,
            },
            succeeded: match self.outcome.as_deref().map(str::trim) {
                None | Some("") => None,
                Some("succeeded") => Some(true),
                Some("failed") => Some(false),
                Some(other) => {
                    return Err(AppError::BadRequest(format!(
                        "outcome: {other:?} is neither succeeded nor failed"
                    )))
                }
            },
            email: self.email.clone().filter(|e| !e.trim().is_empty()),
            since: self.since,
            until: self.until,
        })
    }
}

/// The account's SSO attempts of the last 7 days, newest first.
#[utoipa::path(operation_id = "listSignInAttempts", tag = "sign-in attempts", params(AttemptParams),
    responses((status = 200, body = AttemptList), (status = 400)), security(("api_key" = [])))]
#[get("/api/v1/sign-in-attempts")]
async fn list_route(
    state: web::Data<AppState>,
    caller: Manager,
    params: web::Query<AttemptParams>,
) -> Result<HttpResponse, ApiError> {
    let filter = params.filter()?;
    let offset = params.offset.unwrap_or(0).max(0);
    let limit = params.limit.unwrap_or(50).clamp(1, 200);
    let attempts = state
        .read(move |store| sign_in_attempts::list(store, &caller.0, &filter, offset, limit))
        .await?;
    Ok(HttpResponse::Ok().json(AttemptList {
        attempts: attempts.iter().map(|a| AttemptJson::of(a, false)).collect(),
    }))
}

/// One attempt, with the IdP's answer (redacted).
#[utoipa::path(operation_id = "getSignInAttempt", tag = "sign-in attempts", params(("id" = String, Path, description = "attempt id")),
    responses((status = 200, body = AttemptJson), (status = 404)), security(("api_key" = [])))]
#[get("/api/v1/sign-in-attempts/{id}")]
async fn get_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let attempt = state
        .read(move |store| sign_in_attempts::get(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(AttemptJson::of(&attempt, true)))
}
