//! Importers: intelligence documents in, indicators and a report out.
//!
//! Every importer is pure: it takes text (or, for inputs that may be very large, a
//! [`std::io::BufRead`] it reads line by line or object by object) and hands back
//! [`NewIndicator`]s, the objects it kept for context, and an [`ImportReport`] that
//! accounts for every candidate it saw: each one was **taken**, **skipped** (with the
//! reason: bad value, revoked, unknown type, allowlisted...) or found **not matchable**
//! (a STIX pattern or a MISP type that cannot be matched value by value). No file is
//! opened here and nothing is stored; the store decides what merges.
//!
//! - [`stix`] reads STIX 2.0/2.1 bundles (indicators through the pattern parser in
//!   [`pattern`], observed-data, and SDOs/SROs kept as [`ContextObject`]s).
//! - [`misp`] reads MISP events and MISP feeds (manifest plus one event per fetch).
//! - [`lines`] reads CSV files through a [`lines::ColumnMapping`] and plain
//!   one-value-per-line blocklists, streaming with bounded memory.
//! - [`kev`] reads the CISA Known Exploited Vulnerabilities catalog.
//! - [`Allowlist`] turns any "is this value benign?" check (MISP warninglists, loaded
//!   by the analysis engine) into a filter applied while importing.

pub mod kev;
pub mod lines;
pub mod misp;
pub mod pattern;
pub mod stix;

mod allowlist;
mod report;

pub use allowlist::Allowlist;
pub use report::{ImportReport, MAX_DETAILS, Skipped, SourceFormat};

use std::net::IpAddr;

use serde::Serialize;
use watchfloor_event::Timestamp;

use crate::model::{Attribution, Kind, NewIndicator, normalize};

/// Why an import could not run at all. Problems with single records never end up
/// here: they are in the [`ImportReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading the input failed.
    #[error("reading the input failed: {0}")]
    Io(#[from] std::io::Error),
    /// The column mapping does not fit the file (a header name that is not there, a
    /// column beyond the last).
    #[error("the column mapping does not fit the file: {0}")]
    Mapping(String),
    /// A document that everything else depends on (a MISP feed's manifest) is not
    /// what it should be.
    #[error("not a valid {what}: {message}")]
    Document { what: &'static str, message: String },
}

/// What an importer starts from: the attribution every indicator gets unless the
/// document says otherwise, and an optional allowlist.
pub struct ImportContext<'a> {
    /// `source` names the feed or file (used when the document names no author);
    /// `confidence` and `tlp` apply when the document states none; `tags` are added
    /// to every indicator. Other fields are ignored.
    pub base: Attribution,
    /// Values on it are skipped, with the list's name as the reason.
    pub allowlist: Option<&'a Allowlist<'a>>,
}

impl<'a> ImportContext<'a> {
    /// A context with [`Attribution::from_source`] defaults and no allowlist.
    pub fn new(source: impl Into<String>) -> ImportContext<'a> {
        ImportContext {
            base: Attribution::from_source(source),
            allowlist: None,
        }
    }

    pub fn with_allowlist(mut self, allowlist: &'a Allowlist<'a>) -> ImportContext<'a> {
        self.allowlist = Some(allowlist);
        self
    }

    /// A fresh attribution for one record: the base's source, confidence, TLP and
    /// tags, nothing else.
    fn attribution(&self) -> Attribution {
        let mut a = Attribution::from_source(self.base.source.clone());
        a.confidence = self.base.confidence.min(100);
        a.tlp = self.base.tlp;
        a.tags = self.base.tags.clone();
        a
    }
}

/// A STIX object (or MISP galaxy cluster) that is not an indicator but gives
/// indicators their meaning: malware, threat actors, attack patterns, relationships,
/// identities, reports. Kept whole for later export.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextObject {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    pub json: serde_json::Value,
}

/// What a document gave.
#[derive(Clone, Debug, Default)]
pub struct Imported {
    pub indicators: Vec<NewIndicator>,
    pub context: Vec<ContextObject>,
    pub report: ImportReport,
}

/// A JSON intelligence document of a format found by looking at it: a STIX bundle or
/// object, or a MISP event (or event list). Anything else is reported, not guessed.
pub fn import_json(text: &str, ctx: &ImportContext<'_>) -> Imported {
    match sniff_json(text) {
        JsonFormat::Stix => stix::import_stix(text, ctx),
        JsonFormat::Misp => misp::import_misp_event(text, ctx),
    }
}

enum JsonFormat {
    Stix,
    Misp,
}

/// Looks at the first keys only: `"type": "bundle"`, `"spec_version"`, `"objects"` or a
/// STIX id mean STIX; anything else goes to the MISP reader, which names what it found.
fn sniff_json(text: &str) -> JsonFormat {
    let head: String = text.chars().take(4096).collect();
    let stixy = head.contains("\"bundle--")
        || head.contains("\"spec_version\"")
        || (head.contains("\"type\"") && head.contains("\"objects\""))
        || head.contains("\"indicator--");
    if stixy && !head.contains("\"Event\"") && !head.contains("\"Attribute\"") {
        JsonFormat::Stix
    } else {
        JsonFormat::Misp
    }
}

/// Collects the indicators of one import: validates and normalises each value, applies
/// the allowlist, and counts, so that every importer accounts the same way.
struct Collector<'c, S> {
    ctx: &'c ImportContext<'c>,
    report: ImportReport,
    sink: S,
}

