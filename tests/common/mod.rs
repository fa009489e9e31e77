//! End-to-end harness: both emulators over HTTP, the real kube client, the real AWS SDK, and the
//! operator's own controller running in-process exactly as `connect-user-operator run` runs it.
#![allow(dead_code)]

pub mod operator;

use std::sync::Arc;
use std::time::Duration;

use connect_user_operator::connect::{ConnectApi, ConnectSettings, SdkConfigBuilder, StaticKey};
use connect_user_operator::context::{Context, Settings};
use connect_user_operator::controller;
use connect_user_operator::crd::ConnectUser;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, CustomResourceExt, ResourceExt};
use serde_json::json;
use sim::connect::{CallRecord, ConnectConfig, ConnectSim, Consistency, InstanceSeed};
use sim::kube::KubeSim;

pub const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
pub const REGION: &str = "us-east-1";
pub const NS: &str = "default";
pub const PASSWORD: &str = "S3cret-Passw0rd-xyz";
/// The emulator's test key (the Connect emulator verifies every signature).
pub const TEST_KEY: StaticKey<'static> = StaticKey {
    access_key_id: sim::aws::TEST_ACCESS_KEY_ID,
    secret_access_key: sim::aws::TEST_SECRET_ACCESS_KEY,
};

pub const WRITE_OPS: &[&str] = &[
    "CreateUser",
    "DeleteUser",
    "UpdateUserIdentityInfo",
    "UpdateUserPhoneConfig",
    "UpdateUserRoutingProfile",
    "UpdateUserSecurityProfiles",
    "UpdateUserHierarchy",
    "UpdateUserConfig",
    "TagResource",
    "UntagResource",
    "CreateQuickConnect",
    "DeleteQuickConnect",
];

/// Connect seconds per real second in end-to-end tests: Connect's "several minutes" (the
/// model's 5-minute maximum delay) last a quarter of a real second.
pub const TIME_SCALE: f64 = 1200.0;

/// The longest a change takes to show in the Connect emulator, in real time.
pub const MAX_DELAY: Duration = Duration::from_millis(250);

/// The Connect emulator's eventual-consistency model as every end-to-end test runs it:
/// Connect's own shape (usually seconds, sometimes up to 5 minutes, NotFound or
/// InvalidRequestException meanwhile, search lagging apart from direct reads, ghosts, reserved
/// names), in scaled time.
pub fn consistency() -> Consistency {
    let c = Consistency {
        time_scale: TIME_SCALE,
        ..Consistency::default()
    };
    assert_eq!(c.real(c.max_delay), MAX_DELAY);
    c
}

/// The Connect emulator's configuration in end-to-end tests: the consistency model on.
pub fn connect_config() -> ConnectConfig {
    ConnectConfig {
        consistency: Some(consistency()),
        ..ConnectConfig::default()
    }
}

/// The operator's settle window in end-to-end tests: above the Connect emulator's longest
/// visibility delay (`MAX_DELAY`), so the operator's rules hold, and short, so deletions stay
/// fast.
pub const SETTLE: Duration = Duration::from_millis(400);

/// `SETTLE` as the binary's `--settle-window` / `SETTLE_WINDOW` value.
pub fn settle_arg() -> String {
    format!("{}ms", SETTLE.as_millis())
}

pub struct Options {
    pub resync: Duration,
    /// A full DescribeUser every this many resyncs (the operator's default: 6).
    pub full_describe_every: u32,
    pub connect: ConnectConfig,
    pub settings: ConnectSettings,
    /// The operator's `--settle-window`.
    pub settle: Duration,
    /// `--namespace` (empty: all) and `--cluster-connect-instances`.
    pub namespaces: Vec<String>,
    pub cluster_instances: bool,
    /// The operator's `--concurrency`.
    pub concurrency: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resync: Duration::from_secs(600),
            full_describe_every: Settings::default().full_describe_every,
            connect: connect_config(),
            settings: ConnectSettings::default(),
            settle: SETTLE,
            namespaces: Vec::new(),
            cluster_instances: true,
            concurrency: Settings::default().concurrency,
        }
    }
}

pub struct Env {
    pub kube: KubeSim,
    pub connect: ConnectSim,
    /// STS, sharing the Connect emulator's accounts and roles (`connect.iam()`).
    pub sts: sim::aws::StsSim,
    pub client: kube::Client,
    pub ctx: Arc<Context>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    operator: Option<tokio::task::JoinHandle<()>>,
}

/// The SDK configuration of in-process tests: built as the operator builds it, with the region,
/// the emulator's endpoint and its test key given in code (never through the environment, which
/// every test thread shares).
pub async fn sdk_config(connect: &ConnectSim) -> aws_config::SdkConfig {
    SdkConfigBuilder::default()
        .region(REGION)
        .connect_endpoint(connect.endpoint())
        .static_key(TEST_KEY)
        .load()
        .await
}

