//! Client-side token buckets per (account and region, operation), so the operator stays under Connect's
//! per-account quotas (2 requests/s, burst 5 by default) instead of bouncing off 429s. The
//! default rate is a little under the quota: the server's bucket and ours drift by the network's
//! jitter, and the SDK's retries of a 429 are sent outside this limiter, so at exactly the quota
//! one 429 leads to the next (measured: 130 of 1,400 calls at 2/s burst 5, none at 1.9/s burst 4).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: u32,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            per_second: 1.9,
            burst: 4,
        }
    }
}

struct Bucket {
    /// May go negative: each caller reserves its token at once and sleeps off the deficit, so
    /// waiters are served in arrival order without polling.
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub struct RateLimiter {
    rate: Option<Rate>,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
    /// Per scope (account and region), the rates instance objects ask for, by object.
    overrides: Mutex<HashMap<String, BTreeMap<String, Rate>>>,
}

impl RateLimiter {
    /// `None` disables limiting.
    pub fn new(rate: Option<Rate>) -> RateLimiter {
        RateLimiter {
            rate: rate.filter(|r| r.per_second > 0.0),
            buckets: Mutex::default(),
            overrides: Mutex::default(),
        }
    }

    /// `owner` (an instance object) asks for `rate` in `scope`, or no longer asks (`None`).
    /// Returns the rate that applies there now and how many objects ask for one: when several
    /// disagree, the smaller rate and the smaller burst apply (the quota is the account's).
    pub fn set_override(
        &self,
        scope: &str,
        owner: &str,
        rate: Option<Rate>,
    ) -> (Option<Rate>, usize) {
        let mut overrides = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        let entry = overrides.entry(scope.to_string()).or_default();
        match rate.filter(|r| r.per_second > 0.0) {
            Some(r) => entry.insert(owner.to_string(), r),
            None => entry.remove(owner),
        };
        let asked = entry.len();
        (smallest(entry.values()).or(self.rate), asked)
    }

    /// The rate in `scope`: the smallest override there, else the operator's own.
    fn rate_for(&self, scope: &str) -> Option<Rate> {
        let overrides = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        overrides
            .get(scope)
            .and_then(|o| smallest(o.values()))
            .or(self.rate)
    }

    /// Runs `take` on the bucket of (`scope`, `operation`), refilled up to `now`, at the rate
    /// that applies there; `None` when nothing is limited.
    fn with_bucket<T>(
        &self,
        scope: &str,
        operation: &'static str,
        now: Instant,
        take: impl FnOnce(&mut Bucket, Rate) -> T,
    ) -> Option<T> {
        let rate = self.rate_for(scope)?;
        let burst = f64::from(rate.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets
            .entry((scope.to_string(), operation))
            .or_insert(Bucket {
                tokens: burst,
                last: now,
            });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(burst);
        bucket.last = now;
        Some(take(bucket, rate))
    }

    /// How long the caller must wait before sending; the token is taken now.
    pub fn reserve(&self, scope: &str, operation: &'static str, now: Instant) -> Duration {
        self.with_bucket(scope, operation, now, |bucket, rate| {
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / rate.per_second)
            }
        })
        .unwrap_or(Duration::ZERO)
    }

