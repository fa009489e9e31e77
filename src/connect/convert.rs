//! Conversions between the operator's model and aws-sdk-connect types.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_connect::error::BuildError;
use aws_sdk_connect::types::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, Channel, PhoneType,
    User, UserIdentityInfo, UserPhoneConfig, UserProficiency, UserProficiencyDisassociate,
    UserSearchSummary, VoiceEnhancementConfig, VoiceEnhancementMode,
};

use crate::model::{
    ChannelSettings, Channels, Identity, ObservedUser, Phone, Proficiencies, UserFields,
    UserSummary, level_from_f64, level_to_f32,
};

/// The per-channel lists of CreateUser and UpdateUserConfig.
#[derive(Default)]
pub struct ChannelLists {
    pub auto_accept: Option<Vec<AutoAcceptConfig>>,
    pub after_contact_work: Option<Vec<AfterContactWorkConfigPerChannel>>,
    pub voice_enhancement: Option<Vec<VoiceEnhancementConfig>>,
}

fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    Some(v).filter(|v| !v.is_empty())
}

/// Only the managed settings; a list with nothing managed is left out of the request.
pub fn channels_to_sdk(channels: &Channels) -> Result<ChannelLists, BuildError> {
    let mut auto_accept = Vec::new();
    let mut after_contact_work = Vec::new();
    for (channel, s) in &channels.per_channel {
        if let Some(a) = s.auto_accept {
            auto_accept.push(
                AutoAcceptConfig::builder()
                    .channel(Channel::from(channel.as_str()))
                    .auto_accept(a)
                    .build()?,
            );
        }
        if let Some(l) = s.after_contact_work_time_limit {
            after_contact_work.push(
                AfterContactWorkConfigPerChannel::builder()
                    .channel(Channel::from(channel.as_str()))
                    .after_contact_work_config(
                        AfterContactWorkConfig::builder()
                            .after_contact_work_time_limit(l)
                            .build(),
                    )
                    .build()?,
            );
        }
    }
    let voice_enhancement = match &channels.voice_enhancement {
        Some(mode) => Some(vec![
            VoiceEnhancementConfig::builder()
                .channel(Channel::Voice)
                .voice_enhancement_mode(VoiceEnhancementMode::from(mode.as_str()))
                .build()?,
        ]),
        None => None,
    };
    Ok(ChannelLists {
        auto_accept: some(auto_accept),
        after_contact_work: some(after_contact_work),
        voice_enhancement,
    })
}

fn channels_from_sdk(
    auto_accept: &[AutoAcceptConfig],
    after_contact_work: &[AfterContactWorkConfigPerChannel],
    voice_enhancement: &[VoiceEnhancementConfig],
) -> Channels {
    let mut channels = Channels::default();
    for a in auto_accept {
        channels
            .per_channel
            .entry(a.channel().as_str().to_string())
            .or_insert_with(ChannelSettings::default)
            .auto_accept = Some(a.auto_accept());
    }
    for w in after_contact_work {
        channels
            .per_channel
            .entry(w.channel().as_str().to_string())
            .or_insert_with(ChannelSettings::default)
            .after_contact_work_time_limit = w
            .after_contact_work_config()
            .map(|c| c.after_contact_work_time_limit());
    }
    channels.voice_enhancement = voice_enhancement
        .iter()
        .find(|v| v.channel() == &Channel::Voice)
        .map(|v| v.voice_enhancement_mode().as_str().to_string());
    channels
}

pub fn proficiencies_to_sdk(p: &Proficiencies) -> Result<Vec<UserProficiency>, BuildError> {
    p.iter()
        .map(|((name, value), level)| {
            UserProficiency::builder()
                .attribute_name(name)
                .attribute_value(value)
                .level(level_to_f32(*level))
                .build()
        })
        .collect()
}

pub fn proficiency_keys_to_sdk(
    keys: &[(String, String)],
) -> Result<Vec<UserProficiencyDisassociate>, BuildError> {
    keys.iter()
        .map(|(name, value)| {
            UserProficiencyDisassociate::builder()
                .attribute_name(name)
                .attribute_value(value)
                .build()
        })
        .collect()
}

pub fn proficiencies_from_sdk(list: &[UserProficiency]) -> Proficiencies {
    list.iter()
        .map(|p| {
            (
                (
                    p.attribute_name().to_string(),
                    p.attribute_value().to_string(),
                ),
                level_from_f64(f64::from(p.level())),
            )
        })
        .collect()
}

pub fn identity_to_sdk(identity: &Identity) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .set_first_name(identity.first_name.clone())
        .set_last_name(identity.last_name.clone())
        .set_email(identity.email.clone())
        .set_secondary_email(identity.secondary_email.clone())
        .set_mobile(identity.mobile.clone())
        .build()
}

