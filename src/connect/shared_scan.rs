//! Shared listings per instance: many reconciles that need "a complete listing started no earlier
//! than T" share one scan instead of each spending Connect's quota on its own.
//!
//! Deletions ask for T = now (the listing must begin after their DeleteUser succeeded); drift
//! checks ask for T = now - max age (a recent snapshot is good enough).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::ConnectError;
use crate::model::InstanceRef;

type Scan<V> = Shared<BoxFuture<'static, Result<Arc<V>, ConnectError>>>;

struct Entry<V> {
    /// Held while a scan runs: one scan per instance at a time.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// The last complete result and when its scan started.
    latest: Option<(Instant, Arc<V>)>,
    /// Created, not started yet: any request may join it.
    pending: Option<(u64, Scan<V>)>,
    /// Started at the given instant.
    running: Option<(u64, Instant, Scan<V>)>,
}

impl<V> Default for Entry<V> {
    fn default() -> Self {
        Entry {
            gate: Arc::default(),
            latest: None,
            pending: None,
            running: None,
        }
    }
}

pub struct SharedScans<V> {
    inner: Arc<Inner<V>>,
}

struct Inner<V> {
    /// How long a new scan waits for more requests to join it.
    window: Duration,
    entries: Mutex<HashMap<InstanceRef, Entry<V>>>,
    ids: AtomicU64,
}

impl<V: Send + Sync + 'static> SharedScans<V> {
    pub fn new(window: Duration) -> SharedScans<V> {
        SharedScans {
            inner: Arc::new(Inner {
                window,
                entries: Mutex::default(),
                ids: AtomicU64::new(0),
            }),
        }
    }

    /// A complete result of `scan` for `at` whose scan started at or after `not_before`.
    pub async fn get<F, Fut>(
        &self,
        at: &InstanceRef,
        not_before: Instant,
        scan: F,
    ) -> Result<Arc<V>, ConnectError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, ConnectError>> + Send + 'static,
    {
        let shared = {
            let mut entries = self.inner.lock();
            let entry = entries.entry(at.clone()).or_default();
            if let Some((started, value)) = &entry.latest
                && *started >= not_before
            {
                return Ok(value.clone());
            }
            match (&entry.running, &entry.pending) {
                (Some((_, started, running)), _) if *started >= not_before => running.clone(),
                (_, Some((_, pending))) => pending.clone(),
                _ => self.new_pending(entry, at.clone(), scan),
            }
        };
        shared.await
    }

    fn new_pending<F, Fut>(&self, entry: &mut Entry<V>, at: InstanceRef, scan: F) -> Scan<V>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, ConnectError>> + Send + 'static,
    {
        let id = self.inner.ids.fetch_add(1, Ordering::Relaxed);
        let (inner, gate) = (self.inner.clone(), entry.gate.clone());
        let shared = async move {
            let _one_at_a_time = gate.lock_owned().await;
            if !inner.window.is_zero() {
                tokio::time::sleep(inner.window).await;
            }
            let started = inner.start(&at, id);
            let result = scan().await.map(Arc::new);
            inner.finish(&at, id, started, &result);
            result
        }
        .boxed()
        .shared();
        entry.pending = Some((id, shared.clone()));
        shared
    }
}

impl<V> Inner<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceRef, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves scan `id` from pending to running; from now on it only serves requests whose
    /// deadline it meets.
    fn start(&self, at: &InstanceRef, id: u64) -> Instant {
        let started = Instant::now();
        let mut entries = self.lock();
        let entry = entries.entry(at.clone()).or_default();
        if let Some((pending, scan)) = entry.pending.take() {
            if pending == id {
                // The running scan serves every request the last result could (it started
                // later): holding both would double the largest thing kept (a listing of every
                // user) while the new one is read.
                entry.latest = None;
                entry.running = Some((id, started, scan));
            } else {
                entry.pending = Some((pending, scan));
            }
        }
        started
    }

    fn finish(
        &self,
        at: &InstanceRef,
        id: u64,
        started: Instant,
        result: &Result<Arc<V>, ConnectError>,
    ) {
        let mut entries = self.lock();
        let entry = entries.entry(at.clone()).or_default();
        if entry.running.as_ref().is_some_and(|(r, _, _)| *r == id) {
            entry.running = None;
        }
        if let Ok(value) = result
            && entry.latest.as_ref().is_none_or(|(t, _)| *t < started)
        {
            entry.latest = Some((started, value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn at() -> InstanceRef {
        InstanceRef::own("r", "i")
    }

    async fn counted(count: Arc<AtomicUsize>) -> Result<usize, ConnectError> {
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(count.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_scan() {
        let scans = Arc::new(SharedScans::<usize>::new(Duration::from_millis(10)));
        let count = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (scans, count) = (scans.clone(), count.clone());
            tasks.push(tokio::spawn(async move {
                *scans
                    .get(&at(), Instant::now(), move || counted(count))
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_request_never_joins_a_scan_that_started_before_it() {
        let scans = Arc::new(SharedScans::<usize>::new(Duration::ZERO));
        let count = Arc::new(AtomicUsize::new(0));
        let (s, c) = (scans.clone(), count.clone());
        let first = tokio::spawn(async move {
            *s.get(&at(), Instant::now(), move || counted(c))
                .await
                .unwrap()
        });
        tokio::time::sleep(Duration::from_millis(10)).await; // the first scan is running now
        let c = count.clone();
        let second = *scans
            .get(&at(), Instant::now(), move || counted(c))
            .await
            .unwrap();
        assert_eq!(first.await.unwrap(), 1);
        assert_eq!(second, 2, "needed a scan that started after the request");
    }

    #[tokio::test]
    async fn a_recent_enough_result_is_reused() {
        let scans = SharedScans::<usize>::new(Duration::ZERO);
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        scans
            .get(&at(), Instant::now(), move || counted(c))
            .await
            .unwrap();
        let c = count.clone();
        let again = scans
            .get(&at(), Instant::now() - Duration::from_secs(60), move || {
                counted(c)
            })
            .await
            .unwrap();
        assert_eq!(*again, 1);
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_last_result_is_let_go_once_a_newer_scan_runs() {
        let scans = Arc::new(SharedScans::<usize>::new(Duration::ZERO));
        let first = scans
            .get(&at(), Instant::now(), || async { Ok(1) })
            .await
            .unwrap();
        assert_eq!(Arc::strong_count(&first), 2, "this test's and the cache's");
        let release = Arc::new(tokio::sync::Notify::new());
        let (s, r) = (scans.clone(), release.clone());
        let second = tokio::spawn(async move {
            *s.get(&at(), Instant::now(), move || async move {
                r.notified().await;
                Ok(2)
            })
            .await
            .unwrap()
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&first) > 1 {
            assert!(
                Instant::now() < deadline,
                "the cache still holds the last result while a newer scan runs"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        release.notify_one();
        assert_eq!(second.await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_failed_scan_is_not_cached() {
        let scans = SharedScans::<usize>::new(Duration::ZERO);
        let err = scans
            .get(&at(), Instant::now(), || async {
                Err(ConnectError {
                    operation: "SearchUsers",
                    kind: super::super::ErrorKind::Transient,
                    code: "x".into(),
                    message: "x".into(),
                })
            })
            .await;
        assert!(err.is_err());
        let ok = scans
            .get(&at(), Instant::now() - Duration::from_secs(60), || async {
                Ok(7)
            })
            .await;
        assert_eq!(*ok.unwrap(), 7);
    }
}
