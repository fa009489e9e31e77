//! `sim`: runs the emulators (Kubernetes, Connect, STS) until Ctrl-C, for trying the operator (or
//! kubectl, or the AWS CLI) by hand. Prints the kubeconfig path, the Connect and STS endpoints
//! and the test credentials as `KEY=value` lines a shell can `export`, then `ready` once
//! everything is seeded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use sim::aws::{StsSim, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY};
use sim::connect::{
    ConnectConfig, ConnectSim, Consistency, InstanceSeed, Quota, SimQuickConnect, SimUser,
};
use sim::kube::KubeSim;

#[derive(Parser, Debug)]
#[command(
    name = "sim",
    about = "In-memory Kubernetes API and Amazon Connect API emulators"
)]
struct Args {
    /// Address of the Kubernetes API emulator (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    kube_addr: SocketAddr,
    /// Address of the Amazon Connect API emulator (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    connect_addr: SocketAddr,
    /// Address of the AWS STS emulator (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    sts_addr: SocketAddr,
    /// Where to write the kubeconfig (default: a file in the temp directory).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Seed a CONNECT_MANAGED instance with this id.
    #[arg(long, default_value = "11111111-2222-3333-4444-555555555555")]
    instance_id: String,
    /// Users created in the instance "by hand" (not owned by any ConnectUser).
    #[arg(long, default_value_t = 0)]
    users: usize,
    /// USER quick connects per seeded user.
    #[arg(long, default_value_t = 0)]
    quick_connects_per_user: usize,
    /// Connect throttling per operation, as RATE/s:BURST (Connect's default is 2:5); `off`
    /// disables it.
    #[arg(long, default_value = "2:5")]
    quota: String,
    /// YAML files (multi-document) created in the Kubernetes emulator at start, e.g. the CRD.
    #[arg(long = "apply")]
    apply: Vec<PathBuf>,
    /// Make Connect eventually consistent, as the real service is: a change takes up to this
    /// long (Connect time: 500ms, 90s, 5m) to show in reads and searches. Off by default.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    consistency_max_delay: Option<Duration>,
    /// Connect seconds per real second (60 = a Connect minute per second).
    #[arg(long, value_name = "X", requires = "consistency_max_delay", value_parser = parse_scale)]
    time_scale: Option<f64>,
    /// Seed of the consistency model's delays.
    #[arg(long, value_name = "N", requires = "consistency_max_delay")]
    seed: Option<u64>,
}

/// `500ms`, `90s`, `5m`, `1h` or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (500ms, 90s, 5m, 1h)"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: the unit must be ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{s:?} is not a duration"))
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn parse_quota(s: &str) -> Result<Option<Quota>, String> {
    if s == "off" {
        return Ok(None);
    }
    let (rate, burst) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?}: expected RATE:BURST or off"))?;
    let rate_per_sec: f64 = rate
        .parse()
        .map_err(|e| format!("rate {rate:?} is not a number: {e}"))?;
    let burst: u32 = burst
        .parse()
        .map_err(|e| format!("burst {burst:?} is not a whole number: {e}"))?;
    if rate_per_sec <= 0.0 || burst == 0 {
        return Err(format!("{s:?}: rate and burst must be positive"));
    }
    Ok(Some(Quota {
        rate_per_sec,
        burst,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let quota = parse_quota(&args.quota).map_err(|e| format!("--quota {e}"))?;
    let kube = KubeSim::start_on(args.kube_addr).await?;
    let kubeconfig = args.kubeconfig.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("sim-kubeconfig-{}", std::process::id()))
    });
    kube.write_kubeconfig(&kubeconfig)?;
    for file in &args.apply {
        apply_file(&kube, file)?;
    }

    let connect = ConnectSim::start_on(
        args.connect_addr,
        ConnectConfig {
            quota,
            ..ConnectConfig::default()
        },
    )
    .await?;
    let sts = StsSim::start_on(args.sts_addr, connect.iam().clone()).await?;
    let seed = InstanceSeed::standard(&args.instance_id);
    let routing = seed.routing_profiles[0].0.clone();
    let agent = seed.security_profiles[0].0.clone();
    let flow = seed.contact_flows[0].0.clone();
    connect.seed_instance(seed);
    for n in 0..args.users {
        let user_id = connect.insert_user(
            &args.instance_id,
            SimUser {
                username: format!("agent{n:05}"),
                routing_profile_id: routing.clone(),
                security_profile_ids: vec![agent.clone()],
                ..SimUser::default()
            },
        );
        for q in 0..args.quick_connects_per_user {
            connect.insert_quick_connect(
                &args.instance_id,
                SimQuickConnect {
                    name: format!("agent{n:05} transfer {q}"),
                    quick_connect_type: "USER".into(),
                    user_id: Some(user_id.clone()),
                    contact_flow_id: Some(flow.clone()),
                    ..SimQuickConnect::default()
                },
            );
        }
    }

    // Switched on after seeding, so the seeded users and quick connects are settled.
    if let Some(max_delay) = args.consistency_max_delay {
        connect.set_consistency(Some(Consistency {
            seed: args.seed.unwrap_or(0),
            time_scale: args.time_scale.unwrap_or(1.0),
            ..Consistency::new(max_delay)
        }));
    }

    println!("KUBECONFIG={}", kubeconfig.display());
    println!("KUBE_API={}", kube.url());
    println!("AWS_ENDPOINT_URL_CONNECT={}", connect.endpoint());
    println!("AWS_ENDPOINT_URL_STS={}", sts.endpoint());
    println!("AWS_ACCESS_KEY_ID={TEST_ACCESS_KEY_ID}");
    println!("AWS_SECRET_ACCESS_KEY={TEST_SECRET_ACCESS_KEY}");
    println!("AWS_REGION=us-east-1");
    println!("CONNECT_INSTANCE_ID={}", args.instance_id);
    println!(
        "# requests are SigV4-verified: sign with the credentials above (account {})",
        sim::aws::TEST_ACCOUNT_ID
    );
    println!(
        "# inspect Connect: curl {}/_sim/state   curl {}/_sim/calls",
        connect.endpoint(),
        connect.endpoint()
    );
    println!("ready");
    tokio::signal::ctrl_c().await?;
    if args.kubeconfig.is_none() {
        let _ = std::fs::remove_file(&kubeconfig);
    }
    Ok(())
}

fn apply_file(kube: &KubeSim, path: &PathBuf) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(doc)
            .map_err(|e| format!("{}: not YAML: {e}", path.display()))?;
        if value.is_null() {
            continue;
        }
        kube.create_object(value)
            .map_err(|status| format!("{}: {}", path.display(), status["message"]))?;
    }
    Ok(())
}
