//! The dangling quick-connect sweep against the Connect emulator with its consistency model on
//! (users deleted "in the console" linger as ghosts for a while; a user created a moment ago
//! answers NotFound for a while): the engine in Report and Delete mode, and
//! `prune-quick-connects` as the real binary. The negative control runs the same sweep with a
//! zero settle window and deletes the quick connect of a user created a moment ago, which proves
//! the window is what protects it.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::operator::user_quick_connect;
use common::*;
use connect_user_operator::connect::{ConnectApi, ConnectSettings};
use connect_user_operator::metrics::Metrics;
use connect_user_operator::model::InstanceRef;
use connect_user_operator::sweeper::{
    DeletionOutcome, SweepMode, SweepReport, SweepSettings, Sweeper,
};
use sim::connect::{ConnectSim, InstanceSeed, Pin, PinnedDelay, SimUser, View};

/// The emulator's consistency model as in every end-to-end test, at a quarter of the speed: the
/// longest delay lasts a real second, so that a sweep of the bed reliably starts inside a new
/// user's window even on a loaded machine.
fn sweep_config() -> sim::connect::ConnectConfig {
    let mut config = connect_config();
    let consistency = config.consistency.as_mut().unwrap();
    consistency.time_scale = TIME_SCALE / 4.0;
    assert_eq!(consistency.real(consistency.max_delay), LONGEST);
    config
}

/// The longest a change takes to show in this file's emulator.
const LONGEST: Duration = Duration::from_secs(1);

/// The sweeps' settle window: above `LONGEST`.
const WINDOW: Duration = Duration::from_millis(1500);

/// The test bed: `dangling` quick connects whose users were deleted in the console just now,
/// `live` ones whose users exist, and two whose users were created a moment ago: one made an
/// hour ago for that user id (only the two observations protect it), one made just now with its
/// user (its own age protects it as well).
struct Bed {
    connect: ConnectSim,
    api: ConnectApi,
    at: InstanceRef,
    dangling: BTreeSet<String>,
    live: BTreeSet<String>,
    /// The quick connect made an hour ago for the user created a moment ago.
    fresh_user: String,
    /// The quick connect made a moment ago with its new user.
    fresh_both: String,
}

async fn bed(dangling: usize, live: usize) -> Bed {
    let connect = ConnectSim::start(sweep_config())
        .await
        .expect("connect emulator");
    connect.seed_instance(InstanceSeed::standard(INSTANCE));
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    let old_quick_connect = |name: &str, user: &str| {
        let mut qc = user_quick_connect(name, user);
        qc.last_modified = an_hour_ago;
        connect.insert_quick_connect(INSTANCE, qc)
    };
    let user = |name: String, id: String| SimUser {
        id,
        username: name,
        ..Default::default()
    };
    // First in the listing, so that a first tick describes its user first.
    let newcomer = new_id(1);
    let fresh_user = old_quick_connect("To newcomer", &newcomer);
    let mut doomed = Vec::new();
    let (mut dangling_ids, mut live_ids) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..dangling + live {
        let name = format!("agent{i}");
        let id = connect.insert_user(INSTANCE, user(name.clone(), String::new()));
        let qc = old_quick_connect(&format!("To {name}"), &id);
        if i < dangling {
            doomed.push(id);
            dangling_ids.insert(qc);
        } else {
            live_ids.insert(qc);
        }
    }
    assert!(connect.wait_settled(Duration::from_secs(10)).await);

    // In the console: the users go, their quick connects stay.
    for id in &doomed {
        assert!(connect.remove_user(INSTANCE, id));
    }
    let api = ConnectApi::new(sdk_config(&connect).await, ConnectSettings::default());
    // A moment ago (the last thing before the test sweeps): two users, which Connect takes its
    // longest to show.
    let second = new_id(2);
    for id in [&newcomer, &second] {
        connect.pin_delay(Pin::UserId(id.clone()), PinnedDelay::Max);
    }
    connect.insert_user(INSTANCE, user("newcomer".into(), newcomer));
    connect.insert_user(INSTANCE, user("second".into(), second.clone()));
    let fresh_both =
        connect.insert_quick_connect(INSTANCE, user_quick_connect("To second", &second));
    Bed {
        connect,
        api,
        at: InstanceRef::own(REGION, INSTANCE),
        dangling: dangling_ids,
        live: live_ids,
        fresh_user,
        fresh_both,
    }
}

