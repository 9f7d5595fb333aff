//! Microsoft Log Analytics (Microsoft Sentinel) exports of Windows and Linux events.
//!
//! - `SecurityEvent` and `WindowsEvent` rows carry an event's data as one string column,
//!   `EventData`: XML (`<EventData><Data Name="X">…</Data>…</EventData>`) or a JSON
//!   object. [`event_data_fields`] reads it into the fields an EVTX rendering has, so
//!   rules meet `Image`, `CommandLine`, `Application` as in any other export.
//! - `Syslog` rows from Sysmon for Linux carry the whole `<Event>` as `SyslogMessage`;
//!   [`sysmon_xml`] spots them, and the caller decodes the XML as an event of its own.

use quick_xml::Reader;
use quick_xml::events::Event as Xml;
use serde_json::Value as Json;

use crate::windows_xml::push_reference;

/// The named items of an `EventData` column: XML `Data` elements (an unnamed one is
/// `Data`) or the members of a JSON object (nested values as JSON text). `None` when the
/// text is neither; an XML or JSON syntax error gives what was read before it.
pub fn event_data_fields(text: &str) -> Option<Vec<(String, String)>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<Json>(trimmed) else {
            return None;
        };
        let fields = map
            .into_iter()
            .map(|(name, value)| {
                let text = match value {
                    Json::String(s) => s,
                    Json::Null => String::new(),
                    other => other.to_string(),
                };
                (name, text)
            })
            .collect();
        Some(fields)
    } else if trimmed.starts_with('<') {
        Some(xml_data_items(trimmed))
    } else {
        None
    }
}

