//! MISP warninglists: values known to be benign or too common to alert on (cloud
//! ranges, public resolvers, top sites, empty-file hashes), used to suppress alerts.
//!
//! A [`Warninglist`] is parsed from the MISP `list.json` text (name, description, type,
//! list, matching_attributes) into a matcher chosen by its type: CIDR lists become sorted,
//! merged address ranges searched by bisection; hostname lists a set searched by the value
//! and each parent domain; string lists a set; substring lists one literal automaton
//! (through `regex`); regex lists compiled patterns, bad ones skipped and counted.
//! [`Warninglists`] holds several and says which list a value is on. No IO here.

use std::net::IpAddr;

use foldhash::HashSet;
use regex::{Regex, RegexBuilder};

/// The compiled size limit of one regex entry, and of the substring automaton.
const REGEX_SIZE_LIMIT: usize = 1 << 22;
const AUTOMATON_SIZE_LIMIT: usize = 1 << 26;

/// Why a warninglist text could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WarninglistError {
    /// The text is not valid JSON, or lacks a required field (`name`, `type`, `list`) or
    /// has one of the wrong type.
    #[error("invalid warninglist JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// A `type` this reader does not know.
    #[error(
        "warninglist {list:?}: unknown type {kind:?} (expected cidr, hostname, string, substring or regex)"
    )]
    UnknownType { list: String, kind: String },
}

/// How the entries of a list are compared with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// IPv4/IPv6 networks and addresses; an address value matches inside one.
    Cidr,
    /// Domains; a value matches the domain or any name below it.
    Hostname,
    /// Exact values, case-insensitive.
    String,
    /// A value matches when it contains an entry, case-insensitive.
    Substring,
    /// Regular expressions (`/pattern/flags` or bare).
    Regex,
}

impl ListKind {
    fn parse(kind: &str) -> Option<ListKind> {
        match kind.trim().to_ascii_lowercase().as_str() {
            "cidr" => Some(ListKind::Cidr),
            "hostname" => Some(ListKind::Hostname),
            "string" => Some(ListKind::String),
            "substring" => Some(ListKind::Substring),
            "regex" => Some(ListKind::Regex),
            _ => None,
        }
    }
}

/// The raw `list.json` document.
#[derive(serde::Deserialize)]
struct RawList {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "type")]
    kind: String,
    list: Vec<String>,
    #[serde(default)]
    matching_attributes: Vec<String>,
}

/// One MISP warninglist.
#[derive(Clone, Debug)]
pub struct Warninglist {
    pub name: String,
    pub description: String,
    pub kind: ListKind,
    /// The MISP attribute types the list is meant for ("ip-dst", "domain", ...).
    pub matching_attributes: Vec<String>,
    entries: Entries,
    len: usize,
    skipped: usize,
}

#[derive(Clone, Debug)]
enum Entries {
    Cidr(Ranges),
    /// Lower-case domains without leading or trailing dots.
    Hostname(HashSet<String>),
    /// Lower-case values.
    String(HashSet<String>),
    Substring(Substrings),
    Regex(Vec<Regex>),
}

/// Address ranges per family, sorted by start and merged so they do not overlap.
#[derive(Clone, Debug, Default)]
struct Ranges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

/// The first and last address of a network or a plain address ("10.0.0.0/8",
/// "2001:db8::/32", "192.0.2.1"); host bits below the prefix are ignored.
fn parse_network(text: &str) -> Option<(IpAddr, IpAddr)> {
    let text = text.trim();
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, Some(prefix.trim().parse::<u32>().ok()?)),
        None => (text, None),
    };
    match address.trim().parse::<IpAddr>().ok()? {
        IpAddr::V4(ip) => {
            let prefix = prefix.unwrap_or(32);
            let mask = u32::MAX
                .checked_shl(32u32.checked_sub(prefix)?)
                .unwrap_or(0);
            let first = u32::from(ip) & mask;
            Some((IpAddr::V4(first.into()), IpAddr::V4((first | !mask).into())))
        }
        IpAddr::V6(ip) => {
            let prefix = prefix.unwrap_or(128);
            let mask = u128::MAX
                .checked_shl(128u32.checked_sub(prefix)?)
                .unwrap_or(0);
            let first = u128::from(ip) & mask;
            Some((IpAddr::V6(first.into()), IpAddr::V6((first | !mask).into())))
        }
    }
}

