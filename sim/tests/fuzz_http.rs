//! Property-based fuzzing of both emulators' request handling over real HTTP: random methods,
//! paths, query strings, content types and bodies (random bytes, random JSON, plausibly shaped
//! JSON with random values). Every request must get an HTTP answer below 500: a panic in a
//! handler shows up as a 500 (kube) or a connection closed without a response (Connect).

mod aws_support;

use std::net::SocketAddr;
use std::time::Duration;

use aws_support::test_key_signature;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed, SimUser};
use sim::kube::KubeSim;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
const CASES: u32 = 384;

/// Short enough for CI; failures print the minimal input instead of writing regression files.
fn config() -> Config {
    Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Sends one HTTP/1.1 request and returns the status code of the answer.
async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<u16, String> {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(body).await.map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.windows(2).any(|w| w == b"\r\n") {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!(
                    "connection closed without a response ({} bytes)",
                    got.len()
                ));
            }
            got.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&got);
        line.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an HTTP status line: {line:?}"))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
}

/// Random JSON, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!("")),
        Just(json!("x".repeat(5000))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("\\PC{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose keys are (mostly) the ones the service reads, with random values.
fn shaped(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop_oneof![4 => prop::sample::select(keys).prop_map(String::from), 1 => "\\PC{0,8}"],
        json_value(),
        0..6,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn body(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        shaped(keys).prop_map(|v| v.to_string().into_bytes()),
        Just(b"{".to_vec()),
        Just(b"[]".to_vec()),
    ]
}

/// A path segment: usually a meaningful value, sometimes anything (percent-encoded, or raw
/// with dots and percent signs).
fn segment(meaningful: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(meaningful).prop_map(String::from),
        2 => "\\PC{1,12}".prop_map(|s| utf8_percent_encode(&s, NON_ALPHANUMERIC).to_string()),
        1 => "[a-z0-9.%-]{1,8}",
        1 => Just("..".to_string()),
    ]
}

const CONNECT_KEYS: &[&str] = &[
    "Username",
    "Password",
    "IdentityInfo",
    "PhoneConfig",
    "SecurityProfileIds",
    "RoutingProfileId",
    "HierarchyGroupId",
    "Tags",
    "InstanceId",
    "SearchCriteria",
    "SearchFilter",
    "MaxResults",
    "NextToken",
    "Name",
    "QuickConnectConfig",
    "DirectoryUserId",
    "UserProficiencies",
    "AfterContactWorkConfigs",
];

fn connect_request() -> impl Strategy<Value = (String, String, Vec<u8>, bool)> {
    let op = prop::sample::select(vec![
        ("PUT", "users/{i}"),
        ("GET", "users/{i}/{u}"),
        ("DELETE", "users/{i}/{u}"),
        ("GET", "users-summary/{i}"),
        ("POST", "search-users"),
        ("POST", "users/{i}/{u}/identity-info"),
        ("POST", "users/{i}/{u}/phone-config"),
        ("POST", "users/{i}/{u}/routing-profile"),
        ("POST", "users/{i}/{u}/security-profiles"),
        ("POST", "users/{i}/{u}/hierarchy"),
        ("POST", "users/{i}/{u}/config"),
        ("POST", "users/{i}/{u}/proficiencies"),
        ("PUT", "quick-connects/{i}"),
        ("GET", "quick-connects/{i}"),
        ("DELETE", "quick-connects/{i}/{u}"),
        ("POST", "search-quick-connects"),
        ("POST", "tags/{arn}"),
        ("DELETE", "tags/{arn}"),
        ("GET", "instance/{i}"),
        ("PATCH", "users/{i}"),
        ("GET", "{u}"),
    ]);
    (
        op,
        segment(&[INSTANCE, "00000000-0000-0000-0000-000000000000"]),
        segment(&["u-seeded"]),
        prop_oneof![
            "",
            "maxResults=[0-9-]{1,4}",
            "nextToken=\\PC{0,6}",
            "tagKeys=[a-z%]{0,5}"
        ],
        body(CONNECT_KEYS),
        prop::bool::weighted(0.8),
    )
        .prop_map(|((method, tpl), i, u, q, body, signed)| {
            let arn = utf8_percent_encode(
                &format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/agent/{u}"),
                NON_ALPHANUMERIC,
            )
            .to_string();
            let path = tpl
                .replace("{i}", &i)
                .replace("{u}", &u)
                .replace("{arn}", &arn);
            let q = utf8_percent_encode(&q, percent_encoding::CONTROLS).to_string();
            let target = if q.is_empty() {
                format!("/{path}")
            } else {
                format!("/{path}?{q}")
            };
            (method.to_string(), target, body, signed)
        })
}

#[test]
fn connect_emulator_answers_any_request_without_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let connect = rt.block_on(async {
        let c = ConnectSim::start(ConnectConfig::default()).await.unwrap();
        c.seed_instance(InstanceSeed::standard(INSTANCE));
        c
    });
    let seed = InstanceSeed::standard(INSTANCE);
    let seeded = connect.insert_user(
        INSTANCE,
        SimUser {
            username: "seeded".into(),
            routing_profile_id: seed.routing_profiles[0].0.clone(),
            security_profile_ids: vec![seed.security_profiles[0].0.clone()],
            ..Default::default()
        },
    );
    let addr = connect.addr();
    let mut runner = TestRunner::new(config());
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    runner
        .run(&connect_request(), |(method, target, body, signed)| {
            let target = target.replace("u-seeded", &seeded);
            let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
            if signed {
                headers.extend(test_key_signature(
                    &method,
                    &target,
                    "sim",
                    &body,
                    "us-east-1",
                    "connect",
                ));
            }
            let status = rt
                .block_on(send(addr, &method, &target, &headers, &body))
                .map_err(|e| TestCaseError::fail(format!("{method} {target}: {e}")))?;
            *statuses.borrow_mut().entry(status).or_default() += 1;
            prop_assert!(status < 500, "{} {} answered {}", method, target, status);
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    eprintln!("Connect emulator fuzz: statuses {statuses:?}");
    // Both rejections and successes were exercised, and the emulator still serves.
    assert!(statuses.keys().any(|s| (400..500).contains(s)));
    assert!(statuses.contains_key(&200), "{statuses:?}");
    assert!(connect.calls().iter().all(|c| c.status < 500));
}

const KUBE_KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "status",
    "data",
    "stringData",
    "op",
    "path",
    "value",
    "from",
];

fn kube_request() -> impl Strategy<Value = (String, String, String, Vec<u8>)> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]);
    let path = prop::sample::select(vec![
        "/api/v1/namespaces/{ns}/secrets",
        "/api/v1/namespaces/{ns}/secrets/{n}",
        "/api/v1/namespaces/{ns}/configmaps/{n}",
        "/api/v1/namespaces/{n}",
        "/apis/connect.userops.dev/v1alpha1/namespaces/{ns}/connectusers",
        "/apis/connect.userops.dev/v1alpha1/namespaces/{ns}/connectusers/{n}",
        "/apis/connect.userops.dev/v1alpha1/namespaces/{ns}/connectusers/{n}/status",
        "/apis/connect.userops.dev/v1alpha1/connectusers",
        "/apis/events.k8s.io/v1/namespaces/{ns}/events",
        "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{n}",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}",
        "/apis/{n}/v1/{n}",
        "/api",
        "/apis",
        "/version",
        "/openapi/v2",
        "/{n}",
    ]);
    let query = prop_oneof![
        Just(String::new()),
        "labelSelector=\\PC{0,10}",
        "fieldSelector=\\PC{0,10}",
        "limit=[0-9a-z-]{0,4}",
        "continue=\\PC{0,10}",
        "resourceVersion=[0-9a-z]{0,4}",
        "fieldValidation=[A-Za-z]{0,7}",
        "dryRun=[A-Za-z]{0,4}",
        "fieldManager=\\PC{0,8}&force=[a-z]{0,5}",
        "propagationPolicy=[A-Za-z]{0,10}",
    ];
    let content_type = prop::sample::select(vec![
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
        "application/strategic-merge-patch+json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
        "text/plain",
        "",
    ]);
    (
        method,
        path,
        segment(&["default", "kube-system", "nope"]),
        segment(&["x", "agent-passwords", "connectusers.connect.userops.dev"]),
        query,
        content_type,
        body(KUBE_KEYS),
    )
        .prop_map(|(m, p, ns, n, q, ct, body)| {
            let path = p.replace("{ns}", &ns).replace("{n}", &n);
            let q = utf8_percent_encode(&q, percent_encoding::CONTROLS)
                .to_string()
                .replace(' ', "%20");
            let target = if q.is_empty() {
                path
            } else {
                format!("{path}?{q}")
            };
            (m.to_string(), target, ct.to_string(), body)
        })
}

