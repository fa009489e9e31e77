//! Issue acceptance, end to end: real controller code, real kube client, real AWS SDK, over HTTP
//! to both emulators.

mod common;

use std::time::Duration;

use common::*;
use connect_user_operator::crd::OWNER_TAG;
use sim::connect::{SimQuickConnect, SimUser};

const FULL: &str = r#"
  identityInfo: {firstName: Alice, lastName: Liddell, email: alice@example.com, secondaryEmail: al@example.org, mobile: "+14155550100"}
  phoneConfig: {phoneType: DESK_PHONE, autoAccept: true, afterContactWorkTimeLimit: 30, deskPhoneNumber: "+14155550101"}
  hierarchyGroup: {name: Tier1}
  tags: {team: support, cost-center: "42"}
"#;

fn user_qc(name: &str, user_id: &str) -> SimQuickConnect {
    SimQuickConnect {
        name: name.into(),
        quick_connect_type: "USER".into(),
        user_id: Some(user_id.into()),
        contact_flow_id: Some(InstanceSeedIds::flow()),
        ..Default::default()
    }
}

struct InstanceSeedIds;
impl InstanceSeedIds {
    fn flow() -> String {
        sim::connect::InstanceSeed::standard(INSTANCE).contact_flows[0]
            .0
            .clone()
    }
    fn security(name: &str) -> String {
        let seed = sim::connect::InstanceSeed::standard(INSTANCE);
        seed.security_profiles
            .iter()
            .find(|(_, n)| n == name)
            .unwrap()
            .0
            .clone()
    }
    fn routing(name: &str) -> String {
        let seed = sim::connect::InstanceSeed::standard(INSTANCE);
        seed.routing_profiles
            .iter()
            .find(|(_, n)| n == name)
            .unwrap()
            .0
            .clone()
    }
    fn hierarchy(name: &str) -> String {
        let seed = sim::connect::InstanceSeed::standard(INSTANCE);
        seed.hierarchy_groups
            .iter()
            .find(|(_, n)| n == name)
            .unwrap()
            .0
            .clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_sets_every_field_tags_ownership_and_reports_ready() {
    let env = Env::start().await;
    env.create(&manifest("alice", FULL)).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let id = Env::user_id(&cu);
    let user = env
        .connect
        .user(INSTANCE, &id)
        .expect("user exists in Connect");
    assert_eq!(user.username, "alice");
    assert_eq!(user.password.as_deref(), Some(PASSWORD));
    let identity = user.identity_info.clone().unwrap();
    assert_eq!(identity.first_name.as_deref(), Some("Alice"));
    assert_eq!(identity.last_name.as_deref(), Some("Liddell"));
    assert_eq!(identity.email.as_deref(), Some("alice@example.com"));
    assert_eq!(identity.secondary_email.as_deref(), Some("al@example.org"));
    assert_eq!(identity.mobile.as_deref(), Some("+14155550100"));
    let phone = user.phone_config();
    assert_eq!(phone.phone_type.as_deref(), Some("DESK_PHONE"));
    assert_eq!(phone.auto_accept, Some(true));
    assert_eq!(phone.after_contact_work_time_limit, Some(30));
    assert_eq!(phone.desk_phone_number.as_deref(), Some("+14155550101"));
    assert_eq!(
        user.security_profile_ids,
        vec![InstanceSeedIds::security("Agent")]
    );
    assert_eq!(
        user.routing_profile_id,
        InstanceSeedIds::routing("Basic Routing Profile")
    );
    assert_eq!(
        user.hierarchy_group_id,
        Some(InstanceSeedIds::hierarchy("Tier1"))
    );
    assert_eq!(user.tags.get(OWNER_TAG), Some(&Env::uid(&cu)));
    assert_eq!(user.tags.get("team").map(String::as_str), Some("support"));
    let status = cu.status.clone().unwrap();
    assert_eq!(status.user_arn.as_deref(), Some(user.arn.as_str()));
    assert_eq!(status.observed_generation, cu.metadata.generation);
    assert_eq!(reason(&cu), "Created");
    assert_eq!(env.applied_write_ops(), vec!["CreateUser"]);
    env.wait_event("alice", "Created").await;
    assert!(
        cu.metadata
            .finalizers
            .unwrap()
            .contains(&"connect.userops.dev/cleanup".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_spec_change_sends_exactly_the_matching_update_call() {
    let env = Env::start().await;
    env.create(&manifest("alice", FULL)).await.unwrap();
    env.wait_ready("alice").await;
    let changes: &[(&str, serde_json::Value)] = &[
        (
            "UpdateUserIdentityInfo",
            serde_json::json!({"identityInfo": {"firstName": "Alicia"}}),
        ),
        // The phone is the VOICE channel: its entries go through UpdateUserConfig.
        (
            "UpdateUserConfig",
            serde_json::json!({"phoneConfig": {"phoneType": "SOFT_PHONE", "autoAccept": false, "afterContactWorkTimeLimit": 10}}),
        ),
        (
            "UpdateUserRoutingProfile",
            serde_json::json!({"routingProfile": {"name": "Sales"}}),
        ),
        (
            "UpdateUserSecurityProfiles",
            serde_json::json!({"securityProfiles": [{"name": "Agent"}, {"name": "QualityAnalyst"}]}),
        ),
        (
            "UpdateUserHierarchy",
            serde_json::json!({"hierarchyGroup": {"name": "Tier2"}}),
        ),
        (
            "TagResource",
            serde_json::json!({"tags": {"team": "sales", "cost-center": "42"}}),
        ),
        (
            "UntagResource",
            serde_json::json!({"tags": {"cost-center": null}}),
        ),
    ];
    for (op, spec) in changes {
        env.connect.clear_calls();
        let before = env.api().get("alice").await.unwrap().metadata.generation;
        let patch = kube::api::Patch::Merge(serde_json::json!({"spec": spec}));
        env.api()
            .patch("alice", &Default::default(), &patch)
            .await
            .unwrap();
        env.wait_for("alice", op, |cu| {
            cu.status.as_ref().and_then(|s| s.observed_generation) > before
                && reason(cu) == "Updated"
        })
        .await;
        assert_eq!(
            env.applied_write_ops(),
            vec![op.to_string()],
            "spec change {spec}"
        );
    }
    let cu = env.api().get("alice").await.unwrap();
    let user = env.connect.user(INSTANCE, &Env::user_id(&cu)).unwrap();
    assert_eq!(user.routing_profile_id, InstanceSeedIds::routing("Sales"));
    assert_eq!(
        user.hierarchy_group_id,
        Some(InstanceSeedIds::hierarchy("Tier2"))
    );
    assert_eq!(user.tags.get("cost-center"), None);
    env.wait_event("alice", "Updated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_every_field_group_is_corrected_within_one_resync() {
    let env = Env::start_with(Options {
        resync: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", FULL)).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let id = Env::user_id(&cu);
    let original = env.connect.user(INSTANCE, &id).unwrap();
    type Drift = Box<dyn Fn(&mut SimUser)>;
    let drifts: Vec<(&str, Drift)> = vec![
        (
            "UpdateUserIdentityInfo",
            Box::new(|u| u.identity_info.as_mut().unwrap().last_name = Some("Changed".into())),
        ),
        (
            "UpdateUserConfig",
            Box::new(|u| {
                u.set_phone_config(&sim::connect::PhoneConfig {
                    auto_accept: Some(false),
                    ..Default::default()
                })
            }),
        ),
        (
            "UpdateUserRoutingProfile",
            Box::new(|u| u.routing_profile_id = InstanceSeedIds::routing("Sales")),
        ),
        (
            "UpdateUserSecurityProfiles",
            Box::new(|u| u.security_profile_ids = vec![InstanceSeedIds::security("Admin")]),
        ),
        (
            "UpdateUserHierarchy",
            Box::new(|u| u.hierarchy_group_id = None),
        ),
        (
            "TagResource",
            Box::new(|u| {
                u.tags.insert("team".into(), "other".into());
            }),
        ),
        (
            "UntagResource",
            Box::new(|u| {
                u.tags.insert("console".into(), "x".into());
            }),
        ),
    ];
    for (op, drift) in drifts {
        env.connect.clear_calls();
        assert!(env.connect.modify_user(INSTANCE, &id, |u| drift(u)));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let now = env.connect.user(INSTANCE, &id).unwrap();
            // The emulator changes the user before it logs the call: wait for both.
            if same_fields(&now, &original) && !env.applied_write_ops().is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{op} drift not corrected: {now:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(env.applied_write_ops(), vec![op.to_string()]);
    }
    env.wait_event("alice", "DriftCorrected").await;
}

fn same_fields(a: &SimUser, b: &SimUser) -> bool {
    a.identity_info == b.identity_info
        && a.phone_config() == b.phone_config()
        && a.routing_profile_id == b.routing_profile_id
        && a.security_profile_ids == b.security_profile_ids
        && a.hierarchy_group_id == b.hierarchy_group_id
        && a.tags == b.tags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_user_then_exactly_its_quick_connects() {
    let env = Env::start().await;
    env.create(&manifest("alice", "")).await.unwrap();
    env.create(
        &manifest(
            "bob",
            "  passwordSecretRef: {name: agent-passwords, key: bob}\n",
        )
        .replace(
            "  passwordSecretRef: {name: agent-passwords, key: alice}\n",
            "",
        ),
    )
    .await
    .unwrap();
    let alice = Env::user_id(&env.wait_ready("alice").await);
    let bob = Env::user_id(&env.wait_ready("bob").await);
    let mut mine = Vec::new();
    for i in 0..3 {
        mine.push(
            env.connect
                .insert_quick_connect(INSTANCE, user_qc(&format!("to-alice-{i}"), &alice)),
        );
    }
    let mut others = Vec::new();
    for i in 0..2 {
        others.push(
            env.connect
                .insert_quick_connect(INSTANCE, user_qc(&format!("to-bob-{i}"), &bob)),
        );
    }
    env.connect.clear_calls();
    env.delete("alice").await;
    env.wait_gone("alice").await;

    let writes = env.applied_writes();
    let ops: Vec<&str> = writes.iter().map(|c| c.operation.as_str()).collect();
    assert_eq!(
        ops,
        vec![
            "DeleteUser",
            "DeleteQuickConnect",
            "DeleteQuickConnect",
            "DeleteQuickConnect"
        ]
    );
    assert_eq!(writes[0].target.as_deref(), Some(alice.as_str()));
    let mut deleted: Vec<String> = writes[1..]
        .iter()
        .filter_map(|c| c.target.clone())
        .collect();
    deleted.sort();
    mine.sort();
    assert_eq!(deleted, mine);
    // The listing that found them began after DeleteUser succeeded.
    let calls = env.connect.calls();
    let delete_at = calls
        .iter()
        .position(|c| c.operation == "DeleteUser")
        .unwrap();
    let first_scan = calls
        .iter()
        .position(|c| c.operation == "SearchQuickConnects")
        .unwrap();
    assert!(first_scan > delete_at);

    assert!(env.connect.user(INSTANCE, &alice).is_none());
    assert!(env.connect.user(INSTANCE, &bob).is_some());
    let left: Vec<String> = env
        .connect
        .quick_connects(INSTANCE)
        .into_iter()
        .map(|q| q.id)
        .collect();
    others.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, others);
    env.wait_event("alice", "Deleted").await;
    env.wait_event("alice", "QuickConnectDeleted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_connect_listing_spanning_many_pages_finds_all() {
    let env = Env::start().await;
    env.create(&manifest("alice", "")).await.unwrap();
    let alice = Env::user_id(&env.wait_ready("alice").await);
    let other = env.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "outsider".into(),
            routing_profile_id: InstanceSeedIds::routing("Basic Routing Profile"),
            security_profile_ids: vec![InstanceSeedIds::security("Agent")],
            ..Default::default()
        },
    );
    // 350 quick connects (4 pages of 100), alice's spread over every page.
    let mut mine = 0;
    for i in 0..350 {
        let target = if i % 50 == 7 {
            mine += 1;
            &alice
        } else {
            &other
        };
        env.connect
            .insert_quick_connect(INSTANCE, user_qc(&format!("qc-{i}"), target));
    }
    env.connect.clear_calls();
    env.delete("alice").await;
    env.wait_gone("alice").await;
    let ops = env.applied_write_ops();
    assert_eq!(
        ops.iter().filter(|o| *o == "DeleteQuickConnect").count(),
        mine
    );
    let calls = env.connect.calls();
    let scans: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == "SearchQuickConnects")
        .collect();
    assert_eq!(
        scans.len(),
        8,
        "two complete listings of ceil(350/100) pages: right after DeleteUser, and once the settle window after it has passed"
    );
    let deleted_at = calls
        .iter()
        .find(|c| c.operation == "DeleteUser")
        .unwrap()
        .at;
    assert!(
        scans[4].at >= deleted_at + SETTLE,
        "the last listing began after the window"
    );
    assert_eq!(env.connect.quick_connects(INSTANCE).len(), 350 - mine);
    assert!(
        env.connect
            .quick_connects(INSTANCE)
            .iter()
            .all(|q| q.user_id.as_deref() != Some(alice.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_policy_leaves_connect_user_and_quick_connects() {
    let env = Env::start().await;
    env.create(&manifest("alice", "  deletionPolicy: Retain\n"))
        .await
        .unwrap();
    let id = Env::user_id(&env.wait_ready("alice").await);
    env.connect
        .insert_quick_connect(INSTANCE, user_qc("to-alice", &id));
    env.connect.clear_calls();
    env.delete("alice").await;
    env.wait_gone("alice").await;
    assert_eq!(
        env.applied_write_ops(),
        vec!["UntagResource"],
        "only the ownership tag is removed"
    );
    let user = env.connect.user(INSTANCE, &id).expect("user kept");
    assert!(!user.tags.contains_key(OWNER_TAG));
    assert_eq!(env.connect.quick_connects(INSTANCE).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_username_is_refused_without_adoption_and_adopted_with_it() {
    let env = Env::start().await;
    let existing = env.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "alice".into(),
            routing_profile_id: InstanceSeedIds::routing("Basic Routing Profile"),
            security_profile_ids: vec![InstanceSeedIds::security("Agent")],
            ..Default::default()
        },
    );
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_reason("alice", "UserExists").await;
    assert_eq!(common::ready(&cu).unwrap().0, "False");
    let stalled = cu.status.as_ref().unwrap().condition("Stalled").unwrap();
    assert_eq!(stalled.status, "True");
    // CreateUser's DuplicateResourceException is what says the name is taken; nothing else.
    env.assert_nothing_written("no Connect writes");
    assert!(
        env.writes()
            .iter()
            .any(|c| c.error_type.as_deref() == Some("DuplicateResourceException")),
        "the refusal came from CreateUser, not from a search"
    );
    assert!(
        cu.status.as_ref().unwrap().create_attempted_at.is_none(),
        "a refused CreateUser created nothing: no attempt stays recorded"
    );

    let patch = kube::api::Patch::Merge(serde_json::json!({"spec": {"adoptExisting": true}}));
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    let cu = env
        .wait_for("alice", "adopted", |cu| reason(cu) == "Adopted")
        .await;
    assert_eq!(Env::user_id(&cu), existing);
    assert!(
        !env.applied_write_ops().contains(&"CreateUser".to_string()),
        "adopted, not created"
    );
    let user = env.connect.user(INSTANCE, &existing).unwrap();
    assert_eq!(user.tags.get(OWNER_TAG), Some(&Env::uid(&cu)));
    env.wait_event("alice", "Adopted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_not_owned_is_never_deleted_and_finalizer_kept() {
    let env = Env::start().await;
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let id = Env::user_id(&cu);
    // Someone re-tags the user for another owner behind our back.
    env.connect.modify_user(INSTANCE, &id, |u| {
        u.tags.insert(OWNER_TAG.into(), "someone-else".into());
    });
    env.connect.clear_calls();
    env.delete("alice").await;
    let cu = env.wait_reason("alice", "NotOwned").await;
    assert!(cu.metadata.deletion_timestamp.is_some());
    assert!(env.writes().is_empty());
    assert!(env.connect.user(INSTANCE, &id).is_some());
    env.wait_event("alice", "NotOwned").await;
    // The documented release: switch the policy to Retain.
    let patch = kube::api::Patch::Merge(serde_json::json!({"spec": {"deletionPolicy": "Retain"}}));
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    env.wait_gone("alice").await;
    assert!(
        env.writes().is_empty(),
        "a user that is not ours is not even untagged"
    );
    assert!(env.connect.user(INSTANCE, &id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_deleted_behind_our_back_is_recreated() {
    let env = Env::start_with(Options {
        resync: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", "")).await.unwrap();
    let first = Env::user_id(&env.wait_ready("alice").await);
    env.connect.remove_user(INSTANCE, &first);
    let cu = env
        .wait_for("alice", "recreated", |cu| {
            cu.status
                .as_ref()
                .and_then(|s| s.user_id.clone())
                .is_some_and(|id| id != first)
        })
        .await;
    assert!(env.connect.user(INSTANCE, &Env::user_id(&cu)).is_some());
    env.wait_event("alice", "UserMissing").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_resource_says_reconciling_while_its_user_is_being_created() {
    let env = Env::start().await;
    // CreateUser takes a while (as when it waits for its quota): the resource must not look
    // done (no conditions) to kstatus in the meantime.
    env.connect.add_fault(sim::connect::Fault::on(
        "CreateUser",
        sim::connect::FaultKind::Latency(Duration::from_secs(2)),
    ));
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env
        .wait_for("alice", "Reconciling before CreateUser returns", |cu| {
            cu.status
                .as_ref()
                .and_then(|s| s.condition("Reconciling"))
                .is_some()
        })
        .await;
    let s = cu.status.unwrap();
    assert!(env.connect.users(INSTANCE).is_empty(), "still creating");
    assert_eq!(s.observed_generation, cu.metadata.generation);
    let ready = s.condition("Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Creating")
    );
    let cu = env.wait_ready("alice").await;
    assert!(cu.status.unwrap().condition("Reconciling").is_none());
}
