//! `GET/PATCH /api/v1/account`: the account's name, SSO enforcement, provisioning mode
//! and domain rule.

use actix_web::{get, patch, web, HttpResponse};
use chrono::Utc;
use portcullis_app::accounts::{self, AccountChange};
use portcullis_domain::{Account, EnforcementPolicy, ProvisioningMode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Anyone, Manager};
use crate::error::ApiError;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(get_account).service(update_account_route);
}

/// Who must sign in through SSO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementJson {
    /// Members who had a password keep it; new members use SSO.
    Mixed,
    /// Everyone signs in through an identity provider.
    Enforced,
}

impl From<EnforcementPolicy> for EnforcementJson {
    fn from(p: EnforcementPolicy) -> Self {
        match p {
            EnforcementPolicy::Mixed => Self::Mixed,
            EnforcementPolicy::Enforced => Self::Enforced,
        }
    }
}

impl From<EnforcementJson> for EnforcementPolicy {
    fn from(p: EnforcementJson) -> Self {
        match p {
            EnforcementJson::Mixed => Self::Mixed,
            EnforcementJson::Enforced => Self::Enforced,
        }
    }
}

/// How new members come to exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProvisioningJson {
    /// An admin invites them.
    Invite,
    /// They are created on their first SSO login.
    JustInTime,
    /// The identity provider manages them over SCIM.
    Scim,
}

impl From<ProvisioningMode> for ProvisioningJson {
    fn from(p: ProvisioningMode) -> Self {
        match p {
            ProvisioningMode::Invite => Self::Invite,
            ProvisioningMode::JustInTime => Self::JustInTime,
            ProvisioningMode::Scim => Self::Scim,
        }
    }
}

impl From<ProvisioningJson> for ProvisioningMode {
    fn from(p: ProvisioningJson) -> Self {
        match p {
            ProvisioningJson::Invite => Self::Invite,
            ProvisioningJson::JustInTime => Self::JustInTime,
            ProvisioningJson::Scim => Self::Scim,
        }
    }
}

/// The account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountJson {
    /// Stable id.
    pub id: String,
    /// Short name used in URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// SSO enforcement policy.
    pub enforcement: EnforcementJson,
    /// Provisioning mode.
    pub provisioning: ProvisioningJson,
    /// The account's sign-in page.
    pub login_url: String,
    /// The SCIM base URL to paste into Okta or Entra ID.
    pub scim_base_url: String,
    /// Whether new members (SCIM, just in time, invitations) must have an email on one of
    /// the account's verified domains.
    pub provision_only_verified_domains: bool,
}

impl AccountJson {
    /// The view of an account.
    pub fn of(account: &Account, public_url: &str) -> Self {
        Self {
            id: account.id.to_string(),
            slug: account.slug.to_string(),
            name: account.name.clone(),
            enforcement: account.enforcement.into(),
            provisioning: account.provisioning.into(),
            login_url: format!("{public_url}/a/{}/login", account.slug),
            scim_base_url: format!("{public_url}/scim/v2"),
            provision_only_verified_domains: account.provision_only_verified_domains,
        }
    }
}

/// A change to the account; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New enforcement policy (enforcing needs an enabled IdP, and a session that signed
    /// in through one).
    pub enforcement: Option<EnforcementJson>,
    /// New provisioning mode (just-in-time and SCIM need an enabled IdP).
    pub provisioning: Option<ProvisioningJson>,
    /// Whether new members must have an email on one of the account's verified domains:
    /// SCIM creates and userName changes outside them get 400 `invalidValue`, just-in-time
    /// creation is refused (`domain_not_verified`), invitations get 400.
    pub provision_only_verified_domains: Option<bool>,
}

impl From<AccountUpdate> for AccountChange {
    fn from(u: AccountUpdate) -> Self {
        Self {
            name: u.name,
            enforcement: u.enforcement.map(EnforcementPolicy::from),
            provisioning: u.provisioning.map(ProvisioningMode::from),
            provision_only_verified_domains: u.provision_only_verified_domains,
        }
    }
}

/// The caller's account.
#[utoipa::path(operation_id = "getAccount", tag = "account", responses((status = 200, body = AccountJson)), security(("api_key" = [])))]
#[get("/api/v1/account")]
async fn get_account(state: web::Data<AppState>, caller: Anyone) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(AccountJson::of(&caller.0.account, &state.config.public_url)))
}

/// Changes the account's name, enforcement policy, provisioning mode or domain rule. Refusals say why
/// (409): enforcing without an enabled IdP or without an SSO sign-in, SCIM or
/// just-in-time without an IdP.
#[utoipa::path(operation_id = "updateAccount", tag = "account", request_body = AccountUpdate,
    responses((status = 200, body = AccountJson), (status = 409, description = "refused by the account's rules")),
    security(("api_key" = [])))]
#[patch("/api/v1/account")]
async fn update_account_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<AccountUpdate>,
) -> Result<HttpResponse, ApiError> {
    let change = AccountChange::from(body.into_inner());
    let account = state
        .write(move |store| accounts::update(store, &caller.0, change, Utc::now()))
        .await?;
    Ok(HttpResponse::Ok().json(AccountJson::of(&account, &state.config.public_url)))
}
