//! docs/gitops.md's Argo CD health script and Flux healthCheckExprs, taken from the doc and run
//! the way each tool runs them (tests/gitops_support), on ConnectUser, ConnectInstance and
//! ClusterConnectInstance objects the operator really wrote against the emulators in each
//! state: no status yet, creating, ready, drift corrected, stalled (InvalidSpec, NotOwned,
//! ConnectNotFound), deleting, deletion blocked, throttled, an instance deleted while in use.
//! Negative controls: broken copies of the Lua script and of the CEL expressions (a wrong field
//! path, a library Argo CD does not open, a syntax error) are caught on the same objects.

mod common;
mod gitops_support;

use std::time::Duration;

use common::*;
use connect_user_operator::crd::{ConnectUser, OWNER_TAG};
use connect_user_operator::instance::crd::{
    ClusterConnectInstance, ConnectInstance, IN_USE_FINALIZER,
};
use gitops_support::*;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Resource};
use serde_json::{Value, json};
use sim::aws::{TEST_ACCOUNT_ID, Trust};
use sim::connect::{Fault, FaultKind, InstanceSeed};

const INSTANCE_B: &str = "bbbbbbbb-2222-3333-4444-555555555555";
const NO_SUCH_INSTANCE: &str = "99999999-2222-3333-4444-555555555555";
const ACCOUNT_2: &str = "222222222222";

/// One captured object and what each tool must show for it.
struct Case {
    state: &'static str,
    object: Value,
    argo: &'static str,
    /// A piece of Argo CD's message.
    argo_message: &'static str,
    flux: &'static str,
}

fn resource<K: Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// The object as the API server serves it to a GitOps tool (JSON, every field).
async fn raw<K: Resource<DynamicType = ()>>(env: &Env, namespaced: bool, name: &str) -> Value {
    let ar = resource::<K>();
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(env.client.clone(), NS, &ar)
    } else {
        Api::all_with(env.client.clone(), &ar)
    };
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

