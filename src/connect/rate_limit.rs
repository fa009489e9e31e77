//! Client-side token buckets per (account and region, operation), so the operator stays under
//! Connect's per-account quotas (2 requests/s, burst 5 by default) instead of bouncing off 429s.
//! The configured rate (`--connect-rate`/`--connect-burst`, or the instance objects' override)
//! is the ceiling; each key's allowed rate below it is learnt from Connect's answers by a
//! [`RateControl`] ([`Adaptive`] in the operator): the rest of the account draws on the same
//! quota. Every attempt takes a token, retries included (see `super::ConnectApi`). The default
//! ceiling is a little under the quota: the server's bucket and ours drift by the network's
//! jitter (measured: 130 of 1,400 calls throttled at 2/s burst 5, none at 1.9/s burst 4).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use super::adaptive_rate::{Adaptive, Feedback, KeyRate, RateControl};

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
    /// Never negative: a caller takes a token only when there is one, and otherwise sleeps
    /// until one is due. (Reserving ahead, with a deficit slept off, would commit the queue to
    /// the rate of the moment: after a cut, the callers queued at the old rate would all be
    /// sent together.)
    tokens: f64,
    last: Instant,
    rate: Box<dyn KeyRate>,
}

/// The allowed rate of one key now (the `connect_allowed_rate` gauge).
#[derive(Clone, Debug, PartialEq)]
pub struct AllowedRate {
    pub scope: String,
    pub operation: &'static str,
    pub per_second: f64,
}

pub struct RateLimiter {
    rate: Option<Rate>,
    control: Arc<dyn RateControl>,
    buckets: Mutex<HashMap<(String, &'static str), Bucket>>,
    /// Per scope (account and region), the rates instance objects ask for, by object.
    overrides: Mutex<HashMap<String, BTreeMap<String, Rate>>>,
    /// Tokens handed out (callers let through), for the tests that count requests.
    grants: AtomicU64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(None)
    }
}

impl RateLimiter {
    /// `None` disables limiting. Each key adapts below `rate` ([`Adaptive`]).
    pub fn new(rate: Option<Rate>) -> RateLimiter {
        RateLimiter::with_control(rate, Arc::new(Adaptive))
    }