impl<'c, S: FnMut(NewIndicator)> Collector<'c, S> {
    fn new(ctx: &'c ImportContext<'c>, format: SourceFormat, sink: S) -> Self {
        Collector {
            ctx,
            report: ImportReport::new(ctx.base.source.clone(), format),
            sink,
        }
    }

    fn with_report(ctx: &'c ImportContext<'c>, report: ImportReport, sink: S) -> Self {
        Collector { ctx, report, sink }
    }

    /// Offers one candidate value: taken (normalised) or skipped with the reason.
    fn offer(&mut self, kind: Kind, raw: &str, attribution: Attribution, place: &str) -> bool {
        let kind = refine_ip_kind(kind, raw);
        let value = match normalize(kind, raw) {
            Ok(v) => v,
            Err(e) => {
                self.report
                    .skip(place, format!("{e} (value `{}`)", clip(raw, 120)));
                return false;
            }
        };
        if let Some(list) = self
            .ctx
            .allowlist
            .and_then(|a| a.is_allowlisted(kind, &value))
        {
            self.report.skip(
                place,
                format!("{kind} `{value}` is allowlisted (warninglist `{list}`)"),
            );
            return false;
        }
        self.report.take();
        (self.sink)(NewIndicator {
            kind,
            value,
            attribution,
        });
        true
    }
}

/// An IP kind chosen from the value: a `/` makes it a network, a `:` an IPv6 address.
/// Other kinds are left as they are.
fn refine_ip_kind(kind: Kind, raw: &str) -> Kind {
    if !matches!(kind, Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr) {
        return kind;
    }
    let v = raw.trim();
    if v.contains('/') {
        Kind::Cidr
    } else if v.contains(':') {
        Kind::Ipv6
    } else {
        Kind::Ipv4
    }
}

/// The kind a bare value most likely is: an address, a network, a hash by its length,
/// a URL by its scheme, an e-mail address by its `@`, else a domain.
pub fn detect_kind(value: &str) -> Kind {
    let v = value.trim();
    if v.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
    {
        return if v.contains(':') {
            Kind::Ipv6
        } else {
            Kind::Ipv4
        };
    }
    if let Some((addr, bits)) = v.split_once('/')
        && addr.parse::<IpAddr>().is_ok()
        && bits.bytes().all(|b| b.is_ascii_digit())
    {
        return Kind::Cidr;
    }
    if v.bytes().all(|b| b.is_ascii_hexdigit()) {
        match v.len() {
            32 => return Kind::Md5,
            40 => return Kind::Sha1,
            64 => return Kind::Sha256,
            _ => {}
        }
    }
    if v.contains("://") {
        return Kind::Url;
    }
    if v.contains('@') {
        return Kind::Email;
    }
    Kind::Domain
}

/// An RFC 3339 time (`2014-05-08T09:00:00.000000Z`, `...+02:00`).
fn parse_time(text: &str) -> Option<Timestamp> {
    let ts: jiff::Timestamp = text.trim().parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok().map(Timestamp)
}

/// At most `max` characters of `text`, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// Adds `tag` unless it is already there.
fn push_tag(tags: &mut Vec<String>, tag: impl Into<String>) {
    let tag = tag.into();
    if !tag.is_empty() && !tags.contains(&tag) {
        tags.push(tag);
    }
}

/// An ATT&CK technique id (`T1071`, `T1071.001`), upper-cased, or `None`.
fn attack_id(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_uppercase();
    let rest = t.strip_prefix('T')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    (digits(main, 4) && sub.is_none_or(|s| digits(s, 3))).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_detected_from_values() {
        assert_eq!(detect_kind("10.0.0.1"), Kind::Ipv4);
        assert_eq!(detect_kind("2001:db8::1"), Kind::Ipv6);
        assert_eq!(detect_kind("10.0.0.0/8"), Kind::Cidr);
        assert_eq!(detect_kind(&"a".repeat(32)), Kind::Md5);
        assert_eq!(detect_kind(&"B".repeat(40)), Kind::Sha1);
        assert_eq!(detect_kind(&"0".repeat(64)), Kind::Sha256);
        assert_eq!(detect_kind("https://evil.example/x"), Kind::Url);
        assert_eq!(detect_kind("bob@evil.example"), Kind::Email);
        assert_eq!(detect_kind("evil.example"), Kind::Domain);
        assert_eq!(detect_kind("deadbeef"), Kind::Domain);
    }

    #[test]
    fn attack_ids() {
        assert_eq!(attack_id("T1071"), Some("T1071".into()));
        assert_eq!(attack_id("t1071.001"), Some("T1071.001".into()));
        assert_eq!(attack_id("T107"), None);
        assert_eq!(attack_id("CAPEC-98"), None);
        assert_eq!(attack_id("T1071.1"), None);
    }

    #[test]
    fn times() {
        let t = parse_time("2014-05-08T09:00:00.000000Z").unwrap();
        assert_eq!(t.0, 1_399_539_600_000_000_000);
        assert!(parse_time("2014-05-08").is_none());
    }

    #[test]
    fn ip_kinds_follow_the_value() {
        assert_eq!(refine_ip_kind(Kind::Ipv4, "10.0.0.0/8"), Kind::Cidr);
        assert_eq!(refine_ip_kind(Kind::Ipv4, "::1"), Kind::Ipv6);
        assert_eq!(refine_ip_kind(Kind::Cidr, "10.0.0.1"), Kind::Ipv4);
        assert_eq!(refine_ip_kind(Kind::Domain, "10.0.0.1"), Kind::Domain);
    }
}
