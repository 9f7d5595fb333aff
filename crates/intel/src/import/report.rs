//! The account an import gives of itself.

use std::fmt;

use serde::Serialize;

/// How many skipped (and not-matchable, and note) entries a report keeps in detail;
/// past that only the count grows, so a bad 1 GB feed cannot fill memory with reasons.
pub const MAX_DETAILS: usize = 1000;

/// The format a report is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    #[default]
    Stix,
    MispEvent,
    MispFeed,
    Csv,
    PlainList,
    Kev,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Stix => "stix",
            SourceFormat::MispEvent => "misp-event",
            SourceFormat::MispFeed => "misp-feed",
            SourceFormat::Csv => "csv",
            SourceFormat::PlainList => "plain-list",
            SourceFormat::Kev => "cisa-kev",
        }
    }
}

/// One record left out (or one remark), and where it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// `file:line`, a STIX or MISP id, or a JSON path.
    pub place: String,
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.reason)
    }
}

/// What an import took, left out and why.
///
/// Every candidate (one value offered as an indicator, or one record that could not
/// give one) ends in exactly one of three bins, so
/// `taken + skipped_count() + not_matchable_count() == candidates` always holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The feed, file or bundle name the import was given.
    pub source: String,
    pub format: SourceFormat,
    pub candidates: u64,
    /// Candidates handed over as indicators (or vulnerabilities, for KEV).
    pub taken: u64,
    /// Left out: bad values, revoked or deleted records, unknown types, allowlisted
    /// values, unreadable records. The first [`MAX_DETAILS`] with their reasons.
    pub skipped: Vec<Skipped>,
    /// Skipped records beyond the first [`MAX_DETAILS`].
    pub skipped_omitted: u64,
    /// Read fine but cannot be matched value by value (a STIX `MATCHES`, an `AND`
    /// across observations, a MISP `regkey`): kept out of matching, said so here.
    pub not_matchable: Vec<Skipped>,
    pub not_matchable_omitted: u64,
    /// STIX objects and MISP galaxy clusters kept as [`super::ContextObject`]s.
    pub context_objects: u64,
    /// Remarks that change no count: an `AND` of equalities taken value by value, a
    /// line read as a header, a catalog whose `count` disagrees with its entries.
    pub notes: Vec<Skipped>,
    /// How many taken indicators were already known: filled by the store when it adds
    /// them (0 until then).
    pub merged: u64,
}

impl ImportReport {
    pub fn new(source: impl Into<String>, format: SourceFormat) -> ImportReport {
        ImportReport {
            source: source.into(),
            format,
            ..ImportReport::default()
        }
    }

    pub fn skipped_count(&self) -> u64 {
        self.skipped.len() as u64 + self.skipped_omitted
    }

    pub fn not_matchable_count(&self) -> u64 {
        self.not_matchable.len() as u64 + self.not_matchable_omitted
    }

    /// Whether every candidate is accounted for exactly once.
    pub fn is_balanced(&self) -> bool {
        self.taken + self.skipped_count() + self.not_matchable_count() == self.candidates
    }

    /// Adds another report's counts and details (a MISP feed adds its events').
    pub fn absorb(&mut self, other: ImportReport) {
        self.candidates += other.candidates;
        self.taken += other.taken;
        self.context_objects += other.context_objects;
        self.merged += other.merged;
        self.skipped_omitted += other.skipped_omitted;
        self.not_matchable_omitted += other.not_matchable_omitted;
        for s in other.skipped {
            push_capped(&mut self.skipped, &mut self.skipped_omitted, s);
        }
        for s in other.not_matchable {
            push_capped(&mut self.not_matchable, &mut self.not_matchable_omitted, s);
        }
        for s in other.notes {
            if self.notes.len() < MAX_DETAILS {
                self.notes.push(s);
            }
        }
    }

    pub(crate) fn take(&mut self) {
        self.candidates += 1;
        self.taken += 1;
    }

    pub(crate) fn skip(&mut self, place: impl Into<String>, reason: impl Into<String>) {
        self.candidates += 1;
        let s = Skipped {
            place: place.into(),
            reason: reason.into(),
        };
        push_capped(&mut self.skipped, &mut self.skipped_omitted, s);
    }

    pub(crate) fn not_matchable(&mut self, place: impl Into<String>, reason: impl Into<String>) {
        self.candidates += 1;
        let s = Skipped {
            place: place.into(),
            reason: reason.into(),
        };
        push_capped(&mut self.not_matchable, &mut self.not_matchable_omitted, s);
    }

    pub(crate) fn note(&mut self, place: impl Into<String>, remark: impl Into<String>) {
        if self.notes.len() < MAX_DETAILS {
            self.notes.push(Skipped {
                place: place.into(),
                reason: remark.into(),
            });
        }
    }
}

fn push_capped(list: &mut Vec<Skipped>, omitted: &mut u64, s: Skipped) {
    if list.len() < MAX_DETAILS {
        list.push(s);
    } else {
        *omitted += 1;
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}): {} candidates, {} taken, {} merged, {} skipped, {} not matchable, {} context objects",
            self.source,
            self.format.as_str(),
            self.candidates,
            self.taken,
            self.merged,
            self.skipped_count(),
            self.not_matchable_count(),
            self.context_objects
        )?;
        for s in &self.skipped {
            writeln!(f, "  skipped {s}")?;
        }
        if self.skipped_omitted > 0 {
            writeln!(f, "  ... and {} more skipped", self.skipped_omitted)?;
        }
        for s in &self.not_matchable {
            writeln!(f, "  not matchable {s}")?;
        }
        if self.not_matchable_omitted > 0 {
            writeln!(
                f,
                "  ... and {} more not matchable",
                self.not_matchable_omitted
            )?;
        }
        for s in &self.notes {
            writeln!(f, "  note {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_capped_but_counted() {
        let mut r = ImportReport::new("feed", SourceFormat::Csv);
        for i in 0..(MAX_DETAILS + 5) {
            r.skip(format!("feed:{i}"), "bad");
        }
        r.take();
        assert_eq!(r.skipped.len(), MAX_DETAILS);
        assert_eq!(r.skipped_count(), MAX_DETAILS as u64 + 5);
        assert!(r.is_balanced());
        let mut total = ImportReport::new("all", SourceFormat::MispFeed);
        total.absorb(r);
        assert!(total.is_balanced());
        assert_eq!(total.skipped_count(), MAX_DETAILS as u64 + 5);
    }
}
