//! Zeek TSV logs (the ASCII writer's default format): [`ZeekTsvDecoder`].
//!
//! Owns the `#`-header state machine of a Zeek log stream (`#separator`, `#set_separator`,
//! `#empty_field`, `#unset_field`, `#path`, `#fields`, `#types`; `#open`, `#close` and other
//! `#` lines are skipped) and the decoding of its data rows. Headers may appear again
//! mid-stream, as when logs are concatenated; a `#separator` line starts a fresh block.
//!
//! **Fields.** Every column becomes a field under its Zeek name (`ts`, `id.orig_h`,
//! `query`, `certificate.serial`, …), which is what the SigmaHQ zeek rules use. Unset
//! columns (`-`) are omitted; `(empty)` is the empty string for a scalar column and no
//! entry at all for a container. Values are typed per `#types`: `count`, `int`, `port`
//! as [`Value::Int`]; `double`, `interval`, `time` as [`Value::Float`]; `bool` (`T`/`F`)
//! as [`Value::Bool`]; everything else (`string`, `addr`, `subnet`, `enum`, …) as a string
//! with Zeek's escapes (`\\`, `\xNN`) decoded; decoded bytes that are not UTF-8 stay
//! written as `\xNN`. A value that does not parse as its type (a masked
//! `XXXXXXXXXX.XXXXXX` time, a `count` beyond `i64`) is kept as its string, never an
//! error. `set[..]`, `vector[..]` and `table[..]` columns give one entry per element under
//! the same field id. Event time comes from the `ts` column (or the first `time` column
//! when there is no `ts`) and is left unset when it does not parse.
//!
//! In `http` logs a few columns are also reachable by the proxy-taxonomy names some Sigma
//! zeek rules use: `c-uri` (`uri`), `c-useragent` (`user_agent`), `cs-method` (`method`),
//! `cs-host` (`host`), `cs-referrer` (`referrer`), `sc-status` (`status_code`). Those
//! entries carry the alias as their name and the Zeek column as their path.
//!
//! **Logsource.** `product: zeek`, `service:` the `#path` value (`conn`, `dns`, `http`,
//! `dce_rpc`, `smb_files`, `x509`, …), or the path hint given at construction for
//! streams without `#path`. Known Zeek log names are static strings; only unknown ones
//! are owned (and copied into each event). `service_name` and `alias` are
//! crate-visible so that other Zeek decoders (JSON) can name things the same way.
//!
//! **Errors.** A data row before any `#fields` header, a row whose column count differs
//! from `#fields`, a `#types` header whose length differs from `#fields`, and an empty
//! separator are [`DecodeErrorKind::Syntax`] with format `zeek`. Nothing panics.

use std::borrow::Cow;

use memchr::{memchr, memmem};
use watchfloor_event::{Event, FieldId, LogSource, Value};

use crate::web_proxy::{CATEGORY, ProxyNames, Sensor};

use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "zeek";

/// Decodes Zeek TSV log lines, one stream at a time (the decoder keeps header state).
#[derive(Debug, Clone)]
pub struct ZeekTsvDecoder {
    /// Service to use while no `#path` has been seen in the current block.
    hint: Option<Cow<'static, str>>,
    logsource: LogSource,
    markers: Markers,
    /// `#fields` of the current block, as written.
    field_names: Vec<String>,
    /// `#types` of the current block, as written.
    type_names: Vec<String>,
    /// Per-column ids and types, rebuilt whenever a header that shapes them changes.
    columns: Vec<Column>,
    scratch: Unescaper,
    /// The `proxy` names of `http` rows, resolved with the columns.
    proxy: Option<ProxyNames>,
}

/// The separators and placeholders a block declares.
#[derive(Debug, Clone)]
struct Markers {
    separator: String,
    set_separator: String,
    empty_field: String,
    unset_field: String,
}

