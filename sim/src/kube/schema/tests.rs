use serde_json::{Value, json};

use super::{FieldCause, VersionSchema};

/// A CRD root schema whose `spec` has the given properties (and optional extra keywords).
fn spec_schema(spec: Value) -> VersionSchema {
    let mut spec_node = json!({"type": "object"});
    for (k, v) in spec.as_object().unwrap() {
        spec_node[k] = v.clone();
    }
    VersionSchema::new(&json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": spec_node,
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }
    }))
    .expect("schema compiles")
}

fn props(p: Value) -> VersionSchema {
    spec_schema(json!({ "properties": p }))
}

fn object(spec: Value) -> Value {
    json!({"apiVersion": "t.io/v1", "kind": "T", "metadata": {"name": "a"}, "spec": spec})
}

fn check(s: &VersionSchema, spec: Value) -> Vec<FieldCause> {
    s.validate(&object(spec), None)
}

fn update(s: &VersionSchema, old: Value, new: Value) -> Vec<FieldCause> {
    s.validate(&object(new), Some(&object(old)))
}

fn fc(reason: &str, field: &str, message: &str) -> FieldCause {
    FieldCause {
        reason: reason.into(),
        message: message.into(),
        field: field.into(),
    }
}

fn one(causes: Vec<FieldCause>) -> FieldCause {
    assert_eq!(causes.len(), 1, "{causes:#?}");
    causes.into_iter().next().unwrap()
}

// --- keywords and messages --------------------------------------------------------------

#[test]
fn required_is_field_value_required() {
    let s = spec_schema(json!({
        "required": ["username"],
        "properties": {"username": {"type": "string"}}
    }));
    assert_eq!(
        one(check(&s, json!({}))),
        fc("FieldValueRequired", "spec.username", "Required value")
    );
    assert!(check(&s, json!({"username": "x"})).is_empty());
    // Required at the root names the bare field.
    let root = VersionSchema::new(&json!({"type": "object", "required": ["spec"]})).unwrap();
    assert_eq!(
        one(root.validate(&json!({"metadata": {}}), None)),
        fc("FieldValueRequired", "spec", "Required value")
    );
}

#[test]
fn pattern_mismatch_quotes_value_and_pattern() {
    let s = props(json!({"username": {"type": "string", "pattern": "^[a-z]+$"}}));
    assert_eq!(
        one(check(&s, json!({"username": "abc1"}))),
        fc(
            "FieldValueInvalid",
            "spec.username",
            "Invalid value: \"abc1\": spec.username in body should match '^[a-z]+$'"
        )
    );
    assert!(check(&s, json!({"username": "abc"})).is_empty());
}

#[test]
fn pattern_classes_are_ascii_like_re2() {
    let s = props(json!({"n": {"type": "string", "pattern": "^\\d+$"}}));
    assert!(check(&s, json!({"n": "123"})).is_empty());
    assert_eq!(check(&s, json!({"n": "١٢٣"})).len(), 1);
}

#[test]
fn enum_lists_supported_values() {
    let s = props(json!({
        "policy": {"type": "string", "enum": ["A", "B"]},
        "n": {"type": "integer", "enum": [1, 2]}
    }));
    assert_eq!(
        one(check(&s, json!({"policy": "X"}))),
        fc(
            "FieldValueNotSupported",
            "spec.policy",
            "Unsupported value: \"X\": supported values: \"A\", \"B\""
        )
    );
    assert_eq!(
        one(check(&s, json!({"n": 3}))).message,
        "Unsupported value: 3: supported values: \"1\", \"2\""
    );
    assert!(check(&s, json!({"policy": "B", "n": 2})).is_empty());
}

#[test]
fn lengths_count_code_points() {
    let s =
        props(json!({"x": {"type": "string", "maxLength": 3, "minLength": 2, "pattern": "^z"}}));
    assert!(check(&s, json!({"x": "zéé"})).is_empty());
    // Too long wins over the pattern: the string checks stop at the first failure.
    assert_eq!(
        one(check(&s, json!({"x": "éééé"}))),
        fc(
            "FieldValueTooLong",
            "spec.x",
            "Too long: may not be more than 3 bytes"
        )
    );
    assert_eq!(
        one(check(&s, json!({"x": "z"}))),
        fc(
            "FieldValueInvalid",
            "spec.x",
            "Invalid value: \"z\": spec.x in body should be at least 2 chars long"
        )
    );
    let one_byte = props(json!({"x": {"type": "string", "maxLength": 1}}));
    assert_eq!(
        one(check(&one_byte, json!({"x": "ab"}))).message,
        "Too long: may not be more than 1 byte"
    );
}

