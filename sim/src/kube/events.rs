//! Events are stored once, in core/v1 form, and served through both APIs: events.k8s.io/v1
//! (what kube-runtime's Recorder writes) and core/v1 (what `kubectl describe` reads).

use serde_json::{Map, Value, json};

use super::status::Cause;

/// (core/v1 field, events.k8s.io/v1 field)
const RENAMES: [(&str, &str); 9] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("related", "related"),
    ("reportingInstance", "reportingInstance"),
];

fn rename(obj: &Value, to_v1: bool) -> Value {
    let Some(m) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    for (k, v) in m {
        let mapped = RENAMES.iter().find_map(|(core, v1)| {
            let (from, to) = if to_v1 { (core, v1) } else { (v1, core) };
            (*from == k.as_str()).then_some(*to)
        });
        out.insert(mapped.unwrap_or(k).to_string(), v.clone());
    }
    Value::Object(out)
}

pub fn core_to_v1(core: &Value) -> Value {
    let mut v = rename(core, true);
    v["apiVersion"] = json!("events.k8s.io/v1");
    v["kind"] = json!("Event");
    v
}

pub fn v1_to_core(v1: &Value) -> Value {
    let mut v = rename(v1, false);
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Event");
    v
}

/// events.k8s.io/v1 field selector names mapped onto the stored core form.
pub fn v1_field_to_core(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("regarding.") {
        return format!("involvedObject.{rest}");
    }
    match field {
        "reportingController" => "reportingComponent".into(),
        "deprecatedSource" => "source".into(),
        other => other.into(),
    }
}

/// Validation of an event (stored form). `strict_v1` adds what events.k8s.io/v1 requires.
pub fn validate(core: &Value, strict_v1: bool) -> Vec<Cause> {
    let mut causes = Vec::new();
    let s = |k: &str| {
        core.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let required = |causes: &mut Vec<Cause>, field: &str| {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: field.into(),
        })
    };
    let ns = core
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let involved_ns = core
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let regarding = if strict_v1 {
        "regarding"
    } else {
        "involvedObject"
    };
    if !involved_ns.is_empty() && involved_ns != ns {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: \"{involved_ns}\": does not match event.namespace"),
            field: format!("{regarding}.namespace"),
        });
    }
    let ty = s("type");
    if !ty.is_empty() && ty != "Normal" && ty != "Warning" {
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: \"{ty}\": supported values: \"Normal\", \"Warning\""
            ),
            field: "type".into(),
        });
    }
    if strict_v1 {
        if core.get("eventTime").is_none_or(Value::is_null) {
            required(&mut causes, "eventTime");
        }
        for (core_field, v1_field) in [
            ("reportingComponent", "reportingController"),
            ("reportingInstance", "reportingInstance"),
            ("action", "action"),
            ("reason", "reason"),
        ] {
            if s(core_field).is_empty() {
                required(&mut causes, v1_field);
            }
        }
        if ty.is_empty() {
            required(&mut causes, "type");
        }
        let note = s("message");
        if note.len() > 1024 {
            causes.push(Cause {
                reason: "FieldValueTooLong".into(),
                message: "Too long: may not be more than 1024 bytes".into(),
                field: "note".into(),
            });
        }
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"name": "x"}, "note": "hello", "reportingController": "c", "reason": "R"});
        let core = v1_to_core(&v1);
        assert_eq!(core["involvedObject"]["name"], "x");
        assert_eq!(core["message"], "hello");
        assert_eq!(core_to_v1(&core), v1);
    }
}
