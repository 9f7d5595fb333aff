//! ArcSight Common Event Format lines: [`CefDecoder`].
//!
//! ```text
//! [syslog header ]CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension
//! ```
//!
//! The record starts at the first `CEF:`; anything before it is read as a syslog header
//! (RFC 3164 or RFC 5424, see [`crate::syslog`]) when it parses as one and ignored when
//! not. Header fields are split on unescaped `|` and unescaped (`\|` → `|`, `\\` → `\`);
//! a header with six `|` and no trailing one (severity last, no extension) is accepted.
//! The extension is `key=value` pairs separated by spaces, where a value runs up to the
//! space before the next `key=` (so values may hold spaces, and an `=` not preceded by a
//! space-delimited key stays in the value, as in unescaped URLs). Values are unescaped
//! (`\=` → `=`, `\\` → `\`, `\n` → newline, `\r` → carriage return; any other backslash
//! is kept) and trailing spaces are trimmed. Keys are letters, digits, `_`, `.` and `-`.
//!
//! # Fields
//!
//! | field | value |
//! |---|---|
//! | `cef_version` | Version |
//! | `device_vendor`, `device_product`, `device_version` | the header fields |
//! | `signature_id` | Device Event Class ID |
//! | `name` | Name |
//! | `severity` | Severity, as written (`0`…`10` or `Low`/`Medium`/`High`/`Very-High`) |
//! | `hostname` | the syslog header's hostname, also reachable as `host`, when there is one |
//! | *key* | every extension key as-is (`src`, `dst`, `spt`, `dpt`, `suser`, `act`, `request`, `cs1`, `cs1Label`, …), as strings |
//! | `src_ip`, `dst_ip`, `src_port`, `dst_port`, `action` | the Sigma `firewall` names of `src`, `dst`, `spt`, `dpt`, `act`: one field reachable by both names; the ports are integers when they are plain port numbers |
//! | *label* | for a key `K` with a `KLabel` pair (`cs1`…`cs6`, `cn1`…`cn3`, `cfp1`…`cfp4`, `c6a1`…`c6a4`, `flexString1`, `deviceCustomDate1`, …) with a non-empty label, the value of `K` is stored once and reachable both as `K` and under the label's text |
//!
//! All other values are strings; numeric comparisons go through [`Value::as_i64`].
//!
//! # Time
//!
//! From `rt` (or its long name `deviceReceiptTime`): epoch milliseconds (epoch seconds
//! when below 10¹¹), `MMM dd [yyyy ]HH:mm:ss[.SSS][ zone]` or RFC 3339. A year-less date
//! takes [`DecodeContext::default_year`]; the zone may be `Z`, `UTC`, `GMT` or a numeric
//! offset, and a named zone that cannot be resolved (`EST`, `CET`, …) is taken as UTC.
//! Without a usable `rt`, the syslog header's time; without one, the ingest time.
//!
//! # Logsource
//!
//! `product` and `service` are left unset: a CEF line names its device, not a Sigma
//! product. `category` is `firewall` when the device product or vendor says so: it
//! contains `firewall` (any case), or one of its words is `FortiGate`, `PAN-OS`, `ASA`,
//! `NetScreen`, `SRX`, `SonicWall`, `SonicOS`, `pfSense`, `OPNsense`, `Fireware`, `NGFW`
//! or `iptables`, alone or followed by `-model` (`FortiGate-100D`, `ASA-5506`), or ends
//! in `wall` (`SonicWall`, `EdgeWall`).

use watchfloor_event::{Event, LogSource, Timestamp, Value};

use crate::syslog::{
    parse_bsd_timestamp, parse_header, parse_offset, parse_rfc3339, put_hostname, snippet,
};
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "CEF";

const HEADER_NAMES: [&str; 7] = [
    "cef_version",
    "device_vendor",
    "device_product",
    "device_version",
    "signature_id",
    "name",
    "severity",
];

