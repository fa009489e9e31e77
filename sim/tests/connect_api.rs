//! The Connect emulator through the real `aws-sdk-connect` client: every operation round-trips,
//! errors arrive as the SDK's typed errors, paginators cross page boundaries, quotas throttle
//! and the SDK retries them, faults and hooks fire, and invalid input is refused as Connect
//! refuses it.

mod aws_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, Channel,
    ControlPlaneTagFilter, ControlPlaneUserAttributeFilter, FlowQuickConnectConfig,
    HierarchyGroupCondition, PhoneNumberConfig, PhoneNumberQuickConnectConfig, PhoneType,
    QueueQuickConnectConfig, QuickConnectConfig, QuickConnectSearchCriteria,
    QuickConnectSearchFilter, QuickConnectType, StringComparisonType, StringCondition,
    TagCondition, UserIdentityInfo, UserPhoneConfig, UserProficiency, UserProficiencyDisassociate,
    UserQuickConnectConfig, UserSearchCriteria, UserSearchFilter, VoiceEnhancementConfig,
    VoiceEnhancementMode,
};
use aws_support::test_key_signature_lines;
use sim::aws::{AccessKey, TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, TEST_SECRET_ACCESS_KEY};
use sim::connect::{
    CallRecord, ConnectConfig, ConnectSim, Fault, FaultKind, InstanceSeed, Quota, SimQuickConnect,
    SimUser,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
const OTHER_INSTANCE: &str = "99999999-2222-3333-4444-555555555555";
const PASSWORD: &str = "S3cret-Passw0rd-xyz";
const OWNER_TAG: &str = "connect.userops.dev/owner";

fn seed() -> InstanceSeed {
    InstanceSeed::standard(INSTANCE)
}

fn id_of(list: &[(String, String)], name: &str) -> String {
    list.iter()
        .find(|(_, n)| n == name)
        .unwrap_or_else(|| panic!("{name} seeded"))
        .0
        .clone()
}

fn routing(name: &str) -> String {
    id_of(&seed().routing_profiles, name)
}

fn security(name: &str) -> String {
    id_of(&seed().security_profiles, name)
}

fn hierarchy(name: &str) -> String {
    id_of(&seed().hierarchy_groups, name)
}

fn flow(name: &str) -> String {
    id_of(&seed().contact_flows, name)
}

fn test_key() -> AccessKey {
    AccessKey {
        access_key_id: TEST_ACCESS_KEY_ID.into(),
        secret_access_key: TEST_SECRET_ACCESS_KEY.into(),
        session_token: None,
        expiration: None,
    }
}

fn client_as(sim: &ConnectSim, region: &str, key: &AccessKey, retry: RetryConfig) -> Client {
    let config = aws_sdk_connect::Config::builder()
        .endpoint_url(sim.endpoint())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(
            &key.access_key_id,
            &key.secret_access_key,
            key.session_token.clone(),
            key.expiration,
            "test",
        ))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// A client signing with the test account's test key.
fn client_with(sim: &ConnectSim, region: &str, retry: RetryConfig) -> Client {
    client_as(sim, region, &test_key(), retry)
}

/// A seeded emulator and a client that does not retry (so raw errors are visible).
async fn start() -> (ConnectSim, Client) {
    start_with(ConnectConfig::default()).await
}

async fn start_with(config: ConnectConfig) -> (ConnectSim, Client) {
    let sim = ConnectSim::start(config).await.expect("emulator starts");
    sim.seed_instance(seed());
    let client = client_with(&sim, "us-east-1", RetryConfig::disabled());
    (sim, client)
}

/// The error code (`x-amzn-ErrorType`) and HTTP status of a failed call.
fn code<E: ProvideErrorMetadata, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_string()
}

fn message<E: ProvideErrorMetadata, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    e.message().unwrap_or_default().to_string()
}

fn ops(calls: &[CallRecord]) -> Vec<&str> {
    calls.iter().map(|c| c.operation.as_str()).collect()
}

/// The identity a CONNECT_MANAGED instance requires of every user: first and last name and an
/// email (CreateUser and UserIdentityInfo documentation).
fn identity(first: &str) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .first_name(first)
        .last_name("Tester")
        .email(format!("{first}@example.com"))
        .build()
}

async fn create_user(client: &Client, username: &str) -> (String, String) {
    let out = client
        .create_user()
        .instance_id(INSTANCE)
        .username(username)
        .password(PASSWORD)
        .identity_info(identity(username))
        .security_profile_ids(security("Agent"))
        .routing_profile_id(routing("Basic Routing Profile"))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create {username}: {}",
                aws_sdk_connect::error::DisplayErrorContext(&e)
            )
        });
    (
        out.user_id().unwrap().to_string(),
        out.user_arn().unwrap().to_string(),
    )
}

fn user_qc(name: &str, user: &str) -> SimQuickConnect {
    SimQuickConnect {
        name: name.into(),
        quick_connect_type: "USER".into(),
        user_id: Some(user.into()),
        contact_flow_id: Some(flow("Default agent transfer")),
        ..Default::default()
    }
}

fn sim_user(name: &str) -> SimUser {
    SimUser {
        username: name.into(),
        routing_profile_id: routing("Basic Routing Profile"),
        security_profile_ids: vec![security("Agent")],
        ..Default::default()
    }
}

