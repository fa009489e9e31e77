//! Reading what ships in `deploy/`: the Helm chart (statically: no Helm binary here), the
//! kustomize base (rendered with the real `kubectl kustomize`) and RBAC rules. Shared by
//! tests/deploy.rs and tests/e2e_rbac.rs.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_yaml::Value;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const CHART: &str = "deploy/helm/connect-user-operator";
pub const KUSTOMIZE: &str = "deploy/kustomize";
pub const NAMESPACE: &str = "connect-user-operator";

/// One RBAC rule, order-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub api_groups: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub resource_names: BTreeSet<String>,
    pub verbs: BTreeSet<String>,
}

pub fn rule(group: &str, resources: &[&str], names: &[&str], verbs: &[&str]) -> Rule {
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Rule {
        api_groups: set(&[group]),
        resources: set(resources),
        resource_names: set(names),
        verbs: set(verbs),
    }
}

pub fn path(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

pub fn parse_yaml(rel: &str) -> Value {
    serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

pub fn parse_docs(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

pub fn get<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    let mut cur = v;
    for key in dotted.split('.') {
        cur = cur
            .get(key)
            .unwrap_or_else(|| panic!("missing `{dotted}` (at `{key}`) in {v:?}"));
    }
    cur
}

pub fn get_str<'a>(v: &'a Value, dotted: &str) -> &'a str {
    get(v, dotted)
        .as_str()
        .unwrap_or_else(|| panic!("`{dotted}` is not a string"))
}

pub fn str_set(v: &Value, key: &str) -> BTreeSet<String> {
    match v.get(key) {
        None | Some(Value::Null) => BTreeSet::new(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .unwrap_or_else(|| panic!("`{key}` item {i:?} is not a string"))
                    .to_string()
            })
            .collect(),
        Some(other) => panic!("`{key}` is not a list: {other:?}"),
    }
}

pub fn rules_of(rules: &Value) -> Vec<Rule> {
    let items = rules.as_sequence().expect("rules is a list");
    let mut out: Vec<Rule> = items
        .iter()
        .map(|r| {
            assert!(
                r.get("nonResourceURLs").is_none(),
                "unexpected nonResourceURLs rule: {r:?}"
            );
            Rule {
                api_groups: str_set(r, "apiGroups"),
                resources: str_set(r, "resources"),
                resource_names: str_set(r, "resourceNames"),
                verbs: str_set(r, "verbs"),
            }
        })
        .collect();
    out.sort();
    out
}

pub fn assert_no_wildcards(what: &str, rules: &[Rule]) {
    for r in rules {
        for s in r
            .api_groups
            .iter()
            .chain(&r.resources)
            .chain(&r.resource_names)
            .chain(&r.verbs)
        {
            assert!(!s.contains('*'), "{what}: wildcard `{s}` in rule {r:?}");
        }
    }
}

pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
    out.sort();
}

/// (file name, text) of every file in the chart's templates/.
pub fn templates() -> Vec<(String, String)> {
    let mut files = Vec::new();
    files_under(&path(&format!("{CHART}/templates")), &mut files);
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Template text without `{{/* ... */}}` comments.
pub fn strip_template_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let action_start = rest[start + 2..].trim_start_matches('-').trim_start();
        if action_start.starts_with("/*") {
            let end = rest[start..]
                .find("*/")
                .map(|i| start + i)
                .expect("unterminated comment");
            let close = rest[end..]
                .find("}}")
                .map(|i| end + i + 2)
                .expect("unterminated action");
            out.push_str(&rest[..start]);
            rest = &rest[close..];
        } else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
        }
    }
    out.push_str(rest);
    out
}

/// The actions (`{{ ... }}` contents, trim markers removed) of a template, comments excluded.
pub fn actions(text: &str) -> Vec<String> {
    let text = strip_template_comments(text);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .map(|i| start + i)
            .expect("unterminated action");
        let inner = rest[start + 2..end].trim();
        let inner = inner.strip_prefix('-').unwrap_or(inner);
        let inner = inner.strip_suffix('-').unwrap_or(inner);
        out.push(inner.trim().to_string());
        rest = &rest[end + 2..];
    }
    out
}

/// The body of `{{- define "NAME" -}} ... {{- end }}` in a template file.
pub fn define_body(text: &str, name: &str) -> String {
    let open = format!("define \"{name}\"");
    let at = text
        .find(&open)
        .unwrap_or_else(|| panic!("no define {name:?}"));
    let body_start = text[at..].find("}}").map(|i| at + i + 2).unwrap();
    let body_end = text[body_start..]
        .find("{{- end }}")
        .map(|i| body_start + i)
        .unwrap();
    text[body_start..body_end].to_string()
}

/// Every `.Values.a.b.c` path used in a template (also `$.Values...`).
pub fn values_paths(text: &str) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices(".Values.") {
        let rest = &text[i + ".Values.".len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len());
        let dotted = rest[..end].trim_end_matches('.');
        if !dotted.is_empty() {
            out.insert(dotted.split('.').map(String::from).collect());
        }
    }
    out
}

pub fn kustomize_build() -> Vec<Value> {
    let out = Command::new("kubectl")
        .args(["kustomize", &path(KUSTOMIZE).to_string_lossy()])
        .output()
        .expect("kubectl is installed (the tests need it on the PATH)");
    assert!(
        out.status.success(),
        "kubectl kustomize {KUSTOMIZE} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_docs(&String::from_utf8(out.stdout).unwrap())
}

pub fn one_of_kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some(kind))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected exactly one {kind} in the kustomize output"
    );
    found[0]
}

pub fn operator_container(deployment: &Value) -> &Value {
    let containers = get(deployment, "spec.template.spec.containers")
        .as_sequence()
        .unwrap();
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// name -> value (None for valueFrom) of a container's env.
pub fn env_of(container: &Value) -> BTreeMap<String, Option<String>> {
    get(container, "env")
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            let name = get_str(e, "name").to_string();
            let value = e
                .get("value")
                .map(|v| v.as_str().expect("env values are strings").to_string());
            (name, value)
        })
        .collect()
}
