//! The in-memory indicator store: every indicator once, with every source's
//! attribution, and the indexes the matcher reads.
//!
//! An indicator is its kind and normalised value; adding the same one again merges the
//! new attribution into it (a source re-sending the same reference replaces its earlier
//! attribution instead of adding a second). Matching (`lookup`, `scan_text`) takes
//! `&self` and the time, so one `Intel` can be shared by many threads; sightings are
//! counted with atomics for the same reason (`record_sighting` takes `&self` too).
//!
//! Layout, built so that a million indicators fit in well under 200 bytes each:
//! - one 64-byte `Record` per indicator in 16,384-record chunks: the value's place in
//!   the string arena, its first attribution inline, first/last seen, sightings, kind;
//! - further attributions in `extra`, 32 bytes each, chained from the record;
//! - what feeds share (source, confidence, TLP, tags, ATT&CK ids) interned once as a
//!   `Profile`; an attribution keeps its profile number, its own validity bounds (they
//!   are often per indicator) and its reference and description as one arena string;
//! - values in one chunked arena (1 MiB chunks), notes in another;
//! - indexes: IPv4 and IPv6 addresses in integer-keyed hash maps, every other kind in a
//!   `HashTable` of (indicator id, value's place in the arena) hashed and compared
//!   through the arena, so no key is stored twice; networks in `cidr`'s segment index;
//!   a bitset of the indicators valid at all times, so most matches need no look at the
//!   record.
//!
//! Ids are never reused: an indicator dropped by [`Intel::remove_expired`] leaves its
//! record behind as a tombstone, and the arenas are compacted once half of them is dead.

mod arena;
mod cidr;
mod lookup;
mod text_scan;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use foldhash::fast::RandomState;
use hashbrown::{HashMap, HashTable};
use serde::Serialize;
use watchfloor_event::Timestamp;

use crate::model::{Attribution, Kind, NewIndicator, NormalizeError, Tlp, normalize};
use arena::{Arena, Chunked, Span};
use cidr::{CidrSet, Net};

pub use lookup::Match;

/// An indicator's number in its [`Intel`]; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IndicatorId(pub u32);

impl fmt::Display for IndicatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ind-{}", self.0)
    }
}

/// What [`Intel::add`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// A new indicator.
    New(IndicatorId),
    /// The indicator was known: the attribution was added to it, or replaced the one
    /// from the same source with the same reference.
    Merged(IndicatorId),
}

impl Added {
    pub fn id(self) -> IndicatorId {
        match self {
            Added::New(id) | Added::Merged(id) => id,
        }
    }
}

const NONE: u32 = u32::MAX;
const NO_START: i64 = i64::MIN;
const NO_END: i64 = i64::MAX;

/// Which string table holds a kind (IPv4 and IPv6 have integer maps instead).
const fn table_of(kind: Kind) -> usize {
    match kind {
        Kind::Cidr => 0,
        Kind::Domain => 1,
        Kind::Url => 2,
        Kind::Email => 3,
        Kind::Md5 => 4,
        Kind::Sha1 => 5,
        Kind::Sha256 => 6,
        Kind::UserAgent => 7,
        Kind::Ja3 => 8,
        Kind::Ipv4 | Kind::Ipv6 => usize::MAX,
    }
}
const TABLES: usize = 9;

/// What a feed says of many indicators at once.
#[derive(Debug)]
struct Profile {
    source: Box<str>,
    confidence: u8,
    tlp: Tlp,
    tags: Box<[Box<str>]>,
    attack: Box<[Box<str>]>,
}

impl Profile {
    fn heap_bytes(&self) -> usize {
        let strs = |v: &[Box<str>]| v.iter().map(|s| s.len()).sum::<usize>();
        self.source.len()
            + size_of::<Box<str>>() * (self.tags.len() + self.attack.len())
            + strs(&self.tags)
            + strs(&self.attack)
    }

    fn same(&self, a: &Attribution) -> bool {
        *self.source == *a.source
            && self.confidence == a.confidence
            && self.tlp == a.tlp
            && same_strs(&self.tags, &a.tags)
            && same_strs(&self.attack, &a.attack)
    }
}

fn same_strs(a: &[Box<str>], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| **x == **y)
}

