//! The deletion's decisions, pure: from the record, what this pass has seen in Connect, the
//! policy and the time, to the next step. `cleanup.rs` runs the steps one after another until
//! one waits or releases. In order:
//!
//! 1. Once DeleteUser succeeded (recorded), only the quick connects remain, whatever the
//!    policy says now.
//! 2. A CreateUser whose outcome is unknown: search by username until the settle window after
//!    it has passed; a user carrying our tag is the user.
//! 3. No user recorded (and no attempt): nothing was created; release at once.
//! 4. `Retain`: remove the ownership tag, release; unless a DeleteUser was sent, whose outcome
//!    is known only after the window.
//! 5. `Delete`: DescribeUser (the ownership tag must be ours when the user is visible), then
//!    DeleteUser. An id this resource created is deleted even while Connect does not show it
//!    yet; an adopted one needs the tag seen. NotFound is the user's absence only after the
//!    settle window since the operator's last write to it.
//! 6. Quick connects: the managed one by its recorded id; every one pointing at the user from a
//!    complete listing right after DeleteUser; and once more from a listing started after the
//!    settle window since DeleteUser, so that one created shortly before DeleteUser, which search
//!    did not show yet, is not missed. Then release.

use super::decide::Holder;
use super::record::{Record, Settle, Time};

/// What this pass has seen in Connect so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// DescribeUser of the recorded id.
    pub user: Option<UserSeen>,
    /// SearchUsers by username, for an unresolved create attempt.
    pub by_username: Option<Holder>,
    /// DeleteUser answered NotFound in this pass.
    pub delete_not_found: bool,
    /// The ownership tag was removed in this pass (Retain).
    pub untagged: bool,
    /// DeleteQuickConnect of the recorded managed quick connect answered NotFound.
    pub managed_quick_connect_not_found: bool,
    /// SearchQuickConnects by the managed quick connect's name, for an unresolved attempt:
    /// `Some(None)` = not found or not ours.
    pub managed_by_name: Option<Option<String>>,
    /// The listing started after the window since DeleteUser is done.
    pub final_scan_done: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserSeen {
    Visible { owner: Option<String>, arn: String },
    Absent,
}

#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub uid: &'a str,
    pub retain: bool,
    pub record: &'a Record,
    /// `spec.quickConnect.name`, to find a managed quick connect whose id is not recorded.
    pub quick_connect_name: Option<&'a str>,
    pub seen: &'a Seen,
    pub now: Time,
    pub settle: Settle,
}

/// What the deletion waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Connect does not show the recorded user yet (or no longer): absence is a fact only after
    /// the window.
    UserNotVisible,
    /// A create attempt may have made a user that search does not show yet.
    UserOfAttempt,
    /// A DeleteUser was sent before the policy became Retain: its outcome shows after the window.
    DeleteOutcome,
    /// The recorded managed quick connect is not visible yet.
    QuickConnectNotVisible,
    /// A quick-connect create attempt may have made one that search does not show yet.
    QuickConnectOfAttempt,
    /// The last complete listing of quick connects is due.
    FinalScan,
}

