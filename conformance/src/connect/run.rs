//! Running the table against one target: discover the instance, sweep leftovers, run each case
//! in its own task (a panic or a timeout ends that case only), delete what each case created
//! as soon as it ends, then the fixture, then sweep again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;

use super::calls::Calls;
use super::case::{Case, Needs, Verdict, judge};
use super::cx::{Cx, Run};
use super::discover;
use super::report::{CaseReport, TargetReport};
use super::resources::{self, Cleanup};
use crate::names::Names;
use crate::target::Target;

/// Which cases to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Case ids containing any of these (all cases when empty).
    pub only: Vec<String>,
    /// Set (by Ctrl-C): start no more cases, clean up, report.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Options {
    fn selects(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| id.contains(o.as_str()))
    }
}

/// The clients of a run: adaptive retries (throttling is waited out) and none at all; both
/// count their requests in `calls`.
pub fn clients(target: &Target, calls: &Calls) -> (Client, Client) {
    let build = |retry: RetryConfig| {
        Client::from_conf(
            aws_sdk_connect::config::Builder::from(&target.sdk_config)
                .retry_config(retry)
                .interceptor(calls.clone())
                .build(),
        )
    };
    (
        build(
            RetryConfig::adaptive()
                .with_max_attempts(10)
                .with_max_backoff(Duration::from_secs(10)),
        ),
        build(RetryConfig::disabled()),
    )
}

/// Why a case cannot run on this instance.
fn unmet(needs: Needs, run: &Run) -> Option<String> {
    let i = &run.instance;
    let directory = i.is("EXISTING_DIRECTORY");
    let no_users = || {
        Some(
            "creates users: an EXISTING_DIRECTORY instance only accepts usernames of its \
             directory"
                .to_string(),
        )
    };
    match needs {
        Needs::Nothing => None,
        Needs::Users if directory => no_users(),
        Needs::Users => None,
        Needs::IdentityTypes(types) if !types.contains(&i.identity_management_type.as_str()) => {
            Some(format!(
                "needs an instance of identity-management type {}",
                types.join(" or ")
            ))
        }
        Needs::IdentityTypes(_) => None,
        Needs::HierarchyGroup if directory => no_users(),
        Needs::HierarchyGroup if i.hierarchy_group.is_none() => {
            Some("needs a user hierarchy group in the instance".into())
        }
        Needs::HierarchyGroup => None,
        Needs::QuotaFill if directory => no_users(),
        Needs::QuotaFill if run.quota_fill_cap.is_none() => Some(format!(
            "fills the instance's quota: set {}=<most creates to spend> to run it",
            crate::target::FILL_QUOTA_VAR
        )),
        Needs::QuotaFill => None,
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
    if e.is_cancelled() {
        return "cancelled".into();
    }
    let payload = e.into_panic();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Runs `cases` against `target`.
pub async fn run(target: &Target, cases: &[Case], options: &Options) -> TargetReport {
    run_named(target, cases, options, Names::random()).await
}

pub async fn run_named(
    target: &Target,
    cases: &[Case],
    options: &Options,
    names: Names,
) -> TargetReport {
    let started = Instant::now();
    let mut report = TargetReport::new(target, names.run());
    let calls = Calls::default();
    let (client, raw) = clients(target, &calls);
    let instance = match discover::instance(&client, &target.instance_id).await {
        Ok(i) => i,
        Err(e) => {
            report.fatal = Some(format!("discovering the instance: {e}"));
            report.calls = calls.counts();
            return report;
        }
    };
    report.instance = Some(instance.clone());
    match resources::sweep(&client, &target.instance_id, &target.timing).await {
        Ok(c) => report.sweep_start = c,
        Err(e) => {
            report.fatal = Some(format!("sweeping leftovers of earlier runs: {e}"));
            report.calls = calls.counts();
            return report;
        }
    }
    let run = Arc::new(Run::new(
        client.clone(),
        raw,
        instance,
        target.timing.clone(),
        names,
        target.quota_fill_cap,
    ));

    for case in cases.iter().filter(|c| options.selects(&c.id)) {
        let begun = Instant::now();
        let stopped = options
            .stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::SeqCst));
        if let Some(why) = stopped
            .then(|| "interrupted".to_string())
            .or_else(|| unmet(case.needs, &run))
        {
            report.cases.push(CaseReport::new(
                case,
                Verdict::Skip(why),
                None,
                Duration::ZERO,
            ));
            continue;
        }
        let cx = Arc::new(Cx {
            run: run.clone(),
            tracker: Default::default(),
        });
        let task = tokio::spawn((case.run)(cx.clone()));
        let abort = task.abort_handle();
        let ended = tokio::time::timeout(target.timing.case_timeout, task).await;
        let duration = begun.elapsed();
        let (verdict, observation) = match ended {
            Ok(Ok(Ok(observation))) => (
                judge(&case.expect, &observation.observed),
                Some(observation),
            ),
            Ok(Ok(Err(setup))) => (Verdict::Broken(format!("setup: {setup}")), None),
            Ok(Err(e)) => (
                Verdict::Broken(format!("panicked: {}", panic_text(e))),
                None,
            ),
            Err(_) => {
                abort.abort();
                (
                    Verdict::Broken(format!(
                        "did not finish within {:.0} s",
                        target.timing.case_timeout.as_secs_f64()
                    )),
                    None,
                )
            }
        };
        let mut row = CaseReport::new(case, verdict, observation, duration);
        let cleaning = Instant::now();
        let cleanup = resources::delete_all(
            &client,
            &target.instance_id,
            cx.tracker.take(),
            &target.timing,
        )
        .await;
        row.cleanup = cleaning.elapsed();
        row.left = cleanup
            .left
            .iter()
            .map(|(r, why)| format!("{} {}: {why}", r.name, r.id))
            .collect();
        report.cleanup.add(cleanup);
        report.cases.push(row);
    }

    let fixture = run.fixture_tracker.take();
    report
        .cleanup
        .add(resources::delete_all(&client, &target.instance_id, fixture, &target.timing).await);
    match resources::sweep(&client, &target.instance_id, &target.timing).await {
        Ok(c) => report.sweep_end = c,
        Err(e) => {
            report.sweep_end = Cleanup::default();
            report.fatal = Some(format!("the final sweep: {e}"));
        }
    }
    report.duration = started.elapsed();
    report.calls = calls.counts();
    report
}
