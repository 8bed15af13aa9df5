//! The route header a packet carries from hop to hop, as the real router's packets carry
//! direction bits: 16 bits in the flit, written by routing functions only.
//!
//! | bits  | meaning |
//! |-------|---------|
//! | 0     | dateline: the packet uses the upper VC class of its current ring |
//! | 1     | escape: an adaptive packet has moved to the escape channel (and stays) |
//! | 2     | the First Step has been taken |
//! | 3     | the direction signs below are explicit (else each ring the short way) |
//! | 4-7   | First Step port + 1 (0: none) |
//! | 8-11  | Last Step port + 1 (0: none) |
//! | 12-15 | sign per dimension 0-3 (1: minus) |
//!
//! So First/Last Steps reach tori of up to 7 dimensions and explicit signs up to 4
//! (the real network is 4-D); table generation only proposes what fits.

pub const DATELINE: u16 = 1 << 0;
pub const ESCAPE: u16 = 1 << 1;
pub const FIRST_DONE: u16 = 1 << 2;
pub const SIGNS: u16 = 1 << 3;

/// The bits that make a route differ from plain direction order (a table entry).
pub const EXPLICIT: u16 = SIGNS | 0xff0;

/// Dimensions whose sign the header can hold.
pub const SIGN_DIMS: usize = 4;
/// Ports a First or Last Step can name.
pub const STEP_PORTS: usize = 15;

/// The First Step port, if any.
#[inline]
pub fn first(h: u16) -> Option<usize> {
    let v = (h >> 4) & 0xf;
    (v != 0).then(|| v as usize - 1)
}

/// The Last Step port, if any.
#[inline]
pub fn last(h: u16) -> Option<usize> {
    let v = (h >> 8) & 0xf;
    (v != 0).then(|| v as usize - 1)
}

/// The explicit sign of dimension `d` (`Some(true)`: minus), if the header holds one.
#[inline]
pub fn sign(h: u16, d: usize) -> Option<bool> {
    (h & SIGNS != 0 && d < SIGN_DIMS).then(|| (h >> (12 + d)) & 1 == 1)
}

/// A header with the given First Step, Last Step and explicit minus mask.
pub fn make(first: Option<usize>, last: Option<usize>, minus_mask: Option<u16>) -> u16 {
    let mut h = 0;
    if let Some(p) = first {
        debug_assert!(p < STEP_PORTS);
        h |= ((p + 1) as u16) << 4;
    }
    if let Some(p) = last {
        debug_assert!(p < STEP_PORTS);
        h |= ((p + 1) as u16) << 8;
    }
    if let Some(m) = minus_mask {
        h |= SIGNS | (m & 0xf) << 12;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let h = make(Some(3), Some(14), Some(0b1010));
        assert_eq!(first(h), Some(3));
        assert_eq!(last(h), Some(14));
        assert_eq!(
            (0..4).map(|d| sign(h, d)).collect::<Vec<_>>(),
            [Some(false), Some(true), Some(false), Some(true)]
        );
        assert_eq!(sign(h, 4), None);
        let h = make(None, None, None);
        assert_eq!((first(h), last(h), sign(h, 0)), (None, None, None));
        assert_eq!(h & (DATELINE | ESCAPE | FIRST_DONE), 0);
    }
}
