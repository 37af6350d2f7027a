//! Invitations: an admin invites an email; the invitee accepts with a password (accounts
//! without an enabled IdP) or through an IdP with the invited email.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use portcullis_domain::policy::{self, InviteAcceptance};
use portcullis_domain::{
    Account, AccountId, Actor, Email, IdentityProvider, IdpId, Invitation, InvitationId, Role,
    SecretHash, User, UserId,
};
use portcullis_store::Store;
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use crate::{audit, password, AppError, Caller, Exec};

/// Makes an invitation for `email` with `role`; returns it with its secret token (for
/// the link, shown once). Someone who is already a member cannot be invited.
pub fn create(
    store: &Store,
    caller: &Caller,
    email: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(Invitation, String), AppError> {
    caller.require_manager()?;
    let email = Email::parse(email)?;
    crate::domains::check_provisionable(store, &caller.account, &email)?;
    // `None`: the operator, inviting an account's first admin.
    let invited_by = caller.user().map(|u| u.id);
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let invitation = Invitation {
        id: InvitationId::from_uuid(Uuid::new_v4()),
        account: caller.account.id,
        email,
        role,
        invited_by,
        token_hash: SecretHash::of(&token),
        created_at: now,
        expires_at: now + Invitation::default_validity(),
        accepted_at: None,
        revoked_at: None,
    };
    store.transaction(|store| {
        if store
            .user_by_email(invitation.account, &invitation.email)?
            .is_some()
        {
            return Err(AppError::Conflict(format!(
                "{} is already a member of this account",
                invitation.email
            )));
        }
        store.insert_invitation(&invitation)?;
        audit::record(
            store,
            &caller.event(
                "invitation.created",
                Some(invitation.id.to_string()),
                json!({ "email": invitation.email.as_str(), "role": invitation.role.as_str() }),
                now,
            ),
        )
    })?;
    Ok((invitation, token))
}

/// Revokes a pending invitation of the account: its link stops working at once.
pub fn revoke(
    store: &Store,
    caller: &Caller,
    id: InvitationId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        if !store.revoke_invitation(caller.account.id, id, now)? {
            return Err(AppError::NotFound);
        }
        audit::record(
            store,
            &caller.event("invitation.revoked", Some(id.to_string()), json!({}), now),
        )
    })
}

/// Revokes the pending invitations `member` made: called, in the same transaction, when
/// that member is deactivated or deleted, on every path (admin API, dashboard, SCIM).
pub fn revoke_made_by(
    store: &Store,
    account: AccountId,
    member: UserId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    store.revoke_invitations_by(account, member, now)?;
    Ok(())
}

/// The account's invitations, oldest first.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<Invitation>, AppError> {
    caller.require_manager()?;
    Ok(store.list_invitations(caller.account.id)?)
}

/// An invitation link that can still be used, with its account and IdPs.
#[derive(Debug, Clone)]
pub struct Usable {
    /// The invitation.
    pub invitation: Invitation,
    /// The account to join.
    pub account: Account,
    /// The account's IdPs.
    pub idps: Vec<IdentityProvider>,
}

impl Usable {
    /// How the invitation is accepted: never with a password where the account has an
    /// enabled IdP.
    pub fn acceptance(&self) -> InviteAcceptance {
        policy::invite_acceptance(&self.account, &self.idps)
    }
}

/// The invitation of the link whose token hashes to `hash`, or why the link does not
/// work (unknown, used or expired).
pub fn usable(store: &Store, hash: &SecretHash, now: DateTime<Utc>) -> Result<Usable, AppError> {
    let not_valid = || {
        AppError::BadRequest(
            "this invitation link is not valid; check that you copied all of it".into(),
        )
    };
    let invitation = store.invitation_by_token(hash)?.ok_or_else(not_valid)?;
    if invitation.revoked_at.is_some() {
        return Err(AppError::Gone(
            "this invitation was revoked; ask an admin of the account for a new one".into(),
        ));
    }
    if invitation.accepted_at.is_some() {
        return Err(AppError::Conflict(
            "this invitation was already used; ask an admin for a new one".into(),
        ));
    }
    if !invitation.is_usable(now) {
        return Err(AppError::Conflict(
            "this invitation has expired; ask an admin for a new one".into(),
        ));
    }
    let account = store.account(invitation.account)?.ok_or_else(not_valid)?;
    let idps = store.list_idps(account.id)?;
    Ok(Usable {
        invitation,
        account,
        idps,
    })
}

