//! Syslog lines: [`SyslogDecoder`] for RFC 5424, RFC 3164 (with or without `<PRI>`, as in
//! Linux `/var/log/auth.log` and `/var/log/syslog`) and rsyslog's high-precision variant
//! of RFC 3164 that carries an ISO-8601 timestamp in place of the BSD one.
//!
//! This module also owns the syslog header parser and the timestamp helpers that the CEF
//! and auditd decoders reuse for lines wrapped in a syslog header.
//!
//! # Accepted shapes
//!
//! ```text
//! <165>1 2003-10-11T22:14:15.003Z host app 1234 ID47 [id@1 k="v"] message   (RFC 5424)
//! <34>Oct 11 22:14:15 mymachine su[123]: message                           (RFC 3164)
//! Mar  3 10:01:02 host sshd[4242]: message                                 (auth.log)
//! 2024-03-03T10:01:02.123456+01:00 host sshd[4242]: message                (rsyslog ISO)
//! ```
//!
//! RFC 3164 timestamps carry no year and no zone: the year is
//! [`DecodeContext::default_year`] and the zone is UTC. A BSD timestamp may carry a year
//! (`Mar  3 2024 10:01:02`) and fractional seconds, as some network devices send. A
//! `<PRI>` line whose timestamp cannot be read is still accepted, with the rest as the
//! message and the ingest time as the event time; a line with neither `<PRI>` nor a
//! timestamp is a syntax error. The tag (`program[pid]:`) is recognised when the first
//! word after the timestamp, or after the hostname, ends in `:`; a tag right after the
//! timestamp means the sender wrote no hostname.
//!
//! # Fields
//!
//! | field | value |
//! |---|---|
//! | `pri` | the `<PRI>` number (integer), when present |
//! | `facility` | facility *name* from PRI: `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`, `lpr`, `news`, `uucp`, `cron`, `authpriv`, `ftp`, `ntp`, `security`, `console`, `solaris-cron`, `local0`…`local7` |
//! | `severity` | severity *name* from PRI: `emerg`, `alert`, `crit`, `err`, `warning`, `notice`, `info`, `debug` (the numbers: severity `pri & 7`, facility `pri >> 3`) |
//! | `hostname` | the HOSTNAME field, also reachable as `host` (RFC 5424 `-` omits it) |
//! | `program` | the tag / APP-NAME, also reachable as `app_name` |
//! | `pid` | the `[pid]` / PROCID: an integer when numeric, else the string |
//! | `msgid` | RFC 5424 MSGID |
//! | `sd.<SD-ID>.<PARAM>` | each RFC 5424 structured-data parameter, unescaped |
//! | `message` | the message exactly as sent (one separating space and a UTF-8 BOM removed), also reachable as `msg` |
//!
//! A message that is a Sysmon for Linux `<Event>` is decoded as that event instead
//! (Windows-style fields, logsource `linux/<Sysmon category>/sysmon`).
//!
//! Extracted from well-known messages (only when the message has that shape):
//!
//! * **sshd** — `Accepted|Failed METHOD for [invalid user ]USER from HOST port N …`:
//!   `user`, `src_ip` (or `src_host` when HOST is not an IP address), `src_port`,
//!   `auth_method` (`password`, `publickey`, `keyboard-interactive/pam`, …), `outcome`
//!   (`success`/`failure`) and `invalid_user` (`true`, only when the line says
//!   `invalid user`). `Invalid user USER from HOST [port N]`, `Disconnected from
//!   [invalid |authenticating ]user USER HOST port N`, `Connection closed by …` (same
//!   shape), `Received disconnect from HOST port N:…`, `Connection from HOST port N on
//!   HOST port N` (adds `dst_ip`, `dst_port`), `Did not receive identification string
//!   from HOST port N` and `Unable to negotiate with HOST port N` give the same fields
//!   where present, without `outcome`.
//! * **sudo** — `USER : [REASON ; ]TTY=… ; PWD=… ; USER=… ; [GROUP=… ; ENV=… ; ]COMMAND=…`:
//!   `user` (the invoking user), `tty`, `pwd`, `target_user`, `target_group`, `env` and
//!   `command` (everything after `COMMAND=`, even if it contains ` ; `) — each of these
//!   also reachable by sudo's own key (`TTY`, `PWD`, `USER`, `GROUP`, `ENV`, `COMMAND`),
//!   as Sigma's sudo rules use them — plus `reason` (e.g. `3 incorrect password
//!   attempts`, `user NOT in sudoers`) and `outcome` (`failure` when a reason is given,
//!   `success` when a command ran without one).
//! * **su** — `[FAILED SU ](to TARGET) USER on TTY` and `Successful|FAILED su for TARGET
//!   by USER`: `target_user`, `user`, `tty`, `outcome`.
//! * **PAM** (any program) — `pam_X(svc:type): authentication failure; … rhost=H user=U`:
//!   `outcome` `failure`, `src_ip`/`src_host`, `user`; `pam_X(…): session opened|closed
//!   for user U…`: `user`.
//!
//! # Logsource
//!
//! `product: linux` always. `service` is always one of the services Sigma defines for
//! Linux, so that every line is visible to some rules (a service Sigma does not know,
//! such as `systemd`, would hide the line from the generic `syslog` rules too). By
//! program, case-insensitively:
//!
//! | program | service |
//! |---|---|
//! | `sshd`, `sshd-session`, `sshd-auth` | `sshd` |
//! | `sudo` | `sudo` |
//! | `cron`, `CRON`, `crond`, `anacron` | `cron` |
//! | `auditd`, `audispd` | `auditd` |
//! | `vsftpd` | `vsftpd` |
//! | `clamd`, `freshclam` | `clamav` |
//! | `guacd` | `guacamole` |
//! | `su`, `pkexec`, `polkitd`, `login`, `passwd`, `chpasswd`, `chage`, `chsh`, `chfn`, `gpasswd`, `newgrp`, `useradd`, `userdel`, `usermod`, `groupadd`, `groupdel`, `groupmod`, `unix_chkpwd`, `systemd-logind` (programs that write `/var/log/auth.log`) | `auth` |
//!
//! Any other program: `auth` when the facility is `auth` or `authpriv`, `cron` when it
//! is `cron`, else `syslog` (`systemd`, `kernel`, `named`, …).

use std::net::IpAddr;

use watchfloor_event::{Event, LogSource, Timestamp, Value};

