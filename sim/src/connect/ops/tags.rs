//! TagResource, UntagResource, ListTagsForResource on user and quick connect ARNs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::super::arn;
use super::super::errors::{ApiError, ApiResult};
use super::super::state::State;
use super::{Ctx, Outcome};

/// The tagged resource named by the `{resourceArn}` label.
struct Tagged<'s> {
    tags: &'s mut BTreeMap<String, String>,
    last_modified: &'s mut DateTime<Utc>,
    last_modified_region: &'s mut String,
}

impl Tagged<'_> {
    fn touch(&mut self, region: &str) {
        *self.last_modified = Utc::now();
        *self.last_modified_region = region.to_string();
    }
}

fn resource<'s>(ctx: &Ctx, state: &'s mut State) -> ApiResult<Tagged<'s>> {
    let raw = ctx.labels.first().map(String::as_str).unwrap_or_default();
    let Some(parsed) = arn::parse(raw) else {
        return Err(ApiError::invalid_parameter(format!(
            "Value at 'resourceArn' is not a valid Connect ARN: {raw}"
        )));
    };
    let not_found = || ApiError::not_found(format!("Resource not found: {raw}"));
    // Another account's ARN was denied at the front door; one of a Region that does not serve
    // the instance (its own or a replica's) names nothing this endpoint serves.
    let instance = state.instance_in_mut(&parsed.instance_id, ctx.region())?;
    if parsed.account != instance.account || !instance.serves(&parsed.region) {
        return Err(not_found());
    }
    let id = parsed.id.as_deref().unwrap_or_default();
    match parsed.kind.as_deref() {
        Some(arn::AGENT) => {
            let u = instance.user_mut(id).ok_or_else(not_found)?;
            Ok(Tagged {
                tags: &mut u.tags,
                last_modified: &mut u.last_modified,
                last_modified_region: &mut u.last_modified_region,
            })
        }
        Some(arn::TRANSFER_DESTINATION) => {
            let q = instance.quick_connect_mut(id).ok_or_else(not_found)?;
            Ok(Tagged {
                tags: &mut q.tags,
                last_modified: &mut q.last_modified,
                last_modified_region: &mut q.last_modified_region,
            })
        }
        _ => Err(ApiError::invalid_request(format!(
            "The emulator tags users and quick connects only, not {raw}"
        ))),
    }
}

pub fn tag(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let given = ctx.body.opt_str_map("tags")?.unwrap_or_default();
    let mut r = resource(ctx, state)?;
    let after = r
        .tags
        .keys()
        .chain(given.keys())
        .collect::<BTreeSet<_>>()
        .len();
    if after > 50 {
        return Err(ApiError::invalid_parameter(format!(
            "'tags': a resource can have at most 50 tags; this request would leave {after}"
        )));
    }
    r.tags.extend(given);
    r.touch(ctx.region());
    Ok(Outcome::write())
}

pub fn untag(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let keys = ctx.query.all("tagKeys");
    let mut r = resource(ctx, state)?;
    for k in keys {
        r.tags.remove(k);
    }
    r.touch(ctx.region());
    Ok(Outcome::write())
}

pub fn list(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let tags = resource(ctx, state)?.tags.clone();
    Ok(Outcome::read(json!({ "tags": tags })))
}
