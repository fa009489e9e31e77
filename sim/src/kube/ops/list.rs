//! Selection (namespace, labels, fields) for list and watch, and paginated lists.

use std::sync::Arc;

use serde_json::{Value, json};

use super::external;
use crate::kube::events;
use crate::kube::registry::{Flavor, ResourceType};
use crate::kube::reqinfo::Query;
use crate::kube::selectors::{FieldSelector, LabelSelector};
use crate::kube::status::{ApiError, ApiResult, Cause};
use crate::kube::store::State;
use crate::kube::table;

/// Namespace, label and field selection for list and watch.
pub struct Filter {
    pub rt: Arc<ResourceType>,
    pub ns: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

fn supported_field(rt: &ResourceType, field: &str) -> bool {
    if field == "metadata.name" || field == "metadata.namespace" {
        return true;
    }
    match rt.flavor {
        Flavor::CoreEvent | Flavor::EventV1 => {
            field.starts_with("involvedObject.")
                || ["reason", "reportingComponent", "source", "type", "action"].contains(&field)
        }
        Flavor::Secret => field == "type",
        Flavor::Namespace => field == "status.phase",
        Flavor::Custom => rt.custom.as_ref().is_some_and(|c| {
            c.selectable
                .iter()
                .any(|p| p.trim_start_matches('.') == field)
        }),
        _ => false,
    }
}

fn field_value(rt: &ResourceType, stored: &Value, field: &str) -> String {
    if rt.flavor == Flavor::Custom && !field.starts_with("metadata.") {
        return table::eval(stored, &format!(".{field}"))
            .first()
            .map(scalar_text)
            .unwrap_or_default();
    }
    let path = if field == "source" {
        "source.component"
    } else {
        field
    };
    let mut cur = stored;
    for part in path.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return String::new(),
        }
    }
    scalar_text(cur)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Filter {
    pub fn new(rt: Arc<ResourceType>, ns: Option<&str>, q: &Query) -> ApiResult<Filter> {
        let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or_default())?;
        let mut fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())?;
        if rt.flavor == Flavor::EventV1 {
            for f in fields.0.iter_mut() {
                f.0 = events::v1_field_to_core(&f.0);
            }
        }
        if let Some(bad) = fields.fields().find(|f| !supported_field(&rt, f)) {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {bad}"
            )));
        }
        let ns = if rt.namespaced {
            ns.map(String::from)
        } else {
            None
        };
        Ok(Filter {
            rt,
            ns,
            labels,
            fields,
        })
    }

    /// Whether a stored object is selected (the namespace is checked by the caller's iteration).
    pub fn matches(&self, stored: &Value) -> bool {
        self.labels.matches_object(stored)
            && self.fields.matches(|f| field_value(&self.rt, stored, f))
    }

    pub fn in_namespace(&self, ns: &str) -> bool {
        self.ns.as_deref().is_none_or(|want| want == ns)
    }
}

pub struct ListOut {
    pub items: Vec<Value>,
    pub rv: u64,
    pub cont: Option<String>,
    pub remaining: Option<usize>,
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn too_old(rv: u64, st: &State) -> ApiError {
    ApiError::gone(format!("too old resource version: {rv} ({})", st.compacted))
}

pub fn list(st: &State, f: &Filter, q: &Query) -> ApiResult<ListOut> {
    let limit: usize = match q.value("limit") {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::bad_request(format!("limit: Invalid value: \"{l}\"")))?,
        None => 0,
    };
    let mut rv = st.rv;
    let mut after: Option<(String, String)> = None;
    if let Some(token) = q.value("continue") {
        let parsed: Option<(u64, String, String)> = unhex(token)
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| {
                Some((
                    v["rv"].as_u64()?,
                    v["ns"].as_str()?.to_string(),
                    v["name"].as_str()?.to_string(),
                ))
            });
        let (token_rv, ns, name) =
            parsed.ok_or_else(|| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
        if token_rv < st.compacted {
            return Err(ApiError::gone(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
            ));
        }
        rv = token_rv;
        after = Some((ns, name));
    } else {
        let want = q.value("resourceVersion");
        match (q.value("resourceVersionMatch"), want) {
            (Some(_), None) => {
                return Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", vec![Cause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
                    field: "resourceVersionMatch".into(),
                }]));
            }
            (Some("Exact"), Some(v)) => {
                let n: u64 = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v}")))?;
                if n < st.compacted {
                    return Err(too_old(n, st));
                }
            }
            (Some("NotOlderThan") | None, _) => {}
            (Some(other), _) => {
                return Err(ApiError::bad_request(format!(
                    "resourceVersionMatch: Unsupported value: \"{other}\""
                )));
            }
        }
    }
    let mut items = Vec::new();
    let mut cont = None;
    let mut remaining = None;
    let mut last_key: Option<(String, String)> = None;
    let mut iter = st
        .iter(&f.rt.storage, f.ns.as_deref())
        .filter(|(k, _)| after.as_ref().is_none_or(|a| *k > a))
        .filter(|(_, o)| f.matches(o));
    for (k, o) in iter.by_ref() {
        items.push(external(&f.rt, o));
        last_key = Some(k.clone());
        if limit > 0 && items.len() >= limit {
            break;
        }
    }
    let rest = iter.count();
    if rest > 0
        && let Some((ns, name)) = last_key
    {
        cont = Some(hex(&json!({"rv": rv, "ns": ns, "name": name}).to_string()));
        remaining = Some(rest);
    }
    if f.rt.flavor != Flavor::Custom {
        // Typed lists of built-ins omit apiVersion/kind on items.
        for i in items.iter_mut().filter_map(Value::as_object_mut) {
            i.remove("apiVersion");
            i.remove("kind");
        }
    }
    Ok(ListOut {
        items,
        rv,
        cont,
        remaining,
    })
}
