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
        // Connect refuses these on every instance (64 is SAML's limit, the loosest).
        (
            "65-character username",
            with(&["username"], json!("a".repeat(65))),
            "spec.username",
        ),
        (
            "65-character username on the SAML instance",
            {
                let mut v = with(&["username"], json!("s".repeat(65)));
                v["spec"]["instanceId"] = json!(SAML_INSTANCE);
                v["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("passwordSecretRef");
                v
            },
            "spec.username",
        ),
        (
            "username with @ but no domain",
            with(&["username"], json!("testuser@example")),
            "spec.username",
        ),
        (
            "username with two @",
            with(&["username"], json!("a@b@example.com")),
            "spec.username",
        ),
        (
            "username with +",
            with(&["username"], json!("test+user")),
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
        assert_refused_naming(what, env.create_raw(manifest).await, field);
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

/// `spec.region` is optional: the operator's default region applies, and is recorded in
/// `status.region`. Adding it (even the same region), changing it or removing it is refused: the
/// user lives where it was created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_cannot_be_added_changed_or_removed() {
    let env = Env::start().await;
    env.create(&manifest("alice", "")).await.unwrap();
    let cu = env.wait_ready("alice").await;
    assert_eq!(
        cu.status.as_ref().and_then(|s| s.region.as_deref()),
        Some(REGION),
        "the default region used is recorded"
    );
    env.create(&manifest("bob", &format!("  region: {REGION}\n")))
        .await
        .unwrap();
    env.wait_ready("bob").await;
    let refused = |name: &'static str, region: serde_json::Value| {
        let api = env.api();
        async move {
            let patch = kube::api::Patch::Merge(json!({"spec": {"region": region}}));
            let err = api
                .patch(name, &Default::default(), &patch)
                .await
                .expect_err("refused");
            let kube::Error::Api(status) = err else {
                panic!("{name}: {err}")
            };
            assert_eq!(status.code, 422, "{name}");
            assert!(
                status.message.contains("region is immutable"),
                "{name}: {}",
                status.message
            );
        }
    };
    refused("alice", json!(REGION)).await;
    refused("alice", json!("eu-west-1")).await;
    refused("bob", json!("eu-west-1")).await;
    refused("bob", serde_json::Value::Null).await;
    // The same value again is no change.
    let same = kube::api::Patch::Merge(json!({"spec": {"region": REGION}}));
    env.api()
        .patch("bob", &Default::default(), &same)
        .await
        .expect("unchanged region accepted");
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

/// More hostile manifests: lengths, patterns, unicode edge cases, wrong JSON types. Together with
/// the tables above, well over 30 invalid or hostile inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_manifests_are_rejected_at_admission_naming_the_field() {
    let env = Env::start().await;
    let many_tags: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "non-ASCII username",
            with(&["username"], json!("álice")),
            "spec.username",
        ),
        (
            "zero-width space in username",
            with(&["username"], json!("ali\u{200B}ce")),
            "spec.username",
        ),
        (
            "right-to-left override in username",
            with(&["username"], json!("alice\u{202E}gpj")),
            "spec.username",
        ),
        (
            "empty username",
            with(&["username"], json!("")),
            "spec.username",
        ),
        (
            "newline in username",
            with(&["username"], json!("alice\nbob")),
            "spec.username",
        ),
        (
            "empty instanceId",
            with(&["instanceId"], json!("")),
            "spec.instanceId",
        ),
        (
            "instanceId too long",
            with(&["instanceId"], json!("i".repeat(101))),
            "spec.instanceId",
        ),
        (
            "region not a region",
            with(&["region"], json!("US-EAST-1")),
            "spec.region",
        ),
        (
            "first name too long",
            with(&["identityInfo"], json!({"firstName": "x".repeat(256)})),
            "spec.identityInfo.firstName",
        ),
        (
            "last name too long",
            with(&["identityInfo"], json!({"lastName": "é".repeat(301)})),
            "spec.identityInfo.lastName",
        ),
        (
            "email with a space",
            with(&["identityInfo"], json!({"email": "a b@example.com"})),
            "spec.identityInfo.email",
        ),
        (
            "mobile in full-width digits",
            with(
                &["identityInfo"],
                json!({"mobile": "+１４１５５５５０１００"}),
            ),
            "spec.identityInfo.mobile",
        ),
        (
            "tag value too long",
            with(&["tags"], json!({"team": "v".repeat(257)})),
            "spec.tags",
        ),
        (
            "tag key too long",
            with(&["tags"], json!({"k".repeat(129): "v"})),
            "spec.tags",
        ),
        (
            "50 tags",
            with(&["tags"], Value::Object(many_tags)),
            "spec.tags",
        ),
        (
            "after-contact work over the maximum",
            with(
                &["phoneConfig"],
                json!({"afterContactWorkTimeLimit": 2_000_001}),
            ),
            "spec.phoneConfig.afterContactWorkTimeLimit",
        ),
        (
            "after-contact work as a string",
            with(&["phoneConfig"], json!({"afterContactWorkTimeLimit": "30"})),
            "spec.phoneConfig.afterContactWorkTimeLimit",
        ),
        (
            "autoAccept as a string",
            with(&["phoneConfig"], json!({"autoAccept": "yes"})),
            "spec.phoneConfig.autoAccept",
        ),
        (
            "adoptExisting as a string",
            with(&["adoptExisting"], json!("true")),
            "spec.adoptExisting",
        ),
        (
            "empty Secret name",
            with(&["passwordSecretRef"], json!({"name": "", "key": "alice"})),
            "spec.passwordSecretRef.name",
        ),
        (
            "Secret key missing",
            with(&["passwordSecretRef"], json!({"name": "agent-passwords"})),
            "spec.passwordSecretRef.key",
        ),
        (
            "profile name too long",
            with(&["securityProfiles"], json!([{"name": "p".repeat(128)}])),
            "spec.securityProfiles[0].name",
        ),
        (
            "empty profile id",
            with(&["securityProfiles"], json!([{"id": ""}])),
            "spec.securityProfiles[0].id",
        ),
        (
            "hierarchy group with id and name",
            with(&["hierarchyGroup"], json!({"id": "x", "name": "Tier1"})),
            "spec.hierarchyGroup",
        ),
        (
            "directoryUserId too long",
            with(&["directoryUserId"], json!("d".repeat(257))),
            "spec.directoryUserId",
        ),
        (
            "securityProfiles as an object",
            with(&["securityProfiles"], json!({"name": "Agent"})),
            "spec.securityProfiles",
        ),
        (
            "username as a number",
            with(&["username"], json!(42)),
            "spec.username",
        ),
    ];
    let mut spec_missing = base();
    spec_missing.as_object_mut().unwrap().remove("spec");
    let mut cases = cases;
    cases.push(("no spec at all", spec_missing, "spec"));
    for (what, manifest, field) in cases {
        assert_refused_naming(what, env.create_raw(manifest).await, field);
    }
    assert!(env.connect.calls().is_empty(), "nothing reached Connect");
}

