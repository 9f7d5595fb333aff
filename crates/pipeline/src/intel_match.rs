//! Indicator matching on decoded events: every field that holds an address, a name, a
//! URL, a file hash, an e-mail address, a user agent or a JA3 fingerprint is looked up in
//! an [`Intel`] store, free-text fields (command lines, messages, request lines) are
//! scanned for them, and each indicator hit becomes a [`DetectionRow`] with
//! `Origin::Indicator` that goes through the analysis engine with the rule detections.
//!
//! Which fields are checked, and how, is decided by field name ([`ADDRESS_FIELDS`],
//! [`NAME_FIELDS`], [`URL_FIELDS`], [`EMAIL_FIELDS`], [`HASH_FIELDS`], [`HASH_LIST_FIELDS`],
//! [`USER_AGENT_FIELDS`], [`JA3_FIELDS`], [`TEXT_FIELDS`]); the names are resolved to
//! [`FieldId`]s once, when the [`IntelMatcher`] is built, into a table indexed by id, so
//! an event costs one pass over its fields with an array look-up each. Only string values
//! are looked at (numbers and booleans are skipped), and each indicator is reported once
//! per event, at the first field that matched it.
//!
//! An indicator matches when one of its attributions is valid at the event's time (or,
//! for an event without one, at the fallback time the caller gives: the record's receipt
//! time live, the start of the run offline), so expired indicators stop matching. Each
//! hit counts a sighting on the indicator ([`Intel::record_sighting`]).

use std::sync::Arc;

use serde::Serialize;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp, Value};
use watchfloor_intel::{IndicatorId, IndicatorView, Intel, Kind, Match, Tlp};

use crate::detect::{DetectionRow, MAX_EVENT_TEXT};
use crate::entities::EntityFields;

/// The rule index given to indicator rows in `(rule, row)` pairs: no compiled rule.
pub const INDICATOR_ROW: u32 = u32::MAX;

/// Addresses (IPv4 or IPv6, optionally with a `:port` after an IPv4 address): matched
/// exactly and inside `cidr` indicators.
pub const ADDRESS_FIELDS: &[&str] = &[
    // Sysmon, Windows Security and firewall events
    "SourceIp",
    "DestinationIp",
    "IpAddress",
    "SourceAddress",
    "DestAddress",
    "DestinationAddress",
    "ClientAddress",
    "ClientIP",
    "RemoteIp",
    "RemoteAddress",
    // Sigma firewall names, Suricata, CEF, auth syslog
    "src_ip",
    "dest_ip",
    "dst_ip",
    "src",
    "dst",
    // web and proxy logs
    "c-ip",
    "s-ip",
    "clientip",
    // Zeek
    "id.orig_h",
    "id.resp_h",
    "tx_hosts",
    "rx_hosts",
    "san.ip",
    // CloudTrail, auditd
    "sourceIPAddress",
    "addr",
];

/// Host names (an address in one is matched as an address): the name and every parent
/// name against `domain` indicators.
pub const NAME_FIELDS: &[&str] = &[
    "QueryName",
    "DestinationHostname",
    "SourceHostname",
    "query",
    "dns.rrname",
    "dns.queries.rrname",
    "host",
    "http.hostname",
    "tls.sni",
    "server_name",
    "cs-host",
    "dhost",
    "shost",
    "src_host",
    "dst_host",
    "san.dns",
];

/// URLs, or URL paths completed with the event's host ([`URL_HOST_FIELDS`]) as
/// `http://host/path`: matched against `url` indicators, and their host as a name.
pub const URL_FIELDS: &[&str] = &[
    "url",
    "URL",
    "c-uri",
    "cs-uri",
    "uri",
    "http.url",
    "cs-referer",
    "cs-referrer",
    "referrer",
    "http.http_refer",
];

/// Where the host of a URL path is, in order of preference.
pub const URL_HOST_FIELDS: &[&str] = &["cs-host", "host", "http.hostname", "dhost"];

