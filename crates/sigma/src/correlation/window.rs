//! Per-group windows: the time-ordered entries and the aggregates each correlation type
//! keeps up to date as entries come and go, and the per-correlation group table with its
//! recency order.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::plan::Measure;

/// An entry's place in time: its time, then its arrival sequence number.
pub(super) type Key = (i64, u64);

/// The value an entry carries for the types that read a field.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Val {
    None,
    Num(f64),
    Str(Arc<str>),
}

/// One input in a window.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub t: i64,
    pub seq: u64,
    /// The rule positions (of the correlation's `rules`) this input stands for.
    pub mask: u64,
    pub val: Val,
}

impl Entry {
    pub fn key(&self) -> Key {
        (self.t, self.seq)
    }
}

/// What a window keeps beyond its entries.
#[derive(Debug)]
pub(super) enum Agg {
    None,
    /// value → entries holding it (`value_count`, rarity `value_percentile`).
    Distinct(HashMap<Arc<str>, u32>),
    /// Sum of the entries' numbers (`value_sum`, `value_avg`).
    Sum(f64),
    Percentile(TwoHeaps),
    /// `temporal_ordered`: `starts[j]` is the latest start of a chain of entries for the
    /// rule positions `0..=j` in order; `floor` the newest entry that left the window
    /// (chains starting at or before it are gone).
    Ordered {
        starts: Vec<Option<Key>>,
        floor: Option<Key>,
    },
}

/// The window of one group.
#[derive(Debug)]
pub(super) struct Group {
    pub key: Box<str>,
    pub values: Vec<String>,
    /// The newest event time the group has seen: its window ends here.
    pub max_t: i64,
    /// Recency sequence number.
    pub touched: u64,
    /// Sorted by [`Entry::key`].
    pub entries: VecDeque<Entry>,
    /// Entries per rule position.
    pub slot_counts: Vec<u32>,
    slots_seen: u32,
    pub agg: Agg,
}

impl Group {
    pub fn new(measure: Measure, slots: usize) -> Self {
        let agg = match measure {
            Measure::Count | Measure::Temporal => Agg::None,
            Measure::Distinct | Measure::Rarity => Agg::Distinct(HashMap::new()),
            Measure::Sum | Measure::Avg => Agg::Sum(0.0),
            Measure::Percentile(p) => Agg::Percentile(TwoHeaps::new(p)),
            Measure::Ordered => Agg::Ordered {
                starts: vec![None; slots],
                floor: None,
            },
        };
        Group {
            key: Box::from(""),
            values: Vec::new(),
            max_t: i64::MIN,
            touched: 0,
            entries: VecDeque::new(),
            slot_counts: vec![0; slots],
            slots_seen: 0,
            agg,
        }
    }

    /// `s` as a shared string, reusing the copy the distinct map holds.
    pub fn intern(&self, s: &str) -> Arc<str> {
        if let Agg::Distinct(map) = &self.agg
            && let Some((k, _)) = map.get_key_value(s)
        {
            return k.clone();
        }
        Arc::from(s)
    }

    /// Adds an entry at its place in time.
    pub fn insert(&mut self, e: Entry) {
        self.count(&e, true);
        self.add(&e.val);
        let in_order = self.entries.back().is_none_or(|b| b.key() <= e.key());
        if in_order {
            if let Agg::Ordered { starts, .. } = &mut self.agg {
                chain_step(starts, &e);
            }
            self.entries.push_back(e);
        } else {
            let at = self.entries.partition_point(|x| x.key() <= e.key());
            self.entries.insert(at, e);
            self.rechain();
        }
    }

    /// Adds an entry known to be newest, or rebuilding a checkpoint (no chain step).
    pub fn push_restored(&mut self, e: Entry) {
        self.count(&e, true);
        self.add(&e.val);
        self.entries.push_back(e);
    }

    /// Removes the oldest entry.
    pub fn pop_front(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        self.count(&e, false);
        self.remove(&e.val);
        match &mut self.agg {
            Agg::Ordered { floor, .. } => *floor = Some(e.key()),
            Agg::Sum(sum) if self.entries.is_empty() => *sum = 0.0,
            _ => {}
        }
    }

    /// Drops the entries older than `start`.
    pub fn expire(&mut self, start: i64) {
        while self.entries.front().is_some_and(|e| e.t < start) {
            self.pop_front();
        }
    }

    /// Empties the window (after a match).
    pub fn reset(&mut self) {
        self.entries.clear();
        self.slot_counts.iter_mut().for_each(|n| *n = 0);
        self.slots_seen = 0;
        match &mut self.agg {
            Agg::None => {}
            Agg::Distinct(map) => map.clear(),
            Agg::Sum(sum) => *sum = 0.0,
            Agg::Percentile(h) => h.clear(),
            Agg::Ordered { starts, floor } => {
                starts.iter_mut().for_each(|s| *s = None);
                *floor = None;
            }
        }
    }

