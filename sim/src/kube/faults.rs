//! Fault injection (fail the next N matching requests, added latency) and the request log that
//! tests use to check RBAC covers exactly what the operator does.

use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    /// get, list, watch, create, update, patch, delete, deletecollection; "" for non-resource URLs.
    pub verb: String,
    /// API group, "" for core (and for non-resource URLs).
    pub api_group: String,
    pub api_version: String,
    /// Plural resource name, "" for non-resource URLs.
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub status: u16,
    /// Request Content-Type (the patch type for PATCH).
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
}

struct Rule {
    method: String,
    path_contains: String,
    remaining: usize,
    status: u16,
}

#[derive(Default)]
pub struct Faults {
    rules: Vec<Rule>,
    pub latency: Duration,
    pub requests: Vec<RequestRecord>,
}

impl Faults {
    pub fn add(&mut self, method: &str, path_contains: &str, n: usize, status: u16) {
        if n > 0 {
            self.rules.push(Rule {
                method: method.to_uppercase(),
                path_contains: path_contains.into(),
                remaining: n,
                status,
            });
        }
    }

    /// Disarms every pending failure rule (latency and the request log stay).
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The status to fail this request with, consuming one use of the first matching rule.
    pub fn take(&mut self, method: &str, path_and_query: &str) -> Option<u16> {
        let rule = self.rules.iter_mut().find(|r| {
            (r.method.is_empty() || r.method == "*" || r.method == method)
                && path_and_query.contains(&r.path_contains)
        })?;
        rule.remaining -= 1;
        let status = rule.status;
        self.rules.retain(|r| r.remaining > 0);
        Some(status)
    }
}