fn profile_hash<S: AsRef<str>>(
    state: &RandomState,
    source: &str,
    confidence: u8,
    tlp: Tlp,
    tags: &[S],
    attack: &[S],
) -> u64 {
    let mut h = state.build_hasher();
    source.hash(&mut h);
    confidence.hash(&mut h);
    tlp.hash(&mut h);
    for list in [tags, attack] {
        h.write_usize(list.len());
        for s in list {
            s.as_ref().hash(&mut h);
        }
    }
    h.finish()
}

/// One source's attribution of one indicator.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Nanoseconds; `NO_START` / `NO_END` when unbounded.
    valid_from: i64,
    valid_until: i64,
    /// Reference and description, encoded by [`encode_note`].
    note: Span,
    profile: u32,
    /// The next attribution of the same indicator in `extra`, or `NONE`.
    next: u32,
}

impl Slot {
    #[inline]
    fn is_valid_at(&self, now: i64) -> bool {
        self.valid_from <= now && (self.valid_until == NO_END || now < self.valid_until)
    }

    fn is_unbounded(&self) -> bool {
        self.valid_from == NO_START && self.valid_until == NO_END
    }

    fn has_ended(&self, now: i64) -> bool {
        self.valid_until != NO_END && self.valid_until <= now
    }
}

/// Reference and description as one string: `r<len>:<reference>` if there is a
/// reference, then `d<description>` if there is a description.
fn encode_note(a: &Attribution) -> String {
    let mut s = String::new();
    if let Some(r) = &a.reference {
        s.push('r');
        s.push_str(&r.len().to_string());
        s.push(':');
        s.push_str(r);
    }
    if let Some(d) = &a.description {
        s.push('d');
        s.push_str(d);
    }
    s
}

fn decode_note(s: &str) -> (Option<&str>, Option<&str>) {
    let mut rest = s;
    let mut reference = None;
    if let Some(r) = rest.strip_prefix('r')
        && let Some((len, body)) = r.split_once(':')
        && let Ok(len) = len.parse::<usize>()
        && len <= body.len()
        && body.is_char_boundary(len)
    {
        reference = Some(&body[..len]);
        rest = &body[len..];
    }
    (reference, rest.strip_prefix('d'))
}

/// An entry of a string index: the indicator and where its value is, so comparing a
/// candidate reads the arena directly.
#[derive(Clone, Copy, Debug)]
struct Entry {
    id: u32,
    value: Span,
}

/// One indicator. 64 bytes.
struct Record {
    value: Span,
    first: Slot,
    first_seen: i64,
    last_seen: AtomicI64,
    sightings: AtomicU32,
    kind: Kind,
    removed: bool,
}

/// Indicators with their attributions, indexed for matching. See the module doc.
pub struct Intel {
    records: Chunked<Record>,
    live: usize,
    extra: Vec<Slot>,
    free_extra: Vec<u32>,
    /// Normalised values; what lookups compare against.
    arena: Arena,
    /// Attribution notes (reference and description), kept apart so the values that
    /// lookups read lie closer together.
    notes: Arena,
    /// Arena bytes no longer referenced (replaced notes, removed indicators).
    dead_bytes: usize,
    profiles: Vec<Profile>,
    profile_index: HashTable<u32>,
    ipv4: HashMap<u32, u32, RandomState>,
    ipv6: HashMap<u128, u32, RandomState>,
    strings: [HashTable<Entry>; TABLES],
    /// Bit `id` is set when some attribution of indicator `id` has no validity bounds,
    /// so a match needs no look at its record to know it applies.
    always: Vec<u64>,
    cidr4: CidrSet<u32>,
    cidr6: CidrSet<u128>,
    /// Bit `n` is set when some domain indicator has `n` labels (bit 63: 63 or more),
    /// so the suffix walk skips suffixes no indicator can equal.
    domain_labels: u64,
    hasher: RandomState,
}

impl Default for Intel {
    fn default() -> Self {
        Intel {
            records: Chunked::default(),
            live: 0,
            extra: Vec::new(),
            free_extra: Vec::new(),
            arena: Arena::default(),
            notes: Arena::default(),
            dead_bytes: 0,
            profiles: Vec::new(),
            profile_index: HashTable::new(),
            ipv4: HashMap::default(),
            ipv6: HashMap::default(),
            strings: Default::default(),
            always: Vec::new(),
            cidr4: CidrSet::default(),
            cidr6: CidrSet::default(),
            domain_labels: 0,
            hasher: RandomState::default(),
        }
    }
}

