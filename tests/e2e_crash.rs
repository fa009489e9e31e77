//! Crash matrix: the real operator binary is SIGKILLed right after each Connect call of the create,
//! update and delete paths succeeded at the emulator (before the operator saw the answer), then
//! restarted. The end state must be exact: one Connect user per resource, deleted users and all
//! their quick connects gone, nothing else touched, the finalizer released only after cleanup.
//! The operator logs at debug level throughout, and no log line may contain the password.
//! Connect's eventual consistency is on, as in every end-to-end test; the two SIGKILL-then-delete
//! scenarios pin the user's delays to the model's maximum and come with a negative control.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::operator::{Cluster, Operator};
use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use kube::Api;
use kube::api::{Patch, PostParams};
use serde_json::json;
use sim::connect::{InstanceSeed, SimQuickConnect, SimUser};

type Kill = Box<dyn Fn() + Send + Sync>;

struct Bed {
    cluster: Cluster,
    /// Every operator process started, the running one last (their logs are checked).
    operators: Vec<Operator>,
    /// Kills the running operator: Connect success hooks are set before it starts.
    kill_running: Arc<Mutex<Option<Kill>>>,
    /// The operator's `--settle-window`.
    settle: String,
}

impl Bed {
    async fn new() -> Bed {
        Bed::with(connect_config(), settle_arg()).await
    }

    async fn with(config: sim::connect::ConnectConfig, settle: String) -> Bed {
        Bed {
            cluster: Cluster::start_with(&[NS], config).await,
            operators: Vec::new(),
            kill_running: Arc::default(),
            settle,
        }
    }

    fn start(&mut self) {
        let label = format!("operator-{}", self.operators.len() + 1);
        let env = [
            ("SETTLE_WINDOW", self.settle.as_str()),
            ("RUST_LOG", "debug"),
        ];
        let operator = self.cluster.spawn(&label, &["--resync-period", "1s"], &env);
        *self.kill_running.lock().unwrap() = Some(Box::new(operator.killer()));
        self.operators.push(operator);
    }

    fn running(&self) -> &Operator {
        self.operators.last().expect("an operator was started")
    }

    /// SIGKILL the operator right after the `nth` successful `operation` changed Connect.
    fn kill_after(&self, operation: &str, nth: usize) {
        let kill = self.kill_running.clone();
        self.cluster.connect.on_success(operation, nth, move || {
            if let Some(kill) = kill.lock().unwrap().as_ref() {
                kill();
            }
        });
    }

    async fn wait_killed(&self) {
        self.running()
            .wait_exit(Duration::from_secs(30))
            .await
            .expect("operator was not killed");
    }

