//! Undoing the encodings attackers hide payloads behind: percent-encoding (repeated, and
//! IIS's `%uXXXX`), HTML character references, NUL bytes. Each function returns the input
//! unchanged, borrowed, when there is nothing to undo, so clean traffic costs no copy.

use std::borrow::Cow;

/// How many rounds of percent-decoding are undone: enough for the double and triple
/// encodings seen in evasion attempts, bounded so a crafted value cannot loop.
const DECODE_ROUNDS: usize = 3;

/// Percent-decodes `s` up to [`DECODE_ROUNDS`] times, `+` as a space when `form` is set
/// (query strings and form bodies). Invalid escapes stay as written; decoded bytes that
/// are not UTF-8 are replaced, so the result is always text.
pub fn url_decode(s: &str, form: bool) -> Cow<'_, str> {
    let mut current: Cow<'_, str> = Cow::Borrowed(s);
    for round in 0..DECODE_ROUNDS {
        // `+` means a space only in the first round: a decoded `%2B` is a real plus.
        let plus = form && round == 0;
        if !(current.contains('%') || plus && current.contains('+')) {
            break;
        }
        let next = decode_once(&current, plus);
        if next == *current {
            break;
        }
        current = Cow::Owned(next);
    }
    current
}

fn decode_once(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if let Some((decoded, used)) = percent_escape(&bytes[i..]) {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(decoded.encode_utf8(&mut buf).as_bytes());
                    i += used;
                    continue;
                }
                if let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
                    && let (Some(h), Some(l)) = (hex(h), hex(l))
                {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_as_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    fold_overlong(&mut out);
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Rewrites the overlong UTF-8 forms of `.`, `/` and `\` (`C0 AE`, `C0 AF`, `C1 9C`,
/// `E0 80 AE`, `E0 80 AF`) as the characters themselves: old decoders accepted them,
/// which is why traversal attempts still use them. Other invalid bytes stay invalid.
fn fold_overlong(bytes: &mut Vec<u8>) {
    if !bytes.iter().any(|&b| b == 0xC0 || b == 0xC1 || b == 0xE0) {
        return;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let folded = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (0xC0, Some(0xAE), _) => Some((b'.', 2)),
            (0xC0, Some(0xAF), _) => Some((b'/', 2)),
            (0xC1, Some(0x9C), _) => Some((b'\\', 2)),
            (0xE0, Some(0x80), Some(0xAE)) => Some((b'.', 3)),
            (0xE0, Some(0x80), Some(0xAF)) => Some((b'/', 3)),
            _ => None,
        };
        match folded {
            Some((c, used)) => {
                out.push(c);
                i += used;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    *bytes = out;
}

/// `%uXXXX` (IIS's non-standard escape) at the start of `b`: the character and the bytes
/// it took.
fn percent_escape(b: &[u8]) -> Option<(char, usize)> {
    if b.len() < 6 || !matches!(b[1], b'u' | b'U') {
        return None;
    }
    let mut code = 0u32;
    for &d in &b[2..6] {
        code = code << 4 | u32::from(hex(d)?);
    }
    // Full-width forms (U+FF01..U+FF5E) are what IIS folds to ASCII.
    let c = if (0xFF01..=0xFF5E).contains(&code) {
        char::from_u32(code - 0xFEE0)?
    } else {
        char::from_u32(code)?
    };
    Some((c, 6))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes HTML character references: numeric (`&#60;`, `&#x3c;`, with or without the
/// closing `;`) and the named ones that matter to markup and scripts.
pub fn html_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match entity(rest) {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

const NAMED: &[(&str, char)] = &[
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("amp", '&'),
    ("colon", ':'),
    ("lpar", '('),
    ("rpar", ')'),
    ("sol", '/'),
    ("bsol", '\\'),
    ("tab", '\t'),
    ("newline", '\n'),
    ("nbsp", ' '),
];

/// The reference at the start of `s` (which starts with `&`): its character and length.
fn entity(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let (radix, start) = match b.get(2) {
            Some(b'x' | b'X') => (16, 3),
            _ => (10, 2),
        };
        let digits = b[start..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit() && (radix == 16 || c.is_ascii_digit()))
            .count();
        if digits == 0 || digits > 8 {
            return None;
        }
        let code = u32::from_str_radix(&s[start..start + digits], radix).ok()?;
        let c = char::from_u32(code)?;
        let mut used = start + digits;
        if b.get(used) == Some(&b';') {
            used += 1;
        }
        return Some((c, used));
    }
    let name_len = b[1..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    let name = s.get(1..1 + name_len)?.to_ascii_lowercase();
    let (_, c) = NAMED.iter().find(|(n, _)| *n == name)?;
    let mut used = 1 + name_len;
    if b.get(used) == Some(&b';') {
        used += 1;
    }
    Some((*c, used))
}

/// `s` without NUL bytes (which truncate strings in C-based servers and split keywords).
pub fn strip_nul(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', ""))
    } else {
        Cow::Borrowed(s)
    }
}

/// The fully decoded text of a value: percent-decoding, then HTML references, then NULs
/// dropped.
pub fn decode_value(s: &str, form: bool) -> Cow<'_, str> {
    match url_decode(s, form) {
        Cow::Borrowed(b) => match html_decode(b) {
            Cow::Borrowed(b) => strip_nul(b),
            Cow::Owned(o) => Cow::Owned(strip_nul(&o).into_owned()),
        },
        Cow::Owned(o) => {
            let h = html_decode(&o).into_owned();
            Cow::Owned(strip_nul(&h).into_owned())
        }
    }
}

/// What a shell makes of `s` before running it: quotes, backslashes and carets that
/// split a word (`c\\a't' /e"t"c/pa\\sswd`, `w^h^o^a^m^i`) removed, `$IFS` read as a
/// space and the empty `$@` dropped. Borrowed when there is nothing to remove.
pub fn shell_normalize(s: &str) -> Cow<'_, str> {
    if !s.contains(['\\', '\'', '"', '^', '$']) {
        return Cow::Borrowed(s);
    }
    let replaced = s
        .replace("${IFS}", " ")
        .replace("$IFS", " ")
        .replace("$@", "")
        .replace("$*", "");
    let out: String = replaced
        .chars()
        .filter(|c| !matches!(c, '\\' | '\'' | '"' | '^'))
        .collect();
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_undoes_double_encoding_and_iis_escapes() {
        assert_eq!(url_decode("a%20b", false), "a b");
        assert_eq!(url_decode("..%252f..%252f", false), "../../");
        assert_eq!(url_decode("%u002e%u002e/", false), "../");
        assert_eq!(url_decode("%uff1cscript%uff1e", false), "<script>");
        assert_eq!(url_decode("a+b%2Bc", true), "a b+c");
        assert_eq!(url_decode("a+b", false), "a+b");
        assert_eq!(url_decode("100%", false), "100%");
        assert_eq!(url_decode("%zz%4", false), "%zz%4");
        assert!(matches!(url_decode("plain", true), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_utf8_after_decoding_is_replaced_not_lost() {
        let d = url_decode("%ff%fe/x", false);
        assert!(d.ends_with("/x"), "{d}");
    }

    #[test]
    fn overlong_dots_and_slashes_fold_to_ascii() {
        assert_eq!(url_decode("%c0%ae%c0%ae%c0%afetc", false), "../etc");
        assert_eq!(url_decode("%e0%80%ae%e0%80%ae%c1%9c", false), "..\\");
    }

    #[test]
    fn html_references_decode_with_or_without_semicolons() {
        assert_eq!(html_decode("&lt;script&gt;"), "<script>");
        assert_eq!(html_decode("&#60;&#x3C;&#x3c"), "<<<");
        assert_eq!(html_decode("java&#115;cript&colon;"), "javascript:");
        assert_eq!(
            html_decode("fish & chips &unknown;"),
            "fish & chips &unknown;"
        );
        assert_eq!(html_decode("&#99999999999;"), "&#99999999999;");
    }

    #[test]
    fn shell_quoting_is_undone() {
        assert_eq!(
            shell_normalize(r#"c\a't' /e"t"c/pa\sswd"#),
            "cat /etc/passwd"
        );
        assert_eq!(shell_normalize("w^h^o^a^m^i"), "whoami");
        assert_eq!(shell_normalize("cat${IFS}/etc/passwd"), "cat /etc/passwd");
        assert!(matches!(shell_normalize("plain words"), Cow::Borrowed(_)));
    }

    #[test]
    fn decode_value_chains_every_step() {
        assert_eq!(decode_value("%26lt%3Bsvg%00%26gt%3B", true), "<svg>");
    }
}