/// Words of a device product or vendor that mark a firewall.
const FIREWALL_WORDS: &[&str] = &[
    "fortigate",
    "pan-os",
    "asa",
    "netscreen",
    "srx",
    "sonicwall",
    "sonicos",
    "pfsense",
    "opnsense",
    "fireware",
    "ngfw",
    "iptables",
];

/// CEF keys that also answer to the Sigma `firewall` taxonomy name.
const SIGMA_NAMES: &[(&str, &str)] = &[
    ("src", "src_ip"),
    ("dst", "dst_ip"),
    ("spt", "src_port"),
    ("dpt", "dst_port"),
    ("act", "action"),
];

type Span = (usize, usize);

/// One extension pair: key as a span of the extension, value as a span of the scratch
/// buffer (unescaped).
#[derive(Clone, Copy, Debug)]
struct Pair {
    key: Span,
    value: Span,
}

/// Decoder of CEF lines; see the module documentation for fields and rules.
///
/// Keeps a scratch buffer for unescaped values and a list of extension pairs, so
/// decoding allocates nothing once they have grown.
#[derive(Debug, Default, Clone)]
pub struct CefDecoder {
    buf: String,
    pairs: Vec<Pair>,
    /// `KLabel` pairs, with `key` spanning `K` only.
    labels: Vec<Pair>,
}

/// At most this many `KLabel` pairs are honoured per line (CEF defines about 25), which
/// keeps label lookup linear on hostile lines of many pairs.
const MAX_LABELS: usize = 32;

impl CefDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn value(&self, span: Span) -> &str {
        self.buf.get(span.0..span.1).unwrap_or("")
    }

    /// Splits the header after `CEF:` into seven unescaped spans of `buf`; returns them
    /// and the extension.
    fn parse_cef_header<'a>(&mut self, body: &'a str) -> Result<([Span; 7], &'a str), String> {
        let b = body.as_bytes();
        let mut spans = [(0, 0); 7];
        let mut n = 0;
        let mut i = 0;
        let mut start = 0;
        while n < 7 {
            match b.get(i) {
                Some(b'\\') => i += 2,
                Some(b'|') => {
                    spans[n] = unescape_header(body.get(start..i).unwrap_or(""), &mut self.buf);
                    n += 1;
                    i += 1;
                    start = i;
                }
                Some(_) => i += 1,
                None => break,
            }
        }
        if n == 6 {
            // Severity without a trailing `|`: no extension.
            spans[6] = unescape_header(body.get(start..).unwrap_or(""), &mut self.buf);
            return Ok((spans, ""));
        }
        if n < 7 {
            return Err(format!(
                "header has {} of the 7 `|`-separated fields (Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity)",
                n + 1
            ));
        }
        Ok((spans, body.get(start..).unwrap_or("")))
    }

    /// Fills `labels` from `pairs`.
    fn collect_labels(&mut self, ext: &str) {
        for pair in &self.pairs {
            if self.labels.len() == MAX_LABELS {
                break;
            }
            let (start, end) = pair.key;
            if end > start + 5 && ext.get(end - 5..end) == Some("Label") {
                self.labels.push(Pair {
                    key: (start, end - 5),
                    value: pair.value,
                });
            }
        }
    }

    /// Splits the extension into pairs, unescaping values into `buf`.
    fn parse_extension(&mut self, ext: &str) -> Result<(), String> {
        let b = ext.as_bytes();
        let mut key_start = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
        while key_start < b.len() {
            let mut j = key_start;
            while let Some(&c) = b.get(j) {
                if c == b'=' || !is_key_byte(c) {
                    break;
                }
                j += 1;
            }
            if b.get(j) != Some(&b'=') || j == key_start {
                let rest = ext.get(key_start..).unwrap_or("");
                return Err(format!(
                    "extension does not continue with `key=value` at `{}`",
                    snippet(rest, 24)
                ));
            }
            let value_start = j + 1;
            // Scan for the next ` key=`: `candidate` says every byte since the last
            // space is a key byte.
            let mut k = value_start;
            let mut last_space = None;
            let mut candidate = false;
            let mut candidate_len = 0;
            let mut next_key = None;
            while let Some(&c) = b.get(k) {
                match c {
                    b'\\' => {
                        candidate = false;
                        k += 2;
                        continue;
                    }
                    b' ' => {
                        last_space = Some(k);
                        candidate = true;
                        candidate_len = 0;
                    }
                    b'=' => {
                        if candidate
                            && candidate_len > 0
                            && let Some(sp) = last_space
                        {
                            next_key = Some(sp);
                            break;
                        }
                        candidate = false;
                    }
                    c if is_key_byte(c) => candidate_len += 1,
                    _ => candidate = false,
                }
                k += 1;
            }
            let mut end = next_key.unwrap_or(b.len());
            while end > value_start && b.get(end - 1) == Some(&b' ') {
                end -= 1;
            }
            let raw = ext.get(value_start..end.max(value_start)).unwrap_or("");
            let value = unescape_extension(raw, &mut self.buf);
            self.pairs.push(Pair {
                key: (key_start, j),
                value,
            });
            match next_key {
                Some(sp) => key_start = sp + 1,
                None => break,
            }
        }
        Ok(())
    }
}

