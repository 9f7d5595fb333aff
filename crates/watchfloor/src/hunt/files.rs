//! Expanding the command line's paths into the list of files to read.

use std::path::{Path, PathBuf};

/// The files to read, in a stable order, and the paths that could not be walked.
pub struct FileList {
    pub files: Vec<PathBuf>,
    pub errors: Vec<String>,
}

/// Files as given; folders walked recursively (symlinks not followed, hidden entries
/// included: collected evidence often sits in dot-folders), each folder's files sorted.
pub fn expand(paths: &[PathBuf]) -> FileList {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() => found.push(e.into_path()),
                Ok(_) => {}
                Err(e) => errors.push(walk_error(path, &e)),
            }
        }
        files.extend(found);
    }
    FileList { files, errors }
}

fn walk_error(root: &Path, e: &walkdir::Error) -> String {
    let at = e.path().unwrap_or(root);
    format!("{}: cannot read: {}", at.display(), e)
}
