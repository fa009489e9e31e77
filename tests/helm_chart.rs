//! The Helm chart, rendered the way Helm renders it (tests/helm_render: Go's text/template +
//! Masterminds sprig + Helm's functions and rules; no helm binary exists here), for the default
//! values and each documented values path: values checked against values.schema.json with the
//! jsonschema crate, the objects applied with the real kubectl to the Kubernetes emulator
//! (which validates them against k8s-openapi's schemas), the ServiceMonitor against the
//! Prometheus Operator's CRD schema. Negative controls: a broken template and a misspelt nested
//! values key each make their check fail.

mod helm_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use helm_support::values_schema::{open_objects, values_schema_text};
use helm_support::*;
use serde_json::{Value, json};
use sim::kube::KubeSim;

const RELEASE: &str = "connect-user-operator";
const NS: &str = "connect-user-operator";

fn values_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(VALUES_DIR)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension().is_some_and(|x| x == "yaml"))
                .then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

/// docs/install.md's `values-eks.yaml` (IRSA), as a file.
fn docs_irsa_values(dir: &Path) -> PathBuf {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/install.md")).unwrap();
    let start = doc
        .find("```yaml\n# values-eks.yaml\n")
        .expect("docs/install.md has the values-eks.yaml example")
        + "```yaml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let path = dir.join("values-eks.yaml");
    std::fs::write(&path, &doc[start..end]).unwrap();
    path
}

fn container(deployment: &Value) -> &Value {
    let cs = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(cs.len(), 1);
    &cs[0]
}

fn env(deployment: &Value, name: &str) -> Option<String> {
    container(deployment)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].as_str().unwrap_or_default().to_string())
}

#[test]
fn values_schema_json_is_generated_and_current_and_closed_at_every_level() {
    let path = Path::new(CHART_DIR).join("values.schema.json");
    let want = values_schema_text();
    if std::env::var_os("WRITE_VALUES_SCHEMA").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "deploy/helm/connect-user-operator/values.schema.json is stale: regenerate it with `WRITE_VALUES_SCHEMA=1 cargo test --test helm_chart values_schema`"
    );
    let schema = chart_values_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let mut open = Vec::new();
    open_objects(&schema, "", &mut open);
    assert!(
        open.is_empty(),
        "object schemas without additionalProperties: false: {open:#?}"
    );
    // Every top-level key of values.yaml is described, and nothing else but Helm's `global`.
    let values: Value = serde_yaml::from_str(
        &std::fs::read_to_string(Path::new(CHART_DIR).join("values.yaml")).unwrap(),
    )
    .unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut described = keys(&schema["properties"]);
    described.retain(|k| k != "global");
    assert_eq!(described, keys(&values));
}

