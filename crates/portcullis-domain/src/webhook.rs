//! Webhooks: where an account's events are sent, signed the Standard Webhooks way, and
//! the deliveries of those events with their retries.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use crate::account::text_enum;
use crate::{AccountId, DomainError, WebhookId};

/// Every event type a webhook may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "member.created",
    "member.updated",
    "member.deactivated",
    "member.reactivated",
    "member.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "login.succeeded",
    "login.failed",
    "idp.created",
    "idp.updated",
    "idp.deleted",
    "idp.certificate_expiring",
    "domain.verified",
    "domain.unverified",
    "settings.changed",
];

/// The event a test delivery sends; no webhook subscribes to it.
pub const PING: &str = "ping";

/// Subscribes to every event type.
pub const ALL_EVENTS: &str = "*";

/// The prefix of a webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How long a delivery is retried after it was first due.
pub const RETRY_FOR: Duration = Duration::hours(24);

/// The waits between attempts: the first retry within 30 seconds, then longer and longer.
const BACKOFF: &[i64] = &[
    10,
    60,
    5 * 60,
    30 * 60,
    2 * 60 * 60,
    5 * 60 * 60,
    10 * 60 * 60,
];

/// The longest URL accepted.
pub const MAX_URL: usize = 2048;

/// The longest description accepted.
pub const MAX_DESCRIPTION: usize = 255;

/// A webhook's signing secret: `whsec_` and the base64 of 32 random bytes. `Debug`
/// leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<secret>)")
    }
}

impl WebhookSecret {
    /// The secret of `bytes` (draw them at random).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A stored secret, checked.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let secret = Self(text.to_owned());
        secret.key()?;
        Ok(secret)
    }

    /// The secret as shown once and stored (sealed).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the decoded bytes after `whsec_`.
    pub fn key(&self) -> Result<Vec<u8>, DomainError> {
        self.0
            .strip_prefix(SECRET_PREFIX)
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| DomainError::InvalidValue {
                field: "webhook secret",
                why: "not whsec_ and base64".into(),
            })
    }
}

/// Where an account's events are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Stable id.
    pub id: WebhookId,
    /// The account whose events it receives.
    pub account: AccountId,
    /// The receiver: an absolute `https://` URL (or `http://` where the operator allows
    /// private addresses).
    pub url: String,
    /// The event types it receives (`*` alone: all).
    pub events: Vec<String>,
    /// What it is for.
    pub description: String,
    /// The signing secret.
    pub secret: WebhookSecret,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Whether a webhook subscribed to `events` (types, or `["*"]`) receives events of type
/// `kind`.
pub fn subscribes(events: &[String], kind: &str) -> bool {
    events.iter().any(|e| e == ALL_EVENTS || e == kind)
}

impl Webhook {
    /// Checks a receiver URL's form (where it points is the server's to check): an
    /// absolute `http(s)` URL with a host, without credentials or a fragment.
    pub fn check_url(text: &str) -> Result<url::Url, DomainError> {
        let invalid = |why: &str| DomainError::InvalidValue {
            field: "url",
            why: why.to_owned(),
        };
        if text.len() > MAX_URL {
            return Err(invalid("longer than 2048 characters"));
        }
        let url = url::Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("use an https:// URL"));
        }
        if url.host().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials do not belong in the URL"));
        }
        if url.fragment().is_some() {
            return Err(invalid("a fragment is never sent"));
        }
        Ok(url)
    }

    /// Checks a subscription: known types, or `*` alone; at least one.
    pub fn check_events(events: &[String]) -> Result<Vec<String>, DomainError> {
        let mut out: Vec<String> = Vec::new();
        for e in events.iter().map(|e| e.trim()) {
            if e != ALL_EVENTS && !EVENT_TYPES.contains(&e) {
                return Err(DomainError::UnknownValue {
                    what: "event type",
                    value: e.to_owned(),
                });
            }
            if !out.iter().any(|o| o == e) {
                out.push(e.to_owned());
            }
        }
        if out.is_empty() {
            return Err(DomainError::Empty("events"));
        }
        if out.len() > 1 && out.iter().any(|e| e == ALL_EVENTS) {
            return Err(DomainError::InvalidValue {
                field: "events",
                why: "\"*\" stands alone".into(),
            });
        }
        Ok(out)
    }

    /// Checks a description.
    pub fn check_description(text: &str) -> Result<String, DomainError> {
        let text = text.trim();
        if text.chars().count() > MAX_DESCRIPTION {
            return Err(DomainError::TooLong {
                field: "description",
                max: MAX_DESCRIPTION,
            });
        }
        Ok(text.to_owned())
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// A receiver answered 2xx.
    Delivered,
    /// Every attempt for [`RETRY_FOR`] failed.
    Failed,
}

text_enum!(DeliveryStatus, "delivery status", {
    Pending => "pending", Delivered => "delivered", Failed => "failed"
});

/// When to try again after `attempts` failed attempts of a delivery first due at
/// `created_at`, the last one at `now`: `None` once the next wait would end past
/// [`RETRY_FOR`] (the delivery has failed).
pub fn retry_at(
    created_at: DateTime<Utc>,
    attempts: u32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let index = (attempts.max(1) - 1) as usize;
    let wait = BACKOFF
        .get(index)
        .copied()
        .unwrap_or(BACKOFF[BACKOFF.len() - 1]);
    let next = now + Duration::seconds(wait);
    (next <= created_at + RETRY_FOR).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_and_32_bytes_and_never_printed() {
        let secret = WebhookSecret::from_bytes([7; 32]);
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret.key().unwrap(), vec![7; 32]);
        assert!(!format!("{secret:?}").contains(secret.expose()));
        assert_eq!(WebhookSecret::parse(secret.expose()).unwrap(), secret);
        assert!(WebhookSecret::parse("whsec_").is_err());
        assert!(WebhookSecret::parse("sk_abc").is_err());
    }

    #[test]
    fn subscriptions_and_urls_are_checked() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Webhook::check_events(&list(&["*"])).unwrap(), list(&["*"]));
        assert_eq!(
            Webhook::check_events(&list(&["member.created", "member.created"])).unwrap(),
            list(&["member.created"])
        );
        assert!(Webhook::check_events(&list(&[])).is_err());
        assert!(Webhook::check_events(&list(&["member.exploded"])).is_err());
        assert!(Webhook::check_events(&list(&["*", "login.failed"])).is_err());
        assert!(Webhook::check_events(&list(&["ping"])).is_err());
        for bad in [
            "ftp://example.com/hook",
            "/relative",
            "https://user:pw@example.com/",
            "https://example.com/#x",
            "not a url",
        ] {
            assert!(Webhook::check_url(bad).is_err(), "{bad}");
        }
        assert!(Webhook::check_url("https://hooks.example.com/portcullis?x=1").is_ok());
    }

    #[test]
    fn retries_start_within_30_seconds_and_stop_after_24_hours() {
        let t0 = DateTime::UNIX_EPOCH;
        let first = retry_at(t0, 1, t0).unwrap();
        assert!(first - t0 <= Duration::seconds(30));
        let mut now = t0;
        let mut attempts = 1;
        while let Some(next) = retry_at(t0, attempts, now) {
            assert!(next > now);
            now = next;
            attempts += 1;
        }
        assert!(now <= t0 + RETRY_FOR);
        assert!(
            now > t0 + RETRY_FOR - Duration::hours(10),
            "retried for most of a day"
        );
        assert_eq!(retry_at(t0, 3, t0 + RETRY_FOR), None);
    }
}