use crate::json::JsonDecoder;
use crate::time::Civil;
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "syslog";

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Programs whose Sigma `service` is known, matched case-insensitively.
const SERVICES: &[(&str, &str)] = &[
    ("sshd", "sshd"),
    ("sshd-session", "sshd"),
    ("sshd-auth", "sshd"),
    ("sudo", "sudo"),
    ("cron", "cron"),
    ("crond", "cron"),
    ("anacron", "cron"),
    ("auditd", "auditd"),
    ("audispd", "auditd"),
    ("vsftpd", "vsftpd"),
    ("clamd", "clamav"),
    ("freshclam", "clamav"),
    ("guacd", "guacamole"),
    ("su", "auth"),
    ("pkexec", "auth"),
    ("polkitd", "auth"),
    ("login", "auth"),
    ("passwd", "auth"),
    ("chpasswd", "auth"),
    ("chage", "auth"),
    ("chsh", "auth"),
    ("chfn", "auth"),
    ("gpasswd", "auth"),
    ("newgrp", "auth"),
    ("useradd", "auth"),
    ("userdel", "auth"),
    ("usermod", "auth"),
    ("groupadd", "auth"),
    ("groupdel", "auth"),
    ("groupmod", "auth"),
    ("unix_chkpwd", "auth"),
    ("systemd-logind", "auth"),
];

/// Decoder of syslog lines; see the module documentation for shapes and fields.
///
/// Holds two scratch buffers for structured-data names and values, so decoding allocates
/// nothing once they have grown.
#[derive(Debug, Default)]
pub struct SyslogDecoder {
    name: String,
    value: String,
    /// Decodes the events Sysmon for Linux writes as XML messages.
    sysmon: Option<Box<JsonDecoder>>,
}

impl Clone for SyslogDecoder {
    /// A copy with fresh scratch space (the Sysmon XML decoder is made again on use).
    fn clone(&self) -> Self {
        SyslogDecoder::default()
    }
}

impl SyslogDecoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl LineDecoder for SyslogDecoder {
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
        let h = parse_header(line, ctx.default_year)
            .map_err(|reason| DecodeErrorKind::syntax(FORMAT, reason))?;
        // Sysmon for Linux: the message is the event, rendered as Windows renders one.
        if let Some(xml) = crate::log_analytics::sysmon_xml(h.message) {
            let json = crate::json::sysmon_xml_json(xml)?;
            let decoder = self.sysmon.get_or_insert_with(Default::default);
            decoder.decode_object(ctx, &json, ev)?;
            if ev.time == Default::default() {
                ev.time = h.time.unwrap_or(ctx.ingest_time);
            }
            return Ok(true);
        }
        ev.time = h.time.unwrap_or(ctx.ingest_time);
        let facility = h.pri.map(|p| p >> 3);
        if let Some(pri) = h.pri {
            ctx.put(ev, "pri", Value::Int(i64::from(pri)));
            let fac = FACILITIES.get(usize::from(pri >> 3)).copied();
            ctx.put_str(ev, "facility", fac.unwrap_or("unknown"));
            let sev = SEVERITIES.get(usize::from(pri & 7)).copied();
            ctx.put_str(ev, "severity", sev.unwrap_or("unknown"));
        }
        put_hostname(ctx, ev, h.hostname);
        if let Some(program) = h.program {
            ctx.put_aliased(ev, "program", "app_name", Value::Str(program));
        }
        if let Some(pid) = h.procid {
            put_int_or_str(ctx, ev, "pid", pid);
        }
        if let Some(msgid) = h.msgid {
            ctx.put_str(ev, "msgid", msgid);
        }
        if let Some(sd) = h.structured_data {
            let (name, value) = (&mut self.name, &mut self.value);
            // Already validated by `parse_header`; a second walk cannot fail.
            let _ = walk_sd(sd, |id, param, raw| {
                name.clear();
                name.push_str("sd.");
                name.push_str(id);
                name.push('.');
                name.push_str(param);
                value.clear();
                unescape_sd(raw, value);
                ctx.put_str(ev, name, value);
            });
        }
        ctx.put_aliased(ev, "message", "msg", Value::Str(h.message));

        let service = service_for(h.program, facility);
        ev.logsource = LogSource::new(Some("linux"), None, Some(service));
        if h.message.starts_with("pam_") {
            pam_fields(ctx, ev, h.message);
        } else if service == "sshd" {
            sshd_fields(ctx, ev, h.message);
        } else if service == "sudo" {
            sudo_fields(ctx, ev, h.message);
        } else if h.program == Some("su") {
            su_fields(ctx, ev, h.message);
        }
        Ok(true)
    }
}

/// The Sigma service for a program and facility (see the module documentation).
fn service_for(program: Option<&str>, facility: Option<u8>) -> &'static str {
    if let Some(p) = program
        && let Some(&(_, s)) = SERVICES.iter().find(|(n, _)| n.eq_ignore_ascii_case(p))
    {
        return s;
    }
    match facility {
        Some(4 | 10) => "auth",
        Some(9) => "cron",
        _ => "syslog",
    }
}

/// Adds the syslog hostname as `hostname`, also reachable as `host`.
pub(crate) fn put_hostname(ctx: &mut DecodeContext, ev: &mut Event, host: Option<&str>) {
    if let Some(host) = host {
        ctx.put_aliased(ev, "hostname", "host", Value::Str(host));
    }
}

fn put_int_or_str(ctx: &mut DecodeContext, ev: &mut Event, name: &str, v: &str) {
    match v.parse::<i64>() {
        Ok(i) => ctx.put(ev, name, Value::Int(i)),
        Err(_) => ctx.put_str(ev, name, v),
    }
}

// ---------------------------------------------------------------------------------------
// Header parsing, shared with the CEF and auditd decoders.

/// The parts of a syslog line. Absent parts (and RFC 5424 `-`) are `None`.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SyslogHeader<'a> {
    pub pri: Option<u8>,
    pub time: Option<Timestamp>,
    pub hostname: Option<&'a str>,
    pub program: Option<&'a str>,
    pub procid: Option<&'a str>,
    pub msgid: Option<&'a str>,
    /// RFC 5424 structured data, still escaped, validated by [`walk_sd`].
    pub structured_data: Option<&'a str>,
    pub message: &'a str,
}

