//! The apiserver's protobuf wire format for the built-in kinds kubectl sends that way
//! (`kubectl create namespace`, `kubectl create secret generic`, `kubectl create configmap`):
//! the `k8s\0` magic, then a `runtime.Unknown` whose `typeMeta` names the kind and whose `raw`
//! holds the object's message (the prost types of `k8s-pb`). Bodies are turned into the JSON
//! form every other part of the server works on; responses are encoded back when the client
//! prefers protobuf. Kinds other than core/v1 Namespace, Secret and ConfigMap (and their
//! lists, and `Status`) are JSON only here, as custom resources are on a real apiserver.

mod core;
mod meta;

use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message;
use serde_json::Value;

use super::registry::ResourceType;
use super::status::{ApiError, ApiResult};

/// Standard base64, as the JSON form of `bytes` fields.
pub use super::admission::base64;

pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// Every protobuf-encoded object starts with these four bytes.
pub const MAGIC: [u8; 4] = *b"k8s\0";

/// Whether objects of this resource are spoken in protobuf here.
pub fn serves(group: &str, version: &str, plural: &str) -> bool {
    group.is_empty() && version == "v1" && matches!(plural, "namespaces" | "secrets" | "configmaps")
}

pub(crate) fn serves_type(rt: &ResourceType) -> bool {
    serves(&rt.group, &rt.version, &rt.plural)
}

/// What the `Accept` header asks for, in the client's order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Json,
    Protobuf,
}

/// The first media range of `accept` this server can produce for a resource that does
/// (`protobuf_ok`) or does not speak protobuf; `None` when none is acceptable (406).
pub fn negotiate(accept: &str, protobuf_ok: bool) -> Option<Wire> {
    if accept.trim().is_empty() {
        return Some(Wire::Json);
    }
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<&str> = parts.collect();
        if params.iter().any(|p| p.replace(' ', "") == "q=0") {
            continue;
        }
        match media.as_str() {
            MEDIA_TYPE if protobuf_ok && !params.iter().any(|p| p.starts_with("as=")) => {
                return Some(Wire::Protobuf);
            }
            "application/json" | "application/yaml" | "*/*" | "application/*" => {
                return Some(Wire::Json);
            }
            _ => {}
        }
    }
    None
}

pub(crate) fn not_acceptable(protobuf_ok: bool) -> ApiError {
    let mut types = vec!["application/json", "application/yaml"];
    if protobuf_ok {
        types.push(MEDIA_TYPE);
    }
    ApiError::not_acceptable(format!(
        "only the following media types are accepted: {}",
        types.join(", ")
    ))
}

/// `k8s\0` + Unknown{typeMeta, raw} around an already encoded message.
pub fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.to_string()),
            kind: Some(kind.to_string()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = MAGIC.to_vec();
    unknown.encode(&mut out).expect("a Vec grows as needed");
    out
}

/// The protobuf form of a response body (an object, a list or a Status) in JSON; `None` when
/// its kind is not spoken here.
pub fn encode(body: &Value) -> Option<Vec<u8>> {
    let kind = body.get("kind").and_then(Value::as_str)?;
    let api_version = body.get("apiVersion").and_then(Value::as_str)?;
    let raw = if kind == "Status" {
        meta::status_to_pb(body).encode_to_vec()
    } else if api_version == "v1" {
        core::encode(kind, body)?.ok()?
    } else {
        return None;
    };
    Some(envelope(api_version, kind, raw))
}

fn summarize(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(30)]).into_owned();
    if body.len() > 30 {
        format!("{text} ...")
    } else {
        text
    }
}

/// Why a protobuf body could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    /// The `k8s\0` magic is missing.
    NotProtobuf,
    /// The `runtime.Unknown` envelope is not a valid message.
    Envelope(String),
    /// The envelope names no kind.
    NoKind,
    /// A kind not spoken here, or an `apiVersion` other than `v1`.
    UnknownKind { api_version: String, kind: String },
    /// `contentEncoding` is set (the apiserver never sets it).
    Encoding { kind: String, encoding: String },
    /// The object's own message does not decode.
    Message { kind: String, why: String },
}

/// A protobuf-encoded core/v1 Namespace, Secret or ConfigMap, as its JSON form.
pub fn decode_object(body: &[u8]) -> Result<Value, DecodeError> {
    if body.len() < MAGIC.len() || body[..MAGIC.len()] != MAGIC {
        return Err(DecodeError::NotProtobuf);
    }
    let unknown =
        Unknown::decode(&body[MAGIC.len()..]).map_err(|e| DecodeError::Envelope(e.to_string()))?;
    let type_meta = unknown.type_meta.unwrap_or_default();
    let api_version = type_meta.api_version.unwrap_or_default();
    let kind = type_meta.kind.unwrap_or_default();
    if kind.is_empty() {
        return Err(DecodeError::NoKind);
    }
    if let Some(encoding) = unknown.content_encoding.filter(|e| !e.is_empty()) {
        return Err(DecodeError::Encoding { kind, encoding });
    }
    if api_version != "v1" {
        return Err(DecodeError::UnknownKind { api_version, kind });
    }
    match core::decode(&kind, &unknown.raw.unwrap_or_default()) {
        None => Err(DecodeError::UnknownKind { api_version, kind }),
        Some(Err(why)) => Err(DecodeError::Message { kind, why }),
        Some(Ok(v)) => Ok(v),
    }
}

/// A create/update body in protobuf, as the JSON object it encodes. Errors are what the
/// apiserver answers: 415 for a kind that is JSON-only, 400 for a body that does not decode.
pub(crate) fn decode(rt: &ResourceType, body: &[u8]) -> ApiResult<Value> {
    if !serves_type(rt) {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {MEDIA_TYPE}: protobuf is spoken here only for v1 Namespace, Secret and ConfigMap)"
        )));
    }
    let unrecognized = |why: String| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): {why}",
            rt.kind
        ))
    };
    let cannot = |kind: &str, version: &str, why: String| {
        ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: {why}",
            rt.kind
        ))
    };
    decode_object(body).map_err(|e| match e {
        DecodeError::NotProtobuf => unrecognized(format!(
            "provided data does not appear to be a protobuf message, expected prefix {:?} ({})",
            MAGIC,
            summarize(body)
        )),
        DecodeError::Envelope(why) => unrecognized(format!("proto: runtime.Unknown: {why}")),
        DecodeError::NoKind => {
            unrecognized("Object 'Kind' is missing in the protobuf envelope".into())
        }
        DecodeError::UnknownKind { api_version, kind } => cannot(
            &kind,
            api_version.rsplit('/').next().unwrap_or_default(),
            format!("no kind \"{kind}\" is registered for version \"{api_version}\""),
        ),
        DecodeError::Encoding { kind, encoding } => cannot(
            &kind,
            "v1",
            format!("unsupported content encoding {encoding:?}"),
        ),
        DecodeError::Message { kind, why } => cannot(&kind, "v1", format!("proto: {why}")),
    })
}
