//! The instance objects' own reconcile: DescribeInstance with the resolved credentials (Ready,
//! account, identity management, alias, Global Resiliency replica or not), how many ConnectUsers
//! use the object, and a finalizer while any does, so that it is deleted after them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::crd::{
    ClusterConnectInstance, ConnectInstance, DanglingQuickConnects, IN_USE_FINALIZER, InstanceKind,
    InstanceSpecView, InstanceStatus, split_instance_id,
};
use super::sweep::{self, Sweeps};
use super::wakeups::{InstanceKey, to_recount, used_by};
use crate::context::Context;
use crate::crd::FIELD_MANAGER;
use crate::error::{Error, Phase, Standing};
use crate::events::{EventKind, EventNote};
use crate::metrics::InstanceObjectState;
use crate::model::{Access, AssumedRole, IdentityManagement, InstanceRef};
use crate::reconcile::status::{READY, RECONCILING, STALLED, set};

/// How often an instance object's count of ConnectUsers is brought up to date even when no
/// ConnectUser said it changed (a missed wake-up); its DescribeInstance is repeated at the
/// resync period only.
const RECOUNT: Duration = Duration::from_secs(30);

/// How soon an object that is not Ready is verified again (its ConnectUsers wait for it).
const NOT_READY_RETRY: Duration = Duration::from_secs(5);

/// What both kinds offer the reconcile.
pub trait InstanceObject:
    Resource<DynamicType = ()>
    + Clone
    + Serialize
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    const KIND: InstanceKind;
    fn view(&self) -> InstanceSpecView<'_>;
    fn instance_status(&self) -> Option<&InstanceStatus>;
    fn api(client: &kube::Client, namespace: Option<&str>) -> Api<Self>;
}

impl InstanceObject for ConnectInstance {
    const KIND: InstanceKind = InstanceKind::ConnectInstance;
    fn view(&self) -> InstanceSpecView<'_> {
        self.spec.view()
    }
    fn instance_status(&self) -> Option<&InstanceStatus> {
        self.status.as_ref()
    }
    fn api(client: &kube::Client, namespace: Option<&str>) -> Api<Self> {
        match namespace {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
}

impl InstanceObject for ClusterConnectInstance {
    const KIND: InstanceKind = InstanceKind::ClusterConnectInstance;
    fn view(&self) -> InstanceSpecView<'_> {
        self.spec.view()
    }
    fn instance_status(&self) -> Option<&InstanceStatus> {
        self.status.as_ref()
    }
    fn api(client: &kube::Client, _: Option<&str>) -> Api<Self> {
        Api::all(client.clone())
    }
}

/// Runs the controllers of both kinds until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let namespaced: Vec<Option<String>> = if ctx.settings.namespaces.is_empty() {
        vec![None]
    } else {
        crate::watch::unique_namespaces(&ctx.settings.namespaces)
            .into_iter()
            .map(Some)
            .collect()
    };
    let mut runs: Vec<futures::future::BoxFuture<'static, ()>> = namespaced
        .into_iter()
        .map(|ns| run_kind::<ConnectInstance>(ctx.clone(), ns, shutdown.clone()).boxed())
        .collect();
    // A cluster-scoped kind needs cluster-wide rights, which a per-namespace install
    // (`watchNamespaces`) grants only when asked (`clusterConnectInstances`).
    if ctx.settings.cluster_instances {
        runs.push(run_kind::<ClusterConnectInstance>(ctx.clone(), None, shutdown).boxed());
    }
    futures::future::join_all(runs).await;
}

/// What the instance objects' reconciles share besides the operator's context.
pub struct Instances<K: InstanceObject> {
    ctx: Arc<Context>,
    /// When each object (by UID and generation) was last verified with DescribeInstance.
    verified: Mutex<HashMap<(String, Option<i64>), Instant>>,
    /// The watch cache, which the sweeps read their mode from.
    store: Store<K>,
    sweeps: Arc<Sweeps>,
}

