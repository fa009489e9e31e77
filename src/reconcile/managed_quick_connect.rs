//! `spec.quickConnect`: the USER quick connect the operator keeps for a user. Created after the
//! user, tagged with the resource's UID, renamed / retargeted with exactly the matching update
//! call, deleted when the field is removed (and, like every quick connect to the user, by the
//! deletion cleanup).

use chrono::Utc;

use super::converge::{Pass, waiting};
use super::decide::{self, NamedQuickConnect, QuickConnectTake};
use super::outcome::{Note, Stop};
use super::record;
use super::resolve;
use crate::connect::ErrorKind;
use crate::context::Context;
use crate::crd::{OWNER_TAG, QuickConnectSpec};
use crate::error::{Error, Result};
use crate::model::{DesiredQuickConnect, InstanceRef, ManagedQuickConnect};

/// Brings the managed quick connect in line; true when it changed something. `full` = this
/// pass compared the user with DescribeUser; a quick connect already recorded is only checked
/// on such passes, so the steady state costs one DescribeQuickConnect per full describe.
pub(super) async fn sync(
    pass: &mut Pass<'_>,
    at: &InstanceRef,
    uid: &str,
    user_id: &str,
    full: bool,
) -> Result<bool, Stop> {
    let record = pass.status.record();
    let Some(spec) = &pass.cu.spec.quick_connect else {
        return remove(pass, at).await;
    };
    if !full && record.quick_connect_id.is_some() {
        return Ok(false);
    }
    let desired = desired(pass.ctx, at, spec, user_id).await?;
    let anchor = record.quick_connect_created_at;
    let existing = match &record.quick_connect_id {
        Some(id) => match pass
            .ctx
            .connect
            .describe_managed_quick_connect(at, id)
            .await
        {
            Ok(Some(qc)) => Some(qc),
            Err(e) if !decide::not_shown(e.kind, anchor, Utc::now(), pass.settle()) => {
                return Err(e.into());
            }
            Ok(None) | Err(_) => {
                wait_until_shown(pass, &record, id)?;
                forget(pass);
                None
            }
        },
        None => None,
    };
    let existing = match existing {
        Some(qc) => qc,
        None => match find_or_create(pass, at, uid, &desired).await? {
            Some(qc) => qc,
            None => return Ok(true),
        },
    };
    let mut changed = false;
    let (rename, retarget) = differences(&desired, &existing);
    if rename {
        pass.ctx
            .connect
            .update_quick_connect_name(
                at,
                &existing.id,
                &desired.name,
                desired.description.as_deref(),
            )
            .await?;
        changed = true;
    }
    if retarget {
        pass.ctx
            .connect
            .update_quick_connect_target(at, &existing.id, user_id, &desired.contact_flow_id)
            .await
            .map_err(|e| pass.user_error(e))?;
        changed = true;
    }
    Ok(changed)
}

/// `spec.quickConnect` was removed: delete the recorded one.
async fn remove(pass: &mut Pass<'_>, at: &InstanceRef) -> Result<bool, Stop> {
    let record = pass.status.record();
    let Some(id) = record.quick_connect_id.clone() else {
        // An unresolved attempt whose name is gone with the spec: the listings of a later
        // deletion still find it while it points at the user.
        pass.status.edit().quick_connect_attempted_at = None;
        return Ok(false);
    };
    let anchor = record.quick_connect_created_at;
    match pass.ctx.connect.delete_quick_connect(at, &id).await {
        Ok(()) => {}
        Err(e) if decide::not_shown(e.kind, anchor, Utc::now(), pass.settle()) => {
            wait_until_shown(pass, &record, &id)?;
        }
        Err(e) => return Err(e.into()),
    }
    forget(pass);
    pass.notes.push(Note::normal(
        "QuickConnectDeleted",
        format!("Deleted quick connect {id}: spec.quickConnect was removed"),
    ));
    Ok(true)
}

/// Connect does not show the recorded quick connect: while the settle window after its
/// creation is open that is Connect not having caught up, so wait; after it, it is gone.
fn wait_until_shown(pass: &Pass<'_>, record: &record::Record, id: &str) -> Result<(), Stop> {
    let now = Utc::now();
    match pass.settle().open(record.quick_connect_created_at, now) {
        Some(until) => Err(waiting(
            format!("Connect does not show quick connect {id} yet"),
            record.quick_connect_created_at.unwrap_or(now),
            until,
            now,
        )),
        None => Ok(()),
    }
}

fn forget(pass: &mut Pass<'_>) {
    let s = pass.status.edit();
    s.quick_connect_id = None;
    s.quick_connect_created_at = None;
    s.quick_connect_attempted_at = None;
}