#[tokio::test]
async fn every_user_operation_round_trips() {
    let (sim, client) = start().await;
    let create = || {
        client
            .create_user()
            .instance_id(INSTANCE)
            .username("alice")
            .password(PASSWORD)
            .identity_info(
                UserIdentityInfo::builder()
                    .first_name("Alice")
                    .last_name("Liddell")
                    .email("alice@example.com")
                    .mobile("+14155550100")
                    .build(),
            )
            .security_profile_ids(security("Agent"))
            .security_profile_ids(security("QualityAnalyst"))
            .routing_profile_id(routing("Basic Routing Profile"))
            .hierarchy_group_id(hierarchy("Tier1"))
            .tags(OWNER_TAG, "uid-1")
            .tags("team", "support")
    };
    let auto_accept = |channel: Channel, on: bool| {
        AutoAcceptConfig::builder()
            .channel(channel)
            .auto_accept(on)
            .build()
            .unwrap()
    };
    // PhoneConfig and the per-channel lists configure the same settings: CreateUser refuses
    // both at once (here PhoneConfig.AutoAccept with AutoAcceptConfigs), naming both.
    let both = create()
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .auto_accept(true)
                .build(),
        )
        .auto_accept_configs(auto_accept(Channel::Chat, true))
        .send()
        .await
        .unwrap_err();
    assert!(
        both.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "{}",
        code(&both)
    );
    assert!(
        message(&both).contains("PhoneConfig.AutoAccept")
            && message(&both).contains("AutoAcceptConfigs"),
        "{}",
        message(&both)
    );
    assert!(sim.users(INSTANCE).is_empty());
    // The recommended form: the VOICE settings as per-channel entries.
    let created = create()
        .auto_accept_configs(auto_accept(Channel::Voice, true))
        .auto_accept_configs(auto_accept(Channel::Chat, true))
        .after_contact_work_configs(
            AfterContactWorkConfigPerChannel::builder()
                .channel(Channel::Voice)
                .after_contact_work_config(
                    AfterContactWorkConfig::builder()
                        .after_contact_work_time_limit(30)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .phone_number_configs(
            PhoneNumberConfig::builder()
                .channel(Channel::Voice)
                .phone_type(PhoneType::DeskPhone)
                .phone_number("+14155550101")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let id = created.user_id().unwrap().to_string();
    let arn = created.user_arn().unwrap().to_string();
    assert_eq!(
        arn,
        format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/agent/{id}")
    );

    let user = client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let user = user.user().unwrap();
    assert_eq!(user.username(), Some("alice"));
    assert_eq!(user.arn(), Some(arn.as_str()));
    let identity = user.identity_info().unwrap();
    assert_eq!(
        (identity.first_name(), identity.last_name()),
        (Some("Alice"), Some("Liddell"))
    );
    assert_eq!(identity.mobile(), Some("+14155550100"));
    // PhoneConfig is the view of the VOICE entries.
    let phone = user.phone_config().unwrap();
    assert_eq!(phone.phone_type(), &PhoneType::DeskPhone);
    assert!(phone.auto_accept());
    assert_eq!(phone.after_contact_work_time_limit(), 30);
    assert_eq!(phone.desk_phone_number(), Some("+14155550101"));
    assert_eq!(
        user.security_profile_ids(),
        [security("Agent"), security("QualityAnalyst")]
    );
    assert_eq!(user.hierarchy_group_id(), Some(hierarchy("Tier1").as_str()));
    assert_eq!(
        user.tags().unwrap().get(OWNER_TAG).map(String::as_str),
        Some("uid-1")
    );
    assert_eq!(user.auto_accept_configs().len(), 2);
    assert_eq!(user.phone_number_configs()[0].channel(), &Channel::Voice);
    assert!(user.last_modified_time().is_some());
    assert_eq!(user.last_modified_region(), Some("us-east-1"));
    // The password is stored (tests can check it) but never returned.
    assert_eq!(
        sim.user(INSTANCE, &id).unwrap().password.as_deref(),
        Some(PASSWORD)
    );

    let list = client
        .list_users()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    assert_eq!(list.user_summary_list().len(), 1);
    assert_eq!(list.user_summary_list()[0].username(), Some("alice"));
    assert!(list.next_token().is_none());

    client
        .update_user_identity_info()
        .instance_id(INSTANCE)
        .user_id(&id)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("Alicia")
                .last_name("L")
                .email("alicia@example.com")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The SDK leaves out `AutoAccept: false` and `AfterContactWorkTimeLimit: 0`; the update
    // still switches them off.
    client
        .update_user_phone_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .update_user_routing_profile()
        .instance_id(INSTANCE)
        .user_id(&id)
        .routing_profile_id(routing("Sales"))
        .send()
        .await
        .unwrap();
    client
        .update_user_security_profiles()
        .instance_id(INSTANCE)
        .user_id(&id)
        .security_profile_ids(security("Admin"))
        .send()
        .await
        .unwrap();
    client
        .update_user_hierarchy()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .auto_accept_configs(
            AutoAcceptConfig::builder()
                .channel(Channel::Chat)
                .auto_accept(false)
                .build()
                .unwrap(),
        )
        .after_contact_work_configs(
            AfterContactWorkConfigPerChannel::builder()
                .channel(Channel::Voice)
                .after_contact_work_config(
                    AfterContactWorkConfig::builder()
                        .after_contact_work_time_limit(45)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .voice_enhancement_configs(
            VoiceEnhancementConfig::builder()
                .channel(Channel::Voice)
                .voice_enhancement_mode(VoiceEnhancementMode::NoiseSuppression)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let stored = sim.user(INSTANCE, &id).unwrap();
    let identity = stored.identity_info.clone().unwrap();
    assert_eq!(identity.first_name.as_deref(), Some("Alicia"));
    assert_eq!(
        identity.mobile, None,
        "UpdateUserIdentityInfo replaces the whole identity"
    );
    // UpdateUserPhoneConfig switched the VOICE entries to a soft phone without auto-accept;
    // UpdateUserConfig then set the VOICE limit, which the PhoneConfig view shows.
    let phone = stored.phone_config();
    assert_eq!(phone.phone_type.as_deref(), Some("SOFT_PHONE"));
    assert_eq!(
        (phone.auto_accept, phone.after_contact_work_time_limit),
        (Some(false), Some(45))
    );
    assert_eq!(phone.desk_phone_number, None);
    assert_eq!(stored.routing_profile_id, routing("Sales"));
    assert_eq!(stored.security_profile_ids, vec![security("Admin")]);
    assert_eq!(
        stored.hierarchy_group_id, None,
        "no HierarchyGroupId removes the group"
    );
    assert_eq!(
        stored.auto_accept_configs.len(),
        2,
        "the CHAT entry was replaced, not added"
    );
    assert!(stored.auto_accept_configs.iter().all(|a| !a.auto_accept));
    let voice_limit = stored
        .after_contact_work_configs
        .iter()
        .find(|a| a.channel == "VOICE")
        .unwrap();
    assert_eq!(
        voice_limit
            .after_contact_work_config
            .after_contact_work_time_limit,
        Some(45)
    );
    assert_eq!(
        stored.voice_enhancement_configs[0].voice_enhancement_mode,
        "NOISE_SUPPRESSION"
    );

    client
        .delete_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let gone = client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let again = client
        .delete_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        again
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );

    let calls = sim.calls();
    assert_eq!(
        ops(&calls),
        [
            "CreateUser",
            "CreateUser",
            "DescribeUser",
            "ListUsers",
            "UpdateUserIdentityInfo",
            "UpdateUserPhoneConfig",
            "UpdateUserRoutingProfile",
            "UpdateUserSecurityProfiles",
            "UpdateUserHierarchy",
            "UpdateUserConfig",
            "DeleteUser",
            "DescribeUser",
            "DeleteUser"
        ]
    );
    assert_eq!(calls[0].status, 400, "the refused CreateUser is logged");
    assert_eq!(
        calls[1].target.as_deref(),
        Some(id.as_str()),
        "CreateUser logs the new id"
    );
    assert_eq!(
        calls[1].params.get("Username").map(String::as_str),
        Some("alice")
    );
    assert!(
        calls
            .iter()
            .all(|c| !c.params.values().any(|v| v.contains(PASSWORD)))
    );
    assert_eq!(calls[10].target.as_deref(), Some(id.as_str()));
    assert_eq!(
        (calls[12].status, calls[12].error_type.as_deref()),
        (404, Some("ResourceNotFoundException"))
    );
    assert!(
        calls
            .iter()
            .all(|c| c.instance_id.as_deref() == Some(INSTANCE))
    );
    assert!(calls.iter().all(|c| c.region == "us-east-1"
        && c.access_key_id == TEST_ACCESS_KEY_ID
        && c.account_id == TEST_ACCOUNT_ID
        && c.principal_arn == "arn:aws:iam::123456789012:user/sim-test"));
}

#[tokio::test]
async fn proficiencies_round_trip() {
    let (_sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let p = |name: &str, value: &str, level: f32| {
        UserProficiency::builder()
            .attribute_name(name)
            .attribute_value(value)
            .level(level)
            .build()
            .unwrap()
    };
    client
        .associate_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(p("Language", "English", 4.0))
        .user_proficiencies(p("Language", "French", 2.0))
        .send()
        .await
        .unwrap();
    client
        .update_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(p("Language", "French", 3.0))
        .send()
        .await
        .unwrap();
    let all: Vec<_> = client
        .list_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let levels: Vec<(String, f32)> = all
        .iter()
        .map(|p| (p.attribute_value().to_string(), p.level()))
        .collect();
    assert_eq!(
        levels,
        [("English".to_string(), 4.0), ("French".to_string(), 3.0)]
    );

    let not_associated = client
        .update_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(p("Language", "German", 3.0))
        .send()
        .await
        .unwrap_err();
    assert!(
        not_associated
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    let bad_level = client
        .associate_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(p("Language", "German", 6.0))
        .send()
        .await
        .unwrap_err();
    assert!(
        bad_level
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    assert!(
        message(&bad_level).contains("Level"),
        "{}",
        message(&bad_level)
    );

    client
        .disassociate_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(
            UserProficiencyDisassociate::builder()
                .attribute_name("Language")
                .attribute_value("English")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let left = client
        .list_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(left.user_proficiency_list().len(), 1);
    assert_eq!(left.user_proficiency_list()[0].attribute_value(), "French");
    assert!(left.last_modified_time().is_some());
}

#[tokio::test]
async fn every_quick_connect_operation_round_trips_and_delete_user_does_not_cascade() {
    let (sim, client) = start().await;
    let (alice, _) = create_user(&client, "alice").await;
    let configs = [
        (
            "To Alice",
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::User)
                .user_config(
                    UserQuickConnectConfig::builder()
                        .user_id(&alice)
                        .contact_flow_id(flow("Default agent transfer"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        ),
        (
            "Sales queue",
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::Queue)
                .queue_config(
                    QueueQuickConnectConfig::builder()
                        .queue_id(id_of(&seed().queues, "Sales"))
                        .contact_flow_id(flow("Sales transfer"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        ),
        (
            "Head office",
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::PhoneNumber)
                .phone_config(
                    PhoneNumberQuickConnectConfig::builder()
                        .phone_number("+442071234567")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        ),
        (
            "A flow",
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::Flow)
                .flow_config(
                    FlowQuickConnectConfig::builder()
                        .contact_flow_id(flow("Sales transfer"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        ),
    ];
    let mut ids = Vec::new();
    for (name, config) in configs {
        let out = client
            .create_quick_connect()
            .instance_id(INSTANCE)
            .name(name)
            .description(format!("{name} (test)"))
            .quick_connect_config(config)
            .tags("team", "support")
            .send()
            .await
            .unwrap();
        let id = out.quick_connect_id().unwrap().to_string();
        assert!(
            out.quick_connect_arn()
                .unwrap()
                .ends_with(&format!("/transfer-destination/{id}"))
        );
        ids.push(id);
    }

    let described = client
        .describe_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&ids[0])
        .send()
        .await
        .unwrap();
    let qc = described.quick_connect().unwrap();
    assert_eq!(qc.name(), Some("To Alice"));
    assert_eq!(qc.description(), Some("To Alice (test)"));
    let config = qc.quick_connect_config().unwrap();
    assert_eq!(config.quick_connect_type(), &QuickConnectType::User);
    assert_eq!(config.user_config().unwrap().user_id(), alice);
    assert_eq!(
        qc.tags().unwrap().get("team").map(String::as_str),
        Some("support")
    );

    // Type filter: the query key repeats (`?QuickConnectTypes=USER&QuickConnectTypes=FLOW`).
    let filtered = client
        .list_quick_connects()
        .instance_id(INSTANCE)
        .quick_connect_types(QuickConnectType::User)
        .quick_connect_types(QuickConnectType::Flow)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = filtered
        .quick_connect_summary_list()
        .iter()
        .filter_map(|s| s.name())
        .collect();
    assert_eq!(names, ["To Alice", "A flow"]);
    assert_eq!(
        sim.calls()
            .last()
            .unwrap()
            .params
            .get("QuickConnectTypes")
            .map(String::as_str),
        Some("USER,FLOW")
    );

    // DeleteUser leaves the USER quick connect pointing at nobody, as Connect does.
    client
        .delete_user()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .send()
        .await
        .unwrap();
    let dangling = client
        .describe_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        dangling
            .quick_connect()
            .unwrap()
            .quick_connect_config()
            .unwrap()
            .user_config()
            .unwrap()
            .user_id(),
        alice
    );
    assert_eq!(sim.quick_connects(INSTANCE).len(), 4);

    for id in &ids {
        client
            .delete_quick_connect()
            .instance_id(INSTANCE)
            .quick_connect_id(id)
            .send()
            .await
            .unwrap();
    }
    assert!(sim.quick_connects(INSTANCE).is_empty());
    let gone = client
        .describe_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&ids[0])
        .send()
        .await
        .unwrap_err();
    assert!(
        gone.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let again = client
        .delete_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&ids[1])
        .send()
        .await
        .unwrap_err();
    assert!(
        again
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let deletes: Vec<_> = sim
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteQuickConnect" && c.status == 200)
        .collect();
    assert_eq!(
        deletes
            .iter()
            .filter_map(|c| c.target.clone())
            .collect::<Vec<_>>(),
        ids
    );
}

#[tokio::test]
async fn tags_on_users_and_quick_connects_by_arn() {
    let (sim, client) = start().await;
    let (id, arn) = create_user(&client, "alice").await;
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(OWNER_TAG, "uid-1")
        .tags("team", "support")
        .tags("cost-center", "42")
        .send()
        .await
        .unwrap();
    // Two keys in one call: `?tagKeys=team&tagKeys=cost-center`.
    client
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("team")
        .tag_keys("cost-center")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("uid-1"));
    assert_eq!(sim.user(INSTANCE, &id).unwrap().tags.len(), 1);

    let qc_id = sim.insert_quick_connect(INSTANCE, user_qc("To Alice", &id));
    let qc_arn = sim.quick_connect(INSTANCE, &qc_id).unwrap().arn;
    client
        .tag_resource()
        .resource_arn(&qc_arn)
        .tags("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sim.quick_connect(INSTANCE, &qc_id)
            .unwrap()
            .tags
            .get("k")
            .map(String::as_str),
        Some("v")
    );
    let calls = sim.calls();
    assert_eq!(
        calls.last().unwrap().target.as_deref(),
        Some(qc_arn.as_str())
    );
    assert_eq!(calls.last().unwrap().instance_id.as_deref(), Some(INSTANCE));

    let reserved = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("aws:cloudformation:stack", "x")
        .send()
        .await
        .unwrap_err();
    assert!(
        reserved
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "{}",
        code(&reserved)
    );
    let long_value = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("k", "v".repeat(257))
        .send()
        .await
        .unwrap_err();
    assert!(
        long_value
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    let mut too_many = client.tag_resource().resource_arn(&arn);
    for i in 0..50 {
        too_many = too_many.tags(format!("k{i}"), "v");
    }
    let too_many = too_many.send().await.unwrap_err();
    assert!(
        too_many
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "51 tags in total"
    );

    let unknown = arn.replace(&id, &uuid::Uuid::new_v4().to_string());
    let e = client
        .list_tags_for_resource()
        .resource_arn(&unknown)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let other_region = arn.replace("us-east-1", "eu-west-2");
    let e = client
        .tag_resource()
        .resource_arn(&other_region)
        .tags("k", "v")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .untag_resource()
        .resource_arn("not-an-arn")
        .tag_keys("k")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
}

#[tokio::test]
async fn catalog_lists_page_and_describe_instance_reports_identity_management() {
    let (_sim, client) = start().await;
    let instance = client
        .describe_instance()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    let instance = instance.instance().unwrap();
    assert_eq!(instance.id(), Some(INSTANCE));
    assert_eq!(
        instance.identity_management_type(),
        Some(&aws_sdk_connect::types::DirectoryType::ConnectManaged)
    );

    let security: Vec<String> = client
        .list_security_profiles()
        .instance_id(INSTANCE)
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .filter_map(|s| s.name().map(str::to_string))
        .collect();
    assert_eq!(
        security,
        ["Agent", "Admin", "CallCenterManager", "QualityAnalyst"]
    );
    let routing_profiles = client
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    let first = &routing_profiles.routing_profile_summary_list()[0];
    assert_eq!(first.name(), Some("Basic Routing Profile"));
    assert_eq!(first.id(), Some(routing("Basic Routing Profile").as_str()));
    assert!(first.arn().unwrap().ends_with(&format!(
        "/routing-profile/{}",
        routing("Basic Routing Profile")
    )));
    let groups = client
        .list_user_hierarchy_groups()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = groups
        .user_hierarchy_group_summary_list()
        .iter()
        .filter_map(|g| g.name())
        .collect();
    assert_eq!(names, ["Tier1", "Tier2"]);
    let flows = client
        .list_contact_flows()
        .instance_id(INSTANCE)
        .contact_flow_types(aws_sdk_connect::types::ContactFlowType::AgentTransfer)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = flows
        .contact_flow_summary_list()
        .iter()
        .filter_map(|f| f.name())
        .collect();
    assert_eq!(names, ["Default agent transfer"]);

    let too_big = client
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .max_results(1001)
        .send()
        .await
        .unwrap_err();
    assert!(
        too_big
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    assert!(message(&too_big).contains("MaxResults"));
}

#[tokio::test]
async fn paginators_get_every_page_in_creation_order() {
    let (sim, client) = start().await;
    let names: Vec<String> = (0..7).map(|i| format!("user-{i}")).collect();
    for n in &names {
        sim.insert_user(INSTANCE, sim_user(n));
    }
    let listed: Vec<String> = client
        .list_users()
        .instance_id(INSTANCE)
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect();
    assert_eq!(listed, names);
    let searched: Vec<String> = client
        .search_users()
        .instance_id(INSTANCE)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect();
    assert_eq!(searched, names);
    let first = client
        .search_users()
        .instance_id(INSTANCE)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(first.approximate_total_count(), Some(7));
    assert!(first.next_token().is_some());

    let target = sim.users(INSTANCE)[0].id.clone();
    let qcs: Vec<String> = (0..5)
        .map(|i| sim.insert_quick_connect(INSTANCE, user_qc(&format!("qc-{i}"), &target)))
        .collect();
    sim.clear_calls();
    let listed: Vec<String> = client
        .list_quick_connects()
        .instance_id(INSTANCE)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .filter_map(|q| q.id().map(str::to_string))
        .collect();
    assert_eq!(listed, qcs);
    let searched: Vec<String> = client
        .search_quick_connects()
        .instance_id(INSTANCE)
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .filter_map(|q| q.quick_connect_id().map(str::to_string))
        .collect();
    assert_eq!(searched, qcs);
    // 3 pages of 2, and exactly one page of 5: a full last page carries no NextToken.
    assert_eq!(
        ops(&sim.calls()),
        [
            "ListQuickConnects",
            "ListQuickConnects",
            "ListQuickConnects",
            "SearchQuickConnects"
        ]
    );

    // Records deleted between pages do not make the next page skip a survivor.
    let page1 = client
        .search_quick_connects()
        .instance_id(INSTANCE)
        .max_results(2)
        .send()
        .await
        .unwrap();
    sim.remove_quick_connect(INSTANCE, &qcs[0]);
    sim.remove_quick_connect(INSTANCE, &qcs[1]);
    let page2 = client
        .search_quick_connects()
        .instance_id(INSTANCE)
        .max_results(2)
        .next_token(page1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = page2
        .quick_connects()
        .iter()
        .filter_map(|q| q.quick_connect_id())
        .collect();
    assert_eq!(ids, [qcs[2].as_str(), qcs[3].as_str()]);

    let bad = client
        .list_users()
        .instance_id(INSTANCE)
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(
        bad.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
}

fn username_is(comparison: StringComparisonType, value: &str) -> UserSearchCriteria {
    field_is("Username", comparison, value)
}

fn field_is(field: &str, comparison: StringComparisonType, value: &str) -> UserSearchCriteria {
    UserSearchCriteria::builder()
        .string_condition(
            StringCondition::builder()
                .field_name(field)
                .value(value)
                .comparison_type(comparison)
                .build(),
        )
        .build()
}

fn tag(key: &str, value: &str) -> TagCondition {
    TagCondition::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
}

async fn search(
    client: &Client,
    criteria: Option<UserSearchCriteria>,
    filter: Option<UserSearchFilter>,
) -> Vec<String> {
    let out = client
        .search_users()
        .instance_id(INSTANCE)
        .set_search_criteria(criteria)
        .set_search_filter(filter)
        .send()
        .await
        .unwrap();
    out.users()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn search_users_by_criteria_and_tag_filter() {
    let (sim, client) = start().await;
    for (name, owner, team) in [
        ("alice", "A", "red"),
        ("alfred", "A", "blue"),
        ("bob", "B", "red"),
        ("carol", "", "red"),
    ] {
        let mut u = sim_user(name);
        if !owner.is_empty() {
            u.tags.insert(OWNER_TAG.into(), owner.into());
        }
        u.tags.insert("team".into(), team.into());
        u.identity_info = Some(sim::connect::IdentityInfo {
            first_name: Some(name.to_uppercase()),
            ..Default::default()
        });
        if name == "bob" {
            u.hierarchy_group_id = Some(hierarchy("Tier2"));
            u.routing_profile_id = routing("Sales");
        }
        sim.insert_user(INSTANCE, u);
    }
    use StringComparisonType::*;
    assert_eq!(
        search(&client, Some(username_is(Exact, "alice")), None).await,
        ["alice"]
    );
    assert_eq!(
        search(&client, Some(username_is(StartsWith, "al")), None).await,
        ["alice", "alfred"]
    );
    assert_eq!(
        search(&client, Some(username_is(Contains, "ro")), None).await,
        ["carol"]
    );
    assert!(
        search(&client, Some(username_is(Contains, "o")), None)
            .await
            .is_empty(),
        "CONTAINS needs 2+ characters"
    );
    assert_eq!(
        search(&client, Some(field_is("FirstName", Exact, "BOB")), None).await,
        ["bob"]
    );
    assert_eq!(
        search(
            &client,
            Some(field_is("RoutingProfileId", Exact, &routing("Sales"))),
            None
        )
        .await,
        ["bob"]
    );
    let alice_id = sim.user_by_name(INSTANCE, "alice").unwrap().id;
    assert_eq!(
        search(
            &client,
            Some(field_is("resourceId", Exact, &alice_id)),
            None
        )
        .await,
        ["alice"]
    );
    let either = UserSearchCriteria::builder()
        .or_conditions(username_is(Exact, "bob"))
        .or_conditions(username_is(Exact, "carol"))
        .build();
    assert_eq!(search(&client, Some(either), None).await, ["bob", "carol"]);
    let both = UserSearchCriteria::builder()
        .and_conditions(username_is(StartsWith, "al"))
        .and_conditions(field_is("FirstName", Exact, "ALFRED"))
        .build();
    assert_eq!(search(&client, Some(both), None).await, ["alfred"]);
    let in_group = UserSearchCriteria::builder()
        .hierarchy_group_condition(
            HierarchyGroupCondition::builder()
                .value(hierarchy("Tier2"))
                .build(),
        )
        .build();
    assert_eq!(search(&client, Some(in_group), None).await, ["bob"]);

    // The operator finds the users it owns by its ownership tag.
    let owned_by = |owner: &str| {
        UserSearchFilter::builder()
            .tag_filter(
                ControlPlaneTagFilter::builder()
                    .tag_condition(tag(OWNER_TAG, owner))
                    .build(),
            )
            .build()
    };
    assert_eq!(
        search(&client, None, Some(owned_by("A"))).await,
        ["alice", "alfred"]
    );
    let and = UserSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .and_conditions(tag(OWNER_TAG, "A"))
                .and_conditions(tag("team", "red"))
                .build(),
        )
        .build();
    assert_eq!(search(&client, None, Some(and)).await, ["alice"]);
    let or = UserSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .or_conditions(vec![tag(OWNER_TAG, "B")])
                .or_conditions(vec![tag(OWNER_TAG, "A"), tag("team", "blue")])
                .build(),
        )
        .build();
    assert_eq!(search(&client, None, Some(or)).await, ["alfred", "bob"]);
    let attribute = UserSearchFilter::builder()
        .user_attribute_filter(
            ControlPlaneUserAttributeFilter::builder()
                .tag_condition(tag("team", "blue"))
                .build(),
        )
        .build();
    assert_eq!(search(&client, None, Some(attribute)).await, ["alfred"]);
    assert_eq!(
        search(
            &client,
            Some(username_is(StartsWith, "a")),
            Some(owned_by("A"))
        )
        .await,
        ["alice", "alfred"]
    );

    let bad_field = client
        .search_users()
        .instance_id(INSTANCE)
        .search_criteria(field_is("Email", Exact, "x"))
        .send()
        .await
        .unwrap_err();
    assert!(
        bad_field
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    assert!(
        message(&bad_field).contains("FieldName"),
        "{}",
        message(&bad_field)
    );
    // "Request can either contain TagFilter or UserAttributeFilter ... combination of both is
    // not supported and such request will throw AccessDeniedException."
    let both_filters = client
        .search_users()
        .instance_id(INSTANCE)
        .search_filter(
            UserSearchFilter::builder()
                .tag_filter(
                    ControlPlaneTagFilter::builder()
                        .tag_condition(tag(OWNER_TAG, "A"))
                        .build(),
                )
                .user_attribute_filter(
                    ControlPlaneUserAttributeFilter::builder()
                        .tag_condition(tag("team", "blue"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&both_filters), "AccessDeniedException");
    assert_eq!(
        both_filters.raw_response().map(|r| r.status().as_u16()),
        Some(403)
    );
    let bad_max = client
        .search_users()
        .instance_id(INSTANCE)
        .max_results(501)
        .send()
        .await
        .unwrap_err();
    assert!(
        bad_max
            .as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
}

#[tokio::test]
async fn search_quick_connects_by_name_description_id_and_tags_but_not_by_user() {
    let (sim, client) = start().await;
    let user = sim.insert_user(INSTANCE, sim_user("alice"));
    let mut ids = Vec::new();
    for (name, description, team) in [
        ("Alice direct", "escalations", "red"),
        ("Alice VIP", "vip line", "blue"),
        ("Bob", "other", "red"),
    ] {
        let mut qc = user_qc(name, &user);
        qc.description = Some(description.into());
        qc.tags.insert("team".into(), team.into());
        ids.push(sim.insert_quick_connect(INSTANCE, qc));
    }
    let by = |field: &str, comparison: StringComparisonType, value: &str| {
        QuickConnectSearchCriteria::builder()
            .string_condition(
                StringCondition::builder()
                    .field_name(field)
                    .value(value)
                    .comparison_type(comparison)
                    .build(),
            )
            .build()
    };
    let names = |out: aws_sdk_connect::operation::search_quick_connects::SearchQuickConnectsOutput| -> Vec<String> {
        out.quick_connects().iter().filter_map(|q| q.name().map(str::to_string)).collect()
    };
    let run = |criteria: Option<QuickConnectSearchCriteria>,
               filter: Option<QuickConnectSearchFilter>| {
        client
            .search_quick_connects()
            .instance_id(INSTANCE)
            .set_search_criteria(criteria)
            .set_search_filter(filter)
            .send()
    };
    use StringComparisonType::*;
    assert_eq!(
        names(
            run(Some(by("name", StartsWith, "alice")), None)
                .await
                .unwrap()
        ),
        ["Alice direct", "Alice VIP"]
    );
    assert_eq!(
        names(
            run(Some(by("description", Contains, "line")), None)
                .await
                .unwrap()
        ),
        ["Alice VIP"]
    );
    assert_eq!(
        names(
            run(Some(by("resourceID", Exact, &ids[2])), None)
                .await
                .unwrap()
        ),
        ["Bob"]
    );
    let red = QuickConnectSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(tag("team", "red"))
                .build(),
        )
        .build();
    let out = run(None, Some(red)).await.unwrap();
    assert_eq!(out.approximate_total_count(), Some(2));
    let full = &out.quick_connects()[0];
    assert_eq!(
        full.quick_connect_config()
            .unwrap()
            .user_config()
            .unwrap()
            .user_id(),
        user,
        "full quick connects"
    );
    // Connect cannot search on the target user: the caller must filter.
    let e = run(Some(by("UserId", Exact, &user)), None)
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
    let e = client
        .search_quick_connects()
        .instance_id(INSTANCE)
        .max_results(101)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
    );
}

#[tokio::test]
async fn unknown_instances_users_and_quick_connects_are_not_found() {
    let (_sim, client) = start().await;
    let nowhere = "99999999-0000-0000-0000-000000000000";
    let e = client
        .describe_instance()
        .instance_id(nowhere)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .list_users()
        .instance_id(nowhere)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .search_users()
        .instance_id(nowhere)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .search_quick_connects()
        .instance_id(nowhere)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .list_routing_profiles()
        .instance_id(nowhere)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .create_user()
        .instance_id(nowhere)
        .username("x")
        .password(PASSWORD)
        .security_profile_ids(security("Agent"))
        .routing_profile_id(routing("Sales"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id("no-such-user")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 404);
    let e = client
        .update_user_routing_profile()
        .instance_id(INSTANCE)
        .user_id("no-such-user")
        .routing_profile_id(routing("Sales"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = client
        .delete_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id("nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn an_instance_answers_only_in_its_own_region() {
    let (sim, _) = start().await;
    let other = sim.iam().create_user(TEST_ACCOUNT_ID, "other");
    let elsewhere = client_as(&sim, "eu-west-2", &other, RetryConfig::disabled());
    let e = elsewhere
        .describe_instance()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let call = sim.calls().pop().unwrap();
    assert_eq!(
        (call.region.as_str(), call.access_key_id.as_str()),
        ("eu-west-2", other.access_key_id.as_str())
    );
}

#[tokio::test]
async fn duplicates_are_refused() {
    let (sim, client) = start().await;
    let (alice, _) = create_user(&client, "alice").await;
    let e = client
        .create_user()
        .instance_id(INSTANCE)
        .username("alice")
        .password(PASSWORD)
        .identity_info(identity("alice"))
        .security_profile_ids(security("Agent"))
        .routing_profile_id(routing("Sales"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_duplicate_resource_exception()
    );
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 409);
    assert_eq!(sim.users(INSTANCE).len(), 1);

    let create = |name: &str| {
        client
            .create_quick_connect()
            .instance_id(INSTANCE)
            .name(name)
            .quick_connect_config(
                QuickConnectConfig::builder()
                    .quick_connect_type(QuickConnectType::User)
                    .user_config(
                        UserQuickConnectConfig::builder()
                            .user_id(&alice)
                            .contact_flow_id(flow("Default agent transfer"))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
    };
    create("To Alice").await.unwrap();
    let e = create("To Alice").await.unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_duplicate_resource_exception()
    );
}

#[tokio::test]
async fn per_instance_limits_answer_limit_exceeded() {
    let config = ConnectConfig {
        max_users_per_instance: Some(1),
        max_quick_connects_per_instance: Some(0),
        ..Default::default()
    };
    let (sim, client) = start_with(config).await;
    let (alice, _) = create_user(&client, "alice").await;
    let e = valid_create(&client).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_limit_exceeded_exception());
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 429);
    let e = client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name("qc")
        .quick_connect_config(
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::User)
                .user_config(
                    UserQuickConnectConfig::builder()
                        .user_id(&alice)
                        .contact_flow_id(flow("Default agent transfer"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_limit_exceeded_exception());
    assert_eq!(sim.users(INSTANCE).len(), 1);
}

/// A CreateUser call with every required member, to break one member at a time.
fn valid_create(
    client: &Client,
) -> aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder {
    client
        .create_user()
        .instance_id(INSTANCE)
        .username("valid")
        .password(PASSWORD)
        .identity_info(identity("valid"))
        .security_profile_ids(security("Agent"))
        .routing_profile_id(routing("Basic Routing Profile"))
}

#[tokio::test]
async fn create_user_validation_names_the_member() {
    let (sim, client) = start().await;
    let unknown_uuid = "00000000-0000-0000-0000-000000000000";
    let bad_channel = AutoAcceptConfig::builder()
        .channel(Channel::from("PIGEON"))
        .auto_accept(true)
        .build()
        .unwrap();
    let desk_without_number = UserPhoneConfig::builder()
        .phone_type(PhoneType::DeskPhone)
        .build();
    let cases: Vec<(
        &str,
        aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder,
        &str,
        &str,
    )> = vec![
        (
            "missing username",
            valid_create(&client).set_username(None),
            "InvalidRequestException",
            "Username",
        ),
        (
            "long username",
            valid_create(&client).username("u".repeat(101)),
            "InvalidParameterException",
            "Username",
        ),
        (
            "weak password",
            valid_create(&client).password("password"),
            "InvalidParameterException",
            "Password",
        ),
        (
            "no password",
            valid_create(&client).set_password(None),
            "InvalidParameterException",
            "Password",
        ),
        (
            "directory id",
            valid_create(&client).directory_user_id("d-1"),
            "InvalidParameterException",
            "DirectoryUserId",
        ),
        (
            "no security profile",
            valid_create(&client).set_security_profile_ids(Some(vec![])),
            "InvalidParameterException",
            "SecurityProfileIds",
        ),
        (
            "eleven security profiles",
            valid_create(&client).set_security_profile_ids(Some(vec![security("Agent"); 11])),
            "InvalidParameterException",
            "SecurityProfileIds",
        ),
        (
            "missing routing profile",
            valid_create(&client).set_routing_profile_id(None),
            "InvalidRequestException",
            "RoutingProfileId",
        ),
        (
            "unknown routing profile",
            valid_create(&client).routing_profile_id(unknown_uuid),
            "ResourceNotFoundException",
            "RoutingProfileId",
        ),
        (
            "malformed routing profile",
            valid_create(&client).routing_profile_id("Sales"),
            "InvalidParameterException",
            "RoutingProfileId",
        ),
        (
            "unknown security profile",
            valid_create(&client).security_profile_ids(unknown_uuid),
            "ResourceNotFoundException",
            "SecurityProfileIds[1]",
        ),
        (
            "unknown hierarchy group",
            valid_create(&client).hierarchy_group_id(unknown_uuid),
            "ResourceNotFoundException",
            "HierarchyGroupId",
        ),
        (
            "desk phone without number",
            valid_create(&client).phone_config(desk_without_number),
            "InvalidParameterException",
            "DeskPhoneNumber",
        ),
        (
            "desk phone not E.164",
            valid_create(&client).phone_config(
                UserPhoneConfig::builder()
                    .phone_type(PhoneType::DeskPhone)
                    .desk_phone_number("555-0100")
                    .build(),
            ),
            "InvalidParameterException",
            "PhoneConfig.DeskPhoneNumber",
        ),
        (
            "mobile not E.164",
            valid_create(&client)
                .identity_info(UserIdentityInfo::builder().mobile("0415555").build()),
            "InvalidParameterException",
            "IdentityInfo.Mobile",
        ),
        (
            "bad email",
            valid_create(&client).identity_info(UserIdentityInfo::builder().email("alice").build()),
            "InvalidParameterException",
            "IdentityInfo.Email",
        ),
        (
            "empty first name",
            valid_create(&client).identity_info(UserIdentityInfo::builder().first_name("").build()),
            "InvalidParameterException",
            "IdentityInfo.FirstName",
        ),
        (
            "unknown phone type",
            valid_create(&client).phone_config(
                UserPhoneConfig::builder()
                    .phone_type(PhoneType::from("FAX"))
                    .build(),
            ),
            "InvalidParameterException",
            "PhoneType",
        ),
        (
            "aws: tag",
            valid_create(&client).tags("aws:x", "v"),
            "InvalidParameterException",
            "Tags",
        ),
        (
            "empty tag key",
            valid_create(&client).tags("", "v"),
            "InvalidParameterException",
            "Tags",
        ),
        (
            "bad channel",
            valid_create(&client).auto_accept_configs(bad_channel),
            "InvalidParameterException",
            "AutoAcceptConfigs[0].Channel",
        ),
    ];
    for (what, call, want, member) in cases {
        let e = call.send().await.expect_err(what);
        assert_eq!(code(&e), want, "{what}: {}", message(&e));
        assert!(
            message(&e).contains(member),
            "{what}: message {:?} does not name {member}",
            message(&e)
        );
        assert!(
            !message(&e).contains("password\""),
            "{what}: a password is never echoed"
        );
        match want {
            "InvalidParameterException" => assert!(
                e.as_service_error()
                    .unwrap()
                    .is_invalid_parameter_exception()
            ),
            "InvalidRequestException" => {
                assert!(e.as_service_error().unwrap().is_invalid_request_exception())
            }
            _ => assert!(
                e.as_service_error()
                    .unwrap()
                    .is_resource_not_found_exception()
            ),
        }
    }
    assert!(sim.users(INSTANCE).is_empty(), "nothing invalid was stored");
    valid_create(&client)
        .send()
        .await
        .expect("the unbroken request is valid");
}

#[tokio::test]
async fn identity_management_type_decides_password_directory_id_and_email() {
    let (sim, client) = start().await;
    let saml = "22222222-2222-3333-4444-555555555555";
    let directory = "33333333-2222-3333-4444-555555555555";
    for (id, kind) in [(saml, "SAML"), (directory, "EXISTING_DIRECTORY")] {
        sim.seed_instance(InstanceSeed {
            identity_management_type: kind.into(),
            ..InstanceSeed::standard(id)
        });
    }
    let create = |instance: &str| {
        let s = InstanceSeed::standard(instance);
        client
            .create_user()
            .instance_id(instance)
            .username("u")
            .security_profile_ids(s.security_profiles[0].0.clone())
            .routing_profile_id(s.routing_profiles[0].0.clone())
    };
    let names = || {
        UserIdentityInfo::builder()
            .first_name("Ann")
            .last_name("Lee")
    };
    let refused = |e: &SdkError<_, _>, member: &str| {
        assert!(
            e.as_service_error().is_some_and(
                |s: &aws_sdk_connect::operation::create_user::CreateUserError| s
                    .is_invalid_parameter_exception()
            ),
            "{member}: {}",
            code(e)
        );
        assert!(
            message(e).contains(member),
            "{member}: {:?} does not name it",
            message(e)
        );
    };
    // SAML: no password, no directory user id, no email; first and last name required.
    let e = create(saml)
        .identity_info(names().build())
        .password(PASSWORD)
        .send()
        .await
        .unwrap_err();
    refused(&e, "Password");
    let e = create(saml)
        .identity_info(names().email("u@example.com").build())
        .send()
        .await
        .unwrap_err();
    refused(&e, "IdentityInfo.Email");
    let e = create(saml)
        .identity_info(names().build())
        .directory_user_id("d-1")
        .send()
        .await
        .unwrap_err();
    refused(&e, "DirectoryUserId");
    let e = create(saml).send().await.unwrap_err();
    refused(&e, "IdentityInfo.FirstName");
    let e = create(saml)
        .identity_info(UserIdentityInfo::builder().first_name("Ann").build())
        .send()
        .await
        .unwrap_err();
    refused(&e, "IdentityInfo.LastName");
    create(saml)
        .identity_info(names().build())
        .send()
        .await
        .expect("SAML users need names and no password");
    // CONNECT_MANAGED: a password, first and last name and an email, and no directory user id.
    let managed = || {
        valid_create(&client)
            .username("m")
            .identity_info(identity("m"))
    };
    for (what, call, member) in [
        ("no password", managed().set_password(None), "Password"),
        (
            "directory user id",
            managed().directory_user_id("d-1"),
            "DirectoryUserId",
        ),
        (
            "no identity",
            managed().set_identity_info(None),
            "IdentityInfo.FirstName",
        ),
        (
            "no email",
            managed().identity_info(names().build()),
            "IdentityInfo.Email",
        ),
        (
            "empty last name",
            managed().identity_info(names().last_name("").email("m@example.com").build()),
            "IdentityInfo.LastName",
        ),
        (
            "257-character last name",
            managed().identity_info(
                names()
                    .last_name("l".repeat(257))
                    .email("m@example.com")
                    .build(),
            ),
            "IdentityInfo.LastName",
        ),
    ] {
        let e = call.send().await.expect_err(what);
        refused(&e, member);
    }
    managed()
        .identity_info(
            names()
                .last_name("l".repeat(256))
                .email("m@example.com")
                .build(),
        )
        .send()
        .await
        .expect("a Connect-managed last name may have 256 characters");
    // The model's 300 is SAML's limit.
    create(saml)
        .username("long-name")
        .identity_info(names().last_name("l".repeat(300)).build())
        .send()
        .await
        .expect("a SAML last name may have 300 characters");
    // EXISTING_DIRECTORY: the directory provides the identity.
    let u = create(directory)
        .directory_user_id("d-1")
        .send()
        .await
        .expect("directory user id is allowed, no identity required");
    // The directory owns the names: they cannot change through Connect.
    let e = client
        .update_user_identity_info()
        .instance_id(directory)
        .user_id(u.user_id().unwrap())
        .identity_info(UserIdentityInfo::builder().first_name("New").build())
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception(),
        "{}",
        code(&e)
    );
    // UpdateUserIdentityInfo replaces the identity, so the same rules hold for it.
    let (alice, _) = create_user(&client, "alice").await;
    let e = client
        .update_user_identity_info()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .identity_info(names().build())
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("IdentityInfo.Email"),
        "{}",
        message(&e)
    );
    assert_eq!(
        sim.user(INSTANCE, &alice).unwrap().identity_info,
        Some(sim::connect::IdentityInfo {
            first_name: Some("alice".into()),
            last_name: Some("Tester".into()),
            email: Some("alice@example.com".into()),
            ..Default::default()
        }),
        "a refused update changes nothing"
    );
}

/// FirstName and LastName "must be in Unicode Normalization Form C": decomposed characters and
/// combining marks are refused, on create and on update, whatever the identity management.
#[tokio::test]
async fn names_must_be_in_unicode_nfc() {
    let (sim, client) = start().await;
    let decomposed = "Rene\u{301}"; // "René" as e + combining acute accent
    let composed = "Ren\u{e9}";
    for (first, last, member) in [
        (decomposed, "Lee", "IdentityInfo.FirstName"),
        ("Ann", "Mu\u{308}ller", "IdentityInfo.LastName"),
    ] {
        let e = valid_create(&client)
            .identity_info(
                UserIdentityInfo::builder()
                    .first_name(first)
                    .last_name(last)
                    .email("v@example.com")
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .unwrap()
                .is_invalid_parameter_exception()
                && message(&e).contains(member)
                && message(&e).contains("NFC"),
            "{member}: {}",
            message(&e)
        );
    }
    assert!(sim.users(INSTANCE).is_empty());
    let out = valid_create(&client)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name(composed)
                .last_name("Müller")
                .email("v@example.com")
                .build(),
        )
        .send()
        .await
        .expect("composed names are accepted");
    let e = client
        .update_user_identity_info()
        .instance_id(INSTANCE)
        .user_id(out.user_id().unwrap())
        .identity_info(
            UserIdentityInfo::builder()
                .first_name(decomposed)
                .last_name("Lee")
                .email("v@example.com")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("IdentityInfo.FirstName"),
        "{}",
        message(&e)
    );
}

/// Usernames: 20 characters without SAML, 64 from [a-zA-Z0-9_-.@] with SAML, and @ only in an
/// email form (CreateUser.Username documentation).
#[tokio::test]
async fn usernames_follow_the_identity_management_rules() {
    let (sim, client) = start().await;
    let saml = "22222222-2222-3333-4444-555555555555";
    sim.seed_instance(InstanceSeed {
        identity_management_type: "SAML".into(),
        ..InstanceSeed::standard(saml)
    });
    let on_saml = |name: &str| {
        let s = InstanceSeed::standard(saml);
        client
            .create_user()
            .instance_id(saml)
            .username(name)
            .identity_info(
                UserIdentityInfo::builder()
                    .first_name("Ann")
                    .last_name("Lee")
                    .build(),
            )
            .security_profile_ids(s.security_profiles[0].0.clone())
            .routing_profile_id(s.routing_profiles[0].0.clone())
    };
    let managed = |name: &str| valid_create(&client).username(name);
    let twenty = "u".repeat(20);
    let sixty_four = format!("{}@example.com", "u".repeat(52));
    assert_eq!(sixty_four.len(), 64);
    for (what, call, says) in [
        ("21 characters", managed(&"u".repeat(21)), "at most 20"),
        (
            "@ without a domain",
            managed("testuser@example"),
            "email format",
        ),
        ("two @", managed("a@b@example.com"), "email format"),
        ("+", managed("test+user"), "only letters"),
        (
            "65 characters on SAML",
            on_saml(&"u".repeat(65)),
            "at most 64",
        ),
        (
            "@ without a domain on SAML",
            on_saml("testuser@example"),
            "email format",
        ),
        ("space on SAML", on_saml("test user"), "only letters"),
        ("non-ASCII on SAML", on_saml("tëst"), "only letters"),
    ] {
        let e = call.send().await.expect_err(what);
        assert!(
            e.as_service_error()
                .unwrap()
                .is_invalid_parameter_exception(),
            "{what}: {}",
            code(&e)
        );
        assert!(
            message(&e).contains("Username") && message(&e).contains(says),
            "{what}: {}",
            message(&e)
        );
    }
    assert!(sim.users(INSTANCE).is_empty() && sim.users(saml).is_empty());
    for name in [twenty.as_str(), "testuser@example.com", "a_b-c.d"] {
        managed(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", message(&e)));
    }
    for name in [
        "u".repeat(21),
        sixty_four.clone(),
        "first.last_1-x@corp.example.com".into(),
    ] {
        on_saml(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {}", message(&e)));
    }
}

/// CreateUser refuses each PhoneConfig member together with its per-channel equivalent, naming
/// both; members that do not correspond may be combined.
#[tokio::test]
async fn create_user_refuses_phone_config_with_its_per_channel_equivalent() {
    let (sim, client) = start().await;
    let phone = || UserPhoneConfig::builder().phone_type(PhoneType::SoftPhone);
    let acw = |channel: Channel, limit: i32| {
        AfterContactWorkConfigPerChannel::builder()
            .channel(channel)
            .after_contact_work_config(
                AfterContactWorkConfig::builder()
                    .after_contact_work_time_limit(limit)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let chat_auto_accept = AutoAcceptConfig::builder()
        .channel(Channel::Chat)
        .auto_accept(true)
        .build()
        .unwrap();
    let voice_number = PhoneNumberConfig::builder()
        .channel(Channel::Voice)
        .phone_type(PhoneType::SoftPhone)
        .build()
        .unwrap();
    let persistent = aws_sdk_connect::types::PersistentConnectionConfig::builder()
        .channel(Channel::Voice)
        .persistent_connection(true)
        .build()
        .unwrap();
    for (what, call, member, list) in [
        (
            "auto-accept",
            valid_create(&client)
                .phone_config(phone().auto_accept(true).build())
                .auto_accept_configs(chat_auto_accept.clone()),
            "PhoneConfig.AutoAccept",
            "AutoAcceptConfigs",
        ),
        (
            "after-contact work",
            valid_create(&client)
                .phone_config(phone().after_contact_work_time_limit(30).build())
                .after_contact_work_configs(acw(Channel::Chat, 60)),
            "PhoneConfig.AfterContactWorkTimeLimit",
            "AfterContactWorkConfigs",
        ),
        (
            "phone type",
            valid_create(&client)
                .phone_config(phone().build())
                .phone_number_configs(voice_number.clone()),
            "PhoneConfig.PhoneType",
            "PhoneNumberConfigs",
        ),
        (
            "persistent connection",
            valid_create(&client)
                .phone_config(phone().persistent_connection(false).build())
                .persistent_connection_configs(persistent.clone()),
            "PhoneConfig.PersistentConnection",
            "PersistentConnectionConfigs",
        ),
    ] {
        let e = call.send().await.expect_err(what);
        assert!(
            e.as_service_error()
                .unwrap()
                .is_invalid_parameter_exception(),
            "{what}: {}",
            code(&e)
        );
        assert!(
            message(&e).contains(member) && message(&e).contains(list),
            "{what}: {}",
            message(&e)
        );
    }
    // The desk phone number conflicts too (raw: the SDK always sends PhoneType with it).
    let body = format!(
        r#"{{"Username":"raw","Password":"{PASSWORD}","SecurityProfileIds":["{}"],"RoutingProfileId":"{}","IdentityInfo":{{"FirstName":"R","LastName":"T","Email":"r@example.com"}},"PhoneConfig":{{"DeskPhoneNumber":"+14155550100"}},"PhoneNumberConfigs":[{{"Channel":"VOICE","PhoneType":"SOFT_PHONE"}}]}}"#,
        security("Agent"),
        routing("Basic Routing Profile")
    );
    let (status, headers, text) =
        raw(&sim, &signed("PUT", &format!("/users/{INSTANCE}"), &body)).await;
    assert_eq!(status, 400, "{text}");
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("InvalidParameterException")
    );
    assert!(text.contains("PhoneConfig.DeskPhoneNumber") && text.contains("PhoneNumberConfigs"));
    assert!(sim.users(INSTANCE).is_empty(), "nothing was stored");

    // Members that are not each other's equivalents combine: the phone type from PhoneConfig,
    // auto-accept and limits per channel (the SDK leaves out `AutoAccept: false` and a zero
    // limit, so this PhoneConfig carries only PhoneType).
    let out = valid_create(&client)
        .phone_config(phone().build())
        .auto_accept_configs(chat_auto_accept)
        .after_contact_work_configs(acw(Channel::Voice, 40))
        .after_contact_work_configs(acw(Channel::Chat, 60))
        .persistent_connection_configs(persistent)
        .send()
        .await
        .expect("no member is set twice");
    let user = sim.user(INSTANCE, out.user_id().unwrap()).unwrap();
    let view = user.phone_config();
    assert_eq!(
        (
            view.phone_type.as_deref(),
            view.after_contact_work_time_limit,
            view.persistent_connection
        ),
        (Some("SOFT_PHONE"), Some(40), Some(true)),
        "the lists win over PhoneConfig's completed defaults"
    );
}

/// After-contact work: at most 2,000,000 seconds, in PhoneConfig and per channel, on create and
/// on update.
#[tokio::test]
async fn after_contact_work_is_at_most_two_million_seconds() {
    let (sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let phone = |limit: i32| {
        UserPhoneConfig::builder()
            .phone_type(PhoneType::SoftPhone)
            .after_contact_work_time_limit(limit)
            .build()
    };
    let acw = |limit: i32| {
        AfterContactWorkConfigPerChannel::builder()
            .channel(Channel::Task)
            .after_contact_work_config(
                AfterContactWorkConfig::builder()
                    .after_contact_work_time_limit(limit)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let too_long = 2_000_001;
    let errors = vec![
        (
            "CreateUser PhoneConfig",
            valid_create(&client)
                .phone_config(phone(too_long))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), message(&e))),
            "PhoneConfig.AfterContactWorkTimeLimit",
        ),
        (
            "CreateUser per channel",
            valid_create(&client)
                .after_contact_work_configs(acw(too_long))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), message(&e))),
            "AfterContactWorkConfigs[0].AfterContactWorkConfig.AfterContactWorkTimeLimit",
        ),
        (
            "UpdateUserPhoneConfig",
            client
                .update_user_phone_config()
                .instance_id(INSTANCE)
                .user_id(&id)
                .phone_config(phone(too_long))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), message(&e))),
            "PhoneConfig.AfterContactWorkTimeLimit",
        ),
        (
            "UpdateUserConfig",
            client
                .update_user_config()
                .instance_id(INSTANCE)
                .user_id(&id)
                .after_contact_work_configs(acw(too_long))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (code(&e), message(&e))),
            "AfterContactWorkConfigs[0].AfterContactWorkConfig.AfterContactWorkTimeLimit",
        ),
    ];
    for (what, result, member) in errors {
        let (code, message) = result.expect_err(what);
        assert_eq!(code, "InvalidParameterException", "{what}: {message}");
        assert!(
            message.contains(member) && message.contains("2000000"),
            "{what}: {message}"
        );
    }
    assert_eq!(sim.users(INSTANCE).len(), 1, "no user was created");
    client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .after_contact_work_configs(acw(2_000_000))
        .send()
        .await
        .expect("2,000,000 seconds is the maximum");
    client
        .update_user_phone_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .phone_config(phone(2_000_000))
        .send()
        .await
        .expect("2,000,000 seconds is the maximum");
}

/// SearchUsers states after-contact-work limits in milliseconds, in PhoneConfig and per channel;
/// DescribeUser in seconds, as written.
#[tokio::test]
async fn search_users_reports_after_contact_work_in_milliseconds() {
    let (_sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let acw = |channel: Channel, limit: i32| {
        AfterContactWorkConfigPerChannel::builder()
            .channel(channel)
            .after_contact_work_config(
                AfterContactWorkConfig::builder()
                    .after_contact_work_time_limit(limit)
                    .build(),
            )
            .agent_first_callback_after_contact_work_config(
                AfterContactWorkConfig::builder()
                    .after_contact_work_time_limit(limit - 1)
                    .build(),
            )
            .build()
            .unwrap()
    };
    client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .after_contact_work_configs(acw(Channel::Voice, 30))
        .after_contact_work_configs(acw(Channel::Chat, 2_000_000))
        .send()
        .await
        .unwrap();
    let limits = |configs: &[AfterContactWorkConfigPerChannel]| -> Vec<(String, i32, i32)> {
        configs
            .iter()
            .map(|c| {
                (
                    c.channel().as_str().to_string(),
                    c.after_contact_work_config()
                        .unwrap()
                        .after_contact_work_time_limit(),
                    c.agent_first_callback_after_contact_work_config()
                        .unwrap()
                        .after_contact_work_time_limit(),
                )
            })
            .collect()
    };
    let described = client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let user = described.user().unwrap();
    assert_eq!(
        user.phone_config().unwrap().after_contact_work_time_limit(),
        30
    );
    assert_eq!(
        limits(user.after_contact_work_configs()),
        [
            ("VOICE".into(), 30, 29),
            ("CHAT".into(), 2_000_000, 1_999_999)
        ]
    );
    let found = client
        .search_users()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    let summary = &found.users()[0];
    assert_eq!(
        summary
            .phone_config()
            .unwrap()
            .after_contact_work_time_limit(),
        30_000
    );
    assert_eq!(
        limits(summary.after_contact_work_configs()),
        [
            ("VOICE".into(), 30_000, 29_000),
            ("CHAT".into(), 2_000_000_000, 1_999_999_000)
        ]
    );
}

/// PhoneConfig and the VOICE entries are one setting: a per-channel write shows in PhoneConfig,
/// a PhoneConfig write in the VOICE entries (and its limit in every channel).
#[tokio::test]
async fn phone_config_is_the_view_of_the_voice_entries() {
    let (_sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let describe = || async {
        client
            .describe_user()
            .instance_id(INSTANCE)
            .user_id(&id)
            .send()
            .await
            .unwrap()
            .user()
            .unwrap()
            .clone()
    };
    let fresh = describe().await;
    let phone = fresh.phone_config().unwrap();
    assert_eq!(
        (
            phone.phone_type(),
            phone.auto_accept(),
            phone.after_contact_work_time_limit()
        ),
        (&PhoneType::SoftPhone, false, 0),
        "a user created without either form shows Connect's defaults"
    );
    client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .auto_accept_configs(
            AutoAcceptConfig::builder()
                .channel(Channel::Voice)
                .auto_accept(true)
                .build()
                .unwrap(),
        )
        .phone_number_configs(
            PhoneNumberConfig::builder()
                .channel(Channel::Voice)
                .phone_type(PhoneType::DeskPhone)
                .phone_number("+14155550199")
                .build()
                .unwrap(),
        )
        .persistent_connection_configs(
            aws_sdk_connect::types::PersistentConnectionConfig::builder()
                .channel(Channel::Voice)
                .persistent_connection(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let user = describe().await;
    let phone = user.phone_config().unwrap();
    assert_eq!(phone.phone_type(), &PhoneType::DeskPhone);
    assert!(phone.auto_accept());
    assert_eq!(phone.desk_phone_number(), Some("+14155550199"));
    assert_eq!(phone.persistent_connection(), Some(true));
    client
        .update_user_phone_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .after_contact_work_time_limit(15)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let user = describe().await;
    let voice_number = &user.phone_number_configs()[0];
    assert_eq!(
        (voice_number.phone_type(), voice_number.phone_number()),
        (&PhoneType::SoftPhone, None)
    );
    assert!(
        !user.auto_accept_configs()[0].auto_accept(),
        "PhoneConfig without AutoAccept switches the VOICE auto-accept off"
    );
    assert!(
        user.persistent_connection_configs()[0].persistent_connection(),
        "PersistentConnection left out of PhoneConfig is left as it was"
    );
    let mut limits: Vec<(String, i32)> = user
        .after_contact_work_configs()
        .iter()
        .map(|c| {
            (
                c.channel().as_str().to_string(),
                c.after_contact_work_config()
                    .unwrap()
                    .after_contact_work_time_limit(),
            )
        })
        .collect();
    limits.sort();
    assert_eq!(
        limits,
        ["CHAT", "EMAIL", "TASK", "VOICE"].map(|c| (c.to_string(), 15))
    );
}

#[tokio::test]
async fn update_and_quick_connect_validation() {
    let (_sim, client) = start().await;
    let (alice, _) = create_user(&client, "alice").await;
    let e = client
        .update_user_security_profiles()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .set_security_profile_ids(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("SecurityProfileIds")
    );
    let e = client
        .update_user_hierarchy()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .hierarchy_group_id("00000000-0000-0000-0000-000000000001")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
            && message(&e).contains("HierarchyGroupId")
    );
    let e = client
        .update_user_phone_config()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::DeskPhone)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("DeskPhoneNumber")
    );
    let e = client
        .update_user_identity_info()
        .instance_id(INSTANCE)
        .user_id(&alice)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception()
            && message(&e).contains("IdentityInfo")
    );

    let user_qc = |user: &str, flow_id: String| {
        client
            .create_quick_connect()
            .instance_id(INSTANCE)
            .name("qc")
            .quick_connect_config(
                QuickConnectConfig::builder()
                    .quick_connect_type(QuickConnectType::User)
                    .user_config(
                        UserQuickConnectConfig::builder()
                            .user_id(user)
                            .contact_flow_id(flow_id)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
    };
    let e = user_qc(
        "44444444-0000-0000-0000-000000000000",
        flow("Default agent transfer"),
    )
    .send()
    .await
    .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
            && message(&e).contains("UserId")
    );
    let e = user_qc(&alice, flow("Sales transfer"))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception(),
        "a USER quick connect needs an agent transfer flow"
    );
    let e = user_qc(&alice, flow("Default agent transfer"))
        .name("")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("Name")
    );
    let e = user_qc(&alice, flow("Default agent transfer"))
        .description("d".repeat(251))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("Description")
    );
    let no_user_config = QuickConnectConfig::builder()
        .quick_connect_type(QuickConnectType::User)
        .build()
        .unwrap();
    let e = client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name("qc")
        .quick_connect_config(no_user_config)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("UserConfig")
    );
    let e = client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name("qc")
        .quick_connect_config(
            QuickConnectConfig::builder()
                .quick_connect_type(QuickConnectType::PhoneNumber)
                .phone_config(
                    PhoneNumberQuickConnectConfig::builder()
                        .phone_number("020 7123 4567")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_exception()
            && message(&e).contains("PhoneNumber")
    );
}

#[tokio::test]
async fn quotas_burst_then_throttle_then_refill_per_key_and_operation() {
    let (sim, client) = start().await;
    // A token per 100 s: nothing refills while the burst and the sharing are checked, however
    // slowly this test runs.
    sim.set_operation_quota(
        "ListSecurityProfiles",
        Some(Quota {
            rate_per_sec: 0.01,
            burst: 3,
        }),
    );
    let call = |c: &Client| c.list_security_profiles().instance_id(INSTANCE).send();
    for _ in 0..3 {
        call(&client).await.expect("within the burst");
    }
    let e = call(&client).await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_throttling_exception());
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 429);
    assert_eq!(message(&e), "Rate exceeded");
    // Other operations have their own buckets; another key of the same account shares the
    // account's, another account has its own (its instance: this one is not its to see).
    client
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .send()
        .await
        .expect("another operation");
    let same_account = sim.iam().create_user(TEST_ACCOUNT_ID, "colleague");
    let colleague = client_as(&sim, "us-east-1", &same_account, RetryConfig::disabled());
    let e = call(&colleague).await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_throttling_exception());
    sim.seed_instance(InstanceSeed::standard(OTHER_INSTANCE).in_account("210987654321"));
    let stranger = sim.iam().create_user("210987654321", "stranger");
    let stranger = client_as(&sim, "us-east-1", &stranger, RetryConfig::disabled());
    stranger
        .list_security_profiles()
        .instance_id(OTHER_INSTANCE)
        .send()
        .await
        .expect("another account's bucket");
    // The refill: 4 tokens a second, never faster. From a full bucket of one, two more calls
    // are admitted no sooner than 0.5 s after the first was sent (polled: a slow run only
    // waits longer), and the calls refused meanwhile are throttled, nothing else.
    sim.set_operation_quota(
        "ListSecurityProfiles",
        Some(Quota {
            rate_per_sec: 4.0,
            burst: 1,
        }),
    );
    let started = Instant::now();
    call(&client).await.expect("a full bucket");
    let mut admitted = 1;
    while admitted < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never refilled"
        );
        match call(&client).await {
            Ok(_) => admitted += 1,
            Err(e) => assert!(e.as_service_error().unwrap().is_throttling_exception()),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(500),
        "two tokens refilled in {elapsed:?}, faster than 4/s"
    );

    sim.set_operation_quota("ListSecurityProfiles", None);
    call(&client).await.expect("no quota any more");
    sim.set_quota(Some(Quota {
        rate_per_sec: 0.01,
        burst: 1,
    }));
    client
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    assert!(
        client
            .list_routing_profiles()
            .instance_id(INSTANCE)
            .send()
            .await
            .is_err(),
        "the general quota applies"
    );
    assert_eq!(
        Quota::default(),
        Quota {
            rate_per_sec: 2.0,
            burst: 5
        }
    );
}

#[tokio::test]
async fn the_sdk_retries_throttles_and_server_errors() {
    let config = ConnectConfig {
        quota: Some(Quota {
            rate_per_sec: 20.0,
            burst: 1,
        }),
        ..Default::default()
    };
    let (sim, _) = start_with(config).await;
    let retrying = client_with(
        &sim,
        "us-east-1",
        RetryConfig::standard()
            .with_max_attempts(10)
            .with_initial_backoff(Duration::from_millis(100)),
    );
    // The first call empties the bucket: the second is throttled at first, a retry succeeds.
    retrying
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    retrying
        .list_routing_profiles()
        .instance_id(INSTANCE)
        .send()
        .await
        .expect("throttled, then retried");
    let statuses: Vec<u16> = sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses.first(), Some(&200));
    assert_eq!(statuses.last(), Some(&200));
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        sim.calls()
            .iter()
            .all(|c| c.operation == "ListRoutingProfiles")
    );

    sim.set_quota(None);
    for status in [500, 503] {
        sim.clear_faults();
        sim.add_fault(Fault::on(
            "DescribeInstance",
            FaultKind::FailNth { n: 1, status },
        ));
        sim.clear_calls();
        retrying
            .describe_instance()
            .instance_id(INSTANCE)
            .send()
            .await
            .expect("transient error retried");
        let statuses: Vec<u16> = sim.calls().iter().map(|c| c.status).collect();
        assert_eq!(statuses, [status, 200]);
    }
}

#[tokio::test]
async fn faults_error_rate_fail_nth_and_latency() {
    let (sim, client) = start().await;
    let describe = || {
        client
            .describe_user()
            .instance_id(INSTANCE)
            .user_id("nobody")
            .send()
    };
    let instance = || client.describe_instance().instance_id(INSTANCE).send();

    sim.add_fault(Fault::on(
        "DescribeInstance",
        FaultKind::ErrorRate {
            rate: 1.0,
            status: 500,
        },
    ));
    let e = instance().await.unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_internal_service_exception()
    );
    assert!(
        describe()
            .await
            .unwrap_err()
            .as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "other operations unaffected"
    );
    sim.clear_faults();
    sim.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: 1.0,
        status: 503,
    }));
    let e = instance().await.unwrap_err();
    assert_eq!(
        (
            code(&e).as_str(),
            e.raw_response().unwrap().status().as_u16()
        ),
        ("ServiceUnavailableException", 503)
    );
    sim.clear_faults();
    sim.add_fault(Fault::on(
        "DescribeUser",
        FaultKind::ErrorRate {
            rate: 1.0,
            status: 429,
        },
    ));
    assert!(
        describe()
            .await
            .unwrap_err()
            .as_service_error()
            .unwrap()
            .is_throttling_exception()
    );
    sim.clear_faults();
    sim.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: 0.0,
        status: 500,
    }));
    for _ in 0..5 {
        instance().await.expect("rate 0 never fails");
    }

    sim.clear_faults();
    sim.add_fault(Fault::on(
        "DescribeInstance",
        FaultKind::FailNth { n: 2, status: 500 },
    ));
    let outcomes = vec![
        instance().await.is_ok(),
        instance().await.is_ok(),
        instance().await.is_ok(),
    ];
    assert_eq!(outcomes, [true, false, true]);

    sim.clear_faults();
    sim.add_fault(Fault::on(
        "DescribeInstance",
        FaultKind::Latency(Duration::from_millis(300)),
    ));
    let t = Instant::now();
    instance().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    describe().await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "latency only where configured"
    );
    let injected = sim.calls().into_iter().filter(|c| c.status >= 500).count();
    assert_eq!(injected, 3, "injected failures are in the call log");
}