async fn run_kind<K: InstanceObject>(
    ctx: Arc<Context>,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api = K::api(&ctx.client, namespace.as_deref());
    let (store, writer) = reflector::store();
    let sweeps = Arc::new(Sweeps::default());
    let instances = Arc::new(Instances {
        ctx,
        verified: Mutex::default(),
        store: store.clone(),
        sweeps: sweeps.clone(),
    });
    // A deleted object without the in-use finalizer is never reconciled again: its sweep stops
    // on the watch's Delete, or on a re-list that no longer has it.
    let gone = sweeps.clone();
    let listed = store.clone();
    let forget = instances.ctx.clone();
    let objects = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect(move |event| match event {
            Ok(watcher::Event::Delete(obj)) => {
                gone.stop(&obj.uid().unwrap_or_default());
                let resource = key_of(obj).through();
                forget.metrics.set_instance_object(&resource, None);
                forget.events.forget(&resource);
            }
            Ok(watcher::Event::InitDone) => {
                let state = listed.state();
                let keys = state.iter().map(|o| key_of(o.as_ref()).through()).collect();
                forget
                    .metrics
                    .retain_instance_objects(K::KIND.as_str(), &keys);
                gone.retain(&state.iter().filter_map(|o| o.uid()).collect())
            }
            _ => {}
        })
        .applied_objects();
    Controller::for_stream(objects, store.clone())
        .reconcile_on(recounts::<K>(&instances.ctx, namespace, store))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, instances)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, kind = K::KIND.as_str(), "instance object reconcile");
            }
        })
        .await;
    sweeps.stop_all();
}

fn key_of<K: InstanceObject>(obj: &K) -> InstanceKey {
    InstanceKey {
        kind: K::KIND,
        namespace: obj.namespace(),
        name: obj.name_any(),
    }
}

/// The objects of this controller (kind, namespace) that a ConnectUser started or stopped
/// using; all of them when some wake-ups were missed.
fn recounts<K: InstanceObject>(
    ctx: &Context,
    namespace: Option<String>,
    store: Store<K>,
) -> impl futures::Stream<Item = ObjectRef<K>> + Send + 'static {
    ctx.wakeups.used_stream().flat_map(move |wake| {
        let all = store.state();
        let refs = to_recount(
            &wake,
            K::KIND,
            namespace.as_deref(),
            all.iter().map(|o| ObjectRef::from_obj(o.as_ref())),
        );
        futures::stream::iter(refs)
    })
}

fn error_policy<K: InstanceObject>(_: Arc<K>, error: &Error, _: Arc<Instances<K>>) -> Action {
    tracing::warn!(kind = K::KIND.as_str(), error = %error, "instance object reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile<K: InstanceObject>(
    obj: Arc<K>,
    instances: Arc<Instances<K>>,
) -> Result<Action, Error> {
    let ctx = &instances.ctx;
    let key = (obj.uid().unwrap_or_default(), obj.meta().generation);
    let namespace = obj.namespace();
    let instance = key_of(obj.as_ref());
    let users: Vec<String> = ctx
        .watched
        .store()
        .state()
        .iter()
        .filter(|cu| used_by(cu).contains(&instance))
        .map(|cu| format!("{}/{}", cu.namespace().unwrap_or_default(), cu.name_any()))
        .collect();
    let api = K::api(&ctx.client, namespace.as_deref());
    let has_finalizer = obj.finalizers().iter().any(|f| f == IN_USE_FINALIZER);
    let deleting = obj.meta().deletion_timestamp.is_some();
    if deleting && users.is_empty() {
        if has_finalizer {
            set_finalizer(&api, &obj, false).await?;
        }
        return Ok(Action::await_change());
    }
    if !users.is_empty() && !has_finalizer && !deleting {
        set_finalizer(&api, &obj, true).await?;
    }
    if users.is_empty() && has_finalizer {
        set_finalizer(&api, &obj, false).await?;
    }
    // The sweep writes (and owns) status.danglingQuickConnects: this apply leaves it out, so it
    // never claims or reverts the field.
    let mut status = obj.instance_status().cloned().unwrap_or_default();
    status.dangling_quick_connects = None;
    let current = status.clone();
    status.connect_users = users.len() as u32;
    let generation = obj.meta().generation;
    let outcome = if deleting {
        Err(Error::InstanceInUse(format!(
            "deleted while {} ConnectUser(s) use it: {}; it goes once they are deleted",
            users.len(),
            users.join(", ")
        )))
    } else if instances.due(&key, &status, generation) {
        let verified = verify(&obj.view(), &mut status, ctx).await;
        if verified.is_ok() {
            instances.verified_now(key);
        }
        verified.map(|()| true)
    } else {
        Ok(false)
    };
    match &outcome {
        Ok(true) => {
            set(
                &mut status.conditions,
                READY,
                "True",
                "Verified",
                "DescribeInstance succeeded with the instance's credentials",
                generation,
            );
            status
                .conditions
                .retain(|c| c.type_ != RECONCILING && c.type_ != STALLED);
            status.observed_generation = generation;
        }
        Ok(false) => {}
        Err(e) => {
            let policy = e.policy(Phase::Converge);
            let message = e.to_string();
            set(
                &mut status.conditions,
                READY,
                "False",
                policy.reason,
                &message,
                generation,
            );
            let (on, off) = match policy.standing {
                Standing::Stalled => (STALLED, RECONCILING),
                _ => (RECONCILING, STALLED),
            };
            set(
                &mut status.conditions,
                on,
                "True",
                policy.reason,
                &message,
                generation,
            );
            status.conditions.retain(|c| c.type_ != off);
            status.observed_generation = generation;
        }
    }
    status.applied_quota = apply_quota::<K>(&obj, &status, ctx, deleting);
    status.conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
    if obj.instance_status().is_none() || current != status {
        write_status(&api, &obj, &status).await?;
    }
    let before = ready_state(obj.instance_status(), generation);
    let after = ready_state(Some(&status), generation);
    let resource = instance.through();
    // Why not Ready (the Ready condition's reason), for the alerts: CredentialsUnavailable.
    let reason = status
        .condition(READY)
        .filter(|c| after != ReadyState::Ready && c.status != "True")
        .map(|c| c.reason.clone());
    let state = InstanceObjectState {
        kind: K::KIND.as_str(),
        ready: after.status(),
        reason,
    };
    ctx.metrics.set_instance_object(&resource, Some(state));
    if after != before {
        if after == ReadyState::Ready {
            // Written first: the users it wakes read this status.
            ctx.wakeups.became_ready(instance);
        }
        publish_transition(ctx, obj.as_ref(), &resource, &outcome, &status).await;
    }
    instances.schedule_sweep(&obj, &status, deleting);
    Ok(Action::requeue(if deleting {
        Duration::from_secs(1)
    } else if after != ReadyState::Ready {
        NOT_READY_RETRY
    } else {
        RECOUNT
    }))
}

/// The Ready condition as the ConnectUsers see it: for the current generation only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadyState {
    Ready,
    NotReady,
    Unknown,
}

