//! Search semantics: SearchUsers and SearchQuickConnects criteria (exact, starts-with,
//! contains, And/Or, the supported fields), tag filters and the user attribute filter, and
//! ListQuickConnects' type filter. Every case searches the shared fixture; results are
//! narrowed to the fixture's members (a sandbox has users of its own).

use std::sync::Arc;

use aws_sdk_connect::types::{
    AttributeAndCondition, ControlPlaneTagFilter, ControlPlaneUserAttributeFilter,
    HierarchyGroupCondition, HierarchyGroupMatchType, QuickConnectSearchCriteria,
    QuickConnectSearchFilter, QuickConnectType, StringComparisonType, TagCondition,
    UserSearchCriteria, UserSearchFilter,
};
use serde_json::{Value, json};

use super::super::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observed, RunFn, SetupFailed,
};
use super::super::cx::{Cx, string_condition, string_criteria};
use super::super::fixtures::{COLOR, SearchFixture, TEAM};
use super::super::observe;
use super::run;

const PARAM: Expect = Expect::Error("InvalidParameterException");
const FIELDS: &str = "UserSearchCriteria.StringCondition: FieldName Username, FirstName, LastName, RoutingProfileId, SecurityProfileId, resourceId; ComparisonType STARTS_WITH, CONTAINS, EXACT";
const QC_FIELDS: &str =
    "QuickConnectSearchCriteria.StringCondition: FieldName name, description, resourceID";
const TAG_FILTER: &str = "ControlPlaneTagFilter: an OR of ANDs of tag conditions (key and value)";
const ATTRIBUTE_FILTER: &str = "ControlPlaneUserAttributeFilter: tag or hierarchy-group conditions; \"Only one field can be populated\"";

fn users(labels: &[&str]) -> Expect {
    Expect::Field("/matched", json!(labels))
}

pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    use Needs::Users as U;
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Search, name, call, expect, basis, needs, run)
        };
    let s = "SearchUsers";
    let q = "SearchQuickConnects";
    vec![
        c(
            "username-exact",
            s,
            users(&["sa"]),
            Documented(FIELDS),
            U,
            run!(username_exact),
        ),
        c(
            "username-exact-other-case",
            s,
            users(&["sa"]),
            Undocumented(
                "Username, FirstName and LastName match case-insensitively (as a search index does); ids exactly",
            ),
            U,
            run!(username_exact_other_case),
        ),
        c(
            "username-starts-with",
            s,
            users(&["sa", "sb", "sc"]),
            Documented(FIELDS),
            U,
            run!(username_starts_with),
        ),
        c(
            "username-contains",
            s,
            users(&["sb"]),
            Documented(
                "UserSearchCriteria: \"contains\" queries with a minimum of 2 characters and a maximum of 25",
            ),
            U,
            run!(username_contains),
        ),
        c(
            "contains-one-character",
            s,
            users(&[]),
            Undocumented(
                "a CONTAINS value outside 2-25 characters matches nothing, on every field (the note names name and description and says such queries \"throw invalid results\")",
            ),
            U,
            run!(contains_one_character),
        ),
        c(
            "first-name-exact",
            s,
            users(&["sa"]),
            Documented(FIELDS),
            U,
            run!(first_name_exact),
        ),
        c(
            "last-name-starts-with",
            s,
            users(&["sc"]),
            Documented(FIELDS),
            U,
            run!(last_name_starts_with),
        ),
        c(
            "resource-id-exact",
            s,
            users(&["sb"]),
            Documented(FIELDS),
            U,
            run!(resource_id_exact),
        ),
        c(
            "resource-id-other-case",
            s,
            users(&[]),
            Undocumented(
                "resourceId, RoutingProfileId and SecurityProfileId match exactly (case-sensitively)",
            ),
            U,
            run!(resource_id_other_case),
        ),
        c(
            "or-conditions",
            s,
            users(&["sa", "sc"]),
            Documented(
                "UserSearchCriteria.OrConditions: \"applied together with an OR condition\"",
            ),
            U,
            run!(or_conditions),
        ),
        c(
            "and-conditions",
            s,
            users(&["sb"]),
            Documented(
                "UserSearchCriteria.AndConditions: \"applied together with an AND condition\"",
            ),
            U,
            run!(and_conditions),
        ),
        c(
            "routing-profile-id",
            s,
            users(&["sa", "sb", "sc"]),
            Documented(FIELDS),
            U,
            run!(routing_profile_id),
        ),
        c(
            "security-profile-id",
            s,
            users(&["sa", "sb", "sc"]),
            Documented(FIELDS),
            U,
            run!(security_profile_id),
        ),
        c(
            "hierarchy-group-condition",
            s,
            users(&["sc"]),
            Documented("UserSearchCriteria.HierarchyGroupCondition"),
            Needs::HierarchyGroup,
            run!(hierarchy_group_condition),
        ),
        c(
            "unsupported-field",
            s,
            PARAM,
            Undocumented(
                "a FieldName outside the documented list answers InvalidParameterException",
            ),
            Needs::Nothing,
            run!(unsupported_field),
        ),
        c(
            "tag-filter-condition",
            s,
            users(&["sa", "sc"]),
            Documented(TAG_FILTER),
            U,
            run!(tag_filter_condition),
        ),
        c(
            "tag-filter-and",
            s,
            users(&["sc"]),
            Documented(TAG_FILTER),
            U,
            run!(tag_filter_and),
        ),
        c(
            "tag-filter-or",
            s,
            users(&["sb", "sc"]),
            Documented(TAG_FILTER),
            U,
            run!(tag_filter_or),
        ),
        c(
            "tag-filter-key-only",
            s,
            users(&["sa", "sb", "sc"]),
            Undocumented(
                "a TagCondition without TagValue matches every resource that has the key, whatever its value",
            ),
            U,
            run!(tag_filter_key_only),
        ),
        c(
            "attribute-filter-tag",
            s,
            users(&["sa", "sb"]),
            Documented(ATTRIBUTE_FILTER),
            U,
            run!(attribute_filter_tag),
        ),
        c(
            "attribute-filter-and",
            s,
            users(&["sa"]),
            Documented(ATTRIBUTE_FILTER),
            U,
            run!(attribute_filter_and),
        ),
        c(
            "attribute-filter-hierarchy-group",
            s,
            users(&["sc"]),
            Documented(ATTRIBUTE_FILTER),
            Needs::HierarchyGroup,
            run!(attribute_filter_hierarchy),
        ),
        c(
            "attribute-filter-two-members",
            s,
            PARAM,
            Undocumented(
                "a UserAttributeFilter with two members set (\"Only one field can be populated\") answers InvalidParameterException",
            ),
            Needs::Nothing,
            run!(attribute_filter_two_members),
        ),
        c(
            "tag-filter-with-attribute-filter",
            s,
            Expect::Error("AccessDeniedException"),
            Documented(
                "UserSearchFilter.UserAttributeFilter: \"combination of both is not supported and such request will throw AccessDeniedException\"",
            ),
            Needs::Nothing,
            run!(tag_and_attribute_filter),
        ),
        c(
            "quick-connect-name-exact",
            q,
            qcs(&["qa"]),
            Documented(QC_FIELDS),
            U,
            run!(qc_name_exact),
        ),
        c(
            "quick-connect-name-starts-with",
            q,
            qcs(&["qa", "qb"]),
            Documented(QC_FIELDS),
            U,
            run!(qc_name_starts_with),
        ),
        c(
            "quick-connect-description-contains",
            q,
            qcs(&["qb"]),
            Documented(QC_FIELDS),
            U,
            run!(qc_description_contains),
        ),
        c(
            "quick-connect-resource-id",
            q,
            qcs(&["qb"]),
            Documented(QC_FIELDS),
            U,
            run!(qc_resource_id),
        ),
        c(
            "quick-connect-tag-filter",
            q,
            qcs(&["qa"]),
            Documented("QuickConnectSearchFilter.TagFilter (ControlPlaneTagFilter)"),
            U,
            run!(qc_tag_filter),
        ),
        c(
            "quick-connect-unsupported-field",
            q,
            PARAM,
            Undocumented(
                "a FieldName outside name, description, resourceID answers InvalidParameterException",
            ),
            Needs::Nothing,
            run!(qc_unsupported_field),
        ),
        c(
            "quick-connect-results-name-the-user",
            q,
            Expect::Field("/UserId", json!("sa")),
            Documented(
                "SearchQuickConnects returns whole QuickConnects, QuickConnectConfig.UserConfig.UserId included",
            ),
            U,
            run!(qc_results_name_user),
        ),
        c(
            "list-quick-connects-type-user",
            "ListQuickConnects",
            qcs(&["qa", "qb"]),
            Documented("ListQuickConnects.QuickConnectTypes: the types to list"),
            U,
            run!(list_type_user),
        ),
        c(
            "list-quick-connects-type-queue",
            "ListQuickConnects",
            qcs(&[]),
            Documented("ListQuickConnects.QuickConnectTypes: the types to list"),
            U,
            run!(list_type_queue),
        ),
    ]
}

