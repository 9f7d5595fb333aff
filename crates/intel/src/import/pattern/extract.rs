//! From a parsed pattern to the values that can be matched one by one.

use watchfloor_event::Timestamp;

use super::{
    Comparison, Literal, ObjectPath, Observation, Op, Operand, Qualifier, Span, Step, Test,
};
use crate::model::Kind;

/// The object paths whose `=` comparisons become indicators.
pub const MATCHABLE_PATHS: &[(&str, Kind)] = &[
    ("ipv4-addr:value", Kind::Ipv4),
    ("ipv6-addr:value", Kind::Ipv6),
    ("domain-name:value", Kind::Domain),
    ("url:value", Kind::Url),
    ("email-addr:value", Kind::Email),
    ("email-message:from_ref.value", Kind::Email),
    ("email-message:sender_ref.value", Kind::Email),
    ("file:hashes.MD5", Kind::Md5),
    ("file:hashes.'SHA-1'", Kind::Sha1),
    ("file:hashes.'SHA-256'", Kind::Sha256),
    (
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
        Kind::UserAgent,
    ),
];

/// The indicator kind of a path, if its values can be matched.
pub fn path_kind(path: &ObjectPath) -> Option<Kind> {
    let props: Vec<&str> = path
        .steps
        .iter()
        .map(|s| match s {
            Step::Property(p) => Some(p.as_str()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    match (path.object_type.as_str(), props.as_slice()) {
        ("ipv4-addr", ["value"]) => Some(Kind::Ipv4),
        ("ipv6-addr", ["value"]) => Some(Kind::Ipv6),
        ("domain-name", ["value"]) => Some(Kind::Domain),
        ("url", ["value"]) => Some(Kind::Url),
        ("email-addr", ["value"]) => Some(Kind::Email),
        ("email-message", ["from_ref" | "sender_ref", "value"]) => Some(Kind::Email),
        ("file", ["hashes", algorithm]) => {
            let a: String = algorithm
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_uppercase();
            match a.as_str() {
                "MD5" => Some(Kind::Md5),
                "SHA1" => Some(Kind::Sha1),
                "SHA256" => Some(Kind::Sha256),
                _ => None,
            }
        }
        ("network-traffic", ["extensions", "http-request-ext", "request_header", header])
            if header.eq_ignore_ascii_case("user-agent") =>
        {
            Some(Kind::UserAgent)
        }
        _ => None,
    }
}

/// One value to match on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The kind from the path; an IPv4/IPv6 value with a `/prefix` (or compared with
    /// `ISSUBSET`) becomes [`Kind::Cidr`].
    pub kind: Kind,
    pub value: String,
    pub path: String,
    /// When the value came from an `AND` of equalities on one object: that `AND`'s
    /// text and how many values it holds.
    pub anded: Option<(String, usize)>,
    /// A `START .. STOP` window around it.
    pub window: Option<(Timestamp, Timestamp)>,
}

/// A part of a pattern that cannot be matched value by value, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmatchable {
    pub fragment: String,
    pub reason: String,
}

/// What [`extract`] found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extraction {
    pub terms: Vec<Term>,
    pub unmatchable: Vec<Unmatchable>,
    /// Remarks on what was taken (an ignored `WITHIN`).
    pub notes: Vec<String>,
}

/// The values of a parsed pattern (`text` is the pattern it was parsed from) that can be
/// matched one by one:
///
/// - `path = 'value'` on a [`MATCHABLE_PATHS`] path gives one term; `path IN (..)`
///   one per value; `ipv4-addr:value ISSUBSET '10.0.0.0/8'` (and IPv6) a network.
/// - `OR` (inside brackets or between observations) gives each side's terms.
/// - `AND` inside brackets gives each value, marked as ANDed, when every part is such
///   an equality on the same object type (two hashes of one file); otherwise the whole
///   `AND` is not matchable.
/// - `AND` and `FOLLOWEDBY` between observations, and `REPEATS`, need more than one
///   sighting: not matchable. `START..STOP` becomes the terms' window; `WITHIN` is
///   noted and ignored (it constrains several observations, not one value).
/// - Any other operator, a negation, a non-string value or another path is not
///   matchable, with the reason.
pub fn extract(pattern: &Observation, text: &str) -> Extraction {
    let mut out = Extraction::default();
    extract_obs(pattern, text, None, &mut out);
    out
}

fn fragment(text: &str, span: &Span) -> String {
    text.get(span.clone()).unwrap_or(text).trim().to_owned()
}

fn extract_obs(
    obs: &Observation,
    text: &str,
    window: Option<(Timestamp, Timestamp)>,
    out: &mut Extraction,
) {
    match obs {
        Observation::Simple { comparison, .. } => extract_cmp(comparison, text, window, out),
        Observation::Or(parts, _) => {
            for p in parts {
                extract_obs(p, text, window, out);
            }
        }
        Observation::And(_, span) => out.unmatchable.push(Unmatchable {
            fragment: fragment(text, span),
            reason: "AND between observations: all of them must be seen, so no single value \
                     matches it"
                .into(),
        }),
        Observation::FollowedBy(_, span) => out.unmatchable.push(Unmatchable {
            fragment: fragment(text, span),
            reason: "FOLLOWEDBY: a sequence of observations, which no single value matches".into(),
        }),
        Observation::Qualified {
            inner,
            qualifier,
            span,
        } => match qualifier {
            Qualifier::Repeats { times } => out.unmatchable.push(Unmatchable {
                fragment: fragment(text, span),
                reason: format!(
                    "REPEATS {times} TIMES: needs {times} sightings, one sighting of a value does not match it"
                ),
            }),
            Qualifier::Within { seconds } => {
                out.notes.push(format!(
                    "WITHIN {seconds} SECONDS ignored: it bounds several observations, not one value"
                ));
                extract_obs(inner, text, window, out);
            }
            Qualifier::StartStop { start, stop } => {
                let w = match window {
                    Some((s, e)) => ((*start).max(s), (*stop).min(e)),
                    None => (*start, *stop),
                };
                extract_obs(inner, text, Some(w), out);
            }
        },
    }
}