impl ReadyState {
    fn status(self) -> &'static str {
        match self {
            ReadyState::Ready => "True",
            ReadyState::NotReady => "False",
            ReadyState::Unknown => "Unknown",
        }
    }
}

fn ready_state(status: Option<&InstanceStatus>, generation: Option<i64>) -> ReadyState {
    match status
        .filter(|s| s.observed_generation == generation)
        .and_then(|s| s.condition(READY))
    {
        Some(c) if c.status == "True" => ReadyState::Ready,
        Some(_) => ReadyState::NotReady,
        None => ReadyState::Unknown,
    }
}

/// An Event when the object's Ready changed: Normal when it became Ready, a Warning with the
/// error's reason otherwise.
async fn publish_transition<K: InstanceObject>(
    ctx: &Context,
    obj: &K,
    resource: &str,
    outcome: &Result<bool, Error>,
    status: &InstanceStatus,
) {
    let (kind, reason) = match outcome {
        Ok(true) => (EventKind::Normal, "InstanceReady"),
        Ok(false) => return,
        Err(e) => (EventKind::Warning, e.policy(Phase::Converge).reason),
    };
    let Some(ready) = status.condition(READY) else {
        return;
    };
    let note = EventNote {
        kind,
        reason,
        message: &ready.message,
    };
    if let Err(e) = ctx
        .events
        .publish(resource, &obj.object_ref(&()), note)
        .await
    {
        tracing::warn!(error = %e, "could not publish an Event");
    }
}

/// Tells the rate limiter of the object's account and region what `spec.quota` asks for, and
/// says in status what applies there.
fn apply_quota<K: InstanceObject>(
    obj: &K,
    status: &InstanceStatus,
    ctx: &Context,
    deleting: bool,
) -> Option<String> {
    let view = obj.view();
    let at = instance_ref(&view, status.account.clone());
    let owner = format!(
        "{}/{}/{}",
        K::KIND.as_str(),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    );
    let asked = view
        .quota
        .filter(|_| !deleting)
        .map(|q| crate::connect::Rate {
            per_second: q.rate,
            burst: q.burst,
        });
    let (applied, askers) = ctx.connect.set_quota(&at, &owner, asked);
    let _ = asked?;
    let applied = applied?;
    let scope = crate::connect::quota_scope(&at);
    Some(if askers > 1 {
        format!(
            "{}/s, burst {} in {scope}: the smallest that the {askers} instance objects of this account and region ask for",
            applied.per_second, applied.burst
        )
    } else {
        format!(
            "{}/s, burst {} in {scope}",
            applied.per_second, applied.burst
        )
    })
}

