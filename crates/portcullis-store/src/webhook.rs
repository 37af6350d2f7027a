//! Webhooks and the outbox of their deliveries.
//!
//! A change writes the deliveries of its events in its own transaction
//! ([`Store::insert_deliveries`]): rolled back, it emits nothing; committed, its events are
//! sent even when the process dies right after. Workers on every replica claim due
//! deliveries with a lease ([`Store::claim_deliveries`], in `queue.rs`; on PostgreSQL each
//! claim of a queue first locks its head with `FOR UPDATE SKIP LOCKED`, so two replicas
//! never claim the same row nor parts of one queue), send them outside any transaction,
//! and record each attempt ([`Store::record_attempt`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use portcullis_domain::webhook;
use portcullis_domain::{AccountId, DeliveryId, DeliveryStatus, Webhook, WebhookId, WebhookSecret};

use crate::cipher;
use crate::connection::concrete;
use crate::convert::{db_time, db_time_opt, parse, utc, utc_opt};
use crate::json_in::one_of;
use crate::schema::{webhook_deliveries, webhooks};
use crate::{Store, StoreError};

mod queue;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    id: String,
    account_id: String,
    url: String,
    /// JSON array of event types.
    events: String,
    description: String,
    /// Sealed with the encryption key when there is one.
    secret: String,
    created_at: NaiveDateTime,
}

impl Store {
    fn webhook_row(&self, w: &Webhook) -> Result<WebhookRow, StoreError> {
        Ok(WebhookRow {
            id: w.id.to_string(),
            account_id: w.account.to_string(),
            url: w.url.clone(),
            events: serde_json::to_string(&w.events)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            description: w.description.clone(),
            secret: cipher::seal(self.cipher.as_ref(), w.secret.expose())?,
            created_at: db_time(w.created_at),
        })
    }

    fn webhook_of(&self, row: WebhookRow) -> Result<Webhook, StoreError> {
        let secret = cipher::open(self.cipher.as_ref(), &row.secret)?;
        Ok(Webhook {
            id: parse(&row.id, "webhook id")?,
            account: parse(&row.account_id, "account id")?,
            url: row.url,
            events: serde_json::from_str(&row.events)
                .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?,
            description: row.description,
            secret: WebhookSecret::parse(&secret)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: utc(row.created_at),
        })
    }

