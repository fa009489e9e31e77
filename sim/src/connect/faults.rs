//! Fault injection (error rates, the Nth call failing, latency) and success hooks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::errors::ApiError;

/// A fault for one operation (`Some("CreateUser")`) or all of them (`None`).
#[derive(Clone, Debug)]
pub struct Fault {
    pub operation: Option<String>,
    pub kind: FaultKind,
}

impl Fault {
    pub fn on(operation: &str, kind: FaultKind) -> Fault {
        Fault {
            operation: Some(operation.to_string()),
            kind,
        }
    }

    pub fn all(kind: FaultKind) -> Fault {
        Fault {
            operation: None,
            kind,
        }
    }
}

#[derive(Clone, Debug)]
pub enum FaultKind {
    /// Each matching call fails with probability `rate` (0.0-1.0). Status 429 answers
    /// ThrottlingException, 500 InternalServiceException, 503 ServiceUnavailableException.
    ErrorRate { rate: f64, status: u16 },
    /// The `n`th matching call (1-based, counted from when the fault was added) fails, once.
    FailNth { n: usize, status: u16 },
    /// Every matching call is answered this much later.
    Latency(Duration),
}

struct Armed {
    fault: Fault,
    seen: usize,
}

impl Armed {
    fn matches(&self, operation: &str) -> bool {
        self.fault
            .operation
            .as_deref()
            .is_none_or(|o| o == operation)
    }
}

/// What the faults decided for one call.
#[derive(Default)]
pub struct Decision {
    pub latency: Duration,
    pub error: Option<ApiError>,
}

#[derive(Default)]
pub struct Faults(Mutex<Vec<Armed>>);

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Armed>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, fault: Fault) {
        self.lock().push(Armed { fault, seen: 0 });
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Counts the call against every matching fault and decides its fate.
    pub fn decide(&self, operation: &str) -> Decision {
        let mut decision = Decision::default();
        for armed in self.lock().iter_mut().filter(|a| a.matches(operation)) {
            armed.seen += 1;
            let failed = match armed.fault.kind {
                FaultKind::Latency(d) => {
                    decision.latency += d;
                    None
                }
                FaultKind::ErrorRate { rate, status } => {
                    (rand::random::<f64>() < rate).then_some(status)
                }
                FaultKind::FailNth { n, status } => (armed.seen == n).then_some(status),
            };
            if let (None, Some(status)) = (&decision.error, failed) {
                decision.error = Some(ApiError::for_status(status));
            }
        }
        decision
    }
}

type HookFn = Arc<dyn Fn() + Send + Sync>;

struct Hook {
    operation: String,
    nth: usize,
    seen: usize,
    run: HookFn,
}

/// Hooks run after the Nth successful call of an operation, before its response is written.
#[derive(Default)]
pub struct Hooks(Mutex<Vec<Hook>>);

impl Hooks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Hook>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, operation: &str, nth: usize, run: HookFn) {
        self.lock().push(Hook {
            operation: operation.to_string(),
            nth,
            seen: 0,
            run,
        });
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Counts one success of `operation`; returns the hooks now due (each fires once). The
    /// caller runs them outside the lock so a hook may use the emulator.
    pub fn succeeded(&self, operation: &str) -> Vec<HookFn> {
        let mut due = Vec::new();
        self.lock().retain_mut(|h| {
            if h.operation != operation {
                return true;
            }
            h.seen += 1;
            if h.seen == h.nth {
                due.push(h.run.clone());
                return false;
            }
            true
        });
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_nth_fires_once_and_counts_only_matching_calls() {
        let f = Faults::default();
        f.add(Fault::on(
            "DeleteUser",
            FaultKind::FailNth { n: 2, status: 500 },
        ));
        assert!(f.decide("DeleteUser").error.is_none());
        assert!(f.decide("CreateUser").error.is_none());
        assert_eq!(
            f.decide("DeleteUser").error.unwrap().error_type,
            "InternalServiceException"
        );
        assert!(f.decide("DeleteUser").error.is_none());
    }

    #[test]
    fn hooks_fire_on_the_nth_success_only() {
        let h = Hooks::default();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = hits.clone();
        h.add(
            "X",
            2,
            Arc::new(move || {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
        );
        assert!(h.succeeded("X").is_empty());
        assert!(h.succeeded("Y").is_empty());
        let due = h.succeeded("X");
        assert_eq!(due.len(), 1);
        due[0]();
        assert!(h.succeeded("X").is_empty());
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
