//! The dangling quick-connect sweep of each Ready instance object: one task per object (by UID)
//! running [`Sweeper::run`] with the object's InstanceRef, so it shares the account and
//! region's limiter and credentials with the object's ConnectUsers. The mode is read from the
//! watch cache before each tick; each tick's outcome goes into `status.danglingQuickConnects`
//! (a merge patch of that field only, so it never races the reconcile's own status write) and
//! into Events on the object.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::{ObjectRef, Store};

use super::controller::InstanceObject;
use super::crd::{DanglingQuickConnectSample, DanglingQuickConnects, DanglingQuickConnectsStatus};
use crate::connect::ConnectError;
use crate::context::Context;
use crate::events::{EventKind, EventNote};
use crate::model::InstanceRef;
use crate::sweeper::{self, DeletionOutcome, SweepMode, SweepReport, SweepSettings, Sweeper};

/// Dangling quick connects named in status at most.
const SAMPLE: usize = 5;

/// What a running sweep was started with: another value restarts it.
#[derive(Clone, Debug, PartialEq)]
struct Key {
    at: InstanceRef,
    interval: Duration,
}

struct Running {
    key: Key,
    /// Dropping it stops the task (its receiver resolves).
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The running sweeps of one kind, by object UID.
#[derive(Default)]
pub struct Sweeps {
    running: Mutex<HashMap<String, Running>>,
}

/// The sweep's interval from `spec.danglingCheckInterval`.
pub fn interval(spec: Option<&str>) -> Result<Duration, String> {
    match spec {
        None => Ok(sweeper::DEFAULT_INTERVAL),
        Some(s) => crate::cli::parse_duration(s)
            .and_then(|d| {
                if d.is_zero() {
                    Err("must be more than 0".to_string())
                } else {
                    Ok(d)
                }
            })
            .map_err(|e| format!("spec.danglingCheckInterval: {e}")),
    }
}

fn mode(setting: DanglingQuickConnects) -> Option<SweepMode> {
    match setting {
        DanglingQuickConnects::Ignore => None,
        DanglingQuickConnects::Report => Some(SweepMode::Report),
        DanglingQuickConnects::Delete => Some(SweepMode::Delete),
    }
}

impl Sweeps {
    /// Starts the sweep of `obj` (Ready, verified as `at`) unless it runs already with the same
    /// instance and interval; restarts it when they changed.
    pub fn ensure<K: InstanceObject>(
        &self,
        ctx: &Arc<Context>,
        store: &Store<K>,
        obj: &K,
        at: InstanceRef,
        interval: Duration,
    ) {
        let uid = obj.uid().unwrap_or_default();
        let key = Key { at, interval };
        let mut running = self.lock();
        if running.get(&uid).is_some_and(|r| r.key == key) {
            return;
        }
        let (stop, stopped) = tokio::sync::oneshot::channel();
        tokio::spawn(sweep(
            ctx.clone(),
            store.clone(),
            obj.clone(),
            key.clone(),
            stopped,
        ));
        // Replacing the entry drops the old task's sender: it stops (and retires).
        running.insert(uid, Running { key, _stop: stop });
    }

