//! The real operator binary as a child process, watching only the run's namespace, its logs
//! in a file (printed when a step fails).

use std::path::{Path, PathBuf};
use std::process::Stdio;

pub struct OperatorProcess {
    child: tokio::process::Child,
    pub log: PathBuf,
}

/// Where the operator binary is: the given path; else the `connect-user-operator` next to this
/// executable, built first when this runs under cargo (so the binary tested is the current one).
pub async fn locate(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("--operator-bin {}: no such file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("locating this executable: {e}"))?;
    let dir = exe.parent().ok_or("this executable has no directory")?;
    if let Ok(cargo) = std::env::var("CARGO") {
        let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut cmd = tokio::process::Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "--bin",
            "connect-user-operator",
            "-p",
            "connect-user-operator",
        ])
        .current_dir(workspace);
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd
            .status()
            .await
            .map_err(|e| format!("cargo build --bin connect-user-operator: {e}"))?;
        if !status.success() {
            return Err("cargo build --bin connect-user-operator failed".into());
        }
    }
    let candidate = dir.join("connect-user-operator");
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no operator binary at {}: build it (cargo build --bin connect-user-operator) or pass --operator-bin",
            candidate.display()
        ))
    }
}

impl OperatorProcess {
    /// `connect-user-operator run --namespace <ns>` with JSON logs to `log`; `env` is added to
    /// this process's environment (AWS settings, KUBECONFIG).
    pub fn spawn(
        bin: &Path,
        namespace: &str,
        env: &[(String, String)],
        log: PathBuf,
    ) -> Result<OperatorProcess, String> {
        let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut cmd = tokio::process::Command::new(bin);
        cmd.args([
            "run",
            "--namespace",
            namespace,
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        Ok(OperatorProcess { child, log })
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (as the kubelet stops a pod), then SIGKILL if it has not exited within 10 s.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-s", "TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(std::time::Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}