    /// With another policy for the rate below the ceiling (a benchmark's fixed baseline).
    pub fn with_control(rate: Option<Rate>, control: Arc<dyn RateControl>) -> RateLimiter {
        RateLimiter {
            rate: rate.filter(|r| r.per_second > 0.0),
            control,
            buckets: Mutex::default(),
            overrides: Mutex::default(),
            grants: AtomicU64::new(0),
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

    /// The ceiling in `scope`: the smallest override there, else the operator's own.
    fn rate_for(&self, scope: &str) -> Option<Rate> {
        let overrides = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
        overrides
            .get(scope)
            .and_then(|o| smallest(o.values()))
            .or(self.rate)
    }

    fn lock_buckets(&self) -> std::sync::MutexGuard<'_, HashMap<(String, &'static str), Bucket>> {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `take` on the bucket of (`scope`, `operation`), refilled up to `now` at the rate
    /// allowed there, with that rate and the bucket's size (the burst, shrunk with the rate);
    /// `None` when nothing is limited.
    fn with_bucket<T>(
        &self,
        scope: &str,
        operation: &'static str,
        now: Instant,
        take: impl FnOnce(&mut Bucket, f64, f64) -> T,
    ) -> Option<T> {
        let ceiling = self.rate_for(scope)?;
        let mut buckets = self.lock_buckets();
        let bucket = buckets
            .entry((scope.to_string(), operation))
            .or_insert_with(|| Bucket {
                tokens: f64::from(ceiling.burst.max(1)),
                last: now,
                rate: self.control.new_key(),
            });
        let fraction = bucket.rate.fraction(ceiling.per_second, now);
        let per_second = ceiling.per_second * fraction;
        // A burst at the ceiling's size would land on a quota others are using.
        let size = (f64::from(ceiling.burst.max(1)) * fraction).max(1.0);
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(size);
        bucket.last = now;
        Some(take(bucket, per_second, size))
    }

    /// Takes a token if one is there; otherwise how long until one is.
    pub fn try_take(
        &self,
        scope: &str,
        operation: &'static str,
        now: Instant,
    ) -> Result<(), Duration> {
        self.try_reserve_spare(scope, operation, 0, now)
    }

    /// Waits for a token. `scope` is the account and region (see `super::quota_scope`).
    /// Returns when the caller was let through: what [`RateLimiter::observe`] is told.
    pub async fn acquire(&self, scope: &str, operation: &'static str) -> Instant {
        while let Err(wait) = self.try_take(scope, operation, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        self.granted()
    }

    fn granted(&self) -> Instant {
        self.grants.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    /// Tokens handed out so far: every caller of `acquire` and `acquire_spare` let through.
    pub fn grants(&self) -> u64 {
        self.grants.load(Ordering::Relaxed)
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
        self.with_bucket(scope, operation, now, |bucket, per_second, size| {
            // A `keep` of the whole bucket would never leave a token to take.
            let keep = f64::from(keep).min(size - 1.0);
            let needed = 1.0 + keep;
            if bucket.tokens >= needed {
                bucket.tokens -= 1.0;
                Ok(())
            } else {
                Err(Duration::from_secs_f64(
                    (needed - bucket.tokens) / per_second,
                ))
            }
        })
        .unwrap_or(Ok(()))
    }

    /// Waits until a token can be taken with `keep` left over (see
    /// [`RateLimiter::try_reserve_spare`]): behind every normal caller, never ahead.
    pub async fn acquire_spare(&self, scope: &str, operation: &'static str, keep: u32) -> Instant {
        while let Err(wait) = self.try_reserve_spare(scope, operation, keep, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        self.granted()
    }

    /// Connect's answer to an attempt let through at `sent`.
    pub fn observe(
        &self,
        scope: &str,
        operation: &'static str,
        feedback: Feedback,
        sent: Instant,
        now: Instant,
    ) {
        let Some(ceiling) = self.rate_for(scope) else {
            return;
        };
        let mut buckets = self.lock_buckets();
        if let Some(bucket) = buckets.get_mut(&(scope.to_string(), operation))
            && bucket.rate.observe(feedback, sent, ceiling.per_second, now)
        {
            // Tokens saved up would land on Connect's bucket while it is empty.
            bucket.tokens = bucket.tokens.min(0.0);
        }
    }

    /// The rate allowed now for every key used so far.
    pub fn allowed_rates(&self, now: Instant) -> Vec<AllowedRate> {
        let keys: Vec<(String, &'static str)> = self.lock_buckets().keys().cloned().collect();
        let mut rates: Vec<AllowedRate> = keys
            .into_iter()
            .filter_map(|(scope, operation)| {
                let per_second = self.allowed_rate(&scope, operation, now)?;
                Some(AllowedRate {
                    scope,
                    operation,
                    per_second,
                })
            })
            .collect();
        rates.sort_by(|a, b| (&a.scope, a.operation).cmp(&(&b.scope, b.operation)));
        rates
    }

    /// The rate allowed now for (`scope`, `operation`): the ceiling until it was first used.
    pub fn allowed_rate(&self, scope: &str, operation: &'static str, now: Instant) -> Option<f64> {
        let ceiling = self.rate_for(scope)?;
        let buckets = self.lock_buckets();
        Some(match buckets.get(&(scope.to_string(), operation)) {
            Some(bucket) => ceiling.per_second * bucket.rate.fraction(ceiling.per_second, now),
            None => ceiling.per_second,
        })
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

    /// The wait [`RateLimiter::acquire`] would sleep before trying again (zero: taken).
    fn take(limiter: &RateLimiter, scope: &str, op: &'static str, now: Instant) -> Duration {
        limiter
            .try_take(scope, op, now)
            .err()
            .unwrap_or(Duration::ZERO)
    }

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
        assert_eq!(take(&limiter, "111/us-east-1", "Op", t0), Duration::ZERO);
        assert_eq!(
            take(&limiter, "111/us-east-1", "Op", t0),
            Duration::from_secs(1)
        );
        // Another account keeps the operator's rate (burst 4).
        for _ in 0..4 {
            assert_eq!(take(&limiter, "222/us-east-1", "Op", t0), Duration::ZERO);
        }
        assert!(take(&limiter, "222/us-east-1", "Op", t0) > Duration::ZERO);
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
                take(&limiter, "us-east-1", "CreateUser", t0),
                Duration::ZERO
            );
        }
        // The 6th waits 0.5 s: 2 per second after the burst. Waiting takes nothing: the 7th,
        // at the same moment, is told the same, and only one of them gets the token.
        assert_eq!(
            take(&limiter, "us-east-1", "CreateUser", t0),
            Duration::from_millis(500)
        );
        assert_eq!(
            take(&limiter, "us-east-1", "CreateUser", t0),
            Duration::from_millis(500)
        );
        let half = t0 + Duration::from_millis(500);
        assert_eq!(
            take(&limiter, "us-east-1", "CreateUser", half),
            Duration::ZERO
        );
        assert_eq!(
            take(&limiter, "us-east-1", "CreateUser", half),
            Duration::from_millis(500)
        );
        // Other operations and regions have their own buckets.
        assert_eq!(
            take(&limiter, "us-east-1", "DeleteUser", t0),
            Duration::ZERO
        );
        assert_eq!(
            take(&limiter, "eu-west-2", "CreateUser", t0),
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
        take(&limiter, "r", "Op", t0);
        take(&limiter, "r", "Op", t0);
        let later = t0 + Duration::from_secs(60);
        assert_eq!(take(&limiter, "r", "Op", later), Duration::ZERO);
        assert_eq!(take(&limiter, "r", "Op", later), Duration::ZERO);
        assert!(take(&limiter, "r", "Op", later) > Duration::ZERO);
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
        assert_eq!(take(&limiter, "r", "DescribeUser", t0), Duration::ZERO);
        assert_eq!(take(&limiter, "r", "DescribeUser", t0), Duration::ZERO);
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
            assert_eq!(take(&limiter, "r", "Op", t0), Duration::ZERO);
        }
    }

    fn throttled(limiter: &RateLimiter, scope: &str, op: &'static str, at: Instant) {
        limiter.observe(scope, op, Feedback::Throttled, at, at);
    }

    #[test]
    fn a_throttle_lowers_only_its_own_key() {
        let ceiling = Rate {
            per_second: 2.0,
            burst: 5,
        };
        let limiter = RateLimiter::new(Some(ceiling));
        let t0 = Instant::now();
        for (scope, op) in [
            ("a/r", "CreateUser"),
            ("a/r", "DeleteUser"),
            ("b/r", "CreateUser"),
        ] {
            let _ = take(&limiter, scope, op, t0);
        }
        throttled(&limiter, "a/r", "CreateUser", t0);
        let cut = limiter.allowed_rate("a/r", "CreateUser", t0).unwrap();
        assert!(
            (cut - 2.0 * super::super::adaptive_rate::BETA).abs() < 1e-9,
            "{cut}"
        );
        // Another operation, another account: still at the ceiling.
        assert_eq!(limiter.allowed_rate("a/r", "DeleteUser", t0), Some(2.0));
        assert_eq!(limiter.allowed_rate("b/r", "CreateUser", t0), Some(2.0));
        assert_eq!(limiter.allowed_rates(t0).len(), 3);
    }

    #[test]
    fn answers_never_lower_the_rate_and_limit_exceeded_is_an_answer() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 5,
        }));
        let t0 = Instant::now();
        let _ = take(&limiter, "a/r", "CreateUser", t0);
        let quota_exceeded: Result<(), _> = Err(super::super::ConnectError {
            operation: "CreateUser",
            kind: super::super::error::kind_of_code("LimitExceededException"),
            code: "LimitExceededException".into(),
            message: "the allowed limit for the resource has been exceeded".into(),
        });
        assert_eq!(super::super::feedback(&quota_exceeded), Feedback::Answered);
        let throttle: Result<(), _> = Err(super::super::ConnectError {
            operation: "CreateUser",
            kind: super::super::error::kind_of_code("ThrottlingException"),
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        });
        assert_eq!(super::super::feedback(&throttle), Feedback::Throttled);
        for i in 0..50 {
            let t = t0 + Duration::from_millis(i * 100);
            limiter.observe(
                "a/r",
                "CreateUser",
                super::super::feedback(&quota_exceeded),
                t,
                t,
            );
            limiter.observe("a/r", "CreateUser", Feedback::Answered, t, t);
        }
        assert_eq!(limiter.allowed_rate("a/r", "CreateUser", t0), Some(2.0));
    }

