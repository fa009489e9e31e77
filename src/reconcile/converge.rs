//! One converge pass (the finalizer's Apply branch): create, adopt, update and drift correction
//! of a ConnectUser's Connect user.
//! Read it top to bottom, as `run` does:
//!
//! 1. observe: the resource (fresh from the apiserver while the cache shows no user id), the
//!    spec's names resolved to ids;
//! 2. find the user: by the recorded id (the shared SearchUsers snapshot, or DescribeUser), by a
//!    search (to adopt, or to recover the user of an earlier attempt), or with CreateUser.
//!    Each decision is a pure function in `decide`; the create attempt and the new id are
//!    recorded in status, each in its own write, before anything depends on them;
//! 3. compare with the spec and send one update call per changed field group;
//! 4. the managed quick connect (`managed_quick_connect`);
//! 5. finish: one status write of the outcome, then the Events.

use std::sync::Arc;

use chrono::Utc;
use kube::ResourceExt;

use super::decide::{self, Described, Facts, How, Lookup, Refused, ReservedBy, Seen, Take};
use super::outcome::{Note, Outcome, Ready, ReadyReason, Stop, Wait};
use super::record::{self, Record, Settle, Time};
use super::status::{self, Health, StatusWriter};
use super::{
    identity_rules, instance_for_apply, managed_quick_connect, observe, owner_uid, publish,
    resolve, secret,
};
use crate::connect::{ConnectError, ErrorKind};
use crate::context::Context;
use crate::crd::{ConnectUser, OWNER_TAG};
use crate::diff::{changed_fields, diff, summary_matches};
use crate::error::{Error, Phase, Standing};
use crate::model::{
    IdentityManagement, InstanceRef, NewUser, ObservedUser, UserFields, UserUpdate,
};

pub async fn converge(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Outcome {
    // The cache may not show the id the last pass recorded: a decision from it would attempt
    // CreateUser again. Once an id is cached, the cache is good enough.
    let has_id = cu.status.as_ref().is_some_and(|s| s.user_id.is_some());
    let cu = if has_id {
        (*cu).clone()
    } else {
        match observe::fresh(&cu, &ctx).await {
            Ok(Some(now)) => now,
            Ok(None) => return gone(),
            Err(e) => return Outcome::Failed(e),
        }
    };
    if cu.metadata.deletion_timestamp.is_some() {
        // Deleted since the cache saw it: create nothing; the next pass cleans up.
        return gone();
    }
    let mut pass = Pass::new(&cu, &ctx);
    let result = pass.run().await;
    pass.finish(result).await
}

fn gone() -> Outcome {
    Outcome::Waiting(Wait {
        reason: "Deleting",
        message: "the resource is being deleted".into(),
        retry: std::time::Duration::from_millis(200),
    })
}

/// How the pass found the user.
enum Found {
    /// CreateUser just made it with every field.
    Created {
        id: String,
        arn: String,
        recreated: bool,
    },
    /// The shared SearchUsers snapshot shows it matching the spec.
    InSyncBySummary(String),
    /// Described in this pass, carrying our tag.
    Described(Box<ObservedUser>),
    /// Recorded in this pass (adopted, or found with our tag): to be described.
    Taken { id: String, how: How },
}

/// After the comparison.
struct Compared {
    id: String,
    how: How,
    /// The spec fields brought in line by update calls.
    fields: Vec<&'static str>,
    /// Compared with DescribeUser (not only the bulk summary).
    full: bool,
}

/// The state of one pass, shared with `managed_quick_connect`.
pub(super) struct Pass<'a> {
    pub(super) cu: &'a ConnectUser,
    pub(super) ctx: &'a Context,
    pub(super) status: StatusWriter,
    pub(super) notes: Vec<Note>,
    /// The spec changed since the last pass that reported on it.
    spec_changed: bool,
    was_ready: bool,
}

