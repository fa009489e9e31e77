//! The error types the operator relies on: NotFound, Duplicate, Throttling, LimitExceeded,
//! InvalidParameter and InvalidRequest, each where Connect answers it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;

use super::super::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observation, Observed, RunFn,
};
use super::super::cx::Cx;
use super::super::observe;
use super::run;

const NOT_FOUND: Expect = Expect::Error("ResourceNotFoundException");
const NOT_FOUND_DOC: &str =
    "API reference: ResourceNotFoundException, \"The specified resource was not found\"";
const UNKNOWN_ID: &str = "0c0f0f00-0000-4000-8000-00000000dead";

pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Errors, name, call, expect, basis, needs, run)
        };
    vec![
        c(
            "describe-user-unknown-id",
            "DescribeUser",
            NOT_FOUND,
            Documented(NOT_FOUND_DOC),
            Needs::Nothing,
            run!(describe_unknown_user),
        ),
        c(
            "delete-user-unknown-id",
            "DeleteUser",
            NOT_FOUND,
            Documented(NOT_FOUND_DOC),
            Needs::Nothing,
            run!(delete_unknown_user),
        ),
        c(
            "describe-quick-connect-unknown-id",
            "DescribeQuickConnect",
            NOT_FOUND,
            Documented(NOT_FOUND_DOC),
            Needs::Nothing,
            run!(describe_unknown_quick_connect),
        ),
        c(
            "delete-quick-connect-unknown-id",
            "DeleteQuickConnect",
            NOT_FOUND,
            Documented(NOT_FOUND_DOC),
            Needs::Nothing,
            run!(delete_unknown_quick_connect),
        ),
        c(
            "unknown-instance",
            "DescribeUser",
            NOT_FOUND,
            Undocumented(
                "an unknown InstanceId answers ResourceNotFoundException on every operation (an IAM policy scoped to instance ARNs answers AccessDeniedException first)",
            ),
            Needs::Nothing,
            run!(unknown_instance),
        ),
        c(
            "duplicate-username",
            "CreateUser",
            Expect::Error("DuplicateResourceException"),
            Documented(
                "CreateUser: DuplicateResourceException, \"A resource with the specified name already exists\"",
            ),
            Needs::Users,
            run!(duplicate_username),
        ),
        c(
            "duplicate-username-other-case",
            "CreateUser",
            Expect::Success,
            Undocumented(
                "usernames are unique case-sensitively: a username differing only in case is another user",
            ),
            Needs::Users,
            run!(duplicate_username_other_case),
        ),
        c(
            "duplicate-quick-connect-name",
            "CreateQuickConnect",
            Expect::Error("DuplicateResourceException"),
            Documented(
                "CreateQuickConnect: DuplicateResourceException, \"A resource with the specified name already exists\"",
            ),
            Needs::Users,
            run!(duplicate_quick_connect_name),
        ),
        c(
            "routing-profile-unknown",
            "CreateUser",
            NOT_FOUND,
            Undocumented(
                "a well-formed routing profile id that names nothing answers ResourceNotFoundException",
            ),
            Needs::Users,
            run!(routing_profile_unknown),
        ),
        c(
            "routing-profile-malformed",
            "CreateUser",
            Expect::Error("InvalidParameterException"),
            Undocumented(
                "a routing profile id that is not an id at all answers InvalidParameterException",
            ),
            Needs::Users,
            run!(routing_profile_malformed),
        ),
        c(
            "security-profile-unknown",
            "CreateUser",
            NOT_FOUND,
            Undocumented(
                "a well-formed security profile id that names nothing answers ResourceNotFoundException",
            ),
            Needs::Users,
            run!(security_profile_unknown),
        ),
        c(
            "update-quick-connect-name-empty",
            "UpdateQuickConnectName",
            Expect::Error("InvalidRequestException"),
            Undocumented(
                "UpdateQuickConnectName with neither Name nor Description answers InvalidRequestException (the model makes both optional)",
            ),
            Needs::Users,
            run!(update_quick_connect_name_empty),
        ),
        c(
            "update-user-config-empty",
            "UpdateUserConfig",
            Expect::Error("InvalidRequestException"),
            Undocumented(
                "UpdateUserConfig without any per-channel list answers InvalidRequestException (the model makes each optional)",
            ),
            Needs::Users,
            run!(update_user_config_empty),
        ),
        c(
            "throttling",
            "ListSecurityProfiles",
            Expect::Error("ThrottlingException"),
            Documented(
                "Connect service quotas: API requests are throttled per account and Region (2/s, burst 5 by default); ThrottlingException, HTTP 429",
            ),
            Needs::Nothing,
            run!(throttling),
        ),
        c(
            "limit-exceeded-users",
            "CreateUser",
            Expect::Error("LimitExceededException"),
            Documented(
                "CreateUser: LimitExceededException, \"The allowed limit for the resource has been exceeded\" (users per instance)",
            ),
            Needs::QuotaFill,
            run!(limit_exceeded_users),
        ),
        c(
            "limit-exceeded-quick-connects",
            "CreateQuickConnect",
            Expect::Error("LimitExceededException"),
            Documented("CreateQuickConnect: LimitExceededException (quick connects per instance)"),
            Needs::QuotaFill,
            run!(limit_exceeded_quick_connects),
        ),
    ]
}

