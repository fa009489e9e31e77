//! The chart's values.schema.json (JSON Schema draft-07, what Helm validates values with),
//! generated: the chart's own values written out here, the Kubernetes types the chart passes
//! through (resources, security contexts, affinity, tolerations, env) taken from k8s-openapi's
//! schemas. Every object schema with properties gets `additionalProperties: false`, so a
//! misspelt key at any depth is an error instead of a silently ignored value.
//! `tests/helm_chart.rs` checks the committed file against this; regenerate with
//! `WRITE_VALUES_SCHEMA=1 cargo test --test helm_chart values_schema`.

use k8s_openapi::api::core::v1 as core;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// A k8s-openapi type as a self-contained draft-07 schema, descriptions removed (the
/// Kubernetes API reference has them) and int-or-string types spelt out for draft-07.
fn k8s<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut v = generator.into_root_schema_for::<T>().to_value();
    if let Some(m) = v.as_object_mut() {
        m.remove("title");
    }
    tidy(&mut v);
    v
}

fn tidy(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let quantity = m
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|d| d.starts_with("Quantity is a fixed-point"));
            m.remove("description");
            if m.remove("x-kubernetes-int-or-string") == Some(json!(true)) {
                m.insert(
                    "type".into(),
                    if quantity {
                        json!(["string", "number"])
                    } else {
                        json!(["string", "integer"])
                    },
                );
            }
            m.retain(|k, _| !k.starts_with("x-kubernetes-"));
            for (_, child) in m.iter_mut() {
                tidy(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// `additionalProperties: false` on every object schema that lists its properties.
fn close(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), json!(false));
            }
            for (k, child) in m.iter_mut() {
                // Property names are keys of `properties`, not schemas; their values are.
                if k == "properties" {
                    if let Some(props) = child.as_object_mut() {
                        props.values_mut().for_each(close);
                    }
                } else {
                    close(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(close),
        _ => {}
    }
}

fn obj(description: &str, props: Value) -> Value {
    json!({"type": "object", "description": description, "properties": props})
}

fn string(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn boolean(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "description": description, "additionalProperties": {"type": "string"}})
}

fn with_description(mut v: Value, description: &str) -> Value {
    v["description"] = json!(description);
    v
}

