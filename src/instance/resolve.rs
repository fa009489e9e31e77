//! Which instance a ConnectUser's calls go to, and with whose credentials: decided before any
//! Connect call. `spec.instanceId` uses the operator's own credentials; `spec.instanceRef`
//! names an instance object, which must exist, be usable from the ConnectUser's namespace and
//! be Ready. A deletion uses what status recorded (the instance object may have been edited or
//! deleted since), and never asks the namespace selector.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::{Api, Resource, ResourceExt};

use super::crd::{
    ClusterConnectInstance, ConnectInstance, InstanceKind, InstanceObjectRef, InstanceSpecView,
    InstanceStatus, split_instance_id,
};
use super::selector;
use super::wakeups::InstanceKey;
use crate::crd::{ConnectUser, InstanceRecord};
use crate::error::{Error, Result};
use crate::model::{Access, AssumedRole, InstanceRef};

const REF: &str = "spec.instanceRef";

/// What resolution found: where to call, and what status should record about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub at: InstanceRef,
    pub record: InstanceRecord,
}

/// For a create or an update: the spec's instance, checked against what status recorded (a
/// switch between `instanceId` and `instanceRef` is accepted only when both name the same
/// instance).
pub async fn for_apply(
    client: &kube::Client,
    cu: &ConnectUser,
    default_region: Option<&str>,
) -> Result<Resolved> {
    let resolved = match &cu.spec.instance_ref {
        Some(r) => through_object(client, cu, r).await?,
        None => own(cu, default_region)?,
    };
    if let Some(recorded) = cu.status.as_ref().and_then(|s| s.instance.as_ref()) {
        let same_instance = recorded.instance_id == resolved.record.instance_id
            && recorded.region == resolved.record.region;
        let same_account = match (&recorded.account, &resolved.record.account) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if !(same_instance && same_account) {
            let field = if cu.spec.instance_ref.is_some() {
                REF
            } else {
                "spec.instanceId"
            };
            return Err(Error::invalid(
                field,
                format!(
                    "names instance {} in {} (account {}), but this user lives in instance {} in {} (account {}, status.instance); a ConnectUser cannot move: point it back, or create a new ConnectUser",
                    resolved.record.instance_id,
                    resolved.record.region,
                    resolved
                        .record
                        .account
                        .as_deref()
                        .unwrap_or("of the operator"),
                    recorded.instance_id,
                    recorded.region,
                    recorded.account.as_deref().unwrap_or("of the operator"),
                ),
            ));
        }
    }
    Ok(resolved)
}

/// For a deletion: what status recorded, when it did; else the spec's instance, without the
/// namespace selector (which gates creates and updates, never cleanup).
pub async fn for_cleanup(
    client: &kube::Client,
    cu: &ConnectUser,
    default_region: Option<&str>,
) -> Result<Resolved> {
    if let Some(recorded) = cu.status.as_ref().and_then(|s| s.instance.as_ref()) {
        return Ok(Resolved {
            at: from_record(recorded),
            record: recorded.clone(),
        });
    }
    match &cu.spec.instance_ref {
        Some(r) => {
            let (spec, status, through) = fetch(client, cu, r).await?;
            ready(&status, &through)?;
            Ok(resolved_from(&spec, &status, through))
        }
        None => own(cu, default_region),
    }
}

fn from_record(r: &InstanceRecord) -> InstanceRef {
    InstanceRef {
        region: r.region.clone(),
        instance_id: r.instance_id.clone(),
        access: Access {
            account: r.account.clone(),
            role: r.role_arn.as_ref().map(|arn| AssumedRole {
                role_arn: arn.clone(),
                external_id: r.external_id.clone(),
                session_name: r.role_session_name.clone(),
            }),
        },
    }
}

/// `spec.instanceId` with `spec.region`, else the region recorded at the first reconcile, else
/// the operator's default (which may have changed since: the record wins).
fn own(cu: &ConnectUser, default_region: Option<&str>) -> Result<Resolved> {
    let instance_id = cu.spec.instance_id.clone().ok_or_else(|| {
        Error::invalid(
            "spec.instanceId",
            "one of instanceId or instanceRef must be set",
        )
    })?;
    let status = cu.status.as_ref();
    let region = cu
        .spec
        .region
        .clone()
        .or_else(|| {
            status
                .and_then(|s| s.instance.as_ref())
                .map(|i| i.region.clone())
        })
        .or_else(|| status.and_then(|s| s.region.clone()))
        .or_else(|| default_region.map(str::to_string))
        .ok_or_else(|| {
            Error::invalid(
                "spec.region",
                "no region given and the operator has no default region (--region / AWS_REGION)",
            )
        })?;
    let at = InstanceRef::own(region.clone(), instance_id.clone());
    Ok(Resolved {
        at,
        record: InstanceRecord {
            instance_id,
            region,
            ..InstanceRecord::default()
        },
    })
}

