//! Streaming JSON flattening: one pass of `serde_json` straight into an [`Event`], with
//! no intermediate tree.
//!
//! Nested objects become dotted paths (`alert.signature`); array elements repeat their
//! path. How a path turns into a Sigma name is the [`Naming`] of the record.

use foldhash::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use watchfloor_event::{Event, FieldId, Value};

use crate::DecodeContext;

/// How a record's dotted paths map to Sigma field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Naming {
    /// The Sigma name is the dotted path itself (`dns.rrname`, `id.orig_h`).
    Path,
    /// A Windows event in the XML-derived nested form (`Event.System.EventID.#text`):
    /// the Sigma name is the leaf element (`EventID`), attributes become
    /// `Element_Attribute` (`Provider_Name`, `Security_UserID`).
    WindowsXml,
}

/// Resolves paths to `(sigma name, original path)` ids, memoised per naming.
#[derive(Debug, Default)]
pub struct PathIds {
    plain: HashMap<Box<str>, (FieldId, FieldId)>,
    windows: HashMap<Box<str>, (FieldId, FieldId)>,
}

impl PathIds {
    #[inline]
    fn resolve(
        &mut self,
        ctx: &mut DecodeContext,
        naming: Naming,
        path: &str,
    ) -> (FieldId, FieldId) {
        let map = match naming {
            Naming::Path => &mut self.plain,
            Naming::WindowsXml => &mut self.windows,
        };
        if let Some(&ids) = map.get(path) {
            return ids;
        }
        let original = ctx.id(path);
        let sigma = match naming {
            Naming::Path => match beats_sigma_name(path) {
                Some(name) => ctx.id(&name),
                None => original,
            },
            Naming::WindowsXml => ctx.id(&windows_sigma_name(path)),
        };
        map.insert(path.into(), (sigma, original));
        (sigma, original)
    }
}

/// The Sigma name of a nested Windows path: `Event.System.Provider.#attributes.Name` →
/// `Provider_Name`, `Event.System.EventID.#text` → `EventID`,
/// `Event.EventData.CommandLine` → `CommandLine`. Spaces are dropped, as Sigma names
/// Windows Defender's `Threat Name` data `ThreatName`.
pub fn windows_sigma_name(path: &str) -> String {
    let name = windows_leaf_name(path);
    if name.contains(' ') {
        name.replace(' ', "")
    } else {
        name
    }
}

/// The Sigma name of a Windows event's path as Winlogbeat ships it (`winlog.channel`,
/// `winlog.event_id`, `winlog.event_data.CommandLine`, `winlog.user_data.Operation`):
/// the names an EVTX rendering gives (`Channel`, `EventID`, `CommandLine`,
/// `Operation`). `None` for every other path, which keeps its dotted name.
pub fn beats_sigma_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix("winlog.")?;
    if let Some(data) = rest
        .strip_prefix("event_data.")
        .or_else(|| rest.strip_prefix("user_data."))
    {
        let leaf = data.rsplit('.').next().unwrap_or(data);
        return Some(leaf.replace(' ', ""));
    }
    let name = match rest {
        "channel" => "Channel",
        "event_id" => "EventID",
        "provider_name" => "Provider_Name",
        "provider_guid" => "Provider_Guid",
        "computer_name" => "Computer",
        "record_id" => "EventRecordID",
        "task" => "Task",
        "opcode" => "Opcode",
        "keywords" => "Keywords",
        "process.pid" => "Execution_ProcessID",
        "process.thread.id" => "Execution_ThreadID",
        "user.identifier" => "Security_UserID",
        _ => return None,
    };
    Some(name.to_string())
}

fn windows_leaf_name(path: &str) -> String {
    let mut segs = path.rsplit('.');
    let last = segs.next().unwrap_or(path);
    if last == "#text" {
        return match segs.next() {
            Some(parent) if parent != "#attributes" => parent.to_string(),
            _ => last.to_string(),
        };
    }
    let parent = segs.next();
    if parent == Some("#attributes")
        && let Some(element) = segs.next()
    {
        return format!("{element}_{last}");
    }
    last.to_string()
}

/// Flattens one JSON object into `ev`.
pub fn flatten(
    ctx: &mut DecodeContext,
    ids: &mut PathIds,
    path: &mut String,
    naming: Naming,
    json: &[u8],
    ev: &mut Event,
) -> Result<(), serde_json::Error> {
    path.clear();
    let mut walker = Walker {
        ctx,
        ids,
        path,
        ev,
        naming,
    };
    let mut de = serde_json::Deserializer::from_slice(json);
    de::Deserializer::deserialize_map(&mut de, Node(&mut walker))?;
    de.end()
}

struct Walker<'a> {
    ctx: &'a mut DecodeContext,
    ids: &'a mut PathIds,
    path: &'a mut String,
    ev: &'a mut Event,
    naming: Naming,
}

impl Walker<'_> {
    #[inline]
    fn leaf(&mut self, value: Value<'_>) {
        let (sigma, original) = self.ids.resolve(self.ctx, self.naming, self.path);
        self.ev.push(sigma, original, value);
    }
}

