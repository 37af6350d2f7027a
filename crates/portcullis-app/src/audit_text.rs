//! The audit log as people read it: names and emails instead of ids for who and what, and
//! one sentence per event ("admin@acme.com switched provisioning to SCIM").

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use portcullis_domain::{Actor, AuditEvent, Email};
use portcullis_store::{AuditFilter, Store};
use serde_json::Value;

use crate::{AppError, Caller};

/// What to show of the log; `None` shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Who: a member's email, or `system`, `anonymous`, `user:<id>`, `api_key:<id>`.
    pub actor: Option<String>,
    /// An action (`member.deleted`) or a family of them (`member.`).
    pub action: Option<String>,
    /// From this time on.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
}

/// An event with the names it is about and its sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableEvent {
    /// The event as stored.
    pub event: AuditEvent,
    /// Who, by name: a member's email, an API key's description and prefix, `Portcullis`
    /// or `someone`.
    pub actor_name: String,
    /// What it was about, by name, when it names something that can be found.
    pub target_name: Option<String>,
    /// The event in one sentence.
    pub sentence: String,
}

/// Most events a page holds.
pub const MAX_PAGE: i64 = 1000;

/// A page of the account's log, newest first, readable.
pub fn search(
    store: &Store,
    caller: &Caller,
    query: &AuditQuery,
    offset: i64,
    limit: i64,
) -> Result<Vec<ReadableEvent>, AppError> {
    caller.require_manager()?;
    let account = caller.account.id;
    let actor = match query
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(text) => Some(actor_filter(store, caller, text)?),
    };
    let filter = AuditFilter {
        actor,
        action_prefix: query
            .action
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        since: query.since,
        until: query.until,
    };
    let events = store.search_audit(account, &filter, limit.clamp(0, MAX_PAGE), offset)?;
    let mut names = Names::new(store, caller);
    events
        .into_iter()
        .map(|event| {
            let actor_name = names.actor(&event.actor)?;
            let target_name = match &event.target {
                Some(t) => names.target(t)?,
                None => None,
            };
            let sentence = sentence(&event, &actor_name, target_name.as_deref());
            Ok(ReadableEvent {
                event,
                actor_name,
                target_name,
                sentence,
            })
        })
        .collect()
}

/// The store's actor filter for what a person typed.
fn actor_filter(
    store: &Store,
    caller: &Caller,
    text: &str,
) -> Result<(String, Option<String>), AppError> {
    let pair = |kind: &str, id: Option<&str>| (kind.to_owned(), id.map(str::to_owned));
    Ok(match text {
        "system" | "anonymous" => pair(text, None),
        _ if text.starts_with("user:") => pair("user", text.strip_prefix("user:")),
        _ if text.starts_with("api_key:") => pair("api_key", text.strip_prefix("api_key:")),
        email => {
            let email = Email::parse(email)?;
            let user = store
                .user_by_email(caller.account.id, &email)?
                .ok_or_else(|| AppError::BadRequest(format!("actor: no member is {email}")))?;
            pair("user", Some(&user.id.to_string()))
        }
    })
}

/// Names looked up once per page.
struct Names<'a> {
    store: &'a Store,
    caller: &'a Caller,
    cache: HashMap<String, Option<String>>,
    keys: Option<HashMap<String, String>>,
}

impl<'a> Names<'a> {
    fn new(store: &'a Store, caller: &'a Caller) -> Self {
        Self {
            store,
            caller,
            cache: HashMap::new(),
            keys: None,
        }
    }

    fn key_name(&mut self, id: &str) -> Result<Option<String>, AppError> {
        if self.keys.is_none() {
            let keys = self.store.list_api_keys(self.caller.account.id)?;
            self.keys = Some(
                keys.into_iter()
                    .map(|k| {
                        (
                            k.id.to_string(),
                            format!("API key {} ({}…)", k.description, k.prefix),
                        )
                    })
                    .collect(),
            );
        }
        Ok(self.keys.as_ref().and_then(|k| k.get(id).cloned()))
    }

