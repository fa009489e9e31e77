//! Server-side printing: `meta.k8s.io/v1` Tables for `kubectl get`, built from a CRD's
//! additionalPrinterColumns (evaluated with the JSONPath subset printer columns use) or from the
//! built-in column sets.

use serde_json::{Value, json};

use super::registry::{Column, Flavor, ResourceType};

// ---------------------------------------------------------------------------------------------
// JSONPath subset: `.a.b`, `[n]`, `[*]`, `['key']`, `[?(@.x=="y")]`, `[?(@.x)]`.

enum Step {
    Field(String),
    Index(i64),
    All,
    Filter {
        path: Vec<Step>,
        cmp: Option<(bool, Value)>,
    },
}

fn parse_path(s: &str) -> Option<Vec<Step>> {
    let s = s.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let s = s.strip_prefix('$').unwrap_or(s);
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if name == "*" {
                    steps.push(Step::All);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let mut depth = 0;
                let start = i + 1;
                let mut quote: Option<char> = None;
                while i < chars.len() {
                    let c = chars[i];
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) => {}
                        None if c == '"' || c == '\'' => quote = Some(c),
                        None if c == '[' => depth += 1,
                        None if c == ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        None => {}
                    }
                    i += 1;
                }
                let inner: String = chars.get(start..i)?.iter().collect();
                i += 1;
                steps.push(parse_bracket(inner.trim())?);
            }
            _ => {
                // A leading bare field name (`metadata.name`).
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Field(chars[start..i].iter().collect()));
            }
        }
    }
    Some(steps)
}

fn parse_bracket(inner: &str) -> Option<Step> {
    if inner == "*" {
        return Some(Step::All);
    }
    if let Some(f) = inner.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        let f = f.trim();
        let (lhs, cmp) = if let Some((l, r)) = f.split_once("==") {
            (l.trim(), Some((true, literal(r.trim())?)))
        } else if let Some((l, r)) = f.split_once("!=") {
            (l.trim(), Some((false, literal(r.trim())?)))
        } else {
            (f, None)
        };
        let path = parse_path(lhs.strip_prefix('@')?)?;
        return Some(Step::Filter { path, cmp });
    }
    if let Some(q) = literal(inner).and_then(|v| v.as_str().map(String::from)) {
        return Some(Step::Field(q));
    }
    inner.parse::<i64>().ok().map(Step::Index)
}

fn literal(s: &str) -> Option<Value> {
    if (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\''))
        && s.len() >= 2
    {
        return Some(Value::String(s[1..s.len() - 1].to_string()));
    }
    serde_json::from_str(s).ok()
}

