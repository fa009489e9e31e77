//! The `ConnectUser` custom resource: spec, status and the admission rules (OpenAPI + CEL) that
//! `kubectl apply` enforces before the operator ever sees a manifest.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "connect.userops.dev";
pub const VERSION: &str = "v1alpha1";
pub const FINALIZER: &str = "connect.userops.dev/cleanup";
pub const FIELD_MANAGER: &str = "connect-user-operator";
/// Tag on every Connect user the operator created or adopted: value = the resource's UID.
pub const OWNER_TAG: &str = "connect.userops.dev/owner";

/// One Amazon Connect user, declared.
// The derive's printcolumn attributes repeat `type_`, which clippy mistakes for duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "connect.userops.dev",
    version = "v1alpha1",
    kind = "ConnectUser",
    namespaced,
    shortname = "cu",
    category = "connect",
    status = "ConnectUserStatus",
    derive = "PartialEq",
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
    // The instance the user lives in, whichever form the spec names it by.
    printcolumn(name = "Instance", type_ = "string", json_path = ".status.instance.instanceId"),
    printcolumn(name = "User ID", type_ = "string", json_path = ".status.userId"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Cleanup",
        type_ = "string",
        json_path = ".status.cleanup.pending"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.instanceRef) || has(oldSelf.instanceRef) || (has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region))").message("region is immutable: it cannot be added, changed or removed (the user lives in the region it was created in)"),
    validation = Rule::new("has(self.instanceId) != has(self.instanceRef)").message("exactly one of instanceId (with region) or instanceRef must be set").field_path(".instanceId"),
    validation = Rule::new("!has(self.instanceRef) || !has(self.region)").message("with instanceRef the region is the instance object's; remove region").field_path(".region")
)]
pub struct ConnectUserSpec {
    /// The Amazon Connect instance id, reached with the operator's own credentials. Immutable.
    /// Exactly one of `instanceId` and `instanceRef`; switching between them is accepted only
    /// when both name the same instance.
    #[x_kube(validation = Rule::new("self == oldSelf").message("instanceId is immutable"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub instance_id: Option<String>,

    /// The instance object (ConnectInstance in this namespace, or a ClusterConnectInstance
    /// that selects this namespace) that names the instance, its region and the role to act
    /// with. The alternative to `instanceId`/`region`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_ref: Option<crate::instance::crd::InstanceObjectRef>,

    /// AWS region of the instance; the operator's default region when omitted (recorded in
    /// `status.region` at the first reconcile). Immutable: it cannot be added, changed or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+){1,2}-[0-9]$"))]
    pub region: Option<String>,

