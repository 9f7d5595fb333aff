//! One test per kind of bad input: each gets a located error, never a panic, and the
//! rest of the input is still decoded.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use watchfloor_decode::{
    Collect, DecodeContext, DecodeErrorKind, FileDecoder, Format, Limits, StreamReport,
};
use watchfloor_event::{FieldCache, FieldTable, Value};

fn decoder(limits: Limits) -> (FileDecoder, Arc<FieldTable>) {
    let table = FieldTable::new();
    let mut ctx = DecodeContext::new(FieldCache::new(table.clone()));
    ctx.limits = limits;
    (FileDecoder::new(ctx, None), table)
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("watchfloor-bad-input-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str, body: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(path: &Path, limits: Limits) -> (Vec<StreamReport>, Collect, Arc<FieldTable>) {
    let (mut dec, table) = decoder(limits);
    let mut sink = Collect::default();
    let reports = dec.decode_path(path, &mut sink);
    (reports, sink, table)
}

#[test]
fn invalid_utf8_is_reported_and_the_line_still_decoded() {
    let dir = TempDir::new("utf8");
    let mut body =
        b"Mar  3 10:01:02 host sshd[1]: Accepted password for bob from 10.0.0.1 port 22 ssh2\n"
            .to_vec();
    body.extend_from_slice(
        b"Mar  3 10:01:03 host sshd[2]: Failed password for \xff\xfe from 10.0.0.2 port 22 ssh2\n",
    );
    body.extend_from_slice(
        b"Mar  3 10:01:04 host sshd[3]: Failed password for eve from 10.0.0.3 port 22 ssh2\n",
    );
    let path = dir.file("auth.log", &body);
    let (reports, sink, table) = run(&path, Limits::default());
    assert_eq!(reports[0].format, Some(Format::Syslog));
    assert_eq!(sink.events.len(), 3, "nothing is dropped");
    assert_eq!(sink.errors.len(), 1);
    let err = &sink.errors[0];
    assert_eq!(err.record, 2);
    assert!(
        matches!(err.kind, DecodeErrorKind::InvalidUtf8 { offset: 50 }),
        "{err}"
    );
    assert!(
        err.to_string().contains("auth.log:2: invalid UTF-8"),
        "{err}"
    );
    let message = table.intern("message");
    let text = sink.events[1]
        .get(message)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap();
    assert!(text.contains('\u{fffd}'));
}

#[test]
fn ten_megabyte_line_is_skipped_with_its_length() {
    let dir = TempDir::new("long");
    let mut body = b"{\"a\":1}\n{\"b\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 10 << 20));
    body.extend_from_slice(b"\"}\n{\"c\":3}\n");
    let path = dir.file("big.jsonl", &body);
    let limits = Limits {
        max_line_bytes: 1 << 20,
        ..Limits::default()
    };
    let (reports, sink, table) = run(&path, limits);
    assert_eq!(reports[0].format, Some(Format::Json));
    assert_eq!(sink.events.len(), 2);
    assert_eq!(sink.events[1].get(table.intern("c")), Some(Value::Int(3)));
    assert_eq!(sink.errors.len(), 1);
    let err = &sink.errors[0];
    assert_eq!(err.record, 2);
    assert!(
        matches!(err.kind, DecodeErrorKind::LineTooLong { len, limit } if len == (10 << 20) + 8 && limit == 1 << 20),
        "{err}"
    );
}

#[test]
fn empty_file_is_reported() {
    let dir = TempDir::new("empty");
    for name in ["empty.log", "empty.json", "blank.log"] {
        let body: &[u8] = if name == "blank.log" {
            b"\n  \n\n"
        } else {
            b""
        };
        let path = dir.file(name, body);
        let (reports, sink, _) = run(&path, Limits::default());
        assert_eq!(reports[0].format, None);
        assert_eq!(sink.errors.len(), 1, "{name}");
        assert_eq!(sink.errors[0].record, 0);
        assert!(
            sink.errors[0].to_string().contains(name),
            "{}",
            sink.errors[0]
        );
        assert!(
            matches!(&sink.errors[0].kind, DecodeErrorKind::Unsupported(m) if m.contains("empty"))
        );
    }
}

#[test]
fn binary_garbage_is_reported() {
    let dir = TempDir::new("garbage");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let garbage: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let path = dir.file("blob.bin", &garbage);
    let (reports, sink, _) = run(&path, Limits::default());
    assert_eq!(reports[0].format, None);
    assert!(
        matches!(&sink.errors[0].kind, DecodeErrorKind::Unsupported(m) if m.contains("binary")),
        "{:?}",
        sink.errors
    );

    // Forced through every decoder, garbage gives errors, never a panic.
    for format in Format::ALL {
        let table = FieldTable::new();
        let mut dec = FileDecoder::new(DecodeContext::new(FieldCache::new(table)), Some(format));
        let mut sink = Collect::default();
        let report = dec.decode_stream(Arc::from("garbage"), Cursor::new(&garbage), &mut sink);
        assert_eq!(report.errors as usize, sink.errors.len(), "{format}");
        assert!(
            report.errors > 0 || report.events > 0,
            "{format}: garbage must be accounted for"
        );
    }
}

#[test]
fn zip_bomb_stops_at_the_inflate_limit() {
    let dir = TempDir::new("bomb");
    let mut zip_bytes = Vec::new();
    {
        let mut writer = zip::ZipWriter::new(Cursor::new(&mut zip_bytes));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("ok.json", options).unwrap();
        writer.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        writer.start_file("bomb.json", options).unwrap();
        let line = b"{\"pad\":\""
            .iter()
            .chain(&[b'0'; 1000])
            .chain(b"\"}\n")
            .copied()
            .collect::<Vec<u8>>();
        for _ in 0..40_000 {
            writer.write_all(&line).unwrap();
        }
        writer.finish().unwrap();
    }
    assert!(
        zip_bytes.len() < 1 << 20,
        "the bomb compresses well: {}",
        zip_bytes.len()
    );
    let path = dir.file("bomb.zip", &zip_bytes);
    let limits = Limits {
        max_inflate_ratio: 20,
        ratio_floor_bytes: 4 << 20,
        ..Limits::default()
    };
    let (reports, sink, _) = run(&path, limits);
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].events, 2);
    assert_eq!(reports[0].errors, 0);
    let bomb = &reports[1];
    assert!(bomb.name.ends_with("bomb.zip!bomb.json"), "{}", bomb.name);
    assert!(
        bomb.bytes <= 4 << 20,
        "stopped at the limit, read {}",
        bomb.bytes
    );
    let err = sink
        .errors
        .iter()
        .find(|e| e.input == bomb.name)
        .expect("bomb reported");
    assert!(
        matches!(&err.kind, DecodeErrorKind::DecompressionLimit(m) if m.contains("bomb")),
        "{err}"
    );
}

