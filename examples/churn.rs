//! Churn soak: many create/delete cycles of ConnectUsers, each with its own name and username
//! (as churn in a real cluster has), with Connect's quota off and its consistency model and the
//! operator's settle window scaled down so a cycle takes milliseconds, not minutes. Samples the
//! operator child's resident set (VmRSS) every `--sample-every` cycles and prints the samples and
//! the growth after `--warm-up` cycles: per-resource state that is never dropped shows as steady
//! growth. Exits non-zero if anything is left in Connect or in Kubernetes at the end.
//!
//!     cargo run --release --example churn -- --cycles 10000

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use connect_user_operator::crd::ConnectUser;
use futures::StreamExt;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;
use sim::connect::{Consistency, InstanceSeed, SimQuickConnect};
use support::Bed;

#[path = "support/mod.rs"]
mod support;

const INSTANCE: &str = "c0c0c0c0-0000-4000-8000-000000000001";
const NS: &str = "churn";

#[derive(Parser, Debug)]
struct Args {
    /// Create/delete cycles (each: create, wait until Ready, add a quick connect to the user,
    /// delete, wait until the finalizer is released and the resource gone).
    #[arg(long, default_value_t = 10_000)]
    cycles: usize,
    /// Cycles in flight at once.
    #[arg(long, default_value_t = 8)]
    parallel: usize,
    /// VmRSS sampled every this many completed cycles (and at cycle 0).
    #[arg(long, default_value_t = 1_000)]
    sample_every: usize,
    /// Growth is reported from the sample at this cycle to the last one (allocator and caches
    /// warm up before it).
    #[arg(long, default_value_t = 2_000)]
    warm_up: usize,
    /// The longest Connect takes to agree with itself in the emulator's model (real time; most
    /// delays are at most a third of it).
    #[arg(long, default_value = "30ms", value_parser = connect_user_operator::cli::parse_duration)]
    consistency_max_delay: std::time::Duration,
    /// The operator's --settle-window: above the emulator's longest delay, as in production.
    #[arg(long, default_value = "50ms")]
    settle_window: String,
    /// The operator's --resync-period (drift scans run during the soak).
    #[arg(long, default_value = "30s")]
    resync: String,
    /// Fail if VmRSS grows more than this (MiB) between `--warm-up` and the last cycle.
    #[arg(long, default_value_t = 5.0)]
    max_growth_mib: f64,
}

type ChurnResult<T> = support::AnyResult<T>;

fn main() -> ChurnResult<()> {
    if let Some(operator) = support::run_if_operator() {
        return operator;
    }
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(churn(args))
}

fn manifest(i: usize) -> ConnectUser {
    serde_json::from_value(json!({
        "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
        "metadata": {"name": format!("churn-{i:05}")},
        "spec": {"instanceId": INSTANCE, "username": format!("churn{i:05}"),
                 "passwordSecretRef": {"name": "pw", "key": "p"},
                 "identityInfo": {"firstName": "Churn", "lastName": format!("{i:05}"),
                                  "email": format!("churn{i:05}@example.com")},
                 "securityProfiles": [{"name": "Agent"}], "routingProfile": {"name": "Basic Routing Profile"},
                 "tags": {"cycle": i.to_string()}}
    }))
    .expect("manifest")
}

/// Polls every 10 ms, for at most 60 s.
fn deadline(what: &str, t0: Instant) -> ChurnResult<()> {
    if t0.elapsed() > Duration::from_secs(60) {
        return Err(format!("{what}: not within 60 s").into());
    }
    Ok(())
}

