//! `x-kubernetes-validations`: compiling the rules of a schema node, binding `self` and
//! `oldSelf` the way the apiserver types them, and turning outcomes into causes.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr, IdedEntryExpr};
use cel::objects::{Key, Map, OptionalValue};
use cel::{Context, Env, ExecutionError, Program, Value as CelValue};
use serde_json::Value;

use super::{Additional, FPath, FieldCause, Node, cause, formats, gofmt};

/// The Kubernetes CEL environment, as far as the crate has it: the standard library plus the
/// strings and lists extensions Kubernetes also enables.
static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // Registration only fails on duplicate declarations, which would leave the stdlib usable.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::lists);
    Arc::new(env)
});

/// The reasons a rule may name (`FieldValueErrorReason`).
const REASONS: [&str; 4] = [
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
];

/// The apiserver's bound on an evaluated messageExpression.
const MAX_MESSAGE_EXPRESSION_BYTES: usize = 5 * 1024;

/// Values nested deeper than this are not converted (a guard against stack exhaustion).
const MAX_VALUE_DEPTH: usize = 200;

pub(super) struct Rule {
    rule: String,
    program: Program,
    uses_old_self: bool,
    optional_old_self: bool,
    message: String,
    message_expression: Option<Program>,
    reason: Option<String>,
    /// Normalized `fieldPath` (e.g. `spec.foo[bar]`), empty when not given.
    field_path: String,
}

/// Deeper expressions are refused: the interpreter recurses once per level with large
/// frames (left-associative chains like `1 + 1 + ...` are not bounded by the parser).
const MAX_AST_DEPTH: usize = 500;

/// The depth of an expression tree, walked without recursion.
fn ast_depth(root: &IdedExpr) -> usize {
    let mut max = 0;
    let mut stack = vec![(root, 1usize)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        let mut children: Vec<&IdedExpr> = Vec::new();
        match &e.expr {
            Expr::Call(c) => {
                children.extend(c.target.as_deref());
                children.extend(&c.args);
            }
            Expr::Comprehension(c) => {
                children.extend([
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ]);
            }
            Expr::List(l) => children.extend(&l.elements),
            Expr::Map(m) => m.entries.iter().for_each(|en| entry(en, &mut children)),
            Expr::Struct(st) => st.entries.iter().for_each(|en| entry(en, &mut children)),
            Expr::Select(sel) => children.push(&sel.operand),
            _ => {}
        }
        stack.extend(children.into_iter().map(|c| (c, d + 1)));
    }
    max
}

fn entry<'a>(e: &'a IdedEntryExpr, out: &mut Vec<&'a IdedExpr>) {
    match &e.expr {
        EntryExpr::MapEntry(me) => out.extend([&me.key, &me.value]),
        EntryExpr::StructField(sf) => out.push(&sf.value),
    }
}

fn compile(src: &str) -> Result<Program, String> {
    if let Some(word) = reserved_identifier(src) {
        // cel-go's parser refuses these; the cel crate would read `self.namespace` as a field
        // that is never there (`has()` false), so a wrong rule would pass silently.
        return Err(format!("reserved identifier: {word}"));
    }
    let program = match catch_unwind(AssertUnwindSafe(|| ENV.compile(src))) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("the CEL parser failed on this expression".into()),
    };
    if ast_depth(program.expression()) > MAX_AST_DEPTH {
        return Err(format!(
            "the expression is nested more than {MAX_AST_DEPTH} levels deep"
        ));
    }
    Ok(program)
}

