//! The versions of a resource that a view may still show, and which one each view shows.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::Duration;

use super::{Delays, VIEWS, View};

/// A moment in Connect time, counted from when the model was switched on.
pub(super) type At = Duration;

/// When one version shows in each view, and what its absence answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Stamp {
    /// Indexed by `View`.
    pub(super) from: [At; 2],
    pub(super) drawn: Delays,
    /// While this version is hidden behind a "does not exist" version, direct reads answer
    /// InvalidRequestException rather than ResourceNotFoundException.
    pub(super) invalid_request: bool,
}

impl Stamp {
    /// Shown everywhere since forever: the version a resource had before the model saw it.
    pub(super) const SETTLED: Stamp = Stamp {
        from: [Duration::ZERO; 2],
        drawn: Delays {
            direct: Duration::ZERO,
            search: Duration::ZERO,
        },
        invalid_request: false,
    };

    pub(super) fn shown(&self, view: View, now: At) -> bool {
        self.from[view as usize] <= now
    }
}

#[derive(Debug)]
pub(super) struct Version<T> {
    /// `None`: the resource did not exist (before its creation, after its deletion).
    pub(super) record: Option<T>,
    pub(super) shown: Stamp,
}

/// What one view shows of a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shown {
    /// The authoritative record.
    Latest,
    /// `past[i]`.
    Past(usize),
}

/// The versions of one resource that some view may still show. The latest version is the
/// authoritative record itself; only its stamp is kept here.
#[derive(Debug)]
pub(super) struct History<T> {
    pub(super) id: String,
    /// Superseded versions, oldest first.
    pub(super) past: Vec<Version<T>>,
    pub(super) latest: Stamp,
    /// The latest version is a deletion.
    pub(super) deleted: bool,
}

impl<T> History<T> {
    pub(super) fn new(id: &str) -> History<T> {
        History {
            id: id.to_string(),
            past: Vec::new(),
            latest: Stamp::SETTLED,
            deleted: false,
        }
    }

    /// The newest version whose delay in `view` has passed.
    pub(super) fn shown(&self, view: View, now: At) -> Shown {
        if self.latest.shown(view, now) {
            return Shown::Latest;
        }
        // Pruning keeps, for each view, a version shown in it (the oldest kept version, or a
        // later one), so the search always finds one.
        match self.past.iter().rposition(|v| v.shown.shown(view, now)) {
            Some(i) => Shown::Past(i),
            None if self.past.is_empty() => Shown::Latest,
            None => Shown::Past(0),
        }
    }

    /// Drops the versions no view can show any more: those with a later version shown in
    /// every view.
    pub(super) fn prune(&mut self, now: At) {
        let mut later = VIEWS.map(|v| self.latest.shown(v, now));
        let mut dead = vec![false; self.past.len()];
        for (i, version) in self.past.iter().enumerate().rev() {
            dead[i] = later.iter().all(|l| *l);
            for v in VIEWS {
                later[v as usize] |= version.shown.shown(v, now);
            }
        }
        let mut i = 0;
        self.past.retain(|_| {
            i += 1;
            !dead[i - 1]
        });
    }

    /// When every view shows the latest version.
    pub(super) fn settles_at(&self) -> At {
        self.latest.from[0].max(self.latest.from[1])
    }
}

/// The histories of one kind of resource in one instance, by creation sequence number (the
/// order listings use, which a ghost keeps).
#[derive(Debug)]
pub(super) struct Histories<T> {
    pub(super) by_seq: BTreeMap<u64, History<T>>,
    pub(super) seq_of: HashMap<String, u64>,
    /// (settles at, seq), soonest first: when to look at a history again.
    pub(super) due: BinaryHeap<Reverse<(At, u64)>>,
}

impl<T> Default for Histories<T> {
    fn default() -> Self {
        Histories {
            by_seq: BTreeMap::new(),
            seq_of: HashMap::new(),
            due: BinaryHeap::new(),
        }
    }
}

impl<T> Histories<T> {
    /// A new latest version of resource `id` (at `seq`), which had `prior` until now.
    pub(super) fn record(
        &mut self,
        seq: u64,
        id: &str,
        prior: Option<T>,
        stamp: Stamp,
        deleted: bool,
        now: At,
    ) {
        self.sweep(now);
        // A console insert may reuse the id of a ghost under a new sequence number.
        if let Some(old) = self.seq_of.get(id).copied()
            && old != seq
        {
            self.by_seq.remove(&old);
        }
        let history = self.by_seq.entry(seq).or_insert_with(|| History::new(id));
        history.past.push(Version {
            record: prior,
            shown: history.latest,
        });
        history.latest = stamp;
        history.deleted = deleted;
        history.prune(now);
        if history.past.is_empty() {
            self.by_seq.remove(&seq);
            self.seq_of.remove(id);
        } else {
            let at = history.settles_at();
            self.seq_of.insert(id.to_string(), seq);
            self.due.push(Reverse((at, seq)));
        }
    }

    /// Prunes the histories whose time has come; forgets those every view has caught up with.
    pub(super) fn sweep(&mut self, now: At) {
        while let Some(Reverse((at, seq))) = self.due.peek().copied() {
            if at > now {
                break;
            }
            self.due.pop();
            let Some(history) = self.by_seq.get_mut(&seq) else {
                continue;
            };
            history.prune(now);
            if history.past.is_empty() {
                let id = history.id.clone();
                self.by_seq.remove(&seq);
                self.seq_of.remove(&id);
            }
        }
    }