#[test]
fn type_errors_name_the_json_type() {
    let s = props(json!({
        "i": {"type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "o": {"type": "object"},
        "a": {"type": "array"},
        "s": {"type": "string"},
        "ios": {"x-kubernetes-int-or-string": true}
    }));
    assert_eq!(
        one(check(&s, json!({"i": "string"}))),
        fc(
            "FieldValueTypeInvalid",
            "spec.i",
            "Invalid value: \"string\": spec.i in body must be of type integer: \"string\""
        )
    );
    assert_eq!(
        one(check(&s, json!({"i": 1.5}))).message,
        "Invalid value: \"number\": spec.i in body must be of type integer: \"number\""
    );
    // The apiserver accepts a float with an integral value for an integer.
    assert!(
        check(
            &s,
            json!({"i": 2.0, "n": 3, "b": true, "o": {}, "a": [], "s": ""})
        )
        .is_empty()
    );
    assert_eq!(
        one(check(&s, json!({"o": []}))).message,
        "Invalid value: \"array\": spec.o in body must be of type object: \"array\""
    );
    assert_eq!(
        one(check(&s, json!({"b": "true"}))).message,
        "Invalid value: \"string\": spec.b in body must be of type boolean: \"string\""
    );
    assert!(check(&s, json!({"ios": 1})).is_empty());
    assert!(check(&s, json!({"ios": "50%"})).is_empty());
    assert_eq!(
        one(check(&s, json!({"ios": true}))).message,
        "Invalid value: \"boolean\": spec.ios in body must be of type integer,string: \"boolean\""
    );
}

#[test]
fn causes_serialize_like_status_causes() {
    let c = fc("FieldValueRequired", "spec.a", "Required value");
    assert_eq!(
        serde_json::to_value(&c).unwrap(),
        json!({"reason": "FieldValueRequired", "message": "Required value", "field": "spec.a"})
    );
}

#[test]
fn null_with_enum_is_unsupported() {
    let s = props(json!({"e": {"type": "string", "nullable": true, "enum": ["A"]}}));
    assert_eq!(
        one(check(&s, json!({"e": null}))).message,
        "Unsupported value: \"null\": supported values: \"A\""
    );
}

#[test]
fn null_needs_nullable() {
    let s = props(json!({"a": {"type": "string"}, "b": {"type": "string", "nullable": true}}));
    assert_eq!(
        one(check(&s, json!({"a": null}))),
        fc(
            "FieldValueTypeInvalid",
            "spec.a",
            "Invalid value: \"null\": spec.a in body must be of type string: \"null\""
        )
    );
    assert!(check(&s, json!({"b": null})).is_empty());
}

#[test]
fn unsupported_formats_are_ignored() {
    // int32 is stripped like the apiserver does: the type speaks.
    let s = props(json!({"n": {"type": "integer", "format": "int32"},
                         "b": {"type": "string", "format": "byte"}}));
    assert_eq!(
        one(check(&s, json!({"n": 1.5}))).message,
        "Invalid value: \"number\": spec.n in body must be of type integer: \"number\""
    );
    assert!(check(&s, json!({"n": 7})).is_empty());
    // A supported string format on a number fails on the format, as in kube-openapi.
    assert_eq!(
        check(&s, json!({"b": 5}))[0].message,
        "Invalid value: \"int64\": spec.b in body must be of type byte: \"int64\""
    );
}

#[test]
fn numeric_bounds() {
    let s = props(json!({
        "i": {"type": "integer", "minimum": 0.0, "maximum": 2000000.0},
        "e": {"type": "integer", "minimum": 1, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": true},
        "f": {"type": "number", "maximum": 2000000.0},
        "m": {"type": "integer", "multipleOf": 5},
        "mf": {"type": "number", "multipleOf": 0.5}
    }));
    assert_eq!(
        one(check(&s, json!({"i": 2000001}))),
        fc(
            "FieldValueInvalid",
            "spec.i",
            "Invalid value: 2000001: spec.i in body should be less than or equal to 2000000"
        )
    );
    assert_eq!(
        one(check(&s, json!({"i": -1}))).message,
        "Invalid value: -1: spec.i in body should be greater than or equal to 0"
    );
    assert_eq!(
        one(check(&s, json!({"e": 5}))).message,
        "Invalid value: 5: spec.e in body should be less than 5"
    );
    assert_eq!(
        one(check(&s, json!({"e": 1}))).message,
        "Invalid value: 1: spec.e in body should be greater than 1"
    );
    assert_eq!(
        one(check(&s, json!({"f": 2500000.5}))).message,
        "Invalid value: 2.5000005e+06: spec.f in body should be less than or equal to 2e+06"
    );
    assert_eq!(
        one(check(&s, json!({"m": 7}))).message,
        "Invalid value: 7: spec.m in body should be a multiple of 5"
    );
    assert_eq!(
        one(check(&s, json!({"mf": 0.7}))).message,
        "Invalid value: 0.7: spec.mf in body should be a multiple of 0.5"
    );
    assert!(check(&s, json!({"i": 0, "e": 3, "f": 1.5, "m": 10, "mf": 1.5})).is_empty());
}

#[test]
fn item_counts() {
    let s = props(json!({
        "l": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
        "one": {"type": "array", "maxItems": 1, "items": {"type": "string"}}
    }));
    assert_eq!(
        one(check(&s, json!({"l": []}))),
        fc(
            "FieldValueInvalid",
            "spec.l",
            "Invalid value: 0: spec.l in body should have at least 1 items"
        )
    );
    assert_eq!(
        one(check(&s, json!({"l": ["a", "b", "c"]}))),
        fc(
            "FieldValueTooMany",
            "spec.l",
            "Too many: 3: must have at most 2 items"
        )
    );
    assert_eq!(
        one(check(&s, json!({"one": ["a", "b"]}))).message,
        "Too many: 2: must have at most 1 item"
    );
}

#[test]
fn property_counts() {
    let s = props(json!({
        "m": {"type": "object", "minProperties": 1, "maxProperties": 2,
              "additionalProperties": {"type": "string"}}
    }));
    assert_eq!(
        one(check(&s, json!({"m": {}}))).message,
        "Invalid value: 0: spec.m in body should have at least 1 properties"
    );
    assert_eq!(
        one(check(&s, json!({"m": {"a": "1", "b": "2", "c": "3"}}))),
        fc(
            "FieldValueTooMany",
            "spec.m",
            "Too many: 3: must have at most 2 items"
        )
    );
}

#[test]
fn unique_items_and_list_types() {
    let s = props(json!({
        "u": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
        "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "map": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "v": {"type": "integer"}}}
        }
    }));
    assert_eq!(
        one(check(&s, json!({"u": ["a", "a"]}))).message,
        "Invalid value: \"\": spec.u in body shouldn't contain duplicates"
    );
    // Only the second appearance of a value is reported.
    assert_eq!(
        check(&s, json!({"set": ["a", "b", "a", "a"]})),
        vec![fc(
            "FieldValueDuplicate",
            "spec.set[2]",
            "Duplicate value: \"a\""
        )]
    );
    assert_eq!(
        check(
            &s,
            json!({"map": [{"name": "x", "v": 1}, {"name": "x", "v": 2}]})
        ),
        vec![fc(
            "FieldValueDuplicate",
            "spec.map[1]",
            "Duplicate value: map[string]interface {}{\"name\":\"x\"}"
        )]
    );
    assert!(
        check(
            &s,
            json!({"set": ["a", "b"], "map": [{"name": "x"}, {"name": "y"}]})
        )
        .is_empty()
    );
}

#[test]
fn paths_through_arrays_and_maps() {
    let s = props(json!({
        "securityProfiles": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string", "maxLength": 3}
        }}},
        "tags": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 2}}
    }));
    assert_eq!(
        one(check(
            &s,
            json!({"securityProfiles": [{"id": "ok"}, {"id": "long"}]})
        ))
        .field,
        "spec.securityProfiles[1].id"
    );
    // kube-openapi names map entries with a dot.
    assert_eq!(
        one(check(&s, json!({"tags": {"team": "abc"}}))).field,
        "spec.tags.team"
    );
}

