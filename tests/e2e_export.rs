//! Round trip of `connect-user-operator export`: users made by hand in Connect are exported by the
//! real binary, the output is applied with the real `kubectl apply -f`, and the running operator
//! adopts every one of them without changing anything in Connect except its ownership tag.

mod common;

use std::time::Duration;

use std::collections::BTreeMap;

use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use sim::connect::{
    AutoAcceptConfig, IdentityInfo, InstanceSeed, PhoneConfig, SimUser, UserProficiency,
};

fn id_of(list: &[(String, String)], name: &str) -> String {
    list.iter()
        .find(|(_, n)| n == name)
        .unwrap_or_else(|| panic!("{name} is seeded"))
        .0
        .clone()
}

fn phone(kind: &str, desk: Option<&str>, auto_accept: bool, acw: i32) -> PhoneConfig {
    PhoneConfig {
        phone_type: Some(kind.into()),
        auto_accept: Some(auto_accept),
        after_contact_work_time_limit: Some(acw),
        desk_phone_number: desk.map(str::to_string),
        persistent_connection: None,
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Users as an administrator would have made them in the console: every shape the export has to
/// carry over (hierarchy, desk phone, tags, full identity, several profiles, a username that is
/// not a valid Kubernetes name).
fn seed_users(env: &Env) -> Vec<String> {
    let seed = InstanceSeed::standard(INSTANCE);
    let sp = |n| id_of(&seed.security_profiles, n);
    let rp = |n| id_of(&seed.routing_profiles, n);
    let hg = |n| id_of(&seed.hierarchy_groups, n);
    let users = vec![
        SimUser {
            username: "alice".into(),
            identity_info: Some(IdentityInfo {
                first_name: Some("Alice".into()),
                last_name: Some("Liddell".into()),
                email: Some("alice@example.com".into()),
                secondary_email: Some("alice.l@example.org".into()),
                mobile: Some("+14155550101".into()),
            }),
            security_profile_ids: vec![sp("Agent")],
            routing_profile_id: rp("Basic Routing Profile"),
            hierarchy_group_id: Some(hg("Tier1")),
            tags: tags(&[("team", "support"), ("cost-center", "cc-17")]),
            // Fields beyond DescribeUser's classic ones: chat auto-accept and a proficiency.
            auto_accept_configs: vec![AutoAcceptConfig {
                channel: "CHAT".into(),
                auto_accept: true,
                agent_first_callback_auto_accept: None,
            }],
            proficiencies: vec![UserProficiency {
                attribute_name: "Language".into(),
                attribute_value: "French".into(),
                level: 3.5,
            }],
            ..Default::default()
        }
        .with_phone_config(&phone("SOFT_PHONE", None, true, 30)),
        SimUser {
            username: "Bob.Builder@example.com".into(),
            identity_info: Some(IdentityInfo {
                first_name: Some("Bob".into()),
                last_name: Some("Builder".into()),
                ..Default::default()
            }),
            security_profile_ids: vec![sp("Agent"), sp("CallCenterManager")],
            routing_profile_id: rp("Sales"),
            hierarchy_group_id: Some(hg("Tier2")),
            tags: tags(&[("team", "sales")]),
            ..Default::default()
        }
        .with_phone_config(&phone("DESK_PHONE", Some("+442071838750"), false, 0)),
        SimUser {
            username: "carol_2".into(),
            security_profile_ids: vec![sp("QualityAnalyst")],
            routing_profile_id: rp("Basic Routing Profile"),
            ..Default::default()
        }
        .with_phone_config(&phone("SOFT_PHONE", None, false, 0)),
        SimUser {
            username: "dave".into(),
            identity_info: Some(IdentityInfo {
                first_name: Some("Dave".into()),
                email: Some("dave@example.com".into()),
                ..Default::default()
            }),
            security_profile_ids: vec![sp("Admin")],
            routing_profile_id: rp("Sales"),
            ..Default::default()
        }
        .with_phone_config(&phone("DESK_PHONE", Some("+14155550199"), true, 120)),
    ];
    users
        .into_iter()
        .map(|u| env.connect.insert_user(INSTANCE, u))
        .collect()
}

async fn export(env: &Env) -> String {
    // The emulator verifies signatures: this test's own key, to tell its calls apart.
    env.connect.iam().add_access_key(
        sim::aws::TEST_ACCOUNT_ID,
        "export-test",
        "AKIDEXPORTTEST",
        "export-test-secret",
    );
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_connect-user-operator"))
        .args([
            "export",
            "--instance-id",
            INSTANCE,
            "--region",
            REGION,
            "--namespace",
            NS,
        ])
        .env("AWS_ENDPOINT_URL_CONNECT", env.connect.endpoint())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXPORTTEST")
        .env("AWS_SECRET_ACCESS_KEY", "export-test-secret")
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .expect("operator binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export failed: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8 YAML")
}

async fn kubectl(env: &Env, dir: &std::path::Path, args: &[&str]) -> String {
    let kubeconfig = dir.join("kubeconfig");
    env.kube.write_kubeconfig(&kubeconfig).unwrap();
    let out = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir)
        .output()
        .await
        .expect("kubectl is installed");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "kubectl {args:?}:\n{stdout}\n{stderr}"
    );
    stdout
}

