//! `spec.quickConnect`: the USER quick connect the operator keeps for a user. Created after the
//! user, tagged with the resource's UID, renamed / retargeted with exactly the matching update
//! call, deleted when the field is removed (and, like every quick connect to the user, by the
//! deletion cleanup).

use crate::controller::Context;
use crate::crd::{ConnectUser, OWNER_TAG, QuickConnectSpec};
use crate::error::{Error, Result};
use crate::model::{DesiredQuickConnect, InstanceRef, ManagedQuickConnect};

use super::{publish, resolve};

/// The quick connect id to record, and what was changed (for the Ready condition).
pub struct Outcome {
    pub id: Option<String>,
    pub changes: Vec<&'static str>,
}

/// Brings the managed quick connect in line. `full` = this pass compared the user with
/// DescribeUser; a quick connect already recorded is only checked on such passes, so the
/// steady state costs one DescribeQuickConnect per full describe, nothing in between.
pub async fn sync(
    cu: &ConnectUser,
    ctx: &Context,
    at: &InstanceRef,
    uid: &str,
    user_id: &str,
    full: bool,
) -> Result<Outcome> {
    let recorded = cu.status.as_ref().and_then(|s| s.quick_connect_id.clone());
    let Some(spec) = &cu.spec.quick_connect else {
        if let Some(id) = recorded {
            ctx.connect.delete_quick_connect(at, &id).await?;
            publish(
                ctx,
                cu,
                false,
                "QuickConnectDeleted",
                format!("Deleted quick connect {id}: spec.quickConnect was removed"),
            )
            .await;
            return Ok(Outcome {
                id: None,
                changes: vec!["quickConnect"],
            });
        }
        return Ok(Outcome {
            id: None,
            changes: Vec::new(),
        });
    };
    if !full && recorded.is_some() {
        return Ok(Outcome {
            id: recorded,
            changes: Vec::new(),
        });
    }
    let desired = desired(ctx, at, spec, user_id).await?;
    let existing = match &recorded {
        Some(id) => ctx.connect.describe_managed_quick_connect(at, id).await?,
        None => None,
    };
    let existing = match existing {
        Some(qc) => Some(qc),
        // Not recorded (or gone): one we created before a crash carries our tag and its name.
        None => match ctx
            .connect
            .find_quick_connect_by_name(at, &desired.name)
            .await?
        {
            Some(qc) if qc.tags.get(OWNER_TAG).map(String::as_str) == Some(uid) => Some(qc),
            Some(qc) => {
                return Err(Error::Conflict(format!(
                    "spec.quickConnect.name: a quick connect named {:?} already exists ({}) and is not managed by this resource",
                    desired.name, qc.id
                )));
            }
            None => None,
        },
    };
    let Some(existing) = existing else {
        let tags = [(OWNER_TAG.to_string(), uid.to_string())].into();
        let id = ctx
            .connect
            .create_user_quick_connect(at, &desired, tags)
            .await?;
        publish(
            ctx,
            cu,
            false,
            "QuickConnectCreated",
            format!(
                "Created quick connect {:?} ({id}) to this user",
                desired.name
            ),
        )
        .await;
        return Ok(Outcome {
            id: Some(id),
            changes: vec!["quickConnect"],
        });
    };
    let mut changes = Vec::new();
    let (rename, retarget) = differences(&desired, &existing);
    if rename {
        ctx.connect
            .update_quick_connect_name(
                at,
                &existing.id,
                &desired.name,
                desired.description.as_deref(),
            )
            .await?;
        changes.push("quickConnect");
    }
    if retarget {
        ctx.connect
            .update_quick_connect_target(at, &existing.id, user_id, &desired.contact_flow_id)
            .await?;
        changes.push("quickConnect");
    }
    changes.dedup();
    Ok(Outcome {
        id: Some(existing.id),
        changes,
    })
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
