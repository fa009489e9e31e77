//! Builds a small Go program under `tests/` the way Debian packages Go libraries: GOPATH mode
//! (`GO111MODULE=off`) against `/usr/share/gocode`, once per test process, atomically renamed
//! into place so that test binaries building it at the same time do not trip over each other.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const GOPATH: &str = "/usr/share/gocode";

/// `go build ./tests/<program>` into the target's temporary directory. `what` names the tests
/// that need it, `sources` the GOPATH directories it imports, `hint` how to install them.
pub fn build(program: &str, what: &str, sources: &[&str], hint: &str) -> PathBuf {
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(program);
    std::fs::create_dir_all(&out_dir).unwrap();
    let go = Command::new("go").arg("version").output();
    assert!(
        go.as_ref().is_ok_and(|o| o.status.success()),
        "{what} need Go, which is not installed: {hint}"
    );
    for source in sources {
        assert!(
            Path::new(GOPATH).join("src").join(source).is_dir(),
            "{what} need {source} under {GOPATH}: {hint}"
        );
    }
    let tmp = out_dir.join(format!("{program}.{}", std::process::id()));
    let build = Command::new("go")
        .args(["build", "-o"])
        .arg(&tmp)
        .arg(format!("./tests/{program}"))
        .current_dir(ROOT)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", out_dir.join("cache"))
        .env("GOFLAGS", "")
        .output()
        .expect("go runs");
    assert!(
        build.status.success(),
        "building tests/{program} failed ({hint} if packages are missing):\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let bin = out_dir.join(program);
    std::fs::rename(&tmp, &bin).unwrap();
    bin
}
