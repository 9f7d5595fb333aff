//! Small bitsets that answer "certainly not" before the larger indexes are read.
//!
//! Most values looked up match nothing, and at a million indicators every index probe
//! is a cache miss; a 512 KiB bitset stays in cache far better than the indexes it
//! guards. Two are kept, each switched on once its kind has [`FILTER_FROM`] entries:
//! one over IPv4 `/22` blocks holding an address indicator or meeting a network, one
//! over the hashes of the last two labels of domain indicators (every name a domain
//! indicator of two or more labels can match ends in the same two labels). A bit set
//! by a removed indicator stays until the next rebuild; a filter only ever says "maybe".

use std::mem::size_of;

const BITS: u32 = 22;

/// How many entries of its kind switch a filter on.
pub(super) const FILTER_FROM: usize = 4096;

#[derive(Default)]
pub(super) struct Filter {
    words: Vec<u64>,
}

impl Filter {
    pub(super) fn is_on(&self) -> bool {
        !self.words.is_empty()
    }

    /// Switches the filter on, with every bit clear.
    pub(super) fn reset_on(&mut self) {
        self.words.clear();
        self.words.resize(1 << (BITS - 6), 0);
    }

    /// Sets bits `first..=last` (keys below 2^22).
    pub(super) fn set_range(&mut self, first: u32, last: u32) {
        if self.words.is_empty() {
            return;
        }
        for key in first..=last {
            self.words[(key >> 6) as usize] |= 1 << (key & 63);
        }
    }

    pub(super) fn set(&mut self, key: u32) {
        self.set_range(key, key);
    }

    /// False only when no indicator can have this key; always true when off.
    #[inline]
    pub(super) fn may_contain(&self, key: u32) -> bool {
        self.words
            .get((key >> 6) as usize)
            .is_none_or(|w| w & (1 << (key & 63)) != 0)
    }

    pub(super) fn allocated(&self) -> usize {
        self.words.capacity() * size_of::<u64>()
    }
}

/// The filter key of an IPv4 address: its `/22` block.
#[inline]
pub(super) fn v4_key(addr: u32) -> u32 {
    addr >> (32 - BITS)
}

/// The filter key of a hash.
#[inline]
pub(super) fn hash_key(hash: u64) -> u32 {
    (hash >> (64 - BITS)) as u32
}

/// The last two labels of a name with at least two.
#[inline]
pub(super) fn last_two_labels(name: &[u8]) -> Option<&[u8]> {
    let last_dot = memchr::memrchr(b'.', name)?;
    match memchr::memrchr(b'.', &name[..last_dot]) {
        Some(dot) => Some(&name[dot + 1..]),
        None => Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_says_maybe_on_says_what_was_set() {
        let mut f = Filter::default();
        assert!(f.may_contain(5));
        f.set(5);
        assert!(!f.is_on());
        f.reset_on();
        assert!(!f.may_contain(5));
        f.set_range(5, 70);
        assert!(f.may_contain(5) && f.may_contain(64) && f.may_contain(70));
        assert!(!f.may_contain(71) && !f.may_contain(4));
    }

    #[test]
    fn two_labels() {
        assert_eq!(
            last_two_labels(b"a.b.evil.example"),
            Some(&b"evil.example"[..])
        );
        assert_eq!(last_two_labels(b"evil.example"), Some(&b"evil.example"[..]));
        assert_eq!(last_two_labels(b"example"), None);
    }
}
