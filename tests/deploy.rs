//! Checks of what ships in `deploy/` (the Helm chart, the kustomize base, the IAM policy) against
//! each other and against the operator's source: the chart's templates statically here
//! (tests/helm_chart.rs renders them as Helm does); the kustomize base rendered with the real
//! `kubectl kustomize`.

mod deploy_support;

use std::collections::{BTreeMap, BTreeSet};

use deploy_support::*;
use serde_yaml::Value;

const CRD: &str = "crds/connectuser.yaml";
/// Every copy of the generated CRD that must stay identical to `crds/connectuser.yaml`.
const CRD_COPIES: &[&str] = &[
    "deploy/helm/connect-user-operator/crds/connectuser.yaml",
    "deploy/kustomize/crds/connectuser.yaml",
];
/// The instance objects' CRDs (`crds/NAME`), copied to the chart and the kustomize base alike.
const INSTANCE_CRDS: &[&str] = &["connectinstance.yaml", "clusterconnectinstance.yaml"];

/// What the operator does with the Kubernetes API where it watches ConnectUsers (src/controller.rs,
/// src/reconcile/: list/watch, get (a fresh read before a deletion or a create decides from
/// status), finalizer JSON patches, status server-side apply, Secret get,
/// events.k8s.io Events create/patch). Nothing else: tests/e2e_rbac.rs checks these against the
/// requests the running operator makes. (No `connectusers/finalizers` update: the operator sets
/// no ownerReferences, so OwnerReferencesPermissionEnforcement never asks for it.)
fn operator_rules() -> Vec<Rule> {
    let mut rules = vec![
        rule(
            "connect.userops.dev",
            &["connectusers"],
            &[],
            &["get", "list", "watch", "patch"],
        ),
        rule(
            "connect.userops.dev",
            &["connectusers/status"],
            &[],
            &["patch"],
        ),
        rule("", &["secrets"], &[], &["get"]),
        rule("events.k8s.io", &["events"], &[], &["create", "patch"]),
        rule(
            "connect.userops.dev",
            &["connectinstances"],
            &[],
            &["get", "list", "watch", "patch"],
        ),
        rule(
            "connect.userops.dev",
            &["connectinstances/status"],
            &[],
            &["patch"],
        ),
    ];
    rules.sort();
    rules
}

/// What a cluster-wide install needs beyond `operator_rules`: ClusterConnectInstances (watch,
/// get, finalizer patch, status) and the namespaces' labels (their namespaceSelector).
fn cluster_rules() -> Vec<Rule> {
    let mut rules = vec![
        rule(
            "connect.userops.dev",
            &["clusterconnectinstances"],
            &[],
            &["get", "list", "watch", "patch"],
        ),
        rule(
            "connect.userops.dev",
            &["clusterconnectinstances/status"],
            &[],
            &["patch"],
        ),
        rule("", &["namespaces"], &[], &["get"]),
    ];
    rules.sort();
    rules
}

/// `operator_rules` and `cluster_rules`, as one ClusterRole holds them.
fn cluster_role_rules() -> Vec<Rule> {
    let mut rules = operator_rules();
    rules.extend(cluster_rules());
    rules.sort();
    rules
}

/// Leader election (kube-lease-manager): get the Lease, create it once, then patch it to acquire,
/// renew and release. `create` cannot be restricted by name.
fn lease_rules(lease_name: &str) -> Vec<Rule> {
    let mut rules = vec![
        rule("coordination.k8s.io", &["leases"], &[], &["create"]),
        rule(
            "coordination.k8s.io",
            &["leases"],
            &[lease_name],
            &["get", "patch"],
        ),
    ];
    rules.sort();
    rules
}