#[test]
fn formats_the_apiserver_enforces() {
    let s = props(json!({
        "t": {"type": "string", "format": "date-time"},
        "u": {"type": "string", "format": "uuid"},
        "other": {"type": "string", "format": "my-own-format"}
    }));
    assert_eq!(
        one(check(&s, json!({"t": "yesterday"}))),
        fc(
            "FieldValueTypeInvalid",
            "spec.t",
            "Invalid value: \"yesterday\": spec.t in body must be of type date-time: \"yesterday\""
        )
    );
    assert_eq!(check(&s, json!({"u": "nope"})).len(), 1);
    assert!(
        check(
            &s,
            json!({"t": "2024-05-01T10:00:00Z", "u": "123e4567-e89b-12d3-a456-426614174000", "other": "x"})
        )
        .is_empty()
    );
}

#[test]
fn composition_keywords() {
    let s = props(json!({
        "any": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
        "one": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        "all": {"type": "string", "allOf": [{"minLength": 2}, {"maxLength": 3}]},
        "not": {"type": "string", "not": {"enum": ["forbidden"]}}
    }));
    assert_eq!(
        check(&s, json!({"any": {}})),
        vec![
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"\": \"spec.any\" must validate at least one schema (anyOf)"
            ),
            fc("FieldValueRequired", "spec.any.a", "Required value"),
        ]
    );
    assert!(check(&s, json!({"any": {"b": "x"}})).is_empty());
    assert_eq!(
        check(&s, json!({"one": {"a": "x", "b": "y"}}))[0].message,
        "Invalid value: \"\": \"spec.one\" must validate one and only one schema (oneOf). Found 2 valid alternatives"
    );
    assert!(check(&s, json!({"one": {"a": "x"}})).is_empty());
    assert_eq!(
        check(&s, json!({"all": "abcd"})),
        vec![
            fc(
                "FieldValueTooLong",
                "spec.all",
                "Too long: may not be more than 3 bytes"
            ),
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"\": \"spec.all\" must validate all the schemas (allOf)"
            ),
        ]
    );
    assert_eq!(
        one(check(&s, json!({"not": "forbidden"}))).message,
        "Invalid value: \"\": \"spec.not\" must not validate the schema (not)"
    );
    assert!(check(&s, json!({"all": "abc", "not": "fine"})).is_empty());
}

#[test]
fn schema_errors_block_cel_rules() {
    let s = spec_schema(json!({
        "properties": {"n": {"type": "integer"}},
        "x-kubernetes-validations": [{"rule": "false", "message": "never"}]
    }));
    assert_eq!(
        check(&s, json!({"n": "x"})),
        vec![
            fc(
                "FieldValueTypeInvalid",
                "spec.n",
                "Invalid value: \"string\": spec.n in body must be of type integer: \"string\""
            ),
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
            ),
        ]
    );
    assert_eq!(
        one(check(&s, json!({"n": 1}))),
        fc(
            "FieldValueInvalid",
            "spec",
            "Invalid value: \"object\": never"
        )
    );
}

// --- robustness -------------------------------------------------------------------------

#[test]
fn odd_inputs_do_not_panic() {
    let s = props(json!({
        "x": {"type": "string", "pattern": "^(a+)+$", "maxLength": 100000000},
        "any": {"x-kubernetes-preserve-unknown-fields": true},
        "list": {"type": "array"}
    }));
    for root in [
        json!(null),
        json!(1),
        json!("s"),
        json!([1, 2]),
        json!({"spec": 5}),
    ] {
        let mut r = root.clone();
        s.prune(&mut r);
        s.apply_defaults(&mut r);
        let _ = s.validate(&r, Some(&root));
    }
    // A huge string against a pathological-looking pattern: linear time with this engine.
    let big = "a".repeat(5_000_000) + "!";
    assert_eq!(check(&s, json!({"x": big})).len(), 1);
    // Deep nesting under a schema-less array and preserve-unknown-fields.
    let mut deep = json!(1);
    for _ in 0..1000 {
        deep = Value::Array(vec![deep]);
    }
    let mut o = object(json!({"list": [deep.clone()], "any": deep}));
    s.prune(&mut o);
    s.apply_defaults(&mut o);
    assert!(s.validate(&o, Some(&o.clone())).is_empty());
    assert!(s.validate(&o, None).is_empty());
}

