//! Arbiters: pick one winner among requesters for one resource.
//!
//! Requesters are identified by their input-VC index; the pointer state of a
//! round-robin arbiter is a plain `u16` kept by the resource, so arbiters cost no heap.

use crate::config::schema::ArbiterKind;

/// One request: the requester's index and its age key (creation cycle, packet id) for
/// oldest-first arbitration.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub idx: u16,
    pub age: (u64, u64),
}

/// Picks the winner among `reqs` (non-empty) and returns its position in `reqs`.
///
/// Round-robin grants the first requester after the previous winner `ptr` (in index
/// order, wrapping at `n`), which gives every requester a bounded wait. Oldest-first
/// grants the oldest packet (ties by packet id, then index, so it is deterministic).
#[inline]
pub fn pick(kind: ArbiterKind, reqs: &[Request], ptr: u16, n: u16) -> usize {
    debug_assert!(!reqs.is_empty());
    match kind {
        ArbiterKind::RoundRobin => {
            let n = n as u32;
            // Index order starting after `ptr`; a pointer outside `0..n` (the initial
            // `u16::MAX`: no winner yet) starts at index 0.
            let start = if (ptr as u32) < n { ptr as u32 + 1 } else { 0 };
            let key = |r: &Request| (r.idx as u32 + n - start) % n;
            let mut best = 0;
            for i in 1..reqs.len() {
                if key(&reqs[i]) < key(&reqs[best]) {
                    best = i;
                }
            }
            best
        }
        ArbiterKind::OldestFirst => {
            let mut best = 0;
            for i in 1..reqs.len() {
                if (reqs[i].age, reqs[i].idx) < (reqs[best].age, reqs[best].idx) {
                    best = i;
                }
            }
            best
        }
        ArbiterKind::FixedPriority => {
            let mut best = 0;
            for i in 1..reqs.len() {
                if reqs[i].idx < reqs[best].idx {
                    best = i;
                }
            }
            best
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(idx: u16, age: u64) -> Request {
        Request {
            idx,
            age: (age, idx as u64),
        }
    }

    #[test]
    fn round_robin_rotates() {
        let reqs = [r(1, 0), r(3, 0), r(5, 0)];
        assert_eq!(pick(ArbiterKind::RoundRobin, &reqs, 1, 8), 1);
        assert_eq!(pick(ArbiterKind::RoundRobin, &reqs, 3, 8), 2);
        assert_eq!(pick(ArbiterKind::RoundRobin, &reqs, 5, 8), 0);
        assert_eq!(pick(ArbiterKind::RoundRobin, &reqs, 7, 8), 0);
    }

    #[test]
    fn round_robin_without_a_previous_winner_starts_at_zero() {
        // `u16::MAX` is the initial pointer of every arbiter. It used to be subtracted
        // from `n`, which overflowed (a panic in debug builds) and, in release builds,
        // wrapped to an arbitrary rotation: with n = 7, index 5 beat index 2.
        let reqs = [r(2, 0), r(5, 0)];
        for n in [6, 7, 8, 10, 13] {
            assert_eq!(
                pick(ArbiterKind::RoundRobin, &reqs, u16::MAX, n),
                0,
                "n = {n}"
            );
        }
    }

    #[test]
    fn oldest_first_and_fixed() {
        let reqs = [r(1, 9), r(3, 2), r(5, 4)];
        assert_eq!(pick(ArbiterKind::OldestFirst, &reqs, 0, 8), 1);
        assert_eq!(pick(ArbiterKind::FixedPriority, &reqs, 0, 8), 0);
    }
}
