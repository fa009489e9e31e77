//! Ownership guard: a Connect user belongs to the one ConnectUser whose UID is in its ownership
//! tag. Another resource naming the same username, or a new resource that reuses a deleted one's
//! name, never modifies, deletes or takes over that user unless it is explicitly adopted.

mod common;

use common::*;
use connect_user_operator::crd::OWNER_TAG;
use kube::ResourceExt;
use kube::api::Patch;
use serde_json::json;

/// `manifest`, but for metadata.name `name` managing Connect username `username`.
fn named(name: &str, username: &str, extra: &str) -> String {
    manifest(name, extra).replace(
        &format!("username: {name}\n"),
        &format!("username: {username}\n"),
    )
}

fn condition_message(cu: &connect_user_operator::crd::ConnectUser) -> String {
    cu.status
        .as_ref()
        .and_then(|s| s.condition("Ready"))
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_resource_for_the_same_username_gets_conflict_and_never_touches_the_user() {
    let env = Env::start().await;
    env.create(&named("first", "shared", "")).await.unwrap();
    let first = env.wait_ready("first").await;
    let id = Env::user_id(&first);
    let before = env.connect.user(INSTANCE, &id).unwrap();
    env.connect.clear_calls();

    // Even asking to adopt does not take a user away from a live owner.
    for (name, extra) in [
        ("second", ""),
        ("third", "  adoptExisting: true\n  deletionPolicy: Delete\n"),
    ] {
        env.create(&named(name, "shared", extra)).await.unwrap();
        let cu = env.wait_reason(name, "Conflict").await;
        assert_eq!(ready(&cu).unwrap().0, "False", "{name}");
        assert!(
            condition_message(&cu).contains("default/first"),
            "{name}: the message names the owner: {}",
            condition_message(&cu)
        );
        assert!(cu.status.as_ref().unwrap().user_id.is_none(), "{name}");
    }
    // Spec changes on the losers do not reach the user either.
    env.api()
        .patch(
            "third",
            &Default::default(),
            &Patch::Merge(json!({"spec": {"identityInfo": {"firstName": "Mallory"}}})),
        )
        .await
        .unwrap();
    env.wait_for("third", "conflict at generation 2", |cu| {
        reason(cu) == "Conflict"
            && cu.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    // Deleting the losers releases them without touching the user.
    env.delete("second").await;
    env.delete("third").await;
    env.wait_gone("second").await;
    env.wait_gone("third").await;
    env.assert_nothing_written("no Connect write by the other resources");
    assert_eq!(env.connect.user(INSTANCE, &id), Some(before), "untouched");
    let first = env.wait_ready("first").await;
    assert_eq!(Env::user_id(&first), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resources_created_at_once_yield_one_user_and_one_conflict() {
    let env = Env::start().await;
    let (m1, m2) = (
        named("one", "race", ""),
        named("two", "race", "  adoptExisting: true\n"),
    );
    let (a, b) = tokio::join!(env.create(&m1), env.create(&m2));
    a.unwrap();
    b.unwrap();
    let settled = |cu: &connect_user_operator::crd::ConnectUser| {
        matches!(reason(cu).as_str(), "Created" | "InSync" | "Conflict")
    };
    let one = env.wait_for("one", "settled", settled).await;
    let two = env.wait_for("two", "settled", settled).await;
    let (winner, loser) = if reason(&one) == "Conflict" {
        (two, one)
    } else {
        (one, two)
    };
    assert_eq!(reason(&loser), "Conflict", "exactly one loses");
    assert_ne!(reason(&winner), "Conflict", "exactly one wins");
    let users: Vec<_> = env
        .connect
        .users(INSTANCE)
        .into_iter()
        .filter(|u| u.username == "race")
        .collect();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].tags.get(OWNER_TAG), winner.uid().as_ref());
    // The loser may have raced to CreateUser, which Connect refused; nothing else.
    let writes = env.writes();
    assert_eq!(
        writes
            .iter()
            .filter(|c| c.operation == "CreateUser" && c.status == 200)
            .count(),
        1
    );
    assert!(
        writes.iter().all(|c| c.operation == "CreateUser"
            && (c.status == 200 || c.error_type.as_deref() == Some("DuplicateResourceException"))),
        "{writes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recreated_resource_does_not_take_over_a_retained_user_unless_adopting() {
    let env = Env::start().await;
    env.create(&manifest("alice", "  deletionPolicy: Retain\n"))
        .await
        .unwrap();
    let old = env.wait_ready("alice").await;
    let old_uid = Env::uid(&old);
    let id = Env::user_id(&old);
    env.delete("alice").await;
    env.wait_gone("alice").await;

    // Twice: once as Retain left it (untagged), once as if the untag had never happened (the
    // tag still names the deleted resource's UID).
    for stale_tag in [false, true] {
        if stale_tag {
            env.connect.modify_user(INSTANCE, &id, |u| {
                u.tags.insert(OWNER_TAG.into(), old_uid.clone());
            });
        }
        let before = env.connect.user(INSTANCE, &id).unwrap();
        env.connect.clear_calls();
        env.create(&manifest("alice", "")).await.unwrap();
        let cu = env.wait_reason("alice", "UserExists").await;
        assert_ne!(Env::uid(&cu), old_uid, "a new UID");
        assert!(cu.status.as_ref().unwrap().user_id.is_none());
        assert!(
            condition_message(&cu).contains("adoptExisting"),
            "{}",
            condition_message(&cu)
        );
        env.assert_nothing_written(&format!("stale={stale_tag}"));
        // Deleting it (policy Delete) must not delete a user it never owned.
        env.delete("alice").await;
        env.wait_gone("alice").await;
        env.assert_nothing_written(&format!("stale={stale_tag}"));
        assert_eq!(env.connect.user(INSTANCE, &id), Some(before));
    }

    // With adoptExisting the new resource takes it over: tagged with the new UID, no new user
    // (adopting searches first: no CreateUser at all).
    env.connect.clear_calls();
    env.create(&manifest("alice", "  adoptExisting: true\n"))
        .await
        .unwrap();
    let cu = env
        .wait_for("alice", "adopted", |cu| reason(cu) == "Adopted")
        .await;
    assert_eq!(Env::user_id(&cu), id);
    let user = env.connect.user(INSTANCE, &id).unwrap();
    assert_eq!(user.tags.get(OWNER_TAG), Some(&Env::uid(&cu)));
    assert!(!env.write_ops().contains(&"CreateUser".to_string()));
    assert_eq!(env.connect.users(INSTANCE).len(), 1);
}
