//! The Connect emulator's eventual-consistency model, through the real `aws-sdk-connect` client:
//! NotFound after a create, the previous version after an update, ghosts after a delete, search
//! lagging separately from direct reads, names reserved by a deletion, pinned delays, scaled
//! time, the stale-read counter, determinism and pruning.
//!
//! Windows are long in real time (minutes) unless a test is about time itself, and tests move
//! Connect's clock forward (`ConnectSim::advance`) to get past them: nothing waits on a timer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{
    QuickConnectConfig, QuickConnectSearchCriteria, QuickConnectType, StringComparisonType,
    StringCondition, UserIdentityInfo, UserProficiency, UserQuickConnectConfig, UserSearchCriteria,
};
use serde_json::Value;
use sim::connect::{
    ConnectConfig, ConnectSim, Consistency, Delays, InstanceSeed, Pin, PinnedDelay,
    SimQuickConnect, SimUser, View,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
const PASSWORD: &str = "S3cret-Passw0rd-xyz";
const MAX: Duration = Duration::from_secs(600);

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

/// Windows of up to ten minutes of real time, NotFound (never InvalidRequest) meanwhile.
fn lagging() -> Consistency {
    Consistency {
        invalid_request_share: 0.0,
        ..Consistency::new(MAX)
    }
}

async fn start(consistency: Option<Consistency>) -> (ConnectSim, Client) {
    let sim = ConnectSim::start(ConnectConfig {
        consistency,
        ..ConnectConfig::default()
    })
    .await
    .expect("emulator starts");
    sim.seed_instance(seed());
    let config = aws_sdk_connect::Config::builder()
        .endpoint_url(sim.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            sim::aws::TEST_ACCESS_KEY_ID,
            sim::aws::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "test",
        ))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .build();
    (sim, Client::from_conf(config))
}

fn code<E: ProvideErrorMetadata, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_string()
}

async fn create_user(client: &Client, username: &str) -> (String, String) {
    let out = client
        .create_user()
        .instance_id(INSTANCE)
        .username(username)
        .password(PASSWORD)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("Test")
                .last_name(username)
                .email(format!("{username}@example.com"))
                .build(),
        )
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

/// CreateUser's error code, or "ok".
async fn try_create_user(client: &Client, username: &str) -> String {
    match client
        .create_user()
        .instance_id(INSTANCE)
        .username(username)
        .password(PASSWORD)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("Test")
                .last_name(username)
                .email(format!("{username}@example.com"))
                .build(),
        )
        .security_profile_ids(security("Agent"))
        .routing_profile_id(routing("Basic Routing Profile"))
        .send()
        .await
    {
        Ok(_) => "ok".into(),
        Err(e) => code(&e),
    }
}

/// DescribeUser: the user's routing profile id, or the error code.
async fn describe(client: &Client, id: &str) -> Result<aws_sdk_connect::types::User, String> {
    client
        .describe_user()
        .instance_id(INSTANCE)
        .user_id(id)
        .send()
        .await
        .map(|o| o.user().cloned().expect("a User"))
        .map_err(|e| code(&e))
}

async fn describe_routing(client: &Client, id: &str) -> Result<String, String> {
    describe(client, id)
        .await
        .map(|u| u.routing_profile_id().unwrap_or_default().to_string())
}