#[test]
fn kube_emulator_answers_any_request_without_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kube = rt.block_on(async { KubeSim::start().await.unwrap() });
    let crd: Value =
        serde_yaml::from_str(include_str!("../../crds/connectuser.yaml")).expect("the CRD");
    kube.create_object(crd).unwrap();
    kube.create_object(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "agent-passwords", "namespace": "default"},
        "stringData": {"alice": "S3cret-Passw0rd"}}))
        .unwrap();
    kube.create_object(
        json!({"apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {"instanceId": INSTANCE, "username": "x", "securityProfiles": [{"name": "Agent"}],
                 "routingProfile": {"name": "Basic"}}}),
    )
    .unwrap();
    let addr = kube.addr();
    let mut runner = TestRunner::new(config());
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    runner
        .run(&kube_request(), |(method, target, ct, body)| {
            let mut headers = vec![("Accept".to_string(), "application/json".to_string())];
            if !ct.is_empty() {
                headers.push(("Content-Type".into(), ct.clone()));
            }
            let status = rt
                .block_on(send(addr, &method, &target, &headers, &body))
                .map_err(|e| TestCaseError::fail(format!("{method} {target} ({ct}): {e}")))?;
            *statuses.borrow_mut().entry(status).or_default() += 1;
            prop_assert!(
                status < 500,
                "{} {} ({}) answered {}",
                method,
                target,
                ct,
                status
            );
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    eprintln!("Kubernetes emulator fuzz: statuses {statuses:?}");
    assert!(statuses.keys().any(|s| (400..500).contains(s)));
    assert!(statuses.contains_key(&200), "{statuses:?}");
    assert!(kube.requests().iter().all(|r| r.status < 500));
}
