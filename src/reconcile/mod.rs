//! Reconcile logic: the only code besides `controller` that talks to the Kubernetes API.
//!
//! Each pass is a pipeline: observe (the resource, Connect) -> decide (pure: `decide`,
//! `cleanup_plan`) -> act (Connect calls, and the `record_*` status writes that must land
//! before anything depends on them) -> one status write of the outcome -> Events.

pub mod cleanup;
pub mod cleanup_plan;
pub mod converge;
pub mod decide;
pub mod identity_rules;
pub mod managed_quick_connect;
pub mod observe;
pub mod outcome;
pub mod record;
pub mod resolve;
pub mod secret;
pub mod status;

use kube::{Resource, ResourceExt};

use crate::context::Context;
use crate::crd::ConnectUser;
use crate::error::{Error, Result};
use crate::events::EventNote;
use crate::model::InstanceRef;
use outcome::Note;

/// Where this resource's user lives: `spec.region`, else the region recorded at its first
/// reconcile, else the operator's default (which may have changed since: the record wins).
pub fn instance_ref(cu: &ConnectUser, ctx: &Context) -> Result<InstanceRef> {
    let recorded = cu.status.as_ref().and_then(|s| s.region.clone());
    let region = cu
        .spec
        .region
        .clone()
        .or(recorded)
        .or_else(|| ctx.settings.default_region.clone())
        .ok_or_else(|| {
            Error::invalid(
                "spec.region",
                "no region given and the operator has no default region (--region / AWS_REGION)",
            )
        })?;
    Ok(InstanceRef {
        region,
        instance_id: cu.spec.instance_id.clone(),
    })
}

/// `namespace/name`: the key of per-resource bookkeeping (backoff, metrics).
pub fn resource_key(cu: &ConnectUser) -> String {
    format!("{}/{}", cu.namespace().unwrap_or_default(), cu.name_any())
}

/// The resource's UID: the value of the ownership tag.
pub fn owner_uid(cu: &ConnectUser) -> Result<String> {
    cu.uid()
        .ok_or_else(|| Error::invalid("metadata.uid", "the resource has no UID"))
}

/// Publishes the pass's Events, after its status was written; a failure to publish is logged,
/// never fatal.
pub async fn publish(ctx: &Context, cu: &ConnectUser, notes: Vec<Note>) {
    let resource = resource_key(cu);
    let regarding = cu.object_ref(&());
    for note in notes {
        let event = EventNote {
            kind: note.kind,
            reason: note.reason,
            message: &note.message,
        };
        if let Err(e) = ctx.events.publish(&resource, &regarding, event).await {
            tracing::warn!(error = %e, "could not publish event {}", note.reason);
        }
    }
}