async fn update_routing(client: &Client, id: &str, profile: &str) -> Result<(), String> {
    client
        .update_user_routing_profile()
        .instance_id(INSTANCE)
        .user_id(id)
        .routing_profile_id(routing(profile))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

async fn delete_user(client: &Client, id: &str) -> Result<(), String> {
    client
        .delete_user()
        .instance_id(INSTANCE)
        .user_id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

fn username_is(value: &str) -> UserSearchCriteria {
    UserSearchCriteria::builder()
        .string_condition(
            StringCondition::builder()
                .field_name("Username")
                .value(value)
                .comparison_type(StringComparisonType::Exact)
                .build(),
        )
        .build()
}

/// SearchUsers (one page): the usernames.
async fn search(client: &Client, criteria: Option<UserSearchCriteria>) -> Vec<String> {
    let out = client
        .search_users()
        .instance_id(INSTANCE)
        .set_search_criteria(criteria)
        .send()
        .await
        .unwrap();
    out.users()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect()
}

/// ListUsers (one page): the usernames.
async fn list(client: &Client) -> Vec<String> {
    let out = client
        .list_users()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    out.user_summary_list()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect()
}

fn sim_user(name: &str) -> SimUser {
    SimUser {
        username: name.into(),
        routing_profile_id: routing("Basic Routing Profile"),
        security_profile_ids: vec![security("Agent")],
        ..Default::default()
    }
}

fn user_config(user: &str) -> QuickConnectConfig {
    QuickConnectConfig::builder()
        .quick_connect_type(QuickConnectType::User)
        .user_config(
            UserQuickConnectConfig::builder()
                .user_id(user)
                .contact_flow_id(flow("Default agent transfer"))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

async fn create_quick_connect(client: &Client, name: &str, user: &str) -> Result<String, String> {
    client
        .create_quick_connect()
        .instance_id(INSTANCE)
        .name(name)
        .quick_connect_config(user_config(user))
        .send()
        .await
        .map(|o| o.quick_connect_id().unwrap().to_string())
        .map_err(|e| code(&e))
}

async fn describe_quick_connect(client: &Client, id: &str) -> Result<String, String> {
    client
        .describe_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(id)
        .send()
        .await
        .map(|o| o.quick_connect().unwrap().name().unwrap().to_string())
        .map_err(|e| code(&e))
}

async fn search_quick_connects(client: &Client) -> Vec<String> {
    let out = client
        .search_quick_connects()
        .instance_id(INSTANCE)
        .search_criteria(
            QuickConnectSearchCriteria::builder()
                .string_condition(
                    StringCondition::builder()
                        .field_name("name")
                        .value("to ")
                        .comparison_type(StringComparisonType::StartsWith)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.quick_connects()
        .iter()
        .filter_map(|q| q.name().map(str::to_string))
        .collect()
}

async fn list_quick_connects(client: &Client) -> Vec<String> {
    let out = client
        .list_quick_connects()
        .instance_id(INSTANCE)
        .send()
        .await
        .unwrap();
    out.quick_connect_summary_list()
        .iter()
        .filter_map(|q| q.name().map(str::to_string))
        .collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// GET on the emulator's inspection endpoints.
async fn inspect(sim: &ConnectSim, path: &str) -> Value {
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn off_by_default_every_read_sees_every_write() {
    let (sim, client) = start(ConnectConfig::default().consistency).await;
    assert_eq!(sim.consistency(), None);
    let (id, _) = create_user(&client, "alice").await;
    assert!(describe(&client, &id).await.is_ok());
    assert_eq!(search(&client, None).await, ["alice"]);
    delete_user(&client, &id).await.unwrap();
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(search(&client, None).await.is_empty());
    assert!(sim.settled());
    assert_eq!(sim.stale_reads(), 0);
    let state = inspect(&sim, "/_sim/state").await;
    assert_eq!(state["Consistency"]["Enabled"], false);
}

#[tokio::test]
async fn reads_and_writes_by_id_are_not_found_right_after_a_create() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Max);
    let (id, arn) = create_user(&client, "alice").await;

    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        update_routing(&client, &id, "Sales").await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        delete_user(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    let proficiencies = client
        .list_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&proficiencies), "ResourceNotFoundException");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&tags), "ResourceNotFoundException");
    let tag = client
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "blue")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&tag), "ResourceNotFoundException");
    assert!(search(&client, None).await.is_empty(), "not indexed yet");
    assert!(list(&client).await.is_empty());

    // The authoritative state has it, untouched by the refused writes.
    let user = sim.user(INSTANCE, &id).expect("created");
    assert_eq!(user.routing_profile_id, routing("Basic Routing Profile"));
    assert!(user.tags.is_empty());
    assert_eq!(sim.users(INSTANCE).len(), 1);
    assert!(!sim.settled());
    assert_eq!(
        sim.stale_reads_by_operation(),
        counts(&[
            ("DeleteUser", 1),
            ("DescribeUser", 1),
            ("ListTagsForResource", 1),
            ("ListUserProficiencies", 1),
            ("ListUsers", 1),
            ("SearchUsers", 1),
            ("TagResource", 1),
            ("UpdateUserRoutingProfile", 1),
        ])
    );

    sim.advance(MAX);
    assert!(sim.settled());
    assert!(describe(&client, &id).await.is_ok());
    assert_eq!(search(&client, None).await, ["alice"]);
    update_routing(&client, &id, "Sales").await.unwrap();
    assert_eq!(sim.stale_reads(), 8, "consistent reads are not counted");
}

