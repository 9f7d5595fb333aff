//! W3C Extended Log File Format, as Microsoft IIS (and others) write it: [`W3cDecoder`].
//!
//! ```text
//! #Software: Microsoft Internet Information Services 10.0
//! #Version: 1.0
//! #Date: 2019-09-03 10:04:35
//! #Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
//! 2019-09-03 10:13:36 10.0.2.15 GET /erp/conn.aspx proxy&port=3389 80 - 10.0.2.17 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 7
//! ```
//!
//! Owns the directive state of one log stream: `#Fields:` declares the columns of the
//! rows after it and may appear again mid-stream (IIS writes a fresh directive block on
//! every restart; a new `#Fields` replaces the old one); `#Date:` supplies the date of
//! rows when `#Fields` has no `date` column. `#Software:`, `#Version:`, `#Remark:`,
//! `#Start-Date:`, `#End-Date:` and any other `#` line are read as comments. Data rows are
//! separated by runs of spaces or tabs; W3C's quoted strings are not unquoted (IIS never
//! writes them: it writes `+` for a space), so a value holding a space shows up as a
//! column-count error.
//!
//! # Fields (Sigma `webserver` taxonomy)
//!
//! Every column becomes a field under its W3C name (`date`, `time`, `s-ip`, `cs-method`,
//! `cs-uri-stem`, `cs-uri-query`, `s-port`, `cs-username`, `c-ip`, `cs-host`,
//! `sc-status`, `sc-substatus`, `sc-win32-status`, `sc-bytes`, `cs-bytes`, `time-taken`,
//! `s-sitename`, `s-computername`, `cs-version`, custom fields, …), which are Sigma's
//! webserver names. A value of `-` means absent: no field. Values are kept as logged
//! except:
//!
//! - `sc-status`, `sc-substatus`, `sc-win32-status`, `s-port`, `c-port`, `time-taken`,
//!   `sc-bytes`, `cs-bytes` are [`Value::Int`] (a value that is not an integer stays a
//!   string, never an error);
//! - request-header columns get Sigma names, matched case-insensitively, and stay
//!   reachable by their W3C name as the entry's original path: `cs(User-Agent)` →
//!   `cs-user-agent`, `cs(Referer)` → `cs-referer`, `cs(Cookie)` → `cs-cookie`,
//!   `cs(Host)` → `cs-host`. Other `cs(…)`/`sc(…)` headers keep only their W3C name;
//! - in `cs(User-Agent)`, `cs(Referer)` and `cs(Cookie)` a `+` is decoded to a space,
//!   since IIS writes spaces in those as `+`. IIS does not escape a `+` of the original
//!   text, so the decoding is lossy (`+http://…` in a crawler's user agent becomes
//!   ` http://…`). When a value holds a `+`, the event therefore carries two entries: the
//!   decoded value under both names, and the value **as logged** as a second value of the
//!   W3C name only (`cs(User-Agent)`), so a rule on `cs-user-agent` sees the real user
//!   agent, a rule on `cs(User-Agent)` matches either form, and nothing is lost.
//!
//! `cs-uri` is not synthesised from `cs-uri-stem` and `cs-uri-query`: it is present only
//! when the log declares it.
//!
//! Event time: `date` + `time` (`YYYY-MM-DD`, `hh:mm:ss[.fff]`), taken as UTC, which is
//! what IIS writes (other writers may log local time, as `#Time Format: Local` says; the
//! decoder does not shift those). Without a `date` column the date of the last `#Date:`
//! directive is used. A missing or unparseable date or time leaves the event time unset;
//! `date` and `time` are also kept as string fields (they are Sigma webserver fields).
//!
//! # Logsource
//!
//! `category: webserver`, product and service unset, like [`crate::access_log`]: Sigma's
//! generic web rules use `category: webserver`, and W3C logs come from IIS, but also from
//! other servers. Only when `#Fields` declares no W3C-prefixed field at all (`c-`, `s-`,
//! `r-`, `cs-`, `sc-`, `sr-`, `rs-` or a `cs(…)`-style header), as in the Windows Firewall
//! log (`date time action protocol src-ip …`), is the logsource left unknown.
//!
//! # Errors
//!
//! [`DecodeErrorKind::Syntax`] with format `w3c`: a data row before any `#Fields`
//! directive, a row whose number of values differs from `#Fields`, and a `#Fields`
//! directive that declares no field (rows after it are then errors too until the next
//! `#Fields`). Nothing panics.

