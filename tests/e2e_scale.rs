//! Scale behaviour, asserted by call counts (the figures are in BENCHMARKS.md): bulk drift
//! detection, a restart that costs no writes, coalesced quick-connect cleanup, and the client-side
//! rate limiter pacing every Connect operation. Whether pacing a little under the quota avoids
//! every 429 depends on network timing (the server's bucket and ours drift by the requests'
//! delays), so that is measured by the benchmark, not asserted here (BENCHMARKS.md: no 429 at
//! 1.9/s, hundreds at exactly the quota).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use connect_user_operator::connect::{ConnectSettings, Rate};
use sim::connect::{ConnectConfig, InstanceSeed, SimQuickConnect};

/// The id of a seeded catalog object by name.
fn seeded(list: fn(&InstanceSeed) -> &Vec<(String, String)>, name: &str) -> String {
    let seed = InstanceSeed::standard(INSTANCE);
    list(&seed)
        .iter()
        .find(|(_, n)| n == name)
        .expect("seeded name")
        .0
        .clone()
}

fn count(env: &Env, op: &str) -> usize {
    env.connect
        .calls()
        .iter()
        .filter(|c| c.operation == op)
        .count()
}

fn succeeded(env: &Env, op: &str) -> usize {
    env.connect
        .calls()
        .iter()
        .filter(|c| c.operation == op && c.status == 200)
        .count()
}

async fn create_ready(env: &Env, names: &[String]) {
    for n in names {
        env.create(&manifest(n, "")).await.unwrap();
    }
    for n in names {
        env.wait_ready(n).await;
    }
}

