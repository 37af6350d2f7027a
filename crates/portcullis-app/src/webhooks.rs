//! Webhooks: the account's receivers (admin scope only), the events a change emits
//! ([`emit`], in the change's own transaction: the outbox), and what a delivery sends.
//! Sending is the server's (`webhook_sender.rs`): it claims due deliveries, signs and
//! posts them, and records each attempt with [`record`].

use std::future::Future;

use chrono::{DateTime, SecondsFormat, Utc};
use portcullis_domain::webhook::{self, PING};
use portcullis_domain::{AccountId, DeliveryId, User, Webhook, WebhookId, WebhookSecret};
use portcullis_store::{Attempt, Delivery, Store};
use rand::RngCore;
use serde_json::{json, Value};

use crate::{audit, AppError, Caller, Exec};

/// Whether a receiver URL may be called: its scheme and where its host resolves, under
/// the operator's switch for private addresses (link-local addresses never). Checked when
/// a webhook is saved and again before each attempt, since DNS may change.
pub trait UrlGuard {
    /// `Err` with why the URL may not be called.
    fn check(&self, url: &url::Url) -> impl Future<Output = Result<(), String>>;
}

/// What a new webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// The receiver.
    pub url: String,
    /// Event types, or `["*"]`.
    pub events: Vec<String>,
    /// What it is for.
    pub description: String,
}

/// A change to a webhook; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookChange {
    /// A new receiver.
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// A new description.
    pub description: Option<String>,
}

/// How many deliveries the log shows.
pub const LOG_LIMIT: i64 = 100;

/// A webhook as the audit log keeps it (never its secret).
fn detail(w: &Webhook) -> Value {
    json!({"url": w.url, "events": w.events, "description": w.description})
}

async fn checked_url(guard: &impl UrlGuard, text: &str) -> Result<String, AppError> {
    let url = Webhook::check_url(text)?;
    guard
        .check(&url)
        .await
        .map_err(|why| AppError::BadRequest(format!("url: {why}")))?;
    Ok(url.to_string())
}

/// Makes a webhook with a fresh secret (shown once, in the answer). 400 for a URL that is
/// malformed or points where the server may not call, or unknown event types.
pub async fn create(
    exec: &impl Exec,
    guard: &impl UrlGuard,
    caller: &Caller,
    new: NewWebhook,
    now: DateTime<Utc>,
) -> Result<Webhook, AppError> {
    caller.require_manager()?;
    let events = Webhook::check_events(&new.events)?;
    let description = Webhook::check_description(&new.description)?;
    let url = checked_url(guard, &new.url).await?;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hook = Webhook {
        id: WebhookId::from_uuid(uuid::Uuid::new_v4()),
        account: caller.account.id,
        url,
        events,
        description,
        secret: WebhookSecret::from_bytes(bytes),
        created_at: now,
    };
    let who = caller.clone();
    let made = hook.clone();
    exec.write(move |store| {
        store.transaction(|store| {
            store.insert_webhook(&made)?;
            let event = who.event(
                "webhook.created",
                Some(made.id.to_string()),
                detail(&made),
                now,
            );
            audit::record(store, &event)
        })
    })
    .await?;
    Ok(hook)
}

/// The account's webhooks.
pub fn list(store: &Store, caller: &Caller) -> Result<Vec<Webhook>, AppError> {
    caller.require_manager()?;
    Ok(store.webhooks(caller.account.id)?)
}

/// One of them.
pub fn get(store: &Store, caller: &Caller, id: WebhookId) -> Result<Webhook, AppError> {
    caller.require_manager()?;
    store
        .webhook(caller.account.id, id)?
        .ok_or(AppError::NotFound)
}

/// Changes a webhook's URL (checked as on creation), events or description.
pub async fn update(
    exec: &impl Exec,
    guard: &impl UrlGuard,
    caller: &Caller,
    id: WebhookId,
    change: WebhookChange,
    now: DateTime<Utc>,
) -> Result<Webhook, AppError> {
    let who = caller.clone();
    let mut hook = exec.read(move |store| get(store, &who, id)).await?;
    if let Some(url) = &change.url {
        hook.url = checked_url(guard, url).await?;
    }
    if let Some(events) = &change.events {
        hook.events = Webhook::check_events(events)?;
    }
    if let Some(description) = &change.description {
        hook.description = Webhook::check_description(description)?;
    }
    let who = caller.clone();
    let saved = hook.clone();
    exec.write(move |store| {
        store.transaction(|store| {
            store.update_webhook(&saved).map_err(|e| match e {
                portcullis_store::StoreError::NotFound => AppError::NotFound,
                other => other.into(),
            })?;
            let event = who.event(
                "webhook.updated",
                Some(saved.id.to_string()),
                detail(&saved),
                now,
            );
            audit::record(store, &event)
        })
    })
    .await?;
    Ok(hook)
}

/// Removes a webhook and its deliveries.
pub fn delete(
    store: &Store,
    caller: &Caller,
    id: WebhookId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    caller.require_manager()?;
    store.transaction(|store| {
        let hook = store
            .webhook(caller.account.id, id)?
            .ok_or(AppError::NotFound)?;
        store.delete_webhook(caller.account.id, id)?;
        let event = caller.event("webhook.deleted", Some(id.to_string()), detail(&hook), now);
        audit::record(store, &event)
    })
}

/// The body of an event: `{"type", "timestamp", "data"}`.
pub fn body(kind: &str, now: DateTime<Utc>, data: &Value) -> String {
    json!({"type": kind, "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
           "data": data})
    .to_string()
}

