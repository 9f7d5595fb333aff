//! Sigma string values and the compiled matchers that test one event string against them.
//!
//! This module owns: parsing a Sigma string into literal runs and wildcards (`*`, `?`, and
//! the `\*`, `\?`, `\\` escapes of the spec); case folding; compiling a wildcard pattern
//! into the cheapest matcher (exact, prefix, suffix, substring, `*`/`?` glob); the textual
//! form of non-string event values; and the conservative extraction of required literals
//! (for the engine's Aho-Corasick prefilter) from patterns and from regular expressions.
//!
//! # Case folding
//!
//! Case-insensitive values are folded at compile time with [`fold_case`]: char-wise
//! Unicode lowercase (without the context-dependent final-sigma rule of
//! [`str::to_lowercase`], so that folding commutes with concatenation), except for the two
//! characters whose lowercase is ASCII (U+0130 `İ`, U+212A Kelvin sign), which are kept as
//! they are. Folding therefore never turns non-ASCII text into ASCII: ASCII rule text only
//! ever matches ASCII event text, and an ASCII-case-insensitive prefilter (the engine's)
//! is sound for every literal this module extracts.
//!
//! At match time the event string is compared with ASCII case folding, directly on its
//! bytes, without allocating. For an ASCII needle that is exact. Only a needle with
//! non-ASCII characters, tested against a non-ASCII event string that failed the fast
//! path, needs the event string folded in full (into a reused thread-local buffer).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;

use memchr::memmem;
use watchfloor_event::Value;

/// One piece of a parsed Sigma string. Literal runs are bytes because encoding modifiers
/// (UTF-16) may produce bytes that only become text again after base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(Vec<u8>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    Quest,
}

/// Parses a Sigma string value: `*` and `?` are wildcards; a backslash escapes `*`, `?` and
/// itself; any other backslash is literal (so `C:\Windows\\*` is a backslash path then a
/// wildcard, and `C:\Windows\*` ends in a plain star, as SigmaHQ's `'select \*'`), and so
/// is a trailing one. This is the escaping of the Sigma specification and of pySigma.
pub(crate) fn parse_wildcards(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.clone().next() {
                Some(n @ ('*' | '?' | '\\')) => {
                    chars.next();
                    lit.push(n);
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit).into_bytes()));
                }
                toks.push(if c == '*' { Tok::Star } else { Tok::Quest });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit.into_bytes()));
    }
    normalize(toks)
}

/// Merges adjacent literals, drops empty ones and collapses runs of `*`.
pub(crate) fn normalize(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for t in toks {
        match (out.last_mut(), t) {
            (_, Tok::Lit(l)) if l.is_empty() => {}
            (Some(Tok::Lit(prev)), Tok::Lit(l)) => prev.extend_from_slice(&l),
            (Some(Tok::Star), Tok::Star) => {}
            (_, t) => out.push(t),
        }
    }
    out
}

/// Whether the tokens hold a wildcard.
pub(crate) fn has_wildcards(toks: &[Tok]) -> bool {
    toks.iter().any(|t| !matches!(t, Tok::Lit(_)))
}

/// The case folding of every case-insensitive comparison in this crate: char-wise Unicode
/// lowercase, except that U+0130 and U+212A (whose lowercase is ASCII) stay as they are.
/// [`crate::field_test::FieldTest::required_literals`] is sound against this folding and
/// against ASCII case-insensitive search alike.
pub fn fold_case(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    Cow::Owned(out)
}

fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if LOWERS_TO_ASCII.contains(&c) {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// The non-ASCII characters whose lowercase contains ASCII (a test checks the list against
/// the whole of Unicode). Folding leaves them alone.
const LOWERS_TO_ASCII: [char; 2] = ['\u{130}', '\u{212A}'];

thread_local! {
    static FOLD_BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs `f` on the case-folded form of `s`, using a reused thread-local buffer (no
/// allocation once it has grown), or a fresh string if the buffer is already in use.
pub(crate) fn with_folded<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    FOLD_BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            fold_into(s, &mut buf);
            let r = f(&buf);
            if buf.capacity() > 1 << 20 {
                *buf = String::new();
            }
            r
        }
        Err(_) => {
            let mut own = String::with_capacity(s.len());
            fold_into(s, &mut own);
            f(&own)
        }
    })
}