#[tokio::test]
async fn a_share_of_create_windows_answers_invalid_request_deterministically() {
    // All of them.
    let (sim, client) = start(Some(Consistency {
        invalid_request_share: 1.0,
        ..lagging()
    }))
    .await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Max);
    let (id, _) = create_user(&client, "alice").await;
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "InvalidRequestException"
    );
    assert_eq!(
        update_routing(&client, &id, "Sales").await.unwrap_err(),
        "InvalidRequestException"
    );
    // A user that does not exist at all is still simply not found.
    let nobody = "99999999-9999-4999-8999-999999999999";
    assert_eq!(
        describe(&client, nobody).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(sim.stale_reads(), 2);

    // Half of them, the same ones under the same seed.
    let outcomes = |seed: u64| async move {
        let (sim, client) = start(Some(Consistency {
            invalid_request_share: 0.5,
            seed,
            ..lagging()
        }))
        .await;
        let mut codes = Vec::new();
        for n in 0..24 {
            let name = format!("agent{n:02}");
            sim.pin_delay(Pin::Username(name.clone()), PinnedDelay::Max);
            let (id, _) = create_user(&client, &name).await;
            codes.push(describe(&client, &id).await.unwrap_err());
        }
        codes
    };
    let first = outcomes(7).await;
    let invalid = first
        .iter()
        .filter(|c| *c == "InvalidRequestException")
        .count();
    assert!((4..=20).contains(&invalid), "{first:?}");
    assert!(
        first
            .iter()
            .all(|c| c == "InvalidRequestException" || c == "ResourceNotFoundException")
    );
    assert_eq!(outcomes(7).await, first);
}

#[tokio::test]
async fn reads_after_an_update_answer_the_previous_version_and_writes_apply_to_the_latest() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Zero);
    let (id, arn) = create_user(&client, "alice").await;
    assert!(
        describe(&client, &id).await.is_ok(),
        "pinned to zero: visible at once"
    );
    sim.pin_delay(Pin::UserId(id.clone()), PinnedDelay::Max);

    update_routing(&client, &id, "Sales").await.unwrap();
    assert_eq!(
        describe_routing(&client, &id).await.unwrap(),
        routing("Basic Routing Profile"),
        "DescribeUser answers the previous version"
    );
    let on_sales = UserSearchCriteria::builder()
        .string_condition(
            StringCondition::builder()
                .field_name("RoutingProfileId")
                .value(routing("Sales"))
                .comparison_type(StringComparisonType::Exact)
                .build(),
        )
        .build();
    assert!(search(&client, Some(on_sales.clone())).await.is_empty());

    // A second write in the window resolves through the stale view but applies to the latest
    // version: both changes survive.
    client
        .update_user_hierarchy()
        .instance_id(INSTANCE)
        .user_id(&id)
        .hierarchy_group_id(hierarchy("Tier1"))
        .send()
        .await
        .unwrap();
    client
        .associate_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .user_proficiencies(
            UserProficiency::builder()
                .attribute_name("Language")
                .attribute_value("French")
                .level(3.0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .resource_arn(&arn)
        .tags("team", "blue")
        .send()
        .await
        .unwrap();
    let user = sim.user(INSTANCE, &id).unwrap();
    assert_eq!(user.routing_profile_id, routing("Sales"));
    assert_eq!(user.hierarchy_group_id, Some(hierarchy("Tier1")));
    assert_eq!(user.proficiencies.len(), 1);
    assert_eq!(user.tags.get("team").map(String::as_str), Some("blue"));
    let seen = describe(&client, &id).await.unwrap();
    assert_eq!(seen.hierarchy_group_id(), None);
    let proficiencies = client
        .list_user_proficiencies()
        .instance_id(INSTANCE)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    assert!(proficiencies.user_proficiency_list().is_empty());
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_none_or(|t| t.is_empty()));
    assert!(sim.stale_reads() >= 5);

    sim.advance(MAX);
    let seen = describe(&client, &id).await.unwrap();
    assert_eq!(seen.routing_profile_id(), Some(routing("Sales").as_str()));
    assert_eq!(seen.hierarchy_group_id(), Some(hierarchy("Tier1").as_str()));
    assert_eq!(search(&client, Some(on_sales)).await, ["alice"]);
}

