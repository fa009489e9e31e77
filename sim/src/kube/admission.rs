//! What the apiserver checks and rewrites before storing an object: metadata validation, the
//! per-kind rules of the built-ins the operator touches, and CRD schema pruning, defaulting and
//! validation (delegated to `schema.rs`).

use serde_json::{Value, json};

use super::events;
use super::registry::{Flavor, ResourceType};
use super::status::{ApiError, ApiResult, Cause};

/// The `fieldValidation` query parameter. The apiserver's default (v1.23+) is Warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(v: Option<&str>) -> ApiResult<FieldValidation> {
        match v {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: \"{value}\": {detail}"),
        field: field.into(),
    }
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn is_qualified_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn is_qualified_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_dns_subdomain(prefix) && is_qualified_part(name),
        None => is_qualified_part(s),
    }
}

fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_qualified_part(s)
}

/// ObjectMeta validation shared by all kinds.
pub fn validate_meta(rt: &ResourceType, obj: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let meta = &obj["metadata"];
    let name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
    if rt.flavor == Flavor::Namespace {
        if !is_dns_label(name) {
            causes.push(invalid("metadata.name", name, LABEL_MSG));
        }
    } else if !is_dns_subdomain(name) || name.is_empty() {
        causes.push(invalid("metadata.name", name, SUBDOMAIN_MSG));
    }
    if let Some(labels) = meta.get("labels") {
        match labels.as_object() {
            Some(m) => {
                for (k, v) in m {
                    if !is_qualified_name(k) {
                        causes.push(invalid("metadata.labels", k, QUALIFIED_MSG));
                    }
                    match v.as_str() {
                        Some(s) if is_label_value(s) => {}
                        _ => causes.push(invalid(
                            &format!("metadata.labels[{k}]"),
                            &value_text(v),
                            LABEL_VALUE_MSG,
                        )),
                    }
                }
            }
            None if labels.is_null() => {}
            None => causes.push(invalid(
                "metadata.labels",
                &labels.to_string(),
                "must be a map of strings",
            )),
        }
    }
    if let Some(m) = meta.get("annotations").and_then(Value::as_object) {
        let mut size = 0;
        for (k, v) in m {
            size += k.len() + v.as_str().map_or(0, str::len);
            if !is_qualified_name(&k.to_lowercase()) {
                causes.push(invalid("metadata.annotations", k, QUALIFIED_MSG));
            }
            if !v.is_string() {
                causes.push(invalid(
                    &format!("metadata.annotations[{k}]"),
                    &v.to_string(),
                    "must be a string",
                ));
            }
        }
        if size > 256 * 1024 {
            causes.push(Cause {
                reason: "FieldValueTooLong".into(),
                message: "Too long: must have at most 262144 bytes".into(),
                field: "metadata.annotations".into(),
            });
        }
    }
    if let Some(list) = meta.get("finalizers").and_then(Value::as_array) {
        for (i, f) in list.iter().enumerate() {
            let s = f.as_str().unwrap_or_default();
            if !is_qualified_name(s) {
                causes.push(invalid(
                    &format!("metadata.finalizers[{i}]"),
                    s,
                    QUALIFIED_MSG,
                ));
            }
        }
    }
    causes
}

fn value_text(v: &Value) -> String {
    v.as_str()
        .map(String::from)
        .unwrap_or_else(|| v.to_string())
}

/// Per-kind rules of the built-ins. Returns field causes (422) or a request error.
pub fn prepare_builtin(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
) -> ApiResult<Vec<Cause>> {
    match rt.flavor {
        Flavor::Secret => prepare_secret(obj, old),
        Flavor::Namespace => {
            let name = obj["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !obj["metadata"]["labels"].is_object() {
                obj["metadata"]["labels"] = json!({});
            }
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            if old.is_none() {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                obj["status"] = json!({"phase": "Active"});
            }
            Ok(Vec::new())
        }
        Flavor::CoreEvent => Ok(events::validate(obj, false)),
        Flavor::EventV1 => Ok(events::validate(obj, true)),
        _ => Ok(Vec::new()),
    }
}

