//! What callers see of the store: one indicator and its attributions, and counts.

use std::collections::BTreeMap;
use std::fmt;
use std::mem::size_of;

use serde::Serialize;
use watchfloor_event::Timestamp;

use super::attribution::{Profile, Slot, decode_note};
use super::{IndicatorId, Intel, NO_END, NO_START, NONE};
use crate::model::{Attribution, Kind, Tlp};

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
    pub(super) intel: &'a Intel,
    pub(super) first: Slot,
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

impl Intel {
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

    pub(super) fn memory(&self) -> MemoryUse {
        let records = self.records.allocated();
        let attributions = self.extra.capacity() * size_of::<Slot>()
            + self.free_extra.capacity() * size_of::<u32>();
        let strings = self.arena.allocated() + self.notes.allocated();
        let profiles = self.profiles.capacity() * size_of::<Profile>()
            + self.profiles.iter().map(Profile::heap_bytes).sum::<usize>()
            + self.profile_index.allocation_size();
        let indexes = self.ipv4.allocated()
            + self.ipv6.allocation_size()
            + self.strings.iter().map(|t| t.allocated()).sum::<usize>()
            + self.cidr4.allocated()
            + self.cidr6.allocated()
            + self.always.capacity() * size_of::<u64>()
            + self.v4_filter.allocated()
            + self.domain_filter.allocated();
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
}