    #[test]
    fn the_rate_paces_the_bucket_and_recovers_to_the_ceiling_never_above() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 5,
        }));
        let t0 = Instant::now();
        // Empty the bucket, then a throttle: 2/s becomes 2 x BETA.
        for _ in 0..5 {
            assert_eq!(take(&limiter, "a/r", "Op", t0), Duration::ZERO);
        }
        throttled(&limiter, "a/r", "Op", t0);
        let beta = super::super::adaptive_rate::BETA;
        assert_eq!(
            take(&limiter, "a/r", "Op", t0),
            Duration::from_secs_f64(1.0 / (2.0 * beta))
        );
        // Long after: back at the ceiling (2/s, 5 tokens), not above.
        let later = t0 + Duration::from_secs(600);
        assert_eq!(limiter.allowed_rate("a/r", "Op", later), Some(2.0));
        for _ in 0..5 {
            assert_eq!(take(&limiter, "a/r", "Op", later), Duration::ZERO);
        }
        assert_eq!(
            take(&limiter, "a/r", "Op", later),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn an_instance_objects_override_is_the_ceiling_of_the_adapted_rate() {
        let limiter = RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 5,
        }));
        let t0 = Instant::now();
        let _ = take(&limiter, "a/r", "Op", t0);
        throttled(&limiter, "a/r", "Op", t0);
        limiter.set_override(
            "a/r",
            "ns/slow",
            Some(Rate {
                per_second: 1.0,
                burst: 2,
            }),
        );
        let beta = super::super::adaptive_rate::BETA;
        assert_eq!(limiter.allowed_rate("a/r", "Op", t0), Some(beta));
        let later = t0 + Duration::from_secs(600);
        assert_eq!(limiter.allowed_rate("a/r", "Op", later), Some(1.0));
    }

    #[tokio::test]
    async fn a_waiter_queued_before_a_cut_waits_at_the_new_rate() {
        let limiter = Arc::new(RateLimiter::new(Some(Rate {
            per_second: 2.0,
            burst: 1,
        })));
        let t0 = Instant::now();
        limiter.acquire("a/r", "Op").await;
        // Queued behind the first: 0.5 s at 2/s.
        let waiter = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire("a/r", "Op").await })
        };
        tokio::task::yield_now().await;
        throttled(&limiter, "a/r", "Op", Instant::now());
        let granted = waiter.await.unwrap();
        // It waited for its token at the cut rate, not at the rate it queued at.
        let waited = granted.saturating_duration_since(t0).as_secs_f64();
        let beta = super::super::adaptive_rate::BETA;
        // (Without the new reservation it would have gone at 0.5 s.)
        assert!(waited >= 1.0 / (2.0 * beta) - 0.03, "{waited}");
        assert_eq!(limiter.grants(), 2);
    }
}
