//! CreateQuickConnect, DescribeQuickConnect, ListQuickConnects, DeleteQuickConnect,
//! UpdateQuickConnectName, UpdateQuickConnectConfig.

use chrono::Utc;
use serde_json::json;

use super::super::arn;
use super::super::errors::{ApiError, ApiResult};
use super::super::model::SimQuickConnect;
use super::super::paging;
use super::super::render;
use super::super::state::{Instance, State, find};
use super::super::wire::Obj;
use super::{Ctx, Outcome, listing, missing_reference, reference};

/// The members of a QuickConnectConfig, before references are checked.
struct Target {
    kind: String,
    user_id: Option<String>,
    queue_id: Option<String>,
    phone_number: Option<String>,
    contact_flow_id: Option<String>,
}

const CONFIG_OF_TYPE: &[(&str, &str)] = &[
    ("USER", "UserConfig"),
    ("QUEUE", "QueueConfig"),
    ("PHONE_NUMBER", "PhoneConfig"),
    ("FLOW", "FlowConfig"),
];

fn target(config: &Obj) -> ApiResult<Target> {
    let kind = config.req_str("QuickConnectType")?;
    // Exactly the configuration of the chosen type.
    for (t, member) in CONFIG_OF_TYPE {
        let present = config.has(member);
        if *t == kind && !present {
            return Err(ApiError::invalid_parameter(format!(
                "'{}' is required for quick connect type {kind}",
                config.path_of(member)
            )));
        }
        if *t != kind && present {
            return Err(ApiError::invalid_parameter(format!(
                "'{}' cannot be set for quick connect type {kind}",
                config.path_of(member)
            )));
        }
    }
    let flow = |o: &Obj| -> ApiResult<String> { Ok(o.req_str("ContactFlowId")?.to_string()) };
    let mut t = Target {
        kind: kind.to_string(),
        user_id: None,
        queue_id: None,
        phone_number: None,
        contact_flow_id: None,
    };
    match kind {
        "USER" => {
            let o = config.req_obj("UserConfig")?;
            t.user_id = Some(o.req_str("UserId")?.to_string());
            t.contact_flow_id = Some(flow(&o)?);
        }
        "QUEUE" => {
            let o = config.req_obj("QueueConfig")?;
            t.queue_id = Some(o.req_str("QueueId")?.to_string());
            t.contact_flow_id = Some(flow(&o)?);
        }
        "PHONE_NUMBER" => {
            let o = config.req_obj("PhoneConfig")?;
            t.phone_number = Some(o.req_str("PhoneNumber")?.to_string());
        }
        _ => t.contact_flow_id = Some(flow(&config.req_obj("FlowConfig")?)?),
    }
    Ok(t)
}

/// The target user, queue and flow must exist; a USER (QUEUE) quick connect needs a flow of
/// type AGENT_TRANSFER (QUEUE_TRANSFER) when the flow's type is known.
fn check_target(instance: &Instance, t: &Target) -> ApiResult<()> {
    let base = "QuickConnectConfig";
    if let Some(user) = &t.user_id
        && instance.user(user).is_none()
    {
        return Err(missing_reference(
            &format!("{base}.UserConfig.UserId"),
            user,
            "User",
        ));
    }
    if let Some(queue) = &t.queue_id {
        reference(
            &instance.queues,
            &format!("{base}.QueueConfig.QueueId"),
            queue,
            "Queue",
        )?;
    }
    if let Some(flow) = &t.contact_flow_id {
        let config = match t.kind.as_str() {
            "USER" => "UserConfig",
            "QUEUE" => "QueueConfig",
            _ => "FlowConfig",
        };
        let path = format!("{base}.{config}.ContactFlowId");
        reference(&instance.contact_flows, &path, flow, "Contact flow")?;
        let wanted = match t.kind.as_str() {
            "USER" => Some("AGENT_TRANSFER"),
            "QUEUE" => Some("QUEUE_TRANSFER"),
            _ => None,
        };
        let actual = find(&instance.contact_flows, flow).and_then(|f| f.flow_type.as_deref());
        if let (Some(wanted), Some(actual)) = (wanted, actual)
            && wanted != actual
        {
            return Err(ApiError::invalid_parameter(format!(
                "'{path}' must name a flow of type {wanted}, not {actual}"
            )));
        }
    }
    Ok(())
}

