//! Reads the vendored model and compiles the input shapes of the served operations into an
//! arena of [`Shape`]s: constraints parsed, patterns compiled, members resolved to indices
//! (the search criteria are recursive, so shapes refer to each other by index).

use std::collections::HashMap;
use std::io::Read;

use serde_json::{Map, Value};

use super::super::routing::{self, Operation};
use super::pattern::Pattern;

/// botocore's `service-2.json` for Connect, unchanged (see `sim/aws-models/NOTICE`).
const MODEL_GZ: &[u8] = include_bytes!("../../../aws-models/connect-2017-08-08.service-2.json.gz");

pub type ShapeId = usize;

#[derive(Debug)]
pub struct Shape {
    /// The model's shape name (`AgentUsername`), for Debug output and the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub name: String,
    pub kind: Kind,
    /// `"sensitive": true`: the value never appears in a message.
    pub sensitive: bool,
}

/// An inclusive numeric bound with the model's own spelling of it (`1.0`), for messages.
#[derive(Debug, Clone)]
pub struct Bound {
    pub value: f64,
    pub text: String,
}

#[derive(Debug)]
pub enum Kind {
    String {
        min: Option<usize>,
        max: Option<usize>,
        pattern: Option<Pattern>,
        enumeration: Option<Vec<String>>,
    },
    /// `integer` (32 bits) and `long` (64 bits).
    Integer {
        wide: bool,
        min: Option<Bound>,
        max: Option<Bound>,
    },
    /// `float` and `double`.
    Float {
        min: Option<Bound>,
        max: Option<Bound>,
    },
    Boolean,
    Timestamp,
    Blob,
    List {
        member: ShapeId,
        min: Option<usize>,
        max: Option<usize>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        min: Option<usize>,
        max: Option<usize>,
    },
    Structure {
        members: Vec<Member>,
        union: bool,
    },
}

#[derive(Debug)]
pub struct Member {
    /// The member name: what messages call it.
    pub name: String,
    pub shape: ShapeId,
    pub required: bool,
    pub location: Location,
}

/// Where a restJson1 request carries a member.
#[derive(Debug, PartialEq, Eq)]
pub enum Location {
    /// A JSON body member, under its `jsonName` or else its member name.
    Body(String),
    /// The n-th `{label}` of the request URI.
    Uri(usize),
    /// A query parameter (`locationName`); a list repeats the key.
    Query(String),
    Header(String),
}

/// An operation's input and what it may answer.
#[derive(Debug)]
pub struct OperationShape {
    pub input: ShapeId,
    /// Whether the operation declares InvalidParameterException (DescribeInstance does not).
    pub invalid_parameter: bool,
}

#[derive(Debug)]
pub struct Model {
    pub shapes: Vec<Shape>,
    /// Indexed like [`Operation::ALL`].
    pub operations: Vec<OperationShape>,
}

impl Model {
    pub fn operation(&self, op: Operation) -> &OperationShape {
        let i = Operation::ALL
            .iter()
            .position(|o| *o == op)
            .expect("every Operation is in Operation::ALL");
        &self.operations[i]
    }
}

/// Decodes and compiles the vendored model.
pub fn load() -> Result<Model, String> {
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(MODEL_GZ)
        .read_to_end(&mut text)
        .map_err(|e| format!("the vendored model does not decompress: {e}"))?;
    let raw: Value = serde_json::from_slice(&text).map_err(|e| format!("model JSON: {e}"))?;
    compile(&raw)
}

