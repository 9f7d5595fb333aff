//! Windows events exported as XML (`wevtutil qe /f:xml`, `ToXml()`, Event Viewer): one
//! per line or in an `<Events>` document, UTF-8 or UTF-16 as Windows PowerShell writes
//! it. Each becomes the event its EVTX record would give; a broken event is reported
//! with its place and the rest is decoded.

use std::io::Cursor;
use std::sync::Arc;

use watchfloor_decode::{Collect, DecodeContext, DecodeErrorKind, FileDecoder, Format};
use watchfloor_event::{FieldCache, FieldTable, Value};

const PROCESS: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4688</EventID><TimeCreated SystemTime='2023-05-01T10:00:00.123456700Z'/><EventRecordID>17</EventRecordID><Channel>Security</Channel><Computer>WS01.corp.local</Computer></System><EventData><Data Name='SubjectUserName'>bob</Data><Data Name='NewProcessName'>C:\\Windows\\System32\\whoami.exe</Data><Data Name='CommandLine'>whoami /all</Data></EventData></Event>";

const CLEARED: &str = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\r\n  <System>\r\n    <Provider Name=\"Microsoft-Windows-Eventlog\" />\r\n    <EventID>1102</EventID>\r\n    <TimeCreated SystemTime=\"2023-05-01T10:05:00Z\" />\r\n    <Channel>Security</Channel>\r\n    <Computer>WS01.corp.local</Computer>\r\n  </System>\r\n  <UserData>\r\n    <LogFileCleared xmlns=\"http://manifests.microsoft.com/win/2004/08/windows/eventlog\">\r\n      <SubjectUserName>bob</SubjectUserName>\r\n    </LogFileCleared>\r\n  </UserData>\r\n</Event>";

fn decode(name: &str, bytes: Vec<u8>) -> (Collect, Arc<FieldTable>, Option<Format>) {
    let table = FieldTable::new();
    let mut dec = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    let mut sink = Collect::default();
    let report = dec.decode_stream(Arc::from(name), Cursor::new(bytes), &mut sink);
    (sink, table, report.format)
}

fn text<'a>(table: &FieldTable, ev: &'a watchfloor_decode::Event, name: &str) -> Option<String> {
    let id = table.lookup(name)?;
    ev.get(id).map(|v: Value<'a>| v.to_string())
}

#[test]
fn one_event_per_line_and_a_pretty_document_decode_alike() {
    let lines = format!("{PROCESS}\n{PROCESS}\n");
    let (sink, table, format) = decode("events.xml", lines.into_bytes());
    assert_eq!(format, Some(Format::WindowsXml));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.events.len(), 2);
    let ev = &sink.events[0];
    assert_eq!(
        ev.logsource.to_string(),
        "windows/process_creation/security"
    );
    assert_eq!(
        text(&table, ev, "CommandLine").as_deref(),
        Some("whoami /all")
    );
    assert_eq!(
        text(&table, ev, "Image").as_deref(),
        Some("C:\\Windows\\System32\\whoami.exe"),
        "the 4688 names Sysmon rules use"
    );
    assert_eq!(ev.source.record, 1, "placed by line");
    assert_eq!(sink.events[1].source.record, 2);

    let document = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Events>\r\n{CLEARED}\r\n{PROCESS}\r\n</Events>\r\n"
    );
    let (sink, table, _) = decode("saved.xml", document.into_bytes());
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.events.len(), 2);
    let cleared = &sink.events[0];
    assert_eq!(
        text(&table, cleared, "Provider_Name").as_deref(),
        Some("Microsoft-Windows-Eventlog")
    );
    assert_eq!(
        text(&table, cleared, "SubjectUserName").as_deref(),
        Some("bob")
    );
    assert_eq!(text(&table, cleared, "EventID").as_deref(), Some("1102"));
    assert_eq!(cleared.source.record, 3, "the line its <Event> starts on");
    assert_eq!(sink.events[1].source.record, 17);
}

#[test]
fn utf16_as_windows_powershell_writes_it() {
    let mut bytes = vec![0xff, 0xfe];
    for unit in format!("{PROCESS}\r\n").encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let (sink, table, format) = decode("ps-out.xml", bytes);
    assert_eq!(format, Some(Format::WindowsXml));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.events.len(), 1);
    assert_eq!(
        text(&table, &sink.events[0], "Computer").as_deref(),
        Some("WS01.corp.local")
    );
    // The same for JSON lines.
    let mut bytes = vec![0xff, 0xfe];
    for unit in "{\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"CommandLine\":\"whoami\"}\r\n".encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let (sink, _, format) = decode("ps-out.json", bytes);
    assert_eq!(format, Some(Format::Json));
    assert_eq!(sink.events.len(), 1, "{:?}", sink.errors);
}

#[test]
fn a_broken_event_is_located_and_the_rest_decoded() {
    let broken = PROCESS.replace(
        "<Data Name='CommandLine'>",
        "<Data Name='CommandLine' Name='x'>",
    );
    let input = format!("{PROCESS}\n{broken}\n{PROCESS}\n");
    let (sink, _, _) = decode("mixed.xml", input.into_bytes());
    assert_eq!(sink.events.len(), 2, "{:?}", sink.errors);
    assert_eq!(sink.errors.len(), 1);
    let err = &sink.errors[0];
    assert_eq!(&*err.input, "mixed.xml");
    assert_eq!(err.record, 2, "the second line");
    assert!(
        matches!(&err.kind, DecodeErrorKind::Syntax { format, .. } if *format == "Windows event XML"),
        "{err}"
    );
    // Cut short: the events before the cut are kept, the cut is reported.
    let cut = format!("{PROCESS}\n{}", &PROCESS[..200]);
    let (sink, _, _) = decode("cut.xml", cut.into_bytes());
    assert_eq!(sink.events.len(), 1);
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    // A document whose only events are of another kind says so instead of passing
    // over in silence.
    let (sink, _, _) = decode(
        "other.xml",
        b"<?xml version='1.0'?>\n<Events>\n<EventRecord/>\n<Event/>\n</Events>\n".to_vec(),
    );
    assert_eq!(sink.events.len(), 1, "{:?}", sink.errors);
    let (sink, _, _) = decode("empty.xml", b"<Event xmlns='x'></Event>".to_vec());
    assert_eq!(sink.events.len(), 1, "{:?}", sink.errors);
    let (sink, _, _) = decode(
        "none.xml",
        b"<?xml version='1.0'?>\n<Events>\n<Event>\n".to_vec(),
    );
    assert!(sink.events.is_empty());
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
}
