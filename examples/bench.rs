//! Scale benchmark against both emulators with Connect's quotas on. The operator runs as a child
//! process (this same executable, `--as-operator`, which calls the real `run` code) so its peak
//! RSS and CPU time are its own.
//!
//!     cargo run --release --example bench -- --users 1000 --quick-connects 1000
//!
//! Prints, for the operator ("shared": its shared scans) and the naive baseline (a
//! straightforward controller, `support/naive.rs`, not part of the operator: DescribeUser per
//! user per resync; ListQuickConnects + DescribeQuickConnect per deletion, then DeleteUser and
//! DeleteQuickConnect): time until all Ready, Connect calls by
//! operation and per created / deleted user against the minimum the work needs, throttled
//! responses, reads/writes per resync in steady state, time and calls to delete all, operator
//! peak RSS and CPU time, then the two side by side as ratios. Then `kubectl delete` latency for
//! each `--latency-windows` settle window, and (`--adopt-round-trip N`) an export of N
//! hand-made users applied back and adopted.
//!
//! `--neighbour-share S` adds another client of the same account (`support/neighbour.rs`)
//! sending S x the quota of every operation the operator uses, during the first half of
//! creation and the first half of deletion; the report then gives the operator's 429s as a
//! share of its attempts, its throughput as a share of the quota the neighbour left, and how
//! long after the neighbour stopped it took to run at 90 % of the quota again.
//! `--fixed-limiter` runs the operator with the former fixed-rate limiter
//! (`support/fixed_rate.rs`) instead of the adaptive one. `--time-scale K` runs Connect's
//! quota K times faster (rates x K, resync, settle window and consistency delays / K) and
//! reports times in Connect seconds.

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use connect_user_operator::crd::ConnectUser;
use futures::StreamExt;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde::Deserialize;
use serde_json::json;
use sim::connect::{InstanceSeed, Quota, SimQuickConnect};
use support::Bed;
use support::neighbour::{self, NEIGHBOUR_INSTANCE, Neighbour};

#[path = "support/mod.rs"]
mod support;

const INSTANCE: &str = "bbbbbbbb-0000-4000-8000-000000000001";
const NS: &str = "bench";

#[derive(Parser, Debug, Clone)]
struct Args {
    /// ConnectUser resources.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// USER quick connects pointing at managed users (spread evenly).
    #[arg(long, default_value_t = 1000)]
    quick_connects: usize,
    /// Connect quota per operation (requests/s) at the emulator and in the operator's limiter.
    #[arg(long, default_value_t = 2.0)]
    quota_rate: f64,
    #[arg(long, default_value_t = 5)]
    quota_burst: u32,
    /// The operator's client-side limiter (default: the operator's defaults, a little under
    /// Connect's default quota).
    #[arg(long)]
    limiter_rate: Option<f64>,
    #[arg(long)]
    limiter_burst: Option<u32>,
    /// Resync period used for the steady-state measurement.
    #[arg(long, default_value = "30s", value_parser = connect_user_operator::cli::parse_duration)]
    resync: Duration,
    /// shared (the operator), naive (the baseline controller in support/naive.rs), both, or none
    /// (only the latency probe and the adoption round trip).
    #[arg(long, default_value = "both")]
    strategy: String,
    /// The naive deletion costs Q DescribeQuickConnect calls per deleted user (Q/2 s of quota
    /// each), so deleting all N would take days: it deletes this many resources one by one and
    /// projects the per-user cost to N, labelled as a projection.
    #[arg(long, default_value_t = 1)]
    naive_delete_sample: usize,
    /// Resources deleted one at a time with quotas and latency off, to measure
    /// `kubectl delete` -> finalizer released (0 = skip).
    #[arg(long, default_value_t = 30)]
    latency_samples: usize,
    /// Connect seconds per real second in the emulator's consistency model for the scale runs
    /// and the adoption round trip (its 5-minute maximum delay lasts 300/scale s); 0 turns the
    /// model off.
    #[arg(long, default_value_t = 0.0)]
    consistency_scale: f64,
    /// The operator's --settle-window in the scale runs and the adoption round trip.
    #[arg(long, default_value = "5m")]
    settle_window: String,
    /// Settle windows for the `kubectl delete` latency probe, comma-separated.
    #[arg(long, default_value = "0s,5m", value_delimiter = ',')]
    latency_windows: Vec<String>,
    /// Users made by hand in Connect, exported with `connect-user-operator export`, applied and
    /// adopted (0 = skip).
    #[arg(long, default_value_t = 0)]
    adopt_round_trip: usize,
    /// A neighbour in the account sends this share of every operation's quota during the first
    /// half of creation and of deletion (0 = none).
    #[arg(long, default_value_t = 0.0)]
    neighbour_share: f64,
    /// The operator with the former fixed-rate limiter (support/fixed_rate.rs).
    #[arg(long)]
    fixed_limiter: bool,
    /// Connect seconds per real second for the quota: rates x K, the resync, the settle window
    /// and the consistency model's delays / K; times reported in Connect seconds.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
}