impl Default for Markers {
    fn default() -> Self {
        Markers {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty_field: "(empty)".into(),
            unset_field: "-".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Float,
    Bool,
    Time,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    name: FieldId,
    path: FieldId,
    kind: Kind,
    container: bool,
    /// This column's value becomes the event time.
    event_time: bool,
}

impl ZeekTsvDecoder {
    /// A decoder for one stream. `path_hint` is the log name guessed from the file name
    /// (`dns` for `dns.log.gz`); it is the service until a `#path` header says otherwise.
    /// Anything from its first `.` on is dropped, so rotated names such as
    /// `conn.00:00:00-01:00:00` give `conn`.
    pub fn new(path_hint: Option<&str>) -> Self {
        let hint = path_hint
            .map(|h| h.split('.').next().unwrap_or(h).trim())
            .filter(|h| !h.is_empty())
            .map(service_name);
        let mut decoder = ZeekTsvDecoder {
            hint,
            logsource: LogSource::default(),
            markers: Markers::default(),
            field_names: Vec::new(),
            type_names: Vec::new(),
            columns: Vec::new(),
            scratch: Unescaper::default(),
            proxy: None,
        };
        decoder.reset();
        decoder
    }

    /// The service events currently get (`#path`, else the hint).
    pub fn service(&self) -> Option<&str> {
        self.logsource.service()
    }

    /// Back to the defaults of a new header block.
    fn reset(&mut self) {
        self.markers = Markers::default();
        self.field_names.clear();
        self.type_names.clear();
        self.columns.clear();
        self.set_service(self.hint.clone());
    }

    fn set_service(&mut self, service: Option<Cow<'static, str>>) {
        // HTTP requests seen on the wire meet Sigma's `proxy` rules.
        let category = (service.as_deref() == Some("http")).then_some(Cow::Borrowed(CATEGORY));
        self.logsource = LogSource {
            product: Some(Cow::Borrowed(FORMAT)),
            category,
            service,
        };
    }

    fn header(&mut self, ctx: &mut DecodeContext, body: &str) -> Result<bool, DecodeErrorKind> {
        // The key ends at the separator or, for `#separator` itself (written before the
        // separator is known) and for rewritten headers, at a space.
        let sep = &self.markers.separator;
        let sep_at = find(body, sep).map(|i| (i, sep.len()));
        let space_at = memchr(b' ', body.as_bytes()).map(|i| (i, 1));
        let (key, value) = match (sep_at, space_at) {
            (Some(a), Some(b)) => split_at(body, a.min(b)),
            (Some(a), None) | (None, Some(a)) => split_at(body, a),
            (None, None) => (body, ""),
        };
        match key {
            "separator" => {
                let sep = self.scratch.unescape(value);
                if sep.is_empty() {
                    return Err(syntax("#separator header declares an empty separator"));
                }
                let sep = sep.to_owned();
                self.reset();
                self.markers.separator = sep;
            }
            "set_separator" => {
                let sep = self.scratch.unescape(value);
                if sep.is_empty() {
                    return Err(syntax("#set_separator header declares an empty separator"));
                }
                self.markers.set_separator = sep.to_owned();
            }
            "empty_field" => self.markers.empty_field = self.scratch.unescape(value).to_owned(),
            "unset_field" => self.markers.unset_field = self.scratch.unescape(value).to_owned(),
            "path" => {
                let path = self.scratch.unescape(value).trim();
                let service = (!path.is_empty()).then(|| service_name(path));
                self.set_service(service.or_else(|| self.hint.clone()));
                // Aliases depend on the service.
                self.rebuild(ctx);
            }
            "fields" => {
                if value.is_empty() {
                    self.field_names.clear();
                    self.columns.clear();
                    return Err(syntax("#fields header declares no columns"));
                }
                self.field_names.clear();
                self.field_names
                    .extend(Split::new(value, &self.markers.separator).map(str::to_owned));
                // `#types` follows `#fields`; types of another width belong to an earlier
                // block.
                if self.type_names.len() != self.field_names.len() {
                    self.type_names.clear();
                }
                self.rebuild(ctx);
            }
            "types" => {
                self.type_names.clear();
                if !value.is_empty() {
                    self.type_names
                        .extend(Split::new(value, &self.markers.separator).map(str::to_owned));
                }
                self.rebuild(ctx);
                if !self.field_names.is_empty() && self.type_names.len() != self.field_names.len() {
                    return Err(syntax(format!(
                        "#types header declares {} columns but #fields declares {}; columns read as strings",
                        self.type_names.len(),
                        self.field_names.len()
                    )));
                }
            }
            _ => {}
        }
        Ok(false)
    }

    /// Resolves the ids and types of the current `#fields`/`#types`. When the two differ
    /// in length every column is read as a string (the `ts` column as a time).
    fn rebuild(&mut self, ctx: &mut DecodeContext) {
        self.columns.clear();
        if self.logsource.category() == Some(CATEGORY) && self.proxy.is_none() {
            self.proxy = Some(ProxyNames::new(ctx));
        }
        if self.field_names.is_empty() {
            return;
        }
        let typed = self.type_names.len() == self.field_names.len();
        let is_time = |i: usize| {
            typed
                && self
                    .type_names
                    .get(i)
                    .is_some_and(|t| parse_type(t) == (Kind::Time, false))
        };
        let time_col = match self.field_names.iter().position(|n| n == "ts") {
            Some(i) if !typed || is_time(i) => Some(i),
            _ => (0..self.field_names.len()).find(|&i| is_time(i)),
        };
        let service = self.logsource.service().unwrap_or("");
        for (i, field) in self.field_names.iter().enumerate() {
            let (kind, container) = if let Some(t) = self.type_names.get(i).filter(|_| typed) {
                parse_type(t)
            } else if time_col == Some(i) {
                (Kind::Time, false)
            } else {
                (Kind::Str, false)
            };
            let path = ctx.id(field);
            let name = alias(service, field).map_or(path, |a| ctx.id(a));
            self.columns.push(Column {
                name,
                path,
                kind,
                container,
                event_time: time_col == Some(i),
            });
        }
    }

    fn row(&mut self, line: &str, ev: &mut Event) -> Result<bool, DecodeErrorKind> {
        if self.columns.is_empty() {
            return Err(syntax("data line before any #fields header"));
        }
        let Self {
            columns,
            markers,
            scratch,
            ..
        } = self;
        let expected = columns.len();
        let mut seen = 0usize;
        let mut split = Split::new(line, &markers.separator);
        for raw in split.by_ref() {
            let Some(&col) = columns.get(seen) else {
                seen += 1;
                break;
            };
            seen += 1;
            push_column(scratch, markers, col, raw, ev);
        }
        if seen != expected {
            let found = seen + split.count();
            ev.clear();
            return Err(syntax(format!(
                "row has {found} columns but #fields declares {expected}"
            )));
        }
        ev.logsource = self.logsource.clone();
        if ev.logsource.category() == Some(CATEGORY)
            && let Some(proxy) = &self.proxy
        {
            proxy.apply(Sensor::Zeek, ev);
        }
        Ok(true)
    }
}

impl Default for ZeekTsvDecoder {
    fn default() -> Self {
        Self::new(None)
    }
}

impl LineDecoder for ZeekTsvDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            return Ok(false);
        }
        // Zeek escapes a leading `#` of a data row, so `#` always starts a header.
        if let Some(body) = line.strip_prefix('#') {
            return self.header(ctx, body);
        }
        self.row(line, ev)
    }
}

