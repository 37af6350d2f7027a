//! Throttling of password logins, per account and email and per client address, so
//! passwords cannot be guessed at speed. Each replica keeps its own counters: with N
//! replicas an attacker gets at most N times the budget, which is still slow.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The two login limiters.
pub struct LoginThrottle {
    per_identity: DefaultKeyedRateLimiter<(String, String)>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60), 50, Duration::from_secs(6))
    }
}

impl LoginThrottle {
    /// `identity_burst` attempts per account+email, then one per `identity_period`;
    /// likewise per address.
    pub fn new(
        identity_burst: u32,
        identity_period: Duration,
        ip_burst: u32,
        ip_period: Duration,
    ) -> Self {
        let quota = |burst: u32, period: Duration| {
            Quota::with_period(period)
                .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
        };
        Self {
            per_identity: RateLimiter::keyed(quota(identity_burst, identity_period)),
            per_ip: RateLimiter::keyed(quota(ip_burst, ip_period)),
        }
    }

    /// Counts one attempt; `Err(seconds)` says how long to wait when over the limit.
    pub fn check(&self, account: &str, email: &str, ip: Option<IpAddr>) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        let wait =
            |not_until: governor::NotUntil<_>| not_until.wait_time_from(now).as_secs().max(1);
        if let Some(ip) = ip {
            self.per_ip.check_key(&ip).map_err(wait)?;
        }
        self.per_identity
            .check_key(&(
                account.to_owned(),
                portcullis_domain::email::identity_key(email.trim()),
            ))
            .map_err(wait)?;
        self.per_identity.retain_recent();
        self.per_ip.retain_recent();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_beyond_the_burst_wait() {
        let t = LoginThrottle::new(3, Duration::from_secs(60), 100, Duration::from_secs(1));
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(t.check("acme", "jo@acme.test", Some(ip)), Ok(()));
        }
        let wait = t.check("acme", "JO@acme.test", Some(ip)).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        // Another email, or the same email in another account, has its own budget.
        assert_eq!(t.check("acme", "al@acme.test", Some(ip)), Ok(()));
        assert_eq!(t.check("other", "jo@acme.test", Some(ip)), Ok(()));
    }

    #[test]
    fn one_address_cannot_spray_many_emails() {
        let t = LoginThrottle::new(100, Duration::from_secs(1), 5, Duration::from_secs(60));
        let ip: IpAddr = "203.0.113.1".parse().unwrap();
        for n in 0..5 {
            assert_eq!(
                t.check("acme", &format!("u{n}@acme.test"), Some(ip)),
                Ok(())
            );
        }
        assert!(t.check("acme", "u9@acme.test", Some(ip)).is_err());
        assert_eq!(
            t.check("acme", "u9@acme.test", Some("203.0.113.2".parse().unwrap())),
            Ok(())
        );
    }
}
