//! docs/reference.md, rendered from the CRD's own openAPIV3Schema so that the reference can never
//! say something the API server does not enforce. Regenerate with
//! `cargo run -q -- crd --reference > docs/reference.md`.

use std::fmt::Write as _;

use kube::CustomResourceExt;
use serde_json::Value;

use crate::crd::ConnectUser;

pub const REGENERATE: &str = "cargo run -q -- crd --reference > docs/reference.md";

/// One field of the schema, flattened.
struct Field<'a> {
    path: String,
    schema: &'a Value,
    required: bool,
    /// The nearest optional ancestor of a required field: required only when that one is set.
    within: Option<String>,
}

impl Field<'_> {
    fn required_text(&self) -> String {
        match (self.required, &self.within) {
            (false, _) => "no".into(),
            (true, None) => "yes".into(),
            (true, Some(parent)) => format!("yes, when `{parent}` is set"),
        }
    }
}

/// The Markdown reference of the ConnectUser CRD.
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for crd in [
        ConnectUser::crd(),
        crate::instance::crd::ConnectInstance::crd(),
        crate::instance::crd::ClusterConnectInstance::crd(),
    ] {
        let crd = serde_json::to_value(crd).expect("a CRD always serializes");
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&render(&crd));
    }
    out
}

fn render(crd: &Value) -> String {
    let spec = &crd["spec"];
    let version = &spec["versions"][0];
    let schema = &version["schema"]["openAPIV3Schema"];
    let mut out = String::new();
    let _ = writeln!(out, "# {} reference\n", str_of(&spec["names"]["kind"]));
    let _ = writeln!(
        out,
        "<!-- Generated from the CRD by `connect-user-operator crd --reference`; do not edit.\n     Regenerate: {REGENERATE} -->\n"
    );
    let _ = writeln!(
        out,
        "- API version: `{}/{}`",
        str_of(&spec["group"]),
        str_of(&version["name"])
    );
    let _ = writeln!(
        out,
        "- Kind: `{}` ({}; plural `{}`, short name{} {}, categor{} {})",
        str_of(&spec["names"]["kind"]),
        str_of(&spec["scope"]).to_lowercase(),
        str_of(&spec["names"]["plural"]),
        plural_s(&spec["names"]["shortNames"]),
        code_list(&spec["names"]["shortNames"]),
        if list_len(&spec["names"]["categories"]) == 1 {
            "y"
        } else {
            "ies"
        },
        code_list(&spec["names"]["categories"]),
    );
    if let Some(columns) = version["additionalPrinterColumns"].as_array() {
        let names: Vec<String> = columns
            .iter()
            .map(|c| format!("{} (`{}`)", str_of(&c["name"]), str_of(&c["jsonPath"])))
            .collect();
        let _ = writeln!(out, "- `kubectl get` columns: {}", names.join(", "));
    }
    let _ = writeln!(
        out,
        "\nEvery constraint below is enforced by the API server when the manifest is applied\n(OpenAPI validation and CEL rules), before the operator sees it.\n"
    );
    for section in ["spec", "status"] {
        let Some(root) = schema["properties"].get(section) else {
            continue;
        };
        let mut fields = Vec::new();
        let within = (section == "status").then(|| section.to_string());
        collect(section.to_string(), root, within, &mut fields);
        let _ = writeln!(out, "## {section}\n");
        if let Some(d) = root["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(d));
        }
        let _ = writeln!(out, "| Field | Type | Required |\n|---|---|---|");
        for f in &fields {
            let _ = writeln!(
                out,
                "| [`{}`](#{}) | {} | {} |",
                f.path,
                anchor(&f.path),
                cell(&type_of(f.schema)),
                f.required_text()
            );
        }
        out.push('\n');
        for f in &fields {
            field_section(&mut out, f);
        }
    }
    out
}

/// Depth-first: every property, array items as `path[]`, in schema (alphabetical) order.
/// `within` is the nearest optional ancestor, if any.
fn collect<'a>(path: String, schema: &'a Value, within: Option<String>, out: &mut Vec<Field<'a>>) {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema["properties"].as_object() {
        for (name, child) in props {
            let child_path = format!("{path}.{name}");
            let is_required = required.contains(&name.as_str());
            out.push(Field {
                path: child_path.clone(),
                schema: child,
                required: is_required,
                within: within.clone(),
            });
            let below = if is_required {
                within.clone()
            } else {
                Some(child_path.clone())
            };
            collect(child_path, child, below, out);
        }
    }
    if let Some(items) = schema.get("items")
        && items["properties"].is_object()
    {
        // An item's required fields are required in every item.
        collect(format!("{path}[]"), items, within, out);
    }
}

fn field_section(out: &mut String, f: &Field) {
    let s = f.schema;
    let _ = writeln!(out, "### `{}`\n", f.path);
    if let Some(d) = s["description"]
        .as_str()
        .or_else(|| s["items"]["description"].as_str())
    {
        let _ = writeln!(out, "{}\n", one_line(d));
    }
    let _ = writeln!(out, "- Type: {}", type_of(s));
    let _ = writeln!(out, "- Required: {}", f.required_text());
    if let Some(d) = s.get("default") {
        let _ = writeln!(out, "- Default: `{}`", compact(d));
    }
    for c in constraints(s) {
        let _ = writeln!(out, "- {c}");
    }
    for scope in [s, &s["items"]] {
        if let Some(rules) = scope["x-kubernetes-validations"].as_array() {
            let on_items = !std::ptr::eq(scope, s);
            for r in rules {
                let _ = writeln!(
                    out,
                    "- Rule{}: `{}` — rejected with \"{}\"",
                    if on_items { " (each item)" } else { "" },
                    str_of(&r["rule"]),
                    str_of(&r["message"])
                );
            }
        }
    }
    out.push('\n');
}

