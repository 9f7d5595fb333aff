//! The parser and the extraction, operator by operator.

use super::lex::parse_rfc3339;
use super::*;
use crate::model::Kind;

fn p(text: &str) -> Observation {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn terms(text: &str) -> Vec<(Kind, String)> {
    extract(&p(text), text)
        .terms
        .into_iter()
        .map(|t| (t.kind, t.value))
        .collect()
}

fn unmatchable(text: &str) -> Vec<String> {
    extract(&p(text), text)
        .unmatchable
        .into_iter()
        .map(|u| u.reason)
        .collect()
}

fn err(text: &str) -> PatternError {
    match parse(text) {
        Ok(o) => panic!("{text} parsed: {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn equality_on_each_matchable_path() {
    assert_eq!(
        terms("[ipv4-addr:value = '10.0.0.0']"),
        [(Kind::Ipv4, "10.0.0.0".into())]
    );
    assert_eq!(
        terms("[ipv4-addr:value = '223.166.0.0/15']"),
        [(Kind::Cidr, "223.166.0.0/15".into())]
    );
    assert_eq!(
        terms("[ipv6-addr:value == '2001:db8::1']"),
        [(Kind::Ipv6, "2001:db8::1".into())]
    );
    assert_eq!(
        terms("[domain-name:value = 'evil.example']"),
        [(Kind::Domain, "evil.example".into())]
    );
    assert_eq!(
        terms("[url:value = 'http://evil.example/a']"),
        [(Kind::Url, "http://evil.example/a".into())]
    );
    assert_eq!(
        terms("[email-addr:value = 'a@evil.example']"),
        [(Kind::Email, "a@evil.example".into())]
    );
    assert_eq!(
        terms("[email-message:from_ref.value = 'a@evil.example']"),
        [(Kind::Email, "a@evil.example".into())]
    );
    assert_eq!(terms("[file:hashes.MD5 = 'aa']")[0].0, Kind::Md5);
    assert_eq!(terms("[file:hashes.md5 = 'aa']")[0].0, Kind::Md5);
    assert_eq!(terms("[file:hashes.'SHA-1' = 'aa']")[0].0, Kind::Sha1);
    assert_eq!(terms("[file:hashes.SHA256 = 'aa']")[0].0, Kind::Sha256);
    assert_eq!(terms("[file:hashes.'SHA-256' = 'aa']")[0].0, Kind::Sha256);
    assert_eq!(
        terms(
            "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'Evil/1.0']"
        ),
        [(Kind::UserAgent, "Evil/1.0".into())]
    );
}

#[test]
fn or_gives_every_value() {
    let t = terms(
        "[domain-name:value = 'a.example' OR ipv4-addr:value = '10.0.0.1' OR ipv4-addr:value = '10.0.0.2']",
    );
    assert_eq!(t.len(), 3);
    let t = terms("[domain-name:value = 'a.example'] OR [ipv4-addr:value = '10.0.0.1']");
    assert_eq!(t.len(), 2);
    // An OR with one part we cannot match keeps the other parts.
    let text = "[domain-name:value = 'a.example' OR file:name = 'x.exe']";
    assert_eq!(terms(text).len(), 1);
    assert_eq!(unmatchable(text).len(), 1);
}

#[test]
fn in_is_an_or_of_equalities() {
    let t = terms("[ipv4-addr:value IN ('10.0.0.1', '10.0.0.2')]");
    assert_eq!(
        t,
        [
            (Kind::Ipv4, "10.0.0.1".into()),
            (Kind::Ipv4, "10.0.0.2".into())
        ]
    );
    assert_eq!(unmatchable("[ipv4-addr:value IN ()]").len(), 1);
    assert_eq!(unmatchable("[ipv4-addr:value IN (1, 2)]").len(), 1);
}

#[test]
fn and_of_equalities_on_one_object() {
    let text = "[file:hashes.MD5 = 'aa' AND file:hashes.'SHA-256' = 'bb']";
    let x = extract(&p(text), text);
    assert_eq!(x.terms.len(), 2);
    assert!(x.unmatchable.is_empty());
    assert_eq!(x.terms[0].anded.as_ref().map(|a| a.1), Some(2));
    // Across objects: not matchable.
    let r = unmatchable("[file:hashes.MD5 = 'aa' AND domain-name:value = 'x.example']");
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("different objects"), "{r:?}");
    // With a part that is not an equality: not matchable, as a whole.
    let r = unmatchable(
        "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b']",
    );
    assert_eq!(r.len(), 1);
    let r = unmatchable("[file:hashes.MD5 = 'aa' AND file:size > 10]");
    assert_eq!(r.len(), 1);
    assert!(terms("[file:hashes.MD5 = 'aa' AND file:size > 10]").is_empty());
    // AND binds tighter than OR.
    let text = "[domain-name:value = 'a.example' OR file:hashes.MD5 = 'aa' AND file:name = 'x']";
    assert_eq!(terms(text), [(Kind::Domain, "a.example".into())]);
    assert_eq!(unmatchable(text).len(), 1);
}

#[test]
fn each_operator() {
    for (text, op) in [
        ("[file:name != 'a']", Op::Ne),
        ("[file:size < 1]", Op::Lt),
        ("[file:size <= 1]", Op::Le),
        ("[file:size > 1]", Op::Gt),
        ("[file:size >= 1]", Op::Ge),
        ("[file:name <> 'a']", Op::Ne),
        ("[file:name IN ('a', 'b')]", Op::In),
        ("[file:name LIKE 'a%']", Op::Like),
        ("[file:name MATCHES '^a']", Op::Matches),
        ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", Op::IsSubset),
        ("[ipv4-addr:value ISSUPERSET '10.0.0.0/8']", Op::IsSuperset),
        ("[file:name like 'a%']", Op::Like),
    ] {
        match p(text) {
            Observation::Simple {
                comparison: Comparison::Test(t),
                ..
            } => assert_eq!(t.op, op, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert_eq!(
        terms("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),
        [(Kind::Cidr, "10.0.0.0/8".into())]
    );
    for text in [
        "[domain-name:value != 'a.example']",
        "[domain-name:value LIKE '%.example']",
        "[domain-name:value MATCHES '^a']",
        "[domain-name:value NOT = 'a.example']",
        "[ipv4-addr:value ISSUPERSET '10.0.0.0/8']",
        "[file:size > 10]",
        "[file:hashes.'SHA-512' = 'aa']",
        "[email-message:subject MATCHES '^[IMPORTANT] Please Review Before']",
    ] {
        assert!(terms(text).is_empty(), "{text}");
        assert_eq!(unmatchable(text).len(), 1, "{text}");
    }
}

#[test]
fn not_and_exists() {
    match p("[file:name NOT IN ('a')]") {
        Observation::Simple {
            comparison: Comparison::Test(t),
            ..
        } => {
            assert!(t.negated);
            assert_eq!(t.op, Op::In);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p("[EXISTS windows-registry-key:values]"),
        Observation::Simple {
            comparison: Comparison::Exists(..),
            ..
        }
    ));
    assert_eq!(unmatchable("[EXISTS file:name]").len(), 1);
}

#[test]
fn observation_operators_and_qualifiers() {
    let r = unmatchable("[ipv4-addr:value = '10.0.0.1'] AND [domain-name:value = 'a.example']");
    assert_eq!(r.len(), 1);
    assert!(r[0].starts_with("AND between observations"));
    let r =
        unmatchable("[ipv4-addr:value = '10.0.0.1'] FOLLOWEDBY [domain-name:value = 'a.example']");
    assert!(r[0].starts_with("FOLLOWEDBY"));
    let r = unmatchable("[ipv4-addr:value = '10.0.0.1'] REPEATS 5 TIMES");
    assert!(r[0].starts_with("REPEATS 5 TIMES"));
    let text = "[ipv4-addr:value = '10.0.0.1'] WITHIN 300 SECONDS";
    let x = extract(&p(text), text);
    assert_eq!(x.terms.len(), 1);
    assert_eq!(x.notes.len(), 1);
    let text =
        "[ipv4-addr:value = '10.0.0.1'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'";
    let x = extract(&p(text), text);
    let (start, stop) = x.terms[0].window.unwrap();
    assert_eq!(start, parse_rfc3339("2016-06-01T00:00:00Z").unwrap());
    assert_eq!(stop, parse_rfc3339("2016-07-01T00:00:00Z").unwrap());
    // STIX 2.0 wrote the times as plain strings.
    p("[ipv4-addr:value = '10.0.0.1'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'");
    // Precedence between observations: AND over OR over FOLLOWEDBY.
    let o = p("[a:b = 1] OR [a:b = 2] AND [a:b = 3] FOLLOWEDBY [a:b = 4]");
    match o {
        Observation::FollowedBy(parts, _) => {
            assert_eq!(parts.len(), 2);
            match &parts[0] {
                Observation::Or(or, _) => {
                    assert!(matches!(or[1], Observation::And(..)));
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    // An OR of observations inside AND-ed parentheses stays whole.
    let text = "([ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.2']) REPEATS 2 TIMES";
    assert!(terms(text).is_empty());
    // Qualifiers stack.
    p("[a:b = 1] REPEATS 2 TIMES WITHIN 10.5 SECONDS");
}

#[test]
fn string_escapes() {
    let text = r"[file:name = 'it\'s \\ here']";
    match p(text) {
        Observation::Simple {
            comparison: Comparison::Test(t),
            ..
        } => assert_eq!(t.value, Operand::One(Literal::Str(r"it's \ here".into()))),
        other => panic!("{other:?}"),
    }
    let e = err(r"[file:name = 'bad \n escape']");
    assert_eq!(e.column, 19);
    assert!(e.message.contains("invalid escape"), "{e}");
    let e = err("[file:name = 'open]");
    assert!(e.message.contains("unterminated"), "{e}");
    assert_eq!(e.column, 14);
    // Brackets inside strings are text.
    assert_eq!(
        terms("[domain-name:value = 'a[1].example' OR domain-name:value = 'b.example']").len(),
        2
    );
}

#[test]
fn literals_and_paths() {
    for text in [
        "[file:size = 10]",
        "[file:size = -10]",
        "[file:size = 1.5]",
        "[file:x_flag = true]",
        "[file:created = t'2016-01-01T00:00:00Z']",
        "[file:magic = h'ffd8']",
        "[artifact:payload_bin = b'dGVzdA==']",
        "[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
        "[file:extensions.'windows-pebinary-ext'.sections[0].entropy > 7.0]",
        "[x-custom-object:some_property = 'v']",
    ] {
        p(text);
    }
    match p(
        "[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
    ) {
        Observation::Simple {
            comparison: Comparison::Test(t),
            ..
        } => {
            assert_eq!(
                t.path.to_string(),
                "email-message:body_multipart[*].body_raw_ref.name"
            );
            assert_eq!(
                t.value,
                Operand::One(Literal::Str(r"^Final Report.+\.exe$".into()))
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err("[file:created = t'yesterday']")
            .message
            .contains("RFC 3339")
    );
    assert!(err("[file:magic = h'abc']").message.contains("hex"));
}

#[test]
fn errors_carry_the_position() {
    let e = err("[ipv4-addr:value = '10.0.0.1'");
    assert!(e.message.contains("expected `]`"), "{e}");
    assert_eq!(e.offset, 29);
    let e = err("[ipv4-addr:value '10.0.0.1']");
    assert!(e.message.contains("comparison operator"), "{e}");
    assert_eq!(e.column, 18);
    let e = err("ipv4-addr:value = '10.0.0.1'");
    assert_eq!(e.column, 1);
    let e = err("[ipv4-addr:value = '10.0.0.1'] AND");
    assert!(e.message.contains("end of the pattern"), "{e}");
    let e = err("[IPv4-Addr:value = '1']");
    assert!(e.message.contains("object type"), "{e}");
    let e = err("[a:b = 1] REPEATS 0 TIMES");
    assert!(e.message.contains("positive"), "{e}");
    let e = err("[a:b = 1] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'");
    assert!(e.message.contains("later"), "{e}");
    let e = err("[a:b = 1] [a:b = 2]");
    assert!(e.message.contains("unexpected"), "{e}");
    let e = err("[a:b ~ 1]");
    assert!(e.message.contains("unexpected character"), "{e}");
    assert!(err("").message.contains("expected `[`"));
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{}[a:b = 1]{}", "(".repeat(500), ")".repeat(500));
    assert!(err(&deep).message.contains("nested deeper"));
    // Columns count characters, not bytes.
    let e = err("[domain-name:value = 'é' ~]");
    assert_eq!(e.column, 26);
}
