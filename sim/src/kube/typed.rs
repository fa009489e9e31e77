//! Built-in kinds served as stored objects validated against k8s-openapi's schemas (its
//! `schemars` implementations, inlined into one structural schema per kind): the kinds the
//! Helm chart and the kustomize base render. The same schema is their OpenAPI v3 for kubectl
//! (`kubectl explain`, field validation), and is applied the way the apiserver decodes a
//! built-in object: unknown fields dropped (and reported per `fieldValidation`), then checked.
//! On top, the apiserver's own validation rules these kinds fail most often in a chart
//! (`rules`): a Deployment whose selector does not select its pods, a container without an
//! image, a PodDisruptionBudget with both minAvailable and maxUnavailable, a changed roleRef.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use super::schema::VersionSchema;
use super::status::Cause;

/// What a schema-validated built-in kind carries.
pub struct TypedInfo {
    pub schema: VersionSchema,
    /// The schema as served in OpenAPI v3 (with k8s-openapi's descriptions).
    pub raw: Value,
}

fn schema_of<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut v = generator.into_root_schema_for::<T>().to_value();
    if let Some(m) = v.as_object_mut() {
        m.remove("title");
        m.remove("$schema");
        m.remove("definitions");
        m.remove("$defs");
        // ObjectMeta is checked by admission::validate_meta, as for every kind; its schema
        // here would prune managedFields' free-form fieldsV1.
        if let Some(p) = m.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert(
                "metadata".into(),
                json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        }
        m.remove("required");
    }
    v
}

/// The schema of a kind that is served typed, by apiVersion and kind.
pub fn schema_for(api_version: &str, kind: &str) -> Option<Value> {
    use k8s_openapi::api::{apps, core, policy, rbac};
    Some(match (api_version, kind) {
        ("apps/v1", "Deployment") => schema_of::<apps::v1::Deployment>(),
        ("v1", "Service") => schema_of::<core::v1::Service>(),
        ("v1", "ServiceAccount") => schema_of::<core::v1::ServiceAccount>(),
        ("v1", "ConfigMap") => schema_of::<core::v1::ConfigMap>(),
        ("policy/v1", "PodDisruptionBudget") => schema_of::<policy::v1::PodDisruptionBudget>(),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => schema_of::<rbac::v1::ClusterRole>(),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            schema_of::<rbac::v1::ClusterRoleBinding>()
        }
        ("rbac.authorization.k8s.io/v1", "Role") => schema_of::<rbac::v1::Role>(),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => schema_of::<rbac::v1::RoleBinding>(),
        _ => return None,
    })
}

pub fn info(api_version: &str, kind: &str) -> Option<TypedInfo> {
    let raw = schema_for(api_version, kind)?;
    let schema = VersionSchema::new(&raw)
        .unwrap_or_else(|e| panic!("k8s-openapi's {api_version} {kind} schema compiles: {e}"));
    Some(TypedInfo { schema, raw })
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
        field: field.into(),
    }
}

fn invalid(field: &str, message: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message,
        field: field.into(),
    }
}

fn string_map(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A label selector's match against a set of labels (matchLabels and matchExpressions).
fn selects(selector: &Value, labels: &[(String, String)]) -> bool {
    let value = |k: &str| labels.iter().find(|(l, _)| l == k).map(|(_, v)| v.as_str());
    let ok_labels = string_map(&selector["matchLabels"])
        .iter()
        .all(|(k, v)| value(k) == Some(v.as_str()));
    let ok_exprs = selector["matchExpressions"]
        .as_array()
        .map(|es| {
            es.iter().all(|e| {
                let key = e["key"].as_str().unwrap_or_default();
                let values: Vec<&str> = e["values"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                match e["operator"].as_str().unwrap_or_default() {
                    "In" => value(key).is_some_and(|v| values.contains(&v)),
                    "NotIn" => value(key).is_none_or(|v| !values.contains(&v)),
                    "Exists" => value(key).is_some(),
                    "DoesNotExist" => value(key).is_none(),
                    _ => false,
                }
            })
        })
        .unwrap_or(true);
    ok_labels && ok_exprs
}

fn pod_template_rules(template: &Value, at: &str, causes: &mut Vec<Cause>) {
    let containers = template
        .pointer("/spec/containers")
        .and_then(Value::as_array);
    match containers {
        None => causes.push(required(&format!("{at}.spec.containers"))),
        Some(cs) if cs.is_empty() => causes.push(required(&format!("{at}.spec.containers"))),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                let name = c["name"].as_str().unwrap_or_default();
                if !super::admission::is_dns_label(name) {
                    causes.push(invalid(
                        &format!("{at}.spec.containers[{i}].name"),
                        format!("Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"),
                    ));
                }
                if c["image"].as_str().is_none_or(|s| s.trim().is_empty()) {
                    causes.push(required(&format!("{at}.spec.containers[{i}].image")));
                }
                for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
                    let port = p["containerPort"].as_i64().unwrap_or(0);
                    if !(1..=65535).contains(&port) {
                        causes.push(invalid(
                            &format!("{at}.spec.containers[{i}].ports[{j}].containerPort"),
                            format!(
                                "Invalid value: {port}: must be between 1 and 65535, inclusive"
                            ),
                        ));
                    }
                }
            }
        }
    }
}

