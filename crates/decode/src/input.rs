//! Driving decoders over files and streams: compression, format detection, line
//! splitting, and counting.
//!
//! A [`FileDecoder`] is one thread's decoding state. It opens a path, looks through
//! gzip and zip containers (each zip member is its own stream, named
//! `archive.zip!member`), recognises each stream's format unless one was forced, and
//! feeds the records to the format's decoder. Every problem becomes a located
//! [`DecodeError`] and decoding goes on with the next record, member or file.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use flate2::read::MultiGzDecoder;
use watchfloor_event::{Event, SourceRef};

use crate::access_log::AccessLogDecoder;
use crate::auditd::AuditdDecoder;
use crate::cef::CefDecoder;
use crate::csv_log::CsvDecoder;
use crate::evtx::decode_evtx;
use crate::format::{Container, Format, sniff_container, sniff_format};
use crate::json::JsonDecoder;
use crate::limited::{Limited, limit_message};
use crate::lines::{Line, for_each_line};
use crate::squid::SquidDecoder;
use crate::syslog::SyslogDecoder;
use crate::w3c::W3cDecoder;
use crate::windows_xml::XmlEvents;
use crate::zeek_tsv::ZeekTsvDecoder;
use crate::{DecodeContext, DecodeError, DecodeErrorKind, LineDecoder, Sink};

const READ_BUFFER: usize = 256 << 10;

/// What decoding one stream (a file, or one member of an archive) gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamReport {
    pub name: Arc<str>,
    /// The format used, `None` when the stream was not recognised or not readable.
    pub format: Option<Format>,
    pub events: u64,
    pub errors: u64,
    /// Bytes read from the stream after decompression.
    pub bytes: u64,
}

/// One thread's decoding state; reuse it across files.
pub struct FileDecoder {
    pub ctx: DecodeContext,
    forced: Option<Format>,
    json: JsonDecoder,
    syslog: SyslogDecoder,
    cef: CefDecoder,
    access: AccessLogDecoder,
    squid: SquidDecoder,
    auditd: AuditdDecoder,
    ev: Event,
    line: Vec<u8>,
}

impl FileDecoder {
    /// A decoder that recognises formats itself, or always uses `forced`.
    pub fn new(ctx: DecodeContext, forced: Option<Format>) -> Self {
        FileDecoder {
            ctx,
            forced,
            json: JsonDecoder::default(),
            syslog: SyslogDecoder::default(),
            cef: CefDecoder::default(),
            access: AccessLogDecoder::default(),
            squid: SquidDecoder::default(),
            auditd: AuditdDecoder::default(),
            ev: Event::new(),
            line: Vec::new(),
        }
    }

