//! Accounts at the front door: a caller sees only its own account's instances.
//!
//! - An instance id (URI label or `InstanceId` member) is looked up in the caller's account, as
//!   Connect does: another account's instance is ResourceNotFoundException, exactly like an id
//!   that names nothing (the answer does not reveal that it exists elsewhere).
//! - A resource ARN (the tags API) names its account. IAM authorizes the action on that ARN
//!   before Connect reads it, and Connect has no resource-based policies, so another account's
//!   ARN is always AccessDeniedException, whether the resource exists or not; this is what an
//!   operator sees when it signs with the wrong account's credentials for a stored ARN.

use super::arn;
use super::errors::{ApiError, ApiResult};
use super::routing::Operation;
use super::state::{State, instance_not_found};
use super::wire::Caller;

/// IAM's decision, before quotas and validation: another account's ARN is denied.
pub fn authorize(op: Operation, labels: &[String], caller: &Caller) -> ApiResult<()> {
    use Operation::*;
    if !matches!(op, TagResource | UntagResource | ListTagsForResource) {
        return Ok(());
    }
    let Some(parsed) = labels.first().and_then(|l| arn::parse(l)) else {
        // Not an ARN: the operation says so.
        return Ok(());
    };
    if parsed.account == caller.account {
        return Ok(());
    }
    Err(ApiError::access_denied(format!(
        "User: {} is not authorized to perform: connect:{} on resource: {}",
        caller.principal_arn,
        op.name(),
        labels[0]
    )))
}

/// Connect's lookup: an instance of another account is not found.
pub fn check_instance(instance_id: Option<&str>, caller: &Caller, state: &State) -> ApiResult<()> {
    match instance_id.and_then(|id| state.instance(id)) {
        Some(i) if i.account != caller.account => Err(instance_not_found(&i.id)),
        _ => Ok(()),
    }
}
