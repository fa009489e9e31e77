//! The runtime: one Controller for every watched namespace (`--concurrency` is the operator's
//! limit, not a per-namespace one; a namespace listed twice is watched once), the adoption check
//! reading other ConnectUsers from the watch's store (no list of its own), and per-resource
//! bookkeeping forgotten when a resource goes away.

mod common;

use std::time::Duration;

use common::operator::Cluster;
use common::*;
use connect_user_operator::crd::ConnectUser;
use sim::connect::{Fault, FaultKind, InstanceSeed, SimUser};

const LATENCY: Duration = Duration::from_millis(500);

/// `manifest`, but for metadata.name `name` managing Connect username `username`.
fn named(name: &str, username: &str, extra: &str) -> String {
    manifest(name, extra).replace(
        &format!("username: {name}\n"),
        &format!("username: {username}\n"),
    )
}

async fn wait_cluster(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(&ConnectUser) -> bool,
) -> ConnectUser {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(cu) = cluster.api(ns).get_opt(name).await.unwrap()
            && check(&cu)
        {
            return cu;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{ns}/{name}: timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn in_sync(cu: &ConnectUser) -> bool {
    ready(cu).is_some_and(|(s, _)| s == "True")
        && cu.status.as_ref().and_then(|s| s.observed_generation) == cu.metadata.generation
}

/// Two namespaces, `--concurrency 1`: the two resources' passes never overlap. Each CreateUser
/// answers `LATENCY` late, and a pass ends only after its CreateUser answered, so with one
/// Controller the two answers are at least `LATENCY` apart (with a Controller per namespace both
/// passes run at once and the answers come together).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_controller_serves_every_namespace_and_concurrency_applies_once() {
    let cluster = Cluster::start(&["team-a", "team-b"]).await;
    cluster
        .connect
        .add_fault(Fault::on("CreateUser", FaultKind::Latency(LATENCY)));
    let _op = cluster.spawn(
        "one-controller",
        &["--namespace", "team-a,team-b,team-a", "--concurrency", "1"],
        &[],
    );
    cluster.create("team-a", "alice", "").await;
    cluster.create("team-b", "bob", "").await;
    let alice = wait_cluster(&cluster, "team-a", "alice", "Ready", in_sync).await;
    wait_cluster(&cluster, "team-b", "bob", "Ready", in_sync).await;

    let mut answered: Vec<_> = cluster
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateUser" && c.status == 200)
        .map(|c| c.at)
        .collect();
    answered.sort();
    assert_eq!(answered.len(), 2, "one CreateUser per resource");
    let gap = answered[1].duration_since(answered[0]).unwrap();
    assert!(
        gap >= LATENCY,
        "the passes overlapped: CreateUser answers {gap:?} apart"
    );

    // Another resource, in the other namespace, for a username the first one manages: even
    // asking to adopt it gets Conflict naming the owner, which the operator found in its store.
    cluster
        .api("team-b")
        .create(
            &Default::default(),
            &serde_yaml::from_str(&named("alice-again", "alice", "  adoptExisting: true\n"))
                .unwrap(),
        )
        .await
        .unwrap();
    let loser = wait_cluster(&cluster, "team-b", "alice-again", "Conflict", |cu| {
        reason(cu) == "Conflict"
    })
    .await;
    let message = loser
        .status
        .as_ref()
        .and_then(|s| s.condition("Ready"))
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("team-a/alice"), "{message}");
    assert_eq!(
        cluster
            .connect
            .users(INSTANCE)
            .iter()
            .filter(|u| u.username == "alice")
            .map(|u| u.id.clone())
            .collect::<Vec<_>>(),
        [Env::user_id(&alice)],
        "the user stays alice's"
    );

    // The operator listed ConnectUsers only to start its watches: once per namespace, the
    // namespace given twice included, and never to look for an owner.
    let lists: Vec<_> = cluster
        .operator_requests()
        .into_iter()
        .filter(|r| r.resource == "connectusers" && r.verb == "list")
        .map(|r| r.namespace.unwrap_or_default())
        .collect();
    assert_eq!(lists.len(), 2, "{lists:?}");
    assert!(lists.contains(&"team-a".to_string()) && lists.contains(&"team-b".to_string()));
    let watches = |ns: &str| {
        cluster
            .operator_requests()
            .iter()
            .filter(|r| r.resource == "connectusers" && r.verb == "watch")
            .filter(|r| r.namespace.as_deref() == Some(ns))
            .count()
    };
    assert!(watches("team-a") >= 1 && watches("team-b") >= 1);
}

/// The three maps kept per resource (backoff, last full describe, Event series) and the
/// ConnectUsers gauge (all Ready states).
fn tracked(env: &Env) -> (usize, usize, usize, i64) {
    let (failures, described, events) = env.ctx.tracked_resources();
    let gauge: i64 = env
        .ctx
        .metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("connect_user_operator_resources{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok())
        .sum();
    (failures, described, events, gauge)
}

async fn wait_tracked(env: &Env, what: &str, check: impl Fn((usize, usize, usize, i64)) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check(tracked(env)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: (failures, described, events, gauge) = {:?}",
            tracked(env)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_kept_per_resource_goes_with_the_resource() {
    let env = Env::start_with(Options {
        resync: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let names: Vec<String> = (0..4).map(|i| format!("agent-{i}")).collect();
    for n in &names {
        env.create(&manifest(n, "")).await.unwrap();
    }
    // One that keeps failing (its username is a Connect user it does not own) has a backoff.
    let seed = InstanceSeed::standard(INSTANCE);
    env.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "taken".into(),
            routing_profile_id: seed.routing_profiles[0].0.clone(),
            security_profile_ids: vec![seed.security_profiles[0].0.clone()],
            ..Default::default()
        },
    );
    env.create(&manifest("taken", "")).await.unwrap();
    for n in &names {
        env.wait_ready(n).await;
    }
    env.wait_reason("taken", "UserExists").await;
    // A resync of an in-sync user notes when it was last fully described.
    wait_tracked(&env, "bookkeeping for every resource", |(f, d, e, g)| {
        let all = names.len() + 1;
        f == 1 && d == names.len() && e == all && g == all as i64
    })
    .await;

    for n in names.iter().chain([&"taken".to_string()]) {
        env.delete(n).await;
    }
    for n in names.iter().chain([&"taken".to_string()]) {
        env.wait_gone(n).await;
    }
    wait_tracked(&env, "nothing kept for deleted resources", |t| {
        t == (0, 0, 0, 0)
    })
    .await;
}
