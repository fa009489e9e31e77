//! The `openAPIV3Schema` of a CRD version, compiled once and applied to custom objects the way
//! kube-apiserver 1.32 does: structural pruning (plus dropping non-nullable nulls), `default`
//! values, OpenAPI validation with the apiserver's field paths and messages (kube-openapi
//! errors as apiextensions-apiserver converts them), `x-kubernetes-list-type` uniqueness, CRD
//! validation ratcheting on update, and `x-kubernetes-validations` CEL rules including
//! transition rules.
//!
//! Not modelled: CEL type checking and cost limits (rules are only parsed when the CRD is
//! written, and run without a budget), and the Kubernetes-specific CEL libraries (quantity,
//! url, ip/cidr, authz, `isSorted`, regex `find`...).

mod cel;
mod formats;
mod gofmt;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, mpsc};

use regex::Regex;
use serde_json::{Map, Number, Value};

/// One failed check, shaped like the apiserver's StatusCause.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldCause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

/// The compiled openAPIV3Schema of one CRD version.
pub struct VersionSchema {
    root: Arc<Node>,
}

/// Schemas nested deeper than this are refused (real CRDs stay far below).
const MAX_SCHEMA_DEPTH: usize = 128;
/// Walks over schema-less values (pruning under a missing `items`) stop this deep.
const MAX_VALUE_DEPTH: usize = 256;

const BLOCKING_MESSAGE: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

struct Pattern {
    source: String,
    re: Result<Regex, String>,
}

#[derive(Default)]
enum Additional {
    #[default]
    Unset,
    Allow(bool),
    Schema(Box<Node>),
}

/// One node of the schema, with the keywords the apiserver acts on.
#[derive(Default)]
struct Node {
    ty: Option<String>,
    nullable: bool,
    format: Option<String>,
    properties: BTreeMap<String, Node>,
    additional: Additional,
    items: Option<Box<Node>>,
    required: Vec<String>,
    enum_values: Option<Vec<Value>>,
    pattern: Option<Pattern>,
    min_length: Option<i64>,
    max_length: Option<i64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: bool,
    exclusive_maximum: bool,
    multiple_of: Option<f64>,
    min_items: Option<i64>,
    max_items: Option<i64>,
    unique_items: bool,
    min_properties: Option<i64>,
    max_properties: Option<i64>,
    all_of: Vec<Node>,
    any_of: Vec<Node>,
    one_of: Vec<Node>,
    not: Option<Box<Node>>,
    default: Option<Value>,
    preserve_unknown: bool,
    embedded: bool,
    int_or_string: bool,
    list_type: Option<String>,
    list_map_keys: Vec<String>,
    map_type: Option<String>,
    rules: Vec<cel::Rule>,
    /// This node or one below it has CEL rules.
    has_cel: bool,
    /// This node or one below it is a set or map list.
    has_list_type: bool,
}

/// A `field.Path` of apimachinery: empty is the nil path, printed `<nil>`.
#[derive(Clone, Default, Debug, PartialEq)]
struct FPath(String);

impl FPath {
    fn root() -> FPath {
        FPath(String::new())
    }

    fn child(&self, name: &str) -> FPath {
        if self.0.is_empty() {
            FPath(name.to_string())
        } else {
            FPath(format!("{}.{name}", self.0))
        }
    }

    fn key(&self, k: &str) -> FPath {
        FPath(format!("{}[{k}]", self.0))
    }

    fn index(&self, i: usize) -> FPath {
        FPath(format!("{}[{i}]", self.0))
    }

    /// A kube-openapi error name ("spec.x", ".spec" for required at the root).
    fn from_openapi(name: &str) -> FPath {
        if name == "." {
            return FPath::root();
        }
        FPath(name.strip_prefix('.').unwrap_or(name).to_string())
    }

    fn render(&self) -> String {
        if self.0.is_empty() {
            "<nil>".into()
        } else {
            self.0.clone()
        }
    }
}

fn cause(reason: &str, field: &FPath, message: String) -> FieldCause {
    FieldCause {
        reason: reason.into(),
        message,
        field: field.render(),
    }
}

// ---------------------------------------------------------------------------------------
// Compiling the schema
// ---------------------------------------------------------------------------------------

fn get_bool(m: &Map<String, Value>, k: &str, loc: &str) -> Result<bool, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{loc}.{k}: must be a boolean")),
    }
}

fn get_str(m: &Map<String, Value>, k: &str, loc: &str) -> Result<Option<String>, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{loc}.{k}: must be a string")),
    }
}

fn get_num(m: &Map<String, Value>, k: &str, loc: &str) -> Result<Option<f64>, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(format!("{loc}.{k}: must be a number")),
    }
}

fn get_int(m: &Map<String, Value>, k: &str, loc: &str) -> Result<Option<i64>, String> {
    match get_num(m, k, loc)? {
        None => Ok(None),
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(f as i64)),
        Some(_) => Err(format!("{loc}.{k}: must be an integer")),
    }
}

fn get_strings(m: &Map<String, Value>, k: &str, loc: &str) -> Result<Vec<String>, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{loc}.{k}: must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("{loc}.{k}: must be a list of strings")),
    }
}

