//! IRSA as a pod sees it, through aws-config's default credential chain and nothing else: the
//! projected token file, `AWS_ROLE_ARN`, and the endpoints from `AWS_ENDPOINT_URL_STS` /
//! `AWS_ENDPOINT_URL_CONNECT`. The pod's role then assumes a role in another account with the
//! AssumeRole provider, as the operator's instance objects will.
//!
//! One test in this file: it sets the process environment.

mod aws_support;

use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_support::*;
use sim::aws::{StsSim, Trust};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed};

#[tokio::test]
async fn the_default_chain_uses_the_web_identity_token_and_the_sts_endpoint_from_the_environment() {
    let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    connect.seed_instance(InstanceSeed::standard(INSTANCE_A));
    connect.seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let sts = StsSim::start(connect.iam().clone()).await.unwrap();
    let iam = connect.iam();
    let subject = "system:serviceaccount:connect-system:connect-user-operator";
    let pod_role = iam.create_role(
        ACCOUNT_1,
        "connect-user-operator",
        Trust {
            web_identity_subjects: vec![subject.into()],
            ..Trust::default()
        },
    );
    let target = iam.create_role(
        ACCOUNT_2,
        "connect-admin",
        Trust {
            principals: vec![pod_role.clone()],
            external_id: Some("cluster-1".into()),
            ..Trust::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        iam.issue_web_identity_token(subject, Duration::from_secs(3600)),
    )
    .unwrap();
    let nowhere = dir.path().join("absent");
    // SAFETY: the only test in this process; nothing else reads the environment concurrently.
    unsafe {
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        ] {
            std::env::remove_var(var);
        }
        std::env::set_var("AWS_CONFIG_FILE", &nowhere);
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &nowhere);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_REGION", REGION);
        std::env::set_var("AWS_ENDPOINT_URL_STS", sts.endpoint());
        std::env::set_var("AWS_ENDPOINT_URL_CONNECT", connect.endpoint());
        std::env::set_var("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file);
        std::env::set_var("AWS_ROLE_ARN", &pod_role);
        std::env::set_var("AWS_ROLE_SESSION_NAME", "operator-pod");
    }

    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let pod = aws_sdk_connect::Client::new(&conf);
    pod.describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .expect("the pod's role reaches its own account's instance");
    let e = pod
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
    let calls = sts.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].action, "AssumeRoleWithWebIdentity");
    assert_eq!(calls[0].access_key_id, "", "unsigned");
    assert_eq!(
        connect.calls()[0].principal_arn,
        "arn:aws:sts::123456789012:assumed-role/connect-user-operator/operator-pod"
    );

    // From the pod's credentials into account 2, through the same STS endpoint.
    let provider = AssumeRoleProvider::builder(&target)
        .external_id("cluster-1")
        .session_name("team-b")
        .configure(&conf)
        .build()
        .await;
    let team_b = aws_sdk_connect::Client::from_conf(
        aws_sdk_connect::config::Builder::from(&conf)
            .credentials_provider(provider)
            .build(),
    );
    team_b
        .describe_instance()
        .instance_id(INSTANCE_B)
        .send()
        .await
        .expect("the target role reaches account 2's instance");
    let assume = sts.calls().pop().unwrap();
    assert_eq!(assume.action, "AssumeRole");
    assert_eq!(assume.status, 200);
    assert!(
        assume.access_key_id.starts_with("ASIA"),
        "signed by the pod's session"
    );
    assert_eq!(
        assume.caller_arn.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/connect-user-operator/operator-pod")
    );
    assert_eq!(connect.calls().pop().unwrap().account_id, ACCOUNT_2);
}