    /// Decodes the file at `path` (plain, gzip or zip).
    pub fn decode_path(&mut self, path: &Path, sink: &mut dyn Sink) -> Vec<StreamReport> {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) => return vec![self.failed(&name, DecodeErrorKind::Io(e.to_string()), sink)],
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = BufReader::with_capacity(READ_BUFFER, file);
        let head = match reader.fill_buf() {
            Ok(h) => h,
            Err(e) => return vec![self.failed(&name, DecodeErrorKind::Io(e.to_string()), sink)],
        };
        match sniff_container(head) {
            Container::Zip => {
                let mut file = reader.into_inner();
                if let Err(e) = file.seek(SeekFrom::Start(0)) {
                    return vec![self.failed(&name, DecodeErrorKind::Io(e.to_string()), sink)];
                }
                self.decode_zip(&name, file, sink)
            }
            Container::Gzip => {
                let inflated =
                    Limited::for_compressed(MultiGzDecoder::new(reader), size, &self.ctx.limits);
                let inner = BufReader::with_capacity(READ_BUFFER, inflated);
                vec![self.decode_stream(name, inner, sink)]
            }
            Container::Plain => {
                let format = self
                    .forced
                    .map(Ok)
                    .unwrap_or_else(|| sniff_format(&name, head));
                if format == Ok(Format::Evtx) {
                    // EVTX is read by chunk offsets: give the parser the file itself.
                    let mut file = reader.into_inner();
                    if let Err(e) = file.seek(SeekFrom::Start(0)) {
                        return vec![self.failed(&name, DecodeErrorKind::Io(e.to_string()), sink)];
                    }
                    return vec![self.evtx(name, file, size, sink)];
                }
                vec![self.decode_stream(name, reader, sink)]
            }
        }
    }

    /// Decodes a stream that cannot seek (stdin, a socket, an archive member). EVTX
    /// content is buffered in memory within the inflate limit.
    pub fn decode_stream(
        &mut self,
        name: Arc<str>,
        reader: impl BufRead,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        self.stream(name, Box::new(reader), sink)
    }

    fn stream(
        &mut self,
        name: Arc<str>,
        mut reader: Box<dyn BufRead + '_>,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        let head = match reader.fill_buf() {
            Ok(h) => h,
            Err(e) => return self.failed(&name, io_kind(&e), sink),
        };
        match sniff_container(head) {
            Container::Gzip => {
                let inflated =
                    Limited::for_compressed(MultiGzDecoder::new(reader), 0, &self.ctx.limits);
                let inner = BufReader::with_capacity(READ_BUFFER, inflated);
                return self.stream(name, Box::new(inner), sink);
            }
            Container::Zip => {
                let kind =
                    DecodeErrorKind::Unsupported("zip archive nested in another archive".into());
                return self.failed(&name, kind, sink);
            }
            Container::Plain => {}
        }
        // Text written as UTF-16 (Windows PowerShell's `>` and `Out-File`): read as UTF-8.
        if head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") {
            let utf8 = encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .strip_bom(true)
                .build(reader);
            let inner = BufReader::with_capacity(READ_BUFFER, utf8);
            return self.stream(name, Box::new(inner), sink);
        }
        let format = match self
            .forced
            .map(Ok)
            .unwrap_or_else(|| sniff_format(&name, head))
        {
            Ok(f) => f,
            Err(why) => return self.failed(&name, DecodeErrorKind::Unsupported(why), sink),
        };
        if format == Format::Json && is_json_document(head) {
            return self.json_document(name, reader, sink);
        }
        if format == Format::WindowsXml {
            return self.xml_events(name, reader, sink);
        }
        if format == Format::Evtx {
            let mut data = Vec::new();
            if let Err(e) = reader.read_to_end(&mut data) {
                return self.failed(&name, io_kind(&e), sink);
            }
            let len = data.len() as u64;
            return self.evtx(name, Cursor::new(data), len, sink);
        }
        self.lines(name, format, reader, sink)
    }

    fn decode_zip(
        &mut self,
        name: &Arc<str>,
        file: File,
        sink: &mut dyn Sink,
    ) -> Vec<StreamReport> {
        let mut archive = match zip::ZipArchive::new(file) {
            Ok(a) => a,
            Err(e) => {
                return vec![self.failed(
                    name,
                    DecodeErrorKind::Unsupported(format!("unreadable zip archive: {e}")),
                    sink,
                )];
            }
        };
        let mut reports = Vec::new();
        for index in 0..archive.len() {
            let member = match archive.by_index(index) {
                Ok(m) => m,
                Err(e) => {
                    let member_name: Arc<str> = Arc::from(format!("{name}!#{index}"));
                    reports.push(self.failed(
                        &member_name,
                        DecodeErrorKind::Io(format!("zip member: {e}")),
                        sink,
                    ));
                    continue;
                }
            };
            // Folders, and the AppleDouble metadata macOS adds to archives it makes
            // (`__MACOSX/._name`), hold no log content.
            if member.is_dir() || member.name().is_ok_and(|n| n.starts_with("__MACOSX/")) {
                continue;
            }
            let member_name: Arc<str> = Arc::from(format!(
                "{name}!{}",
                member.name().unwrap_or(Cow::Borrowed("?"))
            ));
            let compressed = member.compressed_size();
            let limited = Limited::for_compressed(member, compressed, &self.ctx.limits);
            let reader = BufReader::with_capacity(READ_BUFFER, limited);
            reports.push(self.decode_stream(member_name, reader, sink));
        }
        reports
    }

    /// A JSON document rather than JSON lines: a pretty-printed object, several
    /// concatenated objects, or an array of objects. Read whole, within the line limit
    /// times 64 (documents are what exporters write for small sets).
    /// Windows event XML: each `<Event>` element, rendered as EVTX JSON and decoded as
    /// such; the rendering is the event's raw bytes. An event's record number is the line
    /// it starts on.
    fn xml_events(
        &mut self,
        name: Arc<str>,
        reader: impl BufRead,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        let mut counting = Counting::new(sink);
        let mut reader = CountingReader {
            inner: reader,
            bytes: 0,
        };
        let mut events = XmlEvents::new(&mut reader, self.ctx.limits.max_line_bytes);
        while let Some(next) = events.next_event() {
            // Placed by the line the event starts on, as line formats are.
            let record = events.line();
            let error = |kind| DecodeError {
                input: name.clone(),
                record,
                kind,
            };
            let json = match next {
                Ok(json) => json,
                Err(reason) => {
                    counting.error(error(DecodeErrorKind::Syntax {
                        format: "Windows event XML",
                        reason,
                    }));
                    continue;
                }
            };
            self.ev.clear();
            match self.json.decode_object(&mut self.ctx, &json, &mut self.ev) {
                Ok(_) => {
                    self.ev.source = SourceRef {
                        name: name.clone(),
                        record,
                    };
                    self.ctx.stamp(&mut self.ev);
                    self.ev.set_raw(&json);
                    counting.event(&self.ev);
                }
                Err(kind) => counting.error(error(kind)),
            }
        }
        drop(events);
        if counting.events == 0 && counting.errors == 0 {
            counting.error(DecodeError {
                input: name.clone(),
                record: 0,
                kind: DecodeErrorKind::Unsupported(
                    "XML without any Windows <Event> element".into(),
                ),
            });
        }
        StreamReport {
            name,
            format: Some(Format::WindowsXml),
            events: counting.events,
            errors: counting.errors,
            bytes: reader.bytes,
        }
    }

    fn json_document(
        &mut self,
        name: Arc<str>,
        reader: impl BufRead,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        let limit = (self.ctx.limits.max_line_bytes as u64).saturating_mul(64);
        let mut data = Vec::new();
        let mut counting = Counting::new(sink);
        let mut limited = reader.take(limit + 1);
        if let Err(e) = limited.read_to_end(&mut data) {
            return self.failed(&name, io_kind(&e), counting.inner);
        }
        if data.len() as u64 > limit {
            let kind = DecodeErrorKind::LineTooLong {
                len: data.len(),
                limit: limit as usize,
            };
            return self.failed(&name, kind, counting.inner);
        }
        let bytes = data.len() as u64;
        let body = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&data);
        let trimmed = body.trim_ascii_start();
        let mut record = 0u64;
        let mut deliver = |this: &mut Self, raw: &[u8], counting: &mut Counting<'_>| {
            record += 1;
            this.ev.clear();
            match this.json.decode_object(&mut this.ctx, raw, &mut this.ev) {
                Ok(_) => {
                    this.ev.source = SourceRef {
                        name: name.clone(),
                        record,
                    };
                    this.ctx.stamp(&mut this.ev);
                    this.ev.set_raw(raw);
                    counting.event(&this.ev);
                }
                Err(kind) => counting.error(DecodeError {
                    input: name.clone(),
                    record,
                    kind,
                }),
            }
        };
        let parsed: Result<(), serde_json::Error> = if trimmed.starts_with(b"[") {
            serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(trimmed).map(|items| {
                for raw in items {
                    deliver(self, raw.get().as_bytes(), &mut counting);
                }
            })
        } else {
            let mut docs = serde_json::Deserializer::from_slice(trimmed)
                .into_iter::<&serde_json::value::RawValue>();
            loop {
                match docs.next() {
                    None => break Ok(()),
                    Some(Ok(raw)) => deliver(self, raw.get().as_bytes(), &mut counting),
                    Some(Err(e)) => break Err(e),
                }
            }
        };
        if let Err(e) = parsed {
            counting.error(DecodeError {
                input: name.clone(),
                record: e.line() as u64,
                kind: DecodeErrorKind::Json {
                    column: e.column(),
                    message: format!("document: {e}"),
                },
            });
        }
        StreamReport {
            name,
            format: Some(Format::Json),
            events: counting.events,
            errors: counting.errors,
            bytes,
        }
    }

    fn evtx<R: Read + Seek>(
        &mut self,
        name: Arc<str>,
        reader: R,
        bytes: u64,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        let mut counting = Counting::new(sink);
        let events = decode_evtx(
            reader,
            &name,
            &mut self.ctx,
            &mut self.json,
            &mut self.ev,
            &mut counting,
        );
        StreamReport {
            name,
            format: Some(Format::Evtx),
            events,
            errors: counting.errors,
            bytes,
        }
    }

    fn lines(
        &mut self,
        name: Arc<str>,
        format: Format,
        reader: impl BufRead,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        let FileDecoder {
            ctx,
            json,
            syslog,
            cef,
            access,
            squid,
            auditd,
            ev,
            line,
            ..
        } = self;
        let (mut zeek, mut w3c, mut csv);
        let decoder: &mut dyn LineDecoder = match format {
            Format::Json => {
                json.set_zeek_hint(zeek_hint(&name));
                json
            }
            Format::ZeekTsv => {
                zeek = ZeekTsvDecoder::new(zeek_hint(&name).as_deref());
                &mut zeek
            }
            Format::W3c => {
                w3c = W3cDecoder::default();
                &mut w3c
            }
            Format::Csv => {
                csv = CsvDecoder::default();
                &mut csv
            }
            Format::Syslog => syslog,
            Format::Cef => cef,
            Format::AccessLog => access,
            Format::Squid => squid,
            Format::Auditd => auditd,
            Format::Evtx | Format::WindowsXml => {
                // `decode_stream` sends EVTX and XML to their own decoders; this arm is
                // never taken.
                let kind = DecodeErrorKind::Unsupported(format!("{format} is not a line format"));
                sink.error(DecodeError {
                    input: name.clone(),
                    record: 0,
                    kind,
                });
                return StreamReport {
                    name,
                    format: None,
                    events: 0,
                    errors: 1,
                    bytes: 0,
                };
            }
        };
        let mut counting = Counting::new(sink);
        let mut reader = CountingReader {
            inner: reader,
            bytes: 0,
        };
        let max = ctx.limits.max_line_bytes;
        let result = for_each_line(&mut reader, max, line, |number, line| {
            let error = |kind| DecodeError {
                input: name.clone(),
                record: number,
                kind,
            };
            let bytes = match line {
                Line::TooLong(len) => {
                    counting.error(error(DecodeErrorKind::LineTooLong { len, limit: max }));
                    return true;
                }
                Line::Bytes(b) => b,
            };
            let bytes = if number == 1 {
                bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
            } else {
                bytes
            };
            ev.clear();
            let mut outcome = decoder.decode_bytes(ctx, bytes, ev);
            if matches!(outcome, Some(Err(_))) && std::str::from_utf8(bytes).is_err() {
                outcome = None;
            }
            let outcome = match outcome {
                Some(done) => done,
                None => {
                    let text = match std::str::from_utf8(bytes) {
                        Ok(s) => Cow::Borrowed(s),
                        Err(e) => {
                            // Reported, then decoded with replacement characters: nothing
                            // is dropped.
                            counting.error(error(DecodeErrorKind::InvalidUtf8 {
                                offset: e.valid_up_to(),
                            }));
                            String::from_utf8_lossy(bytes)
                        }
                    };
                    ev.clear();
                    decoder.decode_line(ctx, &text, ev)
                }
            };
            match outcome {
                Ok(true) => {
                    ev.source = SourceRef {
                        name: name.clone(),
                        record: number,
                    };
                    ctx.stamp(ev);
                    ev.set_raw(bytes);
                    counting.event(ev);
                }
                Ok(false) => {}
                Err(kind) => counting.error(error(kind)),
            }
            true
        });
        if let Err(e) = result {
            counting.error(DecodeError {
                input: name.clone(),
                record: 0,
                kind: io_kind(&e),
            });
        }
        StreamReport {
            name,
            format: Some(format),
            events: counting.events,
            errors: counting.errors,
            bytes: reader.bytes,
        }
    }

    fn failed(
        &mut self,
        name: &Arc<str>,
        kind: DecodeErrorKind,
        sink: &mut dyn Sink,
    ) -> StreamReport {
        sink.error(DecodeError {
            input: name.clone(),
            record: 0,
            kind,
        });
        StreamReport {
            name: name.clone(),
            format: None,
            events: 0,
            errors: 1,
            bytes: 0,
        }
    }
}

