//! The exact-value indexes: which indicator has this address, name, URL or hash?
//!
//! At a million indicators every probe of an index is a cache miss, so this index is
//! laid out for one: open addressing over 64-byte lines of four 16-byte slots, a key's
//! slots searched line by line from its home line, so a lookup usually reads a single
//! line and never anything else. A slot holds the key itself, not a reference to it:
//! for an IPv4 address the address (exact), for text a 96-bit fingerprint from two
//! independently seeded hashes ([`Fingerprinter`]), so deciding a match never reads
//! the string arena. Two different values sharing 96 bits of two keyed hashes is a
//! chance of about one in 2^96 per comparison; callers that must be certain (adding
//! and finding an indicator) compare the stored text as well.
//!
//! Beside the lines, one tag byte per slot (7 more bits of the hash, or "never used",
//! or "removed") in an array a sixteenth of their size, which stays in cache: most
//! values looked up match nothing, and their search ends in the tags without reading
//! a line. Slots fill from the front of a line and are never emptied, only marked
//! removed, so a search stops at the first never-used slot. The table is rebuilt (at a
//! size fitting what is live) when used slots pass three quarters of it.

use std::hash::BuildHasher;
use std::mem::size_of;

use foldhash::fast::{FixedState, RandomState};

/// What identifies a key in the table: 96 bits, of which `check` also picks the home
/// line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Fingerprint {
    pub(super) key: u64,
    pub(super) check: u32,
}

/// Two independently seeded hashes, for text fingerprints and IPv4 home lines.
pub(super) struct Fingerprinter {
    first: RandomState,
    second: FixedState,
}

impl Default for Fingerprinter {
    fn default() -> Self {
        let first = RandomState::default();
        // A seed of its own, drawn from a second random state.
        let second = FixedState::with_seed(RandomState::default().hash_one(0x5eed_u64));
        Fingerprinter { first, second }
    }
}

impl Fingerprinter {
    #[inline]
    pub(super) fn text(&self, bytes: &[u8]) -> Fingerprint {
        Fingerprint {
            key: self.second.hash_one(bytes),
            check: (self.first.hash_one(bytes) >> 32) as u32,
        }
    }

    /// An IPv4 address is its own key; only the home line is hashed.
    #[inline]
    pub(super) fn ipv4(&self, addr: u32) -> Fingerprint {
        Fingerprint {
            key: u64::from(addr),
            check: (u64::from(addr).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32,
        }
    }
}

const EMPTY: u32 = u32::MAX;
const REMOVED: u32 = u32::MAX - 1;
/// Indicator ids must stay below this.
pub(super) const MAX_ID: u32 = u32::MAX - 2;
const SLOTS: usize = 4;

/// Tag of a never-used slot.
const NEVER: u8 = 0;
/// Tag of a removed entry's slot.
const GONE: u8 = 1;

/// The tag of a live entry: the top seven bits of `check` (the home line takes its
/// low bits), with the high bit set.
#[inline]
fn tag(check: u32) -> u8 {
    0x80 | (check >> 25) as u8
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    key: u64,
    check: u32,
    id: u32,
}

const FREE: Slot = Slot {
    key: 0,
    check: 0,
    id: EMPTY,
};

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([Slot; SLOTS]);

/// Fingerprint → indicator id. See the module doc.
#[derive(Default)]
pub(super) struct ExactIndex {
    lines: Vec<Line>,
    /// The tags of line `i`'s slots, slot 0 in the lowest byte.
    tags: Vec<u32>,
    live: usize,
    /// Live and removed slots.
    used: usize,
}

impl ExactIndex {
    pub(super) fn len(&self) -> usize {
        self.live
    }

    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub(super) fn allocated(&self) -> usize {
        self.lines.capacity() * size_of::<Line>() + self.tags.capacity() * size_of::<u32>()
    }

    #[inline]
    fn home(&self, check: u32) -> usize {
        check as usize & (self.lines.len() - 1)
    }

    /// The indicator with this fingerprint.
    #[inline]
    pub(super) fn get(&self, fp: Fingerprint) -> Option<u32> {
        let mut found = None;
        self.search(fp, |id| {
            found = Some(id);
            false
        });
        found
    }

