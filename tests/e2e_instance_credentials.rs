//! Credentials of an instance object's role: issued with short expiries, they expire more than
//! once during a run; the operator assumes the role again before each expiry, nothing goes
//! Ready=False, no request reaches Connect with expired credentials, and no access key id,
//! secret key or session token appears in the logs, even at RUST_LOG=trace.

mod common;

use std::time::{Duration, SystemTime};

use common::operator::Cluster;
use common::*;
use connect_user_operator::instance::crd::ClusterConnectInstance;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use sim::aws::{StsSim, TEST_ACCOUNT_ID, Trust};
use sim::connect::{ConnectSim, InstanceSeed};

const INSTANCE_B: &str = "bbbbbbbb-2222-3333-4444-555555555555";
const ACCOUNT_2: &str = "222222222222";
/// Above the SDK identity cache's refresh buffer (10 s plus up to 5 s of jitter), so a
/// credential is used for a while before it is replaced, and short enough to expire twice.
const LIFETIME: Duration = Duration::from_secs(17);

fn instance_b(role: &str) -> ClusterConnectInstance {
    serde_yaml::from_str(&format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ClusterConnectInstance\nmetadata: {{name: b}}\nspec:\n  instanceId: {INSTANCE_B}\n  region: {REGION}\n  roleArn: {role}\n  roleSessionName: e2e\n  namespaceSelector: {{matchLabels: {{team: b}}}}\n"
    ))
    .unwrap()
}

fn bob() -> String {
    manifest("bob", "").replace(
        &format!("  instanceId: {INSTANCE}\n"),
        "  instanceRef: {kind: ClusterConnectInstance, name: b}\n",
    )
}

/// Account 2 with instance B and a role the operator's account may assume, sessions capped
/// at `LIFETIME`, and the namespace selected.
async fn accounts(connect: &ConnectSim, client: &kube::Client) -> String {
    connect.seed_instance(InstanceSeed::standard(INSTANCE_B).in_account(ACCOUNT_2));
    connect.iam().set_session_lifetime(Some(LIFETIME));
    let role = connect.iam().create_role(
        ACCOUNT_2,
        "connect-operator",
        Trust::account(TEST_ACCOUNT_ID),
    );
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let labels = json!({"metadata": {"labels": {"team": "b"}}});
    if namespaces.get_opt(NS).await.unwrap().is_some() {
        namespaces
            .patch(NS, &PatchParams::default(), &Patch::Merge(&labels))
            .await
            .unwrap();
    } else {
        let ns = json!({"metadata": {"name": NS, "labels": {"team": "b"}}});
        namespaces
            .create(&PostParams::default(), &serde_json::from_value(ns).unwrap())
            .await
            .unwrap();
    }
    let api: Api<ClusterConnectInstance> = Api::all(client.clone());
    api.create(&PostParams::default(), &instance_b(&role))
        .await
        .unwrap();
    role
}

/// The sessions STS issued for `role` so far, oldest first, with their expiry.
fn sessions(sts: &StsSim, role: &str) -> Vec<(String, SystemTime)> {
    sts.calls()
        .into_iter()
        .filter(|c| c.action == "AssumeRole" && c.status == 200)
        .filter(|c| c.role_arn.as_deref() == Some(role))
        .filter_map(|c| {
            let id = c.issued_access_key_id?;
            let expiry = sts.iam().credential(&id)?.expiration?;
            Some((id, expiry))
        })
        .collect()
}

/// Polls until two sessions have expired, asserting on each round that `still_ready` holds.
async fn until_two_expired<F, Fut>(sts: &StsSim, role: &str, still_ready: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + LIFETIME * 4;
    loop {
        let issued = sessions(sts, role);
        let expired = issued
            .iter()
            .filter(|(_, e)| *e < SystemTime::now())
            .count();
        if expired >= 2 && issued.len() >= 3 {
            return;
        }
        assert!(
            still_ready().await,
            "went Ready=False after {} sessions",
            issued.len()
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} sessions, {expired} expired",
            issued.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_role_credentials_are_renewed_before_they_expire() {
    let env = Env::start_with(Options {
        resync: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let role = accounts(&env.connect, &env.client).await;
    env.create(&bob()).await.unwrap();
    env.wait_ready("bob").await;
    until_two_expired(&env.sts, &role, || async {
        let cu = env.api().get("bob").await.unwrap();
        ready(&cu).is_some_and(|(s, _)| s == "True")
    })
    .await;
    // The resyncs kept calling Connect as account 2, never with an expired or unknown key.
    let on_b: Vec<_> = env
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.instance_id.as_deref() == Some(INSTANCE_B))
        .collect();
    assert!(on_b.len() > 10, "{} calls", on_b.len());
    let refused: Vec<_> = on_b
        .iter()
        .filter(|c| c.status != 200 || c.account_id != ACCOUNT_2)
        .map(|c| (c.operation.clone(), c.status, c.error_type.clone()))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let keys: std::collections::BTreeSet<_> =
        on_b.iter().map(|c| c.access_key_id.clone()).collect();
    assert!(
        keys.len() >= 2,
        "every call signed with one session: {keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_appears_in_trace_logs() {
    let cluster = Cluster::start(&[NS]).await;
    // Cluster::start installs every CRD, the instance objects' included.
    let sts = StsSim::start(cluster.connect.iam().clone()).await.unwrap();
    let role = accounts(&cluster.connect, &cluster.client).await;
    let operator = cluster.spawn(
        "trace",
        &["--resync-period", "300ms"],
        &[
            ("RUST_LOG", "trace"),
            ("AWS_ENDPOINT_URL_STS", sts.endpoint().as_str()),
        ],
    );
    let cu: connect_user_operator::crd::ConnectUser = serde_yaml::from_str(&bob()).unwrap();
    cluster
        .api(NS)
        .create(&PostParams::default(), &cu)
        .await
        .unwrap();
    let api = cluster.api(NS);
    let api = &api;
    let is_ready = move || async move {
        api.get("bob")
            .await
            .ok()
            .as_ref()
            .and_then(ready)
            .is_some_and(|(s, _)| s == "True")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !is_ready().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bob not Ready: {}",
            operator
                .log_text()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until_two_expired(&sts, &role, is_ready).await;
    operator.terminate();
    operator.wait_exit(Duration::from_secs(10)).await;
    let log = operator.log_text();
    assert!(log.lines().count() > 100, "trace logging is on");
    assert!(
        log.contains("AssumeRole"),
        "the AssumeRole calls are traced"
    );
    let mut secrets = vec![
        sim::aws::TEST_ACCESS_KEY_ID.to_string(),
        sim::aws::TEST_SECRET_ACCESS_KEY.to_string(),
    ];
    for (id, _) in sessions(&sts, &role) {
        let key = sts.iam().credential(&id).unwrap();
        secrets.push(key.access_key_id);
        secrets.push(key.secret_access_key);
        secrets.extend(key.session_token);
    }
    for secret in &secrets {
        let line = log.lines().find(|l| l.contains(secret.as_str()));
        assert!(
            line.is_none(),
            "a credential in the log: {}",
            line.unwrap_or_default()
        );
    }
    // Any session token, by the prefix every STS token (real and emulated) has.
    assert!(
        !log.contains("IQoJb3JpZ2luX2Vj"),
        "a session token in the log"
    );
}