    /// The user's login name. Immutable (Connect cannot rename a user). Letters, digits and
    /// `_ - . @`, with `@` only in an email form (user@example.com); at most 64 characters on
    /// an instance that uses SAML, at most 20 on any other (checked against the instance).
    #[x_kube(
        validation = Rule::new("self == oldSelf").message("username is immutable"),
        validation = Rule::new(r"!self.contains('@') || self.matches('^[a-zA-Z0-9._-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,63}$')").message("username can include @ only in an email form, like user@example.com")
    )]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-zA-Z0-9_.@-]+$"))]
    pub username: String,

    /// Secret (same namespace) holding the initial password. Read only when the user is created.
    /// Required when the instance manages its own identities (CONNECT_MANAGED), refused
    /// otherwise (SAML and directory users sign in elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,

    /// The user's id in the directory; EXISTING_DIRECTORY instances only. Immutable: set at
    /// creation only.
    #[x_kube(validation = Rule::new("self == oldSelf").message("directoryUserId is immutable"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub directory_user_id: Option<String>,

    /// The user's name and contact details. What Connect requires depends on the instance's
    /// identity management: CONNECT_MANAGED needs firstName, lastName and email; SAML needs
    /// firstName and lastName and refuses email; EXISTING_DIRECTORY needs none (the directory
    /// has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_info: Option<IdentityInfo>,

    /// The agent's phone: softphone or desk phone, auto-accept, after-contact work. Default:
    /// a SOFT_PHONE without auto-accept and without an after-contact work limit.
    #[serde(default)]
    pub phone_config: PhoneConfig,

    /// Per-channel settings beyond `phoneConfig` (UpdateUserConfig). Optional: a channel or a
    /// setting left out is not managed and keeps whatever Connect has. Voice auto-accept,
    /// after-contact work, phone type and number and persistent connection stay in
    /// `phoneConfig`: they are the VOICE channel's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_config: Option<ChannelConfig>,

    /// Routing proficiencies (predefined attribute name and value, level 1.0-5.0). Optional:
    /// omitted = not managed; a list (even empty) is the user's complete set, so proficiencies
    /// added elsewhere are removed.
    #[x_kube(
        validation = Rule::new("self.all(p, self.exists_one(q, q.attributeName == p.attributeName && q.attributeValue == p.attributeValue))").message("proficiencies must not repeat an attributeName/attributeValue pair")
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub proficiencies: Option<Vec<Proficiency>>,

    /// 1 to 10 security profiles, each by id or by name.
    #[x_kube(
        validation = Rule::new("self.all(p, self.exists_one(q, q == p))").message("securityProfiles must not repeat an entry")
    )]
    #[schemars(length(min = 1, max = 10))]
    pub security_profiles: Vec<ProfileRef>,

    /// The routing profile (queues and channels the agent takes contacts from), by id or by
    /// name. Required.
    pub routing_profile: ProfileRef,

    /// Optional agent hierarchy group; omitting it removes the user from any group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy_group: Option<ProfileRef>,

    /// Tags on the Connect user. The operator adds its own ownership tag; tags set on the user
    /// outside this list are removed.
    #[x_kube(
        validation = Rule::new("size(self) <= 49 && self.all(k, !k.startsWith('aws:') && !k.startsWith('connect.userops.dev/') && size(k) <= 128 && size(self[k]) <= 256)").message("at most 49 tags; tag keys must be 1-128 characters, values at most 256, and keys may not start with 'aws:' or 'connect.userops.dev/'")
    )]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,

    /// A USER quick connect to this user, created, kept in sync and deleted with it (removing
    /// this field deletes it). Checked against Connect on the full-describe cadence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_connect: Option<QuickConnectSpec>,

    /// What happens to the Connect user when this resource is deleted: `Delete` (the default)
    /// deletes it and every quick connect that points at it; `Retain` leaves it in Connect and
    /// removes only the operator's ownership tag. Can be changed at any time before deletion.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over an existing Connect user with this username instead of failing with
    /// UserExists (the user is then owned, and deleted with this resource unless
    /// `deletionPolicy: Retain`). Default false.
    #[serde(default)]
    pub adopt_existing: bool,
}

/// The managed quick connect: agents transfer contacts to this user through it.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuickConnectSpec {
    /// Unique among the instance's quick connects.
    #[schemars(length(min = 1, max = 127))]
    pub name: String,
    /// Not managed when omitted (Connect cannot clear a description).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 250))]
    pub description: Option<String>,
    /// The transfer flow, of type AGENT_TRANSFER, by id or by name.
    pub contact_flow: ProfileRef,
}

/// A key of a Secret in the resource's namespace.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
pub struct SecretKeyRef {
    /// The Secret's name (a DNS subdomain: no slashes, so it cannot name another namespace).
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// The key in the Secret's data, as Kubernetes allows it.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// Refers to a Connect object (security profile, routing profile, hierarchy group) by exactly one
/// of its id or its name.
#[derive(
    KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[x_kube(validation = Rule::new("has(self.id) != has(self.name)").message("exactly one of id or name must be set"))]
pub struct ProfileRef {
    /// The object's id (or ARN) in the instance. Exactly one of id and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub id: Option<String>,
    /// The object's name, looked up in the instance (case-sensitive; refused when no object or
    /// more than one has it). Exactly one of id and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 127))]
    pub name: Option<String>,
}

/// What Connect requires depends on the instance's identity management: CONNECT_MANAGED needs
/// firstName, lastName and email; SAML needs firstName and lastName and refuses email;
/// EXISTING_DIRECTORY needs none (the directory has them).
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityInfo {
    /// In Unicode NFC form (composed characters), as Connect requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub first_name: Option<String>,
    /// In Unicode NFC form; at most 256 characters on a CONNECT_MANAGED instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 300))]
    pub last_name: Option<String>,
    /// The user's email address; required on a CONNECT_MANAGED instance, refused on a SAML one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub email: Option<String>,
    /// A second email address Connect sends notifications to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub secondary_email: Option<String>,
    /// E.164, e.g. +14155550100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{1,14}$"))]
    pub mobile: Option<String>,
}

#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.phoneType != 'DESK_PHONE' || has(self.deskPhoneNumber)").message("deskPhoneNumber is required when phoneType is DESK_PHONE")
)]
pub struct PhoneConfig {
    /// SOFT_PHONE (the default: calls in the browser) or DESK_PHONE (calls ring
    /// `deskPhoneNumber`).
    #[serde(default)]
    pub phone_type: PhoneType,
    /// Connect an available agent to an incoming call without their accepting it. Default
    /// false.
    #[serde(default)]
    pub auto_accept: bool,
    /// Seconds of after-contact work, 0 (the default: no limit) to 2000000.
    #[serde(default)]
    #[schemars(range(min = 0, max = 2000000))]
    pub after_contact_work_time_limit: i32,
    /// E.164 desk phone number, e.g. +14155550100 (DESK_PHONE only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{1,14}$"))]
    pub desk_phone_number: Option<String>,
    /// Keep the agent's voice connection open between calls. Not managed when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_connection: Option<bool>,
}

