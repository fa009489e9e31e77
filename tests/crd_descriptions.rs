//! Every field of every committed CRD is described for the user, as `kubectl explain` shows
//! it: what it does; its default when it has one; that it cannot change when a rule makes it
//! immutable; the allowed values of an enum. Checked mechanically, so a new field cannot slip
//! through undocumented (the committed CRDs are checked current by the crate's own tests).

use serde_json::Value;

const CRDS: [&str; 3] = [
    "crds/connectuser.yaml",
    "crds/connectinstance.yaml",
    "crds/clusterconnectinstance.yaml",
];

fn load(file: &str) -> Value {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn schema_of(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

/// What is wrong with the descriptions under `schema`, one line per field.
fn problems(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(props) = schema["properties"].as_object() {
        for (name, field) in props {
            // The envelope is Kubernetes' own, described by the apiserver.
            if matches!(name.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            walk(name, field, &mut found);
        }
    }
    found
}

fn walk(path: &str, field: &Value, found: &mut Vec<String>) {
    let description = field["description"].as_str().unwrap_or("").trim();
    let lower = description.to_lowercase();
    let leaf = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .trim_end_matches("[]");
    if description.is_empty() {
        found.push(format!("{path}: no description"));
    } else if description.split_whitespace().count() < 3 || lower == leaf.to_lowercase() {
        found.push(format!(
            "{path}: the description {description:?} says nothing"
        ));
    }
    if !description.is_empty() {
        // A status field's default is serde's, not something a user sets.
        let in_status = path.starts_with("status");
        if field.get("default").is_some() && !in_status && !lower.contains("default") {
            found.push(format!(
                "{path}: has default {} but the description does not say so",
                field["default"]
            ));
        }
        if let Some(values) = field["enum"].as_array() {
            for v in values.iter().filter_map(Value::as_str) {
                if !description.contains(v) {
                    found.push(format!(
                        "{path}: enum value {v:?} is not in the description"
                    ));
                }
            }
        }
    }
    // A transition rule whose message says "immutable" makes immutable the field it is on, or
    // the child it names (an object-level rule: "region is immutable: ...").
    for rule in field["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let message = rule["message"].as_str().unwrap_or("");
        let transition = rule["rule"].as_str().is_some_and(|r| r.contains("oldSelf"));
        if !transition || !message.contains("immutable") {
            continue;
        }
        let named = message.split_whitespace().next().unwrap_or("");
        let (target, at) = match field["properties"].get(named) {
            Some(child) => (child, format!("{path}.{named}")),
            None => (field, path.to_string()),
        };
        let says = target["description"]
            .as_str()
            .is_some_and(|d| d.to_lowercase().contains("immutable"));
        if !says {
            found.push(format!(
                "{at}: a rule makes it immutable but the description does not say so"
            ));
        }
    }
    if let Some(props) = field["properties"].as_object() {
        for (name, child) in props {
            walk(&format!("{path}.{name}"), child, found);
        }
    }
    if field["items"].is_object() {
        let items = &field["items"];
        // An array's items are described by the array itself unless they are objects.
        if let Some(props) = items["properties"].as_object() {
            for (name, child) in props {
                walk(&format!("{path}[].{name}"), child, found);
            }
        }
    }
    if let Some(values) = field["additionalProperties"]["properties"].as_object() {
        for (name, child) in values {
            walk(&format!("{path}.*.{name}"), child, found);
        }
    }
}

#[test]
fn every_field_of_every_crd_is_described_with_its_default_immutability_and_values() {
    let mut all = Vec::new();
    for file in CRDS {
        let crd = load(file);
        all.extend(
            problems(schema_of(&crd))
                .into_iter()
                .map(|p| format!("{file}: {p}")),
        );
    }
    assert!(
        all.is_empty(),
        "{} field(s) not described for the user (write the doc comment on the Rust type, then regenerate crds/ and docs/reference.md):\n{}",
        all.len(),
        all.join("\n")
    );
}

/// The check finds each kind of omission (negative controls on the real CRD, edited).
#[test]
fn the_check_catches_a_missing_description_default_enum_value_and_immutability() {
    let crd = load("crds/connectuser.yaml");
    let real = schema_of(&crd).clone();
    assert!(problems(&real).is_empty());

    let mut undocumented = real.clone();
    undocumented["properties"]["spec"]["properties"]["username"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    assert_eq!(
        problems(&undocumented),
        [
            "spec.username: no description",
            "spec.username: a rule makes it immutable but the description does not say so"
        ]
    );

    let mut new_field = real.clone();
    new_field["properties"]["spec"]["properties"]["phoneConfig"]["properties"]["brandNew"] =
        serde_json::json!({"type": "string"});
    assert_eq!(
        problems(&new_field),
        ["spec.phoneConfig.brandNew: no description"]
    );

    let mut defaulted = real.clone();
    defaulted["properties"]["spec"]["properties"]["username"]["default"] = "agent".into();
    assert_eq!(problems(&defaulted).len(), 1, "{:?}", problems(&defaulted));

    let mut enumerated = real.clone();
    enumerated["properties"]["spec"]["properties"]["username"]["enum"] =
        serde_json::json!(["alice", "bob"]);
    assert_eq!(
        problems(&enumerated).len(),
        2,
        "{:?}",
        problems(&enumerated)
    );

    let mut immutable = real.clone();
    immutable["properties"]["spec"]["properties"]["username"]["x-kubernetes-validations"] =
        serde_json::json!([{"rule": "self == oldSelf", "message": "username is immutable"}]);
    immutable["properties"]["spec"]["properties"]["username"]["description"] =
        "The name the agent signs in with.".into();
    assert_eq!(
        problems(&immutable),
        ["spec.username: a rule makes it immutable but the description does not say so"]
    );

    let mut terse = real;
    terse["properties"]["spec"]["properties"]["region"]["description"] = "Region".into();
    assert_eq!(
        problems(&terse),
        [
            "spec.region: a rule makes it immutable but the description does not say so",
            "spec.region: the description \"Region\" says nothing"
        ]
    );
}