#[test]
fn bad_schemas_are_refused_not_panicked_on() {
    let bad = [
        json!("not an object"),
        json!({"type": "object", "properties": {"a": {"type": "strnig"}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=x)"}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": "self.a ==== 1"}]}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": ""}]}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": "true", "messageExpression": "'a' +"}]}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": "true", "reason": "Bogus"}]}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": "true", "fieldPath": ".nope"}]}),
        json!({"type": "object", "x-kubernetes-validations": [{"rule": "true", "optionalOldSelf": true}]}),
        json!({"type": "array", "items": [{"type": "string"}]}),
        json!({"type": "object", "properties": {"a": {"minLength": "3"}}}),
    ];
    for b in bad {
        assert!(VersionSchema::new(&b).is_err(), "accepted {b}");
    }
    let e = VersionSchema::new(&json!({"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-validations": [{"rule": "self.a ==== 1"}]}}}))
    .err()
    .unwrap();
    assert!(
        e.starts_with(
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.a ==== 1\": compilation failed: ERROR: <input>:1:"
        ),
        "{e}"
    );
    let e = VersionSchema::new(
        &json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=x)"}}}),
    )
    .err()
    .unwrap();
    assert!(e.contains("must be a valid regular expression"), "{e}");
    // Deeply nested schemas are refused rather than recursed into without bound.
    let mut deep = json!({"type": "string"});
    for _ in 0..200 {
        deep = json!({"type": "object", "properties": {"a": deep}});
    }
    assert!(VersionSchema::new(&deep).is_err());
}

// --- pruning ----------------------------------------------------------------------------

#[test]
fn prunes_unknown_fields_at_every_level() {
    let s = props(json!({
        "name": {"type": "string"},
        "nested": {"type": "object", "properties": {"keep": {"type": "string"}}},
        "list": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
        "tags": {"type": "object", "additionalProperties": {"type": "object", "properties": {"v": {"type": "string"}}}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                 "properties": {"strict": {"type": "object", "properties": {"a": {"type": "string"}}}}},
        "count": {"x-kubernetes-int-or-string": true}
    }));
    let mut o = json!({
        "apiVersion": "t.io/v1", "kind": "T",
        "metadata": {"name": "a", "labels": {"x": "y"}},
        "extra": 1,
        "spec": {
            "name": "n", "bogus": true,
            "nested": {"keep": "k", "drop": "d"},
            "list": [{"id": "1", "x": 1}, {"id": "2"}, {"y": {"z": 1}}],
            "tags": {"a": {"v": "1", "w": "2"}},
            "free": {"anything": {"goes": [1]}, "strict": {"a": "1", "b": "2"}},
            "count": "50%"
        },
        "status": {"whatever": 1}
    });
    let removed = s.prune(&mut o);
    assert_eq!(
        removed,
        vec![
            ".extra",
            ".spec.bogus",
            ".spec.free.strict.b",
            ".spec.list[0].x",
            ".spec.list[2].y",
            ".spec.nested.drop",
            ".spec.tags.a.w",
        ]
    );
    assert_eq!(
        o,
        json!({
            "apiVersion": "t.io/v1", "kind": "T",
            "metadata": {"name": "a", "labels": {"x": "y"}},
            "spec": {
                "name": "n",
                "nested": {"keep": "k"},
                "list": [{"id": "1"}, {"id": "2"}, {}],
                "tags": {"a": {"v": "1"}},
                "free": {"anything": {"goes": [1]}, "strict": {"a": "1"}},
                "count": "50%"
            },
            "status": {"whatever": 1}
        })
    );
}

#[test]
fn root_meta_fields_survive_a_schema_without_them() {
    let s =
        VersionSchema::new(&json!({"type": "object", "properties": {"spec": {"type": "object"}}}))
            .unwrap();
    let mut o =
        json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {"a": 1}});
    assert_eq!(s.prune(&mut o), vec![".spec.a"]);
    assert_eq!(
        o,
        json!({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}, "spec": {}})
    );
    // Non-string apiVersion is not a meta field any more.
    let mut o = json!({"apiVersion": 1});
    assert_eq!(s.prune(&mut o), vec![".apiVersion"]);
}

#[test]
fn embedded_resources_keep_their_type_and_metadata() {
    let s = props(json!({
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}}
    }));
    let mut o = object(json!({"template": {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "x": 1},
        "spec": {"a": "1", "b": "2"}, "junk": true
    }}));
    let removed = s.prune(&mut o);
    assert_eq!(
        removed,
        vec![".spec.template.junk", ".spec.template.spec.b"]
    );
    assert_eq!(
        o["spec"]["template"],
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "x": 1}, "spec": {"a": "1"}})
    );
}

#[test]
fn non_nullable_nulls_are_dropped_silently() {
    let s = props(json!({
        "plain": {"type": "string"},
        "nullable": {"type": "string", "nullable": true},
        "defaulted": {"type": "string", "default": "d"},
        "list": {"type": "array", "items": {"type": "string"}}
    }));
    let mut o = object(json!({"plain": null, "nullable": null, "defaulted": null, "list": [null]}));
    assert!(s.prune(&mut o).is_empty());
    assert_eq!(
        o["spec"],
        json!({"nullable": null, "defaulted": null, "list": [null]})
    );
    s.apply_defaults(&mut o);
    assert_eq!(
        o["spec"],
        json!({"nullable": null, "defaulted": "d", "list": [null]})
    );
    // Null items of a list are kept, and rejected.
    assert_eq!(
        one(s.validate(&o, None)).message,
        "Invalid value: \"null\": spec.list[0] in body must be of type string: \"null\""
    );
}

// --- defaulting -------------------------------------------------------------------------

