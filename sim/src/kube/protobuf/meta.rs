//! meta/v1 types between the apiserver's JSON form and protobuf: ObjectMeta, ListMeta, Time,
//! Status. Go has no "absent" for plain strings, integers and maps, so an empty value and a
//! missing one are the same object: both decode to a missing JSON field (`omitempty`).

use std::collections::BTreeMap;

use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb;
use serde_json::{Map, Value, json};

/// A JSON string field, `None` when missing or not a string.
pub fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(String::from)
}

/// Inserts `value` unless it is missing or empty.
pub fn put_str(m: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(s) = value.as_deref().filter(|s| !s.is_empty()) {
        m.insert(key.into(), json!(s));
    }
}

pub fn string_map_of(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn put_string_map(m: &mut Map<String, Value>, key: &str, map: &BTreeMap<String, String>) {
    if !map.is_empty() {
        m.insert(key.into(), json!(map));
    }
}

pub fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

pub fn put_strings(m: &mut Map<String, Value>, key: &str, list: &[String]) {
    if !list.is_empty() {
        m.insert(key.into(), json!(list));
    }
}

/// RFC 3339 (the JSON form of metav1.Time, whole seconds) to protobuf.
pub fn time_of(v: &Value, key: &str) -> Option<pb::Time> {
    let s = v.get(key)?.as_str()?;
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(pb::Time {
        seconds: Some(t.timestamp()),
        nanos: Some(0),
    })
}

/// An empty Time message is Go's zero time, which JSON leaves out.
pub fn put_time(m: &mut Map<String, Value>, key: &str, t: &Option<pb::Time>) {
    let Some(t) = t else { return };
    let secs = t.seconds.unwrap_or(0);
    if secs == 0 && t.nanos.unwrap_or(0) == 0 {
        return;
    }
    if let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) {
        m.insert(
            key.into(),
            json!(dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
    }
}

fn owner_ref_to_pb(v: &Value) -> pb::OwnerReference {
    pb::OwnerReference {
        api_version: str_of(v, "apiVersion"),
        kind: str_of(v, "kind"),
        name: str_of(v, "name"),
        uid: str_of(v, "uid"),
        controller: v.get("controller").and_then(Value::as_bool),
        block_owner_deletion: v.get("blockOwnerDeletion").and_then(Value::as_bool),
    }
}

fn owner_ref_to_json(r: &pb::OwnerReference) -> Value {
    // apiVersion, kind, name and uid are required: always written, as Go does.
    let mut m = Map::new();
    for (k, v) in [
        ("apiVersion", &r.api_version),
        ("kind", &r.kind),
        ("name", &r.name),
        ("uid", &r.uid),
    ] {
        m.insert(k.into(), json!(v.clone().unwrap_or_default()));
    }
    if let Some(c) = r.controller {
        m.insert("controller".into(), json!(c));
    }
    if let Some(b) = r.block_owner_deletion {
        m.insert("blockOwnerDeletion".into(), json!(b));
    }
    Value::Object(m)
}

fn managed_to_pb(v: &Value) -> pb::ManagedFieldsEntry {
    pb::ManagedFieldsEntry {
        manager: str_of(v, "manager"),
        operation: str_of(v, "operation"),
        api_version: str_of(v, "apiVersion"),
        time: time_of(v, "time"),
        fields_type: str_of(v, "fieldsType"),
        fields_v1: v
            .get("fieldsV1")
            .filter(|f| !f.is_null())
            .map(|f| pb::FieldsV1 {
                raw: Some(serde_json::to_vec(f).unwrap_or_default()),
            }),
        subresource: str_of(v, "subresource"),
    }
}

fn managed_to_json(e: &pb::ManagedFieldsEntry) -> Result<Value, String> {
    let mut m = Map::new();
    put_str(&mut m, "manager", &e.manager);
    put_str(&mut m, "operation", &e.operation);
    put_str(&mut m, "apiVersion", &e.api_version);
    put_time(&mut m, "time", &e.time);
    put_str(&mut m, "fieldsType", &e.fields_type);
    if let Some(raw) = e.fields_v1.as_ref().and_then(|f| f.raw.as_ref()) {
        let fields: Value = serde_json::from_slice(raw)
            .map_err(|err| format!("metadata.managedFields: fieldsV1 is not JSON: {err}"))?;
        m.insert("fieldsV1".into(), fields);
    }
    put_str(&mut m, "subresource", &e.subresource);
    Ok(Value::Object(m))
}

pub fn object_meta_to_pb(v: &Value) -> pb::ObjectMeta {
    pb::ObjectMeta {
        name: str_of(v, "name"),
        generate_name: str_of(v, "generateName"),
        namespace: str_of(v, "namespace"),
        self_link: str_of(v, "selfLink"),
        uid: str_of(v, "uid"),
        resource_version: str_of(v, "resourceVersion"),
        generation: v.get("generation").and_then(Value::as_i64),
        creation_timestamp: time_of(v, "creationTimestamp"),
        deletion_timestamp: time_of(v, "deletionTimestamp"),
        deletion_grace_period_seconds: v.get("deletionGracePeriodSeconds").and_then(Value::as_i64),
        labels: string_map_of(v, "labels"),
        annotations: string_map_of(v, "annotations"),
        owner_references: v
            .get("ownerReferences")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(owner_ref_to_pb).collect())
            .unwrap_or_default(),
        finalizers: strings_of(v, "finalizers"),
        managed_fields: v
            .get("managedFields")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(managed_to_pb).collect())
            .unwrap_or_default(),
    }
}