use watchfloor_event::{Event, FieldId, LogSource, Value};

use crate::syslog::{civil, parse_digits, snippet};
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "w3c";

/// Decodes W3C extended log lines, one stream at a time (the decoder keeps the state of
/// the `#Fields` and `#Date` directives). See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct W3cDecoder {
    /// The columns of the current `#Fields` directive; empty before the first one.
    columns: Vec<Column>,
    /// `category: webserver`, or unknown for non-HTTP W3C logs.
    logsource: LogSource,
    /// The date of the last `#Date:` directive, for rows without a `date` column.
    directive_date: Option<(u32, u32, u32)>,
    /// Reusable buffer for `+`-decoded values.
    scratch: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    /// A request header IIS writes with `+` for spaces.
    Plus,
    Date,
    Time,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    /// Sigma name.
    name: FieldId,
    /// W3C name as declared.
    path: FieldId,
    kind: Kind,
}

impl W3cDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many columns the current `#Fields` directive declares (0 before the first).
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    fn directive(&mut self, ctx: &mut DecodeContext, body: &str) -> Result<bool, DecodeErrorKind> {
        let Some((name, value)) = body.split_once(':') else {
            return Ok(false);
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("Fields") {
            self.columns.clear();
            let mut web = false;
            for field in value.split_ascii_whitespace() {
                web |= is_w3c_identifier(field);
                let (sigma, kind) = classify(field);
                let path = ctx.id(field);
                let name = sigma.map_or(path, |s| ctx.id(s));
                self.columns.push(Column { name, path, kind });
            }
            if self.columns.is_empty() {
                return Err(syntax("#Fields directive declares no fields".into()));
            }
            self.logsource = if web {
                LogSource::new(None, Some("webserver"), None)
            } else {
                LogSource::default()
            };
        } else if name.eq_ignore_ascii_case("Date") {
            // `#Date: 2019-09-03 10:04:35`: only the date part serves rows.
            let value = value.trim();
            let date = value.split_ascii_whitespace().next().unwrap_or(value);
            self.directive_date = parse_date(date);
        }
        Ok(false)
    }

    fn row(&mut self, line: &str, ev: &mut Event) -> Result<bool, DecodeErrorKind> {
        if self.columns.is_empty() {
            return Err(syntax(format!(
                "data line before any #Fields directive: `{}`",
                snippet(line, 40)
            )));
        }
        let Self {
            columns, scratch, ..
        } = self;
        let expected = columns.len();
        let mut date = None;
        let mut time = None;
        let mut seen = 0usize;
        let mut values = line.split_ascii_whitespace();
        for raw in values.by_ref() {
            let Some(&col) = columns.get(seen) else {
                seen += 1;
                break;
            };
            seen += 1;
            if raw == "-" {
                continue;
            }
            match col.kind {
                Kind::Str => ev.push_str(col.name, col.path, raw),
                Kind::Int => match raw.parse::<i64>() {
                    Ok(n) => ev.push(col.name, col.path, Value::Int(n)),
                    Err(_) => ev.push_str(col.name, col.path, raw),
                },
                Kind::Date => {
                    date = Some(raw);
                    ev.push_str(col.name, col.path, raw);
                }
                Kind::Time => {
                    time = Some(raw);
                    ev.push_str(col.name, col.path, raw);
                }
                Kind::Plus if raw.contains('+') => {
                    scratch.clear();
                    for (i, part) in raw.split('+').enumerate() {
                        if i > 0 {
                            scratch.push(' ');
                        }
                        scratch.push_str(part);
                    }
                    ev.push_str(col.name, col.path, scratch);
                    ev.push_str(col.path, col.path, raw);
                }
                Kind::Plus => ev.push_str(col.name, col.path, raw),
            }
        }
        if seen != expected {
            let found = seen + values.count();
            ev.clear();
            return Err(syntax(format!(
                "row has {found} values but #Fields declares {expected}"
            )));
        }
        let date = match date {
            Some(d) => parse_date(d),
            None => self.directive_date,
        };
        if let (Some((y, mo, d)), Some(t)) = (date, time.and_then(parse_time)) {
            let (h, mi, s, nanos) = t;
            if let Some(ts) = civil(y, mo, d, h, mi, s, nanos, 0) {
                ev.time = ts;
            }
        }
        ev.logsource = self.logsource.clone();
        Ok(true)
    }
}

