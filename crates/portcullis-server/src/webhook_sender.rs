//! Sending webhook deliveries: the address guard (checked when a webhook is saved and at
//! each attempt), Standard Webhooks signatures, and the worker every replica runs.
//!
//! Receivers must be public `https://` URLs. `PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES`
//! lets them be loopback or private addresses too, and then plain `http://` to such
//! addresses; link-local addresses (`169.254.0.0/16`, `fe80::/10`, where cloud metadata
//! services live) are refused even then. The guard runs where the connection's address is
//! chosen (the client's resolver), so a name that resolves elsewhere by the time of the
//! request is refused too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use hmac::{Hmac, Mac};
use portcullis_app::webhooks::{self, UrlGuard};
use portcullis_domain::Webhook;
use portcullis_sso::error_chain;
use portcullis_sso::oidc::is_public;
use portcullis_store::Delivery;
use sha2::Sha256;
use tracing::Instrument as _;

use crate::state::AppState;

/// How long one attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// How long a worker holds the deliveries it claimed. A round stops sending (and lets
/// go of what it has not sent) once less than one attempt's time is left of it.
const LEASE_SECONDS: i64 = 20;

/// Deliveries claimed per round.
const CLAIM: i64 = 64;

/// Whether `ip` is link-local (never called, whatever the switch says).
fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.is_link_local(),
            None => (v6.segments()[0] & 0xffc0) == 0xfe80,
        },
    }
}

/// Why `ip` may not be called, if it may not.
fn refused(ip: IpAddr, allow_private: bool) -> Option<String> {
    if is_link_local(ip) {
        return Some(format!("{ip} is a link-local address"));
    }
    (!allow_private && !is_public(ip)).then(|| format!("{ip} is not a public address"))
}

/// The receivers' address guard.
#[derive(Debug, Clone, Copy)]
pub struct Guard {
    /// `PORTCULLIS_SSO_ALLOW_PRIVATE_ADDRESSES`.
    pub allow_private: bool,
}

impl Guard {
    async fn addresses(host: &str) -> Result<Vec<SocketAddr>, String> {
        tokio::net::lookup_host((host, 0))
            .await
            .map(Iterator::collect)
            .map_err(|e| format!("{host} does not resolve: {e}"))
    }
}

impl UrlGuard for Guard {
    async fn check(&self, url: &url::Url) -> Result<(), String> {
        let host = url.host_str().ok_or("the URL has no host")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => Self::addresses(host)
                .await?
                .into_iter()
                .map(|a| a.ip())
                .collect(),
        };
        if let Some(why) = addrs.iter().find_map(|ip| refused(*ip, self.allow_private)) {
            return Err(why);
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_private && addrs.iter().all(|ip| !is_public(*ip)) => Ok(()),
            _ => Err("use an https:// URL".into()),
        }
    }
}

/// Resolves receivers' names and refuses what the guard refuses, at connection time.
struct GuardedResolver(Guard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.0.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = Guard::addresses(&host)
                .await
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)?;
            if let Some(why) = addrs.iter().find_map(|a| refused(a.ip(), allow_private)) {
                return Err(Box::<dyn std::error::Error + Send + Sync>::from(why));
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The signature header's value: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}`, keyed with the secret's decoded bytes.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Sends deliveries.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
}