/// Adds the entries of one column's cell: none when unset, one per element for a
/// container.
fn push_column(scratch: &mut Unescaper, m: &Markers, col: Column, raw: &str, ev: &mut Event) {
    if raw == m.unset_field {
        return;
    }
    if !col.container {
        if raw == m.empty_field {
            ev.push_str(col.name, col.path, "");
        } else {
            push_scalar(scratch, col, raw, ev);
        }
        return;
    }
    if raw == m.empty_field {
        return;
    }
    for elem in Split::new(raw, &m.set_separator) {
        if elem == m.unset_field {
            continue;
        }
        if elem == m.empty_field {
            ev.push_str(col.name, col.path, "");
        } else {
            push_scalar(scratch, col, elem, ev);
        }
    }
}

fn push_scalar(scratch: &mut Unescaper, col: Column, raw: &str, ev: &mut Event) {
    let value = match col.kind {
        Kind::Int => raw.parse::<i64>().ok().map(Value::Int),
        Kind::Float => raw.parse::<f64>().ok().map(Value::Float),
        Kind::Bool => match raw {
            "T" => Some(Value::Bool(true)),
            "F" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Time => {
            if col.event_time
                && !col.container
                && let Some(ts) = crate::time::parse_epoch(raw)
            {
                ev.time = ts;
            }
            raw.parse::<f64>().ok().map(Value::Float)
        }
        Kind::Str => None,
    };
    match value {
        Some(v) => ev.push(col.name, col.path, v),
        None => ev.push_str(col.name, col.path, scratch.unescape(raw)),
    }
}

/// `(kind, is_container)` of a Zeek type name.
fn parse_type(t: &str) -> (Kind, bool) {
    let t = t.trim();
    let (inner, container) = ["set[", "vector[", "table["]
        .iter()
        .find_map(|p| t.strip_prefix(p))
        .map_or((t, false), |rest| {
            (rest.strip_suffix(']').unwrap_or(rest), true)
        });
    let kind = match inner {
        "count" | "int" | "port" => Kind::Int,
        "double" | "interval" => Kind::Float,
        "bool" => Kind::Bool,
        "time" => Kind::Time,
        _ => Kind::Str,
    };
    (kind, container)
}

/// Sigma names some zeek rules use for a column, besides its Zeek name.
pub(crate) fn alias(service: &str, field: &str) -> Option<&'static str> {
    match (service, field) {
        ("http", "uri") => Some("c-uri"),
        ("http", "user_agent") => Some("c-useragent"),
        ("http", "method") => Some("cs-method"),
        ("http", "host") => Some("cs-host"),
        ("http", "referrer") => Some("cs-referrer"),
        ("http", "status_code") => Some("sc-status"),
        _ => None,
    }
}

