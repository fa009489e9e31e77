//! The report: per case the call, what was expected and why, what was observed, how long it
//! took (and how long a change took to show); then a summary, the undocumented cases with
//! what was observed (on a real service, the answers no document gives), and the cleanup.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::calls::Count;
use super::case::{Area, Basis, Case, Expect, Observation, Observed, Verdict};
use super::discover::Instance;
use super::resources::Cleanup;
use crate::target::Target;

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseReport {
    pub id: String,
    pub area: Area,
    pub call: &'static str,
    pub expected: Expect,
    pub basis: Basis,
    pub observed: Option<Observed>,
    pub detail: Option<String>,
    #[serde(flatten)]
    pub verdict: Verdict,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// How long the change took to show, real time.
    #[serde(serialize_with = "opt_secs")]
    pub propagation: Option<Duration>,
    /// Resources of this case that could not be deleted.
    pub left: Vec<String>,
    /// Deleting what the case created (after `duration`).
    #[serde(serialize_with = "secs")]
    pub cleanup: Duration,
}

impl CaseReport {
    pub fn new(
        case: &Case,
        verdict: Verdict,
        observation: Option<Observation>,
        duration: Duration,
    ) -> CaseReport {
        let (observed, detail) = match observation {
            Some(o) => (Some(o.observed), o.detail),
            None => (None, None),
        };
        CaseReport {
            id: case.id.clone(),
            area: case.area,
            call: case.call,
            expected: case.expect.clone(),
            basis: case.basis.clone(),
            propagation: observed.as_ref().and_then(Observed::propagation),
            observed,
            detail,
            verdict,
            duration,
            left: Vec::new(),
            cleanup: Duration::ZERO,
        }
    }
}

/// What was observed, as far as the expectation looks: the field it names (the whole response
/// only when that is what it names, or when the case failed).
fn observed_text(c: &CaseReport) -> String {
    match (&c.expected, &c.observed) {
        (Expect::Field(ptr, _), Some(Observed::Success(v)))
            if !ptr.is_empty() && !c.verdict.failed() =>
        {
            match v.pointer(ptr) {
                Some(got) => format!("{ptr} = {got}"),
                None => format!("no {ptr}"),
            }
        }
        (_, Some(o)) => o.to_string(),
        (_, None) => "-".into(),
    }
}

/// One target's run.
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    pub target: String,
    pub instance_id: String,
    pub run_id: String,
    /// Connect seconds per real second (1 on a real service).
    pub connect_time_scale: f64,
    pub instance: Option<Instance>,
    /// The run could not start or finish (discovery, the sweep).
    pub fatal: Option<String>,
    pub cases: Vec<CaseReport>,
    pub sweep_start: Cleanup,
    pub cleanup: Cleanup,
    pub sweep_end: Cleanup,
    /// Requests sent per operation (every attempt), and how many were throttled.
    pub calls: BTreeMap<String, Count>,
    /// Lines the caller adds (the emulator's stale-read count).
    pub notes: Vec<String>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

impl TargetReport {
    pub fn new(target: &Target, run_id: &str) -> TargetReport {
        TargetReport {
            target: target.label.clone(),
            instance_id: target.instance_id.clone(),
            run_id: run_id.to_string(),
            connect_time_scale: target.timing.connect_time_scale,
            instance: None,
            fatal: None,
            cases: Vec::new(),
            sweep_start: Cleanup::default(),
            cleanup: Cleanup::default(),
            sweep_end: Cleanup::default(),
            calls: BTreeMap::new(),
            notes: Vec::new(),
            duration: Duration::ZERO,
        }
    }

