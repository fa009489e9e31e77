//! Running the real binary as a cluster runs it: two replicas with leader election and a leader
//! that dies mid-work, the HTTP probes and OpenMetrics exposition, SIGTERM during a deletion,
//! the JSON logs, and the AWS configuration from the environment alone. Takeover and shutdown times are printed as figures, not asserted.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::operator::{Cluster, Operator, http_get, user_quick_connect};
use common::*;
use connect_user_operator::crd::ConnectUser;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, ResourceExt};
use serde_json::Value;
use sim::connect::{Fault, FaultKind, InstanceSeed, SimUser};

const LEASE: &str = "connect-user-operator";

fn leader_env(identity: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LEADER_ELECTION", "true".into()),
        ("LEASE_NAME", LEASE.into()),
        ("POD_NAMESPACE", NS.into()),
        ("POD_NAME", identity.into()),
        ("LEASE_DURATION_SECONDS", "3".into()),
        ("RUST_LOG", "debug".into()),
    ]
}

fn spawn(cluster: &Cluster, label: &str, env: &[(&'static str, String)]) -> Operator {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cluster.spawn(label, &[], &env)
}

async fn lease_holder(cluster: &Cluster) -> Option<String> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), NS);
    api.get_opt(LEASE)
        .await
        .unwrap()
        .and_then(|l| l.spec?.holder_identity)
}

async fn wait_holder(cluster: &Cluster, holder: &str) {
    for _ in 0..1200 {
        if lease_holder(cluster).await.as_deref() == Some(holder) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{holder} never held the lease");
}

async fn wait_until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..1200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out: {what}");
}

async fn is_ready(cluster: &Cluster, name: &str) -> bool {
    cluster
        .api(NS)
        .get_opt(name)
        .await
        .unwrap()
        .is_some_and(|cu: ConnectUser| {
            ready(&cu).is_some_and(|(s, _)| s == "True")
                && cu.status.as_ref().and_then(|s| s.observed_generation) == cu.metadata.generation
        })
}

/// Successful calls of `operation` (2xx answers).
fn succeeded(cluster: &Cluster, operation: &str) -> Vec<String> {
    cluster
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == operation && c.status < 300)
        .map(|c| c.target.unwrap_or_default())
        .collect()
}

/// Every line is a JSON object with a timestamp, level and target at a level `RUST_LOG` allows;
/// every line that mentions one of `names` outside its spans is inside a `reconcile` span that
/// carries `namespace`, `connectuser` and (unless the resource was gone) `generation`; no line
/// holds the password.
fn check_logs(op: &Operator, names: &[String], debug: bool) {
    let lines = op.log_lines();
    assert!(!lines.is_empty(), "{}: no log lines", op.label);
    let mut levels = std::collections::BTreeSet::new();
    for line in &lines {
        for key in ["timestamp", "level", "target"] {
            assert!(line.get(key).is_some(), "{}: no {key}: {line}", op.label);
        }
        levels.insert(line["level"].as_str().unwrap().to_string());
        let mut own = line.as_object().unwrap().clone();
        own.remove("span");
        own.remove("spans");
        let text = Value::Object(own).to_string();
        if names.iter().any(|n| text.contains(n.as_str())) {
            let span = &line["span"];
            assert!(
                span["name"] == "reconcile"
                    && span["namespace"].is_string()
                    && span["connectuser"].is_string()
                    && (span["generation"].is_i64()
                        || ["gone before its reconcile", "reconciled; gone since"]
                            .contains(&line["message"].as_str().unwrap_or_default())),
                "{}: a line about a resource outside a reconcile span with namespace, connectuser and generation: {line}",
                op.label
            );
        }
    }
    assert!(
        !op.log_text().contains(PASSWORD),
        "{}: password in the log",
        op.label
    );
    assert!(levels.contains("INFO"), "{}: levels {levels:?}", op.label);
    assert_eq!(
        levels.contains("DEBUG"),
        debug,
        "{}: RUST_LOG decides whether debug lines appear: {levels:?}",
        op.label
    );
    assert!(!levels.contains("TRACE"), "{}: {levels:?}", op.label);
}

