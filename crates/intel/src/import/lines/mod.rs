//! Line-oriented feeds: CSV files read through a [`ColumnMapping`], and plain
//! blocklists with one value per line.
//!
//! Both stream from a [`BufRead`]: one record at a time, each at most [`MAX_RECORD`]
//! bytes (a longer one is skipped, and reading resumes at the next line), indicators
//! handed to a sink as they are made, and a report whose details are capped at
//! [`super::MAX_DETAILS`]. Memory stays bounded however large the feed. Every problem
//! with a line is reported with `source:line`, and the other lines are imported.
//!
//! CSV: RFC 4180 quoting (`"a,b"`, `""` for a quote, quoted line breaks), any
//! one-character delimiter, comment lines, a header named or detected. A record with a
//! different number of columns than the header (or the first record) is skipped.
//!
//! Plain lists: blank lines and lines starting with `#`, `;` or `//` are ignored; a
//! line holds one value, optionally followed by a comment (`1.2.3.0/24 ; SBL123`,
//! `evil.example # c2`); hosts-file lines (`0.0.0.0 evil.example`) give the name. Without
//! a fixed kind, each value's kind is detected ([`super::detect_kind`]; a domain must
//! have a dot).

mod records;

use std::io::BufRead;

use records::{RecordInfo, Records, split_csv};

use super::misp::misp_type_kinds;
use super::{
    Collector, ImportContext, ImportError, ImportReport, Imported, SourceFormat, clip, detect_kind,
    parse_time, push_tag,
};
use crate::model::{Kind, NewIndicator, Tlp, normalize};

/// The longest record read; longer ones are skipped whole.
pub const MAX_RECORD: usize = 64 * 1024;

/// A column, by position (0-based) or by its header name (any case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    Index(usize),
    Name(String),
}

impl From<usize> for Column {
    fn from(i: usize) -> Column {
        Column::Index(i)
    }
}

impl From<&str> for Column {
    fn from(name: &str) -> Column {
        Column::Name(name.to_owned())
    }
}

/// Where a record's kind comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindSource {
    /// Every value is of this kind.
    Fixed(Kind),
    /// A column naming it: `ipv4`, `domain`, `sha256`... ([`Kind`]'s names and
    /// aliases) or a MISP type (`ip-dst`, `filename|md5`).
    Column(Column),
    /// Detected from each value.
    Detect,
}

/// Whether the first record is a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Present,
    Absent,
    /// A header when the mapping names columns, or when the first record's value cell
    /// is not a valid indicator.
    Detect,
}

/// Which columns say what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnMapping {
    pub value: Column,
    pub kind: KindSource,
    /// `TLP:GREEN`, `amber`, `white`...; empty cells take the import's TLP.
    pub tlp: Option<Column>,
    /// 0 to 100; empty cells take the import's confidence.
    pub confidence: Option<Column>,
    /// Tags separated by `tag_separator`.
    pub tags: Option<Column>,
    pub description: Option<Column>,
    /// RFC 3339 times, `YYYY-MM-DD HH:MM:SS` (UTC) or dates.
    pub valid_from: Option<Column>,
    pub valid_until: Option<Column>,
    pub header: Header,
    pub delimiter: char,
    /// Lines starting with it (after spaces) are ignored.
    pub comment: Option<char>,
    pub tag_separator: char,
}

impl ColumnMapping {
    /// Values in `value`, kinds from `kind`; comma-separated, `#` comments, header
    /// detected, tags separated by `,`, no other columns.
    pub fn new(value: impl Into<Column>, kind: KindSource) -> ColumnMapping {
        ColumnMapping {
            value: value.into(),
            kind,
            tlp: None,
            confidence: None,
            tags: None,
            description: None,
            valid_from: None,
            valid_until: None,
            header: Header::Detect,
            delimiter: ',',
            comment: Some('#'),
            tag_separator: ',',
        }
    }

    fn names_columns(&self) -> bool {
        let named = |c: &Option<Column>| matches!(c, Some(Column::Name(_)));
        matches!(self.value, Column::Name(_))
            || matches!(self.kind, KindSource::Column(Column::Name(_)))
            || named(&self.tlp)
            || named(&self.confidence)
            || named(&self.tags)
            || named(&self.description)
            || named(&self.valid_from)
            || named(&self.valid_until)
    }
}

/// The mapping with every column as a position, and the record width.
struct Resolved {
    value: usize,
    kind: Option<usize>,
    tlp: Option<usize>,
    confidence: Option<usize>,
    tags: Option<usize>,
    description: Option<usize>,
    valid_from: Option<usize>,
    valid_until: Option<usize>,
    width: usize,
    from_header: bool,
}