/// The apiserver's validation beyond the schema, for the kinds served typed.
pub fn rules(kind: &str, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    match kind {
        "Deployment" => {
            let spec = &obj["spec"];
            let selector = &spec["selector"];
            let empty = string_map(&selector["matchLabels"]).is_empty()
                && selector["matchExpressions"]
                    .as_array()
                    .is_none_or(Vec::is_empty);
            if empty {
                causes.push(required("spec.selector"));
            } else {
                let labels = string_map(&spec["template"]["metadata"]["labels"]);
                if !selects(selector, &labels) {
                    causes.push(invalid(
                        "spec.template.metadata.labels",
                        format!(
                            "Invalid value: {}: `selector` does not match template `labels`",
                            json!(
                                labels
                                    .into_iter()
                                    .collect::<std::collections::BTreeMap<_, _>>()
                            )
                        ),
                    ));
                }
            }
            if let Some(r) = spec["replicas"].as_i64().filter(|r| *r < 0) {
                causes.push(invalid(
                    "spec.replicas",
                    format!("Invalid value: {r}: must be greater than or equal to 0"),
                ));
            }
            pod_template_rules(&spec["template"], "spec.template", &mut causes);
            if let Some(old) = old
                && old["spec"]["selector"] != obj["spec"]["selector"]
            {
                causes.push(invalid(
                    "spec.selector",
                    format!(
                        "Invalid value: {}: field is immutable",
                        obj["spec"]["selector"]
                    ),
                ));
            }
        }
        "PodDisruptionBudget"
            if obj["spec"].get("minAvailable").is_some()
                && obj["spec"].get("maxUnavailable").is_some() =>
        {
            causes.push(invalid(
                "spec",
                "Invalid value: \"\": minAvailable and maxUnavailable cannot be both set".into(),
            ));
        }
        "Service" => {
            for (i, p) in obj["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let port = p["port"].as_i64().unwrap_or(0);
                if !(1..=65535).contains(&port) {
                    causes.push(invalid(
                        &format!("spec.ports[{i}].port"),
                        format!("Invalid value: {port}: must be between 1 and 65535, inclusive"),
                    ));
                }
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            if let Some(old) = old
                && old["roleRef"] != obj["roleRef"]
            {
                causes.push(invalid(
                    "roleRef",
                    format!("Invalid value: {}: cannot change roleRef", obj["roleRef"]),
                ));
            }
            for (i, s) in obj["subjects"].as_array().into_iter().flatten().enumerate() {
                if s["kind"] == "ServiceAccount"
                    && s["namespace"].as_str().is_none_or(str::is_empty)
                {
                    causes.push(required(&format!("subjects[{i}].namespace")));
                }
            }
        }
        _ => {}
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(causes: &[Cause]) -> Vec<&str> {
        causes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn the_apiservers_rules_beyond_the_schema() {
        let pdb = json!({"spec": {"minAvailable": 1, "maxUnavailable": 1}});
        assert_eq!(fields(&rules("PodDisruptionBudget", &pdb, None)), ["spec"]);
        assert!(
            rules(
                "PodDisruptionBudget",
                &json!({"spec": {"minAvailable": "50%"}}),
                None
            )
            .is_empty()
        );
        let rb = json!({"roleRef": {"kind": "Role", "name": "a"}, "subjects": [{"kind": "ServiceAccount", "name": "x"}]});
        let changed = json!({"roleRef": {"kind": "Role", "name": "b"}, "subjects": []});
        assert_eq!(
            fields(&rules("RoleBinding", &rb, None)),
            ["subjects[0].namespace"]
        );
        assert_eq!(
            fields(&rules("RoleBinding", &changed, Some(&rb))),
            ["roleRef"]
        );
        let d = json!({"spec": {
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]},
            "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}]}}}});
        assert!(rules("Deployment", &d, None).is_empty());
        let mut moved = d.clone();
        moved["spec"]["selector"]["matchExpressions"][0]["values"] = json!(["y"]);
        assert_eq!(
            fields(&rules("Deployment", &moved, Some(&d))),
            ["spec.template.metadata.labels", "spec.selector"]
        );
        let mut bad = d.clone();
        bad["spec"]["template"]["spec"]["containers"][0] =
            json!({"name": "Bad_Name", "ports": [{"containerPort": 0}]});
        bad["spec"]["replicas"] = json!(-1);
        assert_eq!(
            fields(&rules("Deployment", &bad, None)),
            [
                "spec.replicas",
                "spec.template.spec.containers[0].name",
                "spec.template.spec.containers[0].image",
                "spec.template.spec.containers[0].ports[0].containerPort"
            ]
        );
        let svc = json!({"spec": {"ports": [{"port": 70000}]}});
        assert_eq!(
            fields(&rules("Service", &svc, None)),
            ["spec.ports[0].port"]
        );
    }

    #[test]
    fn every_typed_kind_compiles_with_descriptions() {
        for (av, kind) in [
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "ServiceAccount"),
            ("v1", "ConfigMap"),
            ("policy/v1", "PodDisruptionBudget"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ] {
            let t = info(av, kind).unwrap();
            assert!(t.raw["properties"]["metadata"].is_object(), "{kind}");
            assert!(!t.raw.to_string().contains("$ref"), "{kind}: inlined");
        }
        let d = schema_for("apps/v1", "Deployment").unwrap();
        let containers = &d["properties"]["spec"]["properties"]["template"]["properties"]["spec"]["properties"]
            ["containers"];
        assert_eq!(containers["type"], "array");
        assert!(
            containers["description"]
                .as_str()
                .unwrap()
                .contains("containers")
        );
        assert_eq!(containers["items"]["required"], json!(["name"]));
    }
}
