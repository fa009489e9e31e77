//! Create and update (PUT, and the common tail of every patch): metadata rules, optimistic
//! concurrency, the status subresource split, finalizer rules, admission, generation, and
//! managedFields tracking.

use std::sync::Arc;

use serde_json::{Value, json};

use super::delete::reap;
use super::*;
use crate::kube::admission;
use crate::kube::crd;
use crate::kube::managed::{self, Node, Writer};
use crate::kube::status::Cause;

const GENERATE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..5)
        .map(|_| GENERATE_ALPHABET[rng.random_range(0..GENERATE_ALPHABET.len())] as char)
        .collect()
}

fn crd_terminating(st: &State, rt: &ResourceType) -> bool {
    rt.custom
        .as_ref()
        .and_then(|c| st.get("customresourcedefinitions", "", &c.crd_name))
        .is_some_and(|c| deleting(&c))
}

/// The namespace of a namespaced write must exist and not be terminating.
fn check_namespace(st: &State, rt: &ResourceType, ns: &str, name: &str) -> ApiResult<()> {
    if !rt.namespaced {
        return Ok(());
    }
    match st.get("namespaces", "", ns) {
        None => Err(ApiError::not_found("namespaces", "", ns)),
        Some(n) if deleting(&n) => Err(ApiError::forbidden(format!(
            "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            crate::kube::status::qualified(&rt.plural, &rt.group)
        ))),
        _ => Ok(()),
    }
}

/// POST (or server-side apply of a missing object, with its managedFields already computed).
pub fn create(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    mut obj: Value,
    opts: &Opts,
    applied: Option<Vec<managed::Entry>>,
) -> ApiResult<Done> {
    check_kind(rt, &mut obj)?;
    if rt.namespaced {
        let Some(ns) = ns else {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource (post {})",
                rt.plural
            )));
        };
        match meta_str(&obj, "namespace") {
            Some(body_ns) if body_ns != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(ns),
        }
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    let nsk = ns_key(rt, ns);
    if meta_str(&obj, "resourceVersion").is_some() {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if meta_str(&obj, "name").is_none() {
        match meta_str(&obj, "generateName").map(String::from) {
            Some(prefix) => {
                let mut name = format!("{prefix}{}", random_suffix());
                while st.contains(&rt.storage, &nsk, &name) {
                    name = format!("{prefix}{}", random_suffix());
                }
                obj["metadata"]["name"] = json!(name);
            }
            None => {
                let kind = rt.kind.clone();
                return Err(ApiError::invalid(
                    &kind,
                    &rt.group,
                    "",
                    vec![Cause {
                        reason: "FieldValueRequired".into(),
                        message: "Required value: name or generateName is required".into(),
                        field: "metadata.name".into(),
                    }],
                ));
            }
        }
    }
    let name = meta_str(&obj, "name").unwrap_or_default().to_string();
    let now = now();
    {
        let meta = obj["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now));
        for k in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
            "generation",
        ] {
            meta.remove(k);
        }
        if rt.generation {
            meta.insert("generation".into(), json!(1));
        }
    }
    if rt.status_subresource && (rt.flavor == Flavor::Custom || rt.typed.is_some()) {
        // Status is written through /status only.
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    let mut warnings = Vec::new();
    let mut causes = admission::validate_meta(rt, &obj);
    let mut types = None;
    match rt.flavor {
        Flavor::Crd => {
            crd::default(&mut obj);
            match crd::build(&obj) {
                Ok(t) => types = Some(t),
                Err(c) => causes.extend(c),
            }
            crd::set_status(&mut obj, &now, None);
        }
        Flavor::Custom if crd_terminating(st, rt) => {
            return Err(ApiError::method_not_allowed(
                "create not allowed while custom resource definition is terminating",
            ));
        }
        _ => {}
    }
    let mut stored = internal(rt, obj);
    causes.extend(admission::prepare_builtin(rt, &mut stored, None)?);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&rt.kind, &rt.group, &name, causes));
    }
    let mut obj = external(rt, &stored);
    if rt.flavor == Flavor::Custom {
        admission::admit_custom(rt, &mut obj, None, opts.validation, &mut warnings)?;
    } else if rt.typed.is_some() {
        admission::admit_typed(rt, &mut obj, None, opts.validation, &mut warnings)?;
    }
    check_namespace(st, rt, &nsk, &name)?;
    if st.contains(&rt.storage, &nsk, &name) {
        return Err(ApiError::already_exists(&rt.plural, &rt.group, &name));
    }
    let api_version = rt.api_version();
    match applied {
        Some(entries) => managed::write_entries(&mut obj, &entries),
        None => {
            let base = managed::read_entries(&obj);
            let w = Writer {
                manager: opts.manager(),
                api_version: &api_version,
                subresource: None,
                now: &now,
            };
            managed::track_update(
                None,
                &mut obj,
                base,
                &w,
                Node::root(rt.raw_schema()),
                scope(rt, None),
            );
        }
    }
    managed::retain_existing(&mut obj);
    if opts.dry_run {
        return Ok(Done {
            code: 201,
            body: obj,
            warnings,
        });
    }
    let saved = st.put(&rt.storage, &nsk, &name, internal(rt, obj));
    if let Some(types) = types {
        st.registry.set_crd(&name, types);
    }
    Ok(Done {
        code: 201,
        body: external(rt, &saved),
        warnings,
    })
}

