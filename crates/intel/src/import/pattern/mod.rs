//! The STIX 2.1 patterning language: a parser, and the step that finds in a pattern
//! the values that can be matched one by one.
//!
//! [`parse`] reads the whole grammar (STIX 2.1 section 9): observation expressions in
//! brackets joined by `AND`, `OR` and `FOLLOWEDBY` (lowest), with `WITHIN n SECONDS`,
//! `REPEATS n TIMES` and `START t'..' STOP t'..'` qualifiers; inside the brackets,
//! comparisons `object-type:path op value` joined by `AND` and `OR` (`AND` binds
//! tighter) and grouped by parentheses, with `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN (..)`,
//! `LIKE`, `MATCHES`, `ISSUBSET`, `ISSUPERSET`, each optionally negated with `NOT`, and
//! `EXISTS path`. Paths take `.name`, `.'quoted name'`, `[n]` and `[*]` steps. Literals
//! are strings with `\'` and `\\` escapes, integers, floats, `true`/`false`, `t'..'`
//! timestamps (checked as RFC 3339), `h'..'` hex and `b'..'` base64. Keywords are
//! read in any case. Errors carry the byte offset and the column.
//!
//! [`extract`] then keeps what an indicator store can match value by value (see
//! [`MATCHABLE_PATHS`]) and says why the rest cannot be.

//!
//! The lexer is in `lex`, the parser in `parse`, the extraction in `extract`.

mod extract;
mod lex;
mod parse;

pub use extract::{Extraction, MATCHABLE_PATHS, Term, Unmatchable, extract, path_kind};
pub use parse::parse;

use std::fmt;
use std::ops::Range;

use watchfloor_event::Timestamp;

/// Byte offsets into the pattern text.
pub type Span = Range<usize>;

/// A pattern the parser could not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct PatternError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// 1-based character column of the problem.
    pub column: usize,
    pub message: String,
}

/// An observation expression: what must be observed.
#[derive(Clone, Debug, PartialEq)]
pub enum Observation {
    /// `[ comparison ]`.
    Simple {
        comparison: Comparison,
        span: Span,
    },
    And(Vec<Observation>, Span),
    Or(Vec<Observation>, Span),
    FollowedBy(Vec<Observation>, Span),
    Qualified {
        inner: Box<Observation>,
        qualifier: Qualifier,
        span: Span,
    },
}

impl Observation {
    pub fn span(&self) -> Span {
        match self {
            Observation::Simple { span, .. }
            | Observation::And(_, span)
            | Observation::Or(_, span)
            | Observation::FollowedBy(_, span)
            | Observation::Qualified { span, .. } => span.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Qualifier {
    Within { seconds: f64 },
    Repeats { times: u64 },
    StartStop { start: Timestamp, stop: Timestamp },
}

/// A comparison expression, inside one observation's brackets.
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    And(Vec<Comparison>, Span),
    Or(Vec<Comparison>, Span),
    Test(Test),
    Exists(ObjectPath, Span),
}

impl Comparison {
    pub fn span(&self) -> Span {
        match self {
            Comparison::And(_, span) | Comparison::Or(_, span) | Comparison::Exists(_, span) => {
                span.clone()
            }
            Comparison::Test(t) => t.span.clone(),
        }
    }
}

/// `path [NOT] op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub path: ObjectPath,
    pub negated: bool,
    pub op: Op,
    pub value: Operand,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::Like => "LIKE",
            Op::Matches => "MATCHES",
            Op::IsSubset => "ISSUBSET",
            Op::IsSuperset => "ISSUPERSET",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    One(Literal),
    /// The parenthesised list of `IN`.
    Set(Vec<Literal>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Timestamp(Timestamp),
    /// `h'..'`, the hex digits as written.
    Hex(String),
    /// `b'..'`, the base64 text as written.
    Binary(String),
}

/// `object-type:step.step[0]...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPath {
    pub object_type: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Property(String),
    Index(i64),
    AnyIndex,
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Property(p) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let plain = p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if plain {
                        f.write_str(p)?;
                    } else {
                        write!(f, "'{}'", p.replace('\\', "\\\\").replace('\'', "\\'"))?;
                    }
                }
                Step::Index(n) => write!(f, "[{n}]")?,
                Step::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