#[tokio::test]
async fn a_deleted_user_is_a_ghost_in_describe_search_and_writes_for_its_window() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Zero);
    let (id, _) = create_user(&client, "alice").await;
    sim.pin_delay(Pin::UserId(id.clone()), PinnedDelay::Max);
    delete_user(&client, &id).await.unwrap();
    assert!(
        sim.user(INSTANCE, &id).is_none(),
        "gone from the authoritative state"
    );
    assert!(sim.users(INSTANCE).is_empty());

    let ghost = describe(&client, &id).await.expect("still described");
    assert_eq!(ghost.username(), Some("alice"));
    assert_eq!(search(&client, None).await, ["alice"]);
    assert_eq!(search(&client, Some(username_is("alice"))).await, ["alice"]);
    assert_eq!(list(&client).await, ["alice"]);
    // A write finds the ghost, answers as if it existed, and changes nothing.
    update_routing(&client, &id, "Sales").await.unwrap();
    delete_user(&client, &id).await.unwrap();
    assert!(sim.user(INSTANCE, &id).is_none());
    assert_eq!(
        sim.stale_reads_by_operation(),
        counts(&[
            ("DeleteUser", 1),
            ("DescribeUser", 1),
            ("ListUsers", 1),
            ("SearchUsers", 2),
            ("UpdateUserRoutingProfile", 1),
        ])
    );

    sim.advance(MAX);
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(search(&client, None).await.is_empty());
    assert_eq!(
        delete_user(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn search_lags_independently_of_direct_reads() {
    let (sim, client) = start(Some(lagging())).await;
    // Direct at once, search after the max.
    sim.pin_view_delay(Pin::Username("bob".into()), View::Direct, PinnedDelay::Zero);
    sim.pin_view_delay(Pin::Username("bob".into()), View::Search, PinnedDelay::Max);
    // The other way round.
    sim.pin_view_delay(
        Pin::Username("carol".into()),
        View::Direct,
        PinnedDelay::Max,
    );
    sim.pin_view_delay(
        Pin::Username("carol".into()),
        View::Search,
        PinnedDelay::Zero,
    );
    let (bob, _) = create_user(&client, "bob").await;
    let (carol, _) = create_user(&client, "carol").await;
    assert_eq!(
        sim.latest_delays(INSTANCE, &bob),
        Some(Delays {
            direct: Duration::ZERO,
            search: MAX
        })
    );

    assert!(describe(&client, &bob).await.is_ok());
    assert!(search(&client, Some(username_is("bob"))).await.is_empty());
    assert_eq!(
        describe(&client, &carol).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(search(&client, Some(username_is("carol"))).await, ["carol"]);
    assert_eq!(search(&client, None).await, ["carol"]);
    assert_eq!(list(&client).await, ["carol"]);
    update_routing(&client, &bob, "Sales").await.unwrap();
    assert_eq!(
        update_routing(&client, &carol, "Sales").await.unwrap_err(),
        "ResourceNotFoundException"
    );

    sim.advance(MAX);
    assert_eq!(search(&client, None).await, ["bob", "carol"]);
    assert!(describe(&client, &carol).await.is_ok());
}

#[tokio::test]
async fn a_username_is_unique_at_once_and_stays_taken_until_its_deletion_has_propagated() {
    let (sim, client) = start(Some(lagging())).await;
    // Not visible anywhere yet, but taken.
    sim.pin_delay(Pin::Username("dave".into()), PinnedDelay::Max);
    let (dave, _) = create_user(&client, "dave").await;
    assert_eq!(
        describe(&client, &dave).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(
        try_create_user(&client, "dave").await,
        "DuplicateResourceException"
    );

    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Zero);
    let (alice, _) = create_user(&client, "alice").await;
    sim.pin_delay(
        Pin::UserId(alice.clone()),
        PinnedDelay::Exactly(Duration::from_secs(60)),
    );
    delete_user(&client, &alice).await.unwrap();
    assert_eq!(
        try_create_user(&client, "alice").await,
        "DuplicateResourceException"
    );
    sim.advance(Duration::from_secs(59));
    assert_eq!(
        try_create_user(&client, "alice").await,
        "DuplicateResourceException"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(try_create_user(&client, "alice").await, "ok");
    assert_eq!(sim.users(INSTANCE).len(), 2, "dave and the new alice");

    // Quick-connect names alike (once dave can be found).
    sim.advance(MAX);
    sim.pin_delay(Pin::QuickConnectName("To Dave".into()), PinnedDelay::Zero);
    let qc = create_quick_connect(&client, "To Dave", &dave)
        .await
        .unwrap();
    sim.pin_delay(Pin::QuickConnectId(qc.clone()), PinnedDelay::Max);
    client
        .delete_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .send()
        .await
        .unwrap();
    assert_eq!(
        create_quick_connect(&client, "To Dave", &dave)
            .await
            .unwrap_err(),
        "DuplicateResourceException"
    );
    sim.advance(MAX);
    assert!(
        create_quick_connect(&client, "To Dave", &dave)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn pinned_delays_max_zero_and_exact_by_name_or_id() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("zero".into()), PinnedDelay::Zero);
    sim.pin_delay(Pin::Username("max".into()), PinnedDelay::Max);
    sim.pin_delay(
        Pin::Username("exact".into()),
        PinnedDelay::Exactly(Duration::from_secs(90)),
    );
    let (zero, _) = create_user(&client, "zero").await;
    let (max, _) = create_user(&client, "max").await;
    let (exact, _) = create_user(&client, "exact").await;

    assert!(describe(&client, &zero).await.is_ok());
    assert_eq!(sim.latest_delays(INSTANCE, &zero), None, "nothing pending");
    assert_eq!(
        sim.latest_delays(INSTANCE, &max),
        Some(Delays {
            direct: MAX,
            search: MAX
        })
    );
    assert_eq!(
        sim.latest_delays(INSTANCE, &exact).map(|d| d.direct),
        Some(Duration::from_secs(90))
    );
    sim.advance(Duration::from_secs(89));
    assert_eq!(
        describe(&client, &exact).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    sim.advance(Duration::from_secs(1));
    assert!(describe(&client, &exact).await.is_ok());
    assert_eq!(
        describe(&client, &max).await.unwrap_err(),
        "ResourceNotFoundException"
    );

    // An id pin wins over the name pin; unpinning returns to the name pin.
    sim.pin_delay(Pin::UserId(zero.clone()), PinnedDelay::Max);
    update_routing(&client, &zero, "Sales").await.unwrap();
    assert_eq!(
        describe_routing(&client, &zero).await.unwrap(),
        routing("Basic Routing Profile")
    );
    sim.unpin(&Pin::UserId(zero.clone()));
    update_routing(&client, &zero, "Basic Routing Profile")
        .await
        .unwrap();
    update_routing(&client, &zero, "Sales").await.unwrap();
    assert_eq!(
        describe_routing(&client, &zero).await.unwrap(),
        routing("Sales"),
        "pinned to zero by name again"
    );
}

#[tokio::test]
async fn scaled_time_makes_minutes_of_connect_pass_in_seconds() {
    // Five minutes of Connect in two real seconds.
    let five_minutes = Duration::from_secs(300);
    let consistency = Consistency {
        time_scale: 150.0,
        ..Consistency::new(five_minutes)
    };
    assert_eq!(consistency.real(five_minutes), Duration::from_secs(2));
    let (sim, client) = start(Some(Consistency {
        invalid_request_share: 0.0,
        ..consistency
    }))
    .await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Max);
    let started = Instant::now();
    let (id, _) = create_user(&client, "alice").await;
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(!sim.wait_settled(Duration::from_millis(50)).await);

    let deadline = started + Duration::from_secs(10);
    while describe(&client, &id).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "five Connect minutes took over 10 real seconds"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1990),
        "visible after {took:?}, before its delay"
    );
    assert!(sim.wait_settled(Duration::from_secs(5)).await);
    assert!(sim.settled());
}

#[tokio::test]
async fn the_stale_read_counter_over_http_and_the_rust_api() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Max);
    sim.pin_delay(Pin::Username("bob".into()), PinnedDelay::Zero);
    let (alice, _) = create_user(&client, "alice").await;
    let (bob, _) = create_user(&client, "bob").await;
    describe(&client, &alice).await.unwrap_err();
    describe(&client, &alice).await.unwrap_err();
    // Reads whose answer is the consistent one do not count, even with alice pending.
    describe(&client, &bob).await.unwrap();
    assert_eq!(search(&client, Some(username_is("bob"))).await, ["bob"]);
    assert_eq!(sim.stale_reads(), 2);
    // A search that misses alice does.
    assert_eq!(search(&client, None).await, ["bob"]);

    let expected = counts(&[("DescribeUser", 2), ("SearchUsers", 1)]);
    assert_eq!(sim.stale_reads(), 3);
    assert_eq!(sim.stale_reads_by_operation(), expected);
    let over_http = inspect(&sim, "/_sim/stale-reads").await;
    assert_eq!(over_http["Total"], 3);
    assert_eq!(over_http["ByOperation"]["DescribeUser"], 2);
    assert_eq!(over_http["ByOperation"]["SearchUsers"], 1);
    let state = inspect(&sim, "/_sim/state").await;
    assert_eq!(state["Consistency"]["Enabled"], true);
    assert_eq!(state["Consistency"]["StaleReads"], over_http);
    assert_eq!(state["Consistency"]["UnsettledResources"], 1);
    assert_eq!(
        state["Instances"][0]["Users"].as_array().unwrap().len(),
        2,
        "the state shows the authoritative users"
    );

    sim.reset_stale_reads();
    assert_eq!(sim.stale_reads(), 0);
    assert_eq!(inspect(&sim, "/_sim/stale-reads").await["Total"], 0);
}

