//! Pattern text to tokens: punctuation, comparison operators, identifiers (keywords
//! are identifiers the parser recognises), and literals with their escapes checked.

use watchfloor_event::Timestamp;

use super::{Op, PatternError, Span};

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Cmp(Op),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Timestamp(Timestamp),
    Hex(String),
    Binary(String),
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) span: Span,
}

impl Token {
    pub(super) fn describe(&self) -> String {
        match &self.tok {
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Star => "`*`".into(),
            Tok::Cmp(op) => format!("`{}`", op.as_str()),
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(n) => format!("the number {n}"),
            Tok::Float(n) => format!("the number {n}"),
            Tok::Timestamp(_) => "a timestamp".into(),
            Tok::Hex(_) => "a hex literal".into(),
            Tok::Binary(_) => "a binary literal".into(),
        }
    }

    pub(super) fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

fn column(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(offset, |s| s.chars().count()) + 1
}

pub(super) fn lex_error(text: &str, offset: usize, message: impl Into<String>) -> PatternError {
    PatternError {
        offset,
        column: column(text, offset),
        message: message.into(),
    }
}

pub(super) fn lex(text: &str) -> Result<Vec<Token>, PatternError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok| Token {
            tok,
            span: start..start + 1,
        };
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'[' => tokens.push(single(Tok::LBracket)),
            b']' => tokens.push(single(Tok::RBracket)),
            b'(' => tokens.push(single(Tok::LParen)),
            b')' => tokens.push(single(Tok::RParen)),
            b',' => tokens.push(single(Tok::Comma)),
            b':' => tokens.push(single(Tok::Colon)),
            b'.' if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                tokens.push(single(Tok::Dot))
            }
            b'*' => tokens.push(single(Tok::Star)),
            b'=' | b'!' | b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    (b'=', Some(b'=')) => (Op::Eq, 2),
                    (b'=', _) => (Op::Eq, 1),
                    (b'!', Some(b'=')) => (Op::Ne, 2),
                    (b'<', Some(b'>')) => (Op::Ne, 2),
                    (b'<', Some(b'=')) => (Op::Le, 2),
                    (b'<', _) => (Op::Lt, 1),
                    (b'>', Some(b'=')) => (Op::Ge, 2),
                    (b'>', _) => (Op::Gt, 1),
                    _ => return Err(lex_error(text, i, "`!` must be followed by `=`")),
                };
                tokens.push(Token {
                    tok: Tok::Cmp(op),
                    span: i..i + len,
                });
                i += len;
                continue;
            }
            b'\'' => {
                let (s, end) = lex_string(text, i)?;
                tokens.push(Token {
                    tok: Tok::Str(s),
                    span: start..end,
                });
                i = end;
                continue;
            }
            b't' | b'h' | b'b' if bytes.get(i + 1) == Some(&b'\'') => {
                let (s, end) = lex_string(text, i + 1)?;
                let tok = match c {
                    b't' => match parse_rfc3339(&s) {
                        Some(ts) => Tok::Timestamp(ts),
                        None => {
                            return Err(lex_error(
                                text,
                                i,
                                format!("`{s}` is not an RFC 3339 timestamp"),
                            ));
                        }
                    },
                    b'h' => {
                        if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return Err(lex_error(
                                text,
                                i,
                                "a hex literal needs an even number of hex digits",
                            ));
                        }
                        Tok::Hex(s)
                    }
                    _ => {
                        let ok = s
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                        if !ok || s.len() % 4 != 0 {
                            return Err(lex_error(text, i, "a binary literal must be base64"));
                        }
                        Tok::Binary(s)
                    }
                };
                tokens.push(Token {
                    tok,
                    span: start..end,
                });
                i = end;
                continue;
            }
            b'-' | b'+' | b'0'..=b'9' | b'.' => {
                let mut j = i;
                if c == b'-' || c == b'+' {
                    j += 1;
                }
                let digits_start = j;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                let mut float = false;
                if j < bytes.len() && bytes[j] == b'.' {
                    float = true;
                    j += 1;
                    while j < bytes.len() && bytes[j].is_ascii_digit() {
                        j += 1;
                    }
                }
                let lexeme = &text[i..j];
                if j == digits_start && !float || lexeme == "-." || lexeme == "+." {
                    return Err(lex_error(text, i, format!("unexpected `{}`", c as char)));
                }
                let tok = if float {
                    lexeme.parse().ok().map(Tok::Float)
                } else {
                    lexeme.parse().ok().map(Tok::Int)
                };
                let Some(tok) = tok else {
                    return Err(lex_error(text, i, format!("`{lexeme}` is not a number")));
                };
                tokens.push(Token { tok, span: i..j });
                i = j;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'-')
                {
                    j += 1;
                }
                tokens.push(Token {
                    tok: Tok::Ident(text[i..j].to_owned()),
                    span: i..j,
                });
                i = j;
                continue;
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(lex_error(text, i, format!("unexpected character `{ch}`")));
            }
        }
        i += 1;
    }
    Ok(tokens)
}

/// A `'...'` string starting at `open` (the quote); returns the text and the offset
/// after the closing quote.
fn lex_string(text: &str, open: usize) -> Result<(String, usize), PatternError> {
    let mut out = String::new();
    let mut chars = text[open + 1..].char_indices();
    while let Some((k, ch)) = chars.next() {
        let at = open + 1 + k;
        match ch {
            '\'' => return Ok((out, at + 1)),
            '\\' => match chars.next() {
                Some((_, '\'')) => out.push('\''),
                Some((_, '\\')) => out.push('\\'),
                Some((_, other)) => {
                    return Err(lex_error(
                        text,
                        at,
                        format!(
                            "invalid escape `\\{other}` (a string may only escape `'` and `\\`)"
                        ),
                    ));
                }
                None => break,
            },
            _ => out.push(ch),
        }
    }
    Err(lex_error(text, open, "unterminated string"))
}

pub(super) fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    let ts: jiff::Timestamp = s.parse().ok()?;
    i64::try_from(ts.as_nanosecond()).ok().map(Timestamp)
}