fn io_kind(e: &io::Error) -> DecodeErrorKind {
    match limit_message(e) {
        Some(msg) => DecodeErrorKind::DecompressionLimit(msg),
        None => DecodeErrorKind::Io(e.to_string()),
    }
}

/// Whether JSON input is one document spread over lines (pretty-printed, or an array)
/// rather than one object per line: its first line is `[` or an unfinished object.
fn is_json_document(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let Some(first) = head
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .find(|l| !l.is_empty())
    else {
        return false;
    };
    if first.starts_with(b"[") {
        return true;
    }
    // A first line that ends the buffer may simply be long: judge only complete lines.
    let complete = memchr::memchr(b'\n', head).is_some();
    complete
        && serde_json::from_slice::<serde::de::IgnoredAny>(first)
            .err()
            .is_some_and(|e| e.is_eof())
}

/// The Zeek log name a file name suggests: `dns` for `…/dns.2020-01-01.log.gz`.
fn zeek_hint(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\', '!']).next()?;
    let stem = base.split('.').next()?;
    (!stem.is_empty()).then(|| stem.to_string())
}

struct Counting<'a> {
    inner: &'a mut dyn Sink,
    events: u64,
    errors: u64,
}

impl<'a> Counting<'a> {
    fn new(inner: &'a mut dyn Sink) -> Self {
        Counting {
            inner,
            events: 0,
            errors: 0,
        }
    }
}

impl Sink for Counting<'_> {
    fn event(&mut self, ev: &Event) {
        self.events += 1;
        self.inner.event(ev);
    }
    fn error(&mut self, err: DecodeError) {
        self.errors += 1;
        self.inner.error(err);
    }
}

struct CountingReader<R> {
    inner: R,
    bytes: u64,
}

impl<R: BufRead> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.bytes += amt as u64;
        self.inner.consume(amt);
    }
}