/// Sorts ranges and merges overlapping or adjacent ones.
fn merge<T: Copy + Ord>(ranges: &mut Vec<(T, T)>, next: impl Fn(T) -> Option<T>) {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(start, end) in ranges.iter() {
        match merged.last_mut() {
            Some(last) if next(last.1).is_none_or(|after| start <= after) => {
                last.1 = last.1.max(end);
            }
            _ => merged.push((start, end)),
        }
    }
    *ranges = merged;
}

/// Whether `[first, last]` lies inside one of the merged, sorted ranges.
fn covered<T: Copy + Ord>(ranges: &[(T, T)], first: T, last: T) -> bool {
    let after = ranges.partition_point(|&(start, _)| start <= first);
    after
        .checked_sub(1)
        .and_then(|i| ranges.get(i))
        .is_some_and(|&(_, end)| last <= end)
}

impl Ranges {
    /// Builds the ranges; returns them and the number of entries that are not networks.
    fn build(entries: &[String]) -> (Ranges, usize) {
        let mut ranges = Ranges::default();
        let mut skipped = 0;
        for entry in entries {
            match parse_network(entry).map(|(a, b)| (a.to_canonical(), b.to_canonical())) {
                Some((IpAddr::V4(a), IpAddr::V4(b))) => ranges.v4.push((a.into(), b.into())),
                Some((IpAddr::V6(a), IpAddr::V6(b))) => ranges.v6.push((a.into(), b.into())),
                _ => skipped += 1,
            }
        }
        merge(&mut ranges.v4, |x: u32| x.checked_add(1));
        merge(&mut ranges.v6, |x: u128| x.checked_add(1));
        (ranges, skipped)
    }

    fn contains(&self, first: IpAddr, last: IpAddr) -> bool {
        match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => covered(&self.v4, u32::from(a), u32::from(b)),
            (IpAddr::V6(a), IpAddr::V6(b)) => covered(&self.v6, u128::from(a), u128::from(b)),
            _ => false,
        }
    }
}

/// Substring entries: one literal automaton, or a plain scan if it would be too large.
#[derive(Clone, Debug)]
struct Substrings {
    automaton: Option<Regex>,
    needles: Vec<String>,
}

impl Substrings {
    fn build(entries: &[String]) -> Substrings {
        let mut needles: Vec<String> = entries
            .iter()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect();
        needles.sort_unstable();
        needles.dedup();
        let pattern = needles
            .iter()
            .map(|n| regex::escape(n))
            .collect::<Vec<_>>()
            .join("|");
        let automaton = (!needles.is_empty())
            .then(|| {
                RegexBuilder::new(&pattern)
                    .unicode(false)
                    .size_limit(AUTOMATON_SIZE_LIMIT)
                    .build()
                    .ok()
            })
            .flatten();
        Substrings { automaton, needles }
    }

    fn contains(&self, lower: &str) -> bool {
        match &self.automaton {
            Some(automaton) => automaton.is_match(lower),
            None => self.needles.iter().any(|n| lower.contains(n.as_str())),
        }
    }
}

/// A regex entry in the PHP form MISP uses (`/pattern/flags`) or bare; `None` when it
/// does not compile (or compiles too large).
fn compile_regex(entry: &str) -> Option<Regex> {
    let (pattern, flags) = entry
        .strip_prefix('/')
        .and_then(|rest| rest.rsplit_once('/'))
        .filter(|(_, flags)| flags.chars().all(|c| "imsxuUgAD".contains(c)))
        .unwrap_or((entry, ""));
    RegexBuilder::new(pattern)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .ignore_whitespace(flags.contains('x'))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .ok()
}

/// A value prepared once for every list it is checked against.
struct Probe<'a> {
    raw: &'a str,
    lower: String,
    /// The address range the value names (an address, or a network in CIDR form).
    network: Option<(IpAddr, IpAddr)>,
    /// The host of a host name, URL or `domain|ip` value, lower-case.
    host: Option<String>,
}

