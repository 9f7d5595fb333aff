//! Linux audit log lines: [`AuditdDecoder`], for `/var/log/audit/audit.log` and for the
//! same records relayed through syslog.
//!
//! ```text
//! [syslog header ][node=HOST ]type=TYPE msg=audit(EPOCH.MILLIS:SERIAL): key=value key="value" …[\x1dKEY=value …]
//! ```
//!
//! Accepted: plain `audit.log` lines, lines with `node=`, lines behind a syslog header
//! (`Mar  3 10:01:02 host audispd: node=h type=…`, parsed with [`crate::syslog`]), the
//! kernel's form without `msg=` (`kernel: audit: type=1400 audit(…): apparmor=…`) and the
//! `ENRICHED` log format, whose interpreted fields follow a `0x1d` separator with
//! upper-case names (`ARCH=x86_64 SYSCALL=execve AUID="alice"`). Words without `=` (as in
//! SELinux `avc:  denied  { read } for …`) are skipped.
//!
//! # Fields
//!
//! | field | value |
//! |---|---|
//! | `type` | the record type (`SYSCALL`, `EXECVE`, `PATH`, `USER_LOGIN`, `1400`, …) |
//! | `node` | the `node=` host; when absent, the syslog header's hostname if there is one |
//! | `audit_serial` | the serial of `audit(…:SERIAL)`, integer (records of one event share it) |
//! | *key* | every `key=value` pair as-is, quotes removed, values as strings (`syscall`, `success`, `exit`, `a0`…, `pid`, `auid`, `uid`, `comm`, `exe`, `key`, `name`, `cwd`, …); `(null)` and `?` stay as written |
//! | `msg` | for user-space records (`USER_LOGIN`, `USER_CMD`, `USER_AUTH`, …), the text inside `msg='…'`; its `key=value` pairs are *also* emitted as fields of their own (`op`, `acct`, `exe`, `hostname`, `addr`, `terminal`, `res`, …) |
//! | *key*`_hex` | the original hex text of a value that was hex-decoded (see below) |
//!
//! # Hex-encoded values
//!
//! auditd writes an untrusted string quoted when it is plain, and as unquoted hex when it
//! holds spaces, quotes or control bytes (or, for `proctitle`, NUL-separated argv). For
//! the string fields `proctitle`, `comm`, `exe`, `cwd`, `name`, `path`, `key`, `cmd`,
//! `acct`, `data`, `dir`, `file`, `ocomm`, `watch`, `grp`, `new_group`, and for the
//! `EXECVE` arguments `a0`, `a1`, … (and their `aN[i]` chunks), an unquoted value made of
//! hex digits is decoded: the field holds the decoded text — NULs as spaces, so
//! `proctitle` reads `/bin/sh -c id`; invalid UTF-8 replaced — and the hex stays
//! reachable as *key*`_hex`. A decoded `key` holding several keys (`\x01`-separated)
//! gives one `key` value per key. Numeric fields such as `SYSCALL`'s `a0`…`a3` are never
//! decoded.
//!
//! # Time and logsource
//!
//! The event time is the `audit(…)` epoch (millisecond precision). Logsource:
//! `product: linux`, `service: auditd`; a record completing a successful `execve`
//! (see [`crate::auditd_exec`]) is also category `process_creation`, with Sysmon's
//! `Image`, `CommandLine`, `ParentImage`, `User`, … added.

use watchfloor_event::{Event, LogSource, Value};

use crate::auditd_exec::ExecAssembler;
use crate::syslog::{parse_header, snippet, split_token};
use crate::time::parse_epoch;
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "auditd";

/// The auditd enriched-format separator between raw and interpreted fields.
const GROUP_SEPARATOR: u8 = 0x1d;

/// String fields auditd hex-encodes when they hold unsafe bytes.
const ENCODED_KEYS: &[&str] = &[
    "proctitle",
    "comm",
    "exe",
    "cwd",
    "name",
    "path",
    "key",
    "cmd",
    "acct",
    "data",
    "dir",
    "file",
    "ocomm",
    "watch",
    "grp",
    "new_group",
];

/// Decoder of audit log lines; see the module documentation for fields and rules.
///
/// Keeps scratch buffers for hex decoding and field names, so decoding allocates nothing
/// once they have grown (except for hex-encoded values that are not valid UTF-8).
#[derive(Debug, Default, Clone)]
pub struct AuditdDecoder {
    bytes: Vec<u8>,
    name: String,
    exec: ExecAssembler,
}