/// The same, with STS's endpoint: what the instance objects' roles are assumed through.
pub async fn sdk_config_with_sts(
    connect: &ConnectSim,
    sts: &sim::aws::StsSim,
) -> aws_config::SdkConfig {
    SdkConfigBuilder::default()
        .region(REGION)
        .connect_endpoint(connect.endpoint())
        .sts_endpoint(sts.endpoint())
        .static_key(TEST_KEY)
        .load()
        .await
}

/// Every CRD the operator serves, as the chart installs them.
pub fn crds() -> Vec<serde_json::Value> {
    use connect_user_operator::instance::crd::{ClusterConnectInstance, ConnectInstance};
    vec![
        serde_json::to_value(ConnectUser::crd()).unwrap(),
        serde_json::to_value(ConnectInstance::crd()).unwrap(),
        serde_json::to_value(ClusterConnectInstance::crd()).unwrap(),
    ]
}

pub async fn kube_client(kube: &KubeSim) -> kube::Client {
    let config = kube::Config::new(kube.url().parse().expect("emulator url"));
    kube::Client::try_from(config).expect("kube client")
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Env {
        let kube = KubeSim::start().await.expect("kube emulator");
        for crd in crds() {
            kube.create_object(crd).expect("install CRD");
        }
        let connect = ConnectSim::start(options.connect)
            .await
            .expect("connect emulator");
        let sts = sim::aws::StsSim::start(connect.iam().clone())
            .await
            .expect("STS emulator");
        connect.seed_instance(InstanceSeed::standard(INSTANCE));
        let client = kube_client(&kube).await;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "agent-passwords"},
            "stringData": {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD}
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("secret");
        let api = Arc::new(ConnectApi::new(
            sdk_config_with_sts(&connect, &sts).await,
            options.settings,
        ));
        let settings = Settings {
            default_region: Some(REGION.into()),
            resync_period: options.resync,
            full_describe_every: options.full_describe_every,
            scan_window: Duration::from_millis(20),
            settle_window: options.settle,
            namespaces: options.namespaces,
            cluster_instances: options.cluster_instances,
            concurrency: options.concurrency,
            ..Settings::default()
        };
        let ctx = Arc::new(Context::new(client.clone(), api, settings));
        let mut env = Env {
            kube,
            connect,
            sts,
            client,
            ctx,
            stop: None,
            operator: None,
        };
        env.start_operator();
        env
    }

    pub fn start_operator(&mut self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let ctx = self.ctx.clone();
        self.operator = Some(tokio::spawn(controller::run(ctx, async move {
            let _ = rx.await;
        })));
        self.stop = Some(tx);
    }

    pub async fn stop_operator(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
    }

    /// Stops the controller and starts a new one with empty caches and a new Connect client, as
    /// a restarted process would.
    pub async fn restart_fresh(&mut self, connect: ConnectSettings) {
        self.stop_operator().await;
        let api = Arc::new(ConnectApi::new(
            sdk_config_with_sts(&self.connect, &self.sts).await,
            connect,
        ));
        self.ctx = Arc::new(Context::new(
            self.client.clone(),
            api,
            self.ctx.settings.clone(),
        ));
        self.start_operator();
    }

    /// Reconciles finished by this Env's current controller (any result).
    pub fn reconciles(&self) -> u64 {
        self.ctx
            .metrics
            .encode()
            .lines()
            .filter(|l| l.starts_with("connect_user_operator_reconciles_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    pub fn api(&self) -> Api<ConnectUser> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn create(&self, yaml: &str) -> Result<ConnectUser, kube::Error> {
        let cu: ConnectUser = serde_yaml::from_str(yaml).expect("test manifest parses");
        self.api().create(&PostParams::default(), &cu).await
    }

    /// Creates from JSON as a user would send it, without going through the Rust types (for
    /// invalid manifests the types could not even represent).
    pub async fn create_raw(&self, value: serde_json::Value) -> Result<(), kube::Error> {
        let api: Api<kube::api::DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            NS,
            &kube::api::ApiResource::erase::<ConnectUser>(&()),
        );
        let obj: kube::api::DynamicObject = serde_json::from_value(value).unwrap();
        api.create(&PostParams::default(), &obj).await.map(|_| ())
    }

    pub async fn delete(&self, name: &str) {
        self.api()
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }

    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        cond: impl Fn(&ConnectUser) -> bool,
    ) -> ConnectUser {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(cu)) = self.api().get_opt(name).await
                && cond(&cu)
            {
                return cu;
            }
            if tokio::time::Instant::now() > deadline {
                let now = self.api().get_opt(name).await.ok().flatten();
                panic!(
                    "timed out waiting for {name}: {what}; now: {:#?}",
                    now.map(|c| c.status)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_ready(&self, name: &str) -> ConnectUser {
        self.wait_for(name, "Ready=True", |cu| {
            ready(cu) == Some(("True".into(), reason(cu)))
        })
        .await
    }

    pub async fn wait_reason(&self, name: &str, want: &str) -> ConnectUser {
        self.wait_for(name, want, |cu| reason(cu) == want).await
    }

    pub async fn wait_gone(&self, name: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while self.api().get_opt(name).await.expect("get").is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} still exists"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn writes(&self) -> Vec<CallRecord> {
        self.connect
            .calls()
            .into_iter()
            .filter(|c| WRITE_OPS.contains(&c.operation.as_str()))
            .collect()
    }

    /// Writes Connect carried out (answered 200): a CreateUser refused as a duplicate changed
    /// nothing.
    pub fn applied_writes(&self) -> Vec<CallRecord> {
        self.writes()
            .into_iter()
            .filter(|c| c.status == 200)
            .collect()
    }

    pub fn applied_write_ops(&self) -> Vec<String> {
        self.applied_writes()
            .into_iter()
            .map(|c| c.operation)
            .collect()
    }

    /// Asserts that Connect changed nothing: the only writes are CreateUser calls refused with
    /// DuplicateResourceException (CreateUser is how the operator learns a name is taken).
    pub fn assert_nothing_written(&self, what: &str) {
        let writes = self.writes();
        assert!(
            writes.iter().all(|c| c.operation == "CreateUser"
                && c.error_type.as_deref() == Some("DuplicateResourceException")),
            "{what}: {:?}",
            writes
                .iter()
                .map(|c| (c.operation.as_str(), c.status))
                .collect::<Vec<_>>()
        );
    }

    pub fn write_ops(&self) -> Vec<String> {
        self.writes().into_iter().map(|c| c.operation).collect()
    }

    pub async fn events(&self, name: &str) -> Vec<Event> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), NS);
        api.list(&ListParams::default())
            .await
            .expect("list events")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect()
    }

    /// Waits for an Event with `reason` on `name`: Events are published after the status write
    /// that describes them, so a test that saw the status may be a moment early.
    pub async fn wait_event(&self, name: &str, reason: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let reasons = self.event_reasons(name).await;
            if reasons.iter().any(|r| r == reason) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {reason} Event on {name}: {reasons:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        self.events(name)
            .await
            .into_iter()
            .filter_map(|e| e.reason)
            .collect()
    }

    pub fn user_id(cu: &ConnectUser) -> String {
        cu.status
            .as_ref()
            .and_then(|s| s.user_id.clone())
            .expect("status.userId")
    }

    pub fn uid(cu: &ConnectUser) -> String {
        cu.uid().unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(h) = self.operator.take() {
            h.abort();
        }
    }
}