pub fn create(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let b = &ctx.body;
    let name = b.req_str("Name")?;
    let description = b.opt_str("Description")?;
    let t = target(&b.req_obj("QuickConnectConfig")?)?;
    let tags = b.opt_str_map("Tags")?;
    let seq = state.next_seq();
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    check_target(instance, &t)?;
    if instance.quick_connect_by_name(name).is_some() {
        return Err(ApiError::duplicate(format!(
            "A quick connect named '{name}' already exists in the instance"
        )));
    }
    if ctx
        .limits
        .max_quick_connects
        .is_some_and(|max| instance.quick_connect_count() >= max)
    {
        return Err(ApiError::limit_exceeded(
            "The quick connects per instance quota has been reached",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let arn = instance.resource_arn(&ctx.limits.account, arn::TRANSFER_DESTINATION, &id);
    instance.insert_quick_connect(
        seq,
        SimQuickConnect {
            id: id.clone(),
            arn: arn.clone(),
            name: name.to_string(),
            description: description.map(str::to_string),
            quick_connect_type: t.kind,
            user_id: t.user_id,
            queue_id: t.queue_id,
            phone_number: t.phone_number,
            contact_flow_id: t.contact_flow_id,
            tags: tags.unwrap_or_default(),
            last_modified: Utc::now(),
            last_modified_region: ctx.region().to_string(),
        },
    );
    Ok(Outcome::created(
        json!({"QuickConnectARN": arn, "QuickConnectId": id}),
        id,
    ))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Quick connect not found: {id}"))
}

pub fn describe(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let instance = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let qc = instance
        .quick_connect(ctx.id_label())
        .ok_or_else(|| not_found(ctx.id_label()))?;
    Ok(Outcome::read(
        json!({"QuickConnect": render::quick_connect(qc)}),
    ))
}

pub fn list(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let max = super::super::validate::max_results(ctx.query.int("maxResults")?, 100);
    let types = ctx.query.all("QuickConnectTypes");
    let instance = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let matching = instance
        .quick_connects()
        .filter(|(_, q)| types.is_empty() || types.contains(&q.quick_connect_type.as_str()));
    let page = paging::page(
        "ListQuickConnects",
        matching,
        ctx.query.get("nextToken"),
        max,
    )?;
    let list = page
        .items
        .into_iter()
        .map(render::quick_connect_summary)
        .collect();
    Ok(Outcome::read(listing(
        "QuickConnectSummaryList",
        list,
        page.next_token,
    )))
}

pub fn delete(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    instance
        .remove_quick_connect(ctx.id_label())
        .ok_or_else(|| not_found(ctx.id_label()))?;
    Ok(Outcome::write())
}

/// UpdateQuickConnectName: Name and/or Description (at least one); a member left out keeps its
/// value. Names stay unique in the instance.
pub fn update_name(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let b = &ctx.body;
    let name = b.opt_str("Name")?;
    let description = b.opt_str("Description")?;
    if name.is_none() && description.is_none() {
        return Err(ApiError::invalid_request(
            "At least one of Name or Description is required",
        ));
    }
    let id = ctx.id_label().to_string();
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    if instance.quick_connect(&id).is_none() {
        return Err(not_found(&id));
    }
    if let Some(n) = name
        && instance
            .quick_connect_by_name(n)
            .is_some_and(|q| q.id != id)
    {
        return Err(ApiError::invalid_request(format!(
            "A quick connect named '{n}' already exists in the instance"
        )));
    }
    let qc = instance
        .quick_connect_mut(&id)
        .ok_or_else(|| not_found(&id))?;
    if let Some(n) = name {
        qc.name = n.to_string();
    }
    if let Some(d) = description {
        qc.description = Some(d.to_string());
    }
    qc.last_modified = Utc::now();
    qc.last_modified_region = ctx.region().to_string();
    Ok(Outcome::write())
}

/// UpdateQuickConnectConfig: the whole QuickConnectConfig, checked as on creation.
pub fn update_config(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let t = target(&ctx.body.req_obj("QuickConnectConfig")?)?;
    let id = ctx.id_label().to_string();
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    if instance.quick_connect(&id).is_none() {
        return Err(not_found(&id));
    }
    check_target(instance, &t)?;
    let qc = instance
        .quick_connect_mut(&id)
        .ok_or_else(|| not_found(&id))?;
    qc.quick_connect_type = t.kind;
    qc.user_id = t.user_id;
    qc.queue_id = t.queue_id;
    qc.phone_number = t.phone_number;
    qc.contact_flow_id = t.contact_flow_id;
    qc.last_modified = Utc::now();
    qc.last_modified_region = ctx.region().to_string();
    Ok(Outcome::write())
}
