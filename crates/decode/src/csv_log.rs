//! CSV exports with a header row: [`CsvDecoder`].
//!
//! Owns the header state of one CSV stream and the RFC 4180 splitting of its rows. The
//! first non-blank line is the header (a leading byte-order mark and an Excel `sep=,`
//! line before it are skipped); every later non-blank line is a row. Only `,` separates
//! cells. A cell that starts with `"` is quoted: it runs to the next lone `"`, a doubled
//! `""` inside stands for one `"`, and commas inside are part of the value; text between
//! the closing quote and the next comma is appended as it is (as Python's `csv` does). A
//! `"` inside an unquoted cell is literal. A quoted cell that is not closed on its line
//! (a value spanning lines) cannot be decoded line by line and is an error for that line.
//! A line identical to the header (concatenated exports) is skipped as a repeated header.
//!
//! # Fields
//!
//! One field per cell, named by its header cell (trimmed of surrounding whitespace), with
//! the cell's text as a string, as written (not trimmed; integers stay strings, which the
//! detection engine compares numerically when a rule asks for a number). Empty cells,
//! quoted empty cells (`""`) included, and cells under an empty header cell give no
//! field. A row with fewer cells than the header is fine (exporters trim trailing empty
//! cells): the missing cells are absent. A row that yields no field at all (`,,,`)
//! carries no event.
//!
//! Event time: the value of the first header, in the order `@timestamp`, `timestamp`,
//! `Timestamp`, `time`, `Time`, `TimeGenerated`, `EventTime`, `Event Time`, `date`,
//! `Date`, `datetime` (exact names), whose cell in that row parses with
//! [`crate::time::parse_timestamp`]; unset when none does.
//!
//! # Logsource
//!
//! Unknown (default), since a CSV file does not say what wrote it, except for Windows
//! event exports: when the header has `EventID` (or EvtxECmd's `EventId`) and one of
//! `Channel`, `Provider_Name` or `SourceName`, each row is decoded as the flat Windows
//! JSON export it amounts to ([`crate::json`]): the logsource of its channel, provider
//! and event id (`windows/process_creation/sysmon` for a Sysmon 1 row), and the names a
//! JSON export gets (an EvtxECmd `Payload` column read into fields, the Security
//! stand-ins' Sysmon names).
//!
//! # Errors
//!
//! [`DecodeErrorKind::Syntax`] with format `csv`: a row with more cells than the header,
//! a quoted cell not closed on its line (in the header too: the next line is then tried
//! as the header), and a header that names no column. Nothing panics.

use memchr::memchr;
use watchfloor_event::{Event, FieldId, LogSource, Timestamp};

use crate::json::{JsonDecoder, JsonFlavour};
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "csv";

/// Headers whose value becomes the event time, best first.
const TIME_HEADERS: [&str; 11] = [
    "@timestamp",
    "timestamp",
    "Timestamp",
    "time",
    "Time",
    "TimeGenerated",
    "EventTime",
    "Event Time",
    "date",
    "Date",
    "datetime",
];

/// Decodes the lines of one CSV stream (the decoder keeps the header). See the module
/// documentation for fields, time and logsource.
#[derive(Debug, Default)]
pub struct CsvDecoder {
    /// One entry per header cell; empty until the header is read.
    columns: Vec<Column>,
    /// The header's names by field id, for handing Windows rows to the JSON decoder.
    names: Vec<(FieldId, String)>,
    /// Decodes Windows rows as the flat Windows exports they are.
    json: Option<Box<JsonDecoder>>,
    /// The header line as written, to recognise repeats.
    header_line: String,
    /// Whether the header names Windows event columns: rows are then decoded as the
    /// flat Windows JSON export they amount to.
    windows: bool,
    /// Reusable buffer for quoted cells that need unescaping.
    scratch: String,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    /// `None` for an empty header cell.
    id: Option<FieldId>,
    /// Position in [`TIME_HEADERS`], when the header is one of them.
    time_rank: Option<u8>,
}

/// A quoted cell, 1-based, that is not closed on its line.
struct Unclosed(usize);

impl Unclosed {
    fn reason(&self) -> String {
        format!(
            "quoted cell {} is not closed on this line (values spanning lines are not supported)",
            self.0
        )
    }
}