impl AuditdDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Processes the exec assembler remembers, for tests of its bound.
    #[cfg(test)]
    pub(crate) fn exec_memory(&self) -> usize {
        self.exec.memory()
    }

    /// Adds one pair, hex-decoding it when it is an encoded string field.
    fn emit(&mut self, ctx: &mut DecodeContext, ev: &mut Event, record_type: &str, pair: Pair<'_>) {
        let Pair { key, value, quoted } = pair;
        if quoted || !is_encoded_key(key, record_type) || !is_hex(value) {
            ctx.put_str(ev, key, value);
            return;
        }
        self.bytes.clear();
        self.bytes
            .extend(value.as_bytes().chunks_exact(2).map(|pair| match pair {
                &[hi, lo] => (hex_digit(hi) << 4) | hex_digit(lo),
                _ => 0,
            }));
        while self.bytes.last() == Some(&0) {
            self.bytes.pop();
        }
        let is_key = key == "key";
        for b in &mut self.bytes {
            if *b == 0 || (*b == 1 && !is_key) {
                *b = b' ';
            }
        }
        let text = String::from_utf8_lossy(&self.bytes);
        if is_key {
            for part in text.split('\u{1}') {
                ctx.put_str(ev, key, part);
            }
        } else {
            ctx.put_str(ev, key, &text);
        }
        self.name.clear();
        self.name.push_str(key);
        self.name.push_str("_hex");
        ctx.put_str(ev, &self.name, value);
    }
}

impl LineDecoder for AuditdDecoder {
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
        let start = find_type(line)
            .ok_or_else(|| syntax(format!("no `type=` in `{}`", snippet(line, 40))))?;
        let prefix = line.get(..start).unwrap_or("").trim_end();
        let body = line.get(start..).unwrap_or("");

        let (prefix, mut node) = match prefix.rsplit_once(' ').unwrap_or(("", prefix)) {
            (before, last) if last.starts_with("node=") => (before, last.get(5..)),
            _ => (prefix, None),
        };
        if node.is_none() && !prefix.trim().is_empty() {
            node = parse_header(prefix, ctx.default_year)
                .ok()
                .and_then(|h| h.hostname);
        }

        let (type_token, rest) = split_token(body);
        let record_type = type_token.get(5..).unwrap_or("");
        if record_type.is_empty() {
            return Err(syntax("empty `type=`".into()));
        }
        let rest = rest.trim_start();
        let stamp = rest.strip_prefix("msg=").unwrap_or(rest);
        let stamp = stamp.strip_prefix("audit(").ok_or_else(|| {
            syntax(format!(
                "expected `msg=audit(…)` after `type={record_type}`, found `{}`",
                snippet(rest, 24)
            ))
        })?;
        let (stamp, fields) = stamp
            .split_once(')')
            .ok_or_else(|| syntax("`audit(` is never closed by `)`".into()))?;
        let (secs, serial) = stamp.split_once(':').ok_or_else(|| {
            syntax(format!(
                "`audit({})` is not `audit(seconds:serial)`",
                snippet(stamp, 30)
            ))
        })?;
        let time = parse_epoch(secs).ok_or_else(|| {
            syntax(format!(
                "audit time `{}` is not epoch seconds",
                snippet(secs, 30)
            ))
        })?;
        let serial: i64 = serial.parse().map_err(|_| {
            syntax(format!(
                "audit serial `{}` is not a number",
                snippet(serial, 30)
            ))
        })?;
        let fields = fields.strip_prefix(':').unwrap_or(fields);

        ev.time = time;
        ev.logsource = LogSource::new(Some("linux"), None, Some("auditd"));
        ctx.put_str(ev, "type", record_type);
        if let Some(node) = node {
            ctx.put_str(ev, "node", node);
        }
        ctx.put(ev, "audit_serial", Value::Int(serial));
        for pair in Pairs::new(fields) {
            if pair.key == "msg" && pair.quoted {
                ctx.put_str(ev, "msg", pair.value);
                for inner in Pairs::new(pair.value) {
                    self.emit(ctx, ev, record_type, inner);
                }
            } else {
                self.emit(ctx, ev, record_type, pair);
            }
        }
        self.exec.record(ctx, record_type, serial, ev);
        Ok(true)
    }
}

/// Whether `text` looks like one audit record (`type=…` then `audit(…)`), as a relay
/// may carry it inside another format.
pub fn is_audit_record(text: &str) -> bool {
    find_type(text).is_some_and(|at| text.get(at..).is_some_and(|rest| rest.contains("audit(")))
}

/// The byte offset of the first `type=` that starts a word.
fn find_type(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    memchr::memmem::find_iter(b, b"type=")
        .find(|&at| at == 0 || matches!(b.get(at - 1), Some(b' ' | b':')))
}

fn is_encoded_key(key: &str, record_type: &str) -> bool {
    ENCODED_KEYS.contains(&key) || (record_type == "EXECVE" && is_arg_key(key))
}

