//! CreateUser, DescribeUser, ListUsers, DeleteUser and the UpdateUser* operations.

use chrono::Utc;
use serde_json::json;

use super::super::arn;
use super::super::errors::{ApiError, ApiResult};
use super::super::model::{AfterContactWorkConfig, AfterContactWorkConfigPerChannel, SimUser};
use super::super::paging;
use super::super::render;
use super::super::state::{Instance, State};
use super::super::validate;
use super::fields::{self, ChannelConfigs};
use super::{Ctx, Outcome, listing, reference};

pub fn create(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let b = &ctx.body;
    let username = b.req_str("Username")?;
    let password = b.opt_str("Password")?;
    let identity = b
        .opt_obj("IdentityInfo")?
        .map(|o| fields::identity(&o))
        .transpose()?;
    let phone = b
        .opt_obj("PhoneConfig")?
        .map(|o| fields::phone(&o))
        .transpose()?;
    let directory_user_id = b.opt_str("DirectoryUserId")?;
    let security_profile_ids = fields::security_profile_ids(b)?;
    let routing_profile_id = b.req_str("RoutingProfileId")?;
    let hierarchy_group_id = b.opt_str("HierarchyGroupId")?;
    let configs = fields::channel_configs(b)?;
    let tags = b.opt_str_map("Tags")?;
    let instance_id = ctx.instance_label()?;
    let seq = state.next_seq();
    let instance = state.instance_in_mut(instance_id, ctx.region())?;

    identity_management_rules(
        &instance.identity_management_type,
        password.is_some(),
        directory_user_id.is_some(),
    )?;
    if let Some(info) = &identity {
        fields::identity_rules(&instance.identity_management_type, info, "IdentityInfo")?;
    }
    check_references(
        instance,
        Some(routing_profile_id),
        Some(&security_profile_ids),
        hierarchy_group_id,
    )?;
    if instance.user_by_name(username).is_some() {
        return Err(ApiError::duplicate(format!(
            "A user with username '{username}' already exists in the instance"
        )));
    }
    if ctx
        .limits
        .max_users
        .is_some_and(|max| instance.user_count() >= max)
    {
        return Err(ApiError::limit_exceeded(
            "The users per instance quota has been reached",
        ));
    }

    let id = uuid::Uuid::new_v4().to_string();
    let arn = instance.resource_arn(&ctx.limits.account, arn::AGENT, &id);
    let ChannelConfigs {
        auto_accept,
        after_contact_work,
        phone_number,
        persistent_connection,
        voice_enhancement,
    } = configs;
    let user = SimUser {
        id: id.clone(),
        arn: arn.clone(),
        username: username.to_string(),
        password: password.map(str::to_string),
        directory_user_id: directory_user_id.map(str::to_string),
        identity_info: identity,
        phone_config: Some(phone.unwrap_or_else(fields::default_phone)),
        security_profile_ids,
        routing_profile_id: routing_profile_id.to_string(),
        hierarchy_group_id: hierarchy_group_id.map(str::to_string),
        tags: tags.unwrap_or_default(),
        auto_accept_configs: auto_accept.unwrap_or_default(),
        after_contact_work_configs: after_contact_work.unwrap_or_default(),
        phone_number_configs: phone_number.unwrap_or_default(),
        persistent_connection_configs: persistent_connection.unwrap_or_default(),
        voice_enhancement_configs: voice_enhancement.unwrap_or_default(),
        proficiencies: Vec::new(),
        last_modified: Utc::now(),
        last_modified_region: ctx.region().to_string(),
    };
    instance.insert_user(seq, user);
    Ok(Outcome::created(json!({"UserId": id, "UserArn": arn}), id))
}