/// A Secret reference can only name a Secret in the resource's own namespace, and hostile
/// Secret contents are refused on the field without quoting them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_secret_references_and_contents_are_refused_naming_the_field() {
    let env = Env::start().await;
    let put = |ns: &'static str, value: Value| {
        let client = env.client.clone();
        async move {
            let api: Api<Secret> = Api::namespaced(client, ns);
            let s: Secret = serde_json::from_value(value).unwrap();
            api.create(&PostParams::default(), &s).await.unwrap();
        }
    };
    // A valid password, but in another namespace.
    put(
        "kube-system",
        json!({"metadata": {"name": "cross"}, "stringData": {"password": PASSWORD}}),
    )
    .await;
    put(
        NS,
        json!({"metadata": {"name": "odd"}, "data": {"binary": "/w==", "nul": "UGFzc3cwcmQAeA=="},
               "stringData": {"spaced": "Pass w0rd1", "long": format!("Pa1{}", "x".repeat(62))}}),
    )
    .await;
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        (
            // The unknown `namespace` field is pruned by the apiserver: the Secret is looked up
            // in the resource's own namespace, where it does not exist.
            "namespace-field",
            "{name: cross, key: password, namespace: kube-system}",
            "SecretNotFound",
            "spec.passwordSecretRef.name",
            "default/cross",
        ),
        (
            "binary-value",
            "{name: odd, key: binary}",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
            "UTF-8",
        ),
        (
            "nul-in-value",
            "{name: odd, key: nul}",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
            "control characters",
        ),
        (
            "space-in-value",
            "{name: odd, key: spaced}",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
            "whitespace",
        ),
        (
            "65-characters",
            "{name: odd, key: long}",
            "InvalidSpec",
            "spec.passwordSecretRef.key",
            "8 to 64",
        ),
    ];
    // Names and keys that could reach outside the namespace are refused at admission (the CRD's
    // patterns); the operator checks them again before any API call (unit-tested in
    // src/reconcile/secret.rs) in case an older CRD is installed.
    for (name, secret_ref, field) in [
        (
            "slash-in-name",
            "{name: kube-system/cross, key: password}",
            "spec.passwordSecretRef.name",
        ),
        (
            "dotdot-name",
            "{name: ../../kube-system/secrets/cross, key: password}",
            "spec.passwordSecretRef.name",
        ),
        (
            "upper-case-name",
            "{name: Agent-Passwords, key: alice}",
            "spec.passwordSecretRef.name",
        ),
        (
            "dotdot-key",
            "{name: agent-passwords, key: ../alice}",
            "spec.passwordSecretRef.key",
        ),
        (
            "slash-key",
            "{name: agent-passwords, key: a/b}",
            "spec.passwordSecretRef.key",
        ),
    ] {
        let mut v: Value = serde_yaml::from_str(&manifest(name, "")).unwrap();
        v["spec"]["passwordSecretRef"] = serde_yaml::from_str(secret_ref).unwrap();
        assert_refused_naming(name, env.create_raw(v).await, field);
    }
    for (name, secret_ref, want_reason, field, says) in &cases {
        let m = manifest(name, "").replace(
            "{name: agent-passwords, key: alice}",
            &format!("{{name: x, key: y}}\n# {secret_ref}"),
        );
        // Built as JSON so that a field the Rust type lacks (`namespace`) is really sent.
        let mut v: Value = serde_yaml::from_str(&m).unwrap();
        v["spec"]["passwordSecretRef"] = serde_yaml::from_str(secret_ref).unwrap();
        env.create_raw(v).await.unwrap();
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
            ready.message.contains(field) && ready.message.contains(says),
            "{name}: {:?} should name {field} and say {says:?}",
            ready.message
        );
        for secret in ["Pass w0rd1", "xxxxxxxxxx", PASSWORD] {
            assert!(!ready.message.contains(secret), "{name}: quotes the value");
        }
    }
    let stored = env.api().get("namespace-field").await.unwrap();
    assert_eq!(
        serde_json::to_value(&stored.spec.password_secret_ref).unwrap(),
        json!({"name": "cross", "key": "password"}),
        "the unknown field was pruned"
    );
    // A client asking for strict field validation is refused outright, naming the field.
    let mut v: Value = serde_yaml::from_str(&manifest("strict", "")).unwrap();
    v["spec"]["passwordSecretRef"]["namespace"] = json!("kube-system");
    let err = env
        .api()
        .patch(
            "strict",
            &kube::api::PatchParams::apply("test").validation_strict(),
            &kube::api::Patch::Apply(&v),
        )
        .await
        .expect_err("strict validation");
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert!(
        (400..500).contains(&status.code)
            && status.message.contains("spec.passwordSecretRef.namespace"),
        "{status:?}"
    );
    assert!(
        env.writes().is_empty(),
        "no Connect write with invalid data: {:?}",
        env.write_ops()
    );
}

