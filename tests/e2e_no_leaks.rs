//! The password never leaves the Secret except inside CreateUser: the real binary runs at trace
//! level (every dependency's logs on, text and JSON formats) through create, rejected create,
//! invalid password, adoption-free deletion; then every log line, Event, status, the metrics page
//! and the Connect emulator's call log are searched for the password, in plain text and in the
//! base64 form the Secret stores it in.

mod common;

use std::time::Duration;

use common::operator::{Cluster, http_get};
use common::*;
use connect_user_operator::crd::ConnectUser;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use sim::connect::{Fault, FaultKind};

/// A password the operator refuses (no upper case, no digit): it must not leak either.
const WEAK: &str = "zzweakmarkerpassword";

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

async fn wait_reason(api: &Api<ConnectUser>, name: &str, want: &str) {
    for _ in 0..600 {
        if let Ok(Some(cu)) = api.get_opt(name).await
            && reason(&cu) == want
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} never reached {want}");
}

async fn run_and_search(format: &str) {
    let cluster = Cluster::start(&[NS]).await;
    let (connect, client) = (&cluster.connect, cluster.client.clone());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let weak = json!({"data": {"weak": base64(WEAK)}});
    secrets
        .patch(
            "agent-passwords",
            &PatchParams::default(),
            &Patch::Merge(&weak),
        )
        .await
        .unwrap();
    let operator = cluster.spawn(
        &format!("operator-{format}"),
        &["--log-format", format],
        &[("RUST_LOG", "trace")],
    );

    let api: Api<ConnectUser> = Api::namespaced(client.clone(), NS);
    let create = |name: &str, key: &str| {
        let cu: ConnectUser = serde_yaml::from_str(
            &manifest(name, "").replace("key: alice}", &format!("key: {key}}}")),
        )
        .unwrap();
        let api = api.clone();
        async move { api.create(&PostParams::default(), &cu).await.unwrap() }
    };
    // Connect rejects the first CreateUser (the password went out in it, and came back in no
    // error message, status or Event).
    connect.add_fault(Fault::on(
        "CreateUser",
        FaultKind::FailNth { n: 1, status: 400 },
    ));
    create("rejected", "alice").await;
    wait_reason(&api, "rejected", "ConnectRejected").await;
    create("weak", "weak").await;
    wait_reason(&api, "weak", "InvalidSpec").await;
    create("alice", "alice").await;
    wait_reason(&api, "alice", "Created").await;
    api.delete("alice", &Default::default()).await.unwrap();
    for _ in 0..600 {
        if api.get_opt("alice").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        api.get_opt("alice").await.unwrap().is_none(),
        "alice deleted"
    );
    let (status, _, metrics) = http_get(operator.http_addr().await, "/metrics").await;
    assert_eq!(status, 200, "metrics served: {metrics:.200}");
    operator.killer()();
    operator.wait_exit(Duration::from_secs(30)).await;

    let log = operator.log_text();
    eprintln!(
        "{format}: {} log lines, {} mention the Secret by name, {} the CreateUser operation",
        log.lines().count(),
        log.lines()
            .filter(|l| l.contains("agent-passwords"))
            .count(),
        log.lines().filter(|l| l.contains("CreateUser")).count()
    );
    assert!(
        log.lines().count() > 100 && log.contains("TRACE"),
        "trace logging was on ({} lines)",
        log.lines().count()
    );
    if format == "json" {
        assert!(
            log.lines()
                .filter(|l| l.starts_with('{'))
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
    }
    let events: Vec<Event> = Api::<Event>::namespaced(client.clone(), NS)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(events.len() >= 3, "events were published");
    let statuses: Vec<_> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.status)
        .collect();
    let calls: Vec<serde_json::Value> = connect.calls().iter().map(|c| c.to_json()).collect();
    assert!(
        calls.iter().any(|c| c["operation"] == "CreateUser"),
        "CreateUser was sent"
    );
    let places = [
        ("operator log", log),
        ("events", serde_json::to_string(&events).unwrap()),
        ("statuses", serde_json::to_string(&statuses).unwrap()),
        ("metrics", metrics),
        ("Connect call log", serde_json::to_string(&calls).unwrap()),
    ];
    for secret in [PASSWORD, WEAK] {
        for needle in [secret.to_string(), base64(secret)] {
            for (place, text) in &places {
                assert!(
                    !text.contains(&needle),
                    "{format}: {needle:?} (from the Secret) found in the {place}"
                );
            }
        }
    }
    // The emulator did receive it where it belongs: as the new user's password.
    assert!(
        connect
            .users(INSTANCE)
            .iter()
            .all(|u| u.password.as_deref() == Some(PASSWORD))
    );
}

#[test]
fn base64_matches_the_kubernetes_encoding() {
    assert_eq!(
        base64("S3cret-Passw0rd-xyz"),
        "UzNjcmV0LVBhc3N3MHJkLXh5eg=="
    );
    assert_eq!(base64("ab"), "YWI=");
    assert_eq!(base64("abc"), "YWJj");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_trace_logs_json_events_status_metrics_or_calls() {
    run_and_search("json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_trace_logs_text_events_status_metrics_or_calls() {
    run_and_search("text").await;
}
