//! Tokens to the pattern's syntax tree, by recursive descent: `FOLLOWEDBY` binds
//! loosest, then `OR`, then `AND`, then qualifiers; inside brackets `OR`, then `AND`.

use watchfloor_event::Timestamp;

use super::lex::{Tok, Token, lex, lex_error, parse_rfc3339};
use super::{
    Comparison, Literal, ObjectPath, Observation, Op, Operand, PatternError, Qualifier, Step, Test,
};

/// How deep parentheses and brackets may nest before the parser gives up.
const MAX_DEPTH: usize = 64;

/// Reads a STIX pattern.
pub fn parse(text: &str) -> Result<Observation, PatternError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        text,
        tokens,
        pos: 0,
        depth: 0,
    };
    let obs = p.followed_by()?;
    if let Some(t) = p.peek() {
        return Err(p.error_at(t.span.start, format!("unexpected {}", t.describe())));
    }
    Ok(obs)
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn end_offset(&self) -> usize {
        self.text.len()
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> PatternError {
        lex_error(self.text, offset, message)
    }

    fn error_here(&self, expected: &str) -> PatternError {
        match self.peek() {
            Some(t) => self.error_at(
                t.span.start,
                format!("expected {expected}, found {}", t.describe()),
            ),
            None => self.error_at(
                self.end_offset(),
                format!("expected {expected}, found the end of the pattern"),
            ),
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if self.peek().is_some_and(|t| t.is_keyword(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<(), PatternError> {
        if self.peek().is_some_and(|t| &t.tok == want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error_here(what))
        }
    }

    fn at_keyword(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_keyword(kw))
    }

    fn enter(&mut self, offset: usize) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(offset, format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn start_offset(&self) -> usize {
        self.peek().map_or(self.end_offset(), |t| t.span.start)
    }

    fn last_end(&self) -> usize {
        self.tokens
            .get(self.pos.wrapping_sub(1))
            .map_or(0, |t| t.span.end)
    }

    fn followed_by(&mut self) -> Result<Observation, PatternError> {
        let start = self.start_offset();
        let first = self.obs_or()?;
        if !self.at_keyword("FOLLOWEDBY") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword("FOLLOWEDBY") {
            parts.push(self.obs_or()?);
        }
        Ok(Observation::FollowedBy(parts, start..self.last_end()))
    }

    fn obs_or(&mut self) -> Result<Observation, PatternError> {
        let start = self.start_offset();
        let first = self.obs_and()?;
        if !self.at_keyword("OR") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword("OR") {
            parts.push(self.obs_and()?);
        }
        Ok(Observation::Or(parts, start..self.last_end()))
    }

    fn obs_and(&mut self) -> Result<Observation, PatternError> {
        let start = self.start_offset();
        let first = self.obs_qualified()?;
        if !self.at_keyword("AND") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword("AND") {
            parts.push(self.obs_qualified()?);
        }
        Ok(Observation::And(parts, start..self.last_end()))
    }

    fn obs_qualified(&mut self) -> Result<Observation, PatternError> {
        let start = self.start_offset();
        let mut obs = self.obs_atom()?;
        loop {
            let qualifier = if self.keyword("WITHIN") {
                let seconds = match self.next().map(|t| t.tok) {
                    Some(Tok::Int(n)) if n > 0 => n as f64,
                    Some(Tok::Float(f)) if f > 0.0 => f,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error_here("a positive number of seconds after WITHIN"));
                    }
                };
                if !self.keyword("SECONDS") {
                    return Err(self.error_here("`SECONDS`"));
                }
                Qualifier::Within { seconds }
            } else if self.keyword("REPEATS") {
                let times = match self.next().map(|t| t.tok) {
                    Some(Tok::Int(n)) if n > 0 => n as u64,
                    _ => {
                        self.pos -= 1;
                        return Err(self.error_here("a positive integer after REPEATS"));
                    }
                };
                if !self.keyword("TIMES") {
                    return Err(self.error_here("`TIMES`"));
                }
                Qualifier::Repeats { times }
            } else if self.keyword("START") {
                let start_ts = self.qualifier_time("START")?;
                if !self.keyword("STOP") {
                    return Err(self.error_here("`STOP`"));
                }
                let stop_ts = self.qualifier_time("STOP")?;
                if stop_ts <= start_ts {
                    return Err(self.error_at(start, "STOP must be later than START"));
                }
                Qualifier::StartStop {
                    start: start_ts,
                    stop: stop_ts,
                }
            } else {
                break;
            };
            obs = Observation::Qualified {
                inner: Box::new(obs),
                qualifier,
                span: start..self.last_end(),
            };
        }
        Ok(obs)
    }

    /// A `t'...'` timestamp, or (as STIX 2.0 wrote it) a plain RFC 3339 string.
    fn qualifier_time(&mut self, after: &str) -> Result<Timestamp, PatternError> {
        match self.next() {
            Some(Token {
                tok: Tok::Timestamp(ts),
                ..
            }) => Ok(ts),
            Some(Token {
                tok: Tok::Str(s),
                span,
            }) => parse_rfc3339(&s).ok_or_else(|| {
                self.error_at(span.start, format!("`{s}` is not an RFC 3339 timestamp"))
            }),
            _ => {
                self.pos -= 1;
                Err(self.error_here(&format!("a timestamp after {after}")))
            }
        }
    }

    fn obs_atom(&mut self) -> Result<Observation, PatternError> {
        let start = self.start_offset();
        match self.peek().map(|t| &t.tok) {
            Some(Tok::LBracket) => {
                self.pos += 1;
                self.enter(start)?;
                let comparison = self.cmp_or()?;
                self.expect(&Tok::RBracket, "`]` or AND/OR")?;
                self.depth -= 1;
                Ok(Observation::Simple {
                    comparison,
                    span: start..self.last_end(),
                })
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                self.enter(start)?;
                let inner = self.followed_by()?;
                self.expect(&Tok::RParen, "`)`")?;
                self.depth -= 1;
                Ok(inner)
            }
            _ => Err(self.error_here("`[` (an observation) or `(`")),
        }
    }

    fn cmp_or(&mut self) -> Result<Comparison, PatternError> {
        let start = self.start_offset();
        let first = self.cmp_and()?;
        if !self.at_keyword("OR") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword("OR") {
            parts.push(self.cmp_and()?);
        }
        Ok(Comparison::Or(parts, start..self.last_end()))
    }

    fn cmp_and(&mut self) -> Result<Comparison, PatternError> {
        let start = self.start_offset();
        let first = self.cmp_atom()?;
        if !self.at_keyword("AND") {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword("AND") {
            parts.push(self.cmp_atom()?);
        }
        Ok(Comparison::And(parts, start..self.last_end()))
    }

    fn cmp_atom(&mut self) -> Result<Comparison, PatternError> {
        let start = self.start_offset();
        if self.peek().is_some_and(|t| t.tok == Tok::LParen) {
            self.pos += 1;
            self.enter(start)?;
            let inner = self.cmp_or()?;
            self.expect(&Tok::RParen, "`)` or AND/OR")?;
            self.depth -= 1;
            return Ok(inner);
        }
        if self.keyword("EXISTS") {
            let path = self.path()?;
            return Ok(Comparison::Exists(path, start..self.last_end()));
        }
        let path = self.path()?;
        let negated = self.keyword("NOT");
        let op = match self.peek() {
            Some(Token {
                tok: Tok::Cmp(op), ..
            }) => Some(*op),
            Some(t) if t.is_keyword("IN") => Some(Op::In),
            Some(t) if t.is_keyword("LIKE") => Some(Op::Like),
            Some(t) if t.is_keyword("MATCHES") => Some(Op::Matches),
            Some(t) if t.is_keyword("ISSUBSET") => Some(Op::IsSubset),
            Some(t) if t.is_keyword("ISSUPERSET") => Some(Op::IsSuperset),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.error_here(
                "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
            ));
        };
        self.pos += 1;
        let value = if op == Op::In {
            Operand::Set(self.set()?)
        } else {
            let lit_start = self.start_offset();
            let lit = self.literal()?;
            let string_only = matches!(op, Op::Like | Op::Matches | Op::IsSubset | Op::IsSuperset);
            if string_only && !matches!(lit, Literal::Str(_)) {
                return Err(self.error_at(lit_start, format!("{} takes a string", op.as_str())));
            }
            if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && matches!(lit, Literal::Bool(_)) {
                return Err(self.error_at(lit_start, "a boolean cannot be ordered"));
            }
            Operand::One(lit)
        };
        Ok(Comparison::Test(Test {
            path,
            negated,
            op,
            value,
            span: start..self.last_end(),
        }))
    }

    fn set(&mut self) -> Result<Vec<Literal>, PatternError> {
        self.expect(&Tok::LParen, "`(` after IN")?;
        let mut items = Vec::new();
        if self.peek().is_some_and(|t| t.tok == Tok::RParen) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.literal()?);
            match self.next().map(|t| t.tok) {
                Some(Tok::Comma) => continue,
                Some(Tok::RParen) => return Ok(items),
                _ => {
                    self.pos -= 1;
                    return Err(self.error_here("`,` or `)` in the IN list"));
                }
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, PatternError> {
        let lit = match self.peek().map(|t| &t.tok) {
            Some(Tok::Str(s)) => Literal::Str(s.clone()),
            Some(Tok::Int(n)) => Literal::Int(*n),
            Some(Tok::Float(f)) => Literal::Float(*f),
            Some(Tok::Timestamp(ts)) => Literal::Timestamp(*ts),
            Some(Tok::Hex(h)) => Literal::Hex(h.clone()),
            Some(Tok::Binary(b)) => Literal::Binary(b.clone()),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => {
                return Err(self.error_here(
                    "a value (a 'string', a number, true/false, t'...', h'...', b'...')",
                ));
            }
        };
        self.pos += 1;
        Ok(lit)
    }

    fn path(&mut self) -> Result<ObjectPath, PatternError> {
        let object_type = match self.peek() {
            Some(Token {
                tok: Tok::Ident(s),
                span,
            }) => {
                let ok = s
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !s.ends_with('-');
                if !ok {
                    return Err(self.error_at(
                        span.start,
                        format!("`{s}` is not an object type (lower-case letters, digits and `-`)"),
                    ));
                }
                s.clone()
            }
            _ => return Err(self.error_here("an object path (`type:property`)")),
        };
        self.pos += 1;
        self.expect(&Tok::Colon, "`:` after the object type")?;
        let mut steps = vec![self.property()?];
        loop {
            match self.peek().map(|t| &t.tok) {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    steps.push(self.property()?);
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let step = match self.next().map(|t| t.tok) {
                        Some(Tok::Star) => Step::AnyIndex,
                        Some(Tok::Int(n)) => Step::Index(n),
                        _ => {
                            self.pos -= 1;
                            return Err(self.error_here("an index or `*`"));
                        }
                    };
                    self.expect(&Tok::RBracket, "`]` after the index")?;
                    steps.push(step);
                }
                _ => break,
            }
        }
        Ok(ObjectPath { object_type, steps })
    }

    fn property(&mut self) -> Result<Step, PatternError> {
        match self.next().map(|t| t.tok) {
            Some(Tok::Ident(s)) | Some(Tok::Str(s)) => Ok(Step::Property(s)),
            _ => {
                self.pos -= 1;
                Err(self.error_here("a property name"))
            }
        }
    }
}
