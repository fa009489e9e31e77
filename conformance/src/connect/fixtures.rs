//! The search fixture: three users and two quick connects with known names, identities and
//! tags, created once per run (the first search or pagination case asks for it), shown in the
//! search index before any case uses it, deleted at the end of the run.
//!
//! Tag values carry the run id, so a tag filter matches nothing of other runs or of the
//! sandbox's own users; search results are narrowed to the fixture's members before they are
//! compared, so a busy sandbox does not change the outcome.

use std::time::Instant;

use aws_sdk_connect::types::{QuickConnectSearchCriteria, StringComparisonType};
use serde_json::{Value, json};

use super::case::{Observed, SetupFailed};
use super::cx::{Cx, QuickConnectRef, UserRef};
use super::observe;
use super::poll::{self, Probe};

/// Tag keys of the fixture (values are `<colour>-<run>`, `<team>-<run>`).
pub const COLOR: &str = "cfm-color";
pub const TEAM: &str = "cfm-team";

#[derive(Debug)]
pub struct SearchFixture {
    /// `sa` Grace Hopper (red, alpha), `sb` Alan Turing (blue, alpha), `sc` Ada Lovelace (red,
    /// beta, in the hierarchy group when the instance has one).
    pub users: Vec<(&'static str, UserRef)>,
    /// `qa` "<run> Transfer" to sa (red), `qb` "<run> Escalate" to sa (blue).
    pub quick_connects: Vec<(&'static str, QuickConnectRef)>,
    /// `cfm-<run>-s`: the start of every fixture username.
    pub user_prefix: String,
    /// `cfm-<run>-q`.
    pub quick_connect_prefix: String,
    run: String,
}

impl SearchFixture {
    /// A tag value of this run (`red` -> `red-k3x9`).
    pub fn value(&self, v: &str) -> String {
        format!("{v}-{}", self.run)
    }

    pub fn user(&self, label: &str) -> &UserRef {
        &self
            .users
            .iter()
            .find(|(l, _)| *l == label)
            .expect("fixture user label")
            .1
    }

    pub fn quick_connect(&self, label: &str) -> &QuickConnectRef {
        &self
            .quick_connects
            .iter()
            .find(|(l, _)| *l == label)
            .expect("fixture quick connect label")
            .1
    }

    /// The labels of the fixture users among `ids`, sorted: what search cases compare.
    pub fn user_labels<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Value {
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut labels: Vec<&str> = self
            .users
            .iter()
            .filter(|(_, u)| ids.contains(&u.id.as_str()))
            .map(|(l, _)| *l)
            .collect();
        labels.sort_unstable();
        json!(labels)
    }

    pub fn quick_connect_labels<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Value {
        let ids: Vec<&str> = ids.into_iter().collect();
        let mut labels: Vec<&str> = self
            .quick_connects
            .iter()
            .filter(|(_, q)| ids.contains(&q.id.as_str()))
            .map(|(l, _)| *l)
            .collect();
        labels.sort_unstable();
        json!(labels)
    }

    pub async fn create(cx: &Cx) -> Result<SearchFixture, SetupFailed> {
        let names = &cx.run.names;
        let tracker = &cx.run.fixture_tracker;
        let run = names.run().to_string();
        let v = |x: &str| format!("{x}-{run}");
        let mut users = Vec::new();
        for (label, first, last, color, team) in [
            ("sa", "Grace", "Hopper", "red", "alpha"),
            ("sb", "Alan", "Turing", "blue", "alpha"),
            ("sc", "Ada", "Lovelace", "red", "beta"),
        ] {
            let mut b = cx
                .user(&names.fixed(label))
                .identity_info(cx.identity().first_name(first).last_name(last).build())
                .tags(COLOR, v(color))
                .tags(TEAM, v(team));
            if label == "sc"
                && let Some(g) = &cx.instance().hierarchy_group
            {
                b = b.hierarchy_group_id(&g.id);
            }
            users.push((label, cx.setup_user_with(b, tracker).await?));
        }
        for (_, u) in &users {
            cx.searched(&u.id).await?;
        }
        let target = users[0].1.id.clone();
        let mut quick_connects = Vec::new();
        for (label, name, description, color) in [
            ("qa", "Transfer", "Conformance transfer alpha", "red"),
            ("qb", "Escalate", "Conformance escalation beta", "blue"),
        ] {
            let name = format!("{} {name}", names.fixed(label));
            let q = cx
                .setup_quick_connect_when_user_shows(&name, &target, tracker, |b| {
                    b.description(description).tags(COLOR, v(color))
                })
                .await?;
            quick_connects.push((label, q));
        }
        for (_, q) in &quick_connects {
            searched_quick_connect(cx, &q.id).await?;
        }
        Ok(SearchFixture {
            users,
            quick_connects,
            user_prefix: names.fixed("s"),
            quick_connect_prefix: names.fixed("q"),
            run,
        })
    }
}

/// Waits until SearchQuickConnects shows the quick connect.
async fn searched_quick_connect(cx: &Cx, id: &str) -> Result<(), SetupFailed> {
    let observed = poll::until(cx.timing(), Instant::now(), || async {
        let r = cx
            .client()
            .search_quick_connects()
            .instance_id(cx.instance_id())
            .search_criteria(
                QuickConnectSearchCriteria::builder()
                    .string_condition(super::cx::string_condition(
                        "resourceID",
                        StringComparisonType::Exact,
                        id,
                    ))
                    .build(),
            )
            .send()
            .await;
        match r {
            Ok(out)
                if out
                    .quick_connects()
                    .iter()
                    .any(|q| q.quick_connect_id() == Some(id)) =>
            {
                Probe::Done(Observed::Success(Value::Null))
            }
            Ok(_) => Probe::Pending("absent".into()),
            Err(e) => Probe::Unexpected(observe::error(&e)),
        }
    })
    .await;
    match observed {
        Observed::Propagated { .. } => Ok(()),
        other => Err(SetupFailed(format!(
            "SearchQuickConnects resourceID {id}: {other}"
        ))),
    }
}
