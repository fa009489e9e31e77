//! The read-only catalog of an instance: DescribeInstance and the List* calls for routing
//! profiles, security profiles, hierarchy groups and contact flows.

use serde_json::{Value, json};

use super::super::arn;
use super::super::errors::ApiResult;
use super::super::paging;
use super::super::render::{self, Obj};
use super::super::state::{CatalogItem, Instance, State};
use super::super::validate;
use super::{Ctx, Outcome, listing};

/// Pages through `items` (catalog order) and renders each with `summary`.
fn list_catalog<'i>(
    ctx: &Ctx,
    listing_name: &str,
    key: &str,
    items: impl Iterator<Item = &'i CatalogItem>,
    summary: impl Fn(&CatalogItem) -> Value,
) -> ApiResult<Outcome> {
    let max = validate::max_results(ctx.query.int("maxResults")?, 100);
    let numbered = items.enumerate().map(|(i, item)| (i as u64 + 1, item));
    let page = paging::page(listing_name, numbered, ctx.query.get("nextToken"), max)?;
    let list = page.items.into_iter().map(summary).collect();
    Ok(Outcome::read(listing(key, list, page.next_token)))
}

fn summary(instance: &Instance, account: &str, kind: &str, item: &CatalogItem) -> Obj {
    Obj::new()
        .set("Id", &item.id)
        .set("Arn", instance.resource_arn(account, kind, &item.id))
        .set("Name", &item.name)
}

fn stamped(instance: &Instance, obj: Obj) -> Value {
    obj.set("LastModifiedTime", render::epoch(&instance.created))
        .set("LastModifiedRegion", &instance.region)
        .done()
}

pub fn list_routing_profiles(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let i = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let account = &ctx.limits.account;
    list_catalog(
        ctx,
        "ListRoutingProfiles",
        "RoutingProfileSummaryList",
        i.routing_profiles.iter(),
        |item| stamped(i, summary(i, account, arn::ROUTING_PROFILE, item)),
    )
}

pub fn list_security_profiles(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let i = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let account = &ctx.limits.account;
    list_catalog(
        ctx,
        "ListSecurityProfiles",
        "SecurityProfileSummaryList",
        i.security_profiles.iter(),
        |item| stamped(i, summary(i, account, arn::SECURITY_PROFILE, item)),
    )
}

pub fn list_hierarchy_groups(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let i = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let account = &ctx.limits.account;
    list_catalog(
        ctx,
        "ListUserHierarchyGroups",
        "UserHierarchyGroupSummaryList",
        i.hierarchy_groups.iter(),
        |item| stamped(i, summary(i, account, arn::AGENT_GROUP, item)),
    )
}

pub fn list_contact_flows(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let types = ctx.query.all("contactFlowTypes");
    let i = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let account = &ctx.limits.account;
    let type_of = |f: &CatalogItem| f.flow_type.clone().unwrap_or_else(|| "CONTACT_FLOW".into());
    let flows = i
        .contact_flows
        .iter()
        .filter(|f| types.is_empty() || types.contains(&type_of(f).as_str()));
    list_catalog(
        ctx,
        "ListContactFlows",
        "ContactFlowSummaryList",
        flows,
        |item| {
            summary(i, account, arn::CONTACT_FLOW, item)
                .set("ContactFlowType", type_of(item))
                .set("ContactFlowState", "ACTIVE")
                .set("ContactFlowStatus", "PUBLISHED")
                .done()
        },
    )
}

pub fn describe_instance(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let i = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let alias = i.alias_in(ctx.region());
    let instance = Obj::new()
        .set("Id", &i.id)
        .set("Arn", i.arn_in(ctx.region()))
        .set("IdentityManagementType", &i.identity_management_type)
        .set("InstanceAlias", alias)
        .set("CreatedTime", render::epoch(&i.created))
        .set(
            "ServiceRole",
            format!(
                "arn:aws:iam::{}:role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect_sim",
                i.account
            ),
        )
        .set("InstanceStatus", "ACTIVE")
        .set("InboundCallsEnabled", true)
        .set("OutboundCallsEnabled", true)
        .set("InstanceAccessUrl", format!("https://{alias}.my.connect.aws"))
        .done();
    let mut body = json!({ "Instance": instance });
    if let Some(replication) = replication(i) {
        body["ReplicationConfiguration"] = replication;
    }
    Ok(Outcome::read(body))
}

/// Global Resiliency: the same ReplicationConfiguration in the source and in every replica
/// (SourceRegion tells them apart), listing each Region's replication status. Present only for
/// a replicated instance, as the model documents.
fn replication(i: &Instance) -> Option<Value> {
    if i.replicas.is_empty() {
        return None;
    }
    let summaries: Vec<Value> = std::iter::once(&i.region)
        .chain(i.replicas.iter().map(|r| &r.region))
        .map(|region| {
            json!({
                "Region": region,
                "ReplicationStatus": "INSTANCE_REPLICATION_COMPLETE",
            })
        })
        .collect();
    Some(json!({
        "SourceRegion": i.region,
        "ReplicationStatusSummaryList": summaries,
        "GlobalSignInEndpoint": format!("https://{}.global.my.connect.aws", i.alias),
    }))
}