pub fn object_meta_to_json(m: &pb::ObjectMeta) -> Result<Value, String> {
    let mut o = Map::new();
    put_str(&mut o, "name", &m.name);
    put_str(&mut o, "generateName", &m.generate_name);
    put_str(&mut o, "namespace", &m.namespace);
    put_str(&mut o, "selfLink", &m.self_link);
    put_str(&mut o, "uid", &m.uid);
    put_str(&mut o, "resourceVersion", &m.resource_version);
    if let Some(g) = m.generation.filter(|g| *g != 0) {
        o.insert("generation".into(), json!(g));
    }
    put_time(&mut o, "creationTimestamp", &m.creation_timestamp);
    put_time(&mut o, "deletionTimestamp", &m.deletion_timestamp);
    if let Some(s) = m.deletion_grace_period_seconds {
        o.insert("deletionGracePeriodSeconds".into(), json!(s));
    }
    put_string_map(&mut o, "labels", &m.labels);
    put_string_map(&mut o, "annotations", &m.annotations);
    if !m.owner_references.is_empty() {
        o.insert(
            "ownerReferences".into(),
            m.owner_references.iter().map(owner_ref_to_json).collect(),
        );
    }
    put_strings(&mut o, "finalizers", &m.finalizers);
    if !m.managed_fields.is_empty() {
        o.insert(
            "managedFields".into(),
            m.managed_fields
                .iter()
                .map(managed_to_json)
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        );
    }
    Ok(Value::Object(o))
}

pub fn list_meta_to_pb(v: &Value) -> pb::ListMeta {
    pb::ListMeta {
        self_link: str_of(v, "selfLink"),
        resource_version: str_of(v, "resourceVersion"),
        r#continue: str_of(v, "continue"),
        remaining_item_count: v.get("remainingItemCount").and_then(Value::as_i64),
    }
}

/// A `Status` (errors) in protobuf.
pub fn status_to_pb(v: &Value) -> pb::Status {
    let details = v
        .get("details")
        .filter(|d| d.is_object())
        .map(|d| pb::StatusDetails {
            name: str_of(d, "name"),
            group: str_of(d, "group"),
            kind: str_of(d, "kind"),
            uid: str_of(d, "uid"),
            causes: d
                .get("causes")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| pb::StatusCause {
                            reason: str_of(c, "reason"),
                            message: str_of(c, "message"),
                            field: str_of(c, "field"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            retry_after_seconds: d
                .get("retryAfterSeconds")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
        });
    pb::Status {
        metadata: Some(list_meta_to_pb(&v["metadata"])),
        status: str_of(v, "status"),
        message: str_of(v, "message"),
        reason: str_of(v, "reason"),
        details,
        code: v
            .get("code")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok()),
    }
}
