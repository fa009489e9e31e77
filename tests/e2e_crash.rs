//! Crash matrix: the real operator binary is SIGKILLed right after each Connect call of the create,
//! update and delete paths succeeded at the emulator (before the operator saw the answer), then
//! restarted. The end state must be exact: one Connect user per resource, deleted users and all
//! their quick connects gone, nothing else touched, the finalizer released only after cleanup.
//! The operator logs at debug level throughout, and no log line may contain the password.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PostParams};
use kube::{Api, CustomResourceExt};
use serde_json::json;
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed, SimQuickConnect, SimUser};
use sim::kube::KubeSim;

struct Bed {
    // Held so the emulator keeps serving: dropping the last handle stops it.
    _kube: KubeSim,
    connect: ConnectSim,
    client: kube::Client,
    dir: tempfile::TempDir,
    child: Arc<Mutex<Option<Child>>>,
    starts: usize,
}

impl Bed {
    async fn new() -> Bed {
        let kube = KubeSim::start().await.unwrap();
        kube.create_object(serde_json::to_value(ConnectUser::crd()).unwrap())
            .unwrap();
        let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
        // The emulator verifies signatures: the key this test's operator signs with.
        connect.iam().add_access_key(
            sim::aws::TEST_ACCOUNT_ID,
            "crash-test",
            "AKIDCRASHTEST",
            "crash-test-secret",
        );
        connect.seed_instance(InstanceSeed::standard(INSTANCE));
        let client = kube_client(&kube).await;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        let s: Secret = serde_json::from_value(
            json!({"metadata": {"name": "agent-passwords"}, "stringData": {"alice": PASSWORD}}),
        )
        .unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        kube.write_kubeconfig(&dir.path().join("kubeconfig"))
            .unwrap();
        Bed {
            _kube: kube,
            connect,
            client,
            dir,
            child: Arc::default(),
            starts: 0,
        }
    }