/// One cycle: create, Ready, a console-made quick connect to the user, delete, gone.
async fn cycle(bed: &Bed, api: &Api<ConnectUser>, flow: &str, i: usize) -> ChurnResult<()> {
    let name = format!("churn-{i:05}");
    api.create(&PostParams::default(), &manifest(i)).await?;
    let t0 = Instant::now();
    let user_id = loop {
        let cu = api.get(&name).await?;
        let status = cu.status.as_ref();
        let ready = status
            .and_then(|s| s.condition("Ready"))
            .is_some_and(|c| c.status == "True");
        if let Some(id) = status.and_then(|s| s.user_id.clone()).filter(|_| ready) {
            break id;
        }
        deadline(&format!("{name} Ready"), t0)?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    bed.connect.insert_quick_connect(
        INSTANCE,
        SimQuickConnect {
            name: format!("{name} transfer"),
            quick_connect_type: "USER".into(),
            user_id: Some(user_id),
            contact_flow_id: Some(flow.to_string()),
            ..Default::default()
        },
    );
    api.delete(&name, &DeleteParams::default()).await?;
    let t0 = Instant::now();
    while api.get_opt(&name).await?.is_some() {
        deadline(&format!("{name} gone"), t0)?;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn rss_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

async fn churn(args: Args) -> ChurnResult<()> {
    let consistency = Consistency {
        max_delay: args.consistency_max_delay,
        typical_delay: args.consistency_max_delay / 3,
        ..Consistency::default()
    };
    let bed = Bed::start(INSTANCE, NS, None, Some(consistency)).await?;
    let flow = InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone();
    let mut child = bed.spawn_operator(
        &[
            "--connect-rate",
            "0",
            "--settle-window",
            &args.settle_window,
            "--resync-period",
            &args.resync,
        ]
        .map(String::from),
    )?;
    let pid = child.id();
    let api: Api<ConnectUser> = Api::namespaced(bed.client.clone(), NS);
    eprintln!(
        "churn: {} cycles, {} in flight, Connect quota off, consistency max delay {:?}, settle window {}, resync {}",
        args.cycles, args.parallel, args.consistency_max_delay, args.settle_window, args.resync
    );

    // Cycle 0: the operator up, its caches synced and the catalog loaded (one cycle that is
    // not counted), so the first sample is not taken before it has started.
    cycle(&bed, &api, &flow, args.cycles).await?;
    let mut samples: Vec<(usize, f64)> = vec![(0, rss_mib(pid, "VmRSS:"))];
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    bed.connect.clear_calls();
    let done = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut next = 0;
    while next < args.cycles {
        let batch = (next..(next + args.sample_every).min(args.cycles)).collect::<Vec<_>>();
        let results: Vec<ChurnResult<()>> = futures::stream::iter(batch)
            .map(|i| {
                let (bed, api, flow, done) = (&bed, &api, &flow, done.clone());
                async move {
                    cycle(bed, api, flow, i).await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            })
            .buffer_unordered(args.parallel)
            .collect()
            .await;
        for r in results {
            r?;
        }
        next = (next + args.sample_every).min(args.cycles);
        let rss = rss_mib(pid, "VmRSS:");
        samples.push((next, rss));
        // The emulator's call log would grow in this process; keep counts only.
        for c in bed.connect.calls() {
            *calls.entry(c.operation).or_default() += 1;
        }
        bed.connect.clear_calls();
        eprintln!(
            "churn: cycle {next:>6}  VmRSS {rss:6.1} MiB  ({:.0} s)",
            t0.elapsed().as_secs_f64()
        );
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let peak = rss_mib(pid, "VmHWM:");

    // Nothing left: no resource, and in Connect's authoritative state no user and no quick
    // connect (each finalizer was released only after its cleanup was verified).
    let resources = api.list(&ListParams::default()).await?.items.len();
    let users = bed.connect.users(INSTANCE).len();
    let quick_connects = bed.connect.quick_connects(INSTANCE).len();
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "\nchurn: {} create/delete cycles, {} in flight, Connect quota off, consistency max delay {:?}, settle window {}, resync {}",
        done.load(Ordering::Relaxed),
        args.parallel,
        args.consistency_max_delay,
        args.settle_window,
        args.resync
    );
    println!(
        "  {elapsed:.0} s, {:.1} cycles/s",
        args.cycles as f64 / elapsed
    );
    println!("  operator VmRSS by cycle:");
    for (at, rss) in &samples {
        println!("    {at:>6}  {rss:6.1} MiB");
    }
    let at = |cycle: usize| {
        samples
            .iter()
            .find(|(c, _)| *c >= cycle)
            .map_or(0.0, |(_, r)| *r)
    };
    let last = samples.last().map_or(0.0, |(_, r)| *r);
    let growth = last - at(args.warm_up);
    println!(
        "  growth from cycle {} to {}: {growth:+.1} MiB (limit {:.1}); peak {peak:.1} MiB",
        args.warm_up, args.cycles, args.max_growth_mib
    );
    let total: usize = calls.values().sum();
    println!(
        "  Connect calls: {total} ({:.2} per cycle) {calls:?}",
        total as f64 / args.cycles as f64
    );
    println!(
        "  left at the end: {resources} ConnectUsers, {users} Connect users, {quick_connects} quick connects"
    );
    let mut problems = Vec::new();
    if resources + users + quick_connects > 0 {
        problems.push("cleanup incomplete".to_string());
    }
    if growth > args.max_growth_mib {
        problems.push(format!(
            "VmRSS grew {growth:.1} MiB after cycle {}",
            args.warm_up
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; ").into())
    }
}