/// Queues a `ping` to one webhook (whatever it subscribes to).
pub fn ping(
    store: &Store,
    caller: &Caller,
    id: WebhookId,
    now: DateTime<Utc>,
) -> Result<Delivery, AppError> {
    let hook = get(store, caller, id)?;
    let data = json!({"webhook_id": hook.id.to_string(), "account_id": hook.account.to_string()});
    let delivery = Delivery::new(&hook, PING, body(PING, now, &data), now);
    store.insert_deliveries(std::slice::from_ref(&delivery))?;
    Ok(delivery)
}

/// A webhook's deliveries, newest first.
pub fn deliveries(
    store: &Store,
    caller: &Caller,
    id: WebhookId,
) -> Result<Vec<Delivery>, AppError> {
    get(store, caller, id)?;
    Ok(store.deliveries(caller.account.id, id, LOG_LIMIT)?)
}

/// Sends a delivery again ("send again"): due now, with a fresh day of retries.
pub fn resend(
    store: &Store,
    caller: &Caller,
    webhook: WebhookId,
    delivery: DeliveryId,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    get(store, caller, webhook)?;
    if !store.requeue_delivery(caller.account.id, webhook, delivery, now)? {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Emits an event of `account`: a delivery to each of its webhooks that subscribes,
/// written through `store` — call it inside the transaction of the change it reports, so
/// that a change rolled back emits nothing. `data` is the resource as the admin API
/// shows it.
pub fn emit(
    store: &Store,
    account: AccountId,
    kind: &str,
    data: &Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    emit_with(store, account, kind, now, |_| Ok(data.clone()))
}

/// [`emit`] with the data made only when a webhook subscribes (reading the store costs
/// nothing then).
fn emit_with(
    store: &Store,
    account: AccountId,
    kind: &str,
    now: DateTime<Utc>,
    data: impl FnOnce(&Store) -> Result<Value, AppError>,
) -> Result<(), AppError> {
    debug_assert!(webhook::EVENT_TYPES.contains(&kind), "{kind}");
    let subscribed = store.subscribed_webhooks(account, kind)?;
    if subscribed.is_empty() {
        return Ok(());
    }
    let payload = body(kind, now, &data(store)?);
    let deliveries: Vec<Delivery> = subscribed
        .into_iter()
        .map(|w| Delivery::to(account, w, kind, payload.clone(), now))
        .collect();
    Ok(store.insert_deliveries(&deliveries)?)
}

/// Emits a member event: the member as stored by the change (so as the admin API shows
/// it), or as `user` says when the change deleted them.
pub fn emit_member(
    store: &Store,
    kind: &str,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    emit_with(store, user.account, kind, now, |store| {
        let stored = store.user(user.account, user.id)?;
        Ok(member_data(stored.as_ref().unwrap_or(user)))
    })
}

/// [`emit_member`] for a change that knows the member exactly as it stored them, which is
/// then not read again: a create, with the member the store gives back, or a write over
/// the version of the member it read (every change to a member moves their version).
pub fn emit_member_written(
    store: &Store,
    kind: &str,
    user: &User,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    emit_with(store, user.account, kind, now, |_| Ok(member_data(user)))
}

/// A member as the admin API shows it (`GET /api/v1/members/{id}`).
pub fn member_data(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "email": user.email.as_str(),
        "display_name": user.display_name,
        "role": user.role.as_str(),
        "active": user.active,
        "origin": user.origin.as_str(),
        "kind": user.kind.as_str(),
        "created_at": user.created_at,
    })
}

/// An identity provider as events show it (never its secrets or keys).
pub fn idp_data(idp: &portcullis_domain::IdentityProvider) -> Value {
    json!({"id": idp.id.to_string(), "description": idp.description,
           "protocol": idp.kind(), "enabled": idp.enabled, "created_at": idp.created_at})
}

/// An account's settings as `GET /api/v1/account` shows them.
pub fn account_data(account: &portcullis_domain::Account) -> Value {
    let ranges: Vec<String> = account
        .api_ip_restrictions
        .ranges()
        .iter()
        .map(ToString::to_string)
        .collect();
    json!({"id": account.id.to_string(), "slug": account.slug.as_str(), "name": account.name,
           "enforcement": account.enforcement.as_str(),
           "provisioning": account.provisioning.as_str(),
           "provision_only_verified_domains": account.provision_only_verified_domains,
           "api_ip_restrictions": ranges})
}

/// Records how an attempt ended: delivered, or failed and retried with backoff until
/// [`webhook::RETRY_FOR`] after the delivery was queued, then failed.
pub fn record(
    store: &Store,
    delivery: &Delivery,
    outcome: Result<u16, (Option<u16>, String)>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let attempt = match outcome {
        Ok(status) if (200..300).contains(&status) => Attempt::Delivered {
            status: i32::from(status),
        },
        Ok(status) => Attempt::Failed {
            status: Some(i32::from(status)),
            error: format!("the receiver answered {status}"),
            retry_at: retry(delivery, now),
        },
        Err((status, error)) => Attempt::Failed {
            status: status.map(i32::from),
            error,
            retry_at: retry(delivery, now),
        },
    };
    Ok(store.record_attempt(delivery.id, &attempt, now)?)
}

fn retry(delivery: &Delivery, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let attempts = u32::try_from(delivery.attempts).unwrap_or(0) + 1;
    webhook::retry_at(delivery.due_since, attempts, now)
}
