//! Kubernetes Events for ConnectUsers, published as kube-runtime's `Recorder` publishes them
//! (events.k8s.io/v1; a repeat of the same type and reason within six minutes is patched into the
//! first Event's series), but remembering only what a series needs (the Event's name and count),
//! and only while the resource is watched. The `Recorder` keeps every Event whole for six
//! minutes, whatever became of its object: a churn of 10,000 resources grew the operator by
//! 92 MiB (BENCHMARKS.md, "Churn").

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams, PostParams};

/// How long a repeat joins the earlier Event's series (the `Recorder`'s window).
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Normal,
    Warning,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Normal => "Normal",
            EventKind::Warning => "Warning",
        }
    }
}

/// The Event a repeat is patched into.
#[derive(Clone, Debug, PartialEq)]
struct Series {
    name: String,
    count: i32,
    last: Timestamp,
}

/// What to do for one Event: create a new one, or count a repeat into an existing series.
#[derive(Debug, PartialEq)]
enum Publish {
    Create { name: String },
    Repeat { name: String, count: i32 },
}

/// The series of each watched resource, by (type, reason). Pure bookkeeping, no I/O.
#[derive(Default)]
struct SeriesBook {
    by_resource: HashMap<String, HashMap<(EventKind, &'static str), Series>>,
}

impl SeriesBook {
    fn next(
        &mut self,
        resource: &str,
        object_name: &str,
        kind: EventKind,
        reason: &'static str,
        now: Timestamp,
    ) -> Publish {
        let series = self.by_resource.entry(resource.to_string()).or_default();
        series.retain(|_, s| s.last + SERIES_WINDOW > now);
        match series.get_mut(&(kind, reason)) {
            Some(s) => {
                s.count += 1;
                s.last = now;
                Publish::Repeat {
                    name: s.name.clone(),
                    count: s.count,
                }
            }
            None => {
                // The Recorder's naming: the object's name and the time in hex nanoseconds.
                let name = format!("{object_name}.{:x}", now.as_nanosecond());
                series.insert(
                    (kind, reason),
                    Series {
                        name: name.clone(),
                        count: 1,
                        last: now,
                    },
                );
                Publish::Create { name }
            }
        }
    }

    /// A published Event that the apiserver refused is not a series to patch later.
    fn discard(&mut self, resource: &str, kind: EventKind, reason: &'static str) {
        if let Some(series) = self.by_resource.get_mut(resource) {
            series.remove(&(kind, reason));
        }
    }

    fn forget(&mut self, resource: &str) {
        self.by_resource.remove(resource);
    }

    fn len(&self) -> usize {
        self.by_resource.len()
    }
}

/// One Event to publish.
pub struct EventNote<'a> {
    pub kind: EventKind,
    pub reason: &'static str,
    pub message: &'a str,
}

pub struct EventPublisher {
    client: kube::Client,
    controller: String,
    instance: String,
    book: Mutex<SeriesBook>,
}

impl EventPublisher {
    pub fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Self {
        EventPublisher {
            client,
            controller: controller.to_string(),
            instance: instance.unwrap_or_else(|| controller.to_string()),
            book: Mutex::default(),
        }
    }

    /// Publishes `note` about `regarding`, which `resource` ("namespace/name") identifies for
    /// `forget`.
    pub async fn publish(
        &self,
        resource: &str,
        regarding: &ObjectReference,
        note: EventNote<'_>,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let object_name = regarding.name.as_deref().unwrap_or(&self.controller);
        let step = self
            .book()
            .next(resource, object_name, note.kind, note.reason, now);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let events: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let sent = match &step {
            Publish::Create { name } => {
                let event = self.event(name, namespace, regarding, &note, now);
                events
                    .create(&PostParams::default(), &event)
                    .await
                    .map(drop)
            }
            Publish::Repeat { name, count } => {
                let patch = serde_json::json!({
                    "series": EventSeries { count: *count, last_observed_time: MicroTime(now) },
                });
                events
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(drop)
            }
        };
        if sent.is_err() {
            self.book().discard(resource, note.kind, note.reason);
        }
        sent
    }

    /// Drops the series of a resource that went away.
    pub fn forget(&self, resource: &str) {
        self.book().forget(resource);
    }

    /// How many resources have a series remembered.
    pub fn tracked_resources(&self) -> usize {
        self.book().len()
    }

    fn book(&self) -> std::sync::MutexGuard<'_, SeriesBook> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn event(
        &self,
        name: &str,
        namespace: &str,
        regarding: &ObjectReference,
        note: &EventNote<'_>,
        now: Timestamp,
    ) -> Event {
        Event {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                ..ObjectMeta::default()
            },
            action: Some(note.reason.to_string()),
            reason: Some(note.reason.to_string()),
            note: Some(note.message.to_string()),
            type_: Some(note.kind.as_str().to_string()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    #[test]
    fn a_repeat_within_the_window_counts_into_the_first_event() {
        let mut book = SeriesBook::default();
        let Publish::Create { name } =
            book.next("ns/a", "a", EventKind::Warning, "Throttled", at(0))
        else {
            panic!("the first is created");
        };
        assert!(name.starts_with("a."), "{name}");
        assert_eq!(
            book.next("ns/a", "a", EventKind::Warning, "Throttled", at(10)),
            Publish::Repeat {
                name: name.clone(),
                count: 2
            }
        );
        // Another reason, type or resource is another Event.
        assert!(matches!(
            book.next("ns/a", "a", EventKind::Normal, "Throttled", at(11)),
            Publish::Create { .. }
        ));
        assert!(matches!(
            book.next("ns/a", "a", EventKind::Warning, "Created", at(12)),
            Publish::Create { .. }
        ));
        assert!(matches!(
            book.next("ns/b", "b", EventKind::Warning, "Throttled", at(13)),
            Publish::Create { .. }
        ));
        // The window runs from the last repeat.
        assert_eq!(
            book.next("ns/a", "a", EventKind::Warning, "Throttled", at(10 + 359)),
            Publish::Repeat { name, count: 3 }
        );
    }

    #[test]
    fn after_the_window_or_a_refusal_a_new_event_starts() {
        let mut book = SeriesBook::default();
        book.next("ns/a", "a", EventKind::Normal, "Updated", at(0));
        assert!(matches!(
            book.next("ns/a", "a", EventKind::Normal, "Updated", at(360)),
            Publish::Create { .. }
        ));
        book.discard("ns/a", EventKind::Normal, "Updated");
        assert!(matches!(
            book.next("ns/a", "a", EventKind::Normal, "Updated", at(361)),
            Publish::Create { .. }
        ));
    }

    #[test]
    fn a_forgotten_resource_keeps_nothing() {
        let mut book = SeriesBook::default();
        for i in 0..100 {
            let resource = format!("ns/r{i}");
            book.next(&resource, "r", EventKind::Normal, "Created", at(i));
        }
        assert_eq!(book.len(), 100);
        for i in 0..100 {
            book.forget(&format!("ns/r{i}"));
        }
        assert_eq!(book.len(), 0);
    }
}