async fn wait_reconciles(env: &Env, at_least: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while env.reconciles() < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {at_least} reconciles",
            env.reconciles()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_in_sync_resources_reads_one_bulk_scan_and_writes_nothing() {
    let mut env = Env::start().await;
    let names: Vec<String> = (0..30).map(|i| format!("agent-{i:02}")).collect();
    create_ready(&env, &names).await;
    // Let the first pass after creation (the Created -> InSync check) finish.
    wait_reconciles(&env, 60).await;
    // A restart meets users that exist for a while: let the search index catch up with the
    // creations of the last second (a user it does not show yet is described, correctly).
    assert!(env.connect.wait_settled(Duration::from_secs(10)).await);

    env.connect.clear_calls();
    env.restart_fresh(ConnectSettings::default()).await;
    wait_reconciles(&env, names.len() as u64).await;

    assert!(env.writes().is_empty(), "writes: {:?}", env.write_ops());
    assert_eq!(count(&env, "DescribeUser"), 0, "no per-user describe");
    // ceil(30/500) = 1 page; the catalog is read once.
    assert_eq!(count(&env, "SearchUsers"), 1);
    for op in [
        "ListRoutingProfiles",
        "ListSecurityProfiles",
        "ListUserHierarchyGroups",
    ] {
        assert!(count(&env, op) <= 1, "{op} read {} times", count(&env, op));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_compares_every_user_with_one_scan_and_describes_only_the_drifted() {
    let env = Env::start_with(Options {
        resync: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let names: Vec<String> = (0..12).map(|i| format!("agent-{i:02}")).collect();
    create_ready(&env, &names).await;
    let drifted = Env::user_id(&env.api().get("agent-03").await.unwrap());
    env.connect.clear_calls();
    env.connect.modify_user(INSTANCE, &drifted, |u| {
        u.security_profile_ids = vec![seeded(|s| &s.security_profiles, "Admin")];
    });
    env.wait_for("agent-03", "drift corrected", |cu| {
        reason(cu) == "DriftCorrected"
    })
    .await;
    let describes: Vec<_> = env
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DescribeUser")
        .collect();
    assert!(
        describes
            .iter()
            .all(|c| c.target.as_deref() == Some(&drifted)),
        "DescribeUser only for the drifted user: {:?}",
        describes.iter().map(|c| &c.target).collect::<Vec<_>>()
    );
    assert_eq!(env.applied_write_ops(), ["UpdateUserSecurityProfiles"]);
    let scans = count(&env, "SearchUsers");
    assert!(
        (1..=3).contains(&scans),
        "one shared scan per resync, not one per user: {scans}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_in_flight_share_quick_connect_scans() {
    let env = Env::start().await;
    let names: Vec<String> = (0..10).map(|i| format!("agent-{i:02}")).collect();
    create_ready(&env, &names).await;
    let flow = InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone();
    let mut ids = Vec::new();
    for n in &names {
        ids.push(Env::user_id(&env.api().get(n).await.unwrap()));
    }
    // 250 quick connects: 20 per managed user, 50 to someone else.
    let other = env.connect.insert_user(
        INSTANCE,
        sim::connect::SimUser {
            username: "someone-else".into(),
            routing_profile_id: seeded(|s| &s.routing_profiles, "Basic Routing Profile"),
            security_profile_ids: vec![seeded(|s| &s.security_profiles, "Agent")],
            ..Default::default()
        },
    );
    for q in 0..250 {
        let target = if q < 200 { &ids[q % 10] } else { &other };
        env.connect.insert_quick_connect(
            INSTANCE,
            SimQuickConnect {
                name: format!("qc-{q:03}"),
                quick_connect_type: "USER".into(),
                user_id: Some(target.clone()),
                contact_flow_id: Some(flow.clone()),
                ..Default::default()
            },
        );
    }
    env.connect.clear_calls();
    for n in &names {
        env.delete(n).await;
    }
    for n in &names {
        env.wait_gone(n).await;
    }
    // Carried out (200): a quick connect inserted moments ago may answer NotFound to its first
    // DeleteQuickConnect (Connect's direct view lags its search index); the last listing gets it.
    assert_eq!(succeeded(&env, "DeleteUser"), 10);
    assert_eq!(succeeded(&env, "DeleteQuickConnect"), 200);
    assert_eq!(count(&env, "DescribeQuickConnect"), 0);
    // Each deletion lists twice: right after its DeleteUser, and once the settle window after it
    // has passed. One complete scan of 250 is ceil(250/100) = 3 pages. Ten deletions each
    // scanning on its own would cost 3+3+3+2+2+2+2+2+1+1 = 21 pages for the first listings (the
    // count shrinks by 20 per deletion) and 10 single pages (50 left) for the last ones: 31.
    // Shared scans serve every deletion waiting when they start.
    let pages = count(&env, "SearchQuickConnects");
    assert!(
        (4..=18).contains(&pages),
        "{pages} SearchQuickConnects pages for 10 deletions"
    );
    let left = env.connect.quick_connects(INSTANCE);
    assert_eq!(left.len(), 50);
    assert!(
        left.iter()
            .all(|q| q.user_id.as_deref() == Some(other.as_str()))
    );
}

/// The limiter's guarantee, checked where it cannot depend on timing: a call is answered after
/// it was sent, and it was sent no sooner than the limiter allowed since the operator started,
/// so the k-th call of an operation is answered at least (k - burst) / rate after `started`,
/// however slowly the machine runs. Without the limiter, the 12 CreateUser calls all go out
/// within a moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_paces_every_connect_operation() {
    let rate = Rate {
        per_second: 2.0,
        burst: 1,
    };
    let started = std::time::SystemTime::now();
    let env = Env::start_with(Options {
        connect: ConnectConfig {
            quota: None,
            ..connect_config()
        },
        settings: ConnectSettings {
            rate: Some(rate),
            // No retries: each call the emulator sees took one token.
            max_attempts: Some(1),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let names: Vec<String> = (0..12).map(|i| format!("agent-{i:02}")).collect();
    create_ready(&env, &names).await;
    let mut answered: BTreeMap<(String, String), Vec<Duration>> = BTreeMap::new();
    for c in env.connect.calls() {
        answered
            .entry((c.region.clone(), c.operation.clone()))
            .or_default()
            .push(c.at.duration_since(started).unwrap());
    }
    assert_eq!(answered[&(REGION.into(), "CreateUser".into())].len(), 12);
    for ((region, op), mut at) in answered {
        at.sort();
        for (k, t) in at.iter().enumerate() {
            let earliest = Duration::from_secs_f64(
                (k as f64 + 1.0 - f64::from(rate.burst)).max(0.0) / rate.per_second,
            );
            assert!(
                *t >= earliest,
                "{region} {op} call {} answered {t:?} after the start, before the limiter allowed ({earliest:?})",
                k + 1
            );
        }
    }
}