    /// Calls `each` with the id of every live slot holding `fp` until it returns
    /// false.
    #[inline]
    fn search(&self, fp: Fingerprint, mut each: impl FnMut(u32) -> bool) {
        if self.live == 0 {
            return;
        }
        let mask = self.lines.len() - 1;
        let want = tag(fp.check);
        let mut at = self.home(fp.check);
        loop {
            let tags = self.tags[at].to_le_bytes();
            for (i, &t) in tags.iter().enumerate() {
                if t == NEVER {
                    return;
                }
                if t == want {
                    let slot = &self.lines[at].0[i];
                    if slot.key == fp.key && slot.check == fp.check && !each(slot.id) {
                        return;
                    }
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Every indicator with this fingerprint (more than one only if two values share
    /// one, or while the caller has not removed a stale entry yet).
    pub(super) fn get_all(&self, fp: Fingerprint, mut each: impl FnMut(u32)) {
        self.search(fp, |id| {
            each(id);
            true
        });
    }

    /// Adds `id` under `fp` (the caller has checked it is not there yet).
    pub(super) fn insert(&mut self, fp: Fingerprint, id: u32) {
        debug_assert!(id <= MAX_ID);
        if (self.used + 1) * 4 > self.lines.len() * SLOTS * 3 {
            self.rebuild(self.live + 1);
        }
        self.place(fp, id);
        self.live += 1;
    }

    /// Removes the entry of `id` under `fp`; false if there is none.
    pub(super) fn remove(&mut self, fp: Fingerprint, id: u32) -> bool {
        if self.live == 0 {
            return false;
        }
        let mask = self.lines.len() - 1;
        let want = tag(fp.check);
        let mut at = self.home(fp.check);
        loop {
            let mut tags = self.tags[at].to_le_bytes();
            for i in 0..SLOTS {
                if tags[i] == NEVER {
                    return false;
                }
                let slot = &mut self.lines[at].0[i];
                if tags[i] == want && slot.id == id && slot.key == fp.key && slot.check == fp.check
                {
                    slot.id = REMOVED;
                    tags[i] = GONE;
                    self.tags[at] = u32::from_le_bytes(tags);
                    self.live -= 1;
                    return true;
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Every live entry as its key (an IPv4 index's address) and indicator id, in no
    /// particular order.
    pub(super) fn entries(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.lines
            .iter()
            .flat_map(|l| l.0.iter())
            .filter(|s| s.id <= MAX_ID)
            .map(|s| (s.key, s.id))
    }

    /// Puts `fp` in the first never-used or removed slot from its home line on.
    fn place(&mut self, fp: Fingerprint, id: u32) {
        let mask = self.lines.len() - 1;
        let mut at = self.home(fp.check);
        loop {
            let mut tags = self.tags[at].to_le_bytes();
            for i in 0..SLOTS {
                if tags[i] == NEVER || tags[i] == GONE {
                    if tags[i] == NEVER {
                        self.used += 1;
                    }
                    tags[i] = tag(fp.check);
                    self.tags[at] = u32::from_le_bytes(tags);
                    self.lines[at].0[i] = Slot {
                        key: fp.key,
                        check: fp.check,
                        id,
                    };
                    return;
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// Re-places every live entry in a table sized for `need` entries at most half
    /// full, dropping removed slots.
    fn rebuild(&mut self, need: usize) {
        let lines = (need * 2).div_ceil(SLOTS).next_power_of_two().max(4);
        let old = std::mem::replace(&mut self.lines, vec![Line([FREE; SLOTS]); lines]);
        self.tags = vec![0; lines];
        self.used = 0;
        for slot in old.iter().flat_map(|l| l.0.iter()) {
            if slot.id <= MAX_ID {
                self.place(
                    Fingerprint {
                        key: slot.key,
                        check: slot.check,
                    },
                    slot.id,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_sixteen_bytes_and_lines_one_cache_line() {
        assert_eq!(size_of::<Slot>(), 16);
        assert_eq!(size_of::<Line>(), 64);
        assert_eq!(std::mem::align_of::<Line>(), 64);
    }

    #[test]
    fn finds_what_was_added_and_forgets_what_was_removed() {
        let fps = Fingerprinter::default();
        let mut index = ExactIndex::default();
        assert_eq!(index.get(fps.text(b"a")), None);
        for i in 0..10_000u32 {
            index.insert(fps.text(format!("value-{i}").as_bytes()), i);
        }
        assert_eq!(index.len(), 10_000);
        for i in 0..10_000u32 {
            assert_eq!(
                index.get(fps.text(format!("value-{i}").as_bytes())),
                Some(i)
            );
        }
        assert_eq!(index.get(fps.text(b"value-10000")), None);
        for i in (0..10_000u32).step_by(2) {
            assert!(index.remove(fps.text(format!("value-{i}").as_bytes()), i));
        }
        assert!(!index.remove(fps.text(b"value-0"), 0), "already removed");
        assert_eq!(index.len(), 5_000);
        for i in 0..10_000u32 {
            let found = index.get(fps.text(format!("value-{i}").as_bytes()));
            assert_eq!(found, (i % 2 == 1).then_some(i), "{i}");
        }
        // Removed slots are reused and dropped at the next rebuild.
        for i in 0..20_000u32 {
            index.insert(fps.ipv4(i), 100_000 + i);
        }
        assert_eq!(index.len(), 25_000);
        assert_eq!(index.get(fps.ipv4(19_999)), Some(119_999));
        assert_eq!(index.get(fps.text(b"value-9999")), Some(9_999));
        assert_eq!(index.entries().count(), 25_000);
    }

    #[test]
    fn addresses_are_their_own_keys() {
        let fps = Fingerprinter::default();
        let mut index = ExactIndex::default();
        index.insert(fps.ipv4(0x0a00_0001), 7);
        assert_eq!(index.get(fps.ipv4(0x0a00_0001)), Some(7));
        assert_eq!(index.get(fps.ipv4(0x0a00_0002)), None);
        assert_eq!(fps.ipv4(0x0a00_0001).key, 0x0a00_0001);
    }

    #[test]
    fn two_hashes_are_seeded_apart() {
        let fps = Fingerprinter::default();
        let fp = fps.text(b"evil.example");
        assert_ne!(
            fp.key >> 32,
            u64::from(fp.check),
            "the two halves come from different hashes"
        );
    }
}
