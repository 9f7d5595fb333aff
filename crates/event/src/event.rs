//! [`Event`]: one decoded record, with its fields stored in one reusable text arena.

use std::sync::Arc;

use crate::{FieldId, LogSource, Timestamp, Value};

/// The tenant (customer organisation) an event belongs to. `TenantId(0)` is the default
/// tenant of single-tenant runs such as `hunt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(pub u32);

/// Where an event came from: a file, stream or listener name, and the record's position
/// in it (1-based line for text, 1-based record ordinal for EVTX, member line for zips).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceRef {
    pub name: Arc<str>,
    pub record: u64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str { start: u32, len: u32 },
}

/// One field of an event: its Sigma name, its original path (the same id when the two
/// agree), and its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldEntry {
    pub name: FieldId,
    pub path: FieldId,
    slot: Slot,
}

/// One decoded record.
///
/// *Invariant:* string values live in one arena (`text`), so clearing and refilling an
/// event reuses its memory; decoders that reuse an `Event` allocate nothing per record
/// once the buffers have grown to the largest record.
#[derive(Clone, Debug, Default)]
pub struct Event {
    pub tenant: TenantId,
    /// When it happened, as the record says (UTC).
    pub time: Timestamp,
    /// When watchfloor received it.
    pub ingest_time: Timestamp,
    pub source: SourceRef,
    pub logsource: LogSource,
    fields: Vec<FieldEntry>,
    text: String,
    raw: Vec<u8>,
    /// Open-addressing index: field id → first entry holding it (as name or path).
    index: FieldIndex,
}

/// A small hash table from field id to the first and last entries with that id, so
/// lookups are O(1) instead of a scan. Slots hold `id + 1` (0 = empty) and the two entry
/// positions; the table doubles to stay at most half full, and is wiped (a memset) on
/// clear.
#[derive(Clone, Debug, Default)]
struct FieldIndex {
    slots: Vec<(u32, u16, u16)>,
    used: usize,
    /// Set when an entry lies beyond `u16` positions: lookups then scan (such events
    /// are hostile or absurd; correctness over speed).
    overflow: bool,
}

impl FieldIndex {
    #[inline]
    fn slot_of(id: u32, mask: usize) -> usize {
        (id.wrapping_mul(0x9E37_79B1) as usize >> 7) & mask
    }

