//! OpenAPI v3: the index and one document per group-version, with each kind's schema tagged by
//! `x-kubernetes-group-version-kind` and PATCH operations that declare `fieldValidation` (how
//! kubectl decides it may rely on server-side field validation instead of refusing to apply).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::registry::{Flavor, Registry, ResourceType};

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1";

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `connect.userops.dev` -> `dev.userops.connect`, the apiserver's schema name prefix.
fn schema_name(rt: &ResourceType, kind: &str) -> String {
    let prefix = match rt.group.as_str() {
        "" => "io.k8s.api.core".to_string(),
        "events.k8s.io" => "io.k8s.api.events".to_string(),
        "coordination.k8s.io" => "io.k8s.api.coordination".to_string(),
        "apiextensions.k8s.io" => {
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_string()
        }
        g => g.split('.').rev().collect::<Vec<_>>().join("."),
    };
    format!("{prefix}.{}.{kind}", rt.version)
}

fn gvk(rt: &ResourceType, kind: &str) -> Value {
    json!([{"group": rt.group, "version": rt.version, "kind": kind}])
}

fn string() -> Value {
    json!({"type": "string"})
}

fn string_map() -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string", "default": ""}})
}

fn object_meta() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": string(), "generateName": string(), "namespace": string(), "uid": string(),
            "resourceVersion": string(), "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "labels": string_map(), "annotations": string_map(),
            "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set", "x-kubernetes-patch-strategy": "merge"},
            "ownerReferences": {"type": "array", "items": {"type": "object", "x-kubernetes-map-type": "atomic",
                "properties": {"apiVersion": string(), "kind": string(), "name": string(), "uid": string(),
                    "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"}},
                "required": ["apiVersion", "kind", "name", "uid"]},
                "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid", "x-kubernetes-patch-strategy": "merge"},
            "managedFields": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
        }
    })
}

fn common_schemas() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(format!("{META}.ObjectMeta"), object_meta());
    m.insert(
        format!("{META}.ListMeta"),
        json!({"type": "object", "properties": {"continue": string(), "remainingItemCount": {"type": "integer"}, "resourceVersion": string()}}),
    );
    m.insert(
        format!("{META}.Status"),
        json!({"type": "object", "properties": {"apiVersion": string(), "kind": string(), "code": {"type": "integer"},
            "message": string(), "reason": string(), "status": string(),
            "details": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Status"}]}),
    );
    m.insert(format!("{META}.Patch"), json!({"type": "object", "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body."}));
    m.insert(
        format!("{META}.DeleteOptions"),
        json!({"type": "object", "properties": {"apiVersion": string(), "kind": string(), "propagationPolicy": string(),
            "gracePeriodSeconds": {"type": "integer"}, "dryRun": {"type": "array", "items": string()},
            "preconditions": {"type": "object", "properties": {"uid": string(), "resourceVersion": string()}}}}),
    );
    m
}

/// Schemas of the built-in kinds: enough structure for kubectl's strategic-merge computations.
fn builtin_schema(rt: &ResourceType) -> Value {
    let loose = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let props = match (rt.flavor, rt.kind.as_str()) {
        (Flavor::Namespace, _) => json!({
            "spec": {"type": "object", "properties": {"finalizers": {"type": "array", "items": string(), "x-kubernetes-list-type": "atomic"}}},
            "status": {"type": "object", "properties": {"phase": string(), "conditions": {"type": "array", "items": loose}}},
        }),
        (Flavor::Secret, _) => json!({
            "data": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
            "stringData": string_map(),
            "type": string(),
            "immutable": {"type": "boolean"},
        }),
        (_, "ConfigMap") => json!({
            "data": string_map(),
            "binaryData": {"type": "object", "additionalProperties": {"type": "string", "format": "byte"}},
            "immutable": {"type": "boolean"},
        }),
        (_, "Lease") => json!({
            "spec": {"type": "object", "properties": {
                "holderIdentity": string(), "leaseDurationSeconds": {"type": "integer", "format": "int32"},
                "acquireTime": {"type": "string", "format": "date-time"}, "renewTime": {"type": "string", "format": "date-time"},
                "leaseTransitions": {"type": "integer", "format": "int32"}, "strategy": string(), "preferredHolder": string()}},
        }),
        _ => json!({"spec": loose.clone(), "status": loose}),
    };
    let mut schema = json!({"type": "object", "properties": props});
    if matches!(
        rt.flavor,
        Flavor::CoreEvent | Flavor::EventV1 | Flavor::Plain
    ) && rt.kind != "Lease"
        && rt.kind != "ConfigMap"
    {
        schema["x-kubernetes-preserve-unknown-fields"] = json!(true);
    }
    schema
}

fn kind_schema(rt: &ResourceType) -> Value {
    let mut schema = match rt.raw_schema() {
        Some(raw) => raw.clone(),
        None => builtin_schema(rt),
    };
    if !schema["properties"].is_object() {
        schema["properties"] = json!({});
    }
    schema["properties"]["apiVersion"] = string();
    schema["properties"]["kind"] = string();
    schema["properties"]["metadata"] =
        json!({"allOf": [reference(&format!("{META}.ObjectMeta"))], "default": {}});
    schema["type"] = json!("object");
    schema["x-kubernetes-group-version-kind"] = gvk(rt, &rt.kind);
    schema
}

fn list_schema(rt: &ResourceType) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": string(),
            "kind": string(),
            "items": {"type": "array", "items": reference(&schema_name(rt, &rt.kind))},
            "metadata": {"allOf": [reference(&format!("{META}.ListMeta"))], "default": {}},
        },
        "x-kubernetes-group-version-kind": gvk(rt, &rt.list_kind),
    })
}