    fn count(&self, f: impl Fn(&Verdict) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.verdict)).count()
    }

    /// Resources that could not be deleted (by the cleanup or the sweeps).
    pub fn left_behind(&self) -> usize {
        self.sweep_start.left.len() + self.cleanup.left.len() + self.sweep_end.left.len()
    }

    /// True when every case passed or was skipped, and nothing was left behind.
    pub fn passed(&self) -> bool {
        self.fatal.is_none()
            && !self.cases.iter().any(|c| c.verdict.failed())
            && self.left_behind() == 0
    }

    pub fn failed_cases(&self) -> Vec<&CaseReport> {
        self.cases.iter().filter(|c| c.verdict.failed()).collect()
    }

    pub fn case(&self, id: &str) -> Option<&CaseReport> {
        self.cases.iter().find(|c| c.id == id)
    }

    /// The text report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "== Connect conformance: {} (instance {}, run cfm-{}) ==",
            self.target, self.instance_id, self.run_id
        );
        if let Some(i) = &self.instance {
            let _ = writeln!(
                w,
                "instance: {}; security profile {:?}; routing profile {:?}; agent-transfer flow {}; hierarchy group {}",
                i.identity_management_type,
                i.security_profile.name,
                i.routing_profile.name,
                i.agent_transfer_flow
                    .as_ref()
                    .map(|f| format!("{:?}", f.name))
                    .unwrap_or_else(|| "none".into()),
                i.hierarchy_group
                    .as_ref()
                    .map(|g| format!("{:?}", g.name))
                    .unwrap_or_else(|| "none".into()),
            );
        }
        let _ = writeln!(
            w,
            "sweep at start: {} users, {} quick connects of earlier runs deleted",
            self.sweep_start.users_deleted, self.sweep_start.quick_connects_deleted
        );
        for c in &self.cases {
            let _ = write!(
                w,
                "{:<6} {:<52} {:<28} {:>8.3} s",
                c.verdict.label(),
                c.id,
                c.call,
                c.duration.as_secs_f64()
            );
            if c.cleanup > Duration::ZERO {
                let _ = write!(w, " (+{:.3} s cleanup)", c.cleanup.as_secs_f64());
            }
            let _ = writeln!(w);
            if let Verdict::Skip(why) = &c.verdict {
                let _ = writeln!(w, "       skipped: {why}");
                continue;
            }
            let _ = writeln!(
                w,
                "       expected {}; observed {}",
                c.expected,
                observed_text(c)
            );
            if let Some(p) = c.propagation {
                let _ = writeln!(
                    w,
                    "       propagation {:.3} s ({:.1} s of Connect time)",
                    p.as_secs_f64(),
                    p.as_secs_f64() * self.connect_time_scale
                );
            }
            if let Some(d) = &c.detail {
                let _ = writeln!(w, "       {d}");
            }
            match &c.verdict {
                Verdict::Fail(why) | Verdict::Broken(why) => {
                    let _ = writeln!(w, "       ** {why}");
                }
                _ => {}
            }
            if let Basis::Undocumented(assumes) = &c.basis {
                let _ = writeln!(w, "       undocumented; the emulator assumes: {assumes}");
            }
            for l in &c.left {
                let _ = writeln!(w, "       LEFT BEHIND: {l}");
            }
        }
        let _ = writeln!(w);
        let _ = writeln!(w, "{}", self.summary());
        for n in &self.notes {
            let _ = writeln!(w, "{n}");
        }
        out
    }

    /// The summary lines: counts, failures, undocumented cases, propagation times, cleanup.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        let undocumented: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| {
                matches!(c.basis, Basis::Undocumented(_)) && !matches!(c.verdict, Verdict::Skip(_))
            })
            .collect();
        let _ = writeln!(
            w,
            "summary ({}): {} cases: {} passed, {} failed, {} broken, {} skipped; {} of the run undocumented; {:.1} s",
            self.target,
            self.cases.len(),
            self.count(|v| *v == Verdict::Pass),
            self.count(|v| matches!(v, Verdict::Fail(_))),
            self.count(|v| matches!(v, Verdict::Broken(_))),
            self.count(|v| matches!(v, Verdict::Skip(_))),
            undocumented.len(),
            self.duration.as_secs_f64(),
        );
        if let Some(f) = &self.fatal {
            let _ = writeln!(w, "FATAL: {f}");
        }
        let failed = self.failed_cases();
        if !failed.is_empty() {
            let _ = writeln!(
                w,
                "deviations from the expected (on a real service: where the emulator is wrong):"
            );
            for c in failed {
                let why = match &c.verdict {
                    Verdict::Fail(s) | Verdict::Broken(s) => s.as_str(),
                    _ => "",
                };
                let _ = writeln!(w, "  {} ({}): {why}", c.id, c.verdict.label());
            }
        }
        if !undocumented.is_empty() {
            let _ = writeln!(w, "undocumented behaviour observed:");
            for c in undocumented {
                let _ = writeln!(
                    w,
                    "  {} [{}]: {}",
                    c.id,
                    c.verdict.label(),
                    observed_text(c)
                );
            }
        }
        let propagations: Vec<&CaseReport> = self
            .cases
            .iter()
            .filter(|c| c.propagation.is_some())
            .collect();
        if !propagations.is_empty() {
            let _ = writeln!(
                w,
                "propagation times (real; Connect time at x{}):",
                self.connect_time_scale
            );
            for c in propagations {
                let p = c.propagation.unwrap_or_default().as_secs_f64();
                let _ = writeln!(
                    w,
                    "  {:<52} {:>8.3} s  ({:.1} s Connect)",
                    c.id,
                    p,
                    p * self.connect_time_scale
                );
            }
        }
        let requests: u64 = self.calls.values().map(|c| c.requests).sum();
        let throttled: u64 = self.calls.values().map(|c| c.throttled).sum();
        let _ = writeln!(
            w,
            "requests: {requests} ({throttled} answered 429): {}",
            self.calls
                .iter()
                .map(|(op, c)| format!("{op} {}", c.requests))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = write!(
            w,
            "cleanup: {} users and {} quick connects deleted (cases and fixture), {} and {} by the final sweep; ",
            self.cleanup.users_deleted,
            self.cleanup.quick_connects_deleted,
            self.sweep_end.users_deleted,
            self.sweep_end.quick_connects_deleted,
        );
        if self.left_behind() == 0 {
            let _ = writeln!(w, "nothing left behind");
        } else {
            let _ = writeln!(w, "{} LEFT BEHIND:", self.left_behind());
            for (r, why) in self
                .sweep_start
                .left
                .iter()
                .chain(&self.cleanup.left)
                .chain(&self.sweep_end.left)
            {
                let _ = writeln!(w, "  {:?} {} {}: {why}", r.kind, r.name, r.id);
            }
        }
        let _ = write!(
            w,
            "result: {}",
            if self.passed() { "PASSED" } else { "FAILED" }
        );
        out
    }
}
