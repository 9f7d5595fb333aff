//! The generator: plays a scenario for a seed into [`Emitted`] records, hour by hour
//! (background activity per hour, campaign steps at their times), in time order, and
//! writes them to files with the ground-truth labels. The Linux audit events get
//! their serials here, host by host in time order, as each hour is written.
//!
//! Deterministic: every random draw comes from a ChaCha8 stream seeded by the seed and
//! what is being generated (the hour, the step), so the same seed gives byte-identical
//! output and one part's draws never shift another's.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand_chacha::ChaCha8Rng;

use crate::emit::{Emitted, Label, Stream};
use crate::scenario::{Scenario, step_offset};
use crate::world::{World, rng_for};

/// What generation needs at hand: the world, a random source, where records go, and
/// the label records get (None for background).
pub struct Ctx<'a> {
    pub world: &'a mut World,
    pub rng: &'a mut ChaCha8Rng,
    pub out: &'a mut Vec<Emitted>,
    pub label: Option<Label>,
    /// Source of unique ids (Zeek uids, flow ids, ports).
    pub counter: &'a mut u64,
}

impl Ctx<'_> {
    pub fn emit(&mut self, time: i64, stream: Stream, line: String) {
        self.out.push(Emitted {
            time,
            stream,
            line,
            label: self.label.clone(),
        });
    }

    /// A fresh number for ids.
    pub fn next_id(&mut self) -> u64 {
        *self.counter += 1;
        *self.counter
    }

    /// A Zeek connection uid.
    pub fn uid(&mut self) -> String {
        let n = self.next_id();
        crate::net::zeek_uid(n)
    }

    /// An ephemeral source port.
    pub fn ephemeral_port(&mut self) -> u16 {
        use rand::Rng;
        self.rng.random_range(49_152..65_535)
    }
}

/// A step with its time and participants resolved.
#[derive(Clone, Debug)]
pub struct ResolvedStep {
    pub index: usize,
    /// Nanoseconds since the epoch.
    pub time: i64,
    pub target: usize,
    pub source: Option<usize>,
    pub user: Option<usize>,
    pub technique: String,
}

/// A problem generating or writing.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("scenario: {0}")]
    Scenario(String),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Totals of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub events: u64,
    pub malicious: u64,
    pub per_stream: Vec<(String, u64)>,
}

const HOUR: i64 = 3_600_000_000_000;

/// Runs the scenario, handing each hour's records, sorted by time, to `sink`.
pub fn run(
    s: &Scenario,
    seed: u64,
    mut sink: impl FnMut(&[Emitted]) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let start = s
        .start_nanos()
        .ok_or_else(|| GenerateError::Scenario(format!("bad start `{}`", s.start)))?;
    let duration = crate::scenario::parse_duration(&s.duration)
        .ok_or_else(|| GenerateError::Scenario(format!("bad duration `{}`", s.duration)))?;
    let end = start.saturating_add(duration);
    let mut world = World::new(s, seed);
    let mut counter: u64 = seed.rotate_left(20) & 0xffff_ffff;
    // Campaign steps, resolved.
    let mut steps = Vec::new();
    let mut offset = 0i64;
    for (index, step) in s.campaign.steps.iter().enumerate() {
        offset = step_offset(&step.at, offset)
            .ok_or_else(|| GenerateError::Scenario(format!("step {}: bad `at`", step.id)))?;
        steps.push(ResolvedStep {
            index,
            time: start + offset,
            target: world.host(&step.target).unwrap_or(0),
            source: step.source.as_deref().and_then(|h| world.host(h)),
            user: step.user.as_deref().and_then(|u| world.user(u)),
            technique: step
                .technique
                .clone()
                .unwrap_or_else(|| step.action.default_technique().to_string()),
        });
    }
    let mut campaign = crate::attack::CampaignState::default();
    // Attack records wait here until their hour is written.
    let mut pending: Vec<Emitted> = Vec::new();
    let mut next_step = 0usize;
    let mut hour_start = start;
    let mut hour_index: u64 = 0;
    let mut buf: Vec<Emitted> = Vec::new();
    let mut audit_events = BTreeMap::new();
    while hour_start < end {
        let hour_end = (hour_start + HOUR).min(end);
        // Steps starting this hour play now (their records may run past the hour).
        while let Some(r) = steps.get(next_step).filter(|r| r.time < hour_end) {
            let step = &s.campaign.steps[r.index];
            let mut rng = rng_for(seed, 1_000_000 + r.index as u64);
            let mut ctx = Ctx {
                world: &mut world,
                rng: &mut rng,
                out: &mut pending,
                label: Some(Label {
                    step: step.id.clone(),
                    action: step.action.as_str(),
                    technique: r.technique.clone(),
                    stage: step.action.stage(),
                }),
                counter: &mut counter,
            };
            crate::attack::play(&mut ctx, s, step, r, &mut campaign);
            next_step += 1;
        }
        let mut rng = rng_for(seed, 10 + hour_index);
        let mut ctx = Ctx {
            world: &mut world,
            rng: &mut rng,
            out: &mut buf,
            label: None,
            counter: &mut counter,
        };
        crate::background::hour(&mut ctx, s, hour_start, hour_end);
        // Move the attack records of this hour over.
        let mut i = 0;
        while i < pending.len() {
            if pending[i].time < hour_end {
                buf.push(pending.swap_remove(i));
            } else {
                i += 1;
            }
        }
        buf.retain(|e| e.time >= start && e.time < end);
        buf.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.line.cmp(&b.line)));
        audit_serials(&mut world, &mut audit_events, &mut buf);
        sink(&buf)?;
        buf.clear();
        hour_start = hour_end;
        hour_index += 1;
    }
    Ok(())
}

