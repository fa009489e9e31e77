//! The operator smoke test: the demo's scenario (a user with quick connects, an update, the
//! deletion, nothing left in Connect) with the real operator binary, the CRD from crds/ and
//! the real kubectl, against whatever cluster and Connect it is given: the emulators by
//! default, a cluster (`--kubeconfig`) and a sandbox instance (`CONNECT_CONFORMANCE_*`) when
//! set.

mod kubectl;
mod process;
pub mod scenario;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use sim::kube::KubeSim;

use crate::emulator::{self, Bed};
use crate::target::{self, Mode, Target};

pub use scenario::run;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The cluster to use (a kind cluster, say). Unset: the Kubernetes emulator. A KUBECONFIG
    /// in the environment is deliberately not used: the test creates a namespace and a
    /// ConnectUser, and should not land in whatever cluster the shell points at.
    #[arg(long, env = "CONNECT_CONFORMANCE_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The operator binary to run (default: connect-user-operator next to this executable,
    /// built first when run by cargo).
    #[arg(long, env = "CONFORMANCE_OPERATOR_BIN")]
    pub operator_bin: Option<PathBuf>,
    /// The operator already runs in the cluster (installed with Helm): start none. Needs a
    /// sandbox instance (the cluster cannot reach the in-process Connect emulator).
    #[arg(long)]
    pub external_operator: bool,
    /// Do not apply crds/connectuser.yaml (it is installed already, by Helm say).
    #[arg(long)]
    pub skip_crd: bool,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Emulators only: Connect seconds per real second.
    #[arg(long, default_value_t = emulator::Settings::default().time_scale)]
    pub time_scale: f64,
}

/// Who runs the operator.
#[derive(Clone, Debug)]
pub enum Operator {
    /// This binary, as a child process watching only the run's namespace.
    Binary(PathBuf),
    /// Already running in the cluster.
    External,
}

/// Everything a smoke run needs, however it was obtained.
#[derive(Clone, Debug)]
pub struct Plan {
    pub kubeconfig: PathBuf,
    /// What the report calls the cluster.
    pub cluster: String,
    pub connect: Target,
    /// The Connect settings the operator process gets (endpoint, Region, credentials) on top
    /// of this process's environment.
    pub operator_env: Vec<(String, String)>,
    pub operator: Operator,
    pub apply_crd: bool,
    /// How long a step (Ready, the deletion) may take.
    pub step_timeout: Duration,
}

/// One step of the scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub name: String,
    pub ok: bool,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub detail: String,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[derive(Clone, Debug, Serialize)]
pub struct SmokeReport {
    pub cluster: String,
    pub connect: String,
    pub run_id: String,
    pub steps: Vec<Step>,
    /// Connect resources of the run found after the deletion (deleted by the teardown).
    pub left_behind: Vec<String>,
    /// What the teardown had to do (remove a finalizer...), and anything it could not do.
    pub teardown: Vec<String>,
    pub operator_log_tail: Option<String>,
}

impl SmokeReport {
    pub fn passed(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok) && self.left_behind.is_empty()
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "== Operator smoke test: cluster {}, Connect {} (run cfm-{}) ==\n",
            self.cluster, self.connect, self.run_id
        );
        for s in &self.steps {
            out.push_str(&format!(
                "{:<5} {:<58} {:>8.3} s\n",
                if s.ok { "OK" } else { "FAIL" },
                s.name,
                s.duration.as_secs_f64()
            ));
            if !s.detail.is_empty() {
                out.push_str(&format!("      {}\n", s.detail));
            }
        }
        for l in &self.left_behind {
            out.push_str(&format!("LEFT BEHIND (deleted by the teardown): {l}\n"));
        }
        for t in &self.teardown {
            out.push_str(&format!("teardown: {t}\n"));
        }
        if !self.passed()
            && let Some(log) = &self.operator_log_tail
        {
            out.push_str("operator log (last lines):\n");
            out.push_str(log);
            out.push('\n');
        }
        out.push_str(&format!(
            "result: {}",
            if self.passed() { "PASSED" } else { "FAILED" }
        ));
        out
    }
}

/// The Kubernetes emulator, its kubeconfig written to `dir`.
pub async fn kube_emulator(dir: &std::path::Path) -> std::io::Result<(KubeSim, PathBuf)> {
    let kube = KubeSim::start().await?;
    let kubeconfig = dir.join("kubeconfig");
    kube.write_kubeconfig(&kubeconfig)?;
    Ok((kube, kubeconfig))
}