impl fmt::Debug for Intel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Intel")
            .field("indicators", &self.live)
            .field("profiles", &self.profiles.len())
            .finish_non_exhaustive()
    }
}

fn full(kind: Kind) -> NormalizeError {
    NormalizeError {
        kind,
        reason: "the indicator store is full (4 GiB of text or 4 billion indicators)",
    }
}

fn label_bit(labels: usize) -> u64 {
    1 << labels.min(63)
}

impl Intel {
    /// Adds one source's word on an indicator, merging it into the indicator if the
    /// same kind and normalised value is already known. `now` is when it was received:
    /// the first time sets `first_seen`, every time moves `last_seen` forward.
    pub fn add(&mut self, new: NewIndicator, now: Timestamp) -> Result<Added, NormalizeError> {
        let NewIndicator {
            kind,
            value,
            attribution,
        } = new;
        let value = normalize(kind, &value)?;
        if let Some(id) = self.find_normalized(kind, &value) {
            self.merge(id, &attribution, now.0).ok_or(full(kind))?;
            return Ok(Added::Merged(IndicatorId(id)));
        }
        let slot = self.new_slot(&attribution).ok_or(full(kind))?;
        let span = self.arena.push(&value).ok_or(full(kind))?;
        let id = self
            .records
            .push(Record {
                value: span,
                first: slot,
                first_seen: now.0,
                last_seen: AtomicI64::new(now.0),
                sightings: AtomicU32::new(0),
                kind,
                removed: false,
            })
            .ok_or(full(kind))?;
        self.set_always(id, slot.is_unbounded());
        self.index(id, kind, &value);
        self.live += 1;
        Ok(Added::New(IndicatorId(id)))
    }

