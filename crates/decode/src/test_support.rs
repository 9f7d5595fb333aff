//! Helpers shared by the unit tests of the line decoders.

use watchfloor_event::{Event, FieldCache, FieldTable, Value};

use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

/// A decode context on a fresh field table.
pub(crate) fn ctx() -> DecodeContext {
    DecodeContext::new(FieldCache::new(FieldTable::new()))
}

/// Decodes one JSON object with a [`crate::json::JsonDecoder`] given the Zeek log-name
/// hint `hint`: the context, the event and the flavour recognised.
pub(crate) fn decode_json(
    hint: Option<&str>,
    line: &str,
) -> (DecodeContext, Event, crate::json::JsonFlavour) {
    let mut ctx = ctx();
    let mut dec = crate::json::JsonDecoder::new(hint);
    let mut ev = Event::new();
    let flavour = dec
        .decode_object(&mut ctx, line.as_bytes(), &mut ev)
        .unwrap();
    (ctx, ev, flavour)
}

/// Like [`ctx`], with `year` for timestamps that do not name one.
pub(crate) fn ctx_in_year(year: i16) -> DecodeContext {
    let mut ctx = ctx();
    ctx.default_year = year;
    ctx
}

/// Decodes `line` into a new event, which it must yield; panics with the line on an error.
pub(crate) fn decode_with<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    line: &str,
) -> Event {
    let mut ev = Event::new();
    let ok = decoder
        .decode_line(ctx, line, &mut ev)
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    assert!(ok);
    ev
}

/// [`decode_with`] on `decoder` and `ctx`, handing back the context too.
pub(crate) fn decode_in<D: LineDecoder>(
    mut decoder: D,
    mut ctx: DecodeContext,
    line: &str,
) -> (DecodeContext, Event) {
    let ev = decode_with(&mut decoder, &mut ctx, line);
    (ctx, ev)
}

/// Decodes `line` into a new event, returning the decoder's result and the event.
pub(crate) fn try_decode<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    line: &str,
) -> (Result<bool, DecodeErrorKind>, Event) {
    let mut ev = Event::new();
    let result = decoder.decode_line(ctx, line, &mut ev);
    (result, ev)
}

/// Feeds every line to `decoder` in turn (so its state carries over), into one reused
/// event, ignoring the results: for checks that decoding never panics.
pub(crate) fn decode_each<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    lines: &[String],
) {
    let mut ev = Event::new();
    for line in lines {
        ev.clear();
        let _ = decoder.decode_line(ctx, line, &mut ev);
    }
}

/// Decodes every line of `text` (split at `\n`), returning the events and the errors with
/// their line numbers. A line without an event, or with an error, must leave no fields.
pub(crate) fn run<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    text: &str,
) -> (Vec<Event>, Vec<(usize, DecodeErrorKind)>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let mut ev = Event::new();
        match decoder.decode_line(ctx, line, &mut ev) {
            Ok(true) => events.push(ev),
            Ok(false) => assert_eq!(ev.field_count(), 0),
            Err(e) => {
                assert_eq!(ev.field_count(), 0, "failed rows leave no fields");
                errors.push((n + 1, e));
            }
        }
    }
    (events, errors)
}

/// The first value of field `name`.
pub(crate) fn get<'e>(ctx: &mut DecodeContext, ev: &'e Event, name: &str) -> Option<Value<'e>> {
    ev.get(ctx.id(name))
}

/// The first value of field `name`, if it is a string.
pub(crate) fn s<'e>(ctx: &mut DecodeContext, ev: &'e Event, name: &str) -> Option<&'e str> {
    get(ctx, ev, name).and_then(|v| v.as_str())
}

/// Every value of field `name`, in order.
pub(crate) fn all<'e>(ctx: &mut DecodeContext, ev: &'e Event, name: &str) -> Vec<Value<'e>> {
    ev.get_all(ctx.id(name)).collect()
}

/// The reason of a syntax error of `format`; panics on any other error.
pub(crate) fn syntax_reason<'a>(e: &'a DecodeErrorKind, format: &str) -> &'a str {
    match e {
        DecodeErrorKind::Syntax {
            format: got,
            reason,
        } => {
            assert_eq!(*got, format);
            reason
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

/// The line numbers and reasons of syntax errors of `format`, as [`run`] returns them.
pub(crate) fn syntax_reasons<'a>(
    errors: &'a [(usize, DecodeErrorKind)],
    format: &str,
) -> Vec<(usize, &'a str)> {
    errors
        .iter()
        .map(|(n, e)| (*n, syntax_reason(e, format)))
        .collect()
}

/// Decodes every line of `text` (as [`str::lines`] splits it) with `decoder` into `ev`,
/// cleared before each line; every line must decode without error, and each event is
/// handed to `check`. Returns how many events there were; `ev` keeps the last line's.
pub(crate) fn decode_reusing<D: LineDecoder>(
    decoder: &mut D,
    ctx: &mut DecodeContext,
    ev: &mut Event,
    text: &str,
    mut check: impl FnMut(&mut DecodeContext, &Event),
) -> usize {
    let mut n = 0;
    for line in text.lines() {
        ev.clear();
        if decoder.decode_line(ctx, line, ev).unwrap() {
            n += 1;
            check(ctx, ev);
        }
    }
    n
}

/// Asserts that `decoder` finds no event in `blank` and that every line of `bad` is a
/// syntax error of `format` with a reason, all decoded in turn into one reused event.
pub(crate) fn assert_blank_and_syntax_errors<D: LineDecoder>(
    mut decoder: D,
    mut ctx: DecodeContext,
    blank: &str,
    format: &str,
    bad: &[&str],
) {
    let mut ev = Event::new();
    assert_eq!(decoder.decode_line(&mut ctx, blank, &mut ev), Ok(false));
    for &line in bad {
        match decoder.decode_line(&mut ctx, line, &mut ev) {
            Err(DecodeErrorKind::Syntax {
                format: got,
                reason,
            }) => {
                assert_eq!(got, format);
                assert!(!reason.is_empty());
            }
            other => panic!("{line}: {other:?}"),
        }
    }
}
