//! The scenario, step by step, each polled to its condition with a deadline; then a teardown
//! that runs whatever happened (finalizer, operator process, Connect resources of the run,
//! namespace).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{QuickConnectConfig, QuickConnectType, UserQuickConnectConfig};
use serde_json::{Value, json};

use super::kubectl::Kubectl;
use super::process::OperatorProcess;
use super::{Operator, Plan, SmokeReport, Step};
use crate::connect::discover::{self, Instance};
use crate::connect::observe;
use crate::connect::run::clients;
use crate::names::{MARKER_TAG, Names};

/// The CRD as committed (generated from the operator's types; a test keeps it current).
pub const CRD: &str = include_str!("../../../crds/connectuser.yaml");
const CRD_NAME: &str = "connectusers.connect.userops.dev";
const OWNER_TAG: &str = "connect.userops.dev/owner";

/// What the steps learn, for the later ones and the teardown.
#[derive(Default)]
struct State {
    instance: Option<Instance>,
    user_id: Option<String>,
    managed_quick_connect: Option<String>,
    console_quick_connect: Option<String>,
    /// Ids the last step proved gone (the teardown ignores them in lagging listings).
    gone: Vec<String>,
    /// The scenario ran `kubectl delete` (the operator had its chance).
    delete_attempted: bool,
    operator: Option<OperatorProcess>,
}

struct Ctx<'a> {
    plan: &'a Plan,
    kubectl: Kubectl,
    client: Client,
    names: Names,
    namespace: String,
    /// The ConnectUser's name and its username.
    name: String,
    password: String,
}

impl Ctx<'_> {
    fn poll(&self) -> Duration {
        self.plan.connect.timing.poll.max(Duration::from_millis(50))
    }

    /// Polls `check` until it gives a value, or fails with its last complaint at the step
    /// deadline.
    async fn until<T, F, Fut>(&self, mut check: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, String>>,
    {
        let deadline = Instant::now() + self.plan.step_timeout;
        let mut last = String::from("not yet");
        loop {
            match check().await {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e) => last = e,
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not within {:.0} s: {last}",
                    self.plan.step_timeout.as_secs_f64()
                ));
            }
            tokio::time::sleep(self.poll()).await;
        }
    }

    async fn resource(&self) -> Result<Option<Value>, String> {
        self.kubectl
            .get_json(&["connectuser", &self.name, "-n", &self.namespace])
            .await
    }
}

fn condition<'v>(cu: &'v Value, kind: &str) -> Option<&'v Value> {
    cu.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn ready(cu: &Value) -> bool {
    condition(cu, "Ready").is_some_and(|c| c["status"] == "True")
        && cu.pointer("/status/observedGeneration") == cu.pointer("/metadata/generation")
}

fn ready_text(cu: &Value) -> String {
    condition(cu, "Ready")
        .map(|c| format!("Ready={} {}: {}", c["status"], c["reason"], c["message"]))
        .unwrap_or_else(|| "no Ready condition yet".into())
}

/// The ConnectUser the scenario applies: every required field from the instance, a managed
/// quick connect, the run's marker tag.
fn manifest(cx: &Ctx, i: &Instance, flow: &str, first_name: &str, tags: &[(&str, &str)]) -> String {
    let mut identity = json!({"firstName": first_name, "lastName": "Smoke"});
    if i.is("CONNECT_MANAGED") {
        identity["email"] = json!("conformance@example.com");
    }
    let mut tag_map = serde_json::Map::new();
    tag_map.insert(MARKER_TAG.into(), json!(cx.names.run()));
    for (k, v) in tags {
        tag_map.insert((*k).into(), json!(v));
    }
    let region = cx
        .plan
        .connect
        .sdk_config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut spec = json!({
        "instanceId": i.id,
        "region": region,
        "username": cx.name,
        "identityInfo": identity,
        "securityProfiles": [{"name": i.security_profile.name}],
        "routingProfile": {"name": i.routing_profile.name},
        "quickConnect": {"name": format!("{} transfer", cx.name), "contactFlow": {"name": flow}},
        "tags": tag_map,
    });
    if i.is("CONNECT_MANAGED") {
        spec["passwordSecretRef"] = json!({"name": "cfm-passwords", "key": "smoke"});
    }
    let doc = json!({
        "apiVersion": "connect.userops.dev/v1alpha1",
        "kind": "ConnectUser",
        "metadata": {"name": cx.name, "namespace": cx.namespace},
        "spec": spec,
    });
    serde_json::to_string(&doc).unwrap_or_default()
}