#[tokio::test]
async fn on_success_hook_runs_after_the_change_and_before_the_response() {
    let (sim, client) = start().await;
    let responded = Arc::new(AtomicBool::new(false));
    let responded_before_hook = Arc::new(AtomicBool::new(true));
    let seen = Arc::new(AtomicUsize::new(usize::MAX));
    let (r, before, s, view) = (
        responded.clone(),
        responded_before_hook.clone(),
        seen.clone(),
        sim.clone(),
    );
    sim.on_success("CreateUser", 2, move || {
        before.store(r.load(Ordering::SeqCst), Ordering::SeqCst);
        s.store(view.users(INSTANCE).len(), Ordering::SeqCst);
    });
    create_user(&client, "first").await;
    assert_eq!(
        seen.load(Ordering::SeqCst),
        usize::MAX,
        "not on the first success"
    );
    // A failed call does not count.
    valid_create(&client)
        .username("first")
        .send()
        .await
        .unwrap_err();
    assert_eq!(seen.load(Ordering::SeqCst), usize::MAX);
    create_user(&client, "second").await;
    responded.store(true, Ordering::SeqCst);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "the hook saw the second user already stored"
    );
    assert!(
        !responded_before_hook.load(Ordering::SeqCst),
        "the hook ran before the client had its answer"
    );
    create_user(&client, "third").await;
    assert_eq!(seen.load(Ordering::SeqCst), 2, "fires once");
}

