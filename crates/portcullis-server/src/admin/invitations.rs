//! `/api/v1/invitations`: invite a person by email with a role. The link is single-use,
//! valid for seven days, always returned to the admin, and only its hash is stored.

use actix_web::{get, post, web, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use portcullis_domain::{Email, Invitation, InvitationId, Role, SecretHash};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{Caller, Manager};
use super::members::RoleJson;
use crate::error::{ApiError, AppError};
use crate::ops;
use crate::state::AppState;

/// Wires the routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(list_route).service(create_route);
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

/// Makes an invitation and returns it with its link.
pub async fn invite(
    state: &AppState,
    caller: &Caller,
    email: &str,
    role: Role,
) -> Result<(Invitation, String), AppError> {
    caller.require_manager()?;
    let email = Email::parse(email)?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = Utc::now();
    let invitation = Invitation {
        id: InvitationId::from_uuid(Uuid::new_v4()),
        account: caller.account.id,
        email,
        role,
        invited_by: caller.user.id,
        token_hash: SecretHash::of(&token),
        created_at: now,
        expires_at: now + Invitation::default_validity(),
        accepted_at: None,
    };
    let (actor, ip, saved) = (caller.actor(), caller.ip_text(), invitation.clone());
    state
        .db(move |store| {
            if store.user_by_email(saved.account, &saved.email)?.is_some() {
                return Ok(Err(AppError::Conflict(format!(
                    "{} is already a member of this account",
                    saved.email
                ))));
            }
            store.insert_invitation(&saved)?;
            let detail =
                serde_json::json!({ "email": saved.email.as_str(), "role": saved.role.as_str() })
                    .to_string();
            Ok(ops::audit_detail(
                store,
                saved.account,
                actor,
                "invitation.created",
                Some(saved.id.to_string()),
                ip,
                detail,
                now,
            ))
        })
        .await??;
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
    if state.config.smtp_url.is_none() {
        return Ok(false);
    }
    let text =
        crate::mail::invitation_text(&caller.account.name, caller.user.display_name.as_str(), url);
    let subject = format!("You are invited to {}", caller.account.name);
    match crate::mail::send(&state.config, invitation.email.as_str(), &subject, text).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(error = %e, "invitation mail failed");
            Err(e.to_string())
        }
    }
}

/// The account's invitations.
pub async fn list_invitations(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<Invitation>, AppError> {
    caller.require_manager()?;
    let id = caller.account.id;
    state.db(move |store| store.list_invitations(id)).await
}

/// Lists the account's invitations.
#[utoipa::path(operation_id = "listInvitations", tag = "members", responses((status = 200, body = InvitationList)), security(("api_key" = [])))]
#[get("/api/v1/invitations")]
async fn list_route(state: web::Data<AppState>, caller: Manager) -> Result<HttpResponse, ApiError> {
    let invitations = list_invitations(&state, &caller.0).await?;
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