fn compile_list(
    m: &Map<String, Value>,
    k: &str,
    loc: &str,
    depth: usize,
) -> Result<Vec<Node>, String> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| compile_node(s, &format!("{loc}.{k}[{i}]"), depth + 1))
            .collect(),
        Some(_) => Err(format!("{loc}.{k}: must be a list of schemas")),
    }
}

fn compile_node(v: &Value, loc: &str, depth: usize) -> Result<Node, String> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(format!("{loc}: the schema is nested too deeply"));
    }
    let Some(m) = v.as_object() else {
        return Err(format!("{loc}: must be a schema object"));
    };
    let mut n = Node {
        ty: match get_str(m, "type", loc)?.as_deref() {
            None | Some("") => None,
            Some(t @ ("object" | "array" | "string" | "integer" | "number" | "boolean")) => {
                Some(t.to_string())
            }
            Some(t) => {
                return Err(format!(
                    "{loc}.type: Unsupported value: {}: supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
                    gofmt::quote(t)
                ));
            }
        },
        nullable: get_bool(m, "nullable", loc)?,
        // Unsupported formats are stripped by the apiserver before it validates.
        format: get_str(m, "format", loc)?.filter(|f| formats::is_known(f)),
        required: get_strings(m, "required", loc)?,
        min_length: get_int(m, "minLength", loc)?,
        max_length: get_int(m, "maxLength", loc)?,
        minimum: get_num(m, "minimum", loc)?,
        maximum: get_num(m, "maximum", loc)?,
        exclusive_minimum: get_bool(m, "exclusiveMinimum", loc)?,
        exclusive_maximum: get_bool(m, "exclusiveMaximum", loc)?,
        multiple_of: get_num(m, "multipleOf", loc)?,
        min_items: get_int(m, "minItems", loc)?,
        max_items: get_int(m, "maxItems", loc)?,
        unique_items: get_bool(m, "uniqueItems", loc)?,
        min_properties: get_int(m, "minProperties", loc)?,
        max_properties: get_int(m, "maxProperties", loc)?,
        default: m.get("default").filter(|d| !d.is_null()).cloned(),
        preserve_unknown: get_bool(m, "x-kubernetes-preserve-unknown-fields", loc)?,
        embedded: get_bool(m, "x-kubernetes-embedded-resource", loc)?,
        int_or_string: get_bool(m, "x-kubernetes-int-or-string", loc)?,
        list_type: get_str(m, "x-kubernetes-list-type", loc)?,
        list_map_keys: get_strings(m, "x-kubernetes-list-map-keys", loc)?,
        map_type: get_str(m, "x-kubernetes-map-type", loc)?,
        all_of: compile_list(m, "allOf", loc, depth)?,
        any_of: compile_list(m, "anyOf", loc, depth)?,
        one_of: compile_list(m, "oneOf", loc, depth)?,
        ..Node::default()
    };
    match m.get("enum") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => n.enum_values = Some(a.clone()),
        Some(_) => return Err(format!("{loc}.enum: must be a list")),
    }
    if let Some(p) = get_str(m, "pattern", loc)? {
        let re = regex::RegexBuilder::new(&formats::translate_pattern(&p))
            .size_limit(1 << 22)
            .build()
            .map_err(|e| e.to_string());
        if let Err(e) = &re {
            // The apiserver refuses a CRD whose pattern does not compile.
            return Err(format!(
                "{loc}.pattern: Invalid value: {}: must be a valid regular expression, but isn't: {}",
                gofmt::quote(&p),
                e.lines().last().unwrap_or_default().trim()
            ));
        }
        n.pattern = Some(Pattern { source: p, re });
    }
    match m.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (k, s) in props {
                let child = compile_node(s, &format!("{loc}.properties[{k}]"), depth + 1)?;
                n.properties.insert(k.clone(), child);
            }
        }
        Some(_) => return Err(format!("{loc}.properties: must be an object")),
    }
    n.additional = match m.get("additionalProperties") {
        None | Some(Value::Null) => Additional::Unset,
        Some(Value::Bool(b)) => Additional::Allow(*b),
        Some(s @ Value::Object(_)) => Additional::Schema(Box::new(compile_node(
            s,
            &format!("{loc}.additionalProperties"),
            depth + 1,
        )?)),
        Some(_) => {
            return Err(format!(
                "{loc}.additionalProperties: must be a schema or a boolean"
            ));
        }
    };
    match m.get("items") {
        None | Some(Value::Null) => {}
        Some(s @ Value::Object(_)) => {
            n.items = Some(Box::new(compile_node(
                s,
                &format!("{loc}.items"),
                depth + 1,
            )?));
        }
        Some(_) => {
            return Err(format!(
                "{loc}.items: must be a schema object and not an array"
            ));
        }
    }
    if let Some(s) = m.get("not").filter(|s| !s.is_null()) {
        n.not = Some(Box::new(compile_node(s, &format!("{loc}.not"), depth + 1)?));
    }
    if let Some(raw) = m.get("x-kubernetes-validations").filter(|r| !r.is_null()) {
        n.rules = cel::compile_rules(raw, &n, &format!("{loc}.x-kubernetes-validations"))?;
    }
    let children = || {
        n.properties
            .values()
            .chain(n.items.as_deref())
            .chain(match &n.additional {
                Additional::Schema(s) => Some(s.as_ref()),
                _ => None,
            })
            .chain(n.all_of.iter())
    };
    n.has_cel = !n.rules.is_empty() || children().any(|c| c.has_cel);
    n.has_list_type = matches!(n.list_type.as_deref(), Some("set" | "map"))
        || children().any(|c| c.has_list_type);
    Ok(n)
}

