//! The kinds the server serves: built-ins and one entry per served version of every CRD.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::schema::VersionSchema;
use super::typed::{self, TypedInfo};

/// Kinds with behaviour beyond the generic object rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Plain,
    Namespace,
    Secret,
    /// core/v1 Event: the storage form of all events.
    CoreEvent,
    /// events.k8s.io/v1 Event: converted to/from the core form.
    EventV1,
    Crd,
    Custom,
}

/// A printer column of a CRD version.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub type_: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// What a CRD version adds: its schema and printer columns.
pub struct CustomInfo {
    pub crd_name: String,
    pub schema: Option<VersionSchema>,
    /// The raw `openAPIV3Schema` (list/map semantics for apply, OpenAPI documents).
    pub raw_schema: Value,
    pub columns: Vec<Column>,
    /// `selectableFields` JSON paths (field selectors beyond metadata.name/namespace).
    pub selectable: Vec<String>,
}

pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub namespaced: bool,
    /// Objects of all versions/APIs that share storage share this key.
    pub storage: String,
    pub status_subresource: bool,
    /// Whether metadata.generation is maintained.
    pub generation: bool,
    pub flavor: Flavor,
    pub custom: Option<CustomInfo>,
    /// Built-in kinds validated against k8s-openapi's schema.
    pub typed: Option<Arc<TypedInfo>>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }

    /// The JSON schema used for list-type semantics in server-side apply and in OpenAPI.
    pub fn raw_schema(&self) -> Option<&Value> {
        self.custom
            .as_ref()
            .map(|c| &c.raw_schema)
            .or(self.typed.as_ref().map(|t| &t.raw))
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    namespaced: bool,
    storage: &str,
    status: bool,
    flavor: Flavor,
) -> Arc<ResourceType> {
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Arc::new(ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        namespaced,
        storage: storage.into(),
        status_subresource: status,
        // The kinds whose spec the apiserver versions with metadata.generation.
        generation: flavor == Flavor::Crd || matches!(kind, "Deployment" | "PodDisruptionBudget"),
        flavor,
        custom: None,
        typed: typed::info(&api_version, kind).map(Arc::new),
    })
}

pub fn builtins() -> Vec<Arc<ResourceType>> {
    use Flavor::*;
    vec![
        builtin(
            "",
            "v1",
            "Namespace",
            "namespaces",
            &["ns"],
            false,
            "namespaces",
            true,
            Namespace,
        ),
        builtin(
            "",
            "v1",
            "Secret",
            "secrets",
            &[],
            true,
            "secrets",
            false,
            Secret,
        ),
        builtin(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            &["cm"],
            true,
            "configmaps",
            false,
            Plain,
        ),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            &["sa"],
            true,
            "serviceaccounts",
            false,
            Plain,
        ),
        builtin(
            "",
            "v1",
            "Service",
            "services",
            &["svc"],
            true,
            "services",
            true,
            Plain,
        ),
        builtin(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            &["deploy"],
            true,
            "deployments",
            true,
            Plain,
        ),
        builtin(
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            &["pdb"],
            true,
            "poddisruptionbudgets",
            true,
            Plain,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            &[],
            false,
            "clusterroles",
            false,
            Plain,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            &[],
            false,
            "clusterrolebindings",
            false,
            Plain,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            &[],
            true,
            "roles",
            false,
            Plain,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            &[],
            true,
            "rolebindings",
            false,
            Plain,
        ),
        builtin(
            "",
            "v1",
            "Event",
            "events",
            &["ev"],
            true,
            "events",
            false,
            CoreEvent,
        ),
        builtin(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            &["ev"],
            true,
            "events",
            false,
            EventV1,
        ),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            &[],
            true,
            "leases",
            false,
            Plain,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            &["crd", "crds"],
            false,
            "customresourcedefinitions",
            true,
            Crd,
        ),
    ]
}

/// All served kinds. CRD entries are replaced wholesale when their CRD changes.
pub struct Registry {
    builtins: Vec<Arc<ResourceType>>,
    /// CRD name -> its served versions.
    crds: BTreeMap<String, Vec<Arc<ResourceType>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            builtins: builtins(),
            crds: BTreeMap::new(),
        }
    }
}

impl Registry {
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.builtins.iter().chain(self.crds.values().flatten())
    }

    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|r| r.api_version() == api_version && r.kind == kind)
            .cloned()
    }

    pub fn set_crd(&mut self, name: &str, versions: Vec<Arc<ResourceType>>) {
        self.crds.insert(name.to_string(), versions);
    }

    pub fn remove_crd(&mut self, name: &str) {
        self.crds.remove(name);
    }

    pub fn crd_types(&self, name: &str) -> &[Arc<ResourceType>] {
        self.crds.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// Groups with their versions, the preferred (first listed) version first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all().filter(|r| !r.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == r.group) {
                Some((_, vs)) => {
                    if !vs.contains(&r.version) {
                        vs.push(r.version.clone());
                    }
                }
                None => out.push((r.group.clone(), vec![r.version.clone()])),
            }
        }
        for (_, vs) in out.iter_mut() {
            vs.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }

    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.all()
            .filter(|r| r.group == group && r.version == version)
            .cloned()
            .collect()
    }
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let major = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (level, num) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    (level, major, num.parse().unwrap_or(0))
}