impl Args {
    /// Applies `--time-scale` to the rates and durations it scales.
    fn scaled(mut self) -> Args {
        let k = self.time_scale;
        if k == 1.0 || k <= 0.0 {
            return self;
        }
        let default = connect_user_operator::connect::Rate::default();
        self.quota_rate *= k;
        self.limiter_rate = Some(self.limiter_rate.unwrap_or(default.per_second) * k);
        self.resync = self.resync.div_f64(k);
        let settle = connect_user_operator::cli::parse_duration(&self.settle_window)
            .expect("--settle-window");
        self.settle_window = format!("{}ms", settle.div_f64(k).as_millis());
        self.consistency_scale *= k;
        self
    }
}

/// The operator's share of the quota while a neighbour used part of it, per operation.
#[derive(Default, Debug, Clone)]
struct Sharing {
    operation: &'static str,
    /// The operator's requests answered during the neighbour's window, per Connect second.
    ours_per_s: f64,
    /// The neighbour's requests answered (not 429) in the same window, per Connect second.
    neighbour_per_s: f64,
    /// Connect seconds from the neighbour's stop to the end of the first 10-second window in
    /// which the operator ran at 90 % of the quota; `None`: never.
    recovery_s: Option<f64>,
}

#[derive(Default, Debug, Clone)]
struct Report {
    strategy: String,
    all_ready_s: f64,
    create_rate: f64,
    ready_false_throttled: usize,
    create_calls: BTreeMap<String, usize>,
    throttled_responses: usize,
    steady_reads: usize,
    steady_writes: usize,
    steady_search_users: usize,
    delete_s: f64,
    delete_calls: BTreeMap<String, usize>,
    delete_total: usize,
    /// Deleted only `naive_delete_sample` resources; the figures are scaled to N.
    delete_projected_from: Option<usize>,
    peak_rss_mib: f64,
    /// The operator's own attempts and 429s, creation and deletion (the neighbour's left out).
    attempts: usize,
    sharing: Vec<Sharing>,
    /// Resident set (MiB) when all were Ready, and at the end of the steady-state window.
    rss_all_ready_mib: f64,
    rss_steady_mib: f64,
    cpu_s: f64,
}

type BenchResult<T> = support::AnyResult<T>;

fn main() -> BenchResult<()> {
    if let Some(operator) = support::run_if_operator() {
        return operator;
    }
    let args = Args::parse().scaled();
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let strategies: Vec<&str> = match args.strategy.as_str() {
            "both" => vec!["shared", "naive"],
            // Only the latency probe and the adoption round trip.
            "none" => vec![],
            s => vec![s],
        };
        let mut reports = Vec::new();
        for s in strategies {
            reports.push(run(&args, s).await?);
        }
        if !reports.is_empty() {
            print_reports(&args, &reports);
        }
        if args.latency_samples > 0 {
            for window in &args.latency_windows {
                let samples = delete_latency(&args, window).await?;
                let at =
                    |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize] * 1000.0;
                println!(
                    "\nkubectl delete -> finalizer released, settle window {window} ({} resources with 2 quick connects each, quotas, latency and the consistency model off): median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
                    samples.len(),
                    at(0.5),
                    at(0.9),
                    at(1.0)
                );
            }
        }
        if args.adopt_round_trip > 0 {
            adopt_round_trip(&args).await?;
        }
        Ok(())
    })
}

