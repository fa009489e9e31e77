//! Deletion through the finalizer: DeleteUser, then every quick connect that still points at the
//! user, and only then release. Every step is idempotent, so a crash anywhere resumes safely.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::status::{self, Health};
use super::{instance_ref, owner_uid, publish};
use crate::controller::{Context, Strategy};
use crate::crd::{CleanupStatus, ConnectUser, ConnectUserStatus, DeletionPolicy, OWNER_TAG};
use crate::error::{Error, ErrorClass, Result};
use crate::model::{InstanceRef, UserUpdate};

/// Returning Ok releases the finalizer; any Err keeps it and retries.
pub async fn cleanup(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Result<Action> {
    let result = run(&cu, &ctx).await;
    if result.is_ok() {
        ctx.metrics.set_ready(&super::resource_key(&cu), None);
    }
    if let Err(e) = &result
        && e.class() != ErrorClass::Throttled
    {
        let mut s = cu.status.clone().unwrap_or_default();
        let health = if e.class() == ErrorClass::Transient {
            Health::Progressing {
                reason: e.reason().into(),
                message: format!("deletion waiting: {e}"),
            }
        } else {
            Health::Stalled {
                reason: e.reason().into(),
                message: format!("deletion blocked: {e}"),
            }
        };
        status::set_health(&mut s, &health, cu.metadata.generation);
        if status::differs(cu.status.as_ref(), &s) {
            status::write(&ctx.client, &cu, &s).await?;
            publish(
                &ctx,
                &cu,
                true,
                e.reason(),
                format!("deletion blocked: {e}"),
            )
            .await;
        }
    }
    result
}

async fn run(cu: &ConnectUser, ctx: &Context) -> Result<Action> {
    let uid = owner_uid(cu)?;
    let at = instance_ref(cu, ctx)?;
    let recorded = cu.status.as_ref().and_then(|s| s.user_id.clone());
    let user_id = match recorded {
        Some(id) => id,
        // Nothing recorded: either never created, or created just before a crash. Only a user
        // carrying our ownership tag can be the latter.
        None => match ctx
            .connect
            .find_user_by_username(&at, &cu.spec.username)
            .await?
        {
            Some(u) if u.fields.tags.get(OWNER_TAG) == Some(&uid) => u.id,
            _ => return Ok(Action::await_change()),
        },
    };

    // Ownership: never touch a user that is not ours, whatever the policy.
    let observed = match ctx.connect.describe_user(&at, &user_id).await {
        Ok(u) => Some(u),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    };
    let owned = observed
        .as_ref()
        .is_none_or(|u| u.fields.tags.get(OWNER_TAG) == Some(&uid));

    if cu.spec.deletion_policy == DeletionPolicy::Retain {
        if let Some(user) = observed.filter(|_| owned) {
            let untag = UserUpdate::Untag(vec![OWNER_TAG.to_string()]);
            match ctx
                .connect
                .apply_update(&at, &user.id, &user.arn, &untag)
                .await
            {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
        publish(
            ctx,
            cu,
            false,
            "Retained",
            format!("Connect user {user_id} left in place (deletionPolicy: Retain)"),
        )
        .await;
        return Ok(Action::await_change());
    }
    if !owned {
        return Err(Error::NotOwned(format!(
            "Connect user {user_id} does not carry {OWNER_TAG}={uid}; not deleting it. To release this resource without deleting the user, set spec.deletionPolicy: Retain"
        )));
    }

    let mut progress = CleanupStatus::default();
    if observed.is_some() {
        ctx.connect.delete_user(&at, &user_id).await?;
        publish(
            ctx,
            cu,
            false,
            "Deleted",
            format!("Deleted Connect user {} ({user_id})", cu.spec.username),
        )
        .await;
    }
    progress.user_deleted = true;
    write_progress(cu, ctx, &progress).await?;

    // The listing starts only now, after DeleteUser succeeded, so no quick connect created
    // while the user still existed can be missed.
    let deleted = delete_quick_connects(cu, ctx, &at, &user_id, &mut progress).await?;
    tracing::info!(namespace = %cu.namespace().unwrap_or_default(), name = %cu.name_any(), user_id, quick_connects = deleted, "cleanup complete");
    Ok(Action::await_change())
}

async fn delete_quick_connects(
    cu: &ConnectUser,
    ctx: &Context,
    at: &InstanceRef,
    user_id: &str,
    progress: &mut CleanupStatus,
) -> Result<u32> {
    let targets = match ctx.settings.strategy {
        Strategy::Shared => ctx.quick_connects.pointing_at(at, user_id).await?,
        Strategy::Naive => ctx
            .connect
            .user_quick_connects_by_describe(at)
            .await?
            .into_iter()
            .filter(|q| q.user_id == user_id)
            .collect(),
    };
    progress.quick_connects_found = targets.len() as u32;
    if !targets.is_empty() {
        write_progress(cu, ctx, progress).await?;
    }
    for qc in targets {
        ctx.connect.delete_quick_connect(at, &qc.id).await?;
        progress.quick_connects_deleted += 1;
        ctx.metrics.quick_connect_deleted();
        publish(
            ctx,
            cu,
            false,
            "QuickConnectDeleted",
            format!(
                "Deleted quick connect {:?} ({}) that pointed at the deleted user",
                qc.name, qc.id
            ),
        )
        .await;
    }
    Ok(progress.quick_connects_deleted)
}

async fn write_progress(cu: &ConnectUser, ctx: &Context, progress: &CleanupStatus) -> Result<()> {
    let mut s: ConnectUserStatus = cu.status.clone().unwrap_or_default();
    s.cleanup = Some(progress.clone());
    status::set_health(
        &mut s,
        &Health::Progressing {
            reason: "Deleting".into(),
            message: format!(
                "user deleted: {}, quick connects deleted: {}/{}",
                progress.user_deleted,
                progress.quick_connects_deleted,
                progress.quick_connects_found
            ),
        },
        cu.metadata.generation,
    );
    status::write(&ctx.client, cu, &s).await
}
