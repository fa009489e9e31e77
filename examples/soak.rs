//! Soak: random creates, updates and deletes of ConnectUsers (and console-made quick connects)
//! for a while, with Connect and Kubernetes API faults on and Connect eventually consistent (the
//! emulator's model, scaled); then faults off, wait for convergence, and compare Connect's
//! authoritative state (not its lagging read path) with the desired state exactly. Prints
//! counts; exits non-zero on any difference.
//!
//!     cargo run --release --example soak -- --seconds 300 --pool 60

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clap::Parser;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use rand::Rng;
use serde_json::json;
use sim::connect::{Fault, FaultKind, InstanceSeed, Quota, SimQuickConnect};
use support::Bed;

#[path = "support/mod.rs"]
mod support;

const INSTANCE: &str = "50a50a50-0000-4000-8000-000000000001";
const NS: &str = "soak";
const ROUTING: [&str; 2] = ["Basic Routing Profile", "Sales"];
const SECURITY: [&str; 4] = ["Agent", "Admin", "CallCenterManager", "QualityAnalyst"];

#[derive(Parser, Debug)]
struct Args {
    /// How long to run random operations with faults on.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// Resource names drawn from (agent-000 .. agent-POOL).
    #[arg(long, default_value_t = 40)]
    pool: usize,
    /// Random operations per second.
    #[arg(long, default_value_t = 5.0)]
    ops_per_sec: f64,
    /// Share of Connect calls answered 429 / 500 while faults are on.
    #[arg(long, default_value_t = 0.3)]
    throttle_rate: f64,
    #[arg(long, default_value_t = 0.05)]
    error_rate: f64,
    /// Connect seconds per real second in the emulator's consistency model (its 5-minute
    /// maximum delay lasts 300/scale s); 0 turns the model off.
    #[arg(long, default_value_t = 300.0)]
    consistency_scale: f64,
    /// The operator's --settle-window; above the emulator's longest delay.
    #[arg(long, default_value = "2s")]
    settle_window: String,
}

type SoakResult<T> = support::AnyResult<T>;

#[derive(Default, Debug)]
struct Counts {
    creates: usize,
    updates: usize,
    deletes: usize,
    quick_connects_added: usize,
    kube_faults: usize,
}

fn main() -> SoakResult<()> {
    if let Some(operator) = support::run_if_operator() {
        return operator;
    }
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(soak(args))
}

fn spec(rng: &mut impl Rng, i: usize) -> serde_json::Value {
    let profiles: Vec<_> = SECURITY
        .iter()
        .filter(|_| rng.random_bool(0.4))
        .map(|n| json!({"name": n}))
        .collect();
    let profiles = if profiles.is_empty() {
        vec![json!({"name": "Agent"})]
    } else {
        profiles
    };
    json!({
        "instanceId": INSTANCE,
        "username": format!("agent{i:03}"),
        "passwordSecretRef": {"name": "pw", "key": "p"},
        "identityInfo": {"firstName": format!("First{}", rng.random_range(0..1000)), "lastName": "Soak",
                         "email": format!("agent{i:03}@example.com")},
        "securityProfiles": profiles,
        "routingProfile": {"name": ROUTING[rng.random_range(0..ROUTING.len())]},
        "tags": {"rev": rng.random_range(0..1000).to_string()},
    })
}

