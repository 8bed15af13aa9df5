//! The components due in a cycle, put in memory order without sorting.
//!
//! A partition runs the components due in a cycle in increasing id order (memory
//! order, so the hardware prefetches the router state on large networks) and each at
//! most once, though the wheel may hold one several times. Sorting and deduplicating
//! the list cost about a tenth of all the work of a cycle at low load; marking the ids
//! in a bitmap and reading the marked words back gives the same order in time linear
//! in the list plus the words spanned.

use super::component::{ComponentId, Kind};

/// A bitmap over a partition's component ids, all clear between uses.
#[derive(Debug, Default)]
pub struct DueOrder {
    bits: Vec<u64>,
}

impl DueOrder {
    /// For a partition with `slots` component ids ([`ComponentId::slots`]).
    pub fn new(slots: usize) -> DueOrder {
        DueOrder {
            bits: vec![0; slots.div_ceil(64)],
        }
    }

    /// Sorts `due` by id and removes repeats.
    pub fn order(&mut self, due: &mut Vec<ComponentId>) {
        if due.len() <= 1 {
            return;
        }
        let (mut lo, mut hi) = (usize::MAX, 0);
        for c in due.iter() {
            let w = c.index() / 64;
            self.bits[w] |= 1 << (c.index() % 64);
            lo = lo.min(w);
            hi = hi.max(w);
        }
        if hi - lo > 8 * due.len() {
            // A few ids spread over a huge partition: scanning would cost more.
            for c in due.iter() {
                self.bits[c.index() / 64] = 0;
            }
            due.sort_unstable();
            due.dedup();
            return;
        }
        due.clear();
        for w in lo..=hi {
            let mut x = std::mem::take(&mut self.bits[w]);
            while x != 0 {
                let i = w * 64 + x.trailing_zeros() as usize;
                x &= x - 1;
                let kind = if i.is_multiple_of(2) {
                    Kind::Router
                } else {
                    Kind::Endpoint
                };
                let c = ComponentId::new((i / 2) as u32, kind);
                debug_assert_eq!(c.index(), i);
                due.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[u32]) -> Vec<ComponentId> {
        v.iter()
            .map(|&i| {
                let kind = if i.is_multiple_of(2) {
                    Kind::Router
                } else {
                    Kind::Endpoint
                };
                ComponentId::new(i / 2, kind)
            })
            .collect()
    }

    #[test]
    fn orders_and_dedups_like_a_sort() {
        let mut d = DueOrder::new(ComponentId::slots(5000));
        let cases: [&[u32]; 5] = [
            &[7, 3, 3, 200, 0, 64, 63, 7, 1],
            &[5],
            &[9999, 0],
            &[130, 129, 128, 128, 131, 64],
            &[],
        ];
        for case in cases {
            let mut got = ids(case);
            let mut want = got.clone();
            want.sort_unstable();
            want.dedup();
            d.order(&mut got);
            assert_eq!(got, want, "{case:?}");
        }
        assert!(d.bits.iter().all(|&w| w == 0), "the bitmap is left clear");
    }
}