#[tokio::test]
async fn delays_are_deterministic_under_a_seed_whatever_the_order_of_writes() {
    let delays = |seed: u64, reverse: bool| async move {
        let (sim, _) = start(Some(Consistency { seed, ..lagging() })).await;
        let mut names: Vec<String> = (0..30).map(|n| format!("agent{n:02}")).collect();
        if reverse {
            names.reverse();
        }
        let mut by_name = BTreeMap::new();
        for name in names {
            let id = sim.insert_user(INSTANCE, sim_user(&name));
            // The console edit draws like an API write.
            sim.modify_user(INSTANCE, &id, |u| {
                u.hierarchy_group_id = Some(hierarchy("Tier2"))
            });
            by_name.insert(name, sim.latest_delays(INSTANCE, &id));
        }
        by_name
    };
    let first = delays(42, false).await;
    assert!(
        first
            .values()
            .all(|d| d.is_some_and(|d| d.direct <= MAX && d.search <= MAX))
    );
    let distinct: std::collections::BTreeSet<_> = first.values().collect();
    assert!(distinct.len() > 25, "draws differ between users");
    assert_eq!(delays(42, false).await, first);
    assert_eq!(delays(42, true).await, first, "independent of interleaving");
    assert_ne!(delays(43, false).await, first);
}