/// The service for a Zeek log path: a static string for the logs Zeek and its common
/// packages write, an owned one otherwise.
pub(crate) fn service_name(path: &str) -> Cow<'static, str> {
    macro_rules! known {
        ($($name:literal),* $(,)?) => {
            match path {
                $($name => Cow::Borrowed($name),)*
                _ => Cow::Owned(path.to_owned()),
            }
        };
    }
    known!(
        "analyzer",
        "broker",
        "capture_loss",
        "cluster",
        "config",
        "conn",
        "conn_long",
        "dce_rpc",
        "dhcp",
        "dnp3",
        "dns",
        "dpd",
        "files",
        "ftp",
        "http",
        "intel",
        "irc",
        "kerberos",
        "known_certs",
        "known_hosts",
        "known_modbus",
        "known_services",
        "ldap",
        "ldap_search",
        "loaded_scripts",
        "modbus",
        "modbus_register_change",
        "mqtt_connect",
        "mqtt_publish",
        "mqtt_subscribe",
        "mysql",
        "netcontrol",
        "notice",
        "notice_alarm",
        "ntlm",
        "ntp",
        "ocsp",
        "openflow",
        "packet_filter",
        "pe",
        "quic",
        "radius",
        "rdp",
        "reporter",
        "rfb",
        "signatures",
        "sip",
        "smb_cmd",
        "smb_files",
        "smb_mapping",
        "smtp",
        "snmp",
        "socks",
        "software",
        "ssh",
        "ssl",
        "stats",
        "syslog",
        "telemetry",
        "traceroute",
        "tunnel",
        "unified2",
        "weird",
        "weird_stats",
        "websocket",
        "x509",
    )
}

fn syntax(reason: impl Into<String>) -> DecodeErrorKind {
    DecodeErrorKind::syntax(FORMAT, reason)
}

/// `s` split around the delimiter at `(at, len)`.
fn split_at(s: &str, (at, len): (usize, usize)) -> (&str, &str) {
    match (s.get(..at), s.get(at + len..)) {
        (Some(a), Some(b)) => (a, b),
        _ => (s, ""),
    }
}

/// The first occurrence of `needle` in `hay`.
#[inline]
fn find(hay: &str, needle: &str) -> Option<usize> {
    match needle.as_bytes() {
        [] => None,
        [b] => memchr(*b, hay.as_bytes()),
        n => memmem::find(hay.as_bytes(), n),
    }
}

/// `str::split` on a separator string, with memchr. Yields at least one item.
struct Split<'a> {
    rest: Option<&'a str>,
    sep: &'a str,
}

