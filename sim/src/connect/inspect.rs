//! Test inspection over HTTP, outside the AWS paths (no auth, no quota, not logged):
//! `GET /_sim/calls`, `POST /_sim/reset-calls`, `GET /_sim/state`, `GET /_sim/stale-reads`,
//! `POST /_sim/reset-stale-reads`.

use serde_json::{Value, json};

use super::render;
use super::server::Shared;
use super::state::{CatalogItem, State};

pub fn handle(shared: &Shared, method: &str, path: &str) -> (u16, Value) {
    match (method, path) {
        ("GET", "calls") => (
            200,
            Value::Array(shared.calls.all().iter().map(|c| c.to_json()).collect()),
        ),
        ("POST", "reset-calls") => {
            shared.calls.clear();
            (200, json!({}))
        }
        ("GET", "state") => (200, state_json(&shared.state())),
        ("GET", "stale-reads") => (200, shared.state().visibility.stale_reads_json()),
        ("POST", "reset-stale-reads") => {
            shared.state().visibility.reset_stale_reads();
            (200, json!({}))
        }
        _ => (
            404,
            json!({"message": format!("no inspection endpoint {method} /_sim/{path}")}),
        ),
    }
}

fn catalog(items: &[CatalogItem]) -> Value {
    items
        .iter()
        .map(|i| json!({"Id": i.id, "Name": i.name, "Type": i.flow_type}))
        .collect()
}

/// The whole authoritative state: users as DescribeUser shows them (plus proficiencies; never
/// passwords) and quick connects as DescribeQuickConnect shows them; and the consistency
/// model's settings and stale-read counts.
pub fn state_json(state: &State) -> Value {
    let instances: Vec<Value> = state
        .instances()
        .map(|i| {
            let users: Vec<Value> = i
                .users()
                .map(|(_, u)| {
                    let mut v = render::user(u);
                    v["Proficiencies"] = json!(u.proficiencies);
                    v["HasPassword"] = json!(u.password.is_some());
                    v
                })
                .collect();
            let quick_connects: Vec<Value> = i
                .quick_connects()
                .map(|(_, q)| render::quick_connect(q))
                .collect();
            json!({
                "Id": i.id,
                "Account": i.account,
                "Alias": i.alias,
                "IdentityManagementType": i.identity_management_type,
                "Region": i.region,
                "ReplicaRegions": i.replicas.iter().map(|r| r.region.clone()).collect::<Vec<_>>(),
                "RoutingProfiles": catalog(&i.routing_profiles),
                "SecurityProfiles": catalog(&i.security_profiles),
                "HierarchyGroups": catalog(&i.hierarchy_groups),
                "ContactFlows": catalog(&i.contact_flows),
                "Queues": catalog(&i.queues),
                "Users": users,
                "QuickConnects": quick_connects,
            })
        })
        .collect();
    json!({
        "Instances": instances,
        "Consistency": state.visibility.to_json(),
    })
}
