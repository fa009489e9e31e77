//! PATCH in its four content types; server-side apply is the one that can also create.

use std::sync::Arc;

use serde_json::Value;

use super::write::{Mode, check_identity, check_subresource, create, finish_update};
use super::*;
use crate::kube::managed::{self, Node, Scope, Writer};
use crate::kube::patch;
use crate::kube::status::Cause;
/// The PATCH content types.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

pub fn unsupported_patch(rt: &ResourceType) -> ApiError {
    let mut accepted = vec![
        "application/json-patch+json",
        "application/merge-patch+json",
    ];
    if rt.flavor != Flavor::Custom {
        accepted.push("application/strategic-merge-patch+json");
    }
    accepted.push("application/apply-patch+yaml");
    ApiError::unsupported_media_type(format!(
        "the body of the request was in an unknown format - accepted media types include: {}",
        accepted.join(", ")
    ))
}

fn parse_json(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
}

/// Parses an apply body: YAML (JSON is YAML too).
pub fn parse_yaml(body: &[u8]) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("error decoding YAML: invalid UTF-8"))?;
    serde_yaml::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

#[allow(clippy::too_many_arguments)]
pub fn patch(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    pt: PatchType,
    body: &[u8],
    opts: &Opts,
) -> ApiResult<Done> {
    check_subresource(rt, sub)?;
    if pt != PatchType::Apply && opts.force {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![Cause {
                reason: "FieldValueForbidden".into(),
                message: "Forbidden: may not be specified for non-apply patch".into(),
                field: "force".into(),
            }],
        ));
    }
    if pt == PatchType::Strategic && rt.flavor == Flavor::Custom {
        return Err(unsupported_patch(rt));
    }
    if pt == PatchType::Apply {
        return apply(st, rt, ns, name, sub, body, opts);
    }
    let current = st
        .get(&rt.storage, &ns_key(rt, ns), name)
        .ok_or_else(|| not_found(rt, name))?;
    let mut doc = external(rt, &current);
    let p = parse_json(body)?;
    match pt {
        PatchType::Json => {
            patch::check_json_patch(&p).map_err(ApiError::bad_request)?;
            patch::json_patch(&mut doc, &p).map_err(|e| ApiError::new(422, "Invalid", e))?;
        }
        PatchType::Merge => {
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}",
                ));
            }
            patch::merge_patch(&mut doc, &p);
        }
        PatchType::Strategic => {
            if !p.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal into Go value of type map[string]interface {}",
                ));
            }
            patch::strategic_merge_patch(&mut doc, &p);
        }
        PatchType::Apply => {}
    }
    if !doc.is_object() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "the patch turned the object into a non-object",
        ));
    }
    check_kind(rt, &mut doc)?;
    if meta_str(&doc, "name") != Some(name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            meta_str(&doc, "name").unwrap_or_default()
        )));
    }
    finish_update(st, rt, ns, name, sub, &current, doc, opts, Mode::Update)
}

fn apply(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    body: &[u8],
    opts: &Opts,
) -> ApiResult<Done> {
    let Some(manager) = opts.manager.clone().filter(|m| !m.is_empty()) else {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            }],
        ));
    };
    let mut cfg = parse_yaml(body)?;
    if cfg
        .get("apiVersion")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        || cfg
            .get("kind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::bad_request(
            "invalid object type: apiVersion and kind must be set in an apply configuration",
        ));
    }
    check_kind(rt, &mut cfg)?;
    check_identity(rt, ns, name, &mut cfg)?;
    let sc = scope(rt, sub);
    if let Some(m) = cfg.as_object_mut() {
        match sc {
            Scope::Main => {
                m.remove("status");
            }
            Scope::Status => {
                m.retain(|k, _| ["apiVersion", "kind", "metadata", "status"].contains(&k.as_str()))
            }
            Scope::Whole => {}
        }
    }
    let api_version = rt.api_version();
    let now = now();
    let w = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: sub,
        now: &now,
    };
    let node = Node::root(rt.raw_schema());
    let Some(current) = st.get(&rt.storage, &ns_key(rt, ns), name) else {
        if sub.is_some() {
            return Err(not_found(rt, name));
        }
        let set = managed::field_set(&cfg, node, sc);
        let entry = managed::Entry {
            manager: manager.clone(),
            operation: "Apply".into(),
            api_version: api_version.clone(),
            time: now.clone(),
            subresource: None,
            set,
        };
        return create(st, rt, ns, cfg, opts, Some(vec![entry]));
    };
    let live = external(rt, &current);
    if let Some(rv) = meta_str(&cfg, "resourceVersion")
        && Some(rv) != meta_str(&live, "resourceVersion")
    {
        return Err(ApiError::stale(&rt.plural, &rt.group, name));
    }
    let merged = managed::apply(&live, &cfg, &w, opts.force, node, sc).map_err(|conflicts| {
        let n = conflicts.len();
        let detail = if n == 1 {
            let c = &conflicts[0];
            format!(
                "conflict with \"{}\" using {}: {}",
                c.manager, c.api_version, c.path
            )
        } else {
            let lines: Vec<String> = conflicts
                .iter()
                .map(|c| {
                    format!(
                        "- conflict with \"{}\" using {}: {}",
                        c.manager, c.api_version, c.path
                    )
                })
                .collect();
            format!("\n{}", lines.join("\n"))
        };
        let mut e = ApiError::new(
            409,
            "Conflict",
            format!(
                "Apply failed with {n} conflict{}: {detail}",
                if n == 1 { "" } else { "s" }
            ),
        );
        e = e.with_details(name, &rt.group, &rt.plural);
        e.details.causes = conflicts
            .iter()
            .map(|c| Cause {
                reason: "FieldManagerConflict".into(),
                message: format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                field: c.path.clone(),
            })
            .collect();
        e
    })?;
    finish_update(st, rt, ns, name, sub, &current, merged, opts, Mode::Apply)
}