/// Runs one step: its result and duration go into the report; an error ends the scenario.
async fn step<F, Fut>(report: &mut SmokeReport, name: &str, f: F) -> bool
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    let started = Instant::now();
    let result = f().await;
    let ok = result.is_ok();
    report.steps.push(Step {
        name: name.to_string(),
        ok,
        duration: started.elapsed(),
        detail: result.unwrap_or_else(|e| e).trim().to_string(),
    });
    ok
}

/// Runs the scenario and the teardown.
pub async fn run(plan: &Plan) -> SmokeReport {
    let names = Names::random();
    let dir = tempfile::tempdir().ok();
    let cache = dir
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_else(std::env::temp_dir);
    let (client, _) = clients(&plan.connect, &Default::default());
    let cx = Ctx {
        plan,
        kubectl: Kubectl::new(&plan.kubeconfig, &cache.join("kube-cache")),
        client,
        namespace: format!("cfm-{}", names.run()),
        name: names.fixed("op"),
        names,
        password: crate::names::password(),
    };
    let mut report = SmokeReport {
        cluster: plan.cluster.clone(),
        connect: format!(
            "{} (instance {})",
            plan.connect.label, plan.connect.instance_id
        ),
        run_id: cx.names.run().to_string(),
        steps: Vec::new(),
        left_behind: Vec::new(),
        teardown: Vec::new(),
        operator_log_tail: None,
    };
    let mut state = State::default();
    scenario(&cx, &mut state, &mut report, &cache).await;
    teardown(&cx, &mut state, &mut report).await;
    report
}

