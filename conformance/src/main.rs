//! `conformance connect` and `conformance operator`: flags and environment, then the suite.
//! Exit status: 0 passed, 1 failed, 2 refused to run (no opt-in, bad settings).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};
use conformance::connect::{self, cases, run::Options};
use conformance::{emulator, operator, target};

#[derive(Parser, Debug)]
#[command(
    name = "conformance",
    about = "Amazon Connect conformance cases and the operator smoke test, against the emulators (default) or a sandbox (CONNECT_CONFORMANCE_INSTANCE_ID + CONNECT_CONFORMANCE_ALLOW_WRITES)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The Connect API cases.
    Connect(ConnectArgs),
    /// The operator smoke test: create a user with quick connects, update it, delete it, check
    /// that nothing is left in Connect.
    Operator(operator::Args),
}

#[derive(clap::Args, Debug)]
struct ConnectArgs {
    /// Run only the cases whose id contains this (repeatable), e.g. `search/` or `consistency`.
    #[arg(long = "only")]
    only: Vec<String>,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Emulators only: Connect seconds per real second.
    #[arg(long, default_value_t = emulator::Settings::default().time_scale)]
    time_scale: f64,
    /// Emulators only: the seed of the consistency model's delays.
    #[arg(long, default_value_t = emulator::Settings::default().seed)]
    seed: u64,
    /// List the cases (id, call, expected, basis) and exit.
    #[arg(long)]
    list: bool,
    /// Print the undocumented cases as docs/conformance.md lists them, and exit.
    #[arg(long)]
    list_undocumented: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Connect(args) => connect_command(args).await,
        Command::Operator(args) => match operator::main(args, |k| std::env::var(k).ok()).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                eprintln!("conformance operator: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The first Ctrl-C lets the current case finish and cleans up; a second one exits at once
/// (the next run's sweep deletes what is left).
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted: finishing the current case and cleaning up (Ctrl-C again to quit now)"
            );
            flag.store(true, Ordering::SeqCst);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    stop
}

async fn connect_command(args: ConnectArgs) -> ExitCode {
    let table = cases::all();
    if args.list_undocumented {
        print!("{}", cases::undocumented_markdown());
        return ExitCode::SUCCESS;
    }
    if args.list {
        for c in &table {
            let basis = match &c.basis {
                connect::case::Basis::Documented(s) => format!("documented: {s}"),
                connect::case::Basis::Undocumented(s) => format!("UNDOCUMENTED, assumed: {s}"),
            };
            println!("{:<56} {:<36} {}\n    {basis}", c.id, c.call, c.expect);
        }
        return ExitCode::SUCCESS;
    }
    let options = Options {
        only: args.only,
        stop: Some(stop_on_ctrl_c()),
    };
    let reports = match target::mode_from(|k| std::env::var(k).ok()) {
        Err(e) => {
            eprintln!("conformance connect: {e}");
            return ExitCode::from(2);
        }
        Ok(target::Mode::Emulators) => {
            let settings = emulator::Settings {
                time_scale: args.time_scale,
                seed: args.seed,
                ..emulator::Settings::default()
            };
            if !(settings.time_scale.is_finite() && settings.time_scale > 0.0) {
                eprintln!("conformance connect: --time-scale must be a positive number");
                return ExitCode::from(2);
            }
            match connect::against_emulators(settings, &table, &options).await {
                Ok((_bed, reports)) => reports,
                Err(e) => {
                    eprintln!("conformance connect: starting the emulator: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        Ok(target::Mode::Sandbox {
            instance_id,
            quota_fill_cap,
        }) => match target::sandbox(instance_id, quota_fill_cap).await {
            Ok(t) => vec![connect::against(&t, &table, &options).await],
            Err(e) => {
                eprintln!("conformance connect: {e}");
                return ExitCode::from(2);
            }
        },
    };
    for r in &reports {
        println!("{}", r.render());
    }
    if let Some(path) = args.json {
        let text = serde_json::to_string_pretty(&reports).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("writing {}: {e}", path.display());
        }
    }
    if reports.iter().all(|r| r.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