/// Accepts the invitation of `token` with a chosen password (twice, to catch typos);
/// returns the account joined. Refused where the account requires an IdP. The password
/// is hashed off the async threads, then the member is written in one transaction.
pub async fn accept_with_password(
    exec: &impl Exec,
    token: &str,
    display_name: &str,
    password_text: &str,
    confirm: &str,
    ip: Option<String>,
) -> Result<Account, AppError> {
    if password_text != confirm {
        return Err(AppError::BadRequest("the two passwords differ".into()));
    }
    password::check_strength(password_text)?;
    let chosen = password_text.to_owned();
    let hash = exec.compute(move || password::hash(&chosen)).await?;
    let (token_hash, display_name) = (SecretHash::of(token), display_name.to_owned());
    exec.write(move |store| {
        let now = Utc::now();
        store.transaction(|store| {
            let found = usable(store, &token_hash, now)?;
            if found.acceptance() != InviteAcceptance::SetPassword {
                return Err(AppError::Forbidden(
                    "this account requires single sign-on: join through your identity provider"
                        .into(),
                ));
            }
            let user = User::invited(
                crate::ids::new_user_id(),
                &found.invitation,
                &display_name,
                Some(hash),
                now,
            );
            store.accept_invitation(found.invitation.id, &user, now)?;
            crate::webhooks::emit_member(store, "member.created", &user, now)?;
            audit::record(
                store,
                &audit::event(
                    found.account.id,
                    Actor::User(user.id),
                    "invitation.accepted",
                    Some(user.id.to_string()),
                    ip,
                    json!({ "method": "password" }),
                    now,
                ),
            )?;
            Ok(found.account)
        })
    })
    .await
}

/// Who an IdP verified, as [`accept_via_sso`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct SsoInvitee<'a> {
    /// The IdP that signed them in.
    pub idp: IdpId,
    /// Their subject (NameID or `sub`) at that IdP, to link; `None` for a transient one.
    pub subject: Option<&'a str>,
    /// The email the IdP asserted.
    pub email: &'a Email,
    /// The name the IdP asserted.
    pub display_name: &'a str,
}

/// An invitee came back from the IdP (`token_hash` names the invitation): the
/// invitation becomes a member with the email the IdP verified, linked to their
/// subject. Refuses a used or expired link, an IdP of another account, or another email.
/// Runs inside the sign-in's transaction.
pub fn accept_via_sso(
    store: &Store,
    token_hash: &SecretHash,
    who: &SsoInvitee<'_>,
    ip: Option<String>,
    now: DateTime<Utc>,
) -> Result<User, AppError> {
    let found = usable(store, token_hash, now)?;
    let idp = found
        .idps
        .iter()
        .find(|i| i.id == who.idp && i.enabled)
        .ok_or_else(|| {
            AppError::Forbidden(
                "this identity provider does not belong to the invitation's account".into(),
            )
        })?;
    if *who.email != found.invitation.email {
        return Err(AppError::Forbidden(format!(
            "this invitation is for {}, but the identity provider signed you in as {}",
            found.invitation.email, who.email
        )));
    }
    let user = User::invited(
        crate::ids::new_user_id(),
        &found.invitation,
        who.display_name,
        None,
        now,
    );
    store.accept_invitation(found.invitation.id, &user, now)?;
    crate::webhooks::emit_member(store, "member.created", &user, now)?;
    if let Some(subject) = who.subject {
        store.link_sso_subject(idp.id, subject, user.id, now)?;
    }
    audit::record(
        store,
        &audit::event(
            found.account.id,
            Actor::User(user.id),
            "invitation.accepted",
            Some(user.id.to_string()),
            ip,
            json!({ "method": "sso", "idp": idp.id.to_string() }),
            now,
        ),
    )?;
    Ok(user)
}
