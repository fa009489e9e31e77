//! The Connect emulator authenticates every request as AWS does, seen through the real SDK: a
//! request the SDK signed is accepted (including restJson1 paths with encoded ARN labels), and a
//! tampered signature, path or body, a wrong secret, an unknown key, a missing or foreign session
//! token, an expired credential and a skewed clock are each refused with Connect's error.

mod aws_support;

use std::time::{Duration, SystemTime};

use aws_sdk_connect::Client;
use aws_sdk_connect::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_async::time::TimeSource;
use aws_support::*;
use sim::aws::{AccessKey, TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, Trust};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn start() -> ConnectSim {
    let sim = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    sim.seed_instance(InstanceSeed::standard(INSTANCE_A));
    sim
}

async fn describe(client: &Client) -> Result<(), (String, String, u16)> {
    client
        .describe_instance()
        .instance_id(INSTANCE_A)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (code(&e), message(&e), status(&e)))
}

fn refused_as(result: Result<(), (String, String, u16)>, want: &str) -> String {
    match result {
        Ok(()) => panic!("accepted; expected {want}"),
        Err((code, message, status)) => {
            assert_eq!((code.as_str(), status), (want, 403), "{message}");
            message
        }
    }
}

/// Changes the request after the SDK signed it.
#[derive(Debug)]
enum Tamper {
    Signature,
    Path,
    Body,
    DropToken,
}

impl Intercept for Tamper {
    fn name(&self) -> &'static str {
        "Tamper"
    }

    fn modify_before_transmit(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request_mut();
        match self {
            Tamper::Signature => {
                let auth = req.headers().get("authorization").unwrap().to_string();
                // Flip the last hex digit of the signature.
                let last = auth.chars().last().unwrap();
                let flipped = if last == '0' { '1' } else { '0' };
                let forged = format!("{}{flipped}", &auth[..auth.len() - 1]);
                req.headers_mut().insert("authorization", forged);
            }
            Tamper::Path => {
                let uri = req.uri().replace(INSTANCE_A, INSTANCE_B);
                req.set_uri(uri).unwrap();
            }
            Tamper::Body => {
                let body = req.body().bytes().unwrap().to_vec();
                let text = String::from_utf8(body).unwrap().replace("alice", "mallory");
                req.headers_mut()
                    .insert("content-length", text.len().to_string());
                *req.body_mut() = aws_smithy_types::body::SdkBody::from(text);
            }
            Tamper::DropToken => {
                req.headers_mut().remove("x-amz-security-token");
            }
        }
        Ok(())
    }
}

fn tampering(sim: &ConnectSim, key: &AccessKey, tamper: Tamper) -> Client {
    Client::from_conf(
        config(sim, REGION, credentials(key))
            .interceptor(tamper)
            .build(),
    )
}

