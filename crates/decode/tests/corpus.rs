//! Acceptance over the shared public corpora (`../shared/corpora`, or
//! `$WATCHFLOOR_CORPORA`). Every test here is `#[ignore]`d so the self-contained suite
//! passes without the corpora; CI runs them with `--include-ignored`, and each one
//! fails loudly when the folder is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use watchfloor_decode::{
    Collect, DecodeContext, DecodeError, DecodeErrorKind, Event, FileDecoder, Format, Sink,
    StreamReport,
};
use watchfloor_event::{FieldCache, FieldTable, Value};

fn corpora() -> PathBuf {
    let dir = std::env::var_os("WATCHFLOOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"));
    assert!(
        dir.is_dir(),
        "the shared corpora are absent at {} (set WATCHFLOOR_CORPORA)",
        dir.display()
    );
    dir
}

fn files_with(dir: &Path, pred: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| pred(&p.to_string_lossy()))
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn decoder() -> FileDecoder {
    FileDecoder::new(DecodeContext::new(FieldCache::new(FieldTable::new())), None)
}

/// Counts events without keeping them, and keeps errors.
#[derive(Default)]
struct Count {
    events: u64,
    errors: Vec<DecodeError>,
    check: Option<fn(&Event)>,
}

impl Sink for Count {
    fn event(&mut self, ev: &Event) {
        self.events += 1;
        if let Some(check) = self.check {
            check(ev);
        }
    }
    fn error(&mut self, err: DecodeError) {
        self.errors.push(err);
    }
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn evtx_attack_samples_every_record() {
    let dir = corpora().join("evtx/EVTX-ATTACK-SAMPLES");
    let files = files_with(&dir, |p| p.ends_with(".evtx"));
    assert!(files.len() >= 270, "only {} evtx files", files.len());
    let mut dec = decoder();
    let (mut total, mut rejected) = (0u64, 0u64);
    for file in &files {
        let mut crate_ok = 0u64;
        let mut crate_err = 0u64;
        let mut parser = evtx::EvtxParser::from_path(file).unwrap();
        for r in parser.records_json_bytes() {
            if r.is_ok() {
                crate_ok += 1
            } else {
                crate_err += 1
            }
        }
        let mut sink = Count::default();
        let reports = dec.decode_path(file, &mut sink);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].format, Some(Format::Evtx), "{}", file.display());
        assert_eq!(sink.events, crate_ok, "{}: events", file.display());
        assert_eq!(
            sink.errors.len() as u64,
            crate_err,
            "{}: rejected records must be reported",
            file.display()
        );
        for e in &sink.errors {
            assert!(e.record > 0, "error without a record number: {e}");
        }
        total += sink.events;
        rejected += crate_err;
    }
    eprintln!(
        "{} files, {total} records, {rejected} rejected by the evtx crate",
        files.len()
    );
    assert!(total > 8_000);
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn evtx_fields_are_sigma_shaped() {
    let dir = corpora().join("evtx/EVTX-ATTACK-SAMPLES");
    let files = files_with(&dir, |p| p.ends_with(".evtx"));
    let table = FieldTable::new();
    let mut dec = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    let mut by_service: BTreeMap<String, u64> = BTreeMap::new();
    let event_id = table.intern("EventID");
    let channel = table.intern("Channel");
    let computer = table.intern("Computer");
    let record_id = table.intern("EventRecordID");
    let provider = table.intern("Provider_Name");
    for file in files.iter().take(120) {
        let mut sink = Collect::default();
        dec.decode_path(file, &mut sink);
        for ev in &sink.events {
            assert!(
                matches!(ev.get(event_id), Some(Value::Int(_))),
                "{}: EventID not a number",
                file.display()
            );
            assert!(
                ev.get(channel).is_some() && ev.get(computer).is_some(),
                "{}",
                file.display()
            );
            assert!(
                ev.get(record_id).is_some() && ev.get(provider).is_some(),
                "{}",
                file.display()
            );
            assert!(
                ev.time.0 > 0,
                "{}:{} has no time",
                file.display(),
                ev.source.record
            );
            *by_service.entry(ev.logsource.to_string()).or_default() += 1;
        }
    }
    eprintln!("{by_service:#?}");
    assert!(
        by_service
            .keys()
            .any(|k| k == "windows/process_creation/sysmon")
    );
    assert!(by_service.keys().any(|k| k == "windows/-/security"));
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn apache_access_log_ten_thousand_lines() {
    let file = corpora().join("web/elastic-examples/Common Data Formats/apache_logs/apache_logs");
    let file = if file.exists() {
        file
    } else {
        files_with(&corpora().join("web/elastic-examples"), |p| {
            p.contains("apache_log")
        })
        .remove(0)
    };
    let mut sink = Count {
        check: Some(|ev| {
            assert_eq!(ev.logsource.category(), Some("webserver"));
            assert!(ev.time.0 > 0);
        }),
        ..Default::default()
    };
    let reports = decoder().decode_path(&file, &mut sink);
    assert_eq!(reports[0].format, Some(Format::AccessLog));
    assert!(
        sink.errors.is_empty(),
        "{:?}",
        &sink.errors[..sink.errors.len().min(5)]
    );
    assert_eq!(sink.events, 10_000);
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn otrf_zips_every_json_member() {
    let dir = corpora().join("otrf-security-datasets/datasets");
    let zips = files_with(&dir, |p| p.ends_with(".zip"));
    assert!(zips.len() >= 90, "{} zips", zips.len());
    let mut dec = decoder();
    let (mut json_members, mut events, mut captures) = (0, 0u64, 0);
    for zip in &zips {
        let mut sink = Count::default();
        let reports: Vec<StreamReport> = dec.decode_path(zip, &mut sink);
        for r in &reports {
            let member = r
                .name
                .rsplit('!')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if member.ends_with(".json") {
                json_members += 1;
                assert_eq!(r.format, Some(Format::Json), "{}", r.name);
                assert_eq!(
                    r.errors,
                    0,
                    "{}: {:?}",
                    r.name,
                    sink.errors.iter().take(3).collect::<Vec<_>>()
                );
                assert!(r.events > 0, "{}", r.name);
                events += r.events;
            } else if member.ends_with(".pcap")
                || member.ends_with(".pcapng")
                || member.ends_with(".cap")
            {
                captures += 1;
                assert_eq!(r.format, None, "{}", r.name);
                assert!(
                    sink.errors
                        .iter()
                        .any(|e| e.input == r.name
                            && matches!(e.kind, DecodeErrorKind::Unsupported(_))),
                    "{}: a capture must be reported as unsupported",
                    r.name
                );
            }
        }
    }
    eprintln!(
        "{} zips, {json_members} JSON members, {events} events, {captures} captures reported",
        zips.len()
    );
    assert!(json_members >= 60 && captures >= 20);
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn zeek_tsv_and_suricata_eve() {
    let net = corpora().join("network");
    let mut dec = decoder();
    let zeek = files_with(&net, |p| {
        p.ends_with(".log.gz") || (p.contains("zeek-btest") && p.ends_with(".log"))
    });
    assert!(zeek.len() >= 30);
    for file in &zeek {
        let mut sink = Count {
            check: Some(|ev| assert_eq!(ev.logsource.product(), Some("zeek"))),
            ..Default::default()
        };
        let reports = dec.decode_path(file, &mut sink);
        assert_eq!(
            reports[0].format,
            Some(Format::ZeekTsv),
            "{}",
            file.display()
        );
        assert!(
            sink.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            sink.errors.first()
        );
    }
    let eve = files_with(&net, |p| p.ends_with("eve.json"));
    assert!(!eve.is_empty());
    for file in &eve {
        let mut sink = Count {
            check: Some(|ev| assert_eq!(ev.logsource.product(), Some("suricata"))),
            ..Default::default()
        };
        dec.decode_path(file, &mut sink);
        assert!(
            sink.errors.is_empty() && sink.events > 0,
            "{}: {:?}",
            file.display(),
            sink.errors.first()
        );
    }
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn sigma_regression_json_matches_its_evtx() {
    let dir = corpora().join("detection/sigmahq-sigma/regression_data");
    let jsons = files_with(&dir, |p| p.ends_with(".json"));
    assert!(jsons.len() >= 150);
    let table = FieldTable::new();
    let mut dec = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    let event_id = table.intern("EventID");
    for json in &jsons {
        let mut from_json = Collect::default();
        dec.decode_path(json, &mut from_json);
        assert!(
            from_json.errors.is_empty(),
            "{}: {:?}",
            json.display(),
            from_json.errors.first()
        );
        assert!(!from_json.events.is_empty(), "{}", json.display());
        let evtx = json.with_extension("evtx");
        if !evtx.exists() {
            continue;
        }
        let mut from_evtx = Collect::default();
        dec.decode_path(&evtx, &mut from_evtx);
        let ids = |events: &[Event]| {
            events
                .iter()
                .map(|e| e.get(event_id).and_then(|v| v.as_i64()))
                .collect::<Vec<_>>()
        };
        // The JSON holds the matching event(s) of the EVTX: same event ids present.
        let evtx_ids = ids(&from_evtx.events);
        for id in ids(&from_json.events) {
            assert!(
                id.is_some() && evtx_ids.contains(&id),
                "{}: EventID {id:?} not in its EVTX",
                json.display()
            );
        }
    }
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn truncated_real_evtx_keeps_whole_chunks_and_reports_the_cut() {
    let dir = corpora().join("evtx/EVTX-ATTACK-SAMPLES");
    let file = files_with(&dir, |p| p.ends_with(".evtx"))
        .into_iter()
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() > 4096 + 3 * 65536)
                .unwrap_or(false)
        })
        .expect("a sample with several chunks");
    let data = std::fs::read(&file).unwrap();
    let cut = &data[..4096 + 65536 + 30_000];
    let mut dec = decoder();
    let mut whole = Count::default();
    let first_chunk_only = {
        let mut parser = evtx::EvtxParser::from_buffer(data[..4096 + 65536].to_vec()).unwrap();
        parser.records_json_bytes().filter(|r| r.is_ok()).count() as u64
    };
    let report = dec.decode_stream(
        std::sync::Arc::from("cut.evtx"),
        std::io::Cursor::new(cut),
        &mut whole,
    );
    assert_eq!(report.events, first_chunk_only, "{}", file.display());
    assert!(
        whole
            .errors
            .iter()
            .any(|e| matches!(&e.kind, DecodeErrorKind::Evtx(m) if m.contains("truncated"))),
        "{:?}",
        whole.errors
    );
}

/// Every record of the EVTX attack samples, rendered as XML (as `wevtutil qe /f:xml`
/// writes it) and decoded as Windows event XML, gives the event its EVTX gives: the same
/// time, logsource and Sigma-named fields with the same text.
#[test]
#[ignore = "needs ../shared/corpora"]
fn evtx_records_as_xml_decode_like_the_evtx() {
    let dir = corpora().join("evtx/EVTX-ATTACK-SAMPLES");
    let files = files_with(&dir, |p| p.ends_with(".evtx"));
    assert!(files.len() >= 200, "{}", files.len());
    let table = FieldTable::new();
    let mut dec = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    // XML 1.0 cannot carry control characters other than tab and line ends; the XML
    // rendering writes `_` for them, so the EVTX side is compared the same way.
    let xml_text = |s: String| -> String {
        s.chars()
            .map(|c| {
                if c.is_control() && (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    let fields = |ev: &Event| {
        let mut out: Vec<(u32, String)> = ev
            .fields()
            .map(|(entry, value)| (entry.name.0, xml_text(value.to_string())))
            .collect();
        out.sort();
        out
    };
    let mut compared = 0u64;
    for file in &files {
        let mut from_evtx = Collect::default();
        dec.decode_path(file, &mut from_evtx);
        let mut parser = evtx::EvtxParser::from_path(file).unwrap();
        let xml: Vec<String> = parser
            .records()
            .filter_map(Result::ok)
            .map(|r| r.data)
            .collect();
        let mut from_xml = Collect::default();
        let report = dec.decode_stream(
            std::sync::Arc::from(file.display().to_string()),
            std::io::Cursor::new(xml.join("\n").into_bytes()),
            &mut from_xml,
        );
        assert_eq!(
            report.format,
            Some(Format::WindowsXml),
            "{}",
            file.display()
        );
        assert!(
            from_xml.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            from_xml.errors.first()
        );
        assert_eq!(
            from_xml.events.len(),
            from_evtx.events.len(),
            "{}",
            file.display()
        );
        for (a, b) in from_evtx.events.iter().zip(&from_xml.events) {
            assert_eq!(a.time, b.time, "{}", file.display());
            assert_eq!(a.logsource, b.logsource, "{}", file.display());
            assert_eq!(fields(a), fields(b), "{}", file.display());
            compared += 1;
        }
    }
    assert!(compared > 8_000, "{compared}");
}
