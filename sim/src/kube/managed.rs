//! `metadata.managedFields` and server-side apply: which manager owns which fields, conflicts
//! between managers, and removal of fields a manager stops applying. A reduced version of
//! structured-merge-diff: field sets are sets of paths in the FieldsV1 element syntax
//! (`f:name`, `k:{"type":"Ready"}`, `v:"x"`, `i:0`); list semantics come from the CRD schema's
//! `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` / `x-kubernetes-map-type`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

/// Where in the object we are, for list and map semantics.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    schema: Option<&'a Value>,
    special: Special,
}

#[derive(Clone, Copy, PartialEq)]
enum Special {
    None,
    Root,
    Meta,
    Finalizers,
    OwnerRefs,
}

enum ListKind {
    Atomic,
    Set,
    Map(Vec<String>),
}

impl<'a> Node<'a> {
    /// The root of an object whose (optional) OpenAPI v3 schema is given.
    pub fn root(schema: Option<&'a Value>) -> Node<'a> {
        Node {
            schema,
            special: Special::Root,
        }
    }

    fn child(&self, key: &str) -> Node<'a> {
        match (self.special, key) {
            (Special::Root, "metadata") => {
                return Node {
                    schema: None,
                    special: Special::Meta,
                };
            }
            (Special::Meta, "finalizers") => {
                return Node {
                    schema: None,
                    special: Special::Finalizers,
                };
            }
            (Special::Meta, "ownerReferences") => {
                return Node {
                    schema: None,
                    special: Special::OwnerRefs,
                };
            }
            _ => {}
        }
        let schema = self.schema.and_then(|s| {
            s.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
        });
        Node {
            schema,
            special: Special::None,
        }
    }

    fn item(&self) -> Node<'a> {
        Node {
            schema: self.schema.and_then(|s| s.get("items")),
            special: Special::None,
        }
    }

    fn list_kind(&self) -> ListKind {
        match self.special {
            Special::Finalizers => return ListKind::Set,
            Special::OwnerRefs => return ListKind::Map(vec!["uid".into()]),
            _ => {}
        }
        let s = self.schema;
        match s
            .and_then(|s| s.get("x-kubernetes-list-type"))
            .and_then(Value::as_str)
        {
            Some("set") => ListKind::Set,
            Some("map") => {
                let keys = s
                    .and_then(|s| s.get("x-kubernetes-list-map-keys"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                ListKind::Map(keys)
            }
            _ => ListKind::Atomic,
        }
    }

    fn atomic_map(&self) -> bool {
        self.schema
            .and_then(|s| s.get("x-kubernetes-map-type"))
            .and_then(Value::as_str)
            == Some("atomic")
    }
}

/// Which part of an object a write may touch (the status subresource splits an object in two).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Scope {
    /// Everything.
    Whole,
    /// Everything except `.status` (main resource when a status subresource exists).
    Main,
    /// Only `.status`.
    Status,
}

fn key_element(item: &Map<String, Value>, keys: &[String]) -> Option<String> {
    let mut m = Map::new();
    let mut sorted = keys.to_vec();
    sorted.sort();
    for k in &sorted {
        m.insert(k.clone(), item.get(k)?.clone());
    }
    Some(format!("k:{}", Value::Object(m)))
}

/// The set of field paths present in `obj` within `scope`, system metadata excluded.
pub fn field_set(obj: &Value, node: Node, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(m) = obj.as_object() else { return out };
    for (k, v) in m {
        let keep = match (k.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::Main) => false,
            ("status", _) => true,
            (_, Scope::Status) => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            let meta = node.child("metadata");
            for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(v) = v.get(field) {
                    walk(
                        v,
                        meta.child(field),
                        vec!["f:metadata".into(), format!("f:{field}")],
                        &mut out,
                    );
                }
            }
            continue;
        }
        walk(v, node.child(k), vec![format!("f:{k}")], &mut out);
    }
    out
}

