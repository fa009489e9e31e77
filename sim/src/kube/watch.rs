//! Watch streams: newline-delimited JSON events, in resourceVersion order, strictly after the
//! requested resourceVersion, with bookmarks, timeouts, selectors (objects leaving or entering a
//! selector become DELETED/ADDED, as in the watch cache) and 410 Gone for expired history.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Inner;
use super::ops::{self, Filter};
use super::status::ApiError;
use super::store::{Event, EventKind};
use super::table::{self, Include};

/// How the client wants objects rendered.
#[derive(Clone)]
pub enum Render {
    Object,
    Table(Include, String),
    Metadata,
}

pub struct Params {
    /// `resourceVersion`: None or "0" means "current state first".
    pub rv: Option<String>,
    pub send_initial_events: bool,
    pub bookmarks: bool,
    pub timeout: Duration,
    pub render: Render,
}

enum Start {
    /// Synthetic ADDED events for the current state, then live events.
    Initial {
        end_bookmark: bool,
    },
    From(u64),
}

fn line(ty: &str, object: Value) -> Bytes {
    let mut buf = serde_json::to_vec(&json!({"type": ty, "object": object})).unwrap_or_default();
    buf.push(b'\n');
    Bytes::from(buf)
}

fn render(filter: &Filter, how: &Render, stored: &Value) -> Value {
    let ext = ops::external(&filter.rt, stored);
    match how {
        Render::Object => ext,
        Render::Metadata => table::partial_metadata(&ext),
        Render::Table(include, api_version) => {
            let rv = ext
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(Value::Null);
            table::table(
                &filter.rt,
                &[ext],
                json!({"resourceVersion": rv}),
                *include,
                api_version,
            )
        }
    }
}

/// The event a watcher with this filter sees for a change, if any.
fn translate(filter: &Filter, how: &Render, e: &Event) -> Option<Bytes> {
    if e.storage != filter.rt.storage || !filter.in_namespace(&e.namespace) {
        return None;
    }
    let now = filter.matches(&e.object);
    let before = e.prev.as_ref().is_some_and(|p| filter.matches(p));
    let ty = match e.kind {
        EventKind::Added if now => "ADDED",
        EventKind::Modified => match (before, now) {
            (true, true) => "MODIFIED",
            (false, true) => "ADDED",
            (true, false) => "DELETED",
            (false, false) => return None,
        },
        EventKind::Deleted if before || now => "DELETED",
        _ => return None,
    };
    Some(line(ty, render(filter, how, &e.object)))
}

fn bookmark(filter: &Filter, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        json!({"kind": filter.rt.kind, "apiVersion": filter.rt.api_version(), "metadata": meta}),
    )
}

fn expired(rv: u64, oldest: u64) -> Bytes {
    let status = ApiError::gone(format!("too old resource version: {rv} ({oldest})")).to_json();
    line("ERROR", status)
}

/// Validates the parameters (errors are answered before the stream starts) and returns the stream.
pub fn start(
    inner: Arc<Inner>,
    filter: Filter,
    params: Params,
) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static, ApiError> {
    let start = match params.rv.as_deref() {
        None | Some("") | Some("0") => Start::Initial {
            end_bookmark: false,
        },
        Some(_) if params.send_initial_events => Start::Initial { end_bookmark: true },
        Some(v) => Start::From(
            v.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v}")))?,
        ),
    };
    let start = match start {
        Start::Initial { .. } if params.send_initial_events => {
            Start::Initial { end_bookmark: true }
        }
        other => other,
    };
    let interval = inner.bookmark_interval();
    Ok(async_stream::stream! {
        let mut changed = inner.store.subscribe();
        let mut drops = inner.store.drops.subscribe();
        drops.borrow_and_update();
        let deadline = Instant::now() + params.timeout;
        let mut next_bookmark = Instant::now() + interval;
        let mut pos;
        // Objects and events are collected under the lock and rendered after releasing it.
        let mut initial: Vec<Arc<Value>> = Vec::new();
        let mut initial_end = None;
        let mut expired_at = None;
        {
            let st = inner.store.lock();
            changed.borrow_and_update();
            match start {
                Start::Initial { end_bookmark } => {
                    initial = st.iter(&filter.rt.storage, filter.ns.as_deref()).map(|(_, o)| o.clone()).collect();
                    pos = st.rv;
                    if end_bookmark {
                        initial_end = Some(pos);
                    }
                }
                Start::From(rv) => {
                    pos = rv;
                    if rv < st.compacted {
                        expired_at = Some((rv, st.compacted));
                    }
                }
            }
        }
        for o in initial.iter().filter(|o| filter.matches(o)) {
            yield Ok(line("ADDED", render(&filter, &params.render, o)));
        }
        if let Some(rv) = initial_end {
            yield Ok(bookmark(&filter, rv, true));
        }
        if let Some((rv, oldest)) = expired_at {
            yield Ok(expired(rv, oldest));
            return;
        }
        loop {
            let batch = {
                let st = inner.store.lock();
                changed.borrow_and_update();
                st.events_after(pos).map(|events| (events, st.rv)).map_err(|_| st.compacted)
            };
            match batch {
                Ok((events, latest)) => {
                    for e in events {
                        pos = e.rv;
                        if let Some(l) = translate(&filter, &params.render, &e) {
                            yield Ok(l);
                        }
                    }
                    pos = pos.max(latest);
                }
                Err(oldest) => {
                    yield Ok(expired(pos, oldest));
                    return;
                }
            }
            tokio::select! {
                r = changed.changed() => {
                    if r.is_err() {
                        return;
                    }
                }
                _ = drops.changed() => {
                    // Abort the response mid-stream, like a dropped connection.
                    yield Err(std::io::Error::other("watch dropped by fault injection"));
                    return;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if params.bookmarks {
                        yield Ok(bookmark(&filter, pos, false));
                    }
                    return;
                }
                _ = tokio::time::sleep_until(next_bookmark), if params.bookmarks => {
                    yield Ok(bookmark(&filter, pos, false));
                    next_bookmark = Instant::now() + interval;
                }
            }
        }
    })
}