/// The default values and every documented values path render; each coalesced values set
/// passes values.schema.json; each renders what its documentation says.
#[test]
fn default_and_documented_values_render_and_pass_the_values_schema() {
    let schema = chart_values_schema();
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, Vec<PathBuf>)> = vec![("defaults".into(), vec![])];
    for f in values_files() {
        cases.push((f.clone(), vec![Path::new(VALUES_DIR).join(&f)]));
    }
    cases.push((
        "docs/install.md values-eks.yaml".into(),
        vec![docs_irsa_values(dir.path())],
    ));
    for (what, files) in &cases {
        let r = render_chart(Path::new(CHART_DIR), files, RELEASE, NS)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Err(errors) = check_values(&schema, &r.values) {
            panic!(
                "{what}: the values fail values.schema.json:\n{}",
                errors.join("\n")
            );
        }
        assert!(!r.notes.trim().is_empty(), "{what}: NOTES.txt renders");
        assert!(!r.notes.contains("<no value>"));
        for d in &r.manifests {
            assert!(!d.content.contains("<no value>"), "{what}: {}", d.source);
            assert!(
                !d.source.contains("/_"),
                "{what}: partials are not rendered"
            );
            assert!(!d.source.ends_with("NOTES.txt"));
        }
        let mut crds: Vec<&str> = r.crds.iter().map(|c| c.content.as_str()).collect();
        crds.sort();
        let mut expected: Vec<String> = [
            "crds/connectuser.yaml",
            "crds/connectinstance.yaml",
            "crds/clusterconnectinstance.yaml",
        ]
        .iter()
        .map(|f| std::fs::read_to_string(Path::new(ROOT).join(f)).unwrap())
        .collect();
        expected.sort();
        assert_eq!(crds, expected, "{what}: crds/ is installed untemplated");
    }

    let d = render(&[], RELEASE, NS);
    let deployment = d.one("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    // The default memory is install.md's row for 10,000 users (from the measured peak).
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/install.md"))
            .unwrap();
    let row = docs
        .lines()
        .find(|l| l.starts_with("| 10,000 (the chart's default) |"))
        .expect("install.md's memory table has the chart's default row");
    let cells: Vec<&str> = row.split('|').map(|c| c.trim().trim_matches('`')).collect();
    assert_eq!(
        container(&deployment)["resources"],
        json!({"requests": {"cpu": "50m", "memory": cells[3]}, "limits": {"memory": cells[4]}})
    );
    assert_eq!(env(&deployment, "LEADER_ELECTION").as_deref(), Some("true"));
    assert_eq!(env(&deployment, "WATCH_NAMESPACES"), None);
    assert_eq!(
        container(&deployment)["image"],
        format!(
            "ghcr.io/connect-userops/connect-user-operator:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    for kind in [
        "ClusterRole",
        "ClusterRoleBinding",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ] {
        d.one(kind);
    }
    assert_eq!(d.of_kind("Role").len(), 1, "the leader-election Role only");
    assert!(d.of_kind("ServiceMonitor").is_empty());
    assert!(
        d.one("ServiceAccount")["metadata"]
            .get("annotations")
            .is_none()
    );
    assert!(d.notes.contains("all namespaces"), "{}", d.notes);
    // Helm's install order: the ServiceAccount and RBAC before the Deployment.
    let kinds: Vec<String> = d.manifests.iter().map(Doc::kind).collect();
    let at = |k: &str| kinds.iter().position(|x| x == k).unwrap();
    assert!(
        at("ServiceAccount") < at("ClusterRole") && at("RoleBinding") < at("Deployment"),
        "{kinds:?}"
    );

    let w = render(&["watch-namespaces.yaml"], RELEASE, NS);
    assert!(w.of_kind("ClusterRole").is_empty() && w.of_kind("ClusterRoleBinding").is_empty());
    let role_namespaces: Vec<String> = w
        .of_kind("Role")
        .iter()
        .map(|r| r["metadata"]["namespace"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(role_namespaces, ["team-a", "team-b", NS]);
    assert_eq!(
        env(&w.one("Deployment"), "WATCH_NAMESPACES").as_deref(),
        Some("team-a,team-b")
    );
    assert!(w.notes.contains("team-a, team-b"));

    let n = render(&["no-leader-election.yaml"], RELEASE, NS);
    let deployment = n.one("Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(
        env(&deployment, "LEADER_ELECTION").as_deref(),
        Some("false")
    );
    assert!(
        n.of_kind("PodDisruptionBudget").is_empty(),
        "no PDB for one replica"
    );
    assert!(n.of_kind("Role").is_empty(), "no leader-election Role");

    let m = render(&["service-monitor.yaml"], RELEASE, NS);
    let sm = m.one("ServiceMonitor");
    assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(sm["spec"]["endpoints"][0]["interval"], "1m");
    assert_eq!(sm["spec"]["endpoints"][0]["port"], "http-metrics");
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"],
        m.one("Service")["spec"]["selector"]
    );

    let irsa = render_chart(
        Path::new(CHART_DIR),
        &[docs_irsa_values(dir.path())],
        RELEASE,
        NS,
    )
    .unwrap();
    assert_eq!(
        irsa.one("ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/connect-user-operator"
    );
    assert_eq!(
        env(&irsa.one("Deployment"), "AWS_REGION").as_deref(),
        Some("eu-west-2")
    );
    assert!(!irsa.notes.contains("has no\nannotations"));

    let p = render(&["pod-identity.yaml"], RELEASE, NS);
    assert!(
        p.one("ServiceAccount")["metadata"]
            .get("annotations")
            .is_none()
    );
    assert_eq!(
        env(&p.one("Deployment"), "AWS_REGION").as_deref(),
        Some("eu-west-2")
    );

    let res = render(&["resources.yaml"], RELEASE, NS);
    assert_eq!(
        container(&res.one("Deployment"))["resources"],
        json!({"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "512Mi"}})
    );

    let img = render(&["image.yaml"], RELEASE, NS);
    let deployment = img.one("Deployment");
    assert_eq!(
        container(&deployment)["image"],
        "registry.example.com/platform/connect-user-operator:0.1.0-rc.1"
    );
    assert_eq!(container(&deployment)["imagePullPolicy"], "Always");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["imagePullSecrets"],
        json!([{"name": "regcred"}])
    );

    let x = render(&["scheduling-and-extras.yaml"], RELEASE, NS);
    assert!(x.of_kind("ServiceAccount").is_empty() && x.of_kind("Service").is_empty());
    let deployment = x.one("Deployment");
    assert_eq!(deployment["metadata"]["name"], "contact-center-users");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "connect-operator"
    );
    assert_eq!(
        x.one("ClusterRoleBinding")["subjects"][0]["name"],
        "connect-operator"
    );
    assert_eq!(
        env(&deployment, "AWS_STS_REGIONAL_ENDPOINTS").as_deref(),
        Some("regional")
    );
    assert_eq!(
        env(&deployment, "METRICS_ADDR").as_deref(),
        Some("0.0.0.0:9090")
    );
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["labels"]["team"],
        "platform"
    );
    assert_eq!(x.one("PodDisruptionBudget")["spec"]["minAvailable"], "50%");
}

/// The committed negative control for the values schema: a misspelt key two levels down.
#[test]
fn a_nested_unknown_values_key_fails_the_values_schema_check() {
    let schema = chart_values_schema();
    let bad = Path::new(VALUES_DIR).join("invalid/nested-unknown-key.yaml");
    // It renders (a template never reads the misspelt key): only the schema catches it.
    let r = render_chart(Path::new(CHART_DIR), &[bad], RELEASE, NS).unwrap();
    let errors = check_values(&schema, &r.values).expect_err("the misspelt key is refused");
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("/metrics/serviceMonitor") && e.contains("intervall")),
        "{errors:#?}"
    );
    // And a wrong type or value deep down as well.
    let mut values = render(&[], RELEASE, NS).values;
    values["podSecurityContext"]["seccompProfile"]["typo"] = json!("x");
    assert!(check_values(&schema, &values).is_err());
    let mut values = render(&[], RELEASE, NS).values;
    values["logFormat"] = json!("xml");
    assert!(check_values(&schema, &values).is_err());
}