impl LineDecoder for CefDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(false);
        }
        let syntax = |reason: String| DecodeErrorKind::syntax(FORMAT, reason);
        let start = memchr::memmem::find(line.as_bytes(), b"CEF:")
            .ok_or_else(|| syntax(format!("no `CEF:` in `{}`", snippet(line, 40))))?;
        let prefix = line.get(..start).unwrap_or("");
        let body = line.get(start + 4..).unwrap_or("");
        let syslog = if prefix.trim().is_empty() {
            None
        } else {
            parse_header(prefix, ctx.default_year).ok()
        };

        self.buf.clear();
        self.pairs.clear();
        self.labels.clear();
        let (header, ext) = self.parse_cef_header(body).map_err(syntax)?;
        self.parse_extension(ext).map_err(syntax)?;
        self.collect_labels(ext);

        for (name, span) in HEADER_NAMES.iter().zip(header) {
            ctx.put_str(ev, name, self.value(span));
        }
        put_hostname(ctx, ev, syslog.as_ref().and_then(|h| h.hostname));

        let mut time = None;
        for pair in &self.pairs {
            let key = ext.get(pair.key.0..pair.key.1).unwrap_or("");
            let value = self.value(pair.value);
            let label = self
                .labels
                .iter()
                .find(|l| ext.get(l.key.0..l.key.1) == Some(key))
                .map(|l| self.value(l.value))
                .filter(|l| !l.is_empty());
            match (label, SIGMA_NAMES.iter().find(|(k, _)| *k == key)) {
                (Some(label), _) => ctx.put_aliased(ev, label, key, Value::Str(value)),
                (None, Some(&(key, sigma))) => {
                    let value = match port_number(key, value) {
                        Some(port) => Value::Int(port),
                        None => Value::Str(value),
                    };
                    ctx.put_aliased(ev, sigma, key, value);
                }
                (None, None) => ctx.put_str(ev, key, value),
            }
            if time.is_none() && (key == "rt" || key == "deviceReceiptTime") {
                time = parse_cef_time(value, ctx.default_year);
            }
        }
        ev.time = time
            .or_else(|| syslog.as_ref().and_then(|h| h.time))
            .unwrap_or(ctx.ingest_time);

        let vendor = self.value(header[1]);
        let product = self.value(header[2]);
        let category = (is_firewall(product) || is_firewall(vendor)).then_some("firewall");
        ev.logsource = LogSource::new(None, category, None);
        Ok(true)
    }
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')
}

/// Appends `raw` to `buf` with the header escapes `\|` and `\\` resolved; returns the
/// span it took.
fn unescape_header(raw: &str, buf: &mut String) -> Span {
    unescape(raw, buf, |c| {
        matches!(c, b'|' | b'\\').then_some(char::from(c))
    })
}

