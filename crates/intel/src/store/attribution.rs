//! Attributions: what feeds share, interned once as a profile, and what each
//! attribution keeps of its own (validity bounds, reference and description).

use std::hash::{BuildHasher, Hash, Hasher};
use std::mem::size_of;
use std::sync::atomic::Ordering;

use foldhash::fast::RandomState;

use super::arena::Span;
use super::{Intel, NO_END, NO_START, NONE};
use crate::model::{Attribution, Tlp};

/// What a feed says of many indicators at once.
#[derive(Debug)]
pub(super) struct Profile {
    pub(super) source: Box<str>,
    pub(super) confidence: u8,
    pub(super) tlp: Tlp,
    pub(super) tags: Box<[Box<str>]>,
    pub(super) attack: Box<[Box<str>]>,
}

impl Profile {
    pub(super) fn heap_bytes(&self) -> usize {
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
pub(super) struct Slot {
    /// Nanoseconds; `NO_START` / `NO_END` when unbounded.
    pub(super) valid_from: i64,
    pub(super) valid_until: i64,
    /// Reference and description, encoded by [`encode_note`].
    pub(super) note: Span,
    pub(super) profile: u32,
    /// The next attribution of the same indicator in `extra`, or `NONE`.
    pub(super) next: u32,
}

impl Slot {
    #[inline]
    pub(super) fn is_valid_at(&self, now: i64) -> bool {
        self.valid_from <= now && (self.valid_until == NO_END || now < self.valid_until)
    }

    pub(super) fn is_unbounded(&self) -> bool {
        self.valid_from == NO_START && self.valid_until == NO_END
    }

    pub(super) fn has_ended(&self, now: i64) -> bool {
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

pub(super) fn decode_note(s: &str) -> (Option<&str>, Option<&str>) {
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

pub(super) const FREE_SLOT: Slot = Slot {
    valid_from: NO_START,
    valid_until: NO_END,
    note: Span::EMPTY,
    profile: NONE,
    next: NONE,
};

impl Intel {
    pub(super) fn intern_profile(&mut self, a: &Attribution) -> u32 {
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

    pub(super) fn new_slot(&mut self, a: &Attribution) -> Option<Slot> {
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
    pub(super) fn merge(&mut self, id: u32, a: &Attribution, now: i64) -> Option<()> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
