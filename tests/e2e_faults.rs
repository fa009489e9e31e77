//! Fault storms: Amazon Connect answering 429 and 500 to a large share of calls, and the
//! Kubernetes API answering 409, 410, 503 or dropping watch streams, while resources are created,
//! updated and deleted. The operator must converge once the faults clear, without a restart,
//! without a second Connect user, without releasing a finalizer early, without reporting
//! throttling as a failure, and without any Connect write beyond idempotent retries.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;
use sim::connect::{CallRecord, ConnectSim, Fault, FaultKind, InstanceSeed, SimQuickConnect};

fn qc(name: &str, user_id: &str) -> SimQuickConnect {
    SimQuickConnect {
        name: name.into(),
        quick_connect_type: "USER".into(),
        user_id: Some(user_id.into()),
        contact_flow_id: Some(InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone()),
        ..Default::default()
    }
}

fn routing_id(name: &str) -> String {
    InstanceSeed::standard(INSTANCE)
        .routing_profiles
        .iter()
        .find(|(_, n)| n == name)
        .unwrap()
        .0
        .clone()
}

/// What the observer last saw of a resource.
#[derive(Clone, Debug)]
struct Seen {
    uid: String,
    username: String,
    user_id: Option<String>,
}

/// Watches the resources and Connect side by side until stopped, and records every violation of
/// the invariants that must hold at every instant, not only at the end.
struct Observer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(Vec<String>, usize)>,
}

impl Observer {
    fn start(api: Api<ConnectUser>, connect: ConnectSim) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut violations = Vec::new();
            let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
            let mut gone_checked = 0;
            loop {
                // One more look after the stop: the last deletion may have finished just now.
                let stopping = flag.load(Ordering::SeqCst);
                let Ok(list) = api.list(&ListParams::default()).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let mut present = BTreeSet::new();
                for cu in &list.items {
                    let name = cu.name_any();
                    present.insert(name.clone());
                    if let Some((status, reason)) = ready(cu)
                        && reason == "Throttled"
                    {
                        violations.push(format!("{name}: Ready={status} reason Throttled"));
                    }
                    let entry = seen.entry(name).or_insert_with(|| Seen {
                        uid: cu.uid().unwrap(),
                        username: cu.spec.username.clone(),
                        user_id: None,
                    });
                    if let Some(id) = cu.status.as_ref().and_then(|s| s.user_id.clone()) {
                        entry.user_id = Some(id);
                    }
                }
                // Listed first, Connect read second: a resource absent from the list had its
                // finalizer released before this read, so its cleanup must be complete.
                let users = connect.users(INSTANCE);
                let qcs = connect.quick_connects(INSTANCE);
                let vanished: Vec<String> = seen
                    .keys()
                    .filter(|n| !present.contains(*n))
                    .cloned()
                    .collect();
                for name in vanished {
                    let s = seen.remove(&name).unwrap();
                    gone_checked += 1;
                    let left: Vec<&str> = users
                        .iter()
                        .filter(|u| {
                            Some(&u.id) == s.user_id.as_ref()
                                || (u.username == s.username
                                    && u.tags.get(OWNER_TAG) == Some(&s.uid))
                        })
                        .map(|u| u.id.as_str())
                        .collect();
                    if !left.is_empty() {
                        violations.push(format!("{name} released with user {left:?} left"));
                    }
                    let ids: BTreeSet<&str> =
                        left.iter().copied().chain(s.user_id.as_deref()).collect();
                    let dangling: Vec<&str> = qcs
                        .iter()
                        .filter(|q| q.user_id.as_deref().is_some_and(|u| ids.contains(u)))
                        .map(|q| q.name.as_str())
                        .collect();
                    if !dangling.is_empty() {
                        violations.push(format!(
                            "{name} released with quick connects {dangling:?} left"
                        ));
                    }
                }
                let mut per_name: BTreeMap<&str, usize> = BTreeMap::new();
                for u in &users {
                    *per_name.entry(u.username.as_str()).or_default() += 1;
                }
                for (n, count) in per_name.into_iter().filter(|(_, c)| *c > 1) {
                    violations.push(format!("{count} Connect users named {n}"));
                }
                if stopping {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (violations, gone_checked)
        });
        Observer { stop, task }
    }

    async fn finish(self) -> (Vec<String>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap()
    }
}