impl VersionSchema {
    /// Compiles a version's `openAPIV3Schema`. Refuses what would make the apiserver refuse
    /// the CRD and that this module depends on: malformed keywords, patterns that do not
    /// compile, CEL rules or message expressions that do not parse, bad `fieldPath`s and
    /// `reason`s.
    pub fn new(open_api_v3_schema: &Value) -> Result<VersionSchema, String> {
        let raw = open_api_v3_schema.clone();
        let root = on_big_stack(move || compile_node(&raw, "openAPIV3Schema", 0))
            .unwrap_or_else(|| Err("internal error compiling the schema".into()))?;
        Ok(VersionSchema {
            root: Arc::new(root),
        })
    }

    /// Structural pruning: removes fields not declared (properties / additionalProperties /
    /// x-kubernetes-preserve-unknown-fields / x-kubernetes-embedded-resource), at every level;
    /// apiVersion, kind and metadata at the root are always kept (metadata is not pruned by
    /// the schema). Returns the removed paths like ".spec.foo", in document order.
    ///
    /// Like the apiserver's decoder it then drops `null` values of fields that are neither
    /// nullable nor defaulted (not reported: they are not unknown fields).
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut out = Vec::new();
        prune(obj, Some(&self.root), true, &mut String::new(), &mut out, 0);
        prune_nulls(obj, Some(&self.root), 0);
        out
    }

    /// Applies `default:` values for absent properties (and for nulls where null is not
    /// allowed), recursively, including inside defaulted objects and array items.
    pub fn apply_defaults(&self, obj: &mut Value) {
        apply_defaults(obj, &self.root);
    }

    /// Validates the whole custom object. `old` is the stored object on update (None on
    /// create): it drives transition rules and ratcheting (errors in values that did not
    /// change are not reported, as with the CRDValidationRatcheting feature).
    pub fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<FieldCause> {
        let mut out = Vec::new();
        validate_node(&self.root, obj, old, "", &mut out);
        if self.root.has_list_type {
            list_types(&self.root, obj, &FPath::root(), &mut out);
        }
        if self.root.has_cel {
            let blocking = out.iter().any(|c| {
                matches!(
                    c.reason.as_str(),
                    "FieldValueNotSupported"
                        | "FieldValueRequired"
                        | "FieldValueTooLong"
                        | "FieldValueTooMany"
                        | "FieldValueTypeInvalid"
                )
            });
            if blocking {
                out.push(cause(
                    "FieldValueInvalid",
                    &FPath::root(),
                    format!("Invalid value: \"null\": {BLOCKING_MESSAGE}"),
                ));
            } else {
                let (root, obj, old) = (self.root.clone(), obj.clone(), old.cloned());
                let errs = on_big_stack(move || {
                    let mut errs = Vec::new();
                    cel_walk(
                        &root,
                        &obj,
                        old.as_ref(),
                        false,
                        true,
                        &FPath::root(),
                        &mut errs,
                    );
                    errs
                });
                out.extend(errs.unwrap_or_else(|| {
                    vec![cause(
                        "InternalError",
                        &FPath::root(),
                        "Internal error: evaluating the validation rules failed".into(),
                    )]
                }));
            }
        }
        out
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Idle big-stack workers, each waiting on its own channel.
static IDLE_WORKERS: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());

/// An idle big-stack worker, started if none is free; None if no thread can be started.
fn big_stack_worker() -> Option<mpsc::Sender<Job>> {
    const STACK: usize = 64 << 20;
    if let Some(w) = IDLE_WORKERS.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return Some(w);
    }
    let (tx, rx) = mpsc::channel::<Job>();
    let me = tx.clone();
    std::thread::Builder::new()
        .name("schema-cel".into())
        .stack_size(STACK)
        .spawn(move || {
            // Holding `me` keeps the channel open: the worker lives as long as the process.
            while let Ok(job) = rx.recv() {
                job();
                IDLE_WORKERS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(me.clone());
            }
        })
        .ok()?;
    Some(tx)
}

/// Runs `f` on a thread with a large stack: the CEL parser and interpreter recurse deeply
/// (tens of KiB per nesting level in debug builds), more than a 2 MiB test or tokio thread
/// has. Workers are kept, since starting a thread costs more than validating. None if `f`
/// panicked (a bug, already reported by the panic hook).
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)).ok());
    });
    let unsent = match big_stack_worker() {
        Some(w) => w.send(job).err().map(|e| e.0),
        None => Some(job),
    };
    if let Some(job) = unsent {
        // No worker to be had: run here.
        job();
    }
    rx.recv().ok().flatten()
}

// ---------------------------------------------------------------------------------------
// Pruning and defaulting
// ---------------------------------------------------------------------------------------

fn is_meta_field(k: &str, v: &Value) -> bool {
    match k {
        "apiVersion" | "kind" => v.is_string(),
        "metadata" => v.is_object(),
        _ => false,
    }
}

