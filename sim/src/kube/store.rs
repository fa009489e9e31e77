//! Object storage: one global resourceVersion counter, objects per storage key ordered by
//! (namespace, name) like etcd keys, and the bounded event log that watches replay from.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::registry::Registry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

/// One change, as stored (internal form).
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: EventKind,
    pub storage: String,
    pub namespace: String,
    pub object: Arc<Value>,
    /// The object before the change (to turn selector transitions into ADDED/DELETED).
    pub prev: Option<Arc<Value>>,
}

pub type Key = (String, String);

pub struct State {
    pub rv: u64,
    objects: HashMap<String, BTreeMap<Key, Arc<Value>>>,
    log: VecDeque<Arc<Event>>,
    /// Watches and continue tokens from a resourceVersion below this are too old.
    pub compacted: u64,
    pub window: usize,
    pub registry: Registry,
}

/// Watches asking for history that is no longer retained.
pub struct TooOld;

impl State {
    fn new() -> State {
        State {
            rv: 1,
            objects: HashMap::new(),
            log: VecDeque::new(),
            compacted: 0,
            window: 10_000,
            registry: Registry::default(),
        }
    }

    pub fn get(&self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(storage)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    pub fn contains(&self, storage: &str, ns: &str, name: &str) -> bool {
        self.get(storage, ns, name).is_some()
    }

    /// Objects of a storage key, optionally in one namespace, in key order.
    pub fn iter<'a>(
        &'a self,
        storage: &str,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Arc<Value>)> + 'a {
        self.objects
            .get(storage)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(move |((n, _), _)| ns.is_none_or(|want| want == n))
    }

    pub fn count(&self, storage: &str, ns: Option<&str>) -> usize {
        self.iter(storage, ns).count()
    }

    fn record(
        &mut self,
        kind: EventKind,
        storage: &str,
        ns: &str,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        self.log.push_back(Arc::new(Event {
            rv: self.rv,
            kind,
            storage: storage.to_string(),
            namespace: ns.to_string(),
            object,
            prev,
        }));
        while self.log.len() > self.window {
            if let Some(e) = self.log.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    fn stamp(&mut self, obj: &mut Value) {
        self.rv += 1;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
    }

    /// Stores a new or changed object under a fresh resourceVersion and logs the event.
    pub fn put(&mut self, storage: &str, ns: &str, name: &str, mut obj: Value) -> Arc<Value> {
        self.stamp(&mut obj);
        let obj = Arc::new(obj);
        let prev = self
            .objects
            .entry(storage.to_string())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        let kind = if prev.is_some() {
            EventKind::Modified
        } else {
            EventKind::Added
        };
        self.record(kind, storage, ns, obj.clone(), prev);
        obj
    }

    /// Removes an object; the DELETED event carries its last state under a fresh resourceVersion.
    pub fn remove(&mut self, storage: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let prev = self
            .objects
            .get_mut(storage)?
            .remove(&(ns.to_string(), name.to_string()))?;
        let mut last = (*prev).clone();
        self.stamp(&mut last);
        let last = Arc::new(last);
        self.record(EventKind::Deleted, storage, ns, last.clone(), Some(prev));
        Some(last)
    }

    /// Events strictly after `rv`, or `TooOld` when some of them are no longer retained.
    pub fn events_after(&self, rv: u64) -> Result<Vec<Arc<Event>>, TooOld> {
        if rv < self.compacted {
            return Err(TooOld);
        }
        let start = self.log.partition_point(|e| e.rv <= rv);
        Ok(self.log.range(start..).cloned().collect())
    }

    pub fn compact(&mut self) {
        self.log.clear();
        self.compacted = self.rv;
    }

    pub fn set_window(&mut self, n: usize) {
        self.window = n;
        while self.log.len() > self.window {
            if let Some(e) = self.log.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    pub fn drop_storage(&mut self, storage: &str) {
        self.objects.remove(storage);
    }
}

/// Shared, lock-protected state plus the signals watches wait on.
pub struct Store {
    state: Mutex<State>,
    /// Latest resourceVersion; watches wake up when it changes.
    changed: watch::Sender<u64>,
    /// Bumped by `drop_watches`.
    pub drops: watch::Sender<u64>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            state: Mutex::new(State::new()),
            changed: watch::channel(0).0,
            drops: watch::channel(0).0,
        }
    }
}

/// A locked state that wakes watches when released after a write.
pub struct Guard<'a> {
    guard: MutexGuard<'a, State>,
    changed: &'a watch::Sender<u64>,
    start_rv: u64,
}

impl std::ops::Deref for Guard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.guard
    }
}

impl std::ops::DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.guard.rv != self.start_rv {
            self.changed.send_replace(self.guard.rv);
        }
    }
}

impl Store {
    pub fn lock(&self) -> Guard<'_> {
        // A panic while holding the lock must not take the whole server down with it.
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let start_rv = guard.rv;
        Guard {
            guard,
            changed: &self.changed,
            start_rv,
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}