async fn through_object(
    client: &kube::Client,
    cu: &ConnectUser,
    r: &InstanceObjectRef,
) -> Result<Resolved> {
    let namespace = cu.namespace().unwrap_or_default();
    if let Some(other) = r.namespace.as_deref().filter(|n| *n != namespace) {
        return Err(Error::InstanceNotAllowed {
            field: format!("{REF}.namespace"),
            message: format!(
                "a ConnectInstance is usable only from its own namespace: {other}/{} cannot be used from namespace {namespace} (use a ClusterConnectInstance that selects it)",
                r.name
            ),
        });
    }
    let (spec, status, through) = fetch(client, cu, r).await?;
    if r.kind == InstanceKind::ClusterConnectInstance {
        allowed_in(
            client,
            &r.name,
            spec.namespace_selector.as_ref(),
            &namespace,
        )
        .await?;
    }
    ready(&status, &through)?;
    Ok(resolved_from(&spec, &status, through))
}

/// A spec view we own (the object is dropped after fetching).
struct OwnedSpec {
    instance_id: String,
    region: String,
    role_arn: Option<String>,
    external_id: Option<String>,
    role_session_name: Option<String>,
    /// A ClusterConnectInstance's.
    namespace_selector: Option<LabelSelector>,
}

impl From<InstanceSpecView<'_>> for OwnedSpec {
    fn from(v: InstanceSpecView<'_>) -> OwnedSpec {
        OwnedSpec {
            instance_id: v.instance_id.to_string(),
            region: v.region.to_string(),
            role_arn: v.role_arn.map(str::to_string),
            external_id: v.external_id.map(str::to_string),
            role_session_name: v.role_session_name.map(str::to_string),
            namespace_selector: None,
        }
    }
}

/// The referenced object's spec and status, and how status names it (`Kind/[namespace/]name`).
async fn fetch(
    client: &kube::Client,
    cu: &ConnectUser,
    r: &InstanceObjectRef,
) -> Result<(OwnedSpec, InstanceStatus, String)> {
    let namespace = cu.namespace().unwrap_or_default();
    let not_found = |where_: String| Error::InstanceNotFound {
        field: format!("{REF}.name"),
        message: format!("no {} named {:?}{where_}", r.kind.as_str(), r.name),
    };
    let key = InstanceKey {
        kind: r.kind,
        namespace: (r.kind == InstanceKind::ConnectInstance).then(|| namespace.clone()),
        name: r.name.clone(),
    };
    match r.kind {
        InstanceKind::ConnectInstance => {
            let api: Api<ConnectInstance> = Api::namespaced(client.clone(), &namespace);
            let obj = api
                .get_opt(&r.name)
                .await?
                .ok_or_else(|| not_found(format!(" in namespace {namespace}")))?;
            Ok((
                obj.spec.view().into(),
                status_of(obj.status.clone(), obj.meta().generation),
                key.through(),
            ))
        }
        InstanceKind::ClusterConnectInstance => {
            let api: Api<ClusterConnectInstance> = Api::all(client.clone());
            let obj = api
                .get_opt(&r.name)
                .await?
                .ok_or_else(|| not_found(String::new()))?;
            let mut spec = OwnedSpec::from(obj.spec.view());
            spec.namespace_selector = obj.spec.namespace_selector.clone();
            Ok((
                spec,
                status_of(obj.status.clone(), obj.meta().generation),
                key.through(),
            ))
        }
    }
}

/// The status, with observedGeneration cleared when it is not the current generation's (an
/// edit not reconciled yet is not Ready).
fn status_of(status: Option<InstanceStatus>, generation: Option<i64>) -> InstanceStatus {
    let mut status = status.unwrap_or_default();
    if status.observed_generation != generation {
        status.conditions.clear();
    }
    status
}

fn ready(status: &InstanceStatus, through: &str) -> Result<()> {
    match status.condition("Ready") {
        Some(c) if c.status == "True" => Ok(()),
        Some(c) => Err(Error::InstanceNotReady {
            field: REF.into(),
            message: format!("{through} is not Ready: {}: {}", c.reason, c.message),
        }),
        None => Err(Error::InstanceNotReady {
            field: REF.into(),
            message: format!("{through} has not been reconciled yet"),
        }),
    }
}

fn resolved_from(spec: &OwnedSpec, status: &InstanceStatus, through: String) -> Resolved {
    let (instance_id, arn_account) = split_instance_id(&spec.instance_id);
    let account = arn_account.or_else(|| status.account.clone());
    let record = InstanceRecord {
        instance_id,
        region: spec.region.clone(),
        account,
        role_arn: spec.role_arn.clone(),
        external_id: spec.external_id.clone(),
        role_session_name: spec.role_session_name.clone(),
        through: Some(through),
    };
    Resolved {
        at: from_record(&record),
        record,
    }
}

/// A ClusterConnectInstance is usable from the namespaces its selector picks; none when it has
/// no selector.
async fn allowed_in(
    client: &kube::Client,
    name: &str,
    selector: Option<&LabelSelector>,
    namespace: &str,
) -> Result<()> {
    let Some(selector) = selector else {
        return Err(Error::InstanceNotAllowed {
            field: REF.into(),
            message: format!(
                "ClusterConnectInstance {name} has no namespaceSelector, so no namespace may use it (namespace {namespace} is not selected)"
            ),
        });
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let labels = namespaces
        .get_opt(namespace)
        .await?
        .map(|ns| ns.labels().clone())
        .unwrap_or_default();
    if selector::matches(selector, &labels) {
        Ok(())
    } else {
        Err(Error::InstanceNotAllowed {
            field: REF.into(),
            message: format!(
                "ClusterConnectInstance {name}'s namespaceSelector does not select namespace {namespace}"
            ),
        })
    }
}
