//! Wiring of the kube-runtime Controller: reconcile (one `finalizer()` call) and the
//! error policy that turns an error's class into a requeue.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, stream};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use rand::Rng;
use tracing::Instrument;

use crate::context::Context;
use crate::crd::{ConnectUser, FINALIZER};
use crate::error::{Error, Result, Retry};
use crate::instance::wakeups::waiting_on;
use crate::reconcile::outcome::Outcome;
use crate::reconcile::{cleanup, converge, resource_key};

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
    // A pass over a deletion that still held the finalizer: an Ok result means the cleanup
    // finished and the finalizer helper released it.
    if let Some(deleted_at) = &cu.meta().deletion_timestamp
        && cu.finalizers().iter().any(|f| f == FINALIZER)
    {
        ctx.metrics.deletion_pass(
            &resource_key(&cu),
            std::time::SystemTime::from(deleted_at.0),
            result.is_ok(),
        );
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
    let shutdown = futures::FutureExt::shared(shutdown);
    // The instance objects' controllers run beside the ConnectUsers' and stop with them.
    let instances = crate::instance::controller::run(ctx.clone(), shutdown.clone());
    futures::join!(run_users(ctx, shutdown), instances);
}

async fn run_users(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
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
            if let Ok(
                watcher::Event::Apply(cu)
                | watcher::Event::Delete(cu)
                | watcher::Event::InitApply(cu),
            ) = &event
            {
                merged.wakeups.used(cu);
            }
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
        .reconcile_on(waiting_on_ready_instances(&ctx))
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

/// The ConnectUsers waiting on an instance object that just became Ready: they go on at once
/// instead of at their backoff, which may be minutes after InstanceNotFound.
fn waiting_on_ready_instances(
    ctx: &Arc<Context>,
) -> impl futures::Stream<Item = ObjectRef<ConnectUser>> + Send + 'static {
    let store = ctx.watched.store();
    ctx.wakeups
        .ready_stream()
        .flat_map(move |wake| stream::iter(waiting_on(&wake, &store.state())))
}

/// Drops what reconcile never reads from every cached object: managedFields and kubectl's
/// last-applied copy of the manifest are larger than the rest of a ConnectUser, and at 10,000
/// resources they are most of the cache.
fn strip_for_cache(cu: &mut ConnectUser) {
    cu.managed_fields_mut().clear();
    cu.annotations_mut()
        .remove("kubectl.kubernetes.io/last-applied-configuration");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache keeps everything reconcile reads: the trigger hash (generation, finalizers,
    /// deletion), the adoption check (uid, deletionTimestamp), `finalizer()` (finalizers,
    /// resourceVersion), the pass (spec, status, other annotations and labels). Only the two
    /// stripped fields may differ.
    #[test]
    fn the_cache_strips_only_managed_fields_and_the_last_applied_manifest() {
        let cu: ConnectUser = serde_json::from_value(serde_json::json!({
            "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
            "metadata": {
                "name": "a", "namespace": "ns", "uid": "uid-1", "generation": 3,
                "resourceVersion": "42", "deletionTimestamp": "2026-01-01T00:00:00Z",
                "creationTimestamp": "2025-12-01T00:00:00Z",
                "finalizers": [FINALIZER], "labels": {"team": "a"},
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{}}",
                    "example.com/note": "kept"
                },
                "managedFields": [{"manager": "kubectl", "operation": "Apply",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]
            },
            "spec": {
                "instanceId": "11111111-2222-3333-4444-555555555555", "username": "a",
                "securityProfiles": [{"name": "Agent"}],
                "routingProfile": {"name": "Basic Routing Profile"}
            },
            "status": {
                "userId": "u-1", "userArn": "arn:u-1", "createAttemptedAt": "2025-12-01T00:00:01Z",
                "lastWriteAt": "2025-12-01T00:00:02Z", "observedGeneration": 3,
                "conditions": [{"type": "Ready", "status": "True", "reason": "InSync",
                                "message": "in sync", "lastTransitionTime": "2025-12-01T00:00:03Z"}]
            }
        }))
        .unwrap();
        let mut cached = cu.clone();
        strip_for_cache(&mut cached);
        assert!(cached.managed_fields().is_empty());
        assert!(
            !cached
                .annotations()
                .contains_key("kubectl.kubernetes.io/last-applied-configuration")
        );
        let mut expected = cu.clone();
        expected.metadata.managed_fields = cached.metadata.managed_fields.clone();
        expected
            .annotations_mut()
            .remove("kubectl.kubernetes.io/last-applied-configuration");
        assert_eq!(cached, expected, "nothing else is stripped");
        assert_eq!(trigger_hash(&cached), trigger_hash(&cu));
        assert_eq!(cached.status, cu.status);
        assert_eq!(
            cached
                .annotations()
                .get("example.com/note")
                .map(String::as_str),
            Some("kept")
        );
    }
}
