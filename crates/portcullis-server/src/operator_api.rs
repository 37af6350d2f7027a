//! The operator API under `/api/v1/operator/accounts`: for whoever hosts Portcullis for
//! many customer accounts. It answers only when `PORTCULLIS_OPERATOR_TOKEN` (or `…_FILE`)
//! is set, to `Authorization: Bearer <that token>` (compared in constant time, never
//! logged); otherwise every route is 404. The use cases are `portcullis_app::operator`'s,
//! the same the `portcullis account` commands call.

use actix_web::dev::Payload;
use actix_web::{delete, get, post, web, FromRequest, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::operator::{self, Overview};
use portcullis_domain::Account;
use portcullis_store::Store;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::admin::invitations::mail_invitation_to;
use crate::api_auth::bearer_token;
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(get_route)
        .service(delete_route)
        .service(suspend_route)
        .service(resume_route);
}

/// Whether `presented` is the configured token: both are hashed first, so the
/// comparison takes the same time whatever their lengths and contents.
fn token_matches(configured: &str, presented: &str) -> bool {
    let (a, b) = (
        Sha256::digest(configured.as_bytes()),
        Sha256::digest(presented.as_bytes()),
    );
    a.ct_eq(&b).into()
}

/// A request that presented the operator token.
#[derive(Debug, Clone, Copy)]
pub struct OperatorCaller;

impl FromRequest for OperatorCaller {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let configured = req
            .app_data::<web::Data<AppState>>()
            .and_then(|s| s.config.operator_token.clone());
        let outcome = match configured {
            // Without a token the API does not exist.
            None => Err(AppError::NotFound),
            Some(configured) => match bearer_token(req) {
                Some(presented) if token_matches(&configured, presented) => Ok(Self),
                _ => Err(AppError::Unauthorized(
                    "send the operator token as `Authorization: Bearer <token>`".into(),
                )),
            },
        };
        std::future::ready(outcome.map_err(|e| ApiError(e).into()))
    }
}

/// An account as the operator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorAccountJson {
    /// Its id.
    pub id: String,
    /// Its short name in URLs.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// How new members come to exist: `invite`, `jit` or `scim`.
    pub provisioning: String,
    /// Who must use SSO: `mixed` or `enforced`.
    pub enforcement: String,
    /// Whether an operator suspended it.
    pub suspended: bool,
    /// Since when (RFC 3339), when suspended.
    pub suspended_at: Option<String>,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// How many people it has (bots not counted); only on a single account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<i64>,
    /// How many identity providers it has; only on a single account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idps: Option<i64>,
}

impl OperatorAccountJson {
    fn of(a: &Account) -> Self {
        Self {
            id: a.id.to_string(),
            slug: a.slug.as_str().to_owned(),
            name: a.name.clone(),
            provisioning: a.provisioning.as_str().to_owned(),
            enforcement: a.enforcement.as_str().to_owned(),
            suspended: a.is_suspended(),
            suspended_at: a.suspended_at.map(|t| t.to_rfc3339()),
            created_at: a.created_at.to_rfc3339(),
            members: None,
            idps: None,
        }
    }

    fn with_counts(o: &Overview) -> Self {
        Self {
            members: Some(o.counts.members),
            idps: Some(o.counts.idps),
            ..Self::of(&o.account)
        }
    }
}

/// An account to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOperatorAccount {
    /// Its short name in URLs: 1-63 lowercase letters, digits and dashes.
    pub slug: String,
    /// Its display name.
    pub name: String,
    /// Its first admin, who is invited (no password travels).
    pub admin_email: String,
}

/// A made account with its first admin's invitation link.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedOperatorAccount {
    /// The account.
    pub account: OperatorAccountJson,
    /// The single-use link that lets the first admin in; it cannot be shown again.
    pub invitation_url: String,
    /// Whether it was also sent by mail (`false` when no SMTP server is configured).
    pub emailed: bool,
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorAccountList {
    /// In slug order.
    pub accounts: Vec<OperatorAccountJson>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Which page of accounts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only accounts whose slug or name contains this (letter case aside).
    pub search: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// Lists accounts, 50 a page, searchable by slug and name.
#[utoipa::path(operation_id = "operatorListAccounts", tag = "operator", params(ListQuery),
    responses((status = 200, body = OperatorAccountList), (status = 401), (status = 404, description = "no operator token is configured")),
    security(("operator_token" = [])))]
