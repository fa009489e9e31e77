//! An in-memory Kubernetes API server over HTTP on 127.0.0.1, faithful where an operator's
//! correctness depends on the apiserver: optimistic concurrency, finalizers, the status
//! subresource, generation, server-side apply, CRD schema validation, ordered watches with
//! bookmarks and 410 Gone, discovery/OpenAPI/Table output for the real `kubectl`.
//!
//! Modules, one job each: `reqinfo` (URL -> request), `server` (HTTP, negotiation), `ops`
//! (registry semantics), `store` (objects, resourceVersions, event log), `watch`, `patch`,
//! `managed` (managedFields, server-side apply), `admission` (validation and defaulting),
//! `crd`, `events` (core <-> events.k8s.io), `selectors`, `table`, `discovery`, `openapi`,
//! `faults`, `status` (errors), `registry` (served kinds), `protobuf` (the wire format kubectl
//! uses for built-in kinds), `typed` (built-in kinds checked against k8s-openapi's schemas);
//! `schema` validates CRD objects and those built-ins.

pub mod schema;

mod admission;
mod crd;
mod discovery;
mod events;
mod faults;
mod managed;
mod openapi;
mod ops;
mod patch;
pub mod protobuf;
mod registry;
mod reqinfo;
mod selectors;
mod server;
mod status;
mod store;
mod table;
mod typed;
mod watch;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub use faults::RequestRecord;

use faults::Faults;
use store::Store;

/// Shared server state.
pub(crate) struct Inner {
    store: Store,
    faults: Mutex<Faults>,
    addr: SocketAddr,
    bookmark_every: Mutex<Duration>,
}

impl Inner {
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bookmark_interval(&self) -> Duration {
        *self
            .bookmark_every
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Stops the server task when the last handle goes away.
struct ServerTask(tokio::task::AbortHandle);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Handle to a running emulator. Cheap to clone.
#[derive(Clone)]
pub struct KubeSim {
    inner: Arc<Inner>,
    _task: Arc<ServerTask>,
}

fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

impl KubeSim {
    /// Starts on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<KubeSim> {
        KubeSim::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(addr: SocketAddr) -> std::io::Result<KubeSim> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            store: Store::default(),
            faults: Mutex::new(Faults::default()),
            addr,
            bookmark_every: Mutex::new(Duration::from_secs(10)),
        });
        {
            let mut st = inner.store.lock();
            let ns = registry::builtins()
                .into_iter()
                .find(|r| r.plural == "namespaces")
                .expect("namespaces is built in");
            for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let obj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
                let _ = ops::create(&mut st, &ns, None, obj, &ops::Opts::default(), None);
            }
        }
        let app = server::router(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(KubeSim {
            inner,
            _task: Arc::new(ServerTask(task.abort_handle())),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// A kubeconfig with one cluster, user (no auth) and context, set as current.
    pub fn kubeconfig_yaml(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {url}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: {namespace}\ncurrent-context: sim\nusers:\n- name: sim\n  user: {{}}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &std::path::Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml("default"))
    }

    /// Creates any object (CRDs included) in-process, with the same rules as an HTTP POST.
    /// Errors are the `Status` object the server would answer.
    pub fn create_object(&self, obj: Value) -> Result<Value, Value> {
        let api_version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut st = self.inner.store.lock();
        let Some(rt) = st.registry.by_kind(&api_version, &kind) else {
            return Err(status::ApiError::bad_request(format!(
                "no kind \"{kind}\" is registered for version \"{api_version}\""
            ))
            .to_json());
        };
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_string();
        let ns = rt.namespaced.then_some(ns.as_str());
        ops::create(&mut st, &rt, ns, obj, &ops::Opts::default(), None)
            .map(|d| d.body)
            .map_err(|e| e.to_json())
    }

    pub fn get_object(
        &self,
        api_version: &str,
        kind_plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let (g, v) = split_api_version(api_version);
        let st = self.inner.store.lock();
        let rt = st.registry.lookup(g, v, kind_plural)?;
        ops::get(&st, &rt, namespace, name).ok()
    }

    /// All objects of a resource (in one namespace, or all when `None`), in key order.
    pub fn list_objects(
        &self,
        api_version: &str,
        kind_plural: &str,
        namespace: Option<&str>,
    ) -> Vec<Value> {
        let (g, v) = split_api_version(api_version);
        let st = self.inner.store.lock();
        let Some(rt) = st.registry.lookup(g, v, kind_plural) else {
            return Vec::new();
        };
        let ns = if rt.namespaced { namespace } else { None };
        st.iter(&rt.storage, ns)
            .map(|(_, o)| ops::external(&rt, o))
            .collect()
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner.faults().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.inner.faults().requests.clear();
    }

    /// The next `n` requests whose method matches (`"*"` or `""` for any) and whose
    /// `path?query` contains `path_contains` are answered with a `Status` of code `status`.
    pub fn fail_next(&self, method: &str, path_contains: &str, n: usize, status: u16) {
        self.inner.faults().add(method, path_contains, n, status);
    }

    /// Disarms every `fail_next` rule not yet used up: ends an outage simulated with a large `n`.
    pub fn clear_faults(&self) {
        self.inner.faults().clear();
    }

    /// Ends every open watch stream abruptly (as a dropped connection would).
    pub fn drop_watches(&self) {
        self.inner.store.drops.send_modify(|n| *n += 1);
    }

    /// Latency added before every request is handled.
    pub fn set_latency(&self, d: Duration) {
        self.inner.faults().latency = d;
    }

    /// Forgets the event history: watches from an older resourceVersion get 410 Gone.
    pub fn compact(&self) {
        self.inner.store.lock().compact();
    }

    /// How many events are retained for watches to resume from (default 10 000).
    pub fn set_event_window(&self, n: usize) {
        self.inner.store.lock().set_window(n);
    }

    /// How often open watches that allow bookmarks receive one (default 10 s).
    pub fn set_bookmark_interval(&self, d: Duration) {
        *self
            .inner
            .bookmark_every
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = d;
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.store.lock().rv
    }
}
