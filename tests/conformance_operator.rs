//! The operator smoke test (conformance/src/operator) with the real operator binary, the CRD
//! from crds/ and the real kubectl, against both emulators: the scenario passes and leaves
//! nothing; an operator that cannot finish a deletion fails it, and the teardown deletes what
//! the operator left.

use std::time::Duration;

use conformance::emulator::{INSTANCES, Settings};
use conformance::operator::{self, Operator};

const OPERATOR: &str = env!("CARGO_BIN_EXE_connect-user-operator");

fn run_resources(sim: &sim::connect::ConnectSim, run_id: &str) -> Vec<String> {
    let prefix = format!("cfm-{run_id}-");
    let id = INSTANCES[0].1;
    sim.users(id)
        .into_iter()
        .map(|u| u.username)
        .chain(sim.quick_connects(id).into_iter().map(|q| q.name))
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_passes_with_the_real_binary_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_kube, bed, mut plan) = operator::emulated(&Settings::default(), dir.path())
        .await
        .unwrap();
    plan.operator = Operator::Binary(OPERATOR.into());
    let report = operator::run(&plan).await;
    println!("{}", report.render());
    assert!(report.passed());
    let steps: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "kubectl apply -f crds/connectuser.yaml",
        "an admin adds",
        "kubectl patch",
        "kubectl delete",
        "nothing is left",
    ] {
        assert!(
            steps.iter().any(|s| s.starts_with(expected)),
            "no step {expected:?} in {steps:?}"
        );
    }
    assert!(
        report.left_behind.is_empty() && report.teardown.is_empty(),
        "{report:?}"
    );
    // The emulator's own state agrees: the run's user and both quick connects are gone.
    assert!(bed.sim.wait_settled(Duration::from_secs(10)).await);
    assert_eq!(
        run_resources(&bed.sim, &report.run_id),
        Vec::<String>::new()
    );
    let ops: Vec<String> = bed.sim.calls().into_iter().map(|c| c.operation).collect();
    assert!(
        ops.iter().filter(|o| *o == "DeleteQuickConnect").count() >= 2,
        "{ops:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_that_cannot_find_the_quick_connects_fails_the_smoke_test() {
    let dir = tempfile::tempdir().unwrap();
    let (_kube, bed, mut plan) = operator::emulated(&Settings::default(), dir.path())
        .await
        .unwrap();
    plan.operator = Operator::Binary(OPERATOR.into());
    plan.step_timeout = Duration::from_secs(15);
    // Once the operator has deleted the user, its quick-connect scan fails for good: it can
    // never release the finalizer, and the admin's quick connect stays.
    let sim = bed.sim.clone();
    bed.sim.on_success("DeleteUser", 1, move || {
        sim.add_fault(sim::connect::Fault::on(
            "SearchQuickConnects",
            sim::connect::FaultKind::ErrorRate {
                rate: 1.0,
                status: 500,
            },
        ));
    });
    let report = operator::run(&plan).await;
    println!("{}", report.render());
    assert!(!report.passed());
    let failed: Vec<&str> = report
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("kubectl delete"), "{failed:?}");
    assert!(
        report
            .teardown
            .iter()
            .any(|t| t.contains("removed the finalizer")),
        "{:?}",
        report.teardown
    );
    assert!(
        report.left_behind.iter().any(|l| l.contains("console")),
        "{:?}",
        report.left_behind
    );
    assert!(report.operator_log_tail.is_some());
    // The teardown deleted it.
    assert!(bed.sim.wait_settled(Duration::from_secs(10)).await);
    assert_eq!(
        run_resources(&bed.sim, &report.run_id),
        Vec::<String>::new()
    );
}
