//! One request against its operation's input shape.
//!
//! A real restJson1 server first deserializes the request (a JSON value of the wrong type, a
//! query parameter that is not a number, a null inside a list: 400 SerializationException) and
//! then validates the constraints (missing required members, lengths, sizes, ranges, enums,
//! patterns), reporting every violation in one message in Coral's words:
//! `2 validation errors detected: Value at 'X' failed to satisfy constraint: ...; ...`.
//! Values are never quoted, so nothing sensitive (a Password, a name) reaches a message or
//! the call log.
//!
//! Unknown body members and query parameters are ignored, as restJson1 servers do (a newer
//! SDK may send members an older endpoint does not know; Smithy's restJson1 server protocol
//! tests refuse malformed values, never extra members).

use std::borrow::Cow;
use std::fmt::Write as _;

use axum::http::HeaderMap;
use serde_json::{Map, Value};

use super::super::errors::ApiError;
use super::super::wire::Query;
use super::load::{Kind, Location, Model, OperationShape, ShapeId};

/// The parts of a request that carry input members.
pub struct Request<'a> {
    /// Decoded URI labels in path order.
    pub labels: &'a [String],
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    pub body: &'a Map<String, Value>,
}

/// Coral lists every violation; past this many the message says how many more there are.
const LISTED: usize = 10;

pub fn check(model: &Model, op: &OperationShape, request: &Request) -> Result<(), ApiError> {
    let mut w = Walker {
        model,
        violations: Vec::new(),
        count: 0,
    };
    let Kind::Structure { members, .. } = &model.shapes[op.input].kind else {
        return Ok(());
    };
    let root = Path::Root;
    for m in members {
        let path = Path::Member(&root, &m.name);
        let value = match &m.location {
            Location::Body(json) => present(request.body.get(json.as_str())).map(Cow::Borrowed),
            Location::Uri(i) => request
                .labels
                .get(*i)
                .map(|l| Cow::Owned(Value::String(l.clone()))),
            Location::Query(key) => {
                let values = request.query.all(key);
                scalar_or_list(model, m.shape, &values, || {
                    format!("Query parameter '{key}'")
                })?
                .map(Cow::Owned)
            }
            Location::Header(name) => {
                let values: Vec<&str> = request
                    .headers
                    .get_all(name.as_str())
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(',').map(str::trim))
                    .collect();
                scalar_or_list(model, m.shape, &values, || format!("Header '{name}'"))?
                    .map(Cow::Owned)
            }
        };
        match value {
            Some(v) => w.value(m.shape, &v, &path)?,
            None if m.required => w.missing(&path),
            None => {}
        }
    }
    if w.violations.is_empty() {
        return Ok(());
    }
    let first_missing = w.violations[0].missing;
    let mut message = format!(
        "{} validation error{} detected: ",
        w.count,
        if w.count == 1 { "" } else { "s" }
    );
    for (i, v) in w.violations.iter().enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        message.push_str(&v.text);
    }
    if w.count > w.violations.len() {
        let _ = write!(message, "; and {} more", w.count - w.violations.len());
    }
    // The emulator's convention (errors.rs): a missing member makes the request invalid, a
    // broken constraint is an invalid parameter, where the operation declares that error.
    Err(if first_missing || !op.invalid_parameter {
        ApiError::invalid_request(message)
    } else {
        ApiError::invalid_parameter(message)
    })
}

/// A JSON null is an absent member.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// Query and header values as the JSON value the member's shape expects: a list takes every
/// value, anything else the first one.
fn scalar_or_list(
    model: &Model,
    shape: ShapeId,
    values: &[&str],
    what: impl Fn() -> String,
) -> Result<Option<Value>, ApiError> {
    if values.is_empty() {
        return Ok(None);
    }
    match &model.shapes[shape].kind {
        Kind::List { member, .. } => values
            .iter()
            .map(|v| scalar(model, *member, v, &what))
            .collect::<Result<Vec<_>, _>>()
            .map(|items| Some(Value::Array(items))),
        _ => scalar(model, shape, values[0], &what).map(Some),
    }
}

fn scalar(
    model: &Model,
    shape: ShapeId,
    text: &str,
    what: &impl Fn() -> String,
) -> Result<Value, ApiError> {
    let wrong = |t: &str| ApiError::serialization(format!("{} must be {t}", what()));
    Ok(match &model.shapes[shape].kind {
        Kind::Integer { .. } => Value::from(text.parse::<i64>().map_err(|_| wrong("an integer"))?),
        Kind::Float { .. } => {
            serde_json::Number::from_f64(text.parse::<f64>().map_err(|_| wrong("a number"))?)
                .map(Value::Number)
                .ok_or_else(|| wrong("a finite number"))?
        }
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        Kind::Timestamp => {
            let t = chrono::DateTime::parse_from_rfc3339(text)
                .or_else(|_| chrono::DateTime::parse_from_rfc2822(text))
                .map_err(|_| wrong("a date-time"))?;
            Value::from(t.timestamp())
        }
        _ => Value::String(text.to_string()),
    })
}

/// Where a value sits, built on the stack and rendered only for a message.
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Member(parent, name) | Path::Key(parent, name) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Path::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

struct Violation {
    missing: bool,
    text: String,
}

struct Walker<'m> {
    model: &'m Model,
    violations: Vec<Violation>,
    count: usize,
}

type Step = Result<(), ApiError>;

