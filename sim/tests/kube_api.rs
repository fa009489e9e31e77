//! The Kubernetes API emulator against real clients: kube-rs (client and runtime), raw HTTP
//! for wire details, and the installed `kubectl`. Each test checks a behaviour the real
//! kube-apiserver has and that an operator could silently depend on.

use std::time::Duration;

use serde_json::{Value, json};
use sim::kube::KubeSim;

mod support {
    use super::*;
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub const GROUP: &str = "example.sim.dev";

    pub fn client(sim: &KubeSim) -> kube::Client {
        let config = kube::Config::new(sim.url().parse().unwrap());
        kube::Client::try_from(config).unwrap()
    }

    pub async fn start() -> (KubeSim, kube::Client) {
        let sim = KubeSim::start().await.unwrap();
        let c = client(&sim);
        (sim, c)
    }

    /// A small namespaced CRD with a status subresource, printer columns, defaults, an enum,
    /// a CEL rule, a transition rule and a list-map.
    pub fn widget_crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("widgets.{GROUP}")},
            "spec": {
                "group": GROUP,
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"], "categories": ["gadgets"]},
                "scope": "Namespaced",
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                    ],
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["color"],
                                "properties": {
                                    "color": {"type": "string", "enum": ["red", "green", "blue"]},
                                    "replicas": {"type": "integer", "minimum": 0, "default": 1},
                                    "size": {"type": "string", "maxLength": 5},
                                    "serial": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "serial is immutable"}]},
                                    "labels": {"type": "object", "additionalProperties": {"type": "string"}}
                                },
                                "x-kubernetes-validations": [{"rule": "self.replicas <= 10", "message": "at most 10 replicas"}]
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "phase": {"type": "string"},
                                    "observedGeneration": {"type": "integer"},
                                    "conditions": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["type"],
                                        "items": {"type": "object", "required": ["type", "status"], "properties": {
                                            "type": {"type": "string"}, "status": {"type": "string"}, "reason": {"type": "string"}}}
                                    }
                                }
                            }
                        }
                    }}
                }]
            }
        })
    }

    pub fn widget_resource() -> ApiResource {
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1", "Widget"), "widgets")
    }

    pub fn widgets(c: &kube::Client, ns: &str) -> kube::Api<DynamicObject> {
        kube::Api::namespaced_with(c.clone(), ns, &widget_resource())
    }

    pub fn widget(name: &str, color: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": format!("{GROUP}/v1"), "kind": "Widget",
            "metadata": {"name": name},
            "spec": {"color": color}
        }))
        .unwrap()
    }

    pub async fn with_crd() -> (KubeSim, kube::Client) {
        let (sim, c) = start().await;
        sim.create_object(widget_crd()).unwrap();
        (sim, c)
    }

    pub fn api_err(e: kube::Error) -> kube::core::Status {
        match e {
            kube::Error::Api(s) => *s,
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    pub struct Raw {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Raw {
        pub fn json(&self) -> Value {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| {
                panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body))
            })
        }
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
        pub fn headers_named(&self, name: &str) -> Vec<&str> {
            self.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        }
        /// The newline-delimited events of a watch response.
        pub fn events(&self) -> Vec<Value> {
            String::from_utf8_lossy(&self.body)
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn dechunk(mut b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&b[..pos]).unwrap().trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
            b = &b[pos + 2 + size + 2..];
        }
        out
    }

    /// A bare HTTP/1.1 request (for headers and wire details the typed clients hide).
    pub async fn raw(
        sim: &KubeSim,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Raw {
        let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            sim.addr(),
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        s.write_all(body).await.unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head");
        let head = String::from_utf8_lossy(&buf[..split]).to_string();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let raw_body = &buf[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let body = if chunked {
            dechunk(raw_body)
        } else {
            raw_body.to_vec()
        };
        Raw {
            status,
            headers,
            body,
        }
    }

    pub async fn get_json(sim: &KubeSim, path: &str) -> Raw {
        raw(sim, "GET", path, &[("Accept", "application/json")], b"").await
    }

    pub async fn send_json(
        sim: &KubeSim,
        method: &str,
        path: &str,
        content_type: &str,
        body: &Value,
    ) -> Raw {
        raw(
            sim,
            method,
            path,
            &[
                ("Content-Type", content_type),
                ("Accept", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
        .await
    }

    /// Checks the apiserver's Status error shape.
    pub fn assert_status(r: &Raw, code: u16, reason: &str) -> Value {
        assert_eq!(r.status, code, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["kind"], "Status", "{v}");
        assert_eq!(v["apiVersion"], "v1");
        assert_eq!(v["status"], "Failure");
        assert_eq!(v["code"], code);
        assert_eq!(v["reason"], reason, "{v}");
        v
    }

    pub fn ns_path(ns: &str) -> String {
        format!("/apis/{GROUP}/v1/namespaces/{ns}/widgets")
    }

    pub async fn eventually<F: Fn() -> bool>(what: &str, f: F) {
        for _ in 0..200 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

use support::*;

mod kubectl {
    use super::*;
    use std::process::Command;

    struct Kubectl {
        dir: tempfile::TempDir,
    }

    impl Kubectl {
        fn new(sim: &KubeSim) -> Kubectl {
            let dir = tempfile::tempdir().unwrap();
            sim.write_kubeconfig(&dir.path().join("kubeconfig"))
                .unwrap();
            Kubectl { dir }
        }

        fn file(&self, name: &str, contents: &str) -> String {
            let p = self.dir.path().join(name);
            std::fs::write(&p, contents).unwrap();
            p.to_string_lossy().into_owned()
        }

        async fn run(&self, args: &[&str]) -> (bool, String, String) {
            let home = self.dir.path().to_path_buf();
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            tokio::task::spawn_blocking(move || {
                let out = Command::new("kubectl")
                    .args(&args)
                    .env("KUBECONFIG", home.join("kubeconfig"))
                    .env("HOME", &home)
                    .output()
                    .expect("kubectl is installed");
                (
                    out.status.success(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            })
            .await
            .unwrap()
        }

        async fn ok(&self, args: &[&str]) -> String {
            let (ok, out, err) = self.run(args).await;
            assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
            assert!(!err.contains("warning"), "kubectl {args:?} warned:\n{err}");
            out
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kubectl_apply_wait_get_and_delete_blocking_on_a_finalizer() {
        let (sim, _c) = start().await;
        let k = Kubectl::new(&sim);
        let crd = k.file("crd.yaml", &serde_yaml::to_string(&widget_crd()).unwrap());
        let out = k.ok(&["apply", "-f", &crd]).await;
        assert!(
            out.contains(
                "customresourcedefinition.apiextensions.k8s.io/widgets.example.sim.dev created"
            ),
            "{out}"
        );
        k.ok(&[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.sim.dev",
            "--timeout=20s",
        ])
        .await;

        let obj = k.file(
            "w.yaml",
            "apiVersion: example.sim.dev/v1\nkind: Widget\nmetadata:\n  name: w1\n  finalizers: [example.sim.dev/hold]\nspec:\n  color: blue\n  replicas: 3\n",
        );
        let out = k.ok(&["apply", "-f", &obj]).await;
        assert!(out.contains("widget.example.sim.dev/w1 created"), "{out}");
        // Second apply: nothing to patch.
        let out = k.ok(&["apply", "-f", &obj]).await;
        assert!(out.contains("unchanged"), "{out}");
        let changed = k.file(
            "w2.yaml",
            &std::fs::read_to_string(&obj)
                .unwrap()
                .replace("replicas: 3", "replicas: 4"),
        );
        let out = k.ok(&["apply", "-f", &changed]).await;
        assert!(
            out.contains("widget.example.sim.dev/w1 configured"),
            "{out}"
        );
        let last = sim
            .requests()
            .into_iter()
            .rfind(|r| r.verb == "patch")
            .unwrap();
        assert_eq!(
            last.content_type, "application/merge-patch+json",
            "kubectl merge-patches custom resources"
        );
        let (ok, _, err) = k.run(&["apply", "-f", &k.file("bad.yaml", "apiVersion: example.sim.dev/v1\nkind: Widget\nmetadata:\n  name: bad\nspec:\n  color: red\n  colour: red\n")]).await;
        assert!(
            !ok && err.contains("unknown field \"spec.colour\""),
            "strict field validation: {err}"
        );
        let ssa = k.file("ssa.yaml", "apiVersion: example.sim.dev/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  color: green\n");
        let out = k.ok(&["apply", "--server-side", "-f", &ssa]).await;
        assert!(
            out.contains("widget.example.sim.dev/w2 serverside-applied"),
            "{out}"
        );
        // Built-ins are strategic-merge-patched from the OpenAPI v3 schema.
        let ns = k.file("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: team\nstringData:\n  a: one\n");
        k.ok(&["apply", "-f", &ns]).await;
        let ns2 = k.file(
            "ns2.yaml",
            &std::fs::read_to_string(&ns)
                .unwrap()
                .replace("a: one", "b: two"),
        );
        let out = k.ok(&["apply", "-f", &ns2]).await;
        assert!(out.contains("secret/s configured"), "{out}");
        let last = sim
            .requests()
            .into_iter()
            .rfind(|r| r.verb == "patch")
            .unwrap();
        assert_eq!(last.content_type, "application/strategic-merge-patch+json");
        let secret = sim.get_object("v1", "secrets", Some("team"), "s").unwrap();
        // Like a real cluster: stringData is write-only, so the key dropped from it stays in data.
        assert_eq!(
            secret["data"],
            json!({"a": "b25l", "b": "dHdv"}),
            "{secret}"
        );
        let secrets = k.ok(&["get", "secrets", "-n", "team"]).await;
        assert!(secrets.contains("Opaque"), "{secrets}");
        let described = k.ok(&["describe", "widget", "w1"]).await;
        assert!(
            described.contains("Replicas:  4") && described.contains("Events:"),
            "{described}"
        );
        k.ok(&["delete", "widget", "w2"]).await;

        let table = k.ok(&["get", "wd"]).await;
        let header = table.lines().next().unwrap();
        for col in ["NAME", "COLOR", "REPLICAS", "READY", "AGE"] {
            assert!(header.contains(col), "{col} missing:\n{table}");
        }
        let row = table.lines().nth(1).unwrap();
        assert!(
            row.starts_with("w1") && row.contains("blue") && row.contains('4'),
            "{table}"
        );
        let by_category = k.ok(&["get", "gadgets", "-o", "name"]).await;
        assert_eq!(by_category.trim(), "widget.example.sim.dev/w1");

        // `kubectl delete` waits while the finalizer is present.
        let k2 = Kubectl {
            dir: tempfile::tempdir().unwrap(),
        };
        sim.write_kubeconfig(&k2.dir.path().join("kubeconfig"))
            .unwrap();
        let deleting =
            tokio::spawn(async move { k2.run(&["delete", "widget", "w1", "--timeout=20s"]).await });
        let s2 = sim.clone();
        eventually("deletionTimestamp", move || {
            s2.get_object("example.sim.dev/v1", "widgets", Some("default"), "w1")
                .is_some_and(|o| o["metadata"]["deletionTimestamp"].is_string())
        })
        .await;
        // kubectl has sent the DELETE and is waiting for w1 to go (a request for w1 after it).
        let s3 = sim.clone();
        eventually("kubectl waiting for w1 to go", move || {
            let reqs = s3.requests();
            let is_w1 = |r: &&sim::kube::RequestRecord| {
                r.resource == "widgets"
                    && (r.name.as_deref() == Some("w1") || r.query.contains("w1"))
            };
            reqs.iter()
                .position(|r| r.verb == "delete" && is_w1(&r))
                .is_some_and(|i| {
                    reqs[i + 1..]
                        .iter()
                        .filter(is_w1)
                        .any(|r| r.verb != "delete")
                })
        })
        .await;
        assert!(
            !deleting.is_finished(),
            "kubectl delete returned while the finalizer was present"
        );
        let c = client(&sim);
        let patch = json!([{"op": "remove", "path": "/metadata/finalizers"}]);
        widgets(&c, "default")
            .patch(
                "w1",
                &Default::default(),
                &kube::api::Patch::Json::<()>(serde_json::from_value(patch).unwrap()),
            )
            .await
            .unwrap();
        let (ok, out, err) = deleting.await.unwrap();
        assert!(ok, "{out}\n{err}");
        assert!(
            out.contains("widget.example.sim.dev \"w1\" deleted"),
            "{out}"
        );
        let (ok, _, err) = k.run(&["get", "wd", "w1"]).await;
        assert!(!ok && err.contains("NotFound"), "{err}");
        let reqs = sim.requests();
        assert!(
            reqs.iter()
                .any(|r| r.verb == "create" && r.query.contains("fieldValidation=Strict")),
            "kubectl relies on server-side field validation"
        );
        assert!(reqs.iter().all(|r| r.status < 500), "no server errors");
        assert!(
            reqs.iter()
                .any(|r| r.path == "/apis" && r.accept.contains("apidiscovery.k8s.io")),
            "kubectl asked for aggregated discovery"
        );
    }
}

mod objects {
    use super::*;
    use kube::ResourceExt;
    use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};

    #[tokio::test]
    async fn crd_becomes_established_and_its_resources_are_served() {
        let (sim, c) = start().await;
        let before = get_json(&sim, &ns_path("default")).await;
        assert_status(&before, 404, "NotFound");
        let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
            kube::Api::all(c.clone());
        let created = crds
            .create(
                &PostParams::default(),
                &serde_json::from_value(widget_crd()).unwrap(),
            )
            .await
            .unwrap();
        let status = created.status.unwrap();
        let conds = status.conditions.unwrap();
        for ty in ["NamesAccepted", "Established"] {
            assert!(
                conds.iter().any(|c| c.type_ == ty && c.status == "True"),
                "{ty}: {conds:?}"
            );
        }
        assert_eq!(status.accepted_names.unwrap().plural, "widgets");
        assert_eq!(status.stored_versions, Some(vec!["v1".to_string()]));
        let w = widgets(&c, "default")
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        assert_eq!(w.data["spec"]["color"], "red");
        assert_eq!(
            widgets(&c, "default")
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .len(),
            1
        );
        // All-namespaces list.
        let all: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(c.clone(), &widget_resource());
        assert_eq!(
            all.list(&ListParams::default()).await.unwrap().items.len(),
            1
        );
    }

    #[tokio::test]
    async fn metadata_uid_resource_version_generation_and_timestamps() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let a = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let b = api
            .create(&PostParams::default(), &widget("b", "red"))
            .await
            .unwrap();
        let rv =
            |o: &kube::api::DynamicObject| o.resource_version().unwrap().parse::<u64>().unwrap();
        assert!(rv(&b) > rv(&a), "one global, increasing resourceVersion");
        assert_eq!(a.metadata.generation, Some(1));
        assert!(a.metadata.uid.as_deref().is_some_and(|u| u.len() == 36));
        assert!(a.metadata.creation_timestamp.is_some());
        assert_eq!(a.data["spec"]["replicas"].as_i64().unwrap_or(1), 1);
        let pp = PatchParams::default();
        let spec = api
            .patch("a", &pp, &Patch::Merge(json!({"spec": {"color": "blue"}})))
            .await
            .unwrap();
        assert_eq!(
            spec.metadata.generation,
            Some(2),
            "spec change bumps generation"
        );
        assert!(rv(&spec) > rv(&b));
        let labels = api
            .patch(
                "a",
                &pp,
                &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
            )
            .await
            .unwrap();
        assert_eq!(
            labels.metadata.generation,
            Some(2),
            "metadata change does not"
        );
        let status = api
            .patch_status("a", &pp, &Patch::Merge(json!({"status": {"phase": "Up"}})))
            .await
            .unwrap();
        assert_eq!(
            status.metadata.generation,
            Some(2),
            "status change does not"
        );
        assert_eq!(status.data["status"]["phase"], "Up");
        // A no-op write keeps the resourceVersion.
        let same = api
            .patch("a", &pp, &Patch::Merge(json!({"spec": {"color": "blue"}})))
            .await
            .unwrap();
        assert_eq!(same.resource_version(), status.resource_version());
    }

    #[tokio::test]
    async fn generate_name_creates_unique_names() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let mut w = widget("", "red");
        w.metadata.name = None;
        w.metadata.generate_name = Some("gen-".into());
        let a = api.create(&PostParams::default(), &w).await.unwrap();
        let b = api.create(&PostParams::default(), &w).await.unwrap();
        assert!(
            a.name_any().starts_with("gen-") && a.name_any().len() == 9,
            "{}",
            a.name_any()
        );
        assert_ne!(a.name_any(), b.name_any());
        w.metadata.generate_name = None;
        let err = api_err(api.create(&PostParams::default(), &w).await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(
            err.message.contains("name or generateName is required"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn stale_writes_get_409_conflict() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let first = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let mut second = first.clone();
        second.data["spec"]["color"] = json!("green");
        api.replace("a", &PostParams::default(), &second)
            .await
            .unwrap();
        let mut stale = first.clone();
        stale.data["spec"]["color"] = json!("blue");
        let err = api_err(
            api.replace("a", &PostParams::default(), &stale)
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on widgets.example.sim.dev \"a\": the object has been modified; please apply your changes to the latest version and try again"
        );
        let patch = json!({"metadata": {"resourceVersion": first.resource_version()}, "spec": {"color": "blue"}});
        let err = api_err(
            api.patch("a", &PatchParams::default(), &Patch::Merge(patch))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 409);
        assert_eq!(api.get("a").await.unwrap().data["spec"]["color"], "green");
        // Custom resources allow no unconditional update: without a resourceVersion the PUT is
        // refused (the apiserver's 422), and nothing changes.
        let mut unconditional = stale.clone();
        unconditional.metadata.resource_version = None;
        let err = api_err(
            api.replace("a", &PostParams::default(), &unconditional)
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert_eq!(
            err.message,
            "Widget.example.sim.dev \"a\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
        );
        assert_eq!(api.get("a").await.unwrap().data["spec"]["color"], "green");
        // The status subresource too.
        let err = api_err(
            api.replace_status("a", &PostParams::default(), &unconditional)
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 422, "{}", err.message);
    }

    #[tokio::test]
    async fn built_in_kinds_allow_unconditional_updates() {
        let (_sim, c) = with_crd().await;
        use k8s_openapi::api::core::v1::ConfigMap;
        let api: kube::Api<ConfigMap> = kube::Api::namespaced(c.clone(), "default");
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "cm"}, "data": {"a": "1"}}))
                .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
        let mut update = cm.clone();
        update.data = Some([("a".to_string(), "2".to_string())].into());
        let put = api
            .replace("cm", &PostParams::default(), &update)
            .await
            .unwrap();
        assert_eq!(put.data.unwrap()["a"], "2");
    }

    #[tokio::test]
    async fn create_twice_is_409_already_exists_and_missing_is_404_with_status_details() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let err = api_err(
            api.create(&PostParams::default(), &widget("a", "red"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
        assert_eq!(err.message, "widgets.example.sim.dev \"a\" already exists");
        let r = get_json(&sim, &format!("{}/nope", ns_path("default"))).await;
        let v = assert_status(&r, 404, "NotFound");
        assert_eq!(v["message"], "widgets.example.sim.dev \"nope\" not found");
        assert_eq!(
            v["details"],
            json!({"name": "nope", "group": "example.sim.dev", "kind": "widgets"})
        );
        let err = api_err(
            api.delete("nope", &DeleteParams::default())
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 404);
    }

    #[tokio::test]
    async fn namespaced_objects_need_an_existing_namespace() {
        let (_sim, c) = with_crd().await;
        let err = api_err(
            widgets(&c, "nowhere")
                .create(&PostParams::default(), &widget("a", "red"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
        assert_eq!(err.message, "namespaces \"nowhere\" not found");
        let nss: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(c.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "nowhere"}})).unwrap(),
        )
        .await
        .unwrap();
        widgets(&c, "nowhere")
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let ns = nss.get("nowhere").await.unwrap();
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Active"));
        assert_eq!(
            ns.metadata.labels.unwrap()["kubernetes.io/metadata.name"],
            "nowhere"
        );
    }

    #[tokio::test]
    async fn failed_json_patch_test_is_422_and_changes_nothing() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let before = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let patch: json_patch::Patch = serde_json::from_value(json!([
            {"op": "replace", "path": "/spec/color", "value": "blue"},
            {"op": "test", "path": "/spec/color", "value": "red"}
        ]))
        .unwrap();
        let err = api_err(
            api.patch("a", &PatchParams::default(), &Patch::Json::<()>(patch))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        let after = api.get("a").await.unwrap();
        assert_eq!(after.data["spec"]["color"], "red");
        assert_eq!(after.resource_version(), before.resource_version());
        let ok: json_patch::Patch = serde_json::from_value(json!([
            {"op": "test", "path": "/spec/color", "value": "red"},
            {"op": "replace", "path": "/spec/color", "value": "green"}
        ]))
        .unwrap();
        let after = api
            .patch("a", &PatchParams::default(), &Patch::Json::<()>(ok))
            .await
            .unwrap();
        assert_eq!(after.data["spec"]["color"], "green");
    }

    #[tokio::test]
    async fn status_subresource_splits_writes() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let mut w = widget("a", "red");
        w.data["status"] = json!({"phase": "Ignored"});
        let created = api.create(&PostParams::default(), &w).await.unwrap();
        assert!(
            created.data.get("status").is_none(),
            "create ignores status"
        );
        let mut main = created.clone();
        main.data["status"] = json!({"phase": "ViaMain"});
        main.data["spec"]["color"] = json!("blue");
        let after_main = api
            .replace("a", &PostParams::default(), &main)
            .await
            .unwrap();
        assert!(
            after_main.data.get("status").is_none(),
            "main resource ignores status"
        );
        assert_eq!(after_main.data["spec"]["color"], "blue");
        let mut via_status = after_main.clone();
        via_status.data["status"] = json!({"phase": "Up"});
        via_status.data["spec"]["color"] = json!("green");
        let after_status = api
            .replace_status("a", &PostParams::default(), &via_status)
            .await
            .unwrap();
        assert_eq!(after_status.data["status"]["phase"], "Up");
        assert_eq!(
            after_status.data["spec"]["color"], "blue",
            "/status ignores spec"
        );
        assert_eq!(
            after_status.metadata.generation,
            after_main.metadata.generation
        );
    }

    #[tokio::test]
    async fn strategic_merge_patch_is_415_on_custom_resources_but_works_on_built_ins() {
        let (_sim, c) = with_crd().await;
        widgets(&c, "default")
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let err = api_err(
            widgets(&c, "default")
                .patch(
                    "a",
                    &PatchParams::default(),
                    &Patch::Strategic(json!({"spec": {"color": "blue"}})),
                )
                .await
                .unwrap_err(),
        );
        assert_eq!(
            (err.code, err.reason.as_str()),
            (415, "UnsupportedMediaType")
        );
        let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
            kube::Api::default_namespaced(c.clone());
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": "cm"}, "data": {"a": "1", "b": "2"}}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
        let cm = cms
            .patch(
                "cm",
                &PatchParams::default(),
                &Patch::Strategic(json!({"data": {"a": null, "c": "3"}})),
            )
            .await
            .unwrap();
        assert_eq!(
            cm.data.unwrap().into_iter().collect::<Vec<_>>(),
            vec![("b".into(), "2".into()), ("c".into(), "3".into())]
        );
    }

    #[tokio::test]
    async fn cluster_scoped_crds_and_crd_deletion_removes_objects() {
        let (sim, c) = start().await;
        let mut crd = widget_crd();
        crd["spec"]["scope"] = json!("Cluster");
        sim.create_object(crd).unwrap();
        let api: kube::Api<kube::api::DynamicObject> =
            kube::Api::all_with(c.clone(), &widget_resource());
        let w = api
            .create(&PostParams::default(), &widget("global", "red"))
            .await
            .unwrap();
        assert!(w.metadata.namespace.is_none());
        let r = get_json(&sim, &ns_path("default")).await;
        assert_eq!(
            r.status, 404,
            "cluster-scoped kinds have no namespaced path"
        );
        let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
            kube::Api::all(c.clone());
        crds.delete("widgets.example.sim.dev", &DeleteParams::default())
            .await
            .unwrap();
        assert!(
            crds.get_opt("widgets.example.sim.dev")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            sim.list_objects("example.sim.dev/v1", "widgets", None)
                .is_empty()
        );
        assert_eq!(
            get_json(&sim, "/apis/example.sim.dev/v1/widgets")
                .await
                .status,
            404
        );
    }
}

mod finalizers {
    use super::*;
    use futures::{StreamExt, TryStreamExt};
    use kube::ResourceExt;
    use kube::api::{
        DeleteParams, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
    };
    use kube::runtime::controller::Action;
    use kube::runtime::finalizer::{Event as Fin, finalizer};
    use std::sync::Arc;

    const FIN: &str = "example.sim.dev/cleanup";

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    #[tokio::test]
    async fn kube_runtime_finalizer_adds_then_releases_its_finalizer() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let watch_from = api.get("a").await.unwrap().resource_version().unwrap();
        let mut events = api
            .watch(&WatchParams::default(), &watch_from)
            .await
            .unwrap()
            .boxed();

        // First pass: the helper only adds its finalizer (JSON Patch with `test`).
        let obj = Arc::new(api.get("a").await.unwrap());
        finalizer(&api, FIN, obj, |_| async {
            Ok::<_, Never>(Action::await_change())
        })
        .await
        .unwrap();
        assert_eq!(api.get("a").await.unwrap().finalizers(), [FIN.to_string()]);
        let patch = sim
            .requests()
            .into_iter()
            .rfind(|r| r.verb == "patch")
            .unwrap();
        assert_eq!(patch.content_type, "application/json-patch+json");

        // Second pass: Apply.
        let obj = Arc::new(api.get("a").await.unwrap());
        let mut saw_apply = false;
        finalizer(&api, FIN, obj, |ev| {
            saw_apply = matches!(ev, Fin::Apply(_));
            async { Ok::<_, Never>(Action::await_change()) }
        })
        .await
        .unwrap();
        assert!(saw_apply);

        // Delete: the object stays, with a deletionTimestamp, until the helper runs Cleanup.
        api.delete("a", &DeleteParams::default()).await.unwrap();
        let deleting = api.get("a").await.unwrap();
        assert!(deleting.metadata.deletion_timestamp.is_some());
        let obj = Arc::new(deleting);
        let mut saw_cleanup = false;
        finalizer(&api, FIN, obj, |ev| {
            saw_cleanup = matches!(ev, Fin::Cleanup(_));
            async { Ok::<_, Never>(Action::await_change()) }
        })
        .await
        .unwrap();
        assert!(saw_cleanup);
        assert!(api.get_opt("a").await.unwrap().is_none());

        let mut kinds = Vec::new();
        while let Some(ev) = events.try_next().await.unwrap() {
            match ev {
                WatchEvent::Modified(o) => kinds.push(format!(
                    "MODIFIED:{}",
                    o.metadata.deletion_timestamp.is_some()
                )),
                WatchEvent::Deleted(_) => {
                    kinds.push("DELETED".into());
                    break;
                }
                other => kinds.push(format!("{other:?}")),
            }
        }
        assert_eq!(kinds, ["MODIFIED:false", "MODIFIED:true", "DELETED"]);
    }

    #[tokio::test]
    async fn finalizer_test_patch_fails_when_someone_else_changed_finalizers() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let stale = Arc::new(api.get("a").await.unwrap());
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["other.dev/x"]}})),
        )
        .await
        .unwrap();
        let err = finalizer(&api, FIN, stale, |_| async {
            Ok::<_, Never>(Action::await_change())
        })
        .await
        .unwrap_err();
        assert!(format!("{err:?}").contains("422"), "{err:?}");
        assert_eq!(
            api.get("a").await.unwrap().finalizers(),
            ["other.dev/x".to_string()]
        );
    }

    #[tokio::test]
    async fn no_new_finalizers_once_deletion_started() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let mut w = widget("a", "red");
        w.metadata.finalizers = Some(vec!["example.sim.dev/one".into()]);
        api.create(&PostParams::default(), &w).await.unwrap();
        let deleted = api.delete("a", &DeleteParams::default()).await.unwrap();
        let kept = deleted
            .left()
            .expect("object is returned while finalizers remain");
        assert!(kept.metadata.deletion_timestamp.is_some());
        assert_eq!(kept.metadata.deletion_grace_period_seconds, Some(0));
        assert_eq!(
            kept.metadata.generation,
            Some(2),
            "deletion bumps generation"
        );
        let add = Patch::Merge(
            json!({"metadata": {"finalizers": ["example.sim.dev/one", "example.sim.dev/two"]}}),
        );
        let err = api_err(
            api.patch("a", &PatchParams::default(), &add)
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        let cause = &err.details.unwrap().causes[0];
        assert_eq!(cause.field, "metadata.finalizers");
        assert_eq!(cause.reason, "FieldValueForbidden");
        assert!(
            cause
                .message
                .contains("no new finalizers can be added if the object is being deleted"),
            "{}",
            cause.message
        );
        // Deleting again changes nothing; removing the last finalizer deletes.
        let rv = api.get("a").await.unwrap().resource_version();
        api.delete("a", &DeleteParams::default()).await.unwrap();
        assert_eq!(api.get("a").await.unwrap().resource_version(), rv);
        let out: DynamicObject = api
            .patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await
            .unwrap();
        assert!(out.finalizers().is_empty());
        assert!(api.get_opt("a").await.unwrap().is_none());
        // Without finalizers, delete is immediate and answers a Success Status.
        api.create(&PostParams::default(), &widget("b", "red"))
            .await
            .unwrap();
        let status = api
            .delete("b", &DeleteParams::default())
            .await
            .unwrap()
            .right()
            .expect("Status");
        assert_eq!(status.details.unwrap().name, "b");
    }
}