fn resolve(
    mapping: &ColumnMapping,
    header: Option<&[String]>,
    width: usize,
) -> Result<Resolved, ImportError> {
    let find = |c: &Column, role: &str| -> Result<usize, ImportError> {
        let i = match (c, header) {
            (Column::Index(i), _) => *i,
            (Column::Name(n), Some(h)) => h
                .iter()
                .position(|x| {
                    x.trim()
                        .trim_start_matches('#')
                        .trim()
                        .eq_ignore_ascii_case(n.trim())
                })
                .ok_or_else(|| {
                    ImportError::Mapping(format!(
                        "no column named `{n}` (for the {role}) in the header: {}",
                        h.join(", ")
                    ))
                })?,
            (Column::Name(n), None) => {
                return Err(ImportError::Mapping(format!(
                    "the {role} column is named `{n}` but the file has no header"
                )));
            }
        };
        if i >= width {
            return Err(ImportError::Mapping(format!(
                "the {role} is column {} but the {} has {width} column{}",
                i + 1,
                if header.is_some() {
                    "header"
                } else {
                    "first record"
                },
                if width == 1 { "" } else { "s" }
            )));
        }
        Ok(i)
    };
    let opt = |c: &Option<Column>, role: &str| c.as_ref().map(|c| find(c, role)).transpose();
    Ok(Resolved {
        value: find(&mapping.value, "value")?,
        kind: match &mapping.kind {
            KindSource::Column(c) => Some(find(c, "kind")?),
            _ => None,
        },
        tlp: opt(&mapping.tlp, "TLP")?,
        confidence: opt(&mapping.confidence, "confidence")?,
        tags: opt(&mapping.tags, "tags")?,
        description: opt(&mapping.description, "description")?,
        valid_from: opt(&mapping.valid_from, "valid-from")?,
        valid_until: opt(&mapping.valid_until, "valid-until")?,
        width,
        from_header: header.is_some(),
    })
}

/// Imports CSV records from `input`, handing each indicator to `sink` as it is made.
/// Fails only when reading fails or the mapping does not fit the file.
pub fn import_csv(
    input: impl BufRead,
    mapping: &ColumnMapping,
    ctx: &ImportContext<'_>,
    sink: impl FnMut(NewIndicator),
) -> Result<ImportReport, ImportError> {
    let mut collector = Collector::new(ctx, SourceFormat::Csv, sink);
    let mut records = Records::new(input);
    let mut buf = Vec::new();
    let mut resolved: Option<Resolved> = None;
    while let Some(rec) = records.next(&mut buf, Some(mapping.delimiter))? {
        let place = format!("{}:{}", ctx.base.source, rec.line);
        let Some(text) = record_text(&buf, &rec, &place, &mut collector.report) else {
            continue;
        };
        let trimmed = text.trim();
        if trimmed.is_empty() || mapping.comment.is_some_and(|c| trimmed.starts_with(c)) {
            continue;
        }
        let fields = match split_csv(text, mapping.delimiter) {
            Ok(f) => f,
            Err(e) => {
                collector.report.skip(place, e);
                continue;
            }
        };
        let r = match &resolved {
            Some(r) => r,
            None => {
                let is_header = match mapping.header {
                    Header::Present => true,
                    Header::Absent => false,
                    Header::Detect => {
                        mapping.names_columns() || !value_cell_is_valid(&fields, mapping)
                    }
                };
                let r = resolve(
                    mapping,
                    is_header.then_some(fields.as_slice()),
                    fields.len(),
                )?;
                let r = resolved.insert(r);
                if is_header {
                    collector.report.note(
                        place,
                        format!("read as the header: {}", clip(&fields.join(", "), 200)),
                    );
                    continue;
                }
                r
            }
        };
        csv_record(&fields, r, mapping, &place, &mut collector);
    }
    Ok(collector.report)
}

/// [`import_csv`] on text already in memory.
pub fn import_csv_str(
    text: &str,
    mapping: &ColumnMapping,
    ctx: &ImportContext<'_>,
) -> Result<Imported, ImportError> {
    let mut indicators = Vec::new();
    let report = import_csv(text.as_bytes(), mapping, ctx, |i| indicators.push(i))?;
    Ok(Imported {
        indicators,
        context: Vec::new(),
        report,
    })
}

