//! Shared by the account, signature, STS and raw-HTTP tests: clients of the real SDK pointed at
//! the emulators, error inspection, and the signature of a request written by hand.
#![allow(dead_code)]

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, ProvideCredentials, Region};
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use sim::aws::sigv4::{self, SigningKey};
use sim::aws::{AccessKey, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use sim::connect::ConnectSim;

pub const REGION: &str = "us-east-1";
pub const INSTANCE_A: &str = "aaaaaaaa-2222-3333-4444-555555555555";
pub const INSTANCE_B: &str = "bbbbbbbb-2222-3333-4444-555555555555";
pub const ACCOUNT_1: &str = sim::aws::TEST_ACCOUNT_ID;
pub const ACCOUNT_2: &str = "222222222222";

/// What a CONNECT_MANAGED instance requires of a new user.
pub fn identity(first: &str) -> aws_sdk_connect::types::UserIdentityInfo {
    aws_sdk_connect::types::UserIdentityInfo::builder()
        .first_name(first)
        .last_name("Tester")
        .email(format!("{first}@example.com"))
        .build()
}

pub fn test_key() -> AccessKey {
    AccessKey {
        access_key_id: TEST_ACCESS_KEY_ID.into(),
        secret_access_key: TEST_SECRET_ACCESS_KEY.into(),
        session_token: None,
        expiration: None,
    }
}

pub fn credentials(k: &AccessKey) -> Credentials {
    Credentials::new(
        &k.access_key_id,
        &k.secret_access_key,
        k.session_token.clone(),
        k.expiration,
        "test",
    )
}

pub fn config(
    sim: &ConnectSim,
    region: &str,
    creds: impl ProvideCredentials + 'static,
) -> aws_sdk_connect::config::Builder {
    aws_sdk_connect::Config::builder()
        .endpoint_url(sim.endpoint())
        .region(Region::new(region.to_string()))
        .credentials_provider(creds)
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
}

/// A client that signs with `key` and does not retry.
pub fn client(sim: &ConnectSim, region: &str, key: &AccessKey) -> Client {
    Client::from_conf(config(sim, region, credentials(key)).build())
}

/// The error code (`x-amzn-ErrorType`, or the XML `Code`) and HTTP status of a failed call.
pub fn code<E: ProvideErrorMetadata, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    e.code().unwrap_or("<none>").to_string()
}

pub fn message<E: ProvideErrorMetadata, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    e.message().unwrap_or_default().to_string()
}

pub fn status<E>(e: &SdkError<E, aws_sdk_connect::config::http::HttpResponse>) -> u16 {
    e.raw_response().map_or(0, |r| r.status().as_u16())
}

/// The SigV4 headers (`x-amz-date`, `authorization`) for a raw request, signed now with the test
/// key as the SDK signs; `host` is the Host header the request carries.
pub fn test_key_signature(
    method: &str,
    target: &str,
    host: &str,
    body: &[u8],
    region: &str,
    service: &str,
) -> Vec<(String, String)> {
    let key = SigningKey {
        access_key_id: TEST_ACCESS_KEY_ID,
        secret_access_key: TEST_SECRET_ACCESS_KEY,
        session_token: None,
    };
    let at = std::time::SystemTime::now();
    sigv4::sign(
        method,
        target,
        &[("host", host)],
        body,
        &key,
        region,
        service,
        at,
    )
}

/// `test_key_signature` as `Name: value\r\n` lines of a raw HTTP/1.1 request head.
pub fn test_key_signature_lines(
    method: &str,
    target: &str,
    host: &str,
    body: &[u8],
    service: &str,
) -> String {
    test_key_signature(method, target, host, body, REGION, service)
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect()
}