pub fn phone_to_sdk(phone: &Phone) -> UserPhoneConfig {
    UserPhoneConfig::builder()
        .phone_type(PhoneType::from(phone.phone_type.as_str()))
        .auto_accept(phone.auto_accept)
        .after_contact_work_time_limit(phone.after_contact_work_time_limit)
        .set_desk_phone_number(phone.desk_phone_number.clone())
        .set_persistent_connection(phone.persistent_connection)
        .build()
}

fn phone_from_sdk(phone: Option<&UserPhoneConfig>) -> Phone {
    match phone {
        Some(p) => Phone {
            phone_type: p.phone_type().as_str().to_string(),
            auto_accept: p.auto_accept(),
            after_contact_work_time_limit: p.after_contact_work_time_limit(),
            desk_phone_number: p.desk_phone_number().map(str::to_string),
            persistent_connection: p.persistent_connection(),
        },
        None => Phone::default(),
    }
}

pub fn tags_from_sdk(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub fn observed_from_sdk(user: &User) -> ObservedUser {
    let identity = user
        .identity_info()
        .map(|i| Identity {
            first_name: i.first_name().map(str::to_string),
            last_name: i.last_name().map(str::to_string),
            email: i.email().map(str::to_string),
            secondary_email: i.secondary_email().map(str::to_string),
            mobile: i.mobile().map(str::to_string),
        })
        .unwrap_or_default();
    ObservedUser {
        id: user.id().unwrap_or_default().to_string(),
        arn: user.arn().unwrap_or_default().to_string(),
        username: user.username().unwrap_or_default().to_string(),
        fields: UserFields {
            identity,
            phone: phone_from_sdk(user.phone_config()),
            channels: channels_from_sdk(
                user.auto_accept_configs(),
                user.after_contact_work_configs(),
                user.voice_enhancement_configs(),
            ),
            proficiencies: None,
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

pub fn summary_from_sdk(user: &UserSearchSummary) -> UserSummary {
    let identity = user
        .identity_info()
        .map(|i| Identity {
            first_name: i.first_name().map(str::to_string),
            last_name: i.last_name().map(str::to_string),
            ..Identity::default()
        })
        .unwrap_or_default();
    UserSummary {
        id: user.id().unwrap_or_default().to_string(),
        arn: user.arn().unwrap_or_default().to_string(),
        username: user.username().unwrap_or_default().to_string(),
        fields: UserFields {
            identity,
            phone: phone_from_sdk(user.phone_config()),
            channels: channels_from_sdk(
                user.auto_accept_configs(),
                user.after_contact_work_configs(),
                user.voice_enhancement_configs(),
            ),
            proficiencies: None,
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::model::arb;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// What the operator sends is exactly what it means: every identity and phone field
        /// reaches the SDK request unchanged, whatever the characters.
        #[test]
        fn identity_and_phone_reach_the_request_unchanged(i in arb::identity(), p in arb::phone()) {
            let sdk = identity_to_sdk(&i);
            prop_assert_eq!(sdk.first_name(), i.first_name.as_deref());
            prop_assert_eq!(sdk.last_name(), i.last_name.as_deref());
            prop_assert_eq!(sdk.email(), i.email.as_deref());
            prop_assert_eq!(sdk.secondary_email(), i.secondary_email.as_deref());
            prop_assert_eq!(sdk.mobile(), i.mobile.as_deref());
            prop_assert_eq!(phone_from_sdk(Some(&phone_to_sdk(&p))), p);
        }

        /// A user read back from Connect converts to the same fields that were written, so the
        /// diff of a freshly written user is empty.
        #[test]
        fn a_described_user_converts_back_to_its_fields(f in arb::fields(), id in arb::text()) {
            // Per-channel settings and proficiencies travel through UpdateUserConfig and
            // ListUserProficiencies, not this request (tests/e2e_fields.rs covers them).
            let mut f = f;
            f.channels = Default::default();
            f.proficiencies = None;
            f.phone.persistent_connection = None;
            let user = User::builder()
                .id(&id)
                .arn(format!("arn:aws:connect:us-east-1:1:instance/i/agent/{id}"))
                .username("u")
                .identity_info(identity_to_sdk(&f.identity))
                .phone_config(phone_to_sdk(&f.phone))
                .set_security_profile_ids(Some(f.security_profile_ids.iter().cloned().collect()))
                .routing_profile_id(&f.routing_profile_id)
                .set_hierarchy_group_id(f.hierarchy_group_id.clone())
                .set_tags(Some(f.tags.clone().into_iter().collect()))
                .build();
            let observed = observed_from_sdk(&user);
            prop_assert_eq!(&observed.id, &id);
            prop_assert_eq!(&observed.fields, &f);
            prop_assert!(crate::diff::diff(&f, &observed.fields).is_empty());
        }
    }
}