fn prepare_secret(obj: &mut Value, old: Option<&Value>) -> ApiResult<Vec<Cause>> {
    if let Some(Value::Object(string_data)) =
        obj.as_object_mut().and_then(|m| m.remove("stringData"))
    {
        if !obj["data"].is_object() {
            obj["data"] = json!({});
        }
        for (k, v) in string_data {
            obj["data"][k] = json!(base64(v.as_str().unwrap_or_default().as_bytes()));
        }
    }
    if let Some(data) = obj.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            if !v.as_str().is_some_and(is_base64) {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k}]"
                )));
            }
        }
    }
    if obj.get("type").is_none_or(Value::is_null) {
        obj["type"] = json!(
            old.and_then(|o| o.get("type"))
                .cloned()
                .unwrap_or(json!("Opaque"))
        );
    }
    let mut causes = Vec::new();
    if let Some(old) = old {
        if old.get("type") != obj.get("type") {
            causes.push(invalid(
                "type",
                &value_text(&obj["type"]),
                "field is immutable",
            ));
        }
        if old.get("immutable") == Some(&json!(true))
            && (old.get("data") != obj.get("data") || obj.get("immutable") != Some(&json!(true)))
        {
            causes.push(Cause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: field is immutable when `immutable` is set".into(),
                field: "data".into(),
            });
        }
    }
    Ok(causes)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len().is_multiple_of(4) && s.len() - body.len() <= 2 && body.bytes().all(|c| B64.contains(&c))
}

const META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// ObjectMeta is a fixed type: unknown keys in `metadata` are dropped like unknown schema fields.
fn prune_meta(obj: &mut Value) -> Vec<String> {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let unknown: Vec<String> = meta
        .keys()
        .filter(|k| !META_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in &unknown {
        meta.remove(k);
    }
    unknown
        .into_iter()
        .map(|k| format!("metadata.{k}"))
        .collect()
}

/// Custom resources: prune unknown fields (reported per `fieldValidation`), apply schema
/// defaults, then validate against the schema and CEL rules.
pub fn admit_custom(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    fv: FieldValidation,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    let Some(schema) = rt.custom.as_ref().and_then(|c| c.schema.as_ref()) else {
        return Ok(());
    };
    admit_with_schema(rt, schema, obj, old, fv, warnings, |_| Vec::new())
}

/// Built-in kinds served typed: unknown fields are dropped as the apiserver's decoder drops
/// them (reported per `fieldValidation`), then the k8s-openapi schema and the kind's rules.
pub fn admit_typed(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    fv: FieldValidation,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    let Some(typed) = rt.typed.as_ref() else {
        return Ok(());
    };
    admit_with_schema(rt, &typed.schema, obj, old, fv, warnings, |obj| {
        super::typed::rules(&rt.kind, obj, old)
    })
}

fn admit_with_schema(
    rt: &ResourceType,
    schema: &super::schema::VersionSchema,
    obj: &mut Value,
    old: Option<&Value>,
    fv: FieldValidation,
    warnings: &mut Vec<String>,
    rules: impl Fn(&Value) -> Vec<Cause>,
) -> ApiResult<()> {
    let mut unknown = prune_meta(obj);
    unknown.extend(
        schema
            .prune(obj)
            .into_iter()
            .map(|p| p.trim_start_matches('.').to_string()),
    );
    if !unknown.is_empty() {
        match fv {
            FieldValidation::Strict => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|p| format!("unknown field \"{p}\""))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    list.join(", "),
                    kind = rt.kind,
                    v = rt.version
                )));
            }
            FieldValidation::Warn => {
                warnings.extend(unknown.iter().map(|p| format!("unknown field \"{p}\"")))
            }
            FieldValidation::Ignore => {}
        }
    }
    schema.apply_defaults(obj);
    let mut causes = rules(obj);
    causes.extend(schema.validate(obj, old).into_iter().map(|c| Cause {
        reason: c.reason,
        message: c.message,
        field: c.field,
    }));
    if causes.is_empty() {
        Ok(())
    } else {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(&rt.kind, &rt.group, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b"Welcome-2-Connect"), "V2VsY29tZS0yLUNvbm5lY3Q=");
        assert_eq!(base64(b"ab"), "YWI=");
        assert!(is_base64("YWI="));
        assert!(!is_base64("not base64!"));
    }

    #[test]
    fn names() {
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("A"));
        assert!(is_qualified_name("connect.userops.dev/cleanup"));
        assert!(!is_qualified_name("bad finalizer"));
    }
}