impl Clone for CsvDecoder {
    /// A copy of the header state; the JSON decoder is made again on use.
    fn clone(&self) -> Self {
        CsvDecoder {
            columns: self.columns.clone(),
            names: self.names.clone(),
            json: None,
            header_line: self.header_line.clone(),
            windows: self.windows,
            scratch: String::new(),
        }
    }
}

impl CsvDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many columns the header declares (0 before the header).
    pub fn column_count(&self) -> usize {
        self.columns.len()
    }

    fn header(&mut self, ctx: &mut DecodeContext, line: &str) -> Result<bool, DecodeErrorKind> {
        if line.trim_ascii() == "sep=," {
            return Ok(false);
        }
        let Self {
            columns,
            names,
            scratch,
            windows,
            header_line,
            ..
        } = self;
        columns.clear();
        names.clear();
        *windows = false;
        let (mut event_id, mut channel, mut provider, mut source_name) =
            (false, false, false, false);
        let mut pos = Some(0);
        while let Some(start) = pos {
            let (cell, next) = match next_cell(line, start, columns.len() + 1, scratch) {
                Ok(c) => c,
                Err(e) => {
                    columns.clear();
                    return Err(syntax(format!("header: {}", e.reason())));
                }
            };
            pos = next;
            let name = cell.trim();
            let id = (!name.is_empty()).then(|| ctx.id(name));
            if let Some(id) = id {
                names.push((id, name.to_string()));
            }
            match name {
                "EventID" | "EventId" => event_id = true,
                "Channel" => channel = true,
                "Provider_Name" => provider = true,
                "SourceName" => source_name = true,
                _ => {}
            }
            let time_rank = TIME_HEADERS
                .iter()
                .position(|h| *h == name)
                .and_then(|r| u8::try_from(r).ok());
            columns.push(Column { id, time_rank });
        }
        if columns.iter().all(|c| c.id.is_none()) {
            columns.clear();
            return Err(syntax("header row names no column".into()));
        }
        *windows = event_id && (channel || provider || source_name);
        header_line.clear();
        header_line.push_str(line);
        Ok(false)
    }

    fn row(&mut self, line: &str, ev: &mut Event) -> Result<bool, DecodeErrorKind> {
        if line == self.header_line {
            return Ok(false);
        }
        let Self {
            columns, scratch, ..
        } = self;
        let expected = columns.len();
        let mut time: Option<(u8, Timestamp)> = None;
        let mut seen = 0usize;
        let mut pos = Some(0);
        while let Some(start) = pos {
            let (cell, next) = match next_cell(line, start, seen + 1, scratch) {
                Ok(c) => c,
                Err(e) => {
                    ev.clear();
                    return Err(syntax(e.reason()));
                }
            };
            pos = next;
            let Some(&col) = columns.get(seen) else {
                // Count the surplus cells for the message.
                let mut found = seen + 1;
                while let Some(start) = pos {
                    match next_cell(line, start, found + 1, scratch) {
                        Ok((_, next)) => {
                            found += 1;
                            pos = next;
                        }
                        Err(_) => break,
                    }
                }
                ev.clear();
                return Err(syntax(format!(
                    "row has {found} cells but the header has {expected}"
                )));
            };
            seen += 1;
            if cell.is_empty() {
                continue;
            }
            if let Some(id) = col.id {
                ev.push_str(id, id, cell);
            }
            if let Some(rank) = col.time_rank
                && time.is_none_or(|(best, _)| rank < best)
                && let Some(ts) = crate::time::parse_timestamp(cell)
            {
                time = Some((rank, ts));
            }
        }
        if ev.field_count() == 0 {
            ev.clear();
            return Ok(false);
        }
        if let Some((_, ts)) = time {
            ev.time = ts;
        }
        ev.logsource = LogSource::default();
        Ok(true)
    }
}

impl LineDecoder for CsvDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if self.columns.is_empty() {
            let line = line.strip_prefix('\u{feff}').unwrap_or(line);
            if line.trim().is_empty() {
                return Ok(false);
            }
            return self.header(ctx, line);
        }
        if line.trim().is_empty() {
            return Ok(false);
        }
        let decoded = self.row(line, ev)?;
        if decoded && self.windows {
            self.as_windows_export(ctx, ev)?;
        }
        Ok(decoded)
    }
}

