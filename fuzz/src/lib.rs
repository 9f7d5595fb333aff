//! Shared checks of the watchfloor fuzz targets (see `README.md`).
//!
//! Every target builds its [`DecodeContext`] with [`context`] (tight limits, fixed clock)
//! and checks what it decodes with [`check_event`], and where it can, that decoding is
//! deterministic with [`assert_same_event`].

use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use watchfloor_decode::{DecodeContext, DecodeError, DecodeErrorKind, Limits, LineDecoder, Sink};
use watchfloor_event::{Event, FieldCache, FieldId, FieldTable, Timestamp, Value};

/// Longest line (or JSON record) a target accepts; a JSON document may be 64 times this.
pub const MAX_LINE_BYTES: usize = 16 << 10;
/// Most bytes a compressed stream may inflate to.
pub const MAX_INFLATED_BYTES: u64 = 1 << 20;

/// 2023-11-14T22:13:20Z: a fixed ingest time, so a crash reproduces on any day.
const INGEST_NANOS: i64 = 1_700_000_000_000_000_000;

/// A decode context on a fresh field table, with limits that keep one input within a
/// few MiB and a fixed clock.
pub fn context() -> DecodeContext {
    context_on(FieldTable::new())
}

/// Like [`context`], on an existing field table (so ids agree with another context).
pub fn context_on(table: Arc<FieldTable>) -> DecodeContext {
    let mut ctx = DecodeContext::new(FieldCache::new(table));
    ctx.ingest_time = Timestamp::from_nanos(INGEST_NANOS);
    ctx.default_year = 2023;
    ctx.limits = Limits {
        max_line_bytes: MAX_LINE_BYTES,
        max_inflated_bytes: MAX_INFLATED_BYTES,
        max_inflate_ratio: 250,
        ratio_floor_bytes: MAX_INFLATED_BYTES,
    };
    ctx
}

/// Value equality that holds for a NaN and itself (Zeek `double` columns can hold `nan`).
pub fn same_value(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Checks one decoded event:
/// - every field's name and path id was issued by `table`;
/// - `fields()` yields `field_count()` entries, and `all_values()` as many;
/// - for every id, `get(id)` is the first value iteration finds under that id (as name or
///   path), and `get_all(id)` yields exactly the values iteration finds under it, in order.
pub fn check_event(table: &FieldTable, ev: &Event) {
    use watchfloor_event::FieldAccess;

    let mut by_id: HashMap<FieldId, Vec<Value<'_>>> = HashMap::new();
    let mut count = 0usize;
    for (entry, value) in ev.fields() {
        count += 1;
        for id in [entry.name, entry.path] {
            assert!(
                table.name(id).is_some(),
                "field id {id:?} was not issued by the field table"
            );
        }
        // A value reachable by name and path under one id is listed once for it.
        let ids: &[FieldId] = if entry.name == entry.path {
            &[entry.name]
        } else {
            &[entry.name, entry.path]
        };
        for &id in ids {
            by_id.entry(id).or_default().push(value);
        }
    }
    assert_eq!(
        count,
        ev.field_count(),
        "fields() and field_count() disagree"
    );
    assert_eq!(
        ev.all_values().count(),
        count,
        "all_values() and fields() disagree"
    );
    for (id, values) in &by_id {
        let got = ev
            .get(*id)
            .expect("a field reached by iteration is missing from get()");
        assert!(
            same_value(got, values[0]),
            "get({id:?}) = {got:?}, but iteration finds {:?} first",
            values[0]
        );
        let all: Vec<Value<'_>> = ev.get_all(*id).collect();
        assert_eq!(all.len(), values.len(), "get_all({id:?}) count");
        for (a, b) in all.iter().zip(values) {
            assert!(same_value(*a, *b), "get_all({id:?}): {a:?} != {b:?}");
        }
    }
}

/// Asserts that two events hold the same fields (ids and values, in order), logsource and
/// time; `what` names the comparison in the panic message.
pub fn assert_same_event(a: &Event, b: &Event, what: &str) {
    assert_same_fields(a, b, what);
    assert_eq!(a.logsource, b.logsource, "{what}: logsource differs");
    assert_eq!(a.time, b.time, "{what}: time differs");
}

/// Asserts that two events hold the same fields (ids and values, in order).
pub fn assert_same_fields(a: &Event, b: &Event, what: &str) {
    assert_eq!(
        a.field_count(),
        b.field_count(),
        "{what}: field count differs"
    );
    for ((ea, va), (eb, vb)) in a.fields().zip(b.fields()) {
        assert_eq!(
            (ea.name, ea.path),
            (eb.name, eb.path),
            "{what}: field ids differ"
        );
        assert!(
            same_value(va, vb),
            "{what}: field {:?} is {va:?} then {vb:?}",
            ea.name
        );
    }
}

/// Calls `each` with a [`context`] and every line of `data` that is at most
/// [`MAX_LINE_BYTES`] long, split at `\n` and decoded lossily as UTF-8, as
/// [`watchfloor_decode::FileDecoder`] does.
fn for_each_line(data: &[u8], mut each: impl FnMut(&mut DecodeContext, &str)) {
    let mut ctx = context();
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').filter(|l| l.len() <= MAX_LINE_BYTES) {
        each(&mut ctx, line);
    }
}

