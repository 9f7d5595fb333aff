//! Sigma value modifiers (Sigma v2.1, with pySigma's aliases).
//!
//! This module owns: the rule value type ([`RuleValue`]), the placeholder lists of the
//! `expand` modifier ([`Placeholders`]), modifier names ([`Modifier`]), the validation of a
//! modifier chain into what kind of test it makes (`Chain`), the errors of both
//! ([`ModifierError`]), and the value transformations applied in chain order: wildcard
//! anchoring (`contains`, `startswith`, `endswith`), `windash`, `base64`, `base64offset`,
//! `utf16le`/`wide`, `utf16be`, `utf16` and `expand`. Matching lives in
//! [`crate::field_test`] and [`crate::pattern`].

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::pattern::{Tok, has_wildcards, normalize, parse_wildcards};

/// A scalar as written in the rule's YAML.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

impl RuleValue {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RuleValue::Str(_) => "string",
            RuleValue::Int(_) => "integer",
            RuleValue::Float(_) => "float",
            RuleValue::Bool(_) => "boolean",
            RuleValue::Null => "null",
        }
    }

    /// The value as YAML showed it, for messages and for string modifiers applied to
    /// numbers.
    pub(crate) fn text(&self) -> String {
        match self {
            RuleValue::Str(s) => s.clone(),
            RuleValue::Int(i) => i.to_string(),
            RuleValue::Float(f) => f.to_string(),
            RuleValue::Bool(b) => b.to_string(),
            RuleValue::Null => "null".to_owned(),
        }
    }
}

/// Named value lists for the `expand` modifier (`%Admins%` → values).
pub type Placeholders = HashMap<String, Vec<String>>;

/// Most alternatives one field test may expand into (`windash` permutations,
/// `base64offset` variants and `expand` placeholders multiply).
pub const MAX_ALTERNATIVES: usize = 4096;

/// Why a `field|modifiers: values` item cannot be compiled. The caller reports it and
/// skips the rule.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModifierError {
    #[error("unknown modifier '{0}'")]
    Unknown(String),
    #[error("modifier '{first}' cannot be combined with '{second}'")]
    Incompatible { first: String, second: String },
    #[error("modifier '{modifier}' {reason}")]
    Misplaced {
        modifier: String,
        reason: &'static str,
    },
    #[error("modifier '{0}' needs a field; it cannot be used in a keyword list")]
    NeedsField(String),
    #[error("modifier 'all' needs a list of at least two values")]
    AllOnSingleValue,
    #[error("modifier 'exists' needs a single boolean value (true or false)")]
    ExistsValue,
    #[error("modifier '{modifier}' needs a numeric value, got '{value}'")]
    NotNumeric { modifier: String, value: String },
    #[error("modifier '{modifier}' cannot be applied to the {kind} value '{value}'")]
    ValueType {
        modifier: String,
        kind: &'static str,
        value: String,
    },
    #[error("modifier '{modifier}' does not allow wildcards, got '{value}'")]
    Wildcards { modifier: String, value: String },
    #[error("invalid regular expression '{pattern}': {message}")]
    Regex { pattern: String, message: String },
    #[error("invalid CIDR network '{0}'")]
    Cidr(String),
    #[error("unresolved placeholder %{0}%")]
    UnresolvedPlaceholder(String),
    #[error("modifier '{modifier}' expands the values into more than {limit} alternatives")]
    TooManyValues { modifier: String, limit: usize },
    #[error("null cannot be part of a list of values")]
    NullInList,
    #[error(
        "value '{0}' is not text after encoding; follow the encoding modifier with 'base64' or 'base64offset'"
    )]
    NotText(String),
}

