//! The audit log.

use diesel::prelude::*;
use portcullis_domain::{AccountId, Actor, AuditEvent};

use crate::connection::{concrete, AnyConnection};
use crate::convert::{db_time, parse, utc};
use crate::schema::audit_events;
use crate::stored_time::StoredTime;
use crate::{Store, StoreError};

/// Inserted with `NULL` for a `None` (not `DEFAULT`, which is the same here: no column has
/// another default), so that the `INSERT` is one statement, prepared once per connection.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct AuditRow {
    id: String,
    account_id: String,
    actor_kind: String,
    actor_id: Option<String>,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    detail: String,
    at: StoredTime,
}

impl AuditRow {
    fn from_domain(e: &AuditEvent) -> Self {
        let (actor_kind, actor_id) = match e.actor {
            Actor::User(id) => ("user", Some(id.to_string())),
            Actor::ApiKey(id) => ("api_key", Some(id.to_string())),
            Actor::System => ("system", None),
            Actor::Anonymous => ("anonymous", None),
            Actor::SetupLink(id) => ("setup_link", Some(id.to_string())),
        };
        Self {
            id: e.id.to_string(),
            account_id: e.account.to_string(),
            actor_kind: actor_kind.to_owned(),
            actor_id,
            action: e.action.clone(),
            target: e.target.clone(),
            ip: e.ip.clone(),
            detail: e.detail.clone(),
            at: StoredTime(db_time(e.at)),
        }
    }

    fn into_domain(self) -> Result<AuditEvent, StoreError> {
        let actor = match (self.actor_kind.as_str(), self.actor_id.as_deref()) {
            ("user", Some(id)) => Actor::User(parse(id, "user id")?),
            ("api_key", Some(id)) => Actor::ApiKey(parse(id, "api key id")?),
            ("system", _) => Actor::System,
            ("anonymous", _) => Actor::Anonymous,
            ("setup_link", Some(id)) => Actor::SetupLink(parse(id, "setup link id")?),
            (other, _) => return Err(StoreError::Corrupt(format!("audit actor {other:?}"))),
        };
        Ok(AuditEvent {
            id: parse(&self.id, "audit event id")?,
            account: parse(&self.account_id, "account id")?,
            actor,
            action: self.action,
            target: self.target,
            ip: self.ip,
            detail: self.detail,
            at: utc(self.at.0),
        })
    }
}

/// Appends `event` (if any) inside the caller's transaction, so a change and its audit
/// event are written together or not at all.
pub(crate) fn insert_audit(
    conn: &mut AnyConnection,
    event: Option<&AuditEvent>,
) -> Result<(), StoreError> {
    if let Some(e) = event {
        let insert = diesel::insert_into(audit_events::table).values(AuditRow::from_domain(e));
        concrete!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// Which events [`Store::search_audit`] returns; `None` lets everything through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor: its kind (`user`, `api_key`, `system`, `anonymous`) and, for users and
    /// keys, its id.
    pub actor: Option<(String, Option<String>)>,
    /// The action, or a family of actions when it ends with a dot (`member.`).
    pub action_prefix: Option<String>,
    /// From this time on.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Store {
    /// Appends an event to its account's audit log.
    pub fn record_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.write(|conn| insert_audit(conn, Some(e)))
    }

    /// Whether the account's log holds an event `action` about `target` at or after
    /// `since` (for warnings given once).
    pub fn has_audit(
        &self,
        account: AccountId,
        action: &str,
        target: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let since = crate::convert::db_time(since);
        self.read(|conn| {
            Ok(audit_events::table
                .filter(audit_events::account_id.eq(account.to_string()))
                .filter(audit_events::action.eq(action))
                .filter(audit_events::target.eq(target))
                .filter(audit_events::at.ge(since))
                .count()
                .get_result::<i64>(conn)?
                > 0)
        })
    }

    /// A page of the account's events that `filter` lets through, newest first.
    pub fn search_audit(
        &self,
        account: AccountId,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(|conn| {
            let mut query = audit_events::table
                .filter(audit_events::account_id.eq(account.to_string()))
                .into_boxed();
            if let Some((kind, id)) = &filter.actor {
                query = query.filter(audit_events::actor_kind.eq(kind.clone()));
                if let Some(id) = id {
                    query = query.filter(audit_events::actor_id.eq(id.clone()));
                }
            }
            if let Some(action) = &filter.action_prefix {
                // A family (`member.` matches `member.deleted`) when it ends with a dot,
                // else exactly; LIKE's wildcards in the text are escaped.
                query = if action.ends_with('.') {
                    let escaped: String = action
                        .chars()
                        .flat_map(|c| match c {
                            '%' | '_' | '\\' => vec!['\\', c],
                            c => vec![c],
                        })
                        .collect();
                    query.filter(
                        audit_events::action
                            .like(format!("{escaped}%"))
                            .escape('\\'),
                    )
                } else {
                    query.filter(audit_events::action.eq(action.clone()))
                };
            }
            if let Some(since) = filter.since {
                query = query.filter(audit_events::at.ge(db_time(since)));
            }
            if let Some(until) = filter.until {
                query = query.filter(audit_events::at.lt(db_time(until)));
            }
            query
                .order((audit_events::at.desc(), audit_events::id.desc()))
                .offset(offset.max(0))
                .limit(limit.max(0))
                .select(AuditRow::as_select())
                .load(conn)?
                .into_iter()
                .map(AuditRow::into_domain)
                .collect()
        })
    }

    /// Deletes every account's events older than `before` (the retention setting).
    /// Returns how many were deleted.
    pub fn purge_audit(&self, before: chrono::DateTime<chrono::Utc>) -> Result<usize, StoreError> {
        let before = db_time(before);
        self.write(|conn| {
            Ok(
                diesel::delete(audit_events::table.filter(audit_events::at.lt(before)))
                    .execute(conn)?,
            )
        })
    }

    /// A page of the account's audit log, newest first.
    pub fn list_audit(
        &self,
        account: AccountId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        self.search_audit(account, &AuditFilter::default(), limit, offset)
    }
}
