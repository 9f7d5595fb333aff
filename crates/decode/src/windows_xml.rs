//! Windows events as XML: `wevtutil qe /f:xml` and `/f:RenderedXml`, PowerShell's
//! `ToXml()`, Event Viewer's "Save as XML", forwarded-event and SIEM exports. Each
//! `<Event>` element (one per line, or many inside an `<Events>` document) becomes the
//! nested JSON an EVTX record renders to, so XML, EVTX and exported JSON give identical
//! events under the same Sigma names:
//!
//! - `System` children keep their element names; attributes become `#attributes`
//!   (`Provider_Name`, `TimeCreated_SystemTime`, `Execution_ProcessID`,
//!   `Security_UserID`, `EventID_Qualifiers` once named);
//! - `EventData`'s `<Data Name="X">` is field `X`; unnamed `<Data>` items are `Data`;
//! - `UserData` elements are named by their leaf (`SubjectUserName`);
//! - of `RenderingInfo` only the `Message` is kept;
//! - an empty element is `null`, an empty `Data` item empty text (as EVTX renders them).
//!
//! Text stays text: rules meet numbers in text as numbers (`EventID: 4688`).

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event as Xml};
use serde_json::{Map, Value as Json};

/// One element being read.
#[derive(Default)]
struct Frame {
    name: String,
    attributes: Map<String, Json>,
    children: Map<String, Json>,
    text: String,
    /// Inside `RenderingInfo`, a child other than `Message`: read but not kept.
    dropped: bool,
}

/// Reads the `<Event>` elements of XML text one after another.
pub struct XmlEvents<R: BufRead> {
    reader: Reader<LineCounting<R>>,
    buf: Vec<u8>,
    stack: Vec<Frame>,
    done: bool,
    /// The largest event taken, in bytes of XML; a larger one is reported and skipped.
    max_event_bytes: u64,
    /// Where the event being read started: byte offset and line.
    started_at: u64,
    started_line: u64,
}

/// Counts the line breaks of what is consumed, so an event is placed by its line.
struct LineCounting<R> {
    inner: R,
    lines: u64,
}

impl<R: BufRead> std::io::Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            self.lines += memchr::memchr_iter(b'\n', &buf[..amt]).count() as u64;
        }
        self.inner.consume(amt);
    }
}

impl<R: BufRead> XmlEvents<R> {
    pub fn new(input: R, max_event_bytes: usize) -> Self {
        // Text is kept as written (a command line's spaces around `&amp;` count); the
        // indentation between elements is dropped when the element closes.
        let reader = Reader::from_reader(LineCounting {
            inner: input,
            lines: 0,
        });
        XmlEvents {
            reader,
            buf: Vec::new(),
            stack: Vec::new(),
            done: false,
            max_event_bytes: max_event_bytes as u64,
            started_at: 0,
            started_line: 0,
        }
    }

    /// The line (1-based) the last event returned, or the error, began on.
    pub fn line(&self) -> u64 {
        self.started_line
    }

    /// The next event as evtx-shaped JSON (`{"Event": {...}}`); `None` at the end. After
    /// an error the event being read is dropped and reading goes on from the next
    /// `<Event>`; malformed XML that cannot be resynchronised ends the input.
    pub fn next_event(&mut self) -> Option<Result<Vec<u8>, String>> {
        if self.done {
            return None;
        }
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => {
                    let at = self.reader.error_position();
                    if self.stack.is_empty() {
                        self.started_line = self.reader.get_ref().lines + 1;
                    }
                    self.stack.clear();
                    // A syntax error leaves the reader where it cannot go on safely.
                    self.done = true;
                    return Some(Err(format!("XML at byte {at}: {e}")));
                }
            };
            if !self.stack.is_empty()
                && self.reader.buffer_position() - self.started_at > self.max_event_bytes
            {
                self.stack.clear();
                return Some(Err(format!(
                    "event larger than the limit of {} bytes; skipped",
                    self.max_event_bytes
                )));
            }
            let empty = matches!(event, Xml::Empty(_));
            match event {
                Xml::Eof => {
                    self.done = true;
                    if self.stack.is_empty() {
                        return None;
                    }
                    self.stack.clear();
                    return Some(Err("the input ends inside an <Event> element".into()));
                }
                Xml::Start(start) | Xml::Empty(start) => {
                    let at = self.reader.buffer_position();
                    if self.stack.is_empty() {
                        self.started_line = self.reader.get_ref().lines + 1;
                    }
                    if let Err(e) = open(&mut self.stack, &mut self.started_at, at, &start) {
                        self.stack.clear();
                        return Some(Err(e));
                    }
                    // `<Data Name='x'/>` opens and closes at once.
                    if empty && let Some(json) = close(&mut self.stack) {
                        return Some(Ok(json));
                    }
                }
                Xml::End(_) => {
                    if let Some(json) = close(&mut self.stack) {
                        return Some(Ok(json));
                    }
                }
                Xml::Text(text) => {
                    if let Some(top) = self.stack.last_mut() {
                        // As written: line ends inside values stay as the event had
                        // them (`\r\n` in a privilege list), as EVTX gives them.
                        match text.decode() {
                            Ok(t) => top.text.push_str(&t),
                            Err(e) => return Some(Err(format!("text: {e}"))),
                        }
                    }
                }
                Xml::CData(data) => {
                    if let Some(top) = self.stack.last_mut() {
                        top.text.push_str(&String::from_utf8_lossy(&data));
                    }
                }
                Xml::GeneralRef(reference) => {
                    if let Some(top) = self.stack.last_mut()
                        && let Err(e) = push_reference(&mut top.text, &reference)
                    {
                        return Some(Err(e));
                    }
                }
                // Declarations, comments, processing instructions, doctypes.
                _ => {}
            }
        }
    }
}

