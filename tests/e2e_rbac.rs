//! RBAC against reality: the real operator binary, configured from a rendered Deployment (the
//! kustomize base, or the Helm chart rendered as Helm renders it, cluster-wide and with
//! `watchNamespaces`), runs a realistic life cycle at the Kubernetes emulator; every request it
//! made is mapped to RBAC terms (verb, API group, resource/subresource, namespace, name) and
//! must be allowed by the rendered rules bound to the rendered ServiceAccount, and every
//! permission those rules grant must have been used.

mod common;
mod deploy_support;
mod helm_support;

use std::collections::BTreeSet;
use std::time::Duration;

use common::operator::{Cluster, Operator, user_quick_connect};
use common::*;
use deploy_support::*;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::Patch;
use serde_json::json;
use sim::kube::RequestRecord;

/// Where a set of rules applies: a ClusterRole through a ClusterRoleBinding (everywhere), or a
/// Role in one namespace.
struct Grant {
    what: String,
    namespace: Option<String>,
    rules: Vec<Rule>,
}

/// A request in RBAC terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Access {
    verb: String,
    group: String,
    /// `resource` or `resource/subresource`, as rules name it.
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

fn access(r: &RequestRecord) -> Access {
    assert!(
        !r.resource.is_empty(),
        "the operator requested a non-resource URL {} {} (not covered by the shipped RBAC)",
        r.method,
        r.path
    );
    Access {
        verb: r.verb.clone(),
        group: r.api_group.clone(),
        resource: match &r.subresource {
            Some(sub) => format!("{}/{sub}", r.resource),
            None => r.resource.clone(),
        },
        namespace: r.namespace.clone(),
        name: r.name.clone(),
    }
}

fn rule_allows(rule: &Rule, a: &Access) -> bool {
    rule.api_groups.contains(&a.group)
        && rule.resources.contains(&a.resource)
        && rule.verbs.contains(&a.verb)
        && (rule.resource_names.is_empty()
            || a.name
                .as_ref()
                .is_some_and(|n| rule.resource_names.contains(n)))
}

fn grant_allows(g: &Grant, a: &Access) -> bool {
    (g.namespace.is_none() || g.namespace == a.namespace)
        && g.rules.iter().any(|r| rule_allows(r, a))
}

