//! Reading records with bounded memory, and splitting CSV records into cells.

use std::io::{self, BufRead};

use super::MAX_RECORD;

/// Where a record starts, and whether it was cut.
pub(super) struct RecordInfo {
    pub(super) line: u64,
    pub(super) too_long: bool,
}

/// Records from a reader, one line (or, for CSV, the lines of one quoted record) at a
/// time, never holding more than [`MAX_RECORD`] bytes.
pub(super) struct Records<R> {
    inner: R,
    line: u64,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(inner: R) -> Records<R> {
        Records { inner, line: 0 }
    }

    /// The next record into `buf`. With `csv` (the delimiter), a line break inside a
    /// quoted cell continues the record.
    pub(super) fn next(
        &mut self,
        buf: &mut Vec<u8>,
        csv: Option<char>,
    ) -> io::Result<Option<RecordInfo>> {
        buf.clear();
        let first = self.line + 1;
        let mut too_long = false;
        let mut quotes = csv.map(QuoteState::new);
        let mut read_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                self.line += 1;
                return Ok(Some(RecordInfo {
                    line: first,
                    too_long,
                }));
            }
            read_any = true;
            // Only a line break outside quotes ends a CSV record; past the size limit
            // the record is lost anyway, so the next line break ends it.
            let room = if too_long { 0 } else { MAX_RECORD - buf.len() };
            let newline = chunk
                .iter()
                .enumerate()
                .position(|(i, &b)| match &mut quotes {
                    Some(q) if i < room => q.feed(b),
                    _ => b == b'\n',
                });
            let take = newline.map_or(chunk.len(), |p| p + 1);
            if !too_long {
                if buf.len() + take <= MAX_RECORD {
                    buf.extend_from_slice(&chunk[..take]);
                } else {
                    too_long = true;
                    buf.clear();
                }
            }
            // Count the line breaks consumed inside quoted cells too.
            let breaks = chunk[..take].iter().filter(|&&b| b == b'\n').count() as u64;
            self.inner.consume(take);
            if newline.is_some() {
                self.line += breaks;
                return Ok(Some(RecordInfo {
                    line: first,
                    too_long,
                }));
            }
            self.line += breaks;
        }
    }
}

/// Where a CSV reader is with respect to quotes, byte by byte: a quote opens a quoted
/// cell only at the start of a cell, `""` inside one is a quote.
struct QuoteState {
    delimiter: Option<u8>,
    in_quotes: bool,
    after_quote: bool,
    cell_start: bool,
}

impl QuoteState {
    fn new(delimiter: char) -> QuoteState {
        QuoteState {
            delimiter: delimiter.is_ascii().then_some(delimiter as u8),
            in_quotes: false,
            after_quote: false,
            cell_start: true,
        }
    }

    /// Takes one byte; true when it is a line break that ends the record.
    fn feed(&mut self, b: u8) -> bool {
        if self.in_quotes {
            if b == b'"' {
                self.in_quotes = false;
                self.after_quote = true;
            }
            return false;
        }
        if std::mem::take(&mut self.after_quote) && b == b'"' {
            self.in_quotes = true;
            return false;
        }
        match b {
            b'"' if self.cell_start => {
                self.in_quotes = true;
                self.cell_start = false;
            }
            b' ' | b'\t' | b'\r' => {}
            b'\n' => {
                self.cell_start = true;
                return true;
            }
            _ if Some(b) == self.delimiter => self.cell_start = true,
            _ => self.cell_start = false,
        }
        false
    }
}

/// Splits one CSV record (RFC 4180 quoting). Unquoted cells are trimmed.
pub(super) fn split_csv(record: &str, delimiter: char) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cell.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cell.push(c);
            }
        } else if c == delimiter {
            fields.push(finish_cell(std::mem::take(&mut cell), quoted));
            quoted = false;
        } else if c == '"' && !quoted && cell.trim().is_empty() {
            cell.clear();
            in_quotes = true;
            quoted = true;
        } else if quoted {
            if !c.is_whitespace() {
                return Err(format!(
                    "text after the closing quote of column {}",
                    fields.len() + 1
                ));
            }
        } else {
            cell.push(c);
        }
    }
    if in_quotes {
        return Err(format!(
            "column {} opens a quote it never closes",
            fields.len() + 1
        ));
    }
    fields.push(finish_cell(cell, quoted));
    Ok(fields)
}

fn finish_cell(cell: String, quoted: bool) -> String {
    if quoted { cell } else { cell.trim().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells() {
        assert_eq!(split_csv("a, b ,c", ',').unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split_csv(r#""a,b","say ""hi""",c"#, ',').unwrap(),
            ["a,b", "say \"hi\"", "c"]
        );
        assert_eq!(split_csv("a;b", ';').unwrap(), ["a", "b"]);
        assert_eq!(split_csv("", ',').unwrap(), [""]);
        assert_eq!(split_csv("a,", ',').unwrap(), ["a", ""]);
        assert_eq!(
            split_csv("\"multi\nline\",x", ',').unwrap(),
            ["multi\nline", "x"]
        );
        assert!(split_csv("\"open,x", ',').is_err());
        assert!(split_csv("\"a\"b,x", ',').is_err());
        assert_eq!(split_csv("it\"s,x", ',').unwrap(), ["it\"s", "x"]);
    }

    fn records(text: &str, csv: Option<char>) -> Vec<(u64, bool, String)> {
        let mut r = Records::new(text.as_bytes());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(info) = r.next(&mut buf, csv).unwrap() {
            got.push((
                info.line,
                info.too_long,
                String::from_utf8(buf.clone()).unwrap(),
            ));
        }
        got
    }

    #[test]
    fn records_are_capped_and_resume() {
        let long = "x".repeat(MAX_RECORD + 10);
        let text = format!("a\n{long}\nb\n\"q\nr\",s\nlast");
        let got = records(&text, Some(','));
        assert_eq!(got.len(), 5);
        assert_eq!((got[0].0, got[0].1, got[0].2.as_str()), (1, false, "a\n"));
        assert_eq!((got[1].0, got[1].1), (2, true));
        assert_eq!(got[2].2, "b\n");
        assert_eq!((got[3].0, got[3].2.as_str()), (4, "\"q\nr\",s\n"));
        assert_eq!((got[4].0, got[4].2.as_str()), (6, "last"));
        // Not CSV: a quote is text.
        assert_eq!(records("\"q\nr\n", None).len(), 2);
    }

    #[test]
    fn stray_quotes_do_not_swallow_lines() {
        let got = records("it\"s,x\nnext.example,y\n\"a \"\"b\"\"\nc\",z\n", Some(','));
        let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, [1, 2, 3]);
        assert_eq!(
            split_csv(got[2].2.trim_end(), ',').unwrap(),
            ["a \"b\"\nc", "z"]
        );
        // A quote opened and never closed runs to the record limit, then stops.
        let text = format!("\"open,x\n{}", "y,z\n".repeat(MAX_RECORD / 2));
        let got = records(&text, Some(','));
        assert!(got[0].1, "cut");
        assert!(got.len() > 1);
    }
}
