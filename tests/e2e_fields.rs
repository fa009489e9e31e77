//! Per-channel configuration, persistent connection and proficiencies, end to end: create with
//! every new field, one matching call per change, drift corrected, bad input refused by the
//! CRD's schema before the operator sees it.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sim::connect::SimUser;

const FIELDS: &str = r#"
  phoneConfig: {phoneType: SOFT_PHONE, autoAccept: true, afterContactWorkTimeLimit: 30, persistentConnection: true}
  channelConfig:
    voice: {voiceEnhancementMode: NOISE_SUPPRESSION}
    chat: {autoAccept: true, afterContactWorkTimeLimit: 120}
    task: {autoAccept: false, afterContactWorkTimeLimit: 600}
    email: {autoAccept: true}
  proficiencies:
    - {attributeName: Language, attributeValue: English, level: 4.5}
    - {attributeName: Language, attributeValue: French, level: 2}
"#;

/// Every Connect write the operator can make (the shared list lacks the proficiency calls) that
/// Connect carried out: with eventual consistency on, a call can be refused (NotFound) while
/// Connect has not caught up with the operator's previous write, and is sent again.
fn writes(env: &Env) -> Vec<String> {
    env.connect
        .calls()
        .into_iter()
        .filter(|c| c.status == 200)
        .map(|c| c.operation)
        .filter(|op| {
            [
                "Create",
                "Update",
                "Delete",
                "Associate",
                "Disassociate",
                "Tag",
                "Untag",
            ]
            .iter()
            .any(|p| op.starts_with(p))
        })
        .collect()
}

/// The managed values, in a form that ignores list order.
#[derive(Debug, PartialEq)]
struct Managed {
    auto_accept: Vec<(String, bool)>,
    after_contact_work: Vec<(String, Option<i32>)>,
    voice_enhancement: Vec<(String, String)>,
    persistent_connection: Option<bool>,
    proficiencies: Vec<(String, String, String)>,
}

fn managed(u: &SimUser) -> Managed {
    let mut m = Managed {
        auto_accept: u
            .auto_accept_configs
            .iter()
            .map(|a| (a.channel.clone(), a.auto_accept))
            .collect(),
        // Only the channels channelConfig manages (VOICE's limit is phoneConfig's).
        after_contact_work: u
            .after_contact_work_configs
            .iter()
            .filter(|a| a.channel == "CHAT" || a.channel == "TASK")
            .map(|a| {
                (
                    a.channel.clone(),
                    a.after_contact_work_config.after_contact_work_time_limit,
                )
            })
            .collect(),
        voice_enhancement: u
            .voice_enhancement_configs
            .iter()
            .map(|v| (v.channel.clone(), v.voice_enhancement_mode.clone()))
            .collect(),
        persistent_connection: u.phone_config().persistent_connection,
        proficiencies: u
            .proficiencies
            .iter()
            .map(|p| {
                (
                    p.attribute_name.clone(),
                    p.attribute_value.clone(),
                    format!("{:.2}", p.level),
                )
            })
            .collect(),
    };
    m.auto_accept.sort();
    m.after_contact_work.sort();
    m.proficiencies.sort();
    m
}

