//! Accounts in the Connect emulator: each account's instances only to that account's
//! credentials, ARNs carrying the instance's account, quotas per (account, Region, operation),
//! and Global Resiliency replicas answering in their Region with the same state.

mod aws_support;

use aws_sdk_connect::Client;
use aws_sdk_connect::types::{PhoneType, UserPhoneConfig};
use aws_support::*;
use sim::aws::TEST_ACCESS_KEY_ID;
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed, Quota, SimUser};

/// Instance A in account 1 (the test account), instance B in account 2, and a key for each.
async fn two_accounts() -> (ConnectSim, Client, Client) {
    let sim = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    sim.seed_instance(InstanceSeed::standard(INSTANCE_A));
    sim.seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let key2 = sim.iam().create_user(ACCOUNT_2, "admin");
    let one = client(&sim, REGION, &test_key());
    let two = client(&sim, REGION, &key2);
    (sim, one, two)
}

async fn create_user(client: &Client, instance: &str, username: &str) -> (String, String) {
    let seed = InstanceSeed::standard(instance);
    let out = client
        .create_user()
        .instance_id(instance)
        .username(username)
        .password("S3cret-Passw0rd-xyz")
        .identity_info(identity(username))
        .security_profile_ids(&seed.security_profiles[0].0)
        .routing_profile_id(&seed.routing_profiles[0].0)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .build(),
        )
        .send()
        .await
        .unwrap();
    (
        out.user_id().unwrap().to_string(),
        out.user_arn().unwrap().to_string(),
    )
}

#[tokio::test]
async fn an_account_sees_only_its_own_instances() {
    let (sim, one, two) = two_accounts().await;
    let a = one
        .describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .unwrap();
    assert_eq!(
        a.instance().unwrap().arn(),
        Some(format!("arn:aws:connect:us-east-1:{ACCOUNT_1}:instance/{INSTANCE_A}").as_str())
    );
    let b = two
        .describe_instance()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .unwrap();
    assert_eq!(
        b.instance().unwrap().arn(),
        Some(format!("arn:aws:connect:us-east-1:{ACCOUNT_2}:instance/{INSTANCE_B}").as_str())
    );
    assert!(
        b.instance()
            .unwrap()
            .service_role()
            .unwrap()
            .contains(ACCOUNT_2)
    );

    // Account 1's key, on account 2's instance: not found, as an id that names nothing.
    let e = one
        .describe_instance()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert_eq!(message(&e), format!("Instance not found: {INSTANCE_B}"));
    let seed_b = InstanceSeed::standard(INSTANCE_B);
    let e = one
        .create_user()
        .instance_id(INSTANCE_B)
        .username("intruder")
        .password("S3cret-Passw0rd-xyz")
        .identity_info(identity("intruder"))
        .security_profile_ids(&seed_b.security_profiles[0].0)
        .routing_profile_id(&seed_b.routing_profiles[0].0)
        .phone_config(
            UserPhoneConfig::builder()
                .phone_type(PhoneType::SoftPhone)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = one
        .search_users()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = one
        .list_routing_profiles()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    assert!(sim.users(INSTANCE_B).is_empty(), "nothing was written");

    // Users made by account 2 carry its account in their ARN; account 1 cannot touch them by
    // id nor by ARN (IAM denies another account's ARN before Connect looks).
    let (bob, bob_arn) = create_user(&two, INSTANCE_B, "bob").await;
    assert_eq!(
        bob_arn,
        format!("arn:aws:connect:us-east-1:{ACCOUNT_2}:instance/{INSTANCE_B}/agent/{bob}")
    );
    let e = one
        .describe_user()
        .instance_id(INSTANCE_B)
        .user_id(&bob)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let e = one
        .tag_resource()
        .resource_arn(&bob_arn)
        .tags("owner", "mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("AccessDeniedException", 403)
    );
    assert_eq!(
        message(&e),
        format!(
            "User: arn:aws:iam::{ACCOUNT_1}:user/sim-test is not authorized to perform: connect:TagResource on resource: {bob_arn}"
        )
    );
    let e = one
        .list_tags_for_resource()
        .resource_arn(&bob_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDeniedException");
    assert!(sim.user(INSTANCE_B, &bob).unwrap().tags.is_empty());
    // An ARN that claims account 1 for account 2's instance names nothing of account 1's.
    let forged = bob_arn.replace(ACCOUNT_2, ACCOUNT_1);
    let e = one
        .list_tags_for_resource()
        .resource_arn(&forged)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );

    // Account 2 tags its own user; the call log tells the accounts apart.
    two.tag_resource()
        .resource_arn(&bob_arn)
        .tags("team", "b")
        .send()
        .await
        .unwrap();
    let calls = sim.calls();
    let by_two: Vec<_> = calls.iter().filter(|c| c.account_id == ACCOUNT_2).collect();
    assert!(by_two.iter().all(|c| c.status == 200));
    assert!(by_two.iter().any(|c| c.operation == "TagResource"));
    assert!(
        calls
            .iter()
            .filter(|c| c.access_key_id == TEST_ACCESS_KEY_ID)
            .all(|c| c.account_id == ACCOUNT_1)
    );
}

#[tokio::test]
async fn console_inserts_use_the_instance_account_in_arns() {
    let (sim, _, two) = two_accounts().await;
    let seed = InstanceSeed::standard(INSTANCE_B);
    let id = sim.insert_user(
        INSTANCE_B,
        SimUser {
            username: "console".into(),
            routing_profile_id: seed.routing_profiles[0].0.clone(),
            security_profile_ids: vec![seed.security_profiles[0].0.clone()],
            ..SimUser::default()
        },
    );
    let user = two
        .describe_user()
        .instance_id(INSTANCE_B)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    assert!(user.user().unwrap().arn().unwrap().contains(ACCOUNT_2));
    assert_eq!(sim.state_json()["Instances"][1]["Account"], ACCOUNT_2);
}

#[tokio::test]
async fn quotas_are_per_account_and_region() {
    let (sim, one, two) = two_accounts().await;
    sim.set_quota(Some(Quota {
        rate_per_sec: 0.01,
        burst: 2,
    }));
    let list_one = || one.list_routing_profiles().instance_id(INSTANCE_A).send();
    list_one().await.unwrap();
    list_one().await.unwrap();
    let e = list_one().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_throttling_exception());
    // Another key of account 1 draws from the same bucket...
    let colleague = client(&sim, REGION, &sim.iam().create_user(ACCOUNT_1, "colleague"));
    let e = colleague
        .list_routing_profiles()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_throttling_exception());
    // ...account 2's bucket is untouched.
    for _ in 0..2 {
        two.list_routing_profiles()
            .instance_id(INSTANCE_B)
            .send()
            .await
            .expect("account 2 has its own quota");
    }
    assert!(
        two.list_routing_profiles()
            .instance_id(INSTANCE_B)
            .send()
            .await
            .is_err(),
        "and the same size"
    );
    // An account can get its own quota (a quota increase).
    sim.set_account_quota(
        ACCOUNT_2,
        Some(Some(Quota {
            rate_per_sec: 0.01,
            burst: 5,
        })),
    );
    for _ in 0..5 {
        two.list_routing_profiles()
            .instance_id(INSTANCE_B)
            .send()
            .await
            .expect("within account 2's own burst");
    }
    assert!(list_one().await.is_err(), "account 1 is still drained");
    sim.set_account_quota(ACCOUNT_1, Some(None));
    list_one().await.expect("account 1 unthrottled");
}