    /// How many indicators the store holds.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn get(&self, id: IndicatorId) -> Option<IndicatorView<'_>> {
        let record = self.records.get(id.0).filter(|r| !r.removed)?;
        Some(IndicatorView {
            id,
            kind: record.kind,
            value: self.arena.str(record.value),
            first_seen: Timestamp(record.first_seen),
            last_seen: Timestamp(record.last_seen.load(Ordering::Relaxed)),
            sightings: record.sightings.load(Ordering::Relaxed),
            intel: self,
            first: record.first,
        })
    }

    /// Every indicator, in the order they were first added.
    pub fn iter(&self) -> impl Iterator<Item = IndicatorView<'_>> {
        (0..self.records.len()).filter_map(|i| self.get(IndicatorId(i)))
    }

    /// The indicator of this kind and value (normalised first), whatever its validity.
    pub fn find(&self, kind: Kind, value: &str) -> Option<IndicatorId> {
        let value = normalize(kind, value).ok()?;
        self.find_normalized(kind, &value).map(IndicatorId)
    }

    /// Counts one sighting of `id` at `at`: bumps its sightings and moves its
    /// `last_seen` forward. Takes `&self` (atomics) so matching threads can record
    /// what they find without a lock. Returns false for an unknown id.
    pub fn record_sighting(&self, id: IndicatorId, at: Timestamp) -> bool {
        let Some(record) = self.records.get(id.0).filter(|r| !r.removed) else {
            return false;
        };
        // Saturates instead of wrapping; an `Err` only means it is already at the top.
        let _ = record
            .sightings
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1));
        record.last_seen.fetch_max(at.0, Ordering::Relaxed);
        true
    }

    /// Drops every indicator all of whose attributions ended at or before `now`
    /// (indicators that are only not yet valid stay). Returns how many went.
    pub fn remove_expired(&mut self, now: Timestamp) -> usize {
        let now = now.0;
        let mut gone = Vec::new();
        for id in 0..self.records.len() {
            let Some(r) = self.records.get(id) else { break };
            if !r.removed && self.slots(r).all(|s| s.has_ended(now)) {
                gone.push(id);
            }
        }
        for &id in &gone {
            self.unindex(id);
            self.set_always(id, false);
            let Some(r) = self.records.get_mut(id) else {
                continue;
            };
            r.removed = true;
            self.dead_bytes += r.value.len as usize + r.first.note.len as usize;
            let mut next = r.first.next;
            r.value = Span::EMPTY;
            r.first.note = Span::EMPTY;
            r.first.next = NONE;
            while next != NONE {
                let slot = &mut self.extra[next as usize];
                self.dead_bytes += slot.note.len as usize;
                self.free_extra.push(next);
                let after = slot.next;
                *slot = FREE_SLOT;
                next = after;
            }
            self.live -= 1;
        }
        if !gone.is_empty() {
            let records = &self.records;
            let alive = |id: u32| records.get(id).is_some_and(|r| !r.removed);
            self.cidr4.retain(alive);
            self.cidr6.retain(alive);
            if self.dead_bytes * 2 > self.arena.used() + self.notes.used() {
                self.compact();
            }
        }
        gone.len()
    }

    /// Builds the network indexes now rather than on the first lookup after a change
    /// (the first lookup would otherwise pay for it).
    pub fn prepare(&self) {
        self.cidr4.prepare();
        self.cidr6.prepare();
    }

    /// Counts and memory. `now` decides which indicators count as expired.
    pub fn stats(&self, now: Timestamp) -> IntelStats {
        let mut stats = IntelStats {
            indicators: self.live,
            profiles: self.profiles.len(),
            ..IntelStats::default()
        };
        for r in self.records.iter().filter(|r| !r.removed) {
            *stats.by_kind.entry(r.kind).or_default() += 1;
            let mut ended = true;
            let mut active = false;
            for slot in self.slots(r) {
                stats.attributions += 1;
                *stats
                    .attributions_by_tlp
                    .entry(self.profiles[slot.profile as usize].tlp)
                    .or_default() += 1;
                ended &= slot.has_ended(now.0);
                active |= slot.is_valid_at(now.0);
            }
            stats.expired += usize::from(ended);
            stats.inactive += usize::from(!active);
        }
        stats.memory = self.memory();
        stats
    }

    fn memory(&self) -> MemoryUse {
        let records = self.records.allocated();
        let attributions = self.extra.capacity() * size_of::<Slot>()
            + self.free_extra.capacity() * size_of::<u32>();
        let strings = self.arena.allocated() + self.notes.allocated();
        let profiles = self.profiles.capacity() * size_of::<Profile>()
            + self.profiles.iter().map(Profile::heap_bytes).sum::<usize>()
            + self.profile_index.allocation_size();
        let indexes = self.ipv4.allocation_size()
            + self.ipv6.allocation_size()
            + self
                .strings
                .iter()
                .map(HashTable::allocation_size)
                .sum::<usize>()
            + self.cidr4.allocated()
            + self.cidr6.allocated()
            + self.always.capacity() * size_of::<u64>();
        let fixed = size_of::<Intel>();
        MemoryUse {
            records,
            attributions,
            strings,
            dead_string_bytes: self.dead_bytes,
            profiles,
            indexes,
            total: records + attributions + strings + profiles + indexes + fixed,
        }
    }

    // ---- internals ----

    fn record(&self, id: u32) -> &Record {
        self.records
            .get(id)
            .expect("indexes only hold ids of stored records")
    }

    fn set_always(&mut self, id: u32, on: bool) {
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if word >= self.always.len() {
            if !on {
                return;
            }
            self.always.resize(word + 1, 0);
        }
        if on {
            self.always[word] |= bit;
        } else {
            self.always[word] &= !bit;
        }
    }

    /// Whether indicator `id` has an attribution without validity bounds.
    #[inline]
    fn is_always(&self, id: u32) -> bool {
        self.always
            .get((id / 64) as usize)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Whether some attribution of the record applies at `now`.
    #[inline]
    fn is_live(&self, r: &Record, now: i64) -> bool {
        if r.first.is_valid_at(now) {
            return true;
        }
        let mut next = r.first.next;
        while next != NONE {
            let slot = &self.extra[next as usize];
            if slot.is_valid_at(now) {
                return true;
            }
            next = slot.next;
        }
        false
    }

    fn slots<'a>(&'a self, r: &'a Record) -> impl Iterator<Item = &'a Slot> + 'a {
        let mut cur = Some(&r.first);
        std::iter::from_fn(move || {
            let slot = cur?;
            cur = (slot.next != NONE).then(|| &self.extra[slot.next as usize]);
            Some(slot)
        })
    }

    /// Exact lookup of a value in a string table (the value already normalised).
    #[inline]
    fn probe(&self, kind: Kind, key: &[u8]) -> Option<u32> {
        let table = &self.strings[table_of(kind)];
        if table.is_empty() {
            return None;
        }
        let hash = self.hasher.hash_one(key);
        let arena = &self.arena;
        table
            .find(hash, |e| e.value.len as usize == key.len() && arena.bytes(e.value) == key)
            .map(|e| e.id)
    }

    fn find_normalized(&self, kind: Kind, value: &str) -> Option<u32> {
        match kind {
            Kind::Ipv4 => {
                let a: Ipv4Addr = value.parse().ok()?;
                self.ipv4.get(&u32::from(a)).copied()
            }
            Kind::Ipv6 => {
                let a: Ipv6Addr = value.parse().ok()?;
                self.ipv6.get(&u128::from(a)).copied()
            }
            _ => self.probe(kind, value.as_bytes()),
        }
    }

    fn intern_profile(&mut self, a: &Attribution) -> u32 {
        let hash = profile_hash(
            &self.hasher,
            &a.source,
            a.confidence,
            a.tlp,
            &a.tags,
            &a.attack,
        );
        let profiles = &self.profiles;
        if let Some(&i) = self
            .profile_index
            .find(hash, |&i| profiles[i as usize].same(a))
        {
            return i;
        }
        let boxed = |v: &[String]| v.iter().map(|s| s.as_str().into()).collect();
        let i = self.profiles.len() as u32;
        self.profiles.push(Profile {
            source: a.source.as_str().into(),
            confidence: a.confidence,
            tlp: a.tlp,
            tags: boxed(&a.tags),
            attack: boxed(&a.attack),
        });
        let (profiles, hasher) = (&self.profiles, &self.hasher);
        self.profile_index.insert_unique(hash, i, |&j| {
            let p = &profiles[j as usize];
            profile_hash(hasher, &p.source, p.confidence, p.tlp, &p.tags, &p.attack)
        });
        i
    }

    fn new_slot(&mut self, a: &Attribution) -> Option<Slot> {
        let profile = self.intern_profile(a);
        let note = self.notes.push(&encode_note(a))?;
        Some(Slot {
            valid_from: a.valid_from.map_or(NO_START, |t| t.0),
            valid_until: a.valid_until.map_or(NO_END, |t| t.0),
            note,
            profile,
            next: NONE,
        })
    }

    /// Folds `a` into indicator `id`: replaces the attribution with the same source and
    /// reference, or appends it. `None` when the store is full.
    fn merge(&mut self, id: u32, a: &Attribution, now: i64) -> Option<()> {
        // Find the attribution from the same source with the same reference.
        let record = self.record(id);
        record.last_seen.fetch_max(now, Ordering::Relaxed);
        // `at`: the slot looked at, NONE standing for the record's first.
        let mut at = NONE;
        let mut slot = record.first;
        let same = loop {
            let profile = &self.profiles[slot.profile as usize];
            let (reference, _) = decode_note(self.notes.str(slot.note));
            if *profile.source == *a.source && reference == a.reference.as_deref() {
                break Some(at);
            }
            if slot.next == NONE {
                break None;
            }
            at = slot.next;
            slot = self.extra[at as usize];
        };
        match same {
            Some(at) => {
                let profile = self.intern_profile(a);
                let note = encode_note(a);
                let old = if at == NONE {
                    self.record(id).first
                } else {
                    self.extra[at as usize]
                };
                let span = if self.notes.str(old.note) == note {
                    old.note
                } else {
                    self.dead_bytes += old.note.len as usize;
                    self.notes.push(&note)?
                };
                let new = Slot {
                    valid_from: a.valid_from.map_or(NO_START, |t| t.0),
                    valid_until: a.valid_until.map_or(NO_END, |t| t.0),
                    note: span,
                    profile,
                    next: old.next,
                };
                if at == NONE {
                    self.records.get_mut(id)?.first = new;
                } else {
                    self.extra[at as usize] = new;
                }
            }
            None => {
                let new = self.new_slot(a)?;
                let index = match self.free_extra.pop() {
                    Some(i) => {
                        self.extra[i as usize] = new;
                        i
                    }
                    None => {
                        self.extra.push(new);
                        (self.extra.len() - 1) as u32
                    }
                };
                // `at` is the last slot of the chain (NONE: the record's first).
                if at == NONE {
                    self.records.get_mut(id)?.first.next = index;
                } else {
                    self.extra[at as usize].next = index;
                }
            }
        }
        let unbounded = self.slots(self.record(id)).any(Slot::is_unbounded);
        self.set_always(id, unbounded);
        Some(())
    }

    fn index(&mut self, id: u32, kind: Kind, value: &str) {
        match kind {
            Kind::Ipv4 => {
                if let Ok(a) = value.parse::<Ipv4Addr>() {
                    self.ipv4.insert(u32::from(a), id);
                }
                return;
            }
            Kind::Ipv6 => {
                if let Ok(a) = value.parse::<Ipv6Addr>() {
                    self.ipv6.insert(u128::from(a), id);
                }
                return;
            }
            Kind::Cidr => self.index_network(id, value),
            Kind::Domain => {
                self.domain_labels |= label_bit(value.bytes().filter(|&b| b == b'.').count() + 1);
            }
            _ => {}
        }
        let hash = self.hasher.hash_one(value.as_bytes());
        let entry = Entry {
            id,
            value: self.record(id).value,
        };
        let Intel {
            strings,
            arena,
            hasher,
            ..
        } = self;
        strings[table_of(kind)].insert_unique(hash, entry, |e| hasher.hash_one(arena.bytes(e.value)));
    }

    fn index_network(&mut self, id: u32, value: &str) {
        let Some((addr, len)) = value.split_once('/') else {
            return;
        };
        let Ok(len) = len.parse::<u8>() else { return };
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            let (first, last) = cidr::v4_range(u32::from(a), len);
            self.cidr4.insert(Net { first, last, id });
        } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
            let (first, last) = cidr::v6_range(u128::from(a), len);
            self.cidr6.insert(Net { first, last, id });
        }
    }

    fn unindex(&mut self, id: u32) {
        let r = self.record(id);
        let kind = r.kind;
        match kind {
            Kind::Ipv4 => {
                if let Ok(a) = self.arena.str(r.value).parse::<Ipv4Addr>() {
                    self.ipv4.remove(&u32::from(a));
                }
            }
            Kind::Ipv6 => {
                if let Ok(a) = self.arena.str(r.value).parse::<Ipv6Addr>() {
                    self.ipv6.remove(&u128::from(a));
                }
            }
            _ => {
                let hash = self.hasher.hash_one(self.arena.bytes(r.value));
                if let Ok(entry) = self.strings[table_of(kind)].find_entry(hash, |e| e.id == id) {
                    entry.remove();
                }
            }
        }
    }

    /// Rewrites the arenas without their dead bytes.
    fn compact(&mut self) {
        let (old_values, old_notes) = (std::mem::take(&mut self.arena), std::mem::take(&mut self.notes));
        let (values, notes) = (&mut self.arena, &mut self.notes);
        // Re-pushing what fitted before cannot overflow.
        let mut value = |s: Span| values.push(old_values.str(s)).unwrap_or(Span::EMPTY);
        let mut note = |s: Span| notes.push(old_notes.str(s)).unwrap_or(Span::EMPTY);
        for r in self.records.iter_mut() {
            if !r.removed {
                r.value = value(r.value);
                r.first.note = note(r.first.note);
            }
        }
        for slot in &mut self.extra {
            if slot.profile != NONE {
                slot.note = note(slot.note);
            }
        }
        for table in &mut self.strings {
            for e in table.iter_mut() {
                if let Some(r) = self.records.get(e.id) {
                    e.value = r.value;
                }
            }
        }
        self.dead_bytes = 0;
    }
}

