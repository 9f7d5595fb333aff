//! What the generator produces: [`Emitted`] records, each one line of one output
//! [`Stream`] (a file in a format the decoders read) with its ground-truth [`Label`].

use std::fmt::Write as _;

use serde::Serialize;
use watchfloor_triage::attack::Stage;

/// An output file and its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    /// Sysmon, Windows flat JSON lines.
    Sysmon,
    /// Windows Security log, flat JSON lines.
    Security,
    /// Windows System log, flat JSON lines.
    System,
    /// Linux auth syslog (RFC 3164).
    LinuxAuth,
    /// Perimeter firewall, CEF over syslog.
    Firewall,
    /// Zeek conn, dns and http logs, JSON lines.
    ZeekConn,
    ZeekDns,
    ZeekHttp,
    /// Suricata EVE JSON.
    Suricata,
    /// The public web server's access log (combined format).
    WebAccess,
    /// The web proxy's access log (combined format, absolute URLs).
    Proxy,
    /// The Linux audit log (`/var/log/audit/audit.log`): the records of every
    /// `execve` on the Linux hosts.
    LinuxAudit,
}

impl Stream {
    pub const ALL: [Stream; 12] = [
        Stream::Sysmon,
        Stream::Security,
        Stream::System,
        Stream::LinuxAuth,
        Stream::Firewall,
        Stream::ZeekConn,
        Stream::ZeekDns,
        Stream::ZeekHttp,
        Stream::Suricata,
        Stream::WebAccess,
        Stream::Proxy,
        Stream::LinuxAudit,
    ];

    /// The file the stream is written to, relative to the output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Stream::Sysmon => "windows/sysmon.jsonl",
            Stream::Security => "windows/security.jsonl",
            Stream::System => "windows/system.jsonl",
            Stream::LinuxAuth => "linux/auth.log",
            Stream::Firewall => "network/firewall.cef",
            Stream::ZeekConn => "zeek/conn.log",
            Stream::ZeekDns => "zeek/dns.log",
            Stream::ZeekHttp => "zeek/http.log",
            Stream::Suricata => "suricata/eve.json",
            Stream::WebAccess => "web/access.log",
            Stream::Proxy => "proxy/access.log",
            Stream::LinuxAudit => "linux/audit.log",
        }
    }
}

/// Ground truth of one malicious record: the campaign step that caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    pub step: String,
    pub action: &'static str,
    pub technique: String,
    pub stage: Stage,
}

/// One generated record.
#[derive(Clone, Debug, PartialEq)]
pub struct Emitted {
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    pub stream: Stream,
    pub line: String,
    /// `None`: benign background activity.
    pub label: Option<Label>,
}

/// RFC 3339 with milliseconds, UTC (`2026-03-02T09:14:41.507Z`).
pub fn iso_millis(nanos: i64) -> String {
    let t =
        jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Sysmon's `UtcTime` form (`2026-03-02 09:14:41.507`).
pub fn sysmon_time(nanos: i64) -> String {
    let t =
        jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// Zeek's `ts`: seconds with microseconds.
pub fn epoch_secs(nanos: i64) -> f64 {
    (nanos / 1_000) as f64 / 1e6
}

/// The access log time (`02/Mar/2026:09:14:41 +0000`).
pub fn clf_time(nanos: i64) -> String {
    let t =
        jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string()
}

/// The syslog time (`Mar  2 09:14:41`).
pub fn syslog_time(nanos: i64) -> String {
    let t =
        jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    t.strftime("%b %e %H:%M:%S").to_string()
}

/// Hex of `bytes` in upper case (hashes).
pub fn hex_upper(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_forms() {
        let t = 1_772_442_881_507_000_000; // 2026-03-02T09:14:41.507Z
        assert_eq!(iso_millis(t), "2026-03-02T09:14:41.507Z");
        assert_eq!(sysmon_time(t), "2026-03-02 09:14:41.507");
        assert_eq!(clf_time(t), "02/Mar/2026:09:14:41 +0000");
        assert_eq!(syslog_time(t), "Mar  2 09:14:41");
        assert_eq!(epoch_secs(t), 1_772_442_881.507);
    }
}
