//! core/v1 Namespace, Secret and ConfigMap (and their lists) between JSON and protobuf.

use k8s_pb::api::core::v1 as pb;
use prost::Message;
use serde_json::{Map, Value, json};

use super::meta::*;
use crate::kube::admission::base64;

fn meta_pb(v: &Value) -> Option<k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta> {
    v.get("metadata").map(object_meta_to_pb)
}

fn with_meta(
    api_version: &str,
    kind: &str,
    meta: &Option<k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
) -> Result<Map<String, Value>, String> {
    let mut o = Map::new();
    o.insert("apiVersion".into(), json!(api_version));
    o.insert("kind".into(), json!(kind));
    o.insert(
        "metadata".into(),
        match meta {
            Some(m) => object_meta_to_json(m)?,
            None => json!({}),
        },
    );
    Ok(o)
}

fn bytes_map_of(
    v: &Value,
    key: &str,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, String> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(m) = v.get(key).and_then(Value::as_object) {
        for (k, val) in m {
            let text = val.as_str().unwrap_or_default();
            let bytes =
                decode_base64(text).ok_or_else(|| format!("illegal base64 data in {key}[{k}]"))?;
            out.insert(k.clone(), bytes);
        }
    }
    Ok(out)
}

fn put_bytes_map(
    o: &mut Map<String, Value>,
    key: &str,
    m: &std::collections::BTreeMap<String, Vec<u8>>,
) {
    if !m.is_empty() {
        let encoded: Map<String, Value> = m
            .iter()
            .map(|(k, v)| (k.clone(), json!(base64(v))))
            .collect();
        o.insert(key.into(), Value::Object(encoded));
    }
}

pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if !s.len().is_multiple_of(4) {
        return None;
    }
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in body.bytes() {
        let d = B64.iter().position(|b| *b == c)? as u32;
        acc = (acc << 6) | d;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// --- Namespace

fn namespace_to_pb(v: &Value) -> pb::Namespace {
    pb::Namespace {
        metadata: meta_pb(v),
        spec: v.get("spec").map(|s| pb::NamespaceSpec {
            finalizers: strings_of(s, "finalizers"),
        }),
        status: v.get("status").map(|s| pb::NamespaceStatus {
            phase: str_of(s, "phase"),
            conditions: s
                .get("conditions")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| pb::NamespaceCondition {
                            r#type: str_of(c, "type"),
                            status: str_of(c, "status"),
                            last_transition_time: time_of(c, "lastTransitionTime"),
                            reason: str_of(c, "reason"),
                            message: str_of(c, "message"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }),
    }
}

fn namespace_to_json(n: &pb::Namespace) -> Result<Value, String> {
    let mut o = with_meta("v1", "Namespace", &n.metadata)?;
    if let Some(spec) = &n.spec {
        let mut s = Map::new();
        put_strings(&mut s, "finalizers", &spec.finalizers);
        o.insert("spec".into(), Value::Object(s));
    }
    if let Some(status) = &n.status {
        let mut s = Map::new();
        put_str(&mut s, "phase", &status.phase);
        if !status.conditions.is_empty() {
            let cs: Vec<Value> = status
                .conditions
                .iter()
                .map(|c| {
                    let mut m = Map::new();
                    // type and status are required: always written.
                    m.insert("type".into(), json!(c.r#type.clone().unwrap_or_default()));
                    m.insert("status".into(), json!(c.status.clone().unwrap_or_default()));
                    put_time(&mut m, "lastTransitionTime", &c.last_transition_time);
                    put_str(&mut m, "reason", &c.reason);
                    put_str(&mut m, "message", &c.message);
                    Value::Object(m)
                })
                .collect();
            s.insert("conditions".into(), cs.into());
        }
        o.insert("status".into(), Value::Object(s));
    }
    Ok(Value::Object(o))
}

// --- Secret

fn secret_to_pb(v: &Value) -> Result<pb::Secret, String> {
    Ok(pb::Secret {
        metadata: meta_pb(v),
        immutable: v.get("immutable").and_then(Value::as_bool),
        data: bytes_map_of(v, "data")?,
        string_data: string_map_of(v, "stringData"),
        r#type: str_of(v, "type"),
    })
}

fn secret_to_json(s: &pb::Secret) -> Result<Value, String> {
    let mut o = with_meta("v1", "Secret", &s.metadata)?;
    if let Some(i) = s.immutable {
        o.insert("immutable".into(), json!(i));
    }
    put_bytes_map(&mut o, "data", &s.data);
    put_string_map(&mut o, "stringData", &s.string_data);
    put_str(&mut o, "type", &s.r#type);
    Ok(Value::Object(o))
}

// --- ConfigMap

fn config_map_to_pb(v: &Value) -> Result<pb::ConfigMap, String> {
    Ok(pb::ConfigMap {
        metadata: meta_pb(v),
        immutable: v.get("immutable").and_then(Value::as_bool),
        data: string_map_of(v, "data"),
        binary_data: bytes_map_of(v, "binaryData")?,
    })
}

fn config_map_to_json(c: &pb::ConfigMap) -> Result<Value, String> {
    let mut o = with_meta("v1", "ConfigMap", &c.metadata)?;
    if let Some(i) = c.immutable {
        o.insert("immutable".into(), json!(i));
    }
    put_string_map(&mut o, "data", &c.data);
    put_bytes_map(&mut o, "binaryData", &c.binary_data);
    Ok(Value::Object(o))
}

// --- dispatch by kind

/// The raw protobuf message of a core/v1 object or list given in JSON; `None` for a kind
/// not spoken here.
pub fn encode(kind: &str, v: &Value) -> Option<Result<Vec<u8>, String>> {
    let list_meta = || v.get("metadata").map(list_meta_to_pb);
    let items = || {
        v.get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let bytes = match kind {
        "Namespace" => Ok(namespace_to_pb(v).encode_to_vec()),
        "Secret" => secret_to_pb(v).map(|m| m.encode_to_vec()),
        "ConfigMap" => config_map_to_pb(v).map(|m| m.encode_to_vec()),
        "NamespaceList" => Ok(pb::NamespaceList {
            metadata: list_meta(),
            items: items().iter().map(namespace_to_pb).collect(),
        }
        .encode_to_vec()),
        "SecretList" => items()
            .iter()
            .map(secret_to_pb)
            .collect::<Result<Vec<_>, _>>()
            .map(|items| {
                pb::SecretList {
                    metadata: list_meta(),
                    items,
                }
                .encode_to_vec()
            }),
        "ConfigMapList" => items()
            .iter()
            .map(config_map_to_pb)
            .collect::<Result<Vec<_>, _>>()
            .map(|items| {
                pb::ConfigMapList {
                    metadata: list_meta(),
                    items,
                }
                .encode_to_vec()
            }),
        _ => return None,
    };
    Some(bytes)
}

/// The JSON form of a raw protobuf core/v1 object; `None` for a kind not spoken here.
pub fn decode(kind: &str, raw: &[u8]) -> Option<Result<Value, String>> {
    let err = |e: prost::DecodeError| e.to_string();
    let v = match kind {
        "Namespace" => pb::Namespace::decode(raw)
            .map_err(err)
            .and_then(|n| namespace_to_json(&n)),
        "Secret" => pb::Secret::decode(raw)
            .map_err(err)
            .and_then(|s| secret_to_json(&s)),
        "ConfigMap" => pb::ConfigMap::decode(raw)
            .map_err(err)
            .and_then(|c| config_map_to_json(&c)),
        _ => return None,
    };
    Some(v)
}