/// Fixed-size stack buffer for the textual form of a number or boolean.
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Runs `f` on the textual form of a non-null value: strings as they are, numbers and
/// booleans as `Value`'s `Display` writes them (on the stack; only floats too long for 64
/// bytes allocate). `None` for `Null`.
pub(crate) fn with_text<R>(v: Value<'_>, f: impl FnOnce(&str) -> R) -> Option<R> {
    match v {
        Value::Null => None,
        Value::Str(s) => Some(f(s)),
        Value::Bool(true) => Some(f("true")),
        Value::Bool(false) => Some(f("false")),
        Value::Int(i) => {
            let mut buf = [0u8; 20];
            Some(f(int_text(i, &mut buf)))
        }
        other => {
            let mut st = StackText {
                buf: [0; 64],
                len: 0,
            };
            if write!(st, "{other}").is_ok() {
                // Display of numbers is ASCII.
                Some(f(std::str::from_utf8(&st.buf[..st.len]).unwrap_or("")))
            } else {
                Some(f(&other.to_string()))
            }
        }
    }
}

/// The decimal text of `i` (as `Display` writes it), written into `buf` without the
/// formatting machinery: integers are the most common non-string values.
pub(crate) fn int_text(i: i64, buf: &mut [u8; 20]) -> &str {
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    // Only ASCII digits and '-' were written.
    std::str::from_utf8(&buf[at..]).unwrap_or("")
}

/// How common a byte is in log text, higher = more common. Used to pick the byte of a
/// needle whose occurrences are scanned for: the rarer, the fewer false candidates.
fn byte_rank(b: u8) -> u8 {
    match b.to_ascii_lowercase() {
        b' ' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 250,
        b'h' | b'l' | b'd' | b'c' | b'u' | b'm' | b'\\' | b'.' | b'0' => 220,
        b'1'..=b'9' | b'/' | b'-' | b'_' | b':' | b'f' | b'g' | b'p' | b'w' => 200,
        b'y' | b'b' | b'v' | b'"' | b'=' | b',' | b'\'' | 0 => 170,
        b'k' | b'j' | b'x' | b'q' | b'z' => 140,
        0x80..=0xff => 120,
        0x01..=0x1f | 0x7f => 40,
        _ => 90,
    }
}

/// A substring to search for, exactly (`cased`) or with ASCII case folding (the needle is
/// already folded).
///
/// Case-insensitive search: `memmem::Finder` only finds exact bytes, and folding the
/// haystack first costs a copy per event value. Instead the needle's rarest byte is
/// located with `memchr2` over both of its ASCII cases (SIMD speed), and each candidate
/// window is verified in place with `eq_ignore_ascii_case`. No allocation; the worst case
/// is O(haystack × needle) on adversarial text, bounded by the short rule literals.
#[derive(Clone, Debug)]
pub(crate) struct Needle {
    bytes: Box<[u8]>,
    rare: usize,
    rare_lo: u8,
    rare_hi: u8,
    /// Exact search (`cased`), boxed: a finder is large and cased needles are rare.
    finder: Option<Box<memmem::Finder<'static>>>,
}