#[test]
fn gzip_bomb_stops_at_the_inflate_limit() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..20_000 {
        gz.write_all(b"{\"pad\":\"").unwrap();
        gz.write_all(&[b'A'; 1024]).unwrap();
        gz.write_all(b"\"}\n").unwrap();
    }
    let gz = gz.finish().unwrap();
    let dir = TempDir::new("gzbomb");
    let path = dir.file("x.log.gz", &gz);
    let limits = Limits {
        max_inflate_ratio: 50,
        ratio_floor_bytes: 1 << 20,
        ..Limits::default()
    };
    let (reports, sink, _) = run(&path, limits);
    assert_eq!(reports.len(), 1);
    assert!(
        sink.errors
            .iter()
            .any(|e| matches!(e.kind, DecodeErrorKind::DecompressionLimit(_))),
        "{:?}",
        sink.errors.first()
    );
}

/// A structurally valid EVTX file header (4 KiB) announcing one chunk, followed by a
/// chunk cut short: the parser must report it, not panic.
fn evtx_header(chunks: u16) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    h[..8].copy_from_slice(b"ElfFile\0");
    h[24..28].copy_from_slice(&128u32.to_le_bytes()); // header size
    h[28..30].copy_from_slice(&1u16.to_le_bytes()); // minor version
    h[30..32].copy_from_slice(&3u16.to_le_bytes()); // major version
    h[32..34].copy_from_slice(&4096u16.to_le_bytes()); // header block size
    h[42..44].copy_from_slice(&chunks.to_le_bytes());
    h
}

#[test]
fn truncated_evtx_chunk_is_reported() {
    let dir = TempDir::new("evtx");
    // A chunk cut short by a truncated copy.
    let mut body = evtx_header(1);
    body.extend_from_slice(b"ElfChnk\0");
    body.extend(std::iter::repeat_n(0xA5u8, 30_000));
    let path = dir.file("cut.evtx", &body);
    let (reports, sink, _) = run(&path, Limits::default());
    assert_eq!(reports[0].format, Some(Format::Evtx));
    assert_eq!(reports[0].events, 0);
    assert_eq!(sink.errors.len(), 1);
    let err = &sink.errors[0];
    assert!(
        matches!(&err.kind, DecodeErrorKind::Evtx(m) if m.contains("truncated")),
        "{err}"
    );
    assert!(err.to_string().contains("cut.evtx"), "{err}");

    // A whole chunk of garbage.
    let mut body = evtx_header(1);
    body.extend(std::iter::repeat_n(0xA5u8, 65_536));
    let path = dir.file("garbage-chunk.evtx", &body);
    let (reports, sink, _) = run(&path, Limits::default());
    assert_eq!(reports[0].events, 0);
    assert!(!sink.errors.is_empty());
    assert!(
        sink.errors
            .iter()
            .all(|e| matches!(e.kind, DecodeErrorKind::Evtx(_))),
        "{:?}",
        sink.errors
    );

    // Only the file header: no records, no panic, an error or an empty result.
    let path = dir.file("header-only.evtx", &evtx_header(0)[..200]);
    let (reports, _, _) = run(&path, Limits::default());
    assert_eq!(reports[0].events, 0);
}

#[test]
fn missing_file_is_reported() {
    let (reports, sink, _) = run(
        Path::new("/nonexistent/watchfloor/x.log"),
        Limits::default(),
    );
    assert_eq!(reports[0].errors, 1);
    assert!(matches!(sink.errors[0].kind, DecodeErrorKind::Io(_)));
}

#[test]
fn bad_json_records_are_located_and_the_rest_decoded() {
    let dir = TempDir::new("json");
    let path = dir.file("x.jsonl", b"{\"a\":1}\n{\"a\":\n[1,2]\n{\"a\":3}\n");
    let (_, sink, _) = run(&path, Limits::default());
    assert_eq!(sink.events.len(), 2);
    let records: Vec<u64> = sink.errors.iter().map(|e| e.record).collect();
    assert_eq!(records, vec![2, 3]);
}
