//! Response shapes (User, UserSearchSummary, QuickConnect, summaries). Absent members are left
//! out rather than sent as `null`; timestamps are epoch seconds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::model::{SimQuickConnect, SimUser};

pub fn epoch(t: &DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// Builds an object, dropping `null`s and empty lists/maps (Connect omits empty collections).
#[derive(Default)]
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Obj {
        Obj::default()
    }

    pub fn set(mut self, key: &str, value: impl Serialize) -> Obj {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        let empty = match &value {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if !empty {
            self.0.insert(key.to_string(), value);
        }
        self
    }

    pub fn done(self) -> Value {
        Value::Object(self.0)
    }
}

/// How a response states after-contact-work limits.
#[derive(Clone, Copy, PartialEq)]
enum AcwUnit {
    Seconds,
    Milliseconds,
}

fn user_common(u: &SimUser, unit: AcwUnit) -> Obj {
    let mut phone = u.phone_config();
    let mut per_channel = u.after_contact_work_configs.clone();
    if unit == AcwUnit::Milliseconds {
        let ms = |limit: &mut Option<i32>| *limit = limit.map(|s| s.saturating_mul(1000));
        ms(&mut phone.after_contact_work_time_limit);
        for c in &mut per_channel {
            ms(&mut c.after_contact_work_config.after_contact_work_time_limit);
            if let Some(cb) = &mut c.agent_first_callback_after_contact_work_config {
                ms(&mut cb.after_contact_work_time_limit);
            }
        }
    }
    Obj::new()
        .set("Id", &u.id)
        .set("Arn", &u.arn)
        .set("Username", &u.username)
        .set("DirectoryUserId", &u.directory_user_id)
        .set("PhoneConfig", phone)
        .set("SecurityProfileIds", &u.security_profile_ids)
        .set("RoutingProfileId", &u.routing_profile_id)
        .set("HierarchyGroupId", &u.hierarchy_group_id)
        .set("Tags", &u.tags)
        .set("AutoAcceptConfigs", &u.auto_accept_configs)
        .set("AfterContactWorkConfigs", per_channel)
        .set("PhoneNumberConfigs", &u.phone_number_configs)
        .set(
            "PersistentConnectionConfigs",
            &u.persistent_connection_configs,
        )
        .set("VoiceEnhancementConfigs", &u.voice_enhancement_configs)
}

/// `User` (DescribeUser): limits in seconds, as written. The password is never returned.
pub fn user(u: &SimUser) -> Value {
    user_common(u, AcwUnit::Seconds)
        .set("IdentityInfo", &u.identity_info)
        .set("LastModifiedTime", epoch(&u.last_modified))
        .set("LastModifiedRegion", &u.last_modified_region)
        .done()
}

/// `UserSearchSummary` (SearchUsers): identity is the "lite" form, first and last name only.
///
/// After-contact-work limits are in milliseconds: the operation's documentation says
/// "AfterContactWorkTimeLimit is returned in milliseconds" and UserPhoneConfig's says the same
/// of its member. The per-channel AfterContactWorkConfig's documentation says only "in
/// seconds", without a word on SearchUsers; its member has the same name and the same shape
/// (`AfterContactWorkTimeLimit`) as the one the operation's note covers, so it is returned in
/// milliseconds too (the reading that takes the operation-level note at its word). At most
/// 2,000,000 s are accepted, so the milliseconds fit the model's 32-bit integer.
pub fn user_search_summary(u: &SimUser) -> Value {
    let lite = u.identity_info.as_ref().map(|i| {
        Obj::new()
            .set("FirstName", &i.first_name)
            .set("LastName", &i.last_name)
            .done()
    });
    user_common(u, AcwUnit::Milliseconds)
        .set("IdentityInfo", lite)
        .done()
}

/// `UserSummary` (ListUsers).
pub fn user_summary(u: &SimUser) -> Value {
    Obj::new()
        .set("Id", &u.id)
        .set("Arn", &u.arn)
        .set("Username", &u.username)
        .set("LastModifiedTime", epoch(&u.last_modified))
        .set("LastModifiedRegion", &u.last_modified_region)
        .done()
}

fn quick_connect_config(q: &SimQuickConnect) -> Value {
    let mut config = Obj::new().set("QuickConnectType", &q.quick_connect_type);
    match q.quick_connect_type.as_str() {
        "USER" => {
            config = config.set(
                "UserConfig",
                Obj::new()
                    .set("UserId", &q.user_id)
                    .set("ContactFlowId", &q.contact_flow_id)
                    .done(),
            )
        }
        "QUEUE" => {
            config = config.set(
                "QueueConfig",
                Obj::new()
                    .set("QueueId", &q.queue_id)
                    .set("ContactFlowId", &q.contact_flow_id)
                    .done(),
            )
        }
        "PHONE_NUMBER" => {
            config = config.set(
                "PhoneConfig",
                Obj::new().set("PhoneNumber", &q.phone_number).done(),
            )
        }
        "FLOW" => {
            config = config.set(
                "FlowConfig",
                Obj::new().set("ContactFlowId", &q.contact_flow_id).done(),
            )
        }
        _ => {}
    }
    config.done()
}

/// `QuickConnect` (DescribeQuickConnect, SearchQuickConnects).
pub fn quick_connect(q: &SimQuickConnect) -> Value {
    Obj::new()
        .set("QuickConnectARN", &q.arn)
        .set("QuickConnectId", &q.id)
        .set("Name", &q.name)
        .set("Description", &q.description)
        .set("QuickConnectConfig", quick_connect_config(q))
        .set("Tags", &q.tags)
        .set("LastModifiedTime", epoch(&q.last_modified))
        .set("LastModifiedRegion", &q.last_modified_region)
        .done()
}

/// `QuickConnectSummary` (ListQuickConnects): no target.
pub fn quick_connect_summary(q: &SimQuickConnect) -> Value {
    Obj::new()
        .set("Id", &q.id)
        .set("Arn", &q.arn)
        .set("Name", &q.name)
        .set("QuickConnectType", &q.quick_connect_type)
        .set("LastModifiedTime", epoch(&q.last_modified))
        .set("LastModifiedRegion", &q.last_modified_region)
        .done()
}