/// The first `max` characters of `s`, for error messages.
pub(crate) fn snippet(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Parses a syslog line into its header parts and message. The error is a reason for a
/// [`DecodeErrorKind::Syntax`].
pub(crate) fn parse_header(line: &str, default_year: i16) -> Result<SyslogHeader<'_>, String> {
    let mut h = SyslogHeader::default();
    let mut rest = line;
    if let Some(r) = line.strip_prefix('<') {
        let close = r
            .bytes()
            .take(4)
            .position(|b| b == b'>')
            .ok_or_else(|| format!("`<PRI>` not closed in `{}`", snippet(line, 8)))?;
        let digits = r.get(..close).unwrap_or("");
        let pri = parse_digits(digits.as_bytes())
            .filter(|&p| p <= 191 && !digits.is_empty())
            .ok_or_else(|| format!("PRI `<{digits}>` is not a number from 0 to 191"))?;
        h.pri = u8::try_from(pri).ok();
        rest = r.get(close + 1..).unwrap_or("");
        if let Some((ver, r)) = rest.split_once(' ')
            && (1..=2).contains(&ver.len())
            && ver.bytes().all(|b| b.is_ascii_digit())
        {
            return parse_5424(h, r);
        }
    }

    let first = rest.as_bytes().first().copied();
    let after_time = match first {
        Some(c) if c.is_ascii_alphabetic() => {
            parse_bsd_timestamp(rest, default_year).map(|(ts, r)| (Some(ts), r))
        }
        Some(c) if c.is_ascii_digit() => {
            let end = rest.find(' ').unwrap_or(rest.len());
            let (tok, r) = (rest.get(..end).unwrap_or(""), rest.get(end..).unwrap_or(""));
            parse_rfc3339(tok).map(|ts| (Some(ts), r))
        }
        _ => None,
    };
    let Some((time, r)) = after_time else {
        if h.pri.is_some() {
            // `<PRI>` makes it syslog even without a readable timestamp.
            h.message = rest;
            return Ok(h);
        }
        return Err(format!(
            "expected `<PRI>` or a timestamp (`Mmm dd hh:mm:ss` or ISO 8601) at `{}`",
            snippet(rest, 24)
        ));
    };
    h.time = time;
    let r = if r.is_empty() {
        r
    } else {
        r.strip_prefix(' ').ok_or_else(|| {
            format!(
                "timestamp followed by `{}` instead of a space",
                snippet(r, 12)
            )
        })?
    };
    let r = r.trim_start_matches(' ');
    let r = match split_tag(r) {
        Some(_) => r,
        None => {
            let (host, r) = split_token(r);
            h.hostname = (!host.is_empty()).then_some(host);
            r
        }
    };
    match split_tag(r) {
        Some((program, pid, msg)) => {
            h.program = Some(program);
            h.procid = pid;
            h.message = msg;
        }
        None => h.message = r,
    }
    Ok(h)
}

/// RFC 5424 after `<PRI>VERSION `.
fn parse_5424<'a>(mut h: SyslogHeader<'a>, rest: &'a str) -> Result<SyslogHeader<'a>, String> {
    const NAMES: [&str; 5] = ["TIMESTAMP", "HOSTNAME", "APP-NAME", "PROCID", "MSGID"];
    let mut parts = rest.splitn(6, ' ');
    let mut header = [""; 5];
    for (slot, name) in header.iter_mut().zip(NAMES) {
        *slot = parts
            .next()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("RFC 5424 header has no {name} field"))?;
    }
    let nil = |s: &'a str| (s != "-").then_some(s);
    let [ts, host, app, procid, msgid] = header;
    if ts != "-" {
        h.time = Some(
            parse_rfc3339(ts)
                .ok_or_else(|| format!("RFC 5424 TIMESTAMP `{}` is invalid", snippet(ts, 40)))?,
        );
    }
    h.hostname = nil(host);
    h.program = nil(app);
    h.procid = nil(procid);
    h.msgid = nil(msgid);
    let sd_msg = parts
        .next()
        .ok_or("RFC 5424 header has no STRUCTURED-DATA field")?;
    let after_sd = if let Some(r) = sd_msg.strip_prefix('-') {
        r
    } else if sd_msg.starts_with('[') {
        let n = walk_sd(sd_msg, |_, _, _| {})?;
        h.structured_data = sd_msg.get(..n);
        sd_msg.get(n..).unwrap_or("")
    } else {
        return Err(format!(
            "RFC 5424 STRUCTURED-DATA must be `-` or `[…]`, found `{}`",
            snippet(sd_msg, 12)
        ));
    };
    h.message = if after_sd.is_empty() {
        ""
    } else {
        let msg = after_sd.strip_prefix(' ').ok_or_else(|| {
            format!(
                "RFC 5424 STRUCTURED-DATA followed by `{}` instead of a space",
                snippet(after_sd, 12)
            )
        })?;
        msg.strip_prefix('\u{feff}').unwrap_or(msg)
    };
    Ok(h)
}

/// Walks RFC 5424 structured data (`[id k="v" …][…]`) at the start of `s`, calling
/// `f(sd_id, param_name, raw_value)` for each parameter (value still escaped). Returns how
/// many bytes the structured data spans.
pub(crate) fn walk_sd<'a>(
    s: &'a str,
    mut f: impl FnMut(&'a str, &'a str, &'a str),
) -> Result<usize, String> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let id_start = i;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' | b']' => break,
                b'=' | b'"' => return Err(format!("SD-ID contains `{}`", char::from(c))),
                _ => i += 1,
            }
        }
        let id = s.get(id_start..i).unwrap_or("");
        if id.is_empty() {
            return Err("structured-data element has an empty SD-ID".into());
        }
        loop {
            match b.get(i) {
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(b' ') => {
                    i += 1;
                    let name_start = i;
                    while let Some(&c) = b.get(i) {
                        match c {
                            b'=' => break,
                            b' ' | b']' | b'"' => {
                                return Err(format!("SD-PARAM in `[{id}` is not `name=\"value\"`"));
                            }
                            _ => i += 1,
                        }
                    }
                    let name = s.get(name_start..i).unwrap_or("");
                    if b.get(i) != Some(&b'=') || name.is_empty() {
                        return Err(format!("SD-PARAM in `[{id}` is not `name=\"value\"`"));
                    }
                    if b.get(i + 1) != Some(&b'"') {
                        return Err(format!("SD-PARAM `{id}.{name}` value is not quoted"));
                    }
                    i += 2;
                    let value_start = i;
                    loop {
                        match b.get(i) {
                            Some(b'\\') => i += 2,
                            Some(b'"') => break,
                            Some(_) => i += 1,
                            None => {
                                return Err(format!(
                                    "SD-PARAM `{id}.{name}` value is never closed"
                                ));
                            }
                        }
                    }
                    f(id, name, s.get(value_start..i).unwrap_or(""));
                    i += 1;
                }
                _ => return Err(format!("structured-data element `[{id}` is never closed")),
            }
        }
    }
    Ok(i)
}