/// One value modifier, by its Sigma name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Re,
    /// `re` sub-modifier `i` (alias `ignorecase`).
    IgnoreCase,
    /// `re` sub-modifier `m` (alias `multiline`).
    Multiline,
    /// `re` sub-modifier `s` (alias `dotall`).
    DotAll,
    Base64,
    Base64Offset,
    /// `utf16le`, alias `wide`.
    Utf16Le,
    Utf16Be,
    /// UTF-16 little endian after a byte order mark.
    Utf16,
    Windash,
    Cidr,
    Lt,
    Lte,
    Gt,
    Gte,
    FieldRef,
    Expand,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Modifier {
    /// The modifier of a name as written after `|` (names are case-sensitive, as in
    /// pySigma).
    pub fn parse(name: &str) -> Result<Modifier, ModifierError> {
        use Modifier::*;
        Ok(match name {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "exists" => Exists,
            "cased" => Cased,
            "neq" => Neq,
            "re" => Re,
            "i" | "ignorecase" => IgnoreCase,
            "m" | "multiline" => Multiline,
            "s" | "dotall" => DotAll,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" | "wide" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "windash" => Windash,
            "cidr" => Cidr,
            "lt" => Lt,
            "lte" => Lte,
            "gt" => Gt,
            "gte" => Gte,
            "fieldref" => FieldRef,
            "expand" => Expand,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            other => return Err(ModifierError::Unknown(other.to_owned())),
        })
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        use Modifier::*;
        match self {
            Contains => "contains",
            StartsWith => "startswith",
            EndsWith => "endswith",
            All => "all",
            Exists => "exists",
            Cased => "cased",
            Neq => "neq",
            Re => "re",
            IgnoreCase => "i",
            Multiline => "m",
            DotAll => "s",
            Base64 => "base64",
            Base64Offset => "base64offset",
            Utf16Le => "utf16le",
            Utf16Be => "utf16be",
            Utf16 => "utf16",
            Windash => "windash",
            Cidr => "cidr",
            Lt => "lt",
            Lte => "lte",
            Gt => "gt",
            Gte => "gte",
            FieldRef => "fieldref",
            Expand => "expand",
            Minute => "minute",
            Hour => "hour",
            Day => "day",
            Week => "week",
            Month => "month",
            Year => "year",
        }
    }

    fn is_anchor(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }

    fn is_encoding(self) -> bool {
        matches!(
            self,
            Modifier::Base64
                | Modifier::Base64Offset
                | Modifier::Utf16Le
                | Modifier::Utf16Be
                | Modifier::Utf16
        )
    }

    fn is_transform(self) -> bool {
        self.is_anchor()
            || self.is_encoding()
            || matches!(self, Modifier::Windash | Modifier::Expand)
    }

    fn is_re_flag(self) -> bool {
        matches!(
            self,
            Modifier::IgnoreCase | Modifier::Multiline | Modifier::DotAll
        )
    }

    fn is_compare(self) -> bool {
        matches!(
            self,
            Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte
        )
    }

    fn time_part(self) -> Option<TimePart> {
        Some(match self {
            Modifier::Minute => TimePart::Minute,
            Modifier::Hour => TimePart::Hour,
            Modifier::Day => TimePart::Day,
            Modifier::Week => TimePart::Week,
            Modifier::Month => TimePart::Month,
            Modifier::Year => TimePart::Year,
            _ => return None,
        })
    }

    fn cmp_op(self) -> Option<CmpOp> {
        Some(match self {
            Modifier::Lt => CmpOp::Lt,
            Modifier::Lte => CmpOp::Lte,
            Modifier::Gt => CmpOp::Gt,
            Modifier::Gte => CmpOp::Gte,
            _ => return None,
        })
    }
}

/// A numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub(crate) fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
        }
    }
}

/// The component a time modifier extracts from a timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// What kind of test a modifier chain makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChainKind {
    /// Strings (with wildcards and transformations), numbers, booleans and null.
    Plain,
    Regex {
        ignore_case: bool,
        multi_line: bool,
        dot_all: bool,
    },
    Cidr,
    FieldRef,
    Exists,
    /// `lt`, `lte`, `gt`, `gte`.
    Compare(CmpOp),
    /// A time component compared with `Eq` or the given comparison.
    Time(TimePart, CmpOp),
}