impl Walker<'_> {
    fn push(&mut self, missing: bool, text: impl FnOnce() -> String) {
        self.count += 1;
        if self.violations.len() < LISTED {
            self.violations.push(Violation {
                missing,
                text: text(),
            });
        }
    }

    fn missing(&mut self, path: &Path) {
        self.push(true, || {
            format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                path.render()
            )
        });
    }

    fn broken(&mut self, path: &Path, constraint: String) {
        self.push(false, || {
            format!(
                "Value at '{}' failed to satisfy constraint: {constraint}",
                path.render()
            )
        });
    }

    fn value(&mut self, id: ShapeId, v: &Value, path: &Path) -> Step {
        let shape = &self.model.shapes[id];
        match &shape.kind {
            Kind::String { .. } => {
                let s = v.as_str().ok_or_else(|| wrong_type(path, "a string"))?;
                if let Some(c) = string_constraint(&shape.kind, s) {
                    self.broken(path, c);
                }
            }
            Kind::Integer { wide, min, max } => {
                let n = v
                    .as_i64()
                    .filter(|n| *wide || i32::try_from(*n).is_ok())
                    .ok_or_else(|| wrong_type(path, "an integer"))?;
                if let Some(c) = range(n as f64, min, max) {
                    self.broken(path, c);
                }
            }
            Kind::Float { min, max } => {
                let n = v.as_f64().ok_or_else(|| wrong_type(path, "a number"))?;
                if let Some(c) = range(n, min, max) {
                    self.broken(path, c);
                }
            }
            Kind::Boolean => {
                v.as_bool().ok_or_else(|| wrong_type(path, "a boolean"))?;
            }
            Kind::Timestamp => {
                v.as_f64()
                    .ok_or_else(|| wrong_type(path, "a timestamp (epoch seconds)"))?;
            }
            Kind::Blob => {
                v.as_str()
                    .ok_or_else(|| wrong_type(path, "a base64 string"))?;
            }
            Kind::List { member, min, max } => {
                let items = v.as_array().ok_or_else(|| wrong_type(path, "a list"))?;
                if let Some(c) = size(items.len(), *min, *max) {
                    self.broken(path, c);
                }
                for (i, item) in items.iter().enumerate() {
                    let at = Path::Index(path, i);
                    if item.is_null() {
                        return Err(wrong_type(&at, "a value, not null"));
                    }
                    self.value(*member, item, &at)?;
                }
            }
            Kind::Map {
                key,
                value,
                min,
                max,
            } => {
                let entries = v.as_object().ok_or_else(|| wrong_type(path, "a map"))?;
                if let Some(c) = size(entries.len(), *min, *max) {
                    self.broken(path, c);
                }
                let key_shape = &self.model.shapes[*key];
                for (k, item) in entries {
                    if let Some(c) = string_constraint(&key_shape.kind, k) {
                        self.broken(path, format!("Map keys must satisfy constraint: [{c}]"));
                    }
                    // The key names the entry unless keys are sensitive themselves.
                    let at = if key_shape.sensitive {
                        Path::Key(path, "<key>")
                    } else {
                        Path::Key(path, k)
                    };
                    if item.is_null() {
                        return Err(wrong_type(&at, "a value, not null"));
                    }
                    self.value(*value, item, &at)?;
                }
            }
            Kind::Structure { members, union } => {
                let object = v.as_object().ok_or_else(|| wrong_type(path, "an object"))?;
                let mut set = 0;
                for m in members {
                    let Location::Body(json) = &m.location else {
                        continue;
                    };
                    let at = Path::Member(path, &m.name);
                    match present(object.get(json.as_str())) {
                        Some(item) => {
                            set += 1;
                            self.value(m.shape, item, &at)?;
                        }
                        None if m.required => self.missing(&at),
                        None => {}
                    }
                }
                if *union && set != 1 {
                    return Err(wrong_type(path, "a union with exactly one member set"));
                }
            }
        }
        Ok(())
    }
}

fn wrong_type(path: &Path, what: &str) -> ApiError {
    ApiError::serialization(format!("Member '{}' must be {what}", path.render()))
}

/// The first constraint of a string shape that `s` breaks. Lengths count characters, as
/// Smithy's length trait does.
fn string_constraint(kind: &Kind, s: &str) -> Option<String> {
    let Kind::String {
        min,
        max,
        pattern,
        enumeration,
    } = kind
    else {
        return None;
    };
    if (min.is_some() || max.is_some())
        && let Some(c) = size(s.chars().count(), *min, *max)
    {
        return Some(c);
    }
    if let Some(values) = enumeration
        && !values.iter().any(|e| e == s)
    {
        return Some(format!(
            "Member must satisfy enum value set: [{}]",
            values.join(", ")
        ));
    }
    if let Some(p) = pattern
        && !p.matches(s)
    {
        return Some(format!(
            "Member must satisfy regular expression pattern: {}",
            p.shown
        ));
    }
    None
}

/// String lengths, list and map sizes: Connect words them alike.
fn size(n: usize, min: Option<usize>, max: Option<usize>) -> Option<String> {
    if let Some(min) = min
        && n < min
    {
        return Some(format!(
            "Member must have length greater than or equal to {min}"
        ));
    }
    if let Some(max) = max
        && n > max
    {
        return Some(format!(
            "Member must have length less than or equal to {max}"
        ));
    }
    None
}

fn range(
    n: f64,
    min: &Option<super::load::Bound>,
    max: &Option<super::load::Bound>,
) -> Option<String> {
    if let Some(b) = min
        && n < b.value
    {
        return Some(format!(
            "Member must have value greater than or equal to {}",
            b.text
        ));
    }
    if let Some(b) = max
        && n > b.value
    {
        return Some(format!(
            "Member must have value less than or equal to {}",
            b.text
        ));
    }
    None
}