fn qcs(labels: &[&str]) -> Expect {
    Expect::Field("/matched", json!(labels))
}

fn tag(key: &str, value: Option<String>) -> TagCondition {
    TagCondition::builder()
        .tag_key(key)
        .set_tag_value(value)
        .build()
}

fn exact(field: &str, value: &str) -> UserSearchCriteria {
    string_criteria(field, StringComparisonType::Exact, value)
}

fn starts(f: &SearchFixture) -> UserSearchCriteria {
    string_criteria("Username", StringComparisonType::StartsWith, &f.user_prefix)
}

/// Every page of a SearchUsers, narrowed to the fixture: `{"matched": [labels]}`.
async fn search(
    cx: &Cx,
    f: &SearchFixture,
    criteria: Option<UserSearchCriteria>,
    filter: Option<UserSearchFilter>,
) -> CaseResult {
    let items = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .set_search_criteria(criteria)
        .set_search_filter(filter)
        .max_results(500)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    Ok(match items {
        Ok(users) => Observed::Success(json!({
            "matched": f.user_labels(users.iter().filter_map(|u| u.id())),
        })),
        Err(e) => observe::error(&e),
    }
    .into())
}

/// A search whose answer is the call under test, not the fixture's (an error).
async fn search_raw(
    cx: &Cx,
    criteria: Option<UserSearchCriteria>,
    filter: Option<UserSearchFilter>,
) -> CaseResult {
    let r = cx
        .client()
        .search_users()
        .instance_id(cx.instance_id())
        .set_search_criteria(criteria)
        .set_search_filter(filter)
        .send()
        .await;
    Ok(observe::result(&r, |o| json!({"items": o.users().len()})).into())
}

async fn criteria(cx: &Cx, make: impl FnOnce(&SearchFixture) -> UserSearchCriteria) -> CaseResult {
    let f = cx.fixture().await?;
    search(cx, &f, Some(make(&f)), None).await
}

async fn filtered(cx: &Cx, make: impl FnOnce(&SearchFixture) -> UserSearchFilter) -> CaseResult {
    let f = cx.fixture().await?;
    search(cx, &f, None, Some(make(&f))).await
}

async fn username_exact(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| exact("Username", &f.user("sa").username)).await
}

async fn username_exact_other_case(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| {
        exact("Username", &f.user("sa").username.to_uppercase())
    })
    .await
}

async fn username_starts_with(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, starts).await
}

async fn username_contains(cx: Arc<Cx>) -> CaseResult {
    // `<run>-sb`: inside the username, neither its start nor the whole.
    criteria(&cx, |f| {
        let name = &f.user("sb").username;
        string_criteria(
            "Username",
            StringComparisonType::Contains,
            &name[crate::names::PREFIX.len()..],
        )
    })
    .await
}

async fn contains_one_character(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |_| {
        string_criteria("Username", StringComparisonType::Contains, "b")
    })
    .await
}

async fn first_name_exact(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |_| exact("FirstName", "Grace")).await
}

async fn last_name_starts_with(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |_| {
        string_criteria("LastName", StringComparisonType::StartsWith, "Lov")
    })
    .await
}

async fn resource_id_exact(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| exact("resourceId", &f.user("sb").id)).await
}

async fn resource_id_other_case(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| {
        exact("resourceId", &f.user("sb").id.to_uppercase())
    })
    .await
}

async fn or_conditions(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| {
        UserSearchCriteria::builder()
            .or_conditions(exact("Username", &f.user("sa").username))
            .or_conditions(exact("Username", &f.user("sc").username))
            .build()
    })
    .await
}

async fn and_conditions(cx: Arc<Cx>) -> CaseResult {
    criteria(&cx, |f| {
        UserSearchCriteria::builder()
            .and_conditions(starts(f))
            .and_conditions(exact("FirstName", "Alan"))
            .build()
    })
    .await
}

async fn routing_profile_id(cx: Arc<Cx>) -> CaseResult {
    let id = cx.instance().routing_profile.id.clone();
    criteria(&cx, |f| {
        UserSearchCriteria::builder()
            .and_conditions(starts(f))
            .and_conditions(exact("RoutingProfileId", &id))
            .build()
    })
    .await
}