fn chart_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(CHART_DIR)
        .arg(dir.path().join("chart"))
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// The committed negative control for rendering: broken templates fail the render with
/// Helm's kind of message naming the template, so a template error cannot pass unnoticed.
#[test]
fn broken_templates_fail_the_render() {
    let cases = [
        (
            "deployment.yaml",
            "{{ .Values.image.repository | nosuchfunc }}",
            "function \"nosuchfunc\" not defined",
        ),
        (
            "service.yaml",
            "{{ if .Values.metrics.port }}",
            "unexpected EOF",
        ),
        (
            "prometheusrule.yaml",
            "{{ .Values.metrics.prometheusRule.runbookUrl | nosuchfunc }}",
            "function \"nosuchfunc\" not defined",
        ),
        (
            "dashboard.yaml",
            "{{ if .Values.metrics.dashboard.enabled }}",
            "unexpected EOF",
        ),
        (
            "serviceaccount.yaml",
            "{{ env \"HOME\" }}",
            "function \"env\" not defined",
        ),
        (
            "pdb.yaml",
            "\n---\n{{ required \"podDisruptionBudget.owner is required\" .Values.podDisruptionBudget.owner }}",
            "podDisruptionBudget.owner is required",
        ),
        (
            "rbac.yaml",
            "\n---\nkind: Role\nmetadata: {name: x}\n",
            "apiVersion not set",
        ),
        (
            "deployment.yaml",
            "\n---\napiVersion: v1\nkind: ConfigMap\ndata: {a: [}\n",
            "YAML parse error",
        ),
        (
            "_helpers.tpl",
            "{{ define \"x\" }}{{ .Chart.Nmae }}{{ end }}{{ include \"x\" . }}",
            "can't evaluate field Nmae",
        ),
    ];
    for (file, append, message) in cases {
        let dir = chart_copy();
        let chart = dir.path().join("chart");
        let path = chart.join("templates").join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(append);
        std::fs::write(&path, text).unwrap();
        let mut values = vec![];
        if file == "_helpers.tpl" {
            // A partial's top-level text is never rendered; the include from a rendered
            // template is what executes it.
            let t = chart.join("templates/configmap.yaml");
            std::fs::write(&t, "{{ include \"x\" . }}").unwrap();
            values.push(chart.join("values.yaml"));
        }
        let err =
            render_chart(&chart, &values, RELEASE, NS).expect_err(&format!("{file}: {append}"));
        assert!(err.contains(message), "{file}: {err}");
        // The same copy without the breakage renders: the failure is the template's.
        std::fs::write(
            &path,
            std::fs::read_to_string(Path::new(CHART_DIR).join("templates").join(file)).unwrap(),
        )
        .unwrap();
        let _ = std::fs::remove_file(chart.join("templates/configmap.yaml"));
        render_chart(&chart, &[], RELEASE, NS).unwrap_or_else(|e| panic!("{file} restored: {e}"));
    }
    // The chart's own guard: two replicas without leader election.
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.yaml");
    std::fs::write(&v, "leaderElection: {enabled: false}\n").unwrap();
    let err = render_chart(Path::new(CHART_DIR), &[v], RELEASE, NS).unwrap_err();
    assert!(
        err.contains("replicaCount > 1 needs leaderElection.enabled=true"),
        "{err}"
    );
}

