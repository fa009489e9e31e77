//! Logging: text or JSON lines on stderr, level from `RUST_LOG` (default info).

use std::ffi::OsStr;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Whatever `RUST_LOG` says, these targets log at most at info: below it they log
/// credentials. aws-config's AssumeRole provider logs the access key id it obtained (debug);
/// the SDK's orchestrator logs the resolved identity with the endpoint parameters (debug), and
/// requests, responses and outputs, AssumeRole's included (trace); SigV4 logs the signing
/// parameters (trace). Retries stay visible: they are logged by the retry strategy's module.
pub fn credential_cap() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("aws_config::sts", LevelFilter::INFO)
        .with_target(
            "aws_smithy_runtime::client::orchestrator",
            LevelFilter::INFO,
        )
        .with_target("aws_smithy_runtime::client::identity", LevelFilter::INFO)
        .with_target("aws_sigv4", LevelFilter::INFO)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Colours only for a person watching a terminal: escape codes in a file or a log collector are
/// noise. `NO_COLOR` (any non-empty value, <https://no-color.org>) turns them off even there.
pub fn use_ansi(writer_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    writer_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The log lines go to stderr, so stderr is the stream whose terminal-ness counts.
    let ansi = use_ansi(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    // try_init: a second init (tests, demo) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Text => builder.finish().with(credential_cap()).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .finish()
            .with(credential_cap())
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_cap_stops_below_the_levels_that_log_credentials() {
        use tracing::Level;
        let cap = credential_cap();
        assert!(!cap.would_enable("aws_config::sts::assume_role", &Level::DEBUG));
        assert!(cap.would_enable("aws_config::sts::assume_role", &Level::INFO));
        assert!(!cap.would_enable(
            "aws_smithy_runtime::client::orchestrator::auth",
            &Level::TRACE
        ));
        assert!(!cap.would_enable("aws_sigv4::http_request::sign", &Level::TRACE));
        assert!(cap.would_enable("connect_user_operator::controller", &Level::TRACE));
        assert!(!cap.would_enable(
            "aws_smithy_runtime::client::orchestrator::endpoints",
            &Level::DEBUG
        ));
        assert!(cap.would_enable(
            "aws_smithy_runtime::client::retries::strategy",
            &Level::DEBUG
        ));
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(use_ansi(true, None));
        assert!(!use_ansi(false, None));
        assert!(!use_ansi(true, Some(OsStr::new("1"))));
        // The convention: an empty NO_COLOR does not count.
        assert!(use_ansi(true, Some(OsStr::new(""))));
        assert!(!use_ansi(false, Some(OsStr::new(""))));
    }
}
