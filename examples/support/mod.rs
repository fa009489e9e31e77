//! What the benchmark and the soak share: the emulators with the CRD, a namespace and the
//! password Secret `pw`/`p`; and the operator run as a child process of the same executable
//! (`--as-operator run ...`), so that its memory and CPU time are its own; likewise the
//! benchmark's naive baseline controller (`--as-naive`, [`naive`]).
// Compiled into each example, which uses only part of it.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

use connect_user_operator::crd::ConnectUser;
use connect_user_operator::instance::crd::{ClusterConnectInstance, ConnectInstance};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::PostParams;
use kube::{Api, CustomResourceExt};
use serde_json::json;
use sim::connect::{ConnectConfig, ConnectSim, Consistency, InstanceSeed, Quota};
use sim::kube::KubeSim;

pub mod fixed_rate;
pub mod naive;
pub mod neighbour;

pub type AnyResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const AS_OPERATOR: &str = "--as-operator";
/// The operator with the former fixed-rate limiter ([`fixed_rate`]) instead of the adaptive one.
const AS_OPERATOR_FIXED: &str = "--as-operator-fixed";

/// In the child process: runs the operator's own `run` (or `export`) with the arguments after
/// `--as-operator` and returns its result. `None` in the parent.
pub fn run_if_operator() -> Option<AnyResult<()>> {
    let raw: Vec<String> = std::env::args().collect();
    if raw.get(1).map(String::as_str) == Some(naive::AS_NAIVE) {
        return Some(naive::run(&raw[2..]));
    }
    let fixed = raw.get(1).map(String::as_str) == Some(AS_OPERATOR_FIXED);
    if raw.get(1).map(String::as_str) != Some(AS_OPERATOR) && !fixed {
        return None;
    }
    let extra = connect_user_operator::connect::ConnectSettings {
        control: fixed.then(|| {
            std::sync::Arc::new(fixed_rate::FixedRate)
                as std::sync::Arc<dyn connect_user_operator::connect::RateControl>
        }),
        ..Default::default()
    };
    let run = || -> AnyResult<()> {
        use clap::Parser;
        let cli = connect_user_operator::cli::Cli::parse_from(
            std::iter::once("connect-user-operator".to_string()).chain(raw[2..].iter().cloned()),
        );
        match cli.command {
            connect_user_operator::cli::Command::Run(run) => {
                connect_user_operator::telemetry::init(run.log_format);
                tokio::runtime::Runtime::new()?
                    .block_on(connect_user_operator::runner::run_with(run, extra))?;
            }
            connect_user_operator::cli::Command::Export(export) => {
                let yaml = tokio::runtime::Runtime::new()?
                    .block_on(connect_user_operator::export::run(&export))?;
                print!("{yaml}");
            }
            _ => return Err("expected `run` or `export`".into()),
        }
        Ok(())
    };
    Some(run())
}

/// Whether the resource's Ready condition is True.
pub fn is_ready(cu: &ConnectUser) -> bool {
    cu.status
        .as_ref()
        .and_then(|s| s.condition("Ready"))
        .is_some_and(|c| c.status == "True")
}

/// Connect's eventual consistency as the emulator models it by default (usually seconds, up to
/// 5 minutes, NotFound or InvalidRequestException meanwhile), `scale` times faster than real
/// time; `None` for a scale of 0.
pub fn consistency(scale: f64) -> Option<Consistency> {
    (scale > 0.0).then(|| Consistency {
        time_scale: scale,
        ..Consistency::default()
    })
}