#[derive(Clone, Copy, PartialEq)]
pub enum Mode {
    /// Non-apply writes: the writer's managedFields entry is derived from what changed.
    Update,
    /// Server-side apply: managedFields were already computed by the merge.
    Apply,
}

/// PUT of the whole object (main resource or a subresource).
pub fn update(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    mut body: Value,
    opts: &Opts,
) -> ApiResult<Done> {
    check_subresource(rt, sub)?;
    check_kind(rt, &mut body)?;
    check_identity(rt, ns, name, &mut body)?;
    let current = st
        .get(&rt.storage, &ns_key(rt, ns), name)
        .ok_or_else(|| not_found(rt, name))?;
    // Custom resources do not allow unconditional updates (the CR strategy's
    // AllowUnconditionalUpdate is false); built-in kinds do.
    if rt.flavor == Flavor::Custom && meta_str(&body, "resourceVersion").is_none() {
        return Err(ApiError::invalid(
            &rt.kind,
            &rt.group,
            name,
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value: 0x0: must be specified for an update".into(),
                field: "metadata.resourceVersion".into(),
            }],
        ));
    }
    finish_update(st, rt, ns, name, sub, &current, body, opts, Mode::Update)
}

pub fn check_subresource(rt: &ResourceType, sub: Option<&str>) -> ApiResult<()> {
    match sub {
        None => Ok(()),
        Some("status") if rt.status_subresource => Ok(()),
        Some(other) => Err(ApiError::path_not_found(&format!("{}/{other}", rt.plural))),
    }
}

/// The body must name the object of the URL.
pub fn check_identity(
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    body: &mut Value,
) -> ApiResult<()> {
    match meta_str(body, "name") {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        _ => body["metadata"]["name"] = json!(name),
    }
    if rt.namespaced {
        let ns = ns.unwrap_or_default();
        match meta_str(body, "namespace") {
            Some(b) if b != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => body["metadata"]["namespace"] = json!(ns),
        }
    }
    Ok(())
}

/// Everything but metadata (and status when it is a subresource): what `generation` tracks.
fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("apiVersion");
        m.remove("kind");
        if rt.status_subresource || rt.flavor == Flavor::Crd {
            m.remove("status");
        }
    }
    v
}