/// Connect calls answered `status`.
fn faulted(calls: &[CallRecord], status: u16) -> usize {
    calls.iter().filter(|c| c.status == status).count()
}

/// Waits (with a deadline) until the Connect calls so far satisfy `met`.
async fn storm_until(env: &Env, what: &str, met: impl Fn(&[CallRecord]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !met(&env.connect.calls()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the storm did not meet the work: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The operator's watches of ConnectUsers opened so far (answered 200).
fn watches_opened(env: &Env) -> usize {
    env.kube
        .requests()
        .iter()
        .filter(|r| r.resource == "connectusers" && r.verb == "watch" && r.status == 200)
        .count()
}

/// Waits (with a deadline) until the Kubernetes API has served requests satisfying `met`.
async fn kube_until(env: &Env, what: &str, met: impl Fn(&[sim::kube::RequestRecord]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !met(&env.kube.requests()) {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn converged(env: &Env, name: &str, what: &str, check: impl Fn(&ConnectUser) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Some(cu)) = env.api().get_opt(name).await
            && ready(&cu).is_some_and(|(s, _)| s == "True")
            && cu.status.as_ref().and_then(|s| s.observed_generation) == cu.metadata.generation
            && check(&cu)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} did not converge: {what}; now {:?}",
            env.api()
                .get_opt(name)
                .await
                .ok()
                .flatten()
                .map(|c| c.status)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn gone(env: &Env, name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while env.api().get_opt(name).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} still exists"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn merge(env: &Env, name: &str, spec: serde_json::Value) {
    env.api()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
        .unwrap();
}

fn sim_user(env: &Env, name: &str) -> sim::connect::SimUser {
    let mut users: Vec<_> = env
        .connect
        .users(INSTANCE)
        .into_iter()
        .filter(|u| u.username == name)
        .collect();
    assert_eq!(users.len(), 1, "exactly one Connect user named {name}");
    users.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_fault_storm_converges_without_leaks_or_duplicates() {
    let env = Env::start().await;
    // Before the storm: five users, three of them with quick connects.
    for name in ["keep-a", "keep-b", "keep-c", "del-a", "del-b"] {
        env.create(&manifest(name, "")).await.unwrap();
    }
    let mut ids = BTreeMap::new();
    for name in ["keep-a", "keep-b", "keep-c", "del-a", "del-b"] {
        ids.insert(name, Env::user_id(&env.wait_ready(name).await));
    }
    for (owner, n) in [("keep-a", 1), ("del-a", 3), ("del-b", 2)] {
        for i in 0..n {
            env.connect
                .insert_quick_connect(INSTANCE, qc(&format!("to-{owner}-{i}"), &ids[owner]));
        }
    }
    let observer = Observer::start(env.api(), env.connect.clone());
    env.connect.clear_calls();

    // The storm: the first eleven calls refused for certain (ten 429s, then a 500), so the
    // storm meets the work however the dice fall; then half of all calls throttled, a tenth
    // failing with 500 (0.5 x 0.2 of the rest).
    for n in 1..=10 {
        env.connect
            .add_fault(Fault::all(FaultKind::FailNth { n, status: 429 }));
    }
    env.connect
        .add_fault(Fault::all(FaultKind::FailNth { n: 11, status: 500 }));
    env.connect.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: 0.5,
        status: 429,
    }));
    env.connect.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: 0.2,
        status: 500,
    }));
    for name in ["new-a", "new-b", "new-c", "new-gone"] {
        env.create(&manifest(name, "")).await.unwrap();
    }
    merge(
        &env,
        "keep-a",
        json!({"identityInfo": {"firstName": "Storm"}}),
    )
    .await;
    merge(&env, "keep-b", json!({"tags": {"team": "storm"}})).await;
    merge(&env, "keep-c", json!({"routingProfile": {"name": "Sales"}})).await;
    env.delete("del-a").await;
    env.delete("del-b").await;
    // The storm lasts until it has met the work, not for a fixed time: first the work above
    // (the first eleven calls),
    storm_until(&env, "10 answered 429 and one 500", |calls| {
        faulted(calls, 429) >= 10 && faulted(calls, 500) >= 1
    })
    .await;
    // then changes made in the middle of it, until it has refused ten more calls (or their work
    // is done under it: one resource's update and another's deletion may need fewer).
    let before = env.connect.calls().len();
    merge(&env, "new-b", json!({"identityInfo": {"lastName": "Late"}})).await;
    env.delete("new-gone").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let calls = env.connect.calls();
        let more = calls.get(before..).unwrap_or_default();
        if faulted(more, 429) + faulted(more, 500) >= 10 {
            break;
        }
        let late = env.connect.users(INSTANCE).iter().any(|u| {
            u.username == "new-b"
                && u.identity_info
                    .as_ref()
                    .and_then(|i| i.last_name.as_deref())
                    == Some("Late")
        });
        if late && env.api().get_opt("new-gone").await.ok().flatten().is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mid-storm changes met no storm and did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.connect.clear_faults();

    converged(&env, "keep-a", "firstName", |_| {
        sim_user(&env, "keep-a")
            .identity_info
            .and_then(|i| i.first_name)
            .as_deref()
            == Some("Storm")
    })
    .await;
    converged(&env, "keep-b", "tag", |_| {
        sim_user(&env, "keep-b")
            .tags
            .get("team")
            .map(String::as_str)
            == Some("storm")
    })
    .await;
    converged(&env, "keep-c", "routing profile", |_| {
        sim_user(&env, "keep-c").routing_profile_id == routing_id("Sales")
    })
    .await;
    converged(&env, "new-a", "created", |_| true).await;
    converged(&env, "new-b", "lastName", |_| {
        sim_user(&env, "new-b")
            .identity_info
            .and_then(|i| i.last_name)
            .as_deref()
            == Some("Late")
    })
    .await;
    converged(&env, "new-c", "created", |_| true).await;
    for name in ["del-a", "del-b", "new-gone"] {
        gone(&env, name).await;
    }
    let (violations, gone_checked) = observer.finish().await;
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(gone_checked, 3, "the observer saw each deletion complete");

    // The storm really happened.
    let calls = env.connect.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    let failed = calls.iter().filter(|c| c.status == 500).count();
    eprintln!(
        "storm: {} Connect calls, {throttled} answered 429, {failed} answered 500",
        calls.len()
    );
    assert!(
        throttled >= 10 && failed > 0,
        "429: {throttled}, 500: {failed}"
    );

    // Exactly one Connect user per resource, owned by it; nothing else left.
    let remaining = ["keep-a", "keep-b", "keep-c", "new-a", "new-b", "new-c"];
    for name in remaining {
        let cu = env.api().get(name).await.unwrap();
        let user = sim_user(&env, name);
        assert_eq!(user.tags.get(OWNER_TAG), cu.uid().as_ref(), "{name}");
        assert_eq!(Some(user.id), cu.status.unwrap().user_id, "{name}");
    }
    let mut usernames: Vec<String> = env
        .connect
        .users(INSTANCE)
        .into_iter()
        .map(|u| u.username)
        .collect();
    usernames.sort();
    assert_eq!(usernames, remaining.map(String::from).to_vec());
    let qcs: Vec<String> = env
        .connect
        .quick_connects(INSTANCE)
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(
        qcs,
        vec!["to-keep-a-0".to_string()],
        "only unrelated ones remain"
    );
    // A user was created at most once per resource, even though CreateUser calls failed.
    let created = calls
        .iter()
        .filter(|c| c.operation == "CreateUser" && c.status == 200)
        .count();
    assert!(created <= 4, "{created} successful CreateUser calls");
    for name in remaining.iter().chain(&["del-a", "del-b", "new-gone"]) {
        assert!(
            !env.event_reasons(name)
                .await
                .iter()
                .any(|r| r == "Throttled"),
            "{name}: throttling reported as an Event"
        );
    }
}

