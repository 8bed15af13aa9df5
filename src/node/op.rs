//! The operations a processing element executes: the instruction set of [`super::shmem`].
//! Workloads build programs out of them (see `traffic::program` for the text form).
//!
//! The variants that hold expressions box them, so an `Op` stays as small as a `put`:
//! SpMV programs hold tens of millions of ops.

use super::atomic::AtomicKind;
use super::expr::Expr;
use super::variables::VarId;

/// One operation of a PE's program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Write `bytes` to PE `dest`; signal flag `flag` there when all of it has landed.
    Put {
        dest: u32,
        bytes: u64,
        flag: Option<u16>,
    },
    /// Read `bytes` from PE `dest`; completes when the data has arrived.
    Get {
        dest: u32,
        bytes: u64,
    },
    /// Wait until every PE has arrived and every earlier put has been delivered.
    Barrier,
    /// Wait until every earlier put of this PE has been delivered.
    Quiet,
    /// Busy for this many cycles.
    Compute {
        cycles: u64,
    },
    /// Wait for a signal on a flag, and consume it.
    Wait {
        flag: u16,
    },
    /// Record the current cycle under mark `id`.
    Mark {
        id: u16,
    },
    /// Run the ops up to the matching `EndRepeat` `count` times.
    Repeat {
        count: u64,
        end: u32,
    },
    EndRepeat {
        start: u32,
    },
    /// An atomic on a symmetric variable of a PE (see [`AtomicOp`]); the PE waits for
    /// its reply.
    Atomic(Box<AtomicOp>),
    /// Set local variable `local`.
    Let {
        local: u16,
        value: Box<Expr>,
    },
    /// Go on if `cond` is true, else continue at op `skip` (past the `else` branch's
    /// start or the closing `}`).
    If {
        cond: Box<Expr>,
        skip: u32,
    },
    /// The end of an `if` branch that has an `else`: continue at op `to`.
    Else {
        to: u32,
    },
    /// The `}` that closes an `if` or `else`: does nothing.
    EndIf,
    /// Run the ops up to the matching `EndWhile` while `cond` holds; else continue
    /// after op `end`.
    While {
        cond: Box<Expr>,
        end: u32,
    },
    /// Back to the `While` at `start`. One turn of a loop costs the host a cycle, so a
    /// program spinning on a value moves simulated time on.
    EndWhile {
        start: u32,
    },
    /// A hardware collective on the tree subnetwork (see `super::collective`); with
    /// `start`, the PE goes on at once and a later `HWait` waits for it.
    HCollective {
        coll: std::sync::Arc<Collective>,
        start: bool,
    },
    /// Waits for the oldest collective started (`HCollective { start: true }`) and not
    /// waited for yet.
    HWait,
}

/// An atomic operation as a program states it: the values are expressions, evaluated
/// when the PE reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtomicOp {
    pub kind: AtomicKind,
    /// The PE whose copy of the variable is operated on.
    pub dest: Expr,
    pub var: VarId,
    pub word: Expr,
    /// The operand (`fadd`, `swap`, `set`) or the expected value (`cswap`).
    pub a: Expr,
    /// The new value of `cswap`.
    pub b: Expr,
    /// The local variable that receives the old value.
    pub result: Option<u16>,
}

/// A hardware collective. Every PE must call the same collectives in the same order:
/// the k-th collective of every PE is the same operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collective {
    /// Returns once every PE has entered it.
    Barrier,
    /// PE `root` sends `bytes` to every other PE.
    Broadcast { root: u32, bytes: u64 },
    /// Combines the `words` of every PE element by element with `op`; the result goes
    /// to every PE (`root: None`, an allreduce) or to PE `root` only. Every PE gives
    /// the same number of words.
    ///
    /// With `var`, the words are the PE's copy of that symmetric variable, read when
    /// the PE starts the collective (`words` then only holds as many zeros, so the
    /// count is known before the run), and the result is written back into the
    /// variable when it lands in the PE's memory: a reduction of data the program
    /// computed, rather than of constants.
    Reduce {
        root: Option<u32>,
        op: ReduceOp,
        words: Vec<u64>,
        var: Option<VarId>,
    },
}

impl Collective {
    /// The statement's name in a program.
    pub fn name(&self) -> &'static str {
        match self {
            Collective::Barrier => "hbarrier",
            Collective::Broadcast { .. } => "hbcast",
            Collective::Reduce { root: None, .. } => "hallreduce",
            Collective::Reduce { .. } => "hreduce",
        }
    }
}

/// The element-wise operation of a reduction, on 64-bit integers (`min` and `max`
/// compare them as signed, `sum` wraps).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Min,
    Max,
    And,
    Or,
    Xor,
}

impl ReduceOp {
    pub const ALL: [ReduceOp; 6] = [
        ReduceOp::Sum,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::And,
        ReduceOp::Or,
        ReduceOp::Xor,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::And => "and",
            ReduceOp::Or => "or",
            ReduceOp::Xor => "xor",
        }
    }

    pub fn parse(s: &str) -> Option<ReduceOp> {
        ReduceOp::ALL.into_iter().find(|o| o.name() == s)
    }

    /// `a op b`.
    #[inline]
    pub fn apply(self, a: u64, b: u64) -> u64 {
        match self {
            ReduceOp::Sum => a.wrapping_add(b),
            ReduceOp::Min => (a as i64).min(b as i64) as u64,
            ReduceOp::Max => (a as i64).max(b as i64) as u64,
            ReduceOp::And => a & b,
            ReduceOp::Or => a | b,
            ReduceOp::Xor => a ^ b,
        }
    }

    /// Position in [`ReduceOp::ALL`] (carried in tree packets).
    pub fn index(self) -> u8 {
        ReduceOp::ALL.iter().position(|&o| o == self).unwrap_or(0) as u8
    }
}

/// Elements a reduction may have (a tree packet numbers its element in 16 bits).
pub const MAX_REDUCE_WORDS: usize = 1 << 16;

/// Flags a program may use (per PE).
pub const MAX_FLAGS: u16 = 64;

#[cfg(test)]
mod tests {
    #[test]
    fn ops_stay_small() {
        // Large programs hold tens of millions of ops: the boxed variants must not
        // make every op bigger than a `put`.
        assert!(std::mem::size_of::<super::Op>() <= 24);
    }
}
