//! Networks, and the question "which of them hold this address?".
//!
//! CIDR networks either nest or do not meet, so the address line splits into segments
//! each of which lies inside one innermost network (or none), and every other network
//! holding it is an ancestor of that one. The index keeps the segments sorted by start,
//! each with its innermost network and that network's parent, and a table from the
//! top 16 bits of an address to the segments starting there: a lookup reads one bucket,
//! searches its few segments, and walks up the (short) chain of enclosing networks.
//!
//! Networks are added one by one but lookups take `&self`, so the index is built on
//! the first lookup after a change (a [`OnceLock`]), and up to [`PENDING`] networks
//! added after it was built are checked one by one instead of rebuilding at once.

use std::mem::size_of;
use std::sync::OnceLock;

const NONE: u32 = u32::MAX;

/// How many networks may wait outside the built index before it is dropped and rebuilt.
const PENDING: usize = 64;

/// An address type: `u32` for IPv4, `u128` for IPv6.
pub(super) trait Addr: Copy + Ord + Default + Send + Sync {
    const MAX: Self;
    fn next(self) -> Self;
    /// The top 16 bits, which pick the address's bucket.
    fn bucket(self) -> usize;
}

impl Addr for u32 {
    const MAX: Self = u32::MAX;
    fn next(self) -> Self {
        self + 1
    }
    fn bucket(self) -> usize {
        (self >> 16) as usize
    }
}

impl Addr for u128 {
    const MAX: Self = u128::MAX;
    fn next(self) -> Self {
        self + 1
    }
    fn bucket(self) -> usize {
        (self >> 112) as usize
    }
}

/// Below this many segments a plain binary search is as good as buckets.
const BUCKETS_FROM: usize = 256;
const BUCKETS: usize = 1 << 16;

#[derive(Clone, Copy, Debug)]
pub(super) struct Net<A> {
    pub(super) first: A,
    pub(super) last: A,
    pub(super) id: u32,
}

impl<A: Addr> Net<A> {
    fn contains(&self, addr: A) -> bool {
        self.first <= addr && addr <= self.last
    }
}

/// Where a segment starts, the indicator id of its innermost network (or `NONE`),
/// and the index in `nodes` of that network's parent (or `NONE`).
#[derive(Clone, Copy, Debug)]
struct Segment<A> {
    start: A,
    id: u32,
    parent: u32,
}

struct Built<A> {
    /// How many of the set's networks (from the front) this index covers.
    covers: usize,
    /// The segments, by ascending start; addresses below the first start are in no
    /// network.
    segments: Vec<Segment<A>>,
    /// Each network's indicator id and its parent's index in `nodes` (or `NONE`).
    nodes: Vec<(u32, u32)>,
    /// `buckets[b]`: the first segment starting in or after bucket `b` (top 16 bits),
    /// so a lookup searches only its own bucket's segments. Empty for few segments.
    buckets: Vec<u32>,
}

/// Starts a segment at `start` inside network `node`.
fn segment<A: Addr>(starts: &mut Vec<(A, u32)>, start: A, node: u32) {
    match starts.last_mut() {
        // A later segment at the same address is the more precise one.
        Some(last) if last.0 == start => last.1 = node,
        Some(last) if last.1 == node => {}
        _ => starts.push((start, node)),
    }
    // Overwriting can leave two equal neighbours; harmless for lookups.
}