#[tokio::test]
async fn console_edits_lag_like_api_writes_while_the_readers_stay_authoritative() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("console".into()), PinnedDelay::Max);
    let id = sim.insert_user(INSTANCE, sim_user("console"));
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(search(&client, None).await.is_empty());
    assert_eq!(sim.user(INSTANCE, &id).unwrap().username, "console");
    assert!(sim.user_by_name(INSTANCE, "console").is_some());
    assert_eq!(sim.users(INSTANCE).len(), 1);
    assert_eq!(
        sim.state_json()["Instances"][0]["Users"][0]["Username"],
        "console"
    );

    sim.advance(MAX);
    assert!(sim.modify_user(INSTANCE, &id, |u| u.routing_profile_id = routing("Sales")));
    assert_eq!(
        describe_routing(&client, &id).await.unwrap(),
        routing("Basic Routing Profile")
    );
    assert_eq!(
        sim.user(INSTANCE, &id).unwrap().routing_profile_id,
        routing("Sales")
    );
    assert!(sim.remove_user(INSTANCE, &id));
    assert!(sim.users(INSTANCE).is_empty());
    assert_eq!(
        describe_routing(&client, &id).await.unwrap(),
        routing("Basic Routing Profile"),
        "the ghost is the version the view showed"
    );
    sim.advance(MAX);
    assert_eq!(
        describe(&client, &id).await.unwrap_err(),
        "ResourceNotFoundException"
    );

    // Quick connects.
    sim.pin_delay(Pin::QuickConnectName("To Console".into()), PinnedDelay::Max);
    let qc = sim.insert_quick_connect(
        INSTANCE,
        SimQuickConnect {
            name: "To Console".into(),
            quick_connect_type: "USER".into(),
            user_id: Some(id.clone()),
            contact_flow_id: Some(flow("Default agent transfer")),
            ..Default::default()
        },
    );
    assert_eq!(
        describe_quick_connect(&client, &qc).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(list_quick_connects(&client).await.is_empty());
    assert!(search_quick_connects(&client).await.is_empty());
    assert_eq!(sim.quick_connects(INSTANCE).len(), 1);
    assert!(sim.quick_connect(INSTANCE, &qc).is_some());
}