/// Every access is allowed by some grant, and every (group, resource, verb) each grant's rules
/// name was used within that grant's scope.
fn assert_exact(grants: &[Grant], accesses: &BTreeSet<Access>) {
    let denied: Vec<&Access> = accesses
        .iter()
        .filter(|a| !grants.iter().any(|g| grant_allows(g, a)))
        .collect();
    assert!(
        denied.is_empty(),
        "the operator made requests the shipped RBAC denies:\n{denied:#?}"
    );
    let mut unused = Vec::new();
    for g in grants {
        for rule in &g.rules {
            for group in &rule.api_groups {
                for resource in &rule.resources {
                    for verb in &rule.verbs {
                        let used = accesses.iter().any(|a| {
                            &a.group == group
                                && &a.resource == resource
                                && &a.verb == verb
                                && grant_allows(g, a)
                                && rule_allows(rule, a)
                        });
                        if !used {
                            unused.push(format!("{}: {verb} {group}/{resource}", g.what));
                        }
                    }
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never used in the life cycle:\n{}",
        unused.join("\n")
    );
}

async fn wait_ready(
    cluster: &Cluster,
    ns: &str,
    name: &str,
) -> connect_user_operator::crd::ConnectUser {
    for _ in 0..600 {
        if let Some(cu) = cluster.api(ns).get_opt(name).await.unwrap()
            && ready(&cu).is_some_and(|(s, _)| s == "True")
            && cu.status.as_ref().and_then(|s| s.observed_generation) == cu.metadata.generation
        {
            return cu;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{ns}/{name} never became Ready");
}

async fn wait_gone(cluster: &Cluster, ns: &str, name: &str) {
    for _ in 0..600 {
        if cluster.api(ns).get_opt(name).await.unwrap().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{ns}/{name} was never deleted");
}

async fn wait_lease_holder(cluster: &Cluster, ns: &str, lease: &str, holder: &str) {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), ns);
    for _ in 0..600 {
        if let Some(l) = api.get_opt(lease).await.unwrap()
            && l.spec.and_then(|s| s.holder_identity).as_deref() == Some(holder)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{holder} never held lease {ns}/{lease}");
}

/// Create (with tags and a hierarchy group), update twice, a resource stalled on a missing
/// Secret key, then delete with a quick connect to clean up, in each namespace.
async fn life_cycle(cluster: &Cluster, namespaces: &[&str]) {
    // Usernames are unique per Connect instance: one per namespace.
    for ns in namespaces {
        let alice = format!("alice-{ns}");
        cluster
            .create(
                ns,
                &alice,
                "  identityInfo: {firstName: Alice, lastName: L, email: alice@example.com}\n  hierarchyGroup: {name: Tier1}\n  tags: {team: a}\n",
            )
            .await;
        let bad: connect_user_operator::crd::ConnectUser =
            serde_yaml::from_str(&manifest("nokey", "").replace("key: alice", "key: nobody"))
                .unwrap();
        cluster
            .api(ns)
            .create(&Default::default(), &bad)
            .await
            .unwrap();
        wait_ready(cluster, ns, &alice).await;
        for first in ["Alicia", "Ali"] {
            cluster
                .api(ns)
                .patch(
                    &alice,
                    &Default::default(),
                    &Patch::Merge(json!({"spec": {"identityInfo": {"firstName": first}}})),
                )
                .await
                .unwrap();
            wait_ready(cluster, ns, &alice).await;
        }
    }
    for ns in namespaces {
        let alice = format!("alice-{ns}");
        let cu = wait_ready(cluster, ns, &alice).await;
        let id = Env::user_id(&cu);
        cluster
            .connect
            .insert_quick_connect(INSTANCE, user_quick_connect(&format!("qc-{ns}"), &id));
        for name in [alice.as_str(), "nokey"] {
            cluster
                .api(ns)
                .delete(name, &Default::default())
                .await
                .unwrap();
        }
        wait_gone(cluster, ns, &alice).await;
        wait_gone(cluster, ns, "nokey").await;
        assert!(cluster.connect.user(INSTANCE, &id).is_none());
    }
    assert!(cluster.connect.quick_connects(INSTANCE).is_empty());
}

/// ConnectUsers through instance objects: a ConnectInstance in each namespace, and (cluster-wide
/// installs) a ClusterConnectInstance selecting every namespace. Exercises the instance objects'
/// watch, status, in-use finalizer, the read before each use and the namespace's labels.
async fn instance_life_cycle(cluster: &Cluster, namespaces: &[&str], cluster_wide: bool) {
    use connect_user_operator::instance::crd::{ClusterConnectInstance, ConnectInstance};
    let arn = format!(
        "arn:aws:connect:{REGION}:{}:instance/{INSTANCE}",
        sim::aws::TEST_ACCOUNT_ID
    );
    if cluster_wide {
        let cci: ClusterConnectInstance = serde_yaml::from_str(&format!(
            "apiVersion: connect.userops.dev/v1alpha1\nkind: ClusterConnectInstance\nmetadata: {{name: shared}}\nspec:\n  instanceId: {arn}\n  region: {REGION}\n  namespaceSelector: {{matchExpressions: [{{key: no-connect, operator: DoesNotExist}}]}}\n"
        ))
        .unwrap();
        Api::<ClusterConnectInstance>::all(cluster.client.clone())
            .create(&Default::default(), &cci)
            .await
            .unwrap();
    }
    let with_ref =
        |name: &str, kind: &str, object: &str| -> connect_user_operator::crd::ConnectUser {
            serde_yaml::from_str(&manifest(name, "").replace(
                &format!("  instanceId: {INSTANCE}\n"),
                &format!("  instanceRef: {{kind: {kind}, name: {object}}}\n"),
            ))
            .unwrap()
        };
    for ns in namespaces {
        let ci: ConnectInstance = serde_yaml::from_str(&format!(
            "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: own}}\nspec:\n  instanceId: {arn}\n  region: {REGION}\n"
        ))
        .unwrap();
        Api::<ConnectInstance>::namespaced(cluster.client.clone(), ns)
            .create(&Default::default(), &ci)
            .await
            .unwrap();
        let mut users = vec![with_ref(&format!("carol-{ns}"), "ConnectInstance", "own")];
        if cluster_wide {
            users.push(with_ref(
                &format!("dave-{ns}"),
                "ClusterConnectInstance",
                "shared",
            ));
        }
        for cu in &users {
            cluster
                .api(ns)
                .create(&Default::default(), cu)
                .await
                .unwrap();
        }
        for cu in &users {
            wait_ready(cluster, ns, &cu.metadata.name.clone().unwrap()).await;
        }
        // The in-use finalizers are on while they exist, and off once they are gone.
        let ci_api = Api::<ConnectInstance>::namespaced(cluster.client.clone(), ns);
        let cci_api = Api::<ClusterConnectInstance>::all(cluster.client.clone());
        wait_in_use(&ci_api, "own", true).await;
        if cluster_wide {
            wait_in_use(&cci_api, "shared", true).await;
        }
        for cu in &users {
            let name = cu.metadata.name.clone().unwrap();
            cluster
                .api(ns)
                .delete(&name, &Default::default())
                .await
                .unwrap();
            wait_gone(cluster, ns, &name).await;
        }
        wait_in_use(&ci_api, "own", false).await;
        if cluster_wide {
            wait_in_use(&cci_api, "shared", false).await;
        }
    }
}

/// Waits until the instance object `name` carries (or no longer carries) a finalizer.
async fn wait_in_use<K>(api: &Api<K>, name: &str, in_use: bool)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let finalizers = api.get(name).await.unwrap().meta().finalizers.clone();
        if finalizers.unwrap_or_default().is_empty() != in_use {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: the in-use finalizer is still {}",
            if in_use { "missing" } else { "present" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stop(op: &Operator) {
    op.terminate();
    let status = op
        .wait_exit(Duration::from_secs(30))
        .await
        .expect("the operator exits on SIGTERM");
    assert!(status.success(), "exit status {status}");
}

fn accesses(cluster: &Cluster) -> BTreeSet<Access> {
    let requests = cluster.operator_requests();
    assert!(
        requests.len() > 10,
        "only {} operator requests recorded: is the filter wrong?",
        requests.len()
    );
    requests.iter().map(access).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_rbac_allows_every_request_of_a_life_cycle_and_nothing_unused() {
    let docs = kustomize_build();
    let deployment = one_of_kind(&docs, "Deployment");
    let env = env_of(operator_container(deployment));
    let lease = env["LEASE_NAME"].clone().unwrap();
    let cluster = Cluster::start(&["default", "team-b", NAMESPACE]).await;
    // The Deployment's own settings; the downward API values as the kubelet fills them in.
    let mut vars: Vec<(&str, &str)> = env
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?)))
        .collect();
    vars.extend([("POD_NAME", "operator-0"), ("POD_NAMESPACE", NAMESPACE)]);
    let op = cluster.spawn("kustomize", &[], &vars);
    wait_lease_holder(&cluster, NAMESPACE, &lease, "operator-0").await;
    life_cycle(&cluster, &["default", "team-b"]).await;
    instance_life_cycle(&cluster, &["default", "team-b"], true).await;
    stop(&op).await;

    let accesses = accesses(&cluster);
    let cluster_role = rules_of(get(one_of_kind(&docs, "ClusterRole"), "rules"));
    let role = one_of_kind(&docs, "Role");
    let grants = [
        Grant {
            what: "ClusterRole".into(),
            namespace: None,
            rules: cluster_role.clone(),
        },
        Grant {
            what: "Role".into(),
            namespace: Some(get_str(role, "metadata.namespace").to_string()),
            rules: rules_of(get(role, "rules")),
        },
    ];
    assert_exact(&grants, &accesses);
}

/// What the rendered chart grants its ServiceAccount: the rules of every Role/ClusterRole a
/// rendered binding gives to the ServiceAccount the rendered Deployment runs as.
fn chart_grants(r: &helm_support::Rendered) -> Vec<Grant> {
    let deployment = r.one("Deployment");
    let release_ns = deployment["metadata"]["namespace"]
        .as_str()
        .unwrap()
        .to_string();
    let sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        r.of_kind("ServiceAccount")
            .iter()
            .any(|a| a["metadata"]["name"] == sa.as_str()
                && a["metadata"]["namespace"] == release_ns.as_str()),
        "the chart renders the ServiceAccount {release_ns}/{sa} its Deployment runs as"
    );
    let yaml = |v: &serde_json::Value| serde_yaml::to_value(v).unwrap();
    let mut grants = Vec::new();
    for binding in r
        .of_kind("ClusterRoleBinding")
        .into_iter()
        .chain(r.of_kind("RoleBinding"))
    {
        let ours = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| {
                s["kind"] == "ServiceAccount"
                    && s["name"] == sa.as_str()
                    && s["namespace"] == release_ns.as_str()
            });
        if !ours {
            continue;
        }
        let binding_ns = binding["metadata"]["namespace"].as_str().map(String::from);
        let role_ref = &binding["roleRef"];
        assert_eq!(role_ref["apiGroup"], "rbac.authorization.k8s.io");
        let role_kind = role_ref["kind"].as_str().unwrap();
        let role = r
            .of_kind(role_kind)
            .into_iter()
            .find(|role| {
                role["metadata"]["name"] == role_ref["name"]
                    && (role_kind == "ClusterRole"
                        || role["metadata"]["namespace"].as_str().map(String::from) == binding_ns)
            })
            .unwrap_or_else(|| panic!("{binding}: its role is rendered"));
        grants.push(Grant {
            what: format!(
                "{role_kind} {} via {} {}",
                role["metadata"]["name"], binding["kind"], binding["metadata"]["name"]
            ),
            // A ClusterRoleBinding grants everywhere; a RoleBinding in its namespace only.
            namespace: if binding["kind"] == "ClusterRoleBinding" {
                None
            } else {
                binding_ns
            },
            rules: rules_of(&yaml(&role["rules"])),
        });
    }
    assert!(
        !grants.is_empty(),
        "no rendered binding names the ServiceAccount {sa}"
    );
    grants
}

/// The rendered Deployment's environment, the downward API values as the kubelet fills them.
fn deployment_env(r: &helm_support::Rendered, pod_namespace: &str) -> Vec<(String, String)> {
    let deployment = serde_yaml::to_value(r.one("Deployment")).unwrap();
    let mut vars: Vec<(String, String)> = env_of(operator_container(&deployment))
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    // The emulators run Connect's consistency delays scaled down, and the settle window with
    // them: the chart's 300s would make each deletion of the life cycle wait five minutes.
    for (k, v) in vars.iter_mut() {
        if k == "SETTLE_WINDOW" {
            *v = settle_arg();
        }
    }
    vars.push(("POD_NAME".into(), "operator-0".into()));
    vars.push(("POD_NAMESPACE".into(), pod_namespace.into()));
    vars
}

/// The chart with default values: a ClusterRole bound cluster-wide, the leader-election Role in
/// the release namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_chart_rbac_allows_every_request_of_a_life_cycle_and_nothing_unused() {
    let rendered = helm_support::render(&[], "connect-user-operator", NAMESPACE);
    let grants = chart_grants(&rendered);
    assert!(
        grants.iter().any(|g| g.namespace.is_none()),
        "cluster-wide by default"
    );
    let vars = deployment_env(&rendered, NAMESPACE);
    let lease = vars
        .iter()
        .find(|(k, _)| k == "LEASE_NAME")
        .unwrap()
        .1
        .clone();
    let cluster = Cluster::start(&["default", "team-b", NAMESPACE]).await;
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let op = cluster.spawn("chart", &[], &env);
    wait_lease_holder(&cluster, NAMESPACE, &lease, "operator-0").await;
    life_cycle(&cluster, &["default", "team-b"]).await;
    instance_life_cycle(&cluster, &["default", "team-b"], true).await;
    stop(&op).await;
    assert_exact(&grants, &accesses(&cluster));
}

/// The chart with `watchNamespaces` renders the rules as a Role in each watched namespace and
/// no ClusterRole: the operator, configured by the rendered Deployment (WATCH_NAMESPACES), must
/// stay inside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_chart_namespaced_mode_roles_allow_every_request_and_nothing_cluster_wide() {
    let rendered = helm_support::render(&["watch-namespaces.yaml"], "ops", "ops");
    let watched = ["team-a", "team-b"];
    let grants = chart_grants(&rendered);
    assert!(
        grants.iter().all(|g| g.namespace.is_some()),
        "nothing cluster-wide: {:?}",
        grants.iter().map(|g| &g.what).collect::<Vec<_>>()
    );
    let vars = deployment_env(&rendered, "ops");
    assert!(vars.contains(&("WATCH_NAMESPACES".into(), "team-a,team-b".into())));
    let lease = vars
        .iter()
        .find(|(k, _)| k == "LEASE_NAME")
        .unwrap()
        .1
        .clone();
    let cluster = Cluster::start(&["team-a", "team-b", "team-c", "ops"]).await;
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let op = cluster.spawn("namespaced", &[], &env);
    wait_lease_holder(&cluster, "ops", &lease, "operator-0").await;
    // A resource outside the watched namespaces is not the operator's business.
    cluster.create("team-c", "alice", "").await;
    life_cycle(&cluster, &watched).await;
    instance_life_cycle(&cluster, &watched, false).await;
    let outside = cluster.api("team-c").get("alice").await.unwrap();
    assert!(
        outside.status.is_none() && outside.metadata.finalizers.is_none(),
        "team-c is not watched: {outside:?}"
    );
    stop(&op).await;
    assert_exact(&grants, &accesses(&cluster));
}

/// `watchNamespaces` with `clusterConnectInstances`: the ConnectUser rights stay in the watched
/// namespaces; ClusterConnectInstances (and namespace labels) get a ClusterRole, their Events a
/// Role in `default`. The operator serves ClusterConnectInstances and asks for nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_chart_namespaced_mode_with_cluster_instances_allows_every_request() {
    let rendered = helm_support::render(&["watch-namespaces-cluster-instances.yaml"], "ops", "ops");
    let watched = ["team-a", "team-b"];
    let grants = chart_grants(&rendered);
    let cluster_wide: std::collections::BTreeSet<&str> = grants
        .iter()
        .filter(|g| g.namespace.is_none())
        .flat_map(|g| g.rules.iter().flat_map(|r| r.resources.iter()))
        .map(String::as_str)
        .collect();
    assert_eq!(
        cluster_wide,
        [
            "clusterconnectinstances",
            "clusterconnectinstances/status",
            "namespaces"
        ]
        .into(),
        "cluster-wide: only ClusterConnectInstances and namespace labels"
    );
    let vars = deployment_env(&rendered, "ops");
    assert!(vars.contains(&("CLUSTER_CONNECT_INSTANCES".into(), "true".into())));
    let lease = vars
        .iter()
        .find(|(k, _)| k == "LEASE_NAME")
        .unwrap()
        .1
        .clone();
    let cluster = Cluster::start(&["team-a", "team-b", "ops"]).await;
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let op = cluster.spawn("namespaced-cci", &[], &env);
    wait_lease_holder(&cluster, "ops", &lease, "operator-0").await;
    flaky_cluster_instance(&cluster).await;
    life_cycle(&cluster, &watched).await;
    instance_life_cycle(&cluster, &watched, true).await;
    stop(&op).await;
    assert_exact(&grants, &accesses(&cluster));
}