impl CsvDecoder {
    /// Re-decodes a Windows row as the flat Windows export it is (one JSON object of
    /// its cells), so it gets every name a JSON export gets: the Security stand-ins'
    /// Sysmon names, Defender's `antivirus` names, an EvtxECmd `Payload` or Log
    /// Analytics `EventData` column read into fields. The row's time stays when the
    /// JSON reading finds none.
    fn as_windows_export(
        &mut self,
        ctx: &mut DecodeContext,
        ev: &mut Event,
    ) -> Result<(), DecodeErrorKind> {
        let mut object = serde_json::Map::new();
        for (entry, value) in ev.fields() {
            if let Some((_, name)) = self.names.iter().find(|(id, _)| *id == entry.name) {
                object
                    .entry(name.clone())
                    .or_insert_with(|| serde_json::Value::String(value.to_string()));
            }
        }
        let json = serde_json::to_vec(&object).map_err(|e| syntax(e.to_string()))?;
        let time = ev.time;
        ev.clear();
        let decoder = self.json.get_or_insert_with(Default::default);
        decoder.decode_object_as(ctx, &json, ev, Some(JsonFlavour::WindowsFlat))?;
        if ev.time == Timestamp::default() {
            ev.time = time;
        }
        Ok(())
    }
}

fn syntax(reason: String) -> DecodeErrorKind {
    DecodeErrorKind::syntax(FORMAT, reason)
}

