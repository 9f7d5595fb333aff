//! Shared by the intel tests: where the threat-intelligence corpora are, and reading
//! their files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `../shared/corpora/threat-intel` (or under `WATCHFLOOR_CORPORA`); `None`, with a
/// note, when absent — unless `WATCHFLOOR_REQUIRE_CORPORA` is set, then it fails.
pub fn threat_intel() -> Option<PathBuf> {
    let dir = std::env::var_os("WATCHFLOOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"))
        .join("threat-intel");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("WATCHFLOOR_REQUIRE_CORPORA").is_none(),
        "the shared corpora are absent at {} and WATCHFLOOR_REQUIRE_CORPORA is set",
        dir.display()
    );
    eprintln!(
        "note: the shared corpora are absent at {}; corpus test skipped (set WATCHFLOOR_CORPORA)",
        dir.display()
    );
    None
}

/// The `.json` files under `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