fn walk(v: &Value, node: Node, path: Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !node.atomic_map() && !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(c, node.child(k), p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => match node.list_kind() {
            ListKind::Atomic => {
                out.insert(path);
            }
            ListKind::Set => {
                for x in a {
                    let mut p = path.clone();
                    p.push(format!("v:{x}"));
                    out.insert(p);
                }
            }
            ListKind::Map(keys) => {
                let elems: Option<Vec<String>> = a
                    .iter()
                    .map(|x| x.as_object().and_then(|o| key_element(o, &keys)))
                    .collect();
                let Some(elems) = elems else {
                    // Items without their keys cannot be merged: own the list as a whole.
                    out.insert(path);
                    return;
                };
                for (x, e) in a.iter().zip(elems) {
                    let mut p = path.clone();
                    p.push(e);
                    out.insert(p.clone());
                    if let Some(o) = x.as_object() {
                        for (k, c) in o {
                            let mut q = p.clone();
                            q.push(format!("f:{k}"));
                            walk(c, node.item().child(k), q, out);
                        }
                    }
                }
            }
        },
        _ => {
            out.insert(path);
        }
    }
}

/// Follows one path element.
fn step<'v>(v: &'v Value, elem: &str) -> Option<&'v Value> {
    if let Some(f) = elem.strip_prefix("f:") {
        return v.as_object()?.get(f);
    }
    let a = v.as_array()?;
    if let Some(k) = elem.strip_prefix("k:") {
        let want: Map<String, Value> = serde_json::from_str(k).ok()?;
        return a
            .iter()
            .find(|x| want.iter().all(|(wk, wv)| x.get(wk) == Some(wv)));
    }
    if let Some(val) = elem.strip_prefix("v:") {
        let want: Value = serde_json::from_str(val).ok()?;
        return a.iter().find(|x| **x == want);
    }
    if let Some(i) = elem.strip_prefix("i:") {
        return a.get(i.parse::<usize>().ok()?);
    }
    None
}

pub fn value_at<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(v, |cur, e| step(cur, e))
}

/// Removes what `path` points at; maps left empty by the removal go too.
fn remove_at(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = &mut *v;
    for e in parents {
        let next = if let Some(f) = e.strip_prefix("f:") {
            cur.as_object_mut().and_then(|m| m.get_mut(f))
        } else {
            let idx = cur.as_array().and_then(|a| {
                let target = step(&Value::Array(a.clone()), e)?.clone();
                a.iter().position(|x| *x == target)
            });
            match idx {
                Some(i) => cur.as_array_mut().and_then(|a| a.get_mut(i)),
                None => None,
            }
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(target) = step(cur, last).cloned()
        && let Some(a) = cur.as_array_mut()
    {
        a.retain(|x| *x != target);
    }
    let emptied = cur.as_object().is_some_and(Map::is_empty);
    if parents.len() > 1 && emptied {
        remove_at(v, parents);
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub set: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, sub: Option<&str>) -> bool {
        self.manager == manager && self.operation == operation && self.subresource.as_deref() == sub
    }
}

pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut cur = &mut root;
        for e in path {
            let slot = cur.entry(e.clone()).or_insert_with(|| json!({}));
            cur = match slot.as_object_mut() {
                Some(m) => m,
                None => break,
            };
        }
    }
    // A member that also has children is marked with ".".
    fn mark(node: &mut Map<String, Value>, prefix: &mut Path, set: &FieldSet) {
        for (k, v) in node.iter_mut() {
            prefix.push(k.clone());
            if let Some(m) = v.as_object_mut()
                && !m.is_empty()
            {
                mark(m, prefix, set);
                if set.contains(prefix) {
                    m.insert(".".into(), json!({}));
                }
            }
            prefix.pop();
        }
    }
    mark(&mut root, &mut Vec::new(), set);
    Value::Object(root)
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn rec(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        for (k, c) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            path.push(k.clone());
            if c.as_object().is_none_or(Map::is_empty) {
                out.insert(path.clone());
            } else {
                rec(c, path, out);
            }
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    rec(v, &mut Vec::new(), &mut out);
    out
}

pub fn read_entries(obj: &Value) -> Vec<Entry> {
    let Some(list) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .map(|e| Entry {
            manager: e
                .get("manager")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            operation: e
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("Update")
                .to_string(),
            api_version: e
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            time: e
                .get("time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            subresource: e
                .get("subresource")
                .and_then(Value::as_str)
                .map(String::from),
            set: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
        })
        .collect()
}

pub fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": to_fields_v1(&e.set),
            });
            if let Some(s) = &e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Forgets owned paths that no longer exist (after pruning or defaulting rewrote the object).