#[test]
fn defaults_apply_recursively() {
    let s = props(json!({
        "phoneConfig": {
            "type": "object",
            "default": {},
            "properties": {
                "phoneType": {"type": "string", "default": "SOFT_PHONE"},
                "autoAccept": {"type": "boolean", "default": false},
                "inner": {"type": "object", "default": {"x": 1},
                          "properties": {"x": {"type": "integer"}, "y": {"type": "integer", "default": 2}}}
            }
        },
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "weight": {"type": "integer", "default": 1}
        }}},
        "kept": {"type": "string", "default": "d"},
        "maybe": {"type": "string", "nullable": true, "default": "d"},
        "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "v": {"type": "string", "default": "dv"}
        }}}
    }));
    let mut o = object(json!({
        "items": [{"name": "a"}, {"name": "b", "weight": 5}],
        "kept": "mine",
        "maybe": null,
        "labels": {"l": {}}
    }));
    s.apply_defaults(&mut o);
    assert_eq!(
        o["spec"],
        json!({
            "phoneConfig": {"phoneType": "SOFT_PHONE", "autoAccept": false, "inner": {"x": 1, "y": 2}},
            "items": [{"name": "a", "weight": 1}, {"name": "b", "weight": 5}],
            "kept": "mine",
            "maybe": null,
            "labels": {"l": {"v": "dv"}}
        })
    );
    // Defaults do not create the parent object.
    let mut bare = json!({"apiVersion": "t.io/v1"});
    s.apply_defaults(&mut bare);
    assert_eq!(bare, json!({"apiVersion": "t.io/v1"}));
}

// --- CEL --------------------------------------------------------------------------------

fn cel_schema(props_: Value, rules: Value) -> VersionSchema {
    spec_schema(json!({"properties": props_, "x-kubernetes-validations": rules}))
}

#[test]
fn transition_rule_only_runs_with_an_old_value() {
    let s = props(json!({
        "username": {"type": "string", "x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "username is immutable"}
        ]}
    }));
    assert!(check(&s, json!({"username": "a"})).is_empty(), "create");
    assert!(update(&s, json!({"username": "a"}), json!({"username": "a"})).is_empty());
    assert_eq!(
        one(update(
            &s,
            json!({"username": "a"}),
            json!({"username": "b"})
        )),
        fc(
            "FieldValueInvalid",
            "spec.username",
            "Invalid value: \"string\": username is immutable"
        )
    );
    // A field added on update has no old value: the rule is skipped.
    assert!(update(&s, json!({}), json!({"username": "b"})).is_empty());
}

#[test]
fn immutability_of_objects_and_lists() {
    let s = props(json!({
        "ref": {"type": "object", "properties": {"id": {"type": "string"}},
                "x-kubernetes-validations": [{"rule": "self == oldSelf"}]},
        "list": {"type": "array", "items": {"type": "string"},
                 "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "frozen"}]}
    }));
    let old = json!({"ref": {"id": "1"}, "list": ["a", "b"]});
    assert!(update(&s, old.clone(), old.clone()).is_empty());
    assert_eq!(
        update(
            &s,
            old.clone(),
            json!({"ref": {"id": "2"}, "list": ["b", "a"]})
        ),
        vec![
            fc(
                "FieldValueInvalid",
                "spec.list",
                "Invalid value: \"array\": frozen"
            ),
            fc(
                "FieldValueInvalid",
                "spec.ref",
                "Invalid value: \"object\": failed rule: self == oldSelf"
            ),
        ]
    );
}

#[test]
fn set_and_map_lists_compare_without_order() {
    let s = props(json!({
        "set": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"},
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "frozen"}]},
        "map": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                "items": {"type": "object", "properties": {"k": {"type": "string"}, "v": {"type": "integer"}}},
                "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "frozen"}]}
    }));
    let old = json!({"set": ["a", "b"], "map": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]});
    let reordered = json!({"set": ["b", "a"], "map": [{"k": "b", "v": 2}, {"k": "a", "v": 1}]});
    assert!(update(&s, old.clone(), reordered).is_empty());
    let changed = json!({"set": ["b", "c"], "map": [{"k": "b", "v": 3}, {"k": "a", "v": 1}]});
    assert_eq!(update(&s, old, changed).len(), 2);
}

#[test]
fn optional_old_self_runs_on_create() {
    let s = props(json!({
        "x": {"type": "string", "x-kubernetes-validations": [{
            "rule": "oldSelf.hasValue() ? self == oldSelf.value() : self.startsWith('new-')",
            "optionalOldSelf": true, "message": "bad"
        }]}
    }));
    assert!(check(&s, json!({"x": "new-1"})).is_empty());
    assert_eq!(
        one(check(&s, json!({"x": "old-1"}))).message,
        "Invalid value: \"string\": bad"
    );
    assert!(update(&s, json!({"x": "old-1"}), json!({"x": "old-1"})).is_empty());
    assert_eq!(update(&s, json!({"x": "a"}), json!({"x": "b"})).len(), 1);
}

#[test]
fn has_and_default_message() {
    let s = props(json!({
        "ref": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                "x-kubernetes-validations": [{"rule": "has(self.id) != has(self.name)",
                                              "message": "exactly one of id or name must be set"}]},
        "other": {"type": "object", "properties": {"a": {"type": "string"}},
                  "x-kubernetes-validations": [{"rule": "has(self.a)"}]}
    }));
    assert!(check(&s, json!({"ref": {"id": "1"}})).is_empty());
    assert_eq!(
        one(check(&s, json!({"ref": {"id": "1", "name": "n"}}))),
        fc(
            "FieldValueInvalid",
            "spec.ref",
            "Invalid value: \"object\": exactly one of id or name must be set"
        )
    );
    assert_eq!(
        one(check(&s, json!({"ref": {}}))).message,
        "Invalid value: \"object\": exactly one of id or name must be set"
    );
    assert_eq!(
        one(check(&s, json!({"other": {}}))).message,
        "Invalid value: \"object\": failed rule: has(self.a)"
    );
    // A null field of an object reads as absent.
    let nullable = props(json!({
        "ref": {"type": "object", "properties": {
                    "id": {"type": "string", "nullable": true}, "name": {"type": "string", "nullable": true}},
                "x-kubernetes-validations": [{"rule": "has(self.id) != has(self.name)"}]}
    }));
    assert!(check(&nullable, json!({"ref": {"id": "1", "name": null}})).is_empty());
    assert_eq!(
        check(&nullable, json!({"ref": {"id": null, "name": null}})).len(),
        1
    );
}

