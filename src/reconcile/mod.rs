//! Reconcile logic: the only code besides `controller` that talks to the Kubernetes API.

pub mod apply;
pub mod cleanup;
pub mod identity_rules;
pub mod quick_connect;
pub mod resolve;
pub mod secret;
pub mod status;

use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};

use crate::controller::Context;
use crate::crd::ConnectUser;
use crate::error::{Error, Result};
use crate::model::InstanceRef;

/// Where this resource's user lives.
pub fn instance_ref(cu: &ConnectUser, ctx: &Context) -> Result<InstanceRef> {
    let region = cu
        .spec
        .region
        .clone()
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

/// Publishes an Event on the resource; a failure to publish is logged, never fatal.
pub async fn publish(ctx: &Context, cu: &ConnectUser, warning: bool, reason: &str, note: String) {
    let event = Event {
        type_: if warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: reason.to_string(),
        note: Some(note),
        action: reason.to_string(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cu.object_ref(&())).await {
        tracing::warn!(namespace = %cu.namespace().unwrap_or_default(), name = %cu.name_any(), error = %e, "could not publish event {reason}");
    }
}
