//! The Connect user as the operator reasons about it: ids resolved, no SDK and no Kubernetes types.
//! Both the desired state (from the spec) and the observed state (from Connect) use these types,
//! so `diff` can compare them directly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Identity {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub secondary_email: Option<String>,
    pub mobile: Option<String>,
}

impl Identity {
    /// Connect answers "" where a field was never set; treat both as absent.
    pub fn normalized(&self) -> Identity {
        fn n(v: &Option<String>) -> Option<String> {
            v.clone().filter(|s| !s.is_empty())
        }
        Identity {
            first_name: n(&self.first_name),
            last_name: n(&self.last_name),
            email: n(&self.email),
            secondary_email: n(&self.secondary_email),
            mobile: n(&self.mobile),
        }
    }
}

/// The VOICE channel's settings (`spec.phoneConfig`): Connect's PhoneConfig and the VOICE entries
/// of its per-channel lists, one setting seen two ways (see connect/convert.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// SOFT_PHONE or DESK_PHONE.
    pub phone_type: String,
    pub auto_accept: bool,
    pub after_contact_work_time_limit: i32,
    pub desk_phone_number: Option<String>,
    /// Desired: `None` = not managed. Observed: `None` = Connect did not say (counts as false).
    pub persistent_connection: Option<bool>,
}

impl Default for Phone {
    fn default() -> Self {
        Phone {
            phone_type: "SOFT_PHONE".into(),
            auto_accept: false,
            after_contact_work_time_limit: 0,
            desk_phone_number: None,
            persistent_connection: None,
        }
    }
}

impl Phone {
    pub fn normalized(&self) -> Phone {
        Phone {
            desk_phone_number: self.desk_phone_number.clone().filter(|s| !s.is_empty()),
            ..self.clone()
        }
    }
}

/// Auto-accept and after-contact work of one channel; `None` = not managed (desired) or not
/// reported (observed).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ChannelSettings {
    pub auto_accept: Option<bool>,
    pub after_contact_work_time_limit: Option<i32>,
}

/// The per-channel configuration of UpdateUserConfig that the operator manages, beyond the VOICE
/// settings in `Phone`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Channels {
    /// Channel (CHAT, TASK, EMAIL) -> settings. Desired: only managed channels.
    pub per_channel: BTreeMap<String, ChannelSettings>,
    /// VOICE enhancement mode (VOICE_ISOLATION, NOISE_SUPPRESSION, NONE).
    pub voice_enhancement: Option<String>,
}

impl Channels {
    pub fn is_empty(&self) -> bool {
        self.voice_enhancement.is_none()
            && self
                .per_channel
                .values()
                .all(|c| c.auto_accept.is_none() && c.after_contact_work_time_limit.is_none())
    }
}

/// A proficiency level in hundredths (1.0 -> 100), so levels compare exactly.
pub type Level = u32;

pub fn level_from_f64(level: f64) -> Level {
    (level * 100.0).round().clamp(0.0, 1000.0) as Level
}

pub fn level_to_f32(level: Level) -> f32 {
    level as f32 / 100.0
}

/// (attribute name, attribute value) -> level.
pub type Proficiencies = BTreeMap<(String, String), Level>;

/// The fields of a Connect user that the operator manages, with every reference as an id.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserFields {
    pub identity: Identity,
    pub phone: Phone,
    pub channels: Channels,
    /// Desired: `None` = not managed. Observed: `None` = not read (DescribeUser and SearchUsers
    /// do not show them; ListUserProficiencies does).
    pub proficiencies: Option<Proficiencies>,
    pub routing_profile_id: String,
    pub security_profile_ids: BTreeSet<String>,
    pub hierarchy_group_id: Option<String>,
    /// All tags, the ownership tag included.
    pub tags: BTreeMap<String, String>,
}

/// A user as read back from Connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedUser {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub fields: UserFields,
}

/// What SearchUsers tells about a user: everything DescribeUser does except the identity's
/// email, secondary email and mobile (`fields.identity` holds first and last name only), and
/// neither shows proficiencies (`fields.proficiencies` is `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub fields: UserFields,
}

impl UserSummary {
    pub fn owner(&self, tag: &str) -> Option<&str> {
        self.fields.tags.get(tag).map(String::as_str)
    }
}

/// A password read from a Secret. It has no Display and its Debug is redacted, so it cannot end
/// up in a log line, an Event or a status field by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: String) -> Password {
        Password(value)
    }
    /// The only way to read the value: to hand it to CreateUser.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Everything CreateUser needs.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub password: Option<Password>,
    pub directory_user_id: Option<String>,
    pub fields: UserFields,
}

/// How an instance manages identities (decides whether a password is needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityManagement {
    ConnectManaged,
    Saml,
    ExistingDirectory,
    Other,
}

/// A USER quick connect and the user it transfers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuickConnect {
    pub id: String,
    pub name: String,
    pub user_id: String,
}

/// The USER quick connect the operator manages for a user, as read back from Connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedQuickConnect {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `None` when it is no longer a USER quick connect.
    pub user_id: Option<String>,
    pub contact_flow_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// What `spec.quickConnect` asks for, the flow resolved to its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredQuickConnect {
    pub name: String,
    /// `None` = not managed (Connect cannot clear a description).
    pub description: Option<String>,
    pub user_id: String,
    pub contact_flow_id: String,
}

/// A named Connect object (security profile, routing profile, hierarchy group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedId {
    pub id: String,
    pub name: String,
}

