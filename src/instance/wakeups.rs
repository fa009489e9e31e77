//! What the ConnectUser and instance-object controllers tell each other, so that neither waits
//! for a timer: an instance object that became Ready wakes the ConnectUsers waiting on it; a
//! ConnectUser that starts or stops using an instance object makes that object recount (and
//! set or drop its in-use finalizer).

use std::sync::Arc;

use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tokio::sync::broadcast;

use super::crd::InstanceKind;
use crate::crd::ConnectUser;
use crate::reconcile::status::READY;

/// One instance object, by kind, namespace (none for a ClusterConnectInstance) and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    pub kind: InstanceKind,
    pub namespace: Option<String>,
    pub name: String,
}

impl InstanceKey {
    /// As status.instance.through records it: `Kind/namespace/name` or `Kind/name`.
    pub fn through(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{ns}/{}", self.kind.as_str(), self.name),
            None => format!("{}/{}", self.kind.as_str(), self.name),
        }
    }

    fn parse_through(through: &str) -> Option<InstanceKey> {
        let parts: Vec<&str> = through.split('/').collect();
        let (kind, namespace, name) = match parts.as_slice() {
            ["ConnectInstance", ns, name] => (InstanceKind::ConnectInstance, Some(*ns), *name),
            ["ClusterConnectInstance", name] => (InstanceKind::ClusterConnectInstance, None, *name),
            _ => return None,
        };
        Some(InstanceKey {
            kind,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        })
    }
}

/// The instance objects `cu` uses: the one its spec names (a ConnectInstance in its own
/// namespace) and the one its status recorded (a deletion in progress still depends on it).
pub fn used_by(cu: &ConnectUser) -> Vec<InstanceKey> {
    let by_spec = cu.spec.instance_ref.as_ref().map(|r| InstanceKey {
        kind: r.kind,
        namespace: match r.kind {
            InstanceKind::ConnectInstance => cu.namespace(),
            InstanceKind::ClusterConnectInstance => None,
        },
        name: r.name.clone(),
    });
    let by_record = cu
        .status
        .as_ref()
        .and_then(|s| s.instance.as_ref())
        .and_then(|i| i.through.as_deref())
        .and_then(InstanceKey::parse_through);
    let mut keys: Vec<InstanceKey> = by_spec.into_iter().chain(by_record).collect();
    keys.dedup();
    keys
}

/// The two channels. A lagging receiver misses wake-ups, not correctness: users retry on
/// their backoff and instance objects recount on their timer.
pub struct Wakeups {
    ready: broadcast::Sender<InstanceKey>,
    used: broadcast::Sender<InstanceKey>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Wakeups {
            ready: broadcast::channel(256).0,
            used: broadcast::channel(4096).0,
        }
    }
}

/// What a receiver yields: a key, or "some were missed" (recount everything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    One(InstanceKey),
    Missed,
}

impl Wakeups {
    /// The instance object became Ready for its current generation.
    pub fn became_ready(&self, key: InstanceKey) {
        let _ = self.ready.send(key);
    }

    /// A ConnectUser using these instance objects appeared, changed or went.
    pub fn used(&self, cu: &ConnectUser) {
        for key in used_by(cu) {
            let _ = self.used.send(key);
        }
    }

    pub fn ready_stream(&self) -> impl Stream<Item = Wake> + Send + 'static {
        stream_of(self.ready.subscribe())
    }

    pub fn used_stream(&self) -> impl Stream<Item = Wake> + Send + 'static {
        stream_of(self.used.subscribe())
    }
}

