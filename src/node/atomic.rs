//! Atomic memory operations on symmetric variables, as the target's adapter executes
//! them: read the old value, write the new one, return the old one, with nothing in
//! between (the adapter serialises atomics to one variable).

/// Which atomic operation. `inc` is `Fadd` of 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtomicKind {
    /// Add the operand (wrapping, 64 bits).
    Fadd,
    /// Write the second operand if the word equals the first.
    Cswap,
    /// Write the operand.
    Swap,
    /// Only read.
    Fetch,
    /// Write the operand; the old value is not wanted.
    Set,
}

impl AtomicKind {
    pub const ALL: [AtomicKind; 5] = [
        AtomicKind::Fadd,
        AtomicKind::Cswap,
        AtomicKind::Swap,
        AtomicKind::Fetch,
        AtomicKind::Set,
    ];

    /// The number carried in a request packet.
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(c: u8) -> Option<AtomicKind> {
        Self::ALL.get(c as usize).copied()
    }

    /// The statement that writes it.
    pub fn name(self) -> &'static str {
        match self {
            AtomicKind::Fadd => "fadd",
            AtomicKind::Cswap => "cswap",
            AtomicKind::Swap => "swap",
            AtomicKind::Fetch => "fetch",
            AtomicKind::Set => "set",
        }
    }

    /// The value that replaces `old`, given the operands.
    pub fn apply(self, old: u64, a: u64, b: u64) -> u64 {
        match self {
            AtomicKind::Fadd => old.wrapping_add(a),
            AtomicKind::Cswap if old == a => b,
            AtomicKind::Cswap | AtomicKind::Fetch => old,
            AtomicKind::Swap | AtomicKind::Set => a,
        }
    }

    /// Operand bytes the request carries (and so crosses PCIe and the network).
    pub fn request_bytes(self) -> u32 {
        match self {
            AtomicKind::Fetch => 0,
            AtomicKind::Cswap => 16,
            _ => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AtomicKind::*;
    use super::*;

    #[test]
    fn semantics_and_codes() {
        assert_eq!(Fadd.apply(u64::MAX, 2, 0), 1);
        assert_eq!(Cswap.apply(5, 5, 9), 9);
        assert_eq!(Cswap.apply(4, 5, 9), 4);
        assert_eq!(Swap.apply(4, 7, 0), 7);
        assert_eq!(Set.apply(4, 7, 0), 7);
        assert_eq!(Fetch.apply(4, 7, 8), 4);
        for k in AtomicKind::ALL {
            assert_eq!(AtomicKind::from_code(k.code()), Some(k));
        }
        assert_eq!(AtomicKind::from_code(5), None);
    }
}
