//! The `sim` binary: starts both emulators, seeds the instance, applies files, and prints what a
//! shell needs to point kubectl / the operator / the SDK at them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Running, BTreeMap<String, String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sim");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut vars = BTreeMap::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read sim output");
        if line == "ready" {
            return (running, vars);
        }
        if let Some((k, v)) = line.split_once('=')
            && !line.starts_with('#')
        {
            vars.insert(k.to_string(), v.to_string());
        }
    }
    panic!("sim exited before printing ready: {vars:?}");
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.sim.dev}
spec:
  group: example.sim.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: Namespace
metadata: {name: contact-center}
"#;

#[tokio::test]
async fn the_binary_serves_seeds_and_applies_files() {
    let dir = tempfile::tempdir().unwrap();
    let crd = dir.path().join("crd.yaml");
    std::fs::write(&crd, CRD).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let (_sim, vars) = start(&[
        "--users",
        "3",
        "--quick-connects-per-user",
        "2",
        "--quota",
        "off",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--apply",
        crd.to_str().unwrap(),
    ]);
    assert_eq!(vars["KUBECONFIG"], kubeconfig.to_str().unwrap());

    // The real kubectl sees what --apply created.
    let out = Command::new("kubectl")
        .args(["--kubeconfig", &vars["KUBECONFIG"], "get", "widgets", "-A"])
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("kubectl")
        .args([
            "--kubeconfig",
            &vars["KUBECONFIG"],
            "get",
            "namespaces",
            "-o",
            "name",
        ])
        .output()
        .expect("kubectl");
    assert!(String::from_utf8_lossy(&out.stdout).contains("namespace/contact-center"));

    // The SDK sees the seeded users and quick connects.
    let conf = aws_sdk_connect::Config::builder()
        .behavior_version(aws_sdk_connect::config::BehaviorVersion::latest())
        .region(aws_sdk_connect::config::Region::new("us-east-1"))
        .endpoint_url(&vars["AWS_ENDPOINT_URL_CONNECT"])
        .credentials_provider(aws_sdk_connect::config::Credentials::new(
            &vars["AWS_ACCESS_KEY_ID"],
            &vars["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "test",
        ))
        .build();
    let client = aws_sdk_connect::Client::from_conf(conf);
    let instance = &vars["CONNECT_INSTANCE_ID"];
    let users = client
        .search_users()
        .instance_id(instance)
        .send()
        .await
        .unwrap();
    let mut names: Vec<_> = users
        .users()
        .iter()
        .filter_map(|u| u.username().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names, ["agent00000", "agent00001", "agent00002"]);
    let qcs = client
        .list_quick_connects()
        .instance_id(instance)
        .send()
        .await
        .unwrap();
    assert_eq!(qcs.quick_connect_summary_list().len(), 6);

    // STS answers too, and knows the printed credentials.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(vars["AWS_REGION"].clone()))
        .endpoint_url(&vars["AWS_ENDPOINT_URL_STS"])
        .credentials_provider(aws_sdk_connect::config::Credentials::new(
            &vars["AWS_ACCESS_KEY_ID"],
            &vars["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "test",
        ))
        .load()
        .await;
    let me = aws_sdk_sts::Client::new(&sdk)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(sim::aws::TEST_ACCOUNT_ID));
    assert_eq!(me.arn(), Some("arn:aws:iam::123456789012:user/sim-test"));
}

#[test]
fn a_bad_quota_is_refused_naming_the_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["--quota", "fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--quota"), "{err}");
}

#[tokio::test]
async fn the_binary_makes_connect_eventually_consistent_on_request() {
    let (_sim, vars) = start(&[
        "--users",
        "2",
        "--quota",
        "off",
        "--consistency-max-delay",
        "5m",
        "--time-scale",
        "2.5",
        "--seed",
        "7",
    ]);
    let endpoint = &vars["AWS_ENDPOINT_URL_CONNECT"];
    let state: serde_json::Value = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = endpoint.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /_sim/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
    };
    let consistency = &state["Consistency"];
    assert_eq!(consistency["Enabled"], true);
    assert_eq!(consistency["MaxDelaySeconds"], 300.0);
    assert_eq!(consistency["TimeScale"], 2.5);
    assert_eq!(consistency["Seed"], 7);
    assert_eq!(
        consistency["UnsettledResources"], 0,
        "the seeded users are settled"
    );
    // And the SDK finds them at once.
    let conf = aws_sdk_connect::Config::builder()
        .behavior_version(aws_sdk_connect::config::BehaviorVersion::latest())
        .region(aws_sdk_connect::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_connect::config::Credentials::new(
            &vars["AWS_ACCESS_KEY_ID"],
            &vars["AWS_SECRET_ACCESS_KEY"],
            None,
            None,
            "test",
        ))
        .build();
    let users = aws_sdk_connect::Client::from_conf(conf)
        .search_users()
        .instance_id(&vars["CONNECT_INSTANCE_ID"])
        .send()
        .await
        .unwrap();
    assert_eq!(users.users().len(), 2);
}

#[test]
fn bad_consistency_flags_are_refused_naming_the_flag() {
    for (args, flag) in [
        (
            &["--consistency-max-delay", "5x"][..],
            "--consistency-max-delay",
        ),
        (
            &["--consistency-max-delay", "5m", "--time-scale", "0"][..],
            "--time-scale",
        ),
        (&["--time-scale", "10"][..], "--consistency-max-delay"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}