/// Appends what an entity or character reference stands for (`&amp;`, `&#65;`); an
/// unknown entity is kept as written.
pub(crate) fn push_reference(text: &mut String, reference: &BytesRef<'_>) -> Result<(), String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) => text.push(c),
        Ok(None) => {
            let name = String::from_utf8_lossy(reference).into_owned();
            match resolve_predefined_entity(&name) {
                Some(s) => text.push_str(s),
                None => text.push_str(&format!("&{name};")),
            }
        }
        Err(e) => return Err(format!("reference: {e}")),
    }
    Ok(())
}

/// Starts an element: an `Event` outside any event starts one (at byte `at`); elements
/// outside events (an `<Events>` wrapper) are passed over.
fn open(
    stack: &mut Vec<Frame>,
    started_at: &mut u64,
    at: u64,
    start: &BytesStart<'_>,
) -> Result<(), String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    if stack.is_empty() {
        if name != "Event" {
            return Ok(());
        }
        *started_at = at;
    }
    let dropped = stack.last().is_some_and(|parent| {
        parent.dropped || (parent.name == "RenderingInfo" && name != "Message")
    });
    let mut frame = Frame {
        name,
        dropped,
        ..Frame::default()
    };
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("attribute: {e}"))?;
        // The qualified name, as EVTX renders it (`xmlns:auto-ns3`).
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .unescape_value()
            .map_err(|e| format!("attribute `{key}`: {e}"))?;
        frame
            .attributes
            .insert(key, Json::String(value.into_owned()));
    }
    stack.push(frame);
    Ok(())
}

/// Ends the innermost element; returns the event's JSON when it was the `Event`.
fn close(stack: &mut Vec<Frame>) -> Option<Vec<u8>> {
    let frame = stack.pop()?;
    let Some(parent) = stack.last_mut() else {
        let mut root = Map::new();
        root.insert("Event".into(), frame.into_json());
        return serde_json::to_vec(&Json::Object(root)).ok();
    };
    if frame.dropped {
        return None;
    }
    let (key, value) = if parent.name == "EventData" && frame.name == "Data" {
        match frame.attributes.get("Name").and_then(Json::as_str) {
            Some(name) => (name.to_string(), Json::String(frame.text)),
            None => ("Data".to_string(), Json::String(frame.text)),
        }
    } else {
        (frame.name.clone(), frame.into_json())
    };
    match parent.children.get_mut(&key) {
        Some(Json::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Json::Array(vec![first, value]);
        }
        None => {
            parent.children.insert(key, value);
        }
    }
    None
}

impl Frame {
    fn into_json(self) -> Json {
        if self.attributes.is_empty() && self.children.is_empty() {
            return text_or_null(self.text);
        }
        let mut object = self.children;
        if !self.attributes.is_empty() {
            object.insert("#attributes".into(), Json::Object(self.attributes));
        }
        if !self.text.trim().is_empty() {
            object.insert("#text".into(), Json::String(self.text));
        }
        Json::Object(object)
    }
}

/// An element's text; an empty element is `null`, as EVTX renders it.
fn text_or_null(text: String) -> Json {
    if text.is_empty() {
        Json::Null
    } else {
        Json::String(text)
    }
}