mod apply {
    use super::*;
    use kube::ResourceExt;
    use kube::api::{DynamicObject, Patch, PatchParams, PostParams};

    fn cfg(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
    }

    #[tokio::test]
    async fn apply_creates_tracks_owners_conflicts_and_removes_dropped_fields() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let alice = PatchParams::apply("alice");
        let created: DynamicObject = api
            .patch(
                "w",
                &alice,
                &Patch::Apply(cfg(
                    "w",
                    json!({"color": "red", "size": "s", "labels": {"a": "1"}}),
                )),
            )
            .await
            .unwrap();
        assert_eq!(created.metadata.generation, Some(1));
        let last = sim
            .requests()
            .into_iter()
            .rfind(|r| r.verb == "patch")
            .unwrap();
        assert_eq!(
            (last.status, last.content_type.as_str()),
            (201, "application/apply-patch+yaml")
        );
        let mf = created.metadata.managed_fields.clone().unwrap();
        assert_eq!(mf.len(), 1);
        assert_eq!(
            (mf[0].manager.as_deref(), mf[0].operation.as_deref()),
            (Some("alice"), Some("Apply"))
        );
        assert!(mf[0].fields_v1.as_ref().unwrap().0["f:spec"]["f:color"].is_object());

        // Same value from another manager: shared ownership, no conflict.
        let bob = PatchParams::apply("bob");
        api.patch("w", &bob, &Patch::Apply(cfg("w", json!({"color": "red"}))))
            .await
            .unwrap();
        // A different value conflicts with both owners.
        let err = api_err(
            api.patch("w", &bob, &Patch::Apply(cfg("w", json!({"color": "blue"}))))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert!(
            err.message
                .starts_with("Apply failed with 1 conflict: conflict with \"alice\""),
            "{}",
            err.message
        );
        assert!(err.message.contains(".spec.color"), "{}", err.message);
        let forced: DynamicObject = api
            .patch(
                "w",
                &bob.clone().force(),
                &Patch::Apply(cfg("w", json!({"color": "blue"}))),
            )
            .await
            .unwrap();
        assert_eq!(forced.data["spec"]["color"], "blue");
        let alice_fields = forced
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .find(|m| m.manager.as_deref() == Some("alice"))
            .unwrap();
        assert!(
            alice_fields.fields_v1.unwrap().0["f:spec"]
                .get("f:color")
                .is_none(),
            "force takes ownership"
        );

        // Alice stops applying `size` and one label: both are removed; bob's color stays.
        let after: DynamicObject = api
            .patch("w", &alice, &Patch::Apply(cfg("w", json!({"labels": {}}))))
            .await
            .unwrap();
        assert!(after.data["spec"].get("size").is_none(), "{}", after.data);
        assert_eq!(after.data["spec"]["color"], "blue");

        // Updates by other means take ownership without conflicts.
        let upd: DynamicObject = api
            .patch(
                "w",
                &PatchParams {
                    field_manager: Some("editor".into()),
                    ..Default::default()
                },
                &Patch::Merge(json!({"spec": {"color": "green"}})),
            )
            .await
            .unwrap();
        let editor = upd
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .find(|m| m.manager.as_deref() == Some("editor"))
            .unwrap();
        assert_eq!(editor.operation.as_deref(), Some("Update"));
        let err = api_err(
            api.patch("w", &bob, &Patch::Apply(cfg("w", json!({"color": "blue"}))))
                .await
                .unwrap_err(),
        );
        assert!(
            err.message.contains("conflict with \"editor\""),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn apply_needs_a_field_manager_and_accepts_yaml() {
        let (sim, _c) = with_crd().await;
        let path = format!("{}/y", ns_path("default"));
        let yaml = "apiVersion: example.sim.dev/v1\nkind: Widget\nmetadata:\n  name: y\nspec:\n  color: green\n";
        let r = raw(
            &sim,
            "PATCH",
            &path,
            &[("Content-Type", "application/apply-patch+yaml")],
            yaml.as_bytes(),
        )
        .await;
        let v = assert_status(&r, 422, "Invalid");
        assert!(
            v["message"].as_str().unwrap().contains("fieldManager"),
            "{v}"
        );
        let r = raw(
            &sim,
            "PATCH",
            &format!("{path}?fieldManager=me"),
            &[("Content-Type", "application/apply-patch+yaml")],
            yaml.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["spec"]["color"], "green");
    }

    #[tokio::test]
    async fn patch_status_with_apply_and_force_keeps_spec_and_generation() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let w = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let status = json!({
            "apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "spec": {"color": "blue"},
            "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "True"}]}
        });
        let pp = PatchParams::apply("operator").force();
        let out = api
            .patch_status("a", &pp, &Patch::Apply(&status))
            .await
            .unwrap();
        assert_eq!(out.data["status"]["phase"], "Ready");
        assert_eq!(
            out.data["spec"]["color"], "red",
            "spec is not written through /status"
        );
        assert_eq!(out.metadata.generation, w.metadata.generation);
        let entry = out
            .metadata
            .managed_fields
            .unwrap()
            .into_iter()
            .find(|m| m.manager.as_deref() == Some("operator"))
            .unwrap();
        assert_eq!(entry.subresource.as_deref(), Some("status"));
        // Conditions are a list-map: another manager's condition is kept, ours is merged by key.
        let other = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "status": {"conditions": [{"type": "Synced", "status": "False"}]}});
        api.patch_status("a", &PatchParams::apply("other"), &Patch::Apply(&other))
            .await
            .unwrap();
        let mine = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "status": {"phase": "Ready", "conditions": [{"type": "Ready", "status": "False"}]}});
        let out = api
            .patch_status("a", &pp, &Patch::Apply(&mine))
            .await
            .unwrap();
        let conds = out.data["status"]["conditions"].as_array().unwrap().clone();
        assert_eq!(conds.len(), 2, "{conds:?}");
        assert!(conds.contains(&json!({"type": "Ready", "status": "False"})));
        assert_eq!(out.metadata.generation, w.metadata.generation);
        // Dropping a field this manager owned removes it.
        let less = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget", "status": {"phase": "Ready"}});
        let out = api
            .patch_status("a", &pp, &Patch::Apply(&less))
            .await
            .unwrap();
        assert_eq!(
            out.data["status"]["conditions"],
            json!([{"type": "Synced", "status": "False"}])
        );
        assert_eq!(out.name_any(), "a");
    }
}

