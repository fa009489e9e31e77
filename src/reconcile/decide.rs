//! The converge pass's decisions, pure: from what the operator recorded (`Record`), what Connect
//! showed in this pass, and the time, to the next thing to do. No I/O, so every case is a unit
//! test. Connect is eventually consistent: a read that disagrees with the record is trusted
//! only once the settle window after the operator's own write has passed, and uniqueness comes
//! from CreateUser's DuplicateResourceException, not from a search.

use crate::connect::ErrorKind;

use super::record::{Record, Settle, Time};

/// Who holds a username (or a quick-connect name) in Connect, as one search shows it. A search
/// may miss a holder created moments ago and still show one deleted moments ago.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    /// Carries this resource's ownership tag.
    Ours {
        id: String,
        arn: String,
    },
    /// Carries the ownership tag of another ConnectUser that exists (`by` = namespace/name).
    Managed {
        id: String,
        by: String,
    },
    /// Carries the ownership tag of another ConnectUser that is being deleted: the name frees
    /// up once that deletion is done (a rename in Git: the old resource pruned, the new applied).
    Leaving {
        id: String,
        by: String,
    },
    /// Anyone else: no ownership tag, or the tag of a resource that no longer exists.
    Other {
        id: String,
        arn: String,
    },
}

/// The facts every converge decision shares.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub record: &'a Record,
    pub adopt_existing: bool,
    pub now: Time,
    pub settle: Settle,
    /// When this operator last deleted a user with this username (kept in memory: a restart
    /// forgets it, and a taken name then reads as UserExists until it frees up).
    pub we_deleted_username_at: Option<Time>,
}

/// How the pass finds the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The id is recorded and the user was in line at the last pass: the shared SearchUsers
    /// snapshot may show it unchanged (no DescribeUser).
    Summary(String),
    /// The id is recorded: DescribeUser.
    Describe(String),
    /// No id: search by username first (to adopt, or to find the user of an earlier attempt).
    Search,
    /// No id and nothing to look for: CreateUser decides whether the name is free.
    Create,
}

pub fn lookup(record: &Record, adopt_existing: bool, summary_allowed: bool) -> Lookup {
    match &record.user_id {
        Some(id) if summary_allowed => Lookup::Summary(id.clone()),
        Some(id) => Lookup::Describe(id.clone()),
        None if adopt_existing || record.create_attempted_at.is_some() => Lookup::Search,
        None => Lookup::Create,
    }
}

/// What DescribeUser of the recorded id showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen<'a> {
    Visible { owner: Option<&'a str> },
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Described {
    Ours,
    NotOwned,
    /// NotFound inside the settle window after the operator's own write: Connect has not
    /// caught up; wait (never recreate on this).
    NotVisibleYet {
        since: Time,
        until: Time,
    },
    /// NotFound after the window: deleted behind the operator's back; create it again.
    Missing,
}

pub fn after_describe(facts: &Facts, seen: Seen, uid: &str) -> Described {
    match seen {
        Seen::Visible { owner } if owner == Some(uid) => Described::Ours,
        Seen::Visible { .. } => Described::NotOwned,
        Seen::NotFound => {
            let anchor = facts.record.user_anchor();
            match (anchor, facts.settle.open(anchor, facts.now)) {
                (Some(since), Some(until)) => Described::NotVisibleYet { since, until },
                _ => Described::Missing,
            }
        }
    }
}

/// What to do after a search by username found `holder` (no id recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    /// Our own user, created (or adopted) by a pass that did not get to record it.
    Recover {
        id: String,
        arn: String,
    },
    Adopt {
        id: String,
        arn: String,
    },
    Conflict {
        id: String,
        by: String,
    },
    /// Probably the user this operator has just deleted, still shown by search: wait.
    Reserved {
        until: Time,
    },
    Create,
}

pub fn after_search(facts: &Facts, holder: &Holder) -> Take {
    match holder {
        Holder::Ours { id, arn } => Take::Recover {
            id: id.clone(),
            arn: arn.clone(),
        },
        Holder::Managed { id, by } => Take::Conflict {
            id: id.clone(),
            by: by.clone(),
        },
        Holder::Leaving { .. } => Take::Reserved {
            until: facts.settle.after(facts.now),
        },
        Holder::Other { .. }
            if facts
                .settle
                .open(facts.we_deleted_username_at, facts.now)
                .is_some() =>
        {
            Take::Reserved {
                until: facts
                    .settle
                    .after(facts.we_deleted_username_at.unwrap_or(facts.now)),
            }
        }
        Holder::Other { id, arn } if facts.adopt_existing => Take::Adopt {
            id: id.clone(),
            arn: arn.clone(),
        },
        // Not adopting: CreateUser decides (a search is no authority on uniqueness).
        Holder::Other { .. } | Holder::Nobody => Take::Create,
    }
}

