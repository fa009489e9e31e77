//! Operation handlers. The request already satisfies the model's shapes (service_model checks
//! them first); each handler checks the instance, then references and the service's documented
//! rules, changes state atomically and returns the response body.

mod catalog;
mod fields;
mod proficiencies;
mod quick_connects;
mod search;
mod tags;
mod user_rules;
mod users;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::consistency;
use super::errors::{ApiError, ApiResult};
use super::routing::Operation;
use super::state::{CatalogItem, State, find};
use super::wire::{Caller, Obj, Query};

/// Service-wide settings the handlers need.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The caller's account, which owns the instance the request addresses (the front door
    /// checked): the account in the ARNs handlers make.
    pub account: String,
    pub max_users: Option<usize>,
    pub max_quick_connects: Option<usize>,
}

/// One request, parsed.
pub struct Ctx<'a> {
    pub caller: &'a Caller,
    pub labels: &'a [String],
    pub query: &'a Query,
    pub body: Obj<'a>,
    pub limits: &'a Limits,
}

impl Ctx<'_> {
    /// The `{InstanceId}` URI label (always the first label; its length is the model's).
    fn instance_label(&self) -> ApiResult<&str> {
        Ok(self.labels.first().map(String::as_str).unwrap_or_default())
    }

    /// The second URI label (`{UserId}`, `{QuickConnectId}`).
    fn id_label(&self) -> &str {
        self.labels.get(1).map(String::as_str).unwrap_or_default()
    }

    fn region(&self) -> &str {
        &self.caller.region
    }
}

/// What a successful operation produced.
pub struct Outcome {
    pub body: Value,
    /// The id of a created resource, for the call log.
    pub created: Option<String>,
}

impl Outcome {
    fn read(body: Value) -> Outcome {
        Outcome {
            body,
            created: None,
        }
    }

    fn write() -> Outcome {
        Outcome {
            body: json!({}),
            created: None,
        }
    }

    fn created(body: Value, id: String) -> Outcome {
        Outcome {
            body,
            created: Some(id),
        }
    }
}

/// Runs `op` as the caller sees the state: with the eventual-consistency model on, against the
/// versions its view shows (the handlers themselves never know).
pub fn execute(op: Operation, ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    consistency::execute(op, ctx, state, &|state| dispatch(op, ctx, state))
}

fn dispatch(op: Operation, ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    use Operation::*;
    match op {
        CreateUser => users::create(ctx, state),
        DescribeUser => users::describe(ctx, state),
        ListUsers => users::list(ctx, state),
        DeleteUser => users::delete(ctx, state),
        UpdateUserIdentityInfo => users::update_identity_info(ctx, state),
        UpdateUserPhoneConfig => users::update_phone_config(ctx, state),
        UpdateUserRoutingProfile => users::update_routing_profile(ctx, state),
        UpdateUserSecurityProfiles => users::update_security_profiles(ctx, state),
        UpdateUserHierarchy => users::update_hierarchy(ctx, state),
        UpdateUserConfig => users::update_config(ctx, state),
        SearchUsers => search::search_users(ctx, state),
        ListUserProficiencies => proficiencies::list(ctx, state),
        AssociateUserProficiencies => proficiencies::associate(ctx, state),
        UpdateUserProficiencies => proficiencies::update(ctx, state),
        DisassociateUserProficiencies => proficiencies::disassociate(ctx, state),
        CreateQuickConnect => quick_connects::create(ctx, state),
        DescribeQuickConnect => quick_connects::describe(ctx, state),
        ListQuickConnects => quick_connects::list(ctx, state),
        DeleteQuickConnect => quick_connects::delete(ctx, state),
        UpdateQuickConnectName => quick_connects::update_name(ctx, state),
        UpdateQuickConnectConfig => quick_connects::update_config(ctx, state),
        SearchQuickConnects => search::search_quick_connects(ctx, state),
        TagResource => tags::tag(ctx, state),
        UntagResource => tags::untag(ctx, state),
        ListTagsForResource => tags::list(ctx, state),
        ListRoutingProfiles => catalog::list_routing_profiles(ctx, state),
        ListSecurityProfiles => catalog::list_security_profiles(ctx, state),
        ListUserHierarchyGroups => catalog::list_hierarchy_groups(ctx, state),
        ListContactFlows => catalog::list_contact_flows(ctx, state),
        DescribeInstance => catalog::describe_instance(ctx, state),
    }
}

/// The call-log view of a request, known before it runs: instance, target and key parameters.
pub struct Trace {
    pub instance_id: Option<String>,
    pub target: Option<String>,
    pub params: BTreeMap<String, String>,
}

pub fn trace(op: Operation, labels: &[String], query: &Query, body: &Obj) -> Trace {
    use Operation::*;
    let label = |i: usize| labels.get(i).cloned();
    let (instance_id, target) = match op {
        SearchUsers | SearchQuickConnects => (
            body.opt_str("InstanceId")
                .ok()
                .flatten()
                .map(str::to_string),
            None,
        ),
        TagResource | UntagResource | ListTagsForResource => (
            label(0)
                .and_then(|a| super::arn::parse(&a))
                .map(|a| a.instance_id),
            label(0),
        ),
        _ => (label(0), label(1)),
    };
    let mut params = BTreeMap::new();
    for key in [
        "Username",
        "Name",
        "Description",
        "RoutingProfileId",
        "HierarchyGroupId",
        "MaxResults",
        "NextToken",
    ] {
        if let Ok(Some(v)) = body.opt_str(key) {
            params.insert(key.to_string(), v.to_string());
        } else if let Ok(Some(v)) = body.opt_int(key) {
            params.insert(key.to_string(), v.to_string());
        }
    }
    for key in [
        "maxResults",
        "nextToken",
        "QuickConnectTypes",
        "tagKeys",
        "contactFlowTypes",
    ] {
        let values = query.all(key);
        if !values.is_empty() {
            params.insert(key.to_string(), values.join(","));
        }
    }
    Trace {
        instance_id,
        target,
        params,
    }
}

/// A referenced catalog entry (routing profile, security profile...) must exist. A malformed id
/// is an invalid parameter; a well-formed one that names nothing is not found.
fn reference(items: &[CatalogItem], path: &str, id: &str, what: &str) -> ApiResult<()> {
    if find(items, id).is_some() {
        return Ok(());
    }
    Err(missing_reference(path, id, what))
}

fn missing_reference(path: &str, id: &str, what: &str) -> ApiError {
    if uuid::Uuid::parse_str(id).is_ok() {
        ApiError::not_found(format!("{what} not found: {id} (at '{path}')"))
    } else {
        ApiError::invalid_parameter(format!(
            "Value at '{path}' is not a valid {what} identifier"
        ))
    }
}

/// A List* response: the items under `key`, and NextToken only when there is a next page.
fn listing(key: &str, items: Vec<Value>, next_token: Option<String>) -> Value {
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), Value::Array(items));
    if let Some(token) = next_token {
        body.insert("NextToken".into(), Value::String(token));
    }
    Value::Object(body)
}