#[test]
fn message_expression_field_path_and_reasons() {
    let s = cel_schema(
        json!({
            "name": {"type": "string"},
            "replicas": {"type": "integer"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}
        }),
        json!([
            {"rule": "self.replicas <= 5", "messageExpression": "'replicas ' + string(self.replicas) + ' is more than 5'",
             "fieldPath": ".replicas"},
            {"rule": "!has(self.name) || self.name != 'admin'", "message": "admin is reserved",
             "reason": "FieldValueForbidden", "fieldPath": ".name"},
            {"rule": "has(self.name)", "message": "name is needed", "reason": "FieldValueRequired"},
            {"rule": "!has(self.labels) || !('dup' in self.labels)", "reason": "FieldValueDuplicate",
             "fieldPath": ".labels['dup']"},
            {"rule": "self.replicas >= 0", "messageExpression": "42"}
        ]),
    );
    assert_eq!(
        check(
            &s,
            json!({"name": "admin", "replicas": 7, "labels": {"dup": "x"}})
        ),
        vec![
            fc(
                "FieldValueInvalid",
                "spec.replicas",
                "Invalid value: \"object\": replicas 7 is more than 5"
            ),
            fc(
                "FieldValueForbidden",
                "spec.name",
                "Forbidden: admin is reserved"
            ),
            fc(
                "FieldValueDuplicate",
                "spec.labels[dup]",
                "Duplicate value: \"object\""
            ),
        ]
    );
    assert_eq!(
        check(&s, json!({"replicas": -1})),
        vec![
            fc(
                "FieldValueRequired",
                "spec",
                "Required value: name is needed"
            ),
            // A messageExpression that is not a string falls back to the rule.
            fc(
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": failed rule: self.replicas >= 0"
            ),
        ]
    );
}

#[test]
fn runtime_errors_become_causes() {
    let s = cel_schema(
        json!({"a": {"type": "integer"}, "b": {"type": "integer"}}),
        json!([{"rule": "self.a == 1"}, {"rule": "self.b / 0 == 1", "message": "div"}]),
    );
    assert_eq!(
        check(&s, json!({"b": 1})),
        vec![
            fc(
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": no such key: a evaluating rule: self.a == 1"
            ),
            fc(
                "FieldValueInvalid",
                "spec",
                "Invalid value: \"object\": division by zero evaluating rule: div"
            ),
        ]
    );
}

#[test]
fn root_rules_report_the_nil_path() {
    let s = VersionSchema::new(&json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
        "x-kubernetes-validations": [
            {"rule": "self.metadata.name.startsWith('ok-')", "message": "name must start with ok-"},
            {"rule": "self.kind == 'T' && self.apiVersion == 't.io/v1'"},
            {"rule": "has(self.spec.a)", "fieldPath": ".spec.a"}
        ]
    }))
    .unwrap();
    assert_eq!(
        s.validate(&object(json!({})), None),
        vec![
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"object\": name must start with ok-"
            ),
            fc(
                "FieldValueInvalid",
                "spec.a",
                "Invalid value: \"object\": failed rule: has(self.spec.a)"
            ),
        ]
    );
}

/// The rules CRD authors commonly write, each evaluated true and false.
#[test]
fn common_rule_shapes() {
    let s = props(json!({
        "name": {"type": "string"},
        "n": {"type": "integer"},
        "ratio": {"type": "number"},
        "items": {"type": "array", "items": {"type": "string"}},
        "objs": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "when": {"type": "string", "format": "date-time"},
        "timeout": {"type": "string", "format": "duration"},
        "ios": {"x-kubernetes-int-or-string": true},
        "mode": {"type": "string"}
    }));
    let spec = json!({
        "name": "web-01", "n": 7, "ratio": 0.5,
        "items": ["a", "bb", "ccc"],
        "objs": [{"k": "x"}, {"k": "y"}],
        "labels": {"team": "core", "env": "prod"},
        "when": "2024-05-01T10:00:00Z", "timeout": "90s", "ios": "50%", "mode": "fast"
    });
    let cases: &[(&str, bool)] = &[
        ("size(self.name) == 6", true),
        ("size(self.items) > 3", false),
        (
            "self.name.startsWith('web-') && self.name.endsWith('01')",
            true,
        ),
        ("self.name.contains('zz')", false),
        ("self.name.matches('^[a-z]+-[0-9]+$')", true),
        ("self.mode in ['fast', 'slow']", true),
        ("'team' in self.labels", true),
        ("self.labels['env'] == 'dev'", false),
        ("self.n > 5 ? self.mode == 'fast' : true", true),
        ("self.n % 2 == 0", false),
        ("self.n * 2 + 1 == 15 && self.n / 2 == 3", true),
        ("self.ratio * 2.0 == 1.0", true),
        ("self.ratio < 0.25 || !(self.n == 7)", false),
        ("self.items.all(i, size(i) <= 3)", true),
        ("self.items.exists(i, i == 'bb')", true),
        ("self.items.exists_one(i, size(i) > 1)", false),
        ("self.items.map(i, size(i)) == [1, 2, 3]", true),
        ("self.items.filter(i, i.startsWith('c')).size() == 1", true),
        ("self.objs.all(o, self.objs.exists_one(p, p == o))", true),
        ("self.objs.map(o, o.k).exists(k, k == 'z')", false),
        ("self.labels.all(k, !k.startsWith('aws:'))", true),
        ("self.when > timestamp('2024-01-01T00:00:00Z')", true),
        ("self.timeout < duration('1m')", false),
        ("type(self.ios) == string", true),
        (
            "self.name.lowerAscii() == 'web-01' && self.name.upperAscii() == 'WEB-01'",
            true,
        ),
        ("self.name.split('-').size() == 2", true),
        ("int(self.ratio * 10.0) == 5", true),
        ("double(self.n) / 2.0 == 3.5", true),
        ("has(self.name) && !has(self.missing)", true),
    ];
    for (rule, want) in cases {
        let s2 = spec_schema(json!({
            "properties": {
                "name": {"type": "string"}, "n": {"type": "integer"}, "ratio": {"type": "number"},
                "items": {"type": "array", "items": {"type": "string"}},
                "objs": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "when": {"type": "string", "format": "date-time"},
                "timeout": {"type": "string", "format": "duration"},
                "ios": {"x-kubernetes-int-or-string": true},
                "mode": {"type": "string"}
            },
            "x-kubernetes-validations": [{"rule": rule}]
        }));
        let got = check(&s2, spec.clone());
        assert_eq!(got.is_empty(), *want, "{rule}: {got:?}");
        if !want {
            assert_eq!(
                got[0].message,
                format!("Invalid value: \"object\": failed rule: {rule}")
            );
        }
    }
    assert!(check(&s, spec).is_empty());
}

