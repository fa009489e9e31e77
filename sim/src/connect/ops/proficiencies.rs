//! ListUserProficiencies, AssociateUserProficiencies, UpdateUserProficiencies,
//! DisassociateUserProficiencies. Predefined attributes are not modelled: any name/value pair
//! the model's shapes accept is accepted.

use serde_json::json;

use super::super::errors::{ApiError, ApiResult};
use super::super::model::UserProficiency;
use super::super::paging;
use super::super::render;
use super::super::state::State;
use super::super::validate;
use super::super::wire::Obj;
use super::users::{lookup, modify};
use super::{Ctx, Outcome};

pub fn list(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let max = validate::max_results(ctx.query.int("maxResults")?, 100);
    let (_, user) = lookup(ctx, state)?;
    let items = user
        .proficiencies
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u64 + 1, p));
    let page = paging::page(
        "ListUserProficiencies",
        items,
        ctx.query.get("nextToken"),
        max,
    )?;
    let mut body = json!({
        "UserProficiencyList": page.items,
        "LastModifiedTime": render::epoch(&user.last_modified),
        "LastModifiedRegion": user.last_modified_region,
    });
    if let Some(t) = page.next_token {
        body["NextToken"] = json!(t);
    }
    Ok(Outcome::read(body))
}

fn attribute(o: &Obj) -> ApiResult<(String, String)> {
    Ok((
        o.req_str("AttributeName")?.to_string(),
        o.req_str("AttributeValue")?.to_string(),
    ))
}

fn proficiencies(ctx: &Ctx) -> ApiResult<Vec<UserProficiency>> {
    ctx.body
        .req_list("UserProficiencies")?
        .iter()
        .map(|f| {
            let o = f.obj()?;
            let (attribute_name, attribute_value) = attribute(&o)?;
            let level = o.req_float("Level")?;
            Ok(UserProficiency {
                attribute_name,
                attribute_value,
                level: level as f32,
            })
        })
        .collect()
}

fn same(p: &UserProficiency, name: &str, value: &str) -> bool {
    p.attribute_name == name && p.attribute_value == value
}

pub fn associate(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let given = proficiencies(ctx)?;
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| {
            for p in given {
                match user
                    .proficiencies
                    .iter_mut()
                    .find(|o| same(o, &p.attribute_name, &p.attribute_value))
                {
                    Some(existing) => existing.level = p.level,
                    None => user.proficiencies.push(p),
                }
            }
        },
    )
}

pub fn update(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let given = proficiencies(ctx)?;
    modify(
        ctx,
        state,
        |_, user| {
            for (i, p) in given.iter().enumerate() {
                if !user
                    .proficiencies
                    .iter()
                    .any(|o| same(o, &p.attribute_name, &p.attribute_value))
                {
                    return Err(ApiError::invalid_parameter(format!(
                        "'UserProficiencies[{i}]' is not associated with the user"
                    )));
                }
            }
            Ok(())
        },
        |user| {
            for p in &given {
                if let Some(o) = user
                    .proficiencies
                    .iter_mut()
                    .find(|o| same(o, &p.attribute_name, &p.attribute_value))
                {
                    o.level = p.level;
                }
            }
        },
    )
}

pub fn disassociate(ctx: &Ctx, state: &mut State) -> ApiResult<Outcome> {
    let given: Vec<(String, String)> = ctx
        .body
        .req_list("UserProficiencies")?
        .iter()
        .map(|f| attribute(&f.obj()?))
        .collect::<ApiResult<_>>()?;
    modify(
        ctx,
        state,
        |_, _| Ok(()),
        |user| {
            user.proficiencies
                .retain(|p| !given.iter().any(|(n, v)| same(p, n, v)));
        },
    )
}
