//! Paging: NextToken across pages, the last page, MaxResults bounds, ApproximateTotalCount.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_connect::types::{
    QuickConnectSearchCriteria, StringComparisonType, UserSearchCriteria,
};
use serde_json::{Value, json};

use super::super::case::{Area, Basis, Case, CaseResult, Expect, Needs, Observed, RunFn};
use super::super::cx::{Cx, string_condition, string_criteria};
use super::super::observe;
use super::super::poll::{self, Probe};
use super::run;

const PARAM: Expect = Expect::Error("InvalidParameterException");

pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Pagination, name, call, expect, basis, needs, run)
        };
    vec![
        c(
            "list-users-max-results-1",
            "ListUsers",
            Expect::Field("", json!({"items": 1, "next_token": true})),
            Documented(
                "ListUsers paginator: MaxResults limits the page, NextToken leads to the next",
            ),
            Needs::Users,
            run!(list_users_one),
        ),
        c(
            "list-users-walk",
            "ListUsers",
            Expect::Field("", json!({"fixture": ["sa", "sb", "sc"], "repeated": 0})),
            Documented(
                "ListUsers paginator: following NextToken until it is absent lists every user once",
            ),
            Needs::Users,
            run!(list_users_walk),
        ),
        c(
            "search-users-pages",
            "SearchUsers",
            Expect::Field(
                "",
                json!({"matched": ["sa", "sb", "sc"], "pages": 3, "largest_page": 1}),
            ),
            Documented(
                "SearchUsers paginator: MaxResults=1 gives one user per page, NextToken the rest",
            ),
            Needs::Users,
            run!(search_users_pages_documented),
        ),
        c(
            "search-users-no-empty-last-page",
            "SearchUsers",
            Expect::Field("/empty_pages", json!(0)),
            Undocumented(
                "a page that ends the results carries no NextToken, even when it is full (no empty page at the end)",
            ),
            Needs::Users,
            run!(search_users_pages),
        ),
        c(
            "search-users-approximate-total-count",
            "SearchUsers",
            Expect::Field("/ApproximateTotalCount", json!(3)),
            Documented(
                "SearchUsers.ApproximateTotalCount: \"The total number of users who matched your search query\", with any MaxResults",
            ),
            Needs::Users,
            run!(search_users_total),
        ),
        c(
            "search-users-max-results-500",
            "SearchUsers",
            Expect::Success,
            Documented("model: SearchUsers MaxResults 1-500"),
            Needs::Nothing,
            run!(search_users_500),
        ),
        c(
            "search-users-max-results-501",
            "SearchUsers",
            PARAM,
            Documented(
                "model: SearchUsers MaxResults 1-500; InvalidParameterException \"One or more of the specified parameters are not valid\"",
            ),
            Needs::Nothing,
            run!(search_users_501),
        ),
        c(
            "search-users-max-results-0",
            "SearchUsers",
            PARAM,
            Documented("model: SearchUsers MaxResults 1-500"),
            Needs::Nothing,
            run!(search_users_0),
        ),
        c(
            "list-users-max-results-1001",
            "ListUsers",
            PARAM,
            Documented("model: ListUsers MaxResults 1-1000"),
            Needs::Nothing,
            run!(list_users_1001),
        ),
        c(
            "search-quick-connects-max-results-101",
            "SearchQuickConnects",
            PARAM,
            Documented("model: SearchQuickConnects MaxResults 1-100"),
            Needs::Nothing,
            run!(search_quick_connects_101),
        ),
        c(
            "list-quick-connects-max-results-1001",
            "ListQuickConnects",
            PARAM,
            Documented("model: ListQuickConnects MaxResults 1-1000"),
            Needs::Nothing,
            run!(list_quick_connects_1001),
        ),
        c(
            "search-users-invalid-next-token",
            "SearchUsers",
            PARAM,
            Undocumented("a NextToken the service did not issue answers InvalidParameterException"),
            Needs::Nothing,
            run!(search_users_bad_token),
        ),
        c(
            "search-quick-connects-pages",
            "SearchQuickConnects",
            Expect::Field(
                "",
                json!({"matched": ["qa", "qb"], "pages": 2, "largest_page": 1}),
            ),
            Documented(
                "SearchQuickConnects paginator: MaxResults=1 gives one quick connect per page",
            ),
            Needs::Users,
            run!(search_quick_connects_pages),
        ),
    ]
}

async fn list_users_one(cx: Arc<Cx>) -> CaseResult {
    cx.fixture().await?;
    let r = cx
        .client()
        .list_users()
        .instance_id(cx.instance_id())
        .max_results(1)
        .send()
        .await;
    Ok(observe::result(&r, |o| {
        json!({"items": o.user_summary_list().len(), "next_token": o.next_token().is_some_and(|t| !t.is_empty())})
    })
    .into())
}