/// Whether the first record's value cell holds a valid indicator (else it is taken for
/// a header). A detected domain must have a dot: `indicator` is a header, not a host.
fn value_cell_is_valid(fields: &[String], mapping: &ColumnMapping) -> bool {
    let Column::Index(i) = mapping.value else {
        return false;
    };
    // A value column beyond the record is a mapping error, reported as about data.
    let Some(cell) = fields.get(i).map(|c| c.trim()) else {
        return true;
    };
    let kind = match mapping.kind {
        KindSource::Fixed(k) => k,
        _ => detect_kind(cell),
    };
    if kind == Kind::Domain && !cell.contains('.') {
        return false;
    }
    normalize(kind, cell).is_ok()
}

fn csv_record<S: FnMut(NewIndicator)>(
    fields: &[String],
    r: &Resolved,
    mapping: &ColumnMapping,
    place: &str,
    collector: &mut Collector<'_, S>,
) {
    if fields.len() != r.width {
        collector.report.skip(
            place,
            format!(
                "{} column{}, expected {} (as in the {})",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" },
                r.width,
                if r.from_header {
                    "header"
                } else {
                    "first record"
                }
            ),
        );
        return;
    }
    let cell = |i: Option<usize>| i.map(|i| fields[i].trim()).filter(|s| !s.is_empty());
    let Some(raw) = cell(Some(r.value)) else {
        collector.report.skip(place, "empty value");
        return;
    };
    let (kind, value) = match (&mapping.kind, cell(r.kind)) {
        (KindSource::Fixed(k), _) => (*k, raw.to_owned()),
        (KindSource::Detect, _) => match detect(raw) {
            Ok(k) => (k, raw.to_owned()),
            Err(e) => {
                collector.report.skip(place, e);
                return;
            }
        },
        (KindSource::Column(_), None) => {
            collector.report.skip(place, "empty kind");
            return;
        }
        (KindSource::Column(_), Some(name)) => match kind_named(name, raw) {
            Ok(kv) => kv,
            Err(e) => {
                collector.report.skip(place, e);
                return;
            }
        },
    };
    let mut a = collector.ctx.attribution();
    a.reference = Some(place.to_owned());
    if let Some(t) = cell(r.tlp) {
        match Tlp::parse(t) {
            Some(t) => a.tlp = t,
            None => {
                collector
                    .report
                    .skip(place, format!("unknown TLP `{}`", clip(t, 40)));
                return;
            }
        }
    }
    if let Some(c) = cell(r.confidence) {
        match c.parse::<u8>() {
            Ok(c) if c <= 100 => a.confidence = c,
            _ => {
                collector.report.skip(
                    place,
                    format!("confidence `{}` is not a number from 0 to 100", clip(c, 40)),
                );
                return;
            }
        }
    }
    if let Some(tags) = cell(r.tags) {
        for t in tags.split(mapping.tag_separator) {
            push_tag(&mut a.tags, t.trim());
        }
    }
    a.description = cell(r.description).map(str::to_owned);
    for (i, slot, role) in [
        (r.valid_from, &mut a.valid_from, "valid-from"),
        (r.valid_until, &mut a.valid_until, "valid-until"),
    ] {
        if let Some(t) = cell(i) {
            match parse_loose_time(t) {
                Some(t) => *slot = Some(t),
                None => {
                    collector
                        .report
                        .skip(place, format!("{role} `{}` is not a time", clip(t, 40)));
                    return;
                }
            }
        }
    }
    collector.offer(kind, &value, a, place);
}

/// A value's detected kind; a detected domain needs a dot (`localhost`, `n/a` and
/// stray words are not intelligence).
fn detect(value: &str) -> Result<Kind, String> {
    let k = detect_kind(value);
    if k == Kind::Domain && !value.contains('.') {
        return Err(format!("`{}` is no kind of indicator", clip(value, 80)));
    }
    Ok(k)
}

/// A kind column's cell: a [`Kind`] name, or a MISP type giving one kind (whose value
/// part is then the value: `filename|md5` gives the hash).
fn kind_named(name: &str, value: &str) -> Result<(Kind, String), String> {
    if let Ok(k) = name.parse::<Kind>() {
        return Ok((k, value.to_owned()));
    }
    match misp_type_kinds(name.trim(), value) {
        Ok(mut kinds) if kinds.len() == 1 => Ok(kinds.remove(0)),
        _ => Err(format!(
            "unknown kind `{}` (expected one of {}, or a MISP type)",
            clip(name, 40),
            Kind::ALL.map(Kind::as_str).join(", ")
        )),
    }
}

