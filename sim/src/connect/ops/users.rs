//! CreateUser, DescribeUser, ListUsers, DeleteUser and the UpdateUser* operations.

use chrono::Utc;
use serde_json::json;

use super::super::arn;
use super::super::errors::{ApiError, ApiResult};
use super::super::model::SimUser;
use super::super::paging;
use super::super::render;
use super::super::state::{Instance, State};
use super::super::validate;
use super::fields::{self, ChannelConfigs};
use super::{Ctx, Outcome, listing, reference, user_rules};

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
    user_rules::phone_config_conflicts(b)?;
    user_rules::after_contact_work_limits(phone.as_ref(), configs.after_contact_work.as_deref())?;
    let instance_id = ctx.instance_label()?;
    let seq = state.next_seq();
    let instance = state.instance_in_mut(instance_id, ctx.region())?;

    let idm = instance.identity_management_type.as_str();
    user_rules::username(idm, username)?;
    user_rules::identity_management(idm, password.is_some(), directory_user_id.is_some())?;
    user_rules::identity(idm, identity.as_ref(), "IdentityInfo")?;
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
    let mut user = SimUser {
        id: id.clone(),
        arn: arn.clone(),
        username: username.to_string(),
        password: password.map(str::to_string),
        directory_user_id: directory_user_id.map(str::to_string),
        identity_info: identity,
        security_profile_ids,
        routing_profile_id: routing_profile_id.to_string(),
        hierarchy_group_id: hierarchy_group_id.map(str::to_string),
        tags: tags.unwrap_or_default(),
        last_modified: Utc::now(),
        last_modified_region: ctx.region().to_string(),
        ..SimUser::default()
    };
    // PhoneConfig first (completed with its defaults), then the per-channel lists, which never
    // carry the same member (refused above): both write the one stored truth (voice.rs).
    if let Some(p) = &phone {
        user.set_phone_config(p);
    }
    apply_channel_configs(&mut user, configs);
    instance.insert_user(seq, user);
    Ok(Outcome::created(json!({"UserId": id, "UserArn": arn}), id))
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
            user_rules::identity(idm, Some(&info), "IdentityInfo")?;
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
    user_rules::after_contact_work_limits(Some(&phone), None)?;
    // The VOICE entries take the phone's values, and every channel its ACW limit (voice.rs).
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| user.set_phone_config(&phone),
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
    user_rules::after_contact_work_limits(None, configs.after_contact_work.as_deref())?;
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| apply_channel_configs(user, configs),
    )
}

/// Each given entry replaces the user's entry for that channel; other channels stay. The VOICE
/// entries are also the user's PhoneConfig (voice.rs).
fn apply_channel_configs(user: &mut SimUser, configs: ChannelConfigs) {
    let ChannelConfigs {
        auto_accept,
        after_contact_work,
        phone_number,
        persistent_connection,
        voice_enhancement,
    } = configs;
    merge(&mut user.auto_accept_configs, auto_accept, |c| {
        c.channel.clone()
    });
    merge(
        &mut user.after_contact_work_configs,
        after_contact_work,
        |c| c.channel.clone(),
    );
    merge(&mut user.phone_number_configs, phone_number, |c| {
        c.channel.clone()
    });
    merge(
        &mut user.persistent_connection_configs,
        persistent_connection,
        |c| c.channel.clone(),
    );
    merge(
        &mut user.voice_enhancement_configs,
        voice_enhancement,
        |c| c.channel.clone(),
    );
}

fn merge<T>(current: &mut Vec<T>, given: Option<Vec<T>>, channel: impl Fn(&T) -> String) {
    for item in given.unwrap_or_default() {
        match current.iter_mut().find(|c| channel(c) == channel(&item)) {
            Some(slot) => *slot = item,
            None => current.push(item),
        }
    }
}