async fn describe_unknown_user(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .describe_user()
        .instance_id(cx.instance_id())
        .user_id(UNKNOWN_ID)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

async fn delete_unknown_user(cx: Arc<Cx>) -> CaseResult {
    Ok(cx.delete_user(UNKNOWN_ID).await.into())
}

async fn describe_unknown_quick_connect(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .describe_quick_connect()
        .instance_id(cx.instance_id())
        .quick_connect_id(UNKNOWN_ID)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

async fn delete_unknown_quick_connect(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .delete_quick_connect()
        .instance_id(cx.instance_id())
        .quick_connect_id(UNKNOWN_ID)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

async fn unknown_instance(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .describe_user()
        .instance_id("0c0f0f00-0000-4000-8000-0000000000aa")
        .user_id(UNKNOWN_ID)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

async fn duplicate_username(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    Ok(cx.create_user(cx.user(&u.username)).await.into())
}

async fn duplicate_username_other_case(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let upper = u.username.to_uppercase();
    Ok(Observation::from(cx.create_user(cx.user(&upper)).await)
        .with_detail(format!("{} after {}", upper, u.username)))
}

async fn duplicate_quick_connect_name(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let name = format!("{} dup", cx.username());
    cx.setup_quick_connect_when_user_shows(&name, &u.id, &cx.tracker, |b| b)
        .await?;
    Ok(cx
        .create_quick_connect(cx.quick_connect(&name, &u.id)?)
        .await
        .into())
}

async fn routing_profile_unknown(cx: Arc<Cx>) -> CaseResult {
    Ok(cx
        .create_user(cx.user(&cx.username()).routing_profile_id(UNKNOWN_ID))
        .await
        .into())
}

async fn routing_profile_malformed(cx: Arc<Cx>) -> CaseResult {
    Ok(cx
        .create_user(
            cx.user(&cx.username())
                .routing_profile_id("not-a-routing-profile"),
        )
        .await
        .into())
}

async fn security_profile_unknown(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .set_security_profile_ids(Some(vec![UNKNOWN_ID.to_string()]));
    Ok(cx.create_user(b).await.into())
}

async fn update_quick_connect_name_empty(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let r = cx
        .client()
        .update_quick_connect_name()
        .instance_id(cx.instance_id())
        .quick_connect_id(&f.quick_connect("qa").id)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

async fn update_user_config_empty(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let r = cx
        .client()
        .update_user_config()
        .instance_id(cx.instance_id())
        .user_id(&f.user("sa").id)
        .send()
        .await;
    Ok(observe::result(&r, |_| json!({})).into())
}

/// Waves of concurrent calls without retries until one is throttled, each wave twice the last
/// (10, 20, 40...): on Connect the first wave passes its burst of 5; on the emulator a wave
/// soon outruns its scaled bucket, however slowly the machine answers.
async fn throttling(cx: Arc<Cx>) -> CaseResult {
    const MAX_CALLS: usize = 400;
    let started = Instant::now();
    let mut calls = 0;
    let mut wave = 10;
    while calls < MAX_CALLS {
        let requests = (0..wave).map(|_| {
            cx.run
                .raw
                .list_security_profiles()
                .instance_id(cx.instance_id())
                .max_results(1)
                .send()
        });
        let results = join_all(requests).await;
        calls += wave;
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            return Ok(Observation::from(observe::error(e)).with_detail(format!(
                "first throttled within {calls} calls, {:.2} s",
                started.elapsed().as_secs_f64()
            )));
        }
        wave = (wave * 2).min(100);
    }
    Ok(
        Observation::from(Observed::Success(json!({"calls": calls}))).with_detail(format!(
            "{calls} calls in {:.1} s, none throttled",
            started.elapsed().as_secs_f64()
        )),
    )
}

/// Creates with the client that does not retry (the SDK retries LimitExceededException as a
/// throttle), until the quota answers or the cap is spent.
async fn fill<F, Fut>(cx: &Cx, what: &str, mut create: F) -> CaseResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Observed>,
{
    let cap = cx.run.quota_fill_cap.unwrap_or(0);
    let mut created = 0;
    while created < cap {
        match create().await {
            Observed::Success(_) => created += 1,
            Observed::Error { ref code, .. } if code == "ThrottlingException" => {
                tokio::time::sleep(cx.timing().poll.max(Duration::from_millis(500))).await;
            }
            other => {
                return Ok(Observation::from(other)
                    .with_detail(format!("after creating {created} {what}")));
            }
        }
    }
    Ok(
        Observation::from(Observed::Success(json!({"created": created})))
            .with_detail(format!("the quota was not reached within {cap} {what}")),
    )
}

async fn limit_exceeded_users(cx: Arc<Cx>) -> CaseResult {
    fill(&cx, "users", || async {
        let b = cx.user_on(&cx.run.raw, &cx.username());
        cx.create_user(b).await
    })
    .await
}

async fn limit_exceeded_quick_connects(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    let target = u.id.clone();
    fill(&cx, "quick connects", || {
        let target = target.clone();
        let cx = cx.clone();
        async move {
            let name = format!("{} fill", cx.username());
            match cx.quick_connect_on(&cx.run.raw, &name, &target) {
                Ok(b) => cx.create_quick_connect(b).await,
                Err(e) => Observed::Error {
                    code: "Setup".into(),
                    status: None,
                    message: e.0,
                },
            }
        }
    })
    .await
}