async fn scenario(cx: &Ctx<'_>, st: &mut State, report: &mut SmokeReport, dir: &std::path::Path) {
    let plan = cx.plan;
    let instance_id = plan.connect.instance_id.clone();
    let mut instance = None;
    if !step(
        report,
        "discover the instance (DescribeInstance, List*)",
        || async {
            let i = discover::instance(&cx.client, &instance_id)
                .await
                .map_err(|e| e.0)?;
            if i.is("EXISTING_DIRECTORY") {
                return Err(
                    "the smoke test creates a user: use a CONNECT_MANAGED or SAML instance".into(),
                );
            }
            let detail = format!(
                "{}; security profile {:?}, routing profile {:?}, flow {:?}",
                i.identity_management_type,
                i.security_profile.name,
                i.routing_profile.name,
                i.agent_transfer_flow
                    .as_ref()
                    .map(|f| f.name.clone())
                    .unwrap_or_default()
            );
            if i.agent_transfer_flow.is_none() {
                return Err(format!(
                    "{detail}: no AGENT_TRANSFER contact flow for the quick connect"
                ));
            }
            instance = Some(i);
            Ok(detail)
        },
    )
    .await
    {
        return;
    }
    let i = instance.expect("set by the step");
    st.instance = Some(i.clone());
    let flow = i.agent_transfer_flow.clone().expect("checked").name;

    if plan.apply_crd
        && !step(
            report,
            "kubectl apply -f crds/connectuser.yaml; wait Established",
            || async {
                cx.kubectl.apply(CRD).await?;
                cx.kubectl
                    .run(
                        &[
                            "wait",
                            "--for=condition=Established",
                            &format!("crd/{CRD_NAME}"),
                            "--timeout=60s",
                        ],
                        None,
                    )
                    .await?;
                Ok(String::new())
            },
        )
        .await
    {
        return;
    }

    if !step(report, &format!("namespace {} and the password Secret", cx.namespace), || async {
        let mut docs = vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": cx.namespace}})];
        if i.is("CONNECT_MANAGED") {
            docs.push(json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "cfm-passwords", "namespace": cx.namespace},
                "stringData": {"smoke": cx.password},
            }));
        }
        for d in docs {
            cx.kubectl.apply(&d.to_string()).await?;
        }
        Ok(String::new())
    })
    .await
    {
        return;
    }

    if let Operator::Binary(bin) = &plan.operator {
        let mut env = plan.operator_env.clone();
        env.push(("KUBECONFIG".into(), plan.kubeconfig.display().to_string()));
        let log = dir.join("operator.log");
        let namespace = cx.namespace.clone();
        let mut spawned = None;
        let ok = step(
            report,
            "start the operator (connect-user-operator run)",
            || async {
                let p = OperatorProcess::spawn(bin, &namespace, &env, log)?;
                spawned = Some(p);
                Ok(format!("{} --namespace {namespace}", bin.display()))
            },
        )
        .await;
        st.operator = spawned;
        if !ok {
            return;
        }
    }

    if !step(
        report,
        "kubectl apply a ConnectUser with a quick connect",
        || async {
            cx.kubectl
                .apply(&manifest(cx, &i, &flow, "Smoke", &[]))
                .await
        },
    )
    .await
    {
        return;
    }

    let mut uid = String::new();
    if !step(
        report,
        "Ready=True, status.userId and status.quickConnectId",
        || async {
            let cu = cx
                .until(|| async {
                    let cu = cx.resource().await?.ok_or("the ConnectUser is gone")?;
                    if ready(&cu)
                        && cu.pointer("/status/userId").is_some()
                        && cu.pointer("/status/quickConnectId").is_some()
                    {
                        Ok(Some(cu))
                    } else {
                        Err(ready_text(&cu))
                    }
                })
                .await?;
            st.user_id = cu
                .pointer("/status/userId")
                .and_then(Value::as_str)
                .map(str::to_string);
            st.managed_quick_connect = cu
                .pointer("/status/quickConnectId")
                .and_then(Value::as_str)
                .map(str::to_string);
            uid = cu
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Ok(format!(
                "{}; userId {}",
                ready_text(&cu),
                st.user_id.clone().unwrap_or_default()
            ))
        },
    )
    .await
    {
        return;
    }
    let user_id = st.user_id.clone().unwrap_or_default();
    let managed = st.managed_quick_connect.clone().unwrap_or_default();

    if !step(
        report,
        "in Connect: the user (owner tag) and its quick connect",
        || async {
            let user = cx
                .until(|| async { describe_user(cx, &user_id).await })
                .await?;
            if user["Username"] != json!(cx.name) {
                return Err(format!(
                    "Username is {}, expected {}",
                    user["Username"], cx.name
                ));
            }
            if user.pointer(&format!("/Tags/{}", OWNER_TAG.replace('/', "~1"))) != Some(&json!(uid))
            {
                return Err(format!(
                    "the ownership tag is not the resource's UID {uid}: {}",
                    user["Tags"]
                ));
            }
            let qc = cx
                .until(|| async { describe_quick_connect(cx, &managed).await })
                .await?;
            if qc["UserId"] != json!(user_id) {
                return Err(format!(
                    "the quick connect targets {}, not the user",
                    qc["UserId"]
                ));
            }
            Ok(format!(
                "user {user_id}, quick connect {managed} ({})",
                qc["Name"].as_str().unwrap_or_default()
            ))
        },
    )
    .await
    {
        return;
    }

    let mut console = None;
    if !step(
        report,
        "an admin adds another quick connect to the user (API)",
        || async {
            let id = create_console_quick_connect(cx, &user_id, &i).await?;
            console = Some(id.clone());
            Ok(id)
        },
    )
    .await
    {
        return;
    }
    st.console_quick_connect = console;

    if !step(report, "kubectl patch: a new first name and tag", || async {
        let patch = json!({"spec": {"identityInfo": {"firstName": "Updated"}, "tags": {"cfm-smoke": "updated"}}});
        cx.kubectl
            .run(
                &["patch", "connectuser", &cx.name, "-n", &cx.namespace, "--type", "merge", "-p", &patch.to_string()],
                None,
            )
            .await
    })
    .await
    {
        return;
    }

    if !step(
        report,
        "the update reaches Connect; Ready for the new generation",
        || async {
            cx.until(|| async {
                let cu = cx.resource().await?.ok_or("the ConnectUser is gone")?;
                if ready(&cu) {
                    Ok(Some(()))
                } else {
                    Err(ready_text(&cu))
                }
            })
            .await?;
            cx.until(|| async {
                let u = describe_user(cx, &user_id).await?.ok_or("not found")?;
                if u.pointer("/IdentityInfo/FirstName") == Some(&json!("Updated"))
                    && u.pointer("/Tags/cfm-smoke") == Some(&json!("updated"))
                {
                    Ok(Some(()))
                } else {
                    Err(format!("Connect shows {} {}", u["IdentityInfo"], u["Tags"]))
                }
            })
            .await?;
            Ok(String::new())
        },
    )
    .await
    {
        return;
    }

    if !step(
        report,
        "kubectl delete connectuser (returns after the cleanup)",
        || async {
            let timeout = format!("--timeout={}s", plan.step_timeout.as_secs());
            cx.kubectl
                .run(
                    &[
                        "delete",
                        "connectuser",
                        &cx.name,
                        "-n",
                        &cx.namespace,
                        &timeout,
                    ],
                    None,
                )
                .await?;
            match cx.resource().await? {
                None => Ok(String::new()),
                Some(cu) => Err(format!("still there: {}", cu["status"])),
            }
        },
    )
    .await
    {
        return;
    }

    let ids: Vec<(String, &str)> = [
        (st.user_id.clone(), "user"),
        (st.managed_quick_connect.clone(), "managed quick connect"),
        (st.console_quick_connect.clone(), "admin's quick connect"),
    ]
    .into_iter()
    .filter_map(|(id, what)| id.map(|id| (id, what)))
    .collect();
    let mut gone = Vec::new();
    step(
        report,
        "nothing is left in Connect (each polled until NotFound)",
        || async {
            let started = Instant::now();
            let mut detail = Vec::new();
            for (id, what) in &ids {
                cx.until(|| async {
                    let found = if *what == "user" {
                        describe_user(cx, id).await?
                    } else {
                        describe_quick_connect(cx, id).await?
                    };
                    match found {
                        None => Ok(Some(())),
                        Some(_) => Err(format!("the {what} {id} still answers Describe")),
                    }
                })
                .await?;
                gone.push(id.clone());
                detail.push(format!(
                    "{what} gone after {:.2} s",
                    started.elapsed().as_secs_f64()
                ));
            }
            Ok(detail.join(", "))
        },
    )
    .await;
    st.gone = gone;
}

