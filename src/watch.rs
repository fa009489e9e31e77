//! The watched ConnectUsers: one watch per watched namespace (a per-team install has only
//! namespaced RBAC, and the apiserver cannot select several namespaces in one watch), merged into
//! one reflector store and one trigger stream, so that one Controller, and one `--concurrency`,
//! serves every namespace, and every reconcile sees every watched ConnectUser.
//!
//! A kube `Writer` fed by several watches would let one watch's relist wipe the others' objects
//! (a relist replaces the whole store), so relists are merged here per watch: the objects a
//! watch lists are upserted, and those of its namespace that it no longer lists are deleted.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher::Event;
use kube::{Api, ResourceExt};

use crate::crd::ConnectUser;

/// What one watch's event did to the merged store.
#[derive(Debug, Default)]
pub struct Merged {
    /// The object to reconcile (an upsert, once every watch has listed).
    pub trigger: Option<ConnectUser>,
    /// Every stored object, once: the watch that completed the last first list. Nothing is
    /// reconciled before then (see `WatchedResources::merge_event`).
    pub replay: Vec<Arc<ConnectUser>>,
    /// Resources that went away: deleted, no longer listed by a relist, or replaced by a new
    /// object of the same name.
    pub gone: Vec<ObjectRef<ConnectUser>>,
    /// Every watch has completed its first list (of this run).
    pub listed: bool,
}

pub struct WatchedResources {
    /// Per watch: its namespace; `None` watches every namespace.
    scopes: Vec<Option<String>>,
    store: Store<ConnectUser>,
    merge: Mutex<Merge>,
}

struct Merge {
    writer: Writer<ConnectUser>,
    /// Per watch: the objects its relist in progress has delivered so far.
    relisting: Vec<Option<HashSet<ObjectRef<ConnectUser>>>>,
    /// Per watch: whether its first list of this run is complete.
    listed: Vec<bool>,
}

impl WatchedResources {
    /// One watch per namespace of `namespaces` (each once), or one of every namespace when it
    /// is empty.
    pub fn new(namespaces: &[String]) -> WatchedResources {
        let mut scopes: Vec<Option<String>> = unique_namespaces(namespaces)
            .into_iter()
            .map(Some)
            .collect();
        if scopes.is_empty() {
            scopes.push(None);
        }
        let mut writer = Writer::default();
        // The Controller starts its runner once its store says ready; that is a Writer's first
        // relist, which would replace the store each time. Ready at once here: nothing is
        // reconciled before every watch has listed anyway (no trigger is emitted before).
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        WatchedResources {
            store: writer.as_reader(),
            merge: Mutex::new(Merge {
                writer,
                relisting: vec![None; scopes.len()],
                listed: vec![false; scopes.len()],
            }),
            scopes,
        }
    }

    /// The Api of each watch, in watch order.
    pub fn apis(&self, client: &kube::Client) -> Vec<Api<ConnectUser>> {
        self.scopes
            .iter()
            .map(|scope| match scope {
                Some(ns) => Api::namespaced(client.clone(), ns),
                None => Api::all(client.clone()),
            })
            .collect()
    }

    /// The store the Controller reads its objects from.
    pub fn store(&self) -> Store<ConnectUser> {
        self.store.clone()
    }

    /// The watched ConnectUser with this UID, as last seen by the watches.
    pub fn by_uid(&self, uid: &str) -> Option<Arc<ConnectUser>> {
        self.store.find(|cu| cu.uid().as_deref() == Some(uid))
    }

    /// Whether the store holds this object (the same UID under its name).
    pub fn holds(&self, cu: &ConnectUser) -> bool {
        self.store
            .get(&ObjectRef::from_obj(cu))
            .is_some_and(|stored| stored.uid() == cu.uid())
    }

    /// A new run (the first, or after leadership was lost and won back): its watches list
    /// again before anything is reconciled. Objects from the previous run stay until the new
    /// lists show whether they still exist.
    pub fn begin_run(&self) {
        let mut merge = self.lock();
        merge.relisting.iter_mut().for_each(|r| *r = None);
        merge.listed.iter_mut().for_each(|l| *l = false);
    }

