//! The command line's indicator store: a folder holding `indicators.jsonl`, one JSON
//! object per imported indicator and source, and `context.jsonl`, the STIX objects and
//! MISP galaxy clusters imports kept for context. Both are only appended to (each
//! import in one write, flushed to disk before the command reports success) and read
//! whole at start: replaying the records in order through [`Intel::add`] rebuilds the
//! same store, with the same merges (a source re-sending the same reference replaces
//! its attribution). A line that cannot be read (a write cut short by a crash) is
//! reported with its place and skipped; the rest loads.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use watchfloor_decode::time::{format_rfc3339, parse_timestamp};
use watchfloor_event::Timestamp;
use watchfloor_intel::import::ContextObject;
use watchfloor_intel::{Added, Attribution, Intel, Kind, NewIndicator, Tlp};

pub const INDICATORS_FILE: &str = "indicators.jsonl";
pub const CONTEXT_FILE: &str = "context.jsonl";

/// One line of `indicators.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    kind: Kind,
    value: String,
    source: String,
    confidence: u8,
    tlp: Tlp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    attack: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// When it was imported: the indicator's first or last report.
    added: String,
}

impl Record {
    fn new(i: &NewIndicator, added: Timestamp) -> Record {
        let a = &i.attribution;
        Record {
            kind: i.kind,
            value: i.value.clone(),
            source: a.source.clone(),
            confidence: a.confidence,
            tlp: a.tlp,
            valid_from: a.valid_from.map(format_rfc3339),
            valid_until: a.valid_until.map(format_rfc3339),
            tags: a.tags.clone(),
            attack: a.attack.clone(),
            reference: a.reference.clone(),
            description: a.description.clone(),
            added: format_rfc3339(added),
        }
    }

    fn into_indicator(self) -> Result<(NewIndicator, Timestamp), String> {
        let time = |field: &str, v: Option<String>| match v {
            None => Ok(None),
            Some(t) => parse_timestamp(&t)
                .map(Some)
                .ok_or_else(|| format!("`{field}` is not a time: `{t}`")),
        };
        let added = time("added", Some(self.added))?.unwrap_or_default();
        let mut a = Attribution::from_source(self.source);
        a.confidence = self.confidence.min(100);
        a.tlp = self.tlp;
        a.valid_from = time("valid_from", self.valid_from)?;
        a.valid_until = time("valid_until", self.valid_until)?;
        a.tags = self.tags;
        a.attack = self.attack;
        a.reference = self.reference;
        a.description = self.description;
        Ok((
            NewIndicator {
                kind: self.kind,
                value: self.value,
                attribution: a,
            },
            added,
        ))
    }
}

/// One line of `context.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
struct ContextRecord {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    json: serde_json::Value,
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub intel: Intel,
    /// Context objects by id (a later import of the same id wins).
    pub context: BTreeMap<String, ContextObject>,
    /// Records read.
    pub records: u64,
    /// Lines that could not be read, as `file:line: why`.
    pub problems: Vec<String>,
}

impl Loaded {
    pub fn context_objects(&self) -> Vec<ContextObject> {
        self.context.values().cloned().collect()
    }
}

/// An indicator store folder.
#[derive(Debug, Clone)]
pub struct IntelDb {
    dir: PathBuf,
}

impl IntelDb {
    /// The store in `dir`, which need not exist yet (see [`IntelDb::create`]).
    pub fn at(dir: &Path) -> IntelDb {
        IntelDb {
            dir: dir.to_path_buf(),
        }
    }

    /// Creates the folder if needed.
    pub fn create(&self) -> anyhow::Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating the intel store {}", self.dir.display()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Reads every record into a fresh [`Intel`] (an absent store is empty).
    pub fn load(&self) -> anyhow::Result<Loaded> {
        let mut loaded = Loaded::default();
        let path = self.path(INDICATORS_FILE);
        for_each_line(&path, &mut loaded.problems, |place, line, problems| {
            let record = serde_json::from_str::<Record>(line)
                .map_err(|e| e.to_string())
                .and_then(Record::into_indicator);
            match record {
                Ok((indicator, added)) => {
                    loaded.records += 1;
                    if let Err(e) = loaded.intel.add(indicator, added) {
                        problems.push(format!("{place}: {e}"));
                    }
                }
                Err(e) => problems.push(format!("{place}: {e}")),
            }
        })?;
        let path = self.path(CONTEXT_FILE);
        for_each_line(&path, &mut loaded.problems, |place, line, problems| {
            match serde_json::from_str::<ContextRecord>(line) {
                Ok(c) => {
                    loaded.context.insert(
                        c.id.clone(),
                        ContextObject {
                            id: c.id,
                            kind: c.kind,
                            name: c.name,
                            json: c.json,
                        },
                    );
                }
                Err(e) => problems.push(format!("{place}: {e}")),
            }
        })?;
        Ok(loaded)
    }