const FREE_SLOT: Slot = Slot {
    valid_from: NO_START,
    valid_until: NO_END,
    note: Span::EMPTY,
    profile: NONE,
    next: NONE,
};

/// One indicator as stored, borrowed from its [`Intel`].
#[derive(Clone, Copy)]
pub struct IndicatorView<'a> {
    pub id: IndicatorId,
    pub kind: Kind,
    /// The normalised value.
    pub value: &'a str,
    /// When a source first reported it to this store.
    pub first_seen: Timestamp,
    /// The latest report by a source or sighting in events.
    pub last_seen: Timestamp,
    /// How many times events matched it ([`Intel::record_sighting`]).
    pub sightings: u32,
    intel: &'a Intel,
    first: Slot,
}

impl fmt::Debug for IndicatorView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndicatorView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("value", &self.value)
            .field("first_seen", &self.first_seen)
            .field("last_seen", &self.last_seen)
            .field("sightings", &self.sightings)
            .field("attributions", &self.attributions().collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> IndicatorView<'a> {
    /// Every source's attribution, in the order the sources first reported it.
    pub fn attributions(&self) -> impl Iterator<Item = AttributionRef<'a>> + 'a {
        let intel = self.intel;
        let mut cur = Some(self.first);
        std::iter::from_fn(move || {
            let slot = cur?;
            cur = (slot.next != NONE).then(|| intel.extra[slot.next as usize]);
            let p = &intel.profiles[slot.profile as usize];
            let (reference, description) = decode_note(intel.notes.str(slot.note));
            Some(AttributionRef {
                source: &p.source,
                confidence: p.confidence,
                tlp: p.tlp,
                valid_from: (slot.valid_from != NO_START).then_some(Timestamp(slot.valid_from)),
                valid_until: (slot.valid_until != NO_END).then_some(Timestamp(slot.valid_until)),
                tags: &p.tags,
                attack: &p.attack,
                reference,
                description,
            })
        })
    }

    /// Whether some attribution applies at `now`, that is whether it can match.
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.intel.is_live(self.intel.record(self.id.0), now.0)
    }
}