    fn api(&self) -> Api<ConnectUser> {
        self.cluster.api(NS)
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

    /// Reconciles the running operator has finished (any result), from its /metrics.
    async fn reconciles(&self) -> u64 {
        let addr = self.running().http_addr().await;
        let (status, _, body) = common::operator::http_get(addr, "/metrics").await;
        assert_eq!(status, 200);
        body.lines()
            .filter(|l| l.starts_with("connect_user_operator_reconciles_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    fn assert_no_password_in_logs(&self) {
        for operator in &self.operators {
            assert!(
                !operator.log_text().contains(PASSWORD),
                "password found in the log of {}",
                operator.label
            );
        }
    }
}

const FULL: &str = "  identityInfo: {firstName: Alice, lastName: L, email: alice@example.com}\n  hierarchyGroup: {name: Tier1}\n  tags: {team: a}\n";

async fn create(bed: &Bed, extra: &str) {
    let cu: ConnectUser = serde_yaml::from_str(&manifest("alice", extra)).unwrap();
    bed.api().create(&PostParams::default(), &cu).await.unwrap();
}

fn users_named(bed: &Bed, name: &str) -> Vec<SimUser> {
    bed.cluster
        .connect
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
        .cluster
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
    // Converged: a whole pass from here on finds nothing to change. The first pass to finish
    // may have begun before; the second began after it (one resource is never reconciled
    // twice at once), and the operator resyncs every second.
    bed.cluster.connect.clear_calls();
    let from = bed.reconciles().await;
    for _ in 0..600 {
        if bed.reconciles().await >= from + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        bed.reconciles().await >= from + 2,
        "{op}: no whole pass after convergence"
    );
    let writes: Vec<String> = bed
        .cluster
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
    let other = bed.cluster.connect.insert_user(
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
        bed.cluster
            .connect
            .insert_quick_connect(INSTANCE, qc(&format!("mine-{i}"), &id));
    }
    let keep = bed
        .cluster
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
    assert!(bed.cluster.connect.user(INSTANCE, &id).is_none());
    let left: Vec<String> = bed
        .cluster
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
    assert!(bed.cluster.connect.user(INSTANCE, &other).is_some());
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
    let existing = bed.cluster.connect.insert_user(
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
        !bed.cluster
            .connect
            .calls()
            .iter()
            .any(|c| c.operation == "CreateUser")
    );
}

/// Restarting the binary takes longer than the in-process tests' half second: here Connect's
/// longest delay lasts 2 s of real time, and the operator's settle window 3 s.
fn slow_connect() -> sim::connect::ConnectConfig {
    let mut config = connect_config();
    if let Some(c) = config.consistency.as_mut() {
        c.time_scale = 150.0;
    }
    config
}

const SLOW_SETTLE: &str = "3s";

fn stale(bed: &Bed, operations: &[&str]) -> u64 {
    let by_op = bed.cluster.connect.stale_reads_by_operation();
    operations.iter().filter_map(|op| by_op.get(*op)).sum()
}

/// SIGKILL right after CreateUser changed Connect, before the operator could record the id;
/// then the resource is deleted while the operator is down, and it starts again. Returns the
/// users named alice left in Connect's authoritative state.
async fn kill_after_create_user_then_delete(settle: &str) -> (Vec<SimUser>, u64) {
    let mut bed = Bed::with(slow_connect(), settle.into()).await;
    bed.cluster.connect.pin_delay(
        sim::connect::Pin::Username("alice".into()),
        sim::connect::PinnedDelay::Max,
    );
    bed.kill_after("CreateUser", 1);
    bed.start();
    create(&bed, "").await;
    bed.wait_killed().await;
    let cu = bed.api().get("alice").await.unwrap();
    let s = cu.status.clone().unwrap_or_default();
    assert!(
        s.create_attempted_at.is_some() && s.user_id.is_none(),
        "the attempt was recorded before CreateUser, the id not yet: {s:?}"
    );
    bed.api()
        .delete("alice", &Default::default())
        .await
        .unwrap();
    bed.start();
    bed.wait("gone", |cu| cu.is_none().then_some(())).await;
    bed.assert_no_password_in_logs();
    (
        users_named(&bed, "alice"),
        stale(&bed, &["SearchUsers", "DescribeUser", "DeleteUser"]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_create_user_and_its_record_then_delete_leaves_no_user() {
    let (left, stale) = kill_after_create_user_then_delete(SLOW_SETTLE).await;
    assert!(
        stale > 0,
        "the search by username missed the new user at first"
    );
    assert!(left.is_empty(), "left in Connect: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_sigkill_between_create_user_and_its_record_leaks_without_the_window() {
    let (left, _) = kill_after_create_user_then_delete("0s").await;
    assert_eq!(
        left.len(),
        1,
        "one search that does not show the user is taken as proof: it leaks"
    );
}

/// SIGKILL with a CreateUser attempt recorded that never took effect (Connect answered 500
/// before changing anything; the operator is killed before it retries). Deleted while down,
/// the resource is released only after searching by username past the settle window after the
/// attempt, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_before_create_user_took_effect_then_delete_searches_then_releases() {
    let mut bed = Bed::with(slow_connect(), SLOW_SETTLE.into()).await;
    bed.cluster.connect.add_fault(sim::connect::Fault::on(
        "CreateUser",
        sim::connect::FaultKind::FailNth { n: 1, status: 500 },
    ));
    bed.start();
    create(&bed, "").await;
    // The 500 is recorded as an attempt of unknown outcome; the retry comes after ~1 s.
    let attempted = bed
        .wait("attempt recorded after the 500", |cu| {
            let s = cu?.status?;
            (reason_of(&s) == "ConnectUnavailable").then_some(s.create_attempted_at?)
        })
        .await;
    bed.running().killer()();
    bed.wait_killed().await;
    let creates = |bed: &Bed| {
        bed.cluster
            .connect
            .calls()
            .iter()
            .filter(|c| c.operation == "CreateUser")
            .count()
    };
    assert_eq!(creates(&bed), 1, "killed before the retry");
    bed.api()
        .delete("alice", &Default::default())
        .await
        .unwrap();
    bed.cluster.connect.clear_calls();
    bed.start();
    bed.wait("gone", |cu| cu.is_none().then_some(())).await;
    let released = chrono::Utc::now();
    let attempted = chrono::DateTime::parse_from_rfc3339(&attempted).unwrap();
    assert!(
        released - attempted.with_timezone(&chrono::Utc) >= chrono::Duration::seconds(3),
        "released only after the settle window since the attempt"
    );
    let searches = bed
        .cluster
        .connect
        .calls()
        .iter()
        .filter(|c| c.operation == "SearchUsers")
        .count();
    assert!(
        searches >= 2,
        "searched again once the window passed: {searches}"
    );
    assert_eq!(creates(&bed), 0, "a deletion creates nothing");
    assert!(users_named(&bed, "alice").is_empty());
}

fn reason_of(s: &connect_user_operator::crd::ConnectUserStatus) -> String {
    s.condition("Ready")
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}
