//! Eventual consistency: after each kind of write, how long until each kind of read (and the
//! writes that depend on it) agrees, polled until it does, with what was answered meanwhile.
//! The report prints each propagation time.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_connect::types::{QuickConnectSearchCriteria, StringComparisonType};
use serde_json::{Value, json};

use super::super::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observed, RunFn, SetupFailed,
};
use super::super::cx::{Cx, string_condition, string_criteria};
use super::super::observe;
use super::super::poll::{self, Probe};
use super::run;

const EC: &str = "API reference, \"Amazon Connect eventual consistency\": changes usually propagate in a few seconds, can take several minutes; meanwhile calls may answer ResourceNotFoundException or InvalidRequestException";
const SEARCH_LAG: &str = "Search results lag writes (AWS's SCIM sample; the eventual-consistency page); how long is not documented";
pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    use Needs::Users as U;
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Consistency, name, call, expect, basis, needs, run)
        };
    vec![
        c(
            "describe-after-create",
            "CreateUser->DescribeUser",
            Expect::Eventually(poll::NOT_YET),
            Documented(EC),
            U,
            run!(describe_after_create),
        ),
        c(
            "search-after-create",
            "CreateUser->SearchUsers",
            Expect::Eventually(&["absent"]),
            Documented(SEARCH_LAG),
            U,
            run!(search_after_create),
        ),
        c(
            "delete-right-after-create",
            "CreateUser->DeleteUser",
            Expect::Eventually(poll::NOT_YET),
            Documented(EC),
            U,
            run!(delete_right_after_create),
        ),
        c(
            "duplicate-right-after-create",
            "CreateUser->CreateUser",
            Expect::Error("DuplicateResourceException"),
            Undocumented(
                "username uniqueness is immediate: a second CreateUser of the name right after the first is refused, never a second user",
            ),
            U,
            run!(duplicate_right_after_create),
        ),
        c(
            "describe-after-update",
            "UpdateUserIdentityInfo->DescribeUser",
            Expect::Eventually(&["stale"]),
            Documented(EC),
            Needs::IdentityTypes(&["CONNECT_MANAGED", "SAML"]),
            run!(describe_after_update),
        ),
        c(
            "search-after-update",
            "UpdateUserIdentityInfo->SearchUsers",
            Expect::Eventually(&["stale"]),
            Documented(SEARCH_LAG),
            Needs::IdentityTypes(&["CONNECT_MANAGED", "SAML"]),
            run!(search_after_update),
        ),
        c(
            "describe-after-delete",
            "DeleteUser->DescribeUser",
            Expect::Eventually(&["stale"]),
            Documented(
                "Amazon Connect eventual consistency: a delete is a change like any other; DescribeUser may show the user meanwhile",
            ),
            U,
            run!(describe_after_delete),
        ),
        c(
            "search-after-delete",
            "DeleteUser->SearchUsers",
            Expect::Eventually(&["stale"]),
            Documented(SEARCH_LAG),
            U,
            run!(search_after_delete),
        ),
        c(
            "username-reuse-after-delete",
            "DeleteUser->CreateUser",
            Expect::Eventually(&["DuplicateResourceException"]),
            Undocumented(
                "a deleted user's username stays taken (DuplicateResourceException) until the deletion has shown in DescribeUser and SearchUsers",
            ),
            U,
            run!(username_reuse_after_delete),
        ),
        c(
            "quick-connect-for-new-user",
            "CreateUser->CreateQuickConnect",
            Expect::Eventually(&["ResourceNotFoundException"]),
            Undocumented(
                "CreateQuickConnect checks its target user as DescribeUser sees it: ResourceNotFoundException until the new user shows",
            ),
            U,
            run!(quick_connect_for_new_user),
        ),
        c(
            "describe-quick-connect-after-create",
            "CreateQuickConnect->DescribeQuickConnect",
            Expect::Eventually(poll::NOT_YET),
            Documented(EC),
            U,
            run!(describe_quick_connect_after_create),
        ),
        c(
            "search-quick-connect-after-create",
            "CreateQuickConnect->SearchQuickConnects",
            Expect::Eventually(&["absent"]),
            Documented(SEARCH_LAG),
            U,
            run!(search_quick_connect_after_create),
        ),
        c(
            "search-quick-connect-after-delete",
            "DeleteQuickConnect->SearchQuickConnects",
            Expect::Eventually(&["stale"]),
            Documented(SEARCH_LAG),
            U,
            run!(search_quick_connect_after_delete),
        ),
        c(
            "list-tags-after-tag-resource",
            "TagResource->ListTagsForResource",
            Expect::Eventually(&["stale"]),
            Documented(EC),
            U,
            run!(tags_after_tag),
        ),
        c(
            "list-tags-after-untag-resource",
            "UntagResource->ListTagsForResource",
            Expect::Eventually(&["stale"]),
            Documented(EC),
            U,
            run!(tags_after_untag),
        ),
    ]
}

fn setup_error(e: SetupFailed) -> Probe {
    Probe::Unexpected(Observed::Error {
        code: "Setup".into(),
        status: None,
        message: e.0,
    })
}

