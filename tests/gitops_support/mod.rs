//! docs/gitops.md's health checks, taken from the doc itself and run as the tools run them:
//! the Argo CD Lua by tests/argocd_lua (gopher-lua with Argo CD's libraries and rules, built from
//! Debian's Go packages in GOPATH mode), the Flux `healthCheckExprs` by tests/flux_cel
//! (@marcbachmann/cel-js from npm with Flux's evaluation rules). scripts/test-deps.sh installs
//! both.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Value, json};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
#[path = "../go_support/mod.rs"]
mod go_support;
const LUA_HINT: &str = "run scripts/test-deps.sh (installs golang-go and golang-github-yuin-gopher-lua-dev from Debian)";
const CEL_HINT: &str =
    "run scripts/test-deps.sh (installs Node.js and tests/flux_cel's npm packages)";
pub const HEALTH_KEY: &str = "resource.customizations.health.connect.userops.dev_";
pub const KINDS: [&str; 3] = ["ConnectUser", "ConnectInstance", "ClusterConnectInstance"];

pub fn gitops_doc() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("docs/gitops.md")).unwrap()
}

/// The doc's ```yaml blocks, parsed, in order.
pub fn yaml_blocks(doc: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + "```yaml\n".len()..];
        let end = body.find("\n```").expect("a closed code block");
        // A block may be a fragment of a bigger manifest (indented keys): those are skipped.
        if let Ok(v) = serde_yaml::from_str::<Value>(&body[..end]) {
            out.push(v);
        }
        rest = &body[end..];
    }
    out
}

/// The argocd-cm health scripts of the doc, by kind.
pub fn argocd_scripts(doc: &str) -> BTreeMap<String, String> {
    let cm = yaml_blocks(doc)
        .into_iter()
        .find(|v| v["kind"] == "ConfigMap" && v["metadata"]["name"] == "argocd-cm")
        .expect("docs/gitops.md has the argocd-cm ConfigMap");
    cm["data"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(HEALTH_KEY)?.to_string(), v.as_str()?.into())))
        .collect()
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exprs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    pub current: String,
}

/// The Flux Kustomization's healthCheckExprs of the doc, by kind, and the Kustomization itself.
pub fn flux_kustomization(doc: &str) -> Value {
    yaml_blocks(doc)
        .into_iter()
        .find(|v| v["kind"] == "Kustomization")
        .expect("docs/gitops.md has the Flux Kustomization")
}

pub fn flux_exprs(doc: &str) -> BTreeMap<String, Exprs> {
    flux_kustomization(doc)["spec"]["healthCheckExprs"]
        .as_array()
        .expect("spec.healthCheckExprs")
        .iter()
        .map(|e| {
            assert_eq!(e["apiVersion"], "connect.userops.dev/v1alpha1");
            (
                e["kind"].as_str().unwrap().to_string(),
                serde_json::from_value(e.clone()).unwrap(),
            )
        })
        .collect()
}

/// What Argo CD shows for one object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ArgoHealth {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub message: String,
    /// A Lua error or a return value Argo CD cannot use (Argo CD then shows Unknown and this).
    #[serde(default)]
    pub error: String,
}

fn argocd_lua() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        go_support::build(
            "argocd_lua",
            "the Argo CD health tests",
            &["github.com/yuin/gopher-lua"],
            LUA_HINT,
        )
    })
}

fn run_json(mut cmd: Command, input: &Value) -> Result<Value, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {:?}", out.stdout))
}

/// Argo CD's health of each object under `script`.
pub fn argocd_health(script: &str, objects: &[Value]) -> Vec<ArgoHealth> {
    let v = run_json(
        Command::new(argocd_lua()),
        &json!({"script": script, "objects": objects}),
    )
    .expect("tests/argocd_lua runs");
    serde_json::from_value(v).unwrap()
}

/// What Flux's status reader says of one object.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct FluxHealth {
    /// InProgress, Failed, Current, or Unknown (an evaluation error).
    pub status: String,
    #[serde(default)]
    pub error: String,
}

/// Flux's status of each object under `exprs`; `Err` when Flux would refuse the expressions
/// themselves (a parse error, no `current`).
pub fn flux_health(exprs: &Exprs, objects: &[Value]) -> Result<Vec<FluxHealth>, String> {
    let dir = Path::new(ROOT).join("tests/flux_cel");
    assert!(
        dir.join("node_modules/@marcbachmann/cel-js").is_dir(),
        "the Flux health tests need tests/flux_cel's npm packages: {CEL_HINT}"
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("evaluate.mjs"));
    let v = run_json(cmd, &json!({"exprs": exprs, "objects": objects}))?;
    Ok(serde_json::from_value(v).unwrap())
}