/// Per-channel settings; each channel and each setting is optional (omitted = not managed).
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChannelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceChannelConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChannelSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<ChannelSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<ChannelSettings>,
}

/// VOICE settings that `phoneConfig` does not cover.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VoiceChannelConfig {
    /// Voice enhancement of the agent's audio: VOICE_ISOLATION, NOISE_SUPPRESSION or NONE.
    pub voice_enhancement_mode: VoiceEnhancementMode,
}

/// Auto-accept and after-contact work of one non-voice channel.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChannelSettings {
    /// Connect available agents to contacts of this channel without accepting them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_accept: Option<bool>,
    /// Seconds of after-contact work on this channel, 0 (no limit) to 2000000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2000000))]
    pub after_contact_work_time_limit: Option<i32>,
}

#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VoiceEnhancementMode {
    #[serde(rename = "VOICE_ISOLATION")]
    VoiceIsolation,
    #[serde(rename = "NOISE_SUPPRESSION")]
    NoiseSuppression,
    #[serde(rename = "NONE")]
    None,
}

impl VoiceEnhancementMode {
    pub fn as_str(self) -> &'static str {
        match self {
            VoiceEnhancementMode::VoiceIsolation => "VOICE_ISOLATION",
            VoiceEnhancementMode::NoiseSuppression => "NOISE_SUPPRESSION",
            VoiceEnhancementMode::None => "NONE",
        }
    }
}

/// One routing proficiency: a predefined attribute's value and the agent's level in it.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Proficiency {
    /// Name of a predefined attribute, e.g. Language.
    #[schemars(length(min = 1, max = 100))]
    pub attribute_name: String,
    /// One of the attribute's values, e.g. English.
    #[schemars(length(min = 1, max = 100))]
    pub attribute_value: String,
    /// 1.0 (lowest) to 5.0 (highest); compared to two decimal places.
    #[schemars(range(min = 1.0, max = 5.0))]
    pub level: f64,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            phone_type: PhoneType::SoftPhone,
            auto_accept: false,
            after_contact_work_time_limit: 0,
            desk_phone_number: None,
            persistent_connection: None,
        }
    }
}

#[derive(
    schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum PhoneType {
    #[default]
    #[serde(rename = "SOFT_PHONE")]
    SoftPhone,
    #[serde(rename = "DESK_PHONE")]
    DeskPhone,
}

impl PhoneType {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneType::SoftPhone => "SOFT_PHONE",
            PhoneType::DeskPhone => "DESK_PHONE",
        }
    }
}

#[derive(
    schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum DeletionPolicy {
    /// Delete the Connect user and every quick connect that points at it.
    #[default]
    Delete,
    /// Leave the Connect user in place; only the ownership tag is removed.
    Retain,
}

