//! Splitting a byte stream into lines with a length bound.

use std::io::{self, BufRead};

/// One line of input: its bytes without the terminator, or how long it was when it
/// exceeded the bound (its bytes were skipped, not buffered).
pub enum Line<'a> {
    Bytes(&'a [u8]),
    TooLong(usize),
}

/// Calls `f` with every line of `reader` and its 1-based number. Lines end at `\n`
/// (a preceding `\r` is dropped); the last line needs no terminator. Memory stays
/// within `max` bytes whatever the input: longer lines are reported as
/// [`Line::TooLong`]. Stops early when `f` returns `false`.
pub fn for_each_line(
    reader: &mut dyn BufRead,
    max: usize,
    buf: &mut Vec<u8>,
    mut f: impl FnMut(u64, Line<'_>) -> bool,
) -> io::Result<u64> {
    let mut number = 0u64;
    let mut skipped: Option<usize> = None;
    buf.clear();
    loop {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            if let Some(len) = skipped {
                number += 1;
                f(number, Line::TooLong(len));
            } else if !buf.is_empty() {
                number += 1;
                f(number, Line::Bytes(trim_cr(buf)));
            }
            return Ok(number);
        }
        let (take, complete) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        let mut keep_going = true;
        if let Some(len) = skipped.as_mut() {
            *len += take;
            if complete {
                number += 1;
                keep_going = f(number, Line::TooLong(*len));
                skipped = None;
            }
        } else if buf.len() + take > max {
            skipped = Some(buf.len() + take);
            buf.clear();
            if complete {
                number += 1;
                keep_going = f(number, Line::TooLong(take));
                skipped = None;
            }
        } else if complete && buf.is_empty() {
            number += 1;
            keep_going = f(number, Line::Bytes(trim_cr(&avail[..take])));
        } else {
            buf.extend_from_slice(&avail[..take]);
            if complete {
                number += 1;
                keep_going = f(number, Line::Bytes(trim_cr(buf)));
                buf.clear();
            }
        }
        reader.consume(take + usize::from(complete));
        if !keep_going {
            return Ok(number);
        }
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn lines(input: &[u8], cap: usize, max: usize) -> Vec<(u64, Result<Vec<u8>, usize>)> {
        let mut reader = BufReader::with_capacity(cap, input);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for_each_line(&mut reader, max, &mut buf, |n, l| {
            out.push((
                n,
                match l {
                    Line::Bytes(b) => Ok(b.to_vec()),
                    Line::TooLong(len) => Err(len),
                },
            ));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn splits_across_buffer_boundaries() {
        let input = b"alpha\r\nbeta\n\ngamma-without-newline";
        for cap in [1, 2, 3, 7, 64] {
            let got = lines(input, cap, 100);
            assert_eq!(
                got,
                vec![
                    (1, Ok(b"alpha".to_vec())),
                    (2, Ok(b"beta".to_vec())),
                    (3, Ok(b"".to_vec())),
                    (4, Ok(b"gamma-without-newline".to_vec())),
                ],
                "cap {cap}"
            );
        }
    }

    #[test]
    fn long_lines_are_skipped_with_their_length() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend_from_slice(b"\nafter\n");
        input.extend(std::iter::repeat_n(b'y', 500));
        for cap in [5, 64, 8192] {
            let got = lines(&input, cap, 100);
            assert_eq!(
                got,
                vec![
                    (1, Ok(b"ok".to_vec())),
                    (2, Err(10_000)),
                    (3, Ok(b"after".to_vec())),
                    (4, Err(500)),
                ],
                "cap {cap}"
            );
        }
    }
}