/// E-mail addresses, one per value (`<a@b>` and `mailto:` accepted): matched against
/// `email` indicators, and their domain as a name.
pub const EMAIL_FIELDS: &[&str] = &[
    "mailfrom",
    "sender",
    "recipient",
    "SenderAddress",
    "RecipientAddress",
    "SenderFromAddress",
    "RecipientEmailAddress",
    "smtp.mail_from",
    "san.email",
];

/// One file hash per value (MD5, SHA-1 or SHA-256 by length).
pub const HASH_FIELDS: &[&str] = &[
    "md5",
    "sha1",
    "sha256",
    "MD5",
    "SHA1",
    "SHA256",
    "Hash",
    "fileHash",
    "FileHash",
    "fileinfo.md5",
    "fileinfo.sha1",
    "fileinfo.sha256",
    "hash.md5",
    "hash.sha1",
    "hash.sha256",
];

/// Sysmon's hash lists (`SHA1=…,MD5=…,SHA256=…,IMPHASH=…`): every hash but the import
/// hash, which names a build layout, not a file.
pub const HASH_LIST_FIELDS: &[&str] = &["Hashes"];

/// User agents, matched whole.
pub const USER_AGENT_FIELDS: &[&str] = &[
    "c-useragent",
    "cs-user-agent",
    "cs(User-Agent)",
    "user_agent",
    "http.user_agent",
    "http.http_user_agent",
    "UserAgent",
    "userAgent",
    "requestClientApplication",
];

/// TLS client fingerprints.
pub const JA3_FIELDS: &[&str] = &["ja3", "tls.ja3.hash"];

/// Free text scanned for addresses, names, URLs, e-mail addresses and hashes. The
/// rendered Windows `Message` is left out: it repeats the event's own fields at many
/// times their length.
pub const TEXT_FIELDS: &[&str] = &[
    "CommandLine",
    "ParentCommandLine",
    "ProcessCommandLine",
    "InitiatingProcessCommandLine",
    "ScriptBlockText",
    "Payload",
    "Details",
    "ImagePath",
    "ServiceFileName",
    "CommandLineTemplate",
    "TaskContent",
    "QueryResults",
    "answers",
    "message",
    "msg",
    "SyslogMessage",
    "request",
    "proctitle",
    "cmd",
    "rcptto",
    "from",
    "to",
    "reply_to",
    "smtp.rcpt_to",
    "email.from",
    "email.to",
];

/// How a field's value is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Check {
    #[default]
    None,
    /// [`Intel::lookup`] with this hint.
    Value(Kind),
    /// A Sysmon hash list.
    HashList,
    /// A URL, or a path on the event's host.
    Url,
    /// [`Intel::scan_text`].
    Text,
}

/// What a hit was, for the row and for `hunt`'s output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IndicatorHit {
    pub kind: Kind,
    /// The indicator's normalised value.
    pub value: String,
    /// The field that matched, and the part of its value that did (the whole value, a
    /// URL's host, a word of a command line).
    pub field: String,
    pub matched: String,
    /// The sources whose attribution is valid at the event's time, in the order they
    /// first reported it.
    pub sources: Vec<String>,
    /// The highest confidence among them (0 to 100).
    pub confidence: u8,
    /// The most restrictive TLP among them.
    pub tlp: Tlp,
}

/// Matches events against an [`Intel`] store. Built once per field table and shared by
/// the threads of a run (`Send + Sync`); each thread keeps its own [`IntelScratch`].
pub struct IntelMatcher {
    intel: Arc<Intel>,
    table: Arc<FieldTable>,
    /// Indexed by [`FieldId::index`].
    checks: Vec<Check>,
    url_hosts: Vec<FieldId>,
    entity_fields: EntityFields,
}

impl std::fmt::Debug for IntelMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntelMatcher")
            .field("intel", &self.intel)
            .field("fields", &self.field_count())
            .finish_non_exhaustive()
    }
}