/// Helm's rules the renderer implements, on a chart made for them.
#[test]
fn the_renderer_behaves_as_helm() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path();
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("crds")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 1.2.3\nappVersion: \"9.9\"\nkubeVersion: \">=1.25.0-0\"\n").unwrap();
    std::fs::write(
        chart.join("values.yaml"),
        "a: {b: 1, c: [x, y]}\ntext: \"{{ .Release.Name }}-tpl\"\nkeep: yes-default\ndrop: me\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("crds/x.yaml"),
        "# {{ not templated }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: crd}\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/_p.tpl"),
        "{{ define \"p\" }}name: {{ .Release.Name }}{{ end }}apiVersion: v1\nkind: ConfigMap\n",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/NOTES.txt"),
        "notes for {{ .Chart.Name }} {{ .Chart.AppVersion }}",
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "p" . | nindent 2 }}
  namespace: {{ .Release.Namespace }}
data:
  missing: "{{ .Values.nothere }}"
  tpl: {{ tpl .Values.text . | quote }}
  json: {{ toJson .Values.a | quote }}
  yaml: {{ toYaml .Values.a | quote }}
  fromYaml: {{ (fromYaml "k: v").k | quote }}
  lookup: {{ lookup "v1" "Secret" "ns" "n" | len | quote }}
  keep: {{ .Values.keep | quote }}
  drop: {{ .Values.drop | default "gone" | quote }}
  b: {{ .Values.a.b | quote }}
  c: {{ .Values.a.c | join "," | quote }}
  service: {{ .Release.Service }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  apps: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}
  monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
  template: {{ .Template.Name | quote }}