/// Decodes `line` into `ev`, cleared first; an event it yields must pass [`check_event`].
fn decode_checked<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    line: &str,
    ev: &mut Event,
) -> Result<bool, DecodeErrorKind> {
    ev.clear();
    let result = decoder.decode_line(ctx, line, ev);
    if result == Ok(true) {
        check_event(ctx.fields.table(), ev);
    }
    result
}

/// Feeds every line of `data` (split at `\n`, decoded lossily as UTF-8, as
/// [`watchfloor_decode::FileDecoder`] does) to `decoder`, whose state carries over from
/// line to line, and checks each line:
/// - a decoded event passes [`check_event`];
/// - decoding the line again with `decoder` gives the same result and event;
/// - so does decoding it with `fresh()`, a new decoder: no state leaks from one line to
///   the next (for decoders whose only state is scratch space).
pub fn fuzz_stateless_lines<D: LineDecoder>(data: &[u8], decoder: &mut D, fresh: impl Fn() -> D) {
    let (mut first, mut again, mut other) = (Event::new(), Event::new(), Event::new());
    for_each_line(data, |ctx, line| {
        let r1 = decode_checked(decoder, ctx, line, &mut first);

        again.clear();
        let r2 = decoder.decode_line(ctx, line, &mut again);
        assert_eq!(r1, r2, "same line, same decoder: result differs");
        assert_same_event(&first, &again, "same line, same decoder");

        other.clear();
        let r3 = fresh().decode_line(ctx, line, &mut other);
        assert_eq!(r1, r3, "reused and fresh decoder: result differs");
        assert_same_event(&first, &other, "reused and fresh decoder");
    });
}

/// Feeds every line of `data` (as [`fuzz_stateless_lines`] does) to `decoder`, whose
/// state (headers and the like) carries over from line to line, and checks each line:
/// - a decoded event passes [`check_event`];
/// - a clone of the decoder taken before the line decodes it to the same result and event,
///   and ends in the same next state (the decoder's `Debug` form).
pub fn fuzz_stateful_lines<D: LineDecoder + Clone + Debug>(data: &[u8], mut decoder: D) {
    let (mut ev, mut twin_ev) = (Event::new(), Event::new());
    for_each_line(data, |ctx, line| {
        let mut twin = decoder.clone();
        let result = decode_checked(&mut decoder, ctx, line, &mut ev);
        twin_ev.clear();
        let twin_result = twin.decode_line(ctx, line, &mut twin_ev);
        assert_eq!(result, twin_result, "same state, same line: result differs");
        assert_same_event(&ev, &twin_ev, "same state, same line");
        assert_eq!(
            format!("{decoder:?}"),
            format!("{twin:?}"),
            "same state, same line: next state differs"
        );
    });
}

/// A sink that checks and counts what it is given:
/// - every event passes [`check_event`], names `name` as its source and has a record
///   number of at least 1;
/// - every error names `name` as its input.
///
/// It also folds every event and error into a fingerprint, so two runs can be compared.
pub struct CheckingSink {
    pub table: Arc<FieldTable>,
    pub name: Arc<str>,
    pub events: u64,
    pub errors: u64,
    /// Record numbers of the events, in delivery order.
    pub records: Vec<u64>,
    hasher: DefaultHasher,
}

impl CheckingSink {
    pub fn new(table: Arc<FieldTable>, name: Arc<str>) -> Self {
        CheckingSink {
            table,
            name,
            events: 0,
            errors: 0,
            records: Vec::new(),
            hasher: DefaultHasher::new(),
        }
    }

    /// A digest of every event and error delivered so far, in order.
    pub fn fingerprint(&self) -> u64 {
        self.hasher.finish()
    }
}

impl Sink for CheckingSink {
    fn event(&mut self, ev: &Event) {
        check_event(&self.table, ev);
        assert_eq!(ev.source.name, self.name, "event names another source");
        assert!(ev.source.record >= 1, "event without a record number");
        self.events += 1;
        self.records.push(ev.source.record);
        let h = &mut self.hasher;
        0u8.hash(h);
        ev.source.record.hash(h);
        ev.time.hash(h);
        ev.ingest_time.hash(h);
        ev.tenant.hash(h);
        ev.logsource.hash(h);
        ev.raw().hash(h);
        ev.field_count().hash(h);
        for (entry, value) in ev.fields() {
            (entry.name, entry.path).hash(h);
            match value {
                Value::Null => 0u8.hash(h),
                Value::Bool(b) => (1u8, b).hash(h),
                Value::Int(i) => (2u8, i).hash(h),
                Value::Float(f) => (3u8, f.to_bits()).hash(h),
                Value::Str(s) => (4u8, s).hash(h),
            }
        }
    }

    fn error(&mut self, err: DecodeError) {
        assert_eq!(err.input, self.name, "error names another input");
        // Rendering must not panic either.
        let shown = err.to_string();
        self.errors += 1;
        let h = &mut self.hasher;
        1u8.hash(h);
        err.record.hash(h);
        shown.hash(h);
    }
}