/// Appends `raw` to `out` with the RFC 5424 escapes `\"`, `\\` and `\]` resolved; other
/// backslashes stay, as the RFC requires.
fn unescape_sd(raw: &str, out: &mut String) {
    let mut rest = raw;
    while let Some((before, after)) = rest.split_once('\\') {
        out.push_str(before);
        match after.as_bytes().first() {
            Some(&c @ (b'"' | b'\\' | b']')) => {
                out.push(char::from(c));
                rest = after.get(1..).unwrap_or("");
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

/// Splits at the first space: the token and what follows the space.
pub(crate) fn split_token(s: &str) -> (&str, &str) {
    s.split_once(' ').unwrap_or((s, ""))
}

/// A syslog tag `program[pid]:` or `program:` at the start of `s`: program, pid and the
/// message after it (one space removed).
fn split_tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let (token, msg) = split_token(s);
    let tag = token.strip_suffix(':').filter(|t| !t.is_empty())?;
    let (program, pid) = match tag.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((program, pid)) => (program, Some(pid).filter(|p| !p.is_empty())),
        None => (tag, None),
    };
    if program.is_empty() || program.contains('"') {
        return None;
    }
    Some((program, pid, msg))
}

// ---------------------------------------------------------------------------------------
// Timestamps.

/// A run of ASCII digits (at most 9) as a number; `None` for anything else.
pub(crate) fn parse_digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn digits_at(b: &[u8], at: usize, len: usize) -> Option<u32> {
    parse_digits(b.get(at..at + len)?)
}

/// Fractional seconds digits at `b[at..]` as nanoseconds, and how many bytes they span.
fn fraction_at(b: &[u8], at: usize) -> (i32, usize) {
    let mut nanos = 0i32;
    let mut n = 0;
    while let Some(&c) = b.get(at + n) {
        if !c.is_ascii_digit() {
            break;
        }
        if n < 9 {
            nanos = nanos * 10 + i32::from(c - b'0');
        }
        n += 1;
    }
    for _ in n..9 {
        nanos *= 10;
    }
    (nanos, n)
}

/// A civil time with every part range-checked into the types [`Civil`] holds.
/// A leap second (`:60`) is read as `:59`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn civil(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: i32,
    offset_seconds: i32,
) -> Option<Timestamp> {
    Civil {
        year: i16::try_from(year).ok()?,
        month: i8::try_from(month).ok()?,
        day: i8::try_from(day).ok()?,
        hour: i8::try_from(hour).ok()?,
        minute: i8::try_from(minute).ok()?,
        second: i8::try_from(second.min(59)).ok()?,
        nanos,
        offset_seconds,
    }
    .to_timestamp()
}

/// `Jan`…`Dec`, case-insensitively, as 1…12.
pub(crate) fn month_from_abbr(b: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let b = b.get(..3)?;
    let m = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(b))?;
    u32::try_from(m + 1).ok()
}

/// A UTC offset: `Z`, `UTC`, `GMT`, `+hh`, `+hhmm`, `+hh:mm` (also after `UTC`/`GMT`),
/// in seconds east of UTC.
pub(crate) fn parse_offset(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("z") || s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("gmt")
    {
        return Some(0);
    }
    let s = match s.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("utc") || p.eq_ignore_ascii_case("gmt") => {
            s.get(3..).unwrap_or("")
        }
        _ => s,
    };
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hh = digits_at(b, 1, 2)?;
    let mm = match b.len() {
        3 => 0,
        5 => digits_at(b, 3, 2)?,
        6 if b.get(3) == Some(&b':') => digits_at(b, 4, 2)?,
        _ => return None,
    };
    if hh > 23 || mm > 59 {
        return None;
    }
    i32::try_from(hh * 3600 + mm * 60).ok().map(|s| s * sign)
}

/// RFC 3339 / ISO 8601: `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm|±hhmm]`; no offset means UTC.
pub(crate) fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0;
    if matches!(b.get(i), Some(b'.' | b',')) {
        let (n, len) = fraction_at(b, i + 1);
        if len == 0 {
            return None;
        }
        nanos = n;
        i += 1 + len;
    }
    let offset = match s.get(i..)? {
        "" => 0,
        zone => parse_offset(zone)?,
    };
    civil(
        digits_at(b, 0, 4)?,
        digits_at(b, 5, 2)?,
        digits_at(b, 8, 2)?,
        digits_at(b, 11, 2)?,
        digits_at(b, 14, 2)?,
        digits_at(b, 17, 2)?,
        nanos,
        offset,
    )
}

/// A BSD syslog timestamp `Mmm dd hh:mm:ss` at the start of `s` (day space- or
/// zero-padded, optional year after the day, optional fractional seconds), taken as UTC
/// in `year` unless it names its own. Returns the time and what follows it.
pub(crate) fn parse_bsd_timestamp(s: &str, year: i16) -> Option<(Timestamp, &str)> {
    let b = s.as_bytes();
    let month = month_from_abbr(b)?;
    let mut i = 3;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_len = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    let day = digits_at(b, i, day_len)?;
    i += day_len;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let mut y = u32::try_from(year).ok()?;
    if b.get(i + 4) == Some(&b' ')
        && let Some(explicit) = digits_at(b, i, 4)
    {
        y = explicit;
        i += 5;
    }
    if b.get(i + 2) != Some(&b':') || b.get(i + 5) != Some(&b':') {
        return None;
    }
    let (hh, mm, ss) = (
        digits_at(b, i, 2)?,
        digits_at(b, i + 3, 2)?,
        digits_at(b, i + 6, 2)?,
    );
    i += 8;
    let mut nanos = 0;
    if b.get(i) == Some(&b'.') {
        let (n, len) = fraction_at(b, i + 1);
        if len > 0 {
            nanos = n;
            i += 1 + len;
        }
    }
    let ts = civil(y, month, day, hh, mm, ss, nanos, 0)?;
    Some((ts, s.get(i..)?))
}

// ---------------------------------------------------------------------------------------
// Message extraction for sshd, sudo, su and PAM.

/// Adds a peer address as `<prefix>_ip` when it is an IP address, else `<prefix>_host`.
fn put_addr(ctx: &mut DecodeContext, ev: &mut Event, ip_field: &str, host_field: &str, a: &str) {
    if a.is_empty() {
        return;
    }
    if a.parse::<IpAddr>().is_ok() {
        ctx.put_str(ev, ip_field, a);
    } else {
        ctx.put_str(ev, host_field, a);
    }
}

/// The leading digits of `s` as a port.
fn port_of(s: &str) -> Option<i64> {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.get(..end)?.parse::<u16>().ok().map(i64::from)
}

/// `HOST[ port N…]`: adds `src_ip`/`src_host` and `src_port`.
fn put_peer(ctx: &mut DecodeContext, ev: &mut Event, s: &str) {
    let (host, rest) = split_token(s);
    put_addr(ctx, ev, "src_ip", "src_host", host);
    if let Some(port) = rest.strip_prefix("port ").and_then(port_of) {
        ctx.put(ev, "src_port", Value::Int(port));
    }
}