#[tokio::test]
async fn quick_connects_lag_through_the_api() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Zero);
    let (alice, _) = create_user(&client, "alice").await;
    sim.pin_delay(Pin::QuickConnectName("To Alice".into()), PinnedDelay::Max);
    let qc = create_quick_connect(&client, "To Alice", &alice)
        .await
        .unwrap();
    let arn = sim.quick_connect(INSTANCE, &qc).unwrap().arn;

    assert_eq!(
        describe_quick_connect(&client, &qc).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    let rename = client
        .update_quick_connect_name()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .name("To Alice (renamed)")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&rename), "ResourceNotFoundException");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&tags), "ResourceNotFoundException");
    assert!(search_quick_connects(&client).await.is_empty());
    assert!(list_quick_connects(&client).await.is_empty());

    sim.advance(MAX);
    assert_eq!(
        describe_quick_connect(&client, &qc).await.unwrap(),
        "To Alice"
    );
    assert_eq!(search_quick_connects(&client).await, ["To Alice"]);
    sim.pin_delay(Pin::QuickConnectId(qc.clone()), PinnedDelay::Max);
    client
        .delete_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .send()
        .await
        .unwrap();
    assert!(sim.quick_connects(INSTANCE).is_empty());
    assert_eq!(
        describe_quick_connect(&client, &qc).await.unwrap(),
        "To Alice"
    );
    assert_eq!(search_quick_connects(&client).await, ["To Alice"]);
    assert_eq!(list_quick_connects(&client).await, ["To Alice"]);
    client
        .delete_quick_connect()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .send()
        .await
        .expect("the ghost is deleted again");
    assert_eq!(sim.stale_reads_by_operation()["DeleteQuickConnect"], 1);

    sim.advance(MAX);
    assert_eq!(
        describe_quick_connect(&client, &qc).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert!(search_quick_connects(&client).await.is_empty());
}

