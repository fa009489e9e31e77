//! The STS emulator through the real SDK: aws-config's AssumeRole provider gets per-role
//! credentials that work against the Connect emulator for that role's account only, and are
//! refreshed when they expire; the trust policy (principals, ExternalId, TagSession) and the
//! parameter constraints are enforced; AssumeRoleWithWebIdentity accepts only the tokens a test
//! issued; STS authenticates its own callers.

mod aws_support;

use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_connect::Client;
use aws_sdk_connect::config::ProvideCredentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_support::*;
use sim::aws::{AccessKey, StsSim, TEST_ACCESS_KEY_ID, Trust};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed};

/// Connect with instance A (account 1) and B (account 2), and STS sharing its `Iam`.
async fn bed() -> (ConnectSim, StsSim) {
    let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    connect.seed_instance(InstanceSeed::standard(INSTANCE_A));
    connect.seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let sts = StsSim::start(connect.iam().clone()).await.unwrap();
    (connect, sts)
}

/// What a process configured with `key` and the STS endpoint loads.
async fn sdk_config(sts: &StsSim, creds: impl ProvideCredentials + 'static) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(sts.endpoint())
        .credentials_provider(creds)
        .load()
        .await
}

fn sts_client(config: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config)
            .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
            .build(),
    )
}

async fn describe(client: &Client, instance: &str) -> Result<(), String> {
    client
        .describe_instance()
        .instance_id(instance)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| code(&e))
}

fn sts_code<E: ProvideErrorMetadata, R: std::fmt::Debug>(
    e: &aws_sdk_sts::error::SdkError<E, R>,
) -> (String, String) {
    (
        e.code().unwrap_or("<none>").to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn assumed_role_credentials_work_for_that_accounts_instances_only() {
    let (connect, sts) = bed().await;
    let role = connect
        .iam()
        .create_role(ACCOUNT_2, "connect-admin", Trust::account(ACCOUNT_1));
    let base = sdk_config(&sts, credentials(&test_key())).await;
    let provider = AssumeRoleProvider::builder(&role)
        .session_name("operator")
        .configure(&base)
        .build()
        .await;
    let client = Client::from_conf(config(&connect, REGION, provider).build());
    describe(&client, INSTANCE_B).await.unwrap();
    assert_eq!(
        describe(&client, INSTANCE_A).await.unwrap_err(),
        "ResourceNotFoundException",
        "account 2's role does not see account 1's instance"
    );
    // The test key (account 1) sees A and not B.
    let direct = client_for(&connect, &test_key());
    describe(&direct, INSTANCE_A).await.unwrap();
    assert_eq!(
        describe(&direct, INSTANCE_B).await.unwrap_err(),
        "ResourceNotFoundException"
    );

    // One AssumeRole (the SDK caches the credentials), signed by the base key.
    assert_eq!(sts.count("AssumeRole"), 1);
    let call = &sts.calls()[0];
    assert_eq!(call.status, 200);
    assert_eq!(call.access_key_id, TEST_ACCESS_KEY_ID);
    assert_eq!(
        call.caller_arn.as_deref(),
        Some("arn:aws:iam::123456789012:user/sim-test")
    );
    assert_eq!(call.role_arn.as_deref(), Some(role.as_str()));
    assert_eq!(call.role_session_name.as_deref(), Some("operator"));
    let issued = call.issued_access_key_id.clone().unwrap();
    assert!(issued.starts_with("ASIA"), "{issued}");
    let seen = &connect.calls()[0];
    assert_eq!(seen.access_key_id, issued);
    assert_eq!(seen.account_id, ACCOUNT_2);
    assert_eq!(
        seen.principal_arn,
        "arn:aws:sts::222222222222:assumed-role/connect-admin/operator"
    );
    let session = &connect.iam().sessions()[0];
    assert_eq!(
        (session.role_arn.as_str(), session.account_id.as_str()),
        (role.as_str(), ACCOUNT_2)
    );
    assert_eq!(session.source, "arn:aws:iam::123456789012:user/sim-test");

    // GetCallerIdentity with the assumed credentials names the session.
    let assumed = AssumeRoleProvider::builder(&role)
        .session_name("whoami")
        .configure(&base)
        .build()
        .await;
    let me = sts_client(&sdk_config(&sts, assumed).await)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(ACCOUNT_2));
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/connect-admin/whoami")
    );
    assert!(me.user_id().unwrap().starts_with("AROA"));
    assert!(me.user_id().unwrap().ends_with(":whoami"));
}