    fn actor(&mut self, actor: &Actor) -> Result<String, AppError> {
        Ok(match actor {
            Actor::User(id) => self
                .target(&id.to_string())?
                .unwrap_or_else(|| format!("a former member ({id})")),
            Actor::ApiKey(id) => self
                .key_name(&id.to_string())?
                .unwrap_or_else(|| format!("API key {id}")),
            Actor::System => "Portcullis".into(),
            Actor::Anonymous => "someone".into(),
            Actor::SetupLink(_) => "the IT admin with a setup link".into(),
        })
    }

    /// The name of what `target` (an id) stands for: a member, an IdP, a group, a domain,
    /// a webhook or an API key of the account.
    fn target(&mut self, target: &str) -> Result<Option<String>, AppError> {
        if let Some(name) = self.cache.get(target) {
            return Ok(name.clone());
        }
        let account = self.caller.account.id;
        let Ok(uuid) = uuid::Uuid::parse_str(target) else {
            return Ok(None);
        };
        let store = self.store;
        let name = if let Some(user) =
            store.user(account, portcullis_domain::UserId::from_uuid(uuid))?
        {
            Some(user.email.to_string())
        } else if let Some(idp) = store.idp(account, portcullis_domain::IdpId::from_uuid(uuid))? {
            Some(idp.description)
        } else if let Some(group) =
            store.scim_group(account, portcullis_domain::GroupId::from_uuid(uuid))?
        {
            Some(group.display_name)
        } else if let Some(domain) =
            store.domain(account, portcullis_domain::DomainId::from_uuid(uuid))?
        {
            Some(domain.domain.to_string())
        } else if let Some(hook) =
            store.webhook(account, portcullis_domain::WebhookId::from_uuid(uuid))?
        {
            Some(hook.url)
        } else {
            self.key_name(target)?
        };
        self.cache.insert(target.to_owned(), name.clone());
        Ok(name)
    }
}

/// A detail field as text.
fn field<'a>(detail: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(detail, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn mode(text: &str) -> &str {
    match text {
        "scim" => "SCIM",
        "just_in_time" => "just-in-time",
        "invite" => "invitations",
        "enforced" => "enforced",
        "mixed" => "mixed",
        other => other,
    }
}

