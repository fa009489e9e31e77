//! Amazon Connect is eventually consistent, and the emulator is as slow to agree with itself
//! (on in every end-to-end test; here the resource that matters has its delay pinned to the
//! model's maximum). Each scenario runs twice: with the operator's settle window above the
//! emulator's longest delay it leaves nothing behind, and the emulator's stale-read counter
//! proves the window was really hit; with the window at zero (below the delay) the same
//! scenario leaks, which proves the check can fail. The SIGKILL scenarios are in e2e_crash.rs.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::operator::user_quick_connect;
use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use kube::api::Patch;
use serde_json::json;
use sim::connect::{Fault, FaultKind, Pin, PinnedDelay};

/// Below every delay the emulator draws: the operator trusts each read at once.
const NO_WINDOW: Duration = Duration::ZERO;

/// Connect seconds per real second in the negative controls: the model's 5-minute maximum lasts
/// 5 real seconds, so a pinned resource stays unseen far longer than an operator pass takes
/// even on a loaded machine (at `TIME_SCALE` it is 250 ms, which a slow pass can outlast and
/// then see everything: the leak the control proves would not happen).
const NEGATIVE_CONTROL_TIME_SCALE: f64 = 60.0;

/// The end-to-end options for a run with this settle window: at zero (a negative control),
/// Connect's clock slowed to `NEGATIVE_CONTROL_TIME_SCALE`.
fn options(settle: Duration) -> Options {
    let mut options = Options {
        settle,
        ..Default::default()
    };
    if settle == NO_WINDOW
        && let Some(consistency) = options.connect.consistency.as_mut()
    {
        consistency.time_scale = NEGATIVE_CONTROL_TIME_SCALE;
    }
    options
}

const MANAGED_QUICK_CONNECT: &str =
    "  quickConnect: {name: To Alice, contactFlow: {name: Default agent transfer}}\n";

async fn start(settle: Duration) -> Env {
    Env::start_with(options(settle)).await
}

fn pin_max(env: &Env, pin: Pin) {
    env.connect.pin_delay(pin, PinnedDelay::Max);
}

fn pin_zero(env: &Env, pin: Pin) {
    env.connect.pin_delay(pin, PinnedDelay::Zero);
}

fn username(name: &str) -> Pin {
    Pin::Username(name.into())
}

fn quick_connect_name(name: &str) -> Pin {
    Pin::QuickConnectName(name.into())
}

/// What Connect's authoritative state (not its lagging read path) still holds of a scenario's
/// resource, and how often the emulator answered from a stale view.
#[derive(Debug)]
struct Report {
    /// Users named like the resource's username or carrying its UID.
    users: Vec<String>,
    /// Quick connects pointing at one of the resource's users.
    quick_connects: Vec<String>,
    stale: std::collections::BTreeMap<String, u64>,
}

impl Report {
    fn of(env: &Env, username: &str, uids: &[String], user_ids: &[String]) -> Report {
        let users: Vec<_> = env
            .connect
            .users(INSTANCE)
            .into_iter()
            .filter(|u| {
                u.username == username
                    || u.tags
                        .get(OWNER_TAG)
                        .is_some_and(|owner| uids.contains(owner))
            })
            .collect();
        let ids: BTreeSet<String> = users
            .iter()
            .map(|u| u.id.clone())
            .chain(user_ids.iter().cloned())
            .collect();
        let quick_connects = env
            .connect
            .quick_connects(INSTANCE)
            .into_iter()
            .filter(|q| q.user_id.as_ref().is_some_and(|u| ids.contains(u)))
            .map(|q| q.name)
            .collect();
        Report {
            users: users.into_iter().map(|u| u.id).collect(),
            quick_connects,
            stale: env.connect.stale_reads_by_operation(),
        }
    }

    fn stale(&self, operations: &[&str]) -> u64 {
        operations.iter().filter_map(|op| self.stale.get(*op)).sum()
    }

    fn assert_window_hit(&self, operations: &[&str]) {
        eprintln!("stale reads: {:?}", self.stale);
        assert!(
            self.stale(operations) > 0,
            "the emulator never answered {operations:?} from a stale view: the scenario did not hit the window ({:?})",
            self.stale
        );
    }

