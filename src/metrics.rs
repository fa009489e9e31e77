//! Prometheus metrics (OpenMetrics text): reconciles, their duration, Connect calls by operation
//! and outcome, each attempt (retries included) by operation and outcome, the rate limiter's
//! allowed rate, throttling, quick connects deleted, resources by Ready state, deletions in
//! progress and their duration, instance objects by status, leadership.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::SystemTime;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: String,
    pub outcome: String,
}

/// One Connect instance (the dangling quick-connect sweep's series).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    pub instance_id: String,
    pub region: String,
}

/// One key of the Connect rate limiter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RateLabels {
    pub account: String,
    pub region: String,
    pub operation: String,
}

/// The rate the limiter allows one key now (`account` is `own-account` for the operator's own
/// credentials).
#[derive(Clone, Debug, PartialEq)]
pub struct AllowedRate {
    pub account: String,
    pub region: String,
    pub operation: String,
    pub per_second: f64,
}

/// Reads the limiter's allowed rates when /metrics is scraped.
pub type RateSource = Box<dyn Fn() -> Vec<AllowedRate> + Send + Sync>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabel {
    pub ready: String,
}

/// What the instance-object gauges know of one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceObjectState {
    pub kind: &'static str,
    /// The Ready condition's status: True, False or Unknown.
    pub ready: &'static str,
    /// The Ready condition's reason, when it is not True.
    pub reason: Option<String>,
}

/// Instance objects by kind and Ready condition status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceObjectLabels {
    pub kind: String,
    pub ready: String,
}

/// Why an instance object is not Ready: its kind and the Ready condition's reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotReadyLabels {
    pub kind: String,
    pub reason: String,
}