    /// What `view` shows of `id`, when its history is not settled: (seq, what, whether its
    /// absence answers InvalidRequestException).
    pub(super) fn shown(&self, id: &str, view: View, now: At) -> Option<(u64, Shown, bool)> {
        let seq = *self.seq_of.get(id)?;
        let history = self.by_seq.get(&seq)?;
        Some((
            seq,
            history.shown(view, now),
            history.latest.invalid_request,
        ))
    }

    pub(super) fn latest_drawn(&self, id: &str) -> Option<Delays> {
        let seq = self.seq_of.get(id)?;
        self.by_seq.get(seq).map(|h| h.latest.drawn)
    }

    pub(super) fn versions(&self) -> usize {
        self.by_seq.values().map(|h| h.past.len()).sum()
    }

    pub(super) fn unsettled(&self, now: At) -> usize {
        self.by_seq
            .values()
            .filter(|h| h.settles_at() > now)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> At {
        Duration::from_secs(secs)
    }

    fn stamp(direct: u64, search: u64) -> Stamp {
        Stamp {
            from: [s(direct), s(search)],
            ..Stamp::SETTLED
        }
    }

    /// A history of `name`s: `records[i]` shown from `stamps[i]`; the last is the latest.
    fn history(versions: &[(Option<&'static str>, Stamp)]) -> History<&'static str> {
        let (last, past) = versions.split_last().unwrap();
        History {
            id: "id".into(),
            past: past
                .iter()
                .map(|(r, st)| Version {
                    record: *r,
                    shown: *st,
                })
                .collect(),
            latest: last.1,
            deleted: last.0.is_none(),
        }
    }

    #[test]
    fn each_view_shows_the_newest_version_whose_delay_has_passed() {
        // v0 settled; v1 written at 0 (direct 10, search 2); v2 written at 1 (direct 3, search 20).
        let h = history(&[
            (Some("v0"), Stamp::SETTLED),
            (Some("v1"), stamp(10, 2)),
            (Some("v2"), stamp(3, 20)),
        ]);
        assert_eq!(h.shown(View::Direct, s(1)), Shown::Past(0));
        assert_eq!(h.shown(View::Search, s(1)), Shown::Past(0));
        assert_eq!(h.shown(View::Search, s(2)), Shown::Past(1));
        // v2 shows directly before v1 would have: the view skips v1 and never goes back.
        assert_eq!(h.shown(View::Direct, s(3)), Shown::Latest);
        assert_eq!(h.shown(View::Direct, s(11)), Shown::Latest);
        assert_eq!(h.shown(View::Search, s(19)), Shown::Past(1));
        assert_eq!(h.shown(View::Search, s(20)), Shown::Latest);
        assert_eq!(h.settles_at(), s(20));
    }

    #[test]
    fn pruning_drops_only_versions_no_view_can_show() {
        let mut h = history(&[
            (Some("v0"), Stamp::SETTLED),
            (Some("v1"), stamp(10, 2)),
            (Some("v2"), stamp(3, 20)),
        ]);
        h.prune(s(1));
        assert_eq!(h.past.len(), 2, "at 1 every view still shows v0");
        h.prune(s(5));
        // Direct shows v2 (latest), search shows v1: v0 is dead, v1 is not.
        assert_eq!(
            h.past.iter().map(|v| v.record).collect::<Vec<_>>(),
            [Some("v1")]
        );
        assert_eq!(h.shown(View::Search, s(5)), Shown::Past(0));
        assert_eq!(h.shown(View::Direct, s(5)), Shown::Latest);
        h.prune(s(20));
        assert!(h.past.is_empty());
    }

    #[test]
    fn a_create_then_delete_leaves_a_ghost_until_both_views_catch_up() {
        let mut all: Histories<&'static str> = Histories::default();
        all.record(7, "u", None, stamp(5, 5), false, s(0));
        let (seq, shown, _) = all.shown("u", View::Direct, s(1)).unwrap();
        assert_eq!((seq, shown), (7, Shown::Past(0)));
        assert_eq!(all.by_seq[&7].past[0].record, None, "not created yet");
        // Deleted at 6, after the create showed: the deletion takes until 6 + 30.
        all.record(7, "u", Some("alice"), stamp(36, 16), true, s(6));
        assert_eq!(
            all.by_seq[&7].past.len(),
            1,
            "the not-yet-created version is dead"
        );
        let (_, shown, _) = all.shown("u", View::Search, s(10)).unwrap();
        assert_eq!(shown, Shown::Past(0));
        assert_eq!(all.by_seq[&7].past[0].record, Some("alice"));
        all.sweep(s(35));
        assert_eq!(
            all.shown("u", View::Direct, s(35)).unwrap().1,
            Shown::Past(0)
        );
        assert_eq!(
            all.shown("u", View::Search, s(35)).unwrap().1,
            Shown::Latest
        );
        all.sweep(s(36));
        assert!(all.by_seq.is_empty() && all.seq_of.is_empty() && all.due.is_empty());
    }

    #[test]
    fn a_zero_delay_write_leaves_no_history() {
        let mut all: Histories<&'static str> = Histories::default();
        all.record(1, "u", None, stamp(0, 0), false, s(0));
        assert!(all.by_seq.is_empty() && all.seq_of.is_empty());
    }

    #[test]
    fn many_writes_in_a_window_are_bounded_by_the_window() {
        let mut all: Histories<u32> = Histories::default();
        // One write a second, each taking 10 s to show: at most ~10 versions are alive.
        for t in 0..1000u32 {
            all.record(
                1,
                "u",
                Some(t),
                stamp(u64::from(t) + 10, u64::from(t) + 10),
                false,
                s(t.into()),
            );
            assert!(all.versions() <= 11, "{} versions at {t}", all.versions());
        }
        all.sweep(s(2000));
        assert_eq!(all.versions(), 0);
        assert!(all.due.is_empty());
    }
}
