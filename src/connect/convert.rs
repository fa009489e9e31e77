//! Conversions between the operator's model and aws-sdk-connect types.
//!
//! The operator's `Phone` is the user's VOICE channel. Connect keeps it twice: as the older
//! `PhoneConfig` and as the VOICE entries of the per-channel lists (AutoAcceptConfigs,
//! AfterContactWorkConfigs, PhoneNumberConfigs, PersistentConnectionConfigs), two views of one
//! setting (CreateUser refuses both at once). The operator writes only the per-channel form,
//! which AWS recommends (UpdateUserConfig "replaces the UpdateUserPhoneConfig API"), and reads
//! either: a VOICE entry when Connect shows one, else the PhoneConfig member. So the observed
//! `Phone` is the same whichever form a user was written in, and the diff cannot swing between
//! them. SearchUsers states after-contact-work limits in milliseconds, DescribeUser in seconds.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_connect::error::BuildError;
use aws_sdk_connect::types::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, Channel,
    PersistentConnectionConfig, PhoneNumberConfig, PhoneType, User, UserIdentityInfo,
    UserPhoneConfig, UserProficiency, UserProficiencyDisassociate, UserSearchSummary,
    VoiceEnhancementConfig, VoiceEnhancementMode,
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
    pub phone_number: Option<Vec<PhoneNumberConfig>>,
    pub persistent_connection: Option<Vec<PersistentConnectionConfig>>,
    pub voice_enhancement: Option<Vec<VoiceEnhancementConfig>>,
}

fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    Some(v).filter(|v| !v.is_empty())
}

fn auto_accept(channel: &str, on: bool) -> Result<AutoAcceptConfig, BuildError> {
    AutoAcceptConfig::builder()
        .channel(Channel::from(channel))
        .auto_accept(on)
        .build()
}

fn after_contact_work(
    channel: &str,
    limit: i32,
) -> Result<AfterContactWorkConfigPerChannel, BuildError> {
    AfterContactWorkConfigPerChannel::builder()
        .channel(Channel::from(channel))
        .after_contact_work_config(
            AfterContactWorkConfig::builder()
                .after_contact_work_time_limit(limit)
                .build(),
        )
        .build()
}

/// Only the managed settings; a list with nothing managed is left out of the request.
pub fn channels_to_sdk(channels: &Channels) -> Result<ChannelLists, BuildError> {
    let mut auto_accepts = Vec::new();
    let mut limits = Vec::new();
    for (channel, s) in &channels.per_channel {
        if let Some(a) = s.auto_accept {
            auto_accepts.push(auto_accept(channel, a)?);
        }
        if let Some(l) = s.after_contact_work_time_limit {
            limits.push(after_contact_work(channel, l)?);
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
        auto_accept: some(auto_accepts),
        after_contact_work: some(limits),
        voice_enhancement,
        ..ChannelLists::default()
    })
}

/// The VOICE entries that carry `phone`: auto-accept, after-contact work and phone type/number
/// always (the spec's phoneConfig is always managed), persistent connection when managed.
pub fn voice_to_sdk(phone: &Phone) -> Result<ChannelLists, BuildError> {
    let persistent = match phone.persistent_connection {
        Some(on) => Some(vec![
            PersistentConnectionConfig::builder()
                .channel(Channel::Voice)
                .persistent_connection(on)
                .build()?,
        ]),
        None => None,
    };
    Ok(ChannelLists {
        auto_accept: Some(vec![auto_accept("VOICE", phone.auto_accept)?]),
        after_contact_work: Some(vec![after_contact_work(
            "VOICE",
            phone.after_contact_work_time_limit,
        )?]),
        phone_number: Some(vec![
            PhoneNumberConfig::builder()
                .channel(Channel::Voice)
                .phone_type(PhoneType::from(phone.phone_type.as_str()))
                .set_phone_number(phone.desk_phone_number.clone())
                .build()?,
        ]),
        persistent_connection: persistent,
        voice_enhancement: None,
    })
}

/// CreateUser's per-channel lists: the VOICE entries of `phone` and the managed settings of the
/// other channels (and voice enhancement). CreateUser then carries no PhoneConfig.
pub fn new_user_lists(phone: &Phone, channels: &Channels) -> Result<ChannelLists, BuildError> {
    let voice = voice_to_sdk(phone)?;
    let others = channels_to_sdk(channels)?;
    Ok(ChannelLists {
        auto_accept: join(voice.auto_accept, others.auto_accept),
        after_contact_work: join(voice.after_contact_work, others.after_contact_work),
        phone_number: voice.phone_number,
        persistent_connection: voice.persistent_connection,
        voice_enhancement: others.voice_enhancement,
    })
}

