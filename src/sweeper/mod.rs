//! The dangling quick-connect sweep of one Connect instance: every USER quick connect whose
//! target user no longer exists (deleted in the console, by a script, by Terraform), found by
//! two DescribeUser NotFounds at least the settle window apart (`decide`), then reported or
//! deleted.
//!
//! One [`Sweeper`] per instance, driven by whoever owns the instance's schedule (the instance
//! object's controller, or `prune-quick-connects`): each [`Sweeper::tick`] lists the quick
//! connects, makes one observation of each target user, confirms the suspects whose window has
//! passed and, in Delete mode, deletes them. Its calls are [`Priority::Background`]: they take
//! only the rate limiter's spare tokens, so user reconciles never wait behind a sweep, and a
//! tick checks at most `max_user_checks` users (the rest wait for the next tick).

pub mod decide;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::connect::{ConnectApi, ConnectError, ListedQuickConnect, Priority, UserPresence};
use crate::metrics::{InstanceLabels, Metrics};
use crate::model::InstanceRef;
use decide::{Memory, Verdict};

/// How often an instance is swept unless its object says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3600);

/// What a sweep does with the dangling quick connects it confirms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepMode {
    /// Count them and keep a sample: nothing is written to Connect.
    Report,
    /// DeleteQuickConnect each.
    Delete,
}

#[derive(Clone, Debug)]
pub struct SweepSettings {
    /// The least time between the two NotFounds of a user, and since a quick connect's last
    /// modification: how long Connect may take to agree with itself.
    pub settle: Duration,
    /// DescribeUser calls per tick at most (`None`: no limit); the users left over are checked
    /// by later ticks, in turn.
    pub max_user_checks: Option<usize>,
    /// Tokens of each of the rate limiter's buckets that the sweep leaves to reconciles.
    pub reserve: u32,
    /// Suspected quick connects remembered at most.
    pub memory_cap: usize,
}

impl Default for SweepSettings {
    fn default() -> Self {
        SweepSettings {
            settle: Duration::from_secs(300),
            max_user_checks: Some(1000),
            reserve: 2,
            memory_cap: 100_000,
        }
    }
}

/// A quick connect whose target user was confirmed missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DanglingQuickConnect {
    pub id: String,
    pub name: String,
    /// The user it points at, which does not exist.
    pub user_id: String,
    pub last_modified: Option<DateTime<Utc>>,
    /// The first of the two NotFounds.
    pub missing_since: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub enum DeletionOutcome {
    Deleted,
    /// DeleteQuickConnect answered NotFound: someone else deleted it since.
    AlreadyGone,
    Failed(ConnectError),
}

/// One DeleteQuickConnect of a Delete sweep (one Event each).
#[derive(Clone, Debug)]
pub struct Deletion {
    pub quick_connect: DanglingQuickConnect,
    pub outcome: DeletionOutcome,
}

impl Deletion {
    /// An Event-ready message.
    pub fn message(&self) -> String {
        let q = &self.quick_connect;
        match &self.outcome {
            DeletionOutcome::Deleted => format!(
                "deleted quick connect {:?} ({}): its user {} no longer exists",
                q.name, q.id, q.user_id
            ),
            DeletionOutcome::AlreadyGone => {
                format!("quick connect {:?} ({}) was already deleted", q.name, q.id)
            }
            DeletionOutcome::Failed(e) => format!(
                "could not delete quick connect {:?} ({}), whose user {} no longer exists: {e}",
                q.name, q.id, q.user_id
            ),
        }
    }
}

/// Where a tick is, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Quick connects (of any type) listed so far.
    Listing { read: usize },
    /// USER quick connects looked at so far, of `total`.
    Checking { done: usize, total: usize },
    /// Dangling quick connects deleted (or tried) so far, of `total`.
    Deleting { done: usize, total: usize },
}