/// A user without what the adoption may change: the ownership tag and the modification stamp.
fn comparable(mut u: SimUser) -> SimUser {
    u.tags.remove(OWNER_TAG);
    u.last_modified = Default::default();
    u.last_modified_region = String::new();
    u
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_users_are_adopted_with_no_change_but_the_ownership_tag() {
    let env = Env::start().await;
    let ids = seed_users(&env);
    // A user some other ConnectUser already manages: listed as a comment, never exported.
    let seed = InstanceSeed::standard(INSTANCE);
    let owned = env.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "erin".into(),
            security_profile_ids: vec![id_of(&seed.security_profiles, "Agent")],
            routing_profile_id: id_of(&seed.routing_profiles, "Sales"),
            tags: tags(&[(OWNER_TAG, "uid-of-another-resource")]),
            ..Default::default()
        }
        .with_phone_config(&phone("SOFT_PHONE", None, false, 0)),
    );
    let before: Vec<SimUser> = ids
        .iter()
        .map(|id| env.connect.user(INSTANCE, id).unwrap())
        .collect();
    let erin_before = env.connect.user(INSTANCE, &owned).unwrap();
    // The users were made by hand long before anyone exports them: let Connect's search index
    // catch up with the seeding (export lists what SearchUsers shows; a user created seconds
    // before an export can be missing from it, like from the console's own list).
    assert!(env.connect.wait_settled(Duration::from_secs(10)).await);
    env.connect.clear_calls();

    let yaml = export(&env).await;
    assert!(
        env.writes().is_empty(),
        "export only reads: {:?}",
        env.write_ops()
    );
    let calls = env.connect.calls();
    assert!(
        calls.iter().all(|c| c.access_key_id == "AKIDEXPORTTEST"),
        "every read came from the export binary"
    );
    let reads: Vec<String> = calls.into_iter().map(|c| c.operation).collect();
    assert_eq!(
        reads.iter().filter(|o| *o == "DescribeUser").count(),
        5,
        "every user described once: {reads:?}"
    );
    assert!(yaml.contains("existing users keep the password"), "{yaml}");
    // Fields outside DescribeUser's classic set travel too, or adoption would not manage them.
    assert!(
        yaml.contains("attributeValue: French") && yaml.contains("level: 3.5"),
        "{yaml}"
    );
    assert!(yaml.contains("chat:\n      autoAccept: true"), "{yaml}");
    assert!(
        yaml.contains(&format!("# Skipped \"erin\" ({owned})")),
        "{yaml}"
    );
    assert!(
        yaml.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| !l.contains("uid-of-another-resource")
                && !l.contains("erin")
                && !l.contains("passwordSecretRef")),
        "{yaml}"
    );
    // Names, not ids, for everything the catalog names uniquely.
    for name in [
        "Tier1",
        "Tier2",
        "CallCenterManager",
        "Sales",
        "Basic Routing Profile",
    ] {
        assert!(yaml.contains(&format!("name: {name}")), "{name}:\n{yaml}");
    }
    for (id, _) in seed
        .security_profiles
        .iter()
        .chain(&seed.routing_profiles)
        .chain(&seed.hierarchy_groups)
    {
        assert!(
            !yaml.contains(id.as_str()),
            "id {id} in the export:\n{yaml}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(&file, &yaml).unwrap();
    env.connect.clear_calls();
    let applied = kubectl(&env, dir.path(), &["apply", "-f", file.to_str().unwrap()]).await;
    assert_eq!(applied.lines().count(), 4, "{applied}");

    let bob_name = connect_user_operator::export::resource_name("Bob.Builder@example.com");
    let carol_name = connect_user_operator::export::resource_name("carol_2");
    let names = ["alice", bob_name.as_str(), carol_name.as_str(), "dave"];
    let mut adopted: Vec<ConnectUser> = Vec::new();
    for name in names {
        adopted.push(
            env.wait_for(name, "Ready=True Adopted", |cu| {
                ready(cu) == Some(("True".into(), "Adopted".into()))
                    && cu.status.as_ref().and_then(|s| s.observed_generation)
                        == cu.metadata.generation
            })
            .await,
        );
    }
    assert!(env.api().get_opt("erin").await.unwrap().is_none());

    // Zero writes but one ownership TagResource per user, tagging nothing else.
    let writes = env.writes();
    assert_eq!(
        writes
            .iter()
            .map(|c| c.operation.as_str())
            .collect::<Vec<_>>(),
        vec!["TagResource"; 4],
        "{:?}",
        env.write_ops()
    );
    for (cu, (id, before)) in adopted.iter().zip(ids.iter().zip(&before)) {
        assert_eq!(
            Env::user_id(cu),
            *id,
            "{} adopted its user",
            cu.spec.username
        );
        let after = env.connect.user(INSTANCE, id).unwrap();
        assert_eq!(after.tags.get(OWNER_TAG), Some(&Env::uid(cu)));
        assert_eq!(comparable(after), comparable(before.clone()));
        assert!(cu.spec.password_secret_ref.is_none());
        assert!(cu.spec.adopt_existing);
    }
    // One tag call per adopted user (the comparison above shows it added only the owner tag).
    let mut targets: Vec<String> = writes.iter().filter_map(|c| c.target.clone()).collect();
    targets.sort();
    let mut arns: Vec<String> = before.iter().map(|u| u.arn.clone()).collect();
    arns.sort();
    assert_eq!(targets, arns);
    assert_eq!(env.connect.user(INSTANCE, &owned).unwrap(), erin_before);

    // Exporting again is stable, and now lists every user as already managed.
    let again = export(&env).await;
    assert_eq!(again.matches("# Skipped ").count(), 5, "{again}");
}
