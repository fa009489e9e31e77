//! The Connect conformance suite against the emulator: the whole table passes; a wrong
//! expectation and an emulator made lenient on purpose each make the run fail (negative
//! controls); nothing the suite creates is left behind, even when cases fail or panic; the
//! leftovers of an earlier run are swept, and nothing else is touched.

use std::sync::Arc;
use std::time::Duration;

use conformance::connect::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observed, RunFn, Verdict,
};
use conformance::connect::cases;
use conformance::connect::cx::Cx;
use conformance::connect::run::{self, Options};
use conformance::emulator::{Bed, INSTANCES, Settings};
use conformance::names::{MARKER_TAG, is_ours};
use futures::future::BoxFuture;
use sim::connect::{InstanceSeed, SimQuickConnect, SimUser};

fn only(ids: &[&str]) -> Options {
    Options {
        only: ids.iter().map(|s| s.to_string()).collect(),
        stop: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_table_passes_against_the_emulator() {
    let table = cases::all();
    let (bed, reports) =
        conformance::connect::against_emulators(Settings::default(), &table, &Options::default())
            .await
            .expect("emulator starts");
    for r in &reports {
        println!("{}", r.render());
    }
    for r in &reports {
        assert!(r.passed(), "{}", r.summary());
        assert_eq!(r.cases.len(), table.len());
        // Skipped only where the instance's identity type rules the case out.
        for c in &r.cases {
            if let Verdict::Skip(why) = &c.verdict {
                assert!(
                    why.contains("identity-management type") || why.contains("EXISTING_DIRECTORY"),
                    "{}: {why}",
                    c.id
                );
            }
        }
    }
    // The instances without a directory ran every case that creates users.
    for r in &reports[..2] {
        let ran = r
            .cases
            .iter()
            .filter(|c| !matches!(c.verdict, Verdict::Skip(_)))
            .count();
        assert!(ran >= 110, "{}: only {ran} cases ran", r.target);
        for c in r
            .cases
            .iter()
            .filter(|c| c.area == Area::Consistency && c.verdict == Verdict::Pass)
        {
            if matches!(c.expected, Expect::Eventually(_)) {
                assert!(c.propagation.is_some(), "{} has no propagation time", c.id);
            }
        }
    }
    // The consistency model was on and the window was hit: stale answers were served.
    assert!(bed.sim.stale_reads() > 0);
    // The IAM policy for running the suite grants every operation it called.
    let granted = granted_actions(concat!(env!("CARGO_MANIFEST_DIR"), "/iam-policy.json"));
    let mut called: Vec<String> = bed
        .sim
        .calls()
        .into_iter()
        .map(|c| format!("connect:{}", c.operation))
        .collect();
    called.sort();
    called.dedup();
    let missing: Vec<&String> = called.iter().filter(|a| !granted.contains(a)).collect();
    assert!(
        missing.is_empty(),
        "conformance/iam-policy.json lacks {missing:?}"
    );
    // Nothing of the suite's is left in any instance.
    for (_, id) in INSTANCES {
        assert!(
            bed.sim.users(id).iter().all(|u| !is_ours(&u.username)),
            "users left in {id}"
        );
        assert!(
            bed.sim.quick_connects(id).iter().all(|q| !is_ours(&q.name)),
            "quick connects left in {id}"
        );
    }
}

/// The actions an IAM policy file allows.
fn granted_actions(path: &str) -> Vec<String> {
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
        })
        .collect()
}

/// A case added to the table (tests only).
fn case(name: &str, expect: Expect, run: RunFn) -> Case {
    Case::new(
        Area::Errors,
        name,
        "CreateUser",
        expect,
        Basis::Undocumented("a test's own case"),
        Needs::Users,
        run,
    )
}

async fn aws_tag(cx: Arc<Cx>) -> CaseResult {
    Ok(cx
        .create_user(cx.user(&cx.username()).tags("aws:cfm", "x"))
        .await
        .into())
}

