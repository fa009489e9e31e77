//! The real `kubectl`, as a person would use it, against the cluster under test (the
//! Kubernetes emulator by default).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;
use tokio::io::AsyncWriteExt;

pub struct Kubectl {
    kubeconfig: PathBuf,
    /// Its own discovery cache, so a run never writes to ~/.kube/cache.
    cache_dir: PathBuf,
}

impl Kubectl {
    pub fn new(kubeconfig: &Path, cache_dir: &Path) -> Kubectl {
        Kubectl {
            kubeconfig: kubeconfig.to_path_buf(),
            cache_dir: cache_dir.to_path_buf(),
        }
    }

    /// Runs kubectl with `args` (and `stdin` piped in); stdout on success, a message naming the
    /// command and kubectl's stderr otherwise. Secrets only ever go through stdin.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.args(args)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            format!("kubectl is not on the PATH ({e}); scripts/test-deps.sh installs it")
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .map_err(|e| format!("kubectl {}: writing stdin: {e}", args.join(" ")))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("kubectl {}: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `kubectl get ... -o json`, or `None` when it is not found.
    pub async fn get_json(&self, args: &[&str]) -> Result<Option<Value>, String> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json", "--ignore-not-found"]);
        let out = self.run(&all, None).await?;
        if out.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&out)
            .map(Some)
            .map_err(|e| format!("kubectl {}: not JSON: {e}", all.join(" ")))
    }

    pub async fn apply(&self, yaml: &str) -> Result<String, String> {
        self.run(&["apply", "-f", "-"], Some(yaml)).await
    }
}
