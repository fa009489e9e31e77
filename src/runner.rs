//! Builds the operator from run arguments and runs it until SIGTERM / Ctrl-C.

use std::sync::Arc;

use crate::cli::RunArgs;
use crate::connect::{ConnectApi, ConnectSettings, Rate, SdkConfigBuilder};
use futures::FutureExt;

use crate::context::{Context, Settings};
use crate::controller;
use crate::leader::{self, LeaseConfig};
use crate::server;

pub fn settings(args: &RunArgs) -> (Settings, ConnectSettings) {
    let settings = Settings {
        default_region: args.region.clone(),
        namespaces: crate::watch::unique_namespaces(&args.namespaces),
        cluster_instances: args.namespaces.iter().all(|n| n.is_empty())
            || args.cluster_connect_instances,
        resync_period: args.resync_period,
        concurrency: args.concurrency.max(1),
        settle_window: args.settle_window,
        ..Settings::default()
    };
    let connect = ConnectSettings {
        rate: (args.connect_rate > 0.0).then_some(Rate {
            per_second: args.connect_rate,
            burst: args.connect_burst,
        }),
        max_attempts: None,
        control: None,
    };
    (settings, connect)
}

/// A start-up failure (no kubeconfig, no credentials), printed by main.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(args: RunArgs) -> Result<(), StartError> {
    run_with(args, ConnectSettings::default()).await
}

/// [`run`] with what the command line cannot set: `extra.control`, the limiter's policy below
/// the ceiling (the benchmark's fixed-rate baseline); the rest of `extra` is ignored.
pub async fn run_with(args: RunArgs, extra: ConnectSettings) -> Result<(), StartError> {
    let client = kube::Client::try_default().await?;
    let (mut settings, mut connect_settings) = settings(&args);
    connect_settings.control = extra.control;
    let sdk_config = SdkConfigBuilder::default().load().await;
    let connect = Arc::new(ConnectApi::new(sdk_config, connect_settings));
    if settings.default_region.is_none() {
        settings.default_region = connect.default_region();
    }
    tracing::info!(namespaces = ?settings.namespaces, region = ?settings.default_region, resync = ?settings.resync_period, leader_election = args.leader_election, "starting connect-user-operator");
    // The operator's own account, in the background (best effort): until it is known, users
    // named by a raw instanceId share a limiter of their own.
    let own = connect.clone();
    let region = settings
        .default_region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    tokio::spawn(async move {
        let at = crate::model::InstanceRef::own(region, "");
        if let Err(e) = own.caller_account(&at).await {
            tracing::debug!(error = %e, "the operator's own account is not known");
        }
    });
    let ctx = Arc::new(Context::new(client.clone(), connect, settings));
    let addr = server::serve(args.metrics_addr, ctx.metrics.clone()).await?;
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
    // The signal listener runs as a task so that every consumer gets a Send + Sync future.
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    let shutdown = async move {
        let mut rx = rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }
    .shared();
    if args.leader_election {
        let config = LeaseConfig {
            name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            identity: args
                .identity
                .clone()
                .unwrap_or_else(|| format!("connect-user-operator-{}", std::process::id())),
            duration_secs: args.lease_duration.max(2),
            grace_secs: (args.lease_duration / 3).max(1),
        };
        leader::run_while_leader(client, config, ctx.metrics.clone(), shutdown, |stop| {
            controller::run(ctx.clone(), stop)
        })
        .await?;
    } else {
        ctx.metrics.set_leader(true);
        controller::run(ctx, shutdown).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested; finishing in-flight reconciles");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_args(args: &[&str]) -> RunArgs {
        let cli =
            crate::cli::Cli::parse_from(["connect-user-operator", "run"].iter().chain(args.iter()));
        match cli.command {
            crate::cli::Command::Run(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn cluster_connect_instances_are_served_cluster_wide_and_when_asked() {
        assert!(settings(&run_args(&[])).0.cluster_instances);
        assert!(
            !settings(&run_args(&["--namespace", "a"]))
                .0
                .cluster_instances
        );
        let asked = run_args(&["--namespace", "a", "--cluster-connect-instances"]);
        assert!(settings(&asked).0.cluster_instances);
    }

    #[test]
    fn duplicate_namespaces_are_watched_once() {
        let (s, _) = settings(&run_args(&["--namespace", "a,b,a", "--namespace", "b,,c"]));
        assert_eq!(s.namespaces, vec!["a", "b", "c"]);
    }

    #[test]
    fn the_settle_window_defaults_to_five_minutes_and_can_be_set() {
        let (s, _) = settings(&run_args(&[]));
        assert_eq!(s.settle_window, std::time::Duration::from_secs(300));
        let (s, _) = settings(&run_args(&["--settle-window", "90s"]));
        assert_eq!(s.settle_window, std::time::Duration::from_secs(90));
    }
}
