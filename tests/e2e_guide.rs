//! docs/guide.md as a test: its commands, taken from the doc's code blocks and run as written
//! (bash, the real kubectl, the AWS CLI from PyPI pointed at the Connect emulator) against the
//! test bed with the operator running: the CRD check, the namespace and the password Secret,
//! `alice.yaml`, a typo's message, a change, a deletion blocked by a foreign ownership tag
//! (followed, diagnosed, and released with the guide's `aws connect tag-resource`), and the
//! Retain path. The guide's example instance and region are the test bed's, so nothing is
//! substituted.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use connect_user_operator::crd::OWNER_TAG;

const AWSCLI_VERSION: &str = "1.45.11";

fn guide() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/guide.md")).unwrap()
}

/// The commands of each ```sh block, in order: continuation lines joined, comment lines and
/// trailing `  # ...` comments dropped (as the shell would).
fn sh_blocks(doc: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find("```sh\n") {
        let body = &rest[start + "```sh\n".len()..];
        let end = body.find("```").unwrap();
        let mut cmds = Vec::new();
        let mut current = String::new();
        for line in body[..end].lines() {
            let line = line.trim();
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let line = line.split("  # ").next().unwrap();
            if let Some(cont) = line.strip_suffix('\\') {
                current.push_str(cont);
                continue;
            }
            current.push_str(line);
            cmds.push(std::mem::take(&mut current));
        }
        blocks.push(cmds);
        rest = &body[end + 3..];
    }
    blocks
}

/// The first block whose first command starts with `first` and that has a command containing
/// `containing`.
fn block(blocks: &[Vec<String>], first: &str, containing: &str) -> Vec<String> {
    blocks
        .iter()
        .find(|b| b[0].starts_with(first) && b.iter().any(|c| c.contains(containing)))
        .unwrap_or_else(|| panic!("docs/guide.md has no sh block starting {first:?}"))
        .clone()
}

/// The code span (`...`) of the guide that starts with `prefix`.
fn inline_command(doc: &str, prefix: &str) -> String {
    let start = doc
        .find(&format!("`{prefix}"))
        .unwrap_or_else(|| panic!("docs/guide.md has no `{prefix}...`"))
        + 1;
    let end = start + doc[start..].find('`').unwrap();
    doc[start..end].to_string()
}

/// The ```yaml block right after the line "`<file>`:".
fn yaml_file(doc: &str, file: &str) -> String {
    let at = doc
        .find(&format!("`{file}`:\n"))
        .unwrap_or_else(|| panic!("docs/guide.md has no `{file}`"));
    let start = at + doc[at..].find("```yaml\n").unwrap() + "```yaml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_string()
}

fn awscli_bin() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    let bin = cache.join(format!("connect-user-operator/awscli-{AWSCLI_VERSION}/bin"));
    assert!(
        bin.join("aws").is_file(),
        "the guide test needs the AWS CLI {AWSCLI_VERSION} in {}: run scripts/test-deps.sh",
        bin.display()
    );
    bin
}