pub fn ready(cu: &ConnectUser) -> Option<(String, String)> {
    let c = cu.status.as_ref()?.condition("Ready")?;
    Some((c.status.clone(), c.reason.clone()))
}

pub fn reason(cu: &ConnectUser) -> String {
    ready(cu).map(|(_, r)| r).unwrap_or_default()
}

/// Polls the object `name` until `cond` holds, for `within` at most.
pub async fn wait_object<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    within: Duration,
    cond: impl Fn(&K) -> bool,
) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let now = api.get_opt(name).await.unwrap();
        if let Some(o) = &now
            && cond(o)
        {
            return o.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: {what}; now {now:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts that admission refused `what` (422) with a message naming `field`.
pub fn assert_refused_naming<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, kube::Error>,
    field: &str,
) {
    match result.expect_err(what) {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422, "{what}: {status:?}");
            assert!(
                status.message.contains(field),
                "{what}: {} does not name {field}",
                status.message
            );
        }
        other => panic!("{what}: unexpected error {other}"),
    }
}

/// A minimal valid manifest for `name` (username = name) on the CONNECT_MANAGED test instance:
/// a password and the identity Connect requires there (first and last name, email), unless
/// `extra` brings its own `identityInfo`.
pub fn manifest(name: &str, extra: &str) -> String {
    let identity = if extra.contains("identityInfo:") {
        String::new()
    } else {
        format!(
            "  identityInfo: {{firstName: {name}, lastName: Tester, email: {name}@example.com}}\n"
        )
    };
    format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectUser\nmetadata:\n  name: {name}\nspec:\n  instanceId: {INSTANCE}\n  username: {name}\n  passwordSecretRef: {{name: agent-passwords, key: alice}}\n  securityProfiles: [{{name: Agent}}]\n  routingProfile: {{name: Basic Routing Profile}}\n{identity}{extra}"
    )
}
