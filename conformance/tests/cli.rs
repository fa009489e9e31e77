//! The `conformance` binary in its sandbox mode, pointed at an emulator started here (the same
//! code as against Amazon Connect, only the endpoint and credentials differ): it refuses an
//! instance without the opt-in and makes no call, and with the opt-in it runs.

use std::process::Command;

use conformance::emulator::{self, Bed, INSTANCES, Settings};
use conformance::target::{ALLOW_WRITES_VAR, FILL_QUOTA_VAR, INSTANCE_VAR};

/// The binary with the environment a sandbox user would have, pointed at `bed`.
fn conformance(bed: &Bed, args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let credentials = emulator::credentials();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_conformance"));
    cmd.args(args)
        .env_remove(INSTANCE_VAR)
        .env_remove(ALLOW_WRITES_VAR)
        .env_remove(FILL_QUOTA_VAR)
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL_CONNECT", bed.sim.endpoint())
        .env("AWS_REGION", emulator::REGION)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("the conformance binary runs")
}

fn text(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_the_opt_in_is_refused_before_any_call() {
    let bed = Bed::start(Settings::default()).await.unwrap();
    let id = INSTANCES[0].1;
    for (args, vars) in [
        (vec!["connect"], vec![(INSTANCE_VAR, id)]),
        (
            vec!["connect"],
            vec![(INSTANCE_VAR, id), (ALLOW_WRITES_VAR, "yes")],
        ),
        (
            vec!["connect"],
            vec![(INSTANCE_VAR, id), (ALLOW_WRITES_VAR, INSTANCES[1].1)],
        ),
        (vec!["operator"], vec![(INSTANCE_VAR, id)]),
    ] {
        let out = conformance(&bed, &args, &vars);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(
            all.contains(ALLOW_WRITES_VAR) && all.contains("refusing"),
            "{all}"
        );
    }
    assert!(
        bed.sim.calls().is_empty(),
        "calls were made: {:?}",
        bed.sim.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_opt_in_the_sandbox_mode_runs_through_the_aws_environment() {
    let bed = Bed::start(Settings::default()).await.unwrap();
    let id = INSTANCES[0].1;
    let out = conformance(
        &bed,
        &[
            "connect",
            "--only",
            "errors/describe-user-unknown-id",
            "--only",
            "errors/duplicate-username",
        ],
        &[(INSTANCE_VAR, id), (ALLOW_WRITES_VAR, id)],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("Amazon Connect us-east-1 at http://127.0.0.1"),
        "{all}"
    );
    // `--only` matches substrings: errors/duplicate-username-other-case runs too.
    assert!(all.contains("3 passed, 0 failed, 0 broken"), "{all}");
    let ops: Vec<String> = bed.sim.calls().into_iter().map(|c| c.operation).collect();
    for op in [
        "DescribeInstance",
        "ListSecurityProfiles",
        "ListUsers",
        "DescribeUser",
        "CreateUser",
        "DeleteUser",
    ] {
        assert!(ops.iter().any(|o| o == op), "no {op} in {ops:?}");
    }
    assert!(bed.sim.users(id).is_empty(), "{:?}", bed.sim.users(id));
}