/// Environment variable names the binary reads: clap `env = "..."` in src/cli.rs, plus RUST_LOG
/// (tracing's EnvFilter) and the AWS SDK's own variables.
fn env_vars_the_operator_reads() -> BTreeSet<String> {
    let cli = read("src/cli.rs");
    let mut names: BTreeSet<String> = cli
        .match_indices("env = \"")
        .map(|(i, m)| {
            let rest = &cli[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect();
    assert!(
        names.contains("WATCH_NAMESPACES"),
        "src/cli.rs env parsing found {names:?}"
    );
    names.insert("RUST_LOG".into());
    names
}

// ---------------------------------------------------------------------------------------------
// (a) the chart's metadata and values

#[test]
fn chart_yaml_and_values_yaml_parse_with_expected_metadata_and_defaults() {
    let chart = parse_yaml(&format!("{CHART}/Chart.yaml"));
    assert_eq!(get_str(&chart, "apiVersion"), "v2");
    assert_eq!(get_str(&chart, "name"), "connect-user-operator");
    assert_eq!(get_str(&chart, "version"), "0.1.0");
    assert_eq!(
        get_str(&chart, "appVersion"),
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml appVersion follows the crate version"
    );

    let values = parse_yaml(&format!("{CHART}/values.yaml"));
    assert!(values.is_mapping());
    assert_eq!(get(&values, "replicaCount").as_u64(), Some(2));
    assert_eq!(get(&values, "leaderElection.enabled").as_bool(), Some(true));
    assert_eq!(get(&values, "serviceAccount.create").as_bool(), Some(true));
    assert!(get(&values, "serviceAccount.annotations").is_mapping());
    assert_eq!(
        get(&values, "watchNamespaces").as_sequence().map(Vec::len),
        Some(0)
    );
    assert_eq!(
        get(&values, "podSecurityContext.runAsNonRoot").as_bool(),
        Some(true)
    );
    assert_eq!(
        get(&values, "podSecurityContext.runAsUser").as_u64(),
        Some(65532)
    );
    assert_eq!(
        get_str(&values, "podSecurityContext.seccompProfile.type"),
        "RuntimeDefault"
    );
    assert_eq!(
        get(&values, "securityContext.readOnlyRootFilesystem").as_bool(),
        Some(true)
    );
    assert_eq!(
        get(&values, "securityContext.allowPrivilegeEscalation").as_bool(),
        Some(false)
    );
    assert_eq!(
        get(&values, "securityContext.capabilities.drop"),
        &serde_yaml::from_str::<Value>("[ALL]").unwrap()
    );
    assert_eq!(get(&values, "metrics.port").as_u64(), Some(8080));
    assert_eq!(
        get(&values, "metrics.serviceMonitor.enabled").as_bool(),
        Some(false)
    );
    assert_eq!(
        get(&values, "podDisruptionBudget.minAvailable").as_u64(),
        Some(1)
    );
    assert!(["text", "json"].contains(&get_str(&values, "logFormat")));

    let names: BTreeSet<String> = templates().into_iter().map(|(n, _)| n).collect();
    for expected in [
        "_helpers.tpl",
        "deployment.yaml",
        "serviceaccount.yaml",
        "rbac.yaml",
        "service.yaml",
        "servicemonitor.yaml",
        "pdb.yaml",
        "NOTES.txt",
    ] {
        assert!(names.contains(expected), "templates/{expected} is missing");
    }
}

// (b) every .Values path a template uses is declared, and every declared value is used

#[test]
fn every_values_path_used_in_templates_exists_in_values_yaml() {
    let values = parse_yaml(&format!("{CHART}/values.yaml"));
    let mut missing = Vec::new();
    let mut count = 0;
    for (file, text) in templates() {
        for p in values_paths(&text) {
            count += 1;
            let mut cur = &values;
            for (depth, key) in p.iter().enumerate() {
                match cur.get(key.as_str()) {
                    Some(v) => cur = v,
                    None => {
                        missing.push(format!(
                            "{file}: .Values.{} (no `{}`)",
                            p.join("."),
                            p[..=depth].join(".")
                        ));
                        break;
                    }
                }
            }
        }
    }
    assert!(
        count > 30,
        "found only {count} .Values references: is the scanner broken?"
    );
    assert!(
        missing.is_empty(),
        "used in templates but not in values.yaml:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_value_in_values_yaml_is_used_by_a_template() {
    let values = parse_yaml(&format!("{CHART}/values.yaml"));
    let used: BTreeSet<Vec<String>> = templates()
        .iter()
        .flat_map(|(_, t)| values_paths(t))
        .collect();
    // A declared path counts as used when a template reads it, one of its parents (toYaml of a
    // whole block) or one of its children.
    fn walk(
        v: &Value,
        prefix: &mut Vec<String>,
        used: &BTreeSet<Vec<String>>,
        unused: &mut Vec<String>,
    ) {
        let Some(map) = v.as_mapping() else { return };
        for (k, child) in map {
            prefix.push(k.as_str().expect("string keys").to_string());
            let hit = used
                .iter()
                .any(|u| u.starts_with(prefix) || prefix.starts_with(u));
            if !hit {
                unused.push(prefix.join("."));
            } else if !used.iter().any(|u| prefix.starts_with(u)) {
                walk(child, prefix, used, unused);
            }
            prefix.pop();
        }
    }
    let mut unused = Vec::new();
    walk(&values, &mut Vec::new(), &used, &mut unused);
    assert!(
        unused.is_empty(),
        "declared in values.yaml but used by no template: {unused:?}"
    );
}

#[test]
fn helm_templates_have_balanced_blocks() {
    for (file, text) in templates() {
        let mut depth: i32 = 0;
        for action in actions(&text) {
            let word = action.split_whitespace().next().unwrap_or("");
            match word {
                "if" | "with" | "range" | "define" | "block" => depth += 1,
                "end" => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "{file}: `end` without an open block");
        }
        assert_eq!(depth, 0, "{file}: unclosed if/with/range/define");
    }
}

// (c) the CRD copies

#[test]
fn crd_copies_in_chart_and_kustomize_equal_crds_connectuser_yaml_byte_for_byte() {
    let source = std::fs::read(path(CRD)).unwrap();
    for copy in CRD_COPIES {
        let copied = std::fs::read(path(copy)).unwrap_or_else(|e| panic!("reading {copy}: {e}"));
        assert!(
            copied == source,
            "{copy} differs from {CRD} (regenerated?). Re-copy it:\n  cp {CRD} {copy}"
        );
    }
    for file in INSTANCE_CRDS {
        let source = std::fs::read(path(&format!("crds/{file}"))).unwrap();
        for dir in [format!("{CHART}/crds"), "deploy/kustomize/crds".to_string()] {
            let copy = format!("{dir}/{file}");
            let copied =
                std::fs::read(path(&copy)).unwrap_or_else(|e| panic!("reading {copy}: {e}"));
            assert!(
                copied == source,
                "{copy} differs from crds/{file}: cp crds/{file} {copy}"
            );
        }
    }
    let mut chart_crds = Vec::new();
    files_under(&path(&format!("{CHART}/crds")), &mut chart_crds);
    assert_eq!(
        chart_crds.len(),
        1 + INSTANCE_CRDS.len(),
        "the chart's crds/ holds only the operator's CRDs: {chart_crds:?}"
    );
}

// (d) the kustomize base, rendered by the real kubectl

#[test]
fn kustomize_renders_expected_kinds_image_namespace_and_bindings() {
    let docs = kustomize_build();
    let kinds: BTreeMap<String, usize> = docs.iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(get_str(d, "kind").to_string()).or_default() += 1;
        m
    });
    let expected: BTreeMap<String, usize> = [
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ]
    .into_iter()
    // ConnectUser, ConnectInstance, ClusterConnectInstance.
    .map(|k| {
        (
            k.to_string(),
            if k == "CustomResourceDefinition" {
                3
            } else {
                1
            },
        )
    })
    .collect();
    assert_eq!(kinds, expected);

    let crds: BTreeSet<&str> = docs
        .iter()
        .filter(|d| get_str(d, "kind") == "CustomResourceDefinition")
        .map(|d| get_str(d, "metadata.name"))
        .collect();
    assert_eq!(
        crds,
        BTreeSet::from([
            "connectusers.connect.userops.dev",
            "connectinstances.connect.userops.dev",
            "clusterconnectinstances.connect.userops.dev",
        ])
    );
    assert_eq!(
        get_str(one_of_kind(&docs, "Namespace"), "metadata.name"),
        NAMESPACE
    );
    for d in &docs {
        let kind = get_str(d, "kind");
        let cluster_scoped = [
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding",
        ];
        if !cluster_scoped.contains(&kind) {
            assert_eq!(
                get_str(d, "metadata.namespace"),
                NAMESPACE,
                "{kind} namespace"
            );
        }
    }

    // The image: values.yaml's repository at the chart's appVersion.
    let values = parse_yaml(&format!("{CHART}/values.yaml"));
    let chart = parse_yaml(&format!("{CHART}/Chart.yaml"));
    let deployment = one_of_kind(&docs, "Deployment");
    let container = operator_container(deployment);
    let image = format!(
        "{}:{}",
        get_str(&values, "image.repository"),
        get_str(&chart, "appVersion")
    );
    assert_eq!(get_str(container, "image"), image);
    assert_eq!(
        get(container, "args"),
        &serde_yaml::from_str::<Value>("[run]").unwrap()
    );
    assert_eq!(get_str(container, "livenessProbe.httpGet.path"), "/healthz");
    assert_eq!(get_str(container, "readinessProbe.httpGet.path"), "/readyz");

    // Bindings: the Deployment's ServiceAccount, in the operator's namespace, to the roles rendered.
    let sa = get_str(one_of_kind(&docs, "ServiceAccount"), "metadata.name");
    assert_eq!(
        get_str(deployment, "spec.template.spec.serviceAccountName"),
        sa
    );
    for (binding, role) in [
        ("ClusterRoleBinding", "ClusterRole"),
        ("RoleBinding", "Role"),
    ] {
        let b = one_of_kind(&docs, binding);
        assert_eq!(get_str(b, "roleRef.kind"), role);
        assert_eq!(
            get_str(b, "roleRef.name"),
            get_str(one_of_kind(&docs, role), "metadata.name")
        );
        let subjects = get(b, "subjects").as_sequence().unwrap();
        assert_eq!(subjects.len(), 1, "{binding} has one subject");
        assert_eq!(get_str(&subjects[0], "kind"), "ServiceAccount");
        assert_eq!(get_str(&subjects[0], "name"), sa);
        assert_eq!(get_str(&subjects[0], "namespace"), NAMESPACE);
    }

    // Service and PDB select the Deployment's pods.
    let pod_labels = get(deployment, "spec.template.metadata.labels");
    assert_eq!(get(deployment, "spec.selector.matchLabels"), pod_labels);
    let service = one_of_kind(&docs, "Service");
    for (k, v) in get(service, "spec.selector").as_mapping().unwrap() {
        assert_eq!(pod_labels.get(k), Some(v), "Service selector {k:?}");
    }
    assert_eq!(
        get(
            one_of_kind(&docs, "PodDisruptionBudget"),
            "spec.selector.matchLabels"
        ),
        get(deployment, "spec.selector.matchLabels")
    );
}

#[test]
fn kustomize_rbac_is_exactly_what_the_operator_needs_without_wildcards() {
    let docs = kustomize_build();
    let cluster_rules = rules_of(get(one_of_kind(&docs, "ClusterRole"), "rules"));
    let role_rules = rules_of(get(one_of_kind(&docs, "Role"), "rules"));
    assert_no_wildcards("ClusterRole", &cluster_rules);
    assert_no_wildcards("Role", &role_rules);

    let env = env_of(operator_container(one_of_kind(&docs, "Deployment")));
    let lease = env["LEASE_NAME"].clone().expect("LEASE_NAME is set");
    assert_eq!(cluster_rules, cluster_role_rules());
    assert_eq!(role_rules, lease_rules(&lease));
    assert_eq!(env["LEADER_ELECTION"].as_deref(), Some("true"));
}

#[test]
fn kustomize_deployment_matches_the_chart_defaults() {
    let values = parse_yaml(&format!("{CHART}/values.yaml"));
    let docs = kustomize_build();
    let deployment = one_of_kind(&docs, "Deployment");
    let container = operator_container(deployment);
    assert_eq!(
        get(deployment, "spec.replicas"),
        get(&values, "replicaCount")
    );
    assert_eq!(
        get(deployment, "spec.template.spec.securityContext"),
        get(&values, "podSecurityContext")
    );
    assert_eq!(
        get(container, "securityContext"),
        get(&values, "securityContext")
    );
    assert_eq!(get(container, "resources"), get(&values, "resources"));
    assert_eq!(
        get(container, "imagePullPolicy"),
        get(&values, "image.pullPolicy")
    );
    let port = get(&values, "metrics.port").as_u64().unwrap();
    let ports = get(container, "ports").as_sequence().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(get(&ports[0], "containerPort").as_u64(), Some(port));
    let service_ports = get(one_of_kind(&docs, "Service"), "spec.ports")
        .as_sequence()
        .unwrap();
    assert_eq!(get(&service_ports[0], "port").as_u64(), Some(port));
    assert_eq!(
        get(
            one_of_kind(&docs, "PodDisruptionBudget"),
            "spec.minAvailable"
        ),
        get(&values, "podDisruptionBudget.minAvailable")
    );

    let scalar = |key: &str| -> String {
        match get(&values, key) {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => panic!("{key} is not a scalar: {other:?}"),
        }
    };
    let env = env_of(container);
    let expect = [
        ("LEADER_ELECTION", scalar("leaderElection.enabled")),
        ("RESYNC_PERIOD", scalar("resyncPeriod")),
        ("CONCURRENCY", scalar("concurrency")),
        ("CONNECT_RATE", scalar("connect.rate")),
        ("CONNECT_BURST", scalar("connect.burst")),
        ("LOG_FORMAT", scalar("logFormat")),
        ("RUST_LOG", scalar("logLevel")),
        ("METRICS_ADDR", format!("0.0.0.0:{port}")),
    ];
    for (name, value) in expect {
        assert_eq!(env.get(name), Some(&Some(value)), "env {name}");
    }
    for from_field in ["POD_NAME", "POD_NAMESPACE"] {
        assert_eq!(
            env.get(from_field),
            Some(&None),
            "{from_field} comes from the downward API"
        );
    }
}

#[test]
fn deploy_env_vars_are_ones_the_operator_reads() {
    let known = env_vars_the_operator_reads();
    let docs = kustomize_build();
    let kustomize_env: BTreeSet<String> =
        env_of(operator_container(one_of_kind(&docs, "Deployment")))
            .into_keys()
            .collect();
    let template = read(&format!("{CHART}/templates/deployment.yaml"));
    let chart_env: BTreeSet<String> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- name: "))
        .filter(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(String::from)
        .collect();
    assert!(
        chart_env.contains("POD_NAME") && chart_env.contains("WATCH_NAMESPACES"),
        "{chart_env:?}"
    );
    for (what, set) in [("kustomize", &kustomize_env), ("chart", &chart_env)] {
        let unknown: Vec<_> = set.difference(&known).collect();
        assert!(
            unknown.is_empty(),
            "{what} sets env vars the operator never reads: {unknown:?}"
        );
    }
    // The chart exposes every setting the issue asks for.
    for name in [
        "WATCH_NAMESPACES",
        "AWS_REGION",
        "RESYNC_PERIOD",
        "CONCURRENCY",
        "CONNECT_RATE",
        "CONNECT_BURST",
        "LOG_FORMAT",
        "RUST_LOG",
        "METRICS_ADDR",
        "LEADER_ELECTION",
        "LEASE_NAME",
        "POD_NAME",
        "POD_NAMESPACE",
    ] {
        assert!(
            chart_env.contains(name),
            "the chart's Deployment does not set {name}"
        );
    }
}

// (f) the chart's RBAC

#[test]
fn chart_rbac_rules_are_exactly_what_the_operator_needs_without_wildcards() {
    let helpers = read(&format!("{CHART}/templates/_helpers.tpl"));

    let body = define_body(&helpers, "connect-user-operator.rules");
    assert!(
        actions(&body).is_empty(),
        "the rules define holds plain YAML, no template logic"
    );
    let rules = rules_of(&serde_yaml::from_str(&body).expect("rules define is YAML"));
    assert_no_wildcards("chart rules", &rules);
    assert_eq!(rules, operator_rules());
    let body = define_body(&helpers, "connect-user-operator.clusterRules");
    assert!(
        !body.contains("{{"),
        "the clusterRules define holds plain YAML"
    );
    let rules = rules_of(&serde_yaml::from_str(&body).expect("clusterRules define is YAML"));
    assert_no_wildcards("chart cluster rules", &rules);
    assert_eq!(rules, cluster_rules());
    let body = define_body(&helpers, "connect-user-operator.eventRules");
    assert!(
        !body.contains("{{"),
        "the eventRules define holds plain YAML"
    );
    let rules = rules_of(&serde_yaml::from_str(&body).expect("eventRules define is YAML"));
    let events: Vec<Rule> = operator_rules()
        .into_iter()
        .filter(|r| r.resources.iter().any(|x| x == "events"))
        .collect();
    assert_eq!(
        rules, events,
        "eventRules is the events rule of the operator's rules"
    );

    // The lease rules name the Lease through the same helper the Deployment's LEASE_NAME uses.
    let lease_helper = "include \"connect-user-operator.leaseName\" . | quote";
    let body = define_body(&helpers, "connect-user-operator.leaseRules");
    for action in actions(&body) {
        assert_eq!(
            action, lease_helper,
            "unexpected template logic in the lease rules"
        );
    }
    let body = body.replace(&format!("{{{{ {lease_helper} }}}}"), "\"LEASE\"");
    let rules = rules_of(&serde_yaml::from_str(&body).expect("lease rules define is YAML"));
    assert_no_wildcards("chart lease rules", &rules);
    assert_eq!(rules, lease_rules("LEASE"));
    let deployment = read(&format!("{CHART}/templates/deployment.yaml"));
    assert!(
        deployment.contains(&format!(
            "- name: LEASE_NAME\n              value: {{{{ {lease_helper} }}}}"
        )),
        "the Deployment's LEASE_NAME comes from the leaseName helper"
    );
}

#[test]
fn chart_templates_use_no_rbac_wildcards_and_take_rules_only_from_the_checked_helpers() {
    for (file, text) in templates() {
        let text = strip_template_comments(&text);
        for line in text.lines() {
            let key = line.trim_start().trim_start_matches("- ");
            let rbac_key = [
                "apiGroups:",
                "resources:",
                "resourceNames:",
                "verbs:",
                "nonResourceURLs:",
            ]
            .iter()
            .any(|k| key.starts_with(k));
            assert!(
                !(rbac_key && line.contains('*')),
                "{file}: wildcard in RBAC: {line}"
            );
        }
    }
    let rbac = strip_template_comments(&read(&format!("{CHART}/templates/rbac.yaml")));
    assert!(!rbac.contains('*'), "rbac.yaml contains `*`");
    assert!(
        !rbac.contains("verbs:"),
        "rbac.yaml takes its rules from _helpers.tpl only"
    );
    let lines: Vec<&str> = rbac.lines().collect();
    let includes: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[0].trim() == "rules:")
        .map(|w| w[1].trim())
        .collect();
    assert_eq!(
        includes.len(),
        5,
        "Role per namespace, the namespaced install's ClusterConnectInstance ClusterRole and Events Role, ClusterRole, lease Role: {includes:?}"
    );
    for line in includes {
        assert!(
            ["rules", "clusterRules", "eventRules", "leaseRules"]
                .iter()
                .any(|d| line.contains(&format!("include \"connect-user-operator.{d}\""))),
            "rules: followed by {line}"
        );
    }
}

// (e) the IAM policy

/// The operation names of every Connect request in src/connect/ (the one place that sends
/// them): `.call(region, "Operation", ...)`, `.call_permitted(permit, "Operation", ...)` for the
/// calls whose rate-limiter token is taken first, `.all_pages(region, "Operation", ...)` for
/// paged calls, their `_with(priority, ...)` forms (the background sweep's), and the macros that expand to one of these, `on_user!("Operation", ...)` and
/// `list_named!(api, at, "Operation", ...)`. The pager's own `.call(region, operation, ...)` and
/// the macros' bodies (`$operation`) forward the name they are given.
fn connect_operations_called() -> BTreeSet<String> {
    let mut files = Vec::new();
    files_under(&path("src/connect"), &mut files);
    let mut ops = BTreeSet::new();
    let mut send_sites = 0;
    let mut sends = 0;
    for file in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        // STS is not Connect: GetCallerIdentity (an instance object's account) needs no IAM
        // permission, and AssumeRole is aws-config's, granted below as sts:AssumeRole.
        sends +=
            code.matches(".send()").count() - code.matches("get_caller_identity().send()").count();
        let senders = [
            ".call(",
            ".call_permitted(",
            ".all_pages(",
            ".call_with(",
            ".all_pages_with(",
        ];
        let macros = ["on_user!(", "list_named!("];
        for pattern in senders.iter().chain(&macros) {
            for (i, m) in code.match_indices(pattern) {
                let args = &code[i + m.len()..];
                let mut head = &args[..args.find(['|', ';']).unwrap_or(args.len())];
                // The `_with` forms take a priority first, then what the others take.
                let with_priority = pattern.ends_with("_with(");
                if with_priority {
                    head = head.split_once(',').map_or(head, |(_, rest)| rest);
                }
                let compact: String = head.split_whitespace().collect();
                let generic = ["region,operation,", "at,operation,"];
                if generic.contains(&compact.as_str())
                    || (with_priority && generic.iter().any(|g| compact.starts_with(g)))
                {
                    continue;
                }
                if senders.contains(pattern) {
                    send_sites += 1;
                    if compact.contains("$operation") {
                        continue;
                    }
                }
                let name = head.split('"').nth(1).unwrap_or_else(|| {
                    panic!(
                        "{}: `{pattern}` without a literal operation name: {head}",
                        file.display()
                    )
                });
                assert!(
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{}: odd operation name {name:?}",
                    file.display()
                );
                ops.insert(name.to_string());
            }
        }
    }
    assert_eq!(
        sends, send_sites,
        "every SDK `.send()` in src/connect must go through `ConnectApi::call` (which names the operation for \
         this test, the rate limiter and metrics)"
    );
    assert!(
        ops.contains("DeleteUser") && ops.contains("DeleteQuickConnect"),
        "scanner found {ops:?}"
    );
    ops
}

#[test]
fn iam_policy_grants_exactly_the_connect_operations_the_operator_calls() {
    let policy: serde_json::Value =
        serde_json::from_str(&read("deploy/iam-policy.json")).expect("iam-policy.json is JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    let mut granted = BTreeSet::new();
    let mut assume_role = false;
    for statement in policy["Statement"].as_array().expect("Statement list") {
        assert_eq!(statement["Effect"], "Allow");
        // The instance objects' roles: assumed from the pod's own role, on IAM roles only.
        if statement["Action"] == "sts:AssumeRole" {
            let resource = statement["Resource"].as_str().expect("one resource");
            assert!(
                resource.starts_with("arn:aws:iam::") && resource.contains(":role/"),
                "sts:AssumeRole on {resource}, not on roles"
            );
            assume_role = true;
            continue;
        }
        assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none());
        let actions: Vec<&str> = match &statement["Action"] {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().expect("action string"))
                .collect(),
            other => panic!("Action {other}"),
        };
        for action in actions {
            let op = action
                .strip_prefix("connect:")
                .unwrap_or_else(|| panic!("non-Connect action {action}"));
            assert!(
                !op.contains('*') && !op.contains('?'),
                "wildcard action {action}"
            );
            assert!(granted.insert(op.to_string()), "{action} granted twice");
        }
        let resources: Vec<&str> = match &statement["Resource"] {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|v| v.as_str().expect("resource string"))
                .collect(),
            other => panic!("Resource {other}"),
        };
        for r in resources {
            assert!(
                r.starts_with("arn:aws:connect:"),
                "resource {r} is not scoped to Connect"
            );
        }
    }
    assert!(
        assume_role,
        "sts:AssumeRole is granted (instance objects with roleArn)"
    );
    let called = connect_operations_called();
    let missing: Vec<_> = called.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&called).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "deploy/iam-policy.json is out of step with src/connect/:\n  called but not granted: {missing:?}\n  \
         granted but never called: {extra:?}"
    );
}
