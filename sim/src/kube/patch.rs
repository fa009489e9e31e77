//! The non-apply patch formats: RFC 6902 JSON Patch with the semantics of the Go library the
//! apiserver uses (a `test` for `null` passes on a missing key, which kube-runtime's finalizer
//! helper relies on), RFC 7386 merge patch, and strategic merge patch reduced to a merge patch
//! that understands the common `$patch` directives.

use serde_json::{Map, Value};

/// Applies a JSON Patch document. Errors are the message the apiserver puts into its 422.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("json patch must be an array of operations")?;
    // All or nothing: a failed operation (for example `test`) must leave the object unchanged.
    let mut work = doc.clone();
    for op in ops {
        apply_op(&mut work, op)?;
    }
    *doc = work;
    Ok(())
}

/// Validates the shape of a JSON Patch document (a bad document is a 400, a failing one a 422).
pub fn check_json_patch(ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("json: cannot unmarshal object into Go value of type jsonpatch.Patch")?;
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        if !["add", "remove", "replace", "move", "copy", "test"].contains(&kind) {
            return Err(format!("Unexpected kind: {kind}"));
        }
        if op.get("path").and_then(Value::as_str).is_none() {
            return Err(format!("{kind} operation missing path"));
        }
    }
    Ok(())
}

fn parse_pointer(p: &str) -> Result<Vec<String>, String> {
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let rest = p
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer: {p:?}"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn index(tok: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if allow_end && tok == "-" {
        return Ok(len);
    }
    let i: usize = tok
        .parse()
        .map_err(|_| format!("invalid array index: {tok}"))?;
    let max = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > max || (!allow_end && len == 0) {
        return Err(format!("Unable to access invalid index: {i}"));
    }
    Ok(i)
}

/// The container holding the last token of `path`.
fn parent<'a>(doc: &'a mut Value, toks: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in &toks[..toks.len().saturating_sub(1)] {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => {
                let i: usize = t.parse().ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn get<'a>(doc: &'a Value, toks: &[String]) -> Option<&'a Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get(t)?,
            Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, toks: &[String], value: Value, path: &str) -> Result<(), String> {
    let Some(last) = toks.last() else {
        *doc = value;
        return Ok(());
    };
    let missing = || format!("add operation does not apply: doc is missing path: \"{path}\"");
    match parent(doc, toks).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            let i = index(last, a.len(), true)?;
            a.insert(i, value);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(doc: &mut Value, toks: &[String], path: &str) -> Result<Value, String> {
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\"");
    let last = toks.last().ok_or_else(missing)?;
    match parent(doc, toks).ok_or_else(missing)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
    let path = op
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{kind} operation missing path"))?;
    let toks = parse_pointer(path)?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| format!("{kind} operation missing value"))
    };
    match kind {
        "add" => add(doc, &toks, value()?, path),
        "remove" => remove(doc, &toks, path).map(|_| ()),
        "replace" => {
            if get(doc, &toks).is_none() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {path}"
                ));
            }
            remove(doc, &toks, path)?;
            add(doc, &toks, value()?, path)
        }
        "move" | "copy" => {
            let from = op
                .get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{kind} operation missing from"))?;
            let ftoks = parse_pointer(from)?;
            let v = if kind == "move" {
                remove(doc, &ftoks, from)?
            } else {
                get(doc, &ftoks).cloned().ok_or_else(|| {
                    format!("copy operation does not apply: doc is missing from path: {from}")
                })?
            };
            add(doc, &toks, v, path)
        }
        "test" => {
            let want = op.get("value").cloned().unwrap_or(Value::Null);
            if toks.is_empty() {
                return if *doc == want {
                    Ok(())
                } else {
                    Err(format!("testing value {path} failed: test failed"))
                };
            }
            let Some(container) = parent(doc, &toks) else {
                return Err(format!(
                    "test operation does not apply: is missing path: {path}"
                ));
            };
            let last = &toks[toks.len() - 1];
            let have = match container {
                Value::Object(m) => m.get(last).cloned(),
                Value::Array(a) => last.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
                _ => None,
            };
            match (have, want) {
                (None, Value::Null) => Ok(()),
                (Some(h), w) if h == w => Ok(()),
                _ => Err(format!("testing value {path} failed: test failed")),
            }
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

/// RFC 7386 merge patch.
pub fn merge_patch(doc: &mut Value, patch: &Value) {
    if let Value::Object(p) = patch {
        if !doc.is_object() {
            *doc = Value::Object(Map::new());
        }
        if let Value::Object(d) = doc {
            for (k, v) in p {
                if v.is_null() {
                    d.remove(k);
                } else {
                    merge_patch(d.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
    } else {
        *doc = patch.clone();
    }
}

/// Strategic merge patch without per-type merge keys: lists are replaced (as a merge patch does),
/// `$patch: delete|replace` on maps is honoured, and bookkeeping directives kubectl emits
/// (`$setElementOrder/…`, `$retainKeys`, `$deleteFromPrimitiveList/…`) are understood.
pub fn strategic_merge_patch(doc: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *doc = patch.clone();
        return;
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("delete") => {
            *doc = Value::Null;
            return;
        }
        Some("replace") => {
            let mut clean = p.clone();
            clean.remove("$patch");
            *doc = Value::Object(clean);
            return;
        }
        _ => {}
    }
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let Value::Object(d) = doc else { return };
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        d.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k == "$retainKeys" || k.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(del)) = (d.get_mut(field), v) {
                list.retain(|x| !del.contains(x));
            }
            continue;
        }
        if v.is_null() {
            d.remove(k);
            continue;
        }
        let slot = d.entry(k.clone()).or_insert(Value::Null);
        strategic_merge_patch(slot, v);
        if slot.is_null() {
            d.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_null_on_missing_key_passes() {
        let mut doc = json!({"metadata": {"name": "a"}});
        json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
                    {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["x"]));
        json_patch(
            &mut doc,
            &json!([{"op": "add", "path": "/metadata/finalizers/-", "value": "y"}]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["x", "y"]));
    }

    #[test]
    fn failed_test_changes_nothing() {
        let mut doc = json!({"a": 1});
        let before = doc.clone();
        let err = json_patch(
            &mut doc,
            &json!([{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}]),
        );
        assert!(err.is_err());
        assert_eq!(doc, before);
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "test", "path": "/a", "value": null}])
            )
            .is_err()
        );
        assert!(
            json_patch(
                &mut doc,
                &json!([{"op": "test", "path": "/x/y", "value": null}])
            )
            .is_err()
        );
        assert!(json_patch(&mut doc, &json!([{"op": "remove", "path": "/b"}])).is_err());
    }

    #[test]
    fn merges() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut doc, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(doc, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
        strategic_merge_patch(
            &mut doc,
            &json!({"a": {"$patch": "delete"}, "$setElementOrder/l": [1]}),
        );
        assert_eq!(doc, json!({"l": [3]}));
    }
}
