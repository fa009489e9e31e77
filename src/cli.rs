//! Command-line interface: flags and environment variables, nothing else.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "connect-user-operator",
    version,
    about = "Amazon Connect users as Kubernetes resources"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller (in-cluster config or KUBECONFIG; AWS default credential chain).
    Run(RunArgs),
    /// Print a CustomResourceDefinition (ConnectUser by default) as YAML.
    Crd(CrdArgs),
    /// Print ConnectUser manifests (multi-document YAML) that adopt an instance's existing users.
    Export(ExportArgs),
    /// Find (and with --delete, delete) USER quick connects whose user no longer exists; a dry
    /// run by default.
    PruneQuickConnects(PruneArgs),
}

#[derive(Args, Debug, Clone)]
pub struct PruneArgs {
    /// The Amazon Connect instance id.
    #[arg(long)]
    pub instance_id: String,
    /// AWS region of the instance (default: AWS_REGION / the AWS config).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// A role to assume (with STS, from the credentials found otherwise) for every Connect call.
    #[arg(long)]
    pub role_arn: Option<String>,
    /// Time between the two observations of each missing user, e.g. 1m, 90s. 0s trusts the
    /// first NotFound's repetition at once: unsafe right after users or quick connects were
    /// created or changed, since Connect may not show a new user yet.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    pub settle: Duration,
    /// Delete the dangling quick connects found (without it, nothing is written).
    #[arg(long, default_value_t = false)]
    pub delete: bool,
    /// Client-side Connect request rate per operation (0 disables the limiter).
    #[arg(long, env = "CONNECT_RATE", default_value_t = 1.9)]
    pub connect_rate: f64,
}

#[derive(Args, Debug, Clone)]
pub struct CrdArgs {
    /// Print the Markdown field reference (docs/reference.md, every kind) instead of the YAML.
    #[arg(long)]
    pub reference: bool,
    /// Which CRD to print: connectuser (crds/connectuser.yaml), connectinstance or
    /// clusterconnectinstance.
    #[arg(long, value_enum, default_value_t = CrdKind::Connectuser)]
    pub kind: CrdKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CrdKind {
    Connectuser,
    Connectinstance,
    Clusterconnectinstance,
}

#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// The Amazon Connect instance id.
    #[arg(long)]
    pub instance_id: String,
    /// AWS region of the instance (default: AWS_REGION / the AWS config).
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// metadata.namespace of the manifests; omitted (kubectl's current namespace) when empty.
    #[arg(long)]
    pub namespace: Option<String>,
    /// spec.deletionPolicy of the manifests. Retain by default, so that deleting or pruning an
    /// exported resource never deletes a user that existed before the operator.
    #[arg(long, value_enum, default_value_t = DeletionPolicyArg::Retain)]
    pub deletion_policy: DeletionPolicyArg,
    /// Also export users that carry an ownership tag already (otherwise they are listed as
    /// comments only).
    #[arg(long, default_value_t = false)]
    pub include_owned: bool,
    /// Client-side Connect request rate per operation (0 disables the limiter).
    #[arg(long, env = "CONNECT_RATE", default_value_t = 1.9)]
    pub connect_rate: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeletionPolicyArg {
    #[value(name = "Retain")]
    Retain,
    #[value(name = "Delete")]
    Delete,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Namespaces to watch (comma-separated or repeated); all namespaces when empty.
    #[arg(long = "namespace", env = "WATCH_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Region for resources without spec.region.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// How often in-sync users are compared with Connect (drift detection), e.g. 10m, 30s.
    #[arg(long, env = "RESYNC_PERIOD", default_value = "10m", value_parser = parse_duration)]
    pub resync_period: Duration,
    /// Resources reconciled at once, across every watched namespace (one Controller serves them
    /// all).
    #[arg(long, env = "CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// Client-side Connect request rate per operation, account and region (0 disables the
    /// limiter): the ceiling, below which the rate adapts to throttling. The default is a little
    /// under Connect's default quota of 2/s: at exactly the quota, jitter pushes calls over it.
    #[arg(long, env = "CONNECT_RATE", default_value_t = 1.9)]
    pub connect_rate: f64,
    /// Client-side burst per operation and region (Connect's default burst is 5).
    #[arg(long, env = "CONNECT_BURST", default_value_t = 4)]
    pub connect_burst: u32,
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// With --namespace: also serve ClusterConnectInstances (needs cluster-wide rights on
    /// them and `get` on namespaces). A cluster-wide install always does.
    #[arg(long, env = "CLUSTER_CONNECT_INSTANCES", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub cluster_connect_instances: bool,
    /// Reconcile only while holding a Lease, so several replicas can run.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_election: bool,
    /// Name of the Lease used for leader election.
    #[arg(long, env = "LEASE_NAME", default_value = "connect-user-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity in the Lease.
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Seconds a Lease stays valid without renewal.
    #[arg(long, env = "LEASE_DURATION_SECONDS", default_value_t = 15)]
    pub lease_duration: u64,
    /// How long Amazon Connect may take to agree with itself after a write (AWS: "usually a few
    /// seconds, can take several minutes"), e.g. 5m, 90s. NotFound counts as absence only this
    /// long after the operator's own write, and every deletion lists quick connects once more
    /// this long after DeleteUser (so `kubectl delete` takes at least this long). 0 trusts every
    /// read at once: quick connects created shortly before a deletion can then be missed.
    #[arg(long, env = "SETTLE_WINDOW", default_value = "5m", value_parser = parse_duration)]
    pub settle_window: Duration,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `90s`, `10m`, `1h`, `500ms` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in {s:?} (use ms, s, m or h)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("10d").is_err());
        assert!(parse_duration("x").is_err());
    }
}