async fn describe(cx: &Cx, id: &str) -> Observed {
    let r = cx
        .client()
        .describe_user()
        .instance_id(cx.instance_id())
        .user_id(id)
        .send()
        .await;
    observe::result(&r, |o| o.user().map(observe::user).unwrap_or_default())
}

/// The user's summary in SearchUsers (resourceId EXACT), or `None` when it is not in the
/// results.
async fn search_one(cx: &Cx, id: &str) -> Result<Option<Value>, Observed> {
    let out = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .search_criteria(string_criteria(
            "resourceId",
            StringComparisonType::Exact,
            id,
        ))
        .send()
        .await
        .map_err(|e| observe::error(&e))?;
    Ok(out
        .users()
        .iter()
        .find(|u| u.id() == Some(id))
        .map(observe::user_summary))
}

async fn created(cx: &Cx) -> Result<(super::super::cx::UserRef, Instant), SetupFailed> {
    let u = cx.new_user().await?;
    Ok((u, Instant::now()))
}

async fn describe_after_create(cx: Arc<Cx>) -> CaseResult {
    let (u, since) = created(&cx).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match describe(&cx, &u.id).await {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, poll::NOT_YET),
        }
    })
    .await
    .into())
}

async fn search_after_create(cx: Arc<Cx>) -> CaseResult {
    let (u, since) = created(&cx).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match search_one(&cx, &u.id).await {
            Ok(Some(v)) => Probe::Done(Observed::Success(json!({"Id": v["Id"]}))),
            Ok(None) => Probe::Pending("absent".into()),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
    .into())
}

async fn delete_right_after_create(cx: Arc<Cx>) -> CaseResult {
    let (u, since) = created(&cx).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match cx.delete_user(&u.id).await {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, poll::NOT_YET),
        }
    })
    .await
    .into())
}

async fn duplicate_right_after_create(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    Ok(cx.create_user(cx.user(&u.username)).await.into())
}

async fn update_first_name(cx: &Cx, id: &str) -> Result<Instant, SetupFailed> {
    cx.client()
        .update_user_identity_info()
        .instance_id(cx.instance_id())
        .user_id(id)
        .identity_info(cx.identity().first_name("Updated").build())
        .send()
        .await
        .map_err(|e| SetupFailed(format!("UpdateUserIdentityInfo: {}", observe::error(&e))))?;
    Ok(Instant::now())
}

async fn describe_after_update(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let since = update_first_name(&cx, &u.id).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match describe(&cx, &u.id).await {
            Observed::Success(v)
                if v.pointer("/IdentityInfo/FirstName") == Some(&json!("Updated")) =>
            {
                Probe::Done(Observed::Success(json!({"FirstName": "Updated"})))
            }
            Observed::Success(_) => Probe::Pending("stale".into()),
            other => Probe::Unexpected(other),
        }
    })
    .await
    .into())
}

async fn search_after_update(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.searched(&u.id).await?;
    cx.described(&u.id).await?;
    let since = update_first_name(&cx, &u.id).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match search_one(&cx, &u.id).await {
            Ok(Some(v)) if v.pointer("/IdentityInfo/FirstName") == Some(&json!("Updated")) => {
                Probe::Done(Observed::Success(json!({"FirstName": "Updated"})))
            }
            Ok(Some(_)) => Probe::Pending("stale".into()),
            Ok(None) => Probe::Unexpected(Observed::Success(json!({"absent": true}))),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
    .into())
}

async fn describe_after_delete(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let since = cx.delete_user_when_shown(&u.id).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match describe(&cx, &u.id).await {
            Observed::Success(_) => Probe::Pending("stale".into()),
            o => match o.code() {
                Some("ResourceNotFoundException") => Probe::Done(o),
                _ => Probe::Unexpected(o),
            },
        }
    })
    .await
    .into())
}

async fn search_after_delete(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.searched(&u.id).await?;
    let since = cx.delete_user_when_shown(&u.id).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match search_one(&cx, &u.id).await {
            Ok(Some(_)) => Probe::Pending("stale".into()),
            Ok(None) => Probe::Done(Observed::Success(json!({"absent": true}))),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
    .into())
}

async fn username_reuse_after_delete(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let since = cx.delete_user_when_shown(&u.id).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match cx.create_user(cx.user(&u.username)).await {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, &["DuplicateResourceException"]),
        }
    })
    .await
    .into())
}

async fn quick_connect_for_new_user(cx: Arc<Cx>) -> CaseResult {
    let (u, since) = created(&cx).await?;
    let name = format!("{} new", cx.username());
    Ok(poll::until(cx.timing(), since, || async {
        let b = match cx.quick_connect(&name, &u.id) {
            Ok(b) => b,
            Err(e) => return setup_error(e),
        };
        match cx.create_quick_connect(b).await {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, &["ResourceNotFoundException"]),
        }
    })
    .await
    .into())
}

async fn new_quick_connect(cx: &Cx) -> Result<(String, Instant), SetupFailed> {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let name = format!("{} qc", cx.username());
    match cx
        .create_quick_connect(cx.quick_connect(&name, &u.id)?)
        .await
    {
        Observed::Success(v) => Ok((
            v["QuickConnectId"].as_str().unwrap_or_default().to_string(),
            Instant::now(),
        )),
        other => Err(SetupFailed(format!("CreateQuickConnect {name}: {other}"))),
    }
}