/// Compiles the input shapes of every served operation of `raw` (a botocore service model).
pub fn compile(raw: &Value) -> Result<Model, String> {
    let shapes = raw
        .get("shapes")
        .and_then(Value::as_object)
        .ok_or("model has no shapes")?;
    let operations = raw
        .get("operations")
        .and_then(Value::as_object)
        .ok_or("model has no operations")?;
    let mut c = Compiler {
        raw: shapes,
        ids: HashMap::new(),
        shapes: Vec::new(),
    };
    let mut ops = Vec::new();
    for op in Operation::ALL {
        let def = operations
            .get(op.name())
            .ok_or_else(|| format!("the model has no operation {}", op.name()))?;
        let http = def.get("http").ok_or("operation without http")?;
        let request_uri = str_of(http, "requestUri")?.to_string();
        let labels = uri_labels(&request_uri);
        let input_name = def
            .pointer("/input/shape")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{} has no input", op.name()))?;
        let input = c.shape(input_name, &labels)?;
        // The model's HTTP binding must be the emulator's route, or members would be read
        // from the wrong labels.
        let method = str_of(http, "method")?;
        let mut sample = request_uri
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        for (i, label) in labels.iter().enumerate() {
            sample = sample
                .replace(&format!("{{{label}}}"), &format!("label{i}"))
                .replace(&format!("{{{label}+}}"), &format!("label{i}"));
        }
        match routing::route(method, &sample) {
            Some(r) if r.operation == *op => {}
            other => {
                return Err(format!(
                    "{}: the model binds {method} {request_uri}, which the emulator routes to {:?}",
                    op.name(),
                    other.map(|r| r.operation)
                ));
            }
        }
        let invalid_parameter = def
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|e| {
                e.iter().any(|e| {
                    e.get("shape").and_then(Value::as_str) == Some("InvalidParameterException")
                })
            });
        ops.push(OperationShape {
            input,
            invalid_parameter,
        });
    }
    Ok(Model {
        shapes: c.shapes,
        operations: ops,
    })
}

/// `{InstanceId}` and `{Key+}` labels of a request URI, in order.
pub fn uri_labels(uri: &str) -> Vec<String> {
    let path = uri.split('?').next().unwrap_or_default();
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|l| l.trim_end_matches('+').to_string())
        .collect()
}

fn str_of<'v>(v: &'v Value, key: &str) -> Result<&'v str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {key}"))
}

struct Compiler<'m> {
    raw: &'m Map<String, Value>,
    ids: HashMap<String, ShapeId>,
    shapes: Vec<Shape>,
}

impl Compiler<'_> {
    /// The id of shape `name`, compiling it (and what it refers to) on first use. `labels`
    /// are the URI labels when `name` is an operation's input, else empty.
    fn shape(&mut self, name: &str, labels: &[String]) -> Result<ShapeId, String> {
        if let Some(id) = self.ids.get(name) {
            return Ok(*id);
        }
        let def = self
            .raw
            .get(name)
            .ok_or_else(|| format!("unknown shape {name}"))?;
        let id = self.shapes.len();
        // A placeholder first: recursive shapes (UserSearchCriteria) find their own id.
        self.ids.insert(name.to_string(), id);
        self.shapes.push(Shape {
            name: name.to_string(),
            kind: Kind::Boolean,
            sensitive: false,
        });
        let kind = self
            .kind(name, def, labels)
            .map_err(|e| format!("shape {name}: {e}"))?;
        self.shapes[id].kind = kind;
        self.shapes[id].sensitive = def.get("sensitive").and_then(Value::as_bool) == Some(true);
        Ok(id)
    }

    fn kind(&mut self, name: &str, def: &Value, labels: &[String]) -> Result<Kind, String> {
        let size = |key: &str| -> Result<Option<usize>, String> {
            match def.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| format!("{key} is not a count: {v}")),
            }
        };
        let bound = |key: &str| -> Result<Option<Bound>, String> {
            match def.get(key) {
                None => Ok(None),
                Some(Value::Number(n)) => Ok(Some(Bound {
                    value: n.as_f64().ok_or("bound out of range")?,
                    text: n.to_string(),
                })),
                Some(v) => Err(format!("{key} is not a number: {v}")),
            }
        };
        let target = |v: Option<&Value>| -> Result<String, String> {
            v.and_then(|m| m.get("shape"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| "a member without a shape".to_string())
        };
        Ok(match str_of(def, "type")? {
            "string" => Kind::String {
                min: size("min")?,
                max: size("max")?,
                pattern: def
                    .get("pattern")
                    .and_then(Value::as_str)
                    .map(Pattern::compile)
                    .transpose()?,
                enumeration: def.get("enum").and_then(Value::as_array).map(|values| {
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                }),
            },
            t @ ("integer" | "long") => Kind::Integer {
                wide: t == "long",
                min: bound("min")?,
                max: bound("max")?,
            },
            "float" | "double" => Kind::Float {
                min: bound("min")?,
                max: bound("max")?,
            },
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            "list" => {
                let member = target(def.get("member"))?;
                Kind::List {
                    member: self.shape(&member, &[])?,
                    min: size("min")?,
                    max: size("max")?,
                }
            }
            "map" => {
                let key = target(def.get("key"))?;
                let value = target(def.get("value"))?;
                Kind::Map {
                    key: self.shape(&key, &[])?,
                    value: self.shape(&value, &[])?,
                    min: size("min")?,
                    max: size("max")?,
                }
            }
            "structure" => {
                if def.get("payload").is_some() {
                    return Err("an HTTP payload member is not supported".into());
                }
                let required: Vec<&str> = def
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut members = Vec::new();
                let empty = Map::new();
                let raw_members = def
                    .get("members")
                    .and_then(Value::as_object)
                    .unwrap_or(&empty);
                for (member, m) in raw_members {
                    let location = location(member, m, labels)?;
                    let shape = self.shape(&target(Some(m))?, &[])?;
                    members.push(Member {
                        name: member.clone(),
                        shape,
                        required: required.contains(&member.as_str()),
                        location,
                    });
                }
                Kind::Structure {
                    members,
                    union: def.get("union").and_then(Value::as_bool) == Some(true),
                }
            }
            other => return Err(format!("{name}: type {other} is not supported")),
        })
    }
}