/// `aN` or `aN[i]`.
fn is_arg_key(key: &str) -> bool {
    let Some(rest) = key.strip_prefix('a') else {
        return false;
    };
    let (n, chunk) = match rest.strip_suffix(']').and_then(|r| r.split_once('[')) {
        Some((n, chunk)) => (n, Some(chunk)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(n) && chunk.is_none_or(digits)
}

fn is_hex(v: &str) -> bool {
    !v.is_empty() && v.len().is_multiple_of(2) && v.bytes().all(|b| b.is_ascii_hexdigit())
}

fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// One `key=value` of a record.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pair<'a> {
    key: &'a str,
    value: &'a str,
    /// The value was in `"…"` or `'…'` (and so is literal text, never hex).
    quoted: bool,
}

/// The `key=value` pairs of a record body, skipping words without `=`.
struct Pairs<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Pairs<'a> {
    fn new(s: &'a str) -> Self {
        Pairs { s, i: 0 }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Pair<'a>;

    fn next(&mut self) -> Option<Pair<'a>> {
        let b = self.s.as_bytes();
        let is_sep = |c: u8| c == b' ' || c == GROUP_SEPARATOR;
        loop {
            while b.get(self.i).is_some_and(|&c| is_sep(c)) {
                self.i += 1;
            }
            if self.i >= b.len() {
                return None;
            }
            let key_start = self.i;
            while let Some(&c) = b.get(self.i) {
                if c == b'=' || is_sep(c) {
                    break;
                }
                self.i += 1;
            }
            if b.get(self.i) != Some(&b'=') {
                continue;
            }
            let key = self.s.get(key_start..self.i).unwrap_or("");
            self.i += 1;
            let (value, quoted) = match b.get(self.i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let start = self.i + 1;
                    let end = b
                        .get(start..)
                        .and_then(|rest| memchr::memchr(q, rest))
                        .map_or(b.len(), |p| start + p);
                    self.i = end + 1;
                    (self.s.get(start..end).unwrap_or(""), true)
                }
                _ => {
                    let start = self.i;
                    while b.get(self.i).is_some_and(|&c| !is_sep(c)) {
                        self.i += 1;
                    }
                    (self.s.get(start..self.i).unwrap_or(""), false)
                }
            };
            if !key.is_empty() {
                return Some(Pair { key, value, quoted });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_blank_and_syntax_errors, ctx, decode_in, get, s, try_decode};
    use crate::time::format_rfc3339;

    fn decode(line: &str) -> (DecodeContext, Event) {
        decode_in(AuditdDecoder::new(), ctx(), line)
    }

    #[test]
    fn syscall_record() {
        let (mut c, ev) = decode(
            r#"type=SYSCALL msg=audit(1604996384.965:93777): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 items=2 ppid=1 pid=2 auid=1000 uid=0 tty=pts0 ses=3 comm="dd" exe="/bin/dd" key=(null)"#,
        );
        assert_eq!(format_rfc3339(ev.time), "2020-11-10T08:19:44.965Z");
        assert_eq!(ev.logsource.to_string(), "linux/-/auditd");
        assert_eq!(s(&mut c, &ev, "type"), Some("SYSCALL"));
        assert_eq!(get(&mut c, &ev, "audit_serial"), Some(Value::Int(93777)));
        assert_eq!(s(&mut c, &ev, "syscall"), Some("59"));
        assert_eq!(s(&mut c, &ev, "a0"), Some("55d1"));
        assert_eq!(get(&mut c, &ev, "a0_hex"), None);
        assert_eq!(s(&mut c, &ev, "comm"), Some("dd"));
        assert_eq!(s(&mut c, &ev, "exe"), Some("/bin/dd"));
        assert_eq!(s(&mut c, &ev, "key"), Some("(null)"));
        assert_eq!(get(&mut c, &ev, "node"), None);
    }

    #[test]
    fn execve_and_proctitle_hex() {
        let (mut c, ev) = decode(
            r#"type=EXECVE msg=audit(1604996384.965:93777): argc=3 a0="sh" a1="-c" a2=6964202D61"#,
        );
        assert_eq!(s(&mut c, &ev, "a0"), Some("sh"));
        assert_eq!(s(&mut c, &ev, "a1"), Some("-c"));
        assert_eq!(s(&mut c, &ev, "a2"), Some("id -a"));
        assert_eq!(s(&mut c, &ev, "a2_hex"), Some("6964202D61"));
        assert_eq!(s(&mut c, &ev, "argc"), Some("3"));

        let (mut c, ev) = decode(
            "node=web1 type=PROCTITLE msg=audit(1604996384.965:93777): proctitle=2F62696E2F7368002D630069640000",
        );
        assert_eq!(s(&mut c, &ev, "node"), Some("web1"));
        assert_eq!(s(&mut c, &ev, "proctitle"), Some("/bin/sh -c id"));
        assert_eq!(
            s(&mut c, &ev, "proctitle_hex"),
            Some("2F62696E2F7368002D630069640000")
        );

        let (mut c, ev) = decode("type=SYSCALL msg=audit(1.0:1): key=6B6579310161626364 comm=FF41");
        let keys: Vec<_> = ev.get_all(c.id("key")).collect();
        assert_eq!(keys, vec![Value::Str("key1"), Value::Str("abcd")]);
        assert_eq!(s(&mut c, &ev, "comm"), Some("\u{fffd}A"));
    }

    #[test]
    fn user_record_msg_is_flattened() {
        let (mut c, ev) = decode(
            r#"type=USER_LOGIN msg=audit(1700000000.001:42): pid=9 uid=0 auid=4294967295 ses=4294967295 msg='op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=192.0.2.4 terminal=ssh res=failed'"#,
        );
        assert_eq!(
            s(&mut c, &ev, "msg"),
            Some(
                r#"op=login acct="root" exe="/usr/sbin/sshd" hostname=? addr=192.0.2.4 terminal=ssh res=failed"#
            )
        );
        assert_eq!(s(&mut c, &ev, "op"), Some("login"));
        assert_eq!(s(&mut c, &ev, "acct"), Some("root"));
        assert_eq!(s(&mut c, &ev, "addr"), Some("192.0.2.4"));
        assert_eq!(s(&mut c, &ev, "hostname"), Some("?"));
        assert_eq!(s(&mut c, &ev, "res"), Some("failed"));

        let (mut c, ev) = decode(
            "type=USER_CMD msg=audit(1700000000.001:43): pid=1 uid=1000 msg='cwd=\"/home/a\" cmd=6C73202D6C61 terminal=pts/0 res=success'",
        );
        assert_eq!(s(&mut c, &ev, "cmd"), Some("ls -la"));
    }

    #[test]
    fn syslog_wrapped_kernel_and_enriched() {
        let (mut c, ev) = decode(
            r#"Mar  3 10:01:02 host1 audispd: node=host1 type=EXECVE msg=audit(1709460062.123:5): argc=1 a0="whoami""#,
        );
        assert_eq!(s(&mut c, &ev, "node"), Some("host1"));
        assert_eq!(s(&mut c, &ev, "a0"), Some("whoami"));
        assert_eq!(format_rfc3339(ev.time), "2024-03-03T10:01:02.123Z");

        let (mut c, ev) = decode(
            r#"Mar  3 10:01:02 host2 kernel: [ 12.5] audit: type=1400 audit(1709460062.5:6): apparmor="DENIED" operation="open" profile="/usr/sbin/cupsd" name="/etc/x""#,
        );
        assert_eq!(s(&mut c, &ev, "type"), Some("1400"));
        assert_eq!(s(&mut c, &ev, "node"), Some("host2"));
        assert_eq!(s(&mut c, &ev, "apparmor"), Some("DENIED"));
        assert_eq!(s(&mut c, &ev, "name"), Some("/etc/x"));

        let (mut c, ev) = decode(
            "type=SYSCALL msg=audit(1.5:7): arch=c000003e syscall=59 key=\"x\"\u{1d}ARCH=x86_64 SYSCALL=execve AUID=\"alice\"",
        );
        assert_eq!(s(&mut c, &ev, "key"), Some("x"));
        assert_eq!(s(&mut c, &ev, "SYSCALL"), Some("execve"));
        assert_eq!(s(&mut c, &ev, "AUID"), Some("alice"));

        let (mut c, ev) = decode(
            "type=AVC msg=audit(1.5:8): avc:  denied  { read } for  pid=5 comm=\"cat\" tclass=file permissive=0",
        );
        assert_eq!(s(&mut c, &ev, "pid"), Some("5"));
        assert_eq!(s(&mut c, &ev, "tclass"), Some("file"));
    }

    #[test]
    fn errors_and_blank() {
        assert_blank_and_syntax_errors(
            AuditdDecoder::new(),
            ctx(),
            "",
            "auditd",
            &[
                "hello",
                "type=SYSCALL arch=x",
                "type= msg=audit(1.0:1): a=b",
                "type=X msg=audit(1.0:1",
                "type=X msg=audit(1.0): a=b",
                "type=X msg=audit(yesterday:1): a=b",
                "type=X msg=audit(1.0:x): a=b",
            ],
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(line in any::<String>()) {
                let _ = try_decode(&mut AuditdDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn never_panics_audit_like(
                body in "[a-z0-9]{1,4}=(\"[^\"]{0,8}\"?|'[ -~]{0,12}'?|[0-9A-F]{0,9})( |\u{1d})?",
                n in 0usize..6,
            ) {
                let line = format!("type=EXECVE msg=audit(1.5:2): {}", body.repeat(n));
                prop_assert!(try_decode(&mut AuditdDecoder::new(), &mut ctx(), &line).0.is_ok());
            }
        }
    }
}