/// One attribution as stored (see [`Attribution`]). An unbounded validity end
/// and one at `i64::MAX` nanoseconds are stored alike and both read back as `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributionRef<'a> {
    pub source: &'a str,
    pub confidence: u8,
    pub tlp: Tlp,
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub tags: &'a [Box<str>],
    pub attack: &'a [Box<str>],
    pub reference: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl AttributionRef<'_> {
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|t| t <= now) && self.valid_until.is_none_or(|t| now < t)
    }

    pub fn to_attribution(&self) -> Attribution {
        let strings = |v: &[Box<str>]| v.iter().map(|s| s.to_string()).collect();
        Attribution {
            source: self.source.to_owned(),
            confidence: self.confidence,
            tlp: self.tlp,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            tags: strings(self.tags),
            attack: strings(self.attack),
            reference: self.reference.map(str::to_owned),
            description: self.description.map(str::to_owned),
        }
    }
}

/// Counts and memory of an [`Intel`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntelStats {
    pub indicators: usize,
    pub by_kind: BTreeMap<Kind, usize>,
    pub attributions: usize,
    pub attributions_by_tlp: BTreeMap<Tlp, usize>,
    /// Indicators all of whose attributions have ended ([`Intel::remove_expired`]
    /// would drop them).
    pub expired: usize,
    /// Indicators that do not match now: expired, or not yet valid.
    pub inactive: usize,
    /// Distinct (source, confidence, TLP, tags, ATT&CK) combinations.
    pub profiles: usize,
    pub memory: MemoryUse,
}

/// Bytes allocated (capacities, not lengths), by part. Allocator overhead per
/// allocation is not counted; there are few allocations (chunks and tables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryUse {
    pub records: usize,
    pub attributions: usize,
    pub strings: usize,
    /// Part of `strings` no longer referenced, reclaimed by the next compaction.
    pub dead_string_bytes: usize,
    pub profiles: usize,
    pub indexes: usize,
    pub total: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_one_cache_line_and_slot_half_of_it() {
        assert_eq!(size_of::<Record>(), 64);
        assert_eq!(size_of::<Slot>(), 32);
    }

    #[test]
    fn notes_round_trip() {
        let mut a = Attribution::from_source("f");
        assert_eq!(decode_note(&encode_note(&a)), (None, None));
        a.reference = Some("r12:x".into());
        assert_eq!(decode_note(&encode_note(&a)), (Some("r12:x"), None));
        a.description = Some("dé".into());
        assert_eq!(decode_note(&encode_note(&a)), (Some("r12:x"), Some("dé")));
        a.reference = None;
        assert_eq!(decode_note(&encode_note(&a)), (None, Some("dé")));
        a.description = Some(String::new());
        assert_eq!(decode_note(&encode_note(&a)), (None, Some("")));
    }
}