impl Needle {
    pub(crate) fn new(bytes: &[u8], cased: bool) -> Needle {
        let rare = bytes
            .iter()
            .enumerate()
            .min_by_key(|&(_, &b)| byte_rank(b))
            .map_or(0, |(i, _)| i);
        let b = bytes.get(rare).copied().unwrap_or(0);
        Needle {
            bytes: bytes.into(),
            rare,
            rare_lo: b.to_ascii_lowercase(),
            rare_hi: b.to_ascii_uppercase(),
            finder: cased.then(|| Box::new(memmem::Finder::new(bytes).into_owned())),
        }
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The start of the leftmost occurrence at or after `from`.
    pub(crate) fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        let n = self.bytes.len();
        if from > hay.len() || hay.len() - from < n {
            return None;
        }
        if let Some(f) = &self.finder {
            return f.find(&hay[from..]).map(|i| i + from);
        }
        if n == 0 {
            return Some(from);
        }
        let last = hay.len() - n + self.rare;
        let mut i = from + self.rare;
        while i <= last {
            let off = memchr::memchr2(self.rare_lo, self.rare_hi, &hay[i..=last])?;
            let start = i + off - self.rare;
            if hay[start..start + n].eq_ignore_ascii_case(&self.bytes) {
                return Some(start);
            }
            i += off + 1;
        }
        None
    }
}

