//! What a person does: the real `kubectl` against the Kubernetes emulator, with the operator
//! running. `kubectl delete` must return only after cleanup has finished.

mod common;

use std::process::Command;

use common::*;
use sim::connect::SimQuickConnect;

struct Kubectl {
    kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Kubectl {
    fn new(env: &Env) -> Kubectl {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        env.kube.write_kubeconfig(&kubeconfig).unwrap();
        Kubectl {
            kubeconfig,
            _dir: dir,
        }
    }

    /// Runs kubectl off the async runtime (it blocks) and returns (success, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let kubeconfig = self.kubeconfig.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let out = Command::new("kubectl")
                .args(&args)
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", std::env::temp_dir())
                .output()
                .expect("kubectl is installed");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .await
        .unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_wait_describe_delete_with_kubectl() {
    // A settle window long enough to watch the deletion wait for its last listing.
    let env = Env::start_with(Options {
        settle: std::time::Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let k = Kubectl::new(&env);
    // The whole directory, as README says: files apply in name order, namespace first.
    k.ok(&["apply", "-f", EXAMPLES]).await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "connectuser/alice",
        "connectuser/bob",
        "-n",
        "contact-center",
        "--timeout=60s",
    ])
    .await;

    let table = k.ok(&["get", "cu", "-n", "contact-center"]).await;
    eprintln!("kubectl get cu:\n{table}");
    let header = table.lines().next().unwrap_or_default();
    for column in [
        "NAME", "USERNAME", "INSTANCE", "USER ID", "READY", "REASON", "CLEANUP", "AGE",
    ] {
        assert!(header.contains(column), "column {column} missing:\n{table}");
    }
    let alice_line = table
        .lines()
        .find(|l| l.starts_with("alice"))
        .expect("alice listed");
    assert!(
        alice_line.contains("True") && alice_line.contains("Created"),
        "{table}"
    );
    let by_category = k
        .ok(&["get", "connect", "-n", "contact-center", "-o", "name"])
        .await;
    assert!(
        by_category.contains("connectuser.connect.userops.dev/alice"),
        "{by_category}"
    );

    let alice = env
        .connect
        .user_by_name(INSTANCE, "alice")
        .expect("alice in Connect");
    let flow = sim::connect::InstanceSeed::standard(INSTANCE).contact_flows[0]
        .0
        .clone();
    for i in 0..3 {
        env.connect.insert_quick_connect(
            INSTANCE,
            SimQuickConnect {
                name: format!("Alice {i}"),
                quick_connect_type: "USER".into(),
                user_id: Some(alice.id.clone()),
                contact_flow_id: Some(flow.clone()),
                ..Default::default()
            },
        );
    }

    // Blocks until the finalizer is released: by then Connect must already be clean. Meanwhile
    // `kubectl get` says what the deletion waits for.
    let deleting = {
        let kubeconfig = k.kubeconfig.clone();
        tokio::task::spawn_blocking(move || {
            Command::new("kubectl")
                .args([
                    "delete",
                    "connectuser",
                    "alice",
                    "-n",
                    "contact-center",
                    "--timeout=60s",
                ])
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", std::env::temp_dir())
                .output()
                .expect("kubectl is installed")
        })
    };
    let mut seen = None;
    while seen.is_none() && !deleting.is_finished() {
        let (ok, out, _) = k.run(&["get", "cu", "alice", "-n", "contact-center"]).await;
        if ok && out.contains("final quick-connect listing until") {
            seen = Some(out);
        }
    }
    let deleted = deleting.await.unwrap();
    assert!(deleted.status.success(), "{deleted:?}");
    assert!(
        String::from_utf8_lossy(&deleted.stdout)
            .contains("connectuser.connect.userops.dev \"alice\" deleted"),
        "{deleted:?}"
    );
    let seen =
        seen.expect("kubectl get showed the pending final listing while kubectl delete waited");
    eprintln!("kubectl get cu alice, while kubectl delete waited:\n{seen}");
    let header = seen.lines().next().unwrap_or_default();
    assert!(header.contains("CLEANUP"), "{seen}");
    let line = seen.lines().find(|l| l.starts_with("alice")).unwrap();
    assert!(
        line.contains("False") && line.contains("Deleting"),
        "{seen}"
    );
    assert!(
        env.connect.user(INSTANCE, &alice.id).is_none(),
        "user deleted before kubectl returned"
    );
    assert!(
        env.connect
            .quick_connects(INSTANCE)
            .iter()
            .all(|q| q.user_id.as_deref() != Some(alice.id.as_str())),
        "quick connects deleted before kubectl returned"
    );
    let (ok, _, err) = k.run(&["get", "cu", "alice", "-n", "contact-center"]).await;
    assert!(
        !ok && err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );
    assert!(env.connect.user_by_name(INSTANCE, "bob").is_some());
}

/// kstatus as GitOps tools read it, through kubectl: a spec that cannot be applied is Stalled
/// (Ready=False) for the current generation, `kubectl wait --for=condition=Ready` succeeds once
/// the fix is applied, and `kubectl describe` shows the conditions and both Events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_then_ready_with_kubectl_wait_and_describe() {
    let env = Env::start().await;
    let k = Kubectl::new(&env);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("carol.yaml");
    let write = |profile: &str| {
        std::fs::write(
            &file,
            manifest("carol", "").replace("{name: Agent}", &format!("{{name: {profile}}}")),
        )
        .unwrap();
    };
    let path = file.to_str().unwrap().to_string();

    write("NoSuchProfile");
    k.ok(&["apply", "-f", &path]).await;
    k.ok(&[
        "wait",
        "--for=condition=Stalled",
        "connectuser/carol",
        "--timeout=60s",
    ])
    .await;
    let conditions = |out: &str| -> serde_json::Value {
        let cu: serde_json::Value = serde_json::from_str(out).unwrap();
        cu["status"]["conditions"].clone()
    };
    let cu = k.ok(&["get", "cu", "carol", "-o", "json"]).await;
    let value: serde_json::Value = serde_json::from_str(&cu).unwrap();
    assert_eq!(
        value["status"]["observedGeneration"],
        value["metadata"]["generation"]
    );
    let ready = conditions(&cu)
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .cloned()
        .unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "InvalidSpec");
    assert_eq!(ready["observedGeneration"], value["metadata"]["generation"]);
    // Not Ready: a bounded wait for Ready must time out, not succeed.
    let (ok, _, _) = k
        .run(&[
            "wait",
            "--for=condition=Ready",
            "connectuser/carol",
            "--timeout=1s",
        ])
        .await;
    assert!(!ok, "kubectl wait reported a stalled resource Ready");