fn join<T>(a: Option<Vec<T>>, b: Option<Vec<T>>) -> Option<Vec<T>> {
    some(a.into_iter().chain(b).flatten().collect())
}

/// How a response states after-contact-work limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AcwUnit {
    /// DescribeUser, and every write.
    Seconds,
    /// SearchUsers: "AfterContactWorkTimeLimit is returned in milliseconds" (the operation's
    /// documentation). Read for the per-channel limits too: they are the same member of the
    /// same shape, and the emulator, stricter for it, returns them so.
    Milliseconds,
}

impl AcwUnit {
    /// The limit in seconds. A millisecond value that is not whole seconds matches no spec
    /// (specs hold whole seconds, 0 and up): it reads as -1, so the bulk drift check sees a
    /// difference and describes the user.
    fn seconds(self, limit: i32) -> i32 {
        match self {
            AcwUnit::Seconds => limit,
            AcwUnit::Milliseconds if limit % 1000 == 0 => limit / 1000,
            AcwUnit::Milliseconds => -1,
        }
    }
}

/// The per-channel lists of a User or a UserSearchSummary.
struct Lists<'a> {
    auto_accept: &'a [AutoAcceptConfig],
    after_contact_work: &'a [AfterContactWorkConfigPerChannel],
    phone_number: &'a [PhoneNumberConfig],
    persistent_connection: &'a [PersistentConnectionConfig],
    voice_enhancement: &'a [VoiceEnhancementConfig],
    unit: AcwUnit,
}

impl Lists<'_> {
    fn limit(&self, c: &AfterContactWorkConfigPerChannel) -> Option<i32> {
        c.after_contact_work_config()
            .map(|w| self.unit.seconds(w.after_contact_work_time_limit()))
    }

    /// The non-VOICE channels (VOICE is the `Phone`) and the voice enhancement.
    fn channels(&self) -> Channels {
        let mut channels = Channels::default();
        let entry =
            |channel: &Channel| (channel != &Channel::Voice).then(|| channel.as_str().to_string());
        let mut per_channel: BTreeMap<String, ChannelSettings> = BTreeMap::new();
        for a in self.auto_accept {
            if let Some(c) = entry(a.channel()) {
                per_channel.entry(c).or_default().auto_accept = Some(a.auto_accept());
            }
        }
        for w in self.after_contact_work {
            if let Some(c) = entry(w.channel()) {
                per_channel
                    .entry(c)
                    .or_default()
                    .after_contact_work_time_limit = self.limit(w);
            }
        }
        channels.per_channel = per_channel;
        channels.voice_enhancement = self
            .voice_enhancement
            .iter()
            .find(|v| v.channel() == &Channel::Voice)
            .map(|v| v.voice_enhancement_mode().as_str().to_string());
        channels
    }

    /// The VOICE channel: each setting from its VOICE entry when Connect shows one, else from
    /// the PhoneConfig view, else Connect's default.
    fn phone(&self, phone: Option<&UserPhoneConfig>) -> Phone {
        let mut p = match phone {
            Some(p) => Phone {
                phone_type: p.phone_type().as_str().to_string(),
                auto_accept: p.auto_accept(),
                after_contact_work_time_limit: self.unit.seconds(p.after_contact_work_time_limit()),
                desk_phone_number: p.desk_phone_number().map(str::to_string),
                persistent_connection: p.persistent_connection(),
            },
            None => Phone::default(),
        };
        let voice = |c: &Channel| c == &Channel::Voice;
        if let Some(n) = self.phone_number.iter().find(|n| voice(n.channel())) {
            p.phone_type = n.phone_type().as_str().to_string();
            p.desk_phone_number = n.phone_number().map(str::to_string);
        }
        if let Some(a) = self.auto_accept.iter().find(|a| voice(a.channel())) {
            p.auto_accept = a.auto_accept();
        }
        if let Some(l) = self
            .after_contact_work
            .iter()
            .find(|w| voice(w.channel()))
            .and_then(|w| self.limit(w))
        {
            p.after_contact_work_time_limit = l;
        }
        if let Some(c) = self
            .persistent_connection
            .iter()
            .find(|c| voice(c.channel()))
        {
            p.persistent_connection = Some(c.persistent_connection());
        }
        p
    }
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