/// One thread's reusable buffers.
#[derive(Debug, Default)]
pub struct IntelScratch {
    found: Vec<Match>,
    /// This event's hits: indicator, field entry index, matched range of the value.
    hits: Vec<(IndicatorId, usize, usize, usize)>,
    url: String,
}

impl IntelMatcher {
    /// A matcher over `intel` for events decoded against `table`.
    pub fn new(intel: Arc<Intel>, table: Arc<FieldTable>) -> IntelMatcher {
        intel.prepare();
        let lists: [(&[&str], Check); 9] = [
            (ADDRESS_FIELDS, Check::Value(Kind::Ipv4)),
            (NAME_FIELDS, Check::Value(Kind::Domain)),
            (URL_FIELDS, Check::Url),
            (EMAIL_FIELDS, Check::Value(Kind::Email)),
            (HASH_FIELDS, Check::Value(Kind::Md5)),
            (HASH_LIST_FIELDS, Check::HashList),
            (USER_AGENT_FIELDS, Check::Value(Kind::UserAgent)),
            (JA3_FIELDS, Check::Value(Kind::Ja3)),
            (TEXT_FIELDS, Check::Text),
        ];
        let mut checks = Vec::new();
        for (names, check) in lists {
            for name in names {
                let id = table.intern(name).index();
                if id >= checks.len() {
                    checks.resize(id + 1, Check::None);
                }
                checks[id] = check;
            }
        }
        let url_hosts = URL_HOST_FIELDS.iter().map(|n| table.intern(n)).collect();
        let entity_fields = EntityFields::new(&table);
        IntelMatcher {
            intel,
            table,
            checks,
            url_hosts,
            entity_fields,
        }
    }

    pub fn intel(&self) -> &Arc<Intel> {
        &self.intel
    }

    pub fn table(&self) -> &Arc<FieldTable> {
        &self.table
    }

    /// How many field names are checked.
    pub fn field_count(&self) -> usize {
        self.checks.iter().filter(|c| **c != Check::None).count()
    }

    #[inline]
    fn check(&self, id: FieldId) -> Check {
        self.checks.get(id.index()).copied().unwrap_or_default()
    }

    /// Appends a row (with [`INDICATOR_ROW`] as its rule) for every indicator `ev`
    /// matches, valid at the event's time or, when it has none, at `fallback`, and counts
    /// a sighting of each. Returns how many rows were added.
    pub fn detect(
        &self,
        ev: &Event,
        fallback: Timestamp,
        scratch: &mut IntelScratch,
        out: &mut Vec<(u32, DetectionRow)>,
    ) -> usize {
        if self.intel.is_empty() {
            return 0;
        }
        let at = if ev.time.0 != 0 { ev.time } else { fallback };
        self.find(ev, at, scratch);
        if scratch.hits.is_empty() {
            return 0;
        }
        let before = out.len();
        let fields: Vec<_> = ev.fields().collect();
        for &(id, field, start, end) in &scratch.hits {
            let Some((entry, Value::Str(value))) = fields.get(field).copied() else {
                continue;
            };
            let matched = value.get(start..end).unwrap_or(value);
            if let Some(row) = self.row(ev, at, id, entry.name, value, matched) {
                self.intel.record_sighting(id, at);
                out.push((INDICATOR_ROW, row));
            }
        }
        out.len() - before
    }

