//! `GET/PUT /api/v1/ip-restrictions`: the networks API calls (SCIM included) may come from.

use actix_web::{get, put, web, HttpResponse};
use chrono::Utc;
use portcullis_domain::{policy, Account, IpRestrictions};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Manager, Via};
use crate::error::{ApiError, AppError};
use crate::ops;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(get_route).service(put_route);
}

/// The API IP restrictions: CIDR ranges (a bare address is one host). Empty allows all.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpRestrictionsJson {
    /// The ranges, such as `203.0.113.0/24` or `2001:db8::/32`.
    pub ranges: Vec<String>,
}

impl IpRestrictionsJson {
    /// The view of an account's restrictions.
    pub fn of(account: &Account) -> Self {
        Self {
            ranges: account
                .api_ip_restrictions
                .ranges()
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

/// Replaces the account's API IP restrictions; an invalid range is a 400 naming it.
pub async fn set_restrictions(
    state: &AppState,
    caller: &Caller,
    ranges: &[String],
) -> Result<Account, AppError> {
    caller.require_manager()?;
    let parsed = IpRestrictions::parse(ranges)?;
    let key_caller = match caller.via {
        Via::ApiKey(_) => caller.ip,
        Via::Session(_) => None,
    };
    policy::may_set_ip_restrictions(&parsed, key_caller)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let (id, actor, ip) = (caller.account.id, caller.actor(), caller.ip_text());
    state
        .db(move |store| {
            let now = Utc::now();
            let Some(mut account) = store.account(id)? else {
                return Ok(Err(AppError::NotFound));
            };
            account.api_ip_restrictions = parsed;
            store.update_account(&account)?;
            let detail = serde_json::json!({ "ranges": IpRestrictionsJson::of(&account).ranges })
                .to_string();
            if let Err(e) = ops::audit_detail(
                store,
                id,
                actor,
                "account.ip_restrictions.changed",
                None,
                ip,
                detail,
                now,
            ) {
                return Ok(Err(e));
            }
            Ok(Ok(account))
        })
        .await?
}

/// The account's API IP restrictions.
#[utoipa::path(operation_id = "getIpRestrictions", tag = "ip restrictions", responses((status = 200, body = IpRestrictionsJson)), security(("api_key" = [])))]
#[get("/api/v1/ip-restrictions")]
async fn get_route(caller: Manager) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(IpRestrictionsJson::of(&caller.0.account)))
}

/// Replaces the account's API IP restrictions.
#[utoipa::path(operation_id = "setIpRestrictions", tag = "ip restrictions", request_body = IpRestrictionsJson,
    responses((status = 200, body = IpRestrictionsJson), (status = 400, description = "an invalid range"), (status = 409, description = "would lock out the calling API key")),
    security(("api_key" = [])))]
#[put("/api/v1/ip-restrictions")]
async fn put_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<IpRestrictionsJson>,
) -> Result<HttpResponse, ApiError> {
    let account = set_restrictions(&state, &caller.0, &body.ranges).await?;
    Ok(HttpResponse::Ok().json(IpRestrictionsJson::of(&account)))
}