/// Deletion latency buckets (seconds): a deletion takes at least the settle window (5m by
/// default) after DeleteUser, so the buckets are dense around 5 to 10 minutes.
const DELETION_BUCKETS: [f64; 16] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 240.0, 300.0, 330.0, 360.0, 420.0, 600.0, 900.0, 1800.0,
    3600.0, 7200.0,
];

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabel, Counter>,
    reconcile_duration: Histogram,
    connect_calls: Family<CallLabels, Counter>,
    connect_requests: Family<CallLabels, Counter>,
    allowed_rate: Family<RateLabels, Gauge<f64, AtomicU64>>,
    rate_source: OnceLock<RateSource>,
    throttled: Counter,
    quick_connects_deleted: Counter,
    resources: Family<ReadyLabel, Gauge>,
    leader: Gauge,
    dangling_quick_connects: Family<InstanceLabels, Gauge>,
    dangling_quick_connects_deleted: Family<InstanceLabels, Counter>,
    ready_by_resource: Mutex<HashMap<String, &'static str>>,
    instance_objects: Family<InstanceObjectLabels, Gauge>,
    /// Instance objects (key: kind/namespace/name): kind, Ready, and why not.
    instance_object_states: Mutex<HashMap<String, InstanceObjectState>>,
    deletion_duration: Histogram,
    deletions_pending: Gauge,
    deletion_oldest_age: Gauge<f64, AtomicU64>,
    /// ConnectUsers being deleted (key: namespace/name) and their deletionTimestamp.
    deleting: Mutex<HashMap<String, SystemTime>>,
    not_ready: Family<NotReadyLabels, Gauge>,
    /// Caches synced (or this replica is a standby): what /readyz answers.
    pub ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("connect_user_operator");
        let reconciles = Family::<ResultLabel, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by result (ok or the error reason)",
            reconciles.clone(),
        );
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            reconcile_duration.clone(),
        );
        let connect_calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "connect_calls",
            "Amazon Connect API calls by operation and outcome",
            connect_calls.clone(),
        );
        let connect_requests = Family::<CallLabels, Counter>::default();
        registry.register(
            "connect_requests",
            "Amazon Connect API requests (every attempt, retries included) by operation and outcome (ok, throttled, error)",
            connect_requests.clone(),
        );
        let allowed_rate = Family::<RateLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "connect_allowed_rate",
            "Requests per second the adaptive rate limiter allows now, per account, region and operation",
            allowed_rate.clone(),
        );
        let throttled = Counter::default();
        registry.register(
            "connect_throttled",
            "Connect calls still throttled after the operator's retries",
            throttled.clone(),
        );
        let quick_connects_deleted = Counter::default();
        registry.register(
            "quick_connects_deleted",
            "Quick connects deleted after their user",
            quick_connects_deleted.clone(),
        );
        let resources = Family::<ReadyLabel, Gauge>::default();
        registry.register(
            "resources",
            "ConnectUser resources by Ready condition status",
            resources.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader lease",
            leader.clone(),
        );
        let dangling_quick_connects = Family::<InstanceLabels, Gauge>::default();
        registry.register(
            "dangling_quick_connects",
            "USER quick connects whose user no longer exists, at the instance's last sweep",
            dangling_quick_connects.clone(),
        );
        let dangling_quick_connects_deleted = Family::<InstanceLabels, Counter>::default();
        registry.register(
            "dangling_quick_connects_deleted",
            "Dangling USER quick connects deleted by the sweep",
            dangling_quick_connects_deleted.clone(),
        );
        let instance_objects = Family::<InstanceObjectLabels, Gauge>::default();
        registry.register(
            "instance_objects",
            "ConnectInstance and ClusterConnectInstance objects by kind and Ready condition status",
            instance_objects.clone(),
        );
        let deletion_duration = Histogram::new(DELETION_BUCKETS);
        registry.register(
            "deletion_duration_seconds",
            "From a ConnectUser's deletionTimestamp to the release of its finalizer (cleanup done)",
            deletion_duration.clone(),
        );
        let deletions_pending = Gauge::default();
        registry.register(
            "deletions_pending",
            "ConnectUsers being deleted whose finalizer is still held",
            deletions_pending.clone(),
        );
        let deletion_oldest_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "deletion_oldest_age_seconds",
            "Seconds since the deletionTimestamp of the oldest deletion still in progress (0: none)",
            deletion_oldest_age.clone(),
        );
        let not_ready = Family::<NotReadyLabels, Gauge>::default();
        registry.register(
            "instance_objects_not_ready",
            "Instance objects whose Ready condition is not True, by kind and the condition's reason",
            not_ready.clone(),
        );
        let metrics = Metrics {
            registry,
            instance_objects,
            instance_object_states: Mutex::default(),
            deletion_duration,
            deletions_pending,
            deletion_oldest_age,
            deleting: Mutex::default(),
            not_ready,
            dangling_quick_connects,
            dangling_quick_connects_deleted,
            reconciles,
            reconcile_duration,
            connect_calls,
            connect_requests,
            allowed_rate,
            rate_source: OnceLock::new(),
            throttled,
            quick_connects_deleted,
            resources,
            leader,
            ready_by_resource: Mutex::default(),
            ready: AtomicBool::new(false),
        };
        // Every state is exported from the start, at 0.
        for state in ["True", "False", "Unknown"] {
            metrics
                .resources
                .get_or_create(&ReadyLabel {
                    ready: state.into(),
                })
                .set(0);
            for kind in ["ConnectInstance", "ClusterConnectInstance"] {
                metrics
                    .instance_objects
                    .get_or_create(&InstanceObjectLabels {
                        kind: kind.into(),
                        ready: state.into(),
                    })
                    .set(0);
            }
        }
        metrics
    }
}

/// Moves one object in a by-state gauge family from its old state to `now`: only the two
/// gauges that changed are adjusted (a recount would cost O(objects) per reconcile).
fn track<S: Copy + PartialEq, L: EncodeLabelSet + Clone + Eq + std::hash::Hash>(
    states: &Mutex<HashMap<String, S>>,
    family: &Family<L, Gauge>,
    key: &str,
    now: Option<S>,
    label: impl Fn(S) -> L,
) {
    let mut states = states.lock().unwrap_or_else(|e| e.into_inner());
    let old = match now {
        Some(s) => states.insert(key.to_string(), s),
        None => states.remove(key),
    };
    if old != now {
        for (state, delta) in [(old, -1), (now, 1)] {
            if let Some(state) = state {
                family.get_or_create(&label(state)).inc_by(delta);
            }
        }
    }
}

