//! Two accounts at once: one operator (a child process, as in the bench) creates N users in
//! instance A of its own account through a ConnectInstance and N in instance B of account 2
//! through a ConnectInstance with a role to assume, both at Connect's quota. Connect's quotas
//! apply per account and region, so each account should create at its own quota, as fast as
//! either alone would.
//!
//!     cargo run --release --example two_accounts -- --users 300
//!
//! Prints, per account: time until all Ready, CreateUser rate while creating (and as a share
//! of the quota), throttled responses, Connect calls per created user; then the overlap of the
//! two creation windows and the deletion of all.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use connect_user_operator::crd::ConnectUser;
use connect_user_operator::instance::crd::ConnectInstance;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::json;
use sim::aws::{StsSim, TEST_ACCOUNT_ID, Trust};
use sim::connect::{CallRecord, InstanceSeed, Quota};
use support::Bed;

#[path = "support/mod.rs"]
mod support;

const INSTANCE_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const INSTANCE_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const ACCOUNT_2: &str = "222222222222";
const NS: &str = "bench";

#[derive(Parser, Debug)]
struct Args {
    /// ConnectUsers per account.
    #[arg(long, default_value_t = 300)]
    users: usize,
    /// Connect's quota per operation (requests/s), in each account.
    #[arg(long, default_value_t = 2.0)]
    quota_rate: f64,
    #[arg(long, default_value_t = 5)]
    quota_burst: u32,
}

struct Account {
    name: &'static str,
    id: &'static str,
    instance: &'static str,
    object: &'static str,
}

const ACCOUNTS: [Account; 2] = [
    Account {
        name: "account 1 (own credentials)",
        id: TEST_ACCOUNT_ID,
        instance: INSTANCE_A,
        object: "a",
    },
    Account {
        name: "account 2 (assumed role)",
        id: ACCOUNT_2,
        instance: INSTANCE_B,
        object: "b",
    },
];

fn main() -> support::AnyResult<()> {
    if let Some(operator) = support::run_if_operator() {
        return operator;
    }
    let args = Args::parse();
    tokio::runtime::Runtime::new()?.block_on(run(&args))
}