/// Both emulators, the CRD, the namespace and the password Secret.
pub struct Bed {
    pub kube: KubeSim,
    pub connect: ConnectSim,
    pub client: kube::Client,
    namespace: String,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl Bed {
    /// `consistency`: Connect's eventual-consistency model (None: every read sees every write
    /// at once).
    pub async fn start(
        instance: &str,
        namespace: &str,
        quota: Option<Quota>,
        consistency: Option<Consistency>,
    ) -> AnyResult<Bed> {
        let kube = KubeSim::start().await?;
        let connect = ConnectSim::start(ConnectConfig {
            quota,
            consistency,
            ..Default::default()
        })
        .await?;
        connect.seed_instance(InstanceSeed::standard(instance));
        for crd in [
            serde_json::to_value(ConnectUser::crd())?,
            serde_json::to_value(ConnectInstance::crd())?,
            serde_json::to_value(ClusterConnectInstance::crd())?,
        ] {
            kube.create_object(crd).map_err(|s| format!("{s}"))?;
        }
        let client = kube::Client::try_from(kube::Config::new(kube.url().parse()?))?;
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
            )
            .await?;
        Api::<Secret>::namespaced(client.clone(), namespace)
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"metadata": {"name": "pw"}, "stringData": {"p": "Example-Passw0rd"}}),
                )?,
            )
            .await?;
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        kube.write_kubeconfig(&kubeconfig)?;
        Ok(Bed {
            kube,
            connect,
            client,
            namespace: namespace.to_string(),
            _dir: dir,
            kubeconfig,
        })
    }

    /// `connect-user-operator export` of `instance` (this executable as a child process, with the
    /// limiter at `rate`/s): the multi-document YAML it prints.
    pub fn export(&self, instance: &str, rate: f64) -> AnyResult<String> {
        let out = Command::new(std::env::current_exe()?)
            .args([AS_OPERATOR, "export", "--instance-id", instance])
            .args(["--namespace", &self.namespace])
            .args(["--connect-rate", &rate.to_string()])
            .env("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXPORT")
            .env("AWS_SECRET_ACCESS_KEY", "example-secret")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("export failed: {}", out.status).into());
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// The operator as a child process watching the bed's namespace; `args` follow
    /// `run --namespace NS --metrics-addr 127.0.0.1:0`.
    pub fn spawn_operator(&self, args: &[String]) -> AnyResult<Child> {
        self.spawn_operator_with(false, args, None)
    }

    /// The same, with STS at `sts` (`AWS_ENDPOINT_URL_STS`): for instance objects with a role.
    pub fn spawn_operator_with_sts(&self, args: &[String], sts: Option<&str>) -> AnyResult<Child> {
        self.spawn_operator_with(false, args, sts)
    }

    /// [`Bed::spawn_operator_with_sts`], with the former fixed-rate limiter when `fixed`.
    pub fn spawn_operator_with(
        &self,
        fixed: bool,
        args: &[String],
        sts: Option<&str>,
    ) -> AnyResult<Child> {
        let mut all = vec!["--metrics-addr".to_string(), "127.0.0.1:0".to_string()];
        all.extend_from_slice(args);
        let mode = if fixed {
            AS_OPERATOR_FIXED
        } else {
            AS_OPERATOR
        };
        let mut command = self.child(&[mode, "run"], &all)?;
        if let Some(url) = sts {
            command.env("AWS_ENDPOINT_URL_STS", url);
        }
        Ok(command.spawn()?)
    }

    /// The naive baseline controller ([`naive`]) as a child process watching the bed's
    /// namespace; `args` follow `--namespace NS`.
    pub fn spawn_naive(&self, args: &[String]) -> AnyResult<Child> {
        self.spawn_child(&[naive::AS_NAIVE], args)
    }

    /// This executable with `mode`, `--namespace NS`, then `args`, pointed at both emulators
    /// through the environment, as a user would point the operator at them.
    fn spawn_child(&self, mode: &[&str], args: &[String]) -> AnyResult<Child> {
        Ok(self.child(mode, args)?.spawn()?)
    }

    fn child(&self, mode: &[&str], args: &[String]) -> AnyResult<Command> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(mode)
            .args(["--namespace", &self.namespace])
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("AWS_ENDPOINT_URL_CONNECT", self.connect.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", sim::aws::TEST_ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", sim::aws::TEST_SECRET_ACCESS_KEY)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null());
        Ok(command)
    }
}
