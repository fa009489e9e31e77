//! Instance objects end to end: ConnectUsers in two accounts through a ConnectInstance (the
//! operator's own account) and a ClusterConnectInstance (a role assumed in account 2), the
//! namespace selector, short-lived credentials, and deletion after the instance object was
//! edited or deleted.

mod common;

use std::time::Duration;

use common::*;
use connect_user_operator::crd::ConnectUser;
use connect_user_operator::instance::crd::{ClusterConnectInstance, ConnectInstance};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use sim::aws::{TEST_ACCOUNT_ID, Trust};
use sim::connect::InstanceSeed;

const INSTANCE_B: &str = "bbbbbbbb-2222-3333-4444-555555555555";
const ACCOUNT_2: &str = "222222222222";

/// A ConnectUser `name` that uses the instance object `kind`/`object` instead of instanceId.
fn ref_manifest(name: &str, kind: &str, object: &str, extra: &str) -> String {
    manifest(name, extra).replace(
        &format!("  instanceId: {INSTANCE}\n"),
        &format!("  instanceRef: {{kind: {kind}, name: {object}}}\n"),
    )
}

pub struct Instances {
    pub env: Env,
    /// The role in account 2 that the operator (account 1) may assume.
    pub role_b: String,
}

/// The bed with instance B in account 2, a role there trusting account 1, and the namespace
/// labelled `team: b`.
async fn start() -> Instances {
    let env = Env::start().await;
    env.connect
        .seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let role_b = env.connect.iam().create_role(
        ACCOUNT_2,
        "connect-operator",
        Trust::account(TEST_ACCOUNT_ID),
    );
    label_namespace(&env, NS, json!({"team": "b"})).await;
    Instances { env, role_b }
}

async fn label_namespace(env: &Env, ns: &str, labels: serde_json::Value) {
    let api: Api<Namespace> = Api::all(env.client.clone());
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}});
    if api.get_opt(ns).await.unwrap().is_some() {
        api.patch(ns, &PatchParams::default(), &Patch::Merge(&body))
            .await
            .unwrap();
    } else {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(body).unwrap(),
        )
        .await
        .unwrap();
    }
}

fn connect_instances(env: &Env) -> Api<ConnectInstance> {
    Api::namespaced(env.client.clone(), NS)
}

fn cluster_instances(env: &Env) -> Api<ClusterConnectInstance> {
    Api::all(env.client.clone())
}

async fn create_ci(env: &Env, yaml: &str) -> ConnectInstance {
    let obj: ConnectInstance = serde_yaml::from_str(yaml).unwrap();
    connect_instances(env)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap()
}

async fn create_cci(env: &Env, yaml: &str) -> ClusterConnectInstance {
    let obj: ClusterConnectInstance = serde_yaml::from_str(yaml).unwrap();
    cluster_instances(env)
        .create(&PostParams::default(), &obj)
        .await
        .unwrap()
}

fn instance_a() -> String {
    format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: a, namespace: {NS}}}\nspec:\n  instanceId: {INSTANCE}\n  region: {REGION}\n"
    )
}

fn instance_b(role: &str, selector: &str) -> String {
    format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ClusterConnectInstance\nmetadata: {{name: b}}\nspec:\n  instanceId: arn:aws:connect:{REGION}:{ACCOUNT_2}:instance/{INSTANCE_B}\n  region: {REGION}\n  roleArn: {role}\n{selector}"
    )
}

const SELECT_TEAM_B: &str = "  namespaceSelector: {matchLabels: {team: b}}\n";