fn run(steps: &[Step], v: &Value) -> Vec<Value> {
    let mut cur = vec![v.clone()];
    for step in steps {
        let mut next = Vec::new();
        for c in &cur {
            match step {
                Step::Field(f) => next.extend(c.get(f.as_str()).cloned()),
                Step::Index(i) => {
                    if let Some(a) = c.as_array() {
                        let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                        if idx >= 0 {
                            next.extend(a.get(idx as usize).cloned());
                        }
                    }
                }
                Step::All => match c {
                    Value::Array(a) => next.extend(a.iter().cloned()),
                    Value::Object(m) => next.extend(m.values().cloned()),
                    _ => {}
                },
                Step::Filter { path, cmp } => {
                    if let Some(a) = c.as_array() {
                        for item in a {
                            let found = run(path, item);
                            let keep = match cmp {
                                None => !found.is_empty(),
                                Some((eq, want)) => {
                                    found.first().is_some_and(|f| (f == want) == *eq)
                                }
                            };
                            if keep {
                                next.push(item.clone());
                            }
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

/// Evaluates a printer-column JSONPath; an unparseable path selects nothing.
pub fn eval(obj: &Value, path: &str) -> Vec<Value> {
    parse_path(path)
        .map(|steps| run(&steps, obj))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Cells

/// apimachinery's `duration.HumanDuration`, which `kubectl get` shows in AGE columns.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = secs / 3600;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn age(v: &Value) -> Value {
    match v
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    {
        Some(t) => json!(human_duration(
            (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()
        )),
        None => json!("<unknown>"),
    }
}

fn text(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s),
        Value::Null => Value::Null,
        other => json!(other.to_string()),
    }
}

fn custom_cell(col: &Column, obj: &Value) -> Value {
    let Some(v) = eval(obj, &col.json_path).into_iter().next() else {
        return Value::Null;
    };
    match col.type_.as_str() {
        "date" => age(&v),
        "integer" => v.as_i64().map(Value::from).unwrap_or(Value::Null),
        "number" => v.as_f64().map(Value::from).unwrap_or(Value::Null),
        "boolean" => v.as_bool().map(Value::from).unwrap_or(Value::Null),
        _ => text(&v),
    }
}

fn col(name: &str, ty: &str, format: &str, priority: i64, description: &str) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str =
    "CreationTimestamp is a timestamp representing the server time when this object was created.";

pub fn column_definitions(rt: &ResourceType) -> Vec<Value> {
    let name = col("Name", "string", "name", 0, NAME_DESC);
    let age_col = col("Age", "string", "", 0, AGE_DESC);
    match rt.flavor {
        Flavor::Custom => {
            let mut out = vec![name];
            if let Some(c) = &rt.custom {
                out.extend(
                    c.columns
                        .iter()
                        .map(|c| col(&c.name, &c.type_, &c.format, c.priority, &c.description)),
                );
            }
            out
        }
        Flavor::Namespace => vec![
            name,
            col("Status", "string", "", 0, "The status of the namespace"),
            age_col,
        ],
        Flavor::Secret => vec![
            name,
            col("Type", "string", "", 0, "The type of the secret"),
            col("Data", "string", "", 0, "The number of data items"),
            age_col,
        ],
        Flavor::CoreEvent | Flavor::EventV1 => vec![
            col(
                "Last Seen",
                "string",
                "",
                0,
                "Time when this Event was last seen",
            ),
            col(
                "Type",
                "string",
                "",
                0,
                "Type of this event (Normal, Warning)",
            ),
            col(
                "Reason",
                "string",
                "",
                0,
                "Short, machine understandable string that gives the reason for the transition",
            ),
            col("Object", "string", "", 0, "Object this event is about"),
            col(
                "Message",
                "string",
                "",
                0,
                "A human-readable description of the status of this operation",
            ),
        ],
        Flavor::Crd => vec![name, col("Created At", "date", "", 0, AGE_DESC)],
        Flavor::Plain if rt.kind == "Lease" => {
            vec![
                name,
                col("Holder", "string", "", 0, "The holder of the lease"),
                age_col,
            ]
        }
        Flavor::Plain if rt.kind == "ConfigMap" => {
            vec![
                name,
                col("Data", "string", "", 0, "The number of data items"),
                age_col,
            ]
        }
        Flavor::Plain => vec![name, age_col],
    }
}

fn cells(rt: &ResourceType, obj: &Value) -> Vec<Value> {
    let name = obj
        .pointer("/metadata/name")
        .cloned()
        .unwrap_or(Value::Null);
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .cloned()
        .unwrap_or(Value::Null);
    let count = |field: &str| {
        json!(
            obj.get(field)
                .and_then(Value::as_object)
                .map_or(0, |m| m.len())
        )
    };
    match rt.flavor {
        Flavor::Custom => {
            let mut out = vec![name];
            if let Some(c) = &rt.custom {
                out.extend(c.columns.iter().map(|c| custom_cell(c, obj)));
            }
            out
        }
        Flavor::Namespace => vec![name, text(&obj["status"]["phase"]), age(&created)],
        Flavor::Secret => vec![name, text(&obj["type"]), count("data"), age(&created)],
        Flavor::CoreEvent | Flavor::EventV1 => {
            let core = if rt.flavor == Flavor::EventV1 {
                super::events::v1_to_core(obj)
            } else {
                obj.clone()
            };
            let last = [
                &core["lastTimestamp"],
                &core["series"]["lastObservedTime"],
                &core["eventTime"],
                &created,
            ]
            .into_iter()
            .find(|v| v.is_string())
            .cloned()
            .unwrap_or(Value::Null);
            let involved = &core["involvedObject"];
            let object = format!(
                "{}/{}",
                involved["kind"].as_str().unwrap_or_default().to_lowercase(),
                involved["name"].as_str().unwrap_or_default()
            );
            vec![
                age(&last),
                text(&core["type"]),
                text(&core["reason"]),
                json!(object),
                text(&core["message"]),
            ]
        }
        Flavor::Crd => vec![name, created],
        Flavor::Plain if rt.kind == "Lease" => {
            vec![name, text(&obj["spec"]["holderIdentity"]), age(&created)]
        }
        Flavor::Plain if rt.kind == "ConfigMap" => vec![name, count("data"), age(&created)],
        Flavor::Plain => vec![name, age(&created)],
    }
}

/// `includeObject` of TableOptions.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    pub fn parse(v: Option<&str>) -> Include {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

pub fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata").cloned().unwrap_or(json!({}))})
}

pub fn row(rt: &ResourceType, obj: &Value, include: Include) -> Value {
    let object = match include {
        Include::None => Value::Null,
        Include::Metadata => partial_metadata(obj),
        Include::Object => obj.clone(),
    };
    json!({"cells": cells(rt, obj), "object": object})
}

/// A Table of objects (external form). `meta` is the list metadata to carry over.
pub fn table(
    rt: &ResourceType,
    objs: &[Value],
    meta: Value,
    include: Include,
    api_version: &str,
) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": meta,
        "columnDefinitions": column_definitions(rt),
        "rows": objs.iter().map(|o| row(rt, o, include)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_subset() {
        let obj = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]},
                         "spec": {"list": [1, 2, 3], "a.b": "dotted"}});
        assert_eq!(
            eval(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(eval(&obj, ".spec.list[1]"), vec![json!(2)]);
        assert_eq!(eval(&obj, ".spec.list[-1]"), vec![json!(3)]);
        assert_eq!(eval(&obj, ".spec['a.b']"), vec![json!("dotted")]);
        assert_eq!(eval(&obj, ".status.conditions[*].type").len(), 2);
        assert!(eval(&obj, ".missing.x").is_empty());
        assert!(eval(&obj, "[[[").is_empty() || !eval(&obj, "[[[").is_empty());
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(185), "3m5s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(3 * 86400), "3d");
    }
}