/// The schema, as committed in deploy/helm/connect-user-operator/values.schema.json.
pub fn values_schema() -> Value {
    let props = json!({
        "image": obj("The operator's container image.", json!({
            "repository": {"type": "string", "minLength": 1, "description": "Image repository."},
            "tag": string("Image tag; the chart's appVersion when empty."),
            "pullPolicy": {"type": "string", "enum": ["Always", "IfNotPresent", "Never"], "description": "imagePullPolicy."},
        })),
        "imagePullSecrets": with_description(
            json!({"type": "array", "items": k8s::<core::LocalObjectReference>()}),
            "Secrets for pulling the image, e.g. [{name: regcred}]."),
        "nameOverride": string("Replaces the chart name in resource names."),
        "fullnameOverride": string("Replaces the full name (release-chart) of every resource."),
        "replicaCount": {"type": "integer", "minimum": 0, "description": "Replicas; more than 1 needs leaderElection.enabled."},
        "leaderElection": obj("Leader election on a Lease in the release namespace.", json!({
            "enabled": boolean("One replica reconciles, the others wait."),
        })),
        "serviceAccount": obj("The ServiceAccount the operator runs as.", json!({
            "create": boolean("Create it (else it must exist)."),
            "name": string("Its name; the release's full name when empty."),
            "annotations": string_map("e.g. eks.amazonaws.com/role-arn for IRSA."),
        })),
        "aws": obj("AWS settings.", json!({
            "region": {"type": "string", "pattern": "^([a-z]{2}(-[a-z]+){1,2}-[0-9])?$",
                "description": "AWS_REGION: the region of ConnectUsers without spec.region; empty: the SDK's default."},
        })),
        "watchNamespaces": {"type": "array", "uniqueItems": true,
            "items": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
            "description": "Namespaces to manage (a Role in each); empty: all namespaces (a ClusterRole)."},
        "clusterConnectInstances": boolean("With watchNamespaces: serve ClusterConnectInstances too (a ClusterRole for them and namespace labels, a Role for their Events in default)."),
        "resyncPeriod": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(ms|s|m|h)?$",
            "description": "How often in-sync users are compared with Connect: 30s, 10m, 1h."},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "ConnectUsers reconciled at the same time."},
        "settleWindowSeconds": {"type": "integer", "minimum": 0, "description": "SETTLE_WINDOW in seconds: how long Connect may take to agree with itself after a write; every deletion waits this long after DeleteUser."},
        "connect": obj("Client-side rate limit of Connect calls, per region and operation.", json!({
            "rate": {"type": "number", "minimum": 0, "description": "Requests per second; 0 disables the limiter."},
            "burst": {"type": "integer", "minimum": 1, "description": "Burst."},
        })),
        "logLevel": {"type": "string", "minLength": 1, "description": "RUST_LOG filter, e.g. info or info,connect_user_operator=debug."},
        "logFormat": {"type": "string", "enum": ["text", "json"], "description": "Log line format."},
        "resources": with_description(k8s::<core::ResourceRequirements>(), "The container's resources."),
        "podSecurityContext": with_description(k8s::<core::PodSecurityContext>(), "The pod's securityContext."),
        "securityContext": with_description(k8s::<core::SecurityContext>(), "The container's securityContext."),
        "nodeSelector": string_map("The pod's nodeSelector."),
        "tolerations": with_description(json!({"type": "array", "items": k8s::<core::Toleration>()}), "The pod's tolerations."),
        "affinity": with_description(k8s::<core::Affinity>(), "The pod's affinity."),
        "podAnnotations": string_map("Annotations on the pod."),
        "podLabels": string_map("Extra labels on the pod."),
        "metrics": obj("The HTTP port: /metrics, /healthz, /readyz.", json!({
            "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Container and Service port."},
            "service": obj("The metrics Service.", json!({"enabled": boolean("Create it.")})),
            "serviceMonitor": obj("A Prometheus Operator ServiceMonitor (needs its CRDs).", json!({
                "enabled": boolean("Create it (needs metrics.service.enabled)."),
                "interval": {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
                    "description": "Scrape interval (Prometheus duration), e.g. 30s."},
                "labels": string_map("Extra labels, e.g. the one your Prometheus selects ServiceMonitors by."),
            })),
            "prometheusRule": obj("A Prometheus Operator PrometheusRule with the operator's alerts (needs its CRDs); runbooks in docs/runbook.md.", json!({
                "enabled": boolean("Create it."),
                "labels": string_map("Extra labels, e.g. the one your Prometheus selects rules by."),
                "alertLabels": string_map("Labels added to every alert, e.g. team: contact-center."),
                "selector": {"type": "string", "pattern": "^([a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)\"([^\"\\\\]|\\\\.)*\"(,[a-zA-Z_][a-zA-Z0-9_]*(=|!=|=~|!~)\"([^\"\\\\]|\\\\.)*\")*)?$",
                    "description": "PromQL label matchers picking this release's series, e.g. job=\"x\",namespace=\"y\"; empty: the ServiceMonitor's job and namespace."},
                "deletionStuckMarginSeconds": {"type": "integer", "minimum": 0, "description": "A deletion alerts when in progress longer than settleWindowSeconds plus this."},
                "runbookUrl": {"type": "string", "pattern": "^https?://", "description": "Where the alerts' runbook_url annotations point (docs/runbook.md); each alert adds #<its anchor>."},
            })),
            "dashboard": obj("A Grafana dashboard in a ConfigMap, for Grafana's dashboard sidecar.", json!({
                "enabled": boolean("Create it."),
                "labels": string_map("The ConfigMap's labels the sidecar selects by (grafana_dashboard: \"1\")."),
                "annotations": string_map("The ConfigMap's annotations, e.g. grafana_folder."),
                "namespace": {"type": "string", "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$", "maxLength": 63, "description": "The ConfigMap's namespace; empty: the release namespace."},
            })),
        })),
        "podDisruptionBudget": obj("A PodDisruptionBudget, created when replicaCount > 1.", json!({
            "enabled": boolean("Create it."),
            "minAvailable": {"type": ["integer", "string"], "description": "A number or a percentage."},
        })),
        // Helm copies a parent chart's globals into a subchart's values: allowed, unused.
        "global": {"type": "object", "description": "Global values of a parent chart (when this chart is a dependency); not used."},
        "extraEnv": with_description(json!({"type": "array", "items": k8s::<core::EnvVar>()}), "Extra environment variables of the operator container."),
    });
    let mut schema = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "connect-user-operator chart values",
        "type": "object",
        "properties": props,
    });
    close(&mut schema);
    schema
}

/// The committed form: two-space JSON and a final newline.
pub fn values_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&values_schema()).unwrap();
    s.push('\n');
    s
}

/// Every object schema with properties is closed (checks the committed file, not only the
/// generator). Returns the JSON pointers of the open ones.
pub fn open_objects(v: &Value, at: &str, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        if m.contains_key("properties") && m.get("additionalProperties") != Some(&json!(false)) {
            out.push(at.to_string());
        }
        for (k, child) in m {
            if k == "properties" {
                if let Some(props) = child.as_object() {
                    for (name, p) in props {
                        open_objects(p, &format!("{at}/properties/{name}"), out);
                    }
                }
            } else {
                open_objects(child, &format!("{at}/{k}"), out);
            }
        }
    } else if let Value::Array(a) = v {
        for (i, child) in a.iter().enumerate() {
            open_objects(child, &format!("{at}/{i}"), out);
        }
    }
}