    /// Fills `scratch.hits` with every indicator of `ev` valid at `at`, once each.
    fn find(&self, ev: &Event, at: Timestamp, scratch: &mut IntelScratch) {
        scratch.hits.clear();
        for (index, (entry, value)) in ev.fields().enumerate() {
            let Value::Str(s) = value else { continue };
            let check = match self.check(entry.name) {
                Check::None => self.check(entry.path),
                c => c,
            };
            if check == Check::None {
                continue;
            }
            let v = s.trim();
            if v.is_empty() || v == "-" {
                continue;
            }
            let offset = v.as_ptr() as usize - s.as_ptr() as usize;
            scratch.found.clear();
            match check {
                Check::None => {}
                Check::Value(kind @ Kind::Ipv4) => {
                    self.intel
                        .lookup(Some(kind), strip_port(v), at, &mut scratch.found)
                }
                Check::Value(kind) => self.intel.lookup(Some(kind), v, at, &mut scratch.found),
                Check::HashList => self.hash_list(v, at, &mut scratch.found),
                Check::Url => self.url(ev, v, at, scratch),
                Check::Text => self.intel.scan_text(v, at, &mut scratch.found),
            }
            for m in &scratch.found {
                if scratch.hits.iter().any(|h| h.0 == m.id) {
                    continue;
                }
                // A match inside a value completed for the look-up (a URL built from a
                // path) has no range in the field: report the whole value.
                let (start, end) = if m.end <= v.len() && v.is_char_boundary(m.start) {
                    (offset + m.start, offset + m.end)
                } else {
                    (offset, offset + v.len())
                };
                scratch.hits.push((m.id, index, start, end));
            }
        }
    }

    /// `SHA1=…,MD5=…,SHA256=…,IMPHASH=…` (any case, any order; a bare hash too).
    fn hash_list(&self, v: &str, at: Timestamp, out: &mut Vec<Match>) {
        let mut from = 0;
        for part in v.split(',') {
            let start = from;
            from += part.len() + 1;
            let (algorithm, hash) = part.split_once('=').unwrap_or(("", part));
            if algorithm.trim().eq_ignore_ascii_case("imphash") {
                continue;
            }
            let before = out.len();
            self.intel.lookup(Some(Kind::Md5), hash, at, out);
            let offset = start + (hash.as_ptr() as usize - part.as_ptr() as usize);
            for m in &mut out[before..] {
                m.start += offset;
                m.end += offset;
            }
        }
    }

    /// A URL as it is, or a path (`/a?b`) on the event's host as `http://host/a?b`.
    fn url(&self, ev: &Event, v: &str, at: Timestamp, scratch: &mut IntelScratch) {
        if v.contains("://") {
            self.intel
                .lookup(Some(Kind::Url), v, at, &mut scratch.found);
            return;
        }
        if !v.starts_with('/') {
            return;
        }
        let host = self.url_hosts.iter().find_map(|&id| match ev.get(id) {
            Some(Value::Str(h)) if !h.trim().is_empty() && h.trim() != "-" => Some(h.trim()),
            _ => None,
        });
        let Some(host) = host else { return };
        scratch.url.clear();
        scratch.url.push_str("http://");
        scratch.url.push_str(host);
        scratch.url.push_str(v);
        let before = scratch.found.len();
        self.intel
            .lookup(Some(Kind::Url), &scratch.url, at, &mut scratch.found);
        // The host is matched in its own field; here only the URL counts, over the
        // whole value (the built URL is not the field's value).
        let mut i = before;
        while i < scratch.found.len() {
            if scratch.found[i].kind == Kind::Url {
                scratch.found[i].start = usize::MAX;
                scratch.found[i].end = usize::MAX;
                i += 1;
            } else {
                scratch.found.swap_remove(i);
            }
        }
    }

    fn row(
        &self,
        ev: &Event,
        at: Timestamp,
        id: IndicatorId,
        field: FieldId,
        value: &str,
        matched: &str,
    ) -> Option<DetectionRow> {
        let view = self.intel.get(id)?;
        let summary = HitSummary::of(&view, at)?;
        let field = self
            .table
            .name(field)
            .map_or_else(String::new, |n| n.to_string());
        let title = indicator_title(view.kind, view.value, &summary);
        let level = indicator_level(summary.confidence);
        let mut entities = self.entity_fields.extract(ev);
        entities.indicators.push(view.value.to_owned());
        entities.normalize();
        let raw = ev.raw();
        let raw = &raw[..raw.len().min(MAX_EVENT_TEXT)];
        Some(DetectionRow {
            time: (ev.time.0 != 0).then(|| format_rfc3339(ev.time)),
            rule_id: Some(view.value.to_owned()),
            rule_title: title,
            level,
            tags: summary.tags,
            host: self.entity_fields.host(ev),
            source: ev.source.name.to_string(),
            record: ev.source.record,
            matched: vec![(field.clone(), value.to_owned())],
            event: String::from_utf8_lossy(raw).into_owned(),
            entities,
            indicator: Some(IndicatorHit {
                kind: view.kind,
                value: view.value.to_owned(),
                field,
                matched: matched.to_owned(),
                sources: summary.sources,
                confidence: summary.confidence,
                tlp: summary.tlp,
            }),
            time_ns: ev.time.0,
        })
    }
}