async fn security_profile_id(cx: Arc<Cx>) -> CaseResult {
    let id = cx.instance().security_profile.id.clone();
    criteria(&cx, |f| {
        UserSearchCriteria::builder()
            .and_conditions(starts(f))
            .and_conditions(exact("SecurityProfileId", &id))
            .build()
    })
    .await
}

fn group_condition(id: &str) -> HierarchyGroupCondition {
    HierarchyGroupCondition::builder()
        .value(id)
        .hierarchy_group_match_type(HierarchyGroupMatchType::Exact)
        .build()
}

fn group_id(cx: &Cx) -> Result<String, SetupFailed> {
    cx.instance()
        .hierarchy_group
        .as_ref()
        .map(|g| g.id.clone())
        .ok_or_else(|| SetupFailed("no hierarchy group".into()))
}

async fn hierarchy_group_condition(cx: Arc<Cx>) -> CaseResult {
    let id = group_id(&cx)?;
    criteria(&cx, |f| {
        UserSearchCriteria::builder()
            .and_conditions(starts(f))
            .and_conditions(
                UserSearchCriteria::builder()
                    .hierarchy_group_condition(group_condition(&id))
                    .build(),
            )
            .build()
    })
    .await
}

async fn unsupported_field(cx: Arc<Cx>) -> CaseResult {
    search_raw(&cx, Some(exact("Email", "conformance@example.com")), None).await
}

fn tag_filter(filter: ControlPlaneTagFilter) -> UserSearchFilter {
    UserSearchFilter::builder().tag_filter(filter).build()
}

async fn tag_filter_condition(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |f| {
        tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(tag(COLOR, Some(f.value("red"))))
                .build(),
        )
    })
    .await
}

async fn tag_filter_and(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |f| {
        tag_filter(
            ControlPlaneTagFilter::builder()
                .and_conditions(tag(COLOR, Some(f.value("red"))))
                .and_conditions(tag(TEAM, Some(f.value("beta"))))
                .build(),
        )
    })
    .await
}

async fn tag_filter_or(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |f| {
        tag_filter(
            ControlPlaneTagFilter::builder()
                .or_conditions(vec![tag(COLOR, Some(f.value("blue")))])
                .or_conditions(vec![tag(TEAM, Some(f.value("beta")))])
                .build(),
        )
    })
    .await
}

async fn tag_filter_key_only(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |_| {
        tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(tag(COLOR, None))
                .build(),
        )
    })
    .await
}

fn attribute_filter(filter: ControlPlaneUserAttributeFilter) -> UserSearchFilter {
    UserSearchFilter::builder()
        .user_attribute_filter(filter)
        .build()
}

async fn attribute_filter_tag(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |f| {
        attribute_filter(
            ControlPlaneUserAttributeFilter::builder()
                .tag_condition(tag(TEAM, Some(f.value("alpha"))))
                .build(),
        )
    })
    .await
}

async fn attribute_filter_and(cx: Arc<Cx>) -> CaseResult {
    filtered(&cx, |f| {
        attribute_filter(
            ControlPlaneUserAttributeFilter::builder()
                .and_condition(
                    AttributeAndCondition::builder()
                        .tag_conditions(tag(COLOR, Some(f.value("red"))))
                        .tag_conditions(tag(TEAM, Some(f.value("alpha"))))
                        .build(),
                )
                .build(),
        )
    })
    .await
}

async fn attribute_filter_hierarchy(cx: Arc<Cx>) -> CaseResult {
    let id = group_id(&cx)?;
    let f = cx.fixture().await?;
    search(
        &cx,
        &f,
        Some(starts(&f)),
        Some(attribute_filter(
            ControlPlaneUserAttributeFilter::builder()
                .hierarchy_group_condition(group_condition(&id))
                .build(),
        )),
    )
    .await
}

async fn attribute_filter_two_members(cx: Arc<Cx>) -> CaseResult {
    let filter = attribute_filter(
        ControlPlaneUserAttributeFilter::builder()
            .tag_condition(tag(TEAM, Some("x".into())))
            .hierarchy_group_condition(group_condition("0c0f0f00-0000-4000-8000-00000000dead"))
            .build(),
    );
    search_raw(&cx, None, Some(filter)).await
}