impl<A: Addr> Built<A> {
    fn new(nets: &[Net<A>]) -> Built<A> {
        let mut order: Vec<Net<A>> = nets.to_vec();
        // Outer networks before the networks they hold.
        order.sort_unstable_by(|a, b| a.first.cmp(&b.first).then(b.last.cmp(&a.last)));
        let mut built = Built {
            covers: nets.len(),
            segments: Vec::new(),
            nodes: Vec::with_capacity(order.len()),
            buckets: Vec::new(),
        };
        // (start, innermost node) while building.
        let mut starts: Vec<(A, u32)> = Vec::with_capacity(order.len() * 2);
        // Open networks, outermost first: (node, last address).
        let mut open: Vec<(u32, A)> = Vec::new();
        for net in &order {
            while let Some(&(_, last)) = open.last() {
                if last >= net.first {
                    break;
                }
                open.pop();
                // `last < net.first <= MAX`, so `last + 1` does not overflow.
                segment(&mut starts, last.next(), open.last().map_or(NONE, |o| o.0));
            }
            let node = built.nodes.len() as u32;
            built
                .nodes
                .push((net.id, open.last().map_or(NONE, |o| o.0)));
            segment(&mut starts, net.first, node);
            open.push((node, net.last));
        }
        while let Some((_, last)) = open.pop() {
            if last == A::MAX {
                break;
            }
            segment(&mut starts, last.next(), open.last().map_or(NONE, |o| o.0));
        }
        let nodes = &built.nodes;
        built.segments = starts
            .iter()
            .map(|&(start, node)| {
                let (id, parent) = nodes.get(node as usize).copied().unwrap_or((NONE, NONE));
                Segment { start, id, parent }
            })
            .collect();
        let segments = &built.segments;
        if segments.len() >= BUCKETS_FROM {
            let mut buckets = Vec::with_capacity(BUCKETS + 1);
            let mut i = 0;
            for b in 0..=BUCKETS {
                while i < segments.len() && segments[i].start.bucket() < b {
                    i += 1;
                }
                buckets.push(i as u32);
            }
            built.buckets = buckets;
        }
        built
    }

    #[inline]
    fn lookup(&self, addr: A, f: &mut impl FnMut(u32)) {
        // Every start before the bucket's first is below `addr`, every one from the
        // next bucket's first on above it.
        let after = match self.buckets.get(addr.bucket()..addr.bucket() + 2) {
            Some(&[lo, hi]) => {
                let (lo, hi) = (lo as usize, hi as usize);
                lo + self.segments[lo..hi].partition_point(|s| s.start <= addr)
            }
            _ => self.segments.partition_point(|s| s.start <= addr),
        };
        let Some(segment) = after.checked_sub(1).map(|i| self.segments[i]) else {
            return;
        };
        if segment.id == NONE {
            return;
        }
        f(segment.id);
        let mut node = segment.parent;
        while node != NONE {
            let (id, parent) = self.nodes[node as usize];
            f(id);
            node = parent;
        }
    }

    fn allocated(&self) -> usize {
        self.segments.capacity() * size_of::<Segment<A>>()
            + self.nodes.capacity() * size_of::<(u32, u32)>()
            + self.buckets.capacity() * size_of::<u32>()
    }
}

/// The networks of one address family.
pub(super) struct CidrSet<A> {
    nets: Vec<Net<A>>,
    built: OnceLock<Built<A>>,
}

impl<A> Default for CidrSet<A> {
    fn default() -> Self {
        CidrSet {
            nets: Vec::new(),
            built: OnceLock::new(),
        }
    }
}

impl<A: Addr> CidrSet<A> {
    pub(super) fn len(&self) -> usize {
        self.nets.len()
    }

    pub(super) fn nets(&self) -> &[Net<A>] {
        &self.nets
    }

    pub(super) fn insert(&mut self, net: Net<A>) {
        self.nets.push(net);
        if self
            .built
            .get()
            .is_some_and(|b| self.nets.len() - b.covers > PENDING)
        {
            self.built = OnceLock::new();
        }
    }