/// pruning.prune: `s` None is the apiserver's nil schema (everything in maps goes).
fn prune(
    x: &mut Value,
    s: Option<&Node>,
    resource_root: bool,
    path: &mut String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    if let Some(s) = s
        && s.preserve_unknown
    {
        skip_prune(x, s, resource_root, path, out, depth);
        return;
    }
    let len = path.len();
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    out.push(format!("{path}.{k}"));
                }
                m.clear();
                return;
            };
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if (s.embedded || resource_root) && m.get(&k).is_some_and(|v| is_meta_field(&k, v))
                {
                    continue;
                }
                let child = match (s.properties.get(&k), &s.additional) {
                    (Some(p), _) => Some(Some(p)),
                    (None, Additional::Schema(ap)) => Some(Some(ap.as_ref())),
                    (None, Additional::Allow(true)) => Some(None),
                    _ => None,
                };
                match child {
                    Some(cs) => {
                        path.push('.');
                        path.push_str(&k);
                        if let Some(v) = m.get_mut(&k) {
                            prune(v, cs, cs.is_some_and(|c| c.embedded), path, out, depth + 1);
                        }
                        path.truncate(len);
                    }
                    None => {
                        m.remove(&k);
                        out.push(format!("{path}.{k}"));
                    }
                }
            }
        }
        Value::Array(a) => {
            let items = s.and_then(|s| s.items.as_deref());
            for (i, v) in a.iter_mut().enumerate() {
                path.push_str(&format!("[{i}]"));
                prune(
                    v,
                    items,
                    items.is_some_and(|c| c.embedded),
                    path,
                    out,
                    depth + 1,
                );
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// pruning.skipPrune: under x-kubernetes-preserve-unknown-fields, unknown fields stay but
/// declared ones are still pruned inside.
fn skip_prune(
    x: &mut Value,
    s: &Node,
    resource_root: bool,
    path: &mut String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    let len = path.len();
    match x {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if (s.embedded || resource_root)
                    && matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
                {
                    continue;
                }
                let child = match (s.properties.get(k), &s.additional) {
                    (Some(p), _) => Some(Some(p)),
                    (None, Additional::Schema(ap)) => Some(Some(ap.as_ref())),
                    (None, Additional::Allow(true)) => Some(None),
                    _ => None,
                };
                if let Some(cs) = child {
                    path.push('.');
                    path.push_str(k);
                    prune(v, cs, cs.is_some_and(|c| c.embedded), path, out, depth + 1);
                    path.truncate(len);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.items.as_deref() {
                for (i, v) in a.iter_mut().enumerate() {
                    path.push_str(&format!("[{i}]"));
                    skip_prune(v, items, items.embedded, path, out, depth + 1);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

fn schema_for_field<'a>(s: Option<&'a Node>, k: &str) -> Option<&'a Node> {
    let s = s?;
    match (s.properties.get(k), &s.additional) {
        (Some(p), _) => Some(p),
        (None, Additional::Schema(ap)) => Some(ap),
        _ => None,
    }
}

/// defaulting.PruneNonNullableNullsWithoutDefaults.
fn prune_nulls(x: &mut Value, s: Option<&Node>, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let sub = schema_for_field(s, k);
                !(v.is_null() && sub.is_some_and(|p| !p.nullable && p.default.is_none()))
            });
            for (k, v) in m.iter_mut() {
                prune_nulls(v, schema_for_field(s, k), depth + 1);
            }
        }
        Value::Array(a) => {
            let items = s.and_then(|s| s.items.as_deref());
            for v in a {
                prune_nulls(v, items, depth + 1);
            }
        }
        _ => {}
    }
}

/// defaulting.Default.
fn apply_defaults(x: &mut Value, s: &Node) {
    match x {
        Value::Object(m) => {
            for (k, p) in &s.properties {
                let Some(d) = &p.default else { continue };
                let missing = match m.get(k) {
                    None => true,
                    Some(v) => v.is_null() && !p.nullable,
                };
                if missing {
                    m.insert(k.clone(), d.clone());
                }
            }
            for (k, v) in m.iter_mut() {
                if let Some(p) = s.properties.get(k) {
                    apply_defaults(v, p);
                } else if let Additional::Schema(ap) = &s.additional {
                    if v.is_null()
                        && !ap.nullable
                        && let Some(d) = &ap.default
                    {
                        *v = d.clone();
                    }
                    apply_defaults(v, ap);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.items.as_deref() {
                for v in a {
                    if v.is_null()
                        && !items.nullable
                        && let Some(d) = &items.default
                    {
                        *v = d.clone();
                    }
                    apply_defaults(v, items);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// OpenAPI validation (kube-openapi's SchemaValidator, errors as apiextensions converts them)
// ---------------------------------------------------------------------------------------

/// The JSON type and Go format kube-openapi infers for decoded data.
fn data_kind(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) if n.is_i64() => ("integer", "int64"),
        Value::Number(_) => ("number", "float64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

fn types_of(s: &Node) -> Vec<&str> {
    if s.int_or_string {
        vec!["integer", "string"]
    } else {
        s.ty.as_deref().into_iter().collect()
    }
}

/// errors.InvalidType converted to a FieldValueTypeInvalid cause.
fn type_error(path: &str, type_name: &str, value: &str) -> FieldCause {
    let q = gofmt::quote(value);
    cause(
        "FieldValueTypeInvalid",
        &FPath::from_openapi(path),
        format!("Invalid value: {q}: {path} in body must be of type {type_name}: {q}"),
    )
}

/// A kube-openapi error without a special conversion: FieldValueInvalid with the value.
fn invalid(path: &str, value: &Value, detail: String) -> FieldCause {
    cause(
        "FieldValueInvalid",
        &FPath::from_openapi(path),
        format!("Invalid value: {}: {detail}", gofmt::bad_value(value)),
    )
}

/// A composite (anyOf/oneOf/allOf/not) error: reported on the nil path with an empty value.
fn composite(detail: String) -> FieldCause {
    cause(
        "FieldValueInvalid",
        &FPath::root(),
        format!("Invalid value: \"\": {detail}"),
    )
}

fn type_check(s: &Node, v: &Value, path: &str, out: &mut Vec<FieldCause>) {
    let tys = types_of(s);
    let format = s.format.as_deref().unwrap_or("");
    if v.is_null() {
        if !tys.is_empty() && !tys.contains(&"null") && !s.nullable {
            out.push(type_error(path, &tys.join(","), "null"));
            return;
        }
        return;
    }
    if tys.is_empty() && format.is_empty() {
        return;
    }
    let (kind, data_format) = data_kind(v);
    let has = |t: &str| tys.contains(&t);
    let is_float_int = kind == "number"
        && v.as_f64()
            .is_some_and(|f| f.fract() == 0.0 && f.is_finite())
        && has("integer");
    let is_int_float = kind == "integer" && has("number");
    let string_or_slice = v.is_string() || v.is_array();
    let type_ok = has(kind) || is_float_int || is_int_float;
    // A number, boolean or object under a format that is not its own fails on the format.
    if !(string_or_slice || format.is_empty() || type_ok || data_format == format) {
        out.push(type_error(path, format, data_format));
        return;
    }
    // A string or list under a non-numeric type with a format passes here.
    if string_or_slice && !(has("number") || has("integer") || format.is_empty()) {
        return;
    }
    if !type_ok {
        out.push(type_error(path, &tys.join(","), kind));
    }
}

/// Validates a subtree; `old` is the correlated old value, and a subtree equal to it is not
/// checked (ratcheting).
fn validate_node(s: &Node, v: &Value, old: Option<&Value>, path: &str, out: &mut Vec<FieldCause>) {
    if old == Some(v) {
        return;
    }
    type_check(s, v, path, out);
    if v.is_null() {
        enum_check(s, v, path, out);
        return;
    }
    schema_props(s, v, old, path, out);
    if let Value::String(st) = v {
        string_checks(s, v, st, path, out);
        if let Some(f) = &s.format
            && !formats::check(f, st)
        {
            out.push(type_error(path, f, st));
        }
    }
    if let Value::Number(n) = v {
        number_checks(s, v, n, path, out);
    }
    if let Value::Array(a) = v {
        array_checks(s, a, old, path, out);
    }
    enum_check(s, v, path, out);
    if let Value::Object(m) = v {
        object_checks(s, m, old, path, out);
    }
}

fn collect(s: &Node, v: &Value, old: Option<&Value>, path: &str) -> Vec<FieldCause> {
    let mut r = Vec::new();
    validate_node(s, v, old, path, &mut r);
    r
}

/// allOf / anyOf / oneOf / not, keeping the errors of the best failing branch like
/// kube-openapi (fewest errors standing in for its match count).
fn schema_props(s: &Node, v: &Value, old: Option<&Value>, path: &str, out: &mut Vec<FieldCause>) {
    let q = gofmt::quote(path);
    if !s.any_of.is_empty() {
        let mut best: Option<Vec<FieldCause>> = None;
        let mut ok = false;
        for b in &s.any_of {
            let r = collect(b, v, old, path);
            if r.is_empty() {
                ok = true;
                best = None;
                break;
            }
            if best.as_ref().is_none_or(|x| r.len() < x.len()) {
                best = Some(r);
            }
        }
        if !ok {
            out.push(composite(format!(
                "{q} must validate at least one schema (anyOf)"
            )));
        }
        out.extend(best.unwrap_or_default());
    }
    if !s.one_of.is_empty() {
        let mut best: Option<Vec<FieldCause>> = None;
        let mut valid = 0;
        for b in &s.one_of {
            let r = collect(b, v, old, path);
            if r.is_empty() {
                valid += 1;
                best = None;
            } else if valid == 0 && best.as_ref().is_none_or(|x| r.len() < x.len()) {
                best = Some(r);
            }
        }
        if valid != 1 {
            let more = if valid == 0 {
                "Found none valid".to_string()
            } else {
                format!("Found {valid} valid alternatives")
            };
            out.push(composite(format!(
                "{q} must validate one and only one schema (oneOf). {more}"
            )));
            out.extend(best.unwrap_or_default());
        }
    }
    if !s.all_of.is_empty() {
        let mut valid = 0;
        for b in &s.all_of {
            let r = collect(b, v, old, path);
            if r.is_empty() {
                valid += 1;
            }
            out.extend(r);
        }
        if valid != s.all_of.len() {
            let more = if valid == 0 { ". None validated" } else { "" };
            out.push(composite(format!(
                "{q} must validate all the schemas (allOf){more}"
            )));
        }
    }
    if let Some(not) = &s.not
        && collect(not, v, None, path).is_empty()
    {
        out.push(composite(format!("{q} must not validate the schema (not)")));
    }
}

/// stringValidator: the first failing check only.
fn string_checks(s: &Node, v: &Value, st: &str, path: &str, out: &mut Vec<FieldCause>) {
    // Lengths count code points, as Go's utf8.RuneCount.
    let len = st.chars().count() as i64;
    if let Some(max) = s.max_length
        && len > max
    {
        let unit = if max == 1 { "byte" } else { "bytes" };
        let detail = if max >= 0 {
            format!("may not be more than {max} {unit}")
        } else {
            "value is too long".into()
        };
        out.push(cause(
            "FieldValueTooLong",
            &FPath::from_openapi(path),
            format!("Too long: {detail}"),
        ));
        return;
    }
    if let Some(min) = s.min_length
        && len < min
    {
        out.push(invalid(
            path,
            v,
            format!("{path} in body should be at least {min} chars long"),
        ));
        return;
    }
    if let Some(p) = &s.pattern {
        match &p.re {
            Ok(re) if re.is_match(st) => {}
            Ok(_) => out.push(invalid(
                path,
                v,
                format!("{path} in body should match '{}'", p.source),
            )),
            Err(e) => out.push(invalid(
                path,
                v,
                format!(
                    "{path} in body should match '{}, but pattern is invalid: {e}'",
                    p.source
                ),
            )),
        }
    }
}

/// Go's `int64(f)`: truncation, saturating where Go's result is unspecified.
fn go_int(f: f64) -> i64 {
    f as i64
}

/// swag.IsFloat64AJSONInteger.
fn is_json_integer(f: f64) -> bool {
    if !f.is_finite() || f.abs() > 9_007_199_254_740_992.0 {
        return false;
    }
    let diff = (f - f.round()).abs();
    diff == 0.0 || f.abs() < 1e-9 || diff < 1e-9 * f.abs()
}

/// numberValidator: multipleOf, maximum, minimum (all reported).
fn number_checks(s: &Node, v: &Value, n: &Number, path: &str, out: &mut Vec<FieldCause>) {
    if let Some(i) = n.as_i64() {
        if let Some(f) = s.multiple_of {
            let factor = go_int(f);
            if factor < 0 {
                out.push(invalid(
                    path,
                    v,
                    format!("factor MultipleOf declared for {path} must be positive: {factor}"),
                ));
            } else if factor > 0 && i % factor != 0 {
                out.push(invalid(
                    path,
                    v,
                    format!("{path} in body should be a multiple of {factor}"),
                ));
            }
        }
        if let Some(max) = s.maximum {
            let m = go_int(max);
            if (!s.exclusive_maximum && i > m) || (s.exclusive_maximum && i >= m) {
                let rel = if s.exclusive_maximum {
                    "less than"
                } else {
                    "less than or equal to"
                };
                out.push(invalid(
                    path,
                    v,
                    format!("{path} in body should be {rel} {m}"),
                ));
            }
        }
        if let Some(min) = s.minimum {
            let m = go_int(min);
            if (!s.exclusive_minimum && i < m) || (s.exclusive_minimum && i <= m) {
                let rel = if s.exclusive_minimum {
                    "greater than"
                } else {
                    "greater than or equal to"
                };
                out.push(invalid(
                    path,
                    v,
                    format!("{path} in body should be {rel} {m}"),
                ));
            }
        }
        return;
    }
    let d = n.as_f64().unwrap_or(0.0);
    if let Some(factor) = s.multiple_of {
        if factor < 0.0 {
            out.push(invalid(
                path,
                v,
                format!(
                    "factor MultipleOf declared for {path} must be positive: {}",
                    gofmt::float(factor)
                ),
            ));
        } else if factor > 0.0 {
            let mult = if factor < 1.0 {
                1.0 / factor * d
            } else {
                d / factor
            };
            if !is_json_integer(mult) {
                out.push(invalid(
                    path,
                    v,
                    format!(
                        "{path} in body should be a multiple of {}",
                        gofmt::float(factor)
                    ),
                ));
            }
        }
    }
    if let Some(max) = s.maximum
        && ((!s.exclusive_maximum && d > max) || (s.exclusive_maximum && d >= max))
    {
        let rel = if s.exclusive_maximum {
            "less than"
        } else {
            "less than or equal to"
        };
        out.push(invalid(
            path,
            v,
            format!("{path} in body should be {rel} {}", gofmt::float(max)),
        ));
    }
    if let Some(min) = s.minimum
        && ((!s.exclusive_minimum && d < min) || (s.exclusive_minimum && d <= min))
    {
        let rel = if s.exclusive_minimum {
            "greater than"
        } else {
            "greater than or equal to"
        };
        out.push(invalid(
            path,
            v,
            format!("{path} in body should be {rel} {}", gofmt::float(min)),
        ));
    }
}

/// A JSON-serialized identity for set membership (Go compares decoded values; 1 and 1.0
/// differ there too).
fn identity(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The key of a map-list item, for correlating it with the old list.
fn list_map_key(keys: &[String], item: &Value) -> Option<String> {
    let m = item.as_object()?;
    let tuple: Vec<&Value> = keys
        .iter()
        .map(|k| m.get(k).unwrap_or(&Value::Null))
        .collect();
    serde_json::to_string(&tuple).ok()
}

/// Old items of a map list by key; other lists do not correlate their items.
fn correlate_items<'a>(s: &Node, old: Option<&'a Value>) -> HashMap<String, &'a Value> {
    let mut by_key = HashMap::new();
    if s.list_type.as_deref() == Some("map")
        && !s.list_map_keys.is_empty()
        && let Some(Value::Array(items)) = old
    {
        for it in items {
            if let Some(k) = list_map_key(&s.list_map_keys, it) {
                by_key.entry(k).or_insert(it);
            }
        }
    }
    by_key
}

fn old_item<'a>(s: &Node, by_key: &HashMap<String, &'a Value>, item: &Value) -> Option<&'a Value> {
    if by_key.is_empty() {
        return None;
    }
    list_map_key(&s.list_map_keys, item).and_then(|k| by_key.get(&k).copied())
}

/// schemaSliceValidator: items first, then minItems, maxItems, uniqueItems.
fn array_checks(s: &Node, a: &[Value], old: Option<&Value>, path: &str, out: &mut Vec<FieldCause>) {
    if let Some(items) = s.items.as_deref() {
        let by_key = correlate_items(s, old);
        for (i, x) in a.iter().enumerate() {
            validate_node(
                items,
                x,
                old_item(s, &by_key, x),
                &format!("{path}[{i}]"),
                out,
            );
        }
    }
    let size = a.len() as i64;
    if let Some(min) = s.min_items
        && size < min
    {
        out.push(invalid(
            path,
            &Value::from(size),
            format!("{path} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = s.max_items
        && size > max
    {
        out.push(too_many(path, size, max));
    }
    if s.unique_items {
        let mut seen = std::collections::HashSet::new();
        if !a.iter().all(|x| seen.insert(identity(x))) {
            out.push(invalid(
                path,
                &Value::from(""),
                format!("{path} in body shouldn't contain duplicates"),
            ));
        }
    }
}

fn too_many(path: &str, actual: i64, max: i64) -> FieldCause {
    let detail = if max >= 0 {
        let unit = if max == 1 { "item" } else { "items" };
        format!("must have at most {max} {unit}")
    } else {
        "has too many items".into()
    };
    cause(
        "FieldValueTooMany",
        &FPath::from_openapi(path),
        format!("Too many: {actual}: {detail}"),
    )
}

/// Whether `v` equals an enum member, with Go's reflect conversions between numbers.
fn enum_matches(v: &Value, e: &Value) -> bool {
    match (v, e) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            // A float datum is converted to the enum's integer type (truncating), an integer
            // datum to the enum's float type.
            (None, Some(y)) => a.as_f64().is_some_and(|f| go_int(f) == y),
            _ => a.as_f64() == b.as_f64(),
        },
        _ => v == e,
    }
}

/// How apiextensions lists supported values: strings as is, others JSON-encoded, all quoted.
fn enum_member(e: &Value) -> String {
    match e {
        Value::String(s) => gofmt::quote(s),
        Value::Number(n) => gofmt::quote(&match n.as_f64() {
            Some(f) if n.as_i64().is_none() && f.fract() == 0.0 && f.abs() < 1e21 => {
                format!("{f:.0}")
            }
            _ => n.to_string(),
        }),
        other => gofmt::quote(&identity(other)),
    }
}

fn enum_check(s: &Node, v: &Value, path: &str, out: &mut Vec<FieldCause>) {
    let Some(values) = &s.enum_values else { return };
    if !v.is_null() && values.iter().any(|e| enum_matches(v, e)) {
        return;
    }
    let supported: Vec<String> = values.iter().map(enum_member).collect();
    let mut message = format!("Unsupported value: {}", gofmt::bad_value(v));
    if !supported.is_empty() {
        message.push_str(&format!(": supported values: {}", supported.join(", ")));
    }
    out.push(cause(
        "FieldValueNotSupported",
        &FPath::from_openapi(path),
        message,
    ));
}

/// objectValidator: min/maxProperties (alone), additional properties, properties, required.
fn object_checks(
    s: &Node,
    m: &Map<String, Value>,
    old: Option<&Value>,
    path: &str,
    out: &mut Vec<FieldCause>,
) {
    let n = m.len() as i64;
    if let Some(min) = s.min_properties
        && n < min
    {
        out.push(invalid(
            path,
            &Value::from(n),
            format!("{path} in body should have at least {min} properties"),
        ));
        return;
    }
    if let Some(max) = s.max_properties
        && n > max
    {
        out.push(too_many(path, n, max));
        return;
    }
    let old_map = old.filter(|_| map_correlates(s)).and_then(Value::as_object);
    let child = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match &s.additional {
        Additional::Allow(false) => {
            for k in m.keys().filter(|k| !s.properties.contains_key(*k)) {
                out.push(invalid(
                    path,
                    &Value::from(k.as_str()),
                    format!("{path}.{k} in body is a forbidden property"),
                ));
            }
        }
        Additional::Schema(ap) => {
            for (k, x) in m.iter().filter(|(k, _)| !s.properties.contains_key(*k)) {
                let oldv = old_map.and_then(|o| o.get(k));
                validate_node(ap, x, oldv, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
    for (k, x) in m {
        if let Some(p) = s.properties.get(k) {
            let oldv = old_map.and_then(|o| o.get(k));
            validate_node(p, x, oldv, &child(k), out);
        }
    }
    for k in &s.required {
        if !m.contains_key(k) {
            out.push(cause(
                "FieldValueRequired",
                &FPath::from_openapi(&format!("{path}.{k}")),
                "Required value".into(),
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// x-kubernetes-list-type set/map uniqueness (listtype.ValidateListSetsAndMaps)
// ---------------------------------------------------------------------------------------

/// Indices of the second appearance of each repeated identity.
fn non_unique(ids: &[String]) -> Vec<usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let times = seen.entry(id.as_str()).or_insert(0);
        *times += 1;
        if *times == 2 {
            out.push(i);
        }
    }
    out
}

fn duplicate(path: &FPath, value: &Value) -> FieldCause {
    cause(
        "FieldValueDuplicate",
        path,
        format!("Duplicate value: {}", gofmt::bad_value(value)),
    )
}

fn list_types(s: &Node, v: &Value, path: &FPath, out: &mut Vec<FieldCause>) {
    if !s.has_list_type {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let Some(p) = s.properties.get(k) {
                    list_types(p, x, &path.child(k), out);
                } else if let Additional::Schema(ap) = &s.additional {
                    list_types(ap, x, &path.key(k), out);
                }
            }
        }
        Value::Array(a) => {
            match s.list_type.as_deref() {
                Some("set") if a.len() > 1 => {
                    let ids: Vec<String> = a.iter().map(identity).collect();
                    for i in non_unique(&ids) {
                        out.push(duplicate(&path.index(i), &a[i]));
                    }
                }
                Some("map") => list_map_duplicates(s, a, path, out),
                _ => {}
            }
            if let Some(items) = s.items.as_deref() {
                for (i, x) in a.iter().enumerate() {
                    list_types(items, x, &path.index(i), out);
                }
            }
        }
        _ => {}
    }
}

fn list_map_duplicates(s: &Node, a: &[Value], path: &FPath, out: &mut Vec<FieldCause>) {
    if let Some((i, x)) = a
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_null() && !x.is_object())
    {
        out.push(invalid_at(
            &path.index(i),
            x,
            "must be an object for an array of list-type map",
        ));
        return;
    }
    if a.len() <= 1 {
        return;
    }
    let keys: Vec<Value> = a
        .iter()
        .map(|x| {
            let mut key = Map::new();
            if let Some(m) = x.as_object() {
                for k in &s.list_map_keys {
                    if let Some(kv) = m.get(k) {
                        key.insert(k.clone(), kv.clone());
                    }
                }
            }
            Value::Object(key)
        })
        .collect();
    let ids: Vec<String> = keys.iter().map(identity).collect();
    for i in non_unique(&ids) {
        out.push(duplicate(&path.index(i), &keys[i]));
    }
}

fn invalid_at(path: &FPath, value: &Value, detail: &str) -> FieldCause {
    cause(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {}: {detail}", gofmt::bad_value(value)),
    )
}

// ---------------------------------------------------------------------------------------
// CEL rules over the tree (cel.Validator.validate)
// ---------------------------------------------------------------------------------------

/// cel.MapIsCorrelatable: granular (the default) and atomic maps match old entries by key.
fn map_correlates(s: &Node) -> bool {
    matches!(s.map_type.as_deref(), None | Some("granular" | "atomic"))
}

fn cel_walk(
    s: &Node,
    v: &Value,
    old: Option<&Value>,
    parent_unchanged: bool,
    resource_root: bool,
    path: &FPath,
    out: &mut Vec<FieldCause>,
) {
    if !s.has_cel || v.is_null() {
        return;
    }
    let unchanged = old.map_or(parent_unchanged, |o| o == v);
    let at = cel::Site {
        old,
        resource_root,
        path,
        unchanged,
    };
    if !s.rules.is_empty() {
        cel::eval_rules(&s.rules, s, v, &at, out);
    }
    for b in s.all_of.iter().filter(|b| !b.rules.is_empty()) {
        // allOf rules see the value typed by the enclosing schema.
        cel::eval_rules(&b.rules, s, v, &at, out);
    }
    match v {
        Value::Object(m) => {
            let old_map = old.filter(|_| map_correlates(s)).and_then(Value::as_object);
            for (k, x) in m {
                let oldv = old_map.and_then(|o| o.get(k));
                if let Some(p) = s.properties.get(k) {
                    cel_walk(p, x, oldv, unchanged, p.embedded, &path.child(k), out);
                } else if let Additional::Schema(ap) = &s.additional {
                    cel_walk(ap, x, oldv, unchanged, ap.embedded, &path.key(k), out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.items.as_deref().filter(|i| i.has_cel) {
                let by_key = correlate_items(s, old);
                for (i, x) in a.iter().enumerate() {
                    let oldv = old_item(s, &by_key, x);
                    cel_walk(
                        items,
                        x,
                        oldv,
                        unchanged,
                        items.embedded,
                        &path.index(i),
                        out,
                    );
                }
            }
        }
        _ => {}
    }
}