mod watching {
    use super::*;
    use futures::{StreamExt, TryStreamExt};
    use kube::ResourceExt;
    use kube::api::{
        DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
    };
    use kube::runtime::watcher::{self, Event};

    #[tokio::test]
    async fn watch_resumes_strictly_after_the_resource_version_in_order() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let a = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        api.create(&PostParams::default(), &widget("b", "red"))
            .await
            .unwrap();
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "blue"}})),
        )
        .await
        .unwrap();
        let path = format!(
            "{}?watch=true&resourceVersion={}&timeoutSeconds=1",
            ns_path("default"),
            a.resource_version().unwrap()
        );
        let events = get_json(&sim, &path).await.events();
        let seen: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                (
                    e["type"].as_str().unwrap().to_string(),
                    e["object"]["metadata"]["name"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("ADDED".to_string(), "b".to_string()),
                ("MODIFIED".into(), "a".into())
            ]
        );
        let rvs: Vec<u64> = events
            .iter()
            .map(|e| {
                e["object"]["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(rvs.windows(2).all(|w| w[0] < w[1]));
        // No resourceVersion: synthetic ADDED for the current state first.
        let events = get_json(
            &sim,
            &format!("{}?watch=1&timeoutSeconds=1", ns_path("default")),
        )
        .await
        .events();
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e["type"] == "ADDED"));
    }

    #[tokio::test]
    async fn live_watch_bookmarks_and_timeout() {
        let (sim, c) = with_crd().await;
        sim.set_bookmark_interval(Duration::from_millis(200));
        let api = widgets(&c, "default");
        let rv = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        let wp = WatchParams::default().timeout(1);
        let stream = api.watch(&wp, &rv).await.unwrap();
        let creator = {
            let api = api.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                api.create(&PostParams::default(), &widget("live", "red"))
                    .await
                    .unwrap();
            })
        };
        let started = std::time::Instant::now();
        let events: Vec<WatchEvent<DynamicObject>> = stream.try_collect().await.unwrap();
        creator.await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "timeoutSeconds is honoured"
        );
        assert!(
            matches!(&events[0], WatchEvent::Added(o) if o.name_any() == "live"),
            "{events:?}"
        );
        let bookmarks: Vec<&WatchEvent<DynamicObject>> = events
            .iter()
            .filter(|e| matches!(e, WatchEvent::Bookmark(_)))
            .collect();
        assert!(
            bookmarks.len() >= 2,
            "periodic bookmarks and one at the end: {events:?}"
        );
        let WatchEvent::Bookmark(b) = events.last().unwrap() else {
            panic!("ends with a bookmark: {events:?}")
        };
        let latest = api.get("live").await.unwrap().resource_version().unwrap();
        assert_eq!(b.metadata.resource_version, latest);
    }

    #[tokio::test]
    async fn selectors_filter_watches_and_transitions_become_added_or_deleted() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let rv = sim.resource_version().to_string();
        let mut w = widget("a", "red");
        w.metadata.labels = Some([("tier".to_string(), "web".to_string())].into());
        api.create(&PostParams::default(), &w).await.unwrap();
        api.create(&PostParams::default(), &widget("b", "red"))
            .await
            .unwrap();
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "db"}}})),
        )
        .await
        .unwrap();
        api.patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "web"}}})),
        )
        .await
        .unwrap();
        let path = format!(
            "{}?watch=true&resourceVersion={rv}&timeoutSeconds=1&labelSelector=tier%3Dweb",
            ns_path("default")
        );
        let seen: Vec<String> = get_json(&sim, &path)
            .await
            .events()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["type"].as_str().unwrap(),
                    e["object"]["metadata"]["name"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(seen, ["ADDED a", "DELETED a", "ADDED b"]);
        let path = format!(
            "{}?watch=true&resourceVersion={rv}&timeoutSeconds=1&fieldSelector=metadata.name%3Db",
            ns_path("default")
        );
        let events = get_json(&sim, &path).await.events();
        assert!(
            events
                .iter()
                .all(|e| e["object"]["metadata"]["name"] == "b")
                && events.len() == 2
        );
        let path = format!(
            "{}?watch=true&timeoutSeconds=1&labelSelector=tier%20in%20(db,cache)",
            ns_path("default")
        );
        let events = get_json(&sim, &path).await.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["object"]["metadata"]["name"], "a");
        // A watch in another namespace sees nothing.
        let events = get_json(
            &sim,
            &format!(
                "{}?watch=true&resourceVersion={rv}&timeoutSeconds=1",
                ns_path("kube-system")
            ),
        )
        .await
        .events();
        assert!(events.is_empty());
    }

    #[tokio::test]
    async fn too_old_resource_version_is_410_gone() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let a = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        api.create(&PostParams::default(), &widget("b", "red"))
            .await
            .unwrap();
        sim.compact();
        let path = format!(
            "{}?watch=true&resourceVersion={}&timeoutSeconds=1",
            ns_path("default"),
            a.resource_version().unwrap()
        );
        let events = get_json(&sim, &path).await.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["type"], "ERROR");
        assert_eq!(events[0]["object"]["kind"], "Status");
        assert_eq!(events[0]["object"]["code"], 410);
        assert_eq!(events[0]["object"]["reason"], "Expired");
        assert!(
            events[0]["object"]["message"]
                .as_str()
                .unwrap()
                .starts_with("too old resource version")
        );
        // The bounded window expires history too.
        let (sim, c) = with_crd().await;
        sim.set_event_window(2);
        let api = widgets(&c, "default");
        let first = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        for n in ["b", "c", "d"] {
            api.create(&PostParams::default(), &widget(n, "red"))
                .await
                .unwrap();
        }
        let path = format!(
            "{}?watch=true&resourceVersion={}&timeoutSeconds=1",
            ns_path("default"),
            first.resource_version().unwrap()
        );
        assert_eq!(
            get_json(&sim, &path).await.events()[0]["object"]["code"],
            410
        );
    }

    fn names(events: &[Event<DynamicObject>]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Init => "Init".to_string(),
                Event::InitApply(o) => format!("InitApply {}", o.name_any()),
                Event::InitDone => "InitDone".to_string(),
                Event::Apply(o) => format!("Apply {}", o.name_any()),
                Event::Delete(o) => format!("Delete {}", o.name_any()),
            })
            .collect()
    }

    async fn next_n(
        stream: &mut (impl futures::Stream<Item = Result<Event<DynamicObject>, watcher::Error>> + Unpin),
        n: usize,
    ) -> Vec<Event<DynamicObject>> {
        let mut out = Vec::new();
        while out.len() < n {
            let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("watcher event in time");
            // Errors are skipped: the watcher retries by itself.
            if let Ok(e) = ev.expect("stream continues") {
                out.push(e);
            }
        }
        out
    }

    #[tokio::test]
    async fn kube_runtime_watcher_resumes_after_a_dropped_watch_and_relists_after_410() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let labelled = |name: &str, app: &str| {
            let mut w = widget(name, "red");
            w.metadata.labels = Some([("app".to_string(), app.to_string())].into());
            w
        };
        api.create(&PostParams::default(), &labelled("a", "w"))
            .await
            .unwrap();
        let mut stream =
            watcher::watcher(api.clone(), watcher::Config::default().labels("app=w")).boxed();
        assert_eq!(
            names(&next_n(&mut stream, 3).await),
            ["Init", "InitApply a", "InitDone"]
        );

        // A dropped connection: the watcher resumes from its resourceVersion, no re-list.
        sim.drop_watches();
        api.create(&PostParams::default(), &labelled("b", "w"))
            .await
            .unwrap();
        assert_eq!(names(&next_n(&mut stream, 1).await), ["Apply b"]);
        let watches: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.verb == "watch")
            .collect();
        assert!(
            watches.last().unwrap().query.contains("resourceVersion="),
            "resumed from a resourceVersion"
        );
        assert_eq!(
            sim.requests().iter().filter(|r| r.verb == "list").count(),
            1,
            "no re-list"
        );

        // Writes the watcher does not see move the resourceVersion on; then history is
        // forgotten, so resuming from the watcher's resourceVersion answers 410 and it re-lists.
        api.create(&PostParams::default(), &labelled("other", "x"))
            .await
            .unwrap();
        sim.compact();
        sim.drop_watches();
        let got = names(&next_n(&mut stream, 4).await);
        assert_eq!(got, ["Init", "InitApply a", "InitApply b", "InitDone"]);
        assert_eq!(
            sim.requests().iter().filter(|r| r.verb == "list").count(),
            2,
            "re-listed once"
        );
    }

    #[tokio::test]
    async fn streaming_list_watch_sends_initial_events_then_a_marked_bookmark() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let mut stream =
            watcher::watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
        assert_eq!(
            names(&next_n(&mut stream, 3).await),
            ["Init", "InitApply a", "InitDone"]
        );
        assert!(
            sim.requests().iter().all(|r| r.verb != "list"),
            "no list call with streaming lists"
        );
    }
}