    /// Keeps the networks whose indicator `keep` says to keep.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        let before = self.nets.len();
        self.nets.retain(|n| keep(n.id));
        if self.nets.len() != before {
            self.built = OnceLock::new();
        }
    }

    /// Builds the index now rather than on the next lookup.
    pub(super) fn prepare(&self) {
        self.built.get_or_init(|| Built::new(&self.nets));
    }

    /// Calls `f` with the id of every network holding `addr`.
    #[inline]
    pub(super) fn lookup(&self, addr: A, mut f: impl FnMut(u32)) {
        if self.nets.is_empty() {
            return;
        }
        let built = self.built.get_or_init(|| Built::new(&self.nets));
        built.lookup(addr, &mut f);
        for net in &self.nets[built.covers..] {
            if net.contains(addr) {
                f(net.id);
            }
        }
    }

    pub(super) fn allocated(&self) -> usize {
        self.nets.capacity() * size_of::<Net<A>>() + self.built.get().map_or(0, Built::allocated)
    }
}

/// The first and last address of a normalised `addr/len` network.
pub(super) fn v4_range(addr: u32, len: u8) -> (u32, u32) {
    let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
    (addr & !host, addr | host)
}

pub(super) fn v6_range(addr: u128, len: u8) -> (u128, u128) {
    let host = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
    (addr & !host, addr | host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(nets: &[(u32, u32, u32)]) -> CidrSet<u32> {
        let mut s = CidrSet::default();
        for &(first, last, id) in nets {
            s.insert(Net { first, last, id });
        }
        s
    }

    fn hits(s: &CidrSet<u32>, addr: u32) -> Vec<u32> {
        let mut v = Vec::new();
        s.lookup(addr, |id| v.push(id));
        v.sort_unstable();
        v
    }

    #[test]
    fn nested_and_disjoint_networks() {
        let s = set(&[
            (0, u32::MAX, 0),
            (100, 199, 1),
            (150, 159, 2),
            (150, 150, 3),
            (300, 399, 4),
        ]);
        assert_eq!(hits(&s, 5), vec![0]);
        assert_eq!(hits(&s, 100), vec![0, 1]);
        assert_eq!(hits(&s, 150), vec![0, 1, 2, 3]);
        assert_eq!(hits(&s, 151), vec![0, 1, 2]);
        assert_eq!(hits(&s, 160), vec![0, 1]);
        assert_eq!(hits(&s, 200), vec![0]);
        assert_eq!(hits(&s, 399), vec![0, 4]);
        assert_eq!(hits(&s, u32::MAX), vec![0]);
    }

    #[test]
    fn buckets_agree_with_a_scan() {
        let mut x: u32 = 12345;
        let mut rand = || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x
        };
        let mut nets: Vec<(u32, u32, u32)> = Vec::new();
        for id in 0..3000 {
            let len = [8, 12, 16, 20, 23, 24, 28, 32][(rand() >> 7) as usize % 8];
            let (first, last) = v4_range(rand() & 0x0fff_ffff, len);
            if !nets.iter().any(|n| n.0 == first && n.1 == last) {
                nets.push((first, last, id));
            }
        }
        let s = set(&nets);
        let mut probes: Vec<u32> = (0..3000).map(|_| rand() & 0x0fff_ffff).collect();
        for n in &nets {
            probes.extend([n.0, n.1, n.0.wrapping_sub(1), n.1.wrapping_add(1)]);
        }
        for addr in probes {
            let mut want: Vec<u32> = nets
                .iter()
                .filter(|n| n.0 <= addr && addr <= n.1)
                .map(|n| n.2)
                .collect();
            want.sort_unstable();
            assert_eq!(hits(&s, addr), want, "{addr:#x}");
        }
        assert!(!s.built.get().unwrap().buckets.is_empty());
    }

    #[test]
    fn pending_networks_are_seen_before_a_rebuild() {
        let mut s = set(&[(100, 199, 1)]);
        s.prepare();
        s.insert(Net {
            first: 150,
            last: 150,
            id: 2,
        });
        assert_eq!(hits(&s, 150), vec![1, 2]);
        for i in 0..100 {
            s.insert(Net {
                first: 1000 + i,
                last: 1000 + i,
                id: 10 + i,
            });
        }
        assert_eq!(hits(&s, 1050), vec![60]);
        assert_eq!(hits(&s, 150), vec![1, 2]);
    }
}