impl<'a> Split<'a> {
    fn new(s: &'a str, sep: &'a str) -> Self {
        Split { rest: Some(s), sep }
    }
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        // A valid UTF-8 needle only matches at character boundaries of valid UTF-8, so the
        // `get`s below always succeed; they are `get`s so that nothing here can panic.
        match find(rest, self.sep).map(|at| split_at(rest, (at, self.sep.len()))) {
            Some((item, tail)) => {
                self.rest = Some(tail);
                Some(item)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Reusable buffers for undoing Zeek's string escapes.
#[derive(Debug, Clone, Default)]
struct Unescaper {
    bytes: Vec<u8>,
    text: String,
}

impl Unescaper {
    /// `raw` with `\\` and `\xNN` decoded. Other backslashes are kept as written. Decoded
    /// bytes that do not form UTF-8 are written back as `\xNN`.
    fn unescape<'a>(&'a mut self, raw: &'a str) -> &'a str {
        let src = raw.as_bytes();
        let Some(first) = memchr(b'\\', src) else {
            return raw;
        };
        self.bytes.clear();
        self.bytes.extend_from_slice(&src[..first]);
        let mut i = first;
        while i < src.len() {
            let Some(off) = memchr(b'\\', &src[i..]) else {
                self.bytes.extend_from_slice(&src[i..]);
                break;
            };
            self.bytes.extend_from_slice(&src[i..i + off]);
            i += off;
            match src.get(i + 1..i + 4) {
                Some([b'x', h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    self.bytes.push((hex(*h) << 4) | hex(*l));
                    i += 4;
                }
                _ if src.get(i + 1) == Some(&b'\\') => {
                    self.bytes.push(b'\\');
                    i += 2;
                }
                _ => {
                    self.bytes.push(b'\\');
                    i += 1;
                }
            }
        }
        if std::str::from_utf8(&self.bytes).is_ok() {
            // Checked just above; this second call cannot fail.
            return std::str::from_utf8(&self.bytes).unwrap_or_default();
        }
        self.text.clear();
        for chunk in self.bytes.utf8_chunks() {
            self.text.push_str(chunk.valid());
            for &b in chunk.invalid() {
                self.text.push_str("\\x");
                self.text.push(HEX[usize::from(b >> 4)] as char);
                self.text.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
        &self.text
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        all, ctx, decode_each, decode_reusing, get, run, syntax_reason, syntax_reasons,
    };
    use proptest::prelude::*;
    use watchfloor_event::Timestamp;

    const DNS: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#open\t2024-04-12-19-29-12
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\trtt\tquery\tqtype_name\tAA\tZ\tanswers\tTTLs\trejected
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tinterval\tstring\tstring\tbool\tcount\tvector[string]\tvector[interval]\tbool
1521911720.865716\tCqKst53mF3det3eDV9\t10.47.1.100\t41772\t10.0.0.100\t53\tudp\t0.000870\tise.wrccdc.org\tA\tF\t0\tise.wrccdc.cpp.edu,134.71.3.16\t2230.000000,41830.000000\tF
1521912990.151237\tCmc5423NLYRkHDxYDi\t172.31.255.5\t60878\t10.0.0.1\t53\tudp\t-\ttalk.google.com\tA\tT\t1\t-\t(empty)\tT
#close\t2024-04-12-19-34-07";

    #[test]
    fn dns_rows_are_typed() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        let (evs, errs) = run(&mut dec, &mut ctx, DNS);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs.len(), 2);
        let ev = &evs[0];
        assert_eq!(ev.time, Timestamp(1_521_911_720_865_716_000));
        assert_eq!(
            get(&mut ctx, ev, "ts"),
            Some(Value::Float(1521911720.865716))
        );
        assert_eq!(
            get(&mut ctx, ev, "uid"),
            Some(Value::Str("CqKst53mF3det3eDV9"))
        );
        assert_eq!(
            get(&mut ctx, ev, "id.orig_h"),
            Some(Value::Str("10.47.1.100"))
        );
        assert_eq!(get(&mut ctx, ev, "id.orig_p"), Some(Value::Int(41772)));
        assert_eq!(get(&mut ctx, ev, "id.resp_p"), Some(Value::Int(53)));
        assert_eq!(get(&mut ctx, ev, "proto"), Some(Value::Str("udp")));
        assert_eq!(get(&mut ctx, ev, "rtt"), Some(Value::Float(0.00087)));
        assert_eq!(
            get(&mut ctx, ev, "query"),
            Some(Value::Str("ise.wrccdc.org"))
        );
        assert_eq!(get(&mut ctx, ev, "qtype_name"), Some(Value::Str("A")));
        assert_eq!(get(&mut ctx, ev, "AA"), Some(Value::Bool(false)));
        assert_eq!(get(&mut ctx, ev, "Z"), Some(Value::Int(0)));
        assert_eq!(
            all(&mut ctx, ev, "answers"),
            vec![Value::Str("ise.wrccdc.cpp.edu"), Value::Str("134.71.3.16")]
        );
        assert_eq!(
            all(&mut ctx, ev, "TTLs"),
            vec![Value::Float(2230.0), Value::Float(41830.0)]
        );
        assert_eq!(ev.field_count(), 17);
        assert_eq!(ev.logsource.to_string(), "zeek/-/dns");
        assert!(matches!(ev.logsource.product, Some(Cow::Borrowed("zeek"))));
        assert!(matches!(ev.logsource.service, Some(Cow::Borrowed("dns"))));

        let ev = &evs[1];
        assert_eq!(get(&mut ctx, ev, "rtt"), None, "unset column omitted");
        assert!(all(&mut ctx, ev, "answers").is_empty());
        assert!(
            all(&mut ctx, ev, "TTLs").is_empty(),
            "(empty) vector has no entries"
        );
        assert_eq!(get(&mut ctx, ev, "rejected"), Some(Value::Bool(true)));
        assert_eq!(ev.field_count(), 12);
    }

    #[test]
    fn headers_comments_and_blank_lines_carry_no_event() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        let mut ev = Event::new();
        for line in DNS.lines().filter(|l| l.starts_with('#')).chain([
            "",
            "\r",
            "### BTest baseline data generated by btest-diff. Do not edit.",
            "#open XXXX-XX-XX-XX-XX-XX",
            "#",
            "#whatever\tx",
        ]) {
            assert_eq!(
                dec.decode_line(&mut ctx, line, &mut ev),
                Ok(false),
                "{line:?}"
            );
        }
        assert_eq!(ev.field_count(), 0);
    }

    #[test]
    fn masked_timestamps_are_kept_as_strings() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        let text = "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tduration\n#types\ttime\tstring\tinterval\nXXXXXXXXXX.XXXXXX\tCHhAvVGS1DHFjwGM9\t0.5";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs[0].time, Timestamp::default());
        assert_eq!(
            get(&mut ctx, &evs[0], "ts"),
            Some(Value::Str("XXXXXXXXXX.XXXXXX"))
        );
        assert_eq!(get(&mut ctx, &evs[0], "duration"), Some(Value::Float(0.5)));
    }

    #[test]
    fn escapes_are_decoded() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("smb_files"));
        let text = "#fields\tts\tpath\tname\ttags\tdata\n\
                    #types\ttime\tstring\tstring\tset[string]\tstring\n\
                    1.0\t\\\\\\\\*\\\\IPC$\ta\\x09b\\x00\tx\\x2cy,(empty),\\x2d,-\tcaf\\xc3\\xa9 \\xff \\q \\x4 \\";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let ev = &evs[0];
        assert_eq!(get(&mut ctx, ev, "path"), Some(Value::Str(r"\\*\IPC$")));
        assert_eq!(get(&mut ctx, ev, "name"), Some(Value::Str("a\tb\0")));
        assert_eq!(
            all(&mut ctx, ev, "tags"),
            vec![Value::Str("x,y"), Value::Str(""), Value::Str("-")]
        );
        assert_eq!(
            get(&mut ctx, ev, "data"),
            Some(Value::Str(r"café \xff \q \x4 \"))
        );
        assert_eq!(ev.time, Timestamp(1_000_000_000));
        assert_eq!(ev.logsource.service(), Some("smb_files"));
    }

    #[test]
    fn empty_and_unset_scalars() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("x"));
        let text = "#fields\ta\tb\tc\n#types\tstring\tcount\tstring\n(empty)\t-\t\\x2d";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(get(&mut ctx, &evs[0], "a"), Some(Value::Str("")));
        assert_eq!(get(&mut ctx, &evs[0], "b"), None);
        assert_eq!(get(&mut ctx, &evs[0], "c"), Some(Value::Str("-")));
    }

    #[test]
    fn unparseable_typed_values_fall_back_to_strings() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("x"));
        let text = "#fields\tc\tb\td\tp\n#types\tcount\tbool\tdouble\tport\n\
                    18446744073709551615\tmaybe\tn/a\t-1";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let ev = &evs[0];
        assert_eq!(
            get(&mut ctx, ev, "c"),
            Some(Value::Str("18446744073709551615"))
        );
        assert_eq!(get(&mut ctx, ev, "b"), Some(Value::Str("maybe")));
        assert_eq!(get(&mut ctx, ev, "d"), Some(Value::Str("n/a")));
        assert_eq!(get(&mut ctx, ev, "p"), Some(Value::Int(-1)));
        assert_eq!(ev.time, Timestamp::default(), "no time column");
    }

    #[test]
    fn rows_without_header_or_with_wrong_width_are_errors() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("dns"));
        let text = "1.0\tx\n#fields\tts\tquery\n#types\ttime\tstring\n1.0\tx\ty\n2.0\n3.0\tok";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert_eq!(evs.len(), 1);
        assert_eq!(get(&mut ctx, &evs[0], "query"), Some(Value::Str("ok")));
        let reasons = syntax_reasons(&errs, "zeek");
        assert_eq!(
            reasons,
            vec![
                (1, "data line before any #fields header"),
                (4, "row has 3 columns but #fields declares 2"),
                (5, "row has 1 columns but #fields declares 2"),
            ]
        );
    }

    #[test]
    fn mismatched_types_header_is_reported_and_columns_read_as_strings() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("dns"));
        let text = "#fields\tts\tn\n#types\ttime\n5.0\t7";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert_eq!(errs.len(), 1);
        assert_eq!(
            syntax_reason(&errs[0].1, "zeek"),
            "#types header declares 1 columns but #fields declares 2; columns read as strings"
        );
        assert_eq!(get(&mut ctx, &evs[0], "n"), Some(Value::Str("7")));
        // `ts` is still the event time.
        assert_eq!(evs[0].time, Timestamp(5_000_000_000));
    }

    #[test]
    fn concatenated_logs_switch_header_state() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("conn"));
        let text = format!(
            "{DNS}\n#separator \\x7c\n#set_separator|;\n#path|dce_rpc\n#fields|ts|endpoint|operation|ids\n\
             #types|time|string|string|set[count]\n7.25|svcctl|CreateServiceW|1;2\n\
             #separator \\x09\n#fields\tts\tuid\n#types\ttime\tstring\n8\tC1"
        );
        let (evs, errs) = run(&mut dec, &mut ctx, &text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs.len(), 4);
        let ev = &evs[2];
        assert_eq!(ev.logsource.service(), Some("dce_rpc"));
        assert_eq!(get(&mut ctx, ev, "endpoint"), Some(Value::Str("svcctl")));
        assert_eq!(
            get(&mut ctx, ev, "operation"),
            Some(Value::Str("CreateServiceW"))
        );
        assert_eq!(all(&mut ctx, ev, "ids"), vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(ev.time, Timestamp(7_250_000_000));
        // A block without `#path` falls back to the hint.
        let ev = &evs[3];
        assert_eq!(ev.logsource.service(), Some("conn"));
        assert_eq!(get(&mut ctx, ev, "uid"), Some(Value::Str("C1")));
        assert_eq!(get(&mut ctx, ev, "query"), None);
    }

    #[test]
    fn blocks_without_separator_line_and_types_first() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        // A second block that starts at `#fields`: the old `#types` must not be held
        // against it.
        let text = format!(
            "{DNS}\n#path\tweird\n#fields\tts\tname\n#types\ttime\tstring\n9\tbad_TCP_checksum\n\
             #types\ttime\tcount\n#fields\tts\tn\n10\t3"
        );
        let (evs, errs) = run(&mut dec, &mut ctx, &text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs.len(), 4);
        assert_eq!(evs[2].logsource.service(), Some("weird"));
        assert_eq!(
            get(&mut ctx, &evs[2], "name"),
            Some(Value::Str("bad_TCP_checksum"))
        );
        assert_eq!(get(&mut ctx, &evs[3], "n"), Some(Value::Int(3)));
        assert_eq!(evs[3].time, Timestamp(10_000_000_000));
    }

    #[test]
    fn http_columns_get_sigma_aliases() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        let text = "#path\thttp\n#fields\tts\tmethod\thost\turi\tuser_agent\tstatus_code\n\
                    #types\ttime\tstring\tstring\tstring\tstring\tcount\n\
                    1.5\tPUT\tevil.xyz\t/webdav/a.exe\tMicrosoft-WebDAV-MiniRedir/10.0\t201";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let ev = &evs[0];
        for (a, b) in [
            ("uri", "c-uri"),
            ("user_agent", "c-useragent"),
            ("method", "cs-method"),
            ("host", "cs-host"),
            ("status_code", "sc-status"),
        ] {
            assert!(get(&mut ctx, ev, a).is_some(), "{a}");
            assert_eq!(get(&mut ctx, ev, a), get(&mut ctx, ev, b), "{a} / {b}");
        }
        assert_eq!(
            get(&mut ctx, ev, "c-uri"),
            Some(Value::Str("/webdav/a.exe"))
        );
        assert_eq!(get(&mut ctx, ev, "sc-status"), Some(Value::Int(201)));
        // The renames cost no extra entries; `r-dns` and the URI's parts do.
        assert_eq!(ev.field_count(), 9);
        assert_eq!(ev.logsource.to_string(), "zeek/proxy/http");
        assert_eq!(get(&mut ctx, ev, "r-dns"), Some(Value::Str("evil.xyz")));
        assert_eq!(
            get(&mut ctx, ev, "c-uri-stem"),
            Some(Value::Str("/webdav/a.exe"))
        );
        assert_eq!(
            get(&mut ctx, ev, "c-uri-extension"),
            Some(Value::Str("exe"))
        );
        // Not in other logs.
        let mut dec = ZeekTsvDecoder::new(Some("weird"));
        let (evs, _) = run(&mut dec, &mut ctx, "#fields\turi\nx");
        assert_eq!(get(&mut ctx, &evs[0], "c-uri"), None);
    }

    #[test]
    fn services() {
        assert!(matches!(
            service_name("smb_files"),
            Cow::Borrowed("smb_files")
        ));
        assert!(matches!(service_name("x509"), Cow::Borrowed("x509")));
        assert!(matches!(service_name("my_custom"), Cow::Owned(s) if s == "my_custom"));
        assert_eq!(
            ZeekTsvDecoder::new(Some("dns.log.gz")).service(),
            Some("dns")
        );
        assert_eq!(
            ZeekTsvDecoder::new(Some("conn.00:00:00-01:00:00")).service(),
            Some("conn")
        );
        assert_eq!(ZeekTsvDecoder::new(Some("")).service(), None);
        assert_eq!(ZeekTsvDecoder::new(None).service(), None);
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(Some("dns"));
        let mut ev = Event::new();
        assert_eq!(
            dec.decode_line(&mut ctx, "#path\tcustom_log", &mut ev),
            Ok(false)
        );
        assert_eq!(dec.service(), Some("custom_log"));
        assert!(matches!(dec.logsource.service, Some(Cow::Owned(_))));
    }

    #[test]
    fn bad_separators_are_errors() {
        let mut ctx = ctx();
        let mut dec = ZeekTsvDecoder::new(None);
        let mut ev = Event::new();
        let e = dec
            .decode_line(&mut ctx, "#separator ", &mut ev)
            .unwrap_err();
        assert_eq!(
            syntax_reason(&e, "zeek"),
            "#separator header declares an empty separator"
        );
        let e = dec
            .decode_line(&mut ctx, "#set_separator\t", &mut ev)
            .unwrap_err();
        assert_eq!(
            syntax_reason(&e, "zeek"),
            "#set_separator header declares an empty separator"
        );
        let e = dec.decode_line(&mut ctx, "#fields", &mut ev).unwrap_err();
        assert_eq!(
            syntax_reason(&e, "zeek"),
            "#fields header declares no columns"
        );
        // The previous separator still holds.
        let (evs, errs) = run(&mut dec, &mut ctx, "#fields\ta\tb\n1\t2");
        assert!(errs.is_empty());
        assert_eq!(evs[0].field_count(), 2);
    }

    #[test]
    fn decodes_into_a_reused_event() {
        let mut dec = ZeekTsvDecoder::new(None);
        let mut ev = Event::new();
        let n = decode_reusing(&mut dec, &mut ctx(), &mut ev, DNS, |c, ev| {
            assert!(get(c, ev, "query").is_some());
        });
        assert_eq!(n, 2);
    }

    // ---- properties ----

    /// One generated column: its Zeek type and the values a row holds for it.
    #[derive(Debug, Clone)]
    enum Col {
        Str(Option<String>),
        Count(Option<i64>),
        Double(Option<f64>),
        Bool(Option<bool>),
        Strings(Option<Vec<String>>),
    }

    impl Col {
        fn type_name(&self) -> &'static str {
            match self {
                Col::Str(_) => "string",
                Col::Count(_) => "count",
                Col::Double(_) => "double",
                Col::Bool(_) => "bool",
                Col::Strings(_) => "vector[string]",
            }
        }
    }

    /// Zeek's ASCII escaping of a string: `\` doubled, control bytes, the separator and
    /// (inside containers) the set separator as `\xNN`, an exact `-` escaped.
    fn zeek_escape(s: &str, in_set: bool) -> String {
        if s.is_empty() {
            return "(empty)".into();
        }
        if s == "-" {
            return "\\x2d".into();
        }
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || c == '\x7f' || (in_set && c == ',') => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c => out.push(c),
            }
        }
        out
    }

    fn col_strategy() -> impl Strategy<Value = Col> {
        let text = "(?s).{0,12}";
        prop_oneof![
            proptest::option::of(text).prop_map(Col::Str),
            proptest::option::of(0i64..=i64::MAX).prop_map(Col::Count),
            proptest::option::of(-1e12f64..1e12).prop_map(Col::Double),
            proptest::option::of(any::<bool>()).prop_map(Col::Bool),
            proptest::option::of(proptest::collection::vec(text, 1..4)).prop_map(Col::Strings),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(
            lines in proptest::collection::vec(
                prop_oneof![
                    "(?s).{0,60}",
                    "#(separator|set_separator|empty_field|unset_field|path|fields|types)[ \t|][-a-z(),\\\\x0-9\t| ]{0,30}",
                    "[-a-z0-9.,()\t|\\\\]{0,40}",
                ],
                0..30,
            )
        ) {
            decode_each(&mut ZeekTsvDecoder::new(Some("conn")), &mut ctx(), &lines);
        }

        #[test]
        fn well_formed_rows_round_trip(
            ts in 0u32..4_000_000_000,
            micros in 0u32..1_000_000,
            cols in proptest::collection::vec(col_strategy(), 1..8),
        ) {
            let mut ctx = ctx();
            let mut dec = ZeekTsvDecoder::new(Some("dns"));
            let names: Vec<String> = (0..cols.len()).map(|i| format!("f{i}")).collect();
            let mut text = format!(
                "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\t{}\n#types\ttime\t{}\n",
                names.join("\t"),
                cols.iter().map(Col::type_name).collect::<Vec<_>>().join("\t"),
            );
            let mut row = format!("{ts}.{micros:06}");
            for col in &cols {
                row.push('\t');
                let cell = match col {
                    Col::Str(None) | Col::Count(None) | Col::Double(None)
                    | Col::Bool(None) | Col::Strings(None) => "-".to_string(),
                    Col::Str(Some(s)) => zeek_escape(s, false),
                    Col::Count(Some(n)) => n.to_string(),
                    Col::Double(Some(x)) => format!("{x:.6}"),
                    Col::Bool(Some(b)) => if *b { "T".into() } else { "F".into() },
                    Col::Strings(Some(v)) => v
                        .iter()
                        .map(|s| zeek_escape(s, true))
                        .collect::<Vec<_>>()
                        .join(","),
                };
                row.push_str(&cell);
            }
            text.push_str(&row);

            let (evs, errs) = run(&mut dec, &mut ctx, &text);
            prop_assert!(errs.is_empty(), "{:?}", errs);
            prop_assert_eq!(evs.len(), 1);
            let ev = &evs[0];
            let nanos = i64::from(ts) * 1_000_000_000 + i64::from(micros) * 1000;
            prop_assert_eq!(ev.time, Timestamp(nanos));
            prop_assert_eq!(ev.logsource.service(), Some("dns"));
            for (name, col) in names.iter().zip(&cols) {
                let got = all(&mut ctx, ev, name);
                match col {
                    Col::Str(None) | Col::Count(None) | Col::Double(None)
                    | Col::Bool(None) | Col::Strings(None) => prop_assert!(got.is_empty()),
                    Col::Str(Some(s)) => prop_assert_eq!(got, vec![Value::Str(s)]),
                    Col::Count(Some(n)) => prop_assert_eq!(got, vec![Value::Int(*n)]),
                    Col::Double(Some(x)) => {
                        let want: f64 = format!("{x:.6}").parse().unwrap();
                        prop_assert_eq!(got, vec![Value::Float(want)]);
                    }
                    Col::Bool(Some(b)) => prop_assert_eq!(got, vec![Value::Bool(*b)]),
                    // A vector of one empty string is written `(empty)`, like an empty
                    // vector; Zeek's own reader takes it as the latter.
                    Col::Strings(Some(v)) if v.len() == 1 && v[0].is_empty() => {
                        prop_assert!(got.is_empty())
                    }
                    Col::Strings(Some(v)) => {
                        let want: Vec<Value<'_>> = v.iter().map(|s| Value::Str(s)).collect();
                        prop_assert_eq!(got, want);
                    }
                }
            }
        }
    }
}
