//! SearchUsers and SearchQuickConnects: nested And/Or search criteria with string conditions,
//! tag filters, paging and ApproximateTotalCount. Results come in creation order.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::super::errors::{ApiError, ApiResult};
use super::super::model::SimUser;
use super::super::paging;
use super::super::render;
use super::super::state::State;
use super::super::validate;
use super::super::wire::Obj;
use super::{Ctx, Outcome};

const USER_FIELDS: &[&str] = &[
    "Username",
    "FirstName",
    "LastName",
    "RoutingProfileId",
    "SecurityProfileId",
    "resourceId",
];
const QUICK_CONNECT_FIELDS: &[&str] = &["name", "description", "resourceID"];
/// Free-text fields match case-insensitively, as a search index does; ids match exactly.
const TEXT_FIELDS: &[&str] = &["Username", "FirstName", "LastName", "name", "description"];

#[derive(Debug)]
enum Criteria {
    All(Vec<Criteria>),
    Any(Vec<Criteria>),
    Str {
        field: String,
        value: String,
        comparison: String,
    },
    Hierarchy(String),
}

fn criteria(o: &Obj, fields: &[&str], users: bool) -> ApiResult<Criteria> {
    let mut parts = Vec::new();
    let children = |name: &str| -> ApiResult<Option<Vec<Criteria>>> {
        o.opt_list(name)?
            .map(|l| {
                l.iter()
                    .map(|f| criteria(&f.obj()?, fields, users))
                    .collect()
            })
            .transpose()
    };
    if let Some(any) = children("OrConditions")? {
        parts.push(Criteria::Any(any));
    }
    if let Some(all) = children("AndConditions")? {
        parts.push(Criteria::All(all));
    }
    if let Some(s) = o.opt_obj("StringCondition")? {
        let field = s.req_str("FieldName")?;
        if !fields.contains(&field) {
            return Err(ApiError::invalid_parameter(format!(
                "Value '{field}' at '{}' is not a supported field; supported: {}",
                s.path_of("FieldName"),
                fields.join(", ")
            )));
        }
        let comparison = s.req_str("ComparisonType")?;
        let value = s.req_str("Value")?;
        parts.push(Criteria::Str {
            field: field.into(),
            value: value.into(),
            comparison: comparison.into(),
        });
    }
    if users {
        if let Some(h) = o.opt_obj("HierarchyGroupCondition")? {
            parts.push(Criteria::Hierarchy(hierarchy(&h)?));
        }
        if o.has("ListCondition") {
            return Err(ApiError::invalid_request(format!(
                "'{}' (proficiency search) is not supported by the emulator",
                o.path_of("ListCondition")
            )));
        }
    }
    Ok(Criteria::All(parts))
}

/// HierarchyGroupCondition. The emulator's groups have no children, so WITH_CHILD_GROUPS
/// matches like EXACT.
fn hierarchy(h: &Obj) -> ApiResult<String> {
    Ok(h.req_str("Value")?.to_string())
}

fn string_matches(field: &str, comparison: &str, wanted: &str, actual: &str) -> bool {
    let (wanted, actual) = if TEXT_FIELDS.contains(&field) {
        (wanted.to_lowercase(), actual.to_lowercase())
    } else {
        (wanted.to_string(), actual.to_string())
    };
    match comparison {
        "EXACT" => actual == wanted,
        "STARTS_WITH" => actual.starts_with(&wanted),
        // Documented: "contains" queries need 2 to 25 characters, else nothing matches.
        _ => (2..=25).contains(&wanted.chars().count()) && actual.contains(&wanted),
    }
}

impl Criteria {
    /// `values(field)` gives the record's values of a field; `group` its hierarchy group.
    fn matches(&self, values: &dyn Fn(&str) -> Vec<String>, group: Option<&str>) -> bool {
        match self {
            Criteria::All(c) => c.iter().all(|c| c.matches(values, group)),
            Criteria::Any(c) => c.iter().any(|c| c.matches(values, group)),
            Criteria::Str {
                field,
                value,
                comparison,
            } => values(field)
                .iter()
                .any(|v| string_matches(field, comparison, value, v)),
            Criteria::Hierarchy(id) => group == Some(id.as_str()),
        }
    }
}

#[derive(Debug)]
struct TagCondition {
    key: String,
    value: Option<String>,
}

impl TagCondition {
    fn parse(o: &Obj) -> ApiResult<TagCondition> {
        Ok(TagCondition {
            key: o.req_str("TagKey")?.to_string(),
            value: o.opt_str("TagValue")?.map(str::to_string),
        })
    }

    fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match (tags.get(&self.key), &self.value) {
            (Some(actual), Some(wanted)) => actual == wanted,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// ControlPlaneTagFilter: an OR of ANDs, an AND, or one condition (all present ones must hold).
#[derive(Debug, Default)]
struct TagFilter {
    or: Vec<Vec<TagCondition>>,
    and: Vec<TagCondition>,
}

fn tag_list(o: &Obj, name: &str) -> ApiResult<Vec<TagCondition>> {
    o.opt_list(name)?
        .unwrap_or_default()
        .iter()
        .map(|f| TagCondition::parse(&f.obj()?))
        .collect()
}

impl TagFilter {
    fn parse(o: &Obj) -> ApiResult<TagFilter> {
        let mut filter = TagFilter::default();
        for f in o.opt_list("OrConditions")?.unwrap_or_default() {
            let inner = f
                .list()?
                .iter()
                .map(|c| TagCondition::parse(&c.obj()?))
                .collect::<ApiResult<_>>()?;
            filter.or.push(inner);
        }
        filter.and = tag_list(o, "AndConditions")?;
        if let Some(c) = o.opt_obj("TagCondition")? {
            filter.and.push(TagCondition::parse(&c)?);
        }
        Ok(filter)
    }

    fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        (self.or.is_empty()
            || self
                .or
                .iter()
                .any(|all| all.iter().all(|c| c.matches(tags))))
            && self.and.iter().all(|c| c.matches(tags))
    }
}

/// ControlPlaneUserAttributeFilter: tag and hierarchy conditions; only one member may be set.
#[derive(Debug, Default)]
struct AttributeFilter {
    /// OR over groups; each group ANDs its tag conditions and optional hierarchy group.
    any: Vec<(Vec<TagCondition>, Option<String>)>,
}

impl AttributeFilter {
    fn parse(o: &Obj) -> ApiResult<AttributeFilter> {
        let set = [
            "OrConditions",
            "AndCondition",
            "TagCondition",
            "HierarchyGroupCondition",
        ]
        .iter()
        .filter(|m| o.has(m))
        .count();
        if set > 1 {
            return Err(ApiError::invalid_parameter(
                "Only one member of 'SearchFilter.UserAttributeFilter' can be set",
            ));
        }
        let group = |g: &Obj| -> ApiResult<(Vec<TagCondition>, Option<String>)> {
            let tags = tag_list(g, "TagConditions")?;
            let h = g
                .opt_obj("HierarchyGroupCondition")?
                .map(|h| hierarchy(&h))
                .transpose()?;
            Ok((tags, h))
        };
        let mut filter = AttributeFilter::default();
        for f in o.opt_list("OrConditions")?.unwrap_or_default() {
            filter.any.push(group(&f.obj()?)?);
        }
        if let Some(g) = o.opt_obj("AndCondition")? {
            filter.any.push(group(&g)?);
        }
        if let Some(c) = o.opt_obj("TagCondition")? {
            filter.any.push((vec![TagCondition::parse(&c)?], None));
        }
        if let Some(h) = o.opt_obj("HierarchyGroupCondition")? {
            filter.any.push((Vec::new(), Some(hierarchy(&h)?)));
        }
        let tag_count: usize = filter.any.iter().map(|(t, _)| t.len()).sum();
        let group_count = filter.any.iter().filter(|(_, h)| h.is_some()).count();
        if tag_count > 25 || group_count > 20 {
            return Err(ApiError::invalid_parameter(
                "'SearchFilter.UserAttributeFilter' allows at most 25 tag conditions and 20 hierarchy group conditions",
            ));
        }
        Ok(filter)
    }

    fn matches(&self, user: &SimUser) -> bool {
        self.any.is_empty()
            || self.any.iter().any(|(tags, group)| {
                tags.iter().all(|c| c.matches(&user.tags))
                    && group
                        .as_ref()
                        .is_none_or(|g| user.hierarchy_group_id.as_ref() == Some(g))
            })
    }
}

/// The members common to both searches: InstanceId, NextToken, MaxResults.
/// `SearchFilter` and the `TagFilter` inside it, which every Search* operation accepts.
fn search_filter<'a>(b: &Obj<'a>) -> ApiResult<(Option<Obj<'a>>, Option<TagFilter>)> {
    let filter = b.opt_obj("SearchFilter")?;
    let tag_filter = filter
        .as_ref()
        .and_then(|f| f.opt_obj("TagFilter").transpose())
        .transpose()?
        .map(|o| TagFilter::parse(&o))
        .transpose()?;
    Ok((filter, tag_filter))
}

