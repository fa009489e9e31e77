//! What the operator recorded in status, parsed: the facts every decision starts from. Amazon
//! Connect is eventually consistent, so what the operator wrote down outranks what one read
//! shows, and each absence is judged against the settle window after the operator's own write.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::crd::{CleanupStatus, ConnectUserStatus};

pub type Time = DateTime<Utc>;

/// RFC 3339 with milliseconds: windows are compared at that precision.
pub fn stamp(t: Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A recorded time. The CRD declares these fields `date-time`, so only the operator's own
/// writes put values there; one that does not parse reads as the epoch (its window has passed)
/// rather than blocking a deletion forever.
pub fn parse(s: &Option<String>) -> Option<Time> {
    s.as_deref().map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::UNIX_EPOCH)
    })
}

/// How long Connect may take to agree with itself after a write (the operator's
/// `--settle-window`). A read that disagrees with the record is trusted only after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settle(pub Duration);

impl Settle {
    /// When the window that opened at `t` closes.
    pub fn after(self, t: Time) -> Time {
        t + chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }

    /// `Some(closing time)` while the window after `t` is still open at `now`.
    pub fn open(self, t: Option<Time>, now: Time) -> Option<Time> {
        let until = self.after(t?);
        (now < until).then_some(until)
    }
}

/// How soon to look again while waiting for Connect to show the operator's own write: often
/// at first (it usually takes seconds), less often as the wait grows, never past the window.
pub fn poll_interval(since: Time, now: Time, until: Time) -> Duration {
    let waited = (now - since).to_std().unwrap_or_default();
    let left = (until - now).to_std().unwrap_or_default();
    (waited / 4)
        .clamp(Duration::from_millis(250), Duration::from_secs(30))
        .min(left)
        .max(Duration::from_millis(50))
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    pub user_id: Option<String>,
    pub user_arn: Option<String>,
    /// Set when this resource's CreateUser returned `user_id` (not for an adopted user).
    pub user_created_at: Option<Time>,
    pub create_attempted_at: Option<Time>,
    pub last_write_at: Option<Time>,
    pub quick_connect_id: Option<String>,
    pub quick_connect_created_at: Option<Time>,
    pub quick_connect_attempted_at: Option<Time>,
    pub cleanup: CleanupRecord,
}

/// `status.cleanup`, parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanupRecord {
    pub delete_attempted_at: Option<Time>,
    pub user_deleted_at: Option<Time>,
    pub first_scan_done: bool,
    pub deleted_quick_connects: Vec<String>,
}

impl Record {
    pub fn of(status: Option<&ConnectUserStatus>) -> Record {
        let Some(s) = status else {
            return Record::default();
        };
        let c = s.cleanup.clone().unwrap_or_default();
        Record {
            user_id: s.user_id.clone(),
            user_arn: s.user_arn.clone(),
            user_created_at: parse(&s.user_created_at),
            create_attempted_at: parse(&s.create_attempted_at),
            last_write_at: parse(&s.last_write_at),
            quick_connect_id: s.quick_connect_id.clone(),
            quick_connect_created_at: parse(&s.quick_connect_created_at),
            quick_connect_attempted_at: parse(&s.quick_connect_attempted_at),
            cleanup: CleanupRecord::of(&c),
        }
    }

    /// The operator's latest write that can leave the user invisible for a while: its creation
    /// (or the attempt at it) and any later write. NotFound before the settle window after
    /// this is not evidence of absence.
    pub fn user_anchor(&self) -> Option<Time> {
        [
            self.user_created_at,
            self.last_write_at,
            self.create_attempted_at,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

impl CleanupRecord {
    fn of(c: &CleanupStatus) -> CleanupRecord {
        CleanupRecord {
            delete_attempted_at: parse(&c.delete_attempted_at),
            user_deleted_at: if c.user_deleted {
                // Deleted but no time (a deletion begun by an older version, which listed
                // once): the final listing is due at once.
                Some(parse(&c.user_deleted_at).unwrap_or(DateTime::UNIX_EPOCH))
            } else {
                None
            },
            first_scan_done: c.first_scan_done,
            deleted_quick_connects: c.deleted_quick_connects.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn stamps_round_trip_at_millisecond_precision() {
        let now = t("2026-11-28T12:00:00.123Z");
        assert_eq!(stamp(now), "2026-11-28T12:00:00.123Z");
        assert_eq!(parse(&Some(stamp(now))), Some(now));
        assert_eq!(parse(&None), None);
        assert_eq!(parse(&Some("garbage".into())), Some(DateTime::UNIX_EPOCH));
    }

    #[test]
    fn the_window_is_open_until_it_closes() {
        let settle = Settle(Duration::from_secs(300));
        let at = t("2026-11-28T12:00:00Z");
        assert_eq!(settle.open(Some(at), at), Some(t("2026-11-28T12:05:00Z")));
        assert_eq!(
            settle.open(Some(at), t("2026-11-28T12:04:59.999Z")),
            Some(t("2026-11-28T12:05:00Z"))
        );
        assert_eq!(settle.open(Some(at), t("2026-11-28T12:05:00Z")), None);
        assert_eq!(settle.open(None, at), None);
        assert_eq!(Settle(Duration::ZERO).open(Some(at), at), None);
    }

    #[test]
    fn polling_starts_fast_slows_down_and_stops_at_the_window() {
        let at = t("2026-11-28T12:00:00Z");
        let until = t("2026-11-28T12:05:00Z");
        assert_eq!(poll_interval(at, at, until), Duration::from_millis(250));
        assert_eq!(
            poll_interval(at, t("2026-11-28T12:00:40Z"), until),
            Duration::from_secs(10)
        );
        assert_eq!(
            poll_interval(at, t("2026-11-28T12:04:00Z"), until),
            Duration::from_secs(30)
        );
        assert_eq!(
            poll_interval(at, t("2026-11-28T12:04:59.900Z"), until),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn the_user_anchor_is_the_latest_write() {
        let r = Record {
            user_created_at: Some(t("2026-11-28T12:00:00Z")),
            last_write_at: Some(t("2026-11-28T12:03:00Z")),
            ..Default::default()
        };
        assert_eq!(r.user_anchor(), Some(t("2026-11-28T12:03:00Z")));
        assert_eq!(Record::default().user_anchor(), None);
    }
}