async fn describe_quick_connect_after_create(cx: Arc<Cx>) -> CaseResult {
    let (id, since) = new_quick_connect(&cx).await?;
    Ok(poll::until(cx.timing(), since, || async {
        let r = cx
            .client()
            .describe_quick_connect()
            .instance_id(cx.instance_id())
            .quick_connect_id(&id)
            .send()
            .await;
        match observe::result(&r, |_| json!({})) {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, poll::NOT_YET),
        }
    })
    .await
    .into())
}

async fn quick_connect_shown(cx: &Cx, id: &str) -> Result<bool, Observed> {
    let out = cx
        .client()
        .search_quick_connects()
        .instance_id(cx.instance_id())
        .search_criteria(
            QuickConnectSearchCriteria::builder()
                .string_condition(string_condition(
                    "resourceID",
                    StringComparisonType::Exact,
                    id,
                ))
                .build(),
        )
        .send()
        .await
        .map_err(|e| observe::error(&e))?;
    Ok(out
        .quick_connects()
        .iter()
        .any(|q| q.quick_connect_id() == Some(id)))
}

async fn search_quick_connect_after_create(cx: Arc<Cx>) -> CaseResult {
    let (id, since) = new_quick_connect(&cx).await?;
    Ok(poll::until(cx.timing(), since, || async {
        match quick_connect_shown(&cx, &id).await {
            Ok(true) => Probe::Done(Observed::Success(json!({"shown": true}))),
            Ok(false) => Probe::Pending("absent".into()),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
    .into())
}

async fn search_quick_connect_after_delete(cx: Arc<Cx>) -> CaseResult {
    let (id, _) = new_quick_connect(&cx).await?;
    // Shown first, in both views, so the deletion is what the polls wait for.
    let shown = poll::until(cx.timing(), Instant::now(), || async {
        match quick_connect_shown(&cx, &id).await {
            Ok(true) => Probe::Done(Observed::Success(Value::Null)),
            Ok(false) => Probe::Pending("absent".into()),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await;
    if !matches!(shown, Observed::Propagated { .. }) {
        return Err(SetupFailed(format!("SearchQuickConnects {id}: {shown}")));
    }
    let deleted = poll::until(cx.timing(), Instant::now(), || async {
        let r = cx
            .client()
            .delete_quick_connect()
            .instance_id(cx.instance_id())
            .quick_connect_id(&id)
            .send()
            .await;
        match observe::result(&r, |_| Value::Null) {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, poll::NOT_YET),
        }
    })
    .await;
    if !matches!(deleted, Observed::Propagated { .. }) {
        return Err(SetupFailed(format!("DeleteQuickConnect {id}: {deleted}")));
    }
    cx.tracker.forget(&id);
    let since = Instant::now();
    Ok(poll::until(cx.timing(), since, || async {
        match quick_connect_shown(&cx, &id).await {
            Ok(true) => Probe::Pending("stale".into()),
            Ok(false) => Probe::Done(Observed::Success(json!({"absent": true}))),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
    .into())
}

async fn tags_shown(cx: &Cx, arn: &str, key: &str) -> Result<bool, Observed> {
    let out = cx
        .client()
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| observe::error(&e))?;
    Ok(out.tags().is_some_and(|t| t.contains_key(key)))
}

async fn tag(cx: &Cx, arn: &str) -> Result<Instant, SetupFailed> {
    cx.client()
        .tag_resource()
        .resource_arn(arn)
        .tags("cfm-consistency", "1")
        .send()
        .await
        .map_err(|e| SetupFailed(format!("TagResource: {}", observe::error(&e))))?;
    Ok(Instant::now())
}

async fn wait_tag(cx: &Cx, arn: &str, since: Instant, present: bool) -> Observed {
    poll::until(cx.timing(), since, || async {
        match tags_shown(cx, arn, "cfm-consistency").await {
            Ok(shown) if shown == present => {
                Probe::Done(Observed::Success(json!({"cfm-consistency": present})))
            }
            Ok(_) => Probe::Pending("stale".into()),
            Err(o) => Probe::Unexpected(o),
        }
    })
    .await
}

async fn tags_after_tag(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let since = tag(&cx, &u.arn).await?;
    Ok(wait_tag(&cx, &u.arn, since, true).await.into())
}

async fn tags_after_untag(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let since = tag(&cx, &u.arn).await?;
    if !matches!(
        wait_tag(&cx, &u.arn, since, true).await,
        Observed::Propagated { .. }
    ) {
        return Err(SetupFailed("the tag did not show".into()));
    }
    cx.client()
        .untag_resource()
        .resource_arn(&u.arn)
        .tag_keys("cfm-consistency")
        .send()
        .await
        .map_err(|e| SetupFailed(format!("UntagResource: {}", observe::error(&e))))?;
    let since = Instant::now();
    Ok(wait_tag(&cx, &u.arn, since, false).await.into())
}