/// Sends one raw HTTP/1.1 request; returns status, headers (lower-case names) and body.
async fn raw(sim: &ConnectSim, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Signature header lines for a raw request (`Host: localhost`), signed now with the test key.
fn auth_for(service: &str, method: &str, path: &str, body: &str) -> String {
    test_key_signature_lines(method, path, "localhost", body.as_bytes(), service)
}

/// A raw request signed as the SDK would sign it.
fn signed(method: &str, path: &str, body: &str) -> String {
    request(method, path, &auth_for("connect", method, path, body), body)
}

fn request(method: &str, path: &str, auth: &str, body: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn raw_requests_unsigned_malformed_unknown_never_panic() {
    let (sim, client) = start().await;
    let (status, headers, body) = raw(
        &sim,
        &request("GET", &format!("/instance/{INSTANCE}"), "", ""),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        header(&headers, "x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(body.contains("Missing Authentication Token"));
    let path = format!("/instance/{INSTANCE}");
    let wrong_service = auth_for("s3", "GET", &path, "");
    let (status, headers, _) = raw(&sim, &request("GET", &path, &wrong_service, "")).await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (403, Some("InvalidSignatureException"))
    );

    let (status, headers, body) = raw(
        &sim,
        &signed("PUT", &format!("/users/{INSTANCE}"), "{not json"),
    )
    .await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (400, Some("SerializationException"))
    );
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["__type"], "SerializationException");
    assert!(header(&headers, "x-amzn-requestid").is_some());
    let (status, _, body) = raw(
        &sim,
        &signed("PUT", &format!("/users/{INSTANCE}"), r#"{"Username": 5}"#),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("Username"), "{body}");
    let (status, _, _) = raw(&sim, &signed("PUT", &format!("/users/{INSTANCE}"), "[1,2]")).await;
    assert_eq!(status, 400);
    let (status, headers, _) = raw(&sim, &signed("GET", "/no/such/route", "")).await;
    assert_eq!(
        (status, header(&headers, "x-amzn-errortype")),
        (404, Some("UnknownOperationException"))
    );
    let deep = format!(
        r#"{{"InstanceId":"{INSTANCE}","SearchCriteria":{}}}"#,
        "{\"OrConditions\":[".repeat(200) + &"]}".repeat(200)
    );
    let (status, _, _) = raw(&sim, &signed("POST", "/search-users", &deep)).await;
    assert_eq!(status, 400, "too deep to parse, refused without a crash");

    // The emulator still serves, and logged what it refused.
    client
        .describe_instance()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    let calls = sim.calls();
    assert_eq!(calls[0].status, 403);
    assert_eq!(calls[2].operation, "CreateUser");
    assert_eq!(calls[2].access_key_id, TEST_ACCESS_KEY_ID);
}

#[tokio::test]
async fn inspection_endpoints_show_calls_and_state() {
    let (sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    sim.insert_quick_connect(INSTANCE, user_qc("To Alice", &id));
    let (status, _, body) = raw(&sim, &request("GET", "/_sim/calls", "", "")).await;
    assert_eq!(status, 200);
    let calls: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(calls[0]["operation"], "CreateUser");
    assert_eq!(calls[0]["target"], id.as_str());
    let (_, _, body) = raw(&sim, &request("GET", "/_sim/state", "", "")).await;
    let state: serde_json::Value = serde_json::from_str(&body).unwrap();
    let instance = &state["Instances"][0];
    assert_eq!(instance["Users"][0]["Username"], "alice");
    assert_eq!(instance["Users"][0]["HasPassword"], true);
    assert!(!body.contains(PASSWORD), "the state never shows passwords");
    assert_eq!(
        instance["QuickConnects"][0]["QuickConnectConfig"]["UserConfig"]["UserId"],
        id.as_str()
    );
    assert_eq!(sim.state_json(), state);
    let (status, _, _) = raw(&sim, &request("POST", "/_sim/reset-calls", "", "")).await;
    assert_eq!(status, 200);
    assert!(sim.calls().is_empty(), "inspection itself is not logged");
}

#[tokio::test]
async fn direct_state_access_is_unlogged_and_stamps_changes() {
    let (sim, _) = start().await;
    let id = sim.insert_user(INSTANCE, sim_user("console"));
    let user = sim.user(INSTANCE, &id).unwrap();
    assert_eq!(
        user.arn,
        format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/agent/{id}")
    );
    let before = user.last_modified;
    assert!(before.timestamp() > 0);
    // The clock moves past the first stamp before the change, so the second must be later.
    while chrono::Utc::now() <= before {
        std::thread::yield_now();
    }
    assert!(sim.modify_user(INSTANCE, &id, |u| u.routing_profile_id = routing("Sales")));
    let after = sim.user(INSTANCE, &id).unwrap();
    assert!(after.last_modified > before);
    assert_eq!(
        sim.user_by_name(INSTANCE, "console")
            .unwrap()
            .routing_profile_id,
        routing("Sales")
    );
    assert!(!sim.modify_user(INSTANCE, "nobody", |_| {}));
    assert!(sim.remove_user(INSTANCE, &id));
    assert!(sim.users(INSTANCE).is_empty());
    assert!(sim.users("unknown-instance").is_empty());
    assert!(sim.calls().is_empty());
}

#[tokio::test]
async fn user_config_validates_like_the_model_and_phone_config_sets_every_channels_acw() {
    let (sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let acw = |channel: Channel, limit: i32| {
        AfterContactWorkConfigPerChannel::builder()
            .channel(channel)
            .after_contact_work_config(
                AfterContactWorkConfig::builder()
                    .after_contact_work_time_limit(limit)
                    .build(),
            )
            .build()
            .unwrap()
    };
    client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .auto_accept_configs(
            AutoAcceptConfig::builder()
                .channel(Channel::Chat)
                .auto_accept(true)
                .build()
                .unwrap(),
        )
        .after_contact_work_configs(acw(Channel::Chat, 60))
        .after_contact_work_configs(acw(Channel::Task, 90))
        .persistent_connection_configs(
            aws_sdk_connect::types::PersistentConnectionConfig::builder()
                .channel(Channel::Voice)
                .persistent_connection(true)
                .build()
                .unwrap(),
        )
        .voice_enhancement_configs(
            VoiceEnhancementConfig::builder()
                .channel(Channel::Voice)
                .voice_enhancement_mode(VoiceEnhancementMode::VoiceIsolation)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // DescribeUser and SearchUsers both carry the per-channel lists.
    let described = client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let user = described.user().unwrap();
    assert_eq!(user.auto_accept_configs().len(), 1);
    assert!(user.auto_accept_configs()[0].auto_accept());
    let limits: Vec<(String, i32)> = user
        .after_contact_work_configs()
        .iter()
        .map(|a| {
            (
                a.channel().as_str().to_string(),
                a.after_contact_work_config()
                    .unwrap()
                    .after_contact_work_time_limit(),
            )
        })
        .collect();
    assert_eq!(limits, [("CHAT".to_string(), 60), ("TASK".to_string(), 90)]);
    assert!(user.persistent_connection_configs()[0].persistent_connection());
    assert_eq!(
        user.voice_enhancement_configs()[0].voice_enhancement_mode(),
        &VoiceEnhancementMode::VoiceIsolation
    );
    let found = client
        .search_users()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    assert_eq!(found.users()[0].after_contact_work_configs().len(), 2);
    assert_eq!(
        found.users()[0].voice_enhancement_configs()[0].voice_enhancement_mode(),
        &VoiceEnhancementMode::VoiceIsolation
    );

    // UpdateUserPhoneConfig applies its limit to every channel.
    client
        .update_user_phone_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .after_contact_work_time_limit(20)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let stored = sim.user(INSTANCE, &id).unwrap();
    let mut limits: Vec<(String, Option<i32>)> = stored
        .after_contact_work_configs
        .iter()
        .map(|a| {
            (
                a.channel.clone(),
                a.after_contact_work_config.after_contact_work_time_limit,
            )
        })
        .collect();
    limits.sort();
    assert_eq!(
        limits,
        ["CHAT", "EMAIL", "TASK", "VOICE"].map(|c| (c.to_string(), Some(20)))
    );
    assert!(
        stored.auto_accept_configs[0].auto_accept,
        "auto-accept per channel is untouched"
    );

    // Invalid input, refused as the model says.
    let empty = client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&empty), "InvalidRequestException");
    let not_voice = client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .voice_enhancement_configs(
            VoiceEnhancementConfig::builder()
                .channel(Channel::Chat)
                .voice_enhancement_mode(VoiceEnhancementMode::None)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&not_voice), "InvalidParameterException");
    assert!(message(&not_voice).contains("VoiceEnhancementConfigs[0].Channel"));
    let twice = client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .after_contact_work_configs(acw(Channel::Chat, 1))
        .after_contact_work_configs(acw(Channel::Chat, 2))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&twice), "InvalidParameterException");
    let negative = client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(&id)
        .after_contact_work_configs(acw(Channel::Email, -1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&negative), "InvalidParameterException");
    assert!(message(&negative).contains("AfterContactWorkTimeLimit"));
    let unknown = client
        .update_user_config()
        .instance_id(INSTANCE)
        .user_id(uuid_like())
        .after_contact_work_configs(acw(Channel::Email, 1))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "ResourceNotFoundException");
    // Required members and enum values the SDK would not let through.
    let path = format!("/users/{INSTANCE}/{id}/config");
    // A missing required member fails the request; a bad value fails the parameter.
    for (body, want) in [
        (
            r#"{"AutoAcceptConfigs":[{"Channel":"CHAT"}]}"#,
            "InvalidRequestException",
        ),
        (
            r#"{"AfterContactWorkConfigs":[{"Channel":"CHAT"}]}"#,
            "InvalidRequestException",
        ),
        (
            r#"{"PersistentConnectionConfigs":[{"Channel":"VOICE"}]}"#,
            "InvalidRequestException",
        ),
        (
            r#"{"AutoAcceptConfigs":[{"Channel":"FAX","AutoAccept":true}]}"#,
            "InvalidParameterException",
        ),
        (
            r#"{"VoiceEnhancementConfigs":[{"Channel":"VOICE","VoiceEnhancementMode":"LOUD"}]}"#,
            "InvalidParameterException",
        ),
    ] {
        let (status, headers, text) = raw(&sim, &signed("POST", &path, body)).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert_eq!(
            header(&headers, "x-amzn-errortype"),
            Some(want),
            "{body}: {text}"
        );
    }
    let stored_after = sim.user(INSTANCE, &id).unwrap();
    assert_eq!(
        stored_after.after_contact_work_configs, stored.after_contact_work_configs,
        "refused requests change nothing"
    );
}