/// The `<Data Name="X">value</Data>` items of an `EventData` element.
fn xml_data_items(xml: &str) -> Vec<(String, String)> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    // The item being read: its name and text so far.
    let mut open: Option<(String, String)> = None;
    loop {
        match reader.read_event() {
            Ok(Xml::Start(start)) if start.local_name().as_ref() == b"Data" => {
                let name = start
                    .try_get_attribute("Name")
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                    .unwrap_or_else(|| "Data".to_string());
                open = Some((name, String::new()));
            }
            Ok(Xml::Empty(start)) if start.local_name().as_ref() == b"Data" => {
                if let Some(name) = start
                    .try_get_attribute("Name")
                    .ok()
                    .flatten()
                    .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                {
                    out.push((name, String::new()));
                }
            }
            Ok(Xml::Text(text)) => {
                if let (Some((_, value)), Ok(t)) = (open.as_mut(), text.decode()) {
                    value.push_str(&t);
                }
            }
            Ok(Xml::CData(data)) => {
                if let Some((_, value)) = open.as_mut() {
                    value.push_str(&String::from_utf8_lossy(&data));
                }
            }
            Ok(Xml::GeneralRef(reference)) => {
                if let Some((_, value)) = open.as_mut() {
                    // A broken reference is kept out; the rest of the value stays.
                    let _ = push_reference(value, &reference);
                }
            }
            Ok(Xml::End(end)) if end.local_name().as_ref() == b"Data" => {
                if let Some(item) = open.take() {
                    out.push(item);
                }
            }
            Ok(Xml::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// A Sysmon for Linux event made well-formed: entity references written with a space
/// or nothing for their `;` (`&lt unknown process&gt `, as Sysmon for Linux writes
/// `<unknown process>`) completed, any other
/// bare `&` escaped, and an event cut short (syslog relays and Log Analytics cut long
/// messages) closed after the text it has, a tag cut in half dropped. Returns the XML
/// and whether it was cut; `None` when the cut fell before the event's data.
pub fn repair_sysmon_xml(xml: &str) -> Option<(String, bool)> {
    let mut out = String::with_capacity(xml.len() + 32);
    let mut rest = xml;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
            .count();
        let name = &after[..name_len];
        let closed = after[name_len..].starts_with(';');
        let known = matches!(name, "lt" | "gt" | "amp" | "quot" | "apos")
            || (name.starts_with('#') && name.len() > 1);
        match (known, closed) {
            (true, true) => out.push_str(&rest[at..at + 1 + name_len + 1]),
            (true, false) => {
                out.push('&');
                out.push_str(name);
                out.push(';');
            }
            _ => {
                out.push_str("&amp;");
                out.push_str(name);
                if closed {
                    out.push(';');
                }
            }
        }
        // `&lt unknown process&gt `: a space stands where the `;` belongs.
        let spaced = known && !closed && after[name_len..].starts_with(' ');
        let consumed = 1 + name_len + usize::from(closed || spaced);
        rest = &rest[at + consumed..];
    }
    out.push_str(rest);
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    if out.ends_with("</Event>") {
        return Some((out, false));
    }
    // Cut short: drop a tag cut in half, then close what is open.
    if let Some(lt) = out.rfind('<')
        && !out[lt..].contains('>')
    {
        out.truncate(lt);
    }
    let data_at = out.find("<EventData>")?;
    let last_open = out.rfind("<Data");
    let last_close = out.rfind("</Data>");
    if last_open.is_some_and(|o| o > data_at && last_close.is_none_or(|c| o > c))
        && !out.ends_with("/>")
    {
        out.push_str("</Data>");
    }
    out.push_str("</EventData></Event>");
    Some((out, true))
}

/// The Sysmon for Linux `<Event>` a syslog message is, if it is one.
pub fn sysmon_xml(message: &str) -> Option<&str> {
    let trimmed = message.trim();
    (trimmed.starts_with("<Event") && trimmed.contains("Linux-Sysmon")).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_event_data_items_by_name() {
        let xml = "<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\r\n  <Data Name=\"Application\">\\device\\harddiskvolume2\\x.exe</Data>\r\n  <Data Name=\"Empty\"/>\r\n  <Data Name=\"CommandLine\">a &amp;&amp; b &#x41;</Data>\r\n  <Data>unnamed</Data>\r\n</EventData>";
        let fields = event_data_fields(xml).unwrap();
        assert_eq!(
            fields,
            vec![
                (
                    "Application".into(),
                    "\\device\\harddiskvolume2\\x.exe".into()
                ),
                ("Empty".into(), String::new()),
                ("CommandLine".into(), "a && b A".into()),
                ("Data".into(), "unnamed".into()),
            ]
        );
    }

    #[test]
    fn json_event_data_members() {
        let mut fields =
            event_data_fields(r#"{"Image":"C:\\x.exe","ProcessId":"42","Level":4,"Rule":null}"#)
                .unwrap();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                ("Image".into(), "C:\\x.exe".into()),
                ("Level".into(), "4".into()),
                ("ProcessId".into(), "42".into()),
                ("Rule".into(), String::new()),
            ]
        );
        assert!(event_data_fields("plain text").is_none());
        assert!(event_data_fields("{broken").is_none());
        // A cut-off XML column keeps the items before the cut.
        let cut = event_data_fields("<EventData><Data Name=\"A\">1</Data><Data Name=\"B\">2");
        assert_eq!(cut.unwrap(), vec![("A".into(), "1".into())]);
    }

    #[test]
    fn sysmon_for_linux_xml_is_repaired() {
        let (xml, cut) = repair_sysmon_xml(
            "<Event><EventData><Data Name=\"Image\">&lt unknown process&gt </Data><Data Name=\"C\">a && b &amp; c &#65; &nbsp &copy;.</Data></EventData></Event>",
        )
        .unwrap();
        assert!(!cut);
        assert_eq!(
            xml,
            "<Event><EventData><Data Name=\"Image\">&lt;unknown process&gt;</Data><Data Name=\"C\">a &amp;&amp; b &amp; c &#65; &amp;nbsp &amp;copy;.</Data></EventData></Event>"
        );
        let (xml, cut) = repair_sysmon_xml(
            "<Event><System><EventID>1</EventID></System><EventData><Data Name=\"Image\">/usr/bin/java</Data><Data Name=\"CommandLine\">java -Dx=1 -Dy",
        )
        .unwrap();
        assert!(cut);
        assert!(
            xml.ends_with("java -Dx=1 -Dy</Data></EventData></Event>"),
            "{xml}"
        );
        let (xml, _) = repair_sysmon_xml(
            "<Event><EventData><Data Name=\"Image\">/usr/bin/java</Data><Data Na",
        )
        .unwrap();
        assert!(
            xml.ends_with("/usr/bin/java</Data></EventData></Event>"),
            "{xml}"
        );
        assert!(repair_sysmon_xml("<Event><System><EventID>1</Even").is_none());
    }

    #[test]
    fn sysmon_for_linux_messages() {
        assert!(
            sysmon_xml("<Event><System><Provider Name=\"Linux-Sysmon\"/></System></Event>")
                .is_some()
        );
        assert!(sysmon_xml("Accepted password for bob").is_none());
        assert!(sysmon_xml("<Event>not sysmon</Event>").is_none());
    }

    proptest::proptest! {
        /// Any text, as an `EventData` column or a Sysmon for Linux message (cut
        /// anywhere, with stray `&` and `<`), is read or refused without a panic.
        #[test]
        fn arbitrary_text_never_panics(
            text in "(?s)[<>&;a-zA-Z /=\"#0-9é]{0,80}",
            cut in 0usize..400,
        ) {
            let _ = event_data_fields(&text);
            let event = format!(
                "<Event><System><Provider Name=\"Linux-Sysmon\"/><EventID>1</EventID></System><EventData><Data Name=\"CommandLine\">{text}</Data></EventData></Event>"
            );
            let mut at = cut.min(event.len());
            while !event.is_char_boundary(at) {
                at -= 1;
            }
            if let Some((xml, _)) = repair_sysmon_xml(&event[..at]) {
                let _ = crate::json::sysmon_xml_json(&xml);
            }
            let _ = crate::json::sysmon_xml_json(&event[..at]);
        }
    }
}
