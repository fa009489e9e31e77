//! One deletion pass, through the finalizer: the steps `cleanup_plan::next` decides, one after
//! another, until one waits or the finalizer can go. Returning Ok releases the finalizer; any
//! Err keeps it and retries (a wait for the settle window is `Error::CleanupPending`).
//!
//! 1. observe: the resource fresh from the apiserver (not the cache: a status written by the
//!    pass that just finished, with a new user id or create attempt, must be seen);
//! 2. decide the next step (pure) and act on it, recording DeleteUser's attempt and success in
//!    status, each in its own write, before anything depends on them;
//! 3. when a step waits: one status write saying what is pending and until when, an Event;
//!    then retry at that time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use kube::runtime::controller::Action;

use super::cleanup_plan::{self, Pending, Released, Seen, Step, UserSeen, View};
use super::converge::health_of;
use super::decide::not_shown;
use super::outcome::{Note, Stop, Wait};
use super::record::{self, Settle, Time};
use super::status::{Health, StatusWriter};
use super::{instance_for_cleanup, observe, owner_uid, publish};
use crate::connect::ErrorKind;
use crate::context::Context;
use crate::crd::{CleanupStatus, ConnectUser, DeletionPolicy, OWNER_TAG};
use crate::error::{Error, Phase, Result, Standing};
use crate::model::{InstanceRef, UserQuickConnect, UserUpdate};

/// More steps than any deletion needs in one pass; a decision that does not move on is a bug,
/// and must not spin.
const MAX_STEPS: usize = 32;

pub async fn cleanup(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Result<Action> {
    let Some(cu) = observe::fresh(&cu, &ctx).await? else {
        // Gone already, or replaced by a new object with the same name: releasing now would
        // remove the new object's finalizer. The watch brings the truth.
        return Err(Error::CleanupPending {
            message: "the resource changed while being deleted; looking again".into(),
            retry: Duration::from_secs(1),
        });
    };
    let mut pass = Cleanup {
        status: StatusWriter::new(&ctx.client, &cu),
        cu: &cu,
        ctx: &ctx,
        notes: Vec::new(),
    };
    let result = pass.run().await;
    pass.finish(result).await
}

struct Cleanup<'a> {
    cu: &'a ConnectUser,
    ctx: &'a Context,
    status: StatusWriter,
    notes: Vec<Note>,
}