/// Every page of ListUsers (100 a page) until NextToken is absent: the fixture users seen, and
/// how many ids came twice.
async fn list_users_pages(cx: &Cx) -> Observed {
    let f = match cx.fixture().await {
        Ok(f) => f,
        Err(e) => {
            return Observed::Error {
                code: "Setup".into(),
                status: None,
                message: e.0,
            };
        }
    };
    let mut ids: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let r = cx
            .client()
            .list_users()
            .instance_id(cx.instance_id())
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await;
        match r {
            Ok(out) => {
                ids.extend(
                    out.user_summary_list()
                        .iter()
                        .filter_map(|u| u.id().map(str::to_string)),
                );
                token = out
                    .next_token()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Err(e) => return observe::error(&e),
        }
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    Observed::Success(json!({
        "fixture": f.user_labels(ids.iter().map(String::as_str)),
        "repeated": ids.len() - unique.len(),
    }))
}

async fn list_users_walk(cx: Arc<Cx>) -> CaseResult {
    // ListUsers answers from an index that may lag the creates: walk again until it shows them.
    let observed = poll::until(cx.timing(), Instant::now(), || async {
        match list_users_pages(&cx).await {
            Observed::Success(v) if v["fixture"] == json!(["sa", "sb", "sc"]) => {
                Probe::Done(Observed::Success(v))
            }
            Observed::Success(_) => Probe::Pending("absent".into()),
            other => Probe::Unexpected(other),
        }
    })
    .await;
    Ok(match observed {
        Observed::Propagated { last, .. } => (*last).into(),
        other => other.into(),
    })
}

/// Pages of a SearchUsers: ids in order, page count, the largest page, empty pages.
struct Walk {
    ids: Vec<String>,
    pages: usize,
    largest: usize,
    empty: usize,
}

async fn walk_users(cx: &Cx, criteria: UserSearchCriteria, max: i32) -> Result<Walk, Observed> {
    let mut walk = Walk {
        ids: Vec::new(),
        pages: 0,
        largest: 0,
        empty: 0,
    };
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .client()
            .search_users()
            .instance_id(cx.instance_id())
            .search_criteria(criteria.clone())
            .max_results(max)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| observe::error(&e))?;
        let n = out.users().len();
        walk.pages += 1;
        walk.largest = walk.largest.max(n);
        if n == 0 {
            walk.empty += 1;
        }
        walk.ids.extend(
            out.users()
                .iter()
                .filter_map(|u| u.id().map(str::to_string)),
        );
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() || walk.pages > 50 {
            return Ok(walk);
        }
    }
}

async fn search_users_pages(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let criteria = string_criteria("Username", StringComparisonType::StartsWith, &f.user_prefix);
    let observed = match walk_users(&cx, criteria, 1).await {
        Ok(w) => Observed::Success(json!({
            "matched": f.user_labels(w.ids.iter().map(String::as_str)),
            "pages": w.pages - w.empty,
            "largest_page": w.largest,
            "empty_pages": w.empty,
        })),
        Err(o) => o,
    };
    Ok(observed.into())
}

/// The walk without its undocumented part (whether an empty page ends it).
async fn search_users_pages_documented(cx: Arc<Cx>) -> CaseResult {
    let mut o = search_users_pages(cx).await?;
    if let Observed::Success(v) = &mut o.observed
        && let Some(m) = v.as_object_mut()
    {
        m.remove("empty_pages");
    }
    Ok(o)
}

async fn search_users_total(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let r = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .search_criteria(string_criteria(
            "Username",
            StringComparisonType::StartsWith,
            &f.user_prefix,
        ))
        .max_results(1)
        .send()
        .await;
    Ok(observe::result(
        &r,
        |o| json!({"ApproximateTotalCount": o.approximate_total_count(), "items": o.users().len()}),
    )
    .into())
}

async fn search_users_max(cx: &Cx, max: i32) -> CaseResult {
    let r = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .max_results(max)
        .send()
        .await;
    Ok(observe::result(&r, |o| json!({"items": o.users().len()})).into())
}

async fn search_users_500(cx: Arc<Cx>) -> CaseResult {
    search_users_max(&cx, 500).await
}

async fn search_users_501(cx: Arc<Cx>) -> CaseResult {
    search_users_max(&cx, 501).await
}

async fn search_users_0(cx: Arc<Cx>) -> CaseResult {
    search_users_max(&cx, 0).await
}

async fn list_users_1001(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .list_users()
        .instance_id(cx.instance_id())
        .max_results(1001)
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn search_quick_connects_101(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .search_quick_connects()
        .instance_id(cx.instance_id())
        .max_results(101)
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn list_quick_connects_1001(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .list_quick_connects()
        .instance_id(cx.instance_id())
        .max_results(1001)
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn search_users_bad_token(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .next_token("bm90LWEtdG9rZW4tdGhlLXNlcnZpY2UtaXNzdWVk")
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn search_quick_connects_pages(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let criteria = QuickConnectSearchCriteria::builder()
        .string_condition(string_condition(
            "name",
            StringComparisonType::StartsWith,
            &f.quick_connect_prefix,
        ))
        .build();
    let mut ids = Vec::new();
    let (mut pages, mut largest) = (0, 0);
    let mut token: Option<String> = None;
    loop {
        let r = cx
            .client()
            .search_quick_connects()
            .instance_id(cx.instance_id())
            .search_criteria(criteria.clone())
            .max_results(1)
            .set_next_token(token.clone())
            .send()
            .await;
        let out = match r {
            Ok(out) => out,
            Err(e) => return Ok(observe::error(&e).into()),
        };
        let n = out.quick_connects().len();
        if n > 0 {
            pages += 1;
        }
        largest = largest.max(n);
        ids.extend(
            out.quick_connects()
                .iter()
                .filter_map(|q| q.quick_connect_id().map(str::to_string)),
        );
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() || pages > 20 {
            break;
        }
    }
    Ok(Observed::Success(json!({
        "matched": f.quick_connect_labels(ids.iter().map(String::as_str)),
        "pages": pages,
        "largest_page": largest,
    }))
    .into())
}