fn uuid_like() -> &'static str {
    "99999999-9999-9999-9999-999999999999"
}

#[tokio::test]
async fn proficiency_operations_validate_members_and_users() {
    let (sim, client) = start().await;
    let (id, _) = create_user(&client, "alice").await;
    let base = format!("/users/{INSTANCE}/{id}");
    const REQ: &str = "InvalidRequestException";
    const PARAM: &str = "InvalidParameterException";
    for (path, body, want) in [
        ("associate-proficiencies", r#"{}"#, REQ),
        (
            "associate-proficiencies",
            r#"{"UserProficiencies":[{"AttributeName":"Language","AttributeValue":"English"}]}"#,
            REQ,
        ),
        (
            "disassociate-proficiencies",
            r#"{"UserProficiencies":[{"AttributeName":"Language"}]}"#,
            REQ,
        ),
        (
            "associate-proficiencies",
            r#"{"UserProficiencies":[{"AttributeName":"","AttributeValue":"English","Level":2.0}]}"#,
            PARAM,
        ),
        (
            "proficiencies",
            r#"{"UserProficiencies":[{"AttributeName":"Language","AttributeValue":"English","Level":0.5}]}"#,
            PARAM,
        ),
    ] {
        let (status, headers, text) =
            raw(&sim, &signed("POST", &format!("{base}/{path}"), body)).await;
        assert_eq!(status, 400, "{path} {body}: {text}");
        assert_eq!(
            header(&headers, "x-amzn-errortype"),
            Some(want),
            "{path} {body}: {text}"
        );
    }
    let long = "x".repeat(101);
    let too_long = client
        .associate_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(
            UserProficiency::builder()
                .attribute_name(&long)
                .attribute_value("v")
                .level(1.0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&too_long), "InvalidParameterException");
    assert!(message(&too_long).contains("AttributeName"));
    let missing = client
        .list_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(uuid_like())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&missing), "ResourceNotFoundException");
    assert!(sim.user(INSTANCE, &id).unwrap().proficiencies.is_empty());
}

