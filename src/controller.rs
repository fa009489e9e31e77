//! Wiring of the kube-runtime Controller: context, reconcile (one `finalizer()` call) and the
//! error policy that turns an error's class into a requeue.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, stream};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use rand::Rng;
use tracing::Instrument;

use crate::connect::{Catalog, ConnectApi, QuickConnectsByUser, UserSnapshots};
use crate::crd::{ConnectUser, FINALIZER};
use crate::error::{Error, Result, Retry};
use crate::events::EventPublisher;
use crate::metrics::Metrics;
use crate::model::InstanceRef;
use crate::reconcile::outcome::Outcome;
use crate::reconcile::record::Time;
use crate::reconcile::{cleanup, converge, resource_key};
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
    /// Consecutive transient failures per resource, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// When each resource's user was last fully described.
    described: Mutex<HashMap<String, std::time::Instant>>,
    /// Usernames this operator deleted, and when: Connect keeps a deleted user's name taken for
    /// a while, and a new resource with that name must wait, not report UserExists. In memory
    /// only: after a restart the wait shows as UserExists (retried) until the name frees up.
    deleted_usernames: Mutex<HashMap<(InstanceRef, String), Time>>,
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
    pub fn deleted_username_at(&self, at: &InstanceRef, username: &str) -> Option<Time> {
        let map = self
            .deleted_usernames
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.get(&(at.clone(), username.to_string())).copied()
    }

    pub fn remember_deleted_username(&self, at: &InstanceRef, username: &str, at_time: Time) {
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
        self.events.forget(&key);
    }

    /// `forget`, when `cu` is no longer watched. Called after a pass's own bookkeeping: the
    /// watch forgets a resource after it left the store, so either this sees it gone or the
    /// watch forgets it later; no entry outlives its resource.
    fn forget_if_gone(&self, cu: &ConnectUser) {
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

    fn failures(&self, key: &str, failed: bool) -> u32 {
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

/// The span every log line of a pass carries: which resource, at which generation.
fn span_of(namespace: &str, name: &str, generation: Option<i64>) -> tracing::Span {
    tracing::info_span!("reconcile", namespace, connectuser = name, generation)
}

fn span(cu: &ConnectUser) -> tracing::Span {
    span_of(
        &cu.namespace().unwrap_or_default(),
        &cu.name_any(),
        cu.meta().generation,
    )
}

pub async fn reconcile(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Result<Action> {
    let span = span(&cu);
    let result = run_finalizer(cu.clone(), ctx.clone())
        .instrument(span)
        .await;
    ctx.forget_if_gone(&cu);
    result
}

/// One pass: `finalizer()` adds the finalizer, then applies the spec or cleans up.
async fn run_finalizer(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Result<Action> {
    let ns = cu.namespace().unwrap_or_default();
    let api: Api<ConnectUser> = Api::namespaced(ctx.client.clone(), &ns);
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, cu.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(cu) => match converge::converge(cu, ctx.clone()).await {
                Outcome::Ready(_) => Ok(Action::requeue(ctx.settings.jittered_resync())),
                Outcome::Waiting(w) => Ok(Action::requeue(w.retry)),
                Outcome::Failed(e) => Err(e),
            },
            FinalizerEvent::Cleanup(cu) => cleanup::cleanup(cu, ctx.clone()).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    if result.is_ok() {
        ctx.failures(&resource_key(&cu), false);
    }
    ctx.metrics.reconciled(
        result
            .as_ref()
            .map(|_| "ok")
            .unwrap_or_else(|e| e.metric_label()),
        started.elapsed().as_secs_f64(),
    );
    result
}

/// The error table (`Error::policy`) picks the retry: throttled soon, transient with
/// exponential backoff, invalid only after a spec change (slowly during a deletion), blocked
/// slowly, a deletion's wait at its time.
pub fn error_policy(cu: Arc<ConnectUser>, error: &Error, ctx: Arc<Context>) -> Action {
    let action = span(&cu).in_scope(|| retry_after(&cu, error, &ctx));
    ctx.forget_if_gone(&cu);
    action
}

fn retry_after(cu: &ConnectUser, error: &Error, ctx: &Context) -> Action {
    let policy = error.policy(error.phase());
    if let Retry::After(d) = policy.retry {
        tracing::debug!(reason = policy.reason, error = %error, "deletion waiting");
        return Action::requeue(d);
    }
    tracing::warn!(reason = policy.reason, error = %error, "reconcile failed");
    let mut rng = rand::rng();
    let backoff = |base: f64| {
        let n = ctx.failures(&resource_key(cu), true).min(8);
        let secs = (base * 2f64.powi(n as i32 - 1)).min(300.0) * rand::rng().random_range(0.8..1.2);
        Action::requeue(Duration::from_secs_f64(secs))
    };
    match policy.retry {
        Retry::Soon => Action::requeue(Duration::from_millis(rng.random_range(500..2500))),
        Retry::SpecChange => Action::await_change(),
        Retry::Backoff => backoff(1.0),
        Retry::Slowly => backoff(5.0),
        Retry::After(d) => Action::requeue(d),
    }
}

/// Reconcile triggers: spec changes (generation), finalizer changes and deletion, not the
/// operator's own status writes (each would cost a Connect read).
fn trigger_hash(cu: &ConnectUser) -> Option<u64> {
    let mut h = DefaultHasher::new();
    cu.meta().generation.hash(&mut h);
    cu.finalizers().hash(&mut h);
    cu.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// Runs the controller until `shutdown` resolves; in-flight reconciles finish first. One
/// Controller for every watched namespace: `--concurrency` is the limit of the whole operator.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    // /readyz: ready once every watched namespace has been listed (in this run).
    ctx.metrics
        .ready
        .store(false, std::sync::atomic::Ordering::Relaxed);
    ctx.watched.begin_run();
    let watches = ctx
        .watched
        .apis(&ctx.client)
        .into_iter()
        .enumerate()
        .map(|(i, api)| {
            watcher(api, watcher::Config::default())
                .default_backoff()
                .modify(strip_for_cache)
                .map(move |event| (i, event))
                .boxed()
        });
    let merged = ctx.clone();
    let triggers = stream::select_all(watches)
        .flat_map(move |(i, event)| {
            let (error, applied) = match event {
                Ok(event) => (None, merged.watched.merge_event(i, event)),
                Err(e) => (Some(e), Default::default()),
            };
            for gone in &applied.gone {
                merged.forget(gone);
            }
            if applied.listed {
                merged
                    .metrics
                    .ready
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            // Cloned one at a time as the Controller takes them, as a watch's own objects are.
            let replay = applied.replay.into_iter().map(|cu| ConnectUser::clone(&cu));
            stream::iter(
                error
                    .map(Err)
                    .into_iter()
                    .chain(applied.trigger.into_iter().chain(replay).map(Ok)),
            )
        })
        .predicate_filter(trigger_hash, Default::default());
    Controller::for_stream(triggers, ctx.watched.store())
        .with_config(controller::Config::default().concurrency(ctx.settings.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|result| async {
            match result {
                Ok((obj, _)) => match ctx.watched.store().get(&obj) {
                    Some(cu) => span(&cu).in_scope(|| tracing::debug!("reconciled")),
                    None => span_of(
                        obj.namespace.as_deref().unwrap_or_default(),
                        &obj.name,
                        None,
                    )
                    .in_scope(|| tracing::debug!("reconciled; gone since")),
                },
                Err(controller::Error::ReconcilerFailed(_, _)) => {} // logged by error_policy
                // Deleted between being queued and its turn.
                Err(controller::Error::ObjectNotFound(obj)) => span_of(
                    obj.namespace.as_deref().unwrap_or_default(),
                    &obj.name,
                    None,
                )
                .in_scope(|| tracing::debug!("gone before its reconcile")),
                Err(e) => tracing::warn!(error = %e, "controller"),
            }
        })
        .await;
}

/// Drops what reconcile never reads from every cached object: managedFields and kubectl's
/// last-applied copy of the manifest are larger than the rest of a ConnectUser, and at 10,000
/// resources they are most of the cache.
fn strip_for_cache(cu: &mut ConnectUser) {
    cu.managed_fields_mut().clear();
    cu.annotations_mut()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
}
