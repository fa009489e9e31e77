//! Bad input around instance objects: each case is refused at admission naming the field, or by
//! the operator with a reason and a message naming the field; none causes a Connect write.

mod common;

use std::time::Duration;

use common::*;
use connect_user_operator::instance::crd::ConnectInstance;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// A second instance of account 1, seeded by the test that needs it.
const OTHER_INSTANCE: &str = "22222222-2222-3333-4444-555555555555";

fn user(spec: Value) -> Value {
    let mut base = json!({
        "instanceRef": {"kind": "ConnectInstance", "name": "a"},
        "username": "bad",
        "passwordSecretRef": {"name": "agent-passwords", "key": "alice"},
        "identityInfo": {"firstName": "B", "lastName": "Ad", "email": "bad@example.com"},
        "securityProfiles": [{"name": "Agent"}],
        "routingProfile": {"name": "Basic Routing Profile"}
    });
    for (k, v) in spec.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    json!({"apiVersion": "connect.userops.dev/v1alpha1", "kind": "ConnectUser",
           "metadata": {"name": "bad"}, "spec": base})
}

fn instance(kind: &str, spec: Value) -> Value {
    let mut base = json!({"instanceId": INSTANCE, "region": REGION});
    for (k, v) in spec.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    let mut obj = json!({"apiVersion": "connect.userops.dev/v1alpha1", "kind": kind,
                         "metadata": {"name": "bad"}, "spec": base});
    if kind == "ConnectInstance" {
        obj["metadata"]["namespace"] = json!(NS);
    }
    obj
}

async fn create_dynamic(env: &Env, obj: Value) -> Result<(), kube::Error> {
    use connect_user_operator::instance::crd::ClusterConnectInstance;
    let (ar, namespaced) = match obj["kind"].as_str().unwrap() {
        "ConnectUser" => (
            ApiResource::erase::<connect_user_operator::crd::ConnectUser>(&()),
            true,
        ),
        "ConnectInstance" => (ApiResource::erase::<ConnectInstance>(&()), true),
        _ => (ApiResource::erase::<ClusterConnectInstance>(&()), false),
    };
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(env.client.clone(), NS, &ar)
    } else {
        Api::all_with(env.client.clone(), &ar)
    };
    let obj: DynamicObject = serde_json::from_value(obj).unwrap();
    api.create(&PostParams::default(), &obj).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_inputs_are_rejected_at_admission_naming_the_field() {
    let env = Env::start().await;
    let arn = |region: &str, account: &str| {
        format!("arn:aws:connect:{region}:{account}:instance/{INSTANCE}")
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "both instanceId and instanceRef",
            user(json!({"instanceId": INSTANCE})),
            "spec.instanceId",
        ),
        (
            "neither instanceId nor instanceRef",
            user(json!({"instanceRef": null})),
            "spec.instanceId",
        ),
        (
            "instanceRef with region",
            user(json!({"region": REGION})),
            "spec.region",
        ),
        (
            "an unknown kind",
            user(json!({"instanceRef": {"kind": "Secret", "name": "a"}})),
            "spec.instanceRef.kind",
        ),
        (
            "a namespace on a ClusterConnectInstance reference",
            user(
                json!({"instanceRef": {"kind": "ClusterConnectInstance", "name": "a", "namespace": "x"}}),
            ),
            "spec.instanceRef",
        ),
        (
            "a reference name with a slash",
            user(json!({"instanceRef": {"kind": "ConnectInstance", "name": "other/a"}})),
            "spec.instanceRef.name",
        ),
        (
            "a malformed instance ARN",
            instance("ConnectInstance", json!({"instanceId": arn(REGION, "12")})),
            "spec.instanceId",
        ),
        (
            "an ARN of another region",
            instance(
                "ConnectInstance",
                json!({"instanceId": arn("eu-west-2", "123456789012")}),
            ),
            "spec.instanceId",
        ),
        (
            "a user ARN as roleArn",
            instance(
                "ClusterConnectInstance",
                json!({"roleArn": "arn:aws:iam::123456789012:user/admin"}),
            ),
            "spec.roleArn",
        ),
        (
            "externalId without roleArn",
            instance("ConnectInstance", json!({"externalId": "team-a-secret"})),
            "spec.roleArn",
        ),
        (
            "a zero rate",
            instance(
                "ConnectInstance",
                json!({"quota": {"rate": 0.0, "burst": 4}}),
            ),
            "spec.quota.rate",
        ),
        (
            "no region",
            instance("ConnectInstance", json!({"region": null})),
            "spec.region",
        ),
        (
            "an unknown dangling policy",
            instance("ConnectInstance", json!({"danglingQuickConnects": "Purge"})),
            "spec.danglingQuickConnects",
        ),
        (
            "a compound check interval",
            instance("ConnectInstance", json!({"danglingCheckInterval": "1h30m"})),
            "spec.danglingCheckInterval",
        ),
        (
            "a zero check interval",
            instance("ConnectInstance", json!({"danglingCheckInterval": "0s"})),
            "spec.danglingCheckInterval",
        ),
    ];
    for (what, manifest, field) in cases {
        assert_refused_naming(what, create_dynamic(&env, manifest).await, field);
    }
    // instanceId and region of an instance object cannot change.
    create_dynamic(&env, instance("ConnectInstance", json!({})))
        .await
        .unwrap();
    let api: Api<ConnectInstance> = Api::namespaced(env.client.clone(), NS);
    for (field, value) in [
        ("region", json!("eu-west-2")),
        ("instanceId", json!("other-instance")),
    ] {
        let err = api
            .patch(
                "bad",
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": {field: value}})),
            )
            .await
            .expect_err(field);
        let kube::Error::Api(status) = err else {
            panic!("{field}: {err}")
        };
        assert!(
            status.message.contains(&format!("spec.{field}"))
                && status.message.contains("immutable"),
            "{}",
            status.message
        );
    }
    assert!(
        env.writes().is_empty(),
        "no Connect write: {:?}",
        env.write_ops()
    );
}

