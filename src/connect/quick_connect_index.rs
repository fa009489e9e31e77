//! Which quick connects point at a deleted user. Deletions in flight on one instance share one
//! complete scan of its USER quick connects; a scan is shared only by requests made before it
//! started, so every caller's listing begins after its own DeleteUser succeeded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::{ConnectApi, ConnectError};
use crate::model::{InstanceRef, UserQuickConnect};

type Scan = Shared<BoxFuture<'static, Result<Arc<Vec<UserQuickConnect>>, ConnectError>>>;

#[derive(Default)]
struct InstanceScans {
    /// The scan that has not started yet: new requests join it.
    next: Option<(u64, Scan)>,
    /// Held while a scan runs: one scan per instance at a time.
    gate: Arc<tokio::sync::Mutex<()>>,
}

pub struct QuickConnectIndex {
    inner: Arc<Inner>,
}

struct Inner {
    connect: Arc<ConnectApi>,
    /// How long a new scan waits for more deletions to join it.
    window: Duration,
    scans: Mutex<HashMap<InstanceRef, InstanceScans>>,
    ids: AtomicU64,
}

impl QuickConnectIndex {
    pub fn new(connect: Arc<ConnectApi>, window: Duration) -> QuickConnectIndex {
        QuickConnectIndex {
            inner: Arc::new(Inner {
                connect,
                window,
                scans: Mutex::default(),
                ids: AtomicU64::new(0),
            }),
        }
    }

    /// The USER quick connects of `at` whose target is `user_id`, from a complete listing that
    /// starts after this call was made.
    pub async fn pointing_at(
        &self,
        at: &InstanceRef,
        user_id: &str,
    ) -> Result<Vec<UserQuickConnect>, ConnectError> {
        let scan = self.join_next_scan(at);
        let all = scan.await?;
        Ok(all.iter().filter(|q| q.user_id == user_id).cloned().collect())
    }

    fn join_next_scan(&self, at: &InstanceRef) -> Scan {
        let mut scans = self.inner.scans.lock().unwrap_or_else(|e| e.into_inner());
        let entry = scans.entry(at.clone()).or_default();
        if let Some((_, scan)) = &entry.next {
            return scan.clone();
        }
        let id = self.inner.ids.fetch_add(1, Ordering::Relaxed);
        let (inner, gate, at) = (self.inner.clone(), entry.gate.clone(), at.clone());
        let scan = async move {
            let _running = gate.lock_owned().await;
            if !inner.window.is_zero() {
                tokio::time::sleep(inner.window).await;
            }
            inner.started(&at, id);
            inner.connect.user_quick_connects(&at).await.map(Arc::new)
        }
        .boxed()
        .shared();
        entry.next = Some((id, scan.clone()));
        scan
    }
}

impl Inner {
    /// From now on, new requests need a later scan.
    fn started(&self, at: &InstanceRef, id: u64) {
        let mut scans = self.scans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = scans.get_mut(at)
            && entry.next.as_ref().is_some_and(|(next, _)| *next == id)
        {
            entry.next = None;
        }
    }
}