/// An RFC 3339 time, `YYYY-MM-DD HH:MM:SS` (UTC) or a date (midnight UTC).
fn parse_loose_time(text: &str) -> Option<watchfloor_event::Timestamp> {
    if let Some(t) = parse_time(text) {
        return Some(t);
    }
    let t = text.trim();
    let dt: jiff::civil::DateTime = t.parse().ok().or_else(|| {
        t.parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    })?;
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    i64::try_from(ts.as_nanosecond())
        .ok()
        .map(watchfloor_event::Timestamp)
}

/// Imports a plain list, one value per line, handing each indicator to `sink`. `kind`
/// fixes every value's kind; `None` detects it per value. Fails only when reading fails.
pub fn import_plain_list(
    input: impl BufRead,
    kind: Option<Kind>,
    ctx: &ImportContext<'_>,
    sink: impl FnMut(NewIndicator),
) -> Result<ImportReport, ImportError> {
    let mut collector = Collector::new(ctx, SourceFormat::PlainList, sink);
    let mut records = Records::new(input);
    let mut buf = Vec::new();
    while let Some(rec) = records.next(&mut buf, None)? {
        let place = format!("{}:{}", ctx.base.source, rec.line);
        let Some(text) = record_text(&buf, &rec, &place, &mut collector.report) else {
            continue;
        };
        let line = text.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with("//")
        {
            continue;
        }
        let mut tokens = line.split_whitespace();
        let first = tokens.next().unwrap_or_default();
        let second = tokens.next();
        let comment = |t: &str| t.starts_with('#') || t.starts_with(';') || t.starts_with("//");
        let (value, hosts) = match second {
            Some(name) if matches!(first, "0.0.0.0" | "127.0.0.1" | "::" | "::1" | "::0") => {
                (name, true)
            }
            Some(t) if !comment(t) => {
                collector.report.skip(
                    place,
                    format!("more than one value on the line: `{}`", clip(line, 80)),
                );
                continue;
            }
            _ => (first, false),
        };
        if hosts
            && matches!(
                value.to_ascii_lowercase().as_str(),
                "localhost"
                    | "localhost.localdomain"
                    | "local"
                    | "broadcasthost"
                    | "ip6-localhost"
                    | "ip6-loopback"
                    | "0.0.0.0"
            )
        {
            collector.report.skip(
                place,
                format!("a hosts-file entry for the local name `{value}`"),
            );
            continue;
        }
        let k = match kind {
            Some(k) => k,
            None => match detect(value) {
                Ok(k) => k,
                Err(e) => {
                    collector.report.skip(place, e);
                    continue;
                }
            },
        };
        let mut a = collector.ctx.attribution();
        a.reference = Some(place.clone());
        collector.offer(k, value, a, &place);
    }
    Ok(collector.report)
}

/// [`import_plain_list`] on text already in memory.
pub fn import_plain_list_str(text: &str, kind: Option<Kind>, ctx: &ImportContext<'_>) -> Imported {
    let mut indicators = Vec::new();
    // Reading a byte slice cannot fail.
    let report = import_plain_list(text.as_bytes(), kind, ctx, |i| indicators.push(i))
        .unwrap_or_else(|_| ImportReport::new(ctx.base.source.clone(), SourceFormat::PlainList));
    Imported {
        indicators,
        context: Vec::new(),
        report,
    }
}

/// A record's text without its line break, or `None` (reported) when too long or not
/// UTF-8.
fn record_text<'b>(
    buf: &'b [u8],
    rec: &RecordInfo,
    place: &str,
    report: &mut ImportReport,
) -> Option<&'b str> {
    if rec.too_long {
        report.skip(place, format!("a record longer than {MAX_RECORD} bytes"));
        return None;
    }
    let Ok(text) = std::str::from_utf8(buf) else {
        report.skip(place, "not valid UTF-8");
        return None;
    };
    let text = text.strip_suffix('\n').unwrap_or(text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    Some(if rec.line == 1 {
        text.strip_prefix('\u{feff}').unwrap_or(text)
    } else {
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_times() {
        assert!(parse_loose_time("2024-01-02T03:04:05Z").is_some());
        assert_eq!(
            parse_loose_time("2024-01-02 00:00:00"),
            parse_loose_time("2024-01-02")
        );
        assert_eq!(
            parse_loose_time("2024-01-02"),
            parse_time("2024-01-02T00:00:00Z")
        );
        assert!(parse_loose_time("yesterday").is_none());
    }
}