impl<K: InstanceObject> Instances<K> {
    /// Runs the object's dangling quick-connect sweep while it is Ready and not Ignore; stops
    /// it when the object is deleted or its instance changed. An Ignore set later, or a Ready
    /// lost for a while, is the running sweep's own business (it reads the mode each tick).
    fn schedule_sweep(&self, obj: &K, status: &InstanceStatus, deleting: bool) {
        let uid = obj.uid().unwrap_or_default();
        let view = obj.view();
        let at = instance_ref(&view, status.account.clone());
        let ready = status.condition(READY).is_some_and(|c| c.status == "True")
            && status.observed_generation == obj.meta().generation;
        if deleting {
            self.sweeps.stop(&uid);
        } else if ready && view.dangling_quick_connects != DanglingQuickConnects::Ignore {
            match sweep::interval(view.dangling_check_interval) {
                Ok(interval) => self
                    .sweeps
                    .ensure(&self.ctx, &self.store, obj, at, interval),
                Err(e) => {
                    tracing::warn!(kind = K::KIND.as_str(), object = %obj.name_any(), error = %e, "no dangling quick-connect sweep");
                    self.sweeps.stop(&uid);
                }
            }
        } else {
            self.sweeps.stop_unless(&uid, &at);
        }
    }

    /// Whether DescribeInstance is due: not Ready for this generation, or last verified (by
    /// this process) longer than the resync period ago.
    fn due(
        &self,
        key: &(String, Option<i64>),
        status: &InstanceStatus,
        generation: Option<i64>,
    ) -> bool {
        let ready = status.condition(READY).is_some_and(|c| c.status == "True");
        if !ready || status.observed_generation != generation {
            return true;
        }
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified
            .get(key)
            .is_none_or(|at| at.elapsed() >= self.ctx.settings.resync_period)
    }

    fn verified_now(&self, key: (String, Option<i64>)) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        // Entries of other generations of the object are stale.
        verified.retain(|(uid, _), _| *uid != key.0);
        verified.insert(key, Instant::now());
    }
}

/// The instance object's spec as the Connect side sees it.
pub fn instance_ref(view: &InstanceSpecView<'_>, account: Option<String>) -> InstanceRef {
    let (instance_id, arn_account) = split_instance_id(view.instance_id);
    InstanceRef {
        region: view.region.to_string(),
        instance_id,
        access: Access {
            account: arn_account.or(account),
            role: view.role_arn.map(|arn| AssumedRole {
                role_arn: arn.to_string(),
                external_id: view.external_id.map(str::to_string),
                session_name: view.role_session_name.map(str::to_string),
            }),
        },
    }
}

/// Account (ARN or GetCallerIdentity), then DescribeInstance, with the object's credentials.
async fn verify(
    view: &InstanceSpecView<'_>,
    status: &mut InstanceStatus,
    ctx: &Context,
) -> Result<(), Error> {
    let mut at = instance_ref(view, None);
    let account = match at.access.account.clone() {
        Some(a) => a,
        None => ctx.connect.caller_account(&at).await?,
    };
    at.access.account = Some(account.clone());
    status.account = Some(account);
    let described = ctx.connect.describe_instance(&at).await?;
    status.instance_arn = described.arn;
    status.instance_alias = described.alias;
    status.identity_management_type = Some(
        match described.identity_management {
            IdentityManagement::ConnectManaged => "CONNECT_MANAGED",
            IdentityManagement::Saml => "SAML",
            IdentityManagement::ExistingDirectory => "EXISTING_DIRECTORY",
            IdentityManagement::Other => "UNKNOWN",
        }
        .to_string(),
    );
    status.source_region = described.source_region.clone();
    if let Some(source) = described.source_region.filter(|s| s != view.region)
        && !view.allow_replica
    {
        return Err(Error::ReplicaRefused(format!(
            "instance {} in {} is a Global Resiliency replica of the one in {source}: users and quick connects replicate from the source, so ConnectUsers should use an instance object with region {source} (set allowReplica: true to write to the replica anyway)",
            at.instance_id, view.region
        )));
    }
    if let Some(s) = described.status.filter(|s| s != "ACTIVE") {
        return Err(Error::InstanceNotReady {
            field: "spec.instanceId".into(),
            message: format!("the instance's status is {s}, not ACTIVE"),
        });
    }
    Ok(())
}

async fn set_finalizer<K: InstanceObject>(
    api: &Api<K>,
    obj: &K,
    present: bool,
) -> Result<(), Error> {
    let mut finalizers: Vec<String> = obj
        .finalizers()
        .iter()
        .filter(|f| *f != IN_USE_FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(IN_USE_FINALIZER.to_string());
    }
    // With the resourceVersion read: another edit in between fails the patch (a conflict,
    // retried) instead of being overwritten.
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": obj.resource_version(), "finalizers": finalizers}
    });
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

async fn write_status<K: InstanceObject>(
    api: &Api<K>,
    obj: &K,
    status: &InstanceStatus,
) -> Result<(), Error> {
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}