fn location(member: &str, m: &Value, labels: &[String]) -> Result<Location, String> {
    let wire = || {
        m.get("locationName")
            .and_then(Value::as_str)
            .unwrap_or(member)
            .to_string()
    };
    match m.get("location").and_then(Value::as_str) {
        None => {
            let json = m.get("jsonName").and_then(Value::as_str).unwrap_or(member);
            Ok(Location::Body(json.to_string()))
        }
        Some("uri") => {
            let name = wire();
            labels
                .iter()
                .position(|l| *l == name)
                .map(Location::Uri)
                .ok_or_else(|| format!("{member}: no {{{name}}} label in the request URI"))
        }
        Some("querystring") => Ok(Location::Query(wire())),
        Some("header") => Ok(Location::Header(wire())),
        Some(other) => Err(format!("{member}: location {other} is not supported")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_order() {
        assert_eq!(
            uri_labels("/users/{InstanceId}/{UserId}/proficiencies"),
            vec!["InstanceId", "UserId"]
        );
        assert_eq!(uri_labels("/tags/{resourceArn}"), vec!["resourceArn"]);
        assert!(uri_labels("/search-users").is_empty());
    }

    #[test]
    fn unsupported_model_features_are_load_errors() {
        use crate::connect::routing::Operation;
        // A tiny model whose every operation uses the same input with a header-prefix member.
        let mut operations = Map::new();
        for op in Operation::ALL {
            operations.insert(
                op.name().to_string(),
                serde_json::json!({"http": {"method": "GET", "requestUri": "/"}, "input": {"shape": "In"}}),
            );
        }
        let raw = serde_json::json!({
            "operations": operations,
            "shapes": {
                "In": {"type": "structure", "members": {"H": {"shape": "M", "location": "headers"}}},
                "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}},
                "S": {"type": "string"}
            }
        });
        let e = compile(&raw).unwrap_err();
        assert!(e.contains("location headers is not supported"), "{e}");
    }

    #[test]
    fn a_binding_the_emulator_does_not_route_is_a_load_error() {
        let mut raw = serde_json::from_slice::<Value>(&{
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(MODEL_GZ)
                .read_to_end(&mut text)
                .unwrap();
            text
        })
        .unwrap();
        raw["operations"]["DeleteUser"]["http"]["method"] = "GET".into();
        let e = compile(&raw).unwrap_err();
        assert!(
            e.contains("DeleteUser: the model binds GET /users/{InstanceId}/{UserId}, which the emulator routes to Some(DescribeUser)"),
            "{e}"
        );
    }
}
