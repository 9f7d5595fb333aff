//! Recognising a file's compression and log format from its name and first bytes.

use std::fmt;
use std::str::FromStr;

/// A log format watchfloor decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Evtx,
    /// Windows events as XML (`<Event>` elements, one per line or in an `<Events>`
    /// document).
    WindowsXml,
    /// JSON lines of any flavour (Windows, Suricata EVE, Zeek, CloudTrail, generic).
    Json,
    ZeekTsv,
    Syslog,
    Cef,
    AccessLog,
    Auditd,
    /// W3C extended log format (IIS).
    W3c,
    /// Comma-separated values with a header row.
    Csv,
    /// Squid's native access log.
    Squid,
}

impl Format {
    pub const ALL: [Format; 11] = [
        Format::Evtx,
        Format::WindowsXml,
        Format::Json,
        Format::ZeekTsv,
        Format::Syslog,
        Format::Cef,
        Format::AccessLog,
        Format::Auditd,
        Format::W3c,
        Format::Csv,
        Format::Squid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::WindowsXml => "xml",
            Format::Json => "json",
            Format::ZeekTsv => "zeek",
            Format::Syslog => "syslog",
            Format::Cef => "cef",
            Format::AccessLog => "access",
            Format::Auditd => "auditd",
            Format::W3c => "w3c",
            Format::Csv => "csv",
            Format::Squid => "squid",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown format `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// How the bytes are packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    Zip,
}

/// The container of a stream from its first bytes.
pub fn sniff_container(head: &[u8]) -> Container {
    if head.starts_with(&[0x1f, 0x8b]) {
        Container::Gzip
    } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Container::Zip
    } else {
        Container::Plain
    }
}

/// The log format of a (decompressed) stream from its first bytes, with the stream's
/// name as a tie-breaker. `Err` says why the bytes are not a supported log.
pub fn sniff_format(name: &str, head: &[u8]) -> Result<Format, String> {
    if head.starts_with(crate::evtx::MAGIC) {
        return Ok(Format::Evtx);
    }
    if let Some(what) = known_binary(head) {
        return Err(what.to_string());
    }
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = first_line(head);
    if first.is_empty() {
        return Err("empty: no records".to_string());
    }
    if first.starts_with(b"{") {
        return Ok(Format::Json);
    }
    if crate::windows_xml::looks_like_event_xml(head) {
        return Ok(Format::WindowsXml);
    }
    if is_zeek_header(head) {
        return Ok(Format::ZeekTsv);
    }
    if is_w3c_header(head) {
        return Ok(Format::W3c);
    }
    if memchr::memmem::find(first, b"CEF:").is_some() {
        return Ok(Format::Cef);
    }
    if first.starts_with(b"type=")
        || first.starts_with(b"node=")
        || (memchr::memmem::find(first, b" type=").is_some()
            && memchr::memmem::find(first, b"msg=audit(").is_some())
    {
        return Ok(Format::Auditd);
    }
    if looks_like_access_log(first) {
        return Ok(Format::AccessLog);
    }
    if crate::squid::looks_like_squid(first) {
        return Ok(Format::Squid);
    }
    if looks_like_syslog(first) {
        return Ok(Format::Syslog);
    }
    if looks_like_csv_header(first)
        || (name.to_ascii_lowercase().ends_with(".csv") && first.contains(&b','))
    {
        return Ok(Format::Csv);
    }
    // Text logs may carry stray binary bytes (a TLS handshake sent to a web server lands
    // in its access log), so binary is judged only once no text format was recognised.
    if head[..head.len().min(4096)].contains(&0) {
        return Err("binary data, not a log".to_string());
    }
    if let Some(f) = extension_hint(name) {
        return Ok(f);
    }
    let shown = String::from_utf8_lossy(&first[..first.len().min(60)]).into_owned();
    Err(format!(
        "unrecognised text format (first line starts `{shown}`)"
    ))
}

fn known_binary(head: &[u8]) -> Option<&'static str> {
    const PCAP: [&[u8]; 5] = [
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
        b"\x0a\x0d\x0d\x0a",
    ];
    if PCAP.iter().any(|m| head.starts_with(m)) {
        return Some("packet capture (pcap/pcapng); decode it with Zeek or Suricata first");
    }
    if head.starts_with(b"%PDF") {
        return Some("PDF document");
    }
    if head.starts_with(b"\x7fELF") || head.starts_with(b"MZ") {
        return Some("executable");
    }
    None
}

/// Zeek's ASCII writer header (`#separator`, `#fields`) within the first lines; files
/// may carry a comment line before it.
fn is_zeek_header(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .take(12)
        .take_while(|l| l.starts_with(b"#"))
        .any(|l| l.starts_with(b"#separator") || l.starts_with(b"#fields\t"))
}

/// W3C extended log directives (`#Software:`, `#Version:`, `#Date:`, `#Fields:`) at the
/// start of the stream.
fn is_w3c_header(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n')
        .take(8)
        .take_while(|l| l.starts_with(b"#"))
        .any(|l| {
            l.starts_with(b"#Fields:")
                || l.starts_with(b"#Software:")
                || l.starts_with(b"#Version:")
        })
}

/// A CSV header: three or more comma-separated cells, each a plausible column name.
fn looks_like_csv_header(line: &[u8]) -> bool {
    let cells: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    cells.len() >= 3
        && cells.iter().all(|c| {
            let c = c.trim_ascii();
            let c = c
                .strip_prefix(b"\"")
                .and_then(|c| c.strip_suffix(b"\""))
                .unwrap_or(c);
            !c.is_empty()
                && c.len() <= 64
                && (c[0].is_ascii_alphabetic() || c[0] == b'@' || c[0] == b'_')
                && c.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b" _.-@()/".contains(&b))
        })
}

fn first_line(head: &[u8]) -> &[u8] {
    head.split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty())
        .unwrap_or(&[])
}

