//! New ids for the rows written most: members and audit events.
//!
//! They are time-ordered (UUIDv7: a millisecond timestamp, then random bits), so each new
//! row's primary-key entry goes at the end of its index, into a page that the last write
//! touched already, instead of into a random page of an index the size of the account:
//! on SQLite every page a batch changes is written to the log at its commit. An id names
//! a row and never grants anything (every read checks the caller's account), and a
//! member's creation time is already in their `meta.created`.

use portcullis_domain::{AuditEventId, UserId};
use uuid::Uuid;

/// A new member's id.
pub fn new_user_id() -> UserId {
    UserId::from_uuid(Uuid::now_v7())
}

/// A new audit event's id.
pub fn new_audit_event_id() -> AuditEventId {
    AuditEventId::from_uuid(Uuid::now_v7())
}