/// What the attributions of an indicator valid at some time say about a hit on it: the
/// part of [`IndicatorHit`] and of its row that comes from the indicator's sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitSummary {
    /// The sources whose attribution is valid, in the order they first reported it.
    pub sources: Vec<String>,
    /// The highest confidence among them (0 to 100).
    pub confidence: u8,
    /// The most restrictive TLP among them.
    pub tlp: Tlp,
    /// Their ATT&CK ids (as `attack.t…` tags) and their tags, each once.
    pub tags: Vec<String>,
}

impl Default for HitSummary {
    fn default() -> Self {
        HitSummary {
            sources: Vec::new(),
            confidence: 0,
            tlp: Tlp::Clear,
            tags: Vec::new(),
        }
    }
}

impl HitSummary {
    /// The summary of `view`'s attributions valid at `at`; `None` when none is (the
    /// indicator does not match then).
    pub fn of(view: &IndicatorView<'_>, at: Timestamp) -> Option<HitSummary> {
        let mut s = HitSummary::default();
        let mut any = false;
        for a in view.attributions().filter(|a| a.is_valid_at(at)) {
            any = true;
            if !s.sources.iter().any(|x| x == a.source) {
                s.sources.push(a.source.to_owned());
            }
            s.confidence = s.confidence.max(a.confidence);
            s.tlp = s.tlp.max(a.tlp);
            for t in a.attack {
                push_unique(&mut s.tags, format!("attack.{}", t.to_ascii_lowercase()));
            }
            for t in a.tags {
                push_unique(&mut s.tags, t.to_string());
            }
        }
        any.then_some(s)
    }
}

/// The title of an indicator hit's detection: `Indicator match: domain evil.example
/// (source feed, TLP:AMBER)`.
pub fn indicator_title(kind: Kind, value: &str, summary: &HitSummary) -> String {
    format!(
        "Indicator match: {kind} {value} ({} {}, {})",
        if summary.sources.len() == 1 {
            "source"
        } else {
            "sources"
        },
        summary.sources.join(", "),
        summary.tlp,
    )
}

/// The level of an indicator hit's detection, from its sources' highest confidence.
pub fn indicator_level(confidence: u8) -> &'static str {
    match confidence {
        80.. => "high",
        50.. => "medium",
        _ => "low",
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !item.is_empty() && !list.contains(&item) {
        list.push(item);
    }
}

