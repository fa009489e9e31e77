//! Reading and checking the user members shared by CreateUser and the Update* operations.

use std::collections::BTreeSet;

use super::super::errors::{ApiError, ApiResult};
use super::super::model::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, IdentityInfo,
    PersistentConnectionConfig, PhoneConfig, PhoneNumberConfig, VoiceEnhancementConfig,
};
use super::super::validate;
use super::super::wire::{Field, Obj};

/// `UserIdentityInfo`; Email and SecondaryEmail are checked against the pattern their
/// documentation gives (the model's Email shape has none).
pub fn identity(o: &Obj) -> ApiResult<IdentityInfo> {
    let s = |name: &str| o.opt_str(name).map(|v| v.map(str::to_string));
    let info = IdentityInfo {
        first_name: s("FirstName")?,
        last_name: s("LastName")?,
        email: s("Email")?,
        secondary_email: s("SecondaryEmail")?,
        mobile: s("Mobile")?,
    };
    if let Some(v) = &info.email {
        validate::email(&o.path_of("Email"), v)?;
    }
    if let Some(v) = &info.secondary_email {
        validate::email(&o.path_of("SecondaryEmail"), v)?;
    }
    Ok(info)
}

/// `UserPhoneConfig`, completed the way Connect stores it: a member the SDK leaves out (it
/// omits `false` and `0`) means SOFT_PHONE / false / 0, so a PhoneConfig always replaces the
/// whole configuration.
pub fn phone(o: &Obj) -> ApiResult<PhoneConfig> {
    let phone_type = o.opt_str("PhoneType")?.unwrap_or("SOFT_PHONE");
    let acw = o.opt_int("AfterContactWorkTimeLimit")?.unwrap_or(0);
    let desk = o.opt_str("DeskPhoneNumber")?;
    if phone_type == "DESK_PHONE" && desk.is_none() {
        return Err(ApiError::invalid_parameter(format!(
            "'{}' is required when PhoneType is DESK_PHONE",
            o.path_of("DeskPhoneNumber")
        )));
    }
    Ok(PhoneConfig {
        phone_type: Some(phone_type.to_string()),
        auto_accept: Some(o.opt_bool("AutoAccept")?.unwrap_or(false)),
        after_contact_work_time_limit: Some(acw as i32),
        desk_phone_number: desk.map(str::to_string),
        persistent_connection: o.opt_bool("PersistentConnection")?,
    })
}

/// `SecurityProfileIds`.
pub fn security_profile_ids(body: &Obj) -> ApiResult<Vec<String>> {
    let items = body.req_list("SecurityProfileIds")?;
    items.iter().map(|f| f.str().map(str::to_string)).collect()
}

/// The per-channel configuration lists of CreateUser and UpdateUserConfig; `None` = absent.
#[derive(Default)]
pub struct ChannelConfigs {
    pub auto_accept: Option<Vec<AutoAcceptConfig>>,
    pub after_contact_work: Option<Vec<AfterContactWorkConfigPerChannel>>,
    pub phone_number: Option<Vec<PhoneNumberConfig>>,
    pub persistent_connection: Option<Vec<PersistentConnectionConfig>>,
    pub voice_enhancement: Option<Vec<VoiceEnhancementConfig>>,
}

impl ChannelConfigs {
    pub fn is_empty(&self) -> bool {
        self.auto_accept.is_none()
            && self.after_contact_work.is_none()
            && self.phone_number.is_none()
            && self.persistent_connection.is_none()
            && self.voice_enhancement.is_none()
    }
}

pub fn channel_configs(body: &Obj) -> ApiResult<ChannelConfigs> {
    Ok(ChannelConfigs {
        auto_accept: list(body, "AutoAcceptConfigs", |o| {
            Ok(AutoAcceptConfig {
                channel: channel(o)?,
                auto_accept: o.req_bool("AutoAccept")?,
                agent_first_callback_auto_accept: o.opt_bool("AgentFirstCallbackAutoAccept")?,
            })
        })?,
        after_contact_work: list(body, "AfterContactWorkConfigs", |o| {
            Ok(AfterContactWorkConfigPerChannel {
                channel: channel(o)?,
                after_contact_work_config: after_contact_work(
                    &o.req_obj("AfterContactWorkConfig")?,
                )?,
                agent_first_callback_after_contact_work_config: o
                    .opt_obj("AgentFirstCallbackAfterContactWorkConfig")?
                    .map(|c| after_contact_work(&c))
                    .transpose()?,
            })
        })?,
        phone_number: list(body, "PhoneNumberConfigs", |o| {
            let phone_type = o.req_str("PhoneType")?;
            let number = o.opt_str("PhoneNumber")?;
            if number.is_none() && phone_type == "DESK_PHONE" {
                return Err(ApiError::invalid_parameter(format!(
                    "'{}' is required when PhoneType is DESK_PHONE",
                    o.path_of("PhoneNumber")
                )));
            }
            Ok(PhoneNumberConfig {
                channel: channel(o)?,
                phone_type: phone_type.to_string(),
                phone_number: number.map(str::to_string),
            })
        })?,
        persistent_connection: list(body, "PersistentConnectionConfigs", |o| {
            Ok(PersistentConnectionConfig {
                channel: voice_only(o)?,
                persistent_connection: o.req_bool("PersistentConnection")?,
            })
        })?,
        voice_enhancement: list(body, "VoiceEnhancementConfigs", |o| {
            let mode = o.req_str("VoiceEnhancementMode")?;
            Ok(VoiceEnhancementConfig {
                channel: voice_only(o)?,
                voice_enhancement_mode: mode.to_string(),
            })
        })?,
    })
}

fn channel(o: &Obj) -> ApiResult<String> {
    Ok(o.req_str("Channel")?.to_string())
}

/// PersistentConnectionConfig and VoiceEnhancementConfig: "Only VOICE is supported for this
/// data type" (the model's documentation).
fn voice_only(o: &Obj) -> ApiResult<String> {
    let c = channel(o)?;
    if c != "VOICE" {
        return Err(ApiError::invalid_parameter(format!(
            "'{}' must be VOICE: only VOICE is supported for this configuration",
            o.path_of("Channel")
        )));
    }
    Ok(c)
}

fn after_contact_work(o: &Obj) -> ApiResult<AfterContactWorkConfig> {
    let limit = o.opt_int("AfterContactWorkTimeLimit")?;
    Ok(AfterContactWorkConfig {
        after_contact_work_time_limit: limit.map(|l| l as i32),
    })
}

/// A list of per-channel structures; a channel may appear once.
fn list<T>(
    body: &Obj,
    name: &str,
    item: impl Fn(&Obj) -> ApiResult<T>,
) -> ApiResult<Option<Vec<T>>> {
    let Some(fields) = body.opt_list(name)? else {
        return Ok(None);
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(fields.len());
    for f in &fields {
        let o = f.obj()?;
        let ch = o.opt_str("Channel")?.unwrap_or_default().to_string();
        out.push(item(&o)?);
        if !seen.insert(ch) {
            return Err(duplicate_channel(f));
        }
    }
    Ok(Some(out))
}

fn duplicate_channel(f: &Field) -> ApiError {
    ApiError::invalid_parameter(format!(
        "'{}.Channel' repeats a channel already configured",
        f.path
    ))
}
