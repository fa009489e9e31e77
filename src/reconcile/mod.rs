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
use crate::instance::crd::InstanceKind;
use crate::instance::resolve::{Resolved, for_apply, for_cleanup};
use outcome::Note;

/// Where this resource's user lives and with whose credentials, for a create or an update
/// (see [`crate::instance::resolve`]): decided before any Connect call.
pub async fn instance_for_apply(cu: &ConnectUser, ctx: &Context) -> Result<Resolved> {
    let cluster_kind = cu
        .spec
        .instance_ref
        .as_ref()
        .is_some_and(|r| r.kind == InstanceKind::ClusterConnectInstance);
    if cluster_kind && !ctx.settings.cluster_instances {
        return Err(Error::InstanceNotAllowed {
            field: "spec.instanceRef.kind".into(),
            message: format!(
                "this operator watches namespaces {} only and does not serve ClusterConnectInstances (install with clusterConnectInstances: true, or use a ConnectInstance in this namespace)",
                ctx.settings.namespaces.join(", ")
            ),
        });
    }
    let mut resolved = for_apply(&ctx.client, cu, ctx.settings.default_region.as_deref()).await?;
    resolved.at = ctx.connect.with_own_account(resolved.at);
    Ok(resolved)
}

/// The same for a deletion: what status recorded wins over the spec and the instance object.
pub async fn instance_for_cleanup(cu: &ConnectUser, ctx: &Context) -> Result<Resolved> {
    let mut resolved = for_cleanup(&ctx.client, cu, ctx.settings.default_region.as_deref()).await?;
    resolved.at = ctx.connect.with_own_account(resolved.at);
    Ok(resolved)
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