impl LineDecoder for W3cDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // A byte-order mark can only start the file, i.e. come before the first `#Fields`.
        let line = match line.strip_prefix('\u{feff}') {
            Some(rest) if self.columns.is_empty() => rest,
            _ => line,
        };
        if line.trim_ascii().is_empty() {
            return Ok(false);
        }
        if let Some(body) = line.strip_prefix('#') {
            return self.directive(ctx, body);
        }
        self.row(line, ev)
    }
}

fn syntax(reason: String) -> DecodeErrorKind {
    DecodeErrorKind::syntax(FORMAT, reason)
}

/// The Sigma name (when it differs from the W3C name) and the kind of a `#Fields` entry.
fn classify(field: &str) -> (Option<&'static str>, Kind) {
    const HEADERS: [(&str, &str, Kind); 4] = [
        ("cs(User-Agent)", "cs-user-agent", Kind::Plus),
        ("cs(Referer)", "cs-referer", Kind::Plus),
        ("cs(Cookie)", "cs-cookie", Kind::Plus),
        ("cs(Host)", "cs-host", Kind::Str),
    ];
    if let Some(&(_, sigma, kind)) = HEADERS
        .iter()
        .find(|(w3c, _, _)| w3c.eq_ignore_ascii_case(field))
    {
        return (Some(sigma), kind);
    }
    let kind = match field {
        "date" => Kind::Date,
        "time" => Kind::Time,
        "sc-status" | "sc-substatus" | "sc-win32-status" | "s-port" | "c-port" | "time-taken"
        | "sc-bytes" | "cs-bytes" => Kind::Int,
        _ => Kind::Str,
    };
    (None, kind)
}

/// Whether `field` is a W3C prefixed identifier (`cs-method`, `s-ip`, `cs(Referer)`, …),
/// the mark of an HTTP server log.
fn is_w3c_identifier(field: &str) -> bool {
    let Some(at) = field.find(['-', '(']) else {
        return false;
    };
    matches!(
        field.get(..at),
        Some("c" | "s" | "r" | "cs" | "sc" | "sr" | "rs")
    )
}

/// `YYYY-MM-DD`.
fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    Some((
        parse_digits(b.get(0..4)?)?,
        parse_digits(b.get(5..7)?)?,
        parse_digits(b.get(8..10)?)?,
    ))
}

