use clap::Parser;
use connect_user_operator::cli::{Cli, Command, CrdKind};
use connect_user_operator::instance::crd::{ClusterConnectInstance, ConnectInstance};
use connect_user_operator::{crd, crd_reference, export, prune, runner, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd(args) => {
            if args.reference {
                print!("{}", crd_reference::reference_markdown());
            } else {
                print!("{}", crd_of(args.kind));
            }
            std::process::ExitCode::SUCCESS
        }
        Command::Export(args) => match export::run(&args).await {
            Ok(yaml) => {
                print!("{yaml}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("connect-user-operator export: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::PruneQuickConnects(args) => match prune::run(&args).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("connect-user-operator prune-quick-connects: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Run(args) => {
            telemetry::init(args.log_format);
            match runner::run(args).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("connect-user-operator: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}

fn crd_of(kind: CrdKind) -> String {
    use connect_user_operator::instance::crd::crd_yaml;
    match kind {
        CrdKind::Connectuser => crd::crd_yaml(),
        CrdKind::Connectinstance => crd_yaml::<ConnectInstance>(),
        CrdKind::Clusterconnectinstance => crd_yaml::<ClusterConnectInstance>(),
    }
}