impl<'a> Probe<'a> {
    fn new(value: &'a str) -> Probe<'a> {
        let raw = value.trim();
        let lower = raw.to_lowercase();
        let host = host_of(&lower);
        let network = parse_network(raw)
            .or_else(|| host.as_deref().and_then(parse_network))
            .map(|(a, b)| (a.to_canonical(), b.to_canonical()));
        Probe {
            raw,
            lower,
            network,
            host,
        }
    }
}

/// The host part of a lower-case value: "https://user@a.example.com:8443/x" →
/// "a.example.com", "example.com|192.0.2.1" → "example.com", "[2001:db8::1]:53" →
/// "2001:db8::1"; `None` when nothing host-like remains.
fn host_of(lower: &str) -> Option<String> {
    let value = lower.split('|').next().unwrap_or_default();
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else if authority.matches(':').count() == 1 {
        authority.split(':').next().unwrap_or_default()
    } else {
        authority
    };
    let host = host.trim().trim_matches('.');
    (!host.is_empty()).then(|| host.to_owned())
}

impl Warninglist {
    /// Parses a MISP `list.json` text. Entries that do not fit the list type (a bad
    /// network, a regex that does not compile) are skipped and counted in
    /// [`Warninglist::skipped`].
    pub fn from_json(text: &str) -> Result<Warninglist, WarninglistError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw: RawList = serde_json::from_str(text).map_err(|e| WarninglistError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let Some(kind) = ListKind::parse(&raw.kind) else {
            return Err(WarninglistError::UnknownType {
                list: raw.name,
                kind: raw.kind,
            });
        };
        let total = raw.list.len();
        let (entries, skipped) = match kind {
            ListKind::Cidr => {
                let (ranges, skipped) = Ranges::build(&raw.list);
                (Entries::Cidr(ranges), skipped)
            }
            ListKind::Hostname => {
                let set: HashSet<String> = raw
                    .list
                    .iter()
                    .map(|e| e.trim().trim_matches('.').to_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                (Entries::Hostname(set), 0)
            }
            ListKind::String => {
                let set: HashSet<String> = raw
                    .list
                    .iter()
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                (Entries::String(set), 0)
            }
            ListKind::Substring => (Entries::Substring(Substrings::build(&raw.list)), 0),
            ListKind::Regex => {
                let compiled: Vec<Regex> =
                    raw.list.iter().filter_map(|e| compile_regex(e)).collect();
                let skipped = total - compiled.len();
                (Entries::Regex(compiled), skipped)
            }
        };
        Ok(Warninglist {
            name: raw.name,
            description: raw.description,
            kind,
            matching_attributes: raw.matching_attributes,
            entries,
            len: total - skipped,
            skipped,
        })
    }

    /// Whether the value is on this list (see [`ListKind`] for how each type compares).
    pub fn matches(&self, value: &str) -> bool {
        self.matches_probe(&Probe::new(value))
    }

    fn matches_probe(&self, probe: &Probe<'_>) -> bool {
        if probe.raw.is_empty() {
            return false;
        }
        match &self.entries {
            Entries::Cidr(ranges) => probe
                .network
                .is_some_and(|(first, last)| ranges.contains(first, last)),
            Entries::Hostname(set) => probe.host.as_deref().is_some_and(|host| {
                std::iter::successors(Some(host), |h| h.split_once('.').map(|(_, parent)| parent))
                    .any(|candidate| set.contains(candidate))
            }),
            Entries::String(set) => set.contains(&probe.lower),
            Entries::Substring(substrings) => substrings.contains(&probe.lower),
            Entries::Regex(patterns) => patterns.iter().any(|p| p.is_match(probe.raw)),
        }
    }

    /// The entries taken from the list (skipped ones not counted).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries that could not be used (bad networks, regexes that do not compile).
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

/// Several lists; `matches` says which list (by name) a value is on.
#[derive(Clone, Debug, Default)]
pub struct Warninglists {
    lists: Vec<Warninglist>,
}

impl Warninglists {
    pub fn new() -> Warninglists {
        Warninglists::default()
    }

    pub fn add(&mut self, list: Warninglist) {
        self.lists.push(list);
    }

    /// The name of the first list (in the order added) the value is on.
    pub fn matches(&self, value: &str) -> Option<&str> {
        let probe = Probe::new(value);
        self.lists
            .iter()
            .find(|list| list.matches_probe(&probe))
            .map(|list| list.name.as_str())
    }

    /// The lists, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = &Warninglist> {
        self.lists.iter()
    }

    /// The number of lists.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/threat-intel/misp-warninglists/lists"
    );

    fn list(kind: &str, entries: &[&str]) -> Warninglist {
        let text = serde_json::json!({
            "name": format!("test {kind}"), "description": "d", "type": kind,
            "version": 1, "list": entries, "matching_attributes": ["ip-dst"],
        })
        .to_string();
        Warninglist::from_json(&text).expect("valid test list")
    }