/// DescribeUser as JSON, `None` for ResourceNotFoundException.
async fn describe_user(cx: &Ctx<'_>, id: &str) -> Result<Option<Value>, String> {
    match cx
        .client
        .describe_user()
        .instance_id(&cx.plan.connect.instance_id)
        .user_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.user().map(observe::user)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(format!("DescribeUser {id}: {}", observe::error(&e))),
    }
}

async fn describe_quick_connect(cx: &Ctx<'_>, id: &str) -> Result<Option<Value>, String> {
    match cx
        .client
        .describe_quick_connect()
        .instance_id(&cx.plan.connect.instance_id)
        .quick_connect_id(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.quick_connect().map(observe::quick_connect)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(format!("DescribeQuickConnect {id}: {}", observe::error(&e))),
    }
}

/// A USER quick connect to the user that the operator did not make (as an admin would in the
/// console): the deletion must remove it too.
async fn create_console_quick_connect(
    cx: &Ctx<'_>,
    user_id: &str,
    i: &Instance,
) -> Result<String, String> {
    let flow = i.agent_transfer_flow.as_ref().ok_or("no flow")?;
    let config = QuickConnectConfig::builder()
        .quick_connect_type(QuickConnectType::User)
        .user_config(
            UserQuickConnectConfig::builder()
                .user_id(user_id)
                .contact_flow_id(&flow.id)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .build()
        .map_err(|e| e.to_string())?;
    let name = format!("{} console", cx.name);
    cx.until(|| async {
        let r = cx
            .client
            .create_quick_connect()
            .instance_id(&i.id)
            .name(&name)
            .quick_connect_config(config.clone())
            .tags(MARKER_TAG, cx.names.run())
            .send()
            .await;
        match r {
            Ok(out) => Ok(out.quick_connect_id().map(str::to_string)),
            // Not shown to CreateQuickConnect yet: retried.
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                Err(observe::error(&e).to_string())
            }
            Err(e) => Err(format!("CreateQuickConnect: {}", observe::error(&e))),
        }
    })
    .await
}