fn expected() -> Managed {
    Managed {
        // VOICE from phoneConfig, the others from channelConfig.
        auto_accept: vec![
            ("CHAT".into(), true),
            ("EMAIL".into(), true),
            ("TASK".into(), false),
            ("VOICE".into(), true),
        ],
        after_contact_work: vec![("CHAT".into(), Some(120)), ("TASK".into(), Some(600))],
        voice_enhancement: vec![("VOICE".into(), "NOISE_SUPPRESSION".into())],
        persistent_connection: Some(true),
        proficiencies: vec![
            ("Language".into(), "English".into(), "4.50".into()),
            ("Language".into(), "French".into(), "2.00".into()),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_sets_every_new_field_and_then_stays_quiet() {
    let env = Env::start_with(Options {
        resync: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", FIELDS)).await.unwrap();
    let cu = env.wait_ready("alice").await;
    assert_eq!(reason(&cu), "Created");
    let user = env.connect.user(INSTANCE, &Env::user_id(&cu)).unwrap();
    assert_eq!(managed(&user), expected());
    let phone = user.phone_config();
    assert_eq!(
        (phone.auto_accept, phone.after_contact_work_time_limit),
        (Some(true), Some(30))
    );
    assert_eq!(
        writes(&env),
        vec!["CreateUser", "AssociateUserProficiencies"],
        "channel settings travel in CreateUser; proficiencies cannot"
    );
    // Steady state: resyncs through the bulk scan and at least one full describe (which reads
    // the proficiencies) find nothing to change.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while env
        .connect
        .calls()
        .iter()
        .filter(|c| c.operation == "ListUserProficiencies")
        .count()
        < 2
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no full describe happened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let count = |op: &str| {
        env.connect
            .calls()
            .iter()
            .filter(|c| c.operation == op)
            .count()
    };
    assert!(
        count("SearchUsers") >= 3,
        "several bulk resyncs ran too: {}",
        count("SearchUsers")
    );
    assert_eq!(
        writes(&env),
        vec!["CreateUser", "AssociateUserProficiencies"]
    );
}

/// SearchUsers states after-contact-work limits in milliseconds: the bulk drift check converts
/// them, so a user in sync with non-zero limits (VOICE through phoneConfig, CHAT and TASK through
/// channelConfig) is confirmed from the shared scan alone, with no DescribeUser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_sync_user_with_after_contact_work_costs_no_describe_at_a_bulk_resync() {
    let env = Env::start_with(Options {
        resync: Duration::from_millis(200),
        // No periodic full describe in this window: every resync is a bulk one.
        full_describe_every: 10_000,
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", FIELDS)).await.unwrap();
    let id = Env::user_id(&env.wait_ready("alice").await);
    let user = env.connect.user(INSTANCE, &id).unwrap();
    assert_eq!(user.phone_config().after_contact_work_time_limit, Some(30));
    env.connect.clear_calls();
    let count = |op: &str| {
        env.connect
            .calls()
            .iter()
            .filter(|c| c.operation == op)
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count("SearchUsers") < 4 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no bulk resyncs happened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ops: Vec<String> = env
        .connect
        .calls()
        .into_iter()
        .map(|c| c.operation)
        .collect();
    assert_eq!(count("DescribeUser"), 0, "{ops:?}");
    assert_eq!(writes(&env), Vec::<String>::new());
    let cu = env.api().get("alice").await.unwrap();
    assert_eq!(reason(&cu), "InSync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_sends_exactly_the_matching_calls() {
    let env = Env::start().await;
    env.create(&manifest("alice", FIELDS)).await.unwrap();
    let id = Env::user_id(&env.wait_ready("alice").await);
    let changes: Vec<(serde_json::Value, Vec<&str>)> = vec![
        (
            json!({"channelConfig": {"chat": {"autoAccept": false}}}),
            vec!["UpdateUserConfig"],
        ),
        (
            json!({"channelConfig": {"voice": {"voiceEnhancementMode": "VOICE_ISOLATION"}}}),
            vec!["UpdateUserConfig"],
        ),
        (
            json!({"channelConfig": {"task": {"afterContactWorkTimeLimit": 45}}}),
            vec!["UpdateUserConfig"],
        ),
        // A phone change is UpdateUserConfig with the VOICE entries, which leaves the other
        // channels' limits alone (UpdateUserPhoneConfig would reset them all).
        (
            json!({"phoneConfig": {"persistentConnection": false}}),
            vec!["UpdateUserConfig"],
        ),
        (
            json!({"proficiencies": [
                {"attributeName": "Language", "attributeValue": "English", "level": 3},
                {"attributeName": "Language", "attributeValue": "French", "level": 2}
            ]}),
            vec!["UpdateUserProficiencies"],
        ),
        (
            json!({"proficiencies": [
                {"attributeName": "Language", "attributeValue": "English", "level": 3},
                {"attributeName": "Language", "attributeValue": "French", "level": 2},
                {"attributeName": "Skill", "attributeValue": "Billing", "level": 1.5}
            ]}),
            vec!["AssociateUserProficiencies"],
        ),
        (
            json!({"proficiencies": [
                {"attributeName": "Skill", "attributeValue": "Billing", "level": 1.5}
            ]}),
            vec!["DisassociateUserProficiencies"],
        ),
    ];
    for (spec, ops) in changes {
        env.connect.clear_calls();
        let before = env.api().get("alice").await.unwrap().metadata.generation;
        let patch = kube::api::Patch::Merge(json!({ "spec": spec }));
        env.api()
            .patch("alice", &Default::default(), &patch)
            .await
            .unwrap();
        env.wait_for("alice", "Updated", |cu| {
            cu.status.as_ref().and_then(|s| s.observed_generation) > before
                && reason(cu) == "Updated"
        })
        .await;
        assert_eq!(writes(&env), ops, "spec change {spec}");
    }
    let user = env.connect.user(INSTANCE, &id).unwrap();
    let m = managed(&user);
    assert!(m.auto_accept.contains(&("CHAT".into(), false)), "{m:?}");
    assert_eq!(
        m.after_contact_work,
        vec![("CHAT".into(), Some(120)), ("TASK".into(), Some(45))],
        "the phone write left the other channels' limits alone"
    );
    assert_eq!(
        m.voice_enhancement,
        vec![("VOICE".into(), "VOICE_ISOLATION".into())]
    );
    assert_eq!(m.persistent_connection, Some(false));
    assert_eq!(
        m.proficiencies,
        vec![("Skill".into(), "Billing".into(), "1.50".into())]
    );

    // Dropping the fields stops managing them: no call, and Connect keeps the values.
    env.connect.clear_calls();
    let before = env.api().get("alice").await.unwrap().metadata.generation;
    let patch =
        kube::api::Patch::Merge(json!({"spec": {"channelConfig": null, "proficiencies": null}}));
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    env.wait_for("alice", "observed", |cu| {
        cu.status.as_ref().and_then(|s| s.observed_generation) > before
    })
    .await;
    assert_eq!(writes(&env), Vec::<String>::new());
    assert_eq!(managed(&env.connect.user(INSTANCE, &id).unwrap()), m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_each_new_field_is_corrected() {
    let env = Env::start_with(Options {
        resync: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", FIELDS)).await.unwrap();
    let id = Env::user_id(&env.wait_ready("alice").await);
    type Drift = Box<dyn Fn(&mut SimUser)>;
    let drifts: Vec<(&str, Drift, Vec<&str>)> = vec![
        (
            "chat auto-accept",
            Box::new(|u| {
                u.auto_accept_configs
                    .iter_mut()
                    .find(|a| a.channel == "CHAT")
                    .unwrap()
                    .auto_accept = false
            }),
            vec!["UpdateUserConfig"],
        ),
        (
            "task after-contact work",
            Box::new(|u| {
                u.after_contact_work_configs
                    .iter_mut()
                    .find(|a| a.channel == "TASK")
                    .unwrap()
                    .after_contact_work_config
                    .after_contact_work_time_limit = Some(5)
            }),
            vec!["UpdateUserConfig"],
        ),
        (
            "voice enhancement",
            Box::new(|u| u.voice_enhancement_configs.clear()),
            vec!["UpdateUserConfig"],
        ),
        (
            "persistent connection",
            Box::new(|u| u.persistent_connection_configs[0].persistent_connection = false),
            vec!["UpdateUserConfig"],
        ),
        // Proficiencies are in neither SearchUsers nor DescribeUser: the periodic full
        // describe (every 6 resyncs) reads them with ListUserProficiencies.
        (
            "proficiency level",
            Box::new(|u| u.proficiencies[0].level = 1.0),
            vec!["UpdateUserProficiencies"],
        ),
        (
            "proficiency removed",
            Box::new(|u| {
                u.proficiencies.remove(1);
            }),
            vec!["AssociateUserProficiencies"],
        ),
        (
            "proficiency added",
            Box::new(|u| {
                u.proficiencies.push(sim::connect::UserProficiency {
                    attribute_name: "Skill".into(),
                    attribute_value: "Sales".into(),
                    level: 5.0,
                })
            }),
            vec!["DisassociateUserProficiencies"],
        ),
    ];
    for (what, drift, ops) in drifts {
        env.connect.clear_calls();
        assert!(env.connect.modify_user(INSTANCE, &id, |u| drift(u)));
        assert_ne!(
            managed(&env.connect.user(INSTANCE, &id).unwrap()),
            expected()
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while managed(&env.connect.user(INSTANCE, &id).unwrap()) != expected() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} drift not corrected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(writes(&env), ops, "{what}");
    }
    env.wait_event("alice", "DriftCorrected").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_new_fields_are_refused_naming_the_field() {
    let env = Env::start().await;
    let base = |extra: serde_json::Value| {
        let mut spec = json!({
            "instanceId": INSTANCE,
            "username": "alice",
            "passwordSecretRef": {"name": "agent-passwords", "key": "alice"},
            "securityProfiles": [{"name": "Agent"}],
            "routingProfile": {"name": "Basic Routing Profile"}
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        json!({
            "apiVersion": "connect.userops.dev/v1alpha1",
            "kind": "ConnectUser",
            "metadata": {"name": "alice"},
            "spec": spec
        })
    };
    let english = |level: f64| json!({"attributeName": "Language", "attributeValue": "English", "level": level});
    let cases = [
        (
            "level above 5",
            json!({"proficiencies": [english(5.5)]}),
            "spec.proficiencies[0].level",
        ),
        (
            "level below 1",
            json!({"proficiencies": [english(0.0)]}),
            "spec.proficiencies[0].level",
        ),
        (
            "repeated pair",
            json!({"proficiencies": [english(2.0), english(3.0)]}),
            "must not repeat",
        ),
        (
            "empty attribute name",
            json!({"proficiencies": [{"attributeName": "", "attributeValue": "x", "level": 1}]}),
            "spec.proficiencies[0].attributeName",
        ),
        (
            "unknown voice enhancement",
            json!({"channelConfig": {"voice": {"voiceEnhancementMode": "LOUD"}}}),
            "spec.channelConfig.voice.voiceEnhancementMode",
        ),
        (
            "negative after-contact work",
            json!({"channelConfig": {"chat": {"afterContactWorkTimeLimit": -1}}}),
            "spec.channelConfig.chat.afterContactWorkTimeLimit",
        ),
        (
            "after-contact work above 2000000",
            json!({"channelConfig": {"email": {"afterContactWorkTimeLimit": 2000001}}}),
            "spec.channelConfig.email.afterContactWorkTimeLimit",
        ),
    ];
    for (what, extra, field) in cases {
        assert_refused_naming(what, env.create_raw(base(extra)).await, field);
    }
    assert!(env.connect.calls().is_empty(), "nothing reached Connect");
}

fn agent_transfer_flow() -> String {
    let seed = sim::connect::InstanceSeed::standard(INSTANCE);
    let (id, _) = seed
        .contact_flows
        .iter()
        .find(|(_, name)| name == "Default agent transfer")
        .unwrap();
    id.clone()
}

fn quick_connect_id(cu: &connect_user_operator::crd::ConnectUser) -> Option<String> {
    cu.status.as_ref().and_then(|s| s.quick_connect_id.clone())
}

const QUICK_CONNECT: &str = r#"
  quickConnect:
    name: Transfer to Alice
    description: Alice, tier 1
    contactFlow: {name: Default agent transfer}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_quick_connect_is_created_renamed_retargeted_and_deleted() {
    let env = Env::start_with(Options {
        resync: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    env.create(&manifest("alice", QUICK_CONNECT)).await.unwrap();
    let cu = env
        .wait_for("alice", "quick connect recorded", |cu| {
            reason(cu) == "Created" && quick_connect_id(cu).is_some()
        })
        .await;
    let user_id = Env::user_id(&cu);
    let qc_id = quick_connect_id(&cu).unwrap();
    let qc = env.connect.quick_connect(INSTANCE, &qc_id).unwrap();
    assert_eq!(qc.quick_connect_type, "USER");
    assert_eq!(qc.name, "Transfer to Alice");
    assert_eq!(qc.description.as_deref(), Some("Alice, tier 1"));
    assert_eq!(qc.user_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(qc.contact_flow_id, Some(agent_transfer_flow()));
    assert_eq!(
        qc.tags.get(connect_user_operator::crd::OWNER_TAG),
        Some(&Env::uid(&cu))
    );
    assert_eq!(writes(&env), vec!["CreateUser", "CreateQuickConnect"]);
    env.wait_event("alice", "QuickConnectCreated").await;

    // A spec change: exactly the matching call, same quick connect.
    env.connect.clear_calls();
    let before = env.api().get("alice").await.unwrap().metadata.generation;
    let patch = kube::api::Patch::Merge(
        json!({"spec": {"quickConnect": {"name": "Alice (support)", "contactFlow": {"id": agent_transfer_flow(), "name": null}}}}),
    );
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    let cu = env
        .wait_for("alice", "renamed", |cu| {
            cu.status.as_ref().and_then(|s| s.observed_generation) > before
                && reason(cu) == "Updated"
        })
        .await;
    assert_eq!(writes(&env), vec!["UpdateQuickConnectName"]);
    assert_eq!(quick_connect_id(&cu).as_deref(), Some(qc_id.as_str()));
    let qc = env.connect.quick_connect(INSTANCE, &qc_id).unwrap();
    assert_eq!(qc.name, "Alice (support)");
    assert_eq!(qc.description.as_deref(), Some("Alice, tier 1"));

    // Drift, as from the console: corrected on the full-describe cadence.
    let other_user = env.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "someone-else".into(),
            ..Default::default()
        },
    );
    for (what, ops, drift) in [
        (
            "target user",
            vec!["UpdateQuickConnectConfig"],
            Box::new(|q: &mut sim::connect::SimQuickConnect| q.user_id = Some(other_user.clone()))
                as Box<dyn Fn(&mut sim::connect::SimQuickConnect)>,
        ),
        (
            "name and description",
            vec!["UpdateQuickConnectName"],
            Box::new(|q: &mut sim::connect::SimQuickConnect| {
                q.name = "Renamed in the console".into();
                q.description = Some("changed".into());
            }),
        ),
    ] {
        env.connect.clear_calls();
        assert!(
            env.connect
                .modify_quick_connect(INSTANCE, &qc_id, |q| drift(q))
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let qc = env.connect.quick_connect(INSTANCE, &qc_id).unwrap();
            if qc.user_id.as_deref() == Some(user_id.as_str())
                && qc.name == "Alice (support)"
                && qc.description.as_deref() == Some("Alice, tier 1")
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} drift not corrected: {qc:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(writes(&env), ops, "{what}");
    }

    // Deleted behind our back: created again.
    env.connect.clear_calls();
    assert!(env.connect.remove_quick_connect(INSTANCE, &qc_id));
    let cu = env
        .wait_for("alice", "a new quick connect", |cu| {
            quick_connect_id(cu).is_some_and(|id| id != qc_id)
        })
        .await;
    assert_eq!(writes(&env), vec!["CreateQuickConnect"]);
    let qc_id = quick_connect_id(&cu).unwrap();

    // Removing spec.quickConnect deletes it and nothing else.
    env.connect.clear_calls();
    let patch = kube::api::Patch::Merge(json!({"spec": {"quickConnect": null}}));
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    env.wait_for("alice", "quick connect forgotten", |cu| {
        quick_connect_id(cu).is_none()
    })
    .await;
    assert_eq!(writes(&env), vec!["DeleteQuickConnect"]);
    assert!(env.connect.quick_connect(INSTANCE, &qc_id).is_none());
    assert!(env.connect.user(INSTANCE, &user_id).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_resource_removes_the_managed_quick_connect_with_the_user() {
    let env = Env::start().await;
    env.create(&manifest("alice", QUICK_CONNECT)).await.unwrap();
    let cu = env
        .wait_for("alice", "quick connect recorded", |cu| {
            quick_connect_id(cu).is_some()
        })
        .await;
    let qc_id = quick_connect_id(&cu).unwrap();
    env.connect.clear_calls();
    env.delete("alice").await;
    env.wait_gone("alice").await;
    assert_eq!(writes(&env), vec!["DeleteUser", "DeleteQuickConnect"]);
    assert!(env.connect.quick_connect(INSTANCE, &qc_id).is_none());
    assert!(env.connect.quick_connects(INSTANCE).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_connect_problems_are_reported_on_the_field() {
    let env = Env::start().await;
    // A flow of the wrong type is not found among AGENT_TRANSFER flows.
    env.create(&manifest(
        "alice",
        "  quickConnect: {name: To Alice, contactFlow: {name: Sales transfer}}\n",
    ))
    .await
    .unwrap();
    let cu = env.wait_reason("alice", "InvalidSpec").await;
    let ready = cu.status.as_ref().unwrap().condition("Ready").unwrap();
    assert_eq!(ready.status, "False");
    assert!(
        ready
            .message
            .starts_with("spec.quickConnect.contactFlow.name: no AGENT_TRANSFER contact flow named \"Sales transfer\""),
        "{}",
        ready.message
    );
    // The user itself was created and recorded even though the quick connect failed.
    let user_id = Env::user_id(&cu);
    assert!(env.connect.user(INSTANCE, &user_id).is_some());

    // A name taken by a quick connect someone else made.
    env.connect.insert_quick_connect(
        INSTANCE,
        sim::connect::SimQuickConnect {
            name: "Taken".into(),
            quick_connect_type: "USER".into(),
            user_id: Some(user_id.clone()),
            contact_flow_id: Some(agent_transfer_flow()),
            ..Default::default()
        },
    );
    let patch = kube::api::Patch::Merge(
        json!({"spec": {"quickConnect": {"name": "Taken", "contactFlow": {"name": "Default agent transfer"}}}}),
    );
    env.api()
        .patch("alice", &Default::default(), &patch)
        .await
        .unwrap();
    let cu = env.wait_reason("alice", "Conflict").await;
    let message = &cu
        .status
        .as_ref()
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message;
    assert!(message.starts_with("spec.quickConnect.name:"), "{message}");
    assert!(
        !writes(&env).contains(&"CreateQuickConnect".to_string()),
        "{:?}",
        writes(&env)
    );
    assert_eq!(env.connect.quick_connects(INSTANCE).len(), 1);
}