/// `[invalid user |authenticating user |user ]NAME`: adds `user` and `invalid_user`.
fn put_who(ctx: &mut DecodeContext, ev: &mut Event, who: &str) {
    let (invalid, name) = if let Some(n) = who.strip_prefix("invalid user ") {
        (true, n)
    } else if let Some(n) = who.strip_prefix("authenticating user ") {
        (false, n)
    } else if let Some(n) = who.strip_prefix("user ") {
        (false, n)
    } else {
        (false, who)
    };
    if !name.is_empty() {
        ctx.put_str(ev, "user", name);
    }
    if invalid {
        ctx.put(ev, "invalid_user", Value::Bool(true));
    }
}

/// `[WHO ]HOST port N[ [preauth]]`, read from the end because WHO may hold spaces.
fn put_who_peer(ctx: &mut DecodeContext, ev: &mut Event, s: &str) {
    let s = s.strip_suffix(" [preauth]").unwrap_or(s);
    let Some((left, port)) = s.rsplit_once(" port ") else {
        put_peer(ctx, ev, s);
        return;
    };
    let (who, host) = left.rsplit_once(' ').unwrap_or(("", left));
    put_who(ctx, ev, who);
    put_addr(ctx, ev, "src_ip", "src_host", host);
    if let Some(port) = port_of(port) {
        ctx.put(ev, "src_port", Value::Int(port));
    }
}

fn sshd_fields(ctx: &mut DecodeContext, ev: &mut Event, msg: &str) {
    let auth = msg
        .strip_prefix("Accepted ")
        .map(|r| ("success", r))
        .or_else(|| msg.strip_prefix("Failed ").map(|r| ("failure", r)));
    if let Some((outcome, rest)) = auth {
        let Some((method, rest)) = rest.split_once(" for ") else {
            return;
        };
        let Some((who, peer)) = rest.rsplit_once(" from ") else {
            return;
        };
        if method.is_empty() || method.contains(' ') {
            return;
        }
        put_who(ctx, ev, who);
        put_peer(ctx, ev, peer);
        ctx.put_str(ev, "auth_method", method);
        ctx.put_str(ev, "outcome", outcome);
    } else if let Some(rest) = msg.strip_prefix("Invalid user ") {
        let (name, peer) = rest.rsplit_once(" from ").unwrap_or((rest, ""));
        if !name.is_empty() {
            ctx.put_str(ev, "user", name);
        }
        ctx.put(ev, "invalid_user", Value::Bool(true));
        put_peer(ctx, ev, peer);
    } else if let Some(rest) = msg
        .strip_prefix("Disconnected from ")
        .or_else(|| msg.strip_prefix("Connection closed by "))
    {
        put_who_peer(ctx, ev, rest);
    } else if let Some(rest) = msg.strip_prefix("Connection from ") {
        let (src, dst) = rest.split_once(" on ").unwrap_or((rest, ""));
        put_peer(ctx, ev, src);
        let (host, rest) = split_token(dst);
        put_addr(ctx, ev, "dst_ip", "dst_host", host);
        if let Some(port) = rest.strip_prefix("port ").and_then(port_of) {
            ctx.put(ev, "dst_port", Value::Int(port));
        }
    } else if let Some(rest) = msg
        .strip_prefix("Received disconnect from ")
        .or_else(|| msg.strip_prefix("Did not receive identification string from "))
        .or_else(|| msg.strip_prefix("Unable to negotiate with "))
    {
        put_peer(ctx, ev, rest);
    }
}

/// sudo's keys and the names they get (the key stays reachable as the original name).
const SUDO_KEYS: &[(&str, &str)] = &[
    ("TTY", "tty"),
    ("PWD", "pwd"),
    ("USER", "target_user"),
    ("GROUP", "target_group"),
    ("ENV", "env"),
];

fn sudo_fields(ctx: &mut DecodeContext, ev: &mut Event, msg: &str) {
    let msg = msg.trim_start();
    let Some((user, mut rest)) = msg.split_once(" : ") else {
        return;
    };
    if user.is_empty() || user.contains(' ') {
        return;
    }
    ctx.put_str(ev, "user", user);
    let mut reason = None;
    let mut command = false;
    while !rest.is_empty() {
        if let Some(cmd) = rest.strip_prefix("COMMAND=") {
            ctx.put_aliased(ev, "command", "COMMAND", Value::Str(cmd));
            command = true;
            break;
        }
        let (segment, next) = rest.split_once(" ; ").unwrap_or((rest, ""));
        match segment.split_once('=') {
            Some((key, v)) => {
                if let Some(&(key, name)) = SUDO_KEYS.iter().find(|(k, _)| *k == key) {
                    ctx.put_aliased(ev, name, key, Value::Str(v));
                }
            }
            None if reason.is_none() => reason = Some(segment),
            None => {}
        }
        rest = next;
    }
    if let Some(reason) = reason {
        ctx.put_str(ev, "reason", reason);
        ctx.put_str(ev, "outcome", "failure");
    } else if command {
        ctx.put_str(ev, "outcome", "success");
    }
}

fn su_fields(ctx: &mut DecodeContext, ev: &mut Event, msg: &str) {
    let (failed, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(r) => (true, r),
        None => (false, msg),
    };
    if let Some(r) = rest.strip_prefix("(to ") {
        let Some((target, r)) = r.split_once(") ") else {
            return;
        };
        let (user, tty) = r.split_once(" on ").unwrap_or((r, ""));
        ctx.put_str(ev, "target_user", target);
        ctx.put_str(ev, "user", user);
        if !tty.is_empty() {
            ctx.put_str(ev, "tty", tty);
        }
        ctx.put_str(ev, "outcome", if failed { "failure" } else { "success" });
        return;
    }
    let by = msg
        .strip_prefix("Successful su for ")
        .map(|r| ("success", r))
        .or_else(|| msg.strip_prefix("FAILED su for ").map(|r| ("failure", r)));
    if let Some((outcome, r)) = by
        && let Some((target, user)) = r.split_once(" by ")
    {
        ctx.put_str(ev, "target_user", target);
        ctx.put_str(ev, "user", user);
        ctx.put_str(ev, "outcome", outcome);
    }
}