---
# only a comment
"#,
    )
    .unwrap();
    let user = chart.join("user.yaml");
    std::fs::write(&user, "a: {b: 2}\ndrop: null\n").unwrap();
    let r = render_chart(chart, &[user], "rel", "team").unwrap();
    assert_eq!(r.manifests.len(), 1, "{:#?}", r.manifests);
    let cm = r.manifests[0].value();
    assert_eq!(cm["metadata"], json!({"name": "rel", "namespace": "team"}));
    let data = &cm["data"];
    // Values are YAML 1.1 as Helm reads them (sigs.k8s.io/yaml): the `y` of [x, y] is true.
    let want = json!({
        "missing": "", "tpl": "rel-tpl", "json": "{\"b\":2,\"c\":[\"x\",true]}",
        "yaml": "b: 2\nc:\n- x\n- true", "fromYaml": "v", "lookup": "0", "keep": "yes-default",
        "drop": "gone", "b": "2", "c": "x,true", "service": "Helm", "kube": "v1.32.0",
        "apps": "true", "monitoring": "false", "template": "probe/templates/cm.yaml",
    });
    assert_eq!(data, &want);
    assert_eq!(r.notes, "notes for probe 9.9");
    assert_eq!(
        r.crds[0].content,
        std::fs::read_to_string(chart.join("crds/x.yaml")).unwrap()
    );
    // kubeVersion is enforced.
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: probe\nversion: 1.2.3\nkubeVersion: \">=1.40.0\"\n",
    )
    .unwrap();
    let err = render_chart(chart, &[], "rel", "team").unwrap_err();
    assert!(
        err.contains("incompatible with Kubernetes v1.32.0"),
        "{err}"
    );
}

struct Kubectl {
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(kube: &KubeSim) -> Kubectl {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig).unwrap();
        Kubectl {
            kubeconfig,
            _dir: dir,
        }
    }

    async fn run(&self, args: &[&str], stdin: Option<String>) -> (bool, String, String) {
        let kubeconfig = self.kubeconfig.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = Command::new("kubectl")
                .args(&args)
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", std::env::temp_dir())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("kubectl is installed");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.unwrap_or_default().as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str], stdin: Option<String>) -> String {
        let (ok, out, err) = self.run(args, stdin).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }
}

fn api_path(obj: &Value) -> (String, String, Option<String>) {
    let av = obj["apiVersion"].as_str().unwrap().to_string();
    let plural = match obj["kind"].as_str().unwrap() {
        "PodDisruptionBudget" => "poddisruptionbudgets".to_string(),
        k => format!("{}s", k.to_lowercase()),
    };
    (
        av,
        plural,
        obj["metadata"]["namespace"].as_str().map(String::from),
    )
}

