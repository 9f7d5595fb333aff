//! Tests of the campaign steps: each action played on a world built from a shipped
//! scenario leaves the records of its technique with the fields the real sensors
//! write; every record is labelled and no earlier than its step; a seed gives the same
//! records every time. This module holds the harness and the campaign-wide checks;
//! `windows` and `web` the checks of each action.

mod web;
mod windows;

use std::collections::BTreeMap;

use serde_json::Value;

use super::{CampaignState, base64, encoded_command, play};
use crate::emit::{Emitted, Label, Stream};
use crate::generate::{Ctx, ResolvedStep};
use crate::scenario::{Action, Scenario, Step, step_offset};
use crate::world::{World, rng_for};

pub(super) const PHISHING: &str = "phishing-to-file-server-theft.yml";
pub(super) const WEB: &str = "web-sqli-customer-theft.yml";

pub(super) fn scenario(file: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    Scenario::from_yaml(&path.display().to_string(), &text).unwrap()
}

/// A played campaign: its records, each step's start, the final state.
pub(super) struct Played {
    pub(super) records: Vec<Emitted>,
    pub(super) starts: BTreeMap<String, i64>,
    pub(super) state: CampaignState,
    pub(super) world: World,
}

pub(super) fn play_all(s: &Scenario, seed: u64) -> Played {
    let start = s.start_nanos().unwrap();
    let mut world = World::new(s, seed);
    let mut counter = 7u64;
    let mut state = CampaignState::default();
    let mut records = Vec::new();
    let mut starts = BTreeMap::new();
    let mut offset = 0;
    for (index, step) in s.campaign.steps.iter().enumerate() {
        offset = step_offset(&step.at, offset).unwrap();
        let r = ResolvedStep {
            index,
            time: start + offset,
            target: world.host(&step.target).unwrap(),
            source: step.source.as_deref().and_then(|h| world.host(h)),
            user: step.user.as_deref().and_then(|u| world.user(u)),
            technique: step.action.default_technique().to_string(),
        };
        starts.insert(step.id.clone(), r.time);
        let mut rng = rng_for(seed, 1_000_000 + index as u64);
        let mut ctx = Ctx {
            world: &mut world,
            rng: &mut rng,
            out: &mut records,
            label: Some(Label {
                step: step.id.clone(),
                action: step.action.as_str(),
                technique: r.technique.clone(),
                stage: step.action.stage(),
            }),
            counter: &mut counter,
        };
        play(&mut ctx, s, step, &r, &mut state);
    }
    Played {
        records,
        starts,
        state,
        world,
    }
}

pub(super) fn step(id: &str, action: Action, target: &str) -> Step {
    Step {
        id: id.to_string(),
        action,
        technique: None,
        at: "+10m".to_string(),
        target: target.to_string(),
        user: None,
        source: None,
        params: BTreeMap::new(),
    }
}

pub(super) fn with(
    mut st: Step,
    user: Option<&str>,
    source: Option<&str>,
    params: &[(&str, &str)],
) -> Step {
    st.user = user.map(str::to_string);
    st.source = source.map(str::to_string);
    for (k, v) in params {
        st.params.insert(k.to_string(), v.to_string());
    }
    st
}

impl Played {
    pub(super) fn of(&self, step: &str, stream: Stream) -> Vec<&Emitted> {
        self.records
            .iter()
            .filter(|r| r.stream == stream && r.label.as_ref().is_some_and(|l| l.step == step))
            .collect()
    }

    pub(super) fn json(&self, step: &str, stream: Stream) -> Vec<Value> {
        self.of(step, stream)
            .into_iter()
            .map(|r| serde_json::from_str(&r.line).unwrap())
            .collect()
    }

    /// Windows events of a step with an event id.
    pub(super) fn events(&self, step: &str, stream: Stream, id: u64) -> Vec<Value> {
        self.json(step, stream)
            .into_iter()
            .filter(|v| v["EventID"] == id)
            .collect()
    }

    pub(super) fn lines(&self, step: &str, stream: Stream) -> Vec<&str> {
        self.of(step, stream)
            .into_iter()
            .map(|r| r.line.as_str())
            .collect()
    }
}

pub(super) fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_string()
}