mod lists {
    use super::*;
    use kube::ResourceExt;
    use kube::api::{ListParams, PostParams};

    #[tokio::test]
    async fn limit_and_continue_paginate_at_one_resource_version() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        for i in 0..7 {
            api.create(&PostParams::default(), &widget(&format!("w{i}"), "red"))
                .await
                .unwrap();
        }
        let first = api.list(&ListParams::default().limit(3)).await.unwrap();
        assert_eq!(first.items.len(), 3);
        assert_eq!(first.metadata.remaining_item_count, Some(4));
        let rv = first.metadata.resource_version.clone().unwrap();
        let token = first.metadata.continue_.clone().unwrap();
        api.create(&PostParams::default(), &widget("zz-late", "red"))
            .await
            .unwrap();
        let second = api
            .list(&ListParams::default().limit(3).continue_token(&token))
            .await
            .unwrap();
        assert_eq!(
            second.metadata.resource_version.as_deref(),
            Some(rv.as_str())
        );
        let third = api
            .list(
                &ListParams::default()
                    .limit(3)
                    .continue_token(&second.metadata.continue_.unwrap()),
            )
            .await
            .unwrap();
        let all: Vec<String> = first
            .items
            .iter()
            .chain(&second.items)
            .chain(&third.items)
            .map(|o| o.name_any())
            .collect();
        assert_eq!(&all[..7], ["w0", "w1", "w2", "w3", "w4", "w5", "w6"]);
        // A token older than the retained history is 410 Expired.
        sim.compact();
        api.create(&PostParams::default(), &widget("zzz", "red"))
            .await
            .unwrap();
        sim.compact();
        let err = api_err(
            api.list(&ListParams::default().limit(3).continue_token(&token))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
        // Built-in typed lists omit apiVersion/kind on items, custom ones carry them.
        let r = get_json(&sim, &ns_path("default")).await.json();
        assert_eq!(r["kind"], "WidgetList");
        assert_eq!(r["items"][0]["kind"], "Widget");
        let r = get_json(&sim, "/api/v1/namespaces").await.json();
        assert_eq!(r["kind"], "NamespaceList");
        assert!(r["items"][0].get("kind").is_none());
    }

