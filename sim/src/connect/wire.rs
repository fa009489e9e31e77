//! Reading restJson1 requests: the caller, query strings with repeated keys, and a JSON body
//! reader whose errors name the member (`IdentityInfo.Mobile`, `Tags[...]`).

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::errors::{ApiError, ApiResult};

/// Who called: the verified SigV4 signer (see `aws::auth`).
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub access_key_id: String,
    /// The Region of the credential scope: where the request is served.
    pub region: String,
    /// The signer's account: the only one whose instances it sees.
    pub account: String,
    /// The signer's ARN (an IAM user or an assumed-role session).
    pub principal_arn: String,
}

impl From<crate::aws::auth::Authenticated> for Caller {
    fn from(a: crate::aws::auth::Authenticated) -> Caller {
        Caller {
            account: a.principal.account().to_string(),
            principal_arn: a.principal.arn(),
            access_key_id: a.access_key_id,
            region: a.region,
        }
    }
}

/// Query parameters in order; a key may repeat (`?tagKeys=a&tagKeys=b`).
#[derive(Clone, Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        Query(
            raw.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// An integer query parameter (`maxResults`).
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::serialization(format!("Query parameter '{key}' must be an integer"))
            }),
        }
    }
}

/// Parses the request body: empty means `{}`; anything but a JSON object is rejected.
pub fn body(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::serialization(
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::serialization(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// A JSON object being read, with its path for error messages.
#[derive(Clone)]
pub struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

/// One member value with its path; lists and maps hand these out for their elements.
pub struct Field<'a> {
    pub path: String,
    pub value: &'a Value,
}

impl<'a> Obj<'a> {
    pub fn root(map: &'a Map<String, Value>) -> Obj<'a> {
        Obj {
            path: String::new(),
            map,
        }
    }

    fn field(&self, name: &str) -> Option<Field<'a>> {
        match self.map.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Field {
                path: join(&self.path, name),
                value,
            }),
        }
    }

    fn required(&self, name: &str) -> ApiResult<Field<'a>> {
        self.field(name)
            .ok_or_else(|| ApiError::missing_member(&join(&self.path, name)))
    }

    /// The path of member `name` of this object, for messages.
    pub fn path_of(&self, name: &str) -> String {
        join(&self.path, name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.field(name).is_some()
    }

    pub fn opt_str(&self, name: &str) -> ApiResult<Option<&'a str>> {
        self.field(name).map(|f| f.str()).transpose()
    }

    pub fn req_str(&self, name: &str) -> ApiResult<&'a str> {
        self.required(name)?.str()
    }

    pub fn opt_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        self.field(name).map(|f| f.bool()).transpose()
    }

    pub fn req_bool(&self, name: &str) -> ApiResult<bool> {
        self.required(name)?.bool()
    }

    pub fn opt_int(&self, name: &str) -> ApiResult<Option<i64>> {
        self.field(name).map(|f| f.int()).transpose()
    }

    pub fn req_float(&self, name: &str) -> ApiResult<f64> {
        let f = self.required(name)?;
        f.value
            .as_f64()
            .ok_or_else(|| wrong_type(&f.path, "a number"))
    }

    pub fn opt_obj(&self, name: &str) -> ApiResult<Option<Obj<'a>>> {
        self.field(name).map(|f| f.obj()).transpose()
    }

    pub fn req_obj(&self, name: &str) -> ApiResult<Obj<'a>> {
        self.required(name)?.obj()
    }

    pub fn opt_list(&self, name: &str) -> ApiResult<Option<Vec<Field<'a>>>> {
        self.field(name).map(|f| f.list()).transpose()
    }

    pub fn req_list(&self, name: &str) -> ApiResult<Vec<Field<'a>>> {
        self.required(name)?.list()
    }

    pub fn opt_str_map(&self, name: &str) -> ApiResult<Option<BTreeMap<String, String>>> {
        let Some(f) = self.field(name) else {
            return Ok(None);
        };
        let map = f
            .value
            .as_object()
            .ok_or_else(|| wrong_type(&f.path, "an object"))?;
        map.iter()
            .map(|(k, v)| {
                let s = v
                    .as_str()
                    .ok_or_else(|| wrong_type(&format!("{}.{k}", f.path), "a string"))?;
                Ok((k.clone(), s.to_string()))
            })
            .collect::<ApiResult<_>>()
            .map(Some)
    }
}

impl<'a> Field<'a> {
    pub fn str(&self) -> ApiResult<&'a str> {
        self.value
            .as_str()
            .ok_or_else(|| wrong_type(&self.path, "a string"))
    }

    pub fn bool(&self) -> ApiResult<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| wrong_type(&self.path, "a boolean"))
    }

    pub fn int(&self) -> ApiResult<i64> {
        self.value
            .as_i64()
            .ok_or_else(|| wrong_type(&self.path, "an integer"))
    }

    pub fn obj(&self) -> ApiResult<Obj<'a>> {
        let map = self
            .value
            .as_object()
            .ok_or_else(|| wrong_type(&self.path, "an object"))?;
        Ok(Obj {
            path: self.path.clone(),
            map,
        })
    }

    pub fn list(&self) -> ApiResult<Vec<Field<'a>>> {
        let items = self
            .value
            .as_array()
            .ok_or_else(|| wrong_type(&self.path, "a list"))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Field {
                path: format!("{}[{i}]", self.path),
                value,
            })
            .collect())
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn wrong_type(path: &str, what: &str) -> ApiError {
    ApiError::serialization(format!("Member '{path}' must be {what}"))
}
