//! Chunked storage for the store's strings and records.
//!
//! Both grow in fixed-size chunks, so growing never copies what is already stored,
//! never leaves more than one chunk's worth of unused capacity (a doubling `Vec` can
//! leave almost half its allocation unused), and the memory in use can be counted from
//! the capacities actually allocated.

use std::mem::size_of;

/// A string in the [`Arena`]: `at` holds the chunk number in its top 12 bits and the
/// byte position inside the chunk in its low 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    at: u32,
    pub(super) len: u32,
}

impl Span {
    /// The empty string, which takes no room.
    pub(super) const EMPTY: Span = Span { at: 0, len: 0 };
}

const CHUNK_BITS: u32 = 20;
const CHUNK: usize = 1 << CHUNK_BITS;
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_BITS);
/// Strings at least this long get a chunk of their own, so that a long one never
/// wastes the rest of a shared chunk.
const OWN_CHUNK: usize = CHUNK / 4;

/// Append-only string storage in chunks of 1 MiB (4 GiB in all); a string never
/// straddles two chunks.
#[derive(Default)]
pub(super) struct Arena {
    chunks: Vec<String>,
}

impl Arena {
    /// Stores `s`; `None` when the arena is full.
    pub(super) fn push(&mut self, s: &str) -> Option<Span> {
        if s.is_empty() {
            return Some(Span::EMPTY);
        }
        let len = u32::try_from(s.len()).ok()?;
        if s.len() >= OWN_CHUNK {
            if self.chunks.len() >= MAX_CHUNKS {
                return None;
            }
            self.chunks.push(s.to_owned());
            let at = ((self.chunks.len() - 1) as u32) << CHUNK_BITS;
            return Some(Span { at, len });
        }
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() == CHUNK && c.len() + s.len() <= CHUNK);
        if !fits {
            if self.chunks.len() >= MAX_CHUNKS {
                return None;
            }
            self.chunks.push(String::with_capacity(CHUNK));
        }
        let n = self.chunks.len() - 1;
        let chunk = &mut self.chunks[n];
        let at = ((n as u32) << CHUNK_BITS) | chunk.len() as u32;
        chunk.push_str(s);
        Some(Span { at, len })
    }

    pub(super) fn str(&self, span: Span) -> &str {
        if span.len == 0 {
            return "";
        }
        let chunk = &self.chunks[(span.at >> CHUNK_BITS) as usize];
        let start = (span.at & (CHUNK as u32 - 1)) as usize;
        &chunk[start..start + span.len as usize]
    }

    pub(super) fn bytes(&self, span: Span) -> &[u8] {
        self.str(span).as_bytes()
    }

    /// Bytes allocated, whether used or not.
    pub(super) fn allocated(&self) -> usize {
        self.chunks.iter().map(String::capacity).sum::<usize>()
            + self.chunks.capacity() * size_of::<String>()
    }

    /// Bytes holding strings.
    pub(super) fn used(&self) -> usize {
        self.chunks.iter().map(String::len).sum()
    }
}

const REC_BITS: u32 = 14;
const REC_CHUNK: usize = 1 << REC_BITS;

/// A vector in chunks of 16,384 items, indexed by `u32`.
pub(super) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: u32,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub(super) fn len(&self) -> u32 {
        self.len
    }

    /// Appends `item` and returns its index; `None` when full.
    pub(super) fn push(&mut self, item: T) -> Option<u32> {
        if self.len == u32::MAX {
            return None;
        }
        if self.chunks.last().is_none_or(|c| c.len() == REC_CHUNK) {
            self.chunks.push(Vec::with_capacity(REC_CHUNK));
        }
        let last = self.chunks.len() - 1;
        self.chunks[last].push(item);
        self.len += 1;
        Some(self.len - 1)
    }

    #[inline]
    pub(super) fn get(&self, i: u32) -> Option<&T> {
        self.chunks
            .get((i >> REC_BITS) as usize)?
            .get((i as usize) & (REC_CHUNK - 1))
    }

    #[inline]
    pub(super) fn get_mut(&mut self, i: u32) -> Option<&mut T> {
        self.chunks
            .get_mut((i >> REC_BITS) as usize)?
            .get_mut((i as usize) & (REC_CHUNK - 1))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }

    /// Bytes allocated, whether used or not.
    pub(super) fn allocated(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.capacity() * size_of::<T>())
            .sum::<usize>()
            + self.chunks.capacity() * size_of::<Vec<T>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_come_back_whole_across_chunks() {
        let mut a = Arena::default();
        let mut spans = Vec::new();
        for i in 0..200_000 {
            let s = format!("value-{i}");
            spans.push((a.push(&s).unwrap(), s));
        }
        let big = "x".repeat(OWN_CHUNK + 3);
        let big_span = a.push(&big).unwrap();
        let after = a.push("after").unwrap();
        for (span, s) in &spans {
            assert_eq!(a.str(*span), s);
        }
        assert_eq!(a.str(big_span), big);
        assert_eq!(a.str(after), "after");
        let empty = a.push("").unwrap();
        assert_eq!(a.str(empty), "");
        assert!(a.allocated() >= a.used());
    }

    #[test]
    fn chunked_indexes_past_a_chunk() {
        let mut c = Chunked::default();
        for i in 0..(REC_CHUNK as u32 * 2 + 5) {
            assert_eq!(c.push(i), Some(i));
        }
        assert_eq!(c.get(REC_CHUNK as u32 + 1), Some(&(REC_CHUNK as u32 + 1)));
        assert_eq!(c.get(c.len()), None);
        assert_eq!(c.iter().count(), c.len() as usize);
    }
}
