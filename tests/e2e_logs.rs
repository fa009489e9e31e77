//! Text logs of the real binary carry ANSI colour codes only on a terminal, and never with
//! `NO_COLOR`. The binary is made to log and exit at once: it logs its start, then cannot bind
//! its metrics port (held by the test).

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_connect-user-operator");
const ESC: &str = "\x1b[";

struct Setup {
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    _port: TcpListener,
    busy_addr: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // Reading a kubeconfig makes no request; nothing listens on port 9 anyway.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:9'}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_addr = port.local_addr().unwrap().to_string();
    Setup {
        _dir: dir,
        kubeconfig,
        _port: port,
        busy_addr,
    }
}

fn operator(s: &Setup, no_color: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "run",
        "--log-format",
        "text",
        "--metrics-addr",
        &s.busy_addr,
    ])
    .env("KUBECONFIG", &s.kubeconfig)
    .env("AWS_REGION", "us-east-1")
    .env("AWS_ACCESS_KEY_ID", "AKIDLOGTEST")
    .env("AWS_SECRET_ACCESS_KEY", "log-test-secret")
    .env("RUST_LOG", "info")
    .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    cmd
}

/// Runs `cmd` with stdin, stdout and stderr on a pseudo-terminal (util-linux `script`), and
/// returns what the terminal showed.
fn on_terminal(cmd: &Command) -> String {
    // env(1) takes its -u options before the assignments.
    let mut unset = String::new();
    let mut set = String::new();
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => set.push_str(&format!("{}={} ", k.to_string_lossy(), sh(v))),
            None => unset.push_str(&format!("-u {} ", k.to_string_lossy())),
        }
    }
    let mut line = format!("env {unset}{set}{}", sh(cmd.get_program()));
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&sh(a));
    }
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs a command on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sh(s: &std::ffi::OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

fn logged_start(text: &str) -> bool {
    text.contains("starting connect-user-operator")
}

#[test]
fn text_logs_to_a_pipe_have_no_escape_codes() {
    let s = setup();
    let Output { status, stderr, .. } = operator(&s, None).stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&stderr);
    assert!(!status.success(), "the metrics port is taken: {text}");
    assert!(logged_start(&text), "{text}");
    assert!(
        !text.contains(ESC),
        "escape codes in logs that go to a pipe:\n{text:?}"
    );
}

#[test]
fn text_logs_on_a_terminal_are_coloured_unless_no_color_is_set() {
    let s = setup();
    // The control: on a terminal the same binary colours its lines, so the check above can see
    // escape codes when they are there.
    let shown = on_terminal(&operator(&s, None));
    assert!(logged_start(&shown), "{shown:?}");
    assert!(shown.contains(ESC), "no colours on a terminal: {shown:?}");
    let shown = on_terminal(&operator(&s, Some("1")));
    assert!(logged_start(&shown), "{shown:?}");
    assert!(
        !shown.contains(ESC),
        "NO_COLOR=1 but escape codes on the terminal: {shown:?}"
    );
}
