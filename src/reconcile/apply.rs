//! Create, adopt, update and drift correction of one ConnectUser's Connect user.

use std::sync::Arc;

use chrono::Utc;
use kube::ResourceExt;
use kube::api::ListParams;
use kube::runtime::controller::Action;

use super::status::{self, Health};
use super::{identity_rules, instance_ref, owner_uid, publish, resolve, secret};
use crate::controller::Context;
use crate::controller::Strategy;
use crate::crd::{ConnectUser, OWNER_TAG};
use crate::diff::{changed_fields, diff, summary_matches};
use crate::error::{Error, ErrorClass, Result};
use crate::model::{IdentityManagement, InstanceRef, NewUser, UserFields, UserUpdate};

/// The result of one successful pass.
struct Synced {
    user_id: String,
    user_arn: String,
    reason: &'static str,
    message: String,
    changed: bool,
    /// Compared with DescribeUser in this pass (not only with the bulk summary).
    full: bool,
    quick_connect_id: Option<String>,
}

/// How the pass found the Connect user.
enum Found {
    /// Recorded in status (or found by our ownership tag after a crash).
    Ours(String),
    /// Just created with every field: nothing left to compare.
    Created(String, String),
    /// An existing user just tagged as ours.
    Adopted(String),
}

pub async fn apply(cu: Arc<ConnectUser>, ctx: Arc<Context>) -> Result<Action> {
    mark_in_progress_if_new(&cu, &ctx).await?;
    // The user first, then its quick connect; the user's id is recorded even when the quick
    // connect step fails, so deletion can always find the user.
    let (result, user) = match sync(&cu, &ctx).await {
        Ok(synced) => {
            let ids = (synced.user_id.clone(), synced.user_arn.clone());
            (with_quick_connect(&cu, &ctx, synced).await, Some(ids))
        }
        Err(e) => (Err(e), None),
    };
    let mut new_status = cu.status.clone().unwrap_or_default();
    new_status.cleanup = None;
    if let Some((id, arn)) = user {
        new_status.user_id = Some(id);
        new_status.user_arn = Some(arn).filter(|a| !a.is_empty());
    }
    let generation = cu.metadata.generation;
    match &result {
        Ok(synced) => {
            new_status.quick_connect_id = synced.quick_connect_id.clone();
            status::set_health(
                &mut new_status,
                &Health::Ready {
                    reason: synced.reason.to_string(),
                    message: synced.message.clone(),
                },
                generation,
            );
            let stale = new_status
                .last_synced_time
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| Utc::now().signed_duration_since(t) > chrono::Duration::hours(1));
            if synced.changed || stale {
                new_status.last_synced_time =
                    Some(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
        }
        // Throttling is not a failure: leave the status as it is and retry shortly.
        Err(e) if e.class() == ErrorClass::Throttled => {
            return result.map(|_| Action::await_change());
        }
        Err(e) => {
            let (reason, message) = (e.reason().to_string(), e.to_string());
            let health = if e.class() == ErrorClass::Transient {
                Health::Progressing { reason, message }
            } else {
                Health::Stalled { reason, message }
            };
            status::set_health(&mut new_status, &health, generation);
        }
    }
    let ready = new_status
        .condition(status::READY)
        .map(|c| if c.status == "True" { "True" } else { "False" });
    ctx.metrics
        .set_ready(&super::resource_key(&cu), ready.or(Some("Unknown")));
    if status::differs(cu.status.as_ref(), &new_status) || synced_time_moved(&cu, &new_status) {
        status::write(&ctx.client, &cu, &new_status).await?;
        if let Err(e) = &result {
            publish(&ctx, &cu, true, e.reason(), e.to_string()).await;
        }
    }
    result.map(|_| Action::requeue(ctx.settings.jittered_resync()))
}

/// Runs the quick-connect step after a successful user pass and folds its changes into the
/// Ready condition.
async fn with_quick_connect(cu: &ConnectUser, ctx: &Context, mut synced: Synced) -> Result<Synced> {
    let at = instance_ref(cu, ctx)?;
    let uid = owner_uid(cu)?;
    let outcome =
        super::quick_connect::sync(cu, ctx, &at, &uid, &synced.user_id, synced.full).await?;
    synced.quick_connect_id = outcome.id;
    if !outcome.changes.is_empty() {
        synced.changed = true;
        if synced.reason == "InSync" {
            let spec_changed =
                cu.status.as_ref().and_then(|s| s.observed_generation) != cu.metadata.generation;
            synced.reason = if spec_changed {
                "Updated"
            } else {
                "DriftCorrected"
            };
            synced.message = format!(
                "Connect user {} {}: quickConnect",
                synced.user_id,
                if spec_changed { "updated" } else { "corrected" }
            );
        }
    }
    Ok(synced)
}

/// A resource the operator has never written status for says nothing, and kstatus (Flux, Argo CD,
/// `kubectl wait`) reads "no conditions at the current generation" as done. Say Reconciling
/// before the first Connect call, which may wait minutes for the CreateUser quota.
async fn mark_in_progress_if_new(cu: &ConnectUser, ctx: &Context) -> Result<()> {
    if cu.status.as_ref().is_some_and(|s| !s.conditions.is_empty()) {
        return Ok(());
    }
    let mut new_status = cu.status.clone().unwrap_or_default();
    status::set_health(
        &mut new_status,
        &Health::Progressing {
            reason: "Creating".into(),
            message: "looking up or creating the Connect user".into(),
        },
        cu.metadata.generation,
    );
    status::write(&ctx.client, cu, &new_status).await
}

fn synced_time_moved(cu: &ConnectUser, new: &crate::crd::ConnectUserStatus) -> bool {
    cu.status.as_ref().and_then(|s| s.last_synced_time.as_ref()) != new.last_synced_time.as_ref()
}

async fn sync(cu: &ConnectUser, ctx: &Context) -> Result<Synced> {
    let at = instance_ref(cu, ctx)?;
    let uid = owner_uid(cu)?;
    let desired = resolve::desired_fields(&ctx.catalog, &at, &cu.spec, &uid).await?;
    let recorded = cu.status.as_ref().and_then(|s| s.user_id.clone());

    let found = match recorded {
        Some(id) => Found::Ours(id),
        None => find_or_create(cu, ctx, &at, &uid, &desired).await?,
    };
    let (user_id, reason) = match found {
        Found::Created(id, arn) => {
            return Ok(Synced {
                message: format!("Connect user {} created", id),
                user_id: id,
                user_arn: arn,
                reason: "Created",
                changed: true,
                full: true,
                quick_connect_id: None,
            });
        }
        Found::Adopted(id) => (id, "Adopted"),
        Found::Ours(id) => (id, "InSync"),
    };

    let spec_changed =
        cu.status.as_ref().and_then(|s| s.observed_generation) != cu.metadata.generation;
    let was_ready = cu
        .status
        .as_ref()
        .and_then(|s| s.condition(status::READY))
        .is_some_and(|c| c.status == "True");
    if reason == "InSync"
        && !spec_changed
        && was_ready
        && let Some(synced) = in_sync_by_summary(cu, ctx, &at, &uid, &user_id, &desired).await?
    {
        return Ok(synced);
    }

    let mut observed = match ctx.connect.describe_user(&at, &user_id).await {
        Ok(u) => u,
        Err(e) if e.is_not_found() => {
            // Deleted behind our back. It was ours (its id is in our status), so recreate it.
            publish(
                ctx,
                cu,
                true,
                "UserMissing",
                format!("Connect user {user_id} no longer exists; creating it again"),
            )
            .await;
            return match find_or_create(cu, ctx, &at, &uid, &desired).await? {
                Found::Created(id, arn) => Ok(Synced {
                    message: format!("Connect user {id} created again after {user_id} disappeared"),
                    user_id: id,
                    user_arn: arn,
                    reason: "Recreated",
                    changed: true,
                    full: true,
                    quick_connect_id: None,
                }),
                // Found by username (ours or adopted): the next pass compares it.
                Found::Ours(id) | Found::Adopted(id) => {
                    Err(Error::Connect(crate::connect::ConnectError {
                        operation: "DescribeUser",
                        kind: crate::connect::ErrorKind::Transient,
                        code: "UserReplaced".into(),
                        message: format!("user {user_id} was replaced by {id}; resyncing"),
                    }))
                }
            };
        }
        Err(e) => return Err(e.into()),
    };
    ctx.described_now(&super::resource_key(cu));
    if observed.fields.tags.get(OWNER_TAG) != Some(&uid) {
        return Err(Error::NotOwned(format!(
            "Connect user {} ({}) does not carry this resource's ownership tag {OWNER_TAG}={uid}; it will not be modified or deleted",
            observed.username, observed.id
        )));
    }

    // Proficiencies are only read when managed: DescribeUser does not show them.
    if desired.proficiencies.is_some() {
        observed.fields.proficiencies = Some(
            ctx.connect
                .list_user_proficiencies(&at, &observed.id)
                .await?,
        );
    }
    let updates = diff(&desired, &observed.fields);
    for update in &updates {
        ctx.connect
            .apply_update(&at, &observed.id, &observed.arn, update)
            .await?;
    }
    let fields = changed_fields(&updates).join(", ");
    let (reason, message) = if updates.is_empty() {
        (
            reason,
            format!("Connect user {} matches the spec", observed.id),
        )
    } else if spec_changed || reason == "Adopted" {
        let r = if reason == "Adopted" {
            "Adopted"
        } else {
            "Updated"
        };
        publish(
            ctx,
            cu,
            false,
            "Updated",
            format!("Updated {fields} of Connect user {}", observed.id),
        )
        .await;
        (r, format!("Connect user {} updated: {fields}", observed.id))
    } else {
        publish(
            ctx,
            cu,
            false,
            "DriftCorrected",
            format!(
                "Connect user {} had drifted from the spec; corrected {fields}",
                observed.id
            ),
        )
        .await;
        (
            "DriftCorrected",
            format!("Connect user {} corrected: {fields}", observed.id),
        )
    };
    Ok(Synced {
        user_id: observed.id,
        user_arn: observed.arn,
        reason,
        message,
        changed: !updates.is_empty(),
        full: true,
        quick_connect_id: None,
    })
}

/// The periodic check of an in-sync user: the shared SearchUsers snapshot shows every managed
/// field except email, secondary email, mobile and proficiencies, which a full DescribeUser
/// (plus ListUserProficiencies when managed) checks every `full_describe_every` resyncs.
/// None means "describe it".
async fn in_sync_by_summary(
    cu: &ConnectUser,
    ctx: &Context,
    at: &InstanceRef,
    uid: &str,
    user_id: &str,
    desired: &UserFields,
) -> Result<Option<Synced>> {
    if ctx.settings.strategy == Strategy::Naive || ctx.full_describe_due(&super::resource_key(cu)) {
        return Ok(None);
    }
    let snapshot = ctx
        .users
        .snapshot(at, ctx.settings.resync_period.mul_f64(0.9))
        .await?;
    Ok(snapshot
        .get(user_id)
        .filter(|s| s.owner(OWNER_TAG) == Some(uid) && summary_matches(desired, &s.fields))
        .map(|s| Synced {
            user_id: s.id.clone(),
            user_arn: s.arn.clone(),
            reason: "InSync",
            message: format!("Connect user {} matches the spec", s.id),
            changed: false,
            full: false,
            quick_connect_id: None,
        }))
}

/// No user id recorded: find the username in Connect and decide whether it is ours, adoptable,
/// or someone else's; create it when it does not exist.
async fn find_or_create(
    cu: &ConnectUser,
    ctx: &Context,
    at: &InstanceRef,
    uid: &str,
    desired: &UserFields,
) -> Result<Found> {
    let spec = &cu.spec;
    if let Some(existing) = ctx
        .connect
        .find_user_by_username(at, &spec.username)
        .await?
    {
        let owner = existing.fields.tags.get(OWNER_TAG);
        if owner.map(String::as_str) == Some(uid) {
            // We created it and crashed before recording it: it is ours, never create twice.
            return Ok(Found::Ours(existing.id));
        }
        if let Some(owner) = owner
            && let Some(holder) = live_owner(ctx, owner).await?
        {
            return Err(Error::Conflict(format!(
                "Connect user {:?} is managed by ConnectUser {holder}",
                spec.username
            )));
        }
        if !spec.adopt_existing {
            return Err(Error::UserExists(format!(
                "a Connect user named {:?} already exists ({}); set spec.adoptExisting: true to manage it",
                spec.username, existing.id
            )));
        }
        let tag = UserUpdate::Tag([(OWNER_TAG.to_string(), uid.to_string())].into());
        ctx.connect
            .apply_update(at, &existing.id, &existing.arn, &tag)
            .await?;
        publish(
            ctx,
            cu,
            false,
            "Adopted",
            format!(
                "Adopted existing Connect user {} ({})",
                spec.username, existing.id
            ),
        )
        .await;
        return Ok(Found::Adopted(existing.id));
    }

    let catalog = ctx.catalog.get(at, None).await?;
    identity_rules::check_new_user(spec, catalog.identity_management)?;
    let password = match (&spec.password_secret_ref, catalog.identity_management) {
        (Some(r), IdentityManagement::ConnectManaged) => {
            Some(secret::read_password(&ctx.client, &cu.namespace().unwrap_or_default(), r).await?)
        }
        (None, IdentityManagement::ConnectManaged) => {
            return Err(Error::invalid(
                "spec.passwordSecretRef",
                format!(
                    "required: instance {} manages its own identities (CONNECT_MANAGED)",
                    at.instance_id
                ),
            ));
        }
        // SAML and directory instances authenticate elsewhere; Connect rejects a password.
        _ => None,
    };
    let new_user = NewUser {
        username: spec.username.clone(),
        password,
        directory_user_id: spec.directory_user_id.clone(),
        fields: desired.clone(),
    };
    let (id, arn) = ctx.connect.create_user(at, &new_user).await?;
    // CreateUser takes no proficiencies. If this fails, the next pass finds the user by its
    // ownership tag and compares it like any other.
    if let Some(p) = desired.proficiencies.as_ref().filter(|p| !p.is_empty()) {
        let associate = UserUpdate::AssociateProficiencies(p.clone());
        ctx.connect.apply_update(at, &id, &arn, &associate).await?;
    }
    publish(
        ctx,
        cu,
        false,
        "Created",
        format!("Created Connect user {} ({id})", spec.username),
    )
    .await;
    Ok(Found::Created(id, arn))
}

/// The ConnectUser (namespace/name) whose UID is `uid`, if it still exists.
async fn live_owner(ctx: &Context, uid: &str) -> Result<Option<String>> {
    let mut found = None;
    for api in ctx.settings.namespaces_or_all(&ctx.client) {
        let list: kube::core::ObjectList<ConnectUser> = api.list(&ListParams::default()).await?;
        if let Some(cu) = list
            .items
            .into_iter()
            .find(|c| c.uid().as_deref() == Some(uid))
        {
            found = Some(format!(
                "{}/{}",
                cu.namespace().unwrap_or_default(),
                cu.name_any()
            ));
            break;
        }
    }
    Ok(found)
}