fn query_param(name: &str, ty: &str) -> Value {
    json!({"name": name, "in": "query", "description": name, "schema": {"type": ty, "uniqueItems": true}})
}

fn json_response(schema: &str) -> Value {
    let content = json!({"schema": reference(schema)});
    json!({"description": "OK", "content": {"application/json": content, "application/yaml": content}})
}

fn operation(
    rt: &ResourceType,
    action: &str,
    id: &str,
    kind: &str,
    params: Vec<Value>,
    response: &str,
) -> Value {
    let mut op = json!({
        "operationId": id,
        "tags": [rt.group.clone() + "_" + &rt.version],
        "parameters": params,
        "responses": {"200": json_response(response), "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": kind},
    });
    if action == "post" {
        op["responses"]["201"] = json_response(response);
    }
    op
}

fn paths_for(rt: &Arc<ResourceType>, paths: &mut Map<String, Value>) {
    let prefix = if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    };
    let kind_ref = schema_name(rt, &rt.kind);
    let list_ref = schema_name(rt, &rt.list_kind);
    let base = if rt.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{prefix}/{}", rt.plural)
    };
    let path_params = |named: bool| {
        let mut ps = vec![query_param("pretty", "string")];
        if rt.namespaced {
            ps.push(json!({"name": "namespace", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        if named {
            ps.push(json!({"name": "name", "in": "path", "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        ps
    };
    let write_params = || {
        vec![
            query_param("dryRun", "string"),
            query_param("fieldManager", "string"),
            query_param("fieldValidation", "string"),
        ]
    };
    let list_params = || {
        [
            "allowWatchBookmarks",
            "continue",
            "fieldSelector",
            "labelSelector",
            "limit",
            "resourceVersion",
            "resourceVersionMatch",
            "sendInitialEvents",
            "timeoutSeconds",
            "watch",
        ]
        .iter()
        .map(|p| query_param(p, "string"))
        .collect::<Vec<_>>()
    };
    let mut patch_types = vec![
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ];
    if !matches!(rt.flavor, Flavor::Custom | Flavor::Crd) {
        patch_types.push("application/strategic-merge-patch+json");
    }
    let patch_body = {
        let mut content = Map::new();
        for t in &patch_types {
            content.insert(
                t.to_string(),
                json!({"schema": reference(&format!("{META}.Patch"))}),
            );
        }
        json!({"content": content, "required": true})
    };
    let body =
        |schema: &str| json!({"content": {"*/*": {"schema": reference(schema)}}, "required": true});
    let id = |verb: &str, suffix: &str| format!("{verb}{}{}{suffix}", rt.kind, rt.version);
    let mut collection = json!({
        "get": operation(rt, "list", &id("list", ""), &rt.kind, list_params(), &list_ref),
        "post": operation(rt, "post", &id("create", ""), &rt.kind, write_params(), &kind_ref),
        "delete": operation(rt, "deletecollection", &id("deleteCollection", ""), &rt.kind, list_params(), &format!("{META}.Status")),
        "parameters": path_params(false),
    });
    collection["post"]["requestBody"] = body(&kind_ref);
    paths.insert(base.clone(), collection);
    let mut item = json!({
        "get": operation(rt, "get", &id("read", ""), &rt.kind, vec![], &kind_ref),
        "put": operation(rt, "put", &id("replace", ""), &rt.kind, write_params(), &kind_ref),
        "patch": operation(rt, "patch", &id("patch", ""), &rt.kind,
            [write_params(), vec![query_param("force", "boolean")]].concat(), &kind_ref),
        "delete": operation(rt, "delete", &id("delete", ""), &rt.kind,
            vec![query_param("dryRun", "string"), query_param("gracePeriodSeconds", "integer"), query_param("propagationPolicy", "string")],
            &format!("{META}.Status")),
        "parameters": path_params(true),
    });
    item["put"]["requestBody"] = body(&kind_ref);
    item["patch"]["requestBody"] = patch_body.clone();
    paths.insert(format!("{base}/{{name}}"), item);
    if rt.status_subresource {
        let mut status = json!({
            "get": operation(rt, "get", &id("read", "Status"), &rt.kind, vec![], &kind_ref),
            "put": operation(rt, "put", &id("replace", "Status"), &rt.kind, write_params(), &kind_ref),
            "patch": operation(rt, "patch", &id("patch", "Status"), &rt.kind,
                [write_params(), vec![query_param("force", "boolean")]].concat(), &kind_ref),
            "parameters": path_params(true),
        });
        status["put"]["requestBody"] = body(&kind_ref);
        status["patch"]["requestBody"] = patch_body;
        paths.insert(format!("{base}/{{name}}/status"), status);
    }
    if rt.namespaced {
        paths.insert(
            format!("{prefix}/{}", rt.plural),
            json!({"get": operation(rt, "list", &id("list", "ForAllNamespaces"), &rt.kind, list_params(), &list_ref),
                   "parameters": [query_param("pretty", "string")]}),
        );
    }
}

/// The document for `api/v1` or `apis/{group}/{version}`.
pub fn document(reg: &Registry, gv_path: &str) -> Option<Value> {
    let (group, version) = match gv_path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    let types = reg.in_group_version(&group, &version);
    if types.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = common_schemas();
    for rt in &types {
        paths_for(rt, &mut paths);
        schemas.insert(schema_name(rt, &rt.kind), kind_schema(rt));
        schemas.insert(schema_name(rt, &rt.list_kind), list_schema(rt));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-sim"},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

pub fn hash(doc: &Value) -> String {
    let mut h = DefaultHasher::new();
    doc.to_string().hash(&mut h);
    format!("{:016X}", h.finish())
}

/// `/openapi/v3`: where each group-version document lives (the hash changes with the content,
/// so clients' caches notice new CRDs).
pub fn index(reg: &Registry) -> Value {
    let mut paths = Map::new();
    let mut gvs = vec!["api/v1".to_string()];
    for (g, vs) in reg.groups() {
        for v in vs {
            gvs.push(format!("apis/{g}/{v}"));
        }
    }
    for gv in gvs {
        if let Some(doc) = document(reg, &gv) {
            paths.insert(
                gv.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={}", hash(&doc))}),
            );
        }
    }
    json!({"paths": paths})
}