/// Words the CEL grammar reserves (beyond the keywords `true false null in`): cel-go refuses
/// them as identifiers, so a property so named is reached only escaped (`__namespace__`).
const RESERVED_IDENTIFIERS: [&str; 17] = [
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// The first reserved word `src` uses as an identifier, outside string and bytes literals.
fn reserved_identifier(src: &str) -> Option<&'static str> {
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' || c == b'\'' {
            // A prefix (r, b, rb, br) was read as an identifier just before.
            let raw = i > 0 && matches!(bytes[i - 1], b'r' | b'R');
            let len = if bytes[i..].starts_with(&[c, c, c]) {
                3
            } else {
                1
            };
            let close = &bytes[i..i + len];
            i += len;
            while i < bytes.len() && !bytes[i..].starts_with(close) {
                i += if bytes[i] == b'\\' && !raw { 2 } else { 1 };
            }
            i += len;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &src[start..i];
            if let Some(w) = RESERVED_IDENTIFIERS.iter().find(|w| **w == word) {
                return Some(w);
            }
        } else if c.is_ascii_digit() {
            // A number with its suffix or exponent (`1u`, `2e3`) is not an identifier.
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    None
}

/// Compiles a node's `x-kubernetes-validations`, rejecting what the apiserver rejects when
/// the CRD is written: empty or unparsable rules and message expressions, unknown reasons,
/// field paths that do not name a field, optionalOldSelf on a rule without oldSelf.
pub(super) fn compile_rules(raw: &Value, node: &Node, loc: &str) -> Result<Vec<Rule>, String> {
    let Some(list) = raw.as_array() else {
        return Err(format!("{loc}: must be a list of rules"));
    };
    let mut rules = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let at = format!("{loc}[{i}]");
        let Some(r) = r.as_object() else {
            return Err(format!("{at}: must be an object"));
        };
        let text = |k: &str| -> Result<String, String> {
            match r.get(k) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!("{at}.{k}: must be a string")),
            }
        };
        let rule = text("rule")?;
        if rule.trim().is_empty() {
            return Err(format!("{at}.rule: Required value"));
        }
        let program = compile(&rule)
            .map_err(|e| format!("{at}.rule: Invalid value: {rule:?}: compilation failed: {e}"))?;
        let uses_old_self = program.references().has_variable("oldSelf");
        let message = text("message")?;
        if message.contains('\n') {
            return Err(format!(
                "{at}.message: Invalid value: {message:?}: message must not contain line breaks"
            ));
        }
        let me_src = text("messageExpression")?;
        let message_expression = if me_src.trim().is_empty() {
            None
        } else {
            Some(compile(&me_src).map_err(|e| {
                format!("{at}.messageExpression: Invalid value: {me_src:?}: messageExpression compilation failed: {e}")
            })?)
        };
        let reason = match text("reason")? {
            r if r.is_empty() => None,
            r if REASONS.contains(&r.as_str()) => Some(r),
            r => {
                return Err(format!(
                    "{at}.reason: Unsupported value: {r:?}: supported values: {}",
                    REASONS.map(|s| format!("{s:?}")).join(", ")
                ));
            }
        };
        let optional_old_self = match r.get("optionalOldSelf") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(format!("{at}.optionalOldSelf: must be a boolean")),
        };
        if optional_old_self && !uses_old_self {
            return Err(format!(
                "{at}.optionalOldSelf: Forbidden: may not be set if rule does not use oldSelf"
            ));
        }
        let fp = text("fieldPath")?;
        let field_path = if fp.is_empty() {
            String::new()
        } else {
            normalize_field_path(&fp, node).map_err(|e| {
                format!(
                    "{at}.fieldPath: Invalid value: {fp:?}: fieldPath must be a valid path: {e}"
                )
            })?
        };
        rules.push(Rule {
            rule,
            program,
            uses_old_self,
            optional_old_self,
            message,
            message_expression,
            reason,
            field_path,
        });
    }
    Ok(rules)
}

/// `ValidFieldPath`: `.name` and `['name']` steps through properties and
/// additionalProperties, rendered like `field.Path` (`a.b[key]`).
fn normalize_field_path(path: &str, mut node: &Node) -> Result<String, String> {
    let mut out = FPath::root();
    let mut rest = path;
    while !rest.is_empty() {
        let name;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[', ']']).unwrap_or(r.len());
            name = r[..end].to_string();
            rest = &r[end..];
            if name.is_empty() {
                return Err("unexpected end of JSON path".into());
            }
        } else if let Some(r) = rest.strip_prefix("['") {
            let mut end = None;
            let bytes = r.as_bytes();
            for i in 0..bytes.len() {
                if bytes[i] == b'\'' && (i == 0 || bytes[i - 1] != b'\\') {
                    end = Some(i);
                    break;
                }
            }
            let end = end.ok_or("unexpected end of JSON path")?;
            name = r[..end].replace("\\'", "'").replace("\\\\", "\\");
            rest = r[end + 1..]
                .strip_prefix(']')
                .ok_or("expected ] after the quoted name")?;
        } else {
            return Err(format!("expected [ or . but got: {rest}"));
        }
        if !node.properties.is_empty() {
            node = node
                .properties
                .get(&name)
                .ok_or("does not refer to a valid field")?;
            out = out.child(&name);
        } else if let Additional::Schema(ap) = &node.additional {
            node = ap;
            out = out.key(&name);
        } else {
            return Err("does not refer to a valid field".into());
        }
    }
    Ok(out.0)
}

