//! EvtxECmd exports (the event-log parser of KAPE-based triage collections): JSON lines
//! with `EventId`, `Channel`, `Provider`, `Computer`, `TimeCreated`, and the event's data
//! as one text column, `Payload`: its XML turned into JSON
//! (`{"EventData":{"Data":[{"@Name":"Image","#text":"C:\\x.exe"},…]}}`).
//! [`payload_fields`] reads it into the fields an EVTX rendering has.

use serde_json::{Map, Value as Json};

/// The named items of a `Payload` column: `Data` items by their `@Name` (an unnamed one
/// is `Data`), `UserData` values by their element name. `None` when the text is not a
/// JSON object.
pub fn payload_fields(text: &str) -> Option<Vec<(String, String)>> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let Ok(Json::Object(root)) = serde_json::from_str::<Json>(trimmed) else {
        return None;
    };
    let mut out = Vec::new();
    walk_object(&root, &mut out);
    Some(out)
}

fn walk_object(object: &Map<String, Json>, out: &mut Vec<(String, String)>) {
    if let Some(name) = object.get("@Name").and_then(Json::as_str) {
        out.push((name.to_string(), scalar(object.get("#text"))));
        return;
    }
    for (key, value) in object {
        if key.starts_with('@') || key.starts_with('#') {
            continue;
        }
        match value {
            Json::Object(inner) => walk_object(inner, out),
            Json::Array(items) => {
                for item in items {
                    match item {
                        Json::Object(inner) => walk_object(inner, out),
                        other => out.push((key.clone(), scalar(Some(other)))),
                    }
                }
            }
            other => out.push((key.clone(), scalar(Some(other)))),
        }
    }
}

fn scalar(value: Option<&Json>) -> String {
    match value {
        Some(Json::String(s)) => s.clone(),
        None | Some(Json::Null) => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_items_by_name_and_user_data_by_element() {
        let payload = r##"{"EventData":{"Data":[{"@Name":"Image","#text":"C:\\x.exe"},{"@Name":"RuleName"},{"@Name":"ProcessId","#text":"42"}],"Binary":null}}"##;
        assert_eq!(
            payload_fields(payload).unwrap(),
            vec![
                ("Image".into(), "C:\\x.exe".into()),
                ("RuleName".into(), String::new()),
                ("ProcessId".into(), "42".into()),
                ("Binary".into(), String::new()),
            ]
        );
        let one = r##"{"EventData":{"Data":{"@Name":"ServiceName","#text":"evil"}}}"##;
        assert_eq!(
            payload_fields(one).unwrap(),
            vec![("ServiceName".into(), "evil".into())]
        );
        let unnamed = r#"{"EventData":{"Data":["HostApplication=powershell -ep bypass","x"]}}"#;
        assert_eq!(payload_fields(unnamed).unwrap().len(), 2);
        let user = r#"{"UserData":{"LogFileCleared":{"@xmlns":"http://x","SubjectUserName":"bob","SubjectDomainName":"CORP"}}}"#;
        let mut fields = payload_fields(user).unwrap();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                ("SubjectDomainName".into(), "CORP".into()),
                ("SubjectUserName".into(), "bob".into()),
            ]
        );
        assert!(payload_fields("not json").is_none());
    }
}