impl<'a> Pass<'a> {
    fn new(cu: &'a ConnectUser, ctx: &'a Context) -> Pass<'a> {
        let s = cu.status.as_ref();
        Pass {
            cu,
            ctx,
            status: StatusWriter::new(&ctx.client, cu),
            notes: Vec::new(),
            spec_changed: s.and_then(|s| s.observed_generation) != cu.metadata.generation,
            was_ready: s
                .and_then(|s| s.condition(status::READY))
                .is_some_and(|c| c.status == "True"),
        }
    }

    async fn run(&mut self) -> Result<Ready, Stop> {
        self.status.record_progressing_if_new().await?;
        let resolved = instance_for_apply(self.cu, self.ctx).await?;
        let at = resolved.at;
        // What a deletion will use, recorded with the next status write (before CreateUser).
        if self.status.status().instance.as_ref() != Some(&resolved.record) {
            self.status.edit().instance = Some(resolved.record);
        }
        // Recorded once (a resource from before status.region gets it now): a later change of
        // the operator's default region must not move the user.
        if self.status.status().region.is_none() && self.status.status().user_id.is_some() {
            self.status.edit().region = Some(at.region.clone());
        }
        let uid = owner_uid(self.cu)?;
        let desired = resolve::desired_fields(&self.ctx.catalog, &at, &self.cu.spec, &uid).await?;
        let found = self.find_user(&at, &uid, &desired).await?;
        let compared = self.compare(&at, &desired, found).await?;
        let quick_connect_changed =
            managed_quick_connect::sync(self, &at, &uid, &compared.id, compared.full).await?;
        let (ready, note) = ready(&compared, quick_connect_changed, self.spec_changed);
        self.notes.extend(note);
        Ok(ready)
    }

    pub(super) fn settle(&self) -> Settle {
        Settle(self.ctx.settings.settle_window)
    }

    pub(super) fn facts<'r>(&self, record: &'r Record, at: &InstanceRef, now: Time) -> Facts<'r> {
        Facts {
            record,
            adopt_existing: self.cu.spec.adopt_existing,
            now,
            settle: self.settle(),
            we_deleted_username_at: self.ctx.deleted_username_at(at, &self.cu.spec.username),
        }
    }

    /// A Connect error from a call that addresses the user: inside the settle window after the
    /// operator's own write, NotFound and InvalidRequest mean Connect has not caught up.
    pub(super) fn user_error(&self, e: ConnectError) -> Stop {
        let record = self.status.record();
        let now = Utc::now();
        let facts = Facts {
            record: &record,
            adopt_existing: false,
            now,
            settle: self.settle(),
            we_deleted_username_at: None,
        };
        match decide::settling(e.kind, record.user_anchor(), &facts) {
            Some((since, until)) => waiting(
                format!("Connect does not show the user's latest change yet ({e})"),
                since,
                until,
                now,
            ),
            None => e.into(),
        }
    }

    /// The shared snapshot is only a shortcut for a user that was in line at the last pass and
    /// whose spec did not change since.
    fn summary_allowed(&self) -> bool {
        !self.spec_changed
            && self.was_ready
            && !self.ctx.full_describe_due(&super::resource_key(self.cu))
    }

    async fn find_user(
        &mut self,
        at: &InstanceRef,
        uid: &str,
        desired: &UserFields,
    ) -> Result<Found, Stop> {
        let record = self.status.record();
        match decide::lookup(&record, self.cu.spec.adopt_existing, self.summary_allowed()) {
            Lookup::Summary(id) => match self.by_summary(at, uid, &id, desired).await? {
                Some(found) => Ok(found),
                None => self.describe_recorded(at, uid, &id, desired).await,
            },
            Lookup::Describe(id) => self.describe_recorded(at, uid, &id, desired).await,
            Lookup::Search => {
                let holder =
                    observe::username_holder(self.ctx, at, &self.cu.spec.username, uid).await?;
                let facts = self.facts(&record, at, Utc::now());
                match decide::after_search(&facts, &holder) {
                    Take::Recover { id, arn } => {
                        let created = record.create_attempted_at;
                        self.take(at, id, arn, created, created, How::Ours).await
                    }
                    Take::Adopt { id, arn } => self.adopt(at, uid, id, arn).await,
                    Take::Conflict { by, .. } => Err(self.conflict(&by)),
                    Take::Reserved { until } => Err(Error::UsernameReserved(format!(
                        "the Connect user {:?} shown is being deleted; waiting until {} at the latest before creating or adopting",
                        self.cu.spec.username,
                        record::stamp(until)
                    ))
                    .into()),
                    Take::Create => self.create(at, uid, desired, None).await,
                }
            }
            Lookup::Create => self.create(at, uid, desired, None).await,
        }
    }

    /// The periodic check of an in-sync user: the shared SearchUsers snapshot shows every
    /// managed field except email, secondary email, mobile and proficiencies, which a full
    /// DescribeUser (plus ListUserProficiencies when managed) checks every
    /// `full_describe_every` resyncs. None means "describe it".
    async fn by_summary(
        &self,
        at: &InstanceRef,
        uid: &str,
        id: &str,
        desired: &UserFields,
    ) -> Result<Option<Found>, Stop> {
        let max_age = self.ctx.settings.resync_period.mul_f64(0.9);
        let snapshot = self.ctx.user_snapshots.snapshot(at, max_age).await?;
        Ok(snapshot
            .fields(id)
            .filter(|f| {
                f.tags.get(OWNER_TAG).map(String::as_str) == Some(uid)
                    && summary_matches(desired, f)
            })
            .map(|_| Found::InSyncBySummary(id.to_string())))
    }

    async fn describe_recorded(
        &mut self,
        at: &InstanceRef,
        uid: &str,
        id: &str,
        desired: &UserFields,
    ) -> Result<Found, Stop> {
        let anchor = self.status.record().user_anchor();
        let observed = match self.ctx.connect.describe_user(at, id).await {
            Ok(user) => Some(user),
            Err(e) if decide::not_shown(e.kind, anchor, Utc::now(), self.settle()) => None,
            Err(e) => return Err(e.into()),
        };
        let seen = match &observed {
            Some(u) => Seen::Visible {
                owner: u.fields.tags.get(OWNER_TAG).map(String::as_str),
            },
            None => Seen::NotFound,
        };
        let record = self.status.record();
        let now = Utc::now();
        match decide::after_describe(&self.facts(&record, at, now), seen, uid) {
            Described::Ours => {
                self.ctx.described_now(&super::resource_key(self.cu));
                let user = observed.expect("Ours is decided from a visible user");
                if self.status.status().user_arn.as_deref() != Some(user.arn.as_str())
                    && !user.arn.is_empty()
                {
                    self.status.edit().user_arn = Some(user.arn.clone());
                }
                Ok(Found::Described(Box::new(user)))
            }
            Described::NotOwned => {
                let user = observed.expect("NotOwned is decided from a visible user");
                Err(Error::NotOwned(format!(
                    "Connect user {} ({}) does not carry this resource's ownership tag {OWNER_TAG}={uid}; it will not be modified or deleted",
                    user.username, user.id
                ))
                .into())
            }
            Described::NotVisibleYet { since, until } => Err(waiting(
                format!(
                    "Connect does not show user {id} yet (it answers NotFound shortly after a write)"
                ),
                since,
                until,
                now,
            )),
            Described::Missing => {
                self.notes.push(Note::warning(
                    "UserMissing",
                    format!("Connect user {id} no longer exists; creating it again"),
                ));
                self.create(at, uid, desired, Some(id)).await
            }
        }
    }

    /// CreateUser, its attempt recorded before and its id right after. The uniqueness of the
    /// username is CreateUser's to decide (DuplicateResourceException), not a prior search's.
    /// `missing`: the recorded id Connect no longer has, when recreating.
    async fn create(
        &mut self,
        at: &InstanceRef,
        uid: &str,
        desired: &UserFields,
        missing: Option<&str>,
    ) -> Result<Found, Stop> {
        let new_user = self.new_user(at, desired).await?;
        let prior = self.status.record().create_attempted_at;
        let permit = self.ctx.connect.permit(at, "CreateUser").await;
        self.status
            .record_create_attempt(Utc::now(), &at.region)
            .await?;
        let error = match self.ctx.connect.create_user(permit, at, &new_user).await {
            Ok((id, arn)) => {
                self.status
                    .record_created_user(&id, &arn, Utc::now())
                    .await?;
                let (reason, message) = match missing {
                    Some(old) => (
                        "Recreated",
                        format!(
                            "Created Connect user {} ({id}) again after {old} disappeared",
                            new_user.username
                        ),
                    ),
                    None => (
                        "Created",
                        format!("Created Connect user {} ({id})", new_user.username),
                    ),
                };
                self.notes.push(Note::normal(reason, message));
                return Ok(Found::Created {
                    id,
                    arn,
                    recreated: missing.is_some(),
                });
            }
            Err(e) => e,
        };
        if decide::refused_for_sure(error.kind) {
            // This request created nothing: what stays recorded is the earlier attempt, if any.
            self.status.edit().create_attempted_at = prior.map(record::stamp);
        }
        if error.kind != ErrorKind::Duplicate {
            return Err(error.into());
        }
        let holder = observe::username_holder(self.ctx, at, &new_user.username, uid).await?;
        let record = self.status.record();
        let facts = self.facts(&record, at, Utc::now());
        let name = &new_user.username;
        match decide::after_duplicate(&facts, &holder, prior, missing) {
            Refused::Recover { id, arn } => self.take(at, id, arn, prior, prior, How::Ours).await,
            Refused::Adopt { id, arn } => self.adopt(at, uid, id, arn).await,
            Refused::Conflict { by, .. } => Err(self.conflict(&by)),
            Refused::UserExists { id } => Err(Error::UserExists(format!(
                "a Connect user named {name:?} already exists ({id}); set spec.adoptExisting: true to manage it"
            ))
            .into()),
            Refused::Reserved(why) => Err(Error::UsernameReserved(format!(
                "Connect refused username {name:?} as taken: {}; retrying",
                match why {
                    ReservedBy::EarlierAttempt =>
                        "an earlier attempt of this resource may have created it, and Connect does not show it yet",
                    ReservedBy::OurDeletion =>
                        "this operator deleted a user with this name moments ago, and Connect still holds the name",
                    ReservedBy::MissingUser =>
                        "the user this resource recorded, which Connect no longer has, still holds the name",
                    ReservedBy::OwnerDeleting =>
                        "the ConnectUser that owns the user holding it is being deleted",
                    ReservedBy::NotShown => "Connect does not show the user holding it yet",
                }
            ))
            .into()),
        }
    }

    async fn new_user(&self, at: &InstanceRef, desired: &UserFields) -> Result<NewUser, Stop> {
        let spec = &self.cu.spec;
        let catalog = self.ctx.catalog.get(at, None).await?;
        identity_rules::check_new_user(spec, catalog.identity_management)?;
        let password = match (&spec.password_secret_ref, catalog.identity_management) {
            (Some(r), IdentityManagement::ConnectManaged) => {
                let ns = self.cu.namespace().unwrap_or_default();
                Some(secret::read_password(&self.ctx.client, &ns, r).await?)
            }
            (None, IdentityManagement::ConnectManaged) => {
                return Err(Error::invalid(
                    "spec.passwordSecretRef",
                    format!(
                        "required: instance {} manages its own identities (CONNECT_MANAGED)",
                        at.instance_id
                    ),
                )
                .into());
            }
            // SAML and directory instances authenticate elsewhere; Connect rejects a password.
            _ => None,
        };
        Ok(NewUser {
            username: spec.username.clone(),
            password,
            directory_user_id: spec.directory_user_id.clone(),
            fields: desired.clone(),
        })
    }

    /// Records a user that carries (or now carries) our tag, before anything else is done to it.
    async fn take(
        &mut self,
        at: &InstanceRef,
        id: String,
        arn: String,
        created_at: Option<Time>,
        written_at: Option<Time>,
        how: How,
    ) -> Result<Found, Stop> {
        self.status
            .record_taken_user(&id, &arn, created_at, written_at, &at.region)
            .await?;
        Ok(Found::Taken { id, how })
    }

    /// Tags an existing user as ours (no CreateUser), records it, then compares it.
    async fn adopt(
        &mut self,
        at: &InstanceRef,
        uid: &str,
        id: String,
        arn: String,
    ) -> Result<Found, Stop> {
        let tag = UserUpdate::Tag([(OWNER_TAG.to_string(), uid.to_string())].into());
        self.ctx.connect.send_update(at, &id, &arn, &tag).await?;
        self.notes.push(Note::normal(
            "Adopted",
            format!(
                "Adopted existing Connect user {} ({id})",
                self.cu.spec.username
            ),
        ));
        let now = Some(Utc::now());
        self.take(at, id, arn, None, now, How::Adopted).await
    }

    fn conflict(&self, by: &str) -> Stop {
        Error::Conflict(format!(
            "Connect user {:?} is managed by ConnectUser {by}",
            self.cu.spec.username
        ))
        .into()
    }

    async fn compare(
        &mut self,
        at: &InstanceRef,
        desired: &UserFields,
        found: Found,
    ) -> Result<Compared, Stop> {
        let (user, how) = match found {
            Found::Created { id, arn, recreated } => {
                // CreateUser takes no proficiencies.
                if let Some(p) = desired.proficiencies.as_ref().filter(|p| !p.is_empty()) {
                    let associate = UserUpdate::AssociateProficiencies(p.clone());
                    self.ctx
                        .connect
                        .send_update(at, &id, &arn, &associate)
                        .await
                        .map_err(|e| self.user_error(e))?;
                    self.wrote_user();
                }
                let how = if recreated {
                    How::Recreated
                } else {
                    How::Created
                };
                return Ok(Compared {
                    id,
                    how,
                    fields: Vec::new(),
                    full: true,
                });
            }
            Found::InSyncBySummary(id) => {
                return Ok(Compared {
                    id,
                    how: How::Ours,
                    fields: Vec::new(),
                    full: false,
                });
            }
            Found::Described(user) => (*user, How::Ours),
            Found::Taken { id, how } => {
                // Its tag was seen (or set) in this pass: a DescribeUser right after TagResource
                // may not show it yet, so ownership is not checked again here, and the tag is
                // taken as written rather than sent a second time.
                let mut user = match self.ctx.connect.describe_user(at, &id).await {
                    Ok(user) => user,
                    Err(e) => return Err(self.not_shown_yet(e, &id)),
                };
                self.ctx.described_now(&super::resource_key(self.cu));
                if let Some(owner) = desired.tags.get(OWNER_TAG) {
                    user.fields
                        .tags
                        .insert(OWNER_TAG.to_string(), owner.clone());
                }
                (user, how)
            }
        };
        let mut user = user;
        // Proficiencies are only read when managed: DescribeUser does not show them.
        if desired.proficiencies.is_some() {
            let listed = self
                .ctx
                .connect
                .list_user_proficiencies(at, &user.id)
                .await
                .map_err(|e| self.user_error(e))?;
            user.fields.proficiencies = Some(listed);
        }
        let updates = diff(desired, &user.fields);
        for update in &updates {
            self.ctx
                .connect
                .send_update(at, &user.id, &user.arn, update)
                .await
                .map_err(|e| self.user_error(e))?;
        }
        if !updates.is_empty() {
            self.wrote_user();
        }
        Ok(Compared {
            id: user.id,
            how,
            fields: changed_fields(&updates),
            full: true,
        })
    }

    /// A user just recorded from a search or an adoption that DescribeUser does not show: the
    /// next pass decides from the record.
    fn not_shown_yet(&self, e: ConnectError, id: &str) -> Stop {
        let now = Utc::now();
        if !decide::not_shown(e.kind, Some(now), now, self.settle()) {
            return e.into();
        }
        waiting(
            format!("Connect does not show user {id} yet"),
            now,
            self.settle().after(now),
            now,
        )
    }

    /// An update was sent: absence is judged from now on.
    fn wrote_user(&mut self) {
        self.status.edit().last_write_at = Some(record::stamp(Utc::now()));
    }

    /// One status write of the outcome, then the Events.
    async fn finish(mut self, result: Result<Ready, Stop>) -> Outcome {
        let outcome: Outcome = match result {
            Ok(ready) => Outcome::Ready(ready),
            Err(stop) => stop.into(),
        };
        let health = match &outcome {
            Outcome::Ready(r) => {
                let s = self.status.edit();
                s.cleanup = None;
                let stale = s
                    .last_synced_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_none_or(|t| {
                        Utc::now().signed_duration_since(t) > chrono::Duration::hours(1)
                    });
                if r.changed || stale {
                    s.last_synced_time =
                        Some(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                }
                Some(Health::Ready {
                    reason: r.reason.as_str().into(),
                    message: r.message.clone(),
                })
            }
            // Connect catching up with the operator's own write is not news for a resource
            // that was in line at this generation: leave its Ready condition alone.
            Outcome::Waiting(_) if self.was_ready && !self.spec_changed => None,
            Outcome::Waiting(w) => Some(Health::Reconciling {
                reason: w.reason.into(),
                message: w.message.clone(),
            }),
            Outcome::Failed(e) => health_of(e, Phase::Converge, e.to_string()),
        };
        let wrote = match self.status.finish(health).await {
            Ok(wrote) => wrote,
            Err(e) => return Outcome::Failed(e),
        };
        // A failure is announced when it changes the status, not at every retry.
        if let Outcome::Failed(e) = &outcome {
            let policy = e.policy(Phase::Converge);
            if wrote && policy.standing != Standing::Unchanged {
                self.notes.push(Note::warning(policy.reason, e.to_string()));
            }
        }
        let ready = self
            .status
            .status()
            .condition(status::READY)
            .map(|c| if c.status == "True" { "True" } else { "False" });
        self.ctx
            .metrics
            .set_ready(&super::resource_key(self.cu), ready.or(Some("Unknown")));
        publish(self.ctx, self.cu, std::mem::take(&mut self.notes)).await;
        outcome
    }
}

