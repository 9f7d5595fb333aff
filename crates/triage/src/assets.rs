//! The asset inventory: which hosts and addresses exist, who owns them and how much
//! they matter.
//!
//! [`Assets`] is read from CSV or JSON text (never from disk) and answers lookups by
//! host name — full or short ("WS01" finds "ws01.corp.local"), case-insensitive — and by
//! IP address. A host may carry aliases (other names it goes by, such as the sites a
//! web server serves), which find it like its name does. Bad rows are reported with their line (CSV) or entry (JSON) and the field
//! at fault, and skipped; the rest of the inventory still loads. [`Criticality`] scales
//! the score of alerts on an asset.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use foldhash::HashMap;
use serde_json::Value;

/// How much an asset matters.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Criticality {
    /// "low", "medium" (or "med"), "high", "critical" (or "crit"), case-insensitive, or
    /// 1 to 4.
    pub fn parse(s: &str) -> Option<Criticality> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" | "1" => Some(Criticality::Low),
            "medium" | "med" | "2" => Some(Criticality::Medium),
            "high" | "3" => Some(Criticality::High),
            "critical" | "crit" | "4" => Some(Criticality::Critical),
            _ => None,
        }
    }

    /// The factor applied to the score of an alert on such an asset.
    pub fn multiplier(self) -> f64 {
        match self {
            Criticality::Low => 0.8,
            Criticality::Medium => 1.0,
            Criticality::High => 1.3,
            Criticality::Critical => 1.6,
        }
    }
}

/// One host of the inventory.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Asset {
    /// Host name, as written in the inventory.
    pub name: Option<String>,
    pub ips: Vec<IpAddr>,
    pub owner: Option<String>,
    pub criticality: Criticality,
    pub tags: Vec<String>,
    /// Other names of the host: its FQDN or short name as other logs write them, the
    /// web sites it serves (a web server's access log names its virtual host).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// Where in the inventory text a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A CSV line, 1-based (the header is line 1).
    Line(u64),
    /// A JSON array entry, 0-based.
    Entry(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "line {line}"),
            Location::Entry(index) => write!(f, "entry {index}"),
        }
    }
}

/// A problem in the inventory text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssetError {
    /// A field with a value that cannot be used; the row or entry is skipped.
    #[error("{at}: field `{field}`: {reason}")]
    Field {
        at: Location,
        field: String,
        reason: String,
    },
    /// A row or entry that names neither a host nor an address; it is skipped.
    #[error("{at}: no host name and no IP address")]
    Unidentified { at: Location },
    /// The CSV header lacks both a host and an ip column: nothing can load.
    #[error("line 1: the header has no host/hostname/name column and no ip/ips column")]
    MissingColumns,
    /// CSV that cannot be read at this line.
    #[error("line {line}: invalid CSV: {message}")]
    Csv { line: u64, message: String },
    /// JSON that does not parse.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON whose top level is not an array of asset objects.
    #[error("JSON line 1, column 1: expected an array of asset objects, found {found}")]
    NotAnArray { found: &'static str },
    /// A JSON entry that is not an object; it is skipped.
    #[error("{at}: expected an object, found {found}")]
    NotAnObject { at: Location, found: &'static str },
}

/// The asset inventory, indexed by host name and by IP address.
#[derive(Clone, Debug, Default)]
pub struct Assets {
    assets: Vec<Asset>,
    /// Lower-cased full host name → index.
    by_name: HashMap<String, usize>,
    /// Lower-cased short name (before the first '.') of dotted names → index, or `None`
    /// when several assets share it.
    by_short: HashMap<String, Option<usize>>,
    by_ip: HashMap<IpAddr, usize>,
}

/// The column of each field in a CSV header.
#[derive(Default)]
struct Columns {
    host: Option<usize>,
    ips: Option<usize>,
    owner: Option<usize>,
    criticality: Option<usize>,
    tags: Option<usize>,
    aliases: Option<usize>,
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Columns {
        let mut columns = Columns::default();
        for (index, name) in header.iter().enumerate() {
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "host" | "hostname" | "name" => &mut columns.host,
                "ip" | "ips" => &mut columns.ips,
                "owner" => &mut columns.owner,
                "criticality" => &mut columns.criticality,
                "tags" => &mut columns.tags,
                "aliases" | "alias" => &mut columns.aliases,
                _ => continue,
            };
            slot.get_or_insert(index);
        }
        columns
    }
}

