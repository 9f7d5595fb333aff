//! Reading one intelligence input (a file, or an `http://` or `https://` URL) through the importer its
//! format calls for: STIX 2.x or MISP JSON (told apart by looking at it), CSV (by the
//! `.csv` extension, columns found by their header names) or a plain list (anything
//! else). A format given on the command line wins.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use watchfloor_intel::import::lines::{
    Column, ColumnMapping, KindSource, import_csv, import_plain_list,
};
use watchfloor_intel::import::misp::import_misp_event;
use watchfloor_intel::import::stix::import_stix;
use watchfloor_intel::import::{ContextObject, ImportContext, ImportReport, import_json};
use watchfloor_intel::{Kind, NewIndicator, Tlp};

use super::fetch;

/// A feed's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FeedFormat {
    /// A STIX 2.0/2.1 bundle, object or array of objects.
    Stix,
    /// A MISP event (or a list of events).
    Misp,
    /// CSV: the value in a column named value, indicator, ioc or observable (else the
    /// first); its kind from a type or kind column (else from the value); tlp,
    /// confidence, tags, description, valid_from and valid_until columns when named so.
    Csv,
    /// One value per line; `#` comments; hosts-file lines.
    List,
}

/// What the command line says about an input.
#[derive(Clone, Debug, Default)]
pub struct FeedOptions {
    /// The source name (default: the file's name or the URL).
    pub source: Option<String>,
    pub format: Option<FeedFormat>,
    /// Every value is of this kind (lists and CSV).
    pub kind: Option<Kind>,
    /// The TLP and confidence of indicators whose document states none.
    pub tlp: Option<Tlp>,
    pub confidence: Option<u8>,
    /// A PEM file of CA certificates trusted beside the built-in roots for `https://`.
    pub ca_file: Option<PathBuf>,
}

/// What an input gave besides its indicators.
#[derive(Debug, Default)]
pub struct FeedRead {
    pub report: ImportReport,
    pub context: Vec<ContextObject>,
}

/// Reads `input` (a path, or an `http://` or `https://` URL) and imports it, handing each indicator
/// to `sink` (lists and CSV files as they are read). Errors name the input.
pub fn read_input(
    input: &str,
    options: &FeedOptions,
    sink: &mut dyn FnMut(NewIndicator),
) -> anyhow::Result<FeedRead> {
    let source = options
        .source
        .clone()
        .unwrap_or_else(|| default_source(input));
    let mut ctx = ImportContext::new(source);
    if let Some(tlp) = options.tlp {
        ctx.base.tlp = tlp;
    }
    if let Some(c) = options.confidence {
        ctx.base.confidence = c.min(100);
    }
    if fetch::is_url(input) {
        let body = fetch::fetch(input, options.ca_file.as_deref())?;
        let name = input.split(['?', '#']).next().unwrap_or(input);
        return import_reader(name, &body[..], options, &ctx, sink)
            .with_context(|| format!("reading {input}"));
    }
    let path = Path::new(input);
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    import_reader(input, BufReader::new(file), options, &ctx, sink)
        .with_context(|| format!("reading {}", path.display()))
}

/// The default source name: the file's name, or the URL as given.
pub fn default_source(input: &str) -> String {
    if fetch::is_url(input) {
        return input.trim().to_owned();
    }
    Path::new(input)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.to_owned())
}

fn import_reader(
    name: &str,
    mut reader: impl BufRead,
    options: &FeedOptions,
    ctx: &ImportContext<'_>,
    sink: &mut dyn FnMut(NewIndicator),
) -> anyhow::Result<FeedRead> {
    let format = match options.format {
        Some(f) => f,
        None => sniff(name, reader.fill_buf()?),
    };
    let mut out = FeedRead::default();
    match format {
        FeedFormat::Stix | FeedFormat::Misp => {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .context("the JSON document is not UTF-8 text")?;
            let imported = match options.format {
                Some(FeedFormat::Stix) => import_stix(&text, ctx),
                Some(FeedFormat::Misp) => import_misp_event(&text, ctx),
                _ => import_json(&text, ctx),
            };
            imported.indicators.into_iter().for_each(&mut *sink);
            out.report = imported.report;
            out.context = imported.context;
        }
        FeedFormat::Csv => {
            let mut text = Vec::new();
            reader.read_to_end(&mut text)?;
            let mapping = csv_mapping(&text, options.kind);
            out.report = import_csv(&text[..], &mapping, ctx, sink)?;
        }
        FeedFormat::List => {
            out.report = import_plain_list(reader, options.kind, ctx, sink)?;
        }
    }
    Ok(out)
}

/// JSON when the first non-blank byte opens an object or an array; CSV by extension;
/// otherwise a plain list.
fn sniff(name: &str, head: &[u8]) -> FeedFormat {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{' | b'[') => FeedFormat::Stix,
        _ if name.to_ascii_lowercase().ends_with(".csv") => FeedFormat::Csv,
        _ => FeedFormat::List,
    }
}

/// Column names read from a CSV header, by role.
const VALUE_COLUMNS: &[&str] = &["value", "indicator", "ioc", "observable", "ioc_value"];
const KIND_COLUMNS: &[&str] = &["type", "kind", "indicator_type", "ioc_type"];

/// The mapping for a CSV file: columns by name when its first record names them.
fn csv_mapping(text: &[u8], kind: Option<Kind>) -> ColumnMapping {
    let first = text
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).trim().to_owned())
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let header: Vec<String> = first
        .split(',')
        .map(|c| c.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    let named = |names: &[&str]| {
        header
            .iter()
            .find(|h| names.contains(&h.as_str()))
            .map(|h| Column::Name(h.clone()))
    };
    let fixed_or = |detected| kind.map_or(detected, KindSource::Fixed);
    let Some(value) = named(VALUE_COLUMNS) else {
        return ColumnMapping::new(0, fixed_or(KindSource::Detect));
    };
    let kind_source = fixed_or(named(KIND_COLUMNS).map_or(KindSource::Detect, KindSource::Column));
    let mut mapping = ColumnMapping::new(value, kind_source);
    mapping.tlp = named(&["tlp"]);
    mapping.confidence = named(&["confidence"]);
    mapping.tags = named(&["tags", "tag"]);
    mapping.description = named(&["description", "comment"]);
    mapping.valid_from = named(&["valid_from", "first_seen"]);
    mapping.valid_until = named(&["valid_until", "expiration", "expires"]);
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised() {
        assert_eq!(sniff("x.json", b"  {\"type\""), FeedFormat::Stix);
        assert_eq!(sniff("x.txt", b"[{}]"), FeedFormat::Stix);
        assert_eq!(sniff("feed.CSV", b"value,type"), FeedFormat::Csv);
        assert_eq!(sniff("hosts", b"0.0.0.0 evil.example"), FeedFormat::List);
    }

    #[test]
    fn csv_columns_by_header_name() {
        let m = csv_mapping(
            b"# feed\nIndicator,Type,TLP\nevil.example,domain,green\n",
            None,
        );
        assert_eq!(m.value, Column::Name("indicator".into()));
        assert_eq!(m.kind, KindSource::Column(Column::Name("type".into())));
        assert_eq!(m.tlp, Some(Column::Name("tlp".into())));
        let m = csv_mapping(b"evil.example,c2\n", Some(Kind::Domain));
        assert_eq!(m.value, Column::Index(0));
        assert_eq!(m.kind, KindSource::Fixed(Kind::Domain));
    }
}