    /// Applies watch `watch`'s `event` to the merged store. Upserts are triggers only once
    /// every watch has listed: until then, a reconcile could miss a ConnectUser of a namespace
    /// not listed yet (the adoption check asks whether another ConnectUser owns a username).
    pub fn merge_event(&self, watch: usize, event: Event<ConnectUser>) -> Merged {
        let mut merge = self.lock();
        let mut merged = Merged::default();
        match event {
            Event::Apply(cu) | Event::InitApply(cu) => {
                let key = ObjectRef::from_obj(&cu);
                if self
                    .store
                    .get(&key)
                    .is_some_and(|stored| stored.uid() != cu.uid())
                {
                    merged.gone.push(key.clone());
                }
                if let Some(seen) = merge.relisting.get_mut(watch).and_then(Option::as_mut) {
                    seen.insert(key);
                }
                let event = Event::Apply(cu);
                merge.writer.apply_watcher_event(&event);
                if merge.all_listed()
                    && let Event::Apply(cu) = event
                {
                    merged.trigger = Some(cu);
                }
            }
            Event::Delete(cu) => {
                merged.gone.push(ObjectRef::from_obj(&cu));
                merge.writer.apply_watcher_event(&Event::Delete(cu));
            }
            Event::Init => {
                if let Some(r) = merge.relisting.get_mut(watch) {
                    *r = Some(HashSet::new());
                }
            }
            Event::InitDone => {
                let seen = merge
                    .relisting
                    .get_mut(watch)
                    .and_then(Option::take)
                    .unwrap_or_default();
                let scope = self.scopes.get(watch).cloned().flatten();
                let unlisted = self.store.state_filter(|cu| {
                    scope
                        .as_ref()
                        .is_none_or(|ns| cu.namespace().as_ref() == Some(ns))
                        && !seen.contains(&ObjectRef::from_obj(cu))
                });
                for cu in unlisted {
                    merged.gone.push(ObjectRef::from_obj(cu.as_ref()));
                    merge
                        .writer
                        .apply_watcher_event(&Event::Delete(ConnectUser::clone(&cu)));
                }
                let was_listed = merge.all_listed();
                if let Some(l) = merge.listed.get_mut(watch) {
                    *l = true;
                }
                if !was_listed && merge.all_listed() {
                    merged.replay = self.store.state();
                }
            }
        }
        merged.listed = merge.all_listed();
        merged
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Merge> {
        self.merge.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Merge {
    fn all_listed(&self) -> bool {
        self.listed.iter().all(|l| *l)
    }
}

/// The namespaces, trimmed, each once, in the order given: a namespace listed twice would be
/// watched twice.
pub fn unique_namespaces(given: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    given
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty() && seen.insert(n.to_string()))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cu(ns: &str, name: &str, uid: &str) -> ConnectUser {
        let mut cu: ConnectUser = serde_json::from_value(serde_json::json!({
            "apiVersion": "connect.userops.dev/v1alpha1",
            "kind": "ConnectUser",
            "metadata": {"name": name, "namespace": ns, "uid": uid},
            "spec": {
                "instanceId": "11111111-2222-3333-4444-555555555555",
                "username": name,
                "securityProfiles": [{"name": "Agent"}],
                "routingProfile": {"name": "Basic Routing Profile"}
            }
        }))
        .unwrap();
        cu.metadata.resource_version = Some("1".into());
        cu
    }

    fn names(store: &Store<ConnectUser>) -> Vec<String> {
        let mut v: Vec<String> = store
            .state()
            .iter()
            .map(|c| format!("{}/{}", c.namespace().unwrap(), c.name_any()))
            .collect();
        v.sort();
        v
    }

    fn gone(a: &Merged) -> Vec<String> {
        a.gone
            .iter()
            .map(|r| format!("{}/{}", r.namespace.as_deref().unwrap(), r.name))
            .collect()
    }

    /// The first list of a watch: Init, one InitApply each, InitDone.
    fn list(w: &WatchedResources, watch: usize, objects: &[ConnectUser]) -> Merged {
        assert!(w.merge_event(watch, Event::Init).trigger.is_none());
        for o in objects {
            assert!(
                w.merge_event(watch, Event::InitApply(o.clone()))
                    .gone
                    .is_empty()
            );
        }
        w.merge_event(watch, Event::InitDone)
    }

    #[test]
    fn several_namespaces_share_one_store_and_nothing_triggers_before_all_are_listed() {
        let w = WatchedResources::new(&["a".into(), "b".into()]);
        w.begin_run();
        let first = list(&w, 0, &[cu("a", "x", "1")]);
        assert!(!first.listed && first.replay.is_empty());
        // A change in a listed namespace while another is still listing: stored, not a trigger.
        let early = w.merge_event(0, Event::Apply(cu("a", "y", "2")));
        assert!(early.trigger.is_none() && !early.listed);
        let last = list(&w, 1, &[cu("b", "x", "3")]);
        assert!(last.listed);
        let mut replayed: Vec<String> = last.replay.iter().map(|c| c.uid().unwrap()).collect();
        replayed.sort();
        assert_eq!(replayed, ["1", "2", "3"], "every stored object, once");
        assert_eq!(names(&w.store()), ["a/x", "a/y", "b/x"]);
        let after = w.merge_event(1, Event::Apply(cu("b", "z", "4")));
        assert_eq!(after.trigger.map(|c| c.name_any()).as_deref(), Some("z"));
        assert!(after.replay.is_empty());
        assert_eq!(w.by_uid("3").map(|c| c.name_any()).as_deref(), Some("x"));
        assert!(w.by_uid("9").is_none());
    }

    #[test]
    fn a_relist_removes_only_its_own_namespaces_objects_that_it_no_longer_lists() {
        let w = WatchedResources::new(&["a".into(), "b".into()]);
        list(&w, 0, &[cu("a", "x", "1"), cu("a", "y", "2")]);
        list(&w, 1, &[cu("b", "x", "3")]);
        // Watch 0 relists (its watch expired: 410 Gone) and a/y was deleted meanwhile.
        let relisted = list(&w, 0, &[cu("a", "x", "1")]);
        assert_eq!(gone(&relisted), ["a/y"]);
        assert!(relisted.replay.is_empty(), "replayed once per run only");
        assert_eq!(names(&w.store()), ["a/x", "b/x"]);
        // A relist triggers what it lists.
        w.merge_event(0, Event::Init);
        let upsert = w.merge_event(0, Event::InitApply(cu("a", "x", "1")));
        assert!(upsert.trigger.is_some());
    }

    #[test]
    fn deletions_and_replacements_are_reported_gone() {
        let w = WatchedResources::new(&[]);
        list(&w, 0, &[cu("a", "x", "1"), cu("b", "x", "2")]);
        let deleted = w.merge_event(0, Event::Delete(cu("a", "x", "1")));
        assert_eq!(gone(&deleted), ["a/x"]);
        assert!(deleted.trigger.is_none());
        // The same name, a new object: the old one went away, even if its deletion was missed.
        let replaced = w.merge_event(0, Event::Apply(cu("b", "x", "5")));
        assert_eq!(gone(&replaced), ["b/x"]);
        assert!(!w.holds(&cu("b", "x", "2")));
        assert!(w.holds(&cu("b", "x", "5")));
        assert_eq!(names(&w.store()), ["b/x"]);
    }

    #[test]
    fn the_all_namespaces_watch_relists_everything() {
        let w = WatchedResources::new(&[]);
        list(&w, 0, &[cu("a", "x", "1"), cu("b", "x", "2")]);
        let relisted = list(&w, 0, &[cu("b", "x", "2")]);
        assert_eq!(gone(&relisted), ["a/x"]);
        assert_eq!(names(&w.store()), ["b/x"]);
    }

    #[test]
    fn a_new_run_lists_again_before_anything_triggers() {
        let w = WatchedResources::new(&["a".into()]);
        assert!(list(&w, 0, &[cu("a", "x", "1")]).listed);
        w.begin_run();
        let early = w.merge_event(0, Event::Apply(cu("a", "x", "1")));
        assert!(early.trigger.is_none() && !early.listed);
        // The old run's objects stay until the new list shows they are gone.
        assert_eq!(names(&w.store()), ["a/x"]);
        let listed = list(&w, 0, &[]);
        assert_eq!(gone(&listed), ["a/x"]);
        assert!(listed.listed && listed.replay.is_empty());
    }

    #[test]
    fn namespaces_are_watched_once_each() {
        let given: Vec<String> = ["a", " b", "a", "", "c", "b "]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(unique_namespaces(&given), ["a", "b", "c"]);
        let w = WatchedResources::new(&given);
        assert_eq!(w.scopes.len(), 3);
        assert_eq!(WatchedResources::new(&[]).scopes, [None]);
    }
}