    write("Agent");
    k.ok(&["apply", "-f", &path]).await;
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "connectuser/carol",
        "--timeout=60s",
    ])
    .await;
    let cu = k.ok(&["get", "cu", "carol", "-o", "json"]).await;
    let types: Vec<String> = conditions(&cu)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["type"].as_str().unwrap(),
                c["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(types, ["Ready=True"], "Stalled is removed once Ready");
    let value: serde_json::Value = serde_json::from_str(&cu).unwrap();
    assert_eq!(value["metadata"]["generation"], 2);
    assert_eq!(value["status"]["observedGeneration"], 2);

    let described = k.ok(&["describe", "connectuser", "carol"]).await;
    // kubectl aligns columns; compare with whitespace runs collapsed.
    let flat = described.split_whitespace().collect::<Vec<_>>().join(" ");
    let (status, events) = flat
        .split_once(" Events: ")
        .unwrap_or_else(|| panic!("no Events section:\n{described}"));
    for needle in [
        "Conditions:",
        "Observed Generation: 2 Reason: Created Status: True Type: Ready",
    ] {
        assert!(
            status.contains(needle),
            "describe lacks {needle:?}:\n{described}"
        );
    }
    for needle in [
        "Warning InvalidSpec",
        "spec.securityProfiles[0].name: no security profile named \"NoSuchProfile\"",
        "Normal Created",
    ] {
        assert!(
            events.contains(needle),
            "Events lack {needle:?}:\n{described}"
        );
    }
}

