//! Throughput of the emulators through the real clients (kube-rs and aws-sdk-connect over HTTP).
//! Prints figures; asserts nothing about speed.
//!
//!     cargo run --release -p sim --example sim_bench [-- --objects 10000 --watchers 20 --writes 5000]

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;
use sim::connect::{ConnectConfig, ConnectSim, Consistency, InstanceSeed, SimUser};
use sim::kube::KubeSim;

struct Args {
    objects: usize,
    watchers: usize,
    writes: usize,
    connect_calls: usize,
}

fn args() -> Args {
    let mut a = Args {
        objects: 10_000,
        watchers: 20,
        writes: 5_000,
        connect_calls: 5_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let n = || {
            pair.get(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", pair[0]))
        };
        match pair[0].as_str() {
            "--objects" => a.objects = n(),
            "--watchers" => a.watchers = n(),
            "--writes" => a.writes = n(),
            "--connect-calls" => a.connect_calls = n(),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:>9.0}/s", n as f64 / d.as_secs_f64())
}

#[tokio::main]
async fn main() {
    let a = args();
    let kube = KubeSim::start().await.unwrap();
    kube.create_object(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.sim.dev"},
        "spec": {"group": "example.sim.dev", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object", "properties": {"spec": {"type": "object", "properties": {
                    "n": {"type": "integer", "minimum": 0}, "color": {"type": "string", "enum": ["red", "blue"]}}}}}}}]}
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    kube.write_kubeconfig(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(&path).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let ar = ApiResource {
        group: "example.sim.dev".into(),
        version: "v1".into(),
        api_version: "example.sim.dev/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let widget = |name: String, n: usize| -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "example.sim.dev/v1", "kind": "Widget",
            "metadata": {"name": name}, "spec": {"n": n, "color": "red"}}))
        .unwrap()
    };

    println!("Kubernetes API emulator (kube-rs over HTTP, schema validation on)");
    // Creates from 8 concurrent clients, as a controller's workers would.
    let start = Instant::now();
    futures::stream::iter(0..a.objects)
        .map(|i| {
            let api = api.clone();
            let w = widget(format!("w{i:06}"), i);
            async move { api.create(&PostParams::default(), &w).await.unwrap() }
        })
        .buffer_unordered(8)
        .for_each(|_| async {})
        .await;
    let took = start.elapsed();
    println!(
        "  create {:>6} objects        {:>8.2} s  {}",
        a.objects,
        took.as_secs_f64(),
        rate(a.objects, took)
    );

    let start = Instant::now();
    let all = api.list(&ListParams::default()).await.unwrap();
    let took = start.elapsed();
    assert_eq!(all.items.len(), a.objects);
    println!(
        "  list {:>6} objects (1 call)  {:>8.3} s",
        a.objects,
        took.as_secs_f64()
    );
    let start = Instant::now();
    let mut pages = 0;
    let mut seen = 0;
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        seen += page.items.len();
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(seen, a.objects);
    println!(
        "  list {:>6} objects ({pages} pages) {:>7.3} s",
        a.objects,
        start.elapsed().as_secs_f64()
    );

    // Watchers from the list's resourceVersion; each must see every write.
    let rv = api
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut watchers = Vec::new();
    for _ in 0..a.watchers {
        let api = api.clone();
        let rv = rv.clone();
        let want = a.writes;
        watchers.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(290), &rv)
                .await
                .unwrap()
                .boxed();
            let mut got = 0;
            while let Some(ev) = stream.try_next().await.unwrap() {
                if let WatchEvent::Modified(_) = ev {
                    got += 1;
                    if got == want {
                        return Instant::now();
                    }
                }
            }
            panic!("watch ended after {got} of {want} events");
        }));
    }
    let start = Instant::now();
    futures::stream::iter(0..a.writes)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("w{:06}", i % a.objects.max(1));
                let patch = kube::api::Patch::Merge(json!({"spec": {"n": i + 1}}));
                api.patch(&name, &Default::default(), &patch).await.unwrap()
            }
        })
        .buffer_unordered(8)
        .for_each(|_| async {})
        .await;
    let writes_done = start.elapsed();
    let mut last = start;
    for w in watchers {
        last = last.max(w.await.unwrap());
    }
    let caught_up = last.duration_since(start);
    println!(
        "  {:>5} patches                  {:>8.2} s  {}",
        a.writes,
        writes_done.as_secs_f64(),
        rate(a.writes, writes_done)
    );
    println!(
        "  {} watchers all saw all {} events after {:.2} s (lag behind the last write {:.0} ms)",
        a.watchers,
        a.writes,
        caught_up.as_secs_f64(),
        caught_up.saturating_sub(writes_done).as_secs_f64() * 1000.0
    );

    println!("Amazon Connect API emulator (aws-sdk-connect over HTTP, no quota)");
    let start = Instant::now();
    let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    // The first start in a process decodes and compiles the service model.
    println!(
        "  start (loads the service model)          {:>8.3} s",
        start.elapsed().as_secs_f64()
    );
    let instance = "11111111-2222-3333-4444-555555555555";
    connect.seed_instance(InstanceSeed::standard(instance));
    let sdk = connect_client(&connect);
    for concurrency in [1, 8] {
        let start = Instant::now();
        futures::stream::iter(0..a.connect_calls)
            .map(|_| {
                let sdk = sdk.clone();
                async move {
                    sdk.list_routing_profiles()
                        .instance_id(instance)
                        .send()
                        .await
                        .unwrap()
                }
            })
            .buffer_unordered(concurrency)
            .for_each(|_| async {})
            .await;
        let took = start.elapsed();
        println!(
            "  {:>5} ListRoutingProfiles, {concurrency} in flight {:>8.2} s  {}",
            a.connect_calls,
            took.as_secs_f64(),
            rate(a.connect_calls, took)
        );
    }
    let start = Instant::now();
    let creates = a.connect_calls.min(2_000);
    let routing = connect_routing(&sdk, instance).await;
    futures::stream::iter(0..creates)
        .map(|i| {
            let sdk = sdk.clone();
            let routing = routing.clone();
            async move {
                sdk.create_user()
                    .instance_id(instance)
                    .username(format!("bench{i:05}"))
                    .password("Passw0rd!")
                    .identity_info(
                        aws_sdk_connect::types::UserIdentityInfo::builder()
                            .first_name("Bench")
                            .last_name(format!("User {i}"))
                            .email(format!("bench{i:05}@example.com"))
                            .build(),
                    )
                    .routing_profile_id(routing.0)
                    .security_profile_ids(routing.1)
                    .phone_config(
                        aws_sdk_connect::types::UserPhoneConfig::builder()
                            .phone_type(aws_sdk_connect::types::PhoneType::SoftPhone)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(8)
        .for_each(|_| async {})
        .await;
    let took = start.elapsed();
    println!(
        "  {:>5} CreateUser, 8 in flight      {:>8.2} s  {}",
        creates,
        took.as_secs_f64(),
        rate(creates, took)
    );

    // Reads of users that were just updated (each one tagged), with the model off and with it
    // on and every update still inside its window (delays up to an hour): the worst case for
    // the model, where each read stages the previous version of every user it covers and is
    // answered twice to count stale reads.
    for (label, consistency) in [
        ("consistency model off", None),
        (
            "consistency model on, every user's update pending",
            Some(Consistency {
                typical_delay: Duration::from_secs(3600),
                ..Consistency::new(Duration::from_secs(3600))
            }),
        ),
    ] {
        println!("Amazon Connect API emulator, {label}");
        let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
        connect.seed_instance(InstanceSeed::standard(instance));
        let sdk = connect_client(&connect);
        let (routing, security) = connect_routing(&sdk, instance).await;
        let ids: Vec<String> = (0..creates)
            .map(|i| {
                connect.insert_user(
                    instance,
                    SimUser {
                        username: format!("bench{i:05}"),
                        routing_profile_id: routing.clone(),
                        security_profile_ids: vec![security.clone()],
                        ..SimUser::default()
                    },
                )
            })
            .collect();
        // Switched on after the users exist: only the updates lag.
        connect.set_consistency(consistency);
        for id in &ids {
            connect.modify_user(instance, id, |u| {
                u.tags.insert("team".into(), "blue".into());
            });
        }
        let start = Instant::now();
        futures::stream::iter(ids.iter())
            .map(|id| {
                let sdk = sdk.clone();
                async move {
                    sdk.describe_user()
                        .instance_id(instance)
                        .user_id(id)
                        .send()
                        .await
                        .unwrap()
                }
            })
            .buffer_unordered(8)
            .for_each(|_| async {})
            .await;
        let took = start.elapsed();
        println!(
            "  {:>5} DescribeUser, 8 in flight    {:>8.2} s  {}",
            ids.len(),
            took.as_secs_f64(),
            rate(ids.len(), took)
        );
        let scans = 10;
        let start = Instant::now();
        let mut pages = 0;
        for _ in 0..scans {
            let mut token = None;
            loop {
                let out = sdk
                    .search_users()
                    .instance_id(instance)
                    .max_results(500)
                    .set_next_token(token)
                    .send()
                    .await
                    .unwrap();
                pages += 1;
                token = out.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        let took = start.elapsed();
        println!(
            "  {scans} SearchUsers scans of {} users ({pages} pages) {:>6.2} s  {:>6.1} ms/page  (stale reads counted: {})",
            ids.len(),
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / pages as f64,
            connect.stale_reads()
        );
    }
}

fn connect_client(connect: &ConnectSim) -> aws_sdk_connect::Client {
    let conf = aws_sdk_connect::Config::builder()
        .behavior_version(aws_sdk_connect::config::BehaviorVersion::latest())
        .region(aws_sdk_connect::config::Region::new("us-east-1"))
        .endpoint_url(connect.endpoint())
        .credentials_provider(aws_sdk_connect::config::Credentials::new(
            sim::aws::TEST_ACCESS_KEY_ID,
            sim::aws::TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "bench",
        ))
        .build();
    aws_sdk_connect::Client::from_conf(conf)
}

/// (routing profile id, security profile id) of the seeded instance, read through the API.
async fn connect_routing(sdk: &aws_sdk_connect::Client, instance: &str) -> (String, String) {
    let rp = sdk
        .list_routing_profiles()
        .instance_id(instance)
        .send()
        .await
        .unwrap();
    let sp = sdk
        .list_security_profiles()
        .instance_id(instance)
        .send()
        .await
        .unwrap();
    (
        rp.routing_profile_summary_list()[0]
            .id()
            .unwrap()
            .to_string(),
        sp.security_profile_summary_list()[0]
            .id()
            .unwrap()
            .to_string(),
    )
}