pub fn tags_from_sdk(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub fn observed_from_sdk(user: &User) -> ObservedUser {
    let lists = Lists {
        auto_accept: user.auto_accept_configs(),
        after_contact_work: user.after_contact_work_configs(),
        phone_number: user.phone_number_configs(),
        persistent_connection: user.persistent_connection_configs(),
        voice_enhancement: user.voice_enhancement_configs(),
        unit: AcwUnit::Seconds,
    };
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
            phone: lists.phone(user.phone_config()),
            channels: lists.channels(),
            proficiencies: None,
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

pub fn summary_from_sdk(user: &UserSearchSummary) -> UserSummary {
    let lists = Lists {
        auto_accept: user.auto_accept_configs(),
        after_contact_work: user.after_contact_work_configs(),
        phone_number: user.phone_number_configs(),
        persistent_connection: user.persistent_connection_configs(),
        voice_enhancement: user.voice_enhancement_configs(),
        unit: AcwUnit::Milliseconds,
    };
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
            phone: lists.phone(user.phone_config()),
            channels: lists.channels(),
            proficiencies: None,
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(acw: i32) -> UserPhoneConfig {
        UserPhoneConfig::builder()
            .phone_type(PhoneType::DeskPhone)
            .auto_accept(true)
            .after_contact_work_time_limit(acw)
            .desk_phone_number("+14155550100")
            .persistent_connection(true)
            .build()
    }

    fn voice_lists(acw: i32, chat_acw: i32) -> ChannelLists {
        let mut lists = voice_to_sdk(&Phone {
            phone_type: "DESK_PHONE".into(),
            auto_accept: true,
            after_contact_work_time_limit: acw,
            desk_phone_number: Some("+14155550100".into()),
            persistent_connection: Some(true),
        })
        .unwrap();
        lists
            .after_contact_work
            .as_mut()
            .unwrap()
            .push(after_contact_work("CHAT", chat_acw).unwrap());
        lists
    }

    fn described(phone_config: Option<UserPhoneConfig>, lists: ChannelLists) -> UserFields {
        let user = User::builder()
            .set_phone_config(phone_config)
            .set_auto_accept_configs(lists.auto_accept)
            .set_after_contact_work_configs(lists.after_contact_work)
            .set_phone_number_configs(lists.phone_number)
            .set_persistent_connection_configs(lists.persistent_connection)
            .build();
        observed_from_sdk(&user).fields
    }

    fn searched(phone_config: Option<UserPhoneConfig>, lists: ChannelLists) -> UserFields {
        let user = UserSearchSummary::builder()
            .set_phone_config(phone_config)
            .set_auto_accept_configs(lists.auto_accept)
            .set_after_contact_work_configs(lists.after_contact_work)
            .set_phone_number_configs(lists.phone_number)
            .set_persistent_connection_configs(lists.persistent_connection)
            .build();
        summary_from_sdk(&user).fields
    }

    #[test]
    fn either_form_reads_as_the_same_phone() {
        let from_phone = described(Some(phone(30)), ChannelLists::default());
        let from_lists = described(None, voice_lists(30, 60));
        let from_both = described(Some(phone(30)), voice_lists(30, 60));
        assert_eq!(from_phone.phone, from_lists.phone);
        assert_eq!(from_both.phone, from_lists.phone);
        assert_eq!(from_lists.phone.after_contact_work_time_limit, 30);
        assert_eq!(from_lists.phone.persistent_connection, Some(true));
        // VOICE is the phone, not a managed channel.
        assert_eq!(
            from_lists.channels.per_channel.keys().collect::<Vec<_>>(),
            ["CHAT"]
        );
        // Where the two disagree the VOICE entry is the truth.
        assert_eq!(
            described(Some(phone(99)), voice_lists(30, 60))
                .phone
                .after_contact_work_time_limit,
            30
        );
    }

    #[test]
    fn search_users_milliseconds_become_seconds() {
        let fields = searched(Some(phone(30_000)), ChannelLists::default());
        assert_eq!(fields.phone.after_contact_work_time_limit, 30);
        let fields = searched(Some(phone(30_000)), voice_lists(30_000, 2_000_000_000));
        assert_eq!(fields.phone.after_contact_work_time_limit, 30);
        assert_eq!(
            fields.channels.per_channel["CHAT"].after_contact_work_time_limit,
            Some(2_000_000)
        );
        // Not whole seconds: matches no spec, so the user gets described.
        let fields = searched(None, voice_lists(30_500, 1));
        assert_eq!(fields.phone.after_contact_work_time_limit, -1);
        assert_eq!(
            fields.channels.per_channel["CHAT"].after_contact_work_time_limit,
            Some(-1)
        );
        // DescribeUser states seconds.
        assert_eq!(
            described(Some(phone(30_000)), ChannelLists::default())
                .phone
                .after_contact_work_time_limit,
            30_000
        );
    }

    #[test]
    fn a_new_user_carries_voice_in_the_lists_only() {
        let channels = Channels {
            per_channel: [(
                "CHAT".to_string(),
                crate::model::ChannelSettings {
                    auto_accept: Some(true),
                    after_contact_work_time_limit: Some(60),
                },
            )]
            .into(),
            voice_enhancement: Some("NONE".into()),
        };
        let lists = new_user_lists(&Phone::default(), &channels).unwrap();
        let channels_of = |l: &[AutoAcceptConfig]| -> Vec<String> {
            l.iter().map(|a| a.channel().as_str().to_string()).collect()
        };
        assert_eq!(
            channels_of(lists.auto_accept.as_deref().unwrap()),
            ["VOICE", "CHAT"]
        );
        assert_eq!(lists.after_contact_work.unwrap().len(), 2);
        assert_eq!(lists.phone_number.unwrap().len(), 1);
        assert!(
            lists.persistent_connection.is_none(),
            "not managed, not sent"
        );
        assert_eq!(lists.voice_enhancement.unwrap().len(), 1);
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
            let lists = voice_to_sdk(&p).unwrap();
            let user = User::builder()
                .set_auto_accept_configs(lists.auto_accept)
                .set_after_contact_work_configs(lists.after_contact_work)
                .set_phone_number_configs(lists.phone_number)
                .set_persistent_connection_configs(lists.persistent_connection)
                .build();
            prop_assert_eq!(observed_from_sdk(&user).fields.phone, p);
        }

        /// A user read back from Connect converts to the same fields that were written, so the
        /// diff of a freshly written user is empty.
        #[test]
        fn a_described_user_converts_back_to_its_fields(f in arb::fields(), id in arb::text()) {
            // Proficiencies travel through ListUserProficiencies, not this request
            // (tests/e2e_fields.rs covers them); a channel with nothing managed is not sent.
            let mut f = f;
            f.proficiencies = None;
            f.channels
                .per_channel
                .retain(|_, c| c.auto_accept.is_some() || c.after_contact_work_time_limit.is_some());
            let lists = new_user_lists(&f.phone, &f.channels).unwrap();
            let user = User::builder()
                .id(&id)
                .arn(format!("arn:aws:connect:us-east-1:1:instance/i/agent/{id}"))
                .username("u")
                .identity_info(identity_to_sdk(&f.identity))
                .set_auto_accept_configs(lists.auto_accept)
                .set_after_contact_work_configs(lists.after_contact_work)
                .set_phone_number_configs(lists.phone_number)
                .set_persistent_connection_configs(lists.persistent_connection)
                .set_voice_enhancement_configs(lists.voice_enhancement)
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

        /// SearchUsers shows the same user in milliseconds; the summary converts to the same
        /// fields (but for what it lacks), so the bulk drift check finds nothing to do.
        #[test]
        fn a_searched_user_matches_its_fields(f in arb::fields()) {
            let mut f = f;
            f.proficiencies = None;
            f.phone.after_contact_work_time_limit = f.phone.after_contact_work_time_limit.rem_euclid(2_000_001);
            let mut lists = new_user_lists(&f.phone, &f.channels).unwrap();
            for c in lists.after_contact_work.iter_mut().flatten() {
                let ms = c.after_contact_work_config().unwrap().after_contact_work_time_limit() * 1000;
                *c = after_contact_work(c.channel().as_str(), ms).unwrap();
            }
            let user = UserSearchSummary::builder()
                .identity_info(
                    aws_sdk_connect::types::UserIdentityInfoLite::builder()
                        .set_first_name(f.identity.first_name.clone())
                        .set_last_name(f.identity.last_name.clone())
                        .build(),
                )
                .set_auto_accept_configs(lists.auto_accept)
                .set_after_contact_work_configs(lists.after_contact_work)
                .set_phone_number_configs(lists.phone_number)
                .set_persistent_connection_configs(lists.persistent_connection)
                .set_voice_enhancement_configs(lists.voice_enhancement)
                .set_security_profile_ids(Some(f.security_profile_ids.iter().cloned().collect()))
                .routing_profile_id(&f.routing_profile_id)
                .set_hierarchy_group_id(f.hierarchy_group_id.clone())
                .set_tags(Some(f.tags.clone().into_iter().collect()))
                .build();
            let summary = summary_from_sdk(&user);
            prop_assert!(crate::diff::summary_matches(&f, &summary.fields), "{:?}", summary.fields);
        }
    }
}