fn stream_of(rx: broadcast::Receiver<InstanceKey>) -> impl Stream<Item = Wake> + Send + 'static {
    futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(key) => Some((Wake::One(key), rx)),
            Err(broadcast::error::RecvError::Lagged(_)) => Some((Wake::Missed, rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

/// The ConnectUsers (of `users`) to wake when `wake` says an instance object became Ready:
/// those not Ready that use it (all that use any, when wake-ups were missed).
pub fn waiting_on(wake: &Wake, users: &[Arc<ConnectUser>]) -> Vec<ObjectRef<ConnectUser>> {
    users
        .iter()
        .filter(|cu| !is_ready(cu))
        .filter(|cu| match wake {
            Wake::One(key) => used_by(cu).contains(key),
            Wake::Missed => !used_by(cu).is_empty(),
        })
        .map(|cu| ObjectRef::from_obj(cu.as_ref()))
        .collect()
}

fn is_ready(cu: &ConnectUser) -> bool {
    cu.status
        .as_ref()
        .and_then(|s| s.condition(READY))
        .is_some_and(|c| c.status == "True")
}

/// The instance objects of one controller (`kind`, in `namespace` or all namespaces) that
/// `wake` asks to recount: the one it names, or all of `all` when wake-ups were missed.
pub fn to_recount<K: Resource<DynamicType = ()>>(
    wake: &Wake,
    kind: InstanceKind,
    namespace: Option<&str>,
    all: impl Iterator<Item = ObjectRef<K>>,
) -> Vec<ObjectRef<K>> {
    match wake {
        Wake::One(key)
            if key.kind == kind
                && (namespace.is_none() || key.namespace.as_deref() == namespace) =>
        {
            let r = ObjectRef::new(&key.name);
            vec![match &key.namespace {
                Some(ns) => r.within(ns),
                None => r,
            }]
        }
        Wake::One(_) => Vec::new(),
        Wake::Missed => all.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn user(namespace: &str, spec_ref: Option<(&str, &str)>, through: Option<&str>) -> ConnectUser {
        let mut spec = serde_json::json!({
            "username": "a", "securityProfiles": [{"name": "Agent"}],
            "routingProfile": {"name": "Basic Routing Profile"}
        });
        if let Some((kind, name)) = spec_ref {
            spec["instanceRef"] = serde_json::json!({"kind": kind, "name": name});
        } else {
            spec["instanceId"] = serde_json::json!("11111111-2222-3333-4444-555555555555");
        }
        let mut cu = serde_json::json!({
            "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
            "metadata": {"name": "a", "namespace": namespace}, "spec": spec
        });
        if let Some(through) = through {
            cu["status"] = serde_json::json!({"instance": {
                "instanceId": "i", "region": "us-east-1", "through": through
            }});
        }
        serde_json::from_value(cu).unwrap()
    }

    fn key(kind: InstanceKind, namespace: Option<&str>, name: &str) -> InstanceKey {
        InstanceKey {
            kind,
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    #[test]
    fn a_user_uses_what_its_spec_names_and_what_its_status_recorded() {
        use InstanceKind::*;
        assert_eq!(
            used_by(&user("team", Some(("ConnectInstance", "prod")), None)),
            [key(ConnectInstance, Some("team"), "prod")]
        );
        assert_eq!(
            used_by(&user(
                "team",
                Some(("ClusterConnectInstance", "prod")),
                None
            )),
            [key(ClusterConnectInstance, None, "prod")]
        );
        // Moved from one object to another (refused later, but both are in use meanwhile).
        assert_eq!(
            used_by(&user(
                "team",
                Some(("ClusterConnectInstance", "new")),
                Some("ConnectInstance/team/old")
            )),
            [
                key(ClusterConnectInstance, None, "new"),
                key(ConnectInstance, Some("team"), "old")
            ]
        );
        // The same object twice is once; a raw instance id uses none.
        assert_eq!(
            used_by(&user(
                "team",
                Some(("ConnectInstance", "prod")),
                Some("ConnectInstance/team/prod")
            ))
            .len(),
            1
        );
        assert!(used_by(&user("team", None, None)).is_empty());
        assert!(used_by(&user("team", None, Some("garbage"))).is_empty());
        for k in [
            key(ConnectInstance, Some("ns"), "n"),
            key(ClusterConnectInstance, None, "n"),
        ] {
            assert_eq!(InstanceKey::parse_through(&k.through()), Some(k));
        }
    }

    fn ready(mut cu: ConnectUser, ready: &str) -> ConnectUser {
        let status = cu.status.get_or_insert_with(Default::default);
        status
            .conditions
            .push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                type_: READY.into(),
                status: ready.into(),
                reason: "R".into(),
                message: String::new(),
                last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    Default::default(),
                ),
                observed_generation: None,
            });
        cu
    }

    fn named(mut cu: ConnectUser, name: &str) -> Arc<ConnectUser> {
        cu.metadata.name = Some(name.into());
        Arc::new(cu)
    }

    #[test]
    fn a_ready_instance_wakes_only_the_users_that_wait_on_it() {
        use InstanceKind::*;
        let users = vec![
            named(
                user("team", Some(("ConnectInstance", "prod")), None),
                "waiting",
            ),
            named(
                ready(
                    user("team", Some(("ConnectInstance", "prod")), None),
                    "False",
                ),
                "failed",
            ),
            named(
                ready(
                    user("team", Some(("ConnectInstance", "prod")), None),
                    "True",
                ),
                "ready",
            ),
            named(
                user("other", Some(("ConnectInstance", "prod")), None),
                "elsewhere",
            ),
            named(
                user("team", Some(("ClusterConnectInstance", "prod")), None),
                "cluster",
            ),
            named(user("team", None, None), "raw-id"),
        ];
        let names = |refs: Vec<ObjectRef<ConnectUser>>| -> Vec<String> {
            refs.into_iter().map(|r| r.name).collect()
        };
        let prod = Wake::One(key(ConnectInstance, Some("team"), "prod"));
        assert_eq!(names(waiting_on(&prod, &users)), ["waiting", "failed"]);
        let cluster = Wake::One(key(ClusterConnectInstance, None, "prod"));
        assert_eq!(names(waiting_on(&cluster, &users)), ["cluster"]);
        assert_eq!(
            names(waiting_on(&Wake::Missed, &users)),
            ["waiting", "failed", "elsewhere", "cluster"]
        );
    }

    #[test]
    fn a_user_change_recounts_the_object_it_names_in_its_own_controller() {
        use InstanceKind::*;
        let all = || {
            ["a", "b"]
                .into_iter()
                .map(|n| ObjectRef::<crate::instance::crd::ConnectInstance>::new(n).within("team"))
        };
        let a = Wake::One(key(ConnectInstance, Some("team"), "a"));
        assert_eq!(
            to_recount(&a, ConnectInstance, Some("team"), all()),
            [ObjectRef::new("a").within("team")]
        );
        assert_eq!(
            to_recount(&a, ConnectInstance, None, all()),
            [ObjectRef::new("a").within("team")]
        );
        assert!(to_recount(&a, ConnectInstance, Some("other"), all()).is_empty());
        assert!(to_recount(&a, ClusterConnectInstance, None, all()).is_empty());
        assert_eq!(
            to_recount(&Wake::Missed, ConnectInstance, Some("team"), all()).len(),
            2
        );
    }

    #[tokio::test]
    async fn receivers_get_each_wake_and_a_lagging_one_is_told_it_missed_some() {
        let wakeups = Wakeups::default();
        let mut ready = Box::pin(wakeups.ready_stream());
        let k = key(InstanceKind::ClusterConnectInstance, None, "prod");
        wakeups.became_ready(k.clone());
        assert_eq!(ready.next().await, Some(Wake::One(k.clone())));
        for _ in 0..300 {
            wakeups.became_ready(k.clone());
        }
        assert_eq!(ready.next().await, Some(Wake::Missed));
        assert_eq!(ready.next().await, Some(Wake::One(k)));
    }
}