/// Every rendered values path, applied with the real kubectl (server-side field validation,
/// as kubectl does against a real cluster); a second apply changes nothing. The emulator
/// refuses what the apiserver refuses (the last part checks a few).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_objects_apply_with_kubectl_to_the_kubernetes_emulator() {
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, Vec<PathBuf>)> = vec![("defaults".into(), vec![])];
    for f in values_files() {
        cases.push((f.clone(), vec![Path::new(VALUES_DIR).join(&f)]));
    }
    cases.push(("values-eks.yaml".into(), vec![docs_irsa_values(dir.path())]));
    for (what, files) in &cases {
        let r = render_chart(Path::new(CHART_DIR), files, RELEASE, NS).unwrap();
        let kube = KubeSim::start().await.unwrap();
        let k = Kubectl::new(&kube);
        let mut namespaces = vec![NS.to_string()];
        namespaces.extend(
            r.values["watchNamespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string()),
        );
        for ns in &namespaces {
            k.ok(&["create", "namespace", ns], None).await;
        }
        // No Prometheus Operator CRDs here: the ServiceMonitor and PrometheusRule are checked
        // against their CRD schemas by the last test.
        let prometheus_operator =
            |o: &Value| o["kind"] == "ServiceMonitor" || o["kind"] == "PrometheusRule";
        let yaml = r.yaml(|o| !prometheus_operator(o));
        let out = k.ok(&["apply", "-f", "-"], Some(yaml.clone())).await;
        assert!(
            out.lines().all(|l| l.ends_with(" created")),
            "{what}:\n{out}"
        );
        let again = k.ok(&["apply", "-f", "-"], Some(yaml)).await;
        assert!(
            again.lines().all(|l| l.ends_with(" unchanged")),
            "{what}: a second apply changes nothing:\n{again}"
        );
        for obj in r.objects().iter().filter(|o| !prometheus_operator(o)) {
            let (av, plural, ns) = api_path(obj);
            let name = obj["metadata"]["name"].as_str().unwrap();
            let stored = kube
                .get_object(&av, &plural, ns.as_deref(), name)
                .unwrap_or_else(|| panic!("{what}: {av} {plural} {name} is stored"));
            assert_eq!(
                stored["metadata"]["labels"], obj["metadata"]["labels"],
                "{what}: {name}"
            );
        }
    }

    // What the apiserver refuses, the emulator refuses to kubectl too.
    let kube = KubeSim::start().await.unwrap();
    let k = Kubectl::new(&kube);
    k.ok(&["create", "namespace", NS], None).await;
    let deployment = render(&[], RELEASE, NS).one("Deployment");
    let mut unknown = deployment.clone();
    unknown["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = json!("Always");
    let mut mismatch = deployment.clone();
    mismatch["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] =
        json!("other");
    let mut wrong_type = deployment.clone();
    wrong_type["spec"]["replicas"] = json!("two");
    let mut no_image = deployment.clone();
    no_image["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    for (obj, message) in [
        (
            unknown,
            "unknown field \"spec.template.spec.containers[0].imagePullPolcy\"",
        ),
        (mismatch, "`selector` does not match template `labels`"),
        (wrong_type, "spec.replicas"),
        (
            no_image,
            "spec.template.spec.containers[0].image: Required value",
        ),
    ] {
        let (ok, out, err) = k.run(&["apply", "-f", "-"], Some(obj.to_string())).await;
        assert!(!ok, "refused: {out}");
        assert!(err.contains(message), "{err}");
    }
    assert!(
        kube.list_objects("apps/v1", "deployments", Some(NS))
            .is_empty()
    );
    // kubectl explain reads the served schema (k8s-openapi's descriptions).
    let explained = k
        .ok(
            &["explain", "deployment.spec.template.spec.containers.image"],
            None,
        )
        .await;
    assert!(explained.contains("Container image name"), "{explained}");
}

/// The ServiceMonitor against the Prometheus Operator's CRD schema, as compiled by the npm
/// package @kubernetes-models/prometheus-operator (tests/prometheus_crds; installed by
/// scripts/test-deps.sh), with a broken one as the control.
#[test]
fn service_monitor_matches_the_prometheus_operator_crd_schema() {
    let check_dir = Path::new(ROOT).join("tests/prometheus_crds");
    assert!(
        check_dir
            .join("node_modules/@kubernetes-models/prometheus-operator")
            .is_dir(),
        "the ServiceMonitor check needs its npm package: run scripts/test-deps.sh"
    );
    let run = |objects: &Value| -> (bool, String) {
        use std::io::Write;
        let mut child = Command::new("node")
            .arg("check.mjs")
            .current_dir(&check_dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node is installed: run scripts/test-deps.sh");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(objects.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let sm = render(&["service-monitor.yaml"], RELEASE, NS).one("ServiceMonitor");
    let (ok, out) = run(&json!([sm]));
    assert!(ok, "{out}");
    assert!(out.contains("\"valid\":true"), "{out}");
    let mut broken = sm.clone();
    broken["spec"]["endpoints"][0]["interval"] = json!("1 minute");
    broken["spec"]["endpoints"][0]["scheme"] = json!("gopher");
    let (ok, out) = run(&json!([broken]));
    assert!(!ok, "{out}");
    assert!(
        out.contains("interval must match pattern") && out.contains("scheme"),
        "{out}"
    );
}
