//! What a run created, and deleting it: each case's resources when the case ends (passed,
//! failed, panicked or timed out), the shared fixture's at the end of the run, and a sweep, at
//! the start and at the end, of everything named `cfm-...` that carries the marker tag
//! (leftovers of a run that was killed).
//!
//! Connect is eventually consistent: a user created a moment ago may answer
//! ResourceNotFoundException to DeleteUser. A NotFound counts as "gone" only once the
//! propagation deadline has passed since the create; until then the delete is retried.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::error::ProvideErrorMetadata;
use futures::StreamExt;
use serde::Serialize;

use super::observe;
use crate::names::{MARKER_TAG, is_ours};
use crate::target::Timing;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    User,
    QuickConnect,
}

#[derive(Clone, Debug, Serialize)]
pub struct Resource {
    pub kind: Kind,
    pub id: String,
    pub name: String,
    #[serde(skip)]
    pub created: Instant,
}

/// The resources one case (or the run's fixture) created and has not deleted.
#[derive(Clone, Debug, Default)]
pub struct Tracker(Arc<Mutex<Vec<Resource>>>);

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Resource>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, kind: Kind, id: &str, name: &str) {
        self.lock().push(Resource {
            kind,
            id: id.to_string(),
            name: name.to_string(),
            created: Instant::now(),
        });
    }

    /// Forgets a resource the case deleted itself.
    pub fn forget(&self, id: &str) {
        self.lock().retain(|r| r.id != id);
    }

    pub fn take(&self) -> Vec<Resource> {
        std::mem::take(&mut *self.lock())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a cleanup did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cleanup {
    pub users_deleted: usize,
    pub quick_connects_deleted: usize,
    /// What could not be deleted, and why: the report prints these, and the run fails.
    pub left: Vec<(Resource, String)>,
}

impl Cleanup {
    pub fn add(&mut self, other: Cleanup) {
        self.users_deleted += other.users_deleted;
        self.quick_connects_deleted += other.quick_connects_deleted;
        self.left.extend(other.left);
    }
}

enum Deleted {
    Yes,
    Gone,
    Left(String),
}

/// Deletes `r`, retrying NotFound until the deadline has passed since its creation (it may
/// not have shown yet) and any other failure a few times.
async fn delete(client: &Client, instance: &str, r: &Resource, timing: &Timing) -> Deleted {
    let mut failures = 0;
    loop {
        let outcome = match r.kind {
            Kind::User => client
                .delete_user()
                .instance_id(instance)
                .user_id(&r.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.code().map(str::to_string), observe::error(&e))),
            Kind::QuickConnect => client
                .delete_quick_connect()
                .instance_id(instance)
                .quick_connect_id(&r.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (e.code().map(str::to_string), observe::error(&e))),
        };
        match outcome {
            Ok(()) => return Deleted::Yes,
            Err((Some(code), _))
                if code == "ResourceNotFoundException" || code == "InvalidRequestException" =>
            {
                // Connect documents both while a change propagates.
                if r.created.elapsed() > timing.deadline {
                    return Deleted::Gone;
                }
            }
            Err((_, observed)) => {
                failures += 1;
                if failures >= 5 {
                    return Deleted::Left(observed.to_string());
                }
            }
        }
        tokio::time::sleep(timing.poll.max(Duration::from_millis(100))).await;
    }
}

/// Deletes quick connects first (they may point at the users), then users, a few at a time.
pub async fn delete_all(
    client: &Client,
    instance: &str,
    resources: Vec<Resource>,
    timing: &Timing,
) -> Cleanup {
    let mut cleanup = Cleanup::default();
    let (qcs, users): (Vec<Resource>, Vec<Resource>) = resources
        .into_iter()
        .partition(|r| r.kind == Kind::QuickConnect);
    for batch in [qcs, users] {
        let results: Vec<(Resource, Deleted)> = futures::stream::iter(batch)
            .map(|r| async move {
                let d = delete(client, instance, &r, timing).await;
                (r, d)
            })
            .buffer_unordered(4)
            .collect()
            .await;
        for (r, d) in results {
            match d {
                Deleted::Yes | Deleted::Gone => match r.kind {
                    Kind::User => cleanup.users_deleted += 1,
                    Kind::QuickConnect => cleanup.quick_connects_deleted += 1,
                },
                Deleted::Left(why) => cleanup.left.push((r, why)),
            }
        }
    }
    cleanup
}

fn marked(tags: Option<&std::collections::HashMap<String, String>>) -> bool {
    tags.is_some_and(|t| t.contains_key(MARKER_TAG))
}

/// Every user and quick connect named `cfm-...` that carries the marker tag, from the List
/// calls (every page), each confirmed by a Describe.
pub async fn leftovers(client: &Client, instance: &str) -> Result<Vec<Resource>, String> {
    let mut found = Vec::new();
    let qcs = client
        .list_quick_connects()
        .instance_id(instance)
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    for q in qcs {
        let q = q.map_err(|e| format!("ListQuickConnects: {}", observe::error(&e)))?;
        let (Some(id), Some(name)) = (q.id(), q.name()) else {
            continue;
        };
        if !is_ours(name) {
            continue;
        }
        let described = client
            .describe_quick_connect()
            .instance_id(instance)
            .quick_connect_id(id)
            .send()
            .await;
        if let Ok(d) = described
            && marked(d.quick_connect().and_then(|q| q.tags()))
        {
            found.push(old(Kind::QuickConnect, id, name));
        }
    }
    let users = client
        .list_users()
        .instance_id(instance)
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    for u in users {
        let u = u.map_err(|e| format!("ListUsers: {}", observe::error(&e)))?;
        let (Some(id), Some(name)) = (u.id(), u.username()) else {
            continue;
        };
        if !is_ours(name) {
            continue;
        }
        let described = client
            .describe_user()
            .instance_id(instance)
            .user_id(id)
            .send()
            .await;
        if let Ok(d) = described
            && marked(d.user().and_then(|u| u.tags()))
        {
            found.push(old(Kind::User, id, name));
        }
    }
    Ok(found)
}

/// A resource found by listing: it exists, so a NotFound means it is gone.
fn old(kind: Kind, id: &str, name: &str) -> Resource {
    Resource {
        kind,
        id: id.to_string(),
        name: name.to_string(),
        created: Instant::now()
            .checked_sub(Duration::from_secs(24 * 3600))
            .unwrap_or_else(Instant::now),
    }
}

/// Finds and deletes the leftovers.
pub async fn sweep(client: &Client, instance: &str, timing: &Timing) -> Result<Cleanup, String> {
    let found = leftovers(client, instance).await?;
    Ok(delete_all(client, instance, found, timing).await)
}