impl Sender {
    /// A sender under `guard`: no redirects, no proxy, [`TIMEOUT`] per attempt.
    pub fn new(guard: Guard) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(guard)))
            .timeout(TIMEOUT)
            .no_proxy()
            .user_agent("Portcullis-Webhooks/1")
            .build()?;
        Ok(Self { client, guard })
    }

    /// One attempt: the receiver's status, or the status (if any) and what went wrong.
    /// Runs in a `debug` span `webhook.send` naming the webhook, the delivery, the
    /// receiver's host and its answer.
    pub async fn send(
        &self,
        delivery: &Delivery,
        webhook: &Webhook,
    ) -> Result<u16, (Option<u16>, String)> {
        let span = tracing::debug_span!(
            "webhook.send",
            otel.kind = "client",
            webhook.id = %webhook.id,
            delivery.id = %delivery.id,
            server.address = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
        );
        let status = self
            .attempt(delivery, webhook)
            .instrument(span.clone())
            .await;
        if let Ok(code) = &status {
            span.record("http.response.status_code", code);
        }
        status
    }

    /// [`Sender::send`] without the span.
    async fn attempt(
        &self,
        delivery: &Delivery,
        webhook: &Webhook,
    ) -> Result<u16, (Option<u16>, String)> {
        let url = url::Url::parse(&webhook.url).map_err(|e| (None, e.to_string()))?;
        tracing::Span::current().record("server.address", url.host_str().unwrap_or_default());
        self.guard
            .check(&url)
            .await
            .map_err(|why| (None, format!("refused: {why}")))?;
        let key = webhook.secret.key().map_err(|e| (None, e.to_string()))?;
        let id = delivery.id.to_string();
        let timestamp = Utc::now().timestamp();
        let signed = signature(&key, &id, timestamp, &delivery.payload).map_err(|e| (None, e))?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signed)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| (None, error_chain(&e)))?;
        Ok(response.status().as_u16())
    }
}

/// One round at `now`: claims what is due and sends it, each webhook's deliveries in
/// order, then records every attempt of the round in one write (one transaction with the
/// release of what was not sent), so that delivering adds one write per round, not one
/// per event, to the writes it follows. A webhook's first failure ends its part of the
/// round (its later deliveries wait for the retry), and so does the end of the lease.
/// Should the server stop before the round is recorded, its deliveries are sent again
/// when their lease ends: at least once, as Standard Webhooks allows (the receiver
/// deduplicates by `webhook-id`). Returns how many were attempted.
pub async fn deliver_due(
    state: &AppState,
    sender: &Sender,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<usize> {
    let lease = chrono::Duration::seconds(LEASE_SECONDS);
    let claimed = state
        .write(move |store| Ok(store.claim_deliveries(now, lease, CLAIM)?))
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    let budget = Duration::from_secs(LEASE_SECONDS as u64) - TIMEOUT - Duration::from_secs(1);
    let mut attempted = 0;
    let mut stopped: Vec<portcullis_domain::WebhookId> = Vec::new();
    let mut unsent = Vec::new();
    let mut outcomes = Vec::new();
    for (delivery, webhook) in claimed {
        if stopped.contains(&webhook.id) || started.elapsed() > budget {
            unsent.push(delivery.id);
            continue;
        }
        let outcome = sender.send(&delivery, &webhook).await;
        if let Err((_, why)) = &outcome {
            tracing::info!(webhook = %webhook.id, delivery = %delivery.id, error = %why, "webhook delivery failed");
        }
        if !matches!(outcome, Ok(status) if (200..300).contains(&status)) {
            stopped.push(webhook.id);
        }
        attempted += 1;
        outcomes.push((delivery, outcome, now.max(Utc::now())));
    }
    state
        .write(move |store| {
            store.transaction(|store| {
                for (delivery, outcome, done) in outcomes {
                    webhooks::record(store, &delivery, outcome, done)?;
                }
                Ok(store.release_claims(&unsent)?)
            })
        })
        .await?;
    Ok(attempted)
}

/// Delivers every `period`, forever (run it on a thread of its own).
pub async fn run(state: AppState, sender: Sender, period: Duration) {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        loop {
            match deliver_due(&state, &sender, Utc::now()).await {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "a webhook delivery round failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_is_refused_even_when_private_addresses_are_allowed() {
        for ip in ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, true).is_some(), "{ip}");
        }
        for ip in ["127.0.0.1", "10.0.0.1", "::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(refused(ip, false).is_some(), "{ip}");
            assert!(refused(ip, true).is_none(), "{ip}");
        }
        assert!(refused("93.184.216.34".parse().unwrap(), false).is_none());
    }

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signatures_follow_standard_webhooks() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