    /// Stops the sweep of `uid`, if one runs.
    pub fn stop(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Stops the sweep of `uid` unless it runs for `at`: the object's instance changed (and is
    /// not verified yet).
    pub fn stop_unless(&self, uid: &str, at: &InstanceRef) {
        let mut running = self.lock();
        if running.get(uid).is_some_and(|r| r.key.at != *at) {
            running.remove(uid);
        }
    }

    /// Stops the sweeps of objects that are not in `uids` (gone while the watch was re-listing).
    pub fn retain(&self, uids: &BTreeSet<String>) {
        self.lock().retain(|uid, _| uids.contains(uid));
    }

    pub fn stop_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn sweep<K: InstanceObject>(
    ctx: Arc<Context>,
    store: Store<K>,
    obj: K,
    key: Key,
    stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let uid = obj.uid();
    let object = ObjectRef::from_obj(&obj);
    // Live: the watch cache's copy of this very object (by UID) before each tick.
    let mode_fn = move || {
        let now = store.get(&object)?;
        if now.uid() != uid {
            return None;
        }
        mode(now.view().dangling_quick_connects)
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let on_tick = move |result: Result<&SweepReport, &ConnectError>| {
        let _ = tx.send(result.cloned().map_err(Clone::clone));
    };
    let settings = SweepSettings {
        settle: ctx.settings.settle_window,
        ..SweepSettings::default()
    };
    let run = Sweeper::new(settings)
        .with_metrics(ctx.metrics.clone())
        .run(
            ctx.connect.clone(),
            key.at.clone(),
            key.interval,
            mode_fn,
            on_tick,
            async move {
                let _ = stopped.await;
            },
        );
    let publish = async {
        let mut reported = BTreeSet::new();
        while let Some(result) = rx.recv().await {
            match result {
                Ok(report) => record(&ctx, &obj, &report, &mut reported).await,
                Err(e) => record_failure(&ctx, &obj, &e).await,
            }
        }
    };
    tokio::join!(run, publish);
}

/// `status.danglingQuickConnects`, merged: the sweep owns that field, the reconcile the rest.
async fn write_sweep_status<K: InstanceObject>(ctx: &Context, obj: &K, written: serde_json::Value) {
    let api = K::api(&ctx.client, obj.namespace().as_deref());
    let patch = serde_json::json!({"status": {"danglingQuickConnects": written}});
    if let Err(e) = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(kind = K::KIND.as_str(), object = %obj.name_any(), error = %e, "could not write the sweep's status");
    }
}

fn resource_of<K: InstanceObject>(obj: &K) -> String {
    format!(
        "{}/{}/{}",
        K::KIND.as_str(),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// A failed tick: its error in status (the last count stays) and a Warning; the next tick
/// starts over.
async fn record_failure<K: InstanceObject>(ctx: &Context, obj: &K, error: &ConnectError) {
    let message =
        format!("the dangling quick-connect sweep failed: {error}; the next one starts over");
    tracing::warn!(kind = K::KIND.as_str(), object = %obj.name_any(), error = %error, "dangling quick-connect sweep failed");
    write_sweep_status(ctx, obj, serde_json::json!({"lastError": message})).await;
    let note = EventNote {
        kind: EventKind::Warning,
        reason: "DanglingQuickConnectSweepFailed",
        message: &message,
    };
    let resource = format!("{}#sweep", resource_of(obj));
    if let Err(e) = ctx
        .events
        .publish(&resource, &obj.object_ref(&()), note)
        .await
    {
        tracing::warn!(error = %e, "could not publish an Event");
    }
}

/// Status and Events of one tick. `reported`: the dangling set the last Warning named.
async fn record<K: InstanceObject>(
    ctx: &Context,
    obj: &K,
    report: &SweepReport,
    reported: &mut BTreeSet<String>,
) {
    let removed = |id: &str| {
        report
            .deletions
            .iter()
            .any(|d| d.quick_connect.id == id && !matches!(d.outcome, DeletionOutcome::Failed(_)))
    };
    let left: Vec<_> = report.dangling.iter().filter(|q| !removed(&q.id)).collect();
    let deleted = report
        .deletions
        .iter()
        .filter(|d| matches!(d.outcome, DeletionOutcome::Deleted))
        .count();
    let status = DanglingQuickConnectsStatus {
        count: left.len() as u32,
        sample: left
            .iter()
            .take(SAMPLE)
            .map(|q| DanglingQuickConnectSample {
                id: q.id.clone(),
                name: q.name.clone(),
                missing_user_id: q.user_id.clone(),
            })
            .collect(),
        last_sweep: Some(report.finished_at.to_rfc3339()),
        deleted: deleted as u32,
        last_error: None,
    };
    let mut written = serde_json::to_value(&status).unwrap_or_default();
    // A merge patch keeps what it leaves out: null clears the last failure.
    written["lastError"] = serde_json::Value::Null;
    write_sweep_status(ctx, obj, written).await;

    let regarding = obj.object_ref(&());
    let resource = resource_of(obj);
    let now: BTreeSet<String> = left.iter().map(|q| q.id.clone()).collect();
    if report.mode == SweepMode::Report && !now.is_empty() && now != *reported {
        let message = report.summary();
        let note = EventNote {
            kind: EventKind::Warning,
            reason: "DanglingQuickConnects",
            message: &message,
        };
        // A new Event for a new set: a series would keep the first set's message.
        let per_set = format!("{resource}#dangling");
        if let Err(e) = ctx.events.publish(&per_set, &regarding, note).await {
            tracing::warn!(error = %e, "could not publish an Event");
        }
        ctx.events.forget(&per_set);
    }
    *reported = now;
    for deletion in &report.deletions {
        let message = deletion.message();
        let (kind, reason) = match deletion.outcome {
            DeletionOutcome::Failed(_) => (EventKind::Warning, "DanglingQuickConnectDeleteFailed"),
            _ => (EventKind::Normal, "DanglingQuickConnectDeleted"),
        };
        // One Event per quick connect, not a series that would keep only the first's message.
        let per_quick_connect = format!("{resource}#{}", deletion.quick_connect.id);
        let note = EventNote {
            kind,
            reason,
            message: &message,
        };
        if let Err(e) = ctx
            .events
            .publish(&per_quick_connect, &regarding, note)
            .await
        {
            tracing::warn!(error = %e, "could not publish an Event");
        }
        ctx.events.forget(&per_quick_connect);
    }
}
