//! What every reconcile shares: the clients, the caches of Connect data, the settings, and the
//! bookkeeping kept per resource (backoff, last full describe, recently deleted usernames).
//! Its own module so that `controller` (which runs reconciles) and `reconcile` (which uses it)
//! do not import each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kube::runtime::reflector::ObjectRef;
use rand::Rng;

use crate::connect::{Catalog, ConnectApi, QuickConnectsByUser, UserSnapshots};
use crate::crd::ConnectUser;
use crate::events::EventPublisher;
use crate::instance::wakeups::Wakeups;
use crate::metrics::Metrics;
use crate::model::InstanceRef;
use crate::watch::WatchedResources;

/// AWS: changes to Connect "usually propagate within a few seconds, but can take several
/// minutes". Five minutes covers "several"; a window shorter than Connect's worst case is a
/// window for leaks. What it costs: every deletion of a resource whose user was created waits
/// this long after DeleteUser for its last quick-connect listing (`kubectl delete` blocks
/// meanwhile), and a user the console deleted is created again only this long after the
/// operator's last write to it.
pub const DEFAULT_SETTLE_WINDOW: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct Settings {
    /// Region for resources that name none.
    pub default_region: Option<String>,
    /// Watched namespaces; empty means all.
    pub namespaces: Vec<String>,
    /// Whether ClusterConnectInstances are served: always cluster-wide; with watched
    /// namespaces only when asked (the install then grants cluster-wide rights on them).
    pub cluster_instances: bool,
    /// How often an in-sync user is compared with Connect again (drift detection).
    pub resync_period: Duration,
    /// Resources reconciled at once.
    pub concurrency: u16,
    /// How long names-to-ids lookups are cached.
    pub catalog_ttl: Duration,
    /// How long a shared scan waits for other reconciles to join it.
    pub scan_window: Duration,
    /// A full DescribeUser (for the fields SearchUsers does not show: email, secondary email,
    /// mobile; plus ListUserProficiencies and DescribeQuickConnect when the spec manages
    /// proficiencies or a quick connect) every this many resyncs; the bulk SearchUsers scan
    /// covers the rest.
    pub full_describe_every: u32,
    /// How long Amazon Connect may take to agree with itself after a write ("usually a few
    /// seconds, can take several minutes"). A NotFound (or a search that does not show
    /// something) counts as absence only once this long has passed since the operator's own
    /// write, and a deletion lists quick connects once more this long after DeleteUser.
    pub settle_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_region: None,
            namespaces: Vec::new(),
            cluster_instances: true,
            resync_period: Duration::from_secs(600),
            concurrency: 8,
            catalog_ttl: Duration::from_secs(300),
            scan_window: Duration::from_millis(100),
            full_describe_every: 6,
            settle_window: DEFAULT_SETTLE_WINDOW,
        }
    }
}

impl Settings {
    /// The resync period ±10 %, so resources created together do not resync together.
    pub fn jittered_resync(&self) -> Duration {
        self.resync_period
            .mul_f64(rand::rng().random_range(0.9..1.1))
    }
}

pub struct Context {
    pub client: kube::Client,
    pub connect: Arc<ConnectApi>,
    pub catalog: Catalog,
    pub quick_connects_by_user: QuickConnectsByUser,
    pub user_snapshots: UserSnapshots,
    pub events: EventPublisher,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    /// The watched ConnectUsers (the Controller's store).
    pub watched: WatchedResources,
    /// Between the ConnectUser and the instance-object controllers.
    pub wakeups: Wakeups,
    /// Consecutive transient failures per resource, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// When each resource's user was last fully described.
    described: Mutex<HashMap<String, std::time::Instant>>,
    /// Usernames this operator deleted, and when: Connect keeps a deleted user's name taken for
    /// a while, and a new resource with that name must wait, not report UserExists. In memory
    /// only: after a restart the wait shows as UserExists (retried) until the name frees up.
    deleted_usernames: Mutex<HashMap<(InstanceRef, String), DateTime<Utc>>>,
}

impl Context {
    pub fn new(client: kube::Client, connect: Arc<ConnectApi>, settings: Settings) -> Context {
        let metrics = Arc::new(Metrics::default());
        connect.set_metrics(metrics.clone());
        Context {
            metrics,
            events: EventPublisher::new(
                client.clone(),
                "connect-user-operator",
                std::env::var("POD_NAME").ok(),
            ),
            catalog: Catalog::new(connect.clone(), settings.catalog_ttl),
            quick_connects_by_user: QuickConnectsByUser::new(connect.clone(), settings.scan_window),
            user_snapshots: UserSnapshots::new(connect.clone(), settings.scan_window),
            watched: WatchedResources::new(&settings.namespaces),
            wakeups: Wakeups::default(),
            described: Mutex::default(),
            deleted_usernames: Mutex::default(),
            client,
            connect,
            settings,
            failures: Mutex::default(),
        }
    }

    /// Whether a full DescribeUser is due for this resource; the first check after start counts
    /// as one, so a restart does not describe every user at once.
    pub fn full_describe_due(&self, key: &str) -> bool {
        let every = self.settings.resync_period * self.settings.full_describe_every.max(1);
        let mut map = self.described.lock().unwrap_or_else(|e| e.into_inner());
        let last = *map
            .entry(key.to_string())
            .or_insert_with(std::time::Instant::now);
        last.elapsed() >= every
    }

    pub fn described_now(&self, key: &str) {
        let mut map = self.described.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(key.to_string(), std::time::Instant::now());
    }

    /// When this operator last deleted a user named `username` in `at`, within the settle window.
    pub fn deleted_username_at(&self, at: &InstanceRef, username: &str) -> Option<DateTime<Utc>> {
        let map = self
            .deleted_usernames
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.get(&(at.clone(), username.to_string())).copied()
    }

    pub fn remember_deleted_username(
        &self,
        at: &InstanceRef,
        username: &str,
        at_time: DateTime<Utc>,
    ) {
        let window = chrono::Duration::from_std(self.settings.settle_window)
            .unwrap_or(chrono::Duration::MAX);
        let mut map = self
            .deleted_usernames
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.retain(|_, t| chrono::Utc::now() - *t < window);
        map.insert((at.clone(), username.to_string()), at_time);
    }

    /// Drops what is kept per resource (backoff, last full describe, Ready metric) for a
    /// resource that went away.
    pub fn forget(&self, resource: &ObjectRef<ConnectUser>) {
        let key = format!(
            "{}/{}",
            resource.namespace.as_deref().unwrap_or_default(),
            resource.name
        );
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        self.described
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        self.metrics.set_ready(&key, None);
        self.metrics.forget_deletion(&key);
        self.events.forget(&key);
    }

    /// `forget`, when `cu` is no longer watched. Called after a pass's own bookkeeping: the
    /// watch forgets a resource after it left the store, so either this sees it gone or the
    /// watch forgets it later; no entry outlives its resource.
    pub(crate) fn forget_if_gone(&self, cu: &ConnectUser) {
        if !self.watched.holds(cu) {
            self.forget(&ObjectRef::from_obj(cu));
        }
    }

    /// How many entries per-resource bookkeeping holds (backoff, last full describe, Event
    /// series).
    pub fn tracked_resources(&self) -> (usize, usize, usize) {
        (
            self.failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len(),
            self.described
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .len(),
            self.events.tracked_resources(),
        )
    }

    pub(crate) fn failures(&self, key: &str, failed: bool) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failed {
            let n = map.entry(key.to_string()).or_default();
            *n = n.saturating_add(1);
            *n
        } else {
            map.remove(key);
            0
        }
    }
}
