//! CustomResourceDefinitions: validation of the CRD itself, its status (accepted names and the
//! NamesAccepted/Established conditions scripts wait for), and the resource types it serves.

use std::sync::Arc;

use serde_json::{Value, json};

use super::registry::{Column, CustomInfo, Flavor, ResourceType};
use super::schema::VersionSchema;
use super::status::Cause;

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn strings(v: &Value, ptr: &str) -> Vec<String> {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn cause(field: &str, message: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message,
        field: field.into(),
    }
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
        field: field.into(),
    }
}

/// Fills the defaults the apiserver sets on a CRD (singular, listKind, conversion).
pub fn default(crd: &mut Value) {
    let kind = s(crd, "/spec/names/kind").to_string();
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        if names
            .get("singular")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("singular".into(), json!(kind.to_lowercase()));
        }
        if names
            .get("listKind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("listKind".into(), json!(format!("{kind}List")));
        }
    }
    if let Some(spec) = crd.get_mut("spec").and_then(Value::as_object_mut) {
        spec.entry("conversion")
            .or_insert_with(|| json!({"strategy": "None"}));
    }
}

/// Checks a CRD and compiles its schemas. Errors are causes for a 422.
pub fn build(crd: &Value) -> Result<Vec<Arc<ResourceType>>, Vec<Cause>> {
    let mut causes = Vec::new();
    let name = s(crd, "/metadata/name");
    let group = s(crd, "/spec/group");
    let plural = s(crd, "/spec/names/plural");
    let kind = s(crd, "/spec/names/kind");
    if group.is_empty() {
        causes.push(required("spec.group"));
    } else if !group.contains('.') {
        causes.push(cause(
            "spec.group",
            format!("Invalid value: \"{group}\": should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        causes.push(required("spec.names.plural"));
    } else if !super::admission::is_dns_label(plural) {
        causes.push(cause("spec.names.plural", format!("Invalid value: \"{plural}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character")));
    }
    if kind.is_empty() {
        causes.push(required("spec.names.kind"));
    }
    if name != format!("{plural}.{group}") {
        causes.push(cause(
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = s(crd, "/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
            field: "spec.scope".into(),
        });
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        causes.push(required("spec.versions"));
    }
    let storage_count = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count();
    if !versions.is_empty() && storage_count != 1 {
        causes.push(cause(
            "spec.versions",
            format!(
                "Invalid value: {:?}: must have exactly one version marked as storage version",
                versions.iter().map(|v| s(v, "/name")).collect::<Vec<_>>()
            ),
        ));
    }
    let mut types = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let vname = s(v, "/name");
        if vname.is_empty() {
            causes.push(required(&format!("spec.versions[{i}].name")));
        }
        let raw = v.pointer("/schema/openAPIV3Schema").cloned();
        let Some(raw) = raw else {
            causes.push(required(&format!(
                "spec.versions[{i}].schema.openAPIV3Schema"
            )));
            continue;
        };
        let schema = match VersionSchema::new(&raw) {
            Ok(schema) => schema,
            Err(e) => {
                causes.push(cause(
                    &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    format!("Invalid value: \"\": {e}"),
                ));
                continue;
            }
        };
        if v["served"].as_bool() != Some(true) {
            continue;
        }
        let mut columns: Vec<Column> = v
            .get("additionalPrinterColumns")
            .and_then(Value::as_array)
            .map(|cols| {
                cols.iter()
                    .map(|c| Column {
                        name: s(c, "/name").into(),
                        type_: s(c, "/type").into(),
                        format: s(c, "/format").into(),
                        description: s(c, "/description").into(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                        json_path: s(c, "/jsonPath").into(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        if v.get("additionalPrinterColumns").is_none() {
            columns.push(Column {
                name: "Age".into(),
                type_: "date".into(),
                format: String::new(),
                description: String::new(),
                priority: 0,
                json_path: ".metadata.creationTimestamp".into(),
            });
        }
        let selectable = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|f| s(f, "/jsonPath").to_string()).collect())
            .unwrap_or_default();
        types.push(Arc::new(ResourceType {
            group: group.into(),
            version: vname.into(),
            kind: kind.into(),
            list_kind: s(crd, "/spec/names/listKind").into(),
            plural: plural.into(),
            singular: s(crd, "/spec/names/singular").into(),
            short_names: strings(crd, "/spec/names/shortNames"),
            categories: strings(crd, "/spec/names/categories"),
            namespaced: scope == "Namespaced",
            storage: format!("crd:{name}"),
            status_subresource: v.pointer("/subresources/status").is_some(),
            generation: true,
            flavor: Flavor::Custom,
            typed: None,
            custom: Some(CustomInfo {
                crd_name: name.into(),
                schema: Some(schema),
                raw_schema: raw,
                columns,
                selectable,
            }),
        }));
    }
    if causes.is_empty() {
        Ok(types)
    } else {
        Err(causes)
    }
}

/// The status a healthy CRD reaches immediately on this server.
pub fn set_status(crd: &mut Value, now: &str, previous: Option<&Value>) {
    let names = crd.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let mut stored: Vec<String> = previous
        .map(|p| strings(p, "/status/storedVersions"))
        .unwrap_or_default();
    if let Some(storage) = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v["storage"].as_bool() == Some(true)))
        .and_then(|v| v["name"].as_str())
        && !stored.iter().any(|s| s == storage)
    {
        stored.push(storage.to_string());
    }
    let since = |ty: &str| {
        previous
            .and_then(|p| p.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
            .and_then(|c| c["lastTransitionTime"].as_str())
            .unwrap_or(now)
            .to_string()
    };
    let terminating = crd
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null());
    let mut conditions = vec![
        json!({"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
               "message": "no conflicts found", "lastTransitionTime": since("NamesAccepted")}),
        json!({"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
               "message": "the initial names have been accepted", "lastTransitionTime": since("Established")}),
    ];
    if terminating {
        conditions.push(
            json!({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
            "message": "CustomResource deletion is in progress", "lastTransitionTime": now}),
        );
    }
    crd["status"] = json!({
        "acceptedNames": names,
        "conditions": conditions,
        "storedVersions": stored,
    });
}