/// The cell starting at byte `start` of `line` (cell number `n`, for errors): its value
/// and where the next cell starts (`None` after the last cell). The value is a slice of
/// `line`, or of `scratch` when unescaping changed it.
fn next_cell<'a>(
    line: &'a str,
    start: usize,
    n: usize,
    scratch: &'a mut String,
) -> Result<(&'a str, Option<usize>), Unclosed> {
    let rest = line.get(start..).unwrap_or("");
    let Some(body) = rest.strip_prefix('"') else {
        return Ok(match memchr(b',', rest.as_bytes()) {
            Some(i) => (rest.get(..i).unwrap_or(""), Some(start + i + 1)),
            None => (rest, None),
        });
    };
    let body_start = start + 1;
    // Bytes of `body` already copied into `scratch` (only once an escape was seen).
    let mut copied: Option<usize> = None;
    let mut pos = 0;
    loop {
        let tail = body.get(pos..).unwrap_or("");
        let quote = pos + memchr(b'"', tail.as_bytes()).ok_or(Unclosed(n))?;
        if body.as_bytes().get(quote + 1) == Some(&b'"') {
            let from = copied.unwrap_or_else(|| {
                scratch.clear();
                0
            });
            // Up to and including the first quote of the pair.
            scratch.push_str(body.get(from..=quote).unwrap_or(""));
            copied = Some(quote + 2);
            pos = quote + 2;
            continue;
        }
        // `quote` closes the cell; anything up to the next comma is kept as text.
        let after = body.get(quote + 1..).unwrap_or("");
        let (extra, next) = match memchr(b',', after.as_bytes()) {
            Some(i) => (
                after.get(..i).unwrap_or(""),
                Some(body_start + quote + 1 + i + 1),
            ),
            None => (after, None),
        };
        if copied.is_none() && extra.is_empty() {
            return Ok((body.get(..quote).unwrap_or(""), next));
        }
        let from = copied.unwrap_or_else(|| {
            scratch.clear();
            0
        });
        scratch.push_str(body.get(from..quote).unwrap_or(""));
        scratch.push_str(extra);
        return Ok((scratch.as_str(), next));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ctx, decode_each, decode_reusing, get, run, s, syntax_reasons};
    use crate::time::format_rfc3339;
    use proptest::prelude::*;
    use watchfloor_event::Value;

    #[test]
    fn quoted_cells_and_plain_cells() {
        let mut ctx = ctx();
        let mut dec = CsvDecoder::new();
        let text = "Event Type,Event Name,User ID,Request Parameters,Alert,Source IP,Request User Agent,Repeated Attempts\r\n\
            AwsApiCall,ListObjects,\"{'type': 'AWSAccount', 'accountId': 'ANONYMOUS'}\",\"{'bucketName': 'x', 'Host': 'x.s3.amazonaws.com'}\", 302-2022-02-18T17:34:57Z,177.131.167.145,\"Mozilla/5.0 (KHTML, like Gecko)\",4\r\n\
            AwsApiCall,,\"say \"\"hi\"\", ok\",\"\",x\"y\",,Go-http-client/1.1";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(dec.column_count(), 8);
        assert_eq!(evs.len(), 2);
        let ev = &evs[0];
        assert_eq!(ev.field_count(), 8);
        assert_eq!(s(&mut ctx, ev, "Event Type"), Some("AwsApiCall"));
        assert_eq!(
            s(&mut ctx, ev, "User ID"),
            Some("{'type': 'AWSAccount', 'accountId': 'ANONYMOUS'}")
        );
        assert_eq!(
            s(&mut ctx, ev, "Request User Agent"),
            Some("Mozilla/5.0 (KHTML, like Gecko)")
        );
        // Values are kept as written: not trimmed, integers as strings.
        assert_eq!(s(&mut ctx, ev, "Alert"), Some(" 302-2022-02-18T17:34:57Z"));
        assert_eq!(
            get(&mut ctx, ev, "Repeated Attempts"),
            Some(Value::Str("4"))
        );
        assert_eq!(ev.logsource, LogSource::default());
        assert_eq!(ev.time, Timestamp::default(), "no time header");

        let ev = &evs[1];
        assert_eq!(s(&mut ctx, ev, "Event Name"), None);
        assert_eq!(s(&mut ctx, ev, "User ID"), Some("say \"hi\", ok"));
        assert_eq!(s(&mut ctx, ev, "Request Parameters"), None);
        assert_eq!(s(&mut ctx, ev, "Alert"), Some("x\"y\""));
        assert_eq!(s(&mut ctx, ev, "Source IP"), None);
        assert_eq!(
            s(&mut ctx, ev, "Request User Agent"),
            Some("Go-http-client/1.1")
        );
        assert_eq!(s(&mut ctx, ev, "Repeated Attempts"), None, "trimmed cell");
        assert_eq!(ev.field_count(), 4);
    }

    #[test]
    fn cell_splitting() {
        let mut scratch = String::new();
        let mut cells = |line: &str| -> Result<Vec<String>, usize> {
            let mut out = Vec::new();
            let mut pos = Some(0);
            while let Some(start) = pos {
                let (cell, next) =
                    next_cell(line, start, out.len() + 1, &mut scratch).map_err(|e| e.0)?;
                out.push(cell.to_string());
                pos = next;
            }
            Ok(out)
        };
        assert_eq!(cells(""), Ok(vec!["".into()]));
        assert_eq!(cells(",a,"), Ok(vec!["".into(), "a".into(), "".into()]));
        assert_eq!(cells("\"a,b\",c"), Ok(vec!["a,b".into(), "c".into()]));
        assert_eq!(cells("\"\"\"\""), Ok(vec!["\"".into()]));
        assert_eq!(
            cells("\"a\"\"b\"\"\",\"\""),
            Ok(vec!["a\"b\"".into(), "".into()])
        );
        assert_eq!(
            cells("\"a\"\"b\" x,y"),
            Ok(vec!["a\"b x".into(), "y".into()])
        );
        assert_eq!(cells("\"é\",ü\"ß"), Ok(vec!["é".into(), "ü\"ß".into()]));
        assert_eq!(cells("a,\"b"), Err(2));
        assert_eq!(cells("\"a\"\""), Err(1));
        assert_eq!(cells("\""), Err(1));
    }

    #[test]
    fn event_time_from_the_best_time_header() {
        let mut ctx = ctx();
        let mut dec = CsvDecoder::new();
        let text = "Date,msg,@timestamp\n\
                    2024-01-02 03:04:05,both,2024-05-06T07:08:09.5+02:00\n\
                    2024-01-02 03:04:05,fallback,not a time\n\
                    garbage,none,\n\
                    ,only-epoch-less,1700000000";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        let times: Vec<_> = evs.iter().map(|e| format_rfc3339(e.time)).collect();
        assert_eq!(
            times,
            [
                "2024-05-06T05:08:09.5Z",
                "2024-01-02T03:04:05Z",
                "1970-01-01T00:00:00Z",
                "2023-11-14T22:13:20Z",
            ]
        );
        assert_eq!(s(&mut ctx, &evs[1], "@timestamp"), Some("not a time"));
    }

    #[test]
    fn windows_exports_get_the_windows_logsource() {
        let mut ctx = ctx();
        let mut dec = CsvDecoder::new();
        let text = "TimeGenerated,EventID,Channel,Provider_Name,Image,CommandLine\n\
                    2020-06-10T02:50:56.537Z,1,Microsoft-Windows-Sysmon/Operational,,C:\\Windows\\System32\\cmd.exe,\"cmd /c \"\"whoami\"\"\"\n\
                    2020-06-10T02:50:57Z,4104,,Microsoft-Windows-PowerShell,,\n\
                    2020-06-10T02:50:58Z,,Security,,,";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            evs[0].logsource.to_string(),
            "windows/process_creation/sysmon"
        );
        assert_eq!(
            s(&mut ctx, &evs[0], "CommandLine"),
            Some("cmd /c \"whoami\"")
        );
        assert_eq!(format_rfc3339(evs[0].time), "2020-06-10T02:50:56.537Z");
        assert_eq!(evs[1].logsource.to_string(), "windows/ps_script/powershell");
        assert_eq!(evs[2].logsource.to_string(), "windows/-/security");

        let mut dec = CsvDecoder::new();
        let (evs, errs) = run(
            &mut dec,
            &mut ctx,
            "SourceName,EventID\nMicrosoft-Windows-Sysmon,22",
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(evs[0].logsource.to_string(), "windows/dns_query/sysmon");

        // EvtxECmd's CSV: `EventId`, and the event data as JSON in `Payload`.
        let mut dec = CsvDecoder::new();
        let text = "RecordNumber,EventRecordId,TimeCreated,EventId,Level,Provider,Channel,Computer,MapDescription,PayloadData1,Payload\n\
                    7,1042,2021-03-02 10:00:00.0000000,4688,LogAlways,Microsoft-Windows-Security-Auditing,Security,WS01,A new process has been created,\"Target: CORP\\bob\",\"{\"\"EventData\"\":{\"\"Data\"\":[{\"\"@Name\"\":\"\"NewProcessName\"\",\"\"#text\"\":\"\"C:\\\\Windows\\\\System32\\\\whoami.exe\"\"},{\"\"@Name\"\":\"\"CommandLine\"\",\"\"#text\"\":\"\"whoami /priv\"\"},{\"\"@Name\"\":\"\"MandatoryLabel\"\",\"\"#text\"\":\"\"S-1-16-12288\"\"}]}}\"";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            evs[0].logsource.to_string(),
            "windows/process_creation/security"
        );
        assert_eq!(
            s(&mut ctx, &evs[0], "Image"),
            Some("C:\\Windows\\System32\\whoami.exe")
        );
        assert_eq!(s(&mut ctx, &evs[0], "CommandLine"), Some("whoami /priv"));
        assert_eq!(s(&mut ctx, &evs[0], "IntegrityLevel"), Some("High"));
        assert_eq!(format_rfc3339(evs[0].time), "2021-03-02T10:00:00Z");

        // `EventID` alone is not enough.
        let mut dec = CsvDecoder::new();
        let (evs, _) = run(&mut dec, &mut ctx, "EventID,Computer\n1,host");
        assert_eq!(evs[0].logsource, LogSource::default());
    }

    #[test]
    fn errors_and_skipped_lines() {
        let mut ctx = ctx();
        let mut dec = CsvDecoder::new();
        let text = "\u{feff}sep=,\r\n\
                    \r\n\
                    \"a, b\" , ,c\r\n\
                    1,2,3\r\n\
                    1,2,3,4,\"x,y\",\r\n\
                    \"multi\r\n\
                    line\",2\r\n\
                    ,,\r\n\
                    \"a, b\" , ,c\r\n\
                    \x20\t\r\n\
                    5";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        assert_eq!(dec.column_count(), 3);
        let reasons = syntax_reasons(&errs, "csv");
        assert_eq!(
            reasons,
            vec![
                (5, "row has 6 cells but the header has 3"),
                (
                    6,
                    "quoted cell 1 is not closed on this line (values spanning lines are not supported)"
                ),
            ]
        );
        // `line",2` is a row of its own, as the lines are decoded one by one.
        assert_eq!(evs.len(), 3);
        assert_eq!(s(&mut ctx, &evs[0], "a, b"), Some("1"));
        assert_eq!(s(&mut ctx, &evs[0], "c"), Some("3"));
        assert_eq!(evs[0].field_count(), 2, "the unnamed column gives no field");
        assert_eq!(s(&mut ctx, &evs[1], "a, b"), Some("line\""));
        assert_eq!(s(&mut ctx, &evs[2], "a, b"), Some("5"));
    }

    #[test]
    fn bad_headers() {
        let mut ctx = ctx();
        let mut dec = CsvDecoder::new();
        let text = "\"open,x\n , ,\nname,\"x\"\"\"\nalice,1";
        let (evs, errs) = run(&mut dec, &mut ctx, text);
        let reasons = syntax_reasons(&errs, "csv");
        assert_eq!(
            reasons,
            vec![
                (
                    1,
                    "header: quoted cell 1 is not closed on this line (values spanning lines are not supported)"
                ),
                (2, "header row names no column"),
            ]
        );
        assert_eq!(s(&mut ctx, &evs[0], "name"), Some("alice"));
        assert_eq!(s(&mut ctx, &evs[0], "x\""), Some("1"));
    }

    #[test]
    fn decodes_into_a_reused_event() {
        let mut ctx = ctx();
        let mut ev = Event::new();
        let text = "time,user\n2024-01-01T00:00:00Z,\"b\"\"ob\"\n2024-01-01T00:00:01Z,eve";
        let n = decode_reusing(&mut CsvDecoder::new(), &mut ctx, &mut ev, text, |_, ev| {
            assert_eq!(ev.field_count(), 2);
        });
        assert_eq!(n, 2);
        assert_eq!(s(&mut ctx, &ev, "user"), Some("eve"));
    }

    // ---- properties ----

    /// RFC 4180 encoding of one cell, quoted when it must be or when `force`.
    fn encode(value: &str, force: bool) -> String {
        if force || value.contains([',', '"']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(
            lines in proptest::collection::vec(
                prop_oneof!["(?s).{0,60}", "[a-z\",\t @]{0,40}"],
                0..30,
            )
        ) {
            decode_each(&mut CsvDecoder::new(), &mut ctx(), &lines);
        }

        #[test]
        fn generated_rows_round_trip(
            names in proptest::collection::btree_set("f[A-Za-z0-9_ .]{0,8}[A-Za-z0-9_.]", 1..8),
            rows in proptest::collection::vec(
                proptest::collection::vec(("[^\r\n]{0,12}", any::<bool>()), 8),
                1..5,
            ),
            time in proptest::option::of((0usize..8, 0i64..4_000_000_000, "@timestamp|TimeGenerated|Event Time")),
            trim_trailing in any::<bool>(),
        ) {
            let mut names: Vec<String> = names.into_iter().collect();
            let time_col = time.as_ref().map(|(at, _, name)| {
                let at = (*at).min(names.len());
                names.insert(at, name.clone());
                at
            });
            let header = names.iter().map(|n| encode(n, false)).collect::<Vec<_>>().join(",");
            let mut ctx = ctx();
            let mut dec = CsvDecoder::new();
            let mut ev = Event::new();
            prop_assert_eq!(dec.decode_line(&mut ctx, &header, &mut ev), Ok(false));
            for row in &rows {
                let mut values: Vec<String> = row.iter().take(names.len()).map(|(v, _)| v.clone()).collect();
                while values.len() < names.len() {
                    values.push(String::new());
                }
                let mut want_time = Timestamp::default();
                if let (Some(at), Some((_, secs, _))) = (time_col, &time) {
                    values[at] = format_rfc3339(Timestamp(secs * 1_000_000_000));
                    want_time = Timestamp(secs * 1_000_000_000);
                }
                let mut cells: Vec<String> = values
                    .iter()
                    .zip(row.iter().map(|(_, q)| *q).chain(std::iter::repeat(false)))
                    .map(|(v, q)| encode(v, q))
                    .collect();
                if trim_trailing {
                    while cells.last().is_some_and(|c| c.is_empty()) {
                        cells.pop();
                    }
                }
                let line = cells.join(",");
                prop_assume!(line != header && !line.trim().is_empty());

                ev.clear();
                let got = dec.decode_line(&mut ctx, &line, &mut ev);
                let any_value = values.iter().any(|v| !v.is_empty());
                prop_assert_eq!(got, Ok(any_value), "{}", line);
                if !any_value {
                    continue;
                }
                for (name, value) in names.iter().zip(&values) {
                    let want = (!value.is_empty()).then_some(Value::Str(value));
                    prop_assert_eq!(get(&mut ctx, &ev, name), want, "{} in {}", name, line);
                }
                prop_assert_eq!(ev.field_count(), values.iter().filter(|v| !v.is_empty()).count());
                prop_assert_eq!(ev.time, want_time);
                prop_assert_eq!(&ev.logsource, &LogSource::default());
            }
        }
    }
}
