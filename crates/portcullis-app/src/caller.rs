//! Who asks for a use case: a signed-in member, an API key with its owner, or the
//! operator at the server's command line; always inside one account.

use std::net::IpAddr;

use portcullis_domain::policy::{self, PolicyRequester};
use portcullis_domain::{
    Account, Actor, ApiKeyId, AuditEvent, AuthMethod, Scope, Scopes, SessionId, SetupLinkId,
    SetupSection, User,
};

use crate::audit;
use crate::AppError;

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// A dashboard session of a member.
    Session {
        /// The signed-in member.
        user: User,
        /// Their session.
        session: SessionId,
        /// How the session signed in.
        method: AuthMethod,
    },
    /// An API key, acting for its owner (an admin or a bot).
    ApiKey {
        /// The key.
        key: ApiKeyId,
        /// Its owner.
        owner: User,
        /// Which APIs it may call.
        scopes: Scopes,
    },
    /// An operator command (break-glass, no web UI).
    Operator,
    /// The customer's IT admin through a setup link: only the link's sections, and
    /// within them only once a use case has opened one ([`Caller::open`]).
    SetupLink {
        /// The link.
        link: SetupLinkId,
        /// What it opens.
        sections: Vec<SetupSection>,
        /// The section the current use case works in; `None` manages nothing.
        opened: Option<SetupSection>,
    },
}

/// An authenticated caller inside one account: every id it names is looked up there.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's account.
    pub account: Account,
    /// Who they are and how they proved it.
    pub via: Via,
    /// Their address, when known.
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// The operator acting on `account` from the command line.
    pub fn operator(account: Account) -> Self {
        Self {
            account,
            via: Via::Operator,
            ip: None,
        }
    }

    /// The signed-in member, or the API key's owner; `None` for the operator.
    pub fn user(&self) -> Option<&User> {
        match &self.via {
            Via::Session { user, .. } => Some(user),
            Via::ApiKey { owner, .. } => Some(owner),
            Via::Operator | Via::SetupLink { .. } => None,
        }
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        match &self.via {
            Via::Session { user, .. } => Actor::User(user.id),
            Via::ApiKey { key, .. } => Actor::ApiKey(*key),
            Via::Operator => Actor::System,
            Via::SetupLink { link, .. } => Actor::SetupLink(*link),
        }
    }

    /// Who asks, as the enforcement decision needs it.
    pub fn requester(&self) -> PolicyRequester {
        match &self.via {
            Via::Session { method, .. } => PolicyRequester::Admin(*method),
            Via::ApiKey { .. } => PolicyRequester::ApiKey,
            Via::Operator => PolicyRequester::Operator,
            Via::SetupLink { .. } => PolicyRequester::ApiKey,
        }
    }

    /// The caller's address as the audit log keeps it.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// Refuses callers who may not manage the account (admins, admin-scoped keys of
    /// admins and bots, and the operator may).
    pub fn require_manager(&self) -> Result<(), AppError> {
        if let Via::SetupLink { opened: None, .. } = &self.via {
            return Err(AppError::Forbidden(
                "a setup link opens only the identity provider, SCIM and domain steps it was made for"
                    .into(),
            ));
        }
        if let Via::ApiKey { scopes, .. } = &self.via {
            if !scopes.allows(Scope::Admin) {
                return Err(AppError::Forbidden(
                    "this API key has no admin scope: it cannot manage the account".into(),
                ));
            }
        }
        match self.user() {
            Some(user) => {
                policy::may_manage_account(user).map_err(|e| AppError::Forbidden(e.to_string()))
            }
            None => Ok(()),
        }
    }

    /// The caller working in `section`: a setup link that opens it may then manage what
    /// the use case at hand touches; one that does not is `Forbidden`. Any other caller
    /// must be able to manage the account.
    pub fn open(&self, section: SetupSection) -> Result<Caller, AppError> {
        let mut opened = self.clone();
        match &mut opened.via {
            Via::SetupLink {
                sections, opened, ..
            } => {
                if !sections.contains(&section) {
                    return Err(AppError::Forbidden(format!(
                        "this setup link does not open the {} step",
                        section.as_str()
                    )));
                }
                *opened = Some(section);
            }
            _ => self.require_manager()?,
        }
        Ok(opened)
    }

    /// An audit event of this caller in their account, to write with the change.
    pub fn event(
        &self,
        action: &str,
        target: Option<String>,
        detail: serde_json::Value,
        now: chrono::DateTime<chrono::Utc>,
    ) -> AuditEvent {
        audit::event(
            self.account.id,
            self.actor(),
            action,
            target,
            self.ip_text(),
            detail,
            now,
        )
    }
}