/// Why a taken username is expected to free up by itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReservedBy {
    /// An earlier CreateUser of this resource may have created it; search does not show it yet.
    EarlierAttempt,
    /// This operator deleted a user with this name within the settle window.
    OurDeletion,
    /// The recorded user, which Connect no longer has, still holds it.
    MissingUser,
    /// The ConnectUser that owns the user holding it is being deleted.
    OwnerDeleting,
    /// Connect refused the name but shows no user with it yet.
    NotShown,
}

/// CreateUser answered DuplicateResourceException; `holder` is what a search by username shows
/// now; `prior_attempt` is an earlier attempt whose outcome was unknown; `missing` is the
/// recorded id Connect no longer has (when recreating).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Recover { id: String, arn: String },
    Adopt { id: String, arn: String },
    Conflict { id: String, by: String },
    UserExists { id: String },
    Reserved(ReservedBy),
}

pub fn after_duplicate(
    facts: &Facts,
    holder: &Holder,
    prior_attempt: Option<Time>,
    missing: Option<&str>,
) -> Refused {
    match holder {
        Holder::Ours { id, arn } if Some(id.as_str()) != missing => {
            return Refused::Recover {
                id: id.clone(),
                arn: arn.clone(),
            };
        }
        Holder::Managed { id, by } => {
            return Refused::Conflict {
                id: id.clone(),
                by: by.clone(),
            };
        }
        _ => {}
    }
    if let Holder::Leaving { .. } = holder {
        return Refused::Reserved(ReservedBy::OwnerDeleting);
    }
    if facts.settle.open(prior_attempt, facts.now).is_some() {
        return Refused::Reserved(ReservedBy::EarlierAttempt);
    }
    if facts
        .settle
        .open(facts.we_deleted_username_at, facts.now)
        .is_some()
    {
        return Refused::Reserved(ReservedBy::OurDeletion);
    }
    match holder {
        Holder::Other { id, arn } if facts.adopt_existing => Refused::Adopt {
            id: id.clone(),
            arn: arn.clone(),
        },
        Holder::Other { id, .. } => Refused::UserExists { id: id.clone() },
        Holder::Ours { .. } => Refused::Reserved(ReservedBy::MissingUser),
        Holder::Nobody | Holder::Managed { .. } | Holder::Leaving { .. } => {
            Refused::Reserved(ReservedBy::NotShown)
        }
    }
}

/// Whether this CreateUser (or CreateQuickConnect) error proves the request created nothing.
/// Sent once (no SDK retry), a refusal is about this request alone; a timeout or 5xx may have
/// created it.
pub fn refused_for_sure(kind: ErrorKind) -> bool {
    !matches!(kind, ErrorKind::Transient)
}

/// A call addressing the user (or a call naming it, like CreateQuickConnect) answered `kind`:
/// inside the settle window after the operator's own write, NotFound and InvalidRequest are
/// Connect not having caught up (AWS documents both), so wait until the window closes.
pub fn settling(kind: ErrorKind, anchor: Option<Time>, facts: &Facts) -> Option<(Time, Time)> {
    if !matches!(kind, ErrorKind::NotFound | ErrorKind::Invalid) {
        return None;
    }
    let since = anchor?;
    facts
        .settle
        .open(Some(since), facts.now)
        .map(|until| (since, until))
}

/// A direct read or a write by id answered `kind`: does that say "not shown (yet)" rather than
/// fail? NotFound always does (the caller judges absence by the settle window);
/// InvalidRequestException only inside the window after the operator's own write, where AWS
/// documents it as Connect not having caught up.
pub fn not_shown(kind: ErrorKind, anchor: Option<Time>, now: Time, settle: Settle) -> bool {
    match kind {
        ErrorKind::NotFound => true,
        ErrorKind::Invalid => settle.open(anchor, now).is_some(),
        _ => false,
    }
}