/// The text of a record's column, trimmed; empty or absent → `None`.
fn cell(record: &csv::StringRecord, column: Option<usize>) -> Option<&str> {
    column
        .and_then(|c| record.get(c))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An address as written in an inventory or an event: plain, bracketed, or with a port.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })?;
    Some(ip.to_canonical())
}

/// Several addresses separated by ';', ',' or white space.
fn parse_ips(text: &str) -> Result<Vec<IpAddr>, String> {
    let mut ips = Vec::new();
    for part in text
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let ip = parse_ip(part).ok_or_else(|| format!("{part:?} is not an IP address"))?;
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// Tags separated by ';', trimmed, without empties or repeats.
fn split_tags(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

/// Host names separated by ';', ',' or blanks.
fn split_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split([';', ',', ' ', '\t']) {
        let name = name.trim();
        if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
        }
    }
    names
}

fn bad_criticality(text: &str) -> String {
    format!("{text:?} is not low, medium, high, critical or 1-4")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Assets {
    /// An empty inventory.
    pub fn new() -> Assets {
        Assets::default()
    }

    /// CSV with a header row; columns (any order, case-insensitive): host|hostname|name,
    /// ip|ips (several separated by ';' or ' '), owner, criticality, tags
    /// (';'-separated), aliases (other names of the host, ';' or ' ' separated). Bad rows are reported (line number, field, reason) and skipped;
    /// the rest load.
    pub fn from_csv(text: &str) -> (Assets, Vec<AssetError>) {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut assets = Assets::default();
        let mut errors = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());
        let columns = match reader.headers() {
            Ok(header) => Columns::from_header(header),
            Err(e) => {
                errors.push(csv_error(&e, 1));
                return (assets, errors);
            }
        };
        if columns.host.is_none() && columns.ips.is_none() {
            errors.push(AssetError::MissingColumns);
            return (assets, errors);
        }
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    errors.push(csv_error(&e, line));
                    // The reader resynchronises on the next record; stop if it cannot.
                    if e.position().is_none() {
                        break;
                    }
                    continue;
                }
            }
            let line = record.position().map_or(0, csv::Position::line);
            match asset_from_record(&record, &columns, Location::Line(line)) {
                Ok(asset) => assets.insert(asset),
                Err(e) => errors.push(e),
            }
        }
        (assets, errors)
    }

    /// JSON: an array of objects with the keys of the CSV columns (`ips` an array or a
    /// string, `tags` an array or a ';'-separated string, `criticality` a string or 1-4).
    /// Bad entries are reported and skipped; text that is not such an array is an error.
    pub fn from_json(text: &str) -> Result<(Assets, Vec<AssetError>), AssetError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let root: Value = serde_json::from_str(text).map_err(|e| AssetError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let Value::Array(entries) = root else {
            return Err(AssetError::NotAnArray {
                found: json_kind(&root),
            });
        };
        let mut assets = Assets::default();
        let mut errors = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match asset_from_json(entry, Location::Entry(index)) {
                Ok(asset) => assets.insert(asset),
                Err(e) => errors.push(e),
            }
        }
        Ok((assets, errors))
    }

    /// Adds an asset; one with the same host name (case-insensitive) replaces it, and an
    /// address already known moves to the new asset.
    pub fn insert(&mut self, mut asset: Asset) {
        for ip in &mut asset.ips {
            *ip = ip.to_canonical();
        }
        let key = asset
            .name
            .as_deref()
            .map(normalise_host)
            .filter(|k| !k.is_empty());
        let existing = key.as_ref().and_then(|k| self.by_name.get(k).copied());
        let index = match existing.and_then(|i| self.assets.get_mut(i).map(|slot| (i, slot))) {
            Some((index, slot)) => {
                let old = std::mem::replace(slot, asset);
                for ip in &old.ips {
                    if self.by_ip.get(ip) == Some(&index) {
                        self.by_ip.remove(ip);
                    }
                }
                for alias in &old.aliases {
                    let alias = normalise_host(alias);
                    if self.by_name.get(&alias) == Some(&index) && Some(&alias) != key.as_ref() {
                        self.by_name.remove(&alias);
                    }
                }
                index
            }
            None => {
                self.assets.push(asset);
                let index = self.assets.len() - 1;
                if let Some(key) = &key {
                    self.by_name.insert(key.clone(), index);
                    if let Some((short, _)) = key.split_once('.')
                        && !short.is_empty()
                        && parse_ip(key).is_none()
                    {
                        self.by_short
                            .entry(short.to_owned())
                            .and_modify(|slot| {
                                if *slot != Some(index) {
                                    *slot = None;
                                }
                            })
                            .or_insert(Some(index));
                    }
                }
                index
            }
        };
        if let Some(asset) = self.assets.get(index) {
            for ip in &asset.ips {
                self.by_ip.insert(*ip, index);
            }
            // An alias never takes a name another asset already holds.
            for alias in &asset.aliases {
                let alias = normalise_host(alias);
                if !alias.is_empty() {
                    self.by_name.entry(alias).or_insert(index);
                }
            }
        }
    }

    /// The inventory's own name for a host known by `host` (its name, short name, an
    /// alias, or an address, as network sensors name the machine they saw), in the form
    /// detections carry host names (lower-case); `None` when the inventory does not
    /// know the host or has no name for it.
    pub fn canonical_host(&self, host: &str) -> Option<String> {
        let asset = match parse_ip(host) {
            Some(_) => self.by_ip(host)?,
            None => self.by_host(host)?,
        };
        Some(normalise_host(asset.name.as_deref()?))
    }

    /// The asset of a host name: the full name, or the short name before the first '.'
    /// ("WS01" finds "ws01.corp.local", "ws01.corp.local" finds an asset named "WS01"),
    /// case-insensitive.
    pub fn by_host(&self, host: &str) -> Option<&Asset> {
        let key = normalise_host(host);
        if key.is_empty() {
            return None;
        }
        let index = match self.by_name.get(&key) {
            Some(index) => Some(*index),
            None if parse_ip(&key).is_some() => None,
            None => match key.split_once('.') {
                // A dotted name matches an inventory entry written as its bare short name.
                Some((short, _)) => self.by_name.get(short).copied(),
                None => self.by_short.get(&key).copied().flatten(),
            },
        };
        index.and_then(|i| self.assets.get(i))
    }

    /// The asset of an address (plain, bracketed or with a port); invalid text → `None`.
    pub fn by_ip(&self, ip: &str) -> Option<&Asset> {
        let ip = parse_ip(ip)?;
        self.by_ip.get(&ip).and_then(|i| self.assets.get(*i))
    }

    /// Every asset, in the order first inserted.
    pub fn iter(&self) -> impl Iterator<Item = &Asset> {
        self.assets.iter()
    }

    pub fn len(&self) -> usize {
        self.assets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}