/// A shell as the guide's reader has one: kubectl configured for the Kubernetes emulator, the
/// AWS CLI with credentials and region, its Connect endpoint the emulator's.
struct Shell {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Shell {
    fn new(env: &Env) -> Shell {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        env.kube.write_kubeconfig(&kubeconfig).unwrap();
        let path = format!(
            "{}:{}",
            awscli_bin().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let vars = [
            ("PATH", path),
            ("HOME", home.display().to_string()),
            ("KUBECONFIG", kubeconfig.display().to_string()),
            ("AWS_ACCESS_KEY_ID", sim::aws::TEST_ACCESS_KEY_ID.into()),
            (
                "AWS_SECRET_ACCESS_KEY",
                sim::aws::TEST_SECRET_ACCESS_KEY.into(),
            ),
            ("AWS_DEFAULT_REGION", REGION.into()),
            ("AWS_ENDPOINT_URL_CONNECT", env.connect.endpoint()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
            ("AWS_PAGER", String::new()),
        ];
        Shell {
            dir,
            env: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("bash");
        c.args(["-e", "-o", "pipefail", "-c", cmd])
            .current_dir(self.cwd())
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `cmd` as written (off the async runtime: it blocks); its stdout, or a panic with
    /// both outputs.
    async fn run(&self, cmd: &str) -> String {
        let mut c = self.command(cmd);
        let cmd = cmd.to_string();
        tokio::task::spawn_blocking(move || {
            let out = c.output().expect("bash runs");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                out.status.success(),
                "`{cmd}` failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
        })
        .await
        .unwrap()
    }

    async fn run_all(&self, cmds: &[String]) -> Vec<String> {
        let mut outs = Vec::new();
        for c in cmds {
            outs.push(self.run(c).await);
        }
        outs
    }
}

/// A command running in the background, killed if the test ends before it does.
struct Background(std::process::Child);

impl Background {
    /// Polls until the command exits, at most `limit`.
    async fn wait(mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still running after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_commands_run_as_written() {
    let doc = guide();
    let blocks = sh_blocks(&doc);
    let env = Env::start().await;
    let sh = Shell::new(&env);

    // Install: the CRD is there (the rollout check needs the chart's Deployment; the test bed
    // runs the operator in-process, so that line alone is left out).
    let install = block(
        &blocks,
        "kubectl get crd connectusers.connect.userops.dev",
        "rollout status",
    );
    assert!(
        sh.run(&install[0])
            .await
            .contains("connectusers.connect.userops.dev")
    );

    // Create your first user: the namespace and the password Secret, then alice.yaml.
    let setup = block(&blocks, "kubectl create namespace", "create secret generic");
    assert_eq!(setup.len(), 2, "{setup:?}");
    sh.run_all(&setup).await;
    let manifest = yaml_file(&doc, "alice.yaml");
    std::fs::write(sh.cwd().join("alice.yaml"), &manifest).unwrap();
    let create = block(&blocks, "kubectl apply -f alice.yaml", "get cu");
    let outs = sh.run_all(&create).await;
    let table = outs.last().unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("alice ") && l.contains("True") && l.contains("Created")),
        "{table}"
    );
    let users = env.connect.users(INSTANCE);
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert_eq!(user.username, "alice");
    // The password is the one `kubectl create secret generic --from-literal` stored.
    let literal = setup[1]
        .split("--from-literal=alice=")
        .nth(1)
        .unwrap()
        .trim_matches('\'');
    assert_eq!(user.password.as_deref(), Some(literal));
    assert_eq!(
        user.identity_info.as_ref().unwrap().first_name.as_deref(),
        Some("Alice")
    );
    assert!(user.hierarchy_group_id.is_some(), "hierarchyGroup Tier1");

    // A name that does not exist in the instance: the guide's command prints the message its
    // comment shows ("Agnet" for "Agent").
    let typo = manifest.replace("    - name: Agent\n", "    - name: Agnet\n");
    assert_ne!(typo, manifest);
    std::fs::write(sh.cwd().join("alice.yaml"), &typo).unwrap();
    sh.run(&create[0]).await;
    let message = block(
        &blocks,
        "kubectl -n contact-center get cu alice -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].message}'",
        "",
    );
    let shown_in_doc = {
        let at = doc
            .find(&format!("{}\n# ", message[0]))
            .expect("the message command and its comment");
        let line = &doc[at + message[0].len() + 3..];
        line[..line.find('\n').unwrap()].to_string()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = sh.run(&message[0]).await;
        if out == shown_in_doc {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the guide shows {shown_in_doc:?}, kubectl prints {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Change a user: edit the manifest, run the block; the reason it prints is Updated.
    let edited = manifest.replace("lastName: Liddell", "lastName: Pleasance");
    assert_ne!(edited, manifest);
    std::fs::write(sh.cwd().join("alice.yaml"), &edited).unwrap();
    let change = block(&blocks, "kubectl apply -f alice.yaml", "].reason}");
    let outs = sh.run_all(&change).await;
    assert_eq!(outs.last().unwrap().trim(), "Updated");
    let now = env.connect.user(INSTANCE, &user.id).unwrap();
    assert_eq!(
        now.identity_info.unwrap().last_name.as_deref(),
        Some("Pleasance")
    );

    // A deletion is stuck: someone re-tagged the user for another owner. The guide's delete
    // waits; the guide's diagnosis names NotOwned; its `aws connect tag-resource` gives the tag
    // back, and the delete then finishes with the user gone.
    assert!(env.connect.modify_user(INSTANCE, &user.id, |u| {
        u.tags.insert(OWNER_TAG.into(), "someone-else".into());
    }));
    let delete = block(
        &blocks,
        "kubectl -n contact-center delete connectuser alice",
        "",
    );
    assert_eq!(delete.len(), 1);
    let deleting = Background(
        sh.command(&delete[0])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let diagnose = block(
        &blocks,
        "kubectl -n contact-center get cu alice -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].reason}: ",
        "",
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = sh.run(&diagnose[0]).await;
        if out.starts_with("NotOwned: ") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no NotOwned: {out}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        env.connect.user(INSTANCE, &user.id).is_some(),
        "not ours: kept"
    );
    // "follow it from another terminal": the resource and its cleanup status meanwhile.
    let follow = block(
        &blocks,
        "kubectl -n contact-center get cu alice",
        "get events",
    );
    assert_eq!(follow.len(), 3, "{follow:?}");
    let shown = sh.run(&follow[0]).await;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("alice ") && l.contains("NotOwned")),
        "{shown}"
    );
    sh.run(&follow[1]).await;
    let tag = inline_command(&doc, "aws connect tag-resource ");
    env.connect.clear_calls();
    sh.run(&tag).await;
    let tagged = env
        .connect
        .calls()
        .into_iter()
        .find(|c| c.operation == "TagResource")
        .expect("the AWS CLI called TagResource");
    assert_eq!(tagged.status, 200, "{tagged:?}");
    let status = deleting.wait(Duration::from_secs(90)).await;
    assert!(status.success(), "`{}` failed", delete[0]);
    assert!(env.connect.user(INSTANCE, &user.id).is_none(), "deleted");
    let events = sh.run(&follow[2]).await;
    for reason in ["NotOwned", "Deleted", "DeletionPending"] {
        assert!(
            events.lines().any(|l| l.contains(&format!(" {reason} "))),
            "no {reason} Event in:\n{events}"
        );
    }
    let cus: kube::Api<connect_user_operator::crd::ConnectUser> =
        kube::Api::namespaced(env.client.clone(), "contact-center");
    assert!(cus.get_opt("alice").await.unwrap().is_none());

    // Keep the Connect user: apply alice.yaml again (a new user, once Connect frees the name),
    // then the guide's Retain patch and delete; the user stays, without the ownership tag.
    sh.run_all(&create).await;
    let users = env.connect.users(INSTANCE);
    assert_eq!(users.len(), 1, "{users:?}");
    let kept = users[0].id.clone();
    let retain = block(
        &blocks,
        "kubectl -n contact-center patch cu alice --type merge",
        "delete cu alice",
    );
    assert_eq!(retain.len(), 2, "{retain:?}");
    sh.run_all(&retain).await;
    assert!(cus.get_opt("alice").await.unwrap().is_none());
    let user = env
        .connect
        .user(INSTANCE, &kept)
        .expect("Retain keeps the Connect user");
    assert!(!user.tags.contains_key(OWNER_TAG), "{:?}", user.tags);
}