/// Waits for the ConnectUser `bad` to report `reason` and returns the Ready message.
async fn refused(env: &Env, reason: &str) -> String {
    let cu = env.wait_reason("bad", reason).await;
    cu.status
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message
        .clone()
}

async fn delete_bad(env: &Env) {
    env.delete("bad").await;
    env.wait_gone("bad").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_references_are_refused_with_a_reason_naming_the_field() {
    let env = Env::start().await;
    // Another namespace's ConnectInstance.
    create_dynamic(
        &env,
        user(
            json!({"instanceRef": {"kind": "ConnectInstance", "name": "a", "namespace": "team-b"}}),
        ),
    )
    .await
    .unwrap();
    let m = refused(&env, "InstanceNotAllowed").await;
    assert!(m.starts_with("spec.instanceRef.namespace:"), "{m}");
    delete_bad(&env).await;

    // No such ConnectInstance.
    create_dynamic(&env, user(json!({}))).await.unwrap();
    let m = refused(&env, "InstanceNotFound").await;
    assert!(
        m.starts_with("spec.instanceRef.name:") && m.contains("no ConnectInstance named \"a\""),
        "{m}"
    );
    delete_bad(&env).await;

    // A ClusterConnectInstance without namespaceSelector: usable from no namespace.
    let mut cci = instance("ClusterConnectInstance", json!({}));
    cci["metadata"]["name"] = json!("open");
    create_dynamic(&env, cci).await.unwrap();
    create_dynamic(
        &env,
        user(json!({"instanceRef": {"kind": "ClusterConnectInstance", "name": "open"}})),
    )
    .await
    .unwrap();
    let m = refused(&env, "InstanceNotAllowed").await;
    assert!(
        m.starts_with("spec.instanceRef:") && m.contains("no namespaceSelector"),
        "{m}"
    );
    delete_bad(&env).await;

    // A role that does not exist: the instance object is not Ready, the ConnectUser waits.
    let missing_role = sim::aws::role_arn("222222222222", "nobody");
    let mut ci = instance("ConnectInstance", json!({"roleArn": missing_role}));
    ci["metadata"]["name"] = json!("a");
    create_dynamic(&env, ci).await.unwrap();
    create_dynamic(&env, user(json!({}))).await.unwrap();
    // Before the instance object's first check the reason is the same, with another message.
    let cu = env
        .wait_for("bad", "InstanceNotReady for its credentials", |cu| {
            reason(cu) == "InstanceNotReady"
                && cu
                    .status
                    .as_ref()
                    .and_then(|s| s.condition("Ready"))
                    .is_some_and(|c| c.message.contains("CredentialsUnavailable"))
        })
        .await;
    let m = cu
        .status
        .unwrap()
        .condition("Ready")
        .unwrap()
        .message
        .clone();
    assert!(
        m.starts_with("spec.instanceRef:") && m.contains("CredentialsUnavailable"),
        "{m}"
    );
    delete_bad(&env).await;
    assert!(
        env.writes().is_empty(),
        "no Connect write: {:?}",
        env.write_ops()
    );
    let ci: Api<ConnectInstance> = Api::namespaced(env.client.clone(), NS);
    ci.delete("a", &Default::default()).await.unwrap();

    env.connect
        .seed_instance(sim::connect::InstanceSeed::standard(OTHER_INSTANCE));
    // Switching a user to instanceId of another instance than the one it lives in.
    let mut good = instance("ConnectInstance", json!({}));
    good["metadata"]["name"] = json!("a");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while create_dynamic(&env, good.clone()).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ConnectInstance a never went away"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    create_dynamic(&env, user(json!({}))).await.unwrap();
    env.wait_ready("bad").await;
    let before = env.writes().len();
    env.api()
        .patch(
            "bad",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"instanceRef": null, "instanceId": OTHER_INSTANCE}})),
        )
        .await
        .unwrap();
    let m = refused(&env, "InvalidSpec").await;
    assert!(
        m.starts_with("spec.instanceId:") && m.contains("cannot move"),
        "{m}"
    );
    assert_eq!(
        env.writes().len(),
        before,
        "no Connect write: {:?}",
        env.write_ops()
    );
    // Back to the reference, then to instanceId of the same instance: accepted.
    for spec in [
        json!({"instanceId": null, "instanceRef": {"kind": "ConnectInstance", "name": "a"}}),
        json!({"instanceRef": null, "instanceId": INSTANCE}),
    ] {
        env.api()
            .patch(
                "bad",
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": spec})),
            )
            .await
            .unwrap();
        let cu = env
            .wait_for("bad", "Ready at the new generation", |cu| {
                ready(cu).is_some_and(|(s, _)| s == "True")
                    && cu.status.as_ref().and_then(|s| s.observed_generation)
                        == cu.metadata.generation
            })
            .await;
        assert_eq!(cu.status.unwrap().instance.unwrap().instance_id, INSTANCE);
    }
    assert_eq!(env.writes().len(), before, "switching forms wrote nothing");
}

