//! The registry semantics of the apiserver, transport-free: create, get, list, update, patch,
//! apply, delete — metadata rules, optimistic concurrency, the status subresource, finalizers,
//! generation, managedFields. Everything runs under the state lock, so each request is atomic.

mod apply;
mod delete;
mod list;
mod write;

pub use apply::{PatchType, parse_yaml, patch, unsupported_patch};
pub use delete::{DeleteOpts, delete, delete_collection};
pub use list::{Filter, ListOut, list};
pub use write::{create, update};

use serde_json::{Value, json};

use super::admission::FieldValidation;
use super::events;
use super::managed::Scope;
use super::registry::{Flavor, ResourceType};
use super::status::{ApiError, ApiResult};
use super::store::State;

/// Per-request write options (query parameters and who is writing).
#[derive(Debug, Clone)]
pub struct Opts {
    /// `fieldManager` query parameter.
    pub manager: Option<String>,
    /// Manager name derived from the User-Agent, used when `fieldManager` is absent.
    pub default_manager: String,
    pub validation: FieldValidation,
    pub dry_run: bool,
    pub force: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            manager: None,
            default_manager: "sim".into(),
            validation: FieldValidation::Warn,
            dry_run: false,
            force: false,
        }
    }
}

impl Opts {
    fn manager(&self) -> &str {
        self.manager.as_deref().unwrap_or(&self.default_manager)
    }
}

/// A successful write: status code, body, and `Warning` headers to send.
#[derive(Debug)]
pub struct Done {
    pub code: u16,
    pub body: Value,
    pub warnings: Vec<String>,
}

pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The stored object as a client of this resource type sees it.
pub fn external(rt: &ResourceType, stored: &Value) -> Value {
    let mut v = match rt.flavor {
        Flavor::EventV1 => events::core_to_v1(stored),
        _ => stored.clone(),
    };
    // The apiserver also defaults on read, so objects stored before a default was added get it.
    if let Some(schema) = rt.custom.as_ref().and_then(|c| c.schema.as_ref()) {
        schema.apply_defaults(&mut v);
    }
    v["apiVersion"] = json!(rt.api_version());
    v["kind"] = json!(rt.kind);
    v
}

pub fn internal(rt: &ResourceType, ext: Value) -> Value {
    match rt.flavor {
        Flavor::EventV1 => events::v1_to_core(&ext),
        _ => ext,
    }
}

pub fn ns_key(rt: &ResourceType, ns: Option<&str>) -> String {
    if rt.namespaced {
        ns.unwrap_or_default().to_string()
    } else {
        String::new()
    }
}

pub fn meta_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

pub fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

pub fn scope(rt: &ResourceType, sub: Option<&str>) -> Scope {
    match sub {
        Some(_) => Scope::Status,
        None if rt.status_subresource => Scope::Main,
        None => Scope::Whole,
    }
}

pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
    ApiError::not_found(&rt.plural, &rt.group, name)
}

/// Checks apiVersion/kind of a request body and fills them in when absent.
pub fn check_kind(rt: &ResourceType, obj: &mut Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: the request body must be a JSON object",
            rt.kind, rt.version, rt.kind
        )));
    }
    let want = rt.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v != want => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({want})"
            )));
        }
        _ => obj["apiVersion"] = json!(want),
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && k != rt.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        _ => obj["kind"] = json!(rt.kind),
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        if obj.get("metadata").is_some_and(|m| !m.is_null()) {
            return Err(ApiError::bad_request("metadata must be an object"));
        }
        obj["metadata"] = json!({});
    }
    Ok(())
}

pub fn get(st: &State, rt: &ResourceType, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    st.get(&rt.storage, &ns_key(rt, ns), name)
        .map(|o| external(rt, &o))
        .ok_or_else(|| not_found(rt, name))
}
