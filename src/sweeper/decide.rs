//! When a USER quick connect is dangling (pure, unit-tested): its target user was observed
//! missing (DescribeUser: ResourceNotFoundException) twice, at least the settle window apart,
//! with the quick connect pointing at that same user, unchanged, all along.
//!
//! Why two observations: Connect is eventually consistent. A user created moments ago answers
//! NotFound until it shows (up to several minutes), so one NotFound proves nothing; once the
//! settle window has passed since the first NotFound, a user that existed then is visible. And a
//! quick connect modified within the window may be shown with its old target: it waits until
//! the window has passed since its last modification.
//!
//! The memory holds one entry per suspected quick connect only (not per quick connect seen), is
//! pruned of everything the latest complete listing no longer shows, and is capped.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::connect::{ListedQuickConnect, UserPresence};

/// What one observation of a quick connect and its target user concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The user exists.
    Live,
    /// The quick connect was modified within the settle window: nothing is concluded until
    /// `until`.
    TooRecent { until: DateTime<Utc> },
    /// DescribeUser said neither yes nor no: any suspicion starts over.
    Unknown,
    /// The user was not found; a second observation from `confirm_after` on decides.
    Suspected { confirm_after: DateTime<Utc> },
    /// The user was not found and the memory is full: nothing recorded, retried next time.
    Deferred,
    /// Not found twice, at least the settle window apart, the quick connect unchanged.
    Dangling { first_missing: DateTime<Utc> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Suspect {
    user_id: String,
    last_modified: Option<DateTime<Utc>>,
    first_missing: DateTime<Utc>,
}

/// The first NotFound of each suspected quick connect, by quick connect id.
#[derive(Debug)]
pub struct Memory {
    suspects: HashMap<String, Suspect>,
    cap: usize,
}

pub(crate) fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Memory {
    /// At most `cap` suspects are remembered at once.
    pub fn new(cap: usize) -> Memory {
        Memory {
            suspects: HashMap::new(),
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.suspects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.suspects.is_empty()
    }

    /// The ids of the suspected quick connects.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.suspects.keys().map(String::as_str)
    }

    /// Whether `qc` is suspected with this same target and modification.
    pub fn is_suspected(&self, qc: &ListedQuickConnect) -> bool {
        self.suspects
            .get(&qc.id)
            .is_some_and(|s| s.user_id == qc.user_id && s.last_modified == qc.last_modified)
    }

    /// Whether `qc` is suspected and its second observation may be made at `now`.
    pub fn is_due(&self, qc: &ListedQuickConnect, now: DateTime<Utc>, settle: Duration) -> bool {
        self.is_suspected(qc)
            && self
                .suspects
                .get(&qc.id)
                .is_some_and(|s| now >= plus(s.first_missing, settle))
    }

    /// The earliest moment a suspect may be confirmed.
    pub fn next_due(&self, settle: Duration) -> Option<DateTime<Utc>> {
        self.suspects
            .values()
            .map(|s| plus(s.first_missing, settle))
            .min()
    }

    /// The moment every current suspect may be confirmed.
    pub fn last_due(&self, settle: Duration) -> Option<DateTime<Utc>> {
        self.suspects
            .values()
            .map(|s| plus(s.first_missing, settle))
            .max()
    }

    /// Records what DescribeUser said, at `observed_at`, about the target of `qc`, and
    /// concludes. `observed_at` must not be earlier than a first observation really was, nor
    /// later than a second one really was (the caller takes the clock after the answer for a
    /// first observation, before the request for a second).
    pub fn observe(
        &mut self,
        qc: &ListedQuickConnect,
        presence: UserPresence,
        observed_at: DateTime<Utc>,
        settle: Duration,
    ) -> Verdict {
        if let Some(modified) = qc.last_modified {
            let until = plus(modified, settle);
            if observed_at < until {
                self.suspects.remove(&qc.id);
                return Verdict::TooRecent { until };
            }
        }
        match presence {
            UserPresence::Present => {
                self.suspects.remove(&qc.id);
                Verdict::Live
            }
            UserPresence::Unknown => {
                self.suspects.remove(&qc.id);
                Verdict::Unknown
            }
            UserPresence::Missing if self.is_suspected(qc) => {
                let first_missing = self.suspects[&qc.id].first_missing;
                // Strictly later: even with a zero window, two distinct observations.
                if observed_at > first_missing && observed_at >= plus(first_missing, settle) {
                    Verdict::Dangling { first_missing }
                } else {
                    Verdict::Suspected {
                        confirm_after: plus(first_missing, settle),
                    }
                }
            }
            UserPresence::Missing => {
                // A different target or modification than suspected: that suspicion is void.
                self.suspects.remove(&qc.id);
                if self.suspects.len() >= self.cap {
                    return Verdict::Deferred;
                }
                self.suspects.insert(
                    qc.id.clone(),
                    Suspect {
                        user_id: qc.user_id.clone(),
                        last_modified: qc.last_modified,
                        first_missing: observed_at,
                    },
                );
                Verdict::Suspected {
                    confirm_after: plus(observed_at, settle),
                }
            }
        }
    }

    /// Forgets one quick connect (deleted, or shown differently by a direct read).
    pub fn forget(&mut self, id: &str) {
        self.suspects.remove(id);
    }

    /// Keeps only the quick connects a complete listing showed.
    pub fn retain_listed(&mut self, listed: &HashSet<&str>) {
        self.suspects.retain(|id, _| listed.contains(id.as_str()));
    }

    pub fn clear(&mut self) {
        self.suspects.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_secs(300);

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_590_000 + secs, 0).unwrap()
    }

    fn qc(id: &str, user: &str, modified: i64) -> ListedQuickConnect {
        ListedQuickConnect {
            id: id.into(),
            name: format!("To {user}"),
            user_id: user.into(),
            last_modified: Some(t(modified)),
        }
    }

    fn memory() -> Memory {
        Memory::new(100)
    }

    use UserPresence::*;

    #[test]
    fn one_not_found_is_never_enough() {
        let mut m = memory();
        let q = qc("q", "u", -3600);
        assert_eq!(
            m.observe(&q, Missing, t(0), SETTLE),
            Verdict::Suspected {
                confirm_after: t(300)
            }
        );
        // Not even with a zero window.
        let mut z = memory();
        assert!(matches!(
            z.observe(&q, Missing, t(0), Duration::ZERO),
            Verdict::Suspected { .. }
        ));
        assert_eq!(
            z.observe(&q, Missing, t(0), Duration::ZERO),
            Verdict::Suspected {
                confirm_after: t(0)
            },
            "the same instant is the same observation"
        );
        assert_eq!(
            z.observe(&q, Missing, t(1), Duration::ZERO),
            Verdict::Dangling {
                first_missing: t(0)
            }
        );
    }

    #[test]
    fn two_not_founds_the_window_apart_are_dangling() {
        let mut m = memory();
        let q = qc("q", "u", -3600);
        m.observe(&q, Missing, t(0), SETTLE);
        assert!(!m.is_due(&q, t(299), SETTLE));
        assert_eq!(
            m.observe(&q, Missing, t(299), SETTLE),
            Verdict::Suspected {
                confirm_after: t(300)
            },
            "one second short of the window"
        );
        assert!(m.is_due(&q, t(300), SETTLE));
        assert_eq!(
            m.observe(&q, Missing, t(300), SETTLE),
            Verdict::Dangling {
                first_missing: t(0)
            }
        );
        // Still dangling later (Report mode observes again each tick).
        assert!(matches!(
            m.observe(&q, Missing, t(4000), SETTLE),
            Verdict::Dangling { .. }
        ));
    }

    #[test]
    fn a_user_that_shows_up_clears_the_suspicion() {
        // A user created moments ago: NotFound first, then visible.
        let mut m = memory();
        let q = qc("q", "u", -3600);
        m.observe(&q, Missing, t(0), SETTLE);
        assert_eq!(m.observe(&q, Present, t(300), SETTLE), Verdict::Live);
        assert!(m.is_empty());
        // Missing again later starts over.
        assert!(matches!(
            m.observe(&q, Missing, t(400), SETTLE),
            Verdict::Suspected { .. }
        ));
        assert!(matches!(
            m.observe(&q, Missing, t(699), SETTLE),
            Verdict::Suspected { .. }
        ));
    }

    #[test]
    fn an_unknown_answer_starts_over() {
        let mut m = memory();
        let q = qc("q", "u", -3600);
        m.observe(&q, Missing, t(0), SETTLE);
        assert_eq!(m.observe(&q, Unknown, t(300), SETTLE), Verdict::Unknown);
        assert!(matches!(
            m.observe(&q, Missing, t(301), SETTLE),
            Verdict::Suspected { .. }
        ));
    }

    #[test]
    fn a_quick_connect_modified_within_the_window_waits() {
        let mut m = memory();
        let fresh = qc("q", "u", -10);
        assert_eq!(
            m.observe(&fresh, Missing, t(0), SETTLE),
            Verdict::TooRecent { until: t(290) }
        );
        assert!(m.is_empty(), "nothing recorded");
        // Its clock starts when the window since the modification has passed.
        assert!(matches!(
            m.observe(&fresh, Missing, t(290), SETTLE),
            Verdict::Suspected { .. }
        ));
        assert!(matches!(
            m.observe(&fresh, Missing, t(590), SETTLE),
            Verdict::Dangling { .. }
        ));
        // A modification dated in the future (clock skew) waits too.
        let mut m = memory();
        assert!(matches!(
            m.observe(&qc("f", "u", 60), Missing, t(0), SETTLE),
            Verdict::TooRecent { .. }
        ));
    }

    #[test]
    fn a_retargeted_or_modified_quick_connect_starts_over() {
        let mut m = memory();
        m.observe(&qc("q", "u", -3600), Missing, t(0), SETTLE);
        // Now pointing at another missing user: that user's first observation.
        let retargeted = qc("q", "v", -3600);
        assert!(!m.is_suspected(&retargeted));
        assert_eq!(
            m.observe(&retargeted, Missing, t(300), SETTLE),
            Verdict::Suspected {
                confirm_after: t(600)
            }
        );
        // Same target, modified since (e.g. renamed): starts over as well.
        let renamed = qc("q", "v", -1000);
        assert!(matches!(
            m.observe(&renamed, Missing, t(600), SETTLE),
            Verdict::Suspected { .. }
        ));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn without_a_modification_time_the_two_observations_still_decide() {
        let mut m = memory();
        let q = ListedQuickConnect {
            last_modified: None,
            ..qc("q", "u", 0)
        };
        m.observe(&q, Missing, t(0), SETTLE);
        assert!(matches!(
            m.observe(&q, Missing, t(300), SETTLE),
            Verdict::Dangling { .. }
        ));
    }

    #[test]
    fn memory_is_pruned_and_capped() {
        let mut m = Memory::new(2);
        for id in ["a", "b", "c"] {
            m.observe(&qc(id, "u", -3600), Missing, t(0), SETTLE);
        }
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.observe(&qc("c", "u", -3600), Missing, t(1), SETTLE),
            Verdict::Deferred
        );
        assert_eq!(m.next_due(SETTLE), Some(t(300)));
        m.observe(&qc("b", "u", -3600), Present, t(2), SETTLE);
        m.observe(&qc("b", "u", -3600), Missing, t(10), SETTLE);
        assert_eq!(m.last_due(SETTLE), Some(t(310)));
        m.retain_listed(&HashSet::from(["a"]));
        assert_eq!(m.len(), 1);
        assert!(m.is_suspected(&qc("a", "u", -3600)));
        m.forget("a");
        assert!(m.is_empty());
        assert_eq!(m.next_due(SETTLE), None);
    }

    #[test]
    fn a_huge_window_does_not_overflow() {
        let mut m = memory();
        let q = qc("q", "u", -3600);
        for at in [0, 1_000_000] {
            assert!(matches!(
                m.observe(&q, Missing, t(at), Duration::MAX),
                Verdict::TooRecent { .. }
            ));
        }
    }
}
