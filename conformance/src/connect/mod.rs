//! The Connect conformance suite: a table of API cases run through the real AWS SDK against a
//! target (the emulator, or a sandbox instance), each judged against what the emulator
//! implements on purpose and why (the documentation, or what it assumes where there is none).

pub mod calls;
pub mod case;
pub mod cases;
pub mod cx;
pub mod discover;
pub mod fixtures;
pub mod observe;
pub mod poll;
pub mod report;
pub mod resources;
pub mod run;

use case::Case;
use report::TargetReport;
use run::Options;

use crate::emulator::{self, Bed};
use crate::target::Target;

/// Runs `cases` against the emulators: one run per seeded instance (one per identity-management
/// type), at the same time. Returns the emulators too, for inspection.
pub async fn against_emulators(
    settings: emulator::Settings,
    cases: &[Case],
    options: &Options,
) -> std::io::Result<(Bed, Vec<TargetReport>)> {
    let bed = Bed::start(settings).await?;
    let targets = bed.targets(None).await;
    let mut reports =
        futures::future::join_all(targets.iter().map(|t| run::run(t, cases, options))).await;
    let stale = bed.sim.stale_reads_by_operation();
    let note = format!(
        "emulator: {} stale reads served during the runs ({})",
        bed.sim.stale_reads(),
        stale
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(last) = reports.last_mut() {
        last.notes.push(note);
    }
    Ok((bed, reports))
}

/// Runs `cases` against one target (a sandbox, or an emulator someone started).
pub async fn against(target: &Target, cases: &[Case], options: &Options) -> TargetReport {
    run::run(target, cases, options).await
}
