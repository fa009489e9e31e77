//! Reads a pass starts from: the resource as the apiserver has it now, and who holds a
//! username in Connect.

use kube::{Api, ResourceExt};

use super::decide::Holder;
use crate::context::Context;
use crate::crd::{ConnectUser, OWNER_TAG};
use crate::error::Result;
use crate::model::InstanceRef;

/// The resource as the apiserver has it now. The reflector's copy can lag the status the last
/// pass wrote, and a decision from it could forget a recorded create attempt or user id.
/// `None`: gone, or replaced by a new object with the same name.
pub async fn fresh(cu: &ConnectUser, ctx: &Context) -> Result<Option<ConnectUser>> {
    let api: Api<ConnectUser> =
        Api::namespaced(ctx.client.clone(), &cu.namespace().unwrap_or_default());
    Ok(api
        .get_opt(&cu.name_any())
        .await?
        .filter(|now| now.uid() == cu.uid()))
}

/// Who holds `username` in Connect, from one SearchUsers (which may lag, both ways).
pub async fn username_holder(
    ctx: &Context,
    at: &InstanceRef,
    username: &str,
    uid: &str,
) -> Result<Holder> {
    let Some(user) = ctx.connect.find_user_by_username(at, username).await? else {
        return Ok(Holder::Nobody);
    };
    Ok(match user.owner(OWNER_TAG) {
        Some(owner) if owner == uid => Holder::Ours {
            id: user.id,
            arn: user.arn,
        },
        Some(owner) => match live_owner(ctx, owner).await? {
            Some((by, false)) => Holder::Managed { id: user.id, by },
            Some((by, true)) => Holder::Leaving { id: user.id, by },
            None => Holder::Other {
                id: user.id,
                arn: user.arn,
            },
        },
        None => Holder::Other {
            id: user.id,
            arn: user.arn,
        },
    })
}

/// The ConnectUser (namespace/name) whose UID is `uid`, if it still exists, and whether it is
/// being deleted: from the watch's store, which holds every watched namespace before anything
/// is reconciled. A store that lags errs towards "still exists" (a deletion shows there after
/// it happened), never towards taking another resource's user; a ConnectUser outside the
/// watched namespaces is not this operator's to know, as with a list.
async fn live_owner(ctx: &Context, uid: &str) -> Result<Option<(String, bool)>> {
    Ok(ctx.watched.by_uid(uid).map(|cu| {
        let name = format!("{}/{}", cu.namespace().unwrap_or_default(), cu.name_any());
        (name, cu.metadata.deletion_timestamp.is_some())
    }))
}