/// One Connect write call that brings a user closer to its spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserUpdate {
    IdentityInfo(Identity),
    /// UpdateUserConfig with the VOICE entries (not UpdateUserPhoneConfig, which would set its
    /// after-contact-work limit on every channel).
    PhoneConfig(Phone),
    RoutingProfile(String),
    SecurityProfiles(Vec<String>),
    Hierarchy(Option<String>),
    /// UpdateUserConfig with every managed per-channel setting.
    ChannelConfig(Channels),
    AssociateProficiencies(Proficiencies),
    UpdateProficiencies(Proficiencies),
    DisassociateProficiencies(Vec<(String, String)>),
    Tag(BTreeMap<String, String>),
    Untag(Vec<String>),
}

impl UserUpdate {
    /// The spec field that this update brings in line, for Events and conditions.
    pub fn field(&self) -> &'static str {
        match self {
            UserUpdate::IdentityInfo(_) => "identityInfo",
            UserUpdate::PhoneConfig(_) => "phoneConfig",
            UserUpdate::RoutingProfile(_) => "routingProfile",
            UserUpdate::SecurityProfiles(_) => "securityProfiles",
            UserUpdate::Hierarchy(_) => "hierarchyGroup",
            UserUpdate::ChannelConfig(_) => "channelConfig",
            UserUpdate::AssociateProficiencies(_)
            | UserUpdate::UpdateProficiencies(_)
            | UserUpdate::DisassociateProficiencies(_) => "proficiencies",
            UserUpdate::Tag(_) | UserUpdate::Untag(_) => "tags",
        }
    }
}

/// One Connect instance in one region, and whose credentials reach it: the scope of every
/// Connect call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceRef {
    pub region: String,
    pub instance_id: String,
    pub access: Access,
}

impl InstanceRef {
    /// An instance reached with the operator's own credentials.
    pub fn own(region: impl Into<String>, instance_id: impl Into<String>) -> InstanceRef {
        InstanceRef {
            region: region.into(),
            instance_id: instance_id.into(),
            access: Access::default(),
        }
    }
}

/// Whose credentials sign the calls: the operator's own (no role), or a role assumed from them.
/// Connect's quotas apply per (account, region), so the account keys rate limiters and retry
/// partitions; `None` is the operator's own account, not looked up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Access {
    pub account: Option<String>,
    pub role: Option<AssumedRole>,
}

/// A role to assume with STS from the operator's own credentials.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssumedRole {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
}

/// Generators for property tests: arbitrary strings (empty, unicode, control characters
/// included), since Connect and a spec can hold any of them.
#[cfg(test)]
pub(crate) mod arb {
    use super::*;
    use proptest::collection::{btree_map, btree_set};
    use proptest::option;
    use proptest::prelude::*;

    /// Any short string, biased towards the interesting ones.
    pub fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-zA-Z0-9 ._@+-]{1,12}",
            "\\PC{0,12}",
            any::<String>().prop_map(|s| s.chars().take(16).collect()),
        ]
    }

    pub fn identity() -> impl Strategy<Value = Identity> {
        (
            option::of(text()),
            option::of(text()),
            option::of(text()),
            option::of(text()),
            option::of(text()),
        )
            .prop_map(
                |(first_name, last_name, email, secondary_email, mobile)| Identity {
                    first_name,
                    last_name,
                    email,
                    secondary_email,
                    mobile,
                },
            )
    }

    pub fn phone() -> impl Strategy<Value = Phone> {
        (
            prop_oneof![
                Just("SOFT_PHONE".to_string()),
                Just("DESK_PHONE".to_string())
            ],
            any::<bool>(),
            any::<i32>(),
            option::of(text()),
            option::of(any::<bool>()),
        )
            .prop_map(
                |(
                    phone_type,
                    auto_accept,
                    after_contact_work_time_limit,
                    desk_phone_number,
                    persistent_connection,
                )| {
                    Phone {
                        phone_type,
                        auto_accept,
                        after_contact_work_time_limit,
                        desk_phone_number,
                        persistent_connection,
                    }
                },
            )
    }

    pub fn channels() -> impl Strategy<Value = Channels> {
        let settings = (option::of(any::<bool>()), option::of(0..2_000_000i32)).prop_map(
            |(auto_accept, after_contact_work_time_limit)| ChannelSettings {
                auto_accept,
                after_contact_work_time_limit,
            },
        );
        (
            btree_map(
                prop_oneof![
                    Just("CHAT".to_string()),
                    Just("TASK".to_string()),
                    Just("EMAIL".to_string())
                ],
                settings,
                0..3,
            ),
            option::of(prop_oneof![
                Just("VOICE_ISOLATION".to_string()),
                Just("NOISE_SUPPRESSION".to_string()),
                Just("NONE".to_string())
            ]),
        )
            .prop_map(|(per_channel, voice_enhancement)| Channels {
                per_channel,
                voice_enhancement,
            })
    }

    pub fn proficiencies() -> impl Strategy<Value = Proficiencies> {
        btree_map(("[a-c]", "[x-z]"), 100..=500u32, 0..4)
    }

    /// Ids from a small pool, so that two generated values often share some.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof!["[a-c]", text()]
    }

    pub fn fields() -> impl Strategy<Value = UserFields> {
        (
            identity(),
            phone(),
            channels(),
            option::of(proficiencies()),
            id(),
            btree_set(id(), 0..4),
            option::of(id()),
            btree_map(prop_oneof!["[a-d]", text()], text(), 0..5),
        )
            .prop_map(
                |(
                    identity,
                    phone,
                    channels,
                    proficiencies,
                    routing_profile_id,
                    security_profile_ids,
                    hierarchy_group_id,
                    tags,
                )| {
                    UserFields {
                        identity,
                        phone,
                        channels,
                        proficiencies,
                        routing_profile_id,
                        security_profile_ids,
                        hierarchy_group_id,
                        tags,
                    }
                },
            )
    }
}