fn extract_cmp(
    cmp: &Comparison,
    text: &str,
    window: Option<(Timestamp, Timestamp)>,
    out: &mut Extraction,
) {
    match cmp {
        Comparison::Or(parts, _) => {
            for p in parts {
                extract_cmp(p, text, window, out);
            }
        }
        Comparison::Test(t) => match test_terms(t, window) {
            Ok(terms) => out.terms.extend(terms),
            Err(reason) => out.unmatchable.push(Unmatchable {
                fragment: fragment(text, &t.span),
                reason,
            }),
        },
        Comparison::Exists(_, span) => out.unmatchable.push(Unmatchable {
            fragment: fragment(text, span),
            reason: "EXISTS tests for a property, not a value".into(),
        }),
        Comparison::And(_, span) => {
            let mut leaves = Vec::new();
            flatten_and(cmp, &mut leaves);
            let whole = fragment(text, span);
            let mut terms = Vec::new();
            let mut object_type: Option<&str> = None;
            for leaf in &leaves {
                let reason = match leaf {
                    Comparison::Test(t) => match test_terms(t, window) {
                        Ok(ts) if object_type.is_none_or(|o| o == t.path.object_type) => {
                            object_type = Some(t.path.object_type.as_str());
                            terms.extend(ts);
                            continue;
                        }
                        Ok(_) => format!(
                            "its parts are on different objects (`{}` and `{}`)",
                            object_type.unwrap_or_default(),
                            t.path.object_type
                        ),
                        Err(r) => format!("`{}` cannot be matched: {r}", fragment(text, &t.span)),
                    },
                    other => format!("`{}` is not an equality", fragment(text, &other.span())),
                };
                out.unmatchable.push(Unmatchable {
                    fragment: whole,
                    reason: format!(
                        "AND of comparisons that are not all matchable equalities on one object: {reason}"
                    ),
                });
                return;
            }
            let n = terms.len();
            for mut t in terms {
                t.anded = Some((whole.clone(), n));
                out.terms.push(t);
            }
        }
    }
}

fn flatten_and<'c>(cmp: &'c Comparison, leaves: &mut Vec<&'c Comparison>) {
    match cmp {
        Comparison::And(parts, _) => {
            for p in parts {
                flatten_and(p, leaves);
            }
        }
        other => leaves.push(other),
    }
}

/// The terms one comparison gives, or why it gives none.
fn test_terms(t: &Test, window: Option<(Timestamp, Timestamp)>) -> Result<Vec<Term>, String> {
    let path = t.path.to_string();
    let Some(kind) = path_kind(&t.path) else {
        return Err(format!(
            "`{path}` is not a path matched here (only ipv4-addr, ipv6-addr, domain-name, url, \
             email-addr values and file MD5/SHA-1/SHA-256 hashes)"
        ));
    };
    if t.negated {
        return Err(format!(
            "NOT {}: a negation matches everything else",
            t.op.as_str()
        ));
    }
    let term = |kind, value: &str| Term {
        kind: crate::import::refine_ip_kind(kind, value),
        value: value.to_owned(),
        path: path.clone(),
        anded: None,
        window,
    };
    let string = |lit: &Literal| match lit {
        Literal::Str(s) => Ok(s.clone()),
        _ => Err(format!(
            "`{path}` compared with a value that is not a string"
        )),
    };
    match (t.op, &t.value) {
        (Op::Eq, Operand::One(lit)) => Ok(vec![term(kind, &string(lit)?)]),
        (Op::In, Operand::Set(items)) => {
            if items.is_empty() {
                return Err("IN with an empty list matches nothing".into());
            }
            items
                .iter()
                .map(|lit| string(lit).map(|s| term(kind, &s)))
                .collect()
        }
        (Op::IsSubset, Operand::One(lit)) if matches!(kind, Kind::Ipv4 | Kind::Ipv6) => {
            let net = string(lit)?;
            let net = if net.contains('/') {
                net
            } else if kind == Kind::Ipv4 {
                format!("{net}/32")
            } else {
                format!("{net}/128")
            };
            Ok(vec![term(Kind::Cidr, &net)])
        }
        (Op::Matches, _) => Err("MATCHES is a regular expression, not a value".into()),
        (Op::Like, _) => Err("LIKE is a wildcard pattern, not a value".into()),
        (Op::Ne, _) => Err("!= matches every other value".into()),
        (Op::Lt | Op::Le | Op::Gt | Op::Ge, _) => {
            Err(format!("{} compares an order, not a value", t.op.as_str()))
        }
        (Op::IsSubset | Op::IsSuperset, _) => Err(format!(
            "{} on `{path}` is not a value match",
            t.op.as_str()
        )),
        (op, _) => Err(format!("{} is not matched value by value", op.as_str())),
    }
}