fn pam_fields(ctx: &mut DecodeContext, ev: &mut Event, msg: &str) {
    let Some((_, text)) = msg.split_once("): ") else {
        return;
    };
    if let Some(kv) = text.strip_prefix("authentication failure; ") {
        ctx.put_str(ev, "outcome", "failure");
        for token in kv.split(' ') {
            match token.split_once('=') {
                Some(("rhost", v)) => put_addr(ctx, ev, "src_ip", "src_host", v),
                Some(("user", v)) if !v.is_empty() => ctx.put_str(ev, "user", v),
                _ => {}
            }
        }
    } else if let Some(r) = text
        .strip_prefix("session opened for user ")
        .or_else(|| text.strip_prefix("session closed for user "))
    {
        let end = r.find(['(', ' ']).unwrap_or(r.len());
        if let Some(user) = r.get(..end).filter(|u| !u.is_empty()) {
            ctx.put_str(ev, "user", user);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_for_linux_messages_are_their_events() {
        let mut c = ctx();
        let mut dec = SyslogDecoder::new();
        let mut ev = Event::new();
        let line = "May 11 18:10:20 UBUNTU5 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{ff032593-a8d3-4f13-b0d6-01fc615a0f97}\"/><EventID>3</EventID><TimeCreated SystemTime=\"2022-05-11T18:10:21.000000000Z\"/><Channel>Linux-Sysmon/Operational</Channel><Computer>UBUNTU5</Computer></System><EventData><Data Name=\"Image\">/usr/bin/java</Data><Data Name=\"DestinationIp\">192.168.2.6</Data><Data Name=\"DestinationPort\">1389</Data></EventData></Event>";
        assert!(dec.decode_line(&mut c, line, &mut ev).unwrap());
        assert_eq!(ev.logsource.to_string(), "linux/network_connection/sysmon");
        assert_eq!(s(&mut c, &ev, "Image"), Some("/usr/bin/java"));
        assert_eq!(s(&mut c, &ev, "DestinationPort"), Some("1389"));
        // A broken event is an error, located like any other.
        let mut ev = Event::new();
        let broken =
            "May 11 18:10:20 UBUNTU5 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\"/>";
        assert!(dec.decode_line(&mut c, broken, &mut ev).is_err());
    }

    use crate::test_support::{
        assert_blank_and_syntax_errors, ctx_in_year, decode_in, get, s, try_decode,
    };
    use crate::time::format_rfc3339;

    fn ctx() -> DecodeContext {
        ctx_in_year(2024)
    }

    fn decode(line: &str) -> (DecodeContext, Event) {
        decode_in(SyslogDecoder::new(), ctx(), line)
    }

    #[test]
    fn auth_log_failed_password_invalid_user() {
        let (mut c, ev) = decode(
            "Mar  3 10:01:02 host sshd[4242]: Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2",
        );
        assert_eq!(format_rfc3339(ev.time), "2024-03-03T10:01:02Z");
        assert_eq!(s(&mut c, &ev, "hostname"), Some("host"));
        assert_eq!(s(&mut c, &ev, "host"), Some("host"));
        assert_eq!(s(&mut c, &ev, "program"), Some("sshd"));
        assert_eq!(s(&mut c, &ev, "app_name"), Some("sshd"));
        assert_eq!(get(&mut c, &ev, "pid"), Some(Value::Int(4242)));
        assert_eq!(s(&mut c, &ev, "user"), Some("admin"));
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("203.0.113.5"));
        assert_eq!(get(&mut c, &ev, "src_port"), Some(Value::Int(52144)));
        assert_eq!(s(&mut c, &ev, "auth_method"), Some("password"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("failure"));
        assert_eq!(get(&mut c, &ev, "invalid_user"), Some(Value::Bool(true)));
        assert_eq!(
            s(&mut c, &ev, "msg"),
            Some("Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2")
        );
        assert_eq!(ev.logsource.to_string(), "linux/-/sshd");
        assert_eq!(get(&mut c, &ev, "pri"), None);
    }

    #[test]
    fn sshd_accepted_publickey_and_others() {
        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Accepted publickey for root from 2001:db8::1 port 22 ssh2: RSA SHA256:abc",
        );
        assert_eq!(s(&mut c, &ev, "user"), Some("root"));
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("2001:db8::1"));
        assert_eq!(s(&mut c, &ev, "auth_method"), Some("publickey"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("success"));
        assert_eq!(get(&mut c, &ev, "invalid_user"), None);

        let (mut c, ev) =
            decode("Mar 13 07:00:01 srv sshd[99]: Invalid user oracle from 198.51.100.7 port 4242");
        assert_eq!(s(&mut c, &ev, "user"), Some("oracle"));
        assert_eq!(get(&mut c, &ev, "invalid_user"), Some(Value::Bool(true)));
        assert_eq!(get(&mut c, &ev, "src_port"), Some(Value::Int(4242)));
        assert_eq!(get(&mut c, &ev, "outcome"), None);

        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Disconnected from authenticating user root 198.51.100.7 port 50000 [preauth]",
        );
        assert_eq!(s(&mut c, &ev, "user"), Some("root"));
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("198.51.100.7"));
        assert_eq!(get(&mut c, &ev, "src_port"), Some(Value::Int(50000)));

        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Connection closed by invalid user a b 198.51.100.7 port 1 [preauth]",
        );
        assert_eq!(s(&mut c, &ev, "user"), Some("a b"));
        assert_eq!(get(&mut c, &ev, "invalid_user"), Some(Value::Bool(true)));

        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Failed keyboard-interactive/pam for bob from gw.example.org port 7 ssh2",
        );
        assert_eq!(
            s(&mut c, &ev, "auth_method"),
            Some("keyboard-interactive/pam")
        );
        assert_eq!(s(&mut c, &ev, "src_host"), Some("gw.example.org"));
        assert_eq!(get(&mut c, &ev, "src_ip"), None);

        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Connection from 10.0.0.9 port 5555 on 10.0.0.1 port 22 rdomain \"\"",
        );
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("10.0.0.9"));
        assert_eq!(s(&mut c, &ev, "dst_ip"), Some("10.0.0.1"));
        assert_eq!(get(&mut c, &ev, "dst_port"), Some(Value::Int(22)));

        let (mut c, ev) = decode(
            "Mar 13 07:00:01 srv sshd[99]: Received disconnect from 10.0.0.9 port 5555:11: Bye Bye [preauth]",
        );
        assert_eq!(get(&mut c, &ev, "src_port"), Some(Value::Int(5555)));
    }

    #[test]
    fn sudo_lines() {
        let (mut c, ev) = decode(
            "Mar  3 10:01:02 host sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c 'a ; b'",
        );
        assert_eq!(ev.logsource.to_string(), "linux/-/sudo");
        assert_eq!(s(&mut c, &ev, "user"), Some("alice"));
        assert_eq!(s(&mut c, &ev, "tty"), Some("pts/0"));
        assert_eq!(s(&mut c, &ev, "pwd"), Some("/home/alice"));
        assert_eq!(s(&mut c, &ev, "target_user"), Some("root"));
        assert_eq!(s(&mut c, &ev, "USER"), Some("root"));
        assert_eq!(s(&mut c, &ev, "TTY"), Some("pts/0"));
        assert_eq!(s(&mut c, &ev, "command"), Some("/bin/sh -c 'a ; b'"));
        assert_eq!(s(&mut c, &ev, "COMMAND"), Some("/bin/sh -c 'a ; b'"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("success"));
        assert_eq!(
            s(&mut c, &ev, "message"),
            Some("   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c 'a ; b'")
        );

        let (mut c, ev) = decode(
            "Mar  3 10:01:02 host sudo: mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id",
        );
        assert_eq!(s(&mut c, &ev, "reason"), Some("user NOT in sudoers"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("failure"));
        assert_eq!(s(&mut c, &ev, "command"), Some("/usr/bin/id"));

        let (mut c, ev) = decode(
            "Mar  3 10:01:02 host sudo: pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
        );
        assert_eq!(s(&mut c, &ev, "user"), Some("root"));
        assert_eq!(get(&mut c, &ev, "command"), None);
    }

    #[test]
    fn su_and_pam() {
        let (mut c, ev) = decode("Mar  3 10:01:02 host su[77]: FAILED SU (to root) alice on pts/3");
        assert_eq!(ev.logsource.to_string(), "linux/-/auth");
        assert_eq!(s(&mut c, &ev, "target_user"), Some("root"));
        assert_eq!(s(&mut c, &ev, "user"), Some("alice"));
        assert_eq!(s(&mut c, &ev, "tty"), Some("pts/3"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("failure"));

        let (mut c, ev) = decode(
            "Mar  3 10:01:02 host sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=root",
        );
        assert_eq!(s(&mut c, &ev, "outcome"), Some("failure"));
        assert_eq!(s(&mut c, &ev, "src_ip"), Some("192.0.2.1"));
        assert_eq!(s(&mut c, &ev, "user"), Some("root"));
    }

    #[test]
    fn rfc3164_with_pri() {
        let (mut c, ev) = decode(
            "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
        );
        assert_eq!(get(&mut c, &ev, "pri"), Some(Value::Int(34)));
        assert_eq!(s(&mut c, &ev, "facility"), Some("auth"));
        assert_eq!(s(&mut c, &ev, "severity"), Some("crit"));
        assert_eq!(s(&mut c, &ev, "hostname"), Some("mymachine"));
        assert_eq!(s(&mut c, &ev, "program"), Some("su"));
        assert_eq!(get(&mut c, &ev, "pid"), Some(Value::Int(123)));
        assert_eq!(
            s(&mut c, &ev, "message"),
            Some("'su root' failed for lonvick on /dev/pts/8")
        );
        assert_eq!(format_rfc3339(ev.time), "2024-10-11T22:14:15Z");
    }

    #[test]
    fn rfc3164_variants() {
        // No hostname: the tag follows the timestamp.
        let (mut c, ev) = decode("<13>Feb  5 17:32:18 kernel: [ 1.2] usb 1-1: new device");
        assert_eq!(get(&mut c, &ev, "hostname"), None);
        assert_eq!(s(&mut c, &ev, "program"), Some("kernel"));
        assert_eq!(
            s(&mut c, &ev, "message"),
            Some("[ 1.2] usb 1-1: new device")
        );
        assert_eq!(ev.logsource.to_string(), "linux/-/syslog");
        // No tag at all.
        let (mut c, ev) = decode("Feb  5 17:32:18 host -- MARK --");
        assert_eq!(get(&mut c, &ev, "program"), None);
        assert_eq!(s(&mut c, &ev, "message"), Some("-- MARK --"));
        // Year and fraction, CRON → cron, authpriv facility.
        let (mut c, ev) = decode(
            "<86>Dec 31 2019 23:59:59.250 box CRON[5]: (root) CMD (run-parts /etc/cron.hourly)",
        );
        assert_eq!(format_rfc3339(ev.time), "2019-12-31T23:59:59.25Z");
        assert_eq!(s(&mut c, &ev, "facility"), Some("authpriv"));
        assert_eq!(ev.logsource.to_string(), "linux/-/cron");
        // Unknown program on auth facility → auth.
        let (_, ev) = decode("<38>Oct 11 22:14:15 box pkexec[9]: alice: Executing command");
        assert_eq!(ev.logsource.to_string(), "linux/-/auth");
        let (_, ev) =
            decode("<30>Oct 11 22:14:15 box systemd-logind[9]: New session 4 of user bob.");
        assert_eq!(ev.logsource.to_string(), "linux/-/auth");
        let (_, ev) = decode("<30>Oct 11 22:14:15 box systemd[1]: Stopping firewalld...");
        assert_eq!(ev.logsource.to_string(), "linux/-/syslog");
        let (_, ev) = decode("Oct 11 22:14:15 box useradd[9]: new user: name=x, UID=1001");
        assert_eq!(ev.logsource.to_string(), "linux/-/auth");
        // PRI but no timestamp.
        let (mut c, ev) = decode("<13>just a message");
        assert_eq!(s(&mut c, &ev, "message"), Some("just a message"));
        assert_eq!(ev.time, c.ingest_time);
    }

    #[test]
    fn iso_timestamp_in_place_of_bsd() {
        let (mut c, ev) = decode(
            "2024-03-03T10:01:02.123456+01:00 web01 sshd[4242]: Accepted password for bob from 10.1.2.3 port 2222 ssh2",
        );
        assert_eq!(format_rfc3339(ev.time), "2024-03-03T09:01:02.123456Z");
        assert_eq!(s(&mut c, &ev, "hostname"), Some("web01"));
        assert_eq!(s(&mut c, &ev, "outcome"), Some("success"));
        let (_, ev) = decode("<34>2024-03-03T10:01:02Z web01 app: x");
        assert_eq!(format_rfc3339(ev.time), "2024-03-03T10:01:02Z");
    }

    #[test]
    fn rfc5424() {
        let (mut c, ev) = decode(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\"cation" eventID="1011"][examplePriority@32473 class="high\]"] BOMAn application event log entry"#,
        );
        assert_eq!(format_rfc3339(ev.time), "2003-10-11T22:14:15.003Z");
        assert_eq!(s(&mut c, &ev, "facility"), Some("local4"));
        assert_eq!(s(&mut c, &ev, "severity"), Some("notice"));
        assert_eq!(s(&mut c, &ev, "hostname"), Some("mymachine.example.com"));
        assert_eq!(s(&mut c, &ev, "app_name"), Some("evntslog"));
        assert_eq!(get(&mut c, &ev, "pid"), None);
        assert_eq!(s(&mut c, &ev, "msgid"), Some("ID47"));
        assert_eq!(s(&mut c, &ev, "sd.exampleSDID@32473.iut"), Some("3"));
        assert_eq!(
            s(&mut c, &ev, "sd.exampleSDID@32473.eventSource"),
            Some("Appli\"cation")
        );
        assert_eq!(
            s(&mut c, &ev, "sd.examplePriority@32473.class"),
            Some("high]")
        );
        assert_eq!(
            s(&mut c, &ev, "message"),
            Some("BOMAn application event log entry")
        );

        let (mut c, ev) = decode("<34>1 - - - - - -");
        assert_eq!(ev.time, c.ingest_time);
        assert_eq!(s(&mut c, &ev, "message"), Some(""));
        assert_eq!(get(&mut c, &ev, "hostname"), None);

        let (mut c, ev) = decode(
            "<86>1 2024-01-01T00:00:00+00:00 h sshd 77 - - \u{feff}Failed password for x from 1.1.1.1 port 1 ssh2",
        );
        assert_eq!(get(&mut c, &ev, "pid"), Some(Value::Int(77)));
        assert_eq!(s(&mut c, &ev, "user"), Some("x"));
    }

    #[test]
    fn errors_and_blank() {
        assert_blank_and_syntax_errors(
            SyslogDecoder::new(),
            ctx(),
            "   ",
            "syslog",
            &[
                "hello world",
                "<999>Oct 11 22:14:15 h p: m",
                "<34",
                "<34>1 2003-10-11T22:14:15Z host",
                "<34>1 bogus host app - - - msg",
                "<34>1 2003-10-11T22:14:15Z host app - - [id x=\"unterminated",
                "<34>1 2003-10-11T22:14:15Z host app - - [id x=1]",
                "<34>1 2003-10-11T22:14:15Z host app - - nosd",
                "Oct 11 22:14:15x h p: m",
                "Feb 30 22:14:15 h p: m",
            ],
        );
    }

    #[test]
    fn time_helpers() {
        assert_eq!(parse_offset("-0700"), Some(-7 * 3600));
        assert_eq!(parse_offset("+05:30"), Some(5 * 3600 + 1800));
        assert_eq!(parse_offset("GMT+01:00"), Some(3600));
        assert_eq!(parse_offset("EST"), None);
        assert!(parse_rfc3339("2024-13-01T00:00:00Z").is_none());
        assert!(parse_rfc3339("2024-01-01T00:00:00.Z").is_none());
        let (ts, rest) = parse_bsd_timestamp("Jan  1 00:00:00 x", 2000).unwrap();
        assert_eq!(format_rfc3339(ts), "2000-01-01T00:00:00Z");
        assert_eq!(rest, " x");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn never_panics(line in any::<String>()) {
                let _ = try_decode(&mut SyslogDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn never_panics_syslog_like(
                line in r"(<[0-9]{1,3}>)?(1 )?[A-Za-z0-9 :\[\]<>=.\x22\\-]{0,80}"
            ) {
                let _ = try_decode(&mut SyslogDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn rfc3164_round_trip(
                pri in proptest::option::of(0u8..=191),
                month in 1u32..=12,
                day in 1u32..=28,
                (hh, mm, ss) in (0u32..24, 0u32..60, 0u32..60),
                host in "[a-zA-Z0-9][a-zA-Z0-9.-]{0,20}",
                program in "[a-zA-Z][a-zA-Z0-9_/-]{0,15}",
                pid in proptest::option::of(1u32..=4_194_304),
                message in "[^\r\n]{0,60}",
            ) {
                const M: [&str; 12] = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"];
                let mut line = String::new();
                if let Some(p) = pri { line.push_str(&format!("<{p}>")); }
                line.push_str(&format!("{} {day:>2} {hh:02}:{mm:02}:{ss:02} {host} {program}", M[month as usize - 1]));
                if let Some(pid) = pid { line.push_str(&format!("[{pid}]")); }
                line.push_str(": ");
                line.push_str(&message);
                let mut c = ctx();
                let (result, ev) = try_decode(&mut SyslogDecoder::new(), &mut c, &line);
                prop_assert_eq!(result, Ok(true));
                prop_assert_eq!(s(&mut c, &ev, "hostname"), Some(host.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "program"), Some(program.as_str()));
                prop_assert_eq!(get(&mut c, &ev, "pid"), pid.map(|p| Value::Int(i64::from(p))));
                prop_assert_eq!(s(&mut c, &ev, "message"), Some(message.as_str()));
                prop_assert_eq!(ev.time, civil(2024, month, day, hh, mm, ss, 0, 0).unwrap());
            }

            #[test]
            fn rfc5424_round_trip(
                pri in 0u8..=191,
                host in "[!-~]{1,30}",
                app in "[!-~]{1,20}",
                procid in "[0-9]{1,6}",
                msgid in "[!-~]{1,12}",
                params in proptest::collection::vec(("[a-z]{1,8}", "[^\r\n]{0,20}"), 0..4),
                message in "[^\r\n]{0,60}",
                nanos in 0u32..1_000_000_000,
            ) {
                prop_assume!(host != "-" && app != "-" && msgid != "-");
                let mut sd = String::new();
                if params.is_empty() {
                    sd.push('-');
                } else {
                    sd.push_str("[test@1");
                    for (i, (k, v)) in params.iter().enumerate() {
                        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace(']', "\\]");
                        sd.push_str(&format!(" {k}{i}=\"{escaped}\""));
                    }
                    sd.push(']');
                }
                let line = format!(
                    "<{pri}>1 2021-07-01T12:34:56.{nanos:09}Z {host} {app} {procid} {msgid} {sd} {message}"
                );
                let mut c = ctx();
                let (result, ev) = try_decode(&mut SyslogDecoder::new(), &mut c, &line);
                prop_assert_eq!(result, Ok(true));
                prop_assert_eq!(s(&mut c, &ev, "hostname"), Some(host.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "program"), Some(app.as_str()));
                prop_assert_eq!(get(&mut c, &ev, "pid").and_then(|v| v.as_i64()), procid.parse::<i64>().ok());
                prop_assert_eq!(s(&mut c, &ev, "msgid"), Some(msgid.as_str()));
                let expected_msg = message.strip_prefix('\u{feff}').unwrap_or(&message);
                prop_assert_eq!(s(&mut c, &ev, "message"), Some(expected_msg));
                for (i, (k, v)) in params.iter().enumerate() {
                    let name = format!("sd.test@1.{k}{i}");
                    prop_assert_eq!(s(&mut c, &ev, &name), Some(v.as_str()));
                }
                prop_assert_eq!(ev.time, civil(2021, 7, 1, 12, 34, 56, nanos as i32, 0).unwrap());
            }
        }
    }
}