/// Whether text starting with `head` looks like Windows event XML.
pub fn looks_like_event_xml(head: &[u8]) -> bool {
    let start = head.trim_ascii_start();
    let window = &head[..head.len().min(4096)];
    // `<Event>` or `<Event xmlns=…>`, not `<EventLog>`.
    let has_event = memchr::memmem::find_iter(window, b"<Event").any(|at| {
        window
            .get(at + 6)
            .is_none_or(|&b| b == b'>' || b == b'/' || b.is_ascii_whitespace())
    });
    (start.starts_with(b"<Event") || start.starts_with(b"<?xml")) && has_event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(xml: &str) -> Vec<Result<Json, String>> {
        let mut reader = XmlEvents::new(xml.as_bytes(), 1 << 20);
        let mut out = Vec::new();
        while let Some(next) = reader.next_event() {
            out.push(next.map(|b| serde_json::from_slice(&b).unwrap()));
        }
        out
    }

    const SYSMON: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/><EventID>1</EventID><TimeCreated SystemTime='2023-05-01T10:00:01.000000000Z'/><EventRecordID>1234</EventRecordID><Correlation/><Execution ProcessID='1' ThreadID='2'/><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS01.corp.local</Computer><Security UserID='S-1-5-18'/></System><EventData><Data Name='Image'>C:\\Windows\\System32\\whoami.exe</Data><Data Name='CommandLine'>whoami /all &amp; echo &#x41;</Data><Data Name='Empty'/></EventData></Event>";

    #[test]
    fn an_event_renders_as_evtx_json() {
        let got = events(SYSMON);
        assert_eq!(got.len(), 1);
        let e = &got[0].as_ref().unwrap()["Event"];
        assert_eq!(
            e["System"]["Provider"]["#attributes"]["Name"],
            "Microsoft-Windows-Sysmon"
        );
        assert_eq!(e["System"]["EventID"], "1");
        assert_eq!(
            e["System"]["TimeCreated"]["#attributes"]["SystemTime"],
            "2023-05-01T10:00:01.000000000Z"
        );
        assert_eq!(e["EventData"]["CommandLine"], "whoami /all & echo A");
        assert_eq!(
            e["EventData"]["Empty"], "",
            "empty text, as EVTX renders it"
        );
        assert_eq!(e["System"]["Correlation"], Json::Null);
    }

    #[test]
    fn documents_unnamed_data_user_data_and_rendering_info() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Events>\n<Event>\n  <System>\n    <EventID Qualifiers=\"16384\">7045</EventID>\n    <Channel>System</Channel>\n  </System>\n  <EventData><Data>first</Data><Data>second</Data></EventData>\n  <RenderingInfo Culture=\"en-US\"><Message>A service was installed.</Message><Level>Information</Level></RenderingInfo>\n</Event>\n<Event><System><EventID>1102</EventID></System><UserData><LogFileCleared xmlns=\"x\"><SubjectUserName>bob</SubjectUserName></LogFileCleared></UserData></Event>\n</Events>\n";
        let got = events(xml);
        assert_eq!(got.len(), 2, "{got:?}");
        let first = &got[0].as_ref().unwrap()["Event"];
        assert_eq!(first["System"]["EventID"]["#text"], "7045");
        assert_eq!(
            first["System"]["EventID"]["#attributes"]["Qualifiers"],
            "16384"
        );
        assert_eq!(
            first["EventData"]["Data"],
            serde_json::json!(["first", "second"])
        );
        assert_eq!(
            first["RenderingInfo"]["Message"],
            "A service was installed."
        );
        assert!(first["RenderingInfo"].get("Level").is_none());
        let second = &got[1].as_ref().unwrap()["Event"];
        assert_eq!(
            second["UserData"]["LogFileCleared"]["SubjectUserName"],
            "bob"
        );
    }

    #[test]
    fn broken_xml_is_an_error_not_a_panic() {
        let got = events("<Event><System><EventID>1</EventID></System>");
        assert!(matches!(got.last(), Some(Err(e)) if e.contains("ends inside")));
        let got = events("<Event><System><EventID>1</Channel></System></Event>");
        assert!(matches!(got.last(), Some(Err(_))), "{got:?}");
        let got = events(&format!(
            "{SYSMON}\n<Event><System a='1' a='2'/></Event>\n{SYSMON}"
        ));
        assert!(got[0].is_ok());
        assert!(got.iter().any(Result::is_err), "{got:?}");
        assert!(events("").is_empty());
    }

    #[test]
    fn an_event_over_the_limit_is_skipped() {
        let big = format!(
            "<Event><EventData><Data Name='x'>{}</Data></EventData></Event>\n{SYSMON}",
            "a".repeat(5000)
        );
        let mut reader = XmlEvents::new(big.as_bytes(), 1000);
        let first = reader.next_event().unwrap();
        assert!(matches!(first, Err(e) if e.contains("larger than")));
        let second = reader.next_event().unwrap().unwrap();
        assert!(String::from_utf8(second).unwrap().contains("whoami"));
        assert!(reader.next_event().is_none());
    }

    #[test]
    fn recognised_by_its_first_bytes() {
        assert!(looks_like_event_xml(SYSMON.as_bytes()));
        assert!(looks_like_event_xml(
            b"<?xml version='1.0'?>\n<Events><Event>"
        ));
        assert!(!looks_like_event_xml(b"<?xml version='1.0'?>\n<html>"));
        assert!(!looks_like_event_xml(
            b"<?xml version='1.0'?>\n<EventLogs><EventLog/>"
        ));
        assert!(!looks_like_event_xml(b"{\"EventID\": 1}"));
    }
}