async fn tag_and_attribute_filter(cx: Arc<Cx>) -> CaseResult {
    let filter = UserSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(tag(COLOR, Some("x".into())))
                .build(),
        )
        .user_attribute_filter(
            ControlPlaneUserAttributeFilter::builder()
                .tag_condition(tag(TEAM, Some("x".into())))
                .build(),
        )
        .build();
    search_raw(&cx, None, Some(filter)).await
}

/// Every page of a SearchQuickConnects, narrowed to the fixture.
async fn search_qcs(
    cx: &Cx,
    criteria: Option<QuickConnectSearchCriteria>,
    filter: Option<QuickConnectSearchFilter>,
) -> CaseResult {
    let f = cx.fixture().await?;
    let items = cx
        .client()
        .search_quick_connects()
        .instance_id(cx.instance_id())
        .set_search_criteria(criteria)
        .set_search_filter(filter)
        .max_results(100)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    Ok(match items {
        Ok(list) => Observed::Success(json!({
            "matched": f.quick_connect_labels(list.iter().filter_map(|q| q.quick_connect_id())),
        })),
        Err(e) => observe::error(&e),
    }
    .into())
}

fn qc_criteria(
    field: &str,
    comparison: StringComparisonType,
    value: &str,
) -> QuickConnectSearchCriteria {
    QuickConnectSearchCriteria::builder()
        .string_condition(string_condition(field, comparison, value))
        .build()
}

async fn qc_name_exact(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    search_qcs(
        &cx,
        Some(qc_criteria(
            "name",
            StringComparisonType::Exact,
            &f.quick_connect("qa").name,
        )),
        None,
    )
    .await
}

async fn qc_name_starts_with(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    search_qcs(
        &cx,
        Some(qc_criteria(
            "name",
            StringComparisonType::StartsWith,
            &f.quick_connect_prefix,
        )),
        None,
    )
    .await
}

async fn qc_description_contains(cx: Arc<Cx>) -> CaseResult {
    search_qcs(
        &cx,
        Some(qc_criteria(
            "description",
            StringComparisonType::Contains,
            "escalation",
        )),
        None,
    )
    .await
}

async fn qc_resource_id(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    search_qcs(
        &cx,
        Some(qc_criteria(
            "resourceID",
            StringComparisonType::Exact,
            &f.quick_connect("qb").id,
        )),
        None,
    )
    .await
}

async fn qc_tag_filter(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let filter = QuickConnectSearchFilter::builder()
        .tag_filter(
            ControlPlaneTagFilter::builder()
                .tag_condition(tag(COLOR, Some(f.value("red"))))
                .build(),
        )
        .build();
    search_qcs(&cx, None, Some(filter)).await
}

async fn qc_unsupported_field(cx: Arc<Cx>) -> CaseResult {
    let r = cx
        .client()
        .search_quick_connects()
        .instance_id(cx.instance_id())
        .search_criteria(qc_criteria(
            "QuickConnectType",
            StringComparisonType::Exact,
            "USER",
        ))
        .send()
        .await;
    Ok(observe::result(&r, |_| Value::Null).into())
}

async fn qc_results_name_user(cx: Arc<Cx>) -> CaseResult {
    let f = cx.fixture().await?;
    let qa = f.quick_connect("qa");
    let r = cx
        .client()
        .search_quick_connects()
        .instance_id(cx.instance_id())
        .search_criteria(qc_criteria(
            "resourceID",
            StringComparisonType::Exact,
            &qa.id,
        ))
        .send()
        .await;
    Ok(observe::result(&r, |o| {
        let mut v = o
            .quick_connects()
            .first()
            .map(observe::quick_connect)
            .unwrap_or_else(|| json!({}));
        // Name the fixture user by its label, as the expectation does.
        if v["UserId"] == json!(f.user("sa").id) {
            v["UserId"] = json!("sa");
        }
        v
    })
    .into())
}

async fn list_types(cx: &Cx, t: QuickConnectType) -> CaseResult {
    let f = cx.fixture().await?;
    let items = cx
        .client()
        .list_quick_connects()
        .instance_id(cx.instance_id())
        .quick_connect_types(t)
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    Ok(match items {
        Ok(list) => Observed::Success(json!({
            "matched": f.quick_connect_labels(list.iter().filter_map(|q| q.id())),
        })),
        Err(e) => observe::error(&e),
    }
    .into())
}

async fn list_type_user(cx: Arc<Cx>) -> CaseResult {
    list_types(&cx, QuickConnectType::User).await
}

async fn list_type_queue(cx: Arc<Cx>) -> CaseResult {
    list_types(&cx, QuickConnectType::Queue).await
}
