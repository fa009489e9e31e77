//! Status: kstatus-compatible conditions (`Ready`, plus `Reconciling` / `Stalled` only while they
//! are true) written with server-side apply under the operator's one field manager.
//!
//! [`StatusWriter`] is the one place that writes status. Its `record_*` steps are the writes
//! that must land before the operator depends on them (Connect is eventually consistent, so a
//! later pass decides from this record, not from what Connect shows); every pass ends with one
//! `finish` write of its outcome.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::record::{self, Record};
use crate::crd::{CleanupStatus, ConnectUser, ConnectUserStatus, FIELD_MANAGER};
use crate::error::Result;

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";

/// What the status should say about the resource's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// The Connect user matches the spec.
    Ready { reason: String, message: String },
    /// Work in progress or being retried (kstatus: Reconciling).
    Reconciling { reason: String, message: String },
    /// Cannot proceed without a change from a person (kstatus: Stalled).
    Stalled { reason: String, message: String },
}

/// Sets `type_` to `status`, keeping lastTransitionTime when the status did not change.
pub(crate) fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let transition = conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(now);
    conditions.retain(|c| c.type_ != type_);
    conditions.push(Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: generation,
        last_transition_time: transition,
    });
}

/// Replaces the conditions of `status` to describe `health` for `generation`.
pub fn set_health(status: &mut ConnectUserStatus, health: &Health, generation: Option<i64>) {
    let c = &mut status.conditions;
    match health {
        Health::Ready { reason, message } => {
            set(c, READY, "True", reason, message, generation);
            c.retain(|c| c.type_ != RECONCILING && c.type_ != STALLED);
        }
        Health::Reconciling { reason, message } => {
            set(c, READY, "False", reason, message, generation);
            set(c, RECONCILING, "True", reason, message, generation);
            c.retain(|c| c.type_ != STALLED);
        }
        Health::Stalled { reason, message } => {
            set(c, READY, "False", reason, message, generation);
            set(c, STALLED, "True", reason, message, generation);
            c.retain(|c| c.type_ != RECONCILING);
        }
    }
    c.sort_by(|a, b| a.type_.cmp(&b.type_));
    status.observed_generation = generation;
}

/// True when `new` says something `old` does not, ignoring timestamps that move by themselves.
pub fn differs(old: Option<&ConnectUserStatus>, new: &ConnectUserStatus) -> bool {
    let Some(old) = old else { return true };
    let strip = |s: &ConnectUserStatus| {
        let mut s = s.clone();
        s.last_synced_time = None;
        for c in &mut s.conditions {
            c.last_transition_time = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        }
        s
    };
    strip(old) != strip(new)
}

/// The status of one resource during one pass: a working copy, and what was last written.
pub struct StatusWriter {
    api: Api<ConnectUser>,
    name: String,
    generation: Option<i64>,
    written: Option<ConnectUserStatus>,
    status: ConnectUserStatus,
}

impl StatusWriter {
    pub fn new(client: &kube::Client, cu: &ConnectUser) -> StatusWriter {
        StatusWriter {
            api: Api::namespaced(client.clone(), &cu.namespace().unwrap_or_default()),
            name: cu.name_any(),
            generation: cu.metadata.generation,
            written: cu.status.clone(),
            status: cu.status.clone().unwrap_or_default(),
        }
    }

    pub fn status(&self) -> &ConnectUserStatus {
        &self.status
    }

    /// What is recorded so far (including this pass's records), parsed.
    pub fn record(&self) -> Record {
        Record::of(Some(&self.status))
    }