    #[test]
    fn cidr_lists_match_addresses_and_networks_inside() {
        let cidr = list(
            "cidr",
            &[
                "10.0.0.0/8",
                "192.0.2.1",
                "192.0.2.2/32",
                "2001:db8::/32",
                "bad",
                "1.2.3.4/33",
                "10.1.0.0/16",
            ],
        );
        assert_eq!(cidr.kind, ListKind::Cidr);
        assert_eq!(cidr.skipped(), 2);
        assert_eq!(cidr.len(), 5);
        for inside in [
            "10.200.3.4",
            " 10.0.0.0 ",
            "10.255.255.255",
            "192.0.2.1",
            "192.0.2.2",
            "2001:DB8:ffff::1",
            "::ffff:10.1.2.3",
            "10.5.0.0/16",
            "10.0.0.0/9",
            "[2001:db8::5]:53",
            "10.0.0.1:445",
            "http://10.9.9.9/x",
        ] {
            assert!(cidr.matches(inside), "{inside}");
        }
        for outside in [
            "11.0.0.0",
            "9.255.255.255",
            "192.0.2.3",
            "192.0.2.0/24",
            "192.0.2.1/31",
            "2001:db9::1",
            "example.com",
            "",
            "10",
            "10.0.0.0/4",
            "not/an/ip",
        ] {
            assert!(!cidr.matches(outside), "{outside}");
        }
        let everything = list("cidr", &["0.0.0.0/0", "::/0"]);
        assert!(everything.matches("255.255.255.255"));
        assert!(everything.matches("ffff::1"));
    }

    #[test]
    fn range_merging_keeps_adjacent_and_nested_networks() {
        let mut ranges = vec![
            (5u32, 9u32),
            (0, 3),
            (4, 4),
            (20, 30),
            (22, 25),
            (u32::MAX, u32::MAX),
        ];
        merge(&mut ranges, |x: u32| x.checked_add(1));
        assert_eq!(ranges, [(0, 9), (20, 30), (u32::MAX, u32::MAX)]);
        assert!(covered(&ranges, 2, 9));
        assert!(!covered(&ranges, 9, 20));
        assert!(!covered(&ranges, 10, 10));
        assert!(covered(&ranges, u32::MAX, u32::MAX));
        assert!(!covered(&[], 1u32, 1u32));
    }

    #[test]
    fn hostname_lists_match_subdomains_and_url_hosts() {
        let hosts = list("hostname", &["Example.com", ".dot.org", "exact.net."]);
        for yes in [
            "example.com",
            "a.b.EXAMPLE.com",
            "https://user@x.example.com:8443/p?q#f",
            "example.com|192.0.2.1",
            "x.dot.org",
            "dot.org",
            "exact.net",
            "www.exact.net.",
        ] {
            assert!(hosts.matches(yes), "{yes}");
        }
        for no in [
            "notexample.com",
            "example.co",
            "com",
            "",
            "http://",
            "example.com.evil.io",
        ] {
            assert!(!hosts.matches(no), "{no}");
        }
    }

    #[test]
    fn string_substring_and_regex_lists() {
        let strings = list(
            "string",
            &["ABC@Example.com", "44d88612fea8a8f36de82e1278abb02f"],
        );
        assert!(strings.matches("abc@example.COM"));
        assert!(strings.matches("44D88612FEA8A8F36DE82E1278ABB02F"));
        assert!(!strings.matches("xabc@example.com"));

        let substrings = list("substring", &["mailinator", "Temp-Mail.", "é.fr", ""]);
        assert!(substrings.matches("bob@MAILINATOR.com"));
        assert!(substrings.matches("x@temp-mail.org"));
        assert!(substrings.matches("a@cafÉ.fr"));
        assert!(!substrings.matches("bob@example.com"));
        assert!(matches!(&substrings.entries, Entries::Substring(s) if s.automaton.is_some()));

        let regexes = list(
            "regex",
            &[
                r"/^(security|abuse)\@.*\..*$/i",
                r"/^\d{3}55501\d{2}$/g",
                "/([/",
                "x{99999999}",
            ],
        );
        assert_eq!(regexes.skipped(), 2);
        assert_eq!(regexes.len(), 2);
        assert!(regexes.matches("Security@example.org"));
        assert!(regexes.matches("2125550123"));
        assert!(!regexes.matches("bob@example.org"));
        let bare = list("regex", &["^a/b$"]);
        assert!(bare.matches("a/b"));
    }

    #[test]
    fn bad_documents_are_errors() {
        let unknown = r#"{"name":"odd","description":"","type":"bloom","list":[],"version":1}"#;
        match Warninglist::from_json(unknown) {
            Err(WarninglistError::UnknownType { list, kind }) => {
                assert_eq!((list.as_str(), kind.as_str()), ("odd", "bloom"));
            }
            other => panic!("expected UnknownType, got {other:?}"),
        }
        let missing = "{\n\"name\": \"x\", \"type\": \"cidr\"\n}";
        assert!(matches!(
            Warninglist::from_json(missing),
            Err(WarninglistError::Json { line: 3, .. })
        ));
        assert!(matches!(
            Warninglist::from_json("[1"),
            Err(WarninglistError::Json { .. })
        ));
        let wrong = r#"{"name":"x","type":"string","list":[1,2]}"#;
        assert!(Warninglist::from_json(wrong).is_err());
    }