#[allow(clippy::too_many_arguments)]
pub fn finish_update(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    current: &Value,
    mut new: Value,
    opts: &Opts,
    mode: Mode,
) -> ApiResult<Done> {
    let nsk = ns_key(rt, ns);
    let old = external(rt, current);
    let old_rv = meta_str(&old, "resourceVersion")
        .unwrap_or_default()
        .to_string();
    if let Some(rv) = meta_str(&new, "resourceVersion")
        && rv != old_rv
    {
        return Err(ApiError::stale(&rt.plural, &rt.group, name));
    }
    if let (Some(u), Some(old_uid)) = (meta_str(&new, "uid"), meta_str(&old, "uid"))
        && u != old_uid
    {
        return Err(ApiError::conflict(
            &rt.plural,
            &rt.group,
            name,
            &format!(
                "Precondition failed: UID in precondition: {u}, UID in object meta: {old_uid}"
            ),
        ));
    }
    // The status subresource splits the object: each endpoint only changes its own part.
    if sub == Some("status") {
        let mut base = old.clone();
        match new.get("status") {
            Some(s) => base["status"] = s.clone(),
            None => {
                if let Some(m) = base.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        base["metadata"]["managedFields"] = new["metadata"]
            .get("managedFields")
            .cloned()
            .unwrap_or(Value::Null);
        new = base;
    } else if rt.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    let client_managed = new["metadata"]
        .get("managedFields")
        .filter(|v| v.is_array())
        .cloned();
    {
        let meta = new["metadata"]
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
        for k in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
            "namespace",
        ] {
            match old["metadata"].get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.remove("resourceVersion");
        meta.remove("selfLink");
        if meta.get("managedFields").is_some_and(Value::is_null) {
            meta.remove("managedFields");
        }
    }
    if deleting(&old) {
        let before = finalizers(&old);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                &rt.kind,
                &rt.group,
                name,
                vec![Cause {
                    reason: "FieldValueForbidden".into(),
                    message: format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                        added
                            .iter()
                            .map(|f| format!("\"{f}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    let now = now();
    let mut warnings = Vec::new();
    let mut causes = admission::validate_meta(rt, &new);
    let mut types = None;
    if rt.flavor == Flavor::Crd {
        crd::default(&mut new);
        if let (Some(a), Some(b)) = (old.pointer("/spec/scope"), new.pointer("/spec/scope"))
            && a != b
        {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!("Invalid value: {b}: field is immutable"),
                field: "spec.scope".into(),
            });
        }
        match crd::build(&new) {
            Ok(t) => types = Some(t),
            Err(c) => causes.extend(c),
        }
        crd::set_status(&mut new, &now, Some(&old));
    }
    let mut stored = internal(rt, new);
    let old_stored = internal(rt, old.clone());
    causes.extend(admission::prepare_builtin(
        rt,
        &mut stored,
        Some(&old_stored),
    )?);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&rt.kind, &rt.group, name, causes));
    }
    let mut new = external(rt, &stored);
    if rt.flavor == Flavor::Custom {
        admission::admit_custom(rt, &mut new, Some(&old), opts.validation, &mut warnings)?;
    } else if rt.typed.is_some() {
        admission::admit_typed(rt, &mut new, Some(&old), opts.validation, &mut warnings)?;
    }
    if mode == Mode::Update {
        let base = match client_managed {
            Some(list) => managed::read_entries(&json!({"metadata": {"managedFields": list}})),
            None => managed::read_entries(&old),
        };
        let api_version = rt.api_version();
        let w = Writer {
            manager: opts.manager(),
            api_version: &api_version,
            subresource: sub,
            now: &now,
        };
        managed::track_update(
            Some(&old),
            &mut new,
            base,
            &w,
            Node::root(rt.raw_schema()),
            scope(rt, sub),
        );
    }
    managed::retain_existing(&mut new);
    if rt.generation && spec_part(rt, &new) != spec_part(rt, &old) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
        new["metadata"]["generation"] = json!(g + 1);
    }
    let mut old_cmp = old.clone();
    if let Some(m) = old_cmp["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    if new == old_cmp {
        // Unchanged objects are not written: no new resourceVersion, no watch event.
        return Ok(Done {
            code: 200,
            body: old,
            warnings,
        });
    }
    if opts.dry_run {
        new["metadata"]["resourceVersion"] = json!(old_rv);
        return Ok(Done {
            code: 200,
            body: new,
            warnings,
        });
    }
    if deleting(&new) && finalizers(&new).is_empty() {
        // The last finalizer is gone: the object is deleted instead of updated. Like etcd, the
        // DELETED event carries the last persisted state.
        if let Some(gone) = st.remove(&rt.storage, &nsk, name) {
            new["metadata"]["resourceVersion"] = gone["metadata"]["resourceVersion"].clone();
        }
        reap(st);
        return Ok(Done {
            code: 200,
            body: new,
            warnings,
        });
    }
    let saved = st.put(&rt.storage, &nsk, name, internal(rt, new));
    if let Some(types) = types {
        st.registry.set_crd(name, types);
    }
    Ok(Done {
        code: 200,
        body: external(rt, &saved),
        warnings,
    })
}