/// A host name as a lookup key: trimmed, lower-case, without a trailing dot.
fn normalise_host(host: &str) -> String {
    host.trim().trim_end_matches('.').to_lowercase()
}

fn csv_error(e: &csv::Error, line: u64) -> AssetError {
    AssetError::Csv {
        line,
        message: e.to_string(),
    }
}

fn asset_from_record(
    record: &csv::StringRecord,
    columns: &Columns,
    at: Location,
) -> Result<Asset, AssetError> {
    let field = |field: &str, reason: String| AssetError::Field {
        at,
        field: field.to_owned(),
        reason,
    };
    let ips = match cell(record, columns.ips) {
        Some(text) => parse_ips(text).map_err(|reason| field("ip", reason))?,
        None => Vec::new(),
    };
    let criticality = match cell(record, columns.criticality) {
        Some(text) => {
            Criticality::parse(text).ok_or_else(|| field("criticality", bad_criticality(text)))?
        }
        None => Criticality::default(),
    };
    let asset = Asset {
        name: cell(record, columns.host).map(str::to_owned),
        ips,
        owner: cell(record, columns.owner).map(str::to_owned),
        criticality,
        tags: cell(record, columns.tags)
            .map(split_tags)
            .unwrap_or_default(),
        aliases: cell(record, columns.aliases)
            .map(split_names)
            .unwrap_or_default(),
    };
    if asset.name.is_none() && asset.ips.is_empty() {
        return Err(AssetError::Unidentified { at });
    }
    Ok(asset)
}