#[test]
fn escaped_property_names_and_root_metadata() {
    let s = VersionSchema::new(&json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {
            "max-size": {"type": "integer"}, "namespace": {"type": "string"}
        }, "x-kubernetes-validations": [
            {"rule": "self.max__dash__size < 10 && self.__namespace__ == 'ns'"}
        ]}},
        "x-kubernetes-validations": [{"rule": "!has(self.metadata.labels)"}]
    }))
    .unwrap();
    let o = json!({"metadata": {"name": "a", "labels": {"x": "y"}},
                   "spec": {"max-size": 3, "namespace": "ns"}});
    // Only name and generateName of metadata are visible, like the apiserver.
    assert!(s.validate(&o, None).is_empty());
}

#[test]
fn transition_rules_in_map_lists_correlate_by_key() {
    let s = props(json!({
        "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                 "items": {"type": "object", "properties": {
                     "name": {"type": "string"},
                     "size": {"type": "integer", "x-kubernetes-validations": [
                         {"rule": "self >= oldSelf", "message": "may not shrink"}]}
                 }}},
        "plain": {"type": "array", "items": {"type": "object", "properties": {
            "size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self >= oldSelf"}]}
        }}}
    }));
    let old = json!({"list": [{"name": "a", "size": 5}, {"name": "b", "size": 5}], "plain": [{"size": 5}]});
    // Reordered and one shrunk: only the shrunk item, found by key, fails.
    assert_eq!(
        update(
            &s,
            old.clone(),
            json!({"list": [{"name": "b", "size": 4}, {"name": "a", "size": 5}, {"name": "c", "size": 1}],
                   "plain": [{"size": 1}]})
        ),
        vec![fc(
            "FieldValueInvalid",
            "spec.list[0].size",
            "Invalid value: \"integer\": may not shrink"
        )]
    );
}

#[test]
fn ratcheting_spares_unchanged_values() {
    // The stored object predates a tighter schema: untouched invalid values stay accepted.
    let s = spec_schema(json!({
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]{1,3}$"},
            "size": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 10"}]},
            "other": {"type": "string"}
        }
    }));
    let old = json!({"name": "toolong", "size": 50, "other": "a"});
    assert!(
        update(
            &s,
            old.clone(),
            json!({"name": "toolong", "size": 50, "other": "b"})
        )
        .is_empty()
    );
    assert_eq!(
        update(
            &s,
            old.clone(),
            json!({"name": "stilltoolong", "size": 51, "other": "a"})
        ),
        vec![
            fc(
                "FieldValueInvalid",
                "spec.name",
                "Invalid value: \"stilltoolong\": spec.name in body should match '^[a-z]{1,3}$'"
            ),
            fc(
                "FieldValueInvalid",
                "spec.size",
                "Invalid value: \"integer\": failed rule: self < 10"
            ),
        ]
    );
    // On create everything is checked.
    assert_eq!(check(&s, old).len(), 2);
}

#[test]
fn deep_rules_do_not_overflow() {
    // Nesting that the parser accepts must also evaluate (on a 2 MiB test thread).
    for n in [10, 40, 90, 95, 120, 500] {
        let shapes = [
            "(".repeat(n) + "true" + &")".repeat(n),
            "!".repeat(n * 2) + "true",
            "-".repeat(n * 2) + "1 == 1",
            "[".repeat(n) + "1" + &"]".repeat(n) + " != []",
            "1 + (".repeat(n) + "1" + &")".repeat(n) + " > 0",
            "self.all(x, ".repeat(n) + "true" + &")".repeat(n),
            vec!["self.size() >= 0"; n * 3].join(" && "),
            // Left-associative chains are not bounded by the parser's recursion limit.
            vec!["1"; n * 20].join(" + ") + " > 0",
            "size(self".to_string() + &".a".repeat(n * 20) + ") > 0",
        ];
        for rule in shapes {
            let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
                "x-kubernetes-validations": [{ "rule": rule }]}}});
            if let Ok(s) = VersionSchema::new(&schema) {
                let _ = check(&s, json!({}));
            }
        }
    }
}

// --- the project's own CRD --------------------------------------------------------------

fn connect_user_schema() -> VersionSchema {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds/connectuser.yaml");
    let text = std::fs::read_to_string(path).expect("CRD file");
    let crd: Value = serde_yaml::from_str(&text).expect("CRD yaml");
    VersionSchema::new(&crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]).expect("compiles")
}

fn connect_user(spec: Value) -> Value {
    json!({"apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
           "metadata": {"name": "jane", "namespace": "default"}, "spec": spec})
}