impl Pending {
    pub fn describe(self) -> &'static str {
        match self {
            Pending::UserNotVisible => "waiting for Connect to show the user",
            Pending::UserOfAttempt => "looking for the user of a create attempt",
            Pending::DeleteOutcome => "waiting for the outcome of DeleteUser",
            Pending::QuickConnectNotVisible => {
                "waiting for Connect to show the managed quick connect"
            }
            Pending::QuickConnectOfAttempt => "looking for the quick connect of a create attempt",
            Pending::FinalScan => "final quick-connect listing",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    /// No user was ever created.
    NothingCreated,
    /// Retain: the user is left in place (untagged when it was ours).
    Retained,
    /// The user and its quick connects are deleted.
    Deleted,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    DescribeUser(String),
    SearchUsername,
    /// The unresolved attempt's user, found by its tag: it is the user to delete.
    TakeFound {
        id: String,
        arn: String,
    },
    /// The attempt left no user (searched after its window): forget it.
    AttemptResolved,
    DeleteUser(String),
    Untag {
        id: String,
        arn: String,
    },
    /// The user's absence is established: record it as deleted.
    UserGone,
    DeleteManagedQuickConnect(String),
    FindManagedQuickConnect(String),
    /// The managed quick connect is gone (or was never made): nothing to delete.
    ManagedQuickConnectGone,
    /// A complete listing started at or after `not_before`; delete what points at the user.
    Scan {
        not_before: Time,
        last: bool,
    },
    Wait {
        pending: Pending,
        since: Time,
        until: Time,
    },
    NotOwned(String),
    Release(Released),
}

pub fn next(v: &View) -> Step {
    let r = v.record;
    if let Some(deleted_at) = r.cleanup.user_deleted_at {
        return quick_connects(v, deleted_at);
    }
    if let Some(attempt) = r.create_attempted_at {
        match &v.seen.by_username {
            None => return Step::SearchUsername,
            Some(Holder::Ours { id, arn }) if r.user_id.as_deref() != Some(id.as_str()) => {
                return Step::TakeFound {
                    id: id.clone(),
                    arn: arn.clone(),
                };
            }
            Some(Holder::Ours { .. }) => return Step::AttemptResolved,
            Some(_) => {
                return match v.settle.open(Some(attempt), v.now) {
                    Some(until) => Step::Wait {
                        pending: Pending::UserOfAttempt,
                        since: attempt,
                        until,
                    },
                    None => Step::AttemptResolved,
                };
            }
        }
    }
    let Some(id) = r.user_id.clone() else {
        return Step::Release(Released::NothingCreated);
    };
    if v.retain {
        retain(v, id)
    } else {
        delete(v, id)
    }
}

fn retain(v: &View, id: String) -> Step {
    let r = v.record;
    if let Some(until) = v.settle.open(r.cleanup.delete_attempted_at, v.now) {
        return Step::Wait {
            pending: Pending::DeleteOutcome,
            since: r.cleanup.delete_attempted_at.unwrap_or(v.now),
            until,
        };
    }
    match &v.seen.user {
        None => Step::DescribeUser(id),
        Some(UserSeen::Visible { owner, arn }) if owner.as_deref() == Some(v.uid) => {
            if v.seen.untagged {
                Step::Release(Released::Retained)
            } else {
                Step::Untag {
                    id,
                    arn: arn.clone(),
                }
            }
        }
        // Not ours: not even untagged.
        Some(UserSeen::Visible { .. }) => Step::Release(Released::Retained),
        // A DeleteUser was sent and, after its window, the user is gone: it worked, so the
        // quick connects are finished like any deletion's.
        Some(UserSeen::Absent) if r.cleanup.delete_attempted_at.is_some() => Step::UserGone,
        Some(UserSeen::Absent) => match absent_until(v) {
            Some(wait) => wait,
            None => Step::Release(Released::Retained),
        },
    }
}

fn delete(v: &View, id: String) -> Step {
    let created_here = v.record.user_created_at.is_some();
    match &v.seen.user {
        None => Step::DescribeUser(id),
        Some(UserSeen::Visible { owner, .. }) if owner.as_deref() != Some(v.uid) => {
            Step::NotOwned(id)
        }
        Some(UserSeen::Visible { .. }) if !v.seen.delete_not_found => Step::DeleteUser(id),
        // Not shown, but this resource created that id: it is ours without a tag to see.
        Some(UserSeen::Absent) if created_here && !v.seen.delete_not_found => Step::DeleteUser(id),
        Some(_) => absent_until(v).unwrap_or(Step::UserGone),
    }
}

/// NotFound for the recorded user: a wait while the window after the operator's last write is
/// open, `None` once the absence is a fact.
fn absent_until(v: &View) -> Option<Step> {
    let since = v.record.user_anchor()?;
    v.settle.open(Some(since), v.now).map(|until| Step::Wait {
        pending: Pending::UserNotVisible,
        since,
        until,
    })
}

fn quick_connects(v: &View, deleted_at: Time) -> Step {
    let r = v.record;
    let done = |id: &str| r.cleanup.deleted_quick_connects.iter().any(|d| d == id);
    let managed = r.quick_connect_id.as_deref().filter(|id| !done(id));
    // The managed quick connect by its recorded id: retargeted in the console, or too new for
    // search, a listing would not find it.
    if let Some(qc) = managed
        && !v.seen.managed_quick_connect_not_found
    {
        return Step::DeleteManagedQuickConnect(qc.to_string());
    }
    // A CreateQuickConnect whose id is not recorded: look for it by name.
    let unresolved = match (&r.quick_connect_id, r.quick_connect_attempted_at) {
        (None, Some(attempt)) => Some(attempt),
        _ => None,
    };
    if unresolved.is_some()
        && v.seen.managed_by_name.is_none()
        && let Some(name) = v.quick_connect_name
    {
        return Step::FindManagedQuickConnect(name.to_string());
    }
    if !r.cleanup.first_scan_done {
        return Step::Scan {
            not_before: deleted_at,
            last: false,
        };
    }
    if managed.is_some() {
        // Deleting it answered NotFound: Connect may not show it yet.
        if let Some(until) = v.settle.open(r.quick_connect_created_at, v.now) {
            return Step::Wait {
                pending: Pending::QuickConnectNotVisible,
                since: r.quick_connect_created_at.unwrap_or(v.now),
                until,
            };
        }
        return Step::ManagedQuickConnectGone;
    }
    if let Some(attempt) = unresolved {
        // Not found by name (or `spec.quickConnect` is gone and its name with it: the listings
        // still find it while it points at the user).
        if v.quick_connect_name.is_some()
            && let Some(until) = v.settle.open(Some(attempt), v.now)
        {
            return Step::Wait {
                pending: Pending::QuickConnectOfAttempt,
                since: attempt,
                until,
            };
        }
        return Step::ManagedQuickConnectGone;
    }
    let due = v.settle.after(deleted_at);
    if v.now < due {
        return Step::Wait {
            pending: Pending::FinalScan,
            since: deleted_at,
            until: due,
        };
    }
    if !v.seen.final_scan_done {
        return Step::Scan {
            not_before: due,
            last: true,
        };
    }
    Step::Release(Released::Deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use std::time::Duration;

    const UID: &str = "uid-1";

    fn t(secs: i64) -> Time {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn view<'a>(record: &'a Record, seen: &'a Seen, now: i64) -> View<'a> {
        View {
            uid: UID,
            retain: false,
            record,
            quick_connect_name: None,
            seen,
            now: t(now),
            settle: Settle(Duration::from_secs(300)),
        }
    }

    fn created(at: i64) -> Record {
        Record {
            user_id: Some("u".into()),
            user_arn: Some("arn:u".into()),
            user_created_at: Some(t(at)),
            last_write_at: Some(t(at)),
            ..Default::default()
        }
    }

    fn adopted(at: i64) -> Record {
        Record {
            user_id: Some("u".into()),
            user_arn: Some("arn:u".into()),
            last_write_at: Some(t(at)),
            ..Default::default()
        }
    }

    fn visible(owner: &str) -> Option<UserSeen> {
        Some(UserSeen::Visible {
            owner: Some(owner.into()),
            arn: "arn:u".into(),
        })
    }

    fn deleted(at: i64) -> Record {
        let mut r = created(at - 100);
        r.cleanup.user_deleted_at = Some(t(at));
        r
    }

    #[test]
    fn nothing_attempted_releases_at_once() {
        let r = Record::default();
        assert_eq!(
            next(&view(&r, &Seen::default(), 0)),
            Step::Release(Released::NothingCreated)
        );
    }

    #[test]
    fn a_recorded_id_is_described_then_deleted_when_ours() {
        let r = created(-1000);
        let mut seen = Seen::default();
        assert_eq!(next(&view(&r, &seen, 0)), Step::DescribeUser("u".into()));
        seen.user = visible(UID);
        assert_eq!(next(&view(&r, &seen, 0)), Step::DeleteUser("u".into()));
        seen.user = visible("someone-else");
        assert_eq!(next(&view(&r, &seen, 0)), Step::NotOwned("u".into()));
        seen.user = Some(UserSeen::Visible {
            owner: None,
            arn: "a".into(),
        });
        assert_eq!(
            next(&view(&r, &seen, 0)),
            Step::NotOwned("u".into()),
            "untagged is not ours"
        );
    }

    #[test]
    fn a_created_id_connect_does_not_show_yet_is_deleted_anyway() {
        let r = created(-5);
        let mut seen = Seen {
            user: Some(UserSeen::Absent),
            ..Default::default()
        };
        assert_eq!(next(&view(&r, &seen, 0)), Step::DeleteUser("u".into()));
        // DeleteUser says NotFound too: inside the window that is Connect catching up.
        seen.delete_not_found = true;
        assert_eq!(
            next(&view(&r, &seen, 0)),
            Step::Wait {
                pending: Pending::UserNotVisible,
                since: t(-5),
                until: t(295)
            }
        );
        // After the window, the absence is a fact.
        assert_eq!(next(&view(&r, &seen, 295)), Step::UserGone);
    }

    #[test]
    fn an_adopted_id_needs_the_tag_seen_before_delete() {
        let r = adopted(-5);
        let seen = Seen {
            user: Some(UserSeen::Absent),
            ..Default::default()
        };
        assert_eq!(
            next(&view(&r, &seen, 0)),
            Step::Wait {
                pending: Pending::UserNotVisible,
                since: t(-5),
                until: t(295)
            },
            "no blind DeleteUser for a user this resource did not create"
        );
        assert_eq!(next(&view(&r, &seen, 300)), Step::UserGone);
    }

    #[test]
    fn not_found_long_after_the_last_write_is_gone() {
        let r = created(-10_000);
        let seen = Seen {
            user: Some(UserSeen::Absent),
            delete_not_found: true,
            ..Default::default()
        };
        assert_eq!(next(&view(&r, &seen, 0)), Step::UserGone);
    }

    #[test]
    fn an_attempt_without_an_id_searches_until_its_window_passed() {
        let r = Record {
            create_attempted_at: Some(t(-10)),
            ..Default::default()
        };
        let mut seen = Seen::default();
        assert_eq!(next(&view(&r, &seen, 0)), Step::SearchUsername);
        seen.by_username = Some(Holder::Nobody);
        assert_eq!(
            next(&view(&r, &seen, 0)),
            Step::Wait {
                pending: Pending::UserOfAttempt,
                since: t(-10),
                until: t(290)
            }
        );
        // Someone else's user with the name, or a deleted namesake: not ours, keep looking.
        seen.by_username = Some(Holder::Other {
            id: "x".into(),
            arn: "a".into(),
        });
        assert!(matches!(next(&view(&r, &seen, 0)), Step::Wait { .. }));
        assert_eq!(next(&view(&r, &seen, 290)), Step::AttemptResolved);
        seen.by_username = Some(Holder::Ours {
            id: "new".into(),
            arn: "arn:new".into(),
        });
        assert_eq!(
            next(&view(&r, &seen, 0)),
            Step::TakeFound {
                id: "new".into(),
                arn: "arn:new".into()
            }
        );
    }

    #[test]
    fn after_the_attempt_is_resolved_the_recorded_user_is_handled() {
        // Recreating: the recorded user is missing, an attempt's outcome unknown.
        let mut r = created(-10_000);
        r.create_attempted_at = Some(t(-10));
        let seen = Seen {
            by_username: Some(Holder::Ours {
                id: "u".into(),
                arn: "arn:u".into(),
            }),
            ..Default::default()
        };
        assert_eq!(next(&view(&r, &seen, 0)), Step::AttemptResolved);
        r.create_attempted_at = None;
        assert_eq!(next(&view(&r, &seen, 0)), Step::DescribeUser("u".into()));
    }

    #[test]
    fn retain_untags_ours_and_leaves_others_alone() {
        let r = created(-1000);
        let mut seen = Seen::default();
        let retain = |seen: &Seen| {
            let mut v = view(&r, seen, 0);
            v.retain = true;
            next(&v)
        };
        assert_eq!(retain(&seen), Step::DescribeUser("u".into()));
        seen.user = visible(UID);
        assert_eq!(
            retain(&seen),
            Step::Untag {
                id: "u".into(),
                arn: "arn:u".into()
            }
        );
        seen.untagged = true;
        assert_eq!(retain(&seen), Step::Release(Released::Retained));
        seen.user = visible("other");
        seen.untagged = false;
        assert_eq!(retain(&seen), Step::Release(Released::Retained));
    }

    #[test]
    fn retain_after_a_delete_attempt_waits_for_its_outcome() {
        let mut r = created(-1000);
        r.cleanup.delete_attempted_at = Some(t(-10));
        let mut seen = Seen::default();
        let retain = |seen: &Seen, now| {
            let mut v = view(&r, seen, now);
            v.retain = true;
            next(&v)
        };
        assert_eq!(
            retain(&seen, 0),
            Step::Wait {
                pending: Pending::DeleteOutcome,
                since: t(-10),
                until: t(290)
            }
        );
        assert_eq!(retain(&seen, 290), Step::DescribeUser("u".into()));
        seen.user = Some(UserSeen::Absent);
        assert_eq!(
            retain(&seen, 290),
            Step::UserGone,
            "it was deleted: finish the quick connects"
        );
        seen.user = visible(UID);
        assert_eq!(
            retain(&seen, 290),
            Step::Untag {
                id: "u".into(),
                arn: "arn:u".into()
            }
        );
    }

    #[test]
    fn once_delete_user_succeeded_quick_connects_finish_whatever_the_policy() {
        let r = deleted(0);
        let seen = Seen::default();
        for retain in [false, true] {
            let mut v = view(&r, &seen, 1);
            v.retain = retain;
            assert_eq!(
                next(&v),
                Step::Scan {
                    not_before: t(0),
                    last: false
                },
                "retain={retain}"
            );
        }
    }

    #[test]
    fn the_recorded_managed_quick_connect_is_deleted_by_id() {
        let mut r = deleted(0);
        r.quick_connect_id = Some("q".into());
        r.quick_connect_created_at = Some(t(-5));
        let mut seen = Seen::default();
        assert_eq!(
            next(&view(&r, &seen, 1)),
            Step::DeleteManagedQuickConnect("q".into())
        );
        seen.managed_quick_connect_not_found = true;
        // Not shown yet: the first listing goes ahead meanwhile.
        assert!(matches!(
            next(&view(&r, &seen, 1)),
            Step::Scan { last: false, .. }
        ));
        r.cleanup.first_scan_done = true;
        assert_eq!(
            next(&view(&r, &seen, 1)),
            Step::Wait {
                pending: Pending::QuickConnectNotVisible,
                since: t(-5),
                until: t(295)
            }
        );
        assert_eq!(next(&view(&r, &seen, 295)), Step::ManagedQuickConnectGone);
        r.cleanup.deleted_quick_connects.push("q".into());
        assert!(matches!(
            next(&view(&r, &seen, 301)),
            Step::Scan { last: true, .. }
        ));
    }

    #[test]
    fn a_quick_connect_attempt_without_an_id_is_looked_for_by_name() {
        let mut r = deleted(0);
        r.quick_connect_attempted_at = Some(t(-5));
        r.cleanup.first_scan_done = true;
        let mut seen = Seen::default();
        let with_name = |seen: &Seen, now| {
            let mut v = view(&r, seen, now);
            v.quick_connect_name = Some("To Alice");
            next(&v)
        };
        assert_eq!(
            with_name(&seen, 1),
            Step::FindManagedQuickConnect("To Alice".into())
        );
        seen.managed_by_name = Some(None);
        assert!(matches!(
            with_name(&seen, 1),
            Step::Wait {
                pending: Pending::QuickConnectOfAttempt,
                ..
            }
        ));
        assert_eq!(with_name(&seen, 295), Step::ManagedQuickConnectGone);
        // With spec.quickConnect removed, the name is unknown: the listings cover it.
        assert_eq!(
            next(&view(&r, &Seen::default(), 1)),
            Step::ManagedQuickConnectGone
        );
    }

    #[test]
    fn a_final_listing_after_the_window_since_delete_user() {
        let mut r = deleted(0);
        r.cleanup.first_scan_done = true;
        let mut seen = Seen::default();
        assert_eq!(
            next(&view(&r, &seen, 10)),
            Step::Wait {
                pending: Pending::FinalScan,
                since: t(0),
                until: t(300)
            }
        );
        assert_eq!(
            next(&view(&r, &seen, 300)),
            Step::Scan {
                not_before: t(300),
                last: true
            }
        );
        seen.final_scan_done = true;
        assert_eq!(
            next(&view(&r, &seen, 300)),
            Step::Release(Released::Deleted)
        );
    }

    #[test]
    fn with_no_window_both_listings_may_be_one() {
        let mut r = deleted(0);
        r.cleanup.first_scan_done = true;
        let seen = Seen::default();
        let mut v = view(&r, &seen, 0);
        v.settle = Settle(Duration::ZERO);
        // Due at the DeleteUser time itself: the first listing (started after it) qualifies.
        assert_eq!(
            next(&v),
            Step::Scan {
                not_before: t(0),
                last: true
            }
        );
    }
}
