//! `/api/v1/role-rules`: the rules that let the identity provider decide who is an admin.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::Utc;
use portcullis_app::role_rules::{self, NewRule};
use portcullis_domain::{Role, RoleRule, RoleSource};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use super::members::{parse_id, RoleJson};
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(delete_route);
}

/// Where a rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceJson {
    /// The display names of the SCIM groups a member belongs to; applied at once when a
    /// group changes.
    ScimGroup,
    /// A claim (OIDC) or attribute (SAML) of each SSO sign-in; applied at each sign-in.
    SsoClaim,
}

impl From<RoleSource> for SourceJson {
    fn from(s: RoleSource) -> Self {
        match s {
            RoleSource::ScimGroup => Self::ScimGroup,
            RoleSource::SsoClaim => Self::SsoClaim,
        }
    }
}

impl From<SourceJson> for RoleSource {
    fn from(s: SourceJson) -> Self {
        match s {
            SourceJson::ScimGroup => Self::ScimGroup,
            SourceJson::SsoClaim => Self::SsoClaim,
        }
    }
}

/// A role rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleRuleJson {
    /// Its id.
    pub id: String,
    /// Where it looks.
    pub source: SourceJson,
    /// For `sso_claim`: the one claim or attribute it reads; `null` reads `groups`,
    /// `roles` and Entra ID's group and role claims.
    pub claim: Option<String>,
    /// The group name (ASCII letter case aside) or the exact claim value.
    pub value: String,
    /// The role it gives.
    pub role: RoleJson,
    /// When it was made.
    pub created_at: String,
}

impl RoleRuleJson {
    fn of(r: &RoleRule) -> Self {
        Self {
            id: r.id.to_string(),
            source: r.source.into(),
            claim: r.claim.clone(),
            value: r.value.clone(),
            role: r.role.into(),
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// The account's rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleRuleList {
    /// Oldest first.
    pub rules: Vec<RoleRuleJson>,
}

/// A rule to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRoleRule {
    /// Where it looks.
    pub source: SourceJson,
    /// For `sso_claim` only: the claim or attribute to read instead of the usual ones.
    pub claim: Option<String>,
    /// The group name or claim value, such as `Portcullis Admins`.
    pub value: String,
    /// The role it gives.
    pub role: RoleJson,
}

/// Lists the account's role rules.
#[utoipa::path(operation_id = "listRoleRules", tag = "role-rules", responses((status = 200, body = RoleRuleList)), security(("api_key" = [])))]
#[get("/api/v1/role-rules")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let all = state
        .read(move |store| role_rules::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(RoleRuleList {
        rules: all.iter().map(RoleRuleJson::of).collect(),
    }))
}

/// Makes a rule. The highest role among the rules a member matches is theirs, else
/// `member`; a demotion that would leave the account without an admin is not made.
#[utoipa::path(operation_id = "createRoleRule", tag = "role-rules", request_body = NewRoleRule,
    responses((status = 201, body = RoleRuleJson),
               (status = 400, description = "an empty or overlong value, or a claim on a scim_group rule"),
               (status = 409, description = "the account has a rule with this source, claim and value")),
    security(("api_key" = [])))]
#[post("/api/v1/role-rules")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewRoleRule>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewRule {
        source: body.source.into(),
        claim: body.claim,
        value: body.value,
        role: Role::from(body.role),
    };
    let rule = state
        .write(move |store| role_rules::create(store, &caller.0, new, Utc::now()))
        .await?;
    Ok(HttpResponse::Created().json(RoleRuleJson::of(&rule)))
}

/// Removes a rule; the roles it gave stay until the next change that applies the rules.
#[utoipa::path(operation_id = "deleteRoleRule", tag = "role-rules", params(("id" = String, Path, description = "rule id")),
    responses((status = 204), (status = 404)), security(("api_key" = [])))]
#[delete("/api/v1/role-rules/{id}")]
async fn delete_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| role_rules::delete(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