pub fn retain_existing(obj: &mut Value) {
    let mut entries = read_entries(obj);
    let before = entries.clone();
    for e in entries.iter_mut() {
        e.set.retain(|p| value_at(obj, p).is_some());
    }
    if entries != before {
        write_entries(obj, &entries);
    }
}

/// Who is writing: manager name, API version used, subresource, and the time to stamp.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub now: &'a str,
}

/// Records a non-apply write (create, update, patch): the writer takes ownership of the fields it
/// changed, other managers lose them, and fields that no longer exist are forgotten.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    base: Vec<Entry>,
    w: &Writer,
    node: Node,
    scope: Scope,
) {
    let new_set = field_set(new, node, scope);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| old.and_then(|o| value_at(o, p)) != value_at(new, p))
        .cloned()
        .collect();
    let mut entries = base;
    for e in entries.iter_mut() {
        e.set
            .retain(|p| !changed.contains(p) && value_at(new, p).is_some());
    }
    if !changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.same_owner(w.manager, "Update", w.subresource))
        {
            Some(e) => {
                e.set.extend(changed);
                e.time = w.now.to_string();
                e.api_version = w.api_version.to_string();
            }
            None => entries.push(Entry {
                manager: w.manager.to_string(),
                operation: "Update".into(),
                api_version: w.api_version.to_string(),
                time: w.now.to_string(),
                subresource: w.subresource.map(String::from),
                set: changed,
            }),
        }
    }
    write_entries(new, &entries);
}

/// A field another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: String,
}