/// `hh:mm[:ss[.fff…]]` as hour, minute, second and nanoseconds.
fn parse_time(s: &str) -> Option<(u32, u32, u32, i32)> {
    let b = s.as_bytes();
    if b.len() < 5 || b.get(2) != Some(&b':') {
        return None;
    }
    let hour = parse_digits(b.get(0..2)?)?;
    let minute = parse_digits(b.get(3..5)?)?;
    if b.len() == 5 {
        return Some((hour, minute, 0, 0));
    }
    if b.get(5) != Some(&b':') || b.len() < 8 {
        return None;
    }
    let second = parse_digits(b.get(6..8)?)?;
    let mut nanos = 0i32;
    match b.get(8..) {
        None | Some([]) => {}
        Some([b'.', frac @ ..]) if !frac.is_empty() => {
            for (i, &c) in frac.iter().enumerate() {
                if !c.is_ascii_digit() {
                    return None;
                }
                if i < 9 {
                    nanos = nanos * 10 + i32::from(c - b'0');
                }
            }
            for _ in frac.len()..9 {
                nanos *= 10;
            }
        }
        _ => return None,
    }
    Some((hour, minute, second, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        all, ctx, decode_each, decode_reusing, get, run, syntax_reason, syntax_reasons,
    };
    use crate::time::format_rfc3339;
    use proptest::prelude::*;
    use watchfloor_event::Timestamp;

    const IIS: &str = "#Software: Microsoft Internet Information Services 10.0\r
#Version: 1.0\r
#Date: 2019-09-03 10:04:35\r
#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r
# Default traces of Tunna Tunneling tool - \"proxy&port=*&ip=*\"\r
\r
2019-09-03 10:13:36 10.0.2.15 GET /erp/conn.aspx proxy&port=3389&ip=127.0.0.1 80 - 10.0.2.17 - - 200 0 0 7\r
2019-09-03 10:13:44 10.0.2.15 POST /erp/conn.aspx proxy 80 CORP\\bob 10.0.2.17 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) http://intra/a+b 404 3 50 1500\r";

    #[test]
    fn iis_rows() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let (evs, errs) = run(&mut dec, &mut ctx, IIS);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs.len(), 2);
        assert_eq!(dec.column_count(), 15);

        let ev = &evs[0];
        assert_eq!(format_rfc3339(ev.time), "2019-09-03T10:13:36Z");
        assert_eq!(ev.logsource.to_string(), "-/webserver/-");
        assert_eq!(get(&mut ctx, ev, "date"), Some(Value::Str("2019-09-03")));
        assert_eq!(get(&mut ctx, ev, "time"), Some(Value::Str("10:13:36")));
        assert_eq!(get(&mut ctx, ev, "s-ip"), Some(Value::Str("10.0.2.15")));
        assert_eq!(get(&mut ctx, ev, "cs-method"), Some(Value::Str("GET")));
        assert_eq!(
            get(&mut ctx, ev, "cs-uri-stem"),
            Some(Value::Str("/erp/conn.aspx"))
        );
        assert_eq!(
            get(&mut ctx, ev, "cs-uri-query"),
            Some(Value::Str("proxy&port=3389&ip=127.0.0.1"))
        );
        assert_eq!(get(&mut ctx, ev, "s-port"), Some(Value::Int(80)));
        assert_eq!(get(&mut ctx, ev, "c-ip"), Some(Value::Str("10.0.2.17")));
        assert_eq!(get(&mut ctx, ev, "sc-status"), Some(Value::Int(200)));
        assert_eq!(get(&mut ctx, ev, "sc-substatus"), Some(Value::Int(0)));
        assert_eq!(get(&mut ctx, ev, "sc-win32-status"), Some(Value::Int(0)));
        assert_eq!(get(&mut ctx, ev, "time-taken"), Some(Value::Int(7)));
        // `-` is absent.
        for absent in [
            "cs-username",
            "cs-user-agent",
            "cs(User-Agent)",
            "cs-referer",
        ] {
            assert_eq!(get(&mut ctx, ev, absent), None, "{absent}");
        }
        assert_eq!(ev.field_count(), 12);

        let ev = &evs[1];
        assert_eq!(
            get(&mut ctx, ev, "cs-username"),
            Some(Value::Str("CORP\\bob"))
        );
        assert_eq!(get(&mut ctx, ev, "sc-status"), Some(Value::Int(404)));
        assert_eq!(get(&mut ctx, ev, "time-taken"), Some(Value::Int(1500)));
    }

    #[test]
    fn plus_decoding_and_header_aliases() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let (evs, errs) = run(&mut dec, &mut ctx, IIS);
        assert!(errs.is_empty(), "{errs:?}");
        let ev = &evs[1];
        let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)";
        let ua_raw = "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)";
        assert_eq!(all(&mut ctx, ev, "cs-user-agent"), vec![Value::Str(ua)]);
        assert_eq!(
            all(&mut ctx, ev, "cs(User-Agent)"),
            vec![Value::Str(ua), Value::Str(ua_raw)]
        );
        assert_eq!(
            all(&mut ctx, ev, "cs-referer"),
            vec![Value::Str("http://intra/a b")]
        );
        assert_eq!(
            all(&mut ctx, ev, "cs(Referer)"),
            vec![
                Value::Str("http://intra/a b"),
                Value::Str("http://intra/a+b")
            ]
        );

        // No `+`: one entry, reachable by both names; other columns keep `+`.
        let text = "#Fields: cs-uri-query cs(user-agent) cs(Cookie) cs(Host) cs(X-Forwarded-For)\n\
                    a+b curl/8.0 ASP.NET_SessionId=x;+y=1 www.example.com 1.2.3.4";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let ev = &evs[0];
        assert_eq!(get(&mut ctx, ev, "cs-uri-query"), Some(Value::Str("a+b")));
        assert_eq!(
            all(&mut ctx, ev, "cs-user-agent"),
            vec![Value::Str("curl/8.0")]
        );
        assert_eq!(
            all(&mut ctx, ev, "cs(user-agent)"),
            vec![Value::Str("curl/8.0")]
        );
        assert_eq!(
            get(&mut ctx, ev, "cs-cookie"),
            Some(Value::Str("ASP.NET_SessionId=x; y=1"))
        );
        assert_eq!(
            get(&mut ctx, ev, "cs-host"),
            Some(Value::Str("www.example.com"))
        );
        assert_eq!(
            get(&mut ctx, ev, "cs(Host)"),
            Some(Value::Str("www.example.com"))
        );
        assert_eq!(
            get(&mut ctx, ev, "cs(X-Forwarded-For)"),
            Some(Value::Str("1.2.3.4"))
        );
        // No date/time columns and no `#Date`: no event time.
        assert_eq!(ev.time, Timestamp::default());
    }

    #[test]
    fn fields_directive_replaces_the_old_one_and_date_directive_supplies_the_date() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let text = "#Fields: date time cs-method\n\
                    2024-01-02 03:04:05 GET\n\
                    #Software: Microsoft Internet Information Services 8.5\n\
                    #Date: 2024-02-03 00:00:00\n\
                    #Fields: time c-ip cs-host sc-bytes cs-bytes\n\
                    23:59:58.250 ::1 example.org 12 bad\n\
                    #Remark: anything: goes\n\
                    \t\n\
                    2024-01-02 03:04:05 GET";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert_eq!(evs.len(), 2);
        assert_eq!(format_rfc3339(evs[0].time), "2024-01-02T03:04:05Z");
        let ev = &evs[1];
        assert_eq!(format_rfc3339(ev.time), "2024-02-03T23:59:58.25Z");
        assert_eq!(get(&mut ctx, ev, "cs-method"), None);
        assert_eq!(get(&mut ctx, ev, "c-ip"), Some(Value::Str("::1")));
        assert_eq!(
            get(&mut ctx, ev, "cs-host"),
            Some(Value::Str("example.org"))
        );
        assert_eq!(get(&mut ctx, ev, "sc-bytes"), Some(Value::Int(12)));
        assert_eq!(get(&mut ctx, ev, "cs-bytes"), Some(Value::Str("bad")));
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, 9);
        assert_eq!(
            syntax_reason(&errs[0].1, "w3c"),
            "row has 3 values but #Fields declares 5"
        );
    }

    #[test]
    fn errors() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let text = "2019-09-03 10:13:36 GET\n\
                    #Fields: date time cs-method\n\
                    2019-09-03 10:13:36 GET /extra\n\
                    2019-09-03\n\
                    2019-09-03 10:13:36 GET\n\
                    #Fields:   \n\
                    2019-09-03 10:13:36 GET";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert_eq!(evs.len(), 1);
        let reasons = syntax_reasons(&errs, "w3c");
        assert_eq!(
            reasons,
            vec![
                (
                    1,
                    "data line before any #Fields directive: `2019-09-03 10:13:36 GET`"
                ),
                (3, "row has 4 values but #Fields declares 3"),
                (4, "row has 1 values but #Fields declares 3"),
                (6, "#Fields directive declares no fields"),
                (
                    7,
                    "data line before any #Fields directive: `2019-09-03 10:13:36 GET`"
                ),
            ]
        );
    }

    #[test]
    fn bad_times_leave_the_time_unset() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let text = "#Fields: date time x-note\n\
                    2019-13-03 10:13:36 a\n\
                    2019-09-03 25:00:00 b\n\
                    2019/09/03 10:13:36 c\n\
                    2019-09-03 10:13 d\n\
                    2019-09-03 10:13:36.1234567891 e\n\
                    2019-09-03 10:13:36. f";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let times: Vec<_> = evs.iter().map(|e| e.time).collect();
        assert_eq!(times[..3], [Timestamp::default(); 3]);
        assert_eq!(format_rfc3339(times[3]), "2019-09-03T10:13:00Z");
        assert_eq!(format_rfc3339(times[4]), "2019-09-03T10:13:36.123456789Z");
        assert_eq!(times[5], Timestamp::default());
    }

    #[test]
    fn logsource_only_for_http_fields() {
        let mut ctx = ctx();
        let mut dec = W3cDecoder::new();
        let text = "#Software: Microsoft Windows Firewall\n\
                    #Fields: date time action protocol src-ip dst-ip src-port dst-port\n\
                    2024-05-01 10:00:00 DROP TCP 10.0.0.1 10.0.0.2 5555 445\n\
                    #Fields: date time s-sitename cs-method\n\
                    2024-05-01 10:00:01 W3SVC1 GET";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs[0].logsource, LogSource::default());
        assert_eq!(get(&mut ctx, &evs[0], "dst-port"), Some(Value::Str("445")));
        assert_eq!(evs[1].logsource.category(), Some("webserver"));
        assert!(is_w3c_identifier("cs(Referer)"));
        assert!(is_w3c_identifier("sc-win32-status"));
        assert!(!is_w3c_identifier("time-taken"));
        assert!(!is_w3c_identifier("date"));
    }

    #[test]
    fn bom_and_reused_event() {
        let mut ev = Event::new();
        let text = format!("\u{feff}{IIS}");
        let n = decode_reusing(
            &mut W3cDecoder::new(),
            &mut ctx(),
            &mut ev,
            &text,
            |c, ev| {
                assert!(get(c, ev, "cs-method").is_some());
            },
        );
        assert_eq!(n, 2);
    }

    // ---- properties ----

    /// One generated column: its W3C name and the value a row holds for it.
    #[derive(Debug, Clone)]
    enum Col {
        Str(Option<String>),
        Int(Option<i64>),
        /// A user agent: spaces written as `+`.
        Agent(Option<String>),
    }

    /// The integer columns, one per generated column index (no two columns share one).
    const INT_FIELDS: [&str; 8] = [
        "sc-status",
        "sc-substatus",
        "sc-win32-status",
        "s-port",
        "c-port",
        "time-taken",
        "sc-bytes",
        "cs-bytes",
    ];

    fn col_strategy() -> impl Strategy<Value = Col> {
        // No spaces, and not exactly `-`.
        let word = "[!-~&&[^-]][!-~]{0,15}|\\p{L}{1,5}";
        prop_oneof![
            proptest::option::of(word).prop_map(Col::Str),
            proptest::option::of(any::<i64>()).prop_map(Col::Int),
            proptest::option::of("[!-*,.-~]([ !-*,-~]{0,20}[!-*,-~])?").prop_map(Col::Agent),
        ]
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(
            lines in proptest::collection::vec(
                prop_oneof![
                    "(?s).{0,60}",
                    "#(Fields|Date|Software|Version|Remark)?:?[ a-z()\\-:0-9]{0,40}",
                    "[-0-9:. +a-z()\t]{0,40}",
                ],
                0..30,
            )
        ) {
            decode_each(&mut W3cDecoder::new(), &mut ctx(), &lines);
        }

        #[test]
        fn generated_rows_round_trip(
            (year, month, day) in (1970u32..2200, 1u32..=12, 1u32..=28),
            (hh, mm, ss) in (0u32..24, 0u32..60, 0u32..60),
            millis in proptest::option::of(0u32..1000),
            date_in_directive in any::<bool>(),
            cols in proptest::collection::vec(col_strategy(), 1..=8),
        ) {
            let mut ctx = ctx();
            let mut dec = W3cDecoder::new();
            let names: Vec<String> = cols
                .iter()
                .enumerate()
                .map(|(i, c)| match c {
                    Col::Str(_) => format!("cs(X-S{i})"),
                    Col::Int(_) => INT_FIELDS[i % INT_FIELDS.len()].to_string(),
                    Col::Agent(_) => "cs(User-Agent)".to_string(),
                })
                .collect();
            let date = format!("{year:04}-{month:02}-{day:02}");
            let mut time = format!("{hh:02}:{mm:02}:{ss:02}");
            if let Some(ms) = millis {
                time.push_str(&format!(".{ms:03}"));
            }
            let mut text = String::from("#Software: test\n#Version: 1.0\n");
            let mut row;
            if date_in_directive {
                text.push_str(&format!("#Date: {date} 00:00:00\n#Fields: time {}\n", names.join(" ")));
                row = time.clone();
            } else {
                text.push_str(&format!("#Fields: date time {}\n", names.join(" ")));
                row = format!("{date} {time}");
            }
            for col in &cols {
                row.push(' ');
                match col {
                    Col::Str(None) | Col::Int(None) | Col::Agent(None) => row.push('-'),
                    Col::Str(Some(s)) => row.push_str(s),
                    Col::Int(Some(n)) => row.push_str(&n.to_string()),
                    Col::Agent(Some(a)) => row.push_str(&a.replace(' ', "+")),
                }
            }
            text.push_str(&row);

            let (evs, errs) = run(&mut dec, &mut ctx, &text);
            prop_assert!(errs.is_empty(), "{:?}", errs);
            prop_assert_eq!(evs.len(), 1);
            let ev = &evs[0];
            let nanos = i64::from(millis.unwrap_or(0)) * 1_000_000;
            let want = civil(year, month, day, hh, mm, ss, nanos as i32, 0).unwrap();
            prop_assert_eq!(ev.time, want);
            let mut agents = Vec::new();
            for (name, col) in names.iter().zip(&cols) {
                match col {
                    Col::Str(v) => prop_assert_eq!(
                        all(&mut ctx, ev, name),
                        v.iter().map(|s| Value::Str(s)).collect::<Vec<_>>()
                    ),
                    Col::Int(v) => prop_assert_eq!(
                        all(&mut ctx, ev, name),
                        v.iter().map(|n| Value::Int(*n)).collect::<Vec<_>>()
                    ),
                    Col::Agent(v) => agents.extend(v.iter().map(String::as_str)),
                }
            }
            let got: Vec<_> = all(&mut ctx, ev, "cs-user-agent");
            let want: Vec<_> = agents.iter().map(|a| Value::Str(a)).collect();
            prop_assert_eq!(got, want);
            // The W3C name also holds the value as logged, when decoding changed it.
            let logged: Vec<String> = agents.iter().map(|a| a.replace(' ', "+")).collect();
            let mut want = Vec::new();
            for (a, raw) in agents.iter().zip(&logged) {
                want.push(Value::Str(a));
                if a.contains(' ') {
                    want.push(Value::Str(raw));
                }
            }
            prop_assert_eq!(all(&mut ctx, ev, "cs(User-Agent)"), want);
            prop_assert_eq!(ev.logsource.category(), Some("webserver"));
        }
    }
}
