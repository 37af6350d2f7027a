//! `/api/v1/invitations`: invite a person by email with a role. The link is single-use,
//! valid for seven days, always returned to the admin, and only its hash is stored.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use portcullis_app::invitations;
use portcullis_domain::{Account, Invitation, Role, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, Manager};
use super::members::{parse_id, RoleJson};
use crate::error::{ApiError, AppError};
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route)
        .service(create_route)
        .service(revoke_route);
}

/// A new invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// Who is invited.
    pub email: String,
    /// Their role once they accept (default `member`).
    pub role: Option<RoleJson>,
}

/// An invitation as listed (the link is only shown when it is made).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationJson {
    /// Stable id.
    pub id: String,
    /// Who is invited.
    pub email: String,
    /// Their role once they accept.
    pub role: RoleJson,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was used.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked (by an admin, or with the member who made it).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl InvitationJson {
    /// The view of an invitation.
    pub fn of(i: &Invitation) -> Self {
        Self {
            id: i.id.to_string(),
            email: i.email.to_string(),
            role: i.role.into(),
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
        }
    }
}

/// A new invitation with its link, to copy and send.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    /// The invitation.
    pub invitation: InvitationJson,
    /// The single-use link; it cannot be shown again.
    pub url: String,
    /// Whether it was also sent by mail (`false` when no SMTP server is configured).
    pub emailed: bool,
    /// Why the mail failed, when it did.
    pub email_error: Option<String>,
}

/// The account's invitations.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    /// Oldest first.
    pub invitations: Vec<InvitationJson>,
}

/// Makes an invitation ([`invitations::create`]) and returns it with its link.
pub async fn invite(
    state: &AppState,
    caller: &Caller,
    email: &str,
    role: Role,
) -> Result<(Invitation, String), AppError> {
    let (caller, email) = (caller.clone(), email.to_owned());
    let (invitation, token) = state
        .write(move |store| invitations::create(store, &caller, &email, role, Utc::now()))
        .await?;
    let url = format!("{}/invite/{token}", state.config.public_url);
    Ok((invitation, url))
}

/// Sends the invitation mail when SMTP is configured: `Ok(false)` when it is not, the
/// failure's text when sending failed (the admin still has the link).
pub async fn mail_invitation(
    state: &AppState,
    caller: &Caller,
    invitation: &Invitation,
    url: &str,
) -> Result<bool, String> {
    mail_invitation_to(state, &caller.account, caller.user(), invitation, url).await
}

/// [`mail_invitation`] for an invitation to `account` made by `inviter` (`None`: the
/// operator, or an admin with no name to give).
pub async fn mail_invitation_to(
    state: &AppState,
    account: &Account,
    inviter: Option<&User>,
    invitation: &Invitation,
    url: &str,
) -> Result<bool, String> {
    if state.config.smtp_url.is_none() {
        return Ok(false);
    }
    let inviter = inviter.map_or("an admin", |u| u.display_name.as_str());
    let text = crate::mail::invitation_text(&account.name, inviter, url);
    let subject = format!("You are invited to {}", account.name);
    match crate::mail::send(&state.config, invitation.email.as_str(), &subject, text).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "invitation mail failed");
            Err(e.to_string())
        }
    }
}

/// Lists the account's invitations.
#[utoipa::path(operation_id = "listInvitations", tag = "members", responses((status = 200, body = InvitationList)), security(("api_key" = [])))]
#[get("/api/v1/invitations")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let invitations = state
        .read(move |store| invitations::list(store, &caller.0))
        .await?;
    Ok(HttpResponse::Ok().json(InvitationList {
        invitations: invitations.iter().map(InvitationJson::of).collect(),
    }))
}

/// Invites a person by email with a role; the answer holds the single-use link.
#[utoipa::path(operation_id = "createInvitation", tag = "members", request_body = NewInvitation,
    responses((status = 201, body = CreatedInvitation), (status = 409, description = "already a member")),
    security(("api_key" = [])))]
#[post("/api/v1/invitations")]
async fn create_route(
    state: web::Data<AppState>,
    caller: Manager,
    body: web::Json<NewInvitation>,
) -> Result<HttpResponse, ApiError> {
    let role = body.role.map_or(Role::Member, Role::from);
    let (invitation, url) = invite(&state, &caller.0, &body.email, role).await?;
    let mailed = mail_invitation(&state, &caller.0, &invitation, &url).await;
    Ok(HttpResponse::Created().json(CreatedInvitation {
        invitation: InvitationJson::of(&invitation),
        url,
        emailed: mailed == Ok(true),
        email_error: mailed.err(),
    }))
}

/// Revokes a pending invitation: its link answers 410 from now on.
#[utoipa::path(operation_id = "revokeInvitation", tag = "members", params(("id" = String, Path, description = "invitation id")),
    responses((status = 204), (status = 404, description = "no such pending invitation in this account")),
    security(("api_key" = [])))]
#[delete("/api/v1/invitations/{id}")]
async fn revoke_route(
    state: web::Data<AppState>,
    caller: Manager,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    state
        .write(move |store| invitations::revoke(store, &caller.0, id, Utc::now()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
