//! Claiming due deliveries: each webhook's pending deliveries are a queue, sent oldest
//! first, and none while an earlier one of it waits (for a retry, or in another worker's
//! lease). A round looks only at the head of each queue and at the rows it may take, so
//! its cost follows the webhooks with pending deliveries and the rows claimed, not how
//! many deliveries are pending or have ever been sent; and a webhook whose receiver is
//! failing holds back only its own queue.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use portcullis_domain::{DeliveryStatus, Webhook, WebhookId};

use super::{Delivery, DeliveryRow};
use crate::connection::AnyConnection;
use crate::convert::db_time;
use crate::json_in::one_of;
use crate::schema::webhook_deliveries;
use crate::{Store, StoreError};

/// The head (oldest pending delivery) of each webhook's queue, walking the index on
/// `(status, webhook_id, id)` one webhook at a time, so that pending rows behind a head
/// are never read. `pending` is [`DeliveryStatus::Pending`]'s text, a constant of ours.
const HEADS: &str = "\
WITH RECURSIVE queues (webhook_id) AS (
    SELECT (SELECT webhook_id FROM webhook_deliveries WHERE status = 'pending'
            ORDER BY webhook_id LIMIT 1)
    UNION ALL
    SELECT (SELECT d.webhook_id FROM webhook_deliveries d
            WHERE d.status = 'pending' AND d.webhook_id > queues.webhook_id
            ORDER BY d.webhook_id LIMIT 1)
    FROM queues WHERE queues.webhook_id IS NOT NULL
)
SELECT webhook_id,
       (SELECT d.id FROM webhook_deliveries d
        WHERE d.status = 'pending' AND d.webhook_id = queues.webhook_id
        ORDER BY d.id LIMIT 1) AS head
FROM queues WHERE webhook_id IS NOT NULL";

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = Text)]
    webhook_id: String,
    #[diesel(sql_type = Text)]
    head: String,
}

impl Store {
    /// Claims up to `limit` due deliveries for `lease` (no other worker takes them until
    /// it ends), each with its webhook, oldest first. A delivery waits while an earlier
    /// one of its webhook is pending and not claimed with it, so each webhook receives its
    /// events in order when the caller sends each webhook's deliveries in the order given
    /// and stops at the first that fails ([`Store::release_claims`] the rest).
    pub fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<(Delivery, Webhook)>, StoreError> {
        debug_assert_eq!(DeliveryStatus::Pending.as_str(), "pending");
        let limit = usize::try_from(limit).unwrap_or(0);
        let (now_db, until) = (db_time(now), db_time(now + lease));
        let rows: Vec<DeliveryRow> = self.write(|conn| {
            let mut heads = match conn {
                AnyConnection::Sqlite(c) => diesel::sql_query(HEADS).load::<Head>(c)?,
                AnyConnection::Postgresql(c) => diesel::sql_query(HEADS).load::<Head>(c)?,
            };
            // The queue whose head has waited longest first.
            heads.sort_by(|a, b| a.head.cmp(&b.head));
            let mut taken: Vec<DeliveryRow> = Vec::new();
            let mut queues = 0;
            for head in heads {
                if queues == limit {
                    break;
                }
                macro_rules! queue {
                    () => {
                        webhook_deliveries::table
                            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                            .filter(webhook_deliveries::webhook_id.eq(&head.webhook_id))
                            .order(webhook_deliveries::id.asc())
                            .limit(limit as i64)
                            .select(DeliveryRow::as_select())
                    };
                }
                // On PostgreSQL every claim of a queue starts by locking its head, and
                // a queue whose head another replica holds is left to it (skipped, not
                // waited for): whoever holds the head claims the run behind it alone.
                // Locking the whole run with `SKIP LOCKED` instead could skip a row in
                // its middle that another replica's scan had just reached, and claim
                // the rows after it: sent before the skipped one, out of order.
                let queue: Vec<DeliveryRow> = match conn {
                    AnyConnection::Postgresql(c) => {
                        let held = webhook_deliveries::table
                            .filter(webhook_deliveries::id.eq(&head.head))
                            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                            .select(webhook_deliveries::id)
                            .for_update()
                            .skip_locked()
                            .first::<String>(c)
                            .optional()?;
                        if held.is_none() {
                            continue;
                        }
                        queue!().load(c)?
                    }
                    AnyConnection::Sqlite(c) => queue!().load(c)?,
                };
                if queue.first().map(|r| &r.id) != Some(&head.head) {
                    continue;
                }
                let before = taken.len();
                taken.extend(queue.into_iter().take_while(|r| {
                    r.next_attempt_at <= now_db && r.claimed_until.is_none_or(|held| held < now_db)
                }));
                if taken.len() > before {
                    queues += 1;
                }
            }
            // Oldest first over all queues; cutting the newest keeps each queue's
            // part a run from its head.
            taken.sort_by(|a, b| a.id.cmp(&b.id));
            taken.truncate(limit);
            if taken.is_empty() {
                return Ok(taken);
            }
            let ids: Vec<&str> = taken.iter().map(|r| r.id.as_str()).collect();
            one_of!(conn, webhook_deliveries::id, &ids, |c, theirs| {
                diesel::update(webhook_deliveries::table.filter(theirs))
                    .set(webhook_deliveries::claimed_until.eq(Some(until)))
                    .execute(c)?
            });
            Ok(taken)
        })?;
        // Each webhook read (and its secret unsealed) once per round.
        let mut hooks: HashMap<WebhookId, Option<Webhook>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let delivery = row.into_domain()?;
            let hook = match hooks.entry(delivery.webhook) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(new) => {
                    new.insert(self.webhook(delivery.account, delivery.webhook)?)
                }
            };
            if let Some(webhook) = hook {
                out.push((delivery, webhook.clone()));
            }
        }
        Ok(out)
    }
}