fn extension_hint(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let lower = lower.strip_suffix(".gz").unwrap_or(&lower);
    if lower.ends_with(".evtx") {
        Some(Format::Evtx)
    } else if lower.ends_with(".json") || lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        Some(Format::Json)
    } else {
        None
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn looks_like_syslog(line: &[u8]) -> bool {
    if let Some(rest) = line.strip_prefix(b"<") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        return (1..=3).contains(&digits) && rest.get(digits) == Some(&b'>');
    }
    let month = line
        .get(..3)
        .is_some_and(|m| MONTHS.iter().any(|x| &x[..] == m));
    let iso = line.len() >= 19
        && line[..4].iter().all(u8::is_ascii_digit)
        && line[4] == b'-'
        && line[10] == b'T';
    (month && line.get(3) == Some(&b' ')) || iso
}

/// `host ident user [dd/Mon/yyyy:hh:mm:ss zone] "…` (optionally after a vhost field).
fn looks_like_access_log(line: &[u8]) -> bool {
    let Some(open) = memchr::memchr(b'[', line) else {
        return false;
    };
    let prefix_fields = line[..open]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty())
        .count();
    let stamp = &line[open + 1..];
    (3..=4).contains(&prefix_fields)
        && stamp.len() > 12
        && stamp[..2].iter().all(u8::is_ascii_digit)
        && stamp[2] == b'/'
        && stamp[6] == b'/'
        && memchr::memmem::find(stamp, b"] \"").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs() {
        let f = |s: &str| sniff_format("x", s.as_bytes());
        assert_eq!(f("{\"a\":1}\n"), Ok(Format::Json));
        assert_eq!(
            f(
                "1286536309.450    300 192.168.0.224 TCP_MISS/200 507 GET http://x/ - DIRECT/1.2.3.4 text/html\n"
            ),
            Ok(Format::Squid)
        );
        assert_eq!(f("\n\n  {\"a\":1}"), Ok(Format::Json));
        assert_eq!(
            f("#separator \\x09\n#set_separator\t,\n"),
            Ok(Format::ZeekTsv)
        );
        assert_eq!(f("<34>Oct 11 22:14:15 host su: x"), Ok(Format::Syslog));
        assert_eq!(f("Mar  3 10:01:02 host sshd[1]: x"), Ok(Format::Syslog));
        assert_eq!(
            f("<165>1 2003-10-11T22:14:15.003Z host app - - - msg"),
            Ok(Format::Syslog)
        );
        assert_eq!(
            f("2024-01-02T03:04:05+00:00 host app: m"),
            Ok(Format::Syslog)
        );
        assert_eq!(
            f("Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|x|10|src=1.2.3.4"),
            Ok(Format::Cef)
        );
        assert_eq!(
            f("type=SYSCALL msg=audit(1604996384.965:93777): arch=c000003e"),
            Ok(Format::Auditd)
        );
        assert_eq!(
            f(r#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "x""#),
            Ok(Format::AccessLog)
        );
        assert!(f("hello world").unwrap_err().contains("unrecognised"));
        assert_eq!(
            f("#Software: Microsoft Internet Information Services 10.0\n#Fields: date time"),
            Ok(Format::W3c)
        );
        assert_eq!(
            f("Event Type,Event Name,Request ID,User ID\nAwsApiCall,GetObject,1,2"),
            Ok(Format::Csv)
        );
        assert!(
            f("a,b\n1,2").is_err(),
            "two cells are too little to call it CSV"
        );
        assert!(f("\0\x01\x02garbage").unwrap_err().contains("binary"));
        assert!(
            sniff_format("a.pcap", b"\xd4\xc3\xb2\xa1\x02\x00")
                .unwrap_err()
                .contains("pcap")
        );
        assert_eq!(sniff_format("a.evtx", b"ElfFile\0rest"), Ok(Format::Evtx));
        assert!(
            sniff_format("empty.json", b" \n")
                .unwrap_err()
                .contains("empty")
        );
        assert_eq!("ZEEK".parse::<Format>(), Ok(Format::ZeekTsv));
        assert!("nope".parse::<Format>().is_err());
    }

    #[test]
    fn containers() {
        assert_eq!(sniff_container(&[0x1f, 0x8b, 8]), Container::Gzip);
        assert_eq!(sniff_container(b"PK\x03\x04"), Container::Zip);
        assert_eq!(sniff_container(b"{}"), Container::Plain);
    }
}