#[tokio::test]
async fn replicas_answer_in_their_region_and_describe_the_replication() {
    let sim = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    sim.seed_instance(InstanceSeed::standard(INSTANCE_A).with_replica("us-west-2"));
    sim.seed_instance(InstanceSeed::standard(INSTANCE_B));
    let east = client(&sim, "us-east-1", &test_key());
    let west = client(&sim, "us-west-2", &test_key());

    let source = east
        .describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .unwrap();
    let replica = west
        .describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .unwrap();
    for (out, region) in [(&source, "us-east-1"), (&replica, "us-west-2")] {
        let i = out.instance().unwrap();
        assert_eq!(i.id(), Some(INSTANCE_A));
        assert_eq!(
            i.arn(),
            Some(format!("arn:aws:connect:{region}:{ACCOUNT_1}:instance/{INSTANCE_A}").as_str())
        );
        let r = out.replication_configuration().expect("replicated");
        assert_eq!(r.source_region(), Some("us-east-1"));
        let regions: Vec<_> = r
            .replication_status_summary_list()
            .iter()
            .map(|s| {
                (
                    s.region().unwrap(),
                    s.replication_status().unwrap().as_str(),
                )
            })
            .collect();
        assert_eq!(
            regions,
            [
                ("us-east-1", "INSTANCE_REPLICATION_COMPLETE"),
                ("us-west-2", "INSTANCE_REPLICATION_COMPLETE")
            ]
        );
        assert!(r.global_sign_in_endpoint().is_some());
    }
    assert_ne!(
        source.instance().unwrap().instance_alias(),
        replica.instance().unwrap().instance_alias(),
        "a replica has its own alias"
    );
    // A Region that is neither does not know the instance; an unreplicated one has no
    // ReplicationConfiguration.
    let e = client(&sim, "eu-west-2", &test_key())
        .describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception()
    );
    let plain = east
        .describe_instance()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .unwrap();
    assert!(plain.replication_configuration().is_none());

    // Users are shared: made in the source, seen and changed in the replica, which stamps its
    // Region; tagging by the user's ARN works in both.
    let (id, arn) = create_user(&east, INSTANCE_A, "alice").await;
    let seen = west
        .describe_user()
        .instance_id(INSTANCE_A)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.user().unwrap().username(), Some("alice"));
    assert_eq!(
        seen.user().unwrap().last_modified_region(),
        Some("us-east-1")
    );
    west.tag_resource()
        .resource_arn(&arn)
        .tags("written-in", "replica")
        .send()
        .await
        .unwrap();
    let after = east
        .describe_user()
        .instance_id(INSTANCE_A)
        .user_id(&id)
        .send()
        .await
        .unwrap();
    let user = after.user().unwrap();
    assert_eq!(user.last_modified_region(), Some("us-west-2"));
    assert_eq!(
        user.tags().unwrap().get("written-in").map(String::as_str),
        Some("replica")
    );
    assert_eq!(
        sim.state_json()["Instances"][0]["ReplicaRegions"][0],
        "us-west-2"
    );
}