/// Appends `raw` to `buf` with the extension escapes `\=`, `\\`, `\n`, `\r` resolved;
/// returns the span it took.
fn unescape_extension(raw: &str, buf: &mut String) -> Span {
    unescape(raw, buf, |c| match c {
        b'=' => Some('='),
        b'\\' => Some('\\'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        _ => None,
    })
}

fn unescape(raw: &str, buf: &mut String, escape: impl Fn(u8) -> Option<char>) -> Span {
    let start = buf.len();
    let mut rest = raw;
    while let Some((before, after)) = rest.split_once('\\') {
        buf.push_str(before);
        match after.as_bytes().first().and_then(|&c| escape(c)) {
            Some(c) => {
                buf.push(c);
                rest = after.get(1..).unwrap_or("");
            }
            None => {
                buf.push('\\');
                rest = after;
            }
        }
    }
    buf.push_str(rest);
    (start, buf.len())
}

/// `rt` as epoch milliseconds (or seconds), `MMM dd [yyyy ]HH:mm:ss[.SSS][ zone]` or
/// RFC 3339.
fn parse_cef_time(v: &str, default_year: i16) -> Option<Timestamp> {
    let v = v.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = v.parse().ok()?;
        let nanos = if n >= 100_000_000_000 {
            n.checked_mul(1_000_000)
        } else {
            n.checked_mul(1_000_000_000)
        };
        return nanos.map(Timestamp);
    }
    if let Some((ts, rest)) = parse_bsd_timestamp(v, default_year) {
        let zone = rest.trim();
        let offset = if zone.is_empty() {
            0
        } else {
            parse_offset(zone).unwrap_or(0)
        };
        return ts
            .0
            .checked_sub(i64::from(offset) * 1_000_000_000)
            .map(Timestamp);
    }
    parse_rfc3339(v)
}

/// A port key's value as an integer when it is a canonical port number (no sign, no
/// leading zero), so that it reads back exactly as written.
fn port_number(key: &str, value: &str) -> Option<i64> {
    let canonical = !value.starts_with('0') || value == "0";
    if !matches!(key, "spt" | "dpt") || !canonical || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u16>().ok().map(i64::from)
}

fn is_firewall(s: &str) -> bool {
    s.as_bytes()
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"firewall"))
        || s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|w| {
                FIREWALL_WORDS.iter().any(|f| is_word_or_model(w, f))
                    || w.len() > 4
                        && w.get(w.len() - 4..)
                            .is_some_and(|t| t.eq_ignore_ascii_case("wall"))
            })
}