/// What one tick found and did.
#[derive(Clone, Debug)]
pub struct SweepReport {
    pub instance: InstanceRef,
    pub mode: SweepMode,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// USER quick connects in the listing.
    pub user_quick_connects: usize,
    /// DescribeUser calls made.
    pub users_checked: usize,
    /// Confirmed this tick, in listing order.
    pub dangling: Vec<DanglingQuickConnect>,
    /// Delete mode: one per confirmed quick connect.
    pub deletions: Vec<Deletion>,
    /// Quick connects whose user was not found once; a later tick confirms or clears them.
    pub suspected: usize,
    /// Quick connects modified within the settle window: looked at again later.
    pub too_recent: usize,
    /// Quick connects not looked at this tick (the per-tick budget was spent).
    pub unchecked: usize,
    /// When the earliest suspect may be confirmed.
    pub next_confirmation: Option<DateTime<Utc>>,
}

impl SweepReport {
    /// The dangling quick connects still in Connect after this tick.
    pub fn remaining(&self) -> usize {
        match self.mode {
            SweepMode::Report => self.dangling.len(),
            SweepMode::Delete => self
                .deletions
                .iter()
                .filter(|d| matches!(d.outcome, DeletionOutcome::Failed(_)))
                .count(),
        }
    }

    /// The first `n` dangling quick connects (for a status field).
    pub fn sample(&self, n: usize) -> &[DanglingQuickConnect] {
        &self.dangling[..n.min(self.dangling.len())]
    }

    /// One line for an Event or a log: the count and a sample of names.
    pub fn summary(&self) -> String {
        const SAMPLE: usize = 5;
        let found = self.dangling.len();
        let mut text = match (self.mode, found) {
            (_, 0) => "no dangling quick connects".to_string(),
            (SweepMode::Report, n) => {
                format!("{n} USER quick connect(s) point at users that no longer exist")
            }
            (SweepMode::Delete, n) => {
                let deleted = self
                    .deletions
                    .iter()
                    .filter(|d| matches!(d.outcome, DeletionOutcome::Deleted))
                    .count();
                format!(
                    "{n} USER quick connect(s) pointed at users that no longer exist; deleted {deleted}, {} left",
                    self.remaining()
                )
            }
        };
        if found > 0 {
            let names: Vec<String> = self
                .sample(SAMPLE)
                .iter()
                .map(|q| format!("{:?} ({})", q.name, q.id))
                .collect();
            text.push_str(": ");
            text.push_str(&names.join(", "));
            if found > SAMPLE {
                text.push_str(&format!(" and {} more", found - SAMPLE));
            }
        }
        if self.suspected > 0 {
            text.push_str(&format!(
                "; {} more awaiting a second observation",
                self.suspected
            ));
        }
        text
    }

    /// How long until the next tick should run: `interval`, or sooner when a suspect can be
    /// confirmed before then.
    pub fn next_tick_in(&self, interval: Duration) -> Duration {
        match self.next_confirmation {
            Some(at) => {
                let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                // A little past the window: the second observation must not come early.
                (until + Duration::from_millis(50)).min(interval)
            }
            None => interval,
        }
    }
}

/// The sweep of one instance and what it remembers between ticks.
pub struct Sweeper {
    settings: SweepSettings,
    memory: Memory,
    /// The instance the memory is about; another one starts afresh.
    instance: Option<InstanceRef>,
    /// Where the next tick starts among the quick connects not due for confirmation, so a
    /// per-tick budget reaches each in turn.
    cursor: usize,
    /// Quick connects this sweeper deleted, until the settle window has passed: the search
    /// index may still list them meanwhile (bounded by the deletions of one window).
    deleted: HashMap<String, DateTime<Utc>>,
    metrics: Option<Arc<Metrics>>,
}

fn labels(at: &InstanceRef) -> InstanceLabels {
    InstanceLabels {
        instance_id: at.instance_id.clone(),
        region: at.region.clone(),
    }
}

impl Sweeper {
    pub fn new(settings: SweepSettings) -> Sweeper {
        Sweeper {
            memory: Memory::new(settings.memory_cap),
            settings,
            instance: None,
            cursor: 0,
            deleted: HashMap::new(),
            metrics: None,
        }
    }