async fn soak(args: Args) -> SoakResult<()> {
    let bed = Bed::start(
        INSTANCE,
        NS,
        Some(Quota {
            rate_per_sec: 20.0,
            burst: 10,
        }),
        support::consistency(args.consistency_scale),
    )
    .await?;
    let (kube, connect, client) = (&bed.kube, &bed.connect, bed.client.clone());
    let seed = InstanceSeed::standard(INSTANCE);
    let flow = seed.contact_flows[0].0.clone();
    let names: BTreeMap<String, String> = seed
        .routing_profiles
        .iter()
        .chain(&seed.security_profiles)
        .map(|(id, name)| (id.clone(), name.clone()))
        .collect();
    let mut operator = bed.spawn_operator(
        &[
            "--resync-period",
            "20s",
            "--connect-rate",
            "20",
            "--connect-burst",
            "10",
            "--settle-window",
            &args.settle_window,
        ]
        .map(String::from),
    )?;

    connect.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: args.throttle_rate,
        status: 429,
    }));
    connect.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: args.error_rate,
        status: 500,
    }));
    let api: Api<ConnectUser> = Api::namespaced(client.clone(), NS);
    let mut rng = rand::rng();
    let mut counts = Counts::default();
    let t0 = Instant::now();
    let pause = Duration::from_secs_f64(1.0 / args.ops_per_sec);
    let mut last_kube_fault = Instant::now();
    eprintln!(
        "soak: {} s of random operations on {} names, Connect faults 429 {:.0} % / 500 {:.0} %, consistency scale {} (longest delay {:.1} s), settle window {}",
        args.seconds,
        args.pool,
        args.throttle_rate * 100.0,
        args.error_rate * 100.0,
        args.consistency_scale,
        if args.consistency_scale > 0.0 {
            300.0 / args.consistency_scale
        } else {
            0.0
        },
        args.settle_window
    );
    while t0.elapsed() < Duration::from_secs(args.seconds) {
        let i = rng.random_range(0..args.pool);
        let name = format!("agent-{i:03}");
        match api.get_opt(&name).await {
            Ok(None) => {
                let cu: ConnectUser = serde_json::from_value(json!({
                    "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
                    "metadata": {"name": name}, "spec": spec(&mut rng, i)}))?;
                if api.create(&PostParams::default(), &cu).await.is_ok() {
                    counts.creates += 1;
                }
            }
            Ok(Some(cu)) if cu.metadata.deletion_timestamp.is_none() => {
                let roll: f64 = rng.random();
                if roll < 0.55 {
                    let patch = Patch::Merge(json!({"spec": spec(&mut rng, i)}));
                    if api
                        .patch(&name, &PatchParams::default(), &patch)
                        .await
                        .is_ok()
                    {
                        counts.updates += 1;
                    }
                } else if roll < 0.8 {
                    if let Some(user_id) = cu.status.and_then(|s| s.user_id) {
                        connect.insert_quick_connect(
                            INSTANCE,
                            SimQuickConnect {
                                name: format!("{name} transfer {}", rng.random_range(0..1_000_000)),
                                quick_connect_type: "USER".into(),
                                user_id: Some(user_id),
                                contact_flow_id: Some(flow.clone()),
                                ..Default::default()
                            },
                        );
                        counts.quick_connects_added += 1;
                    }
                } else if api.delete(&name, &DeleteParams::default()).await.is_ok() {
                    counts.deletes += 1;
                }
            }
            _ => {}
        }
        if last_kube_fault.elapsed() > Duration::from_secs(7) {
            last_kube_fault = Instant::now();
            match rng.random_range(0..3) {
                0 => kube.drop_watches(),
                1 => kube.fail_next("PATCH", "/status", 3, 409),
                _ => kube.fail_next("*", "", 20, 503),
            }
            counts.kube_faults += 1;
        }
        tokio::time::sleep(pause).await;
    }
    connect.clear_faults();
    kube.clear_faults();
    let faulted = connect.calls();
    eprintln!(
        "soak: faults off after {:.0} s; converging",
        t0.elapsed().as_secs_f64()
    );

    // Converged: every resource Ready at its generation, none still deleting.
    let t1 = Instant::now();
    loop {
        let list = api.list(&ListParams::default()).await?;
        let pending = list
            .items
            .iter()
            .filter(|cu| {
                cu.metadata.deletion_timestamp.is_some()
                    || cu.status.as_ref().is_none_or(|s| {
                        s.observed_generation != cu.metadata.generation
                            || s.condition("Ready").is_none_or(|c| c.status != "True")
                    })
            })
            .count();
        if pending == 0 {
            break;
        }
        if t1.elapsed() > Duration::from_secs(600) {
            return Err(format!("{pending} resources not converged after 600 s").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let converge_s = t1.elapsed().as_secs_f64();

    // Connect must equal the desired state exactly: its authoritative state, which `users` and
    // `quick_connects` read, not what its lagging API would show.
    let mut problems = Vec::new();
    let resources = api.list(&ListParams::default()).await?.items;
    let users = connect.users(INSTANCE);
    let mut by_name: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for u in &users {
        by_name.entry(u.username.as_str()).or_default().push(u);
    }
    let wanted: BTreeSet<&str> = resources
        .iter()
        .map(|cu| cu.spec.username.as_str())
        .collect();
    for (username, us) in &by_name {
        if !wanted.contains(username) {
            problems.push(format!("user {username} has no resource (leaked)"));
        }
        if us.len() > 1 {
            problems.push(format!("{} users named {username}", us.len()));
        }
    }
    for cu in &resources {
        let Some(u) = by_name
            .get(cu.spec.username.as_str())
            .and_then(|v| v.first())
        else {
            problems.push(format!("{}: no Connect user", cu.name_any()));
            continue;
        };
        let s = &cu.spec;
        let uid = cu.metadata.uid.clone().unwrap_or_default();
        let first = u.identity_info.as_ref().and_then(|i| i.first_name.clone());
        let want_first = s.identity_info.as_ref().and_then(|i| i.first_name.clone());
        let routing = names.get(&u.routing_profile_id).cloned();
        let want_routing = s.routing_profile.name.clone();
        let security: BTreeSet<String> = u
            .security_profile_ids
            .iter()
            .filter_map(|id| names.get(id).cloned())
            .collect();
        let want_security: BTreeSet<String> = s
            .security_profiles
            .iter()
            .filter_map(|p| p.name.clone())
            .collect();
        let mut want_tags = s.tags.clone();
        want_tags.insert(OWNER_TAG.to_string(), uid);
        let tags: BTreeMap<String, String> = u.tags.clone().into_iter().collect();
        let want_tags: BTreeMap<String, String> = want_tags.into_iter().collect();
        if first != want_first
            || routing != want_routing
            || security != want_security
            || tags != want_tags
        {
            problems.push(format!(
                "{}: Connect differs from spec: first {first:?}/{want_first:?} routing {routing:?}/{want_routing:?} security {security:?}/{want_security:?} tags {tags:?}/{want_tags:?}",
                cu.name_any()
            ));
        }
    }
    let live: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let dangling = connect
        .quick_connects(INSTANCE)
        .iter()
        .filter(|q| q.user_id.as_deref().is_some_and(|id| !live.contains(id)))
        .count();
    if dangling > 0 {
        problems.push(format!("{dangling} quick connects point at deleted users"));
    }
    let _ = operator.kill();
    let _ = operator.wait();
    let stale = connect.stale_reads_by_operation();

    let mut by_op: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for c in &faulted {
        *by_op.entry((c.operation.clone(), c.status)).or_default() += 1;
    }
    println!(
        "\nsoak: {} s with faults, {} names, {:?}",
        args.seconds, args.pool, counts
    );
    println!(
        "Connect calls while faulted: {} ({} answered 429, {} answered 500)",
        faulted.len(),
        faulted.iter().filter(|c| c.status == 429).count(),
        faulted.iter().filter(|c| c.status == 500).count()
    );
    for ((op, status), n) in &by_op {
        println!("  {op:<28} {status}  {n}");
    }
    println!(
        "stale reads served (consistency model): {} {stale:?}",
        stale.values().sum::<u64>()
    );
    println!(
        "converged {converge_s:.1} s after faults stopped: {} resources, {} Connect users, {} quick connects left, {} dangling",
        resources.len(),
        users.len(),
        connect.quick_connects(INSTANCE).len(),
        dangling
    );
    if problems.is_empty() {
        println!("Connect state equals the desired state exactly");
        Ok(())
    } else {
        for p in &problems {
            println!("MISMATCH {p}");
        }
        Err(format!("{} mismatches", problems.len()).into())
    }
}