/// Observed state, written by the operator only (server-side apply, one field manager).
///
/// Amazon Connect is eventually consistent: for up to several minutes after a write it may
/// answer NotFound for what exists and show what is gone. So the operator records what it did,
/// each in its own write before anything depends on it, and decides from this record rather
/// than from one read. Times are RFC 3339 with milliseconds.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConnectUserStatus {
    /// The Connect user's id, recorded as soon as CreateUser returns it (or at adoption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The Connect user's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// When this resource's CreateUser returned `userId` (absent for an adopted user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub user_created_at: Option<String>,
    /// A CreateUser was sent at this time and what it did is not known yet: recorded before the
    /// call, cleared once its user is recorded or Connect refused it. While set, a deletion
    /// looks for the user by username until the settle window after it has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub create_attempted_at: Option<String>,
    /// The operator's last write to the Connect user (creation, adoption or an update).
    /// NotFound counts as the user's absence only a settle window after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_write_at: Option<String>,
    /// The region the user lives in: `spec.region`, or the operator's default region when the
    /// resource was first reconciled (a later change of the default does not move it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The instance, region, account and role the user was created through: a deletion uses
    /// these when the instance object was changed or deleted since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<InstanceRecord>,
    /// The quick connect managed for `spec.quickConnect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_connect_id: Option<String>,
    /// When CreateQuickConnect returned `quickConnectId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub quick_connect_created_at: Option<String>,
    /// A CreateQuickConnect was sent at this time and its id is not recorded yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub quick_connect_attempted_at: Option<String>,
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// kstatus conditions: Ready (True when the Connect user matches the spec), Reconciling
    /// (work in progress or a retryable failure) and Stalled (needs a change to the spec or
    /// in Connect), each with a reason and a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Last time the Connect user was found to match the spec (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced_time: Option<String>,
    /// Progress of the deletion, while the resource is being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupStatus>,
}

/// Where a deletion stands. The user is deleted first; then the managed quick connect and
/// every quick connect that points at the user, from a complete listing right after DeleteUser
/// and from one more once the settle window after DeleteUser has passed (Connect's search may
/// not show a quick connect created shortly before). Only then is the finalizer released.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CleanupStatus {
    /// What the deletion is doing or waiting for, in words (the `Cleanup` column).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pending: String,
    /// When the awaited step is due, while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub waiting_until: Option<String>,
    /// DeleteUser was sent at this time (recorded before the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub delete_attempted_at: Option<String>,
    /// DeleteUser succeeded (or the user's absence is established): from here on the
    /// quick-connect step is finished whatever `deletionPolicy` says.
    #[serde(default)]
    pub user_deleted: bool,
    /// When DeleteUser succeeded; the final quick-connect listing is due a settle window after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub user_deleted_at: Option<String>,
    /// The listing right after DeleteUser is done; the final one is due a settle window after.
    #[serde(default)]
    pub first_scan_done: bool,
    /// Quick connects pointing at the user found by the listings (distinct).
    #[serde(default)]
    pub quick_connects_found: u32,
    /// Quick connects deleted, the managed one included.
    #[serde(default)]
    pub quick_connects_deleted: u32,
    /// Ids of the quick connects deleted, so a later listing that still shows one (Connect's
    /// search lags deletes too) does not count or delete it twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_quick_connects: Vec<String>,
}

/// Where a ConnectUser's user lives and how it was reached (never a credential).
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    /// The Connect instance's id.
    pub instance_id: String,
    /// The AWS region of the instance.
    pub region: String,
    /// The AWS account of the instance; absent when the operator's own credentials were used
    /// and no ARN named the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The IAM role the user was created with (the instance object's `roleArn`), assumed again
    /// for its deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Not a secret (AWS: the external id is not a password); kept so that a deletion can
    /// assume the role after its instance object is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The role session name used with `roleArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_session_name: Option<String>,
    /// The instance object, `Kind/name` (`Kind/namespace/name` for a ConnectInstance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
}

impl ConnectUserStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// The CRD as YAML, exactly as committed in `crds/connectuser.yaml`.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let crd = ConnectUser::crd();
    format!(
        "# Generated by `connect-user-operator crd`; do not edit.\n{}",
        serde_yaml::to_string(&crd).expect("a CRD always serializes to YAML")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_crd_is_current() {
        let committed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/crds/connectuser.yaml"
        ))
        .expect("crds/connectuser.yaml exists");
        assert!(
            committed == crd_yaml(),
            "crds/connectuser.yaml is stale: run `cargo run -- crd > crds/connectuser.yaml`"
        );
    }

    #[test]
    fn defaults_fill_optional_fields() {
        let spec: ConnectUserSpec = serde_yaml::from_str(
            "instanceId: i\nusername: u\nsecurityProfiles: [{name: Agent}]\nroutingProfile: {id: rp}",
        )
        .unwrap();
        assert_eq!(spec.deletion_policy, DeletionPolicy::Delete);
        assert!(!spec.adopt_existing);
        assert_eq!(spec.phone_config, PhoneConfig::default());
    }
}