fn common<'s>(
    ctx: &Ctx,
    state: &'s State,
) -> ApiResult<(&'s super::super::state::Instance, Option<String>, usize)> {
    let b = &ctx.body;
    let instance_id = b.req_str("InstanceId")?;
    let token = b.opt_str("NextToken")?;
    let max = validate::max_results(b.opt_int("MaxResults")?, 100);
    Ok((
        state.instance_in(instance_id, ctx.region())?,
        token.map(str::to_string),
        max,
    ))
}

fn search_body(key: &str, items: Vec<Value>, page_token: Option<String>, total: usize) -> Value {
    let mut body = json!({ key: items, "ApproximateTotalCount": total });
    if let Some(t) = page_token {
        body["NextToken"] = json!(t);
    }
    body
}

pub fn search_users(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let b = &ctx.body;
    let criteria = b
        .opt_obj("SearchCriteria")?
        .map(|o| criteria(&o, USER_FIELDS, true))
        .transpose()?;
    let (filter, tag_filter) = search_filter(b)?;
    let attr = filter
        .as_ref()
        .and_then(|f| f.opt_obj("UserAttributeFilter").transpose())
        .transpose()?;
    let attr = attr.map(|o| AttributeFilter::parse(&o)).transpose()?;
    // UserSearchFilter.UserAttributeFilter: "This object can't be used along with TagFilter
    // ... such request will throw AccessDeniedException."
    if tag_filter.is_some() && attr.is_some() {
        return Err(ApiError::access_denied(
            "'SearchFilter' can contain either TagFilter or UserAttributeFilter, not both",
        ));
    }
    let (instance, token, max) = common(ctx, state)?;

    let matching = instance.users().filter(|(_, u)| {
        let values = |field: &str| -> Vec<String> {
            let identity = u.identity_info.clone().unwrap_or_default();
            match field {
                "Username" => vec![u.username.clone()],
                "FirstName" => identity.first_name.into_iter().collect(),
                "LastName" => identity.last_name.into_iter().collect(),
                "RoutingProfileId" => vec![u.routing_profile_id.clone()],
                "SecurityProfileId" => u.security_profile_ids.clone(),
                _ => vec![u.id.clone()],
            }
        };
        criteria
            .as_ref()
            .is_none_or(|c| c.matches(&values, u.hierarchy_group_id.as_deref()))
            && tag_filter.as_ref().is_none_or(|f| f.matches(&u.tags))
            && attr.as_ref().is_none_or(|f| f.matches(u))
    });
    let page = paging::page("SearchUsers", matching, token.as_deref(), max)?;
    let users = page
        .items
        .into_iter()
        .map(render::user_search_summary)
        .collect();
    Ok(Outcome::read(search_body(
        "Users",
        users,
        page.next_token,
        page.total,
    )))
}

pub fn search_quick_connects(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let b = &ctx.body;
    let criteria = b
        .opt_obj("SearchCriteria")?
        .map(|o| criteria(&o, QUICK_CONNECT_FIELDS, false))
        .transpose()?;
    let (_, tag_filter) = search_filter(b)?;
    let (instance, token, max) = common(ctx, state)?;

    let matching = instance.quick_connects().filter(|(_, q)| {
        let values = |field: &str| -> Vec<String> {
            match field {
                "name" => vec![q.name.clone()],
                "description" => q.description.clone().into_iter().collect(),
                _ => vec![q.id.clone()],
            }
        };
        criteria.as_ref().is_none_or(|c| c.matches(&values, None))
            && tag_filter.as_ref().is_none_or(|f| f.matches(&q.tags))
    });
    let page = paging::page("SearchQuickConnects", matching, token.as_deref(), max)?;
    let list = page.items.into_iter().map(render::quick_connect).collect();
    Ok(Outcome::read(search_body(
        "QuickConnects",
        list,
        page.next_token,
        page.total,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_needs_two_to_twenty_five_characters() {
        assert!(string_matches("Username", "CONTAINS", "li", "alice"));
        assert!(!string_matches("Username", "CONTAINS", "l", "alice"));
        assert!(string_matches("Username", "EXACT", "ALICE", "alice"));
        assert!(!string_matches("resourceId", "EXACT", "ABC", "abc"));
        assert!(string_matches("name", "STARTS_WITH", "to-", "To-Alice"));
    }
}
