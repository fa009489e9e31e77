//! The real operator binary as child processes against both emulators (as in a cluster: several
//! replicas, signals, HTTP probes), with JSON logs captured per process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connect_user_operator::crd::ConnectUser;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed, SimQuickConnect};
use sim::kube::{KubeSim, RequestRecord};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{INSTANCE, PASSWORD, REGION, manifest};

/// User-Agent of the test's own Kubernetes client: the operator's requests are the others.
pub const TEST_AGENT: &str = "e2e-test-client";

pub struct Cluster {
    pub kube: KubeSim,
    pub connect: ConnectSim,
    pub client: kube::Client,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Both emulators, the CRD, `namespaces` (created when missing) each with the password
    /// Secret, and a seeded Connect instance.
    pub async fn start(namespaces: &[&str]) -> Cluster {
        Cluster::start_with(namespaces, super::connect_config()).await
    }

    /// `start`, with the Connect emulator configured by `config`.
    pub async fn start_with(namespaces: &[&str], config: ConnectConfig) -> Cluster {
        let kube = KubeSim::start().await.expect("kube emulator");
        for crd in super::crds() {
            kube.create_object(crd).expect("install CRD");
        }
        let connect = ConnectSim::start(config).await.expect("connect emulator");
        connect.seed_instance(InstanceSeed::standard(INSTANCE));
        let mut config = kube::Config::new(kube.url().parse().unwrap());
        config.headers.push((
            axum::http::header::USER_AGENT,
            axum::http::HeaderValue::from_static(TEST_AGENT),
        ));
        let client = kube::Client::try_from(config).expect("kube client");
        for ns in namespaces {
            let _ = kube.create_object(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
            );
            let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
            let s: Secret = serde_json::from_value(json!({
                "metadata": {"name": "agent-passwords"},
                "stringData": {"alice": PASSWORD}
            }))
            .unwrap();
            secrets.create(&PostParams::default(), &s).await.unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        kube.write_kubeconfig(&dir.path().join("kubeconfig"))
            .unwrap();
        Cluster {
            kube,
            connect,
            client,
            dir,
        }
    }

    pub fn api(&self, ns: &str) -> Api<ConnectUser> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// A minimal valid ConnectUser `name` (username = name) in `ns`.
    pub async fn create(&self, ns: &str, name: &str, extra: &str) -> ConnectUser {
        let cu: ConnectUser = serde_yaml::from_str(&manifest(name, extra)).unwrap();
        self.api(ns)
            .create(&PostParams::default(), &cu)
            .await
            .unwrap()
    }

    /// Every request the operator processes made (not the test's own client).
    pub fn operator_requests(&self) -> Vec<RequestRecord> {
        self.kube
            .requests()
            .into_iter()
            .filter(|r| r.user_agent != TEST_AGENT)
            .collect()
    }

    /// Starts `connect-user-operator run` with JSON logs, an ephemeral HTTP port, no client-side
    /// rate limit, then `args` and `env` (which override the defaults here).
    pub fn spawn(&self, label: &str, args: &[&str], env: &[(&str, &str)]) -> Operator {
        let log = self.dir.path().join(format!("{label}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_connect-user-operator"));
        cmd.args(["run", "--metrics-addr", "127.0.0.1:0"]);
        // No client-side limit unless the test sets one (clap refuses the flag twice).
        if !args.contains(&"--connect-rate") {
            cmd.args(["--connect-rate", "0"]);
        }
        cmd.args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint())
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", sim::aws::TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", sim::aws::TEST_SECRET_ACCESS_KEY)
            .env("LOG_FORMAT", "json")
            .env("SETTLE_WINDOW", super::settle_arg())
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("operator binary");
        Operator {
            label: label.to_string(),
            pid: child.id(),
            child: Arc::new(Mutex::new(child)),
            log,
        }
    }
}

pub struct Operator {
    pub label: String,
    pub pid: u32,
    child: Arc<Mutex<Child>>,
    pub log: PathBuf,
}

impl Operator {
    /// A function that SIGKILLs this process (for Connect success hooks).
    pub fn killer(&self) -> impl Fn() + Send + Sync + 'static {
        let child = self.child.clone();
        move || {
            let _ = child.lock().unwrap().kill();
        }
    }

    /// A function that sends SIGTERM, as the kubelet does when it stops a pod.
    pub fn terminator(&self) -> impl Fn() + Send + Sync + 'static {
        let pid = self.pid.to_string();
        move || {
            let _ = Command::new("kill").args(["-s", "TERM", &pid]).status();
        }
    }

    pub fn terminate(&self) {
        self.terminator()();
    }

    pub fn exited(&self) -> Option<ExitStatus> {
        self.child.lock().unwrap().try_wait().unwrap()
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&self, limit: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(s) = self.exited() {
                return Some(s);
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every complete log line, each parsed as a JSON object (panics on any other line). A
    /// last line without its newline is still being written (or was cut by a SIGKILL) and is
    /// left out.
    pub fn log_lines(&self) -> Vec<Value> {
        let text = self.log_text();
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        complete
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("{}: log line is not JSON ({e}): {l}", self.label));
                assert!(
                    v.is_object(),
                    "{}: log line is not an object: {l}",
                    self.label
                );
                v
            })
            .collect()
    }

    /// Whether some log line has this message.
    pub fn logged(&self, message: &str) -> bool {
        self.log_text().lines().any(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .is_some_and(|v| v["message"] == message)
        })
    }

    /// The address of /metrics, /healthz and /readyz, from the start-up log line.
    pub async fn http_addr(&self) -> SocketAddr {
        for _ in 0..600 {
            for line in self.log_text().lines() {
                if let Some(addr) = logged_http_addr(line) {
                    return addr;
                }
            }
            assert!(
                self.exited().is_none(),
                "{} exited:\n{}",
                self.label,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{}: no HTTP address logged", self.label);
    }
}

/// The address in the start-up line, in either log format.
fn logged_http_addr(line: &str) -> Option<SocketAddr> {
    const SERVING: &str = "serving /metrics, /healthz, /readyz";
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return (v["message"] == SERVING).then(|| v["addr"].as_str()?.parse().ok())?;
    }
    let (_, fields) = line.split_once(SERVING)?;
    fields
        .split_once("addr=")?
        .1
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Drop for Operator {
    fn drop(&mut self) {
        let mut c = self.child.lock().unwrap();
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A plain HTTP/1.1 GET: (status, content type, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    http_get_accepting(addr, path, None).await
}

/// A GET with this Accept header (none if `None`), as a scraper sends it.
pub async fn http_get_accepting(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// A USER quick connect to `user`.
pub fn user_quick_connect(name: &str, user: &str) -> SimQuickConnect {
    SimQuickConnect {
        name: name.into(),
        quick_connect_type: "USER".into(),
        user_id: Some(user.into()),
        contact_flow_id: Some(InstanceSeed::standard(INSTANCE).contact_flows[0].0.clone()),
        ..Default::default()
    }
}
