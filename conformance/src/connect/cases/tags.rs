//! Tag rules: the `aws:` prefix, key and value sizes and characters, 50 tags per resource, on
//! CreateUser and on TagResource, for users and quick connects.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observation, Observed, RunFn,
};
use super::super::cx::Cx;
use super::super::observe;
use super::super::poll::{self, Probe};
use super::run;

const PARAM: Expect = Expect::Error("InvalidParameterException");
const KEY: &str =
    "model: TagKey 1-128 characters, pattern ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$";
const VALUE: &str = "model: TagValue at most 256 characters";
const MAP: &str = "model: TagMap 1-50 entries";

pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Tags, name, call, expect, basis, needs, run)
        };
    vec![
        c(
            "aws-prefix-on-create",
            "CreateUser",
            PARAM,
            Documented(KEY),
            Needs::Users,
            run!(aws_prefix_on_create),
        ),
        c(
            "aws-prefix-on-tag-resource",
            "TagResource",
            PARAM,
            Documented(KEY),
            Needs::Users,
            run!(aws_prefix_on_tag_resource),
        ),
        c(
            "key-128-characters",
            "CreateUser",
            Expect::Success,
            Documented(KEY),
            Needs::Users,
            run!(key_128),
        ),
        c(
            "key-129-characters",
            "CreateUser",
            PARAM,
            Documented(KEY),
            Needs::Users,
            run!(key_129),
        ),
        c(
            "key-empty",
            "CreateUser",
            PARAM,
            Documented(KEY),
            Needs::Users,
            run!(key_empty),
        ),
        c(
            "key-characters",
            "CreateUser",
            PARAM,
            Documented(KEY),
            Needs::Users,
            run!(key_characters),
        ),
        c(
            "key-unicode-letters",
            "CreateUser",
            Expect::Success,
            Documented(KEY),
            Needs::Users,
            run!(key_unicode),
        ),
        c(
            "value-256-characters",
            "CreateUser",
            Expect::Success,
            Documented(VALUE),
            Needs::Users,
            run!(value_256),
        ),
        c(
            "value-257-characters",
            "CreateUser",
            PARAM,
            Documented(VALUE),
            Needs::Users,
            run!(value_257),
        ),
        c(
            "fifty-tags-on-create",
            "CreateUser",
            Expect::Success,
            Documented(MAP),
            Needs::Users,
            run!(fifty_tags),
        ),
        c(
            "fifty-one-tags-on-create",
            "CreateUser",
            PARAM,
            Documented(MAP),
            Needs::Users,
            run!(fifty_one_tags),
        ),
        c(
            "tag-resource-past-fifty",
            "TagResource",
            PARAM,
            Undocumented(
                "a TagResource that would leave a resource with more than 50 tags answers InvalidParameterException (AWS's tag restrictions: 50 per resource; the Connect reference does not say what is answered)",
            ),
            Needs::Users,
            run!(tag_resource_past_fifty),
        ),
        c(
            "tag-quick-connect",
            "TagResource+ListTagsForResource",
            Expect::Field("/tags/cfm-extra", json!("1")),
            Documented(
                "TagResource: \"Adds the specified tags to the specified resource\" (quick connects are taggable)",
            ),
            Needs::Users,
            run!(tag_quick_connect),
        ),
    ]
}

/// The marker plus `n - 1` tags of this run: `n` tags in all.
fn tags(cx: &Cx, n: usize) -> std::collections::HashMap<String, String> {
    let mut map: std::collections::HashMap<String, String> = (1..n)
        .map(|i| (format!("cfm-t{i:02}"), "v".to_string()))
        .collect();
    map.insert(
        crate::names::MARKER_TAG.into(),
        cx.run.names.run().to_string(),
    );
    map
}

async fn with_tag(cx: &Cx, key: &str, value: &str) -> CaseResult {
    Ok(cx
        .create_user(cx.user(&cx.username()).tags(key, value))
        .await
        .into())
}

async fn aws_prefix_on_create(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "aws:cfm", "x").await
}

async fn aws_prefix_on_tag_resource(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let r = cx
        .client()
        .tag_resource()
        .resource_arn(&f.user("sb").arn)
        .tags("aws:cfm", "x")
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn key_128(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, &super::padded("cfm-k", 128), "v").await
}

async fn key_129(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, &super::padded("cfm-k", 129), "v").await
}

async fn key_empty(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "", "v").await
}

async fn key_characters(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "cfm*key", "v").await
}

async fn key_unicode(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "cfm-caf\u{e9} 1", "v").await
}

async fn value_256(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "cfm-v", &"v".repeat(256)).await
}

async fn value_257(cx: Arc<Cx>) -> CaseResult {
    with_tag(&cx, "cfm-v", &"v".repeat(257)).await
}

async fn fifty_tags(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).set_tags(Some(tags(&cx, 50)));
    Ok(cx.create_user(b).await.into())
}

async fn fifty_one_tags(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).set_tags(Some(tags(&cx, 51)));
    Ok(cx.create_user(b).await.into())
}

async fn tag_resource_past_fifty(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).set_tags(Some(tags(&cx, 50)));
    let u = cx.setup_user(b).await?;
    cx.described(&u.id).await?;
    let r = cx
        .client()
        .tag_resource()
        .resource_arn(&u.arn)
        .tags("cfm-one-more", "v")
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn tag_quick_connect(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let qa = f.quick_connect("qa");
    let r = cx
        .client()
        .tag_resource()
        .resource_arn(&qa.arn)
        .tags("cfm-extra", "1")
        .send()
        .await;
    if let Err(e) = &r {
        return Ok(observe::error(e).into());
    }
    let observed = poll::until(cx.timing(), Instant::now(), || async {
        let r = cx
            .client()
            .list_tags_for_resource()
            .resource_arn(&qa.arn)
            .send()
            .await;
        match observe::result(&r, |o| json!({"tags": o.tags()})) {
            Observed::Success(v) if v.pointer("/tags/cfm-extra").is_some() => {
                Probe::Done(Observed::Success(v))
            }
            Observed::Success(_) => Probe::Pending("stale".into()),
            other => Probe::Unexpected(other),
        }
    })
    .await;
    Ok(match observed {
        Observed::Propagated { last, after, .. } => Observation::from(*last)
            .with_detail(format!("the tag showed after {:.3} s", after.as_secs_f64())),
        other => other.into(),
    })
}