#[get("/api/v1/operator/accounts")]
async fn list_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { search, cursor } = query.into_inner();
    let (accounts, next_cursor) = state
        .read(move |store| operator::list(store, search.as_deref(), cursor.as_deref()))
        .await?;
    Ok(HttpResponse::Ok().json(OperatorAccountList {
        accounts: accounts.iter().map(OperatorAccountJson::of).collect(),
        next_cursor,
    }))
}

/// Makes an account and invites its first admin; the answer holds the invitation link.
#[utoipa::path(operation_id = "operatorCreateAccount", tag = "operator", request_body = NewOperatorAccount,
    responses((status = 201, body = CreatedOperatorAccount), (status = 400), (status = 401),
              (status = 409, description = "the slug is taken")),
    security(("operator_token" = [])))]
#[post("/api/v1/operator/accounts")]
async fn create_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    body: web::Json<NewOperatorAccount>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let made = state
        .write(move |store| {
            operator::create(store, &body.slug, &body.name, &body.admin_email, Utc::now())
        })
        .await?;
    let invitation_url = format!("{}/invite/{}", state.config.public_url, made.token);
    let emailed = mail_invitation_to(
        &state,
        &made.account,
        None,
        &made.invitation,
        &invitation_url,
    )
    .await
    .unwrap_or(false);
    Ok(HttpResponse::Created().json(CreatedOperatorAccount {
        account: OperatorAccountJson::with_counts(&Overview {
            account: made.account,
            counts: Default::default(),
        }),
        invitation_url,
        emailed,
    }))
}

/// One account with its member and IdP counts.
#[utoipa::path(operation_id = "operatorGetAccount", tag = "operator", params(("slug" = String, Path, description = "account slug")),
    responses((status = 200, body = OperatorAccountJson), (status = 401), (status = 404)),
    security(("operator_token" = [])))]
#[get("/api/v1/operator/accounts/{slug}")]
async fn get_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let overview = state.read(move |store| operator::get(store, &slug)).await?;
    Ok(HttpResponse::Ok().json(OperatorAccountJson::with_counts(&overview)))
}

/// Deletes the account and every row it owns, for good; the operator log keeps a line.
#[utoipa::path(operation_id = "operatorDeleteAccount", tag = "operator", params(("slug" = String, Path, description = "account slug")),
    responses((status = 204), (status = 401), (status = 404)),
    security(("operator_token" = [])))]
#[delete("/api/v1/operator/accounts/{slug}")]
async fn delete_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    state
        .write(move |store| operator::delete(store, &slug, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Suspends the account: every sign-in, SCIM call and API key of it is refused (403,
/// "account suspended") and its sessions end, until it is resumed.
#[utoipa::path(operation_id = "operatorSuspendAccount", tag = "operator", params(("slug" = String, Path, description = "account slug")),
    responses((status = 200, body = OperatorAccountJson), (status = 401), (status = 404)),
    security(("operator_token" = [])))]
#[post("/api/v1/operator/accounts/{slug}/suspend")]
async fn suspend_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_suspended(&state, slug.into_inner(), operator::suspend).await
}

/// Resumes a suspended account.
#[utoipa::path(operation_id = "operatorResumeAccount", tag = "operator", params(("slug" = String, Path, description = "account slug")),
    responses((status = 200, body = OperatorAccountJson), (status = 401), (status = 404)),
    security(("operator_token" = [])))]
#[post("/api/v1/operator/accounts/{slug}/resume")]
async fn resume_route(
    state: web::Data<AppState>,
    _: OperatorCaller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    set_suspended(&state, slug.into_inner(), operator::resume).await
}

/// Suspends or resumes (`change`) the account at `slug` and answers it with its counts.
async fn set_suspended(
    state: &AppState,
    slug: String,
    change: fn(&Store, &str, DateTime<Utc>) -> Result<Overview, AppError>,
) -> Result<HttpResponse, ApiError> {
    let overview = state
        .write(move |store| change(store, &slug, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(OperatorAccountJson::with_counts(&overview)))
}

#[cfg(test)]
mod tests {
    use super::token_matches;

    #[test]
    fn only_the_exact_token_matches() {
        let token = "a-long-operator-token-of-32-chars!";
        assert!(token_matches(token, token));
        assert!(!token_matches(token, "a-long-operator-token-of-32-chars"));
        assert!(!token_matches(token, ""));
        assert!(!token_matches(token, &token.to_uppercase()));
    }
}
