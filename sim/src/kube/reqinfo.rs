//! Turns a request path and query string into what the apiserver's RequestInfoFactory derives:
//! which endpoint, which resource, namespace, name, subresource and verb.

use std::collections::HashMap;

/// Decoded query parameters (last value wins, like Go's `Query().Get`).
#[derive(Debug, Default, Clone)]
pub struct Query(pub HashMap<String, String>);

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut map = HashMap::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.insert(decode(k), decode(v));
        }
        Query(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Non-empty value of a parameter.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true") | Some("1") | Some("True"))
    }
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A request aimed at a resource (as opposed to discovery or OpenAPI).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The deprecated `/watch/` path prefix was used.
    pub watch_prefix: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    Health,
    /// `/api`
    LegacyVersions,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    GroupVersion {
        group: String,
        version: String,
    },
    OpenApiV3Index,
    /// `/openapi/v3/{api/v1 | apis/g/v}`
    OpenApiV3Doc(String),
    OpenApiV2,
    Resource(ResourcePath),
    Unknown,
}

/// Subresources of a namespace that must not be mistaken for a namespaced resource name.
const NAMESPACE_SUBRESOURCES: [&str; 2] = ["status", "finalize"];

pub fn route(path: &str) -> Route {
    let trimmed = path.trim_matches('/');
    let parts: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    match parts.as_slice() {
        ["version"] => Route::Version,
        ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
        ["api"] => Route::LegacyVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["openapi", "v3"] => Route::OpenApiV3Index,
        ["openapi", "v3", rest @ ..] if !rest.is_empty() => Route::OpenApiV3Doc(rest.join("/")),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["api", v] => Route::GroupVersion {
            group: String::new(),
            version: v.to_string(),
        },
        ["apis", g, v] => Route::GroupVersion {
            group: g.to_string(),
            version: v.to_string(),
        },
        ["api", v, rest @ ..] => resource_route("", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(g, v, rest),
        _ => Route::Unknown,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut parts: Vec<String> = rest.iter().map(|p| decode_segment(p)).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Route::Unknown;
    }
    let mut rp = ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        ..Default::default()
    };
    if parts.first().map(String::as_str) == Some("watch") {
        rp.watch_prefix = true;
        parts.remove(0);
    }
    if parts.first().map(String::as_str) == Some("namespaces") && parts.len() > 1 {
        rp.namespace = Some(parts[1].clone());
        if parts.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&parts[2].as_str()) {
            parts.drain(0..2);
        } else {
            // `/api/v1/namespaces/{name}[/status]` addresses the namespace object itself.
            rp.resource = "namespaces".into();
            rp.name = Some(parts[1].clone());
            rp.subresource = parts.get(2).cloned();
            rp.namespace = None;
            if parts.len() > 3 {
                return Route::Unknown;
            }
            return Route::Resource(rp);
        }
    }
    match parts.len() {
        1 => rp.resource = parts[0].clone(),
        2 => {
            rp.resource = parts[0].clone();
            rp.name = Some(parts[1].clone());
        }
        3 => {
            rp.resource = parts[0].clone();
            rp.name = Some(parts[1].clone());
            rp.subresource = Some(parts[2].clone());
        }
        _ => return Route::Unknown,
    }
    Route::Resource(rp)
}

fn decode_segment(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The Kubernetes verb for a resource request (what RBAC rules are written against).
pub fn verb(method: &str, rp: &ResourcePath, query: &Query) -> &'static str {
    match method {
        "GET" | "HEAD" => {
            if rp.watch_prefix || query.flag("watch") {
                "watch"
            } else if rp.name.is_some() {
                "get"
            } else {
                "list"
            }
        }
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" => {
            if rp.name.is_some() {
                "delete"
            } else {
                "deletecollection"
            }
        }
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let Route::Resource(r) =
            route("/apis/connect.userops.dev/v1alpha1/namespaces/ns1/connectusers/a/status")
        else {
            panic!()
        };
        assert_eq!(r.namespace.as_deref(), Some("ns1"));
        assert_eq!(r.resource, "connectusers");
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let Route::Resource(r) = route("/api/v1/namespaces/foo") else {
            panic!()
        };
        assert_eq!(
            (r.resource.as_str(), r.name.as_deref(), r.namespace.clone()),
            ("namespaces", Some("foo"), None)
        );
        let Route::Resource(r) = route("/api/v1/namespaces/foo/status") else {
            panic!()
        };
        assert_eq!(r.subresource.as_deref(), Some("status"));
        let Route::Resource(r) = route("/api/v1/namespaces/foo/secrets") else {
            panic!()
        };
        assert_eq!(
            (r.resource.as_str(), r.namespace.as_deref(), r.name.clone()),
            ("secrets", Some("foo"), None)
        );
        assert_eq!(route("/api/v1/a/b/c/d"), Route::Unknown);
        assert_eq!(
            route("/apis/g/v"),
            Route::GroupVersion {
                group: "g".into(),
                version: "v".into()
            }
        );
    }
}