/// An operator installed for some namespaces only serves no ClusterConnectInstance unless asked
/// (`--cluster-connect-instances`): a reference to one is refused on the kind, with no Connect
/// call, and the object itself is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespaced_install_refuses_cluster_connect_instances_unless_asked() {
    let env = Env::start_with(Options {
        namespaces: vec![NS.to_string()],
        cluster_instances: false,
        ..Options::default()
    })
    .await;
    let mut cci = instance(
        "ClusterConnectInstance",
        json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}),
    );
    cci["metadata"]["name"] = json!("shared");
    create_dynamic(&env, cci).await.unwrap();
    create_dynamic(
        &env,
        user(json!({"instanceRef": {"kind": "ClusterConnectInstance", "name": "shared"}})),
    )
    .await
    .unwrap();
    let m = refused(&env, "InstanceNotAllowed").await;
    assert!(
        m.starts_with("spec.instanceRef.kind:") && m.contains("clusterConnectInstances: true"),
        "{m}"
    );
    assert!(env.connect.calls().is_empty(), "{:?}", env.connect.calls());
    let api: Api<connect_user_operator::instance::crd::ClusterConnectInstance> =
        Api::all(env.client.clone());
    let shared = api.get("shared").await.unwrap();
    assert!(shared.status.is_none() && kube::ResourceExt::finalizers(&shared).is_empty());
}
