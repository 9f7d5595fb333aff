//! Checkpoints of the open windows: JSON holding, per working correlation, its
//! fingerprint, watermark and groups (least recent first) with their entries. Floats are
//! stored as their bits so that a restore is exact. What the entries determine (counts,
//! distinct maps, percentile multisets) is rebuilt from them; what they do not (a running
//! sum's rounding, the ordered chains) is stored.

use serde::{Deserialize, Serialize};

use super::plan::{Measure, Plan};
use super::window::{Agg, Entry, Group, State, Val};
use super::{Runtime, key_of};

const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    seq: u64,
    evicted: u64,
    late: u64,
    correlations: Vec<CorrelationSnap>,
}

#[derive(Serialize, Deserialize)]
struct CorrelationSnap {
    fingerprint: String,
    now: Option<i64>,
    groups: Vec<GroupSnap>,
}

#[derive(Serialize, Deserialize)]
struct GroupSnap {
    values: Vec<String>,
    max_t: i64,
    touched: u64,
    entries: Vec<EntrySnap>,
    /// Bits of the running sum (`value_sum`, `value_avg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sum: Option<u64>,
    /// Ordered chains (`temporal_ordered`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    starts: Vec<Option<(i64, u64)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    floor: Option<(i64, u64)>,
}

#[derive(Serialize, Deserialize)]
struct EntrySnap {
    t: i64,
    seq: u64,
    mask: u64,
    /// Bits of a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    num: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

pub(super) fn save(plan: &Plan, rt: &Runtime) -> Vec<u8> {
    let correlations = plan
        .actives
        .iter()
        .zip(&rt.states)
        .map(|(active, state)| CorrelationSnap {
            fingerprint: active.fingerprint.clone(),
            now: state.now,
            groups: state.by_recency().map(save_group).collect(),
        })
        .collect();
    let snap = Snapshot {
        version: VERSION,
        seq: rt.seq,
        evicted: rt.evicted,
        late: rt.late,
        correlations,
    };
    serde_json::to_vec(&snap).unwrap_or_default()
}

fn save_group(g: &Group) -> GroupSnap {
    let (sum, starts, floor) = match &g.agg {
        Agg::Sum(s) => (Some(s.to_bits()), Vec::new(), None),
        Agg::Ordered { starts, floor } => (None, starts.clone(), *floor),
        _ => (None, Vec::new(), None),
    };
    GroupSnap {
        values: g.values.clone(),
        max_t: g.max_t,
        touched: g.touched,
        entries: g
            .entries
            .iter()
            .map(|e| EntrySnap {
                t: e.t,
                seq: e.seq,
                mask: e.mask,
                num: match e.val {
                    Val::Num(x) => Some(x.to_bits()),
                    _ => None,
                },
                text: match &e.val {
                    Val::Str(s) => Some(s.to_string()),
                    _ => None,
                },
            })
            .collect(),
        sum,
        starts,
        floor,
    }
}

pub(super) fn load(plan: &Plan, rt: &mut Runtime, data: &[u8]) -> Result<(), String> {
    let snap: Snapshot =
        serde_json::from_slice(data).map_err(|e| format!("not a correlation checkpoint: {e}"))?;
    if snap.version != VERSION {
        return Err(format!(
            "checkpoint version {} is not supported (expected {VERSION})",
            snap.version
        ));
    }
    if snap.correlations.len() != plan.actives.len() {
        return Err(format!(
            "the checkpoint holds {} correlations, the engine runs {}",
            snap.correlations.len(),
            plan.actives.len()
        ));
    }
    let mut states = Vec::with_capacity(plan.actives.len());
    for (active, cs) in plan.actives.iter().zip(snap.correlations) {
        if cs.fingerprint != active.fingerprint {
            return Err(format!(
                "the checkpoint is of other correlations (`{}` where `{}` runs)",
                cs.fingerprint, active.fingerprint
            ));
        }
        let mut state = State::default();
        state.now = cs.now;
        let slots = active.rules.len();
        for gs in cs.groups {
            if gs.values.len() != active.group_names.len() {
                return Err(format!(
                    "a group of `{}` has {} values",
                    active.fingerprint,
                    gs.values.len()
                ));
            }
            let mut g = Group::new(active.measure, slots);
            let (key, _) = key_of(&gs.values);
            g.key = key.into_boxed_str();
            g.values = gs.values;
            g.max_t = gs.max_t;
            g.touched = gs.touched;
            let mut last = None;
            for es in gs.entries {
                let key = (es.t, es.seq);
                let foreign = es.mask.checked_shr(slots as u32).unwrap_or(0) != 0;
                if last.is_some_and(|l| l > key) || es.mask == 0 || foreign || es.seq > snap.seq {
                    return Err("checkpoint entries are out of order or malformed".to_string());
                }
                last = Some(key);
                let val = match (active.measure, es.num, es.text) {
                    (Measure::Distinct | Measure::Rarity, _, Some(s)) => Val::Str(g.intern(&s)),
                    (Measure::Sum | Measure::Avg | Measure::Percentile(_), Some(bits), _) => {
                        Val::Num(f64::from_bits(bits))
                    }
                    (Measure::Count | Measure::Temporal | Measure::Ordered, None, None) => {
                        Val::None
                    }
                    _ => return Err("a checkpoint entry does not fit its correlation".to_string()),
                };
                g.push_restored(Entry {
                    t: es.t,
                    seq: es.seq,
                    mask: es.mask,
                    val,
                });
            }
            match &mut g.agg {
                Agg::Sum(sum) => *sum = gs.sum.map_or(0.0, f64::from_bits),
                Agg::Ordered { starts, floor } => {
                    if gs.starts.len() != slots {
                        return Err("checkpoint chains do not fit their correlation".to_string());
                    }
                    *starts = gs.starts;
                    *floor = gs.floor;
                }
                _ => {}
            }
            if state.holds(&g.key, g.touched) || g.touched > snap.seq {
                return Err("the checkpoint repeats a group".to_string());
            }
            state.add(g);
        }
        states.push(state);
    }
    rt.states = states;
    rt.seq = snap.seq;
    rt.evicted = snap.evicted;
    rt.late = snap.late;
    Ok(())
}
