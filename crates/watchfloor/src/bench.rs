//! `watchfloor bench decode`: single-thread decode throughput per format over the
//! shared corpora, in events/s and MB/s, with the process's peak RSS.
//!
//! Inputs are loaded (and decompressed) into memory first, so the figures measure
//! decoding, not the disk. Each format's input is decoded repeatedly until at least
//! `--seconds` have passed.

use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use watchfloor_decode::{DecodeContext, DecodeError, Event, FileDecoder, Format, Sink};
use watchfloor_event::{FieldCache, FieldTable};

use crate::cli::BenchArgs;

struct Input {
    label: &'static str,
    format: Format,
    streams: Vec<(Arc<str>, Vec<u8>)>,
}

#[derive(Default)]
struct CountSink {
    events: u64,
    errors: u64,
}

impl Sink for CountSink {
    fn event(&mut self, _ev: &Event) {
        self.events += 1;
    }
    fn error(&mut self, _err: DecodeError) {
        self.errors += 1;
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let corpora = args.corpora;
    if !corpora.is_dir() {
        bail!(
            "corpora folder {} not found (pass --corpora)",
            corpora.display()
        );
    }
    let mut inputs = load_inputs(&corpora)?;
    if let Some(only) = &args.only {
        inputs.retain(|i| i.format.name() == only.as_str());
    }
    println!("| format | input | events/pass | MB/pass | events/s | MB/s | errors/pass |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for input in inputs {
        let table = FieldTable::new();
        let mut dec = FileDecoder::new(
            DecodeContext::new(FieldCache::new(table)),
            Some(input.format),
        );
        let bytes: u64 = input.streams.iter().map(|(_, b)| b.len() as u64).sum();
        let (mut events, mut errors, mut passes) = (0u64, 0u64, 0u64);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs_f64(args.seconds) || passes == 0 {
            let mut sink = CountSink::default();
            for (name, data) in &input.streams {
                dec.decode_stream(
                    name.clone(),
                    BufReader::with_capacity(256 << 10, Cursor::new(data.as_slice())),
                    &mut sink,
                );
            }
            events += sink.events;
            errors += sink.errors;
            passes += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {} |",
            input.format,
            input.label,
            events / passes,
            bytes as f64 / 1e6,
            events as f64 / secs,
            (bytes * passes) as f64 / 1e6 / secs,
            errors / passes
        );
    }
    if let Some(kb) = peak_rss_kb() {
        println!("\npeak RSS: {:.1} MB", kb as f64 / 1024.0);
    }
    Ok(())
}

fn load_inputs(corpora: &Path) -> anyhow::Result<Vec<Input>> {
    let find = |dir: &str, pred: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = walkdir::WalkDir::new(corpora.join(dir))
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file() && pred(&e.path().to_string_lossy()))
            .map(|e| e.into_path())
            .collect();
        v.sort();
        v
    };
    let mut inputs = Vec::new();
    inputs.push(Input {
        label: "EVTX-ATTACK-SAMPLES (all .evtx)",
        format: Format::Evtx,
        streams: read_all(&find("evtx/EVTX-ATTACK-SAMPLES", &|p| p.ends_with(".evtx")))?,
    });
    inputs.push(Input {
        label: "EVTX-ATTACK-SAMPLES rendered as event XML",
        format: Format::WindowsXml,
        streams: as_event_xml(&inputs[0].streams),
    });
    inputs.push(Input {
        label: "OTRF Windows NDJSON (unzipped)",
        format: Format::Json,
        streams: unzip_all(&find(
            "otrf-security-datasets/datasets/atomic/windows",
            &|p| p.ends_with(".zip"),
        ))?,
    });
    inputs.push(Input {
        label: "Zeek TSV, WRCCDC 2018 (gunzipped)",
        format: Format::ZeekTsv,
        streams: gunzip_all(&find("network/zeek-wrccdc2018", &|p| {
            p.ends_with(".log.gz")
        }))?,
    });
    inputs.push(Input {
        label: "Apache combined, elastic examples",
        format: Format::AccessLog,
        streams: read_all(&find("web/elastic-examples", &|p| {
            p.ends_with("apache_logs")
        }))?,
    });
    inputs.push(Input {
        label: "Suricata EVE (suricata-verify, x2000)",
        format: Format::Json,
        streams: replicate(
            read_all(&find("network/suricata-verify", &|p| {
                p.ends_with("eve.json")
            }))?,
            2000,
        ),
    });
    inputs.push(Input {
        label: "auditd (OTRF linux, x200)",
        format: Format::Auditd,
        streams: replicate(
            unzip_all(&find(
                "otrf-security-datasets/datasets/atomic/linux",
                &|p| p.ends_with(".zip"),
            ))?,
            200,
        ),
    });
    for (label, format, sample) in [
        (
            "auth.log sample (bundled, x5000)",
            Format::Syslog,
            include_str!("../samples/auth.log"),
        ),
        (
            "CEF sample (bundled, x20000)",
            Format::Cef,
            include_str!("../samples/firewall.cef"),
        ),
    ] {
        let n = if format == Format::Cef { 20_000 } else { 5_000 };
        inputs.push(Input {
            label,
            format,
            streams: vec![(Arc::from(label), sample.repeat(n).into_bytes())],
        });
    }
    for input in &inputs {
        if input.streams.is_empty() {
            bail!(
                "no input found for {} under {}",
                input.label,
                corpora.display()
            );
        }
    }
    Ok(inputs)
}