/// Kubernetes' `cel.Escape` of a property name; `None` when CEL cannot reach it.
fn escape(name: &str) -> Option<String> {
    // The keywords, and the words the grammar reserves besides.
    const KEYWORDS: [&str; 4] = ["true", "false", "null", "in"];
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    if KEYWORDS.contains(&name) || RESERVED_IDENTIFIERS.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

fn key(s: &str) -> Key {
    Key::String(Arc::new(s.to_string()))
}

fn map(m: HashMap<Key, CelValue>) -> CelValue {
    CelValue::Map(Map { map: Arc::new(m) })
}

/// The value of a JSON node as the apiserver binds it: typed by the schema (number -> double,
/// date-time -> timestamp, duration -> duration, byte -> bytes), objects with properties
/// exposing only their declared fields under escaped names, resource roots exposing
/// apiVersion, kind and metadata.name/generateName.
pub(super) fn to_cel(node: Option<&Node>, v: &Value, resource_root: bool) -> CelValue {
    convert(node, v, resource_root, 0)
}

fn convert(node: Option<&Node>, v: &Value, resource_root: bool, depth: usize) -> CelValue {
    if depth > MAX_VALUE_DEPTH {
        return CelValue::Null;
    }
    let ty = node.and_then(|n| n.ty.as_deref());
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => {
            if ty == Some("number") {
                return CelValue::Float(n.as_f64().unwrap_or(0.0));
            }
            if let Some(i) = n.as_i64() {
                CelValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                CelValue::UInt(u)
            } else {
                let f = n.as_f64().unwrap_or(0.0);
                if ty == Some("integer") && f.fract() == 0.0 && f.abs() < 9.2e18 {
                    CelValue::Int(f as i64)
                } else {
                    CelValue::Float(f)
                }
            }
        }
        Value::String(s) => string_value(node, s),
        Value::Array(a) => {
            let items = node.and_then(|n| n.items.as_deref());
            let mut elems: Vec<&Value> = a.iter().collect();
            // Upstream, `==` on set and map lists ignores order; a canonical order gives the
            // same equality (at the price of indexing in that order).
            match node.and_then(|n| n.list_type.as_deref()) {
                Some("set") => elems.sort_by_cached_key(|x| super::identity(x)),
                Some("map") => {
                    let keys = node.map(|n| n.list_map_keys.as_slice()).unwrap_or_default();
                    elems.sort_by_cached_key(|x| super::list_map_key(keys, x));
                }
                _ => {}
            }
            CelValue::List(Arc::new(
                elems
                    .into_iter()
                    .map(|x| convert(items, x, items.is_some_and(|i| i.embedded), depth + 1))
                    .collect(),
            ))
        }
        Value::Object(m) => {
            let mut out = HashMap::new();
            if resource_root {
                for k in ["apiVersion", "kind"] {
                    if let Some(Value::String(s)) = m.get(k) {
                        out.insert(key(k), CelValue::String(Arc::new(s.clone())));
                    }
                }
                if let Some(Value::Object(meta)) = m.get("metadata") {
                    let mut md = HashMap::new();
                    for k in ["name", "generateName"] {
                        if let Some(Value::String(s)) = meta.get(k) {
                            md.insert(key(k), CelValue::String(Arc::new(s.clone())));
                        }
                    }
                    out.insert(key("metadata"), map(md));
                }
            }
            match node {
                Some(n) if !n.properties.is_empty() => {
                    for (k, p) in &n.properties {
                        if resource_root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
                        {
                            continue;
                        }
                        // Null in an object reads as absent (has() is false), as upstream.
                        if let (Some(x), Some(name)) =
                            (m.get(k).filter(|x| !x.is_null()), escape(k))
                        {
                            out.insert(key(&name), convert(Some(p), x, p.embedded, depth + 1));
                        }
                    }
                }
                Some(Node {
                    additional: Additional::Schema(ap),
                    ..
                }) => {
                    for (k, x) in m {
                        out.insert(key(k), convert(Some(ap), x, ap.embedded, depth + 1));
                    }
                }
                _ if resource_root => {}
                _ => {
                    for (k, x) in m {
                        out.insert(key(k), convert(None, x, false, depth + 1));
                    }
                }
            }
            map(out)
        }
    }
}

