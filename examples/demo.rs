//! The demo: both emulators in-process (Connect eventually consistent, in fast motion), the real
//! controller against them, the example manifests applied, then one user deleted to show
//! DeleteUser followed by every DeleteQuickConnect, and the last quick-connect listing once the
//! settle window has passed, before the resource disappears.
//!
//!     cargo run --release --example demo

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_user_operator::connect::{
    ConnectApi, ConnectSettings, Rate, SdkConfigBuilder, StaticKey,
};
use connect_user_operator::context::{Context, Settings};
use connect_user_operator::controller;
use connect_user_operator::crd::ConnectUser;
use kube::api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Api, CustomResourceExt, ResourceExt};
use sim::connect::{ConnectConfig, ConnectSim, Consistency, InstanceSeed, Quota, SimQuickConnect};
use sim::kube::KubeSim;

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
const NS: &str = "contact-center";

type DemoResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> DemoResult {
    let started = Instant::now();
    step("Starting the emulators (Kubernetes API and Amazon Connect API on 127.0.0.1)");
    let kube = KubeSim::start().await?;
    // Eventually consistent like Amazon Connect, in fast motion: its "several minutes" last 1 s.
    let connect = ConnectSim::start(ConnectConfig {
        quota: Some(Quota::default()),
        consistency: Some(Consistency {
            time_scale: 300.0,
            ..Consistency::default()
        }),
        ..Default::default()
    })
    .await?;
    connect.seed_instance(InstanceSeed::standard(INSTANCE));
    let dir =
        std::env::temp_dir().join(format!("connect-user-operator-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig)?;
    println!(
        "  Kubernetes API   {}   (KUBECONFIG={})",
        kube.url(),
        kubeconfig.display()
    );
    println!(
        "  Amazon Connect   {}   (instance {INSTANCE}, quota 2 req/s burst 5 per API, eventually consistent: up to 1 s)",
        connect.endpoint()
    );

    step("Installing the ConnectUser CRD and starting the controller");
    kube.create_object(serde_json::to_value(ConnectUser::crd())?)
        .map_err(|s| format!("CRD rejected: {s}"))?;
    let client = kube::Client::try_from(kube::Config::new(kube.url().parse()?))?;
    let sdk_config = SdkConfigBuilder::default()
        .region("us-east-1")
        .connect_endpoint(connect.endpoint())
        .static_key(StaticKey {
            access_key_id: sim::aws::TEST_ACCESS_KEY_ID,
            secret_access_key: sim::aws::TEST_SECRET_ACCESS_KEY,
        })
        .load()
        .await;
    let api = Arc::new(ConnectApi::new(
        sdk_config,
        ConnectSettings {
            rate: Some(Rate::default()),
            max_attempts: None,
            control: None,
        },
    ));
    let settings = Settings {
        default_region: Some("us-east-1".into()),
        resync_period: Duration::from_secs(30),
        // Above the emulator's 1 s; a real Connect needs the default five minutes.
        settle_window: Duration::from_secs(2),
        ..Settings::default()
    };
    let ctx = Arc::new(Context::new(client.clone(), api, settings));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(controller::run(ctx, async move {
        let _ = stopped.await;
    }));

    step("Applying deploy/examples/ (namespace, password Secret, two ConnectUsers)");
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    for file in [
        "00-namespace.yaml",
        "01-secret.yaml",
        "alice.yaml",
        "bob.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{examples}/{file}"))?;
        let obj: DynamicObject = serde_yaml::from_str(&text)?;
        apply(&client, &obj).await?;
        println!(
            "  applied {file}: {} {}",
            obj.types.as_ref().map(|t| t.kind.as_str()).unwrap_or("?"),
            obj.name_any()
        );
    }

    let users: Api<ConnectUser> = Api::namespaced(client.clone(), NS);
    step("Waiting for both users to be Ready");
    for name in ["alice", "bob"] {
        let cu = wait(&users, name, |cu| {
            cu.status
                .as_ref()
                .and_then(|s| s.condition("Ready"))
                .is_some_and(|c| c.status == "True")
        })
        .await?;
        let s = cu.status.unwrap_or_default();
        println!(
            "  {name:<6} Ready  userId={}",
            s.user_id.unwrap_or_default()
        );
    }
    println!("\n  Users in Connect now:");
    for u in connect.users(INSTANCE) {
        println!("    {:<8} {}  tags={:?}", u.username, u.id, u.tags);
    }

    step("An admin adds quick connects (transfer targets) for alice and bob in the console");
    let alice_id = connect
        .user_by_name(INSTANCE, "alice")
        .map(|u| u.id)
        .unwrap_or_default();
    let bob_id = connect
        .user_by_name(INSTANCE, "bob")
        .map(|u| u.id)
        .unwrap_or_default();
    let flow = InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone();
    for (name, target) in [
        ("Transfer to Alice", &alice_id),
        ("Alice (escalations)", &alice_id),
        ("Alice (VIP line)", &alice_id),
        ("Transfer to Bob", &bob_id),
    ] {
        let id = connect.insert_quick_connect(
            INSTANCE,
            SimQuickConnect {
                name: name.into(),
                quick_connect_type: "USER".into(),
                user_id: Some(target.clone()),
                contact_flow_id: Some(flow.clone()),
                ..Default::default()
            },
        );
        println!(
            "  quick connect {name:<22} -> {}  ({id})",
            if target == &alice_id { "alice" } else { "bob" }
        );
    }

    step(
        "kubectl delete connectuser alice   (Terraform, Crossplane and CloudFormation stop at DeleteUser)",
    );
    connect.clear_calls();
    let t0 = Instant::now();
    users.delete("alice", &DeleteParams::default()).await?;
    let mut shown = 0;
    let mut last_pending = String::new();
    loop {
        let calls = connect.calls();
        for c in &calls[shown..] {
            if c.operation.starts_with("Delete") || c.operation.starts_with("Search") {
                println!(
                    "  +{:>5} ms  Connect {:<20} {:<38} -> {}",
                    t0.elapsed().as_millis(),
                    c.operation,
                    c.target.clone().unwrap_or_default(),
                    c.status
                );
            }
        }
        shown = calls.len();
        if let Some(cu) = users.get_opt("alice").await?
            && let Some(pending) = cu
                .status
                .and_then(|s| s.cleanup)
                .map(|c| c.pending)
                .filter(|p| !p.is_empty() && *p != last_pending)
        {
            println!(
                "  +{:>5} ms  status.cleanup: {pending}",
                t0.elapsed().as_millis()
            );
            last_pending = pending;
        }
        if users.get_opt("alice").await?.is_none() {
            println!(
                "  +{:>5} ms  finalizer released: ConnectUser alice is gone",
                t0.elapsed().as_millis()
            );
            break;
        }
        if t0.elapsed() > Duration::from_secs(60) {
            return Err("alice was not deleted within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    step("What is left in Connect");
    for u in connect.users(INSTANCE) {
        println!("  user          {:<8} {}", u.username, u.id);
    }
    for q in connect.quick_connects(INSTANCE) {
        println!(
            "  quick connect {:<22} -> {}",
            q.name,
            q.user_id.unwrap_or_default()
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), operator).await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\nDone in {:.1} s: alice's user and her 3 quick connects are gone; bob and his quick connect are untouched.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn step(title: &str) {
    println!("\n==> {title}");
}

/// Server-side apply of one manifest, as `kubectl apply --server-side` would.
async fn apply(client: &kube::Client, obj: &DynamicObject) -> DemoResult {
    let types = obj
        .types
        .clone()
        .ok_or("manifest without apiVersion/kind")?;
    let (group, version) = types
        .api_version
        .split_once('/')
        .unwrap_or(("", &types.api_version));
    let plural = format!("{}s", types.kind.to_lowercase());
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: types.api_version.clone(),
        kind: types.kind.clone(),
        plural,
    };
    let api: Api<DynamicObject> = match obj.namespace() {
        Some(ns) => Api::namespaced_with(client.clone(), &ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    api.patch(
        &obj.name_any(),
        &PatchParams::apply("demo"),
        &Patch::Apply(obj),
    )
    .await?;
    Ok(())
}

async fn wait(
    api: &Api<ConnectUser>,
    name: &str,
    cond: impl Fn(&ConnectUser) -> bool,
) -> Result<ConnectUser, Box<dyn std::error::Error + Send + Sync>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(cu) = api.get_opt(name).await?
            && cond(&cu)
        {
            return Ok(cu);
        }
        if Instant::now() > deadline {
            return Err(format!("{name} not Ready within 60 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