const SAML_INSTANCE: &str = "22222222-2222-3333-4444-555555555555";
const DIRECTORY_INSTANCE: &str = "33333333-2222-3333-4444-555555555555";

/// A SAML and an EXISTING_DIRECTORY instance beside the CONNECT_MANAGED one, with the same
/// catalog names.
fn seed_identity_instances(env: &Env) {
    for (id, kind) in [
        (SAML_INSTANCE, "SAML"),
        (DIRECTORY_INSTANCE, "EXISTING_DIRECTORY"),
    ] {
        env.connect.seed_instance(sim::connect::InstanceSeed {
            identity_management_type: kind.into(),
            ..sim::connect::InstanceSeed::standard(id)
        });
    }
}

/// `manifest(name)` on `instance` with `changes` to its spec (a null removes the member).
fn on_instance(name: &str, instance: &str, changes: Value) -> Value {
    let mut v: Value = serde_yaml::from_str(&manifest(name, "")).unwrap();
    v["spec"]["instanceId"] = json!(instance);
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            v["spec"].as_object_mut().unwrap().remove(key);
        } else {
            v["spec"][key] = value.clone();
        }
    }
    v
}

/// A valid SAML user: names, no password, no email.
fn saml(name: &str, changes: Value) -> Value {
    let mut v = on_instance(
        name,
        SAML_INSTANCE,
        json!({"passwordSecretRef": null, "identityInfo": {"firstName": "Sam", "lastName": "Lee"}}),
    );
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            v["spec"].as_object_mut().unwrap().remove(key);
        } else {
            v["spec"][key] = value.clone();
        }
    }
    v
}

