//! SDK results as observations: an error's code and HTTP status as the SDK saw them, a
//! response's selected parts as JSON.

use std::collections::BTreeMap;

use aws_sdk_connect::config::http::HttpResponse;
use aws_sdk_connect::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{QuickConnect, User, UserPhoneConfig, UserSearchSummary};
use serde_json::{Map, Value, json};

use super::case::{Observed, SetupFailed};

/// An SDK error as an observation: the modeled error code, or the kind of client-side failure
/// (no response, timeout) when there is none.
pub fn error<E>(e: &SdkError<E, HttpResponse>) -> Observed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = match (e.code(), e) {
        (Some(c), _) => c.to_string(),
        (None, SdkError::DispatchFailure(_)) => "DispatchFailure".into(),
        (None, SdkError::TimeoutError(_)) => "TimeoutError".into(),
        (None, SdkError::ResponseError(_)) => "ResponseError".into(),
        (None, SdkError::ConstructionFailure(_)) => "ConstructionFailure".into(),
        (None, _) => format!("HTTP {}", status.unwrap_or(0)),
    };
    let message = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(e).to_string());
    Observed::Error {
        code,
        status,
        message,
    }
}

/// A result as an observation; `json` picks what the case looks at from a success.
pub fn result<T, E>(
    r: &Result<T, SdkError<E, HttpResponse>>,
    json: impl FnOnce(&T) -> Value,
) -> Observed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r {
        Ok(out) => Observed::Success(json(out)),
        Err(e) => error(e),
    }
}

/// A setup step's result: its error becomes the case's `SetupFailed`, naming the step.
pub trait Setup<T> {
    fn setup(self, step: &str) -> Result<T, SetupFailed>;
}

impl<T, E> Setup<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn setup(self, step: &str) -> Result<T, SetupFailed> {
        self.map_err(|e| SetupFailed(format!("{step}: {}", error(&e))))
    }
}

impl<T> Setup<T> for Option<T> {
    fn setup(self, step: &str) -> Result<T, SetupFailed> {
        self.ok_or_else(|| SetupFailed(format!("{step}: missing from the response")))
    }
}

fn phone(p: &UserPhoneConfig) -> Value {
    let mut o = Map::new();
    o.insert("PhoneType".into(), json!(p.phone_type().as_str()));
    o.insert("AutoAccept".into(), json!(p.auto_accept()));
    o.insert(
        "AfterContactWorkTimeLimit".into(),
        json!(p.after_contact_work_time_limit()),
    );
    if let Some(n) = p.desk_phone_number() {
        o.insert("DeskPhoneNumber".into(), json!(n));
    }
    if let Some(pc) = p.persistent_connection() {
        o.insert("PersistentConnection".into(), json!(pc));
    }
    Value::Object(o)
}

/// Per-channel settings keyed by channel (`/AfterContactWorkConfigs/VOICE`).
fn per_channel<'a, T: 'a>(
    items: impl IntoIterator<Item = &'a T>,
    channel: impl Fn(&T) -> String,
    value: impl Fn(&T) -> Value,
) -> Value {
    let map: BTreeMap<String, Value> = items.into_iter().map(|i| (channel(i), value(i))).collect();
    json!(map)
}

macro_rules! user_common {
    ($u:expr) => {{
        let u = $u;
        json!({
            "Id": u.id(),
            "Username": u.username(),
            "PhoneConfig": u.phone_config().map(phone),
            "RoutingProfileId": u.routing_profile_id(),
            "SecurityProfileIds": u.security_profile_ids(),
            "HierarchyGroupId": u.hierarchy_group_id(),
            "Tags": u.tags(),
            "AutoAcceptConfigs": per_channel(
                u.auto_accept_configs(),
                |c| c.channel().as_str().to_string(),
                |c| json!(c.auto_accept()),
            ),
            "AfterContactWorkConfigs": per_channel(
                u.after_contact_work_configs(),
                |c| c.channel().as_str().to_string(),
                |c| json!(c
                    .after_contact_work_config()
                    .map(|a| a.after_contact_work_time_limit())),
            ),
            "PhoneNumberConfigs": per_channel(
                u.phone_number_configs(),
                |c| c.channel().as_str().to_string(),
                |c| json!(c.phone_type().as_str()),
            ),
            "PersistentConnectionConfigs": per_channel(
                u.persistent_connection_configs(),
                |c| c.channel().as_str().to_string(),
                |c| json!(c.persistent_connection()),
            ),
        })
    }};
}

/// DescribeUser's `User`, as far as cases look at it.
pub fn user(u: &User) -> Value {
    let mut v = user_common!(u);
    if let Some(i) = u.identity_info() {
        v["IdentityInfo"] = json!({
            "FirstName": i.first_name(),
            "LastName": i.last_name(),
            "Email": i.email(),
        });
    }
    v
}

/// SearchUsers' `UserSearchSummary`.
pub fn user_summary(u: &UserSearchSummary) -> Value {
    let mut v = user_common!(u);
    if let Some(i) = u.identity_info() {
        v["IdentityInfo"] = json!({"FirstName": i.first_name(), "LastName": i.last_name()});
    }
    v
}

pub fn quick_connect(q: &QuickConnect) -> Value {
    let config = q.quick_connect_config();
    json!({
        "QuickConnectId": q.quick_connect_id(),
        "Name": q.name(),
        "Description": q.description(),
        "Tags": q.tags(),
        "QuickConnectType": config.map(|c| c.quick_connect_type().as_str()),
        "UserId": config.and_then(|c| c.user_config()).map(|u| u.user_id()),
        "ContactFlowId": config.and_then(|c| c.user_config()).map(|u| u.contact_flow_id()),
    })
}