fn client_for(connect: &ConnectSim, key: &AccessKey) -> Client {
    client(connect, REGION, key)
}

#[tokio::test]
async fn short_lived_credentials_are_refreshed_and_requests_keep_succeeding() {
    let (connect, sts) = bed().await;
    let role = connect
        .iam()
        .create_role(ACCOUNT_2, "connect-admin", Trust::account(ACCOUNT_1));
    // Shorter than AWS allows: the SDK's cache renews 5-10 s before expiry (its default buffer),
    // so 12 s credentials are renewed every 2-7 s.
    connect
        .iam()
        .set_session_lifetime(Some(Duration::from_secs(12)));
    let base = sdk_config(&sts, credentials(&test_key())).await;
    let provider = AssumeRoleProvider::builder(&role)
        .session_name("operator")
        .configure(&base)
        .build()
        .await;
    let client = Client::from_conf(config(&connect, REGION, provider).build());
    let deadline = Instant::now() + Duration::from_secs(60);
    while sts.successes("AssumeRole") < 3 {
        assert!(Instant::now() < deadline, "no refresh: {:#?}", sts.calls());
        describe(&client, INSTANCE_B).await.expect("never refused");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = connect.calls();
    assert!(calls.iter().all(|c| c.status == 200));
    let keys: std::collections::BTreeSet<_> = calls.iter().map(|c| &c.access_key_id).collect();
    assert!(
        keys.len() >= 2,
        "requests were signed with renewed keys: {keys:?}"
    );
    let sessions = connect.iam().sessions();
    assert!(sessions.len() >= 3);
    for s in &sessions {
        let lifetime = s.expiration.duration_since(s.issued).unwrap();
        assert!(lifetime <= Duration::from_secs(12), "{lifetime:?}");
    }
    // Every request was signed with a credential that was still valid when it arrived.
    for c in &calls {
        let s = sessions
            .iter()
            .find(|s| s.access_key_id == c.access_key_id)
            .unwrap();
        assert!(c.at < s.expiration);
    }
}

#[tokio::test]
async fn external_id_is_enforced() {
    let (connect, sts) = bed().await;
    let role = connect.iam().create_role(
        ACCOUNT_2,
        "vendor",
        Trust {
            external_id: Some("team-a-7f3".into()),
            ..Trust::account(ACCOUNT_1)
        },
    );
    let client = sts_client(&sdk_config(&sts, credentials(&test_key())).await);
    let assume = |external: Option<&str>| {
        client
            .assume_role()
            .role_arn(&role)
            .role_session_name("s1")
            .set_external_id(external.map(str::to_string))
            .send()
    };
    let denied = format!(
        "User: arn:aws:iam::123456789012:user/sim-test is not authorized to perform: sts:AssumeRole on resource: {role}"
    );
    for external in [None, Some("team-b-000")] {
        let e = assume(external).await.unwrap_err();
        assert_eq!(sts_code(&e), ("AccessDenied".into(), denied.clone()));
        assert_eq!(e.raw_response().unwrap().status().as_u16(), 403);
    }
    let out = assume(Some("team-a-7f3")).await.unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    // And through the provider, as the operator will configure it.
    let provider = AssumeRoleProvider::builder(&role)
        .external_id("team-a-7f3")
        .session_name("op")
        .configure(&sdk_config(&sts, credentials(&test_key())).await)
        .build()
        .await;
    let connect_client = Client::from_conf(config(&connect, REGION, provider).build());
    describe(&connect_client, INSTANCE_B).await.unwrap();
    assert_eq!(sts.successes("AssumeRole"), 2);
    assert_eq!(sts.count("AssumeRole"), 4);
}

#[tokio::test]
async fn only_trusted_principals_may_assume_and_chaining_is_limited_to_an_hour() {
    let (connect, sts) = bed().await;
    let iam = connect.iam();
    let hop = iam.create_role(ACCOUNT_1, "hop", Trust::account(ACCOUNT_1));
    let target = iam.create_role(
        ACCOUNT_2,
        "target",
        Trust {
            principals: vec![hop.clone()],
            ..Trust::default()
        },
    );
    let as_user = sts_client(&sdk_config(&sts, credentials(&test_key())).await);
    let e = as_user
        .assume_role()
        .role_arn(&target)
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        sts_code(&e).0,
        "AccessDenied",
        "the user is not trusted, only the role"
    );
    let e = as_user
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/no-such-role")
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        sts_code(&e).0,
        "AccessDenied",
        "a missing role looks the same"
    );

    // A session of `hop` may: role chaining, at most one hour.
    let hop_session = AssumeRoleProvider::builder(&hop)
        .session_name("first")
        .configure(&sdk_config(&sts, credentials(&test_key())).await)
        .build()
        .await;
    let as_hop = sts_client(&sdk_config(&sts, hop_session).await);
    let e = as_hop
        .assume_role()
        .role_arn(&target)
        .role_session_name("second")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        sts_code(&e),
        (
            "ValidationError".into(),
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into()
        )
    );
    let out = as_hop
        .assume_role()
        .role_arn(&target)
        .role_session_name("second")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::222222222222:assumed-role/target/second"
    );
    let second = iam.sessions().pop().unwrap();
    assert_eq!(
        second.source,
        "arn:aws:sts::123456789012:assumed-role/hop/first"
    );
}

