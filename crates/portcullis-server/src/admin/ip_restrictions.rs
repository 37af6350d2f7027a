//! `GET/PUT /api/v1/ip-restrictions`: the networks API calls (SCIM included) may come from.

use actix_web::{get, put, web, HttpResponse};
use chrono::Utc;
use portcullis_app::accounts;
use portcullis_domain::Account;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Manager;
use crate::error::ApiError;
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
    let ranges = body.into_inner().ranges;
    let account = state
        .write(move |store| accounts::set_ip_restrictions(store, &caller.0, &ranges, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(IpRestrictionsJson::of(&account)))
}