    /// Appends indicator lines (made by [`record_line`]) and context objects, each file
    /// in one write, and waits until both are on disk.
    pub fn append(&self, indicator_lines: &str, context: &[ContextObject]) -> anyhow::Result<()> {
        self.create()?;
        append_text(&self.path(INDICATORS_FILE), indicator_lines)?;
        let mut text = String::new();
        for c in context {
            let record = ContextRecord {
                id: c.id.clone(),
                kind: c.kind.clone(),
                name: c.name.clone(),
                json: c.json.clone(),
            };
            text.push_str(&serde_json::to_string(&record)?);
            text.push('\n');
        }
        append_text(&self.path(CONTEXT_FILE), &text)?;
        // The folder entry of a file created now must be durable too.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Appends the line of `indicator`, imported at `added`, to `out`.
pub fn record_line(out: &mut String, indicator: &NewIndicator, added: Timestamp) {
    // A record of strings, numbers and enums always serialises.
    if let Ok(line) = serde_json::to_string(&Record::new(indicator, added)) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// What adding an import's indicators to a store did.
#[derive(Debug, Default)]
pub struct AddCounts {
    pub new: u64,
    pub merged: u64,
    /// Values the store refused, with why.
    pub refused: Vec<String>,
}

impl AddCounts {
    /// Adds one indicator to `intel` at `now` and counts what happened.
    pub fn add(&mut self, intel: &mut Intel, indicator: NewIndicator, now: Timestamp) {
        match intel.add(indicator, now) {
            Ok(Added::New(_)) => self.new += 1,
            Ok(Added::Merged(_)) => self.merged += 1,
            Err(e) => self.refused.push(e.to_string()),
        }
    }
}

fn append_text(path: &Path, text: &str) -> anyhow::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Calls `f(place, line, problems)` for every non-blank line of `path` (absent: none).
fn for_each_line(
    path: &Path,
    problems: &mut Vec<String>,
    mut f: impl FnMut(&str, &str, &mut Vec<String>),
) -> anyhow::Result<()> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let place = format!("{}:{number}", path.display());
        match std::str::from_utf8(&buf) {
            Ok(line) if line.trim().is_empty() => {}
            Ok(line) => f(&place, line.trim_end(), problems),
            Err(_) => problems.push(format!("{place}: not UTF-8")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_bad_lines_are_reported() {
        let dir = std::env::temp_dir().join(format!("wf-intel-db-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let db = IntelDb::at(&dir);
        let mut a = Attribution::from_source("feed");
        a.tlp = Tlp::AmberStrict;
        a.valid_until = Some(Timestamp(1_800_000_000_123_456_789));
        a.attack = vec!["T1071".into()];
        a.reference = Some("feed:1".into());
        let i = NewIndicator {
            kind: Kind::UserAgent,
            value: "Evil Agent/1.0".into(),
            attribution: a.clone(),
        };
        let mut lines = String::new();
        record_line(&mut lines, &i, Timestamp(5));
        db.append(&lines, &[]).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join(INDICATORS_FILE))
            .unwrap();
        f.write_all(b"{\"kind\":\"domain\",\"val").unwrap();
        let loaded = db.load().unwrap();
        assert_eq!(loaded.records, 1);
        assert_eq!(loaded.problems.len(), 1, "{:?}", loaded.problems);
        assert!(loaded.problems[0].contains("indicators.jsonl:2"));
        let view = loaded.intel.iter().next().unwrap();
        assert_eq!(view.value, "Evil Agent/1.0");
        assert_eq!(view.first_seen, Timestamp(5));
        let back = view.attributions().next().unwrap().to_attribution();
        assert_eq!(back, a);
        let _ = fs::remove_dir_all(&dir);
    }
}
