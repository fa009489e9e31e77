//! API quotas: one token bucket per (account, Region, operation), the way Connect throttles:
//! every key and role session of one account shares the account's quota, and another account's
//! calls never draw from it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::config::Quota;

struct Bucket {
    quota: Quota,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(quota: Quota, now: Instant) -> Bucket {
        Bucket {
            quota,
            tokens: f64::from(quota.burst),
            at: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * self.quota.rate_per_sec).min(f64::from(self.quota.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Default)]
struct Inner {
    default: Option<Quota>,
    /// Replaces `default` for one account (a quota increase, or a stricter test).
    per_account: HashMap<String, Option<Quota>>,
    per_operation: HashMap<String, Quota>,
    buckets: HashMap<(String, String, String), Bucket>,
}

#[derive(Default)]
pub struct Throttle(Mutex<Inner>);

impl Throttle {
    pub fn new(default: Option<Quota>) -> Throttle {
        Throttle(Mutex::new(Inner {
            default,
            ..Inner::default()
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the quota of every operation without its own; buckets start full again.
    pub fn set_default(&self, quota: Option<Quota>) {
        let mut inner = self.lock();
        inner.default = quota;
        inner.buckets.clear();
    }

    /// Gives `account` its own default quota (`Some(None)`: no throttling for it); `None`
    /// returns it to the general default. Its buckets start full again.
    pub fn set_account(&self, account: &str, quota: Option<Option<Quota>>) {
        let mut inner = self.lock();
        match quota {
            Some(q) => inner.per_account.insert(account.to_string(), q),
            None => inner.per_account.remove(account),
        };
        inner.buckets.retain(|(a, _, _), _| a != account);
    }

    /// Gives `operation` its own quota (for every account); `None` returns it to the default.
    pub fn set_operation(&self, operation: &str, quota: Option<Quota>) {
        let mut inner = self.lock();
        match quota {
            Some(q) => inner.per_operation.insert(operation.to_string(), q),
            None => inner.per_operation.remove(operation),
        };
        inner.buckets.retain(|(_, _, op), _| op != operation);
    }

    /// Takes a token from `account`'s bucket for `operation` in `region`; `false` means the
    /// call is throttled.
    pub fn admit(&self, account: &str, region: &str, operation: &str) -> bool {
        let mut inner = self.lock();
        let default = inner
            .per_account
            .get(account)
            .copied()
            .unwrap_or(inner.default);
        let Some(quota) = inner.per_operation.get(operation).copied().or(default) else {
            return true;
        };
        let now = Instant::now();
        inner
            .buckets
            .entry((
                account.to_string(),
                region.to_string(),
                operation.to_string(),
            ))
            .or_insert_with(|| Bucket::new(quota, now))
            .take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t = Throttle::new(Some(Quota {
            rate_per_sec: 1000.0,
            burst: 2,
        }));
        assert!(t.admit("a", "r", "Op"));
        assert!(t.admit("a", "r", "Op"));
        // Buckets are independent per key, Region and operation.
        assert!(t.admit("b", "r", "Op"));
        assert!(t.admit("a", "r2", "Op"));
        assert!(t.admit("a", "r", "Other"));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(t.admit("a", "r", "Op"));
    }

    #[test]
    fn empty_bucket_throttles_until_refilled() {
        let t = Throttle::new(Some(Quota {
            rate_per_sec: 0.001,
            burst: 1,
        }));
        assert!(t.admit("a", "r", "Op"));
        assert!(!t.admit("a", "r", "Op"));
        // Another account has its own bucket, and may have its own quota.
        assert!(t.admit("b", "r", "Op"));
        t.set_account("b", Some(None));
        assert!(t.admit("b", "r", "Op") && t.admit("b", "r", "Op"));
        assert!(!t.admit("a", "r", "Op"));
        t.set_operation("Op", None);
        t.set_default(None);
        assert!(t.admit("a", "r", "Op"));
    }
}
