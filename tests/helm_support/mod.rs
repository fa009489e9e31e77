//! The Helm chart rendered the way Helm renders it, without helm: tests/helm_render (Go's
//! text/template + Masterminds sprig + Helm's functions and rules), built from Debian's Go
//! packages in GOPATH mode (scripts/test-deps.sh installs them). Shared by tests/helm_chart.rs
//! and tests/e2e_rbac.rs.
#![allow(dead_code)]

pub mod values_schema;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const CHART_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/deploy/helm/connect-user-operator"
);
pub const VALUES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helm_values");
#[path = "../go_support/mod.rs"]
mod go_support;
const INSTALL_HINT: &str = "run scripts/test-deps.sh (installs golang-go, golang-github-masterminds-sprig-dev and golang-k8s-sigs-yaml-dev from Debian)";

/// One rendered file or YAML document, as `helm template` prints it under `# Source:`.
#[derive(Debug, Clone, Deserialize)]
pub struct Doc {
    pub source: String,
    pub content: String,
}

impl Doc {
    pub fn value(&self) -> Value {
        serde_yaml::from_str(&self.content)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{}", self.source, self.content))
    }

    pub fn kind(&self) -> String {
        self.value()["kind"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rendered {
    /// The coalesced values (values.yaml and the given files).
    pub values: Value,
    pub crds: Vec<Doc>,
    pub manifests: Vec<Doc>,
    pub notes: String,
}

impl Rendered {
    pub fn objects(&self) -> Vec<Value> {
        self.manifests.iter().map(Doc::value).collect()
    }

    pub fn of_kind(&self, kind: &str) -> Vec<Value> {
        self.objects()
            .into_iter()
            .filter(|o| o["kind"] == kind)
            .collect()
    }

    pub fn one(&self, kind: &str) -> Value {
        let found = self.of_kind(kind);
        assert_eq!(found.len(), 1, "expected one {kind}, got {found:#?}");
        found.into_iter().next().unwrap()
    }

    /// CRDs then manifests, as one multi-document YAML stream (`helm template --include-crds`).
    pub fn yaml(&self, include: impl Fn(&Value) -> bool) -> String {
        let mut out = String::new();
        for d in self.crds.iter().chain(&self.manifests) {
            if include(&d.value()) {
                out.push_str(&format!("---\n# Source: {}\n{}", d.source, d.content));
            }
        }
        out
    }
}

/// The renderer binary, built once per test process (atomically renamed into place, so test
/// binaries building it at the same time do not trip over each other).
pub fn renderer() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        go_support::build(
            "helm_render",
            "the Helm chart tests",
            &["github.com/Masterminds/sprig", "sigs.k8s.io/yaml"],
            INSTALL_HINT,
        )
    })
}

/// Renders `chart` with `values` files (later ones win) as release `name` in `namespace`.
/// `Err` is the renderer's error message (what `helm install` would print).
pub fn render_chart(
    chart: &Path,
    values: &[PathBuf],
    name: &str,
    namespace: &str,
) -> Result<Rendered, String> {
    let mut cmd = Command::new(renderer());
    cmd.arg("-chart")
        .arg(chart)
        .args(["-name", name, "-namespace", namespace]);
    for v in values {
        cmd.arg("-f").arg(v);
    }
    let out = cmd.output().expect("the renderer runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("the renderer prints JSON"))
}

/// The shipped chart with values files from tests/helm_values (by file name).
pub fn render(values: &[&str], name: &str, namespace: &str) -> Rendered {
    let files: Vec<PathBuf> = values
        .iter()
        .map(|v| Path::new(VALUES_DIR).join(v))
        .collect();
    render_chart(Path::new(CHART_DIR), &files, name, namespace)
        .unwrap_or_else(|e| panic!("rendering the chart with {values:?} failed:\n{e}"))
}

/// Checks coalesced values against the chart's values.schema.json as Helm does (draft-07).
/// `Err` lists each violation with its location.
pub fn check_values(schema: &Value, values: &Value) -> Result<(), Vec<String>> {
    let validator =
        jsonschema::draft7::new(schema).expect("values.schema.json is a valid draft-07 schema");
    let errors: Vec<String> = validator
        .iter_errors(values)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub fn chart_values_schema() -> Value {
    let text = std::fs::read_to_string(Path::new(CHART_DIR).join("values.schema.json"))
        .expect("the chart has values.schema.json");
    serde_json::from_str(&text).expect("values.schema.json is JSON")
}