fn ready_of(
    status: Option<&connect_user_operator::instance::crd::InstanceStatus>,
) -> Option<(String, String, String)> {
    let c = status?.condition("Ready")?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

async fn wait_ci(
    env: &Env,
    name: &str,
    what: &str,
    cond: impl Fn(&ConnectInstance) -> bool,
) -> ConnectInstance {
    wait_object(
        &connect_instances(env),
        name,
        what,
        Duration::from_secs(30),
        cond,
    )
    .await
}

async fn wait_cci(
    env: &Env,
    name: &str,
    what: &str,
    cond: impl Fn(&ClusterConnectInstance) -> bool,
) -> ClusterConnectInstance {
    wait_object(
        &cluster_instances(env),
        name,
        what,
        Duration::from_secs(30),
        cond,
    )
    .await
}

fn is_ready(status: &Option<connect_user_operator::instance::crd::InstanceStatus>) -> bool {
    ready_of(status.as_ref()).is_some_and(|(s, _, _)| s == "True")
}

fn record(cu: &ConnectUser) -> connect_user_operator::crd::InstanceRecord {
    cu.status
        .as_ref()
        .and_then(|s| s.instance.clone())
        .expect("status.instance")
}

/// Nothing of `username`'s is left in `instance`: no user, no quick connect to one.
fn nothing_left(env: &Env, instance: &str) {
    let users = env.connect.users(instance);
    assert!(users.is_empty(), "users left in {instance}: {users:?}");
    let qcs = env.connect.quick_connects(instance);
    assert!(qcs.is_empty(), "quick connects left in {instance}: {qcs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_in_two_accounts_through_a_connect_instance_and_a_cluster_connect_instance() {
    let bed = start().await;
    let env = &bed.env;
    create_ci(env, &instance_a()).await;
    create_cci(env, &instance_b(&bed.role_b, SELECT_TEAM_B)).await;
    let a = wait_ci(env, "a", "Ready", |o| is_ready(&o.status)).await;
    let a_status = a.status.clone().unwrap();
    // No ARN: the account comes from GetCallerIdentity with the operator's own credentials.
    assert_eq!(a_status.account.as_deref(), Some(TEST_ACCOUNT_ID));
    assert_eq!(
        a_status.identity_management_type.as_deref(),
        Some("CONNECT_MANAGED")
    );
    assert!(a_status.instance_alias.is_some());
    let b = wait_cci(env, "b", "Ready", |o| is_ready(&o.status)).await;
    assert_eq!(b.status.unwrap().account.as_deref(), Some(ACCOUNT_2));
    assert!(
        env.sts.successes("AssumeRole") >= 1,
        "{:?}",
        env.sts.calls()
    );

    let quick = "  quickConnect: {name: QC NAME, contactFlow: {name: Default agent transfer}}\n";
    env.create(&ref_manifest(
        "alice",
        "ConnectInstance",
        "a",
        &quick.replace("NAME", "alice"),
    ))
    .await
    .unwrap();
    env.create(&ref_manifest(
        "bob",
        "ClusterConnectInstance",
        "b",
        &quick.replace("NAME", "bob"),
    ))
    .await
    .unwrap();
    let alice = env.wait_ready("alice").await;
    let bob = env.wait_ready("bob").await;
    assert_eq!(env.connect.users(INSTANCE).len(), 1);
    assert_eq!(env.connect.users(INSTANCE_B).len(), 1);
    assert_eq!(env.connect.users(INSTANCE_B)[0].username, "bob");
    let (ra, rb) = (record(&alice), record(&bob));
    assert_eq!(
        (
            ra.instance_id.as_str(),
            ra.region.as_str(),
            ra.account.as_deref(),
            ra.role_arn.as_deref()
        ),
        (INSTANCE, REGION, Some(TEST_ACCOUNT_ID), None)
    );
    assert_eq!(
        (
            rb.instance_id.as_str(),
            rb.account.as_deref(),
            rb.role_arn.as_deref()
        ),
        (INSTANCE_B, Some(ACCOUNT_2), Some(bed.role_b.as_str()))
    );
    assert_eq!(rb.through.as_deref(), Some("ClusterConnectInstance/b"));
    // Every call on B was signed by the assumed role's session in account 2.
    let on_b: Vec<_> = env
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.instance_id.as_deref() == Some(INSTANCE_B))
        .collect();
    assert!(!on_b.is_empty());
    assert!(
        on_b.iter()
            .all(|c| c.account_id == ACCOUNT_2 && c.status == 200),
        "{:?}",
        on_b.iter()
            .map(|c| (&c.operation, &c.account_id, c.status))
            .collect::<Vec<_>>()
    );
    // The instance objects count their users and hold a finalizer meanwhile.
    let a = wait_ci(env, "a", "1 user", |o| {
        o.status.as_ref().is_some_and(|s| s.connect_users == 1)
    })
    .await;
    assert!(
        a.finalizers()
            .iter()
            .any(|f| f == "connect.userops.dev/in-use")
    );
    wait_cci(env, "b", "1 user", |o| {
        o.status.as_ref().is_some_and(|s| s.connect_users == 1)
    })
    .await;

    env.delete("alice").await;
    env.delete("bob").await;
    env.wait_gone("alice").await;
    env.wait_gone("bob").await;
    nothing_left(env, INSTANCE);
    nothing_left(env, INSTANCE_B);
    // Unused again: the finalizer goes, and the objects can be deleted at once.
    wait_ci(env, "a", "no finalizer", |o| o.finalizers().is_empty()).await;
    connect_instances(env)
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while connect_instances(env).get_opt("a").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ConnectInstance a stays"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_the_selector_leaves_out_gets_instance_not_allowed_and_no_connect_call() {
    let bed = start().await;
    let env = &bed.env;
    create_cci(
        env,
        &instance_b(
            &bed.role_b,
            "  namespaceSelector: {matchLabels: {team: other}}\n",
        ),
    )
    .await;
    wait_cci(env, "b", "Ready", |o| is_ready(&o.status)).await;
    let before = env.connect.calls().len();
    env.create(&ref_manifest("alice", "ClusterConnectInstance", "b", ""))
        .await
        .unwrap();
    let cu = env.wait_reason("alice", "InstanceNotAllowed").await;
    let message = cu
        .status
        .as_ref()
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message
        .clone();
    assert!(message.starts_with("spec.instanceRef:"), "{message}");
    assert!(
        message.contains("does not select namespace default"),
        "{message}"
    );
    // The instance object's own health check aside (DescribeInstance), nothing was called.
    let calls: Vec<_> = env.connect.calls()[before..]
        .iter()
        // The instance object's own sweep lists its quick connects (there are none).
        .filter(|c| c.operation != "DescribeInstance" && c.operation != "SearchQuickConnects")
        .map(|c| c.operation.clone())
        .collect();
    assert!(calls.is_empty(), "{calls:?}");
    assert!(env.connect.users(INSTANCE_B).is_empty());

    // Selected now: created. Deselected again: the deletion still cleans up (the selector
    // gates creates and updates only).
    label_namespace(env, NS, json!({"team": "other"})).await;
    env.wait_ready("alice").await;
    assert_eq!(env.connect.users(INSTANCE_B).len(), 1);
    label_namespace(env, NS, json!({"team": "nobody"})).await;
    env.delete("alice").await;
    env.wait_gone("alice").await;
    nothing_left(env, INSTANCE_B);
}

/// How many reconciles of the in-process operator ended with `reason`.
fn reconciles_with(env: &Env, reason: &str) -> u64 {
    let needle = format!("connect_user_operator_reconciles_total{{result=\"{reason}\"}} ");
    env.ctx
        .metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(needle.as_str()))
        .map_or(0, |n| n.trim().parse().unwrap())
}