fn asset_from_json(entry: &Value, at: Location) -> Result<Asset, AssetError> {
    let Value::Object(map) = entry else {
        return Err(AssetError::NotAnObject {
            at,
            found: json_kind(entry),
        });
    };
    let field = |field: &str, reason: String| AssetError::Field {
        at,
        field: field.to_owned(),
        reason,
    };
    let mut asset = Asset::default();
    for (key, value) in map {
        let name = key.trim().to_ascii_lowercase();
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "host" | "hostname" | "name" => {
                let text = value.as_str().ok_or_else(|| {
                    field(
                        key,
                        format!("expected a string, found {}", json_kind(value)),
                    )
                })?;
                let text = text.trim();
                if !text.is_empty() && asset.name.is_none() {
                    asset.name = Some(text.to_owned());
                }
            }
            "ip" | "ips" => {
                let ips = match value {
                    Value::String(text) => parse_ips(text),
                    Value::Array(items) => items
                        .iter()
                        .map(|item| {
                            let text = item.as_str().ok_or_else(|| {
                                format!("expected address strings, found {}", json_kind(item))
                            })?;
                            parse_ip(text).ok_or_else(|| format!("{text:?} is not an IP address"))
                        })
                        .collect(),
                    other => Err(format!(
                        "expected a string or an array, found {}",
                        json_kind(other)
                    )),
                }
                .map_err(|reason| field(key, reason))?;
                for ip in ips {
                    if !asset.ips.contains(&ip) {
                        asset.ips.push(ip);
                    }
                }
            }
            "owner" => {
                let text = value.as_str().ok_or_else(|| {
                    field(
                        key,
                        format!("expected a string, found {}", json_kind(value)),
                    )
                })?;
                asset.owner = Some(text.trim().to_owned()).filter(|s| !s.is_empty());
            }
            "criticality" => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(field(
                            key,
                            format!("expected a string or 1-4, found {}", json_kind(other)),
                        ));
                    }
                };
                asset.criticality =
                    Criticality::parse(&text).ok_or_else(|| field(key, bad_criticality(&text)))?;
            }
            "tags" => {
                asset.tags = match value {
                    Value::String(text) => split_tags(text),
                    Value::Array(items) => {
                        let mut tags: Vec<String> = Vec::new();
                        for item in items {
                            let tag = item.as_str().ok_or_else(|| {
                                field(
                                    key,
                                    format!("expected tag strings, found {}", json_kind(item)),
                                )
                            })?;
                            let tag = tag.trim();
                            if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
                                tags.push(tag.to_owned());
                            }
                        }
                        tags
                    }
                    other => {
                        return Err(field(
                            key,
                            format!("expected a string or an array, found {}", json_kind(other)),
                        ));
                    }
                };
            }
            "aliases" | "alias" => {
                asset.aliases = match value {
                    Value::String(text) => split_names(text),
                    Value::Array(items) => {
                        let mut names = Vec::new();
                        for item in items {
                            let name = item.as_str().ok_or_else(|| {
                                field(
                                    key,
                                    format!("expected name strings, found {}", json_kind(item)),
                                )
                            })?;
                            names.extend(split_names(name));
                        }
                        names
                    }
                    other => {
                        return Err(field(
                            key,
                            format!("expected a string or an array, found {}", json_kind(other)),
                        ));
                    }
                };
            }
            _ => {}
        }
    }
    if asset.name.is_none() && asset.ips.is_empty() {
        return Err(AssetError::Unidentified { at });
    }
    Ok(asset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\
Hostname,IPs,Owner,Criticality,Tags,Location
ws01.corp.local,10.0.0.5;10.0.1.5,alice,high,workstation; finance,Paris
DC01.corp.local,10.0.0.1 fe80::1,it-ops,4,domain-controller,
printer,10.0.0.250,,low,,
badip.corp.local,10.0.0.999,bob,medium,,
badcrit,10.0.0.7,bob,urgent,,
,,nobody,,,
\"quoted, name\",\"10.0.0.8, 10.0.0.9\",carol,,a;b;a,
db.corp.local,10.0.2.1
";

    #[test]
    fn csv_loads_good_rows_and_reports_bad_ones() {
        let (assets, errors) = Assets::from_csv(CSV);
        assert_eq!(assets.len(), 5);
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(matches!(
            errors.first(),
            Some(AssetError::Field { at: Location::Line(5), field, .. }) if field == "ip"
        ));
        assert!(matches!(
            errors.get(1),
            Some(AssetError::Field { at: Location::Line(6), field, .. }) if field == "criticality"
        ));
        assert!(matches!(
            errors.get(2),
            Some(AssetError::Unidentified {
                at: Location::Line(7)
            })
        ));
        assert!(
            messages
                .first()
                .is_some_and(|m| m.contains("line 5") && m.contains("10.0.0.999"))
        );

        let ws = assets.by_host("WS01").expect("short name");
        assert_eq!(ws.name.as_deref(), Some("ws01.corp.local"));
        assert_eq!(ws.criticality, Criticality::High);
        assert_eq!(ws.owner.as_deref(), Some("alice"));
        assert_eq!(ws.tags, ["workstation", "finance"]);
        assert_eq!(ws.ips.len(), 2);
        assert_eq!(assets.by_ip("10.0.1.5"), Some(ws));
        assert_eq!(assets.by_host("ws01.CORP.local."), Some(ws));

        let dc = assets.by_host("dc01").expect("dc");
        assert_eq!(dc.criticality, Criticality::Critical);
        assert_eq!(assets.by_ip("fe80::1"), Some(dc));
        assert_eq!(assets.by_ip("[fe80::1]:445"), Some(dc));
        assert_eq!(assets.by_ip("::ffff:10.0.0.1"), Some(dc));
        assert_eq!(assets.by_ip("10.0.0.1:3389"), Some(dc));

        let printer = assets
            .by_host("printer.corp.local")
            .expect("bare inventory name");
        assert_eq!(printer.owner, None);
        assert!(printer.tags.is_empty());

        let quoted = assets.by_ip("10.0.0.9").expect("quoted cell");
        assert_eq!(quoted.tags, ["a", "b"]);
        assert_eq!(quoted.criticality, Criticality::Medium);
        assert!(assets.by_host("db").is_some(), "short row");

        assert!(assets.by_host("ws01.evil.com").is_none());
        assert!(assets.by_host("").is_none());
        assert!(assets.by_host("10").is_none());
        assert!(assets.by_ip("not an ip").is_none());
        assert!(assets.by_ip("10.0.0.6").is_none());
    }

    #[test]
    fn csv_without_usable_columns_loads_nothing() {
        let (assets, errors) = Assets::from_csv("owner,notes\nalice,x\n");
        assert!(assets.is_empty());
        assert!(matches!(errors.as_slice(), [AssetError::MissingColumns]));
        let (assets, errors) = Assets::from_csv("");
        assert!(assets.is_empty());
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn ip_only_csv_and_bom() {
        let (assets, errors) = Assets::from_csv("\u{feff}IP,criticality\n192.0.2.1,CRITICAL\n");
        assert!(errors.is_empty(), "{errors:?}");
        let asset = assets.by_ip("192.0.2.1").expect("loaded");
        assert_eq!(asset.name, None);
        assert_eq!(asset.criticality.multiplier(), 1.6);
    }

    #[test]
    fn ambiguous_short_names_do_not_match() {
        let (assets, errors) =
            Assets::from_csv("host\nweb.a.example\nweb.b.example\napp.a.example\n");
        assert!(errors.is_empty());
        assert!(assets.by_host("web").is_none());
        assert!(assets.by_host("web.b.example").is_some());
        assert!(assets.by_host("app").is_some());
    }

    #[test]
    fn same_name_replaces_and_moves_addresses() {
        let mut assets = Assets::new();
        assets.insert(Asset {
            name: Some("HOST1".into()),
            ips: vec![[10, 1, 1, 1].into()],
            ..Asset::default()
        });
        assets.insert(Asset {
            name: Some("host1".into()),
            ips: vec![[10, 1, 1, 2].into()],
            criticality: Criticality::High,
            ..Asset::default()
        });
        assert_eq!(assets.len(), 1);
        assert!(assets.by_ip("10.1.1.1").is_none());
        assert_eq!(
            assets.by_ip("10.1.1.2").map(|a| a.criticality),
            Some(Criticality::High)
        );
    }

    #[test]
    fn aliases_find_their_host_and_never_take_another_name() {
        let csv = "host,ip,aliases\n\
                   web01.shop.example,192.168.60.10,shop.example; www.shop.example\n\
                   mail.shop.example,192.168.60.25,web01.shop.example smtp.shop.example\n";
        let (assets, errors) = Assets::from_csv(csv);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            assets.canonical_host("WWW.shop.example.").as_deref(),
            Some("web01.shop.example")
        );
        assert_eq!(
            assets.canonical_host("web01").as_deref(),
            Some("web01.shop.example")
        );
        // The mail server's alias names the web server, which keeps its name.
        assert_eq!(
            assets.canonical_host("web01.shop.example").as_deref(),
            Some("web01.shop.example")
        );
        assert_eq!(
            assets.canonical_host("smtp.shop.example").as_deref(),
            Some("mail.shop.example")
        );
        assert_eq!(assets.canonical_host("unknown.example"), None);
        assert_eq!(
            assets.canonical_host("192.168.60.10").as_deref(),
            Some("web01.shop.example")
        );
        assert_eq!(assets.canonical_host("192.168.60.11"), None);

        let (json, errors) = Assets::from_json(
            r#"[{"host": "WEB02", "aliases": ["b2b.example", 7]},
                {"host": "WEB03", "aliases": "b2c.example"}]"#,
        )
        .unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].to_string().contains("aliases"), "{}", errors[0]);
        assert_eq!(json.canonical_host("b2c.example").as_deref(), Some("web03"));

        // Replacing an asset drops the old asset's aliases.
        let mut assets = assets;
        assets.insert(Asset {
            name: Some("web01.shop.example".into()),
            ..Asset::default()
        });
        assert_eq!(assets.canonical_host("www.shop.example"), None);
    }

    #[test]
    fn json_inventory_with_bad_entries() {
        let text = r#"[
            {"host": "ws02.corp.local", "ips": ["10.0.0.6", "2001:db8::6"], "owner": "dave",
             "criticality": "Critical", "tags": ["vip", "laptop"]},
            {"Name": "srv01", "ip": "10.0.3.1; 10.0.3.2", "criticality": 3, "tags": "db; prod"},
            {"hostname": "bad", "ips": ["10.0.0.300"]},
            {"hostname": "bad2", "criticality": 9},
            {"hostname": "bad3", "tags": [1, 2]},
            {"owner": "nobody"},
            "just a string",
            {"ip": "10.9.9.9", "criticality": null, "extra": {"x": 1}}
        ]"#;
        let (assets, errors) = Assets::from_json(text).expect("an array");
        assert_eq!(assets.len(), 3);
        assert_eq!(errors.len(), 5, "{errors:?}");
        let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            texts
                .first()
                .is_some_and(|t| t.starts_with("entry 2: field `ips`")),
            "{texts:?}"
        );
        assert!(
            texts.get(1).is_some_and(|t| t.contains("criticality")),
            "{texts:?}"
        );
        assert!(matches!(
            errors.get(4),
            Some(AssetError::NotAnObject {
                at: Location::Entry(6),
                ..
            })
        ));

        let ws = assets.by_host("WS02").expect("ws02");
        assert_eq!(ws.criticality, Criticality::Critical);
        assert_eq!(ws.tags, ["vip", "laptop"]);
        assert_eq!(assets.by_ip("2001:DB8::6"), Some(ws));
        let srv = assets.by_ip("10.0.3.2").expect("srv01");
        assert_eq!(srv.name.as_deref(), Some("srv01"));
        assert_eq!(srv.criticality, Criticality::High);
        assert_eq!(srv.tags, ["db", "prod"]);
        assert_eq!(
            assets.by_ip("10.9.9.9").map(|a| a.criticality),
            Some(Criticality::Medium)
        );
    }

    #[test]
    fn json_that_is_not_an_inventory() {
        assert!(matches!(
            Assets::from_json("{\"host\": \"x\"}"),
            Err(AssetError::NotAnArray { found: "an object" })
        ));
        match Assets::from_json("[\n{\"host\": }\n]") {
            Err(AssetError::Json { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn criticality_spellings() {
        assert_eq!(Criticality::parse(" HIGH "), Some(Criticality::High));
        assert_eq!(Criticality::parse("1"), Some(Criticality::Low));
        assert_eq!(Criticality::parse("2"), Some(Criticality::Medium));
        assert_eq!(Criticality::parse("crit"), Some(Criticality::Critical));
        assert_eq!(Criticality::parse("5"), None);
        assert_eq!(Criticality::parse(""), None);
        assert!(Criticality::Low < Criticality::Critical);
        assert_eq!(Criticality::default().multiplier(), 1.0);
        assert_eq!(Criticality::Low.multiplier(), 0.8);
        assert_eq!(Criticality::High.multiplier(), 1.3);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "[a-z0-9,;:.\\[\\]\" \n-]{0,120}") {
            let csv = format!("host,ip,criticality,tags\n{text}");
            let (assets, _) = Assets::from_csv(&csv);
            let _ = assets.by_host(&text);
            let _ = assets.by_ip(&text);
            let _ = Assets::from_json(&text);
        }
    }
}