#[tokio::test]
async fn a_request_the_sdk_signed_is_accepted_and_logged_with_its_principal() {
    let sim = start().await;
    let client = client(&sim, REGION, &test_key());
    describe(&client).await.unwrap();
    // An ARN label is percent-encoded in the path, and signed double-encoded (all services but
    // S3): the emulator computes the same canonical URI.
    let seed = InstanceSeed::standard(INSTANCE_A);
    let user = client
        .create_user()
        .instance_id(INSTANCE_A)
        .username("alice")
        .password("S3cret-Passw0rd-xyz")
        .identity_info(identity("alice"))
        .security_profile_ids(&seed.security_profiles[0].0)
        .routing_profile_id(&seed.routing_profiles[0].0)
        .phone_config(
            aws_sdk_connect::types::UserPhoneConfig::builder()
                .phone_type(aws_sdk_connect::types::PhoneType::SoftPhone)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = user.user_arn().unwrap();
    client
        .tag_resource()
        .resource_arn(arn)
        .tags("team", "a b/c:d")
        .send()
        .await
        .unwrap();
    client
        .untag_resource()
        .resource_arn(arn)
        .tag_keys("team")
        .tag_keys("odd key+/=")
        .send()
        .await
        .unwrap();
    let calls = sim.calls();
    assert!(calls.iter().all(|c| c.status == 200), "{calls:#?}");
    assert!(calls.iter().all(|c| c.access_key_id == TEST_ACCESS_KEY_ID
        && c.account_id == TEST_ACCOUNT_ID
        && c.principal_arn == "arn:aws:iam::123456789012:user/sim-test"));
}

#[tokio::test]
async fn a_tampered_signature_path_or_body_is_refused() {
    let sim = start().await;
    sim.seed_instance(InstanceSeed::standard(INSTANCE_B));
    let message = refused_as(
        describe(&tampering(&sim, &test_key(), Tamper::Signature)).await,
        "InvalidSignatureException",
    );
    assert!(
        message.contains("signature we calculated does not match"),
        "{message}"
    );
    refused_as(
        describe(&tampering(&sim, &test_key(), Tamper::Path)).await,
        "InvalidSignatureException",
    );
    let e = tampering(&sim, &test_key(), Tamper::Body)
        .search_users()
        .instance_id(INSTANCE_A)
        .search_criteria(
            aws_sdk_connect::types::UserSearchCriteria::builder()
                .string_condition(
                    aws_sdk_connect::types::StringCondition::builder()
                        .field_name("Username")
                        .value("alice")
                        .comparison_type(aws_sdk_connect::types::StringComparisonType::Exact)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("InvalidSignatureException", 403)
    );
    // Nothing ran: every refusal is in the log, as a 403.
    assert!(sim.calls().iter().all(|c| c.status == 403));
    assert!(sim.users(INSTANCE_A).is_empty());
}

#[tokio::test]
async fn a_wrong_secret_or_an_unknown_key_is_refused() {
    let sim = start().await;
    let mut wrong = test_key();
    wrong.secret_access_key = "not-the-secret-of-this-key-at-all-000000".into();
    refused_as(
        describe(&client(&sim, REGION, &wrong)).await,
        "InvalidSignatureException",
    );
    let unknown = AccessKey {
        access_key_id: "AKIAUNKNOWNKEY000000".into(),
        ..test_key()
    };
    let message = refused_as(
        describe(&client(&sim, REGION, &unknown)).await,
        "UnrecognizedClientException",
    );
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
    let deleted = sim.iam().create_user(TEST_ACCOUNT_ID, "leaver");
    describe(&client(&sim, REGION, &deleted)).await.unwrap();
    assert!(sim.iam().delete_access_key(&deleted.access_key_id));
    refused_as(
        describe(&client(&sim, REGION, &deleted)).await,
        "UnrecognizedClientException",
    );
    let calls = sim.calls();
    assert_eq!(
        calls[0].access_key_id, TEST_ACCESS_KEY_ID,
        "logged as claimed"
    );
    assert_eq!(calls[0].account_id, "", "not authenticated");
}

#[tokio::test]
async fn temporary_credentials_need_their_own_session_token_and_expire() {
    let sim = start().await;
    let role = sim
        .iam()
        .create_role(TEST_ACCOUNT_ID, "operator", Trust::default());
    let session = sim
        .iam()
        .issue_session(&role, "s1", Duration::from_secs(3600));
    let other = sim
        .iam()
        .issue_session(&role, "s2", Duration::from_secs(3600));
    describe(&client(&sim, REGION, &session)).await.unwrap();
    assert_eq!(
        sim.calls()[0].principal_arn,
        "arn:aws:sts::123456789012:assumed-role/operator/s1"
    );

    let no_token = AccessKey {
        session_token: None,
        ..session.clone()
    };
    refused_as(
        describe(&client(&sim, REGION, &no_token)).await,
        "UnrecognizedClientException",
    );
    refused_as(
        describe(&tampering(&sim, &session, Tamper::DropToken)).await,
        "UnrecognizedClientException",
    );
    let foreign = AccessKey {
        session_token: other.session_token.clone(),
        ..session.clone()
    };
    refused_as(
        describe(&client(&sim, REGION, &foreign)).await,
        "UnrecognizedClientException",
    );
    // A long-term key with a token is not a session either.
    let long_term_with_token = AccessKey {
        session_token: other.session_token.clone(),
        ..test_key()
    };
    refused_as(
        describe(&client(&sim, REGION, &long_term_with_token)).await,
        "UnrecognizedClientException",
    );

    // Expired on the server, while the client still believes it valid (no expiration given to
    // the SDK, so its cache keeps it): refused until the client gets new credentials.
    let believed_valid = AccessKey {
        expiration: None,
        ..session.clone()
    };
    let cached = client(&sim, REGION, &believed_valid);
    describe(&cached).await.unwrap();
    assert!(sim.iam().expire_session(&session.access_key_id));
    let message = refused_as(describe(&cached).await, "ExpiredTokenException");
    assert_eq!(
        message,
        "The security token included in the request is expired"
    );
    let fresh = sim
        .iam()
        .issue_session(&role, "s1", Duration::from_secs(3600));
    describe(&client(&sim, REGION, &fresh)).await.unwrap();
}

/// The client's clock, `offset` seconds off.
#[derive(Debug)]
struct Skewed(i64);

impl TimeSource for Skewed {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        if self.0 >= 0 {
            now + Duration::from_secs(self.0 as u64)
        } else {
            now - Duration::from_secs(self.0.unsigned_abs())
        }
    }
}

fn skewed(sim: &ConnectSim, seconds: i64, retry: RetryConfig) -> Client {
    Client::from_conf(
        config(sim, REGION, credentials(&test_key()))
            .time_source(Skewed(seconds))
            .retry_config(retry)
            .build(),
    )
}

#[tokio::test]
async fn a_skewed_signing_time_is_refused_and_the_sdk_corrects_it_from_the_date_header() {
    let sim = start().await;
    let late = refused_as(
        describe(&skewed(&sim, -600, RetryConfig::disabled())).await,
        "InvalidSignatureException",
    );
    assert!(late.starts_with("Signature expired: "), "{late}");
    let early = refused_as(
        describe(&skewed(&sim, 600, RetryConfig::disabled())).await,
        "InvalidSignatureException",
    );
    assert!(early.starts_with("Signature not yet current: "), "{early}");
    // Within five minutes is fine.
    describe(&skewed(&sim, -200, RetryConfig::disabled()))
        .await
        .unwrap();

    // The SDK measures the skew from the response's Date header and retries the refused
    // request signed with the corrected time, as against AWS.
    sim.clear_calls();
    let retrying = skewed(&sim, -600, RetryConfig::standard().with_max_attempts(3));
    describe(&retrying).await.unwrap();
    let statuses: Vec<u16> = sim.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [403, 200]);
}

#[tokio::test]
async fn credentials_scoped_to_another_service_are_refused() {
    let sim = start().await;
    let path = format!("/instance/{INSTANCE_A}");
    let send = |service: &'static str, signed_host: &'static str| {
        let path = path.clone();
        let headers = test_key_signature("GET", &path, signed_host, b"", REGION, service);
        let addr = sim.addr();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let mut req = format!("GET {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n");
            for (k, v) in headers {
                req.push_str(&format!("{k}: {v}\r\n"));
            }
            req.push_str("\r\n");
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        }
    };
    let ok = send("connect", "sim").await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let other = send("s3", "sim").await;
    assert!(other.starts_with("HTTP/1.1 403"), "{other}");
    assert!(other.contains("Credential should be scoped to correct service: 'connect'."));
    // The Host header is signed: another host is another request.
    let moved = send("connect", "elsewhere").await;
    assert!(moved.contains("InvalidSignatureException"), "{moved}");
}
