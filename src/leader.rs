//! Leader election on a coordination.k8s.io/v1 Lease (kube-lease-manager): only the holder
//! reconciles; on losing the lease it stops taking work, and a standby takes over once the lease
//! expires.

use std::future::Future;
use std::sync::Arc;

use futures::future::Shared;
use kube_lease_manager::LeaseManagerBuilder;

use crate::metrics::Metrics;

/// Resolves when the work must stop (lease lost or shutdown).
pub type StopSignal = std::pin::Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    /// Seconds a lease stays valid without renewal: the longest a standby waits after a crash.
    pub duration_secs: u64,
    /// Seconds before expiry when the holder renews.
    pub grace_secs: u64,
}

/// Runs `work(stop)` each time this replica becomes leader; `stop` resolves when the lease is
/// lost or `shutdown` fires. Returns after `shutdown`, releasing the lease.
pub async fn run_while_leader<S, W, Fut>(
    client: kube::Client,
    config: LeaseConfig,
    metrics: Arc<Metrics>,
    shutdown: Shared<S>,
    mut work: W,
) -> Result<(), kube_lease_manager::LeaseManagerError>
where
    S: Future<Output = ()> + Send + Sync + 'static,
    W: FnMut(StopSignal) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = LeaseManagerBuilder::new(client, &config.name)
        .with_namespace(&config.namespace)
        .with_identity(&config.identity)
        .with_duration(config.duration_secs)
        .with_grace(config.grace_secs)
        .with_field_manager("connect-user-operator-lease")
        .build()
        .await?;
    let (mut leader, task) = manager.watch().await;
    // A standby is a healthy pod: ready, just not reconciling.
    metrics
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = shutdown.clone() => break,
            became = leader.wait_for(|is| *is) => if became.is_err() { break },
        }
        tracing::info!(identity = %config.identity, lease = %config.name, "became leader");
        metrics.set_leader(true);
        let mut watch = leader.clone();
        let lost = async move {
            let _ = watch.wait_for(|is| !*is).await;
        };
        let shutdown_now = shutdown.clone();
        let stop = async move {
            tokio::select! {
                _ = lost => tracing::warn!("lost the leader lease; stopping reconciles"),
                _ = shutdown_now => {},
            }
        };
        work(Box::pin(stop)).await;
        metrics.set_leader(false);
        metrics
            .ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        if shutdown.peek().is_some() {
            break;
        }
    }
    drop(leader);
    // The manager releases the lease when its channel closes, so a standby need not wait for expiry.
    match task.await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Ok(()),
    }
}