    /// `scope` is the account and region (see `super::quota_scope`).
    pub async fn acquire(&self, scope: &str, operation: &'static str) {
        let wait = self.reserve(scope, operation, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes a token only if `keep` more stay in the bucket; otherwise how long until they
    /// may. Background work (the dangling quick-connect sweep) goes through here, so that it
    /// only spends what reconciles leave over: they always find `keep` tokens.
    pub fn try_reserve_spare(
        &self,
        scope: &str,
        operation: &'static str,
        keep: u32,
        now: Instant,
    ) -> Result<(), Duration> {
        self.with_bucket(scope, operation, now, |bucket, rate| {
            // A `keep` of the whole burst would never leave a token to take.
            let keep = f64::from(keep).min(f64::from(rate.burst.max(1)) - 1.0);
            let needed = 1.0 + keep;
            if bucket.tokens >= needed {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(Duration::from_secs_f64(
                    (needed - bucket.tokens) / rate.per_second,
                ))
            }
        })
        .unwrap_or(Ok(()))
    }

    /// Waits until a token can be taken with `keep` left over (see
    /// [`RateLimiter::try_reserve_spare`]): behind every normal caller, never ahead.
    pub async fn acquire_spare(&self, scope: &str, operation: &'static str, keep: u32) {
        while let Err(wait) = self.try_reserve_spare(scope, operation, keep, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

fn smallest<'a>(rates: impl Iterator<Item = &'a Rate>) -> Option<Rate> {
    rates.copied().reduce(|a, b| Rate {
        per_second: a.per_second.min(b.per_second),
        burst: a.burst.min(b.burst),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_to_their_scope_and_the_smallest_wins() {
        let limiter = RateLimiter::new(Some(Rate::default()));
        let t0 = Instant::now();
        let slow = Rate {
            per_second: 1.0,
            burst: 1,
        };
        let fast = Rate {
            per_second: 10.0,
            burst: 20,
        };
        assert_eq!(
            limiter.set_override("111/us-east-1", "a", Some(fast)),
            (Some(fast), 1)
        );
        assert_eq!(
            limiter.set_override("111/us-east-1", "b", Some(slow)),
            (Some(slow), 2)
        );
        assert_eq!(limiter.reserve("111/us-east-1", "Op", t0), Duration::ZERO);
        assert_eq!(
            limiter.reserve("111/us-east-1", "Op", t0),
            Duration::from_secs(1)
        );
        // Another account keeps the operator's rate (burst 4).
        for _ in 0..4 {
            assert_eq!(limiter.reserve("222/us-east-1", "Op", t0), Duration::ZERO);
        }
        assert!(limiter.reserve("222/us-east-1", "Op", t0) > Duration::ZERO);
        // The slow one withdrawn: the other's applies.
        assert_eq!(
            limiter.set_override("111/us-east-1", "b", None),
            (Some(fast), 1)
        );
    }

    #[test]
    fn burst_then_paced_at_the_rate() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 5,
        }));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(
                limiter.reserve("us-east-1", "CreateUser", t0),
                Duration::ZERO
            );
        }
        // The 6th and 7th wait 0.5 s and 1 s: 2 per second after the burst.
        assert_eq!(
            limiter.reserve("us-east-1", "CreateUser", t0),
            Duration::from_millis(500)
        );
        assert_eq!(
            limiter.reserve("us-east-1", "CreateUser", t0),
            Duration::from_secs(1)
        );
        // Other operations and regions have their own buckets.
        assert_eq!(
            limiter.reserve("us-east-1", "DeleteUser", t0),
            Duration::ZERO
        );
        assert_eq!(
            limiter.reserve("eu-west-2", "CreateUser", t0),
            Duration::ZERO
        );
    }

    #[test]
    fn tokens_refill_over_time_up_to_the_burst() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 2,
        }));
        let t0 = Instant::now();
        limiter.reserve("r", "Op", t0);
        limiter.reserve("r", "Op", t0);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.reserve("r", "Op", later), Duration::ZERO);
        assert_eq!(limiter.reserve("r", "Op", later), Duration::ZERO);
        assert!(limiter.reserve("r", "Op", later) > Duration::ZERO);
    }

    #[test]
    fn background_takes_only_what_leaves_the_reserve() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 4,
        }));
        let t0 = Instant::now();
        // 4 tokens, keep 2: two background calls, then a wait for the third.
        assert_eq!(
            limiter.try_reserve_spare("r", "DescribeUser", 2, t0),
            Ok(())
        );
        assert_eq!(
            limiter.try_reserve_spare("r", "DescribeUser", 2, t0),
            Ok(())
        );
        assert_eq!(
            limiter.try_reserve_spare("r", "DescribeUser", 2, t0),
            Err(Duration::from_millis(500))
        );
        // A reconcile still finds two tokens at once.
        assert_eq!(limiter.reserve("r", "DescribeUser", t0), Duration::ZERO);
        assert_eq!(limiter.reserve("r", "DescribeUser", t0), Duration::ZERO);
        // And background work now waits until the reserve is back: 1.5 s for 3 tokens.
        assert_eq!(
            limiter.try_reserve_spare("r", "DescribeUser", 2, t0),
            Err(Duration::from_millis(1500))
        );
        // A keep of the whole burst still lets one through once the bucket is full.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(limiter.try_reserve_spare("r", "Other", 9, later), Ok(()));
        assert!(limiter.try_reserve_spare("r", "Other", 9, later).is_err());
        assert_eq!(
            RateLimiter::new(None).try_reserve_spare("r", "Op", 3, t0),
            Ok(())
        );
    }

    #[test]
    fn background_work_spends_at_an_instance_objects_override_too() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 4,
        }));
        limiter.set_override(
            "acct/r",
            "ns/slow",
            Some(Rate {
                per_second: 1.0,
                burst: 2,
            }),
        );
        let t0 = Instant::now();
        // Burst 2, keep 1: one token for background work, then a second's refill at 1/s.
        assert_eq!(
            limiter.try_reserve_spare("acct/r", "DescribeUser", 1, t0),
            Ok(())
        );
        assert_eq!(
            limiter.try_reserve_spare("acct/r", "DescribeUser", 1, t0),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn disabled_never_waits() {
        let limiter = RateLimiter::new(None);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(limiter.reserve("r", "Op", t0), Duration::ZERO);
        }
    }
}