#[tokio::test]
async fn parameters_are_checked_as_sts_constrains_them() {
    let (connect, sts) = bed().await;
    let role = connect.iam().create_role(
        ACCOUNT_2,
        "r",
        Trust {
            allow_tag_session: false,
            ..Trust::account(ACCOUNT_1)
        },
    );
    let client = sts_client(&sdk_config(&sts, credentials(&test_key())).await);
    let validation = |e: (String, String), member: &str| {
        assert_eq!(e.0, "ValidationError", "{e:?}");
        assert!(e.1.contains(member), "{e:?}");
    };
    let e = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("x")
        .send()
        .await
        .unwrap_err();
    validation(sts_code(&e), "'roleSessionName'");
    let e = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("has space")
        .send()
        .await
        .unwrap_err();
    validation(sts_code(&e), r"[\w+=,.@-]*");
    let e = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("n".repeat(65))
        .send()
        .await
        .unwrap_err();
    validation(sts_code(&e), "less than or equal to 64");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
    for (seconds, want) in [
        (899, "greater than or equal to 900"),
        (43201, "less than or equal to 43200"),
    ] {
        let e = client
            .assume_role()
            .role_arn(&role)
            .role_session_name("ok")
            .duration_seconds(seconds)
            .send()
            .await
            .unwrap_err();
        validation(sts_code(&e), want);
    }
    // Within STS's bounds, beyond the role's MaxSessionDuration (one hour by default).
    let e = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("ok")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    validation(sts_code(&e), "MaxSessionDuration");
    assert!(
        connect
            .iam()
            .set_role_max_session_duration(&role, Duration::from_secs(7200))
    );
    let out = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("ok")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let expires = SystemTime::try_from(*out.credentials().unwrap().expiration()).unwrap();
    let left = expires.duration_since(SystemTime::now()).unwrap();
    assert!(
        left > Duration::from_secs(7100) && left <= Duration::from_secs(7200),
        "{left:?}"
    );
    let e = client
        .assume_role()
        .role_arn(&role)
        .role_session_name("ok")
        .external_id("has space")
        .send()
        .await
        .unwrap_err();
    validation(sts_code(&e), "'externalId'");

    // Session tags need sts:TagSession in the trust policy.
    let tagged = || {
        client
            .assume_role()
            .role_arn(&role)
            .role_session_name("tagged")
            .tags(
                aws_sdk_sts::types::Tag::builder()
                    .key("team")
                    .value("a")
                    .build()
                    .unwrap(),
            )
            .transitive_tag_keys("team")
            .send()
    };
    let e = tagged().await.unwrap_err();
    assert_eq!(sts_code(&e).0, "AccessDenied");
    assert!(sts_code(&e).1.contains("sts:TagSession"));
    connect.iam().create_role(
        ACCOUNT_2,
        "r",
        Trust {
            allow_tag_session: true,
            ..Trust::account(ACCOUNT_1)
        },
    );
    let out = tagged().await.unwrap();
    assert!(out.session_token_utilization().is_some());
    let session = connect.iam().sessions().pop().unwrap();
    assert_eq!(session.tags.get("team").map(String::as_str), Some("a"));
    assert!(session.transitive_tag_keys.contains("team"));
    assert!(
        connect.calls().is_empty(),
        "STS calls are not Connect calls"
    );
}