/// Gives the audit events of `records` (in time order) their serials: each host's
/// [`crate::net::AuditClock`] numbers its events in the order they happen, the records
/// of one event (one provisional number) sharing theirs. `last` holds each node's
/// last event (provisional and final serial) from one hour to the next.
fn audit_serials(
    world: &mut World,
    last: &mut BTreeMap<String, (u64, u64)>,
    records: &mut [Emitted],
) {
    for r in records
        .iter_mut()
        .filter(|r| r.stream == Stream::LinuxAudit)
    {
        let time = r.time;
        crate::net::renumber_audit_line(&mut r.line, |node, provisional| {
            if let Some((p, serial)) = last.get(node)
                && *p == provisional
            {
                return *serial;
            }
            let Some(host) = world
                .hosts
                .iter_mut()
                .find(|h| crate::net::audit_node(&h.name) == node)
            else {
                return provisional;
            };
            let serial = host.audit.serial(time);
            last.insert(node.to_string(), (provisional, serial));
            serial
        });
    }
}

/// The organisation's asset inventory beside a run's files.
pub const ASSETS_FILE: &str = "assets.csv";

/// Writes a run to `dir`: one file per stream; `labels.jsonl`, which lists every
/// malicious record (file, line, step, action, technique, stage) and, last, a totals
/// record per file (records not listed are benign); and the asset inventory
/// ([`ASSETS_FILE`]).
pub fn write(s: &Scenario, seed: u64, dir: &Path) -> Result<Summary, GenerateError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| GenerateError::Io {
            path: path.clone(),
            source,
        }
    };
    let mut writers: Vec<Option<BufWriter<File>>> = Stream::ALL.iter().map(|_| None).collect();
    let mut lines = [0u64; Stream::ALL.len()];
    let labels_path = dir.join("labels.jsonl");
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut labels = BufWriter::new(File::create(&labels_path).map_err(io(&labels_path))?);
    let mut summary = Summary::default();
    run(s, seed, |records| {
        for r in records {
            let k = Stream::ALL.iter().position(|x| *x == r.stream).unwrap_or(0);
            let path = dir.join(r.stream.file_name());
            if writers[k].is_none() {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                writers[k] = Some(BufWriter::new(File::create(&path).map_err(io(&path))?));
            }
            if let Some(w) = writers[k].as_mut() {
                w.write_all(r.line.as_bytes()).map_err(io(&path))?;
                w.write_all(b"\n").map_err(io(&path))?;
            }
            lines[k] += 1;
            summary.events += 1;
            if let Some(label) = &r.label {
                summary.malicious += 1;
                let rec = serde_json::json!({
                    "file": r.stream.file_name(),
                    "line": lines[k],
                    "time": crate::emit::iso_millis(r.time),
                    "malicious": true,
                    "step": label.step,
                    "action": label.action,
                    "technique": label.technique,
                    "stage": label.stage,
                });
                serde_json::to_writer(&mut labels, &rec).map_err(|e| GenerateError::Io {
                    path: labels_path.display().to_string(),
                    source: e.into(),
                })?;
                labels.write_all(b"\n").map_err(io(&labels_path))?;
            }
        }
        Ok(())
    })?;
    for (k, w) in writers.iter_mut().enumerate() {
        if let Some(w) = w {
            let path = dir.join(Stream::ALL[k].file_name());
            w.flush().map_err(io(&path))?;
            summary
                .per_stream
                .push((Stream::ALL[k].file_name().to_string(), lines[k]));
            let rec = serde_json::json!({"file": Stream::ALL[k].file_name(), "events": lines[k]});
            serde_json::to_writer(&mut labels, &rec).map_err(|e| GenerateError::Io {
                path: labels_path.display().to_string(),
                source: e.into(),
            })?;
            labels.write_all(b"\n").map_err(io(&labels_path))?;
        }
    }
    labels.flush().map_err(io(&labels_path))?;
    let assets_path = dir.join(ASSETS_FILE);
    std::fs::write(&assets_path, crate::inventory::assets_csv(s)).map_err(io(&assets_path))?;
    Ok(summary)
}