/// A user id no one has used, shaped like Connect's (a UUID).
fn new_id(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:08x}-0000-4000-8000-{n:012x}", nanos as u32)
}

fn settings(settle: Duration) -> SweepSettings {
    SweepSettings {
        settle,
        ..SweepSettings::default()
    }
}

/// Ticks as a controller would (the next one when the report says) until nothing awaits a
/// second observation; the reports in order.
async fn sweep_until_quiet(bed: &Bed, sweeper: &mut Sweeper, mode: SweepMode) -> Vec<SweepReport> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut reports = Vec::new();
    loop {
        let report = sweeper.tick(&bed.api, &bed.at, mode).await.expect("tick");
        let (quiet, wait) = (
            report.suspected == 0 && report.unchecked == 0 && report.too_recent == 0,
            report.next_tick_in(Duration::from_millis(200)),
        );
        reports.push(report);
        if quiet {
            return reports;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sweep never settled: {:#?}",
            reports.last()
        );
        tokio::time::sleep(wait).await;
    }
}

fn ids(list: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    list.into_iter().collect()
}

fn write_calls(connect: &ConnectSim) -> Vec<(String, u16)> {
    connect
        .calls()
        .into_iter()
        .filter(|c| WRITE_OPS.contains(&c.operation.as_str()))
        .map(|c| (c.operation, c.status))
        .collect()
}