fn eq_bytes(a: &[u8], b: &[u8], cased: bool) -> bool {
    if cased {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

/// One `*`-free stretch of a glob: literals and `?`.
#[derive(Clone, Debug)]
struct Segment {
    items: Vec<SegItem>,
    /// Characters matched: literal characters plus one per `?`.
    chars: usize,
    /// Finder for the leading literal, when the segment starts with one.
    lead: Option<Needle>,
}

#[derive(Clone, Debug)]
enum SegItem {
    Lit(Box<[u8]>),
    AnyChar,
}

fn utf8_width(b: u8) -> usize {
    match b {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

impl Segment {
    /// Where the segment ends when matched at `pos`.
    fn match_at(&self, hay: &[u8], mut pos: usize, cased: bool) -> Option<usize> {
        for item in &self.items {
            match item {
                SegItem::Lit(l) => {
                    let end = pos.checked_add(l.len()).filter(|&e| e <= hay.len())?;
                    if !eq_bytes(&hay[pos..end], l, cased) {
                        return None;
                    }
                    pos = end;
                }
                SegItem::AnyChar => {
                    let b = *hay.get(pos)?;
                    pos = (pos + utf8_width(b)).min(hay.len());
                }
            }
        }
        Some(pos)
    }

    /// The leftmost match starting at or after `from` and ending at or before `limit`.
    fn find(&self, hay: &[u8], from: usize, limit: usize, cased: bool) -> Option<usize> {
        let hay = &hay[..limit];
        match &self.lead {
            Some(lead) => {
                let mut at = from;
                while let Some(s) = lead.find(hay, at) {
                    if let Some(end) = self.match_at(hay, s, cased) {
                        return Some(end);
                    }
                    at = s + 1;
                }
                None
            }
            None => {
                let mut s = from;
                while s <= hay.len() {
                    if let Some(end) = self.match_at(hay, s, cased) {
                        return Some(end);
                    }
                    if s == hay.len() {
                        break;
                    }
                    s += 1;
                    while s < hay.len() && (hay[s] & 0xc0) == 0x80 {
                        s += 1;
                    }
                }
                None
            }
        }
    }
}

/// A pattern with wildcards that is none of the simple shapes.
#[derive(Clone, Debug)]
struct Glob {
    head: Option<Segment>,
    middles: Vec<Segment>,
    tail: Option<Segment>,
    /// No `*` at all: the head must match the whole string.
    whole: bool,
}

impl Glob {
    fn is_match(&self, hay: &[u8], cased: bool) -> bool {
        if self.whole {
            return self
                .head
                .as_ref()
                .and_then(|h| h.match_at(hay, 0, cased))
                .is_some_and(|end| end == hay.len());
        }
        let mut pos = 0;
        if let Some(h) = &self.head {
            match h.match_at(hay, 0, cased) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        let mut limit = hay.len();
        if let Some(t) = &self.tail {
            // Walk back `chars` characters from the end to where the tail must start.
            let mut start = hay.len();
            for _ in 0..t.chars {
                if start == 0 {
                    return false;
                }
                start -= 1;
                while start > 0 && (hay[start] & 0xc0) == 0x80 {
                    start -= 1;
                }
            }
            if start < pos || t.match_at(hay, start, cased) != Some(hay.len()) {
                return false;
            }
            limit = start;
        }
        for m in &self.middles {
            match m.find(hay, pos, limit, cased) {
                Some(end) => pos = end,
                None => return false,
            }
        }
        true
    }
}

#[derive(Clone, Debug)]
enum Shape {
    /// `*`: any string, even empty.
    Any,
    Exact(Box<[u8]>),
    Prefix(Box<[u8]>),
    Suffix(Box<[u8]>),
    Contains(Needle),
    Glob(Box<Glob>),
}

/// A compiled Sigma string pattern, matched against the whole of an event string.
#[derive(Clone, Debug)]
pub(crate) struct StrPattern {
    shape: Shape,
    cased: bool,
    /// Every literal byte is ASCII.
    ascii: bool,
    /// Longest ASCII run of a literal, folded: a substring of every matching string after
    /// folding. Empty when there is none.
    literal: String,
}

/// A character no case mapping changes, in either direction.
fn is_caseless(c: char) -> bool {
    let mut lower = c.to_lowercase();
    let mut upper = c.to_uppercase();
    lower.next() == Some(c)
        && lower.next().is_none()
        && upper.next() == Some(c)
        && upper.next().is_none()
}

/// A pattern's literal bytes were not text (an encoding modifier without base64 after it).
#[derive(Debug)]
pub(crate) struct NotText;

impl StrPattern {
    /// Compiles normalized tokens; case-insensitive unless `cased`.
    pub(crate) fn compile(toks: &[Tok], cased: bool) -> Result<StrPattern, NotText> {
        let mut folded: Vec<Tok> = Vec::with_capacity(toks.len());
        let mut literal = String::new();
        let mut ascii = true;
        for t in toks {
            match t {
                Tok::Lit(l) => {
                    let s = std::str::from_utf8(l).map_err(|_| NotText)?;
                    ascii &= s.is_ascii();
                    let f = if cased {
                        s.to_owned()
                    } else {
                        fold_case(s).into_owned()
                    };
                    // A run may hold ASCII and caseless characters (emoji, format
                    // controls such as U+202E): the prefilter lower-cases only ASCII, and
                    // a caseless character is the same in every matching event string.
                    for run in f.split(|c: char| !c.is_ascii() && !is_caseless(c)) {
                        if run.len() > literal.len() {
                            literal = run.to_ascii_lowercase();
                        }
                    }
                    folded.push(Tok::Lit(f.into_bytes()));
                }
                other => folded.push(other.clone()),
            }
        }
        let lit = |t: &Tok| match t {
            Tok::Lit(l) => Some(l.clone().into_boxed_slice()),
            _ => None,
        };
        let shape = match folded.as_slice() {
            [] => Shape::Exact(Box::default()),
            [Tok::Star] => Shape::Any,
            [Tok::Lit(l)] => Shape::Exact(l.clone().into_boxed_slice()),
            [Tok::Lit(l), Tok::Star] => Shape::Prefix(l.clone().into_boxed_slice()),
            [Tok::Star, Tok::Lit(l)] => Shape::Suffix(l.clone().into_boxed_slice()),
            [Tok::Star, Tok::Lit(l), Tok::Star] => Shape::Contains(Needle::new(l, cased)),
            all => {
                let mut segs: Vec<Vec<&Tok>> = vec![Vec::new()];
                for t in all {
                    match t {
                        Tok::Star => segs.push(Vec::new()),
                        t => segs.last_mut().expect("non-empty").push(t),
                    }
                }
                let whole = segs.len() == 1;
                let make = |items: &[&Tok]| -> Option<Segment> {
                    if items.is_empty() {
                        return None;
                    }
                    let mut chars = 0;
                    let items: Vec<SegItem> = items
                        .iter()
                        .map(|t| match lit(t) {
                            Some(l) => {
                                chars += String::from_utf8_lossy(&l).chars().count();
                                SegItem::Lit(l)
                            }
                            None => {
                                chars += 1;
                                SegItem::AnyChar
                            }
                        })
                        .collect();
                    let lead = match items.first() {
                        Some(SegItem::Lit(l)) => Some(Needle::new(l, cased)),
                        _ => None,
                    };
                    Some(Segment { items, chars, lead })
                };
                let n = segs.len();
                let head = make(&segs[0]);
                let tail = if whole { None } else { make(&segs[n - 1]) };
                let middles = if n > 2 {
                    segs[1..n - 1].iter().filter_map(|s| make(s)).collect()
                } else {
                    Vec::new()
                };
                Shape::Glob(Box::new(Glob {
                    head,
                    middles,
                    tail,
                    whole,
                }))
            }
        };
        Ok(StrPattern {
            shape,
            cased,
            ascii,
            literal,
        })
    }

    /// The fast path: a match with exact (`cased`) or ASCII-folded comparison of bytes.
    #[inline]
    pub(crate) fn match_bytes(&self, hay: &[u8]) -> bool {
        let cased = self.cased;
        match &self.shape {
            Shape::Any => true,
            Shape::Exact(n) => hay.len() == n.len() && eq_bytes(hay, n, cased),
            Shape::Prefix(n) => hay.len() >= n.len() && eq_bytes(&hay[..n.len()], n, cased),
            Shape::Suffix(n) => {
                hay.len() >= n.len() && eq_bytes(&hay[hay.len() - n.len()..], n, cased)
            }
            Shape::Contains(n) => n.find(hay, 0).is_some(),
            Shape::Glob(g) => g.is_match(hay, cased),
        }
    }

    /// Full match of an event string, folding it only when the fast path cannot decide:
    /// a needle with non-ASCII characters against a non-ASCII string. (The field tests
    /// inline this logic per group so that a string is folded once for all alternatives.)
    #[cfg(test)]
    pub(crate) fn is_match(&self, hay: &str) -> bool {
        if self.match_bytes(hay.as_bytes()) {
            return true;
        }
        if !self.needs_fold() || hay.is_ascii() {
            return false;
        }
        with_folded(hay, |f| self.match_bytes(f.as_bytes()))
    }

    /// Whether a non-ASCII string that failed [`Self::match_bytes`] could still match
    /// after folding.
    #[inline]
    pub(crate) fn needs_fold(&self) -> bool {
        !self.cased && !self.ascii
    }

    /// The longest folded ASCII literal every match contains, if any.
    pub(crate) fn literal(&self) -> Option<&str> {
        (!self.literal.is_empty()).then_some(self.literal.as_str())
    }

    /// The substring needle, when the pattern is `*literal*` (for grouping into one
    /// Aho-Corasick automaton).
    pub(crate) fn contains_needle(&self) -> Option<&[u8]> {
        match &self.shape {
            Shape::Contains(n) => Some(n.bytes()),
            _ => None,
        }
    }

    /// `(is_suffix, needle)` when the pattern is a case-insensitive ASCII `literal*` or
    /// `*literal` (for grouping the affixes of a list).
    pub(crate) fn ascii_affix(&self) -> Option<(bool, &[u8])> {
        if self.cased || !self.ascii {
            return None;
        }
        match &self.shape {
            Shape::Prefix(n) => Some((false, n)),
            Shape::Suffix(n) => Some((true, n)),
            _ => None,
        }
    }

    /// The whole-value needle when the pattern is a case-insensitive ASCII literal (for
    /// grouping the equalities of a list).
    pub(crate) fn ascii_exact(&self) -> Option<&[u8]> {
        match &self.shape {
            Shape::Exact(n) if !self.cased && self.ascii => Some(n),
            _ => None,
        }
    }

    pub(crate) fn is_cased(&self) -> bool {
        self.cased
    }
}

/// A literal every match of the (unanchored) regular expression contains, folded to
/// lowercase ASCII; `None` when the pattern has no such literal or is too complex to
/// tell. Conservative: top-level alternation, inline `x` flags and anything unfamiliar
/// give `None`; groups, classes, escapes other than escaped punctuation and quantified
/// characters end a literal run. With case-insensitive matching `s` and `k` end a run too,
/// as `(?i)` also matches them with U+017F and U+212A, which ASCII folding does not see.
pub(crate) fn regex_literal(pattern: &str, case_insensitive: bool) -> Option<String> {
    let ci = case_insensitive || pattern.contains("(?");
    if has_inline_x_flag(pattern) {
        return None;
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut best = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, best: &mut String| {
        if run.len() > best.len() {
            *best = std::mem::take(run);
        } else {
            run.clear();
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let n = *chars.get(i + 1)?;
                if n.is_ascii_punctuation() {
                    run.push(n);
                    i += 2;
                } else {
                    flush(&mut run, &mut best);
                    i += 2;
                    // Escapes with an argument: \x41 \x{..} \u0041 \u{..} \U.. \p{..} \pL.
                    let fixed = match n {
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        'p' | 'P' => 1,
                        _ => 0,
                    };
                    if fixed > 0 {
                        if chars.get(i) == Some(&'{') {
                            while i < chars.len() && chars[i] != '}' {
                                i += 1;
                            }
                            i += 1;
                        } else {
                            i += fixed;
                        }
                    }
                }
            }
            '*' | '?' | '{' => {
                // The previous atom may be absent: drop its last char from the run.
                run.pop();
                flush(&mut run, &mut best);
                if c == '{' {
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                }
                i += 1;
            }
            '+' => {
                flush(&mut run, &mut best);
                i += 1;
            }
            '|' => return None,
            ')' => return None,
            '(' => {
                flush(&mut run, &mut best);
                i = skip_group(&chars, i)?;
            }
            '[' => {
                flush(&mut run, &mut best);
                i = skip_class(&chars, i)?;
            }
            '.' | '^' | '$' => {
                flush(&mut run, &mut best);
                i += 1;
            }
            c if c.is_ascii()
                && !c.is_ascii_control()
                && !(ci && matches!(c.to_ascii_lowercase(), 's' | 'k')) =>
            {
                run.push(c.to_ascii_lowercase());
                i += 1;
            }
            _ => {
                flush(&mut run, &mut best);
                i += 1;
            }
        }
    }
    // A quantifier may follow the last char only inside the loop, so the run is final.
    flush(&mut run, &mut best);
    (!best.is_empty()).then_some(best)
}

fn has_inline_x_flag(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(i, _)| {
        pattern[i + 2..]
            .chars()
            .take_while(|c| *c != ')' && *c != ':')
            .any(|c| c == 'x')
    })
}

/// Index just past the group opening at `start`.
fn skip_group(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => {
                i = skip_class(chars, i)?;
                continue;
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Index just past the character class opening at `start`.
fn skip_class(chars: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        i += 1;
    }
    if chars.get(i) == Some(&']') {
        i += 1;
    }
    let mut depth = 1usize;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lit(s: &str) -> Tok {
        Tok::Lit(s.as_bytes().to_vec())
    }

    fn pat(s: &str, cased: bool) -> StrPattern {
        StrPattern::compile(&parse_wildcards(s), cased).unwrap()
    }

    #[test]
    fn escapes_follow_the_spec() {
        assert_eq!(
            parse_wildcards(r"C:\Windows\\*"),
            vec![lit(r"C:\Windows\"), Tok::Star]
        );
        assert_eq!(parse_wildcards(r"C:\Windows\*"), vec![lit(r"C:\Windows*")]);
        assert_eq!(parse_wildcards(r"a\*b"), vec![lit("a*b")]);
        assert_eq!(parse_wildcards(r"a\?b"), vec![lit("a?b")]);
        assert_eq!(parse_wildcards(r"a\\*"), vec![lit(r"a\"), Tok::Star]);
        assert_eq!(parse_wildcards(r"a\\\*"), vec![lit(r"a\*")]);
        assert_eq!(parse_wildcards(r"\\\\"), vec![lit(r"\\")]);
        assert_eq!(parse_wildcards(r"\\\x"), vec![lit(r"\\x")]);
        assert_eq!(parse_wildcards(r"end\"), vec![lit(r"end\")]);
        assert_eq!(
            parse_wildcards("a**?b"),
            vec![lit("a"), Tok::Star, Tok::Quest, lit("b")]
        );
    }

    #[test]
    fn only_two_non_ascii_chars_lower_to_ascii() {
        let found: Vec<char> = (0..=0x10ffffu32)
            .filter_map(char::from_u32)
            .filter(|c| !c.is_ascii() && c.to_lowercase().any(|l| l.is_ascii()))
            .collect();
        assert_eq!(found, LOWERS_TO_ASCII.to_vec());
        // So folding never creates ASCII, and keeps the number of chars.
        for c in (0x80..=0x10ffffu32).filter_map(char::from_u32) {
            let f = fold_case(c.encode_utf8(&mut [0; 4])).into_owned();
            assert!(!f.is_ascii(), "{c:?}");
            assert_eq!(f.chars().count(), 1, "{c:?}");
        }
    }

    #[test]
    fn shapes_and_case() {
        assert!(pat("CMD.exe", false).is_match("cmd.EXE"));
        assert!(!pat("CMD.exe", true).is_match("cmd.EXE"));
        assert!(pat("CMD.exe", true).is_match("CMD.exe"));
        assert!(pat(r"C:\Windows\\*", false).is_match(r"c:\windows\system32"));
        assert!(!pat(r"C:\Windows\\*", false).is_match(r"d:\windows\system32"));
        assert!(pat(r"C:\Windows\*", false).is_match(r"c:\windows*"));
        assert!(!pat(r"C:\Windows\*", false).is_match(r"c:\windows\system32"));
        assert!(pat(r"*\cmd.exe", false).is_match(r"C:\Windows\CMD.EXE"));
        assert!(pat("*whoami*", false).is_match("x WhoAmI /all"));
        assert!(pat("*", false).is_match(""));
        assert!(pat("", false).is_match(""));
        assert!(!pat("", false).is_match("x"));
        assert!(pat("a*b*c", false).is_match("AxxBxxC"));
        assert!(!pat("a*b*c", false).is_match("AxxCxxB"));
        assert!(pat("a*bc*bc", false).is_match("abcbc"));
        assert!(!pat("ab*ba", false).is_match("aba"));
        assert!(pat("prog?.exe", false).is_match("progA.exe"));
        assert!(!pat("prog?.exe", false).is_match("prog.exe"));
        assert!(pat("prog?.exe", false).is_match("progé.exe"));
        assert!(pat("*?", false).is_match("é"));
        assert!(!pat("?", false).is_match(""));
        assert!(pat("*a?c*", false).is_match("xxABCxx"));
        assert!(pat("*?c", false).is_match("éc"));
        assert!(!pat("*??c", false).is_match("éc"));
    }

    #[test]
    fn unicode_folding() {
        assert!(pat("*ÄRGER*", false).is_match("großer ärger"));
        assert!(pat("straße", false).is_match("STRAßE"));
        // The Kelvin sign lowercases to ASCII k, but folding keeps it apart.
        assert!(!pat("*k*", false).is_match("5 \u{212A}"));
        assert!(pat("*\u{212A}*", false).is_match("5 \u{212A}"));
        assert_eq!(fold_case("İK\u{212A}"), "İk\u{212A}");
        assert_eq!(fold_case("ΟΔΟΣ"), "οδοσ");
        assert!(pat("ΟΔΟΣ", false).is_match("οδοσ"));
    }

    #[test]
    fn needle_search() {
        let n = Needle::new(b"abc", false);
        assert_eq!(n.find(b"xxABcabc", 0), Some(2));
        assert_eq!(n.find(b"xxABcabc", 3), Some(5));
        assert_eq!(n.find(b"ab", 0), None);
        let c = Needle::new(b"abc", true);
        assert_eq!(c.find(b"xxABcabc", 0), Some(5));
        assert_eq!(Needle::new(b"", false).find(b"x", 1), Some(1));
    }

    #[test]
    fn text_forms() {
        assert_eq!(
            with_text(Value::Int(-42), str::to_owned),
            Some("-42".into())
        );
        assert_eq!(
            with_text(Value::Float(4688.0), str::to_owned),
            Some("4688".into())
        );
        assert_eq!(with_text(Value::Float(1e300), |s| s.len()), Some(301));
        for i in [0, 7, -7, 10, 4688, i64::MAX, i64::MIN, -1_000_000] {
            assert_eq!(int_text(i, &mut [0; 20]), i.to_string());
        }
        assert_eq!(
            with_text(Value::Bool(true), str::to_owned),
            Some("true".into())
        );
        assert_eq!(with_text(Value::Null, str::to_owned), None);
    }

    #[test]
    fn regex_literals() {
        assert_eq!(
            regex_literal(r"foo\.exe", false).as_deref(),
            Some("foo.exe")
        );
        assert_eq!(regex_literal(r"a|b", false), None);
        assert_eq!(regex_literal(r"(?x)abc", false), None);
        assert_eq!(regex_literal(r"abcd?ef", false).as_deref(), Some("abc"));
        assert_eq!(regex_literal(r"abc+", false).as_deref(), Some("abc"));
        assert_eq!(regex_literal(r"x{0,3}yz", false).as_deref(), Some("yz"));
        assert_eq!(regex_literal(r"\x41bcd", false).as_deref(), Some("bcd"));
        assert_eq!(
            regex_literal(r"[abc]+defg(hi|jk)", false).as_deref(),
            Some("defg")
        );
        assert_eq!(regex_literal(r"MiXeD", false).as_deref(), Some("mixed"));
        assert_eq!(regex_literal(r"ab(?i)sxyz", false).as_deref(), Some("xyz"));
        assert_eq!(regex_literal(r"abcdkefg", true).as_deref(), Some("abcd"));
        assert_eq!(regex_literal(r"\d+", false), None);
    }

    proptest! {
        #[test]
        fn ascii_self_match(s in "[ -~]{0,24}", mode in 0u8..4) {
            let mut toks = vec![Tok::Lit(s.as_bytes().to_vec())];
            match mode {
                1 => toks.push(Tok::Star),
                2 => toks.insert(0, Tok::Star),
                3 => { toks.insert(0, Tok::Star); toks.push(Tok::Star); }
                _ => {}
            }
            let p = StrPattern::compile(&normalize(toks), false).unwrap();
            prop_assert!(p.is_match(&s));
            prop_assert!(p.is_match(&s.to_ascii_uppercase()));
            prop_assert!(p.is_match(&s.to_ascii_lowercase()));
        }

        #[test]
        fn glob_agrees_with_regex(p in "[ab*?]{0,8}", hay in "[abAB]{0,10}") {
            let compiled = pat(&p, false);
            let mut re = String::from("(?is)^");
            for c in p.chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push(c),
                }
            }
            re.push('$');
            let expected = regex::Regex::new(&re).unwrap().is_match(&hay);
            prop_assert_eq!(compiled.is_match(&hay), expected, "pattern {} hay {}", p, hay);
        }

        #[test]
        fn regex_literal_sound(
            re in prop::sample::select(vec![
                r"ab+c", r"abc?d", r"foo(bar)?baz", r"[0-9]+xyz", r"(?i)hello", r"a.b.c",
                r"x{2,3}yy", r"\.exe$", r"^cmd\s+/c", r"s(?i)ecret", r"qq\x41rr",
            ]),
            hay in "[a-zA-Z0-9 ./\\\\]{0,12}",
            pre in "[a-z]{0,3}",
        ) {
            let r = regex::Regex::new(re).unwrap();
            // Build haystacks likely to match by taking a regex sample plus noise.
            for h in [hay.clone(), format!("{pre}abbc"), format!("{pre}HELLO"), format!("xxyy{pre}"),
                      format!("{pre}abd"), "foobaz".to_string(), "cmd  /c".to_string(), "a.exe".to_string()] {
                if r.is_match(&h)
                    && let Some(l) = regex_literal(re, false)
                {
                    prop_assert!(fold_case(&h).contains(&l), "re {} hay {} lit {}", re, h, l);
                }
            }
        }
    }
}