/// Whether `op` logged anything about one of `names` before its "became leader" line.
fn worked_before_leading(op: &Operator, names: &[String]) -> bool {
    for line in op.log_lines() {
        if line["message"] == "became leader" {
            return false;
        }
        if names
            .iter()
            .any(|n| line["span"]["connectuser"].as_str() == Some(n.as_str()))
        {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_from_a_dead_leader_and_finishes_creates_and_deletes() {
    let cluster = Cluster::start(&[NS]).await;
    let a = spawn(&cluster, "a", &leader_env("op-a"));
    wait_holder(&cluster, "op-a").await;
    let b = spawn(&cluster, "b", &leader_env("op-b"));
    let b_addr = b.http_addr().await;
    wait_until("b is a ready standby", async || {
        http_get(b_addr, "/readyz").await.0 == 200
    })
    .await;
    let (_, _, metrics) = http_get(b_addr, "/metrics").await;
    assert!(
        metrics.contains("connect_user_operator_leader 0\n"),
        "{metrics}"
    );

    // The leader is SIGKILLed right after its third CreateUser changed Connect.
    let names: Vec<String> = (0..6).map(|i| format!("agent-{i}")).collect();
    cluster.connect.on_success("CreateUser", 3, a.killer());
    for n in &names {
        cluster.create(NS, n, "").await;
    }
    a.wait_exit(Duration::from_secs(60))
        .await
        .expect("leader killed");
    let killed = Instant::now();
    wait_holder(&cluster, "op-b").await;
    println!(
        "figure: takeover after SIGKILL took {:?} (lease duration 3 s)",
        killed.elapsed()
    );
    for n in &names {
        wait_until(&format!("{n} Ready"), async || is_ready(&cluster, n).await).await;
    }
    let users = cluster.connect.users(INSTANCE);
    for n in &names {
        assert_eq!(
            users.iter().filter(|u| &u.username == n).count(),
            1,
            "exactly one Connect user for {n}"
        );
    }
    let creates = succeeded(&cluster, "CreateUser");
    assert_eq!(creates.len(), names.len(), "one CreateUser per resource");
    // Adopting the dead leader's users needs no other write: they carry the ownership tag.
    let other_writes: Vec<String> = cluster
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.status < 300 && WRITE_OPS.contains(&c.operation.as_str()))
        .filter(|c| c.operation != "CreateUser")
        .map(|c| c.operation)
        .collect();
    assert!(other_writes.is_empty(), "{other_writes:?}");
    assert!(!worked_before_leading(&b, &names), "b worked as a standby");
    // The new leader is ready (its caches synced) and says it leads.
    wait_until("the leader is ready", async || {
        http_get(b_addr, "/readyz").await.0 == 200
    })
    .await;
    let (_, _, metrics) = http_get(b_addr, "/metrics").await;
    assert!(
        metrics.contains("connect_user_operator_leader 1\n"),
        "{metrics}"
    );

    // A new standby; the leader gets SIGTERM after its second DeleteUser.
    let c = spawn(&cluster, "c", &leader_env("op-c"));
    let c_addr = c.http_addr().await;
    wait_until("c is a ready standby", async || {
        http_get(c_addr, "/readyz").await.0 == 200
    })
    .await;
    let ids: Vec<String> = names
        .iter()
        .map(|n| cluster.connect.user_by_name(INSTANCE, n).unwrap().id)
        .collect();
    for id in &ids {
        cluster
            .connect
            .insert_quick_connect(INSTANCE, user_quick_connect(&format!("qc-{id}"), id));
    }
    cluster.connect.on_success("DeleteUser", 2, b.terminator());
    for n in &names {
        cluster
            .api(NS)
            .delete(n, &Default::default())
            .await
            .unwrap();
    }
    let status = b
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("b exits within the default 30 s grace period after SIGTERM");
    assert!(status.success(), "b exit status {status}");
    let stopped = Instant::now();
    wait_holder(&cluster, "op-c").await;
    println!(
        "figure: takeover after SIGTERM (lease released) took {:?}",
        stopped.elapsed()
    );
    for n in &names {
        wait_until(&format!("{n} deleted"), async || {
            cluster.api(NS).get_opt(n).await.unwrap().is_none()
        })
        .await;
    }
    assert!(
        cluster
            .connect
            .users(INSTANCE)
            .iter()
            .all(|u| !names.contains(&u.username))
    );
    assert!(cluster.connect.quick_connects(INSTANCE).is_empty());
    let mut deleted = succeeded(&cluster, "DeleteUser");
    deleted.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(deleted, expected, "each user deleted exactly once");
    assert!(!worked_before_leading(&c, &names), "c worked as a standby");
    for op in [&a, &b, &c] {
        check_logs(op, &names, true);
    }
    c.terminate();
    c.wait_exit(Duration::from_secs(30)).await.expect("c exits");
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_openmetrics_over_http() {
    let cluster = Cluster::start(&[NS]).await;
    // Listing ConnectUsers fails until cleared: the caches cannot sync.
    cluster
        .kube
        .fail_next("GET", "/connectusers", 1_000_000, 500);
    let op = cluster.spawn("metrics", &[], &[]);
    let addr = op.http_addr().await;
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    wait_until("a ConnectUser list was attempted", async || {
        cluster
            .kube
            .requests()
            .iter()
            .any(|r| r.resource == "connectusers" && r.status == 500)
    })
    .await;
    let (status, _, body) = http_get(addr, "/readyz").await;
    assert_eq!((status, body.as_str()), (503, "caches not synced"));
    cluster.kube.clear_faults();
    wait_until("ready after the caches synced", async || {
        http_get(addr, "/readyz").await.0 == 200
    })
    .await;
    assert_eq!(http_get(addr, "/healthz").await.0, 200);

    // Every CreateUser throttled (it is sent once; its reconcile retries) until cleared.
    cluster.connect.add_fault(Fault::on(
        "CreateUser",
        FaultKind::ErrorRate {
            rate: 1.0,
            status: 429,
        },
    ));
    cluster.create(NS, "alice", "").await;
    cluster.create(NS, "bob", "").await;
    wait_until("a throttled CreateUser", async || {
        http_get(addr, "/metrics")
            .await
            .2
            .contains("connect_user_operator_connect_throttled_total 1")
    })
    .await;
    cluster.connect.clear_faults();
    for n in ["alice", "bob"] {
        wait_until(n, async || is_ready(&cluster, n).await).await;
    }
    let bob = cluster.connect.user_by_name(INSTANCE, "bob").unwrap().id;
    for i in 0..2 {
        cluster
            .connect
            .insert_quick_connect(INSTANCE, user_quick_connect(&format!("qc-{i}"), &bob));
    }
    cluster
        .api(NS)
        .delete("bob", &Default::default())
        .await
        .unwrap();
    wait_until("bob deleted", async || {
        cluster.api(NS).get_opt("bob").await.unwrap().is_none()
    })
    .await;

    let (status, content_type, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text; version=1.0.0"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    let p = "connect_user_operator_";
    for family in [
        "reconciles counter",
        "reconcile_duration_seconds histogram",
        "connect_calls counter",
        "connect_throttled counter",
        "connect_requests counter",
        "quick_connects_deleted counter",
        "resources gauge",
        "leader gauge",
    ] {
        assert!(
            text.contains(&format!("# TYPE {p}{family}\n")),
            "no `# TYPE {p}{family}` in\n{text}"
        );
    }
    assert!(metric(&text, &format!("{p}reconciles_total{{result=\"ok\"}}")) >= 4.0);
    assert!(metric(&text, &format!("{p}reconcile_duration_seconds_count")) >= 4.0);
    assert!(text.contains(&format!(
        "{p}reconcile_duration_seconds_bucket{{le=\"+Inf\"}}"
    )));
    let calls = |op: &str, outcome: &str| {
        metric(
            &text,
            &format!("{p}connect_calls_total{{operation=\"{op}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(calls("CreateUser", "ok"), 2.0);
    assert!(calls("CreateUser", "throttled") >= 1.0);
    assert_eq!(calls("DeleteUser", "ok"), 1.0);
    assert_eq!(calls("DeleteQuickConnect", "ok"), 2.0);
    assert_eq!(
        metric(&text, &format!("{p}connect_throttled_total")),
        calls("CreateUser", "throttled")
    );
    assert_eq!(
        metric(&text, &format!("{p}quick_connects_deleted_total")),
        2.0
    );
    assert_eq!(
        metric(&text, &format!("{p}resources{{ready=\"True\"}}")),
        1.0
    );
    assert_eq!(
        metric(&text, &format!("{p}resources{{ready=\"False\"}}")),
        0.0
    );
    assert_eq!(metric(&text, &format!("{p}leader")), 1.0);
    assert!(!text.contains(PASSWORD));
    op.terminate();
    op.wait_exit(Duration::from_secs(30)).await.expect("exit");
    check_logs(&op, &["alice".into(), "bob".into()], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_deletion_finishes_it_or_leaves_the_finalizer_and_a_restart_completes() {
    let cluster = Cluster::start(&[NS]).await;
    let first = cluster.spawn("first", &[], &[]);
    cluster.create(NS, "alice", "").await;
    wait_until("alice Ready", async || is_ready(&cluster, "alice").await).await;
    let id = cluster.connect.user_by_name(INSTANCE, "alice").unwrap().id;
    let seed = InstanceSeed::standard(INSTANCE);
    let other = cluster.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "other".into(),
            routing_profile_id: seed.routing_profiles[0].0.clone(),
            security_profile_ids: vec![seed.security_profiles[0].0.clone()],
            ..Default::default()
        },
    );
    for i in 0..3 {
        cluster
            .connect
            .insert_quick_connect(INSTANCE, user_quick_connect(&format!("mine-{i}"), &id));
    }
    let keep = cluster
        .connect
        .insert_quick_connect(INSTANCE, user_quick_connect("theirs", &other));
    // Slow quick-connect deletes keep the cleanup in flight when SIGTERM arrives after DeleteUser.
    cluster.connect.add_fault(Fault::on(
        "DeleteQuickConnect",
        FaultKind::Latency(Duration::from_millis(400)),
    ));
    let signalled = Arc::new(AtomicBool::new(false));
    let term = first.terminator();
    let flag = signalled.clone();
    cluster.connect.on_success("DeleteUser", 1, move || {
        term();
        flag.store(true, Ordering::SeqCst);
    });
    cluster
        .api(NS)
        .delete("alice", &Default::default())
        .await
        .unwrap();
    wait_until("SIGTERM sent", async || signalled.load(Ordering::SeqCst)).await;
    let t = Instant::now();
    // New work after SIGTERM is not taken (the cleanup is still in flight: 3 slow deletes).
    wait_until("SIGTERM handled", async || {
        first.logged("shutdown requested; finishing in-flight reconciles")
    })
    .await;
    cluster.create(NS, "bob", "").await;
    let status = first
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("exits within the default 30 s grace period");
    println!("figure: exit {:?} after SIGTERM", t.elapsed());
    assert!(status.success(), "exit status {status}");
    assert!(first.logged("shutdown requested; finishing in-flight reconciles"));
    assert!(first.logged("stopped"));
    assert!(
        cluster.connect.user_by_name(INSTANCE, "bob").is_none(),
        "bob was reconciled after SIGTERM"
    );
    // No half-released finalizer: gone means cleaned up; present means still held.
    let mine_left = cluster
        .connect
        .quick_connects(INSTANCE)
        .iter()
        .filter(|q| q.user_id.as_deref() == Some(id.as_str()))
        .count();
    match cluster.api(NS).get_opt("alice").await.unwrap() {
        None => {
            assert!(cluster.connect.user(INSTANCE, &id).is_none());
            assert_eq!(mine_left, 0, "finalizer released before cleanup finished");
            println!("figure: the in-flight deletion finished before exit");
        }
        Some(cu) => {
            assert!(cu.metadata.deletion_timestamp.is_some());
            assert!(
                cu.finalizers()
                    .iter()
                    .any(|f| f == connect_user_operator::crd::FINALIZER)
            );
            println!("figure: exit left the deletion pending ({mine_left} quick connects left)");
        }
    }
    cluster.connect.clear_faults();
    let second = cluster.spawn("second", &[], &[]);
    wait_until("alice deleted", async || {
        cluster.api(NS).get_opt("alice").await.unwrap().is_none()
    })
    .await;
    wait_until("bob Ready", async || is_ready(&cluster, "bob").await).await;
    assert!(cluster.connect.user(INSTANCE, &id).is_none());
    let left: Vec<String> = cluster
        .connect
        .quick_connects(INSTANCE)
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(left, vec![keep]);
    assert_eq!(succeeded(&cluster, "DeleteUser"), vec![id]);
    check_logs(&first, &["alice".into(), "bob".into()], false);
    check_logs(&second, &["alice".into(), "bob".into()], false);
}

/// An endpoint nothing listens on: a call sent there fails to connect.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// The binary is configured as users configure any AWS tool, through the environment alone
/// (nothing in code): `AWS_ENDPOINT_URL_CONNECT` wins over `AWS_ENDPOINT_URL` (here a closed
/// port), and it signs with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`. The emulator verifies
/// every signature: a wrong secret creates nothing and says AccessDenied; the right one creates
/// the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reaches_connect_through_the_environment_alone() {
    let cluster = Cluster::start(&[NS]).await;
    let nowhere = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let nothing = dir.path().join("absent");
    let nothing = nothing.to_str().unwrap();
    // Only the variables given here: no shared files, no instance metadata.
    let env = |secret: &'static str| {
        vec![
            ("AWS_ENDPOINT_URL", nowhere.clone()),
            ("AWS_ACCESS_KEY_ID", sim::aws::TEST_ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", secret.into()),
            ("AWS_CONFIG_FILE", nothing.into()),
            ("AWS_SHARED_CREDENTIALS_FILE", nothing.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    };

    let wrong = spawn(&cluster, "wrong-secret", &env("not-the-secret"));
    cluster.create(NS, "alice", "").await;
    wait_until("alice AccessDenied", async || {
        let cu = cluster.api(NS).get("alice").await.unwrap();
        reason(&cu) == "AccessDenied"
    })
    .await;
    wrong.terminate();
    wrong
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("exits on SIGTERM");
    let refused = cluster.connect.calls();
    assert!(!refused.is_empty());
    for c in &refused {
        assert_eq!(
            (c.status, c.error_type.as_deref(), c.access_key_id.as_str()),
            (
                403,
                Some("InvalidSignatureException"),
                sim::aws::TEST_ACCESS_KEY_ID
            ),
            "{} reached the emulator through AWS_ENDPOINT_URL_CONNECT, signed with the wrong secret",
            c.operation
        );
    }
    assert!(cluster.connect.user_by_name(INSTANCE, "alice").is_none());

    let right = spawn(
        &cluster,
        "right-secret",
        &env(sim::aws::TEST_SECRET_ACCESS_KEY),
    );
    wait_until("alice Ready", async || is_ready(&cluster, "alice").await).await;
    let created = cluster.connect.user_by_name(INSTANCE, "alice").unwrap().id;
    assert_eq!(succeeded(&cluster, "CreateUser"), vec![created]);
    let accepted = &cluster.connect.calls()[refused.len()..];
    for c in accepted {
        assert_eq!(
            (c.access_key_id.as_str(), c.account_id.as_str()),
            (sim::aws::TEST_ACCESS_KEY_ID, sim::aws::TEST_ACCOUNT_ID),
            "{} signed with the right secret and verified",
            c.operation
        );
    }
    drop(right);
}

/// IRSA as a pod has it, through the environment alone: the projected token file and
/// `AWS_ROLE_ARN`, STS at `AWS_ENDPOINT_URL_STS` (`AWS_ENDPOINT_URL` is a closed port). Every
/// Connect call is signed by the role's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_irsa_credentials_from_sts_at_aws_endpoint_url_sts() {
    let cluster = Cluster::start(&[NS]).await;
    let iam = cluster.connect.iam();
    let sts = sim::aws::StsSim::start(iam.clone()).await.unwrap();
    let subject = "system:serviceaccount:connect-system:connect-user-operator";
    let role = iam.create_role(
        sim::aws::TEST_ACCOUNT_ID,
        "connect-user-operator",
        sim::aws::Trust {
            web_identity_subjects: vec![subject.into()],
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(
        &token,
        iam.issue_web_identity_token(subject, Duration::from_secs(3600)),
    )
    .unwrap();
    let nowhere = closed_port();
    let nothing = dir.path().join("absent");
    let (token, nothing) = (token.to_str().unwrap(), nothing.to_str().unwrap());
    let _op = cluster.spawn(
        "irsa",
        &[],
        &[
            // Blank: no key in the environment, so the chain goes on to web identity.
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", token),
            ("AWS_ROLE_ARN", &role),
            ("AWS_ROLE_SESSION_NAME", "operator-pod"),
            ("AWS_ENDPOINT_URL_STS", &sts.endpoint()),
            ("AWS_ENDPOINT_URL", &nowhere),
            ("AWS_CONFIG_FILE", nothing),
            ("AWS_SHARED_CREDENTIALS_FILE", nothing),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    cluster.create(NS, "alice", "").await;
    wait_until("alice Ready", async || is_ready(&cluster, "alice").await).await;
    let exchanged = sts.calls();
    assert!(
        exchanged
            .iter()
            .any(|c| c.action == "AssumeRoleWithWebIdentity" && c.status == 200),
        "{exchanged:#?}"
    );
    let session = "arn:aws:sts::123456789012:assumed-role/connect-user-operator/operator-pod";
    for c in cluster.connect.calls() {
        assert_eq!(
            c.principal_arn, session,
            "{} signed by the role's session",
            c.operation
        );
    }
    assert!(cluster.connect.user_by_name(INSTANCE, "alice").is_some());
}