/// Password and DirectoryUserId depend on how the instance manages identities (CreateUser
/// documentation): a password only and always with CONNECT_MANAGED, a directory user id only
/// with EXISTING_DIRECTORY.
fn identity_management_rules(idm: &str, password: bool, directory_user_id: bool) -> ApiResult<()> {
    if idm == "CONNECT_MANAGED" && !password {
        return Err(ApiError::invalid_parameter(
            "'Password' is required for an instance that uses Connect for identity management",
        ));
    }
    if idm != "CONNECT_MANAGED" && password {
        return Err(ApiError::invalid_parameter(format!(
            "'Password' cannot be set for an instance whose identity management type is {idm}"
        )));
    }
    if idm != "EXISTING_DIRECTORY" && directory_user_id {
        return Err(ApiError::invalid_parameter(format!(
            "'DirectoryUserId' cannot be set for an instance whose identity management type is {idm}"
        )));
    }
    Ok(())
}

fn check_references(
    instance: &Instance,
    routing_profile: Option<&str>,
    security_profiles: Option<&[String]>,
    hierarchy_group: Option<&str>,
) -> ApiResult<()> {
    if let Some(id) = routing_profile {
        reference(
            &instance.routing_profiles,
            "RoutingProfileId",
            id,
            "Routing profile",
        )?;
    }
    for (i, id) in security_profiles.unwrap_or_default().iter().enumerate() {
        reference(
            &instance.security_profiles,
            &format!("SecurityProfileIds[{i}]"),
            id,
            "Security profile",
        )?;
    }
    if let Some(id) = hierarchy_group {
        reference(
            &instance.hierarchy_groups,
            "HierarchyGroupId",
            id,
            "Hierarchy group",
        )?;
    }
    Ok(())
}

pub(super) fn user_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("User not found: {id}"))
}

/// The addressed instance and user, for reading.
pub(super) fn lookup<'s>(ctx: &Ctx, state: &'s State) -> ApiResult<(&'s Instance, &'s SimUser)> {
    let instance = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let user = instance
        .user(ctx.id_label())
        .ok_or_else(|| user_not_found(ctx.id_label()))?;
    Ok((instance, user))
}

/// Checks with `check` (which sees the instance's catalog), then changes the user with `apply`
/// and stamps the modification.
pub(super) fn modify(
    ctx: &Ctx,
    state: &mut State,
    check: impl FnOnce(&Instance, &SimUser) -> ApiResult<()>,
    apply: impl FnOnce(&mut SimUser),
) -> ApiResult<Outcome> {
    let (instance, user) = lookup(ctx, state)?;
    check(instance, user)?;
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    let user = instance
        .user_mut(ctx.id_label())
        .ok_or_else(|| user_not_found(ctx.id_label()))?;
    apply(user);
    user.last_modified = Utc::now();
    user.last_modified_region = ctx.region().to_string();
    Ok(Outcome::write())
}

pub fn describe(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let (_, user) = lookup(ctx, state)?;
    Ok(Outcome::read(json!({"User": render::user(user)})))
}

pub fn list(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let max = validate::max_results(ctx.query.int("maxResults")?, 100);
    let instance = state.instance_in(ctx.instance_label()?, ctx.region())?;
    let page = paging::page(
        "ListUsers",
        instance.users(),
        ctx.query.get("nextToken"),
        max,
    )?;
    let list = page.items.into_iter().map(render::user_summary).collect();
    Ok(Outcome::read(listing(
        "UserSummaryList",
        list,
        page.next_token,
    )))
}

pub fn delete(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let instance = state.instance_in_mut(ctx.instance_label()?, ctx.region())?;
    // Quick connects that point at the user are left dangling, as in Connect.
    instance
        .remove_user(ctx.id_label())
        .ok_or_else(|| user_not_found(ctx.id_label()))?;
    Ok(Outcome::write())
}