async fn run(args: &Args, strategy: &str) -> BenchResult<Report> {
    eprintln!(
        "== {strategy}: {} users, {} quick connects, quota {}/s burst {}",
        args.users, args.quick_connects, args.quota_rate, args.quota_burst
    );
    let quota = Quota {
        rate_per_sec: args.quota_rate,
        burst: args.quota_burst,
    };
    let bed = Bed::start(
        INSTANCE,
        NS,
        Some(quota),
        support::consistency(args.consistency_scale),
    )
    .await?;
    let (connect, client) = (&bed.connect, bed.client.clone());
    let mut child = spawn_operator(args, strategy, Some(quota), &args.settle_window, &bed)?;
    let pid = child.id();
    let neighbour = if args.neighbour_share > 0.0 {
        let client = neighbour::client(&connect.endpoint()).await;
        let rate = args.neighbour_share * args.quota_rate;
        Some(Neighbour::start(client, neighbour::OPERATIONS, rate))
    } else {
        None
    };
    let mut neighbour_window = (SystemTime::now(), None::<SystemTime>);
    let mut report = Report {
        strategy: strategy.into(),
        ..Default::default()
    };

    // Create N.
    let api: Api<ConnectUser> = Api::namespaced(client.clone(), NS);
    let t0 = Instant::now();
    futures::stream::iter(0..args.users)
        .for_each_concurrent(32, |i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &manifest(i))
                    .await
                    .expect("create ConnectUser");
            }
        })
        .await;
    let mut throttled_false = std::collections::HashSet::new();
    loop {
        let list = api.list(&ListParams::default()).await?;
        let mut ready = 0;
        for cu in &list.items {
            match cu.status.as_ref().and_then(|s| s.condition("Ready")) {
                Some(c) if c.status == "True" => ready += 1,
                Some(c) if c.reason == "Throttled" => {
                    throttled_false.insert(cu.metadata.name.clone());
                }
                _ => {}
            }
        }
        if neighbour_window.1.is_none() && neighbour.is_some() && 2 * ready >= args.users {
            neighbour.iter().for_each(|n| n.set_running(false));
            neighbour_window.1 = Some(SystemTime::now());
        }
        if ready == args.users {
            break;
        }
        if t0.elapsed() > Duration::from_secs(6 * 3600) {
            return Err("not all Ready within 6 h".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report.all_ready_s = t0.elapsed().as_secs_f64() * args.time_scale;
    report.rss_all_ready_mib = rss_now(pid);
    report.ready_false_throttled = throttled_false.len();
    let all_calls = connect.calls();
    if let (Some(_), (from, Some(to))) = (&neighbour, neighbour_window) {
        report
            .sharing
            .push(sharing(args, &all_calls, "CreateUser", from, to));
    }
    let calls = ours(all_calls);
    report.attempts += calls.len();
    let creates: Vec<_> = calls
        .iter()
        .filter(|c| c.operation == "CreateUser" && c.status == 200)
        .collect();
    if let (Some(first), Some(last)) = (creates.first(), creates.last()) {
        let span = last
            .at
            .duration_since(first.at)
            .unwrap_or_default()
            .as_secs_f64();
        report.create_rate = if span > 0.0 {
            (creates.len() - 1) as f64 / span / args.time_scale
        } else {
            0.0
        };
    }
    report.create_calls = by_operation(&calls);
    report.throttled_responses = calls.iter().filter(|c| c.status == 429).count();
    // The steady state is the operator's alone.
    neighbour.iter().for_each(|n| n.set_running(false));

    // Steady state: one resync period (+10 % jitter, + a margin).
    connect.clear_calls();
    tokio::time::sleep(args.resync.mul_f64(1.15)).await;
    report.rss_steady_mib = rss_now(pid);
    let calls = ours(connect.calls());
    report.steady_writes = calls.iter().filter(|c| is_write(&c.operation)).count();
    report.steady_reads = calls.len() - report.steady_writes;
    report.steady_search_users = calls
        .iter()
        .filter(|c| c.operation == "SearchUsers")
        .count();

    // Q quick connects, then delete everything.
    let users = connect.users(INSTANCE);
    let flow = InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone();
    for q in 0..args.quick_connects {
        let target = &users[q % users.len()];
        connect.insert_quick_connect(
            INSTANCE,
            SimQuickConnect {
                name: format!("qc-{q:05}"),
                quick_connect_type: "USER".into(),
                user_id: Some(target.id.clone()),
                contact_flow_id: Some(flow.clone()),
                ..Default::default()
            },
        );
    }
    connect.clear_calls();
    if strategy == "naive" && args.naive_delete_sample < args.users {
        let sample = args.naive_delete_sample.max(1);
        let t0 = Instant::now();
        let mut deleted = Vec::new();
        for i in 0..sample {
            let name = format!("agent-{i:05}");
            let cu = api.get(&name).await?;
            deleted.extend(cu.status.and_then(|s| s.user_id));
            api.delete(&name, &DeleteParams::default()).await?;
            while api.get_opt(&name).await?.is_some() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let scale = args.users as f64 / sample as f64;
        report.delete_s = t0.elapsed().as_secs_f64() * scale;
        // The naive resync keeps describing every user meanwhile: count only what the deletions
        // themselves sent, or the projection would scale the resync too.
        let calls: Vec<_> = connect
            .calls()
            .into_iter()
            .filter(|c| deletion_path(c, &deleted))
            .collect();
        report.delete_calls = by_operation(&calls)
            .into_iter()
            .map(|(op, n)| (op, (n as f64 * scale).round() as usize))
            .collect();
        report.delete_total = report.delete_calls.values().sum();
        report.delete_projected_from = Some(sample);
    } else {
        let t0 = Instant::now();
        neighbour.iter().for_each(|n| n.set_running(true));
        let mut neighbour_window = (SystemTime::now(), None::<SystemTime>);
        api.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await?;
        loop {
            if neighbour.is_some()
                && neighbour_window.1.is_none()
                && 2 * connect.users(INSTANCE).len() <= args.users
            {
                neighbour.iter().for_each(|n| n.set_running(false));
                neighbour_window.1 = Some(SystemTime::now());
            }
            if api
                .list(&ListParams::default().limit(1))
                .await?
                .items
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        report.delete_s = t0.elapsed().as_secs_f64() * args.time_scale;
        let all_calls = connect.calls();
        if let (Some(_), (from, Some(to))) = (&neighbour, neighbour_window) {
            report
                .sharing
                .push(sharing(args, &all_calls, "DeleteUser", from, to));
        }
        let calls = ours(all_calls);
        report.attempts += calls.len();
        report.throttled_responses += calls.iter().filter(|c| c.status == 429).count();
        report.delete_calls = by_operation(&calls);
        report.delete_total = calls.len();
        let left = connect.quick_connects(INSTANCE).len();
        if left != 0 || !connect.users(INSTANCE).is_empty() {
            return Err(format!("cleanup incomplete: {left} quick connects left").into());
        }
    }

    if let Some(n) = neighbour {
        n.stop();
    }
    let (rss, cpu) = proc_usage(pid);
    report.peak_rss_mib = rss;
    report.cpu_s = cpu;
    let _ = child.kill();
    let _ = child.wait();
    Ok(report)
}

/// Every user has non-zero after-contact-work limits (VOICE through phoneConfig, CHAT through
/// channelConfig): SearchUsers states them in milliseconds, so the steady state measures the
/// bulk drift check's conversion, not only users at the defaults.
fn manifest(i: usize) -> ConnectUser {
    serde_json::from_value(json!({
        "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
        "metadata": {"name": format!("agent-{i:05}")},
        "spec": {"instanceId": INSTANCE, "username": format!("agent{i:05}"),
                 "passwordSecretRef": {"name": "pw", "key": "p"},
                 "identityInfo": {"firstName": "Agent", "lastName": format!("{i:05}"),
                                  "email": format!("agent{i:05}@example.com")},
                 "phoneConfig": {"afterContactWorkTimeLimit": 30},
                 "channelConfig": {"chat": {"afterContactWorkTimeLimit": 120}},
                 "securityProfiles": [{"name": "Agent"}], "routingProfile": {"name": "Basic Routing Profile"}}
    }))
    .expect("manifest")
}

/// `kubectl delete` -> resource gone, each resource with 2 quick connects, quotas and latency off:
/// what a person waiting on `kubectl delete` sees. One deletion at a time; with a settle window
/// of a second or more, which each deletion waits out, they start 250 ms apart instead.
async fn delete_latency(args: &Args, window: &str) -> BenchResult<Vec<f64>> {
    let bed = Bed::start(INSTANCE, NS, None, None).await?;
    let mut child = spawn_operator(args, "shared", None, window, &bed)?;
    let api: Api<ConnectUser> = Api::namespaced(bed.client.clone(), NS);
    for i in 0..args.latency_samples {
        api.create(&PostParams::default(), &manifest(i)).await?;
    }
    let t0 = Instant::now();
    while bed.connect.users(INSTANCE).len() < args.latency_samples
        || api
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .any(|cu| !support::is_ready(cu))
    {
        if t0.elapsed() > Duration::from_secs(120) {
            return Err("latency probe: users not Ready within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let flow = InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone();
    for u in bed.connect.users(INSTANCE) {
        for q in 0..2 {
            bed.connect.insert_quick_connect(
                INSTANCE,
                SimQuickConnect {
                    name: format!("{} {q}", u.username),
                    quick_connect_type: "USER".into(),
                    user_id: Some(u.id.clone()),
                    contact_flow_id: Some(flow.clone()),
                    ..Default::default()
                },
            );
        }
    }
    let long = connect_user_operator::cli::parse_duration(window)? >= Duration::from_secs(1);
    let mut samples = Vec::new();
    if long {
        let mut tasks = Vec::new();
        for i in 0..args.latency_samples {
            tasks.push(tokio::spawn(delete_one(api.clone(), i)));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for t in tasks {
            samples.push(t.await??);
        }
    } else {
        for i in 0..args.latency_samples {
            samples.push(delete_one(api.clone(), i).await?);
        }
    }
    if !bed.connect.quick_connects(INSTANCE).is_empty() {
        return Err("latency probe: quick connects left behind".into());
    }
    let _ = child.kill();
    let _ = child.wait();
    samples.sort_by(f64::total_cmp);
    Ok(samples)
}

/// Seconds from `kubectl delete` of agent-i to the resource being gone.
async fn delete_one(api: Api<ConnectUser>, i: usize) -> Result<f64, kube::Error> {
    let name = format!("agent-{i:05}");
    let t = Instant::now();
    api.delete(&name, &DeleteParams::default()).await?;
    while api.get_opt(&name).await?.is_some() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(t.elapsed().as_secs_f64())
}

/// N users made by hand in Connect, exported by `connect-user-operator export`, the manifests
/// applied, and every user adopted; with Connect's quota, so the figures are what an adoption
/// of a real instance costs. The operator searches by username before adopting (the exported
/// manifests say `adoptExisting: true`); CreateUser first would add one refused CreateUser per
/// user.
async fn adopt_round_trip(args: &Args) -> BenchResult<()> {
    let n = args.adopt_round_trip;
    let quota = Quota {
        rate_per_sec: args.quota_rate,
        burst: args.quota_burst,
    };
    let bed = Bed::start(
        INSTANCE,
        NS,
        Some(quota),
        support::consistency(args.consistency_scale),
    )
    .await?;
    let seed = InstanceSeed::standard(INSTANCE);
    for i in 0..n {
        bed.connect.insert_user(
            INSTANCE,
            sim::connect::SimUser {
                username: format!("agent{i:05}"),
                routing_profile_id: seed.routing_profiles[0].0.clone(),
                security_profile_ids: vec![seed.security_profiles[0].0.clone()],
                tags: [("team".to_string(), format!("t{}", i % 7))].into(),
                ..Default::default()
            },
        );
    }
    // Made long before the export: let the search index catch up.
    bed.connect.wait_settled(Duration::from_secs(600)).await;
    bed.connect.clear_calls();
    let t0 = Instant::now();
    let default = connect_user_operator::connect::Rate::default();
    let yaml = bed.export(INSTANCE, args.limiter_rate.unwrap_or(default.per_second))?;
    let export_s = t0.elapsed().as_secs_f64();
    let export_calls = bed.connect.calls();
    let mut manifests = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&yaml) {
        let value = serde_yaml::Value::deserialize(doc)?;
        if !value.is_null() {
            manifests.push(serde_yaml::from_value::<ConnectUser>(value)?);
        }
    }
    if manifests.len() != n {
        return Err(format!("export wrote {} manifests for {n} users", manifests.len()).into());
    }
    bed.connect.clear_calls();
    let mut child = spawn_operator(args, "shared", Some(quota), &args.settle_window, &bed)?;
    let api: Api<ConnectUser> = Api::namespaced(bed.client.clone(), NS);
    let t1 = Instant::now();
    futures::stream::iter(manifests)
        .for_each_concurrent(32, |cu| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cu)
                    .await
                    .expect("apply exported manifest");
            }
        })
        .await;
    loop {
        let list = api.list(&ListParams::default()).await?;
        let adopted = list.items.iter().filter(|cu| support::is_ready(cu)).count();
        if adopted == n {
            break;
        }
        if t1.elapsed() > Duration::from_secs(6 * 3600) {
            return Err("not all adopted within 6 h".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let adopt_s = t1.elapsed().as_secs_f64();
    let calls = bed.connect.calls();
    let _ = child.kill();
    let _ = child.wait();
    let per = |calls: &[sim::connect::CallRecord]| calls.len() as f64 / n as f64;
    println!(
        "\nexport round trip: {n} users made by hand, quota {}/s burst {}",
        args.quota_rate, args.quota_burst
    );
    println!(
        "  export                        {export_s:>10.1} s, {} calls ({:.2} per user) {:?}",
        export_calls.len(),
        per(&export_calls),
        by_operation(&export_calls)
    );
    println!(
        "  apply until all adopted       {adopt_s:>10.1} s, {} calls ({:.2} per user) {:?}",
        calls.len(),
        per(&calls),
        by_operation(&calls)
    );
    let creates = calls.iter().filter(|c| c.operation == "CreateUser").count();
    println!(
        "  CreateUser-first adoption would add {n} refused CreateUser calls ({:.0} s of CreateUser quota at {}/s); sent here: {creates}",
        n as f64 / args.quota_rate,
        args.quota_rate
    );
    Ok(())
}

fn spawn_operator(
    args: &Args,
    strategy: &str,
    quota: Option<Quota>,
    settle_window: &str,
    bed: &Bed,
) -> BenchResult<Child> {
    // With the emulator's quota off, the operator's limiter is effectively off too.
    let default = connect_user_operator::connect::Rate::default();
    let (rate, burst) = match quota {
        None => (100_000.0, 100_000),
        Some(_) => (
            args.limiter_rate.unwrap_or(default.per_second),
            args.limiter_burst.unwrap_or(default.burst),
        ),
    };
    let mut child_args = vec![
        "--concurrency".into(),
        "32".into(),
        "--resync-period".into(),
        format!("{}ms", args.resync.as_millis()),
        "--connect-rate".into(),
        rate.to_string(),
        "--connect-burst".into(),
        burst.to_string(),
    ];
    match strategy {
        "shared" => {
            child_args.extend(["--settle-window".into(), settle_window.into()]);
            bed.spawn_operator_with(args.fixed_limiter, &child_args, None)
        }
        // The baseline trusts every read at once: it has no settle window.
        "naive" => bed.spawn_naive(&child_args),
        other => Err(format!("--strategy {other}: expected shared, naive, both or none").into()),
    }
}

/// The operator's calls, without the neighbour's.
fn ours(calls: Vec<sim::connect::CallRecord>) -> Vec<sim::connect::CallRecord> {
    calls
        .into_iter()
        .filter(|c| c.instance_id.as_deref() != Some(NEIGHBOUR_INSTANCE))
        .collect()
}

/// How `operation`'s quota was shared while the neighbour ran (`from` to `to`), and how soon
/// after `to` the operator used 90 % of it again.
fn sharing(
    args: &Args,
    calls: &[sim::connect::CallRecord],
    operation: &'static str,
    from: SystemTime,
    to: SystemTime,
) -> Sharing {
    let k = args.time_scale;
    let answered = |c: &&sim::connect::CallRecord| c.operation == operation && c.status != 429;
    let mine = |c: &&sim::connect::CallRecord| c.instance_id.as_deref() != Some(NEIGHBOUR_INSTANCE);
    let secs = |a: SystemTime, b: SystemTime| b.duration_since(a).unwrap_or_default().as_secs_f64();
    // The window starts at the operator's first request of the operation.
    let start = calls
        .iter()
        .filter(|c| c.operation == operation && mine(c) && c.at >= from)
        .map(|c| c.at)
        .min()
        .unwrap_or(from);
    let in_window = |c: &&sim::connect::CallRecord| c.at >= start && c.at <= to;
    let span = secs(start, to).max(1e-9) * k;
    let ours_n = calls
        .iter()
        .filter(answered)
        .filter(mine)
        .filter(in_window)
        .count();
    let theirs_n = calls
        .iter()
        .filter(answered)
        .filter(|c| !mine(c))
        .filter(in_window)
        .count();
    // Recovery: the end of the first 10 Connect-second window after `to` holding 90 % of the
    // quota's requests.
    let window = Duration::from_secs_f64(10.0 / k);
    let after: Vec<SystemTime> = calls
        .iter()
        .filter(answered)
        .filter(mine)
        .filter(|c| c.at > to)
        .map(|c| c.at)
        .collect();
    let needed = (0.9 * args.quota_rate * window.as_secs_f64()).ceil() as usize;
    let recovery_s = after.iter().enumerate().find_map(|(j, &end)| {
        let begin = end.checked_sub(window)?;
        if begin < to {
            return None;
        }
        let n = after[..=j].iter().filter(|&&t| t > begin).count();
        (n >= needed).then(|| secs(to, end) * k)
    });
    Sharing {
        operation,
        ours_per_s: ours_n as f64 / span,
        neighbour_per_s: theirs_n as f64 / span,
        recovery_s,
    }
}

/// A call made by the deletion of one of `deleted` (user ids), not by a resync or a cache refresh.
fn deletion_path(call: &sim::connect::CallRecord, deleted: &[String]) -> bool {
    match call.operation.as_str() {
        "DeleteUser"
        | "DeleteQuickConnect"
        | "ListQuickConnects"
        | "DescribeQuickConnect"
        | "SearchQuickConnects" => true,
        "DescribeUser" => call.target.as_ref().is_some_and(|t| deleted.contains(t)),
        _ => false,
    }
}

fn is_write(op: &str) -> bool {
    [
        "Create",
        "Delete",
        "Update",
        "Tag",
        "Untag",
        "Associate",
        "Disassociate",
    ]
    .iter()
    .any(|p| op.starts_with(p))
}

fn by_operation(calls: &[sim::connect::CallRecord]) -> BTreeMap<String, usize> {
    let mut map = BTreeMap::new();
    for c in calls {
        *map.entry(c.operation.clone()).or_default() += 1;
    }
    map
}

/// Current RSS (MiB) of a process.
fn rss_now(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Peak RSS (MiB) and CPU seconds of a process, from /proc (Linux).
fn proc_usage(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) end with ')'.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    (rss_kib / 1024.0, ticks / 100.0)
}

fn print_reports(args: &Args, reports: &[Report]) {
    println!(
        "\nN = {} ConnectUsers, Q = {} USER quick connects, quota {}/s burst {} per operation, resync {:?}, settle window {}, consistency scale {}\n",
        args.users,
        args.quick_connects,
        args.quota_rate,
        args.quota_burst,
        args.resync,
        args.settle_window,
        args.consistency_scale
    );
    if args.time_scale != 1.0 || args.neighbour_share > 0.0 || args.fixed_limiter {
        println!(
            "time scale {} (times and rates in Connect time; quota {}/s per operation in Connect time), neighbour {:.0} % of every quota in the first half of creation and of deletion, limiter {}\n",
            args.time_scale,
            args.quota_rate / args.time_scale,
            100.0 * args.neighbour_share,
            if args.fixed_limiter {
                "fixed (baseline)"
            } else {
                "adaptive"
            }
        );
    }
    for r in reports {
        println!("[{}]", r.strategy);
        println!("  time until all Ready          {:>10.1} s", r.all_ready_s);
        println!(
            "  CreateUser sustained rate     {:>10.2} /s ({:.0} % of quota)",
            r.create_rate,
            100.0 * r.create_rate / (args.quota_rate / args.time_scale)
        );
        println!(
            "  resources Ready=False(Throttled) {:>7}",
            r.ready_false_throttled
        );
        println!(
            "  throttled responses (429)     {:>10} ({:.2} % of the operator's {} attempts)",
            r.throttled_responses,
            100.0 * r.throttled_responses as f64 / (r.attempts.max(1) as f64),
            r.attempts
        );
        let quota = args.quota_rate / args.time_scale;
        for sh in &r.sharing {
            let left = quota - sh.neighbour_per_s;
            println!(
                "  {:<20} shared: neighbour {:.2}/s, ours {:.2}/s = {:.0} % of the {:.2}/s left; 90 % of quota again {} after the neighbour stopped",
                sh.operation,
                sh.neighbour_per_s,
                sh.ours_per_s,
                100.0 * sh.ours_per_s / left.max(1e-9),
                left,
                sh.recovery_s
                    .map_or("never".to_string(), |s| format!("{s:.0} s"))
            );
        }
        println!("  calls while creating          {:?}", r.create_calls);
        println!(
            "  steady state per resync       {:>10} reads ({} SearchUsers), {} writes",
            r.steady_reads, r.steady_search_users, r.steady_writes
        );
        let projected = match r.delete_projected_from {
            Some(k) => format!("  (projected from {k} deletion(s))"),
            None => String::new(),
        };
        println!(
            "  time to delete all            {:>10.1} s{projected}",
            r.delete_s
        );
        println!(
            "  calls to delete all           {:>10} {:?}{projected}",
            r.delete_total, r.delete_calls
        );
        let n = args.users as f64;
        let created: usize = r.create_calls.values().sum();
        let creates = r.create_calls.get("CreateUser").copied().unwrap_or(0);
        println!(
            "  calls per created user        {:>10.2} ({:.2} CreateUser); minimum 1 CreateUser + {:.3} for the catalog",
            created as f64 / n,
            creates as f64 / n,
            4.0 / n
        );
        let op = |name: &str| r.delete_calls.get(name).copied().unwrap_or(0) as f64 / n;
        let minimum = 2.0 + args.quick_connects as f64 / n;
        println!(
            "  calls per deleted user        {:>10.2}: DeleteUser {:.2}, DescribeUser {:.2}, DeleteQuickConnect {:.2}, listing pages {:.2}; minimum {minimum:.2} (DeleteUser, DescribeUser for the ownership tag, {:.2} DeleteQuickConnect) + listings shared by all deletions",
            r.delete_total as f64 / n,
            op("DeleteUser"),
            op("DescribeUser"),
            op("DeleteQuickConnect"),
            op("SearchQuickConnects") + op("ListQuickConnects"),
            args.quick_connects as f64 / n
        );
        println!(
            "  operator peak RSS             {:>10.1} MiB (RSS {:.1} MiB when all Ready, {:.1} MiB after the steady state)",
            r.peak_rss_mib, r.rss_all_ready_mib, r.rss_steady_mib
        );
        println!("  operator CPU time             {:>10.1} s", r.cpu_s);
    }
    if let [shared, naive] = reports {
        let ratio = |a: f64, b: f64| if a > 0.0 { b / a } else { f64::INFINITY };
        println!("\nnaive / shared");
        println!(
            "  steady-state reads per resync {:>8.1}x",
            ratio(shared.steady_reads as f64, naive.steady_reads as f64)
        );
        println!(
            "  calls to delete all           {:>8.1}x",
            ratio(shared.delete_total as f64, naive.delete_total as f64)
        );
        println!(
            "  time to delete all            {:>8.1}x",
            ratio(shared.delete_s, naive.delete_s)
        );
        println!(
            "  time until all Ready          {:>8.1}x",
            ratio(shared.all_ready_s, naive.all_ready_s)
        );
    }
}