/// The two controllers wake each other: a ConnectUser applied before its instance object
/// goes on as soon as the object is Ready, not at its backoff; a ConnectUser that starts or
/// stops using an object is counted at once, not at the object's 30 s recount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_goes_on_when_its_instance_object_becomes_ready_and_is_counted_at_once() {
    let bed = start().await;
    let env = &bed.env;
    env.create(&ref_manifest("alice", "ConnectInstance", "a", ""))
        .await
        .unwrap();
    env.wait_reason("alice", "InstanceNotFound").await;
    // Three failures (about 0, 5 and 15 s): the next retry is 16-24 s after the third.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while reconciles_with(env, "InstanceNotFound") < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice retried less than 3 times"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    create_ci(env, &instance_a()).await;
    let ready = tokio::time::Instant::now();
    wait_ci(env, "a", "Ready", |o| is_ready(&o.status)).await;
    env.wait_ready("alice").await;
    assert!(
        ready.elapsed() < Duration::from_secs(10),
        "alice went on {:?} after her instance object was created: at her backoff, not woken",
        ready.elapsed()
    );
    assert_eq!(reconciles_with(env, "InstanceNotFound"), 3);

    wait_ci(env, "a", "1 user", |o| {
        o.status.as_ref().is_some_and(|s| s.connect_users == 1)
    })
    .await;
    env.create(&ref_manifest("bob", "ConnectInstance", "a", ""))
        .await
        .unwrap();
    let created = tokio::time::Instant::now();
    wait_ci(env, "a", "2 users", |o| {
        o.status.as_ref().is_some_and(|s| s.connect_users == 2)
    })
    .await;
    assert!(
        created.elapsed() < Duration::from_secs(10),
        "{:?}",
        created.elapsed()
    );
    env.wait_ready("bob").await;
    env.delete("bob").await;
    env.wait_gone("bob").await;
    let gone = tokio::time::Instant::now();
    wait_ci(env, "a", "1 user again", |o| {
        o.status.as_ref().is_some_and(|s| s.connect_users == 1)
    })
    .await;
    assert!(
        gone.elapsed() < Duration::from_secs(10),
        "{:?}",
        gone.elapsed()
    );
    let events: Vec<String> = {
        let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(env.client.clone(), NS);
        api.list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| {
                e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("ConnectInstance")
            })
            .filter_map(|e| e.reason)
            .collect()
    };
    assert!(events.iter().any(|r| r == "InstanceReady"), "{events:?}");
    let metrics = env.ctx.metrics.encode();
    assert!(
        metrics.contains(
            "connect_user_operator_instance_objects{kind=\"ConnectInstance\",ready=\"True\"} 1"
        ),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_after_the_instance_object_was_edited_or_deleted_leaves_nothing_behind() {
    let bed = start().await;
    let env = &bed.env;
    create_cci(env, &instance_b(&bed.role_b, SELECT_TEAM_B)).await;
    wait_cci(env, "b", "Ready", |o| is_ready(&o.status)).await;
    let quick = "  quickConnect: {name: QC NAME, contactFlow: {name: Default agent transfer}}\n";
    for name in ["alice", "bob"] {
        env.create(&ref_manifest(
            name,
            "ClusterConnectInstance",
            "b",
            &quick.replace("NAME", name),
        ))
        .await
        .unwrap();
        env.wait_ready(name).await;
    }
    assert_eq!(env.connect.users(INSTANCE_B).len(), 2);

    // Edited: the role now names one that does not exist. alice's deletion uses the role
    // status recorded.
    let wrong = sim::aws::role_arn(ACCOUNT_2, "does-not-exist");
    cluster_instances(env)
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"roleArn": wrong}})),
        )
        .await
        .unwrap();
    wait_cci(env, "b", "not Ready with the wrong role", |o| {
        ready_of(o.status.as_ref())
            .is_some_and(|(s, r, _)| s == "False" && r == "CredentialsUnavailable")
    })
    .await;
    env.delete("alice").await;
    env.wait_gone("alice").await;
    assert_eq!(env.connect.users(INSTANCE_B).len(), 1);

    // Deleted: held by its finalizer while bob uses it, saying so; bob's deletion still works.
    cluster_instances(env)
        .delete("b", &DeleteParams::default())
        .await
        .unwrap();
    let b = wait_cci(env, "b", "InUse", |o| {
        ready_of(o.status.as_ref()).is_some_and(|(_, r, _)| r == "InUse")
    })
    .await;
    let (_, _, message) = ready_of(b.status.as_ref()).unwrap();
    assert!(message.contains("default/bob"), "{message}");
    // Even with the finalizer taken off by hand, and the object gone.
    cluster_instances(env)
        .patch(
            "b",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while cluster_instances(env).get_opt("b").await.unwrap().is_some() {
        assert!(tokio::time::Instant::now() < deadline, "b stays");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.delete("bob").await;
    env.wait_gone("bob").await;
    nothing_left(env, INSTANCE_B);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_resiliency_replica_is_refused_unless_allowed() {
    let env = Env::start().await;
    const REPLICATED: &str = "cccccccc-2222-3333-4444-555555555555";
    env.connect
        .seed_instance(InstanceSeed::standard(REPLICATED).with_replica("us-west-2"));
    let object = |name: &str, region: &str, allow: bool| {
        format!(
            "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  instanceId: {REPLICATED}\n  region: {region}\n  allowReplica: {allow}\n"
        )
    };
    create_ci(&env, &object("source", REGION, false)).await;
    create_ci(&env, &object("replica", "us-west-2", false)).await;
    let source = wait_ci(&env, "source", "Ready", |o| is_ready(&o.status)).await;
    assert_eq!(
        source.status.unwrap().source_region.as_deref(),
        Some(REGION)
    );
    let replica = wait_ci(&env, "replica", "ReplicaRefused", |o| {
        ready_of(o.status.as_ref()).is_some_and(|(s, r, _)| s == "False" && r == "ReplicaRefused")
    })
    .await;
    let (_, _, message) = ready_of(replica.status.as_ref()).unwrap();
    assert!(
        message.contains("replica") && message.contains("region us-east-1"),
        "{message}"
    );

    let before = env.connect.calls().len();
    env.create(&ref_manifest("alice", "ConnectInstance", "replica", ""))
        .await
        .unwrap();
    let cu = env.wait_reason("alice", "InstanceNotReady").await;
    let m = cu
        .status
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message
        .clone();
    assert!(m.contains("ReplicaRefused"), "{m}");
    let calls: Vec<_> = env.connect.calls()[before..]
        .iter()
        // The instance object's own sweep lists its quick connects (there are none).
        .filter(|c| c.operation != "DescribeInstance" && c.operation != "SearchQuickConnects")
        .map(|c| c.operation.clone())
        .collect();
    assert!(calls.is_empty(), "{calls:?}");

    // Allowed explicitly: Ready, and the user is written in the replica's region.
    connect_instances(&env)
        .patch(
            "replica",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"allowReplica": true}})),
        )
        .await
        .unwrap();
    wait_ci(&env, "replica", "Ready", |o| is_ready(&o.status)).await;
    env.wait_ready("alice").await;
    let creates: Vec<_> = env
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateUser" && c.status == 200)
        .map(|c| c.region)
        .collect();
    assert_eq!(creates, ["us-west-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_overrides_of_one_account_and_region_the_smallest_applies() {
    let env = Env::start().await;
    let with_quota = |name: &str, rate: f64, burst: u32| {
        format!(
            "{}  quota: {{rate: {rate}, burst: {burst}}}\n",
            instance_a().replace("name: a,", &format!("name: {name},"))
        )
    };
    create_ci(&env, &with_quota("a", 50.0, 50)).await;
    let a = wait_ci(&env, "a", "its own quota", |o| {
        o.status.as_ref().and_then(|s| s.applied_quota.as_deref())
            == Some(format!("50/s, burst 50 in {TEST_ACCOUNT_ID}/{REGION}").as_str())
    })
    .await;
    assert!(is_ready(&a.status));
    create_ci(&env, &with_quota("a2", 20.0, 100)).await;
    let want = format!(
        "20/s, burst 50 in {TEST_ACCOUNT_ID}/{REGION}: the smallest that the 2 instance objects of this account and region ask for"
    );
    wait_ci(&env, "a2", "the smaller quota", |o| {
        o.status.as_ref().and_then(|s| s.applied_quota.as_deref()) == Some(want.as_str())
    })
    .await;
    wait_ci(&env, "a", "the smaller quota", |o| {
        o.status.as_ref().and_then(|s| s.applied_quota.as_deref()) == Some(want.as_str())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_in_one_account_does_not_slow_another() {
    let bed = start().await;
    let env = &bed.env;
    create_ci(env, &instance_a()).await;
    create_cci(env, &instance_b(&bed.role_b, SELECT_TEAM_B)).await;
    wait_ci(env, "a", "Ready", |o| is_ready(&o.status)).await;
    wait_cci(env, "b", "Ready", |o| is_ready(&o.status)).await;
    // Account 1's quota all but gone: one request per operation, then one every 20 s.
    env.connect.set_account_quota(
        TEST_ACCOUNT_ID,
        Some(Some(sim::connect::Quota {
            rate_per_sec: 0.05,
            burst: 1,
        })),
    );
    let before = env.connect.calls().len();
    let (in_one, in_two) = (["alice", "carol", "dave"], ["bob", "erin", "frank"]);
    for (a, b) in in_one.iter().zip(&in_two) {
        env.create(&ref_manifest(a, "ConnectInstance", "a", ""))
            .await
            .unwrap();
        env.create(&ref_manifest(b, "ClusterConnectInstance", "b", ""))
            .await
            .unwrap();
    }
    for b in in_two {
        env.wait_ready(b).await;
    }
    let calls = env.connect.calls()[before..].to_vec();
    let throttled = |account: &str| {
        calls
            .iter()
            .filter(|c| c.account_id == account && c.status == 429)
            .count()
    };
    assert!(
        throttled(TEST_ACCOUNT_ID) > 0,
        "account 1 was throttled: {:?}",
        calls
            .iter()
            .map(|c| (&c.operation, &c.account_id, c.status, &c.error_type))
            .collect::<Vec<_>>()
    );
    assert_eq!(throttled(ACCOUNT_2), 0, "account 2 was not");
    let mut waiting = 0;
    for a in in_one {
        let cu = env.api().get(a).await.unwrap();
        waiting += usize::from(ready(&cu).is_none_or(|(s, _)| s != "True"));
    }
    assert!(
        waiting > 0,
        "account 1's users wait for its quota while account 2's are done"
    );
    // Account 1's quota back: its users follow.
    env.connect.set_account_quota(TEST_ACCOUNT_ID, None);
    for a in in_one {
        env.wait_ready(a).await;
    }
}

/// The ConnectInstance's sweep, wired: 20 quick connects whose users were deleted in the
/// console and 10 live ones. Report counts the 20 in status and writes nothing to Connect; a
/// spec edit to Delete (the same running sweep, read at its next tick) deletes exactly those 20,
/// each with an Event, and status says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_instance_objects_sweep_reports_then_deletes_exactly_the_twenty() {
    use common::operator::user_quick_connect;
    use std::collections::BTreeSet;
    let env = Env::start().await;
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let (mut dangling, mut live, mut doomed) = (BTreeSet::new(), BTreeSet::new(), Vec::new());
    for i in 0..30 {
        let name = format!("agent{i}");
        let id = env.connect.insert_user(
            INSTANCE,
            sim::connect::SimUser {
                username: name.clone(),
                ..Default::default()
            },
        );
        let mut qc = user_quick_connect(&format!("To {name}"), &id);
        qc.last_modified = an_hour_ago;
        let qc = env.connect.insert_quick_connect(INSTANCE, qc);
        if i < 20 {
            doomed.push(id);
            dangling.insert(qc);
        } else {
            live.insert(qc);
        }
    }
    assert!(env.connect.wait_settled(Duration::from_secs(10)).await);
    for id in &doomed {
        assert!(env.connect.remove_user(INSTANCE, id));
    }
    let deletes = |env: &Env| {
        env.connect
            .calls()
            .into_iter()
            .filter(|c| c.operation == "DeleteQuickConnect")
            .count()
    };
    let dangling_status = |o: &ConnectInstance| {
        o.status
            .as_ref()
            .and_then(|s| s.dangling_quick_connects.clone())
    };

    create_ci(
        &env,
        &format!(
            "{}  danglingQuickConnects: Report\n  danglingCheckInterval: 1s\n",
            instance_a()
        ),
    )
    .await;
    let reported = wait_ci(&env, "a", "20 dangling quick connects in status", |o| {
        dangling_status(o).is_some_and(|d| d.count == 20)
    })
    .await;
    let d = dangling_status(&reported).unwrap();
    assert_eq!(d.sample.len(), 5, "{d:#?}");
    assert!(
        d.sample
            .iter()
            .all(|s| dangling.contains(&s.id) && doomed.contains(&s.missing_user_id)),
        "{d:#?}"
    );
    assert_eq!(d.deleted, 0);
    assert!(
        is_ready(&reported.status),
        "the reconcile's status is intact"
    );
    env.wait_event("a", "DanglingQuickConnects").await;
    let warnings = async || -> Vec<_> {
        let mut w: Vec<_> = env
            .events("a")
            .await
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("DanglingQuickConnects"))
            .collect();
        w.sort_by_key(|e| e.event_time.clone().map(|t| t.0));
        w
    };
    // One Event per set seen (the set grows while ghosts of the deleted users fade), never a
    // repeat of one set.
    // Events are published after the status write that describes them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let seen = loop {
        let seen = warnings().await;
        let of_twenty = seen
            .last()
            .and_then(|e| e.note.as_deref())
            .is_some_and(|n| n.starts_with("20 USER quick connect(s) point at users"));
        if of_twenty {
            break seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Warning of the twenty: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(seen.iter().all(|e| e.series.is_none()), "{seen:#?}");
    // Two more sweeps of the same set: no new Warning.
    let mut last = d.last_sweep.clone();
    for _ in 0..2 {
        let o = wait_ci(&env, "a", "another sweep", |o| {
            dangling_status(o).is_some_and(|d| d.last_sweep != last)
        })
        .await;
        last = dangling_status(&o).unwrap().last_sweep;
    }
    let after = warnings().await;
    assert_eq!(
        after.len(),
        seen.len(),
        "not repeated each tick: {after:#?}"
    );
    assert!(after.iter().all(|e| e.series.is_none()), "{after:#?}");
    assert_eq!(deletes(&env), 0, "Report deletes nothing");
    assert_eq!(env.connect.quick_connects(INSTANCE).len(), 30);

    connect_instances(&env)
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"danglingQuickConnects": "Delete"}})),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left: BTreeSet<String> = env
            .connect
            .quick_connects(INSTANCE)
            .into_iter()
            .map(|q| q.id)
            .collect();
        if left == live {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "quick connects left: {left:?}; live: {live:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_ci(&env, "a", "no dangling quick connect left", |o| {
        dangling_status(o).is_some_and(|d| d.count == 0 && d.sample.is_empty())
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let named = loop {
        let named: BTreeSet<String> = env
            .events("a")
            .await
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("DanglingQuickConnectDeleted"))
            .filter_map(|e| {
                let note = e.note?;
                dangling
                    .iter()
                    .find(|id| note.contains(id.as_str()))
                    .cloned()
            })
            .collect();
        if named.len() == 20 || tokio::time::Instant::now() > deadline {
            break named;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(named, dangling, "one Event per deleted quick connect");
    assert_eq!(deletes(&env), 20, "exactly the twenty were deleted");

    // Deleting the object stops its sweep. Another object sweeping another instance is the
    // clock: once it has swept three times after a's last listing, a's sweep has stopped.
    const OTHER: &str = "cccccccc-2222-3333-4444-555555555555";
    env.connect
        .seed_instance(sim::connect::InstanceSeed::standard(OTHER));
    create_ci(
        &env,
        &format!(
            "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: clock, namespace: {NS}}}\nspec:\n  instanceId: {OTHER}\n  region: {REGION}\n  danglingCheckInterval: 1s\n"
        ),
    )
    .await;
    connect_instances(&env)
        .delete("a", &DeleteParams::default())
        .await
        .unwrap();
    wait_ci(&env, "clock", "swept", |o| dangling_status(o).is_some()).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while connect_instances(&env)
        .get_opt("a")
        .await
        .unwrap()
        .is_some()
    {
        assert!(tokio::time::Instant::now() < deadline, "a is not deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listings_of = |env: &Env, instance: &str| {
        env.connect
            .calls()
            .into_iter()
            .filter(|c| {
                c.operation == "SearchQuickConnects" && c.instance_id.as_deref() == Some(instance)
            })
            .count()
    };
    // A tick in flight when a went may finish; one sweep of the clock later, none is.
    let swept_after = async |last: Option<String>| {
        let o = wait_ci(&env, "clock", "another sweep", |o| {
            dangling_status(o).is_some_and(|d| d.last_sweep != last)
        })
        .await;
        dangling_status(&o).unwrap().last_sweep
    };
    let mut last = swept_after(None).await;
    let baseline = listings_of(&env, INSTANCE);
    for _ in 0..3 {
        last = swept_after(last).await;
    }
    let since = listings_of(&env, INSTANCE) - baseline;
    assert_eq!(
        since, 0,
        "a's sweep still lists its instance after a was deleted"
    );
}
