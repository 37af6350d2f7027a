//! Per-key rate limiting of SCIM calls: a token bucket per API key, in memory, one for
//! the whole process (every worker takes from it).
//!
//! Each key may make `rate` requests per second sustained and bursts of `2 × rate`
//! (an Entra ID initial cycle sends bursts; Microsoft asks for at least 25 requests per
//! second per tenant). A Bulk request takes one token per operation. Buckets live in this
//! process only: with several replicas each allows the rate, which errs on the side of
//! letting provisioning through.

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
        self.take(key, rate, 1, now)
    }

    /// Takes `n` tokens for `key` at `now`, all or none: `Err(seconds)` says when to
    /// retry, and nothing is taken. More tokens than a burst holds are taken from a full
    /// bucket, which then owes the rest (later calls wait for it), so a large Bulk request
    /// can pass without raising the sustained rate.
    pub fn take(&self, key: ApiKeyId, rate: u32, n: u32, now: Instant) -> Result<(), u64> {
        if rate == 0 || n == 0 {
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
        let needed = f64::from(n).min(burst);
        if bucket.tokens >= needed {
            bucket.tokens -= f64::from(n);
            Ok(())
        } else {
            let wait = (needed - bucket.tokens) / rate;
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

    #[test]
    fn several_tokens_are_taken_all_or_none() {
        let limiter = RateLimiter::default();
        let key = ApiKeyId::from_uuid(Uuid::new_v4());
        let t0 = Instant::now();
        // Rate 5: bursts of 10.
        assert_eq!(limiter.take(key, 5, 7, t0), Ok(()));
        assert_eq!(limiter.take(key, 5, 4, t0), Err(1), "only 3 left");
        assert_eq!(
            limiter.take(key, 5, 3, t0),
            Ok(()),
            "the refusal took nothing"
        );
        assert_eq!(limiter.check(key, 5, t0), Err(1));
        // More than a burst, from a full bucket: it passes and is owed.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(limiter.take(key, 5, 25, t1), Ok(()));
        assert!(
            limiter.check(key, 5, t1 + Duration::from_secs(2)).is_err(),
            "15 owed"
        );
        assert!(limiter.check(key, 5, t1 + Duration::from_secs(4)).is_ok());
    }
}