/// What depends on the instance's identity management (CreateUser and UserIdentityInfo
/// documentation) is checked against DescribeInstance before CreateUser: Ready=False
/// InvalidSpec naming the field, and no Connect write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_management_rules_are_checked_before_create_naming_the_field() {
    let env = Env::start().await;
    seed_identity_instances(&env);
    let managed = |name: &str, changes: Value| on_instance(name, INSTANCE, changes);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "cm-21-characters",
            managed("cm-21-characters", json!({"username": "u".repeat(21)})),
            "spec.username",
        ),
        (
            "cm-no-first-name",
            managed(
                "cm-no-first-name",
                json!({"identityInfo": {"lastName": "Lee", "email": "a@example.com"}}),
            ),
            "spec.identityInfo.firstName",
        ),
        (
            "cm-no-last-name",
            managed(
                "cm-no-last-name",
                json!({"identityInfo": {"firstName": "Ann", "email": "a@example.com"}}),
            ),
            "spec.identityInfo.lastName",
        ),
        (
            "cm-no-email",
            managed(
                "cm-no-email",
                json!({"identityInfo": {"firstName": "Ann", "lastName": "Lee"}}),
            ),
            "spec.identityInfo.email",
        ),
        (
            "cm-no-identity",
            managed("cm-no-identity", json!({"identityInfo": null})),
            "spec.identityInfo.firstName",
        ),
        (
            "cm-257-last-name",
            managed(
                "cm-257-last-name",
                json!({"identityInfo": {"firstName": "Ann", "lastName": "l".repeat(257), "email": "a@example.com"}}),
            ),
            "spec.identityInfo.lastName",
        ),
        (
            "cm-directory-id",
            managed("cm-directory-id", json!({"directoryUserId": "d-1"})),
            "spec.directoryUserId",
        ),
        (
            "cm-decomposed-name",
            managed(
                "cm-decomposed-name",
                json!({"identityInfo": {"firstName": "Rene\u{301}", "lastName": "Lee", "email": "a@example.com"}}),
            ),
            "spec.identityInfo.firstName",
        ),
        (
            "saml-password",
            saml(
                "saml-password",
                json!({"passwordSecretRef": {"name": "agent-passwords", "key": "alice"}}),
            ),
            "spec.passwordSecretRef",
        ),
        (
            "saml-email",
            saml(
                "saml-email",
                json!({"identityInfo": {"firstName": "Sam", "lastName": "Lee", "email": "s@example.com"}}),
            ),
            "spec.identityInfo.email",
        ),
        (
            "saml-no-last-name",
            saml(
                "saml-no-last-name",
                json!({"identityInfo": {"firstName": "Sam"}}),
            ),
            "spec.identityInfo.lastName",
        ),
        (
            "saml-directory-id",
            saml("saml-directory-id", json!({"directoryUserId": "d-1"})),
            "spec.directoryUserId",
        ),
        (
            "saml-decomposed-name",
            saml(
                "saml-decomposed-name",
                json!({"identityInfo": {"firstName": "Sam", "lastName": "Mu\u{308}ller"}}),
            ),
            "spec.identityInfo.lastName",
        ),
        (
            "dir-21-characters",
            on_instance(
                "dir-21-characters",
                DIRECTORY_INSTANCE,
                json!({"username": "d".repeat(21), "passwordSecretRef": null}),
            ),
            "spec.username",
        ),
        (
            "dir-password",
            on_instance("dir-password", DIRECTORY_INSTANCE, json!({})),
            "spec.passwordSecretRef",
        ),
    ];
    for (name, manifest, _) in &cases {
        env.create_raw(manifest.clone())
            .await
            .unwrap_or_else(|e| panic!("{name}: admission refused it: {e}"));
    }
    for (name, _, field) in &cases {
        let cu = env.wait_reason(name, "InvalidSpec").await;
        let ready = cu.status.unwrap().condition("Ready").unwrap().clone();
        assert_eq!(ready.status, "False", "{name}");
        assert!(
            ready.message.starts_with(&format!("{field}:")),
            "{name}: {:?} does not name {field}",
            ready.message
        );
    }
    assert!(
        env.writes().is_empty(),
        "no Connect write with invalid data: {:?}",
        env.write_ops()
    );
}

/// SAML allows usernames of 21 to 64 characters that other instances refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_usernames_may_have_up_to_64_characters() {
    let env = Env::start().await;
    seed_identity_instances(&env);
    let long = format!("{}@example.com", "s".repeat(52));
    for (name, username) in [("saml-21", "s".repeat(21)), ("saml-64", long.clone())] {
        env.create_raw(saml(name, json!({"username": username})))
            .await
            .unwrap();
        let cu = env.wait_ready(name).await;
        assert_eq!(reason(&cu), "Created", "{name}");
        let user = env.connect.user(SAML_INSTANCE, &Env::user_id(&cu)).unwrap();
        assert_eq!(user.username, username);
        assert_eq!(user.password, None, "no password on SAML");
    }
    assert_eq!(long.len(), 64);
}