fn type_of(s: &Value) -> String {
    let base = match s["type"].as_str() {
        Some("array") => format!("array of {}", type_of(&s["items"])),
        Some("object") if s["additionalProperties"].is_object() => {
            format!("map of string to {}", type_of(&s["additionalProperties"]))
        }
        Some(t) => match s["format"].as_str() {
            Some(f) => format!("{t} ({f})"),
            None => t.to_string(),
        },
        None => "any".into(),
    };
    if let Some(values) = s["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{}`", str_of(v))).collect();
        format!("{base}, one of {}", values.join(", "))
    } else {
        base
    }
}

fn constraints(s: &Value) -> Vec<String> {
    let mut c = Vec::new();
    let num = |k: &str| s[k].as_f64().map(|n| format!("{n}"));
    match (num("minLength"), num("maxLength")) {
        (Some(a), Some(b)) => c.push(format!("Length: {a} to {b} characters")),
        (None, Some(b)) => c.push(format!("Length: at most {b} characters")),
        (Some(a), None) => c.push(format!("Length: at least {a} characters")),
        _ => {}
    }
    match (num("minimum"), num("maximum")) {
        (Some(a), Some(b)) => c.push(format!("Range: {a} to {b}")),
        (None, Some(b)) => c.push(format!("Range: at most {b}")),
        (Some(a), None) => c.push(format!("Range: at least {a}")),
        _ => {}
    }
    match (num("minItems"), num("maxItems")) {
        (Some(a), Some(b)) => c.push(format!("Items: {a} to {b}")),
        (None, Some(b)) => c.push(format!("Items: at most {b}")),
        (Some(a), None) => c.push(format!("Items: at least {a}")),
        _ => {}
    }
    if let Some(p) = s["pattern"].as_str() {
        c.push(format!("Pattern: `{p}`"));
    }
    c
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn list_len(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

fn plural_s(v: &Value) -> &'static str {
    if list_len(v) == 1 { "" } else { "s" }
}

fn code_list(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| format!("`{}`", str_of(x)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Schema descriptions wrap at ~100 columns; Markdown paragraphs read better unwrapped.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Markdown table cell: pipes escaped (GitHub honours `\|` even inside code spans).
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// GitHub's heading anchor for "`path`": lowercase, punctuation except '-' dropped.
fn anchor(path: &str) -> String {
    path.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_reference_is_current() {
        let committed =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md"))
                .unwrap_or_default();
        assert!(
            committed == reference_markdown(),
            "docs/reference.md is stale: run `{REGENERATE}`"
        );
    }

    #[test]
    fn reference_lists_every_field_with_its_rules() {
        let md = reference_markdown();
        for path in [
            "spec.instanceId",
            "spec.securityProfiles[].name",
            "spec.phoneConfig.deskPhoneNumber",
            "spec.tags",
            "status.conditions[].reason",
        ] {
            assert!(md.contains(&format!("### `{path}`")), "{path} missing");
        }
        assert!(md.contains("rejected with \"instanceId is immutable\""));
        assert!(md.contains(
            "rejected with \"deskPhoneNumber is required when phoneType is DESK_PHONE\""
        ));
        assert!(md.contains("Rule (each item): `has(self.id) != has(self.name)`"));
        assert!(md.contains("| [`spec.username`](#specusername) | string | yes |"));
        assert!(md.contains("Type: string, one of `Delete`, `Retain`"));
        assert!(md.contains("Pattern: `^[a-zA-Z0-9_.@-]+$`"));
        assert!(md.contains(
            "| [`spec.passwordSecretRef.key`](#specpasswordsecretrefkey) | string | yes, when `spec.passwordSecretRef` is set |"
        ));
    }

    #[test]
    fn every_schema_property_is_documented() {
        // Count the properties in the schema independently of `collect`.
        fn count(v: &Value) -> usize {
            let own = v["properties"]
                .as_object()
                .map_or(0, |p| p.len() + p.values().map(count).sum::<usize>());
            own + v.get("items").map_or(0, count)
        }
        let mut expected = 0;
        for crd in [
            ConnectUser::crd(),
            crate::instance::crd::ConnectInstance::crd(),
            crate::instance::crd::ClusterConnectInstance::crd(),
        ] {
            let crd = serde_json::to_value(crd).unwrap();
            let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"];
            expected += count(&root["spec"]) + count(&root["status"]);
        }
        let md = reference_markdown();
        assert_eq!(md.matches("\n### `").count(), expected);
    }

    #[test]
    fn table_cells_escape_pipes() {
        assert_eq!(cell("a || b"), "a \\|\\| b");
        assert_eq!(anchor("spec.tags[]"), "spectags");
    }
}