impl Cleanup<'_> {
    async fn run(&mut self) -> std::result::Result<Released, Stop> {
        let at = match instance_for_cleanup(self.cu, self.ctx).await {
            Ok(resolved) => resolved.at,
            // The instance object is gone or not Ready, and status recorded no instance: no
            // create was ever attempted through it (the record is written before CreateUser).
            Err(_) if self.status.record() == Default::default() => {
                return Ok(Released::NothingCreated);
            }
            Err(e) => return Err(e.into()),
        };
        let uid = owner_uid(self.cu)?;
        let settle = Settle(self.ctx.settings.settle_window);
        let mut seen = Seen::default();
        for _ in 0..MAX_STEPS {
            let record = self.status.record();
            let now = Utc::now();
            let view = View {
                uid: &uid,
                retain: self.cu.spec.deletion_policy == DeletionPolicy::Retain,
                record: &record,
                quick_connect_name: self.cu.spec.quick_connect.as_ref().map(|q| q.name.as_str()),
                seen: &seen,
                now,
                settle,
            };
            match cleanup_plan::next(&view) {
                Step::DescribeUser(id) => {
                    let anchor = record.user_anchor();
                    seen.user = Some(match self.ctx.connect.describe_user(&at, &id).await {
                        Ok(u) => UserSeen::Visible {
                            owner: u.fields.tags.get(OWNER_TAG).cloned(),
                            arn: u.arn,
                        },
                        Err(e) if not_shown(e.kind, anchor, Utc::now(), settle) => UserSeen::Absent,
                        Err(e) => return Err(e.into()),
                    });
                }
                Step::SearchUsername => {
                    let holder =
                        observe::username_holder(self.ctx, &at, &self.cu.spec.username, &uid)
                            .await?;
                    seen.by_username = Some(holder);
                }
                Step::TakeFound { id, arn } => {
                    // The attempt's user, with our tag seen in this search: it is the user.
                    let s = self.status.edit();
                    s.user_created_at = s.create_attempted_at.take();
                    s.last_write_at = s.user_created_at.clone();
                    s.user_id = Some(id);
                    s.user_arn = Some(arn.clone());
                    seen.user = Some(UserSeen::Visible {
                        owner: Some(uid.clone()),
                        arn,
                    });
                }
                Step::AttemptResolved => self.status.edit().create_attempted_at = None,
                Step::DeleteUser(id) => {
                    self.delete_user(&at, &id, record.user_anchor(), &mut seen)
                        .await?
                }
                Step::Untag { id, arn } => {
                    let untag = UserUpdate::Untag(vec![OWNER_TAG.to_string()]);
                    match self.ctx.connect.send_update(&at, &id, &arn, &untag).await {
                        Err(e) if !e.is_not_found() => return Err(e.into()),
                        _ => seen.untagged = true,
                    }
                }
                Step::UserGone => self.status.record_user_deleted(now).await?,
                Step::DeleteManagedQuickConnect(id) => {
                    let anchor = record.quick_connect_created_at;
                    match self.ctx.connect.delete_quick_connect(&at, &id).await {
                        Ok(()) => self.deleted_quick_connect(&id, None),
                        Err(e) if not_shown(e.kind, anchor, Utc::now(), settle) => {
                            seen.managed_quick_connect_not_found = true
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Step::FindManagedQuickConnect(name) => {
                    let found = self
                        .ctx
                        .connect
                        .find_quick_connect_by_name(&at, &name)
                        .await?;
                    let ours = found.filter(|q| q.tags.get(OWNER_TAG) == Some(&uid));
                    if let Some(q) = &ours {
                        self.status.edit().quick_connect_id = Some(q.id.clone());
                    }
                    seen.managed_by_name = Some(ours.map(|q| q.id));
                }
                Step::ManagedQuickConnectGone => {
                    let s = self.status.edit();
                    s.quick_connect_attempted_at = None;
                    if let Some(id) = s.quick_connect_id.clone() {
                        progress(s).deleted_quick_connects.push(id);
                    }
                }
                Step::Scan { not_before, last } => {
                    self.scan(&at, not_before, last).await?;
                    if last {
                        seen.final_scan_done = true;
                    } else {
                        progress(self.status.edit()).first_scan_done = true;
                    }
                }
                Step::Wait {
                    pending,
                    since,
                    until,
                } => return Err(self.wait(pending, since, until, now)),
                Step::NotOwned(id) => {
                    return Err(Error::NotOwned(format!(
                        "Connect user {id} does not carry {OWNER_TAG}={uid}; not deleting it. To release this resource without deleting the user, set spec.deletionPolicy: Retain"
                    ))
                    .into());
                }
                Step::Release(released) => return Ok(released),
            }
        }
        Err(Error::CleanupPending {
            message: format!("deletion did not finish within {MAX_STEPS} steps; continuing"),
            retry: Duration::from_secs(1),
        }
        .into())
    }

    /// DeleteUser, its attempt recorded before and its success right after.
    async fn delete_user(
        &mut self,
        at: &InstanceRef,
        id: &str,
        anchor: Option<Time>,
        seen: &mut Seen,
    ) -> std::result::Result<(), Stop> {
        let permit = self.ctx.connect.permit(at, "DeleteUser").await;
        self.status.record_delete_attempt(Utc::now()).await?;
        match self.ctx.connect.delete_user(permit, at, id).await {
            Ok(()) => {
                let now = Utc::now();
                self.status.record_user_deleted(now).await?;
                self.ctx
                    .remember_deleted_username(at, &self.cu.spec.username, now);
                self.notes.push(Note::normal(
                    "Deleted",
                    format!("Deleted Connect user {} ({id})", self.cu.spec.username),
                ));
                Ok(())
            }
            Err(e) if not_shown(e.kind, anchor, Utc::now(), self.settle()) => {
                seen.delete_not_found = true;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn settle(&self) -> Settle {
        Settle(self.ctx.settings.settle_window)
    }

    /// A complete listing started at or after `not_before`; deletes every quick connect in it
    /// that points at the user and was not deleted before. NotFound for one the listing shows
    /// means it is gone, or (in the first listing) that Connect has not caught up, which the
    /// last listing settles; so does InvalidRequestException in the first listing.
    async fn scan(
        &mut self,
        at: &InstanceRef,
        not_before: Time,
        last: bool,
    ) -> std::result::Result<(), Stop> {
        let Some(user_id) = self.status.status().user_id.clone() else {
            return Ok(());
        };
        let targets: Vec<UserQuickConnect> = self
            .ctx
            .quick_connects_by_user
            .pointing_at(at, &user_id, instant_of(not_before))
            .await?;
        let done = progress(self.status.edit()).deleted_quick_connects.clone();
        let fresh: Vec<_> = targets.iter().filter(|q| !done.contains(&q.id)).collect();
        {
            let c = progress(self.status.edit());
            c.quick_connects_found = (done.len() + fresh.len()) as u32;
        }
        for qc in fresh {
            match self.ctx.connect.delete_quick_connect(at, &qc.id).await {
                Ok(()) => self.deleted_quick_connect(&qc.id, Some(&qc.name)),
                Err(e) if e.is_not_found() => {}
                Err(e) if !last && e.kind == ErrorKind::Invalid => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn deleted_quick_connect(&mut self, id: &str, name: Option<&str>) {
        let c = progress(self.status.edit());
        c.deleted_quick_connects.push(id.to_string());
        c.quick_connects_deleted += 1;
        c.quick_connects_found = c.quick_connects_found.max(c.quick_connects_deleted);
        self.ctx.metrics.quick_connect_deleted();
        self.notes.push(Note::normal(
            "QuickConnectDeleted",
            match name {
                Some(name) => {
                    format!(
                        "Deleted quick connect {name:?} ({id}) that pointed at the deleted user"
                    )
                }
                None => format!("Deleted the managed quick connect {id}"),
            },
        ));
    }

    /// A step waits: record what is pending and until when (the `Cleanup` column).
    fn wait(&mut self, pending: Pending, since: Time, until: Time, now: Time) -> Stop {
        let c = progress(self.status.edit());
        c.pending = format!("{} until {}", pending.describe(), record::stamp(until));
        c.waiting_until = Some(record::stamp(until));
        // Nothing can change before these are due; the others may resolve sooner.
        let retry = match pending {
            Pending::FinalScan | Pending::DeleteOutcome => {
                (until - now).to_std().unwrap_or_default() + Duration::from_millis(20)
            }
            _ => record::poll_interval(since, now, until),
        };
        Stop::Wait(Wait {
            reason: "Deleting",
            message: format!("deletion in progress: {}", c.pending),
            retry,
        })
    }

    /// The pass's last status write (none on release: the resource goes), then the Events.
    async fn finish(mut self, result: std::result::Result<Released, Stop>) -> Result<Action> {
        let outcome = match result {
            Ok(released) => {
                self.ctx
                    .metrics
                    .set_ready(&super::resource_key(self.cu), None);
                let id = self.status.status().user_id.clone().unwrap_or_default();
                match released {
                    Released::Retained => self.notes.push(Note::normal(
                        "Retained",
                        format!("Connect user {id} left in place (deletionPolicy: Retain)"),
                    )),
                    Released::Deleted => {
                        let c = self.status.status().cleanup.clone().unwrap_or_default();
                        tracing::info!(
                            user_id = id,
                            quick_connects = c.quick_connects_deleted,
                            "cleanup complete"
                        );
                    }
                    Released::NothingCreated => {}
                }
                Ok(Action::await_change())
            }
            Err(Stop::Wait(w)) => {
                let health = Health::Reconciling {
                    reason: w.reason.into(),
                    message: w.message.clone(),
                };
                if self.status.finish(Some(health)).await? {
                    self.notes
                        .push(Note::normal("DeletionPending", w.message.clone()));
                }
                Err(Error::CleanupPending {
                    message: w.message,
                    retry: w.retry,
                })
            }
            Err(Stop::Fail(e)) => {
                let standing = e.policy(Phase::Cleanup).standing;
                let word = if standing == Standing::Stalled {
                    "blocked"
                } else {
                    "waiting"
                };
                let message = format!("deletion {word}: {e}");
                let health = health_of(&e, Phase::Cleanup, message.clone());
                if self.status.finish(health).await? && standing != Standing::Unchanged {
                    self.notes
                        .push(Note::warning(e.policy(Phase::Cleanup).reason, message));
                }
                Err(e)
            }
        };
        publish(self.ctx, self.cu, std::mem::take(&mut self.notes)).await;
        outcome
    }
}

fn progress(s: &mut crate::crd::ConnectUserStatus) -> &mut CleanupStatus {
    s.cleanup.get_or_insert_with(CleanupStatus::default)
}

/// The monotonic instant of a recorded wall-clock time, for the shared scans. A time before this
/// process started maps to its start: every scan of this process began after it.
fn instant_of(t: Time) -> Instant {
    static START: std::sync::OnceLock<(Instant, Time)> = std::sync::OnceLock::new();
    let (start, started_at) = *START.get_or_init(|| (Instant::now(), Utc::now()));
    let now = Instant::now();
    let wall_now = Utc::now();
    if t <= started_at {
        return start;
    }
    match (wall_now - t).to_std() {
        Ok(ago) => now.checked_sub(ago).unwrap_or(start).max(start),
        // In the future (a clock step): from now on.
        Err(_) => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_time_maps_to_the_matching_instant() {
        let _ = instant_of(Utc::now()); // the process start reference
        std::thread::sleep(Duration::from_millis(30));
        let now = Instant::now();
        let ago = instant_of(Utc::now() - chrono::Duration::milliseconds(20));
        let gap = now.saturating_duration_since(ago);
        assert!(
            gap >= Duration::from_millis(15) && gap <= Duration::from_millis(40),
            "{gap:?}"
        );
        // Before the reference: the reference itself (every scan of this process is later).
        let long_ago = instant_of(Utc::now() - chrono::Duration::days(1));
        assert!(long_ago <= ago);
        // Later than now (a clock step): now.
        assert!(instant_of(Utc::now() + chrono::Duration::seconds(5)) >= now);
    }
}