/// The Connect emulator's CONNECT_MANAGED instance as the smoke test's Connect, and the
/// environment that points the operator at it (with the settle window for its time scale).
pub async fn connect_emulator(
    settings: &emulator::Settings,
) -> std::io::Result<(Bed, Target, Vec<(String, String)>)> {
    let bed = Bed::start(settings.clone()).await?;
    let (idm, id) = emulator::INSTANCES[0];
    let connect = bed.target(idm, id).await;
    let credentials = emulator::credentials();
    // The operator's settle window: the emulator's longest delay in real time, with a margin.
    let window = settings.max_delay.div_f64(settings.time_scale) + Duration::from_secs(1);
    let env = vec![
        ("AWS_ENDPOINT_URL_CONNECT".to_string(), bed.sim.endpoint()),
        ("AWS_REGION".to_string(), emulator::REGION.to_string()),
        (
            "AWS_ACCESS_KEY_ID".to_string(),
            credentials.access_key_id().to_string(),
        ),
        (
            "AWS_SECRET_ACCESS_KEY".to_string(),
            credentials.secret_access_key().to_string(),
        ),
        (
            "SETTLE_WINDOW".to_string(),
            format!("{}ms", window.as_millis()),
        ),
    ];
    Ok((bed, connect, env))
}

/// Both emulators and the plan for them (the operator still to be chosen).
pub async fn emulated(
    settings: &emulator::Settings,
    dir: &std::path::Path,
) -> std::io::Result<(KubeSim, Bed, Plan)> {
    let (kube, kubeconfig) = kube_emulator(dir).await?;
    let (bed, connect, operator_env) = connect_emulator(settings).await?;
    let plan = Plan {
        kubeconfig,
        cluster: "the Kubernetes emulator".into(),
        connect,
        operator_env,
        operator: Operator::External,
        apply_crd: true,
        step_timeout: Duration::from_secs(60),
    };
    Ok((kube, bed, plan))
}

/// `conformance operator`: the plan from flags and environment, the run, the report.
pub async fn main(args: Args, env: impl Fn(&str) -> Option<String>) -> Result<bool, String> {
    let mode = target::mode_from(&env)?;
    if args.external_operator && mode == Mode::Emulators {
        return Err("--external-operator needs a sandbox instance (CONNECT_CONFORMANCE_INSTANCE_ID): an operator in the cluster cannot reach the in-process Connect emulator".into());
    }
    if args.kubeconfig.is_none() && env("KUBECONFIG").is_some() {
        eprintln!(
            "note: KUBECONFIG is set but not used; pass --kubeconfig \"$KUBECONFIG\" to run against that cluster"
        );
    }
    if !(args.time_scale.is_finite() && args.time_scale > 0.0) {
        return Err("--time-scale must be a positive number".into());
    }
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let started = |e: std::io::Error| format!("starting the emulators: {e}");
    // The emulators live as long as the run.
    let mut _kube = None;
    let (kubeconfig, cluster) = match &args.kubeconfig {
        Some(k) => (k.clone(), k.display().to_string()),
        None => {
            let (kube, path) = kube_emulator(dir.path()).await.map_err(started)?;
            _kube = Some(kube);
            (path, "the Kubernetes emulator".to_string())
        }
    };
    let mut _bed = None;
    let (connect, operator_env, step_timeout) = match mode {
        Mode::Emulators => {
            let settings = emulator::Settings {
                time_scale: args.time_scale,
                ..emulator::Settings::default()
            };
            let (bed, connect, env) = connect_emulator(&settings).await.map_err(started)?;
            _bed = Some(bed);
            (connect, env, Duration::from_secs(60))
        }
        // The operator gets this environment's AWS settings, as the suite does; deletions wait
        // for its settle window (5 minutes by default).
        Mode::Sandbox { instance_id, .. } => (
            target::sandbox(instance_id, None).await?,
            Vec::new(),
            Duration::from_secs(900),
        ),
    };
    let operator = if args.external_operator {
        Operator::External
    } else {
        Operator::Binary(process::locate(args.operator_bin.as_deref()).await?)
    };
    let plan = Plan {
        kubeconfig,
        cluster,
        connect,
        operator_env,
        operator,
        apply_crd: !args.skip_crd,
        step_timeout,
    };
    let report = run(&plan).await;
    println!("{}", report.render());
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(report.passed())
}