#[tokio::test]
async fn sts_authenticates_its_callers() {
    let (connect, sts) = bed().await;
    let unknown = AccessKey {
        access_key_id: "AKIAUNKNOWNKEY000000".into(),
        ..test_key()
    };
    let e = sts_client(&sdk_config(&sts, credentials(&unknown)).await)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        sts_code(&e),
        (
            "InvalidClientTokenId".into(),
            "The security token included in the request is invalid.".into()
        )
    );
    let wrong = AccessKey {
        secret_access_key: "wrong-secret-wrong-secret-wrong-secret-0".into(),
        ..test_key()
    };
    let e = sts_client(&sdk_config(&sts, credentials(&wrong)).await)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(sts_code(&e).0, "SignatureDoesNotMatch");
    let role = connect
        .iam()
        .create_role(ACCOUNT_1, "r", Trust::account(ACCOUNT_1));
    let session = connect
        .iam()
        .issue_session(&role, "s", Duration::from_secs(60));
    connect.iam().expire_session(&session.access_key_id);
    let stale = AccessKey {
        expiration: None,
        ..session
    };
    let e = sts_client(&sdk_config(&sts, credentials(&stale)).await)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(sts_code(&e).0, "ExpiredToken");

    // Unsigned AssumeRole, and an unknown action, by hand.
    let post = |body: &'static str| {
        let addr = sts.addr();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let req = format!(
                "POST / HTTP/1.1\r\nHost: sts\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let out = post("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s1").await;
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(
        out.contains("<Code>MissingAuthenticationToken</Code>"),
        "{out}"
    );
    assert!(out.contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"));
    let out = post("Action=AssumeRoleWithSAML&Version=2011-06-15").await;
    assert!(
        out.contains("MissingAuthenticationToken"),
        "only web identity is unsigned: {out}"
    );
    assert_eq!(sts.successes("AssumeRole"), 0);
    assert!(sts.calls().iter().all(|c| c.issued_access_key_id.is_none()));
}

#[tokio::test]
async fn web_identity_tokens_must_be_issued_unexpired_and_trusted() {
    let (connect, sts) = bed().await;
    let iam = connect.iam();
    let subject = "system:serviceaccount:connect-system:connect-user-operator";
    let role = iam.create_role(
        ACCOUNT_2,
        "irsa",
        Trust {
            web_identity_subjects: vec![subject.into()],
            ..Trust::default()
        },
    );
    // Unsigned: no credentials at all.
    let anonymous = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(sts.endpoint())
        .no_credentials()
        .load()
        .await;
    let client = sts_client(&anonymous);
    let assume = |token: String| {
        client
            .assume_role_with_web_identity()
            .role_arn(&role)
            .role_session_name("pod")
            .web_identity_token(token)
            .send()
    };
    let token = iam.issue_web_identity_token(subject, Duration::from_secs(3600));
    let out = assume(token.clone()).await.unwrap();
    assert_eq!(out.subject_from_web_identity_token(), Some(subject));
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::222222222222:assumed-role/irsa/pod"
    );
    let c = out.credentials().unwrap();
    let key = AccessKey {
        access_key_id: c.access_key_id().into(),
        secret_access_key: c.secret_access_key().into(),
        session_token: Some(c.session_token().into()),
        expiration: None,
    };
    describe(&client_for(&connect, &key), INSTANCE_B)
        .await
        .unwrap();
    let call = sts.calls().pop().unwrap();
    assert_eq!(
        (call.action.as_str(), call.access_key_id.as_str()),
        ("AssumeRoleWithWebIdentity", "")
    );

    let e = assume("eyJhbGciOiJSUzI1NiJ9.forged.token".into())
        .await
        .unwrap_err();
    assert_eq!(sts_code(&e).0, "InvalidIdentityToken");
    assert!(e.into_service_error().is_invalid_identity_token_exception());
    let expired = iam.issue_web_identity_token(subject, Duration::ZERO);
    let e = assume(expired).await.unwrap_err();
    assert!(e.into_service_error().is_expired_token_exception());
    let other = iam.issue_web_identity_token(
        "system:serviceaccount:team-b:default",
        Duration::from_secs(60),
    );
    let e = assume(other).await.unwrap_err();
    assert_eq!(
        sts_code(&e),
        (
            "AccessDenied".into(),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".into()
        )
    );
    assert!(iam.revoke_web_identity_token(&token));
    let e = assume(token).await.unwrap_err();
    assert_eq!(sts_code(&e).0, "InvalidIdentityToken");
    assert_eq!(sts.successes("AssumeRoleWithWebIdentity"), 1);
    assert_eq!(sts.count("AssumeRoleWithWebIdentity"), 5);
}