/// The guide's troubleshooting commands, as written there: a deletion blocked by NotOwned is
/// released with `kubectl patch` to Retain without touching Connect, and with the operator gone
/// the finalizer can be removed by hand (nothing in Connect is cleaned up then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guide_troubleshooting_commands_release_stuck_deletions() {
    use connect_user_operator::crd::OWNER_TAG;
    let mut env = Env::start().await;
    let k = Kubectl::new(&env);
    let dir = tempfile::tempdir().unwrap();
    for name in ["alice", "bob"] {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, manifest(name, "")).unwrap();
        k.ok(&["apply", "-f", file.to_str().unwrap()]).await;
    }
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "connectuser/alice",
        "connectuser/bob",
        "--timeout=60s",
    ])
    .await;
    let alice = env.connect.user_by_name(INSTANCE, "alice").unwrap();
    env.connect.modify_user(INSTANCE, &alice.id, |u| {
        u.tags.insert(OWNER_TAG.into(), "someone-else".into());
    });
    env.connect.clear_calls();

    // `kubectl delete` would block: delete without waiting, as a stuck deletion looks.
    k.ok(&["delete", "cu", "alice", "--wait=false"]).await;
    env.wait_reason("alice", "NotOwned").await;
    let reason = k
        .ok(&[
            "get",
            "cu",
            "alice",
            "-o",
            r#"jsonpath={.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}"#,
        ])
        .await;
    assert!(
        reason.starts_with("NotOwned: deletion blocked")
            && reason.contains("deletionPolicy: Retain"),
        "{reason}"
    );
    let events = k
        .ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=alice",
        ])
        .await;
    assert!(events.contains("NotOwned"), "{events}");

    k.ok(&[
        "patch",
        "cu",
        "alice",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"deletionPolicy":"Retain"}}"#,
    ])
    .await;
    k.ok(&["wait", "--for=delete", "cu/alice", "--timeout=60s"])
        .await;
    assert!(env.writes().is_empty(), "{:?}", env.write_ops());
    assert!(env.connect.user(INSTANCE, &alice.id).is_some());

    // The operator is gone; the finalizer is removed deliberately.
    env.stop_operator().await;
    let bob = env.connect.user_by_name(INSTANCE, "bob").unwrap();
    k.ok(&["delete", "cu", "bob", "--wait=false"]).await;
    k.ok(&[
        "patch",
        "cu",
        "bob",
        "--type",
        "json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ])
    .await;
    k.ok(&["wait", "--for=delete", "cu/bob", "--timeout=30s"])
        .await;
    assert!(
        env.connect.user(INSTANCE, &bob.id).is_some(),
        "no cleanup happens without the finalizer"
    );
}

/// kubectl sends built-in kinds it creates in protobuf (docs/guide.md tells users to run these
/// two): the namespace and the Secret arrive intact, and the operator creates the Connect user
/// with the password `kubectl create secret generic` stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_namespace_and_secret_generic_in_protobuf() {
    use k8s_openapi::api::core::v1::{Namespace, Secret};
    let env = Env::start().await;
    let k = Kubectl::new(&env);
    env.kube.clear_requests();
    let out = k.ok(&["create", "namespace", "contact-center"]).await;
    assert_eq!(out.trim(), "namespace/contact-center created");
    let password = "Kubectl-Cr3ated:pass_w0rd";
    k.ok(&[
        "create",
        "secret",
        "generic",
        "kubectl-passwords",
        &format!("--from-literal=dana={password}"),
        "--from-literal=other=x",
    ])
    .await;
    k.ok(&[
        "-n",
        "contact-center",
        "create",
        "secret",
        "generic",
        "team-passwords",
        "--from-literal=erin=y",
    ])
    .await;
    let posts: Vec<_> = env
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    for p in &posts {
        assert_eq!(
            p.content_type, "application/vnd.kubernetes.protobuf",
            "{p:?}"
        );
        assert_eq!(p.status, 201, "{p:?}");
    }

    let ns: kube::Api<Namespace> = kube::Api::all(env.client.clone());
    let created = ns.get("contact-center").await.unwrap();
    assert_eq!(
        created.status.and_then(|s| s.phase).as_deref(),
        Some("Active")
    );
    let secrets: kube::Api<Secret> = kube::Api::namespaced(env.client.clone(), "contact-center");
    let team = secrets.get("team-passwords").await.unwrap();
    assert_eq!(team.data.unwrap()["erin"].0, b"y");
    // An existing name: the apiserver's AlreadyExists, decoded by kubectl from protobuf.
    let (ok, _, err) = k.run(&["create", "namespace", "contact-center"]).await;
    assert!(!ok);
    assert!(
        err.contains("(AlreadyExists)")
            && err.contains("namespaces \"contact-center\" already exists"),
        "{err}"
    );
    // kubectl reads them back, in protobuf too.
    let shown = k
        .ok(&[
            "get",
            "secret",
            "kubectl-passwords",
            "-o",
            "jsonpath={.data.other}",
        ])
        .await;
    assert_eq!(shown, "eA==");

    env.create(&manifest("dana", "").replace(
        "{name: agent-passwords, key: alice}",
        "{name: kubectl-passwords, key: dana}",
    ))
    .await
    .unwrap();
    let cu = env.wait_ready("dana").await;
    let user = env.connect.user(INSTANCE, &Env::user_id(&cu)).unwrap();
    assert_eq!(user.password.as_deref(), Some(password));
}

/// `kubectl explain` is where users look first: it shows each field's description from the
/// served CRD, for the three kinds, with the default and the allowed values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explain_describes_every_field_it_shows() {
    let env = Env::start().await;
    let k = Kubectl::new(&env);
    for (path, says) in [
        ("connectuser.spec.phoneConfig", "SOFT_PHONE"),
        ("connectuser.spec.phoneConfig.autoAccept", "Default false"),
        ("connectuser.spec.deletionPolicy", "Retain"),
        ("connectuser.spec.identityInfo.email", "CONNECT_MANAGED"),
        (
            "connectuser.spec.routingProfile.name",
            "Exactly one of id and name",
        ),
        ("connectuser.status.userId", "CreateUser"),
        (
            "connectinstance.spec.danglingQuickConnects",
            "Default `Report`",
        ),
        (
            "clusterconnectinstance.spec.namespaceSelector",
            "None given: no namespace",
        ),
    ] {
        let out = k.ok(&["explain", path]).await;
        // kubectl wraps the description.
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(says), "kubectl explain {path}:\n{out}");
        assert!(
            !out.contains("<no description>"),
            "kubectl explain {path}:\n{out}"
        );
    }
    let recursive = k.ok(&["explain", "connectuser.spec", "--recursive"]).await;
    assert!(recursive.contains("phoneType"), "{recursive}");
}