#[tokio::test]
async fn quick_connect_name_and_config_updates() {
    let (sim, client) = start().await;
    let (alice, _) = create_user(&client, "alice").await;
    let (bob, _) = create_user(&client, "bob").await;
    let user_config = |user: &str, flow_id: &str| {
        QuickConnectConfig::builder()
            .quick_connect_type(QuickConnectType::User)
            .user_config(
                UserQuickConnectConfig::builder()
                    .user_id(user)
                    .contact_flow_id(flow_id)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let qc = client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name("To Alice")
        .quick_connect_config(user_config(&alice, &flow("Default agent transfer")))
        .send()
        .await
        .unwrap()
        .quick_connect_id()
        .unwrap()
        .to_string();
    client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name("Taken")
        .quick_connect_config(user_config(&bob, &flow("Default agent transfer")))
        .send()
        .await
        .unwrap();

    client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .description("Alice, tier 1")
        .send()
        .await
        .unwrap();
    client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .name("Transfer to Alice")
        .send()
        .await
        .unwrap();
    let stored = sim.quick_connect(INSTANCE, &qc).unwrap();
    assert_eq!(stored.name, "Transfer to Alice");
    assert_eq!(
        stored.description.as_deref(),
        Some("Alice, tier 1"),
        "a member left out keeps its value"
    );

    client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .quick_connect_config(user_config(&bob, &flow("Default agent transfer")))
        .send()
        .await
        .unwrap();
    let described = client
        .describe_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .send()
        .await
        .unwrap();
    let config = described
        .quick_connect()
        .unwrap()
        .quick_connect_config()
        .unwrap();
    assert_eq!(config.user_config().unwrap().user_id(), bob);

    let neither = client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&neither), "InvalidRequestException");
    let taken = client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .name("Taken")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&taken), "InvalidRequestException");
    let too_long = client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .name("n".repeat(128))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&too_long), "InvalidParameterException");
    assert!(message(&too_long).contains("Name"));
    let wrong_flow_type = client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .quick_connect_config(user_config(&alice, &flow("Sales transfer")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&wrong_flow_type), "InvalidParameterException");
    assert!(message(&wrong_flow_type).contains("AGENT_TRANSFER"));
    let no_user = client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .quick_connect_config(user_config(uuid_like(), &flow("Default agent transfer")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&no_user), "ResourceNotFoundException");
    let gone = client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(uuid_like())
        .quick_connect_config(user_config(&alice, &flow("Default agent transfer")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");
    assert_eq!(
        sim.quick_connect(INSTANCE, &qc).unwrap().user_id.as_deref(),
        Some(bob.as_str()),
        "refused updates change nothing"
    );
    let ops: Vec<String> = sim
        .calls()
        .iter()
        .map(|c| c.operation.clone())
        .filter(|o| o.starts_with("UpdateQuickConnect"))
        .collect();
    assert_eq!(ops.len(), 9, "every call is logged, refused ones too");
}
