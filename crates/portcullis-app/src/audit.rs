//! Audit events: every change and sign-in leaves one, written in the change's own
//! transaction where the store takes it with the change.

use chrono::{DateTime, Utc};
use portcullis_domain::{AccountId, Actor, AuditEvent};
use portcullis_store::Store;

use crate::AppError;

/// An audit event with a fresh id. `detail` is JSON (`Value::Null` is written as `{}`).
pub fn event(
    account: AccountId,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: Option<String>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> AuditEvent {
    let detail = if detail.is_null() {
        "{}".to_owned()
    } else {
        detail.to_string()
    };
    AuditEvent {
        id: crate::ids::new_audit_event_id(),
        account,
        actor,
        action: action.to_owned(),
        target,
        ip,
        detail,
        at,
    }
}

/// Writes an event on its own (for changes the store does not take an event with).
pub fn record(store: &Store, event: &AuditEvent) -> Result<(), AppError> {
    Ok(store.record_audit(event)?)
}