impl Metrics {
    pub fn reconciled(&self, result: &str, seconds: f64) {
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
        self.reconcile_duration.observe(seconds);
    }

    pub fn connect_call(&self, operation: &str, outcome: &str) {
        self.connect_calls
            .get_or_create(&CallLabels {
                operation: operation.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        if outcome == "throttled" {
            self.throttled.inc();
        }
    }

    /// One attempt sent to Connect: `outcome` is ok, throttled or error.
    pub fn connect_request(&self, operation: &str, outcome: &str) {
        self.connect_requests
            .get_or_create(&CallLabels {
                operation: operation.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Where `connect_allowed_rate` is read from at each scrape (set once).
    pub fn set_rate_source(&self, source: RateSource) {
        let _ = self.rate_source.set(source);
    }

    pub fn quick_connect_deleted(&self) {
        self.quick_connects_deleted.inc();
    }

    /// Records a resource's Ready status ("True", "False", "Unknown"), or None once it is gone.
    pub fn set_ready(&self, key: &str, ready: Option<&'static str>) {
        track(&self.ready_by_resource, &self.resources, key, ready, |r| {
            ReadyLabel { ready: r.into() }
        });
    }

    /// Records an instance object's state (key: kind/namespace/name), or None once it is gone:
    /// `instance_objects{kind,ready}` and, when not Ready, `instance_objects_not_ready{kind,reason}`.
    pub fn set_instance_object(&self, key: &str, now: Option<InstanceObjectState>) {
        let mut states = self
            .instance_object_states
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let old = match &now {
            Some(state) => states.insert(key.to_string(), state.clone()),
            None => states.remove(key),
        };
        if old == now {
            return;
        }
        // Only the series that changed move: a recount would cost O(objects) per reconcile.
        for (state, delta) in [(old, -1), (now, 1)] {
            let Some(state) = state else { continue };
            self.instance_objects
                .get_or_create(&InstanceObjectLabels {
                    kind: state.kind.into(),
                    ready: state.ready.into(),
                })
                .inc_by(delta);
            if let Some(reason) = state.reason {
                self.not_ready
                    .get_or_create(&NotReadyLabels {
                        kind: state.kind.into(),
                        reason,
                    })
                    .inc_by(delta);
            }
        }
    }

    /// The dangling quick connects an instance's last sweep left in place (`None`: the instance
    /// is no longer swept, its series goes).
    pub fn set_dangling_quick_connects(&self, instance: &InstanceLabels, count: Option<usize>) {
        match count {
            Some(n) => {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                self.dangling_quick_connects.get_or_create(instance).set(n);
            }
            None => {
                self.dangling_quick_connects.remove(instance);
            }
        }
    }

    pub fn dangling_quick_connect_deleted(&self, instance: &InstanceLabels) {
        self.dangling_quick_connects_deleted
            .get_or_create(instance)
            .inc();
    }

    /// A reconcile of a ConnectUser being deleted that still holds the finalizer: `released`
    /// says whether this pass finished the cleanup (the finalizer is gone). `deleted_at` is the
    /// resource's deletionTimestamp.
    pub fn deletion_pass(&self, key: &str, deleted_at: SystemTime, released: bool) {
        let mut map = self.deleting.lock().unwrap_or_else(|e| e.into_inner());
        if released {
            map.remove(key);
            let seconds = SystemTime::now()
                .duration_since(deleted_at)
                .unwrap_or_default()
                .as_secs_f64();
            self.deletion_duration.observe(seconds);
        } else {
            map.insert(key.to_string(), deleted_at);
        }
        self.deletions_pending
            .set(i64::try_from(map.len()).unwrap_or(i64::MAX));
    }

    /// The resource went away (or is no longer this replica's to reconcile).
    pub fn forget_deletion(&self, key: &str) {
        let mut map = self.deleting.lock().unwrap_or_else(|e| e.into_inner());
        if map.remove(key).is_some() {
            self.deletions_pending
                .set(i64::try_from(map.len()).unwrap_or(i64::MAX));
        }
    }

    /// Keeps the instance objects of `kind` whose key is in `keys` (a re-list), drops the
    /// rest: an object deleted while the watch was down gets no Delete event.
    pub fn retain_instance_objects(&self, kind: &str, keys: &std::collections::BTreeSet<String>) {
        let gone: Vec<String> = self
            .instance_object_states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(key, s)| s.kind == kind && !keys.contains(*key))
            .map(|(key, _)| key.clone())
            .collect();
        for key in gone {
            self.set_instance_object(&key, None);
        }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
        if !leader {
            // A standby reconciles nothing: what it tracked belongs to the next leader now, and
            // kept here it would report users, deletions and instance states that nobody
            // updates (and double the sums across replicas).
            let keys: Vec<String> = self
                .instance_object_states
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect();
            for key in keys {
                self.set_instance_object(&key, None);
            }
            self.deleting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            self.deletions_pending.set(0);
            self.ready_by_resource
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            for state in ["True", "False", "Unknown"] {
                self.resources
                    .get_or_create(&ReadyLabel {
                        ready: state.into(),
                    })
                    .set(0);
            }
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The exposition in OpenMetrics text. Ages are computed here, at scrape time, so that a
    /// stuck deletion's age grows between reconciles.
    pub fn encode(&self) -> String {
        self.encode_at(SystemTime::now())
    }

    fn encode_at(&self, now: SystemTime) -> String {
        if let Some(source) = self.rate_source.get() {
            // Read at scrape time: an idle key's rate grows back without a request.
            self.allowed_rate.clear();
            for rate in source() {
                let labels = RateLabels {
                    account: rate.account,
                    region: rate.region,
                    operation: rate.operation,
                };
                self.allowed_rate
                    .get_or_create(&labels)
                    .set(rate.per_second);
            }
        }
        let oldest = self
            .deleting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .min()
            .copied();
        self.deletion_oldest_age.set(oldest.map_or(0.0, |t| {
            now.duration_since(t).unwrap_or_default().as_secs_f64()
        }));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let m = Metrics::default();
        m.reconciled("ok", 0.01);
        m.connect_call("CreateUser", "ok");
        m.connect_call("CreateUser", "throttled");
        m.quick_connect_deleted();
        m.set_ready("ns/a", Some("True"));
        m.set_ready("ns/b", Some("False"));
        m.set_ready("ns/b", None);
        // Moves between states and repeats keep the counts exact.
        m.set_ready("ns/c", Some("Unknown"));
        m.set_ready("ns/c", Some("False"));
        m.set_ready("ns/c", Some("False"));
        m.set_ready("ns/c", Some("True"));
        m.set_ready("ns/gone", None);
        m.set_leader(true);
        let instance = InstanceLabels {
            instance_id: "i-1".into(),
            region: "us-east-1".into(),
        };
        m.set_dangling_quick_connects(&instance, Some(20));
        m.dangling_quick_connect_deleted(&instance);
        let gone = InstanceLabels {
            instance_id: "i-2".into(),
            region: "us-east-1".into(),
        };
        m.set_dangling_quick_connects(&gone, Some(3));
        m.set_dangling_quick_connects(&gone, None);
        let state = |kind: &'static str, ready: &'static str| {
            Some(InstanceObjectState {
                kind,
                ready,
                reason: (ready != "True").then(|| "R".to_string()),
            })
        };
        m.set_instance_object("ConnectInstance/ns/a", state("ConnectInstance", "False"));
        m.set_instance_object("ConnectInstance/ns/a", state("ConnectInstance", "True"));
        m.set_instance_object("ConnectInstance/ns/b", state("ConnectInstance", "True"));
        m.set_instance_object(
            "ClusterConnectInstance/c",
            state("ClusterConnectInstance", "False"),
        );
        m.set_instance_object("ConnectInstance/ns/b", None);
        m.connect_request("CreateUser", "throttled");
        m.connect_request("CreateUser", "ok");
        m.set_rate_source(Box::new(|| {
            vec![AllowedRate {
                account: "own-account".into(),
                region: "us-east-1".into(),
                operation: "CreateUser".into(),
                per_second: 1.52,
            }]
        }));
        let text = m.encode();
        assert!(!text.contains("i-2"), "{text}");
        for needle in [
            "connect_user_operator_reconciles_total{result=\"ok\"} 1",
            "connect_user_operator_reconcile_duration_seconds_count 1",
            "connect_user_operator_connect_calls_total{operation=\"CreateUser\",outcome=\"throttled\"} 1",
            "connect_user_operator_connect_throttled_total 1",
            "connect_user_operator_connect_requests_total{operation=\"CreateUser\",outcome=\"throttled\"} 1",
            "connect_user_operator_connect_requests_total{operation=\"CreateUser\",outcome=\"ok\"} 1",
            "connect_user_operator_connect_allowed_rate{account=\"own-account\",region=\"us-east-1\",operation=\"CreateUser\"} 1.52",
            "connect_user_operator_quick_connects_deleted_total 1",
            "connect_user_operator_resources{ready=\"True\"} 2",
            "connect_user_operator_resources{ready=\"Unknown\"} 0",
            "connect_user_operator_resources{ready=\"False\"} 0",
            "connect_user_operator_leader 1",
            "connect_user_operator_instance_objects{kind=\"ConnectInstance\",ready=\"True\"} 1",
            "connect_user_operator_instance_objects{kind=\"ConnectInstance\",ready=\"False\"} 0",
            "connect_user_operator_instance_objects{kind=\"ClusterConnectInstance\",ready=\"False\"} 1",
            "connect_user_operator_instance_objects{kind=\"ClusterConnectInstance\",ready=\"True\"} 0",
            "connect_user_operator_dangling_quick_connects{instance_id=\"i-1\",region=\"us-east-1\"} 20",
            "connect_user_operator_dangling_quick_connects_deleted_total{instance_id=\"i-1\",region=\"us-east-1\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn deletions_in_progress_report_their_age_and_finished_ones_their_duration() {
        use std::time::Duration;
        let m = Metrics::default();
        let now = SystemTime::now();
        let text = m.encode_at(now);
        assert_eq!(
            sample(&text, "connect_user_operator_deletions_pending"),
            0.0
        );
        assert_eq!(
            sample(&text, "connect_user_operator_deletion_oldest_age_seconds"),
            0.0
        );
        m.deletion_pass("ns/a", now - Duration::from_secs(400), false);
        m.deletion_pass("ns/b", now - Duration::from_secs(30), false);
        // A second pass of the same deletion counts once.
        m.deletion_pass("ns/b", now - Duration::from_secs(30), false);
        let text = m.encode_at(now);
        assert_eq!(
            sample(&text, "connect_user_operator_deletions_pending"),
            2.0
        );
        let age = sample(&text, "connect_user_operator_deletion_oldest_age_seconds");
        assert!((400.0..401.0).contains(&age), "{age}");
        // The age grows at each scrape without any reconcile.
        let later = m.encode_at(now + Duration::from_secs(60));
        let age = sample(&later, "connect_user_operator_deletion_oldest_age_seconds");
        assert!((460.0..461.0).contains(&age), "{age}");
        // The oldest finishes: its duration is observed, the next oldest is reported.
        m.deletion_pass("ns/a", SystemTime::now() - Duration::from_secs(400), true);
        let text = m.encode_at(now);
        assert_eq!(
            sample(&text, "connect_user_operator_deletions_pending"),
            1.0
        );
        let age = sample(&text, "connect_user_operator_deletion_oldest_age_seconds");
        assert!((30.0..31.0).contains(&age), "{age}");
        assert_eq!(
            sample(
                &text,
                "connect_user_operator_deletion_duration_seconds_count"
            ),
            1.0
        );
        assert_eq!(
            sample(
                &text,
                "connect_user_operator_deletion_duration_seconds_bucket{le=\"360.0\"}"
            ),
            0.0
        );
        assert_eq!(
            sample(
                &text,
                "connect_user_operator_deletion_duration_seconds_bucket{le=\"420.0\"}"
            ),
            1.0
        );
        // Gone without a finished pass (finalizer removed by hand): no longer pending.
        m.forget_deletion("ns/b");
        m.forget_deletion("ns/unknown");
        let text = m.encode_at(now);
        assert_eq!(
            sample(&text, "connect_user_operator_deletions_pending"),
            0.0
        );
        assert_eq!(
            sample(&text, "connect_user_operator_deletion_oldest_age_seconds"),
            0.0
        );
        // Losing the lease drops what this replica tracked: the new leader reports it now.
        m.deletion_pass("ns/c", now, false);
        m.set_ready("ns/c", Some("True"));
        m.set_leader(false);
        let text = m.encode_at(now);
        assert_eq!(
            sample(&text, "connect_user_operator_deletions_pending"),
            0.0
        );
        assert_eq!(
            sample(&text, "connect_user_operator_resources{ready=\"True\"}"),
            0.0
        );
        // And a later term counts from scratch.
        m.set_leader(true);
        m.set_ready("ns/c", Some("True"));
        assert_eq!(
            sample(
                &m.encode(),
                "connect_user_operator_resources{ready=\"True\"}"
            ),
            1.0
        );
    }

    #[test]
    fn instance_objects_not_ready_are_counted_by_kind_and_reason() {
        let m = Metrics::default();
        let why = |kind: &'static str, reason: &str| {
            Some(InstanceObjectState {
                kind,
                ready: "False",
                reason: Some(reason.into()),
            })
        };
        let series = |kind: &str, reason: &str| {
            format!(
                "connect_user_operator_instance_objects_not_ready{{kind=\"{kind}\",reason=\"{reason}\"}}"
            )
        };
        let a = "ConnectInstance/ns/a";
        let b = "ConnectInstance/ns/b";
        let c = "ClusterConnectInstance/c";
        m.set_instance_object(a, why("ConnectInstance", "CredentialsUnavailable"));
        m.set_instance_object(b, why("ConnectInstance", "CredentialsUnavailable"));
        m.set_instance_object(c, why("ClusterConnectInstance", "AccessDenied"));
        let text = m.encode();
        assert_eq!(
            sample(&text, &series("ConnectInstance", "CredentialsUnavailable")),
            2.0
        );
        assert_eq!(
            sample(&text, &series("ClusterConnectInstance", "AccessDenied")),
            1.0
        );
        // Another reason moves the object; a repeat changes nothing; Ready takes it out.
        m.set_instance_object(b, why("ConnectInstance", "InstanceNotReady"));
        m.set_instance_object(b, why("ConnectInstance", "InstanceNotReady"));
        let ready = InstanceObjectState {
            kind: "ConnectInstance",
            ready: "True",
            reason: None,
        };
        m.set_instance_object(a, Some(ready));
        let text = m.encode();
        assert_eq!(
            sample(&text, &series("ConnectInstance", "CredentialsUnavailable")),
            0.0
        );
        assert_eq!(
            sample(&text, &series("ConnectInstance", "InstanceNotReady")),
            1.0
        );
        // A re-list of one kind drops that kind's missing objects only.
        m.retain_instance_objects("ConnectInstance", &Default::default());
        let text = m.encode();
        assert_eq!(
            sample(&text, &series("ConnectInstance", "InstanceNotReady")),
            0.0
        );
        assert_eq!(
            sample(&text, &series("ClusterConnectInstance", "AccessDenied")),
            1.0
        );
        // Losing the lease drops the rest, and the by-Ready gauge's entries too.
        m.set_leader(false);
        let text = m.encode();
        assert_eq!(
            sample(&text, &series("ClusterConnectInstance", "AccessDenied")),
            0.0
        );
        assert_eq!(
            sample(
                &text,
                "connect_user_operator_instance_objects{kind=\"ClusterConnectInstance\",ready=\"False\"}"
            ),
            0.0
        );
    }
}