/// A ClusterConnectInstance whose DescribeInstance fails, recovers and fails again: the second
/// Warning repeats the first (an Event series, patched), in `default`.
async fn flaky_cluster_instance(cluster: &Cluster) {
    use connect_user_operator::instance::crd::ClusterConnectInstance;
    use k8s_openapi::api::events::v1::Event;
    use sim::connect::{Fault, FaultKind};
    let api = Api::<ClusterConnectInstance>::all(cluster.client.clone());
    let failing = || {
        cluster.connect.add_fault(Fault::on(
            "DescribeInstance",
            FaultKind::ErrorRate {
                rate: 1.0,
                status: 500,
            },
        ))
    };
    let ready_is = async |want: &str| {
        wait_object(&api, "flaky", want, Duration::from_secs(60), |o| {
            o.status.as_ref().is_some_and(|s| {
                s.observed_generation == o.metadata.generation
                    && s.condition("Ready").is_some_and(|c| c.status == want)
            })
        })
        .await
    };
    failing();
    // The ARN names the account: no STS here.
    let arn = format!(
        "arn:aws:connect:{REGION}:{}:instance/{INSTANCE}",
        sim::aws::TEST_ACCOUNT_ID
    );
    let cci: ClusterConnectInstance = serde_yaml::from_str(&format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ClusterConnectInstance\nmetadata: {{name: flaky}}\nspec:\n  instanceId: {arn}\n  region: {REGION}\n"
    ))
    .unwrap();
    api.create(&Default::default(), &cci).await.unwrap();
    ready_is("False").await;
    cluster.connect.clear_faults();
    ready_is("True").await;
    failing();
    // A spec edit has it verified again.
    api.patch(
        "flaky",
        &Default::default(),
        &kube::api::Patch::Merge(serde_json::json!({"spec": {"danglingCheckInterval": "2h"}})),
    )
    .await
    .unwrap();
    ready_is("False").await;
    let events = Api::<Event>::namespaced(cluster.client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let repeated = events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .any(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("flaky")
                    && e.series.is_some()
            });
        if repeated {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no repeated Warning on flaky"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.connect.clear_faults();
    api.delete("flaky", &Default::default()).await.unwrap();
}