fn aws_tag_run(cx: Arc<Cx>) -> BoxFuture<'static, CaseResult> {
    Box::pin(aws_tag(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_expectation_fails_the_run() {
    let bed = Bed::start(Settings::default()).await.unwrap();
    let (idm, id) = INSTANCES[0];
    let target = bed.target(idm, id).await;
    // The emulator refuses an aws: tag key, as Connect documents; this row says it is accepted.
    let mut table: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| c.id == "tags/aws-prefix-on-create")
        .collect();
    table.push(case(
        "negative-control-aws-tag-accepted",
        Expect::Success,
        aws_tag_run,
    ));
    let report = run::run(&target, &table, &Options::default()).await;
    println!("{}", report.render());
    assert!(!report.passed());
    assert_eq!(
        report.case("tags/aws-prefix-on-create").unwrap().verdict,
        Verdict::Pass
    );
    let wrong = report
        .case("errors/negative-control-aws-tag-accepted")
        .unwrap();
    assert!(
        matches!(&wrong.verdict, Verdict::Fail(why) if why.contains("InvalidParameterException")),
        "{:?}",
        wrong.verdict
    );
    assert_eq!(report.failed_cases().len(), 1);
    assert!(report.render().contains("FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_without_the_user_quota_fails_the_run() {
    // The knob: no users-per-instance limit, so CreateUser never answers LimitExceededException.
    let settings = Settings {
        max_users: 100_000,
        ..Settings::default()
    };
    let bed = Bed::start(settings).await.unwrap();
    let (idm, id) = INSTANCES[0];
    let mut target = bed.target(idm, id).await;
    target.quota_fill_cap = Some(12);
    let table = cases::all();
    let report = run::run(
        &target,
        &table,
        &only(&["errors/limit-exceeded-users", "errors/duplicate-username"]),
    )
    .await;
    println!("{}", report.render());
    assert!(!report.passed());
    let failed: Vec<&str> = report
        .failed_cases()
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(failed, ["errors/limit-exceeded-users"]);
    assert_eq!(
        report.case("errors/duplicate-username").unwrap().verdict,
        Verdict::Pass
    );
    // What it spent, it deleted.
    assert!(bed.sim.users(id).iter().all(|u| !is_ours(&u.username)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_whose_describe_never_finds_a_new_user_fails_the_consistency_case() {
    let bed = Bed::start(Settings::default()).await.unwrap();
    let (idm, id) = INSTANCES[0];
    let mut target = bed.target(idm, id).await;
    target.timing.deadline = Duration::from_millis(500);
    bed.sim.add_fault(sim::connect::Fault::on(
        "DescribeUser",
        sim::connect::FaultKind::ErrorRate {
            rate: 1.0,
            status: 404,
        },
    ));
    let report = run::run(
        &target,
        &cases::all(),
        &only(&["consistency/describe-after-create"]),
    )
    .await;
    println!("{}", report.render());
    let c = report.case("consistency/describe-after-create").unwrap();
    assert!(
        matches!(&c.verdict, Verdict::Fail(why) if why.contains("did not show")),
        "{:?}",
        c.verdict
    );
    assert!(!report.passed());
}

async fn fails_after_creating(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let name = format!("{} failing", cx.username());
    cx.setup_quick_connect_when_user_shows(&name, &u.id, &cx.tracker, |b| b)
        .await?;
    // Observed success where the row expects an error: the case fails.
    Ok(Observed::Success(serde_json::json!({"UserId": u.id})).into())
}

fn fails_after_creating_run(cx: Arc<Cx>) -> BoxFuture<'static, CaseResult> {
    Box::pin(fails_after_creating(cx))
}

async fn panics_after_creating(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let name = format!("{} panicking", cx.username());
    cx.setup_quick_connect_when_user_shows(&name, &u.id, &cx.tracker, |b| b)
        .await?;
    panic!("a case that panics after creating a user and a quick connect");
}

fn panics_after_creating_run(cx: Arc<Cx>) -> BoxFuture<'static, CaseResult> {
    Box::pin(panics_after_creating(cx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_left_behind_after_failed_and_panicking_cases_and_old_leftovers_are_swept() {
    let bed = Bed::start(Settings::default()).await.unwrap();
    let (idm, id) = INSTANCES[0];
    let seed = InstanceSeed::standard(id);
    let user = |name: &str, marked: bool| SimUser {
        username: name.into(),
        routing_profile_id: seed.routing_profiles[0].0.clone(),
        security_profile_ids: vec![seed.security_profiles[0].0.clone()],
        tags: if marked {
            [(MARKER_TAG.to_string(), "old1".to_string())].into()
        } else {
            Default::default()
        },
        ..SimUser::default()
    };
    // An earlier run's leftovers, and what is not the suite's: a prefixed user without the
    // marker tag, a marked user without the prefix.
    let old = bed.sim.insert_user(id, user("cfm-old1-001", true));
    bed.sim.insert_user(id, user("cfm-old1-002", false));
    bed.sim.insert_user(id, user("alice", true));
    bed.sim.insert_quick_connect(
        id,
        SimQuickConnect {
            name: "cfm-old1-003 transfer".into(),
            quick_connect_type: "USER".into(),
            user_id: Some(old),
            contact_flow_id: Some(seed.contact_flows[0].0.clone()),
            tags: [(MARKER_TAG.to_string(), "old1".to_string())].into(),
            ..SimQuickConnect::default()
        },
    );
    assert!(bed.sim.wait_settled(Duration::from_secs(10)).await);

    let target = bed.target(idm, id).await;
    let mut table: Vec<Case> = cases::all()
        .into_iter()
        .filter(|c| {
            [
                "search/username-exact",
                "consistency/describe-after-create",
                "errors/duplicate-username",
            ]
            .contains(&c.id.as_str())
        })
        .collect();
    table.push(case(
        "fails-after-creating",
        Expect::Error("InvalidParameterException"),
        fails_after_creating_run,
    ));
    table.push(case(
        "panics-after-creating",
        Expect::Success,
        panics_after_creating_run,
    ));
    let report = run::run(&target, &table, &Options::default()).await;
    println!("{}", report.render());

    assert!(!report.passed());
    assert!(matches!(
        report.case("errors/fails-after-creating").unwrap().verdict,
        Verdict::Fail(_)
    ));
    assert!(
        matches!(&report.case("errors/panics-after-creating").unwrap().verdict, Verdict::Broken(why) if why.contains("panicked"))
    );
    assert_eq!(
        report.case("search/username-exact").unwrap().verdict,
        Verdict::Pass
    );
    assert_eq!(
        (
            report.sweep_start.users_deleted,
            report.sweep_start.quick_connects_deleted
        ),
        (1, 1)
    );
    assert_eq!(report.left_behind(), 0, "{}", report.summary());

    // The emulator's own state, not a lagging view: only what is not the suite's is left.
    let mut users: Vec<String> = bed.sim.users(id).into_iter().map(|u| u.username).collect();
    users.sort();
    assert_eq!(users, ["alice", "cfm-old1-002"]);
    assert!(
        bed.sim.quick_connects(id).is_empty(),
        "{:?}",
        bed.sim.quick_connects(id)
    );
}