    #[test]
    fn several_lists_name_the_first_match() {
        let mut lists = Warninglists::new();
        assert!(lists.is_empty());
        lists.add(list("cidr", &["10.0.0.0/8"]));
        lists.add(list("hostname", &["example.com"]));
        lists.add(list("string", &["10.1.1.1"]));
        assert_eq!(lists.len(), 3);
        assert_eq!(lists.matches("10.1.1.1"), Some("test cidr"));
        assert_eq!(lists.matches("www.example.com"), Some("test hostname"));
        assert_eq!(lists.matches("192.0.2.1"), None);
    }

    fn load_corpus() -> Option<(Warninglists, usize)> {
        let dir = Path::new(CORPUS);
        let Ok(folders) = std::fs::read_dir(dir) else {
            println!("skipped: corpus {} is absent", dir.display());
            return None;
        };
        let mut paths: Vec<_> = folders
            .flatten()
            .map(|e| e.path().join("list.json"))
            .collect();
        paths.sort();
        let mut lists = Warninglists::new();
        let mut failures = Vec::new();
        let (mut entries, mut skipped) = (0, 0);
        for path in paths.iter().filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            match Warninglist::from_json(&text) {
                Ok(list) => {
                    entries += list.len();
                    skipped += list.skipped();
                    lists.add(list);
                }
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
        println!(
            "warninglists: {} loaded, {entries} entries, {skipped} skipped entries, {} failed",
            lists.len(),
            failures.len()
        );
        assert!(
            failures.is_empty(),
            "lists that failed:\n{}",
            failures.join("\n")
        );
        Some((lists, entries))
    }

    #[test]
    fn every_corpus_list_loads_and_spot_checks_hold() {
        let Some((lists, entries)) = load_corpus() else {
            return;
        };
        assert!(lists.len() > 100);
        assert!(entries > 100_000);
        let by_name = |name: &str| lists.iter().find(|l| l.name == name);
        let named = |wanted: &str| {
            lists
                .iter()
                .find(|l| l.name.starts_with(wanted))
                .unwrap_or_else(|| panic!("no list named {wanted}"))
        };

        let aws = named("List of known Amazon AWS IP address ranges");
        assert_eq!(aws.kind, ListKind::Cidr);
        assert!(aws.matches("3.5.140.10"), "inside 3.5.128.0/19");
        assert!(!aws.matches("192.0.2.10"));

        let dns = named("List of known IPv4 public DNS resolvers");
        assert!(dns.matches("8.8.8.8"));
        assert!(dns.matches("1.1.1.1"));
        assert!(named("List of known IPv6 public DNS resolvers").matches("2001:4860:4860::8888"));

        let shorteners = lists
            .iter()
            .find(|l| l.kind == ListKind::Hostname && l.matches("bit.ly"))
            .expect("a hostname list with bit.ly");
        assert!(shorteners.matches("https://go.bit.ly/abc"));
        assert!(shorteners.matches("deep.sub.bit.ly"));
        assert!(!shorteners.matches("bit.ly.example.invalid"));

        let private = lists
            .matches("172.20.31.77")
            .expect("a private address is listed");
        assert!(by_name(private).is_some_and(|l| l.kind == ListKind::Cidr));
        assert!(named("List of RFC 1918 CIDR blocks").matches("192.168.44.1"));
        assert!(
            named("List of known hashes for empty files")
                .matches("D41D8CD98F00B204E9800998ECF8427E")
        );
        assert!(lists.matches("Abuse@example.org").is_some());

        for unlisted in [
            "qx7-payroll-share-4471.corp-internal.zz",
            "c:\\users\\alice\\appdata\\local\\temp\\x7q2.exe",
            "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
        ] {
            assert_eq!(lists.matches(unlisted), None, "{unlisted}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_values_never_panic(value in ".{0,64}", entry in ".{0,32}") {
            for kind in ["cidr", "hostname", "string", "substring", "regex"] {
                let with_entry = list(kind, &[entry.as_str(), "10.0.0.0/8", "example.com"]);
                let _ = with_entry.matches(&value);
            }
            let _ = host_of(&value);
            let _ = parse_network(&value);
        }
    }
}