    #[tokio::test]
    async fn label_and_field_selectors() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
            let mut w = widget(name, "red");
            w.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
            api.create(&PostParams::default(), &w).await.unwrap();
        }
        let names = |l: kube::api::ObjectList<kube::api::DynamicObject>| {
            l.items.iter().map(|o| o.name_any()).collect::<Vec<_>>()
        };
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier=web"))
                    .await
                    .unwrap()
            ),
            ["a", "c"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier!=web"))
                    .await
                    .unwrap()
            ),
            ["b"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("tier notin (web),tier"))
                    .await
                    .unwrap()
            ),
            ["b"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().labels("!tier"))
                    .await
                    .unwrap()
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().fields("metadata.name=c"))
                    .await
                    .unwrap()
            ),
            ["c"]
        );
        assert_eq!(
            names(
                api.list(&ListParams::default().fields("metadata.namespace!=default"))
                    .await
                    .unwrap()
            ),
            Vec::<String>::new()
        );
        let err = api_err(
            api.list(&ListParams::default().fields("spec.color=red"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
        assert!(
            err.message
                .contains("field label not supported: spec.color"),
            "{}",
            err.message
        );
        let r = get_json(
            &sim,
            &format!("{}?labelSelector=a%20b%20c", ns_path("default")),
        )
        .await;
        assert_status(&r, 400, "BadRequest");
    }
}

mod printing_discovery_openapi {
    use super::*;
    use kube::api::{Patch, PatchParams, PostParams};

    const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

    #[tokio::test]
    async fn tables_carry_printer_columns_for_list_get_and_built_ins() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "green"))
            .await
            .unwrap();
        let status = json!({"status": {"conditions": [{"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]}});
        api.patch_status("a", &PatchParams::default(), &Patch::Merge(status))
            .await
            .unwrap();
        let r = raw(&sim, "GET", &ns_path("default"), &[("Accept", TABLE)], b"").await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap().contains("as=Table"));
        let t = r.json();
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        let cols: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, ["Name", "Color", "Replicas", "Ready", "Age"]);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "a");
        assert_eq!(cells[1], "green");
        assert_eq!(
            cells[2], 1,
            "defaulted integer column (needs schema defaulting)"
        );
        assert_eq!(cells[3], "False");
        assert!(
            cells[4].as_str().unwrap().ends_with('s'),
            "relative age: {cells}"
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        let one = raw(
            &sim,
            "GET",
            &format!("{}/a?includeObject=Object", ns_path("default")),
            &[("Accept", TABLE)],
            b"",
        )
        .await
        .json();
        assert_eq!(one["rows"].as_array().unwrap().len(), 1);
        assert_eq!(one["rows"][0]["object"]["spec"]["color"], "green");
        let ns = raw(&sim, "GET", "/api/v1/namespaces", &[("Accept", TABLE)], b"")
            .await
            .json();
        let cols: Vec<&str> = ns["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, ["Name", "Status", "Age"]);
        assert!(
            ns["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["cells"][0] == "default" && r["cells"][1] == "Active")
        );
        // Protobuf first, JSON as the fallback: a Namespace is answered in protobuf
        // (sim/tests/kube_protobuf.rs decodes it), a custom resource in JSON.
        let pb = raw(
            &sim,
            "GET",
            "/api/v1/namespaces/default",
            &[(
                "Accept",
                "application/vnd.kubernetes.protobuf,application/json",
            )],
            b"",
        )
        .await;
        assert_eq!(
            pb.header("content-type"),
            Some("application/vnd.kubernetes.protobuf")
        );
        assert_eq!(&pb.body[..4], b"k8s\0");
        let cr = raw(
            &sim,
            "GET",
            &format!("{}/a", ns_path("default")),
            &[(
                "Accept",
                "application/vnd.kubernetes.protobuf,application/json",
            )],
            b"",
        )
        .await;
        assert_eq!(cr.json()["metadata"]["name"], "a");
    }

    #[tokio::test]
    async fn discovery_plain_and_aggregated() {
        let (sim, c) = with_crd().await;
        // kube-rs discovery, both ways, finds the CRD's resource with its capabilities.
        for d in [
            kube::Discovery::new(c.clone()).run().await.unwrap(),
            kube::Discovery::new(c.clone())
                .run_aggregated()
                .await
                .unwrap(),
        ] {
            let (ar, caps) = d
                .resolve_gvk(&kube::api::GroupVersionKind::gvk(GROUP, "v1", "Widget"))
                .expect("Widget discovered");
            assert_eq!(ar.plural, "widgets");
            assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
            assert!(
                caps.subresources
                    .iter()
                    .any(|(s, _)| s.plural == "widgets/status" || s.plural == "status"),
                "{:?}",
                caps.subresources
            );
            assert!(d.get("coordination.k8s.io").is_some() && d.get("").is_some());
        }
        assert!(
            c.list_api_groups_aggregated()
                .await
                .unwrap()
                .items
                .iter()
                .any(|g| g.metadata.as_ref().and_then(|m| m.name.as_deref()) == Some(GROUP))
        );
        assert_eq!(c.apiserver_version().await.unwrap().minor, "32");
        let v = get_json(&sim, "/version").await.json();
        assert_eq!(
            (v["major"].as_str(), v["minor"].as_str()),
            (Some("1"), Some("32"))
        );
        assert_eq!(
            get_json(&sim, "/api").await.json()["versions"],
            json!(["v1"])
        );
        let groups = get_json(&sim, "/apis").await.json();
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        for g in [
            "events.k8s.io",
            "coordination.k8s.io",
            "apiextensions.k8s.io",
            "example.sim.dev",
        ] {
            assert!(names.contains(&g), "{g} in {names:?}");
        }
        assert_eq!(
            get_json(&sim, "/apis/example.sim.dev").await.json()["preferredVersion"]["version"],
            "v1"
        );
        let list = get_json(&sim, "/apis/example.sim.dev/v1").await.json();
        let res = &list["resources"];
        assert_eq!(res[0]["name"], "widgets");
        assert_eq!(res[0]["shortNames"], json!(["wd"]));
        assert_eq!(res[0]["categories"], json!(["gadgets"]));
        assert_eq!(res[0]["namespaced"], true);
        assert!(
            res[0]["verbs"]
                .as_array()
                .unwrap()
                .contains(&json!("watch"))
        );
        assert_eq!(res[1]["name"], "widgets/status");
        let core = get_json(&sim, "/api/v1").await.json();
        for r in [
            "namespaces",
            "secrets",
            "configmaps",
            "events",
            "namespaces/status",
        ] {
            assert!(
                core["resources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["name"] == r),
                "{r}"
            );
        }
        let accept =
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";
        let agg = raw(&sim, "GET", "/apis", &[("Accept", accept)], b"").await;
        assert_eq!(
            agg.header("content-type"),
            Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        );
        let agg = agg.json();
        assert_eq!(agg["kind"], "APIGroupDiscoveryList");
        let g = agg["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "example.sim.dev")
            .unwrap();
        let r = &g["versions"][0]["resources"][0];
        assert_eq!(r["resource"], "widgets");
        assert_eq!(r["scope"], "Namespaced");
        assert_eq!(r["responseKind"]["kind"], "Widget");
        assert_eq!(r["subresources"][0]["subresource"], "status");
        let legacy = raw(&sim, "GET", "/api", &[("Accept", accept)], b"")
            .await
            .json();
        assert_eq!(legacy["items"][0]["versions"][0]["version"], "v1");
    }

    #[tokio::test]
    async fn openapi_v3_documents_every_group_version_with_field_validation() {
        let (sim, _c) = with_crd().await;
        let index = get_json(&sim, "/openapi/v3").await.json();
        let url = index["paths"]["apis/example.sim.dev/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(url.starts_with("/openapi/v3/apis/example.sim.dev/v1?hash="));
        assert!(index["paths"]["api/v1"].is_object());
        let doc = get_json(&sim, &url).await.json();
        let schema = &doc["components"]["schemas"]["dev.sim.example.v1.Widget"];
        assert_eq!(
            schema["x-kubernetes-group-version-kind"],
            json!([{"group": "example.sim.dev", "version": "v1", "kind": "Widget"}])
        );
        assert_eq!(
            schema["properties"]["spec"]["properties"]["color"]["enum"],
            json!(["red", "green", "blue"])
        );
        let patch = &doc["paths"]["/apis/example.sim.dev/v1/namespaces/{namespace}/widgets/{name}"]
            ["patch"];
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Widget");
        assert!(
            patch["requestBody"]["content"]
                .get("application/strategic-merge-patch+json")
                .is_none()
        );
        assert_eq!(get_json(&sim, "/openapi/v2").await.status, 404);
        // A new CRD shows up in the index with its own document.
        let mut other = widget_crd();
        other["metadata"]["name"] = json!("gizmos.example.sim.dev");
        other["spec"]["names"] = json!({"kind": "Gizmo", "plural": "gizmos"});
        other["spec"]["versions"][0]["name"] = json!("v2");
        sim.create_object(other).unwrap();
        let index = get_json(&sim, "/openapi/v3").await.json();
        assert!(index["paths"]["apis/example.sim.dev/v2"].is_object());
        assert_eq!(
            index["paths"]["apis/example.sim.dev/v1"]["serverRelativeURL"],
            json!(url),
            "hash is stable"
        );
    }
}

mod validation {
    use super::*;
    use kube::api::{Patch, PatchParams, PostParams};

    fn causes(err: &kube::core::Status) -> Vec<(String, String)> {
        err.details
            .as_ref()
            .map(|d| {
                d.causes
                    .iter()
                    .map(|c| (c.field.clone(), c.reason.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn schema_and_cel_violations_are_422_naming_the_field() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let err = api_err(
            api.create(&PostParams::default(), &widget("bad", "purple"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
        assert!(
            err.message
                .starts_with("Widget.example.sim.dev \"bad\" is invalid: "),
            "{}",
            err.message
        );
        assert!(err.message.contains("spec.color"), "{}", err.message);
        assert!(
            causes(&err).iter().any(|(f, _)| f == "spec.color"),
            "{:?}",
            causes(&err)
        );

        let mut w = widget("big", "red");
        w.data["spec"]["replicas"] = json!(11);
        let err = api_err(api.create(&PostParams::default(), &w).await.unwrap_err());
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("at most 10 replicas"),
            "CEL rule message: {}",
            err.message
        );
        assert!(err.message.contains("spec"), "{}", err.message);

        let mut w = widget("long", "red");
        w.data["spec"]["size"] = json!("enormous");
        let err = api_err(api.create(&PostParams::default(), &w).await.unwrap_err());
        assert!(err.message.contains("spec.size"), "{}", err.message);

        // Transition rule (oldSelf) on update.
        let mut w = widget("serial", "red");
        w.data["spec"]["serial"] = json!("s-1");
        api.create(&PostParams::default(), &w).await.unwrap();
        let err = api_err(
            api.patch(
                "serial",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"serial": "s-2"}})),
            )
            .await
            .unwrap_err(),
        );
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("serial is immutable") && err.message.contains("spec.serial"),
            "{}",
            err.message
        );
        // Nothing invalid was stored.
        assert!(api.get_opt("bad").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unknown_fields_are_pruned_warned_or_rejected_per_field_validation() {
        let (sim, _c) = with_crd().await;
        let obj = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget", "metadata": {"name": "u"},
            "spec": {"color": "red", "flavour": "x"}, "extra": 1});
        let base = ns_path("default");
        let r = send_json(
            &sim,
            "POST",
            &format!("{base}?fieldValidation=Strict"),
            "application/json",
            &obj,
        )
        .await;
        let v = assert_status(&r, 400, "BadRequest");
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.contains("strict decoding error") && msg.contains("unknown field \"spec.flavour\""),
            "{msg}"
        );
        let r = send_json(&sim, "POST", &base, "application/json", &obj).await;
        assert_eq!(r.status, 201);
        let warnings = r.headers_named("warning");
        assert!(
            warnings.iter().any(
                |w| w.starts_with("299 - ") && w.contains("unknown field \\\"spec.flavour\\\"")
            ),
            "{warnings:?}"
        );
        let stored = r.json();
        assert!(
            stored["spec"].get("flavour").is_none() && stored.get("extra").is_none(),
            "pruned: {stored}"
        );
        let r = send_json(
            &sim,
            "PATCH",
            &format!("{base}/u?fieldValidation=Ignore"),
            "application/merge-patch+json",
            &json!({"status": {"undeclared": 1}}),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(r.headers_named("warning").is_empty());
        let r = send_json(
            &sim,
            "PATCH",
            &format!("{base}/u/status"),
            "application/merge-patch+json",
            &json!({"status": {"undeclared": 1, "phase": "Up"}}),
        )
        .await;
        assert_eq!(
            r.json()["status"],
            json!({"phase": "Up"}),
            "undeclared status fields are dropped"
        );
        let r = send_json(
            &sim,
            "POST",
            &format!("{base}?fieldValidation=Sometimes"),
            "application/json",
            &obj,
        )
        .await;
        assert_status(&r, 400, "BadRequest");
    }

    #[tokio::test]
    async fn object_metadata_is_validated() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let err = api_err(
            api.create(&PostParams::default(), &widget("Not_Valid", "red"))
                .await
                .unwrap_err(),
        );
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("metadata.name") && err.message.contains("RFC 1123"),
            "{}",
            err.message
        );
        let mut w = widget("ok", "red");
        w.metadata.labels = Some([("app".to_string(), "has space".to_string())].into());
        let err = api_err(api.create(&PostParams::default(), &w).await.unwrap_err());
        assert!(err.message.contains("metadata.labels"), "{}", err.message);
        let mut w = widget("ok", "red");
        w.metadata.finalizers = Some(vec!["bad finalizer".into()]);
        let err = api_err(api.create(&PostParams::default(), &w).await.unwrap_err());
        assert!(
            err.message.contains("metadata.finalizers[0]"),
            "{}",
            err.message
        );
    }
}

mod builtins {
    use super::*;
    use k8s_openapi::api::coordination::v1::Lease;
    use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference, Secret};
    use kube::ResourceExt;
    use kube::api::{ListParams, PostParams};
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};

    #[tokio::test]
    async fn events_recorded_through_events_v1_are_visible_as_core_events() {
        let (_sim, c) = with_crd().await;
        let w = widgets(&c, "default")
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let reporter = Reporter {
            controller: "widget-operator".into(),
            instance: Some("pod-1".into()),
        };
        let recorder = Recorder::new(c.clone(), reporter);
        let reference = ObjectReference {
            api_version: Some("example.sim.dev/v1".into()),
            kind: Some("Widget".into()),
            name: Some("a".into()),
            namespace: Some("default".into()),
            uid: w.metadata.uid.clone(),
            ..Default::default()
        };
        let ev = Event {
            type_: EventType::Warning,
            reason: "Broken".into(),
            note: Some("it broke".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        recorder.publish(&ev, &reference).await.unwrap();
        recorder.publish(&ev, &reference).await.unwrap(); // second time: a series patch
        let core: kube::Api<CoreEvent> = kube::Api::namespaced(c.clone(), "default");
        let fields = format!(
            "involvedObject.name=a,involvedObject.namespace=default,involvedObject.kind=Widget,involvedObject.uid={}",
            w.metadata.uid.unwrap()
        );
        let list = core
            .list(&ListParams::default().fields(&fields))
            .await
            .unwrap();
        assert_eq!(list.items.len(), 1, "{:?}", list.items);
        let e = &list.items[0];
        assert_eq!(e.message.as_deref(), Some("it broke"));
        assert_eq!(e.reason.as_deref(), Some("Broken"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.reporting_component.as_deref(), Some("widget-operator"));
        assert_eq!(
            e.series.as_ref().and_then(|s| s.count),
            Some(2),
            "the Recorder's series patch landed"
        );
        assert!(
            core.list(&ListParams::default().fields("involvedObject.name=zzz"))
                .await
                .unwrap()
                .items
                .is_empty()
        );
        // And the other way round.
        let v1: kube::Api<k8s_openapi::api::events::v1::Event> =
            kube::Api::namespaced(c.clone(), "default");
        let listed = v1.list(&ListParams::default()).await.unwrap();
        assert_eq!(
            listed.items[0].regarding.as_ref().unwrap().name.as_deref(),
            Some("a")
        );
        assert_eq!(listed.items[0].note.as_deref(), Some("it broke"));
        // events.k8s.io/v1 requires what the apiserver requires.
        let bad: k8s_openapi::api::events::v1::Event = serde_json::from_value(
            json!({"metadata": {"name": "bad"}, "reason": "X", "type": "Normal"}),
        )
        .unwrap();
        let err = api_err(v1.create(&PostParams::default(), &bad).await.unwrap_err());
        assert_eq!(err.code, 422);
        assert!(
            err.message.contains("eventTime") && err.message.contains("reportingController"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn secrets_turn_string_data_into_base64_data() {
        let (_sim, c) = start().await;
        let api: kube::Api<Secret> = kube::Api::default_namespaced(c.clone());
        let s: Secret = serde_json::from_value(
            json!({"metadata": {"name": "s"}, "stringData": {"password": "Welcome-2-Connect"}}),
        )
        .unwrap();
        let created = api.create(&PostParams::default(), &s).await.unwrap();
        assert!(created.string_data.is_none());
        assert_eq!(created.type_.as_deref(), Some("Opaque"));
        assert_eq!(created.data.unwrap()["password"].0, b"Welcome-2-Connect");
    }

    #[tokio::test]
    async fn leases_round_trip_with_optimistic_concurrency() {
        let (_sim, c) = start().await;
        let api: kube::Api<Lease> = kube::Api::namespaced(c.clone(), "kube-system");
        let l: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap();
        let created = api.create(&PostParams::default(), &l).await.unwrap();
        let mut mine = created.clone();
        mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
        api.replace("leader", &PostParams::default(), &mine)
            .await
            .unwrap();
        let mut theirs = created;
        theirs.spec.as_mut().unwrap().holder_identity = Some("c".into());
        assert_eq!(
            api_err(
                api.replace("leader", &PostParams::default(), &theirs)
                    .await
                    .unwrap_err()
            )
            .code,
            409
        );
        assert_eq!(
            api.get("leader")
                .await
                .unwrap()
                .spec
                .unwrap()
                .holder_identity
                .as_deref(),
            Some("b")
        );
        assert!(
            api.get("leader")
                .await
                .unwrap()
                .metadata
                .generation
                .is_none(),
            "built-ins without generation"
        );
        assert_eq!(api.get("leader").await.unwrap().name_any(), "leader");
    }

    /// The sequence kube-lease-manager uses: apply (no force) to take an orphaned lease,
    /// strategic patches to renew; a second candidate's apply must conflict.
    #[tokio::test]
    async fn lease_takeover_by_apply_conflicts_with_the_current_holder() {
        let (_sim, c) = start().await;
        let api: kube::Api<Lease> = kube::Api::namespaced(c.clone(), "default");
        let l: Lease =
            serde_json::from_value(json!({"metadata": {"name": "lock"}, "spec": {}})).unwrap();
        api.create(&PostParams::default(), &l).await.unwrap();
        let take = |who: &str| {
            kube::api::Patch::Apply(
                json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "spec": {"holderIdentity": who, "leaseDurationSeconds": 15, "renewTime": "2026-01-01T00:00:00.000000Z"}}),
            )
        };
        let pp = |who: &str| kube::api::PatchParams {
            field_manager: Some(format!("lease-{who}")),
            ..Default::default()
        };
        api.patch("lock", &pp("a"), &take("a")).await.unwrap();
        let renew = kube::api::Patch::Strategic(
            json!({"spec": {"renewTime": "2026-01-01T00:00:05.000000Z"}}),
        );
        api.patch("lock", &pp("a"), &renew).await.unwrap();
        let err = api_err(api.patch("lock", &pp("b"), &take("b")).await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
        assert_eq!(
            api.get("lock")
                .await
                .unwrap()
                .spec
                .unwrap()
                .holder_identity
                .as_deref(),
            Some("a")
        );
        // Released (fields nulled): the next apply succeeds.
        let release = kube::api::Patch::Strategic(
            json!({"spec": {"holderIdentity": null, "renewTime": null, "leaseDurationSeconds": null}}),
        );
        api.patch("lock", &pp("a"), &release).await.unwrap();
        api.patch("lock", &pp("b"), &take("b")).await.unwrap();
        assert_eq!(
            api.get("lock")
                .await
                .unwrap()
                .spec
                .unwrap()
                .holder_identity
                .as_deref(),
            Some("b")
        );
    }
}

mod errors_and_faults {
    use super::*;
    use kube::api::{ListParams, PostParams};

    #[tokio::test]
    async fn bad_requests_answer_status_objects_never_panics() {
        let (sim, _c) = with_crd().await;
        let base = ns_path("default");
        assert_status(
            &raw(
                &sim,
                "POST",
                &base,
                &[("Content-Type", "application/json")],
                b"{not json",
            )
            .await,
            400,
            "BadRequest",
        );
        assert_status(
            &raw(
                &sim,
                "POST",
                &base,
                &[("Content-Type", "application/json")],
                b"[1,2]",
            )
            .await,
            400,
            "BadRequest",
        );
        assert_status(
            &raw(
                &sim,
                "POST",
                &base,
                &[("Content-Type", "application/vnd.kubernetes.protobuf")],
                b"\x00\x01",
            )
            .await,
            415,
            "UnsupportedMediaType",
        );
        assert_status(
            &get_json(&sim, "/apis/nope.dev/v1/things").await,
            404,
            "NotFound",
        );
        assert_status(&get_json(&sim, "/not/a/path").await, 404, "NotFound");
        assert_status(
            &raw(
                &sim,
                "PATCH",
                &format!("{base}/x"),
                &[("Content-Type", "text/plain")],
                b"x",
            )
            .await,
            415,
            "UnsupportedMediaType",
        );
        assert_status(
            &raw(
                &sim,
                "POST",
                "/api/v1/namespaces/default/secrets/name",
                &[],
                b"{}",
            )
            .await,
            405,
            "MethodNotAllowed",
        );
        assert_status(
            &raw(&sim, "DELETE", "/version", &[], b"").await,
            405,
            "MethodNotAllowed",
        );
        let obj = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget", "metadata": {"name": "x"}, "spec": {"color": "red"}});
        send_json(&sim, "POST", &base, "application/json", &obj).await;
        for (ct, body) in [
            ("application/json-patch+json", &b"{\"op\":1}"[..]),
            (
                "application/json-patch+json",
                b"[{\"op\":\"jump\",\"path\":\"/a\"}]",
            ),
            ("application/merge-patch+json", b"\"string\""),
            ("application/merge-patch+json", b"{\"metadata\": 5}"),
            ("application/apply-patch+yaml", b": : :"),
        ] {
            let r = raw(
                &sim,
                "PATCH",
                &format!("{base}/x?fieldManager=m"),
                &[("Content-Type", ct)],
                body,
            )
            .await;
            assert!(
                (400..500).contains(&r.status),
                "{ct} {:?}: {}",
                String::from_utf8_lossy(body),
                r.status
            );
            assert_eq!(r.json()["kind"], "Status");
        }
        let mismatch = json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget", "metadata": {"name": "other"}, "spec": {"color": "red"}});
        assert_status(
            &send_json(
                &sim,
                "PUT",
                &format!("{base}/x"),
                "application/json",
                &mismatch,
            )
            .await,
            400,
            "BadRequest",
        );
        assert_status(
            &get_json(&sim, &format!("{base}?limit=abc")).await,
            400,
            "BadRequest",
        );
        assert_status(
            &get_json(&sim, &format!("{base}?continue=zz")).await,
            400,
            "BadRequest",
        );
        assert_status(
            &get_json(&sim, &format!("{base}?watch=true&resourceVersion=abc")).await,
            400,
            "BadRequest",
        );
        assert!(sim.requests().iter().all(|r| r.status < 500));
    }

    #[tokio::test]
    async fn fail_next_latency_and_the_request_log() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        sim.clear_requests();
        // kube-rs retries 503 by itself: two injected failures cost two extra requests.
        sim.fail_next("GET", "/widgets", 2, 503);
        api.list(&ListParams::default()).await.unwrap();
        sim.fail_next("POST", "widgets", 1, 500);
        let err = api_err(
            api.create(&PostParams::default(), &widget("a", "red"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (500, "InternalError"));
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();

        let log = sim.requests();
        let shape: Vec<(String, String, String, u16)> = log
            .iter()
            .map(|r| {
                (
                    r.verb.clone(),
                    r.api_group.clone(),
                    r.resource.clone(),
                    r.status,
                )
            })
            .collect();
        let g = "example.sim.dev".to_string();
        let w = "widgets".to_string();
        assert_eq!(
            shape,
            [
                ("list".into(), g.clone(), w.clone(), 503),
                ("list".into(), g.clone(), w.clone(), 503),
                ("list".into(), g.clone(), w.clone(), 200),
                ("create".into(), g.clone(), w.clone(), 500),
                ("create".into(), g.clone(), w.clone(), 201),
            ]
        );
        assert_eq!(log[4].namespace.as_deref(), Some("default"));
        assert_eq!(log[4].content_type, "application/json");

        sim.set_latency(Duration::from_millis(150));
        let t = std::time::Instant::now();
        api.get("a").await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(150));
        sim.set_latency(Duration::ZERO);
        sim.clear_requests();
        assert!(sim.requests().is_empty());
    }

    #[tokio::test]
    async fn clear_faults_ends_an_outage_early() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        sim.fail_next("*", "", 1_000_000, 503);
        sim.fail_next("*", "", 1_000_000, 500);
        let raw = get_json(
            &sim,
            "/apis/example.sim.dev/v1/namespaces/default/widgets/a",
        )
        .await;
        assert_eq!(raw.status, 503);
        sim.clear_faults();
        assert_eq!(api.get("a").await.unwrap().data["spec"]["color"], "red");
        let served: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
        assert_eq!(served.last(), Some(&200), "{served:?}");
    }

    #[tokio::test]
    async fn in_process_access_matches_http() {
        let (sim, c) = with_crd().await;
        let created = sim
            .create_object(json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "metadata": {"name": "p", "namespace": "default"}, "spec": {"color": "red"}}))
            .unwrap();
        assert_eq!(created["metadata"]["generation"], 1);
        let err = sim
            .create_object(json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "metadata": {"name": "p", "namespace": "default"}, "spec": {"color": "red"}}))
            .unwrap_err();
        assert_eq!(err["reason"], "AlreadyExists");
        assert_eq!(
            widgets(&c, "default").get("p").await.unwrap().data["spec"]["color"],
            "red"
        );
        assert!(
            sim.get_object("example.sim.dev/v1", "widgets", Some("default"), "p")
                .is_some()
        );
        assert!(
            sim.get_object("v1", "namespaces", None, "default")
                .is_some()
        );
        assert_eq!(
            sim.list_objects("example.sim.dev/v1", "widgets", None)
                .len(),
            1
        );
        let kc = sim.kubeconfig_yaml("team-a");
        assert!(
            kc.contains(&sim.url())
                && kc.contains("namespace: team-a")
                && kc.contains("current-context: sim")
        );
        let parsed: kube::config::Kubeconfig = serde_yaml::from_str(&kc).unwrap();
        let config = kube::Config::from_custom_kubeconfig(parsed, &Default::default())
            .await
            .unwrap();
        assert_eq!(config.default_namespace, "team-a");
    }
}

mod lifecycle {
    use super::*;
    use k8s_openapi::api::core::v1::Namespace;
    use kube::ResourceExt;
    use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};

    #[tokio::test]
    async fn deleting_a_namespace_deletes_its_objects_then_itself() {
        let (_sim, c) = with_crd().await;
        let nss: kube::Api<Namespace> = kube::Api::all(c.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
        )
        .await
        .unwrap();
        let api = widgets(&c, "team");
        let mut held = widget("held", "red");
        held.metadata.finalizers = Some(vec!["example.sim.dev/hold".into()]);
        api.create(&PostParams::default(), &held).await.unwrap();
        api.create(&PostParams::default(), &widget("free", "red"))
            .await
            .unwrap();
        nss.delete("team", &DeleteParams::default()).await.unwrap();
        let ns = nss.get("team").await.unwrap();
        assert_eq!(ns.status.unwrap().phase.as_deref(), Some("Terminating"));
        assert!(api.get_opt("free").await.unwrap().is_none());
        assert!(
            api.get("held")
                .await
                .unwrap()
                .metadata
                .deletion_timestamp
                .is_some()
        );
        let err = api_err(
            api.create(&PostParams::default(), &widget("late", "red"))
                .await
                .unwrap_err(),
        );
        assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
        assert!(
            err.message.contains("because it is being terminated"),
            "{}",
            err.message
        );
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
        assert!(
            nss.get_opt("team").await.unwrap().is_none(),
            "namespace goes once empty"
        );
    }

    #[tokio::test]
    async fn delete_preconditions_dry_run_and_delete_collection() {
        let (_sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        let a = api
            .create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let wrong = DeleteParams::default().preconditions(Preconditions {
            uid: Some("nope".into()),
            resource_version: None,
        });
        let err = api_err(api.delete("a", &wrong).await.unwrap_err());
        assert_eq!(err.code, 409);
        assert!(
            err.message
                .contains("Precondition failed: UID in precondition: nope"),
            "{}",
            err.message
        );
        let stale = DeleteParams::default().preconditions(Preconditions {
            uid: None,
            resource_version: Some("1".into()),
        });
        assert_eq!(
            api_err(api.delete("a", &stale).await.unwrap_err()).code,
            409
        );
        api.delete("a", &DeleteParams::default().dry_run())
            .await
            .unwrap();
        assert!(
            api.get_opt("a").await.unwrap().is_some(),
            "dry run deletes nothing"
        );
        api.create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &widget("ghost", "red"),
        )
        .await
        .unwrap();
        assert!(
            api.get_opt("ghost").await.unwrap().is_none(),
            "dry run creates nothing"
        );
        let right = DeleteParams::default().preconditions(Preconditions {
            uid: a.metadata.uid.clone(),
            resource_version: a.resource_version(),
        });
        api.delete("a", &right).await.unwrap();
        for n in ["x1", "x2", "y1"] {
            let mut w = widget(n, "red");
            w.metadata.labels = Some([("set".to_string(), n[..1].to_string())].into());
            api.create(&PostParams::default(), &w).await.unwrap();
        }
        api.delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("set=x"),
        )
        .await
        .unwrap();
        let left: Vec<String> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| o.name_any())
            .collect();
        assert_eq!(left, ["y1"]);
    }

    #[tokio::test]
    async fn metadata_only_get_list_and_watch() {
        let (sim, c) = with_crd().await;
        let api = widgets(&c, "default");
        api.create(&PostParams::default(), &widget("a", "red"))
            .await
            .unwrap();
        let meta = api.get_metadata("a").await.unwrap();
        assert_eq!(meta.metadata.name.as_deref(), Some("a"));
        let list = api.list_metadata(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), 1);
        let r = raw(
            &sim,
            "GET",
            &ns_path("default"),
            &[(
                "Accept",
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            )],
            b"",
        )
        .await
        .json();
        assert_eq!(r["kind"], "PartialObjectMetadataList");
        assert!(r["items"][0].get("spec").is_none());
    }
}
