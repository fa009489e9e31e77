//! Bad input is rejected with the field named, either at admission (CRD schema and CEL, enforced by
//! the apiserver emulator) or by the operator as Ready=False; no Connect write ever carries it.

mod common;

use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "apiVersion": "connect.userops.dev/v1alpha1",
        "kind": "ConnectUser",
        "metadata": {"name": "bad"},
        "spec": {
            "instanceId": INSTANCE,
            "username": "bad",
            "passwordSecretRef": {"name": "agent-passwords", "key": "alice"},
            "securityProfiles": [{"name": "Agent"}],
            "routingProfile": {"name": "Basic Routing Profile"}
        }
    })
}

fn with(path: &[&str], value: Value) -> Value {
    let mut v = base();
    let mut cur = &mut v["spec"];
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(path[path.len() - 1]);
    } else {
        cur[path[path.len() - 1]] = value;
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_manifests_are_rejected_at_admission_naming_the_field() {
    let env = Env::start().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "username with a space",
            with(&["username"], json!("bad user")),
            "spec.username",
        ),
        (
            "username too long",
            with(&["username"], json!("a".repeat(101))),
            "spec.username",
        ),
        (
            "no security profile",
            with(&["securityProfiles"], json!([])),
            "spec.securityProfiles",
        ),
        (
            "11 security profiles",
            with(
                &["securityProfiles"],
                json!(
                    (0..11)
                        .map(|i| json!({"id": format!("sp-{i}")}))
                        .collect::<Vec<_>>()
                ),
            ),
            "spec.securityProfiles",
        ),
        (
            "both id and name",
            with(&["routingProfile"], json!({"id": "x", "name": "y"})),
            "spec.routingProfile",
        ),
        (
            "neither id nor name",
            with(&["routingProfile"], json!({})),
            "spec.routingProfile",
        ),
        (
            "desk phone without number",
            with(&["phoneConfig"], json!({"phoneType": "DESK_PHONE"})),
            "spec.phoneConfig",
        ),
        (
            "unknown phone type",
            with(&["phoneConfig"], json!({"phoneType": "CELL_PHONE"})),
            "spec.phoneConfig.phoneType",
        ),
        (
            "bad email",
            with(&["identityInfo"], json!({"email": "not-an-email"})),
            "spec.identityInfo.email",
        ),
        (
            "mobile not E.164",
            with(&["identityInfo"], json!({"mobile": "555-0100"})),
            "spec.identityInfo.mobile",
        ),
        (
            "aws: tag key",
            with(&["tags"], json!({"aws:cloudformation": "x"})),
            "spec.tags",
        ),
        (
            "reserved tag key",
            with(&["tags"], json!({"connect.userops.dev/owner": "x"})),
            "spec.tags",
        ),
        (
            "missing instanceId",
            with(&["instanceId"], Value::Null),
            "spec.instanceId",
        ),
        (
            "negative after-contact work",
            with(&["phoneConfig"], json!({"afterContactWorkTimeLimit": -1})),
            "spec.phoneConfig.afterContactWorkTimeLimit",
        ),
        (
            "wrong JSON type",
            with(&["securityProfiles"], json!("Agent")),
            "spec.securityProfiles",
        ),
        (
            "unknown deletion policy",
            with(&["deletionPolicy"], json!("Orphan")),
            "spec.deletionPolicy",
        ),
        (
            "duplicate security profile",
            with(
                &["securityProfiles"],
                json!([{"name": "Agent"}, {"name": "Agent"}]),
            ),
            "spec.securityProfiles",
        ),
    ];
    for (what, manifest, field) in cases {
        let err = env.create_raw(manifest).await.expect_err(what);
        match err {
            kube::Error::Api(status) => {
                assert_eq!(status.code, 422, "{what}: {status:?}");
                assert!(
                    status.message.contains(field),
                    "{what}: {} does not name {field}",
                    status.message
                );
            }
            other => panic!("{what}: unexpected error {other}"),
        }
    }
    assert!(env.connect.calls().is_empty(), "nothing reached Connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_fields_cannot_change() {
    let env = Env::start().await;
    env.create(&manifest("alice", "")).await.unwrap();
    env.wait_ready("alice").await;
    for (field, value) in [
        ("username", json!("alice2")),
        ("instanceId", json!("other-instance")),
    ] {
        let patch = kube::api::Patch::Merge(json!({"spec": {field: value}}));
        let err = env
            .api()
            .patch("alice", &Default::default(), &patch)
            .await
            .expect_err(field);
        let kube::Error::Api(status) = err else {
            panic!("{field}: {err}")
        };
        assert_eq!(status.code, 422);
        assert!(
            status.message.contains(&format!("spec.{field}")),
            "{}",
            status.message
        );
        assert!(status.message.contains("immutable"), "{}", status.message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_rejects_what_admission_cannot_know_naming_the_field() {
    let env = Env::start().await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let weak: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "weak"},
        "stringData": {"password": "weakpass", "empty": ""}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &weak).await.unwrap();
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        (
            "unknown-profile",
            "  securityProfiles: [{name: Agent}, {name: NoSuchProfile}]\n",
            "InvalidSpec",
            "spec.securityProfiles[1].name",
        ),
        (
            "unknown-routing-id",
            "  routingProfile: {id: 00000000-0000-0000-0000-000000000000}\n",
            "InvalidSpec",
            "spec.routingProfile.id",
        ),
        (
            "unknown-group",
            "  hierarchyGroup: {name: Tier9}\n",
            "InvalidSpec",
            "spec.hierarchyGroup.name",
        ),
        (
            "no-secret",
            "  passwordSecretRef: {name: missing, key: password}\n",
            "SecretNotFound",
            "spec.passwordSecretRef.name",
        ),
        (
            "no-key",
            "  passwordSecretRef: {name: agent-passwords, key: nobody}\n",
            "SecretNotFound",
            "spec.passwordSecretRef.key",
        ),
        (
            "weak-password",
            "  passwordSecretRef: {name: weak, key: password}\n",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
        ),
        (
            "empty-password",
            "  passwordSecretRef: {name: weak, key: empty}\n",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
        ),
    ];
    for (name, extra, want_reason, field) in &cases {
        // Later keys win in YAML mappings for serde_yaml? No: duplicates are errors, so replace.
        let mut m = manifest(name, "");
        for key in [
            "securityProfiles",
            "routingProfile",
            "passwordSecretRef",
            "hierarchyGroup",
        ] {
            if extra.trim_start().starts_with(key) {
                m = m
                    .lines()
                    .filter(|l| !l.trim_start().starts_with(key))
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n";
            }
        }
        env.create(&(m + extra)).await.unwrap();
        let cu = env.wait_reason(name, want_reason).await;
        let ready = cu
            .status
            .as_ref()
            .unwrap()
            .condition("Ready")
            .unwrap()
            .clone();
        assert_eq!(ready.status, "False", "{name}");
        assert!(
            ready.message.contains(field),
            "{name}: {:?} does not name {field}",
            ready.message
        );
        assert!(
            !ready.message.contains("weakpass"),
            "{name}: message must not quote the password"
        );
    }
    // Missing passwordSecretRef on a CONNECT_MANAGED instance.
    let m = manifest("no-password", "")
        .lines()
        .filter(|l| !l.contains("passwordSecretRef"))
        .collect::<Vec<_>>()
        .join("\n");
    env.create(&m).await.unwrap();
    let cu = env.wait_reason("no-password", "InvalidSpec").await;
    assert!(
        cu.status
            .unwrap()
            .condition("Ready")
            .unwrap()
            .message
            .contains("spec.passwordSecretRef")
    );
    assert!(
        env.writes().is_empty(),
        "no Connect write with invalid data: {:?}",
        env.write_ops()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_that_appears_later_is_picked_up() {
    let env = Env::start().await;
    let m = manifest("late", "").replace(
        "{name: agent-passwords, key: alice}",
        "{name: late-secret, key: password}",
    );
    env.create(&m).await.unwrap();
    env.wait_reason("late", "SecretNotFound").await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "late-secret"},
        "stringData": {"password": PASSWORD}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    env.wait_ready("late").await;
}
