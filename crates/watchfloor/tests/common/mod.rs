//! Shared by the corpus acceptance suites: where the shared corpora are.

use std::path::{Path, PathBuf};

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