/// The Sysmon 1 of a process, by image suffix.
pub(super) fn created<'a>(events: &'a [Value], image_suffix: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|v| {
            v["EventID"] == 1
                && s(v, "Image")
                    .to_ascii_lowercase()
                    .ends_with(&image_suffix.to_ascii_lowercase())
        })
        .collect()
}

#[test]
fn every_record_is_labelled_in_time_and_deterministic() {
    for file in [PHISHING, WEB] {
        let sc = scenario(file);
        let a = play_all(&sc, 42);
        assert!(a.records.len() > 1_000, "{file}: {}", a.records.len());
        for r in &a.records {
            let label = r.label.as_ref().unwrap();
            assert!(
                r.time >= a.starts[&label.step],
                "{file}: {} early: {}",
                label.step,
                r.line
            );
            if matches!(
                r.stream,
                Stream::Sysmon
                    | Stream::Security
                    | Stream::System
                    | Stream::ZeekConn
                    | Stream::ZeekDns
                    | Stream::ZeekHttp
                    | Stream::Suricata
            ) {
                let v: Value = serde_json::from_str(&r.line).unwrap();
                assert!(v.is_object());
            }
        }
        for st in &sc.campaign.steps {
            assert!(
                a.records
                    .iter()
                    .any(|r| r.label.as_ref().is_some_and(|l| l.step == st.id)),
                "{file}: step {} left nothing",
                st.id
            );
        }
        let b = play_all(&sc, 42);
        assert_eq!(a.records, b.records, "{file}: same seed, same records");
        let c = play_all(&sc, 43);
        assert_ne!(a.records, c.records, "{file}: another seed, other records");
    }
}

pub(super) fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

#[test]
fn encodings() {
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"M"), "TQ==");
    assert_eq!(encoded_command("ls"), "bABzAA==");
    assert_eq!(decode_base64(&base64(b"hello world")), b"hello world");
    assert_eq!(super::url_encode("1 AND 2=2-- -"), "1%20AND%202%3D2--%20-");
}

/// Every action on every host, with no parameters and with nonsense ones, never
/// panics and stays labelled and in time.
#[test]
fn any_action_on_any_host_is_safe() {
    let actions = [
        Action::PortScan,
        Action::WebScan,
        Action::PhishingAttachment,
        Action::SqlInjection,
        Action::PathTraversal,
        Action::Log4Shell,
        Action::ScheduledTask,
        Action::ServiceInstall,
        Action::RunKey,
        Action::Beacon,
        Action::LsassDump,
        Action::BruteForce,
        Action::LateralSmb,
        Action::LateralWmi,
        Action::LateralRdp,
        Action::Collect,
        Action::Exfiltrate,
        Action::ClearLogs,
        Action::DeleteFiles,
    ];
    let mut sc = scenario(WEB);
    sc.duration = "30d".to_string();
    let hosts: Vec<String> = ["WEB01", "PC-01", "DC1"]
        .iter()
        .map(|h| h.to_string())
        .collect();
    let mut steps = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        for (j, h) in hosts.iter().enumerate() {
            let mut st = step(&format!("s{i}-{j}"), *action, h);
            st.at = "+1m".to_string();
            if (i + j) % 2 == 0 {
                st.user = Some("akaede".to_string());
                st.source = Some("PC-02".to_string());
            }
            let nasty = [
                "-1x",
                "NaN",
                "18446744073709551615",
                "1e300",
                "100000d",
                "0",
                "",
            ];
            let keys = [
                "for",
                "interval",
                "bytes",
                "attempts",
                "ports",
                "requests",
                "files",
                "every",
                "jitter",
                "rate",
                "rows",
                "dump_bytes",
                "payload_bytes",
                "session",
                "minutes",
                "dns_ttl",
                "runs",
                "check_ins",
                "logs",
                "tool",
                "open",
            ];
            for (k, key) in keys.iter().enumerate() {
                let value = nasty[(i + j + k) % nasty.len()];
                st.params.insert(key.to_string(), value.to_string());
            }
            steps.push(st);
        }
    }
    sc.campaign.steps = steps;
    let p = play_all(&sc, 11);
    for r in &p.records {
        let label = r.label.as_ref().unwrap();
        assert!(r.time >= p.starts[&label.step], "{}", r.line);
    }
}