/// Whatever happened: the ConnectUser deleted (its finalizer removed if the operator could not
/// finish), the operator stopped, the run's Connect resources deleted (anything found is
/// reported as left behind), the namespace deleted.
async fn teardown(cx: &Ctx<'_>, st: &mut State, report: &mut SmokeReport) {
    let ns = cx.namespace.as_str();
    if let Ok(Some(_)) = cx.resource().await {
        // The operator gets its chance, unless the scenario's own deletion already gave it one.
        let wait = if st.delete_attempted {
            "--wait=false".to_string()
        } else {
            format!("--timeout={}s", cx.plan.step_timeout.as_secs().min(60))
        };
        let deleted = cx
            .kubectl
            .run(&["delete", "connectuser", &cx.name, "-n", ns, &wait], None)
            .await;
        if (deleted.is_err() || st.delete_attempted) && matches!(cx.resource().await, Ok(Some(_))) {
            let patch = r#"{"metadata":{"finalizers":null}}"#;
            match cx
                .kubectl
                .run(
                    &[
                        "patch",
                        "connectuser",
                        &cx.name,
                        "-n",
                        ns,
                        "--type",
                        "merge",
                        "-p",
                        patch,
                    ],
                    None,
                )
                .await
            {
                Ok(_) => report.teardown.push(format!(
                    "removed the finalizer of {ns}/{} (the operator did not finish)",
                    cx.name
                )),
                Err(e) => report.teardown.push(e),
            }
        }
    }
    if let Some(mut p) = st.operator.take() {
        if !p.running() {
            report
                .teardown
                .push("the operator process had exited".into());
        }
        report.operator_log_tail = Some(p.log_tail(40));
        p.stop().await;
    }
    match run_resources(cx).await {
        Ok(found) => {
            for (kind, id, name) in found {
                if st.gone.contains(&id) {
                    // Proven gone; a lagging listing still shows it.
                    continue;
                }
                let deleted = if kind == "user" {
                    cx.client
                        .delete_user()
                        .instance_id(&cx.plan.connect.instance_id)
                        .user_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| observe::error(&e).to_string())
                } else {
                    cx.client
                        .delete_quick_connect()
                        .instance_id(&cx.plan.connect.instance_id)
                        .quick_connect_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| observe::error(&e).to_string())
                };
                match deleted {
                    Ok(()) => report.left_behind.push(format!("{kind} {name} {id}")),
                    Err(e) if e.starts_with("ResourceNotFoundException") => {}
                    Err(e) => report
                        .left_behind
                        .push(format!("{kind} {name} {id} (could not delete: {e})")),
                }
            }
        }
        Err(e) => report
            .teardown
            .push(format!("listing the run's Connect resources: {e}")),
    }
    if let Err(e) = cx
        .kubectl
        .run(
            &[
                "delete",
                "namespace",
                ns,
                "--wait=false",
                "--ignore-not-found",
            ],
            None,
        )
        .await
    {
        report.teardown.push(e);
    }
}

/// Users and quick connects named `cfm-<run>-...` (this run's, whatever tags they carry).
async fn run_resources(cx: &Ctx<'_>) -> Result<Vec<(&'static str, String, String)>, String> {
    let prefix = cx.names.run_prefix();
    let instance = &cx.plan.connect.instance_id;
    let mut found = Vec::new();
    let qcs = cx
        .client
        .list_quick_connects()
        .instance_id(instance)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| observe::error(&e).to_string())?;
    for q in qcs {
        if let (Some(id), Some(name)) = (q.id(), q.name())
            && name.starts_with(&prefix)
        {
            found.push(("quick connect", id.to_string(), name.to_string()));
        }
    }
    let users = cx
        .client
        .list_users()
        .instance_id(instance)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| observe::error(&e).to_string())?;
    for u in users {
        if let (Some(id), Some(name)) = (u.id(), u.username())
            && name.starts_with(&prefix)
        {
            found.push(("user", id.to_string(), name.to_string()));
        }
    }
    Ok(found)
}
