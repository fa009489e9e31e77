//! Prometheus metrics (OpenMetrics text): reconciles, their duration, Connect calls by operation
//! and outcome, throttling, quick connects deleted, resources by Ready state, leadership.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabel {
    pub ready: String,
}

/// Instance objects by kind and Ready condition status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceObjectLabels {
    pub kind: String,
    pub ready: String,
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabel, Counter>,
    reconcile_duration: Histogram,
    connect_calls: Family<CallLabels, Counter>,
    throttled: Counter,
    quick_connects_deleted: Counter,
    resources: Family<ReadyLabel, Gauge>,
    leader: Gauge,
    dangling_quick_connects: Family<InstanceLabels, Gauge>,
    dangling_quick_connects_deleted: Family<InstanceLabels, Counter>,
    ready_by_resource: Mutex<HashMap<String, &'static str>>,
    instance_objects: Family<InstanceObjectLabels, Gauge>,
    ready_by_instance_object: Mutex<HashMap<String, (&'static str, &'static str)>>,
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
        let throttled = Counter::default();
        registry.register(
            "connect_throttled",
            "Connect calls answered with a throttling error",
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
        let metrics = Metrics {
            registry,
            instance_objects,
            ready_by_instance_object: Mutex::default(),
            dangling_quick_connects,
            dangling_quick_connects_deleted,
            reconciles,
            reconcile_duration,
            connect_calls,
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

    pub fn quick_connect_deleted(&self) {
        self.quick_connects_deleted.inc();
    }

    /// Records a resource's Ready status ("True", "False", "Unknown"), or None once it is gone.
    pub fn set_ready(&self, key: &str, ready: Option<&'static str>) {
        track(&self.ready_by_resource, &self.resources, key, ready, |r| {
            ReadyLabel { ready: r.into() }
        });
    }

    /// Records an instance object's Ready status by its kind, or None once it is gone.
    pub fn set_instance_object_ready(
        &self,
        key: &str,
        kind: &'static str,
        ready: Option<&'static str>,
    ) {
        let state = ready.map(|r| (kind, r));
        track(
            &self.ready_by_instance_object,
            &self.instance_objects,
            key,
            state,
            |(kind, ready)| InstanceObjectLabels {
                kind: kind.into(),
                ready: ready.into(),
            },
        );
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

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn encode(&self) -> String {
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
        m.set_instance_object_ready("ConnectInstance/ns/a", "ConnectInstance", Some("False"));
        m.set_instance_object_ready("ConnectInstance/ns/a", "ConnectInstance", Some("True"));
        m.set_instance_object_ready("ConnectInstance/ns/b", "ConnectInstance", Some("True"));
        m.set_instance_object_ready(
            "ClusterConnectInstance/c",
            "ClusterConnectInstance",
            Some("False"),
        );
        m.set_instance_object_ready("ConnectInstance/ns/b", "ConnectInstance", None);
        let text = m.encode();
        assert!(!text.contains("i-2"), "{text}");
        for needle in [
            "connect_user_operator_reconciles_total{result=\"ok\"} 1",
            "connect_user_operator_reconcile_duration_seconds_count 1",
            "connect_user_operator_connect_calls_total{operation=\"CreateUser\",outcome=\"throttled\"} 1",
            "connect_user_operator_connect_throttled_total 1",
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
}