    /// The measured value of the window starting at `start`; `current` is the value the
    /// newest input carried.
    pub fn value(&self, measure: Measure, start: i64, current: &Val) -> f64 {
        let n = self.entries.len() as f64;
        match (&self.agg, measure) {
            (_, Measure::Count) => n,
            (_, Measure::Temporal) => f64::from(self.slots_seen),
            // NaN (no match) when the current value already left (a late entry the cap
            // dropped at once).
            (Agg::Distinct(map), Measure::Rarity) => match current {
                Val::Str(s) => map
                    .get(s.as_ref())
                    .map_or(f64::NAN, |&k| f64::from(k) * 100.0 / n),
                _ => f64::NAN,
            },
            (Agg::Distinct(map), _) => map.len() as f64,
            (Agg::Sum(sum), Measure::Avg) if n > 0.0 => sum / n,
            (Agg::Sum(sum), _) => *sum,
            (Agg::Percentile(h), _) => h.value().unwrap_or(f64::NAN),
            (Agg::Ordered { starts, floor }, _) => starts
                .iter()
                .take_while(|s| s.is_some_and(|s| s.0 >= start && floor.is_none_or(|f| s > f)))
                .count() as f64,
            (Agg::None, _) => f64::NAN,
        }
    }

    fn count(&mut self, e: &Entry, add: bool) {
        let mut mask = e.mask;
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let Some(n) = self.slot_counts.get_mut(j) else {
                continue;
            };
            if add {
                if *n == 0 {
                    self.slots_seen += 1;
                }
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.slots_seen = self.slots_seen.saturating_sub(1);
                }
            }
        }
    }

    fn add(&mut self, val: &Val) {
        match (&mut self.agg, val) {
            (Agg::Distinct(map), Val::Str(s)) => *map.entry(s.clone()).or_insert(0) += 1,
            (Agg::Sum(sum), Val::Num(x)) => *sum += x,
            (Agg::Percentile(h), Val::Num(x)) => h.insert(*x),
            _ => {}
        }
    }

    fn remove(&mut self, val: &Val) {
        match (&mut self.agg, val) {
            (Agg::Distinct(map), Val::Str(s)) => {
                if let Some(n) = map.get_mut(s.as_ref()) {
                    *n -= 1;
                    if *n == 0 {
                        map.remove(s.as_ref());
                    }
                }
            }
            (Agg::Sum(sum), Val::Num(x)) => *sum -= x,
            (Agg::Percentile(h), Val::Num(x)) => h.remove(*x),
            _ => {}
        }
    }

    /// Rebuilds the ordered chains from the entries (after an out-of-order insert).
    fn rechain(&mut self) {
        if let Agg::Ordered { starts, floor } = &mut self.agg {
            starts.iter_mut().for_each(|s| *s = None);
            *floor = None;
            for e in &self.entries {
                chain_step(starts, e);
            }
        }
    }
}

/// Extends the chains with the newest entry `e`. Positions are visited from the last so
/// that one entry never fills two consecutive positions of one chain.
fn chain_step(starts: &mut [Option<Key>], e: &Entry) {
    for j in (0..starts.len()).rev() {
        if e.mask & (1 << j) == 0 {
            continue;
        }
        let from = if j == 0 { Some(e.key()) } else { starts[j - 1] };
        if from > starts[j] {
            starts[j] = from;
        }
    }
}

/// A multiset of floats with O(log n) insert, remove, min and max.
#[derive(Debug, Default)]
pub(super) struct Multiset {
    map: BTreeMap<u64, u32>,
    len: usize,
}

