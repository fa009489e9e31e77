//! Temporary stand-in with the interface of `schema.rs` until that file lands: structural
//! pruning, `default`, and `enum` only.
#![allow(dead_code)]
use serde_json::Value;

pub struct FieldCause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

pub struct VersionSchema {
    raw: Value,
}

fn prune_rec(v: &mut Value, s: &Value, path: &str, root: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
                return;
            }
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    if root && ["apiVersion", "kind", "metadata"].contains(&k.as_str()) {
                        continue;
                    }
                    match props.get(&k) {
                        Some(ps) => prune_rec(
                            m.get_mut(&k).unwrap(),
                            ps,
                            &format!("{path}.{k}"),
                            false,
                            out,
                        ),
                        None => {
                            m.remove(&k);
                            out.push(format!("{path}.{k}"));
                        }
                    }
                }
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                for (k, c) in m.iter_mut() {
                    prune_rec(c, ap, &format!("{path}.{k}"), false, out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.get("items") {
                for (i, c) in a.iter_mut().enumerate() {
                    prune_rec(c, items, &format!("{path}[{i}]"), false, out);
                }
            }
        }
        _ => {}
    }
}

fn default_rec(v: &mut Value, s: &Value) {
    if let (Value::Object(m), Some(props)) =
        (&mut *v, s.get("properties").and_then(Value::as_object))
    {
        for (k, ps) in props {
            if !m.contains_key(k)
                && let Some(d) = ps.get("default")
            {
                m.insert(k.clone(), d.clone());
            }
            if let Some(c) = m.get_mut(k) {
                default_rec(c, ps);
            }
        }
    }
}

fn validate_rec(v: &Value, s: &Value, path: &str, out: &mut Vec<FieldCause>) {
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        out.push(FieldCause {
            reason: "FieldValueNotSupported".into(),
            message: format!("Unsupported value: {v}"),
            field: path.trim_start_matches('.').into(),
        });
    }
    if let (Value::Object(m), Some(props)) = (v, s.get("properties").and_then(Value::as_object)) {
        for (k, c) in m {
            if let Some(ps) = props.get(k) {
                validate_rec(c, ps, &format!("{path}.{k}"), out);
            }
        }
    }
}

impl VersionSchema {
    pub fn new(open_api_v3_schema: &Value) -> Result<VersionSchema, String> {
        Ok(VersionSchema {
            raw: open_api_v3_schema.clone(),
        })
    }
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut out = Vec::new();
        prune_rec(obj, &self.raw, "", true, &mut out);
        out
    }
    pub fn apply_defaults(&self, obj: &mut Value) {
        default_rec(obj, &self.raw)
    }
    pub fn validate(&self, obj: &Value, _old: Option<&Value>) -> Vec<FieldCause> {
        let mut out = Vec::new();
        validate_rec(obj, &self.raw, "", &mut out);
        out
    }
}
