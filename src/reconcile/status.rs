//! Status: kstatus-compatible conditions (`Ready`, plus `Reconciling` / `Stalled` only while they
//! are true) written with server-side apply under the operator's one field manager.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use crate::crd::{ConnectUser, ConnectUserStatus, FIELD_MANAGER};
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
    Progressing { reason: String, message: String },
    /// Cannot proceed without a change from a person (kstatus: Stalled).
    Stalled { reason: String, message: String },
}

/// Sets `type_` to `status`, keeping lastTransitionTime when the status did not change.
fn set(
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
        Health::Progressing { reason, message } => {
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

/// Server-side apply of the whole status; fields the operator no longer sets are removed.
pub async fn write(
    client: &kube::Client,
    cu: &ConnectUser,
    status: &ConnectUserStatus,
) -> Result<()> {
    let api: Api<ConnectUser> =
        Api::namespaced(client.clone(), &cu.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": "connect.userops.dev/v1alpha1",
        "kind": "ConnectUser",
        "status": status,
    });
    api.patch_status(
        &cu.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
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
            &Health::Progressing {
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