/// Ours by name (created by a pass that did not record it), or a new one: CreateQuickConnect
/// with its attempt recorded before and its id right after. `None`: just created.
async fn find_or_create(
    pass: &mut Pass<'_>,
    at: &InstanceRef,
    uid: &str,
    desired: &DesiredQuickConnect,
) -> Result<Option<ManagedQuickConnect>, Stop> {
    let record = pass.status.record();
    let prior = record.quick_connect_attempted_at;
    let (found, qc) = named(pass, at, uid, &desired.name).await?;
    match decide::quick_connect_by_name(&pass.facts(&record, at, Utc::now()), &found, false, prior)
    {
        QuickConnectTake::Recover(_) => return Ok(qc.map(|qc| recover(pass, qc))),
        QuickConnectTake::Conflict(id) => return Err(conflict(desired, &id)),
        QuickConnectTake::Create | QuickConnectTake::Wait => {}
    }
    let permit = pass.ctx.connect.permit(at, "CreateQuickConnect").await;
    pass.status.record_quick_connect_attempt(Utc::now()).await?;
    let tags = [(OWNER_TAG.to_string(), uid.to_string())].into();
    let error = match pass
        .ctx
        .connect
        .create_user_quick_connect(permit, at, desired, tags)
        .await
    {
        Ok(id) => {
            pass.status
                .record_created_quick_connect(&id, Utc::now())
                .await?;
            pass.notes.push(Note::normal(
                "QuickConnectCreated",
                format!(
                    "Created quick connect {:?} ({id}) to this user",
                    desired.name
                ),
            ));
            return Ok(None);
        }
        Err(e) => e,
    };
    if decide::refused_for_sure(error.kind) {
        pass.status.edit().quick_connect_attempted_at = prior.map(record::stamp);
    }
    if error.kind != ErrorKind::Duplicate {
        // Naming a user Connect does not show yet answers NotFound or InvalidRequest.
        return Err(pass.user_error(error));
    }
    let (found, qc) = named(pass, at, uid, &desired.name).await?;
    let record = pass.status.record();
    let now = Utc::now();
    match decide::quick_connect_by_name(&pass.facts(&record, at, now), &found, true, prior) {
        QuickConnectTake::Recover(_) => Ok(qc.map(|qc| recover(pass, qc))),
        QuickConnectTake::Conflict(id) => Err(conflict(desired, &id)),
        QuickConnectTake::Wait | QuickConnectTake::Create => {
            let since = prior.unwrap_or(now);
            Err(waiting(
                format!(
                    "Connect refused quick connect name {:?} as taken but does not show who holds it yet",
                    desired.name
                ),
                since,
                pass.settle()
                    .after(since)
                    .max(now + chrono::Duration::seconds(1)),
                now,
            ))
        }
    }
}

/// Ours, found by name: record its id with the pass's last write (found again if that fails).
fn recover(pass: &mut Pass<'_>, qc: ManagedQuickConnect) -> ManagedQuickConnect {
    let s = pass.status.edit();
    s.quick_connect_id = Some(qc.id.clone());
    s.quick_connect_attempted_at = None;
    qc
}

async fn named(
    pass: &Pass<'_>,
    at: &InstanceRef,
    uid: &str,
    name: &str,
) -> Result<(NamedQuickConnect, Option<ManagedQuickConnect>), Stop> {
    let qc = pass
        .ctx
        .connect
        .find_quick_connect_by_name(at, name)
        .await?;
    let found = match &qc {
        None => NamedQuickConnect::Nobody,
        Some(q) if q.tags.get(OWNER_TAG).map(String::as_str) == Some(uid) => {
            NamedQuickConnect::Ours(q.id.clone())
        }
        Some(q) => NamedQuickConnect::Other(q.id.clone()),
    };
    Ok((found, qc))
}

fn conflict(desired: &DesiredQuickConnect, id: &str) -> Stop {
    Error::Conflict(format!(
        "spec.quickConnect.name: a quick connect named {:?} already exists ({id}) and is not managed by this resource",
        desired.name
    ))
    .into()
}

/// (name or description differ, target user or flow differ).
pub fn differences(desired: &DesiredQuickConnect, existing: &ManagedQuickConnect) -> (bool, bool) {
    let rename = existing.name != desired.name
        || desired
            .description
            .as_ref()
            .is_some_and(|d| existing.description.as_ref() != Some(d));
    let retarget = existing.user_id.as_deref() != Some(desired.user_id.as_str())
        || existing.contact_flow_id.as_deref() != Some(desired.contact_flow_id.as_str());
    (rename, retarget)
}

async fn desired(
    ctx: &Context,
    at: &InstanceRef,
    spec: &QuickConnectSpec,
    user_id: &str,
) -> Result<DesiredQuickConnect> {
    // An id is passed as is (Connect checks it); a name is looked up among AGENT_TRANSFER flows.
    let contact_flow_id = match (&spec.contact_flow.id, &spec.contact_flow.name) {
        (Some(id), None) => id.clone(),
        _ => {
            let flows = ctx.connect.list_agent_transfer_flows(at).await?;
            resolve::lookup(
                &flows,
                &spec.contact_flow,
                "spec.quickConnect.contactFlow",
                "AGENT_TRANSFER contact flow",
            )?
        }
    };
    Ok(DesiredQuickConnect {
        name: spec.name.clone(),
        description: spec.description.clone(),
        user_id: user_id.to_string(),
        contact_flow_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredQuickConnect {
        DesiredQuickConnect {
            name: "To Alice".into(),
            description: None,
            user_id: "u-1".into(),
            contact_flow_id: "f-1".into(),
        }
    }

    fn existing() -> ManagedQuickConnect {
        ManagedQuickConnect {
            id: "q".into(),
            name: "To Alice".into(),
            description: Some("set in the console".into()),
            user_id: Some("u-1".into()),
            contact_flow_id: Some("f-1".into()),
            tags: Default::default(),
        }
    }

    #[test]
    fn each_difference_maps_to_its_call() {
        assert_eq!(differences(&desired(), &existing()), (false, false));
        let mut d = desired();
        d.description = Some("Alice".into());
        assert_eq!(differences(&d, &existing()), (true, false));
        let mut e = existing();
        e.name = "Old".into();
        assert_eq!(differences(&desired(), &e), (true, false));
        let mut e = existing();
        e.user_id = Some("u-old".into());
        assert_eq!(differences(&desired(), &e), (false, true));
        let mut e = existing();
        e.user_id = None;
        e.contact_flow_id = None;
        assert_eq!(
            differences(&desired(), &e),
            (false, true),
            "no longer a USER quick connect"
        );
    }
}