/// Seed and visitor for one JSON value at the walker's current path.
struct Node<'w, 'a>(&'w mut Walker<'a>);

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.leaf(Value::Bool(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.leaf(Value::Int(v));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(i) => self.0.leaf(Value::Int(i)),
            // Beyond i64 a float would lose digits (u64::MAX sentinels in EVTX data):
            // keep the exact digits as text, which numeric rules still read.
            Err(_) => self.0.leaf(Value::Str(&v.to_string())),
        }
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.leaf(Value::Float(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.leaf(Value::Str(v));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.leaf(Value::Null);
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.leaf(Value::Null);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Node(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.0.path.len();
        while map
            .next_key_seed(Key {
                path: &mut *self.0.path,
                base,
            })?
            .is_some()
        {
            map.next_value_seed(Node(&mut *self.0))?;
            self.0.path.truncate(base);
        }
        Ok(())
    }
}

/// Seed and visitor that appends an object key to the current path.
struct Key<'p> {
    path: &'p mut String,
    base: usize,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<(), E> {
        self.path.truncate(self.base);
        if self.base > 0 {
            self.path.push('.');
        }
        self.path.push_str(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchfloor_event::{FieldCache, FieldTable};

    fn run(naming: Naming, json: &str) -> (DecodeContext, Event) {
        let mut ctx = DecodeContext::new(FieldCache::new(FieldTable::new()));
        let mut ev = Event::new();
        let mut ids = PathIds::default();
        let mut path = String::new();
        flatten(
            &mut ctx,
            &mut ids,
            &mut path,
            naming,
            json.as_bytes(),
            &mut ev,
        )
        .unwrap();
        (ctx, ev)
    }

    #[test]
    fn windows_names() {
        assert_eq!(
            windows_sigma_name("Event.System.Provider.#attributes.Name"),
            "Provider_Name"
        );
        assert_eq!(windows_sigma_name("Event.System.EventID.#text"), "EventID");
        assert_eq!(windows_sigma_name("Event.System.EventID"), "EventID");
        assert_eq!(
            windows_sigma_name("Event.EventData.CommandLine"),
            "CommandLine"
        );
        assert_eq!(
            windows_sigma_name("Event.System.Security.#attributes.UserID"),
            "Security_UserID"
        );
        assert_eq!(windows_sigma_name("#text"), "#text");
        assert_eq!(
            windows_sigma_name("Event.EventData.Threat Name"),
            "ThreatName"
        );
    }

    #[test]
    fn nested_windows_event_flattens() {
        let json = r##"{"Event":{"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},
            "Provider":{"#attributes":{"Name":"Service Control Manager"}}},
            "EventData":{"ImagePath":"C:\\x.exe","Data":["a","b"]}}}"##;
        let (mut ctx, ev) = run(Naming::WindowsXml, json);
        assert_eq!(ev.get(ctx.id("EventID")), Some(Value::Int(7045)));
        assert_eq!(
            ev.get(ctx.id("EventID_Qualifiers")),
            Some(Value::Int(16384))
        );
        assert_eq!(
            ev.get(ctx.id("Provider_Name")),
            Some(Value::Str("Service Control Manager"))
        );
        assert_eq!(ev.get(ctx.id("ImagePath")), Some(Value::Str("C:\\x.exe")));
        assert_eq!(
            ev.get(ctx.id("Event.EventData.ImagePath")),
            Some(Value::Str("C:\\x.exe"))
        );
        assert_eq!(ev.get_all(ctx.id("Data")).count(), 2);
    }

    #[test]
    fn generic_paths_and_types() {
        let (mut ctx, ev) = run(
            Naming::Path,
            r#"{"a":{"b":1,"c":[true,null]},"big":18446744073709551615,"f":1.5,"s":"x\"y"}"#,
        );
        assert_eq!(ev.get(ctx.id("a.b")), Some(Value::Int(1)));
        assert_eq!(
            ev.get_all(ctx.id("a.c")).collect::<Vec<_>>(),
            vec![Value::Bool(true), Value::Null]
        );
        assert_eq!(
            ev.get(ctx.id("big")),
            Some(Value::Str("18446744073709551615")),
            "every digit kept"
        );
        assert_eq!(
            ev.get(ctx.id("big")).and_then(|v| v.as_f64()),
            Some(18446744073709551615.0)
        );
        assert_eq!(ev.get(ctx.id("f")), Some(Value::Float(1.5)));
        assert_eq!(ev.get(ctx.id("s")), Some(Value::Str("x\"y")));
    }

    #[test]
    fn errors_not_panics() {
        let mut ctx = DecodeContext::new(FieldCache::new(FieldTable::new()));
        let mut ev = Event::new();
        let mut ids = PathIds::default();
        let mut path = String::new();
        for bad in [
            "",
            "[1]",
            "{\"a\":",
            "{\"a\":1} x",
            "{\"a\":\"\\ud800\"}",
            "\u{0}",
        ] {
            assert!(
                flatten(
                    &mut ctx,
                    &mut ids,
                    &mut path,
                    Naming::Path,
                    bad.as_bytes(),
                    &mut ev
                )
                .is_err(),
                "{bad:?}"
            );
        }
        let deep = "[".repeat(10_000);
        let deep_obj = format!("{{\"a\":{deep}");
        assert!(
            flatten(
                &mut ctx,
                &mut ids,
                &mut path,
                Naming::Path,
                deep_obj.as_bytes(),
                &mut ev
            )
            .is_err()
        );
    }
}