/// The event in one sentence.
pub fn sentence(event: &AuditEvent, actor: &str, target: Option<&str>) -> String {
    let detail: Value = serde_json::from_str(&event.detail).unwrap_or(Value::Null);
    let d = |path: &[&str]| field(&detail, path).to_owned();
    let target = target
        .map(str::to_owned)
        .or_else(|| event.target.clone())
        .unwrap_or_default();
    match event.action.as_str() {
        "account.created" => format!("{actor} created the account"),
        "account.name.changed" => format!("{actor} renamed the account to {}", d(&["name"])),
        "account.enforcement.changed" => {
            format!("{actor} switched single sign-on to {}", mode(&d(&["enforcement"])))
        }
        "account.provisioning.changed" => {
            format!("{actor} switched provisioning to {}", mode(&d(&["provisioning"])))
        }
        "account.provision_only_verified_domains.changed" => {
            let on = detail["provision_only_verified_domains"] == Value::Bool(true);
            format!(
                "{actor} {} provisioning only verified domains",
                if on { "switched on" } else { "switched off" }
            )
        }
        "account.ip_restrictions.changed" => format!("{actor} changed the API IP restrictions"),
        "member.changed" => format!(
            "{actor} changed {target}: role {}, {}",
            d(&["role"]),
            if detail["active"] == Value::Bool(false) { "deactivated" } else { "active" }
        ),
        "member.deleted" => format!("{actor} deleted {target}"),
        "member.role.changed" => format!(
            "{target} became {} by the role rule for {:?}",
            d(&["to"]),
            d(&["rule", "value"])
        ),
        "member.role.kept" => format!(
            "{target} stayed {}: the role rule for {:?} would have left the account without an admin",
            d(&["from"]),
            d(&["rule", "value"])
        ),
        "invitation.created" => format!("{actor} invited {} as {}", d(&["email"]), d(&["role"])),
        "invitation.revoked" => format!("{actor} revoked an invitation"),
        "invitation.accepted" => format!("{actor} accepted an invitation ({})", d(&["method"])),
        "login.succeeded" => format!("{actor} signed in ({})", d(&["method"])),
        "logout" => format!("{actor} signed out"),
        "logout.idp" => format!(
            "{target} was signed out by the identity provider {}",
            d(&["idp_description"])
        ),
        "login.failed" => format!(
            "A sign-in as {} failed ({}, reason: {})",
            d(&["email"]),
            d(&["method"]),
            d(&["reason"])
        ),
        "login.tested" => format!(
            "A test sign-in through {} verified {}; nobody was signed in",
            d(&["idp_description"]),
            d(&["email"])
        ),
        "account.suspended" => "An operator suspended the account".into(),
        "account.resumed" => "An operator resumed the account".into(),
        "setup_link.created" => format!(
            "{actor} made a setup link opening {}",
            detail["sections"]
                .as_array()
                .map(|s| s.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ),
        "setup_link.revoked" => format!("{actor} revoked a setup link"),
        "user.created_just_in_time" => format!("{target} joined at their first sign-in"),
        "scim.user.created" => format!("{actor} created {} over SCIM", d(&["userName"])),
        "scim.user.updated" => format!("{actor} updated {} over SCIM", d(&["userName"])),
        "scim.user.deactivated" => format!("{actor} deactivated {} over SCIM", d(&["userName"])),
        "scim.user.reactivated" => format!("{actor} reactivated {} over SCIM", d(&["userName"])),
        "scim.user.deleted" => format!("{actor} deleted {} over SCIM", d(&["userName"])),
        "scim.group.created" => format!("{actor} created the group {} over SCIM", d(&["displayName"])),
        "scim.group.updated" => format!("{actor} updated the group {} over SCIM", d(&["displayName"])),
        "scim.group.deleted" => format!("{actor} deleted the group {} over SCIM", d(&["displayName"])),
        "idp.created" => format!("{actor} added the identity provider {target}"),
        "idp.updated" => format!("{actor} changed the identity provider {target}"),
        "idp.deleted" => format!("{actor} deleted the identity provider {target}"),
        "idp.metadata.refreshed" => format!("{actor} refreshed the metadata of {target}"),
        "idp.sp_key.rotated" => format!("{actor} replaced the SP signing key of {target}"),
        "idp.sp_encryption_key.rotated" => {
            format!("{actor} replaced the SP encryption key of {target}")
        }
        "idp.certificate_expiring" => format!(
            "The signing certificate of {target} expires within {} days",
            detail["days"]
        ),
        "domain.added" => format!("{actor} claimed the domain {}", d(&["domain"])),
        "domain.verified" => format!("{actor} verified the domain {}", d(&["domain"])),
        "domain.updated" => format!("{actor} changed the policy of the domain {}", d(&["domain"])),
        "domain.removed" => format!("{actor} gave up the domain {}", d(&["domain"])),
        "domain.record_missing" => {
            format!("The TXT record of the domain {} is missing", d(&["domain"]))
        }
        "domain.unverified" => format!(
            "The domain {} is no longer verified: its record was gone for 7 days",
            d(&["domain"])
        ),
        "role_rule.created" => format!(
            "{actor} made a role rule: {} {:?} gives {}",
            d(&["source"]),
            d(&["value"]),
            d(&["role"])
        ),
        "role_rule.deleted" => format!("{actor} removed the role rule for {:?}", d(&["value"])),
        "webhook.created" => format!("{actor} added a webhook to {}", d(&["url"])),
        "webhook.updated" => format!("{actor} changed the webhook to {}", d(&["url"])),
        "webhook.deleted" => format!("{actor} removed the webhook to {}", d(&["url"])),
        "api_key.created" => format!("{actor} created the API key {}", d(&["description"])),
        "api_key.revoked" => format!("{actor} revoked {target}"),
        "api_key.refused" => format!("{actor} was refused: {}", d(&["reason"])),
        "bot.created" => format!("{actor} created the bot {target}"),
        "bot.deleted" => format!("{actor} deleted the bot {target}"),
        other if target.is_empty() => format!("{actor}: {other}"),
        other => format!("{actor}: {other} ({target})"),
    }
}