pub fn update_identity_info(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let info = fields::identity(&ctx.body.req_obj("IdentityInfo")?)?;
    modify(
        ctx,
        state,
        |instance, user| {
            let idm = instance.identity_management_type.as_str();
            fields::identity_rules(idm, &info, "IdentityInfo")?;
            if idm == "EXISTING_DIRECTORY" {
                // The directory owns names and email: Connect refuses to change them.
                let old = user.identity_info.clone().unwrap_or_default();
                for (name, new, old) in [
                    ("FirstName", &info.first_name, &old.first_name),
                    ("LastName", &info.last_name, &old.last_name),
                    ("Email", &info.email, &old.email),
                ] {
                    if new.is_some() && new != old {
                        return Err(ApiError::invalid_request(format!(
                            "'IdentityInfo.{name}' is managed by the directory and cannot be updated"
                        )));
                    }
                }
            }
            Ok(())
        },
        |user| user.identity_info = Some(info.clone()),
    )
}

pub fn update_phone_config(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let phone = fields::phone(&ctx.body.req_obj("PhoneConfig")?)?;
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| {
            // "UpdateUserPhoneConfig applies the same ACW timeout to all channels" (API
            // reference of UpdateUserConfig): every channel's limit becomes this one.
            let limit = phone.after_contact_work_time_limit;
            let per_channel = validate::CHANNELS
                .iter()
                .map(|c| {
                    let old = user
                        .after_contact_work_configs
                        .iter()
                        .find(|a| a.channel == *c);
                    AfterContactWorkConfigPerChannel {
                        channel: c.to_string(),
                        after_contact_work_config: AfterContactWorkConfig {
                            after_contact_work_time_limit: limit,
                        },
                        agent_first_callback_after_contact_work_config: old
                            .and_then(|a| a.agent_first_callback_after_contact_work_config.clone()),
                    }
                })
                .collect();
            merge(
                &mut user.after_contact_work_configs,
                Some(per_channel),
                |c| c.channel.clone(),
            );
            user.phone_config = Some(phone);
        },
    )
}

pub fn update_routing_profile(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let id = ctx.body.req_str("RoutingProfileId")?.to_string();
    modify(
        ctx,
        state,
        |instance, _| check_references(instance, Some(&id), None, None),
        |user| user.routing_profile_id = id.clone(),
    )
}

pub fn update_security_profiles(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let ids = fields::security_profile_ids(&ctx.body)?;
    modify(
        ctx,
        state,
        |instance, _| check_references(instance, None, Some(&ids), None),
        |user| user.security_profile_ids = ids.clone(),
    )
}

pub fn update_hierarchy(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    // No HierarchyGroupId removes the user from its group.
    let id = ctx.body.opt_str("HierarchyGroupId")?.map(str::to_string);
    modify(
        ctx,
        state,
        |instance, _| check_references(instance, None, None, id.as_deref()),
        |user| user.hierarchy_group_id = id.clone(),
    )
}

pub fn update_config(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let configs = fields::channel_configs(&ctx.body)?;
    if configs.is_empty() {
        return Err(ApiError::invalid_request(
            "At least one of AutoAcceptConfigs, AfterContactWorkConfigs, PhoneNumberConfigs, \
             PersistentConnectionConfigs or VoiceEnhancementConfigs is required",
        ));
    }
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| {
            // Each given entry replaces the user's entry for that channel; other channels stay.
            merge(&mut user.auto_accept_configs, configs.auto_accept, |c| {
                c.channel.clone()
            });
            merge(
                &mut user.after_contact_work_configs,
                configs.after_contact_work,
                |c| c.channel.clone(),
            );
            merge(&mut user.phone_number_configs, configs.phone_number, |c| {
                c.channel.clone()
            });
            merge(
                &mut user.persistent_connection_configs,
                configs.persistent_connection,
                |c| c.channel.clone(),
            );
            merge(
                &mut user.voice_enhancement_configs,
                configs.voice_enhancement,
                |c| c.channel.clone(),
            );
        },
    )
}

fn merge<T>(current: &mut Vec<T>, given: Option<Vec<T>>, channel: impl Fn(&T) -> String) {
    for item in given.unwrap_or_default() {
        match current.iter_mut().find(|c| channel(c) == channel(&item)) {
            Some(slot) => *slot = item,
            None => current.push(item),
        }
    }
}