    /// Exports each tick's count as `connect_user_operator_dangling_quick_connects`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Sweeper {
        self.metrics = Some(metrics);
        self
    }

    pub fn settings(&self) -> &SweepSettings {
        &self.settings
    }

    /// Quick connects currently suspected.
    pub fn suspects(&self) -> usize {
        self.memory.len()
    }

    /// The ids of the quick connects suspected now (their user not found once).
    pub fn suspected_ids(&self) -> impl Iterator<Item = &str> {
        self.memory.ids()
    }

    /// When every quick connect suspected now may be confirmed.
    pub fn last_confirmation(&self) -> Option<DateTime<Utc>> {
        self.memory.last_due(self.settings.settle)
    }

    /// Stops exporting the instance's series (its object was deleted or set to Ignore).
    pub fn retire(&mut self) {
        if let (Some(m), Some(at)) = (&self.metrics, &self.instance) {
            m.set_dangling_quick_connects(&labels(at), None);
        }
        self.memory.clear();
        self.instance = None;
    }

    pub async fn tick(
        &mut self,
        api: &ConnectApi,
        at: &InstanceRef,
        mode: SweepMode,
    ) -> Result<SweepReport, ConnectError> {
        self.tick_with_progress(api, at, mode, &mut |_| ()).await
    }

    /// One sweep. On an error (throttled past the retries, denied, unavailable) what was
    /// observed so far is kept and the next tick goes on from there.
    pub async fn tick_with_progress(
        &mut self,
        api: &ConnectApi,
        at: &InstanceRef,
        mode: SweepMode,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SweepReport, ConnectError> {
        self.sweep(api, at, mode, false, progress).await
    }

    /// A sweep that describes only the users of the quick connects already suspected: the
    /// second observation of a one-shot run, which need not look at every user again.
    pub async fn confirm_with_progress(
        &mut self,
        api: &ConnectApi,
        at: &InstanceRef,
        mode: SweepMode,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SweepReport, ConnectError> {
        self.sweep(api, at, mode, true, progress).await
    }

    async fn sweep(
        &mut self,
        api: &ConnectApi,
        at: &InstanceRef,
        mode: SweepMode,
        suspects_only: bool,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<SweepReport, ConnectError> {
        if self.instance.as_ref() != Some(at) {
            self.memory.clear();
            self.deleted.clear();
            self.cursor = 0;
            self.instance = Some(at.clone());
        }
        let priority = Priority::Background {
            keep: self.settings.reserve,
        };
        let settle = self.settings.settle;
        let started_at = Utc::now();
        let mut listed = api
            .list_user_quick_connects(priority, at, |read| progress(Progress::Listing { read }))
            .await?;
        self.deleted
            .retain(|_, deleted_at| decide::plus(*deleted_at, settle) > started_at);
        listed.retain(|q| !self.deleted.contains_key(&q.id));
        let ids: HashSet<&str> = listed.iter().map(|q| q.id.as_str()).collect();
        self.memory.retain_listed(&ids);

        let mut order = self.order(&listed, started_at);
        if suspects_only {
            order.retain(|q| self.memory.is_suspected(q));
        }
        let total = order.len();
        let mut report = SweepReport {
            instance: at.clone(),
            mode,
            started_at,
            finished_at: started_at,
            user_quick_connects: listed.len(),
            users_checked: 0,
            dangling: Vec::new(),
            deletions: Vec::new(),
            suspected: 0,
            too_recent: 0,
            unchecked: 0,
            next_confirmation: None,
        };
        // One DescribeUser per user per tick, whatever points at it: (answer, sent, answered).
        let mut seen: HashMap<&str, (UserPresence, DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
        let mut confirmed: Vec<(&ListedQuickConnect, DateTime<Utc>)> = Vec::new();
        for (done, qc) in order.into_iter().enumerate() {
            let observation = match seen.get(qc.user_id.as_str()) {
                Some(o) => *o,
                None => {
                    if self
                        .settings
                        .max_user_checks
                        .is_some_and(|max| report.users_checked >= max)
                    {
                        report.unchecked += 1;
                        continue;
                    }
                    let sent = Utc::now();
                    let presence = api.user_presence(priority, at, &qc.user_id).await?;
                    report.users_checked += 1;
                    let o = (presence, sent, Utc::now());
                    seen.insert(&qc.user_id, o);
                    o
                }
            };
            let (presence, sent, answered) = observation;
            // A second observation counts from when it was sent, a first from its answer: the
            // recorded gap is never longer than the real one.
            let observed_at = if self.memory.is_suspected(qc) {
                sent
            } else {
                answered
            };
            match self.memory.observe(qc, presence, observed_at, settle) {
                Verdict::Dangling { first_missing } => confirmed.push((qc, first_missing)),
                Verdict::TooRecent { .. } => report.too_recent += 1,
                Verdict::Live
                | Verdict::Unknown
                | Verdict::Suspected { .. }
                | Verdict::Deferred => {}
            }
            progress(Progress::Checking {
                done: done + 1,
                total,
            });
        }

        // The listing is the search index, which lags: the quick connect as a direct read shows
        // it must still point at that user, unchanged, or nothing is concluded.
        for (qc, first_missing) in confirmed {
            match api
                .describe_user_quick_connect(priority, at, &qc.id)
                .await?
            {
                Some(direct) if direct == *qc => report.dangling.push(DanglingQuickConnect {
                    id: qc.id.clone(),
                    name: qc.name.clone(),
                    user_id: qc.user_id.clone(),
                    last_modified: qc.last_modified,
                    missing_since: first_missing,
                }),
                _ => self.memory.forget(&qc.id),
            }
        }

        if mode == SweepMode::Delete {
            let total = report.dangling.len();
            for (done, q) in report.dangling.iter().enumerate() {
                let outcome = match api.delete_quick_connect_with(priority, at, &q.id).await {
                    Ok(()) => DeletionOutcome::Deleted,
                    // The quick connect is older than the window: NotFound is not lag.
                    Err(e) if e.is_not_found() => DeletionOutcome::AlreadyGone,
                    Err(e) => DeletionOutcome::Failed(e),
                };
                if !matches!(outcome, DeletionOutcome::Failed(_)) {
                    self.memory.forget(&q.id);
                    self.deleted.insert(q.id.clone(), Utc::now());
                }
                if let (Some(m), DeletionOutcome::Deleted) = (&self.metrics, &outcome) {
                    m.dangling_quick_connect_deleted(&labels(at));
                }
                report.deletions.push(Deletion {
                    quick_connect: q.clone(),
                    outcome,
                });
                progress(Progress::Deleting {
                    done: done + 1,
                    total,
                });
            }
        }

        let dangling: HashSet<&str> = report.dangling.iter().map(|q| q.id.as_str()).collect();
        report.suspected = listed
            .iter()
            .filter(|q| self.memory.is_suspected(q) && !dangling.contains(q.id.as_str()))
            .count();
        report.next_confirmation = self.next_confirmation(&listed, &dangling);
        report.finished_at = Utc::now();
        if let Some(m) = &self.metrics {
            m.set_dangling_quick_connects(&labels(at), Some(report.remaining()));
        }
        Ok(report)
    }

    /// Suspects due for their second observation first (so a budget never starves them), then
    /// the others from where the last tick stopped.
    fn order<'a>(
        &mut self,
        listed: &'a [ListedQuickConnect],
        now: DateTime<Utc>,
    ) -> Vec<&'a ListedQuickConnect> {
        let settle = self.settings.settle;
        let (mut order, rest): (Vec<_>, Vec<_>) = listed
            .iter()
            .partition(|q| self.memory.is_due(q, now, settle));
        if !rest.is_empty() {
            let start = self.cursor % rest.len();
            order.extend(rest[start..].iter().chain(&rest[..start]));
            if let Some(max) = self.settings.max_user_checks {
                self.cursor = start + max;
            }
        }
        order
    }

    /// The earliest second observation of a suspect this tick did not confirm.
    fn next_confirmation(
        &self,
        listed: &[ListedQuickConnect],
        dangling: &HashSet<&str>,
    ) -> Option<DateTime<Utc>> {
        let pending = listed
            .iter()
            .any(|q| self.memory.is_suspected(q) && !dangling.contains(q.id.as_str()));
        if pending {
            self.memory.next_due(self.settings.settle)
        } else {
            None
        }
    }

    /// Sweeps `at` every `interval` ([`DEFAULT_INTERVAL`] unless configured; sooner while suspects await their second observation)
    /// until `shutdown` (then [`Sweeper::retire`]), handing each tick's outcome to `on_tick` (which emits Events and writes
    /// status); `mode` is read before each tick, so a changed setting applies at the next one.
    /// After an error the next tick comes after `interval` or a minute, whichever is shorter.
    pub async fn run(
        mut self,
        api: Arc<ConnectApi>,
        at: InstanceRef,
        interval: Duration,
        mut mode: impl FnMut() -> Option<SweepMode>,
        mut on_tick: impl FnMut(Result<&SweepReport, &ConnectError>),
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        loop {
            let wait = match mode() {
                // Ignore: nothing swept, nothing exported.
                None => {
                    self.retire();
                    interval
                }
                Some(mode) => match self.tick(&api, &at, mode).await {
                    Ok(report) => {
                        on_tick(Ok(&report));
                        report.next_tick_in(interval)
                    }
                    Err(e) => {
                        on_tick(Err(&e));
                        interval.min(Duration::from_secs(60))
                    }
                },
            };
            tokio::select! {
                _ = &mut shutdown => {
                    self.retire();
                    return;
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dangling(n: usize) -> Vec<DanglingQuickConnect> {
        (0..n)
            .map(|i| DanglingQuickConnect {
                id: format!("qc-{i}"),
                name: format!("To user {i}"),
                user_id: format!("u-{i}"),
                last_modified: None,
                missing_since: Utc::now(),
            })
            .collect()
    }

    fn report(mode: SweepMode, n: usize) -> SweepReport {
        SweepReport {
            instance: InstanceRef::own("us-east-1", "i"),
            mode,
            started_at: Utc::now(),
            finished_at: Utc::now(),
            user_quick_connects: 30,
            users_checked: 30,
            dangling: dangling(n),
            deletions: Vec::new(),
            suspected: 0,
            too_recent: 0,
            unchecked: 0,
            next_confirmation: None,
        }
    }

    #[test]
    fn the_summary_counts_and_samples() {
        let r = report(SweepMode::Report, 7);
        let text = r.summary();
        assert!(
            text.starts_with(
                "7 USER quick connect(s) point at users that no longer exist: \"To user 0\" (qc-0)"
            ),
            "{text}"
        );
        assert!(text.ends_with("and 2 more"), "{text}");
        assert_eq!(r.sample(3).len(), 3);
        assert_eq!(r.sample(30).len(), 7);
        assert_eq!(r.remaining(), 7);
        assert_eq!(
            report(SweepMode::Report, 0).summary(),
            "no dangling quick connects"
        );
    }

    #[test]
    fn a_delete_report_counts_what_is_left() {
        let mut r = report(SweepMode::Delete, 3);
        let failure = ConnectError {
            operation: "DeleteQuickConnect",
            kind: crate::connect::ErrorKind::Throttled,
            code: "ThrottlingException".into(),
            message: "Rate exceeded".into(),
        };
        r.deletions = r
            .dangling
            .iter()
            .zip([
                DeletionOutcome::Deleted,
                DeletionOutcome::AlreadyGone,
                DeletionOutcome::Failed(failure),
            ])
            .map(|(q, outcome)| Deletion {
                quick_connect: q.clone(),
                outcome,
            })
            .collect();
        assert_eq!(r.remaining(), 1);
        assert!(r.summary().contains("deleted 1, 1 left"), "{}", r.summary());
        assert!(
            r.deletions[0]
                .message()
                .starts_with("deleted quick connect")
        );
        assert!(r.deletions[2].message().contains("ThrottlingException"));
    }

    #[test]
    fn the_next_tick_comes_sooner_for_a_confirmation() {
        let hour = Duration::from_secs(3600);
        let mut r = report(SweepMode::Report, 0);
        assert_eq!(r.next_tick_in(hour), hour);
        r.next_confirmation = Some(Utc::now() + chrono::Duration::seconds(300));
        let next = r.next_tick_in(hour);
        assert!(
            next > Duration::from_secs(299) && next <= Duration::from_secs(301),
            "{next:?}"
        );
        r.next_confirmation = Some(Utc::now() - chrono::Duration::seconds(5));
        assert!(r.next_tick_in(hour) < Duration::from_secs(1));
    }
}