/// The Connect write calls, by operation, that answered 200.
fn successful_writes(env: &Env) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for c in env.writes().into_iter().filter(|c| c.status == 200) {
        *m.entry(c.operation).or_default() += 1;
    }
    m
}

fn attempted_writes(env: &Env) -> usize {
    env.writes().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_api_faults_are_survived_without_extra_connect_writes() {
    let env = Env::start().await;
    for name in ["alice", "bob", "carol"] {
        env.create(&manifest(name, "")).await.unwrap();
    }
    for name in ["alice", "bob", "carol"] {
        env.wait_ready(name).await;
    }
    env.connect.clear_calls();
    env.kube.clear_requests();

    // 1. 409 Conflict on the next status writes, while a spec change is applied.
    env.kube.fail_next("PATCH", "/status", 3, 409);
    merge(
        &env,
        "alice",
        json!({"identityInfo": {"firstName": "A409"}}),
    )
    .await;
    converged(&env, "alice", "firstName after 409s", |cu| {
        cu.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    let conflicts = env
        .kube
        .requests()
        .iter()
        .filter(|r| r.subresource.as_deref() == Some("status") && r.status == 409)
        .count();
    assert_eq!(conflicts, 3, "the injected conflicts were served");

    // 2. Watches end abruptly, then the history they would resume from is compacted away, so
    // resuming answers 410 Gone and the watcher must relist.
    env.kube.set_event_window(1);
    env.kube.compact();
    env.kube.drop_watches();
    merge(&env, "bob", json!({"identityInfo": {"firstName": "B410"}})).await;
    env.create(&manifest("dave", "")).await.unwrap();
    converged(&env, "bob", "after 410", |cu| {
        cu.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    converged(&env, "dave", "created after 410", |_| true).await;
    env.kube.set_event_window(10_000);

    // 3. Watch streams dropped repeatedly while specs change, each drop once the watch is
    // open again.
    for i in 0..3 {
        let opened = watches_opened(&env);
        env.kube.drop_watches();
        merge(
            &env,
            "carol",
            json!({"identityInfo": {"firstName": format!("C{i}")}}),
        )
        .await;
        kube_until(&env, "the watch opened again", |_| {
            watches_opened(&env) > opened
        })
        .await;
    }
    converged(&env, "carol", "after dropped watches", |cu| {
        cu.status.as_ref().and_then(|s| s.observed_generation) == Some(4)
    })
    .await;

    // 4. The apiserver answers 503 to everything for a few seconds (the watches included, once
    // dropped), right after a spec change and a deletion.
    merge(&env, "dave", json!({"identityInfo": {"firstName": "D503"}})).await;
    env.delete("carol").await;
    env.kube.fail_next("*", "", 1_000_000, 503);
    env.kube.drop_watches();
    // The outage lasts until the watches have failed to resume twice (the watcher backs off
    // between attempts).
    kube_until(&env, "two watch attempts refused", |requests| {
        requests
            .iter()
            .filter(|r| {
                r.resource == "connectusers"
                    && (r.verb == "watch" || r.verb == "list")
                    && r.status == 503
            })
            .count()
            >= 2
    })
    .await;
    env.kube.clear_faults();
    converged(&env, "dave", "after the outage", |cu| {
        cu.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    gone(&env, "carol").await;
    let outage = env
        .kube
        .requests()
        .iter()
        .filter(|r| r.status == 503)
        .count();
    assert!(outage > 0, "the outage was felt");

    // Connect got exactly the writes the changes need: one per changed field, one CreateUser,
    // one DeleteUser; retried reconciles found nothing left to do.
    let first = |n: &str| {
        sim_user(&env, n)
            .identity_info
            .and_then(|i| i.first_name)
            .unwrap_or_default()
    };
    assert_eq!(first("alice"), "A409");
    assert_eq!(first("bob"), "B410");
    assert_eq!(first("dave"), "D503");
    assert!(
        env.connect
            .users(INSTANCE)
            .iter()
            .all(|u| u.username != "carol")
    );
    let writes = successful_writes(&env);
    eprintln!("kube faults: {outage} requests answered 503; Connect writes {writes:?}");
    let mut want = BTreeMap::new();
    want.insert("CreateUser".to_string(), 1);
    want.insert("DeleteUser".to_string(), 1);
    // alice, bob, dave once each; carol's three quick edits each (or coalesced into fewer).
    let identity = writes.get("UpdateUserIdentityInfo").copied().unwrap_or(0);
    assert!(
        (4..=6).contains(&identity),
        "UpdateUserIdentityInfo x{identity}: {writes:?}"
    );
    let mut rest = writes.clone();
    rest.remove("UpdateUserIdentityInfo");
    assert_eq!(rest, want, "no other write: {writes:?}");
    assert_eq!(
        attempted_writes(&env),
        writes.values().sum::<usize>(),
        "no failed write attempt either"
    );
}
