//! Shared by the corpus acceptance suites: where the shared corpora are, and running
//! the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `../shared/corpora` beside the repository, or `WATCHFLOOR_CORPORA`; fails loudly when
/// absent (CI must never pass by skipping).
pub fn corpora() -> PathBuf {
    let dir = std::env::var_os("WATCHFLOOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    assert!(
        dir.is_dir(),
        "the shared corpora are absent at {} (set WATCHFLOOR_CORPORA)",
        dir.display()
    );
    dir
}

/// Runs the `watchfloor` binary with `args`: its exit code, stdout and stderr.
#[allow(dead_code)] // not every suite runs the binary through this
pub fn watchfloor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