/// Maps a float to an integer of the same order (`f64::total_cmp`).
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn from_order_key(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

impl Multiset {
    fn insert_key(&mut self, k: u64) {
        *self.map.entry(k).or_insert(0) += 1;
        self.len += 1;
    }

    fn remove_key(&mut self, k: u64) -> bool {
        let Some(n) = self.map.get_mut(&k) else {
            return false;
        };
        *n -= 1;
        if *n == 0 {
            self.map.remove(&k);
        }
        self.len -= 1;
        true
    }

    fn max(&self) -> Option<u64> {
        self.map.last_key_value().map(|(k, _)| *k)
    }

    fn min(&self) -> Option<u64> {
        self.map.first_key_value().map(|(k, _)| *k)
    }

    fn clear(&mut self) {
        self.map.clear();
        self.len = 0;
    }
}

/// The `p`th percentile (nearest rank) of a changing multiset: `lower` holds the
/// `ceil(p/100 · n)` smallest values (at least one), `upper` the rest, so the percentile
/// is the largest of `lower`.
#[derive(Debug)]
pub(super) struct TwoHeaps {
    p: f64,
    lower: Multiset,
    upper: Multiset,
}

impl TwoHeaps {
    pub fn new(p: f64) -> Self {
        TwoHeaps {
            p,
            lower: Multiset::default(),
            upper: Multiset::default(),
        }
    }

    fn target(&self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let rank = (self.p * n as f64 / 100.0).ceil();
        (rank.max(1.0) as usize).min(n)
    }

    pub fn insert(&mut self, x: f64) {
        let k = order_key(x);
        if self.lower.max().is_some_and(|m| k <= m) {
            self.lower.insert_key(k);
        } else {
            self.upper.insert_key(k);
        }
        self.rebalance();
    }

    pub fn remove(&mut self, x: f64) {
        let k = order_key(x);
        if !self.lower.remove_key(k) {
            self.upper.remove_key(k);
        }
        self.rebalance();
    }

    fn rebalance(&mut self) {
        let target = self.target(self.lower.len + self.upper.len);
        while self.lower.len > target {
            let Some(k) = self.lower.max() else { break };
            self.lower.remove_key(k);
            self.upper.insert_key(k);
        }
        while self.lower.len < target {
            let Some(k) = self.upper.min() else { break };
            self.upper.remove_key(k);
            self.lower.insert_key(k);
        }
    }

    pub fn value(&self) -> Option<f64> {
        self.lower.max().map(from_order_key)
    }

    fn clear(&mut self) {
        self.lower.clear();
        self.upper.clear();
    }
}

/// The groups of one correlation.
#[derive(Debug, Default)]
pub(super) struct State {
    /// The correlation's watermark: the newest event time it has seen.
    pub now: Option<i64>,
    groups: Vec<Option<Group>>,
    free: Vec<usize>,
    index: HashMap<Box<str>, usize>,
    /// Recency sequence number → group, least recent first.
    lru: BTreeMap<u64, usize>,
}

impl State {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Drops, least recent first, groups whose newest time is before `dead_before`: no
    /// accepted event can open a window that reaches them. Not an eviction.
    pub fn sweep(&mut self, dead_before: i64) {
        while let Some((_, &gi)) = self.lru.first_key_value() {
            if self.get_mut(gi).max_t >= dead_before {
                break;
            }
            self.remove(gi);
        }
    }

    fn remove(&mut self, gi: usize) {
        if let Some(g) = self.groups.get_mut(gi).and_then(Option::take) {
            self.index.remove(&g.key);
            self.lru.remove(&g.touched);
            self.free.push(gi);
        }
    }

    /// The group of `key` (values at `spans`), marked most recent as `touched`; created
    /// by `make` when absent, evicting least recent groups to stay within `max_groups`.
    /// Returns the group's slot and the number of groups evicted.
    pub fn group(
        &mut self,
        key: &str,
        spans: &[(usize, usize)],
        touched: u64,
        max_groups: usize,
        make: impl FnOnce() -> Group,
    ) -> (usize, u64) {
        if let Some(&gi) = self.index.get(key) {
            let g = self.groups[gi].as_mut().expect("indexed groups exist");
            self.lru.remove(&g.touched);
            g.touched = touched;
            self.lru.insert(touched, gi);
            return (gi, 0);
        }
        let mut evicted = 0;
        while self.index.len() >= max_groups {
            let Some((_, &gi)) = self.lru.first_key_value() else {
                break;
            };
            self.remove(gi);
            evicted += 1;
        }
        let mut g = make();
        g.key = Box::from(key);
        g.values = spans.iter().map(|&(a, b)| key[a..b].to_string()).collect();
        g.touched = touched;
        (self.add(g), evicted)
    }

    /// Adds a group (new, or restored from a checkpoint).
    pub fn add(&mut self, g: Group) -> usize {
        let (key, touched) = (g.key.clone(), g.touched);
        let gi = match self.free.pop() {
            Some(gi) => {
                self.groups[gi] = Some(g);
                gi
            }
            None => {
                self.groups.push(Some(g));
                self.groups.len() - 1
            }
        };
        self.index.insert(key, gi);
        self.lru.insert(touched, gi);
        gi
    }

    /// Whether a group has this key or recency number.
    pub fn holds(&self, key: &str, touched: u64) -> bool {
        self.index.contains_key(key) || self.lru.contains_key(&touched)
    }

    pub fn get_mut(&mut self, gi: usize) -> &mut Group {
        self.groups[gi].as_mut().expect("live group slot")
    }

    /// The groups, least recently seen first.
    pub fn by_recency(&self) -> impl Iterator<Item = &Group> {
        self.lru.values().filter_map(|&gi| self.groups[gi].as_ref())
    }
}