/// A validated modifier chain.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Chain {
    pub(crate) kind: ChainKind,
    /// Value transformations in chain order (anchors, windash, encodings, expand).
    pub(crate) transforms: Vec<Modifier>,
    pub(crate) all: bool,
    pub(crate) neq: bool,
    pub(crate) cased: bool,
}

impl Chain {
    /// Parses and validates the modifier names after `|`. `has_field` is false for
    /// keyword lists.
    pub(crate) fn parse(names: &[&str], has_field: bool) -> Result<Chain, ModifierError> {
        let mods = names
            .iter()
            .map(|n| Modifier::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        let incompatible = |a: Modifier, b: Modifier| ModifierError::Incompatible {
            first: a.name().to_owned(),
            second: b.name().to_owned(),
        };
        let needs_field = |m: Modifier| -> Result<(), ModifierError> {
            if has_field {
                Ok(())
            } else {
                Err(ModifierError::NeedsField(m.name().to_owned()))
            }
        };

        // The modifier that decides the kind of test, if any, and that there is only one.
        let mut kind_mod: Option<Modifier> = None;
        for &m in &mods {
            let decides = matches!(
                m,
                Modifier::Re | Modifier::Cidr | Modifier::FieldRef | Modifier::Exists
            );
            if decides {
                match kind_mod {
                    Some(k) if k != m => return Err(incompatible(k, m)),
                    _ => kind_mod = Some(m),
                }
            }
        }
        let mut cmp: Option<Modifier> = None;
        let mut time: Option<Modifier> = None;
        for &m in &mods {
            if m.is_compare() {
                match cmp {
                    Some(c) if c != m => return Err(incompatible(c, m)),
                    _ => cmp = Some(m),
                }
            }
            if m.time_part().is_some() {
                match time {
                    Some(t) if t != m => return Err(incompatible(t, m)),
                    _ => time = Some(m),
                }
            }
        }
        if let (Some(k), Some(c)) = (kind_mod, cmp.or(time)) {
            return Err(incompatible(k, c));
        }
        if let Some(flag) = mods.iter().find(|m| m.is_re_flag())
            && kind_mod != Some(Modifier::Re)
        {
            return Err(ModifierError::Misplaced {
                modifier: flag.name().to_owned(),
                reason: "is a sub-modifier of 're' and needs it",
            });
        }

        let all = mods.contains(&Modifier::All);
        let neq = mods.contains(&Modifier::Neq);
        let cased = mods.contains(&Modifier::Cased);
        if neq {
            needs_field(Modifier::Neq)?;
        }
        // The first modifier outside `allowed`, reported against `owner`.
        let only = |owner: Modifier, allowed: &dyn Fn(Modifier) -> bool| match mods
            .iter()
            .find(|&&m| m != owner && !allowed(m))
        {
            Some(&m) => Err(incompatible(owner, m)),
            None => Ok(()),
        };
        let must_be_first = |m: Modifier| {
            if mods.first() == Some(&m) {
                Ok(())
            } else {
                Err(ModifierError::Misplaced {
                    modifier: m.name().to_owned(),
                    reason: "only applies to unmodified values and must come first",
                })
            }
        };

        let kind = match kind_mod {
            Some(Modifier::Exists) => {
                needs_field(Modifier::Exists)?;
                only(Modifier::Exists, &|_| false)?;
                ChainKind::Exists
            }
            Some(Modifier::Re) => {
                only(Modifier::Re, &|m| {
                    m.is_re_flag() || matches!(m, Modifier::All | Modifier::Neq)
                })?;
                must_be_first(Modifier::Re)?;
                ChainKind::Regex {
                    ignore_case: mods.contains(&Modifier::IgnoreCase),
                    multi_line: mods.contains(&Modifier::Multiline),
                    dot_all: mods.contains(&Modifier::DotAll),
                }
            }
            Some(Modifier::Cidr) => {
                needs_field(Modifier::Cidr)?;
                only(Modifier::Cidr, &|m| {
                    matches!(m, Modifier::All | Modifier::Neq)
                })?;
                must_be_first(Modifier::Cidr)?;
                ChainKind::Cidr
            }
            Some(Modifier::FieldRef) => {
                needs_field(Modifier::FieldRef)?;
                only(Modifier::FieldRef, &|m| {
                    m.is_anchor() || matches!(m, Modifier::Cased | Modifier::All | Modifier::Neq)
                })?;
                ChainKind::FieldRef
            }
            Some(other) => unreachable!("{other:?} does not decide the kind"),
            None => match (cmp, time) {
                (Some(c), t) => {
                    needs_field(c)?;
                    if neq {
                        return Err(incompatible(c, Modifier::Neq));
                    }
                    only(c, &|m| Some(m) == t || m == Modifier::All)?;
                    let op = c.cmp_op().expect("comparison");
                    match t.and_then(Modifier::time_part) {
                        Some(part) => ChainKind::Time(part, op),
                        None => ChainKind::Compare(op),
                    }
                }
                (None, Some(t)) => {
                    needs_field(t)?;
                    only(t, &|m| matches!(m, Modifier::All | Modifier::Neq))?;
                    ChainKind::Time(t.time_part().expect("time part"), CmpOp::Eq)
                }
                (None, None) => ChainKind::Plain,
            },
        };
        if kind == ChainKind::Plain {
            let mut encoded: Option<Modifier> = None;
            for &m in &mods {
                if m.is_encoding() {
                    encoded = encoded.or(Some(m));
                } else if matches!(m, Modifier::Windash | Modifier::Expand)
                    && let Some(e) = encoded
                {
                    return Err(ModifierError::Incompatible {
                        first: m.name().to_owned(),
                        second: format!("{} before it (apply it before encoding)", e.name()),
                    });
                }
            }
        }
        let transforms = if kind == ChainKind::Plain {
            mods.iter().copied().filter(|m| m.is_transform()).collect()
        } else {
            // Only fieldref keeps anchors; they are read from `anchors()`.
            mods.iter().copied().filter(|m| m.is_anchor()).collect()
        };
        Ok(Chain {
            kind,
            transforms,
            all,
            neq,
            cased,
        })
    }

    /// (starts open, ends open): whether the chain lets the value start / end anywhere
    /// (`contains` both, `endswith` start, `startswith` end).
    pub(crate) fn anchors(&self) -> (bool, bool) {
        let mut open = (false, false);
        for m in &self.transforms {
            match m {
                Modifier::Contains => open = (true, true),
                Modifier::StartsWith => open.1 = true,
                Modifier::EndsWith => open.0 = true,
                _ => {}
            }
        }
        open
    }

    pub(crate) fn has_anchor(&self) -> bool {
        self.transforms.iter().any(|m| m.is_anchor())
    }
}

/// Applies the chain's transformations, in order, to one string value; returns its
/// alternatives (several after `windash`, `base64offset` or `expand`). `budget` is how
/// many alternatives may still be produced.
pub(crate) fn transform(
    value: &str,
    transforms: &[Modifier],
    placeholders: &Placeholders,
    budget: usize,
) -> Result<Vec<Vec<Tok>>, ModifierError> {
    let mut alts = vec![parse_wildcards(value)];
    for &m in transforms {
        let mut next = Vec::with_capacity(alts.len());
        for alt in alts {
            match m {
                Modifier::Contains => {
                    let mut t = alt;
                    t.insert(0, Tok::Star);
                    t.push(Tok::Star);
                    next.push(normalize(t));
                }
                Modifier::StartsWith => {
                    let mut t = alt;
                    t.push(Tok::Star);
                    next.push(normalize(t));
                }
                Modifier::EndsWith => {
                    let mut t = alt;
                    t.insert(0, Tok::Star);
                    next.push(normalize(t));
                }
                Modifier::Windash => next.extend(windash(&alt, value, budget)?),
                Modifier::Base64 => {
                    let data = plain_bytes(&alt, m, value)?;
                    next.push(vec![Tok::Lit(STANDARD.encode(data).into_bytes())]);
                }
                Modifier::Base64Offset => {
                    let data = plain_bytes(&alt, m, value)?;
                    for v in base64_offsets(&data) {
                        next.push(normalize(vec![Tok::Lit(v.into_bytes())]));
                    }
                }
                Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 => {
                    let mut t = Vec::with_capacity(alt.len() + 1);
                    if m == Modifier::Utf16 {
                        t.push(Tok::Lit(vec![0xff, 0xfe]));
                    }
                    for tok in alt {
                        t.push(match tok {
                            Tok::Lit(l) => {
                                let s = std::str::from_utf8(&l)
                                    .map_err(|_| ModifierError::NotText(value.to_owned()))?;
                                Tok::Lit(utf16(s, m == Modifier::Utf16Be))
                            }
                            other => other,
                        });
                    }
                    next.push(normalize(t));
                }
                Modifier::Expand => next.extend(expand(&alt, value, placeholders, budget)?),
                _ => next.push(alt),
            }
            if next.len() > budget {
                return Err(ModifierError::TooManyValues {
                    modifier: m.name().to_owned(),
                    limit: MAX_ALTERNATIVES,
                });
            }
        }
        alts = next;
    }
    Ok(alts)
}

/// The bytes of a wildcard-free value (the encodings refuse wildcards, as pySigma does).
fn plain_bytes(toks: &[Tok], m: Modifier, value: &str) -> Result<Vec<u8>, ModifierError> {
    if has_wildcards(toks) {
        return Err(ModifierError::Wildcards {
            modifier: m.name().to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(toks
        .iter()
        .flat_map(|t| match t {
            Tok::Lit(l) => l.as_slice(),
            _ => &[],
        })
        .copied()
        .collect())
}

/// UTF-16 code units of `s` as little- or big-endian bytes.
pub(crate) fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    s.encode_utf16()
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// The three base64 forms of `data` at offsets 0, 1 and 2 within an encoded stream, with
/// the characters that depend on the unknown neighbouring bytes removed: pySigma's
/// `base64offset` (`b64encode(i * b' ' + data)[start[i] : end[(len + i) % 3]]` with starts
/// (0, 2, 3) and ends (none, -3, -2)), with `len` counted in bytes.
pub(crate) fn base64_offsets(data: &[u8]) -> [String; 3] {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    std::array::from_fn(|i| {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(data);
        let enc = STANDARD.encode(&buf);
        let end = enc.len().saturating_sub(END_CUT[(data.len() + i) % 3]);
        enc.get(START[i]..end).unwrap_or("").to_owned()
    })
}

/// The characters `windash` puts in place of a `-` or `/`.
pub(crate) const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// All permutations of [`DASHES`] at the `-` and `/` that start a word (pySigma's
/// `\B[-/]\b`: not preceded by a word character, followed by one), within each literal.
fn windash(toks: &[Tok], value: &str, budget: usize) -> Result<Vec<Vec<Tok>>, ModifierError> {
    // Per literal token: its chars and which of them are switchable.
    let mut slots = 0usize;
    let mut lits: Vec<Option<(Vec<char>, Vec<bool>)>> = Vec::with_capacity(toks.len());
    for t in toks {
        match t {
            Tok::Lit(l) => {
                let s =
                    std::str::from_utf8(l).map_err(|_| ModifierError::NotText(value.to_owned()))?;
                let chars: Vec<char> = s.chars().collect();
                let flags: Vec<bool> = (0..chars.len())
                    .map(|i| {
                        matches!(chars[i], '-' | '/')
                            && !(i > 0 && is_word(chars[i - 1]))
                            && chars.get(i + 1).is_some_and(|&n| is_word(n))
                    })
                    .collect();
                slots += flags.iter().filter(|&&f| f).count();
                lits.push(Some((chars, flags)));
            }
            _ => lits.push(None),
        }
    }
    let total = u32::try_from(slots)
        .ok()
        .and_then(|s| DASHES.len().checked_pow(s))
        .filter(|&t| t <= budget)
        .ok_or_else(|| ModifierError::TooManyValues {
            modifier: "windash".to_owned(),
            limit: MAX_ALTERNATIVES,
        })?;
    let mut out = Vec::with_capacity(total);
    for combo in 0..total {
        let mut digits = combo;
        let mut alt = Vec::with_capacity(toks.len());
        for (t, lit) in toks.iter().zip(&lits) {
            match lit {
                Some((chars, flags)) => {
                    let mut s = String::with_capacity(chars.len() + 4);
                    for (&c, &f) in chars.iter().zip(flags) {
                        if f {
                            s.push(DASHES[digits % DASHES.len()]);
                            digits /= DASHES.len();
                        } else {
                            s.push(c);
                        }
                    }
                    alt.push(Tok::Lit(s.into_bytes()));
                }
                None => alt.push(t.clone()),
            }
        }
        out.push(alt);
    }
    Ok(out)
}

fn is_placeholder_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Replaces each `%name%` in the literals with each value of the placeholder (values are
/// Sigma strings: their wildcards count); `\%` is a plain `%`.
fn expand(
    toks: &[Tok],
    value: &str,
    placeholders: &Placeholders,
    budget: usize,
) -> Result<Vec<Vec<Tok>>, ModifierError> {
    // The pieces to combine: fixed tokens, or a placeholder's alternatives.
    enum Piece<'a> {
        Fixed(Tok),
        Choice(&'a [String]),
    }
    let mut pieces: Vec<Piece<'_>> = Vec::new();
    for t in toks {
        let Tok::Lit(l) = t else {
            pieces.push(Piece::Fixed(t.clone()));
            continue;
        };
        let s = std::str::from_utf8(l).map_err(|_| ModifierError::NotText(value.to_owned()))?;
        let mut plain = String::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if c == '\\' && rest[1..].starts_with('%') {
                plain.push('%');
                rest = &rest[2..];
                continue;
            }
            if c == '%' {
                let name_len = rest[1..]
                    .find(|c: char| !is_placeholder_char(c))
                    .unwrap_or(rest.len() - 1);
                if name_len > 0 && rest[1 + name_len..].starts_with('%') {
                    let name = &rest[1..1 + name_len];
                    let values = placeholders
                        .get(name)
                        .ok_or_else(|| ModifierError::UnresolvedPlaceholder(name.to_owned()))?;
                    if !plain.is_empty() {
                        pieces.push(Piece::Fixed(Tok::Lit(
                            std::mem::take(&mut plain).into_bytes(),
                        )));
                    }
                    pieces.push(Piece::Choice(values));
                    rest = &rest[name_len + 2..];
                    continue;
                }
            }
            plain.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !plain.is_empty() {
            pieces.push(Piece::Fixed(Tok::Lit(plain.into_bytes())));
        }
    }
    let mut alts: Vec<Vec<Tok>> = vec![Vec::new()];
    for p in &pieces {
        match p {
            Piece::Fixed(t) => alts.iter_mut().for_each(|a| a.push(t.clone())),
            Piece::Choice(values) => {
                let parsed: Vec<Vec<Tok>> = values.iter().map(|v| parse_wildcards(v)).collect();
                if alts.len().saturating_mul(parsed.len()) > budget {
                    return Err(ModifierError::TooManyValues {
                        modifier: "expand".to_owned(),
                        limit: MAX_ALTERNATIVES,
                    });
                }
                alts = alts
                    .iter()
                    .flat_map(|a| {
                        parsed.iter().map(move |v| {
                            let mut n = a.clone();
                            n.extend(v.iter().cloned());
                            n
                        })
                    })
                    .collect();
            }
        }
    }
    Ok(alts.into_iter().map(normalize).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(m: &[&str]) -> Result<Chain, ModifierError> {
        Chain::parse(m, true)
    }

    fn lits(alts: &[Vec<Tok>]) -> Vec<String> {
        alts.iter()
            .map(|a| {
                a.iter()
                    .map(|t| match t {
                        Tok::Lit(l) => String::from_utf8_lossy(l).into_owned(),
                        Tok::Star => "*".into(),
                        Tok::Quest => "?".into(),
                    })
                    .collect()
            })
            .collect()
    }

    fn run(value: &str, mods: &[&str]) -> Result<Vec<String>, ModifierError> {
        let c = chain(mods)?;
        let ph = Placeholders::from([
            (
                "Admins".to_owned(),
                vec!["root".to_owned(), "adm*".to_owned()],
            ),
            ("Empty".to_owned(), vec![]),
        ]);
        transform(value, &c.transforms, &ph, MAX_ALTERNATIVES).map(|a| lits(&a))
    }

    #[test]
    fn names_and_aliases() {
        assert_eq!(Modifier::parse("wide"), Ok(Modifier::Utf16Le));
        assert_eq!(Modifier::parse("ignorecase"), Ok(Modifier::IgnoreCase));
        assert_eq!(
            Modifier::parse("contians"),
            Err(ModifierError::Unknown("contians".into()))
        );
        assert_eq!(
            ModifierError::Unknown("x".into()).to_string(),
            "unknown modifier 'x'"
        );
    }

    #[test]
    fn chain_validation() {
        assert!(chain(&["contains", "all"]).is_ok());
        assert!(chain(&["re", "i", "m", "s"]).is_ok());
        assert!(matches!(
            chain(&["re", "contains"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["contains", "re"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["all", "re"]),
            Err(ModifierError::Misplaced { .. })
        ));
        assert!(matches!(
            chain(&["cidr", "contains"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["i"]),
            Err(ModifierError::Misplaced { .. })
        ));
        assert!(matches!(
            chain(&["exists", "all"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["gt", "lt"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["gt", "neq"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["gt", "contains"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert!(matches!(
            chain(&["base64", "windash"]),
            Err(ModifierError::Incompatible { .. })
        ));
        assert_eq!(
            chain(&["hour", "gte"]).unwrap().kind,
            ChainKind::Time(TimePart::Hour, CmpOp::Gte)
        );
        assert!(matches!(
            Chain::parse(&["cidr"], false),
            Err(ModifierError::NeedsField(_))
        ));
        assert!(Chain::parse(&["contains", "all"], false).is_ok());
    }

    #[test]
    fn anchors() {
        assert_eq!(run("abc", &["contains"]).unwrap(), vec!["*abc*"]);
        assert_eq!(run("*abc", &["contains"]).unwrap(), vec!["*abc*"]);
        assert_eq!(run("abc", &["startswith"]).unwrap(), vec!["abc*"]);
        assert_eq!(run("abc", &["endswith"]).unwrap(), vec!["*abc"]);
        assert_eq!(run("", &["contains"]).unwrap(), vec!["*"]);
    }

    #[test]
    fn base64_plain() {
        // "ping" → cGluZw== (RFC 4648 by hand: 0x70 0x69 0x6e 0x67).
        assert_eq!(run("ping", &["base64"]).unwrap(), vec!["cGluZw=="]);
        assert_eq!(
            run("ping", &["base64", "contains"]).unwrap(),
            vec!["*cGluZw==*"]
        );
        assert!(matches!(
            run("pi*ng", &["base64"]),
            Err(ModifierError::Wildcards { .. })
        ));
        assert!(matches!(
            run("ping", &["contains", "base64"]),
            Err(ModifierError::Wildcards { .. })
        ));
    }

    #[test]
    fn base64offset_matches_pysigma() {
        assert_eq!(
            run("ping", &["base64offset", "contains"]).unwrap(),
            vec!["*cGluZ*", "*Bpbm*", "*waW5n*"]
        );
        // Expected values computed independently with Python's base64 module and
        // pySigma's slicing formula.
        assert_eq!(
            base64_offsets(b"foobar"),
            [
                "Zm9vYmFy".to_owned(),
                "Zvb2Jhc".to_owned(),
                "mb29iYX".to_owned()
            ]
        );
    }

    #[test]
    fn utf16_encodings() {
        let le = run("cmd", &["utf16le"]).unwrap();
        assert_eq!(le, vec!["c\0m\0d\0"]);
        assert_eq!(run("cmd", &["wide"]).unwrap(), le);
        assert_eq!(run("cmd", &["utf16be"]).unwrap(), vec!["\0c\0m\0d"]);
        let bom = chain(&["utf16"]).unwrap();
        let t = transform("cmd", &bom.transforms, &Placeholders::new(), 10).unwrap();
        assert_eq!(
            t,
            vec![vec![Tok::Lit(vec![0xff, 0xfe, b'c', 0, b'm', 0, b'd', 0])]]
        );
        // cmd as UTF-16LE is 63 00 6d 00 64 00; base64 of those bytes by hand: "YwBtAGQA".
        assert_eq!(run("cmd", &["wide", "base64"]).unwrap(), vec!["YwBtAGQA"]);
        assert_eq!(
            run("cmd", &["wide", "base64offset", "contains"]).unwrap(),
            vec!["*YwBtAGQA*", "*MAbQBkA*", "*jAG0AZA*"]
        );
        assert_eq!(
            base64_offsets(b"a"),
            ["Y".to_owned(), String::new(), "h".to_owned()]
        );
        assert_eq!(
            base64_offsets(b""),
            [String::new(), String::new(), String::new()]
        );
        assert_eq!(run("*cmd*", &["wide"]).unwrap(), vec!["*c\0m\0d\0*"]);
    }

    #[test]
    fn windash_permutations() {
        let v = run(" -f ", &["windash", "contains"]).unwrap();
        assert_eq!(
            v,
            vec![
                "* -f *",
                "* /f *",
                "* \u{2013}f *",
                "* \u{2014}f *",
                "* \u{2015}f *"
            ]
        );
        // Only dashes that start a word switch (pySigma's `\B[-/]\b`).
        assert_eq!(run("-param-name", &["windash"]).unwrap().len(), 5);
        assert_eq!(run("start/min", &["windash"]).unwrap(), vec!["start/min"]);
        assert_eq!(run("-a -b", &["windash"]).unwrap().len(), 25);
        assert_eq!(run("-", &["windash"]).unwrap(), vec!["-"]);
        let many = "-a -b -c -d -e -f";
        assert!(matches!(
            run(many, &["windash"]),
            Err(ModifierError::TooManyValues { .. })
        ));
        assert_eq!(run("-a -b -c -d -e", &["windash"]).unwrap().len(), 3125);
    }

    #[test]
    fn expand_placeholders() {
        assert_eq!(run("%Admins%", &["expand"]).unwrap(), vec!["root", "adm*"]);
        assert_eq!(
            run(r"\%plain%Admins%", &["expand"]).unwrap(),
            vec!["%plainroot", "%plainadm*"]
        );
        assert_eq!(
            run("x%Admins%", &["expand", "contains"]).unwrap(),
            vec!["*xroot*", "*xadm*"]
        );
        assert_eq!(
            run("%missing%", &["expand"]),
            Err(ModifierError::UnresolvedPlaceholder("missing".into()))
        );
        assert!(run("%Empty%", &["expand"]).unwrap().is_empty());
        assert_eq!(run("50% off", &["expand"]).unwrap(), vec!["50% off"]);
    }
}