    /// Server-side apply of the whole status; fields the operator no longer sets are removed.
    /// The only write of status anywhere.
    async fn write(&mut self) -> Result<()> {
        let patch = json!({
            "apiVersion": "connect.userops.dev/v1alpha1",
            "kind": "ConnectUser",
            "status": self.status,
        });
        self.api
            .patch_status(
                &self.name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&patch),
            )
            .await?;
        self.written = Some(self.status.clone());
        Ok(())
    }

    fn progressing(&mut self, reason: &str, message: String) {
        set_health(
            &mut self.status,
            &Health::Reconciling {
                reason: reason.into(),
                message,
            },
            self.generation,
        );
    }

    /// A resource the operator has never written status for says nothing, and kstatus (Flux,
    /// Argo CD, `kubectl wait`) reads "no conditions" as done. Say Reconciling before the first
    /// Connect call, which may wait minutes for the CreateUser quota.
    pub async fn record_progressing_if_new(&mut self) -> Result<()> {
        if !self.status.conditions.is_empty() {
            return Ok(());
        }
        self.progressing("Creating", "looking up or creating the Connect user".into());
        self.write().await
    }

    /// Before CreateUser: a deletion from now on looks for the user by username until the
    /// settle window after this time has passed. Also fixes the region the user lives in.
    pub async fn record_create_attempt(&mut self, at: record::Time, region: &str) -> Result<()> {
        self.status.create_attempted_at = Some(record::stamp(at));
        self.status.region = Some(region.to_string());
        self.progressing("Creating", "creating the Connect user".into());
        self.write().await
    }

    /// Right after CreateUser returned, before any other call.
    pub async fn record_created_user(
        &mut self,
        id: &str,
        arn: &str,
        at: record::Time,
    ) -> Result<()> {
        let s = &mut self.status;
        s.user_id = Some(id.to_string());
        s.user_arn = Some(arn.to_string()).filter(|a| !a.is_empty());
        s.user_created_at = Some(record::stamp(at));
        s.last_write_at = Some(record::stamp(at));
        s.create_attempted_at = None;
        self.write().await
    }

    /// A user found with this resource's tag (created or adopted by a pass that did not get to
    /// record it), or just adopted: recorded before anything else is done to it.
    /// `created_at` is the attempt that created it, when it was this resource's CreateUser.
    pub async fn record_taken_user(
        &mut self,
        id: &str,
        arn: &str,
        created_at: Option<record::Time>,
        written_at: Option<record::Time>,
        region: &str,
    ) -> Result<()> {
        let s = &mut self.status;
        s.user_id = Some(id.to_string());
        s.user_arn = Some(arn.to_string()).filter(|a| !a.is_empty());
        s.user_created_at = created_at.map(record::stamp);
        s.last_write_at = written_at.map(record::stamp);
        s.create_attempted_at = None;
        s.region = Some(region.to_string());
        self.write().await
    }

    /// Before CreateQuickConnect.
    pub async fn record_quick_connect_attempt(&mut self, at: record::Time) -> Result<()> {
        self.status.quick_connect_attempted_at = Some(record::stamp(at));
        self.write().await
    }

    /// Right after CreateQuickConnect returned.
    pub async fn record_created_quick_connect(&mut self, id: &str, at: record::Time) -> Result<()> {
        let s = &mut self.status;
        s.quick_connect_id = Some(id.to_string());
        s.quick_connect_created_at = Some(record::stamp(at));
        s.quick_connect_attempted_at = None;
        self.write().await
    }

    /// Before DeleteUser: a later switch to Retain waits for the outcome instead of assuming
    /// the user is still there.
    pub async fn record_delete_attempt(&mut self, at: record::Time) -> Result<()> {
        let c = self
            .status
            .cleanup
            .get_or_insert_with(CleanupStatus::default);
        c.delete_attempted_at = Some(record::stamp(at));
        c.pending = "deleting the Connect user".into();
        c.waiting_until = None;
        self.progressing("Deleting", "deleting the Connect user".into());
        self.write().await
    }

    /// Right after DeleteUser succeeded (or the user's absence became a fact): from here on
    /// the quick connects are finished whatever the policy says.
    pub async fn record_user_deleted(&mut self, at: record::Time) -> Result<()> {
        let c = self
            .status
            .cleanup
            .get_or_insert_with(CleanupStatus::default);
        c.user_deleted = true;
        c.user_deleted_at = Some(record::stamp(at));
        c.pending = "deleting quick connects".into();
        c.waiting_until = None;
        self.progressing(
            "Deleting",
            "user deleted; deleting the quick connects that point at it".into(),
        );
        self.write().await
    }

    /// The working copy, for changes that ride on the pass's last write (progress, what a
    /// refused create leaves, the time of an update).
    pub fn edit(&mut self) -> &mut ConnectUserStatus {
        &mut self.status
    }

    /// The pass's last write: `health` (None: leave the conditions as they are), written only
    /// when the status says something new. Returns whether it wrote.
    pub async fn finish(&mut self, health: Option<Health>) -> Result<bool> {
        if let Some(h) = health {
            set_health(&mut self.status, &h, self.generation);
        }
        let synced_moved = self
            .written
            .as_ref()
            .and_then(|w| w.last_synced_time.as_ref())
            != self.status.last_synced_time.as_ref();
        if differs(self.written.as_ref(), &self.status) || synced_moved {
            self.write().await?;
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Health {
        Health::Ready {
            reason: "InSync".into(),
            message: "ok".into(),
        }
    }

    #[test]
    fn ready_removes_reconciling_and_stalled() {
        let mut s = ConnectUserStatus::default();
        set_health(
            &mut s,
            &Health::Stalled {
                reason: "InvalidSpec".into(),
                message: "m".into(),
            },
            Some(1),
        );
        assert_eq!(s.condition(STALLED).unwrap().status, "True");
        assert_eq!(s.condition(READY).unwrap().status, "False");
        set_health(&mut s, &ready(), Some(2));
        assert_eq!(s.conditions.len(), 1);
        assert_eq!(s.condition(READY).unwrap().status, "True");
        assert_eq!(s.observed_generation, Some(2));
    }

    #[test]
    fn transition_time_kept_while_status_unchanged() {
        let mut s = ConnectUserStatus::default();
        set_health(&mut s, &ready(), Some(1));
        let t = s.condition(READY).unwrap().last_transition_time.clone();
        std::thread::sleep(std::time::Duration::from_millis(5));
        set_health(
            &mut s,
            &Health::Ready {
                reason: "Updated".into(),
                message: "x".into(),
            },
            Some(2),
        );
        assert_eq!(s.condition(READY).unwrap().last_transition_time, t);
        set_health(
            &mut s,
            &Health::Reconciling {
                reason: "ConnectUnavailable".into(),
                message: "x".into(),
            },
            Some(2),
        );
        assert_ne!(s.condition(READY).unwrap().last_transition_time, t);
    }

    #[test]
    fn differs_ignores_timestamps_only() {
        let mut a = ConnectUserStatus::default();
        set_health(&mut a, &ready(), Some(1));
        let mut b = a.clone();
        b.last_synced_time = Some("2026-01-01T00:00:00Z".into());
        assert!(!differs(Some(&a), &b));
        b.user_id = Some("u".into());
        assert!(differs(Some(&a), &b));
        assert!(differs(None, &b));
    }
}
