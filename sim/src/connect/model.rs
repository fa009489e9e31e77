//! The emulator's records of users and quick connects. Nested configuration types serialize
//! exactly as Connect's wire shapes (PascalCase members, absent when `None`), so responses are
//! rendered from them directly.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Connect user as the service stores it. `password` is kept so tests can check what was
/// sent; it is never returned by the API.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimUser {
    pub id: String,
    pub arn: String,
    pub username: String,
    pub password: Option<String>,
    pub directory_user_id: Option<String>,
    pub identity_info: Option<IdentityInfo>,
    pub security_profile_ids: Vec<String>,
    pub routing_profile_id: String,
    pub hierarchy_group_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The per-channel settings. Their VOICE entries are also the user's `PhoneConfig`
    /// (`SimUser::phone_config`, see `voice.rs`): Connect keeps one truth for both.
    pub auto_accept_configs: Vec<AutoAcceptConfig>,
    pub after_contact_work_configs: Vec<AfterContactWorkConfigPerChannel>,
    pub phone_number_configs: Vec<PhoneNumberConfig>,
    pub persistent_connection_configs: Vec<PersistentConnectionConfig>,
    pub voice_enhancement_configs: Vec<VoiceEnhancementConfig>,
    pub proficiencies: Vec<UserProficiency>,
    /// Set by every change; the epoch (the default) means "now" on insert.
    pub last_modified: DateTime<Utc>,
    pub last_modified_region: String,
}

/// A quick connect. The type-specific target is flattened: `user_id` (USER), `queue_id`
/// (QUEUE), `phone_number` (PHONE_NUMBER), `contact_flow_id` (USER, QUEUE, FLOW).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimQuickConnect {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub quick_connect_type: String,
    pub user_id: Option<String>,
    pub queue_id: Option<String>,
    pub phone_number: Option<String>,
    pub contact_flow_id: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub last_modified: DateTime<Utc>,
    pub last_modified_region: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secondary_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PhoneConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_contact_work_time_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_connection: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoAcceptConfig {
    pub channel: String,
    pub auto_accept: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_first_callback_auto_accept: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AfterContactWorkConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_contact_work_time_limit: Option<i32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AfterContactWorkConfigPerChannel {
    pub channel: String,
    pub after_contact_work_config: AfterContactWorkConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_first_callback_after_contact_work_config: Option<AfterContactWorkConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PhoneNumberConfig {
    pub channel: String,
    pub phone_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersistentConnectionConfig {
    pub channel: String,
    pub persistent_connection: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VoiceEnhancementConfig {
    pub channel: String,
    pub voice_enhancement_mode: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserProficiency {
    pub attribute_name: String,
    pub attribute_value: String,
    pub level: f32,
}