/// `.spec.x`, `.status.conditions[type="Ready"].status`, `.metadata.finalizers[="x"]`.
pub fn display_path(p: &[String]) -> String {
    let mut s = String::new();
    for e in p {
        if let Some(f) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else if let Some(i) = e.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

/// Merges an applied configuration into the live object the way server-side apply does.
fn merge(live: &mut Value, cfg: &Value, node: Node) {
    match (live, cfg) {
        (Value::Object(l), Value::Object(c)) if !node.atomic_map() => {
            for (k, v) in c {
                if v.is_null() {
                    l.remove(k);
                } else {
                    merge(l.entry(k.clone()).or_insert(Value::Null), v, node.child(k));
                }
            }
        }
        (Value::Array(l), Value::Array(c)) => match node.list_kind() {
            ListKind::Atomic => *l = c.clone(),
            ListKind::Set => {
                for x in c {
                    if !l.contains(x) {
                        l.push(x.clone());
                    }
                }
            }
            ListKind::Map(keys) => {
                for x in c {
                    let key = x.as_object().and_then(|o| key_element(o, &keys));
                    let pos = key.as_ref().and_then(|k| {
                        l.iter().position(|y| {
                            y.as_object().and_then(|o| key_element(o, &keys)).as_ref() == Some(k)
                        })
                    });
                    match pos {
                        Some(i) => merge(&mut l[i], x, node.item()),
                        None => l.push(x.clone()),
                    }
                }
            }
        },
        (live, cfg) => *live = cfg.clone(),
    }
}

/// Server-side apply of `cfg` onto `live` (both whole objects in the same API version).
/// Returns the merged object with updated managedFields, or the conflicts (when not forced).
pub fn apply(
    live: &Value,
    cfg: &Value,
    w: &Writer,
    force: bool,
    node: Node,
    scope: Scope,
) -> Result<Value, Vec<Conflict>> {
    let applied = field_set(cfg, node, scope);
    let mut merged = live.clone();
    let mut clean_cfg = cfg.clone();
    if let Some(meta) = clean_cfg.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(k);
        }
    }
    merge(&mut merged, &clean_cfg, node);

    let mut entries = read_entries(live);
    let me = |e: &Entry| e.same_owner(w.manager, "Apply", w.subresource);
    let changed: FieldSet = applied
        .iter()
        .filter(|p| value_at(live, p) != value_at(&merged, p))
        .cloned()
        .collect();
    let mut conflicts = Vec::new();
    for e in entries.iter().filter(|e| !me(e)) {
        for p in e.set.iter().filter(|p| changed.contains(*p)) {
            conflicts.push(Conflict {
                manager: e.manager.clone(),
                api_version: e.api_version.clone(),
                path: display_path(p),
            });
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for e in entries.iter_mut().filter(|e| !me(e)) {
        e.set.retain(|p| !changed.contains(p));
    }

    // Fields this manager applied before and omits now are removed, unless someone else owns them.
    let previous: FieldSet = entries
        .iter()
        .filter(|e| me(e))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    // Outermost first: a dropped list item goes as a whole while it can still be found by key.
    let mut dropped: Vec<&Path> = previous.iter().filter(|p| !applied.contains(*p)).collect();
    dropped.sort_by_key(|p| p.len());
    for p in dropped {
        let kept_by_other = entries
            .iter()
            .filter(|e| !me(e))
            .any(|e| e.set.iter().any(|q| q.starts_with(p) || p.starts_with(q)));
        let kept_by_me = applied.iter().any(|q| q.starts_with(p));
        if !kept_by_other && !kept_by_me {
            remove_at(&mut merged, p);
        }
    }

    for e in entries.iter_mut() {
        e.set.retain(|p| value_at(&merged, p).is_some());
    }
    let mine = Entry {
        manager: w.manager.to_string(),
        operation: "Apply".into(),
        api_version: w.api_version.to_string(),
        time: w.now.to_string(),
        subresource: w.subresource.map(String::from),
        set: applied,
    };
    match entries.iter_mut().find(|e| me(e)) {
        Some(e) => {
            if e.set != mine.set {
                *e = mine;
            }
        }
        None => entries.push(mine),
    }
    write_entries(&mut merged, &entries);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w<'a>(m: &'a str) -> Writer<'a> {
        Writer {
            manager: m,
            api_version: "v1",
            subresource: None,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn fields_v1_round_trip() {
        let obj = json!({"metadata": {"labels": {"a": "b"}, "finalizers": ["x"]}, "spec": {"a": 1, "b": {"c": [1]}}});
        let set = field_set(&obj, Node::root(None), Scope::Whole);
        let v1 = to_fields_v1(&set);
        assert_eq!(v1["f:spec"]["f:b"]["f:c"], json!({}));
        assert_eq!(v1["f:metadata"]["f:finalizers"]["v:\"x\""], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
    }

    #[test]
    fn apply_conflicts_force_and_removal() {
        let live =
            json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}, "spec": {"a": 1}});
        let mut obj = live.clone();
        track_update(
            None,
            &mut obj,
            vec![],
            &w("editor"),
            Node::root(None),
            Scope::Whole,
        );
        let cfg = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}, "spec": {"a": 2, "b": 1}});
        let conflicts =
            apply(&obj, &cfg, &w("ssa"), false, Node::root(None), Scope::Whole).unwrap_err();
        assert_eq!(conflicts[0].path, ".spec.a");
        let forced = apply(&obj, &cfg, &w("ssa"), true, Node::root(None), Scope::Whole).unwrap();
        assert_eq!(forced["spec"], json!({"a": 2, "b": 1}));
        // Same value is shared ownership, not a conflict.
        let same = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}, "spec": {"a": 1, "c": 1}});
        let shared = apply(
            &obj,
            &same,
            &w("ssa"),
            false,
            Node::root(None),
            Scope::Whole,
        )
        .unwrap();
        // Omitting c removes it; a stays because "editor" still owns it.
        let less = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "n"}, "spec": {}});
        let after = apply(
            &shared,
            &less,
            &w("ssa"),
            false,
            Node::root(None),
            Scope::Whole,
        )
        .unwrap();
        assert_eq!(after["spec"], json!({"a": 1}));
    }

    #[test]
    fn map_lists_merge_by_key() {
        let schema = json!({"properties": {"status": {"properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object"}}}}}});
        let node = Node::root(Some(&schema));
        let live =
            json!({"metadata": {}, "status": {"conditions": [{"type": "A", "status": "True"}]}});
        let cfg =
            json!({"metadata": {}, "status": {"conditions": [{"type": "B", "status": "False"}]}});
        let out = apply(&live, &cfg, &w("m"), false, node, Scope::Whole).unwrap();
        assert_eq!(out["status"]["conditions"].as_array().unwrap().len(), 2);
    }
}