/// The window was really hit: the first tick saw the new user's NotFound and suspected its
/// quick connect, and the emulator answered stale reads.
fn assert_window_hit(bed: &Bed, after_first_tick: &BTreeSet<String>) {
    assert!(
        after_first_tick.contains(&bed.fresh_user),
        "the first observation should have found the new user missing: {after_first_tick:?}"
    );
    let stale = bed.connect.stale_reads_by_operation();
    assert!(
        stale.get("DescribeUser").copied().unwrap_or(0) > 0,
        "no stale DescribeUser: {stale:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_finds_exactly_the_twenty_and_writes_nothing() {
    let bed = bed(20, 10).await;
    let metrics = Arc::new(Metrics::default());
    let mut sweeper = Sweeper::new(settings(WINDOW)).with_metrics(metrics.clone());
    let first = sweeper
        .tick(&bed.api, &bed.at, SweepMode::Report)
        .await
        .unwrap();
    assert!(first.dangling.is_empty(), "one NotFound is never enough");
    // The quick connect made a moment ago may not be in the search index yet.
    assert!((31..=32).contains(&first.user_quick_connects), "{first:#?}");
    let suspected = ids(sweeper.suspected_ids().map(str::to_string));
    assert_window_hit(&bed, &suspected);
    tokio::time::sleep(first.next_tick_in(Duration::from_secs(3600))).await;

    let reports = sweep_until_quiet(&bed, &mut sweeper, SweepMode::Report).await;
    let last = reports.last().unwrap();
    assert_eq!(
        ids(last.dangling.iter().map(|q| q.id.clone())),
        bed.dangling,
        "exactly the twenty: {:#?}",
        last.dangling
    );
    for q in &last.dangling {
        assert!(q.missing_since < last.started_at);
    }
    assert!(
        last.summary()
            .starts_with("20 USER quick connect(s) point at users that no longer exist: "),
        "{}",
        last.summary()
    );
    assert_eq!(last.sample(5).len(), 5);
    assert_eq!(write_calls(&bed.connect), vec![], "Report writes nothing");
    assert_eq!(bed.connect.quick_connects(INSTANCE).len(), 32);
    let text = metrics.encode();
    let series = format!(
        "connect_user_operator_dangling_quick_connects{{instance_id=\"{INSTANCE}\",region=\"{REGION}\"}} 20"
    );
    assert!(text.contains(&series), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_deletes_exactly_the_twenty_and_not_the_new_users_quick_connects() {
    let bed = bed(20, 10).await;
    let mut sweeper = Sweeper::new(settings(WINDOW));
    let first = sweeper
        .tick(&bed.api, &bed.at, SweepMode::Delete)
        .await
        .unwrap();
    assert!(first.deletions.is_empty(), "one NotFound is never enough");
    assert_window_hit(&bed, &ids(sweeper.suspected_ids().map(str::to_string)));
    tokio::time::sleep(first.next_tick_in(Duration::from_secs(3600))).await;

    let reports = sweep_until_quiet(&bed, &mut sweeper, SweepMode::Delete).await;
    let deleted = ids(reports
        .iter()
        .flat_map(|r| &r.deletions)
        .filter(|d| matches!(d.outcome, DeletionOutcome::Deleted))
        .map(|d| d.quick_connect.id.clone()));
    assert_eq!(deleted, bed.dangling);
    for r in &reports {
        for d in &r.deletions {
            assert!(
                matches!(d.outcome, DeletionOutcome::Deleted),
                "{}",
                d.message()
            );
        }
    }
    let deletes: Vec<String> = bed
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteQuickConnect")
        .map(|c| c.target.unwrap_or_default())
        .collect();
    assert_eq!(deletes.len(), 20, "each deleted once: {deletes:?}");
    assert_eq!(ids(deletes), bed.dangling);
    let mut kept = bed.live.clone();
    kept.extend([bed.fresh_user.clone(), bed.fresh_both.clone()]);
    assert_eq!(
        ids(bed
            .connect
            .quick_connects(INSTANCE)
            .into_iter()
            .map(|q| q.id)),
        kept
    );
    // Nothing else was written.
    assert!(
        write_calls(&bed.connect)
            .iter()
            .all(|(op, status)| op == "DeleteQuickConnect" && *status == 200)
    );
    // A later sweep finds nothing more.
    let again = sweeper
        .tick(&bed.api, &bed.at, SweepMode::Delete)
        .await
        .unwrap();
    assert!(
        again.dangling.is_empty() && again.suspected == 0,
        "{again:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_budget_per_tick_reaches_every_user_in_turn() {
    let bed = bed(20, 10).await;
    let mut sweeper = Sweeper::new(SweepSettings {
        max_user_checks: Some(7),
        ..settings(WINDOW)
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut reports = Vec::new();
    let deleted = |reports: &[SweepReport]| {
        ids(reports
            .iter()
            .flat_map(|r| &r.deletions)
            .map(|d| d.quick_connect.id.clone()))
    };
    // Until the twenty are gone, then four more rounds, over every remaining user more than
    // once, which must delete nothing more.
    let mut extra = 0;
    while extra < 4 {
        let r = sweeper
            .tick(&bed.api, &bed.at, SweepMode::Delete)
            .await
            .unwrap();
        assert!(r.users_checked <= 7, "{r:#?}");
        let wait = r.next_tick_in(Duration::from_millis(100));
        reports.push(r);
        if deleted(&reports).is_superset(&bed.dangling) {
            extra += 1;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:#?}",
            reports.last()
        );
        tokio::time::sleep(wait).await;
    }
    assert!(
        reports.iter().any(|r| r.unchecked > 0),
        "the budget was spent"
    );
    assert_eq!(deleted(&reports), bed.dangling);
    assert_eq!(bed.connect.quick_connects(INSTANCE).len(), 12);
}

/// `Sweeper::run` as an instance controller would start it: ticks on its own schedule (a second
/// observation as soon as a suspect's window has passed, well before the interval), hands each
/// report over, reads the mode before each tick, and stops on shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_ticks_on_its_own_until_shutdown() {
    let bed = Arc::new(bed(20, 10).await);
    let api = Arc::new(ConnectApi::new(
        sdk_config(&bed.connect).await,
        ConnectSettings::default(),
    ));
    let (reports_tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop) = tokio::sync::oneshot::channel::<()>();
    let mode = Arc::new(std::sync::Mutex::new(Some(SweepMode::Report)));
    let read_mode = mode.clone();
    let run = tokio::spawn(Sweeper::new(settings(WINDOW)).run(
        api,
        bed.at.clone(),
        // Far longer than the test: only the confirmations' schedule makes it tick again.
        Duration::from_secs(3600),
        move || *read_mode.lock().unwrap(),
        move |r| {
            let _ = reports_tx.send(r.map(|r| r.dangling.len()).map_err(|e| e.to_string()));
        },
        async move {
            let _ = stop.await;
        },
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline, reports.recv())
            .await
            .expect("a report before the deadline")
            .expect("the sweeper runs");
        seen.push(next.clone().expect("tick"));
        if next == Ok(20) {
            break;
        }
    }
    assert_eq!(seen[0], 0, "nothing on the first observation: {seen:?}");
    assert_eq!(write_calls(&bed.connect), vec![]);
    let _ = stop_tx.send(());
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stops on shutdown")
        .unwrap();
}

/// A dangling quick connect retargeted in the console to a live user between the two
/// observations, while the search index still lists its old target: the direct read before the
/// verdict sees the change, and nothing is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_connect_retargeted_meanwhile_is_not_deleted() {
    let bed = bed(1, 1).await;
    assert!(bed.connect.wait_settled(Duration::from_secs(10)).await);
    let qc = bed.dangling.first().unwrap().clone();
    let live_user = bed
        .connect
        .quick_connect(INSTANCE, bed.live.first().unwrap())
        .unwrap()
        .user_id
        .unwrap();
    let mut sweeper = Sweeper::new(settings(WINDOW));
    let first = sweeper
        .tick(&bed.api, &bed.at, SweepMode::Delete)
        .await
        .unwrap();
    assert!(sweeper.suspected_ids().any(|id| id == qc), "{first:#?}");
    // The search index takes its longest to show the change; a direct read shows it at once.
    bed.connect.pin_view_delay(
        Pin::QuickConnectId(qc.clone()),
        View::Search,
        PinnedDelay::Max,
    );
    bed.connect.pin_view_delay(
        Pin::QuickConnectId(qc.clone()),
        View::Direct,
        PinnedDelay::Zero,
    );
    tokio::time::sleep(first.next_tick_in(Duration::from_secs(3600))).await;
    assert!(bed.connect.modify_quick_connect(INSTANCE, &qc, |q| {
        q.user_id = Some(live_user.clone());
    }));
    let second = sweeper
        .tick(&bed.api, &bed.at, SweepMode::Delete)
        .await
        .unwrap();
    assert!(
        second.deletions.is_empty(),
        "deleted a quick connect that points at a live user now: {second:#?}"
    );
    let stale = bed.connect.stale_reads_by_operation();
    assert!(
        stale.get("SearchQuickConnects").copied().unwrap_or(0) > 0,
        "the listing should have shown the old target: {stale:?}"
    );
    assert_eq!(
        bed.connect.quick_connect(INSTANCE, &qc).unwrap().user_id,
        Some(live_user)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_without_the_window_the_new_users_quick_connect_is_deleted() {
    // Small, so that both ticks fall within the new user's visibility delay.
    let bed = bed(0, 0).await;
    let mut sweeper = Sweeper::new(settings(Duration::ZERO));
    let mut deleted = BTreeSet::new();
    for _ in 0..2 {
        let r = sweeper
            .tick(&bed.api, &bed.at, SweepMode::Delete)
            .await
            .unwrap();
        deleted.extend(r.deletions.into_iter().map(|d| d.quick_connect.id));
    }
    assert!(
        deleted.contains(&bed.fresh_user),
        "with a zero window two quick NotFounds of a user created a moment ago look like a deleted user: {deleted:?}"
    );
}

// prune-quick-connects, the real binary.

const BIN: &str = env!("CARGO_BIN_EXE_connect-user-operator");

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The first column of the table's rows.
    fn ids(&self) -> BTreeSet<String> {
        self.stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }
}

async fn prune(bed: &Bed, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent");
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args([
        "prune-quick-connects",
        "--instance-id",
        INSTANCE,
        "--region",
        REGION,
        "--settle",
        &format!("{}ms", WINDOW.as_millis()),
        "--connect-rate",
        "0",
    ])
    .args(extra)
    .env("AWS_ENDPOINT_URL_CONNECT", bed.connect.endpoint())
    .env("AWS_ACCESS_KEY_ID", sim::aws::TEST_ACCESS_KEY_ID)
    .env("AWS_SECRET_ACCESS_KEY", sim::aws::TEST_SECRET_ACCESS_KEY)
    .env("AWS_CONFIG_FILE", &absent)
    .env("AWS_SHARED_CREDENTIALS_FILE", &absent)
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("RUST_LOG", "trace")
    .env_remove("AWS_PROFILE")
    .env_remove("AWS_SESSION_TOKEN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("operator binary");
    eprintln!(
        "prune {extra:?}: stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in [
        sim::aws::TEST_SECRET_ACCESS_KEY,
        sim::aws::TEST_ACCESS_KEY_ID,
    ] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a credential was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_dry_run_writes_nothing_and_prints_the_set_that_delete_removes() {
    let bed = bed(20, 10).await;
    // The console's deletions have shown everywhere; the two new users still take their time.
    let dry = prune(&bed, &[], &[]).await;
    assert!(dry.ok, "{}\n{}", dry.stdout, dry.stderr);
    assert!(
        dry.stdout.starts_with("QUICK CONNECT ID"),
        "a table: {}",
        dry.stdout
    );
    assert!(
        dry.stdout
            .lines()
            .next()
            .unwrap()
            .contains("MISSING USER ID")
    );
    assert!(
        dry.stderr.contains("dry run, nothing deleted"),
        "{}",
        dry.stderr
    );
    assert_eq!(
        write_calls(&bed.connect),
        vec![],
        "the dry run writes nothing"
    );
    let calls_after_dry_run = bed.connect.calls().len();
    // Ghosts of the console's deletions may still have been shown to the first observation:
    // those are confirmed by the next run. What the dry run printed is dangling, and never the
    // new users' quick connects.
    let printed = dry.ids();
    assert!(printed.is_subset(&bed.dangling), "{printed:?}");
    assert!(!printed.contains(&bed.fresh_user) && !printed.contains(&bed.fresh_both));

    // Once Connect has settled, the dry run prints exactly the twenty, and --delete removes
    // exactly what it printed.
    assert!(bed.connect.wait_settled(Duration::from_secs(10)).await);
    let dry = prune(&bed, &[], &[]).await;
    assert!(dry.ok, "{}", dry.stderr);
    assert_eq!(dry.ids(), bed.dangling, "{}", dry.stdout);
    assert_eq!(
        write_calls(&bed.connect),
        vec![],
        "the dry run writes nothing"
    );
    assert!(bed.connect.calls().len() > calls_after_dry_run);

    let delete = prune(&bed, &["--delete"], &[]).await;
    assert!(delete.ok, "{}\n{}", delete.stdout, delete.stderr);
    assert!(delete.stdout.lines().next().unwrap().ends_with("RESULT"));
    assert_eq!(delete.ids(), dry.ids(), "{}", delete.stdout);
    assert!(
        delete
            .stdout
            .lines()
            .skip(1)
            .all(|l| l.ends_with("deleted")),
        "{}",
        delete.stdout
    );
    let deletes: BTreeSet<String> = bed
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteQuickConnect" && c.status == 200)
        .map(|c| c.target.unwrap_or_default())
        .collect();
    assert_eq!(deletes, dry.ids());
    let mut kept = bed.live.clone();
    kept.extend([bed.fresh_user.clone(), bed.fresh_both.clone()]);
    assert_eq!(
        ids(bed
            .connect
            .quick_connects(INSTANCE)
            .into_iter()
            .map(|q| q.id)),
        kept
    );
    // Nothing left to find.
    let after = prune(&bed, &[], &[]).await;
    assert_eq!(after.ids(), BTreeSet::new(), "{}", after.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_with_role_arn_signs_with_the_assumed_role() {
    let bed = bed(3, 1).await;
    assert!(bed.connect.wait_settled(Duration::from_secs(10)).await);
    let iam = bed.connect.iam();
    let sts = sim::aws::StsSim::start(iam.clone()).await.unwrap();
    let role = iam.create_role(
        sim::aws::TEST_ACCOUNT_ID,
        "quick-connect-pruner",
        sim::aws::Trust::account(sim::aws::TEST_ACCOUNT_ID),
    );
    let run = prune(
        &bed,
        &["--role-arn", &role],
        &[("AWS_ENDPOINT_URL_STS", &sts.endpoint())],
    )
    .await;
    assert!(run.ok, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.ids(), bed.dangling);
    assert!(
        sts.calls()
            .iter()
            .any(|c| c.action == "AssumeRole" && c.status == 200),
        "{:#?}",
        sts.calls()
    );
    let session =
        "arn:aws:sts::123456789012:assumed-role/quick-connect-pruner/connect-user-operator-prune";
    let calls = bed.connect.calls();
    assert!(!calls.is_empty());
    for c in calls {
        assert_eq!(
            c.principal_arn, session,
            "{} signed by the role's session",
            c.operation
        );
        assert!(!run.stdout.contains(&c.access_key_id) && !run.stderr.contains(&c.access_key_id));
    }

    // A malformed role ARN is refused before any call, naming the flag.
    bed.connect.clear_calls();
    let bad = prune(&bed, &["--role-arn", "quick-connect-pruner"], &[]).await;
    assert!(!bad.ok);
    assert!(bad.stderr.contains("--role-arn"), "{}", bad.stderr);
    assert!(bed.connect.calls().is_empty());
}
