//! DELETE: preconditions, graceful deletion while finalizers remain, cascades for namespaces
//! and CRDs, and the controllers' part of finishing them.

use std::sync::Arc;

use serde_json::{Value, json};

use super::list::Filter;
use super::*;
use crate::kube::crd;
use crate::kube::reqinfo::Query;

/// Parsed DeleteOptions body.
#[derive(Debug, Default)]
pub struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

impl DeleteOpts {
    pub fn parse(body: &[u8], q: &Query) -> ApiResult<DeleteOpts> {
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
        };
        let dry =
            v["dryRun"].as_array().is_some_and(|a| !a.is_empty()) || q.value("dryRun").is_some();
        Ok(DeleteOpts {
            uid: v
                .pointer("/preconditions/uid")
                .and_then(Value::as_str)
                .map(String::from),
            resource_version: v
                .pointer("/preconditions/resourceVersion")
                .and_then(Value::as_str)
                .map(String::from),
            dry_run: dry,
        })
    }
}

pub fn delete(
    st: &mut State,
    rt: &Arc<ResourceType>,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
) -> ApiResult<Done> {
    let nsk = ns_key(rt, ns);
    let current = st
        .get(&rt.storage, &nsk, name)
        .ok_or_else(|| not_found(rt, name))?;
    let old = external(rt, &current);
    let precondition = |what: &str, want: &str, have: &str| {
        ApiError::conflict(
            &rt.plural,
            &rt.group,
            name,
            &format!(
                "Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}"
            ),
        )
    };
    if let Some(u) = &opts.uid {
        let have = meta_str(&old, "uid").unwrap_or_default();
        if u != have {
            return Err(precondition("UID", u, have));
        }
    }
    if let Some(rv) = &opts.resource_version {
        let have = meta_str(&old, "resourceVersion").unwrap_or_default();
        if rv != have {
            return Err(precondition("ResourceVersion", rv, have));
        }
    }
    if opts.dry_run {
        return Ok(Done {
            code: 200,
            body: old,
            warnings: vec![],
        });
    }
    let graceful =
        !finalizers(&old).is_empty() || matches!(rt.flavor, Flavor::Namespace | Flavor::Crd);
    if !graceful {
        st.remove(&rt.storage, &nsk, name);
        reap(st);
        let mut details = json!({"name": name, "kind": rt.plural, "uid": meta_str(&old, "uid")});
        if !rt.group.is_empty() {
            details["group"] = json!(rt.group);
        }
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details});
        return Ok(Done {
            code: 200,
            body: status,
            warnings: vec![],
        });
    }
    if deleting(&old) {
        return Ok(Done {
            code: 200,
            body: old,
            warnings: vec![],
        });
    }
    let mut new = current.as_ref().clone();
    new["metadata"]["deletionTimestamp"] = json!(now());
    new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if let Some(g) = new["metadata"]["generation"].as_i64().filter(|g| *g > 0) {
        new["metadata"]["generation"] = json!(g + 1);
    }
    match rt.flavor {
        Flavor::Namespace => new["status"]["phase"] = json!("Terminating"),
        Flavor::Crd => crd::set_status(&mut new, &now(), Some(&current)),
        _ => {}
    }
    let saved = st.put(&rt.storage, &nsk, name, new);
    let body = external(rt, &saved);
    match rt.flavor {
        Flavor::Namespace => cascade_namespace(st, name),
        Flavor::Crd => cascade_crd(st, name),
        _ => {}
    }
    reap(st);
    Ok(Done {
        code: 200,
        body,
        warnings: vec![],
    })
}

/// Deletes every object of a storage key in a namespace (or all), honouring their finalizers.
fn delete_all(st: &mut State, rt: &Arc<ResourceType>, ns: Option<&str>) {
    let keys: Vec<(String, String)> = st.iter(&rt.storage, ns).map(|(k, _)| k.clone()).collect();
    for (ns, name) in keys {
        let ns = if rt.namespaced {
            Some(ns.as_str())
        } else {
            None
        };
        let _ = delete(st, rt, ns, &name, &DeleteOpts::default());
    }
}

fn cascade_namespace(st: &mut State, ns: &str) {
    let mut seen = std::collections::HashSet::new();
    let types: Vec<Arc<ResourceType>> = st
        .registry
        .all()
        .filter(|r| r.namespaced && seen.insert(r.storage.clone()))
        .cloned()
        .collect();
    for rt in types {
        delete_all(st, &rt, Some(ns));
    }
}

fn cascade_crd(st: &mut State, crd_name: &str) {
    if let Some(rt) = st.registry.crd_types(crd_name).first().cloned() {
        delete_all(st, &rt, None);
    }
}

/// Finishes terminating namespaces and CRDs once nothing is left in them (the job of the
/// namespace controller and the CRD finalizer on a real cluster).
pub fn reap(st: &mut State) {
    let namespaces: Vec<String> = st
        .iter("namespaces", None)
        .filter(|(_, o)| deleting(o) && finalizers(o).is_empty())
        .map(|((_, n), _)| n.clone())
        .collect();
    for ns in namespaces {
        let mut seen = std::collections::HashSet::new();
        let storages: Vec<String> = st
            .registry
            .all()
            .filter(|r| r.namespaced && seen.insert(r.storage.clone()))
            .map(|r| r.storage.clone())
            .collect();
        if storages.iter().all(|s| st.count(s, Some(&ns)) == 0) {
            st.remove("namespaces", "", &ns);
        }
    }
    let crds: Vec<String> = st
        .iter("customresourcedefinitions", None)
        .filter(|(_, o)| deleting(o) && finalizers(o).is_empty())
        .map(|((_, n), _)| n.clone())
        .collect();
    for name in crds {
        let storage = format!("crd:{name}");
        if st.count(&storage, None) == 0 {
            st.remove("customresourcedefinitions", "", &name);
            st.registry.remove_crd(&name);
            st.drop_storage(&storage);
        }
    }
}

pub fn delete_collection(
    st: &mut State,
    f: &Filter,
    q: &Query,
    opts: &DeleteOpts,
) -> ApiResult<Vec<Value>> {
    let targets: Vec<(String, String)> = st
        .iter(&f.rt.storage, f.ns.as_deref())
        .filter(|(_, o)| f.matches(o))
        .map(|(k, _)| k.clone())
        .collect();
    let _ = q;
    let mut out = Vec::new();
    for (ns, name) in targets {
        let ns = if f.rt.namespaced {
            Some(ns.as_str())
        } else {
            None
        };
        let before = get(st, &f.rt, ns, &name).ok();
        delete(st, &f.rt, ns, &name, opts)?;
        out.extend(before);
    }
    Ok(out)
}