/// The conditions for a failure, from the error table (`None`: leave them as they are).
pub(super) fn health_of(e: &Error, phase: Phase, message: String) -> Option<Health> {
    let policy = e.policy(phase);
    let reason = policy.reason.to_string();
    match policy.standing {
        Standing::Unchanged => None,
        Standing::Reconciling => Some(Health::Reconciling { reason, message }),
        Standing::Stalled => Some(Health::Stalled { reason, message }),
    }
}

/// Waiting for Connect to show the operator's own write: Reconciling, polled often at first.
pub(super) fn waiting(message: String, since: Time, until: Time, now: Time) -> Stop {
    Stop::Wait(Wait {
        reason: "WaitingForConnect",
        message: format!("{message}; retrying until {}", record::stamp(until)),
        retry: record::poll_interval(since, now, until),
    })
}

/// The Ready condition after a successful pass, and the Event for what was updated.
fn ready(c: &Compared, quick_connect_changed: bool, spec_changed: bool) -> (Ready, Option<Note>) {
    let id = &c.id;
    let fields = c.fields.join(", ");
    let mut all = c.fields.clone();
    if quick_connect_changed {
        all.push("quickConnect");
    }
    let changed = !all.is_empty() || matches!(c.how, How::Created | How::Recreated);
    let note = (!c.fields.is_empty()).then(|| match (c.how, spec_changed) {
        (How::Adopted, _) | (_, true) => {
            Note::normal("Updated", format!("Updated {fields} of Connect user {id}"))
        }
        _ => Note::normal(
            "DriftCorrected",
            format!("Connect user {id} had drifted from the spec; corrected {fields}"),
        ),
    });
    let (reason, message) = match c.how {
        How::Created => (ReadyReason::Created, format!("Connect user {id} created")),
        How::Recreated => (
            ReadyReason::Recreated,
            format!("Connect user {id} created again after the recorded one disappeared"),
        ),
        How::Adopted if all.is_empty() => (
            ReadyReason::Adopted,
            format!("Connect user {id} matches the spec"),
        ),
        How::Adopted => (
            ReadyReason::Adopted,
            format!("Connect user {id} updated: {}", all.join(", ")),
        ),
        How::Ours if all.is_empty() => (
            ReadyReason::InSync,
            format!("Connect user {id} matches the spec"),
        ),
        How::Ours if spec_changed => (
            ReadyReason::Updated,
            format!("Connect user {id} updated: {}", all.join(", ")),
        ),
        How::Ours => (
            ReadyReason::DriftCorrected,
            format!("Connect user {id} corrected: {}", all.join(", ")),
        ),
    };
    (
        Ready {
            reason,
            message,
            changed,
        },
        note,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(how: How, fields: &[&'static str]) -> Compared {
        Compared {
            id: "u".into(),
            how,
            fields: fields.to_vec(),
            full: true,
        }
    }

    #[test]
    fn the_ready_reason_says_what_the_pass_did() {
        let r = |how, fields: &[&'static str], qc, spec| ready(&compared(how, fields), qc, spec);
        assert_eq!(
            r(How::Created, &[], false, true).0.reason,
            ReadyReason::Created
        );
        assert!(r(How::Created, &[], false, true).0.changed);
        assert_eq!(
            r(How::Recreated, &[], false, false).0.reason,
            ReadyReason::Recreated
        );
        let (in_sync, note) = r(How::Ours, &[], false, false);
        assert_eq!(
            (in_sync.reason, in_sync.changed, note),
            (ReadyReason::InSync, false, None)
        );
        let (updated, note) = r(How::Ours, &["tags"], false, true);
        assert_eq!(updated.reason, ReadyReason::Updated);
        assert_eq!(note.unwrap().reason, "Updated");
        let (drift, note) = r(How::Ours, &["tags"], false, false);
        assert_eq!(drift.reason, ReadyReason::DriftCorrected);
        assert_eq!(note.unwrap().reason, "DriftCorrected");
        let (qc_only, note) = r(How::Ours, &[], true, false);
        assert_eq!(qc_only.reason, ReadyReason::DriftCorrected);
        assert!(qc_only.message.ends_with("quickConnect"));
        assert_eq!(
            note, None,
            "the quick-connect step announces its own changes"
        );
        let (adopted, note) = r(How::Adopted, &["identityInfo"], false, false);
        assert_eq!(adopted.reason, ReadyReason::Adopted);
        assert_eq!(note.unwrap().reason, "Updated");
    }
}