fn string_value(node: Option<&Node>, s: &str) -> CelValue {
    let format = node.and_then(|n| n.format.as_deref()).unwrap_or("");
    let as_string = || CelValue::String(Arc::new(s.to_string()));
    if node.and_then(|n| n.ty.as_deref()) != Some("string") {
        return as_string();
    }
    match format {
        "date-time" => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
                    .ok()
                    .map(|t| t.and_utc().fixed_offset())
            })
            .map_or_else(as_string, CelValue::Timestamp),
        "date" => formats::parse_date(s)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| CelValue::Timestamp(t.and_utc().fixed_offset()))
            .unwrap_or_else(as_string),
        "duration" => formats::parse_duration(s)
            .map(|ns| CelValue::Duration(chrono::Duration::nanoseconds(ns)))
            .unwrap_or_else(as_string),
        "byte" => formats::decode_base64(s)
            .map(|b| CelValue::Bytes(Arc::new(b)))
            .unwrap_or_else(as_string),
        _ => as_string(),
    }
}

/// cel-go's wording of the runtime errors CRD authors meet, which the apiserver puts in the
/// message.
fn error_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".into(),
        ExecutionError::Overflow(..) => "integer overflow".into(),
        ExecutionError::IndexOutOfBounds(i) => format!("index out of bounds: {i:?}"),
        other => other.to_string(),
    }
}

fn is_overload_error(e: &ExecutionError) -> bool {
    matches!(
        e,
        ExecutionError::NoSuchOverload(_)
            | ExecutionError::UnsupportedBinaryOperator(..)
            | ExecutionError::ValuesNotComparable(..)
            | ExecutionError::UnexpectedType { .. }
            | ExecutionError::UnsupportedTargetType { .. }
    )
}

fn execute(program: &Program, ctx: &Context) -> Result<CelValue, String> {
    match catch_unwind(AssertUnwindSafe(|| program.execute(ctx))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if is_overload_error(&e) => Err(format!(
            "'no such overload: {}': call arguments did not match a supported operator, function or macro signature",
            error_text(&e)
        )),
        Ok(Err(e)) => Err(error_text(&e)),
        Err(_) => Err("internal error: the CEL interpreter failed".into()),
    }
}

/// Where a node's rules are evaluated.
pub(super) struct Site<'a> {
    /// The correlated old value, if any.
    pub old: Option<&'a Value>,
    /// The root of the custom resource or of an embedded resource.
    pub resource_root: bool,
    pub path: &'a FPath,
    /// The apiserver would ratchet (only warn about) failures of rules without oldSelf.
    pub unchanged: bool,
}