/// How the user was found, for the Ready condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    Created,
    Recreated,
    Adopted,
    Ours,
}

/// The managed quick connect, as a search by its name shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedQuickConnect {
    Nobody,
    Ours(String),
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuickConnectTake {
    /// Ours, created by a pass that did not record it: record it.
    Recover(String),
    /// Someone else's quick connect has the name.
    Conflict(String),
    Create,
    /// CreateQuickConnect said the name is taken, and ours (just created) may not show yet.
    Wait,
}

/// After a search by the spec's name, with no id recorded (`refused`: CreateQuickConnect has
/// just answered DuplicateResourceException; `prior_attempt`: an earlier unresolved attempt).
pub fn quick_connect_by_name(
    facts: &Facts,
    found: &NamedQuickConnect,
    refused: bool,
    prior_attempt: Option<Time>,
) -> QuickConnectTake {
    match found {
        NamedQuickConnect::Ours(id) => QuickConnectTake::Recover(id.clone()),
        // A search may show a deleted namesake while ours is not shown yet.
        NamedQuickConnect::Other(_)
            if refused && facts.settle.open(prior_attempt, facts.now).is_some() =>
        {
            QuickConnectTake::Wait
        }
        NamedQuickConnect::Other(id) => QuickConnectTake::Conflict(id.clone()),
        NamedQuickConnect::Nobody if refused => QuickConnectTake::Wait,
        NamedQuickConnect::Nobody => QuickConnectTake::Create,
    }
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

    fn facts(record: &Record, now: i64) -> Facts<'_> {
        Facts {
            record,
            adopt_existing: false,
            now: t(now),
            settle: Settle(Duration::from_secs(300)),
            we_deleted_username_at: None,
        }
    }

    fn ours(id: &str) -> Holder {
        Holder::Ours {
            id: id.into(),
            arn: format!("arn:{id}"),
        }
    }

    fn other(id: &str) -> Holder {
        Holder::Other {
            id: id.into(),
            arn: format!("arn:{id}"),
        }
    }

    fn recorded(id: &str, written: i64) -> Record {
        Record {
            user_id: Some(id.into()),
            user_created_at: Some(t(written)),
            last_write_at: Some(t(written)),
            ..Default::default()
        }
    }

    #[test]
    fn lookup_uses_the_record_first() {
        let r = recorded("u", 0);
        assert_eq!(lookup(&r, false, true), Lookup::Summary("u".into()));
        assert_eq!(lookup(&r, true, false), Lookup::Describe("u".into()));
        let none = Record::default();
        assert_eq!(
            lookup(&none, false, true),
            Lookup::Create,
            "no search before CreateUser"
        );
        assert_eq!(
            lookup(&none, true, false),
            Lookup::Search,
            "adopting searches first"
        );
        let attempted = Record {
            create_attempted_at: Some(t(0)),
            ..Default::default()
        };
        assert_eq!(
            lookup(&attempted, false, false),
            Lookup::Search,
            "an earlier attempt's user may exist unrecorded"
        );
    }

    #[test]
    fn a_404_right_after_create_waits_and_never_recreates() {
        let r = recorded("u", 0);
        assert_eq!(
            after_describe(&facts(&r, 10), Seen::NotFound, UID),
            Described::NotVisibleYet {
                since: t(0),
                until: t(300)
            }
        );
        assert_eq!(
            after_describe(&facts(&r, 299), Seen::NotFound, UID),
            Described::NotVisibleYet {
                since: t(0),
                until: t(300)
            }
        );
        assert_eq!(
            after_describe(&facts(&r, 300), Seen::NotFound, UID),
            Described::Missing,
            "absence is a fact once it persisted past the window"
        );
        // Any later write of the operator restarts the window.
        let mut updated = recorded("u", 0);
        updated.last_write_at = Some(t(1000));
        assert!(matches!(
            after_describe(&facts(&updated, 1100), Seen::NotFound, UID),
            Described::NotVisibleYet { .. }
        ));
        // A user recorded with no time at all (an older version) is judged at once.
        let bare = Record {
            user_id: Some("u".into()),
            ..Default::default()
        };
        assert_eq!(
            after_describe(&facts(&bare, 0), Seen::NotFound, UID),
            Described::Missing
        );
    }

    #[test]
    fn ownership_is_the_tag_seen_now() {
        let r = recorded("u", 0);
        let f = facts(&r, 10);
        assert_eq!(
            after_describe(&f, Seen::Visible { owner: Some(UID) }, UID),
            Described::Ours
        );
        assert_eq!(
            after_describe(&f, Seen::Visible { owner: Some("x") }, UID),
            Described::NotOwned
        );
        assert_eq!(
            after_describe(&f, Seen::Visible { owner: None }, UID),
            Described::NotOwned
        );
    }

    #[test]
    fn a_search_recovers_ours_adopts_only_when_asked_and_creates_otherwise() {
        let r = Record::default();
        let mut f = facts(&r, 0);
        assert_eq!(
            after_search(&f, &ours("u")),
            Take::Recover {
                id: "u".into(),
                arn: "arn:u".into()
            }
        );
        assert_eq!(
            after_search(
                &f,
                &Holder::Managed {
                    id: "u".into(),
                    by: "ns/a".into()
                }
            ),
            Take::Conflict {
                id: "u".into(),
                by: "ns/a".into()
            }
        );
        assert_eq!(after_search(&f, &other("u")), Take::Create);
        assert_eq!(after_search(&f, &Holder::Nobody), Take::Create);
        f.adopt_existing = true;
        assert_eq!(
            after_search(&f, &other("u")),
            Take::Adopt {
                id: "u".into(),
                arn: "arn:u".into()
            }
        );
        // Right after this operator deleted the name, the user shown is likely that one.
        f.we_deleted_username_at = Some(t(-10));
        assert_eq!(
            after_search(&f, &other("u")),
            Take::Reserved { until: t(290) }
        );
    }

    #[test]
    fn a_duplicate_is_the_uniqueness_authority() {
        let r = Record::default();
        let f = facts(&r, 0);
        assert_eq!(
            after_duplicate(&f, &other("x"), None, None),
            Refused::UserExists { id: "x".into() }
        );
        assert_eq!(
            after_duplicate(
                &f,
                &Holder::Managed {
                    id: "x".into(),
                    by: "ns/a".into()
                },
                None,
                None
            ),
            Refused::Conflict {
                id: "x".into(),
                by: "ns/a".into()
            }
        );
        assert_eq!(
            after_duplicate(&f, &ours("x"), None, None),
            Refused::Recover {
                id: "x".into(),
                arn: "arn:x".into()
            }
        );
        // Taken, but nobody shown: the holder is too new for search; it is not UserExists.
        assert_eq!(
            after_duplicate(&f, &Holder::Nobody, None, None),
            Refused::Reserved(ReservedBy::NotShown)
        );
        let mut adopting = f;
        adopting.adopt_existing = true;
        assert_eq!(
            after_duplicate(&adopting, &other("x"), None, None),
            Refused::Adopt {
                id: "x".into(),
                arn: "arn:x".into()
            }
        );
    }

    #[test]
    fn a_name_held_by_a_resource_being_deleted_is_waited_for() {
        let r = Record::default();
        let leaving = Holder::Leaving {
            id: "old".into(),
            by: "ns/old".into(),
        };
        let mut f = facts(&r, 0);
        assert_eq!(after_search(&f, &leaving), Take::Reserved { until: t(300) });
        assert_eq!(
            after_duplicate(&f, &leaving, None, None),
            Refused::Reserved(ReservedBy::OwnerDeleting),
            "not Conflict: the owner is going away"
        );
        f.adopt_existing = true;
        assert_eq!(after_search(&f, &leaving), Take::Reserved { until: t(300) });
    }

    #[test]
    fn a_duplicate_right_after_our_own_delete_is_a_transient_retry() {
        let r = Record::default();
        let mut f = facts(&r, 0);
        f.we_deleted_username_at = Some(t(-5));
        // The deleted user still shows (its old owner's tag): not UserExists, not adoptable.
        assert_eq!(
            after_duplicate(&f, &other("old"), None, None),
            Refused::Reserved(ReservedBy::OurDeletion)
        );
        assert_eq!(
            after_duplicate(&f, &Holder::Nobody, None, None),
            Refused::Reserved(ReservedBy::OurDeletion)
        );
        f.we_deleted_username_at = Some(t(-300));
        assert_eq!(
            after_duplicate(&f, &other("old"), None, None),
            Refused::UserExists { id: "old".into() },
            "after the window the name is really taken"
        );
    }

    #[test]
    fn a_duplicate_after_an_unknown_earlier_attempt_waits_for_that_user() {
        let r = Record::default();
        let f = facts(&r, 100);
        assert_eq!(
            after_duplicate(&f, &Holder::Nobody, Some(t(0)), None),
            Refused::Reserved(ReservedBy::EarlierAttempt)
        );
        assert_eq!(
            after_duplicate(&f, &other("x"), Some(t(0)), None),
            Refused::Reserved(ReservedBy::EarlierAttempt),
            "search may show a deleted namesake while ours is not shown yet"
        );
        assert_eq!(
            after_duplicate(&f, &other("x"), Some(t(-300)), None),
            Refused::UserExists { id: "x".into() }
        );
    }

    #[test]
    fn recreating_does_not_mistake_the_missing_user_for_ours() {
        let r = recorded("gone", -1000);
        let f = facts(&r, 0);
        assert_eq!(
            after_duplicate(&f, &ours("gone"), None, Some("gone")),
            Refused::Reserved(ReservedBy::MissingUser)
        );
        assert_eq!(
            after_duplicate(&f, &ours("new"), None, Some("gone")),
            Refused::Recover {
                id: "new".into(),
                arn: "arn:new".into()
            }
        );
    }

    #[test]
    fn only_a_refusal_proves_nothing_was_created() {
        for kind in [
            ErrorKind::Duplicate,
            ErrorKind::Invalid,
            ErrorKind::NotFound,
            ErrorKind::Throttled,
            ErrorKind::Denied,
            ErrorKind::CredentialsExpired,
            ErrorKind::QuotaExceeded,
        ] {
            assert!(refused_for_sure(kind), "{kind:?}");
        }
        assert!(!refused_for_sure(ErrorKind::Transient));
    }

    #[test]
    fn not_found_and_invalid_inside_the_window_are_connect_catching_up() {
        let r = Record::default();
        let f = facts(&r, 10);
        assert_eq!(
            settling(ErrorKind::NotFound, Some(t(0)), &f),
            Some((t(0), t(300)))
        );
        assert_eq!(
            settling(ErrorKind::Invalid, Some(t(0)), &f),
            Some((t(0), t(300)))
        );
        assert_eq!(settling(ErrorKind::Transient, Some(t(0)), &f), None);
        assert_eq!(settling(ErrorKind::NotFound, Some(t(-300)), &f), None);
        assert_eq!(settling(ErrorKind::NotFound, None, &f), None);
    }

    #[test]
    fn invalid_request_inside_the_window_reads_as_not_shown() {
        let settle = Settle(Duration::from_secs(300));
        assert!(not_shown(ErrorKind::NotFound, None, t(0), settle));
        assert!(not_shown(ErrorKind::Invalid, Some(t(-10)), t(0), settle));
        assert!(!not_shown(ErrorKind::Invalid, Some(t(-300)), t(0), settle));
        assert!(!not_shown(ErrorKind::Invalid, None, t(0), settle));
        assert!(!not_shown(ErrorKind::Transient, Some(t(0)), t(0), settle));
    }

    #[test]
    fn the_managed_quick_connect_by_name() {
        let r = Record::default();
        let f = facts(&r, 10);
        let ours = NamedQuickConnect::Ours("q".into());
        let other = NamedQuickConnect::Other("q2".into());
        assert_eq!(
            quick_connect_by_name(&f, &ours, false, None),
            QuickConnectTake::Recover("q".into())
        );
        assert_eq!(
            quick_connect_by_name(&f, &other, false, None),
            QuickConnectTake::Conflict("q2".into())
        );
        assert_eq!(
            quick_connect_by_name(&f, &NamedQuickConnect::Nobody, false, None),
            QuickConnectTake::Create
        );
        assert_eq!(
            quick_connect_by_name(&f, &NamedQuickConnect::Nobody, true, None),
            QuickConnectTake::Wait,
            "taken but not shown: too new for search"
        );
        assert_eq!(
            quick_connect_by_name(&f, &other, true, Some(t(0))),
            QuickConnectTake::Wait
        );
        assert_eq!(
            quick_connect_by_name(&f, &other, true, Some(t(-300))),
            QuickConnectTake::Conflict("q2".into())
        );
    }
}
