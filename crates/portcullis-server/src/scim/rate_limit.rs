//! Per-key rate limiting of SCIM calls: a token bucket per API key, in memory.
//!
//! Each key may make `rate` requests per second sustained and bursts of `2 × rate`
//! (an Entra ID initial cycle sends bursts; Microsoft asks for at least 25 requests per
//! second per tenant). Buckets live in this process only: with several replicas each
//! allows the rate, which errs on the side of letting provisioning through.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use portcullis_domain::ApiKeyId;

/// Buckets of idle keys are dropped once the map holds this many.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The token buckets of every key that called recently.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<ApiKeyId, Bucket>>,
}

impl RateLimiter {
    /// Takes one token for `key` at `now` with `rate` requests per second (0: unlimited).
    /// `Err(seconds)` says when to retry.
    pub fn check(&self, key: ApiKeyId, rate: u32, now: Instant) -> Result<(), u64> {
        if rate == 0 {
            return Ok(());
        }
        let rate = f64::from(rate);
        let burst = rate * 2.0;
        // A poisoned lock only means another request panicked mid-update; the map is
        // still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;

    #[test]
    fn bursts_then_sustained_rate() {
        let limiter = RateLimiter::default();
        let key = ApiKeyId::from_uuid(Uuid::new_v4());
        let other = ApiKeyId::from_uuid(Uuid::new_v4());
        let t0 = Instant::now();
        for i in 0..100 {
            assert_eq!(limiter.check(key, 50, t0), Ok(()), "burst request {i}");
        }
        assert_eq!(limiter.check(key, 50, t0), Err(1));
        assert_eq!(limiter.check(other, 50, t0), Ok(()), "keys are independent");
        // 50 requests over the next second, evenly spaced, all pass.
        for i in 1..=50 {
            let t = t0 + Duration::from_millis(20 * i);
            assert_eq!(limiter.check(key, 50, t), Ok(()), "sustained request {i}");
        }
        assert!(limiter.check(key, 0, t0).is_ok(), "0 is unlimited");
    }
}
