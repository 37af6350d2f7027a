//! `/api/v1/members`: list (paged, searchable), read, change role, deactivate or
//! reactivate, delete. Invitations live in [`super::invitations`].

use actix_web::{delete, get, patch, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::members::{self, MemberChange};
use portcullis_domain::{Role, User, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Anyone, Manager};
use super::Paging;
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(get_route)
        .service(update_route)
        .service(delete_route);
}

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleJson {
    /// Manages the account.
    Admin,
    /// Uses the account.
    Member,
}

impl From<Role> for RoleJson {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

impl From<RoleJson> for Role {
    fn from(r: RoleJson) -> Self {
        match r {
            RoleJson::Admin => Self::Admin,
            RoleJson::Member => Self::Member,
        }
    }
}

/// A member (or bot) as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberJson {
    /// Stable id.
    pub id: String,
    /// Email (for bots, a synthetic address).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: RoleJson,
    /// Whether the member may sign in.
    pub active: bool,
    /// How the member came to exist: bootstrap, invite, just_in_time or scim.
    pub origin: String,
    /// `human` or `bot`.
    pub kind: String,
    /// When the member was created.
    pub created_at: DateTime<Utc>,
}

impl MemberJson {
    /// The view of a user.
    pub fn of(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            display_name: u.display_name.clone(),
            role: u.role.into(),
            active: u.active,
            origin: u.origin.as_str().to_owned(),
            kind: u.kind.as_str().to_owned(),
            created_at: u.created_at,
        }
    }
}

/// One page of members.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    /// The members on this page.
    pub members: Vec<MemberJson>,
    /// How many match in total.
    pub total: i64,
}

/// Search text for the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberSearch {
    /// Text the email or display name must contain (case-insensitive).
    pub search: Option<String>,
}

/// A change to a member; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    /// New role.
    pub role: Option<RoleJson>,
    /// `false` deactivates (ends their sessions), `true` reactivates.
    pub active: Option<bool>,
}

/// Parses an id from a path; a malformed id is simply not found.
pub fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, AppError> {
    text.parse().map_err(|_| AppError::NotFound)
}

impl From<MemberUpdate> for MemberChange {
    fn from(u: MemberUpdate) -> Self {
        Self {
            role: u.role.map(Role::from),
            active: u.active,
        }
    }
}

/// Lists the account's members (admins only), newest last.
#[utoipa::path(operation_id = "listMembers", tag = "members", params(Paging, MemberSearch),
    responses((status = 200, body = MemberPage), (status = 403, description = "not an admin")),
    security(("api_key" = [])))]
#[get("/api/v1/members")]
async fn list_route(
    state: web::Data<AppState>,
    caller: Manager,
    paging: web::Query<Paging>,
    search: web::Query<MemberSearch>,
) -> Result<HttpResponse, ApiError> {
    let (offset, limit) = paging.clamp();
    let (caller, search) = (caller.0, search.into_inner().search);
    let (users, total) = state
        .read(move |store| members::list(store, &caller, search, offset, limit))
        .await?;
    Ok(HttpResponse::Ok().json(MemberPage {
        members: users.iter().map(MemberJson::of).collect(),
        total,
    }))
}

/// One member: admins may read anyone, members only themselves.
#[utoipa::path(operation_id = "getMember", tag = "members", params(("id" = String, Path, description = "member id")),
    responses((status = 200, body = MemberJson), (status = 404, description = "no such member in this account")),
    security(("api_key" = [])))]
#[get("/api/v1/members/{id}")]
async fn get_route(
    state: web::Data<AppState>,
    caller: Anyone,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: UserId = parse_id(&id)?;
    let user = state
        .read(move |store| members::get(store, &caller.0, id))
        .await?;
    Ok(HttpResponse::Ok().json(MemberJson::of(&user)))
}

/// Changes a member's role, or deactivates / reactivates them.
#[utoipa::path(operation_id = "updateMember", tag = "members", params(("id" = String, Path, description = "member id")), request_body = MemberUpdate,
    responses((status = 200, body = MemberJson), (status = 409, description = "would remove the last admin")),
    security(("api_key" = [])))]
#[patch("/api/v1/members/{id}")]
async fn update_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
    body: web::Json<MemberUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, change) = (parse_id(&id)?, MemberChange::from(body.into_inner()));
    let user = state
        .write(move |store| members::update(store, &caller.0, id, change, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(MemberJson::of(&user)))
}

/// Removes a member from the account with their sessions and API keys.
#[utoipa::path(operation_id = "deleteMember", tag = "members", params(("id" = String, Path, description = "member id")),
    responses((status = 204), (status = 404), (status = 409, description = "would remove the last admin")),
    security(("api_key" = [])))]
#[delete("/api/v1/members/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| members::delete(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