#[test]
fn connect_user_crd_end_to_end() {
    let s = connect_user_schema();
    let spec = json!({
        "username": "jane.doe",
        "instanceId": "inst-1",
        "routingProfile": {"name": "Basic"},
        "securityProfiles": [{"name": "Agent"}],
        "tags": {"team": "support"},
        "identityInfo": {"email": "jane@example.com", "firstName": "Jane"}
    });
    let mut o = connect_user(spec.clone());
    o["spec"]["unknown"] = json!(1);
    o["status"] = json!({"userId": "u-1", "notDeclared": true});
    assert_eq!(
        s.prune(&mut o),
        vec![".spec.unknown", ".status.notDeclared"]
    );
    s.apply_defaults(&mut o);
    assert_eq!(o["spec"]["deletionPolicy"], "Delete");
    assert_eq!(o["spec"]["adoptExisting"], false);
    assert_eq!(
        o["spec"]["phoneConfig"],
        json!({"afterContactWorkTimeLimit": 0, "autoAccept": false, "phoneType": "SOFT_PHONE"})
    );
    assert_eq!(s.validate(&o, None), vec![]);
    assert_eq!(s.validate(&o, Some(&o.clone())), vec![]);

    // Immutable username on update.
    let mut renamed = o.clone();
    renamed["spec"]["username"] = json!("john");
    assert_eq!(
        s.validate(&renamed, Some(&o)),
        vec![fc(
            "FieldValueInvalid",
            "spec.username",
            "Invalid value: \"string\": username is immutable"
        )]
    );

    // A batch of schema errors, with the apiserver's paths and messages.
    let mut bad = connect_user(json!({
        "username": "jane doe",
        "instanceId": "",
        "routingProfile": {"id": "1", "name": "x"},
        "securityProfiles": [],
        "deletionPolicy": "Keep",
        "phoneConfig": {"afterContactWorkTimeLimit": 3000000, "phoneType": "DESK_PHONE"}
    }));
    s.apply_defaults(&mut bad);
    assert_eq!(
        s.validate(&bad, None),
        vec![
            fc(
                "FieldValueNotSupported",
                "spec.deletionPolicy",
                "Unsupported value: \"Keep\": supported values: \"Delete\", \"Retain\""
            ),
            fc(
                "FieldValueInvalid",
                "spec.instanceId",
                "Invalid value: \"\": spec.instanceId in body should be at least 1 chars long"
            ),
            fc(
                "FieldValueInvalid",
                "spec.phoneConfig.afterContactWorkTimeLimit",
                "Invalid value: 3000000: spec.phoneConfig.afterContactWorkTimeLimit in body should be less than or equal to 2000000"
            ),
            fc(
                "FieldValueInvalid",
                "spec.securityProfiles",
                "Invalid value: 0: spec.securityProfiles in body should have at least 1 items"
            ),
            fc(
                "FieldValueInvalid",
                "spec.username",
                "Invalid value: \"jane doe\": spec.username in body should match '^[a-zA-Z0-9_.@-]+$'"
            ),
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
            ),
        ]
    );

    // CEL rules once the schema errors are gone.
    let mut cel_bad = connect_user(json!({
        "username": "jane",
        "instanceId": "inst-1",
        "routingProfile": {"id": "1", "name": "x"},
        "securityProfiles": [{"name": "Agent"}, {"name": "Agent"}],
        "phoneConfig": {"phoneType": "DESK_PHONE"},
        "tags": {"aws:owner": "me"}
    }));
    s.apply_defaults(&mut cel_bad);
    assert_eq!(
        s.validate(&cel_bad, None),
        vec![
            fc(
                "FieldValueInvalid",
                "spec.phoneConfig",
                "Invalid value: \"object\": deskPhoneNumber is required when phoneType is DESK_PHONE"
            ),
            fc(
                "FieldValueInvalid",
                "spec.routingProfile",
                "Invalid value: \"object\": exactly one of id or name must be set"
            ),
            fc(
                "FieldValueInvalid",
                "spec.securityProfiles",
                "Invalid value: \"array\": securityProfiles must not repeat an entry"
            ),
            fc(
                "FieldValueInvalid",
                "spec.tags",
                "Invalid value: \"object\": at most 49 tags; tag keys must be 1-128 characters, values at most 256, and keys may not start with 'aws:' or 'connect.userops.dev/'"
            ),
        ]
    );

    // directoryUserId is immutable too, but may be set where it was absent.
    let mut with_dir = o.clone();
    with_dir["spec"]["directoryUserId"] = json!("d-1");
    assert_eq!(s.validate(&with_dir, Some(&o)), vec![]);
    let mut changed_dir = with_dir.clone();
    changed_dir["spec"]["directoryUserId"] = json!("d-2");
    assert_eq!(
        s.validate(&changed_dir, Some(&with_dir)),
        vec![fc(
            "FieldValueInvalid",
            "spec.directoryUserId",
            "Invalid value: \"string\": directoryUserId is immutable"
        )]
    );
    // status.conditions timestamps are date-time strings.
    let mut st = o.clone();
    st["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "reason": "Synced",
        "message": "", "lastTransitionTime": "not a time"}]});
    assert_eq!(
        s.validate(&st, None),
        vec![
            fc(
                "FieldValueTypeInvalid",
                "status.conditions[0].lastTransitionTime",
                "Invalid value: \"not a time\": status.conditions[0].lastTransitionTime in body must be of type date-time: \"not a time\""
            ),
            fc(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"
            )
        ]
    );
}

#[test]
fn shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<VersionSchema>();
    let s = std::sync::Arc::new(connect_user_schema());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                let o = connect_user(json!({"username": format!("u{i}"), "instanceId": "i",
                    "routingProfile": {"id": "r"}, "securityProfiles": [{"id": "s"}]}));
                s.validate(&o, None)
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), vec![]);
    }
}