/// `203.0.113.5:443` → `203.0.113.5`; anything else as it is.
fn strip_port(v: &str) -> &str {
    match v.rsplit_once(':') {
        Some((addr, port))
            if !addr.contains(':')
                && addr.contains('.')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            addr
        }
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchfloor_intel::{Attribution, NewIndicator};

    const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

    fn intel(items: &[(Kind, &str)]) -> Arc<Intel> {
        let mut intel = Intel::default();
        for &(kind, value) in items {
            let mut a = Attribution::from_source("feed");
            a.confidence = 85;
            a.attack = vec!["T1071.001".into()];
            a.tags = vec!["c2".into()];
            intel
                .add(
                    NewIndicator {
                        kind,
                        value: value.into(),
                        attribution: a,
                    },
                    NOW,
                )
                .unwrap();
        }
        Arc::new(intel)
    }

    fn event(table: &FieldTable, fields: &[(&str, &str)]) -> Event {
        let mut ev = Event::new();
        ev.time = NOW;
        for (name, value) in fields {
            let id = table.intern(name);
            ev.push_str(id, id, value);
        }
        ev
    }

    fn rows(m: &IntelMatcher, ev: &Event) -> Vec<DetectionRow> {
        let mut out = Vec::new();
        m.detect(ev, NOW, &mut IntelScratch::default(), &mut out);
        out.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn ports_are_stripped_from_ipv4_only() {
        assert_eq!(strip_port("10.0.2.16:52202"), "10.0.2.16");
        assert_eq!(strip_port("10.0.2.16"), "10.0.2.16");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(strip_port("10.0.2.16:"), "10.0.2.16:");
    }

    #[test]
    fn fields_by_kind_and_one_row_per_indicator() {
        let table = FieldTable::new();
        let m = IntelMatcher::new(
            intel(&[
                (Kind::Domain, "evil.example"),
                (Kind::Ipv4, "203.0.113.7"),
                (Kind::Url, "http://evil.example/stage2.ps1"),
                (Kind::Md5, "116d463d2f6ad5b6ec5d2b1fbd5e2a39"),
            ]),
            table.clone(),
        );
        let ev = event(
            &table,
            &[
                ("Computer", "WS01"),
                ("ClientIP", "203.0.113.7:52202"),
                ("QueryName", "cdn.evil.example"),
                ("cs-host", "evil.example"),
                ("c-uri", "/stage2.ps1"),
                (
                    "Hashes",
                    "IMPHASH=116D463D2F6AD5B6EC5D2B1FBD5E2A39,MD5=116D463D2F6AD5B6EC5D2B1FBD5E2A39",
                ),
                ("Image", "203.0.113.7"),
            ],
        );
        let rows = rows(&m, &ev);
        let got: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| {
                let hit = r.indicator.as_ref().unwrap();
                (hit.value.as_str(), hit.field.as_str(), hit.matched.as_str())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("203.0.113.7", "ClientIP", "203.0.113.7"),
                ("evil.example", "QueryName", "cdn.evil.example"),
                ("http://evil.example/stage2.ps1", "c-uri", "/stage2.ps1"),
                (
                    "116d463d2f6ad5b6ec5d2b1fbd5e2a39",
                    "Hashes",
                    "116D463D2F6AD5B6EC5D2B1FBD5E2A39"
                ),
            ]
        );
        let r = &rows[1];
        assert_eq!(
            r.rule_title,
            "Indicator match: domain evil.example (source feed, TLP:AMBER)"
        );
        assert_eq!(r.rule_id.as_deref(), Some("evil.example"));
        assert_eq!(r.level, "high");
        assert_eq!(r.tags, vec!["attack.t1071.001", "c2"]);
        assert_eq!(r.host.as_deref(), Some("WS01"));
        assert!(r.entities.indicators.contains(&"evil.example".to_string()));
        let id = m.intel().find(Kind::Domain, "evil.example").unwrap();
        assert_eq!(m.intel().get(id).unwrap().sightings, 1);
    }

    #[test]
    fn the_import_hash_alone_does_not_match() {
        let table = FieldTable::new();
        let m = IntelMatcher::new(
            intel(&[(Kind::Md5, "116d463d2f6ad5b6ec5d2b1fbd5e2a39")]),
            table.clone(),
        );
        let ev = event(
            &table,
            &[("Hashes", "IMPHASH=116D463D2F6AD5B6EC5D2B1FBD5E2A39")],
        );
        assert!(rows(&m, &ev).is_empty());
    }

    #[test]
    fn numbers_and_unlisted_fields_are_not_looked_at() {
        let table = FieldTable::new();
        let m = IntelMatcher::new(intel(&[(Kind::Domain, "evil.example")]), table.clone());
        let mut ev = event(&table, &[("Description", "see evil.example")]);
        let id = table.intern("query");
        ev.push(id, id, Value::Int(7));
        assert!(rows(&m, &ev).is_empty());
    }
}