#[tokio::test]
async fn a_quick_connect_finds_its_user_through_the_direct_view() {
    let (sim, client) = start(Some(lagging())).await;
    sim.pin_delay(Pin::Username("alice".into()), PinnedDelay::Max);
    let (alice, _) = create_user(&client, "alice").await;
    assert_eq!(
        create_quick_connect(&client, "To Alice", &alice)
            .await
            .unwrap_err(),
        "ResourceNotFoundException",
        "the user is not found yet"
    );
    assert!(sim.quick_connects(INSTANCE).is_empty());
    assert_eq!(
        sim.stale_reads_by_operation(),
        counts(&[("CreateQuickConnect", 1)])
    );
    sim.advance(MAX);
    sim.pin_delay(Pin::QuickConnectName("To Alice".into()), PinnedDelay::Zero);
    let qc = create_quick_connect(&client, "To Alice", &alice)
        .await
        .unwrap();

    // Deleted, but still found by the next writes for its window.
    sim.pin_delay(Pin::UserId(alice.clone()), PinnedDelay::Max);
    delete_user(&client, &alice).await.unwrap();
    assert!(
        create_quick_connect(&client, "Also to Alice", &alice)
            .await
            .is_ok()
    );
    client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .quick_connect_config(user_config(&alice))
        .send()
        .await
        .expect("the ghost is a valid target");
    assert_eq!(sim.stale_reads_by_operation()["CreateQuickConnect"], 2);
    assert_eq!(
        sim.stale_reads_by_operation()["UpdateQuickConnectConfig"],
        1
    );
    sim.advance(MAX);
    let refused = client
        .update_quick_connect_config()
        .instance_id(INSTANCE)
        .quick_connect_id(&qc)
        .quick_connect_config(user_config(&alice))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "ResourceNotFoundException");
}

#[tokio::test]
async fn the_model_can_be_switched_on_and_off_at_runtime() {
    let (sim, client) = start(None).await;
    let (before, _) = create_user(&client, "before").await;
    sim.set_consistency(Some(lagging()));
    assert_eq!(sim.consistency(), Some(lagging()));
    assert!(sim.settled(), "what existed is settled");
    assert!(describe(&client, &before).await.is_ok());
    sim.pin_delay(Pin::Username("after".into()), PinnedDelay::Max);
    let (after, _) = create_user(&client, "after").await;
    sim.pin_delay(Pin::UserId(before.clone()), PinnedDelay::Max);
    delete_user(&client, &before).await.unwrap();
    assert_eq!(
        describe(&client, &after).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(search(&client, None).await, ["before"]);

    sim.set_consistency(None);
    assert!(sim.settled());
    assert!(describe(&client, &after).await.is_ok());
    assert_eq!(
        describe(&client, &before).await.unwrap_err(),
        "ResourceNotFoundException"
    );
    assert_eq!(search(&client, None).await, ["after"]);
}

#[tokio::test]
async fn history_is_pruned_once_no_view_can_show_it() {
    let window = Duration::from_secs(60);
    let (sim, client) = start(Some(Consistency {
        invalid_request_share: 0.0,
        ..Consistency::new(window)
    }))
    .await;
    sim.pin_delay(Pin::Username("busy".into()), PinnedDelay::Max);
    let busy = sim.insert_user(INSTANCE, sim_user("busy"));
    for n in 0..200 {
        sim.modify_user(INSTANCE, &busy, |u| {
            u.tags.insert("n".into(), n.to_string());
        });
    }
    for n in 0..300 {
        let name = format!("agent{n:03}");
        sim.pin_delay(Pin::Username(name.clone()), PinnedDelay::Max);
        sim.insert_user(INSTANCE, sim_user(&name));
    }
    assert_eq!(
        sim.pending_versions(),
        201 + 300,
        "every superseded version may still be shown within the window"
    );
    sim.advance(window);
    // Any request to the instance's users prunes what is due; nothing is kept after the window.
    assert_eq!(search(&client, Some(username_is("busy"))).await, ["busy"]);
    assert_eq!(sim.pending_versions(), 0);
    assert!(sim.settled());
    assert_eq!(sim.stale_reads(), 0);
}