    fn assert_nothing_left(&self) {
        assert!(
            self.users.is_empty() && self.quick_connects.is_empty(),
            "left in Connect: users {:?}, quick connects {:?}",
            self.users,
            self.quick_connects
        );
    }
}

fn status_of(cu: &ConnectUser) -> connect_user_operator::crd::ConnectUserStatus {
    cu.status.clone().unwrap_or_default()
}

// 1. Create then delete at once, with a managed quick connect and two console quick connects.

async fn create_then_delete_at_once(settle: Duration) -> Report {
    let env = start(settle).await;
    // The user shows at once; its three quick connects take Connect's longest to show.
    pin_zero(&env, username("alice"));
    for name in ["To Alice", "console-1", "console-2"] {
        pin_max(&env, quick_connect_name(name));
    }
    env.create(&manifest("alice", MANAGED_QUICK_CONNECT))
        .await
        .unwrap();
    let cu = env
        .wait_for("alice", "managed quick connect recorded", |cu| {
            status_of(cu).quick_connect_id.is_some()
        })
        .await;
    let id = Env::user_id(&cu);
    for name in ["console-1", "console-2"] {
        env.connect
            .insert_quick_connect(INSTANCE, user_quick_connect(name, &id));
    }
    env.delete("alice").await;
    env.wait_gone("alice").await;
    Report::of(&env, "alice", &[Env::uid(&cu)], &[id])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_delete_at_once_leaves_nothing() {
    let report = create_then_delete_at_once(SETTLE).await;
    report.assert_window_hit(&["SearchQuickConnects", "DeleteQuickConnect"]);
    report.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_create_then_delete_at_once_leaks_without_the_window() {
    let report = create_then_delete_at_once(NO_WINDOW).await;
    assert_eq!(
        report.quick_connects.len(),
        3,
        "trusting one listing and one NotFound leaves the three quick connects: {report:?}"
    );
}

// 2. A delete arriving while the create pass is still running.

async fn delete_during_create(settle: Duration) -> Report {
    let env = start(settle).await;
    pin_max(&env, username("alice"));
    env.connect.add_fault(Fault::on(
        "CreateUser",
        FaultKind::Latency(Duration::from_millis(300)),
    ));
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env
        .wait_for("alice", "CreateUser attempt recorded", |cu| {
            status_of(cu).create_attempted_at.is_some()
        })
        .await;
    let before = env.api().get("alice").await.unwrap();
    assert!(
        status_of(&before).user_id.is_none(),
        "the delete must arrive while CreateUser is in flight"
    );
    env.delete("alice").await;
    env.wait_gone("alice").await;
    Report::of(&env, "alice", &[Env::uid(&cu)], &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_during_the_create_pass_deletes_the_new_user() {
    let report = delete_during_create(SETTLE).await;
    report.assert_window_hit(&["DescribeUser", "DeleteUser"]);
    report.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_delete_during_the_create_pass_leaks_without_the_window() {
    let report = delete_during_create(NO_WINDOW).await;
    assert_eq!(report.users.len(), 1, "{report:?}");
}

// 4. A proficiency association refused after CreateUser, then delete.

const PROFICIENCY: &str =
    "  proficiencies:\n    - {attributeName: Language, attributeValue: French, level: 4}\n";

async fn proficiency_refused_then_delete(settle: Duration) -> Report {
    let env = start(settle).await;
    pin_max(&env, username("alice"));
    env.connect.add_fault(Fault::on(
        "AssociateUserProficiencies",
        FaultKind::ErrorRate {
            rate: 1.0,
            status: 400,
        },
    ));
    env.create(&manifest("alice", PROFICIENCY)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !env
        .connect
        .calls()
        .iter()
        .any(|c| c.operation == "AssociateUserProficiencies" && c.status != 200)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refused association"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cu = env.api().get("alice").await.unwrap();
    let id = Env::user_id(&cu);
    env.delete("alice").await;
    env.wait_gone("alice").await;
    Report::of(&env, "alice", &[Env::uid(&cu)], &[id])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_that_fails_after_create_user_still_lets_the_delete_find_the_user() {
    let report = proficiency_refused_then_delete(SETTLE).await;
    report.assert_window_hit(&["DescribeUser", "DeleteUser"]);
    report.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_pass_that_fails_after_create_user_leaks_without_the_window() {
    let report = proficiency_refused_then_delete(NO_WINDOW).await;
    assert_eq!(report.users.len(), 1, "{report:?}");
}

// 5. Retain set after DeleteUser succeeded.

async fn retain_after_delete_user(settle: Duration) -> (Report, Vec<String>) {
    let env = start(settle).await;
    pin_zero(&env, username("alice"));
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let id = Env::user_id(&cu);
    for name in ["console-1", "console-2"] {
        pin_max(&env, quick_connect_name(name));
        env.connect
            .insert_quick_connect(INSTANCE, user_quick_connect(name, &id));
    }
    env.delete("alice").await;
    // Once DeleteUser is recorded, someone switches to Retain (the NotOwned message suggests
    // it; a GitOps revert can do it too).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match env.api().get_opt("alice").await.unwrap() {
            Some(cu) if status_of(&cu).cleanup.is_some_and(|c| c.user_deleted) => {
                let retain = Patch::Merge(json!({"spec": {"deletionPolicy": "Retain"}}));
                env.api()
                    .patch("alice", &Default::default(), &retain)
                    .await
                    .unwrap();
                break;
            }
            Some(_) => {}
            None => break,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "DeleteUser never recorded"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    env.wait_gone("alice").await;
    assert!(
        env.connect.user(INSTANCE, &id).is_none(),
        "DeleteUser happened"
    );
    let reasons = env.event_reasons("alice").await;
    (Report::of(&env, "alice", &[Env::uid(&cu)], &[id]), reasons)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_set_after_delete_user_still_finishes_the_quick_connects() {
    let (report, reasons) = retain_after_delete_user(SETTLE).await;
    report.assert_window_hit(&["SearchQuickConnects"]);
    report.assert_nothing_left();
    assert!(
        !reasons.iter().any(|r| r == "Retained"),
        "the user was deleted, not retained: {reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_retain_after_delete_user_leaks_without_the_window() {
    let (report, _) = retain_after_delete_user(NO_WINDOW).await;
    assert_eq!(report.quick_connects.len(), 2, "{report:?}");
}

// 6. A 404 right after create does not recreate the user.

/// (CreateUser calls, whether UserMissing was announced, the stale reads).
async fn not_found_right_after_create(settle: Duration) -> (usize, bool, Report) {
    let env = Env::start_with(Options {
        // Passes inside the window: every ~100 ms, while Connect takes its longest to show the user.
        resync: Duration::from_millis(100),
        ..options(settle)
    })
    .await;
    pin_max(&env, username("alice"));
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let first = Env::user_id(&cu);
    // Until Connect shows the user to DescribeUser, and one pass after that.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !env
        .connect
        .calls()
        .iter()
        .any(|c| c.operation == "DescribeUser" && c.status == 200)
    {
        assert!(tokio::time::Instant::now() < deadline, "never described");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cu = env
        .wait_for("alice", "Ready with the first user", |cu| {
            ready(cu).is_some_and(|(s, _)| s == "True")
        })
        .await;
    assert_eq!(Env::user_id(&cu), first, "the recorded user stays the user");
    let creates = env
        .connect
        .calls()
        .iter()
        .filter(|c| c.operation == "CreateUser")
        .count();
    let missing = env
        .event_reasons("alice")
        .await
        .iter()
        .any(|r| r == "UserMissing");
    (
        creates,
        missing,
        Report::of(&env, "alice", &[Env::uid(&cu)], &[first]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_found_right_after_create_does_not_recreate_the_user() {
    let (creates, missing, report) = not_found_right_after_create(SETTLE).await;
    report.assert_window_hit(&["DescribeUser"]);
    assert_eq!(creates, 1, "one CreateUser");
    assert!(!missing, "no UserMissing");
    assert_eq!(report.users.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_not_found_right_after_create_recreates_without_the_window() {
    let (creates, missing, _) = not_found_right_after_create(NO_WINDOW).await;
    assert!(
        missing && creates >= 2,
        "trusting the first NotFound takes the UserMissing path: UserMissing={missing}, CreateUser calls {creates}"
    );
}

// 7. A console quick connect created just before DeleteUser is deleted.

async fn quick_connect_just_before_delete(settle: Duration) -> Report {
    let env = start(settle).await;
    pin_zero(&env, username("alice"));
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_ready("alice").await;
    let id = Env::user_id(&cu);
    pin_max(&env, quick_connect_name("late"));
    env.connect
        .insert_quick_connect(INSTANCE, user_quick_connect("late", &id));
    env.delete("alice").await;
    env.wait_gone("alice").await;
    Report::of(&env, "alice", &[Env::uid(&cu)], &[id])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_connect_created_just_before_delete_user_is_deleted() {
    let report = quick_connect_just_before_delete(SETTLE).await;
    report.assert_window_hit(&["SearchQuickConnects"]);
    report.assert_nothing_left();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_quick_connect_created_just_before_delete_user_leaks_without_the_window()
{
    let report = quick_connect_just_before_delete(NO_WINDOW).await;
    assert_eq!(report.quick_connects, vec!["late".to_string()]);
}

// 8. Apply, delete, apply again with the same username: one user in the end, Ready.

/// `manifest`, but for metadata.name `name` managing Connect username `user`.
fn named(name: &str, user: &str) -> String {
    manifest(name, "").replace(
        &format!("username: {name}\n"),
        &format!("username: {user}\n"),
    )
}

/// (the report, the reasons the second resource showed, the second resource).
async fn apply_delete_apply(settle: Duration) -> (Report, BTreeSet<String>, ConnectUser) {
    let env = start(settle).await;
    pin_max(&env, username("alice"));
    env.create(&manifest("alice", "")).await.unwrap();
    let first = env.wait_ready("alice").await;
    // The Git change that renames the resource: the old one is deleted, the new one applied.
    env.delete("alice").await;
    env.create(&named("alice-again", "alice")).await.unwrap();
    let mut reasons = BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let second = loop {
        let cu = env.api().get("alice-again").await.unwrap();
        let r = reason(&cu);
        if !r.is_empty() {
            reasons.insert(r.clone());
        }
        let gone = env.api().get_opt("alice").await.unwrap().is_none();
        // Settled either way: Ready, or refused because a user really holds the name.
        if gone && (ready(&cu).is_some_and(|(s, _)| s == "True") || r == "UserExists") {
            break cu;
        }
        if tokio::time::Instant::now() > deadline {
            break cu;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let uids = [Env::uid(&first), Env::uid(&second)];
    (Report::of(&env, "alice", &uids, &[]), reasons, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_delete_apply_with_the_same_username_ends_with_one_ready_user() {
    let (report, reasons, second) = apply_delete_apply(SETTLE).await;
    eprintln!("reasons of the second resource: {reasons:?}");
    report.assert_window_hit(&["DescribeUser", "DeleteUser", "SearchUsers"]);
    assert_eq!(report.users.len(), 1, "one user in the end: {report:?}");
    assert_eq!(
        status_of(&second).user_id.as_ref(),
        Some(&report.users[0]),
        "owned by the new resource"
    );
    assert_eq!(ready(&second).map(|(s, _)| s), Some("True".into()));
    assert!(
        !reasons.contains("UserExists") && !reasons.contains("Conflict"),
        "a name freeing up is waited for, never reported as taken: {reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_apply_delete_apply_leaks_the_first_user_without_the_window() {
    let (report, _, second) = apply_delete_apply(NO_WINDOW).await;
    assert!(
        ready(&second).is_none_or(|(s, _)| s != "True") || report.users.len() > 1,
        "the first user, deleted while Connect did not show it, is left: {report:?}"
    );
    let leaked = report
        .users
        .iter()
        .any(|id| Some(id) != status_of(&second).user_id.as_ref());
    assert!(leaked, "{report:?}");
}