    fn insert(&mut self, id: FieldId, entry: u32) {
        let Ok(entry) = u16::try_from(entry) else {
            self.overflow = true;
            return;
        };
        if (self.used + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let key = id.0.wrapping_add(1);
        let mut i = Self::slot_of(id.0, mask);
        loop {
            match self.slots[i].0 {
                0 => {
                    self.slots[i] = (key, entry, entry);
                    self.used += 1;
                    return;
                }
                k if k == key => {
                    self.slots[i].2 = entry; // the first entry stays, the last moves
                    return;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The first and last entries reachable by `id`; `Err` when the index cannot say
    /// (overflow) and the caller must scan.
    #[inline]
    fn get(&self, id: FieldId) -> Result<Option<(u32, u32)>, ()> {
        if self.overflow {
            return Err(());
        }
        Ok(self.lookup(id))
    }

    #[inline]
    fn lookup(&self, id: FieldId) -> Option<(u32, u32)> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let key = id.0.wrapping_add(1);
        let mut i = Self::slot_of(id.0, mask);
        loop {
            match self.slots[i] {
                (0, _, _) => return None,
                (k, first, last) if k == key => return Some((u32::from(first), u32::from(last))),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![(0, 0, 0); (old.len() * 2).max(64)];
        self.used = 0;
        for (key, first, last) in old {
            if key != 0 {
                self.insert(FieldId(key - 1), u32::from(first));
                if last != first {
                    self.insert(FieldId(key - 1), u32::from(last));
                }
            }
        }
    }

    fn clear(&mut self) {
        if self.used > 0 {
            self.slots.fill((0, 0, 0));
            self.used = 0;
        }
        self.overflow = false;
    }
}

impl Event {
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the event for reuse, keeping its buffers.
    pub fn clear(&mut self) {
        self.time = Timestamp::default();
        self.ingest_time = Timestamp::default();
        self.logsource = LogSource::default();
        self.fields.clear();
        self.text.clear();
        self.raw.clear();
        self.index.clear();
    }

    fn push_entry(&mut self, entry: FieldEntry) {
        let position = self.fields.len() as u32;
        self.index.insert(entry.name, position);
        if entry.path != entry.name {
            self.index.insert(entry.path, position);
        }
        self.fields.push(entry);
    }

    /// Adds a field whose Sigma name and original path are `name` and `path`.
    pub fn push(&mut self, name: FieldId, path: FieldId, value: Value<'_>) {
        let slot = match value {
            Value::Null => Slot::Null,
            Value::Bool(b) => Slot::Bool(b),
            Value::Int(i) => Slot::Int(i),
            Value::Float(f) => Slot::Float(f),
            Value::Str(s) => self.store(s),
        };
        self.push_entry(FieldEntry { name, path, slot });
    }

    /// Makes the first value of `from` reachable as `to` too, without copying its text
    /// (a decoder giving a field the name rules use). Returns whether `from` was there.
    pub fn alias(&mut self, from: FieldId, to: FieldId) -> bool {
        let first = match self.index.get(from) {
            Ok(found) => found.map(|(first, _)| first as usize),
            Err(()) => self
                .fields
                .iter()
                .position(|e| e.name == from || e.path == from),
        };
        let Some(slot) = first.and_then(|i| self.fields.get(i)).map(|e| e.slot) else {
            return false;
        };
        self.push_entry(FieldEntry {
            name: to,
            path: to,
            slot,
        });
        true
    }

    /// Adds a string field.
    pub fn push_str(&mut self, name: FieldId, path: FieldId, s: &str) {
        let slot = self.store(s);
        self.push_entry(FieldEntry { name, path, slot });
    }

    fn store(&mut self, s: &str) -> Slot {
        let start = self.text.len();
        self.text.push_str(s);
        // Offsets saturate rather than wrap: records are capped far below 4 GiB by the
        // decoders, so this only guards against misuse.
        Slot::Str {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(s.len()).unwrap_or(0),
        }
    }

    /// Replaces the first value of `name` (by Sigma name), or adds it when absent.
    pub fn set(&mut self, name: FieldId, value: Value<'_>) {
        let first = match self.index.get(name) {
            Ok(found) => found.map(|(first, _)| first as usize),
            Err(()) => self
                .fields
                .iter()
                .position(|e| e.name == name || e.path == name),
        };
        match first.filter(|&i| self.fields[i].name == name) {
            Some(i) => {
                let slot = match value {
                    Value::Null => Slot::Null,
                    Value::Bool(b) => Slot::Bool(b),
                    Value::Int(i) => Slot::Int(i),
                    Value::Float(f) => Slot::Float(f),
                    Value::Str(s) => self.store(s),
                };
                self.fields[i].slot = slot;
            }
            None => self.push(name, name, value),
        }
    }

    fn view(&self, slot: Slot) -> Value<'_> {
        match slot {
            Slot::Null => Value::Null,
            Slot::Bool(b) => Value::Bool(b),
            Slot::Int(i) => Value::Int(i),
            Slot::Float(f) => Value::Float(f),
            Slot::Str { start, len } => {
                let (start, len) = (start as usize, len as usize);
                Value::Str(self.text.get(start..start + len).unwrap_or(""))
            }
        }
    }

    /// The first value reachable by `id`, as Sigma name or original path.
    #[inline]
    pub fn get(&self, id: FieldId) -> Option<Value<'_>> {
        let first = match self.index.get(id) {
            Ok(found) => found?.0 as usize,
            Err(()) => self
                .fields
                .iter()
                .position(|e| e.name == id || e.path == id)?,
        };
        self.fields.get(first).map(|e| self.view(e.slot))
    }

    /// Every value reachable by `id` (arrays and repeated elements give several).
    pub fn get_all(&self, id: FieldId) -> impl Iterator<Item = Value<'_>> + '_ {
        let range = match self.index.get(id) {
            Ok(Some((first, last))) => first as usize..last as usize + 1,
            Ok(None) => 0..0,
            Err(()) => 0..self.fields.len(),
        };
        self.fields
            .get(range)
            .unwrap_or_default()
            .iter()
            .filter(move |e| e.name == id || e.path == id)
            .map(|e| self.view(e.slot))
    }

    /// Every field in decoding order.
    pub fn fields(&self) -> impl Iterator<Item = (FieldEntry, Value<'_>)> + '_ {
        self.fields.iter().map(|e| (*e, self.view(e.slot)))
    }

    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// The bytes the event was decoded from (for EVTX, the record rendered as JSON).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub fn set_raw(&mut self, raw: &[u8]) {
        self.raw.clear();
        self.raw.extend_from_slice(raw);
    }

    /// The raw buffer, for decoders that render into it directly.
    pub fn raw_mut(&mut self) -> &mut Vec<u8> {
        &mut self.raw
    }
}

/// Read access to an event's fields: all a detection engine needs to know of an event.
/// Engines are written against this trait, never against a file format.
pub trait FieldAccess {
    /// Every value reachable by `id`.
    fn values(&self, id: FieldId) -> impl Iterator<Item = Value<'_>>;
    /// Every value of every field, for keyword searches.
    fn all_values(&self) -> impl Iterator<Item = Value<'_>>;
    /// Every field as (Sigma name, original path, value).
    fn entries(&self) -> impl Iterator<Item = (FieldId, FieldId, Value<'_>)>;
    fn logsource(&self) -> &LogSource;
    fn time(&self) -> Timestamp;

    /// The first value reachable by `id`.
    fn first(&self, id: FieldId) -> Option<Value<'_>> {
        self.values(id).next()
    }

    /// One buffer in which every string value of the event is a byte range, when the
    /// implementation stores them so; it may also hold text that is no value (check a
    /// hit with [`FieldAccess::string_value_spans`]). Lets keyword searches scan an
    /// event once instead of value by value.
    fn string_arena(&self) -> Option<&str> {
        None
    }

    /// Whether bytes `start..end` of [`FieldAccess::string_arena`] lie inside one string
    /// value of the event.
    fn string_value_spans(&self, start: usize, end: usize) -> bool {
        let _ = (start, end);
        false
    }
}

impl FieldAccess for Event {
    fn values(&self, id: FieldId) -> impl Iterator<Item = Value<'_>> {
        self.get_all(id)
    }
    fn all_values(&self) -> impl Iterator<Item = Value<'_>> {
        self.fields.iter().map(|e| self.view(e.slot))
    }
    fn entries(&self) -> impl Iterator<Item = (FieldId, FieldId, Value<'_>)> {
        self.fields
            .iter()
            .map(|e| (e.name, e.path, self.view(e.slot)))
    }
    fn logsource(&self) -> &LogSource {
        &self.logsource
    }
    fn time(&self) -> Timestamp {
        self.time
    }
    fn first(&self, id: FieldId) -> Option<Value<'_>> {
        self.get(id)
    }
    fn string_arena(&self) -> Option<&str> {
        Some(&self.text)
    }
    fn string_value_spans(&self, start: usize, end: usize) -> bool {
        self.fields.iter().any(|e| match e.slot {
            Slot::Str { start: s, len } => {
                let s = s as usize;
                s <= start && end <= s + len as usize
            }
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldTable;

    #[test]
    fn an_alias_shares_the_value_without_copying_it() {
        let t = FieldTable::new();
        let (source, provider, missing) = (
            t.intern("SourceName"),
            t.intern("Provider_Name"),
            t.intern("Nope"),
        );
        let mut ev = Event::new();
        ev.push_str(source, source, "Microsoft-Windows-Eventlog");
        let text_before = ev.text.len();
        assert!(ev.alias(source, provider));
        assert_eq!(
            ev.get(provider),
            Some(Value::Str("Microsoft-Windows-Eventlog"))
        );
        assert_eq!(ev.text.len(), text_before, "no text copied");
        assert_eq!(ev.get(source), ev.get(provider), "the original stays");
        assert!(!ev.alias(missing, provider));
        assert_eq!(ev.get_all(provider).count(), 1);
        ev.push(missing, missing, Value::Int(7));
        assert!(ev.alias(missing, provider));
        assert_eq!(ev.get_all(provider).count(), 2);
    }

    #[test]
    fn fields_reachable_by_name_and_path() {
        let table = FieldTable::new();
        let cmd = table.intern("CommandLine");
        let cmd_path = table.intern("Event.EventData.CommandLine");
        let eid = table.intern("EventID");
        let mut ev = Event::new();
        ev.push_str(cmd, cmd_path, "whoami /all");
        ev.push(eid, eid, Value::Int(1));
        assert_eq!(ev.get(cmd), Some(Value::Str("whoami /all")));
        assert_eq!(ev.get(cmd_path), Some(Value::Str("whoami /all")));
        assert_eq!(ev.get(eid).and_then(|v| v.as_i64()), Some(1));
        assert_eq!(ev.get(table.intern("Image")), None);
    }

    #[test]
    fn string_arena_spans_only_live_values() {
        let table = FieldTable::new();
        let a = table.intern("A");
        let mut ev = Event::new();
        ev.push_str(a, a, "old");
        ev.set(a, Value::Str("new"));
        let arena = ev.string_arena().unwrap_or_default();
        let at = |needle: &str| arena.find(needle).unwrap_or(usize::MAX);
        assert!(ev.string_value_spans(at("new"), at("new") + 3));
        // Replaced text stays in the arena but is no value any more.
        assert!(!ev.string_value_spans(at("old"), at("old") + 3));
        // A range across two values is inside neither.
        assert!(!ev.string_value_spans(at("ldn"), at("ldn") + 3));
    }

    #[test]
    fn repeated_fields_and_reuse() {
        let table = FieldTable::new();
        let d = table.intern("Data");
        let mut ev = Event::new();
        ev.push_str(d, d, "a");
        ev.push_str(d, d, "b");
        let all: Vec<_> = ev.get_all(d).collect();
        assert_eq!(all, vec![Value::Str("a"), Value::Str("b")]);
        ev.set(d, Value::Str("c"));
        assert_eq!(ev.get(d), Some(Value::Str("c")));
        ev.clear();
        assert_eq!(ev.field_count(), 0);
        assert_eq!(ev.get(d), None);
    }

    #[test]
    fn index_agrees_with_a_scan_across_growth_and_reuse() {
        let table = FieldTable::new();
        let mut ev = Event::new();
        for round in 0..3u32 {
            ev.clear();
            let n = 40 + round * 50;
            for i in 0..n {
                let name = table.intern(&format!("f{}", i % (n / 2)));
                let path = table.intern(&format!("p.f{i}"));
                ev.push(name, path, Value::Int(i64::from(i)));
            }
            for i in 0..n {
                let name = table.intern(&format!("f{}", i % (n / 2)));
                let path = table.intern(&format!("p.f{i}"));
                let scanned: Vec<_> = ev
                    .fields()
                    .filter(|(e, _)| e.name == name || e.path == name)
                    .map(|(_, v)| v)
                    .collect();
                assert_eq!(ev.get_all(name).collect::<Vec<_>>(), scanned);
                assert_eq!(ev.get(name), scanned.first().copied());
                assert_eq!(ev.get(path), Some(Value::Int(i64::from(i))));
            }
            assert_eq!(ev.get(table.intern("absent")), None);
        }
    }

    #[test]
    fn lookups_stay_right_past_the_index_capacity() {
        let table = FieldTable::new();
        let a = table.intern("a");
        let b = table.intern("b");
        let mut ev = Event::new();
        for i in 0..70_000i64 {
            ev.push(a, a, Value::Int(i));
        }
        ev.push(b, b, Value::Int(-1));
        assert_eq!(ev.get(a), Some(Value::Int(0)));
        assert_eq!(ev.get(b), Some(Value::Int(-1)));
        assert_eq!(ev.get_all(a).count(), 70_000);
        ev.clear();
        ev.push(b, b, Value::Int(7));
        assert_eq!(ev.get(b), Some(Value::Int(7)));
        assert_eq!(ev.get(a), None);
    }
}
