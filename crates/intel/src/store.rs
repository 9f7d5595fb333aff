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
//! - indexes: IPv4 addresses, and every kind held as text, in `exact`'s cache-line
//!   tables (an address, or a 96-bit fingerprint of the text, and the indicator id per
//!   16-byte slot, so a lookup reads one line and never the arena); IPv6 addresses in
//!   an integer-keyed hash map; networks in `cidr`'s segment index;
//!   a bitset of the indicators valid at all times, so most matches need no look at the
//!   record;
//! - two 512 KiB bitsets (`filter`) that turn most non-matching IPv4 and domain lookups
//!   away before the larger indexes are read.
//!
//! Ids are never reused: an indicator dropped by [`Intel::remove_expired`] leaves its
//! record behind as a tombstone, and the arenas are compacted once half of them is dead.

mod arena;
mod attribution;
mod cidr;
mod exact;
mod filter;
mod lookup;
mod text_scan;
mod view;

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use foldhash::fast::RandomState;
use hashbrown::{HashMap, HashTable};
use serde::Serialize;
use watchfloor_event::Timestamp;

use crate::model::{Kind, NewIndicator, NormalizeError, normalize};
use arena::{Arena, Chunked, Span};
use cidr::{CidrSet, Net};
use exact::{ExactIndex, Fingerprinter};
use filter::{FILTER_FROM, Filter};

pub use lookup::Match;
pub use view::{AttributionRef, IndicatorView, IntelStats, MemoryUse};

use attribution::{FREE_SLOT, Profile, Slot};

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
    ipv4: ExactIndex,
    ipv6: HashMap<u128, u32, RandomState>,
    strings: [ExactIndex; TABLES],
    /// Bit `id` is set when some attribution of indicator `id` has no validity bounds,
    /// so a match needs no look at its record to know it applies.
    always: Vec<u64>,
    cidr4: CidrSet<u32>,
    cidr6: CidrSet<u128>,
    /// Bit `n` is set when some domain indicator has `n` labels (bit 63: 63 or more),
    /// so the suffix walk skips suffixes no indicator can equal.
    domain_labels: u64,
    /// "Certainly not" answers before the IPv4 and domain indexes (see `filter`).
    v4_filter: Filter,
    domain_filter: Filter,
    hasher: RandomState,
    fingerprints: Fingerprinter,
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
            ipv4: ExactIndex::default(),
            ipv6: HashMap::default(),
            strings: Default::default(),
            always: Vec::new(),
            cidr4: CidrSet::default(),
            cidr6: CidrSet::default(),
            domain_labels: 0,
            v4_filter: Filter::default(),
            domain_filter: Filter::default(),
            hasher: RandomState::default(),
            fingerprints: Fingerprinter::default(),
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
        if self.records.len() > exact::MAX_ID {
            return Err(full(kind));
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
            if self.v4_filter.is_on() {
                self.rebuild_v4_filter();
            }
            if self.domain_filter.is_on() {
                self.rebuild_domain_filter();
            }
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

    /// Exact lookup of a value in a string table (the value already normalised), by
    /// its fingerprint alone (see `exact`).
    #[inline]
    fn probe(&self, kind: Kind, key: &[u8]) -> Option<u32> {
        let table = &self.strings[table_of(kind)];
        if table.is_empty() {
            return None;
        }
        table.get(self.fingerprints.text(key))
    }

    /// The indicator of this kind and normalised value, its text compared too.
    fn find_normalized(&self, kind: Kind, value: &str) -> Option<u32> {
        match kind {
            Kind::Ipv4 => {
                let a: Ipv4Addr = value.parse().ok()?;
                self.ipv4.get(self.fingerprints.ipv4(u32::from(a)))
            }
            Kind::Ipv6 => {
                let a: Ipv6Addr = value.parse().ok()?;
                self.ipv6.get(&u128::from(a)).copied()
            }
            _ => {
                let mut found = None;
                self.strings[table_of(kind)].get_all(
                    self.fingerprints.text(value.as_bytes()),
                    |id| {
                        if found.is_none() && self.arena.str(self.record(id).value) == value {
                            found = Some(id);
                        }
                    },
                );
                found
            }
        }
    }

    fn index(&mut self, id: u32, kind: Kind, value: &str) {
        match kind {
            Kind::Ipv4 => {
                if let Ok(a) = value.parse::<Ipv4Addr>() {
                    self.ipv4.insert(self.fingerprints.ipv4(u32::from(a)), id);
                    self.v4_filter.set(filter::v4_key(u32::from(a)));
                    self.switch_filters_on();
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
                if let Some(two) = filter::last_two_labels(value.as_bytes()) {
                    let key = filter::hash_key(self.hasher.hash_one(two));
                    self.domain_filter.set(key);
                }
            }
            _ => {}
        }
        let fp = self.fingerprints.text(value.as_bytes());
        self.strings[table_of(kind)].insert(fp, id);
        self.switch_filters_on();
    }

    /// Switches a filter on once its kind is big enough to gain from it.
    fn switch_filters_on(&mut self) {
        if !self.v4_filter.is_on() && self.ipv4.len() + self.cidr4.len() >= FILTER_FROM {
            self.rebuild_v4_filter();
        }
        if !self.domain_filter.is_on() && self.strings[table_of(Kind::Domain)].len() >= FILTER_FROM
        {
            self.rebuild_domain_filter();
        }
    }

    fn rebuild_v4_filter(&mut self) {
        let f = &mut self.v4_filter;
        f.reset_on();
        for (a, _) in self.ipv4.entries() {
            f.set(filter::v4_key(a as u32));
        }
        for net in self.cidr4.nets() {
            f.set_range(filter::v4_key(net.first), filter::v4_key(net.last));
        }
    }

    fn rebuild_domain_filter(&mut self) {
        let f = &mut self.domain_filter;
        f.reset_on();
        for (_, id) in self.strings[table_of(Kind::Domain)].entries() {
            let value = self.records.get(id).map_or(Span::EMPTY, |r| r.value);
            if let Some(two) = filter::last_two_labels(self.arena.bytes(value)) {
                f.set(filter::hash_key(self.hasher.hash_one(two)));
            }
        }
    }

    fn index_network(&mut self, id: u32, value: &str) {
        let Some((addr, len)) = value.split_once('/') else {
            return;
        };
        let Ok(len) = len.parse::<u8>() else { return };
        if let Ok(a) = addr.parse::<Ipv4Addr>() {
            let (first, last) = cidr::v4_range(u32::from(a), len);
            self.cidr4.insert(Net { first, last, id });
            self.v4_filter
                .set_range(filter::v4_key(first), filter::v4_key(last));
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
                    self.ipv4.remove(self.fingerprints.ipv4(u32::from(a)), id);
                }
            }
            Kind::Ipv6 => {
                if let Ok(a) = self.arena.str(r.value).parse::<Ipv6Addr>() {
                    self.ipv6.remove(&u128::from(a));
                }
            }
            _ => {
                let fp = self.fingerprints.text(self.arena.bytes(r.value));
                self.strings[table_of(kind)].remove(fp, id);
            }
        }
    }

    /// Rewrites the arenas without their dead bytes.
    fn compact(&mut self) {
        let (old_values, old_notes) = (
            std::mem::take(&mut self.arena),
            std::mem::take(&mut self.notes),
        );
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
        self.dead_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_one_cache_line_and_slot_half_of_it() {
        assert_eq!(size_of::<Record>(), 64);
        assert_eq!(size_of::<Slot>(), 32);
    }
}