    /// Stores a new webhook (its secret sealed).
    pub fn insert_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let row = self.webhook_row(webhook)?;
        self.write(|conn| {
            diesel::insert_into(webhooks::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    /// Saves a webhook's URL, events and description (its secret never changes).
    /// `NotFound` when the account has no such webhook.
    pub fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError> {
        let row = self.webhook_row(webhook)?;
        self.write(|conn| {
            let n = diesel::update(
                webhooks::table
                    .filter(webhooks::id.eq(&row.id))
                    .filter(webhooks::account_id.eq(&row.account_id)),
            )
            .set((
                webhooks::url.eq(&row.url),
                webhooks::events.eq(&row.events),
                webhooks::description.eq(&row.description),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
    }

    /// The account's webhooks, oldest first.
    pub fn webhooks(&self, account: AccountId) -> Result<Vec<Webhook>, StoreError> {
        let account = account.to_string();
        let rows: Vec<WebhookRow> = self.read(|conn| {
            Ok(webhooks::table
                .filter(webhooks::account_id.eq(&account))
                .order((webhooks::created_at.asc(), webhooks::id.asc()))
                .select(WebhookRow::as_select())
                .load(conn)?)
        })?;
        rows.into_iter().map(|r| self.webhook_of(r)).collect()
    }

    /// The account's webhooks that receive events of type `kind`, oldest first: what an
    /// event needs of them, without unsealing their secrets (each write reads this).
    pub fn subscribed_webhooks(
        &self,
        account: AccountId,
        kind: &str,
    ) -> Result<Vec<WebhookId>, StoreError> {
        let account = account.to_string();
        let query = webhooks::table
            .filter(webhooks::account_id.eq(&account))
            .order((webhooks::created_at.asc(), webhooks::id.asc()))
            .select((webhooks::id, webhooks::events));
        // On the concrete connection, as `UserRow::insert`.
        let rows: Vec<(String, String)> =
            self.read(|conn| Ok(concrete!(conn, |c| query.load(c))?))?;
        let mut subscribed = Vec::new();
        for (id, events) in rows {
            let events: Vec<String> = serde_json::from_str(&events)
                .map_err(|e| StoreError::Corrupt(format!("webhook events: {e}")))?;
            if webhook::subscribes(&events, kind) {
                subscribed.push(parse(&id, "webhook id")?);
            }
        }
        Ok(subscribed)
    }

    /// One of the account's webhooks.
    pub fn webhook(
        &self,
        account: AccountId,
        id: WebhookId,
    ) -> Result<Option<Webhook>, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        let row: Option<WebhookRow> = self.read(|conn| {
            Ok(webhooks::table
                .filter(webhooks::account_id.eq(&account))
                .filter(webhooks::id.eq(&id))
                .select(WebhookRow::as_select())
                .first(conn)
                .optional()?)
        })?;
        row.map(|r| self.webhook_of(r)).transpose()
    }

    /// Removes a webhook with its deliveries; `false` when the account has no such one.
    pub fn delete_webhook(&self, account: AccountId, id: WebhookId) -> Result<bool, StoreError> {
        let (account, id) = (account.to_string(), id.to_string());
        self.write(|conn| {
            diesel::delete(
                webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(&id)),
            )
            .execute(conn)?;
            let n = diesel::delete(
                webhooks::table
                    .filter(webhooks::account_id.eq(&account))
                    .filter(webhooks::id.eq(&id)),
            )
            .execute(conn)?;
            Ok(n > 0)
        })
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id, time-ordered (UUID v7); the `webhook-id` header.
    pub id: DeliveryId,
    /// Where it goes.
    pub webhook: WebhookId,
    /// The account of the event.
    pub account: AccountId,
    /// The event type.
    pub event_type: String,
    /// The body sent: `{"type", "timestamp", "data"}`.
    pub payload: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i32,
    /// When it was (last) queued: retries stop [`portcullis_domain::webhook::RETRY_FOR`]
    /// after.
    pub due_since: DateTime<Utc>,
    /// When it is due next (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// The last attempt's time, HTTP status and error.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last answer's HTTP status.
    pub last_status: Option<i32>,
    /// What went wrong last (a transport error, a refused address).
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptRecord>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttemptRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<i32>,
    /// What went wrong, when something did.
    pub error: Option<String>,
}

impl Delivery {
    /// A pending delivery of `payload` to `webhook`, due at once.
    pub fn new(webhook: &Webhook, event_type: &str, payload: String, now: DateTime<Utc>) -> Self {
        Self::to(webhook.account, webhook.id, event_type, payload, now)
    }

    /// [`Delivery::new`] to the webhook `webhook` of `account`.
    pub fn to(
        account: AccountId,
        webhook: WebhookId,
        event_type: &str,
        payload: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: DeliveryId::from_uuid(uuid::Uuid::now_v7()),
            webhook,
            account,
            event_type: event_type.to_owned(),
            payload,
            status: DeliveryStatus::Pending,
            attempts: 0,
            due_since: now,
            next_attempt_at: now,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            created_at: now,
            attempt_log: Vec::new(),
        }
    }
}

/// Inserted with `NULL` for a `None`, as [`crate::user`]'s rows: no optional column has
/// another default.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries, treat_none_as_default_value = false)]
struct DeliveryRow {
    id: String,
    webhook_id: String,
    account_id: String,
    event_type: String,
    payload: String,
    status: String,
    attempts: i32,
    due_since: NaiveDateTime,
    next_attempt_at: NaiveDateTime,
    claimed_until: Option<NaiveDateTime>,
    last_attempt_at: Option<NaiveDateTime>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    /// JSON array of [`AttemptRecord`].
    attempt_log: String,
}

impl DeliveryRow {
    fn from_domain(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            webhook_id: d.webhook.to_string(),
            account_id: d.account.to_string(),
            event_type: d.event_type.clone(),
            payload: d.payload.clone(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            due_since: db_time(d.due_since),
            next_attempt_at: db_time(d.next_attempt_at),
            claimed_until: None,
            last_attempt_at: db_time_opt(d.last_attempt_at),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: db_time(d.created_at),
            attempt_log: serde_json::to_string(&d.attempt_log).unwrap_or_else(|_| "[]".into()),
        }
    }

    fn into_domain(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: parse(&self.id, "delivery id")?,
            webhook: parse(&self.webhook_id, "webhook id")?,
            account: parse(&self.account_id, "account id")?,
            event_type: self.event_type,
            payload: self.payload,
            status: parse(&self.status, "delivery status")?,
            attempts: self.attempts,
            due_since: utc(self.due_since),
            next_attempt_at: utc(self.next_attempt_at),
            last_attempt_at: utc_opt(self.last_attempt_at),
            last_status: self.last_status,
            last_error: self.last_error,
            created_at: utc(self.created_at),
            attempt_log: serde_json::from_str(&self.attempt_log)
                .map_err(|e| StoreError::Corrupt(format!("attempt log: {e}")))?,
        })
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered {
        /// Its status.
        status: i32,
    },
    /// It failed; try again at `retry_at`, or never (`None`: the delivery failed).
    Failed {
        /// The receiver's status, when it answered.
        status: Option<i32>,
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

impl Store {
    /// Queues deliveries (call it in the transaction of the change they report).
    pub fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let rows: Vec<DeliveryRow> = deliveries.iter().map(DeliveryRow::from_domain).collect();
        self.write_part(|conn| {
            for row in &rows {
                // On the concrete connection, as `UserRow::insert`.
                let insert = diesel::insert_into(webhook_deliveries::table).values(row);
                concrete!(conn, |c| insert.execute(c))?;
            }
            Ok(())
        })
    }

    /// Records an attempt of a claimed delivery and ends its lease. Inside a transaction
    /// it runs as a part of it, without a savepoint of its own: the sender's round records
    /// its attempts in one and passes any failure on.
    pub fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = id.to_string();
        let now_db = db_time(now);
        let (status, http, error, next) = match attempt {
            Attempt::Delivered { status } => {
                (DeliveryStatus::Delivered, Some(*status), None, now_db)
            }
            Attempt::Failed {
                status,
                error,
                retry_at,
            } => match retry_at {
                Some(at) => (
                    DeliveryStatus::Pending,
                    *status,
                    Some(error.clone()),
                    db_time(*at),
                ),
                None => (DeliveryStatus::Failed, *status, Some(error.clone()), now_db),
            },
        };
        let record = AttemptRecord {
            at: now,
            status: http,
            error: error.clone(),
        };
        self.write_part(|conn| {
            // Both statements on the concrete connection, prepared once and found by type
            // (`cached.rs`): the sender records every delivery it sends.
            let read = webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(&id))
                .select(webhook_deliveries::attempt_log);
            let log: String = concrete!(conn, |c| read.first(c))?;
            let mut log: Vec<AttemptRecord> = serde_json::from_str(&log)
                .map_err(|e| StoreError::Corrupt(format!("attempt log: {e}")))?;
            log.push(record.clone());
            let log =
                serde_json::to_string(&log).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let update = crate::cached::update(
                webhook_deliveries::table,
                (
                    webhook_deliveries::attempt_log.eq(log),
                    webhook_deliveries::status.eq(status.as_str()),
                    webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
                    webhook_deliveries::next_attempt_at.eq(next),
                    webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
                    webhook_deliveries::last_attempt_at.eq(Some(now_db)),
                    webhook_deliveries::last_status.eq(http),
                    webhook_deliveries::last_error.eq(error),
                ),
                webhook_deliveries::id.eq(&id),
            );
            concrete!(conn, |c| diesel::query_dsl::methods::ExecuteDsl::execute(
                update, c
            ))?;
            Ok(())
        })
    }

    /// Ends the lease of claimed deliveries that were not attempted.
    pub fn release_claims(&self, ids: &[DeliveryId]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.write(|conn| {
            one_of!(conn, webhook_deliveries::id, &ids, |c, theirs| {
                diesel::update(webhook_deliveries::table.filter(theirs))
                    .set(webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>))
                    .execute(c)?
            });
            Ok(())
        })
    }

    /// A webhook's deliveries, newest first.
    pub fn deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (account, webhook) = (account.to_string(), webhook.to_string());
        self.read(|conn| {
            webhook_deliveries::table
                .filter(webhook_deliveries::account_id.eq(&account))
                .filter(webhook_deliveries::webhook_id.eq(&webhook))
                .order(webhook_deliveries::id.desc())
                .limit(limit.max(0))
                .select(DeliveryRow::as_select())
                .load(conn)?
                .into_iter()
                .map(DeliveryRow::into_domain)
                .collect()
        })
    }

    /// Queues a delivery of the account's webhook again, due now, with a fresh day of
    /// retries ("send again"). `false` when there is no such delivery.
    pub fn requeue_delivery(
        &self,
        account: AccountId,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (account, webhook, id) = (account.to_string(), webhook.to_string(), id.to_string());
        let now = db_time(now);
        self.write(|conn| {
            let n = diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::account_id.eq(&account))
                    .filter(webhook_deliveries::webhook_id.eq(&webhook))
                    .filter(webhook_deliveries::id.eq(&id)),
            )
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::due_since.eq(now),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
            Ok(n > 0)
        })
    }
}