/// Each EVTX stream's records rendered as Windows event XML, one event after another, as
/// `wevtutil qe /f:xml` writes them.
fn as_event_xml(evtx: &[(Arc<str>, Vec<u8>)]) -> Vec<(Arc<str>, Vec<u8>)> {
    evtx.iter()
        .filter_map(|(name, data)| {
            let mut parser = evtx::EvtxParser::from_buffer(data.clone()).ok()?;
            let mut xml = Vec::new();
            for record in parser.records().flatten() {
                xml.extend_from_slice(record.data.as_bytes());
                xml.push(b'\n');
            }
            Some((Arc::from(format!("{name}.xml")), xml))
        })
        .collect()
}

fn read_all(paths: &[PathBuf]) -> anyhow::Result<Vec<(Arc<str>, Vec<u8>)>> {
    paths
        .iter()
        .map(|p| {
            Ok((
                Arc::from(p.to_string_lossy().as_ref()),
                std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            ))
        })
        .collect()
}

fn gunzip_all(paths: &[PathBuf]) -> anyhow::Result<Vec<(Arc<str>, Vec<u8>)>> {
    let mut out = Vec::new();
    for p in paths {
        let mut data = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(p)?).read_to_end(&mut data)?;
        out.push((Arc::from(p.to_string_lossy().as_ref()), data));
    }
    Ok(out)
}

fn unzip_all(paths: &[PathBuf]) -> anyhow::Result<Vec<(Arc<str>, Vec<u8>)>> {
    let mut out = Vec::new();
    for p in paths {
        let mut archive = zip::ZipArchive::new(std::fs::File::open(p)?)?;
        for i in 0..archive.len() {
            let mut member = archive.by_index(i)?;
            let name = member.name().map(|n| n.to_string()).unwrap_or_default();
            let lower = name.to_ascii_lowercase();
            if name.starts_with("__MACOSX/")
                || !(lower.ends_with(".json") || lower.ends_with(".log"))
            {
                continue;
            }
            let mut data = Vec::new();
            member.read_to_end(&mut data)?;
            out.push((Arc::from(format!("{}!{name}", p.display())), data));
        }
    }
    Ok(out)
}

fn replicate(streams: Vec<(Arc<str>, Vec<u8>)>, times: usize) -> Vec<(Arc<str>, Vec<u8>)> {
    streams
        .into_iter()
        .map(|(name, data)| (name, data.repeat(times)))
        .collect()
}

/// The process's peak resident set size in KiB (Linux), if known.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