async fn run(args: &Args) -> support::AnyResult<()> {
    let quota = Quota {
        rate_per_sec: args.quota_rate,
        burst: args.quota_burst,
    };
    let bed = Bed::start(INSTANCE_A, NS, Some(quota), None).await?;
    bed.connect
        .seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let role = bed.connect.iam().create_role(
        ACCOUNT_2,
        "connect-operator",
        Trust::account(TEST_ACCOUNT_ID),
    );
    let sts = StsSim::start(bed.connect.iam().clone()).await?;
    // The operator's limiter at the quota (its default is a little under Connect's default);
    // no settle window, as the consistency model is off here.
    let limiter = [
        "--connect-rate".to_string(),
        args.quota_rate.to_string(),
        "--connect-burst".to_string(),
        args.quota_burst.to_string(),
        "--settle-window".to_string(),
        "0s".to_string(),
    ];
    let mut child = bed.spawn_operator_with_sts(&limiter, Some(&sts.endpoint()))?;

    let instances: Api<ConnectInstance> = Api::namespaced(bed.client.clone(), NS);
    for (account, role) in ACCOUNTS.iter().zip([None, Some(role.as_str())]) {
        let mut spec = json!({"instanceId": account.instance, "region": "us-east-1"});
        if let Some(role) = role {
            spec["roleArn"] = role.into();
        }
        let obj = json!({"apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectInstance",
                         "metadata": {"name": account.object}, "spec": spec});
        instances
            .create(&PostParams::default(), &serde_json::from_value(obj)?)
            .await?;
    }
    let t0 = Instant::now();
    loop {
        let list = instances.list(&ListParams::default()).await?;
        let ready = list.items.iter().filter(|o| {
            o.status
                .as_ref()
                .and_then(|s| s.condition("Ready"))
                .is_some_and(|c| c.status == "True")
        });
        if ready.count() == ACCOUNTS.len() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            return Err("the instance objects did not become Ready within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bed.connect.clear_calls();

    eprintln!(
        "== {} users in each of 2 accounts, quota {}/s burst {} per account",
        args.users, args.quota_rate, args.quota_burst
    );
    let api: Api<ConnectUser> = Api::namespaced(bed.client.clone(), NS);
    let t0 = Instant::now();
    let wall0 = epoch_secs(std::time::SystemTime::now());
    // Interleaved, so that both accounts have work from the start.
    for i in 0..args.users {
        for account in &ACCOUNTS {
            api.create(&PostParams::default(), &manifest(account, i))
                .await?;
        }
    }
    let mut all_ready: BTreeMap<&str, f64> = BTreeMap::new();
    while all_ready.len() < ACCOUNTS.len() {
        let list = api.list(&ListParams::default()).await?;
        for account in &ACCOUNTS {
            let ready = list
                .items
                .iter()
                .filter(|cu| {
                    cu.spec.instance_ref.as_ref().map(|r| r.name.as_str()) == Some(account.object)
                })
                .filter(|cu| support::is_ready(cu))
                .count();
            if ready == args.users {
                all_ready
                    .entry(account.object)
                    .or_insert_with(|| t0.elapsed().as_secs_f64());
            }
        }
        if t0.elapsed() > Duration::from_secs(3 * 3600) {
            return Err("not all Ready within 3 h".into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let calls = bed.connect.calls();
    println!(
        "\nTwo accounts at once: {} ConnectUsers each, one operator, Connect quota {}/s burst {} per operation in each account, client limiter at the quota",
        args.users, args.quota_rate, args.quota_burst
    );
    println!(
        "| account | all Ready (s) | CreateUser rate (/s) | share of the quota | throttled (429) | Connect calls | calls per created user | creating from (s) | to (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut windows = Vec::new();
    for account in &ACCOUNTS {
        let ours: Vec<&CallRecord> = calls
            .iter()
            .filter(|c| c.account_id == account.id)
            .collect();
        let creates: Vec<&&CallRecord> = ours
            .iter()
            .filter(|c| c.operation == "CreateUser" && c.status == 200)
            .collect();
        let (first, last) = (
            epoch_secs(creates[0].at),
            epoch_secs(creates[creates.len() - 1].at),
        );
        let rate = (creates.len() - 1) as f64 / (last - first).max(f64::EPSILON);
        let throttled = ours.iter().filter(|c| c.status == 429).count();
        windows.push((first, last));
        println!(
            "| {} | {:.0} | {:.2} | {:.0} % | {} | {} | {:.2} | {:.0} | {:.0} |",
            account.name,
            all_ready[account.object],
            rate,
            100.0 * rate / args.quota_rate,
            throttled,
            ours.len(),
            ours.len() as f64 / creates.len() as f64,
            first - wall0,
            last - wall0,
        );
    }
    let overlap = (windows[0].1.min(windows[1].1) - windows[0].0.max(windows[1].0)).max(0.0);
    let longest = windows.iter().map(|(a, b)| b - a).fold(0.0f64, f64::max);
    println!(
        "\nThe two creation windows overlap for {overlap:.0} s of the longer one's {longest:.0} s ({:.0} %).",
        100.0 * overlap / longest.max(f64::EPSILON)
    );

    bed.connect.clear_calls();
    let t0 = Instant::now();
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    while !api
        .list(&ListParams::default().limit(1))
        .await?
        .items
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let left: usize = ACCOUNTS
        .iter()
        .map(|a| bed.connect.users(a.instance).len())
        .sum();
    println!(
        "Deleting all {}: {:.0} s, {} users left in Connect.",
        2 * args.users,
        t0.elapsed().as_secs_f64(),
        left
    );
    let _ = child.kill();
    let _ = child.wait();
    if left > 0 {
        return Err(format!("{left} users left in Connect").into());
    }
    Ok(())
}

fn epoch_secs(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn manifest(account: &Account, i: usize) -> ConnectUser {
    let name = format!("{}-{i:05}", account.object);
    serde_json::from_value(json!({
        "apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
        "metadata": {"name": name},
        "spec": {"instanceRef": {"kind": "ConnectInstance", "name": account.object},
                 "username": name.replace('-', ""),
                 "passwordSecretRef": {"name": "pw", "key": "p"},
                 "identityInfo": {"firstName": "Agent", "lastName": format!("{i:05}"),
                                  "email": format!("{name}@example.com")},
                 "securityProfiles": [{"name": "Agent"}], "routingProfile": {"name": "Basic Routing Profile"}}
    }))
    .expect("manifest")
}