/// Polls `name` (of kind K) until `cond` holds on its JSON; returns that JSON.
async fn capture<K: Resource<DynamicType = ()>>(
    env: &Env,
    namespaced: bool,
    name: &str,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = raw::<K>(env, namespaced, name).await;
        if cond(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: {what}; now {:#}",
            v["status"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn is(v: &Value, kind: &str, status: &str, reason: &str) -> bool {
    condition(v, kind).is_some_and(|c| c["status"] == status && c["reason"] == reason)
}

fn deleting(v: &Value) -> bool {
    !v["metadata"]["deletionTimestamp"].is_null()
}

fn ci_manifest(name: &str, instance: &str) -> ConnectInstance {
    serde_yaml::from_str(&format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  instanceId: {instance}\n  region: {REGION}\n"
    ))
    .unwrap()
}

/// Every state, captured from the operator's own writes.
async fn capture_cases() -> Vec<Case> {
    let mut env = Env::start_with(Options {
        resync: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let cis: Api<ConnectInstance> = Api::namespaced(env.client.clone(), NS);
    let ccis: Api<ClusterConnectInstance> = Api::all(env.client.clone());
    let mut cases = Vec::new();

    // No status yet: the operator is not running when the objects are created.
    env.stop_operator().await;
    env.create(&manifest("fresh", "")).await.unwrap();
    cis.create(&PostParams::default(), &ci_manifest("fresh", INSTANCE))
        .await
        .unwrap();
    for (object, kind) in [
        (raw::<ConnectUser>(&env, true, "fresh").await, "ConnectUser"),
        (
            raw::<ConnectInstance>(&env, true, "fresh").await,
            "ConnectInstance",
        ),
    ] {
        assert!(object["status"].is_null(), "{kind}: {object:#}");
        cases.push(Case {
            state: "no status yet",
            object,
            argo: "Progressing",
            argo_message: "Waiting for the operator",
            flux: "Unknown",
        });
    }
    env.start_operator();

    // Creating: CreateUser waits (as for its quota) after the operator said Reconciling.
    env.connect.add_fault(Fault::on(
        "CreateUser",
        FaultKind::Latency(Duration::from_secs(2)),
    ));
    env.create(&manifest("alice", "")).await.unwrap();
    cases.push(Case {
        state: "creating",
        object: capture::<ConnectUser>(&env, true, "alice", "Reconciling=True Creating", |v| {
            is(v, "Reconciling", "True", "Creating")
        })
        .await,
        argo: "Progressing",
        argo_message: "Creating",
        flux: "InProgress",
    });
    let created = capture::<ConnectUser>(&env, true, "alice", "Ready=True", |v| {
        condition(v, "Ready").is_some_and(|c| c["status"] == "True")
    })
    .await;
    env.connect.clear_faults();
    cases.push(Case {
        state: "ready",
        object: created.clone(),
        argo: "Healthy",
        argo_message: "",
        flux: "Current",
    });

    // Drift corrected: the last name changed in the console, put back at the next resync.
    let id = created["status"]["userId"].as_str().unwrap().to_string();
    assert!(env.connect.modify_user(INSTANCE, &id, |u| {
        u.identity_info.as_mut().unwrap().last_name = Some("Console".into())
    }));
    cases.push(Case {
        state: "drift corrected",
        object: capture::<ConnectUser>(&env, true, "alice", "Ready=True DriftCorrected", |v| {
            is(v, "Ready", "True", "DriftCorrected")
        })
        .await,
        argo: "Healthy",
        argo_message: "",
        flux: "Current",
    });

    // Stalled, InvalidSpec: no such security profile.
    env.create(&manifest("typo", "").replace("[{name: Agent}]", "[{name: NoSuchProfile}]"))
        .await
        .unwrap();
    cases.push(Case {
        state: "stalled (InvalidSpec)",
        object: capture::<ConnectUser>(&env, true, "typo", "Stalled=True InvalidSpec", |v| {
            is(v, "Stalled", "True", "InvalidSpec")
        })
        .await,
        argo: "Degraded",
        // What docs/gitops.md says Argo CD shows for a typo in a security profile name.
        argo_message: "InvalidSpec: spec.securityProfiles[0].name: no security profile named \"NoSuchProfile\" in this instance",
        flux: "Failed",
    });

    // Stalled, NotOwned: someone re-tagged the user for another owner.
    env.create(&manifest("bob", "")).await.unwrap();
    let bob = env.wait_ready("bob").await;
    let bob_id = Env::user_id(&bob);
    assert!(env.connect.modify_user(INSTANCE, &bob_id, |u| {
        u.tags.insert(OWNER_TAG.into(), "someone-else".into());
    }));
    cases.push(Case {
        state: "stalled (NotOwned)",
        object: capture::<ConnectUser>(&env, true, "bob", "Stalled=True NotOwned", |v| {
            is(v, "Stalled", "True", "NotOwned")
        })
        .await,
        argo: "Degraded",
        argo_message: "NotOwned: ",
        flux: "Failed",
    });

    // Deletion blocked: the user is not ours, so the finalizer stays.
    env.delete("bob").await;
    cases.push(Case {
        state: "deletion blocked (NotOwned)",
        object: capture::<ConnectUser>(&env, true, "bob", "deleting, Stalled=True NotOwned", |v| {
            // Deletion bumps metadata.generation: the operator's word on the deletion itself.
            deleting(v)
                && v["status"]["observedGeneration"] == v["metadata"]["generation"]
                && is(v, "Stalled", "True", "NotOwned")
        })
        .await,
        argo: "Progressing",
        argo_message: "Pending deletion",
        flux: "Failed",
    });

    // Deleting: the quick-connect listings take a while (as with many pages).
    env.create(&manifest("carol", "")).await.unwrap();
    env.wait_ready("carol").await;
    env.connect.add_fault(Fault::on(
        "SearchQuickConnects",
        FaultKind::Latency(Duration::from_millis(500)),
    ));
    env.delete("carol").await;
    cases.push(Case {
        state: "deleting",
        object: capture::<ConnectUser>(&env, true, "carol", "deleting, Reconciling=True", |v| {
            deleting(v) && condition(v, "Reconciling").is_some_and(|c| c["status"] == "True")
        })
        .await,
        argo: "Progressing",
        argo_message: "Pending deletion",
        flux: "InProgress",
    });
    env.wait_gone("carol").await;
    env.connect.clear_faults();

    // Throttled: every Connect call answers ThrottlingException while a spec change waits.
    env.connect.add_fault(Fault::all(FaultKind::ErrorRate {
        rate: 1.0,
        status: 429,
    }));
    env.connect.clear_calls();
    env.api()
        .patch(
            "alice",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"identityInfo": {"firstName": "Alicia"}}})),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while env
        .connect
        .calls()
        .iter()
        .filter(|c| c.status == 429)
        .count()
        < 2
    {
        assert!(tokio::time::Instant::now() < deadline, "no throttled calls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let throttled = raw::<ConnectUser>(&env, true, "alice").await;
    assert_eq!(throttled["metadata"]["generation"], 2, "{throttled:#}");
    // Throttling changes no status: it stays at the generation before the change.
    assert_eq!(
        throttled["status"]["observedGeneration"], 1,
        "{throttled:#}"
    );
    cases.push(Case {
        state: "throttled",
        object: throttled,
        argo: "Progressing",
        argo_message: "",
        flux: "InProgress",
    });
    env.connect.clear_faults();
    cases.push(Case {
        state: "ready after the throttled change",
        object: capture::<ConnectUser>(&env, true, "alice", "Ready for generation 2", |v| {
            v["status"]["observedGeneration"] == 2
                && condition(v, "Ready").is_some_and(|c| c["status"] == "True")
        })
        .await,
        argo: "Healthy",
        argo_message: "",
        flux: "Current",
    });

    // Instance objects: verified, not found, a ClusterConnectInstance through a role, deleted
    // while a ConnectUser uses it.
    cases.push(Case {
        state: "ConnectInstance ready",
        object: capture::<ConnectInstance>(&env, true, "fresh", "Ready=True", |v| {
            is(v, "Ready", "True", "Verified")
        })
        .await,
        argo: "Healthy",
        argo_message: "DescribeInstance",
        flux: "Current",
    });
    cis.create(
        &PostParams::default(),
        &ci_manifest("gone", NO_SUCH_INSTANCE),
    )
    .await
    .unwrap();
    cases.push(Case {
        state: "ConnectInstance stalled (not found)",
        object: capture::<ConnectInstance>(&env, true, "gone", "Stalled=True", |v| {
            condition(v, "Stalled").is_some_and(|c| c["status"] == "True")
        })
        .await,
        argo: "Degraded",
        argo_message: "ConnectNotFound: ",
        flux: "Failed",
    });
    env.connect
        .seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    let role = env.connect.iam().create_role(
        ACCOUNT_2,
        "connect-operator",
        Trust::account(TEST_ACCOUNT_ID),
    );
    let cci: ClusterConnectInstance = serde_yaml::from_str(&format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ClusterConnectInstance\nmetadata: {{name: b}}\nspec:\n  instanceId: arn:aws:connect:{REGION}:{ACCOUNT_2}:instance/{INSTANCE_B}\n  region: {REGION}\n  roleArn: {role}\n"
    ))
    .unwrap();
    ccis.create(&PostParams::default(), &cci).await.unwrap();
    cases.push(Case {
        state: "ClusterConnectInstance ready",
        object: capture::<ClusterConnectInstance>(&env, false, "b", "Ready=True", |v| {
            is(v, "Ready", "True", "Verified")
        })
        .await,
        argo: "Healthy",
        argo_message: "",
        flux: "Current",
    });
    env.create(&manifest("dave", "").replace(
        &format!("  instanceId: {INSTANCE}\n"),
        "  instanceRef: {kind: ConnectInstance, name: fresh}\n",
    ))
    .await
    .unwrap();
    env.wait_ready("dave").await;
    capture::<ConnectInstance>(&env, true, "fresh", "the in-use finalizer", |v| {
        v["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == IN_USE_FINALIZER))
    })
    .await;
    cis.delete("fresh", &Default::default()).await.unwrap();
    cases.push(Case {
        state: "ConnectInstance deleted while in use",
        object: capture::<ConnectInstance>(&env, true, "fresh", "deleting, InUse", |v| {
            deleting(v) && is(v, "Reconciling", "True", "InUse")
        })
        .await,
        argo: "Progressing",
        argo_message: "Pending deletion",
        flux: "InProgress",
    });
    cases
}

fn kind_of(v: &Value) -> String {
    v["kind"].as_str().unwrap().to_string()
}

/// Where Argo CD, running `scripts` (by kind), disagrees with the expected health.
fn argo_mismatches(
    scripts: &std::collections::BTreeMap<String, String>,
    cases: &[Case],
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let kind = kind_of(&c.object);
        let Some(script) = scripts.get(&kind) else {
            out.push(format!("{}: no health script for {kind}", c.state));
            continue;
        };
        let got = &argocd_health(script, std::slice::from_ref(&c.object))[0];
        if got.error.is_empty() && got.status == c.argo && got.message.contains(c.argo_message) {
            continue;
        }
        out.push(format!(
            "case {i} {} ({kind}): want {} ~{:?}, got {got:?}",
            c.state, c.argo, c.argo_message
        ));
    }
    out
}

/// Where Flux, evaluating `exprs` (by kind), disagrees with the expected status.
fn flux_mismatches(
    exprs: &std::collections::BTreeMap<String, Exprs>,
    cases: &[Case],
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let kind = kind_of(&c.object);
        let Some(e) = exprs.get(&kind) else {
            out.push(format!("{}: no healthCheckExprs for {kind}", c.state));
            continue;
        };
        match flux_health(e, std::slice::from_ref(&c.object)) {
            Err(err) => out.push(format!("{}: Flux refuses the expressions: {err}", c.state)),
            Ok(got) => {
                let got = &got[0];
                // Only the object without status may fail to evaluate, and only for want of it.
                let error_ok = if c.flux == "Unknown" {
                    got.error.contains("status")
                } else {
                    got.error.is_empty()
                };
                if got.status != c.flux || !error_ok {
                    out.push(format!(
                        "case {i} {} ({kind}): want {}, got {got:?} for {:#}",
                        c.state, c.flux, c.object
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_health_checks_read_every_state_the_operator_writes() {
    let doc = gitops_doc();
    let scripts = argocd_scripts(&doc);
    let exprs = flux_exprs(&doc);
    for kind in KINDS {
        assert!(
            scripts.contains_key(kind),
            "no Argo CD health script for {kind}"
        );
        assert!(
            exprs.contains_key(kind),
            "no Flux healthCheckExprs for {kind}"
        );
    }
    let cases = capture_cases().await;

    let wrong = argo_mismatches(&scripts, &cases);
    assert!(wrong.is_empty(), "Argo CD health:\n{}", wrong.join("\n"));
    let wrong = flux_mismatches(&exprs, &cases);
    assert!(wrong.is_empty(), "Flux health:\n{}", wrong.join("\n"));

    // Negative controls, on the same objects. A wrong field path: every object looks new.
    let broken: std::collections::BTreeMap<String, String> = scripts
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                s.replace("obj.status.conditions", "obj.status.condition"),
            )
        })
        .collect();
    assert_ne!(broken, scripts);
    assert!(
        !argo_mismatches(&broken, &cases).is_empty(),
        "a health script with a wrong field path went unnoticed"
    );
    // A library Argo CD does not open (string): the script errors where it builds a message.
    let broken: std::collections::BTreeMap<String, String> = scripts
        .iter()
        .map(|(k, s)| {
            (
                k.clone(),
                s.replace(
                    "stalled.reason .. \": \" .. stalled.message",
                    "string.format(\"%s: %s\", stalled.reason, stalled.message)",
                ),
            )
        })
        .collect();
    assert_ne!(broken, scripts);
    let wrong = argo_mismatches(&broken, &cases);
    assert!(
        wrong.iter().any(|w| w.contains("string")),
        "a health script using the string library went unnoticed: {wrong:?}"
    );
    // CEL: a wrong field path (every Ready object stays in progress), then a syntax error.
    let broken: std::collections::BTreeMap<String, Exprs> = exprs
        .iter()
        .map(|(k, e)| {
            let mut e = e.clone();
            e.current = e.current.replace("status.?conditions", "status.?condition");
            (k.clone(), e)
        })
        .collect();
    assert!(
        !flux_mismatches(&broken, &cases).is_empty(),
        "a current expression with a wrong field path went unnoticed"
    );
    let broken: std::collections::BTreeMap<String, Exprs> = exprs
        .iter()
        .map(|(k, e)| {
            let mut e = e.clone();
            e.failed = e
                .failed
                .as_ref()
                .map(|f| f.replace(".exists(c,", ".exists(c"));
            (k.clone(), e)
        })
        .collect();
    let wrong = flux_mismatches(&broken, &cases);
    assert!(
        wrong.iter().any(|w| w.contains("refuses")),
        "a failed expression with a syntax error went unnoticed: {wrong:?}"
    );
}
