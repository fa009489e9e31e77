//! Waiting for a change to show, by polling with a deadline (never a fixed sleep), and
//! measuring how long it took.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use super::case::Observed;
use crate::target::Timing;

/// One poll's verdict.
pub enum Probe {
    /// The change shows: this is the final answer.
    Done(Observed),
    /// Not yet: an interim answer, by label (an error code, `stale`, `absent`).
    Pending(String),
    /// An answer no propagation explains: the case ends with it.
    Unexpected(Observed),
}

/// What Connect may answer about a resource whose change has not propagated yet (its
/// eventual-consistency page names both).
pub const NOT_YET: &[&str] = &["ResourceNotFoundException", "InvalidRequestException"];

impl Probe {
    /// An observation that means "not yet" when its error code is one of `interim`, and
    /// "unexpected" for any other error.
    pub fn pending_on(observed: Observed, interim: &[&str]) -> Probe {
        match observed.code() {
            Some(code) if interim.contains(&code) => Probe::Pending(code.to_string()),
            _ => Probe::Unexpected(observed),
        }
    }
}

/// Polls `probe` every `timing.poll` until it is done, measuring from `since` (when the write
/// returned). Times out after `timing.deadline`.
pub async fn until<F, Fut>(timing: &Timing, since: Instant, mut probe: F) -> Observed
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Probe>,
{
    let mut interim: BTreeMap<String, u32> = BTreeMap::new();
    let mut polls = 0;
    loop {
        polls += 1;
        match probe().await {
            Probe::Done(last) => {
                return Observed::Propagated {
                    after: since.elapsed(),
                    polls,
                    interim,
                    last: Box::new(last),
                };
            }
            Probe::Unexpected(o) => return o,
            Probe::Pending(label) => *interim.entry(label).or_default() += 1,
        }
        if since.elapsed() >= timing.deadline {
            return Observed::TimedOut {
                after: since.elapsed(),
                polls,
                interim,
            };
        }
        tokio::time::sleep(timing.poll).await;
    }
}