/// Evaluates `rules` against `value` (not null), typed by `node`, appending a cause per
/// failure.
pub(super) fn eval_rules(
    rules: &[Rule],
    node: &Node,
    value: &Value,
    at: &Site,
    out: &mut Vec<FieldCause>,
) {
    let (old, resource_root, path, unchanged) = (at.old, at.resource_root, at.path, at.unchanged);
    let ty = node.ty.as_deref().unwrap_or("");
    let self_val = to_cel(Some(node), value, resource_root);
    let old_val = old.map(|o| to_cel(Some(node), o, resource_root));
    let mut ctx = Context::with_env(ENV.clone());
    ctx.add_variable_from_value("self", self_val.clone());
    if let Some(o) = &old_val {
        ctx.add_variable_from_value("oldSelf", o.clone());
    }
    // Rules with optionalOldSelf see oldSelf as an optional, set or not.
    let mut optional_ctx = None;
    for rule in rules {
        if rule.uses_old_self && old_val.is_none() && !rule.optional_old_self {
            // A transition rule needs a value to compare with: skipped on create and for
            // newly added fields.
            continue;
        }
        let result = if rule.optional_old_self {
            let octx = optional_ctx.get_or_insert_with(|| {
                let mut octx = Context::with_env(ENV.clone());
                octx.add_variable_from_value("self", self_val.clone());
                let opt = match &old_val {
                    Some(o) => OptionalValue::of(o.clone()),
                    None => OptionalValue::none(),
                };
                octx.add_variable_from_value("oldSelf", CelValue::Opaque(Arc::new(opt)));
                octx
            });
            execute(&rule.program, octx)
        } else {
            execute(&rule.program, &ctx)
        };
        let rule_text = if rule.message.trim().is_empty() {
            rule.rule.trim()
        } else {
            rule.message.trim()
        };
        match result {
            Ok(CelValue::Bool(true)) => continue,
            Ok(_) => {}
            Err(e) => {
                let detail = if e.starts_with("'no such overload") {
                    format!("{e} for rule: {rule_text}")
                } else {
                    format!("{e} evaluating rule: {rule_text}")
                };
                out.push(invalid(path, ty, &detail));
                continue;
            }
        }
        if unchanged && !rule.uses_old_self {
            // Ratcheting: an unchanged value keeps passing validation (a warning upstream).
            continue;
        }
        let detail = rule
            .message_expression
            .as_ref()
            .and_then(|p| match execute(p, &ctx) {
                Ok(CelValue::String(s)) => {
                    let s = s.trim();
                    (!s.is_empty() && !s.contains('\n') && s.len() <= MAX_MESSAGE_EXPRESSION_BYTES)
                        .then(|| s.to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| {
                if rule.message.trim().is_empty() {
                    format!("failed rule: {rule_text}")
                } else {
                    rule.message.trim().to_string()
                }
            });
        let field = if rule.field_path.is_empty() {
            path.clone()
        } else {
            path.child(&rule.field_path)
        };
        let bad = gofmt::quote(ty);
        out.push(match rule.reason.as_deref() {
            Some("FieldValueForbidden") => cause(
                "FieldValueForbidden",
                &field,
                format!("Forbidden: {detail}"),
            ),
            Some("FieldValueRequired") => cause(
                "FieldValueRequired",
                &field,
                format!("Required value: {detail}"),
            ),
            Some("FieldValueDuplicate") => cause(
                "FieldValueDuplicate",
                &field,
                format!("Duplicate value: {bad}"),
            ),
            _ => cause(
                "FieldValueInvalid",
                &field,
                format!("Invalid value: {bad}: {detail}"),
            ),
        });
    }
}

fn invalid(path: &FPath, ty: &str, detail: &str) -> FieldCause {
    cause(
        "FieldValueInvalid",
        path,
        format!("Invalid value: {}: {detail}", gofmt::quote(ty)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_like_kubernetes() {
        assert_eq!(escape("foo").as_deref(), Some("foo"));
        assert_eq!(escape("foo-bar").as_deref(), Some("foo__dash__bar"));
        assert_eq!(escape("a.b/c").as_deref(), Some("a__dot__b__slash__c"));
        assert_eq!(escape("a__b").as_deref(), Some("a__underscores__b"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(escape("1st"), None);
        assert_eq!(escape("a b"), None);
    }

    #[test]
    fn reserved_words_are_refused_as_identifiers_as_cel_go_does() {
        for rule in [
            "self.namespace == 'a'",
            "has(self.namespace)",
            "self.spec.if > 1",
            "[1].all(var, var > 0)",
        ] {
            let err = compile(rule).err().unwrap_or_default();
            assert!(err.starts_with("reserved identifier: "), "{rule}: {err:?}");
        }
        for rule in [
            "self.__namespace__ == 'namespace'",
            "has(self.__namespace__)",
            "self.namespaced == \"if else\"",
            r"self.x == r'a\' && self.y == 'for'",
            "self.n == 1e3 && self.m == 2u",
            "'''namespace ' return'''.size() > 0",
        ] {
            assert!(compile(rule).is_ok(), "{rule}: {:?}", compile(rule).err());
        }
    }

    #[test]
    fn environment_has_extensions() {
        let p = compile("'AbC'.lowerAscii() == 'abc' && [3, 1].sort() == [1, 3]").unwrap();
        let ctx = Context::with_env(ENV.clone());
        assert_eq!(execute(&p, &ctx), Ok(CelValue::Bool(true)));
    }

    #[test]
    fn env_and_programs_are_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Rule>();
        assert_send_sync::<Env>();
    }
}