    fn start(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("operator-{}.log", self.starts)),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_connect-user-operator"))
            .args([
                "run",
                "--metrics-addr",
                "127.0.0.1:0",
                "--resync-period",
                "1s",
                "--connect-rate",
                "0",
            ])
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint())
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "AKIDCRASHTEST")
            .env("AWS_SECRET_ACCESS_KEY", "crash-test-secret")
            .env("SETTLE_WINDOW", settle_arg())
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("operator binary");
        *self.child.lock().unwrap() = Some(child);
    }

    /// SIGKILL the operator right after the `nth` successful `operation` changed Connect.
    fn kill_after(&self, operation: &str, nth: usize) {
        let child = self.child.clone();
        self.connect.on_success(operation, nth, move || {
            if let Some(c) = child.lock().unwrap().as_mut() {
                let _ = c.kill();
            }
        });
    }

    async fn wait_killed(&self) {
        for _ in 0..600 {
            if let Some(c) = self.child.lock().unwrap().as_mut()
                && c.try_wait().unwrap().is_some()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("operator was not killed");
    }

    fn api(&self) -> Api<ConnectUser> {
        Api::namespaced(self.client.clone(), NS)
    }

    async fn wait<T>(&self, what: &str, mut f: impl FnMut(Option<ConnectUser>) -> Option<T>) -> T {
        for _ in 0..600 {
            let cu = self.api().get_opt("alice").await.unwrap();
            if let Some(t) = f(cu) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out: {what}");
    }

    async fn wait_ready(&self) -> ConnectUser {
        self.wait("Ready", |cu| {
            cu.filter(|c| {
                ready(c).is_some_and(|(s, _)| s == "True")
                    && c.status.as_ref().and_then(|s| s.observed_generation)
                        == c.metadata.generation
            })
        })
        .await
    }

    fn assert_no_password_in_logs(&self) {
        for i in 1..=self.starts {
            let log = std::fs::read_to_string(self.dir.path().join(format!("operator-{i}.log")))
                .unwrap_or_default();
            assert!(
                !log.contains(PASSWORD),
                "password found in operator log {i}"
            );
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.lock().unwrap().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

const FULL: &str = "  identityInfo: {firstName: Alice, lastName: L, email: alice@example.com}\n  hierarchyGroup: {name: Tier1}\n  tags: {team: a}\n";

async fn create(bed: &Bed, extra: &str) {
    let cu: ConnectUser = serde_yaml::from_str(&manifest("alice", extra)).unwrap();
    bed.api().create(&PostParams::default(), &cu).await.unwrap();
}

fn users_named(bed: &Bed, name: &str) -> Vec<SimUser> {
    bed.connect
        .users(INSTANCE)
        .into_iter()
        .filter(|u| u.username == name)
        .collect()
}

fn flow() -> String {
    InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone()
}

fn qc(name: &str, user: &str) -> SimQuickConnect {
    SimQuickConnect {
        name: name.into(),
        quick_connect_type: "USER".into(),
        user_id: Some(user.into()),
        contact_flow_id: Some(flow()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_create_user_never_creates_a_second_user() {
    let mut bed = Bed::new().await;
    bed.kill_after("CreateUser", 1);
    bed.start();
    create(&bed, FULL).await;
    bed.wait_killed().await;
    assert_eq!(users_named(&bed, "alice").len(), 1);
    bed.start();
    let cu = bed.wait_ready().await;
    let users = users_named(&bed, "alice");
    assert_eq!(users.len(), 1, "exactly one Connect user");
    assert_eq!(Env::user_id(&cu), users[0].id);
    assert_eq!(users[0].tags.get(OWNER_TAG), Some(&Env::uid(&cu)));
    let creates = bed
        .connect
        .calls()
        .iter()
        .filter(|c| c.operation == "CreateUser")
        .count();
    assert_eq!(creates, 1);
    bed.assert_no_password_in_logs();
}

async fn crash_during_update(op: &str, change: serde_json::Value) {
    let mut bed = Bed::new().await;
    bed.start();
    create(&bed, FULL).await;
    let cu = bed.wait_ready().await;
    let id = Env::user_id(&cu);
    bed.kill_after(op, 1);
    bed.api()
        .patch(
            "alice",
            &Default::default(),
            &Patch::Merge(json!({"spec": change})),
        )
        .await
        .unwrap();
    bed.wait_killed().await;
    bed.start();
    bed.wait_ready().await;
    // Converged: one more pass finds nothing to change.
    bed.connect.clear_calls();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let writes: Vec<String> = bed
        .connect
        .calls()
        .into_iter()
        .map(|c| c.operation)
        .filter(|o| WRITE_OPS.contains(&o.as_str()))
        .collect();
    assert!(
        writes.is_empty(),
        "{op}: still writing after convergence: {writes:?}"
    );
    assert_eq!(users_named(&bed, "alice").len(), 1);
    assert_eq!(users_named(&bed, "alice")[0].id, id);
    bed.assert_no_password_in_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_update_user_identity_info() {
    crash_during_update(
        "UpdateUserIdentityInfo",
        json!({"identityInfo": {"firstName": "Alicia"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_update_user_config_for_the_phone() {
    // A phoneConfig change is UpdateUserConfig with the VOICE entries.
    crash_during_update(
        "UpdateUserConfig",
        json!({"phoneConfig": {"autoAccept": true}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_update_user_routing_profile() {
    crash_during_update(
        "UpdateUserRoutingProfile",
        json!({"routingProfile": {"name": "Sales"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_update_user_security_profiles() {
    crash_during_update(
        "UpdateUserSecurityProfiles",
        json!({"securityProfiles": [{"name": "Admin"}]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_update_user_hierarchy() {
    crash_during_update(
        "UpdateUserHierarchy",
        json!({"hierarchyGroup": {"name": "Tier2"}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_tag_resource() {
    crash_during_update("TagResource", json!({"tags": {"team": "b"}})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_untag_resource() {
    crash_during_update("UntagResource", json!({"tags": null})).await;
}

async fn crash_during_delete(op: &str, nth: usize) {
    let mut bed = Bed::new().await;
    bed.start();
    create(&bed, "").await;
    let id = Env::user_id(&bed.wait_ready().await);
    let other = bed.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "other".into(),
            routing_profile_id: InstanceSeed::standard(INSTANCE).routing_profiles[0]
                .0
                .clone(),
            security_profile_ids: vec![
                InstanceSeed::standard(INSTANCE).security_profiles[0]
                    .0
                    .clone(),
            ],
            ..Default::default()
        },
    );
    for i in 0..3 {
        bed.connect
            .insert_quick_connect(INSTANCE, qc(&format!("mine-{i}"), &id));
    }
    let keep = bed
        .connect
        .insert_quick_connect(INSTANCE, qc("theirs", &other));
    bed.kill_after(op, nth);
    bed.api()
        .delete("alice", &Default::default())
        .await
        .unwrap();
    bed.wait_killed().await;
    // Killed mid-cleanup: the finalizer must still hold the resource.
    let cu = bed
        .api()
        .get_opt("alice")
        .await
        .unwrap()
        .expect("finalizer still holds the resource");
    assert!(cu.metadata.deletion_timestamp.is_some());
    bed.start();
    bed.wait("gone", |cu| cu.is_none().then_some(())).await;
    assert!(bed.connect.user(INSTANCE, &id).is_none());
    let left: Vec<String> = bed
        .connect
        .quick_connects(INSTANCE)
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(
        left,
        vec![keep],
        "only the other user's quick connect remains"
    );
    assert!(bed.connect.user(INSTANCE, &other).is_some());
    bed.assert_no_password_in_logs();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_delete_user() {
    crash_during_delete("DeleteUser", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_first_delete_quick_connect() {
    crash_during_delete("DeleteQuickConnect", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_last_delete_quick_connect() {
    crash_during_delete("DeleteQuickConnect", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_adoption_tag() {
    let mut bed = Bed::new().await;
    let seed = InstanceSeed::standard(INSTANCE);
    let existing = bed.connect.insert_user(
        INSTANCE,
        SimUser {
            username: "alice".into(),
            routing_profile_id: seed.routing_profiles[0].0.clone(),
            security_profile_ids: vec![seed.security_profiles[0].0.clone()],
            ..Default::default()
        },
    );
    bed.kill_after("TagResource", 1);
    bed.start();
    create(&bed, "  adoptExisting: true\n").await;
    bed.wait_killed().await;
    bed.start();
    let cu = bed.wait_ready().await;
    assert_eq!(Env::user_id(&cu), existing);
    assert_eq!(users_named(&bed, "alice").len(), 1);
    assert!(
        !bed.connect
            .calls()
            .iter()
            .any(|c| c.operation == "CreateUser")
    );
}