/// `word` is `name`, or `name-…` (a model: `FortiGate-100D`), ignoring case.
fn is_word_or_model(word: &str, name: &str) -> bool {
    let head = word.get(..name.len());
    head.is_some_and(|h| h.eq_ignore_ascii_case(name))
        && matches!(word.as_bytes().get(name.len()), None | Some(b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        assert_blank_and_syntax_errors, ctx_in_year, decode_in, s, try_decode,
    };
    use crate::time::format_rfc3339;

    fn ctx() -> DecodeContext {
        ctx_in_year(2024)
    }

    fn decode(line: &str) -> (DecodeContext, Event) {
        decode_in(CefDecoder::new(), ctx(), line)
    }

    #[test]
    fn header_extension_and_labels() {
        let (mut c, ev) = decode(
            r"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 cs1Label=Rule Name cs1=Block all \= bad msg=line1\nline2 request=http://x.org/p?a=b&c=d act=blocked",
        );
        assert_eq!(s(&mut c, &ev, "cef_version"), Some("0"));
        assert_eq!(s(&mut c, &ev, "device_vendor"), Some("Security"));
        assert_eq!(s(&mut c, &ev, "device_product"), Some("threatmanager"));
        assert_eq!(s(&mut c, &ev, "device_version"), Some("1.0"));
        assert_eq!(s(&mut c, &ev, "signature_id"), Some("100"));
        assert_eq!(s(&mut c, &ev, "name"), Some("worm successfully stopped"));
        assert_eq!(s(&mut c, &ev, "severity"), Some("10"));
        assert_eq!(s(&mut c, &ev, "src"), Some("10.0.0.1"));
        assert_eq!(ev.get(c.id("spt")), Some(Value::Int(1232)));
        assert_eq!(ev.get(c.id("src_port")), Some(Value::Int(1232)));
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("10.0.0.1"));
        assert_eq!(s(&mut c, &ev, "dst_ip"), Some("2.1.2.2"));
        assert_eq!(s(&mut c, &ev, "action"), Some("blocked"));
        assert_eq!(s(&mut c, &ev, "cs1Label"), Some("Rule Name"));
        assert_eq!(s(&mut c, &ev, "cs1"), Some("Block all = bad"));
        assert_eq!(s(&mut c, &ev, "Rule Name"), Some("Block all = bad"));
        assert_eq!(s(&mut c, &ev, "msg"), Some("line1\nline2"));
        assert_eq!(s(&mut c, &ev, "request"), Some("http://x.org/p?a=b&c=d"));
        assert_eq!(s(&mut c, &ev, "act"), Some("blocked"));
        assert_eq!(ev.logsource, LogSource::default());
        assert_eq!(ev.time, c.ingest_time);
    }

    #[test]
    fn header_escapes_and_no_extension() {
        let (mut c, ev) = decode(r"CEF:0|Ven\|dor|Pro\\duct|1|sig|Name with \| pipe|Low");
        assert_eq!(s(&mut c, &ev, "device_vendor"), Some("Ven|dor"));
        assert_eq!(s(&mut c, &ev, "device_product"), Some("Pro\\duct"));
        assert_eq!(s(&mut c, &ev, "name"), Some("Name with | pipe"));
        assert_eq!(s(&mut c, &ev, "severity"), Some("Low"));
        let (mut c, ev) = decode("CEF:1|a|b|c|d|e|5|");
        assert_eq!(s(&mut c, &ev, "severity"), Some("5"));
        assert_eq!(ev.field_count(), 7);
    }

    #[test]
    fn syslog_prefix_and_times() {
        let (mut c, ev) = decode(
            "<134>Feb 14 19:04:54 fw01 CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|src=1.1.1.1 suser=corp\\\\bob",
        );
        assert_eq!(s(&mut c, &ev, "hostname"), Some("fw01"));
        assert_eq!(format_rfc3339(ev.time), "2024-02-14T19:04:54Z");
        assert_eq!(ev.logsource.category(), Some("firewall"));
        assert_eq!(s(&mut c, &ev, "suser"), Some("corp\\bob"));

        let (_, ev) = decode("CEF:0|Fortinet|FortiGate-100D|5|1|x|1|rt=1700000000123");
        assert_eq!(format_rfc3339(ev.time), "2023-11-14T22:13:20.123Z");
        assert_eq!(ev.logsource.category(), Some("firewall"));
        let (_, ev) = decode("CEF:0|Cisco|ASA|9|1|x|1|rt=Jan 05 2021 10:00:00.5 +0100");
        assert_eq!(format_rfc3339(ev.time), "2021-01-05T09:00:00.5Z");
        let (_, ev) = decode(
            "CEF:0|Check Point|VPN-1 & FireWall-1|1|1|x|1|deviceReceiptTime=Mar 03 10:00:00 UTC",
        );
        assert_eq!(format_rfc3339(ev.time), "2024-03-03T10:00:00Z");
        assert_eq!(ev.logsource.category(), Some("firewall"));
        let (mut c, ev) = decode("CEF:0|ExampleNet|EdgeWall|1|1|x|1|dpt=0443 spt=99999");
        assert_eq!(ev.logsource.category(), Some("firewall"));
        assert_eq!(s(&mut c, &ev, "dst_port"), Some("0443"));
        assert_eq!(s(&mut c, &ev, "spt"), Some("99999"));
        let (_, ev) = decode("CEF:0|Trend Micro|Deep Security Agent|1|1|x|1|rt=garbage");
        assert_eq!(ev.logsource.category(), None);
        let (_, ev) =
            decode("<14>1 2022-05-06T07:08:09Z host app - - - CEF:0|Microsoft|ATA|1|1|x|1|start=1");
        assert_eq!(format_rfc3339(ev.time), "2022-05-06T07:08:09Z");
    }

    #[test]
    fn values_with_spaces_and_empty() {
        let (mut c, ev) = decode("CEF:0|a|b|c|d|e|5|  k1= k2=two words  k3=x=y k4=");
        assert_eq!(s(&mut c, &ev, "k1"), Some(""));
        assert_eq!(s(&mut c, &ev, "k2"), Some("two words"));
        assert_eq!(s(&mut c, &ev, "k3"), Some("x=y"));
        assert_eq!(s(&mut c, &ev, "k4"), Some(""));
    }

    #[test]
    fn errors_and_blank() {
        assert_blank_and_syntax_errors(
            CefDecoder::new(),
            ctx(),
            "",
            "CEF",
            &[
                "no marker here",
                "CEF:0|a|b|c",
                "CEF:0|a|b|c|d|e|5|this is not an extension",
                "CEF:0|a|b|c|d|e|5|=x",
            ],
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn escape_header(s: &str) -> String {
            s.replace('\\', "\\\\").replace('|', "\\|")
        }

        fn escape_value(s: &str) -> String {
            s.replace('\\', "\\\\")
                .replace('=', "\\=")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
        }

        const KEYS: [&str; 10] = [
            "src", "dst", "spt", "dpt", "suser", "act", "request", "msg", "cs2", "cn1",
        ];

        proptest! {
            #[test]
            fn never_panics(line in any::<String>()) {
                let _ = try_decode(&mut CefDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn never_panics_cef_like(line in r"CEF:[0-9|a-z =\\\n]{0,80}") {
                let _ = try_decode(&mut CefDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn round_trip(
                header in proptest::array::uniform7(any::<String>()),
                values in proptest::collection::vec(any::<String>(), KEYS.len()),
                present in proptest::collection::vec(any::<bool>(), KEYS.len()),
                label in "L[a-zA-Z0-9 ]{0,10}[a-zA-Z]",
                labelled in "[^ ]?|.*[^ ]",
                prefix in proptest::bool::ANY,
            ) {
                let values: Vec<String> =
                    values.into_iter().map(|v| v.trim_end_matches(' ').to_string()).collect();
                let mut line = String::new();
                if prefix {
                    line.push_str("<134>Feb 14 19:04:54 host ");
                }
                line.push_str("CEF:");
                for h in &header {
                    line.push_str(&escape_header(h));
                    line.push('|');
                }
                let mut first = true;
                for ((k, v), p) in KEYS.iter().zip(&values).zip(&present) {
                    if *p {
                        if !first { line.push(' '); }
                        first = false;
                        line.push_str(&format!("{k}={}", escape_value(v)));
                    }
                }
                line.push_str(&format!(" cs1={} cs1Label={}", escape_value(&labelled), escape_value(&label)));

                let mut c = ctx();
                let (result, ev) = try_decode(&mut CefDecoder::new(), &mut c, &line);
                prop_assert_eq!(result, Ok(true));
                for (name, h) in HEADER_NAMES.iter().zip(&header) {
                    prop_assert_eq!(s(&mut c, &ev, name), Some(h.as_str()));
                }
                for ((k, v), p) in KEYS.iter().zip(&values).zip(&present) {
                    let expected = p.then(|| match port_number(k, v) {
                        Some(port) => Value::Int(port),
                        None => Value::Str(v.as_str()),
                    });
                    prop_assert_eq!(ev.get(c.id(k)), expected);
                }
                prop_assert_eq!(s(&mut c, &ev, "cs1"), Some(labelled.as_str()));
                prop_assert_eq!(s(&mut c, &ev, &label), Some(labelled.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs1Label"), Some(label.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "hostname"), prefix.then_some("host"));
            }
        }
    }
}
